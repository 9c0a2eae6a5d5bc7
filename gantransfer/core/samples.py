"""Bundled sample images: content photos and procedurally generated style images.

Content photos are public-domain / CC0 colour photographs that ship with scikit-image
(``skimage.data``), stored downscaled in ``gantransfer/data/content/<name>.png``.

Style images are the project's own work, painted by the ``make_<name>(size, rng)`` functions
below from nothing but a seeded ``np.random.default_rng``, ``scipy.ndimage`` and
``PIL.ImageDraw``, so the output is byte-for-byte reproducible. They are stored in
``gantransfer/data/styles/<name>.png``; ``python -m gantransfer.core.samples`` regenerates everything in
``gantransfer/data/`` and ``python -m gantransfer.core.samples --check`` verifies the files on disk.

Every image at this API is ``[H, W, 3]``: ``uint8`` from the generators, ``float32`` in
``[0, 1]`` from :func:`content_image` and :func:`style_image`.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from pathlib import Path
from typing import Iterable, Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gantransfer.core import images, resize, resources
from gantransfer.core import noise as pn
from gantransfer.core.paint import STYLE_NAMES, STYLE_SIZE, make_style

__all__ = [
    "CONTENT_NAMES",
    "DATA_DIR",
    "DEFAULT_CONTENT",
    "DEFAULT_STYLE",
    "bundled_kind",
    "bundled_path",
    "content_image",
    "contact_sheet",
    "is_bundled",
    "load_input",
    "png_bytes",
    "regenerate_contents",
    "regenerate_styles",
    "style_image",
]

#: The package's data folder (:data:`gantransfer.core.resources.PACKAGE_DATA`): ``content/`` and ``styles/``.
DATA_DIR: Path = resources.PACKAGE_DATA

#: Colour photos from ``skimage.data`` (each name is the ``skimage.data`` function).
CONTENT_NAMES: tuple[str, ...] = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field")
DEFAULT_CONTENT = "astronaut"

#: scikit-image photos that no shipped network trained on (the decoders trained on :data:`CONTENT_NAMES` and six
#: other scikit-image photos, the generators on :data:`CONTENT_NAMES`; docs/training.md): the held-out photos of
#: notebooks 00, 05b and 06 and of ``data/bench/gan_quality.json``. Not bundled: read from ``skimage.data``.
HELD_OUT_NAMES: tuple[str, ...] = ("camera", "motorcycle_left")

Array = np.ndarray

#: Longest side of the content photos as stored in ``gantransfer/data/content``.
CONTENT_MAX_SIDE = 384


# ----------------------------------------------------------------------------- helpers


# ----------------------------------------------------------------------------- generators


DEFAULT_STYLE = "brush_strokes"


# ----------------------------------------------------------------------------- public API


def _unknown(name: object, kind: str, valid: Iterable[str]) -> ValueError:
    return ValueError(f"unknown {kind} {name!r}; valid names: {', '.join(valid)}")


def is_bundled(name: str) -> bool:
    """Whether ``name`` is a bundled content photo or style image."""
    return bundled_kind(name) is not None


def bundled_kind(name: str) -> Literal["content", "style"] | None:
    """``"content"`` or ``"style"`` for a bundled name, ``None`` otherwise."""
    if name in CONTENT_NAMES:
        return "content"
    if name in STYLE_NAMES:
        return "style"
    return None


def _resize_longest(img: Array, size: int) -> Array:
    """Resize ``[H, W, 3]`` uint8 so its longest side is ``size`` (PIL Lanczos, anti-aliased)."""
    h, w = img.shape[:2]
    if max(h, w) == size:
        return img
    scale = size / max(h, w)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(img).resize(new, Image.Resampling.LANCZOS), dtype=np.uint8)


def _check_size(size: int | None) -> None:
    if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1):
        raise ValueError(f"size must be a positive integer or None, got {size!r}")


def _read_png(path: Path) -> Array | None:
    if not path.is_file():
        return None
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _content_uint8(name: str) -> Array:
    """The content photo as stored in ``gantransfer/data/content``: ``[H, W, 3]`` uint8, longest side <= 384."""
    import skimage.data  # lazy: only when a bundled PNG is missing (scikit-image takes a second to import)

    img = np.asarray(getattr(skimage.data, name)())
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    img = np.ascontiguousarray(img[..., :3]).astype(np.uint8)
    if max(img.shape[:2]) > CONTENT_MAX_SIDE:
        img = _resize_longest(img, CONTENT_MAX_SIDE)
    return img


def held_out_photo(name: str, *, size: int | None = None) -> Array:
    """A photo no shipped network trained on (:data:`HELD_OUT_NAMES`), from ``skimage.data``.

    ``"motorcycle_left"`` is the left view of ``skimage.data.stereo_motorcycle``; grey photos get three equal
    channels.

    Args:
        name: one of :data:`HELD_OUT_NAMES`.
        size: if given, resize (Lanczos) so that the longest side is ``size`` pixels.

    Returns:
        ``[H, W, 3]`` float32 in ``[0, 1]``.
    """
    if name not in HELD_OUT_NAMES:
        raise _unknown(name, "held-out photo", HELD_OUT_NAMES)
    _check_size(size)
    import skimage.data  # lazy: scikit-image takes a second to import, and only held-out photos need it

    img = np.asarray(skimage.data.stereo_motorcycle()[0] if name == "motorcycle_left" else getattr(skimage.data, name)())
    img = np.stack([img] * 3, axis=-1) if img.ndim == 2 else img[..., :3]
    img = np.ascontiguousarray(img).astype(np.uint8)
    if size is not None:
        img = _resize_longest(img, int(size))
    return img.astype(np.float32) / 255.0


def bundled_path(name: str, kind: Literal["content", "style"]) -> Path:
    """Where a bundled image's PNG lives: ``gantransfer/data/content/<name>.png`` or ``gantransfer/data/styles/<name>.png``.

    Raises:
        ValueError: ``name`` is not one of :data:`CONTENT_NAMES` / :data:`STYLE_NAMES`.
    """
    names = CONTENT_NAMES if kind == "content" else STYLE_NAMES
    if name not in names:
        raise _unknown(name, "content image" if kind == "content" else "style", names)
    return DATA_DIR / ("content" if kind == "content" else "styles") / f"{name}.png"


def _bundled(name: str, kind: Literal["content", "style"], size: int | None) -> Array:
    """A bundled image as float32: the PNG in ``data/`` when present, else made afresh (same pixels)."""
    path = bundled_path(name, kind)
    _check_size(size)
    img = _read_png(path)
    if img is None:
        img = _content_uint8(name) if kind == "content" else make_style(name, size=STYLE_SIZE)
    if size is not None:
        img = _resize_longest(img, int(size))
    return img.astype(np.float32) / 255.0


def content_image(name: str, *, size: int | None = None) -> Array:
    """A bundled content photo.

    Reads ``gantransfer/data/content/<name>.png`` when present, else takes it from ``skimage.data``.

    Args:
        name: one of :data:`CONTENT_NAMES`.
        size: if given, resize (Lanczos) so that the longest side is ``size`` pixels.

    Returns:
        ``[H, W, 3]`` float32 in ``[0, 1]``.
    """
    return _bundled(name, "content", size)


def style_image(name: str, *, size: int | None = None) -> Array:
    """A bundled style image.

    Reads ``gantransfer/data/styles/<name>.png`` when present, else paints it with :func:`make_style`
    at 512 px (the same pixels).

    Args:
        name: one of :data:`STYLE_NAMES`.
        size: if given, resize (Lanczos) so that the longest side is ``size`` pixels.

    Returns:
        ``[H, W, 3]`` float32 in ``[0, 1]``.
    """
    return _bundled(name, "style", size)


def load_input(source, *, kind: Literal["content", "style"], size: int | None = None,
               max_size: int = 4096) -> Array:
    """A content or style image from a bundled name or anything :func:`gantransfer.core.images.load_image` takes.

    Args:
        source: a bundled name of ``kind``, a path, URL, bytes, PIL image or array.
        kind: ``"content"`` or ``"style"`` (which bundled names are accepted).
        size: if given, resize so that the longest side is ``size`` pixels.
        max_size: larger files are downscaled to this while loading.

    Returns:
        ``[H, W, 3]`` float32 in ``[0, 1]``.

    Raises:
        ValueError: for an unknown name that is not an existing file either, or a bad image.
    """

    if kind not in ("content", "style"):
        raise ValueError(f"kind must be 'content' or 'style', got {kind!r}")
    _check_size(size)
    names = CONTENT_NAMES if kind == "content" else STYLE_NAMES
    if isinstance(source, str) and source in names:
        return _bundled(source, kind, size)
    if isinstance(source, (str, Path)) and not str(source).startswith(("http://", "https://")) \
            and not Path(source).exists():
        raise ValueError(f"{source!r} is neither a bundled {kind} name nor an existing file; "
                         f"bundled {kind} names: {', '.join(names)}")
    img = images.load_image(source, max_size=max_size)
    return resize.resize_longest(img, int(size)) if size is not None else img


def png_bytes(img: Array) -> bytes:
    """Encode ``[H, W, 3]`` uint8 as PNG with fixed options (no metadata, ``optimize=False``).

    The bytes are reproducible for a given Pillow/zlib build.
    """
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img, dtype=np.uint8)).save(
        buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def _write(directory: Path, items: Iterable[tuple[str, Array]]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, img in items:
        path = directory / f"{name}.png"
        path.write_bytes(png_bytes(img))
        paths.append(path)
    return paths


def regenerate_styles(directory: Path | None = None) -> list[Path]:
    """Write every style as ``<directory>/<name>.png`` (512 px, seed 0).

    Args:
        directory: target folder; defaults to ``DATA_DIR / "styles"``.

    Returns:
        The written paths, in :data:`STYLE_NAMES` order.
    """
    directory = Path(directory) if directory is not None else DATA_DIR / "styles"
    return _write(directory, ((n, make_style(n)) for n in STYLE_NAMES))


def regenerate_contents(directory: Path | None = None) -> list[Path]:
    """Write every content photo as ``<directory>/<name>.png`` (longest side <= 384 px).

    Args:
        directory: target folder; defaults to ``DATA_DIR / "content"``.

    Returns:
        The written paths, in :data:`CONTENT_NAMES` order.
    """
    directory = Path(directory) if directory is not None else DATA_DIR / "content"
    return _write(directory, ((n, _content_uint8(n)) for n in CONTENT_NAMES))


_LABEL_H = 22
_PAD = 8


def _font(px: int):
    try:
        return ImageFont.load_default(size=px)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def contact_sheet(names: Iterable[str] | None = None, *, kind: Literal["style", "content"] = "style",
                  thumb: int = 192, columns: int = 4) -> Array:
    """A grid of thumbnails, each with its name written under it.

    With ``n`` names, ``c = min(columns, n)`` columns and ``r = ceil(n / c)`` rows, the sheet is
    ``[r * (thumb + 22 + 8) + 8, c * (thumb + 8) + 8, 3]`` uint8 (white background; each
    thumbnail fits a ``thumb`` x ``thumb`` cell, centred).

    Args:
        names: bundled names of ``kind``; defaults to all of them.
        kind: ``"style"`` or ``"content"``.
        thumb: side of a thumbnail cell in pixels (>= 16).
        columns: maximum number of columns (>= 1).

    Returns:
        ``[H, W, 3]`` uint8.
    """
    if kind not in ("style", "content"):
        raise ValueError(f"kind must be 'style' or 'content', got {kind!r}")
    valid = STYLE_NAMES if kind == "style" else CONTENT_NAMES
    names = list(valid if names is None else names)
    if not names:
        raise ValueError("names must not be empty")
    for n in names:
        if n not in valid:
            raise _unknown(n, kind, valid)
    if thumb < 16:
        raise ValueError(f"thumb must be >= 16, got {thumb!r}")
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns!r}")
    load = style_image if kind == "style" else content_image
    cols = min(columns, len(names))
    rows = math.ceil(len(names) / cols)
    cell_w, cell_h = thumb + _PAD, thumb + _LABEL_H + _PAD
    sheet = Image.new("RGB", (cols * cell_w + _PAD, rows * cell_h + _PAD), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = _font(14)
    for k, name in enumerate(names):
        r, c = divmod(k, cols)
        img = pn.to_uint8(load(name, size=thumb) * 255.0)
        h, w = img.shape[:2]
        x0, y0 = _PAD + c * cell_w, _PAD + r * cell_h
        sheet.paste(Image.fromarray(img), (x0 + (thumb - w) // 2, y0 + (thumb - h) // 2))
        text_w = draw.textlength(name, font=font)
        draw.text((x0 + (thumb - text_w) / 2, y0 + thumb + 3), name, fill=(20, 20, 20), font=font)
    return np.asarray(sheet, dtype=np.uint8)


# ----------------------------------------------------------------------------- command line


def _check(directory: Path, items: Iterable[tuple[str, Array]]) -> list[str]:
    """Names whose PNG in ``directory`` is missing or differs from a fresh generation."""
    bad = []
    for name, img in items:
        path = directory / f"{name}.png"
        if not path.is_file() or path.read_bytes() != png_bytes(img):
            bad.append(str(path))
    return bad


def main(argv: list[str] | None = None) -> int:
    """``python -m gantransfer.core.samples [--check] [--only styles|contents] [--data-dir DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m gantransfer.core.samples",
        description="Regenerate (or --check) the bundled content photos and style images in data/.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if any file differs from a fresh generation")
    parser.add_argument("--only", choices=("styles", "contents"), help="only one kind of image")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help=f"default: {DATA_DIR}")
    args = parser.parse_args(argv)
    styles_dir, content_dir = args.data_dir / "styles", args.data_dir / "content"
    do_styles, do_contents = args.only in (None, "styles"), args.only in (None, "contents")
    if args.check:
        bad = []
        if do_styles:
            bad += _check(styles_dir, ((n, make_style(n)) for n in STYLE_NAMES))
        if do_contents:
            bad += _check(content_dir, ((n, _content_uint8(n)) for n in CONTENT_NAMES))
        for path in bad:
            print(f"differs: {path}", file=sys.stderr)
        print("ok" if not bad else f"{len(bad)} file(s) differ; run python -m gantransfer.core.samples")
        return 1 if bad else 0
    written = []
    if do_styles:
        written += regenerate_styles(styles_dir)
    if do_contents:
        written += regenerate_contents(content_dir)
    for path in written:
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
