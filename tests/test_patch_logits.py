"""discriminator.patch_logits against the discriminator written again in plain numpy (loops over the kernel)."""
import jax
import numpy as np
import pytest
from flax import nnx

from gantransfer.pipeline import discriminator as D

ARCH = dict(width=0.125, n_layers=1, cond_dim=5, spectral_norm=True)


def _conv(x, kernel, bias, stride, pad):
    """[N, H, W, C] * [k, k, C, O] with zero padding → [N, H', W', O], one kernel tap at a time."""
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    k = kernel.shape[0]
    ho, wo = (x.shape[1] - k) // stride + 1, (x.shape[2] - k) // stride + 1
    out = np.zeros((x.shape[0], ho, wo, kernel.shape[-1]))
    for i in range(k):
        for j in range(k):
            out += x[:, i:i + stride * ho:stride, j:j + stride * wo:stride, :] @ kernel[i, j]
    return out if bias is None else out + bias


def _normalised(layer):
    """The layer's kernel divided by σ = ‖W u‖ (W the kernel as [k·k·C, O], u its power-iteration vector)."""
    kernel, u = np.asarray(layer.kernel[...], np.float64), np.asarray(layer.u[...], np.float64)
    return kernel / np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]) @ u)


def _numpy_logits(model, images, stats):
    x = 2.0 * np.asarray(images, np.float64) - 1.0
    for i, conv in enumerate(model.convs):
        stride = 2 if i < model.n_layers else 1
        x = _conv(x, _normalised(conv), np.asarray(conv.bias[...]), stride, 1)
        x = np.where(x > 0, x, 0.2 * x)                                      # leaky ReLU
    psi = _normalised(model.psi)[0, 0]                                       # [C, 1]
    logits = x @ psi + np.asarray(model.psi.bias[...])                       # [N, h, w, 1]
    e = (np.asarray(stats, np.float64) / np.sqrt(stats.shape[1])) @ _normalised(model.embed)[0, 0]   # [N or 1, C]
    return logits + np.sum(x * e[:, None, None, :], axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def state():
    state = D.init_discriminator(jax.random.key(3), **ARCH)
    return D.refresh_spectral(state, iterations=2, **ARCH)                 # a u that is not the initial one


def test_patch_logits_match_a_numpy_discriminator(state, rng):
    model = nnx.merge(D.discriminator_graphdef(ARCH["width"], ARCH["n_layers"], ARCH["cond_dim"], True), state)
    real = rng.random((2, 16, 16, 3)).astype(np.float32)
    fake = (rng.random((3, 16, 16, 3)) * 1.4 - 0.2).astype(np.float32)     # a raw generator output: outside [0, 1]
    stats = rng.random((1, ARCH["cond_dim"])).astype(np.float32)
    real_logits, fake_logits = D.patch_logits(state, real, fake, stats, **ARCH)
    # 16 px, one stride-2 layer: 8×8, then the stride-1 4×4 convolution with padding 1: 7×7 patches
    assert real_logits.shape == (2, 7, 7, 1) and fake_logits.shape == (3, 7, 7, 1)
    np.testing.assert_allclose(np.asarray(real_logits), _numpy_logits(model, real, stats), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(fake_logits), _numpy_logits(model, fake, stats), rtol=1e-4, atol=1e-5)


def test_patch_logits_per_image_style_and_unconditional(rng):
    real = rng.random((2, 16, 16, 3)).astype(np.float32)
    fake = rng.random((2, 16, 16, 3)).astype(np.float32)
    state = D.init_discriminator(jax.random.key(0), **ARCH)
    stats = rng.random((2, ARCH["cond_dim"])).astype(np.float32)
    real_logits, fake_logits = D.patch_logits(state, real, fake, stats, **ARCH)
    one_by_one = [D.patch_logits(state, real[i:i + 1], fake[i:i + 1], stats[i:i + 1], **ARCH) for i in range(2)]
    np.testing.assert_allclose(np.asarray(real_logits), np.concatenate([r for r, _ in one_by_one]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(fake_logits), np.concatenate([f for _, f in one_by_one]), rtol=1e-5, atol=1e-6)

    plain = dict(ARCH, cond_dim=0)
    state0 = D.init_discriminator(jax.random.key(0), **plain)
    real_logits, fake_logits = D.patch_logits(state0, real, fake, **plain)
    assert real_logits.shape == fake_logits.shape == (2, 7, 7, 1)
    with pytest.raises(ValueError, match="conditioned on the style"):
        D.patch_logits(state, real, fake, **ARCH)
