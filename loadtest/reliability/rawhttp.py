"""A raw-socket HTTP/1.1 client: sends bytes exactly as given, so nothing in between tidies up hostile requests."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_s: float = 0.0
    raw: bytes = field(default=b"", repr=False)

    def json(self) -> dict[str, object]:
        out: dict[str, object] = json.loads(self.body)
        return out

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def exchange(
    port: int, data: bytes, *, drip: Sequence[bytes] = (), pause_s: float = 0.0, timeout_s: float = 15.0
) -> Reply:
    """Sends ``data`` (then each of ``drip`` after ``pause_s``), reads one response until the server closes."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        try:
            sock.sendall(data)
            for piece in drip:
                time.sleep(pause_s)
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        raw = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                raw += chunk
                if _complete(raw):
                    break
        except ConnectionResetError:
            pass
    elapsed = time.monotonic() - start
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/1.1 "):
        raise AssertionError(f"no HTTP response: {raw[:200]!r}")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Reply(int(lines[0].split()[1]), headers, body, elapsed, raw)


def _complete(raw: bytes) -> bool:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def request(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    length: int | None = None,
) -> bytes:
    """A raw HTTP/1.1 request that asks the server to close after answering."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or length is not None:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


BOUNDARY = "stockcast-boundary-7f3a"


def multipart(
    files: Sequence[tuple[str, str, bytes]] = (), fields: dict[str, str] | None = None, *, boundary: str = BOUNDARY
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body: ``(field, filename, content)`` files and plain fields; returns body, type."""
    parts = []
    for name, value in (fields or {}).items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, content in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
