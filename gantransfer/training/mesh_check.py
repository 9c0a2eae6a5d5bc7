"""One decoder training step on a mesh of one device and on a mesh of every device, compared.

What ``notebooks/06_evaluation_and_scale.ipynb`` (section 4) runs to show that data parallelism computes the
same step: JAX fixes its device list when it starts, so simulated CPU devices need a fresh Python::

    XLA_FLAGS=--xla_force_host_platform_device_count=4 JAX_PLATFORMS=cpu \\
        python -m gantransfer.training.mesh_check batch.npz

``batch.npz`` holds ``content`` and ``style``, ``[B, crop, crop, 3]`` each in [0, 1] (``crop`` a multiple of 8,
at least 32; ``B`` a multiple of the device count). The step is
:func:`gantransfer.training.decoder_training.train_step` from one fresh decoder (width 0.125), run once on
``make_mesh(jax.devices()[:1])`` and once on ``make_mesh()``, each timed after a first, compiling call. It
prints the devices, how the batch is split over them, and last a line ``RESULT {json}``
(:func:`parse_result` reads it back) with:

* ``shards``: per device, ``{"device", "start", "stop"}``, the rows of the batch it holds;
* ``"one device"`` and ``"all devices"``: ``{"seconds", "loss", "grad_norm", "params_on_devices"}``;
* ``largest_update`` (the largest change of a parameter by the one-device step), ``largest_difference``
  (the largest difference between the two steps' parameters), ``fraction_off_by_1pc`` (the share of
  parameters that differ by more than 1 % of ``largest_update``) and ``n_params``.
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Callable, Sequence

import jax
import numpy as np

from gantransfer.core import runtime
from gantransfer.pipeline import extractor, generator
from gantransfer.training import batches, decoder_training, parallel

#: The prefix of the line that carries the result as JSON.
RESULT_PREFIX = "RESULT "

#: The decoder's width multiplier in the check (a small decoder: the step, not the picture, matters).
WIDTH = 0.125


def _flat(tree) -> np.ndarray:
    return np.concatenate([np.asarray(x).ravel() for x in jax.tree.leaves(tree)])


def compare_meshes(batch: batches.Batch, *, vgg_params=None, devices: Sequence | None = None,
                   log: Callable[[str], None] = print) -> dict:
    """One training step of a fresh decoder on one device and on all ``devices``; the result described above.

    Args:
      batch: the global batch, ``content`` and ``style`` ``[B, crop, crop, 3]`` each.
      vgg_params: VGG16 parameters (loaded if ``None``).
      devices: the mesh's devices (default ``jax.devices()``); the first is the one-device mesh.
      log: where the progress lines go.
    Returns:
      ``{"shards", "one device", "all devices", "largest_update", "largest_difference",
      "fraction_off_by_1pc", "n_params"}``.
    """
    batch = batches.Batch(np.asarray(batch.content, np.float32), np.asarray(batch.style, np.float32))
    if batch.content.ndim != 4 or batch.content.shape != batch.style.shape:
        raise ValueError(f"content and style must both be [B, crop, crop, 3]; got {batch.content.shape} and "
                         f"{batch.style.shape}")
    size, crop = batch.content.shape[0], batch.content.shape[1]
    devices = list(jax.devices() if devices is None else devices)
    log(f"devices: {devices}")
    mesh = parallel.make_mesh(devices)                   # 1-D, axis "data", every device
    one = parallel.make_mesh(devices[:1])                # the same code on a mesh of one device
    sharded = parallel.shard_batch(batch, mesh)
    log(f"global batch {sharded.content.shape}, PartitionSpec{tuple(sharded.content.sharding.spec)}")
    shards = []
    for s in sharded.content.addressable_shards:         # what each device holds
        rows = s.index[0]
        start, stop = rows.start or 0, size if rows.stop is None else rows.stop
        log(f"  {s.device}: rows {start}:{stop} of the batch, a block of shape {s.data.shape}")
        shards.append({"device": str(s.device), "start": start, "stop": stop})

    config = decoder_training.DecoderTrainConfig(steps=1, batch=size, crop=crop, pool_side=max(64, crop),
                                                 width=WIDTH, learning_rate=1e-3, warmup=0)
    vgg = extractor.load_params() if vgg_params is None else vgg_params
    params = generator.init_decoder(jax.random.key(0), width=config.width)
    opt_state = decoder_training.make_optimizer(config).init(params)
    out = {"shards": shards}
    flat = {}
    for name, m in (("one device", one), ("all devices", mesh)):
        decoder_training.train_step(config, params, opt_state, vgg, batch, mesh=m)        # compiles for this mesh
        start = time.perf_counter()
        new, _, metrics = decoder_training.train_step(config, params, opt_state, vgg, batch, mesh=m)
        jax.block_until_ready(new)
        leaf = jax.tree.leaves(new)[0]
        out[name] = {"seconds": time.perf_counter() - start, "loss": float(metrics["total"]),
                     "grad_norm": float(metrics["grad_norm"]), "params_on_devices": len(leaf.sharding.device_set)}
        flat[name] = _flat(new)
    before = _flat(params)
    update = np.abs(flat["one device"] - before)
    difference = np.abs(flat["all devices"] - flat["one device"])
    out["largest_update"] = float(update.max())
    out["largest_difference"] = float(difference.max())
    out["fraction_off_by_1pc"] = float(np.mean(difference > 0.01 * update.max()))
    out["n_params"] = int(before.size)
    return out


def parse_result(stdout: str) -> dict:
    """The result a run of this module printed (its ``RESULT {json}`` line)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    raise ValueError(f"no line starting with {RESULT_PREFIX.strip()!r} in the output")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gantransfer.training.mesh_check BATCH.npz``: the comparison, printed (see the module)."""
    parser = argparse.ArgumentParser(prog="python -m gantransfer.training.mesh_check",
                                     description="One decoder training step on one device and on all devices, "
                                                 "compared.")
    parser.add_argument("batch", help=".npz file with arrays content and style, [B, crop, crop, 3] each")
    args = parser.parse_args(argv)
    runtime.enable_compilation_cache()
    with np.load(args.batch) as data:
        batch = batches.Batch(data["content"], data["style"])
    result = compare_meshes(batch)
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
