"""Where the package's own files are: bundled photos and styles, trained checkpoints, the course's notebooks.

Everything the library reads lives inside the package (``gantransfer/data/``) and is found through
:mod:`importlib.resources`, so an installed wheel works as well as a clone. The notebooks live at the top of a
clone (``notebooks/``); a wheel carries a copy under ``<prefix>/share/gantransfer/notebooks``.
"""
from __future__ import annotations

import os
import sysconfig
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np

#: The package's data folder: ``content/``, ``styles/``, ``checkpoints/`` and ``SOURCES.md``.
PACKAGE_DATA: Path = Path(str(resources.files("gantransfer") / "data"))
#: The bundled content photos (``<name>.png``).
CONTENT_DIR: Path = PACKAGE_DATA / "content"
#: The bundled procedural styles (``<name>.png``).
STYLE_DIR: Path = PACKAGE_DATA / "styles"
#: The shipped trained networks (``.npz``).
CHECKPOINT_DIR: Path = PACKAGE_DATA / "checkpoints"

#: The root of a clone (``None`` when the package is installed from a wheel, without the repository).
_CLONE = Path(__file__).resolve().parents[2]
REPOSITORY: Path | None = _CLONE if (_CLONE / "pyproject.toml").is_file() and (_CLONE / "notebooks").is_dir() else None


def read_npz(path: str | os.PathLike, *, what: str) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path`` (no pickles), for a network file's loader.

    Raises:
      FileNotFoundError: ``no {what} at PATH``.
      ValueError: one line naming the file, when it cannot be read as an ``.npz`` (damaged, truncated, not a zip).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {name: z[name] for name in z.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, KeyError) as err:
        raise ValueError(f"{what} {path} is not a readable .npz ({type(err).__name__}: {err})") from None


def checkpoint(name: str) -> Path:
    """The path of the shipped checkpoint ``name`` (e.g. ``"decoder.npz"``), whether or not it exists."""
    if not name or Path(name).name != name:
        raise ValueError(f"a checkpoint name is a file name inside the package; got {name!r}")
    return CHECKPOINT_DIR / name


def notebook_dir() -> Path:
    """The course's notebooks: ``notebooks/`` of a clone, else the copy an installed wheel put under
    ``<prefix>/share/gantransfer/notebooks``.

    Raises:
      FileNotFoundError: neither exists (the message says where it looked).
    """
    candidates = ([REPOSITORY / "notebooks"] if REPOSITORY is not None else []) + [
        Path(sysconfig.get_path("data")) / "share" / "gantransfer" / "notebooks"]
    for folder in candidates:
        if folder.is_dir() and any(folder.glob("[0-9][0-9]*_*.ipynb")):
            return folder
    raise FileNotFoundError("the course's notebooks are in none of " + ", ".join(str(c) for c in candidates))
