"""``python -m facade``: serve with uvicorn using the FACADE_* settings (limits in facade/server.py)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from facade.config import get_settings
from facade.server import serve

# prometheus_client's own variable. Not imported from facade.metrics: prometheus_client picks its
# value class when first imported, and the supervisor must not import it before this is set.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def shared_metrics(workers: int) -> Iterator[Path | None]:
    """Prometheus multiprocess mode for several workers, set up before they start.

    The folder is ``PROMETHEUS_MULTIPROC_DIR`` when the operator sets it (e.g. an
    ``emptyDir`` in Kubernetes), else a temporary one. It is emptied first: values
    left by an earlier run would be added to this one's. A temporary folder is
    removed at the end.
    """
    if workers <= 1:
        os.environ.pop(MULTIPROC_ENV, None)
        yield None
        return
    given = os.environ.get(MULTIPROC_ENV)
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="facade-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)
    try:
        yield folder
    finally:
        if given:
            for stale in folder.glob("*.db"):
                stale.unlink(missing_ok=True)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    try:
        settings = get_settings()  # a malformed value (e.g. FACADE_KEYS_URL) is a one-line error too
        settings.check_startup()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"facade on http://{settings.host}:{settings.port} (docs at /docs)", file=sys.stderr)
    with shared_metrics(settings.workers):
        serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
