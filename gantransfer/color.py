"""Colour preservation: keep the content photo's colours and take only the style's luminance patterns.

Gatys, Bethge, Hertzmann & Shechtman, "Preserving Color in Neural Artistic Style Transfer", 2016: luminance-only
transfer (recombine the stylised luminance with the content's chrominance, here in YCbCr), or match the style
image's colour histogram to the content's before transfer (:func:`match_color`, their "colour histogram
matching", by mean and covariance in RGB).

Taught in ``notebooks/03_style_transfer.ipynb``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .validate import check_features

# ITU-R BT.601 luma and chroma (JPEG's YCbCr, full range, centred on 0). numpy constants: creating JAX
# arrays at import would start JAX's backend (too early for jax.distributed.initialize) and, imported
# first inside a jit trace, would leak tracers.
_RGB_TO_YCC = np.array([[0.299, 0.587, 0.114],
                        [-0.168736, -0.331264, 0.5],
                        [0.5, -0.418688, -0.081312]], np.float32)
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC).astype(np.float32)


def rgb_to_ycbcr(images: jax.Array) -> jax.Array:
    """``[..., 3]`` RGB in [0, 1] → YCbCr (Y in [0, 1], Cb and Cr in [-0.5, 0.5])."""
    return images @ _RGB_TO_YCC.T


def ycbcr_to_rgb(images: jax.Array) -> jax.Array:
    """Inverse of :func:`rgb_to_ycbcr`, ``[..., 3]``."""
    return images @ _YCC_TO_RGB.T


def luminance(images: jax.Array) -> jax.Array:
    """Luma ``Y = 0.299 R + 0.587 G + 0.114 B``: ``[..., 3]`` → ``[...]``."""
    return images @ _RGB_TO_YCC[0]


def preserve_color(stylised: jax.Array, content: jax.Array) -> jax.Array:
    """Luminance-only transfer: the stylised image's Y with the content's Cb, Cr.

    Args:
      stylised: ``[N, H, W, 3]`` (or ``[H, W, 3]``) in [0, 1].
      content: same shape as ``stylised``.
    Returns:
      ``[N, H, W, 3]`` in [0, 1], with the content's colours and the stylised image's light and texture.
    """
    stylised = check_features(stylised, "stylised")
    content = check_features(content, "content")
    if stylised.shape != content.shape:
        raise ValueError(f"stylised {stylised.shape} and content {content.shape} must have the same shape")
    ycc = rgb_to_ycbcr(content)
    ycc = ycc.at[..., 0].set(luminance(stylised))
    return jnp.clip(ycbcr_to_rgb(ycc), 0.0, 1.0)


def match_color(source: jax.Array, reference: jax.Array, *, eps: float = 1e-5) -> jax.Array:
    """Give ``source`` the colour mean and covariance of ``reference`` (a linear map in RGB).

    Used to recolour the style image with the content's palette before transfer. The map is
    ``x ↦ C_r^{1/2} C_s^{-1/2} (x - μ_s) + μ_r`` with symmetric matrix square roots.

    Args:
      source: ``[H, W, 3]`` or ``[N, H, W, 3]`` in [0, 1].
      reference: ``[H', W', 3]`` or ``[N, H', W', 3]`` in [0, 1] (any size).
      eps: regulariser added to the covariances' diagonals.
    Returns:
      ``source``'s shape, in [0, 1].
    """
    source = check_features(source, "source")
    reference = check_features(reference, "reference")

    def stats(x):
        pixels = x.reshape(-1, 3)
        mu = pixels.mean(0)
        centred = pixels - mu
        return mu, centred.T @ centred / pixels.shape[0] + eps * jnp.eye(3)

    def sqrtm(c, power):
        w, v = jnp.linalg.eigh(c)
        return (v * jnp.maximum(w, eps) ** power) @ v.T

    mu_s, cov_s = stats(source)
    mu_r, cov_r = stats(reference)
    transform = sqrtm(cov_r, 0.5) @ sqrtm(cov_s, -0.5)
    out = (source - mu_s) @ transform.T + mu_r
    return jnp.clip(out, 0.0, 1.0)
