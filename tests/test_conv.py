"""conv2d (im2col and one matrix product) and Winograd's 3 × 3 convolution against a numpy convolution written out
loop by loop."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gantransfer.core.conv import conv2d
from gantransfer.core.winograd import winograd_conv3x3, winograd_kernel


def _numpy_conv(x, kernel, stride, pad):
    """Cross-correlation by explicit sums over the window, zero padding ``pad = ((top, bottom), (left, right))``."""
    x = np.pad(x, ((0, 0), *pad, (0, 0)))
    k_h, k_w, _, c_out = kernel.shape
    n, h, w, _ = x.shape
    h_out, w_out = (h - k_h) // stride + 1, (w - k_w) // stride + 1
    out = np.zeros((n, h_out, w_out, c_out))
    for i in range(h_out):
        for j in range(w_out):
            window = x[:, i * stride:i * stride + k_h, j * stride:j * stride + k_w, :]
            out[:, i, j, :] = np.einsum("nhwc,hwcd->nd", window, kernel)
    return out


@pytest.mark.parametrize("k, stride, padding, side, pad", [
    (3, 1, "VALID", 7, ((0, 0), (0, 0))),
    (3, 1, "SAME", 7, ((1, 1), (1, 1))),
    (4, 2, "SAME", 8, ((1, 1), (1, 1))),      # a PatchGAN layer: 8 → 4
    (4, 2, "SAME", 7, ((1, 2), (1, 2))),      # odd side: the odd pixel of padding after, as TensorFlow
    (2, 2, "VALID", 6, ((0, 0), (0, 0))),     # non-overlapping patches
    (1, 1, "VALID", 5, ((0, 0), (0, 0))),
])
def test_conv2d_matches_a_loop_over_windows(k, stride, padding, side, pad):
    rng = np.random.default_rng(k * 10 + stride)
    x = rng.normal(size=(2, side, side, 3)).astype(np.float32)
    kernel = rng.normal(size=(k, k, 3, 5)).astype(np.float32)
    got = np.asarray(conv2d(jnp.asarray(x), jnp.asarray(kernel), stride=stride, padding=padding))
    np.testing.assert_allclose(got, _numpy_conv(x, kernel, stride, pad), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name, stride, x_shape, k_shape", [
    ("conv2d", 2, (2, 8, 8, 4), (4, 4, 4, 6)),      # the backward pass of slices and a product
    ("winograd", 1, (1, 7, 6, 3), (3, 3, 3, 5)),    # through the tile transforms and the kernel transform
])
def test_gradients_match_xla_convolution(name, stride, x_shape, k_shape):
    """Both convolutions give XLA's convolution's gradients, for input and kernel."""
    x = jax.random.normal(jax.random.key(0), x_shape)
    kernel = jax.random.normal(jax.random.key(1), k_shape)
    ours_fn = {"conv2d": lambda x, k: conv2d(x, k, stride=2, padding="SAME"),
               "winograd": lambda x, k: winograd_conv3x3(x, winograd_kernel(k))}[name]

    def reference(x, kernel):
        return jax.lax.conv_general_dilated(x, kernel, (stride, stride), "SAME",
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    loss = lambda f: (lambda x, kernel: jnp.sum(jnp.sin(f(x, kernel))))
    ours = jax.jit(jax.grad(loss(ours_fn), argnums=(0, 1)))(x, kernel)
    theirs = jax.grad(loss(reference), argnums=(0, 1))(x, kernel)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("x_shape, k_shape, kwargs, message", [
    ((8, 8, 3), (3, 3, 3, 4), {}, "x \\[N, H, W, C\\]"),
    ((1, 8, 8, 2), (3, 3, 3, 4), {}, "2 channels"),
    ((1, 8, 8, 3), (3, 3, 3, 4), {"padding": "same"}, "padding must be"),
    ((1, 8, 8, 3), (3, 3, 3, 4), {"stride": 0}, "stride must be"),
    ((1, 2, 2, 3), (3, 3, 3, 4), {}, "smaller than the kernel"),
])
def test_conv2d_says_what_is_wrong(x_shape, k_shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        conv2d(jnp.zeros(x_shape), jnp.zeros(k_shape), **kwargs)


@pytest.mark.parametrize("n, h, w", [(1, 6, 8), (2, 7, 5), (1, 1, 1), (1, 3, 2)])
def test_winograd_conv3x3_matches_a_loop_over_windows(n, h, w):
    """Even and odd sides (odd ones pad a half tile and crop it back), a batch, a single pixel."""
    rng = np.random.default_rng(h * 10 + w)
    x = rng.normal(size=(n, h, w, 4)).astype(np.float32)
    kernel = rng.normal(size=(3, 3, 4, 6)).astype(np.float32)
    got = np.asarray(winograd_conv3x3(jnp.asarray(x), winograd_kernel(jnp.asarray(kernel))))
    np.testing.assert_allclose(got, _numpy_conv(x, kernel, 1, ((1, 1), (1, 1))), rtol=1e-4, atol=1e-4)


def test_winograd_one_tile_is_lavin_and_grays_formula():
    """One 4 × 4 tile: Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A is the 2 × 2 valid correlation of d with g (Lavin & Gray 2016,
    eq. 8), with the three matrices typed in here from the paper, independently of the module's."""
    b_t = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64)
    g_m = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float64)
    a_t = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64)
    rng = np.random.default_rng(3)
    d, g = rng.normal(size=(4, 4)), rng.normal(size=(3, 3))
    by_formula = a_t @ ((g_m @ g @ g_m.T) * (b_t @ d @ b_t.T)) @ a_t.T
    direct = _numpy_conv(d[None, :, :, None], g[:, :, None, None], 1, ((0, 0), (0, 0)))[0, :, :, 0]
    np.testing.assert_allclose(by_formula, direct, atol=1e-12)
    u = np.asarray(winograd_kernel(jnp.asarray(g[:, :, None, None], jnp.float32))).reshape(4, 4)
    np.testing.assert_allclose(u, g_m @ g @ g_m.T, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("x_shape, u_shape, message", [
    ((8, 8, 3), (16, 3, 4), "x \\[N, H, W, C\\]"),
    ((1, 8, 8, 3), (9, 3, 4), "u \\[16, C_in, C_out\\]"),
    ((1, 8, 8, 2), (16, 3, 4), "2 channels"),
])
def test_winograd_conv3x3_says_what_is_wrong(x_shape, u_shape, message):
    with pytest.raises(ValueError, match=message):
        winograd_conv3x3(jnp.zeros(x_shape), jnp.zeros(u_shape))


def test_winograd_kernel_wants_a_3x3_kernel():
    with pytest.raises(ValueError, match="\\[3, 3, C_in, C_out\\]"):
        winograd_kernel(jnp.zeros((5, 5, 3, 4)))
