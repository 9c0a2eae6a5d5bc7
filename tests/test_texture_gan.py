"""The texture GAN (Spatial GAN): fully convolutional G, tileable with circular padding, a run that moves."""
import jax
import numpy as np
import pytest

from gantransfer.core import samples
from gantransfer.training import texture_gan as T

TINY = dict(crop=16, z_dim=4, width=8, d_layers=2, batch=2, steps=4, steps_per_call=2)


def test_generator_is_fully_convolutional():
    config = T.TextureGanConfig(**TINY)
    state = T.init_state(config)
    for side in (2, 5):
        out = T.generate(state["g"], T.noise_field(jax.random.key(0), 1, side, config.z_dim))
        assert out.shape == (1, 8 * side, 8 * side, 3) and 0 <= float(out.min()) and float(out.max()) <= 1


def test_circular_padding_tiles_and_reflect_does_not():
    """With circular padding G's output is a function on a torus: shifting the noise field by one cell
    shifts the texture by 8 px, wrapping around (so its tiles join without a seam)."""
    config = T.TextureGanConfig(**TINY)
    g = T.init_state(config)["g"]
    z = T.noise_field(jax.random.key(1), 1, 4, config.z_dim)
    shifted = jax.numpy.roll(z, 1, axis=2)
    wrap = lambda zz: np.asarray(T.generate(g, zz, padding="circular"))
    np.testing.assert_allclose(np.roll(wrap(z), 8, axis=2), wrap(shifted), atol=1e-5)
    refl = lambda zz: np.asarray(T.generate(g, zz, padding="reflect"))
    assert np.abs(np.roll(refl(z), 8, axis=2) - refl(shifted)).max() > 1e-3


def test_seam_ratio_against_numpy(rng):
    t = rng.random((8, 10, 3))
    inside = np.mean(np.concatenate([np.abs(np.diff(t, axis=0)).ravel(), np.abs(np.diff(t, axis=1)).ravel()]))
    across = np.mean(np.concatenate([np.abs(t[0] - t[-1]).ravel(), np.abs(t[:, 0] - t[:, -1]).ravel()]))
    assert T.seam_ratio(t.astype(np.float32)) == pytest.approx(across / inside, rel=1e-5)
    ramp = np.repeat(np.linspace(0, 1, 16)[None, :, None], 16, 0).repeat(3, 2).astype(np.float32)
    assert T.seam_ratio(ramp) > 5                        # a ramp has a hard seam where it wraps


def test_a_short_run_trains_and_continues_identically():
    style = samples.style_image("hatching", size=32)
    config = T.TextureGanConfig(**TINY)
    reports = list(T.train_texture_gan(style, config, sample_side=16))
    assert [r.step for r in reports] == [2, 4] and reports[-1].sample.shape == (16, 16, 3)
    assert not np.allclose(reports[0].sample, reports[-1].sample)             # G moved
    half = list(T.train_texture_gan(style, T.TextureGanConfig(**{**TINY, "steps": 2}), sample_side=16))[-1]
    resumed = list(T.train_texture_gan(style, config, state=half.state, sample_side=16))[-1]
    np.testing.assert_allclose(resumed.sample, reports[-1].sample, atol=1e-5)


@pytest.mark.parametrize("kwargs, match", [(dict(crop=20), "multiple of 8"), (dict(padding="zeros"), "padding"),
                                           (dict(r1_weight=-1.0), "r1_weight")])
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        T.TextureGanConfig(**kwargs)


def test_style_smaller_than_the_crop_is_refused():
    with pytest.raises(ValueError, match="smaller than the crop"):
        next(T.train_texture_gan(np.zeros((8, 8, 3), np.float32), T.TextureGanConfig(**TINY)))
