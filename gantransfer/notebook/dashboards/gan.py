"""Notebook 05's dashboard: adversarial training run live, its losses, D's verdicts and the alerts.

Taught in ``notebooks/05_adversarial_training.ipynb``.
"""
from __future__ import annotations

import dataclasses
import math
import time
import warnings
from typing import Iterator, Mapping, NamedTuple, Sequence

import ipywidgets as W
import jax
import numpy as np
from matplotlib.figure import Figure

from gantransfer.core.validate import check_count
from gantransfer.notebook import plots
from gantransfer.notebook.dashboards.base import Runner, log_slider
from gantransfer.pipeline import discriminator, extractor, generator
from gantransfer.training import adversarial, batches

#: Settings that make a short run fail on purpose (notebook 05), on top of the dashboard's base settings.
#: Found by trial with 64 px crops, batch 2, a half-width decoder from scratch, G at lr 1e-3 and D at 4e-3
#: (hinge loss, R1 γ = 0.1 or 1, spectral norm), 40-50 steps, detector window 10:
#:
#: * "discriminator too strong": G nearly frozen, D wide, fast and unregularised; its margin saturates
#:   (> 0.95) and the detector reports "discriminator wins" at about step 25 (from a trained decoder the
#:   margin reaches 0.8-0.93 in 40 steps: D clearly ahead, the alert later).
#: * "learning rate too high": D's steps overshoot without spectral norm; its logits and loss jump by
#:   orders of magnitude (10⁴) and oscillate; no player *wins*, so the detector may stay silent.
#: * "generator collapse" (called "mode collapse" before section A of notebook 05 showed real mode collapse on the
#:   ring of Gaussians): the adversarial term outweighs the content loss 1000 to 1 and G takes 10× larger
#:   steps; G paints one picture for every photo (diversity 0) and the detector reports "generator
#:   collapse" between steps 15 and 40 (with adv_weight 1 the same learning rate only spikes, and recovers).
GAN_PRESETS: dict[str, dict] = {
    "healthy": {},
    "discriminator too strong": dict(g_learning_rate=1e-5, d_learning_rate=2e-3, spectral_norm=False, r1_weight=0.0,
                                     d_width=0.5),
    "learning rate too high": dict(d_learning_rate=1e-2, spectral_norm=False),
    "generator collapse": dict(adv_weight=1000.0, g_learning_rate=1e-2),
}



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
      (:data:`gantransfer.pipeline.discriminator.D_LOSS_AT_CHANCE`) dashed;
    * **D's scores**: the mean patch logit on real crops (``d_real``) and on G's outputs (``d_fake``);
    * **warning signs**: D's probability margin ``d_margin`` and G's output ``diversity``, with the
      thresholds of :mod:`gantransfer.training.adversarial`'s divergence detector dashed.

    Thin lines are the steps, thick ones a running mean of 10 (a GAN's losses jump from batch to batch).
    A red vertical line marks each step at which a divergence alert started.

    Args:
      history: one dict per step: ``{"step": int, "d_loss": float, ...}`` (the metrics of
        :func:`gantransfer.training.adversarial.d_step` and :func:`~gantransfer.training.adversarial.g_step`).
      samples: ``(step, [H, W, 3] image)`` pairs; the last four are drawn.
      alerts: ``(step, message)`` pairs.
      loss: the adversarial loss kind (sets the chance level).
    """

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


class GanProgress(NamedTuple):
    """What the dashboard's training loop reports: the step, seconds so far, that step's metrics, the
    sample image, the alerts that started since the last report, and whether the run is over."""

    step: int
    seconds: float
    metrics: dict
    image: np.ndarray
    alerts: tuple
    done: bool


class GanDashboard(Runner):
    """A few steps of adversarial training ``G`` vs ``D`` per press of Run (notebook 05).

    Each run starts afresh from the same decoder (``init_decoder``) and seed, so two runs differ only by
    the settings: the learning rates of ``G`` and ``D`` (log sliders), the adversarial loss (ns, hinge,
    lsgan), the adversarial weight, the R1 penalty, spectral normalisation, the number of steps, or a
    preset from :data:`GAN_PRESETS` that fails on purpose. It shows live curves (:func:`gan_figure`),
    ``G``'s output on a held-out photo, and the divergence detector's alerts
    (:func:`gantransfer.training.adversarial.divergence_alerts`). The steps are the library's pure
    :func:`gantransfer.training.adversarial.d_step` and :func:`~gantransfer.training.adversarial.g_step`; learning rates and
    weights are traced values of their compiled code (moving a slider does not recompile), while a new loss
    kind, spectral norm or R1 switched on or off, or another ``D`` width compiles new steps (tens of seconds
    on a CPU, once).

    Args:
      base: the settings the controls start from and do not show (crop, batch, widths, …); default a
        small run from scratch: 64 px crops, batch 2, G at 1e-3, D at 4e-3, a detector window of 10.
      init_decoder: where ``G`` starts (:func:`gantransfer.training.adversarial.init_gan_state`): ``None`` (from
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
      state: the GAN state after the last run; last_config: its :class:`~gantransfer.training.adversarial.GanTrainConfig`;
      error: the last error (bad settings, or a run that produced NaN), shown in the dashboard.
    """

    title = "adversarial training"

    def __init__(self, base=None, *, init_decoder=None, contents: Sequence[str] = ("astronaut", "coffee", "rocket"),
                 styles: Sequence[str] = ("brush_strokes",), sample_content: str = "chelsea",
                 sample_size: int | None = None, report_every: int = 5, presets: Mapping[str, dict] | None = None,
                 params=None, view_width: int = 256):
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
        self.g_lr = log_slider(base.g_learning_rate, -6, -1, "G's lr")
        self.d_lr = log_slider(base.d_learning_rate, -6, -1, "D's lr")
        self.loss = W.ToggleButtons(options=[("non-saturating", "ns"), ("hinge", "hinge"), ("least squares", "lsgan")],
                                    value=base.loss, description="loss")
        self.adv_weight = log_slider(base.adv_weight, -2, 4, "adv. weight")
        self.r1_on = W.Checkbox(value=base.r1_weight > 0, description="R1 penalty", indent=False)
        self.r1_weight = log_slider(base.r1_weight if base.r1_weight > 0 else 1.0, -2, 2, "R1 γ")
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
        """The :class:`~gantransfer.training.adversarial.GanTrainConfig` the controls describe (ValueError if impossible)."""
        return dataclasses.replace(
            self.base, **{**dict(
                steps=int(self.steps.value), g_learning_rate=float(self.g_lr.value), d_learning_rate=float(self.d_lr.value),
                loss=self.loss.value, adv_weight=float(self.adv_weight.value),
                r1_weight=float(self.r1_weight.value) if self.r1_on.value else 0.0,
                spectral_norm=bool(self.spectral_norm.value)), **self._extra})

    # -- running ------------------------------------------------------------------------------------
    def _pools_for(self, config):
        key = (config.pool_side,)
        if key not in self._pools:
            self._pools[key] = (batches.load_pool(self.contents, kind="content", side=config.pool_side),
                                batches.load_pool(self.styles, kind="style", side=config.pool_side))
        return self._pools[key]

    def _sample_inputs(self):
        """The held-out photo's central ``sample_size`` square and the first style: ``[1, S, S, 3]`` each."""
        content, style = (batches.load_pool([name], kind=kind, side=self.sample_size)[0]
                          for name, kind in [(self.sample_content, "content"), (self.styles[0], "style")])

        def centre(img):
            y, x = (img.shape[0] - self.sample_size) // 2, (img.shape[1] - self.sample_size) // 2
            return np.asarray(img[y:y + self.sample_size, x:x + self.sample_size], np.float32)[None]

        return centre(content), centre(style)

    def _start(self):
        config = self.config()
        pools = self._pools_for(config)
        self.last_config = config
        self.samples, self.alerts = [], []
        self.alerts_view.value = ""
        return self._train(config, pools, self._sample_inputs()), config.steps

    def _train(self, config, pools, sample) -> Iterator[GanProgress]:
        """Drive the library's loop (:func:`gantransfer.training.adversarial.train_gan`, in memory) and report
        every ``report_every`` steps with ``G``'s picture of the held-out photo."""
        if self._sample_fn is None:
            self._sample_fn = jax.jit(lambda g, v, c, s, width: jax.numpy.clip(adversarial.stylize(g, v, c, s, width=width), 0, 1),
                                      static_argnames="width")
        new_alerts: list[tuple[int, str]] = []
        start = time.perf_counter()
        report = None

        def progress(step, metrics, last):
            image = np.asarray(self._sample_fn(self.state["g_params"], self.params, *sample, width=config.width)[0])
            self.samples.append((step, image))
            out = GanProgress(step, time.perf_counter() - start, metrics, image, tuple(new_alerts), last)
            new_alerts.clear()
            return out

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", adversarial.DivergenceWarning)  # shown in the dashboard instead
            try:
                for report in adversarial.train_gan(config, workdir=None, init_decoder=self.init_decoder,
                                                    vgg_params=self.params, pools=pools):
                    self.state = report.state
                    self.history.append({"step": report.step, **report.metrics})
                    for message in report.alerts:
                        self.alerts.append((report.step, message))
                        new_alerts.append((report.step, message))
                    last = report.step == config.steps
                    if report.step % self.report_every == 0 or last:
                        yield progress(report.step, report.metrics, last)
                    if self.should_stop():
                        break
            except adversarial.Diverged as err:      # the curves show how it got there, then the error
                self.history.append({"step": err.step, **err.metrics})
                yield progress(err.step, err.metrics, True)
                raise FloatingPointError(f"{err} The curves show how it got there.") from None
        if report is not None and report.step % self.report_every and report.step != config.steps:
            yield progress(report.step, report.metrics, True)     # stopped: report where it stopped

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
