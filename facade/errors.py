"""The facade's exceptions, each mapped to one HTTP status.

FacadeError
├── InvalidInput ........ 422  the request's content is unusable
├── RequestTimeout ...... 408  the body did not arrive in time (slow or stalled client)
├── PayloadTooLarge ..... 413  a body or upload over the size limit (declared or streamed)
├── UnsupportedMediaType  415  a JSON route sent something other than application/json
├── HeadersTooLarge ..... 431  too many or too large request headers
├── RateLimited ......... 429  a quota is spent; Retry-After and RateLimit-* say when it refills
├── Unauthorized ........ 401  missing, unknown or revoked API key / admin token
├── NotFound ............ 404  unknown ticker, model or key
├── ModelUnavailable .... 503  backend down, or the model has no version loaded
│   └── VersionGone ..... 503  the pinned version was unloaded mid-request (retried once first)
├── KeyStoreUnavailable . 503  the key database is unreachable (a cache miss or key administration)
├── UpstreamTimeout ..... 504  the backend did not answer in time
└── InferenceError ...... 502  the backend answered with an error

A 4xx ``detail`` tells the client what to fix. A 5xx ``detail`` is for the
operator's log only: clients get ``public`` (a fixed sentence) and the request
id, never backend addresses or TensorFlow's messages.
"""

from __future__ import annotations


class FacadeError(Exception):
    """Base class; ``status`` and ``code`` shape the JSON error body, ``headers`` go on the response."""

    status = 500
    code = "internal_error"
    public = "internal error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class InvalidInput(FacadeError):
    status = 422
    code = "invalid_input"


class RequestTimeout(FacadeError):
    status = 408
    code = "request_timeout"


class PayloadTooLarge(FacadeError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(FacadeError):
    status = 415
    code = "unsupported_media_type"


class HeadersTooLarge(FacadeError):
    status = 431
    code = "headers_too_large"


class RateLimited(FacadeError):
    status = 429
    code = "rate_limited"


class Unauthorized(FacadeError):
    status = 401
    code = "unauthorized"


class NotFound(FacadeError):
    status = 404
    code = "not_found"


class ModelUnavailable(FacadeError):
    status = 503
    code = "model_unavailable"
    public = "the model is unavailable right now; retry after the Retry-After delay"


class KeyStoreUnavailable(FacadeError):
    """Retry-After is set: the store reconnects by itself once the database answers again."""

    status = 503
    code = "key_store_unavailable"
    public = "the key database is unavailable right now; retry after the Retry-After delay"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": "1"})


class UpstreamTimeout(FacadeError):
    status = 504
    code = "upstream_timeout"
    public = "the model backend did not answer in time"


class InferenceError(FacadeError):
    status = 502
    code = "inference_error"
    public = "the model backend failed this request"


class VersionGone(ModelUnavailable):
    """The pinned version was unloaded between choosing it and calling it; refresh and retry once."""
