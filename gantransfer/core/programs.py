"""Compiled programs kept whole on disk, so that a new ``gantransfer`` process skips tracing and lowering.

JAX's persistent compilation cache (:func:`gantransfer.core.runtime.enable_compilation_cache`) saves the
*compiling*, but every new process still traces each jitted function in Python and lowers it to StableHLO to
compute the cache's key: for ``gantransfer stylize`` at 256 px 0.6–0.8 s of a 5–9 s command (a Gatys step
traced once per scale, the targets, the recoloured start; docs/speed.md). :func:`jit` is ``jax.jit`` plus a
second cache one level up: the compiled executable itself, serialised with
``jax.experimental.serialize_executable`` (JAX's ahead-of-time API, which the persistent cache uses inside)
under a key of the function, the shapes and dtypes of its arguments, its static arguments, the JAX versions,
the backend and a digest of this package's source. A process that finds the file loads the executable and
runs it: no tracing, no lowering.

It is off until :func:`enable` (the command line calls it beside the compilation cache;
``GANTRANSFER_PROGRAM_CACHE=0`` keeps it off); then only calls with concrete arrays use it: inside another ``jit``,
under ``jax.disable_jit`` or with it off, a wrapped function is the plain ``jax.jit`` of it. XLA:CPU can serialise an
executable without the code of fusions the process loaded or compiled before for other programs, which loads and
then fails when run; so a file is written only after its bytes, loaded back, ran once on zeros
(:func:`_runs_when_loaded`). A file that cannot be loaded is removed, compiled afresh and written again; a change
to the library's source changes every key.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import marshal
import os
import pickle
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import jax
import jaxlib.version
import numpy as np
from jax import monitoring
from jax.experimental import serialize_executable

_folder: Path | None = None
#: XLA options passed when this module compiles, changing how the work is split, not the program: a process that
#: has loaded an executable from JAX's persistent cache reuses its compiled fusions when it compiles the same ones
#: again with the same options, and the new executable then serialises without their code (loaded back it fails:
#: "Function broadcast_clamp_fusion not found"). Options of their own make XLA compile every fusion afresh; an
#: option at its default value (``xla_embed_ir_in_executable=False``, tried first) did not
#: (``tests/test_programs.py``). Whatever else slips through is caught by :func:`_runs_when_loaded`.
FRESH_COMPILE_OPTIONS = {"xla_cpu_parallel_codegen_split_count": 3}
#: JAX monitoring event spanning each load of a stored program or value (the start-up benchmark counts it as
#: compilation: it stands in for tracing, lowering and the persistent cache's retrieval).
LOAD_EVENT = "/gantransfer/programs/load"


def enable(folder: str | os.PathLike) -> None:
    """Keep compiled programs of :func:`jit`-wrapped functions in ``folder`` (created if needed)."""
    global _folder
    _folder = Path(folder)


def disable() -> None:
    """Stop using the folder (programs already loaded in this process stay loaded)."""
    global _folder
    _folder = None


def folder() -> Path | None:
    """The folder in use, or ``None`` when off."""
    return _folder


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """SHA-256 of every ``.py`` file of the ``gantransfer`` package (paths and contents), hex."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _environment() -> tuple:
    # What else decides the compiled code: JAX and its compiler, the backend and its devices, the machine
    # (a CPU executable is built for this CPU's instruction set), XLA's flags and the float width.
    import flax  # lazy: runtime imports this module before anything needs Flax

    device = jax.devices()[0]
    return (jax.__version__, jaxlib.version.__version__, flax.__version__,
            device.platform, device.device_kind, device.client.platform_version, jax.device_count(),
            platform.machine(), platform.processor(), os.environ.get("XLA_FLAGS", ""),
            bool(jax.config.jax_enable_x64), source_digest())


#: Folders of other environments (an older version of the library, another JAX) untouched this long are removed.
STALE_SECONDS = 7 * 24 * 3600


def _generation() -> Path:
    """``<folder>/<environment digest>``: one subfolder per library source and JAX, so that what an upgrade leaves
    behind can be pruned as a whole (:data:`STALE_SECONDS`)."""
    here = _folder / hashlib.sha256(repr(_environment()).encode()).hexdigest()[:24]
    if here not in _pruned:
        _pruned.add(here)
        try:
            if here.is_dir():
                os.utime(here)          # in use: a process of another version must not prune it
            for other in _folder.iterdir():
                if other != here and other.is_dir() and time.time() - other.stat().st_mtime > STALE_SECONDS:
                    shutil.rmtree(other, ignore_errors=True)
        except OSError:
            pass
    return here


_pruned: set[Path] = set()


def _leaf_signature(leaf) -> tuple:
    # The objects themselves, not their str(): hashed every call (a tenth of the cost), and their repr names the file.
    if isinstance(leaf, jax.Array):
        return ("a", leaf.shape, leaf.dtype, leaf.weak_type, leaf.sharding)
    if isinstance(leaf, (np.ndarray, np.generic)):
        return ("n", leaf.shape, leaf.dtype)
    return ("p", type(leaf).__name__)          # a Python scalar: weakly typed, its value is an argument


class _Program:
    """A function under ``jax.jit`` whose compiled executables are also kept on disk (see the module)."""

    def __init__(self, fn: Callable, *, static_argnames: tuple[str, ...], donate_argnums: tuple[int, ...]):
        self._jitted = jax.jit(fn, static_argnames=static_argnames, donate_argnums=donate_argnums)
        self._signature = inspect.signature(fn)
        self._static = frozenset(static_argnames)
        self._static_positions = frozenset(i for i, name in enumerate(self._signature.parameters) if name in self._static)
        # Named by its module, qualified name and compiled code (two lambdas of one scope differ by their code).
        code = hashlib.sha256(marshal.dumps(fn.__code__)).hexdigest()[:16] if hasattr(fn, "__code__") else ""
        self._name = f"{fn.__module__}.{fn.__qualname__}.{code}"
        self._loaded: dict[Any, Any] = {}
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if _folder is None or jax.config.jax_disable_jit:
            return self._jitted(*args, **kwargs)
        # As jax.jit does: static arguments leave the call (by position or name); the compiled program takes the rest.
        dynamic_args = tuple(a for i, a in enumerate(args) if i not in self._static_positions)
        dynamic_kwargs = {k: v for k, v in kwargs.items() if k not in self._static}
        leaves, tree = jax.tree.flatten((dynamic_args, dynamic_kwargs))
        if any(isinstance(leaf, jax.core.Tracer) for leaf in leaves):   # inside another transformation
            return self._jitted(*args, **kwargs)
        static = () if not self._static else tuple(
            (k, v) for k, v in self._signature.bind(*args, **kwargs).arguments.items() if k in self._static)
        key = (tree, static, tuple(map(_leaf_signature, leaves)))
        compiled = self._loaded.get(key)
        if compiled is None:
            compiled = self._loaded[key] = self._load_or_compile(key, args, kwargs, leaves, tree)
        return compiled(*dynamic_args, **dynamic_kwargs)

    def __getattr__(self, name):
        # Everything else of the jitted function (``lower``, ``trace``, ``eval_shape``) as jax.jit has it.
        return getattr(self._jitted, name)

    def _path(self, key) -> Path:
        text = repr((self._name, key))
        return _generation() / f"{self._name.rsplit('.', 2)[-2]}-{hashlib.sha256(text.encode()).hexdigest()[:32]}.jaxexe"

    def _load_or_compile(self, key, args, kwargs, leaves, tree):
        path = self._path(key)
        compiled = _load(path, lambda data: serialize_executable.deserialize_and_load(*pickle.loads(data)))
        if compiled is not None:
            return compiled
        # Compiled here, taken neither from JAX's persistent cache nor from the executables it holds in memory
        # (which may have come from that cache): such an executable serialises without the code of its separately
        # compiled parts, and running it once loaded fails ("Function broadcast_clamp_fusion not found").
        cache_on = jax.config.jax_enable_compilation_cache
        jax.config.update("jax_enable_compilation_cache", False)
        try:
            compiled = self._jitted.lower(*args, **kwargs).compile(FRESH_COMPILE_OPTIONS)
        finally:
            jax.config.update("jax_enable_compilation_cache", cache_on)
        data = _serialized(compiled)
        if data is not None and _runs_when_loaded(data, leaves, tree):
            _write(path, lambda: data)
        return compiled


def _serialized(compiled) -> bytes | None:
    try:
        return pickle.dumps(serialize_executable.serialize(compiled))
    except Exception:  # noqa: BLE001 (an executable that cannot be serialised is simply not kept)
        return None


def _runs_when_loaded(data: bytes, leaves: list, tree) -> bool:
    """Whether the serialised executable, loaded back, runs on zeros shaped like the call's arguments.

    XLA:CPU can serialise an executable without the code of fusions that this process had loaded or compiled
    before for another executable (reproduced with one loaded from JAX's persistent cache; :data:`FRESH_COMPILE_OPTIONS`
    avoids that case, and in a test worker that had run many other programs a few such executables still came out;
    loaded, they fail when run with "Function broadcast_clamp_fusion not found"). Loading reads only the file's own
    code, so loading it back here and running it once finds out before the file is written, for the price of one
    run in the process that compiles (docs/speed.md).
    """
    try:
        loaded = serialize_executable.deserialize_and_load(*pickle.loads(data))
        zeros = [jax.numpy.zeros_like(leaf) if isinstance(leaf, jax.Array)
                 else np.zeros_like(leaf) if isinstance(leaf, (np.ndarray, np.generic)) else leaf for leaf in leaves]
        dynamic_args, dynamic_kwargs = jax.tree.unflatten(tree, zeros)
        jax.block_until_ready(loaded(*dynamic_args, **dynamic_kwargs))
    except Exception:  # noqa: BLE001 (incomplete code, an argument zeros cannot stand for: not kept)
        return False
    return True


def _load(path: Path, decode: Callable[[bytes], Any]) -> Any:
    """``decode(path's bytes)``, its time reported as :data:`LOAD_EVENT`; ``None`` if the file is missing, damaged or
    from another jaxlib (the caller makes the value afresh; a file that cannot be decoded is removed)."""
    start = time.time()
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        value = decode(data)
    except Exception:  # noqa: BLE001 (damaged, or from another jaxlib: removed, so no later process tries it again)
        path.unlink(missing_ok=True)
        return None
    monitoring.record_event_time_span(LOAD_EVENT, start, time.time())   # `gantransfer bench` counts it as compilation
    return value


def _write(path: Path, make_bytes: Callable[[], bytes]) -> None:
    tmp = None
    try:
        data = make_bytes()
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as tmp:
            tmp.write(data)
        os.replace(tmp.name, path)     # atomic: a process reading meanwhile sees the old file or the new one
    except Exception:  # noqa: BLE001 (a full disk or an unserialisable value only costs the next start)
        if tmp is not None:
            Path(tmp.name).unlink(missing_ok=True)


def remembered(fn: Callable[[], Any]) -> Callable[[], Any]:
    """A function of no arguments whose (picklable) result is kept in the folder like the programs.

    For values that cost a trace to make and depend on nothing but the library's source and JAX (VGG16's
    abstract module, made by ``nnx.eval_shape``: 0.06–0.1 s per process, against 2 ms to unpickle).
    """
    @functools.wraps(fn)
    def wrapper():
        if _folder is None:
            return fn()
        name = f"{fn.__module__}.{fn.__qualname__}"
        path = _generation() / f"{fn.__name__}-{hashlib.sha256(name.encode()).hexdigest()[:32]}.pickle"
        value = _load(path, pickle.loads)
        if value is not None:
            return value
        value = fn()
        _write(path, lambda: pickle.dumps(value))
        return value
    return wrapper


def jit(fn: Callable | None = None, *, static_argnames: tuple[str, ...] | str = (),
        donate_argnums: tuple[int, ...] | int = ()):
    """``jax.jit(fn, static_argnames=..., donate_argnums=...)`` whose executables :func:`enable` keeps on disk.

    Use as a decorator (``@programs.jit`` or ``@programs.jit(static_argnames=("height", "width"))``). Static
    arguments are named (by position or keyword, as ``jax.jit`` allows); they must have a stable ``repr``. The
    stored program is found by ``fn``'s module, qualified name and code: ``fn`` must read no closure or global
    that varies between processes except through the library's source.
    """
    names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
    donate = (donate_argnums,) if isinstance(donate_argnums, int) else tuple(donate_argnums)
    if fn is None:
        return functools.partial(jit, static_argnames=names, donate_argnums=donate)
    return _Program(fn, static_argnames=names, donate_argnums=donate)
