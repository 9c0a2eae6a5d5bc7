"""Checkers for notebook 07's exercises (video and textures), in the manner of :mod:`gantransfer.notebook.exercises`.

| exercise | reference |
| --- | --- |
| ``warping_error`` | :func:`gantransfer.methods.temporal.pair_error`, averaged over the pairs (Lai et al. 2018) |
| ``seam_ratio`` | :func:`gantransfer.methods.texture.seam_ratio` |

The warping-error checker gives the student's function the flows and masks (random, smooth fields, not a real
flow): a function that estimates a flow of its own — such as a one-line call of
:func:`gantransfer.methods.temporal.warping_error` — gets a different number and is told so.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from gantransfer.methods import temporal, texture
from gantransfer.notebook.checking import Wrong, as_array, call_student, need_callable, ratio_hint, report, scalar

SOLUTIONS: dict[str, str] = {
    "warping_error": '''
        def my_warping_error(outputs, flows, masks):
            errors = []
            for t in range(1, len(outputs)):
                warped = temporal.warp(outputs[t - 1], flows[t - 1])          # O_{t-1} moved to frame t
                diff = np.sum((outputs[t] - warped) ** 2, axis=-1)             # ‖·‖² over the colour channels
                errors.append(np.sum(masks[t - 1] * diff) / np.sum(masks[t - 1]))  # mean over trusted pixels
            return np.mean(errors)                                             # mean over the T − 1 pairs
    ''',
    "seam_ratio": '''
        def my_seam_ratio(texture):
            inside = np.concatenate([np.abs(np.diff(texture, axis=0)).ravel(),
                                     np.abs(np.diff(texture, axis=1)).ravel()]).mean()
            across = np.concatenate([np.abs(texture[0] - texture[-1]).ravel(),
                                     np.abs(texture[:, 0] - texture[:, -1]).ravel()]).mean()
            return across / inside
    ''',
}


def _smooth_flow(rng, h, w, amplitude):
    coarse = rng.standard_normal((3, 4, 2)) * amplitude
    ys, xs = np.linspace(0, 2, h), np.linspace(0, 3, w)
    y0, x0 = np.minimum(ys.astype(int), 1), np.minimum(xs.astype(int), 2)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x0 + 1] * fx
    bottom = coarse[y0 + 1][:, x0] * (1 - fx) + coarse[y0 + 1][:, x0 + 1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def _reference_error(outputs, flows, masks) -> float:
    return float(np.mean([temporal.pair_error(outputs[t], outputs[t - 1], temporal.FramePair(flows[t - 1], masks[t - 1]))
                          for t in range(1, len(outputs))]))


def check_warping_error(fn: Callable) -> bool:
    """Check ``fn(outputs [T, H, W, 3], flows [T-1, H, W, 2], masks [T-1, H, W]) -> float``: Lai et al.'s warping
    error ``1/(T−1) Σ_t Σ M_t ‖O_t − warp(O_{t−1}, F_t)‖² / Σ M_t`` with the flows and masks given."""
    name = "warping_error"
    if not need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(7)
        for t, h, w in [(3, 12, 16), (5, 9, 10)]:
            outputs = rng.random((t, h, w, 3)).astype(np.float32)
            flows = np.stack([_smooth_flow(rng, h, w, 2.0) for _ in range(t - 1)])
            masks = (rng.random((t - 1, h, w)) > 0.3).astype(np.float32)
            got = scalar(call_student(fn, outputs, flows, masks))
            want = _reference_error(outputs, flows, masks)
            where = f"for {t} frames of {h}×{w}"
            if np.isclose(got, want, rtol=1e-3):
                continue
            o = outputs.astype(np.float64)
            unwarped = np.mean([np.sum(masks[k - 1] * np.sum((o[k] - o[k - 1]) ** 2, -1)) / masks[k - 1].sum()
                                for k in range(1, t)])
            unmasked = np.mean([np.mean(np.sum((o[k] - temporal.warp(outputs[k - 1], flows[k - 1])) ** 2, -1))
                                for k in range(1, t)])
            own_flow = temporal.warping_error(list(outputs), list(outputs))
            if np.isclose(got, own_flow, rtol=1e-3):
                raise Wrong(f"{where} your figure is the one for a flow estimated from the frames: use the flows and "
                            "masks given (in a clip they come from the *input* frames, not the stylised ones).")
            if np.isclose(got, unwarped, rtol=1e-3):
                raise Wrong(f"{where} you compared O_t with O_(t-1) where it was: warp it first, "
                            "temporal.warp(outputs[t-1], flows[t-1]).")
            if np.isclose(got, unmasked, rtol=1e-3):
                raise Wrong(f"{where} you averaged over every pixel: weight by the mask and divide by its sum.")
            hint = ratio_hint(got, want, {"you averaged over the channels too: ‖·‖² sums over them": 1 / 3,
                                          "you summed over the pairs: take their mean": t - 1})
            raise Wrong(f"{where} you return {got:.5g}, expected {want:.5g}" + (f" ({hint})." if hint else
                        ". E = mean over pairs of Σ M ‖O_t − warp(O_{t−1})‖² / Σ M."))
        return "Lai et al.'s warping error over the trusted pixels, as in temporal.pair_error."

    return report(name, body)


def check_seam_ratio(fn: Callable) -> bool:
    """Check ``fn(texture [H, W, 3]) -> float``: mean |difference| across the wrap-around edges over inside."""
    name = "seam_ratio"
    if not need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(8)
        for h, w in [(8, 8), (6, 11)]:
            image = np.cumsum(rng.random((h, w, 3)), axis=1).astype(np.float32) / w   # a ramp: a seam when tiled
            got = scalar(call_student(fn, image))
            want = texture.seam_ratio(image)
            if np.isclose(got, want, rtol=1e-4):
                continue
            rows_only = np.abs(image[0] - image[-1]).mean() / np.abs(np.diff(image, axis=0)).mean()
            if np.isclose(got, rows_only, rtol=1e-4):
                raise Wrong("you measured the top–bottom seam only: the left–right edge wraps around too.")
            as_array(got, "the seam figure")
            raise Wrong(f"for a {h}×{w} texture you return {got:.4g}, expected {want:.4g}: mean |difference| across "
                        "the wrap-around edges (last row to first, last column to first) over the mean |difference| "
                        "between neighbours inside.")
        return "the wrap-around difference over the inside difference, as in texture.seam_ratio."

    return report(name, body)
