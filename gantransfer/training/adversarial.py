"""Adversarial training of ``I_s = G(I_c, S)``: the decoder against a style-conditioned PatchGAN.

``G`` is the frozen VGG16 encoder, AdaIN and the trainable decoder (:mod:`gantransfer.pipeline.generator`); ``D`` the
discriminator of :mod:`gantransfer.pipeline.discriminator`, shown crops of the style images as "real" and ``G``'s
outputs as "fake", both with the style's statistics. Each step updates ``D`` once, then ``G`` once:

    L_D = d_loss(D(s, σ_s), D(G(c, s), σ_s)) + (γ/2) R1
    L_G = content + λ style + β g_loss(D(G(c, s), σ_s))

with the content and style terms of the decoder's own loss (:func:`gantransfer.training.decoder_training.decoder_losses`).
The adversarial term asks for what a per-channel mean/std cannot express: the brush strokes, edges and
textures a style is made of, at the scale of ``D``'s patches. Everything else follows decoder training
(:mod:`gantransfer.training.decoder_training`): pure jit-compiled steps over an explicit state pytree
``{"g_params", "g_opt", "d_params", "d_opt", "step"}``, batches that are a pure function of
``(seed, step)``, orbax checkpoints with exact resume, a NaN guard, ``metrics.csv``. What is new is a
divergence detector (:class:`DivergenceDetector`): a GAN can fail while its losses look fine.

Taught in ``notebooks/05_adversarial_training.ipynb``.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import json
import math
import os
import time
import warnings
from pathlib import Path
from typing import Iterator, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from gantransfer.core import samples
from gantransfer.core.validate import check_count, check_weight
from gantransfer.pipeline import decoder_file, discriminator, extractor, fusion, generator
from gantransfer.training import batches, checkpoints, decoder_training


@dataclasses.dataclass(frozen=True, kw_only=True)
class GanTrainConfig:
    """Settings of adversarial training (tests shrink them, as with :class:`gantransfer.training.decoder_training.DecoderTrainConfig`).

    Attributes:
      steps: total steps; one step is one update of ``D`` then one of ``G``, on the same batch.
      batch, crop, pool_side, style_variants, seed, checkpoint_every: as in ``DecoderTrainConfig``.
      g_learning_rate, d_learning_rate: Adam step sizes; ``D`` learns faster (the two time-scale rule,
        Heusel et al. 2017, with SAGAN's 1e-4 / 4e-4).
      beta1, beta2: Adam's moment decays for both; 0.5 (DCGAN, pix2pix, SN-GAN) damps the momentum
        that makes two players chase each other in circles.
      adv_weight: β above. The content + style loss of a decoder is O(100) (docs/training.md), so β = 1 makes
        the adversarial term a refinement of the AdaIN objective, not a replacement.
      loss: adversarial loss, ``"ns"``, ``"hinge"`` or ``"lsgan"`` (:func:`gantransfer.pipeline.discriminator.d_loss`).
      r1_weight: γ above (0 switches R1 off and skips its double backward pass).
      style_weight, style_loss, identity_weight: λ, the style loss and the identity-loss weight of the
        decoder's objective (:func:`gantransfer.training.decoder_training.decoder_losses`); keep those the decoder was trained with.
      width: decoder width (must match ``init_decoder`` when one is given).
      d_width, d_layers, spectral_norm: the discriminator (:class:`gantransfer.pipeline.discriminator.Discriminator`).
      conditional: condition ``D`` on the style statistics (projection); ``False`` gives an unconditional
        ``D`` that can only judge "is this any of the styles".
      divergence_window: steps a warning condition must hold before :class:`DivergenceDetector` warns.
    """

    steps: int = 2000
    batch: int = 4
    crop: int = 96
    g_learning_rate: float = 1e-4
    d_learning_rate: float = 4e-4
    beta1: float = 0.5
    beta2: float = 0.999
    adv_weight: float = 1.0
    loss: str = "hinge"
    r1_weight: float = 1.0
    style_weight: float = 2.0
    style_loss: str = "mean_std"
    width: float = generator.DEFAULT_WIDTH
    d_width: float = 0.5
    d_layers: int = 3
    spectral_norm: bool = True
    conditional: bool = True
    seed: int = 0
    checkpoint_every: int = 200
    pool_side: int = 256
    style_variants: int = 4
    divergence_window: int = 50
    identity_weight: float = 500.0

    def __post_init__(self):
        for name in ("steps", "batch", "crop", "checkpoint_every", "pool_side", "style_variants", "d_layers",
                     "divergence_window"):
            check_count(getattr(self, name), name)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0; got {self.seed!r}")
        if self.crop % 8 or self.crop < 32:
            raise ValueError(f"crop must be a multiple of 8 and >= 32; got {self.crop}")
        if self.crop < discriminator.min_image_side(self.d_layers):
            raise ValueError(f"crop {self.crop} is too small for a {self.d_layers}-layer discriminator "
                             f"(needs {discriminator.min_image_side(self.d_layers)})")
        if self.pool_side < self.crop:
            raise ValueError(f"pool_side ({self.pool_side}) must be >= crop ({self.crop})")
        if self.loss not in discriminator.LOSS_KINDS:
            raise ValueError(f"loss must be one of {', '.join(map(repr, discriminator.LOSS_KINDS))}; got {self.loss!r}")
        if self.style_loss not in ("mean_std", "gram"):
            raise ValueError(f"style_loss must be 'mean_std' or 'gram'; got {self.style_loss!r}")
        for name in ("g_learning_rate", "d_learning_rate", "width", "d_width"):
            check_weight(getattr(self, name), name, allow_zero=False)
        for name in ("adv_weight", "r1_weight", "style_weight", "identity_weight"):
            check_weight(getattr(self, name), name)
        for name in ("beta1", "beta2"):
            value = check_weight(getattr(self, name), name)
            if value >= 1:
                raise ValueError(f"{name} must be in [0, 1); got {value}")
        for name in ("spectral_norm", "conditional"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False; got {getattr(self, name)!r}")

    def d_arch(self) -> dict:
        """The keyword arguments of :func:`gantransfer.pipeline.discriminator.discriminate` for this run's ``D``."""
        return dict(width=self.d_width, n_layers=self.d_layers, spectral_norm=self.spectral_norm,
                    cond_dim=discriminator.STYLE_STATS_DIM if self.conditional else 0)


# Settings a resume may change: they do not alter the losses of the steps already taken.
_RESUMABLE = ("steps", "checkpoint_every", "divergence_window")


# ---------------------------------------------------------------------------------------------------
# The generator as the GAN sees it, and the state.

def stylize(g_params: nnx.State, vgg_params: nnx.State, content: jax.Array, style: jax.Array, *,
            width: float = 1.0) -> jax.Array:
    """``G(c, s)`` during training: decode(AdaIN(f(c), f(s))), ``[N, H, W, 3]`` → ``[N, H, W, 3]``, *unclipped*.

    Unclipped because clipping would cut the gradient of every out-of-range pixel; ``D`` sees the raw
    values and ``G`` learns that real images stay in [0, 1]. The AdaIN target is a constant, as in
    :func:`gantransfer.training.decoder_training.decoder_losses`, so XLA recognises the two computations as one.
    """
    target = jax.lax.stop_gradient(fusion.adain(generator.encode(vgg_params, content),
                                                generator.encode(vgg_params, style)))   # [N, H/8, W/8, 512]
    return generator.decode(g_params, target, width=width)


def make_optimizers(config: GanTrainConfig) -> tuple[optax.GradientTransformation, optax.GradientTransformation]:
    """``(G's, D's)`` optax Adam; ``G``'s gradient is clipped to global norm 1 as in decoder training."""
    g_tx = optax.chain(optax.clip_by_global_norm(1.0),
                       optax.adam(config.g_learning_rate, b1=config.beta1, b2=config.beta2))
    d_tx = optax.adam(config.d_learning_rate, b1=config.beta1, b2=config.beta2)
    return g_tx, d_tx


def _check_decoder(params, config: GanTrainConfig):
    expected = jax.eval_shape(lambda: generator.init_decoder(jax.random.key(0), width=config.width))
    if jax.tree.structure(params) != jax.tree.structure(expected) or any(
            np.shape(a) != b.shape for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(expected))):
        raise ValueError(f"init_decoder does not match a decoder of width {config.width} (config.width)")
    return params


def init_gan_state(config: GanTrainConfig, *, init_decoder=None) -> dict:
    """A fresh state ``{"g_params", "g_opt", "d_params", "d_opt", "step"}``.

    Args:
      config: the run's settings.
      init_decoder: ``None`` (a decoder from scratch, seeded by ``config.seed``), decoder parameters
        (an ``nnx.State``), or the path of an exported decoder (:func:`gantransfer.pipeline.decoder_file.load_decoder`),
        e.g. :data:`gantransfer.pipeline.generator.SHIPPED_DECODER`: adversarial fine-tuning of a trained ``G``.
    """
    g_key, d_key = jax.random.split(jax.random.key(config.seed))
    if init_decoder is None:
        g_params = generator.init_decoder(g_key, width=config.width)
    elif isinstance(init_decoder, (str, os.PathLike)):
        g_params, width = decoder_file.load_decoder(init_decoder)
        if width != config.width:
            raise ValueError(f"decoder {init_decoder} has width {width}, the config says {config.width}")
    else:
        g_params = _check_decoder(init_decoder, config)
    g_params = jax.tree.map(jnp.asarray, g_params)
    d_params = discriminator.init_discriminator(d_key, **config.d_arch())
    g_tx, d_tx = make_optimizers(config)
    return {"g_params": g_params, "g_opt": g_tx.init(g_params),
            "d_params": d_params, "d_opt": d_tx.init(nnx.split_state(d_params, nnx.Param, ...)[0]),
            "step": jnp.zeros((), jnp.int32)}


def abstract_gan_state(config: GanTrainConfig) -> dict:
    """The structure (shapes and dtypes) of a checkpoint of this run, for :func:`gantransfer.training.checkpoints.restore_checkpoint`."""
    return jax.eval_shape(lambda: init_gan_state(config))


# ---------------------------------------------------------------------------------------------------
# The pure steps.

def _step_key(config: GanTrainConfig) -> GanTrainConfig:
    """The settings that shape the compiled steps; the rest (weights and learning rates are traced scalars)
    share one compilation, so moving a learning-rate slider in notebook 05 does not recompile."""
    return dataclasses.replace(config, steps=1, seed=0, checkpoint_every=1, style_variants=1, divergence_window=1,
                               pool_side=config.crop, adv_weight=1.0, style_weight=1.0,
                               r1_weight=1.0 if config.r1_weight > 0 else 0.0,
                               g_learning_rate=1.0, d_learning_rate=1.0)


@functools.lru_cache(maxsize=None)
def _compiled_steps(key: GanTrainConfig):
    # The key's learning rates are 1: these are Adam's unit steps (optax's adam scales by -lr last, and its
    # state does not hold lr), and each step multiplies them by the traced learning rate, which gives
    # make_optimizers(config)'s update exactly and keeps its state's structure.
    g_tx, d_tx = make_optimizers(key)
    arch = key.d_arch()
    D = functools.partial(discriminator.discriminate, **arch)
    use_r1 = key.r1_weight > 0

    def stats_of(vgg_params, style):
        return discriminator.style_statistics(vgg_params, style) if key.conditional else None

    @jax.jit
    def d_step(state, vgg_params, batch, r1_weight, learning_rate):
        d_state = discriminator.refresh_spectral(state["d_params"], iterations=1, **arch)
        params, rest = nnx.split_state(d_state, nnx.Param, ...)
        stats = stats_of(vgg_params, batch.style)                                # [B, S] or None
        fake = jax.lax.stop_gradient(stylize(state["g_params"], vgg_params, batch.content, batch.style,
                                             width=key.width))                   # [B, H, W, 3]

        def loss_fn(params):
            d = functools.partial(D, nnx.merge_state(params, rest))
            real_logits, fake_logits = d(batch.style, stats), d(fake, stats)    # [B, h, w, 1] each
            adv = discriminator.d_loss(real_logits, fake_logits, kind=key.loss)
            r1 = discriminator.r1_penalty(lambda x: d(x, stats), batch.style) if use_r1 else jnp.zeros(())
            metrics = {"d_loss": adv, "r1": r1, "d_real": jnp.mean(real_logits), "d_fake": jnp.mean(fake_logits),
                       # the probability margin: 1 when D is sure of every patch, 0 at chance
                       "d_margin": jnp.mean(jax.nn.sigmoid(real_logits)) - jnp.mean(jax.nn.sigmoid(fake_logits))}
            return adv + 0.5 * r1_weight * r1, metrics

        (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, d_opt = d_tx.update(grads, state["d_opt"], params)
        updates = jax.tree.map(lambda u: u * learning_rate, updates)
        metrics["d_grad_norm"] = optax.tree.norm(grads)
        d_params = nnx.merge_state(optax.apply_updates(params, updates), rest)
        return {**state, "d_params": d_params, "d_opt": d_opt}, metrics

    @jax.jit
    def g_step(state, vgg_params, batch, style_weight, adv_weight, learning_rate):
        stats = stats_of(vgg_params, batch.style)
        d = functools.partial(D, state["d_params"])

        def loss_fn(g_params):
            base, parts = decoder_training.decoder_losses(g_params, vgg_params, batch, style_weight=style_weight,
                                               style_loss=key.style_loss, width=key.width,
                                               identity_weight=key.identity_weight)
            fake = stylize(g_params, vgg_params, batch.content, batch.style, width=key.width)
            adv = discriminator.g_loss(d(fake, stats), kind=key.loss)
            total = base + adv_weight * adv
            metrics = {"g_total": total, "g_adv": adv, **{k: v for k, v in parts.items() if k != "total"}}
            if fake.shape[0] > 1:  # output diversity across the batch, for the collapse detector
                out_std = jnp.mean(jnp.std(jnp.clip(fake, 0.0, 1.0), axis=0))
                in_std = jnp.mean(jnp.std(batch.content, axis=0))
                metrics["diversity"] = jax.lax.stop_gradient(out_std / jnp.maximum(in_std, 1e-3))
            return total, metrics

        (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["g_params"])
        updates, g_opt = g_tx.update(grads, state["g_opt"], state["g_params"])
        updates = jax.tree.map(lambda u: u * learning_rate, updates)
        metrics["g_grad_norm"] = optax.tree.norm(grads)
        g_params = optax.apply_updates(state["g_params"], updates)
        return {**state, "g_params": g_params, "g_opt": g_opt, "step": state["step"] + 1}, metrics

    return d_step, g_step


def _as_batch(batch) -> batches.Batch:
    return batches.Batch(*map(jnp.asarray, batch))


def d_step(config: GanTrainConfig, state: dict, vgg_params: nnx.State, batch: batches.Batch) -> tuple[dict, dict]:
    """One pure, jit-compiled update of ``D``: ``-> (state, metrics)``.

    Refreshes the spectral-norm vectors (one power iteration), then one Adam step on
    ``d_loss(D(style), D(G(content, style))) + (r1_weight / 2) · R1`` with ``G`` fixed.

    Args:
      config: the run's settings.
      state: ``{"g_params", "g_opt", "d_params", "d_opt", "step"}`` (:func:`init_gan_state`).
      vgg_params: VGG16 parameters.
      batch: ``content`` and ``style`` crops, ``[B, crop, crop, 3]`` in [0, 1] (:func:`gantransfer.training.batches.make_batch`).
    Returns:
      The state with new ``d_params``/``d_opt``, and scalar metrics ``d_loss`` (without R1), ``r1``,
      ``d_real``/``d_fake`` (mean logits), ``d_margin`` (mean sigmoid margin), ``d_grad_norm``, computed
      before the update.
    References:
      Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014; Mescheder et al., ICML 2018 (R1).
    """
    step, _ = _compiled_steps(_step_key(config))
    return step(state, vgg_params, _as_batch(batch), jnp.float32(config.r1_weight),
                jnp.float32(config.d_learning_rate))


def g_step(config: GanTrainConfig, state: dict, vgg_params: nnx.State, batch: batches.Batch) -> tuple[dict, dict]:
    """One pure, jit-compiled update of ``G``'s decoder: ``-> (state, metrics)``; ``step`` advances by one.

    Minimises ``content + style_weight · style + adv_weight · g_loss(D(G(content, style)))`` with ``D`` fixed.

    Args:
      As :func:`d_step`.
    Returns:
      The state with new ``g_params``/``g_opt``/``step``, and metrics ``g_total``, ``g_adv``, ``content``,
      ``style``, ``g_grad_norm`` and (for batches of 2 or more) ``diversity``: the std across the batch of
      ``G``'s outputs over that of its content inputs (averaged over pixels), which falls towards 0 when
      ``G`` ignores its content.
    References:
      Huang & Belongie, ICCV 2017 (the content and style terms).
    """
    _, step = _compiled_steps(_step_key(config))
    return step(state, vgg_params, _as_batch(batch), jnp.float32(config.style_weight), jnp.float32(config.adv_weight),
                jnp.float32(config.g_learning_rate))


# ---------------------------------------------------------------------------------------------------
# Divergence detection.

#: ``D`` has won when ``d_loss`` stays below this fraction of its value at chance
#: (:data:`gantransfer.pipeline.discriminator.D_LOSS_AT_CHANCE`) — 0.069 for "ns" (patch probabilities ≈ 0.97 vs 0.03),
#: 0.1 for "hinge", 0.025 for "lsgan" — ...
D_WINS_RELATIVE_LOSS = 0.05
#: ... or when its probability margin ``mean σ(D(real)) - mean σ(D(fake))`` stays above this. Either way
#: ``G``'s adversarial gradient is vanishing (ns) or no longer informative, and ``D`` no longer learns.
D_WINS_MARGIN = 0.95
#: ``G`` has collapsed when its outputs vary across the batch less than a tenth as much as its content
#: inputs do: it paints (nearly) one picture whatever the content. Even an untrained decoder keeps
#: enough of the layout to score 0.3-0.6 (random init, 64 px crops of four bundled photos), so a run
#: from scratch does not raise a false alarm.
COLLAPSE_DIVERSITY = 0.1


def divergence_alerts(history: Mapping[str, Sequence[float]], *, loss: str, window: int = 50,
                      d_wins_relative_loss: float = D_WINS_RELATIVE_LOSS, d_wins_margin: float = D_WINS_MARGIN,
                      collapse_diversity: float = COLLAPSE_DIVERSITY) -> list[str]:
    """Messages for the ways a GAN fails while its numbers still look finite; pure (no state, no warnings).

    A condition counts only if it held on *every* one of the last ``window`` steps: GAN losses jump
    from batch to batch, and one lucky batch is not a diverged run.

    * ``"discriminator wins"``: ``d_loss < d_wins_relative_loss × D_LOSS_AT_CHANCE[loss]`` or
      ``d_margin > d_wins_margin`` throughout. Remedies: lower ``d_learning_rate``, raise ``r1_weight``,
      keep spectral norm on.
    * ``"generator collapse"``: ``diversity < collapse_diversity`` throughout. Remedies: lower
      ``adv_weight``, raise the content weight (lower ``style_weight``), resume from an earlier checkpoint.

    Args:
      history: metric name → values, oldest first (the keys ``d_loss``, ``d_margin``, ``diversity``
        are read; missing ones are skipped).
      loss: the adversarial loss kind, which sets the scale of ``d_loss``.
      window: steps a condition must persist.
    Returns:
      A list of messages, empty when all is well.
    """
    if loss not in discriminator.D_LOSS_AT_CHANCE:
        raise ValueError(f"loss must be one of {', '.join(map(repr, discriminator.LOSS_KINDS))}; got {loss!r}")
    if not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive integer; got {window!r}")

    def last(name):
        values = list(history.get(name, ()))
        return np.asarray(values[-window:], np.float64) if len(values) >= window else None

    alerts = []
    d_loss, margin, diversity = last("d_loss"), last("d_margin"), last("diversity")
    floor = d_wins_relative_loss * discriminator.D_LOSS_AT_CHANCE[loss]
    loss_low = d_loss is not None and bool(np.all(d_loss < floor))
    margin_high = margin is not None and bool(np.all(margin > d_wins_margin))
    if loss_low or margin_high:
        # Quote the condition that held, with its threshold.
        shown = (f"d_loss ≤ {np.max(d_loss):.3g} < {floor:.3g}" if loss_low
                 else f"probability margin ≥ {np.min(margin):.3g} > {d_wins_margin}")
        alerts.append(f"discriminator wins: for {window} steps D has told every real patch from every fake one "
                      f"({shown}); G learns nothing from it. Lower d_learning_rate or raise r1_weight.")
    if diversity is not None and np.all(diversity < collapse_diversity):
        alerts.append(f"generator collapse: for {window} steps G's outputs have varied across the batch only "
                      f"{np.max(diversity):.3g}× as much as its content inputs (threshold {collapse_diversity}); "
                      f"it ignores the content. Lower adv_weight or resume from an earlier checkpoint.")
    return alerts


class DivergenceWarning(UserWarning):
    """Issued by :class:`DivergenceDetector` when adversarial training goes wrong."""


class DivergenceDetector:
    """Keeps the last ``window`` steps' metrics and warns (once per episode) when :func:`divergence_alerts` fires.

    ``update(metrics)`` returns the alerts that *started* at this step and issues each as a
    :class:`DivergenceWarning`; an alert is raised again only after its condition has cleared.
    """

    def __init__(self, *, loss: str, window: int = 50, **thresholds):
        divergence_alerts({}, loss=loss, window=window, **thresholds)  # validates the settings
        self.loss, self.window, self.thresholds = loss, window, thresholds
        self.history: dict[str, collections.deque] = collections.defaultdict(lambda: collections.deque(maxlen=window))
        self.active: set[str] = set()

    def update(self, metrics: Mapping[str, float]) -> list[str]:
        """Add one step's metrics; warn about, and return, the alerts whose condition began at this step."""
        for name in ("d_loss", "d_margin", "diversity"):
            if name in metrics:
                self.history[name].append(float(metrics[name]))
        alerts = divergence_alerts(self.history, loss=self.loss, window=self.window, **self.thresholds)
        kinds = {a.split(":")[0]: a for a in alerts}
        new = [message for kind, message in kinds.items() if kind not in self.active]
        self.active = set(kinds)
        for message in new:
            warnings.warn(message, DivergenceWarning, stacklevel=2)
        return new


# ---------------------------------------------------------------------------------------------------
# The training loop.

class GanReport(NamedTuple):
    """One step: its metrics (floats), whether a checkpoint was written after it, the divergence alerts started at
    it, and the whole state after it (``g_params``, ``d_params``, optimiser states, ``step``), so that a notebook
    can draw ``G``'s pictures without reading a checkpoint back."""

    step: int
    metrics: dict
    checkpointed: bool
    alerts: tuple
    state: dict


class Diverged(FloatingPointError):
    """A non-finite metric: training stopped. ``step`` and ``metrics`` say where and what (for the curves)."""

    def __init__(self, message: str, *, step: int, metrics: dict):
        super().__init__(message)
        self.step, self.metrics = step, metrics


def train_gan(config: GanTrainConfig, *, workdir: str | os.PathLike | None, contents: Sequence = None,
              styles: Sequence = None, resume: bool = False, init_decoder=None,
              vgg_params=None, pools: tuple[list, list] | None = None) -> Iterator[GanReport]:
    """Train (or resume training) ``G`` against ``D``, yielding a :class:`GanReport` every step.

    Checkpoints of the whole state go to ``workdir`` every ``config.checkpoint_every`` steps and at the
    end; per-step metrics to ``workdir/metrics.csv``. A non-finite metric raises ``FloatingPointError``
    before anything is saved, so the last good checkpoint stays. Divergence alerts are issued as
    :class:`DivergenceWarning` and returned in the report.

    Args:
      config: the run's settings (saved as ``config.json``; a resume must use the same ones, except
        ``steps``, ``checkpoint_every`` and ``divergence_window``).
      workdir: checkpoint folder.
      contents, styles: bundled names, files or folders; default all bundled photos and styles.
      resume: continue from the newest checkpoint in ``workdir`` (one must exist); a damaged newest one is set
        aside with a warning and the one before it used (:func:`gantransfer.training.checkpoints.resume_state`).
      init_decoder: where ``G`` starts (:func:`init_gan_state`); ignored on resume, where the
        checkpoint holds ``G``.
      vgg_params: VGG16 parameters (default: :func:`gantransfer.pipeline.extractor.load_params`).
      pools: ``(content_pool, style_pool)`` already loaded by :func:`gantransfer.training.batches.load_pool`
        (a notebook's repeated short runs load them once); ``contents`` and ``styles`` are then unused.
      workdir: ``None`` trains in memory only (no checkpoint, log or settings file): the notebook's short runs,
        which read ``G`` from each report's ``state``.
    Raises:
      Diverged: a non-finite metric (a ``FloatingPointError`` naming the step; the last good checkpoint stays).
    """
    if workdir is None and resume:
        raise ValueError("resume needs a workdir")
    workdir = Path(workdir) if workdir is not None else None
    vgg_params = extractor.load_params() if vgg_params is None else vgg_params
    contents = list(contents) if contents else list(samples.CONTENT_NAMES)
    styles = list(styles) if styles else batches.default_styles(config.style_variants)
    if pools is None:
        pools = (batches.load_pool(contents, kind="content", side=config.pool_side),
                 batches.load_pool(styles, kind="style", side=config.pool_side))

    # the run's one orbax manager (none for an in-memory run)
    with checkpoints.RunCheckpoints(workdir) if workdir is not None else contextlib.nullcontext() as run:
        yield from _gan_steps(config, run, workdir, resume, init_decoder, vgg_params, pools)


def _gan_steps(config, run, workdir, resume, init_decoder, vgg_params, pools) -> Iterator[GanReport]:
    """The steps of :func:`train_gan` inside its run's checkpoint manager (``run`` is ``None`` in memory)."""
    pool_c, pool_s = pools
    if resume:
        state = checkpoints.resume_state(workdir, config, abstract_gan_state(config), may_change=_RESUMABLE,
                                           run=run)
    else:
        if run is not None and run.latest_step() is not None:
            raise FileExistsError(f"{workdir} already holds checkpoints; pass --resume to continue, or another folder")
        state = init_gan_state(config, init_decoder=init_decoder)
    start = int(state["step"])
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1))
    log = checkpoints.MetricsLog(workdir / "metrics.csv") if workdir is not None else None
    detector = DivergenceDetector(loss=config.loss, window=config.divergence_window)
    for step in range(start, config.steps):
        tic = time.perf_counter()
        batch = batches.make_batch(pool_c, pool_s, seed=config.seed, step=step, batch=config.batch, crop=config.crop)
        new_state, d_metrics = d_step(config, state, vgg_params, batch)
        new_state, g_metrics = g_step(config, new_state, vgg_params, batch)
        metrics = {k: float(v) for k, v in {**d_metrics, **g_metrics}.items()}
        if not all(math.isfinite(v) for v in metrics.values()):
            bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
            kept = (f"the last good checkpoint in {workdir} (step {run.latest_step()}) is kept. Lower "
                    "the learning rates and resume." if workdir is not None else "lower the learning rates.")
            raise Diverged(f"non-finite {', '.join(bad)} at step {step + 1} ({metrics}); training stopped, {kept}",
                           step=step + 1, metrics=metrics)
        state = new_state
        done = step + 1
        if log is not None:
            log.append(done, metrics, seconds=time.perf_counter() - tic)
        alerts = tuple(detector.update(metrics))
        save = workdir is not None and (done % config.checkpoint_every == 0 or done == config.steps)
        if save:
            run.save(done, state)
        yield GanReport(done, metrics, save, alerts, state)
