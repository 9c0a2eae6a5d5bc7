"""Process-wide settings: the persistent compilation cache, fast mode, the debug switch, and malloc.

Fast mode (``GANTRANSFER_FAST=1``) shrinks sizes and step counts so the notebooks run in seconds under
test; the debug switch (``GANTRANSFER_DEBUG=1`` or :func:`set_debug`) runs the library without ``jit`` so
a student can step through it with a debugger (it is much slower).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
from pathlib import Path

import jax

from gantransfer.core import programs

# glibc's mallopt(3) parameters.
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8

_freed_memory_kept = False


def env_flag(name: str, *, default: bool = False) -> bool:
    """Whether the environment variable ``name`` turns a setting on: ``1``, ``true``, ``yes`` or ``on`` (any case).

    With ``default=True`` (a setting that is on unless turned off) it reads the other way round: only ``0``,
    ``false``, ``no`` or ``off`` turn it off; unset or empty, it is ``default``.
    """
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value not in ("0", "false", "no", "off") if default else value in ("1", "true", "yes", "on")


def keep_freed_memory() -> bool:
    """Let glibc's malloc reuse large freed blocks instead of unmapping them (Linux with glibc only).

    XLA:CPU takes each call's scratch space afresh from malloc (165 MB for a Gatys step at 256 px); glibc
    hands a block that large out as a new ``mmap`` and unmaps it on free, so every step page-faults its
    whole scratch space in again: 40,000 faults, a tenth of the step's time on a 2-core CPU (15–25 % at
    512 px). With one malloc arena (XLA's worker threads would otherwise get arenas of their own, whose
    large blocks always come from ``mmap``), no ``mmap`` for large blocks and a 2 GiB trim threshold, the
    next call reuses the freed block and faults nothing.

    The price is memory: freed blocks of other sizes stay in the heap, so a process that works at several
    sizes peaks higher (a 256 then 512 px benchmark: 2.5 against 1.7 GiB). The ``gantransfer`` command
    calls it first thing; the library does not on import, since in a notebook kernel (whose own threads
    came first) it costs 0.15 GiB and gained no time (notebook 04: 74.2 against 74.7 s). A script can call
    it at its start: it only works before JAX's threads first allocate. ``GANTRANSFER_SYSTEM_MALLOC=1``
    keeps the system's defaults. Returns True when the settings are in force (also on a second call).
    """
    global _freed_memory_kept
    if _freed_memory_kept:
        return True
    if env_flag("GANTRANSFER_SYSTEM_MALLOC"):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    # Arena limit first: it only affects threads that have not allocated yet.
    _freed_memory_kept = bool(libc.mallopt(_M_ARENA_MAX, 1) and libc.mallopt(_M_MMAP_MAX, 0)
                              and libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    return _freed_memory_kept


def freed_memory_kept() -> bool:
    """Whether :func:`keep_freed_memory`'s malloc settings are in force in this process."""
    return _freed_memory_kept


def cache_dir() -> Path:
    """The user cache folder: ``$GANTRANSFER_CACHE`` or ``$XDG_CACHE_HOME/gantransfer`` (``~/.cache``)."""
    root = os.environ.get("GANTRANSFER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "gantransfer")
    return Path(root)


def enable_compilation_cache() -> Path | None:
    """Keep compiled XLA programs on disk, so a second process skips most compilation (1.3 s → 0.5 s).

    Two caches: JAX's persistent compilation cache (``<cache>/jax``: no compiling, but every process still
    traces and lowers), and :mod:`gantransfer.core.programs` (``<cache>/programs``: whole executables of the
    library's hot functions, so a process skips their tracing and lowering as well; ``GANTRANSFER_PROGRAM_CACHE=0``
    leaves it off).
    Returns the cache folder, or ``None`` if it cannot be created (the library works without it).
    """
    folder = cache_dir() / "jax"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    if env_flag("GANTRANSFER_PROGRAM_CACHE", default=True):
        programs.enable(cache_dir() / "programs")
    return folder


def fast_mode() -> bool:
    """True when ``GANTRANSFER_FAST`` is set to a true value (tests run the notebooks this way)."""
    return env_flag("GANTRANSFER_FAST")


def set_debug(enabled: bool = True) -> None:
    """Run every jitted function eagerly (``jax.config.jax_disable_jit``): slow, but steppable."""
    jax.config.update("jax_disable_jit", bool(enabled))


if env_flag("GANTRANSFER_DEBUG"):
    set_debug(True)


def machine_memory_bytes() -> int:
    """This machine's physical memory in bytes (16 GiB where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2 ** 30
