"""Drive the dashboards' callbacks without a browser: set a control, run, check the state changed."""
import numpy as np
import pytest

from gantransfer.methods import optimize
from gantransfer.notebook import dashboards
from gantransfer.pipeline import extractor


@pytest.fixture(scope="module")
def params():
    return extractor.load_params()


def test_style_transfer_dashboard_runs_and_reacts(params):
    dash = dashboards.StyleTransferDashboard(size=48, steps=4, report_every=2, params=params)
    assert dash.image is None and dash.history == []
    config = dash.config()
    assert config.size == 48 and config.steps == 4
    assert tuple(config.style_layers) == tuple(optimize.DEFAULT_STYLE_LAYERS)
    assert config.style_weight == pytest.approx(optimize.TransferConfig().style_weight, rel=1e-6)

    assert dash.run(block=True), dash.error
    assert dash.error is None and not dash.running
    assert dash.image.shape == (48, 48, 3) and 0 <= dash.image.min() and dash.image.max() <= 1
    assert [h["step"] for h in dash.history] == [2, 4]
    assert {"content", "style", "tv", "total"} <= set(dash.history[-1])
    assert dash.image_view.value and dash.loss_view.value  # PNGs drawn
    assert dash.progress.value == 4
    first_image, first_losses = dash.image.copy(), dict(dash.history[-1])

    dash.style_weight.value = 1000.0       # a slider changes the next run
    dash.init.value = "noise"
    assert dash.run(block=True), dash.error
    assert np.abs(dash.image - first_image).max() > 1e-3
    assert dash.history[-1]["total"] != pytest.approx(first_losses["total"])
    assert dash.config().style_weight == pytest.approx(1000.0)


def test_style_transfer_dashboard_options(params):
    dash = dashboards.StyleTransferDashboard(size=48, steps=2, report_every=1, params=params)
    dash.style2.value = "mondrian"
    dash.blend.value = 0.25
    dash.preserve_color.value = True
    dash.optimizer.value = "lbfgs"
    dash.style_scale.value = 1.5
    for name, box in dash.style_layers.items():
        box.value = name == "relu2_1"
    config = dash.config()
    assert config.style_scale == 1.5 and config.style_side(48) == 72
    assert config.style_blend == pytest.approx((0.75, 0.25))
    assert config.optimizer == "lbfgs" and config.preserve_color and tuple(config.style_layers) == ("relu2_1",)
    assert dash.run(block=True), dash.error
    assert dash.image.shape == (48, 48, 3)


def test_style_transfer_dashboard_places_two_styles_by_region(params):
    """The placement control: "left | right" gives each style a region (guided Gatys), "blend" blends them."""
    dash = dashboards.StyleTransferDashboard(size=48, steps=2, report_every=1, params=params)
    assert dash.masks((32, 48)) is None                   # one style: nothing to place
    dash.style2.value = "mondrian"
    dash.blend.value = 0.25
    assert dash.masks((32, 48)) is None and dash.config().style_blend == pytest.approx((0.75, 0.25))
    dash.placement.value = "vertical"
    masks = dash.masks((32, 48))
    assert dash.config().style_blend is None and masks.shape == (32, 48, 2)
    assert masks[:, :30, 0].min() > 0.99 and masks[:, -8:, 1].min() > 0.99      # the 2nd style: the right quarter
    assert dash.run(block=True), dash.error
    assert dash.image.shape[2] == 3 and dash.history


def test_bad_settings_show_an_error_not_a_traceback(params):
    dash = dashboards.StyleTransferDashboard(size=48, steps=2, params=params)
    for box in dash.style_layers.values():
        box.value = False
    assert dash.run(block=True) is False
    assert "style layer" in dash.error and "style layer" in dash.status.value
    assert not dash.running and not dash.run_button.disabled
    dash.style_layers["relu1_2"].value = True
    dash.style_scale.value = 0.25           # the style would be seen at 12 px: the library's own error
    assert dash.run(block=True) is False
    assert "style_scale 0.25" in dash.error and not dash.running


def test_stop_button_ends_a_background_run(params):
    dash = dashboards.StyleTransferDashboard(size=48, steps=400, report_every=1, params=params)
    dash.run_button.click()                 # runs in a thread, as in JupyterLab
    assert dash.running
    assert dash.run(block=True) is False    # a second run is refused while one is going
    dash.stop_button.click()
    assert dash.wait(120)
    assert not dash.running and dash.error is None
    assert dash.history and dash.history[-1]["step"] < 400
    assert dash.status.value.startswith("Stopped")


def test_texture_dashboard_cache_and_run(params):
    cached = np.zeros((48, 48, 3), np.float32)
    dash = dashboards.TextureDashboard(style="waves", layers=("relu1_1",), size=48, steps=2, report_every=1,
                                    params=params, cache={("waves", ("relu1_1",)): cached})
    assert dash.image is cached             # shown at once from the cache
    dash.layers["relu2_1"].value = True     # a new set: needs a run
    assert dash.key() == ("waves", ("relu1_1", "relu2_1"))
    assert "Run" in dash.status.value
    assert dash.run(block=True), dash.error
    assert dash.image.shape == (48, 48, 3) and dash.history[-1]["step"] == 2
    assert dash.key() in dash.cache
    for box in dash.layers.values():
        box.value = False
    assert dash.run(block=True) is False and "layer" in dash.error


def test_feature_map_browser_reacts(params):
    browser = dashboards.FeatureMapBrowser(content="chelsea", size=64, params=params, per_page=16)
    assert browser.renders == 1 and browser.channels == list(range(16))
    assert browser.page.max == 64 // 16 - 1
    browser.layer.value = "relu3_1"
    assert browser.features["relu3_1"].shape[1:] == (16, 256)  # chelsea is wider than tall
    assert browser.page.max == 256 // 16 - 1 and browser.renders == 2
    browser.page.value = 2
    assert browser.channels == list(range(32, 48))
    png = browser.png
    browser.order.value = "strongest"
    means = browser.features["relu3_1"].mean(axis=(0, 1))
    assert means[browser.channels[0]] >= means[browser.channels[-1]]
    assert browser.png != png
    before = browser.features["relu3_1"].mean(axis=(0, 1))
    browser.content.value = "coffee"
    assert browser.layer.value == "relu3_1" and browser.renders >= 4
    assert not np.allclose(browser.features["relu3_1"].mean(axis=(0, 1)), before)
    with pytest.raises(ValueError, match="unknown"):
        dashboards.FeatureMapBrowser(layers=("relu9_9",), params=params)


@pytest.fixture(scope="module")
def tiny_decoder():
    import jax

    from gantransfer.pipeline import generator

    return generator.init_decoder(jax.random.key(0), width=0.125)


def test_fusion_dashboard_sliders_rerun_only_fusion_and_decoder(params, tiny_decoder):
    import jax.numpy as jnp

    from gantransfer.pipeline import fusion, generator

    dash = dashboards.FusionDashboard(tiny_decoder, width=0.125, content="astronaut", style="waves", size=48,
                                   params=params)
    assert dash.error is None and dash.image.shape == (48, 48, 3)
    assert 0 <= dash.image.min() and dash.image.max() <= 1
    assert dash.renders == 1 and dash.encodes == 2 and dash.method == "adain" and dash.alpha == 1.0
    first = dash.image.copy()

    dash.alpha = 0.25                                   # a slider move: new image, nothing re-encoded
    assert dash.renders == 2 and dash.encodes == 2
    assert np.abs(dash.image - first).max() > 1e-3
    assert dash.history[-1]["alpha"] == pytest.approx(0.25) and dash.seconds >= 0
    c, s = dash.features("content", "astronaut"), dash.features("style", "waves")
    want = jnp.clip(generator.decode(tiny_decoder, fusion.fuse(c, [s], alpha=0.25), width=0.125), 0, 1)[0]
    np.testing.assert_allclose(dash.image, np.asarray(want), atol=1e-4)

    adain_image = dash.image.copy()
    dash.method = "wct"                                 # the toggle
    assert dash.method_toggle.value == "wct" and dash.history[-1]["method"] == "wct"
    assert np.abs(dash.image - adain_image).max() > 1e-3

    dash.style2.value = "mondrian"                      # a second style: the mix slider
    assert not dash.mix_slider.disabled and dash.encodes == 3
    dash.method = "adain"
    dash.alpha = 1.0
    dash.mix = 0.8
    s2 = dash.features("style", "mondrian")
    want = jnp.clip(generator.decode(tiny_decoder, fusion.fuse(c, [s, s2], weights=[0.2, 0.8]), width=0.125), 0, 1)[0]
    np.testing.assert_allclose(dash.image, np.asarray(want), atol=1e-4)
    assert dash.history[-1]["mix"] == pytest.approx(0.8) and "ms" in dash.status.value

    dash.placement = "vertical"                         # each style in its region: mondrian on the right 80 %
    assert not dash.placement_toggle.disabled and dash.history[-1]["placement"] == "vertical"
    masks = fusion.region_masks(c.shape[1], c.shape[2], share=0.8, direction="vertical", softness=0.1)
    want = jnp.clip(generator.decode(tiny_decoder, fusion.fuse(c, [s, s2], masks=masks), width=0.125), 0, 1)[0]
    np.testing.assert_allclose(dash.image, np.asarray(want), atol=1e-4)
    assert "on the right" in dash.status.value
    dash.placement = "mix"

    dash.content.value = "chelsea"                      # not square: cropped to a multiple of 8
    assert dash.error is None and dash.image.shape[0] % 8 == 0 and dash.image.shape[1] % 8 == 0


def test_fusion_dashboard_rejects_bad_settings(params, tiny_decoder):
    with pytest.raises(ValueError, match="method"):
        dashboards.FusionDashboard(tiny_decoder, width=0.125, method="gram", params=params)
    with pytest.raises(ValueError, match="size"):
        dashboards.FusionDashboard(tiny_decoder, width=0.125, size=8, params=params)
    with pytest.raises(ValueError, match="placement"):
        dashboards.FusionDashboard(tiny_decoder, width=0.125, placement="diagonal", params=params)


def test_mosaic_dashboard_paints_what_generate_mosaic_paints_and_reacts(params):
    import jax.numpy as jnp

    from gantransfer.core import samples
    from gantransfer.methods import mosaic

    dash = dashboards.MosaicDashboard(content="astronaut", style="waves", size=64, keep_layout=0.0, params=params)
    assert dash.error is None and dash.renders == 1 and dash.image.shape == (64, 64, 3)
    assert dash.guide == pytest.approx(mosaic.GUIDE_WEIGHT) and dash.balanced
    photo = samples.content_image("astronaut", size=64)
    style = samples.style_image("waves", size=32)
    want = mosaic.generate_mosaic(params, jnp.asarray(photo)[None], [jnp.asarray(style)[None]])[0]
    np.testing.assert_allclose(dash.image, np.asarray(want), atol=1e-5)
    first = dash.image.copy()

    dash.guide = 2.0                                    # the slider: a new picture
    assert dash.renders == 2 and dash.history[-1]["guide"] == pytest.approx(2.0)
    dash.balanced = False                               # the checkbox: the nearest patch
    assert dash.renders == 3 and dash.history[-1]["balanced"] is False
    dash.keep_layout = 1.0
    assert dash.renders == 4 and np.abs(dash.image - first).max() > 1e-3 and dash.error is None
    with pytest.raises(ValueError, match="size"):
        dashboards.MosaicDashboard(size=32, params=params)


@pytest.fixture(scope="module")
def gan_base():
    from gantransfer.training import style_gan

    return style_gan.StyleGanConfig(steps=3, batch=2, crop=32, pool_side=40, style_side=40, width=16, d_patch=4,
                                    d_width=8, checkpoint_every=1000)


def _gan_dash(base, params, **kwargs):
    photo = np.random.default_rng(0).random((24, 28, 3)).astype(np.float32)
    return dashboards.GanDashboard("waves", base, contents=("astronaut", "coffee"), sample_photo=photo,
                                   report_every=2, params=params, **kwargs)


def test_gan_dashboard_runs_records_and_shows_d_verdict(params, gan_base):
    dash = _gan_dash(gan_base, params)
    assert dash.config() == gan_base and dash.history == [] and dash.image is None
    assert dash.run(block=True), dash.error
    assert dash.error is None and not dash.running and dash.progress.value == 3
    assert [h["step"] for h in dash.history] == [1, 2, 3]
    assert {"d_loss", "g_adv", "d_real", "d_fake", "content", "style"} <= set(dash.history[0])
    assert dash.image.shape == (24, 28, 3) and 0 <= dash.image.min() and dash.image.max() <= 1
    assert dash.image_view.value and dash.loss_view.value and dash.verdict_view.value and dash.verdict is not None
    assert int(dash.state["step"]) == 3 and dash.status.value.startswith("Done after 3 steps")
    first = [h["d_loss"] for h in dash.history]
    dash.adv_weight.value = 3.0                  # a slider: the next run differs
    assert dash.preset.value == "(custom)" and dash.config().adv_weight == pytest.approx(3.0)
    assert dash.run(block=True), dash.error
    assert [h["d_loss"] for h in dash.history][0] == pytest.approx(first[0])   # same start and batch ...
    assert dash.history[-1]["d_loss"] != pytest.approx(first[-1])               # ... a different game after


def test_gan_dashboard_presets_start_and_errors(params, gan_base):
    import jax

    from gantransfer.pipeline import style_generator
    from gantransfer.training import style_gan

    dash = _gan_dash(gan_base, params)
    dash.preset.value = "Gram only (Johnson et al. 2016)"
    assert dash.config().adv_weight == 0 and dash.config().style_weight == gan_base.style_weight
    dash.preset.value = "adversarial only"
    assert dash.config().style_weight == 0 and dash.config().adv_weight == gan_base.adv_weight
    dash.g_lr.value = 1e-4                       # moved by hand: custom
    assert dash.preset.value == "(custom)"
    for name in dashboards.GAN_PRESETS:          # every preset makes a valid config
        dash.preset.value = name
        assert isinstance(dash.config(), style_gan.StyleGanConfig)
    dash.preset.value = "Gram only (Johnson et al. 2016)"
    assert dash.run(block=True), dash.error
    assert "d_loss" not in dash.history[-1] and dash.verdict is None     # no D, no verdict
    dash.set(style_weight=0.0, adv_weight=0.0)   # impossible settings: shown, not raised
    assert dash.run(block=True) is False and "both 0" in dash.error and not dash.running
    with pytest.raises(ValueError, match="no control for crop"):
        dash.set(crop=30)
    start = style_generator.init_generator(jax.random.key(5), width=16)
    from_start = _gan_dash(gan_base, params, init_generator=start)
    from_start.set(steps=10)
    assert from_start.run(block=True), from_start.error
    assert int(from_start.state["step"]) == 10
    with pytest.raises(ValueError, match="StyleGanConfig"):
        dashboards.GanDashboard("waves", {"steps": 3}, params=params)
    wide = _gan_dash(gan_base, params, init_generator=style_generator.init_generator(jax.random.key(0), width=32))
    assert wide.run(block=True) is False and "width 32, the run 16" in wide.error


def test_gan_dashboard_stops_in_a_thread(params, gan_base):
    dash = _gan_dash(gan_base, params)
    dash.steps.value = 400
    dash.run_button.click()                      # in a thread, as in JupyterLab
    assert dash.running
    dash.stop_button.click()
    assert dash.wait(120)
    assert not dash.running and dash.error is None and len(dash.history) < 400
    assert dash.status.value.startswith("Stopped")


def test_gan_figure_draws_the_three_panels():
    history = [{"step": i, "d_loss": 1.4 - 0.05 * i, "g_adv": 0.1 * i, "d_real": 0.5 + 0.02 * i,
                "d_fake": 0.5 - 0.02 * i, "content": 2.0, "style": 1.0 / i} for i in range(1, 13)]
    fig = dashboards.gan_figure(history, title="t")
    assert len(fig.axes) == 3 and fig.axes[0].get_yscale() == "log"
    assert "no D" in dashboards.gan_figure([{k: v for k, v in h.items() if not k.startswith(("d_", "g_"))}
                                            for h in history]).axes[1].get_title()
    assert len(dashboards.gan_figure([]).axes) == 3
