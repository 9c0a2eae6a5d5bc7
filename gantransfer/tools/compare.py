"""Comparing style-transfer methods on the same photos and styles, with the metrics of :mod:`gantransfer.methods.metrics`.

:func:`compare_methods` stylises every content × style pair with each method and measures, per
(method, content, style):

* **wall time**: for the feed-forward methods (AdaIN, WCT, the per-style GAN generators, multi-level WCT) a *second*
  call of the jit-compiled generator, so compilation is excluded; for optimisation the whole run of
  :func:`gantransfer.methods.optimize.stylize`, compilation included (about 1–2 s for each new image size);
* **content distance**: LPIPS to the photo (:func:`gantransfer.methods.metrics.lpips_distance`), lower = closer;
* **style distance**: the Gram distance to the style image (:func:`gantransfer.methods.metrics.style_distance`),
  and the **style ratio**, that distance over the photo's own (below 1 = moved towards the style);
* **SSIM** to the photo (:func:`gantransfer.methods.metrics.ssim`, luminance), higher = more structure kept.

The methods (:data:`METHODS`): ``"adam"`` and ``"lbfgs"`` — Gatys' optimisation at the defaults of
:class:`gantransfer.methods.optimize.TransferConfig` (L-BFGS with ``optimizer="lbfgs"``); ``"adain"`` and
``"wct"`` — one pass of ``G(I_c, S)`` with the shipped decoder (:data:`gantransfer.pipeline.generator.SHIPPED_DECODER`);
``"gan"`` — one pass of each style's own generator (:mod:`gantransfer.pipeline.style_generator`; run only when every
style of the comparison has one);
``"multilevel"`` — WCT at ``relu3_1``, ``relu2_1``, ``relu1_1`` in turn with the shipped level decoders
(:func:`gantransfer.pipeline.generator.generate_multilevel`, Li et al. 2017); ``"mosaic"`` — the photo painted with the
style's own pixel patches (:mod:`gantransfer.methods.mosaic`, no decoder), as ``gantransfer stylize --method mosaic``
runs it: the style seen at half the size, the photo's layout kept. A method whose decoder file does not
exist is *skipped*, with the reason, in the results, the table and the printed summary — never silently.

:func:`write_table` writes the numbers as Markdown (means per method, then every pair),
:func:`write_grid` the images as a PNG (rows = pairs; columns = photo, style, each method), and
:func:`main` is ``gantransfer compare``. :func:`distort` makes the controlled distortions (noise, blur,
shift, pixel jitter, tile shuffling, blending) with which the notebook shows where each metric fails.

Taught in ``notebooks/06_evaluation_and_scale.ipynb``.
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from gantransfer.core import samples
from gantransfer.methods import distortions, metrics, mosaic, optimize, registry
from gantransfer.pipeline import extractor, generator, style_generator
from gantransfer.tools import bench
from gantransfer.tools.bench import _timeit

#: The optimisation runs compared (the registry's ``"optimize"`` with each optimiser) and the optimiser each uses.
OPTIMIZATION: dict[str, str] = {"adam": "adam", "lbfgs": "lbfgs"}

#: Every method :func:`compare_methods` knows, in the order of the table: the two optimisers, then every
#: one-pass method of the registry (:data:`gantransfer.methods.registry.METHODS`; a new entry there is compared too).
METHODS: tuple[str, ...] = (*OPTIMIZATION, *(name for name, m in registry.METHODS.items() if m.feedforward))

#: What each method is, for tables and figures.
METHOD_LABELS: dict[str, str] = {
    "adam": "optimisation, Adam",
    "lbfgs": "optimisation, L-BFGS",
    **{name: m.label for name, m in registry.METHODS.items() if m.feedforward},
    "photo": "baseline: the photo itself",
    "style": "baseline: the style image",
}

#: Baseline rows: the photo itself (no stylisation) and the style image (no content) at the photo's shape.
BASELINES: tuple[str, ...] = ("photo", "style")

#: Defaults of ``gantransfer compare``: three photos × three styles (the README grid's pairs).
DEFAULT_CONTENTS: tuple[str, ...] = ("astronaut", "chelsea", "coffee")
DEFAULT_STYLES: tuple[str, ...] = ("stained_glass", "brush_strokes", "waves")

#: The longest side of the photos compared by default (``compare_methods``, ``gantransfer compare --size``).
DEFAULT_SIZE = 256

#: Where ``gantransfer compare`` writes (``.md``, ``.png``, ``.json``), and where a ``--quick`` smoke test does.
DEFAULT_OUTPUT = "data/figures/compare"
QUICK_OUTPUT = "compare_quick"

#: The metric columns of the table: (attribute, header).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("seconds", "seconds"),
    ("content_distance", "content LPIPS ↓"),
    ("style_distance", "style Gram distance ↓"),
    ("style_ratio", "style ratio ↓"),
    ("ssim", "SSIM ↑"),
)


@dataclasses.dataclass(frozen=True)
class MethodResult:
    """One method on one content × style pair.

    Attributes:
      method: a key of :data:`METHODS` (or ``"photo"`` / ``"style"`` for the baselines).
      content, style: the pair's names (bundled name or file stem).
      seconds: wall time of the stylisation (see ``timing``); ``None`` for a baseline.
      timing: how ``seconds`` was measured.
      content_distance: LPIPS to the photo (0 = the same image).
      style_distance: Gram distance to the style image (``metrics.style_distance``, ``relu1_1 … relu4_1``).
      style_ratio: ``style_distance`` over the photo's own Gram distance to the style (the photo scores 1).
      ssim: SSIM to the photo, on luminance (1 = the same image).
      image: ``[H, W, 3]`` float32 in [0, 1], the photo's shape.
    """

    method: str
    content: str
    style: str
    seconds: float | None
    timing: str
    content_distance: float
    style_distance: float
    style_ratio: float
    ssim: float
    image: np.ndarray = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass
class Comparison:
    """What :func:`compare_methods` returns.

    Attributes:
      size: the longest side of every photo and output, px.
      methods: the methods asked for, in order (skipped ones included).
      results: one :class:`MethodResult` per method (not skipped) and pair, plus the baselines.
      skipped: ``{method: reason}`` for each method that could not run (e.g. no decoder file).
      contents, styles: ``{name: [H, W, 3] image}`` as the methods saw them (photos cropped to multiples of 8).
      pairs: ``(content, style)`` names in order.
      settings: how each method was run (config summaries, decoder files), for the record.
    """

    size: int
    methods: tuple[str, ...]
    results: list[MethodResult]
    skipped: dict[str, str]
    contents: dict[str, np.ndarray]
    styles: dict[str, np.ndarray]
    pairs: list[tuple[str, str]]
    settings: dict = dataclasses.field(default_factory=dict)

    def result(self, method: str, content: str, style: str) -> MethodResult:
        """The result of ``method`` on ``(content, style)``; ``KeyError`` if it did not run."""
        for r in self.results:
            if (r.method, r.content, r.style) == (method, content, style):
                return r
        reason = self.skipped.get(method)
        raise KeyError(f"no result for {method} on {content} × {style}" + (f" (skipped: {reason})" if reason else ""))

    def ran(self) -> list[str]:
        """The methods that produced images, in order."""
        return [m for m in self.methods if m not in self.skipped]

    def means(self) -> dict[str, dict[str, float | None]]:
        """``{method: {column: mean over pairs}}`` for every method that ran, and the baselines."""
        out = {}
        for method in (*self.ran(), *BASELINES):
            rows = [r for r in self.results if r.method == method]
            if not rows:
                continue
            out[method] = {}
            for key, _ in COLUMNS:
                values = [getattr(r, key) for r in rows if getattr(r, key) is not None]
                out[method][key] = float(np.mean(values)) if values else None
            out[method]["pairs"] = len(rows)
        return out

    def to_json(self) -> dict:
        """Everything but the images, as plain JSON types."""
        rows = [{k: v for k, v in dataclasses.asdict(r).items() if k != "image"} for r in self.results]
        return {"schema": 1, "size": self.size, "methods": list(self.methods), "skipped": dict(self.skipped),
                "pairs": [list(p) for p in self.pairs], "means": self.means(), "results": rows,
                "settings": self.settings}


# ---------------------------------------------------------------------------------------------------
# Inputs.

def _label(source) -> str:
    if isinstance(source, str) and os.sep not in source and not Path(source).suffix:
        return source
    return Path(source).stem


def _crop8(image: np.ndarray) -> np.ndarray:
    """Crop to multiples of 8 (the decoder upsamples ×8), keeping the centre."""
    h, w = image.shape[:2]
    h8, w8 = h // 8 * 8, w // 8 * 8
    top, left = (h - h8) // 2, (w - w8) // 2
    return np.ascontiguousarray(image[top:top + h8, left:left + w8])


def default_config(method: str, size: int, **overrides):
    """The :class:`gantransfer.methods.optimize.TransferConfig` an optimisation method runs with: the defaults
    (``optimizer="lbfgs"`` for ``"lbfgs"``) at ``size``, with ``overrides`` (e.g. ``steps=4`` in tests)."""

    if method not in OPTIMIZATION:
        raise ValueError(f"{method!r} is not an optimisation method ({', '.join(OPTIMIZATION)})")
    return optimize.TransferConfig(**{"size": size, "optimizer": OPTIMIZATION[method], **overrides})


def shown_path(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it (tables carry no home folders)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def check_methods(methods) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    if not methods:
        raise ValueError(f"no methods given; choose from {', '.join(METHODS)}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(map(repr, unknown))}; choose from {', '.join(METHODS)}")
    if len(set(methods)) != len(methods):
        raise ValueError(f"a method is named twice: {methods}")
    return methods


def check_size(size) -> int:
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 32 or size % 8:
        raise ValueError(f"size must be a multiple of 8 and >= 32 (the decoder upsamples ×8, VGG16 needs 32 px); "
                         f"got {size!r}")
    return int(size)


def _load_decoders(methods, decoder, styles) -> tuple[dict, dict[str, str]]:
    """``({method: (networks, {key: path})}, {method: reason skipped})`` through
    :func:`gantransfer.methods.registry.load_decoders` (for ``"gan"``, ``networks`` and the paths are per style
    label); a file that exists but is damaged raises."""
    files = {"adain": decoder, "wct": decoder}
    loaded, skipped = {}, {}
    for method in methods:
        if method in OPTIMIZATION:
            continue
        entry = registry.get(method)
        if not (entry.decoders or entry.per_style):
            continue
        paths = {"decoder": Path(files[method])} if files.get(method) is not None else entry.decoders
        try:
            if entry.per_style:
                loaded[method] = ({_label(s): registry.load_decoders(method, style=s) for s in styles},
                                  {_label(s): style_generator.shipped_generator_path(str(s)) for s in styles})
                continue
            loaded[method] = (registry.load_decoders(method, decoder=files.get(method)), paths)
        except FileNotFoundError as err:      # its message names the file and the command that trains it
            skipped[method] = str(err)
        except (OSError, KeyError, ValueError) as err:
            raise ValueError(f"{method}: cannot read the decoder file: {err}") from err
    return loaded, skipped


def config_summary(config) -> dict:
    return {"optimizer": config.optimizer, "scales": list(config.scales), "steps": list(config.scale_steps),
            "learning_rate": config.learning_rate, "coarse_learning_rate": config.coarse_learning_rate,
            "content_weight": config.content_weight, "style_weight": config.style_weight,
            "tv_weight": config.tv_weight}


# ---------------------------------------------------------------------------------------------------
# The comparison.

def compare_methods(
    contents: Sequence,
    styles: Sequence,
    *,
    size: int = DEFAULT_SIZE,
    methods: Sequence[str] = METHODS,
    configs: Mapping[str, object] | None = None,
    decoder: str | os.PathLike | None = None,
    baselines: bool = True,
    params=None,
    lpips_params=None,
    progress: bool = True,
    on_result: Callable[[MethodResult, Comparison], None] | None = None,
) -> Comparison:
    """Stylise every ``content × style`` pair with each method and measure time, content and style distances, SSIM.

    Args:
      contents: photos: bundled names (``samples.CONTENT_NAMES``) or image files. Each is resized so its
        longest side is ``size`` and centre-cropped to multiples of 8; every method sees that same photo.
      styles: style images: bundled names (``paint.STYLE_NAMES``) or files, resized to ``size``.
      size: longest side in px, a multiple of 8, >= 32.
      methods: a subset of :data:`METHODS`, in the order wanted.
      configs: ``{"adam" | "lbfgs": TransferConfig}`` replacing that method's defaults
        (:func:`default_config`); each must have ``size == size``. Tests pass 2-step configs.
      decoder: the decoder ``.npz`` of ``"adain"`` and ``"wct"`` (default :data:`generator.SHIPPED_DECODER`).
      baselines: add the rows ``"photo"`` (the photo itself) and ``"style"`` (the style image at the
        photo's shape): the two ends every metric should be read against.
      params: VGG16 parameters (loaded once if ``None``).
      lpips_params: from :func:`gantransfer.methods.metrics.load_lpips_params` (loaded if ``None``).
      progress: show a tqdm bar.
      on_result: called after each result with ``(result, comparison so far)`` (a notebook's live display).
    Returns:
      A :class:`Comparison`; a method whose decoder file does not exist is in ``skipped`` with the reason.
    Raises:
      ValueError: unknown method, bad size, no contents or styles, a config of another size, or a decoder
        file that exists but cannot be read (checked before anything runs).
    """


    size = check_size(size)
    methods = check_methods(methods)
    contents, styles = list(contents), list(styles)
    if not contents or not styles:
        raise ValueError("compare_methods needs at least one content photo and one style image")
    configs = dict(configs or {})
    for method, config in configs.items():
        if method not in OPTIMIZATION:
            raise ValueError(f"configs: only {', '.join(OPTIMIZATION)} take a TransferConfig; got {method!r}")
        if not isinstance(config, optimize.TransferConfig) or config.size != size:
            raise ValueError(f"configs[{method!r}] must be a TransferConfig with size={size}; got {config!r}")
        if config.optimizer != OPTIMIZATION[method]:
            raise ValueError(f"configs[{method!r}] has optimizer={config.optimizer!r}; {method} needs "
                             f"{OPTIMIZATION[method]!r}")
    for method in OPTIMIZATION:
        if method in methods and method not in configs:
            configs[method] = default_config(method, size)
    decoders, skipped = _load_decoders(methods, generator.SHIPPED_DECODER if decoder is None else decoder, styles)

    # Load every image first: a bad name fails before minutes of work.
    photos = {}
    for source in contents:
        photo = _crop8(samples.load_input(source, kind="content", size=size))
        if min(photo.shape[:2]) < extractor.MIN_SIZE:
            raise ValueError(f"photo {_label(source)!r} is {photo.shape[0]}×{photo.shape[1]} px at size {size}: "
                             f"too small for VGG16 (>= {extractor.MIN_SIZE} px a side); use a larger size")
        photos[_label(source)] = photo
    style_imgs = {_label(s): samples.load_input(s, kind="style", size=size) for s in styles}
    # The mosaic sees each style at its own scale (as `--method mosaic`); it is judged against the same style.
    mosaic_styles = {_label(s): _crop8(samples.load_input(s, kind="style", size=round(size * mosaic.STYLE_SCALE)))
                     for s in styles} if "mosaic" in methods else {}
    if len(photos) != len(contents) or len(style_imgs) != len(styles):
        raise ValueError("two contents (or two styles) have the same name; give each once")

    params = extractor.load_params() if params is None else params
    lpips_params = metrics.load_lpips_params() if lpips_params is None else lpips_params
    pairs = [(c, s) for c in photos for s in style_imgs]
    settings = {name: config_summary(cfg) for name, cfg in configs.items() if name in methods}
    for m, (networks, paths) in decoders.items():
        settings[m] = {"decoders": {key: shown_path(path) for key, path in paths.items()}, "fusion": registry.get(m).fusion,
                       "alpha": registry.get(m).alpha}
        if m != "multilevel" and not registry.get(m).per_style:
            settings[m]["width"] = networks[1]
    if "mosaic" in methods:
        settings["mosaic"] = {"style_scale": mosaic.STYLE_SCALE, "layer": mosaic.MOSAIC_LAYER,
                              "keep_layout": registry.get("mosaic").keep_layout}
    comparison = Comparison(size, methods, [], skipped, photos, style_imgs, pairs, settings)
    ran = [m for m in methods if m not in skipped]

    def measure(method, content, style, image, seconds, timing, photo_style_distance):
        photo, style_img = jnp.asarray(photos[content])[None], jnp.asarray(style_imgs[style])[None]
        out = jnp.asarray(image)[None]
        d_style = float(metrics.style_distance(params, out, style_img)[0])
        result = MethodResult(
            method, content, style, seconds, timing,
            content_distance=float(metrics.lpips_distance(lpips_params, out, photo)[0]),
            style_distance=d_style, style_ratio=d_style / max(photo_style_distance, 1e-12),
            ssim=float(metrics.ssim(out, photo)[0]), image=np.asarray(image, np.float32))
        comparison.results.append(result)
        if on_result is not None:
            on_result(result, comparison)
        return result


    with tqdm(total=len(pairs) * len(ran), desc="compare", unit="image", disable=not progress) as bar:
        for content, style in pairs:
            photo, style_img = photos[content], style_imgs[style]
            photo_style = float(metrics.style_distance(params, jnp.asarray(photo)[None],
                                                       jnp.asarray(style_img)[None])[0])
            if baselines:
                measure("photo", content, style, photo, None, "baseline", photo_style)
                measure("style", content, style, distortions.cover_crop(style_img, *photo.shape[:2]), None, "baseline", photo_style)
            for method in ran:
                bar.set_postfix_str(f"{method}: {content} × {style}")
                if method in OPTIMIZATION:
                    start = time.perf_counter()
                    image, _ = optimize.stylize(photo, style_img, configs[method], params=params)
                    seconds, timing = time.perf_counter() - start, "whole run, compilation included"
                else:
                    seen = mosaic_styles[style] if method == "mosaic" else style_img   # the method's style scale
                    networks = decoders[method][0] if method in decoders else None
                    networks = networks[style] if registry.get(method).per_style else networks
                    run = lambda: registry.stylize(photo, seen, method=method, params=params, decoders=networks)
                    jax.block_until_ready(run())                 # compiles (once per shape)
                    start = time.perf_counter()
                    image = np.asarray(jax.block_until_ready(run()))
                    seconds, timing = time.perf_counter() - start, "second call (compilation excluded)"
                measure(method, content, style, image, seconds, timing, photo_style)
                bar.update()
    return comparison


# ---------------------------------------------------------------------------------------------------
# Table and grid.


# ---------------------------------------------------------------------------------------------------
# How time grows with the image size.

#: What one timed unit of each method is, in :func:`time_vs_size`.
TIMED_UNITS: dict[str, str] = {
    "adam": "one Adam step (a forward and backward pass of VGG16)",
    "lbfgs": "one L-BFGS iteration (its line search included)",
    "adain": "one image: encode photo and style, AdaIN, decode",
    "wct": "one image: encode photo and style, WCT, decode",
}


def time_vs_size(sizes: Sequence[int], *, methods: Sequence[str] = ("adam", "lbfgs", "adain", "wct"),
                 params=None, width: float | None = None, repeats: int = 2,
                 on_measure: Callable[[str, int, float], None] | None = None) -> dict:
    """Seconds per unit of work of each method at each square size (after compilation; median of ``repeats``).

    The units (:data:`TIMED_UNITS`): one optimisation step (Adam) or iteration (L-BFGS) — a whole
    optimisation is ``TransferConfig().steps`` (50) of them, fewer at the coarse scale — and one whole
    feed-forward image. Inputs are random images: the work does not depend on what they show. The decoder
    is a random one of ``width`` (default: the shipped decoder's, else
    :data:`gantransfer.pipeline.generator.DEFAULT_WIDTH`): its speed does not depend on its weights. ``"gan"``'s
    generators are timed by ``gantransfer bench --only gan``; ``"multilevel"`` is not timed here
    (:func:`compare_methods` times it per image).

    Args:
      sizes: square sides in px, multiples of 8, >= 32.
      methods: a subset of ``("adam", "lbfgs", "adain", "wct")``.
      repeats: timed calls per point, after one call that compiles.
      on_measure: called with ``(method, size, seconds)`` after each point (a notebook's live plot).
    Returns:
      ``{"sizes": [...], "seconds": {method: {size: float}}, "units": {method: str}, "width": float}``.
    """


    sizes = [check_size(s) for s in sizes]
    methods = tuple(methods)
    if "gan" in methods:
        raise ValueError("'gan' (the per-style generators) is timed by `gantransfer bench --only gan`")
    unknown = [m for m in methods if m not in TIMED_UNITS]
    if unknown or not methods:
        raise ValueError(f"methods must be among {', '.join(TIMED_UNITS)}; got {methods}")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer; got {repeats!r}")
    params = extractor.load_params() if params is None else params
    width = bench.shipped_decoder_width() if width is None else float(width)
    with_decoder = any(m in registry.METHODS and registry.get(m).decoders for m in methods)
    decoder = generator.init_decoder(jax.random.key(0), width=width) if with_decoder else None
    out = {"sizes": sizes, "seconds": {m: {} for m in methods}, "units": {m: TIMED_UNITS[m] for m in methods},
           "width": width}


    timed = lambda fn: _timeit(fn, repeats=repeats, warmup=1)   # the first call compiles

    rng = np.random.default_rng(0)
    for size in sizes:
        content = jnp.asarray(rng.random((1, size, size, 3), dtype=np.float32))
        style = jnp.asarray(rng.random((1, size, size, 3), dtype=np.float32))
        for method in methods:
            if method in OPTIMIZATION:
                config = default_config(method, size, scales=(size,))
                problem = optimize.make_problem(params, content, [style], config)
                state = {"x": jnp.array(content), "opt": optimize.init_optimizer_state(method, content)}

                def step(state=state, problem=problem, method=method):
                    if method == "adam":
                        state["x"], state["opt"], losses = optimize.adam_step(params, state["x"], state["opt"], problem)
                    else:
                        state["x"], state["opt"], losses = optimize.lbfgs_steps(params, state["x"], state["opt"],
                                                                               problem, 1)
                    jax.block_until_ready(losses)

                seconds = timed(step)
            else:
                seconds = timed(lambda method=method: jax.block_until_ready(generator.generate(
                    params, decoder, content, [style], method=method, width=width)))
            out["seconds"][method][size] = seconds
            if on_measure is not None:
                on_measure(method, size, seconds)
    return out


# ---------------------------------------------------------------------------------------------------
# Controlled distortions: where each metric fails (notebook 06, section 1).
