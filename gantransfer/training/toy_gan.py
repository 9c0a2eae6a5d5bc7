"""A GAN small enough to watch: 2-D points, a ring of Gaussians, two small MLPs, seconds on a laptop CPU.

The positive control of adversarial training. The data are ``modes`` Gaussians on a circle (Metz et al. 2017's
"ring of 8 Gaussians"); ``G`` maps noise ``z`` to a point, ``D`` a point to a logit. Everything a student asks
about a GAN shows here in seconds: whether ``G`` covers every mode, whether it drops or hops between modes,
how the saturating loss ``log(1 − D(G(z)))`` stalls where the non-saturating ``−log D(G(z))`` learns
(Goodfellow et al. 2014), and what R1 (Mescheder et al. 2018) and spectral normalisation (Miyato et al. 2018)
change. Parameters are plain pytrees of arrays (a student can print every weight); one step is one update of
``D`` then one of ``G`` on the same batch, ``steps_per_call`` of them inside one ``jax.lax.scan``.

Taught in ``notebooks/05_adversarial_training.ipynb``.
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

from gantransfer.core.validate import check_count, check_weight
from gantransfer.pipeline import discriminator

#: The generator losses: the three of :func:`gantransfer.pipeline.discriminator.g_loss`, and Goodfellow's
#: original minimax ``log(1 − D(G(z)))`` ("saturating"), which stalls when ``D`` wins (its gradient vanishes).
G_LOSSES = ("ns", "saturating", "hinge", "lsgan")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ToyGanConfig:
    """Settings of the toy GAN (every field keyword-only and checked).

    Attributes:
      modes, radius, std: the data: ``modes`` Gaussians of standard deviation ``std`` on a circle of ``radius``.
      z_dim, hidden, layers: noise size; width and number of hidden layers of both MLPs.
      batch: points per step (real and fake each).
      steps: total steps; ``steps_per_call``: steps inside one compiled call (a report after each).
      g_learning_rate, d_learning_rate, beta1: Adam's for ``G`` and ``D``.
      loss: ``G``'s loss (:data:`G_LOSSES`); ``D``'s is the matching one (``"ns"`` for ``"saturating"``).
      r1_weight: γ of the R1 penalty ``γ/2 · E‖∇_x D(x)‖²`` on real points (0: off).
      spectral_norm: divide each of ``D``'s weight matrices by its largest singular value (one power
        iteration per step).
      seed: of the initialisation, the data and the noise.
    """

    modes: int = 8
    radius: float = 2.0
    std: float = 0.05
    z_dim: int = 16
    hidden: int = 128
    layers: int = 2
    batch: int = 256
    steps: int = 4000
    steps_per_call: int = 100
    g_learning_rate: float = 1e-3
    d_learning_rate: float = 1e-3
    beta1: float = 0.5
    loss: str = "ns"
    r1_weight: float = 0.1
    spectral_norm: bool = False
    seed: int = 0

    def __post_init__(self):
        for name in ("modes", "z_dim", "hidden", "layers", "batch", "steps", "steps_per_call"):
            check_count(getattr(self, name), name)
        for name in ("radius", "std", "g_learning_rate", "d_learning_rate"):
            check_weight(getattr(self, name), name, allow_zero=False)
        check_weight(self.r1_weight, "r1_weight")
        if not 0 <= self.beta1 < 1:
            raise ValueError(f"beta1 must be in [0, 1); got {self.beta1}")
        if self.loss not in G_LOSSES:
            raise ValueError(f"loss must be one of {', '.join(G_LOSSES)}; got {self.loss!r}")


#: Settings that show one behaviour each (one change from the defaults; measured over seeds 0–2 by
#: ``scripts/toy_gan_table.py``, ``data/bench/toy_gan.json``): notebook 05's presets.
PRESETS: dict[str, dict] = {
    "healthy: non-saturating + R1 0.1 (8/8 modes)": {},
    "mode collapse: no R1 (2/8 modes)": dict(r1_weight=0.0),
    "stall: saturating loss, no R1 (0–1 modes)": dict(loss="saturating", r1_weight=0.0),
    "too smooth: spectral norm alone (0–1 modes)": dict(spectral_norm=True, r1_weight=0.0),
    "hinge loss, no R1 (3–6 modes)": dict(loss="hinge", r1_weight=0.0),
}


def mode_centres(*, modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """The ``[modes, 2]`` centres of the ring, evenly spaced from angle 0."""
    angles = 2 * np.pi * np.arange(modes) / modes
    return (radius * np.stack([np.cos(angles), np.sin(angles)], axis=-1)).astype(np.float32)


def sample_ring(key: jax.Array, n: int, *, modes: int = 8, radius: float = 2.0, std: float = 0.05) -> jax.Array:
    """``[n, 2]`` points of the ring of Gaussians: a uniformly chosen mode's centre plus ``N(0, std²)`` noise."""
    k_mode, k_noise = jax.random.split(key)
    centres = jnp.asarray(mode_centres(modes=modes, radius=radius))
    which = jax.random.randint(k_mode, (n,), 0, modes)
    return centres[which] + std * jax.random.normal(k_noise, (n, 2))


def mode_coverage(points, *, modes: int = 8, radius: float = 2.0, std: float = 0.05,
                  min_share: float = 0.01) -> dict:
    """How well ``points`` ``[n, 2]`` cover the ring (the measure of Metz et al. 2017, "Unrolled GANs").

    A point is of *high quality* when it lies within 3 ``std`` of a centre; a mode is *covered* when at least
    ``min_share`` of all points are high-quality points of it.

    Returns:
      ``{"covered": int, "high_quality": fraction in [0, 1], "per_mode": [modes] fractions of the points}``.
    """
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"points must be [n, 2] with n >= 1; got shape {points.shape}")
    centres = mode_centres(modes=modes, radius=radius).astype(np.float64)
    distance = np.linalg.norm(points[:, None, :] - centres[None], axis=-1)          # [n, modes]
    nearest, close = distance.argmin(axis=1), distance.min(axis=1) <= 3 * std
    per_mode = np.bincount(nearest[close], minlength=modes) / len(points)
    return {"covered": int((per_mode >= min_share).sum()), "high_quality": float(close.mean()),
            "per_mode": per_mode}


def _init_mlp(key: jax.Array, sizes: tuple[int, ...]) -> list[dict]:
    """He-initialised dense layers ``[{"w": [a, b], "b": [b]}, ...]`` for the consecutive ``sizes``."""
    keys = jax.random.split(key, len(sizes) - 1)
    return [{"w": jax.random.normal(k, (a, b)) * math.sqrt(2.0 / a), "b": jnp.zeros((b,))}
            for k, a, b in zip(keys, sizes[:-1], sizes[1:])]


def init_state(config: ToyGanConfig) -> dict:
    """The whole training state: ``g``/``d`` parameters, their Adam states, ``D``'s power-iteration vectors
    ``u`` (one unit vector per layer), the PRNG key and the step."""
    k_g, k_d, k_u, k_run = jax.random.split(jax.random.key(config.seed), 4)
    g = _init_mlp(k_g, (config.z_dim, *[config.hidden] * config.layers, 2))
    d = _init_mlp(k_d, (2, *[config.hidden] * config.layers, 1))
    u = [v / jnp.linalg.norm(v) for v in (jax.random.normal(k, (layer["w"].shape[1],))
                                          for k, layer in zip(jax.random.split(k_u, len(d)), d))]
    g_tx, d_tx = _optimizers(config)
    return {"g": g, "d": d, "g_opt": g_tx.init(g), "d_opt": d_tx.init(d), "u": u, "key": k_run,
            "step": jnp.zeros((), jnp.int32)}


def _optimizers(config: ToyGanConfig):
    return (optax.adam(config.g_learning_rate, b1=config.beta1),
            optax.adam(config.d_learning_rate, b1=config.beta1))


def _mlp(params: list[dict], x: jax.Array, *, leak: float) -> jax.Array:
    for layer in params[:-1]:
        x = jax.nn.leaky_relu(x @ layer["w"] + layer["b"], leak)
    return x @ params[-1]["w"] + params[-1]["b"]


def generate(g_params: list[dict], z: jax.Array) -> jax.Array:
    """``G(z)``: ``[n, z_dim]`` noise → ``[n, 2]`` points (ReLU hidden layers)."""
    return _mlp(g_params, z, leak=0.0)


def _normalised(d_params: list[dict], u: list[jax.Array]) -> list[dict]:
    return [{"w": discriminator.spectral_normalize(layer["w"], v)[0], "b": layer["b"]}
            for layer, v in zip(d_params, u)]


def critic(d_params: list[dict], x: jax.Array, u: list[jax.Array] | None = None) -> jax.Array:
    """``D(x)``: ``[n, 2]`` points → ``[n]`` logits (leaky-ReLU hidden layers; spectrally normalised with ``u``)."""
    params = _normalised(d_params, u) if u is not None else d_params
    return _mlp(params, x, leak=0.2)[:, 0]


def _g_loss(fake_logits: jax.Array, kind: str) -> jax.Array:
    if kind == "saturating":           # minimise log(1 − σ(f)) = −softplus(f): flat where D is sure (σ(f) ≈ 0)
        return -jnp.mean(jax.nn.softplus(fake_logits))
    return discriminator.g_loss(fake_logits, kind=kind)


@functools.partial(jax.jit, static_argnames=("config",))
def train_steps(config: ToyGanConfig, state: dict) -> tuple[dict, dict]:
    """``config.steps_per_call`` steps (one ``D`` update, then one ``G`` update, each) in one compiled scan.

    Returns:
      ``(state, metrics)``, the metrics ``[steps_per_call]`` per step: ``d_loss``, ``g_loss``, ``d_real``
      and ``d_fake`` (mean σ(logit)), ``g_grad`` (the norm of ``G``'s gradient: near 0 when ``G`` stalls).
    """
    g_tx, d_tx = _optimizers(config)
    d_kind = "ns" if config.loss == "saturating" else config.loss

    def one(state, _):
        key, k_real, k_z = jax.random.split(state["key"], 3)
        real = sample_ring(k_real, config.batch, modes=config.modes, radius=config.radius, std=config.std)
        z = jax.random.normal(k_z, (config.batch, config.z_dim))
        u = state["u"]
        if config.spectral_norm:
            u = [discriminator.power_iteration(layer["w"], v) for layer, v in zip(state["d"], u)]
        sn = u if config.spectral_norm else None
        fake = generate(state["g"], z)

        def d_objective(d):
            real_logits, fake_logits = critic(d, real, sn), critic(d, jax.lax.stop_gradient(fake), sn)
            loss = discriminator.d_loss(real_logits, fake_logits, kind=d_kind)
            if config.r1_weight:
                grads = jax.grad(lambda x: jnp.sum(critic(d, x, sn)))(real)          # [batch, 2]
                loss = loss + 0.5 * config.r1_weight * jnp.mean(jnp.sum(grads ** 2, axis=-1))
            return loss, (real_logits, fake_logits)

        (d_loss, (real_logits, fake_logits)), d_grads = jax.value_and_grad(d_objective, has_aux=True)(state["d"])
        updates, d_opt = d_tx.update(d_grads, state["d_opt"], state["d"])
        d = optax.apply_updates(state["d"], updates)

        g_loss, g_grads = jax.value_and_grad(lambda g: _g_loss(critic(d, generate(g, z), sn), config.loss))(state["g"])
        updates, g_opt = g_tx.update(g_grads, state["g_opt"], state["g"])
        g = optax.apply_updates(state["g"], updates)
        metrics = {"d_loss": d_loss, "g_loss": g_loss, "d_real": jnp.mean(jax.nn.sigmoid(real_logits)),
                   "d_fake": jnp.mean(jax.nn.sigmoid(fake_logits)), "g_grad": optax.tree.norm(g_grads)}
        return {"g": g, "d": d, "g_opt": g_opt, "d_opt": d_opt, "u": u, "key": key, "step": state["step"] + 1}, metrics

    return jax.lax.scan(one, state, None, length=config.steps_per_call)


class ToyReport(NamedTuple):
    """After each compiled call: the step, the last step's metrics, the coverage of ``samples``, ``G``'s
    ``[n, 2]`` points for a fixed noise batch (so frames of a film show the same ``z``), and the state."""

    step: int
    metrics: dict
    coverage: dict
    samples: np.ndarray
    state: dict


def train_toy_gan(config: ToyGanConfig = ToyGanConfig(), *, state: dict | None = None,
                  samples: int = 1000) -> Iterator[ToyReport]:
    """Train the toy GAN, yielding a :class:`ToyReport` every ``config.steps_per_call`` steps.

    Args:
      config: the settings (:class:`ToyGanConfig`); ``steps`` is rounded up to whole calls.
      state: continue from this state (a report's ``state``) instead of a fresh one.
      samples: how many points of ``G`` each report draws (from one fixed noise batch) and measures.
    Raises:
      FloatingPointError: a non-finite metric (too high a learning rate).
    """
    check_count(samples, "samples")
    state = init_state(config) if state is None else state
    z = jax.random.normal(jax.random.key(config.seed + 1), (samples, config.z_dim))     # the same z every report
    draw = jax.jit(generate)
    while int(state["step"]) < config.steps:
        state, metrics = train_steps(config, state)
        last = {k: float(v[-1]) for k, v in metrics.items()}
        if not all(math.isfinite(v) for v in last.values()):
            raise FloatingPointError(f"non-finite metrics at step {int(state['step'])}: {last}")
        points = np.asarray(draw(state["g"], z))
        coverage = mode_coverage(points, modes=config.modes, radius=config.radius, std=config.std)
        yield ToyReport(int(state["step"]), last, coverage, points, state)


def decision_surface(state: dict, config: ToyGanConfig, *, size: int = 64, extent: float | None = None) -> np.ndarray:
    """``σ(D(x))`` on a ``size × size`` grid over ``[-extent, extent]²`` (default 1.5 × the radius): ``[size, size]``,
    rows from the top (``y = extent``) down, for drawing ``D``'s verdict under the points."""
    check_count(size, "size")
    extent = 1.5 * config.radius if extent is None else extent
    axis = np.linspace(-extent, extent, size, dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis[::-1])
    points = jnp.asarray(np.stack([xx.ravel(), yy.ravel()], axis=-1))
    u = state["u"] if config.spectral_norm else None
    return np.asarray(jax.nn.sigmoid(critic(state["d"], points, u))).reshape(size, size)
