"""plots.LiveFigure without a kernel (IPython's display is replaced by a recorder), and patch_logits_figure."""
import types

import IPython
import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from gantransfer.notebook import plots

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing a backend that needs no screen)


class Recorder:
    """Stands in for IPython.display.display: records what is shown, and every update of the handle."""

    def __init__(self):
        self.shown, self.updated = [], []

    def __call__(self, obj, display_id=None):
        assert display_id is True, "a live figure must ask for a display id"
        self.shown.append(obj)
        recorder = self

        class Handle:
            def update(self, new):
                recorder.updated.append(new)

        return Handle()


@pytest.fixture
def kernel(monkeypatch):
    """Pretend to run in IPython: get_ipython() is a shell (pyplot registers an event hook on it), display() records."""
    recorder = Recorder()
    shell = types.SimpleNamespace(events=types.SimpleNamespace(register=lambda *args: None))
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    monkeypatch.setattr(plt, "_REPL_DISPLAYHOOK", plt._REPL_DISPLAYHOOK)   # restored afterwards: the shell is fake
    monkeypatch.setattr("IPython.display.display", recorder)
    return recorder


def _draw(step):
    fig = Figure()
    fig.suptitle(f"step {step}")
    return fig


def test_first_update_displays_the_next_ones_update_in_place(kernel):
    with plots.LiveFigure(_draw) as live:
        assert live.figure is None and kernel.shown == []
        first = live.update(0)
        assert kernel.shown == [first] and kernel.updated == []
        second = live.update(step=1)
        third = live.update(2)
    assert kernel.shown == [first] and kernel.updated == [second, third]
    assert live.figure is third and live.updates == 3
    assert third.get_suptitle() == "step 2"


def test_placeholder_then_updates(kernel):
    live = plots.LiveFigure(_draw, placeholder="measuring…")
    assert kernel.shown == ["measuring…"] and live.figure is None
    fig = live.update(5)
    assert kernel.updated == [fig]


def test_without_draw_update_shows_its_argument(kernel):
    live = plots.LiveFigure()
    live.update("a table")
    live.update("a longer table")
    assert kernel.shown == ["a table"] and kernel.updated == ["a longer table"]
    with pytest.raises(TypeError):
        live.update("two", "things")


def test_outside_ipython_nothing_is_shown_but_draw_runs(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    monkeypatch.setattr("IPython.display.display", recorder)
    with plots.LiveFigure(_draw, placeholder="starting") as live:
        for step in range(3):
            live.update(step)
    assert recorder.shown == [] and recorder.updated == []
    assert live.updates == 3 and live.figure.get_suptitle() == "step 2"


def test_pyplot_figures_are_closed_once_replaced_and_at_the_end(kernel):
    def draw(step):
        fig = plt.figure()
        fig.suptitle(str(step))
        return fig

    with plots.LiveFigure(draw) as live:
        first = live.update(0)
        assert plt.fignum_exists(first.number)
        second = live.update(1)
        assert not plt.fignum_exists(first.number) and plt.fignum_exists(second.number)
    assert not plt.fignum_exists(second.number)


def test_a_figure_redrawn_in_place_is_not_closed_until_the_end(kernel):
    fig = plt.figure()
    ax = fig.subplots()

    def draw(values):
        ax.clear()
        ax.plot(values)
        return fig

    with plots.LiveFigure(draw) as live:
        live.update([1, 2])
        live.update([1, 2, 3])
        assert plt.fignum_exists(fig.number)
    assert not plt.fignum_exists(fig.number)
    assert kernel.shown == [fig] and kernel.updated == [fig]


def test_patch_logits_figure():
    rng = np.random.default_rng(0)
    real, fake = rng.random((16, 16, 3)), rng.random((16, 16, 3)) * 1.5 - 0.2
    real_logits, fake_logits = rng.normal(size=(2, 3, 3, 1)), rng.normal(size=(2, 3, 3, 1)) - 1
    fig = plots.patch_logits_figure(real, real_logits, fake, fake_logits, title="D at step 0")
    assert fig.get_suptitle() == "D at step 0"
    assert len(fig.axes) == 5                                # two images, two maps, one colour bar
    maps = [ax.images[0] for ax in fig.axes[1:4:2]]
    m = max(np.abs(real_logits).max(), np.abs(fake_logits).max())
    for image, logits in zip(maps, (real_logits, fake_logits)):
        np.testing.assert_allclose(image.get_array(), logits[0, ..., 0], rtol=1e-6)
        assert image.get_clim() == pytest.approx((-m, m))    # one scale, symmetric about 0
    assert f"{fake_logits.mean():+.2f}" in fig.axes[3].get_title()
    with pytest.raises(ValueError, match="real_logits must be"):
        plots.patch_logits_figure(real, real_logits[..., 0], fake, fake_logits, title="x")
