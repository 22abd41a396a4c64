"""The hostile-input catalogue's vocabulary: a case, what it is sent to, and builders for each kind of request.

A case sends one hostile request over a raw socket and names the status and a
piece of the message it must get. The facade it runs against uses
:data:`SETTINGS` (small limits, so that the over-limit cases are cheap to send).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from loadtest.reliability.rawhttp import Reply, exchange, multipart, request

# FACADE_* settings of the facade under the catalogue.
MAX_UPLOAD_BYTES = 20_000
MAX_BODY = MAX_UPLOAD_BYTES + 64 * 1024  # the middleware leaves room for the multipart envelope
MAX_PRICES = 500
SETTINGS = {
    "max_upload_bytes": str(MAX_UPLOAD_BYTES),
    "max_prices": str(MAX_PRICES),
    "header_timeout_s": "1",
    "body_timeout_s": "1",
    "max_headers": "40",
    "max_header_bytes": "8192",
    "graceful_shutdown_s": "2",
    # The catalogue sends dozens of bad credentials from one address on purpose (the rate-limit tests cover it).
    "rate_limit_auth_failures": "100000/minute",
}


@dataclass
class Target:
    """The facade under test and the credentials the cases use."""

    port: int
    admin_token: str
    good_key: str
    revoked_key: str
    history: list[float]  # long enough for the served window

    def key(self, which: str | None) -> str | None:
        return {"good": self.good_key, "revoked": self.revoked_key}.get(which or "", which)


Send = Callable[[Target], Reply]


@dataclass(frozen=True)
class Case:
    name: str
    category: str  # headers, body, keys, admin, methods, content-type, json, csv
    send: Send
    status: int
    message: str


def raw(data: bytes, *, drip: tuple[bytes, ...] = (), pause_s: float = 0.0) -> Send:
    """Bytes exactly as given (then ``drip`` pieces, ``pause_s`` apart)."""
    return lambda t: exchange(t.port, data, drip=drip, pause_s=pause_s)


def json_post(
    body: object | Callable[[Target], object],
    *,
    key: str | None = "good",
    ctype: str | None = "application/json",
    path: str = "/predict",
) -> Send:
    """POST a JSON document (or raw bytes) with the good key; ``body`` may be built from the target's history."""

    def send(t: Target) -> Reply:
        headers = {"content-type": ctype} if ctype else {}
        presented = t.key(key)
        if presented is not None:
            headers["x-api-key"] = presented
        value = body(t) if callable(body) else body
        data = value if isinstance(value, bytes) else json.dumps(value).encode()
        return exchange(t.port, request("POST", path, headers=headers, body=data))

    return send


def with_history(**fields: object) -> Callable[[Target], object]:
    """A JSON body of the target's valid history plus ``fields`` (which may replace ``prices``)."""
    return lambda t: {"prices": t.history, **fields}


def tail(value: object) -> Callable[[Target], object]:
    """The valid history with its last price replaced by ``value``."""
    return lambda t: {"prices": [*t.history[:-1], value]}


def upload(
    content: bytes | Callable[[Target], bytes],
    *,
    fields: dict[str, str] | None = None,
    files: int = 1,
    filename: str = "prices.csv",
) -> Send:
    """POST /predict_csv with ``content`` as the file (``files`` copies of it) and form ``fields``."""

    def send(t: Target) -> Reply:
        data = content(t) if callable(content) else content
        body, ctype = multipart([("file", filename, data)] * files, fields)
        headers = {"x-api-key": t.good_key, "content-type": ctype}
        return exchange(t.port, request("POST", "/predict_csv", headers=headers, body=body))

    return send


def dated_csv(prices: list[float], *, header: str = "Date,Close", start_day: int = 1) -> bytes:
    """``Date,Close`` rows on consecutive days of 2024 (ISO dates)."""
    from datetime import date, timedelta

    first = date(2024, 1, 1) + timedelta(days=start_day - 1)
    rows = [f"{(first + timedelta(days=i)).isoformat()},{p}" for i, p in enumerate(prices)]
    return (header + "\n" + "\n".join(rows) + "\n").encode()


def admin(
    method: str,
    path: str,
    *,
    wrong: str | None = None,
    missing: bool = False,
    body: bytes = b"",
    ctype: str | None = None,
) -> Send:
    """An admin request with the right token, a ``wrong`` one, or none (``missing``)."""

    def send(t: Target) -> Reply:
        headers = {}
        if not missing:
            headers["x-admin-token"] = wrong if wrong is not None else t.admin_token
        if ctype:
            headers["content-type"] = ctype
        return exchange(t.port, request(method, path, headers=headers, body=body))

    return send
