"""The notebooks' ipywidgets dashboards: controls → computation → live image and loss curves.

* :class:`FeatureMapBrowser` (notebook 01): a photo's VGG16 feature maps, by layer and page of channels.
* :class:`TextureDashboard` (notebook 02): texture synthesis from the Gram matrices of a chosen layer set.
* :class:`StyleTransferDashboard` (notebook 03): the full Gatys transfer with every knob of
  :class:`gantransfer.methods.optimize.TransferConfig`, a live image, live loss curves and a stop button.
* :class:`FusionDashboard` (notebook 04): feed-forward fusion with live alpha and style-mix sliders.
* :class:`MosaicDashboard` (notebook 04b §4): the style mosaic with its luminance guide, balancing and the
  photo's layout as controls.
* :class:`GanDashboard` (notebook 05b): a per-style generator trained against its patch discriminator, with the
  learning rates, the weights of the adversarial and the Gram loss and D's patch side as controls, the
  ablation's three objectives as presets, live curves and D's verdict patch by patch.

Every dashboard keeps its state in plain attributes, so it can be driven and inspected without a browser
(the tests do): ``dash.image`` (the current ``[H, W, 3]`` numpy image), ``dash.history`` (one loss dict
per report), ``dash.error`` (the last error message, shown in the dashboard instead of a traceback).
Every dashboard that picks a content or style image also offers a FileUpload ("your content", "your
style") beside the bundled names: a student's own image is loaded by :func:`gantransfer.core.images.load_image`,
added to the dropdowns as ``"upload: <file name>"`` and selected (``dash.uploads`` holds it); a bad file
(not an image, empty, truncated, too small, too large) is a one-line error, and the dashboard keeps working.
Runs happen in a background thread when the Run button is pressed (so the Stop button stays live);
``dash.run(block=True)`` runs in the caller's thread instead. Show a dashboard with ``display(dash)``
or by making it a cell's last expression.
"""
from __future__ import annotations

import contextlib
import html
import threading
from typing import Callable, Iterator, Sequence

import ipywidgets as W
import numpy as np

from gantransfer.core import images, resize, samples
from gantransfer.methods import optimize
from gantransfer.notebook import plots
from gantransfer.pipeline import extractor

#: How the dashboards place two styles (label → value): mixed everywhere, or each in a region of its own
#: (:func:`gantransfer.pipeline.fusion.region_masks`; Huang & Belongie 2017 for the fusion, Gatys et al. 2017 for
#: the optimisation).
PLACEMENTS = {"mixed": "mix", "left | right": "vertical", "top / bottom": "horizontal"}

#: The style layers offered as checkboxes: the first and last ReLU of every block.
STYLE_LAYER_CHOICES: tuple[str, ...] = ("relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_3",
                                        "relu4_1", "relu4_3", "relu5_1", "relu5_3")

#: Uploaded images are downscaled to this longest side as they load (the dashboards work at <= 512 px,
#: and a phone photo at full size would only cost memory).
UPLOAD_MAX_SIDE = 1024


def dropdown(name: str, value: str, options: Sequence[str], description: str) -> W.Dropdown:
    """A Dropdown showing ``value``; a value not among ``options`` is a ValueError naming both (ipywidgets'
    own error, "Invalid selection: value not found", names neither)."""
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return W.Dropdown(options=tuple(options), value=value, description=description)


def checkboxes(names: Sequence[str], checked: Sequence[str]) -> dict[str, W.Checkbox]:
    return {n: W.Checkbox(value=n in checked, description=n, indent=False, layout=W.Layout(width="90px"))
            for n in names}


def log_slider(value: float, lo: float, hi: float, description: str) -> W.FloatLogSlider:
    """A base-10 log slider over ``[10**lo, 10**hi]``, widened to include ``value`` (0 shows as ``10**lo``)."""
    if value > 0:
        exponent = float(np.log10(value))
        lo, hi = min(lo, np.floor(exponent)), max(hi, np.ceil(exponent))
    return W.FloatLogSlider(value=value if value > 0 else 10.0 ** lo, min=lo, max=hi, base=10, step=0.1,
                            readout_format=".2g", continuous_update=False, description=description,
                            style={"description_width": "80px"})


def ticked(boxes: dict[str, W.Checkbox]) -> tuple[str, ...]:
    return tuple(n for n, b in boxes.items() if b.value)


class Dashboard:
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

        A good file is loaded (:func:`gantransfer.core.images.load_image`, downscaled to :data:`UPLOAD_MAX_SIDE`),
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
            return image if size is None else resize.resize_longest(image, size)
        return (samples.content_image if kind == "content" else samples.style_image)(name, size=size)

    def _ipython_display_(self):
        from IPython.display import display  # lazy: only inside a kernel

        display(self.widget)


class Runner(Dashboard):
    """Run/Stop buttons, a progress bar, a status line, a live image and live loss curves around a
    generator of :class:`gantransfer.methods.optimize.Progress` reports (subclasses supply :meth:`_start`)."""

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


# ---------------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------------

class ControlValue:
    """A dashboard setting as a plain attribute: reads its control's value (as ``kind``), and setting it moves
    the control, which runs the control's observers as a student's click would."""

    def __init__(self, control: str, kind: type):
        self.control, self.kind = control, kind

    def __get__(self, dashboard, owner=None):
        return self if dashboard is None else self.kind(getattr(dashboard, self.control).value)

    def __set__(self, dashboard, value) -> None:
        getattr(dashboard, self.control).value = value


def crop8(image: np.ndarray) -> np.ndarray:
    """Crop ``[H, W, 3]`` to multiples of 8 px (the decoder upsamples ×8)."""
    h, w = image.shape[:2]
    return image[: h - h % 8, : w - w % 8]
