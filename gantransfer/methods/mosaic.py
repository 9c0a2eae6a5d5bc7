"""A style mosaic: the photo rebuilt from the style's own pixel patches, chosen in VGG feature space.

A decoder has to *learn* to paint a style's strokes; with little training (these CPUs) it paints them
faintly, and a picture's style statistics stay close to the photo's. A mosaic paints with the style itself:

1. **Where.** Content and style go through VGG16 to ``relu4_1`` (stride 8). The content features are first
   whitened and coloured with the style's covariance (WCT, :func:`gantransfer.pipeline.fusion.wct`), so they are
   compared with the style's in the style's own statistics; every ``3 × 3`` patch of them is compared with
   every ``3 × 3`` style patch by normalised cross-correlation (cosine), as in style-swap (Chen & Schmidt
   2016) and Avatar-Net's style decorator (Sheng et al. 2018).
2. **Light and dark.** To that score a term is added that prefers style patches whose luminance matches the
   photo's there (each standardised, compared on a coarse grid of cells): the "correspondence map" of
   texture transfer by image quilting (Efros & Freeman 2001). It keeps the photo's edges and shading drawn
   in the style's strokes.
3. **How often.** A nearest-neighbour choice uses a few style patches everywhere (the flat sky of the photo
   gets the style's one flat area), and the picture's style matrix then differs from the style's however
   well each patch fits. So every style patch gets about an equal share of the photo's positions: an entropic
   optimal-transport plan between positions and style patches (Sinkhorn 1967, Cuturi 2013), as deep feature
   reshuffle does with its usage penalty (Gu et al. 2018). Each position takes its plan's best patch.
4. **Paint.** Each position receives the style's *pixel* patch of 16 × 16 px (twice the stride) around the
   chosen place, weighted by a ``sin²`` window whose shifted copies sum to one; overlapping patches are averaged.

There is nothing to train: ``G(content, style)`` is one encoding of the photo and of each style, one matrix of
scores and ten Sinkhorn sweeps. All functions are pure and safe under ``jax.jit``; :func:`generate_mosaic` and
:func:`choose_patches` are compiled. Images are ``[N, H, W, 3]`` in [0, 1].
Taught in ``notebooks/04b_multilevel_and_mosaic.ipynb``; ``gantransfer stylize --method mosaic`` on the command line.
"""
from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp

from gantransfer.core.runtime import machine_memory_bytes
from gantransfer.core.validate import check_count, check_features, check_weight
from gantransfer.methods import color
from gantransfer.pipeline import extractor, fusion, generator

#: The encoder layer whose features choose the patches (stride 8: a patch per 8 × 8 px of the photo).
MOSAIC_LAYER = "relu4_1"
#: Side of the feature patches compared (in positions of :data:`MOSAIC_LAYER`).
FEATURE_PATCH = 3
#: Side of the pixel patches painted: twice the layer's stride, so that neighbours overlap by half.
PIXEL_PATCH = 16
#: Weight of the luminance term against the feature cosine (0 = features alone).
GUIDE_WEIGHT = 0.4
#: The luminance of a pixel patch is compared on ``GUIDE_CELLS × GUIDE_CELLS`` cells (2 px each).
GUIDE_CELLS = 8
#: Sinkhorn sweeps of the balanced assignment (0 = each position its nearest patch).
BALANCE_ITERATIONS = 10
#: Temperature of the assignment's entropy, in units of the score.
TEMPERATURE = 0.02
#: The style's size as a fraction of the photo's that the defaults were chosen at (``--style-scale``): a
#: 16 px patch of a style seen at half size holds twice as much of the style, so its strokes come out half as
#: large in the picture.
STYLE_SCALE = 0.5


#: ``[positions, style patches]`` float32 arrays alive at once in the assignment: the scores, the luminance
#: cost, their sum, the logits and one exp of them.
PLAN_COPIES = 5


def plan_bytes(content_side: int, style_sides: Sequence[int], *, layer: str = MOSAIC_LAYER) -> int:
    """Upper bound of the assignment's memory for a square photo of ``content_side`` px and square styles.

    The plan is ``(content_side / s)² × Σ (style_side / s)²`` float32 entries (``s`` the layer's stride), and
    :data:`PLAN_COPIES` of it are alive at once: it grows with the fourth power of the side (0.27 GB a copy for a
    1024 px photo and a 512 px style).
    """
    stride = extractor.LAYER_STRIDES[extractor.check_layers([layer])[0]]
    n = (content_side // stride) ** 2
    m = sum((side // stride) ** 2 for side in style_sides)
    return PLAN_COPIES * 4 * n * m


def check_fits_in_memory(content_side: int, style_sides: Sequence[int], *, layer: str = MOSAIC_LAYER,
                         memory_bytes: int | None = None) -> None:
    """Refuse (``ValueError``) a mosaic whose assignment would take more than 80 % of the machine's memory."""

    memory_bytes = machine_memory_bytes() if memory_bytes is None else memory_bytes
    needed = plan_bytes(content_side, style_sides, layer=layer)
    if needed > 0.8 * memory_bytes:
        raise ValueError(f"a mosaic of a {content_side} px photo and styles of {', '.join(map(str, style_sides))} px "
                         f"needs about {needed / 2 ** 30:.0f} GiB for its assignment, more than this machine has; "
                         "use a smaller --size or --style-scale")


def _unit_rows(x: jax.Array) -> jax.Array:
    return x / (jnp.linalg.norm(x, axis=-1, keepdims=True) + 1e-6)


def feature_patches(features: jax.Array, *, size: int = FEATURE_PATCH) -> jax.Array:
    """Every ``size × size`` patch of one feature map, as rows (zero-padded at the border).

    Args:
      features: ``[1, h, w, c]``.
      size: odd patch side.
    Returns:
      ``[h · w, size · size · c]``, row ``i · w + j`` the patch centred at ``(i, j)``.
    """
    features = check_features(features, "features")
    if features.ndim != 4 or features.shape[0] != 1:
        raise ValueError(f"features must be [1, h, w, c]; got {tuple(features.shape)}")
    check_count(size, "patch size")
    if size % 2 == 0:
        raise ValueError(f"patch size must be odd (a patch has a centre); got {size}")
    # Shifted copies stacked, not conv_general_dilated_patches: that is a convolution with a one-hot kernel of
    # size² · c outputs, at relu4_1 4.5× the multiply-adds of the whole score matrix (measured: a third slower).
    _, h, w, c = features.shape
    r = size // 2
    padded = jnp.pad(features[0], ((r, r), (r, r), (0, 0)))
    shifts = [padded[dy: dy + h, dx: dx + w] for dy in range(size) for dx in range(size)]
    return jnp.stack(shifts, axis=-1).reshape(h * w, c * size * size)     # column c · size² + dy · size + dx


def patch_scores(features: jax.Array, style_features: jax.Array, *, size: int = FEATURE_PATCH) -> jax.Array:
    """Cosine similarity of every ``size × size`` patch of ``features`` with every one of ``style_features``.

    Computed as style-swap does (Chen & Schmidt 2016): the normalised style patches are the filters of one
    convolution over ``features``, and each output is divided by its own patch's norm (a box sum of squared
    features) — no matrix of the content's patches is ever built.

    Args:
      features: ``[1, h, w, c]``; style_features: ``[1, h', w', c]``; zero-padded at the border.
      size: odd patch side.
    Returns:
      ``[h · w, h' · w']`` in [-1, 1]: row ``i · w + j``, column as :func:`feature_patches`' rows of the style.
    """
    features = check_features(features, "features")
    style_features = check_features(style_features, "style features")
    if features.ndim != 4 or features.shape[0] != 1 or features.shape[-1] != style_features.shape[-1]:
        raise ValueError(f"features must be [1, h, w, c] with the style's c; got {tuple(features.shape)} and "
                         f"{tuple(style_features.shape)}")
    style = _unit_rows(feature_patches(style_features, size=size))           # [m, c · size²]
    m, c = style.shape[0], features.shape[-1]
    filters = style.reshape(m, c, size, size).transpose(2, 3, 1, 0)          # [size, size, c, m]
    raw = jax.lax.conv_general_dilated(features, filters, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    squared = jnp.sum(features ** 2, axis=-1, keepdims=True)
    norms = jnp.sqrt(jax.lax.reduce_window(squared, 0.0, jax.lax.add, (1, size, size, 1), (1, 1, 1, 1), "SAME"))
    return (raw / (norms + 1e-6)).reshape(-1, m)


def image_patches(image: jax.Array, *, stride: int, size: int) -> jax.Array:
    """The ``size × size`` pixel patch around every ``stride``-th position of an image (reflected at the border).

    Patch ``u`` is centred where feature position ``u`` of a layer of that stride sits, at pixel
    ``stride · u + stride / 2``.

    Args:
      image: ``[1, H, W, C]`` with ``H`` and ``W`` multiples of ``stride``.
      stride: the layer's down-sampling factor.
      size: patch side, a multiple of ``stride`` with ``size - stride`` even.
    Returns:
      ``[(H / stride) · (W / stride), size, size, C]``.
    """
    image = check_features(image, "image")
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"image must be [1, H, W, C]; got {tuple(image.shape)}")
    _check_patch_size(size, stride)
    if image.shape[1] % stride or image.shape[2] % stride:
        raise ValueError(f"image height and width must be multiples of {stride}; got "
                         f"{image.shape[1]}×{image.shape[2]}")
    pad = (size - stride) // 2
    padded = jnp.pad(image, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    patches = jax.lax.conv_general_dilated_patches(padded, (size, size), (stride, stride), "VALID",
                                                   dimension_numbers=("NHWC", "HWIO", "NHWC"))
    n, h, w, _ = patches.shape          # channels come out ordered (C, size, size)
    return patches.reshape(h * w, image.shape[-1], size, size).transpose(0, 2, 3, 1)


def _check_patch_size(size, stride):
    check_count(size, "pixel patch size")
    if size % stride or (size - stride) % 2:
        raise ValueError(f"pixel patch size must be a multiple of the stride {stride}, with size - stride even "
                         f"(a patch centred on a position); got {size}")


def paste_window(size: int) -> jax.Array:
    """``[size, size]`` weights ``sin²(π (t + ½) / size)`` along each axis: copies shifted by half a patch
    add up to exactly one, so overlapping patches cross-fade without seams."""
    t = (jnp.arange(size) + 0.5) / size
    w = jnp.sin(jnp.pi * t) ** 2
    return w[:, None] * w[None, :]


def paste(patches: jax.Array, *, stride: int) -> jax.Array:
    """Overlap-add a grid of patches into one image, each patch weighted by :func:`paste_window`.

    Args:
      patches: ``[h, w, P, P, C]``; patch ``(i, j)`` is centred at pixel ``(stride · i + stride / 2, …)`` as in
        :func:`image_patches`.
      stride: the grid's spacing in pixels; ``P`` a multiple of it.
    Returns:
      ``[h · stride, w · stride, C]``: at each pixel the window-weighted mean of the patches covering it.
    """
    patches = check_features(patches, "patches", min_ndim=5)
    if patches.ndim != 5:
        raise ValueError(f"patches must be [h, w, P, P, C]; got shape {tuple(patches.shape)}")
    h, w, size, size2, channels = patches.shape
    if size != size2:
        raise ValueError(f"patches must be square; got {size}×{size2}")
    _check_patch_size(size, stride)
    window = paste_window(size)[:, :, None]
    m = size // stride   # patches covering each pixel along an axis
    # Patch (i, j) covers canvas blocks (i + a, j + b), a, b < m, of a canvas shifted by `offset` px: add each
    # of its m × m blocks to the canvas at once for all patches.
    def overlap_add(tiles):
        blocks = tiles.reshape(h, w, m, stride, m, stride, tiles.shape[-1])
        canvas = jnp.zeros(((h + m - 1) * stride, (w + m - 1) * stride, tiles.shape[-1]), tiles.dtype)
        for a in range(m):
            for b in range(m):
                block = blocks[:, :, a, :, b].transpose(0, 2, 1, 3, 4).reshape(h * stride, w * stride, -1)
                canvas = canvas.at[a * stride: (a + h) * stride, b * stride: (b + w) * stride].add(block)
        offset = (size - stride) // 2
        return canvas[offset: offset + h * stride, offset: offset + w * stride]

    painted = overlap_add(patches * window)
    weight = overlap_add(jnp.broadcast_to(window, (h, w, size, size, 1)))
    return painted / weight


def luminance_cost(photo: jax.Array, style: jax.Array, *, stride: int, size: int = PIXEL_PATCH,
                   cells: int = GUIDE_CELLS) -> jax.Array:
    """How far each style patch's light and dark is from the photo's at each position (Efros & Freeman 2001).

    Both luminances are standardised (zero mean, unit std over the image), so a dark photo region asks for
    the style's own darks; each ``size × size`` patch is averaged to ``cells × cells`` cells.

    Args:
      photo: ``[1, H, W, 3]``; style: ``[1, H', W', 3]``; both sides multiples of ``stride``.
    Returns:
      ``[(H / stride) · (W / stride), (H' / stride) · (W' / stride)]``: mean squared difference of the cells.
    """
    check_count(cells, "guide cells")
    if size % cells:
        raise ValueError(f"guide cells must divide the pixel patch size {size}; got {cells}")

    def cells_of(image):
        y = color.luminance(image)[..., None]                          # [1, H, W, 1]
        y = (y - y.mean()) / (y.std() + 1e-6)
        p = image_patches(y, stride=stride, size=size)[..., 0]         # [n, size, size]
        r = size // cells
        return p.reshape(p.shape[0], cells, r, cells, r).mean((2, 4)).reshape(p.shape[0], -1)

    c, s = cells_of(photo), cells_of(style)
    squared = (c ** 2).sum(1)[:, None] + (s ** 2).sum(1)[None, :] - 2.0 * c @ s.T
    return jnp.maximum(squared, 0.0) / (cells * cells)


def balanced_assignment(scores: jax.Array, *, column_mass: jax.Array | None = None,
                        iterations: int = BALANCE_ITERATIONS, temperature: float = TEMPERATURE) -> jax.Array:
    """Give each row (a photo position) a column (a style patch) so that the columns are used in proportion.

    Entropic optimal transport (Cuturi 2013) in the log domain: the plan ``π_ij ∝ exp(S_ij / τ + f_i + g_j)``
    with row sums ``1 / n`` and column sums ``column_mass`` after ``iterations`` Sinkhorn sweeps; each row then
    takes its largest entry, ``argmax_j (S_ij / τ + g_j)``. With ``iterations = 0`` that is the plain argmax.

    Args:
      scores: ``[n, m]``, larger = a better match.
      column_mass: ``[m]`` non-negative, summing to 1 (default uniform): each column's share of the rows. After
        a few sweeps and the rounding to one column per row, the shares hold roughly, not exactly.
      iterations: Sinkhorn sweeps, >= 0.
      temperature: ``τ`` > 0, in units of the scores.
    Returns:
      ``[n]`` int32 column indices.
    """
    scores = check_features(scores, "scores", min_ndim=2)
    if scores.ndim != 2:
        raise ValueError(f"scores must be [n, m]; got {tuple(scores.shape)}")
    check_count(iterations, "iterations", minimum=0)
    temperature = check_weight(temperature, "temperature", allow_zero=False)
    n, m = scores.shape
    if column_mass is not None:
        column_mass = jnp.asarray(column_mass) if not isinstance(column_mass, jax.core.Tracer) else column_mass
        if column_mass.shape != (m,):
            raise ValueError(f"column_mass must have shape ({m},), one share per column; got {column_mass.shape}")
        if not isinstance(column_mass, jax.core.Tracer):
            if bool(jnp.any(column_mass < 0)) or abs(float(column_mass.sum()) - 1.0) > 1e-3:
                raise ValueError(f"column_mass must be non-negative and sum to 1; got sum {float(column_mass.sum())}")
    log_mass = jnp.log(jnp.full((m,), 1.0 / m) if column_mass is None else column_mass + 1e-30)
    logits = scores / temperature
    g = jnp.zeros((m,), scores.dtype)
    for _ in range(iterations):
        f = -jax.nn.logsumexp(logits + g[None, :], axis=1) - jnp.log(n)
        g = log_mass - jax.nn.logsumexp(logits + f[:, None], axis=0)
    return jnp.argmax(logits + g[None, :], axis=1).astype(jnp.int32)


def _choose(vgg_params, photo, styles, style_feats, mass, guide, temperature, *, layer, feature_patch, pixel_patch,
            guide_cells, balance_iterations):
    # The style patch each position of one photo [1, H, W, 3] gets: [h * w] indices into the styles' patches.
    stride = extractor.LAYER_STRIDES[layer]
    feats = extractor.forward(vgg_params, photo, (layer,))[layer]      # [1, h, w, c]
    scores = []
    for s_img, s_feat in zip(styles, style_feats):
        # The photo's features in the style's statistics, then cosine against every style patch.
        score = patch_scores(fusion.wct(feats, s_feat), s_feat, size=feature_patch)
        scores.append(score - guide * luminance_cost(photo, s_img, stride=stride, size=pixel_patch, cells=guide_cells))
    return balanced_assignment(jnp.concatenate(scores, axis=1), column_mass=mass, iterations=balance_iterations,
                               temperature=temperature)


_SETTINGS = ("layer", "feature_patch", "pixel_patch", "guide_cells", "balance_iterations")
#: The keyword settings of :func:`generate_mosaic` beyond the images, ``weights`` and ``alpha``.
SETTINGS = (*_SETTINGS, "guide", "temperature")


@functools.partial(jax.jit, static_argnames=("paint", *_SETTINGS))
def _mosaic(vgg_params, content, styles, weights, alpha, guide, temperature, *, paint, layer, feature_patch,
            pixel_patch, guide_cells, balance_iterations):
    stride = extractor.LAYER_STRIDES[layer]
    style_feats = [extractor.forward(vgg_params, s, (layer,))[layer] for s in styles]
    counts = [f.shape[1] * f.shape[2] for f in style_feats]
    # Each style's patches share its weight of the photo's positions.
    mass = jnp.concatenate([jnp.full((k,), w / k) for k, w in zip(counts, weights / weights.sum())])
    style_pixels = jnp.concatenate([image_patches(s, stride=stride, size=pixel_patch) for s in styles])
    h, w = content.shape[1] // stride, content.shape[2] // stride

    def one(photo):                                                    # [H, W, 3]
        choice = _choose(vgg_params, photo[None], styles, style_feats, mass, guide, temperature, layer=layer,
                         feature_patch=feature_patch, pixel_patch=pixel_patch, guide_cells=guide_cells,
                         balance_iterations=balance_iterations)
        if not paint:
            return choice
        picture = paste(style_pixels[choice].reshape(h, w, pixel_patch, pixel_patch, 3), stride=stride)
        return alpha * jnp.clip(picture, 0.0, 1.0) + (1.0 - alpha) * photo

    return jax.lax.map(one, content)


def _checked(vgg_params, content, styles, weights, alpha, layer, feature_patch, pixel_patch, guide, guide_cells,
             balance_iterations, temperature):
    """The checks :func:`generate_mosaic` and :func:`choose_patches` share; the arguments of :func:`_mosaic`."""
    layer = extractor.check_layers([layer])[0]
    stride = extractor.LAYER_STRIDES[layer]
    content, checked, alpha, weights = generator.check_generator_inputs(content, styles, alpha, weights,
                                                                        multiple=stride, smallest=stride)
    if content.ndim != 4 or content.shape[1] % stride or content.shape[2] % stride:    # static, even under jit
        raise ValueError(f"content must be [N, H, W, 3] with sides multiples of {stride}; got {tuple(content.shape)}")
    for i, style in enumerate(checked):
        if style.shape[0] != 1 or style.shape[1] % stride or style.shape[2] % stride:
            raise ValueError(f"style {i} must be one image [1, H', W', 3] with sides multiples of {stride}; got "
                             f"{tuple(style.shape)}: crop it (gantransfer.stylize does)")
    check_count(feature_patch, "feature patch size")
    if feature_patch % 2 == 0:
        raise ValueError(f"feature patch size must be odd; got {feature_patch}")
    _check_patch_size(pixel_patch, stride)
    check_count(guide_cells, "guide cells")
    if pixel_patch % guide_cells:
        raise ValueError(f"guide cells must divide the pixel patch size {pixel_patch}; got {guide_cells}")
    guide = check_weight(guide, "guide")
    temperature = check_weight(temperature, "temperature", allow_zero=False)
    check_count(balance_iterations, "balance iterations", minimum=0)
    weights = [1.0] * len(checked) if weights is None else list(weights)
    if len(weights) != len(checked):
        raise ValueError(f"{len(checked)} styles but {len(weights)} weights")
    if all(isinstance(w, float) for w in weights) and sum(weights) <= 0:
        raise ValueError("style weights must not all be zero")
    args = (vgg_params, content, tuple(checked), jnp.asarray(weights, jnp.float32), alpha, guide, temperature)
    settings = dict(layer=layer, feature_patch=feature_patch, pixel_patch=pixel_patch, guide_cells=guide_cells,
                    balance_iterations=balance_iterations)
    return args, settings


def choose_patches(vgg_params, content: jax.Array, styles: Sequence[jax.Array], *, weights=None,
                   layer: str = MOSAIC_LAYER, feature_patch: int = FEATURE_PATCH, pixel_patch: int = PIXEL_PATCH,
                   guide: float = GUIDE_WEIGHT, guide_cells: int = GUIDE_CELLS,
                   balance_iterations: int = BALANCE_ITERATIONS, temperature: float = TEMPERATURE) -> jax.Array:
    """Which style patch :func:`generate_mosaic` paints at each position, without painting.

    Arguments as :func:`generate_mosaic`. Returns ``[N, h · w]`` int32, ``h, w`` = the content's sides over the
    layer's stride: indices into the styles' patches in order (style 0's ``(H'/s) · (W'/s)`` first, row-major,
    ``s`` the layer's stride),
    e.g. to count how many distinct patches a setting uses.
    """
    args, settings = _checked(vgg_params, content, styles, weights, 1.0, layer, feature_patch, pixel_patch, guide,
                              guide_cells, balance_iterations, temperature)
    return _mosaic(*args, paint=False, **settings)


def generate_mosaic(vgg_params, content: jax.Array, styles: Sequence[jax.Array], *, weights=None,
                    alpha: float = 1.0, layer: str = MOSAIC_LAYER, feature_patch: int = FEATURE_PATCH,
                    pixel_patch: int = PIXEL_PATCH, guide: float = GUIDE_WEIGHT, guide_cells: int = GUIDE_CELLS,
                    balance_iterations: int = BALANCE_ITERATIONS, temperature: float = TEMPERATURE) -> jax.Array:
    """``G(content, style)`` without a decoder: paint the photo with the style's pixel patches (module docstring).

    Args:
      vgg_params: VGG16 parameters (:func:`gantransfer.pipeline.extractor.load_params`).
      content: ``[N, H, W, 3]`` in [0, 1]; ``H, W`` multiples of the layer's stride (8 at ``relu4_1``).
      styles: ``K`` style images ``[1, H', W', 3]``, sides multiples of the stride. Seen at their own size:
        a style at half the photo's size (:data:`STYLE_SCALE`) gives strokes half as large.
      weights: ``K`` non-negative style weights (default equal): each style's share of the positions.
      alpha: in [0, 1]: ``alpha · mosaic + (1 - alpha) · photo``.
      layer: the VGG16 layer that chooses the patches.
      feature_patch: odd side of the compared feature patches.
      pixel_patch: side of the painted pixel patches, a multiple of the stride.
      guide: weight of the luminance term (:func:`luminance_cost`), >= 0.
      guide_cells: cells per side of that comparison; divides ``pixel_patch``.
      balance_iterations: Sinkhorn sweeps of :func:`balanced_assignment` (0 = nearest patch).
      temperature: the assignment's temperature, > 0.
    Returns:
      ``[N, H, W, 3]`` in [0, 1].
    Raises:
      ValueError: as :func:`gantransfer.pipeline.generator.generate`, sides not multiples of the stride, or a bad setting.
    References:
      Chen & Schmidt, "Fast Patch-based Style Transfer of Arbitrary Style", 2016; Efros & Freeman, "Image
      Quilting for Texture Synthesis and Transfer", SIGGRAPH 2001; Cuturi, "Sinkhorn Distances", NeurIPS 2013.
    """
    args, settings = _checked(vgg_params, content, styles, weights, alpha, layer, feature_patch, pixel_patch, guide,
                              guide_cells, balance_iterations, temperature)
    return _mosaic(*args, paint=True, **settings)
