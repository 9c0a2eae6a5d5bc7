"""Discriminator: losses against hand-computed values, R1 against a closed form, spectral norm against SVD,
style conditioning, shapes and input checks."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gantransfer.pipeline import discriminator as D

TINY = dict(width=0.125, n_layers=3, cond_dim=D.STYLE_STATS_DIM, spectral_norm=True)

REAL = np.array([[2.0, -0.5], [0.0, 1.5]], np.float32)
FAKE = np.array([-1.0, 0.25, 3.0], np.float32)


def _softplus(x):
    return np.log1p(np.exp(x))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@pytest.mark.parametrize("jit", [False, True])
def test_d_loss_matches_hand_computed_values(jit):
    expected = {
        # -mean log σ(r) - mean log(1 - σ(f))
        "ns": -np.mean(np.log(_sigmoid(REAL))) - np.mean(np.log(1.0 - _sigmoid(FAKE))),
        "hinge": np.mean(np.maximum(0.0, 1.0 - REAL)) + np.mean(np.maximum(0.0, 1.0 + FAKE)),
        "lsgan": 0.5 * np.mean((REAL - 1.0) ** 2) + 0.5 * np.mean(FAKE ** 2),
    }
    np.testing.assert_allclose(expected["hinge"], (0 + 1.5 + 1 + 0) / 4 + (0 + 1.25 + 4) / 3)
    for kind, value in expected.items():
        f = (lambda r, f, kind=kind: D.d_loss(r, f, kind=kind))
        f = jax.jit(f) if jit else f
        np.testing.assert_allclose(float(f(REAL, FAKE)), value, rtol=1e-6)


@pytest.mark.parametrize("jit", [False, True])
def test_g_loss_matches_hand_computed_values(jit):
    expected = {"ns": np.mean(_softplus(-FAKE)), "hinge": -np.mean(FAKE), "lsgan": 0.5 * np.mean((FAKE - 1.0) ** 2)}
    np.testing.assert_allclose(expected["hinge"], -0.75)
    for kind, value in expected.items():
        f = (lambda x, kind=kind: D.g_loss(x, kind=kind))
        f = jax.jit(f) if jit else f
        np.testing.assert_allclose(float(f(FAKE)), value, rtol=1e-6)


def test_losses_at_chance_and_bad_kind():
    zeros = np.zeros((2, 3, 3, 1), np.float32)
    grid = np.linspace(-3, 3, 601, dtype=np.float32)
    for kind, value in D.D_LOSS_AT_CHANCE.items():
        at = np.full((2, 3, 3, 1), D.D_OUTPUT_AT_CHANCE[kind], np.float32)
        np.testing.assert_allclose(float(D.d_loss(at, at, kind=kind)), value, rtol=1e-6)
        # chance = the least loss when real and fake get the same output d: minimise over d on a grid
        best = min(float(D.d_loss(np.array([d]), np.array([d]), kind=kind)) for d in grid)
        np.testing.assert_allclose(best, value, rtol=1e-4)
    np.testing.assert_allclose(float(D.d_loss(zeros, zeros, kind="lsgan")), 0.5)   # output 0 = "fake", not chance
    with pytest.raises(ValueError, match="kind"):
        D.d_loss(zeros, zeros, kind="wgan")
    with pytest.raises(ValueError, match="kind"):
        D.g_loss(zeros, kind="bce")


def test_r1_penalty_against_closed_forms(rng):
    x = rng.random((3, 4, 5, 3)).astype(np.float32)
    w = rng.normal(size=(4, 5, 3)).astype(np.float32)

    # a linear D, one logit per image: ∇_x D = w for every image, so R1 = ‖w‖²
    def linear(images):
        return jnp.einsum("nhwc,hwc->n", images, w)[:, None] + 0.3

    np.testing.assert_allclose(float(D.r1_penalty(linear, x)), np.sum(w ** 2), rtol=1e-5)

    # a linear patch D (two patch logits per image with weights w and 2w): the sum's gradient is 3w
    def patches(images):
        return jnp.stack([linear(images)[:, 0], 2.0 * linear(images)[:, 0]], axis=1)[:, :, None, None]

    np.testing.assert_allclose(float(D.r1_penalty(patches, x)), 9 * np.sum(w ** 2), rtol=1e-5)

    # a quadratic D, ½ Σ a x²: ∇_x D = a x depends on the image; the penalty is the mean over images
    def quadratic(images):
        return 0.5 * jnp.einsum("nhwc,hwc->n", images ** 2, w)

    expected = np.mean(np.sum(((w * x) ** 2).reshape(3, -1), axis=1))
    np.testing.assert_allclose(float(D.r1_penalty(quadratic, x)), expected, rtol=1e-5)
    np.testing.assert_allclose(float(jax.jit(lambda x: D.r1_penalty(quadratic, x))(x)), expected, rtol=1e-5)


def test_spectral_norm_top_singular_value_is_one(rng):
    kernel = rng.normal(size=(4, 4, 8, 16)).astype(np.float32)
    u0 = rng.normal(size=16).astype(np.float32)
    u0 /= np.linalg.norm(u0)
    top = np.linalg.svd(kernel.reshape(-1, 16), compute_uv=False)[0]
    # before convergence σ = ‖W u‖ underestimates the top singular value
    _, sigma0 = D.spectral_normalize(kernel, u0)
    assert float(sigma0) <= top * (1 + 1e-5)
    u = D.power_iteration(kernel, u0, iterations=200)
    normalised, sigma = D.spectral_normalize(kernel, u)
    np.testing.assert_allclose(float(sigma), top, rtol=1e-4)
    np.testing.assert_allclose(np.linalg.svd(np.asarray(normalised).reshape(-1, 16), compute_uv=False)[0], 1.0, rtol=1e-4)


def test_refreshed_discriminator_kernels_have_unit_spectral_norm():
    state = D.init_discriminator(jax.random.key(0), **TINY)
    state = jax.jit(lambda s: D.refresh_spectral(s, iterations=300, **TINY))(state)
    model = nnx.merge(D.discriminator_graphdef(**TINY), state)
    layers = [*model.convs, model.psi, model.embed]
    for layer in layers:
        w = np.asarray(layer.weight()).reshape(-1, layer.kernel[...].shape[-1])
        np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False)[0], 1.0, rtol=1e-3)
    # the vectors are state, not parameters: the optimiser never sees them
    params, vectors = nnx.split_state(state, nnx.Param, D.SpectralVector)
    assert len(jax.tree.leaves(vectors)) == len(layers)
    assert all(leaf.ndim == 4 or leaf.ndim == 1 for leaf in jax.tree.leaves(params))


def test_parameter_count_and_shapes():
    state = jax.eval_shape(lambda: D.init_discriminator(jax.random.key(0), spectral_norm=False))  # shapes only
    chans, c_in, expected = (64, 128, 256, 512), 3, 0
    for c in chans:
        expected += 16 * c_in * c + c
        c_in = c
    expected += 512 + 1 + D.STYLE_STATS_DIM * 512  # ψ (1×1 conv with bias) and the embedding (no bias)
    assert sum(x.size for x in jax.tree.leaves(state)) == expected
    assert D.receptive_field(3) == 46 and D.discriminator_channels(width=0.125) == (8, 16, 32, 64)
    tiny = D.init_discriminator(jax.random.key(0), **TINY)
    out = D.discriminate(tiny, np.zeros((2, 32, 48, 3), np.float32), np.zeros((2, D.STYLE_STATS_DIM), np.float32), **TINY)
    assert out.shape == (2, 3, 5, 1)


def test_conditioning_changes_the_logits(rng):
    state = D.init_discriminator(jax.random.key(1), **TINY)
    images = rng.random((2, 32, 32, 3)).astype(np.float32)
    s1 = rng.random((1, D.STYLE_STATS_DIM)).astype(np.float32)
    s2 = rng.random((1, D.STYLE_STATS_DIM)).astype(np.float32)
    f = jax.jit(lambda s, x, st: D.discriminate(s, x, st, **TINY))
    a, b = np.asarray(f(state, images, s1)), np.asarray(f(state, images, s2))
    assert np.max(np.abs(a - b)) > 1e-3 * np.max(np.abs(a))
    # the projection is linear in the embedding: D(x, s1) - D(x, 0) + D(x, s2) - D(x, 0) = D(x, s1 + s2) - D(x, 0)
    zero = np.asarray(f(state, images, np.zeros_like(s1)))
    np.testing.assert_allclose(a + b - zero, np.asarray(f(state, images, s1 + s2)), rtol=1e-4, atol=1e-5)
    # an unconditional D takes no style
    plain = dict(TINY, cond_dim=0)
    out = D.discriminate(D.init_discriminator(jax.random.key(1), **plain), images, **plain)
    assert out.shape == (2, 3, 3, 1)


def test_style_statistics(vgg_params, rng):
    images = rng.random((2, 32, 32, 3)).astype(np.float32)
    stats = np.asarray(D.style_statistics(vgg_params, images))
    assert stats.shape == (2, D.STYLE_STATS_DIM) and np.all(stats >= 0) and np.all(np.isfinite(stats))
    assert not np.allclose(stats[0], stats[1])


@pytest.mark.parametrize("images, stats, match", [
    (np.zeros((2, 8, 8, 3)), np.zeros((2, D.STYLE_STATS_DIM)), "at least 16 px"),
    (np.zeros((2, 32, 32, 1)), np.zeros((2, D.STYLE_STATS_DIM)), r"\[N, H, W, 3\]"),
    (np.zeros((2, 32, 32, 3)), None, "style_stats"),
    (np.zeros((2, 32, 32, 3)), np.zeros((2, 7)), "style_stats must be"),
    (np.zeros((2, 32, 32, 3)), np.zeros((3, D.STYLE_STATS_DIM)), "style_stats must be"),
    (np.zeros((2, 32, 32, 3), np.int32), np.zeros((2, D.STYLE_STATS_DIM)), "float"),
])
def test_bad_inputs(images, stats, match):
    state = D.init_discriminator(jax.random.key(0), **TINY)
    with pytest.raises(ValueError, match=match):
        D.discriminate(state, images if images.dtype == np.int32 else images.astype(np.float32),
                       None if stats is None else stats.astype(np.float32), **TINY)


def test_bad_architecture():
    with pytest.raises(ValueError, match="width"):
        D.init_discriminator(jax.random.key(0), width=0.0)
    with pytest.raises(ValueError, match="n_layers"):
        D.init_discriminator(jax.random.key(0), n_layers=0)
    with pytest.raises(ValueError, match="unconditional"):
        D.discriminate(D.init_discriminator(jax.random.key(0), width=0.125, cond_dim=0),
                       np.zeros((1, 32, 32, 3), np.float32), np.zeros((1, 4), np.float32), width=0.125, cond_dim=0)


def test_refresh_is_pure():
    state = D.init_discriminator(jax.random.key(0), **TINY)
    before = [np.asarray(x) for x in jax.tree.leaves(state)]
    new = D.refresh_spectral(state, iterations=2, **TINY)
    for a, b in zip(before, jax.tree.leaves(state)):
        np.testing.assert_array_equal(a, np.asarray(b))  # the caller's state is untouched
    assert any(not np.array_equal(a, np.asarray(b)) for a, b in zip(before, jax.tree.leaves(new)))
