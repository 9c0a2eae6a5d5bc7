"""Guided Gatys: several styles, each matched only in its own region of the picture.

Spatial control in the optimisation (Gatys, Ecker, Bethge, Hertzmann & Shechtman, "Controlling Perceptual
Factors in Neural Style Transfer", CVPR 2017, §4): the picture is split into regions by soft masks, one per
style image. Region ``k``'s style target is the Gram matrix of style image ``k``; the output's matching Gram
matrix is read only where mask ``k`` is on (:func:`gantransfer.pipeline.style.masked_gram_matrix`). The content
loss is unchanged. With one mask of ones this is the plain Gatys objective.

:func:`gantransfer.methods.optimize.stylize_iter` takes ``masks=`` and uses the three functions here; the
feed-forward methods take the same ``[H, W, K]`` masks (:func:`gantransfer.pipeline.fusion.region_masks` makes
two split by an edge).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gantransfer.pipeline.style import gram_matrix, masked_gram_matrix


def check_masks(masks, height: int, width: int, n_styles: int) -> np.ndarray:
    """``masks`` checked: ``[height, width, n_styles]`` float32, finite, non-negative, never all zero at a position.

    Raises:
      ValueError: another shape, a negative or non-finite value, or a position no style paints.
    """
    masks = np.asarray(masks, np.float32)
    if masks.ndim != 3 or masks.shape[:2] != (height, width) or masks.shape[-1] != n_styles:
        raise ValueError(f"masks must be [H, W, {n_styles}] at the photo's size {(height, width)}, one per style; "
                         f"got shape {masks.shape}")
    if not np.all(np.isfinite(masks)) or masks.min() < 0:
        raise ValueError("masks must be finite and non-negative")
    if np.any(masks.sum(-1) <= 0):
        raise ValueError("masks must give every position some style (their sum is 0 somewhere)")
    if np.any(masks.reshape(-1, n_styles).max(0) <= 0):
        raise ValueError("every style needs a region: one of the masks is 0 everywhere")
    return masks


def region_targets(style_features: Sequence[Mapping[str, jax.Array]]) -> dict[str, jax.Array]:
    """The style targets of the regions: style image ``k``'s Gram matrices, stacked.

    Args:
      style_features: one ``{layer: [1, h_k, w_k, c]}`` per style image (the sizes may differ).
    Returns:
      ``{layer: [K, c, c]}``.
    """
    if not style_features:
        raise ValueError("no style features given")
    layers = tuple(style_features[0])
    return {name: jnp.concatenate([gram_matrix(feats[name]) for feats in style_features], axis=0)
            for name in layers}


def region_grams(features: jax.Array, masks: jax.Array) -> jax.Array:
    """The output's Gram matrix read in each region: ``G_k = Σ_p m_k(p) F_p F_pᵀ / Σ_p m_k(p)``.

    Args:
      features: ``[1, h, w, c]``, one picture's feature maps.
      masks: ``[K, H, W]``, one soft mask per region at any size (resized to ``h × w``).
    Returns:
      ``[K, c, c]``.
    """
    if features.ndim != 4 or features.shape[0] != 1:
        raise ValueError(f"features must be [1, h, w, c]; got {tuple(features.shape)}")
    if masks.ndim != 3:
        raise ValueError(f"masks must be [K, H, W]; got {tuple(masks.shape)}")
    return masked_gram_matrix(jnp.broadcast_to(features, (masks.shape[0], *features.shape[1:])), masks)
