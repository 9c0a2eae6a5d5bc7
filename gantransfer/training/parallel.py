"""Data parallelism: one training step over all devices, with ``jax.sharding``.

Data parallelism splits each batch across the devices and keeps a full copy of the parameters and the
optimiser state on every one. We say so with shardings instead of writing per-device code:

* a 1-D :class:`jax.sharding.Mesh` over ``jax.devices()`` with one axis, ``"data"``;
* the batch gets ``NamedSharding(mesh, PartitionSpec("data"))``: its first axis is cut into equal
  blocks, one per device (``[B, H, W, 3]`` → ``[B / n, H, W, 3]`` on each);
* parameters and optimiser state get ``NamedSharding(mesh, PartitionSpec())``: replicated.

``jax.jit`` then compiles one program for all devices (SPMD) and inserts the collectives itself: the loss
is a mean over the batch, so its gradient becomes per-device partial gradients and an all-reduce, after
which every device applies the same optimiser update to its copy (the "automatic parallelisation" of
JAX's sharding guide, Xu et al. 2021, GSPMD). The same code runs on one device (a mesh of one) or many,
and gives the same result up to the order of floating-point sums.

Several processes (several hosts, or one per GPU) take part after :func:`maybe_initialize_distributed`:
then ``jax.devices()`` lists every process's devices, and each process fills only its own devices' blocks
of a global array (:func:`shard_batch`, :func:`replicate`).

Used by :mod:`gantransfer.training.decoder_training`; the GAN trainer can use it the same way. Taught in ``notebooks/06_evaluation_and_scale.ipynb``.
"""
from __future__ import annotations

import functools
from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from gantransfer.core.runtime import env_flag

#: The mesh axis the batch is split along.
DATA_AXIS = "data"

#: Environment variable that asks for :func:`maybe_initialize_distributed` (``1``, ``true``, ``yes``, ``on``).
DISTRIBUTED_ENV = "GANTRANSFER_DISTRIBUTED"


def maybe_initialize_distributed(enabled: bool | None = None, **kwargs) -> bool:
    """Join a multi-process JAX run (``jax.distributed.initialize()``) when asked; otherwise do nothing.

    Must run before anything touches a device (``jax.devices()``, any computation): JAX fixes its device
    list at its first use. Where the processes meet is read by JAX itself: from a Slurm, Open MPI or TPU
    environment automatically, or from ``JAX_COORDINATOR_ADDRESS`` with ``num_processes`` / ``process_id``
    passed here (``kwargs`` go to :func:`jax.distributed.initialize`). CPU processes exchange gradients
    over Gloo (``jax_cpu_collectives_implementation``, the default in jax 0.10).

    Args:
      enabled: ``True`` to initialise, ``False`` to do nothing; ``None`` (default) reads the environment
        variable ``GANTRANSFER_DISTRIBUTED``.
      **kwargs: passed to :func:`jax.distributed.initialize` (``coordinator_address``, ``num_processes``,
        ``process_id``, ...).
    Returns:
      Whether the distributed system is initialised now (``True`` also when it already was).
    Raises:
      RuntimeError: when asked after JAX has already started its devices.
    """
    if enabled is None:
        enabled = env_flag(DISTRIBUTED_ENV)
    if not isinstance(enabled, bool):
        raise ValueError(f"enabled must be True, False or None; got {enabled!r}")
    if not enabled:
        return False
    if jax.distributed.is_initialized():
        return True
    try:
        jax.distributed.initialize(**kwargs)
    except RuntimeError as err:
        if "before" not in str(err):  # not the "too late" case: JAX's own message says it best
            raise
        raise RuntimeError(
            "maybe_initialize_distributed() came too late: JAX had already started its devices in this "
            f"process. Call it first thing, before any computation or jax.devices(). ({err})") from err
    return True


def is_primary() -> bool:
    """True in process 0: the one that writes logs and side files (orbax coordinates checkpoints itself)."""
    return jax.process_index() == 0


def make_mesh(devices: Sequence | None = None) -> Mesh:
    """A 1-D mesh with axis ``"data"`` over ``devices`` (default: ``jax.devices()``, all processes' devices).

    The axis is of type ``Auto`` (``jax.make_mesh`` now defaults to ``Explicit``): shardings are then
    hints that ``jit`` propagates and completes, and the program reads as single-device code.
    """
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("make_mesh needs at least one device")
    return Mesh(np.array(devices), (DATA_AXIS,), axis_types=(AxisType.Auto,))


@functools.lru_cache(maxsize=1)
def default_mesh() -> Mesh:
    """The mesh over all devices, made once per process (after :func:`maybe_initialize_distributed`)."""
    return make_mesh()


def data_sharding(mesh: Mesh) -> NamedSharding:
    """The batch layout: the first axis split along ``"data"``, every other axis whole."""
    return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def replicated_sharding(mesh: Mesh) -> NamedSharding:
    """A full copy on every device of ``mesh`` (parameters, optimiser state, scalars)."""
    return NamedSharding(mesh, PartitionSpec())


def device_count(mesh: Mesh) -> int:
    """How many blocks ``mesh`` cuts a batch into (the size of its ``"data"`` axis)."""
    return int(mesh.shape[DATA_AXIS])


def check_batch_divisible(batch_size: int, mesh: Mesh, *, what: str = "batch") -> int:
    """The per-device batch ``batch_size / n``; a ``ValueError`` unless the ``n`` devices divide it evenly."""
    n = device_count(mesh)
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"{what} size must be a positive integer; got {batch_size!r}")
    if batch_size % n:
        lower, upper = batch_size // n * n, -(-batch_size // n) * n
        hint = f"{lower} or {upper}" if lower else f"{upper}"
        raise ValueError(f"the {what} of {batch_size} cannot be split evenly over {n} devices: use a multiple of "
                         f"{n} (e.g. {hint}), or fewer devices")
    return batch_size // n


def _place(x, sharding: NamedSharding):
    """``x`` as a global array with ``sharding``; a no-op when it already has exactly that one."""
    # Equal, not merely equivalent: jit's cache keys on the arguments' shardings, so a step fed a
    # SingleDeviceSharding once and its own NamedSharding outputs next would compile twice. On one
    # device the move is free (the buffer is shared, not copied).
    if isinstance(x, jax.Array) and x.sharding == sharding:
        return x
    if sharding.is_fully_addressable:
        return jax.device_put(x, sharding)
    # Several processes: each builds the same host value and fills only its own devices' blocks.
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def shard_batch(batch: Any, mesh: Mesh) -> Any:
    """Split a global batch over the devices: every leaf ``[B, ...]`` becomes ``[B / n, ...]`` per device.

    Args:
      batch: a pytree (e.g. :class:`gantransfer.training.batches.Batch`) of arrays ``[B, ...]`` with one ``B``, the
        *global* batch. With several processes every process passes the same values (our batches are a
        pure function of ``(seed, step)``) and keeps only its own devices' blocks.
      mesh: from :func:`make_mesh`.
    Returns:
      The same pytree of ``jax.Array`` sharded as :func:`data_sharding`; ``x.addressable_shards`` shows
      the blocks, ``[B / n, ...]`` each.
    Raises:
      ValueError: if a leaf has no batch axis, the leaves disagree on ``B``, or ``n`` does not divide ``B``.
    """
    leaves = jax.tree.leaves(batch)
    if not leaves:
        raise ValueError("shard_batch got an empty batch")
    sizes = {np.shape(x)[0] if np.ndim(x) else None for x in leaves}
    if None in sizes:
        raise ValueError("every leaf of a batch needs a leading batch axis [B, ...]; got a scalar")
    if len(sizes) != 1:
        raise ValueError(f"the leaves of a batch have different batch sizes {sorted(sizes)}")
    check_batch_divisible(sizes.pop(), mesh)
    sharding = data_sharding(mesh)
    return jax.tree.map(lambda x: _place(x, sharding), batch)


def replicate(tree: Any, mesh: Mesh) -> Any:
    """A full copy of every leaf of ``tree`` (parameters, optimiser state) on every device of ``mesh``.

    Leaves that already have that layout are returned as they are, so calling it every step costs
    nothing after the first. With several processes, every process must hold the same values (the same
    seed, or the same checkpoint).
    """
    sharding = replicated_sharding(mesh)
    return jax.tree.map(lambda x: _place(x, sharding), tree)
