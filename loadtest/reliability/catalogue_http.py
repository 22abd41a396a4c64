"""Hostile requests at the HTTP layer: headers, sizes and slow clients, keys, the admin token, methods, types."""

from __future__ import annotations

import json

from loadtest.reliability.catalogue import MAX_BODY, Case, Target, admin, json_post, raw, with_history
from loadtest.reliability.rawhttp import Reply, exchange, multipart, request

HEAD = b"POST /predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\ncontent-type: application/json\r\n"
GOOD = with_history(steps=2)


def _key_in_query(t: Target) -> Reply:
    body = json.dumps({"prices": t.history}).encode()
    path = f"/predict?x-api-key={t.good_key}"
    return exchange(t.port, request("POST", path, headers={"content-type": "application/json"}, body=body))


def _broken_multipart(t: Target) -> Reply:
    headers = {"x-api-key": t.good_key, "content-type": "multipart/form-data; boundary=zz"}
    return exchange(t.port, request("POST", "/predict_csv", headers=headers, body=b"--zz\r\nnonsense"))


def _multipart_to_json_route(t: Target) -> Reply:
    body, ctype = multipart(fields={"prices": "1,2,3"})
    headers = {"x-api-key": t.good_key, "content-type": ctype}
    return exchange(t.port, request("POST", "/predict", headers=headers, body=body))


CASES = [
    # --- headers ---------------------------------------------------------------------------------------------
    Case("20 MB header streamed", "headers",
         raw(b"GET /ready HTTP/1.1\r\nHost: x\r\nX-Big: ", drip=(b"a" * 65536,) * 320), 431, "over 8192 bytes"),
    Case("100 KB header in one piece", "headers",
         raw(request("GET", "/ready", headers={"X-Big": "a" * 100_000})), 431, "headers"),
    Case("too many headers", "headers",
         raw(request("GET", "/ready", headers={f"X-H{i}": "1" for i in range(60)})), 431, "at most 40"),
    Case("headers sent slowly (slowloris)", "headers",
         raw(b"GET /ready HTTP/1.1\r\n", drip=(b"X-A: 1\r\n",) * 10, pause_s=0.3), 408, "did not arrive within 1 s"),
    Case("headers never finished", "headers", raw(b"GET /ready HTTP/1.1\r\nHost: x\r\n"), 408, "did not arrive"),
    Case("connection opened, nothing sent", "headers", raw(b""), 408, "did not arrive"),
    Case("garbage request line", "headers", raw(b"\x16\x03\x01\x02\x00 hello\r\n\r\n"), 400, "Invalid HTTP request"),
    Case("invalid header name", "headers", raw(b"GET /ready HTTP/1.1\r\nBad Header: 1\r\n\r\n"), 400, "Invalid HTTP"),
    Case("two content-lengths", "headers",
         raw(HEAD + b"Content-Length: 2\r\nContent-Length: 5\r\n\r\n{}"), 400, "Invalid HTTP request"),
    # --- sizes and slow bodies ----------------------------------------------------------------------------
    Case("declared body over the limit", "body",
         raw(HEAD + f"Content-Length: {MAX_BODY + 1}\r\n\r\n".encode()), 413, "limit"),
    Case("chunked body over the limit", "body",
         raw(HEAD + b"Transfer-Encoding: chunked\r\n\r\n", drip=(b"8000\r\n" + b"1" * 0x8000 + b"\r\n",) * 4),
         413, "over the"),
    Case("body dripped slowly", "body",
         raw(HEAD + b"Content-Length: 400\r\n\r\n", drip=(b"[" * 10,) * 10, pause_s=0.2), 408, "did not arrive"),
    Case("body stalls half-way", "body",
         raw(HEAD + b'Content-Length: 400\r\n\r\n{"prices": [1,'), 408, "bytes received"),
    Case("chunked body that never ends", "body",
         raw(HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"), 408, "did not arrive"),
    Case("broken chunked encoding", "body",
         raw(HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"), 400, "Invalid HTTP"),
    # --- API keys --------------------------------------------------------------------------------------------
    Case("no API key", "keys", json_post(GOOD, key=None), 401, "missing API key"),
    Case("malformed API key", "keys", json_post(GOOD, key="hello"), 401, "malformed API key"),
    Case("unknown key id", "keys", json_post(GOOD, key="sc_nobody_" + "A" * 43), 401, "unknown API key"),
    Case("revoked key", "keys", json_post(GOOD, key="revoked"), 401, "revoked"),
    Case("6 KB key", "keys", json_post(GOOD, key="sc_" + "x" * 6000), 401, "API key"),
    Case("non-ASCII key", "keys", json_post(GOOD, key="sc_\xe9\xe9_\xff"), 401, "API key"),
    Case("key in the query string only", "keys", _key_in_query, 401, "missing API key"),
    Case("right key, wrong secret", "keys",
         lambda t: json_post(GOOD, key=t.good_key[:-4] + "AAAA")(t), 401, "unknown API key"),
    # --- admin token ----------------------------------------------------------------------------------------
    Case("mint without a token", "admin", admin("POST", "/generate_api_key", missing=True), 401, "missing admin"),
    Case("mint with the old dev token", "admin", admin("POST", "/generate_api_key", wrong="dev-admin-token"),
         401, "wrong admin"),
    Case("wrong token and a malformed body", "admin",
         admin("POST", "/generate_api_key", wrong="nope", body=b"{oops", ctype="application/json"), 401, "wrong"),
    Case("list keys with a wrong token", "admin", admin("GET", "/api_keys", wrong="x" * 500), 401, "wrong admin"),
    Case("revoke with no token", "admin", admin("DELETE", "/api_keys/abc", missing=True), 401, "missing admin"),
    Case("malformed JSON with the right token", "admin",
         admin("POST", "/generate_api_key", body=b"{oops", ctype="application/json"), 422, "Invalid JSON"),
    Case("unknown field with the right token", "admin",
         admin("POST", "/generate_api_key", body=b'{"nam": "x"}', ctype="application/json"), 422, "nam"),
    Case("key name too long", "admin",
         admin("POST", "/generate_api_key", body=json.dumps({"name": "n" * 101}).encode(), ctype="application/json"),
         422, "at most 100"),
    Case("key name not a string", "admin",
         admin("POST", "/generate_api_key", body=b'{"name": 5}', ctype="application/json"), 422, "valid string"),
    Case("mint with a text/plain body", "admin",
         admin("POST", "/generate_api_key", body=b'{"name": "x"}', ctype="text/plain"), 415, "application/json"),
    Case("revoke an unknown key", "admin", admin("DELETE", "/api_keys/nobody"), 404, "no API key with id"),
    # --- methods and paths ------------------------------------------------------------------------------------
    Case("GET /predict", "methods", raw(request("GET", "/predict")), 405, "allowed: POST"),
    Case("PUT /generate_api_key", "methods",
         raw(request("PUT", "/generate_api_key", body=b"{}")), 405, "allowed: POST"),
    Case("POST /ready", "methods", raw(request("POST", "/ready", body=b"{}")), 405, "allowed: GET"),
    Case("DELETE /predict_csv", "methods", raw(request("DELETE", "/predict_csv")), 405, "allowed: POST"),
    Case("TRACE /", "methods", raw(request("TRACE", "/")), 405, "not allowed"),
    Case("unknown path", "methods", raw(request("GET", "/../../etc/passwd")), 404, "Not Found"),
    # --- content types ------------------------------------------------------------------------------------------
    Case("JSON sent as text/plain", "content-type", json_post(GOOD, ctype="text/plain"), 415, "application/json"),
    Case("JSON sent as a form", "content-type",
         json_post(GOOD, ctype="application/x-www-form-urlencoded"), 415, "application/json"),
    Case("JSON sent with no content type", "content-type", json_post(GOOD, ctype=None), 415, "no content type"),
    Case("multipart sent to the JSON route", "content-type", _multipart_to_json_route, 415, "application/json"),
    Case("CSV route without multipart", "content-type", json_post(GOOD, path="/predict_csv"), 422, "file"),
    Case("broken multipart", "content-type", _broken_multipart, 422, "file: Field required"),
]  # fmt: skip
