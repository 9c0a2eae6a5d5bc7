"""Notebook 01's dashboard: browse the feature maps VGG16 computes at each depth (content parsing, 内容解析).

Taught in ``notebooks/01_content_parsing.ipynb``.
"""
from __future__ import annotations

from typing import Sequence

import ipywidgets as W
import numpy as np

from gantransfer.core import samples
from gantransfer.notebook import plots
from gantransfer.notebook.dashboards.base import Dashboard, dropdown
from gantransfer.pipeline import extractor


class FeatureMapBrowser(Dashboard):
    """Browse a photo's VGG16 feature maps: pick a layer and a page of channels (notebook 01).

    Args:
      content: a name from :data:`gantransfer.core.samples.CONTENT_NAMES`.
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
        self.content = dropdown("content", content, samples.CONTENT_NAMES, "photo")
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
