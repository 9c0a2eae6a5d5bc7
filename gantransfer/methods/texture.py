"""Tileable textures by Gram-matrix synthesis: a style's texture that repeats without seams (a game's texture).

Gatys, Ecker & Bethge (2015) synthesise a texture by optimising noise until its VGG Gram matrices match the
style image's (notebook 02). Their texture has borders: VGG16 pads with zeros, so nothing asks the right edge
to continue into the left one, and a tiled copy shows a grid of seams. Here the picture is treated as a
torus: at every step it is **rolled by a random offset with wrap-around** (``jnp.roll``) before VGG16 sees it,
then padded by wrap-around on every side, so the seam lies inside what the network sees, at a new place each
step, and the Gram loss asks it to look like the rest of the texture (the same idea as circular padding in
every convolution, which the texture GAN of :mod:`gantransfer.training.texture_gan` uses, without touching
VGG16's own padding)::

    x ∈ [S, S, 3] ─roll (dy, dx)─ wrap-pad m ─ VGG16 ─ {G_l} ─ Σ_l mean((G_l − A_l)²) / mean(A_l²) ─ Adam

The seam is measured by :func:`seam_ratio` (the difference across the wrap-around edges over the difference
between neighbours inside: about 1 is seamless).

Taught in ``notebooks/07_applications.ipynb``; used by ``gantransfer texture``.
"""
from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gantransfer.core import images
from gantransfer.pipeline import extractor
from gantransfer.pipeline.style import gram_matrix

#: Gatys et al. 2015's texture layers, without relu5_1 (little gain for 8 × the cost at this size).
TEXTURE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
#: Wrap-around margin (px) around the rolled picture: VGG16's zero padding falls outside the texture.
MARGIN = 16


def tile(texture, n: int = 3) -> np.ndarray:
    """``n × n`` copies of ``texture`` ``[H, W, C]`` side by side: ``[n·H, n·W, C]`` (how a game repeats it)."""
    t = np.asarray(texture)
    if t.ndim != 3:
        raise ValueError(f"texture must be [H, W, C]; got shape {t.shape}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    return np.tile(t, (n, n, 1))


def upsample_tileable(texture, side: int) -> np.ndarray:
    """Resize a tileable texture ``[h, w, 3]`` to ``[side, side, 3]`` (bilinear) so that it stays tileable: the
    resampling wraps around the borders instead of clamping at them."""
    t = images.check_image_array(texture, name="texture", batched=False)
    h, w = t.shape[:2]
    padded = np.pad(t, ((1, 1), (1, 1), (0, 0)), mode="wrap")
    ys = (np.arange(side) + 0.5) * h / side - 0.5 + 1                   # sample positions in the padded image
    xs = (np.arange(side) + 0.5) * w / side - 0.5 + 1
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    rows = padded[y0][:, x0] * (1 - fx) + padded[y0][:, x0 + 1] * fx
    below = padded[y0 + 1][:, x0] * (1 - fx) + padded[y0 + 1][:, x0 + 1] * fx
    return np.clip(rows * (1 - fy) + below * fy, 0, 1).astype(np.float32)


def _loss(x, params, targets, norms, shift, *, layers, margin, tileable):
    if tileable:
        x = jnp.roll(x, shift, axis=(0, 1))
        x = jnp.pad(x, ((margin, margin), (margin, margin), (0, 0)), mode="wrap")
    feats = extractor.forward(params, x[None], layers)
    return sum(jnp.mean((gram_matrix(feats[k]) - targets[k]) ** 2) / norms[k] for k in targets)


@functools.partial(jax.jit, static_argnames=("layers", "margin", "tileable", "learning_rate"))
def _step(x, opt_state, params, targets, norms, shift, *, layers, margin, tileable, learning_rate):
    loss, grad = jax.value_and_grad(_loss)(x, params, targets, norms, shift, layers=layers, margin=margin,
                                           tileable=tileable)
    updates, opt_state = optax.adam(learning_rate).update(grad, opt_state, x)
    return jnp.clip(optax.apply_updates(x, updates), 0.0, 1.0), opt_state, loss


def synthesize_tileable(style, *, side: int = 256, steps: int = 300, params=None,
                        layers: Sequence[str] = TEXTURE_LAYERS, tileable: bool = True, learning_rate: float = 0.03,
                        seed: int = 0, init=None) -> tuple[np.ndarray, list[float]]:
    """A ``side × side`` texture whose Gram matrices at ``layers`` match ``style``'s, tileable by default.

    Args:
      style: ``[H, W, 3]`` float32 in [0, 1] (seen at its own size: give it at the scale the strokes should have).
      side: the texture's side in px (≥ 32). steps: Adam steps on the pixels.
      params: VGG16's (default :func:`gantransfer.pipeline.extractor.load_params`).
      layers: VGG16 layers whose Gram matrices are matched.
      tileable: roll and wrap the picture before VGG16 (see the module); ``False`` is Gatys et al.'s synthesis.
      learning_rate: Adam's, on pixels in [0, 1]. seed: of the starting noise and the rolls.
      init: ``[side, side, 3]`` to start from instead of noise (e.g. a coarser synthesis, :func:`upsample_tileable`).
    Returns:
      ``(texture [side, side, 3] float32 in [0, 1], losses per step)``.
    References:
      Gatys, Ecker & Bethge, "Texture Synthesis Using Convolutional Neural Networks", NeurIPS 2015.
    """
    style = images.check_image_array(style, name="style", batched=False)
    if isinstance(side, bool) or not isinstance(side, (int, np.integer)) or side < extractor.MIN_SIZE:
        raise ValueError(f"side must be an integer >= {extractor.MIN_SIZE}; got {side!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer; got {steps!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0; got {learning_rate}")
    layers = extractor.in_forward_order(extractor.check_layers(layers))
    params = extractor.load_params() if params is None else params
    targets = {k: gram_matrix(v) for k, v in extractor.extract(params, style[None], layers).items()}
    norms = {k: jnp.mean(v ** 2) + 1e-8 for k, v in targets.items()}
    key_x, key_roll = jax.random.split(jax.random.key(seed))
    if init is None:
        x = jnp.clip(0.5 + 0.1 * jax.random.normal(key_x, (side, side, 3)), 0.0, 1.0)
    else:
        x = jnp.asarray(images.check_image_array(init, name="init", batched=False))
        if x.shape != (side, side, 3):
            raise ValueError(f"init must be [{side}, {side}, 3]; got {x.shape}")
    opt_state = optax.adam(learning_rate).init(x)
    shifts = np.asarray(jax.random.randint(key_roll, (steps, 2), 0, side))
    losses = []
    for k in range(int(steps)):
        x, opt_state, loss = _step(x, opt_state, params, targets, norms, jnp.asarray(shifts[k]), layers=layers,
                                   margin=MARGIN, tileable=bool(tileable), learning_rate=float(learning_rate))
        losses.append(float(loss))
    if not np.isfinite(losses[-1]):
        raise FloatingPointError(f"the synthesis diverged (loss {losses[-1]})")
    return np.asarray(x, np.float32), losses


def seam_ratio(texture) -> float:
    """How visible the wrap-around seam of a texture ``[H, W, 3]`` is when tiled: the mean absolute difference
    across the wrap-around edges (last row to first, last column to first) over the mean difference between
    neighbouring pixels inside. About 1: no seam; much above 1: a visible seam."""
    t = images.check_image_array(texture, name="texture", batched=False).astype(np.float64)
    inside = np.concatenate([np.abs(np.diff(t, axis=0)).ravel(), np.abs(np.diff(t, axis=1)).ravel()]).mean()
    across = np.concatenate([np.abs(t[0] - t[-1]).ravel(), np.abs(t[:, 0] - t[:, -1]).ravel()]).mean()
    return float(across / max(inside, 1e-12))
