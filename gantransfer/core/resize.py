"""Resizing and cropping ``[H, W, 3]`` images with Lanczos filtering (PIL), in float32, values kept in [0, 1].

Used by the loaders (:mod:`gantransfer.core.images`), the bundled samples and the training pools.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image

from gantransfer.core.validate import check_size


def _check_hwc(image: Any, what: str) -> np.ndarray:
    """``image`` as a finite float32 ``[H, W, C]`` array, or a ValueError."""
    array = np.asarray(image)
    if array.ndim != 3 or 0 in array.shape:
        raise ValueError(f"{what} expects an image of shape [H, W, C]; got shape {array.shape}")
    if not (array.dtype.kind == "f" or "float" in array.dtype.name):
        raise ValueError(f"{what} expects a float image in [0, 1]; got dtype {array.dtype}")
    array = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what}: the image contains NaN or infinite values")
    return array


def _lanczos(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Lanczos-resample ``[H, W, C]`` float32 to ``[height, width, C]``, channel by channel in float."""
    if array.shape[:2] == (height, width):
        return array.copy()
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(array[:, :, c])).resize(
                (width, height), Image.Resampling.LANCZOS
            )
        )
        for c in range(array.shape[-1])
    ]
    out = np.stack(channels, axis=-1).astype(np.float32, copy=False)
    # Lanczos rings at sharp edges; keep the result inside the input's value range (e.g. [0, 1]).
    return np.clip(out, array.min(), array.max(), out=out)


def resize_longest(image: Any, size: int) -> np.ndarray:
    """Resize so the longest side is ``size`` pixels, keeping the aspect ratio (anti-aliased).

    Works for down- and up-scaling. Resampling is Lanczos in float32 (no 8-bit rounding); ringing is
    clipped to the input's value range, so an image in [0, 1] stays in [0, 1].

    Args:
      image: ``[H, W, C]`` float array (normally C = 3, values in [0, 1]).
      size: the longest side of the result, in pixels (>= 1).

    Returns:
      ``[h, w, C]`` float32 with ``max(h, w) == size``; the shorter side is rounded to the nearest
      integer, and is at least 1.
    """
    array = _check_hwc(image, "resize_longest")
    size = check_size(size, "size")
    height, width = array.shape[:2]
    scale = size / max(height, width)
    new_h = size if height >= width else max(1, math.floor(height * scale + 0.5))
    new_w = size if width >= height else max(1, math.floor(width * scale + 0.5))
    return _lanczos(array, new_h, new_w)


def resize_to(image: Any, height: int, width: int) -> np.ndarray:
    """Resize to exactly ``height`` x ``width`` pixels (anti-aliased Lanczos in float32).

    Args:
      image: ``[H, W, C]`` float array.
      height: rows of the result (>= 1).
      width: columns of the result (>= 1).

    Returns:
      ``[height, width, C]`` float32; the aspect ratio is not kept.
    """
    array = _check_hwc(image, "resize_to")
    return _lanczos(array, check_size(height, "height"), check_size(width, "width"))


def center_crop_square(image: Any) -> np.ndarray:
    """Crop the largest centred square.

    Args:
      image: ``[H, W, C]`` array.

    Returns:
      ``[S, S, C]`` array (same dtype) with ``S = min(H, W)``.
    """
    array = np.asarray(image)
    if array.ndim != 3 or 0 in array.shape:
        raise ValueError(f"center_crop_square expects shape [H, W, C]; got shape {array.shape}")
    height, width = array.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return array[top : top + side, left : left + side]
