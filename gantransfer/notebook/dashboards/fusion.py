"""Notebook 04's dashboards: fusion in feature space (AdaIN, WCT) through the shipped decoder, and the style
mosaic, with live controls.

Taught in ``notebooks/04_fusion.ipynb`` (the fusion dashboard) and ``notebooks/04b_multilevel_and_mosaic.ipynb`` (the mosaic's).
"""
from __future__ import annotations

import time

import ipywidgets as W
import jax
import jax.numpy as jnp
import numpy as np

from gantransfer.core import paint, samples
from gantransfer.core.validate import check_weight
from gantransfer.methods import mosaic, registry
from gantransfer.notebook import plots
from gantransfer.notebook.dashboards.base import PLACEMENTS, ControlValue, Dashboard, crop8, dropdown
from gantransfer.pipeline import extractor, fusion, generator


class FusionDashboard(Dashboard):
    """Feed-forward fusion ``I_s = G(I_c, S)`` with live sliders (notebook 04).

    The content and style images are encoded once (VGG16 to ``relu4_1``) and their features cached, and so
    is each style's full fusion ``T_k = fusion.fuse(f(I_c), [f(S_k)], method)`` (WCT's eigendecompositions
    of 512×512 covariances take seconds on a CPU). Since ``fusion.fuse`` with ``alpha`` and style weights
    ``w`` is ``α·Σ_k w_k T_k + (1 − α)·f(I_c)``, moving the ``alpha`` or style-mix slider only blends and
    runs the decoder (:func:`gantransfer.pipeline.generator.decode`): one jit-compiled call, milliseconds.

    Args:
      decoder_params: decoder parameters (``nnx.State``), e.g. from :func:`gantransfer.pipeline.decoder_file.load_decoder`.
      width: the decoder's width multiplier.
      content, style, style2: bundled names; ``style2="(none)"`` for a single style (the FileUploads
        ``content_upload`` and ``style_upload`` add the student's own images).
      size: content size (longest side, px; cropped to a multiple of 8).
      method: ``"adain"`` or ``"wct"``; alpha: content–style trade-off; mix: share of ``style2``.
      placement: with two styles, ``"mix"`` blends them everywhere; ``"vertical"`` (left | right) and
        ``"horizontal"`` (top / bottom) give each a region (:func:`gantransfer.pipeline.fusion.region_masks`,
        ``mix`` = the second style's share of the picture): Huang & Belongie 2017's spatial control.
      params: VGG16 parameters (loaded if ``None``).
    Attributes:
      image: the current ``[H, W, 3]`` numpy output; alpha, mix, method, placement: the current settings;
      seconds: wall time of the last fusion + decoding; renders: how many images were made;
      encodes: how many images were encoded (changes only with the content or a style);
      history: one ``{"alpha", "mix", "method", "placement", "seconds"}`` dict per render; error: the last error
        message.
    """

    def __init__(self, decoder_params, *, width: float = 1.0, content: str = samples.DEFAULT_CONTENT,
                 style: str = samples.DEFAULT_STYLE, style2: str = "(none)", size: int = 128,
                 method: str = "adain", alpha: float = 1.0, mix: float = 0.5, placement: str = "mix", params=None,
                 view_width: int = 256):


        super().__init__()
        if method not in fusion.FUSIONS:
            raise ValueError(f"method must be one of {sorted(fusion.FUSIONS)}; got {method!r}")
        if placement not in PLACEMENTS.values():
            raise ValueError(f"placement must be one of {sorted(PLACEMENTS.values())}; got {placement!r}")
        if int(size) < extractor.MIN_SIZE:
            raise ValueError(f"size must be >= {extractor.MIN_SIZE}; got {size}")
        self.params = params if params is not None else extractor.load_params()
        self.decoder_params, self.width, self.size = decoder_params, float(width), int(size)
        self.image: np.ndarray | None = None
        self.history: list[dict] = []
        self.seconds = float("nan")
        self.renders = self.encodes = 0
        self._features: dict[tuple[str, str], object] = {}
        self._fused: dict[tuple[str, str, str], object] = {}

        def render(decoder_params, content, fused, alpha, weights, *, width):
            # fuse(content, styles, alpha, weights) = α·Σ_k w_k T_k(content) + (1 − α)·content, with T_k the
            # AdaIN or WCT of style k: the T_k are cached, so a slider only costs this blend and the decoder.
            blended = fusion.mix(content, fused, weights=weights, alpha=alpha)  # [1, h, w, 512]
            return jax.numpy.clip(generator.decode(decoder_params, blended, width=width), 0.0, 1.0)

        def render_masked(decoder_params, content, fused, alpha, masks, *, width):
            # each style in its region: α·Σ_k M_k(p) T_k(p) + (1 − α)·c(p), then the decoder
            blended = fusion.mix_by_masks(content, fused, masks, alpha=alpha)    # [1, h, w, 512]
            return jax.numpy.clip(generator.decode(decoder_params, blended, width=width), 0.0, 1.0)

        self._render = jax.jit(render, static_argnames=("width",))
        self._render_masked = jax.jit(render_masked, static_argnames=("width",))
        self._fusion = jax.jit(fusion.fuse, static_argnames=("method",))
        self._encode = jax.jit(generator.encode)

        self.content = dropdown("content", content, samples.CONTENT_NAMES, "content")
        self.style = dropdown("style", style, paint.STYLE_NAMES, "style")
        self.style2 = dropdown("style2", style2, ("(none)",) + paint.STYLE_NAMES, "2nd style")
        self.content_upload = self._upload_button("content", self.content)
        self.style_upload = self._upload_button("style", self.style, self.style2)
        self.alpha_slider = W.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05, description="alpha α",
                                          tooltip="0: the content's features; 1: fully fused")
        self.mix_slider = W.FloatSlider(value=mix, min=0.0, max=1.0, step=0.05, description="style mix",
                                        tooltip="share of the second style in the fused features")
        self.method_toggle = W.ToggleButtons(options=[("AdaIN", "adain"), ("WCT", "wct")], value=method,
                                             description="fusion")
        self.placement_toggle = W.ToggleButtons(options=list(PLACEMENTS.items()), value=placement,
                                                description="2 styles", tooltip="mixed everywhere, or each in a region")
        self.image_view = W.Image(format="png", width=view_width)
        self.inputs_view = W.Image(format="png", width=int(view_width * 1.5))
        self._observe(self._on_images, self.content, self.style, self.style2)
        self._observe(self.update, self.alpha_slider, self.mix_slider, self.method_toggle, self.placement_toggle)
        controls = W.VBox([self.content, self.style, self.style2, W.HBox([self.content_upload, self.style_upload]),
                           self.mix_slider, self.placement_toggle, self.alpha_slider, self.method_toggle])
        self.widget = W.VBox([W.HBox([controls, self.inputs_view]), self.status,
                              W.HBox([W.VBox([W.HTML("<b>I<sub>s</sub> = G(I<sub>c</sub>, S)</b>"), self.image_view])])])
        self._on_images()

    # -- settings as plain attributes -------------------------------------------------------------
    alpha = ControlValue("alpha_slider", float)
    mix = ControlValue("mix_slider", float)
    method = ControlValue("method_toggle", str)
    placement = ControlValue("placement_toggle", str)

    # -- computation ----------------------------------------------------------------------------
    def features(self, kind: str, name: str):
        """The cached ``relu4_1`` features ``[1, h, w, 512]`` of a bundled or uploaded image (encoded on first use)."""
        key = (kind, name)
        if key not in self._features:
            image = crop8(self._image(kind, name, size=self.size))
            self._features[key] = self._encode(self.params, np.asarray(image, np.float32)[None])
            self.encodes += 1
        return self._features[key]

    def fused(self, method: str, content: str, style: str):
        """The cached fully fused features ``fusion.fuse(content, [style], method=method)`` (``alpha = 1``)."""
        key = (method, content, style)
        if key not in self._fused:
            self._fused[key] = self._fusion(self.features("content", content), [self.features("style", style)],
                                            method=method)
        return self._fused[key]

    def _on_images(self, *_):
        names = [self.style.value] + ([self.style2.value] if self.style2.value != "(none)" else [])
        self.mix_slider.disabled = self.placement_toggle.disabled = len(names) == 1
        content = crop8(self._image("content", self.content.value, size=self.size))
        styles = [self._image("style", n, size=self.size) for n in names]
        fig = plots.show_images([content, *styles], titles=["content I_c"] + [f"style: {n}" for n in names],
                                suptitle="inputs", size=1.6)
        self.inputs_view.value = plots.figure_png(fig)
        self.update()

    def update(self, *_) -> np.ndarray | None:
        """Fuse the cached features with the current settings and decode them; returns the image.

        A failure (bad settings, a decoder whose output is not finite, …) is shown in ``status`` and
        ``error``, keeps the last good image, and returns ``None``.
        """


        self.error = None
        try:
            # The jit-compiled blend cannot check values (NaN would slip through as a NaN image): check here.
            alpha = check_weight(self.alpha, "alpha")
            content = self.features("content", self.content.value)
            names = [self.style.value] + ([self.style2.value] if self.style2.value != "(none)" else [])
            mix = check_weight(self.mix, "style mix") if len(names) > 1 else 0.0
            weights = np.array([1.0] if len(names) == 1 else [1.0 - mix, mix], np.float32)
            start = time.perf_counter()
            fused = jnp.stack([self.fused(self.method, self.content.value, n) for n in names])  # [K, 1, h, w, c]
            placement = self.placement if len(names) > 1 else "mix"
            if placement == "mix":
                out = self._render(self.decoder_params, content, fused, np.float32(alpha), weights,
                                   width=self.width)
            else:                                     # the second style's region: `mix` of the picture
                masks = fusion.region_masks(content.shape[1], content.shape[2], share=mix, direction=placement,
                                            softness=0.1)
                out = self._render_masked(self.decoder_params, content, fused, np.float32(alpha), masks,
                                          width=self.width)
            image = np.asarray(out[0])                                            # waits for the result
            if not np.isfinite(image).all():
                raise FloatingPointError("the decoder's output is not finite (NaN or inf): are the decoder's "
                                         "parameters finite?")
            self.image, self.seconds = image, time.perf_counter() - start
        except Exception as err:
            self._fail(err)
            return None
        self.renders += 1
        self.history.append({"alpha": alpha, "mix": mix, "method": self.method, "placement": placement,
                             "seconds": self.seconds})
        self.image_view.value = plots.image_png(self.image)
        name = "AdaIN" if self.method == "adain" else "WCT"
        where = {"mix": "mixed", "vertical": "on the right", "horizontal": "at the bottom"}[placement]
        self.status.value = (f"{name}, α = {alpha:.2f}" + (f", 2nd style {mix:.0%} {where}" if len(names) > 1 else "")
                             + f": fusion + decoder in {self.seconds * 1000:.0f} ms "
                             f"(render {self.renders}; images encoded: {self.encodes})")
        return self.image


class MosaicDashboard(Dashboard):
    """The style mosaic (:func:`gantransfer.methods.mosaic.generate_mosaic`) with its ingredients as controls (notebook 04b).

    The guide's weight is a traced argument of the compiled mosaic, so moving its slider does not recompile;
    switching balancing on or off compiles once per setting. The style is seen at
    :data:`gantransfer.methods.mosaic.STYLE_SCALE` × the photo's size, as ``gantransfer stylize --method mosaic`` sees it.

    Args:
      content, style: bundled names (the FileUploads ``content_upload`` and ``style_upload`` add the student's own).
      size: the photo's longest side (px; cropped to a multiple of 8).
      guide: the luminance guide's weight; balanced: Sinkhorn-balanced use of the style's patches (else the
        nearest patch); keep_layout: strength of the photo's layout put back (:func:`gantransfer.methods.color.keep_layout`).
      params: VGG16 parameters (loaded if ``None``).
    Attributes:
      image: the current ``[H, W, 3]`` numpy picture; guide, balanced, keep_layout: the current settings;
      seconds: wall time of the last mosaic; renders: pictures made; history: one ``{"guide", "balanced",
      "keep_layout", "seconds"}`` dict per picture; error: the last error message.
    """

    def __init__(self, *, content: str = samples.DEFAULT_CONTENT, style: str = samples.DEFAULT_STYLE,
                 size: int = 256, guide: float | None = None, balanced: bool = True, keep_layout: float = 1.0,
                 params=None, view_width: int = 320):

        super().__init__()
        if int(size) < 2 * extractor.MIN_SIZE:
            raise ValueError(f"size must be >= {2 * extractor.MIN_SIZE} (the style is seen at half of it); got {size}")
        self.params = params if params is not None else extractor.load_params()
        self.size = int(size)
        self.image: np.ndarray | None = None
        self.history: list[dict] = []
        self.seconds = float("nan")
        self.renders = 0
        guide = mosaic.GUIDE_WEIGHT if guide is None else guide
        self.content = dropdown("content", content, samples.CONTENT_NAMES, "content")
        self.style = dropdown("style", style, paint.STYLE_NAMES, "style")
        self.content_upload = self._upload_button("content", self.content)
        self.style_upload = self._upload_button("style", self.style)
        self.guide_slider = W.FloatSlider(value=guide, min=0.0, max=2.0, step=0.1, description="guide λ",
                                          tooltip="weight of the photo's light and dark in the choice of patches")
        self.balance_box = W.Checkbox(value=balanced, description="balanced use of the style's patches")
        self.layout_slider = W.FloatSlider(value=keep_layout, min=0.0, max=1.0, step=0.1, description="layout",
                                           tooltip="the photo's blurred light and dark put back (0: off)")
        self.image_view = W.Image(format="png", width=view_width)
        self._observe(self.update, self.content, self.style, self.guide_slider, self.balance_box, self.layout_slider)
        controls = W.VBox([self.content, self.style, W.HBox([self.content_upload, self.style_upload]),
                           self.guide_slider, self.balance_box, self.layout_slider])
        self.widget = W.VBox([controls, self.status, self.image_view])
        self.update()

    guide = ControlValue("guide_slider", float)
    balanced = ControlValue("balance_box", bool)
    keep_layout = ControlValue("layout_slider", float)

    def update(self, *_) -> np.ndarray | None:
        """Paint the mosaic with the current settings; returns the picture (``None`` on an error, shown in
        ``status``, the last good picture kept)."""

        self.error = None
        try:
            photo = self._image("content", self.content.value, size=self.size)
            style = self._image("style", self.style.value, size=registry.style_side("mosaic", self.size))
            start = time.perf_counter()
            picture = registry.stylize(photo, style, method="mosaic", params=self.params, keep_layout=self.keep_layout,
                                       guide=self.guide,
                                       balance_iterations=mosaic.BALANCE_ITERATIONS if self.balanced else 0)
            self.image, self.seconds = np.asarray(picture), time.perf_counter() - start
        except Exception as err:
            self._fail(err)
            return None
        self.renders += 1
        self.history.append({"guide": self.guide, "balanced": self.balanced, "keep_layout": self.keep_layout,
                             "seconds": self.seconds})
        self.image_view.value = plots.image_png(self.image)
        self.status.value = (f"guide {self.guide:.1f}, {'balanced' if self.balanced else 'nearest patch'}, layout "
                             f"{self.keep_layout:.1f}: {self.seconds:.2f} s (render {self.renders})")
        return self.image
