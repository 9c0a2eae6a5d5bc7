"""``gantransfer train decoder|gan``: the training commands, their flags' defaults read from the config dataclasses.

``decoder`` trains the AdaIN decoder of ``G(content, style)`` (:mod:`gantransfer.training.decoder_training`);
``gan --style NAME`` trains one style's generator against a patch discriminator
(:mod:`gantransfer.training.style_gan`). A flag left out takes the default of the run's config: no default is typed
twice. Errors are raised as :class:`gantransfer.core.arguments.CliError` (or ``ValueError``) for
``gantransfer.cli`` to print as one line.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence

from tqdm.auto import tqdm

from gantransfer.core import arguments, runtime
from gantransfer.core.arguments import CliError
from gantransfer.pipeline import decoder_file, generator, style_generator
from gantransfer.training import checkpoints, decoder_training, parallel, style_gan

#: Flags shared by both runs → config field.
_COMMON = {"steps": "steps", "batch": "batch", "crop": "crop", "pool_side": "pool_side",
           "style_weight": "style_weight", "width": "width", "checkpoint_every": "checkpoint_every", "seed": "seed"}
#: Flags of one run only → config field.
_ONLY = {"decoder": {"lr": "learning_rate", "decay_steps": "decay_steps", "layer": "layer", "style_loss": "style_loss",
                     "style_variants": "style_variants", "identity_weight": "identity_weight"},
         "gan": {"g_lr": "g_learning_rate", "d_lr": "d_learning_rate", "adv_weight": "adv_weight",
                 "d_patch": "d_patch", "d_width": "d_width", "style_side": "style_side",
                 "no_permute_patches": "permute_patches", "stability_weight": "stability_weight",
                 "d_steps": "d_steps"}}
_CONFIGS = {"decoder": decoder_training.DecoderTrainConfig, "gan": style_gan.StyleGanConfig}
#: Flags that are not config fields but belong to one run.
_RUN_ONLY = {"decoder": ("styles", "init_decoder"), "gan": ("style", "init_generator")}


def _default(field: str, *runs: str) -> str:
    """``"(default 4)"`` or ``"(default 20000 for decoder, 2000 for gan)"``, read from the configs."""
    values = {run: getattr(_CONFIGS[run](), field) for run in runs}
    if len(set(map(str, values.values()))) == 1:
        return f"(default {next(iter(values.values()))})"
    return "(default " + ", ".join(f"{v} for {run}" for run, v in values.items()) + ")"


def build_parser(prog: str = "gantransfer train") -> arguments.OneLineParser:
    """The parser of ``gantransfer train``; every config flag defaults to ``None`` (= the config's default)."""
    p = arguments.OneLineParser(prog=prog, description="Train the AdaIN decoder of G(content, style) (decoder), or one "
                                                       "style's generator against a patch discriminator (gan).")
    p.add_argument("what", choices=("decoder", "gan"),
                   help="decoder: content + style loss (AdaIN, any style); gan --style NAME: a generator for one style, "
                        "content + Gram + adversarial loss (P²-GAN)")
    p.add_argument("--workdir", type=Path, default=None, help="checkpoint folder (default runs/decoder or runs/gan_STYLE)")
    p.add_argument("--contents", nargs="+", default=None, help="content names, files or folders (default: bundled)")
    both = ("decoder", "gan")
    p.add_argument("--steps", type=arguments.positive_int, help=_default("steps", *both))
    p.add_argument("--batch", type=arguments.positive_int,
                   help="images per step, split over the devices " + _default("batch", *both))
    p.add_argument("--crop", type=arguments.positive_int, help=_default("crop", *both))
    p.add_argument("--pool-side", type=arguments.positive_int,
                   help="photos are resized once to this shorter side, then cropped (>= --crop) "
                        + _default("pool_side", *both))
    p.add_argument("--style-weight", type=arguments.weight, help=_default("style_weight", *both))
    p.add_argument("--width", type=arguments.weight,
                   help="decoder: width multiplier (1.0 = Huang & Belongie); gan: the generator's channels "
                        + _default("width", *both))
    p.add_argument("--checkpoint-every", type=arguments.positive_int, help=_default("checkpoint_every", *both))
    p.add_argument("--seed", type=int, help=_default("seed", *both))
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --workdir from its newest checkpoint (Ctrl-C stops a run at any time; "
                        "during a checkpoint write it first finishes the write)")
    p.add_argument("--distributed", action="store_true",
                   help="multi-host: call jax.distributed.initialize() first (or set GANTRANSFER_DISTRIBUTED=1); "
                        "each batch is split over all devices, so --batch must be a multiple of their number")
    p.add_argument("--export", type=Path, default=None,
                   help="also write the final network here (float16 .npz; for gan the file --decoder reads)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    dec = p.add_argument_group("decoder only")
    dec.add_argument("--styles", nargs="+", default=None, help="style names, files or folders (default: bundled)")
    dec.add_argument("--style-loss", choices=("mean_std", "gram"), help=_default("style_loss", "decoder"))
    dec.add_argument("--style-variants", type=arguments.positive_int,
                     help="with the bundled styles: also paint each with seeds 1..N-1 " + _default("style_variants", "decoder"))
    dec.add_argument("--identity-weight", type=arguments.weight,
                     help="weight of the identity loss mean((D(f(c)) - c)^2) " + _default("identity_weight", "decoder"))
    dec.add_argument("--init-decoder", default=None,
                     help="where a new run starts: 'scratch' (default), 'shipped' (the package's decoder.npz) or a "
                          "decoder .npz")
    dec.add_argument("--lr", type=arguments.weight, help="Adam's peak learning rate " + _default("learning_rate", "decoder"))
    dec.add_argument("--decay-steps", type=arguments.positive_int,
                     help="steps of the cosine decay of the learning rate to a tenth " + _default("decay_steps", "decoder"))
    dec.add_argument("--layer", choices=tuple(generator.DECODER_PLANS),
                     help="the encoder layer it inverts (relu3_1/relu2_1/relu1_1: the shallower levels of --method "
                          "multilevel) " + _default("layer", "decoder"))
    gan = p.add_argument_group("gan only")
    gan.add_argument("--style", default=None, help="the style: a bundled name or an image file (required)")
    gan.add_argument("--style-side", type=arguments.positive_int,
                     help="the style image's shorter side in training (its strokes' scale) " + _default("style_side", "gan"))
    gan.add_argument("--adv-weight", type=arguments.weight,
                     help="weight of the adversarial loss (0: Gram only, Johnson et al.) " + _default("adv_weight", "gan"))
    gan.add_argument("--d-patch", type=arguments.positive_int,
                     help="side of the patches the discriminator judges, a square (9, 16, 25) " + _default("d_patch", "gan"))
    gan.add_argument("--d-width", type=arguments.positive_int,
                     help="discriminator's channels " + _default("d_width", "gan"))
    gan.add_argument("--d-steps", type=arguments.positive_int,
                     help="discriminator updates per generator update " + _default("d_steps", "gan"))
    gan.add_argument("--g-lr", type=arguments.weight, help="generator's learning rate " + _default("g_learning_rate", "gan"))
    gan.add_argument("--d-lr", type=arguments.weight,
                     help="discriminator's learning rate " + _default("d_learning_rate", "gan"))
    gan.add_argument("--stability-weight", type=arguments.weight,
                     help="weight of the stability loss: the painting follows a small camera move of the photo "
                          "(steadier video) " + _default("stability_weight", "gan"))
    gan.add_argument("--init-generator", default=None,
                     help="where a new run's generator starts: 'scratch' (default), 'shipped' (the package's "
                          "generator of --style) or a generator .npz; the discriminator starts afresh")
    gan.add_argument("--no-permute-patches", action="store_const", const=False, default=None,
                     help="real samples are plain style crops (default: their patches shuffled, P²-GAN)")
    return p


def config_from_args(args):
    """The run's config: the flags given, the config's defaults for the rest; a flag of the other run is an error."""
    other = "gan" if args.what == "decoder" else "decoder"
    wrong = [flag for flag in (*_ONLY[other], *_RUN_ONLY[other]) if getattr(args, flag) is not None]
    if wrong:
        raise CliError(f"--{wrong[0].replace('_', '-')} is for `gantransfer train {other}`, not {args.what}")
    if args.what == "gan":
        if args.style is None:
            raise CliError("gantransfer train gan needs --style NAME (a bundled style or an image file)")
        if args.width is not None and args.width != int(args.width):
            raise CliError(f"--width of gan is a number of channels (e.g. 32); got {args.width}")
    fields = {**_COMMON, **_ONLY[args.what]}
    values = {field: getattr(args, flag) for flag, field in fields.items() if getattr(args, flag) is not None}
    if args.what == "gan":
        values["style"] = str(args.style)
        if "width" in values:
            values["width"] = int(values["width"])
    return _CONFIGS[args.what](**values)


def main(argv: Sequence[str] | None = None) -> int:
    """``gantransfer train``: parse, build the config, train with a progress bar, optionally export."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    # Before anything creates a JAX array: the distributed runtime must start first.
    parallel.maybe_initialize_distributed(True if args.distributed else None)
    config = config_from_args(args)
    if args.what == "gan":
        args.workdir = args.workdir or Path(f"runs/gan_{Path(args.style).stem}")
        runs = style_gan.train_style_gan(config, workdir=args.workdir, contents=args.contents, resume=args.resume,
                                         state=_initial_gan_state(args, config))
    else:
        args.workdir = args.workdir or Path("runs/decoder")
        runs = decoder_training.train_decoder(config, workdir=args.workdir, contents=args.contents, styles=args.styles,
                                              resume=args.resume, init_decoder=_initial_decoder_path(args))
    runtime.enable_compilation_cache()
    start = (checkpoints.latest_step(args.workdir) or 0) if args.resume else 0
    report = None
    with tqdm(total=config.steps, initial=start, desc=f"train {args.what}", unit="step", disable=args.quiet,
              file=sys.stderr) as bar:
        for report in runs:
            # To the step reported, not by one: a resume that fell back past a damaged checkpoint starts
            # earlier than the newest checkpoint the bar was opened at.
            bar.update(report.step - bar.n)
            bar.set_postfix(_postfix(report.metrics))
    if report is None:
        print(f"nothing to train: {args.workdir} is already at step {start} of {config.steps}")
    else:
        print(f"step {report.step}: " + json.dumps({k: round(v, 4) for k, v in report.metrics.items()}))
    if args.export is not None:
        print(f"wrote {_export(args, config)}")
    return 0


def _postfix(m: dict) -> dict:
    shown = dict(content=f"{m['content']:.3f}", style=f"{m['style']:.3f}")
    if "d_loss" in m:
        shown.update(d=f"{m['d_loss']:.3f}", g_adv=f"{m['g_adv']:.3f}", real=f"{m['d_real']:.2f}",
                     fake=f"{m['d_fake']:.2f}")
    if "stability" in m:
        shown["stability"] = f"{m['stability']:.4f}"
    return shown


def _export(args, config) -> Path:
    """Write the newest checkpoint's network to ``--export``: the decoder, or the style's generator."""
    if args.what == "gan":
        state = checkpoints.restore_checkpoint(args.workdir, style_gan.abstract_state(config))
        return style_generator.save_generator(state["g"], args.export)
    state = checkpoints.restore_checkpoint(args.workdir, decoder_training.abstract_train_state(config))
    return decoder_file.export_decoder(state["params"], args.export, width=config.width, layer=config.layer)


def _start_file(args, flag: str, *, what: str, shipped, hint=lambda path: "") -> Path | None:
    """The file a new run starts from, by ``--init-decoder`` / ``--init-generator`` (``flag``): ``None`` for
    ``scratch`` (the default) or a resume, ``shipped()`` for ``shipped``, else the path given; a missing file is a
    one-line error (``hint(path)`` appended)."""
    choice = getattr(args, flag) or "scratch"
    if args.resume or choice == "scratch":
        return None
    path = shipped() if choice == "shipped" else Path(choice)
    if not path.is_file():
        raise CliError(f"--{flag.replace('_', '-')}: no {what} at {path}{hint(path)}")
    return path


def _shipped_generator(style: str) -> Path:
    if style not in style_generator.shipped_styles():
        raise CliError(f"--init-generator shipped: no shipped generator for {style!r}; the package has "
                       f"{', '.join(style_generator.shipped_styles())}")
    return style_generator.shipped_generator_path(style)


def _initial_gan_state(args, config) -> dict | None:
    """A new run's state with ``--init-generator``'s generator (``None``: random initialisation, or a resume)."""
    path = _start_file(args, "init_generator", what="generator", shipped=lambda: _shipped_generator(args.style))
    return None if path is None else style_gan.state_from_generator(config, style_generator.load_generator(path))


def _initial_decoder_path(args) -> Path | None:
    """The ``--init-decoder`` file of a new run (``None``: random initialisation)."""
    return _start_file(args, "init_decoder", what="decoder", shipped=lambda: generator.SHIPPED_DECODER,
                       hint=lambda path: f"; train one first (`gantransfer train decoder --export {path}`) or pass "
                                         f"--init-decoder scratch")


if __name__ == "__main__":
    sys.exit(main())
