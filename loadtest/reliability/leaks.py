"""No secret reaches the logs: every credential a run used is searched for in everything the facade wrote.

    python -m loadtest.reliability leaks

The facade logs at DEBUG (the most it ever writes) while it is sent the
admin token, minted keys, wrong tokens and wrong keys in every place a client
might put them (headers, the query string, bodies, CSV uploads), on routes
that succeed and routes that fail. Then its whole output (stdout and stderr)
is searched for each secret, whole and in part (the secret half of a key).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from loadtest.reliability.rawhttp import exchange, multipart, request
from loadtest.reliability.stack import Client, Live, facade, history, mint_key


@dataclass
class LeakReport:
    log_lines: int = 0
    requests: int = 0
    secrets: int = 0
    found: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"{self.requests} requests carrying {self.secrets} distinct secrets; facade log at DEBUG: "
            f"{self.log_lines} lines; secrets found in it: {len(self.found)}",
        ]


def _traffic(live: Live) -> tuple[int, list[str]]:
    """Sends requests that carry secrets; returns how many and the secrets they carried."""
    keys = [mint_key(live, f"leak-{i}") for i in range(3)]
    wrong_token = "wrong-admin-token-" + "Q" * 20
    wrong_key = keys[0][:-6] + "ZZZZZZ"
    secrets = [live.admin_token, wrong_token, wrong_key, *keys]
    body = json.dumps({"prices": history(100), "steps": 2}).encode()
    sent = 3
    with Client(live.port) as client:
        for key in [*keys, wrong_key]:
            for headers in ({"x-api-key": key}, {"x-api-key": key, "x-request-id": "leak-test"}):
                client.call("POST", "/predict", body=body, headers={**headers, "content-type": "application/json"})
                sent += 1
            client.call("POST", f"/predict?x-api-key={key}", body=body, headers={"content-type": "application/json"})
            client.call("POST", "/predict", body=b"{broken", headers={"x-api-key": key, "content-type": "text/x"})
            csv, ctype = multipart([("file", "p.csv", b"Date,Close\n2024-01-02,1\n")], {"ticker": key[:32]})
            client.call("POST", "/predict_csv", body=csv, headers={"x-api-key": key, "content-type": ctype})
            sent += 3
        for token in (live.admin_token, wrong_token):
            for method, path in (("GET", "/api_keys"), ("POST", "/generate_api_key"), ("DELETE", "/api_keys/x")):
                client.call(method, path, headers={"x-admin-token": token})
                sent += 1
            # A token pasted into a body or a key name by mistake is the client's to keep: it must not echo either.
            client.call(
                "POST",
                "/generate_api_key",
                body=json.dumps({"name": token[:100], "token": token}).encode(),
                headers={"x-admin-token": token, "content-type": "application/json"},
            )
            sent += 1
        revoke = keys[2].split("_")[1]
        client.call("DELETE", f"/api_keys/{revoke}", headers={"x-admin-token": live.admin_token})
        client.call("POST", "/predict", body=body, headers={"x-api-key": keys[2], "content-type": "application/json"})
        sent += 2
    # Bad HTTP with a secret inside: a refused head must not be echoed into the log either.
    exchange(live.port, request("GET", "/ready", headers={"x-admin-token": live.admin_token, "X-Big": "a" * 20_000}))
    return sent + 1, secrets


def _fragments(secret: str) -> list[str]:
    """The secret and its first 12 characters; for an API key, of its secret half (the id is public)."""
    if secret.startswith("sc_") and secret.count("_") >= 2:
        secret = secret.split("_", 2)[2]
    return [secret, secret[:12]]


def run(models_dir: Path, workdir: Path, *, grpc_target: str) -> LeakReport:
    """Runs the traffic against a DEBUG-logging facade and searches its output for every secret."""
    report = LeakReport()
    with facade(
        workdir, models_dir=models_dir, grpc_target=grpc_target, log_level="DEBUG",
        rate_limit_auth_failures="100000/minute",
    ) as live:  # fmt: skip
        report.requests, secrets = _traffic(live)
        log = live.log
    text = log.read_text(errors="replace")
    report.log_lines = text.count("\n")
    report.secrets = len(set(secrets))
    for secret in set(secrets):
        for fragment in _fragments(secret):
            if fragment in text:
                report.found.append(f"{fragment[:6]}... ({len(fragment)} characters)")
    return report
