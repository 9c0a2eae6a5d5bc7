"""Checkers for the notebooks' exercise cells: run the student's function on small random inputs.

Each ``check_<name>(fn)`` calls ``fn`` on a few small random inputs, compares the result with the library's
own function (the reference), prints one clear line — ``✔`` right, ``✘`` wrong and *why* (wrong shape, a
missing normalisation, a sum where a mean belongs, …), or ``…`` not done yet — and returns ``True`` or
``False``. It never raises on a wrong answer: a student's exception is reported, not propagated.

``solution(name)`` returns the source of a reference solution (for the teacher, or after trying).

| exercise | notebook | reference |
| --- | --- | --- |
| ``receptive_field`` | 01 | :func:`gantransfer.receptive.receptive_field` |
| ``content_loss`` | 01 | :func:`gantransfer.style.content_loss` |
| ``gram_matrix`` | 02 | :func:`gantransfer.style.gram_matrix` |
| ``style_layer_loss`` | 02 | :func:`gantransfer.style.gram_distance` |
| ``tv_loss`` | 03 | :func:`gantransfer.style.total_variation_loss` |
| ``style_loss`` | 03 | :func:`gantransfer.style.style_loss` |
| ``adain`` | 04 | :func:`gantransfer.fusion.adain` |
| ``style_mix`` | 04 | :func:`gantransfer.fusion.mix` |
| ``hinge_d_loss`` | 05 | :func:`gantransfer.discriminator.d_loss` (``kind="hinge"``) |
| ``d_step`` | 05 | :func:`gantransfer.adversarial.d_step` (its core, on a tiny linear ``D``) |
"""
from __future__ import annotations

import textwrap
from typing import Any, Callable

import jax.numpy as jnp
import numpy as np

from . import receptive, style

RIGHT, WRONG, TODO = "✔", "✘", "…"

#: Reference solutions, as a student would write them (shown by :func:`solution`).
SOLUTIONS: dict[str, str] = {
    "receptive_field": '''
        def my_receptive_field(kernels, strides):
            field, jump = 1, 1                 # one input pixel; neighbours are 1 px apart
            for k, s in zip(kernels, strides):
                field += (k - 1) * jump        # k positions of this layer span (k - 1) jumps more
                jump *= s                      # after a stride s, neighbours are s times further apart
            return field
    ''',
    "content_loss": '''
        def my_content_loss(features, target):
            return jnp.mean((features - target) ** 2)    # mean over n, h, w and c
    ''',
    "gram_matrix": '''
        def my_gram(features):
            h, w, c = features.shape
            flat = features.reshape(h * w, c)            # [hw, c]: one row per position
            return flat.T @ flat / (h * w)               # [c, c]: average co-activation of channels
    ''',
    "style_layer_loss": '''
        def my_style_layer_loss(features, target_gram):
            g = style.gram_matrix(features)              # [c, c]
            return jnp.mean((g - target_gram) ** 2)
    ''',
    "tv_loss": '''
        def my_tv_loss(image):
            dy = image[1:, :, :] - image[:-1, :, :]      # vertical neighbours   [H-1, W, 3]
            dx = image[:, 1:, :] - image[:, :-1, :]      # horizontal neighbours [H, W-1, 3]
            return jnp.mean(jnp.abs(dy)) + jnp.mean(jnp.abs(dx))
    ''',
    "style_loss": '''
        def my_style_loss(features, target_grams, layer_weights):
            total = 0.0
            for layer, weight in layer_weights.items():
                g = style.gram_matrix(features[layer])   # [c, c]
                total = total + weight * jnp.mean((g - target_grams[layer]) ** 2)
            return total
    ''',
    "adain": '''
        def my_adain(content, style, eps=1e-5):
            c_mean = content.mean(axis=(1, 2), keepdims=True)              # [1, 1, 1, c]: over positions
            c_std = jnp.sqrt(content.var(axis=(1, 2), keepdims=True) + eps)
            s_mean = style.mean(axis=(1, 2), keepdims=True)
            s_std = jnp.sqrt(style.var(axis=(1, 2), keepdims=True) + eps)
            return s_std * (content - c_mean) / c_std + s_mean             # [1, h, w, c]
    ''',
    "style_mix": '''
        def my_mix(content, fused, weights, alpha):
            weights = jnp.asarray(weights) / jnp.sum(jnp.asarray(weights))  # they must sum to 1
            mixed = sum(w * t for w, t in zip(weights, fused))              # Σ_k w_k T_k, [N, h, w, c]
            return alpha * mixed + (1 - alpha) * content                    # α = 0: the content itself
    ''',
    "hinge_d_loss": '''
        def my_hinge_d_loss(real_logits, fake_logits):
            real_term = jnp.mean(jax.nn.relu(1.0 - real_logits))   # real patches should score >= +1
            fake_term = jnp.mean(jax.nn.relu(1.0 + fake_logits))   # fake patches should score <= -1
            return real_term + fake_term                            # each a mean over its own patches
    ''',
    "d_step": '''
        def my_d_step(d_params, opt_state, g_params, batch, loss_fn, optimizer):
            # the gradient of D's loss with respect to D's parameters (loss_fn's first argument) only
            loss, grads = jax.value_and_grad(loss_fn)(d_params, g_params, batch)
            updates, opt_state = optimizer.update(grads, opt_state, d_params)  # optax: updates point downhill
            d_params = optax.apply_updates(d_params, updates)                   # params + updates
            return d_params, opt_state, loss                                    # loss before the update
    ''',
}


def solution(name: str) -> str:
    """The source of the reference solution of exercise ``name`` (see :data:`SOLUTIONS`)."""
    if name not in SOLUTIONS:
        raise ValueError(f"no exercise {name!r}; exercises: {', '.join(SOLUTIONS)}")
    return textwrap.dedent(SOLUTIONS[name]).strip() + "\n"


def solution_function(name: str) -> Callable:
    """The reference solution of exercise ``name`` as a function (its source run with jax, jnp, np, optax and style)."""
    import jax
    import optax

    namespace: dict[str, Any] = {"jax": jax, "jnp": jnp, "np": np, "optax": optax, "style": style}
    exec(solution(name), namespace)  # noqa: S102 - our own constant source
    return next(v for k, v in namespace.items() if k.startswith("my_"))


# ---------------------------------------------------------------------------------------------------
# Shared machinery.

class _NotDone(Exception):
    pass


class _Wrong(Exception):
    pass


def _call(fn, *args):
    """Call the student's function; turn 'not written yet' and crashes into messages."""
    try:
        out = fn(*args)
    except NotImplementedError:
        raise _NotDone("not done yet: replace `raise NotImplementedError` with your code, then run this cell again.")
    except Exception as err:  # a student's bug is reported, never propagated
        raise _Wrong(f"your function raised {type(err).__name__}: {err}")
    if out is None:
        raise _NotDone("not done yet: your function returned None (write its body and `return` the result).")
    if out is Ellipsis:
        raise _NotDone("not done yet: your function returned `...` (write its body and `return` the result).")
    return out


def _as_array(out, what: str) -> np.ndarray:
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise _Wrong(f"{what} should be a number or an array; got {type(out).__name__} ({err})")
    if not np.all(np.isfinite(arr)):
        raise _Wrong(f"{what} contains NaN or infinite values")
    return arr


def _scalar(out) -> float:
    arr = _as_array(out, "the loss")
    if arr.size != 1:
        raise _Wrong(f"a loss must be a single number (a scalar); got an array of shape {arr.shape}. "
                     "Reduce it with a mean (or a sum where the formula says so).")
    return float(arr.reshape(()))


def _close(a, b, rtol=1e-4, atol=1e-6) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _report(name: str, body: Callable[[], str]) -> bool:
    if not callable(body):
        raise TypeError("internal: body must be callable")
    try:
        message = body()
    except _NotDone as err:
        print(f"{TODO} {name}: {err}")
        return False
    except _Wrong as err:
        print(f"{WRONG} {name}: {err}")
        return False
    print(f"{RIGHT} {name}: {message}")
    return True


def _need_callable(name: str, fn) -> bool:
    if callable(fn):
        return True
    print(f"{WRONG} {name}: pass your function itself, e.g. check_{name}(my_function), not {type(fn).__name__}")
    return False


def _ratio_hint(got: float, expected: float, factors: dict[str, float]) -> str | None:
    """Name the mistake when ``got / expected`` equals one of the known factors."""
    if expected == 0:
        return None
    ratio = got / expected
    for hint, factor in factors.items():
        if np.isclose(ratio, factor, rtol=1e-3):
            return hint
    return None


# ---------------------------------------------------------------------------------------------------
# 01: receptive field and content loss.

def check_receptive_field(fn: Callable) -> bool:
    """Check ``fn(kernels, strides) -> int`` against :func:`gantransfer.receptive.receptive_field`."""
    name = "receptive_field"
    if not _need_callable(name, fn):
        return False
    cases = [([3], [1]), ([3, 3], [1, 1]), ([3, 3, 2], [1, 1, 2]), ([3, 3, 2, 3, 3, 2, 3], [1, 1, 2, 1, 1, 2, 1]),
             ([7, 3, 3], [2, 2, 1])]
    vgg = receptive.vgg16_table(224, layers=("conv5_1",))[0]["receptive_field"]

    def body():
        for kernels, strides in cases:
            got = _scalar(_call(fn, list(kernels), list(strides)))
            want = receptive.receptive_field(kernels, strides)
            if got == want:
                continue
            no_stride = 1 + sum(k - 1 for k in kernels)
            sum_k = sum(kernels)
            early = 1
            jump = 1
            for k, s in zip(kernels, strides):
                jump *= s
                early += (k - 1) * jump
            where = f"for kernels={kernels}, strides={strides} you return {got:g}, expected {want}"
            if got == no_stride:
                raise _Wrong(f"{where}: you ignored the strides. After a stride-s layer, neighbouring positions are "
                             "s pixels apart in the input, so the next layer's kernel adds (k − 1)·jump, not k − 1.")
            if got == sum_k:
                raise _Wrong(f"{where}: you added the kernel sizes. A k×k kernel widens the field by k − 1 "
                             "jumps (a 3×3 on a 3×3 field sees 5×5, not 6×6).")
            if got == early:
                raise _Wrong(f"{where}: you multiplied the jump by a layer's stride before using it for that "
                             "layer. A layer's own stride only spaces out the *next* layer's inputs.")
            if abs(got - want) == 1:
                raise _Wrong(f"{where}: off by one. Start from a field of 1 pixel (the input itself).")
            raise _Wrong(where + ".")
        return f"right on {len(cases)} stacks of layers (VGG16's conv5_1 sees {vgg}×{vgg} px)."

    return _report(name, body)


def _feature_pair(rng, shape=(1, 4, 6, 5)):
    f = rng.standard_normal(shape).astype(np.float32)
    p = rng.standard_normal(shape).astype(np.float32)
    return jnp.asarray(f), jnp.asarray(p)


def check_content_loss(fn: Callable) -> bool:
    """Check ``fn(features, target) -> scalar`` (``[1, h, w, c]`` each) against :func:`gantransfer.style.content_loss`."""
    name = "content_loss"
    if not _need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(1)
        for shape in [(1, 4, 6, 5), (1, 3, 3, 8)]:
            f, p = _feature_pair(rng, shape)
            got = _scalar(_call(fn, f, p))
            want = float(style.content_loss(f, p))
            if np.isclose(got, want, rtol=1e-4):
                continue
            n, h, w, c = shape
            where = f"on features of shape {shape} you return {got:.6g}, expected {want:.6g}"
            d = np.asarray(f - p, np.float64)
            if np.isclose(got, float(np.mean(np.abs(d))), rtol=1e-4):
                raise _Wrong(f"{where}: that is the mean *absolute* difference; square the differences instead.")
            if np.isclose(got, np.sqrt(want), rtol=1e-4) or np.isclose(got, np.sqrt(np.sum(d ** 2)), rtol=1e-4):
                raise _Wrong(f"{where}: you took a square root (a distance); the loss is the mean of the squares.")
            hint = _ratio_hint(got, want, {
                "you summed instead of averaging: divide by the number of elements n·h·w·c": n * h * w * c,
                "that is Gatys' ½·Σ (eq. 1); this library uses the plain mean, ½ and sum dropped": n * h * w * c / 2,
                "you have Gatys' factor ½: this library uses the plain mean of the squares": 0.5,
                "you averaged over positions but summed over channels: average over all n·h·w·c": c,
                "you summed over positions but averaged over channels: average over all n·h·w·c": h * w,
                "the sign is flipped: the loss is (features − target)² averaged, never negative": -1.0,
            })
            raise _Wrong(f"{where}: {hint}." if hint else where + ".")
        f, _ = _feature_pair(rng)
        got = _scalar(_call(fn, f, f))
        if not np.isclose(got, 0.0, atol=1e-7):
            raise _Wrong(f"the loss of a feature map against itself should be 0; you return {got:.6g}.")
        return "mean squared difference of the feature maps, as in style.content_loss."

    return _report(name, body)


# ---------------------------------------------------------------------------------------------------
# 02: the Gram matrix and the style loss of one layer.

def check_gram_matrix(fn: Callable) -> bool:
    """Check ``fn(features [h, w, c]) -> [c, c]`` against :func:`gantransfer.style.gram_matrix`."""
    name = "gram_matrix"
    if not _need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(2)
        for h, w, c in [(3, 5, 4), (2, 2, 6)]:
            f = jnp.asarray(rng.standard_normal((h, w, c)).astype(np.float32))
            got = _as_array(_call(fn, f), "your Gram matrix")
            want = np.asarray(style.gram_matrix(f), np.float64)
            where = f"for features of shape {(h, w, c)}"
            if got.shape == (h * w, h * w):
                raise _Wrong(f"{where} you return shape {got.shape}: that is F·Fᵀ, which compares positions with "
                             "positions. The style matrix compares channels: Fᵀ·F, shape (c, c).")
            if got.shape != (c, c):
                raise _Wrong(f"{where} you return shape {got.shape}; expected (c, c) = {(c, c)}: one row and one "
                             "column per channel. Reshape to [h·w, c] first.")
            if _close(got, want):
                continue
            if not np.allclose(got, got.T, rtol=1e-4, atol=1e-5):
                raise _Wrong(f"{where} your matrix is not symmetric, but G[i, j] and G[j, i] are the same "
                             "co-activation. Compute Fᵀ·F with F of shape [h·w, c].")
            flat = np.asarray(f, np.float64).reshape(h * w, c)
            scrambled = np.asarray(f, np.float64).reshape(c, h * w)
            if _close(got, scrambled @ scrambled.T) or _close(got, scrambled @ scrambled.T / (h * w)):
                raise _Wrong(f"{where} the values are scrambled: features.reshape(c, h·w) mixes positions and "
                             "channels, because the channel axis is last. Use features.reshape(h·w, c), then Fᵀ·F.")
            centred = flat - flat.mean(0)
            if _close(got, centred.T @ centred / (h * w)):
                raise _Wrong(f"{where} you subtracted the channel means first: that is the covariance "
                             "(style.covariance), not the Gram matrix.")
            hint = _ratio_hint(float(got[0, 0]), float(want[0, 0]), {
                "not normalised: you have Σ_p F[p, i] F[p, j]; divide by the number of positions h·w": h * w,
                "you divided by h·w·c; divide by the number of positions h·w only": 1 / c,
                "you divided by (h·w)²; divide by h·w once": 1 / (h * w),
                "you divided by c; divide by the number of positions h·w": h * w / c,
            })
            if hint and _close(got, want * (got[0, 0] / want[0, 0])):
                raise _Wrong(f"{where} the matrix is off by a factor {got[0, 0] / want[0, 0]:.4g}: {hint}.")
            raise _Wrong(f"{where} G[0, 0] = {got[0, 0]:.5g} but expected {want[0, 0]:.5g} "
                         "(G[i, j] = (1 / h·w) Σ_p F[p, i] F[p, j]).")
        return "(1 / h·w) Fᵀ·F, symmetric, shape (c, c), as in style.gram_matrix."

    return _report(name, body)


def check_style_layer_loss(fn: Callable) -> bool:
    """Check ``fn(features [h, w, c], target_gram [c, c]) -> scalar`` against ``mean((G(F) − A)²)``."""
    name = "style_layer_loss"
    if not _need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(3)
        h, w, c = 4, 5, 6
        f = jnp.asarray(rng.standard_normal((h, w, c)).astype(np.float32))
        other = jnp.asarray(rng.standard_normal((h + 2, w, c)).astype(np.float32))
        a = style.gram_matrix(other)
        got = _scalar(_call(fn, f, a))
        diff = np.asarray(style.gram_matrix(f) - a, np.float64)
        want = float(np.mean(diff ** 2))
        where = f"you return {got:.6g}, expected {want:.6g}"
        if not np.isclose(got, want, rtol=1e-4):
            if np.isclose(got, np.mean(np.abs(diff)), rtol=1e-4):
                raise _Wrong(f"{where}: that is the mean absolute difference; square the differences.")
            if np.isclose(got, np.sqrt(np.sum(diff ** 2)), rtol=1e-4) or np.isclose(got, np.sqrt(want), rtol=1e-4):
                raise _Wrong(f"{where}: you took a square root (a distance); the loss is the mean of the squares.")
            g_raw = np.asarray(style.gram_matrix(f), np.float64) * h * w
            if np.isclose(got, np.mean((g_raw - np.asarray(a)) ** 2), rtol=1e-4):
                raise _Wrong(f"{where}: your Gram matrix is not normalised by h·w; use style.gram_matrix "
                             "(or divide by the number of positions).")
            hint = _ratio_hint(got, want, {
                "you summed over the c² entries; take the mean": c * c,
                "you have Gatys' ¼ factor; this library uses the plain mean of the squared differences": 0.25,
            })
            raise _Wrong(f"{where}: {hint}." if hint else where + ". The loss is mean((G(F) − A)²).")
        same = _scalar(_call(fn, f, style.gram_matrix(f)))
        if not np.isclose(same, 0.0, atol=1e-7):
            raise _Wrong(f"the loss of features against their own Gram matrix should be 0; you return {same:.6g}.")
        shuffled = f.reshape(h * w, c)[rng.permutation(h * w)].reshape(h, w, c)
        if not np.isclose(_scalar(_call(fn, shuffled, a)), got, rtol=1e-4):
            raise _Wrong("shuffling the positions of the features changed your loss, but the Gram matrix ignores layout.")
        return "mean((G(F) − A)²), 0 for a perfect match, blind to layout."

    return _report(name, body)


# ---------------------------------------------------------------------------------------------------
# 03: total variation and the multi-layer style loss.

def check_tv_loss(fn: Callable) -> bool:
    """Check ``fn(image [H, W, 3]) -> scalar`` against :func:`gantransfer.style.total_variation_loss`."""
    name = "tv_loss"
    if not _need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(4)
        for hw in [(5, 7), (8, 4)]:
            img = jnp.asarray(rng.uniform(size=(*hw, 3)).astype(np.float32))
            got = _scalar(_call(fn, img))
            want = float(style.total_variation_loss(img))
            if np.isclose(got, want, rtol=1e-4):
                continue
            x = np.asarray(img, np.float64)
            dy, dx = np.diff(x, axis=0), np.diff(x, axis=1)
            where = f"on a {hw[0]}×{hw[1]} image you return {got:.6g}, expected {want:.6g}"
            known = {
                "you squared the differences; total variation takes their absolute value": np.mean(dy ** 2) + np.mean(dx ** 2),
                "you only used vertical neighbours (image[1:] − image[:-1]); add the horizontal term": np.mean(np.abs(dy)),
                "you only used horizontal neighbours (image[:, 1:] − image[:, :-1]); add the vertical term": np.mean(np.abs(dx)),
                "you averaged the two directions; add the two means": (np.mean(np.abs(dy)) + np.mean(np.abs(dx))) / 2,
                "you summed instead of averaging; take the mean of each direction": np.sum(np.abs(dy)) + np.sum(np.abs(dx)),
                "you wrapped around the border (np.roll / jnp.roll); compare only real neighbours":
                    np.mean(np.abs(np.roll(x, 1, 0) - x)) + np.mean(np.abs(np.roll(x, 1, 1) - x)),
                "you compared the colour channels with each other; differences run along H and W": np.mean(np.abs(np.diff(x, axis=2))),
            }
            for hint, value in known.items():
                if np.isclose(got, value, rtol=1e-4):
                    raise _Wrong(f"{where}: {hint}.")
            raise _Wrong(where + ". TV = mean|x[i+1, j] − x[i, j]| + mean|x[i, j+1] − x[i, j]|.")
        flat = jnp.full((6, 6, 3), 0.3, jnp.float32)
        if not np.isclose(_scalar(_call(fn, flat)), 0.0, atol=1e-7):
            raise _Wrong("a flat image has no variation: its TV must be 0.")
        return "mean absolute difference of vertical plus horizontal neighbours, as in style.total_variation_loss."

    return _report(name, body)


def check_style_loss(fn: Callable) -> bool:
    """Check ``fn(features, target_grams, layer_weights) -> scalar`` against :func:`gantransfer.style.style_loss`.

    ``features`` is ``{layer: [1, h, w, c]}``, ``target_grams`` ``{layer: [1, c, c]}``, ``layer_weights``
    ``{layer: w_l}``.
    """
    name = "style_loss"
    if not _need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(5)
        shapes = {"relu1_1": (1, 8, 8, 4), "relu2_1": (1, 4, 4, 6), "relu3_1": (1, 2, 2, 8)}
        feats = {k: jnp.asarray(rng.standard_normal(s).astype(np.float32)) for k, s in shapes.items()}
        grams = {k: style.gram_matrix(jnp.asarray(rng.standard_normal(s).astype(np.float32))) for k, s in shapes.items()}
        weights = {"relu1_1": 0.5, "relu2_1": 2.0, "relu3_1": 1.0}
        got = _scalar(_call(fn, feats, grams, dict(weights)))
        want = float(style.style_loss(feats, grams, layer_weights=weights))
        if np.isclose(got, want, rtol=1e-4):
            only = {"relu2_1": 1.0}
            got1 = _scalar(_call(fn, feats, grams, only))
            want1 = float(style.style_loss(feats, grams, layer_weights=only))
            if not np.isclose(got1, want1, rtol=1e-4):
                raise _Wrong(f"with layer_weights={only} you return {got1:.6g}, expected {want1:.6g}: "
                             "use only the layers listed in layer_weights.")
            return "Σ_l w_l · mean((G_l − A_l)²), as in style.style_loss."
        per = {k: float(np.mean((np.asarray(style.gram_matrix(feats[k])) - np.asarray(grams[k])) ** 2)) for k in shapes}
        where = f"you return {got:.6g}, expected {want:.6g}"
        known = {
            "you ignored the layer weights w_l": sum(per.values()),
            "you averaged over layers; sum the weighted layer losses": want / len(shapes),
            "you averaged the weighted losses by the sum of the weights; just sum them": want / sum(weights.values()),
            "you summed the squared Gram differences; take their mean per layer":
                sum(w * per[k] * shapes[k][-1] ** 2 for k, w in weights.items()),
        }
        for hint, value in known.items():
            if np.isclose(got, value, rtol=1e-4):
                raise _Wrong(f"{where}: {hint}.")
        raise _Wrong(where + ". L_style = Σ_l w_l · mean((G_l(x) − A_l)²).")

    return _report(name, body)


# ---------------------------------------------------------------------------------------------------
# 04: AdaIN.

def check_adain(fn: Callable) -> bool:
    """Check ``fn(content [1, h, w, c], style [1, h', w', c]) -> [1, h, w, c]`` against
    :func:`gantransfer.fusion.adain`: ``σ(s)·(c − μ(c))/σ(c) + μ(s)`` per channel, statistics over positions."""
    name = "adain"
    if not _need_callable(name, fn):
        return False
    from . import fusion

    def body():
        rng = np.random.default_rng(6)
        for (h, w), (hs, ws), c in [((4, 6), (4, 6), 5), ((3, 3), (6, 5), 8)]:
            content = (rng.standard_normal((1, h, w, c)) * rng.uniform(0.5, 3, c) + rng.uniform(-2, 2, c))
            style = (rng.standard_normal((1, hs, ws, c)) * rng.uniform(0.2, 4, c) + rng.uniform(-3, 3, c))
            content, style = jnp.asarray(content, jnp.float32), jnp.asarray(style, jnp.float32)
            got = _as_array(_call(fn, content, style), "your fused features")
            want = np.asarray(fusion.adain(content, style), np.float64)
            where = f"for content {tuple(content.shape)} and style {tuple(style.shape)}"
            if got.shape != want.shape:
                if got.shape == tuple(style.shape):
                    raise _Wrong(f"{where} you return shape {got.shape}, the style's: normalise the *content* "
                                 "and give it the style's statistics, not the other way round.")
                raise _Wrong(f"{where} you return shape {got.shape}; expected the content's shape {want.shape}.")
            if _close(got, want, rtol=1e-3, atol=1e-3):
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
                if np.shape(value) == got.shape and _close(got, value, rtol=1e-3, atol=1e-3):
                    raise _Wrong(f"{where}: {hint}.")
            mean_ok = np.allclose(got.mean((1, 2)), sm.reshape(1, -1), atol=1e-3)
            std_ok = np.allclose(got.std((1, 2)), ss.reshape(1, -1), rtol=1e-2, atol=1e-3)
            detail = ("each channel has the style's mean and std, but the values differ: keep the content's "
                      "pattern, (c − μ(c))/σ(c), and only rescale it" if mean_ok and std_ok else
                      f"per-channel mean {'right' if mean_ok else 'wrong'}, std {'right' if std_ok else 'wrong'}")
            raise _Wrong(f"{where} your result differs from AdaIN ({detail}). "
                         "AdaIN(c, s) = σ(s)·(c − μ(c))/σ(c) + μ(s), statistics per channel over positions.")
        return "σ(s)·(c − μ(c))/σ(c) + μ(s) per channel over positions, as in fusion.adain."

    return _report(name, body)


def check_style_mix(fn: Callable) -> bool:
    """Check ``fn(content [N, h, w, c], fused (list of K [N, h, w, c]), weights (K floats), alpha) -> [N, h, w, c]``
    against :func:`gantransfer.fusion.mix`: ``α · Σ_k w_k T_k / Σ_k w_k + (1 − α) · c``."""
    name = "style_mix"
    if not _need_callable(name, fn):
        return False
    from . import fusion

    def body():
        rng = np.random.default_rng(7)
        cases = [((1, 3, 4, 5), [1.0], 1.0), ((1, 3, 4, 5), [1.0, 3.0], 0.6), ((2, 2, 3, 4), [2.0, 1.0, 1.0], 0.25),
                 ((1, 3, 3, 2), [0.0, 1.0], 0.0)]
        for shape, weights, alpha in cases:
            content = jnp.asarray(rng.standard_normal(shape), jnp.float32)
            fused = [jnp.asarray(rng.standard_normal(shape) * 2 + 1, jnp.float32) for _ in weights]
            got = _as_array(_call(fn, content, fused, list(weights), alpha), "your mixed features")
            want = np.asarray(fusion.mix(content, fused, weights=weights, alpha=alpha), np.float64)
            where = f"for {len(weights)} style(s) with weights {weights} and alpha = {alpha}"
            if got.shape != want.shape:
                raise _Wrong(f"{where} you return shape {got.shape}; expected the content's shape {want.shape}.")
            if _close(got, want, rtol=1e-4, atol=1e-5):
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
                if _close(got, value, rtol=1e-4, atol=1e-5):
                    raise _Wrong(f"{where}: {hint}.")
            raise _Wrong(f"{where} your result differs from α · Σ_k w_k T_k / Σ_k w_k + (1 − α) · content "
                         f"(largest difference {np.abs(got - want).max():.3g}).")
        return "α · Σ_k w_k T_k / Σ_k w_k + (1 − α) · content, as in fusion.mix."

    return _report(name, body)


# ---------------------------------------------------------------------------------------------------
# 05: the discriminator's hinge loss and one discriminator update.

def check_hinge_d_loss(fn: Callable) -> bool:
    """Check ``fn(real_logits, fake_logits) -> scalar`` against :func:`gantransfer.discriminator.d_loss`
    with ``kind="hinge"``: ``mean(relu(1 − D(real))) + mean(relu(1 + D(fake)))``."""
    name = "hinge_d_loss"
    if not _need_callable(name, fn):
        return False
    from . import discriminator

    def body():
        rng = np.random.default_rng(8)
        # Patch maps [N, h, w, 1] of different sizes for real and fake (a pooled mean is then not the
        # mean of the two means), logits on both sides of the margins ±1.
        for n_real, n_fake in [(2, 3), (3, 1)]:
            real = jnp.asarray(rng.normal(0.4, 1.5, (n_real, 3, 3, 1)), jnp.float32)
            fake = jnp.asarray(rng.normal(-0.3, 1.5, (n_fake, 3, 3, 1)), jnp.float32)
            got = _scalar(_call(fn, real, fake))
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
                    raise _Wrong(f"{where}: {hint}.")
            raise _Wrong(where + ". L_D = mean(relu(1 − D(real))) + mean(relu(1 + D(fake))).")
        chance = _scalar(_call(fn, jnp.zeros((2, 3, 3, 1)), jnp.zeros((2, 3, 3, 1))))
        if not np.isclose(chance, 2.0, rtol=1e-5):
            raise _Wrong(f"when every logit is 0 (D at chance) the hinge loss is 1 + 1 = 2; you return {chance:.6g}.")
        sure = _scalar(_call(fn, jnp.full((2, 3, 3, 1), 1.5), jnp.full((2, 3, 3, 1), -1.5)))
        if not np.isclose(sure, 0.0, atol=1e-6):
            raise _Wrong(f"when every real logit is ≥ 1 and every fake one ≤ −1, D has nothing left to learn: the "
                         f"loss is 0; you return {sure:.6g}.")
        return "mean(relu(1 − D(real))) + mean(relu(1 + D(fake))), as in discriminator.d_loss(kind='hinge')."

    return _report(name, body)


def _linear_d(params, x):
    """The checker's tiny linear discriminator: ``[N, k] -> [N]`` logits ``x · w + b``."""
    return x @ params["w"] + params["b"]


def _linear_g(params, z):
    """The checker's tiny generator, with the same parameter structure as ``D``: ``[N, k] -> [N, k]``."""
    return z * params["w"] + params["b"]


def _hinge_d_loss_fn(d_params, g_params, batch):
    """``L_D`` of the linear pair: hinge loss of ``D`` on ``batch["real"]`` and on ``G(batch["z"])``."""
    from . import discriminator

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
        raise _Wrong(f"{what} should be D's parameters, a dict with keys {sorted(like)} like d_params; "
                     f"got {type(out).__name__}" + (f" with keys {sorted(out)}" if isinstance(out, dict) else ""))
    arrays = {k: _as_array(v, f"{what}[{k!r}]") for k, v in out.items()}
    for k, v in arrays.items():
        if v.shape != np.shape(like[k]):
            raise _Wrong(f"{what}[{k!r}] has shape {v.shape}; D's parameter has shape {np.shape(like[k])}.")
    return arrays


def _params_close(a: dict, b: dict, rtol=1e-4, atol=1e-6) -> bool:
    return all(_close(a[k], b[k], rtol=rtol, atol=atol) for k in b)


def _axpy(a: dict, scale: float, b: dict) -> dict:
    """``a + scale · b`` leaf by leaf (numpy, float64)."""
    return {k: np.asarray(a[k], np.float64) + scale * np.asarray(b[k], np.float64) for k in a}


def _unpack_step(out) -> tuple:
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        got = f"a {type(out).__name__} of {len(out)} items" if isinstance(out, (tuple, list)) else type(out).__name__
        raise _Wrong(f"return three things, `return d_params, opt_state, loss` (the new parameters, the new "
                     f"optimiser state and the loss); you returned {got}.")
    return tuple(out)


def check_d_step(fn: Callable) -> bool:
    """Check ``fn(d_params, opt_state, g_params, batch, loss_fn, optimizer) -> (d_params, opt_state, loss)``:
    one update of the discriminator, on a tiny linear ``D`` and ``G`` whose gradients the checker computes
    by hand. The reference is the core of :func:`gantransfer.adversarial.d_step`: gradient of ``loss_fn``
    with respect to ``D``'s parameters only, ``optimizer.update``, ``optax.apply_updates``."""
    name = "d_step"
    if not _need_callable(name, fn):
        return False
    import jax
    import optax

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
        out = _unpack_step(_call(fn, as_jax(d0), sgd.init(as_jax(d0)), as_jax(g0), batch, loss_fn, sgd))
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
                    raise _Wrong(f"{where}: {hint}.")
            shown = lambda p: {key: np.round(v, 4).tolist() for key, v in p.items()}
            raise _Wrong(f"{where}: expected d_params − 0.1 · ∂L_D/∂d_params = {shown(want)}, got {shown(new)}.")
        loss = _scalar(out[2])
        if not np.isclose(loss, loss0, rtol=1e-4, atol=1e-6):
            after = float(loss_fn(as_jax(want), as_jax(g0), batch))
            if np.isclose(loss, after, rtol=1e-4, atol=1e-6):
                raise _Wrong(f"the loss you return ({loss:.6g}) is the loss *after* the update; return the one "
                             f"the gradient was taken at ({loss0:.6g}), as value_and_grad gives it.")
            if np.isclose(loss, -loss0, rtol=1e-4):
                raise _Wrong(f"the loss you return has the wrong sign ({loss:.6g}, expected {loss0:.6g}).")
            raise _Wrong(f"the loss you return is {loss:.6g}; expected loss_fn(d_params, g_params, batch) = {loss0:.6g}.")

        # 2. Two steps of AdamW on two batches: the optimiser state must be carried from one step to the
        #    next, and optimizer.update needs the parameters (weight decay reads them).
        adamw = optax.adamw(0.05, weight_decay=0.1)
        params, state = as_jax(d0), adamw.init(as_jax(d0))
        ref_params, ref_state = as_jax(d0), adamw.init(as_jax(d0))
        batches = [(real, z), (rng.normal(0.5, 1.0, (4, k)), rng.normal(0.0, 1.0, (3, k)))]
        for step, (real_i, z_i) in enumerate(batches, start=1):
            batch_i = {"real": jnp.asarray(real_i, jnp.float32), "z": jnp.asarray(z_i, jnp.float32)}
            try:
                out = _unpack_step(_call(fn, params, state, as_jax(g0), batch_i, loss_fn, adamw))
            except _Wrong as err:
                if "current value of parameters" in str(err):
                    raise _Wrong("with optax.adamw, optimizer.update needs the parameters (its weight decay reads "
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
                    raise _Wrong("your first AdamW step is right but the second is not: you returned the old "
                                 "optimiser state, so Adam's moment estimates restart every step. Return the "
                                 "new one, `updates, opt_state = optimizer.update(...)`.")
                raise _Wrong(f"with optax.adamw, step {step} gives different parameters from the reference step "
                             "(SGD was right: is the optimiser state carried over, and are the updates those "
                             "of optimizer.update?).")
            if jax.tree.structure(out[1]) != jax.tree.structure(state):
                raise _Wrong("the opt_state you return does not have the optimiser's structure: return the new "
                             "state from `updates, opt_state = optimizer.update(grads, opt_state, d_params)`.")
            params, state = out[0], out[1]

        # 3. It must trace under jit, as the library's step does.
        try:
            jitted = jax.jit(lambda p, s: fn(p, s, as_jax(g0), batch, loss_fn, sgd))
            out = _unpack_step(jitted(as_jax(d0), sgd.init(as_jax(d0))))
        except _Wrong:
            raise
        except Exception as err:  # a student's bug is reported, never propagated
            raise _Wrong(f"your step does not run under jax.jit ({type(err).__name__}: {str(err).splitlines()[0]}): "
                         "keep it pure JAX (no float(), .item() or numpy on the traced values).") from None
        if not _params_close(_as_params(out[0], "the d_params you return under jit", d0), want):
            raise _Wrong("under jax.jit your step gives different parameters than without it: keep it pure.")
        return ("gradient of D's loss w.r.t. D's parameters only, optimizer.update, optax.apply_updates; the "
                "loss before the update; the new optimiser state carried over (checked against hand-computed "
                "gradients, with SGD and two AdamW steps).")

    return _report(name, body)


#: Every checker by exercise name.
CHECKERS: dict[str, Callable[[Callable], bool]] = {
    "receptive_field": check_receptive_field,
    "content_loss": check_content_loss,
    "gram_matrix": check_gram_matrix,
    "style_layer_loss": check_style_layer_loss,
    "tv_loss": check_tv_loss,
    "style_loss": check_style_loss,
    "adain": check_adain,
    "style_mix": check_style_mix,
    "hinge_d_loss": check_hinge_d_loss,
    "d_step": check_d_step,
}
