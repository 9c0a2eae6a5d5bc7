"""Style matrix and losses against independent numpy computations, with and without jit."""
import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gantransfer.pipeline import style


def _np_gram(f):
    n, h, w, c = f.shape
    flat = f.reshape(n, h * w, c).astype(np.float64)
    return np.stack([x.T @ x for x in flat]) / (h * w)


def _maybe_jit(fn, jit):
    return jax.jit(fn) if jit else fn


@pytest.mark.parametrize("jit", [False, True])
def test_gram_matrix(rng, jit):
    f = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(_maybe_jit(style.gram_matrix, jit)(f), _np_gram(f), rtol=1e-5, atol=1e-6)
    # unbatched input gives an unbatched matrix
    np.testing.assert_allclose(style.gram_matrix(f[0]), _np_gram(f[:1])[0], rtol=1e-5, atol=1e-6)


def test_gram_discards_layout(rng):
    f = rng.standard_normal((1, 4, 4, 3)).astype(np.float32)
    shuffled = f.reshape(1, 16, 3)[:, rng.permutation(16)].reshape(1, 4, 4, 3)
    np.testing.assert_allclose(style.gram_matrix(f), style.gram_matrix(shuffled), rtol=1e-5, atol=1e-6)


@given(arrays(np.float32, (1, 3, 4, 5), elements=st.floats(-10, 10, width=32)))
@settings(max_examples=25, deadline=None)
def test_gram_is_symmetric_psd(f):
    g = np.asarray(style.gram_matrix(f), np.float64)[0]
    np.testing.assert_allclose(g, g.T, rtol=1e-5, atol=1e-4)
    assert np.linalg.eigvalsh(g).min() > -1e-3 * max(1.0, np.abs(g).max())


@pytest.mark.parametrize("jit", [False, True])
def test_mean_std_and_covariance(rng, jit):
    f = rng.standard_normal((2, 4, 3, 5)).astype(np.float32) * 3 + 1
    mean, std = _maybe_jit(lambda x: style.feature_mean_std(x, eps=0.0), jit)(f)
    np.testing.assert_allclose(mean, f.mean(axis=(1, 2)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(std, f.std(axis=(1, 2)), rtol=1e-5, atol=1e-5)
    flat = f.reshape(2, 12, 5).astype(np.float64)
    cov = np.stack([np.cov(x.T, bias=True) for x in flat])
    np.testing.assert_allclose(_maybe_jit(style.covariance, jit)(f), cov, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("jit", [False, True])
def test_content_loss(rng, jit):
    a = rng.standard_normal((1, 3, 3, 2)).astype(np.float32)
    b = rng.standard_normal((1, 3, 3, 2)).astype(np.float32)
    expected = np.mean((a.astype(np.float64) - b) ** 2)
    np.testing.assert_allclose(_maybe_jit(style.content_loss, jit)(a, b), expected, rtol=1e-5)


@pytest.mark.parametrize("jit", [False, True])
def test_style_loss_with_layer_weights(rng, jit):
    feats = {"a": rng.standard_normal((1, 4, 4, 3)).astype(np.float32),
             "b": rng.standard_normal((1, 2, 2, 5)).astype(np.float32)}
    targets = {"a": _np_gram(rng.standard_normal((1, 4, 4, 3))).astype(np.float32),
               "b": _np_gram(rng.standard_normal((1, 3, 3, 5))).astype(np.float32)}
    expected = 0.5 * np.mean((_np_gram(feats["a"]) - targets["a"]) ** 2) \
        + 2.0 * np.mean((_np_gram(feats["b"]) - targets["b"]) ** 2)
    fn = lambda f, t: style.style_loss(f, t, layer_weights={"a": 0.5, "b": 2.0})
    np.testing.assert_allclose(_maybe_jit(fn, jit)(feats, targets), expected, rtol=1e-5)
    # default weights are 1 for every layer
    np.testing.assert_allclose(style.style_loss(feats, targets),
                               sum(np.mean((_np_gram(feats[k]) - targets[k]) ** 2) for k in "ab"), rtol=1e-5)


@pytest.mark.parametrize("jit", [False, True])
def test_mean_std_loss(rng, jit):
    f = {"a": rng.standard_normal((2, 3, 3, 4)).astype(np.float32)}
    t_mean, t_std = rng.standard_normal((1, 4)), rng.random((1, 4)) + 0.5
    mean, std = f["a"].mean(axis=(1, 2)), np.sqrt(f["a"].var(axis=(1, 2)) + 1e-5)
    expected = np.mean(np.mean((mean - t_mean) ** 2, -1) + np.mean((std - t_std) ** 2, -1))
    fn = lambda x: style.mean_std_loss(x, {"a": (t_mean.astype(np.float32), t_std.astype(np.float32))})
    np.testing.assert_allclose(_maybe_jit(fn, jit)(f), expected, rtol=1e-5)


@pytest.mark.parametrize("jit", [False, True])
def test_total_variation(rng, jit):
    x = rng.random((1, 4, 5, 3)).astype(np.float64)
    expected = np.abs(np.diff(x, axis=1)).mean() + np.abs(np.diff(x, axis=2)).mean()
    np.testing.assert_allclose(_maybe_jit(style.total_variation_loss, jit)(x.astype(np.float32)), expected, rtol=1e-5)
    assert float(style.total_variation_loss(np.ones((1, 4, 4, 3), np.float32))) == 0.0


def test_bad_inputs(rng):
    f = rng.standard_normal((1, 4, 4, 3)).astype(np.float32)
    g = _np_gram(f).astype(np.float32)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        style.gram_matrix(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="float"):
        style.gram_matrix(np.zeros((1, 4, 4, 3), np.int32))
    with pytest.raises(ValueError, match="differ in shape"):
        style.content_loss(f, f[:, :2])
    with pytest.raises(ValueError, match="at least one style layer"):
        style.style_loss({"a": f}, {})
    with pytest.raises(ValueError, match=">= 0"):
        style.style_loss({"a": f}, {"a": g}, layer_weights={"a": -1.0})
    with pytest.raises(ValueError, match="finite"):
        style.style_loss({"a": f}, {"a": g}, layer_weights={"a": float("nan")})
    with pytest.raises(ValueError, match="no target Gram"):
        style.style_loss({"a": f}, {"a": g}, layer_weights={"zz": 1.0})
    with pytest.raises(ValueError, match="no features"):
        style.style_loss({}, {"a": g})


def test_gram_gradient_matches_numpy(rng):
    # gram_matrix has a hand-written VJP; check it against the analytic gradient in numpy:
    # d/dF mean((G - A)²) = (2 / c²) · (F (G - A) + F (G - A)ᵀ) / (h·w), with G = FᵀF / (h·w)
    f = rng.standard_normal((1, 3, 4, 5)).astype(np.float32)
    a = rng.standard_normal((1, 5, 5)).astype(np.float32)
    grad = jax.grad(lambda x: jax.numpy.mean((style.gram_matrix(x) - a) ** 2))(f)
    flat = f.reshape(12, 5).astype(np.float64)
    diff = flat.T @ flat / 12 - a[0]
    expected = (2 / 25) * (flat @ (diff + diff.T)) / 12
    np.testing.assert_allclose(np.asarray(grad).reshape(12, 5), expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("jit", [False, True])
def test_masked_gram_matrix_matches_numpy(jit):
    rng = np.random.default_rng(5)
    f = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    m = rng.uniform(0.0, 1.0, (2, 3, 4)).astype(np.float32)
    fn = jax.jit(style.masked_gram_matrix) if jit else style.masked_gram_matrix
    got = np.asarray(fn(f, m))
    flat, w = f.reshape(2, 12, 5).astype(np.float64), m.reshape(2, 12).astype(np.float64)
    want = np.einsum("np,npi,npj->nij", w, flat, flat) / w.sum(1)[:, None, None]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # ones: the plain Gram matrix; a scaled mask: the same; a 0/1 mask: the Gram matrix of the selected positions
    np.testing.assert_allclose(style.masked_gram_matrix(f, np.ones((2, 3, 4))), style.gram_matrix(f), rtol=1e-5)
    np.testing.assert_allclose(style.masked_gram_matrix(f, 7 * m), got, rtol=1e-5)
    left = np.zeros((3, 4), np.float32)
    left[:, :2] = 1
    np.testing.assert_allclose(style.masked_gram_matrix(f[0], left), style.gram_matrix(f[0, :, :2]), rtol=1e-5)


def test_masked_gram_matrix_resizes_the_mask_and_checks_its_shape():
    f = np.random.default_rng(6).standard_normal((4, 4, 3)).astype(np.float32)
    big = np.ones((32, 32), np.float32)                                      # drawn at the image's size
    np.testing.assert_allclose(style.masked_gram_matrix(f, big), style.gram_matrix(f), rtol=1e-5)
    with pytest.raises(ValueError, match="mask must be"):
        style.masked_gram_matrix(f, np.ones((2, 4, 4)))
