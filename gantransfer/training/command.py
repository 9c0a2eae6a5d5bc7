"""``gantransfer train decoder|gan``: the training commands, their flags' defaults read from the config dataclasses.

A flag left out takes the default of the run's config (:class:`~gantransfer.training.decoder_training.DecoderTrainConfig`
or :class:`~gantransfer.training.adversarial.GanTrainConfig`): no default is typed twice. Errors are raised as
:class:`gantransfer.core.arguments.CliError` (or ``ValueError``) for ``gantransfer.cli`` to print as one line.
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Sequence

from tqdm.auto import tqdm

from gantransfer.core import arguments, runtime
from gantransfer.core.arguments import CliError
from gantransfer.pipeline import decoder_file, generator
from gantransfer.training import adversarial, checkpoints, decoder_training, parallel

#: Flags shared by both runs → config field.
_COMMON = {"steps": "steps", "batch": "batch", "crop": "crop", "pool_side": "pool_side",
           "style_weight": "style_weight", "style_loss": "style_loss", "width": "width",
           "style_variants": "style_variants", "checkpoint_every": "checkpoint_every", "seed": "seed",
           "identity_weight": "identity_weight"}
#: Flags of one run only → config field.
_ONLY = {"decoder": {"lr": "learning_rate", "decay_steps": "decay_steps", "layer": "layer"},
         "gan": {"g_lr": "g_learning_rate", "d_lr": "d_learning_rate", "adv_weight": "adv_weight", "loss": "loss",
                 "r1_weight": "r1_weight", "d_width": "d_width", "no_spectral_norm": "spectral_norm"}}
_CONFIGS = {"decoder": decoder_training.DecoderTrainConfig, "gan": adversarial.GanTrainConfig}


def _default(field: str, *runs: str) -> str:
    """``"(default 4)"`` or ``"(default 20000 for decoder, 2000 for gan)"``, read from the configs."""
    values = {run: getattr(_CONFIGS[run](), field) for run in runs}
    if len(set(map(str, values.values()))) == 1:
        return f"(default {next(iter(values.values()))})"
    return "(default " + ", ".join(f"{v} for {run}" for run, v in values.items()) + ")"


def build_parser(prog: str = "gantransfer train") -> arguments.OneLineParser:
    """The parser of ``gantransfer train``; every config flag defaults to ``None`` (= the config's default)."""
    p = arguments.OneLineParser(prog=prog, description="Train the decoder of G(content, style), alone (decoder) or "
                                                       "against a discriminator (gan).")
    p.add_argument("what", choices=("decoder", "gan"),
                   help="decoder: content + style loss (AdaIN); gan: the same plus a discriminator's adversarial loss")
    p.add_argument("--workdir", type=Path, default=None, help="checkpoint folder (default runs/decoder or runs/gan)")
    p.add_argument("--contents", nargs="+", default=None, help="content names, files or folders (default: bundled)")
    p.add_argument("--styles", nargs="+", default=None, help="style names, files or folders (default: bundled)")
    both = ("decoder", "gan")
    p.add_argument("--steps", type=arguments.positive_int, help=_default("steps", *both))
    p.add_argument("--batch", type=arguments.positive_int, help=_default("batch", *both))
    p.add_argument("--crop", type=arguments.positive_int, help=_default("crop", *both))
    p.add_argument("--pool-side", type=arguments.positive_int,
                   help="images are resized once to this shorter side, then cropped (>= --crop) "
                        + _default("pool_side", *both))
    p.add_argument("--style-weight", type=arguments.weight, help=_default("style_weight", *both))
    p.add_argument("--style-loss", choices=("mean_std", "gram"), help=_default("style_loss", *both))
    p.add_argument("--width", type=arguments.weight,
                   help="decoder width multiplier (1.0 = Huang & Belongie) " + _default("width", *both))
    p.add_argument("--style-variants", type=arguments.positive_int,
                   help="with the bundled styles: also paint each with seeds 1..N-1 " + _default("style_variants", *both))
    p.add_argument("--checkpoint-every", type=arguments.positive_int, help=_default("checkpoint_every", *both))
    p.add_argument("--seed", type=int, help=_default("seed", *both))
    p.add_argument("--identity-weight", type=arguments.weight,
                   help="weight of the identity loss mean((D(f(c)) - c)^2) " + _default("identity_weight", *both))
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --workdir from its newest checkpoint (Ctrl-C stops a run at any time; "
                        "during a checkpoint write it first finishes the write)")
    p.add_argument("--distributed", action="store_true",
                   help="multi-host: call jax.distributed.initialize() first (or set GANTRANSFER_DISTRIBUTED=1); "
                        "each batch is split over all devices, so --batch must be a multiple of their number")
    p.add_argument("--export", type=Path, default=None, help="also write the final decoder here (float16 .npz)")
    p.add_argument("--init-decoder", default=None,
                   help="where a new run starts: 'scratch', 'shipped' (the package's decoder.npz) or a decoder "
                        ".npz (default: scratch for decoder, shipped for gan)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    dec = p.add_argument_group("decoder only")
    dec.add_argument("--lr", type=arguments.weight, help="Adam's peak learning rate " + _default("learning_rate", "decoder"))
    dec.add_argument("--decay-steps", type=arguments.positive_int,
                     help="steps of the cosine decay of the learning rate to a tenth " + _default("decay_steps", "decoder"))
    dec.add_argument("--layer", choices=tuple(generator.DECODER_PLANS),
                     help="the encoder layer it inverts (relu3_1/relu2_1/relu1_1: the shallower levels of --method "
                          "multilevel) " + _default("layer", "decoder"))
    gan = p.add_argument_group("gan only")
    gan.add_argument("--g-lr", type=arguments.weight, help="generator's learning rate " + _default("g_learning_rate", "gan"))
    gan.add_argument("--d-lr", type=arguments.weight,
                     help="discriminator's learning rate " + _default("d_learning_rate", "gan"))
    gan.add_argument("--adv-weight", type=arguments.weight,
                     help="weight of the adversarial loss " + _default("adv_weight", "gan"))
    gan.add_argument("--loss", choices=("hinge", "ns", "lsgan"), help="adversarial loss " + _default("loss", "gan"))
    gan.add_argument("--r1-weight", type=arguments.weight, help="R1 gradient penalty γ " + _default("r1_weight", "gan"))
    gan.add_argument("--d-width", type=arguments.weight,
                     help="discriminator width multiplier " + _default("d_width", "gan"))
    gan.add_argument("--no-spectral-norm", action="store_const", const=False, default=None,
                     help="discriminator without spectral normalisation")
    return p


def config_from_args(args):
    """The run's config: the flags given, the config's defaults for the rest; a flag of the other run is an error."""
    other = "gan" if args.what == "decoder" else "decoder"
    wrong = [flag for flag in _ONLY[other] if getattr(args, flag) is not None]
    if wrong:
        raise CliError(f"--{wrong[0].replace('_', '-')} is for `gantransfer train {other}`, not {args.what}")
    fields = {**_COMMON, **_ONLY[args.what]}
    return _CONFIGS[args.what](**{field: getattr(args, flag) for flag, field in fields.items()
                                  if getattr(args, flag) is not None})


def main(argv: Sequence[str] | None = None) -> int:
    """``gantransfer train``: parse, build the config, train with a progress bar, optionally export."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    # Before anything creates a JAX array: the distributed runtime must start first.
    parallel.maybe_initialize_distributed(True if args.distributed else None)
    config = config_from_args(args)
    args.workdir = args.workdir or Path(f"runs/{args.what}")
    init = _initial_decoder_path(args, default="scratch" if args.what == "decoder" else "shipped")
    runtime.enable_compilation_cache()
    start = (checkpoints.latest_step(args.workdir) or 0) if args.resume else 0
    report = None
    run = decoder_training.train_decoder if args.what == "decoder" else adversarial.train_gan
    with tqdm(total=config.steps, initial=start, desc=f"train {args.what}", unit="step", disable=args.quiet,
              file=sys.stderr) as bar, warnings.catch_warnings():
        warnings.simplefilter("ignore", adversarial.DivergenceWarning)  # printed below, above the bar
        for report in run(config, workdir=args.workdir, contents=args.contents, styles=args.styles,
                          resume=args.resume, init_decoder=init):
            # To the step reported, not by one: a resume that fell back past a damaged checkpoint starts
            # earlier than the newest checkpoint the bar was opened at.
            bar.update(report.step - bar.n)
            bar.set_postfix(_postfix(report.metrics))
            for alert in getattr(report, "alerts", ()):
                tqdm.write(f"warning at step {report.step}: {alert}", file=sys.stderr)
    if args.what == "decoder":
        return _finish(args, report, start, config, decoder_training.abstract_train_state(config), "params")
    return _finish(args, report, start, config, adversarial.abstract_gan_state(config), "g_params")


def _postfix(m: dict) -> dict:
    if "d_loss" in m:
        return dict(d=f"{m['d_loss']:.3f}", g_adv=f"{m['g_adv']:.3f}", content=f"{m['content']:.2f}",
                    style=f"{m['style']:.2f}", real=f"{m['d_real']:.2f}", fake=f"{m['d_fake']:.2f}")
    return dict(loss=f"{m['total']:.3f}", content=f"{m['content']:.3f}", style=f"{m['style']:.3f}")


def _finish(args, report, start: int, config, abstract_state, decoder_key: str) -> int:
    """Report the last step (or that nothing was left to train) and ``--export`` the newest checkpoint's decoder."""
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
    path = generator.SHIPPED_DECODER if choice == "shipped" else Path(choice)
    if not path.is_file():
        raise CliError(f"--init-decoder: no decoder at {path}; train one first (`gantransfer train decoder "
                       f"--export {path}`) or pass --init-decoder scratch")
    return path


if __name__ == "__main__":
    sys.exit(main())
