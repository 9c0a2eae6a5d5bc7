"""Notebooks 02 and 03's dashboards: texture synthesis from a style matrix, and style transfer by optimisation
(Gatys et al. 2016), each a live run with sliders for weights, layers and steps.

Taught in ``notebooks/02_style_matrix.ipynb`` and ``03_style_transfer.ipynb``.
"""
from __future__ import annotations

from typing import Sequence

import ipywidgets as W

from gantransfer.core import paint, samples
from gantransfer.core.validate import check_count, check_weight
from gantransfer.methods import optimize
from gantransfer.notebook import inversion, plots
from gantransfer.notebook.dashboards.base import (PLACEMENTS, STYLE_LAYER_CHOICES, Runner, checkboxes, dropdown,
                                                   log_slider, ticked)
from gantransfer.pipeline import extractor, fusion


class StyleTransferDashboard(Runner):
    """Gatys style transfer with every knob (notebook 03).

    Controls: content and style images, an optional second style with a blend slider and its placement (blended
    everywhere, or each style in a region of its own: guided Gatys, :mod:`gantransfer.methods.guided`),
    log-scale sliders for the content, style and TV weights (α, β, γ) and the learning rate, a checkbox per style layer,
    the optimiser (Adam or L-BFGS), steps, size, the style's scale, initial image, colour preservation.
    Run/Stop buttons, a live image and live loss curves (content, style, TV).

    Args:
      content, style: names from :data:`gantransfer.core.samples.CONTENT_NAMES` / ``STYLE_NAMES``.
      size: output size (longest side, px); steps: optimisation steps; report_every: refresh period.
      style_weight, content_weight, tv_weight, learning_rate: initial slider values (``None``: the
        defaults of :class:`gantransfer.methods.optimize.TransferConfig`).
      params: VGG16 parameters (loaded on the first run if ``None``).
    Attributes:
      image, history, error: see the module docstring; :meth:`config` is the TransferConfig of the controls;
      content_upload, style_upload: FileUploads for the student's own images (a style goes to both style menus).
    """

    title = "style transfer"

    def __init__(self, *, content: str = samples.DEFAULT_CONTENT, style: str = samples.DEFAULT_STYLE,
                 size: int = 160, steps: int = 60, report_every: int = 5, style_weight: float | None = None,
                 content_weight: float | None = None, tv_weight: float | None = None,
                 learning_rate: float | None = None, params=None, view_width: int = 320):
        super().__init__(params=params, view_width=view_width)
        # Unset weights start at the library's defaults (TransferConfig), so the two never disagree; given
        # ones are checked as the library checks them (a log slider would turn -1 or NaN into its minimum).
        defaults = optimize.TransferConfig()
        style_weight, content_weight, tv_weight, learning_rate = (
            getattr(defaults, name) if value is None else check_weight(value, name, allow_zero=name != "learning_rate")
            for name, value in [("style_weight", style_weight), ("content_weight", content_weight),
                                ("tv_weight", tv_weight), ("learning_rate", learning_rate)])
        self.report_every = check_count(report_every, "report_every")
        self.content = dropdown("content", content, samples.CONTENT_NAMES, "content")
        self.style = dropdown("style", style, paint.STYLE_NAMES, "style")
        self.style2 = W.Dropdown(options=("(none)",) + paint.STYLE_NAMES, value="(none)", description="2nd style")
        self.content_upload = self._upload_button("content", self.content)
        self.style_upload = self._upload_button("style", self.style, self.style2)
        self.blend = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="2nd weight",
                                   tooltip="share of the second style: in the blended style matrix, or of the picture")
        # Gatys et al. 2017's spatial control: the second style paints the right (or bottom) share of the picture.
        self.placement = W.ToggleButtons(options=list(PLACEMENTS.items()), value="mix", description="2 styles",
                                         tooltip="blend the style matrices, or give each style a region (guided Gatys)")
        self.content_weight = log_slider(content_weight, -3, 3, "content α")
        self.style_weight = log_slider(style_weight, -2, 5, "style β")
        self.tv_weight = log_slider(tv_weight, -4, 2, "TV γ")
        self.learning_rate = log_slider(learning_rate, -3, -0.5, "Adam lr")
        layers = extractor.in_forward_order(STYLE_LAYER_CHOICES + tuple(optimize.DEFAULT_STYLE_LAYERS))
        self.style_layers = checkboxes(layers, optimize.DEFAULT_STYLE_LAYERS)
        self.optimizer = W.ToggleButtons(options=[("Adam", "adam"), ("L-BFGS", "lbfgs")], value="adam",
                                         description="optimiser")
        self.steps = W.IntSlider(value=steps, min=1, max=max(400, steps), step=1, description="steps")
        self.size = W.IntSlider(value=size, min=extractor.MIN_SIZE, max=max(512, size), step=16, description="size (px)")
        # Gatys et al. 2017's scale control: the style seen smaller (< 1) paints finer strokes, larger ones bigger.
        self.style_scale = W.FloatSlider(value=defaults.style_scale, min=0.25, max=2.0, step=0.25,
                                         description="style scale",
                                         tooltip="the style image is seen at this fraction of the output's size")
        self.init = W.Dropdown(options=("content", "noise", "style"), value="content", description="start from")
        self.preserve_color = W.Checkbox(value=False, description="preserve the content's colours")
        self.preview = W.Image(format="png", width=int(view_width * 0.6))
        self._observe(self._update_preview, self.content, self.style, self.style2, self.blend)
        self._update_preview()

        weights = W.VBox([W.HTML("<b>Weights</b> (log scale): L = α·L<sub>content</sub> + β·L<sub>style</sub> + γ·TV"),
                          self.content_weight, self.style_weight, self.tv_weight])
        layer_box = W.VBox([W.HTML("<b>Style layers</b> (Gram matrices matched)"),
                            W.GridBox(list(self.style_layers.values()),
                                      layout=W.Layout(grid_template_columns="repeat(5, 95px)"))])
        inputs = W.VBox([W.HTML("<b>Images</b>"), self.content, self.style, self.style2, self.blend, self.placement,
                         W.HBox([self.content_upload, self.style_upload])])
        run = W.VBox([W.HTML("<b>Optimisation</b>"), self.optimizer, self.steps, self.size, self.learning_rate,
                      self.style_scale, self.init, self.preserve_color])
        controls = W.HBox([W.VBox([inputs, self.preview]), W.VBox([weights, layer_box]), run])
        self.widget = W.VBox([controls, self._buttons(), self.status, W.HBox([self.image_view, self.loss_view])])

    def _images(self):
        content = self._image("content", self.content.value)
        styles = [self._image("style", self.style.value)]
        if self.style2.value != "(none)":
            styles.append(self._image("style", self.style2.value))
        return content, styles

    def _update_preview(self, *_):
        content = self._image("content", self.content.value, size=128)
        names = [self.style.value] + ([self.style2.value] if self.style2.value != "(none)" else [])
        styles = [self._image("style", n, size=content.shape[0]) for n in names]
        titles = ["content"] + [f"style{' ' + str(i + 1) if len(names) > 1 else ''}"
                                + (f" ({w:.0%})" if len(names) > 1 else "") for i, w in
                                enumerate([1 - self.blend.value, self.blend.value][:len(names)])]
        fig = plots.show_images([content, *styles], titles=titles, suptitle="inputs", size=1.4)
        self.preview.value = plots.figure_png(fig)

    def config(self) -> optimize.TransferConfig:
        """The :class:`TransferConfig` the controls describe (raises ValueError on impossible settings)."""
        layers = ticked(self.style_layers)
        if not layers:
            raise ValueError("tick at least one style layer")
        blend = None
        if self.style2.value != "(none)" and self.placement.value == "mix":
            blend = (1.0 - self.blend.value, self.blend.value)
        # Only what the controls show is set; everything else (scales, content layer, …) is the library's default.
        return optimize.TransferConfig(
            size=int(self.size.value), steps=int(self.steps.value),
            optimizer=self.optimizer.value, learning_rate=float(self.learning_rate.value),
            content_weight=float(self.content_weight.value), style_weight=float(self.style_weight.value),
            tv_weight=float(self.tv_weight.value), style_layers=layers, style_blend=blend,
            style_scale=float(self.style_scale.value), init=self.init.value,
            preserve_color=bool(self.preserve_color.value), report_every=self.report_every)

    def masks(self, shape: tuple[int, int]):
        """``[H, W, 2]`` region masks when two styles are placed by region (guided Gatys), else ``None``."""
        if self.style2.value == "(none)" or self.placement.value == "mix":
            return None
        return fusion.region_masks(*shape, share=float(self.blend.value), direction=self.placement.value)

    def _start(self):
        config = self.config()
        content, styles = self._images()
        reports = optimize.stylize_iter(content, styles, config, params=self.params, should_stop=self.should_stop,
                                        masks=self.masks(content.shape[:2]))
        return reports, sum(config.scale_steps)


class TextureDashboard(Runner):
    """Texture synthesis from the Gram matrices of a chosen set of layers (notebook 02).

    Ticking layers picks the set; if a result for this style and set is already known (``cache``, e.g.
    the notebook's grid), it is shown at once, else press Run to synthesise it from noise.

    Args:
      style: a name from :data:`gantransfer.core.paint.STYLE_NAMES`.
      layers: the initially ticked layers.
      size, steps, report_every: of the synthesis.
      cache: ``{(style, layers): image}`` of results already computed.
    Attributes:
      style_upload: a FileUpload for a style image of the student's own (see the module docstring).
    """

    loss_keys = ("style", "tv")
    title = "texture synthesis"

    def __init__(self, *, style: str = samples.DEFAULT_STYLE, layers: Sequence[str] = inversion.FIG1_LAYERS[:3],
                 size: int = 128, steps: int = 100, report_every: int = 10, learning_rate: float = 0.05,
                 cache: dict | None = None, params=None, view_width: int = 256):
        super().__init__(params=params, view_width=view_width)
        self.report_every = check_count(report_every, "report_every")
        self.learning_rate = check_weight(learning_rate, "learning_rate", allow_zero=False)
        self.cache = dict(cache or {})
        self.style = dropdown("style", style, paint.STYLE_NAMES, "style")
        self.style_upload = self._upload_button("style", self.style)
        # Unknown layer names are an error (as in FeatureMapBrowser); a known one without a checkbox gets one.
        layers = extractor.check_layers(layers) if layers else ()
        choices = inversion.FIG1_LAYERS + ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")
        self.layers = checkboxes(choices + tuple(n for n in layers if n not in choices), layers)
        self.size = W.IntSlider(value=size, min=extractor.MIN_SIZE, max=max(256, size), step=16, description="size (px)")
        self.steps = W.IntSlider(value=steps, min=1, max=max(300, steps), description="steps")
        self.style_view = W.Image(format="png", width=view_width)
        self._observe(self._on_change, self.style, *self.layers.values())
        grid = W.GridBox(list(self.layers.values()), layout=W.Layout(grid_template_columns="repeat(5, 95px)"))
        self.widget = W.VBox([
            W.HBox([self.style, self.style_upload, self.size, self.steps]),
            W.HTML("<b>Layers whose Gram matrices are matched</b>"), grid,
            self._buttons(), self.status,
            W.HBox([W.VBox([W.HTML("style image"), self.style_view]),
                    W.VBox([W.HTML("synthesised texture"), self.image_view]), self.loss_view])])
        self._on_change()

    def key(self) -> tuple[str, tuple[str, ...]]:
        """The cache key of the current settings: ``(style, layers in forward order)``."""
        return self.style.value, extractor.in_forward_order(ticked(self.layers))

    def _on_change(self, *_):
        self.style_view.value = plots.image_png(self._image("style", self.style.value, size=self.size.value))
        if self.running:
            return
        key = self.key()
        if key in self.cache:
            self.image = self.cache[key]
            self.image_view.value = plots.image_png(self.image)
            self.status.value = f"Shown from the grid above: {', '.join(key[1])}."
        else:
            self.status.value = "Press <b>Run</b> to synthesise a texture from these layers."

    def _start(self):
        style_name, layers = self.key()
        if not layers:
            raise ValueError("tick at least one layer")
        style = self._image("style", style_name)
        reports = inversion.synthesize_texture_iter(
            style, layers=layers, size=int(self.size.value), steps=int(self.steps.value), params=self.params,
            should_stop=self.should_stop, optimizer="adam", learning_rate=self.learning_rate,
            report_every=self.report_every)
        self._running_key = (style_name, layers)
        return reports, int(self.steps.value)

    def _finished(self):
        if self.image is not None and not self._stop.is_set():
            self.cache[self._running_key] = self.image
