"""Every endpoint and every class of bad input, through HTTP, on both backends."""

import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import SMALL
from tests.facade.conftest import ADMIN, assert_answer, expected_answer, mint
from training.collect import bundled_path

pytestmark = pytest.mark.slow
W = SMALL.window
AAPL_CSV = bundled_path("AAPL")
assert AAPL_CSV is not None
CLOSES = [float(line.split(",")[4]) for line in AAPL_CSV.read_text().splitlines()[1:]]
HISTORY = CLOSES[-(W + 15) :]


def post(client: TestClient, key: str | None, body: object, **kw: object) -> object:
    headers = {"x-api-key": key} if key else {}
    return client.post("/predict", headers=headers, json=body, **kw)  # type: ignore[arg-type]


# --- service endpoints -------------------------------------------------------------------------


def test_health_lists_models_and_versions(client: TestClient, backend_kind: str) -> None:
    body = client.get("/").json()
    assert body["status"] == "ok"
    assert body["backend"]["kind"] == backend_kind and body["backend"]["reachable"] is True
    assert body["models"] == {"aapl": [1, 2]}


def test_ready(client: TestClient) -> None:
    assert client.get("/ready").json() == {"ready": True}


def test_models_listing_carries_version_metadata(client: TestClient) -> None:
    entries = client.get("/models").json()["models"]["aapl"]
    assert [e["version"] for e in entries] == [1, 2]
    assert entries[0]["window"] == W and entries[0]["ticker"] == "AAPL"
    assert entries[0]["data_range"] == ["2019-01-02", "2024-12-31"]


def test_metrics_expose_requests_and_stages(client: TestClient, api_key: str) -> None:
    post(client, api_key, {"prices": HISTORY})
    text = client.get("/metrics").text
    assert 'facade_requests_total{endpoint="/predict",status="200"}' in text
    assert 'facade_stage_seconds_count{stage="inference"}' in text
    assert 'facade_model_version_served{model="aapl"} 2.0' in text
    assert "facade_backend_up 1.0" in text


def test_openapi_documents_the_endpoints_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/predict", "/predict_csv", "/generate_api_key", "/api_keys", "/ready", "/models"} <= set(spec["paths"])
    example = spec["components"]["schemas"]["PredictRequest"]["examples"][0]
    assert len(example["prices"]) >= 60  # long enough for the default 60-day window
    assert client.get("/docs").status_code == 200


# --- forecasts -----------------------------------------------------------------------------------


def test_predict_json_matches_the_newest_version(client: TestClient, api_key: str, models_dir: Path) -> None:
    r = post(client, api_key, {"prices": HISTORY, "steps": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "aapl" and body["version"] == 2 and body["ticker"] == "AAPL" and body["steps"] == 5
    assert body["signature"] == "forecast"  # the default mode: one call to the in-graph loop
    assert_answer(body, expected_answer(models_dir, 2, HISTORY, 5), rtol=1e-4)
    for band in body["intervals"].values():  # the close itself lies inside the bands' reach
        assert all(lo < f < hi for lo, f, hi in zip(band["lower"], body["forecast"], band["upper"], strict=True))
    assert body["last_price"] == pytest.approx(HISTORY[-1])
    assert set(body["timings"]) == {"total_ms", "parse_ms", "preprocess_ms", "inference_ms", "postprocess_ms"}
    assert float(r.headers["x-process-time"]) > 0 and r.headers["x-request-id"] == body["request_id"]


def test_original_clients_body_still_works(client: TestClient, api_key: str, models_dir: Path) -> None:
    """The original project's clients send only {"prices": [...]} with x-api-key."""
    body = post(client, api_key, {"prices": HISTORY}).json()
    assert len(body["forecast"]) == 1 and body["steps"] == 1
    assert_answer(body, expected_answer(models_dir, 2, HISTORY, 1), rtol=1e-4)


def test_ticker_selects_the_model_case_insensitively(client: TestClient, api_key: str) -> None:
    assert post(client, api_key, {"prices": HISTORY, "ticker": "aapl"}).json()["model"] == "aapl"


CSV_CASES = {
    "yfinance": "Price,Close,High,Low,Open,Volume\nTicker,AAPL,AAPL,AAPL,AAPL,AAPL\nDate,,,,,\n"
    + "".join(f"2024-{1 + i // 28:02d}-{1 + i % 28:02d},{p},{p},{p},{p},100\n" for i, p in enumerate(HISTORY)),
    "plain": "Date,Close\n" + "".join(f"2024-{1 + i // 28:02d}-{1 + i % 28:02d},{p}\n" for i, p in enumerate(HISTORY)),
    "semicolon-decimal-comma": "Data;Fechamento\n"
    + "".join(f"{1 + i % 28:02d}/{1 + i // 28:02d}/2024;{str(p).replace('.', ',')}\n" for i, p in enumerate(HISTORY)),
    "descending": "Date,Close\n"
    + "".join(f"2024-{1 + i // 28:02d}-{1 + i % 28:02d},{p}\n" for i, p in reversed(list(enumerate(HISTORY)))),
}


@pytest.mark.parametrize("layout", sorted(CSV_CASES))
def test_predict_csv_layouts(client: TestClient, api_key: str, models_dir: Path, layout: str) -> None:
    column = "Fechamento" if layout.startswith("semicolon") else "Close"
    r = client.post(
        "/predict_csv",
        headers={"x-api-key": api_key},
        files={"file": ("prices.csv", CSV_CASES[layout].encode(), "text/csv")},
        data={"steps": "3", "column": column},
    )
    assert r.status_code == 200, r.text
    assert_answer(r.json(), expected_answer(models_dir, 2, HISTORY, 3), rtol=1e-4)


def test_predict_csv_real_yahoo_file(client: TestClient, api_key: str) -> None:
    assert AAPL_CSV is not None
    with AAPL_CSV.open("rb") as fh:
        r = client.post("/predict_csv", headers={"x-api-key": api_key}, files={"file": ("AAPL.csv", fh, "text/csv")})
    assert r.status_code == 200, r.text
    assert r.json()["last_price"] == pytest.approx(CLOSES[-1])


# --- bad input -----------------------------------------------------------------------------------

N = len(HISTORY)
BAD_JSON = [
    ({"prices": HISTORY[:5]}, 422, f"needs at least {W} prices, got 5"),
    ({"prices": [*HISTORY[:-1], -3.0]}, 422, f"prices[{N - 1}]: -3.0 is not positive"),
    ({"prices": [*HISTORY[:-1], "abc"]}, 422, f'prices[{N - 1}]: Input should be a valid number (got "abc")'),
    ({"prices": HISTORY, "steps": 61}, 422, "steps: Input should be less than or equal to 60"),
    ({"prices": HISTORY, "steps": 0}, 422, "steps: Input should be greater than or equal to 1"),
    ({"prices": HISTORY, "steps": "x"}, 422, 'steps: Input should be a valid integer (got "x")'),
    ({"prices": []}, 422, "prices: List should have at least 1 item"),
    ({"steps": 2}, 422, "prices: Field required"),
    ({"prices": HISTORY, "step": 2}, 422, "step: Extra inputs are not permitted"),
    ({"prices": HISTORY, "ticker": "ZZZ"}, 404, "no model 'zzz'"),
    ({"prices": HISTORY, "ticker": "!!"}, 422, "ticker: '!!' is not a ticker"),
    ([1, 2, 3], 422, "valid dictionary"),
    # Strict types: nothing is coerced.
    ({"prices": HISTORY, "steps": "5"}, 422, 'steps: Input should be a valid integer (got "5")'),
    ({"prices": HISTORY, "steps": 5.0}, 422, "steps: Input should be a valid integer (got 5.0)"),
    ({"prices": HISTORY, "steps": True}, 422, "steps: Input should be a valid integer (got true)"),
    ({"prices": [*HISTORY[:-1], "250.5"]}, 422, f'prices[{N - 1}]: Input should be a valid number (got "250.5")'),
    ({"prices": [True, *HISTORY[1:]]}, 422, "prices[0]: Input should be a valid number (got true)"),
    ({"prices": HISTORY, "ticker": 7}, 422, "ticker: Input should be a valid string (got 7)"),
    # Prices float32 cannot hold, or that overflow the graph, anywhere in the list.
    ({"prices": [1e-40, *HISTORY]}, 422, "prices[0]: 1e-40 is below the smallest usable price"),
    ({"prices": [*HISTORY[:-1], 1e308]}, 422, f"prices[{N - 1}]: 1e+308 is above the largest usable price 1e+15"),
    ({"prices": [*HISTORY[:-1], 3.5e38]}, 422, "is above the largest usable price"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_JSON)
def test_bad_json_bodies(client: TestClient, api_key: str, body: object, status: int, message: str) -> None:
    r = post(client, api_key, body)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_prices(client: TestClient, api_key: str, token: str) -> None:
    raw = json.dumps({"prices": HISTORY})[:-2] + f", {token}]}}"
    r = client.post("/predict", headers={"x-api-key": api_key, "content-type": "application/json"}, content=raw)
    assert r.status_code == 422, r.text
    assert "finite number" in r.json()["detail"]


def test_malformed_json(client: TestClient, api_key: str) -> None:
    r = client.post(
        "/predict", headers={"x-api-key": api_key, "content-type": "application/json"}, content=b'{"prices": [1, 2'
    )
    assert r.status_code == 422
    assert "JSON decode error" in r.json()["detail"]


def test_too_many_prices(client: TestClient, api_key: str) -> None:
    r = post(client, api_key, {"prices": [100.0] * 10_001})
    assert r.status_code == 422 and "prices: List should have at most 10000 items" in r.json()["detail"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Date,Open\n2024-01-02,1\n", "no 'Close' column"),
        (b"Date,Close\n2024-01-02,abc\n", "row 2, 'Close': 'abc' is not a number"),
        (b"Date,Close\n2024-01-02,1\n2024-01-02,2\n", "duplicated date"),
        (b"", "empty"),
        (b"Date,Close\n2024-01-02,1\n2024-01-03,2\n", f"needs at least {W} prices, got 2"),
    ],
)
def test_bad_csv(client: TestClient, api_key: str, content: bytes, message: str) -> None:
    r = client.post("/predict_csv", headers={"x-api-key": api_key}, files={"file": ("p.csv", content, "text/csv")})
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"]


def test_csv_without_file(client: TestClient, api_key: str) -> None:
    r = client.post("/predict_csv", headers={"x-api-key": api_key}, data={"steps": "2"})
    assert r.status_code == 422 and "file: Field required" in r.json()["detail"]


def test_oversized_upload_is_refused_before_parsing(client: TestClient, api_key: str) -> None:
    big = io.BytesIO(b"Date,Close\n" + b"2024-01-02,1.0\n" * 80_000)  # ~1.2 MB
    r = client.post("/predict_csv", headers={"x-api-key": api_key}, files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413
    assert "limit" in r.json()["detail"]


# --- keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [(None, "missing API key"), ("sc_abc_def", "unknown API key"), ("nonsense", "malformed API key")],
)
def test_missing_or_wrong_key(client: TestClient, key: str | None, message: str) -> None:
    r = post(client, key, {"prices": HISTORY})
    assert r.status_code == 401 and message in r.json()["detail"]


def test_minting_needs_the_admin_token(client: TestClient) -> None:
    assert client.post("/generate_api_key").status_code == 401
    r = client.post("/generate_api_key", headers={"x-admin-token": "wrong"})
    assert r.status_code == 401 and r.json()["detail"] == "wrong admin token"
    assert client.get("/api_keys").status_code == 401


def test_list_and_revoke(client: TestClient) -> None:
    key = mint(client, "to-revoke")
    key_id = key.split("_")[1]
    assert post(client, key, {"prices": HISTORY}).status_code == 200
    listed = client.get("/api_keys", headers={"x-admin-token": ADMIN}).json()
    assert any(k["id"] == key_id and k["name"] == "to-revoke" for k in listed)
    assert all("api_key" not in k and key.split("_", 2)[2] not in json.dumps(k) for k in listed)
    r = client.delete(f"/api_keys/{key_id}", headers={"x-admin-token": ADMIN})
    assert r.status_code == 200 and r.json()["revoked_at"]
    r = post(client, key, {"prices": HISTORY})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert client.delete("/api_keys/nope", headers={"x-admin-token": ADMIN}).status_code == 404


def test_errors_never_lose_stored_keys(client: TestClient, api_key: str) -> None:
    for body, _status, _msg in BAD_JSON:
        post(client, api_key, body)
    client.post("/predict_csv", headers={"x-api-key": api_key}, files={"file": ("p.csv", b"\xff\xfe", "text/csv")})
    assert post(client, api_key, {"prices": HISTORY}).status_code == 200
