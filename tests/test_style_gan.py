"""Training a per-style generator against a patch discriminator (P²-GAN with a Gram loss), in fast mode."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gantransfer.pipeline import style_generator
from gantransfer.training import style_gan as S

#: Tiny settings: 32 px crops (VGG16's smallest), 4 px patches, a generator of width 16.
FAST = dict(batch=2, crop=32, pool_side=32, style_side=32, width=16, d_patch=4, d_width=8, checkpoint_every=2)


def _run(config, **kw):
    reports = list(S.train_style_gan(config, style="waves", contents=["astronaut", "coffee"], **kw))
    return reports


def test_config_is_checked():
    with pytest.raises(ValueError, match="a square"):
        S.StyleGanConfig(d_patch=10)
    with pytest.raises(ValueError, match="both 0"):
        S.StyleGanConfig(style_weight=0, adv_weight=0)
    with pytest.raises(ValueError, match="multiple of 4"):
        S.StyleGanConfig(crop=30)
    with pytest.raises(ValueError, match="at least crop"):
        S.StyleGanConfig(crop=128, style_side=96)
    with pytest.raises(ValueError, match="d_steps"):
        S.StyleGanConfig(d_steps=0)


def test_two_discriminator_steps_per_generator_step_move_d_further():
    one, two = (_run(S.StyleGanConfig(steps=1, d_steps=n, **FAST), workdir=None)[-1] for n in (1, 2))
    fresh = S.init_state(S.StyleGanConfig(**FAST))["d"]
    moved = [sum(float(jnp.sum(jnp.abs(a - b))) for a, b in zip(jax.tree.leaves(r.state["d"]), jax.tree.leaves(fresh)))
             for r in (one, two)]
    assert moved[1] > 1.5 * moved[0]                            # two Adam steps go about twice as far as one
    assert int(two.state["d_opt"][0].count) == 2


def test_perceptual_losses_against_numpy(vgg_params):
    from gantransfer.pipeline import extractor

    rng = np.random.default_rng(0)
    photos, paintings, style = (jnp.asarray(rng.random(s, np.float32)) for s in
                                ((2, 32, 32, 3), (2, 32, 32, 3), (40, 36, 3)))
    targets = S.style_targets(vgg_params, style)
    content, style_loss = S.perceptual_losses(vgg_params, photos, paintings, targets)
    f = {k: np.asarray(v, np.float64) for k, v in extractor.forward(vgg_params, jnp.concatenate([photos, paintings]),
                                                                    ("relu1_2", "relu2_2", "relu3_3")).items()}
    expected_content = np.sum((f["relu2_2"][2:] - f["relu2_2"][:2]) ** 2) / np.sum(f["relu2_2"][:2] ** 2)
    np.testing.assert_allclose(float(content), expected_content, rtol=1e-4)
    ratios = []
    for k in ("relu1_2", "relu2_2", "relu3_3"):
        flat = f[k][2:].reshape(2, -1, f[k].shape[-1])
        grams = np.einsum("npi,npj->nij", flat, flat) / flat.shape[1]
        target = np.asarray(targets[k], np.float64)
        ratios.append(np.sum((grams - target) ** 2) / (2 * np.sum(target ** 2)))
    np.testing.assert_allclose(float(style_loss), np.mean(ratios), rtol=1e-4)
    same, _ = S.perceptual_losses(vgg_params, photos, photos, targets)
    assert float(same) == 0.0


def test_fast_training_runs_and_reports(tmp_path):
    reports = _run(S.StyleGanConfig(steps=3, **FAST), workdir=tmp_path / "run")
    assert [r.step for r in reports] == [1, 2, 3] and [r.checkpointed for r in reports] == [False, True, True]
    m = reports[-1].metrics
    assert set(m) == {"content", "style", "total", "g_adv", "d_loss", "d_real", "d_fake"}
    assert all(np.isfinite(v) for v in m.values()) and 0 < m["d_real"] < 1
    assert (tmp_path / "run" / "config.json").is_file() and (tmp_path / "run" / "metrics.csv").is_file()


def test_gram_only_has_no_discriminator_step():
    reports = _run(S.StyleGanConfig(steps=2, adv_weight=0.0, **FAST), workdir=None)
    assert set(reports[-1].metrics) == {"content", "style", "total"}
    fresh = S.init_state(S.StyleGanConfig(steps=2, adv_weight=0.0, **FAST))
    for a, b in zip(jax.tree.leaves(reports[-1].state["d"]), jax.tree.leaves(fresh["d"])):
        np.testing.assert_array_equal(a, b)                      # D untouched: the ablation's "Gram only"


def test_resume_equals_an_uninterrupted_run(tmp_path):
    whole = _run(S.StyleGanConfig(steps=4, **FAST), workdir=tmp_path / "whole")[-1]
    _run(S.StyleGanConfig(steps=2, **FAST), workdir=tmp_path / "half")
    resumed = _run(S.StyleGanConfig(steps=4, **FAST), workdir=tmp_path / "half", resume=True)
    assert [r.step for r in resumed] == [3, 4]
    for a, b in zip(jax.tree.leaves(resumed[-1].state), jax.tree.leaves(whole.state)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="other settings"):
        _run(S.StyleGanConfig(steps=4, **{**FAST, "d_width": 16}), workdir=tmp_path / "half", resume=True)
    with pytest.raises(FileExistsError, match="--resume"):
        _run(S.StyleGanConfig(steps=4, **FAST), workdir=tmp_path / "half")
    with pytest.raises(ValueError, match="not both"):            # a given state would be silently dropped
        _run(S.StyleGanConfig(steps=4, **FAST), workdir=tmp_path / "half", resume=True, state=whole.state)
    with pytest.raises(ValueError, match="needs the workdir"):
        _run(S.StyleGanConfig(steps=4, **FAST), workdir=None, resume=True)


def test_a_trained_state_paints_through_the_file_format(tmp_path):
    state = _run(S.StyleGanConfig(steps=1, **FAST), workdir=None)[-1].state
    path = style_generator.save_generator(state["g"], tmp_path / "waves.npz")
    photo = np.random.default_rng(0).random((20, 24, 3)).astype(np.float32)
    np.testing.assert_allclose(style_generator.stylize(style_generator.load_generator(path), photo),
                               style_generator.stylize(state["g"], photo), atol=2e-2)   # float16 weights


def test_camera_move_against_numpy():
    rng = np.random.default_rng(0)
    images = jnp.asarray(rng.random((2, 16, 20, 3), np.float32))
    same = S.camera_move(images, scale=jnp.float32(1.0), shift=jnp.zeros(2))
    np.testing.assert_allclose(np.asarray(same), np.asarray(images), atol=1e-6)
    moved = np.asarray(S.camera_move(images, scale=jnp.float32(1.0), shift=jnp.array([1.0, 2.0])))
    np.testing.assert_allclose(moved[:, 1:, 2:], np.asarray(images)[:, :-1, :-2], atol=1e-6)   # content moves down, right
    half = np.asarray(S.camera_move(images, scale=jnp.float32(1.0), shift=jnp.array([0.0, 0.5])))
    expected = (np.asarray(images)[:, :, 1:-1] + np.asarray(images)[:, :, :-2]) / 2          # bilinear: the mean
    np.testing.assert_allclose(half[:, :, 1:-1], expected, atol=1e-6)


def test_stability_loss_is_the_painting_against_its_moved_self():
    g = style_generator.init_generator(jax.random.key(0), width=16)
    photos = jnp.asarray(np.random.default_rng(1).random((2, 32, 32, 3), np.float32))
    paintings = style_generator.apply_generator(g, photos)
    key = jax.random.key(3)
    loss = float(S.stability_loss(g, photos, paintings, key))
    # The same move by hand: the key's draws, then both sides and the interior.
    k_shift, k_zoom = jax.random.split(key)
    shift = jax.random.uniform(k_shift, (2,), minval=-S.STABILITY_SHIFT, maxval=S.STABILITY_SHIFT)
    scale = 1.0 + jax.random.uniform(k_zoom, (), minval=-S.STABILITY_ZOOM, maxval=S.STABILITY_ZOOM)
    a = np.asarray(style_generator.apply_generator(g, S.camera_move(photos, scale=scale, shift=shift)), np.float64)
    b = np.asarray(S.camera_move(paintings, scale=scale, shift=shift), np.float64)
    m = S.STABILITY_MARGIN
    np.testing.assert_allclose(loss, np.mean(np.sum((a - b)[:, m:-m, m:-m] ** 2, -1)), rtol=1e-4)
    assert loss > 0                                             # an untrained G does not follow the camera
    with pytest.raises(ValueError, match="stability_weight"):
        S.StyleGanConfig(stability_weight=-1.0)


def test_stability_term_trains_and_a_run_starts_from_a_generator():
    config = S.StyleGanConfig(steps=2, stability_weight=100.0, **FAST)
    g = style_generator.init_generator(jax.random.key(7), width=16)
    state = S.state_from_generator(config, g)
    for a, b in zip(jax.tree.leaves(state["g"]), jax.tree.leaves(g)):
        np.testing.assert_array_equal(a, b)
    reports = _run(config, workdir=None, state=state)
    assert "stability" in reports[-1].metrics and np.isfinite(reports[-1].metrics["stability"])
    with pytest.raises(ValueError, match="width 16"):
        S.state_from_generator(S.StyleGanConfig(**{**FAST, "width": 32}), g)
