"""The course map, the notebook timings file, and the pipeline figure."""
import asyncio
import json
import time
from pathlib import Path
from queue import Empty

import nbformat
import pytest

from gantransfer.tools import course

ROOT = Path(__file__).resolve().parent.parent


def test_every_notebook_is_on_the_map():
    on_disk = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb")}
    on_map = [nb.stem for nb in course.COURSE]
    assert on_map == sorted(on_map) and len(set(on_map)) == len(on_map)
    assert on_disk <= set(on_map), f"add {on_disk - set(on_map)} to course.COURSE"


def test_every_notebook_on_the_map_exists():
    missing = [nb.file for nb in course.COURSE if not nb.path.is_file()]
    assert not missing, f"on the course map but not in notebooks/: {missing}"


def test_map_entries_are_complete():
    for nb in course.COURSE:
        assert nb.title and nb.teaches and nb.papers and nb.assumes, nb.file


def test_notebook_paths():
    assert course.notebook_paths(["02"]) == [ROOT / "notebooks" / "02_style_matrix.ipynb"]
    assert course.notebook_paths(["02_style_matrix.ipynb", "01_content_parsing"])[1].name == "01_content_parsing.ipynb"
    assert course.notebook_paths() == sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
    with pytest.raises(FileNotFoundError, match="no notebook"):
        course.notebook_paths(["99"])


def test_format_seconds():
    assert course.format_seconds(None) == "—"
    assert course.format_seconds(4.26) == "4.3 s"
    assert course.format_seconds(42.4) == "42 s"
    assert course.format_seconds(68) == "1 min 08 s"
    assert course.format_seconds(3725) == "1 h 02 min"


def _doc(fast=False, cpu="Test CPU", **notebooks):
    return {"schema": 1, "fast": fast, "machine": {"cpu": cpu, "cores": 2},
            "notebooks": {k: {"seconds": v, "peak_rss_mib": 1536.0, "date": "2026-11-25"}
                          for k, v in notebooks.items()}}


def test_timings_round_trip_and_merge(tmp_path):
    path = tmp_path / "bench" / "notebooks.json"
    assert course.read_timings(path) == {}
    course.write_timings(_doc(**{"01_content_parsing": 68.0}), path)
    course.write_timings(_doc(**{"02_style_matrix": 53.0}), path)          # same machine: merged
    timings = course.read_timings(path)
    assert set(timings) == {"01_content_parsing", "02_style_matrix"}
    first = timings["01_content_parsing"]
    assert first["seconds"] == 68.0 and first["machine"]["cpu"] == "Test CPU" and first["fast"] is False
    course.write_timings(_doc(cpu="Other CPU", **{"03_style_transfer": 81.0}), path)   # another machine: replaced
    assert set(course.read_timings(path)) == {"03_style_transfer"}
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a notebook timings file"):
        course.read_timings(path)
    path.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        course.read_timings(path)


def test_map_markdown_reads_times_not_typed():
    md = course.map_markdown({})
    assert "not measured yet: run `gantransfer bench --notebooks`" in md
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert len(rows) == len(course.COURSE)
    timings = {k: {**v, "machine": {"cpu": "Test CPU", "cores": 2}, "fast": False}
               for k, v in _doc(**{"01_content_parsing": 68.0})["notebooks"].items()}
    md = course.map_markdown(timings)
    assert "1 min 08 s, 1.5 GiB peak" in md and "Test CPU (2 cores), 2026-11-25" in md
    assert "not measured yet |" in md                      # the other notebooks
    fast = {k: {**v, "fast": True} for k, v in timings.items()}
    assert "in fast mode" in course.map_markdown(fast)


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_time_notebooks_measures_time_and_kernel_memory(tmp_path):
    ok = _notebook(tmp_path / "10_ok.ipynb",
                   "import os, time\nassert os.environ.get('GANTRANSFER_FAST') == '1'",
                   "block = bytearray(300 * 2**20)   # 300 MiB, touched\ntime.sleep(0.3)")
    bad = _notebook(tmp_path / "11_bad.ipynb", "1 / 0")
    out = tmp_path / "timings.json"
    doc = course.bench_notebooks(out, fast=True, notebooks=[ok, bad], timeout=120)
    assert doc["written_to"] == str(out) and doc["fast"] is True and doc["machine"]["cores"] >= 1
    entry = doc["notebooks"]["10_ok"]
    assert 0.3 <= entry["seconds"] < 60 and entry["kernel_start_seconds"] >= 0
    assert entry["peak_rss_mib"] >= 300
    assert entry["slowest_cells"][0]["cell"] == 1 and entry["slowest_cells"][0]["first_line"].startswith("block")
    bad_entry = doc["notebooks"]["11_bad"]
    assert bad_entry["seconds"] is None and "ZeroDivisionError" in bad_entry["error"]
    assert json.loads(out.read_text())["notebooks"].keys() == {"10_ok", "11_bad"}
    assert "failed when last measured" in course.map_markdown(
        {"00_overview": course.read_timings(out)["11_bad"]})


def test_kernel_env(monkeypatch):
    monkeypatch.setenv("GANTRANSFER_FAST", "1")
    assert "GANTRANSFER_FAST" not in course.kernel_env(False)
    assert course.kernel_env(True)["GANTRANSFER_FAST"] == "1"


def test_pipeline_figure():
    import numpy as np
    from matplotlib.figure import Figure

    img = np.random.default_rng(0).uniform(size=(24, 32, 3)).astype(np.float32)
    fig = course.pipeline_figure(img, img, img)
    assert isinstance(fig, Figure) and len(fig.axes[0].images) == 4    # photo, style, result, real style
    text = " ".join(t.get_text() for t in fig.axes[0].texts)
    for words in ("content parsing", "style matrix", "fusion", "discriminator", "adversarial training", "decoder"):
        assert words in text
    assert len(course.pipeline_figure(chinese=False).axes[0].images) == 0


def test_class_capacity_from_measured_peak_memory():
    timings = {"04_fusion": {"peak_rss_mib": 1500.0}, "00_overview": {"peak_rss_mib": 400.0},
               "05_adversarial_training": {"seconds": None, "peak_rss_mib": 9.0, "error": "it failed"}}
    # (32 GiB - 2 GiB reserve) = 30720 MiB; per student 1500 + 128 MiB → 18 (18.87), 400 + 128 → 58 (58.2)
    assert course.class_capacity(32, timings=timings) == {"00_overview": 58, "04_fusion": 18}
    assert list(course.class_capacity(32, timings=timings)) == ["00_overview", "04_fusion"]   # course order
    assert course.class_capacity(4, reserve_gib=0, server_mib=0, timings=timings)["04_fusion"] == 2
    md = course.capacity_markdown((16, 32), timings=timings)
    assert "| `04_fusion` | 1.46 GiB | 8 | 18 |" in md and "05_adversarial" not in md
    for bad in ({"memory_gib": -1}, {"memory_gib": float("nan")}, {"memory_gib": 1}, {"memory_gib": 8, "server_mib": -5}):
        args = {"timings": timings, **bad}
        with pytest.raises(ValueError):
            course.class_capacity(args.pop("memory_gib"), **args)
    with pytest.raises(ValueError, match="empty"):
        course.capacity_markdown((), timings=timings)


def test_bench_document_carries_the_notebook_figures(tmp_path):
    from gantransfer.tools import bench

    path = tmp_path / "notebooks.json"
    assert bench.notebook_figures(path) == {}
    doc = _doc(**{"01_content_parsing": 57.25})
    doc["notebooks"]["02_style_matrix"] = {"seconds": None, "error": "boom", "date": "2026-11-25"}
    course.write_timings(doc, path)
    assert bench.notebook_figures(path) == {"01_content_parsing": {"seconds": 57.25, "peak_rss_mib": 1536.0,
                                                                   "date": "2026-11-25"}}
    course.write_timings(_doc(fast=True, **{"01_content_parsing": 3.0}), path, merge=False)
    assert bench.notebook_figures(path) == {}             # fast mode is not the notebooks' time
    assert bench.flatten({"notebooks": {"01": {"seconds": 57.25, "date": "x"}}}) == {"notebooks.01.seconds": 57.25}


class _MissedEdgeChannel:
    """A shell channel whose poll, like jupyter_client's over a ZeroMQ edge already consumed, does not wake up when
    the reply arrives: a wait that starts before the reply sits out its whole timeout."""

    def __init__(self, reply_after_s):
        self.arrives = time.monotonic() + reply_after_s
        self.waits = []

    async def get_msg(self, timeout=None):
        self.waits.append(timeout)
        if time.monotonic() >= self.arrives:
            return {"msg_type": "execute_reply"}
        await asyncio.sleep(timeout)
        raise Empty


def test_sliced_shell_polls_read_a_reply_the_long_poll_misses(monkeypatch):
    monkeypatch.setattr(course, "SHELL_POLL_SLICE_S", 0.05)

    plain = _MissedEdgeChannel(reply_after_s=0.1)
    with pytest.raises(Empty):              # the whole-timeout wait misses the reply
        asyncio.run(plain.get_msg(timeout=0.5))

    sliced = _MissedEdgeChannel(reply_after_s=0.1)
    course._slice_shell_polls(sliced)
    start = time.monotonic()
    assert asyncio.run(sliced.get_msg(timeout=5.0))["msg_type"] == "execute_reply"
    assert time.monotonic() - start < 1.0 and max(sliced.waits) <= 0.05 + 1e-9

    never = _MissedEdgeChannel(reply_after_s=60)
    course._slice_shell_polls(never)
    start = time.monotonic()
    with pytest.raises(Empty):              # the caller's timeout still holds
        asyncio.run(never.get_msg(timeout=0.2))
    assert 0.2 <= time.monotonic() - start < 1.0
