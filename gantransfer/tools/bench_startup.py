"""``gantransfer bench --only startup``: where the time of a whole ``gantransfer stylize`` process goes.

A user waits for the whole command, not for the steps: the interpreter's start, the imports (JAX, Flax), VGG16's
weights, the compilation (or its retrieval from the persistent cache, :func:`gantransfer.core.runtime.
enable_compilation_cache`), the steps, the PNG, the interpreter's exit. :func:`breakdown` runs the real command
(``gantransfer.cli``'s ``stylize``) in a child process that stamps each phase, once with an empty compilation cache
(cold) and then ``repeats`` times with it filled (warm). Schema of its result::

    {"command": [str, ...], "size": int, "machine": {"nproc": int, "load_before": [1, 5, 15 min], "load_after": ...},
     "phases": ["interpreter", "imports", "images", "weights", "compile", "targets", "steps", "save", "exit"],
     "cold": {"<phase>": s, ..., "other": s, "total": s},        # one run with an empty cache
     "warm": {"<phase>": s, ..., "other": s, "total": s},        # the median of each figure over the warm runs
     "warm_runs": [{...}, ...]}

``compile`` is the time JAX spent tracing, lowering and compiling or reading compiled programs from the cache
(its ``/jax/core/compile/*`` events) or loading whole executables (:mod:`gantransfer.core.programs`), wherever it
fell; every other phase is its own span less the compilation inside it. ``targets`` is the style and content
targets (VGG16 on the style and the photo at each scale), ``steps`` the rest of the optimisation; ``other`` is what
no phase covers (argument parsing, checks). ``interpreter`` is from the spawn to the child's first line; ``exit``
from its last stamp to its end.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHASES = ("interpreter", "imports", "images", "weights", "compile", "targets", "steps", "save", "exit")
#: JAX's monitoring events that together are the compilation (or the cache's retrieval of it).
COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
                  "/jax/core/compile/backend_compile_duration",
                  "/gantransfer/programs/load")   # gantransfer.core.programs.LOAD_EVENT: a stored executable loaded


def _union_seconds(spans: list[tuple[float, float]], start: float = float("-inf"), end: float = float("inf")) -> float:
    """Seconds covered by the union of ``(start, end)`` spans, clipped to ``[start, end]`` (nested spans count once)."""
    clipped = sorted((max(a, start), min(b, end)) for a, b in spans if min(b, end) > max(a, start))
    total, reach = 0.0, float("-inf")
    for a, b in clipped:
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total


def _timed(spans: list, fn):
    """``fn`` wrapped to append its ``(start, end)`` (wall clock, as JAX's events) to ``spans``."""
    def wrapper(*args, **kwargs):
        start = time.time()
        try:
            return fn(*args, **kwargs)
        finally:
            spans.append((start, time.time()))
    wrapper.__wrapped__ = fn
    return wrapper


def child(spawned: float, started: float, argv: list[str]) -> None:
    """In the child process: run ``gantransfer <argv>`` with each phase stamped; print the phases as JSON (last line).

    The command runs as ``python -m gantransfer.cli`` would (:func:`runpy.run_module`), so its ``main`` is the real
    one; the library functions it calls are wrapped to stamp their spans first. ``spawned`` is the parent's wall
    clock when it started the process, ``started`` the child's at its first line.
    """
    spans = {name: [] for name in ("imports", "images", "weights", "targets", "stylize", "save")}
    compile_spans: list[tuple[float, float]] = []
    start = time.time()
    import runpy  # lazy: the imports below are the phase this child measures

    from jax import monitoring  # lazy: as above (JAX itself is most of the command's imports)
    from tqdm import auto  # noqa: F401  # lazy: as above (the command's progress bar)

    from gantransfer.core import images, samples  # lazy: as above
    from gantransfer.methods import optimize, registry  # lazy: as above
    from gantransfer.pipeline import extractor  # lazy: as above

    spans["imports"].append((start, time.time()))
    monitoring.register_event_time_span_listener(
        lambda event, t0, t1, **_: compile_spans.append((t0, t1)) if event in COMPILE_EVENTS else None)
    samples.load_input = _timed(spans["images"], samples.load_input)
    extractor.load_params = _timed(spans["weights"], extractor.load_params)
    optimize.make_problem = _timed(spans["targets"], optimize.make_problem)
    registry.stylize = _timed(spans["stylize"], registry.stylize)
    images.save_image = _timed(spans["save"], images.save_image)
    def report() -> None:
        own = lambda name: sum(b - a - _union_seconds(compile_spans, a, b) for a, b in spans[name])
        phases = {"interpreter": started - spawned}
        phases.update({name: own(name) for name in ("imports", "images", "weights", "targets", "save")})
        phases["compile"] = _union_seconds(compile_spans)
        phases["steps"] = own("stylize") - phases["weights"] - phases["targets"]
        phases["last_stamp"] = time.time()
        print(json.dumps(phases), flush=True)

    real_exit = os._exit

    def stamped_exit(code: int) -> None:      # the command may end its process itself (cli.main, after stylize)
        if code == 0:
            report()
        real_exit(code)

    os._exit = stamped_exit
    sys.argv = ["gantransfer", *argv]
    try:
        runpy.run_module("gantransfer.cli", run_name="__main__", alter_sys=True)
    except SystemExit as done:
        if done.code:
            raise
    report()


def run_once(argv: list[str], *, env: dict | None = None, python: str = sys.executable) -> dict:
    """One whole ``gantransfer <argv>`` process in a child that stamps its phases: ``{phase: s, "total": s}``."""
    code = ("import time; _started = time.time()\n"
            "import sys\n"
            "from gantransfer.tools import bench_startup\n"
            "bench_startup.child(float(sys.argv[1]), _started, sys.argv[2:])")
    spawned = time.time()
    proc = subprocess.run([python, "-c", code, repr(spawned), *argv], capture_output=True, text=True, env=env,
                          timeout=3600)
    ended = time.time()
    if proc.returncode != 0:
        last = ((proc.stderr or proc.stdout).strip().splitlines() or ["(no message)"])[-1]
        raise RuntimeError(f"gantransfer {' '.join(argv)} failed (exit {proc.returncode}): {last}")
    phases = json.loads(proc.stdout.strip().splitlines()[-1])
    phases["exit"] = ended - phases.pop("last_stamp")
    phases["total"] = ended - spawned
    phases["other"] = phases["total"] - sum(phases[name] for name in PHASES)
    return phases


def load() -> list[float]:
    """This machine's load averages over 1, 5 and 15 minutes (``[]`` where the system does not say)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def breakdown(*, content: str = "chelsea", style: str = "waves", size: int = 256, repeats: int = 3,
              extra: tuple[str, ...] = (), workdir: str | os.PathLike | None = None) -> dict:
    """The whole ``gantransfer stylize CONTENT STYLE --size SIZE`` process, phase by phase, cold and warm cache.

    Args:
      content, style: bundled names or files.
      size: ``--size``.
      repeats: warm runs (the medians are reported).
      extra: more arguments for ``stylize`` (e.g. the old defaults' flags).
      workdir: where the picture and the fresh compilation cache go (default: a temporary folder).
    Returns:
      the document of the module's docstring.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1; got {repeats}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(workdir or tmp)
        argv = ["stylize", content, style, "--size", str(size), "-o", str(folder / "startup.png"), "--overwrite",
                "--quiet", *extra]
        env = {**os.environ, "GANTRANSFER_CACHE": str(folder / "cache")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                          env.get("PYTHONPATH")]))
        before = load()
        cold = run_once(argv, env=env)
        warm_runs = [run_once(argv, env=env) for _ in range(repeats)]
    warm = {key: statistics.median(run[key] for run in warm_runs) for key in warm_runs[0]}
    return {"command": ["gantransfer", *argv[:5], *extra], "size": size,
            "machine": {"nproc": os.cpu_count(), "load_before": before, "load_after": load()},
            "phases": list(PHASES), "cold": cold, "warm": warm, "warm_runs": warm_runs}


def race(torch_python: str, pairs: list[tuple[str, str]], *, size: int = 256, rounds: int = 3,
         tutorial_script: str | os.PathLike, judge_script: str | os.PathLike | None = None,
         weights: str | os.PathLike, extra: tuple[str, ...] = (), label: str = "defaults",
         workdir: str | os.PathLike) -> dict:
    """The whole ``gantransfer stylize CONTENT STYLE --size SIZE [extra]`` process against the PyTorch tutorial's
    algorithm (``peer_torch_tutorial.py WEIGHTS CONTENT STYLE SIZE OUT``, in its own venv), in turns.

    For each pair (image files), one unmeasured run of ours fills the compilation cache (as any earlier run on the
    machine would have), then each of ``rounds`` rounds runs ours and the peer one after the other, under the same
    load; the medians and their ratio are reported, with the machine's load, and both pictures judged by the outside
    ``judge_script`` (``style_ratio``, ``structure``) when given. Returns ``{"size", "label", "extra", "rounds",
    "pairs": {"<content> x <style>": {"ours_s": [..], "tutorial_s": [..], "ours_median_s", "tutorial_median_s",
    "ratio", "judge": {"ours": {...}, "tutorial": {...}}, "load": [[1, 5, 15 min], ...]}}}``.
    """
    folder = Path(workdir)
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GANTRANSFER_CACHE": str(folder / "cache")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")]))
    result = {"size": size, "label": label, "extra": list(extra), "rounds": rounds, "nproc": os.cpu_count(), "pairs": {}}
    for content, style in pairs:
        name = f"{Path(content).stem} x {Path(style).stem}"
        ours_png, theirs_png = folder / f"ours_{size}_{label}.png", folder / f"tutorial_{size}.png"
        ours_cmd = [sys.executable, "-m", "gantransfer.cli", "stylize", str(content), str(style), "--size", str(size),
                    "-o", str(ours_png), "--overwrite", "--quiet", *extra]
        theirs_cmd = [torch_python, str(tutorial_script), str(weights), str(content), str(style), str(size),
                      str(theirs_png)]

        def wall(command):
            start = time.perf_counter()
            proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
            if proc.returncode != 0:
                raise RuntimeError(f"{command[:3]} failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
            return time.perf_counter() - start

        wall(ours_cmd)                                           # fills the compilation cache
        entry = {"ours_s": [], "tutorial_s": [], "load": []}
        for _ in range(rounds):
            entry["load"].append(load())
            entry["ours_s"].append(wall(ours_cmd))
            entry["tutorial_s"].append(wall(theirs_cmd))
        entry["ours_median_s"] = statistics.median(entry["ours_s"])
        entry["tutorial_median_s"] = statistics.median(entry["tutorial_s"])
        entry["ratio"] = entry["ours_median_s"] / entry["tutorial_median_s"]
        entry["paired_ratios"] = [a / b for a, b in zip(entry["ours_s"], entry["tutorial_s"])]
        if judge_script is not None:
            entry["judge"] = {}
            for who, png in (("ours", ours_png), ("tutorial", theirs_png)):
                proc = subprocess.run([sys.executable, str(judge_script), str(png), str(content), str(style)],
                                      capture_output=True, text=True, env=env, timeout=600)
                figures = json.loads(proc.stdout.strip().splitlines()[-1])
                entry["judge"][who] = {"style_ratio": figures["style_ratio"], "structure": figures["structure"]}
        result["pairs"][name] = entry
        print(json.dumps({name: entry}), flush=True)
    return result
