"""Adversarial training: D's step sharpens D, G's steps lower G's loss, checkpoints round-trip, a resumed run
equals an uninterrupted one, NaN stops the run, the divergence detector fires when it should."""
import json
import warnings

import jax
import numpy as np
import pytest
from flax import nnx

from gantransfer.pipeline import decoder_file, discriminator, generator
from gantransfer.training import adversarial as A
from gantransfer.training import batches, checkpoints

TINY = dict(batch=2, crop=32, pool_side=40, width=0.125, d_width=0.125, g_learning_rate=1e-3,
            d_learning_rate=1e-3, checkpoint_every=2, divergence_window=3)


@pytest.fixture(scope="module")
def pools():
    return (batches.load_pool(["astronaut", "coffee"], kind="content", side=40),
            batches.load_pool(["waves"], kind="style", side=40))


@pytest.fixture(scope="module")
def batch(pools):
    return batches.make_batch(*pools, seed=0, step=0, batch=2, crop=32)


def test_one_d_step_raises_the_margin(vgg_params, batch):
    config = A.GanTrainConfig(steps=1, **TINY)
    state = A.init_gan_state(config)
    new, before = A.d_step(config, state, vgg_params, batch)
    _, after = A.d_step(config, new, vgg_params, batch)  # its metrics are computed before its own update
    margin = lambda m: float(m["d_real"] - m["d_fake"])
    assert margin(after) > margin(before) and float(after["d_loss"]) < float(before["d_loss"])
    assert {"d_loss", "r1", "d_real", "d_fake", "d_margin", "d_grad_norm"} <= set(before)
    assert 0 < float(before["r1"]) and abs(float(before["d_margin"])) < 0.5
    # only D moved, and the step counter counts G's updates
    for a, b in zip(jax.tree.leaves(state["g_params"]), jax.tree.leaves(new["g_params"])):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert int(new["step"]) == 0
    # the spectral vectors moved by one power iteration, outside the optimiser
    old_u, new_u = (nnx.split_state(s["d_params"], discriminator.SpectralVector, ...)[0] for s in (state, new))
    assert not np.allclose(jax.tree.leaves(old_u)[0], jax.tree.leaves(new_u)[0])
    assert len(jax.tree.leaves(new["d_opt"][0].mu)) == len(jax.tree.leaves(nnx.split_state(new["d_params"], nnx.Param, ...)[0]))


def test_g_steps_lower_the_generator_loss(vgg_params, batch):
    config = A.GanTrainConfig(steps=1, **TINY)
    state = A.init_gan_state(config)
    losses = []
    for _ in range(4):
        state, metrics = A.g_step(config, state, vgg_params, batch)
        losses.append(float(metrics["g_total"]))
    assert losses[-1] < losses[0] and int(state["step"]) == 4
    want = (metrics["content"] + config.style_weight * metrics["style"]
            + config.identity_weight * metrics["identity"] + config.adv_weight * metrics["g_adv"])
    np.testing.assert_allclose(metrics["g_total"], want, rtol=1e-5)
    assert {"g_adv", "content", "style", "g_grad_norm", "diversity"} <= set(metrics)


def test_learning_rates_share_one_compilation_and_scale_the_update(vgg_params, batch):
    import dataclasses

    slow = A.GanTrainConfig(steps=1, **TINY)
    fast = dataclasses.replace(slow, g_learning_rate=3 * slow.g_learning_rate, d_learning_rate=3 * slow.d_learning_rate)
    state = A.init_gan_state(slow)
    moved = {}
    for name, config in (("slow", slow), ("fast", fast)):
        d_state, _ = A.d_step(config, state, vgg_params, batch)
        g_state, _ = A.g_step(config, state, vgg_params, batch)
        compiled = A._compiled_steps.cache_info().currsize
        moved[name] = [np.asarray(b) - np.asarray(a) for a, b in zip(
            jax.tree.leaves(nnx.split_state(state["d_params"], nnx.Param, ...)[0]) + jax.tree.leaves(state["g_params"]),
            jax.tree.leaves(nnx.split_state(d_state["d_params"], nnx.Param, ...)[0]) + jax.tree.leaves(g_state["g_params"]))]
        moved[name + " compiled"] = compiled
    assert moved["fast compiled"] == moved["slow compiled"]        # a new learning rate: no new compilation
    for a, b in zip(moved["slow"], moved["fast"]):                  # the same Adam direction, three times as far
        np.testing.assert_allclose(b, 3 * a, rtol=1e-5, atol=1e-7)   # atol: float32 rounding of p + Δ - p
    assert max(np.abs(a).max() for a in moved["slow"]) == pytest.approx(slow.d_learning_rate, rel=1e-3)


def test_unconditional_plain_lsgan_d_step(vgg_params, batch):
    config = A.GanTrainConfig(steps=1, loss="lsgan", spectral_norm=False, conditional=False, r1_weight=0.0, **TINY)
    state = A.init_gan_state(config)
    assert not jax.tree.leaves(nnx.split_state(state["d_params"], discriminator.SpectralVector, ...)[0])
    new, metrics = A.d_step(config, state, vgg_params, batch)
    assert all(np.isfinite(float(v)) for v in metrics.values()) and float(metrics["r1"]) == 0.0
    assert jax.tree.structure(new) == jax.tree.structure(state)


def test_init_from_a_trained_decoder(tmp_path):
    config = A.GanTrainConfig(steps=1, **TINY)
    params = generator.init_decoder(jax.random.key(7), width=0.125)
    path = decoder_file.export_decoder(params, tmp_path / "dec.npz", width=0.125)
    state = A.init_gan_state(config, init_decoder=path)
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(state["g_params"])):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="width"):
        A.init_gan_state(A.GanTrainConfig(steps=1, **{**TINY, "width": 0.25}), init_decoder=path)
    with pytest.raises(ValueError, match="width"):
        A.init_gan_state(A.GanTrainConfig(steps=1, **{**TINY, "width": 0.25}), init_decoder=params)


def test_checkpoint_round_trip(tmp_path, vgg_params, batch):
    config = A.GanTrainConfig(steps=1, **TINY)
    state = A.init_gan_state(config)
    state, _ = A.d_step(config, state, vgg_params, batch)
    state, _ = A.g_step(config, state, vgg_params, batch)
    checkpoints.save_checkpoint(tmp_path, 1, state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # orbax: no sharding given on restore (harmless on one CPU)
        restored = checkpoints.restore_checkpoint(tmp_path, A.abstract_gan_state(config))
    assert jax.tree.structure(restored) == jax.tree.structure(state)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(restored)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    vectors = nnx.split_state(restored["d_params"], discriminator.SpectralVector, ...)[0]
    assert len(jax.tree.leaves(vectors)) == 6  # four convs, ψ and the embedding


def test_resume_equals_uninterrupted_run(tmp_path, vgg_params):
    kw = dict(contents=["astronaut", "coffee"], styles=["waves"], vgg_params=vgg_params)
    names = ("d_loss", "g_total", "r1")
    straight = [[r.metrics[k] for k in names] for r in A.train_gan(A.GanTrainConfig(steps=4, **TINY),
                                                                   workdir=tmp_path / "a", **kw)]
    # killed after step 3 (the checkpoint is at step 2), then resumed to step 4
    first = []
    for report in A.train_gan(A.GanTrainConfig(steps=4, **TINY), workdir=tmp_path / "b", **kw):
        first.append([report.metrics[k] for k in names])
        if report.step == 3:
            break
    assert checkpoints.latest_step(tmp_path / "b") == 2
    first = first[:2]  # step 3 was lost with the kill
    rest = [[r.metrics[k] for k in names] for r in A.train_gan(A.GanTrainConfig(steps=4, **TINY),
                                                               workdir=tmp_path / "b", resume=True, **kw)]
    np.testing.assert_allclose(first + rest, straight, rtol=1e-6)
    log = checkpoints.read_metrics(tmp_path / "b")
    np.testing.assert_array_equal(log["step"], [1, 2, 3, 4])
    np.testing.assert_allclose(log["g_total"], [s[1] for s in straight], rtol=1e-5)
    assert json.loads((tmp_path / "b" / "config.json").read_text())["loss"] == "hinge"
    with pytest.raises(FileExistsError, match="--resume"):
        next(A.train_gan(A.GanTrainConfig(steps=4, **TINY), workdir=tmp_path / "a", **kw))
    with pytest.raises(ValueError, match="adv_weight"):
        next(A.train_gan(A.GanTrainConfig(steps=6, **{**TINY, "adv_weight": 2.0}), workdir=tmp_path / "a",
                         resume=True, **kw))
    # a longer run (steps may change on resume) continues from step 4
    more = list(A.train_gan(A.GanTrainConfig(steps=5, **TINY), workdir=tmp_path / "a", resume=True, **kw))
    assert [r.step for r in more] == [5] and more[0].checkpointed


def test_nan_stops_training_and_keeps_the_last_checkpoint(tmp_path, vgg_params, monkeypatch):
    real_make_batch = batches.make_batch

    def poisoned(*args, step, **kwargs):  # a NaN pixel enters at step 3, after the checkpoint of step 2
        batch = real_make_batch(*args, step=step, **kwargs)
        if step == 2:
            batch.content[0, 0, 0, 0] = np.nan
        return batch

    monkeypatch.setattr(batches, "make_batch", poisoned)
    steps = []
    with pytest.raises(FloatingPointError, match="last good checkpoint.*step 2"):
        for report in A.train_gan(A.GanTrainConfig(steps=4, **TINY), workdir=tmp_path, contents=["astronaut"],
                                  styles=["waves"], vgg_params=vgg_params):
            steps.append(report.step)
    assert steps == [1, 2] and checkpoints.latest_step(tmp_path) == 2


def test_divergence_alerts_on_synthetic_metrics():
    healthy = {"d_loss": [1.2, 0.9, 1.1, 1.0], "d_margin": [0.1, 0.3, 0.2, 0.25], "diversity": [0.7, 0.8, 0.6, 0.7]}
    assert A.divergence_alerts(healthy, loss="ns", window=3) == []
    # hinge d_loss at 0 for the whole window: D wins; one step back above the floor: not yet
    wins = {"d_loss": [0.5, 0.0, 0.01, 0.0]}
    assert "discriminator wins" in A.divergence_alerts(wins, loss="hinge", window=3)[0]
    assert A.divergence_alerts({"d_loss": [0.0, 0.0, 0.5, 0.0]}, loss="hinge", window=3) == []
    # a saturated probability margin also means D wins (ns); too short a history never fires
    assert A.divergence_alerts({"d_margin": [0.97, 0.99, 0.98]}, loss="ns", window=3)[0].startswith("discriminator wins")
    assert A.divergence_alerts({"d_margin": [0.99, 0.99]}, loss="ns", window=3) == []
    # d_loss is judged against its value at chance: 0.05 is a win for ns (floor 0.069), not for lsgan (0.025)
    assert A.divergence_alerts({"d_loss": [0.05] * 3}, loss="ns", window=3)
    assert not A.divergence_alerts({"d_loss": [0.05] * 3}, loss="lsgan", window=3)
    collapse = {"diversity": [0.3, 0.05, 0.02, 0.01]}
    alerts = A.divergence_alerts(collapse, loss="ns", window=3)
    assert len(alerts) == 1 and alerts[0].startswith("generator collapse")
    with pytest.raises(ValueError, match="loss"):
        A.divergence_alerts(healthy, loss="wgan")


def test_divergence_detector_warns_once_per_episode():
    detector = A.DivergenceDetector(loss="hinge", window=3)
    fired = []
    with pytest.warns(A.DivergenceWarning, match="discriminator wins"):
        for d in [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]:
            fired.append(detector.update({"d_loss": d, "d_margin": 0.5, "diversity": 0.8}))
    assert [bool(f) for f in fired] == [False, False, False, True, False, False]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        detector.update({"d_loss": 1.0, "d_margin": 0.5, "diversity": 0.8})  # cleared: nothing
    assert detector.active == set()


@pytest.mark.parametrize("kwargs, match", [
    (dict(loss="wgan"), "loss"), (dict(crop=30), "multiple of 8"), (dict(beta1=1.0), "beta1"),
    (dict(d_learning_rate=0.0), "d_learning_rate"), (dict(r1_weight=-1.0), "r1_weight"),
    (dict(crop=32, d_layers=5), "too small"), (dict(spectral_norm=1), "spectral_norm"), (dict(steps=0), "steps"),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        A.GanTrainConfig(**kwargs)
