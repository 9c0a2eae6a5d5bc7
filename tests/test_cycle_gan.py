"""CycleGAN between the photos and a family of procedural paintings, in fast mode."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gantransfer.pipeline import style_generator
from gantransfer.training import cycle_gan as C

FAST = dict(paintings=3, batch=2, crop=32, pool_side=32, width=16, d_patch=4, d_width=8)


def _reports(config, **kw):
    return list(C.train_cycle_gan(config, contents=["astronaut", "coffee"],
                                  sample_photo=np.full((20, 24, 3), 0.5, np.float32), report_every=1, **kw))


def test_config_is_checked():
    with pytest.raises(ValueError, match="family must be one of"):
        C.CycleGanConfig(family="photos")
    with pytest.raises(ValueError, match="a square"):
        C.CycleGanConfig(d_patch=8)
    with pytest.raises(ValueError, match="crop must be"):
        C.CycleGanConfig(crop=256, pool_side=128)


def test_family_pool_is_different_paintings_of_one_style():
    pool = C.family_pool(C.CycleGanConfig(family="hatching", paintings=3, pool_side=48, crop=32))
    assert len(pool) == 3 and all(p.shape == (48, 48, 3) and p.dtype == np.float32 for p in pool)
    assert np.abs(pool[0] - pool[1]).mean() > 0.01            # seeds 1 and 2: not the same picture


def test_cycle_loss_against_numpy():
    g = C.init_state(C.CycleGanConfig(**FAST))["g"]
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 16, 16, 3), np.float32), rng.random((2, 16, 16, 3), np.float32)
    run = lambda params, x: np.asarray(style_generator.apply_generator(params, jnp.asarray(x)), np.float64)
    expected = np.abs(run(g["ba"], run(g["ab"], a)) - a).mean() + np.abs(run(g["ab"], run(g["ba"], b)) - b).mean()
    np.testing.assert_allclose(float(C.cycle_loss(g, jnp.asarray(a), jnp.asarray(b))), expected, rtol=1e-4)


def test_fast_training_reports_and_continues_exactly():
    config = C.CycleGanConfig(steps=4, **FAST)
    whole = _reports(config)
    assert [r.step for r in whole] == [1, 2, 3, 4]
    assert set(whole[-1].metrics) == {"g_adv", "cycle", "identity", "d_a", "d_b"}
    assert all(np.isfinite(v) for v in whole[-1].metrics.values()) and whole[-1].sample.shape == (20, 24, 3)
    half = _reports(C.CycleGanConfig(steps=2, **FAST))[-1]
    resumed = _reports(config, state=half.state)
    assert [r.step for r in resumed] == [3, 4]
    for x, y in zip(jax.tree.leaves(resumed[-1].state), jax.tree.leaves(whole[-1].state)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)


def test_identity_loss_is_off_at_zero():
    state = C.init_state(C.CycleGanConfig(**FAST))
    rng = np.random.default_rng(1)
    a, b = (jnp.asarray(rng.random((2, 32, 32, 3), np.float32)) for _ in range(2))
    _, on = C.train_step(C.CycleGanConfig(**FAST), state, a, b)
    _, off = C.train_step(C.CycleGanConfig(identity_weight=0.0, **FAST), state, a, b)
    g = state["g"]
    run = lambda params, x: np.asarray(style_generator.apply_generator(params, x), np.float64)
    expected = np.abs(run(g["ab"], b) - np.asarray(b)).mean() + np.abs(run(g["ba"], a) - np.asarray(a)).mean()
    np.testing.assert_allclose(float(on["identity"]), expected, rtol=1e-4)
    assert float(off["identity"]) == 0.0 and float(off["cycle"]) == pytest.approx(float(on["cycle"]))
