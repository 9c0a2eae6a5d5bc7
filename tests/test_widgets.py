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

    dash.content.value = "chelsea"                      # not square: cropped to a multiple of 8
    assert dash.error is None and dash.image.shape[0] % 8 == 0 and dash.image.shape[1] % 8 == 0


def test_fusion_dashboard_rejects_bad_settings(params, tiny_decoder):
    with pytest.raises(ValueError, match="method"):
        dashboards.FusionDashboard(tiny_decoder, width=0.125, method="gram", params=params)
    with pytest.raises(ValueError, match="size"):
        dashboards.FusionDashboard(tiny_decoder, width=0.125, size=8, params=params)


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
    from gantransfer.training import adversarial

    return adversarial.GanTrainConfig(steps=3, batch=2, crop=32, pool_side=40, width=0.125, d_width=0.125,
                                      g_learning_rate=1e-3, d_learning_rate=4e-3, divergence_window=2,
                                      checkpoint_every=1000)


def _gan_dash(base, params, decoder, **kwargs):
    return dashboards.GanDashboard(base, init_decoder=decoder, contents=("astronaut", "coffee"), styles=("waves",),
                                sample_content="chelsea", sample_size=32, report_every=2, params=params, **kwargs)


def test_gan_dashboard_runs_and_records(params, tiny_decoder, gan_base):
    dash = _gan_dash(gan_base, params, tiny_decoder)
    assert dash.config() == gan_base and dash.history == [] and dash.image is None
    assert dash.run(block=True), dash.error
    assert dash.error is None and not dash.running and dash.progress.value == 3
    assert [h["step"] for h in dash.history] == [1, 2, 3]
    assert {"d_loss", "g_adv", "d_real", "d_fake", "d_margin", "diversity", "r1", "content", "style"} <= set(dash.history[0])
    assert [s for s, _ in dash.samples] == [2, 3] and dash.image.shape == (32, 32, 3)  # chelsea's central square
    assert 0 <= dash.image.min() and dash.image.max() <= 1
    assert dash.image_view.value and dash.loss_view.value and "no divergence alert" in dash.alerts_view.value
    assert int(dash.state["step"]) == 3 and dash.status.value.startswith("Done after 3 steps")
    first = [h["d_loss"] for h in dash.history]

    dash.adv_weight.value = 10.0                 # a slider: the next run differs (same compiled steps)
    assert dash.preset.value == "(custom)" and dash.config().adv_weight == pytest.approx(10.0)
    assert dash.run(block=True), dash.error
    assert [h["d_loss"] for h in dash.history][0] == pytest.approx(first[0])   # same start and batch ...
    assert dash.history[-1]["d_loss"] != pytest.approx(first[-1])               # ... a different game after


def test_gan_dashboard_presets_and_settings(params, tiny_decoder, gan_base):
    from gantransfer.training import adversarial

    dash = _gan_dash(gan_base, params, tiny_decoder)
    dash.preset.value = "discriminator too strong"
    preset = dashboards.GAN_PRESETS["discriminator too strong"]
    config = dash.config()
    assert config.g_learning_rate == pytest.approx(preset["g_learning_rate"])
    assert config.d_learning_rate == pytest.approx(preset["d_learning_rate"])
    assert not config.spectral_norm and config.r1_weight == 0.0 and not dash.r1_on.value and dash.r1_weight.disabled
    assert config.d_width == preset["d_width"] and "d_width" in dash.extra_view.value   # a setting with no control
    dash.g_lr.value = 1e-4                       # moved by hand: custom, the preset's hidden setting kept
    assert dash.preset.value == "(custom)" and dash.config().d_width == preset["d_width"]
    dash.preset.value = "healthy"                # back to the base settings
    assert dash.config() == gan_base and dash.extra_view.value == ""
    dash.preset.value = "generator collapse"
    assert dash.config().adv_weight == pytest.approx(1000.0)
    dash.set(loss="ns", r1_weight=0.5, steps=7, g_learning_rate=1e-7)   # set() widens a slider's range
    config = dash.config()
    assert (config.loss, config.r1_weight, config.steps) == ("ns", pytest.approx(0.5), 7)
    assert config.g_learning_rate == pytest.approx(1e-7)
    for name in dashboards.GAN_PRESETS:             # every preset makes a valid config
        dash.preset.value = name
        assert isinstance(dash.config(), adversarial.GanTrainConfig)


def test_gan_dashboard_alerts_errors_and_stop(params, tiny_decoder, gan_base, monkeypatch):
    import jax
    import jax.numpy as jnp

    from gantransfer.training import adversarial

    # A decoder of zeros paints the same (black) picture for every photo: a collapse from step 1.
    dead = jax.tree.map(jnp.zeros_like, tiny_decoder)
    dash = _gan_dash(gan_base, params, dead)
    assert dash.run(block=True), dash.error
    assert [s for s, _ in dash.alerts] == [2] and dash.alerts[0][1].startswith("generator collapse")
    assert "generator collapse" in dash.alerts_view.value

    dash.set(crop=30)                            # impossible settings: shown, not raised
    assert dash.run(block=True) is False
    assert "crop" in dash.error and "crop" in dash.status.value and not dash.running and not dash.run_button.disabled

    healthy = _gan_dash(gan_base, params, tiny_decoder)
    real_g_step = adversarial.g_step

    def poisoned(config, state, vgg_params, batch):   # the run diverges at step 2
        state, metrics = real_g_step(config, state, vgg_params, batch)
        if int(state["step"]) == 2:
            metrics = {**metrics, "g_adv": jnp.nan}
        return state, metrics

    monkeypatch.setattr(adversarial, "g_step", poisoned)
    assert healthy.run(block=True)
    assert "non-finite g_adv at step 2" in healthy.error and "non-finite" in healthy.status.value
    assert len(healthy.history) == 2 and not healthy.running
    monkeypatch.setattr(adversarial, "g_step", real_g_step)

    healthy.steps.value = 400
    healthy.run_button.click()                   # in a thread, as in JupyterLab
    assert healthy.running
    healthy.stop_button.click()
    assert healthy.wait(120)
    assert not healthy.running and healthy.error is None and len(healthy.history) < 400
    assert healthy.status.value.startswith("Stopped")


def test_gan_dashboard_rejects_bad_arguments(params, gan_base):
    with pytest.raises(ValueError, match="GanTrainConfig"):
        dashboards.GanDashboard({"steps": 3}, params=params)
    with pytest.raises(ValueError, match="sample_size"):
        dashboards.GanDashboard(gan_base, sample_size=30, params=params)


def test_gan_figure_draws_curves_samples_and_alerts():
    history = [{"step": i, "d_loss": 2.0 - 0.1 * i, "g_adv": 0.1 * i, "d_real": 0.1 * i, "d_fake": -0.1 * i,
                "d_margin": 0.05 * i, "diversity": 0.5} for i in range(1, 13)]
    image = np.zeros((16, 16, 3), np.float32)
    fig = dashboards.gan_figure(history, samples=[(5, image), (10, image)], alerts=[(11, "discriminator wins: …")],
                             loss="hinge")
    assert len(fig.axes) == 5 and "1 alert" in fig._suptitle.get_text()
    exploding = [{**h, "d_real": 1e4 * h["step"]} for h in history]   # a symmetric-log scale keeps it readable
    assert dashboards.gan_figure(exploding).axes[1].get_yscale() == "symlog"
    assert len(dashboards.gan_figure([]).axes) == 3
