"""``gantransfer texture``: a texture in a style that tiles without seams (games), with its 3 × 3 repetition.

    gantransfer texture STYLE -o tile.png [--size 512] [--method gram|gan] [--steps N] [--no-tile]

* ``gram`` (default): Gram-matrix synthesis from noise (Gatys et al. 2015), the picture rolled and wrapped
  around before VGG16 sees it (:func:`gantransfer.methods.texture.synthesize_tileable`); coarse to fine above
  256 px (three quarters of the steps at half the side, the rest at the full side).
* ``gan``: a texture GAN trained on the style (seen at most :data:`GAN_STYLE_SIDE` px) for ``--steps`` steps with
  circular padding in every convolution of ``G`` (:mod:`gantransfer.training.texture_gan`), then one pass of ``G``
  at the size asked for.

Beside OUTPUT it writes ``OUTPUT_3x3.png`` and prints the seam figure
(:func:`gantransfer.methods.texture.seam_ratio`: the difference across the wrap-around edges over the
difference between neighbours inside; about 1 is seamless). Taught in ``notebooks/07_applications.ipynb``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

import jax
import numpy as np
from tqdm.auto import tqdm

from gantransfer.core import arguments, images, paint, resize, runtime, samples
from gantransfer.methods import texture
from gantransfer.training import texture_gan

METHODS = ("gram", "gan")
DEFAULT_STEPS = {"gram": 200, "gan": texture_gan.TextureGanConfig().steps}
#: Above this side the Gram synthesis starts at half the side.
COARSE_FROM = 256
#: The texture GAN learns from the style at most this large, the scale its 18 px patch critic was measured at: at 512
#: px stained glass kept its lead lines but lost its palette to purple and teal (2026-12-07, docs/gan.md).
GAN_STYLE_SIDE = 256


def build_parser() -> argparse.ArgumentParser:
    p = arguments.OneLineParser(prog="gantransfer texture",
                                description="A texture in STYLE that tiles without seams, and its 3×3 repetition.")
    p.add_argument("style", help=f"a bundled style ({', '.join(paint.STYLE_NAMES)}) or an image file")
    p.add_argument("-o", "--output", type=Path, default=Path("tile.png"), help="the tile, .png (default %(default)s)")
    p.add_argument("--size", type=arguments.positive_int, default=512, help="side in px, a multiple of 8 (default %(default)s)")
    p.add_argument("--method", choices=METHODS, default="gram",
                   help="gram = Gram synthesis from noise (Gatys et al. 2015) on a torus; gan = a texture GAN with "
                        "circular padding (Jetchev et al. 2016), trained first (default %(default)s)")
    p.add_argument("--steps", type=arguments.positive_int, default=None,
                   help=f"optimisation or training steps (default {DEFAULT_STEPS['gram']} for gram, "
                        f"{DEFAULT_STEPS['gan']} for gan)")
    p.add_argument("--no-tile", action="store_true", help="the plain synthesis, with seams (to compare)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT and OUTPUT_3x3 if they exist")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def gram_texture(style, *, side: int, steps: int, tileable: bool = True, seed: int = 0, progress=None) -> np.ndarray:
    """A ``[side, side, 3]`` texture by :func:`gantransfer.methods.texture.synthesize_tileable`, coarse to fine above
    :data:`COARSE_FROM` px. ``progress(n)`` is called with the steps done after each phase."""
    coarse = side > COARSE_FROM and steps >= 4
    if not coarse:
        out, _ = texture.synthesize_tileable(style, side=side, steps=steps, tileable=tileable, seed=seed)
        progress and progress(steps)
        return out
    first = steps * 3 // 4
    half, _ = texture.synthesize_tileable(resize.resize_longest(style, max(style.shape[:2]) // 2), side=side // 2, steps=first, tileable=tileable, seed=seed)
    progress and progress(first)
    start = texture.upsample_tileable(half, side)
    out, _ = texture.synthesize_tileable(style, side=side, steps=steps - first, tileable=tileable, seed=seed,
                                         init=start)
    progress and progress(steps - first)
    return out


def gan_texture(style, *, side: int, steps: int, tileable: bool = True, seed: int = 0, progress=None) -> np.ndarray:
    """Train :mod:`gantransfer.training.texture_gan` on ``style`` for ``steps`` steps, then paint ``[side, side, 3]``."""
    padding = "circular" if tileable else "reflect"
    per_call = min(texture_gan.TextureGanConfig.steps_per_call, steps)       # the dataclass's default, or fewer
    config = texture_gan.TextureGanConfig(steps=steps, steps_per_call=per_call, padding=padding, seed=seed)
    report = None
    for report in texture_gan.train_texture_gan(style, config, sample_side=64):
        progress and progress(config.steps_per_call)
    z = texture_gan.noise_field(jax.random.key(seed + 2), 1, side // 8, config.z_dim)
    return np.asarray(texture_gan.generate(report.state["g"], z, padding=padding)[0], np.float32)


def run(args) -> int:
    if args.output.suffix.lower() != ".png":
        raise ValueError(f"output must end in .png; got {args.output}")
    if args.size % 8 or args.size < 64:
        raise ValueError(f"--size must be a multiple of 8, at least 64; got {args.size}")
    grid = args.output.with_name(f"{args.output.stem}_3x3.png")
    for path in (args.output, grid):
        if path.exists() and not args.overwrite:
            raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
    steps = args.steps or DEFAULT_STEPS[args.method]
    style_side = min(args.size, GAN_STYLE_SIDE) if args.method == "gan" else args.size
    style = samples.load_input(args.style, kind="style", size=style_side)
    runtime.enable_compilation_cache()
    make = gram_texture if args.method == "gram" else gan_texture
    start = time.perf_counter()
    with tqdm(total=steps, desc=f"texture ({args.method})", unit="step", disable=args.quiet, file=sys.stderr) as bar:
        tile = make(style, side=args.size, steps=steps, tileable=not args.no_tile, seed=args.seed, progress=bar.update)
    seconds = time.perf_counter() - start
    path = images.save_image(tile, args.output, overwrite=args.overwrite)
    images.save_image(texture.tile(tile, 3), grid, overwrite=args.overwrite)
    seam = texture.seam_ratio(tile)
    print(f"wrote {path} ({args.size}×{args.size} px, {args.method}, {steps} steps, {seconds:.0f} s) and {grid}; "
          f"seam {seam:.2f} (across the wrap-around edge / inside; 1 = seamless, target <= 1.5)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``gantransfer texture``: exit code 0, 2 with a one-line error for bad arguments or inputs, 130 on Ctrl-C."""
    return arguments.run_command("texture", run, build_parser().parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
