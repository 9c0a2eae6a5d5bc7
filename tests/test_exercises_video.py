"""Notebook 07's checkers: the reference solutions pass, a one-line delegation to the library and typical
mistakes fail with the right message."""
import numpy as np
import pytest

from gantransfer.methods import temporal
from gantransfer.notebook import checking, exercises


def run(name, fn, capsys):
    ok = exercises.CHECKERS[name](fn)
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    return ok, out


@pytest.mark.parametrize("name", ["warping_error", "seam_ratio"])
def test_solutions_pass(name, capsys):
    ok, out = run(name, exercises.solution_function(name), capsys)
    assert ok and out.startswith(checking.RIGHT), out


WARPING_MISTAKES = {
    "library one-liner": (lambda o, f, m: temporal.warping_error(list(o), list(o)), "use the flows and masks given"),
    "no warp": (lambda o, f, m: np.mean([np.sum(m[t - 1] * np.sum((o[t] - o[t - 1]) ** 2, -1)) / m[t - 1].sum()
                                         for t in range(1, len(o))]), "warp it first"),
    "no mask": (lambda o, f, m: np.mean([np.mean(np.sum((o[t] - temporal.warp(o[t - 1], f[t - 1])) ** 2, -1))
                                         for t in range(1, len(o))]), "weight by the mask"),
    "mean over channels": (lambda o, f, m: np.mean([np.sum(m[t - 1] * np.mean((o[t] - temporal.warp(o[t - 1], f[t - 1]))
                                                                               ** 2, -1)) / m[t - 1].sum()
                                                    for t in range(1, len(o))]), "sums over them"),
}


@pytest.mark.parametrize("mistake", sorted(WARPING_MISTAKES))
def test_warping_error_mistakes(mistake, capsys):
    fn, message = WARPING_MISTAKES[mistake]
    ok, out = run("warping_error", fn, capsys)
    assert not ok and out.startswith(checking.WRONG) and message in out, out


def test_seam_ratio_mistakes(capsys):
    rows_only = lambda t: np.abs(t[0] - t[-1]).mean() / np.abs(np.diff(t, axis=0)).mean()
    ok, out = run("seam_ratio", rows_only, capsys)
    assert not ok and "left–right edge" in out
    ok, out = run("seam_ratio", lambda t: 1.0, capsys)
    assert not ok and out.startswith(checking.WRONG)
