"""Checkers of notebooks 04 and 05's exercises: AdaIN, the style mix, the hinge loss of ``D``.

Each ``check_<name>(fn)`` runs the student's function on small random inputs against the library's own
function and prints one line (:mod:`gantransfer.notebook.checking`); it never raises on a wrong answer.
The reference solutions are in :data:`gantransfer.notebook.exercises.SOLUTIONS`.
"""
from __future__ import annotations

from typing import Callable

import jax.numpy as jnp
import numpy as np

from gantransfer.notebook.checking import Wrong, as_array, call_student, close, need_callable, report, scalar
from gantransfer.pipeline import discriminator, fusion


#: The library's own answers to these exercises, switched off while the student's function runs.
REFUSE: dict[str, tuple[Callable, ...]] = {
    "adain": (fusion.adain,),
    "style_mix": (fusion.mix,),
    "hinge_d_loss": (discriminator.d_loss,),
}


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
            got = as_array(call_student(fn, content, style, refuse=REFUSE["adain"]), "your fused features")
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
            got = as_array(call_student(fn, content, fused, list(weights), alpha, refuse=REFUSE["style_mix"]), "your mixed features")
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
            got = scalar(call_student(fn, real, fake, refuse=REFUSE["hinge_d_loss"]))
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
        chance = scalar(call_student(fn, jnp.zeros((2, 3, 3, 1)), jnp.zeros((2, 3, 3, 1)), refuse=REFUSE["hinge_d_loss"]))
        if not np.isclose(chance, 2.0, rtol=1e-5):
            raise Wrong(f"when every logit is 0 (D at chance) the hinge loss is 1 + 1 = 2; you return {chance:.6g}.")
        sure = scalar(call_student(fn, jnp.full((2, 3, 3, 1), 1.5), jnp.full((2, 3, 3, 1), -1.5), refuse=REFUSE["hinge_d_loss"]))
        if not np.isclose(sure, 0.0, atol=1e-6):
            raise Wrong(f"when every real logit is ≥ 1 and every fake one ≤ −1, D has nothing left to learn: the "
                         f"loss is 0; you return {sure:.6g}.")
        return "mean(relu(1 − D(real))) + mean(relu(1 + D(fake))), as in discriminator.d_loss(kind='hinge')."

    return report(name, body)
