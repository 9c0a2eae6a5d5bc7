"""Training the decoder of ``G(I_c, S)``: pure train steps, a crop pipeline, orbax checkpoints, resume.

The decoder learns to invert the fused features (Huang & Belongie 2017): for a content crop ``c`` and a
style crop ``s``, ``t = AdaIN(f(c), f(s))`` and ``g = D(t)``;

    L = ‖f(g) - t‖²  +  λ Σ_l (‖μ(φ_l(g)) - μ(φ_l(s))‖² + ‖σ(φ_l(g)) - σ(φ_l(s))‖²)

with ``f`` = VGG16 up to ``relu4_1`` and ``φ_l`` its ``relu1_1 … relu4_1`` (or Gram matrices instead of
mean/std). The step is the functional form of Flax's NNX guide: ``jax.jit(step)(params, opt_state, batch)``
over explicit pytrees. Batches are a pure function of ``(seed, step)``, so a resumed run sees exactly
the batches an uninterrupted one would, and reproduces its losses.

The step is data-parallel (:mod:`gantransfer.parallel`): each batch is split over all devices along a
1-D mesh, parameters and optimiser state are replicated, and ``jit`` adds the gradient all-reduce. The
same code runs on one device or many; the batch must be a multiple of the device count.

Taught in ``notebooks/04_fusion.ipynb``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import gc
import json
import logging
import math
import os
import shutil
import signal
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import Iterator, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import extractor, fusion, generator, images, parallel, samples
from .style import feature_mean_std, gram_matrix, mean_std_loss
from .validate import check_count, check_weight

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


@dataclasses.dataclass(frozen=True, kw_only=True)
class DecoderTrainConfig:
    """Settings of decoder training (one ``get_config`` that tests shrink, as in Flax's examples).

    Attributes:
      steps: total optimisation steps of the run.
      batch: crops per step.
      crop: side of the square random crops in px (a multiple of 8).
      learning_rate: Adam's peak step size; it warms up over ``warmup`` steps, then decays by cosine to a
        tenth over ``decay_steps`` (independent of ``steps``, so a run can be extended in legs).
      style_weight: λ above.
      style_loss: ``"mean_std"`` (AdaIN's) or ``"gram"``.
      width: decoder width multiplier (1.0 = Huang & Belongie).
      seed: seed of the initialisation and of every batch.
      checkpoint_every: steps between orbax checkpoints.
      pool_side: images are resized once so their shorter side is this, then cropped.
      identity_weight: μ of the identity loss ``mean((D(f(c)) − c)²)`` (:func:`decoder_losses`); 0 = off.
      style_variants: with the default (bundled) styles, also paint each procedural style with seeds
        ``1 … style_variants - 1`` (:func:`gantransfer.samples.make_style`): more style statistics to learn
        from, so the decoder generalises to styles it never saw. Ignored when styles are given.
      layer: the encoder layer the decoder inverts (:data:`gantransfer.generator.DECODER_PLANS`):
        ``relu4_1`` for ``G``; ``relu3_1``/``relu2_1``/``relu1_1`` for the shallower levels of the
        multi-level cascade (:func:`gantransfer.generator.generate_multilevel`), whose style loss reads only
        the style layers up to ``layer``.
    """

    steps: int = 20000
    batch: int = 4
    crop: int = 96
    learning_rate: float = 3e-4
    warmup: int = 100
    decay_steps: int = 15000
    style_weight: float = 2.0
    style_loss: str = "mean_std"
    width: float = generator.DEFAULT_WIDTH
    seed: int = 0
    checkpoint_every: int = 200
    pool_side: int = 256
    style_variants: int = 4
    identity_weight: float = 500.0
    layer: str = generator.ENCODER_LAYER

    def __post_init__(self):
        for name in ("steps", "batch", "crop", "checkpoint_every", "pool_side", "decay_steps", "style_variants"):
            check_count(getattr(self, name), name)
        if self.crop % 8 or self.crop < 32:
            raise ValueError(f"crop must be a multiple of 8 and >= 32; got {self.crop}")
        if self.pool_side < self.crop:
            raise ValueError(f"pool_side ({self.pool_side}) must be >= crop ({self.crop})")
        if self.layer not in generator.DECODER_PLANS:
            raise ValueError(f"layer must be one of {', '.join(generator.DECODER_PLANS)}; got {self.layer!r}")
        if self.style_loss not in ("mean_std", "gram"):
            raise ValueError(f"style_loss must be 'mean_std' or 'gram'; got {self.style_loss!r}")
        check_weight(self.learning_rate, "learning_rate", allow_zero=False)
        check_weight(self.style_weight, "style_weight")
        check_weight(self.width, "width", allow_zero=False)
        check_weight(self.identity_weight, "identity_weight")
        if not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"warmup must be an integer >= 0; got {self.warmup!r}")


class Batch(NamedTuple):
    """``content`` and ``style``: ``[B, crop, crop, 3]`` float32 in [0, 1]."""

    content: np.ndarray
    style: np.ndarray


# ---------------------------------------------------------------------------------------------------
# Data: resize once, crop in numpy; a batch is a pure function of (seed, step).

def load_pool(sources: Sequence, *, kind: str, side: int) -> list[np.ndarray]:
    """Load images (bundled names, files, or every image file of a folder) with shorter side ``side``."""
    paths: list = []
    for source in sources:
        if isinstance(source, (str, Path)) and Path(source).is_dir():
            found = sorted(p for p in Path(source).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
            if not found:
                raise ValueError(f"folder {source} holds no .png/.jpg images")
            paths += found
        else:
            paths.append(source)
    if not paths:
        raise ValueError(f"no {kind} images given")
    pool = []
    for source in paths:
        img = samples.load_input(source, kind=kind)
        h, w = img.shape[:2]
        scale = side / min(h, w)
        pool.append(images.resize_to(img, max(side, round(h * scale)), max(side, round(w * scale))))
    return pool


def default_styles(variants: int = 1) -> list:
    """The bundled style names, plus each procedural style painted with seeds ``1 … variants - 1``
    (``[512, 512, 3]`` float32 arrays): more style statistics for a decoder to learn from."""
    return list(samples.STYLE_NAMES) + [samples.make_style(name, seed=seed).astype(np.float32) / 255.0
                                        for seed in range(1, variants) for name in samples.STYLE_NAMES]


def make_batch(pool_content: list, pool_style: list, *, seed: int, step: int, batch: int, crop: int) -> Batch:
    """Random crops (with horizontal flips) for ``step``; the same ``(seed, step)`` gives the same batch."""
    rng = np.random.default_rng([seed, step])

    def crops(pool):
        out = np.empty((batch, crop, crop, 3), np.float32)
        for i in range(batch):
            img = pool[rng.integers(len(pool))]
            y = rng.integers(img.shape[0] - crop + 1)
            x = rng.integers(img.shape[1] - crop + 1)
            patch = img[y:y + crop, x:x + crop]
            out[i] = patch[:, ::-1] if rng.random() < 0.5 else patch
        return out

    return Batch(crops(pool_content), crops(pool_style))


# ---------------------------------------------------------------------------------------------------
# The pure step.

def make_optimizer(config: DecoderTrainConfig) -> optax.GradientTransformation:
    """Adam with linear warm-up and cosine decay, after clipping the global gradient norm to 1."""
    schedule = optax.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=config.learning_rate, warmup_steps=config.warmup,
        decay_steps=max(config.decay_steps, config.warmup + 1), end_value=config.learning_rate * 0.1)
    return optax.chain(optax.clip_by_global_norm(1.0), optax.adam(schedule))


def decoder_losses(decoder_params, vgg_params, batch: Batch, *, style_weight, style_loss: str = "mean_std",
                   width: float = 1.0, identity_weight: float = 0.0,
                   layer: str = generator.ENCODER_LAYER) -> tuple[jax.Array, dict]:
    """The AdaIN decoder loss of one batch: ``(total, {"total", "content", "style"[, "identity"]})``.

    Content on the fused features at ``layer`` (``relu4_1`` for ``G``; a shallower one for a level of the
    multi-level cascade), style over :data:`STYLE_LAYERS` up to ``layer``.

    ``identity_weight`` (a Python float, static) adds ``μ · mean((D(f(c)) − c)²)``: decoding the
    *unfused* content features must give the photo back. It teaches the decoder to invert VGG16 — layout
    and colours — directly in pixels, which the AdaIN loss alone only reaches slowly (an identity loss as
    in Park & Lee 2019's SANet); it costs one more pass of the decoder only.
    """
    style_layers = style_layers_up_to(layer)
    layers = extractor.in_forward_order((*style_layers, layer))
    content_feats = generator.encode(vgg_params, batch.content, layer=layer)             # [B, h, w, C]
    style_feats = extractor.forward(vgg_params, batch.style, layers)
    target = jax.lax.stop_gradient(fusion.adain(content_feats, style_feats[layer]))
    output = generator.decode(decoder_params, target, width=width, layer=layer)         # [B, H, W, 3]
    out_feats = extractor.forward(vgg_params, output, layers)
    content = jnp.mean((out_feats[layer] - target) ** 2)
    if style_loss == "mean_std":
        style = mean_std_loss(out_feats, {k: feature_mean_std(style_feats[k]) for k in style_layers},
                              layer_weights={k: 1.0 for k in style_layers})
    else:
        style = sum(jnp.mean((gram_matrix(out_feats[k]) - gram_matrix(style_feats[k])) ** 2) for k in style_layers)
    total = content + style_weight * style
    metrics = {"content": content, "style": style}
    if identity_weight:
        reconstruction = generator.decode(decoder_params, jax.lax.stop_gradient(content_feats), width=width,
                                          layer=layer)
        metrics["identity"] = jnp.mean((reconstruction - batch.content) ** 2)
        total = total + identity_weight * metrics["identity"]
    return total, {"total": total, **metrics}


def style_layers_up_to(layer: str) -> tuple[str, ...]:
    """The layers of :data:`STYLE_LAYERS` no deeper than ``layer`` (all four for ``relu4_1``)."""
    depth = extractor.LAYER_NAMES.index(layer)
    return tuple(k for k in STYLE_LAYERS if extractor.LAYER_NAMES.index(k) <= depth)


def _compiled_step(config: DecoderTrainConfig, mesh=None):
    """``(tx, step)`` for this config on ``mesh`` (default: all devices), compiled once per pair."""
    return _compiled_step_on(config, parallel.default_mesh() if mesh is None else mesh)


@functools.lru_cache(maxsize=None)
def _compiled_step_on(config: DecoderTrainConfig, mesh):
    tx = make_optimizer(config)
    loss = functools.partial(decoder_losses, style_loss=config.style_loss, width=config.width,
                             identity_weight=config.identity_weight, layer=config.layer)
    rep, data = parallel.replicated_sharding(mesh), parallel.data_sharding(mesh)

    # Inputs and outputs pinned: the batch split along "data", everything else replicated. Pinning the
    # outputs keeps the new parameters in the layout the next call expects (no re-layout, no recompile).
    # The loss is a batch mean, so jit turns its gradient into per-device sums and one all-reduce.
    @functools.partial(jax.jit, in_shardings=(rep, rep, rep, data, rep), out_shardings=(rep, rep, rep))
    def step(decoder_params, opt_state, vgg_params, batch, style_weight):
        (_, metrics), grads = jax.value_and_grad(loss, has_aux=True)(
            decoder_params, vgg_params, batch, style_weight=style_weight)
        updates, opt_state = tx.update(grads, opt_state, decoder_params)
        metrics["grad_norm"] = optax.tree.norm(grads)
        return optax.apply_updates(decoder_params, updates), opt_state, metrics

    return tx, step


def train_step(config: DecoderTrainConfig, decoder_params, opt_state, vgg_params, batch: Batch, *, mesh=None):
    """One pure, jit-compiled, data-parallel step: ``-> (decoder_params, opt_state, metrics)``.

    Args:
      config: the run's settings.
      decoder_params, opt_state, vgg_params: pytrees; replicated over ``mesh`` here unless they already are.
      batch: the global :class:`Batch`, ``[B, crop, crop, 3]`` each, split here into ``[B / n, ...]`` blocks.
      mesh: a 1-D mesh (:func:`gantransfer.parallel.make_mesh`); default all devices.
    Raises:
      ValueError: if the ``n`` devices of ``mesh`` do not divide ``B``.
    """
    mesh = parallel.default_mesh() if mesh is None else mesh
    _, step = _compiled_step(config, mesh)
    decoder_params, opt_state, vgg_params = parallel.replicate((decoder_params, opt_state, vgg_params), mesh)
    return step(decoder_params, opt_state, vgg_params, parallel.shard_batch(Batch(*batch), mesh),
                jnp.float32(config.style_weight))


# ---------------------------------------------------------------------------------------------------
# Checkpoints (orbax): {"params", "opt_state", "step"}; written atomically, the latest few kept.

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


@contextlib.contextmanager
def _manager(directory: Path, *, max_to_keep: int = 3):
    """An orbax ``CheckpointManager`` on ``directory`` (synchronous writes), closed at the block's end, with
    Ctrl-C held for the block (:func:`_interrupts_held`)."""
    import orbax.checkpoint as ocp

    with _interrupts_held(), ocp.CheckpointManager(Path(directory).resolve(), options=ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep, create=True, enable_async_checkpointing=False)) as manager:
        yield manager


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


def save_checkpoint(directory: Path, step: int, state: dict) -> None:
    """Save ``state`` (a pytree) as checkpoint ``step`` in ``directory`` (atomic: orbax renames when done).

    Raises:
      OSError: the write failed (a full disk, a read-only folder): one line naming the checkpoint and the
        OS's reason. The half-written ``{step}.orbax-checkpoint-tmp-*`` folder is removed, so the disk space
        is freed and the newest complete checkpoint is still the newest.
    """
    import orbax.checkpoint as ocp

    directory = Path(directory)
    try:
        with _orbax_failure_quiet(), _manager(directory) as manager:
            manager.save(step, args=ocp.args.StandardSave(state))
            manager.wait_until_finished()
    except Exception as err:
        for partial in directory.glob(f"{step}.orbax-checkpoint-tmp*"):
            shutil.rmtree(partial, ignore_errors=True)
        code = _os_errno(err)
        if code is None:  # not an I/O failure (a bug, a bad state): orbax's own error says more
            raise
        raise OSError(code, f"could not write checkpoint {step} in {directory}: {os.strerror(code)}") from err


def latest_step(directory: Path) -> int | None:
    """The newest complete checkpoint's step in ``directory``, or ``None``."""
    if not Path(directory).is_dir():
        return None
    with _manager(directory) as manager:
        return manager.latest_step()


def restore_checkpoint(directory: Path, abstract_state: dict, step: int | None = None) -> dict:
    """Restore checkpoint ``step`` (default: the newest) into the structure of ``abstract_state``.

    Raises:
      FileNotFoundError: ``directory`` holds no checkpoint.
      CheckpointError: orbax cannot restore it (damaged files, or a checkpoint of another structure); one
        line naming the checkpoint and orbax's first line.
    """
    import orbax.checkpoint as ocp

    with _manager(directory) as manager:
        step = manager.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {directory}")
        try:
            with _orbax_failure_quiet():
                return manager.restore(step, args=ocp.args.StandardRestore(abstract_state))
        except Exception as err:  # orbax and tensorstore raise ValueError, KeyError, plain Exception, ...
            raise CheckpointError(f"checkpoint {step} in {directory} cannot be restored "
                                  f"({type(err).__name__}: {_first_line(err)})") from err


def restore_newest_intact(directory: Path, abstract_state: dict) -> dict:
    """Restore the newest checkpoint in ``directory`` that can be restored, for a resume.

    A damaged newer checkpoint (e.g. a file lost in a copy) is renamed ``{step}.damaged`` — kept for
    inspection, out of the way of the checkpoint the resumed run will write at that step — with a warning
    naming it. Nothing is renamed unless an older checkpoint restores: if none does (the settings, not the
    files, are wrong), the newest one's :class:`CheckpointError` is raised.
    """
    directory = Path(directory)
    steps = []
    if directory.is_dir():
        with _manager(directory) as manager:
            steps = sorted(manager.all_steps(), reverse=True)
    if not steps:
        raise FileNotFoundError(f"no checkpoint in {directory}")
    damaged = []
    for step in steps:
        try:
            state = restore_checkpoint(directory, abstract_state, step)
        except CheckpointError as err:
            damaged.append((step, err))
            continue
        for bad, err in damaged if parallel.is_primary() else ():  # one process renames the shared folder
            aside = directory / f"{bad}.damaged"
            k = 1
            while aside.exists():
                aside, k = directory / f"{bad}.damaged{k}", k + 1
            os.replace(directory / str(bad), aside)
            warnings.warn(f"{err}; moved it to {aside.name} and resumed from checkpoint {step}", stacklevel=2)
        return state
    raise damaged[0][1]


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


def resume_state(workdir: Path, config, abstract_state: dict, *, may_change: Sequence[str] = ("steps",)) -> dict:
    """The state to resume the run in ``workdir`` from, after checking that ``config`` is its config.

    Shared by decoder and adversarial training.

    Args:
      workdir: the run's folder (checkpoints and ``config.json``).
      config: the settings of the resumed run, a config dataclass whose fields all have defaults (fields
        added since the run was saved take their defaults).
      abstract_state: the structure (and sharding) to restore into.
      may_change: the fields a resume may change (they do not alter the steps already taken).
    Raises:
      FileNotFoundError: no checkpoint in ``workdir``.
      ValueError: ``config.json`` is unreadable, or differs from ``config`` outside ``may_change``;
        :class:`CheckpointError` if no checkpoint can be restored.
    """
    workdir = Path(workdir)
    if latest_step(workdir) is None:
        raise FileNotFoundError(f"--resume: no checkpoint in {workdir}")
    saved = read_run_config(workdir / "config.json")
    if saved is not None:
        saved = {**dataclasses.asdict(type(config)()), **saved}
        mine = dataclasses.asdict(config)
        changed = sorted(k for k in saved.keys() | mine.keys() if k not in may_change and saved.get(k) != mine.get(k))
        if changed:
            raise ValueError(f"--resume with other settings than the run in {workdir}: "
                             + ", ".join(f"{k}={saved.get(k)!r} there, {mine.get(k)!r} now" for k in changed))
    return restore_newest_intact(workdir, abstract_state)


def abstract_train_state(config: DecoderTrainConfig) -> dict:
    """The structure (shapes and dtypes only) of a checkpoint of this run, for :func:`restore_checkpoint`."""
    tx, _ = _compiled_step(config)

    def make():
        params = generator.init_decoder(jax.random.key(0), width=config.width, layer=config.layer)
        return {"params": params, "opt_state": tx.init(params), "step": 0}

    return jax.eval_shape(make)


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


class TrainReport(NamedTuple):
    """Metrics of one step (floats) and whether a checkpoint was written after it."""

    step: int
    metrics: dict
    checkpointed: bool


def train_decoder(config: DecoderTrainConfig, *, workdir: str | os.PathLike, contents: Sequence = None,
                  styles: Sequence = None, resume: bool = False, vgg_params=None,
                  mesh=None, init_decoder=None) -> Iterator[TrainReport]:
    """Train (or resume training) the decoder, yielding a :class:`TrainReport` every step.

    Checkpoints go to ``workdir`` every ``config.checkpoint_every`` steps and at the end. A non-finite
    loss raises ``FloatingPointError`` before anything is saved, so the last good checkpoint stays.

    Args:
      config: the run's settings (saved beside the checkpoints; a resume must use the same ones).
      workdir: checkpoint folder.
      contents, styles: bundled names, files or folders; default all bundled photos and styles.
      resume: continue from the newest checkpoint in ``workdir`` (one must exist); a damaged newest one is set
        aside with a warning and the one before it used (:func:`gantransfer.train.resume_state`).
      init_decoder: start a new run from these decoder parameters (or an exported ``.npz``) instead of a
        random initialisation — e.g. to continue a finished run with another objective; ignored on resume.
      mesh: devices to split each batch over (:func:`gantransfer.parallel.make_mesh`); default all of
        them. ``config.batch`` must be a multiple of their number (else ``ValueError``). With several
        processes (:func:`gantransfer.parallel.maybe_initialize_distributed`) every process runs this
        same loop; only process 0 writes ``config.json`` and ``metrics.csv``.
    """
    workdir = Path(workdir)
    mesh = parallel.default_mesh() if mesh is None else mesh
    parallel.check_batch_divisible(config.batch, mesh)  # before minutes of image loading
    primary = parallel.is_primary()
    vgg_params = extractor.load_params() if vgg_params is None else vgg_params
    contents = list(contents) if contents else list(samples.CONTENT_NAMES)
    styles = list(styles) if styles else default_styles(config.style_variants)
    pool_c = load_pool(contents, kind="content", side=config.pool_side)
    pool_s = load_pool(styles, kind="style", side=config.pool_side)

    tx, _ = _compiled_step(config, mesh)
    params = generator.init_decoder(jax.random.key(config.seed), width=config.width, layer=config.layer)
    if init_decoder is not None and not resume:
        params = _initial_decoder(init_decoder, params, config.width, config.layer)
    # Replicated once here (and restored into that layout below), so no step copies them again.
    params, opt_state, vgg_params = parallel.replicate((params, tx.init(params), vgg_params), mesh)
    start = 0
    config_file = workdir / "config.json"
    if resume:
        state = resume_state(workdir, config, {"params": params, "opt_state": opt_state, "step": 0})
        params, opt_state, start = state["params"], state["opt_state"], int(state["step"])
    elif latest_step(workdir) is not None:
        raise FileExistsError(f"{workdir} already holds checkpoints; pass --resume to continue, or another folder")
    if primary:
        workdir.mkdir(parents=True, exist_ok=True)
        config_file.write_text(json.dumps(dataclasses.asdict(config), indent=1))

    log = MetricsLog(workdir / "metrics.csv")
    for step in range(start, config.steps):
        tic = time.perf_counter()
        batch = make_batch(pool_c, pool_s, seed=config.seed, step=step, batch=config.batch, crop=config.crop)
        new_params, new_opt, metrics = train_step(config, params, opt_state, vgg_params, batch, mesh=mesh)
        metrics = {k: float(v) for k, v in metrics.items()}
        if not all(math.isfinite(v) for v in metrics.values()):
            raise FloatingPointError(
                f"non-finite loss at step {step + 1} ({metrics}); training stopped, the last good checkpoint "
                f"in {workdir} (step {latest_step(workdir)}) is kept. Lower the learning rate and resume.")
        params, opt_state = new_params, new_opt
        done = step + 1
        if primary:
            log.append(done, metrics, seconds=time.perf_counter() - tic)
        save = done % config.checkpoint_every == 0 or done == config.steps
        if save:
            save_checkpoint(workdir, done, {"params": params, "opt_state": opt_state, "step": done})
        yield TrainReport(done, metrics, save)


def _initial_decoder(source, fresh, width: float, layer: str = generator.ENCODER_LAYER):
    """Decoder parameters to start from: an exported ``.npz`` path or a parameter pytree, checked against
    the structure of ``fresh`` (a run's own initialisation)."""
    if isinstance(source, (str, os.PathLike)):
        source, saved_width = load_decoder(source, layer=layer)
        if saved_width != width:
            raise ValueError(f"the initial decoder has width {saved_width}, the run {width}")
    if jax.tree.structure(source) != jax.tree.structure(fresh) or any(
            a.shape != b.shape for a, b in zip(jax.tree.leaves(source), jax.tree.leaves(fresh))):
        raise ValueError("the initial decoder does not match this run's decoder (width or layers differ)")
    return jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), source)


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
    import zipfile

    from flax import nnx

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no decoder file at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, KeyError) as err:
        raise ValueError(f"decoder file {path} is not a readable .npz ({type(err).__name__}: {err})") from None
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
    """The decoders of multi-level WCT (:func:`gantransfer.generator.generate_multilevel`):
    ``{layer: (params, width)}``, by default the shipped ones (:data:`gantransfer.generator.SHIPPED_LEVEL_DECODERS`).

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
    from flax import nnx

    return list(nnx.to_flat_state(state))
