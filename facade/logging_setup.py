"""One logging setup for the facade's entry points: JSON lines (or plain text) on stderr."""

from __future__ import annotations

import json
import logging
import logging.config
from typing import Any

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


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
        return json.dumps(out, default=str)


def configure(level: str = "INFO", *, json_lines: bool = True) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "json": {"()": JsonFormatter},
                "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            },
            "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json" if json_lines else "text"}},
            "root": {"level": level, "handlers": ["stderr"]},
            # One line per request comes from facade.access; uvicorn's own access log would repeat it.
            "loggers": {"uvicorn.access": {"level": "WARNING"}},
        }
    )
