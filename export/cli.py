"""Command line: ``python -m export {publish,list,retire,republish}``.

The version folder is the unit of deployment: publishing adds ``<N+1>/``,
which TF Serving and the facade pick up within seconds; ``retire`` takes a
version out of service (a roll back when it is the newest); ``republish``
brings an older version back as the newest. Training and publishing every
bundled ticker in one go (the trainer service) is ``python -m training.seed``.
``label`` names a version (``stable``, ``canary``) for the embedded runtime and
the local gRPC server (``models/<model>/labels.json``); TF Serving reads its
labels from ``version_labels`` in models.config instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from common.contract import list_models
from common.labels import LabelError, read_labels, write_labels
from common.metadata import MetadataError, read_metadata
from common.naming import model_name
from common.tf_runtime import import_tensorflow
from export.exporter import ExportError, export_run, latest_run, republish_version
from export.versions import RETIRED, list_versions, retire

DEFAULT_MODELS_DIR = Path(os.environ.get("MODELS_DIR", "models"))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m export", description=__doc__)
    p.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR, help="TF Serving's model base folder")
    sub = p.add_subparsers(dest="command", required=True)

    pub = sub.add_parser("publish", help="export a training run as the next version")
    pub.add_argument("run", type=Path, nargs="?", help="run folder (default: the newest run of --ticker)")
    pub.add_argument("--ticker", default="AAPL", help="pick the newest run of this ticker")
    pub.add_argument("--runs-dir", type=Path, default=Path("runs"))
    pub.add_argument("--model", help="serving name (default: derived from the ticker)")
    pub.add_argument("--if-missing", action="store_true", help="do nothing when the model already has a version")

    ls = sub.add_parser("list", help="list models and versions")
    ls.add_argument("--model")

    ret = sub.add_parser("retire", help="take a version out of service (moved under .retired/)")
    ret.add_argument("--model", required=True)
    ret.add_argument("version", type=int)

    rep = sub.add_parser("republish", help="publish a copy of an older (or retired) version as the newest")
    rep.add_argument("--model", required=True)
    rep.add_argument("version", type=int)

    lab = sub.add_parser("label", help="point a version label at a live version, or remove it (--remove)")
    lab.add_argument("--model", required=True)
    lab.add_argument("label")
    lab.add_argument("version", type=int, nargs="?", help="a live version (omit with --remove)")
    lab.add_argument("--remove", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    models_dir: Path = args.models_dir
    try:
        if args.command == "publish":
            return _publish(args, models_dir)
        if args.command == "list":
            _list(models_dir, args.model)
            return 0
        model_dir = models_dir / args.model
        if args.command == "label":
            return _label(model_dir, args)
        if args.command == "retire":
            print(f"retired {args.model} version {args.version} -> {retire(model_dir, args.version)}")
            return 0
        source = _find_version(model_dir, args.version)
        print(f"published {republish_version(model_dir, source)} (copy of version {args.version})")
        return 0
    except (ExportError, MetadataError, LabelError, FileNotFoundError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _publish(args: argparse.Namespace, models_dir: Path) -> int:
    name = args.model or model_name(args.ticker)
    if args.if_missing and list_versions(models_dir / name):
        print(f"{name} already has versions {list_versions(models_dir / name)}; nothing to do")
        return 0
    run = args.run or latest_run(args.runs_dir, model_name(args.ticker))
    import_tensorflow()
    published = export_run(run, models_dir, model=args.model)
    print(f"published {published}")
    return 0


def _list(models_dir: Path, only: str | None) -> None:
    for name in [only] if only else list_models(models_dir):
        names_of: dict[int, list[str]] = {}
        try:
            for label, number in read_labels(models_dir / name).items():
                names_of.setdefault(number, []).append(label)
        except LabelError as exc:
            print(f"{name}\tlabels invalid: {exc}")
        for version in list_versions(models_dir / name):
            try:
                meta = read_metadata(models_dir / name / str(version), model=name, version=version)
            except MetadataError as exc:
                print(f"{name}\t{version}\tinvalid: {exc}")
                continue
            created = meta.created_at.isoformat()
            tags = f"\t[{', '.join(sorted(names_of[version]))}]" if version in names_of else ""
            print(f"{name}\t{version}\t{created}\twindow {meta.window}\tMASE {meta.metrics.test.mase:.4f}{tags}")


def _label(model_dir: Path, args: argparse.Namespace) -> int:
    labels = read_labels(model_dir)
    if args.remove:
        if labels.pop(args.label, None) is None:
            raise LabelError(f"{args.model} has no label {args.label!r} (labels: {labels or 'none'})")
        write_labels(model_dir, labels)
        print(f"removed label {args.label!r} of {args.model}")
        return 0
    live = list_versions(model_dir)
    if args.version is None or args.version not in live:
        raise LabelError(f"label {args.label!r} must name a live version of {args.model} (versions: {live})")
    labels[args.label] = args.version
    write_labels(model_dir, labels)
    print(f"{args.model}: {args.label} -> version {args.version}")
    return 0


def _find_version(model_dir: Path, version: int) -> Path:
    live = model_dir / str(version)
    if live.is_dir():
        return live
    retired = sorted((model_dir / RETIRED).glob(f"{version}-*"))
    if retired:
        return retired[-1]
    raise FileNotFoundError(f"no live or retired version {version} in {model_dir}")
