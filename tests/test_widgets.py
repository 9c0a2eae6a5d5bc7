"""Drive the dashboards' callbacks without a browser: set a control, run, check the state changed."""
import numpy as np
import pytest

from gantransfer import extractor, optimize, widgets


@pytest.fixture(scope="module")
def params():
    return extractor.load_params()


def test_style_transfer_dashboard_runs_and_reacts(params):
    dash = widgets.StyleTransferDashboard(size=48, steps=4, report_every=2, params=params)
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
    dash = widgets.StyleTransferDashboard(size=48, steps=2, report_every=1, params=params)
    dash.style2.value = "mondrian"
    dash.blend.value = 0.25
    dash.preserve_color.value = True
    dash.optimizer.value = "lbfgs"
    for name, box in dash.style_layers.items():
        box.value = name == "relu2_1"
    config = dash.config()
    assert config.style_blend == pytest.approx((0.75, 0.25))
    assert config.optimizer == "lbfgs" and config.preserve_color and tuple(config.style_layers) == ("relu2_1",)
    assert dash.run(block=True), dash.error
    assert dash.image.shape == (48, 48, 3)


def test_bad_settings_show_an_error_not_a_traceback(params):
    dash = widgets.StyleTransferDashboard(size=48, steps=2, params=params)
    for box in dash.style_layers.values():
        box.value = False
    assert dash.run(block=True) is False
    assert "style layer" in dash.error and "style layer" in dash.status.value
    assert not dash.running and not dash.run_button.disabled


def test_stop_button_ends_a_background_run(params):
    dash = widgets.StyleTransferDashboard(size=48, steps=400, report_every=1, params=params)
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
    dash = widgets.TextureDashboard(style="waves", layers=("relu1_1",), size=48, steps=2, report_every=1,
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
    browser = widgets.FeatureMapBrowser(content="chelsea", size=64, params=params, per_page=16)
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
        widgets.FeatureMapBrowser(layers=("relu9_9",), params=params)


@pytest.fixture(scope="module")
def tiny_decoder():
    import jax

    from gantransfer import generator

    return generator.init_decoder(jax.random.key(0), width=0.125)


def test_fusion_dashboard_sliders_rerun_only_fusion_and_decoder(params, tiny_decoder):
    import jax.numpy as jnp

    from gantransfer import fusion, generator

    dash = widgets.FusionDashboard(tiny_decoder, width=0.125, content="astronaut", style="waves", size=48,
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
        widgets.FusionDashboard(tiny_decoder, width=0.125, method="gram", params=params)
    with pytest.raises(ValueError, match="size"):
        widgets.FusionDashboard(tiny_decoder, width=0.125, size=8, params=params)
