"""The style matrix (风格矩阵) and the losses of neural style transfer.

The style of an image is read off how its feature channels co-vary: the Gram matrix (Gatys et al. 2016),
or its first- and second-order relatives, the per-channel mean/std (Huang & Belongie 2017) and the
covariance (Li et al. 2017). Content is the feature map itself. All functions are pure and jit-safe.

Taught in ``notebooks/02_style_matrix.ipynb`` (style matrix) and ``03_style_transfer.ipynb`` (losses).
"""
from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp

from gantransfer.core.validate import check_features, check_weight


@jax.custom_vjp
def _gram_raw(flat: jax.Array) -> jax.Array:
    """``Fᵀ F`` of ``[..., P, c]`` → ``[..., c, c]``, with a hand-written gradient.

    ``F`` enters twice, so plain autodiff makes two ``[P, c] × [c, c]`` products for the gradient; the
    symmetric form ``dF = F (dG + dGᵀ)`` needs one. That halves the Gram matrices' share of a Gatys
    step (about 15 % of it at 256 px on a CPU). The product contracts over ``P`` directly (an ``einsum``) rather
    than transposing ``F`` first: XLA's CPU backend then makes no transposed copy of the ``[P, c]`` features
    (3.1 against 4.0–4.5 ms for ``relu1_2``'s ``[40960, 64]`` at 256 × 160 px).
    """
    return jnp.einsum("...pi,...pj->...ij", flat, flat)


def _gram_raw_fwd(flat):
    return _gram_raw(flat), flat


def _gram_raw_bwd(flat, d_gram):
    return (jnp.matmul(flat, d_gram + jnp.swapaxes(d_gram, -1, -2)),)


_gram_raw.defvjp(_gram_raw_fwd, _gram_raw_bwd)


def gram_matrix(features: jax.Array) -> jax.Array:
    """Gram (style) matrix of feature maps, normalised by the number of positions.

    ``G[n, i, j] = (1 / (h·w)) Σ_p F[n, p, i] F[n, p, j]``: the average co-activation of channels ``i`` and
    ``j`` over all positions ``p``. Dividing by ``h·w`` (not by Gatys' ``4 N² M²`` inside the loss) makes
    ``G`` independent of image size, so a style matrix from a 256 px style image is a valid target for a
    512 px output. Layout is summed away: any permutation of positions gives the same ``G``.

    Args:
      features: ``[N, h, w, c]`` (or ``[h, w, c]``) feature maps.
    Returns:
      ``[N, c, c]`` (or ``[c, c]``) symmetric positive semi-definite matrices.
    References:
      Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016.
    """
    features = check_features(features, "features")
    *lead, h, w, c = features.shape
    flat = features.reshape(*lead, h * w, c)                                   # [N, hw, c]
    return _gram_raw(flat) / (h * w)                                           # [N, c, c]


def masked_gram_matrix(features: jax.Array, mask: jax.Array) -> jax.Array:
    """Gram matrix of the positions a soft mask selects: ``G_M = Σ_p m_p F_p F_pᵀ / Σ_p m_p``.

    The guided Gram matrix of Gatys et al. 2017's spatial control: a style's statistics are read (and matched)
    only where its mask is on. A mask of ones gives :func:`gram_matrix`; scaling the mask changes nothing.

    Args:
      features: ``[N, h, w, c]`` (or ``[h, w, c]``) feature maps.
      mask: ``[N, H, W]`` (or ``[H, W]``) non-negative weights, not all zero, at any size (resized bilinearly
        to ``h × w``: a mask drawn at the image's size serves every layer).
    Returns:
      ``[N, c, c]`` (or ``[c, c]``) symmetric positive semi-definite matrices.
    References:
      Gatys, Ecker, Bethge, Hertzmann & Shechtman, "Controlling Perceptual Factors in Neural Style Transfer",
      CVPR 2017.
    """
    features = check_features(features, "features")
    *lead, h, w, c = features.shape
    mask = jnp.asarray(mask, features.dtype)
    if mask.ndim != len(lead) + 2 or tuple(mask.shape[:-2]) != tuple(lead):
        raise ValueError(f"mask must be {'[N, H, W]' if lead else '[H, W]'} for features of shape "
                         f"{tuple(features.shape)}; got {tuple(mask.shape)}")
    if mask.shape[-2:] != (h, w):
        mask = jax.image.resize(mask, (*lead, h, w), "linear")
    weights = mask.reshape(*lead, h * w, 1)                                   # [N, hw, 1]
    flat = features.reshape(*lead, h * w, c)                                   # [N, hw, c]
    total = jnp.maximum(jnp.sum(weights, axis=(-2, -1)), 1e-8)[..., None, None]
    return jnp.matmul(jnp.swapaxes(flat * weights, -1, -2), flat) / total      # [N, c, c]


def feature_mean_std(features: jax.Array, *, eps: float = 1e-5) -> tuple[jax.Array, jax.Array]:
    """Per-channel mean and standard deviation over positions (the statistics AdaIN matches).

    Args:
      features: ``[N, h, w, c]`` (or ``[h, w, c]``).
      eps: added to the variance before the square root, so the std of a constant channel is finite
        and differentiable.
    Returns:
      ``(mean, std)``, each ``[N, c]`` (or ``[c]``).
    References:
      Huang & Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization", ICCV 2017.
    """
    features = check_features(features, "features")
    mean = jnp.mean(features, axis=(-3, -2))                                   # [N, c]
    var = jnp.var(features, axis=(-3, -2))                                     # [N, c]
    return mean, jnp.sqrt(var + eps)


def covariance(features: jax.Array) -> jax.Array:
    """Channel covariance over positions: the Gram matrix of the mean-centred features.

    Args:
      features: ``[N, h, w, c]`` (or ``[h, w, c]``).
    Returns:
      ``[N, c, c]`` (or ``[c, c]``), normalised by ``h·w`` like :func:`gram_matrix`.
    References:
      Li et al., "Universal Style Transfer via Feature Transforms", NeurIPS 2017.
    """
    features = check_features(features, "features")
    centred = features - jnp.mean(features, axis=(-3, -2), keepdims=True)
    return gram_matrix(centred)


def content_loss(features: jax.Array, target: jax.Array) -> jax.Array:
    """Mean squared difference of feature maps: ``mean((F - P)²)`` (Gatys et al. 2016, eq. 1, averaged).

    Args:
      features, target: ``[N, h, w, c]`` of equal shape (a target with ``N = 1`` broadcasts).
    Returns:
      A scalar.
    """
    features = check_features(features, "features")
    target = check_features(target, "target")
    if features.shape[-3:] != target.shape[-3:]:
        raise ValueError(f"content features {features.shape} and target {target.shape} differ in shape")
    return jnp.mean((features - target) ** 2)


def style_loss(
    features: Mapping[str, jax.Array],
    target_grams: Mapping[str, jax.Array],
    *,
    layer_weights: Mapping[str, float] | None = None,
) -> jax.Array:
    """Weighted sum over layers of the mean squared difference of Gram matrices.

    ``L_style = Σ_l w_l · mean((G_l(x) - A_l)²)``, with ``G`` from :func:`gram_matrix`. Up to a constant
    factor per layer this is Gatys et al.'s ``E_l = (1 / 4N²M²) Σ (G - A)²``.

    Args:
      features: ``{layer: [N, h, w, c]}`` of the image being optimised.
      target_grams: ``{layer: [N or 1, c, c]}`` style matrices of the style image.
      layer_weights: ``{layer: w_l >= 0}``; default 1 for every layer of ``target_grams``. Layers with
        weight 0 are skipped.
    Returns:
      A scalar.
    """
    if not target_grams:
        raise ValueError("style_loss needs at least one style layer")
    weights = dict(layer_weights) if layer_weights is not None else {name: 1.0 for name in target_grams}
    unknown = set(weights) - set(target_grams)
    if unknown:
        raise ValueError(f"layer weights given for {sorted(unknown)}, which have no target Gram matrix")
    total = jnp.zeros((), jnp.float32)
    for name, weight in weights.items():
        weight = check_weight(weight, f"weight of layer {name}")
        if name not in features:
            raise ValueError(f"no features for style layer {name!r}; have {sorted(features)}")
        if isinstance(weight, float) and weight == 0.0:
            continue
        gram = gram_matrix(features[name])
        target = target_grams[name]
        if gram.shape[-1] != target.shape[-1]:
            raise ValueError(f"layer {name}: Gram {gram.shape} and target {target.shape} differ in channels")
        total = total + weight * jnp.mean((gram - target) ** 2)
    return total


def mean_std_loss(
    features: Mapping[str, jax.Array],
    target: Mapping[str, tuple[jax.Array, jax.Array]],
    *,
    layer_weights: Mapping[str, float] | None = None,
) -> jax.Array:
    """Style loss on per-channel statistics: ``Σ_l w_l (‖μ(F_l) - μ_l‖² + ‖σ(F_l) - σ_l‖²) / c_l``.

    The loss AdaIN's decoder is trained with (Huang & Belongie 2017, eq. 6), averaged over channels.

    Args:
      features: ``{layer: [N, h, w, c]}``.
      target: ``{layer: (mean [N or 1, c], std [N or 1, c])}``.
      layer_weights: as in :func:`style_loss`.
    Returns:
      A scalar.
    """
    if not target:
        raise ValueError("mean_std_loss needs at least one style layer")
    weights = dict(layer_weights) if layer_weights is not None else {name: 1.0 for name in target}
    total = jnp.zeros((), jnp.float32)
    for name, weight in weights.items():
        weight = check_weight(weight, f"weight of layer {name}")
        if name not in features:
            raise ValueError(f"no features for style layer {name!r}; got {sorted(features)}")
        mean, std = feature_mean_std(features[name])
        t_mean, t_std = target[name]
        per_image = jnp.mean((mean - t_mean) ** 2, axis=-1) + jnp.mean((std - t_std) ** 2, axis=-1)
        total = total + weight * jnp.mean(per_image)
    return total


def total_variation_loss(images: jax.Array) -> jax.Array:
    """Anisotropic total variation: mean absolute difference of neighbouring pixels.

    ``TV(x) = mean|x[i+1, j] - x[i, j]| + mean|x[i, j+1] - x[i, j]|``; it penalises high-frequency noise
    (Mahendran & Vedaldi 2015; Johnson et al. 2016).

    Args:
      images: ``[N, H, W, C]`` (or ``[H, W, C]``).
    Returns:
      A scalar.
    """
    images = check_features(images, "images")
    dy = jnp.abs(images[..., 1:, :, :] - images[..., :-1, :, :])
    dx = jnp.abs(images[..., :, 1:, :] - images[..., :, :-1, :])
    return jnp.mean(dy) + jnp.mean(dx)


def gram_distance(a: jax.Array, b: jax.Array) -> jax.Array:
    """``mean((gram(a) - gram(b))²)`` for two feature maps ``[N, h, w, c]`` of equal channels (any size)."""
    return jnp.mean((gram_matrix(a) - gram_matrix(b)) ** 2)
