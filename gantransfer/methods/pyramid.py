"""A Laplacian pyramid of an image (Burt & Adelson 1983): what the optimisation may update instead of the pixels.

Optimising the pyramid's levels moves coarse structure as easily as fine detail, so a few steps change the
whole picture, not only its high frequencies. Arrays ``[N, H, W, C]``.

Taught in ``notebooks/03_style_transfer.ipynb``.
"""
from __future__ import annotations

import jax

from gantransfer.core.validate import check_count


def pyramid_shapes(height: int, width: int, levels: int) -> tuple[tuple[int, int], ...]:
    """``(h, w)`` of each pyramid level, finest (the image's own) first; each level halves, rounding up."""
    shapes = [(int(height), int(width))]
    for _ in range(levels - 1):
        h, w = shapes[-1]
        shapes.append(((h + 1) // 2, (w + 1) // 2))
    return tuple(shapes)


def upsample(x: jax.Array, hw: tuple[int, int]) -> jax.Array:
    """``x`` ``[N, h, w, C]`` resized bilinearly to ``[N, *hw, C]``."""
    return jax.image.resize(x, (x.shape[0], *hw, x.shape[-1]), "linear")


def to_pyramid(image: jax.Array, levels: int) -> tuple[jax.Array, ...]:
    """Laplacian pyramid of ``image`` (Burt & Adelson 1983), finest level first.

    Args:
      image: ``[N, H, W, C]``.
      levels: number of levels (>= 1); level ``k`` is ``[N, ceil(H / 2^k), ceil(W / 2^k), C]``.
    Returns:
      ``(detail_0, …, detail_{L-2}, coarse)``: ``coarse`` is the image shrunk ``L - 1`` times, each
      detail level what its size adds to the level below it upsampled; :func:`from_pyramid` inverts it exactly.
    """
    if image.ndim != 4:
        raise ValueError(f"image must be [N, H, W, C]; got shape {image.shape}")
    check_count(levels, "levels")
    shapes = pyramid_shapes(image.shape[1], image.shape[2], levels)
    blurred = [image]
    for hw in shapes[1:]:
        blurred.append(jax.image.resize(blurred[-1], (image.shape[0], *hw, image.shape[-1]), "linear",
                                        antialias=True))
    details = [fine - upsample(coarse, fine.shape[1:3]) for fine, coarse in zip(blurred, blurred[1:])]
    return (*details, blurred[-1])


def from_pyramid(pyramid) -> jax.Array:
    """The image ``[N, H, W, C]`` a pyramid from :func:`to_pyramid` stands for (a bare array is returned as is).

    ``image = detail_0 + up(detail_1 + up(… + up(coarse)))`` with bilinear upsampling: linear, so the
    gradient reaching a coarse level is the fine gradient summed over the pixels it covers.
    """
    if not isinstance(pyramid, (tuple, list)):
        return pyramid
    image = pyramid[-1]
    for detail in pyramid[-2::-1]:
        image = detail + upsample(image, detail.shape[1:3])
    return image
