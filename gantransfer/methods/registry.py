"""One entry point, ``stylize(content, style, method=..., **settings)``, and the registry of methods behind it.

Each :class:`Method` says what it needs: the decoder files it reads, the scale at which it sees the style
image, the multiple its content sides are cropped to, its default ``keep_layout``, and the settings it takes.
The CLI (``gantransfer stylize|grid``), :mod:`gantransfer.tools.compare`, the notebooks and the dashboards all
go through :func:`stylize` and :func:`style_side`, so adding a method is one entry in :data:`METHODS`.

Methods: ``"optimize"`` (Gatys et al. 2016, :mod:`gantransfer.methods.optimize`); ``"adain"`` (Huang &
Belongie 2017) and ``"wct"`` (Li et al. 2017) through the shipped decoder; ``"gan"``, one pass of the style's own
generator trained against a patch discriminator (:mod:`gantransfer.pipeline.style_generator`); ``"multilevel"`` (WCT at three levels, Li et al. 2017); ``"mosaic"`` (the
photo painted with the style's own patches, :mod:`gantransfer.methods.mosaic`).

Taught in ``notebooks/00_overview.ipynb``; each method in the notebook named by its entry.
"""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Callable, Mapping

import jax.numpy as jnp
import numpy as np

from gantransfer.core import images
from gantransfer.methods import color, guided, mosaic, optimize
from gantransfer.pipeline import decoder_file, extractor, generator, style_generator


@dataclasses.dataclass(frozen=True)
class Method:
    """What a style-transfer method is and needs.

    Attributes:
      name: the ``--method`` name.
      label: one line for tables and figures.
      paper: where it comes from.
      notebook: the notebook that teaches it.
      decoders: the files it reads, ``{key: path}`` (``{}`` for none): ``"decoder"`` for one decoder, else the
        encoder layer each decoder inverts.
      train_command: how to make a missing decoder file (``{path}`` and ``{layer}`` are filled in).
      style_scale: the style image is seen at this fraction of the content's size by default.
      crop: content (and, for the mosaic, style) sides are cropped to a multiple of this.
      keep_layout: the default strength of :func:`gantransfer.methods.color.keep_layout` (0: off).
      alpha: the default fusion strength (``None``: the method has none).
      fusion: the fusion in feature space (:mod:`gantransfer.pipeline.fusion`), ``None`` for none.
      settings: the keyword settings :func:`stylize` accepts for it.
      per_style: its network is trained for one style (``"gan"``): :func:`load_decoders` needs the style's name.
    """

    name: str
    label: str
    paper: str
    notebook: str
    decoders: Mapping[str, Path] = dataclasses.field(default_factory=dict)
    train_command: str = ""
    style_scale: float = 1.0
    crop: int = 1
    keep_layout: float = 0.0
    alpha: float | None = None
    fusion: str | None = None
    settings: tuple[str, ...] = ()
    per_style: bool = False

    @property
    def feedforward(self) -> bool:
        """One pass of a network (or of the mosaic's matching), not an optimisation."""
        return self.name != "optimize"


_FEEDFORWARD_SETTINGS = ("alpha", "weights", "keep_layout", "preserve_color")
#: The decoders' methods also place several styles by region (``masks``, Huang & Belongie 2017's spatial control).
_MASKED_SETTINGS = (*_FEEDFORWARD_SETTINGS, "masks")
_DECODER_TRAINING = "gantransfer train decoder --export {path}"

#: Every method, by name, in the order of tables.
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("optimize", "optimisation of the pixels (Gatys)", "Gatys et al. 2016", "03_style_transfer",
           settings=(*(f.name for f in dataclasses.fields(optimize.TransferConfig) if f.name != "size"), "masks")),
    Method("adain", "AdaIN + decoder", "Huang & Belongie 2017", "04_fusion",
           decoders={"decoder": generator.SHIPPED_DECODER}, train_command=_DECODER_TRAINING, crop=8, alpha=1.0,
           fusion="adain", settings=_MASKED_SETTINGS),
    Method("wct", "WCT + decoder", "Li et al. 2017", "04_fusion",
           decoders={"decoder": generator.SHIPPED_DECODER}, train_command=_DECODER_TRAINING, crop=8, alpha=1.0,
           fusion="wct", settings=_MASKED_SETTINGS),
    Method("gan", "per-style generator, adversarial + Gram", "Zheng & Liu 2020 (P²-GAN); Johnson et al. 2016",
           "05b_style_gan", train_command="gantransfer train gan --style {style} --export {path}",
           crop=style_generator.MULTIPLE, per_style=True, settings=("keep_layout", "preserve_color")),
    Method("multilevel", "multi-level WCT + 3 decoders", "Li et al. 2017", "04b_multilevel_and_mosaic",
           decoders=generator.SHIPPED_LEVEL_DECODERS,
           train_command="gantransfer train decoder --layer {layer} --export {path}", crop=8,
           alpha=generator.MULTILEVEL_ALPHA, fusion="wct", settings=_MASKED_SETTINGS),
    Method("mosaic", "style mosaic, no decoder", "Chen & Schmidt 2016; Efros & Freeman 2001", "04b_multilevel_and_mosaic",
           style_scale=mosaic.STYLE_SCALE, crop=8, keep_layout=1.0, alpha=1.0,
           settings=(*_FEEDFORWARD_SETTINGS, *mosaic.SETTINGS)),
)}


def get(method: str) -> Method:
    """The :class:`Method` named ``method``; a ``ValueError`` lists the names otherwise."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    return METHODS[method]


def style_side(method: str, content_side: int, *, style_scale: float | None = None) -> int:
    """The side at which ``method`` sees the style image, for content of side ``content_side`` px."""
    scale = get(method).style_scale if style_scale is None else style_scale
    if not 0 < scale <= optimize.MAX_STYLE_SCALE:
        raise ValueError(f"style_scale must be in (0, {optimize.MAX_STYLE_SCALE}]; got {style_scale}")
    return max(extractor.MIN_SIZE, round(content_side * scale))


def missing_files(method: str) -> dict[str, str]:
    """``{path: command that makes it}`` for every file ``method`` needs that does not exist (``"gan"``: its
    generators are per style, see :func:`load_style_generator`)."""
    entry = get(method)
    return {str(path): entry.train_command.format(path=path, layer=key)
            for key, path in entry.decoders.items() if not Path(path).is_file()}


def _stamp(path: Path) -> tuple[int, int]:
    """(modification time, size): part of the file caches' keys, so a file written again to the same path is read
    again."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=8)
def _read_decoder(path: str, layer: str, stamp: tuple[int, int]):
    return decoder_file.load_decoder(path, layer=layer)


@functools.lru_cache(maxsize=8)
def _read_generator(path: str, stamp: tuple[int, int]):
    return style_generator.load_generator(path)


def load_style_generator(style: str | None, *, generator_file: str | Path | None = None) -> dict:
    """The per-style generator of ``"gan"``: ``generator_file`` if given, else the package's one for the bundled
    style named ``style`` (read once per file, cached).

    Raises:
      FileNotFoundError: one line: no generator for that style, the styles that have one, how to train one.
      ValueError: a damaged or foreign file (:func:`gantransfer.pipeline.style_generator.load_generator`).
    """
    if generator_file is None:
        shipped = style_generator.shipped_styles()
        name = str(style) if style is not None else "?"
        path = style_generator.shipped_generator_path(name) if name in shipped else None
        if path is None:
            train = get("gan").train_command.format(style=name, path=f"{Path(name).stem}_gan.npz")
            raise FileNotFoundError(
                f"no adversarial generator for style {name!r}: the package has one for {', '.join(shipped) or 'none'}; "
                f"train one (about 25 minutes on a CPU core) with `{train}` and pass it with --decoder {Path(name).stem}_gan.npz")
    else:
        path = Path(generator_file)
        if not path.is_file():
            raise FileNotFoundError(f"no generator at {path}")
    return _read_generator(str(path), _stamp(path))


def load_decoders(method: str, *, decoder: str | Path | None = None, style: str | None = None):
    """The networks ``method`` runs, read once per file (and cached): ``(params, width)`` for one decoder,
    ``{layer: (params, width)}`` for ``"multilevel"``, the generator's parameters for ``"gan"``, ``None`` for
    methods without a network.

    Args:
      decoder: another decoder file than the shipped one (``"adain"``, ``"wct"``; for ``"gan"`` a generator file).
      style: ``"gan"`` only: the bundled style whose shipped generator to use (when ``decoder`` is not given).
    Raises:
      FileNotFoundError: a file is missing; the message names it and the command that trains it.
      ValueError: a damaged or foreign file (:func:`gantransfer.pipeline.decoder_file.load_decoder`).
    """
    entry = get(method)
    if entry.per_style:
        return load_style_generator(style, generator_file=decoder)
    if decoder is not None and set(entry.decoders) != {"decoder"}:
        raise ValueError(f"a decoder file is for adain, wct and gan; {method} "
                         + ("uses the shipped level decoders" if entry.decoders else "uses no decoder"))
    if not entry.decoders:
        return None
    paths = {"decoder": Path(decoder)} if decoder is not None else dict(entry.decoders)
    loaded = {}
    for key, path in paths.items():
        if not path.is_file():
            raise FileNotFoundError(f"no trained decoder at {path} (for {method}); train one with "
                                    f"`{entry.train_command.format(path=path, layer=key)}`, or use method 'optimize'")
        loaded[key] = _read_decoder(str(path), generator.ENCODER_LAYER if key == "decoder" else key, _stamp(path))
    return loaded["decoder"] if set(loaded) == {"decoder"} else loaded


def _crop(image, multiple: int) -> jnp.ndarray:
    image = jnp.asarray(image)
    return image[: image.shape[0] // multiple * multiple, : image.shape[1] // multiple * multiple]


def _check_masks(masks, photo, n_styles: int, crop: int):
    """``masks`` ``[H, W, K]`` at the photo's size, checked and cropped as the photo is: ``[1, H', W', K]`` or ``None``."""
    if masks is None:
        return None
    return _crop(guided.check_masks(masks, *photo.shape[:2], n_styles), crop)[None]


def _check_settings(entry: Method, settings: Mapping) -> None:
    unknown = sorted(set(settings) - set(entry.settings))
    if unknown:
        raise ValueError(f"{entry.name} takes no setting {', '.join(unknown)}; its settings: "
                         f"{', '.join(entry.settings) or 'none'}")


def stylize(content, style, *, method: str = "optimize", params=None, decoders=None, size: int | None = None,
            progress: Callable[[optimize.Progress], None] | None = None, **settings) -> np.ndarray:
    """Stylise one photo: ``I_s = G(I_c, S)`` by any method of :data:`METHODS`.

    Args:
      content: the photo, ``[H, W, 3]`` float32 in [0, 1].
      style: a style image ``[H', W', 3]``, or a sequence of them (blended; ``weights=`` or ``style_blend=``).
        Give it at :func:`style_side` of the content's size to see it as the method is tuned to.
      method: a name of :data:`METHODS`.
      params: VGG16's parameters (default: :func:`gantransfer.pipeline.extractor.load_params`).
      decoders: what :func:`load_decoders` returns for ``method`` (default: the shipped files; ``"gan"`` has no
        default: its generator belongs to one style, ``load_decoders("gan", style=NAME)``).
      size: ``"optimize"`` only: the output's longest side (default: the photo's own longest side).
      progress: ``"optimize"`` only: called with each :class:`gantransfer.methods.optimize.Progress`.
      **settings: the method's settings (:attr:`Method.settings`): for ``"optimize"`` the fields of
        :class:`gantransfer.methods.optimize.TransferConfig` and ``masks`` (guided Gatys, as below); for the
        others ``alpha`` (fusion strength), ``weights`` (of several styles), ``keep_layout`` (the photo's light and
        dark put back, in [0, 1]), ``preserve_color`` (the photo's colours kept), for ``"adain"``, ``"wct"``,
        ``"multilevel"`` (and ``"optimize"``) ``masks`` (``[H, W, K]`` at the photo's size, one soft mask per
        style: where each style paints; :func:`gantransfer.pipeline.fusion.region_masks` makes two), and for ``"mosaic"`` the settings of
        :func:`gantransfer.methods.mosaic.generate_mosaic`.
    Returns:
      ``[H'', W'', 3]`` float32 in [0, 1]: the photo's size for ``"optimize"`` (resized to ``size``), else
      the photo cropped to a multiple of :attr:`Method.crop`.
    Raises:
      ValueError: an unknown method or setting, or a bad image; FileNotFoundError: a missing decoder file.
    """
    entry = get(method)
    _check_settings(entry, settings)
    photo = images.check_image_array(content, name="content", batched=False)
    styles = [style] if isinstance(style, np.ndarray) or hasattr(style, "shape") else list(style)
    if not styles:
        raise ValueError("no style image given")
    styles = [images.check_image_array(s, name="style", batched=False) for s in styles]
    if params is None and not entry.per_style:       # a per-style generator needs no VGG16
        params = extractor.load_params()
    if not entry.feedforward:
        masks = settings.pop("masks", None)           # guided Gatys: checked by stylize_iter at the photo's size
        config = optimize.TransferConfig(size=size or max(photo.shape[:2]), **settings)
        image = None
        for report in optimize.stylize_iter(photo, styles, config, params=params, masks=masks):
            image = report.image if report.image is not None else image
            if progress is not None:
                progress(report)
        return image
    if size is not None:
        raise ValueError(f"size is for method='optimize'; give {method} the photo at the size wanted")
    if progress is not None:
        raise ValueError(f"progress is for method='optimize'; {method} is one pass")
    if entry.per_style:
        if decoders is None:
            raise ValueError("method 'gan' paints with one style's generator: pass decoders=load_decoders('gan', "
                             "style=NAME) (its style image is not read)")
        if len(styles) > 1:
            raise ValueError("method 'gan' paints one style (its generator's); got several style images")
    decoders = load_decoders(method) if decoders is None and entry.decoders else decoders
    preserve = settings.pop("preserve_color", False)
    keep = settings.pop("keep_layout", None)
    keep = entry.keep_layout if keep is None else keep
    alpha = settings.pop("alpha", None)
    alpha = entry.alpha if alpha is None else alpha
    weights = settings.pop("weights", None)
    masks = _check_masks(settings.pop("masks", None), photo, len(styles), entry.crop)
    photo = _crop(photo, entry.crop)[None]                                     # [1, H, W, 3]
    if entry.per_style:
        out = style_generator.paint(decoders, photo)
    elif method == "mosaic":
        out = mosaic.generate_mosaic(params, photo, [_crop(s, entry.crop)[None] for s in styles], alpha=alpha,
                                     weights=weights, **settings)
    elif method == "multilevel":
        out = generator.generate_multilevel(params, decoders, photo, [jnp.asarray(s)[None] for s in styles],
                                            alpha=alpha, weights=weights, masks=masks)
    else:
        state, width = decoders
        out = generator.generate(params, state, photo, [jnp.asarray(s)[None] for s in styles], method=entry.fusion,
                                 alpha=alpha, weights=weights, masks=masks, width=width)
    if keep:
        out = color.keep_layout(out, photo, strength=keep)
    if preserve:
        out = color.preserve_color(out, photo)
    return np.asarray(out[0])

