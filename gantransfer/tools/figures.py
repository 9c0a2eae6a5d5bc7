"""Figures for the README, each made by a CLI command (``gantransfer grid``)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gantransfer.core import images, resize


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


def stylize_grid(contents: Sequence[str], styles: Sequence[str], *, method: str = "optimize", size: int = 256,
                 output: str | Path | None = None, overwrite: bool = False, config=None,
                 decoder: str | Path | None = None, cell: int = 192) -> Path:
    """Stylise every content × style pair with ``method`` at its defaults and save a labelled grid.

    ``method`` is ``"optimize"`` (Gatys, :class:`gantransfer.methods.optimize.TransferConfig` defaults or ``config``)
    or a feed-forward generator, ``"adain"``, ``"wct"`` or ``"gan"``, with ``decoder`` (default: the shipped
    one of that method), ``"multilevel"`` with the shipped level decoders at its default ``alpha``, or
    ``"mosaic"`` (:mod:`gantransfer.methods.mosaic`; its style images are seen at :data:`gantransfer.methods.mosaic.STYLE_SCALE`
    × ``size``, as ``gantransfer stylize --method mosaic`` sees them). The first row shows the styles and the
    first column the photos, each image fitted into a ``cell``-px square. ``output`` defaults to
    ``data/figures/grid_<method>.png``.
    """
    from tqdm.auto import tqdm

    from gantransfer.core import samples
    from gantransfer.methods import mosaic, optimize
    from gantransfer.pipeline import decoder_file, extractor, generator

    output = Path(output) if output is not None else Path("data/figures") / f"grid_{method}.png"
    if output.exists() and not overwrite:
        raise FileExistsError(f"{output} exists; pass --overwrite to replace it")
    params = extractor.load_params()
    if method == "optimize":
        config = config or optimize.TransferConfig(size=size)
        stylize = lambda content, style: optimize.stylize(content, style, config, params=params)[0]
    elif method == "mosaic":
        if decoder is not None:
            raise ValueError("the mosaic paints with the style's own patches; it takes no decoder file")
        stylize = lambda content, style: np.asarray(generator.stylize_image(params, None, content, [style],
                                                                            method=method))
    elif method == "multilevel":
        if decoder is not None:
            raise ValueError("multilevel uses the shipped level decoders; it takes no decoder file")
        decoders = decoder_file.load_level_decoders()
        stylize = lambda content, style: np.asarray(generator.stylize_image(
            params, decoders, content, [style], method=method))
    else:
        path = Path(decoder) if decoder is not None else generator.shipped_decoder_path(method)
        if not path.is_file():
            raise FileNotFoundError(f"no trained decoder at {path} for --method {method}")
        decoder_state, width = decoder_file.load_decoder(path)
        stylize = lambda content, style: np.asarray(generator.stylize_image(
            params, decoder_state, content, [style], method=method, width=width))
    style_side = round(size * mosaic.STYLE_SCALE) if method == "mosaic" else size
    style_imgs = [samples.load_input(s, kind="style", size=style_side) for s in styles]
    rows = [[None, *style_imgs]]
    with tqdm(total=len(contents) * len(styles), desc=f"grid ({method})", unit="image") as bar:
        for name in contents:
            content = samples.load_input(name, kind="content", size=size)
            row = [content]
            for style in style_imgs:
                row.append(stylize(content, style))
                bar.update()
            rows.append(row)
    grid = image_grid(rows, row_labels=["", *contents], col_labels=["photo \\ style", *styles], cell=cell)
    return images.save_image(grid, output, overwrite=overwrite)
