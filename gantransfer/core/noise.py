"""Drawing primitives of the procedural style painters (:mod:`gantransfer.core.paint`): coordinate grids,
smooth value noise, colour ramps, edges of label maps, grain. Deterministic given a seeded ``np.random.Generator``.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

Array = np.ndarray


def grid(size: int) -> tuple[Array, Array]:
    """Pixel-centre coordinates ``(y, x)``, each ``[size, size]`` float64 in ``(0, 1)``."""
    c = (np.arange(size) + 0.5) / size
    y, x = np.meshgrid(c, c, indexing="ij")
    return y, x


def normalise(a: Array) -> Array:
    """Rescale ``a`` (any shape) linearly to ``[0, 1]``."""
    lo, hi = a.min(), a.max()
    return (a - lo) / max(hi - lo, 1e-12)


def value_noise(rng: np.random.Generator, size: int, *, cells: float, octaves: int = 1,
           persistence: float = 0.5) -> Array:
    """Smooth tileable fractal noise, ``[size, size]`` float64 in ``[0, 1]``.

    ``cells`` is the number of random control points per side of the first octave (features
    about ``size / cells`` pixels wide); each further octave doubles it and scales the
    amplitude by ``persistence``. Cubic-spline upsampling keeps it deterministic.
    """
    total = np.zeros((size, size))
    amp = 1.0
    from scipy import ndimage  # lazy: as in core.paint: scipy.ndimage is ~0.15 s of every CLI start
    for octave in range(octaves):
        n = int(min(size, max(2, round(cells * 2**octave))))
        small = rng.standard_normal((n, n))
        big = ndimage.zoom(small, size / n, order=3, mode="grid-wrap", grid_mode=True)
        total += amp * big[:size, :size]
        amp *= persistence
    return normalise(total)


def noise1d(rng: np.random.Generator, size: int, *, cells: float) -> Array:
    """Smooth 1-D noise, ``[size]`` float64 in ``[0, 1]``."""
    n = int(min(size, max(2, round(cells))))
    small = rng.standard_normal(n)
    from scipy import ndimage  # lazy: as in core.paint: scipy.ndimage is ~0.15 s of every CLI start
    return normalise(ndimage.zoom(small, size / n, order=3, mode="grid-wrap", grid_mode=True)[:size])


def ramp(t: Array, colours) -> Array:
    """Map ``t`` (any shape, clipped to [0, 1]) along a piecewise-linear colour ramp -> ``[..., 3]``."""
    colours = np.asarray(colours, dtype=np.float64)
    pos = np.clip(t, 0.0, 1.0) * (len(colours) - 1)
    i = np.minimum(pos.astype(np.int64), len(colours) - 2)
    f = (pos - i)[..., None]
    return colours[i] * (1.0 - f) + colours[i + 1] * f


def to_uint8(a: Array) -> Array:
    """Round and clip a float image in 0..255 to ``uint8``."""
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def px(value: float, s: float, minimum: int = 1) -> int:
    """A length of ``value`` pixels at 512 px, scaled by ``s = size / 512``, at least ``minimum``."""
    return max(minimum, int(round(value * s)))


def edges(labels: Array) -> Array:
    """``[H, W]`` bool: pixels whose right or lower neighbour has a different label."""
    edge = np.zeros(labels.shape, dtype=bool)
    edge[:, :-1] |= labels[:, 1:] != labels[:, :-1]
    edge[:-1, :] |= labels[1:, :] != labels[:-1, :]
    return edge


def thicken(mask: Array, radius: int) -> Array:
    """Dilate a bool mask by ``radius`` pixels (a no-op for ``radius < 1``)."""
    if radius < 1:
        return mask
    from scipy import ndimage  # lazy: as in core.paint: scipy.ndimage is ~0.15 s of every CLI start
    return ndimage.binary_dilation(mask, iterations=radius)


def downsample(img: Image.Image, factor: int) -> Array:
    """Box-downsample a supersampled PIL image (integer arithmetic) -> ``uint8`` array."""
    return np.array(img.reduce(factor), dtype=np.uint8)


def grain(rng: np.random.Generator, size: int, amount: float) -> Array:
    """Paper/canvas mottling: ``[size, size, 1]`` multiplicative factor in ``1 +- amount / 2``.

    Smooth mottling only: per-pixel noise would bloat the PNGs without being visible.
    """
    return (1.0 + amount * (value_noise(rng, size, cells=4, octaves=3, persistence=0.6) - 0.5))[..., None]
