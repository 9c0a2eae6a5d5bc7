"""Where Winograd's 3 × 3 convolution pays: per VGG16 layer, and in a whole Gatys step (docs/speed.md).

    python scripts/winograd_timing.py            # both tables, chelsea × gravel at 256 px
    python scripts/winograd_timing.py --layers   # the per-layer table only

Per layer: XLA's convolution (``jax.lax.conv_general_dilated``) against
:func:`gantransfer.core.winograd.winograd_conv3x3`, forward, medians of 15 calls, at the sizes a 256 px Gatys
transfer of a 256 × 160 photo meets. Per step: :func:`gantransfer.methods.optimize.adam_step` with and without the
problem's ``"winograd"`` kernels, interleaved in three rounds (the machine's speed drifts over minutes).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gantransfer.core import resize, winograd  # noqa: E402
from gantransfer.methods import optimize  # noqa: E402
from gantransfer.methods.transfer_config import TransferConfig  # noqa: E402
from gantransfer.pipeline import extractor  # noqa: E402

#: (name, height, width, c_in, c_out) of VGG16's convolutions at the 256 px scale (block 3 also at 128 px).
LAYERS = (("conv1_2", 160, 256, 64, 64), ("conv2_2", 80, 128, 128, 128), ("conv3_1", 40, 64, 128, 256),
          ("conv3_2", 40, 64, 256, 256), ("conv3_2 at 128 px", 20, 32, 256, 256))


def _median_ms(fn, *args, calls: int = 15) -> float:
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def layer_table() -> None:
    xla = jax.jit(lambda x, k: jax.lax.conv_general_dilated(x, k, (1, 1), "SAME",
                                                            dimension_numbers=("NHWC", "HWIO", "NHWC")))
    fast = jax.jit(winograd.winograd_conv3x3)
    rng = np.random.default_rng(0)
    print("| layer | XLA's convolution | Winograd F(2 × 2, 3 × 3) | largest difference / largest value |")
    print("| --- | --- | --- | --- |")
    for name, h, w, c_in, c_out in LAYERS:
        x = jnp.asarray(rng.standard_normal((1, h, w, c_in)), jnp.float32)
        k = jnp.asarray(rng.standard_normal((3, 3, c_in, c_out)) * 0.05, jnp.float32)
        u = winograd.winograd_kernel(k)
        a, b = xla(x, k), fast(x, u)
        error = float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(a)))
        print(f"| {name}, {c_in} → {c_out}, {h} × {w} | {_median_ms(xla, x, k):.1f} ms | "
              f"{_median_ms(fast, x, u):.1f} ms | {error:.1e} |", flush=True)


def step_table() -> None:
    import judge_heldout

    params = extractor.load_params()
    photo = judge_heldout._photo("chelsea", 256)
    style = resize.resize_longest(judge_heldout._style("gravel"), 256)
    config = TransferConfig(size=256)
    for side in (256, 128):
        hw = optimize._shape_at(photo.shape[:2], side)
        content = optimize._resize(jnp.asarray(photo)[None], *hw)
        style_s = optimize._resize(jnp.asarray(style)[None], *optimize._shape_at(style.shape[:2], side))
        problem = optimize.make_problem(params, content, [style_s], config, None)
        variants = {"Winograd in block 3": problem,
                    "XLA's convolution": {k: v for k, v in problem.items() if k != "winograd"}}
        results: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(3):
            for name, this in variants.items():
                pixels = jnp.array(content)
                state = optimize.init_optimizer_state("adam", pixels)
                pixels, state, _ = optimize.adam_step(params, pixels, state, this)
                times = []
                for _ in range(8):
                    start = time.perf_counter()
                    pixels, state, losses = optimize.adam_step(params, pixels, state, this)
                    float(losses["total"])
                    times.append(time.perf_counter() - start)
                results[name].append(1e3 * float(np.median(times)))
        print(f"Adam step at {hw[0]} × {hw[1]} px, ms (three rounds): "
              + "; ".join(f"{name} {', '.join(f'{t:.0f}' for t in ts)}" for name, ts in results.items()), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", action="store_true", help="only the per-layer table")
    args = parser.parse_args(argv)
    layer_table()
    if not args.layers:
        step_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
