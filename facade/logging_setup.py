"""One logging setup for the facade's entry points: JSON lines (or plain text) on stderr.

The code never logs a secret, and every line is also passed through
:func:`redact`, so that an API key a client pasted where it does not belong
(a ticker, a column name) and that an error message quotes back reaches the
log as its public id only.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from typing import Any

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# sc_<id>_<secret> (facade/keys.py), whole or cut short: the id stays, what follows goes.
_KEY = re.compile(r"\b(sc_[0-9A-Za-z]{1,32})_[A-Za-z0-9_-]+")


def redact(text: str) -> str:
    """``text`` with the secret part of anything shaped like an API key replaced."""
    return _KEY.sub(r"\1_[redacted]", text) if "sc_" in text else text


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...extra fields}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(out, default=str))


class TextFormatter(logging.Formatter):
    """Plain lines, redacted like the JSON ones."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(level: str = "INFO", *, json_lines: bool = True) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "json": {"()": JsonFormatter},
                "text": {"()": TextFormatter, "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            },
            "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json" if json_lines else "text"}},
            "root": {"level": level, "handlers": ["stderr"]},
            # One line per request comes from facade.access; uvicorn's own access log would repeat it.
            "loggers": {"uvicorn.access": {"level": "WARNING"}},
        }
    )
