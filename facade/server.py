"""uvicorn with the facade's HTTP-layer limits, configured from the FACADE_* settings.

uvicorn has settings for keep-alive, graceful shutdown, concurrency and
backlog, and they are used as they are. It has none for the size of the
request head or the time to receive it under httptools (its fastest
parser, used here), so :class:`LimitedHttpToolsProtocol` adds them:

- the request line and headers must arrive within ``header_timeout_s`` of
  the connection opening or the request's first byte (a slowloris client
  gets 408 and the connection closes);
- they may not exceed ``max_header_bytes`` (431, checked while they arrive,
  so a 20 MB header is refused after the first ~16 KB, not buffered).

The body's limits (size 413, time 408) and the header count live in
``facade/middleware.py``, where they also apply under any other server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from facade.config import Settings

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class FacadeConfig(uvicorn.Config):
    """uvicorn's Config plus the head limits (it travels to worker processes by pickling)."""

    def __init__(self, *args: Any, header_timeout_s: float, max_header_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = header_timeout_s
        self.max_header_bytes = max_header_bytes


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """httptools' protocol with a deadline and a size limit on each request's head."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout_s: float = getattr(config, "header_timeout_s", 10.0)
        self.max_header_bytes: int = getattr(config, "max_header_bytes", 16 * 1024)
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_head = False
        self._head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        # Bytes of a head still incomplete after this chunk: count them before httptools buffers more.
        if self._in_head and self._head_bytes > self.max_header_bytes and not self.transport.is_closing():
            self._refuse(431, f"request headers over {self.max_header_bytes} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:
            self._start_head()
            self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # The next request on this connection starts idle: keep-alive's timeout covers the gap.
        self._in_head = False

    def _start_head(self) -> None:
        self._in_head = True
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self._refuse(408, f"request headers did not arrive within {self.header_timeout_s:g} s")

    def _refuse(self, status: int, detail: str) -> None:
        self._in_head = False
        self._stop_head_timer()
        self.logger.warning("refused a connection: %s", detail)
        body = b'{"error": "%s", "detail": "%s", "request_id": null}' % (
            b"request_timeout" if status == 408 else b"headers_too_large",
            detail.encode(),
        )
        head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
        self.transport.write(head % (status, _REASONS[status], len(body)) + body)
        self.transport.close()


def make_config(settings: Settings) -> FacadeConfig:
    """uvicorn's configuration for the facade, every limit from the settings."""
    return FacadeConfig(
        "facade.app:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        http=LimitedHttpToolsProtocol,
        log_config=None,
        access_log=False,
        timeout_keep_alive=settings.keep_alive_s,
        timeout_graceful_shutdown=settings.graceful_shutdown_s,
        limit_concurrency=settings.limit_concurrency,
        backlog=settings.backlog,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        header_timeout_s=settings.header_timeout_s,
        max_header_bytes=settings.max_header_bytes,
    )


def serve(settings: Settings) -> None:
    """Runs the facade until SIGTERM/SIGINT (what ``uvicorn.run`` does, with :class:`FacadeConfig`)."""
    config = make_config(settings)
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()
