"""The notebooks' ipywidgets dashboards: controls → computation → live image and loss curves.

* :class:`FeatureMapBrowser` (notebook 01): a photo's VGG16 feature maps, by layer and page of channels.
* :class:`TextureDashboard` (notebook 02): texture synthesis from the Gram matrices of a chosen layer set.
* :class:`StyleTransferDashboard` (notebook 03): the full Gatys transfer with every knob of
  :class:`gantransfer.optimize.TransferConfig`, a live image, live loss curves and a stop button.

Every dashboard keeps its state in plain attributes, so it can be driven and inspected without a browser
(the tests do): ``dash.image`` (the current ``[H, W, 3]`` numpy image), ``dash.history`` (one loss dict
per report), ``dash.error`` (the last error message, shown in the dashboard instead of a traceback).
Runs happen in a background thread when the Run button is pressed (so the Stop button stays live);
``dash.run(block=True)`` runs in the caller's thread instead. Show a dashboard with ``display(dash)``
or by making it a cell's last expression.
"""
from __future__ import annotations

import threading
from typing import Iterator, Sequence

import ipywidgets as W
import numpy as np

from . import extractor, inversion, optimize, plots, samples

#: The style layers offered as checkboxes: the first and last ReLU of every block.
STYLE_LAYER_CHOICES: tuple[str, ...] = ("relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_3",
                                        "relu4_1", "relu4_3", "relu5_1", "relu5_3")


def _checkboxes(names: Sequence[str], checked: Sequence[str]) -> dict[str, W.Checkbox]:
    return {n: W.Checkbox(value=n in checked, description=n, indent=False, layout=W.Layout(width="90px"))
            for n in names}


def _log_slider(value: float, lo: float, hi: float, description: str) -> W.FloatLogSlider:
    """A base-10 log slider over ``[10**lo, 10**hi]``, widened to include ``value`` (0 shows as ``10**lo``)."""
    if value > 0:
        exponent = float(np.log10(value))
        lo, hi = min(lo, np.floor(exponent)), max(hi, np.ceil(exponent))
    return W.FloatLogSlider(value=value if value > 0 else 10.0 ** lo, min=lo, max=hi, base=10, step=0.1,
                            readout_format=".2g", continuous_update=False, description=description,
                            style={"description_width": "80px"})


def _ticked(boxes: dict[str, W.Checkbox]) -> tuple[str, ...]:
    return tuple(n for n, b in boxes.items() if b.value)


class _Runner:
    """Run/Stop buttons, a progress bar, a status line, a live image and live loss curves around a
    generator of :class:`gantransfer.optimize.Progress` reports (subclasses supply :meth:`_start`)."""

    loss_keys: tuple[str, ...] = ("content", "style", "tv")
    title = "result"

    def __init__(self, *, params=None, view_width: int = 320):
        self.params = params
        self.image: np.ndarray | None = None
        self.history: list[dict] = []
        self.error: str | None = None
        self.running = False
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.run_button = W.Button(description="Run", button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.progress = W.IntProgress(value=0, min=0, max=1, description="steps", layout=W.Layout(width="300px"))
        self.status = W.HTML(value="Press <b>Run</b>.")
        self.image_view = W.Image(format="png", width=view_width)
        self.loss_view = W.Image(format="png", width=int(view_width * 1.3))
        self.run_button.on_click(lambda _: self.run(block=False))
        self.stop_button.on_click(lambda _: self.stop())

    # -- what subclasses provide ----------------------------------------------------------------
    def _start(self) -> tuple[Iterator[optimize.Progress], int]:
        """Validate the controls and return ``(reports, total_steps)``; raise ValueError on bad settings."""
        raise NotImplementedError

    def _finished(self) -> None:
        """Hook called after a successful run."""

    # -- running --------------------------------------------------------------------------------
    def run(self, *, block: bool = True) -> bool:
        """Start a run with the current settings. Returns False if it could not start (see ``error``).

        Args:
          block: run in this thread and return when done (tests, scripts); ``False`` runs in a
            background thread so that the Stop button keeps working (the Run button does this).
        """
        if self.running:
            self.status.value = "Already running: press <b>Stop</b> first."
            return False
        self.error = None
        try:
            if self.params is None:
                self.status.value = "Loading VGG16…"
                self.params = extractor.load_params()
            reports, total = self._start()
        except Exception as err:  # bad settings: show the message, keep the dashboard alive
            self._fail(err)
            return False
        self._stop.clear()
        self.running = True
        self.runs += 1
        self.history = []
        self.progress.max, self.progress.value = max(1, total), 0
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.status.value = "Compiling and running…"
        if block:
            self._loop(reports)
        else:
            self._thread = threading.Thread(target=self._loop, args=(reports,), daemon=True)
            self._thread.start()
        return True

    def stop(self) -> None:
        """Ask the running optimisation to stop after its current step (it still reports its image)."""
        self._stop.set()
        if self.running:
            self.status.value = "Stopping…"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background run to end; True if it has."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def _loop(self, reports: Iterator[optimize.Progress]) -> None:
        try:
            last = None
            for report in reports:
                last = report
                self._show(report)
            if last is not None:
                stopped = self._stop.is_set()
                self.status.value = (f"{'Stopped' if stopped else 'Done'} after {last.step} steps in "
                                     f"{last.seconds:.1f} s. {self._describe(last)}")
            self._finished()
        except Exception as err:
            self._fail(err)
        finally:
            self.running = False
            self.run_button.disabled, self.stop_button.disabled = False, True

    def _describe(self, report: optimize.Progress) -> str:
        return " · ".join(f"{k} {report.losses[k]:.3g}" for k in self.loss_keys if k in report.losses)

    def _show(self, report: optimize.Progress) -> None:
        self.image = np.asarray(report.image)
        if self.history and self.history[-1]["step"] == report.step:
            self.history.pop()  # the final report repeats the last step's losses
        self.history.append({"step": report.step, "seconds": report.seconds, "scale": report.scale, **report.losses})
        self.progress.value = min(report.step, self.progress.max)
        self.image_view.value = plots.image_png(self.image)
        fig = plots.loss_curves(self.history, keys=self.loss_keys, title=f"{self.title}: losses (log scale)")
        self.loss_view.value = plots.figure_png(fig)
        if not report.done:
            self.status.value = f"step {report.step}/{self.progress.max} · {report.seconds:.1f} s · {self._describe(report)}"

    def _fail(self, err: Exception) -> None:
        self.error = f"{type(err).__name__}: {err}" if not isinstance(err, ValueError) else str(err)
        self.status.value = f"<span style='color:#b00'>⚠ {self.error}</span>"

    def _buttons(self) -> W.HBox:
        return W.HBox([self.run_button, self.stop_button, self.progress])

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


# ---------------------------------------------------------------------------------------------------

class StyleTransferDashboard(_Runner):
    """Gatys style transfer with every knob (notebook 03).

    Controls: content and style images, an optional second style with a blend slider, log-scale sliders
    for the content, style and TV weights (α, β, γ) and the learning rate, a checkbox per style layer,
    the optimiser (Adam or L-BFGS), steps, size, initial image, colour preservation. Run/Stop buttons,
    a live image and live loss curves (content, style, TV).

    Args:
      content, style: names from :data:`gantransfer.samples.CONTENT_NAMES` / ``STYLE_NAMES``.
      size: output size (longest side, px); steps: optimisation steps; report_every: refresh period.
      style_weight, content_weight, tv_weight, learning_rate: initial slider values (``None``: the
        defaults of :class:`gantransfer.optimize.TransferConfig`).
      params: VGG16 parameters (loaded on the first run if ``None``).
    Attributes:
      image, history, error: see the module docstring; :meth:`config` is the TransferConfig of the controls.
    """

    title = "style transfer"

    def __init__(self, *, content: str = samples.DEFAULT_CONTENT, style: str = samples.DEFAULT_STYLE,
                 size: int = 160, steps: int = 60, report_every: int = 5, style_weight: float | None = None,
                 content_weight: float | None = None, tv_weight: float | None = None,
                 learning_rate: float | None = None, params=None, view_width: int = 320):
        super().__init__(params=params, view_width=view_width)
        # Unset weights start at the library's defaults (TransferConfig), so the two never disagree.
        defaults = optimize.TransferConfig()
        style_weight = defaults.style_weight if style_weight is None else style_weight
        content_weight = defaults.content_weight if content_weight is None else content_weight
        tv_weight = defaults.tv_weight if tv_weight is None else tv_weight
        learning_rate = defaults.learning_rate if learning_rate is None else learning_rate
        if not isinstance(report_every, int) or report_every < 1:
            raise ValueError(f"report_every must be a positive integer; got {report_every!r}")
        self.report_every = report_every
        self.content = W.Dropdown(options=samples.CONTENT_NAMES, value=content, description="content")
        self.style = W.Dropdown(options=samples.STYLE_NAMES, value=style, description="style")
        self.style2 = W.Dropdown(options=("(none)",) + samples.STYLE_NAMES, value="(none)", description="2nd style")
        self.blend = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="2nd weight",
                                   tooltip="share of the second style in the blended style matrix")
        self.content_weight = _log_slider(content_weight, -3, 3, "content α")
        self.style_weight = _log_slider(style_weight, -2, 5, "style β")
        self.tv_weight = _log_slider(tv_weight, -4, 2, "TV γ")
        self.learning_rate = _log_slider(learning_rate, -3, -0.5, "Adam lr")
        layers = extractor.in_forward_order(STYLE_LAYER_CHOICES + tuple(optimize.DEFAULT_STYLE_LAYERS))
        self.style_layers = _checkboxes(layers, optimize.DEFAULT_STYLE_LAYERS)
        self.optimizer = W.ToggleButtons(options=[("Adam", "adam"), ("L-BFGS", "lbfgs")], value="adam",
                                         description="optimiser")
        self.steps = W.IntSlider(value=steps, min=1, max=max(400, steps), step=1, description="steps")
        self.size = W.IntSlider(value=size, min=extractor.MIN_SIZE, max=max(512, size), step=16, description="size (px)")
        self.init = W.Dropdown(options=("content", "noise", "style"), value="content", description="start from")
        self.preserve_color = W.Checkbox(value=False, description="preserve the content's colours")
        self.preview = W.Image(format="png", width=int(view_width * 0.6))
        for w in (self.content, self.style, self.style2, self.blend):
            w.observe(self._update_preview, names="value")
        self._update_preview()

        weights = W.VBox([W.HTML("<b>Weights</b> (log scale): L = α·L<sub>content</sub> + β·L<sub>style</sub> + γ·TV"),
                          self.content_weight, self.style_weight, self.tv_weight])
        layer_box = W.VBox([W.HTML("<b>Style layers</b> (Gram matrices matched)"),
                            W.GridBox(list(self.style_layers.values()),
                                      layout=W.Layout(grid_template_columns="repeat(5, 95px)"))])
        images = W.VBox([W.HTML("<b>Images</b>"), self.content, self.style, self.style2, self.blend])
        run = W.VBox([W.HTML("<b>Optimisation</b>"), self.optimizer, self.steps, self.size, self.learning_rate,
                      self.init, self.preserve_color])
        controls = W.HBox([W.VBox([images, self.preview]), W.VBox([weights, layer_box]), run])
        self.widget = W.VBox([controls, self._buttons(), self.status, W.HBox([self.image_view, self.loss_view])])

    def _images(self):
        content = samples.content_image(self.content.value)
        styles = [samples.style_image(self.style.value)]
        if self.style2.value != "(none)":
            styles.append(samples.style_image(self.style2.value))
        return content, styles

    def _update_preview(self, *_):
        content = samples.content_image(self.content.value, size=128)
        names = [self.style.value] + ([self.style2.value] if self.style2.value != "(none)" else [])
        styles = [samples.style_image(n, size=content.shape[0]) for n in names]
        titles = ["content"] + [f"style{' ' + str(i + 1) if len(names) > 1 else ''}"
                                + (f" ({w:.0%})" if len(names) > 1 else "") for i, w in
                                enumerate([1 - self.blend.value, self.blend.value][:len(names)])]
        fig = plots.show_images([content, *styles], titles=titles, suptitle="inputs", size=1.4)
        self.preview.value = plots.figure_png(fig)

    def config(self) -> optimize.TransferConfig:
        """The :class:`TransferConfig` the controls describe (raises ValueError on impossible settings)."""
        layers = _ticked(self.style_layers)
        if not layers:
            raise ValueError("tick at least one style layer")
        blend = None
        if self.style2.value != "(none)":
            blend = (1.0 - self.blend.value, self.blend.value)
        # Only what the controls show is set; everything else (scales, content layer, …) is the library's default.
        return optimize.TransferConfig(
            size=int(self.size.value), steps=int(self.steps.value),
            optimizer=self.optimizer.value, learning_rate=float(self.learning_rate.value),
            content_weight=float(self.content_weight.value), style_weight=float(self.style_weight.value),
            tv_weight=float(self.tv_weight.value), style_layers=layers, style_blend=blend, init=self.init.value,
            preserve_color=bool(self.preserve_color.value), report_every=self._report_every())

    def _report_every(self) -> int:
        # An L-BFGS step evaluates the network several times (line search), and its steps run in compiled
        # chunks of report_every: report twice as often so the first image and Stop come as soon as Adam's.
        if self.optimizer.value == "lbfgs":
            return max(1, self.report_every // 2)
        return self.report_every

    def _start(self):
        config = self.config()
        content, styles = self._images()
        reports = optimize.stylize_iter(content, styles, config, params=self.params, should_stop=self.should_stop)
        return reports, sum(config.scale_steps)


# ---------------------------------------------------------------------------------------------------

class TextureDashboard(_Runner):
    """Texture synthesis from the Gram matrices of a chosen set of layers (notebook 02).

    Ticking layers picks the set; if a result for this style and set is already known (``cache``, e.g.
    the notebook's grid), it is shown at once, else press Run to synthesise it from noise.

    Args:
      style: a name from :data:`gantransfer.samples.STYLE_NAMES`.
      layers: the initially ticked layers.
      size, steps, report_every: of the synthesis.
      cache: ``{(style, layers): image}`` of results already computed.
    """

    loss_keys = ("style", "tv")
    title = "texture synthesis"

    def __init__(self, *, style: str = samples.DEFAULT_STYLE, layers: Sequence[str] = inversion.FIG1_LAYERS[:3],
                 size: int = 128, steps: int = 100, report_every: int = 10, learning_rate: float = 0.05,
                 cache: dict | None = None, params=None, view_width: int = 256):
        super().__init__(params=params, view_width=view_width)
        self.report_every = report_every
        self.learning_rate = learning_rate
        self.cache = dict(cache or {})
        self.style = W.Dropdown(options=samples.STYLE_NAMES, value=style, description="style")
        self.layers = _checkboxes(inversion.FIG1_LAYERS + ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"),
                                  layers)
        self.size = W.IntSlider(value=size, min=extractor.MIN_SIZE, max=max(256, size), step=16, description="size (px)")
        self.steps = W.IntSlider(value=steps, min=1, max=max(300, steps), description="steps")
        self.style_view = W.Image(format="png", width=view_width)
        for w in [self.style, *self.layers.values()]:
            w.observe(self._on_change, names="value")
        grid = W.GridBox(list(self.layers.values()), layout=W.Layout(grid_template_columns="repeat(5, 95px)"))
        self.widget = W.VBox([
            W.HBox([self.style, self.size, self.steps]),
            W.HTML("<b>Layers whose Gram matrices are matched</b>"), grid,
            self._buttons(), self.status,
            W.HBox([W.VBox([W.HTML("style image"), self.style_view]),
                    W.VBox([W.HTML("synthesised texture"), self.image_view]), self.loss_view])])
        self._on_change()

    def key(self) -> tuple[str, tuple[str, ...]]:
        """The cache key of the current settings: ``(style, layers in forward order)``."""
        return self.style.value, extractor.in_forward_order(_ticked(self.layers))

    def _on_change(self, *_):
        self.style_view.value = plots.image_png(samples.style_image(self.style.value, size=self.size.value))
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
        style = samples.style_image(style_name)
        reports = inversion.synthesize_texture_iter(
            style, layers=layers, size=int(self.size.value), steps=int(self.steps.value), params=self.params,
            should_stop=self.should_stop, optimizer="adam", learning_rate=self.learning_rate,
            report_every=self.report_every)
        self._running_key = (style_name, layers)
        return reports, int(self.steps.value)

    def _finished(self):
        if self.image is not None and not self._stop.is_set():
            self.cache[self._running_key] = self.image


# ---------------------------------------------------------------------------------------------------

class FeatureMapBrowser:
    """Browse a photo's VGG16 feature maps: pick a layer and a page of channels (notebook 01).

    Args:
      content: a name from :data:`gantransfer.samples.CONTENT_NAMES`.
      size: the photo's longest side in px.
      layers: the layers offered (all ReLUs and poolings by default).
      per_page: channels per page.
    Attributes:
      features: ``{layer: [h, w, c]}`` of the current photo; channels: the channels on show;
      png: the current figure as PNG bytes.
    """

    def __init__(self, *, content: str = samples.DEFAULT_CONTENT, size: int = 160,
                 layers: Sequence[str] | None = None, per_page: int = 16, params=None, view_width: int = 900):
        self.params = params if params is not None else extractor.load_params()
        names = tuple(layers) if layers is not None else tuple(
            n for n in extractor.LAYER_NAMES if n.startswith(("relu", "pool")))
        extractor.check_layers(names)
        if per_page < 1:
            raise ValueError(f"per_page must be >= 1; got {per_page}")
        self.size, self.per_page = int(size), int(per_page)
        self.content = W.Dropdown(options=samples.CONTENT_NAMES, value=content, description="photo")
        self.layer = W.Dropdown(options=names, value=names[0], description="layer")
        self.page = W.IntSlider(value=0, min=0, max=0, description="page")
        self.order = W.ToggleButtons(options=[("channel order", "index"), ("strongest first", "strongest")],
                                     value="index", description="sort")
        self.info = W.HTML()
        self.view = W.Image(format="png", width=view_width)
        self.features: dict[str, np.ndarray] = {}
        self.channels: list[int] = []
        self.png = b""
        self.renders = 0
        self._quiet = False
        self.content.observe(self._load, names="value")
        self.layer.observe(self._on_layer, names="value")
        self.page.observe(self._render, names="value")
        self.order.observe(self._render, names="value")
        self.widget = W.VBox([W.HBox([self.content, self.layer, self.order]), self.page, self.info, self.view])
        self._load()

    def _load(self, *_):
        self.photo = samples.content_image(self.content.value, size=self.size)
        feats = extractor.extract(self.params, self.photo[None], tuple(self.layer.options))
        self.features = {k: np.asarray(v[0]) for k, v in feats.items()}
        self._on_layer()

    def _on_layer(self, *_):
        c = self.features[self.layer.value].shape[-1]
        self._quiet = True  # one render, not one per changed control
        try:
            self.page.value = 0
            self.page.max = -(-c // self.per_page) - 1
        finally:
            self._quiet = False
        self._render()

    def _render(self, *_):
        if self._quiet:
            return
        fmap = self.features[self.layer.value]                                 # [h, w, c]
        c = fmap.shape[-1]
        order = np.arange(c)
        if self.order.value == "strongest":
            order = np.argsort(-fmap.mean(axis=(0, 1)), kind="stable")
        start = self.page.value * self.per_page
        self.channels = [int(i) for i in order[start:start + self.per_page]]
        active = float((fmap > 0).mean())
        self.info.value = (f"<b>{self.layer.value}</b>: {fmap.shape[0]}×{fmap.shape[1]} positions × {c} channels "
                           f"(stride {extractor.LAYER_STRIDES[self.layer.value]}); {active:.0%} of activations are "
                           f"non-zero; page {self.page.value + 1} of {self.page.max + 1}.")
        fig = plots.feature_grid(fmap, self.channels, layer=self.layer.value, image=self.photo, ncols=9)
        self.png = plots.figure_png(fig)
        self.view.value = self.png
        self.renders += 1

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


# ---------------------------------------------------------------------------------------------------

def _crop8(image: np.ndarray) -> np.ndarray:
    """Crop ``[H, W, 3]`` to multiples of 8 px (the decoder upsamples ×8)."""
    h, w = image.shape[:2]
    return image[: h - h % 8, : w - w % 8]


class FusionDashboard:
    """Feed-forward fusion ``I_s = G(I_c, S)`` with live sliders (notebook 04).

    The content and style images are encoded once (VGG16 to ``relu4_1``) and their features cached, and so
    is each style's full fusion ``T_k = fusion.fuse(f(I_c), [f(S_k)], method)`` (WCT's eigendecompositions
    of 512×512 covariances take seconds on a CPU). Since ``fusion.fuse`` with ``alpha`` and style weights
    ``w`` is ``α·Σ_k w_k T_k + (1 − α)·f(I_c)``, moving the ``alpha`` or style-mix slider only blends and
    runs the decoder (:func:`gantransfer.generator.decode`): one jit-compiled call, milliseconds.

    Args:
      decoder_params: decoder parameters (``nnx.State``), e.g. from :func:`gantransfer.train.load_decoder`.
      width: the decoder's width multiplier.
      content, style, style2: bundled names; ``style2="(none)"`` for a single style.
      size: content size (longest side, px; cropped to a multiple of 8).
      method: ``"adain"`` or ``"wct"``; alpha: content–style trade-off; mix: share of ``style2``.
      params: VGG16 parameters (loaded if ``None``).
    Attributes:
      image: the current ``[H, W, 3]`` numpy output; alpha, mix, method: the current settings;
      seconds: wall time of the last fusion + decoding; renders: how many images were made;
      encodes: how many images were encoded (changes only with the content or a style);
      history: one ``{"alpha", "mix", "method", "seconds"}`` dict per render; error: the last error message.
    """

    def __init__(self, decoder_params, *, width: float = 1.0, content: str = samples.DEFAULT_CONTENT,
                 style: str = samples.DEFAULT_STYLE, style2: str = "(none)", size: int = 128,
                 method: str = "adain", alpha: float = 1.0, mix: float = 0.5, params=None, view_width: int = 256):
        import jax

        from . import fusion, generator

        if method not in fusion.FUSIONS:
            raise ValueError(f"method must be one of {sorted(fusion.FUSIONS)}; got {method!r}")
        if int(size) < extractor.MIN_SIZE:
            raise ValueError(f"size must be >= {extractor.MIN_SIZE}; got {size}")
        self.params = params if params is not None else extractor.load_params()
        self.decoder_params, self.width, self.size = decoder_params, float(width), int(size)
        self.image: np.ndarray | None = None
        self.history: list[dict] = []
        self.error: str | None = None
        self.seconds = float("nan")
        self.renders = self.encodes = 0
        self._features: dict[tuple[str, str], object] = {}
        self._fused: dict[tuple[str, str, str], object] = {}

        def render(decoder_params, content, fused, alpha, weights, *, width):
            # fuse(content, styles, alpha, weights) = α·Σ_k w_k T_k(content) + (1 − α)·content, with T_k the
            # AdaIN or WCT of style k: the T_k are cached, so a slider only costs this blend and the decoder.
            blended = fusion.mix(content, fused, weights=weights, alpha=alpha)  # [1, h, w, 512]
            return jax.numpy.clip(generator.decode(decoder_params, blended, width=width), 0.0, 1.0)

        self._render = jax.jit(render, static_argnames=("width",))
        self._fusion = jax.jit(fusion.fuse, static_argnames=("method",))
        self._encode = jax.jit(generator.encode)

        self.content = W.Dropdown(options=samples.CONTENT_NAMES, value=content, description="content")
        self.style = W.Dropdown(options=samples.STYLE_NAMES, value=style, description="style")
        self.style2 = W.Dropdown(options=("(none)",) + samples.STYLE_NAMES, value=style2, description="2nd style")
        self.alpha_slider = W.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05, description="alpha α",
                                          tooltip="0: the content's features; 1: fully fused")
        self.mix_slider = W.FloatSlider(value=mix, min=0.0, max=1.0, step=0.05, description="style mix",
                                        tooltip="share of the second style in the fused features")
        self.method_toggle = W.ToggleButtons(options=[("AdaIN", "adain"), ("WCT", "wct")], value=method,
                                             description="fusion")
        self.status = W.HTML()
        self.image_view = W.Image(format="png", width=view_width)
        self.inputs_view = W.Image(format="png", width=int(view_width * 1.5))
        for w in (self.content, self.style, self.style2):
            w.observe(self._on_images, names="value")
        for w in (self.alpha_slider, self.mix_slider, self.method_toggle):
            w.observe(self.update, names="value")
        controls = W.VBox([self.content, self.style, self.style2, self.mix_slider, self.alpha_slider,
                           self.method_toggle])
        self.widget = W.VBox([W.HBox([controls, self.inputs_view]), self.status,
                              W.HBox([W.VBox([W.HTML("<b>I<sub>s</sub> = G(I<sub>c</sub>, S)</b>"), self.image_view])])])
        self._on_images()

    # -- settings as plain attributes -------------------------------------------------------------
    @property
    def alpha(self) -> float:
        return float(self.alpha_slider.value)

    @alpha.setter
    def alpha(self, value: float) -> None:
        self.alpha_slider.value = value

    @property
    def mix(self) -> float:
        return float(self.mix_slider.value)

    @mix.setter
    def mix(self, value: float) -> None:
        self.mix_slider.value = value

    @property
    def method(self) -> str:
        return self.method_toggle.value

    @method.setter
    def method(self, value: str) -> None:
        self.method_toggle.value = value

    # -- computation ----------------------------------------------------------------------------
    def features(self, kind: str, name: str):
        """The cached ``relu4_1`` features ``[1, h, w, 512]`` of a bundled image (encoded on first use)."""
        key = (kind, name)
        if key not in self._features:
            load = samples.content_image if kind == "content" else samples.style_image
            image = _crop8(load(name, size=self.size))
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
        self.mix_slider.disabled = len(names) == 1
        try:
            content = _crop8(samples.content_image(self.content.value, size=self.size))
            styles = [samples.style_image(n, size=self.size) for n in names]
            fig = plots.show_images([content, *styles], titles=["content I_c"] + [f"style: {n}" for n in names],
                                    suptitle="inputs", size=1.6)
            self.inputs_view.value = plots.figure_png(fig)
        except Exception as err:  # keep the dashboard alive
            self._fail(err)
            return
        self.update()

    def update(self, *_) -> np.ndarray | None:
        """Fuse the cached features with the current settings and decode them; returns the image."""
        import time

        import jax.numpy as jnp

        self.error = None
        try:
            content = self.features("content", self.content.value)
            names = [self.style.value] + ([self.style2.value] if self.style2.value != "(none)" else [])
            weights = np.array([1.0] if len(names) == 1 else [1.0 - self.mix, self.mix], np.float32)
            start = time.perf_counter()
            fused = jnp.stack([self.fused(self.method, self.content.value, n) for n in names])  # [K, 1, h, w, c]
            out = self._render(self.decoder_params, content, fused, np.float32(self.alpha), weights,
                               width=self.width)
            self.image = np.asarray(out[0])                                       # waits for the result
            self.seconds = time.perf_counter() - start
        except Exception as err:
            self._fail(err)
            return None
        self.renders += 1
        self.history.append({"alpha": self.alpha, "mix": self.mix if len(names) > 1 else 0.0, "method": self.method,
                             "seconds": self.seconds})
        self.image_view.value = plots.image_png(self.image)
        name = "AdaIN" if self.method == "adain" else "WCT"
        self.status.value = (f"{name}, α = {self.alpha:.2f}" + (f", 2nd style {self.mix:.0%}" if len(names) > 1 else "")
                             + f": fusion + decoder in {self.seconds * 1000:.0f} ms "
                             f"(render {self.renders}; images encoded: {self.encodes})")
        return self.image

    def _fail(self, err: Exception) -> None:
        self.error = f"{type(err).__name__}: {err}" if not isinstance(err, ValueError) else str(err)
        self.status.value = f"<span style='color:#b00'>⚠ {self.error}</span>"

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
