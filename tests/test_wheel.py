"""The wheel's packaging, read from pyproject.toml without building anything (fast).

Every subpackage is found, every file the package reads (``gantransfer/data/``: photos, styles, checkpoints,
SOURCES.md) is package data, and every notebook is a data file installed where
:func:`gantransfer.core.resources.notebook_dir` looks. A new checkpoint, subpackage or notebook that the
packaging would leave out of the wheel fails here, not in a student's install. ``.ci/run`` builds the real
wheel and runs ``scripts/wheel_smoke.py`` from it.
"""
from __future__ import annotations

import fnmatch
import glob
import os
import shutil
import sysconfig
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gantransfer"
NOTEBOOKS = ROOT / "notebooks"
SKIPPED = {"__pycache__", ".ipynb_checkpoints"}


@pytest.fixture(scope="module")
def setuptools_config() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["setuptools"]


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not SKIPPED & set(p.relative_to(folder).parts))


def _globbed(patterns: list[str], root: Path) -> set[Path]:
    """The files that ``patterns`` match under ``root``, as setuptools expands them (``glob``, ``**`` recursive)."""
    return {(root / m).resolve() for pattern in patterns
            for m in glob.glob(pattern, root_dir=root, recursive=True) if (root / m).is_file()}


def test_find_covers_every_subpackage(setuptools_config):
    """``packages.find`` includes every folder of Python files under gantransfer/ (none is a namespace folder that
    setuptools' find would skip)."""
    assert "packages" not in setuptools_config or isinstance(setuptools_config["packages"], dict), \
        "[tool.setuptools] packages is a fixed list: use [tool.setuptools.packages.find]"
    find = setuptools_config["packages"]["find"]
    include, exclude = find.get("include", ["*"]), find.get("exclude", [])
    folders = sorted({p.parent for p in _files(PACKAGE) if p.suffix == ".py"})
    assert PACKAGE in folders
    for folder in folders:
        name = ".".join(folder.relative_to(ROOT).parts)
        on_its_way = [folder, *folder.parents][:len(folder.relative_to(PACKAGE).parts) + 1]   # up to gantransfer/
        assert all((f / "__init__.py").is_file() for f in on_its_way), \
            f"{name} has Python files but no __init__.py on its way: setuptools' find leaves it out of the wheel"
        assert any(fnmatch.fnmatchcase(name, pattern) for pattern in include), f"{name} is not in include={include}"
        assert not any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude), f"{name} is excluded"


def test_package_data_covers_every_data_file(setuptools_config):
    """Every file under gantransfer/ that is not Python (all of gantransfer/data/) matches a package-data pattern."""
    package_data = setuptools_config.get("package-data", {})
    patterns = package_data.get("gantransfer", []) + package_data.get("*", [])
    covered = _globbed(patterns, PACKAGE)
    data_files = [p for p in _files(PACKAGE) if p.suffix not in {".py", ".pyc"}]
    assert any(p.suffix == ".npz" for p in data_files) and any(p.suffix == ".png" for p in data_files)
    missing = [p.relative_to(ROOT).as_posix() for p in data_files if p.resolve() not in covered]
    assert not missing, (f"not in [tool.setuptools.package-data] gantransfer = {patterns}, so not in the wheel: "
                         f"{', '.join(missing)}")


def test_data_files_cover_every_notebook(setuptools_config):
    """Every file under notebooks/ is a data file of the wheel, installed under share/gantransfer/notebooks."""
    data_files = setuptools_config.get("data-files", {})
    notebooks = _files(NOTEBOOKS)
    assert sum(p.suffix == ".ipynb" for p in notebooks) >= 7
    missing = []
    for path in notebooks:
        target = "/".join(("share/gantransfer/notebooks", *path.relative_to(NOTEBOOKS).parent.parts))
        if path.resolve() not in _globbed(data_files.get(target, []), ROOT):
            missing.append(path.relative_to(ROOT).as_posix())
    assert not missing, f"not in [tool.setuptools.data-files] (so not in the wheel): {', '.join(missing)}"


def test_notebook_dir_finds_the_installed_copy(setuptools_config, monkeypatch, tmp_path):
    """Where the data-files entry installs the notebooks (``<data path>/<key>``) is where notebook_dir() looks
    when the package is installed from a wheel (no clone)."""
    from gantransfer.core import resources

    overview = (NOTEBOOKS / "00_overview.ipynb").resolve()
    (key,) = [k for k, patterns in setuptools_config["data-files"].items() if overview in _globbed(patterns, ROOT)]
    installed = tmp_path / key
    installed.mkdir(parents=True)
    for path in _globbed(setuptools_config["data-files"][key], ROOT):
        shutil.copy(path, installed)
    real_get_path = sysconfig.get_path
    monkeypatch.setattr(sysconfig, "get_path",
                        lambda name, *a, **k: str(tmp_path) if name == "data" else real_get_path(name, *a, **k))
    monkeypatch.setattr(resources, "REPOSITORY", None)
    assert resources.notebook_dir() == installed
    assert sorted(p.name for p in resources.notebook_dir().glob("*.ipynb")) == \
        sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def test_ci_smoke_tests_the_wheel():
    """.ci/run builds the wheel, installs it in a venv of its own and runs the smoke test, before the README's
    test command, which stays its last line."""
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert lines[-1] == "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
    text = "\n".join(lines[:-1])
    for step in ("-m build --wheel --outdir dist/", "pip install dist/gantransfer-*.whl", "scripts/wheel_smoke.py"):
        assert step in text, f".ci/run lacks {step!r}"
    assert os.access(ROOT / "scripts" / "wheel_smoke.py", os.R_OK)
