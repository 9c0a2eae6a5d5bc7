"""The course as a whole: the map of its notebooks, their measured times, and the pipeline figure.

* :data:`COURSE` — each notebook: its file, title, what it teaches, the papers it follows, what it assumes.
* :func:`time_notebooks` — execute notebooks with nbclient at their default settings (or in fast mode)
  and measure each one's wall time and its kernel's peak memory; :func:`bench_notebooks` does that and
  writes the result where :func:`read_timings` (and ``notebooks/00_overview.ipynb``) read it.
* :func:`map_markdown` — the course map as a Markdown table, times read from the benchmark's output,
  never typed by hand.
* :func:`class_capacity` — from the measured kernel peak memory, how many students one server holds.
* :func:`pipeline_figure` (from :mod:`gantransfer.tools.pipeline_figure`) — the seed's pipeline, content parsing → style matrix → fusion →
  ``I_s = G(I_c, S)``, with the discriminator judging ``I_s`` against real images of the style.

The timings file (``data/bench/notebooks.json``; ``notebooks_fast.json`` for fast mode)::

    {"schema": 1,
     "fast": false,                      # GANTRANSFER_FAST was set while timing
     "machine": {"cpu": str, "cores": int, "platform": str, "python": str},
     "notebooks": {"01_content_parsing": {
         "seconds": float,               # wall time of all its cells, kernel start excluded
         "kernel_start_seconds": float,  # starting the kernel, before the first cell
         "peak_rss_mib": float,          # the kernel process's peak resident memory
         "slowest_cells": [{"cell": int, "seconds": float, "first_line": str}, ...],   # the three slowest
         "date": "YYYY-MM-DD",
         "error": str},                  # only when the notebook failed (seconds is then null)
       ...}}

Taught in ``notebooks/00_overview.ipynb``.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import time
from pathlib import Path
from queue import Empty
from typing import Any, Iterable, Mapping, Sequence

import nbformat

from gantransfer.core import resources
from gantransfer.core.validate import check_weight
from gantransfer.tools.pipeline_figure import pipeline_figure  # noqa: F401 (re-exported: notebook 00 draws it from here)

__all__ = ["Notebook", "COURSE", "NOTEBOOK_DIR", "TIMINGS_FILE", "FAST_TIMINGS_FILE", "BENCH_COMMAND",
           "notebook_paths", "kernel_env", "run_notebook", "time_notebook", "time_notebooks", "write_timings",
           "bench_notebooks", "read_timings", "format_seconds", "map_markdown", "class_capacity",
           "capacity_markdown", "pipeline_figure"]

_ROOT = resources.REPOSITORY if resources.REPOSITORY is not None else Path.cwd()

#: Where the notebooks live (a checkout's ``notebooks/``).
try:
    NOTEBOOK_DIR = resources.notebook_dir()
except FileNotFoundError:  # an installation without the notebooks: the course map still describes them
    NOTEBOOK_DIR = _ROOT / "notebooks"

#: Where ``gantransfer bench --notebooks`` writes the timings at default settings, and the overview reads them.
TIMINGS_FILE = _ROOT / "data" / "bench" / "notebooks.json"

#: The same in fast mode (``GANTRANSFER_FAST=1``): a smoke test, never shown as the notebooks' times.
FAST_TIMINGS_FILE = _ROOT / "data" / "bench" / "notebooks_fast.json"

#: The command that measures the times shown in the course map.
BENCH_COMMAND = "gantransfer bench --notebooks"

SCHEMA = 1


@dataclasses.dataclass(frozen=True)
class Notebook:
    """One notebook of the course.

    Attributes:
      file: file name in ``notebooks/``, e.g. ``"02_style_matrix.ipynb"``.
      title: its title.
      teaches: what it teaches, one sentence.
      papers: the papers it follows.
      assumes: what a student should know before it.
    """

    file: str
    title: str
    teaches: str
    papers: tuple[str, ...]
    assumes: str

    @property
    def stem(self) -> str:
        """``"02_style_matrix"``: the key of :func:`read_timings` and of the glossary's ``notebook``."""
        return Path(self.file).stem

    @property
    def path(self) -> Path:
        """Its path in this checkout (it may not exist yet)."""
        return NOTEBOOK_DIR / self.file


#: The course map, in order.
COURSE: tuple[Notebook, ...] = (
    Notebook(
        "00_overview.ipynb", "Overview: the course map, the pipeline and the glossary",
        "The seed's three steps and I_s = G(I_c, S) as a figure; a photo no network here trained on, stylised in "
        "one pass by the per-style generator; this map; the glossary (English, 中文, formula, function); two "
        "checked questions.",
        ("the seed article (in Chinese): style transfer with generative adversarial networks",),
        "Python and NumPy; nothing about neural networks."),
    Notebook(
        "01_content_parsing.ipynb", "Content parsing (内容解析): what a CNN sees",
        "VGG16 as a table of shapes and receptive fields; a feature-map browser; reconstructing a photo from "
        "relu1_1 … relu5_1 to see what each depth keeps.",
        ("Gatys, Ecker & Bethge 2016, Fig. 1 (top)", "Mahendran & Vedaldi 2015",
         "Simonyan & Zisserman 2015 (VGG)"),
        "00; convolutions and ReLUs as filters sliding over an image; gradient descent."),
    Notebook(
        "02_style_matrix.ipynb", "The style matrix (风格矩阵)",
        "The Gram matrix step by step; why it discards layout; texture synthesis from growing sets of layers.",
        ("Gatys, Ecker & Bethge 2015 (texture synthesis)", "Gatys, Ecker & Bethge 2016, Fig. 1 (bottom)"),
        "01 (feature maps, VGG16's layer names); matrix products."),
    Notebook(
        "03_style_transfer.ipynb", "Style transfer (融合 fusion) by optimisation",
        "Content, style and total-variation losses; Adam and L-BFGS on the pixels with live image and loss "
        "curves; a dashboard; colour preservation; the content–style trade-off.",
        ("Gatys, Ecker & Bethge 2016", "Johnson, Alahi & Fei-Fei 2016 (VGG16 layers)",
         "Gatys et al. 2016b (colour preservation)"),
        "01 and 02; what an optimiser does with a loss and its gradient."),
    Notebook(
        "04_fusion.ipynb", "Fusion (融合) in one forward pass: AdaIN, WCT and a trained decoder",
        "AdaIN as mean/std matching and WCT as covariance matching; fusion at different layers; training "
        "the decoder Dec of the generator G (with its identity loss); live α and style-mix sliders; AdaIN vs WCT "
        "vs optimisation; exercises: AdaIN and the style mix.",
        ("Huang & Belongie 2017 (AdaIN)", "Li et al. 2017 (WCT)"),
        "01–03; training a network: a loss, an optimiser, a train step."),
    Notebook(
        "04b_multilevel_and_mosaic.ipynb", "One pass, further: multi-level WCT, the photo's layout, and a mosaic",
        "Multi-level WCT (a decoder per layer, coarse to fine); keeping the photo's layout by a frequency split; "
        "a mosaic of the style's own patches (features, a luminance guide, optimal transport) with a live "
        "dashboard; which one-pass method is closest to the style, at which size.",
        ("Li et al. 2017 (multi-level WCT)", "Oliva, Torralba & Schyns 2006 (hybrid images)",
         "Chen & Schmidt 2016 (style swap)", "Efros & Freeman 2001 (image quilting)", "Cuturi 2013 (Sinkhorn)"),
        "04 (AdaIN, WCT, the decoder)."),
    Notebook(
        "05_adversarial_training.ipynb", "Adversarial training (对抗训练): GANs you can watch",
        "A ring of 8 Gaussians (the saturating loss stalls, mode collapse, R1 fixes it, spectral normalisation alone "
        "does not) and a texture GAN from one image (tileable), against Gram synthesis; the game and its three losses "
        "as formulas and code, their values at chance; R1; exercises: D's hinge loss, one step of D, one step of G "
        "and the game they play; the seed's two questions answered by measurement.",
        ("Goodfellow et al. 2014 (GAN)", "Metz et al. 2017 (the ring)", "Jetchev et al. 2016 (Spatial GAN)",
         "Isola et al. 2017 (PatchGAN)", "Miyato et al. 2018 (spectral norm)", "Mescheder, Geiger & Nowozin 2018 (R1)"),
        "02 (Gram matrices); a loss, its gradient and an optimiser step."),
    Notebook(
        "05b_style_gan.ipynb", "A GAN for style transfer: one generator per style against a patch discriminator",
        "Per-style generators G_S (depthwise-separable, one pass) judged on photos they never saw; D's patch size and "
        "G's width against time; live training from an early checkpoint with D's verdict as a heat map; the ablation "
        "of the adversarial term (adversarial only, Gram only, both; sharpness and a probe D); bfloat16 on a CPU.",
        ("Zheng & Liu 2020 (P²-GAN)", "Johnson, Alahi & Fei-Fei 2016 (perceptual losses)", "Li & Wand 2016 (MGAN)",
         "Chollet 2017 (separable convolutions)", "Ulyanov et al. 2016 (instance norm)"),
        "05 (the game, the losses); 03 (Gram and content losses)."),
    Notebook(
        "06_evaluation_and_scale.ipynb", "Evaluation (评估) and scaling out: metrics, methods compared, the device mesh",
        "What LPIPS, the Gram distance and SSIM measure and where each fails; Adam, L-BFGS, AdaIN, WCT and the "
        "per-style GAN generators compared against baselines; how time grows with image size; data parallelism on a device mesh, "
        "checked on 4 simulated CPU devices; the style ratio written by hand.",
        ("Zhang et al. 2018 (LPIPS)", "Wang et al. 2004 (SSIM)", "Gatys, Ecker & Bethge 2016 (Gram statistics)",
         "Xu et al. 2021 (GSPMD)"),
        "03–05b (the ways to stylise); a batch, a gradient and an optimiser step."),
    Notebook(
        "07_applications.ipynb", "Applications: film and TV (video without flicker), games (tileable textures, frame "
        "budgets), art",
        "A clip made by a camera pan and zoom, stylised per frame and steadied by optical flow, with the warping error "
        "as the flicker figure and its price in style; a tileable texture and its 3 × 3 repetition with the seam "
        "measured; frame budgets beside measured speed; a gallery of every method; exercises: the warping error and "
        "the seam figure.",
        ("Ruder, Dosovitskiy & Brox 2016 (video)", "Lai et al. 2018 (warping error)", "Kroeger et al. 2016 (DIS flow)",
         "Gatys, Ecker & Bethge 2015 (texture synthesis)", "Jetchev et al. 2016 (Spatial GAN)"),
        "02 (texture synthesis), 05b (per-style generators), 06 (the judge's figures)."),
)


def notebook_paths(notebooks: Iterable[str | os.PathLike] | None = None) -> list[Path]:
    """Notebook files: all of ``notebooks/NN_*.ipynb`` in order, or the ones named.

    Args:
      notebooks: names as ``"02"``, ``"02_style_matrix"``, ``"02_style_matrix.ipynb"``, or paths.
    Raises:
      FileNotFoundError: a name matches no notebook (or several).
    """
    found = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]*_*.ipynb"))
    if notebooks is None:
        return found
    paths = []
    for item in notebooks:
        path = Path(item)
        if path.suffix == ".ipynb" and path.is_file():
            paths.append(path.resolve())
            continue
        name = path.name.removesuffix(".ipynb")
        matches = [p for p in found if p.stem == name or p.stem.split("_")[0] == name]
        if len(matches) != 1:
            known = ", ".join(p.stem for p in found)
            raise FileNotFoundError(f"no notebook {str(item)!r}" if not matches else f"{str(item)!r} is ambiguous"
                                    + f" (notebooks: {known})")
        paths.append(matches[0])
    return paths


def kernel_env(fast: bool) -> dict[str, str]:
    """This process's environment for a notebook kernel, with ``GANTRANSFER_FAST`` set (fast) or removed."""
    env = dict(os.environ)
    env.pop("GANTRANSFER_FAST", None)
    if fast:
        env["GANTRANSFER_FAST"] = "1"
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return env


def run_notebook(nb, path: str | os.PathLike, *, fast: bool = False, timeout: int | None = None,
                 kernel_name: str = "python3", hooks: Mapping[str, Any] | None = None):
    """Execute notebook ``nb`` (an ``nbformat`` node, changed in place) in a fresh kernel, as nbclient does.

    The kernel runs in the notebook's folder (``path``'s parent), in fast mode or not (:func:`kernel_env`).

    Args:
      nb: the notebook, read with ``nbformat.read(path, as_version=4)``.
      path: where it was read from.
      fast: set ``GANTRANSFER_FAST=1`` in the kernel (tiny sizes, few steps); otherwise the defaults.
      timeout: per-cell limit in seconds (``None``: none, as a student's run has none).
      hooks: nbclient hooks (``on_cell_start``, ``on_cell_executed``, …).
    Returns:
      ``nb``, with outputs. Raises ``nbclient.exceptions.CellExecutionError`` on the first failing cell.
    """
    folder = Path(path).resolve().parent
    client = notebook_client(nb, timeout=timeout, kernel_name=kernel_name,
                             resources={"metadata": {"path": str(folder)}}, **(hooks or {}))
    client.execute(env=kernel_env(fast), cwd=str(folder))
    return nb


# How long one wait for the kernel's execute_reply may last before the socket is asked again.
SHELL_POLL_SLICE_S = 0.5


def notebook_client(nb, **kwargs):
    """An ``nbclient.NotebookClient`` for ``nb`` (keyword arguments as nbclient's) that never sits on a reply.

    Why: jupyter_client waits for a cell's ``execute_reply`` with one asyncio poll of the shell socket for the
    whole cell timeout. That poll relies on ZeroMQ's edge-triggered file descriptor, and the edge can be consumed
    before the poll sees it (pyzmq issue 1558): the reply then sits in the socket until the timeout ends. We
    measured it on notebook 07's dashboard cell with a cold compilation cache, 3 runs of 3: the kernel went idle
    after 0.3 s and the reply was read 60 s later, when the timeout ran out (300 s in the test, failing CI's
    budget). Polling in slices of :data:`SHELL_POLL_SLICE_S` asks the socket again, so a missed edge costs at most
    one slice.
    """
    from nbclient import NotebookClient  # lazy: only to execute notebooks (the course map needs no kernel)

    class SlicedPollClient(NotebookClient):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            _slice_shell_polls(kc.shell_channel)
            return kc

    return SlicedPollClient(nb, **kwargs)


def _slice_shell_polls(channel) -> None:
    """Make ``channel.get_msg(timeout)`` poll in short slices up to ``timeout`` (``None``: without end)."""
    whole_wait = channel.get_msg

    async def get_msg(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = SHELL_POLL_SLICE_S if deadline is None else min(SHELL_POLL_SLICE_S, deadline - time.monotonic())
            try:
                return await whole_wait(timeout=max(left, 0.0))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    channel.get_msg = get_msg


# The last cell of a timed notebook: the kernel's own peak resident memory (Linux reports KiB, macOS bytes).
_MEMORY_PROBE = """\
import sys as _gt_sys
try:
    import resource as _gt_resource
    _gt_kib = _gt_resource.getrusage(_gt_resource.RUSAGE_SELF).ru_maxrss
    _gt_kib /= 1024 if _gt_sys.platform == "darwin" else 1
except ImportError:  # Windows
    import psutil as _gt_psutil
    _gt_kib = _gt_psutil.Process().memory_info().peak_wset / 1024
print("GANTRANSFER_PEAK_RSS_KIB", _gt_kib)
"""
_PROBE_MARK = "GANTRANSFER_PEAK_RSS_KIB"


def _peak_from_outputs(cell) -> float | None:
    for out in cell.get("outputs", []):
        for line in str(out.get("text", "")).splitlines():
            if line.startswith(_PROBE_MARK):
                return float(line.split()[1]) / 1024
    return None


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "platform": platform.platform(), "python": platform.python_version()}


def time_notebook(path: str | os.PathLike, *, fast: bool = False, timeout: int | None = None) -> dict[str, Any]:
    """Execute one notebook top to bottom and measure it (one entry of the timings file's ``notebooks``).

    ``seconds`` runs from the start of the first cell to the end of the last (what "Run All" costs a
    student once the kernel is up); ``peak_rss_mib`` is the kernel process's peak resident memory, read by
    a cell appended at the end. A failing notebook gives ``{"seconds": None, ..., "error": "..."}``.
    """

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    n_cells = len(nb.cells)
    nb.cells.append(nbformat.v4.new_code_cell(_MEMORY_PROBE))
    starts: dict[int, float] = {}
    ends: dict[int, float] = {}
    hooks = {"on_cell_start": lambda cell, cell_index: starts.__setitem__(cell_index, time.perf_counter()),
             "on_cell_executed": lambda cell, cell_index, execute_reply: ends.__setitem__(
                 cell_index, time.perf_counter())}
    began = time.perf_counter()
    entry: dict[str, Any] = {"date": datetime.date.today().isoformat()}
    try:
        run_notebook(nb, path, fast=fast, timeout=timeout, hooks=hooks)
    except Exception as err:  # noqa: BLE001 - recorded, so that one failure does not lose the others' times
        first = str(err).strip().splitlines()
        entry.update(seconds=None, kernel_start_seconds=None, peak_rss_mib=None, slowest_cells=[],
                     error=f"{type(err).__name__}: {first[-1] if first else ''}"[:500])
        return entry
    timed = [i for i in range(n_cells) if i in starts and i in ends]
    first_start = min((starts[i] for i in timed), default=began)
    last_end = max((ends[i] for i in timed), default=first_start)
    cells = sorted(((ends[i] - starts[i], i) for i in timed), reverse=True)[:3]
    entry.update(
        seconds=round(last_end - first_start, 2),
        kernel_start_seconds=round(first_start - began, 2),
        peak_rss_mib=(round(p, 1) if (p := _peak_from_outputs(nb.cells[-1])) is not None else None),
        slowest_cells=[{"cell": i, "seconds": round(s, 2),
                        "first_line": next((ln for ln in nb.cells[i].source.splitlines() if ln.strip()), "")[:80]}
                       for s, i in cells])
    return entry


def time_notebooks(paths: Iterable[str | os.PathLike] | None = None, *, fast: bool = False,
                   timeout: int | None = None) -> dict[str, Any]:
    """Execute each notebook (default: all) one after another and measure it; the timings document.

    Args:
      paths: notebook files or names (:func:`notebook_paths`); ``None`` for all.
      fast: run them in fast mode (a smoke test of this function, not the notebooks' real times).
      timeout: per-cell limit in seconds (``None``: none).
    Returns:
      ``{"schema", "fast", "machine", "notebooks": {stem: entry}}`` (see the module docstring).
    """
    result = {"schema": SCHEMA, "fast": bool(fast), "machine": _machine(), "notebooks": {}}
    for path in notebook_paths(paths):
        result["notebooks"][path.stem] = time_notebook(path, fast=fast, timeout=timeout)
    return result


def write_timings(result: Mapping[str, Any], path: str | os.PathLike | None = None, *, merge: bool = True) -> Path:
    """Write a timings document atomically (default :data:`TIMINGS_FILE`, or :data:`FAST_TIMINGS_FILE` in fast mode).

    With ``merge``, notebooks already in the file and not in ``result`` are kept, provided the file was
    measured on the same kind of CPU in the same mode; otherwise the file is replaced.
    """
    path = Path(path) if path is not None else (FAST_TIMINGS_FILE if result.get("fast") else TIMINGS_FILE)
    doc = {**result, "notebooks": dict(result.get("notebooks", {}))}
    if merge and path.is_file():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            old = {}
        if (old.get("fast") == doc.get("fast")
                and old.get("machine", {}).get("cpu") == doc.get("machine", {}).get("cpu")):
            doc["notebooks"] = {**old.get("notebooks", {}), **doc["notebooks"]}
    doc["notebooks"] = dict(sorted(doc["notebooks"].items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def bench_notebooks(out: str | os.PathLike | None = None, *, fast: bool = False,
                    notebooks: Iterable[str | os.PathLike] | None = None,
                    timeout: int | None = None) -> dict[str, Any]:
    """``gantransfer bench --notebooks`` in one call: time the notebooks, write the file, return the document.

    Args:
      out: where to write (default :data:`TIMINGS_FILE`, or :data:`FAST_TIMINGS_FILE` with ``fast``).
      fast, notebooks, timeout: as in :func:`time_notebooks`.
    Returns:
      The document written, with ``"written_to"`` added.
    """
    result = time_notebooks(notebooks, fast=fast, timeout=timeout)
    written = write_timings(result, out)
    return {**json.loads(written.read_text()), "written_to": str(written)}


def read_timings(path: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """Per-notebook timings ``{stem: {"seconds", "peak_rss_mib", ...}}`` from the benchmark's file.

    Returns ``{}`` when the file does not exist (nothing measured yet). The document's ``machine`` and
    ``fast`` are copied into each entry. Raises ``ValueError`` on a file that is not a timings document.
    """
    path = Path(path) if path is not None else TIMINGS_FILE
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("notebooks"), dict):
        raise ValueError(f"{path} is not a notebook timings file (no 'notebooks' object)")
    out = {}
    for stem, entry in doc["notebooks"].items():
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: the entry of {stem!r} is not an object")
        out[stem] = {**entry, "machine": doc.get("machine", {}), "fast": bool(doc.get("fast", False))}
    return out


def format_seconds(seconds: float | None) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``; ``—`` for ``None``."""
    if seconds is None:
        return "—"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _time_cell(entry: Mapping[str, Any] | None) -> str:
    if not entry:
        return "not measured yet"
    if entry.get("error"):
        return "failed when last measured"
    text = format_seconds(entry.get("seconds"))
    if entry.get("peak_rss_mib") is not None:
        text += f", {entry['peak_rss_mib'] / 1024:.1f} GiB peak"
    return text


def map_markdown(timings: Mapping[str, Mapping[str, Any]] | None = None, *,
                 course: Sequence[Notebook] = COURSE) -> str:
    """The course map as a Markdown table, times from the benchmark's file (:func:`read_timings` by default)."""
    timings = read_timings() if timings is None else timings
    lines = ["| notebook | teaches | follows | assumes | time at default settings (memory) |",
             "| --- | --- | --- | --- | --- |"]
    for nb in course:
        name = f"`{nb.stem}`" + ("" if nb.path.is_file() else " (coming)")
        lines.append(f"| {name}<br>{nb.title} | {nb.teaches} | {'; '.join(nb.papers)} | {nb.assumes} | "
                     f"{_time_cell(timings.get(nb.stem))} |")
    lines.append("")
    measured = [e for e in timings.values() if e.get("seconds") is not None]
    if not measured:
        lines.append(f"Times: not measured yet: run `{BENCH_COMMAND}` (it executes every notebook at its default "
                     "settings and writes `data/bench/notebooks.json`).")
    else:
        machine = measured[0].get("machine", {})
        dates = sorted({e.get("date", "?") for e in measured})
        mode = " **in fast mode** (not the notebooks' real times)" if any(e.get("fast") for e in measured) else ""
        lines.append(f"Times: wall time of all cells (kernel start excluded) and the kernel's peak memory, measured "
                     f"by `{BENCH_COMMAND}`{mode} on {machine.get('cpu', 'an unknown CPU')} "
                     f"({machine.get('cores', '?')} cores), {' to '.join([dates[0], dates[-1]][:len(set(dates))])}.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# A class on one server.

#: A single-user JupyterLab server's own resident memory, beside its kernels: 84 MiB measured right after
#: ``jupyter lab`` started (JupyterLab 4, 2026-11-26), rounded up for its growth in a lesson.
SERVER_MIB = 128.0


def class_capacity(memory_gib: float, *, reserve_gib: float = 2.0, server_mib: float = SERVER_MIB,
                   timings: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, int]:
    """How many students one machine holds, per notebook, when every student runs it at once.

    Each student has a JupyterLab server (``server_mib``) and one kernel at the notebook's measured peak
    memory (``peak_rss_mib`` from :func:`read_timings`, i.e. from ``gantransfer bench --notebooks``);
    ``reserve_gib`` stays for the operating system and the hub. A notebook never measured is left out.

    Args:
      memory_gib: the machine's memory in GiB (> 0).
      reserve_gib: memory kept back for the system, ``>= 0`` and below ``memory_gib``.
      server_mib: one student's JupyterLab server, ``>= 0``.
      timings: ``{stem: entry}`` as :func:`read_timings` returns (default: read the benchmark's file).
    Returns:
      ``{notebook stem: students}``, in course order.
    """

    memory_gib = check_weight(memory_gib, "memory_gib", allow_zero=False)
    reserve_gib, server_mib = check_weight(reserve_gib, "reserve_gib"), check_weight(server_mib, "server_mib")
    if not reserve_gib < memory_gib:
        raise ValueError(f"memory_gib ({memory_gib}) must be more than reserve_gib ({reserve_gib})")
    timings = read_timings() if timings is None else timings
    free_mib = (memory_gib - reserve_gib) * 1024
    order = {nb.stem: i for i, nb in enumerate(COURSE)}
    capacity = {}
    for stem in sorted(timings, key=lambda s: (order.get(s, len(order)), s)):
        peak = timings[stem].get("peak_rss_mib")
        if peak is not None and not timings[stem].get("error"):
            capacity[stem] = int(free_mib // (float(peak) + server_mib))
    return capacity


def capacity_markdown(memories_gib: Sequence[float] = (16, 32, 64, 128), *,
                      timings: Mapping[str, Mapping[str, Any]] | None = None, **kwargs: Any) -> str:
    """:func:`class_capacity` for several machine sizes as a Markdown table: one row per notebook, with its
    kernel's peak memory, then the students each machine holds. ``kwargs`` go to :func:`class_capacity`."""
    timings = read_timings() if timings is None else timings
    if not memories_gib:
        raise ValueError("memories_gib is empty: name at least one machine size")
    columns = {m: class_capacity(m, timings=timings, **kwargs) for m in memories_gib}
    lines = ["| notebook | kernel peak memory | " + " | ".join(f"{m:g} GiB machine" for m in memories_gib) + " |",
             "| --- | --- | " + " | ".join("---" for _ in memories_gib) + " |"]
    for stem in columns[memories_gib[0]]:
        peak = float(timings[stem]["peak_rss_mib"])
        lines.append(f"| `{stem}` | {peak / 1024:.2f} GiB | "
                     + " | ".join(str(columns[m][stem]) for m in memories_gib) + " |")
    return "\n".join(lines)
