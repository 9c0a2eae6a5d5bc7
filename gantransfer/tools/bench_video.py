"""Video figures: ``gantransfer bench --only video`` (frames per second) and ``data/bench/video.json`` (flicker).

* :func:`fps` — frames per second of a clip through one method as ``gantransfer video`` runs it with ``--temporal
  on``: the steady generator (``gan``), or the stylisation **and** the optical flow, occlusion mask and blend of
  :func:`gantransfer.methods.temporal.stabilize` (decoding and encoding excluded: they are ffmpeg's), square frames
  of a camera pan over a bundled photo, after two frames that compile.
* :func:`flicker` — one clip, one style, one method, per frame and steadied (the flow blend at several weights, and
  the steady generator where one ships): Lai et al.'s warping error of each, and the middle frame judged (style
  ratio, structure) by the library's judge and by the outside
  judge script (``shared/bench/judge.py``), so the temporal version is seen to keep the style and the layout.
* :func:`quality` — :func:`flicker` over the shipped per-style generators (and one style with AdaIN), written to
  ``data/bench/video.json`` by ``python -m gantransfer.tools.bench_video``.
* :func:`seams` — ``gantransfer texture``'s Gram synthesis with and without wrap-around: the seam figure and the
  time, written to ``data/bench/texture.json`` by ``python -m gantransfer.tools.bench_video --textures``.

Taught in ``notebooks/07_applications.ipynb``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

from gantransfer.core import images, resources, samples
from gantransfer.methods import judging, registry, temporal
from gantransfer.methods.texture import seam_ratio
from gantransfer.pipeline import extractor, style_generator
from gantransfer.tools import bench, texture, video

#: The clip: a camera pan and zoom over this bundled photo.
CLIP_PHOTO = "astronaut"
SIZES = (256, 512)
FAST_METHODS = tuple(name for name, m in registry.METHODS.items() if m.feedforward)
#: A game's frame budget at 60 frames per second, in ms.
GAME_BUDGET_MS = 1000 / 60
#: Blend weights measured by :func:`flicker` (0 is per-frame stylisation).
BLENDS = (0.0, 0.2, 0.3, 0.5, 0.8, 1.0)
#: ``(blend, window px)`` measured with the contrast restored (:func:`gantransfer.methods.temporal.blend`).
CONTRAST = ((0.2, 2.0), (0.3, 2.0), (0.5, 2.0), (0.8, 2.0))
#: The settings the outside judge checks too (per frame, and the candidates for the default).
OUTSIDE = ((0.0, 0.0), (0.3, 0.0), (0.5, 2.0))
#: The flow that grades the result: not the one that made it.
EVAL_FLOW = "farneback"
OUTPUT = (resources.REPOSITORY or Path.cwd()) / "data" / "bench" / "video.json"


def cores() -> int:
    """The cores this process may run on (its affinity; ``taskset`` narrows it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def clip(side: int, frames: int) -> np.ndarray:
    """``[frames, side, side, 3]``: :func:`gantransfer.methods.temporal.camera_clip` over :data:`CLIP_PHOTO`."""
    photo = samples.content_image(CLIP_PHOTO, size=max(2 * side, 256))
    return temporal.camera_clip(photo, frames=frames, side=side)


def style_for(method: str) -> str:
    """A style the method can paint: for ``"gan"`` the first with a shipped generator."""
    if registry.get(method).per_style:
        shipped = style_generator.shipped_styles()
        if not shipped:
            raise FileNotFoundError("no shipped per-style generator to time")
        return shipped[0]
    return samples.DEFAULT_STYLE


def fps(method: str, size: int, *, frames: int = 10, temporal_on: bool = True, style: str | None = None) -> dict:
    """``{"fps", "ms_per_frame", "flow_ms_per_frame"}`` of ``frames`` frames of ``size`` px (compile excluded), as
    ``gantransfer video --temporal on|off`` runs them (:func:`gantransfer.tools.video.temporal_setup`: the steady
    generator where one ships, else the flow blend, whose optical flow is then timed on its own too)."""
    style = style or style_for(method)
    decoder, weight = video.temporal_setup(style, method, on=temporal_on)
    frames_in = clip(size, frames + 2)
    stylize = video.frame_stylizer(style, method, side=size, decoder=decoder)
    warm = list(temporal.stabilize(frames_in[:2], stylize, weight=weight))
    start = time.perf_counter()
    done = list(temporal.stabilize(frames_in[2:], stylize, weight=weight, previous=(frames_in[1], warm[-1].output)))
    seconds = time.perf_counter() - start
    flow_start = time.perf_counter()
    if weight > 0:
        for a, b in zip(frames_in[1:-1], frames_in[2:]):
            temporal.frame_pair(a, b)
    flow = (time.perf_counter() - flow_start) / frames if weight > 0 else 0.0
    return {"fps": round(len(done) / seconds, 2), "ms_per_frame": round(1000 * seconds / len(done), 1),
            "flow_ms_per_frame": round(1000 * flow, 1)}


def run(*, quick: bool = False) -> dict:
    """``gantransfer bench --only video``: :func:`fps` of every feed-forward method at 256 and 512 px (64 quick)."""
    sizes = (64,) if quick else SIZES
    result = {"schema": 1, "machine": bench.machine(), "jax": jax.__version__, "quick": quick,
              "cores": cores(),
              "game_budget_ms": round(GAME_BUDGET_MS, 1), "clip": f"camera pan and zoom over {CLIP_PHOTO}",
              "video_fps": {}}
    for method in FAST_METHODS:
        frames = 3 if quick else (10 if method == "gan" else 4)
        try:
            result["video_fps"][method] = {str(s): fps(method, s, frames=frames) for s in sizes}
        except FileNotFoundError as err:                # a method whose decoder is not there: say so, go on
            result["video_fps"][method] = {"error": str(err)}
    return result


def meets_target(row: dict) -> bool:
    """Issue 23's video target for one row of :func:`flicker`: at most half the per-frame warping error, the middle
    frame's style ratio at most 10 % higher and its structure at most 10 % lower than per-frame stylisation's."""
    return row["error_ratio"] <= 0.5 and row["style_ratio_change"] <= 0.1 and row["structure_change"] >= -0.1


def flicker(method: str, style: str, *, side: int = 256, frames: int = 24, blends=BLENDS, contrast=CONTRAST,
            outside_judge: Path | None = None, steady: Path | None = None) -> dict:
    """Warping error and the middle frame's judge for each blend weight (0: per frame), plain and, for the
    ``(weight, window)`` pairs of ``contrast``, with the contrast restored; the default judged by the outside judge
    too. The error is measured with Farnebäck's flow, not the DIS flow the blending used, so that the figure does not
    grade the blend with its own flow. Where the package ships a steady generator for ``style`` (``"gan"``), or for
    ``steady`` (a candidate file), the same sweep with it (``steady_sweep``); every ratio is against the plain
    generator per frame. ``temporal_on``: the measured row of what ``gantransfer video --temporal on`` does, when the
    settings include it."""
    frames_in = clip(side, frames)
    middle = frames // 2
    params = extractor.load_params()
    style_image = samples.load_input(style, kind="style", size=side)
    pairs = temporal.clip_pairs(frames_in, method=EVAL_FLOW)          # the inputs' flows, for every setting
    settings = [(w, 0.0) for w in sorted({0.0, *blends})] + [(w, c) for w, c in contrast if w in blends]
    runs = {}

    def sweep(stylize, label: str) -> list[dict]:
        rows = []
        for weight, sigma in settings:
            out = [f.output for f in temporal.stabilize(frames_in, stylize, weight=weight, contrast=sigma)]
            runs[label, weight, sigma] = out
            judged = judging.judge(params, out[middle], frames_in[middle], style_image)
            rows.append({"blend": weight, "contrast": sigma,
                         "warping_error": round(temporal.warping_error(out, pairs=pairs), 6),
                         "middle_frame": {k: round(v, 3) for k, v in judged.items()}})
        return rows

    result = {"method": method, "style": style, "side": side, "frames": frames, "default_blend": temporal.DEFAULT_BLEND,
              "default_contrast": temporal.DEFAULT_CONTRAST, "evaluation_flow": EVAL_FLOW,
              "sweep": sweep(video.frame_stylizer(style, method, side=side), "plain")}
    shipped = video.steady_generator(style, method)
    steady = shipped if steady is None else Path(steady)
    if steady is not None:
        result["steady_generator"] = f"checkpoints/gan/steady/{steady.name}" if steady == shipped else str(steady)
        result["steady_sweep"] = sweep(video.frame_stylizer(style, method, side=side, decoder=steady), "steady")
    base = result["sweep"][0]
    for row in result["sweep"] + result.get("steady_sweep", []):
        row["error_ratio"] = round(row["warping_error"] / base["warping_error"], 3)
        row["style_ratio_change"] = round(row["middle_frame"]["style_ratio"] / base["middle_frame"]["style_ratio"] - 1, 3)
        row["structure_change"] = round(row["middle_frame"]["structure"] / base["middle_frame"]["structure"] - 1, 3)
    result["input_warping_error"] = round(temporal.warping_error(frames_in, pairs=pairs), 6)
    # What `gantransfer video --temporal on` does for this style (video.temporal_setup), against the target.
    decoder, weight = video.temporal_setup(style, method, on=True)
    rows = result["steady_sweep"] if decoder is not None else result["sweep"]
    chosen = next((r for r in rows if r["blend"] == weight
                   and r["contrast"] == (temporal.DEFAULT_CONTRAST if weight else 0.0)), None)
    if chosen is not None:                  # (a sweep of other settings than the command's has no such row)
        result["temporal_on"] = {"generator": "steady" if decoder is not None else "plain", **chosen,
                                 "meets_target": meets_target(chosen)}
    if outside_judge is not None and Path(outside_judge).is_file():
        with tempfile.TemporaryDirectory() as tmp:
            content = images.save_image(frames_in[middle], Path(tmp) / "content.png")
            style_png = images.save_image(style_image, Path(tmp) / "style.png")
            result["middle_frame_outside_judge"] = {
                f"{label} blend {w:g}, contrast {c:g}": {k: round(v, 3) for k, v in bench.judge_picture(
                    images.save_image(runs[label, w, c][middle], Path(tmp) / f"{label}_{w}_{c}.png"), content,
                    style_png, script=outside_judge).items()}
                for label in ("plain", "steady") if (label, 0.0, 0.0) in runs
                for w, c in sorted({*OUTSIDE, (temporal.DEFAULT_BLEND, temporal.DEFAULT_CONTRAST)})}
    return result


def quality(*, side: int = 256, frames: int = 24, outside_judge: Path | None = bench.JUDGE_SCRIPT) -> dict:
    """:func:`flicker` for every shipped per-style generator and for AdaIN on the default style."""
    cases = [("gan", s) for s in style_generator.shipped_styles()] + [("adain", samples.DEFAULT_STYLE)]
    return {"schema": 1, "machine": bench.machine(), "clip": f"camera pan and zoom over {CLIP_PHOTO}",
            "command": "python -m gantransfer.tools.bench_video",
            "runs": [flicker(m, s, side=side, frames=frames, outside_judge=outside_judge) for m, s in cases]}


def seams(styles=("waves", "stained_glass"), *, side: int = 256, steps: int | None = None) -> dict:
    """The seam figure (:func:`gantransfer.methods.texture.seam_ratio`) of a tile made as ``gantransfer texture
    STYLE --size SIDE`` makes it, tileable and not, with the seconds each took."""
    steps = steps or texture.DEFAULT_STEPS["gram"]
    rows = []
    for name in styles:
        style_image = samples.load_input(name, kind="style", size=side)
        for tileable in (True, False):
            start = time.perf_counter()
            tile = texture.gram_texture(style_image, side=side, steps=steps, tileable=tileable)
            rows.append({"style": name, "tileable": tileable, "side": side, "steps": steps,
                         "seconds": round(time.perf_counter() - start, 1),
                         "seam_ratio": round(seam_ratio(tile), 3)})
    return {"schema": 1, "machine": bench.machine(), "method": "gram",
            "command": "python -m gantransfer.tools.bench_video --textures", "tiles": rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gantransfer.tools.bench_video",
                                     description="Measure flicker (warping error) with and without temporal "
                                                 "consistency and write data/bench/video.json.")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--textures", action="store_true", help="instead: the tiles' seam figures (texture.json)")
    args = parser.parse_args(argv)
    if args.textures:
        args.output = args.output.with_name("texture.json") if args.output == OUTPUT else args.output
        doc = seams(side=args.side)
    else:
        doc = quality(side=args.side, frames=args.frames)
    text = json.dumps(doc, indent=2)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
