"""The OpenAPI document tells the truth: every enforced limit, every error an ErrorBody, auth declared."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.prices import MAX_PRICE, MIN_PRICE
from facade.app import create_app
from facade.routes.predict import DATE_FORMAT_PATTERN, TICKER_FORM_PATTERN
from facade.schemas import TICKER_PATTERN
from tests.conftest import SMALL
from tests.facade.conftest import ADMIN, make_settings, mint

pytestmark = pytest.mark.slow
HISTORY = [150.0 + 0.25 * i for i in range(SMALL.window + 5)]


@pytest.fixture(scope="module")
def custom(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A facade configured with unusual limits: the document must follow them."""
    settings = make_settings(
        tmp_path_factory.mktemp("openapi"),
        models_dir,
        max_steps=7,
        max_prices=300,
        csv_max_columns=5,
        csv_max_field_chars=40,
        max_upload_bytes=5000,
    )
    with TestClient(create_app(settings)) as c:
        yield c


def _spec(client: TestClient) -> dict[str, Any]:
    spec: dict[str, Any] = client.get("/openapi.json").json()
    return spec


def test_prices_and_steps_carry_the_configured_limits(custom: TestClient) -> None:
    schema = _spec(custom)["components"]["schemas"]["PredictRequest"]["properties"]
    prices, steps = schema["prices"], schema["steps"]
    assert prices["items"]["type"] == "number"
    assert prices["items"]["minimum"] == MIN_PRICE and prices["items"]["maximum"] == MAX_PRICE
    assert prices["minItems"] == SMALL.window  # the window of the versions served
    assert prices["maxItems"] == 300
    assert steps["type"] == "integer" and steps["minimum"] == 1 and steps["maximum"] == 7
    ticker = schema["ticker"]["anyOf"][0]
    assert ticker["pattern"] == TICKER_PATTERN and ticker["maxLength"] == 32


def test_the_limits_in_the_document_are_the_ones_enforced(custom: TestClient) -> None:
    headers = {"x-api-key": mint(custom)}

    def status(body: dict[str, Any]) -> int:
        return custom.post("/predict", headers=headers, json=body).status_code

    assert status({"prices": HISTORY, "steps": 7}) == 200
    assert status({"prices": HISTORY, "steps": 8}) == 422
    assert status({"prices": HISTORY[-SMALL.window :]}) == 200
    assert status({"prices": HISTORY[-SMALL.window + 1 :]}) == 422
    assert status({"prices": [100.0] * 300}) == 200
    assert status({"prices": [100.0] * 301}) == 422
    assert status({"prices": [*HISTORY[:-1], MIN_PRICE]}) == 200
    assert status({"prices": [*HISTORY[:-1], MAX_PRICE * 1.0001]}) == 422


def test_the_csv_form_carries_its_limits(custom: TestClient) -> None:
    spec = _spec(custom)
    ref = spec["paths"]["/predict_csv"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    form = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert form["steps"]["maximum"] == 7
    assert form["ticker"]["pattern"] == TICKER_FORM_PATTERN
    assert form["date_format"]["pattern"] == DATE_FORMAT_PATTERN
    for limit in ("5000 bytes", "300 data rows", "5 columns", "40 characters"):
        assert limit in form["file"]["description"]


def test_patterns_say_what_the_server_accepts() -> None:
    for ticker in ("AAPL", "^BVSP", "PETR4.SA", "BRK-B", "EURUSD=X", "a"):
        assert re.fullmatch(TICKER_PATTERN, ticker) and re.fullmatch(TICKER_FORM_PATTERN, ticker)
    for bad in ("!!", "", "AA PL", "^^", "É", "AAPL\n"):
        assert not re.fullmatch(TICKER_PATTERN, bad)
    assert re.fullmatch(TICKER_FORM_PATTERN, "")  # an empty form field means the default model
    for fmt in ("", "iso", "dayfirst", "monthfirst", "%d-%b-%Y"):
        assert re.fullmatch(DATE_FORMAT_PATTERN, fmt)
    for bad in ("ISO", "yyyy-mm-dd", "dd/mm"):
        assert not re.fullmatch(DATE_FORMAT_PATTERN, bad)


def test_every_error_is_an_error_body(client: TestClient) -> None:
    spec = _spec(client)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for code, response in op["responses"].items():
                if int(code) < 400:
                    continue
                schema = response["content"]["application/json"]["schema"]
                expected = "Readiness" if path == "/ready" and code == "503" else "ErrorBody"
                assert schema == {"$ref": f"#/components/schemas/{expected}"}, (method, path, code)
            # The limits enforced before routing and the catch-all can answer on any route.
            assert {"408", "413", "431", "500"} <= set(op["responses"]), (method, path)


def test_statuses_each_route_can_answer_are_documented(client: TestClient) -> None:
    paths = _spec(client)["paths"]
    documented = {(p, m): set(op["responses"]) for p, item in paths.items() for m, op in item.items()}
    assert {"401", "404", "415", "422", "429", "502", "503", "504"} <= documented[("/predict", "post")]
    assert {"400", "401", "404", "422", "429", "502", "503", "504"} <= documented[("/predict_csv", "post")]
    assert {"201", "401", "415", "422", "429"} <= documented[("/generate_api_key", "post")]
    assert {"401", "404", "429"} <= documented[("/api_keys/{key_id}", "delete")]
    assert {"200", "503"} <= documented[("/ready", "get")]
    retry = paths["/predict"]["post"]["responses"]["429"]["headers"]
    assert {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(retry)
    assert "Retry-After" in paths["/predict"]["post"]["responses"]["503"]["headers"]


def test_credentials_are_declared_as_security_schemes(client: TestClient) -> None:
    spec = _spec(client)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header", "name": "x-api-key"}
    assert schemes["AdminToken"]["name"] == "x-admin-token"
    paths = spec["paths"]
    assert paths["/predict"]["post"]["security"] == [{"ApiKey": []}]
    assert paths["/predict_csv"]["post"]["security"] == [{"ApiKey": []}]
    for path, method in (("/generate_api_key", "post"), ("/api_keys", "get"), ("/api_keys/{key_id}", "delete")):
        assert paths[path][method]["security"] == [{"AdminToken": []}]
        params = [p["name"] for p in paths[path][method].get("parameters", [])]
        assert "x-admin-token" not in params  # a scheme, not a plain header parameter


def test_docs_are_served_from_the_package(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
        asset = re.search(r'src="([^"]+\.js)"', html)
        assert asset is not None, page
        assert client.get(asset.group(1)).status_code == 200


def test_a_405_names_the_allowed_methods(client: TestClient) -> None:
    r = client.get("/predict")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert r.json()["detail"] == "GET is not allowed on /predict; allowed: POST"


def test_admin_routes_check_the_token_before_the_body(client: TestClient) -> None:
    r = client.post("/generate_api_key", headers={"x-admin-token": "wrong", "content-type": "application/json"},
                    content=b"{broken")  # fmt: skip
    assert r.status_code == 401
    r = client.post("/generate_api_key", headers={"x-admin-token": ADMIN, "content-type": "application/json"},
                    content=b"{broken")  # fmt: skip
    assert r.status_code == 422
