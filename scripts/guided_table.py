"""Guided Gatys against blended styles: does each region take its own style? (issue 25.7, docs/methods.md)

For each photo × style pair, the optimisation at its defaults twice: the two styles' Gram matrices blended (one
target everywhere) and guided (Gatys et al. 2017: the left half matched to the first style, the right half to the
second, :mod:`gantransfer.methods.guided`). Judged per half by the figure the guided loss itself reads, each half's
masked Gram matrix against each style's at ``relu2_2`` (normalised as in the loss), and by figures the loss does
not read: the judge's style ratio of each half (a crop) against each style, and the structure of the whole picture.
Writes JSON and a PNG of photo | blended | guided per pair.

    python scripts/guided_table.py --size 192 -o data/bench/guided.json --figure data/figures/guided.png
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from PIL import Image

from gantransfer.core import samples
from gantransfer.methods import guided, judging, optimize
from gantransfer.pipeline import extractor, fusion, style

PAIRS = (("astronaut", "brush_strokes", "stained_glass"), ("chelsea", "waves", "hatching"))


def region_distances(params, picture, masks, style_images, layer="relu2_2"):
    """``[2][2]``: each region's masked Gram matrix (rows) against each style's (columns), normalised."""
    feats = extractor.extract(params, jnp.asarray(picture)[None], (layer,))[layer]
    regions = guided.region_grams(feats, jnp.moveaxis(jnp.asarray(masks), -1, 0))
    targets = [style.gram_matrix(extractor.extract(params, jnp.asarray(s)[None], (layer,))[layer])[0]
               for s in style_images]
    return [[round(float(jnp.mean((regions[k] - t) ** 2) / jnp.mean(t ** 2)), 4) for t in targets]
            for k in range(len(regions))]


def half_ratios(params, picture, photo, style_images):
    """``[2][2]``: the judge's style ratio of the left and right halves (rows) against each style (columns)."""
    half = picture.shape[1] // 2
    crops = [(picture[:, :half], photo[:, :half]), (picture[:, half:], photo[:, half:])]
    return [[round(judging.style_ratio(params, p, c, s), 4) for s in style_images] for p, c in crops]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--figure", type=Path, default=None)
    args = parser.parse_args(argv)
    params = extractor.load_params()
    config = optimize.TransferConfig(size=args.size)
    rows, strips = [], []
    for photo_name, first, second in PAIRS:
        photo = samples.content_image(photo_name, size=args.size)
        styles = [samples.style_image(s, size=args.size) for s in (first, second)]
        masks = fusion.region_masks(*photo.shape[:2], share=0.5, direction="vertical", softness=0.1)
        pictures = {}
        for name, given in (("blended", None), ("guided", masks)):
            start = time.perf_counter()
            pictures[name], _ = optimize.stylize(photo, styles, config, params=params, masks=given)
            rows.append({"photo": photo_name, "styles": [first, second], "run": name,
                         "seconds": round(time.perf_counter() - start, 1),
                         "region_gram_distance": region_distances(params, pictures[name], masks, styles),
                         "half_style_ratio": half_ratios(params, pictures[name], photo, styles),
                         "structure": round(judging.structure(pictures[name], photo), 4)})
            print(json.dumps(rows[-1]), flush=True)
        strips.append(np.concatenate([photo, pictures["blended"], pictures["guided"]], axis=1))
    doc = {"command": "python scripts/guided_table.py --size %d -o %s" % (args.size, args.output),
           "size": args.size, "steps": config.steps, "mask": "left half: first style, right half: second (soft edge 10 %)",
           "rows": rows}
    args.output.write_text(json.dumps(doc, indent=1) + "\n")
    if args.figure is not None:
        width = max(s.shape[1] for s in strips)
        strips = [np.pad(s, ((0, 0), (0, width - s.shape[1]), (0, 0)), constant_values=1.0) for s in strips]
        Image.fromarray((np.concatenate(strips, axis=0) * 255).round().astype(np.uint8)).save(args.figure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
