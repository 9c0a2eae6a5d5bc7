"""Multi-level WCT (Li et al. 2017): decoders for relu3_1/relu2_1/relu1_1, their training and the cascade."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from gantransfer.core import samples
from gantransfer.methods import registry
from gantransfer.pipeline import decoder_file, extractor, fusion, generator
from gantransfer.training import batches, checkpoints, decoder_training

WIDTH = 0.125


@pytest.fixture(scope="module")
def level_decoders():
    return {layer: (generator.init_decoder(jax.random.key(i), width=WIDTH, layer=layer), WIDTH)
            for i, layer in enumerate(generator.MULTILEVEL_LAYERS)}


@pytest.mark.parametrize("layer, channels, upsampling", [
    ("relu4_1", 512, 8), ("relu3_1", 256, 4), ("relu2_1", 128, 2), ("relu1_1", 64, 1)])
def test_level_decoders_read_their_layer_and_return_its_image_size(vgg_params, layer, channels, upsampling):
    params = generator.init_decoder(jax.random.key(0), width=WIDTH, layer=layer)
    image = np.random.default_rng(0).random((2, 32, 40, 3), dtype=np.float32)
    features = generator.encode(vgg_params, image, layer=layer)
    assert features.shape == (2, 32 // upsampling, 40 // upsampling, channels)
    assert generator.decode(params, features, width=WIDTH, layer=layer).shape == (2, 32, 40, 3)
    # the shallow decoders are the tail of the relu4_1 one: same layers from where the level enters
    deep = generator.init_decoder(jax.random.key(0), width=WIDTH)
    tail = [x.shape for x in jax.tree.leaves(deep)][-len(jax.tree.leaves(params)):]
    if layer != "relu4_1":
        assert [x.shape for x in jax.tree.leaves(params)][2:] == tail[2:]   # all but the first (unscaled input)


def test_unknown_level_is_refused():
    with pytest.raises(ValueError, match="no decoder for layer"):
        generator.init_decoder(jax.random.key(0), layer="relu5_1")
    with pytest.raises(ValueError, match="layer must be one of"):
        decoder_training.DecoderTrainConfig(layer="conv3_1")


def test_export_records_the_layer_and_load_checks_it(tmp_path):
    params = generator.init_decoder(jax.random.key(1), width=WIDTH, layer="relu2_1")
    path = decoder_file.export_decoder(params, tmp_path / "d2.npz", width=WIDTH, layer="relu2_1")
    loaded, width = decoder_file.load_decoder(path, layer="relu2_1")
    assert width == WIDTH
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(loaded)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="inverts relu2_1, not relu4_1"):
        decoder_file.load_decoder(path)
    with pytest.raises(FileNotFoundError, match="--layer relu1_1"):
        decoder_file.load_level_decoders({"relu1_1": tmp_path / "missing.npz"})


def test_shallow_decoder_loss_reads_only_layers_up_to_its_own(vgg_params):
    assert decoder_training.style_layers_up_to("relu2_1") == ("relu1_1", "relu2_1")
    assert decoder_training.style_layers_up_to("relu4_1") == decoder_training.STYLE_LAYERS
    rng = np.random.default_rng(0)
    batch = batches.Batch(rng.random((1, 32, 32, 3), dtype=np.float32), rng.random((1, 32, 32, 3), dtype=np.float32))
    params = generator.init_decoder(jax.random.key(2), width=WIDTH, layer="relu2_1")
    total, m = decoder_training.decoder_losses(params, vgg_params, batch, style_weight=3.0, width=WIDTH, identity_weight=5.0,
                                    layer="relu2_1")
    # independently: content on AdaIN-fused relu2_1 features, mean/std style loss over relu1_1 and relu2_1
    feats = lambda x, names: extractor.forward(vgg_params, x, names)
    c, s = feats(batch.content, ("relu2_1",))["relu2_1"], feats(batch.style, ("relu1_1", "relu2_1"))
    target = np.asarray(fusion.adain(c, s["relu2_1"]), np.float64)
    out = generator.decode(params, jnp.asarray(target, jnp.float32), width=WIDTH, layer="relu2_1")
    o = {k: np.asarray(v, np.float64) for k, v in feats(out, ("relu1_1", "relu2_1")).items()}
    content = np.mean((o["relu2_1"] - target) ** 2)
    stats = lambda f: (f.mean(axis=(1, 2)), np.sqrt(f.var(axis=(1, 2)) + 1e-5))
    style = 0.0
    for k in ("relu1_1", "relu2_1"):
        (mo, so), (ms, ss) = stats(o[k]), stats(np.asarray(s[k], np.float64))
        style += np.mean((mo - ms) ** 2) + np.mean((so - ss) ** 2)
    reconstruction = np.asarray(generator.decode(params, c, width=WIDTH, layer="relu2_1"), np.float64)
    identity = np.mean((reconstruction - batch.content) ** 2)
    np.testing.assert_allclose(float(m["content"]), content, rtol=1e-3)
    np.testing.assert_allclose(float(m["style"]), style, rtol=1e-3)
    np.testing.assert_allclose(float(total), content + 3.0 * style + 5.0 * identity, rtol=1e-3)


def test_a_short_relu1_1_run_lowers_its_loss(tmp_path, vgg_params):
    config = decoder_training.DecoderTrainConfig(steps=8, batch=1, crop=32, pool_side=40, width=WIDTH, learning_rate=3e-3,
                                      warmup=0, checkpoint_every=8, layer="relu1_1")
    reports = list(decoder_training.train_decoder(config, workdir=tmp_path / "run", contents=["astronaut"], styles=["waves"],
                                       vgg_params=vgg_params))
    assert reports[-1].metrics["total"] < reports[0].metrics["total"]
    state = checkpoints.restore_checkpoint(tmp_path / "run", decoder_training.abstract_train_state(config))
    path = decoder_file.export_decoder(state["params"], tmp_path / "d1.npz", width=WIDTH, layer="relu1_1")
    assert decoder_file.load_level_decoders({"relu1_1": path})["relu1_1"][1] == WIDTH


def test_cascade_is_wct_then_decode_level_after_level(vgg_params, level_decoders):
    content = samples.content_image("coffee", size=96)[None, :64, :96]
    style = samples.style_image("hatching", size=96)[None]
    out = generator.generate_multilevel(vgg_params, level_decoders, content, [style], alpha=0.7)
    assert out.shape == (1, 64, 96, 3) and float(out.min()) >= 0.0 and float(out.max()) <= 1.0

    @jax.jit
    def by_hand(image, alpha):   # one level at a time
        for layer in generator.MULTILEVEL_LAYERS:
            state, width = level_decoders[layer]
            fused = fusion.wct(generator.encode(vgg_params, image, layer=layer),
                               generator.encode(vgg_params, jnp.asarray(style), layer=layer), alpha=alpha)
            image = jnp.clip(generator.decode(state, fused, width=width, layer=layer), 0.0, 1.0)
        return image
    # WCT whitens by the inverse square root of a covariance whose smallest eigenvalues sit at the eps floor
    # (random tiny decoders leave channels dead), so rounding differences between two compiled programs grow
    # in a few pixels: compare means, against what a different alpha changes.
    gap = lambda a, b: float(np.mean(np.abs(np.asarray(a) - np.asarray(b))))
    assert gap(out, by_hand(jnp.asarray(content), 0.7)) < 1e-3
    assert gap(out, by_hand(jnp.asarray(content), 0.3)) > 2e-2
    # one level at alpha = 0 decodes the photo's own features
    only = {"relu1_1": level_decoders["relu1_1"]}
    state, width = only["relu1_1"]
    own = jnp.clip(generator.decode(state, generator.encode(vgg_params, content, layer="relu1_1"), width=width,
                                    layer="relu1_1"), 0.0, 1.0)
    np.testing.assert_allclose(np.asarray(generator.generate_multilevel(
        vgg_params, only, content, [style], alpha=0.0, layers=("relu1_1",))), np.asarray(own), atol=1e-5)


@pytest.mark.parametrize("change, message", [
    (dict(layers=()), "no levels"), (dict(layers=("relu5_1",)), "no decoder plan"),
    (dict(decoders={}), "no decoder given for level relu3_1"), (dict(alpha=1.5), "alpha"),
    (dict(content=np.full((1, 30, 32, 3), 0.5, np.float32)), "multiple of 4"), (dict(styles=[]), "no style"),
])
def test_cascade_refuses_bad_inputs(vgg_params, level_decoders, change, message):
    args = dict(decoders=level_decoders, content=np.full((1, 32, 32, 3), 0.5, np.float32),
                styles=[np.full((1, 32, 32, 3), 0.3, np.float32)])
    args.update(change)
    with pytest.raises(ValueError, match=message):
        generator.generate_multilevel(vgg_params, args.pop("decoders"), args.pop("content"), args.pop("styles"), **args)


def test_shipped_level_decoders_load_and_stylise(vgg_params):
    decoders = decoder_file.load_level_decoders()
    assert set(decoders) == set(generator.MULTILEVEL_LAYERS)
    photo, style = samples.content_image("coffee", size=96), samples.style_image("hatching", size=96)
    out = registry.stylize(photo, style, method="multilevel", params=vgg_params, decoders=decoders)
    assert out.shape == (photo.shape[0] // 8 * 8, photo.shape[1] // 8 * 8, 3)
    photo = photo[: out.shape[0], : out.shape[1]]
    # the photo's layout of light and dark stays (blurred luminance correlates, as the judge measures) ...
    blurred = lambda x: gaussian_filter(x @ np.array([0.299, 0.587, 0.114], np.float32), 3)
    assert np.corrcoef(blurred(out).ravel(), blurred(photo).ravel())[0, 1] > 0.5
    # ... while its colours move to the style's (hatching: sepia ink on paper, no saturated red)
    gap = lambda x: np.abs(x.reshape(-1, 3).mean(0) - style.reshape(-1, 3).mean(0)).sum()
    assert gap(out) < 0.5 * gap(photo)
