"""Execute every notebook top to bottom in fast mode (GANTRANSFER_FAST=1) and fail on any error.

Like Flax's docs build: a notebook that drifts from the library fails here. Each notebook runs in its own
kernel (nbclient) with a per-cell timeout and a whole-notebook budget; the committed notebooks carry no
outputs.
"""
import time
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
CELL_TIMEOUT_S = 300
NOTEBOOK_BUDGET_S = 240  # fast mode is meant to take well under a minute per notebook


def test_notebooks_found():
    names = {p.name for p in NOTEBOOKS}
    assert {"01_content_parsing.ipynb", "02_style_matrix.ipynb", "03_style_transfer.ipynb",
            "04_fusion.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: strip outputs before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_fast_mode(path):
    from gantransfer.tools.course import run_notebook

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    # As `gantransfer bench --notebooks` runs it: a fresh kernel in the notebook's folder, GANTRANSFER_FAST=1.
    run_notebook(nb, path, fast=True, timeout=CELL_TIMEOUT_S)  # raises CellExecutionError on the first failing cell
    seconds = time.perf_counter() - start
    assert seconds < NOTEBOOK_BUDGET_S, f"{path.name} took {seconds:.0f} s in fast mode"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
