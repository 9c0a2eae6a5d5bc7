"""A texture GAN from one style image (Spatial GAN, Jetchev, Bergmann & Vollgraf 2016): minutes on a laptop CPU.

``G`` is fully convolutional: a field of noise ``z`` ``[N, h, w, z_dim]`` becomes an image ``[N, 8h, 8w, 3]``
(three nearest-neighbour upsamplings, each followed by 3 × 3 convolutions), so one ``G`` paints a texture of any
size. ``D`` is a PatchGAN (Isola et al. 2017): strided convolutions that give one logit per patch, judging crops
of the style image (real) against ``G``'s crops (fake). With ``padding="circular"`` every convolution of ``G``
wraps around the borders, so its textures tile without seams (a game's texture). Training: the non-saturating
loss, Adam at 1e-3 for both players with β1 = 0 (DCGAN's 2e-4 with β1 = 0.5 learned far less in the same steps),
no R1 (it kept ``D`` at chance while ``G`` painted coloured noise), ``D`` of two strided layers (18 px patches:
better than three on hatching). The networks are small, so what decides is how many steps fit in a class's
minutes: with the convolutions as matrix products (:func:`gantransfer.core.conv.conv2d`) a step takes 11–13 ms on
2 cores instead of 80, and the default 10,000 steps (2–3 minutes on a 2-core EPYC) make hatching's ink lines,
stained glass's panes and lead, pointillism's dots and marbling's bands, where 1,500 steps left all but hatching
as blobs of their palette. Every figure is in ``docs/gan.md``.

Parameters are plain pytrees of arrays. Taught in ``notebooks/05_adversarial_training.ipynb``, beside notebook
02's texture synthesis by Gram matrices (:func:`gantransfer.notebook.inversion.synthesize_texture`).
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Iterator, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gantransfer.core import conv, images
from gantransfer.core.validate import check_count, check_weight
from gantransfer.methods.texture import seam_ratio  # noqa: F401 (re-exported: notebook 05 measures its tiles with it)
from gantransfer.pipeline import discriminator, style_generator

PADDINGS = ("reflect", "circular")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TextureGanConfig:
    """Settings of the texture GAN (keyword-only, checked).

    Attributes:
      crop: side of the training crops (real and fake), a multiple of 8.
      z_dim: channels of the noise field; its side is ``crop / 8`` in training.
      width: channels of ``G``'s first block (halved after each upsampling).
      d_width: channels of ``D``'s first layer (doubled at each stride).
      d_layers: ``D``'s strided convolutions: each logit judges an 18 px patch with 2 (the default), 38 px with 3.
      batch, steps, steps_per_call: crops per step, total steps, steps inside one compiled call.
      g_learning_rate, d_learning_rate, beta1: Adam's.
      r1_weight: γ of R1 on ``D`` (0, the default: off; see above).
      padding: ``"reflect"`` or ``"circular"`` (tileable) for ``G``'s convolutions.
      seed: of the initialisation, the crops and the noise.
    """

    crop: int = 48
    z_dim: int = 16
    width: int = 32
    d_width: int = 32
    d_layers: int = 2
    batch: int = 4
    steps: int = 10_000
    steps_per_call: int = 100
    g_learning_rate: float = 1e-3
    d_learning_rate: float = 1e-3
    beta1: float = 0.0
    r1_weight: float = 0.0
    padding: str = "circular"
    seed: int = 0

    def __post_init__(self):
        for name in ("crop", "z_dim", "width", "d_width", "d_layers", "batch", "steps", "steps_per_call"):
            check_count(getattr(self, name), name)
        if self.crop % 8 or self.crop < 2 ** (self.d_layers + 1):
            raise ValueError(f"crop must be a multiple of 8 and >= {2 ** (self.d_layers + 1)}; got {self.crop}")
        for name in ("g_learning_rate", "d_learning_rate"):
            check_weight(getattr(self, name), name, allow_zero=False)
        check_weight(self.r1_weight, "r1_weight")
        if not 0 <= self.beta1 < 1:
            raise ValueError(f"beta1 must be in [0, 1); got {self.beta1}")
        if self.padding not in PADDINGS:
            raise ValueError(f"padding must be one of {', '.join(PADDINGS)}; got {self.padding!r}")


def _g_channels(config: TextureGanConfig) -> tuple[int, ...]:
    return (config.width, max(config.width // 2, 8), max(config.width // 4, 8))


@functools.partial(jax.jit, static_argnames=("config",))
def init_state(config: TextureGanConfig) -> dict:
    """``{"g", "d", "g_opt", "d_opt", "key", "step"}``: ``G`` has an input convolution, two convolutions per
    upsampling and a 1 × 1 output to RGB; ``D`` ``d_layers`` strided 4 × 4 convolutions and a 3 × 3 output.

    Compiled as one program, the weights from one draw of normal numbers (a draw per layer compiled for 8 s on a
    2-core EPYC, as long as the training step; now about 1 s)."""
    k_g, k_d, k_run = jax.random.split(jax.random.key(config.seed), 3)
    chans = _g_channels(config)
    g_specs = [(3, config.z_dim, chans[0])]
    for c_in, c_out in zip((chans[0], *chans[:-1]), chans):
        g_specs += [(3, c_in, c_out), (3, c_out, c_out)]
    g_layers = style_generator.conv_init_many(k_g, g_specs + [(1, chans[-1], 3)])
    g = {"input": g_layers[0], "blocks": [g_layers[i:i + 2] for i in range(1, len(g_layers) - 1, 2)],
         "rgb": g_layers[-1]}
    d_chans = [3] + [min(config.d_width * 2 ** i, 256) for i in range(config.d_layers)]
    d_layers = style_generator.conv_init_many(k_d, [(4, a, b) for a, b in zip(d_chans[:-1], d_chans[1:])]
                                              + [(3, d_chans[-1], 1)])
    d = {"layers": d_layers[:-1], "out": d_layers[-1]}
    g_tx, d_tx = _optimizers(config)
    return {"g": g, "d": d, "g_opt": g_tx.init(g), "d_opt": d_tx.init(d), "key": k_run,
            "step": jnp.zeros((), jnp.int32)}


def _optimizers(config: TextureGanConfig):
    return (optax.adam(config.g_learning_rate, b1=config.beta1),
            optax.adam(config.d_learning_rate, b1=config.beta1))


def _conv(x: jax.Array, layer: dict, *, stride: int = 1, padding: str = "reflect") -> jax.Array:
    k = layer["w"].shape[0]
    if stride == 1 and k > 1:           # 'same' size with the chosen border: wrap-around makes G tileable
        lo, hi = (k - 1) // 2, k // 2
        x = jnp.pad(x, ((0, 0), (lo, hi), (lo, hi), (0, 0)), mode="wrap" if padding == "circular" else "reflect")
        pad = "VALID"
    else:
        pad = "SAME"
    # one matrix product over patches: 7× faster per training step than XLA's CPU convolution at these widths
    return conv.conv2d(x, layer["w"], stride=stride, padding=pad) + layer["b"]


def generate(g_params: dict, z: jax.Array, *, padding: str = "circular") -> jax.Array:
    """``G(z)``: noise ``[N, h, w, z_dim]`` → texture ``[N, 8h, 8w, 3]`` in [0, 1] (fully convolutional)."""
    x = jax.nn.leaky_relu(_conv(z, g_params["input"], padding=padding), 0.2)
    for first, second in g_params["blocks"]:
        x = jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)                 # nearest ×2: no checkerboard
        x = jax.nn.leaky_relu(_conv(x, first, padding=padding), 0.2)
        x = jax.nn.leaky_relu(_conv(x, second, padding=padding), 0.2)
    return jax.nn.sigmoid(_conv(x, g_params["rgb"], padding=padding))


def critic(d_params: dict, x: jax.Array) -> jax.Array:
    """``D(x)``: ``[N, H, W, 3]`` → patch logits ``[N, H / 2^L, W / 2^L, 1]``."""
    for layer in d_params["layers"]:
        x = jax.nn.leaky_relu(_conv(x, layer, stride=2), 0.2)
    return _conv(x, d_params["out"])


def noise_field(key: jax.Array, n: int, side: int, z_dim: int) -> jax.Array:
    """``[n, side, side, z_dim]`` standard normal noise: the input of :func:`generate`."""
    return jax.random.normal(key, (n, side, side, z_dim))


def _random_crops(key, style: jax.Array, n: int, crop: int) -> jax.Array:
    h, w = style.shape[:2]
    ky, kx = jax.random.split(key)
    ys = jax.random.randint(ky, (n,), 0, h - crop + 1)
    xs = jax.random.randint(kx, (n,), 0, w - crop + 1)
    return jax.vmap(lambda y, x: jax.lax.dynamic_slice(style, (y, x, 0), (crop, crop, 3)))(ys, xs)


@functools.partial(jax.jit, static_argnames=("config",))
def train_steps(config: TextureGanConfig, state: dict, style: jax.Array) -> tuple[dict, dict]:
    """``config.steps_per_call`` steps (a ``D`` update, then a ``G`` update) on crops of ``style`` ``[H, W, 3]``.

    Returns ``(state, metrics)`` with ``[steps_per_call]`` arrays: ``d_loss``, ``g_loss``, ``d_real``, ``d_fake``.
    """
    g_tx, d_tx = _optimizers(config)
    side = config.crop // 8

    def one(state, _):
        key, k_real, k_z = jax.random.split(state["key"], 3)
        real = _random_crops(k_real, style, config.batch, config.crop)
        z = noise_field(k_z, config.batch, side, config.z_dim)
        fake = jax.lax.stop_gradient(generate(state["g"], z, padding=config.padding))

        def d_objective(d):
            real_logits, fake_logits = critic(d, real), critic(d, fake)
            loss = discriminator.d_loss(real_logits, fake_logits, kind="ns")
            if config.r1_weight:
                grads = jax.grad(lambda x: jnp.sum(critic(d, x)))(real)
                loss = loss + 0.5 * config.r1_weight * jnp.mean(jnp.sum(grads ** 2, axis=(1, 2, 3)))
            return loss, (real_logits, fake_logits)

        (d_loss, (real_logits, fake_logits)), d_grads = jax.value_and_grad(d_objective, has_aux=True)(state["d"])
        updates, d_opt = d_tx.update(d_grads, state["d_opt"], state["d"])
        d = optax.apply_updates(state["d"], updates)
        g_loss, g_grads = jax.value_and_grad(
            lambda g: discriminator.g_loss(critic(d, generate(g, z, padding=config.padding)), kind="ns"))(state["g"])
        updates, g_opt = g_tx.update(g_grads, state["g_opt"], state["g"])
        g = optax.apply_updates(state["g"], updates)
        metrics = {"d_loss": d_loss, "g_loss": g_loss, "d_real": jnp.mean(jax.nn.sigmoid(real_logits)),
                   "d_fake": jnp.mean(jax.nn.sigmoid(fake_logits))}
        return {"g": g, "d": d, "g_opt": g_opt, "d_opt": d_opt, "key": key, "step": state["step"] + 1}, metrics

    return jax.lax.scan(one, state, None, length=config.steps_per_call)


class TextureReport(NamedTuple):
    """After each compiled call: the step, the last step's metrics, ``G``'s sample for a fixed noise field
    (``[S, S, 3]``), and the state."""

    step: int
    metrics: dict
    sample: np.ndarray
    state: dict


def train_texture_gan(style, config: TextureGanConfig = TextureGanConfig(), *, state: dict | None = None,
                      sample_side: int = 128) -> Iterator[TextureReport]:
    """Train ``G`` to paint the texture of ``style`` (``[H, W, 3]`` float32 in [0, 1], at least ``crop`` px).

    Yields a :class:`TextureReport` every ``config.steps_per_call`` steps, its sample ``sample_side`` px square
    (a multiple of 8) from the same noise each time. ``state`` continues an earlier run (a report's ``state``).
    Raises ``FloatingPointError`` on a non-finite metric.
    """
    style = images.check_image_array(style, name="style", batched=False)
    if min(style.shape[:2]) < config.crop:
        raise ValueError(f"the style image ({style.shape[0]}×{style.shape[1]}) is smaller than the crop {config.crop}")
    check_count(sample_side, "sample_side")
    if sample_side % 8:
        raise ValueError(f"sample_side must be a multiple of 8; got {sample_side}")
    state = init_state(config) if state is None else state
    z = noise_field(jax.random.key(config.seed + 1), 1, sample_side // 8, config.z_dim)
    draw = jax.jit(functools.partial(generate, padding=config.padding))
    style = jnp.asarray(style)
    while int(state["step"]) < config.steps:
        state, metrics = train_steps(config, state, style)
        last = {k: float(v[-1]) for k, v in metrics.items()}
        if not all(math.isfinite(v) for v in last.values()):
            raise FloatingPointError(f"non-finite metrics at step {int(state['step'])}: {last}")
        yield TextureReport(int(state["step"]), last, np.asarray(draw(state["g"], z)[0]), state)
