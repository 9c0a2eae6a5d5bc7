"""Notebook 06's dashboard: distort a photo in a controlled way and watch what the metrics make of it.

Taught in ``notebooks/06_evaluation_and_scale.ipynb`` (section 1, where each metric fails).
"""
from __future__ import annotations

import html
from typing import Callable, Mapping, Sequence

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from gantransfer.methods import distortions
from gantransfer.notebook import plots
from gantransfer.notebook.dashboards.base import Dashboard, dropdown


class DistortionExplorer(Dashboard):
    """A distortion (dropdown) and its strength (slider); each change distorts the photo, measures the result
    against the photo and redraws both side by side, with the numbers below (notebook 06).

    The distortions are :func:`gantransfer.methods.distortions.distort`'s; what is measured is up to
    ``measure`` (the notebook's: LPIPS, SSIM and the Gram distance), so the explorer itself computes no
    metric and needs no network.

    Args:
      photo: ``[H, W, 3]`` in [0, 1], the reference every distorted copy is compared with.
      measure: ``measure(distorted, photo) -> {name: value}``.
      relative: optionally ``relative(measured) -> {name: value}``, the same numbers on a common scale (the
        notebook's: as a fraction of the distance to another photo), shown after them.
      relative_name: how the label introduces the relative values.
      other: the image ``"blend"`` mixes in (without it, ``"blend"`` is not offered).
      kinds: the distortions offered (default: every one of :data:`gantransfer.methods.distortions.DISTORTIONS`
        that applies).
      kind, strength: the starting distortion and strength (in [0, 1]).
      seed: the seed of the random distortions (noise, jitter, tiles), fixed so a strength can be revisited.
    Attributes:
      image: the current distorted ``[H, W, 3]`` photo; metrics: ``measure``'s dict for it; relative_metrics:
      ``relative``'s (``{}`` without it); png: the figure as PNG bytes; renders: how many updates ran;
      error: the last error, shown in ``status``; widget: the controls, the picture and the label.
    """

    def __init__(self, photo, measure: Callable[[np.ndarray, np.ndarray], Mapping[str, float]], *,
                 relative: Callable[[Mapping[str, float]], Mapping[str, float]] | None = None,
                 relative_name: str = "relative", other=None, kinds: Sequence[str] | None = None,
                 kind: str = "tiles", strength: float = 0.5, seed: int = 1, view_width: int = 480):
        super().__init__()
        self.photo = np.asarray(photo, np.float32)
        if self.photo.ndim != 3 or self.photo.shape[-1] != 3:
            raise ValueError(f"photo must be [H, W, 3]; got shape {self.photo.shape}")
        self.measure, self.relative, self.relative_name = measure, relative, relative_name
        self.other = None if other is None else np.asarray(other, np.float32)
        offered = tuple(k for k in distortions.DISTORTIONS if k != "blend" or self.other is not None)
        kinds = offered if kinds is None else tuple(kinds)
        unknown = [k for k in kinds if k not in offered]
        if unknown or not kinds:
            raise ValueError(f"kinds must be among {', '.join(offered)}; got {list(kinds)}"
                             + (" (blend needs other=)" if "blend" in unknown else ""))
        if not 0.0 <= float(strength) <= 1.0:
            raise ValueError(f"strength must be in [0, 1]; got {strength}")
        self.seed = int(seed)
        self.kind = dropdown("kind", kind, kinds, "distortion")
        self.strength = W.FloatSlider(value=float(strength), min=0.0, max=1.0, step=0.05, description="strength",
                                      continuous_update=False)
        self.view = W.Image(format="png", width=view_width)
        self.label = W.HTML()
        self.image: np.ndarray | None = None
        self.metrics: dict[str, float] = {}
        self.relative_metrics: dict[str, float] = {}
        self.png = b""
        self.renders = 0
        self._observe(self.update, self.kind, self.strength)
        self.widget = W.VBox([W.HBox([self.kind, self.strength]), self.status, self.view, self.label])
        self.update()

    def update(self, *_) -> None:
        """Distort, measure and redraw with the current controls (their observers call it)."""
        kind, strength = self.kind.value, float(self.strength.value)
        image = distortions.distort(self.photo, kind, strength, other=self.other, seed=self.seed)
        metrics = {k: float(v) for k, v in self.measure(image, self.photo).items()}
        relative = {k: float(v) for k, v in self.relative(metrics).items()} if self.relative else {}
        fig = Figure(figsize=(6, 3), layout="constrained")
        a, b = fig.subplots(1, 2)
        plots.draw_image(a, self.photo, "photo")
        plots.draw_image(b, image, f"{kind}, strength {strength:.2f}")
        self.image, self.metrics, self.relative_metrics = image, metrics, relative
        self.png = plots.figure_png(fig)
        self.view.value = self.png
        text = " · ".join(f"<b>{html.escape(k)}</b> {v:.3g}" for k, v in metrics.items())
        if relative:
            text += (f"<br>{html.escape(self.relative_name)}: "
                     + " · ".join(f"{html.escape(k)} {v:.2f}" for k, v in relative.items()))
        self.label.value = f"{text}<br><i>{html.escape(distortions.DISTORTIONS[kind])}</i>"
        self.renders += 1
