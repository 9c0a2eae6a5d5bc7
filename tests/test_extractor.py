import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gantransfer.pipeline import extractor


def _raw_weights():
    # Independent of the module under test: plain pickle of the package file.
    with open(extractor.lpips_weights_path(), "rb") as f:
        return pickle.load(f)["VGG16_0"]


def _np_conv3x3(x, kernel, bias):
    """Zero-padded 3×3 cross-correlation in numpy: x [H, W, ci], kernel [3, 3, ci, co]."""
    h, w, _ = x.shape
    xp = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    out = np.zeros((h, w, kernel.shape[-1]), np.float64)
    for dy in range(3):
        for dx in range(3):
            out += xp[dy:dy + h, dx:dx + w] @ kernel[dy, dx]
    return out + bias


def test_layer_names_cover_vgg16():
    assert extractor.LAYER_NAMES[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert extractor.LAYER_NAMES[-1] == "pool5" and "relu5_3" in extractor.LAYER_NAMES
    assert len(extractor.CONV_NAMES) == 13
    assert extractor.LAYER_CHANNELS["relu3_3"] == 256 and extractor.LAYER_STRIDES["relu3_3"] == 4


def test_parameter_count(vgg_params):
    n = sum(x.size for x in jax.tree.leaves(vgg_params))
    assert n == 14_714_688  # torchvision's VGG16 feature trunk


@pytest.mark.parametrize("jit", [True, False])
def test_first_layers_match_numpy(vgg_params, rng, jit):
    image = rng.random((1, 32, 36, 3), dtype=np.float32)
    feats = extractor.extract(vgg_params, image, ["conv1_1", "relu1_1", "relu1_2", "pool1"], debug=not jit)
    w = _raw_weights()
    x = (image[0].astype(np.float64) - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    conv1_1 = _np_conv3x3(x, w["Conv_0"]["kernel"], w["Conv_0"]["bias"])
    relu1_1 = np.maximum(conv1_1, 0)
    relu1_2 = np.maximum(_np_conv3x3(relu1_1, w["Conv_1"]["kernel"], w["Conv_1"]["bias"]), 0)
    pool1 = relu1_2.reshape(16, 2, 18, 2, 64).max(axis=(1, 3))
    np.testing.assert_allclose(feats["conv1_1"][0], conv1_1, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(feats["relu1_1"][0], relu1_1, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(feats["relu1_2"][0], relu1_2, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(feats["pool1"][0], pool1, rtol=1e-4, atol=1e-3)


def _numpy_pool_and_grad(x, g):
    """Max pooling and its gradient routed to each window's first maximum in reading order, loop by loop."""
    n, h, w, c = x.shape
    y, dx = np.zeros((n, h // 2, w // 2, c), x.dtype), np.zeros_like(x)
    for b, i, j, k in np.ndindex(*y.shape):
        window = [x[b, 2 * i + di, 2 * j + dj, k] for di in (0, 1) for dj in (0, 1)]
        first = int(np.argmax(window))                          # numpy's argmax: the first maximum
        y[b, i, j, k] = window[first]
        dx[b, 2 * i + first // 2, 2 * j + first % 2, k] = g[b, i, j, k]
    return y, dx


@pytest.mark.parametrize("shape", [(2, 6, 8, 3), (1, 7, 5, 2)])
def test_max_pool_and_its_gradient_match_numpy(rng, shape):
    # Values from {0, 1, 2} so that windows tie often, odd sizes floored.
    x = rng.integers(0, 3, size=shape).astype(np.float32)
    g = rng.normal(size=(shape[0], shape[1] // 2, shape[2] // 2, shape[3])).astype(np.float32)
    y, vjp = jax.vjp(extractor.max_pool_2x2, jnp.asarray(x))
    want_y, want_dx = _numpy_pool_and_grad(x, g)
    np.testing.assert_array_equal(np.asarray(y), want_y)
    np.testing.assert_array_equal(np.asarray(vjp(jnp.asarray(g))[0]), want_dx)


def test_max_pool_gradient_is_the_derivative_without_ties(rng):
    x = jnp.asarray(rng.normal(size=(1, 8, 10, 4)).astype(np.float32))
    loss = lambda pool: lambda v: jnp.sum(jnp.sin(pool(v)))
    np.testing.assert_allclose(jax.jit(jax.grad(loss(extractor.max_pool_2x2)))(x),
                               jax.grad(loss(extractor._max_pool))(x), rtol=1e-6)


def test_turned_kernels_are_flipped_and_transposed(vgg_params):
    turned = extractor.turned_kernels(vgg_params, ("relu2_1",))
    assert sorted(turned) == ["conv1_1", "conv1_2", "conv2_1"]          # up to the deepest layer asked for
    kernel = np.asarray(vgg_params["conv1_2"]["kernel"][...])            # [3, 3, c_in, c_out]
    want = np.transpose(kernel[::-1, ::-1], (0, 1, 3, 2))
    np.testing.assert_array_equal(np.asarray(turned["conv1_2"]), want)


def test_forward_with_turned_kernels_has_the_same_values_and_image_gradient(vgg_params, rng):
    images = jnp.asarray(rng.uniform(size=(1, 40, 36, 3)).astype(np.float32))
    layers = ("relu1_2", "relu2_2")
    turned = extractor.turned_kernels(vgg_params, layers)

    def loss(x, t):
        feats = extractor.forward(vgg_params, x, layers, t)
        return sum(jnp.mean(jnp.sin(v)) for v in feats.values())

    plain, with_turned = jax.jit(jax.value_and_grad(loss))(images, None), jax.jit(jax.value_and_grad(loss))(images, turned)
    np.testing.assert_allclose(with_turned[0], plain[0], rtol=1e-6)
    np.testing.assert_allclose(with_turned[1], plain[1], rtol=1e-4, atol=1e-9)
    # the kernels' own gradient is kept correct on this path too
    k_grad = lambda t: jax.grad(lambda p: loss(images, t), allow_int=True)(vgg_params)["conv1_1"]["kernel"][...]
    np.testing.assert_allclose(k_grad(turned), k_grad(None), rtol=1e-4, atol=1e-9)


def test_winograd_kernels_cover_block_3_up_to_the_deepest_layer(vgg_params):
    assert extractor.winograd_kernels(vgg_params, ("relu2_2",)) == {}
    fast = extractor.winograd_kernels(vgg_params, ("relu3_2",))
    assert sorted(fast) == ["conv3_1", "conv3_2"]
    u, u_turned = fast["conv3_2"]
    assert u.shape == (16, 256, 256) and u_turned.shape == (16, 256, 256)
    assert fast["conv3_1"][0].shape == (16, 128, 256) and fast["conv3_1"][1].shape == (16, 256, 128)


def test_forward_with_winograd_has_the_same_values_and_gradients(vgg_params, rng):
    """Block 3 by Winograd's algorithm: the features, the image's gradient and the kernels' gradients as XLA's
    convolution gives them (odd sides at block 3: 10 × 9 px)."""
    images = jnp.asarray(rng.uniform(size=(1, 40, 36, 3)).astype(np.float32))
    layers = ("relu2_2", "relu3_3")
    turned, fast = extractor.turned_kernels(vgg_params, layers), extractor.winograd_kernels(vgg_params, layers)

    def loss(params, x, fast):
        feats = extractor.forward(params, x, layers, turned, fast)
        return sum(jnp.mean(jnp.sin(v)) for v in feats.values())

    plain = jax.jit(jax.value_and_grad(loss, argnums=1))(vgg_params, images, None)
    winograd = jax.jit(jax.value_and_grad(loss, argnums=1))(vgg_params, images, fast)
    np.testing.assert_allclose(winograd[0], plain[0], rtol=1e-5)
    scale = float(jnp.max(jnp.abs(plain[1])))                 # float rounding: relative to the largest entry
    np.testing.assert_allclose(winograd[1], plain[1], rtol=1e-3, atol=1e-4 * scale)
    # the kernels' gradient through the Winograd-domain kernels, as the step would need it to train VGG16
    k_grad = lambda fast_of: jax.grad(lambda p: loss(p, images, fast_of(p)), allow_int=True)(vgg_params)
    with_fast = k_grad(lambda p: extractor.winograd_kernels(p, layers))["conv3_2"]["kernel"][...]
    without = k_grad(lambda p: None)["conv3_2"]["kernel"][...]
    np.testing.assert_allclose(with_fast, without, rtol=1e-3, atol=1e-4 * float(jnp.max(jnp.abs(without))))


def test_shapes_and_single_image(vgg_params, rng):
    image = rng.random((40, 64, 3), dtype=np.float32)  # [H, W, 3] is accepted as a batch of one
    feats = extractor.extract(vgg_params, image, ["relu2_1", "pool3"])
    assert feats["relu2_1"].shape == (1, 20, 32, 128)
    assert feats["pool3"].shape == (1, 5, 8, 256)


def _count_convs(layers):
    params = extractor.load_params()
    jaxpr = jax.make_jaxpr(lambda p, x: extractor.forward(p, x, layers))(params, jnp.zeros((1, 32, 32, 3)))
    return str(jaxpr).count("conv_general_dilated")


def test_stops_at_deepest_requested_layer():
    assert _count_convs(("relu1_1",)) == 1
    assert _count_convs(("relu2_1",)) == 3
    assert _count_convs(("relu1_1", "relu3_3")) == 7


@pytest.mark.parametrize("bad, match", [
    (np.zeros((1, 31, 40, 3), np.float32), "at least 32"),
    (np.zeros((1, 32, 32, 4), np.float32), r"\[N, H, W, 3\]"),
    (np.zeros((32, 32), np.float32), r"\[N, H, W, 3\]"),
    (np.zeros((1, 32, 32, 3), np.uint8), "float"),
])
def test_bad_images(vgg_params, bad, match):
    with pytest.raises(ValueError, match=match):
        extractor.extract(vgg_params, bad, ["relu1_1"])


def test_bad_layers(vgg_params):
    image = np.zeros((1, 32, 32, 3), np.float32)
    with pytest.raises(ValueError, match="unknown layer 'relu9_9'"):
        extractor.extract(vgg_params, image, ["relu9_9"])
    with pytest.raises(ValueError, match="no layers"):
        extractor.extract(vgg_params, image, [])


def test_hash_mismatch_is_refused(tmp_path):
    bad = tmp_path / "vgg16.ckpt"
    bad.write_bytes(b"not the weights")
    with pytest.raises(ValueError, match="SHA-256"):
        extractor.read_checked_pickle(bad)


def test_restricted_unpickler_refuses_code(tmp_path):
    import hashlib
    import os

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps({"VGG16_0": Evil()}))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="refusing to load"):
        extractor.read_checked_pickle(path, sha256=digest)


def test_port_asserts_keys_and_shapes():
    raw = {"VGG16_0": {f"Conv_{k}": {"kernel": np.zeros((3, 3, 3 if k == 0 else 64, 64), np.float32),
                                     "bias": np.zeros(64, np.float32)} for k in range(13)}}
    with pytest.raises(ValueError, match="Conv_2"):
        extractor.port_vgg16_weights(raw)  # conv2_1 must have 128 outputs
    del raw["VGG16_0"]["Conv_12"]
    with pytest.raises(ValueError, match="keys"):
        extractor.port_vgg16_weights(raw)
    with pytest.raises(ValueError, match="VGG16_0"):
        extractor.port_vgg16_weights({})


def test_converted_copy_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("GANTRANSFER_CACHE", str(tmp_path))
    first = extractor.load_vgg16_arrays()
    cached = list(tmp_path.glob("vgg16-*.npz"))
    assert len(cached) == 1
    second = extractor.load_vgg16_arrays()
    for name in extractor.CONV_NAMES:
        np.testing.assert_array_equal(first[name]["kernel"], second[name]["kernel"])
    # a damaged cache is rebuilt from the verified source, never trusted
    cached[0].write_bytes(b"garbage")
    third = extractor.load_vgg16_arrays()
    np.testing.assert_array_equal(third["conv5_3"]["bias"], first["conv5_3"]["bias"])
