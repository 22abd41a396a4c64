"""``python -m facade``: serve with uvicorn using the FACADE_* settings (limits in facade/server.py)."""

from __future__ import annotations

import sys

from facade.config import get_settings
from facade.server import serve


def main() -> int:
    settings = get_settings()
    try:
        settings.check_startup()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
