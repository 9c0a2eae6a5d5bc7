"""Gatys style transfer by optimisation, on tiny images."""
import jax
import numpy as np
import pytest

from gantransfer.methods import color, optimize, pyramid


def _pair(rng, size=40):
    content = rng.random((size, size, 3), dtype=np.float32)
    yy, xx = np.mgrid[:size, :size] / size
    style = np.stack([np.sin(12 * xx) * 0.5 + 0.5, np.cos(9 * yy) * 0.5 + 0.5, xx * yy], -1).astype(np.float32)
    return content, style


def _cfg(**kw):
    base = dict(size=40, scales=(40,), steps=4, report_every=1, style_layers=("relu1_1", "relu2_1"),
                content_layers=("relu2_1",))
    base.update(kw)
    return optimize.TransferConfig(**base)


def test_adam_lowers_the_loss_and_reports_every_step(rng, vgg_params):
    content, style = _pair(rng)
    reports = list(optimize.stylize_iter(content, style, _cfg(steps=6, init="noise"), params=vgg_params))
    assert [r.step for r in reports[:-1]] == [1, 2, 3, 4, 5, 6] and reports[-1].done
    assert reports[-1].losses["total"] < reports[0].losses["total"]
    assert reports[-1].image.shape == (40, 40, 3) and reports[-1].image.dtype == np.float32
    assert 0.0 <= reports[-1].image.min() and reports[-1].image.max() <= 1.0


def test_lbfgs_lowers_the_loss(rng, vgg_params):
    content, style = _pair(rng)
    reports = list(optimize.stylize_iter(content, style, _cfg(optimizer="lbfgs", steps=4, init="noise"),
                                         params=vgg_params))
    assert reports[-1].losses["total"] < reports[0].losses["total"]


def test_same_seed_same_result(rng, vgg_params):
    content, style = _pair(rng)
    a, _ = optimize.stylize(content, style, _cfg(init="noise", seed=3), params=vgg_params)
    b, _ = optimize.stylize(content, style, _cfg(init="noise", seed=3), params=vgg_params)
    c, _ = optimize.stylize(content, style, _cfg(init="noise", seed=4), params=vgg_params)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 1e-3


def test_coarse_to_fine_reaches_full_size(rng, vgg_params):
    content, style = _pair(rng, 64)
    config = _cfg(size=64, scales=(32, 64), steps=(2, 1))
    reports = list(optimize.stylize_iter(content[:48], style, config, params=vgg_params))  # 48×64 photo
    assert [r.scale for r in reports[:-1]] == [32, 32, 64]
    assert reports[-1].image.shape == (48, 64, 3)


def test_default_schedule_shares_steps():
    config = optimize.TransferConfig(size=512, steps=90, final_share=0.4)       # the classic share
    assert config.scales == (128, 256, 512)
    assert sum(config.scale_steps) == 90 and config.scale_steps[-1] == 36
    assert optimize.TransferConfig(size=512, steps=90).scale_steps == (18, 18, 54)   # 60 % at the final size
    assert optimize.TransferConfig(size=64, steps=5).scale_steps == (5,)
    assert optimize.TransferConfig().scale_steps == (20, 30)                     # the defaults at 256 px


def test_style_is_seen_at_most_at_256_px_by_default_and_never_below_the_least_side():
    assert optimize.TransferConfig(size=200).style_scale == 1.0
    assert optimize.TransferConfig(size=512).style_scale == 0.5
    config = optimize.TransferConfig(size=1024)
    assert config.style_scale == 0.25 and config.style_side(1024) == 256 and config.style_side(128) == 32
    config = optimize.TransferConfig(size=2048)                       # 256 / 2048 would show it at 16 px at 128 px
    assert config.style_side(config.scales[0]) == 32
    assert optimize.TransferConfig(size=512, style_scale=1.0).style_scale == 1.0   # an explicit scale is kept


def test_classic_preset_is_the_old_defaults():
    config = optimize.TransferConfig(size=512, **optimize.PRESETS["classic"])
    assert config.scale_steps == (30, 30, 40) and config.init == "content" and config.style_scale == 1.0
    assert optimize.TransferConfig(**optimize.PRESETS["classic"]).scale_steps == (60, 40)
    assert optimize.TransferConfig(**optimize.PRESETS["fast"]) == optimize.TransferConfig()


def test_recolor_start_has_the_styles_colours_and_the_photos_contrast():
    rng = np.random.default_rng(0)
    content, style = _pair(rng, 24)
    start = np.asarray(optimize._initial_image("recolor", content[None], style[None], None))[0]
    recoloured = np.asarray(color.match_color(content[None], style[None]))[0]
    y = lambda x: x.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    gain = y(content).std() / y(recoloured).std()
    expected = np.clip(recoloured + ((gain - 1) * (y(recoloured) - y(recoloured).mean()))[..., None], 0, 1)
    np.testing.assert_allclose(start, expected, atol=1e-5)


def test_keep_luminance_contrast_takes_the_photos_luma_spread_and_keeps_chroma():
    rng = np.random.default_rng(1)
    image = (0.4 + 0.2 * rng.random((1, 16, 12, 3))).astype(np.float32)         # low contrast, far from clipping
    content = rng.random((20, 20, 3)).astype(np.float32)                          # another size: only its spread counts
    out = np.asarray(color.keep_luminance_contrast(image, content), np.float64)
    y = lambda x: np.asarray(x, np.float64) @ np.array([0.299, 0.587, 0.114])
    assert abs(y(out).std() - y(content).std()) < 1e-4 and abs(y(out).mean() - y(image).mean()) < 1e-5
    shift = out - image                                                           # a grey shift: equal in R, G, B
    np.testing.assert_allclose(shift[..., 0], shift[..., 1], atol=1e-6)
    np.testing.assert_allclose(shift[..., 0], shift[..., 2], atol=1e-6)
    with pytest.raises(ValueError, match="image"):
        color.keep_luminance_contrast(np.zeros((4, 4)), content)


def test_match_color_gives_the_reference_colour_mean_and_covariance():
    rng = np.random.default_rng(0)
    content, style = _pair(rng, 24)
    start = np.asarray(color.match_color(content[None], style[None]))[0]
    # independently: x -> C_s^1/2 C_c^-1/2 (x - mu_c) + mu_s, symmetric roots by numpy's eigh, then clipped
    def stats(x):
        p = x.reshape(-1, 3).astype(np.float64)
        return p.mean(0), np.cov(p.T, bias=True) + 1e-5 * np.eye(3)
    def root(c, power):
        w, v = np.linalg.eigh(c)
        return (v * w ** power) @ v.T
    (mc, cc), (ms, cs) = stats(content), stats(style)
    expected = np.clip((content.reshape(-1, 3) - mc) @ (root(cs, 0.5) @ root(cc, -0.5)).T + ms, 0, 1)
    np.testing.assert_allclose(start.reshape(-1, 3), expected, atol=2e-4)


@pytest.mark.parametrize("kind", ["random", "repeated", "rank_one", "diagonal"])
def test_symmetric_eigh3_decomposes_like_numpy(kind):
    rng = np.random.default_rng(3)
    m = rng.normal(size=(3, 3))
    a = {"random": m @ m.T, "repeated": 0.3 * np.eye(3), "diagonal": np.diag([1e-3, 2.0, 0.5]),
         "rank_one": np.outer(m[0], m[0]) + 1e-5 * np.eye(3)}[kind].astype(np.float32)
    w, v = (np.asarray(x, np.float64) for x in jax.jit(color.symmetric_eigh3)(a))
    scale = np.abs(a).max()
    np.testing.assert_allclose(np.sort(w), np.linalg.eigvalsh(a.astype(np.float64)), atol=2e-6 * scale)
    np.testing.assert_allclose((v * w) @ v.T, a, atol=2e-6 * scale)                  # a = v diag(w) vᵀ
    np.testing.assert_allclose(v.T @ v, np.eye(3), atol=2e-6)                         # orthonormal eigenvectors
    with pytest.raises(ValueError, match=r"\[3, 3\]"):
        color.symmetric_eigh3(np.eye(4, dtype=np.float32))


@pytest.mark.parametrize("shapes", [((40, 64), (20, 32)), ((30, 45), (17, 26)), ((20, 32), (40, 64)), ((37, 53), (101, 19)),
                                    ((16, 16), (16, 16))])
def test_resize_is_jax_image_resize_cubic_antialiased(shapes):
    (h, w), (height, width) = shapes
    x = np.random.default_rng(1).uniform(size=(2, h, w, 3)).astype(np.float32)
    want = np.clip(jax.image.resize(x, (2, height, width, 3), "cubic", antialias=True), 0, 1)
    np.testing.assert_allclose(optimize._resize(x, height, width), want, atol=2e-5)


def _numpy_upsample(x, h, w):
    """Bilinear upsampling with half-pixel centres (what jax.image.resize 'linear' does when enlarging)."""
    def axis(n_in, n_out):
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, (pos - lo).astype(np.float32)
    lo, hi, f = axis(x.shape[1], h)
    x = x[:, lo] * (1 - f)[None, :, None, None] + x[:, hi] * f[None, :, None, None]
    lo, hi, f = axis(x.shape[2], w)
    return x[:, :, lo] * (1 - f)[None, None, :, None] + x[:, :, hi] * f[None, None, :, None]


def test_laplacian_pyramid_levels_and_exact_inverse(rng):
    image = rng.random((1, 13, 20, 3), dtype=np.float32)
    levels = pyramid.to_pyramid(image, 3)
    assert [lv.shape for lv in levels] == [(1, 13, 20, 3), (1, 7, 10, 3), (1, 4, 5, 3)]
    assert pyramid.pyramid_shapes(13, 20, 3) == ((13, 20), (7, 10), (4, 5))
    # The image is the coarse level upsampled twice plus each detail level, computed here in numpy.
    mid = levels[1] + _numpy_upsample(np.asarray(levels[2]), 7, 10)
    np.testing.assert_allclose(np.asarray(levels[0]) + _numpy_upsample(mid, 13, 20), image, atol=1e-5)
    np.testing.assert_allclose(pyramid.from_pyramid(levels), image, atol=1e-5)
    # A flat image has no detail: everything sits in the coarse level.
    flat = pyramid.to_pyramid(np.full((1, 16, 16, 3), 0.3, np.float32), 4)
    assert all(np.abs(np.asarray(lv)).max() < 1e-6 for lv in flat[:-1])
    np.testing.assert_allclose(flat[-1], 0.3, atol=1e-6)
    assert pyramid.from_pyramid(image) is image   # a bare image is its own one-level pyramid
    with pytest.raises(ValueError, match="levels"):
        pyramid.to_pyramid(image, 0)
    with pytest.raises(ValueError, match=r"\[N, H, W, C\]"):
        pyramid.to_pyramid(image[0], 2)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_pyramid_and_pixels_both_optimise_and_stay_in_range(rng, vgg_params, optimizer):
    content, style = _pair(rng)
    for levels in (1, 3):
        reports = list(optimize.stylize_iter(content, style, _cfg(steps=4, optimizer=optimizer, pyramid_levels=levels,
                                                                  init="noise"), params=vgg_params))
        assert reports[-1].losses["total"] < reports[0].losses["total"]
        assert 0.0 <= reports[-1].image.min() and reports[-1].image.max() <= 1.0


def test_pyramid_moves_coarse_structure_faster(rng, vgg_params):
    """The reason for the pyramid: with the same Adam step size, a few steps change the image's coarse
    layout (its 4×-shrunk version) more than the same steps on plain pixels do."""
    content, style = _pair(rng)
    moved = {}
    for levels in (1, 4):
        image, _ = optimize.stylize(content, style, _cfg(steps=3, pyramid_levels=levels), params=vgg_params)
        shrink = lambda x: x.reshape(10, 4, 10, 4, 3).mean((1, 3))
        moved[levels] = np.abs(shrink(image) - shrink(content)).mean()
    assert moved[4] > 1.5 * moved[1]


def test_style_blend_weights(rng, vgg_params):
    content, style = _pair(rng)
    other = rng.random((40, 40, 3), dtype=np.float32)
    as_batch = lambda x: x[None]
    single = optimize.make_problem(vgg_params, as_batch(content), [as_batch(style)], _cfg())
    blended = optimize.make_problem(vgg_params, as_batch(content), [as_batch(style), as_batch(other)],
                                    _cfg(style_blend=(3.0, 0.0)))
    half = optimize.make_problem(vgg_params, as_batch(content), [as_batch(style), as_batch(other)],
                                 _cfg(style_blend=(1.0, 1.0)))
    only_other = optimize.make_problem(vgg_params, as_batch(content), [as_batch(other)], _cfg())
    for layer in ("relu1_1", "relu2_1"):
        np.testing.assert_allclose(blended["grams"][layer], single["grams"][layer], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(half["grams"][layer],
                                   0.5 * (single["grams"][layer] + only_other["grams"][layer]), rtol=1e-5, atol=1e-6)


def test_preserve_color_keeps_content_chroma(rng, vgg_params):
    content, style = _pair(rng)
    image, _ = optimize.stylize(content, style, _cfg(preserve_color=True), params=vgg_params)
    out, ref = color.rgb_to_ycbcr(image), color.rgb_to_ycbcr(content)
    inside = (image > 0.02).all(-1) & (image < 0.98).all(-1)  # where clipping did not bite
    np.testing.assert_allclose(np.asarray(out)[inside][:, 1:], np.asarray(ref)[inside][:, 1:], atol=2e-3)


def test_stop_button_ends_the_run(rng, vgg_params):
    content, style = _pair(rng)
    calls = []
    stop = lambda: calls.append(1) or len(calls) >= 2
    reports = list(optimize.stylize_iter(content, style, _cfg(steps=50), params=vgg_params, should_stop=stop))
    assert reports[-1].done and reports[-1].step == 2


def test_convergence_stop(rng, vgg_params):
    content, style = _pair(rng)
    reports = list(optimize.stylize_iter(content, content, _cfg(steps=50, tol=0.5, patience=2, style_weight=0.0,
                                                                tv_weight=0.0),
                                         params=vgg_params))
    assert reports[-1].step < 50  # starting at the optimum, nothing improves: stops early


@pytest.mark.parametrize("kwargs, match", [
    (dict(style_weight=-1.0), "style_weight must be >= 0"),
    (dict(content_weight=float("nan")), "finite"),
    (dict(style_layers=("relu9_1",)), "unknown style layer"),
    (dict(style_layers=()), "no style layers"),
    (dict(style_layers={"relu1_1": 0.0}), "positive weight"),
    (dict(optimizer="sgd"), "optimizer"),
    (dict(init="zeros"), "init"),
    (dict(final_share=0.0), "final_share"),
    (dict(final_share=1.5), "final_share"),
    (dict(size=16), "size"),
    (dict(scales=(64, 32), size=32), "increase"),
    (dict(steps=0), "steps"),
    (dict(steps=(1, 2), scales=(40,)), "2 step counts"),
    (dict(style_blend=(0.0, 0.0)), "not all be zero"),
    (dict(learning_rate=0.0), "learning_rate"),
    (dict(pyramid_levels=0), "pyramid_levels"),
    (dict(pyramid_levels=2.5), "pyramid_levels"),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _cfg(**kwargs)


def test_bad_inputs(rng, vgg_params):
    content, style = _pair(rng)
    with pytest.raises(ValueError, match="no style image"):
        next(optimize.stylize_iter(content, [], _cfg(), params=vgg_params))
    with pytest.raises(ValueError, match="style_blend"):
        next(optimize.stylize_iter(content, [style], _cfg(style_blend=(1.0, 1.0)), params=vgg_params))
    with pytest.raises(ValueError):
        next(optimize.stylize_iter(content * np.nan, style, _cfg(), params=vgg_params))


def test_size_beyond_memory_is_refused_before_allocation(rng, vgg_params):
    assert optimize.max_size_for_memory(8 * 2 ** 30) < optimize.max_size_for_memory(64 * 2 ** 30)
    content, style = _pair(rng)
    too_big = optimize.max_size_for_memory() + 64
    with pytest.raises(ValueError, match="would not fit"):
        next(optimize.stylize_iter(content, style, _cfg(size=too_big, scales=(too_big,)), params=vgg_params))


def test_lbfgs_steps_cost_about_one_evaluation_each(rng, vgg_params, monkeypatch):
    """The line search runs in Python around compiled evaluations and reuses the accepted point's gradient,
    so an iteration whose first step is accepted costs one network evaluation."""
    import jax.numpy as jnp

    content, style = _pair(rng)
    x = jnp.asarray(content)[None]
    problem = optimize.make_problem(vgg_params, x, [jnp.asarray(style)[None]], _cfg(optimizer="lbfgs"))
    state = optimize.init_optimizer_state("lbfgs", x)
    with pytest.raises(ValueError, match="n_steps"):
        optimize.lbfgs_steps(vgg_params, x, state, problem, -1)
    same, state, losses = optimize.lbfgs_steps(vgg_params, x, state, problem, 0)   # evaluates, does not move
    np.testing.assert_array_equal(same, x)
    calls = []
    real = optimize._evaluate
    monkeypatch.setattr(optimize, "_evaluate", lambda *a: calls.append(1) or real(*a))
    y, state, after = optimize.lbfgs_steps(vgg_params, x, state, problem, 6)
    assert after["total"] < losses["total"]
    assert 6 <= len(calls) <= 8, len(calls)   # 6 accepted steps, at most two halvings


@pytest.mark.parametrize("style_scale, side", [(0.5, 32), (1.0, 64), (1.5, 96)])
def test_style_scale_shows_the_style_at_that_fraction_of_each_scale(rng, vgg_params, monkeypatch, style_scale, side):
    seen = []
    make_problem = optimize.make_problem
    def spy(params, content, styles, config, masks=None):
        seen.append((content.shape[1:3], [s.shape[1:3] for s in styles]))
        return make_problem(params, content, styles, config, masks)
    monkeypatch.setattr(optimize, "make_problem", spy)
    content = rng.random((48, 64, 3), dtype=np.float32)
    style = rng.random((80, 80, 3), dtype=np.float32)
    optimize.stylize(content, style, _cfg(size=64, scales=(64,), steps=1, style_scale=style_scale), params=vgg_params)
    assert seen == [((48, 64), [(side, side)])]


@pytest.mark.parametrize("kwargs, match", [
    ({"style_scale": 0}, "style_scale"), ({"style_scale": -1}, "style_scale"), ({"style_scale": float("nan")}, "style_scale"),
    ({"style_scale": 5}, r"style_scale must be in \(0, 4\]"),
    ({"size": 64, "style_scale": 0.25}, "would show the style at 16 px"),
    ({"size": 256, "style_scale": 0.2}, "at the 128 px scale"),
])
def test_style_scale_is_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        optimize.TransferConfig(**kwargs)
