"""The comparison's reports: a Markdown table, a PNG grid of the pictures and a JSON record of
:class:`gantransfer.tools.compare.Comparison`, each written without overwriting unless asked.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from gantransfer.core import images, runtime
from gantransfer.pipeline import generator
from gantransfer.tools import compare, figures


def _fmt(value, key: str) -> str:
    if value is None:
        return "—"
    if key == "seconds":
        return f"{value:.3f}" if value < 1 else f"{value:.1f}"
    if key == "style_distance":
        return f"{value:.3g}"
    return f"{value:.3f}"


def table_markdown(results: compare.Comparison, *, heading: bool = True) -> str:
    """The Markdown :func:`write_table` writes: means per method (skipped methods with their reason), then every pair.

    ``heading=False`` leaves out the title and the paragraph on how it was measured (for a notebook).
    """
    means = results.means()
    header = "| method | pairs | " + " | ".join(h for _, h in compare.COLUMNS) + " |"
    rule = "|" + " --- |" * (2 + len(compare.COLUMNS))
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
            lines.append(f"| `{method}` ({compare.METHOD_LABELS[method]}) | skipped (below) |" + " — |" * len(compare.COLUMNS))
            continue
        m = means.get(method)
        if m is None:
            continue
        lines.append(f"| `{method}` ({compare.METHOD_LABELS[method]}) | {m['pairs']} | "
                     + " | ".join(_fmt(m[k], k) for k, _ in compare.COLUMNS) + " |")
    for method in compare.BASELINES:
        if method in means:
            m = means[method]
            lines.append(f"| {compare.METHOD_LABELS[method]} | {m['pairs']} | "
                         + " | ".join(_fmt(m[k], k) for k, _ in compare.COLUMNS) + " |")
    lines += ["", "## Every pair", "",
              "| method | content | style | " + " | ".join(h for _, h in compare.COLUMNS) + " |",
              "|" + " --- |" * (3 + len(compare.COLUMNS))]
    order = {m: i for i, m in enumerate((*results.methods, *compare.BASELINES))}
    pair_index = {p: i for i, p in enumerate(results.pairs)}
    for r in sorted(results.results, key=lambda r: (pair_index[(r.content, r.style)], order[r.method])):
        name = f"`{r.method}`" if r.method in compare.METHODS else f"({r.method})"
        lines.append(f"| {name} | {r.content} | {r.style} | " + " | ".join(_fmt(getattr(r, k), k) for k, _ in compare.COLUMNS)
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


def write_table(results: compare.Comparison, path_md: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write the comparison as Markdown: means per method (and the baselines), then one row per method and pair.

    Skipped methods appear in the means table with their reason. Refuses to replace an existing file
    unless ``overwrite``. Returns the path.
    """
    path = _check_target(path_md, (".md",), overwrite)
    return _write_text(path, table_markdown(results))


def grid_image(results: compare.Comparison, *, cell: int | None = None) -> np.ndarray:
    """The grid :func:`write_grid` saves: ``[H, W, 3]`` uint8; rows = pairs; columns = photo, style, each method that ran."""

    ran = results.ran()
    rows = []
    for content, style in results.pairs:
        rows.append([results.contents[content], results.styles[style],
                     *(results.result(m, content, style).image for m in ran)])
    cell = cell or int(min(max(results.size, 96), 224))
    return figures.image_grid(rows, row_labels=[f"{c}\n{s}" for c, s in results.pairs],
                              col_labels=["photo", "style", *ran], cell=cell)


def write_grid(results: compare.Comparison, path_png: str | os.PathLike, *, overwrite: bool = False,
               cell: int | None = None) -> Path:
    """Save the images as one labelled PNG (:func:`grid_image`); refuses to replace a file unless ``overwrite``."""

    path = _check_target(path_png, (".png",), overwrite)
    return images.save_image(grid_image(results, cell=cell), path, overwrite=overwrite)


def write_json(results: compare.Comparison, path_json: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Save :meth:`Comparison.to_json` (every number, no images)."""
    path = _check_target(path_json, (".json",), overwrite)
    return _write_text(path, json.dumps(results.to_json(), indent=1) + "\n")


def read_table(path_md: str | os.PathLike) -> str | None:
    """The text of a table written by :func:`write_table`, or ``None`` if there is none (the notebook shows it if present)."""
    path = Path(path_md)
    return path.read_text() if path.is_file() else None



# ---------------------------------------------------------------------------------------------------
# gantransfer compare

def build_parser(prog: str = "gantransfer compare") -> argparse.ArgumentParser:
    """The argument parser of ``gantransfer compare`` (also usable as a ``cli.py`` sub-parser's template)."""

    parser = argparse.ArgumentParser(
        prog=prog,
        description="Stylise photos × styles with every method (Adam, L-BFGS, AdaIN, WCT, GAN decoder) and write "
                    "a Markdown table (time, LPIPS to the photo, Gram distance to the style, SSIM), a PNG grid "
                    "and a JSON file. Methods whose decoder file is missing are reported as skipped.")
    parser.add_argument("--contents", nargs="+", default=list(compare.DEFAULT_CONTENTS), metavar="CONTENT",
                        help=f"photos: bundled names or files (default: {' '.join(compare.DEFAULT_CONTENTS)})")
    parser.add_argument("--styles", nargs="+", default=list(compare.DEFAULT_STYLES), metavar="STYLE",
                        help=f"styles: bundled names or files (default: {' '.join(compare.DEFAULT_STYLES)})")
    parser.add_argument("--size", type=int, default=compare.DEFAULT_SIZE,
                        help=f"longest side in px, a multiple of 8 (default {compare.DEFAULT_SIZE})")
    parser.add_argument("--methods", nargs="+", default=list(compare.METHODS), choices=compare.METHODS, metavar="METHOD",
                        help=f"which methods, in order (default: {' '.join(compare.METHODS)})")
    parser.add_argument("-o", "--output", default=None,
                        help="output path without suffix: writes OUTPUT.md, OUTPUT.png and OUTPUT.json "
                             f"(default {compare.DEFAULT_OUTPUT}; with --quick {compare.QUICK_OUTPUT}, in this folder)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument("--decoder", default=None,
                        help=f"decoder .npz for adain and wct (default {generator.SHIPPED_DECODER})")
    parser.add_argument("--steps", type=int, default=None,
                        help="optimisation steps for adam and lbfgs (default: optimize.TransferConfig's)")
    parser.add_argument("--no-baselines", action="store_true", help="leave out the photo and style baseline rows")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: 64 px, one photo × one style unless given, 4 optimisation steps")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run_cli(args: argparse.Namespace) -> int:
    """Run ``gantransfer compare`` from parsed arguments; raises ``ValueError`` / ``FileExistsError`` on bad input."""

    size, steps = args.size, args.steps
    contents, styles = args.contents, args.styles
    if args.quick:
        size = 64 if size == 256 else size
        steps = steps or 4
        contents = contents[:1] if contents == list(compare.DEFAULT_CONTENTS) else contents
        styles = styles[:1] if styles == list(compare.DEFAULT_STYLES) else styles
    compare.check_size(size)
    if steps is not None and steps < 1:
        raise ValueError(f"--steps must be a positive integer; got {steps}")
    out = Path(args.output or (compare.QUICK_OUTPUT if args.quick else compare.DEFAULT_OUTPUT))
    if out.suffix.lower() in (".md", ".png", ".json"):
        out = out.with_suffix("")
    targets = {s: out.with_name(out.name + s) for s in (".md", ".png", ".json")}
    for path in targets.values():   # before minutes of work
        _check_target(path, (path.suffix,), args.overwrite)
    configs = {m: compare.default_config(m, size, steps=steps) for m in compare.OPTIMIZATION if m in args.methods} if steps else None
    runtime.enable_compilation_cache()
    result = compare.compare_methods(contents, styles, size=size, methods=args.methods, configs=configs,
                             decoder=args.decoder,
                             baselines=not args.no_baselines, progress=not args.quiet)
    write_table(result, targets[".md"], overwrite=args.overwrite)
    write_json(result, targets[".json"], overwrite=args.overwrite)
    if result.ran():
        write_grid(result, targets[".png"], overwrite=args.overwrite)
        written = list(targets.values())
    else:
        written = [targets[".md"], targets[".json"]]
    for method, reason in result.skipped.items():
        print(f"skipped {method}: {reason}", file=sys.stderr)
    means = result.means()
    for method in result.ran():
        m = means[method]
        print(f"{method:>6}: {m['seconds']:8.3f} s  LPIPS {m['content_distance']:.3f}  style ratio "
              f"{m['style_ratio']:.3f}  SSIM {m['ssim']:.3f}")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``gantransfer compare``: exit code 0, or 2 with a one-line error for bad arguments or inputs."""
    parser = build_parser()
    args = parser.parse_args(argv)   # argparse prints usage errors and exits with 2
    try:
        return run_cli(args)
    except (ValueError, FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError) as err:
        print(f"gantransfer compare: error: {err}", file=sys.stderr)
        return 2
    except FloatingPointError as err:
        print(f"gantransfer compare: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gantransfer compare: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
