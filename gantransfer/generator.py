"""The generator ``I_s = G(I_c, S)``: frozen VGG16 encoder → fusion → trained decoder.

The encoder is VGG16 up to ``relu4_1`` (:mod:`gantransfer.extractor`), the fusion AdaIN or WCT
(:mod:`gantransfer.fusion`), and the decoder a mirror of the encoder (Huang & Belongie 2017): 3×3
convolutions with reflection padding (no border artefacts) and nearest-neighbour upsampling followed by a
convolution (no checkerboard artefacts, Odena et al. 2016), in place of transposed convolutions.

Taught in ``notebooks/04_fusion.ipynb``.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from . import extractor, fusion
from .validate import check_weight

#: Where ``gantransfer train decoder --export`` puts the decoder the package ships.
SHIPPED_DECODER = Path(__file__).resolve().parent.parent / "data" / "checkpoints" / "decoder.npz"
#: The same decoder after adversarial fine-tuning (``gantransfer train gan --export``); AdaIN fusion.
SHIPPED_GAN_DECODER = SHIPPED_DECODER.with_name("gan_decoder.npz")

#: Width multiplier of the shipped decoder: half of Huang & Belongie's channels, 4× fewer FLOPs (256 px
#: decode 67 ms vs 192 ms on a 2-core CPU), which is what puts a slider update under 150 ms.
DEFAULT_WIDTH = 0.5

#: The encoder's last layer: deep enough to carry content, shallow enough to decode well.
ENCODER_LAYER = "relu4_1"

# The decoder's layers: (c_in, c_out) of each 3×3 conv, "up" for ×2 nearest upsampling.
DECODER_PLAN = ((512, 256), "up", (256, 256), (256, 256), (256, 256), (256, 128), "up",
                (128, 128), (128, 64), "up", (64, 64), (64, 3))


class ReflectConv(nnx.Module):
    """3×3 convolution with one pixel of reflection padding: ``[N, h, w, c_in] -> [N, h, w, c_out]``."""

    def __init__(self, c_in: int, c_out: int, *, rngs: nnx.Rngs):
        self.conv = nnx.Conv(c_in, c_out, (3, 3), padding="SAME", rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
        # A "SAME" conv on the padded map, cropped, equals a "VALID" one exactly (the border outputs that
        # saw the zeros are cut off), and XLA's CPU convolution is 2-3× faster on that path.
        return self.conv(x)[:, 1:-1, 1:-1]


def upsample_nearest(x: jax.Array) -> jax.Array:
    """×2 nearest-neighbour upsampling, ``[N, h, w, c] -> [N, 2h, 2w, c]``."""
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


class Decoder(nnx.Module):
    """Mirror of VGG16 up to ``relu4_1``: ``[N, h, w, 512]`` features → ``[N, 8h, 8w, 3]`` image.

    ``width`` scales every hidden channel count (1.0 = Huang & Belongie's decoder, 3.5 M parameters);
    the output is unbounded and clipped to [0, 1] by :func:`generate`.
    """

    def __init__(self, *, width: float = 1.0, rngs: nnx.Rngs):
        if not width > 0:
            raise ValueError(f"width must be > 0; got {width}")
        scale = lambda c: c if c in (3, 512) else max(8, int(round(c * width)))
        layers = []
        for item in DECODER_PLAN:
            layers.append(item if item == "up" else ReflectConv(scale(item[0]), scale(item[1]), rngs=rngs))
        self.layers = nnx.List([layer for layer in layers if layer != "up"])
        self.plan = tuple("up" if item == "up" else "conv" for item in DECODER_PLAN)

    def __call__(self, features: jax.Array) -> jax.Array:
        x, k = features, 0
        for i, kind in enumerate(self.plan):
            if kind == "up":
                x = upsample_nearest(x)
                continue
            x = self.layers[k](x)
            k += 1
            if i < len(self.plan) - 1:  # no ReLU after the last conv: it outputs RGB
                x = jax.nn.relu(x)
        return x


@functools.lru_cache(maxsize=4)
def decoder_graphdef(width: float = 1.0):
    """The (static) graph definition of a :class:`Decoder` of this width."""
    return nnx.split(nnx.eval_shape(lambda: Decoder(width=width, rngs=nnx.Rngs(0))))[0]


def init_decoder(key: jax.Array, *, width: float = 1.0) -> nnx.State:
    """Fresh decoder parameters as an ``nnx.State`` pytree."""
    return nnx.state(Decoder(width=width, rngs=nnx.Rngs(params=key)), nnx.Param)


def decode(decoder_state: nnx.State, features: jax.Array, *, width: float = 1.0) -> jax.Array:
    """Run the decoder: ``[N, h, w, 512] -> [N, 8h, 8w, 3]`` (unclipped)."""
    return nnx.merge(decoder_graphdef(width), decoder_state)(features)


def encode(vgg_params, images: jax.Array) -> jax.Array:
    """``[N, H, W, 3]`` in [0, 1] → ``relu4_1`` features ``[N, H/8, W/8, 512]``."""
    return extractor.forward(vgg_params, images, (ENCODER_LAYER,))[ENCODER_LAYER]


@functools.partial(jax.jit, static_argnames=("method", "width"))
def _generate(vgg_params, decoder_state, content: jax.Array, styles: Sequence[jax.Array], *,
             method: str = "adain", alpha: float = 1.0, weights=None, masks=None, width: float = 1.0) -> jax.Array:
    # The jitted body of generate (inputs already checked).
    content_feats = encode(vgg_params, content)
    style_feats = [encode(vgg_params, s) for s in styles]
    fused = fusion.fuse(content_feats, style_feats, method=method, alpha=alpha, weights=weights, masks=masks)
    return jnp.clip(decode(decoder_state, fused, width=width), 0.0, 1.0)


def generate(vgg_params, decoder_state, content: jax.Array, styles: Sequence[jax.Array], *,
             method: str = "adain", alpha: float = 1.0, weights=None, masks=None, width: float = 1.0) -> jax.Array:
    """``I_s = G(I_c, S)``: stylise ``content`` with one or several styles in one forward pass.

    Args:
      vgg_params: VGG16 parameters (:func:`gantransfer.extractor.load_params`).
      decoder_state: trained decoder parameters.
      content: ``[N, H, W, 3]`` in [0, 1], ``H, W`` multiples of 8.
      styles: list of ``[1 or N, H', W', 3]`` style images.
      method: ``"adain"`` or ``"wct"``.
      alpha, weights, masks: as in :func:`gantransfer.fusion.fuse`.
    Returns:
      ``[N, H, W, 3]`` in [0, 1].
    Raises:
      ValueError: for concrete inputs that are not images in [0, 1] of the right shapes (``H, W`` multiples
        of 8, styles at least 8 px), or an ``alpha`` / weights outside their range. Traced inputs (inside
        another ``jit``) are passed through unchecked.
    """
    from . import images

    if not isinstance(content, jax.core.Tracer):
        content = images.check_image_array(content, name="content", batched=True)
        if content.shape[1] % 8 or content.shape[2] % 8:
            raise ValueError(f"content height and width must each be a multiple of 8 (the decoder upsamples ×8); got "
                             f"{content.shape[1]}×{content.shape[2]}: crop it, e.g. with stylize_image")
    if not styles:
        raise ValueError("no style image given")
    checked = []
    for i, style in enumerate(styles):
        if not isinstance(style, jax.core.Tracer):
            style = images.check_image_array(style, name=f"style {i}", batched=True)
            if min(style.shape[1:3]) < 8:
                raise ValueError(f"style {i} must be at least 8 px on each side (relu4_1 needs a position); "
                                 f"got {style.shape[1]}×{style.shape[2]}")
        checked.append(style)
    if not isinstance(alpha, jax.core.Tracer):
        alpha = check_weight(alpha, "alpha")
        if alpha > 1:
            raise ValueError(f"alpha must be in [0, 1]; got {alpha}")
    if weights is not None and not isinstance(weights, jax.core.Tracer):
        weights = [check_weight(w, "style weight") for w in weights]
    return _generate(vgg_params, decoder_state, content, checked, method=method, alpha=alpha, weights=weights,
                     masks=masks, width=width)


def shipped_decoder_path(method: str) -> Path:
    """The decoder a feed-forward ``method`` uses: ``"adain"``/``"wct"`` the decoder, ``"gan"`` the GAN-trained one."""
    if method not in ("adain", "wct", "gan"):
        raise ValueError(f"method must be 'adain', 'wct' or 'gan'; got {method!r}")
    return SHIPPED_GAN_DECODER if method == "gan" else SHIPPED_DECODER


def stylize_image(vgg_params, decoder_state, content: jax.Array, styles: Sequence[jax.Array], *,
                  method: str = "adain", alpha: float = 1.0, weights=None, width: float = 1.0) -> jax.Array:
    """:func:`generate` for one ``[H, W, 3]`` photo and ``[H', W', 3]`` style images → ``[8⌊H/8⌋, 8⌊W/8⌋, 3]``.

    The photo is cropped to a multiple of 8 (the decoder upsamples three times); ``method="gan"`` is AdaIN
    fusion (use it with the GAN-trained decoder).
    """
    crop = lambda x: jnp.asarray(x)[: x.shape[0] // 8 * 8, : x.shape[1] // 8 * 8][None]
    fusion_method = "adain" if method == "gan" else method
    return generate(vgg_params, decoder_state, crop(content), [jnp.asarray(s)[None] for s in styles],
                    method=fusion_method, alpha=alpha, weights=weights, width=width)[0]

