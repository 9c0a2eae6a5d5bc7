"""Checkers for the notebooks' exercise cells: run the student's function on small random inputs.

Each ``check_<name>(fn)`` calls ``fn`` on a few small random inputs, compares the result with the library's
own function (the reference), prints one clear line — ``✔`` right, ``✘`` wrong and *why* (wrong shape, a
missing normalisation, a sum where a mean belongs, …), or ``…`` not done yet — and returns ``True`` or
``False``. It never raises on a wrong answer: a student's exception is reported, not propagated.

``solution(name)`` returns the source of a reference solution (for the teacher, or after trying).

| exercise | notebook | reference |
| --- | --- | --- |
| ``receptive_field`` | 01 | :func:`gantransfer.notebook.receptive.receptive_field` |
| ``content_loss`` | 01 | :func:`gantransfer.pipeline.style.content_loss` |
| ``gram_matrix`` | 02 | :func:`gantransfer.pipeline.style.gram_matrix` |
| ``style_layer_loss`` | 02 | :func:`gantransfer.pipeline.style.gram_distance` |
| ``tv_loss`` | 03 | :func:`gantransfer.pipeline.style.total_variation_loss` |
| ``style_loss`` | 03 | :func:`gantransfer.pipeline.style.style_loss` |
| ``adain`` | 04 | :func:`gantransfer.pipeline.fusion.adain` |
| ``style_mix`` | 04 | :func:`gantransfer.pipeline.fusion.mix` |
| ``hinge_d_loss`` | 05 | :func:`gantransfer.pipeline.discriminator.d_loss` (``kind="hinge"``) |
| ``d_step`` | 05 | one ``D`` update, on a tiny linear ``D`` (:mod:`~gantransfer.notebook.exercises_steps`) |
| ``g_step`` | 05 | one ``G`` update against a fixed ``D`` (:mod:`~gantransfer.notebook.exercises_steps`) |
| ``gatys_loop`` | 03 | Adam on the pixels with ``jax.value_and_grad`` and optax (:mod:`~gantransfer.notebook.exercises_steps`) |
| ``reshape_counts``, ``gram_size`` | 00 | questions (:mod:`~gantransfer.notebook.exercises_questions`) |
| ``which_block`` | 01 | a question: which VGG16 block gives a feature map of this shape |
| ``tiles_gram`` | 02 | a question: the Gram matrix of shuffled tiles |
| ``repainted_ssim``, ``style_ratio`` | 06 | a question on SSIM; :func:`gantransfer.methods.judging.style_ratio` |
| ``warping_error``, ``seam_ratio`` | 07 | :mod:`~gantransfer.notebook.exercises_video` |

A checker runs the student's function with the library's own answer switched off (:data:`REFUSE`,
:func:`gantransfer.notebook.checking.refusing`): returning ``style.gram_matrix(f)`` is reported, not passed.
"""
from __future__ import annotations

import textwrap
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gantransfer.methods import temporal
from gantransfer.notebook import exercises_advanced, exercises_questions, exercises_steps, exercises_video, receptive
from gantransfer.notebook.checking import (
    Wrong,
    as_array,
    call_student,
    close,
    need_callable,
    ratio_hint,
    report,
    scalar,
)
from gantransfer.pipeline import style

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
            return jnp.mean((features - target) ** 2)    # one number: the mean over n, h, w and c
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
    "gatys_loop": '''
        def my_gatys(loss_fn, image, steps, learning_rate):
            optimizer = optax.adam(learning_rate)
            opt_state = optimizer.init(image)                       # Adam's moments, created once
            value_and_grad = jax.jit(jax.value_and_grad(loss_fn))   # the loss and ∂loss/∂pixels, compiled
            losses = []
            for _ in range(steps):
                loss, grads = value_and_grad(image)
                updates, opt_state = optimizer.update(grads, opt_state, image)
                image = jnp.clip(optax.apply_updates(image, updates), 0.0, 1.0)   # pixels stay in [0, 1]
                losses.append(float(loss))                          # the loss before this step
            return image, losses
    ''',
    "g_step": '''
        def my_g_step(g_params, opt_state, d_params, batch, loss_fn, optimizer):
            # the gradient of G's loss with respect to G's parameters (loss_fn's first argument) only; D is fixed
            loss, grads = jax.value_and_grad(loss_fn)(g_params, d_params, batch)
            updates, opt_state = optimizer.update(grads, opt_state, g_params)
            g_params = optax.apply_updates(g_params, updates)
            return g_params, opt_state, loss
    ''',
    "reshape_counts": '''
        def my_reshape_counts():
            before = 256 * 256 * 64        # the convolution's output: every element of it
            after = 64 * 64 * 5            # what Reshape((64, 64, 5)) would have to hold
            return before, after
    ''',
    "gram_size": '''
        def my_gram_size():
            return 512                     # one row (and one column) per channel, whatever the image size
    ''',
    "which_block": '''
        def my_which_block():
            return 4                       # 224 / 28 = 8 = 2³: three poolings behind it, and 512 channels
    ''',
    "tiles_gram": '''
        def my_tiles_gram():
            return "unchanged"             # a sum over positions does not depend on their order
    ''',
    "repainted_ssim": '''
        def my_repainted_ssim():
            return "far below 1"           # every stroke moved: no window of pixels correlates
    ''',
    "style_ratio": '''
        def my_style_ratio(distance, picture, photo, style_image):
            return distance(picture, style_image) / distance(photo, style_image)   # 1 = no closer than the photo
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
SOLUTIONS.update(exercises_video.SOLUTIONS)


#: The library's own answers to each exercise: switched off while the student's function runs
#: (:func:`gantransfer.notebook.checking.refusing`), so returning ``style.gram_matrix(f)`` is not an answer.
REFUSE: dict[str, tuple[Callable, ...]] = {
    "receptive_field": (receptive.receptive_field,),
    "content_loss": (style.content_loss,),
    "gram_matrix": (style.gram_matrix,),
    "style_layer_loss": (style.gram_distance, style.style_loss),
    "tv_loss": (style.total_variation_loss,),
    "style_loss": (style.style_loss, style.gram_distance),
}


def solution(name: str) -> str:
    """The source of the reference solution of exercise ``name`` (see :data:`SOLUTIONS`)."""
    if name not in SOLUTIONS:
        raise ValueError(f"no exercise {name!r}; exercises: {', '.join(SOLUTIONS)}")
    return textwrap.dedent(SOLUTIONS[name]).strip() + "\n"


def solution_function(name: str) -> Callable:
    """The reference solution of exercise ``name`` as a function (its source run with jax, jnp, np, optax, style and
    temporal)."""

    namespace: dict[str, Any] = {"jax": jax, "jnp": jnp, "np": np, "optax": optax, "style": style, "temporal": temporal}
    exec(solution(name), namespace)  # noqa: S102 - our own constant source
    return next(v for k, v in namespace.items() if k.startswith("my_"))


# ---------------------------------------------------------------------------------------------------
# Shared machinery.


# ---------------------------------------------------------------------------------------------------
# 01: receptive field and content loss.

def check_receptive_field(fn: Callable) -> bool:
    """Check ``fn(kernels, strides) -> int`` against :func:`gantransfer.notebook.receptive.receptive_field`."""
    name = "receptive_field"
    if not need_callable(name, fn):
        return False
    cases = [([3], [1]), ([3, 3], [1, 1]), ([3, 3, 2], [1, 1, 2]), ([3, 3, 2, 3, 3, 2, 3], [1, 1, 2, 1, 1, 2, 1]),
             ([7, 3, 3], [2, 2, 1])]
    vgg = receptive.vgg16_table(224, layers=("conv5_1",))[0]["receptive_field"]

    def body():
        for kernels, strides in cases:
            got = scalar(call_student(fn, list(kernels), list(strides), refuse=REFUSE["receptive_field"]))
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
                raise Wrong(f"{where}: you ignored the strides. After a stride-s layer, neighbouring positions are "
                             "s pixels apart in the input, so the next layer's kernel adds (k − 1)·jump, not k − 1.")
            if got == sum_k:
                raise Wrong(f"{where}: you added the kernel sizes. A k×k kernel widens the field by k − 1 "
                             "jumps (a 3×3 on a 3×3 field sees 5×5, not 6×6).")
            if got == early:
                raise Wrong(f"{where}: you multiplied the jump by a layer's stride before using it for that "
                             "layer. A layer's own stride only spaces out the *next* layer's inputs.")
            if abs(got - want) == 1:
                raise Wrong(f"{where}: off by one. Start from a field of 1 pixel (the input itself).")
            raise Wrong(where + ".")
        return f"right on {len(cases)} stacks of layers (VGG16's conv5_1 sees {vgg}×{vgg} px)."

    return report(name, body)


def _feature_pair(rng, shape=(2, 4, 6, 5)):
    f = rng.standard_normal(shape).astype(np.float32)
    p = rng.standard_normal(shape).astype(np.float32)
    return jnp.asarray(f), jnp.asarray(p)


def check_content_loss(fn: Callable) -> bool:
    """Check ``fn(features, target) -> scalar`` (``[N, h, w, c]`` each, N > 1) against
    :func:`gantransfer.pipeline.style.content_loss`: one number for the whole batch."""
    name = "content_loss"
    if not need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(1)
        for shape in [(2, 4, 6, 5), (3, 3, 3, 8)]:
            f, p = _feature_pair(rng, shape)
            got = scalar(call_student(fn, f, p, refuse=REFUSE["content_loss"]))
            want = float(style.content_loss(f, p))
            if np.isclose(got, want, rtol=1e-4):
                continue
            n, h, w, c = shape
            where = f"on features of shape {shape} you return {got:.6g}, expected {want:.6g}"
            d = np.asarray(f - p, np.float64)
            if np.isclose(got, float(np.mean(np.abs(d))), rtol=1e-4):
                raise Wrong(f"{where}: that is the mean *absolute* difference; square the differences instead.")
            if np.isclose(got, np.sqrt(want), rtol=1e-4) or np.isclose(got, np.sqrt(np.sum(d ** 2)), rtol=1e-4):
                raise Wrong(f"{where}: you took a square root (a distance); the loss is the mean of the squares.")
            hint = ratio_hint(got, want, {
                "you summed instead of averaging: divide by the number of elements n·h·w·c": n * h * w * c,
                "that is Gatys' ½·Σ (eq. 1); this library uses the plain mean, ½ and sum dropped": n * h * w * c / 2,
                "you have Gatys' factor ½: this library uses the plain mean of the squares": 0.5,
                "you averaged over positions but summed over channels: average over all n·h·w·c": c,
                "you summed over positions but averaged over channels: average over all n·h·w·c": h * w,
                "you divided by h·w·c only: the batch has n images, average over all n·h·w·c": n,
                "the sign is flipped: the loss is (features − target)² averaged, never negative": -1.0,
            })
            raise Wrong(f"{where}: {hint}." if hint else where + ".")
        f, _ = _feature_pair(rng)
        got = scalar(call_student(fn, f, f, refuse=REFUSE["content_loss"]))
        if not np.isclose(got, 0.0, atol=1e-7):
            raise Wrong(f"the loss of a feature map against itself should be 0; you return {got:.6g}.")
        return "mean squared difference of the feature maps, as in style.content_loss."

    return report(name, body)


# ---------------------------------------------------------------------------------------------------
# 02: the Gram matrix and the style loss of one layer.

def check_gram_matrix(fn: Callable) -> bool:
    """Check ``fn(features [h, w, c]) -> [c, c]`` against :func:`gantransfer.pipeline.style.gram_matrix`."""
    name = "gram_matrix"
    if not need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(2)
        for h, w, c in [(3, 5, 4), (2, 2, 6)]:
            f = jnp.asarray(rng.standard_normal((h, w, c)).astype(np.float32))
            got = as_array(call_student(fn, f, refuse=REFUSE["gram_matrix"]), "your Gram matrix")
            want = np.asarray(style.gram_matrix(f), np.float64)
            where = f"for features of shape {(h, w, c)}"
            if got.shape == (h * w, h * w):
                raise Wrong(f"{where} you return shape {got.shape}: that is F·Fᵀ, which compares positions with "
                             "positions. The style matrix compares channels: Fᵀ·F, shape (c, c).")
            if got.shape != (c, c):
                raise Wrong(f"{where} you return shape {got.shape}; expected (c, c) = {(c, c)}: one row and one "
                             "column per channel. Reshape to [h·w, c] first.")
            if close(got, want):
                continue
            if not np.allclose(got, got.T, rtol=1e-4, atol=1e-5):
                raise Wrong(f"{where} your matrix is not symmetric, but G[i, j] and G[j, i] are the same "
                             "co-activation. Compute Fᵀ·F with F of shape [h·w, c].")
            flat = np.asarray(f, np.float64).reshape(h * w, c)
            scrambled = np.asarray(f, np.float64).reshape(c, h * w)
            if close(got, scrambled @ scrambled.T) or close(got, scrambled @ scrambled.T / (h * w)):
                raise Wrong(f"{where} the values are scrambled: features.reshape(c, h·w) mixes positions and "
                             "channels, because the channel axis is last. Use features.reshape(h·w, c), then Fᵀ·F.")
            centred = flat - flat.mean(0)
            if close(got, centred.T @ centred / (h * w)):
                raise Wrong(f"{where} you subtracted the channel means first: that is the covariance "
                             "(style.covariance), not the Gram matrix.")
            hint = ratio_hint(float(got[0, 0]), float(want[0, 0]), {
                "not normalised: you have Σ_p F[p, i] F[p, j]; divide by the number of positions h·w": h * w,
                "you divided by h·w·c; divide by the number of positions h·w only": 1 / c,
                "you divided by (h·w)²; divide by h·w once": 1 / (h * w),
                "you divided by c; divide by the number of positions h·w": h * w / c,
            })
            if hint and close(got, want * (got[0, 0] / want[0, 0])):
                raise Wrong(f"{where} the matrix is off by a factor {got[0, 0] / want[0, 0]:.4g}: {hint}.")
            raise Wrong(f"{where} G[0, 0] = {got[0, 0]:.5g} but expected {want[0, 0]:.5g} "
                         "(G[i, j] = (1 / h·w) Σ_p F[p, i] F[p, j]).")
        return "(1 / h·w) Fᵀ·F, symmetric, shape (c, c), as in style.gram_matrix."

    return report(name, body)


def check_style_layer_loss(fn: Callable) -> bool:
    """Check ``fn(features [h, w, c], target_gram [c, c]) -> scalar`` against ``mean((G(F) − A)²)``."""
    name = "style_layer_loss"
    if not need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(3)
        h, w, c = 4, 5, 6
        f = jnp.asarray(rng.standard_normal((h, w, c)).astype(np.float32))
        other = jnp.asarray(rng.standard_normal((h + 2, w, c)).astype(np.float32))
        a = style.gram_matrix(other)
        got = scalar(call_student(fn, f, a, refuse=REFUSE["style_layer_loss"]))
        diff = np.asarray(style.gram_matrix(f) - a, np.float64)
        want = float(np.mean(diff ** 2))
        where = f"you return {got:.6g}, expected {want:.6g}"
        if not np.isclose(got, want, rtol=1e-4):
            if np.isclose(got, np.mean(np.abs(diff)), rtol=1e-4):
                raise Wrong(f"{where}: that is the mean absolute difference; square the differences.")
            if np.isclose(got, np.sqrt(np.sum(diff ** 2)), rtol=1e-4) or np.isclose(got, np.sqrt(want), rtol=1e-4):
                raise Wrong(f"{where}: you took a square root (a distance); the loss is the mean of the squares.")
            g_raw = np.asarray(style.gram_matrix(f), np.float64) * h * w
            if np.isclose(got, np.mean((g_raw - np.asarray(a)) ** 2), rtol=1e-4):
                raise Wrong(f"{where}: your Gram matrix is not normalised by h·w; use style.gram_matrix "
                             "(or divide by the number of positions).")
            hint = ratio_hint(got, want, {
                "you summed over the c² entries; take the mean": c * c,
                "you have Gatys' ¼ factor; this library uses the plain mean of the squared differences": 0.25,
            })
            raise Wrong(f"{where}: {hint}." if hint else where + ". The loss is mean((G(F) − A)²).")
        same = scalar(call_student(fn, f, style.gram_matrix(f), refuse=REFUSE["style_layer_loss"]))
        if not np.isclose(same, 0.0, atol=1e-7):
            raise Wrong(f"the loss of features against their own Gram matrix should be 0; you return {same:.6g}.")
        shuffled = f.reshape(h * w, c)[rng.permutation(h * w)].reshape(h, w, c)
        if not np.isclose(scalar(call_student(fn, shuffled, a, refuse=REFUSE["style_layer_loss"])), got, rtol=1e-4):
            raise Wrong("shuffling the positions of the features changed your loss, but the Gram matrix ignores layout.")
        return "mean((G(F) − A)²), 0 for a perfect match, blind to layout."

    return report(name, body)


# ---------------------------------------------------------------------------------------------------
# 03: total variation and the multi-layer style loss.

def check_tv_loss(fn: Callable) -> bool:
    """Check ``fn(image [H, W, 3]) -> scalar`` against :func:`gantransfer.pipeline.style.total_variation_loss`."""
    name = "tv_loss"
    if not need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(4)
        for hw in [(5, 7), (8, 4)]:
            img = jnp.asarray(rng.uniform(size=(*hw, 3)).astype(np.float32))
            got = scalar(call_student(fn, img, refuse=REFUSE["tv_loss"]))
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
                    raise Wrong(f"{where}: {hint}.")
            raise Wrong(where + ". TV = mean|x[i+1, j] − x[i, j]| + mean|x[i, j+1] − x[i, j]|.")
        flat = jnp.full((6, 6, 3), 0.3, jnp.float32)
        if not np.isclose(scalar(call_student(fn, flat, refuse=REFUSE["tv_loss"])), 0.0, atol=1e-7):
            raise Wrong("a flat image has no variation: its TV must be 0.")
        return "mean absolute difference of vertical plus horizontal neighbours, as in style.total_variation_loss."

    return report(name, body)


def check_style_loss(fn: Callable) -> bool:
    """Check ``fn(features, target_grams, layer_weights) -> scalar`` against :func:`gantransfer.pipeline.style.style_loss`.

    ``features`` is ``{layer: [1, h, w, c]}``, ``target_grams`` ``{layer: [1, c, c]}``, ``layer_weights``
    ``{layer: w_l}``.
    """
    name = "style_loss"
    if not need_callable(name, fn):
        return False

    def body():
        rng = np.random.default_rng(5)
        shapes = {"relu1_1": (1, 8, 8, 4), "relu2_1": (1, 4, 4, 6), "relu3_1": (1, 2, 2, 8)}
        feats = {k: jnp.asarray(rng.standard_normal(s).astype(np.float32)) for k, s in shapes.items()}
        grams = {k: style.gram_matrix(jnp.asarray(rng.standard_normal(s).astype(np.float32))) for k, s in shapes.items()}
        weights = {"relu1_1": 0.5, "relu2_1": 2.0, "relu3_1": 1.0}
        got = scalar(call_student(fn, feats, grams, dict(weights), refuse=REFUSE["style_loss"]))
        want = float(style.style_loss(feats, grams, layer_weights=weights))
        if np.isclose(got, want, rtol=1e-4):
            only = {"relu2_1": 1.0}
            got1 = scalar(call_student(fn, feats, grams, only, refuse=REFUSE["style_loss"]))
            want1 = float(style.style_loss(feats, grams, layer_weights=only))
            if not np.isclose(got1, want1, rtol=1e-4):
                raise Wrong(f"with layer_weights={only} you return {got1:.6g}, expected {want1:.6g}: "
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
                raise Wrong(f"{where}: {hint}.")
        raise Wrong(where + ". L_style = Σ_l w_l · mean((G_l(x) − A_l)²).")

    return report(name, body)


#: Every checker by exercise name.
CHECKERS: dict[str, Callable[[Callable], bool]] = {
    "receptive_field": check_receptive_field,
    "content_loss": check_content_loss,
    "gram_matrix": check_gram_matrix,
    "style_layer_loss": check_style_layer_loss,
    "tv_loss": check_tv_loss,
    "style_loss": check_style_loss,
    "adain": exercises_advanced.check_adain,
    "style_mix": exercises_advanced.check_style_mix,
    "hinge_d_loss": exercises_advanced.check_hinge_d_loss,
    "d_step": exercises_steps.check_d_step,
    "g_step": exercises_steps.check_g_step,
    "gatys_loop": exercises_steps.check_gatys_loop,
    "reshape_counts": exercises_questions.check_reshape_counts,
    "gram_size": exercises_questions.check_gram_size,
    "which_block": exercises_questions.check_which_block,
    "tiles_gram": exercises_questions.check_tiles_gram,
    "repainted_ssim": exercises_questions.check_repainted_ssim,
    "style_ratio": exercises_questions.check_style_ratio,
    "warping_error": exercises_video.check_warping_error,
    "seam_ratio": exercises_video.check_seam_ratio,
}
