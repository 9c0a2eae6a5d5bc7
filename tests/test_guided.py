"""Guided Gatys (Gatys et al. 2017's spatial control): region masks, region Gram matrices, the guided objective."""
import jax.numpy as jnp
import numpy as np
import pytest

from gantransfer.methods import guided, optimize


def test_region_grams_match_numpy(rng):
    feats = rng.standard_normal((1, 4, 5, 3)).astype(np.float32)
    masks = rng.random((2, 4, 5)).astype(np.float32)
    got = np.asarray(guided.region_grams(jnp.asarray(feats), jnp.asarray(masks)))
    flat = feats[0].reshape(20, 3)
    for k in range(2):
        m = masks[k].reshape(20, 1)
        np.testing.assert_allclose(got[k], (flat * m).T @ flat / m.sum(), rtol=1e-5, atol=1e-6)


def test_region_targets_stack_each_styles_gram(rng):
    a, b = (rng.standard_normal((1, s, s, 3)).astype(np.float32) for s in (4, 6))
    got = guided.region_targets([{"l": jnp.asarray(a)}, {"l": jnp.asarray(b)}])["l"]
    assert got.shape == (2, 3, 3)
    for k, f in enumerate((a, b)):
        flat = f[0].reshape(-1, 3)
        np.testing.assert_allclose(got[k], flat.T @ flat / len(flat), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("masks, match", [
    (np.ones((8, 8, 2)), r"\[H, W, 2\]"),
    (np.ones((6, 8, 3)), "one per style"),
    (-np.ones((6, 8, 2)), "non-negative"),
    (np.zeros((6, 8, 2)), "sum is 0"),
    (np.stack([np.ones((6, 8)), np.zeros((6, 8))], -1), "0 everywhere"),
])
def test_check_masks_refuses(masks, match):
    with pytest.raises(ValueError, match=match):
        guided.check_masks(masks, 6, 8, 2)


def test_one_mask_of_ones_is_the_plain_objective(rng, vgg_params):
    content = jnp.asarray(rng.random((1, 32, 32, 3), dtype=np.float32))
    style = jnp.asarray(rng.random((1, 32, 32, 3), dtype=np.float32))
    image = jnp.asarray(rng.random((1, 32, 32, 3), dtype=np.float32))
    config = optimize.TransferConfig(size=32, scales=(32,), style_layers=("relu1_1", "relu2_1"),
                                     content_layers=("relu2_1",))
    plain = optimize.make_problem(vgg_params, content, [style], config)
    guided_problem = optimize.make_problem(vgg_params, content, [style], config, jnp.ones((1, 32, 32)))
    _, a = optimize.transfer_losses(vgg_params, image, plain)
    _, b = optimize.transfer_losses(vgg_params, image, guided_problem)
    for key in ("content", "style", "total"):
        np.testing.assert_allclose(float(a[key]), float(b[key]), rtol=1e-4)


def test_each_style_paints_its_own_half(vgg_params):
    """Left half red stripes, right half blue stripes: each half of the guided picture takes its style's colour,
    where one blended style gives both halves the same mix."""
    size = 48
    content = np.full((size, size, 3), 0.5, np.float32)
    stripes = (np.sin(np.arange(size) / 2.0)[None, :, None] * 0.3 + 0.5).repeat(size, 0)
    red = np.concatenate([stripes + 0.3, stripes * 0.2, stripes * 0.2], -1).clip(0, 1).astype(np.float32)
    blue = red[..., ::-1].copy()
    masks = np.zeros((size, size, 2), np.float32)
    masks[:, : size // 2, 0] = 1.0
    masks[:, size // 2:, 1] = 1.0
    config = optimize.TransferConfig(size=size, scales=(size,), steps=40, learning_rate=0.05, content_weight=0.1,
                                     style_layers=("relu1_1", "relu2_1"), content_layers=("relu2_1",), init="content")
    out, _ = optimize.stylize(content, [red, blue], config, params=vgg_params, masks=masks)
    left, right = out[:, : size // 2 - 4].mean((0, 1)), out[:, size // 2 + 4:].mean((0, 1))
    assert left[0] > left[2] + 0.1 and right[2] > right[0] + 0.1, (left, right)
    blended, _ = optimize.stylize(content, [red, blue], config, params=vgg_params)
    halves = blended[:, : size // 2 - 4].mean((0, 1)), blended[:, size // 2 + 4:].mean((0, 1))
    assert abs((halves[0][0] - halves[0][2]) - (halves[1][0] - halves[1][2])) < 0.1, halves


def test_stylize_refuses_masks_with_style_blend(vgg_params):
    photo = np.full((32, 32, 3), 0.5, np.float32)
    config = optimize.TransferConfig(size=32, scales=(32,), steps=1, style_blend=(1.0, 1.0))
    with pytest.raises(ValueError, match="not both"):
        optimize.stylize(photo, [photo, photo], config, params=vgg_params, masks=np.ones((32, 32, 2), np.float32))
