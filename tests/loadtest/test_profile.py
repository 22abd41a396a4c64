"""The profiler's bookkeeping: py-spy's collapsed stacks into cost buckets, a report and a flame graph."""

from collections import Counter
from pathlib import Path

from loadtest.flamegraph import render_flamegraph
from loadtest.profile import bucket_of, on_cpu, read_collapsed, report

MAIN = "thread (1): MainThread"
SAMPLES = """\
thread (1): MainThread;Runner.run (asyncio/runners.py:1);p (facade/routes/predict.py:1);spend (facade/ratelimit.py:2) 30
thread (1): MainThread;Runner.run (asyncio/runners.py:1);p (facade/routes/predict.py:1);v (pydantic/main.py:8) 20
thread (2): batch;_run (facade/backends/embedded.py:90);quick_execute (tensorflow/python/eager/execute.py:53) 45
thread (2): batch;_worker (concurrent/futures/thread.py:81);SimpleQueue.get (<built-in>) 5
not a sample line
"""


def test_collapsed_stacks_are_read_and_waiting_threads_dropped(tmp_path: Path) -> None:
    path = tmp_path / "raw.txt"
    path.write_text(SAMPLES)
    stacks = read_collapsed(path)
    assert sum(stacks.values()) == 100
    busy = on_cpu(stacks)
    assert sum(busy.values()) == 95  # the worker asleep in its queue is not CPU


def test_a_sample_goes_to_the_innermost_frame_that_names_a_bucket() -> None:
    frames = [MAIN, "predict_json (facade/routes/predict.py:1)", "hit (limits/strategies.py:9)"]
    assert bucket_of(frames) == "rate limits"
    assert bucket_of([*frames, "quick_execute (tensorflow/python/eager/execute.py:53)"]) == "TensorFlow (model call)"
    assert bucket_of([MAIN, "somewhere (else.py:1)"]) == "other"


def test_report_gives_shares_that_add_up_and_the_top_functions(tmp_path: Path) -> None:
    path = tmp_path / "raw.txt"
    path.write_text(SAMPLES)
    text = report(on_cpu(read_collapsed(path)), top=3)
    assert text.startswith("95 on-CPU samples")
    rows = [line.split("|")[2].strip() for line in text.splitlines() if line.startswith("| ")][1:]  # past the header
    shares = [float(share.rstrip("%")) for share in rows]
    assert abs(sum(shares) - 100) < 0.2
    assert "| TensorFlow (model call) | 47.4% |" in text
    assert "quick_execute" in text.split("top 3 functions")[1]


def test_the_flame_graph_is_a_png(tmp_path: Path) -> None:
    stacks = Counter({(MAIN, "a (x.py:1)", "b (x.py:2)"): 3, (MAIN, "a (x.py:1)"): 1})
    out = tmp_path / "flame.png"
    render_flamegraph(stacks, out, title="test")
    assert out.read_bytes()[:4] == b"\x89PNG"
