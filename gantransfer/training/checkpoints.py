"""A run's folder: orbax checkpoints (atomic, the latest few kept), its settings (``config.json``), its metrics log.

Every orbax read and write of a run goes through one :class:`CheckpointManager`, opened once per run; a
Ctrl-C that arrives inside a write is held until the write is complete, and a damaged newest checkpoint is
set aside on resume. Shared by decoder and adversarial training.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import gc
import json
import logging
import os
import shutil
import signal
import sys
import threading
import traceback
import warnings
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import orbax.checkpoint as ocp

from gantransfer.training import parallel


class CheckpointError(ValueError):
    """A checkpoint orbax cannot restore (damaged, or of another run); the message is one line naming it."""


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) that arrives inside the block until the block is done, then raise it.

    Why: orbax reads and writes with threads of its own. A ``KeyboardInterrupt`` raised in the main thread
    mid-write leaves them running into the interpreter's shutdown, where they print tracebacks ("cannot
    schedule new futures after shutdown") and can keep the process from ever exiting. Held, the interrupt
    costs at most one checkpoint write (~0.1 s), and the checkpoint being written is complete.
    Only where Python's own handler is installed, in the main thread (elsewhere a signal cannot be caught).
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def _open_manager(directory: Path, *, max_to_keep: int = 3) -> ocp.CheckpointManager:
    """An orbax ``CheckpointManager`` on ``directory`` with synchronous writes (the caller closes it)."""
    return ocp.CheckpointManager(Path(directory).resolve(), options=ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, create=True, enable_async_checkpointing=False))


def _first_line(err: BaseException, limit: int = 300) -> str:
    """The first line of an error's text (orbax's run to dozens of lines), cut to ``limit`` characters."""
    text = next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _os_errno(err: BaseException) -> int | None:
    """The errno of an I/O failure behind an orbax error: from an ``OSError`` among its causes, else from the
    OS's words in its text (tensorstore reports a full disk as ``RESOURCE_EXHAUSTED: ... No space left on device``)."""
    cause = err
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno:
            return cause.errno
        cause = cause.__cause__ or cause.__context__
    text = str(err)
    return next((code for code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EIO)
                 if os.strerror(code) in text), None)


@contextlib.contextmanager
def _orbax_failure_quiet():
    """Keep what an orbax failure prints on its way out from burying the one line the caller raises instead.

    * The error records (with tracebacks) orbax logs through absl are held back while the block runs, and
      logged after all if it succeeds: nothing is lost then.
    * When a read or write fails, orbax closes its event loop while tensorstore still finishes the I/O it
      had started; each result handed to the closed loop raises "Event loop is closed" in a tensorstore
      thread, which Python reports through ``sys.unraisablehook`` as a bare traceback, during the block
      or later. Those reports, and only those, are dropped: while the block runs, and for the rest of the
      process once it has failed (nobody waits for those results).
    * On failure, the coroutines orbax abandoned are collected at once, without their "coroutine ... was
      never awaited" warnings. Their errors still surface whenever the garbage collector meets them, as
      asyncio's "Task/Future exception was never retrieved" records or as "Exception ignored in
      <coroutine …>" reports; those that come from orbax or tensorstore (:func:`_from_orbax`) are dropped
      for the rest of the process: the caller has already reported the failure once.
    """
    held: list[logging.LogRecord] = []

    def hold(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            held.append(record)
            return False
        return True

    loggers = [logging.getLogger(name) for name in ("absl", "asyncio")]
    for logger in loggers:
        logger.addFilter(hold)
    hook_before = sys.unraisablehook
    if not getattr(hook_before, "drops_closed_event_loop", False):
        sys.unraisablehook = _without_closed_event_loop_reports(hook_before)
    hook_during = sys.unraisablehook
    try:
        yield
    except BaseException:
        global _orbax_failed
        _orbax_failed = True
        held.clear()
        asyncio_logger = logging.getLogger("asyncio")
        if _drop_abandoned_orbax_tasks not in asyncio_logger.filters:
            asyncio_logger.addFilter(_drop_abandoned_orbax_tasks)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            gc.collect()
        raise
    else:
        if sys.unraisablehook is hook_during:  # unless someone else has replaced it meanwhile
            sys.unraisablehook = hook_before
    finally:
        for logger in loggers:
            logger.removeFilter(hold)
        for record in held:
            logging.getLogger(record.name).handle(record)


#: Set once an orbax read or write has failed in this process (see :func:`_orbax_failure_quiet`).
_orbax_failed = False


def _from_orbax(error: BaseException | None, tb=None, obj=None) -> bool:
    """Whether an error reported outside any caller came from orbax or tensorstore: a frame of its traceback
    is theirs, the coroutine it escaped from is orbax's, or its text is tensorstore's."""
    frames = traceback.extract_tb(tb) if tb is not None else []
    if any("/orbax/" in frame.filename or "/tensorstore/" in frame.filename for frame in frames):
        return True
    code = getattr(obj, "cr_code", None)
    if code is not None and "/orbax/" in code.co_filename:
        return True
    text = str(error)
    return any(mark in text for mark in ("OCDBT", "TensorStore", "tensorstore_spec"))


def _drop_abandoned_orbax_tasks(record: logging.LogRecord) -> bool:
    """A logging filter: ``False`` for asyncio's report of a task or future whose error nobody retrieved,
    when the error came from orbax or tensorstore (after a failed read or write orbax leaves such tasks)."""
    if "exception was never retrieved" not in record.getMessage() or not record.exc_info:
        return True
    return not _from_orbax(record.exc_info[1], record.exc_info[2])


def _without_closed_event_loop_reports(hook):
    """``hook`` (a ``sys.unraisablehook``) but silent for ``RuntimeError("Event loop is closed")`` and, once an
    orbax operation has failed, for errors of the coroutines orbax abandoned."""
    def quieter(unraisable):
        error = unraisable.exc_value
        if isinstance(error, RuntimeError) and str(error) == "Event loop is closed":
            return
        if _orbax_failed and _from_orbax(error, unraisable.exc_traceback, unraisable.object):
            return
        hook(unraisable)

    quieter.drops_closed_event_loop = True
    return quieter


class RunCheckpoints:
    """The checkpoints of one run through one orbax ``CheckpointManager``, opened at the first use and kept
    until :meth:`close` (or the ``with`` block's end): every save, restore and look-up of a training loop goes
    through it. Each orbax read or write holds Ctrl-C until it is complete (:func:`_interrupts_held`).

    Args:
      directory: the run's folder (created at the first write).
      max_to_keep: the newest checkpoints kept; older ones are deleted as new ones are written.
    """

    def __init__(self, directory: str | os.PathLike, *, max_to_keep: int = 3):
        self.directory = Path(directory)
        self.max_to_keep = max_to_keep
        self._manager: ocp.CheckpointManager | None = None

    def __enter__(self) -> "RunCheckpoints":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _get(self) -> ocp.CheckpointManager:
        if self._manager is None:
            with _interrupts_held():
                self._manager = _open_manager(self.directory, max_to_keep=self.max_to_keep)
        return self._manager

    def close(self) -> None:
        """Close the manager (a later use opens a new one)."""
        if self._manager is not None:
            manager, self._manager = self._manager, None
            with _interrupts_held():
                manager.close()

    def steps(self) -> list[int]:
        """The steps of the complete checkpoints, newest first (``[]`` when the folder does not exist)."""
        if not self.directory.is_dir():
            return []
        return sorted(self._get().all_steps(), reverse=True)

    def latest_step(self) -> int | None:
        """The newest complete checkpoint's step, or ``None``."""
        steps = self.steps()
        return steps[0] if steps else None

    def save(self, step: int, state: dict) -> None:
        """Save ``state`` (a pytree) as checkpoint ``step`` (atomic: orbax renames when done).

        Raises:
          OSError: the write failed (a full disk, a read-only folder): one line naming the checkpoint and the
            OS's reason. The half-written ``{step}.orbax-checkpoint-tmp-*`` folder is removed, so the disk
            space is freed and the newest complete checkpoint is still the newest.
        """
        try:
            with _orbax_failure_quiet(), _interrupts_held():
                manager = self._get()
                manager.save(step, args=ocp.args.StandardSave(state))
                manager.wait_until_finished()
        except Exception as err:
            self._drop_manager()
            for partial in self.directory.glob(f"{step}.orbax-checkpoint-tmp*"):
                shutil.rmtree(partial, ignore_errors=True)
            code = _os_errno(err)
            if code is None:  # not an I/O failure (a bug, a bad state): orbax's own error says more
                raise
            raise OSError(code, f"could not write checkpoint {step} in {self.directory}: {os.strerror(code)}") from err

    def _drop_manager(self) -> None:
        """Forget a manager a failed read or write left in an unknown state (the next use opens a new one)."""
        manager, self._manager = self._manager, None
        if manager is not None:
            with contextlib.suppress(Exception), _interrupts_held():
                manager.close()

    def restore(self, abstract_state: dict, step: int | None = None) -> dict:
        """Restore checkpoint ``step`` (default: the newest) into the structure of ``abstract_state``.

        Raises:
          FileNotFoundError: the folder holds no checkpoint.
          CheckpointError: orbax cannot restore it (damaged files, or a checkpoint of another structure); one
            line naming the checkpoint and orbax's first line.
        """
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        try:
            with _orbax_failure_quiet(), _interrupts_held():
                return self._get().restore(step, args=ocp.args.StandardRestore(abstract_state))
        except Exception as err:  # orbax and tensorstore raise ValueError, KeyError, plain Exception, ...
            self._drop_manager()
            raise CheckpointError(f"checkpoint {step} in {self.directory} cannot be restored "
                                  f"({type(err).__name__}: {_first_line(err)})") from err

    def restore_newest_intact(self, abstract_state: dict) -> dict:
        """Restore the newest checkpoint that can be restored, for a resume.

        A damaged newer checkpoint (e.g. a file lost in a copy) is renamed ``{step}.damaged`` — kept for
        inspection, out of the way of the checkpoint the resumed run will write at that step — with a warning
        naming it. Nothing is renamed unless an older checkpoint restores: if none does (the settings, not the
        files, are wrong), the newest one's :class:`CheckpointError` is raised.
        """
        steps = self.steps()
        if not steps:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        damaged = []
        for step in steps:
            try:
                state = self.restore(abstract_state, step)
            except CheckpointError as err:
                damaged.append((step, err))
                continue
            if damaged:
                self.close()          # the folder changes under the manager: the next use reads it afresh
            for bad, err in damaged if parallel.is_primary() else ():  # one process renames the shared folder
                aside = self.directory / f"{bad}.damaged"
                k = 1
                while aside.exists():
                    aside, k = self.directory / f"{bad}.damaged{k}", k + 1
                os.replace(self.directory / str(bad), aside)
                warnings.warn(f"{err}; moved it to {aside.name} and resumed from checkpoint {step}", stacklevel=2)
            return state
        raise damaged[0][1]


def save_checkpoint(directory: Path, step: int, state: dict) -> None:
    """:meth:`RunCheckpoints.save` once, outside a run (a run keeps its own :class:`RunCheckpoints`)."""
    with RunCheckpoints(directory) as run:
        run.save(step, state)


def latest_step(directory: Path) -> int | None:
    """The newest complete checkpoint's step in ``directory``, or ``None``."""
    with RunCheckpoints(directory) as run:
        return run.latest_step()


def restore_checkpoint(directory: Path, abstract_state: dict, step: int | None = None) -> dict:
    """:meth:`RunCheckpoints.restore` once, outside a run (e.g. to export a finished run's decoder)."""
    with RunCheckpoints(directory) as run:
        return run.restore(abstract_state, step)


def restore_newest_intact(directory: Path, abstract_state: dict) -> dict:
    """:meth:`RunCheckpoints.restore_newest_intact` once, outside a run."""
    with RunCheckpoints(directory) as run:
        return run.restore_newest_intact(abstract_state)


def read_run_config(path: str | os.PathLike) -> dict | None:
    """The settings a run saved in ``config.json``, or ``None`` if there is no such file.

    Raises:
      ValueError: naming the file, if it cannot be read or is not a JSON object.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read the run's settings {path} ({_first_line(err)}); fix or delete it") from None
    if not isinstance(saved, dict):
        raise ValueError(f"{path} does not hold a run's settings (a JSON object)")
    return saved


def resume_state(workdir: Path, config, abstract_state: dict, *, may_change: Sequence[str] = ("steps",),
                 run: RunCheckpoints | None = None) -> dict:
    """The state to resume the run in ``workdir`` from, after checking that ``config`` is its config.

    Shared by decoder and adversarial training.

    Args:
      workdir: the run's folder (checkpoints and ``config.json``).
      config: the settings of the resumed run, a config dataclass whose fields all have defaults (fields
        added since the run was saved take their defaults).
      abstract_state: the structure (and sharding) to restore into.
      may_change: the fields a resume may change (they do not alter the steps already taken).
      run: the run's :class:`RunCheckpoints` (default: one opened and closed here).
    Raises:
      FileNotFoundError: no checkpoint in ``workdir``.
      ValueError: ``config.json`` is unreadable, or differs from ``config`` outside ``may_change``;
        :class:`CheckpointError` if no checkpoint can be restored.
    """
    workdir = Path(workdir)
    if run is None:
        with RunCheckpoints(workdir) as own:
            return resume_state(workdir, config, abstract_state, may_change=may_change, run=own)
    if run.latest_step() is None:
        raise FileNotFoundError(f"--resume: no checkpoint in {workdir}")
    saved = read_run_config(workdir / "config.json")
    if saved is not None:
        saved = {**dataclasses.asdict(type(config)()), **saved}
        mine = dataclasses.asdict(config)
        changed = sorted(k for k in saved.keys() | mine.keys() if k not in may_change and saved.get(k) != mine.get(k))
        if changed:
            raise ValueError(f"--resume with other settings than the run in {workdir}: "
                             + ", ".join(f"{k}={saved.get(k)!r} there, {mine.get(k)!r} now" for k in changed))
    return run.restore_newest_intact(abstract_state)


class MetricsLog:
    """Per-step metrics appended to a CSV file (``step,seconds,<metric>...``), one flushed line per step.

    A resumed run appends again the steps since its checkpoint; :func:`read_metrics` keeps the last row
    of each step, so the file always describes the run that produced the checkpoints.
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, step: int, metrics: dict, *, seconds: float) -> None:
        names = sorted(metrics)
        new = not self.path.is_file() or self.path.stat().st_size == 0
        with open(self.path, "a") as f:
            if not new:  # a line cut by a kill or a full disk: end it, so this row stays a row of its own
                with open(self.path, "rb") as g:
                    g.seek(-1, os.SEEK_END)
                    if g.read(1) != b"\n":
                        f.write("\n")
            if new:
                f.write(",".join(["step", "seconds", *names]) + "\n")
            f.write(",".join([str(step), f"{seconds:.4f}", *(f"{metrics[k]:.6g}" for k in names)]) + "\n")


def read_metrics(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a run's ``metrics.csv`` (a file or its workdir): ``{"step": [S], "seconds": [S], "total": [S], ...}``."""
    path = Path(path)
    path = path / "metrics.csv" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"no metrics log at {path}")
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    rows = {}
    for line in lines[1:]:
        values = line.split(",")
        if len(values) == len(header):  # a line cut by a kill is skipped
            rows[int(values[0])] = [float(v) for v in values]
    table = np.array([rows[k] for k in sorted(rows)], dtype=np.float64).reshape(-1, len(header))
    return {name: table[:, i] for i, name in enumerate(header)}
