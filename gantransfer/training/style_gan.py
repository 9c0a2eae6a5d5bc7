"""Training a per-style generator ``G_S`` against a patch discriminator (P²-GAN, Zheng & Liu 2020), with a Gram loss.

One style image, a few photos. Each step:

1. ``D`` (pixels → one logit per non-overlapping ``p × p`` patch, ``p`` = :attr:`StyleGanConfig.d_patch`) learns to
   tell crops of the style — their patches shuffled, so ``D`` judges patches and not the style image's layout
   (P²-GAN's *patch permutation*) — from ``G_S``'s paintings of photo crops (non-saturating loss, Goodfellow 2014).
2. ``G_S`` minimises ``content + style_weight · Gram + adv_weight · adversarial``: the content loss keeps the photo's
   VGG16 ``relu2_2`` features (Johnson et al. 2016), the Gram loss matches the style's Gram matrices on
   ``relu1_2``, ``relu2_2`` and ``relu3_3`` (Gatys et al. 2016), the adversarial loss asks ``D`` to take the
   painting's patches for the style's. Both VGG losses are relative (divided by the target's own size), so the
   weights mean the same for every style. ``adv_weight = 0`` is Johnson's network; ``style_weight = 0`` is the
   adversarial term alone: the ablation of ``docs/gan.md``. ``stability_weight > 0`` adds :func:`stability_loss`
   (``G_S`` should paint a slightly moved photo as the moved painting): the steady generators of ``gantransfer video``,
   fine-tuned from the shipped ones (``--init-generator shipped``).

Batches are a pure function of ``(seed, step)`` (:func:`gantransfer.training.batches.make_batch`), so a resumed run
repeats an uninterrupted one exactly; checkpoints go through one orbax manager per run
(:class:`~gantransfer.training.checkpoints.RunCheckpoints`); each batch is split over the devices of a mesh as in
decoder training. Run by ``gantransfer train gan --style NAME``.
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
from gantransfer.pipeline import discriminator, extractor, style_generator
from gantransfer.pipeline.style import gram_matrix
from gantransfer.training import batches, checkpoints, parallel

#: Layers of the Gram style loss and of the content loss.
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3")
CONTENT_LAYER = "relu2_2"


@dataclasses.dataclass(frozen=True, kw_only=True)
class StyleGanConfig:
    """Settings of a per-style GAN run (keyword-only, checked; saved beside the checkpoints).

    Attributes:
      style: the style — a bundled name or an image file — recorded so that a resume with another style is refused
        (``""`` when :func:`train_style_gan` is given the image itself).
      steps, batch, crop: training steps, photo crops per step (split over the devices), their side (px).
      pool_side: photos are resized once so their shorter side is this, then cropped.
      style_side: the style image is resized so its shorter side is this (the scale of its strokes in ``G_S``'s
        pictures at ``pool_side``).
      width: ``G_S``'s width (:func:`gantransfer.pipeline.style_generator.init_generator`).
      style_weight: weight of the relative Gram loss (0: the adversarial term only).
      adv_weight: weight of the adversarial loss (0: no ``D`` at all, Johnson et al.'s network).
      d_patch: side of the non-overlapping patches ``D`` judges: a square ``k²`` (two ``k × k`` stride-``k``
        convolutions), e.g. 9 (P²-GAN) or 16.
      d_width: channels of ``D``'s first convolution (doubled in the second).
      d_steps: ``D`` updates per ``G_S`` update (on the same batch, each with its own patch shuffle): who leads the
        game, one of the seed's questions.
      permute_patches: shuffle the ``d_patch`` patches of each real crop (P²-GAN).
      stability_weight: weight of :func:`stability_loss` (0, the default: off), which asks ``G_S`` to follow a small
        camera move of the photo with the same move of the painting: steadier video (``gantransfer video``).
      g_learning_rate, d_learning_rate, beta1: Adam's (``beta1`` for ``D``; ``G_S`` uses 0.9).
      checkpoint_every: steps between checkpoints.
      seed: of the initialisation and the batches.
    """

    style: str = ""
    steps: int = 2000
    batch: int = 4
    crop: int = 128
    pool_side: int = 256
    style_side: int = 256
    width: int = style_generator.DEFAULT_WIDTH
    style_weight: float = 10.0
    adv_weight: float = 1.0
    d_patch: int = 16
    d_width: int = 32
    d_steps: int = 1
    permute_patches: bool = True
    stability_weight: float = 0.0
    g_learning_rate: float = 1e-3
    d_learning_rate: float = 2e-4
    beta1: float = 0.5
    checkpoint_every: int = 250
    seed: int = 0

    def __post_init__(self):
        for name in ("steps", "batch", "crop", "pool_side", "style_side", "width", "d_patch", "d_width", "d_steps",
                     "checkpoint_every"):
            check_count(getattr(self, name), name)
        for name in ("style_weight", "adv_weight", "stability_weight"):
            check_weight(getattr(self, name), name)
        if self.style_weight == 0 and self.adv_weight == 0:
            raise ValueError("style_weight and adv_weight are both 0: nothing would carry the style")
        for name in ("g_learning_rate", "d_learning_rate"):
            check_weight(getattr(self, name), name, allow_zero=False)
        if not 0 <= self.beta1 < 1:
            raise ValueError(f"beta1 must be in [0, 1); got {self.beta1}")
        if discriminator.patch_stride(self.d_patch) is None:
            raise ValueError(f"d_patch must be a square k² with k >= 2 (4, 9, 16, 25, ...); got {self.d_patch}")
        if self.crop % style_generator.MULTIPLE or self.crop < 2 * self.d_patch:
            raise ValueError(f"crop must be a multiple of {style_generator.MULTIPLE} and at least 2 × d_patch "
                             f"({2 * self.d_patch}); got {self.crop}")
        if min(self.pool_side, self.style_side) < self.crop:
            raise ValueError(f"pool_side and style_side must be at least crop ({self.crop})")


# ---------------------------------------------------------------------------------------------------
# Losses and one step.

def style_targets(vgg_params, style: jax.Array) -> dict[str, jax.Array]:
    """The Gram matrices ``{layer: [c, c]}`` of the style image ``[H, W, 3]`` on :data:`STYLE_LAYERS`."""
    feats = extractor.forward(vgg_params, style[None], STYLE_LAYERS)
    return {k: gram_matrix(feats[k])[0] for k in STYLE_LAYERS}


def perceptual_losses(vgg_params, photos: jax.Array, paintings: jax.Array,
                      targets: dict[str, jax.Array]) -> tuple[jax.Array, jax.Array]:
    """``(content, style)`` of paintings ``[N, H, W, 3]`` of photos ``[N, H, W, 3]``, both relative:
    ``‖φ(painting) − φ(photo)‖² / ‖φ(photo)‖²`` on :data:`CONTENT_LAYER`, and the mean over
    :data:`STYLE_LAYERS` of ``‖G(painting) − G(style)‖² / ‖G(style)‖²`` (Johnson et al. 2016, normalised)."""
    layers = extractor.in_forward_order((*STYLE_LAYERS, CONTENT_LAYER))
    both = extractor.forward(vgg_params, jnp.concatenate([photos, paintings]), layers)
    n = photos.shape[0]
    photo_f = jax.lax.stop_gradient(both[CONTENT_LAYER][:n])
    content = jnp.sum((both[CONTENT_LAYER][n:] - photo_f) ** 2) / jnp.sum(photo_f ** 2)
    style = sum(jnp.sum((gram_matrix(both[k][n:]) - targets[k]) ** 2) / (n * jnp.sum(targets[k] ** 2))
                for k in STYLE_LAYERS) / len(STYLE_LAYERS)
    return content, style


#: :func:`stability_loss`'s camera: a shift of up to this many px on each axis and a zoom of up to this fraction,
#: drawn afresh each step (a video frame to the next moves by about this much), and the border left out (px).
STABILITY_SHIFT = 2.0
STABILITY_ZOOM = 0.03
STABILITY_MARGIN = 8


def camera_move(images: jax.Array, *, scale: jax.Array, shift: jax.Array) -> jax.Array:
    """``images`` ``[N, H, W, C]`` seen by a camera that zooms by ``scale`` about the centre and moves by ``shift``
    (``[2]``, px, ``(y, x)``); bilinear, the same shape."""
    centre = jnp.array(images.shape[1:3], jnp.float32) / 2
    scales = jnp.stack([scale, scale]).astype(jnp.float32)
    return jax.image.scale_and_translate(images, images.shape, (1, 2), scales, centre - scales * centre + shift,
                                         "linear", antialias=False)


def stability_loss(g_params: dict, photos: jax.Array, paintings: jax.Array, key: jax.Array) -> jax.Array:
    """How much ``G_S`` fails to follow a small camera move ``T``: ``mean ‖G_S(T x) − T G_S(x)‖²`` (summed over RGB).

    The equivariance form of Huang et al. 2017's temporal loss (real-time video style transfer), with a synthetic
    move instead of optical flow: flicker is ``G_S`` painting a shifted photo differently, and a video's frames are
    shifted photos. ``T``: a random shift up to :data:`STABILITY_SHIFT` px and zoom up to :data:`STABILITY_ZOOM`,
    the same for the batch; the outer :data:`STABILITY_MARGIN` px, where the move brings in the border, are left
    out. Args: ``photos`` and ``paintings = G_S(photos)``, ``[N, H, W, 3]``. Returns a scalar.
    """
    k_shift, k_zoom = jax.random.split(key)
    shift = jax.random.uniform(k_shift, (2,), minval=-STABILITY_SHIFT, maxval=STABILITY_SHIFT)
    scale = 1.0 + jax.random.uniform(k_zoom, (), minval=-STABILITY_ZOOM, maxval=STABILITY_ZOOM)
    moved = style_generator.apply_generator(g_params, camera_move(photos, scale=scale, shift=shift))
    diff = moved - camera_move(paintings, scale=scale, shift=shift)
    m = STABILITY_MARGIN
    return jnp.mean(jnp.sum(diff[:, m:-m, m:-m] ** 2, axis=-1))


def _optimizers(config: StyleGanConfig):
    return optax.adam(config.g_learning_rate), optax.adam(config.d_learning_rate, b1=config.beta1)


def init_state(config: StyleGanConfig) -> dict:
    """``{"g", "d", "g_opt", "d_opt", "step"}`` of a fresh run."""
    k_g, k_d = jax.random.split(jax.random.key(config.seed))
    g = style_generator.init_generator(k_g, width=config.width)
    d = discriminator.init_patch_critic(k_d, d_patch=config.d_patch, d_width=config.d_width)
    g_tx, d_tx = _optimizers(config)
    return {"g": g, "d": d, "g_opt": g_tx.init(g), "d_opt": d_tx.init(d), "step": jnp.zeros((), jnp.int32)}


@functools.lru_cache(maxsize=None)
def _compiled_step(config: StyleGanConfig, mesh):
    g_tx, d_tx = _optimizers(config)
    rep, data = parallel.replicated_sharding(mesh), parallel.data_sharding(mesh)
    patch = config.d_patch

    @functools.partial(jax.jit, in_shardings=(rep, rep, rep, data, data), out_shardings=(rep, rep))
    def step(state, vgg_params, targets, photos, style_crops):
        metrics = {}
        d = state["d"]
        if config.adv_weight:
            key = jax.random.fold_in(jax.random.key(config.seed), state["step"])
            fake = jax.lax.stop_gradient(style_generator.apply_generator(state["g"], photos))
            d_opt = state["d_opt"]
            for k in range(config.d_steps):
                real = (discriminator.permute_patches(key if k == 0 else jax.random.fold_in(key, 100 + k), style_crops,
                                                      patch) if config.permute_patches else style_crops)

                def d_objective(d):
                    real_logits, fake_logits = discriminator.patch_critic(d, real), discriminator.patch_critic(d, fake)
                    return discriminator.d_loss(real_logits, fake_logits, kind="ns"), (real_logits, fake_logits)

                (d_loss, (real_logits, fake_logits)), d_grads = jax.value_and_grad(d_objective, has_aux=True)(d)
                updates, d_opt = d_tx.update(d_grads, d_opt, d)
                d = optax.apply_updates(d, updates)
            metrics.update(d_loss=d_loss, d_real=jnp.mean(jax.nn.sigmoid(real_logits)),
                           d_fake=jnp.mean(jax.nn.sigmoid(fake_logits)))
        else:
            d_opt = state["d_opt"]

        def g_objective(g):
            paintings = style_generator.apply_generator(g, photos)
            content, style = perceptual_losses(vgg_params, photos, paintings, targets)
            parts = {"content": content, "style": style}
            total = content + config.style_weight * style
            if config.stability_weight:
                key = jax.random.fold_in(jax.random.fold_in(jax.random.key(config.seed), state["step"]), 1)
                parts["stability"] = stability_loss(g, photos, paintings, key)
                total = total + config.stability_weight * parts["stability"]
            if config.adv_weight:
                parts["g_adv"] = discriminator.g_loss(discriminator.patch_critic(d, paintings), kind="ns")
                total = total + config.adv_weight * parts["g_adv"]
            return total, parts

        (total, parts), g_grads = jax.value_and_grad(g_objective, has_aux=True)(state["g"])
        updates, g_opt = g_tx.update(g_grads, state["g_opt"], state["g"])
        g = optax.apply_updates(state["g"], updates)
        metrics.update(parts, total=total)
        return {"g": g, "d": d, "g_opt": g_opt, "d_opt": d_opt, "step": state["step"] + 1}, metrics

    return step


def train_step(config: StyleGanConfig, state: dict, vgg_params, targets: dict, batch: batches.Batch, *,
               mesh=None) -> tuple[dict, dict]:
    """One ``D`` update, then one ``G_S`` update: pure, jit-compiled, the batch split over ``mesh``'s devices.

    Args:
      state: :func:`init_state`'s pytree; vgg_params: VGG16's; targets: :func:`style_targets`.
      batch: ``content`` (photo crops) and ``style`` (style crops), ``[B, crop, crop, 3]`` each.
    Returns:
      ``(state, metrics)``: ``content``, ``style``, ``total`` (and ``g_adv``, ``d_loss``, ``d_real``, ``d_fake``,
      the mean of ``σ(D)`` on real and fake patches, when ``adv_weight > 0``).
    """
    mesh = parallel.default_mesh() if mesh is None else mesh
    state, vgg_params, targets = parallel.replicate((state, vgg_params, targets), mesh)
    batch = parallel.shard_batch(batches.Batch(*batch), mesh)
    return _compiled_step(config, mesh)(state, vgg_params, targets, batch.content, batch.style)


def state_from_generator(config: StyleGanConfig, g_params: dict) -> dict:
    """A fresh run's state whose ``G_S`` is ``g_params`` (a trained generator to fine-tune; ``D`` and both optimisers
    start afresh). Raises ``ValueError`` if its width is not ``config.width``."""
    width = style_generator.generator_width(g_params)
    if width != config.width:
        raise ValueError(f"the generator has width {width}, the run's config {config.width}; pass --width {width}")
    state = init_state(config)
    g_tx, _ = _optimizers(config)
    return {**state, "g": g_params, "g_opt": g_tx.init(g_params)}


def abstract_state(config: StyleGanConfig) -> dict:
    """The structure (shapes and dtypes) of this run's checkpoints."""
    return jax.eval_shape(lambda: init_state(config))


class StyleGanReport(NamedTuple):
    """After each step: its number, metrics (floats), whether a checkpoint was written, and the state."""

    step: int
    metrics: dict
    checkpointed: bool
    state: dict


def train_style_gan(config: StyleGanConfig, *, style=None, workdir: str | os.PathLike | None, contents: Sequence = None,
                    resume: bool = False, vgg_params=None, mesh=None, state: dict | None = None
                    ) -> Iterator[StyleGanReport]:
    """Train (or resume) ``G_S`` for ``style``, yielding a :class:`StyleGanReport` every step.

    Args:
      config: the run's settings (saved in ``workdir/config.json``; a resume must use the same ones).
      style: a bundled style name, an image file or a ``[H, W, 3]`` array (default: ``config.style``).
      workdir: checkpoint folder, or ``None`` to train in memory (a notebook).
      contents: bundled photo names, files or folders (default: the bundled photos).
      resume: continue from the newest checkpoint in ``workdir``.
      state: start from this state (e.g. a shipped generator's, in a notebook) instead of a fresh one.
      mesh: devices to split each batch over (default all; ``config.batch`` must be a multiple of their number).
    Raises:
      FloatingPointError: a non-finite loss (the last good checkpoint is kept).
      FileExistsError: ``workdir`` already holds checkpoints and ``resume`` is false.
    """
    style = config.style if style is None else style
    if isinstance(style, str) and not style:
        raise ValueError("no style: give style= (a name, a file or an image) or set config.style")
    if resume and state is not None:
        raise ValueError("give resume=True (continue the run in workdir) or state= (start from it), not both")
    if resume and workdir is None:
        raise ValueError("resume=True needs the workdir of the run to continue")
    mesh = parallel.default_mesh() if mesh is None else mesh
    parallel.check_batch_divisible(config.batch, mesh)
    vgg_params = extractor.load_params() if vgg_params is None else vgg_params
    pool_c = batches.load_pool(list(contents) if contents else list(samples.CONTENT_NAMES), kind="content",
                               side=config.pool_side)
    style_img = batches.load_resized(style, kind="style", side=config.style_side)
    targets = style_targets(vgg_params, jnp.asarray(style_img))
    if state is None and not resume:                 # a resumed run's state comes from its checkpoint below
        state = init_state(config)
    if workdir is None:
        yield from _steps(config, state, vgg_params, targets, pool_c, [style_img], mesh, None, None)
        return
    workdir = Path(workdir)
    with checkpoints.RunCheckpoints(workdir) as run:
        if resume:
            state = checkpoints.resume_state(workdir, config, abstract_state(config), run=run)
        elif run.latest_step() is not None:
            raise FileExistsError(f"{workdir} already holds checkpoints; pass --resume to continue, or another folder")
        if parallel.is_primary():
            workdir.mkdir(parents=True, exist_ok=True)
            (workdir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1))
        yield from _steps(config, state, vgg_params, targets, pool_c, [style_img], mesh, run,
                          checkpoints.MetricsLog(workdir / "metrics.csv") if parallel.is_primary() else None)


def _steps(config, state, vgg_params, targets, pool_c, pool_s, mesh, run, log) -> Iterator[StyleGanReport]:
    for step in range(int(state["step"]), config.steps):
        tic = time.perf_counter()
        batch = batches.make_batch(pool_c, pool_s, seed=config.seed, step=step, batch=config.batch, crop=config.crop)
        new_state, metrics = train_step(config, state, vgg_params, targets, batch, mesh=mesh)
        metrics = {k: float(v) for k, v in metrics.items()}
        if not all(math.isfinite(v) for v in metrics.values()):
            kept = f"; the last good checkpoint (step {run.latest_step()}) is kept" if run else ""
            raise FloatingPointError(f"non-finite loss at step {step + 1} ({metrics}){kept}. Lower the learning rate.")
        state, done = new_state, step + 1
        if log is not None:
            log.append(done, metrics, seconds=time.perf_counter() - tic)
        save = run is not None and (done % config.checkpoint_every == 0 or done == config.steps)
        if save:
            run.save(done, state)
        yield StyleGanReport(done, metrics, save, state)
