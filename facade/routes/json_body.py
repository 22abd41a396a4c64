"""A JSON route answered without FastAPI's per-request machinery, with the answers FastAPI would give.

``POST /predict`` is the hot path. FastAPI's own handling of it (decoding
the body with ``json.loads``, validating the Python objects, solving every
dependency of the signature, validating the returned model again) cost
about as much CPU as the rest of a request together. :func:`fast_route`
keeps the route's declared signature, so the OpenAPI document is FastAPI's
own, but answers it with a handler that:

1. reads the body once and, when it is declared JSON, parses and validates it
   in one pass with pydantic-core (``model_validate_json``);
2. runs the checks the signature's dependencies run, in their order;
3. only when the fast pass failed, decodes and validates the body exactly as
   FastAPI does, so every refusal (malformed JSON, a wrong type, a missing
   body) keeps FastAPI's status and error details.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from facade.deps import is_json

M = TypeVar("M", bound=BaseModel)
# No body at all (FastAPI's Undefined), as opposed to a body that decodes to null.
NO_BODY: Any = object()
Handler = Callable[[Request], Awaitable[Response]]


def fast_route(handler: Handler) -> type[APIRoute]:
    """A route class whose requests go to ``handler``; the decorated endpoint only documents the route."""

    class FastRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            async def handle(request: Request) -> Response:
                return await handler(request)

            return handle

    return FastRoute


class JsonBody:
    """A request's body for ``model``: validated at once when it can be, else kept for FastAPI's validation."""

    __slots__ = ("decoded", "value")

    def __init__(self, value: BaseModel | None, decoded: Any) -> None:
        self.value = value
        self.decoded = decoded

    @classmethod
    async def read(cls, request: Request, model: type[BaseModel]) -> JsonBody:
        """Reads the body; raises only what FastAPI raises before solving dependencies (undecodable JSON).

        Raises:
            RequestValidationError: JSON that does not parse (FastAPI's ``json_invalid`` error).
            HTTPException: 400, a body that is not UTF-8 or nests too deeply (FastAPI's answer; the app's
                handler turns it into a 422 saying what is wrong).
        """
        raw = await request.body()
        content_type = request.headers.get("content-type")
        if not raw or content_type is None or not is_json(content_type):
            # FastAPI keeps such a body as bytes (or none); the content-type check refuses it later.
            return cls(None, raw or NO_BODY)
        try:
            return cls(model.model_validate_json(raw), None)
        except ValidationError:
            pass
        try:
            return cls(None, json.loads(raw))
        except json.JSONDecodeError as exc:
            error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
            raise RequestValidationError([{**error, "ctx": {"error": exc.msg}}], body=exc.doc) from exc
        except Exception as exc:  # UnicodeDecodeError, RecursionError: FastAPI's 400
            raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc

    def validated(self, model: type[M]) -> M:
        """The body as ``model``, after the route's other checks passed.

        Raises:
            RequestValidationError: with FastAPI's errors (``body`` first in each location).
        """
        if isinstance(self.value, model):
            return self.value
        if self.decoded is NO_BODY:
            raise RequestValidationError(
                [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
            )
        try:
            return model.model_validate(self.decoded, from_attributes=True)  # as FastAPI validates bodies
        except ValidationError as exc:
            errors = [{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]
            raise RequestValidationError(errors, body=self.decoded) from None
