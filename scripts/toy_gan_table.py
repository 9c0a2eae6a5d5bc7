"""The toy GAN's ablation: what the loss, R1 and spectral normalisation change, over seeds (docs/gan.md).

    python scripts/toy_gan_table.py [--seeds 0 1 2] [-o data/bench/toy_gan.json]

Each variant of :class:`gantransfer.training.toy_gan.ToyGanConfig` (the defaults, then one change at a time) is
trained with each seed; the table gives the modes covered and the share of high-quality points at the end
(:func:`gantransfer.training.toy_gan.mode_coverage`), the norm of ``G``'s gradient and the seconds taken.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from gantransfer.training import toy_gan

#: The variants: the defaults, then one setting changed at a time.
VARIANTS = {
    "defaults (non-saturating, R1 0.1)": {},
    "no R1 (the plain GAN)": {"r1_weight": 0.0},
    "saturating, no R1": {"loss": "saturating", "r1_weight": 0.0},
    "saturating, R1 0.1": {"loss": "saturating"},
    "R1 1": {"r1_weight": 1.0},
    "spectral norm on D, no R1": {"spectral_norm": True, "r1_weight": 0.0},
    "hinge, no R1": {"loss": "hinge", "r1_weight": 0.0},
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("-o", "--output", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = {}
    for name, changes in VARIANTS.items():
        runs = []
        for seed in args.seeds:
            start = time.perf_counter()
            report = None
            for report in toy_gan.train_toy_gan(toy_gan.ToyGanConfig(seed=seed, **changes)):
                pass
            runs.append({"seed": seed, "covered": report.coverage["covered"],
                         "high_quality": round(report.coverage["high_quality"], 3),
                         "g_grad": round(report.metrics["g_grad"], 3), "seconds": round(time.perf_counter() - start, 1)})
        rows[name] = {"changes": changes, "runs": runs,
                      "covered_mean": float(np.mean([r["covered"] for r in runs])),
                      "high_quality_mean": float(np.mean([r["high_quality"] for r in runs]))}
        print(f"{name:38s} modes {[r['covered'] for r in runs]}  high quality {[r['high_quality'] for r in runs]}  "
              f"|∇G| {[r['g_grad'] for r in runs]}  {[r['seconds'] for r in runs]} s", flush=True)
    if args.output is not None:
        doc = {"steps": toy_gan.ToyGanConfig().steps, "seeds": args.seeds, "variants": rows}
        args.output.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
