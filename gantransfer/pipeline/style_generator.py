"""The per-style generator ``G_S``: one photo in, the same photo painted in one style out, in one pass.

A small encoder–decoder trained for a single style (Johnson, Alahi & Fei-Fei 2016), made cheap the way P²-GAN
(Zheng & Liu 2020, arXiv 2001.07466) makes it: depthwise-separable convolutions (Chollet 2017) — a 3 × 3 filter per
channel, then a 1 × 1 mix of channels — cost about a ninth of a full 3 × 3 convolution of the same width. With the
default width 32, ``G_S`` has about 27,000 parameters::

    [N, H, W, 3] ─conv 3×3 /2→ [H/2, 32] ─sep /2→ [H/4, 64] ─2 residual sep blocks→ [H/4, 64]
                 ─up ×2, sep→ [H/2, 32] ─up ×2, sep→ [H, 16] ─conv 3×3→ [N, H, W, 3]

Every convolution but the last is followed by instance normalisation (Ulyanov et al. 2016: the contrast of the
photo stops mattering) and a ReLU; borders are reflected (no dark frame); upsampling is nearest-neighbour followed
by a convolution (no checkerboard, Odena et al. 2016). Sides must be multiples of 4.

Parameters are a plain pytree of arrays (a dict), saved by :func:`save_generator` as a float16 ``.npz`` of a few
hundred KB with its width and a format tag, and read back, checked, by :func:`load_generator`. Trained by
:mod:`gantransfer.training.style_gan` (``gantransfer train gan --style NAME``); used by ``gantransfer stylize
--method gan``. Taught in ``notebooks/05_adversarial_training.ipynb``.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gantransfer.core import images, resources
from gantransfer.core.validate import as_jax, check_count

#: Where the package's per-style generators live: ``checkpoints/gan/NAME.npz``.
SHIPPED_DIR = resources.checkpoint("gan")
#: ``G_S``'s sides must be multiples of this (two stride-2 convolutions).
MULTIPLE = 4
#: The default width: channels after the first convolution (doubled at 1/4 resolution).
DEFAULT_WIDTH = 32
#: Residual blocks at 1/4 resolution.
RESIDUAL_BLOCKS = 2
_FORMAT = "gantransfer-style-generator-1"


def conv_init(key, k: int, c_in: int, c_out: int, *, depthwise: bool = False) -> dict:
    """A ``k × k`` convolution ``{"w": [k, k, c_in, c_out], "b": [c_out]}`` with He initialisation (``[k, k, 1, c_in]``
    per-channel filters with ``depthwise``); the GANs of :mod:`gantransfer.training` build their networks from it."""
    fan_in = k * k * (1 if depthwise else c_in)
    shape = (k, k, 1, c_in) if depthwise else (k, k, c_in, c_out)
    return {"w": jax.random.normal(key, shape) * math.sqrt(2.0 / fan_in), "b": jnp.zeros((shape[-1],))}


def conv_init_many(key, specs: Sequence[tuple[int, int, int]]) -> list[dict]:
    """:func:`conv_init` for several layers ``specs = [(k, c_in, c_out), ...]`` from one draw of normal numbers.

    The same He initialisation; one draw because XLA:CPU compiles a random-number program per shape: eleven
    layers drawn one by one took 5.5 s to compile, from one flat draw 0.5 s (2-core EPYC, 2026-12-07).
    """
    for spec in specs:
        if len(spec) != 3:
            raise ValueError(f"each layer is (k, c_in, c_out); got {spec!r}")
        for value, name in zip(spec, ("k", "c_in", "c_out")):
            check_count(value, name)
    sizes = [k * k * c_in * c_out for k, c_in, c_out in specs]
    flat = jax.random.normal(key, (sum(sizes),))
    layers, start = [], 0
    for (k, c_in, c_out), size in zip(specs, sizes):
        w = flat[start:start + size].reshape(k, k, c_in, c_out) * math.sqrt(2.0 / (k * k * c_in))
        layers.append({"w": w, "b": jnp.zeros((c_out,))})
        start += size
    return layers


def _sep_init(key, c_in: int, c_out: int, *, mix_first: bool = False) -> dict:
    """A separable layer; its per-channel 3 × 3 filter sees ``c_in`` channels, or ``c_out`` when the 1 × 1 mix
    comes first (the upsampling layers)."""
    k_dw, k_pw = jax.random.split(key)
    c_dw = c_out if mix_first else c_in
    return {"dw": conv_init(k_dw, 3, c_dw, c_dw, depthwise=True), "pw": conv_init(k_pw, 1, c_in, c_out),
            "norm": {"scale": jnp.ones((c_out,)), "bias": jnp.zeros((c_out,))}}


def init_generator(key: jax.Array, *, width: int = DEFAULT_WIDTH) -> dict:
    """Fresh parameters of ``G_S`` (He initialisation): ``{"stem", "down", "blocks", "up", "rgb"}``.

    Args:
      key: a ``jax.random.key``.
      width: channels after the first convolution (8 or more); the cost grows about as ``width²``.
    """
    check_count(width, "width")
    if width < 16 or width % 4:
        raise ValueError(f"width must be a multiple of 4, at least 16; got {width}")
    w, w2, quarter = width, 2 * width, width // 4
    keys = iter(jax.random.split(key, 6 + 2 * RESIDUAL_BLOCKS))
    return {
        "stem": {**conv_init(next(keys), 3, 3, w), "norm": {"scale": jnp.ones((w,)), "bias": jnp.zeros((w,))}},
        "down": _sep_init(next(keys), w, w2),
        "blocks": [[_sep_init(next(keys), w2, w2), _sep_init(next(keys), w2, w2)] for _ in range(RESIDUAL_BLOCKS)],
        "up": [_sep_init(next(keys), w2, w, mix_first=True), _sep_init(next(keys), w, quarter, mix_first=True)],
        "rgb": conv_init(next(keys), 3, quarter, 3),
    }


def generator_width(params: dict) -> int:
    """The width ``params`` were made with (the stem's output channels)."""
    return int(params["stem"]["w"].shape[-1])


def count_parameters(params: dict) -> int:
    """How many numbers ``G_S`` holds."""
    return int(sum(np.size(leaf) for leaf in jax.tree.leaves(params)))


def _reflect(x: jax.Array, k: int) -> jax.Array:
    lo, hi = (k - 1) // 2, k // 2
    return jnp.pad(x, ((0, 0), (lo, hi), (lo, hi), (0, 0)), mode="reflect")


def _conv(x: jax.Array, layer: dict, *, stride: int = 1) -> jax.Array:
    k = layer["w"].shape[0]
    x = _reflect(x, k) if k > 1 else x
    y = jax.lax.conv_general_dilated(x, layer["w"].astype(x.dtype), (stride, stride), "VALID",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + layer["b"].astype(x.dtype)


def _depthwise(x: jax.Array, layer: dict, *, stride: int = 1) -> jax.Array:
    """A 3 × 3 filter per channel as nine shifted, weighted copies of ``x`` (reflected borders).

    Written out because XLA's CPU convolution with ``feature_group_count = C`` is slow: 73 ms against 1.5 ms
    for these nine fused multiply-adds on ``[1, 512, 512, 16]`` (measured on a 2-core EPYC).
    """
    n, h, w, c = x.shape
    out_h, out_w = h // stride, w // stride
    padded = _reflect(x, 3)
    kernel = layer["w"].astype(x.dtype)[:, :, 0, :]                    # [3, 3, C]
    y = layer["b"].astype(x.dtype)
    for i in range(3):
        for j in range(3):
            shifted = jax.lax.slice(padded, (0, i, j, 0), (n, i + stride * (out_h - 1) + 1,
                                                          j + stride * (out_w - 1) + 1, c), (1, stride, stride, 1))
            y = y + shifted * kernel[i, j]
    return y


def _instance_norm(x: jax.Array, norm: dict, eps: float = 1e-5) -> jax.Array:
    mean = jnp.mean(x, axis=(1, 2), keepdims=True)
    var = jnp.var(x, axis=(1, 2), keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + eps) * norm["scale"] + norm["bias"]


def _separable(x: jax.Array, layer: dict, *, stride: int = 1, relu: bool = True) -> jax.Array:
    x = _instance_norm(_conv(_depthwise(x, layer["dw"], stride=stride), layer["pw"]), layer["norm"])
    return jax.nn.relu(x) if relu else x


def _up_separable(x: jax.Array, layer: dict) -> jax.Array:
    """Nearest ×2, then a separable convolution, computed as 1 × 1 mix → ×2 → 3 × 3 per channel: the same
    function (nearest upsampling commutes with a 1 × 1 convolution), but the mix runs at a quarter of the
    pixels and the upsampled tensor has the (fewer) output channels.

    The two ``optimization_barrier`` calls keep XLA from fusing the nine-tap sum into instance normalisation's
    reductions (it then recomputes it for the mean, the variance and the output): 16 ms → 2 ms for
    ``[1, 128, 128, 64] → [1, 256, 256, 32]`` on a 2-core EPYC.
    """
    mixed = jnp.einsum("nhwc,cd->nhwd", x, layer["pw"]["w"][0, 0].astype(x.dtype)) + layer["pw"]["b"].astype(x.dtype)
    n, h, w, c = mixed.shape
    up = jnp.broadcast_to(mixed[:, :, None, :, None, :], (n, h, 2, w, 2, c)).reshape(n, 2 * h, 2 * w, c)
    filtered = jax.lax.optimization_barrier(_depthwise(jax.lax.optimization_barrier(up), layer["dw"]))
    return jax.nn.relu(_instance_norm(filtered, layer["norm"]))


def apply_generator(params: dict, photos: jax.Array) -> jax.Array:
    """``G_S(photos)``: ``[N, H, W, 3]`` float in [0, 1] → ``[N, H, W, 3]`` in [0, 1] (pure; jit it).

    ``H`` and ``W`` must be multiples of :data:`MULTIPLE` (:func:`stylize` pads any size).
    """
    if photos.ndim != 4 or photos.shape[-1] != 3:
        raise ValueError(f"photos must be [N, H, W, 3]; got shape {tuple(photos.shape)}")
    if photos.shape[1] % MULTIPLE or photos.shape[2] % MULTIPLE:
        raise ValueError(f"sides must be multiples of {MULTIPLE}; got {photos.shape[1]}×{photos.shape[2]}")
    x = _conv(photos * 2.0 - 1.0, params["stem"], stride=2)
    x = jax.nn.relu(_instance_norm(x, params["stem"]["norm"]))
    x = _separable(x, params["down"], stride=2)
    for first, second in params["blocks"]:
        x = x + _separable(_separable(x, first), second, relu=False)
    for layer in params["up"]:
        x = _up_separable(x, layer)
    return jax.nn.sigmoid(_conv(x, params["rgb"]))


#: :func:`apply_generator`, compiled (once per image shape).
paint = jax.jit(apply_generator)


def stylize(params: dict, photo) -> np.ndarray:
    """One photo ``[H, W, 3]`` (any size of at least 16 px) through ``G_S``: reflected to multiples of 4, cropped back.

    Returns ``[H, W, 3]`` float32 in [0, 1].
    """
    photo = images.check_image_array(photo, name="photo", batched=False)
    h, w = photo.shape[:2]
    if min(h, w) < 16:
        raise ValueError(f"the photo must be at least 16 px on each side; got {h}×{w}")
    ph, pw = -h % MULTIPLE, -w % MULTIPLE
    padded = np.pad(photo, ((0, ph), (0, pw), (0, 0)), mode="reflect")
    return np.asarray(paint(params, jnp.asarray(padded)[None])[0, :h, :w], np.float32)


def save_generator(params: dict, path: str | os.PathLike) -> Path:
    """Write ``G_S`` as a float16 ``.npz`` (its parameters, width and a format tag); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = {jax.tree_util.keystr(k): np.asarray(v, np.float16) for k, v in jax.tree_util.tree_leaves_with_path(params)}
    with open(path, "wb") as f:
        np.savez_compressed(f, __format__=np.array(_FORMAT), __width__=np.array(generator_width(params)), **flat)
    return path


def load_generator(path: str | os.PathLike) -> dict:
    """Read a ``G_S`` written by :func:`save_generator`, as float32.

    Raises:
      FileNotFoundError: no file at ``path``.
      ValueError: one line, when the file is damaged or is not a per-style generator of this format.
    """
    arrays = resources.read_npz(path, what="generator")
    if str(arrays.pop("__format__", "")) != _FORMAT:
        raise ValueError(f"{path} is not a per-style generator (gantransfer train gan --style NAME writes them)")
    width = arrays.pop("__width__", None)
    if width is None or width.shape != () or not 16 <= int(width) <= 1024 or int(width) % 4:
        raise ValueError(f"{path}: no valid __width__ entry; the file is damaged")
    fresh = init_generator(jax.random.key(0), width=int(width))
    paths = [jax.tree_util.keystr(k) for k, _ in jax.tree_util.tree_leaves_with_path(fresh)]
    leaves = jax.tree.leaves(fresh)
    if sorted(paths) != sorted(arrays) or any(arrays[p].shape != leaf.shape for p, leaf in zip(paths, leaves)):
        raise ValueError(f"{path}: its arrays do not match a generator of its width; the file is damaged")
    if not all(np.isfinite(arrays[p]).all() for p in paths):
        raise ValueError(f"{path}: it holds NaN or infinite values; the file is damaged")
    return jax.tree.unflatten(jax.tree.structure(fresh), [as_jax(arrays[p].astype(np.float32)) for p in paths])


def shipped_generator_path(style: str) -> Path:
    """``checkpoints/gan/STYLE.npz`` in the package (it may not exist: :func:`shipped_styles` lists those that do)."""
    return SHIPPED_DIR / f"{style}.npz"


def steady_generator_path(style: str) -> Path:
    """``checkpoints/gan/steady/STYLE.npz``: STYLE's generator fine-tuned with the stability loss (steadier video,
    :func:`gantransfer.training.style_gan.stability_loss`); it may not exist."""
    return SHIPPED_DIR / "steady" / f"{style}.npz"


def shipped_styles() -> tuple[str, ...]:
    """The styles the package ships a generator for, sorted."""
    return tuple(sorted(p.stem for p in SHIPPED_DIR.glob("*.npz"))) if SHIPPED_DIR.is_dir() else ()
