"""Judge a method on photo × style pairs the defaults were not chosen on (the tables of docs/methods.md).

Builds each pair at ``--size`` px, 512 by default (scikit-image's full-size photos and textures, and procedural
styles painted with seeds the bundled styles do not use), stylises it with ``registry.stylize`` as ``gantransfer
stylize --method M --size S --style-scale F`` does (the mosaic's settings passed through; the optimisation at its
defaults, the style at the photo's size unless ``--style-scale`` says otherwise), judges the picture with the library's own figures (:mod:`gantransfer.methods.judging`; ``--judge PATH`` adds the
outside cross-check ``../shared/bench/judge.py`` beside them) and prints
each pair and the mean; ``--figure`` also writes a grid (photo, style, picture per pair).

    python scripts/judge_heldout.py --method optimize --size 256                # the optimisation's held-out rows
    python scripts/judge_heldout.py --method mosaic [--style-scale 0.5] [--keep-layout K] [--pairs tuning]
                                    [--guide 0.4] [--balance-iterations 10]   # the mosaic's ablation
                                    [--judge ../shared/bench/judge.py] [--figure data/figures/heldout_mosaic.png]
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from gantransfer.core import images, paint, resize
from gantransfer.methods import judging, mosaic, registry
from gantransfer.pipeline import extractor
from gantransfer.tools import figures

#: The held-out pairs of the README: photo, then style as ``name`` or ``name@seed`` (scikit-image's textures:
#: ``gravel``, ``brick``).
HELD_OUT = ("motorcycle_left:waves@11", "camera:stained_glass@12", "chelsea:gravel", "motorcycle_left:brick",
            "coffee:hatching@13", "astronaut:brush_strokes")
#: The pairs the mosaic's and the cascade's settings were chosen on (bundled photos and styles).
TUNING = ("astronaut:pointillism", "chelsea:marbling", "coffee:cubist", "rocket:mondrian",
          "hubble_deep_field:stained_glass", "rocket:hatching")
SIDE = 512


def _photo(name: str, side: int = SIDE) -> np.ndarray:
    import skimage.data

    img = skimage.data.stereo_motorcycle()[0] if name == "motorcycle_left" else getattr(skimage.data, name)()
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    img = resize.resize_longest(img[..., :3].astype(np.float32) / 255.0, side)
    return img[: img.shape[0] // 16 * 16, : img.shape[1] // 16 * 16]


def _style(spec: str) -> np.ndarray:
    import skimage.data

    name, _, seed = spec.partition("@")
    if name in ("gravel", "brick"):
        grey = np.asarray(getattr(skimage.data, name)(), np.float32) / 255.0
        return resize.resize_longest(np.stack([grey] * 3, axis=-1), SIDE)
    return paint.make_style(name, size=SIDE, seed=int(seed or 0)).astype(np.float32) / 255.0


def _judge_module(path: Path):
    spec = importlib.util.spec_from_file_location("judge", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=tuple(registry.METHODS), default="mosaic")
    parser.add_argument("--size", type=int, default=SIDE, help=f"the photos' longest side in px (default {SIDE})")
    parser.add_argument("--style-scale", type=float, default=None,
                        help="the style at F × --size px (default 0.5; 1 for optimize, its own default)")
    parser.add_argument("--keep-layout", type=float, default=None, help="default: the method's")
    parser.add_argument("--pairs", choices=("held-out", "tuning"), default="held-out")
    parser.add_argument("--guide", type=float, default=mosaic.GUIDE_WEIGHT, help="mosaic: the luminance guide's weight")
    parser.add_argument("--balance-iterations", type=int, default=mosaic.BALANCE_ITERATIONS,
                        help="mosaic: Sinkhorn sweeps (0 = nearest patch)")
    parser.add_argument("--judge", type=Path, default=None,
                        help="also judge with this outside script (e.g. ../shared/bench/judge.py), as a cross-check")
    parser.add_argument("--figure", type=Path, default=None, help="also write a grid of the pictures here")
    args = parser.parse_args(argv)
    if args.style_scale is None:
        args.style_scale = 1.0 if args.method == "optimize" else 0.5
    if args.method == "optimize" and args.keep_layout is not None:
        parser.error("--keep-layout is for the one-pass methods; the optimisation keeps the layout by its content loss")
    if args.method != "mosaic" and (args.guide != mosaic.GUIDE_WEIGHT
                                    or args.balance_iterations != mosaic.BALANCE_ITERATIONS):
        parser.error("--guide and --balance-iterations are the mosaic's settings")
    if args.judge is not None and not args.judge.is_file():
        parser.error(f"no judge at {args.judge}")
    outside = _judge_module(args.judge) if args.judge is not None else None
    params = extractor.load_params()
    networks = registry.load_decoders(args.method)
    rows, results = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for pair in HELD_OUT if args.pairs == "held-out" else TUNING:
            photo_name, style_spec = pair.split(":")
            photo, style = _photo(photo_name, args.size), _style(style_spec)
            seen = resize.resize_longest(style, round(args.size * args.style_scale))
            settings = (dict(guide=args.guide, balance_iterations=args.balance_iterations)
                        if args.method == "mosaic" else {})
            if args.method == "optimize":                # at its defaults, as `gantransfer stylize` runs it
                picture = registry.stylize(photo, seen, method="optimize", params=params)
            else:
                picture = registry.stylize(photo, seen, method=args.method, params=params, decoders=networks,
                                           keep_layout=args.keep_layout, **settings)
            verdict = judging.judge(params, picture, photo, style)
            results.append(verdict)
            rows.append([photo, style, picture])
            line = f"{pair:34s} style_ratio {verdict['style_ratio']:.3f}  structure {verdict['structure']:.3f}"
            if outside is not None:
                paths = [Path(tmp) / f"{k}.png" for k in ("out", "content", "style")]
                for path, img in zip(paths, (picture, photo, style)):
                    images.save_image(img, path, overwrite=True)
                printed = io.StringIO()
                with contextlib.redirect_stdout(printed):
                    outside.main(*map(str, paths))
                cross = json.loads(printed.getvalue())
                line += f"   (outside judge: {cross['style_ratio']:.3f} / {cross['structure']:.3f})"
            print(line, flush=True)
    ratios, structures = [r["style_ratio"] for r in results], [r["structure"] for r in results]
    print(f"mean ({args.pairs}, {args.method}): style_ratio {np.mean(ratios):.3f}  structure {np.mean(structures):.3f}"
          f"  (worst {np.min(structures):.3f}); pairs with style_ratio <= 0.25 and structure >= 0.5: "
          f"{sum(r <= 0.25 and s >= 0.5 for r, s in zip(ratios, structures))} of {len(results)}")
    if args.figure is not None:
        labels = [p.replace(":", " × ") for p in (HELD_OUT if args.pairs == "held-out" else TUNING)]
        grid = figures.image_grid(rows, row_labels=[lab.split(" × ")[0] for lab in labels],
                                  col_labels=["photo", "style", f"{args.method}"], cell=300)
        images.save_image(grid, args.figure, overwrite=True)
        print(f"wrote {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
