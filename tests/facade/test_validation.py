import gc
import math

import pytest
from fastapi.testclient import TestClient

from common.prices import MAX_PRICE, MIN_PRICE
from facade.app import GC_YOUNG_THRESHOLD, Entry
from facade.errors import InvalidInput
from facade.validation import check_window

GOOD = [100.0 + i for i in range(60)]


def test_a_usable_window_passes_with_its_range() -> None:
    assert check_window(GOOD, offset=0) == (100.0, 159.0)
    assert check_window([MIN_PRICE, MAX_PRICE], offset=0) == (MIN_PRICE, MAX_PRICE)


@pytest.mark.parametrize("position", [0, 1, 30, 59])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 0.0, -5.0, MIN_PRICE / 2, MAX_PRICE * 2], ids=repr)
def test_a_bad_price_anywhere_is_refused_and_named(position: int, bad: float) -> None:
    # min() and max() can step over a NaN that is not first; the window must still be refused.
    window = GOOD.copy()
    window[position] = bad
    with pytest.raises(InvalidInput, match=rf"prices\[{20 + position}\] = "):
        check_window(window, offset=20)


def test_opposite_infinities_are_refused() -> None:
    window = GOOD.copy()
    window[3], window[40] = math.inf, -math.inf
    with pytest.raises(InvalidInput, match=r"prices\[3\]"):
        check_window(window, offset=0)


def test_entry_serves_the_app_and_passes_its_lifespan(client: TestClient) -> None:
    # The shared client goes through Entry, as uvicorn does: the lifespan ran (the backend is up), routes and the
    # app's error handlers answer, and the middleware's headers are on every reply.
    assert isinstance(client.app, Entry)
    ready = client.get("/ready")
    assert ready.status_code == 200 and "x-request-id" in ready.headers
    missing = client.get("/no-such-route")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD  # set once the app is loaded
