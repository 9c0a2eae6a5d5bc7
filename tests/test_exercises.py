"""The exercise checkers: reference solutions pass, typical mistakes are caught with the right message."""
import jax.numpy as jnp
import numpy as np
import pytest

from gantransfer.notebook import checking, exercises, exercises_advanced
from gantransfer.pipeline import style


def run(checker, fn, capsys):
    ok = checker(fn)
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out  # one clear line
    return ok, out


@pytest.mark.parametrize("name", sorted(exercises.SOLUTIONS))
def test_reference_solutions_pass(name, capsys):
    ok, out = run(exercises.CHECKERS[name], exercises.solution_function(name), capsys)
    assert ok, out
    assert out.startswith(checking.RIGHT)


def test_solution_source_and_unknown_name():
    src = exercises.solution("gram_matrix")
    assert src.startswith("def my_gram(features):") and "return" in src
    with pytest.raises(ValueError, match="no exercise"):
        exercises.solution("nope")


@pytest.mark.parametrize("name", sorted(exercises.CHECKERS))
def test_stubs_are_not_done_yet(name, capsys):
    def raises(*args):
        raise NotImplementedError

    def ellipsis(*args):
        ...

    for stub in (raises, ellipsis):
        ok, out = run(exercises.CHECKERS[name], stub, capsys)
        assert not ok and out.startswith(checking.TODO) and "not done yet" in out


@pytest.mark.parametrize("name", sorted(exercises.CHECKERS))
def test_crash_and_non_callable_are_reported_not_raised(name, capsys):
    def crash(*args):
        return 1 / 0

    ok, out = run(exercises.CHECKERS[name], crash, capsys)
    assert not ok and "ZeroDivisionError" in out
    ok, out = run(exercises.CHECKERS[name], 42, capsys)
    assert not ok and "pass your function itself" in out


# --- gram_matrix ------------------------------------------------------------------------------------

def _flat(f):
    h, w, c = f.shape
    return f.reshape(h * w, c)


GRAM_MISTAKES = {
    "unnormalised": (lambda f: _flat(f).T @ _flat(f), "divide by the number of positions h·w"),
    "transposed (F Fᵀ)": (lambda f: _flat(f) @ _flat(f).T, "F·Fᵀ"),
    "divided by hwc": (lambda f: _flat(f).T @ _flat(f) / f.size, "h·w·c"),
    "scrambled reshape": (lambda f: f.reshape(f.shape[-1], -1) @ f.reshape(f.shape[-1], -1).T / (f.shape[0] * f.shape[1]),
                          "scrambled"),
    "covariance": (lambda f: style.covariance(f), "covariance"),
    "not symmetric": (lambda f: jnp.triu(_flat(f).T @ _flat(f)) / (f.shape[0] * f.shape[1]), "not symmetric"),
    "wrong shape": (lambda f: _flat(f), "expected (c, c)"),
}


@pytest.mark.parametrize("mistake", sorted(GRAM_MISTAKES))
def test_gram_mistakes(mistake, capsys):
    fn, message = GRAM_MISTAKES[mistake]
    ok, out = run(exercises.check_gram_matrix, fn, capsys)
    assert not ok and out.startswith(checking.WRONG) and message in out, out


def test_gram_accepts_numpy_style(capsys):
    def np_gram(features):
        f = np.asarray(features)
        h, w, c = f.shape
        flat = f.reshape(-1, c)
        return np.einsum("pi,pj->ij", flat, flat) / (h * w)

    assert run(exercises.check_gram_matrix, np_gram, capsys)[0]


# --- content_loss -----------------------------------------------------------------------------------

CONTENT_MISTAKES = {
    "sum instead of mean": (lambda f, p: jnp.sum((f - p) ** 2), "summed instead of averaging"),
    "absolute": (lambda f, p: jnp.mean(jnp.abs(f - p)), "absolute"),
    "square root": (lambda f, p: jnp.sqrt(jnp.mean((f - p) ** 2)), "square root"),
    "half": (lambda f, p: 0.5 * jnp.mean((f - p) ** 2), "½"),
    "not scalar": (lambda f, p: (f - p) ** 2, "scalar"),
    "negative": (lambda f, p: -jnp.mean((f - p) ** 2), "sign"),
    "mean over positions only": (lambda f, p: jnp.sum(jnp.mean((f - p) ** 2, axis=(0, 1, 2))), "summed over channels"),
}


@pytest.mark.parametrize("mistake", sorted(CONTENT_MISTAKES))
def test_content_loss_mistakes(mistake, capsys):
    fn, message = CONTENT_MISTAKES[mistake]
    ok, out = run(exercises.check_content_loss, fn, capsys)
    assert not ok and out.startswith(checking.WRONG) and message in out, out


# --- receptive_field --------------------------------------------------------------------------------

def _rf_no_stride(kernels, strides):
    return 1 + sum(k - 1 for k in kernels)


def _rf_early(kernels, strides):
    field, jump = 1, 1
    for k, s in zip(kernels, strides):
        jump *= s
        field += (k - 1) * jump
    return field


@pytest.mark.parametrize("fn, message", [
    (_rf_no_stride, "ignored the strides"),
    (lambda k, s: sum(k), "added the kernel sizes"),
    (_rf_early, "before using it"),
    (lambda k, s: exercises.solution_function("receptive_field")(k, s) + 1, "off by one"),
])
def test_receptive_field_mistakes(fn, message, capsys):
    ok, out = run(exercises.check_receptive_field, fn, capsys)
    assert not ok and message in out, out


# --- style_layer_loss, tv_loss, style_loss ----------------------------------------------------------

@pytest.mark.parametrize("fn, message", [
    (lambda f, a: jnp.sum((style.gram_matrix(f) - a) ** 2), "summed over the c² entries"),
    (lambda f, a: jnp.mean(jnp.abs(style.gram_matrix(f) - a)), "absolute"),
    (lambda f, a: jnp.linalg.norm(style.gram_matrix(f) - a), "square root"),
    (lambda f, a: jnp.mean((_flat(f).T @ _flat(f) - a) ** 2), "not normalised"),
])
def test_style_layer_loss_mistakes(fn, message, capsys):
    ok, out = run(exercises.check_style_layer_loss, fn, capsys)
    assert not ok and message in out, out


def _dy(x):
    return x[1:] - x[:-1]


def _dx(x):
    return x[:, 1:] - x[:, :-1]


@pytest.mark.parametrize("fn, message", [
    (lambda x: jnp.mean(_dy(x) ** 2) + jnp.mean(_dx(x) ** 2), "squared"),
    (lambda x: jnp.mean(jnp.abs(_dy(x))), "only used vertical"),
    (lambda x: jnp.mean(jnp.abs(_dx(x))), "only used horizontal"),
    (lambda x: (jnp.mean(jnp.abs(_dy(x))) + jnp.mean(jnp.abs(_dx(x)))) / 2, "averaged the two"),
    (lambda x: jnp.sum(jnp.abs(_dy(x))) + jnp.sum(jnp.abs(_dx(x))), "summed instead of averaging"),
    (lambda x: jnp.mean(jnp.abs(jnp.roll(x, 1, 0) - x)) + jnp.mean(jnp.abs(jnp.roll(x, 1, 1) - x)), "wrapped"),
])
def test_tv_mistakes(fn, message, capsys):
    ok, out = run(exercises.check_tv_loss, fn, capsys)
    assert not ok and message in out, out


def _layer(f, a):
    return jnp.mean((style.gram_matrix(f) - a) ** 2)


@pytest.mark.parametrize("fn, message", [
    (lambda feats, grams, w: sum(_layer(feats[k], grams[k]) for k in w), "ignored the layer weights"),
    (lambda feats, grams, w: sum(v * _layer(feats[k], grams[k]) for k, v in w.items()) / len(w), "averaged over layers"),
    (lambda feats, grams, w: sum(w.get(k, 1.0) * _layer(feats[k], grams[k]) for k in grams), "only the layers listed"),
])
def test_style_loss_mistakes(fn, message, capsys):
    ok, out = run(exercises.check_style_loss, fn, capsys)
    assert not ok and message in out, out


# --- the references the checkers use ---------------------------------------------------------------

def test_receptive_field_reference_matches_known_vgg16_values():
    from gantransfer.notebook import receptive

    rf = {row["layer"]: row["receptive_field"] for row in receptive.vgg16_table(224)}
    # The standard values for VGG16 (e.g. conv5_3 sees 196 px, pool5 212 px).
    assert (rf["conv1_1"], rf["conv1_2"], rf["pool1"], rf["conv3_3"], rf["conv5_3"], rf["pool5"]) == (3, 5, 6, 40, 196, 212)
    row = receptive.vgg16_table(224, layers=("relu4_2",))[0]
    assert row["shape"] == (28, 28, 512) and row["stride"] == 8
    assert sum(r["parameters"] for r in receptive.vgg16_table(224)) == 14_714_688
    assert "<table>" in receptive.table_html(receptive.vgg16_table(64), highlight=("relu1_1",))
    with pytest.raises(ValueError, match="strides"):
        receptive.receptive_field([3, 3], [1])


# --- adain (notebook 04) -----------------------------------------------------------------------------

def _m(x, axes=(1, 2)):
    return x.mean(axes, keepdims=True)


def _s(x, axes=(1, 2)):
    return jnp.sqrt(x.var(axes, keepdims=True) + 1e-5)


ADAIN_MISTAKES = {
    "mean only": (lambda c, s: c - _m(c) + _m(s), "only the mean is matched"),
    "variance for std": (lambda c, s: (c - _m(c)) / c.var((1, 2), keepdims=True) * s.var((1, 2), keepdims=True) + _m(s),
                         "variance where the standard deviation"),
    "not re-centred": (lambda c, s: (c - _m(c)) / _s(c) * _s(s), "forgot to re-centre"),
    "content mean kept": (lambda c, s: c / _s(c) * _s(s) + _m(s), "subtract the content's mean"),
    "channel axis": (lambda c, s: (c - _m(c, -1)) / _s(c, -1) * _s(s, -1) + _m(s, -1), "over the channels"),
    "all axes": (lambda c, s: (c - _m(c, (1, 2, 3))) / _s(c, (1, 2, 3)) * _s(s, (1, 2, 3)) + _m(s, (1, 2, 3)),
                 "over all of h, w and c"),
    "statistics swapped": (lambda c, s: (c - _m(s)) / _s(s) * _s(c) + _m(c), "swapped"),
    "style normalised": (lambda c, s: (s - _m(s)) / _s(s) * _s(c) + _m(c), "normalised the *style*"),
    "normalised only": (lambda c, s: (c - _m(c)) / _s(c), "did not apply the style's statistics"),
    "identity": (lambda c, s: c, "differs from AdaIN"),
}


@pytest.mark.parametrize("mistake", sorted(ADAIN_MISTAKES))
def test_adain_mistakes(mistake, capsys):
    fn, message = ADAIN_MISTAKES[mistake]
    ok, out = run(exercises_advanced.check_adain, fn, capsys)
    assert not ok and out.startswith(checking.WRONG) and message in out, out


def test_adain_accepts_library_and_numpy_std(capsys):
    from gantransfer.pipeline import fusion

    ok, out = run(exercises_advanced.check_adain, lambda c, s: fusion.adain(c, s), capsys)
    assert ok, out
    np_std = lambda c, s: (c - _m(c)) / np.std(c, axis=(1, 2), keepdims=True) * np.std(s, axis=(1, 2), keepdims=True) + _m(s)
    ok, out = run(exercises_advanced.check_adain, np_std, capsys)
    assert ok, out


# --- style_mix (notebook 04) -------------------------------------------------------------------------

def _wsum(fused, weights):
    return sum(w * t for w, t in zip(weights, fused))


MIX_MISTAKES = {
    "weights not normalised": (lambda c, f, w, a: a * _wsum(f, w) + (1 - a) * c, "not normalised"),
    "alpha swapped": (lambda c, f, w, a: (1 - a) * _wsum(f, w) / sum(w) + a * c, "wrong side"),
    "no content term": (lambda c, f, w, a: a * _wsum(f, w) / sum(w), "left out the content term"),
    "no alpha": (lambda c, f, w, a: _wsum(f, w) / sum(w), "alpha is missing"),
    "equal weights": (lambda c, f, w, a: a * sum(f) / len(f) + (1 - a) * c, "equal weights"),
    "first style only": (lambda c, f, w, a: a * f[0] + (1 - a) * c, "differs from"),
}


@pytest.mark.parametrize("mistake", sorted(MIX_MISTAKES))
def test_style_mix_mistakes(mistake, capsys):
    fn, message = MIX_MISTAKES[mistake]
    ok, out = run(exercises_advanced.check_style_mix, fn, capsys)
    assert not ok and out.startswith(checking.WRONG) and message in out, out


def test_style_mix_accepts_the_library(capsys):
    from gantransfer.pipeline import fusion

    ok, out = run(exercises_advanced.check_style_mix, lambda c, f, w, a: fusion.mix(c, f, weights=w, alpha=a), capsys)
    assert ok, out


# --- hinge_d_loss (notebook 05) ----------------------------------------------------------------------

def _relu(x):
    return jnp.maximum(x, 0.0)


HINGE_MISTAKES = {
    "wrong sign": (lambda r, f: -(jnp.mean(_relu(1 - r)) + jnp.mean(_relu(1 + f))), "wrong sign"),
    "real and fake swapped": (lambda r, f: jnp.mean(_relu(1 - f)) + jnp.mean(_relu(1 + r)), "swapped"),
    "missing relu": (lambda r, f: jnp.mean(1 - r) + jnp.mean(1 + f), "relu is missing"),
    "sum instead of mean": (lambda r, f: jnp.sum(_relu(1 - r)) + jnp.sum(_relu(1 + f)), "sum vs mean"),
    "pooled mean": (lambda r, f: jnp.mean(jnp.concatenate([_relu(1 - r).ravel(), _relu(1 + f).ravel()])),
                    "averaged real and fake patches together"),
    "terms averaged": (lambda r, f: (jnp.mean(_relu(1 - r)) + jnp.mean(_relu(1 + f))) / 2, "averaged the two terms"),
    "fake term sign": (lambda r, f: jnp.mean(_relu(1 - r)) + jnp.mean(_relu(1 - f)), "fake term has the wrong sign"),
    "real term sign": (lambda r, f: jnp.mean(_relu(1 + r)) + jnp.mean(_relu(1 + f)), "real term has the wrong sign"),
    "no margin": (lambda r, f: jnp.mean(_relu(-r)) + jnp.mean(_relu(f)), "margin is missing"),
    "real term only": (lambda r, f: jnp.mean(_relu(1 - r)), "only the real term"),
    "fake term only": (lambda r, f: jnp.mean(_relu(1 + f)), "only the fake term"),
    "generator's loss": (lambda r, f: -jnp.mean(f), "generator's"),
    "non-saturating loss": (lambda r, f: jnp.mean(jnp.logaddexp(0, -r)) + jnp.mean(jnp.logaddexp(0, f)),
                            "non-saturating"),
    "least squares loss": (lambda r, f: 0.5 * jnp.mean((r - 1) ** 2) + 0.5 * jnp.mean(f ** 2), "least-squares"),
    "not reduced": (lambda r, f: _relu(1 - r) + jnp.mean(_relu(1 + f)), "single number"),
    "something else": (lambda r, f: jnp.mean(_relu(2 - r)) + jnp.mean(_relu(1 + f)), "mean(relu(1 − D(real)))"),
}


@pytest.mark.parametrize("mistake", sorted(HINGE_MISTAKES))
def test_hinge_d_loss_mistakes(mistake, capsys):
    fn, message = HINGE_MISTAKES[mistake]
    ok, out = run(exercises_advanced.check_hinge_d_loss, fn, capsys)
    assert not ok and out.startswith(checking.WRONG) and message in out, out


def test_hinge_d_loss_accepts_the_library_and_numpy(capsys):
    from gantransfer.pipeline import discriminator

    ok, out = run(exercises_advanced.check_hinge_d_loss, lambda r, f: discriminator.d_loss(r, f, kind="hinge"), capsys)
    assert ok, out
    numpy_style = lambda r, f: np.maximum(0, 1 - np.asarray(r)).mean() + np.maximum(0, 1 + np.asarray(f)).mean()
    ok, out = run(exercises_advanced.check_hinge_d_loss, numpy_style, capsys)
    assert ok, out


# --- d_step (notebook 05) ----------------------------------------------------------------------------

def _d_step(mistake):
    """A discriminator step with one named mistake (``None``: right)."""
    import jax
    import optax

    def step(d, opt_state, g, batch, loss_fn, optimizer):
        wrt_g = mistake in ("gradient of G", "G updated")
        loss, grads = jax.value_and_grad(loss_fn, argnums=1 if wrt_g else 0)(d, g, batch)
        if mistake == "raw gradient added":
            return optax.apply_updates(d, grads), opt_state, loss
        if mistake == "no params to update":
            updates, new_state = optimizer.update(grads, opt_state)
        else:
            updates, new_state = optimizer.update(grads, opt_state, g if mistake == "G updated" else d)
        if mistake == "ascending":
            return jax.tree.map(lambda p, u: p - u, d, updates), new_state, loss
        if mistake == "updates not applied":
            return d, new_state, loss
        if mistake == "updates returned":
            return updates, new_state, loss
        if mistake == "G updated":
            return optax.apply_updates(g, updates), new_state, loss
        new = optax.apply_updates(d, updates)
        if mistake == "old optimiser state":
            return new, opt_state, loss
        if mistake == "loss after the update":
            return new, new_state, loss_fn(new, g, batch)
        if mistake == "two outputs":
            return new, new_state
        if mistake == "python float":
            return new, new_state, float(loss)
        return new, new_state, loss

    return step


D_STEP_MISTAKES = {
    "ascending": "uphill",
    "updates not applied": "never applied",
    "updates returned": "returned the updates",
    "raw gradient added": "raw gradient",
    "gradient of G": "with respect to G's parameters",
    "G updated": "returned G's parameters, updated",
    "old optimiser state": "old optimiser state",
    "no params to update": "needs the parameters",
    "loss after the update": "*after* the update",
    "two outputs": "return three things",
    "python float": "jax.jit",
}


@pytest.mark.parametrize("mistake", sorted(D_STEP_MISTAKES))
def test_d_step_mistakes(mistake, capsys):
    ok, out = run(exercises_advanced.check_d_step, _d_step(mistake), capsys)
    assert not ok and out.startswith(checking.WRONG) and D_STEP_MISTAKES[mistake] in out, out


def test_d_step_right_answer_and_checker_gradients_match_autodiff(capsys):
    import jax

    ok, out = run(exercises_advanced.check_d_step, _d_step(None), capsys)
    assert ok, out
    # the checker's hand-written gradients are what autodiff computes
    rng = np.random.default_rng(0)
    d = {"w": rng.normal(size=3), "b": np.float64(0.2)}
    g = {"w": rng.normal(size=3), "b": np.float64(-0.1)}
    real, z = rng.normal(0.5, 1.0, (4, 3)), rng.normal(size=(5, 3))
    batch = {"real": jnp.asarray(real, jnp.float32), "z": jnp.asarray(z, jnp.float32)}
    as_jax = lambda p: {k: jnp.asarray(v, jnp.float32) for k, v in p.items()}
    grad_d, grad_g = exercises_advanced._hinge_grads(d, g, real, z)
    auto_d, auto_g = jax.grad(exercises_advanced._hinge_d_loss_fn, argnums=(0, 1))(as_jax(d), as_jax(g), batch)
    for mine, auto in [(grad_d, auto_d), (grad_g, auto_g)]:
        for k in mine:
            np.testing.assert_allclose(mine[k], auto[k], rtol=1e-4, atol=1e-6)
