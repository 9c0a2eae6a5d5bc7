"""Fusion (融合) in feature space: give the content's feature maps the style's statistics.

Two ways, from the first to the second order of the style matrix:

* **AdaIN** (Huang & Belongie 2017): normalise each content channel to zero mean and unit std, then scale
  and shift it to the style channel's std and mean: ``t = σ(s) (c - μ(c)) / σ(c) + μ(s)``.
* **WCT** (Li et al. 2017): whiten the content features (their covariance becomes the identity), then
  colour them with the style's covariance: ``t = E_s D_s^{1/2} E_s^T · E_c D_c^{-1/2} E_c^T (c - μ_c) + μ_s``,
  so the fused features have exactly the style's covariance, i.e. its centred style matrix.

Both are pure, jit-safe functions of ``[N, h, w, c]`` features. A decoder turns the fused features back
into an image (:mod:`gantransfer.pipeline.generator`): ``I_s = G(I_c, S)``.

Taught in ``notebooks/04_fusion.ipynb``.
"""
from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gantransfer.core.validate import check_features, check_weight
from gantransfer.pipeline.style import feature_mean_std


def _check_pair(content, style):
    content = check_features(content, "content features")
    style = check_features(style, "style features")
    if content.shape[-1] != style.shape[-1]:
        raise ValueError(f"content features have {content.shape[-1]} channels, style features {style.shape[-1]}")
    if content.ndim != 4 or style.ndim != 4:
        raise ValueError(f"features must be [N, h, w, c]; got {content.shape} and {style.shape}")
    return content, style


def _blend(fused, content, alpha):
    alpha = check_weight(alpha, "alpha")
    if isinstance(alpha, float) and alpha > 1:
        raise ValueError(f"alpha must be in [0, 1]; got {alpha}")
    return alpha * fused + (1.0 - alpha) * content


def adain(content: jax.Array, style: jax.Array, *, alpha: float = 1.0, eps: float = 1e-5) -> jax.Array:
    """Adaptive instance normalisation of content features to the style's per-channel mean and std.

    Args:
      content: ``[N, h, w, c]`` content features.
      style: ``[N or 1, h', w', c]`` style features (any spatial size).
      alpha: content–style trade-off in [0, 1]; 0 returns ``content`` unchanged.
      eps: variance regulariser.
    Returns:
      ``[N, h, w, c]`` whose per-channel mean/std equal the style's (for ``alpha = 1``).
    References:
      Huang & Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization", ICCV 2017.
    """
    content, style = _check_pair(content, style)
    c_mean, c_std = feature_mean_std(content, eps=eps)                      # [N, c]
    s_mean, s_std = feature_mean_std(style, eps=eps)                        # [N or 1, c]
    normalised = (content - c_mean[:, None, None]) / c_std[:, None, None]   # [N, h, w, c]
    fused = normalised * s_std[:, None, None] + s_mean[:, None, None]
    return _blend(fused, content, alpha)


def _sym_power(cov: jax.Array, power: float, eps: float) -> jax.Array:
    """``cov^power`` of symmetric PSD matrices ``[N, c, c]`` by eigendecomposition (eigenvalues floored)."""
    values, vectors = jnp.linalg.eigh(cov)                                   # [N, c], [N, c, c]
    values = jnp.maximum(values, eps) ** power
    return jnp.einsum("nij,nj,nkj->nik", vectors, values, vectors)


def wct(content: jax.Array, style: jax.Array, *, alpha: float = 1.0, eps: float = 1e-5) -> jax.Array:
    """Whitening and colouring transform: give the content features the style's mean and covariance.

    Args:
      content: ``[N, h, w, c]``.
      style: ``[N or 1, h', w', c]``.
      alpha: content–style trade-off in [0, 1].
      eps: floor of the covariance eigenvalues (and added to the diagonal), for stability.
    Returns:
      ``[N, h, w, c]`` with (for ``alpha = 1``) the style's channel covariance and mean.
    References:
      Li, Fang, Yang, Wang, Lu & Yang, "Universal Style Transfer via Feature Transforms", NeurIPS 2017.
    """
    content, style = _check_pair(content, style)
    n, h, w, c = content.shape
    fc = content.reshape(n, h * w, c)                                        # [N, hw, c]
    fs = style.reshape(style.shape[0], -1, c)                                # [N', h'w', c]
    mu_c, mu_s = fc.mean(1, keepdims=True), fs.mean(1, keepdims=True)
    fc, fs = fc - mu_c, fs - mu_s
    eye = jnp.eye(c, dtype=content.dtype)
    cov_c = jnp.einsum("npi,npj->nij", fc, fc) / (h * w) + eps * eye        # [N, c, c]
    cov_s = jnp.einsum("npi,npj->nij", fs, fs) / fs.shape[1] + eps * eye     # [N', c, c]
    whiten = _sym_power(cov_c, -0.5, eps)
    colour = _sym_power(cov_s, 0.5, eps)
    transform = jnp.einsum("nij,njk->nik", jnp.broadcast_to(colour, whiten.shape), whiten)
    fused = jnp.einsum("npj,nij->npi", fc, transform) + mu_s                 # [N, hw, c]
    return _blend(fused.reshape(n, h, w, c), content, alpha)


FUSIONS = {"adain": adain, "wct": wct}


def fuse(content: jax.Array, styles: Sequence[jax.Array], *, method: str = "adain", alpha: float = 1.0,
         weights: Sequence[float] | None = None, masks: jax.Array | None = None) -> jax.Array:
    """Fuse content features with one or several styles: interpolation by weight, or by spatial masks.

    Args:
      content: ``[N, h, w, c]``.
      styles: a list of ``[1 or N, h', w', c]`` style features.
      method: ``"adain"`` or ``"wct"``.
      alpha: content–style trade-off in [0, 1] (applied after mixing).
      weights: one non-negative weight per style (normalised to sum 1); default equal.
      masks: optional ``[N, h, w, len(styles)]`` (or ``[h, w, K]``) soft masks, one per style, that place
        each style in a region (Huang & Belongie 2017, spatial control). Masks are normalised to sum 1
        at each position; ``weights`` then must be ``None``.
    Returns:
      ``[N, h, w, c]``.
    """
    if method not in FUSIONS:
        raise ValueError(f"method must be one of {sorted(FUSIONS)}; got {method!r}")
    if not styles:
        raise ValueError("no style features given")
    fused = [FUSIONS[method](content, s) for s in styles]                    # K × [N, h, w, c]
    if masks is None:
        return mix(content, fused, weights=weights, alpha=alpha)
    if weights is not None:
        raise ValueError("give either style weights or masks, not both")
    return mix_by_masks(content, fused, masks, alpha=alpha)


def mix_by_masks(content: jax.Array, fused: Sequence[jax.Array], masks: jax.Array, *, alpha: float = 1.0) -> jax.Array:
    """Blend already fused features by region: ``α · Σ_k M_k(p) T_k(p) + (1 − α) · c(p)`` at each position ``p``.

    The spatial control of Huang & Belongie 2017 (§7): style ``k`` paints where its mask ``M_k`` is high. The masks
    are resized to the features' grid (bilinear) and normalised to sum 1 at each position.

    Args:
      content: ``[N, h, w, c]`` content features ``c``.
      fused: ``K`` fused features ``T_k``, each ``[N, h, w, c]`` (a list, or one ``[K, N, h, w, c]`` array).
      masks: ``[N, H, W, K]`` or ``[H, W, K]`` non-negative soft masks, one channel per style, at any size
        (e.g. the photo's: :func:`region_masks`).
      alpha: content–style trade-off in [0, 1].
    Returns:
      ``[N, h, w, c]``.
    """
    stacked = jnp.stack(list(fused), axis=-1) if not hasattr(fused, "ndim") else jnp.moveaxis(fused, 0, -1)
    masks = check_features(masks, "masks")                                   # [N, h, w, c, K] above
    if masks.ndim == 3:
        masks = masks[None]
    if masks.shape[-1] != stacked.shape[-1]:
        raise ValueError(f"masks have {masks.shape[-1]} channels for {stacked.shape[-1]} styles")
    if masks.shape[1:3] != content.shape[1:3]:
        masks = jax.image.resize(masks, (masks.shape[0], *content.shape[1:3], masks.shape[-1]), "linear")
    masks = masks / jnp.maximum(masks.sum(-1, keepdims=True), 1e-6)
    mixed = jnp.einsum("nhwck,nhwk->nhwc", stacked, jnp.broadcast_to(masks, (*content.shape[:3], stacked.shape[-1])))
    return _blend(mixed, content, alpha)


def region_masks(height: int, width: int, *, share: float = 0.5, direction: str = "vertical",
                 softness: float = 0.05) -> np.ndarray:
    """Masks for two styles split by a straight edge: ``[height, width, 2]`` float32, the two summing to 1.

    Style 1 takes the left (``direction="vertical"``) or top (``"horizontal"``) ``1 − share`` of the picture,
    style 2 the rest; the edge is a linear ramp ``softness`` of the side wide (0: a hard edge).
    """
    if direction not in ("vertical", "horizontal"):
        raise ValueError(f"direction must be 'vertical' or 'horizontal'; got {direction!r}")
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be in [0, 1]; got {share}")
    if not 0.0 <= softness <= 1.0:
        raise ValueError(f"softness must be in [0, 1]; got {softness}")
    if int(height) < 1 or int(width) < 1:
        raise ValueError(f"height and width must be >= 1; got {height}, {width}")
    n = int(width) if direction == "vertical" else int(height)
    t = (np.arange(n) + 0.5) / n                                             # position along the split, (0, 1)
    edge = 1.0 - share
    second = (np.clip((t - edge) / softness + 0.5, 0.0, 1.0) if softness > 0 else (t >= edge).astype(np.float64))
    second = np.broadcast_to(second[None, :] if direction == "vertical" else second[:, None], (int(height), int(width)))
    return np.stack([1.0 - second, second], axis=-1).astype(np.float32)


def mix(content: jax.Array, fused: Sequence[jax.Array], *, weights: Sequence[float] | None = None,
        alpha: float = 1.0) -> jax.Array:
    """Blend already fused features: ``α · Σ_k w_k T_k + (1 − α) · c`` with the weights normalised to sum 1.

    This is the part of :func:`fuse` a slider moves: with the ``T_k`` cached, changing ``α`` or the style
    mix costs this blend and the decoder only (Huang & Belongie 2017, §7 "content-style trade-off" and
    "style interpolation").

    Args:
      content: ``[N, h, w, c]`` content features ``c``.
      fused: ``K`` fused features ``T_k``, each ``[N, h, w, c]`` (a list, or one ``[K, N, h, w, c]`` array).
      weights: ``K`` non-negative weights, not all zero; default equal.
      alpha: content–style trade-off in [0, 1].
    Returns:
      ``[N, h, w, c]``.
    """
    stacked = jnp.stack(list(fused), axis=0) if not hasattr(fused, "ndim") else fused    # [K, N, h, w, c]
    if stacked.ndim != 5 or stacked.shape[1:] != jnp.shape(content):
        raise ValueError(f"fused features must be K × {tuple(jnp.shape(content))}; got {tuple(stacked.shape)}")
    k = stacked.shape[0]
    weights = [1.0] * k if weights is None else weights
    if not hasattr(weights, "ndim"):
        weights = [check_weight(w, "style weight") for w in weights]
        if all(isinstance(w, float) for w in weights) and sum(weights) <= 0:
            raise ValueError("style weights must not all be zero")
    w = jnp.asarray(weights, content.dtype)
    if w.shape != (k,):
        raise ValueError(f"{k} styles but {w.shape[0] if w.ndim else 1} weights")
    return _blend(jnp.tensordot(w / w.sum(), stacked, axes=1), content, alpha)
