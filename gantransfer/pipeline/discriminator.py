"""The discriminator ``D`` of the per-style GAN, and the adversarial losses every GAN here trains with.

``D`` looks at an image and scores every patch: real (a patch of the style image) or fake (the generator's).
Style is a texture, a property of patches, so a patch judge is the natural one (PatchGAN, Isola et al. 2017).
This one is P²-GAN's (Zheng & Liu 2020, arXiv 2001.07466): two ``k × k`` convolutions of stride ``k`` and a
1 × 1 output, so each logit judges one ``k² × k²`` patch and patches do not overlap (16 px with ``k = 4``).
It stays small (about 35 k parameters at width 32) because it only has to tell textures apart, and it is
fast because it never looks at a pixel twice. :mod:`gantransfer.training.style_gan` trains it against the
per-style generator; :mod:`gantransfer.training.cycle_gan` uses two of them. (The texture GAN's ``D``,
:func:`gantransfer.training.texture_gan.critic`, is the overlapping-patch PatchGAN of Jetchev et al.)

The losses (:func:`d_loss`, :func:`g_loss`: non-saturating, hinge, least squares), R1 (:func:`r1_penalty`) and
spectral normalisation (:func:`power_iteration`, :func:`spectral_normalize`, used by the toy GAN's ``D``) are
shared by every GAN of the course. Taught in ``notebooks/05_adversarial_training.ipynb`` (the losses) and
``05b_style_gan.ipynb`` (the patch ``D``).

(Until 2026-12 this module also held a style-conditioned projection PatchGAN for the AdaIN decoder's GAN
fine-tuning; it measured no gain and was retired with it: ``docs/gan.md``.)
"""
from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from gantransfer.core.validate import check_features
from gantransfer.pipeline import style_generator

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
# The patch discriminator (P²-GAN).

def patch_stride(d_patch: int) -> int | None:
    """``k`` with ``k² = d_patch`` and ``k >= 2`` (``D``'s kernel and stride), or ``None``."""
    k = math.isqrt(d_patch)
    return k if k >= 2 and k * k == d_patch else None


def init_patch_critic(key: jax.Array, *, d_patch: int = 16, d_width: int = 32) -> dict:
    """``D``'s parameters: two ``k × k`` convolutions of stride ``k`` (``k² = d_patch``) and a 1 × 1 output."""
    k = patch_stride(d_patch)
    if k is None:
        raise ValueError(f"d_patch must be a square k² with k >= 2; got {d_patch}")
    keys = jax.random.split(key, 3)
    chans = (3, d_width, 2 * d_width, 1)
    return {"layers": [style_generator.conv_init(kk, size, a, b)
                       for kk, size, a, b in zip(keys, (k, k, 1), chans[:-1], chans[1:])]}


def patch_critic(d_params: dict, images: jax.Array) -> jax.Array:
    """``D(images)``: ``[N, H, W, 3]`` in [0, 1] → logits ``[N, H // p, W // p, 1]``, one per ``p × p`` patch
    (``p = k²``; a border narrower than a patch is not judged)."""
    x = images * 2.0 - 1.0
    *hidden, out = d_params["layers"]
    for layer in hidden:
        k = layer["w"].shape[0]
        x = jax.lax.conv_general_dilated(x, layer["w"], (k, k), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        x = jax.nn.leaky_relu(x + layer["b"], _LEAK)
    return jnp.einsum("nhwc,cd->nhwd", x, out["w"][0, 0]) + out["b"]


def permute_patches(key: jax.Array, images: jax.Array, patch: int) -> jax.Array:
    """Shuffle the ``patch × patch`` tiles of each image ``[N, H, W, 3]`` (P²-GAN's real samples).

    Returns ``[N, H', W', 3]`` with ``H' = patch · ⌊H / patch⌋`` (the same for ``W``): every tile is a tile of the
    input, placed at random, so the statistics of a patch are kept and the picture's layout is destroyed.
    """
    n, h, w, c = images.shape
    gh, gw = h // patch, w // patch
    tiles = images[:, :gh * patch, :gw * patch].reshape(n, gh, patch, gw, patch, c).transpose(0, 1, 3, 2, 4, 5)
    tiles = tiles.reshape(n, gh * gw, patch, patch, c)
    order = jax.vmap(lambda k: jax.random.permutation(k, gh * gw))(jax.random.split(key, n))
    tiles = jnp.take_along_axis(tiles, order[:, :, None, None, None], axis=1)
    return tiles.reshape(n, gh, gw, patch, patch, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, gh * patch, gw * patch, c)

# ---------------------------------------------------------------------------------------------------
# Spectral normalisation (the toy GAN's D).

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
    power iteration per training step (as the toy GAN's ``D`` does) gets there because ``W`` changes slowly
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
