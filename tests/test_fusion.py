"""AdaIN and WCT: the fused features carry the style's statistics (checked in numpy)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gantransfer.pipeline import fusion


def _feats(rng, shape, scale=1.0, shift=0.0):
    mix = rng.standard_normal((shape[-1], shape[-1])) * 0.5 + np.eye(shape[-1])
    return (rng.standard_normal(shape) @ mix * scale + shift).astype(np.float32)


@pytest.mark.parametrize("jit", [False, True])
def test_adain_matches_style_mean_std(rng, jit):
    content, style = _feats(rng, (2, 6, 5, 4)), _feats(rng, (1, 7, 3, 4), 3.0, 2.0)
    fn = jax.jit(fusion.adain) if jit else fusion.adain
    out = np.asarray(fn(content, style), np.float64)
    np.testing.assert_allclose(out.mean(axis=(1, 2)), np.broadcast_to(style.mean(axis=(1, 2)), (2, 4)), atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2)), np.broadcast_to(style.std(axis=(1, 2)), (2, 4)), rtol=1e-3)


@pytest.mark.parametrize("jit", [False, True])
def test_wct_matches_style_covariance(rng, jit):
    content, style = _feats(rng, (1, 8, 8, 5)), _feats(rng, (1, 9, 7, 5), 2.0, -1.0)
    fn = jax.jit(lambda c, s: fusion.wct(c, s, eps=1e-8)) if jit else (lambda c, s: fusion.wct(c, s, eps=1e-8))
    out = np.asarray(fn(content, style), np.float64).reshape(-1, 5)
    ref = style.reshape(-1, 5).astype(np.float64)
    np.testing.assert_allclose(out.mean(0), ref.mean(0), atol=1e-4)
    np.testing.assert_allclose(np.cov(out.T, bias=True), np.cov(ref.T, bias=True), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("method", ["adain", "wct"])
def test_alpha_zero_returns_content(rng, method):
    content, style = _feats(rng, (1, 4, 4, 3)), _feats(rng, (1, 4, 4, 3), 2.0)
    np.testing.assert_allclose(fusion.FUSIONS[method](content, style, alpha=0.0), content, atol=1e-6)
    half = fusion.FUSIONS[method](content, style, alpha=0.5)
    full = fusion.FUSIONS[method](content, style)
    np.testing.assert_allclose(half, 0.5 * (np.asarray(full) + content), atol=1e-5)


def test_fuse_weights_and_masks(rng):
    content = _feats(rng, (1, 4, 6, 3))
    a, b = _feats(rng, (1, 5, 5, 3), 2.0, 1.0), _feats(rng, (1, 5, 5, 3), 0.5, -1.0)
    only_a = fusion.fuse(content, [a, b], weights=[1.0, 0.0])
    np.testing.assert_allclose(only_a, fusion.adain(content, a), atol=1e-5)
    mixed = fusion.fuse(content, [a, b], weights=[1.0, 3.0])
    np.testing.assert_allclose(mixed, 0.25 * np.asarray(fusion.adain(content, a)) + 0.75 * np.asarray(fusion.adain(content, b)),
                               atol=1e-5)
    masks = np.zeros((1, 4, 6, 2), np.float32)
    masks[:, :, :3, 0] = 1.0
    masks[:, :, 3:, 1] = 1.0  # left half style a, right half style b
    split = np.asarray(fusion.fuse(content, [a, b], masks=masks))
    np.testing.assert_allclose(split[:, :, :3], np.asarray(fusion.adain(content, a))[:, :, :3], atol=1e-5)
    np.testing.assert_allclose(split[:, :, 3:], np.asarray(fusion.adain(content, b))[:, :, 3:], atol=1e-5)


def test_bad_inputs(rng):
    content, style = _feats(rng, (1, 4, 4, 3)), _feats(rng, (1, 4, 4, 3))
    with pytest.raises(ValueError, match="channels"):
        fusion.adain(content, _feats(rng, (1, 4, 4, 2)))
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        fusion.adain(content, style, alpha=1.5)
    with pytest.raises(ValueError, match=">= 0"):
        fusion.wct(content, style, alpha=-0.1)
    with pytest.raises(ValueError, match="method"):
        fusion.fuse(content, [style], method="gatys")
    with pytest.raises(ValueError, match="no style"):
        fusion.fuse(content, [])
    with pytest.raises(ValueError, match="2 styles but 1 weights"):
        fusion.fuse(content, [style, style], weights=[1.0])
    with pytest.raises(ValueError, match="not all be zero"):
        fusion.fuse(content, [style], weights=[0.0])
    with pytest.raises(ValueError, match="either"):
        fusion.fuse(content, [style], weights=[1.0], masks=np.ones((1, 4, 4, 1), np.float32))


def test_mix_against_numpy(rng):
    content = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    fused = [rng.standard_normal((2, 3, 4, 5)).astype(np.float32) for _ in range(3)]
    w = np.array([1.0, 2.0, 5.0])
    want = 0.3 * np.tensordot(w / w.sum(), np.stack(fused), axes=1) + 0.7 * content
    np.testing.assert_allclose(fusion.mix(content, fused, weights=list(w), alpha=0.3), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fusion.mix(content, np.stack(fused), weights=list(w), alpha=0.3), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="K ×"):
        fusion.mix(content, [fused[0][:1]])
    with pytest.raises(ValueError, match="3 styles but 2 weights"):
        fusion.mix(content, fused, weights=[1.0, 2.0])


# --- spatial control: masks ---------------------------------------------------------------------------

def test_region_masks_split_and_sum_to_one():
    m = fusion.region_masks(4, 10, share=0.3, direction="vertical", softness=0.0)
    assert m.shape == (4, 10, 2) and m.dtype == np.float32
    np.testing.assert_allclose(m.sum(-1), 1.0)
    np.testing.assert_array_equal(m[0, :, 1], [0, 0, 0, 0, 0, 0, 0, 1, 1, 1])     # the right 30 % to style 2
    h = fusion.region_masks(8, 3, share=0.5, direction="horizontal", softness=0.5)
    assert np.all(np.diff(h[:, 0, 1]) >= 0) and h[0, 0, 1] < 0.5 < h[-1, 0, 1]     # a soft ramp downwards
    for kwargs, match in [({"share": 1.5}, "share"), ({"direction": "diagonal"}, "direction"),
                          ({"softness": -1.0}, "softness")]:
        with pytest.raises(ValueError, match=match):
            fusion.region_masks(4, 4, **kwargs)


def test_mix_by_masks_matches_numpy_per_position():
    rng = np.random.default_rng(3)
    content = rng.standard_normal((1, 4, 6, 5)).astype(np.float32)
    fused = [rng.standard_normal((1, 4, 6, 5)).astype(np.float32) for _ in range(2)]
    masks = rng.uniform(0.1, 1.0, (4, 6, 2)).astype(np.float32)
    got = np.asarray(fusion.mix_by_masks(jnp.asarray(content), [jnp.asarray(f) for f in fused], jnp.asarray(masks),
                                         alpha=0.7))
    share = masks / masks.sum(-1, keepdims=True)                                       # normalised per position
    want = 0.7 * (share[None, ..., 0:1] * fused[0] + share[None, ..., 1:2] * fused[1]) + 0.3 * content
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # the same through fuse (from style features) and with the fusions stacked as one [K, N, h, w, c] array
    stacked = np.asarray(fusion.mix_by_masks(jnp.asarray(content), jnp.stack(fused), jnp.asarray(masks), alpha=0.7))
    np.testing.assert_allclose(stacked, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="channels for 2 styles"):
        fusion.mix_by_masks(jnp.asarray(content), fused, jnp.ones((4, 6, 3)))


def test_fuse_with_a_one_style_mask_is_that_style_alone():
    rng = np.random.default_rng(4)
    content = jnp.asarray(rng.standard_normal((1, 6, 6, 4)), jnp.float32)
    styles = [jnp.asarray(rng.standard_normal((1, 5, 7, 4)) * s + s, jnp.float32) for s in (1.0, 3.0)]
    only_first = jnp.stack([jnp.ones((12, 12)), jnp.zeros((12, 12))], -1)              # any size: resized
    np.testing.assert_allclose(fusion.fuse(content, styles, masks=only_first), fusion.adain(content, styles[0]),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("masks, match", [
    (np.ones((40, 40, 2), np.float32), "at the photo's size"),           # the photo is 48 × 32
    (np.ones((32, 48, 3), np.float32), "one per style"),
    (-np.ones((32, 48, 2), np.float32), "non-negative"),
    (np.zeros((32, 48, 2), np.float32), "sum is 0"),
])
def test_stylize_refuses_bad_masks_before_any_work(masks, match):
    from gantransfer.methods import registry

    photo = np.full((32, 48, 3), 0.5, np.float32)
    styles = [np.full((32, 32, 3), v, np.float32) for v in (0.2, 0.8)]
    with pytest.raises(ValueError, match=match):
        registry.stylize(photo, styles, method="adain", decoders=(None, 1.0), params={}, masks=masks)
    with pytest.raises(ValueError, match="no setting masks"):
        registry.stylize(photo, styles, method="mosaic", params={}, masks=np.ones((32, 48, 2), np.float32))
