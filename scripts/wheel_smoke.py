"""Smoke test of an installed wheel: run it with the python of a venv that has ``pip install gantransfer-*.whl``.

    python3 -m build --wheel --outdir dist/
    python3 -m venv .venv-wheel && .venv-wheel/bin/pip install dist/gantransfer-*.whl
    .venv-wheel/bin/python scripts/wheel_smoke.py

It works in a temporary folder outside the repository (so the clone cannot be imported) and checks, one line
each, that

* ``gantransfer`` is imported from this interpreter's site-packages, not from a clone (an editable install);
* the bundled photos, styles and checkpoints are in the installed package (every file of the clone's
  ``gantransfer/data/`` when the script runs from a clone), and each one reads;
* ``gantransfer stylize astronaut waves --size 64`` writes a valid PNG with every ``--method`` that
  ``gantransfer stylize --help`` lists (``optimize`` with ``--steps 2``);
* the notebooks are installed where :func:`gantransfer.core.resources.notebook_dir` finds them (00 … 06);
* notebook 00 executes top to bottom in fast mode (``GANTRANSFER_FAST=1``) in a kernel of this interpreter,
  with :func:`gantransfer.tools.course.run_notebook`, as the tests run the notebooks.

Exit code 0 when every check passed, 1 otherwise; each failure is one line starting ``FAIL``. The temporary
folder (outputs, and the full output of a failed command) is removed after a clean run and kept otherwise.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import traceback
from pathlib import Path

#: The clone this script lives in, if it does (only to compare the installed files with it; never imported).
CLONE = Path(__file__).resolve().parents[1]
if not (CLONE / "pyproject.toml").is_file():
    CLONE = None

#: Each stylize call and the notebook have this long (seconds) before they count as failed.
TIMEOUT = 900
CONTENT, STYLE, SIZE = "astronaut", "waves", 64
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

failures: list[str] = []


def ok(check: str, detail: str) -> None:
    print(f"ok    {check}: {detail}", flush=True)


def fail(check: str, detail: str) -> None:
    failures.append(check)
    print(f"FAIL  {check}: {detail}", flush=True)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b")
_NOISE = ("For simplicity, JAX has removed", "-----", "[IPKernelApp]")


def last_line(text: str) -> str:
    """The clearest line of a failed command's output: the last exception line of a traceback (JAX's note
    after it skipped), else the last line (an argparse ``error:``)."""
    lines = [line for line in (_ANSI.sub("", raw).strip() for raw in text.splitlines())
             if line and not line.startswith(_NOISE)]
    for line in reversed(lines):
        if _EXCEPTION.match(line):
            return line
    return lines[-1] if lines else "(no output)"


def inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def child_env() -> dict[str, str]:
    """The environment of the commands: nothing that could put the clone on their path."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("GANTRANSFER_FAST", None)
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return env


def check_import() -> bool:
    """``gantransfer`` comes from this interpreter's site-packages. Returns False when nothing else can be checked."""
    site = {Path(sysconfig.get_path(key)) for key in ("purelib", "platlib")}
    try:
        import gantransfer
    except Exception as exc:  # noqa: BLE001 - any import failure is the finding
        fail("import", f"import gantransfer failed: {type(exc).__name__}: {exc}")
        return False
    where = Path(gantransfer.__file__).resolve().parent
    if CLONE is not None and where == (CLONE / "gantransfer").resolve():   # the clone's source, not a venv in it
        fail("import", f"gantransfer is imported from the clone ({where}), not an installed wheel: run this script "
                       f"with the python of a venv where the wheel is installed (pip install dist/gantransfer-*.whl)")
        return False
    if not any(inside(where, s) for s in site):
        fail("import", f"gantransfer is imported from {where}, outside this interpreter's site-packages "
                       f"({', '.join(sorted(map(str, site)))})")
        return False
    from importlib.metadata import version

    ok("import", f"gantransfer {version('gantransfer')} from {where}")
    return True


def check_data() -> None:
    """The bundled photos, styles and checkpoints are installed, found through resources, and each one reads."""
    import numpy as np
    from PIL import Image

    from gantransfer.core import resources

    data = resources.PACKAGE_DATA
    installed = {p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    problems = []
    if CLONE is not None and (CLONE / "gantransfer" / "data").is_dir():
        source = CLONE / "gantransfer" / "data"
        expected = {p.relative_to(source).as_posix() for p in source.rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts}
        if missing := sorted(expected - installed):
            problems.append(f"{len(missing)} file(s) of gantransfer/data missing from the wheel: {', '.join(missing)}")
    for folder, kind in ((resources.CONTENT_DIR, "photos"), (resources.STYLE_DIR, "styles"),
                         (resources.CHECKPOINT_DIR, "checkpoints")):
        if not folder.is_dir() or not any(folder.iterdir()):
            problems.append(f"no {kind} in {folder}")
    for name, folder in ((CONTENT, resources.CONTENT_DIR), (STYLE, resources.STYLE_DIR)):
        if not (folder / f"{name}.png").is_file():
            problems.append(f"{folder / (name + '.png')} is missing")
    images = sorted(resources.CONTENT_DIR.glob("*.png")) + sorted(resources.STYLE_DIR.glob("*.png"))
    for path in images:
        try:
            with Image.open(path) as im:
                im.load()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{path.name} does not read: {exc}")
    checkpoints = sorted(resources.CHECKPOINT_DIR.glob("*.npz"))
    for path in checkpoints:
        if resources.checkpoint(path.name) != path:
            problems.append(f"resources.checkpoint({path.name!r}) is not {path}")
        try:
            with np.load(path, allow_pickle=False) as z:
                for key in z.files:
                    z[key]
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{path.name} does not read: {exc}")
    if problems:
        fail("data", "; ".join(problems))
    else:
        ok("data", f"{len(images)} images and {len(checkpoints)} checkpoints ({', '.join(p.name for p in checkpoints)}) "
                   f"in {data}")


def stylize_methods(cli: Path, work: Path) -> list[str] | None:
    """The ``--method`` choices that ``gantransfer stylize --help`` lists (``None`` after a failure)."""
    try:
        run = subprocess.run([str(cli), "stylize", "--help"], cwd=work, env=child_env(), capture_output=True,
                             text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        fail("stylize --help", f"no answer in {TIMEOUT} s")
        return None
    (work / "stylize_help.log").write_text(run.stdout + run.stderr)
    if run.returncode != 0:
        fail("stylize --help", f"exit {run.returncode}: {last_line(run.stderr or run.stdout)}")
        return None
    match = re.search(r"--method\s+\{([^}]*)\}", run.stdout)
    if not match:
        fail("stylize --help", "no '--method {...}' choices in its output")
        return None
    methods = [m.strip() for m in match.group(1).split(",") if m.strip()]
    ok("stylize --help", f"--method {' '.join(methods)}")
    return methods


def check_stylize(cli: Path, work: Path, method: str) -> None:
    """``gantransfer stylize`` with ``method`` writes a valid PNG."""
    from PIL import Image

    check = f"stylize --method {method}"
    out = work / f"out_{method}.png"
    command = [str(cli), "stylize", CONTENT, STYLE, "--size", str(SIZE), "-o", out.name, "--method", method]
    if method == "optimize":
        command += ["--steps", "2"]
    start = time.perf_counter()
    try:
        run = subprocess.run(command, cwd=work, env=child_env(), capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        fail(check, f"no answer in {TIMEOUT} s")
        return
    seconds = time.perf_counter() - start
    (work / f"out_{method}.log").write_text(run.stdout + run.stderr)
    if run.returncode != 0:
        fail(check, f"exit {run.returncode} after {seconds:.0f} s: {last_line(run.stderr or run.stdout)}")
        return
    if not out.is_file():
        fail(check, f"exit 0 but no {out.name} was written")
        return
    try:
        if out.read_bytes()[:8] != PNG_SIGNATURE:
            raise ValueError("no PNG signature")
        with Image.open(out) as im:
            im.verify()
        with Image.open(out) as im:
            im.load()
            shape = f"{im.width}x{im.height} {im.mode}"
    except Exception as exc:  # noqa: BLE001
        fail(check, f"{out.name} is not a valid PNG: {exc}")
        return
    ok(check, f"{out.name} ({shape}) in {seconds:.0f} s")


def check_notebook_dir() -> Path | None:
    """The notebooks are installed where resources.notebook_dir() finds them, 00 … 06 (the clone's, if any)."""
    from gantransfer.core import resources

    try:
        folder = resources.notebook_dir()
    except FileNotFoundError as exc:
        fail("notebooks", str(exc))
        return None
    if CLONE is not None and folder.resolve() == (CLONE / "notebooks").resolve():
        fail("notebooks", f"resources.notebook_dir() is the clone's {folder}, not the wheel's copy")
        return None
    names = sorted(p.name for p in folder.glob("[0-9][0-9]*_*.ipynb"))
    missing = sorted({f"{i:02d}" for i in range(7)} - {n[:2] for n in names})
    if CLONE is not None and (CLONE / "notebooks").is_dir():
        missing += sorted({p.name for p in (CLONE / "notebooks").glob("[0-9][0-9]*_*.ipynb")} - set(names))
    if missing:
        fail("notebooks", f"missing from {folder}: {', '.join(missing)}")
        return None
    ok("notebooks", f"{len(names)} in {folder} ({names[0][:2]} … {names[-1][:2]})")
    return folder


_PROBE = "import sys, gantransfer\nprint('GANTRANSFER_SMOKE', sys.executable, gantransfer.__file__)\n"


def check_notebook_00(folder: Path, work: Path) -> None:
    """Notebook 00, copied to a student's folder, executes in fast mode in a kernel of this interpreter."""
    check = "notebook 00 (fast)"
    try:
        import nbformat

        from gantransfer.tools import course
    except Exception as exc:  # noqa: BLE001
        fail(check, f"cannot import what runs it: {type(exc).__name__}: {exc}")
        return
    copy = work / "notebooks"
    shutil.copytree(folder, copy)
    path = next(copy.glob("00_*.ipynb"))
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_PROBE))
    # Kernel specs of this interpreter only: none from the user's ~/.local/share/jupyter.
    os.environ["JUPYTER_DATA_DIR"] = str(work / "jupyter")
    os.environ.pop("PYTHONPATH", None)
    start = time.perf_counter()
    # The kernel writes its warnings to the stderr it inherits: to a log, not between these lines.
    sys.stderr.flush()
    saved = os.dup(2)
    with open(work / "notebook_00.kernel.log", "wb") as log:
        os.dup2(log.fileno(), 2)
        try:
            course.run_notebook(nb, path, fast=True, timeout=TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - CellExecutionError, a dead kernel, a missing kernel spec
            error = exc
            (work / "notebook_00.log").write_text(traceback.format_exc())
        else:
            error = None
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
    if error is not None:
        fail(check, f"{type(error).__name__} after {time.perf_counter() - start:.0f} s: {last_line(str(error))}")
        return
    seconds = time.perf_counter() - start
    nbformat.write(nb, work / "notebook_00.executed.ipynb")
    text = "".join(out.get("text", "") for out in nb.cells[-1].get("outputs", []))
    match = re.search(r"GANTRANSFER_SMOKE (\S+) (\S+)", text)
    if not match:
        fail(check, "the kernel did not say which python and gantransfer it ran")
        return
    executable, module = Path(match.group(1)), Path(match.group(2))
    if not inside(module, Path(sys.prefix)) or (CLONE is not None and inside(module, CLONE / "gantransfer")):
        fail(check, f"the kernel ran {executable} with gantransfer from {module}, not this venv's ({sys.prefix})")
        return
    ok(check, f"{len(nb.cells) - 1} cells in {seconds:.0f} s, kernel {executable}")


def main() -> int:
    start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="gantransfer-wheel-smoke-"))
    os.chdir(work)  # nothing of the clone on the path: not the cwd, and not sys.path[0] (scripts/)
    if CLONE is not None:
        # the clone's own folders (its root, scripts/), not a venv that happens to live inside it (.venv-wheel)
        source = {CLONE.resolve(), (CLONE / "scripts").resolve()}
        sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in source]
    print(f"wheel smoke test: python {sys.executable}, working in {work}", flush=True)
    if check_import():
        check_data()
        cli = Path(sys.executable).parent / ("gantransfer.exe" if os.name == "nt" else "gantransfer")
        if not cli.is_file():
            fail("console script", f"no {cli}: the wheel's [project.scripts] entry was not installed")
        else:
            ok("console script", str(cli))
            for method in stylize_methods(cli, work) or []:
                check_stylize(cli, work, method)
        folder = check_notebook_dir()
        if folder is not None:
            check_notebook_00(folder, work)
    seconds = time.perf_counter() - start
    if failures:
        print(f"wheel smoke test FAILED ({', '.join(failures)}) in {seconds:.0f} s; outputs and logs kept in {work}",
              flush=True)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print(f"wheel smoke test passed in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
