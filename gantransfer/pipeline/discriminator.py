"""The discriminator ``D`` of ``I_s = G(I_c, S)``: a style-conditioned PatchGAN and the adversarial losses.

``D`` looks at an image and the style it is meant to be in, and scores every patch: real (a crop of the
style image) or fake (the generator's output). Three ideas, each from its paper:

* **PatchGAN** (Isola et al. 2017): a few strided 4×4 convolutions with leaky ReLU; the output is a map
  of logits, one per overlapping patch (46×46 px with the default three strided layers), not one
  number per image. Style is a texture, a property of patches, so this is the natural judge.
* **Spectral normalisation** (Miyato et al. 2018): each kernel is divided by its largest singular
  value, which keeps every layer's gain near 1, so ``D`` cannot grow arbitrarily sharp, the usual way a
  GAN diverges. (Not exactly 1-Lipschitz: one power iteration per step estimates the singular value from
  below, and a strided convolution's gain is not exactly that of its reshaped kernel.)
* **Projection conditioning** (Miyato & Koyama 2018): ``D(x, s) = ψ(φ(x)) + ⟨E s, φ(x)⟩``, with ``φ(x)``
  the last feature map, ``s`` the style's statistics vector and ``E`` a learnt linear embedding. One
  ``D`` judges many styles: a patch is "real" only if it looks like *this* style.

There are no normalisation layers: instance normalisation would erase the channel statistics that
carry the style ``D`` is asked to judge. The public computations are pure functions over an
``nnx.State`` (:func:`init_discriminator`, :func:`discriminate`), like :mod:`gantransfer.pipeline.generator`.

Taught in ``notebooks/05_adversarial_training.ipynb``.
"""
from __future__ import annotations

import functools
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from gantransfer.core.validate import check_features
from gantransfer.pipeline import extractor
from gantransfer.pipeline.style import feature_mean_std

#: VGG16 layers whose per-channel mean and std describe a style to the discriminator (the layers the
#: decoder's style loss matches).
COND_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")

#: Length of the style-statistics vector of :func:`style_statistics` with :data:`COND_LAYERS`: 1920.
STYLE_STATS_DIM = 2 * sum(extractor.LAYER_CHANNELS[name] for name in COND_LAYERS)

#: The adversarial losses by name.
LOSS_KINDS = ("ns", "hinge", "lsgan")

#: Each loss's discriminator value at chance: the least ``d_loss`` when real and fake cannot be told apart (the
#: game's equilibrium), reached by the output :data:`D_OUTPUT_AT_CHANCE` on every patch: ``2 log 2`` (every logit
#: 0, σ = ½), ``2`` (any logit in [−1, 1]) and ``1/4`` (every output ½: least squares' targets are 1 and 0, so an
#: output of 0 is a confident "fake", not chance, and gives ``1/2``).
D_LOSS_AT_CHANCE = {"ns": 2.0 * float(np.log(2.0)), "hinge": 2.0, "lsgan": 0.25}
#: The output of ``D`` at chance for each loss (for ``ns`` a logit; for ``lsgan`` the output itself, its target
#: being 1 for real and 0 for fake).
D_OUTPUT_AT_CHANCE = {"ns": 0.0, "hinge": 0.0, "lsgan": 0.5}

_LEAK = 0.2  # leaky ReLU slope of DCGAN and pix2pix


# ---------------------------------------------------------------------------------------------------
# Spectral normalisation.

class SpectralVector(nnx.Variable):
    """The power-iteration vector ``u`` of a spectrally normalised kernel.

    A ``Variable`` but not an ``nnx.Param``: it is state, not a parameter. Gradients and the optimiser
    see only ``nnx.Param`` leaves (``nnx.split_state(state, nnx.Param, ...)``); ``u`` changes only by
    :func:`refresh_spectral`, and orbax saves it with the rest, so a resumed run continues exactly.
    """


def _unit(x: jax.Array, eps: float = 1e-12) -> jax.Array:
    return x / (jnp.linalg.norm(x) + eps)


def power_iteration(kernel: jax.Array, u: jax.Array, *, iterations: int = 1) -> jax.Array:
    """Refine ``u`` towards the top right singular vector of the kernel seen as a matrix.

    The kernel ``[kh, kw, c_in, c_out]`` (or ``[c_in, c_out]``) is the matrix ``W = [kh·kw·c_in, c_out]``;
    one iteration is ``v = Wu / ‖Wu‖``, ``u = Wᵀv / ‖Wᵀv‖`` (a power iteration of ``WᵀW``). Pure; no
    gradient flows through it.

    Args:
      kernel: ``[..., c_out]`` weights.
      u: ``[c_out]`` unit vector.
      iterations: how many power iterations.
    Returns:
      The new ``u``, ``[c_out]``.
    References:
      Miyato, Kataoka, Koyama & Yoshida, "Spectral Normalization for Generative Adversarial Networks",
      ICLR 2018 (Algorithm 1).
    """
    w = jax.lax.stop_gradient(kernel).reshape(-1, kernel.shape[-1])          # [K, c_out]
    u = jax.lax.stop_gradient(u)

    def body(_, u):
        v = _unit(w @ u)                                                      # [K]
        return _unit(w.T @ v)                                                 # [c_out]

    return jax.lax.fori_loop(0, iterations, body, u)


def spectral_normalize(kernel: jax.Array, u: jax.Array, *, eps: float = 1e-12) -> tuple[jax.Array, jax.Array]:
    """Divide a kernel by its largest singular value, estimated as ``σ = ‖W u‖`` with ``u`` held constant.

    With ``u`` the top right singular vector of ``W = kernel.reshape(-1, c_out)``, ``‖W u‖`` *is* the
    top singular value, and its gradient ``v uᵀ`` (``v = Wu/‖Wu‖``) is the one Miyato et al. use. For any
    other unit ``u`` it underestimates ``σ``, so ``W/σ`` may exceed 1 until ``u`` has converged; one
    power iteration per training step (:func:`refresh_spectral`) gets there because ``W`` changes slowly
    between steps, so each step's iteration continues the last one's.

    Args:
      kernel: ``[..., c_out]`` weights.
      u: ``[c_out]`` unit vector (from :func:`power_iteration`); treated as a constant.
    Returns:
      ``(kernel / σ, σ)``: the normalised kernel (same shape) and the scalar ``σ``.
    References:
      Miyato et al., ICLR 2018.
    """
    w = kernel.reshape(-1, kernel.shape[-1])                                  # [K, c_out]
    sigma = jnp.linalg.norm(w @ jax.lax.stop_gradient(u))
    return kernel / jnp.maximum(sigma, eps), sigma


class SNConv(nnx.Module):
    """A convolution ``[N, H, W, c_in] -> [N, H', W', c_out]``, optionally spectrally normalised.

    Explicit (not ``nnx.Conv``) so the kernel can be divided by ``σ`` before use; a 1×1 kernel on a
    ``[N, 1, 1, c_in]`` input is a linear layer (the style embedding uses it that way).
    """

    def __init__(self, c_in: int, c_out: int, *, kernel: int = 4, stride: int = 2, padding: int = 1,
                 bias: bool = True, spectral_norm: bool = True, rngs: nnx.Rngs):
        init = nnx.initializers.lecun_normal()
        self.kernel = nnx.Param(init(rngs.params(), (kernel, kernel, c_in, c_out), jnp.float32))
        self.bias = nnx.Param(jnp.zeros((c_out,), jnp.float32)) if bias else None
        # A random start for the power iteration (Miyato et al. draw u from N(0, I) too).
        self.u = SpectralVector(_unit(jax.random.normal(rngs.params(), (c_out,)))) if spectral_norm else None
        self.stride, self.padding = stride, padding

    def weight(self) -> jax.Array:
        """The kernel the convolution uses: ``kernel / σ`` with spectral normalisation, else ``kernel``."""
        if self.u is None:
            return self.kernel[...]
        return spectral_normalize(self.kernel[...], self.u[...])[0]

    def refresh(self, iterations: int) -> None:
        """One (or more) power iterations of ``u`` on the current kernel (no-op without normalisation)."""
        if self.u is not None:
            self.u[...] = power_iteration(self.kernel[...], self.u[...], iterations=iterations)

    def __call__(self, x: jax.Array) -> jax.Array:
        p = self.padding
        y = jax.lax.conv_general_dilated(x, self.weight(), (self.stride, self.stride), ((p, p), (p, p)),
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return y if self.bias is None else y + self.bias[...]


# ---------------------------------------------------------------------------------------------------
# The discriminator.

def discriminator_channels(*, width: float = 1.0, n_layers: int = 3) -> tuple[int, ...]:
    """Channels of the convolutions: pix2pix's ``64, 128, 256, 512`` (doubling, capped at 512) × ``width``."""
    return tuple(max(8, int(round(min(64 * 2 ** i, 512) * width))) for i in range(n_layers + 1))


def min_image_side(n_layers: int = 3) -> int:
    """Smallest input side: ``n_layers`` halvings must leave at least 2 px for the last 4×4 convolution."""
    return 2 ** (n_layers + 1)


class Discriminator(nnx.Module):
    """Style-conditioned PatchGAN: ``(images [N, H, W, 3], style_stats [N, S]) -> logits [N, h, w, 1]``.

    ``n_layers`` strided 4×4 convolutions (stride 2, padding 1, so ``H`` halves each time), one 4×4 stride-1
    convolution, each followed by leaky ReLU (0.2): the features ``φ(x)`` ``[N, h, w, C]``, with
    ``h = H / 2^n_layers - 1``. Then per patch ``logit = ψ·φ + b + ⟨E s, φ⟩``: ``ψ`` a 1×1 convolution and
    ``E`` the style embedding ``[S, C]``, applied to ``s / √S`` (absent when ``cond_dim = 0``, an
    unconditional PatchGAN).
    Each patch logit sees a ``46 × 46`` px window for ``n_layers = 3`` (:func:`receptive_field`).

    Args:
      width: channel multiplier (1.0 = pix2pix's 64-128-256-512).
      n_layers: strided convolutions (3 = pix2pix's 70×70 PatchGAN without its final 4×4 layer).
      cond_dim: length ``S`` of the style-statistics vector (:data:`STYLE_STATS_DIM`), 0 for none.
      spectral_norm: spectrally normalise every kernel, the embedding included (Miyato & Koyama do).
    """

    def __init__(self, *, width: float = 1.0, n_layers: int = 3, cond_dim: int = STYLE_STATS_DIM,
                 spectral_norm: bool = True, rngs: nnx.Rngs):
        if not width > 0:
            raise ValueError(f"width must be > 0; got {width}")
        if not isinstance(n_layers, int) or n_layers < 1:
            raise ValueError(f"n_layers must be an integer >= 1; got {n_layers!r}")
        if not isinstance(cond_dim, int) or cond_dim < 0:
            raise ValueError(f"cond_dim must be an integer >= 0; got {cond_dim!r}")
        chans = discriminator_channels(width=width, n_layers=n_layers)
        convs, c_in = [], 3
        for i, c_out in enumerate(chans):
            stride = 2 if i < n_layers else 1
            convs.append(SNConv(c_in, c_out, stride=stride, spectral_norm=spectral_norm, rngs=rngs))
            c_in = c_out
        self.convs = nnx.List(convs)
        self.psi = SNConv(c_in, 1, kernel=1, stride=1, padding=0, spectral_norm=spectral_norm, rngs=rngs)
        self.embed = (SNConv(cond_dim, c_in, kernel=1, stride=1, padding=0, bias=False,
                             spectral_norm=spectral_norm, rngs=rngs) if cond_dim else None)
        self.cond_dim, self.n_layers = cond_dim, n_layers

    def features(self, images: jax.Array) -> jax.Array:
        """``φ(x)``: ``[N, H, W, 3]`` in [0, 1] → ``[N, h, w, C]`` patch features."""
        x = images * 2.0 - 1.0                                                # [N, H, W, 3] in [-1, 1]
        for conv in self.convs:
            x = jax.nn.leaky_relu(conv(x), _LEAK)                             # [N, H/2, W/2, c] ...
        return x                                                              # [N, h, w, C]

    def __call__(self, images: jax.Array, style_stats: jax.Array | None = None) -> jax.Array:
        phi = self.features(images)                                           # [N, h, w, C]
        logits = self.psi(phi)                                                # [N, h, w, 1]
        if self.embed is not None:
            # s / √S has entries of order one and a norm of order one whatever S: under spectral norm
            # (‖E‖ = ‖ψ‖ = 1) the projection term is then on the scale of ψ(φ), not √S ≈ 44 times it,
            # which made the first D steps jump and R1 explode.
            s = style_stats / jnp.sqrt(jnp.float32(self.cond_dim))
            e = self.embed(s[:, None, None, :])                               # [N or 1, 1, 1, C]
            logits = logits + jnp.sum(phi * e, axis=-1, keepdims=True)       # the projection term
        return logits

    def refresh(self, iterations: int = 1) -> None:
        """Advance every spectral-normalisation vector by ``iterations`` power iterations."""
        for layer in (*self.convs, self.psi, self.embed):
            if layer is not None:
                layer.refresh(iterations)


def receptive_field(n_layers: int = 3) -> int:
    """Side in px of the input window one patch logit depends on (46 for ``n_layers = 3``)."""
    side = 4                                   # the stride-1 4×4 conv (ψ is 1×1)
    for _ in range(n_layers):
        side = (side - 1) * 2 + 4              # a stride-2 4×4 conv below it
    return side


@functools.lru_cache(maxsize=8)
def discriminator_graphdef(width: float = 1.0, n_layers: int = 3, cond_dim: int = STYLE_STATS_DIM,
                           spectral_norm: bool = True):
    """The (static) graph definition of a :class:`Discriminator` with these settings."""
    return nnx.split(nnx.eval_shape(lambda: Discriminator(
        width=width, n_layers=n_layers, cond_dim=cond_dim, spectral_norm=spectral_norm, rngs=nnx.Rngs(0))))[0]


def init_discriminator(key: jax.Array, *, width: float = 1.0, n_layers: int = 3, cond_dim: int = STYLE_STATS_DIM,
                       spectral_norm: bool = True) -> nnx.State:
    """Fresh discriminator state: its ``nnx.Param`` leaves and (with spectral norm) its :class:`SpectralVector` s.

    Split the trainable part with ``nnx.split_state(state, nnx.Param, ...)``; see :class:`Discriminator`
    for the arguments.
    """
    return nnx.state(Discriminator(width=width, n_layers=n_layers, cond_dim=cond_dim,
                                   spectral_norm=spectral_norm, rngs=nnx.Rngs(params=key)))


def _check_inputs(images, style_stats, *, n_layers: int, cond_dim: int):
    images = check_features(images, "images")
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be [N, H, W, 3]; got shape {tuple(images.shape)}")
    side = min_image_side(n_layers)
    if min(images.shape[1:3]) < side:
        raise ValueError(f"images must be at least {side} px on each side for a {n_layers}-layer PatchGAN; "
                         f"got {images.shape[1]}×{images.shape[2]}")
    if cond_dim == 0:
        if style_stats is not None:
            raise ValueError("this discriminator is unconditional (cond_dim=0); style_stats must be None")
        return images, None
    if style_stats is None:
        raise ValueError(f"this discriminator is conditioned on the style: give style_stats [N, {cond_dim}]")
    style_stats = check_features(style_stats, "style_stats", min_ndim=2)
    if style_stats.ndim != 2 or style_stats.shape[1] != cond_dim or style_stats.shape[0] not in (1, images.shape[0]):
        raise ValueError(f"style_stats must be [N or 1, {cond_dim}] for {images.shape[0]} images; "
                         f"got shape {tuple(style_stats.shape)}")
    return images, style_stats


def discriminate(state: nnx.State, images: jax.Array, style_stats: jax.Array | None = None, *, width: float = 1.0,
                 n_layers: int = 3, cond_dim: int = STYLE_STATS_DIM, spectral_norm: bool = True) -> jax.Array:
    """Patch logits of ``D(images, style)``; pure (nothing in ``state`` changes), usable inside ``jit``/``grad``.

    Args:
      state: from :func:`init_discriminator` with the same settings.
      images: ``[N, H, W, 3]`` in [0, 1] (values outside are allowed: a raw generator output).
      style_stats: ``[N or 1, cond_dim]`` from :func:`style_statistics`; ``None`` when ``cond_dim = 0``.
      width, n_layers, cond_dim, spectral_norm: the architecture (:class:`Discriminator`).
    Returns:
      ``[N, h, w, 1]`` logits, ``h = H / 2^n_layers - 1``: positive means "real".
    References:
      Isola, Zhu, Zhou & Efros, "Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017;
      Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018.
    """
    images, style_stats = _check_inputs(images, style_stats, n_layers=n_layers, cond_dim=cond_dim)
    model = nnx.merge(discriminator_graphdef(width, n_layers, cond_dim, spectral_norm), state)
    return model(images, style_stats)


def patch_logits(state: nnx.State, real: jax.Array, fake: jax.Array, style_stats: jax.Array | None = None, *,
                 width: float = 1.0, n_layers: int = 3, cond_dim: int = STYLE_STATS_DIM,
                 spectral_norm: bool = True) -> tuple[jax.Array, jax.Array]:
    """``D``'s verdict on every patch of real images and of fakes, both judged as the same style.

    What a training step of ``D`` looks at (:func:`d_loss` takes exactly these two maps): ``D(real, s)``
    and ``D(fake, s)``, where ``s`` describes the style the fakes are meant to be in, usually
    ``style_statistics(vgg_params, real)`` with ``real`` a batch of style crops.

    Args:
      state: from :func:`init_discriminator` with the same settings.
      real: ``[N, H, W, 3]`` in [0, 1], e.g. crops of the style image.
      fake: ``[M, H', W', 3]``, e.g. the generator's outputs ``G(c, s)`` (unclipped values are allowed).
      style_stats: ``[1 or N, cond_dim]`` from :func:`style_statistics` (``[1 or M, ...]`` for the fakes too);
        ``None`` when ``cond_dim = 0``.
      width, n_layers, cond_dim, spectral_norm: the architecture (:class:`Discriminator`).
    Returns:
      ``(real_logits [N, h, w, 1], fake_logits [M, h', w', 1])`` with ``h = H / 2^n_layers - 1``: one logit
      per overlapping :func:`receptive_field`-sized patch; positive means "real".
    """
    arch = dict(width=width, n_layers=n_layers, cond_dim=cond_dim, spectral_norm=spectral_norm)
    return discriminate(state, real, style_stats, **arch), discriminate(state, fake, style_stats, **arch)


def refresh_spectral(state: nnx.State, *, iterations: int = 1, width: float = 1.0, n_layers: int = 3,
                     cond_dim: int = STYLE_STATS_DIM, spectral_norm: bool = True) -> nnx.State:
    """A new state whose :class:`SpectralVector` s moved ``iterations`` power iterations on the current kernels.

    Call it once per discriminator update, before the forward pass (Miyato et al.'s one iteration per
    step); pure, so it belongs inside the jitted step. Without spectral norm it returns ``state`` unchanged.
    """
    if not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"iterations must be an integer >= 0; got {iterations!r}")
    # copy=True: merge would otherwise reuse the Variables of ``state``, and the refresh would change the
    # caller's state in place when run eagerly (under jit the inputs are copies anyway).
    model = nnx.merge(discriminator_graphdef(width, n_layers, cond_dim, spectral_norm), state, copy=True)
    model.refresh(iterations)
    return nnx.state(model)


def style_statistics(vgg_params: nnx.State, images: jax.Array, *, layers: Sequence[str] = COND_LAYERS) -> jax.Array:
    """The style vector ``D`` is conditioned on: ``log(1 + [μ_l, σ_l])`` of VGG16 features, layers concatenated.

    The per-channel mean and std are AdaIN's description of a style (Huang & Belongie 2017); ``log1p``
    (they are ≥ 0 after ReLU) brings the deep layers' values (tens) and the shallow ones' (below one)
    to similar ranges before the linear embedding.

    Args:
      vgg_params: VGG16 parameters (:func:`gantransfer.pipeline.extractor.load_params`).
      images: ``[N, H, W, 3]`` in [0, 1], ``H, W >= 32``.
      layers: VGG16 layer names.
    Returns:
      ``[N, S]`` with ``S = 2 Σ_l c_l`` (:data:`STYLE_STATS_DIM` for the default layers).
    """
    layers = extractor.in_forward_order(extractor.check_layers(layers))
    images = check_features(images, "images")
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be [N, H, W, 3]; got shape {tuple(images.shape)}")
    feats = extractor.forward(vgg_params, images, layers)
    parts = []
    for name in layers:
        mean, std = feature_mean_std(feats[name])                            # [N, c], [N, c]
        parts += [mean, std]
    return jnp.log1p(jnp.concatenate(parts, axis=-1))                        # [N, S]


# ---------------------------------------------------------------------------------------------------
# Adversarial losses. Logits ``r = D(real)``, ``f = D(fake)`` of any shape; means over all their entries.

def _check_kind(kind: str) -> None:
    if kind not in LOSS_KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, LOSS_KINDS))}; got {kind!r}")


def d_loss(real_logits: jax.Array, fake_logits: jax.Array, *, kind: str) -> jax.Array:
    """The discriminator's loss (lower = ``D`` tells real from fake better).

    * ``"ns"`` (Goodfellow et al. 2014): ``mean(softplus(-r)) + mean(softplus(f))``
      ``= -mean log σ(r) - mean log(1 - σ(f))``, binary cross-entropy with labels 1 and 0.
    * ``"hinge"`` (Lim & Ye 2017; Miyato et al. 2018): ``mean(relu(1 - r)) + mean(relu(1 + f))``.
    * ``"lsgan"`` (Mao et al. 2017): ``½ mean((r - 1)²) + ½ mean(f²)``.

    Hinge and least squares reach 0 once ``D`` is sure (hinge: every real logit ≥ 1 and fake ≤ −1; least squares:
    outputs at their targets); the non-saturating loss only *tends* to 0 as ``D``'s logits grow without bound
    (softplus is never 0). When real and fake cannot be told apart, the least each can reach is
    :data:`D_LOSS_AT_CHANCE`, at :data:`D_OUTPUT_AT_CHANCE` on every patch.

    Args:
      real_logits: ``D(real)``, e.g. ``[N, h, w, 1]``.
      fake_logits: ``D(fake)``, any shape.
      kind: ``"ns"``, ``"hinge"`` or ``"lsgan"``.
    Returns:
      A scalar.
    """
    _check_kind(kind)
    real_logits = jnp.asarray(real_logits, jnp.float32)
    fake_logits = jnp.asarray(fake_logits, jnp.float32)
    if kind == "ns":
        return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))
    if kind == "hinge":
        return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))
    return 0.5 * jnp.mean((real_logits - 1.0) ** 2) + 0.5 * jnp.mean(fake_logits ** 2)


def g_loss(fake_logits: jax.Array, *, kind: str) -> jax.Array:
    """The generator's adversarial loss (lower = ``D`` takes the fakes for real).

    * ``"ns"``: ``mean(softplus(-f)) = -mean log σ(f)``, the non-saturating loss (Goodfellow et al. 2014):
      strong gradients exactly when ``D`` rejects the fakes, unlike ``mean log(1 - σ(f))``.
    * ``"hinge"``: ``-mean(f)`` (Lim & Ye 2017; Miyato et al. 2018).
    * ``"lsgan"``: ``½ mean((f - 1)²)`` (Mao et al. 2017).

    Args:
      fake_logits: ``D(G(...))``, any shape.
      kind: ``"ns"``, ``"hinge"`` or ``"lsgan"``.
    Returns:
      A scalar.
    """
    _check_kind(kind)
    fake_logits = jnp.asarray(fake_logits, jnp.float32)
    if kind == "ns":
        return jnp.mean(jax.nn.softplus(-fake_logits))
    if kind == "hinge":
        return -jnp.mean(fake_logits)
    return 0.5 * jnp.mean((fake_logits - 1.0) ** 2)


def r1_penalty(d_fn: Callable[[jax.Array], jax.Array], real_images: jax.Array) -> jax.Array:
    """The R1 gradient penalty: ``E_x ‖∇_x D(x)‖²`` on real images.

    ``D(x)`` of one image is the *sum* of its patch logits (as in Mescheder et al.'s and StyleGAN2's
    code, which take the gradient of ``D(x).sum()``). Because images do not interact inside ``D``, one
    gradient of the batch's sum gives every image's gradient. The regulariser added to ``D``'s loss is
    ``(γ / 2) · r1_penalty``; it pushes ``D`` to be flat on the data, which makes GAN training locally
    convergent. Differentiating it again for ``D``'s update is a double backward pass: pure, jit-safe.

    Args:
      d_fn: ``images [N, H, W, 3] -> logits [N, ...]`` (the discriminator with its state and style fixed).
      real_images: ``[N, H, W, 3]``.
    Returns:
      A scalar: the mean over the ``N`` images of the squared norm of ``∂ D(x_n) / ∂ x_n``.
    References:
      Mescheder, Geiger & Nowozin, "Which Training Methods for GANs do actually Converge?", ICML 2018.
    """
    real_images = check_features(real_images, "real_images")
    grads = jax.grad(lambda x: jnp.sum(d_fn(x)))(real_images)                # [N, H, W, 3]
    return jnp.mean(jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=-1))
