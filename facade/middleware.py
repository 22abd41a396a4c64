"""Per-request context and HTTP-layer limits: request id, header and body limits, timing, one log line.

Before the app sees a request, the middleware checks its headers (count and
size, 431) and reads its whole body under two limits: size (413, whether the
length was declared or the body streams in chunks) and time
(``body_timeout_s`` from the end of the headers, 408: a client dripping or
stalling its body cannot hold a worker). The body is then replayed to the
app. Responses get ``x-request-id``, ``x-process-time`` and any RateLimit-*
headers a dependency left in the request state.

It is the outermost layer of the app (``facade.app._wrap_outermost``), and it
answers the hot route itself: ``POST /predict`` goes straight to its handler,
with the app's own exception handlers, instead of through FastAPI's and
Starlette's dozen layers (error and exception middleware, exit stacks, route
matching, the request-response wrapper), which cost a request about as much
as its forecast did. Everything else goes down the app as usual.

A plain ASGI middleware (Starlette's BaseHTTPMiddleware costs a task per request).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import random
import re
import time
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facade.errors import FacadeError, HeadersTooLarge, PayloadTooLarge, RequestTimeout
from facade.metrics import Metrics

access_log = logging.getLogger("facade.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
KNOWN_PATHS = {"/", "/ready", "/models", "/metrics", "/predict", "/predict_csv", "/generate_api_key", "/api_keys"}


@dataclass(frozen=True)
class HttpLimits:
    """The limits the middleware enforces (from the FACADE_* settings)."""

    max_body_bytes: int
    body_timeout_s: float
    max_headers: int
    max_header_bytes: int


class _Refused(Exception):
    def __init__(self, error: FacadeError) -> None:
        self.error = error


Handler = Callable[[Request], Awaitable[Response]]
# Starlette's exception handlers may be plain functions or coroutines.
ExceptionHandler = Callable[[Request, Any], Response | Awaitable[Response]]


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        limits: HttpLimits,
        direct: Mapping[tuple[str, str], Handler] | None = None,
        exception_handlers: Mapping[Any, ExceptionHandler] | None = None,
    ) -> None:
        """Wraps ``app``.

        Args:
            app: the ASGI app (the FastAPI app's middleware stack).
            metrics: where requests are counted.
            limits: the HTTP-layer limits.
            direct: (method, path) -> handler answered without going down ``app``.
            exception_handlers: the app's handlers, by exception class, for errors of a direct handler.
        """
        self.app = app
        self.metrics = metrics
        self.limits = limits
        self.direct = dict(direct or {})
        self.exception_handlers = dict(exception_handlers or {})

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

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Raw pairs: no app sets these two, and the rate headers replace any of the same name.
                out = [(b"x-process-time", f"{(time.perf_counter() - start) * 1000:.3f}".encode()),
                       (b"x-request-id", request_id.encode())]  # fmt: skip
                headers = message.get("headers", ())
                rate = state.get("rate_headers")
                if rate:
                    extra = [(name.lower().encode(), value.encode()) for name, value in rate.items()]
                    names = {name for name, _ in extra}
                    headers = [(k, v) for k, v in headers if k.lower() not in names]
                    out += extra
                message["headers"] = [*headers, *out]
            await send(message)

        try:
            self._check_headers(scope["headers"], headers.get(b"content-length"))
            body = await self._read_body(receive)
        except _Refused as refused:
            state["log"]["error"] = refused.error.detail
            await _send_error(send_with_headers, refused.error, request_id)
            self._finish(scope, status, start)
            return
        except _Disconnected:
            self._finish(scope, 499, start)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            direct = self.direct.get((scope["method"], scope["path"])) if self.direct else None
            if direct is not None:
                await self._answer(direct, scope, replay, send_with_headers)
            else:
                await self.app(scope, replay, send_with_headers)
        finally:
            self._finish(scope, status, start)

    async def _answer(self, handler: Handler, scope: Scope, receive: Receive, send: Send) -> None:
        """Runs a direct handler as its route would: a Request on the scope, the app's exception handlers.

        ``scope["app"]``, which the handler reads its state from, is set by the layer above (Starlette's
        ``__call__``, or ``facade.app.Entry``).
        """
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except Exception as exc:
            answer = self._exception_handler(exc)
            if answer is None:
                raise
            answered = answer(request, exc)
            response = await answered if inspect.isawaitable(answered) else answered
        await response(scope, receive, send)

    def _exception_handler(self, exc: Exception) -> ExceptionHandler | None:
        for cls in type(exc).__mro__:
            handler = self.exception_handlers.get(cls)
            if handler is not None:
                return handler
        return None

    def _check_headers(self, raw: list[tuple[bytes, bytes]], length: bytes | None) -> None:
        limits = self.limits
        if len(raw) > limits.max_headers:
            raise _Refused(HeadersTooLarge(f"{len(raw)} request headers; at most {limits.max_headers} are accepted"))
        size = sum(len(k) + len(v) + 4 for k, v in raw)
        if size > limits.max_header_bytes:
            raise _Refused(
                HeadersTooLarge(f"request headers of {size} bytes; at most {limits.max_header_bytes} are accepted")
            )
        if length is not None and length.isdigit() and int(length) > limits.max_body_bytes:
            raise _Refused(
                PayloadTooLarge(f"request body of {int(length)} bytes is over the {limits.max_body_bytes}-byte limit")
            )

    async def _read_body(self, receive: Receive) -> bytes:
        limits = self.limits
        # The first receive is stepped once by hand: a body that has already arrived whole (the usual case, a
        # small body in the head's packets) is taken without setting a timer (asyncio.timeout costs a request
        # about 7 us). Otherwise the rest of that call, and every later one, runs under body_timeout_s.
        pending: Any = receive()
        if inspect.iscoroutine(pending):
            try:
                waiting = pending.send(None)
            except StopIteration as done:
                pending = done.value
            else:
                pending = _resume(pending, waiting)
        if isinstance(pending, dict) and pending["type"] == "http.request" and not pending.get("more_body", False):
            body: bytes = pending.get("body", b"")
            if len(body) > limits.max_body_bytes:
                raise _Refused(PayloadTooLarge(f"request body is over the {limits.max_body_bytes}-byte limit"))
            return body
        chunks: list[bytes] = []
        received = 0
        try:
            async with asyncio.timeout(limits.body_timeout_s):
                while True:
                    if pending is None:
                        message = await receive()
                    elif isinstance(pending, dict):
                        message = pending
                    else:
                        message = await pending
                    pending = None
                    if message["type"] == "http.disconnect":
                        raise _Disconnected
                    chunk = message.get("body", b"")
                    received += len(chunk)
                    if received > limits.max_body_bytes:
                        raise _Refused(PayloadTooLarge(f"request body is over the {limits.max_body_bytes}-byte limit"))
                    if chunk:
                        chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise _Refused(
                RequestTimeout(
                    f"the request body did not arrive within {limits.body_timeout_s:g} s "
                    f"({received} bytes received); send it at once"
                )
            ) from None

    def _finish(self, scope: Scope, status: int, start: float) -> None:
        elapsed = time.perf_counter() - start
        path = scope.get("path", "")
        endpoint = path if path in KNOWN_PATHS else ("/api_keys/{id}" if path.startswith("/api_keys/") else "other")
        self.metrics.request(endpoint, status, elapsed)
        if not access_log.isEnabledFor(logging.INFO):
            return  # the line is not built when nobody reads it
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


@types.coroutine
def _resume(coro: Coroutine[Any, Any, Message], waiting: Any) -> Generator[Any, Any, Message]:
    """The rest of awaiting ``coro``, whose first step yielded ``waiting``: what ``await`` does after that step.

    Whatever the task sends or throws in (a cancellation by the body's timeout) goes on to ``coro``.
    """
    while True:
        try:
            sent = yield waiting
        except BaseException as exc:
            try:
                waiting = coro.throw(exc)
            except StopIteration as done:
                return cast(Message, done.value)
        else:
            try:
                waiting = coro.send(sent)
            except StopIteration as done:
                return cast(Message, done.value)


class _Disconnected(Exception):
    """The client went away before its body arrived: nothing to answer."""


async def _send_error(send: Send, error: FacadeError, request_id: str) -> None:
    body = json.dumps({"error": error.code, "detail": error.detail, "request_id": request_id}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if error.status in (408, 413, 431):
        # The rest of the request is unread: the connection cannot carry another one.
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
