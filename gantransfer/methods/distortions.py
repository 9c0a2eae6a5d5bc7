"""Controlled distortions of a picture (noise, blur, shift, pixel jitter, tile shuffling, blending), with which
notebooks 02 and 06 show what each metric notices and what it misses.

Every function takes and returns ``[H, W, 3]`` float32 in [0, 1]. Taught in
``notebooks/02_style_matrix.ipynb`` (the Gram matrix of shuffled tiles) and ``06_evaluation_and_scale.ipynb``.
"""
from __future__ import annotations

import math

import numpy as np

from gantransfer.core import resize


def cover_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` resized (aspect kept) to cover ``height × width``, then centre-cropped to it: ``[height, width, 3]``.

    How a style image (or another photo) becomes comparable, pixel for pixel, with a photo of another shape.
    """

    h, w = image.shape[:2]
    scale = max(height / h, width / w)
    resized = resize.resize_to(image, max(height, math.ceil(h * scale)), max(width, math.ceil(w * scale)))
    top, left = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return np.clip(resized[top:top + height, left:left + width], 0.0, 1.0)


#: The distortions :func:`distort` makes, each with what its ``strength`` in [0, 1] means.
DISTORTIONS: dict[str, str] = {
    "noise": "Gaussian noise, σ = 0.2 × strength",
    "blur": "Gaussian blur, σ = 4 px × strength",
    "shift": "translation by 12 px × strength (edges reflected)",
    "jitter": "every pixel moved by a random offset of up to 6 px × strength (texture re-drawn, layout kept)",
    "tiles": "the image cut into n × n tiles (n = 2 … 8 with strength) and shuffled (statistics kept, layout lost)",
    "blend": "mixed with another image: (1 − 0.6 × strength) · image + 0.6 × strength · other",
}


def shuffle_tiles(image: np.ndarray, tiles: int, *, seed: int = 0) -> np.ndarray:
    """Cut ``image`` (``[H, W, 3]``) into ``tiles × tiles`` blocks and put them back in a random order.

    ``H`` and ``W`` are first cropped to multiples of ``tiles``. Every pixel is kept, only the layout
    changes: what a Gram matrix, which sums over positions, barely notices.
    """
    image = np.asarray(image, np.float32)
    if not isinstance(tiles, (int, np.integer)) or tiles < 1:
        raise ValueError(f"tiles must be a positive integer; got {tiles!r}")
    th, tw = image.shape[0] // tiles, image.shape[1] // tiles
    if th < 1 or tw < 1:
        raise ValueError(f"a {image.shape[0]}×{image.shape[1]} image cannot be cut into {tiles}×{tiles} tiles")
    blocks = [image[i * th:(i + 1) * th, j * tw:(j + 1) * tw] for i in range(tiles) for j in range(tiles)]
    order = np.random.default_rng(seed).permutation(len(blocks))
    if len(blocks) > 1 and np.all(order == np.arange(len(blocks))):
        order = np.roll(order, 1)                  # never the identity
    rows = [np.concatenate([blocks[order[i * tiles + j]] for j in range(tiles)], axis=1) for i in range(tiles)]
    return np.concatenate(rows, axis=0)


def distort(image: np.ndarray, kind: str, strength: float, *, other: np.ndarray | None = None,
            seed: int = 0) -> np.ndarray:
    """A controlled change of ``image`` (``[H, W, 3]`` in [0, 1]); ``strength`` 0 leaves it unchanged.

    ``kind`` is one of :data:`DISTORTIONS`. The result has the same shape (``"tiles"`` crops to a
    multiple of the tile count first, and is then resized back), values in [0, 1]. ``"blend"`` needs
    ``other`` (any size: it is resized to cover the image).
    """


    image = np.asarray(image, np.float32)
    if kind not in DISTORTIONS:
        raise ValueError(f"kind must be one of {', '.join(DISTORTIONS)}; got {kind!r}")
    strength = float(strength)
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1]; got {strength}")
    if strength == 0.0:
        return image.copy()
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    from scipy import ndimage  # lazy: as in core.paint: scipy.ndimage is ~0.15 s of every CLI start
    if kind == "noise":
        out = image + rng.normal(0.0, 0.2 * strength, image.shape).astype(np.float32)
    elif kind == "blur":
        out = ndimage.gaussian_filter(image, sigma=(4.0 * strength, 4.0 * strength, 0), mode="reflect")
    elif kind == "shift":
        d = max(1, round(12 * strength))
        out = np.pad(image, ((d, 0), (d, 0), (0, 0)), mode="reflect")[:h, :w]
    elif kind == "jitter":
        r = 6.0 * strength
        yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        # Smooth random offsets (correlated over ~2 px), so strokes are redrawn rather than turned to noise.
        dy = ndimage.gaussian_filter(rng.uniform(-1, 1, (h, w)), 1.0)
        dx = ndimage.gaussian_filter(rng.uniform(-1, 1, (h, w)), 1.0)
        dy, dx = r * dy / (np.abs(dy).max() + 1e-8), r * dx / (np.abs(dx).max() + 1e-8)
        coords = [np.clip(yy + dy, 0, h - 1), np.clip(xx + dx, 0, w - 1)]
        out = np.stack([ndimage.map_coordinates(image[..., c], coords, order=1) for c in range(3)], axis=-1)
    elif kind == "tiles":
        n = 2 + round(6 * strength)
        out = shuffle_tiles(image, n, seed=seed)
        if out.shape[:2] != (h, w):
            out = resize.resize_to(out, h, w)
    else:
        if other is None:
            raise ValueError("distort(..., 'blend') needs other=, the image to mix in")
        a = 0.6 * strength
        out = (1 - a) * image + a * cover_crop(np.asarray(other, np.float32), h, w)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
