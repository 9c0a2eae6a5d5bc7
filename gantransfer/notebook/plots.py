"""Figures the notebooks draw: image rows, feature-map grids, Gram heat-maps, loss curves.

Every function returns a :class:`matplotlib.figure.Figure` built without ``pyplot`` (so it is safe to draw
from a widget's background thread and is never shown twice); in a notebook, ``display(fig)`` shows it and
``display(fig, display_id=True).update(fig)`` redraws it in place. Images are drawn with
``aspect="equal"``: never stretched.

Used by ``notebooks/01_content_parsing.ipynb`` … ``03_style_transfer.ipynb`` and :mod:`gantransfer.notebook.dashboards`.
"""
from __future__ import annotations

import io
import math
from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


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
    from PIL import Image

    array = (np.clip(np.asarray(image, np.float32), 0, 1) * 255 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()
