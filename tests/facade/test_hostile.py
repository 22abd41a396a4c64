"""A catalogue of hostile HTTP clients against a real uvicorn facade: each gets its documented 4xx.

Headers, keys, the admin token, methods, content types, bodies, sizes and slow
clients, sent over raw sockets so nothing in between tidies them up. After
every class the service must still be ready. (CSV and JSON content classes
live in their own catalogue.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import SMALL
from tests.facade.conftest import ADMIN
from tests.facade.live import Live, Reply, exchange, live_facade, request

pytestmark = pytest.mark.slow
HISTORY = [150.0 + 0.25 * i + (i % 5) for i in range(SMALL.window + 5)]
LIMIT_BYTES = 20_000  # FACADE_MAX_UPLOAD_BYTES below; bodies may be 64 KiB more (multipart room)
MAX_BODY = LIMIT_BYTES + 64 * 1024


@dataclass
class Keys:
    good: str
    revoked: str


@pytest.fixture(scope="module")
def live(grpc_target: str, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_facade(
        grpc_target,
        models_dir,
        tmp_path_factory.mktemp("hostile"),
        max_upload_bytes=str(LIMIT_BYTES),
        header_timeout_s="1",
        body_timeout_s="1",
        max_headers="40",
        max_header_bytes="8192",
        graceful_shutdown_s="2",
        # The catalogue sends dozens of bad credentials from one address on purpose (test_ratelimit covers it).
        rate_limit_auth_failures="10000/minute",
    ) as server:
        yield server


def _post_json(port: int, path: str, body: object, headers: dict[str, str]) -> Reply:
    raw = json.dumps(body).encode()
    return exchange(port, request("POST", path, headers={"content-type": "application/json", **headers}, body=raw))


@pytest.fixture(scope="module")
def keys(live: Live) -> Keys:
    minted = [_post_json(live.port, "/generate_api_key", {"name": n}, {"x-admin-token": ADMIN}) for n in "ab"]
    good, revoked = (str(r.json()["api_key"]) for r in minted)
    revoke = request("DELETE", f"/api_keys/{revoked.split('_')[1]}", headers={"x-admin-token": ADMIN})
    assert exchange(live.port, revoke).status == 200
    return Keys(good, revoked)


Send = Callable[[Live, Keys], Reply]


def predict(body: object, *, key: str | None = "good", ctype: str = "application/json") -> Send:
    def send(live: Live, keys: Keys) -> Reply:
        headers = {"content-type": ctype}
        if key is not None:
            headers["x-api-key"] = getattr(keys, key, key)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return exchange(live.port, request("POST", "/predict", headers=headers, body=raw))

    return send


def raw(data: bytes, *, drip: tuple[bytes, ...] = (), pause_s: float = 0.0) -> Send:
    return lambda live, keys: exchange(live.port, data, drip=drip, pause_s=pause_s)


def admin(method: str, path: str, *, token: str | None = ADMIN, body: bytes = b"", ctype: str | None = None) -> Send:
    headers = {}
    if token is not None:
        headers["x-admin-token"] = token
    if ctype:
        headers["content-type"] = ctype
    return lambda live, keys: exchange(live.port, request(method, path, headers=headers, body=body))


GOOD = {"prices": HISTORY, "steps": 2}
HEAD = b"POST /predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\ncontent-type: application/json\r\n"

CASES: dict[str, tuple[Send, int, str]] = {
    # --- headers ---------------------------------------------------------------------------------------------
    "20 MB header streamed": (
        raw(b"GET /ready HTTP/1.1\r\nHost: x\r\nX-Big: ", drip=(b"a" * 65536,) * 320), 431, "over 8192 bytes",
    ),
    "100 KB header in one piece": (
        raw(request("GET", "/ready", headers={"X-Big": "a" * 100_000})), 431, "headers",
    ),
    "too many headers": (
        raw(request("GET", "/ready", headers={f"X-H{i}": "1" for i in range(60)})), 431, "at most 40",
    ),
    "headers sent slowly (slowloris)": (
        raw(b"GET /ready HTTP/1.1\r\n", drip=(b"X-A: 1\r\n",) * 10, pause_s=0.3), 408, "did not arrive within 1 s",
    ),
    "headers never finished": (raw(b"GET /ready HTTP/1.1\r\nHost: x\r\n"), 408, "did not arrive"),
    "connection opened, nothing sent": (raw(b""), 408, "did not arrive"),
    "garbage request line": (raw(b"\x16\x03\x01\x02\x00 hello\r\n\r\n"), 400, "Invalid HTTP request"),
    "invalid header name": (raw(b"GET /ready HTTP/1.1\r\nBad Header: 1\r\n\r\n"), 400, "Invalid HTTP request"),
    "two content-lengths": (
        raw(HEAD + b"Content-Length: 2\r\nContent-Length: 5\r\n\r\n{}"), 400, "Invalid HTTP request",
    ),
    # --- sizes and slow bodies ----------------------------------------------------------------------------
    "declared body over the limit": (raw(HEAD + f"Content-Length: {MAX_BODY + 1}\r\n\r\n".encode()), 413, "limit"),
    "chunked body over the limit": (
        raw(HEAD + b"Transfer-Encoding: chunked\r\n\r\n", drip=(b"8000\r\n" + b"1" * 0x8000 + b"\r\n",) * 4),
        413, "over the",
    ),
    "body dripped slowly": (
        raw(HEAD + b"Content-Length: 400\r\n\r\n", drip=(b"[" * 10,) * 10, pause_s=0.2), 408, "did not arrive",
    ),
    "body stalls half-way": (raw(HEAD + b"Content-Length: 400\r\n\r\n{\"prices\": [1,"), 408, "bytes received"),
    "chunked body that never ends": (
        raw(HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"), 408, "did not arrive",
    ),
    "broken chunked encoding": (raw(HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"), 400, "Invalid HTTP"),
    # --- API keys --------------------------------------------------------------------------------------------
    "no API key": (predict(GOOD, key=None), 401, "missing API key"),
    "malformed API key": (predict(GOOD, key="hello"), 401, "malformed API key"),
    "unknown key id": (predict(GOOD, key="sc_nobody_" + "A" * 43), 401, "unknown API key"),
    "revoked key": (predict(GOOD, key="revoked"), 401, "revoked"),
    "10 KB key": (predict(GOOD, key="sc_" + "x" * 6000), 401, "API key"),
    "non-ASCII key": (predict(GOOD, key="sc_\xe9\xe9_\xff"), 401, "API key"),
    "key in the query string only": (
        lambda live, keys: exchange(
            live.port,
            request("POST", f"/predict?x-api-key={keys.good}", headers={"content-type": "application/json"},
                    body=json.dumps(GOOD).encode()),
        ),
        401, "missing API key",
    ),
    # --- admin token ----------------------------------------------------------------------------------------
    "mint without a token": (admin("POST", "/generate_api_key", token=None), 401, "missing admin token"),
    "mint with a wrong token": (admin("POST", "/generate_api_key", token="dev-admin-token"), 401, "wrong admin"),
    "wrong token and a malformed body": (
        admin("POST", "/generate_api_key", token="nope", body=b"{oops", ctype="application/json"), 401, "wrong",
    ),
    "list keys with a wrong token": (admin("GET", "/api_keys", token="x" * 500), 401, "wrong admin token"),
    "revoke with no token": (admin("DELETE", "/api_keys/abc", token=None), 401, "missing admin token"),
    "malformed JSON with the right token": (
        admin("POST", "/generate_api_key", body=b"{oops", ctype="application/json"), 422, "Invalid JSON",
    ),
    "unknown field with the right token": (
        admin("POST", "/generate_api_key", body=b'{"nam": "x"}', ctype="application/json"), 422, "nam",
    ),
    "key name too long": (
        admin("POST", "/generate_api_key", body=json.dumps({"name": "n" * 101}).encode(), ctype="application/json"),
        422, "at most 100",
    ),
    "mint with a text/plain body": (
        admin("POST", "/generate_api_key", body=b'{"name": "x"}', ctype="text/plain"), 415, "application/json",
    ),
    "revoke an unknown key": (admin("DELETE", "/api_keys/nobody"), 404, "no API key with id"),
    # --- methods and paths ------------------------------------------------------------------------------------
    "GET /predict": (raw(request("GET", "/predict")), 405, "allowed: POST"),
    "PUT /generate_api_key": (raw(request("PUT", "/generate_api_key", body=b"{}")), 405, "allowed: POST"),
    "POST /ready": (raw(request("POST", "/ready", body=b"{}")), 405, "allowed: GET"),
    "TRACE /": (raw(request("TRACE", "/")), 405, "not allowed"),
    "unknown path": (raw(request("GET", "/../../etc/passwd")), 404, "Not Found"),
    # --- content types ------------------------------------------------------------------------------------------
    "JSON sent as text/plain": (predict(GOOD, ctype="text/plain"), 415, "content-type: application/json"),
    "JSON sent as a form": (predict(GOOD, ctype="application/x-www-form-urlencoded"), 415, "application/json"),
    "JSON sent as multipart": (predict(GOOD, ctype="multipart/form-data; boundary=x"), 415, "application/json"),
    "CSV route without multipart": (
        lambda live, keys: _post_json(live.port, "/predict_csv", GOOD, {"x-api-key": keys.good}), 422, "file",
    ),
    "broken multipart": (
        lambda live, keys: exchange(
            live.port,
            request("POST", "/predict_csv", headers={"x-api-key": keys.good,
                    "content-type": "multipart/form-data; boundary=zz"}, body=b"--zz\r\nnonsense"),
        ),
        422, "file: Field required",
    ),
    # --- rows that must never reach a batch ---------------------------------------------------------------------
    "subnormal price 1e-40": (predict({"prices": [*HISTORY[:-1], 1e-40]}), 422, "float32's normal range"),
    "price 1e308": (predict({"prices": [*HISTORY[:-1], 1e308]}), 422, "float32's normal range"),
    "price 3.5e38": (predict({"prices": [*HISTORY[:-1], 3.5e38]}), 422, "float32's normal range"),
    "steps far over the maximum": (predict({"prices": HISTORY, "steps": 10**9}), 422, "steps"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_class_gets_its_4xx_and_the_service_stays_ready(live: Live, keys: Keys, name: str) -> None:
    send, status, message = CASES[name]
    reply = send(live, keys)
    assert reply.status == status, (name, reply.raw[:400])
    assert 400 <= reply.status < 500
    assert message in reply.text, (name, reply.text)
    if reply.headers.get("content-type") == "application/json":
        body = reply.json()
        assert set(body) == {"error", "detail", "request_id"}  # the documented ErrorBody, no internals
    if status == 405:
        assert reply.headers["allow"], reply.headers
    ready = exchange(live.port, request("GET", "/ready"))
    assert ready.status == 200, ready.text


def test_the_catalogue_is_broad_enough() -> None:
    assert len(CASES) >= 35


def test_a_good_request_still_works_after_the_catalogue(live: Live, keys: Keys) -> None:
    r = predict(GOOD)(live, keys)
    assert r.status == 200, r.text
    assert len(r.json()["forecast"]) == 2  # type: ignore[arg-type]
