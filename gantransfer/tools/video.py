"""``gantransfer video``: a clip stylised frame by frame, steadied by optical flow (film and TV).

    gantransfer video INPUT -o OUTPUT --style STYLE [--method gan] [--size 256] [--temporal on|off]

INPUT is a video file (mp4, webm, gif, …) or a folder of frames; OUTPUT is a video file (``.mp4``, ``.webm``,
``.mov``, ``.mkv``, ``.gif``) or, without a suffix, a folder of PNG frames. The frames are stylised by any method
of :mod:`gantransfer.methods.registry`. ``--temporal on`` (the default) steadies them: with ``--method gan`` and a
style whose *steady* generator ships (``checkpoints/gan/steady/``: the style's generator fine-tuned with the
stability loss, :func:`gantransfer.training.style_gan.stability_loss`), that generator paints each frame and nothing
else is needed; otherwise each frame is blended with the previous output warped along the input's optical flow
(:func:`gantransfer.methods.temporal.stabilize`, after Ruder et al. 2016). ``data/bench/video.json`` measures both.
The sound track of a video file is carried over.

The frames are written as PNGs as they are made — into OUTPUT itself for a folder, into ``OUTPUT.frames/`` for a
file, encoded at the end — with a small manifest of the settings. Ctrl-C keeps them; the same command run again
continues from the first missing frame (the last written frame is the previous output for the flow).

Taught in ``notebooks/07_applications.ipynb``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from gantransfer.core import arguments, paint, resize, runtime, samples
from gantransfer.methods import registry, temporal
from gantransfer.pipeline import style_generator
from gantransfer.tools import video_io

MANIFEST = "gantransfer-video.json"
DEFAULT_METHOD = "gan"


def build_parser() -> argparse.ArgumentParser:
    p = arguments.OneLineParser(
        prog="gantransfer video", description="Stylise a video (a file or a folder of frames), frame by frame, "
        "steadied against flicker by a generator trained for it or by the flow-guided blending of Ruder et al. 2016.")
    p.add_argument("input", type=Path, help="a video file (mp4, webm, gif, ...) or a folder of frames")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="a video file (.mp4, .webm, .mov, .mkv, .gif) or, without a suffix, a folder of PNG frames")
    p.add_argument("--style", required=True, help=f"a bundled style ({', '.join(paint.STYLE_NAMES)}) or an image file")
    p.add_argument("--method", choices=tuple(registry.METHODS), default=DEFAULT_METHOD,
                   help="as in `gantransfer stylize` (default %(default)s: the style's own generator, shipped for "
                        f"{', '.join(style_generator.shipped_styles()) or 'none'})")
    p.add_argument("--decoder", type=Path, default=None, help="as in `gantransfer stylize`")
    p.add_argument("--size", type=arguments.positive_int, default=256, help="longest side in px (default %(default)s)")
    p.add_argument("--temporal", choices=("on", "off"), default="on",
                   help="steady the clip: the style's steady generator (gan, where one ships), else a blend with the "
                        "previous output warped by optical flow (default %(default)s)")
    p.add_argument("--blend", type=arguments.weight, default=None,
                   help="weight of the warped previous output where the flow is trusted, in [0, 1] (default: "
                        f"the steady generator's, 0 or 0.2, else {temporal.DEFAULT_BLEND:g})")
    p.add_argument("--contrast", type=arguments.weight, default=temporal.DEFAULT_CONTRAST,
                   help="give the blended frame the stylised frame's local contrast back, in a window of this many px "
                        "(0: a plain blend; default %(default)s)")
    p.add_argument("--flow", choices=temporal.FLOWS, default="dis", help="optical flow (OpenCV; default %(default)s)")
    p.add_argument("--fps", type=float, default=None,
                   help=f"frame rate of the output (default: the input's; {video_io.FOLDER_FPS:g} for a folder)")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT (and frames of an earlier run) if they exist")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def frame_stylizer(style: str, method: str, *, side: int, decoder: Path | None = None,
                   ) -> Callable[[np.ndarray], np.ndarray]:
    """One frame ``[h, w, 3]`` in, the frame stylised by ``method`` out, with everything loaded once.

    ``side`` is the frames' longest side (it sets the style image's scale, :func:`registry.style_side`);
    ``decoder``: another network file (:func:`temporal_setup` gives the steady generator's).
    """
    entry = registry.get(method)
    networks = registry.load_decoders(method, decoder=decoder, style=style) if entry.feedforward else None
    style_image = samples.load_input(style, kind="style", size=registry.style_side(method, side))
    if entry.feedforward:
        return lambda frame: registry.stylize(frame, style_image, method=method, decoders=networks)

    def optimized(frame):   # the optimisation may work at another shape (VGG16's least side): back to the frame's
        out = registry.stylize(frame, style_image, method=method, size=max(frame.shape[:2]))
        return out if out.shape == frame.shape else resize.resize_to(out, *frame.shape[:2])
    return optimized


def steady_generator(style: str, method: str) -> Path | None:
    """The steady generator of ``style`` (trained with the stability loss), if ``method`` is ``"gan"`` and the
    package ships one; else ``None``."""
    path = style_generator.steady_generator_path(style)
    return path if method == "gan" and path.is_file() else None


def steady_blend(style: str) -> float:
    """The flow blend on top of ``style``'s steady generator: ``checkpoints/gan/steady/blends.json`` (0 where the
    steady generator meets the video target alone; 0.2 for stained glass; 0 if unlisted)."""
    path = style_generator.steady_generator_path(style).with_name("blends.json")
    if not path.is_file():
        return 0.0
    return float(json.loads(path.read_text())["blends"].get(style, 0.0))


def temporal_setup(style: str, method: str, *, on: bool, decoder: Path | None = None,
                   blend: float | None = None) -> tuple[Path | None, float]:
    """``(decoder, blend weight)`` for ``--temporal on|off``: with it on, the steady generator where one ships (and
    its :func:`steady_blend`), else the flow blend (:data:`gantransfer.methods.temporal.DEFAULT_BLEND`); ``decoder``
    and ``blend`` given by the user win. Off: no blend, the plain network."""
    if not on:
        return decoder, 0.0
    steady = steady_generator(style, method) if decoder is None else None
    default = steady_blend(style) if steady is not None else temporal.DEFAULT_BLEND
    return (steady or decoder), (default if blend is None else blend)


def _temporal_words(args) -> str:
    if args.temporal == "off":
        return "temporal off"
    parts = []
    if args.decoder is not None and args.decoder == steady_generator(args.style, args.method):
        parts.append("steady generator")
    if args.blend > 0:
        parts.append(f"flow blend {args.blend:g}")
    return "temporal on: " + (" + ".join(parts) or "no blend")


def _settings(args, source: video_io.VideoInput, shape) -> dict:
    return {"input": str(source.path.resolve()), "style": args.style, "method": args.method,
            "decoder": str(args.decoder) if args.decoder else None, "shape": list(shape),
            "temporal": args.temporal, "blend": args.blend,
            "contrast": args.contrast, "flow": args.flow}


def _prepare_frames_folder(folder: Path, settings: dict, *, overwrite: bool) -> int:
    """Make ``folder`` ready for this run's frames; the number of frames an identical earlier run left there."""
    manifest = folder / MANIFEST
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} exists and is not a folder")
    done = 0
    if folder.is_dir():
        ours = sorted(folder.glob("frame_[0-9][0-9][0-9][0-9][0-9].png"))
        same = manifest.is_file() and json.loads(manifest.read_text() or "{}") == settings
        if overwrite:
            for path in ours:
                path.unlink()
        elif same:
            while (folder / video_io.frame_name(done)).is_file():
                done += 1
        elif ours or any(folder.iterdir()):
            raise FileExistsError(f"{folder} exists and holds other files; pass --overwrite to replace its frames "
                                  "or choose another output")
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / ".gantransfer-probe"
    probe.write_text("")                       # an unwritable output fails here, before any work
    probe.unlink()
    manifest.write_text(json.dumps(settings, indent=1))
    return done


def _interrupted(written: int, folder: Path) -> int:
    print(f"gantransfer video: interrupted: {written} frame(s) are in {folder}; run the same command again to "
          f"finish (it continues from frame {written})", file=sys.stderr)
    return 130


def run(args) -> int:
    source = video_io.open_input(args.input, fps=args.fps)
    kind = args.output.suffix.lower()
    if kind and kind not in video_io.CONTAINERS:
        raise ValueError(f"output must be a video file ({', '.join(video_io.CONTAINERS)}) or a folder (no suffix); "
                         f"got {args.output}")
    if args.blend is not None and args.blend > 1:
        raise ValueError(f"--blend must be in [0, 1]; got {args.blend}")
    if args.contrast > 64:
        raise ValueError(f"--contrast must be in [0, 64] px; got {args.contrast}")
    if kind and args.output.exists() and not args.overwrite:
        raise FileExistsError(f"{args.output} exists; pass --overwrite to replace it")
    if kind and args.output.resolve() == source.path.resolve():
        raise ValueError("the output would replace the input")
    entry = registry.get(args.method)
    shape = video_io.frame_shape(source.width, source.height, args.size, multiple=max(8, entry.crop))
    if kind:
        folder = args.output.with_name(args.output.name + ".frames")
        if not os.access(folder.parent if folder.parent.exists() else Path.cwd(), os.W_OK):
            raise PermissionError(f"cannot write {args.output}: its folder is not writable")
    else:
        folder = args.output
    args.decoder, args.blend = temporal_setup(args.style, args.method, on=args.temporal == "on", decoder=args.decoder,
                                              blend=args.blend)
    settings = _settings(args, source, shape)
    stylize = frame_stylizer(args.style, args.method, side=max(shape), decoder=args.decoder)   # loads before work
    done = _prepare_frames_folder(folder, settings, overwrite=args.overwrite)
    runtime.enable_compilation_cache()
    weight = args.blend
    frames = source.frames(shape)
    previous = None
    if done:
        for k, frame in enumerate(frames):
            if k == done - 1:
                previous = (frame, video_io.read_frame(folder / video_io.frame_name(k)))
                break
        print(f"continuing from frame {done} ({folder})", file=sys.stderr)
    written = done
    start = time.perf_counter()
    try:
        with tqdm(total=max(source.count, done), initial=done, desc="video", unit="frame", disable=args.quiet,
                  file=sys.stderr) as bar:
            for item in temporal.stabilize(frames, stylize, weight=weight, contrast=args.contrast, method=args.flow,
                                           previous=previous, start=done):
                video_io.write_frame(folder, item.index, item.output)
                written = item.index + 1
                bar.total = max(bar.total, written)
                bar.update(1)
    except KeyboardInterrupt:
        return _interrupted(written, folder)
    if written == 0:
        raise ValueError(f"{args.input} gave no frames")
    seconds = time.perf_counter() - start
    rate = f"{(written - done) / seconds:.1f} frames/s" if written > done else "no new frames"
    if not kind:
        print(f"wrote {written} frames to {folder} ({shape[1]}×{shape[0]} px, {rate}, "
              f"{_temporal_words(args)})")
        return 0
    paths = [folder / video_io.frame_name(k) for k in range(written)]
    tmp = args.output.with_name(f".{args.output.stem}.tmp{args.output.suffix}")
    audio = source.path if source.audio and video_io.CONTAINERS[kind][1] else None
    try:
        video_io.encode(paths, tmp, fps=source.fps, audio_from=audio)
        os.replace(tmp, args.output)
    except KeyboardInterrupt:
        return _interrupted(written, folder)
    finally:
        tmp.unlink(missing_ok=True)
    for path in (*paths, folder / MANIFEST):      # only what this command wrote there
        path.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()
    sound = "with the input's sound" if audio else ("sound dropped: a GIF has none" if source.audio else "no sound")
    print(f"wrote {args.output} ({written} frames, {shape[1]}×{shape[0]} px, {source.fps:g} fps, {sound}; "
          f"{rate}, {_temporal_words(args)})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``gantransfer video``: exit code 0, 2 with a one-line error for bad arguments or inputs, 130 on Ctrl-C
    (the frames made so far kept)."""
    return arguments.run_command("video", run, build_parser().parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
