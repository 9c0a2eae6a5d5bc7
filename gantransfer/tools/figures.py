"""Figures for the README, each made by a CLI command (``gantransfer grid``)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm.auto import tqdm

from gantransfer.core import images, resize, samples
from gantransfer.methods import registry
from gantransfer.pipeline import extractor


def image_grid(cells: Sequence[Sequence[np.ndarray]], *, row_labels: Sequence[str] = (),
               col_labels: Sequence[str] = (), cell: int = 192, pad: int = 6) -> np.ndarray:
    """Lay out ``[H, W, 3]`` float images in a labelled grid, each fitted (aspect kept) into a ``cell``² box.

    Args:
      cells: rows of images (``None`` leaves a blank cell).
      row_labels, col_labels: text left of each row / above each column (optional).
    Returns:
      ``[H, W, 3]`` uint8.
    """
    n_rows = len(cells)
    n_cols = max(len(r) for r in cells)
    if n_rows == 0 or n_cols == 0:
        raise ValueError("image_grid needs at least one image")
    font = ImageFont.load_default(size=14)
    left = 110 if row_labels else 0
    top = 22 if col_labels else 0
    sheet = Image.new("RGB", (left + n_cols * (cell + pad) + pad, top + n_rows * (cell + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for r, row in enumerate(cells):
        for c, img in enumerate(row):
            if img is None:
                continue
            fitted = resize.resize_longest(np.asarray(img, np.float32), cell)
            h, w = fitted.shape[:2]
            x0 = left + pad + c * (cell + pad) + (cell - w) // 2
            y0 = top + pad + r * (cell + pad) + (cell - h) // 2
            sheet.paste(Image.fromarray(images.to_uint8(fitted)), (x0, y0))
    for r, label in enumerate(row_labels):
        draw.text((4, top + pad + r * (cell + pad) + cell // 2 - 7), label, fill="black", font=font)
    for c, label in enumerate(col_labels):
        draw.text((left + pad + c * (cell + pad) + 2, 3), label, fill="black", font=font)
    return np.asarray(sheet)


#: The grid's photos and styles when none are given (``gantransfer grid``).
GRID_CONTENTS: tuple[str, ...] = ("astronaut", "chelsea", "coffee")
GRID_STYLES: tuple[str, ...] = ("brush_strokes", "stained_glass", "waves")


def stylize_grid(contents: Sequence[str] | None = None, styles: Sequence[str] | None = None, *,
                 method: str = "optimize", size: int = 256, output: str | Path | None = None, overwrite: bool = False,
                 config=None, decoder: str | Path | None = None, cell: int = 192) -> Path:
    """Stylise every content × style pair with ``method`` at its defaults and save a labelled grid.

    ``method`` is ``"optimize"`` (Gatys, :class:`gantransfer.methods.optimize.TransferConfig` defaults or ``config``)
    or a feed-forward generator, ``"adain"`` or ``"wct"`` with ``decoder`` (default: the shipped one), ``"gan"``
    with each style's shipped generator (every style must have one), ``"multilevel"`` with the shipped level decoders at its default ``alpha``, or
    ``"mosaic"`` (:mod:`gantransfer.methods.mosaic`; its style images are seen at :data:`gantransfer.methods.mosaic.STYLE_SCALE`
    × ``size``, as ``gantransfer stylize --method mosaic`` sees them). The first row shows the styles and the
    first column the photos, each image fitted into a ``cell``-px square. ``output`` defaults to
    ``data/figures/grid_<method>.png``.
    """
    contents = list(GRID_CONTENTS if contents is None else contents)
    styles = list(GRID_STYLES if styles is None else styles)
    output = Path(output) if output is not None else Path("data/figures") / f"grid_{method}.png"
    if output.exists() and not overwrite:
        raise FileExistsError(f"{output} exists; pass --overwrite to replace it")
    params = extractor.load_params()
    # Before minutes of work: a missing file fails now. ``"gan"`` has one generator per style.
    if registry.get(method).per_style:
        if decoder is not None:
            raise ValueError("a grid of method 'gan' uses each style's shipped generator; --decoder is for one style")
        networks = [registry.load_decoders(method, style=s) for s in styles]
    else:
        networks = [registry.load_decoders(method, decoder=decoder)] * len(styles)
    settings = dataclasses.asdict(config) if config is not None else {}
    size_of = settings.pop("size", size)
    settings.pop("style_scale", None)
    stylize = lambda content, style, net: registry.stylize(content, style, method=method, params=params,
                                                           decoders=net, **settings)
    style_side = registry.style_side(method, size_of, style_scale=config.style_scale if config else None)
    style_imgs = [samples.load_input(s, kind="style", size=style_side) for s in styles]
    rows = [[None, *style_imgs]]
    with tqdm(total=len(contents) * len(styles), desc=f"grid ({method})", unit="image") as bar:
        for name in contents:
            content = samples.load_input(name, kind="content", size=size_of)
            row = [content]
            for style, net in zip(style_imgs, networks):
                row.append(stylize(content, style, net))
                bar.update()
            rows.append(row)
    grid = image_grid(rows, row_labels=["", *contents], col_labels=["photo \\ style", *styles], cell=cell)
    return images.save_image(grid, output, overwrite=overwrite)
