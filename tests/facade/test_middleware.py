import asyncio
import json
from typing import Any

import pytest

from facade.metrics import Metrics
from facade.middleware import HttpLimits, RequestContextMiddleware

Message = dict[str, Any]
SCOPE = {"type": "http", "method": "POST", "path": "/echo", "headers": [(b"content-type", b"application/json")]}


@pytest.fixture(scope="module")
def metrics() -> Any:
    m = Metrics()
    yield m
    m.close()


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": message["body"]})


def _call(metrics: Metrics, receive: Any, *, timeout_s: float = 0.3) -> tuple[int, bytes]:
    limits = HttpLimits(max_body_bytes=100, body_timeout_s=timeout_s, max_headers=10, max_header_bytes=1000)
    app = RequestContextMiddleware(_echo, metrics=metrics, limits=limits)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app({**SCOPE, "state": {}}, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def _messages(*parts: bytes, gap_s: float = 0.0, then_wait: bool = False) -> Any:
    """A receive that hands out ``parts`` (waiting ``gap_s`` before each), then waits forever if asked."""
    queue = list(parts)

    async def receive() -> Message:
        if not queue:
            await asyncio.Event().wait()
        await asyncio.sleep(gap_s)  # gap_s = 0 still suspends once: the body is not there yet
        body = queue.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(queue) or then_wait}

    return receive


def test_a_body_already_there_is_read_at_once(metrics: Metrics) -> None:
    async def receive() -> Message:  # never suspends: the whole body arrived with the head
        return {"type": "http.request", "body": b'{"a": 1}', "more_body": False}

    assert _call(metrics, receive) == (200, b'{"a": 1}')


def test_a_body_still_on_its_way_is_awaited_and_replayed_whole(metrics: Metrics) -> None:
    assert _call(metrics, _messages(b'{"a": ', b"1}", gap_s=0.01)) == (200, b'{"a": 1}')


@pytest.mark.parametrize("parts", [(), (b'{"a": ',)], ids=["nothing", "half"])
def test_a_body_that_stalls_is_refused_with_408_once_its_time_is_up(metrics: Metrics, parts: tuple[bytes]) -> None:
    status, body = _call(metrics, _messages(*parts, then_wait=True), timeout_s=0.2)
    assert status == 408
    assert json.loads(body)["detail"].startswith("the request body did not arrive within 0.2 s")


def test_an_oversized_body_is_refused_on_either_path(metrics: Metrics) -> None:
    async def at_once() -> Message:
        return {"type": "http.request", "body": b"x" * 101, "more_body": False}

    assert _call(metrics, at_once)[0] == 413
    assert _call(metrics, _messages(b"x" * 60, b"x" * 60))[0] == 413
