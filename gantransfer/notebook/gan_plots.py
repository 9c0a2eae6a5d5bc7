"""Figures of the GANs you can watch (notebook 05): the toy GAN's points over ``D``'s verdict, which modes ``G``
covers over time, and a texture ``G`` paints beside its style.

Built without ``pyplot`` (as :mod:`gantransfer.notebook.plots`), so they can be drawn from a loop and shown with
:class:`gantransfer.notebook.plots.LiveFigure`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from gantransfer.notebook import plots


def toy_panels(panels: Sequence[dict], *, suptitle: str = "", extent: float = 3.0, size: float = 3.2) -> Figure:
    """One panel per run: ``D``'s verdict ``σ(D(x))`` as a background (red = "real"), ``G``'s points on top,
    the ring's centres as crosses.

    Args:
      panels: dicts with ``"title"``, ``"samples"`` ``[n, 2]``, ``"surface"`` ``[S, S]`` in [0, 1] (rows from the
        top, :func:`gantransfer.training.toy_gan.decision_surface`) and ``"centres"`` ``[modes, 2]``.
      extent: the half-width of the square shown (the surface's own).
    """
    fig = Figure(figsize=(size * len(panels), size + 0.4))
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.imshow(panel["surface"], extent=(-extent, extent, -extent, extent), cmap="RdBu_r", vmin=0, vmax=1,
                  alpha=0.55)
        points = np.asarray(panel["samples"])
        ax.scatter(points[:, 0], points[:, 1], s=2, c="black", alpha=0.4, linewidths=0)
        centres = np.asarray(panel["centres"])
        ax.scatter(centres[:, 0], centres[:, 1], marker="x", c="tab:green", s=40)
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(panel["title"], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def mode_history(steps: Sequence[int], shares: Sequence[Sequence[float]], *, title: str = "") -> Figure:
    """Which modes ``G`` covers over training: a heat map of each mode's share of ``G``'s high-quality points
    (rows = modes, columns = reports). A mode that goes dark and another that lights up is mode hopping."""
    shares = np.asarray(shares, np.float64).T                                  # [modes, reports]
    fig = Figure(figsize=(7, 2.6))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(shares, aspect="auto", cmap="magma", interpolation="nearest",
                      extent=(steps[0], steps[-1], shares.shape[0] - 0.5, -0.5))
    ax.set_xlabel("step")
    ax.set_ylabel("mode")
    ax.set_title(title or "share of G's points at each mode", fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig


def texture_row(style, textures: Sequence[np.ndarray], titles: Sequence[str], *, suptitle: str = "") -> Figure:
    """The style image, then textures made from it (``[H, W, 3]`` each), in one row."""
    return plots.show_images([style, *textures], titles=["style", *titles], suptitle=suptitle)
