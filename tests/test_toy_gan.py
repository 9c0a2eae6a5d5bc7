"""The toy GAN (a ring of 8 Gaussians): the positive control of adversarial training."""
import numpy as np
import pytest

from gantransfer.training import toy_gan as T


def _last(config):
    report = None
    for report in T.train_toy_gan(config, samples=1000):
        pass
    return report


def test_mode_coverage_counts_against_numpy():
    centres = T.mode_centres(modes=8, radius=2.0)
    rng = np.random.default_rng(0)
    points = np.concatenate([centres[:3].repeat(30, axis=0) + rng.normal(0, 0.01, (90, 2)),
                             rng.uniform(-0.5, 0.5, (10, 2))])                 # 3 modes, 10 points in the middle
    got = T.mode_coverage(points, std=0.05)
    assert got["covered"] == 3 and got["high_quality"] == pytest.approx(0.9)
    np.testing.assert_allclose(got["per_mode"], [0.3, 0.3, 0.3, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="points must be"):
        T.mode_coverage(np.zeros((4, 3)))


def test_ring_samples_sit_on_the_ring():
    import jax

    points = np.asarray(T.sample_ring(jax.random.key(0), 4000, std=0.05))
    assert T.mode_coverage(points, std=0.05)["covered"] == 8
    np.testing.assert_allclose(np.linalg.norm(points, axis=1).mean(), 2.0, atol=0.01)


def test_defaults_cover_at_least_seven_of_eight_modes():
    report = _last(T.ToyGanConfig(seed=0))
    assert report.coverage["covered"] >= 7 and report.coverage["high_quality"] > 0.3, report.coverage


def test_saturating_loss_stalls_where_the_non_saturating_learns():
    """Without R1, D soon tells real from fake; log(1 − D(G(z))) then has almost no gradient and G stays off the
    ring, while −log D(G(z)) brings G's points onto it (onto too few modes: mode collapse)."""
    plain = dict(r1_weight=0.0, steps=3000, seed=0)
    saturating, non_saturating = _last(T.ToyGanConfig(loss="saturating", **plain)), _last(T.ToyGanConfig(**plain))
    assert saturating.coverage["high_quality"] < 0.05
    assert non_saturating.coverage["high_quality"] > 0.5
    assert non_saturating.coverage["covered"] <= 4            # ... and drops modes without R1


def test_resume_equals_an_uninterrupted_run():
    config = T.ToyGanConfig(steps=300, steps_per_call=100, seed=3)
    whole = _last(config)
    half = _last(T.ToyGanConfig(steps=200, steps_per_call=100, seed=3))
    resumed = _last_from(config, half.state)
    np.testing.assert_allclose(resumed.samples, whole.samples, atol=1e-5)


def _last_from(config, state):
    report = None
    for report in T.train_toy_gan(config, state=state):
        pass
    return report


def test_decision_surface_shape_and_range():
    config = T.ToyGanConfig(steps=100)
    report = _last(config)
    surface = T.decision_surface(report.state, config, size=16)
    assert surface.shape == (16, 16) and 0 <= surface.min() and surface.max() <= 1


@pytest.mark.parametrize("kwargs, match", [(dict(loss="wasserstein"), "loss must be"), (dict(batch=0), "batch"),
                                           (dict(r1_weight=-1.0), "r1_weight"), (dict(beta1=1.0), "beta1")])
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        T.ToyGanConfig(**kwargs)


def test_every_preset_is_a_measured_row_of_the_table():
    """The presets of notebook 05 say what they show (e.g. "2/8 modes"): each is a variant measured by
    scripts/toy_gan_table.py (data/bench/toy_gan.json), so that claim is backed by a figure."""
    import json
    from pathlib import Path

    table = json.loads((Path(__file__).resolve().parent.parent / "data" / "bench" / "toy_gan.json").read_text())
    measured = {json.dumps(v["changes"], sort_keys=True): v for v in table["variants"].values()}
    for name, changes in T.PRESETS.items():
        assert json.dumps(changes, sort_keys=True) in measured, name
        T.ToyGanConfig(**changes)                               # and each makes a valid config
        covered = sorted(run["covered"] for run in measured[json.dumps(changes, sort_keys=True)]["runs"])
        claim = name.rsplit("(", 1)[1].split(" ")[0]            # "2/8", "0–1", "3–6", "8/8"
        low, high = (claim.split("/")[0],) * 2 if "/" in claim else claim.split("–")
        assert int(low) <= covered[0] and covered[-1] <= int(high), (name, covered)
