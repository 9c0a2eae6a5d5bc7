"""Drive notebook 06's DistortionExplorer without a browser: set the controls, check what it computed and shows."""
import numpy as np
import pytest

from gantransfer.methods import distortions
from gantransfer.notebook import dashboards


def _photo(rng, h=32, w=40):
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([yy, xx, 0.5 * (yy + xx)], axis=-1)
    return np.clip(base + 0.05 * rng.random((h, w, 3)), 0, 1).astype(np.float32)


def _measure(x, y):
    # cheap stand-ins for LPIPS, SSIM and Gram: what matters is that the explorer reports what measure says
    return {"MSE": float(np.mean((x - y) ** 2)), "mean shift": float(abs(x.mean() - y.mean()))}


def test_explorer_follows_its_controls(rng):
    photo, other = _photo(rng), rng.random((20, 20, 3)).astype(np.float32)
    calls = []

    def measure(x, y):
        calls.append(x.shape)
        return _measure(x, y)

    explorer = dashboards.DistortionExplorer(photo, measure, relative=lambda m: {"MSE": m["MSE"] / 0.01},
                                             relative_name="× reference", other=other)
    assert explorer.kind.options == tuple(distortions.DISTORTIONS)
    assert (explorer.kind.value, explorer.strength.value) == ("tiles", 0.5)
    expected = distortions.distort(photo, "tiles", 0.5, other=other, seed=1)
    np.testing.assert_array_equal(explorer.image, expected)
    assert explorer.metrics == pytest.approx(_measure(expected, photo))
    assert explorer.relative_metrics == pytest.approx({"MSE": explorer.metrics["MSE"] / 0.01})
    assert explorer.png.startswith(b"\x89PNG") and explorer.view.value == explorer.png
    assert "× reference" in explorer.label.value and "tile" in explorer.label.value
    assert explorer.renders == 1 and calls == [photo.shape]

    explorer.strength.value = 0.0                      # no change at strength 0
    np.testing.assert_array_equal(explorer.image, photo)
    assert explorer.metrics["MSE"] == 0.0 and explorer.renders == 2

    explorer.kind.value = "blend"                      # a new kind redraws at the current strength (0)
    assert explorer.renders == 3
    explorer.strength.value = 1.0
    np.testing.assert_allclose(explorer.image, distortions.distort(photo, "blend", 1.0, other=other), atol=1e-6)
    assert explorer.metrics["MSE"] > 0 and explorer.error is None
    assert f"{explorer.metrics['MSE']:.3g}" in explorer.label.value


def test_a_failing_measure_is_shown_not_raised(rng):
    photo = _photo(rng)
    state = {"fail": False}

    def measure(x, y):
        if state["fail"]:
            raise ValueError("images too small for this metric")
        return _measure(x, y)

    explorer = dashboards.DistortionExplorer(photo, measure, kind="noise", strength=0.25)
    assert "blend" not in explorer.kind.options        # nothing to blend with
    before = explorer.metrics
    state["fail"] = True
    explorer.strength.value = 0.75                     # an observer's error goes to the status line
    assert explorer.error == "images too small for this metric"
    assert "too small" in explorer.status.value and explorer.metrics == before
    state["fail"] = False
    explorer.strength.value = 0.5                      # the next change that works clears it
    assert explorer.error is None and "⚠" not in explorer.status.value


def test_explorer_rejects_bad_settings(rng):
    photo = _photo(rng)
    with pytest.raises(ValueError, match="blend needs other"):
        dashboards.DistortionExplorer(photo, _measure, kinds=["noise", "blend"])
    with pytest.raises(ValueError, match="kind must be one of"):
        dashboards.DistortionExplorer(photo, _measure, kinds=["noise"], kind="tiles")
    with pytest.raises(ValueError, match="strength"):
        dashboards.DistortionExplorer(photo, _measure, strength=1.5)
    with pytest.raises(ValueError, match=r"\[H, W, 3\]"):
        dashboards.DistortionExplorer(photo[..., 0], _measure)
