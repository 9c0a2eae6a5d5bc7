"""Figures the notebooks draw: image rows, feature-map grids, Gram heat-maps, loss curves.

Every function returns a :class:`matplotlib.figure.Figure` built without ``pyplot`` (so it is safe to draw
from a widget's background thread and is never shown twice); in a notebook, ``display(fig)`` shows it, and
:class:`LiveFigure` redraws one output area in place while a loop runs. Images are drawn with
``aspect="equal"``: never stretched.

Used by ``notebooks/01_content_parsing.ipynb`` … ``06_evaluation_and_scale.ipynb`` and
:mod:`gantransfer.notebook.dashboards`.
"""
from __future__ import annotations

import io
import math
import sys
from typing import Any, Callable, Mapping, Sequence

import IPython
import numpy as np
from IPython import display as ipython_display
from matplotlib.figure import Figure
from PIL import Image


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def draw_image(ax, image, title: str | None = None) -> None:
    """Draw an ``[H, W, 3]`` image in [0, 1] on ``ax``, undistorted (``aspect="equal"``), without ticks."""
    image = np.clip(np.asarray(image, np.float32), 0, 1)
    ax.imshow(image, aspect="equal", interpolation="lanczos" if max(image.shape[:2]) < 200 else "antialiased")
    if title:
        ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def show_images(images: Sequence, *, titles: Sequence[str] | None = None, suptitle: str,
                ncols: int | None = None, size: float = 2.4) -> Figure:
    """A grid of ``[H, W, 3]`` images in [0, 1], each titled, none stretched.

    Args:
      images: the images (different sizes are fine).
      titles: one per image.
      suptitle: the figure's title.
      ncols: images per row (all in one row by default).
      size: inches per image.
    """
    images = list(images)
    if not images:
        raise ValueError("no images to show")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    ncols = ncols or len(images)
    nrows = math.ceil(len(images) / ncols)
    aspect = max(np.shape(im)[0] / np.shape(im)[1] for im in images)
    fig = _figure(size * ncols, size * aspect * nrows + 0.5)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        if i < len(images):
            draw_image(ax, images[i], titles[i] if titles else None)
        else:
            ax.axis("off")
    fig.suptitle(suptitle)
    return fig


def feature_grid(feature_map, channels: Sequence[int], *, layer: str, image=None, ncols: int = 8,
                 size: float = 1.3) -> Figure:
    """Channels of one layer's feature map as grey heat-maps (bright = strong activation).

    Args:
      feature_map: ``[h, w, c]`` (or ``[1, h, w, c]``) activations.
      channels: which channels to draw.
      layer: the layer's name, for the title.
      image: optionally the input photo, drawn first for reference.
      ncols: panels per row.
    """
    fmap = np.asarray(feature_map, np.float32)
    if fmap.ndim == 4:
        fmap = fmap[0]
    if fmap.ndim != 3:
        raise ValueError(f"feature_map must be [h, w, c]; got shape {fmap.shape}")
    channels = [int(c) for c in channels]
    bad = [c for c in channels if not 0 <= c < fmap.shape[-1]]
    if bad:
        raise ValueError(f"channels {bad} out of range: layer {layer} has {fmap.shape[-1]} channels")
    panels = ([None] if image is not None else []) + channels
    nrows = math.ceil(len(panels) / ncols)
    h, w = fmap.shape[:2]
    fig = _figure(size * ncols, size * h / w * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, ch in zip(axes, panels):
        if ch is None:
            draw_image(ax, image, "input")
            continue
        ax.imshow(fmap[..., ch], cmap="magma", aspect="equal", interpolation="nearest")
        ax.set_title(f"ch {ch}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"{layer}: {h}×{w} positions × {fmap.shape[-1]} channels ({len(channels)} shown)")
    return fig


def heatmap(ax, matrix, *, title: str, xlabel: str = "channel j", ylabel: str = "channel i",
            annotate: bool | None = None, cmap: str = "viridis"):
    """Draw a matrix as a heat-map on ``ax`` with a colour bar; small matrices get their values written in."""
    m = np.asarray(matrix, np.float32)
    im = ax.imshow(m, cmap=cmap, aspect="equal", interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if annotate is None:
        annotate = max(m.shape) <= 8
    if annotate:
        lo, hi = float(m.min()), float(m.max())
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=8,
                    color="white" if v < (lo + hi) / 2 else "black")
        ax.set_xticks(range(m.shape[1]))
        ax.set_yticks(range(m.shape[0]))
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return im


def loss_curves(history: Sequence[Mapping[str, float]], *, keys: Sequence[str] = ("content", "style", "tv"),
                title: str = "losses", ax=None, width: float = 5.0, height: float = 3.0):
    """Loss curves on a log scale against the step, one line per key present and positive.

    Args:
      history: ``[{"step": int, key: float, ...}, ...]``.
      keys: which losses to draw.
      ax: draw on this axes (else a new figure is made and returned).
    Returns:
      The figure.
    """
    fig = None
    if ax is None:
        fig = _figure(width, height)
        ax = fig.subplots()
    steps = [h["step"] for h in history]
    for key in keys:
        values = [h.get(key, float("nan")) for h in history]
        if any(v is not None and v > 0 for v in values):
            ax.plot(steps, values, marker="." if len(steps) < 30 else None, label=key)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (before its weight)")
    ax.set_title(title, fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return fig or ax.figure


def figure_png(fig: Figure, *, dpi: int = 80) -> bytes:
    """Render a figure to PNG bytes (for an ``ipywidgets.Image``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def image_png(image) -> bytes:
    """Encode an ``[H, W, 3]`` float image in [0, 1] as PNG bytes (for an ``ipywidgets.Image``)."""

    array = (np.clip(np.asarray(image, np.float32), 0, 1) * 255 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def patch_logits_figure(real_image, real_logits, fake_image, fake_logits, *, title: str) -> Figure:
    """The discriminator's verdict, patch by patch: a real image and a fake, each beside its map of logits.

    Args:
      real_image, fake_image: ``[H, W, 3]`` in [0, 1] (the fake is clipped for drawing).
      real_logits, fake_logits: ``[N, h, w, 1]`` patch logits of the whole batches
        (:func:`gantransfer.pipeline.discriminator.patch_critic`); the maps of the first image are drawn,
        each titled with the mean over its batch.
      title: the figure's title.
    Both maps share one colour scale, symmetric about 0 (green: "real", red: "fake").
    """
    real_logits, fake_logits = np.asarray(real_logits, np.float32), np.asarray(fake_logits, np.float32)
    for name, logits in (("real_logits", real_logits), ("fake_logits", fake_logits)):
        if logits.ndim != 4 or logits.shape[-1] != 1:
            raise ValueError(f"{name} must be [N, h, w, 1]; got shape {logits.shape}")
    m = float(max(np.abs(real_logits).max(), np.abs(fake_logits).max(), 1e-3))
    fig = _figure(11, 2.9)
    axes = fig.subplots(1, 4)
    for (ax_img, ax_map), image, logits, what in [(axes[:2], real_image, real_logits, "real: a style crop"),
                                                  (axes[2:], fake_image, fake_logits, "fake: G(c, s)")]:
        draw_image(ax_img, image, what)
        im = ax_map.imshow(logits[0, ..., 0], cmap="RdYlGn", vmin=-m, vmax=m)
        ax_map.set_title(f"D's logits (mean over the batch {float(logits.mean()):+.2f})", fontsize=9)
        ax_map.set_xticks([])
        ax_map.set_yticks([])
    fig.colorbar(im, ax=axes[3], shrink=0.8, label="logit (green: real)")
    fig.suptitle(title)
    return fig


class LiveFigure:
    """One output area of a notebook that a loop redraws in place, as the run goes on.

    ``draw(*args, **kwargs)`` makes what to show (a :class:`~matplotlib.figure.Figure`, or anything
    ``display`` accepts, such as a ``Markdown`` table); each :meth:`update` calls it and shows the result in
    the same place: the first with ``display(obj, display_id=True)``, the next ones with the handle's
    ``update(obj)``, the lightest live plot that works both in JupyterLab and under nbclient. A figure
    that ``pyplot`` manages is closed once replaced, and the last one when the ``with`` block ends, so the
    inline backend never shows it a second time (this module's figures are built without ``pyplot``:
    nothing to close). Outside IPython (a script, a test) nothing is shown, but ``draw`` still runs and
    :attr:`figure` holds its latest result::

        with plots.LiveFigure(lambda step: plots.show_images(row, suptitle=f"step {step}")) as live:
            for step in range(steps):
                ...
                live.update(step)

    Args:
      draw: makes the object to show from :meth:`update`'s arguments; without it, :meth:`update` shows
        its one argument as it is.
      placeholder: shown at once, until the first update (say ``Markdown("*measuring…*")``).
    Attributes:
      figure: the object shown last (``None`` before the first update); updates: how many there were.
    """

    def __init__(self, draw: Callable[..., Any] | None = None, *, placeholder: Any = None):
        self.draw = draw
        self.figure: Any = None
        self.updates = 0
        self._handle = None
        if placeholder is not None:
            self._show(placeholder)

    def _show(self, obj) -> None:
        if IPython.get_ipython() is None:          # not in a kernel: display() would print the repr
            return
        if self._handle is None:
            self._handle = ipython_display.display(obj, display_id=True)
        else:
            self._handle.update(obj)

    def update(self, *args, **kwargs) -> Any:
        """Draw (``draw(*args, **kwargs)``, or the one argument itself) and show it in place of the last;
        returns what was drawn."""
        if self.draw is None:
            if len(args) != 1 or kwargs:
                raise TypeError("LiveFigure without draw: update(obj) takes exactly the object to show")
            obj = args[0]
        else:
            obj = self.draw(*args, **kwargs)
        self._show(obj)
        if self.figure is not None and self.figure is not obj:
            _close_if_pyplot(self.figure)
        self.figure = obj
        self.updates += 1
        return obj

    def close(self) -> None:
        """Close the last figure if ``pyplot`` manages it (the output area keeps showing it)."""
        if self.figure is not None:
            _close_if_pyplot(self.figure)

    def __enter__(self) -> "LiveFigure":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _close_if_pyplot(obj) -> None:
    # Only a figure made by pyplot is registered with it; if pyplot was never imported there is none, and
    # importing it here (it picks a GUI backend) would be wrong in a widget's thread: look it up instead.
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None and isinstance(obj, Figure):
        pyplot.close(obj)
