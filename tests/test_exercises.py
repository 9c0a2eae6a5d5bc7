"""The exercise checkers: reference solutions pass, typical mistakes are caught with the right message."""
import jax.numpy as jnp
import numpy as np
import pytest

from gantransfer.notebook import checking, exercises, exercises_advanced, exercises_questions, exercises_steps
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
    "covariance": (lambda f: (_flat(f) - _flat(f).mean(0)).T @ (_flat(f) - _flat(f).mean(0)) / (f.shape[0] * f.shape[1]),
                   "covariance"),
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
    "batch forgotten": (lambda f, p: jnp.sum((f - p) ** 2) / (f.shape[1] * f.shape[2] * f.shape[3]), "the batch has n"),
    "one number per image": (lambda f, p: jnp.mean((f - p) ** 2, axis=(1, 2, 3)), "single number"),
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


def test_adain_accepts_numpy_std(capsys):
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


def test_hinge_d_loss_accepts_numpy(capsys):
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


# One G step is the same code with the roles swapped (G's parameters first): _d_step's "other player" is D there.
G_STEP_MISTAKES = {**D_STEP_MISTAKES, "gradient of G": "with respect to D's parameters",
                   "G updated": "returned D's parameters, updated"}


@pytest.mark.parametrize("player, mistake", [(p, m) for p in ("d_step", "g_step") for m in sorted(D_STEP_MISTAKES)])
def test_step_mistakes(player, mistake, capsys):
    expected = (D_STEP_MISTAKES if player == "d_step" else G_STEP_MISTAKES)[mistake]
    ok, out = run(exercises.CHECKERS[player], _d_step(mistake), capsys)
    assert not ok and out.startswith(checking.WRONG) and expected in out, out


def test_d_step_right_answer_and_checker_gradients_match_autodiff(capsys):
    import jax

    ok, out = run(exercises_steps.check_d_step, _d_step(None), capsys)
    assert ok, out
    # the checker's hand-written gradients are what autodiff computes
    rng = np.random.default_rng(0)
    d = {"w": rng.normal(size=3), "b": np.float64(0.2)}
    g = {"w": rng.normal(size=3), "b": np.float64(-0.1)}
    real, z = rng.normal(0.5, 1.0, (4, 3)), rng.normal(size=(5, 3))
    batch = {"real": jnp.asarray(real, jnp.float32), "z": jnp.asarray(z, jnp.float32)}
    as_jax = lambda p: {k: jnp.asarray(v, jnp.float32) for k, v in p.items()}
    grad_d, grad_g = exercises_steps._hinge_grads(d, g, real, z)
    auto_d, auto_g = jax.grad(exercises_steps._hinge_d_loss_fn, argnums=(0, 1))(as_jax(d), as_jax(g), batch)
    for mine, auto in [(grad_d, auto_d), (grad_g, auto_g)]:
        for k in mine:
            np.testing.assert_allclose(mine[k], auto[k], rtol=1e-4, atol=1e-6)


# --- the library's own answer is not an answer -------------------------------------------------------

def _refuse_tables():
    return {**exercises.REFUSE, **exercises_advanced.REFUSE, **exercises_questions.REFUSE}


def _module_of(name):
    return next(m for m in (exercises, exercises_advanced, exercises_questions) if name in m.REFUSE)


def _delegations():
    from gantransfer.methods import judging
    from gantransfer.notebook import receptive
    from gantransfer.pipeline import discriminator, fusion

    return {
        "receptive_field": (receptive.receptive_field, lambda k, s: receptive.receptive_field(k, s)),
        "content_loss": (style.content_loss, lambda f, p: style.content_loss(f, p)),
        "gram_matrix": (style.gram_matrix, lambda f: style.gram_matrix(f)),
        "style_layer_loss": (style.gram_distance,
                             lambda f, a: style.style_loss({"x": f[None]}, {"x": a[None]}, layer_weights={"x": 1.0})),
        "tv_loss": (style.total_variation_loss, lambda x: style.total_variation_loss(x)),
        "style_loss": (style.style_loss, lambda feats, grams, w: style.style_loss(feats, grams, layer_weights=w)),
        "adain": (fusion.adain, lambda c, s: fusion.adain(c, s)),
        "style_mix": (fusion.mix, lambda c, f, w, a: fusion.mix(c, f, weights=w, alpha=a)),
        "hinge_d_loss": (discriminator.d_loss, lambda r, f: discriminator.d_loss(r, f, kind="hinge")),
        "style_ratio": (judging.style_ratio, lambda d, p, c, s: judging.style_ratio(None, p, c, s)),
    }


def test_every_refusing_exercise_has_a_delegation_test():
    assert set(_delegations()) == set(_refuse_tables())


@pytest.mark.parametrize("name", sorted(_delegations()))
def test_the_reference_itself_and_a_one_line_delegation_fail(name, capsys):
    reference, delegation = _delegations()[name]
    checker = exercises.CHECKERS[name]
    for answer in (reference, delegation):
        ok, out = run(checker, answer, capsys)
        assert not ok and out.startswith(checking.WRONG) and "the library's own answer" in out, out
    # The library works again afterwards, and the reference solution still passes.
    assert reference.__code__ is not checking._refused.__code__
    assert run(checker, exercises.solution_function(name), capsys)[0]


@pytest.mark.parametrize("name", sorted(set(_delegations()) - {"style_ratio"}))
def test_a_delegation_would_pass_without_the_refusal(name, capsys, monkeypatch):
    """The refusal, not some other check, is what fails a delegation: with it off, the delegation passes."""
    monkeypatch.setitem(_module_of(name).REFUSE, name, ())
    ok, out = run(exercises.CHECKERS[name], _delegations()[name][1], capsys)
    assert ok, out


def test_refusing_restores_the_code_after_an_error():
    before = style.gram_matrix.__code__
    with pytest.raises(checking.Delegated):
        with checking.refusing([style.gram_matrix]):
            style.gram_matrix(jnp.ones((2, 2, 3)))
    assert style.gram_matrix.__code__ is before
    np.testing.assert_allclose(style.gram_matrix(jnp.ones((2, 2, 3))), np.ones((3, 3)))


# --- g_step (notebook 05): its hand-written gradients ------------------------------------------------

def test_g_step_checker_gradients_match_autodiff():
    import jax

    rng = np.random.default_rng(1)
    g = {"w": rng.normal(size=3), "b": np.float64(-0.1)}
    d = {"w": rng.normal(size=3), "b": np.float64(0.2)}
    real, z = rng.normal(0.5, 1.0, (4, 3)), rng.normal(size=(5, 3))
    batch = {"real": jnp.asarray(real, jnp.float32), "z": jnp.asarray(z, jnp.float32)}
    as_jax = lambda p: {k: jnp.asarray(v, jnp.float32) for k, v in p.items()}
    mine = exercises_steps._hinge_g_grads(g, d, real, z)
    auto = jax.grad(exercises_steps._hinge_g_loss_fn, argnums=(0, 1))(as_jax(g), as_jax(d), batch)
    for m, a in zip(mine, auto):
        for k in m:
            np.testing.assert_allclose(m[k], a[k], rtol=1e-4, atol=1e-6)


# --- gatys_loop (notebook 03) -----------------------------------------------------------------------

def _gatys(mistake):
    import jax
    import optax

    def loop(loss_fn, image, steps, learning_rate):
        optimizer = optax.sgd(learning_rate) if mistake == "sgd" else optax.adam(learning_rate)
        opt_state = optimizer.init(image)
        losses = []
        for _ in range(steps - 1 if mistake == "one step short" else steps):
            if mistake == "state reset":
                opt_state = optimizer.init(image)
            loss, grads = jax.value_and_grad(loss_fn)(image)
            updates, opt_state = optimizer.update(grads, opt_state, image)
            new = image if mistake == "not applied" else (image - updates if mistake == "ascending"
                                                          else optax.apply_updates(image, updates))
            image = new if mistake == "no clip" else jnp.clip(new, 0.0, 1.0)
            losses.append(float(loss_fn(image)) if mistake == "losses after" else float(loss))
        return (image, losses) if mistake != "image only" else image

    return loop


GATYS_MISTAKES = {
    "no clip": "clip the image", "ascending": "uphill", "state reset": "restarts every step",
    "sgd": "plain gradient descent", "one step short": "one step too few", "not applied": "did not change",
    "losses after": "*after* each step", "image only": "return two things",
}


@pytest.mark.parametrize("mistake", sorted(GATYS_MISTAKES))
def test_gatys_loop_mistakes(mistake, capsys):
    ok, out = run(exercises_steps.check_gatys_loop, _gatys(mistake), capsys)
    assert not ok and out.startswith(checking.WRONG) and GATYS_MISTAKES[mistake] in out, out


def test_gatys_loop_checker_matches_optax():
    """The checker's Adam written out in numpy is optax.adam: the plain loop above passes."""
    ok = exercises_steps.check_gatys_loop(_gatys(None))
    assert ok


# --- the questions (00, 01, 02, 06) and the style ratio ----------------------------------------------

@pytest.mark.parametrize("name, answer, message", [
    ("reshape_counts", (20480, 4194304), "swapped"),
    ("reshape_counts", (256 * 256, 64 * 64 * 5), "256 · 256 · 64"),
    ("gram_size", 64 * 64, "counts positions"),
    ("gram_size", 1024, "one row per channel"),
    ("which_block", 5, "14 px"),
    ("which_block", 3, "end* of a block"),
    ("which_block", 2, "three poolings"),
    ("tiles_gram", "slightly changed", "a sum does not depend on the order"),
    ("tiles_gram", "maybe", "return one of"),
    ("repainted_ssim", "close to 1", "every stroke moved"),
])
def test_questions_explain_a_wrong_answer(name, answer, message, capsys):
    ok, out = run(exercises.CHECKERS[name], lambda: answer, capsys)
    assert not ok and out.startswith(checking.WRONG) and message in out, out


@pytest.mark.parametrize("fn, message", [
    (lambda d, p, c, s: d(c, s) / d(p, s), "upside down"),
    (lambda d, p, c, s: d(p, s) - d(c, s), "a difference"),
    (lambda d, p, c, s: d(p, c) / d(c, s), "against the *photo*"),
    (lambda d, p, c, s: d(p, s), "distance alone"),
])
def test_style_ratio_mistakes(fn, message, capsys):
    ok, out = run(exercises.CHECKERS["style_ratio"], fn, capsys)
    assert not ok and message in out, out


def test_style_ratio_reference_agrees_with_the_judge():
    """The exercise's ratio on the judge's own distance is judging.style_ratio (tiny images, VGG16)."""
    from gantransfer.core import samples
    from gantransfer.methods import judging
    from gantransfer.pipeline import extractor

    params = extractor.load_params()
    from gantransfer.core import resize

    photo = samples.content_image("chelsea", size=48)
    style_img = resize.resize_to(samples.style_image("waves"), judging.STYLE_SIDE, judging.STYLE_SIDE)  # as the judge sees it
    picture = 0.5 * photo + 0.5 * style_img.mean((0, 1))
    grams = lambda x: judging._grams(params, jnp.asarray(x)[None])
    distance = lambda a, b: judging._gram_distance(grams(a), grams(b))
    mine = exercises.solution_function("style_ratio")(distance, picture, photo, style_img)
    assert np.isclose(mine, judging.style_ratio(params, picture, photo, style_img), rtol=1e-4)
