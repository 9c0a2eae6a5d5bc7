"""The seed's pipeline as one figure: content parsing → style matrix → fusion → ``I_s = G(I_c, S)``, and the
discriminator judging ``I_s`` against real images of the style; labelled in English and, where a font has the
glyphs, in the seed's Chinese terms. Drawn in ``notebooks/00_overview.ipynb`` (through :mod:`gantransfer.tools.course`).
"""
from __future__ import annotations

import logging

import numpy as np
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

__all__ = ["pipeline_figure"]

def _cjk_font() -> str | None:
    """A installed font family with Chinese glyphs, or ``None`` (then the figure is in English only)."""

    wanted = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
              "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "Hiragino Sans GB", "AR PL UMing CN",
              "Droid Sans Fallback", "Noto Sans CJK JP")
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in wanted if name in names), None)


def pipeline_figure(content=None, style=None, result=None, *, chinese: bool | None = None):
    """The seed's pipeline as a figure: content parsing → style matrix → fusion → ``I_s = G(I_c, S)``,
    and the discriminator judging ``I_s`` against real images of the style.

    Args:
      content, style, result: ``[H, W, 3]`` images for ``I_c``, the style image and ``I_s`` (``None``:
        a labelled empty box).
      chinese: add the seed's Chinese terms (default: when a font with Chinese glyphs is installed).
    Returns:
      A ``matplotlib.figure.Figure`` (no pyplot state), one box per step with its notebook number.
    """

    font = _cjk_font()
    chinese = (font is not None) if chinese is None else (chinese and font is not None)
    zh = (lambda text: f"\n{text}") if chinese else (lambda text: "")
    family = [font, "DejaVu Sans"] if chinese else None
    if chinese:  # CJK fonts often lack the exact weights asked for; matplotlib logs each substitution
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

    fig = Figure(figsize=(13, 5.6), layout="constrained")
    ax = fig.subplots()
    ax.set_xlim(0, 26)
    ax.set_ylim(0, 11.2)
    ax.set_axis_off()
    text_kw = dict(ha="center", va="center", fontsize=9.5, **({"fontfamily": family} if family else {}))

    def box(x, y, w, h, label, colour, notebook=None, *, dashed=False):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.1,rounding_size=0.25", fc=colour,
                                    ec="#444444", lw=1.2, ls="--" if dashed else "-"))
        if label:
            ax.text(x + w / 2, y + h / 2, label, **text_kw)
        if notebook:
            ax.text(x + w - 0.1, y + h - 0.12, notebook, ha="right", va="top", fontsize=7.5, color="#555555")

    def picture(x, y, side, image, label):
        if image is None:
            box(x, y, side, side, "?", "#f4f4f4")
        else:
            ax.imshow(np.clip(np.asarray(image, np.float32), 0, 1), extent=(x, x + side, y, y + side),
                      interpolation="lanczos", zorder=2)
            ax.add_patch(FancyBboxPatch((x, y), side, side, boxstyle="square,pad=0", fc="none", ec="#444444",
                                        lw=1.0, zorder=3))
        ax.text(x + side / 2, y - 0.35, label, **{**text_kw, "va": "top"})

    def arrow(p, q, *, text=None, colour="#333333", dashed=False, rad=0.0, offset=(0, 0.3)):
        ax.add_patch(FancyArrowPatch(p, q, arrowstyle="-|>", mutation_scale=14, lw=1.4, color=colour,
                                     ls="--" if dashed else "-", connectionstyle=f"arc3,rad={rad}", zorder=4))
        if text:
            ax.text((p[0] + q[0]) / 2 + offset[0], (p[1] + q[1]) / 2 + offset[1], text,
                    **{**text_kw, "fontsize": 8.5, "color": colour})

    # Inputs.
    picture(0.3, 6.6, 2.8, content, "content photo $I_c$" + zh("源图像"))
    picture(0.3, 1.6, 2.8, style, "style image" + zh("风格图像"))
    # The generator G: encoder (content parsing), style matrix, fusion, decoder.
    box(4.0, 0.7, 14.6, 9.9, "", "#fbfbf3", dashed=True)
    ax.text(11.3, 10.25, "generator  $I_s = G(I_c, S)$" + (" 生成器" if chinese else ""),
            **{**text_kw, "fontsize": 11, "fontweight": "bold"})
    box(4.6, 6.5, 3.8, 3.0, "content parsing" + zh("内容解析") + "\nCNN (VGG16)\nfeature maps $F^l(I_c)$",
        "#dcecf9", "01")
    box(4.6, 1.5, 3.8, 3.0, "CNN (VGG16)\nfeature maps\n$F^l(I_{style})$", "#dcecf9", "01")
    box(9.5, 1.5, 3.8, 3.0, "style matrix $S$" + zh("风格矩阵") + "\n$G^l = F^{\\top}F / hw$\n(or mean/std)",
        "#e5f5df", "02")
    box(9.5, 6.5, 3.8, 3.0, "fusion" + zh("融合") + "\noptimisation (03)\nor AdaIN/WCT (04)", "#fde9d9", "03–04")
    box(14.4, 6.5, 3.6, 3.0, "decoder\n(trained, 04)\nfeatures → image", "#fde9d9", "04")
    picture(19.4, 6.6, 2.8, result, "stylised $I_s$")
    # The discriminator.
    picture(19.4, 1.6, 2.8, style, "real images\nof the style")
    box(23.0, 3.8, 2.8, 3.0, "discriminator\n$D$" + zh("判别器") + "\nreal or fake?", "#f3e1f5", "05")

    arrow((3.2, 8.0), (4.55, 8.0))
    arrow((3.2, 3.0), (4.55, 3.0))
    arrow((8.45, 3.0), (9.45, 3.0))
    arrow((8.45, 8.0), (9.45, 8.0))
    arrow((11.4, 4.55), (11.4, 6.45), text="$S$", offset=(0.4, 0))
    arrow((13.35, 8.0), (14.35, 8.0))
    arrow((18.05, 8.0), (19.35, 8.0))
    arrow((22.25, 7.6), (23.6, 6.85), text="fake", offset=(-0.1, 0.45), colour="#7a3d8c")
    arrow((22.25, 3.0), (23.6, 3.75), text="real", offset=(-0.1, -0.45), colour="#7a3d8c")
    arrow((24.4, 6.85), (18.2, 9.8), text="adversarial training" + (" 对抗训练" if chinese else "")
          + "\n(05: sharpen G)", colour="#7a3d8c", dashed=True, rad=0.25, offset=(1.6, 1.15))
    fig.suptitle("The seed's pipeline: content parsing → style matrix → fusion → $I_s = G(I_c, S)$, "
                 "judged by a discriminator", fontsize=12)
    return fig
