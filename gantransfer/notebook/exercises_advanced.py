"""Checkers of notebooks 04 and 05's exercises: AdaIN, the style mix, the hinge loss of ``D``, one ``D`` step.

Each ``check_<name>(fn)`` runs the student's function on small random inputs against the library's own
function and prints one line (:mod:`gantransfer.notebook.checking`); it never raises on a wrong answer.
The reference solutions are in :data:`gantransfer.notebook.exercises.SOLUTIONS`.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gantransfer.notebook.checking import Wrong, as_array, call_student, close, need_callable, report, scalar
from gantransfer.pipeline import discriminator, fusion


def check_adain(fn: Callable) -> bool:
    """Check ``fn(content [1, h, w, c], style [1, h', w', c]) -> [1, h, w, c]`` against
    :func:`gantransfer.pipeline.fusion.adain`: ``σ(s)·(c − μ(c))/σ(c) + μ(s)`` per channel, statistics over positions."""
    name = "adain"
    if not need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(6)
        for (h, w), (hs, ws), c in [((4, 6), (4, 6), 5), ((3, 3), (6, 5), 8)]:
            content = (rng.standard_normal((1, h, w, c)) * rng.uniform(0.5, 3, c) + rng.uniform(-2, 2, c))
            style = (rng.standard_normal((1, hs, ws, c)) * rng.uniform(0.2, 4, c) + rng.uniform(-3, 3, c))
            content, style = jnp.asarray(content, jnp.float32), jnp.asarray(style, jnp.float32)
            got = as_array(call_student(fn, content, style), "your fused features")
            want = np.asarray(fusion.adain(content, style), np.float64)
            where = f"for content {tuple(content.shape)} and style {tuple(style.shape)}"
            if got.shape != want.shape:
                if got.shape == tuple(style.shape):
                    raise Wrong(f"{where} you return shape {got.shape}, the style's: normalise the *content* "
                                 "and give it the style's statistics, not the other way round.")
                raise Wrong(f"{where} you return shape {got.shape}; expected the content's shape {want.shape}.")
            if close(got, want, rtol=1e-3, atol=1e-3):
                continue
            x, y = np.asarray(content, np.float64), np.asarray(style, np.float64)
            cm, cs = x.mean((1, 2), keepdims=True), x.std((1, 2), keepdims=True)
            sm, ss = y.mean((1, 2), keepdims=True), y.std((1, 2), keepdims=True)
            known = {
                "only the mean is matched: also divide by the content's std σ(c) and multiply by the style's σ(s)":
                    x - cm + sm,
                "you used the variance where the standard deviation belongs: σ = sqrt(var + eps)":
                    (x - cm) / cs ** 2 * ss ** 2 + sm,
                "you forgot to re-centre: add the style's mean μ(s) after scaling": (x - cm) / cs * ss,
                "you forgot to subtract the content's mean μ(c) before dividing by σ(c)": x / cs * ss + sm,
                "you normalised but did not apply the style's statistics: multiply by σ(s) and add μ(s)": (x - cm) / cs,
                "the content's and style's statistics are swapped: it is σ(s)·(c − μ(c))/σ(c) + μ(s)":
                    (x - sm) / ss * cs + cm,
                "you normalised the *style* and gave it the content's statistics; it is the other way round":
                    (y - sm) / ss * cs + cm,
            }
            for axes, what in [((3,), "over the channels (axis -1)"), ((1, 2, 3), "over all of h, w and c"),
                               ((1,), "over the rows only (axis 1)"), ((2,), "over the columns only (axis 2)")]:
                m, s_ = x.mean(axes, keepdims=True), x.std(axes, keepdims=True)
                n, t = y.mean(axes, keepdims=True), y.std(axes, keepdims=True)
                try:
                    known[f"you normalised {what}: AdaIN's statistics are per channel, over the positions "
                          "(axis=(1, 2))"] = (x - m) / s_ * t + n
                except ValueError:  # shapes that do not broadcast (rows/columns of different sizes)
                    continue
            for hint, value in known.items():
                if np.shape(value) == got.shape and close(got, value, rtol=1e-3, atol=1e-3):
                    raise Wrong(f"{where}: {hint}.")
            mean_ok = np.allclose(got.mean((1, 2)), sm.reshape(1, -1), atol=1e-3)
            std_ok = np.allclose(got.std((1, 2)), ss.reshape(1, -1), rtol=1e-2, atol=1e-3)
            detail = ("each channel has the style's mean and std, but the values differ: keep the content's "
                      "pattern, (c − μ(c))/σ(c), and only rescale it" if mean_ok and std_ok else
                      f"per-channel mean {'right' if mean_ok else 'wrong'}, std {'right' if std_ok else 'wrong'}")
            raise Wrong(f"{where} your result differs from AdaIN ({detail}). "
                         "AdaIN(c, s) = σ(s)·(c − μ(c))/σ(c) + μ(s), statistics per channel over positions.")
        return "σ(s)·(c − μ(c))/σ(c) + μ(s) per channel over positions, as in fusion.adain."

    return report(name, body)


def check_style_mix(fn: Callable) -> bool:
    """Check ``fn(content [N, h, w, c], fused (list of K [N, h, w, c]), weights (K floats), alpha) -> [N, h, w, c]``
    against :func:`gantransfer.pipeline.fusion.mix`: ``α · Σ_k w_k T_k / Σ_k w_k + (1 − α) · c``."""
    name = "style_mix"
    if not need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(7)
        cases = [((1, 3, 4, 5), [1.0], 1.0), ((1, 3, 4, 5), [1.0, 3.0], 0.6), ((2, 2, 3, 4), [2.0, 1.0, 1.0], 0.25),
                 ((1, 3, 3, 2), [0.0, 1.0], 0.0)]
        for shape, weights, alpha in cases:
            content = jnp.asarray(rng.standard_normal(shape), jnp.float32)
            fused = [jnp.asarray(rng.standard_normal(shape) * 2 + 1, jnp.float32) for _ in weights]
            got = as_array(call_student(fn, content, fused, list(weights), alpha), "your mixed features")
            want = np.asarray(fusion.mix(content, fused, weights=weights, alpha=alpha), np.float64)
            where = f"for {len(weights)} style(s) with weights {weights} and alpha = {alpha}"
            if got.shape != want.shape:
                raise Wrong(f"{where} you return shape {got.shape}; expected the content's shape {want.shape}.")
            if close(got, want, rtol=1e-4, atol=1e-5):
                continue
            c = np.asarray(content, np.float64)
            t = np.stack([np.asarray(f, np.float64) for f in fused])
            w = np.asarray(weights, np.float64)
            raw = np.tensordot(w, t, axes=1)
            normed = raw / w.sum()
            known = {
                "the weights are not normalised: divide them by their sum so that they add up to 1": alpha * raw + (1 - alpha) * c,
                "alpha is on the wrong side: α = 1 is all style, α · Σ w_k T_k + (1 − α) · content":
                    (1 - alpha) * normed + alpha * c,
                "you left out the content term (1 − α) · content": alpha * normed,
                "alpha is missing: scale the mix by α and add (1 − α) · content": normed,
                "you averaged the styles with equal weights: use the given weights": alpha * t.mean(0) + (1 - alpha) * c,
            }
            for hint, value in known.items():
                if close(got, value, rtol=1e-4, atol=1e-5):
                    raise Wrong(f"{where}: {hint}.")
            raise Wrong(f"{where} your result differs from α · Σ_k w_k T_k / Σ_k w_k + (1 − α) · content "
                         f"(largest difference {np.abs(got - want).max():.3g}).")
        return "α · Σ_k w_k T_k / Σ_k w_k + (1 − α) · content, as in fusion.mix."

    return report(name, body)


def check_hinge_d_loss(fn: Callable) -> bool:
    """Check ``fn(real_logits, fake_logits) -> scalar`` against :func:`gantransfer.pipeline.discriminator.d_loss`
    with ``kind="hinge"``: ``mean(relu(1 − D(real))) + mean(relu(1 + D(fake)))``."""
    name = "hinge_d_loss"
    if not need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(8)
        # Patch maps [N, h, w, 1] of different sizes for real and fake (a pooled mean is then not the
        # mean of the two means), logits on both sides of the margins ±1.
        for n_real, n_fake in [(2, 3), (3, 1)]:
            real = jnp.asarray(rng.normal(0.4, 1.5, (n_real, 3, 3, 1)), jnp.float32)
            fake = jnp.asarray(rng.normal(-0.3, 1.5, (n_fake, 3, 3, 1)), jnp.float32)
            got = scalar(call_student(fn, real, fake))
            want = float(discriminator.d_loss(real, fake, kind="hinge"))
            if np.isclose(got, want, rtol=1e-4, atol=1e-6):
                continue
            r, f = np.asarray(real, np.float64), np.asarray(fake, np.float64)
            relu = lambda x: np.maximum(x, 0.0)
            softplus = lambda x: np.logaddexp(0.0, x)
            where = f"for {n_real} real and {n_fake} fake patch maps you return {got:.6g}, expected {want:.6g}"
            known = {
                "wrong sign: D *minimises* its loss, which is never negative (0 once every real patch scores "
                "≥ +1 and every fake one ≤ −1); drop the minus": -want,
                "real and fake are swapped: real patches should score high, so the real term is relu(1 − D(real)) "
                "and the fake term relu(1 + D(fake))": np.mean(relu(1 - f)) + np.mean(relu(1 + r)),
                "the relu is missing: without it D is rewarded for pushing logits ever further (that is the "
                "Wasserstein critic's loss, plus 2); the hinge stops counting a patch once it is past its margin":
                    np.mean(1 - r) + np.mean(1 + f),
                "you summed over the patches: take the mean of each term (sum vs mean)":
                    np.sum(relu(1 - r)) + np.sum(relu(1 + f)),
                "you averaged real and fake patches together: take the mean of each term separately, then add":
                    np.mean(np.concatenate([relu(1 - r).ravel(), relu(1 + f).ravel()])),
                "you averaged the two terms: add them": (np.mean(relu(1 - r)) + np.mean(relu(1 + f))) / 2,
                "the fake term has the wrong sign: fakes should score ≤ −1, so it is relu(1 + D(fake))":
                    np.mean(relu(1 - r)) + np.mean(relu(1 - f)),
                "the real term has the wrong sign: reals should score ≥ +1, so it is relu(1 − D(real))":
                    np.mean(relu(1 + r)) + np.mean(relu(1 + f)),
                "the margin is missing: it is relu(1 − D(real)) and relu(1 + D(fake)), not relu(−D(real)) and "
                "relu(D(fake))": np.mean(relu(-r)) + np.mean(relu(f)),
                "only the real term: add mean(relu(1 + D(fake)))": np.mean(relu(1 - r)),
                "only the fake term: add mean(relu(1 − D(real)))": np.mean(relu(1 + f)),
                "that is the *generator's* hinge loss, −mean(D(fake)); the discriminator's has a term for each side":
                    -np.mean(f),
                "that is the non-saturating (ns) loss, softplus(−r) + softplus(f); the hinge uses relu(1 ∓ logit)":
                    np.mean(softplus(-r)) + np.mean(softplus(f)),
                "that is the least-squares (lsgan) loss; the hinge uses relu(1 ∓ logit)":
                    0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f ** 2),
            }
            for hint, value in known.items():
                if np.isclose(got, value, rtol=1e-4, atol=1e-6):
                    raise Wrong(f"{where}: {hint}.")
            raise Wrong(where + ". L_D = mean(relu(1 − D(real))) + mean(relu(1 + D(fake))).")
        chance = scalar(call_student(fn, jnp.zeros((2, 3, 3, 1)), jnp.zeros((2, 3, 3, 1))))
        if not np.isclose(chance, 2.0, rtol=1e-5):
            raise Wrong(f"when every logit is 0 (D at chance) the hinge loss is 1 + 1 = 2; you return {chance:.6g}.")
        sure = scalar(call_student(fn, jnp.full((2, 3, 3, 1), 1.5), jnp.full((2, 3, 3, 1), -1.5)))
        if not np.isclose(sure, 0.0, atol=1e-6):
            raise Wrong(f"when every real logit is ≥ 1 and every fake one ≤ −1, D has nothing left to learn: the "
                         f"loss is 0; you return {sure:.6g}.")
        return "mean(relu(1 − D(real))) + mean(relu(1 + D(fake))), as in discriminator.d_loss(kind='hinge')."

    return report(name, body)


def _linear_d(params, x):
    """The checker's tiny linear discriminator: ``[N, k] -> [N]`` logits ``x · w + b``."""
    return x @ params["w"] + params["b"]


def _linear_g(params, z):
    """The checker's tiny generator, with the same parameter structure as ``D``: ``[N, k] -> [N, k]``."""
    return z * params["w"] + params["b"]


def _hinge_d_loss_fn(d_params, g_params, batch):
    """``L_D`` of the linear pair: hinge loss of ``D`` on ``batch["real"]`` and on ``G(batch["z"])``."""

    fake = _linear_g(g_params, batch["z"])
    return discriminator.d_loss(_linear_d(d_params, batch["real"]), _linear_d(d_params, fake), kind="hinge")


def _hinge_grads(d, g, real, z):
    """``∂L_D/∂θ_D`` and ``∂L_D/∂θ_G`` of :func:`_hinge_d_loss_fn`, by hand in numpy (no autodiff)."""
    fake = z * g["w"] + g["b"]                                                  # [M, k]
    r, f = real @ d["w"] + d["b"], fake @ d["w"] + d["b"]                       # [N], [M]
    act_r, act_f = (1 - r > 0).astype(np.float64), (1 + f > 0).astype(np.float64)
    grad_d = {"w": -(act_r[:, None] * real).mean(0) + (act_f[:, None] * fake).mean(0),
              "b": np.float64(-act_r.mean() + act_f.mean())}
    # f_j = (z_j * w_g + b_g) · w_d + b_d: ∂f_j/∂w_g = z_j * w_d, ∂f_j/∂b_g = Σ w_d
    grad_g = {"w": (act_f[:, None] * z * d["w"]).mean(0), "b": np.float64(act_f.mean() * d["w"].sum())}
    return grad_d, grad_g


def _as_params(out, what: str, like: dict) -> dict:
    if not isinstance(out, dict) or set(out) != set(like):
        raise Wrong(f"{what} should be D's parameters, a dict with keys {sorted(like)} like d_params; "
                     f"got {type(out).__name__}" + (f" with keys {sorted(out)}" if isinstance(out, dict) else ""))
    arrays = {k: as_array(v, f"{what}[{k!r}]") for k, v in out.items()}
    for k, v in arrays.items():
        if v.shape != np.shape(like[k]):
            raise Wrong(f"{what}[{k!r}] has shape {v.shape}; D's parameter has shape {np.shape(like[k])}.")
    return arrays


def _params_close(a: dict, b: dict, rtol=1e-4, atol=1e-6) -> bool:
    return all(close(a[k], b[k], rtol=rtol, atol=atol) for k in b)


def _axpy(a: dict, scale: float, b: dict) -> dict:
    """``a + scale · b`` leaf by leaf (numpy, float64)."""
    return {k: np.asarray(a[k], np.float64) + scale * np.asarray(b[k], np.float64) for k in a}


def _unpack_step(out) -> tuple:
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        got = f"a {type(out).__name__} of {len(out)} items" if isinstance(out, (tuple, list)) else type(out).__name__
        raise Wrong(f"return three things, `return d_params, opt_state, loss` (the new parameters, the new "
                     f"optimiser state and the loss); you returned {got}.")
    return tuple(out)


def check_d_step(fn: Callable) -> bool:
    """Check ``fn(d_params, opt_state, g_params, batch, loss_fn, optimizer) -> (d_params, opt_state, loss)``:
    one update of the discriminator, on a tiny linear ``D`` and ``G`` whose gradients the checker computes
    by hand. The reference is the core of :func:`gantransfer.training.adversarial.d_step`: gradient of ``loss_fn``
    with respect to ``D``'s parameters only, ``optimizer.update``, ``optax.apply_updates``."""
    name = "d_step"
    if not need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(9)
        k = 3
        real = rng.normal(0.5, 1.0, (4, k))                                     # [N, k] "real samples"
        z = rng.normal(0.0, 1.0, (3, k))                                        # [M, k] G's inputs
        d0 = {"w": rng.normal(0.0, 0.7, k), "b": np.float64(0.1)}
        g0 = {"w": rng.normal(0.0, 1.0, k), "b": np.float64(-0.2)}
        as_jax = lambda p: {key: jnp.asarray(v, jnp.float32) for key, v in p.items()}
        batch = {"real": jnp.asarray(real, jnp.float32), "z": jnp.asarray(z, jnp.float32)}
        loss_fn = _hinge_d_loss_fn
        grad_d, grad_g = _hinge_grads(d0, g0, real, z)
        loss0 = float(loss_fn(as_jax(d0), as_jax(g0), batch))

        # 1. Plain SGD: the update is -lr * gradient, checked against the hand-computed gradient.
        lr = 0.1
        sgd = optax.sgd(lr)
        out = _unpack_step(call_student(fn, as_jax(d0), sgd.init(as_jax(d0)), as_jax(g0), batch, loss_fn, sgd))
        new = _as_params(out[0], "the d_params you return", d0)
        want = _axpy(d0, -lr, grad_d)
        if not _params_close(new, want):
            where = "with optax.sgd(0.1) the new parameters are wrong"
            known = {
                "they are the old parameters: you computed the update but never applied it; "
                "`d_params = optax.apply_updates(d_params, updates)`": d0,
                "they moved *uphill* (ascending the loss): optax's updates already point downhill, so add them "
                "with optax.apply_updates; do not subtract them or negate the gradient": _axpy(d0, lr, grad_d),
                "you returned the updates, not the new parameters: `optax.apply_updates(d_params, updates)`":
                    _axpy({key: 0 * v for key, v in d0.items()}, -lr, grad_d),
                "you added the raw gradient (uphill, and without the learning rate): pass it through "
                "`optimizer.update` first": _axpy(d0, 1.0, grad_d),
                "you subtracted the raw gradient: pass it through `optimizer.update`, which applies the "
                "learning rate (and Adam's scaling)": _axpy(d0, -1.0, grad_d),
                "you took the gradient with respect to G's parameters (loss_fn's second argument): D's step "
                "differentiates with respect to d_params only, `jax.value_and_grad(loss_fn)` (argnums=0)":
                    _axpy(d0, -lr, grad_g),
                "you returned G's parameters, updated: this is D's step; G stays fixed while D learns":
                    _axpy(g0, -lr, grad_g),
                "you applied D's update to G's parameters: `optax.apply_updates(d_params, updates)`":
                    _axpy(g0, -lr, grad_d),
                "you returned G's parameters: return D's new parameters": g0,
            }
            for hint, value in known.items():
                if _params_close(new, value):
                    raise Wrong(f"{where}: {hint}.")
            shown = lambda p: {key: np.round(v, 4).tolist() for key, v in p.items()}
            raise Wrong(f"{where}: expected d_params − 0.1 · ∂L_D/∂d_params = {shown(want)}, got {shown(new)}.")
        loss = scalar(out[2])
        if not np.isclose(loss, loss0, rtol=1e-4, atol=1e-6):
            after = float(loss_fn(as_jax(want), as_jax(g0), batch))
            if np.isclose(loss, after, rtol=1e-4, atol=1e-6):
                raise Wrong(f"the loss you return ({loss:.6g}) is the loss *after* the update; return the one "
                             f"the gradient was taken at ({loss0:.6g}), as value_and_grad gives it.")
            if np.isclose(loss, -loss0, rtol=1e-4):
                raise Wrong(f"the loss you return has the wrong sign ({loss:.6g}, expected {loss0:.6g}).")
            raise Wrong(f"the loss you return is {loss:.6g}; expected loss_fn(d_params, g_params, batch) = {loss0:.6g}.")

        # 2. Two steps of AdamW on two batches: the optimiser state must be carried from one step to the
        #    next, and optimizer.update needs the parameters (weight decay reads them).
        adamw = optax.adamw(0.05, weight_decay=0.1)
        params, state = as_jax(d0), adamw.init(as_jax(d0))
        ref_params, ref_state = as_jax(d0), adamw.init(as_jax(d0))
        batches = [(real, z), (rng.normal(0.5, 1.0, (4, k)), rng.normal(0.0, 1.0, (3, k)))]
        for step, (real_i, z_i) in enumerate(batches, start=1):
            batch_i = {"real": jnp.asarray(real_i, jnp.float32), "z": jnp.asarray(z_i, jnp.float32)}
            try:
                out = _unpack_step(call_student(fn, params, state, as_jax(g0), batch_i, loss_fn, adamw))
            except Wrong as err:
                if "current value of parameters" in str(err):
                    raise Wrong("with optax.adamw, optimizer.update needs the parameters (its weight decay reads "
                                 "them): `optimizer.update(grads, opt_state, d_params)`.") from None
                raise
            grads, _ = _hinge_grads({key: np.asarray(v, np.float64) for key, v in ref_params.items()}, g0, real_i, z_i)
            updates, ref_state = adamw.update(as_jax(grads), ref_state, ref_params)
            ref_params = optax.apply_updates(ref_params, updates)
            new = _as_params(out[0], "the d_params you return", d0)
            if not _params_close(new, ref_params, rtol=1e-3, atol=1e-5):
                if step == 2 and jax.tree.structure(out[1]) == jax.tree.structure(state) and all(
                        np.array_equal(np.asarray(a), np.asarray(b))
                        for a, b in zip(jax.tree.leaves(out[1]), jax.tree.leaves(adamw.init(as_jax(d0))))):
                    raise Wrong("your first AdamW step is right but the second is not: you returned the old "
                                 "optimiser state, so Adam's moment estimates restart every step. Return the "
                                 "new one, `updates, opt_state = optimizer.update(...)`.")
                raise Wrong(f"with optax.adamw, step {step} gives different parameters from the reference step "
                             "(SGD was right: is the optimiser state carried over, and are the updates those "
                             "of optimizer.update?).")
            if jax.tree.structure(out[1]) != jax.tree.structure(state):
                raise Wrong("the opt_state you return does not have the optimiser's structure: return the new "
                             "state from `updates, opt_state = optimizer.update(grads, opt_state, d_params)`.")
            params, state = out[0], out[1]

        # 3. It must trace under jit, as the library's step does.
        try:
            jitted = jax.jit(lambda p, s: fn(p, s, as_jax(g0), batch, loss_fn, sgd))
            out = _unpack_step(jitted(as_jax(d0), sgd.init(as_jax(d0))))
        except Wrong:
            raise
        except Exception as err:  # a student's bug is reported, never propagated
            raise Wrong(f"your step does not run under jax.jit ({type(err).__name__}: {str(err).splitlines()[0]}): "
                         "keep it pure JAX (no float(), .item() or numpy on the traced values).") from None
        if not _params_close(_as_params(out[0], "the d_params you return under jit", d0), want):
            raise Wrong("under jax.jit your step gives different parameters than without it: keep it pure.")
        return ("gradient of D's loss w.r.t. D's parameters only, optimizer.update, optax.apply_updates; the "
                "loss before the update; the new optimiser state carried over (checked against hand-computed "
                "gradients, with SGD and two AdamW steps).")

    return report(name, body)
