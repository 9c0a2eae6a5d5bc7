"""Notebook 05b's dashboard: a per-style generator trained against its patch discriminator, live.

Taught in ``notebooks/05b_style_gan.ipynb``.
"""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Iterator, Mapping, NamedTuple, Sequence

import ipywidgets as W
import jax
import numpy as np
from matplotlib.figure import Figure

from gantransfer.core import samples
from gantransfer.core.validate import check_count
from gantransfer.notebook import plots
from gantransfer.notebook.dashboards.base import Runner, log_slider
from gantransfer.pipeline import discriminator, style_generator
from gantransfer.training import batches, style_gan

#: The ablation's three objectives (``scripts/gan_ablation.py``, ``docs/gan.md``), as presets.
GAN_PRESETS: dict[str, dict] = {
    "adversarial + Gram (the shipped recipe)": {},
    "Gram only (Johnson et al. 2016)": dict(adv_weight=0.0),
    "adversarial only": dict(style_weight=0.0),
}
#: The patch sides ``D`` may judge (squares: two ``k × k`` convolutions of stride ``k``).
D_PATCHES = (4, 9, 16, 25)


def _running_mean(values: Sequence[float], n: int = 10) -> np.ndarray:
    """Mean of the last ``n`` values at every step (fewer at the start)."""
    v = np.asarray(values, np.float64)
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(0, idx - n)
    return (c[idx] - c[lo]) / (idx - lo)


def gan_figure(history: Sequence[Mapping[str, float]], *, title: str = "adversarial training",
               width: float = 12.0) -> Figure:
    """The curves of a per-style GAN run (:func:`gantransfer.training.style_gan.train_step`'s metrics):

    * **what G is asked**: the content and the Gram style loss (relative; log scale);
    * **the game**: ``D``'s loss (with its value at chance, ``2 log 2``, dashed) and ``G``'s adversarial loss;
    * **D's verdicts**: the mean ``σ(D)`` on real patches (permuted style crops) and on ``G``'s patches.

    Thin lines are the steps, thick ones a running mean of 10 (a GAN's losses jump from batch to batch).
    Panels without data (``adv_weight = 0``: no ``D``) say so.
    """
    fig = Figure(figsize=(width, 3.0), layout="constrained")
    axes = fig.subplots(1, 3)
    steps = [h["step"] for h in history]

    def curve(ax, key, label, color):
        values = [h.get(key, float("nan")) for h in history]
        if not steps or all(not math.isfinite(v) for v in values):
            return False
        ax.plot(steps, values, color=color, alpha=0.3, lw=0.8)
        ax.plot(steps, _running_mean(values), color=color, lw=1.8, label=label)
        return True

    curve(axes[0], "content", "content (relu2_2)", "tab:blue")
    curve(axes[0], "style", "Gram style", "tab:orange")
    if steps:
        axes[0].set_yscale("log")
    axes[0].set_title("what G is asked (relative losses)", fontsize=10)
    has_d = curve(axes[1], "d_loss", "D's loss", "tab:purple")
    curve(axes[1], "g_adv", "G's adversarial loss", "tab:red")
    if has_d:
        axes[1].axhline(discriminator.D_LOSS_AT_CHANCE["ns"], color="tab:purple", ls="--", lw=0.8,
                        label="D at chance (2 log 2)")
    axes[1].set_title("the game" if has_d else "the game: no D (adv. weight 0)", fontsize=10)
    curve(axes[2], "d_real", "σ(D) on style patches", "tab:green")
    curve(axes[2], "d_fake", "σ(D) on G's patches", "tab:red")
    axes[2].axhline(0.5, color="grey", lw=0.8, ls="--")
    axes[2].set_ylim(0, 1)
    axes[2].set_title("D's verdicts", fontsize=10)
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle(title)
    return fig


def verdict_figure(d_params: dict, picture: np.ndarray, style_crop: np.ndarray, *, title: str) -> Figure:
    """``D``'s verdict patch by patch: a crop of the style and ``G``'s picture, each beside its map of logits
    (green: "style", red: "G's"), one colour scale (:func:`gantransfer.notebook.plots.patch_logits_figure`)."""
    real = np.asarray(discriminator.patch_critic(d_params, jax.numpy.asarray(style_crop)[None]))
    fake = np.asarray(discriminator.patch_critic(d_params, jax.numpy.asarray(picture)[None]))
    return plots.patch_logits_figure(style_crop, real, picture, fake, title=title)


class GanProgress(NamedTuple):
    """A report of the dashboard's loop: the step, seconds so far, that step's metrics, ``G``'s picture of the
    held-out photo, and whether the run is over."""

    step: int
    seconds: float
    metrics: dict
    image: np.ndarray
    done: bool


class GanDashboard(Runner):
    """A per-style generator trained against its patch discriminator, a few steps per press of Run.

    Each run starts afresh from the same generator (``init_generator``: e.g. an early checkpoint, so a short run
    shows progress) and seed, so two runs differ only by the settings: the learning rates of ``G`` and ``D`` (log
    sliders), the weights of the adversarial and the Gram loss (0 switches a term off), the patch side ``D``
    judges, the number of steps, or a preset from :data:`GAN_PRESETS` (the ablation's three objectives). It shows
    live curves (:func:`gan_figure`), ``G``'s picture of a held-out photo, and after the run ``D``'s verdict on it
    patch by patch (:func:`verdict_figure`). The steps are the library's own
    (:func:`gantransfer.training.style_gan.train_style_gan`, in memory).

    Args:
      style: a bundled style name (or file) ``G`` learns.
      base: the settings the controls start from (crop, batch, width, …); default a small run: 96 px crops,
        batch 2, 60 steps.
      init_generator: where ``G`` starts: ``None`` (a fresh generator), generator parameters, or a generator file.
      contents: the photos of the training crops (default: the bundled ones).
      sample_photo: a photo ``[H, W, 3]`` *not* in ``contents``, painted after every report (held out).
      report_every: steps between redraws.
      params: VGG16 parameters (loaded on the first run if ``None``).
    Attributes:
      history: one dict of metrics per step of the last run; image: ``G``'s latest picture ``[H, W, 3]``;
      state: the training state after the last run (``state["g"]``, ``state["d"]``); last_config: its
      :class:`~gantransfer.training.style_gan.StyleGanConfig`; verdict: ``D``'s figure after the last run;
      error: the last error (bad settings, or a run that produced NaN), shown in the dashboard.
    """

    title = "adversarial training"

    def __init__(self, style: str = "waves", base: style_gan.StyleGanConfig | None = None, *, init_generator=None,
                 contents: Sequence[str] | None = None, sample_photo=None, report_every: int = 10,
                 params=None, view_width: int = 256):
        super().__init__(params=params, view_width=view_width)
        base = base or style_gan.StyleGanConfig(steps=60, batch=2, crop=96, pool_side=192, style_side=256,
                                                checkpoint_every=10 ** 6)
        if not isinstance(base, style_gan.StyleGanConfig):
            raise ValueError(f"base must be a style_gan.StyleGanConfig; got {type(base).__name__}")
        check_count(report_every, "report_every")
        self.style, self.base, self.report_every = style, base, report_every
        self.contents = tuple(contents or samples.CONTENT_NAMES)
        if isinstance(init_generator, (str, Path)):
            init_generator = style_generator.load_generator(init_generator)
        self.init_generator = init_generator
        photo = samples.content_image("chelsea", size=256) if sample_photo is None else sample_photo
        self.sample_photo = np.asarray(photo, np.float32)
        self.state, self.last_config, self.verdict = None, None, None
        self._style_crop = batches.load_resized(style, kind="style", side=base.style_side)[:base.crop * 2, :base.crop * 2]

        self.preset = W.Dropdown(options=["(custom)", *GAN_PRESETS], value="(custom)", description="preset",
                                 layout=W.Layout(width="420px"))
        self.g_lr = log_slider(base.g_learning_rate, -5, -2, "G's lr")
        self.d_lr = log_slider(base.d_learning_rate, -5, -2, "D's lr")
        self.adv_weight = W.FloatSlider(value=base.adv_weight, min=0, max=5, step=0.1, description="adv. weight",
                                        continuous_update=False)
        self.style_weight = W.FloatSlider(value=base.style_weight, min=0, max=40, step=1, description="Gram weight",
                                          continuous_update=False)
        self.d_patch = W.Dropdown(options=D_PATCHES, value=base.d_patch, description="D's patch")
        self.steps = W.IntSlider(value=base.steps, min=1, max=max(400, base.steps), description="steps")
        self._applying = False
        self._observe(self._on_preset, self.preset)
        self._observe(self._on_custom, self.g_lr, self.d_lr, self.adv_weight, self.style_weight, self.d_patch)
        self.verdict_view = W.Image(format="png")
        left = W.VBox([W.HTML("<b>Learning rates</b> (Adam)"), self.g_lr, self.d_lr, self.steps])
        right = W.VBox([W.HTML("<b>The objective and the judge</b>"), self.adv_weight, self.style_weight, self.d_patch])
        self.widget = W.VBox([self.preset, W.HBox([left, right]), self._buttons(), self.status,
                              W.HBox([W.VBox([W.HTML("G on a held-out photo"), self.image_view]), self.loss_view]),
                              self.verdict_view])
        self.loss_view.layout.width = f"{int(view_width * 2.6)}px"

    def set(self, **settings) -> None:
        """Set controls by config name: ``g_learning_rate``, ``d_learning_rate``, ``adv_weight``,
        ``style_weight``, ``d_patch``, ``steps``."""
        controls = {"g_learning_rate": self.g_lr, "d_learning_rate": self.d_lr, "adv_weight": self.adv_weight,
                    "style_weight": self.style_weight, "d_patch": self.d_patch, "steps": self.steps}
        unknown = sorted(set(settings) - set(controls))
        if unknown:
            raise ValueError(f"no control for {', '.join(unknown)}; the controls: {', '.join(controls)}")
        for name, value in settings.items():
            controls[name].value = value

    def _on_preset(self, change):
        if change["new"] not in GAN_PRESETS:
            return
        base = dataclasses.asdict(self.base)
        self._applying = True
        try:
            self.set(**{**{k: base[k] for k in ("g_learning_rate", "d_learning_rate", "adv_weight", "style_weight",
                                                  "d_patch")}, **GAN_PRESETS[change["new"]]})
        finally:
            self._applying = False

    def _on_custom(self, *_):
        if not self._applying and self.preset.value != "(custom)":
            self.preset.value = "(custom)"

    def config(self) -> style_gan.StyleGanConfig:
        """The :class:`~gantransfer.training.style_gan.StyleGanConfig` the controls describe (ValueError if impossible)."""
        return dataclasses.replace(self.base, steps=int(self.steps.value), g_learning_rate=float(self.g_lr.value),
                                   d_learning_rate=float(self.d_lr.value), adv_weight=float(self.adv_weight.value),
                                   style_weight=float(self.style_weight.value), d_patch=int(self.d_patch.value))

    def _start(self):
        config = self.config()
        state = style_gan.init_state(config)
        if self.init_generator is not None:
            if style_generator.generator_width(self.init_generator) != config.width:
                raise ValueError(f"init_generator has width {style_generator.generator_width(self.init_generator)}, "
                                 f"the run {config.width}")
            state["g"] = self.init_generator
            state["g_opt"] = style_gan._optimizers(config)[0].init(self.init_generator)
        self.last_config, self.verdict = config, None
        self.verdict_view.value = b""
        return self._train(config, state), config.steps

    def _train(self, config, state) -> Iterator[GanProgress]:
        start = time.perf_counter()
        report = None
        for report in style_gan.train_style_gan(config, style=self.style, workdir=None, contents=self.contents,
                                                vgg_params=self.params, state=state):
            self.state = report.state
            self.history.append({"step": report.step, **report.metrics})
            last = report.step == config.steps or self.should_stop()
            if report.step % self.report_every == 0 or last:
                image = style_generator.stylize(report.state["g"], self.sample_photo)
                yield GanProgress(report.step, time.perf_counter() - start, report.metrics, image, last)
            if last:
                break

    def _describe(self, report: GanProgress) -> str:
        m = report.metrics
        parts = [f"content {m['content']:.3g}", f"Gram {m['style']:.3g}"]
        if "d_loss" in m:
            parts += [f"D's loss {m['d_loss']:.3g}", f"σ(D) style {m['d_real']:.2f} vs G {m['d_fake']:.2f}"]
        return " · ".join(parts)

    def _show(self, report: GanProgress) -> None:
        self.image = report.image
        self.progress.value = min(report.step, self.progress.max)
        self.image_view.value = plots.image_png(self.image)
        config = self.last_config
        name = self.preset.value if self.preset.value != "(custom)" else "custom settings"
        fig = gan_figure(self.history, title=f"{name}: G lr {config.g_learning_rate:.2g}, D lr "
                                             f"{config.d_learning_rate:.2g}, adv {config.adv_weight:g}, "
                                             f"Gram {config.style_weight:g}, {config.d_patch} px patches")
        self.loss_view.value = plots.figure_png(fig)
        if not report.done:
            self.status.value = f"step {report.step}/{self.progress.max} · {report.seconds:.1f} s · {self._describe(report)}"

    def _finished(self) -> None:
        if self.state is not None and self.last_config.adv_weight > 0:
            self.verdict = verdict_figure(self.state["d"], self.image, self._style_crop,
                                          title=f"D's verdict after {self.history[-1]['step']} steps")
            self.verdict_view.value = plots.figure_png(self.verdict)
