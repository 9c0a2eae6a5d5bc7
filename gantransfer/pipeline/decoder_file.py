"""The decoder file format: a trained decoder as a float16 ``.npz`` with its width and the layer it inverts.

What inference needs to read a decoder (and training to write one), with every key name, shape and value
checked on reading, the way nanoGPT's ``from_pretrained`` ports GPT-2. Nothing here imports training.

Taught in ``notebooks/04_fusion.ipynb``.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping

import jax.numpy as jnp
import numpy as np
from flax import nnx

from gantransfer.core import resources
from gantransfer.pipeline import generator


def export_decoder(params, path: str | os.PathLike, *, width: float = 1.0,
                   layer: str = generator.ENCODER_LAYER) -> Path:
    """Write decoder parameters as a float16 ``.npz`` (half the size; plenty for an 8-bit image), with
    its width and the encoder layer it inverts."""
    flat = {"/".join(map(str, k)): np.asarray(v.get_value() if hasattr(v, "get_value") else v, np.float16)
            for k, v in nnx_flat(params)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    try:
        np.savez_compressed(tmp, __width__=np.float32(width), __layer__=np.str_(layer), **flat)
        os.replace(tmp, path)
    except OSError as err:  # e.g. a full disk: leave no half-written file behind
        tmp.unlink(missing_ok=True)
        raise OSError(err.errno, f"could not write the decoder to {path}: {err.strerror or err}") from None
    return path


def load_decoder(path: str | os.PathLike, *, layer: str = generator.ENCODER_LAYER):
    """Read an exported decoder: ``(params, width)``; the file, key names, shapes and values are checked.

    ``layer`` is the encoder layer the caller needs it to invert; a file without a ``__layer__`` entry
    (written before decoders of other layers existed) is a ``relu4_1`` decoder.

    Raises:
      FileNotFoundError: no file at ``path``.
      ValueError: naming the file, for anything that is not a complete, finite decoder of one width.
    """


    arrays = resources.read_npz(path, what="decoder file")
    if "__width__" not in arrays:
        raise ValueError(f"decoder file {path} has no __width__ entry: not written by export_decoder")
    width = float(np.asarray(arrays["__width__"]).reshape(-1)[0]) if np.asarray(arrays["__width__"]).size else math.nan
    if not (math.isfinite(width) and width > 0):
        raise ValueError(f"decoder file {path}: width must be a finite number > 0; got {width}")
    saved_layer = arrays.pop("__layer__", np.str_(generator.ENCODER_LAYER))
    if saved_layer.ndim != 0 or saved_layer.dtype.kind != "U":
        raise ValueError(f"decoder file {path}: __layer__ must be one layer name; got {saved_layer.dtype} "
                         f"of shape {saved_layer.shape}")
    saved_layer = str(saved_layer)
    if saved_layer != layer:
        raise ValueError(f"decoder file {path} inverts {saved_layer}, not {layer}")
    abstract = nnx.state(nnx.eval_shape(lambda: generator.Decoder(width=width, layer=layer, rngs=nnx.Rngs(0))),
                         nnx.Param)
    flat = {}
    for key, leaf in nnx.to_flat_state(abstract):
        name = "/".join(map(str, key))
        if name not in arrays:
            raise ValueError(f"decoder file {path} lacks {name}")
        value = arrays[name].astype(np.float32)
        if value.shape != leaf.get_value().shape:
            raise ValueError(f"decoder file {path}: {name} has shape {value.shape}, expected {leaf.get_value().shape}")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"decoder file {path}: {name} holds NaN or infinite values")
        flat[key] = leaf.replace(jnp.asarray(value))
    return nnx.from_flat_state(flat), width


def load_level_decoders(paths: Mapping[str, str | os.PathLike] | None = None) -> dict[str, tuple]:
    """The decoders of multi-level WCT (:func:`gantransfer.pipeline.generator.generate_multilevel`):
    ``{layer: (params, width)}``, by default the shipped ones (:data:`gantransfer.pipeline.generator.SHIPPED_LEVEL_DECODERS`).

    Raises:
      FileNotFoundError: a file is missing (the message says how to train it).
      ValueError: as :func:`load_decoder`, e.g. a file that inverts another layer.
    """
    paths = dict(generator.SHIPPED_LEVEL_DECODERS if paths is None else paths)
    decoders = {}
    for layer, path in paths.items():
        if not Path(path).is_file():
            raise FileNotFoundError(f"no {layer} decoder at {path}; train one with `gantransfer train decoder "
                                    f"--layer {layer} --export {path}`")
        decoders[layer] = load_decoder(path, layer=layer)
    return decoders


def nnx_flat(state):
    """``(key_path, leaf)`` pairs of an ``nnx.State``."""

    return list(nnx.to_flat_state(state))
