"""The per-style generator G_S: its layers against numpy, its file format, its errors."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gantransfer.pipeline import style_generator as sg


def _np_depthwise(x, w, b, stride=1):
    """A 3 × 3 per-channel filter with reflected borders, by loops (independent of the library's shifts)."""
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    n, h, wd, c = x.shape
    out = np.zeros((n, h // stride, wd // stride, c))
    for y in range(h // stride):
        for xx in range(wd // stride):
            window = padded[:, y * stride:y * stride + 3, xx * stride:xx * stride + 3]      # [n, 3, 3, c]
            out[:, y, xx] = np.einsum("nijc,ijc->nc", window, w[:, :, 0, :]) + b
    return out


@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_matches_a_loop(stride):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 8, 6, 5)).astype(np.float32)
    layer = {"w": rng.normal(size=(3, 3, 1, 5)).astype(np.float32), "b": rng.normal(size=5).astype(np.float32)}
    got = sg._depthwise(jnp.asarray(x), layer, stride=stride)
    np.testing.assert_allclose(got, _np_depthwise(x, layer["w"], layer["b"], stride), atol=1e-5)


def test_upsampling_layer_equals_nearest_then_separable_convolution():
    """The 1 × 1 mix before the ×2 (cheaper) gives what nearest ×2, then the separable layer, gives."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 4, 5, 6)).astype(np.float32)
    layer = jax.tree.map(np.asarray, sg._sep_init(jax.random.key(0), 6, 4, mix_first=True))
    layer["norm"] = {"scale": rng.normal(size=4).astype(np.float32), "bias": rng.normal(size=4).astype(np.float32)}
    up = x.repeat(2, axis=1).repeat(2, axis=2)
    mixed = up @ layer["pw"]["w"][0, 0] + layer["pw"]["b"]
    filtered = _np_depthwise(mixed, layer["dw"]["w"], layer["dw"]["b"])
    mean, var = filtered.mean(axis=(1, 2), keepdims=True), filtered.var(axis=(1, 2), keepdims=True)
    expected = np.maximum((filtered - mean) / np.sqrt(var + 1e-5) * layer["norm"]["scale"] + layer["norm"]["bias"], 0)
    np.testing.assert_allclose(sg._up_separable(jnp.asarray(x), layer), expected, atol=1e-4)


def test_conv_init_many_is_he_initialisation_from_one_draw():
    """Shapes ``[k, k, c_in, c_out]``, zero biases, weights of standard deviation sqrt(2 / fan_in), layers
    independent of each other (different numbers)."""
    specs = [(3, 16, 32), (4, 32, 64), (1, 8, 3)]
    layers = sg.conv_init_many(jax.random.key(0), specs)
    assert [layer["w"].shape for layer in layers] == [(3, 3, 16, 32), (4, 4, 32, 64), (1, 1, 8, 3)]
    assert all(not np.any(np.asarray(layer["b"])) and layer["b"].shape == (c_out,)
               for layer, (_, _, c_out) in zip(layers, specs))
    for layer, (k, c_in, _) in zip(layers[:2], specs):
        np.testing.assert_allclose(np.asarray(layer["w"]).std(), np.sqrt(2.0 / (k * k * c_in)), rtol=0.05)
    first, second = np.asarray(layers[0]["w"]).ravel()[:100], np.asarray(layers[1]["w"]).ravel()[:100]
    assert abs(np.corrcoef(first, second)[0, 1]) < 0.3
    with pytest.raises(ValueError, match="c_in"):
        sg.conv_init_many(jax.random.key(0), [(3, 0, 4)])


def test_generator_shapes_range_and_size():
    params = sg.init_generator(jax.random.key(0))
    assert 20_000 < sg.count_parameters(params) < 40_000 and sg.generator_width(params) == 32
    out = sg.apply_generator(params, jnp.full((2, 16, 24, 3), 0.5))
    assert out.shape == (2, 16, 24, 3) and float(out.min()) >= 0 and float(out.max()) <= 1
    picture = sg.stylize(params, np.random.default_rng(0).random((18, 21, 3), np.float32))  # padded, cropped back
    assert picture.shape == (18, 21, 3) and picture.dtype == np.float32


def test_generator_rejects_bad_inputs():
    params = sg.init_generator(jax.random.key(0), width=16)
    with pytest.raises(ValueError, match="multiples of 4"):
        sg.apply_generator(params, jnp.zeros((1, 18, 16, 3)))
    with pytest.raises(ValueError, match=r"\[N, H, W, 3\]"):
        sg.apply_generator(params, jnp.zeros((18, 16, 3)))
    with pytest.raises(ValueError, match="width must be"):
        sg.init_generator(jax.random.key(0), width=18)
    with pytest.raises(ValueError, match="at least 16 px"):
        sg.stylize(params, np.zeros((8, 40, 3), np.float32))


def test_file_round_trip_is_float16_and_small(tmp_path):
    params = sg.init_generator(jax.random.key(3), width=16)
    path = sg.save_generator(params, tmp_path / "g.npz")
    assert path.stat().st_size < 1_000_000
    loaded = sg.load_generator(path)
    assert jax.tree.structure(loaded) == jax.tree.structure(params)
    for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(params)):
        np.testing.assert_allclose(a, np.asarray(b).astype(np.float16).astype(np.float32))


def test_damaged_or_foreign_files_are_one_line_errors(tmp_path):
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="not a readable .npz") as err:
        sg.load_generator(damaged)
    assert "\n" not in str(err.value)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, w=np.zeros(3))
    with pytest.raises(ValueError, match="not a per-style generator"):
        sg.load_generator(foreign)
    with pytest.raises(FileNotFoundError, match="no generator at"):
        sg.load_generator(tmp_path / "missing.npz")
    good = sg.save_generator(sg.init_generator(jax.random.key(0), width=16), tmp_path / "good.npz")
    arrays = dict(np.load(good))
    np.savez(tmp_path / "cut.npz", **{k: v for k, v in arrays.items() if "rgb" not in k})       # an array missing
    with pytest.raises(ValueError, match="do not match"):
        sg.load_generator(tmp_path / "cut.npz")
    key = next(k for k in arrays if "rgb" in k)
    np.savez(tmp_path / "nan.npz", **{**arrays, key: np.full_like(arrays[key], np.nan)})
    with pytest.raises(ValueError, match="NaN"):
        sg.load_generator(tmp_path / "nan.npz")
    np.savez(tmp_path / "nowidth.npz", **{k: v for k, v in arrays.items() if k != "__width__"})
    with pytest.raises(ValueError, match="__width__"):
        sg.load_generator(tmp_path / "nowidth.npz")
