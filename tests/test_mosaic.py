"""The style mosaic: patches, pasting, the luminance guide and the balanced assignment against numpy."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from gantransfer.methods import mosaic, registry


def test_feature_patches_are_zero_padded_neighbourhoods(rng):
    x = rng.standard_normal((1, 4, 5, 2)).astype(np.float32)
    got = np.asarray(mosaic.feature_patches(jnp.asarray(x), size=3))
    padded = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
    want = np.stack([padded[i:i + 3, j:j + 3].transpose(2, 0, 1).ravel() for i in range(4) for j in range(5)])
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_patch_scores_are_cosines_of_the_patches(rng):
    a = rng.standard_normal((1, 5, 4, 3)).astype(np.float32)
    b = rng.standard_normal((1, 3, 3, 3)).astype(np.float32)
    got = np.asarray(mosaic.patch_scores(jnp.asarray(a), jnp.asarray(b), size=3))

    def rows(x):
        p = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
        return np.stack([p[i:i + 3, j:j + 3].ravel() for i in range(x.shape[1]) for j in range(x.shape[2])])

    ra, rb = rows(a), rows(b)
    want = (ra @ rb.T) / np.linalg.norm(ra, axis=1)[:, None] / np.linalg.norm(rb, axis=1)[None]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_image_patches_are_centred_on_the_feature_positions(rng):
    x = rng.random((1, 8, 12, 3)).astype(np.float32)
    got = np.asarray(mosaic.image_patches(jnp.asarray(x), stride=4, size=8))
    padded = np.pad(x[0], ((2, 2), (2, 2), (0, 0)), mode="reflect")   # patch u covers 4u - 2 … 4u + 5
    want = np.stack([padded[4 * i:4 * i + 8, 4 * j:4 * j + 8] for i in range(2) for j in range(3)])
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_window_copies_half_a_patch_apart_sum_to_one():
    w = np.asarray(mosaic.paste_window(8))
    np.testing.assert_allclose(w[:4, :4] + w[4:, :4] + w[:4, 4:] + w[4:, 4:], 1.0, atol=1e-6)


def test_paste_is_the_window_weighted_mean_of_overlapping_patches(rng):
    h, w, s, size = 3, 2, 4, 8
    patches = rng.random((h, w, size, size, 3)).astype(np.float32)
    got = np.asarray(mosaic.paste(jnp.asarray(patches), stride=s))
    t = (np.arange(size) + 0.5) / size
    win = np.outer(np.sin(np.pi * t) ** 2, np.sin(np.pi * t) ** 2)[..., None]
    num = np.zeros((h * s + size, w * s + size, 3))
    den = np.full((h * s + size, w * s + size, 1), 1e-30)   # the margin no patch reaches is cropped off
    off = size // 2                                     # room for the half patch that hangs over the border
    for i in range(h):
        for j in range(w):
            y, x = s * i + s // 2 - size // 2 + off, s * j + s // 2 - size // 2 + off
            num[y:y + size, x:x + size] += win * patches[i, j]
            den[y:y + size, x:x + size] += win
    want = (num / den)[off:off + h * s, off:off + w * s]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_pasting_an_images_own_patches_gives_it_back(rng):
    x = rng.random((1, 16, 24, 3)).astype(np.float32)
    patches = mosaic.image_patches(jnp.asarray(x), stride=8, size=16).reshape(2, 3, 16, 16, 3)
    np.testing.assert_allclose(np.asarray(mosaic.paste(patches, stride=8)), x[0], atol=1e-5)


def test_luminance_cost_compares_standardised_cells(rng):
    photo, style = rng.random((1, 8, 8, 3)).astype(np.float32), rng.random((1, 8, 4, 3)).astype(np.float32)
    got = np.asarray(mosaic.luminance_cost(jnp.asarray(photo), jnp.asarray(style), stride=4, size=8, cells=2))

    def cells(img):
        y = img[0] @ np.array([0.299, 0.587, 0.114])
        y = (y - y.mean()) / y.std()
        y = np.pad(y, 2, mode="reflect")
        out = []
        for i in range(img.shape[1] // 4):
            for j in range(img.shape[2] // 4):
                p = y[4 * i:4 * i + 8, 4 * j:4 * j + 8]
                out.append(p.reshape(2, 4, 2, 4).mean((1, 3)).ravel())
        return np.array(out)

    c, s = cells(photo), cells(style)
    want = ((c[:, None] - s[None]) ** 2).mean(-1)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_assignment_without_sweeps_is_the_nearest_patch(rng):
    scores = rng.standard_normal((7, 5)).astype(np.float32)
    np.testing.assert_array_equal(mosaic.balanced_assignment(jnp.asarray(scores), iterations=0), scores.argmax(1))


def test_balanced_assignment_is_the_optimal_permutation(rng):
    # n = m: each style patch used once; at a low temperature the plan is the best one-to-one matching.
    scores = rng.standard_normal((6, 6)).astype(np.float32)
    got = np.asarray(mosaic.balanced_assignment(jnp.asarray(scores), iterations=300, temperature=0.02))
    rows, cols = linear_sum_assignment(-scores)
    np.testing.assert_array_equal(got[rows], cols)
    # every row prefers column 0: the nearest patch is the same everywhere, the balanced one is not
    crowded = np.zeros((4, 4), np.float32)
    crowded[:, 0] = 1.0
    crowded += 0.2 * np.eye(4, dtype=np.float32)
    assert set(np.asarray(mosaic.balanced_assignment(jnp.asarray(crowded), iterations=0)).tolist()) == {0}
    balanced = mosaic.balanced_assignment(jnp.asarray(crowded), iterations=100, temperature=0.05)
    assert np.asarray(balanced).tolist() == [0, 1, 2, 3]


def test_column_mass_sets_each_columns_share():
    # Every row prefers column 0 (by a margin growing with the row); a quarter of the mass on column 1 sends
    # the two rows that lose least there.
    a = np.linspace(0.1, 1.0, 8, dtype=np.float32)
    scores = jnp.asarray(np.stack([a, -a], axis=1))
    nearest = np.asarray(mosaic.balanced_assignment(scores, iterations=0))
    assert nearest.tolist() == [0] * 8
    choice = np.asarray(mosaic.balanced_assignment(scores, column_mass=jnp.array([0.75, 0.25]), iterations=200,
                                                   temperature=0.05))
    assert choice.tolist() == [1, 1, 0, 0, 0, 0, 0, 0]


def _flat(colour, side=32):
    return jnp.broadcast_to(jnp.asarray(colour, jnp.float32), (1, side, side, 3))


def test_a_flat_style_paints_a_flat_picture_and_alpha_0_is_the_photo(vgg_params, rng):
    photo = jnp.asarray(rng.random((1, 32, 40, 3)).astype(np.float32))
    out = mosaic.generate_mosaic(vgg_params, photo, [_flat([0.9, 0.2, 0.1])])
    assert out.shape == (1, 32, 40, 3)
    np.testing.assert_allclose(np.asarray(out), np.broadcast_to([0.9, 0.2, 0.1], out.shape), atol=1e-5)
    np.testing.assert_allclose(np.asarray(mosaic.generate_mosaic(vgg_params, photo, [_flat([0.9, 0.2, 0.1])],
                                                                 alpha=0.0)), np.asarray(photo), atol=1e-6)


def test_a_style_of_weight_0_is_not_used(vgg_params, rng):
    photo = jnp.asarray(rng.random((1, 64, 64, 3)).astype(np.float32))
    red, blue = _flat([1.0, 0.0, 0.0]), _flat([0.0, 0.0, 1.0])
    only_red = np.asarray(mosaic.generate_mosaic(vgg_params, photo, [red, blue], weights=[1.0, 0.0]))
    np.testing.assert_allclose(only_red[..., 0], 1.0, atol=1e-4)
    only_blue = np.asarray(mosaic.generate_mosaic(vgg_params, photo, [red, blue], weights=[0.0, 2.0]))
    np.testing.assert_allclose(only_blue[..., 2], 1.0, atol=1e-4)


def test_the_picture_is_made_of_the_styles_pixels(vgg_params, rng):
    # A style of two colours only: every pixel of the picture is a blend of those two.
    style = np.zeros((1, 32, 32, 3), np.float32)
    style[:, :, 16:] = [0.0, 1.0, 0.0]
    photo = jnp.asarray(rng.random((1, 32, 32, 3)).astype(np.float32))
    out = np.asarray(mosaic.generate_mosaic(vgg_params, photo, [jnp.asarray(style)]))
    np.testing.assert_allclose(out[..., 0], 0.0, atol=1e-5)
    np.testing.assert_allclose(out[..., 2], 0.0, atol=1e-5)


def test_stylize_mosaic_crops_and_keeps_the_layout(vgg_params, rng):
    photo = rng.random((37, 45, 3)).astype(np.float32)
    style = rng.random((35, 33, 3)).astype(np.float32)
    out = registry.stylize(photo, style, method="mosaic", params=vgg_params)
    assert out.shape == (32, 40, 3) and 0 <= float(out.min()) and float(out.max()) <= 1
    raw = registry.stylize(photo, style, method="mosaic", params=vgg_params, keep_layout=0.0)
    assert float(np.abs(out - raw).mean()) > 1e-3          # the default keeps the photo's layout


def test_stylize_passes_the_mosaics_settings_through(vgg_params, rng):
    from gantransfer.methods import color

    photo = rng.random((32, 40, 3)).astype(np.float32)
    style = rng.random((32, 32, 3)).astype(np.float32)
    got = registry.stylize(photo, style, method="mosaic", params=vgg_params, guide=0.0, balance_iterations=0)
    raw = mosaic.generate_mosaic(vgg_params, jnp.asarray(photo)[None], [jnp.asarray(style)[None]], guide=0.0,
                                 balance_iterations=0)
    want = color.keep_layout(raw, jnp.asarray(photo)[None], strength=registry.get("mosaic").keep_layout)[0]
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-6)
    with pytest.raises(ValueError, match="adain takes no setting guide"):
        registry.stylize(photo, style, method="adain", params=vgg_params, guide=1.0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(pixel_patch=12), "multiple of the stride 8"),
    (dict(feature_patch=2), "must be odd"),
    (dict(guide_cells=3), "guide cells must divide"),
    (dict(temperature=0.0), "temperature must be > 0"),
    (dict(balance_iterations=-1), "balance iterations"),
    (dict(weights=[1.0, 2.0]), "1 styles but 2 weights"),
    (dict(alpha=1.5), r"alpha must be in \[0, 1\]"),
    (dict(layer="relu9_1"), "unknown layer"),
])
def test_bad_settings_are_value_errors(vgg_params, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mosaic.generate_mosaic(vgg_params, jnp.zeros((1, 32, 32, 3)), [_flat([0.5, 0.5, 0.5])], **kwargs)


def test_bad_shapes_are_value_errors(vgg_params):
    with pytest.raises(ValueError, match="multiple of 8"):
        mosaic.generate_mosaic(vgg_params, jnp.zeros((1, 36, 32, 3)), [_flat([0.5, 0.5, 0.5])])
    with pytest.raises(ValueError, match="sides multiples of 8"):
        mosaic.generate_mosaic(vgg_params, jnp.zeros((1, 32, 32, 3)), [jnp.zeros((1, 36, 32, 3))])
    with pytest.raises(ValueError, match="must be \\[n, m\\]"):
        mosaic.balanced_assignment(jnp.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="method must be one of"):
        registry.stylize(np.zeros((32, 32, 3), np.float32), np.zeros((32, 32, 3), np.float32), method="mosaics",
                         params=vgg_params)


def test_the_mosaic_is_jit_safe(vgg_params, rng):
    photo = jnp.asarray(rng.random((1, 32, 32, 3)).astype(np.float32))
    style = jnp.asarray(rng.random((1, 32, 32, 3)).astype(np.float32))
    eager = mosaic.generate_mosaic(vgg_params, photo, [style], alpha=0.5)
    jitted = jax.jit(lambda p, s, a: mosaic.generate_mosaic(vgg_params, p, [s], alpha=a))(photo, style, 0.5)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), atol=1e-5)


def test_choose_patches_are_what_the_mosaic_paints_and_balance_spreads_them(vgg_params, rng):
    photo = jnp.asarray(rng.random((1, 48, 64, 3)).astype(np.float32))
    style = jnp.asarray(rng.random((1, 32, 32, 3)).astype(np.float32))
    choice = mosaic.choose_patches(vgg_params, photo, [style])
    assert choice.shape == (1, 6 * 8) and choice.dtype == jnp.int32
    pixels = mosaic.image_patches(style, stride=8, size=16)[choice[0]].reshape(6, 8, 16, 16, 3)
    np.testing.assert_allclose(np.asarray(mosaic.generate_mosaic(vgg_params, photo, [style]))[0],
                               np.clip(np.asarray(mosaic.paste(pixels, stride=8)), 0, 1), atol=1e-5)
    # 48 positions, 16 style patches: balanced, each is used about three times; the nearest patch is not
    counts = np.bincount(np.asarray(choice[0]), minlength=16)
    nearest = np.bincount(np.asarray(mosaic.choose_patches(vgg_params, photo, [style], balance_iterations=0)[0]),
                          minlength=16)
    assert counts.min() >= 1 and counts.std() < 0.75 * nearest.std(), (counts, nearest)


def test_the_guide_sends_the_photos_darks_to_the_styles_darks(vgg_params):
    # Photo and style: black left half, white right half. With a strong guide the picture must follow the
    # photo's light and dark (a sign error in the guide would paint it the other way round).
    photo = np.zeros((1, 64, 64, 3), np.float32)
    photo[:, :, 32:] = 1.0
    style = np.zeros((1, 32, 32, 3), np.float32)
    style[:, :, 16:] = 1.0
    out = np.asarray(mosaic.generate_mosaic(vgg_params, jnp.asarray(photo), [jnp.asarray(style)], guide=50.0))
    assert out[0, :, :24].mean() < 0.2 and out[0, :, 40:].mean() > 0.8


def test_memory_of_the_plan_and_its_check():
    assert mosaic.plan_bytes(1024, [512]) == mosaic.PLAN_COPIES * 4 * 128 ** 2 * 64 ** 2
    assert mosaic.plan_bytes(1024, [512, 256]) == mosaic.PLAN_COPIES * 4 * 128 ** 2 * (64 ** 2 + 32 ** 2)
    mosaic.check_fits_in_memory(1024, [512], memory_bytes=8 * 2 ** 30)
    with pytest.raises(ValueError, match="needs about 320 GiB"):
        mosaic.check_fits_in_memory(4096, [2048], memory_bytes=16 * 2 ** 30)


def test_bad_masses_and_weights_are_value_errors(vgg_params):
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        mosaic.balanced_assignment(jnp.zeros((2, 3)), column_mass=jnp.array([1.0]))
    with pytest.raises(ValueError, match="sum to 1"):
        mosaic.balanced_assignment(jnp.zeros((2, 3)), column_mass=jnp.array([0.5, 0.5, 0.5]))
    with pytest.raises(ValueError, match="must not all be zero"):
        mosaic.generate_mosaic(vgg_params, jnp.zeros((1, 32, 32, 3)), [_flat([0.5] * 3), _flat([0.2] * 3)],
                               weights=[0.0, 0.0])
    with pytest.raises(ValueError, match="guide cells"):
        mosaic.luminance_cost(jnp.zeros((1, 16, 16, 3)), jnp.zeros((1, 16, 16, 3)), stride=8, cells=0)
    with pytest.raises(ValueError, match=r"\[h, w, P, P, C\]"):
        mosaic.paste(jnp.zeros((1, 2, 2, 16, 16, 3)), stride=8)
