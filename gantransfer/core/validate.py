"""Input checks shared by the public functions: clear ``ValueError`` messages, and safe under ``jax.jit``.

Checks that need values (NaN, negative weights) run only on concrete inputs; under ``jit`` the inputs are
tracers and only their static shape and dtype can be checked.
"""
from __future__ import annotations

import math
import numbers
import operator

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x) -> bool:
    """True when ``x`` holds values now (not a tracer inside ``jit``/``grad``)."""
    return not isinstance(x, jax.core.Tracer)


def as_jax(x) -> jax.Array:
    """``x`` (numpy or JAX) as a JAX array, copied to the default device without compiling anything.

    ``jnp.asarray`` of a numpy array runs a small compiled program (``jit(stage)``), one per shape and dtype; in
    a short process such as ``gantransfer stylize`` each is traced and looked up in the compilation cache again,
    a few ms apiece. ``jax.device_put`` only copies (and turns float64 into float32 as ``jnp.asarray`` does).
    """
    return x if isinstance(x, jax.Array) else jax.device_put(np.asarray(x))


def check_features(x, name: str = "features", *, min_ndim: int = 3) -> jax.Array:
    """A floating array of at least ``min_ndim`` dimensions (``[..., h, w, c]``), as a jax array."""
    if isinstance(x, (list, tuple)) or x is None:
        raise ValueError(f"{name} must be an array [N, h, w, c]; got {type(x).__name__}")
    x = as_jax(x) if is_concrete(x) else x
    if x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions [.., h, w, c]; got shape {tuple(x.shape)}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise ValueError(f"{name} must be a float array; got dtype {x.dtype}")
    return x


def check_count(value, name: str, *, minimum: int = 1) -> int:
    """A Python ``int`` (not a bool) >= ``minimum``: a number of steps, levels, items; else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        wanted = {1: "a positive integer", 0: "a non-negative integer"}.get(minimum, f"an integer >= {minimum}")
        raise ValueError(f"{name} must be {wanted}; got {value!r}")
    return value


def check_size(value, name: str) -> int:
    """A pixel size or count that may come from NumPy (``np.int64`` is fine, a bool or float is not): ``int`` >= 1."""
    try:
        number = None if isinstance(value, bool) else operator.index(value)
    except TypeError:
        number = None
    if number is None or number < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(number)


def check_weight(value, name: str = "weight", *, allow_zero: bool = True):
    """A finite, non-negative weight. Python/numpy numbers come back as ``float``; tracers pass through."""
    if isinstance(value, (bool, str, bytes, bytearray)) or value is None:
        raise ValueError(f"{name} must be a number; got {value!r}")
    if isinstance(value, (np.ndarray, np.generic)) and np.asarray(value).dtype.kind not in "iuf":
        raise ValueError(f"{name} must be a real number; got {value!r} (dtype {np.asarray(value).dtype})")
    if isinstance(value, numbers.Real) or (isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite; got {value}")
        if value < 0 or (value == 0 and not allow_zero):
            raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}; got {value}")
        return value
    if is_concrete(value):
        arr = np.asarray(value)
        if arr.ndim != 0:
            raise ValueError(f"{name} must be a scalar; got shape {arr.shape}")
        return check_weight(float(arr), name, allow_zero=allow_zero)
    return value
