"""color.keep_layout: the photo's blurred luminance under a stylised picture (a frequency split)."""
import jax
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from gantransfer.core import samples
from gantransfer.methods import color, registry
from gantransfer.pipeline import decoder_file, extractor

LUMA = np.array([0.299, 0.587, 0.114])


def _numpy_keep_layout(stylised, content, strength, scale):
    """Independent reference: scipy's Gaussian (mirror padding, radius ceil(3σ)) and numpy statistics."""
    sigma = scale * max(stylised.shape[-3:-1])
    radius = int(np.ceil(3 * sigma))
    blur = lambda y: gaussian_filter(y.astype(np.float64), sigma, mode="mirror", truncate=radius / sigma)
    out = []
    for s, c in zip(stylised.reshape(-1, *stylised.shape[-3:]), content.reshape(-1, *content.shape[-3:])):
        low_s, low_c = blur(s @ LUMA), blur(c @ LUMA)
        target = low_c - low_c.mean() + low_s.mean()
        out.append(np.clip(s + strength * (target - low_s)[..., None], 0, 1))
    return np.stack(out).reshape(stylised.shape)


@pytest.mark.parametrize("strength, scale, jit", [(1.0, 0.02, False), (0.4, 0.08, True), (0.0, 0.05, False)])
def test_keep_layout_matches_numpy(strength, scale, jit):
    rng = np.random.default_rng(0)
    stylised = (rng.random((2, 36, 48, 3)) * 0.6 + 0.2).astype(np.float32)
    content = rng.random((2, 36, 48, 3)).astype(np.float32)
    fn = lambda a, b: color.keep_layout(a, b, strength=strength, scale=scale)
    out = np.asarray((jax.jit(fn) if jit else fn)(stylised, content))
    np.testing.assert_allclose(out, _numpy_keep_layout(stylised, content, strength, scale), atol=1e-5)
    if strength == 0:
        np.testing.assert_array_equal(out, stylised)


def test_keep_layout_gives_the_photos_light_and_dark_and_keeps_fine_texture():
    h = w = 64
    yy, xx = np.mgrid[:h, :w] / h
    photo = np.repeat(((xx + yy) / 2)[..., None], 3, -1).astype(np.float32)        # a smooth diagonal ramp
    texture = 0.5 + 0.2 * np.sign(np.sin(xx * 60))[..., None] * np.array([1.0, 0.5, 0.2])  # fine stripes
    stylised = (texture + 0.1 * (1 - xx)[..., None]).astype(np.float32)              # layout: the other way
    out = np.asarray(color.keep_layout(stylised, photo, scale=0.05))
    low = lambda img: gaussian_filter(img @ LUMA, 4)
    corr = lambda a, b: np.corrcoef(low(a).ravel(), low(b).ravel())[0, 1]
    assert corr(stylised, photo) < 0.75 and corr(out, photo) > 0.95
    fine = lambda img: (img @ LUMA) - low(img)                                       # the texture survives
    assert np.corrcoef(fine(out).ravel(), fine(stylised).ravel())[0, 1] > 0.9
    assert abs(float((out @ LUMA).mean()) - float((stylised @ LUMA).mean())) < 0.02   # the style's brightness


@pytest.mark.parametrize("kwargs, match", [
    ({"strength": 1.5}, "strength must be in"), ({"strength": -0.1}, "strength"), ({"strength": float("nan")}, "strength"),
    ({"scale": 0.0}, "scale"), ({"scale": 0.7}, "scale must be a number in"),
])
def test_keep_layout_refuses_bad_settings(kwargs, match):
    x = np.zeros((1, 32, 32, 3), np.float32)
    with pytest.raises(ValueError, match=match):
        color.keep_layout(x, x, **kwargs)


def test_keep_layout_refuses_mismatched_images():
    with pytest.raises(ValueError, match="same shape"):
        color.keep_layout(np.zeros((1, 32, 32, 3), np.float32), np.zeros((1, 32, 40, 3), np.float32))
    with pytest.raises(ValueError, match="same shape"):
        color.keep_layout(np.zeros((1, 32, 32, 1), np.float32), np.zeros((1, 32, 32, 1), np.float32))
    with pytest.raises(ValueError, match="float"):
        color.keep_layout(np.zeros((1, 32, 32, 3), np.uint8), np.zeros((1, 32, 32, 3), np.uint8))


def test_stylize_keep_layout_brings_back_the_photos_layout():
    """The shipped multi-level cascade at 128 px: with keep_layout=1 the blurred luminance follows the photo."""
    params = extractor.load_params()
    decoders = decoder_file.load_level_decoders()
    photo = samples.content_image("astronaut", size=128)
    style = samples.style_image("waves", size=128)
    plain = registry.stylize(photo, style, method="multilevel", params=params, decoders=decoders)
    kept = registry.stylize(photo, style, method="multilevel", params=params, decoders=decoders, keep_layout=1.0)
    ref = photo[: kept.shape[0], : kept.shape[1]]
    low = lambda img: gaussian_filter(img @ LUMA, 0.02 * 128)
    corr = lambda a: np.corrcoef(low(a).ravel(), low(ref).ravel())[0, 1]
    assert kept.shape == plain.shape and corr(kept) > max(0.95, corr(plain) + 0.05)
    np.testing.assert_allclose(kept, _numpy_keep_layout(plain, ref, 1.0, color.LAYOUT_SCALE), atol=1e-4)


def test_layout_of_is_the_blurred_luminance():
    rng = np.random.default_rng(2)
    images = rng.random((2, 30, 44, 3)).astype(np.float32)
    sigma = 0.1 * 44
    radius = int(np.ceil(3 * sigma))
    expected = [gaussian_filter((im @ LUMA).astype(np.float64), sigma, mode="mirror", truncate=radius / sigma)
                for im in images]
    np.testing.assert_allclose(np.asarray(color.layout_of(images, scale=0.1)), np.stack(expected), atol=1e-5)
    assert color.layout_of(images[0]).shape == (30, 44)
    with pytest.raises(ValueError, match="RGB"):
        color.layout_of(images[..., :2])
