"""Train the CycleGAN of notebook 05b (photos ↔ a family of procedural paintings) and write its photo → painting
generator, the file ``--method gan --decoder`` and the notebook read.

    python scripts/train_cycle_gan.py --family waves --steps 1500 -o gantransfer/data/checkpoints/gan/cycle/waves.npz

Prints the losses every 250 steps; every setting of :class:`gantransfer.training.cycle_gan.CycleGanConfig` not given
keeps its default.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tqdm.auto import tqdm

from gantransfer.pipeline import style_generator
from gantransfer.training import cycle_gan


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = cycle_gan.CycleGanConfig()
    p.add_argument("--family", default=defaults.family)
    p.add_argument("--steps", type=int, default=defaults.steps)
    p.add_argument("--crop", type=int, default=defaults.crop)
    p.add_argument("--pool-side", type=int, default=defaults.pool_side)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("-o", "--output", type=Path, required=True)
    args = p.parse_args(argv)
    config = cycle_gan.CycleGanConfig(family=args.family, steps=args.steps, crop=args.crop, pool_side=args.pool_side,
                                      seed=args.seed)
    start = time.perf_counter()
    report = None
    with tqdm(total=config.steps, desc="cycle GAN", unit="step", file=sys.stderr) as bar:
        for report in cycle_gan.train_cycle_gan(config, report_every=250):
            bar.update(report.step - bar.n)
            tqdm.write(f"step {report.step}: " + json.dumps({k: round(v, 4) for k, v in report.metrics.items()}),
                       file=sys.stderr)
    path = style_generator.save_generator(report.state["g"]["ab"], args.output)
    print(f"wrote {path} after {config.steps} steps, {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
