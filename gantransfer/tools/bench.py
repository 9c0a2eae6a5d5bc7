"""``gantransfer bench``: speed and memory figures as one JSON document.

Schema (every time in seconds unless the key says ``ms``)::

    {"schema": 1, "machine": {...}, "jax": "...",  # machine: CPU, cores, ISA, and "malloc": whether
                                                  # runtime.keep_freed_memory is in force
     "matmul_gflops": float,                     # this machine's float32 2048² matmul throughput
     "extractor": {"size": int, "layer": str, "gflop": float, "seconds": float, "gflops": float,
                   "fraction_of_matmul": float},
     "gatys_step": {"<size>": {"adam": s, "adam_default_layers": s, "lbfgs_iteration": s}},
     "stylize_default": {"size": int, "seconds": float, "steps": int, "style_loss": float,
                         "style_loss_of_content": float, "style_ratio": float},
     "feedforward_ms": {"adain"|"wct": {"<size>": {"encoder", "fusion", "decoder", "total_two_encodes",
                                                   "slider_update"}}},   # G(I_c, S), batch 1, ms
     "multilevel_ms": {"<size>": {"style_encoders", "encoders", "fusion", "decoders", "total"}},
         # multi-level WCT (relu3_1 -> relu2_1 -> relu1_1), batch 1, ms: parts summed over the levels
     "mosaic_ms": {"<size>": {"content_encoder", "style_encoder", "match_and_paste", "total"}},
         # the style mosaic, batch 1, style at half the size, ms; match_and_paste = total - the encoders
     "decoder_width": float,                     # width multiplier of the decoder timed below
     "decoder_train_steps_per_s": {"<crop>": float},                     # batch 4
     "gan_train_steps_per_s": {"<crop>": float},                         # per-style D + G_S update, batch 4
     "peak_rss_mib": float,                      # peak resident memory of this process
     "convergence": {"default": {...}, "reference": {...}, "style_loss_over_reference": float,
                     "converged": bool, "seconds_to_converged": s},    # with --converge; the reference
     "convergence_lbfgs": {...},                 # carries its "trajectory"; the same with L-BFGS
     "peer": {"<size>": {"torch_s_per_step": s, "jax_s_per_step": s, "ratio_jax_over_torch": float,
                         "paired_ratios": [float, ...]}},   # with --peer: 3 rounds in turns, medians
     "whole_process": {"pair": [str, str], "size": int, "gantransfer_s": s, "gantransfer_first_s": s,
                       "tutorial_s": s, "ratio": float,                   # with --peer: wall times of
                       "judge": {"gantransfer": {...}, "tutorial": {...}}},  # the two commands, judged
     "notebooks": {"<stem>": {"seconds": s, "peak_rss_mib": float, "date": str}}}
         # copied from the latest ``gantransfer bench --notebooks`` (data/bench/notebooks.json, default
         # settings only), so one document holds every figure; {} until the notebooks have been measured

Speed targets are ratios to the peer measured in the same sitting: machines here differ by 2.5×.
``gantransfer bench --compare OLD.json NEW.json`` lines up two such files figure by figure
(:func:`compare`).
"""
from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from gantransfer.core import images, resources, runtime, samples
from gantransfer.methods import judging, mosaic, optimize
from gantransfer.pipeline import extractor, fusion, generator
from gantransfer.tools import course
from gantransfer.training import batches, decoder_training, style_gan

#: The PyTorch peer's loss layers, so both sides time the same algorithm (Gatys with VGG16).
PEER_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
PEER_CONTENT_LAYERS = ("relu4_2",)
PEER_SCRIPT = (resources.REPOSITORY or Path.cwd()).parent / "shared" / "bench" / "peer_torch_gatys.py"
#: The PyTorch "Neural Transfer" tutorial's algorithm as a whole process (300 L-BFGS evaluations).
TUTORIAL_SCRIPT = PEER_SCRIPT.parent / "peer_torch_tutorial.py"
#: The independent judge of a stylised picture (style_ratio, structure), run with this package's Python.
JUDGE_SCRIPT = PEER_SCRIPT.parent / "judge.py"


def _timeit(fn, *, repeats: int, warmup: int = 2) -> float:
    """Median seconds of ``fn()`` (which must block until its result is ready)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def machine() -> dict:
    """CPU model, core count and vector extensions of this machine, and the malloc setting in force."""
    info = {"platform": platform.platform(), "cores": os.cpu_count(), "device": str(jax.devices()[0]),
            "malloc": "freed memory reused" if runtime.freed_memory_kept() else "system default"}
    try:
        text = Path("/proc/cpuinfo").read_text()
        model = next((l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("model name")), "")
        flags = next((l.split(":", 1)[1].split() for l in text.splitlines() if l.startswith("flags")), [])
        info["cpu"] = model
        info["isa"] = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    except OSError:
        pass
    return info


def matmul_gflops(n: int = 2048, *, repeats: int = 5) -> float:
    """Float32 ``[n, n] @ [n, n]`` throughput in GFLOP/s."""
    a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n), dtype=np.float32))
    f = jax.jit(lambda x: x @ x)
    seconds = _timeit(lambda: f(a).block_until_ready(), repeats=repeats)
    return 2 * n ** 3 / seconds / 1e9


def extractor_flops(height: int, width: int, layer: str) -> float:
    """Multiply-adds × 2 of VGG16's convolutions up to ``layer`` on one ``[height, width]`` image."""
    flops, c_in, stride = 0.0, 3, 1
    for name in extractor.LAYER_NAMES[: extractor.LAYER_NAMES.index(layer) + 1]:
        if name.startswith("conv"):
            c_out = extractor.LAYER_CHANNELS[name]
            flops += 2 * (height // stride) * (width // stride) * 9 * c_in * c_out
            c_in = c_out
        elif name.startswith("pool"):
            stride *= 2
    return flops


def extractor_throughput(params, size: int, *, layer: str = "relu4_3", repeats: int = 5) -> dict:
    """Forward pass of the extractor to ``layer`` on a ``size``² image, in GFLOP/s."""
    x = jnp.asarray(np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32))
    seconds = _timeit(lambda: jax.block_until_ready(extractor.extract(params, x, [layer])), repeats=repeats)
    gflop = extractor_flops(size, size, layer) / 1e9
    return {"size": size, "layer": layer, "gflop": gflop, "seconds": seconds, "gflops": gflop / seconds}


def gatys_step_seconds(params, size: int, *, optimizer: str = "adam", style_layers=PEER_STYLE_LAYERS,
                       content_layers=PEER_CONTENT_LAYERS, repeats: int = 5) -> float:
    """Seconds per optimisation step at ``size``² (random images, after compilation).

    For L-BFGS this is one iteration, line search included.
    """
    rng = np.random.default_rng(0)
    content = jnp.asarray(rng.random((1, size, size, 3), dtype=np.float32))
    style = jnp.asarray(rng.random((1, size, size, 3), dtype=np.float32))
    config = optimize.TransferConfig(size=size, scales=(size,), style_layers=style_layers,
                                     content_layers=content_layers, optimizer=optimizer)
    problem = optimize.make_problem(params, content, [style], config)
    state = {"x": jnp.array(content)}
    if optimizer == "adam":
        state["opt"] = optimize.init_optimizer_state("adam", state["x"])

        def step():
            state["x"], state["opt"], losses = optimize.adam_step(params, state["x"], state["opt"], problem)
            jax.block_until_ready(losses)
    else:
        state["opt"] = optimize.init_optimizer_state("lbfgs", state["x"])

        def step():
            state["x"], state["opt"], losses = optimize.lbfgs_steps(params, state["x"], state["opt"], problem, 1)
            jax.block_until_ready(losses)
    return _timeit(step, repeats=repeats)


def stylize_default(params, size: int, *, content: str = "chelsea", style: str = "waves", steps=None,
                    optimizer: str | None = None, trajectory: bool = False) -> dict:
    """The default transfer on a bundled pair, timed whole (compilation included), with its style losses.

    ``optimizer`` replaces the default optimiser; ``trajectory`` adds ``[[seconds, style loss], ...]`` of
    every report (every ``report_every`` steps, seconds since the start).
    """
    kwargs = {"size": size} if steps is None else {"size": size, "steps": steps}
    if optimizer is not None:
        kwargs["optimizer"] = optimizer
    config = optimize.TransferConfig(**kwargs)
    c = samples.content_image(content, size=size)
    s = samples.style_image(style, size=size)
    start = time.perf_counter()
    image, reports = optimize.stylize(c, s, config, params=params)
    seconds = time.perf_counter() - start
    final = reports[-1]
    # The content photo's own style loss against the same targets: the yardstick of "stylised".
    problem = optimize.make_problem(params, jnp.asarray(c)[None], [jnp.asarray(s)[None]], config)
    _, own = optimize.transfer_losses(params, jnp.asarray(c)[None], problem)
    _, out = optimize.transfer_losses(params, jnp.asarray(image)[None], problem)
    result = {"size": size, "pair": [content, style], "optimizer": config.optimizer, "seconds": seconds,
              "steps": final.step, "style_loss": float(out["style"]), "style_loss_of_content": float(own["style"]),
              "style_ratio": float(out["style"]) / float(own["style"])}
    if trajectory:
        result["trajectory"] = [[r.seconds, r.losses["style"]] for r in reports]
    return result


def convergence(params, size: int = 256, *, reference_steps: int = 1000, content: str = "chelsea",
                style: str = "waves", optimizer: str | None = None) -> dict:
    """Is the default transfer converged, and how long does a converged result take?

    "Converged" = a style loss within 10 % of the value the same run reaches with ``reference_steps`` steps at
    the final scale. Returns the default run, the reference run, whether the default is converged, and
    ``seconds_to_converged``: the time (compilation included) at which the reference run's style loss
    first came within 10 % of its own final value (``None`` if only at the end). ``optimizer`` runs both
    with another optimiser (``"lbfgs"``: Gatys et al.'s choice).
    """
    default = stylize_default(params, size, content=content, style=style, optimizer=optimizer)
    coarse = optimize.TransferConfig(size=size).scale_steps[:-1]
    reference = stylize_default(params, size, content=content, style=style, steps=(*coarse, reference_steps),
                                optimizer=optimizer, trajectory=True)
    target = 1.1 * reference["style_loss"]
    first = next((seconds for seconds, loss in reference["trajectory"] if loss <= target), None)
    return {"default": default, "reference_steps": reference_steps, "reference": reference,
            "style_loss_over_reference": default["style_loss"] / reference["style_loss"],
            "converged": default["style_loss"] <= target, "seconds_to_converged": first}


def feedforward_ms(params, decoder, size: int, *, method: str = "adain", width: float = 1.0,
                   layer: str | None = None, alpha: float = 1.0, repeats: int = 5) -> dict:
    """Milliseconds per stylised ``size``² image (batch 1, after compilation), split into its parts.

    ``slider_update`` is what a widget pays when content and style features are cached: fusion + decoder.
    Timings do not depend on the decoder's weights, so an untrained one serves. ``layer`` is the layer the
    decoder inverts (default ``relu4_1``); ``alpha`` the fusion's blend.
    """

    layer = layer or generator.ENCODER_LAYER
    rng = np.random.default_rng(0)
    content = jnp.asarray(rng.random((1, size, size, 3), dtype=np.float32))
    style = jnp.asarray(rng.random((1, size, size, 3), dtype=np.float32))
    encode = jax.jit(lambda x: generator.encode(params, x, layer=layer))
    fuse = jax.jit(lambda c, s: fusion.fuse(c, [s], method=method, alpha=alpha))
    decode = jax.jit(lambda d, f: generator.decode(d, f, width=width, layer=layer))
    feats_c, feats_s = encode(content), encode(style)
    fused = fuse(feats_c, feats_s)
    ms = lambda fn: 1000 * _timeit(lambda: jax.block_until_ready(fn()), repeats=repeats)
    out = {"encoder": ms(lambda: encode(content)),
           "fusion": ms(lambda: fuse(feats_c, feats_s)),
           "decoder": ms(lambda: decode(decoder, fused))}
    out["total_two_encodes"] = 2 * out["encoder"] + out["fusion"] + out["decoder"]
    out["slider_update"] = out["fusion"] + out["decoder"]
    return out


def multilevel_ms(params, decoders, size: int, *, repeats: int = 5) -> dict:
    """Milliseconds per multi-level WCT image (:func:`gantransfer.pipeline.generator.generate_multilevel`, batch 1,
    ``size``² content and style, after compilation), with its parts summed over the levels: the style's
    encodings (once per level), the current image's encodings, the WCT fusions and the decoders, each level
    timed by :func:`feedforward_ms` (the style and the image have the same shape, so one encoding time
    serves both).

    Args:
      decoders: ``{layer: (decoder_state, width)}`` as ``generate_multilevel`` takes; timings do not depend on
        the weights, so fresh ones of the shipped widths serve.
    """

    rng = np.random.default_rng(0)
    content = jnp.asarray(rng.random((1, size, size, 3), dtype=np.float32))
    style = jnp.asarray(rng.random((1, size, size, 3), dtype=np.float32))
    parts = {"style_encoders": 0.0, "encoders": 0.0, "fusion": 0.0, "decoders": 0.0}
    for layer in generator.MULTILEVEL_LAYERS:
        state, width = decoders[layer]
        level = feedforward_ms(params, state, size, method="wct", width=width, layer=layer,
                               alpha=generator.MULTILEVEL_ALPHA, repeats=repeats)
        parts["style_encoders"] += level["encoder"]
        parts["encoders"] += level["encoder"]
        parts["fusion"] += level["fusion"]
        parts["decoders"] += level["decoder"]
    parts["total"] = 1000 * _timeit(
        lambda: jax.block_until_ready(generator.generate_multilevel(params, decoders, content, [style])),
        repeats=repeats)
    return parts


def mosaic_ms(params, size: int, *, repeats: int = 5) -> dict:
    """Milliseconds per style mosaic (:func:`gantransfer.methods.mosaic.generate_mosaic`, batch 1, a ``size``² photo and
    a style at :data:`gantransfer.methods.mosaic.STYLE_SCALE` × ``size``, after compilation): the two ``relu4_1``
    encodings, and the rest (scores, luminance guide, Sinkhorn assignment, pasting) as the total less them."""

    rng = np.random.default_rng(0)
    side = round(size * mosaic.STYLE_SCALE) // 8 * 8
    content = jnp.asarray(rng.random((1, size, size, 3), dtype=np.float32))
    style = jnp.asarray(rng.random((1, side, side, 3), dtype=np.float32))
    encode = jax.jit(lambda x: generator.encode(params, x, layer=mosaic.MOSAIC_LAYER))
    ms = lambda fn: 1000 * _timeit(lambda: jax.block_until_ready(fn()), repeats=repeats)
    out = {"content_encoder": ms(lambda: encode(content)), "style_encoder": ms(lambda: encode(style)),
           "total": ms(lambda: mosaic.generate_mosaic(params, content, [style]))}
    out["match_and_paste"] = max(out["total"] - out["content_encoder"] - out["style_encoder"], 0.0)
    return out


def decoder_train_steps_per_second(params, crop: int, *, batch: int = 4, width: float = 1.0,
                                   repeats: int = 3) -> float:
    """Decoder training steps per second on ``batch`` random crops of ``crop``² (after compilation)."""

    config = decoder_training.DecoderTrainConfig(steps=10, batch=batch, crop=crop, pool_side=max(crop, 256), width=width)
    tx, _ = decoder_training._compiled_step(config)
    rng = np.random.default_rng(0)
    batch_ = batches.Batch(rng.random((batch, crop, crop, 3), dtype=np.float32),
                         rng.random((batch, crop, crop, 3), dtype=np.float32))
    state = {"params": generator.init_decoder(jax.random.key(0), width=width)}
    state["opt"] = tx.init(state["params"])

    def step():
        state["params"], state["opt"], metrics = decoder_training.train_step(config, state["params"], state["opt"], params, batch_)
        jax.block_until_ready(metrics)

    return 1.0 / _timeit(step, repeats=repeats, warmup=1)


def gan_train_steps_per_second(params, crop: int = 128, *, batch: int = 4, repeats: int = 3) -> float:
    """Per-style GAN training steps (one ``D`` update + one ``G_S`` update, :func:`gantransfer.training.style_gan.train_step`)
    per second at ``crop``², ``batch``, the default generator and discriminator."""
    config = style_gan.StyleGanConfig(steps=10, batch=batch, crop=crop, pool_side=max(crop, 256),
                                      style_side=max(crop, 256))
    rng = np.random.default_rng(0)
    batch_ = batches.Batch(rng.random((batch, crop, crop, 3), dtype=np.float32),
                           rng.random((batch, crop, crop, 3), dtype=np.float32))
    targets = style_gan.style_targets(params, jnp.asarray(rng.random((256, 256, 3), dtype=np.float32)))
    state = {"s": style_gan.init_state(config)}

    def step():
        state["s"], metrics = style_gan.train_step(config, state["s"], params, targets, batch_)
        jax.block_until_ready(metrics)

    return 1.0 / _timeit(step, repeats=repeats, warmup=1)


def shipped_decoder_width(path: str | os.PathLike | None = None) -> float:
    """Width of a shipped decoder file (default ``gantransfer/data/checkpoints/decoder.npz``) if it exists, else
    :data:`gantransfer.pipeline.generator.DEFAULT_WIDTH`."""

    path = Path(generator.SHIPPED_DECODER if path is None else path)
    if path.is_file():
        with np.load(path) as z:
            return float(z["__width__"])
    return generator.DEFAULT_WIDTH


def timing_level_decoders() -> dict:
    """Fresh decoders of the shipped level decoders' widths, ``{layer: (state, width)}`` for
    :func:`multilevel_ms` (timings do not depend on the weights)."""

    widths = {layer: shipped_decoder_width(path) for layer, path in generator.SHIPPED_LEVEL_DECODERS.items()}
    return {layer: (generator.init_decoder(jax.random.key(0), width=w, layer=layer), w) for layer, w in widths.items()}


def peer_step_seconds(torch_python: str, size: int, *, iters: int = 5, script: Path = PEER_SCRIPT) -> float:
    """Run the PyTorch peer (``shared/bench/peer_torch_gatys.py``) in its own venv; seconds per Adam step."""
    if not Path(script).is_file():
        raise FileNotFoundError(f"peer script {script} not found")
    figures = _last_json_line([torch_python, str(script), str(extractor.lpips_weights_path()), str(size), str(iters)],
                              "the PyTorch peer", timeout=1800)
    return float(figures["s_per_step"])


def paired_peer_ratio(params, torch_python: str, size: int, *, rounds: int = 3, steps: int = 10,
                      script: Path = PEER_SCRIPT) -> dict:
    """Our Adam step (the peer's layers) against the PyTorch peer's, measured in turns, ``rounds`` times.

    These machines drift by 10–20 % within minutes, so one figure of each taken minutes apart (as the
    bench's sections fall) can put either side ahead; each round times ours, then the peer, right after.
    Returns ``{"torch_s_per_step", "jax_s_per_step", "ratio_jax_over_torch", "paired_ratios"}``: medians
    of the rounds, and the ratio of each round.
    """
    if rounds < 1 or steps < 1:
        raise ValueError(f"rounds and steps must be at least 1; got {rounds} and {steps}")
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(gatys_step_seconds(params, size, repeats=steps))
        theirs.append(peer_step_seconds(torch_python, size, iters=steps, script=script))
    ratios = [a / b for a, b in zip(ours, theirs)]
    return {"torch_s_per_step": float(np.median(theirs)), "jax_s_per_step": float(np.median(ours)),
            "ratio_jax_over_torch": float(np.median(ratios)), "paired_ratios": ratios}


class HelperFailed(RuntimeError):
    """A helper script (a PyTorch peer, the judge) exited with an error; the message is one line."""


def _run_helper(command: list[str], what: str, *, timeout: float) -> subprocess.CompletedProcess:
    """Run a helper script; its failure becomes :class:`HelperFailed` naming it and its last stderr line."""
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        last = ((proc.stderr or proc.stdout).strip().splitlines() or ["(no message)"])[-1]
        raise HelperFailed(f"{what} failed (exit {proc.returncode}): {last}")
    return proc


def _last_json_line(command: list[str], what: str, *, timeout: float) -> dict:
    """Run a helper script that prints its figures as JSON on its last line (the peers, the judge)."""
    return json.loads(_run_helper(command, what, timeout=timeout).stdout.strip().splitlines()[-1])


def _wall_seconds(command: list[str], what: str) -> float:
    start = time.perf_counter()
    _run_helper(command, what, timeout=1800)
    return time.perf_counter() - start


def judge_picture(out: str | os.PathLike, content: str | os.PathLike, style: str | os.PathLike, *,
                  script: Path | None = None) -> dict:
    """``{"style_ratio", "structure"}`` of a picture file: the library's judge (:mod:`gantransfer.methods.judging`),
    or with ``script`` an outside judge run as ``script OUT CONTENT STYLE`` in this Python (the cross-check)."""
    if script is None:
        loaded = [images.load_image(path) for path in (out, content, style)]
        return judging.judge(extractor.load_params(), *loaded)
    figures = _last_json_line([sys.executable, str(script), str(out), str(content), str(style)], "the judge",
                              timeout=600)
    return {"style_ratio": figures["style_ratio"], "structure": figures["structure"]}


def whole_process(torch_python: str, workdir: str | os.PathLike, *, content: str = "chelsea", style: str = "waves",
                  size: int = 256, stylize_args: tuple[str, ...] = (), tutorial_script: Path = TUTORIAL_SCRIPT,
                  judge_script: Path | None = JUDGE_SCRIPT) -> dict:
    """``gantransfer stylize CONTENT STYLE --size SIZE`` at its defaults as a whole process (Python start,
    imports, weights, compilation from the on-disk cache, the steps, the PNG) against the PyTorch tutorial's
    algorithm (``shared/bench/peer_torch_tutorial.py``, in its own venv) on the same bundled images: wall
    seconds of each command, run one after the other. Ours runs twice and the second is the figure (the
    first fills the compilation cache, as any earlier run on the machine would have). Both pictures are judged
    (``style_ratio``, ``structure``) by the library (``"judge"``) and, with the outside judge script present, by
    it too (``"judge_outside"``, the cross-check): the target is a fraction of the time with a picture as good.
    """
    workdir = Path(workdir)
    if not Path(tutorial_script).is_file():
        raise FileNotFoundError(f"peer script {tutorial_script} not found")
    # The tutorial reads files: the bundled PNGs themselves, which `gantransfer stylize` loads by name.
    content_png = samples.bundled_path(content, "content")
    style_png = samples.bundled_path(style, "style")
    ours = workdir / "gantransfer.png"
    command = [sys.executable, "-m", "gantransfer.cli", "stylize", content, style, "--size", str(size),
               "-o", str(ours), "--overwrite", "--quiet", *stylize_args]
    first = _wall_seconds(command, "gantransfer stylize")
    seconds = _wall_seconds(command, "gantransfer stylize")
    theirs = workdir / "tutorial.png"
    tutorial = _wall_seconds([torch_python, str(tutorial_script), str(extractor.lpips_weights_path()),
                              str(content_png), str(style_png), str(size), str(theirs)], "the tutorial peer")
    result = {"pair": [content, style], "size": size, "gantransfer_first_s": first, "gantransfer_s": seconds,
              "tutorial_s": tutorial, "ratio": seconds / tutorial}
    pictures = (("gantransfer", ours), ("tutorial", theirs))
    result["judge"] = {name: judge_picture(out, content_png, style_png) for name, out in pictures}
    if judge_script is not None and Path(judge_script).is_file():
        result["judge_outside"] = {name: judge_picture(out, content_png, style_png, script=judge_script)
                                   for name, out in pictures}
    return result


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def notebook_figures(path: str | os.PathLike | None = None) -> dict:
    """The notebooks' latest measured figures, ``{stem: {"seconds", "peak_rss_mib", "date"}}``.

    Executing the notebooks takes minutes each, so :func:`run` does not: it copies what
    ``gantransfer bench --notebooks`` last wrote (:func:`gantransfer.tools.course.read_timings`, default
    ``data/bench/notebooks.json``). Fast-mode timings and failed notebooks are left out: they are not the
    notebooks' figures.
    """

    return {stem: {key: entry.get(key) for key in ("seconds", "peak_rss_mib", "date")}
            for stem, entry in course.read_timings(path).items()
            if not entry.get("fast") and entry.get("seconds") is not None}


def run(*, quick: bool = False, torch_python: str | None = None, sizes=None, converge: bool = False) -> dict:
    """Collect every figure; ``quick`` uses tiny sizes (a smoke test, not a measurement)."""
    params = extractor.load_params()
    sizes = sizes or ((64,) if quick else (256, 512))
    repeats = 2 if quick else 5
    result = {"schema": 1, "machine": machine(), "jax": jax.__version__, "quick": quick}
    result["matmul_gflops"] = matmul_gflops(512 if quick else 2048, repeats=repeats)
    ext = extractor_throughput(params, sizes[0], repeats=repeats)
    ext["fraction_of_matmul"] = ext["gflops"] / result["matmul_gflops"]
    result["extractor"] = ext
    result["gatys_step"] = {}
    for size in sizes:
        result["gatys_step"][str(size)] = {
            "adam": gatys_step_seconds(params, size, repeats=repeats),
            "adam_default_layers": gatys_step_seconds(
                params, size, style_layers=optimize.DEFAULT_STYLE_LAYERS,
                content_layers=optimize.DEFAULT_CONTENT_LAYERS, repeats=repeats),
            "lbfgs_iteration": gatys_step_seconds(params, size, optimizer="lbfgs", repeats=max(2, repeats // 2)),
        }
        result[f"peak_rss_mib_after_{size}"] = peak_rss_mib()
    result["stylize_default"] = stylize_default(params, 64 if quick else 256, steps=4 if quick else None)
    result["peak_rss_mib"] = peak_rss_mib()

    # The shipped decoder's width (timings do not depend on its weights, so a fresh one of that width serves).
    width = shipped_decoder_width()
    decoder = generator.init_decoder(jax.random.key(0), width=width)
    result["decoder_width"] = width
    result["feedforward_ms"] = {method: {str(size): feedforward_ms(params, decoder, size, method=method, width=width,
                                                                   repeats=repeats)
                                         for size in ((64,) if quick else (256, 512, 1024))}
                                for method in ("adain", "wct")}
    levels = timing_level_decoders()
    result["multilevel_ms"] = {str(size): multilevel_ms(params, levels, size, repeats=repeats)
                               for size in ((64,) if quick else (256, 512, 1024))}
    result["mosaic_ms"] = {str(size): mosaic_ms(params, size, repeats=repeats)
                           for size in ((64,) if quick else (256, 512, 1024))}
    result["decoder_train_steps_per_s"] = {str(crop): decoder_train_steps_per_second(params, crop, width=width,
                                                                                     repeats=repeats)
                                           for crop in ((32,) if quick else (128, 256))}
    result["gan_train_steps_per_s"] = {str(crop): gan_train_steps_per_second(params, crop, repeats=repeats)
                                       for crop in ((32,) if quick else (128,))}
    result["peak_rss_mib"] = peak_rss_mib()
    if converge:
        for key, optimizer in (("convergence", None), ("convergence_lbfgs", "lbfgs")):
            result[key] = convergence(params, 64 if quick else 256, reference_steps=8 if quick else 1000,
                                      optimizer=optimizer)
    if torch_python:
        result["peer"] = {}
        for size in sizes:
            result["peer"][str(size)] = paired_peer_ratio(params, torch_python, size, rounds=1 if quick else 3,
                                                          steps=2 if quick else (10 if size <= 256 else 4))
        if not quick:
            with tempfile.TemporaryDirectory() as workdir:
                result["whole_process"] = whole_process(torch_python, workdir)
    result["notebooks"] = notebook_figures()
    return result


def flatten(doc: dict, prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a bench document as ``{"gatys_step.256.adam": 0.49, ...}`` (booleans dropped)."""
    out: dict[str, float] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def compare(old: dict, new: dict) -> list[tuple[str, float | None, float | None, float | None]]:
    """Figures of two bench documents side by side: ``[(name, old, new, new / old), ...]``, sorted by name.

    A figure present in only one document has ``None`` for the other and for the ratio. Times are in
    seconds or ms and throughputs per second, so read the ratio with the unit: < 1 is faster for a time,
    slower for a rate.
    """
    a, b = flatten(old), flatten(new)
    rows = []
    for name in sorted(set(a) | set(b)):
        x, y = a.get(name), b.get(name)
        rows.append((name, x, y, (y / x) if x not in (None, 0.0) and y is not None else None))
    return rows


def format_comparison(rows) -> str:
    """:func:`compare`'s rows as an aligned text table."""
    fmt = lambda v: "—" if v is None else f"{v:.4g}"
    width = max([len(r[0]) for r in rows] + [6])
    lines = [f"{'figure':<{width}}  {'old':>10}  {'new':>10}  {'new/old':>8}"]
    lines += [f"{n:<{width}}  {fmt(x):>10}  {fmt(y):>10}  {fmt(r):>8}" for n, x, y, r in rows]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
