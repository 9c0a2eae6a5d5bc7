"""Style transfer by optimisation (Gatys, Ecker & Bethge, CVPR 2016).

Start from an image (the content photo, noise, or the style) and change its pixels until its VGG16
features match the content photo's at a deep layer and its style matrices (Gram matrices) match the
style image's at several layers, with a total-variation term against noise:

    L(x) = α · L_content(x, I_c) + β · L_style(x, S) + γ · TV(x)

Each layer's loss is divided by the size of its target (``mean(P²)`` for content, ``mean(A²)`` for a
Gram matrix), so every term starts near 1 whatever the layer, image or style: weights stay readable and
the L-BFGS line search is well conditioned (un-normalised Gram losses reach 1e12 and stall it).

The pixels can also be optimised as a Laplacian pyramid (``pyramid_levels``; Burt & Adelson 1983, as in STROTSS,
Kolkin et al. CVPR 2019): large shapes form as fast as fine texture, but on six held-out pairs it fell behind on
fine grey textures and its coarse levels drift into blotches of colour (docs/methods.md), so the default stays
plain pixels. Several styles can each paint a region of their own (``masks=``, guided Gatys: :mod:`.guided`).

The loop is a Python generator that yields a :class:`Progress` (step, losses, current image) every few
steps so a notebook can draw it live; the steps themselves are pure jit-compiled functions over an
explicit ``problem`` pytree (targets and weights), so changing a weight does not recompile.

Taught in ``notebooks/03_style_transfer.ipynb``.
"""
from __future__ import annotations

import functools
import math
import time
from typing import Iterator, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gantransfer.core import programs, runtime
from gantransfer.core.images import check_image_array
from gantransfer.core.validate import as_jax, check_count
from gantransfer.methods import color, guided, pyramid
from gantransfer.methods.transfer_config import (  # noqa: F401 (re-exported: the settings are read as optimize.*)
    DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS, INITS, MAX_STYLE_SCALE, PRESETS, STYLE_SIDE, TransferConfig,
    default_scales)
from gantransfer.pipeline import extractor
from gantransfer.pipeline.style import gram_matrix, total_variation_loss

#: Peak memory of one Gatys step, measured at 512² px (``gantransfer bench``: 2.0 GiB), scales with pixels.
BYTES_PER_PIXEL = 2.1 * 2 ** 30 / 512 ** 2


def max_size_for_memory(memory_bytes: int | None = None) -> int:
    """The largest output side (square) whose optimisation fits in ``memory_bytes`` (default: this machine's RAM)."""
    if memory_bytes is None:
        memory_bytes = runtime.machine_memory_bytes()
    return int(math.sqrt(0.8 * memory_bytes / BYTES_PER_PIXEL))


def check_fits_in_memory(size: int) -> None:
    """Refuse (``ValueError``, with the limit) an output side whose optimisation would not fit in RAM."""
    limit = max_size_for_memory()
    if size > limit:
        raise ValueError(f"size {size} px would not fit in this machine's memory; the limit here is "
                         f"{limit} px (about {BYTES_PER_PIXEL * limit ** 2 / 2 ** 30:.0f} GiB)")


class Progress(NamedTuple):
    """One report of a running transfer.

    Attributes:
      step: steps done so far, over all scales.
      scale: the current longest side in px.
      losses: ``{"total", "content", "style", "tv"}`` as floats (each before its weight α, β, γ).
      image: ``[H, W, 3]`` float32 numpy image in [0, 1].
      seconds: wall time since the start, compilation included.
      done: True on the last report.
    """

    step: int
    scale: int
    losses: dict
    image: np.ndarray
    seconds: float
    done: bool = False


# ---------------------------------------------------------------------------------------------------
# The objective, as a pure function of the image and an explicit problem pytree.

def make_problem(
    params,
    content: jax.Array,
    styles: Sequence[jax.Array],
    config: TransferConfig,
    masks: jax.Array | None = None,
) -> dict:
    """Targets and weights of the objective at the content's size, as a pytree of arrays.

    Args:
      params: VGG16 parameters (:func:`gantransfer.pipeline.extractor.load_params`).
      content: ``[1, H, W, 3]`` in [0, 1], already at this scale.
      styles: list of ``[1, H_s, W_s, 3]`` style images in [0, 1] (any sizes); their Gram matrices are
        blended by ``config.style_blend``.
      config: the :class:`TransferConfig`.
      masks: optional ``[K, H, W]``, one region per style image (guided Gatys, :mod:`gantransfer.methods.guided`):
        then ``"grams"`` holds each style's own ``[K, c, c]`` and the problem carries ``"region_masks"``.
    Returns:
      ``{"content": {layer: [1, h, w, c]}, "content_norm": {layer: []}, "grams": {layer: [1, c, c]},
      "gram_norm": {layer: []}, "weights": {...}, "turned": {conv: [3, 3, c_out, c_in]},
      "winograd": {conv: ([16, c_in, c_out], [16, c_out, c_in])}}`` (``"turned"``: VGG16's kernels for the image's
      gradient, :func:`gantransfer.pipeline.extractor.turned_kernels`; ``"winograd"``: block 3's in Winograd's
      domain, :func:`gantransfer.pipeline.extractor.winograd_kernels`).
    """
    blend = config.style_blend or (1.0,) * len(styles)
    if len(blend) != len(styles):
        raise ValueError(f"{len(styles)} styles but {len(blend)} blend weights")
    blend = np.asarray(blend, np.float32) / float(np.sum(blend))
    extractor.check_layers(tuple(config.content_layers) + tuple(config.style_layers))
    content, *styles = (images if images.ndim == 4 else images[None] for images in (
        extractor.check_images(content, name="content"),
        *(extractor.check_images(style, name=f"style {i}") for i, style in enumerate(styles))))
    weights = {"content": config.content_weight, "style": config.style_weight, "tv": config.tv_weight,
               "content_layers": dict(config.content_layers), "style_layers": dict(config.style_layers)}
    return _problem_arrays(params, content, styles, blend, weights,
                           None if masks is None else jnp.asarray(masks, jnp.float32),
                           content_layers=tuple(config.content_layers), style_layers=tuple(config.style_layers))


@programs.jit(static_argnames=("content_layers", "style_layers"))
def _problem_arrays(params, content, styles, blend, weights, masks, *, content_layers, style_layers):
    # One compiled program for the whole problem: built op by op outside jit, its few dozen small operations
    # (Gram matrices, norms, scalars) were each a program of their own, traced and looked up in the compilation
    # cache in every new process (about 0.3 s of `gantransfer stylize`'s start-up; docs/speed.md).
    content_feats = extractor.forward(params, content, extractor.in_forward_order(content_layers))
    style_feats = [extractor.forward(params, style, extractor.in_forward_order(style_layers)) for style in styles]
    if masks is None:               # one target: the styles' Gram matrices blended
        grams = {name: sum(blend[i] * gram_matrix(f[name]) for i, f in enumerate(style_feats))
                 for name in style_layers}
    else:                           # one target per region
        grams = guided.region_targets(style_feats)                             # {layer: [K, c, c]}
    eps = 1e-8
    as_f32 = functools.partial(jax.tree.map, lambda w: jnp.asarray(w, jnp.float32))
    return ({"region_masks": masks} if masks is not None else {}) | {
        # VGG16's kernels turned for the image's gradient once here, not in every step (extractor.turned_kernels)
        "turned": extractor.turned_kernels(params, content_layers + style_layers),
        # and block 3's kernels in Winograd's domain, whose convolutions cost 0.6 × XLA's there (winograd_kernels)
        "winograd": extractor.winograd_kernels(params, content_layers + style_layers),
        "content": content_feats,
        "content_norm": {k: jnp.mean(v ** 2) + eps for k, v in content_feats.items()},
        "grams": grams,
        "gram_norm": {k: jnp.mean(v ** 2) + eps for k, v in grams.items()},
        "weights": as_f32(weights),
    }


def transfer_losses(params, image: jax.Array, problem: dict) -> tuple[jax.Array, dict]:
    """The weighted total loss of ``image`` and its unweighted parts.

    Args:
      params: VGG16 parameters.
      image: ``[1, H, W, 3]`` (the pixels being optimised; evaluated clipped to [0, 1]).
      problem: from :func:`make_problem` at this size.
    Returns:
      ``(total, {"total", "content", "style", "tv"})``, scalars.
    """
    w = problem["weights"]
    image = jnp.clip(image, 0.0, 1.0)
    layers = tuple(problem["content"]) + tuple(problem["grams"])
    feats = extractor.forward(params, image, extractor.in_forward_order(layers), problem.get("turned"),
                              problem.get("winograd"))
    content = sum(w["content_layers"][k] * jnp.mean((feats[k] - p) ** 2) / problem["content_norm"][k]
                  for k, p in problem["content"].items())
    masks = problem.get("region_masks")         # guided Gatys: each region's Gram matrix against its style's
    gram = gram_matrix if masks is None else functools.partial(guided.region_grams, masks=masks)
    style = sum(w["style_layers"][k] * jnp.mean((gram(feats[k]) - a) ** 2) / problem["gram_norm"][k]
                for k, a in problem["grams"].items())
    tv = total_variation_loss(image)
    total = w["content"] * content + w["style"] * style + w["tv"] * tv
    return total, {"total": total, "content": content, "style": style, "tv": tv}


# ---------------------------------------------------------------------------------------------------
# What is optimised: the pixels, or a Laplacian pyramid of them.


def _project(levels):
    """Keep the image a pyramid stands for in [0, 1]: what clipping removes is taken off the finest level."""
    if not isinstance(levels, (tuple, list)):
        return jnp.clip(levels, 0.0, 1.0)
    image = pyramid.from_pyramid(levels)
    return (levels[0] + jnp.clip(image, 0.0, 1.0) - image, *levels[1:])


@programs.jit
def _image_of(pixels) -> jax.Array:
    # Clipped again: composing a projected pyramid can land a rounding error (1e-7) outside [0, 1].
    return jnp.clip(pyramid.from_pyramid(pixels), 0.0, 1.0)


def _pyramid_losses(params, levels, problem):
    return transfer_losses(params, pyramid.from_pyramid(levels), problem)


@functools.lru_cache(maxsize=None)
def _adam():
    # Learning rate as a hyperparameter in the state, so changing it needs no new compilation.
    return optax.inject_hyperparams(optax.adam)(learning_rate=0.02)


@programs.jit(donate_argnums=(1, 2))
def adam_step(params, pixels, opt_state, problem):
    """One projected-Adam step: ``(pixels, opt_state) -> (pixels, opt_state, losses)``.

    ``pixels`` is the image ``[1, H, W, 3]`` or its pyramid (:func:`pyramid.to_pyramid`); after the update the
    image it stands for is put back into [0, 1].
    """
    (_, losses), grads = jax.value_and_grad(_pyramid_losses, argnums=1, has_aux=True)(params, pixels, problem)
    updates, opt_state = _adam().update(grads, opt_state, pixels)
    return _project(optax.apply_updates(pixels, updates)), opt_state, losses


@functools.lru_cache(maxsize=None)
def _lbfgs():
    # Only the L-BFGS direction (Nocedal & Wright 2006, alg. 7.4); the step length comes from lbfgs_steps.
    return optax.chain(optax.scale_by_lbfgs(), optax.scale(-1.0))


def _fresh_memory(pixels):
    # optax's scalars start as weakly typed Python numbers and become float32 arrays after the first
    # update; casting them up front keeps one compiled direction function for every call.
    return jax.tree.map(lambda a: jnp.asarray(a, jnp.asarray(a).dtype), _lbfgs().init(pixels))


class LbfgsState(NamedTuple):
    """L-BFGS state: optax's memory of past steps, and the loss and gradient at the current pixels."""

    memory: optax.OptState
    value: jax.Array | None = None
    grad: object = None
    losses: dict | None = None


@jax.jit
def _evaluate(params, pixels, problem):
    (value, losses), grad = jax.value_and_grad(_pyramid_losses, argnums=1, has_aux=True)(params, pixels, problem)
    return value, grad, losses


@jax.jit
def _lbfgs_direction(grad, memory, pixels):
    direction, memory = _lbfgs().update(grad, memory, pixels)
    return direction, memory, optax.tree_utils.tree_vdot(grad, direction)


@jax.jit
def _move(pixels, direction, step_size):
    return _project(jax.tree.map(lambda x, d: x + step_size * d, pixels, direction))


def lbfgs_steps(params, pixels, opt_state: LbfgsState, problem, n_steps: int):
    """``n_steps`` L-BFGS iterations: ``-> (pixels, opt_state, losses)``; pixels as in :func:`adam_step`.

    A backtracking line search (Armijo's sufficient decrease, the step halved until it holds; Nocedal &
    Wright 2006, alg. 3.1) runs here in Python around compiled evaluations, and the gradient at the
    accepted point is kept for the next direction, so an iteration whose first step is accepted costs one
    network evaluation, as an Adam step does. (optax's own line searches loop inside ``lax.while_loop``,
    where XLA:CPU ran the network about 3× slower: 0.97 s against 0.34 s per evaluation at 256 px on the
    2-core machine, 2026-11-26.)
    """
    check_count(n_steps, "n_steps", minimum=0)
    if opt_state.grad is None:
        value, grad, losses = _evaluate(params, pixels, problem)
        opt_state = opt_state._replace(value=value, grad=grad, losses=losses)
    for _ in range(n_steps):
        direction, memory, slope = _lbfgs_direction(opt_state.grad, opt_state.memory, pixels)
        if not float(slope) < 0:   # not a descent direction (a clipped step spoilt the memory): restart
            direction, memory, slope = _lbfgs_direction(opt_state.grad, _fresh_memory(pixels), pixels)
        value, step_size = float(opt_state.value), 1.0
        for _ in range(30):
            candidate = _move(pixels, direction, step_size)
            new_value, grad, losses = _evaluate(params, candidate, problem)
            if float(new_value) <= value + 1e-4 * step_size * float(slope):
                pixels, opt_state = candidate, LbfgsState(memory, new_value, grad, losses)
                break
            step_size /= 2
        else:   # no decrease along this direction at all: keep the pixels, forget the memory
            opt_state = opt_state._replace(memory=_fresh_memory(pixels))
    return pixels, opt_state, opt_state.losses


def init_optimizer_state(optimizer: str, pixels, *, learning_rate: float = 0.02):
    """The optimiser state for :func:`adam_step` (``"adam"``) or :func:`lbfgs_steps` (``"lbfgs"``)."""
    if optimizer == "adam":
        return _adam_init(pixels, np.float32(learning_rate))
    return LbfgsState(_fresh_memory(pixels))


@programs.jit
def _adam_init(pixels, learning_rate):
    # Compiled, like every step of the driver: run op by op, Adam's zero moments were programs of their own.
    state = _adam().init(pixels)
    state.hyperparams["learning_rate"] = learning_rate
    return state


# ---------------------------------------------------------------------------------------------------
# The driver.

@programs.jit(static_argnames=("height", "width"))
def _resize(image: jax.Array, height: int, width: int) -> jax.Array:
    # jax.image.resize(image, ..., "cubic", antialias=True), clipped: the same two matrix products, with the
    # weights made by numpy while tracing. JAX's own builds them from jnp operations, which took ≈ 0.1 s of
    # `gantransfer stylize`'s start-up to trace and lower for its five sizes (docs/speed.md).
    out = image
    if height != image.shape[1]:
        out = jnp.einsum("oh,nhwc->nowc", _cubic_weights(image.shape[1], height), out)
    if width != image.shape[2]:
        out = jnp.einsum("ow,nhwc->nhoc", _cubic_weights(image.shape[2], width), out)
    return jnp.clip(out, 0, 1)


@functools.lru_cache(maxsize=64)
def _cubic_weights(n_in: int, n_out: int) -> np.ndarray:
    """``[n_out, n_in]`` weights of Keys' cubic kernel (a = -0.5), widened by the shrink factor when shrinking
    (antialiasing), each row normalised: what ``jax.image.resize(..., "cubic", antialias=True)`` contracts with."""
    inv_scale = n_in / n_out
    sample = (np.arange(n_out) + 0.5) * inv_scale - 0.5                    # each output pixel's centre, input coords
    x = np.abs(sample[:, None] - np.arange(n_in)[None, :]) / max(inv_scale, 1.0)
    w = np.where(x < 1, ((1.5 * x - 2.5) * x) * x + 1, np.where(x < 2, ((-0.5 * x + 2.5) * x - 4) * x + 2, 0.0))
    total = w.sum(1, keepdims=True)
    w = np.where(np.abs(total) > 1000 * np.finfo(np.float32).eps, w / np.where(total != 0, total, 1), 0.0)
    return w.astype(np.float32)


def _shape_at(content_hw: tuple[int, int], longest: int) -> tuple[int, int]:
    h, w = content_hw
    s = longest / max(h, w)
    return max(extractor.MIN_SIZE, round(h * s)), max(extractor.MIN_SIZE, round(w * s))


def _as_batch(image, name: str) -> jax.Array:
    array = check_image_array(image, name=name)
    return as_jax(array if array.ndim == 4 else array[None])


def stylize_iter(
    content,
    styles,
    config: TransferConfig | None = None,
    *,
    params=None,
    should_stop=None,
    masks=None,
) -> Iterator[Progress]:
    """Run a Gatys transfer, yielding a :class:`Progress` every ``config.report_every`` steps and at the end.

    Args:
      content: ``[H, W, 3]`` or ``[1, H, W, 3]`` float in [0, 1], any size (resized to each scale).
      styles: one style image ``[H, W, 3]`` or a list of them (blended by ``config.style_blend``).
      config: a :class:`TransferConfig` (defaults if ``None``).
      params: VGG16 parameters (loaded once per process if ``None``).
      should_stop: optional callable polled between steps; returning True ends the run with a final
        report (the notebooks' stop button).
      masks: optional ``[H, W, K]`` at the content's size, one soft mask per style image: where each style
        paints (guided Gatys, Gatys et al. 2017; :mod:`gantransfer.methods.guided`). Not with ``style_blend``.
    Yields:
      :class:`Progress`; the last has ``done=True`` and the finished image (colour-preserved if asked).
    """
    config = config or TransferConfig()
    check_fits_in_memory(config.largest_side)
    params = extractor.load_params() if params is None else params
    content = _as_batch(content, "content")
    if isinstance(styles, (list, tuple)):
        if not styles:
            raise ValueError("no style image given; pass at least one")
        styles = [_as_batch(s, f"style {i}") for i, s in enumerate(styles)]
    else:
        styles = [_as_batch(styles, "style")]
    if config.style_blend is not None and len(config.style_blend) != len(styles):
        raise ValueError(f"{len(styles)} style images but {len(config.style_blend)} style_blend weights")
    if masks is not None and config.style_blend is not None:
        raise ValueError("give style_blend or masks, not both")
    masks = masks if masks is None else jnp.moveaxis(guided.check_masks(masks, *content.shape[1:3], len(styles)), -1, 0)

    start = time.perf_counter()
    step, image, losses = 0, None, {}
    full_hw = _shape_at(content.shape[1:3], config.size)
    for scale, n_steps in zip(config.scales, config.scale_steps):
        hw = _shape_at(content.shape[1:3], scale)
        content_s = _resize(content, *hw)
        # The style image is seen at the output's scale (times style_scale), so brush strokes keep their
        # size relative to the picture at every scale.
        styles_s = [_resize(s, *_shape_at(s.shape[1:3], config.style_side(scale))) for s in styles]
        masks_s = None if masks is None else jax.image.resize(masks, (len(masks), *hw), "linear")  # [K, h, w]
        problem = make_problem(params, content_s, styles_s, config, masks_s)
        if image is None and masks is None:
            image = _initial_image(config.init, content_s, styles_s[0], config.seed)
        elif image is None:     # guided: each region starts from its own style's start (the photo recoloured, …)
            shares = masks_s / masks_s.sum(0)                                                         # [K, h, w]
            image = sum(m[None, ..., None] * _initial_image(config.init, content_s, s, config.seed)
                        for m, s in zip(shares, styles_s))
        else:
            image = _resize(image, *hw)
        image, losses, step, stopped = yield from _run_scale(
            params, image, problem, n_steps, config, scale, step, start, should_stop)
        if stopped:
            break
    if image.shape[1:3] != full_hw:  # stopped before the last scale
        image = _resize(image, *full_hw)
    if config.preserve_color:
        image = color.preserve_color(image, _resize(content, *image.shape[1:3]))
    yield Progress(step, config.scales[-1], losses, np.asarray(image)[0], time.perf_counter() - start, True)


def _initial_image(init: str, content, style, seed: int):
    if init == "content":
        return jnp.array(content)
    if init == "recolor":    # the style's palette, the photo's contrast of light and dark
        return color.keep_luminance_contrast(color.match_color(content, style), content)
    if init == "style":
        return _resize(style, *content.shape[1:3])
    return jax.random.uniform(jax.random.key(seed), content.shape, jnp.float32)


def _run_scale(params, image, problem, n_steps, config, scale, step, start, should_stop):
    """Steps at one scale; yields progress; returns ``(image, losses, step, stopped)``."""
    history: list[float] = []
    coarse = scale != config.scales[-1] and config.coarse_learning_rate is not None
    pixels = pyramid.to_pyramid(image, config.pyramid_levels) if config.pyramid_levels > 1 else image
    opt_state = init_optimizer_state(config.optimizer, pixels,
                                     learning_rate=config.coarse_learning_rate if coarse else config.learning_rate)
    done, losses, stopped = 0, {}, False
    while done < n_steps:
        if config.optimizer == "adam":
            pixels, opt_state, losses = adam_step(params, pixels, opt_state, problem)
        else:
            pixels, opt_state, losses = lbfgs_steps(params, pixels, opt_state, problem, 1)
        done += 1
        step += 1
        total = float(losses["total"])
        if not math.isfinite(total):
            raise FloatingPointError(f"the loss became {total} at step {step}; lower the learning rate or the weights")
        history.append(total)
        converged = _converged(history, config.tol, config.patience)
        stopped = bool(should_stop and should_stop())
        if step % config.report_every == 0 or done >= n_steps or converged or stopped:
            yield Progress(step, scale, {k: float(v) for k, v in losses.items()}, np.asarray(_image_of(pixels))[0],
                           time.perf_counter() - start)
        if stopped or converged:
            break
    return _image_of(pixels), {k: float(v) for k, v in losses.items()}, step, bool(stopped)


def _converged(history: list[float], tol: float, window: int) -> bool:
    if tol <= 0 or len(history) <= window:
        return False
    before, now = history[-1 - window], history[-1]
    return (before - now) <= tol * abs(before)


def stylize(content, styles, config: TransferConfig | None = None, *, params=None,
            masks=None) -> tuple[np.ndarray, list[Progress]]:
    """Run :func:`stylize_iter` to the end (``masks``: guided Gatys, as there).

    Returns:
      ``(image [H, W, 3] float32 in [0, 1], reports)``, the reports without their images except the last.
    """
    reports = []
    for report in stylize_iter(content, styles, config, params=params, masks=masks):
        reports.append(report if report.done else report._replace(image=None))
    return reports[-1].image, reports
