"""The comparison's reports: a Markdown table, a PNG grid of the pictures and a JSON record of
:class:`gantransfer.tools.compare.Comparison`, each written without overwriting unless asked.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np


def _config_summary(config) -> dict:
    return {"optimizer": config.optimizer, "scales": list(config.scales), "steps": list(config.scale_steps),
            "learning_rate": config.learning_rate, "coarse_learning_rate": config.coarse_learning_rate,
            "content_weight": config.content_weight, "style_weight": config.style_weight,
            "tv_weight": config.tv_weight}


def _fmt(value, key: str) -> str:
    if value is None:
        return "—"
    if key == "seconds":
        return f"{value:.3f}" if value < 1 else f"{value:.1f}"
    if key == "style_distance":
        return f"{value:.3g}"
    return f"{value:.3f}"


def table_markdown(results: Comparison, *, heading: bool = True) -> str:
    """The Markdown :func:`write_table` writes: means per method (skipped methods with their reason), then every pair.

    ``heading=False`` leaves out the title and the paragraph on how it was measured (for a notebook).
    """
    means = results.means()
    header = "| method | pairs | " + " | ".join(h for _, h in COLUMNS) + " |"
    rule = "|" + " --- |" * (2 + len(COLUMNS))
    lines = [f"# Style-transfer methods compared ({results.size} px, {len(results.contents)} photo(s) × "
             f"{len(results.styles)} style(s))", "",
             f"Made by `gantransfer compare` on {datetime.date.today().isoformat()} ({_machine_line()}). "
             "Content LPIPS and SSIM are measured against the photo, the Gram distance against the style "
             "(VGG16 `relu1_1 … relu4_1`); the style ratio is that distance over the photo's own (1 = not "
             "stylised). Feed-forward times are a second call (compilation excluded); optimisation times are "
             "the whole run, compilation included. See `notebooks/06_evaluation_and_scale.ipynb` for what "
             "each number can and cannot tell.", ""]
    if not heading:
        lines = []
    lines += ["## Means per method", "", header, rule]
    for method in results.methods:
        if method in results.skipped:
            lines.append(f"| `{method}` ({METHOD_LABELS[method]}) | skipped (below) |" + " — |" * len(COLUMNS))
            continue
        m = means.get(method)
        if m is None:
            continue
        lines.append(f"| `{method}` ({METHOD_LABELS[method]}) | {m['pairs']} | "
                     + " | ".join(_fmt(m[k], k) for k, _ in COLUMNS) + " |")
    for method in BASELINES:
        if method in means:
            m = means[method]
            lines.append(f"| {METHOD_LABELS[method]} | {m['pairs']} | "
                         + " | ".join(_fmt(m[k], k) for k, _ in COLUMNS) + " |")
    lines += ["", "## Every pair", "",
              "| method | content | style | " + " | ".join(h for _, h in COLUMNS) + " |",
              "|" + " --- |" * (3 + len(COLUMNS))]
    order = {m: i for i, m in enumerate((*results.methods, *BASELINES))}
    pair_index = {p: i for i, p in enumerate(results.pairs)}
    for r in sorted(results.results, key=lambda r: (pair_index[(r.content, r.style)], order[r.method])):
        name = f"`{r.method}`" if r.method in METHODS else f"({r.method})"
        lines.append(f"| {name} | {r.content} | {r.style} | " + " | ".join(_fmt(getattr(r, k), k) for k, _ in COLUMNS)
                     + " |")
    if results.skipped:
        lines += ["", "Skipped:", ""] + [f"- `{m}`: {why}." for m, why in results.skipped.items()]
    return "\n".join(lines) + "\n"


def _machine_line() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
        cpu = next((l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("model name")), "")
    except OSError:
        cpu = ""
    import platform

    return f"{cpu or platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def _check_target(path, suffixes: tuple[str, ...], overwrite: bool) -> Path:
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"{path} must end in {' or '.join(suffixes)}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    return path


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)   # atomic: never a half-written table
    return path


def write_table(results: Comparison, path_md: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write the comparison as Markdown: means per method (and the baselines), then one row per method and pair.

    Skipped methods appear in the means table with their reason. Refuses to replace an existing file
    unless ``overwrite``. Returns the path.
    """
    path = _check_target(path_md, (".md",), overwrite)
    return _write_text(path, table_markdown(results))


def grid_image(results: Comparison, *, cell: int | None = None) -> np.ndarray:
    """The grid :func:`write_grid` saves: ``[H, W, 3]`` uint8; rows = pairs; columns = photo, style, each method that ran."""
    from . import figures

    ran = results.ran()
    rows = []
    for content, style in results.pairs:
        rows.append([results.contents[content], results.styles[style],
                     *(results.result(m, content, style).image for m in ran)])
    cell = cell or int(min(max(results.size, 96), 224))
    return figures.image_grid(rows, row_labels=[f"{c}\n{s}" for c, s in results.pairs],
                              col_labels=["photo", "style", *ran], cell=cell)


def write_grid(results: Comparison, path_png: str | os.PathLike, *, overwrite: bool = False,
               cell: int | None = None) -> Path:
    """Save the images as one labelled PNG (:func:`grid_image`); refuses to replace a file unless ``overwrite``."""
    from . import images

    path = _check_target(path_png, (".png",), overwrite)
    return images.save_image(grid_image(results, cell=cell), path, overwrite=overwrite)


def write_json(results: Comparison, path_json: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Save :meth:`Comparison.to_json` (every number, no images)."""
    path = _check_target(path_json, (".json",), overwrite)
    return _write_text(path, json.dumps(results.to_json(), indent=1) + "\n")


def read_table(path_md: str | os.PathLike) -> str | None:
    """The text of a table written by :func:`write_table`, or ``None`` if there is none (the notebook shows it if present)."""
    path = Path(path_md)
    return path.read_text() if path.is_file() else None
