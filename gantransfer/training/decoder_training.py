"""Training the decoder of ``G(I_c, S)``: pure train steps, a crop pipeline, orbax checkpoints, resume.

The decoder learns to invert the fused features (Huang & Belongie 2017): for a content crop ``c`` and a
style crop ``s``, ``t = AdaIN(f(c), f(s))`` and ``g = D(t)``;

    L = ‖f(g) - t‖²  +  λ Σ_l (‖μ(φ_l(g)) - μ(φ_l(s))‖² + ‖σ(φ_l(g)) - σ(φ_l(s))‖²)

with ``f`` = VGG16 up to ``relu4_1`` and ``φ_l`` its ``relu1_1 … relu4_1`` (or Gram matrices instead of
mean/std). The step is the functional form of Flax's NNX guide: ``jax.jit(step)(params, opt_state, batch)``
over explicit pytrees. Batches are a pure function of ``(seed, step)``, so a resumed run sees exactly
the batches an uninterrupted one would, and reproduces its losses.

The step is data-parallel (:mod:`gantransfer.training.parallel`): each batch is split over all devices along a
1-D mesh, parameters and optimiser state are replicated, and ``jit`` adds the gradient all-reduce. The
same code runs on one device or many; the batch must be a multiple of the device count.

Taught in ``notebooks/04_fusion.ipynb``.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import time
from pathlib import Path
from typing import Iterator, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import optax

from gantransfer.core import samples
from gantransfer.core.validate import check_count, check_weight
from gantransfer.pipeline import decoder_file, extractor, fusion, generator
from gantransfer.pipeline.style import feature_mean_std, gram_matrix, mean_std_loss
from gantransfer.training import batches, checkpoints, parallel

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


@dataclasses.dataclass(frozen=True, kw_only=True)
class DecoderTrainConfig:
    """Settings of decoder training (one ``get_config`` that tests shrink, as in Flax's examples).

    Attributes:
      steps: total optimisation steps of the run.
      batch: crops per step.
      crop: side of the square random crops in px (a multiple of 8).
      learning_rate: Adam's peak step size; it warms up over ``warmup`` steps, then decays by cosine to a
        tenth over ``decay_steps`` (independent of ``steps``, so a run can be extended in legs).
      style_weight: λ above.
      style_loss: ``"mean_std"`` (AdaIN's) or ``"gram"``.
      width: decoder width multiplier (1.0 = Huang & Belongie).
      seed: seed of the initialisation and of every batch.
      checkpoint_every: steps between orbax checkpoints.
      pool_side: images are resized once so their shorter side is this, then cropped.
      identity_weight: μ of the identity loss ``mean((D(f(c)) − c)²)`` (:func:`decoder_losses`); 0 = off.
      style_variants: with the default (bundled) styles, also paint each procedural style with seeds
        ``1 … style_variants - 1`` (:func:`gantransfer.core.paint.make_style`): more style statistics to learn
        from, so the decoder generalises to styles it never saw. Ignored when styles are given.
      layer: the encoder layer the decoder inverts (:data:`gantransfer.pipeline.generator.DECODER_PLANS`):
        ``relu4_1`` for ``G``; ``relu3_1``/``relu2_1``/``relu1_1`` for the shallower levels of the
        multi-level cascade (:func:`gantransfer.pipeline.generator.generate_multilevel`), whose style loss reads only
        the style layers up to ``layer``.
    """

    steps: int = 20000
    batch: int = 4
    crop: int = 96
    learning_rate: float = 3e-4
    warmup: int = 100
    decay_steps: int = 15000
    style_weight: float = 2.0
    style_loss: str = "mean_std"
    width: float = generator.DEFAULT_WIDTH
    seed: int = 0
    checkpoint_every: int = 200
    pool_side: int = 256
    style_variants: int = 4
    identity_weight: float = 500.0
    layer: str = generator.ENCODER_LAYER

    def __post_init__(self):
        for name in ("steps", "batch", "crop", "checkpoint_every", "pool_side", "decay_steps", "style_variants"):
            check_count(getattr(self, name), name)
        if self.crop % 8 or self.crop < 32:
            raise ValueError(f"crop must be a multiple of 8 and >= 32; got {self.crop}")
        if self.pool_side < self.crop:
            raise ValueError(f"pool_side ({self.pool_side}) must be >= crop ({self.crop})")
        if self.layer not in generator.DECODER_PLANS:
            raise ValueError(f"layer must be one of {', '.join(generator.DECODER_PLANS)}; got {self.layer!r}")
        if self.style_loss not in ("mean_std", "gram"):
            raise ValueError(f"style_loss must be 'mean_std' or 'gram'; got {self.style_loss!r}")
        check_weight(self.learning_rate, "learning_rate", allow_zero=False)
        check_weight(self.style_weight, "style_weight")
        check_weight(self.width, "width", allow_zero=False)
        check_weight(self.identity_weight, "identity_weight")
        if not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"warmup must be an integer >= 0; got {self.warmup!r}")


# ---------------------------------------------------------------------------------------------------
# Data: resize once, crop in numpy; a batch is a pure function of (seed, step).


# ---------------------------------------------------------------------------------------------------
# The pure step.

def make_optimizer(config: DecoderTrainConfig) -> optax.GradientTransformation:
    """Adam with linear warm-up and cosine decay, after clipping the global gradient norm to 1."""
    schedule = optax.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=config.learning_rate, warmup_steps=config.warmup,
        decay_steps=max(config.decay_steps, config.warmup + 1), end_value=config.learning_rate * 0.1)
    return optax.chain(optax.clip_by_global_norm(1.0), optax.adam(schedule))


def decoder_losses(decoder_params, vgg_params, batch: batches.Batch, *, style_weight, style_loss: str = "mean_std",
                   width: float = 1.0, identity_weight: float = 0.0,
                   layer: str = generator.ENCODER_LAYER) -> tuple[jax.Array, dict]:
    """The AdaIN decoder loss of one batch: ``(total, {"total", "content", "style"[, "identity"]})``.

    Content on the fused features at ``layer`` (``relu4_1`` for ``G``; a shallower one for a level of the
    multi-level cascade), style over :data:`STYLE_LAYERS` up to ``layer``.

    ``identity_weight`` (a Python float, static) adds ``μ · mean((D(f(c)) − c)²)``: decoding the
    *unfused* content features must give the photo back. It teaches the decoder to invert VGG16 — layout
    and colours — directly in pixels, which the AdaIN loss alone only reaches slowly (an identity loss as
    in Park & Lee 2019's SANet); it costs one more pass of the decoder only.
    """
    style_layers = style_layers_up_to(layer)
    layers = extractor.in_forward_order((*style_layers, layer))
    content_feats = generator.encode(vgg_params, batch.content, layer=layer)             # [B, h, w, C]
    style_feats = extractor.forward(vgg_params, batch.style, layers)
    target = jax.lax.stop_gradient(fusion.adain(content_feats, style_feats[layer]))
    output = generator.decode(decoder_params, target, width=width, layer=layer)         # [B, H, W, 3]
    out_feats = extractor.forward(vgg_params, output, layers)
    content = jnp.mean((out_feats[layer] - target) ** 2)
    if style_loss == "mean_std":
        style = mean_std_loss(out_feats, {k: feature_mean_std(style_feats[k]) for k in style_layers},
                              layer_weights={k: 1.0 for k in style_layers})
    else:
        style = sum(jnp.mean((gram_matrix(out_feats[k]) - gram_matrix(style_feats[k])) ** 2) for k in style_layers)
    total = content + style_weight * style
    metrics = {"content": content, "style": style}
    if identity_weight:
        reconstruction = generator.decode(decoder_params, jax.lax.stop_gradient(content_feats), width=width,
                                          layer=layer)
        metrics["identity"] = jnp.mean((reconstruction - batch.content) ** 2)
        total = total + identity_weight * metrics["identity"]
    return total, {"total": total, **metrics}


def style_layers_up_to(layer: str) -> tuple[str, ...]:
    """The layers of :data:`STYLE_LAYERS` no deeper than ``layer`` (all four for ``relu4_1``)."""
    depth = extractor.LAYER_NAMES.index(layer)
    return tuple(k for k in STYLE_LAYERS if extractor.LAYER_NAMES.index(k) <= depth)


def _compiled_step(config: DecoderTrainConfig, mesh=None):
    """``(tx, step)`` for this config on ``mesh`` (default: all devices), compiled once per pair."""
    return _compiled_step_on(config, parallel.default_mesh() if mesh is None else mesh)


@functools.lru_cache(maxsize=None)
def _compiled_step_on(config: DecoderTrainConfig, mesh):
    tx = make_optimizer(config)
    loss = functools.partial(decoder_losses, style_loss=config.style_loss, width=config.width,
                             identity_weight=config.identity_weight, layer=config.layer)
    rep, data = parallel.replicated_sharding(mesh), parallel.data_sharding(mesh)

    # Inputs and outputs pinned: the batch split along "data", everything else replicated. Pinning the
    # outputs keeps the new parameters in the layout the next call expects (no re-layout, no recompile).
    # The loss is a batch mean, so jit turns its gradient into per-device sums and one all-reduce.
    @functools.partial(jax.jit, in_shardings=(rep, rep, rep, data, rep), out_shardings=(rep, rep, rep))
    def step(decoder_params, opt_state, vgg_params, batch, style_weight):
        (_, metrics), grads = jax.value_and_grad(loss, has_aux=True)(
            decoder_params, vgg_params, batch, style_weight=style_weight)
        updates, opt_state = tx.update(grads, opt_state, decoder_params)
        metrics["grad_norm"] = optax.tree.norm(grads)
        return optax.apply_updates(decoder_params, updates), opt_state, metrics

    return tx, step


def train_step(config: DecoderTrainConfig, decoder_params, opt_state, vgg_params, batch: batches.Batch, *, mesh=None):
    """One pure, jit-compiled, data-parallel step: ``-> (decoder_params, opt_state, metrics)``.

    Args:
      config: the run's settings.
      decoder_params, opt_state, vgg_params: pytrees; replicated over ``mesh`` here unless they already are.
      batch: the global :class:`batches.Batch`, ``[B, crop, crop, 3]`` each, split here into ``[B / n, ...]`` blocks.
      mesh: a 1-D mesh (:func:`gantransfer.training.parallel.make_mesh`); default all devices.
    Raises:
      ValueError: if the ``n`` devices of ``mesh`` do not divide ``B``.
    """
    mesh = parallel.default_mesh() if mesh is None else mesh
    _, step = _compiled_step(config, mesh)
    decoder_params, opt_state, vgg_params = parallel.replicate((decoder_params, opt_state, vgg_params), mesh)
    return step(decoder_params, opt_state, vgg_params, parallel.shard_batch(batches.Batch(*batch), mesh),
                jnp.float32(config.style_weight))


# ---------------------------------------------------------------------------------------------------
# Checkpoints (orbax): {"params", "opt_state", "step"}; written atomically, the latest few kept.


def abstract_train_state(config: DecoderTrainConfig) -> dict:
    """The structure (shapes and dtypes only) of a checkpoint of this run, for :func:`restore_checkpoint`."""
    tx, _ = _compiled_step(config)

    def make():
        params = generator.init_decoder(jax.random.key(0), width=config.width, layer=config.layer)
        return {"params": params, "opt_state": tx.init(params), "step": 0}

    return jax.eval_shape(make)


class TrainReport(NamedTuple):
    """Metrics of one step (floats), whether a checkpoint was written after it, and the state after it
    (``params``, ``opt_state``, ``step``): a notebook draws the decoder's pictures without reading a checkpoint."""

    step: int
    metrics: dict
    checkpointed: bool
    state: dict


def train_decoder(config: DecoderTrainConfig, *, workdir: str | os.PathLike, contents: Sequence = None,
                  styles: Sequence = None, resume: bool = False, vgg_params=None,
                  mesh=None, init_decoder=None) -> Iterator[TrainReport]:
    """Train (or resume training) the decoder, yielding a :class:`TrainReport` every step.

    Checkpoints go to ``workdir`` every ``config.checkpoint_every`` steps and at the end. A non-finite
    loss raises ``FloatingPointError`` before anything is saved, so the last good checkpoint stays.

    Args:
      config: the run's settings (saved beside the checkpoints; a resume must use the same ones).
      workdir: checkpoint folder.
      contents, styles: bundled names, files or folders; default all bundled photos and styles.
      resume: continue from the newest checkpoint in ``workdir`` (one must exist); a damaged newest one is set
        aside with a warning and the one before it used (:func:`gantransfer.training.checkpoints.resume_state`).
      init_decoder: start a new run from these decoder parameters (or an exported ``.npz``) instead of a
        random initialisation — e.g. to continue a finished run with another objective; ignored on resume.
      mesh: devices to split each batch over (:func:`gantransfer.training.parallel.make_mesh`); default all of
        them. ``config.batch`` must be a multiple of their number (else ``ValueError``). With several
        processes (:func:`gantransfer.training.parallel.maybe_initialize_distributed`) every process runs this
        same loop; only process 0 writes ``config.json`` and ``metrics.csv``.
    """
    workdir = Path(workdir)
    mesh = parallel.default_mesh() if mesh is None else mesh
    parallel.check_batch_divisible(config.batch, mesh)  # before minutes of image loading
    primary = parallel.is_primary()
    vgg_params = extractor.load_params() if vgg_params is None else vgg_params
    contents = list(contents) if contents else list(samples.CONTENT_NAMES)
    styles = list(styles) if styles else batches.default_styles(config.style_variants)
    pool_c = batches.load_pool(contents, kind="content", side=config.pool_side)
    pool_s = batches.load_pool(styles, kind="style", side=config.pool_side)

    tx, _ = _compiled_step(config, mesh)
    params = generator.init_decoder(jax.random.key(config.seed), width=config.width, layer=config.layer)
    if init_decoder is not None and not resume:
        params = _initial_decoder(init_decoder, params, config.width, config.layer)
    # Replicated once here (and restored into that layout below), so no step copies them again.
    params, opt_state, vgg_params = parallel.replicate((params, tx.init(params), vgg_params), mesh)
    with checkpoints.RunCheckpoints(workdir) as run:       # the run's one orbax manager
        start = 0
        if resume:
            state = checkpoints.resume_state(workdir, config, {"params": params, "opt_state": opt_state, "step": 0},
                                             run=run)
            params, opt_state, start = state["params"], state["opt_state"], int(state["step"])
        elif run.latest_step() is not None:
            raise FileExistsError(f"{workdir} already holds checkpoints; pass --resume to continue, or another folder")
        if primary:
            workdir.mkdir(parents=True, exist_ok=True)
            (workdir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1))

        log = checkpoints.MetricsLog(workdir / "metrics.csv")
        for step in range(start, config.steps):
            tic = time.perf_counter()
            batch = batches.make_batch(pool_c, pool_s, seed=config.seed, step=step, batch=config.batch,
                                       crop=config.crop)
            new_params, new_opt, metrics = train_step(config, params, opt_state, vgg_params, batch, mesh=mesh)
            metrics = {k: float(v) for k, v in metrics.items()}
            if not all(math.isfinite(v) for v in metrics.values()):
                raise FloatingPointError(
                    f"non-finite loss at step {step + 1} ({metrics}); training stopped, the last good checkpoint "
                    f"in {workdir} (step {run.latest_step()}) is kept. Lower the learning rate and resume.")
            params, opt_state = new_params, new_opt
            done = step + 1
            if primary:
                log.append(done, metrics, seconds=time.perf_counter() - tic)
            save = done % config.checkpoint_every == 0 or done == config.steps
            state = {"params": params, "opt_state": opt_state, "step": done}
            if save:
                run.save(done, state)
            yield TrainReport(done, metrics, save, state)


def _initial_decoder(source, fresh, width: float, layer: str = generator.ENCODER_LAYER):
    """Decoder parameters to start from: an exported ``.npz`` path or a parameter pytree, checked against
    the structure of ``fresh`` (a run's own initialisation)."""
    if isinstance(source, (str, os.PathLike)):
        source, saved_width = decoder_file.load_decoder(source, layer=layer)
        if saved_width != width:
            raise ValueError(f"the initial decoder has width {saved_width}, the run {width}")
    if jax.tree.structure(source) != jax.tree.structure(fresh) or any(
            a.shape != b.shape for a, b in zip(jax.tree.leaves(source), jax.tree.leaves(fresh))):
        raise ValueError("the initial decoder does not match this run's decoder (width or layers differ)")
    return jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), source)


