"""Inverting VGG16: content reconstruction and texture synthesis from noise (Gatys et al. 2016, Fig. 1).

Both are the style-transfer objective of :mod:`gantransfer.methods.optimize` with one of its terms switched off:

* **content reconstruction** — start from noise and match only the feature map ``F_l`` of a photo at one
  layer ``l`` (``β = 0``). Shallow layers give the photo back almost exactly; deep layers keep the layout
  and lose the exact pixels (the top row of Gatys et al.'s Fig. 1).
* **texture synthesis** — start from noise and match only the style matrices ``G_l`` of a style image at a
  set of layers (``α = 0``). Few, shallow layers give colour blotches; adding deeper layers brings larger,
  more structured texture (the bottom row of Fig. 1; Gatys, Ecker & Bethge, "Texture Synthesis Using
  Convolutional Neural Networks", NeurIPS 2015).

Both run :func:`gantransfer.methods.optimize.stylize_iter`, so they yield the same :class:`~gantransfer.methods.optimize.Progress`
reports for live display. Taught in ``notebooks/01_content_parsing.ipynb`` (reconstruction) and
``notebooks/02_style_matrix.ipynb`` (synthesis).
"""
from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np

from gantransfer.methods.optimize import Progress, TransferConfig, stylize_iter
from gantransfer.pipeline import extractor

#: Gatys et al.'s Fig. 1 layers, in VGG16's names: the first ReLU of each block.
FIG1_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def _check_steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer; got {steps!r}")
    return int(steps)


def reconstruction_config(
    layer: str, *, size: int, steps: int, optimizer: str = "lbfgs", learning_rate: float = 0.05,
    tv_weight: float = 0.0, report_every: int = 10, seed: int = 0,
) -> TransferConfig:
    """The :class:`TransferConfig` that reconstructs a photo from its features at ``layer`` alone.

    Content weight 1 at ``layer``, style weight 0 (the style layer is set to ``layer`` too, so nothing
    deeper than ``layer`` is computed), noise initialisation, one scale. Every field is set explicitly, so
    the result does not depend on the library's defaults.
    """
    extractor.check_layers((layer,))
    return TransferConfig(
        size=int(size), scales=(int(size),), steps=_check_steps(steps), optimizer=optimizer,
        learning_rate=learning_rate, content_weight=1.0, style_weight=0.0, tv_weight=tv_weight,
        content_layers=(layer,), style_layers=(layer,), style_blend=None, init="noise",
        preserve_color=False, tol=0.0, patience=10, report_every=report_every, seed=seed)


def synthesis_config(
    layers: Sequence[str], *, size: int, steps: int, optimizer: str = "lbfgs", learning_rate: float = 0.05,
    tv_weight: float = 0.0, report_every: int = 10, seed: int = 0, style_scale: float | None = None,
) -> TransferConfig:
    """The :class:`TransferConfig` that synthesises a texture from style matrices at ``layers`` alone.

    Style weight 1 (each layer weighted 1), content weight 0 (its layer is the shallowest style layer, so
    nothing extra is computed), noise initialisation, one scale. ``style_scale``: the style image is seen at this
    fraction of ``size`` (``None``: :class:`TransferConfig`'s default, the output's size up to 256 px); e.g. 2 keeps a
    256 px style at its own scale in a 128 px texture, as notebook 05's texture GAN sees it.
    """
    layers = extractor.in_forward_order(extractor.check_layers(layers, what="style layer"))
    return TransferConfig(
        size=int(size), scales=(int(size),), steps=_check_steps(steps), optimizer=optimizer,
        learning_rate=learning_rate, content_weight=0.0, style_weight=1.0, tv_weight=tv_weight,
        content_layers=(layers[0],), style_layers=layers, style_blend=None, init="noise",
        preserve_color=False, tol=0.0, patience=10, report_every=report_every, seed=seed, style_scale=style_scale)


def reconstruct_content_iter(content, *, layer: str, size: int, steps: int, params=None,
                             should_stop: Callable[[], bool] | None = None, **options) -> Iterator[Progress]:
    """Yield the :class:`Progress` of :func:`reconstruct_content` (for a live view)."""
    config = reconstruction_config(layer, size=size, steps=steps, **options)
    # The photo plays the style image's part too, with weight 0: make_problem needs one.
    yield from stylize_iter(content, content, config, params=params, should_stop=should_stop)


def reconstruct_content(content, *, layer: str, size: int = 128, steps: int = 100, params=None,
                        **options) -> tuple[np.ndarray, list[dict]]:
    """Reconstruct a photo from noise by matching its VGG16 feature map at ``layer`` (Gatys Fig. 1, top).

    Args:
      content: ``[H, W, 3]`` float image in [0, 1].
      layer: a layer of :data:`gantransfer.pipeline.extractor.LAYER_NAMES`, e.g. ``"relu3_1"``.
      size: longest side of the reconstruction in px (>= 32).
      steps: optimisation steps.
      params: VGG16 parameters (loaded once if ``None``).
      **options: ``optimizer`` ("lbfgs" or "adam"), ``learning_rate``, ``tv_weight``, ``report_every``, ``seed``.
    Returns:
      ``(image [h, w, 3] float32 in [0, 1], history)`` with ``history`` a list of
      ``{"step", "content", "style", "tv", "total"}`` dicts, one per report.
    """
    return _run(reconstruct_content_iter(content, layer=layer, size=size, steps=steps, params=params, **options))


def synthesize_texture_iter(style, *, layers: Sequence[str], size: int, steps: int, params=None,
                            should_stop: Callable[[], bool] | None = None, **options) -> Iterator[Progress]:
    """Yield the :class:`Progress` of :func:`synthesize_texture` (for a live view)."""
    config = synthesis_config(layers, size=size, steps=steps, **options)
    # The style image stands in as the 'content' (weight 0): it only sets the output's shape.
    yield from stylize_iter(style, style, config, params=params, should_stop=should_stop)


def synthesize_texture(style, *, layers: Sequence[str], size: int = 128, steps: int = 100, params=None,
                       **options) -> tuple[np.ndarray, list[dict]]:
    """Synthesise a texture from noise whose Gram matrices at ``layers`` match the style image's.

    Args:
      style: ``[H, W, 3]`` float image in [0, 1].
      layers: style layers, e.g. ``("relu1_1", "relu2_1")``.
      size, steps, params, **options: as in :func:`reconstruct_content`.
    Returns:
      ``(image [h, w, 3], history)`` as in :func:`reconstruct_content`.
    References:
      Gatys, Ecker & Bethge, "Texture Synthesis Using Convolutional Neural Networks", NeurIPS 2015.
    """
    return _run(synthesize_texture_iter(style, layers=layers, size=size, steps=steps, params=params, **options))


def _run(reports: Iterator[Progress]) -> tuple[np.ndarray, list[dict]]:
    history, image = [], None
    for report in reports:
        history.append({"step": report.step, **report.losses})
        image = report.image
    return image, history
