"""The generator ``I_s = G(I_c, S)``: frozen VGG16 encoder → fusion → trained decoder.

The encoder is VGG16 up to ``relu4_1`` (:mod:`gantransfer.pipeline.extractor`), the fusion AdaIN or WCT
(:mod:`gantransfer.pipeline.fusion`), and the decoder a mirror of the encoder (Huang & Belongie 2017): 3×3
convolutions with reflection padding (no border artefacts) and nearest-neighbour upsampling followed by a
convolution (no checkerboard artefacts, Odena et al. 2016), in place of transposed convolutions.

Taught in ``notebooks/04_fusion.ipynb``.
"""
from __future__ import annotations

import functools
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from gantransfer.core import images, resources
from gantransfer.core.validate import check_weight
from gantransfer.pipeline import extractor, fusion

#: Where ``gantransfer train decoder --export`` puts the decoder the package ships.
SHIPPED_DECODER = resources.checkpoint("decoder.npz")
#: The same decoder after adversarial fine-tuning (``gantransfer train gan --export``); AdaIN fusion.
SHIPPED_GAN_DECODER = SHIPPED_DECODER.with_name("gan_decoder.npz")

#: Multi-level WCT (Li et al. 2017): the levels, deep to shallow, and their shipped decoders. Without
#: ``relu4_1``: on held-out pairs its WCT (or AdaIN) washed out the photo's layout of light and dark, while
#: the three shallower levels keep it and match the style's fine texture and colour statistics.
MULTILEVEL_LAYERS = ("relu3_1", "relu2_1", "relu1_1")
#: Li et al.'s default blend at every level (also the best of 0.4/0.6/0.8/1.0 on the tuning pairs).
MULTILEVEL_ALPHA = 0.6
SHIPPED_LEVEL_DECODERS = {layer: SHIPPED_DECODER.with_name(f"decoder_{layer}.npz") for layer in MULTILEVEL_LAYERS}

#: Width multiplier of the shipped decoder: half of Huang & Belongie's channels, 4× fewer FLOPs (256 px
#: decode 67 ms vs 192 ms on a 2-core CPU), which is what puts a slider update under 150 ms.
DEFAULT_WIDTH = 0.5

#: The encoder's last layer: deep enough to carry content, shallow enough to decode well.
ENCODER_LAYER = "relu4_1"

# The decoder's layers: (c_in, c_out) of each 3×3 conv, "up" for ×2 nearest upsampling.
DECODER_PLAN = ((512, 256), "up", (256, 256), (256, 256), (256, 256), (256, 128), "up",
                (128, 128), (128, 64), "up", (64, 64), (64, 3))

#: Decoders for shallower encoder layers are tails of the same mirror (Li et al. 2017's decoders for
#: ``relu1_1`` … ``relu4_1``): from where that layer's channels and resolution enter it.
DECODER_PLANS = {"relu4_1": DECODER_PLAN, "relu3_1": DECODER_PLAN[5:], "relu2_1": DECODER_PLAN[8:],
                 "relu1_1": DECODER_PLAN[11:]}


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
    """Mirror of VGG16 up to ``layer``: ``relu4_1`` features ``[N, h, w, 512]`` → ``[N, 8h, 8w, 3]`` image
    (``relu3_1``: ``[N, h, w, 256]`` → ``[N, 4h, 4w, 3]``; ``relu2_1``: 128 channels, ×2; ``relu1_1``: 64, ×1).

    ``width`` scales every hidden channel count (1.0 = Huang & Belongie's decoder, 3.5 M parameters at
    ``relu4_1``); the output is unbounded and clipped to [0, 1] by :func:`generate`.
    """

    def __init__(self, *, width: float = 1.0, layer: str = ENCODER_LAYER, rngs: nnx.Rngs):
        if not width > 0:
            raise ValueError(f"width must be > 0; got {width}")
        if layer not in DECODER_PLANS:
            raise ValueError(f"no decoder for layer {layer!r}; choose from {', '.join(DECODER_PLANS)}")
        plan = DECODER_PLANS[layer]
        convs = [item for item in plan if item != "up"]
        # The first conv reads the encoder's channels and the last writes RGB: only hidden ones scale.
        scale = lambda c: max(8, int(round(c * width)))
        layers = []
        for k, (c_in, c_out) in enumerate(convs):
            layers.append(ReflectConv(c_in if k == 0 else scale(c_in), c_out if k == len(convs) - 1 else scale(c_out),
                                      rngs=rngs))
        self.layers = nnx.List(layers)
        self.plan = tuple("up" if item == "up" else "conv" for item in plan)

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


@functools.lru_cache(maxsize=16)
def decoder_graphdef(width: float = 1.0, layer: str = ENCODER_LAYER):
    """The (static) graph definition of a :class:`Decoder` of this width and layer."""
    return nnx.split(nnx.eval_shape(lambda: Decoder(width=width, layer=layer, rngs=nnx.Rngs(0))))[0]


def init_decoder(key: jax.Array, *, width: float = 1.0, layer: str = ENCODER_LAYER) -> nnx.State:
    """Fresh decoder parameters as an ``nnx.State`` pytree."""
    return nnx.state(Decoder(width=width, layer=layer, rngs=nnx.Rngs(params=key)), nnx.Param)


def decode(decoder_state: nnx.State, features: jax.Array, *, width: float = 1.0,
           layer: str = ENCODER_LAYER) -> jax.Array:
    """Run the decoder: ``[N, h, w, 512] -> [N, 8h, 8w, 3]`` at ``relu4_1`` (unclipped; see :class:`Decoder`)."""
    return nnx.merge(decoder_graphdef(width, layer), decoder_state)(features)


def encode(vgg_params, images: jax.Array, *, layer: str = ENCODER_LAYER) -> jax.Array:
    """``[N, H, W, 3]`` in [0, 1] → ``relu4_1`` features ``[N, H/8, W/8, 512]`` (or ``layer``'s)."""
    return extractor.forward(vgg_params, images, (layer,))[layer]


@functools.partial(jax.jit, static_argnames=("method", "width"))
def _generate(vgg_params, decoder_state, content: jax.Array, styles: Sequence[jax.Array], *,
             method: str = "adain", alpha: float = 1.0, weights=None, masks=None, width: float = 1.0) -> jax.Array:
    # The jitted body of generate (inputs already checked).
    content_feats = encode(vgg_params, content)
    style_feats = [encode(vgg_params, s) for s in styles]
    fused = fusion.fuse(content_feats, style_feats, method=method, alpha=alpha, weights=weights, masks=masks)
    return jnp.clip(decode(decoder_state, fused, width=width), 0.0, 1.0)


def check_generator_inputs(content, styles, alpha, weights, *, multiple: int, smallest: int):
    """The checks :func:`generate`, :func:`generate_multilevel` and :func:`gantransfer.methods.mosaic.generate_mosaic`
    share (concrete inputs only): ``(content, styles, alpha, weights)`` back, checked."""

    if not isinstance(content, jax.core.Tracer):
        content = images.check_image_array(content, name="content", batched=True)
        if content.shape[1] % multiple or content.shape[2] % multiple:
            raise ValueError(f"content height and width must each be a multiple of {multiple} (the deepest layer's "
                             f"stride); got {content.shape[1]}×{content.shape[2]}: crop it (gantransfer.stylize does)")
    if not styles:
        raise ValueError("no style image given")
    checked = []
    for i, style in enumerate(styles):
        if not isinstance(style, jax.core.Tracer):
            style = images.check_image_array(style, name=f"style {i}", batched=True)
            if min(style.shape[1:3]) < smallest:
                raise ValueError(f"style {i} must be at least {smallest} px on each side (the deepest layer needs a "
                                 f"position); got {style.shape[1]}×{style.shape[2]}")
        checked.append(style)
    if not isinstance(alpha, jax.core.Tracer):
        alpha = check_weight(alpha, "alpha")
        if alpha > 1:
            raise ValueError(f"alpha must be in [0, 1]; got {alpha}")
    if weights is not None and not isinstance(weights, jax.core.Tracer):
        weights = [check_weight(w, "style weight") for w in weights]
    return content, checked, alpha, weights


def generate(vgg_params, decoder_state, content: jax.Array, styles: Sequence[jax.Array], *,
             method: str = "adain", alpha: float = 1.0, weights=None, masks=None, width: float = 1.0) -> jax.Array:
    """``I_s = G(I_c, S)``: stylise ``content`` with one or several styles in one forward pass.

    Args:
      vgg_params: VGG16 parameters (:func:`gantransfer.pipeline.extractor.load_params`).
      decoder_state: trained decoder parameters.
      content: ``[N, H, W, 3]`` in [0, 1], ``H, W`` multiples of 8.
      styles: list of ``[1 or N, H', W', 3]`` style images.
      method: ``"adain"`` or ``"wct"``.
      alpha, weights, masks: as in :func:`gantransfer.pipeline.fusion.fuse`.
    Returns:
      ``[N, H, W, 3]`` in [0, 1].
    Raises:
      ValueError: for concrete inputs that are not images in [0, 1] of the right shapes (``H, W`` multiples
        of 8, styles at least 8 px), or an ``alpha`` / weights outside their range. Traced inputs (inside
        another ``jit``) are passed through unchecked.
    """
    content, checked, alpha, weights = check_generator_inputs(content, styles, alpha, weights, multiple=8, smallest=8)
    return _generate(vgg_params, decoder_state, content, checked, method=method, alpha=alpha, weights=weights,
                     masks=masks, width=width)


@functools.partial(jax.jit, static_argnames=("layers", "widths"))
def _generate_multilevel(vgg_params, decoder_states, content, styles, *, alpha, weights, masks, layers, widths):
    # The jitted body of generate_multilevel (inputs already checked). The styles do not change from level
    # to level: one encoder pass each gives all their levels' features.
    style_feats = [extractor.forward(vgg_params, s, extractor.in_forward_order(layers)) for s in styles]
    image = content
    for layer, state, width in zip(layers, decoder_states, widths):
        fused = fusion.fuse(encode(vgg_params, image, layer=layer), [f[layer] for f in style_feats],
                            method="wct", alpha=alpha, weights=weights, masks=masks)
        image = jnp.clip(decode(state, fused, width=width, layer=layer), 0.0, 1.0)
    return image


def generate_multilevel(vgg_params, decoders: Mapping[str, tuple], content: jax.Array, styles: Sequence[jax.Array], *,
                        alpha: float = MULTILEVEL_ALPHA, weights=None, masks=None,
                        layers: Sequence[str] = MULTILEVEL_LAYERS) -> jax.Array:
    """Multi-level WCT (Li et al. 2017, "Universal Style Transfer via Feature Transforms"): coarse to fine.

    At each layer in turn (deep to shallow), encode the current image, whiten-and-colour its features with
    the style's (:func:`gantransfer.pipeline.fusion.wct`, blended by ``alpha``) and decode with that layer's decoder;
    the next, shallower level starts from that image. Deep levels move the style's larger patterns, shallow
    ones its fine texture and colours, which one ``relu4_1`` pass cannot reach.

    Args:
      vgg_params: VGG16 parameters.
      decoders: ``{layer: (decoder_state, width)}`` for every layer of ``layers``
        (:func:`gantransfer.pipeline.decoder_file.load_level_decoders` loads the shipped ones).
      content: ``[N, H, W, 3]`` in [0, 1], ``H, W`` multiples of the deepest level's stride (4 at ``relu3_1``).
      styles: list of ``[1 or N, H', W', 3]`` style images.
      alpha: content–style trade-off in [0, 1] at every level (Li et al.: 0.6).
      weights, masks: as in :func:`gantransfer.pipeline.fusion.fuse`.
      layers: the levels, deep to shallow; each must have a decoder (:data:`DECODER_PLANS`).
    Returns:
      ``[N, H, W, 3]`` in [0, 1].
    Raises:
      ValueError: as :func:`generate`, and for a layer without a decoder plan or missing from ``decoders``.
    """
    layers = tuple(layers)
    if not layers:
        raise ValueError("no levels given")
    for layer in layers:
        if layer not in DECODER_PLANS:
            raise ValueError(f"no decoder plan for level {layer!r}; choose from {', '.join(DECODER_PLANS)}")
        if layer not in decoders:
            raise ValueError(f"no decoder given for level {layer}")
    stride = max(extractor.LAYER_STRIDES[layer] for layer in layers)
    content, checked, alpha, weights = check_generator_inputs(content, styles, alpha, weights, multiple=stride,
                                                              smallest=stride)
    states = tuple(decoders[layer][0] for layer in layers)
    widths = tuple(float(decoders[layer][1]) for layer in layers)
    return _generate_multilevel(vgg_params, states, content, checked, alpha=alpha, weights=weights, masks=masks,
                                layers=layers, widths=widths)
