"""The layers import only downwards: common <- training <- export; common <- modelserver; common <- facade."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {"common", "training", "export", "modelserver", "facade", "loadtest"}
# The embedded backend is the facade's one door to TensorFlow: it loads versions through modelserver.
EMBEDDED = ROOT / "facade" / "backends" / "embedded.py"


def project_imports(path: Path) -> set[str]:
    """Top-level project packages a module imports (anywhere in it, lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & PROJECT


def grpc_path_packages() -> set[str]:
    """Project packages the facade needs when it serves through TF Serving (everything but the embedded backend)."""
    needed = {"facade"}
    for path in (ROOT / "facade").rglob("*.py"):
        if path != EMBEDDED:
            needed |= project_imports(path)
    for path in (ROOT / "common").rglob("*.py"):
        needed |= project_imports(path)
    return needed


ALLOWED = {
    "common": {"common"},
    "training": {"common", "training", "export"},  # training.seed publishes what it trains
    "export": {"common", "export", "training"},
    "modelserver": {"common", "modelserver"},
    "facade": {"common", "facade"},
}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_their_layers(package: str) -> None:
    for path in sorted((ROOT / package).rglob("*.py")):
        allowed = ALLOWED[package] | ({"modelserver"} if path == EMBEDDED else set())
        extra = project_imports(path) - allowed
        assert not extra, f"{path.relative_to(ROOT)} imports {sorted(extra)}"


def test_the_facade_never_imports_export() -> None:
    offenders = [p for p in (ROOT / "facade").rglob("*.py") if "export" in project_imports(p)]
    assert offenders == []
