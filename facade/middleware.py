"""Per-request context: request id, body-size limit, timing header, one log line, metrics.

A plain ASGI middleware (Starlette's BaseHTTPMiddleware costs a task per request).
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facade.errors import PayloadTooLarge
from facade.metrics import Metrics

access_log = logging.getLogger("facade.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
KNOWN_PATHS = {"/", "/ready", "/models", "/metrics", "/predict", "/predict_csv", "/generate_api_key", "/api_keys"}


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        # Not a secret, just unique enough to find a request's log line: no syscall per request.
        request_id = given if _REQUEST_ID.match(given) else f"{random.getrandbits(64):016x}"
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["t0"] = start
        state["log"] = {}
        status = 500

        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            status = 413
            body = json.dumps(
                {
                    "error": PayloadTooLarge.code,
                    "detail": f"request body of {int(length)} bytes is over the {self.max_body_bytes}-byte limit",
                    "request_id": request_id,
                }
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"x-request-id", request_id.encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
            self._finish(scope, status, start)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise PayloadTooLarge(f"request body is over the {self.max_body_bytes}-byte limit")
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                out = MutableHeaders(scope=message)
                out["x-process-time"] = f"{(time.perf_counter() - start) * 1000:.3f}"
                out["x-request-id"] = request_id
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        finally:
            self._finish(scope, status, start)

    def _finish(self, scope: Scope, status: int, start: float) -> None:
        elapsed = time.perf_counter() - start
        path = scope.get("path", "")
        endpoint = path if path in KNOWN_PATHS else ("/api_keys/{id}" if path.startswith("/api_keys/") else "other")
        self.metrics.request(endpoint, status, elapsed)
        state: dict[str, Any] = scope.get("state", {})
        fields = {
            "request_id": state.get("request_id"),
            "method": scope.get("method"),
            "path": path,
            "status": status,
            "ms": round(elapsed * 1000, 3),
            **state.get("log", {}),
        }
        access_log.info("request", extra=fields)
