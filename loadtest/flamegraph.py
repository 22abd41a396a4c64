"""A flame graph (icicle layout) of collapsed stacks, drawn with matplotlib: no external script needed."""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class _Node:
    name: str
    count: int = 0
    children: dict[str, _Node] = field(default_factory=dict)


def _tree(stacks: Counter[tuple[str, ...]]) -> _Node:
    root = _Node("all")
    for frames, n in stacks.items():
        node = root
        node.count += n
        for frame in frames:
            node = node.children.setdefault(frame, _Node(frame))
            node.count += n
    return root


def _label(frame: str) -> str:
    """``function (path/to/file.py:12)`` -> ``function (file.py:12)``."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1]}" if where else name


def render_flamegraph(stacks: Counter[tuple[str, ...]], path: Path, *, title: str, max_depth: int = 70) -> None:
    """Draws one box per frame, as wide as its share of the samples, callers above their callees."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    root = _tree(stacks)
    total = root.count or 1
    depth_seen = 0
    boxes: list[tuple[float, float, int, str]] = []

    def walk(node: _Node, x: float, depth: int) -> None:
        nonlocal depth_seen
        for child in sorted(node.children.values(), key=lambda c: c.name):
            width = child.count / total
            if width >= 0.002 and depth < max_depth:
                boxes.append((x, width, depth, child.name))
                depth_seen = max(depth_seen, depth)
                walk(child, x, depth + 1)
            x += width

    walk(root, 0.0, 0)
    fig, ax = plt.subplots(figsize=(16, max(4.0, 0.19 * (depth_seen + 3))))
    for x, width, depth, name in boxes:
        hue = zlib.crc32(name.split(" (")[0].encode()) % 1000 / 1000
        colour = (0.95, 0.45 + 0.4 * hue, 0.2 + 0.2 * hue)
        ax.add_patch(Rectangle((x, depth), width, 0.95, facecolor=colour, edgecolor="white", linewidth=0.3))
        if width > 0.03:
            ax.text(x + 0.002, depth + 0.45, _label(name)[: int(width * 190)], va="center", fontsize=6)
    ax.set_xlim(0, 1)
    ax.set_ylim(depth_seen + 1, 0)
    ax.set_xlabel("share of on-CPU samples")
    ax.set_yticks([])
    ax.set_title(f"{title}: {total} samples")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
