"""Unpaired translation with cycle consistency (CycleGAN, Zhu, Park, Isola & Efros 2017): photos ↔ a style family.

One style image gives one set of statistics to match. A *collection* — here 50 paintings of one procedural style,
each with its own seed — is a distribution: no single Gram matrix describes it, and no photo has its "painted"
twin. CycleGAN learns from two unpaired piles all the same. Two generators, ``G: photo → painting`` and
``F: painting → photo`` (each a :mod:`gantransfer.pipeline.style_generator` network), and two patch discriminators,
``D_B`` (is this patch from a painting of the family?) and ``D_A`` (from a photo?), play two GANs at once, tied by
the **cycle loss**

    L_cyc = mean |F(G(a)) − a| + mean |G(F(b)) − b|,

which asks that a photo painted and "unpainted" come back as itself: ``G`` may change the style but must keep what
``F`` needs to rebuild the photo — the content, without any pretrained network (no VGG16 here). An invertible
remapping of brightness satisfies the cycle too: without more, ``G`` learnt to paint the photos with their light and
dark *inverted* (structure −0.92 to −0.96 on held-out photos after 1,500 steps). The paper's **identity loss** for
paintings ↔ photos, ``μ (mean |G(b) − b| + mean |F(a) − a|)``, asks each generator to leave its own domain alone,
which keeps the tones in place. Losses as in the paper: least squares for the adversarial terms, ``λ = 10`` for the
cycle, ``μ = λ / 2``; Adam 2e-4, β1 = 0.5 for all four networks.

Parameters are plain pytrees; :func:`train_cycle_gan` trains in memory and yields reports (a notebook's live run).
Taught in ``notebooks/05b_style_gan.ipynb``.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Iterator, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gantransfer.core import paint, samples
from gantransfer.core.validate import check_count, check_weight
from gantransfer.pipeline import discriminator, style_generator
from gantransfer.training import batches


@dataclasses.dataclass(frozen=True, kw_only=True)
class CycleGanConfig:
    """Settings of a CycleGAN run (keyword-only, checked).

    Attributes:
      family: the procedural style whose paintings form domain B (:data:`gantransfer.core.paint.STYLE_NAMES`).
      paintings: how many paintings of the family (seeds ``1 … paintings``; the bundled image is seed 0).
      steps, batch, crop: training steps, crops per domain per step, their side (a multiple of 4).
      pool_side: photos and paintings are resized once to this shorter side, then cropped.
      width: both generators' width; d_patch, d_width: both discriminators' patch side and channels.
      cycle_weight: ``λ`` of the cycle loss.
      identity_weight: ``μ`` of the identity loss (0: off).
      learning_rate, beta1: Adam's, for all four networks.
      seed: of the initialisation and the batches.
    """

    family: str = "waves"
    paintings: int = 50
    steps: int = 1500
    batch: int = 4
    crop: int = 64
    pool_side: int = 128
    width: int = 16
    d_patch: int = 9
    d_width: int = 32
    cycle_weight: float = 10.0
    identity_weight: float = 5.0
    learning_rate: float = 2e-4
    beta1: float = 0.5
    seed: int = 0

    def __post_init__(self):
        if self.family not in paint.STYLE_NAMES:
            raise ValueError(f"family must be one of {', '.join(paint.STYLE_NAMES)}; got {self.family!r}")
        for name in ("paintings", "steps", "batch", "crop", "pool_side", "width", "d_patch", "d_width"):
            check_count(getattr(self, name), name)
        check_weight(self.cycle_weight, "cycle_weight")
        check_weight(self.identity_weight, "identity_weight")
        check_weight(self.learning_rate, "learning_rate", allow_zero=False)
        if not 0 <= self.beta1 < 1:
            raise ValueError(f"beta1 must be in [0, 1); got {self.beta1}")
        if discriminator.patch_stride(self.d_patch) is None:
            raise ValueError(f"d_patch must be a square k² with k >= 2; got {self.d_patch}")
        if self.crop % style_generator.MULTIPLE or self.crop < self.d_patch or self.pool_side < self.crop:
            raise ValueError(f"crop must be a multiple of {style_generator.MULTIPLE}, at least d_patch and at most "
                             f"pool_side; got crop {self.crop}, d_patch {self.d_patch}, pool_side {self.pool_side}")


def family_pool(config: CycleGanConfig) -> list[np.ndarray]:
    """Domain B: ``config.paintings`` paintings of ``config.family`` (seeds 1, 2, …), ``[S, S, 3]`` float32 each."""
    return [paint.make_style(config.family, size=config.pool_side, seed=seed).astype(np.float32) / 255.0
            for seed in range(1, config.paintings + 1)]


def _optimizer(config: CycleGanConfig) -> optax.GradientTransformation:
    return optax.adam(config.learning_rate, b1=config.beta1)


def init_state(config: CycleGanConfig) -> dict:
    """``{"g": {"ab", "ba"}, "d": {"a", "b"}, "g_opt", "d_opt", "step"}`` of a fresh run."""
    keys = jax.random.split(jax.random.key(config.seed), 4)
    g = {"ab": style_generator.init_generator(keys[0], width=config.width),
         "ba": style_generator.init_generator(keys[1], width=config.width)}
    d = {name: discriminator.init_patch_critic(k, d_patch=config.d_patch, d_width=config.d_width)
         for name, k in zip(("a", "b"), keys[2:])}
    tx = _optimizer(config)
    return {"g": g, "d": d, "g_opt": tx.init(g), "d_opt": tx.init(d), "step": jnp.zeros((), jnp.int32)}


def cycle_loss(g: dict, photos: jax.Array, paintings: jax.Array) -> jax.Array:
    """``mean |F(G(a)) − a| + mean |G(F(b)) − b|`` for photos ``a`` and paintings ``b`` (``[N, H, W, 3]`` each)."""
    back_a = style_generator.apply_generator(g["ba"], style_generator.apply_generator(g["ab"], photos))
    back_b = style_generator.apply_generator(g["ab"], style_generator.apply_generator(g["ba"], paintings))
    return jnp.mean(jnp.abs(back_a - photos)) + jnp.mean(jnp.abs(back_b - paintings))


@functools.partial(jax.jit, static_argnames=("config",))
def train_step(config: CycleGanConfig, state: dict, photos: jax.Array, paintings: jax.Array) -> tuple[dict, dict]:
    """One update of both generators (adversarial + ``λ`` · cycle + ``μ`` · identity), then of both discriminators
    (least squares).

    Args:
      photos, paintings: ``[B, crop, crop, 3]`` crops of the two domains (unpaired).
    Returns:
      ``(state, metrics)``: ``g_adv`` (both generators' adversarial terms), ``cycle``, ``identity``, ``d_a``, ``d_b``.
    """
    tx = _optimizer(config)
    critic = discriminator.patch_critic

    def g_objective(g):
        fake_b = style_generator.apply_generator(g["ab"], photos)
        fake_a = style_generator.apply_generator(g["ba"], paintings)
        adv = (discriminator.g_loss(critic(state["d"]["b"], fake_b), kind="lsgan")
               + discriminator.g_loss(critic(state["d"]["a"], fake_a), kind="lsgan"))
        cyc = cycle_loss(g, photos, paintings)
        total = adv + config.cycle_weight * cyc
        same = jnp.zeros(())
        if config.identity_weight:
            same = (jnp.mean(jnp.abs(style_generator.apply_generator(g["ab"], paintings) - paintings))
                    + jnp.mean(jnp.abs(style_generator.apply_generator(g["ba"], photos) - photos)))
            total = total + config.identity_weight * same
        return total, (adv, cyc, same, fake_a, fake_b)

    (_, (adv, cyc, same, fake_a, fake_b)), g_grads = jax.value_and_grad(g_objective, has_aux=True)(state["g"])
    updates, g_opt = tx.update(g_grads, state["g_opt"], state["g"])
    g = optax.apply_updates(state["g"], updates)
    fake_a, fake_b = jax.lax.stop_gradient(fake_a), jax.lax.stop_gradient(fake_b)

    def d_objective(d):
        d_a = discriminator.d_loss(critic(d["a"], photos), critic(d["a"], fake_a), kind="lsgan")
        d_b = discriminator.d_loss(critic(d["b"], paintings), critic(d["b"], fake_b), kind="lsgan")
        return d_a + d_b, (d_a, d_b)

    (_, (d_a, d_b)), d_grads = jax.value_and_grad(d_objective, has_aux=True)(state["d"])
    updates, d_opt = tx.update(d_grads, state["d_opt"], state["d"])
    d = optax.apply_updates(state["d"], updates)
    metrics = {"g_adv": adv, "cycle": cyc, "identity": same, "d_a": d_a, "d_b": d_b}
    return {"g": g, "d": d, "g_opt": g_opt, "d_opt": d_opt, "step": state["step"] + 1}, metrics


class CycleReport(NamedTuple):
    """Every ``report_every`` steps: the step, that step's metrics, ``G``'s painting of the sample photo, the state."""

    step: int
    metrics: dict
    sample: np.ndarray
    state: dict


def train_cycle_gan(config: CycleGanConfig = CycleGanConfig(), *, contents: Sequence = None, sample_photo=None,
                    state: dict | None = None, report_every: int = 50) -> Iterator[CycleReport]:
    """Train ``G`` (photo → painting) and ``F`` (painting → photo) against ``D_B`` and ``D_A``, in memory.

    Args:
      contents: domain A: bundled photo names, files or folders (default: the bundled photos).
      sample_photo: ``[H, W, 3]`` painted by ``G`` in each report (default: ``chelsea`` at 128 px).
      state: continue from this state (a report's ``state``).
    Raises:
      FloatingPointError: a non-finite loss.
    """
    check_count(report_every, "report_every")
    pool_a = batches.load_pool(list(contents) if contents else list(samples.CONTENT_NAMES), kind="content",
                               side=config.pool_side)
    pool_b = family_pool(config)
    photo = samples.content_image("chelsea", size=128) if sample_photo is None else sample_photo
    state = init_state(config) if state is None else state
    for step in range(int(state["step"]), config.steps):
        batch = batches.make_batch(pool_a, pool_b, seed=config.seed, step=step, batch=config.batch, crop=config.crop)
        state, metrics = train_step(config, state, jnp.asarray(batch.content), jnp.asarray(batch.style))
        done = step + 1
        if done % report_every == 0 or done == config.steps:
            metrics = {k: float(v) for k, v in metrics.items()}
            if not all(math.isfinite(v) for v in metrics.values()):
                raise FloatingPointError(f"non-finite loss at step {done}: {metrics}")
            yield CycleReport(done, metrics, style_generator.stylize(state["g"]["ab"], photo), state)
