"""`gantransfer bench --only startup`: the phases of a whole stylize process, and the arithmetic behind them."""
import pytest

from gantransfer.tools import bench_startup


def test_union_of_spans_counts_nested_and_overlapping_time_once():
    spans = [(0.0, 1.0), (0.5, 2.0), (0.2, 0.3), (5.0, 6.0)]          # union: [0, 2] and [5, 6]
    assert bench_startup._union_seconds(spans) == pytest.approx(3.0)
    assert bench_startup._union_seconds(spans, 1.5, 5.5) == pytest.approx(1.0)    # [1.5, 2] and [5, 5.5]
    assert bench_startup._union_seconds([], 0, 1) == 0.0


def test_breakdown_schema_phases_add_up_to_the_whole_process(tmp_path):
    doc = bench_startup.breakdown(size=32, repeats=1, extra=("--steps", "1"), workdir=tmp_path)
    assert doc["phases"] == list(bench_startup.PHASES) and doc["machine"]["nproc"] >= 1
    for run in (doc["cold"], doc["warm"]):
        assert set(run) == {*bench_startup.PHASES, "other", "total"}
        assert all(run[name] >= 0 for name in bench_startup.PHASES)
        assert sum(run[name] for name in bench_startup.PHASES) + run["other"] == pytest.approx(run["total"])
        assert abs(run["other"]) < 0.5 * run["total"]
    assert doc["cold"]["compile"] > doc["warm"]["compile"]           # the second process reads the cache
    assert (tmp_path / "startup.png").is_file()


def test_breakdown_needs_a_run():
    with pytest.raises(ValueError, match="repeats"):
        bench_startup.breakdown(repeats=0)
