"""The notebooks' ipywidgets dashboards: controls → computation → live image and loss curves.

* :class:`FeatureMapBrowser` (notebook 01): a photo's VGG16 feature maps, by layer and page of channels.
* :class:`TextureDashboard` (notebook 02): texture synthesis from the Gram matrices of a chosen layer set.
* :class:`StyleTransferDashboard` (notebook 03): the full Gatys transfer with every knob of
  :class:`gantransfer.optimize.TransferConfig`, a live image, live loss curves and a stop button.
* :class:`FusionDashboard` (notebook 04): feed-forward fusion with live alpha and style-mix sliders.
* :class:`MosaicDashboard` (notebook 04 §5d): the style mosaic with its luminance guide, balancing and the
  photo's layout as controls.
* :class:`GanDashboard` (notebook 05): a few steps of adversarial training with the learning rates, the
  loss type and the regularisers as controls, presets that fail on purpose, live curves and alerts
  (:func:`gan_figure` draws them, for the notebook's own runs too).

Every dashboard keeps its state in plain attributes, so it can be driven and inspected without a browser
(the tests do): ``dash.image`` (the current ``[H, W, 3]`` numpy image), ``dash.history`` (one loss dict
per report), ``dash.error`` (the last error message, shown in the dashboard instead of a traceback).
Every dashboard that picks a content or style image also offers a FileUpload ("your content", "your
style") beside the bundled names: a student's own image is loaded by :func:`gantransfer.images.load_image`,
added to the dropdowns as ``"upload: <file name>"`` and selected (``dash.uploads`` holds it); a bad file
(not an image, empty, truncated, too small, too large) is a one-line error, and the dashboard keeps working.
Runs happen in a background thread when the Run button is pressed (so the Stop button stays live);
``dash.run(block=True)`` runs in the caller's thread instead. Show a dashboard with ``display(dash)``
or by making it a cell's last expression.
"""
from __future__ import annotations

import contextlib
import dataclasses
import html
import math
import threading
import time
from typing import Callable, Iterator, Mapping, NamedTuple, Sequence

import ipywidgets as W
import numpy as np

from . import extractor, images, inversion, optimize, plots, samples
from .validate import check_count, check_weight

#: The style layers offered as checkboxes: the first and last ReLU of every block.
STYLE_LAYER_CHOICES: tuple[str, ...] = ("relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_3",
                                        "relu4_1", "relu4_3", "relu5_1", "relu5_3")

#: Uploaded images are downscaled to this longest side as they load (the dashboards work at <= 512 px,
#: and a phone photo at full size would only cost memory).
UPLOAD_MAX_SIDE = 1024


def _dropdown(name: str, value: str, options: Sequence[str], description: str) -> W.Dropdown:
    """A Dropdown showing ``value``; a value not among ``options`` is a ValueError naming both (ipywidgets'
    own error, "Invalid selection: value not found", names neither)."""
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return W.Dropdown(options=tuple(options), value=value, description=description)


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


class _Dashboard:
    """What every dashboard shares: ``error`` and a ``status`` line that shows it (one line, not a traceback),
    observers whose exceptions cannot break the dashboard (:meth:`_observe`), and students' own images
    (:meth:`_upload_button`, :meth:`_image`)."""

    #: The status line once a change has cleared an earlier error.
    ready_text = ""

    def __init__(self):
        self.error: str | None = None
        self.status = W.HTML(value=self.ready_text)
        self.uploads: dict[str, np.ndarray] = {}   # dropdown label → the uploaded image [H, W, 3]
        self._quiet = False

    def _fail(self, err: Exception) -> None:
        # A ValueError is the library's own clear message: shown as it is. One line, and no markup from
        # the message itself (an uploaded file's name is part of it).
        self.error = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
        self.error = " ".join(self.error.splitlines())
        self.status.value = f"<span style='color:#b00'>⚠ {html.escape(self.error, quote=False)}</span>"

    def _observe(self, callback: Callable, *controls: W.Widget) -> None:
        """Call ``callback(change)`` when a control's value changes (not while :meth:`_quietly`).

        An exception it raises is shown as the dashboard's error instead of escaping (in JupyterLab it would
        go to the kernel's log and the dashboard would show nothing); the next change that works clears it.
        """
        def guarded(change):
            if self._quiet:
                return
            self.error = None
            try:
                callback(change)
            except Exception as err:
                self._fail(err)
            else:
                if self.error is None and "⚠" in self.status.value:   # (a nested observer may have failed)
                    self.status.value = self.ready_text

        for control in controls:
            control.observe(guarded, names="value")

    @contextlib.contextmanager
    def _quietly(self):
        """Change controls without running their observers (the caller redraws once, afterwards)."""
        before, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = before

    def _upload_button(self, kind: str, *dropdowns: W.Dropdown) -> W.FileUpload:
        """A FileUpload for a student's own ``kind`` ("content" or "style") image.

        A good file is loaded (:func:`gantransfer.images.load_image`, downscaled to :data:`UPLOAD_MAX_SIDE`),
        added to every one of ``dropdowns`` as ``"upload: <name>"`` and selected in the first, whose own
        observer then shows it. A bad one raises inside the observer: a one-line error.
        """
        upload = W.FileUpload(accept="image/*", multiple=False, description=f"your {kind}",
                              tooltip=f"use an image of your own as the {kind} (PNG, JPEG, …)")

        def use(change):
            if not change["new"]:
                return
            file = change["new"][0]              # ipywidgets 8: name, type, size, content (a memoryview)
            image = images.load_image(bytes(file["content"]), name=file["name"], max_size=UPLOAD_MAX_SIDE)
            label, n = f"upload: {file['name']}", 1
            while label in self.uploads:         # a new file of the same name: the caches are by label
                n += 1
                label = f"upload {n}: {file['name']}"
            self.uploads[label] = image
            with self._quietly():                # new options reset a Dropdown to its first one: undo that
                for dropdown in dropdowns:
                    value = dropdown.value
                    dropdown.options = (*dropdown.options, label)
                    dropdown.value = value
            dropdowns[0].value = label

        self._observe(use, upload)
        return upload

    def _image(self, kind: str, name: str, size: int | None = None) -> np.ndarray:
        """The image a dropdown names, uploaded or bundled: ``[H, W, 3]`` float32, longest side ``size``."""
        if name in self.uploads:
            image = self.uploads[name]
            return image if size is None else images.resize_longest(image, size)
        return (samples.content_image if kind == "content" else samples.style_image)(name, size=size)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


class _Runner(_Dashboard):
    """Run/Stop buttons, a progress bar, a status line, a live image and live loss curves around a
    generator of :class:`gantransfer.optimize.Progress` reports (subclasses supply :meth:`_start`)."""

    loss_keys: tuple[str, ...] = ("content", "style", "tv")
    title = "result"
    ready_text = "Press <b>Run</b>."

    def __init__(self, *, params=None, view_width: int = 320):
        super().__init__()
        self.params = params
        self.image: np.ndarray | None = None
        self.history: list[dict] = []
        self.running = False
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.run_button = W.Button(description="Run", button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.progress = W.IntProgress(value=0, min=0, max=1, description="steps", layout=W.Layout(width="300px"))
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

    def _buttons(self) -> W.HBox:
        return W.HBox([self.run_button, self.stop_button, self.progress])


# ---------------------------------------------------------------------------------------------------

class StyleTransferDashboard(_Runner):
    """Gatys style transfer with every knob (notebook 03).

    Controls: content and style images, an optional second style with a blend slider, log-scale sliders
    for the content, style and TV weights (α, β, γ) and the learning rate, a checkbox per style layer,
    the optimiser (Adam or L-BFGS), steps, size, the style's scale, initial image, colour preservation.
    Run/Stop buttons, a live image and live loss curves (content, style, TV).

    Args:
      content, style: names from :data:`gantransfer.samples.CONTENT_NAMES` / ``STYLE_NAMES``.
      size: output size (longest side, px); steps: optimisation steps; report_every: refresh period.
      style_weight, content_weight, tv_weight, learning_rate: initial slider values (``None``: the
        defaults of :class:`gantransfer.optimize.TransferConfig`).
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
        self.content = _dropdown("content", content, samples.CONTENT_NAMES, "content")
        self.style = _dropdown("style", style, samples.STYLE_NAMES, "style")
        self.style2 = W.Dropdown(options=("(none)",) + samples.STYLE_NAMES, value="(none)", description="2nd style")
        self.content_upload = self._upload_button("content", self.content)
        self.style_upload = self._upload_button("style", self.style, self.style2)
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
        inputs = W.VBox([W.HTML("<b>Images</b>"), self.content, self.style, self.style2, self.blend,
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
            tv_weight=float(self.tv_weight.value), style_layers=layers, style_blend=blend,
            style_scale=float(self.style_scale.value), init=self.init.value,
            preserve_color=bool(self.preserve_color.value), report_every=self.report_every)

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
        self.style = _dropdown("style", style, samples.STYLE_NAMES, "style")
        self.style_upload = self._upload_button("style", self.style)
        # Unknown layer names are an error (as in FeatureMapBrowser); a known one without a checkbox gets one.
        layers = extractor.check_layers(layers) if layers else ()
        choices = inversion.FIG1_LAYERS + ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")
        self.layers = _checkboxes(choices + tuple(n for n in layers if n not in choices), layers)
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
        return self.style.value, extractor.in_forward_order(_ticked(self.layers))

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


# ---------------------------------------------------------------------------------------------------

class FeatureMapBrowser(_Dashboard):
    """Browse a photo's VGG16 feature maps: pick a layer and a page of channels (notebook 01).

    Args:
      content: a name from :data:`gantransfer.samples.CONTENT_NAMES`.
      size: the photo's longest side in px.
      layers: the layers offered (all ReLUs and poolings by default).
      per_page: channels per page.
    Attributes:
      features: ``{layer: [h, w, c]}`` of the current photo; channels: the channels on show;
      png: the current figure as PNG bytes; error: the last error (a bad upload, say), shown in ``status``;
      content_upload: a FileUpload for a photo of the student's own (see the module docstring).
    """

    def __init__(self, *, content: str = samples.DEFAULT_CONTENT, size: int = 160,
                 layers: Sequence[str] | None = None, per_page: int = 16, params=None, view_width: int = 900):
        super().__init__()
        self.params = params if params is not None else extractor.load_params()
        names = tuple(layers) if layers is not None else tuple(
            n for n in extractor.LAYER_NAMES if n.startswith(("relu", "pool")))
        extractor.check_layers(names)
        if per_page < 1:
            raise ValueError(f"per_page must be >= 1; got {per_page}")
        self.size, self.per_page = int(size), int(per_page)
        self.content = _dropdown("content", content, samples.CONTENT_NAMES, "photo")
        self.content_upload = self._upload_button("content", self.content)
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
        self._observe(self._load, self.content)
        self._observe(self._on_layer, self.layer)
        self._observe(self._render, self.page, self.order)
        self.widget = W.VBox([W.HBox([self.content, self.content_upload, self.layer, self.order]), self.page,
                              self.status, self.info, self.view])
        self._load()

    def _load(self, *_):
        photo = self._image("content", self.content.value, size=self.size)
        feats = extractor.extract(self.params, photo[None], tuple(self.layer.options))
        self.photo, self.features = photo, {k: np.asarray(v[0]) for k, v in feats.items()}
        self._on_layer()

    def _on_layer(self, *_):
        c = self.features[self.layer.value].shape[-1]
        with self._quietly():  # one render, not one per changed control
            self.page.value = 0
            self.page.max = -(-c // self.per_page) - 1
        self._render()

    def _render(self, *_):
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


# ---------------------------------------------------------------------------------------------------

class _ControlValue:
    """A dashboard setting as a plain attribute: reads its control's value (as ``kind``), and setting it moves
    the control, which runs the control's observers as a student's click would."""

    def __init__(self, control: str, kind: type):
        self.control, self.kind = control, kind

    def __get__(self, dashboard, owner=None):
        return self if dashboard is None else self.kind(getattr(dashboard, self.control).value)

    def __set__(self, dashboard, value) -> None:
        getattr(dashboard, self.control).value = value


def _crop8(image: np.ndarray) -> np.ndarray:
    """Crop ``[H, W, 3]`` to multiples of 8 px (the decoder upsamples ×8)."""
    h, w = image.shape[:2]
    return image[: h - h % 8, : w - w % 8]


class FusionDashboard(_Dashboard):
    """Feed-forward fusion ``I_s = G(I_c, S)`` with live sliders (notebook 04).

    The content and style images are encoded once (VGG16 to ``relu4_1``) and their features cached, and so
    is each style's full fusion ``T_k = fusion.fuse(f(I_c), [f(S_k)], method)`` (WCT's eigendecompositions
    of 512×512 covariances take seconds on a CPU). Since ``fusion.fuse`` with ``alpha`` and style weights
    ``w`` is ``α·Σ_k w_k T_k + (1 − α)·f(I_c)``, moving the ``alpha`` or style-mix slider only blends and
    runs the decoder (:func:`gantransfer.generator.decode`): one jit-compiled call, milliseconds.

    Args:
      decoder_params: decoder parameters (``nnx.State``), e.g. from :func:`gantransfer.train.load_decoder`.
      width: the decoder's width multiplier.
      content, style, style2: bundled names; ``style2="(none)"`` for a single style (the FileUploads
        ``content_upload`` and ``style_upload`` add the student's own images).
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

        super().__init__()
        if method not in fusion.FUSIONS:
            raise ValueError(f"method must be one of {sorted(fusion.FUSIONS)}; got {method!r}")
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

        self._render = jax.jit(render, static_argnames=("width",))
        self._fusion = jax.jit(fusion.fuse, static_argnames=("method",))
        self._encode = jax.jit(generator.encode)

        self.content = _dropdown("content", content, samples.CONTENT_NAMES, "content")
        self.style = _dropdown("style", style, samples.STYLE_NAMES, "style")
        self.style2 = _dropdown("style2", style2, ("(none)",) + samples.STYLE_NAMES, "2nd style")
        self.content_upload = self._upload_button("content", self.content)
        self.style_upload = self._upload_button("style", self.style, self.style2)
        self.alpha_slider = W.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05, description="alpha α",
                                          tooltip="0: the content's features; 1: fully fused")
        self.mix_slider = W.FloatSlider(value=mix, min=0.0, max=1.0, step=0.05, description="style mix",
                                        tooltip="share of the second style in the fused features")
        self.method_toggle = W.ToggleButtons(options=[("AdaIN", "adain"), ("WCT", "wct")], value=method,
                                             description="fusion")
        self.image_view = W.Image(format="png", width=view_width)
        self.inputs_view = W.Image(format="png", width=int(view_width * 1.5))
        self._observe(self._on_images, self.content, self.style, self.style2)
        self._observe(self.update, self.alpha_slider, self.mix_slider, self.method_toggle)
        controls = W.VBox([self.content, self.style, self.style2, W.HBox([self.content_upload, self.style_upload]),
                           self.mix_slider, self.alpha_slider, self.method_toggle])
        self.widget = W.VBox([W.HBox([controls, self.inputs_view]), self.status,
                              W.HBox([W.VBox([W.HTML("<b>I<sub>s</sub> = G(I<sub>c</sub>, S)</b>"), self.image_view])])])
        self._on_images()

    # -- settings as plain attributes -------------------------------------------------------------
    alpha = _ControlValue("alpha_slider", float)
    mix = _ControlValue("mix_slider", float)
    method = _ControlValue("method_toggle", str)

    # -- computation ----------------------------------------------------------------------------
    def features(self, kind: str, name: str):
        """The cached ``relu4_1`` features ``[1, h, w, 512]`` of a bundled or uploaded image (encoded on first use)."""
        key = (kind, name)
        if key not in self._features:
            image = _crop8(self._image(kind, name, size=self.size))
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
        content = _crop8(self._image("content", self.content.value, size=self.size))
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
        import time

        import jax.numpy as jnp

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
            out = self._render(self.decoder_params, content, fused, np.float32(alpha), weights,
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
        self.history.append({"alpha": alpha, "mix": mix, "method": self.method, "seconds": self.seconds})
        self.image_view.value = plots.image_png(self.image)
        name = "AdaIN" if self.method == "adain" else "WCT"
        self.status.value = (f"{name}, α = {alpha:.2f}" + (f", 2nd style {mix:.0%}" if len(names) > 1 else "")
                             + f": fusion + decoder in {self.seconds * 1000:.0f} ms "
                             f"(render {self.renders}; images encoded: {self.encodes})")
        return self.image


class MosaicDashboard(_Dashboard):
    """The style mosaic (:func:`gantransfer.mosaic.generate_mosaic`) with its ingredients as controls (notebook 04).

    The guide's weight is a traced argument of the compiled mosaic, so moving its slider does not recompile;
    switching balancing on or off compiles once per setting. The style is seen at
    :data:`gantransfer.mosaic.STYLE_SCALE` × the photo's size, as ``gantransfer stylize --method mosaic`` sees it.

    Args:
      content, style: bundled names (the FileUploads ``content_upload`` and ``style_upload`` add the student's own).
      size: the photo's longest side (px; cropped to a multiple of 8).
      guide: the luminance guide's weight; balanced: Sinkhorn-balanced use of the style's patches (else the
        nearest patch); keep_layout: strength of the photo's layout put back (:func:`gantransfer.color.keep_layout`).
      params: VGG16 parameters (loaded if ``None``).
    Attributes:
      image: the current ``[H, W, 3]`` numpy picture; guide, balanced, keep_layout: the current settings;
      seconds: wall time of the last mosaic; renders: pictures made; history: one ``{"guide", "balanced",
      "keep_layout", "seconds"}`` dict per picture; error: the last error message.
    """

    def __init__(self, *, content: str = samples.DEFAULT_CONTENT, style: str = samples.DEFAULT_STYLE,
                 size: int = 256, guide: float | None = None, balanced: bool = True, keep_layout: float = 1.0,
                 params=None, view_width: int = 320):
        from . import mosaic

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
        self.content = _dropdown("content", content, samples.CONTENT_NAMES, "content")
        self.style = _dropdown("style", style, samples.STYLE_NAMES, "style")
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

    guide = _ControlValue("guide_slider", float)
    balanced = _ControlValue("balance_box", bool)
    keep_layout = _ControlValue("layout_slider", float)

    def update(self, *_) -> np.ndarray | None:
        """Paint the mosaic with the current settings; returns the picture (``None`` on an error, shown in
        ``status``, the last good picture kept)."""
        from . import generator, mosaic

        self.error = None
        try:
            photo = self._image("content", self.content.value, size=self.size)
            style = self._image("style", self.style.value, size=round(self.size * mosaic.STYLE_SCALE))
            start = time.perf_counter()
            settings = dict(guide=self.guide, balance_iterations=mosaic.BALANCE_ITERATIONS if self.balanced else 0)
            picture = generator.stylize_image(self.params, None, photo, [style], method="mosaic",
                                              keep_layout=self.keep_layout, mosaic_settings=settings)
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


# ---------------------------------------------------------------------------------------------------
# Adversarial training (notebook 05).

def _running_mean(values: Sequence[float], n: int = 10) -> np.ndarray:
    """Mean of the last ``n`` values at every step (fewer at the start)."""
    v = np.asarray(values, np.float64)
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(0, idx - n)
    return (c[idx] - c[lo]) / (idx - lo)


def gan_figure(history: Sequence[Mapping[str, float]], *, samples: Sequence[tuple[int, np.ndarray]] = (),
               alerts: Sequence[tuple[int, str]] = (), loss: str = "hinge", title: str = "adversarial training",
               width: float = 12.0):
    """The three curves of a GAN run and, below them, samples of ``G``: a :class:`matplotlib.figure.Figure`.

    * **losses**: ``d_loss`` (D's, without R1), ``g_adv`` (G's adversarial term) and ``r1`` (the R1
      penalty, how steep D is on real images), with D's loss at chance
      (:data:`gantransfer.discriminator.D_LOSS_AT_CHANCE`) dashed;
    * **D's scores**: the mean patch logit on real crops (``d_real``) and on G's outputs (``d_fake``);
    * **warning signs**: D's probability margin ``d_margin`` and G's output ``diversity``, with the
      thresholds of :mod:`gantransfer.adversarial`'s divergence detector dashed.

    Thin lines are the steps, thick ones a running mean of 10 (a GAN's losses jump from batch to batch).
    A red vertical line marks each step at which a divergence alert started.

    Args:
      history: one dict per step: ``{"step": int, "d_loss": float, ...}`` (the metrics of
        :func:`gantransfer.adversarial.d_step` and :func:`~gantransfer.adversarial.g_step`).
      samples: ``(step, [H, W, 3] image)`` pairs; the last four are drawn.
      alerts: ``(step, message)`` pairs.
      loss: the adversarial loss kind (sets the chance level).
    """
    from matplotlib.figure import Figure

    from . import adversarial, discriminator

    shown = list(samples)[-4:]
    fig = Figure(figsize=(width, 3.2 + (2.6 if shown else 0.0)), layout="constrained")
    grid = fig.add_gridspec(2 if shown else 1, 12, height_ratios=[1.0, 0.9] if shown else None)
    axes = [fig.add_subplot(grid[0, 4 * i:4 * i + 4]) for i in range(3)]
    steps = [h["step"] for h in history]

    def curve(ax, key, label, color):
        values = [h.get(key, float("nan")) for h in history]
        if not steps or all(not math.isfinite(v) or v == 0 for v in values):   # absent, or switched off (R1)
            return
        ax.plot(steps, values, color=color, alpha=0.3, lw=0.8)
        ax.plot(steps, _running_mean(values), color=color, lw=1.8, label=label)

    curve(axes[0], "d_loss", "D's loss", "tab:blue")
    curve(axes[0], "g_adv", "G's adversarial loss", "tab:orange")
    curve(axes[0], "r1", "R1: D's slope on real", "tab:grey")
    axes[0].axhline(discriminator.D_LOSS_AT_CHANCE[loss], color="tab:blue", ls="--", lw=0.8, label="D at chance")
    axes[0].set_title(f"losses ({loss})", fontsize=10)
    curve(axes[1], "d_real", "D(real)", "tab:green")
    curve(axes[1], "d_fake", "D(fake) = D(G(c, s))", "tab:red")
    axes[1].axhline(0.0, color="grey", lw=0.8)
    axes[1].set_title("D's mean patch logit", fontsize=10)
    curve(axes[2], "d_margin", "D's margin σ(real) − σ(fake)", "tab:purple")
    curve(axes[2], "diversity", "G's diversity", "tab:brown")
    axes[2].axhline(adversarial.D_WINS_MARGIN, color="tab:purple", ls="--", lw=0.8, label="D wins above")
    axes[2].axhline(adversarial.COLLAPSE_DIVERSITY, color="tab:brown", ls="--", lw=0.8, label="collapse below")
    axes[2].set_title("warning signs", fontsize=10)
    for ax, keys in zip(axes, [("d_loss", "g_adv", "r1"), ("d_real", "d_fake"), ()]):
        values = [abs(h[k]) for h in history for k in keys if k in h and math.isfinite(h[k])]
        if values and max(values) > 50:
            ax.set_yscale("symlog", linthresh=1.0)   # an exploding run stays readable
        for step, _ in alerts:
            ax.axvline(step, color="red", lw=1.2, alpha=0.7)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    for i, (step, image) in enumerate(shown):
        plots.draw_image(fig.add_subplot(grid[1, 3 * i:3 * i + 3]), image, f"G after {step} steps")
    fig.suptitle(title + (f" · {len(alerts)} alert(s)" if alerts else ""))
    return fig


#: Settings that make a short run fail on purpose (notebook 05), on top of the dashboard's base settings.
#: Found by trial with 64 px crops, batch 2, a half-width decoder from scratch, G at lr 1e-3 and D at 4e-3
#: (hinge loss, R1 γ = 0.1 or 1, spectral norm), 40-50 steps, detector window 10:
#:
#: * "discriminator too strong": G nearly frozen, D wide, fast and unregularised; its margin saturates
#:   (> 0.95) and the detector reports "discriminator wins" at about step 25 (from a trained decoder the
#:   margin reaches 0.8-0.93 in 40 steps: D clearly ahead, the alert later).
#: * "learning rate too high": D's steps overshoot without spectral norm; its logits and loss jump by
#:   orders of magnitude (10⁴) and oscillate; no player *wins*, so the detector may stay silent.
#: * "mode collapse": the adversarial term outweighs the content loss 1000 to 1 and G takes 10× larger
#:   steps; G paints one picture for every photo (diversity 0) and the detector reports "generator
#:   collapse" between steps 15 and 40 (with adv_weight 1 the same learning rate only spikes, and recovers).
GAN_PRESETS: dict[str, dict] = {
    "healthy": {},
    "discriminator too strong": dict(g_learning_rate=1e-5, d_learning_rate=2e-3, spectral_norm=False, r1_weight=0.0,
                                     d_width=0.5),
    "learning rate too high": dict(d_learning_rate=1e-2, spectral_norm=False),
    "mode collapse": dict(adv_weight=1000.0, g_learning_rate=1e-2),
}


class GanProgress(NamedTuple):
    """What the dashboard's training loop reports: the step, seconds so far, that step's metrics, the
    sample image, the alerts that started since the last report, and whether the run is over."""

    step: int
    seconds: float
    metrics: dict
    image: np.ndarray
    alerts: tuple
    done: bool


class GanDashboard(_Runner):
    """A few steps of adversarial training ``G`` vs ``D`` per press of Run (notebook 05).

    Each run starts afresh from the same decoder (``init_decoder``) and seed, so two runs differ only by
    the settings: the learning rates of ``G`` and ``D`` (log sliders), the adversarial loss (ns, hinge,
    lsgan), the adversarial weight, the R1 penalty, spectral normalisation, the number of steps, or a
    preset from :data:`GAN_PRESETS` that fails on purpose. It shows live curves (:func:`gan_figure`),
    ``G``'s output on a held-out photo, and the divergence detector's alerts
    (:func:`gantransfer.adversarial.divergence_alerts`). The steps are the library's pure
    :func:`gantransfer.adversarial.d_step` and :func:`~gantransfer.adversarial.g_step`; learning rates and
    weights are traced values of their compiled code (moving a slider does not recompile), while a new loss
    kind, spectral norm or R1 switched on or off, or another ``D`` width compiles new steps (tens of seconds
    on a CPU, once).

    Args:
      base: the settings the controls start from and do not show (crop, batch, widths, …); default a
        small run from scratch: 64 px crops, batch 2, G at 1e-3, D at 4e-3, a detector window of 10.
      init_decoder: where ``G`` starts (:func:`gantransfer.adversarial.init_gan_state`): ``None`` (from
        scratch), decoder parameters, or the path of an exported decoder.
      contents, styles: bundled names (or files) of the training crops; the first style is the sample's.
      sample_content: a photo *not* in ``contents``, stylised after every report (held out).
      sample_size: the side of its central square in px (a multiple of 8; default ``base.crop``).
      report_every: steps between redraws.
      presets: name → settings (default :data:`GAN_PRESETS`).
      params: VGG16 parameters (loaded on the first run if ``None``).
    Attributes:
      history: one dict of metrics per step of the last run; image: ``G``'s latest sample ``[H, W, 3]``;
      samples: ``(step, image)`` of the last run; alerts: ``(step, message)`` of the last run;
      state: the GAN state after the last run; last_config: its :class:`~gantransfer.adversarial.GanTrainConfig`;
      error: the last error (bad settings, or a run that produced NaN), shown in the dashboard.
    """

    title = "adversarial training"

    def __init__(self, base=None, *, init_decoder=None, contents: Sequence[str] = ("astronaut", "coffee", "rocket"),
                 styles: Sequence[str] = ("brush_strokes",), sample_content: str = "chelsea",
                 sample_size: int | None = None, report_every: int = 5, presets: Mapping[str, dict] | None = None,
                 params=None, view_width: int = 256):
        from . import adversarial, generator

        super().__init__(params=params, view_width=view_width)
        if base is None:
            base = adversarial.GanTrainConfig(steps=40, batch=2, crop=64, pool_side=96, width=generator.DEFAULT_WIDTH,
                                              d_width=0.25, g_learning_rate=1e-3, d_learning_rate=4e-3,
                                              divergence_window=10, checkpoint_every=10_000)
        if not isinstance(base, adversarial.GanTrainConfig):
            raise ValueError(f"base must be an adversarial.GanTrainConfig; got {type(base).__name__}")
        check_count(report_every, "report_every")
        if not contents or not styles:
            raise ValueError("give at least one content and one style")
        self.base, self.init_decoder, self.report_every = base, init_decoder, report_every
        self.contents, self.styles = tuple(contents), tuple(styles)
        self.sample_content = sample_content
        self.sample_size = int(sample_size or base.crop)
        if self.sample_size % 8 or self.sample_size < extractor.MIN_SIZE:
            raise ValueError(f"sample_size must be a multiple of 8 and >= {extractor.MIN_SIZE}; got {self.sample_size}")
        self.presets = dict(GAN_PRESETS if presets is None else presets)
        self.samples: list[tuple[int, np.ndarray]] = []
        self.alerts: list[tuple[int, str]] = []
        self.state = None
        self.last_config = None
        self._pools: dict = {}
        self._sample_fn = None
        self._extra: dict = {}   # preset settings without a control (e.g. d_width)

        self.preset = W.Dropdown(options=["(custom)", *self.presets], value="(custom)", description="preset")
        self.g_lr = _log_slider(base.g_learning_rate, -6, -1, "G's lr")
        self.d_lr = _log_slider(base.d_learning_rate, -6, -1, "D's lr")
        self.loss = W.ToggleButtons(options=[("non-saturating", "ns"), ("hinge", "hinge"), ("least squares", "lsgan")],
                                    value=base.loss, description="loss")
        self.adv_weight = _log_slider(base.adv_weight, -2, 4, "adv. weight")
        self.r1_on = W.Checkbox(value=base.r1_weight > 0, description="R1 penalty", indent=False)
        self.r1_weight = _log_slider(base.r1_weight if base.r1_weight > 0 else 1.0, -2, 2, "R1 γ")
        self.spectral_norm = W.Checkbox(value=base.spectral_norm, description="spectral norm", indent=False)
        self.steps = W.IntSlider(value=base.steps, min=1, max=max(400, base.steps), description="steps")
        self.alerts_view = W.HTML()
        self.extra_view = W.HTML()
        self._custom_widgets = (self.g_lr, self.d_lr, self.loss, self.adv_weight, self.r1_on, self.r1_weight,
                                self.spectral_norm)
        self._applying = False
        self._observe(self._on_preset, self.preset)
        self._observe(self._on_custom, *self._custom_widgets)
        self._observe(lambda _: setattr(self.r1_weight, "disabled", not self.r1_on.value), self.r1_on)
        self.r1_weight.disabled = not self.r1_on.value

        left = W.VBox([W.HTML("<b>Learning rates</b> (Adam)"), self.g_lr, self.d_lr, self.loss])
        right = W.VBox([W.HTML("<b>Regularisation and balance</b>"), self.adv_weight,
                        W.HBox([self.r1_on, self.spectral_norm]), self.r1_weight, self.steps])
        self.widget = W.VBox([self.preset, W.HBox([left, right]), self.extra_view, self._buttons(), self.status,
                              self.alerts_view, W.HBox([W.VBox([W.HTML(f"G on a held-out photo ({sample_content})"), self.image_view]),
                                      self.loss_view])])
        self.loss_view.layout.width = f"{int(view_width * 2.6)}px"

    # -- settings -----------------------------------------------------------------------------------
    def set(self, **settings) -> None:
        """Set controls by config name (``g_learning_rate``, ``d_learning_rate``, ``loss``, ``adv_weight``,
        ``r1_weight`` (0 unticks R1), ``spectral_norm``, ``steps``); other names are kept for the next run."""
        controls = {"g_learning_rate": self.g_lr, "d_learning_rate": self.d_lr, "loss": self.loss,
                    "adv_weight": self.adv_weight, "spectral_norm": self.spectral_norm, "steps": self.steps}
        for name, value in settings.items():
            if name == "r1_weight":
                self.r1_on.value = value > 0
                if value > 0:
                    self.r1_weight.value = value
            elif name in controls:
                widget = controls[name]
                if isinstance(widget, W.FloatLogSlider) and value > 0:   # widen the range to fit the value
                    exponent = float(np.log10(value))
                    widget.min, widget.max = min(widget.min, np.floor(exponent)), max(widget.max, np.ceil(exponent))
                widget.value = value
            else:
                self._extra[name] = value
        self._show_extra()

    def _on_preset(self, change):
        name = change["new"]
        if name == "(custom)" or name not in self.presets:
            return
        base = dataclasses.asdict(self.base)
        self._applying = True
        try:
            self._extra = {}
            self.set(**{k: base[k] for k in ("g_learning_rate", "d_learning_rate", "loss", "adv_weight", "r1_weight",
                                               "spectral_norm")})
            self.set(**self.presets[name])
        finally:
            self._applying = False
        self._show_extra()

    def _on_custom(self, *_):
        # A control moved by hand: the settings are now custom (a preset's hidden settings, such as D's
        # width, stay until another preset is chosen; the line under the controls lists them).
        if not self._applying and self.preset.value != "(custom)":
            self.preset.value = "(custom)"
        self._show_extra()

    def _show_extra(self):
        self.extra_view.value = ("<i>also: " + ", ".join(f"{k} = {v}" for k, v in self._extra.items()) + "</i>"
                                 if self._extra else "")

    def config(self):
        """The :class:`~gantransfer.adversarial.GanTrainConfig` the controls describe (ValueError if impossible)."""
        return dataclasses.replace(
            self.base, **{**dict(
                steps=int(self.steps.value), g_learning_rate=float(self.g_lr.value), d_learning_rate=float(self.d_lr.value),
                loss=self.loss.value, adv_weight=float(self.adv_weight.value),
                r1_weight=float(self.r1_weight.value) if self.r1_on.value else 0.0,
                spectral_norm=bool(self.spectral_norm.value)), **self._extra})

    # -- running ------------------------------------------------------------------------------------
    def _pools_for(self, config):
        from . import train

        key = (config.pool_side,)
        if key not in self._pools:
            self._pools[key] = (train.load_pool(self.contents, kind="content", side=config.pool_side),
                                train.load_pool(self.styles, kind="style", side=config.pool_side))
        return self._pools[key]

    def _sample_inputs(self):
        """The held-out photo's central ``sample_size`` square and the first style: ``[1, S, S, 3]`` each."""
        from . import train

        content, style = (train.load_pool([name], kind=kind, side=self.sample_size)[0]
                          for name, kind in [(self.sample_content, "content"), (self.styles[0], "style")])

        def centre(img):
            y, x = (img.shape[0] - self.sample_size) // 2, (img.shape[1] - self.sample_size) // 2
            return np.asarray(img[y:y + self.sample_size, x:x + self.sample_size], np.float32)[None]

        return centre(content), centre(style)

    def _start(self):
        from . import adversarial

        config = self.config()
        pools = self._pools_for(config)
        state = adversarial.init_gan_state(config, init_decoder=self.init_decoder)
        self.last_config = config
        self.samples, self.alerts = [], []
        self.alerts_view.value = ""
        return self._train(config, state, pools, self._sample_inputs()), config.steps

    def _train(self, config, state, pools, sample) -> Iterator[GanProgress]:
        import jax

        from . import adversarial, train

        if self._sample_fn is None:
            self._sample_fn = jax.jit(lambda g, v, c, s, width: jax.numpy.clip(adversarial.stylize(g, v, c, s, width=width), 0, 1),
                                      static_argnames="width")
        history: dict[str, list] = {}
        active: set[str] = set()
        new_alerts: list[tuple[int, str]] = []
        start = time.perf_counter()
        for step in range(config.steps):
            if self.should_stop():
                break
            batch = train.make_batch(*pools, seed=config.seed, step=step, batch=config.batch, crop=config.crop)
            state, d_metrics = adversarial.d_step(config, state, self.params, batch)
            state, g_metrics = adversarial.g_step(config, state, self.params, batch)
            metrics = {k: float(v) for k, v in {**d_metrics, **g_metrics}.items()}
            self.state = state
            self.history.append({"step": step + 1, **metrics})
            for key in ("d_loss", "d_margin", "diversity"):
                if key in metrics:
                    history.setdefault(key, []).append(metrics[key])
            current = {a.split(":")[0]: a for a in adversarial.divergence_alerts(
                history, loss=config.loss, window=config.divergence_window)}
            for kind, message in current.items():
                if kind not in active:
                    self.alerts.append((step + 1, message))
                    new_alerts.append((step + 1, message))
            active = set(current)
            bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
            last = step + 1 == config.steps or bool(bad)
            if (step + 1) % self.report_every == 0 or last:
                image = np.asarray(self._sample_fn(state["g_params"], self.params, *sample, width=config.width)[0])
                self.samples.append((step + 1, image))
                yield GanProgress(step + 1, time.perf_counter() - start, metrics, image, tuple(new_alerts), last)
                new_alerts = []
            if bad:
                raise FloatingPointError(f"non-finite {', '.join(bad)} at step {step + 1}: the run diverged "
                                         "(learning rates too high?). The curves show how it got there.")
        else:
            return
        # stopped: report where it stopped
        if self.history:
            image = np.asarray(self._sample_fn(state["g_params"], self.params, *sample, width=config.width)[0])
            self.samples.append((self.history[-1]["step"], image))
            yield GanProgress(self.history[-1]["step"], time.perf_counter() - start, self.history[-1], image,
                              tuple(new_alerts), True)

    def _describe(self, report: GanProgress) -> str:
        m = report.metrics
        parts = [f"D's loss {m.get('d_loss', float('nan')):.3g}", f"G's adv. loss {m.get('g_adv', float('nan')):.3g}",
                 f"D(real) {m.get('d_real', float('nan')):.2f} vs D(fake) {m.get('d_fake', float('nan')):.2f}"]
        if "diversity" in m:
            parts.append(f"diversity {m['diversity']:.2f}")
        return " · ".join(parts)

    def _show(self, report: GanProgress) -> None:
        self.image = report.image
        self.progress.value = min(report.step, self.progress.max)
        self.image_view.value = plots.image_png(self.image)
        config = self.last_config
        fig = gan_figure(self.history, samples=self.samples, alerts=self.alerts, loss=config.loss,
                         title=f"{self.preset.value if self.preset.value != '(custom)' else 'custom settings'}: "
                               f"G lr {config.g_learning_rate:.2g}, D lr {config.d_learning_rate:.2g}, {config.loss}")
        self.loss_view.value = plots.figure_png(fig)
        if self.alerts:
            self.alerts_view.value = "".join(f"<div style='color:#b00'>⚠ step {s}: {m}</div>" for s, m in self.alerts)
        else:
            self.alerts_view.value = "<div style='color:#070'>no divergence alert</div>"
        if not report.done:
            self.status.value = (f"step {report.step}/{self.progress.max} · {report.seconds:.1f} s · "
                                 f"{self._describe(report)}")
