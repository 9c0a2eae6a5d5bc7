"""Decoder training: a step lowers the loss, checkpoints round-trip, a resumed run equals an uninterrupted one."""
import jax
import numpy as np
import pytest

from gantransfer.core import paint
from gantransfer.pipeline import decoder_file, generator
from gantransfer.training import batches, checkpoints, decoder_training

TINY = dict(batch=1, crop=32, pool_side=40, width=0.125, learning_rate=1e-3, warmup=0, checkpoint_every=2)


@pytest.fixture(scope="module")
def pools():
    return (batches.load_pool(["astronaut"], kind="content", side=40), batches.load_pool(["waves"], kind="style", side=40))


def test_decoder_shapes_and_parameter_count():
    params = generator.init_decoder(jax.random.key(0))
    assert sum(x.size for x in jax.tree.leaves(params)) == 3_505_219  # Huang & Belongie's decoder
    out = generator.decode(params, np.zeros((2, 4, 5, 512), np.float32))
    assert out.shape == (2, 32, 40, 3)


def test_batches_are_a_pure_function_of_seed_and_step(pools):
    a = batches.make_batch(*pools, seed=1, step=5, batch=2, crop=32)
    b = batches.make_batch(*pools, seed=1, step=5, batch=2, crop=32)
    c = batches.make_batch(*pools, seed=1, step=6, batch=2, crop=32)
    np.testing.assert_array_equal(a.content, b.content)
    assert not np.array_equal(a.content, c.content)
    assert a.content.shape == (2, 32, 32, 3) and a.style.dtype == np.float32


def test_train_step_lowers_the_loss_on_a_fixed_batch(pools, vgg_params):
    config = decoder_training.DecoderTrainConfig(steps=10, **TINY)
    tx, _ = decoder_training._compiled_step(config)
    params = generator.init_decoder(jax.random.key(0), width=config.width)
    opt_state = tx.init(params)
    batch = batches.make_batch(*pools, seed=0, step=0, batch=1, crop=32)
    losses = []
    for _ in range(6):
        params, opt_state, metrics = decoder_training.train_step(config, params, opt_state, vgg_params, batch)
        losses.append(float(metrics["total"]))
    assert losses[-1] < losses[0]


def test_resume_equals_uninterrupted_run(tmp_path, vgg_params):
    kw = dict(contents=["astronaut"], styles=["waves"], vgg_params=vgg_params)
    straight = [r.metrics["total"] for r in decoder_training.train_decoder(decoder_training.DecoderTrainConfig(steps=4, **TINY),
                                                                workdir=tmp_path / "a", **kw)]
    # killed after step 3 (the checkpoint is at step 2), then resumed to step 4
    first = []
    for report in decoder_training.train_decoder(decoder_training.DecoderTrainConfig(steps=4, **TINY), workdir=tmp_path / "b", **kw):
        first.append(report.metrics["total"])
        if report.step == 3:
            break
    assert checkpoints.latest_step(tmp_path / "b") == 2
    first = first[:2]  # step 3 was lost with the kill
    rest = [r.metrics["total"] for r in decoder_training.train_decoder(decoder_training.DecoderTrainConfig(steps=4, **TINY),
                                                            workdir=tmp_path / "b", resume=True, **kw)]
    np.testing.assert_allclose(first + rest, straight, rtol=1e-6)
    # the metrics log holds step 3 twice (before the kill, after the resume); the reader keeps the last
    log = checkpoints.read_metrics(tmp_path / "b")
    np.testing.assert_array_equal(log["step"], [1, 2, 3, 4])
    np.testing.assert_allclose(log["total"], straight, rtol=1e-5)
    assert (tmp_path / "b" / "metrics.csv").read_text().count("\n3,") == 2 and np.all(log["seconds"] > 0)
    with pytest.raises(FileExistsError, match="--resume"):
        next(decoder_training.train_decoder(decoder_training.DecoderTrainConfig(steps=4, **TINY), workdir=tmp_path / "a", **kw))


def test_style_variants_add_painted_styles_to_the_default_pool(monkeypatch, tmp_path, vgg_params):
    seen = {}
    real_load_pool = batches.load_pool

    def spy(sources, *, kind, side):
        seen[kind] = list(sources)
        return real_load_pool(sources[:1], kind=kind, side=side)  # train on one image: this test is about the pool

    monkeypatch.setattr(batches, "load_pool", spy)
    config = decoder_training.DecoderTrainConfig(steps=1, style_variants=3, **TINY)
    list(decoder_training.train_decoder(config, workdir=tmp_path, contents=["astronaut"], vgg_params=vgg_params))
    n = len(paint.STYLE_NAMES)
    assert len(seen["style"]) == 3 * n and seen["style"][:n] == list(paint.STYLE_NAMES)
    np.testing.assert_allclose(seen["style"][n + 1], paint.make_style(paint.STYLE_NAMES[1], seed=1) / 255.0)


def test_nan_stops_training_and_keeps_the_last_checkpoint(tmp_path, vgg_params):
    config = decoder_training.DecoderTrainConfig(steps=4, **{**TINY, "learning_rate": 1e30})
    with pytest.raises(FloatingPointError, match="last good checkpoint"):
        for _ in decoder_training.train_decoder(config, workdir=tmp_path, contents=["astronaut"], styles=["waves"],
                                     vgg_params=vgg_params):
            pass
    assert checkpoints.latest_step(tmp_path) in (None, 2)


def test_export_round_trip(tmp_path):
    params = generator.init_decoder(jax.random.key(1), width=0.125)
    path = decoder_file.export_decoder(params, tmp_path / "dec.npz", width=0.125)
    loaded, width = decoder_file.load_decoder(path)
    assert width == 0.125
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(loaded)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("kwargs, match", [
    (dict(crop=30), "multiple of 8"), (dict(steps=0), "steps"), (dict(style_loss="l1"), "style_loss"),
    (dict(learning_rate=-1.0), "learning_rate"), (dict(pool_side=16), "pool_side"),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        decoder_training.DecoderTrainConfig(**kwargs)


def test_identity_loss_and_starting_from_a_decoder(tmp_path, pools, vgg_params):
    params = generator.init_decoder(jax.random.key(3), width=TINY["width"])
    batch = batches.make_batch(*pools, seed=0, step=0, batch=1, crop=32)
    plain, m0 = decoder_training.decoder_losses(params, vgg_params, batch, style_weight=10.0, width=TINY["width"])
    total, m = decoder_training.decoder_losses(params, vgg_params, batch, style_weight=10.0, width=TINY["width"],
                                    identity_weight=7.0)
    reconstruction = np.asarray(generator.decode(params, generator.encode(vgg_params, batch.content), width=TINY["width"]))
    identity = np.mean((reconstruction.astype(np.float64) - batch.content) ** 2)   # numpy, independently
    np.testing.assert_allclose(float(m["identity"]), identity, rtol=1e-4)
    np.testing.assert_allclose(float(total), float(plain) + 7.0 * identity, rtol=1e-4)
    assert "identity" not in m0
    # a new run started from an exported decoder: its first step's loss is that decoder's loss
    path = decoder_file.export_decoder(params, tmp_path / "start.npz", width=TINY["width"])
    start_params, _ = decoder_file.load_decoder(path)
    config = decoder_training.DecoderTrainConfig(steps=1, identity_weight=7.0, **TINY)
    first = next(decoder_training.train_decoder(config, workdir=tmp_path / "run", contents=["astronaut"], styles=["waves"],
                                     vgg_params=vgg_params, init_decoder=path))
    batch0 = batches.make_batch(batches.load_pool(["astronaut"], kind="content", side=TINY["pool_side"]),
                              batches.load_pool(["waves"], kind="style", side=TINY["pool_side"]),
                              seed=0, step=0, batch=1, crop=32)
    want, _ = decoder_training.decoder_losses(start_params, vgg_params, batch0, style_weight=config.style_weight,
                                   width=TINY["width"], identity_weight=7.0)
    np.testing.assert_allclose(first.metrics["total"], float(want), rtol=1e-4)
    with pytest.raises(ValueError, match="width"):
        next(decoder_training.train_decoder(decoder_training.DecoderTrainConfig(steps=1, **{**TINY, "width": 0.25}), workdir=tmp_path / "w",
                                 contents=["astronaut"], styles=["waves"], vgg_params=vgg_params, init_decoder=path))
