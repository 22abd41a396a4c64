"""``python -m facade``: serve with uvicorn using the FACADE_* settings."""

from __future__ import annotations

import sys

import uvicorn

from facade.config import get_settings


def main() -> int:
    settings = get_settings()
    try:
        settings.check_startup()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"facade on http://{settings.host}:{settings.port} (docs at /docs)", file=sys.stderr)
    uvicorn.run(
        "facade.app:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=None,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
