"""Checked questions: predict before you run, then the checker computes the answer with the library.

Each question is an exercise like the others (a ``my_…`` function to complete, a hidden reference solution in
:data:`gantransfer.notebook.exercises.SOLUTIONS`), but its function only *returns the student's answer*:
``def my_tiles_gram(): return "unchanged"``. The checker never stores the right answer: it computes it on the
spot from the library (VGG16's layer table, a Gram matrix of shuffled tiles, an SSIM), compares, and explains
in one line (:mod:`gantransfer.notebook.checking`). Also here: notebook 06's style-ratio exercise.

| exercise | notebook | what the checker computes |
| --- | --- | --- |
| ``reshape_counts`` | 00 | the element counts of the seed snippet's ``Reshape`` |
| ``gram_size`` | 00 | the shape of ``style.gram_matrix`` of relu4_1 features of two photo sizes |
| ``which_block`` | 01 | :func:`gantransfer.notebook.receptive.vgg16_table` at 224 px |
| ``tiles_gram`` | 02 | the Gram matrix of an image's pixels before and after :func:`~gantransfer.methods.distortions.shuffle_tiles` |
| ``repainted_ssim`` | 06 | :func:`gantransfer.methods.metrics.ssim` of a style and the same style painted with another seed |
| ``style_ratio`` | 06 | the ratio against :func:`gantransfer.methods.judging.style_ratio`'s definition, on a distance it is given |
"""
from __future__ import annotations

from typing import Callable

import jax.numpy as jnp
import numpy as np

from gantransfer.core import paint, resize
from gantransfer.methods import distortions, judging, metrics
from gantransfer.notebook import receptive
from gantransfer.notebook.checking import Wrong, as_array, call_student, need_callable, report, scalar
from gantransfer.pipeline import style

#: The choices of each multiple-choice question.
CHOICES: dict[str, tuple[str, ...]] = {
    "tiles_gram": ("unchanged", "slightly changed", "completely changed"),
    "repainted_ssim": ("close to 1", "far below 1"),
}


#: The library's own answers, switched off while the student's function runs.
REFUSE: dict[str, tuple[Callable, ...]] = {"style_ratio": (judging.style_ratio, judging.judge)}


def _choice(name: str, out) -> str:
    options = CHOICES[name]
    if not isinstance(out, str) or out.strip().lower() not in options:
        raise Wrong(f"return one of {', '.join(repr(o) for o in options)} (a string); you returned {out!r}.")
    return out.strip().lower()


def _integer(out, what: str) -> int:
    value = scalar(as_array(out, what))
    if value != int(value):
        raise Wrong(f"{what} is a whole number; you returned {value:g}.")
    return int(value)


def check_reshape_counts(fn: Callable) -> bool:
    """``fn() -> (before, after)``: the number of elements of a 256 × 256 × 64 tensor and of ``Reshape((64, 64, 5))``'s
    output, the seed article's snippet — a reshape keeps every element, so it can only work if they are equal."""
    name = "reshape_counts"
    if not need_callable(name, fn):
        return False

    def body():
        out = call_student(fn)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Wrong("return two numbers, `return before, after`.")
        before, after = _integer(out[0], "before"), _integer(out[1], "after")
        want_before, want_after = int(np.prod((256, 256, 64))), int(np.prod((64, 64, 5)))
        if (before, after) == (want_after, want_before):
            raise Wrong("the two counts are swapped: before = 256·256·64, after = 64·64·5.")
        if before != want_before:
            raise Wrong(f"before = 256 · 256 · 64 elements; you have {before:,}.")
        if after != want_after:
            raise Wrong(f"after = 64 · 64 · 5 elements; you have {after:,}.")
        return (f"{before:,} elements cannot become {after:,}: the snippet's Reshape can never run, so the course "
                "implements the method, not the snippet.")

    return report(name, body)


def check_gram_size(fn: Callable) -> bool:
    """``fn() -> int``: how many rows the style matrix of ``relu4_1`` features (512 channels) has, for a 256 px
    and for a 512 px photo. The checker builds both Gram matrices with :func:`gantransfer.pipeline.style.gram_matrix`."""
    name = "gram_size"
    if not need_callable(name, fn):
        return False

    def body():
        got = _integer(call_student(fn), "the number of rows")
        # relu4_1 has stride 8: a 256 px photo gives 32 × 32 positions, a 512 px one 64 × 64; 512 channels.
        rows = {side: style.gram_matrix(jnp.ones((side // 8, side // 8, 512), jnp.float32)).shape[0]
                for side in (256, 512)}
        if len(set(rows.values())) != 1:
            raise Wrong(f"internal: the Gram matrices differ in size {rows}")
        want = rows[256]
        if got in (32 * 32, 64 * 64, 256, 512 * 512):
            raise Wrong(f"you answered {got}: that counts positions or pixels. The style matrix compares channels "
                         f"with channels, so it has one row per channel: {want} × {want}, at both sizes.")
        if got != want:
            raise Wrong(f"you answered {got}; it has one row per channel: {want} × {want}, at both sizes.")
        return (f"{want} × {want} for the 256 px photo and for the 512 px one: the style matrix does not depend on the "
                "image size, which is why a style image of one size can guide a picture of another.")

    return report(name, body)


def check_which_block(fn: Callable) -> bool:
    """``fn() -> int``: the VGG16 block (1–5) whose layers give a 224 px photo a ``[1, 28, 28, 512]`` feature map,
    read by the checker from :func:`gantransfer.notebook.receptive.vgg16_table`."""
    name = "which_block"
    if not need_callable(name, fn):
        return False

    def body():
        got = _integer(call_student(fn), "the block")
        layers = [row["layer"] for row in receptive.vgg16_table(224) if row["shape"] == (28, 28, 512)]
        blocks = sorted({int(layer[4]) for layer in layers if layer.startswith(("conv", "relu"))})
        if len(blocks) != 1:
            raise Wrong(f"internal: shape (28, 28, 512) appears in blocks {blocks}")
        want = blocks[0]
        if got == want:
            return (f"block {want} ({', '.join(layers)}): 224 / 28 = stride 8, three poolings behind it, and 512 "
                    "channels; block 5 also has 512 channels but stride 16 (14 × 14).")
        if got == 5:
            raise Wrong("block 5 also has 512 channels, but after four poolings its maps are 224 / 16 = 14 px wide. "
                         "Count the poolings: 224 / 28 = 8 = 2³.")
        if got == 3:
            raise Wrong("224 / 28 = 8 = 2³ is right for the stride, but block 3's maps (after two poolings) are 56 px "
                         "wide with 256 channels: the pooling comes at the *end* of a block, so stride 8 starts block 4.")
        raise Wrong(f"block {got} has maps of another size or width: the stride is 224 / 28 = 8 (three poolings), "
                     "and only blocks 4 and 5 have 512 channels.")

    return report(name, body)


def check_tiles_gram(fn: Callable) -> bool:
    """``fn() -> str``, one of :data:`CHOICES` ``["tiles_gram"]``: what shuffling an image's 4 × 4 tiles does to the
    Gram matrix of its pixels (the 3 colour channels as a feature map). The checker shuffles a style's tiles
    (:func:`gantransfer.methods.distortions.shuffle_tiles`) and compares the two Gram matrices."""
    name = "tiles_gram"
    if not need_callable(name, fn):
        return False

    def body():
        got = _choice(name, call_student(fn))
        img = resize.resize_longest(paint.make_style("stained_glass", size=64).astype(np.float32) / 255, 64)
        img = img[: img.shape[0] // 4 * 4, : img.shape[1] // 4 * 4]                # a whole number of tiles
        shuffled = distortions.shuffle_tiles(img, 4, seed=0)
        g, g_shuffled = (np.asarray(style.gram_matrix(jnp.asarray(x)), np.float64) for x in (img, shuffled))
        change = float(np.abs(g - g_shuffled).max() / np.abs(g).max())
        moved = float(np.mean(np.any(img != shuffled, axis=-1)))
        want = ("unchanged" if change < 1e-5 else "slightly changed" if change < 0.1 else "completely changed")
        if got != want:
            raise Wrong(f"it is {want!r}: shuffling moved {moved:.0%} of the pixels, and the Gram matrix changed by "
                         f"{change:.1e} of its largest entry. G = (1/hw) Σ_p F_p F_pᵀ is a sum over positions, and "
                         "a sum does not depend on the order of its terms.")
        return (f"{want}: {moved:.0%} of the pixels moved, the Gram matrix changed by {change:.1e} of its largest "
                "entry (float rounding). A sum over positions forgets where things were.")

    return report(name, body)


def check_repainted_ssim(fn: Callable) -> bool:
    """``fn() -> str``, one of :data:`CHOICES` ``["repainted_ssim"]``: is the SSIM between a style image and the
    same style painted with another random seed close to 1 or far below it? The checker paints both
    (:func:`gantransfer.core.paint.make_style`) and measures :func:`gantransfer.methods.metrics.ssim`."""
    name = "repainted_ssim"
    if not need_callable(name, fn):
        return False

    def body():
        got = _choice(name, call_student(fn))
        a, b = (jnp.asarray(resize.resize_longest(paint.make_style("brush_strokes", seed=s).astype(np.float32) / 255,
                                                  64))[None] for s in (0, 1))
        value = float(metrics.ssim(a, b)[0])
        want = "close to 1" if value > 0.8 else "far below 1"
        if got != want:
            raise Wrong(f"SSIM of brush strokes against brush strokes painted again is {value:.2f}: {want}. SSIM "
                         "compares pixels window by window, and every stroke moved, so no window correlates — "
                         "though a viewer sees the same style.")
        return f"{value:.2f}: SSIM sees every moved stroke; it measures fidelity to the pixels, not style."

    return report(name, body)


def check_style_ratio(fn: Callable) -> bool:
    """Check ``fn(distance, picture, photo, style_image) -> float``: the style ratio of
    :func:`gantransfer.methods.judging.style_ratio`, ``distance(picture, style) / distance(photo, style)``, for any
    ``distance(a, b) -> float`` it is given. The checker gives a cheap one (squared difference of channel means)."""
    name = "style_ratio"
    if not need_callable(name, fn):
        return False

    def distance(a, b):
        return float(np.sum((np.asarray(a, np.float64).mean((0, 1)) - np.asarray(b, np.float64).mean((0, 1))) ** 2))

    def body():
        rng = np.random.default_rng(11)
        photo = rng.uniform(0.0, 0.6, (6, 8, 3))
        style_image = rng.uniform(0.4, 1.0, (5, 7, 3))
        for mix in (0.3, 0.8):
            picture = (1 - mix) * photo + mix * style_image.mean((0, 1))
            got = scalar(call_student(fn, distance, picture, photo, style_image, refuse=REFUSE["style_ratio"]))
            d_ps, d_cs, d_pc = distance(picture, style_image), distance(photo, style_image), distance(picture, photo)
            want = d_ps / d_cs
            if np.isclose(got, want, rtol=1e-4):
                continue
            where = f"for a picture {mix:.0%} of the way to the style's colours you return {got:.4g}, expected {want:.4g}"
            known = {
                "the ratio is upside down: the picture's distance goes on top, the photo's below": d_cs / d_ps,
                "that is a difference; the style ratio divides the picture's distance by the photo's": d_ps - d_cs,
                "you measured the picture against the *photo*: the style ratio measures both against the style":
                    d_pc / d_cs,
                "that is the picture's distance alone: divide by the photo's own distance to the style": d_ps,
            }
            for hint, value in known.items():
                if np.isclose(got, value, rtol=1e-4):
                    raise Wrong(f"{where}: {hint}.")
            raise Wrong(where + ". style ratio = distance(picture, style) / distance(photo, style).")
        return "distance(picture, style) / distance(photo, style): 1 = no closer to the style than the photo, 0 = there."

    return report(name, body)
