"""Version folders under ``models/<model>/``: listing, atomic publish, removal.

TF Serving (and the embedded backend) treat every child folder whose name is
an integer as a version, and poll for new ones. A version is therefore staged
under a dot-name, which no poller takes for a version, and renamed into place
in one ``rename(2)``: a poller sees either no folder or a complete SavedModel.
Removed versions move to ``.retired/`` rather than being deleted, so a roll
back can be undone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common.contract import list_versions

__all__ = ["RETIRED", "list_versions", "next_version", "publish", "retire"]

RETIRED = ".retired"


def next_version(model_dir: Path) -> int:
    """One more than the highest version ever used here, retired ones included."""
    used = list_versions(model_dir)
    retired = model_dir / RETIRED
    if retired.is_dir():
        used += [int(p.name.split("-")[0]) for p in retired.iterdir() if p.name.split("-")[0].isdigit()]
    return max(used, default=0) + 1


def publish(model_dir: Path, build: Callable[[Path, int], None], *, version: int | None = None) -> Path:
    """Builds a version in a staging folder and renames it into place atomically.

    Args:
        model_dir: ``models/<model>``; created if missing.
        build: writes the version's files into the staging folder it is given,
            for the version number it is given.
        version: the number to publish as; the next free one by default.

    Returns:
        The published version folder.

    Raises:
        FileExistsError: when that version already exists.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    number = version if version is not None else next_version(model_dir)
    final = model_dir / str(number)
    if final.exists():
        raise FileExistsError(f"version {number} already exists in {model_dir}")
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{number}-", dir=model_dir))
    try:
        content = staging / "version"
        build(content, number)
        _fsync_tree(content)
        # os.rename fails if `final` appeared meanwhile, instead of merging into it.
        os.rename(content, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def retire(model_dir: Path, version: int) -> Path:
    """Takes a version out of service by moving it under ``.retired/`` (one rename)."""
    src = model_dir / str(version)
    if not src.is_dir():
        raise FileNotFoundError(f"no version {version} in {model_dir} (versions: {list_versions(model_dir)})")
    dest_dir = model_dir / RETIRED
    dest_dir.mkdir(exist_ok=True)
    dest = dest_dir / f"{version}-{time.strftime('%Y%m%d-%H%M%S')}"
    os.rename(src, dest)
    return dest


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
