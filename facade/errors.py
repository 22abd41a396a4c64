"""The facade's exceptions, each mapped to one HTTP status.

FacadeError
├── InvalidInput ........ 422  the request's content is unusable
├── PayloadTooLarge ..... 413  an upload over the size limit
├── Unauthorized ........ 401  missing, unknown or revoked API key / admin token
├── NotFound ............ 404  unknown ticker, model or key
├── ModelUnavailable .... 503  backend down, or the model has no version loaded
│   └── VersionGone ..... 503  the pinned version was unloaded mid-request (retried once first)
├── UpstreamTimeout ..... 504  the backend did not answer in time
└── InferenceError ...... 502  the backend answered with an error
"""

from __future__ import annotations


class FacadeError(Exception):
    """Base class; ``status`` and ``code`` shape the JSON error body."""

    status = 500
    code = "internal_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(FacadeError):
    status = 422
    code = "invalid_input"


class PayloadTooLarge(FacadeError):
    status = 413
    code = "payload_too_large"


class Unauthorized(FacadeError):
    status = 401
    code = "unauthorized"


class NotFound(FacadeError):
    status = 404
    code = "not_found"


class ModelUnavailable(FacadeError):
    status = 503
    code = "model_unavailable"


class UpstreamTimeout(FacadeError):
    status = 504
    code = "upstream_timeout"


class InferenceError(FacadeError):
    status = 502
    code = "inference_error"


class VersionGone(ModelUnavailable):
    """The pinned version was unloaded between choosing it and calling it; refresh and retry once."""
