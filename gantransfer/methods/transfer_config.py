"""The settings of a Gatys style transfer (:class:`TransferConfig`), their defaults and named presets.

What :mod:`gantransfer.methods.optimize` is asked to do, apart from how it does it: every field validated on
construction, the coarse-to-fine schedule of sizes and steps worked out here. Read as ``optimize.TransferConfig``
(re-exported there) by the CLI, the registry and the notebooks.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from gantransfer.core.validate import check_count, check_weight
from gantransfer.pipeline import extractor

#: Johnson et al. (2016)'s VGG16 style layers, the last ReLU of each block, up to block 3: ``relu4_3`` is
#: left out, as is a ``relu4_2`` content layer (Gatys et al.'s choice), so the network stops at ``relu3_3``
#: and a step costs about two thirds (0.28 against 0.37 s at 256 × 170 px, 0.06 against 0.12 s at 128 × 85 px
#: on the 2-core CPU). Chosen by measurement (docs/methods.md, "what the defaults give"): on pairs not used to choose
#: them the pictures are more stylised by the judge's Gram distance (which includes ``relu4_3``) with the same
#: layout, in 100 steps instead of 130 at the deeper layers.
DEFAULT_STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3")
#: Content at the deepest layer used keeps the layout of light and dark while letting texture change.
DEFAULT_CONTENT_LAYERS = ("relu3_3",)

#: The largest :attr:`TransferConfig.style_scale` (the style image at 4× the output's size).
MAX_STYLE_SCALE = 4.0

#: By default the style image is seen at most this many px on its longest side: up to it at the output's own
#: size, beyond it at this side (``style_scale = min(1, STYLE_SIDE / size)``). VGG16's receptive fields are a fixed
#: number of pixels, so a style seen at 512 px shows them strokes twice as wide and half as many as at 256 px:
#: at 512 px a hatching style stayed unapplied (judge's style ratio 0.88–1.0 on two photos, the photo's colours
#: under it) where the style seen at 256 px gave 0.03–0.04 (docs/speed.md). The judge sees styles at 256 px too.
STYLE_SIDE = 256

#: Named sets of defaults (``gantransfer stylize --preset``). ``"fast"`` is :class:`TransferConfig`'s own (50 steps,
#: 60 % at the final size, from the recoloured photo, the style at most at :data:`STYLE_SIDE` px); ``"classic"`` the
#: defaults before 2026-12-06 (100 steps, 40 % at the final size, from the photo, the style at the output's size).
PRESETS: dict[str, dict] = {
    "fast": {},
    "classic": {"steps": 100, "final_share": 0.4, "init": "content", "style_scale": 1.0},
}

#: The images an optimisation may start from (:attr:`TransferConfig.init`).
INITS = ("content", "recolor", "noise", "style")


def default_scales(size: int) -> tuple[int, ...]:
    """Coarse-to-fine longest sides for an output of ``size`` px: halve while >= 128 px."""
    scales = [size]
    while scales[0] // 2 >= 128:
        scales.insert(0, scales[0] // 2)
    return tuple(scales)


def _layer_weights(layers, what: str) -> dict[str, float]:
    if isinstance(layers, Mapping):
        names = extractor.check_layers(tuple(layers), what=what)
        weights = {name: check_weight(layers[name], f"weight of {what} {name}") for name in names}
    else:
        weights = {name: 1.0 for name in extractor.check_layers(layers, what=what)}
    if not any(w > 0 for w in weights.values()):
        raise ValueError(f"at least one {what} needs a positive weight; got {weights}")
    return weights


@dataclasses.dataclass(frozen=True, kw_only=True)
class TransferConfig:
    """Settings of a Gatys style transfer. Every field is keyword-only and validated.

    Attributes:
      size: longest side of the output in pixels (the last scale).
      scales: coarse-to-fine schedule, longest sides in increasing order ending at ``size``; ``None``
        picks :func:`default_scales`: ``(size // 2, size)`` for ``size >= 256`` and ``(size,)`` below.
      steps: optimisation steps in total, shared out over the scales (see ``scale_steps``), or a
        tuple with the steps at each scale.
      optimizer: ``"adam"`` (projected Adam on the pixels) or ``"lbfgs"`` (L-BFGS with a backtracking
        line search, :func:`lbfgs_steps`; a step evaluates the network once, more when it backtracks).
      learning_rate: Adam's step size in pixel units (images live in [0, 1]) at the final scale.
      coarse_learning_rate: Adam's step size at the coarser scales (``None``: the same). Large steps
        there lay out the style's big shapes quickly; small ones at full size keep fine texture clean.
      content_weight, style_weight, tv_weight: α, β, γ above (finite, >= 0).
      content_layers: ``{layer: weight}`` or a sequence of layer names (weight 1 each).
      style_layers: ``{layer: weight}`` or a sequence (weight 1 each); weights are per-layer β_l.
      style_blend: weights of several style images (normalised to sum 1); ``None`` = equal.
      style_scale: the style image is seen at this fraction of each scale's size, in (0, 4]: 0.5 halves its
        strokes relative to the picture, 2 doubles them (Gatys et al. 2017, "Controlling Perceptual
        Factors in Neural Style Transfer", scale control). ``None``, the default: ``min(1, STYLE_SIDE / size)``,
        the output's own size up to :data:`STYLE_SIDE` px, then that side (resolved on construction).
      final_share: the share of an integer ``steps`` taken at the final scale (see ``scale_steps``).
      init: ``"content"``, ``"noise"``, ``"style"`` or ``"recolor"`` (the photo with the style's colour mean and
        covariance, :func:`gantransfer.methods.color.match_color`, its luminance spread set back to the photo's,
        :func:`gantransfer.methods.color.keep_luminance_contrast`): the image the optimisation starts from.
      preserve_color: keep the content photo's colours (luminance-only transfer, Gatys et al. 2016b).
      tol: stop a scale early when the total loss improved by less than this fraction over the last
        ``patience`` steps (0 disables the stop).
      patience: window of steps for the convergence test.
      report_every: yield a :class:`Progress` every this many steps.
      seed: seed of the noise initialisation (the rest is deterministic).
      pyramid_levels: optimise the image as a Laplacian pyramid of this many levels (see
        :func:`pyramid.to_pyramid`; 5 is a good choice); 1, the default, optimises the pixels themselves.
    """

    size: int = 256
    scales: tuple[int, ...] | None = None
    steps: int | tuple[int, ...] = 50
    final_share: float = 0.6
    optimizer: str = "adam"
    learning_rate: float = 0.02
    coarse_learning_rate: float | None = 0.06
    content_weight: float = 0.5
    style_weight: float = 10.0
    tv_weight: float = 0.5
    content_layers: Mapping[str, float] | Sequence[str] = DEFAULT_CONTENT_LAYERS
    style_layers: Mapping[str, float] | Sequence[str] = DEFAULT_STYLE_LAYERS
    style_blend: Sequence[float] | None = None
    style_scale: float | None = None
    init: str = "recolor"
    preserve_color: bool = False
    tol: float = 0.0
    patience: int = 10
    report_every: int = 10
    seed: int = 0
    pyramid_levels: int = 1

    def __post_init__(self):
        if not isinstance(self.size, int) or self.size < extractor.MIN_SIZE:
            raise ValueError(f"size must be an integer >= {extractor.MIN_SIZE}; got {self.size!r}")
        steps = tuple(self.steps) if isinstance(self.steps, (tuple, list)) else self.steps
        if isinstance(steps, tuple):
            if not steps or not all(isinstance(n, int) and n >= 0 for n in steps) or sum(steps) < 1:
                raise ValueError(f"steps per scale must be non-negative integers, not all 0; got {self.steps!r}")
        elif not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"steps must be a positive integer; got {self.steps!r}")
        object.__setattr__(self, "steps", steps)
        if self.optimizer not in ("adam", "lbfgs"):
            raise ValueError(f"optimizer must be 'adam' or 'lbfgs'; got {self.optimizer!r}")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {', '.join(map(repr, INITS))}; got {self.init!r}")
        if not (isinstance(self.final_share, (int, float)) and 0 < self.final_share <= 1):
            raise ValueError(f"final_share must be in (0, 1]; got {self.final_share!r}")
        check_weight(self.learning_rate, "learning_rate", allow_zero=False)
        if self.coarse_learning_rate is not None:
            check_weight(self.coarse_learning_rate, "coarse_learning_rate", allow_zero=False)
        for name in ("content_weight", "style_weight", "tv_weight", "tol"):
            check_weight(getattr(self, name), name)
        if self.tol >= 1:
            raise ValueError(f"tol is a fraction in [0, 1); got {self.tol}")
        for name in ("patience", "report_every", "pyramid_levels"):
            check_count(getattr(self, name), name)
        object.__setattr__(self, "content_layers", _layer_weights(self.content_layers, "content layer"))
        object.__setattr__(self, "style_layers", _layer_weights(self.style_layers, "style layer"))
        scales = self.scales if self.scales is not None else default_scales(self.size)
        scales = tuple(int(s) for s in scales)
        if not scales or scales[-1] != self.size or any(b <= a for a, b in zip(scales, scales[1:])):
            raise ValueError(f"scales must increase and end at size={self.size}; got {scales}")
        if scales[0] < extractor.MIN_SIZE:
            raise ValueError(f"every scale must be >= {extractor.MIN_SIZE} px; got {scales}")
        object.__setattr__(self, "scales", scales)
        if isinstance(steps, tuple) and len(steps) != len(scales):
            raise ValueError(f"{len(steps)} step counts for {len(scales)} scales {scales}")
        if self.style_scale is None:   # the output's size up to STYLE_SIDE; never below MIN_SIZE at the first scale
            auto = max(min(1.0, STYLE_SIDE / self.size), extractor.MIN_SIZE / scales[0])
            object.__setattr__(self, "style_scale", auto)
        object.__setattr__(self, "style_scale", check_weight(self.style_scale, "style_scale", allow_zero=False))
        if self.style_scale > MAX_STYLE_SCALE:
            raise ValueError(f"style_scale must be in (0, {MAX_STYLE_SCALE:g}]; got {self.style_scale}")
        if self.style_side(scales[0]) < extractor.MIN_SIZE:
            raise ValueError(f"style_scale {self.style_scale:g} would show the style at "
                             f"{self.style_side(scales[0])} px at the {scales[0]} px scale; the least is "
                             f"{extractor.MIN_SIZE} px")
        if self.style_blend is not None:
            blend = tuple(check_weight(w, "style blend weight") for w in self.style_blend)
            if sum(blend) <= 0:
                raise ValueError(f"style blend weights must not all be zero; got {blend}")
            object.__setattr__(self, "style_blend", blend)

    def style_side(self, scale: int) -> int:
        """The longest side the style image is seen at when the picture's is ``scale``: ``style_scale`` × it."""
        return round(scale * self.style_scale)

    @property
    def largest_side(self) -> int:
        """The longest side any image of the run has: the output's, or the style's at ``style_scale`` > 1."""
        return max(self.size, self.style_side(self.size))

    @property
    def scale_steps(self) -> tuple[int, ...]:
        """Steps at each scale: ``steps`` itself when it is a tuple, else a share of it.

        An integer is shared out with ``final_share`` (default 60 %, 40 % in the classic preset) at the final
        size and the rest over the coarser scales: a step at half the size costs a quarter, and the large-scale
        structure of the style settles there, so the final scale only has to add fine texture.
        """
        if isinstance(self.steps, tuple):
            return self.steps
        n = len(self.scales)
        if n == 1:
            return (self.steps,)
        final = max(1, round(self.steps * self.final_share))
        rest = max(n - 1, self.steps - final)
        coarse = [rest // (n - 1)] * (n - 1)
        coarse[-1] += rest - sum(coarse)
        return (*coarse, final)
