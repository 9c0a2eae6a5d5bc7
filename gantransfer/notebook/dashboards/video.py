"""Notebook 07's dashboard: a clip stylised by a chosen style and method, with and without temporal consistency.

:class:`VideoDashboard` — a style and a method (drop-downs) and the blend weight (a slider); **Run** stylises the
clip frame by frame (:func:`gantransfer.methods.temporal.stabilize`) at weight 0 and at the chosen weight, shows
three consecutive frames of each and prints both warping errors (Lai et al. 2018). The last run is kept in
:attr:`VideoDashboard.result` (for tests, and for the student to look at).
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from gantransfer.methods import temporal
from gantransfer.notebook import plots


class VideoDashboard:
    """Style × method × blend weight on one clip ``[T, H, W, 3]``.

    Args:
      clip: the input frames. styles, methods: the choices. make_stylizer: ``(style, method) -> frame → frame``
        (e.g. :func:`gantransfer.tools.video.frame_stylizer` with the clip's side), called once per run.
    """

    def __init__(self, clip, *, styles: Sequence[str], methods: Sequence[str],
                 make_stylizer: Callable[[str, str], Callable[[np.ndarray], np.ndarray]]):
        self.clip = [np.asarray(f, np.float32) for f in clip]
        if len(self.clip) < 3:
            raise ValueError(f"the clip needs at least 3 frames; got {len(self.clip)}")
        self.make_stylizer = make_stylizer
        self.style = widgets.Dropdown(options=list(styles), description="style")
        self.method = widgets.Dropdown(options=list(methods), description="method")
        self.blend = widgets.FloatSlider(value=temporal.DEFAULT_BLEND, min=0.0, max=1.0, step=0.1,
                                         description="blend", continuous_update=False)
        self.button = widgets.Button(description="Run", button_style="primary")
        self.status = widgets.HTML("")
        self.out = widgets.Output()
        self.result: dict | None = None
        self.button.on_click(lambda _: self.run())
        self.widget = widgets.VBox([widgets.HBox([self.style, self.method, self.blend, self.button]), self.status,
                                    self.out])

    def run(self) -> dict:
        """Stylise the clip per frame and with the blend; show and return ``{"per_frame", "temporal", "errors",
        "seconds"}``."""
        self.status.value = "stylising…"
        start = time.perf_counter()
        try:
            stylize = self.make_stylizer(self.style.value, self.method.value)
        except (FileNotFoundError, ValueError) as err:       # e.g. no generator for this style: say so, keep going
            self.status.value = f"<b>cannot run</b>: {err}"
            return {}
        runs = {name: [f.output for f in temporal.stabilize(self.clip, stylize, weight=w)]
                for name, w in (("per_frame", 0.0), ("temporal", float(self.blend.value)))}
        pairs = temporal.clip_pairs(self.clip)               # the clip's flows, once for both runs
        errors = {name: temporal.warping_error(out, pairs=pairs) for name, out in runs.items()}
        seconds = time.perf_counter() - start
        self.result = {**runs, "errors": errors, "seconds": seconds}
        mid = len(self.clip) // 2
        picks = [runs[name][k] for name in runs for k in (mid - 1, mid, mid + 1)]
        titles = [f"{name.replace('_', ' ')}, frame {k}" for name in runs for k in (mid - 1, mid, mid + 1)]
        fig = plots.show_images(picks, titles=titles, ncols=3, size=2.4,
                                suptitle=f"{self.style.value} · {self.method.value} · warping error "
                                         f"{errors['per_frame']:.4f} per frame, {errors['temporal']:.4f} blended")
        self.out.clear_output(wait=True)
        with self.out:
            display(fig)
        plt.close(fig)
        self.status.value = (f"{len(self.clip)} frames twice in {seconds:.1f} s; the blend leaves "
                             f"{errors['temporal'] / max(errors['per_frame'], 1e-12):.0%} of the flicker")
        return self.result
