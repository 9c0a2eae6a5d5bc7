"""How a stylised picture is judged: is it the style's (Gram statistics), and is it still the photo (its layout)?

Two figures, each computed by the library so that every quality figure in the docs can be reproduced from
this repository (``gantransfer judge OUT CONTENT STYLE``):

* **style ratio**: the Gram distance from the picture to the style, over the photo's own Gram distance to the
  style, on VGG16's ``relu1_2, relu2_2, relu3_3, relu4_3`` (Johnson et al. 2016's style layers). Below 1 the
  picture moved towards the style; 0 is the style's statistics exactly. The style image is seen at 256 × 256,
  whatever the picture's size, so pictures of different sizes are judged against the same statistics.
* **structure**: the correlation of the picture's blurred luminance with the photo's (σ = 1.5 % of the longest
  side): 1 is the same layout of light and dark, 0 none of it. A picture that is all texture and no content
  scores low here, however low its style ratio.

The same definitions as the project's outside cross-check (``shared/bench/judge.py``), written apart from it.
Taught in ``notebooks/06_evaluation_and_scale.ipynb``.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from gantransfer.core import images, resize
from gantransfer.methods import color
from gantransfer.pipeline import extractor, style

#: The layers whose Gram matrices the style ratio compares (Johnson et al. 2016).
JUDGE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
#: The side at which the style image is seen.
STYLE_SIDE = 256
#: The blur of the structure figure, as a fraction of the picture's longest side.
STRUCTURE_BLUR = 0.015


@jax.jit
def _grams(params, images: jax.Array) -> dict[str, jax.Array]:
    """``{layer: G}`` with ``G = FᵀF / (h·w·c)`` at :data:`JUDGE_LAYERS`, for ``[1, H, W, 3]``."""
    features = extractor.forward(params, images, JUDGE_LAYERS)
    return {k: style.gram_matrix(f) / f.shape[-1] for k, f in features.items()}


def _gram_distance(a: dict, b: dict) -> float:
    """Σ_l mean((G_l(a) − G_l(b))²) of two :func:`_grams`."""
    return float(sum(jnp.mean((a[k] - b[k]) ** 2) for k in JUDGE_LAYERS))


def style_ratio(params, picture, content, style_image) -> float:
    """The Gram distance of ``picture`` to ``style_image`` over that of ``content`` (module docstring).

    Args:
      params: VGG16's parameters (:func:`gantransfer.pipeline.extractor.load_params`).
      picture: ``[H, W, 3]`` float32 in [0, 1]; ``content``: the photo, any size (resized to the picture's);
        ``style_image``: any size (seen at :data:`STYLE_SIDE` px square).
    Returns:
      A float >= 0; 1 for the photo itself.
    """
    picture, content = _pair(picture, content)
    target = resize.resize_to(images.check_image_array(style_image, name="style", batched=False), STYLE_SIDE,
                              STYLE_SIDE)
    target = _grams(params, jnp.asarray(target)[None])                    # the style's, once
    own = _gram_distance(_grams(params, jnp.asarray(content)[None]), target)
    if own == 0.0:
        raise ValueError("the photo already has the style's statistics exactly; the ratio is undefined")
    return _gram_distance(_grams(params, jnp.asarray(picture)[None]), target) / own


def texture_ratio(params, texture, style_image) -> float:
    """How close a texture ``[H, W, 3]`` is to a style by Gram statistics: its Gram distance to the style over
    that of a flat image of the style's mean colour (a texture with no texture). 0: the style's statistics;
    1: no nearer than its average colour. The style is seen at :data:`STYLE_SIDE` px square, as in
    :func:`style_ratio`, so a texture made by a GAN and one made by Gram synthesis are judged alike."""
    texture = images.check_image_array(texture, name="texture", batched=False)
    style_image = images.check_image_array(style_image, name="style", batched=False)
    flat = np.broadcast_to(style_image.reshape(-1, 3).mean(axis=0), texture.shape).astype(np.float32)
    return style_ratio(params, texture, flat, style_image)


def structure(picture, content) -> float:
    """The correlation of the blurred luminance of ``picture`` ``[H, W, 3]`` with that of ``content`` (resized to
    the picture's size): 1 = the same layout of light and dark."""
    picture, content = _pair(picture, content)
    sigma = STRUCTURE_BLUR * max(picture.shape[:2])
    from scipy import ndimage  # lazy: as in core.paint: scipy.ndimage is ~0.15 s of every CLI start
    blur = functools.partial(ndimage.gaussian_filter, sigma=sigma, mode="reflect", truncate=4.0)
    a, b = (blur(np.asarray(color.luminance(x), np.float64)) for x in (picture, content))
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def judge(params, picture, content, style_image) -> dict[str, float]:
    """``{"style_ratio": ..., "structure": ...}`` of one picture (:func:`style_ratio`, :func:`structure`)."""
    return {"style_ratio": style_ratio(params, picture, content, style_image),
            "structure": structure(picture, content)}


def _pair(picture, content) -> tuple[np.ndarray, np.ndarray]:
    picture = images.check_image_array(picture, name="picture", batched=False)
    content = images.check_image_array(content, name="content", batched=False)
    if content.shape[:2] != picture.shape[:2]:
        content = resize.resize_to(content, *picture.shape[:2])
    return picture, content

