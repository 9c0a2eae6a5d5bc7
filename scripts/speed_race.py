"""Time to a good picture: ``gantransfer stylize`` as a whole process against the PyTorch tutorial peer, in turns.

Writes held-out photo × style pairs as files (scikit-image photos and textures, procedural styles painted with
seeds the bundled ones do not use: ``scripts/judge_heldout.py``'s builders), then for each size runs
:func:`gantransfer.tools.bench_startup.race` (ours and the peer one after the other, ``--rounds`` rounds, medians,
both pictures judged by ``../shared/bench/judge.py``) and writes one JSON document (docs/speed.md).

    python scripts/speed_race.py --torch-python /work/venv/tenv/bin/python -o data/bench/speed.json
        [--pairs camera:stained_glass@12 chelsea:gravel] [--sizes 256 512] [--rounds 3] [--classic]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import judge_heldout  # noqa: E402  (the held-out pairs' builders)

from gantransfer.core import images  # noqa: E402
from gantransfer.pipeline import extractor  # noqa: E402
from gantransfer.tools import bench_startup  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "bench"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-python", required=True)
    parser.add_argument("--pairs", nargs="+", default=["camera:stained_glass@12", "chelsea:gravel"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[256])
    parser.add_argument("--rounds", nargs="+", type=int, default=[3], help="rounds at each size (one number: all)")
    parser.add_argument("--classic", action="store_true", help="also race `--preset classic` (the old defaults)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/speed_race"))
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    rounds = args.rounds * len(args.sizes) if len(args.rounds) == 1 else args.rounds
    doc = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_before": bench_startup.load(),
           "pairs": args.pairs, "races": []}
    for size, n in zip(args.sizes, rounds):
        files = []
        for spec in args.pairs:
            photo_name, style_spec = spec.split(":")
            folder = args.workdir / str(size)
            folder.mkdir(parents=True, exist_ok=True)
            photo, style = folder / f"{photo_name}.png", folder / f"{style_spec.replace('@', '_')}.png"
            images.save_image(judge_heldout._photo(photo_name, size), photo, overwrite=True)
            images.save_image(judge_heldout._style(style_spec), style, overwrite=True)
            files.append((photo, style))
        for label, extra in (("defaults", ()), *((("classic", ("--preset", "classic")),) if args.classic else ())):
            doc["races"].append(bench_startup.race(
                args.torch_python, files, size=size, rounds=n, label=label, extra=extra,
                tutorial_script=SHARED / "peer_torch_tutorial.py", judge_script=SHARED / "judge.py",
                weights=extractor.lpips_weights_path(), workdir=args.workdir / str(size)))
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps(doc, indent=2) + "\n")
    doc["load_after"] = bench_startup.load()
    args.output.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
