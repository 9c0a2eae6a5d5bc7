"""Temporal consistency for stylised video: optical flow, warping, occlusion masks, blending, the warping error.

Stylising a clip frame by frame flickers: each frame is painted on its own, and a small change of the photo
moves strokes that should stay put. Ruder, Dosovitskiy & Brox (2016, "Artistic style transfer for videos")
fix it by asking each stylised frame to agree with the previous one *warped along the optical flow of the
input*, except where the flow is not trusted (occlusions, pixels that come in from outside the frame). Here
the agreement is a blend, so it works after any method of :mod:`gantransfer.methods.registry`::

    flow_b = flow(I_t → I_{t-1})                 # [H, W, 2] (dx, dy): where each pixel of I_t was before
    W      = warp(O_{t-1}, flow_b)               # the previous output, moved to frame t
    M      = forward–backward check on flow_b     # [H, W] 1 where the flow is trusted, 0 where occluded
    B_t    = S_t + blend · M · (W − S_t)          # S_t: frame t stylised on its own
    O_t    = μ(B_t) + (B_t − μ(B_t)) · s(S_t) / s(B_t)   # S_t's local contrast back (μ, s: local mean and std)

The last line is ours, not Ruder et al.'s: averaging two differently painted frames washes their strokes out
(two independent textures mixed with weights β and 1 − β keep β² + (1 − β)² of their variance), and restoring the
stylised frame's local contrast gives back much of the style the plain blend loses (``docs/applications.md``).
The flow comes from OpenCV (DIS, Kroeger et al. 2016, or Farnebäck 2003) on the *input* frames, which are
the same for every method. The figure of merit is the warping error of Lai et al. (2018, "Learning Blind
Video Temporal Consistency", eq. 10): the mean squared difference between each output frame and the previous
output warped by the input's flow, over the non-occluded pixels, averaged over the clip.

Everything here is NumPy and OpenCV on ``[H, W, 3]`` float32 frames in [0, 1] (the flow is not differentiated).
Taught in ``notebooks/07_applications.ipynb``; used by ``gantransfer video`` (:mod:`gantransfer.tools.video`).
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator, NamedTuple, Sequence

import cv2
import numpy as np

#: Optical-flow algorithms (OpenCV).
FLOWS = ("dis", "farneback")
#: The default weight of the warped previous output where the flow is trusted, and the default window (px) of
#: :func:`blend`'s contrast restoration (0: a plain blend). Of the settings measured in ``data/bench/video.json``
#: (plain blends 0.2–1; 0.3, 0.5 and 0.8 with a 2 px window), this pair halves the warping error on every clip at the
#: smallest cost in style (the middle frame's style ratio still rises; ``docs/applications.md`` has the figures).
DEFAULT_BLEND = 0.5
DEFAULT_CONTRAST = 2.0
#: Forward–backward check of Sundaram et al. 2010 as Ruder et al. use it: occluded where
#: ``|f + b|² > A · (|f|² + |b|²) + B``.
OCCLUSION_A, OCCLUSION_B = 0.01, 0.5

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _frame(x, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[-1] != 3:
        raise ValueError(f"{name} must be [H, W, 3]; got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating) or not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite floats in [0, 1]; got dtype {x.dtype}")
    return x.astype(np.float32, copy=False)


def _flow_field(flow, shape, name: str = "flow") -> np.ndarray:
    flow = np.asarray(flow, np.float32)
    if flow.shape != (*shape[:2], 2):
        raise ValueError(f"{name} must be [H, W, 2] = {(*shape[:2], 2)}; got {flow.shape}")
    return flow


def _grey8(frame: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(frame @ _LUMA * 255), 0, 255).astype(np.uint8)


_DIS = {}


def optical_flow(source, target, *, method: str = "dis") -> np.ndarray:
    """Dense flow from ``source`` to ``target``: ``source[y, x]`` is seen at ``target[y + dy, x + dx]``.

    Args:
      source, target: ``[H, W, 3]`` float32 frames in [0, 1] of one size.
      method: ``"dis"`` (OpenCV's DIS at its ``FAST`` preset with variational refinement; a few ms at 256 px)
        or ``"farneback"`` (Farnebäck's polynomial expansion; slower, smoother).
    Returns:
      ``[H, W, 2]`` float32 ``(dx, dy)`` in pixels.
    """
    a, b = _frame(source, "source"), _frame(target, "target")
    if a.shape != b.shape:
        raise ValueError(f"source and target differ in shape: {a.shape} and {b.shape}")
    if method not in FLOWS:
        raise ValueError(f"method must be one of {', '.join(FLOWS)}; got {method!r}")
    ga, gb = _grey8(a), _grey8(b)
    if method == "dis":
        if "fast" not in _DIS:          # one engine per process: creating it costs more than a small flow
            _DIS["fast"] = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        return _DIS["fast"].calc(ga, gb, None)
    return cv2.calcOpticalFlowFarneback(ga, gb, None, pyr_scale=0.5, levels=4, winsize=15, iterations=3,
                                        poly_n=5, poly_sigma=1.2, flags=0)


def warp(image, flow) -> np.ndarray:
    """Backward warping: ``out[y, x] = image[y + flow[y, x, 1], x + flow[y, x, 0]]``, bilinear.

    With ``flow = optical_flow(frame_t, frame_{t-1})`` this moves the previous frame (or its stylised output) to
    frame ``t``. Samples from outside the image take the nearest border pixel (the occlusion mask marks them).

    Args:
      image: ``[H, W, C]`` float32. flow: ``[H, W, 2]`` ``(dx, dy)``.
    Returns:
      ``[H, W, C]`` float32.
    """
    image = np.asarray(image, np.float32)
    if image.ndim != 3:
        raise ValueError(f"image must be [H, W, C]; got shape {image.shape}")
    flow = _flow_field(flow, image.shape)
    h, w = image.shape[:2]
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    out = cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], interpolation=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(image.shape)


def occlusion_mask(backward, forward) -> np.ndarray:
    """Where the flow is trusted: 1 where the backward flow and the forward flow undo each other, 0 elsewhere.

    ``backward = optical_flow(I_t, I_{t-1})`` and ``forward = optical_flow(I_{t-1}, I_t)``. A pixel ``x`` of frame
    ``t`` is trusted when its position in frame ``t-1`` lies inside the frame and
    ``|b(x) + f(x + b(x))|² ≤ A (|b(x)|² + |f(x + b(x))|²) + B`` (Sundaram et al. 2010; Ruder et al. 2016, eq. 6,
    with ``A, B = OCCLUSION_A, OCCLUSION_B``).

    Returns:
      ``[H, W]`` float32 of 0 and 1.
    """
    backward = np.asarray(backward, np.float32)
    if backward.ndim != 3 or backward.shape[-1] != 2:
        raise ValueError(f"backward must be [H, W, 2]; got shape {backward.shape}")
    forward = _flow_field(forward, backward.shape, "forward")
    h, w = backward.shape[:2]
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    px, py = xs + backward[..., 0], ys + backward[..., 1]
    inside = (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)
    there = warp(forward, backward)                                   # f(x + b(x))        [H, W, 2]
    loop = np.sum((backward + there) ** 2, axis=-1)
    size = np.sum(backward ** 2, axis=-1) + np.sum(there ** 2, axis=-1)
    return (inside & (loop <= OCCLUSION_A * size + OCCLUSION_B)).astype(np.float32)


def _local_stats(x: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Local mean and standard deviation per channel, Gaussian window ``sigma`` px (mirrored borders)."""
    mean = cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
    var = cv2.GaussianBlur(x * x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101) - mean * mean
    return mean, np.sqrt(np.maximum(var, 0.0))


def blend(stylised, warped, mask, *, weight: float = DEFAULT_BLEND, contrast: float = 0.0) -> np.ndarray:
    """``b = stylised + weight · mask · (warped − stylised)``: the warped previous output where the flow is trusted.

    Averaging two differently painted frames lowers the contrast of their strokes. With ``contrast = σ > 0`` the
    blend gets the stylised frame's local contrast back: ``μ_b + (b − μ_b) · s_S / s_b``, with ``μ`` and ``s`` the
    local mean and standard deviation per channel in a Gaussian window of ``σ`` px; where ``b`` is the stylised frame
    itself (``mask = 0``) nothing changes.

    Args:
      stylised, warped: ``[H, W, 3]`` float32. mask: ``[H, W]`` in [0, 1]. weight: in [0, 1] (0: per frame).
      contrast: ``σ`` in px of the contrast restoration, 0 (the default) for none.
    """
    if not 0 <= weight <= 1:
        raise ValueError(f"weight must be in [0, 1]; got {weight}")
    if not 0 <= contrast <= 64:
        raise ValueError(f"contrast must be a window in [0, 64] px; got {contrast}")
    s, p = _frame(stylised, "stylised"), _frame(warped, "warped")
    if s.shape != p.shape:
        raise ValueError(f"stylised and warped differ in shape: {s.shape} and {p.shape}")
    m = np.asarray(mask, np.float32)
    if m.shape != s.shape[:2]:
        raise ValueError(f"mask must be [H, W] = {s.shape[:2]}; got {m.shape}")
    b = s + (weight * m)[..., None] * (p - s)
    if not contrast:
        return b
    mean_b, std_b = _local_stats(b, contrast)
    _, std_s = _local_stats(s, contrast)
    return mean_b + (b - mean_b) * (std_s + 1e-3) / (std_b + 1e-3)


class FramePair(NamedTuple):
    """What the previous frame tells frame ``t``: the backward flow ``[H, W, 2]`` and the trust mask ``[H, W]``."""

    flow: np.ndarray
    mask: np.ndarray


def frame_pair(previous, current, *, method: str = "dis") -> FramePair:
    """The backward flow ``current → previous`` and its occlusion mask (two flows: backward and forward)."""
    backward = optical_flow(current, previous, method=method)
    forward = optical_flow(previous, current, method=method)
    return FramePair(backward, occlusion_mask(backward, forward))


def pair_error(output, previous_output, pair: FramePair) -> float:
    """Lai et al.'s warping error of one pair: ``Σ M ‖O_t − warp(O_{t-1})‖² / Σ M`` (0 when nothing is trusted)."""
    o, p = _frame(output, "output"), _frame(previous_output, "previous_output")
    if o.shape != p.shape:
        raise ValueError(f"output and previous_output differ in shape: {o.shape} and {p.shape}")
    m = np.asarray(pair.mask, np.float64)
    if m.sum() == 0:
        return 0.0
    diff = np.sum((o.astype(np.float64) - warp(p, pair.flow)) ** 2, axis=-1)
    return float(np.sum(m * diff) / m.sum())


def clip_pairs(inputs: Iterable, *, method: str = "dis") -> list[FramePair]:
    """The :func:`frame_pair` of each frame of a clip ``T ≥ 2`` of ``[H, W, 3]`` with the one before: ``T − 1`` pairs.

    They depend on the input frames only, so one list serves the warping error of every stylisation of the clip.
    """
    inputs = list(inputs)
    if len(inputs) < 2:
        raise ValueError(f"a clip needs at least 2 frames; got {len(inputs)}")
    return [frame_pair(inputs[t - 1], inputs[t], method=method) for t in range(1, len(inputs))]


def warping_error(outputs: Iterable, inputs: Iterable | None = None, *, method: str = "dis",
                  pairs: Sequence[FramePair] | None = None) -> float:
    """Lai et al. 2018's warping error of a stylised clip, averaged over its ``T − 1`` pairs of frames.

    ``E = 1/(T−1) Σ_t Σ_x M_t(x) ‖O_t(x) − warp(O_{t−1}, F_t)(x)‖² / Σ_x M_t(x)``, with the flow ``F_t`` and the
    mask ``M_t`` from the *input* frames (:func:`frame_pair`). Lower is steadier.

    Args:
      outputs: the stylised frames, ``T ≥ 2`` of ``[H, W, 3]``. inputs: the input frames they came from, same shapes.
      pairs: instead of ``inputs``, their :func:`clip_pairs` (computed once for several stylisations of one clip).
    """
    outputs = list(outputs)
    if (inputs is None) == (pairs is None):
        raise ValueError("give the input frames or their pairs (clip_pairs), one of the two")
    if pairs is None:
        inputs = list(inputs)
        if len(outputs) != len(inputs) or len(outputs) < 2:
            raise ValueError(f"need as many outputs as inputs, at least 2; got {len(outputs)} and {len(inputs)}")
        pairs = clip_pairs(inputs, method=method)
    if len(pairs) != len(outputs) - 1:
        raise ValueError(f"{len(outputs)} outputs need {len(outputs) - 1} pairs; got {len(pairs)}")
    errors = [pair_error(outputs[t], outputs[t - 1], pairs[t - 1]) for t in range(1, len(outputs))]
    return float(np.mean(errors))


class VideoFrame(NamedTuple):
    """One frame through :func:`stabilize`: its index, the output, what it was stylised to on its own, and the
    :class:`FramePair` to the previous frame (``None`` for the first)."""

    index: int
    output: np.ndarray
    stylised: np.ndarray
    pair: FramePair | None


def stabilize(frames: Iterable, stylize: Callable[[np.ndarray], np.ndarray], *, weight: float = DEFAULT_BLEND,
              contrast: float = DEFAULT_CONTRAST, method: str = "dis", previous: tuple[np.ndarray, np.ndarray] | None = None,
              start: int = 0) -> Iterator[VideoFrame]:
    """Stylise a clip frame by frame and blend each frame with the previous output warped along the flow.

    Args:
      frames: input frames ``[H, W, 3]`` float32 in [0, 1], all of one size.
      stylize: one frame in, one stylised frame of the same shape out (any method).
      weight: :func:`blend`'s weight; 0 is per-frame stylisation (no flow is computed then).
      contrast: :func:`blend`'s contrast restoration window (px; 0: none).
      method: the optical flow (:data:`FLOWS`).
      previous: ``(input, output)`` of the frame before the first one (to continue an interrupted run).
      start: the index of the first frame (reported in :attr:`VideoFrame.index`).
    Yields:
      A :class:`VideoFrame` per frame, as soon as it is done.
    """
    if not 0 <= weight <= 1:
        raise ValueError(f"weight must be in [0, 1]; got {weight}")
    if method not in FLOWS:
        raise ValueError(f"method must be one of {', '.join(FLOWS)}; got {method!r}")
    prev_in, prev_out = (None, None) if previous is None else (_frame(previous[0], "previous input"),
                                                               _frame(previous[1], "previous output"))
    for index, frame in enumerate(frames, start=start):
        frame = _frame(frame, f"frame {index}")
        stylised = _frame(stylize(frame), f"stylised frame {index}")
        if stylised.shape != frame.shape:
            raise ValueError(f"stylize changed the frame's shape: {frame.shape} → {stylised.shape}")
        pair = None
        out = stylised
        if weight > 0 and prev_in is not None:
            if prev_in.shape != frame.shape:
                raise ValueError(f"frame {index} is {frame.shape[1]}×{frame.shape[0]} px, the one before "
                                 f"{prev_in.shape[1]}×{prev_in.shape[0]}")
            pair = frame_pair(prev_in, frame, method=method)
            out = np.clip(blend(stylised, warp(prev_out, pair.flow), pair.mask, weight=weight, contrast=contrast), 0, 1)
        prev_in, prev_out = frame, out
        yield VideoFrame(index, out, stylised, pair)


def camera_clip(photo, *, frames: int = 12, side: int = 128, pan: float = 0.25, zoom: float = 1.3) -> np.ndarray:
    """A short clip made from one photo by a camera that pans and zooms in: a test clip with a known motion.

    The camera's window is a square of ``1 / (zoom^(t/(T−1)))`` of the photo's shorter side (so it closes in by
    ``zoom`` over the clip), its centre moving from left to right over ``pan`` of the photo's width. Each window is
    resampled (bilinear) to ``side × side`` px.

    Args:
      photo: ``[H, W, 3]`` float32 in [0, 1]. frames: ``T ≥ 2``. side: the frames' side in px (≥ 16).
      pan: the centre's travel, a fraction of the width in [0, 1). zoom: the window's shrink factor, ≥ 1.
    Returns:
      ``[T, side, side, 3]`` float32 in [0, 1].
    """
    image = _frame(photo, "photo")
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 2:
        raise ValueError(f"frames must be an integer >= 2; got {frames!r}")
    if isinstance(side, bool) or not isinstance(side, (int, np.integer)) or side < 16:
        raise ValueError(f"side must be an integer >= 16; got {side!r}")
    if not 0 <= pan < 1 or not 1 <= zoom <= 8:
        raise ValueError(f"pan must be in [0, 1) and zoom in [1, 8]; got {pan}, {zoom}")
    h, w = image.shape[:2]
    clip = []
    for t in range(frames):
        u = t / (frames - 1)
        window = min(h, w) / zoom ** u                                     # side of the camera's square
        cx = np.clip(w / 2 + (u - 0.5) * pan * w, window / 2, w - window / 2)
        cy = h / 2
        scale = side / window
        # output pixel (x, y) samples the photo at ((x + .5) / scale + cx − window/2 − .5, …)
        matrix = np.array([[scale, 0, (window / 2 - cx) * scale + 0.5 * (scale - 1)],
                           [0, scale, (window / 2 - cy) * scale + 0.5 * (scale - 1)]], np.float32)
        clip.append(cv2.warpAffine(image, matrix, (side, side), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT))
    return np.clip(np.stack(clip), 0, 1).astype(np.float32)
