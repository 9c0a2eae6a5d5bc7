"""The discriminator module: the adversarial losses against hand-computed values, R1 against a closed form, spectral
norm against SVD, and P²-GAN's patch D against a numpy re-implementation."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gantransfer.pipeline import discriminator as D


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


def _numpy_patch_critic(d, x):
    """P²-GAN's D again in numpy: each stride-k k × k convolution as a sum over the k² offsets of a block."""
    x = x * 2.0 - 1.0
    *hidden, out = d["layers"]
    for layer in hidden:
        w, b = np.asarray(layer["w"], np.float64), np.asarray(layer["b"], np.float64)
        k = w.shape[0]
        n, h, wd, c = x.shape
        blocks = x[:, :h // k * k, :wd // k * k].reshape(n, h // k, k, wd // k, k, c)
        y = np.zeros((n, h // k, wd // k, w.shape[-1])) + b
        for dy in range(k):
            for dx in range(k):
                y += blocks[:, :, dy, :, dx, :] @ w[dy, dx]
        x = np.where(y > 0, y, 0.2 * y)
    return x @ np.asarray(out["w"], np.float64)[0, 0] + np.asarray(out["b"], np.float64)


@pytest.mark.parametrize("d_patch", [4, 9])
def test_patch_critic_against_numpy(d_patch, rng):
    d = D.init_patch_critic(jax.random.key(2), d_patch=d_patch, d_width=4)
    x = rng.random((2, 20, 19, 3)).astype(np.float32)            # borders narrower than a patch are not judged
    got = np.asarray(jax.jit(D.patch_critic)(d, jnp.asarray(x)))
    want = _numpy_patch_critic(d, x.astype(np.float64))
    assert got.shape == want.shape == (2, 20 // d_patch, 19 // d_patch, 1)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_each_logit_sees_its_own_patch_only():
    d = D.init_patch_critic(jax.random.key(0), d_patch=9, d_width=4)
    x = np.random.default_rng(0).random((1, 27, 18, 3)).astype(np.float32)
    base = np.asarray(D.patch_critic(d, jnp.asarray(x)))
    assert base.shape == (1, 3, 2, 1)
    x[0, 10, 12] += 0.5                                          # a pixel of patch (1, 1)
    changed = np.asarray(D.patch_critic(d, jnp.asarray(x))) != base
    assert changed[0, 1, 1, 0] and changed.sum() == 1


def test_patch_size_must_be_a_square():
    assert D.patch_stride(16) == 4 and D.patch_stride(25) == 5 and D.patch_stride(12) is None
    assert D.patch_stride(1) is None
    with pytest.raises(ValueError, match="square"):
        D.init_patch_critic(jax.random.key(0), d_patch=12)


def test_permuted_patches_are_the_same_tiles_elsewhere():
    rng = np.random.default_rng(0)
    images = rng.random((2, 12, 9, 3)).astype(np.float32)
    out = np.asarray(D.permute_patches(jax.random.key(1), jnp.asarray(images), 3))
    assert out.shape == (2, 12, 9, 3)

    def tiles(a):
        return sorted(a[y:y + 3, x:x + 3].tobytes() for y in range(0, 12, 3) for x in range(0, 9, 3))

    for before, after in zip(images, out):
        assert tiles(before) == tiles(after)
    assert not np.array_equal(out, images)                       # 12 tiles: the identity is a 1-in-12! chance
    cropped = np.asarray(D.permute_patches(jax.random.key(1), jnp.asarray(images), 4))
    assert cropped.shape == (2, 12, 8, 3)                        # a border narrower than a tile is dropped
