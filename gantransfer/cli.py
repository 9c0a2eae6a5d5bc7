"""The ``gantransfer`` command line: ``stylize``, ``styles``, ``grid``, ``bench``.

Every bad argument ends in one line ``gantransfer: error: ...`` and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

EXIT_USAGE = 2


class CliError(Exception):
    """A user error: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the full usage stays in ``--help``)."""

    def error(self, message):
        print(f"gantransfer: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _steps_spec(text: str) -> int | tuple[int, ...]:
    """``100`` (shared out over the scales) or ``60,180`` (the steps at each scale, coarse to fine; their
    values are checked by :class:`~gantransfer.methods.optimize.TransferConfig`, before anything is loaded)."""
    if "," not in text:
        return _positive_int(text)
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers such as 60,180, got {text!r}") from None


def _weight(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _layer_spec(text: str) -> dict[str, float]:
    """``relu1_2,relu2_2:0.5`` → ``{"relu1_2": 1.0, "relu2_2": 0.5}``."""
    out = {}
    for item in text.split(","):
        name, _, weight = item.strip().partition(":")
        out[name] = _weight(weight) if weight else 1.0
    return out


def _default_output(content: str, styles: list[str]) -> Path:
    stem = f"stylized_{Path(content).stem}_{'+'.join(Path(s).stem for s in styles)}"
    path = Path(f"{stem}.png")
    k = 1
    while path.exists():  # never overwrite a file the user did not name
        path = Path(f"{stem}_{k}.png")
        k += 1
    return path


def _style_scale(args) -> float:
    """``--style-scale``, or the method's default: the mosaic's defaults were chosen with the style at half size."""
    from gantransfer.methods import mosaic, optimize

    if args.style_scale is not None:
        return args.style_scale
    return mosaic.STYLE_SCALE if args.method == "mosaic" else optimize.TransferConfig().style_scale


def _build_parser() -> argparse.ArgumentParser:
    from gantransfer.core import paint, samples
    from gantransfer.methods import mosaic, optimize
    from gantransfer.pipeline import generator

    parser = _Parser(prog="gantransfer", description="Neural and adversarial style transfer (JAX/Flax).")
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
    p.add_argument("--method", choices=("optimize", *generator.FEEDFORWARD_METHODS), default="optimize",
                   help="optimize = Gatys et al. by gradient descent on the pixels; adain / wct = one pass "
                        "of the generator with the shipped decoder; gan = AdaIN with the adversarially "
                        "trained decoder; multilevel = WCT at relu3_1, relu2_1, relu1_1 in turn with the shipped "
                        "level decoders (Li et al. 2017); mosaic = the photo painted with the style's own pixel "
                        "patches, chosen in VGG feature space (no decoder)")
    p.add_argument("--alpha", type=_weight, default=None,
                   help=f"feed-forward methods: content–style trade-off in [0, 1] (default 1; "
                        f"{generator.MULTILEVEL_ALPHA} at every level for multilevel; for mosaic a blend with the "
                        "photo)")
    p.add_argument("--decoder", type=Path, default=None,
                   help="adain/wct/gan: a decoder .npz (default: the shipped one of the method)")
    p.add_argument("--keep-layout", type=_weight, default=None, metavar="STRENGTH",
                   help="feed-forward methods: put the photo's layout of light and dark back under the picture, "
                        "strength in [0, 1] (its blurred luminance; finer texture stays the style's; default "
                        f"{generator.DEFAULT_KEEP_LAYOUT['mosaic']:g} for mosaic, else 0)")
    defaults = optimize.TransferConfig()
    p.add_argument("--size", type=_positive_int, default=defaults.size, help="longest side in px (default %(default)s)")
    p.add_argument("--steps", type=_steps_spec, default=None,
                   help=f"optimisation steps in total, or per scale as 60,180 (default {sum(defaults.scale_steps)}, "
                        f"i.e. {','.join(map(str, defaults.scale_steps))})")
    p.add_argument("--optimizer", choices=("adam", "lbfgs"), default=defaults.optimizer)
    p.add_argument("--lr", type=_weight, default=defaults.learning_rate,
                   help="Adam learning rate at the final size (default %(default)s)")
    p.add_argument("--coarse-lr", type=_weight, default=defaults.coarse_learning_rate,
                   help="Adam learning rate at the coarser scales (default %(default)s)")
    p.add_argument("--pyramid-levels", type=_positive_int, default=defaults.pyramid_levels,
                   help="optimise the image as a Laplacian pyramid of this many levels; 1 = the pixels "
                        "themselves (default %(default)s)")
    p.add_argument("--content-weight", type=_weight, default=defaults.content_weight)
    p.add_argument("--style-weight", type=_weight, default=defaults.style_weight)
    p.add_argument("--tv-weight", type=_weight, default=defaults.tv_weight)
    p.add_argument("--style-layers", type=_layer_spec, default=None,
                   help="comma-separated layers with optional weights, e.g. relu1_2,relu2_2:0.5 "
                        f"(default {','.join(defaults.style_layers)})")
    p.add_argument("--content-layers", type=_layer_spec, default=None,
                   help=f"as --style-layers (default {','.join(defaults.content_layers)})")
    p.add_argument("--style-blend", type=_weight, nargs="+", default=None,
                   help="one weight per style image (default: equal)")
    p.add_argument("--style-scale", type=_weight, default=None, metavar="F",
                   help="see the style image at F × the output's size: 0.5 gives strokes half as large, 2 twice "
                        f"(default {defaults.style_scale:g}; {mosaic.STYLE_SCALE:g} for mosaic)")
    p.add_argument("--init", choices=("content", "noise", "style"), default=defaults.init)
    p.add_argument("--preserve-color", action="store_true", help="keep the content photo's colours")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("train", help="train the decoder of G(content, style), alone or against a discriminator")
    p.add_argument("what", choices=("decoder", "gan"),
                   help="decoder: content + style loss (AdaIN); gan: the same plus a discriminator's adversarial loss")
    p.add_argument("--workdir", type=Path, default=None, help="checkpoint folder (default runs/decoder or runs/gan)")
    p.add_argument("--contents", nargs="+", default=None, help="content names, files or folders (default: bundled)")
    p.add_argument("--styles", nargs="+", default=None, help="style names, files or folders (default: bundled)")
    p.add_argument("--steps", type=_positive_int, default=20000)
    p.add_argument("--batch", type=_positive_int, default=4)
    p.add_argument("--crop", type=_positive_int, default=96)
    p.add_argument("--pool-side", type=_positive_int, default=256,
                   help="images are resized once to this shorter side, then cropped (default %(default)s; >= --crop)")
    p.add_argument("--lr", type=_weight, default=3e-4, help="decoder: Adam's peak learning rate (default %(default)s)")
    p.add_argument("--style-weight", type=_weight, default=2.0)
    p.add_argument("--style-loss", choices=("mean_std", "gram"), default="mean_std")
    p.add_argument("--width", type=_weight, default=generator.DEFAULT_WIDTH,
                   help="decoder width multiplier (default %(default)s; 1.0 = Huang & Belongie)")
    p.add_argument("--decay-steps", type=_positive_int, default=15000,
                   help="steps of the cosine decay of the learning rate to a tenth (default %(default)s)")
    p.add_argument("--style-variants", type=_positive_int, default=4,
                   help="with the bundled styles: also paint each with seeds 1..N-1 (default %(default)s)")
    p.add_argument("--checkpoint-every", type=_positive_int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --workdir from its newest checkpoint (Ctrl-C stops a run at any time; "
                        "during a checkpoint write it first finishes the write)")
    p.add_argument("--distributed", action="store_true",
                   help="multi-host: call jax.distributed.initialize() first (or set GANTRANSFER_DISTRIBUTED=1); "
                        "each batch is split over all devices, so --batch must be a multiple of their number")
    p.add_argument("--export", type=Path, default=None, help="also write the final decoder here (float16 .npz)")
    p.add_argument("--init-decoder", default=None,
                   help="where a new run starts: 'scratch', 'shipped' (data/checkpoints/decoder.npz) or a decoder "
                        ".npz (default: scratch for decoder, shipped for gan)")
    p.add_argument("--identity-weight", type=_weight, default=500.0,
                   help="weight of the identity loss mean((D(f(c)) - c)^2) (default %(default)s)")
    p.add_argument("--layer", choices=tuple(generator.DECODER_PLANS), default=generator.ENCODER_LAYER,
                   help="decoder only: the encoder layer it inverts (default %(default)s, G's; relu3_1/relu2_1/"
                        "relu1_1: the shallower levels of --method multilevel)")
    gan = p.add_argument_group("gan only")
    gan.add_argument("--g-lr", type=_weight, default=1e-4, help="generator's learning rate (default %(default)s)")
    gan.add_argument("--d-lr", type=_weight, default=4e-4, help="discriminator's learning rate (default %(default)s)")
    gan.add_argument("--adv-weight", type=_weight, default=1.0, help="weight of the adversarial loss (default %(default)s)")
    gan.add_argument("--loss", choices=("hinge", "ns", "lsgan"), default="hinge", help="adversarial loss (default %(default)s)")
    gan.add_argument("--r1-weight", type=_weight, default=1.0, help="R1 gradient penalty γ (default %(default)s)")
    gan.add_argument("--d-width", type=_weight, default=0.5, help="discriminator width multiplier (default %(default)s)")
    gan.add_argument("--no-spectral-norm", action="store_true", help="discriminator without spectral normalisation")
    p.add_argument("--quiet", action="store_true")

    p = sub.add_parser("styles", help="write a contact sheet of the bundled styles (or contents)")
    p.add_argument("-o", "--output", type=Path, default=Path("styles.png"))
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--kind", choices=("style", "content"), default="style")

    p = sub.add_parser("grid", help="the README's grid: photos × styles, stylised at the defaults")
    p.add_argument("--contents", nargs="+", default=["astronaut", "chelsea", "coffee"])
    p.add_argument("--styles", nargs="+", default=["brush_strokes", "stained_glass", "waves"])
    p.add_argument("--size", type=_positive_int, default=defaults.size)
    p.add_argument("--method", choices=("optimize", *generator.FEEDFORWARD_METHODS), default="optimize")
    p.add_argument("--decoder", type=Path, default=None, help="adain/wct/gan: a decoder .npz (default: the shipped one)")
    p.add_argument("--cell", type=_positive_int, default=192, help="each image fitted into a square of this side (px)")
    p.add_argument("-o", "--output", type=Path, default=None, help="default data/figures/grid_<method>.png")
    p.add_argument("--overwrite", action="store_true")

    p = sub.add_parser("bench", help="measure speed and memory; print JSON")
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats (for tests)")
    p.add_argument("--peer", action="store_true",
                   help="also run the PyTorch peer (needs --torch-python) in the same sitting")
    p.add_argument("--torch-python", default=None, help="python of a venv with torch, for --peer")
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
        raise CliError(f"could not write {path}: {err.strerror or err}") from None


def _check_writable(output: Path) -> None:
    """Refuse an output whose folder cannot be written, before any work (a probe file, removed at once)."""
    import tempfile

    folder = Path(output).absolute().parent
    while not folder.exists() and folder != folder.parent:  # save_image creates missing folders
        folder = folder.parent
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".gantransfer-probe-"):
            pass
    except OSError as err:
        raise CliError(f"cannot write {output}: {err.strerror or err}") from None


def _stylize(args) -> int:
    from tqdm.auto import tqdm

    from gantransfer.core import images, runtime, samples
    from gantransfer.methods import optimize

    styles = args.styles or [samples.DEFAULT_STYLE]
    if args.output is not None and args.output.exists() and not args.overwrite:
        raise CliError(f"{args.output} exists; pass --overwrite to replace it")
    if args.output is not None and args.output.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise CliError(f"output must end in .png, .jpg or .jpeg; got {args.output}")
    output = args.output or _default_output(args.content, styles)
    kwargs = dict(size=args.size, optimizer=args.optimizer, learning_rate=args.lr, coarse_learning_rate=args.coarse_lr,
                  pyramid_levels=args.pyramid_levels, content_weight=args.content_weight,
                  style_weight=args.style_weight, tv_weight=args.tv_weight,
                  init=args.init, preserve_color=args.preserve_color, seed=args.seed, report_every=1,
                  style_blend=args.style_blend, style_scale=_style_scale(args))
    if args.steps is not None:
        kwargs["steps"] = args.steps
    if args.style_layers is not None:
        kwargs["style_layers"] = args.style_layers
    if args.content_layers is not None:
        kwargs["content_layers"] = args.content_layers
    config = optimize.TransferConfig(**kwargs)
    # Before any image is loaded (a photo is resized to --size on loading) and before minutes of work:
    # the optimisation's memory bound is an upper bound for the feed-forward methods too.
    optimize.check_fits_in_memory(config.largest_side)
    from gantransfer.pipeline import generator

    if args.method == "optimize" and args.keep_layout:
        raise CliError(f"--keep-layout is for the feed-forward methods ({', '.join(generator.FEEDFORWARD_METHODS)}); "
                       "the optimisation keeps the layout through its content loss")
    if args.method != "optimize":
        from gantransfer.pipeline import decoder_file

        if args.alpha is not None and args.alpha > 1:
            raise CliError(f"--alpha must be in [0, 1]; got {args.alpha}")
        if args.keep_layout is not None and args.keep_layout > 1:
            raise CliError(f"--keep-layout must be in [0, 1]; got {args.keep_layout}")
        # The decoders are read here, before the images: a missing or damaged file fails first.
        if args.method == "mosaic":
            from gantransfer.methods import mosaic

            if args.decoder is not None:
                raise CliError("--decoder is for adain/wct/gan; the mosaic paints with the style's patches, no decoder")
            # its plan of positions × style patches grows with the side's fourth power: check it before loading
            mosaic.check_fits_in_memory(config.size, [config.style_side(config.size)] * len(styles))
            decoder, width = None, None
        elif args.method == "multilevel":
            if args.decoder is not None:
                raise CliError("--decoder is for adain/wct/gan; multilevel uses the shipped level decoders "
                               f"({', '.join(str(p) for p in generator.SHIPPED_LEVEL_DECODERS.values())})")
            decoder, width = decoder_file.load_level_decoders(), None   # a missing file: names it and how to train it
        else:
            decoder_file = args.decoder or generator.shipped_decoder_path(args.method)
            if not Path(decoder_file).is_file():
                how = "gan" if args.method == "gan" else "decoder"
                raise CliError(f"no trained decoder at {decoder_file}; train one with `gantransfer train {how} "
                               f"--export {decoder_file}` or use --method optimize")
            decoder, width = decoder_file.load_decoder(decoder_file)
    _check_writable(output)
    if args.style_blend is not None and len(args.style_blend) != len(styles):
        raise CliError(f"{len(styles)} style image(s) but {len(args.style_blend)} --style-blend weight(s)")
    content = samples.load_input(args.content, kind="content", size=args.size)
    style_images = [samples.load_input(s, kind="style", size=config.style_side(config.size)) for s in styles]

    runtime.enable_compilation_cache()
    if args.method != "optimize":
        return _stylize_feedforward(args, content, style_images, output, decoder, width)
    total = sum(config.scale_steps)
    with tqdm(total=total, desc="stylize", unit="step", disable=args.quiet, file=sys.stderr) as bar:
        for report in optimize.stylize_iter(content, style_images, config):
            bar.update(report.step - bar.n)
            bar.set_postfix(px=report.scale, style=f"{report.losses.get('style', 0):.3f}",
                            content=f"{report.losses.get('content', 0):.3f}")
    path = images.save_image(report.image, output, overwrite=args.overwrite)
    print(f"wrote {path} ({report.image.shape[1]}×{report.image.shape[0]} px, {report.step} steps, "
          f"{report.seconds:.1f} s; losses {json.dumps({k: round(v, 4) for k, v in report.losses.items()})})")
    return 0


def _train(args) -> int:
    from gantransfer.pipeline import generator
    from gantransfer.training import parallel

    # Before anything creates a JAX array: the distributed runtime must start first.
    parallel.maybe_initialize_distributed(True if args.distributed else None)
    if args.what == "gan":
        if args.layer != generator.ENCODER_LAYER:
            raise CliError(f"--layer is for decoder training; the GAN trains G's {generator.ENCODER_LAYER} decoder")
        return _train_gan(args)
    from tqdm.auto import tqdm

    from gantransfer.core import runtime
    from gantransfer.training import checkpoints, decoder_training

    args.workdir = args.workdir or Path("runs/decoder")
    config = decoder_training.DecoderTrainConfig(steps=args.steps, batch=args.batch, crop=args.crop, learning_rate=args.lr,
                                      style_weight=args.style_weight, style_loss=args.style_loss, width=args.width,
                                      checkpoint_every=args.checkpoint_every, seed=args.seed,
                                      decay_steps=args.decay_steps, style_variants=args.style_variants,
                                      identity_weight=args.identity_weight, pool_side=args.pool_side,
                                      layer=args.layer)
    init = _initial_decoder_path(args, default="scratch")
    runtime.enable_compilation_cache()
    start = (checkpoints.latest_step(args.workdir) or 0) if args.resume else 0
    report = None
    with tqdm(total=config.steps, initial=start, desc="train decoder", unit="step", disable=args.quiet,
              file=sys.stderr) as bar:
        for report in decoder_training.train_decoder(config, workdir=args.workdir, contents=args.contents,
                                          styles=args.styles, resume=args.resume, init_decoder=init):
            # To the step reported, not by one: a resume that fell back past a damaged checkpoint starts
            # earlier than the newest checkpoint the bar was opened at.
            bar.update(report.step - bar.n)
            bar.set_postfix(loss=f"{report.metrics['total']:.3f}", content=f"{report.metrics['content']:.3f}",
                            style=f"{report.metrics['style']:.3f}")
    return _finish_training(args, report, start, config, decoder_training.abstract_train_state(config), "params")


def _finish_training(args, report, start: int, config, abstract_state, decoder_key: str) -> int:
    """Report the last step (or that nothing was left to train) and ``--export`` the newest checkpoint's decoder."""
    from gantransfer.pipeline import decoder_file, generator
    from gantransfer.training import checkpoints

    if report is None:
        print(f"nothing to train: {args.workdir} is already at step {start} of {config.steps}")
    else:
        print(f"step {report.step}: " + json.dumps({k: round(v, 4) for k, v in report.metrics.items()}))
    if args.export is not None:
        state = checkpoints.restore_checkpoint(args.workdir, abstract_state)
        path = decoder_file.export_decoder(state[decoder_key], args.export, width=config.width,
                                    layer=getattr(config, "layer", generator.ENCODER_LAYER))
        print(f"wrote {path}")
    return 0


def _initial_decoder_path(args, *, default: str) -> Path | None:
    """The ``--init-decoder`` file of a new run (``None``: random initialisation)."""
    choice = args.init_decoder or default
    if args.resume or choice == "scratch":
        return None
    from gantransfer.pipeline import generator

    path = generator.SHIPPED_DECODER if choice == "shipped" else Path(choice)
    if not path.is_file():
        raise CliError(f"--init-decoder: no decoder at {path}; train one first (`gantransfer train decoder "
                       f"--export {path}`) or pass --init-decoder scratch")
    return path


def _train_gan(args) -> int:
    import warnings as _warnings

    from tqdm.auto import tqdm

    from gantransfer.core import runtime
    from gantransfer.training import adversarial, checkpoints

    args.workdir = args.workdir or Path("runs/gan")
    config = adversarial.GanTrainConfig(
        steps=args.steps, batch=args.batch, crop=args.crop, g_learning_rate=args.g_lr, d_learning_rate=args.d_lr,
        adv_weight=args.adv_weight, loss=args.loss, r1_weight=args.r1_weight, style_weight=args.style_weight,
        style_loss=args.style_loss, width=args.width, d_width=args.d_width, spectral_norm=not args.no_spectral_norm,
        identity_weight=args.identity_weight,
        seed=args.seed, checkpoint_every=args.checkpoint_every, style_variants=args.style_variants,
        pool_side=args.pool_side)
    init = _initial_decoder_path(args, default="shipped")
    runtime.enable_compilation_cache()
    start = (checkpoints.latest_step(args.workdir) or 0) if args.resume else 0
    report = None
    with tqdm(total=config.steps, initial=start, desc="train gan", unit="step", disable=args.quiet,
              file=sys.stderr) as bar, _warnings.catch_warnings():
        _warnings.simplefilter("ignore", adversarial.DivergenceWarning)  # printed below, above the bar
        for report in adversarial.train_gan(config, workdir=args.workdir, contents=args.contents,
                                            styles=args.styles, resume=args.resume, init_decoder=init):
            bar.update(report.step - bar.n)      # to the step reported (see _train)
            m = report.metrics
            bar.set_postfix(d=f"{m['d_loss']:.3f}", g_adv=f"{m['g_adv']:.3f}", content=f"{m['content']:.2f}",
                            style=f"{m['style']:.2f}", real=f"{m['d_real']:.2f}", fake=f"{m['d_fake']:.2f}")
            for alert in report.alerts:
                tqdm.write(f"warning at step {report.step}: {alert}", file=sys.stderr)
    return _finish_training(args, report, start, config, adversarial.abstract_gan_state(config), "g_params")


def _stylize_feedforward(args, content, style_images, output, decoder, width) -> int:
    import time

    import jax.numpy as jnp

    from gantransfer.core import images
    from gantransfer.pipeline import extractor, generator

    start = time.perf_counter()
    out = generator.stylize_image(extractor.load_params(), decoder, content, style_images, method=args.method,
                                  alpha=args.alpha, weights=args.style_blend, width=width,
                                  keep_layout=args.keep_layout)[None]
    if args.preserve_color:
        from gantransfer.methods import color

        out = color.preserve_color(out, jnp.asarray(content)[None, : out.shape[1], : out.shape[2]])
    path = images.save_image(out[0], output, overwrite=args.overwrite)
    print(f"wrote {path} ({args.method}, {time.perf_counter() - start:.1f} s)")
    return 0


def _styles(args) -> int:
    from gantransfer.core import images, samples

    sheet = samples.contact_sheet(kind=args.kind)
    path = images.save_image(sheet, args.output, overwrite=args.overwrite)
    print(f"wrote {path}")
    return 0


def _grid(args) -> int:
    from gantransfer.tools import figures

    path = figures.stylize_grid(args.contents, args.styles, method=args.method, size=args.size,
                                output=args.output, overwrite=args.overwrite, decoder=args.decoder, cell=args.cell)
    print(f"wrote {path}")
    return 0


def _bench(args) -> int:
    from gantransfer.tools import bench

    if args.compare is not None:
        docs = []
        for path in args.compare:
            try:
                docs.append(json.loads(Path(path).read_text()))
            except json.JSONDecodeError as err:
                raise CliError(f"{path} is not a bench JSON file ({err})")
        print(bench.format_comparison(bench.compare(*docs)))
        return 0

    if args.notebooks is not None:
        from gantransfer.tools import course

        doc = course.bench_notebooks(args.output, fast=args.fast, notebooks=args.notebooks or None)
        print(json.dumps(doc, indent=2))
        failed = [name for name, entry in doc.get("notebooks", {}).items() if "error" in entry]
        if failed:
            raise CliError(f"notebook(s) failed: {', '.join(failed)}")
        return 0

    if args.peer and not args.torch_python:
        raise CliError("--peer needs --torch-python PATH (the python of a venv with torch)")
    if args.peer and not (Path(args.torch_python).is_file() and os.access(args.torch_python, os.X_OK)):
        raise CliError(f"--torch-python {args.torch_python} is not an executable file")
    try:
        result = bench.run(quick=args.quick, torch_python=args.torch_python if args.peer else None,
                           converge=args.converge)
    except bench.HelperFailed as err:      # a peer or the judge: its own one-line message
        raise CliError(str(err)) from None
    text = json.dumps(result, indent=2)
    print(text)
    if args.output is not None:
        _write_text_atomically(args.output, text + "\n")
    return 0


_COMMANDS = {"stylize": _stylize, "train": _train, "styles": _styles, "grid": _grid, "bench": _bench}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gantransfer`` command."""
    if argv is None:
        # A process of its own: before JAX's threads start, let XLA reuse its scratch space
        # (runtime.keep_freed_memory: a Gatys step 10-20 % faster).
        from gantransfer.core import runtime

        runtime.keep_freed_memory()
    code = _main(argv)
    if argv is None and code not in (0, None):
        # The error is reported; what background threads (orbax's async writer, its event loop) print while
        # the interpreter shuts down after a failed write would only bury that one line: their exceptions,
        # and the "coroutine ... was never awaited" warnings of the coroutines orbax abandoned, which the
        # garbage collector may meet only now.
        import threading

        sys.stderr.flush()
        sys.unraisablehook = lambda unraisable: None
        threading.excepthook = lambda args: None
        warnings.simplefilter("ignore")
    return code


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line, as errors are (Python's format adds the file, line and source of the call)."""
    kind = "" if category is UserWarning else f"{category.__name__}: "
    print(f"gantransfer: warning: {kind}{message}", file=sys.stderr if file is None else file)


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["handouts"]:  # its own parser: gantransfer.tools.handouts.main
        from gantransfer.tools import handouts

        return handouts.main(argv[1:])
    if argv[:1] == ["compare"]:  # its own parser: gantransfer.tools.compare.main
        from gantransfer.tools import compare

        return compare.main(argv[1:])
    parser = _build_parser()
    args = parser.parse_args(argv)  # argparse itself prints usage errors and exits with 2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            return _COMMANDS[args.command](args)
    except (CliError, ValueError, FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError) as err:
        print(f"gantransfer: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:
        print(f"gantransfer: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except FloatingPointError as err:  # a run that diverged (extreme settings): say so, leave no output
        print(f"gantransfer: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gantransfer: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
