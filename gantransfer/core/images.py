"""Load, validate, convert, resize and save images.

Every image that enters or leaves ``gantransfer`` passes through this module. Inside the library an
image is a numpy (or JAX) array of shape ``[H, W, 3]`` (or a batch ``[N, H, W, 3]``), dtype float32,
values in ``[0, 1]``. This module turns whatever the user has -- a path, a URL, uploaded bytes, a PIL
image or an array in some other dtype or colour mode -- into that form, or explains clearly why it
cannot. Loading images is first shown in notebook ``01_content_parsing``.

Public functions:

* :func:`load_image` -- anything image-like -> ``[H, W, 3]`` float32 in [0, 1].
* :func:`check_image_array` -- validate an array already in memory.
* :func:`resize_longest`, :func:`resize_to`, :func:`center_crop_square` -- anti-aliased geometry.
* :func:`to_uint8`, :func:`save_image` -- back to 8-bit and to disk, atomically, never overwriting by
  accident.

The module does not import JAX: ``np.asarray`` already accepts JAX arrays.
"""

from __future__ import annotations

import io
import math
import os
import pathlib
import secrets
import sys
import urllib.error
import urllib.request
import warnings
from http.client import HTTPException
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from gantransfer.core import resize
from gantransfer.core.validate import check_size

__all__ = [
    "WARN_PIXELS",
    "WARN_DOWNSCALE_TO",
    "load_image",
    "check_image_array",
    "to_uint8",
    "save_image",
]

#: Images with more pixels than this, loaded without ``max_size``, are downscaled with a warning.
WARN_PIXELS = 16_000_000
#: The longest side, in pixels, that such large images are downscaled to.
WARN_DOWNSCALE_TO = 4096
#: Seconds to wait for a URL before giving up.
URL_TIMEOUT = 20.0
#: Largest download accepted from a URL, in bytes.
MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024
#: How far outside [0, 1] float values may lie (rounding error) before they are an error.
RANGE_TOLERANCE = 1e-3
#: File suffixes that :func:`save_image` writes, and the PIL format for each.
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}

_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


# ----------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------


def load_image(
    source: Any,
    *,
    max_size: int | None = None,
    min_size: int = 32,
    max_pixels: int = 40_000_000,
    name: str | None = None,
) -> np.ndarray:
    """Load an image from a path, URL, bytes, PIL image or array as RGB float32 in [0, 1].

    Conversions: the EXIF orientation of photos is applied; grey, grey+alpha, palette (with or without
    transparency), RGBA, CMYK, 1-bit, 16-bit (``I;16``, ``I;16B``, ``I``: divided by 65535) and float
    (``F``) images all become RGB. Transparent pixels are composited onto white. Of an animated image
    (GIF, APNG, WebP) only the first frame is used; a PIL image given directly is used at its current
    frame.

    Size: an image with more than ``max_pixels`` pixels is refused (so is one that PIL's own
    ``Image.MAX_IMAGE_PIXELS`` flags as a decompression bomb). If ``max_size`` is given and the longest
    side is larger, the image is downscaled (anti-aliased) so the longest side is ``max_size``. Without
    ``max_size``, an image with more than ``WARN_PIXELS`` pixels is downscaled to ``WARN_DOWNSCALE_TO``
    pixels on the longest side, with a ``UserWarning``. When downscaling, a JPEG is decoded directly
    at 1/2, 1/4 or 1/8 scale where that still leaves at least twice the target size (``Image.draft``),
    and other images are box-reduced (``Image.reduce``) before the final Lanczos step, so a big photo
    with a small ``max_size`` never occupies full-size float memory. Images are never upscaled.

    Args:
      source: one of
        - a path (``str`` or ``pathlib.Path``) to an image file;
        - an ``http://`` or ``https://`` URL (fetched with a timeout of ``URL_TIMEOUT`` seconds);
        - ``bytes`` / ``bytearray`` / ``memoryview`` holding an encoded image file (an upload);
        - a ``PIL.Image.Image``;
        - an array-like (numpy, JAX, nested lists) of shape ``[H, W]``, ``[H, W, 1]``, ``[H, W, 2]``
          (grey + alpha), ``[H, W, 3]`` or ``[H, W, 4]`` (RGBA). ``uint8`` is divided by 255,
          ``uint16`` by 65535, ``bool`` becomes 0/1; float arrays must be finite and in [0, 1] (values
          within ``RANGE_TOLERANCE`` of the range are clipped into it).
      max_size: if given, the longest side of the result is at most this many pixels.
      min_size: the shorter side must have at least this many pixels (the extractor's deepest layers
        need a few pixels to work with).
      max_pixels: images with more pixels (width * height) than this are refused.
      name: how to call the source in error messages (useful for uploads given as bytes).

    Returns:
      ``[H, W, 3]`` float32 numpy array with values in [0, 1].

    Raises:
      FileNotFoundError: the path does not exist.
      TypeError: ``source`` is none of the accepted kinds.
      ValueError: the source is empty, is not a readable image, is truncated or corrupt, is a
        decompression bomb, is too small or too large, has an unsupported shape, dtype, value range or
        colour mode, or the URL could not be fetched. The message names the source.
    """
    min_size = check_size(min_size, "min_size")
    max_pixels = check_size(max_pixels, "max_pixels")
    if max_size is not None:
        max_size = check_size(max_size, "max_size")
        if max_size < min_size:
            raise ValueError(f"max_size ({max_size}) must be at least min_size ({min_size})")
    limits = dict(max_size=max_size, min_size=min_size, max_pixels=max_pixels)

    if isinstance(source, Image.Image):
        filename = getattr(source, "filename", "")
        label = _label(name, f"PIL image '{filename}'" if filename else "PIL image")
        return _load_pil(source, label, own_image=False, **limits)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _load_bytes(bytes(source), _label(name, "image bytes"), **limits)
    if isinstance(source, str) and source.lower().startswith(("http://", "https://")):
        label = _label(name, f"image URL '{source}'")
        return _load_bytes(_fetch_url(source, label), label, **limits)
    if isinstance(source, (str, os.PathLike)):
        return _load_path(pathlib.Path(source).expanduser(), name, **limits)
    return _load_array(source, _label(name, "image array"), **limits)


def _label(name: str | None, default: str) -> str:
    return f"'{name}'" if name else default


def _fetch_url(url: str, label: str) -> bytes:
    """Download ``url``; any network failure becomes a ValueError that suggests a local file."""
    request = urllib.request.Request(url, headers={"User-Agent": "gantransfer"})
    try:
        with urllib.request.urlopen(request, timeout=URL_TIMEOUT) as response:
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except (urllib.error.URLError, HTTPException, OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise ValueError(
            f"could not download {label}: {reason}. Are you offline? "
            "Download the image yourself and pass its file path instead."
        ) from err
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise ValueError(f"{label} is larger than {MAX_DOWNLOAD_BYTES // 2**20} MiB; refused")
    return data


def _load_path(path: pathlib.Path, name: str | None, **limits: Any) -> np.ndarray:
    label = _label(name, f"image file '{path}'")
    if not path.exists():
        raise FileNotFoundError(f"{label} does not exist")
    if path.is_dir():
        raise ValueError(f"{label} is a directory, not an image file")
    if path.stat().st_size == 0:
        raise ValueError(f"{label} is empty (0 bytes)")
    with open(path, "rb") as fh:
        return _load_encoded(fh, label, **limits)


def _load_bytes(data: bytes, label: str, **limits: Any) -> np.ndarray:
    if len(data) == 0:
        raise ValueError(f"{label} is empty (0 bytes)")
    return _load_encoded(io.BytesIO(data), label, **limits)


def _load_encoded(fh: Any, label: str, **limits: Any) -> np.ndarray:
    """Open an encoded image from a binary file object and decode it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(fh)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ValueError(f"{label} is refused as a possible decompression bomb: {err}") from err
    except UnidentifiedImageError as err:
        raise ValueError(f"{label} is not a readable image (unknown or unsupported format)") from err
    except (OSError, SyntaxError, EOFError, ValueError) as err:
        raise ValueError(f"{label} could not be read (corrupt or truncated?): {err}") from err
    with img:
        return _load_pil(img, label, own_image=True, **limits)


def _check_size(width: int, height: int, label: str, *, min_size: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ValueError(
            f"{label} is {width}x{height} = {width * height:,} pixels, more than the limit "
            f"max_pixels={max_pixels:,}; resize it first or pass a larger max_pixels"
        )
    if min(width, height) < min_size:
        raise ValueError(
            f"{label} is {width}x{height} px; it needs at least {min_size} px on the shorter side"
        )


def _target_longest(width: int, height: int, label: str, max_size: int | None) -> int | None:
    """The longest side to downscale to, or None to keep the size (warns for large images)."""
    longest = max(width, height)
    if max_size is not None:
        return max_size if longest > max_size else None
    if width * height > WARN_PIXELS and longest > WARN_DOWNSCALE_TO:
        _warn(
            f"{label} is {width}x{height} = {width * height:,} pixels (more than "
            f"WARN_PIXELS={WARN_PIXELS:,}); downscaling it to {WARN_DOWNSCALE_TO} px on the longest "
            "side. Pass max_size=... to choose the size yourself."
        )
        return WARN_DOWNSCALE_TO
    return None


def _warn(message: str) -> None:
    """Issue a UserWarning attributed to the first caller outside this module."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def _load_pil(
    img: Image.Image,
    label: str,
    *,
    own_image: bool,
    max_size: int | None,
    min_size: int,
    max_pixels: int,
) -> np.ndarray:
    """Decode, orient, convert and downscale a PIL image. ``own_image``: we opened it (may draft)."""
    width, height = img.size  # From the header: nothing is decoded yet.
    _check_size(width, height, label, min_size=min_size, max_pixels=max_pixels)
    target = _target_longest(width, height, label, max_size)
    if target is not None and own_image:
        # JPEG only (a no-op elsewhere): decode at 1/2, 1/4 or 1/8 scale, still >= 2x the target.
        scale = 2 * target / max(width, height)
        img.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))
    try:
        img.load()  # Force a full decode here, so truncated files fail now with a clear message.
    except Image.DecompressionBombError as err:
        raise ValueError(f"{label} is refused as a possible decompression bomb: {err}") from err
    except (OSError, SyntaxError, EOFError, ValueError) as err:
        raise ValueError(f"{label} could not be decoded (truncated or corrupt?): {err}") from err
    try:
        img = ImageOps.exif_transpose(img)
    except Exception as err:  # A broken EXIF block should not stop an otherwise fine image.
        _warn(f"{label}: ignoring unreadable EXIF orientation ({err})")

    img = _to_rgb_or_float(img, label)  # PIL mode "RGB" (8-bit) or "F" (grey, already in [0, 1]).
    if target is not None:
        factor = max(img.size) // (2 * target)
        if factor >= 2:  # Cheap box reduction first; Lanczos does the last (at most ~2x) step.
            img = img.reduce(factor)
    array = np.asarray(img, dtype=np.float32)
    if img.mode == "RGB":
        array = array / np.float32(255)
    else:
        array = array[:, :, None]
    return _finish(array, label, target=target, min_size=min_size, max_size=max_size)


def _to_rgb_or_float(img: Image.Image, label: str) -> Image.Image:
    """An 8-bit ``RGB`` image, or for high bit depths a grey ``F`` image with values in [0, 1]."""
    mode = img.mode
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(img).astype(np.float32)
        lo, hi = float(values.min()), float(values.max())
        if lo < 0 or hi > 65535:
            raise ValueError(
                f"{label} has integer mode {mode} with values in [{lo:g}, {hi:g}]; only 16-bit "
                "values 0..65535 are supported"
            )
        return Image.fromarray(values / np.float32(65535))
    if mode == "F":
        values = _float_in_unit_range(np.asarray(img, dtype=np.float32), label)
        return Image.fromarray(values)
    try:
        if mode in _ALPHA_MODES or "transparency" in img.info:
            rgba = img.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(white, rgba).convert("RGB")
        return img.convert("RGB")
    except (ValueError, OSError) as err:
        raise ValueError(f"{label} has colour mode {mode}, which cannot be converted to RGB") from err


def _float_in_unit_range(values: np.ndarray, label: str) -> np.ndarray:
    """Check float values are finite and in [0, 1] (up to RANGE_TOLERANCE); clip them into it."""
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{label} contains NaN or infinite values")
    if values.size:
        lo, hi = float(values.min()), float(values.max())
        if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
            raise ValueError(
                f"{label} has float values in [{lo:g}, {hi:g}]; expected [0, 1] "
                "(for 0-255 data, divide by 255 or pass a uint8 array)"
            )
        if lo < 0 or hi > 1:
            values = np.clip(values, 0, 1)
    return values


def _load_array(source: Any, label: str, **limits: Any) -> np.ndarray:
    try:
        array = np.asarray(source)
    except Exception as err:
        raise TypeError(
            f"{label}: cannot use {type(source).__name__} as an image; pass a path, URL, bytes, "
            "PIL image or array"
        ) from err
    if array.dtype.kind in "OUSVMm" and "float" not in array.dtype.name or array.ndim == 0:
        raise TypeError(
            f"cannot load an image from {type(source).__name__} (dtype {array.dtype}); pass a path, "
            "URL, bytes, PIL image or array"
        )
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[-1] not in (1, 2, 3, 4):
        hint = " (a batch? pass images[0])" if array.ndim == 4 else ""
        raise ValueError(
            f"{label} must have shape [H, W], [H, W, 1], [H, W, 3] or [H, W, 4]; got shape "
            f"{array.shape}{hint}"
        )
    height, width = array.shape[:2]
    _check_size(width, height, label, min_size=limits["min_size"], max_pixels=limits["max_pixels"])
    target = _target_longest(width, height, label, limits["max_size"])

    if array.dtype == np.uint8:
        values = array.astype(np.float32) / np.float32(255)
    elif array.dtype == np.uint16:
        values = array.astype(np.float32) / np.float32(65535)
    elif array.dtype == np.bool_:
        values = array.astype(np.float32)
    elif array.dtype.kind == "f" or "float" in array.dtype.name:  # Also bfloat16 from JAX.
        values = _float_in_unit_range(array.astype(np.float32), label)
    else:
        raise ValueError(
            f"{label} has dtype {array.dtype}; use uint8 (0..255), uint16 (0..65535), bool, or float "
            "in [0, 1] (for example array.astype(np.uint8))"
        )
    if values.shape[-1] in (2, 4):  # Composite the alpha channel onto white.
        alpha = values[..., -1:]
        values = values[..., :-1] * alpha + (1 - alpha)
    return _finish(values, label, target=target, min_size=limits["min_size"],
                   max_size=limits["max_size"])


def _finish(
    values: np.ndarray, label: str, *, target: int | None, min_size: int, max_size: int | None
) -> np.ndarray:
    """Downscale ``[H, W, C]`` (C = 1 or 3) to ``target`` if needed; return ``[H, W, 3]`` float32."""
    if target is not None and max(values.shape[:2]) > target:
        values = resize.resize_longest(values, target)
        if min(values.shape[:2]) < min_size:
            h, w = values.shape[:2]
            raise ValueError(
                f"{label} is too elongated: downscaled to {w}x{h} px (longest side {target}), its "
                f"shorter side is below min_size={min_size}; pass a larger max_size or crop it"
            )
    if values.shape[-1] == 1:
        values = np.repeat(values, 3, axis=-1)
    return np.ascontiguousarray(values, dtype=np.float32)


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------


def check_image_array(image: Any, *, name: str = "image", batched: bool | None = None) -> np.ndarray:
    """Check that an in-memory image (or batch) follows the library's convention.

    Args:
      image: array-like (numpy or JAX) of shape ``[H, W, 3]`` or ``[N, H, W, 3]``, float dtype, finite,
        values in [0, 1] (values within ``RANGE_TOLERANCE`` outside are clipped into the range).
      name: what to call the array in error messages (for example ``"content"``).
      batched: ``True`` requires ``[N, H, W, 3]``, ``False`` requires ``[H, W, 3]``, ``None`` accepts
        either.

    Returns:
      The same values as a float32 numpy array of the same shape (it may share memory with ``image``).

    Raises:
      ValueError: wrong shape, non-float dtype, NaN or infinite values, or values outside [0, 1]. The
        message says what was expected and what was found.
    """
    array = np.asarray(image)
    expected = {None: "[H, W, 3] or [N, H, W, 3]", True: "[N, H, W, 3]", False: "[H, W, 3]"}[batched]
    ndims = {None: (3, 4), True: (4,), False: (3,)}[batched]
    if array.ndim not in ndims:
        raise ValueError(f"{name} must have shape {expected}; got shape {array.shape}")
    if array.shape[-1] != 3:
        raise ValueError(
            f"{name} must have 3 colour channels (RGB) in the last axis, shape {expected}; got shape "
            f"{array.shape}" + (" (drop or composite the alpha channel first: load_image does this)"
                                if array.shape[-1] == 4 else "")
        )
    if 0 in array.shape:
        raise ValueError(f"{name} is empty: shape {array.shape}")
    if not (array.dtype.kind == "f" or "float" in array.dtype.name):
        raise ValueError(
            f"{name} must be a float array with values in [0, 1]; got dtype {array.dtype} "
            "(convert with load_image, or divide uint8 data by 255)"
        )
    array = array.astype(np.float32, copy=False)
    n_nan = int(np.isnan(array).sum())
    n_inf = int(np.isinf(array).sum())
    if n_nan or n_inf:
        raise ValueError(f"{name} contains {n_nan} NaN and {n_inf} infinite values")
    lo, hi = float(array.min()), float(array.max())
    if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        raise ValueError(f"{name} must have values in [0, 1]; got values in [{lo:g}, {hi:g}]")
    if lo < 0 or hi > 1:
        array = np.clip(array, 0, 1)
    return array


# ----------------------------------------------------------------------------------------------
# Geometry
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------


def to_uint8(image: Any) -> np.ndarray:
    """Convert a float image in [0, 1] to uint8 (rounded, clipped).

    Args:
      image: ``[H, W, 3]`` or ``[1, H, W, 3]`` float array in [0, 1] (values outside are clipped), or
        uint8 (returned unchanged).

    Returns:
      ``[H, W, 3]`` uint8 array (a batch of one is squeezed).
    """
    array = np.asarray(image)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3 or array.shape[-1] != 3 or 0 in array.shape:
        raise ValueError(f"expected an image of shape [H, W, 3] or [1, H, W, 3]; got shape "
                         f"{np.shape(image)}")
    if array.dtype == np.uint8:
        return array
    if not (array.dtype.kind == "f" or "float" in array.dtype.name):
        raise ValueError(f"expected a float image in [0, 1] or uint8; got dtype {array.dtype}")
    array = array.astype(np.float32, copy=False)
    if np.isnan(array).any():
        raise ValueError("the image contains NaN values; it cannot be converted or saved")
    return np.rint(np.clip(array, 0, 1) * 255).astype(np.uint8)


def save_image(
    image: Any, path: str | os.PathLike, *, overwrite: bool = False, quality: int = 95
) -> pathlib.Path:
    """Save an image as PNG or JPEG (chosen by the suffix), atomically and without clobbering.

    The image is written to a temporary file in the target directory and moved into place with
    ``os.replace``, so a failure (full disk, no permission, interrupt) never leaves a partial file.
    Missing parent directories are created.

    Args:
      image: ``[H, W, 3]`` or ``[1, H, W, 3]``, float in [0, 1] or uint8.
      path: destination ending in ``.png``, ``.jpg`` or ``.jpeg`` (any case).
      overwrite: replace an existing file. Without it an existing file is an error.
      quality: JPEG quality, 1..100 (ignored for PNG).

    Returns:
      The path written, as a ``pathlib.Path``.

    Raises:
      ValueError: unsupported suffix, bad quality, bad shape or dtype, NaN values.
      FileExistsError: the file exists and ``overwrite`` is False.
      OSError: (including PermissionError) the file could not be written; the message names the path.
    """
    path = pathlib.Path(path).expanduser()
    fmt = SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"cannot save '{path}': unsupported suffix {path.suffix!r}; use one of "
            f"{', '.join(SAVE_FORMATS)}"
        )
    quality = check_size(quality, "quality")
    if quality > 100:
        raise ValueError(f"quality must be between 1 and 100; got {quality}")
    pil = Image.fromarray(to_uint8(image))
    if path.is_dir():
        raise IsADirectoryError(f"cannot save image to '{path}': it is a directory")
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"'{path}' already exists; pass overwrite=True to replace it, or choose another name"
        )

    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # 0o666 minus the umask: the same permissions a plain open() would give.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as fh:
            options = {"quality": quality} if fmt == "JPEG" else {}
            pil.save(fh, format=fmt, **options)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        _remove_quietly(tmp)
        message = f"could not save image to '{path}': {err.strerror or err}"
        if err.errno is None:
            raise OSError(message) from err
        raise type(err)(err.errno, message) from err
    except BaseException:
        _remove_quietly(tmp)
        raise
    return path


def _remove_quietly(path: pathlib.Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
