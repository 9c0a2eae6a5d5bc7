"""Checkers of the "write the loop" exercises: one step of ``D`` and one of ``G`` (notebook 05), and the
Gatys optimisation loop with ``jax.grad`` and optax (notebook 03).

Each checker runs the student's function on a problem small enough for the checker to compute the right
answer by hand in numpy (no autodiff, no optax): a linear ``D`` and ``G`` whose hinge-loss gradients are
written out, and a quadratic image loss whose Adam trajectory is written out. It prints one line
(:mod:`gantransfer.notebook.checking`) and never raises on a wrong answer. The reference solutions are in
:data:`gantransfer.notebook.exercises.SOLUTIONS`.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gantransfer.notebook.checking import Wrong, as_array, call_student, close, need_callable, report, scalar
from gantransfer.pipeline import discriminator


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


def _hinge_g_loss_fn(g_params, d_params, batch):
    """``L_G`` of the linear pair: the hinge generator loss ``−mean(D(G(z)))`` (``G``'s parameters first)."""

    return discriminator.g_loss(_linear_d(d_params, _linear_g(g_params, batch["z"])), kind="hinge")


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


def _hinge_g_grads(g, d, real, z):
    """``∂L_G/∂θ_G`` and ``∂L_G/∂θ_D`` of :func:`_hinge_g_loss_fn` (``L_G = −mean_j f_j``), by hand in numpy."""
    fake = z * g["w"] + g["b"]                                                  # [M, k]
    grad_g = {"w": -(z * d["w"]).mean(0), "b": np.float64(-d["w"].sum())}
    grad_d = {"w": -fake.mean(0), "b": np.float64(-1.0)}
    return grad_g, grad_d


#: The two players: the argument names, the loss and its hand-computed gradients (own, other's).
_PLAYERS = {
    "d_step": dict(me="D", other="G", loss=_hinge_d_loss_fn, grads=_hinge_grads),
    "g_step": dict(me="G", other="D", loss=_hinge_g_loss_fn, grads=_hinge_g_grads),
}


def _as_params(out, what: str, like: dict, me: str) -> dict:
    own = f"{me.lower()}_params"
    if not isinstance(out, dict) or set(out) != set(like):
        raise Wrong(f"{what} should be {me}'s parameters, a dict with keys {sorted(like)} like {own}; "
                     f"got {type(out).__name__}" + (f" with keys {sorted(out)}" if isinstance(out, dict) else ""))
    arrays = {k: as_array(v, f"{what}[{k!r}]") for k, v in out.items()}
    for k, v in arrays.items():
        if v.shape != np.shape(like[k]):
            raise Wrong(f"{what}[{k!r}] has shape {v.shape}; {me}'s parameter has shape {np.shape(like[k])}.")
    return arrays


def _params_close(a: dict, b: dict, rtol=1e-4, atol=1e-6) -> bool:
    return all(close(a[k], b[k], rtol=rtol, atol=atol) for k in b)


def _axpy(a: dict, scale: float, b: dict) -> dict:
    """``a + scale · b`` leaf by leaf (numpy, float64)."""
    return {k: np.asarray(a[k], np.float64) + scale * np.asarray(b[k], np.float64) for k in a}


def _unpack_step(out, me: str) -> tuple:
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        got = f"a {type(out).__name__} of {len(out)} items" if isinstance(out, (tuple, list)) else type(out).__name__
        raise Wrong(f"return three things, `return {me.lower()}_params, opt_state, loss` (the new parameters, the new "
                     f"optimiser state and the loss); you returned {got}.")
    return tuple(out)


def _check_step(name: str, fn: Callable) -> bool:
    """One update of one player: ``fn(own_params, opt_state, other_params, batch, loss_fn, optimizer)``."""
    if not need_callable(name, fn):
        return False
    player = _PLAYERS[name]
    me, other, loss_fn, grads_of = player["me"], player["other"], player["loss"], player["grads"]
    own_arg = f"{me.lower()}_params"

    def body():
        rng = np.random.default_rng(9)
        k = 3
        real = rng.normal(0.5, 1.0, (4, k))                                     # [N, k] "real samples"
        z = rng.normal(0.0, 1.0, (3, k))                                        # [M, k] G's inputs
        d0 = {"w": rng.normal(0.0, 0.7, k), "b": np.float64(0.1)}
        g0 = {"w": rng.normal(0.0, 1.0, k), "b": np.float64(-0.2)}
        own0, other0 = (d0, g0) if me == "D" else (g0, d0)
        as_jax = lambda p: {key: jnp.asarray(v, jnp.float32) for key, v in p.items()}
        batch = {"real": jnp.asarray(real, jnp.float32), "z": jnp.asarray(z, jnp.float32)}
        grad_own, grad_other = grads_of(own0, other0, real, z)
        loss0 = float(loss_fn(as_jax(own0), as_jax(other0), batch))

        # 1. Plain SGD: the update is -lr * gradient, checked against the hand-computed gradient.
        lr = 0.1
        sgd = optax.sgd(lr)
        out = _unpack_step(call_student(fn, as_jax(own0), sgd.init(as_jax(own0)), as_jax(other0), batch, loss_fn, sgd), me)
        new = _as_params(out[0], f"the {own_arg} you return", own0, me)
        want = _axpy(own0, -lr, grad_own)
        if not _params_close(new, want):
            where = "with optax.sgd(0.1) the new parameters are wrong"
            known = {
                f"they are the old parameters: you computed the update but never applied it; "
                f"`{own_arg} = optax.apply_updates({own_arg}, updates)`": own0,
                "they moved *uphill* (ascending the loss): optax's updates already point downhill, so add them "
                "with optax.apply_updates; do not subtract them or negate the gradient": _axpy(own0, lr, grad_own),
                f"you returned the updates, not the new parameters: `optax.apply_updates({own_arg}, updates)`":
                    _axpy({key: 0 * v for key, v in own0.items()}, -lr, grad_own),
                "you added the raw gradient (uphill, and without the learning rate): pass it through "
                "`optimizer.update` first": _axpy(own0, 1.0, grad_own),
                "you subtracted the raw gradient: pass it through `optimizer.update`, which applies the "
                "learning rate (and Adam's scaling)": _axpy(own0, -1.0, grad_own),
                f"you took the gradient with respect to {other}'s parameters (loss_fn's second argument): {me}'s step "
                f"differentiates with respect to {own_arg} only, `jax.value_and_grad(loss_fn)` (argnums=0)":
                    _axpy(own0, -lr, grad_other),
                f"you returned {other}'s parameters, updated: this is {me}'s step; {other} stays fixed while {me} learns":
                    _axpy(other0, -lr, grad_other),
                f"you applied {me}'s update to {other}'s parameters: `optax.apply_updates({own_arg}, updates)`":
                    _axpy(other0, -lr, grad_own),
                f"you returned {other}'s parameters: return {me}'s new parameters": other0,
            }
            for hint, value in known.items():
                if _params_close(new, value):
                    raise Wrong(f"{where}: {hint}.")
            shown = lambda p: {key: np.round(v, 4).tolist() for key, v in p.items()}
            raise Wrong(f"{where}: expected {own_arg} − 0.1 · ∂L_{me}/∂{own_arg} = {shown(want)}, got {shown(new)}.")
        loss = scalar(out[2])
        if not np.isclose(loss, loss0, rtol=1e-4, atol=1e-6):
            after = float(loss_fn(as_jax(want), as_jax(other0), batch))
            if np.isclose(loss, after, rtol=1e-4, atol=1e-6):
                raise Wrong(f"the loss you return ({loss:.6g}) is the loss *after* the update; return the one "
                             f"the gradient was taken at ({loss0:.6g}), as value_and_grad gives it.")
            if np.isclose(loss, -loss0, rtol=1e-4):
                raise Wrong(f"the loss you return has the wrong sign ({loss:.6g}, expected {loss0:.6g}).")
            raise Wrong(f"the loss you return is {loss:.6g}; expected loss_fn({own_arg}, "
                         f"{other.lower()}_params, batch) = {loss0:.6g}.")

        # 2. Two steps of AdamW on two batches: the optimiser state must be carried from one step to the
        #    next, and optimizer.update needs the parameters (weight decay reads them).
        adamw = optax.adamw(0.05, weight_decay=0.1)
        params, state = as_jax(own0), adamw.init(as_jax(own0))
        ref_params, ref_state = as_jax(own0), adamw.init(as_jax(own0))
        batches = [(real, z), (rng.normal(0.5, 1.0, (4, k)), rng.normal(0.0, 1.0, (3, k)))]
        for step, (real_i, z_i) in enumerate(batches, start=1):
            batch_i = {"real": jnp.asarray(real_i, jnp.float32), "z": jnp.asarray(z_i, jnp.float32)}
            try:
                out = _unpack_step(call_student(fn, params, state, as_jax(other0), batch_i, loss_fn, adamw), me)
            except Wrong as err:
                if "current value of parameters" in str(err):
                    raise Wrong(f"with optax.adamw, optimizer.update needs the parameters (its weight decay reads "
                                 f"them): `optimizer.update(grads, opt_state, {own_arg})`.") from None
                raise
            grads, _ = grads_of({key: np.asarray(v, np.float64) for key, v in ref_params.items()}, other0, real_i, z_i)
            updates, ref_state = adamw.update(as_jax(grads), ref_state, ref_params)
            ref_params = optax.apply_updates(ref_params, updates)
            new = _as_params(out[0], f"the {own_arg} you return", own0, me)
            if not _params_close(new, ref_params, rtol=1e-3, atol=1e-5):
                if step == 2 and jax.tree.structure(out[1]) == jax.tree.structure(state) and all(
                        np.array_equal(np.asarray(a), np.asarray(b))
                        for a, b in zip(jax.tree.leaves(out[1]), jax.tree.leaves(adamw.init(as_jax(own0))))):
                    raise Wrong("your first AdamW step is right but the second is not: you returned the old "
                                 "optimiser state, so Adam's moment estimates restart every step. Return the "
                                 "new one, `updates, opt_state = optimizer.update(...)`.")
                raise Wrong(f"with optax.adamw, step {step} gives different parameters from the reference step "
                             "(SGD was right: is the optimiser state carried over, and are the updates those "
                             "of optimizer.update?).")
            if jax.tree.structure(out[1]) != jax.tree.structure(state):
                raise Wrong(f"the opt_state you return does not have the optimiser's structure: return the new "
                             f"state from `updates, opt_state = optimizer.update(grads, opt_state, {own_arg})`.")
            params, state = out[0], out[1]

        # 3. It must trace under jit, as the library's steps do.
        try:
            jitted = jax.jit(lambda p, s: fn(p, s, as_jax(other0), batch, loss_fn, sgd))
            out = _unpack_step(jitted(as_jax(own0), sgd.init(as_jax(own0))), me)
        except Wrong:
            raise
        except Exception as err:  # a student's bug is reported, never propagated
            raise Wrong(f"your step does not run under jax.jit ({type(err).__name__}: {str(err).splitlines()[0]}): "
                         "keep it pure JAX (no float(), .item() or numpy on the traced values).") from None
        if not _params_close(_as_params(out[0], f"the {own_arg} you return under jit", own0, me), want):
            raise Wrong("under jax.jit your step gives different parameters than without it: keep it pure.")
        return (f"gradient of {me}'s loss w.r.t. {me}'s parameters only, optimizer.update, optax.apply_updates; the "
                "loss before the update; the new optimiser state carried over (checked against hand-computed "
                "gradients, with SGD and two AdamW steps).")

    return report(name, body)


def check_d_step(fn: Callable) -> bool:
    """Check ``fn(d_params, opt_state, g_params, batch, loss_fn, optimizer) -> (d_params, opt_state, loss)``:
    one update of the discriminator, on a tiny linear ``D`` and ``G`` whose gradients the checker computes
    by hand. It is the ``D`` half of every GAN step of the library (e.g. :func:`gantransfer.training.toy_gan.train_steps`):
    gradient of ``loss_fn`` with respect to ``D``'s parameters only, ``optimizer.update``, ``optax.apply_updates``."""
    return _check_step("d_step", fn)


def check_g_step(fn: Callable) -> bool:
    """Check ``fn(g_params, opt_state, d_params, batch, loss_fn, optimizer) -> (g_params, opt_state, loss)``:
    one update of the generator against a fixed ``D``, ``loss_fn`` = the hinge ``L_G = −mean(D(G(z)))``;
    the ``G`` half of the library's GAN steps, checked against hand-computed gradients."""
    return _check_step("g_step", fn)


# ---------------------------------------------------------------------------------------------------
# 03: the Gatys loop, written with jax.value_and_grad and optax.adam.

def _adam_by_hand(x0, target, weight, steps, lr, *, clip=True, reset=False, sgd=False, sign=1.0):
    """Adam (optax's defaults: b1 0.9, b2 0.999, eps 1e-8) on ``mean(weight · (x − target)²)``, in numpy.

    Returns ``(x, losses)``, each loss taken before its step. The switches give the usual mistakes.
    """
    x = np.asarray(x0, np.float64)
    m = v = np.zeros_like(x)
    losses, t = [], 0
    for _ in range(steps):
        losses.append(float(np.mean(weight * (x - target) ** 2)))
        g = 2 * weight * (x - target) / x.size
        if reset:
            m = v = np.zeros_like(x)
            t = 0
        t += 1
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g ** 2
        step = g if sgd else (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        x = x - sign * lr * step
        if clip:
            x = np.clip(x, 0.0, 1.0)
    return x, losses


def check_gatys_loop(fn: Callable) -> bool:
    """Check ``fn(loss_fn, image [1, H, W, 3], steps, learning_rate) -> (image, losses)``: ``steps`` Adam steps
    on the pixels with ``jax.value_and_grad(loss_fn)`` and ``optax.adam(learning_rate)``, the image clipped to
    [0, 1] after each, ``losses`` the ``steps`` values taken before each step — the loop inside
    :func:`gantransfer.methods.optimize.stylize_iter`. Checked against Adam written out in numpy on a
    quadratic loss whose minimum lies partly outside [0, 1]."""
    name = "gatys_loop"
    if not need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(10)
        shape = (1, 4, 5, 3)
        x0 = rng.uniform(0.2, 0.8, shape)
        target = rng.uniform(-0.4, 1.4, shape)                                 # partly outside [0, 1]
        weight = rng.uniform(0.5, 2.0, shape)
        t_j, w_j = jnp.asarray(target, jnp.float32), jnp.asarray(weight, jnp.float32)
        loss_fn = lambda x: jnp.mean(w_j * (x - t_j) ** 2)
        steps, lr = 6, 0.1
        out = call_student(fn, loss_fn, jnp.asarray(x0, jnp.float32), steps, lr)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Wrong("return two things, `return image, losses`: the image after the last step and the list of "
                         "losses, one per step.")
        image = as_array(out[0], "the image you return")
        if image.shape != shape:
            raise Wrong(f"the image you return has shape {image.shape}; the image passed in has shape {shape}.")
        losses = as_array(out[1], "the losses you return").ravel()
        want, want_losses = _adam_by_hand(x0, target, weight, steps, lr)
        if not close(image, want, rtol=1e-3, atol=1e-4):
            where = f"after {steps} steps of learning rate {lr} your image is not Adam's"
            known = {
                "the pixels left [0, 1]: clip the image after each step, `jnp.clip(image, 0.0, 1.0)`":
                    _adam_by_hand(x0, target, weight, steps, lr, clip=False)[0],
                "it moved *uphill*: optax's updates already point downhill, add them with optax.apply_updates":
                    _adam_by_hand(x0, target, weight, steps, lr, sign=-1.0)[0],
                "Adam's state restarts every step: create it once with optimizer.init(image) before the loop and "
                "carry the new state, `updates, opt_state = optimizer.update(grads, opt_state, image)`":
                    _adam_by_hand(x0, target, weight, steps, lr, reset=True)[0],
                "that is plain gradient descent (image − lr · grad): use optax.adam(learning_rate)":
                    _adam_by_hand(x0, target, weight, steps, lr, sgd=True)[0],
                f"one step too few: run the loop {steps} times": _adam_by_hand(x0, target, weight, steps - 1, lr)[0],
                f"one step too many: run the loop {steps} times": _adam_by_hand(x0, target, weight, steps + 1, lr)[0],
                "the image did not change: apply the updates, `image = optax.apply_updates(image, updates)`": x0,
            }
            for hint, value in known.items():
                if close(image, value, rtol=1e-3, atol=1e-4):
                    raise Wrong(f"{where}: {hint}.")
            raise Wrong(f"{where} (largest difference {np.abs(image - want).max():.3g}).")
        if losses.size != steps:
            raise Wrong(f"return one loss per step: {steps} numbers; you returned {losses.size}.")
        if not close(losses, want_losses, rtol=1e-3, atol=1e-6):
            if close(losses[:-1], want_losses[1:], rtol=1e-3, atol=1e-6):
                raise Wrong("your losses are those *after* each step; record the value value_and_grad returns, "
                             "the loss at the image the gradient was taken at.")
            raise Wrong(f"your losses {np.round(losses, 5).tolist()} differ from the loss before each step, "
                         f"{np.round(want_losses, 5).tolist()}.")
        return (f"{steps} Adam steps with jax.value_and_grad and optax, clipped to [0, 1], the loss before each "
                "step — the same numbers as Adam written out by hand.")

    return report(name, body)
