"""The ablation of issue 22: what the adversarial term changes in a per-style generator.

The same generator, steps and data with (i) the adversarial term only (``style_weight 0``), (ii) the Gram loss only
(``adv_weight 0``: Johnson et al. 2016), (iii) both (the defaults); several seeds each. Every trained generator is
judged on photos it never saw, at ``--size`` px, by figures a loss may have trained on and figures none did:

* ``style_ratio`` and ``structure`` (:mod:`gantransfer.methods.judging`, as ``../shared/bench/judge.py``);
* ``sharpness``: the mean absolute Laplacian of the picture's luminance over that of the style image at the same
  scale (1 = as crisp as the style; blur lowers it, noise raises it);
* ``probe_accuracy``: a fresh patch discriminator (:func:`gantransfer.pipeline.discriminator.init_patch_critic`, 16 px
  patches, never seen in training) trained for ``--probe-steps`` to tell crops of the pictures of the *training*
  photos from crops of the style, then tested on crops of the held-out pictures and held-out crops of the style: a
  two-sample test, 0.5 = indistinguishable.

    python scripts/gan_ablation.py --style stained_glass --steps 500 --seeds 0 1 2 -o data/bench/gan_ablation.json
    python scripts/gan_ablation.py --style stained_glass --steps 500 --seeds 0 --variants "D patch 9" "D patch 25" \
        "G width 16" -o data/bench/gan_questions.json   # the seed's first question (against "both", seed 0)
    python scripts/gan_ablation.py --merge A.json B.json ... -o OUT.json   # runs split over cores, joined
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gantransfer.core import samples
from gantransfer.methods import judging
from gantransfer.pipeline import discriminator, extractor, style_generator
from gantransfer.training import batches, style_gan

sys.path.insert(0, str(Path(__file__).parent))
from judge_heldout import _photo  # noqa: E402  (the held-out photos, as the other judging scripts build them)

#: Photos no generator trained on (the training photos are the bundled ones).
HELD_OUT_PHOTOS = ("camera", "motorcycle_left", "clock")
VARIANTS = {"adversarial only": dict(style_weight=0.0), "Gram only": dict(adv_weight=0.0), "both": {}}
#: The seed's two questions (one change from the defaults each): D's patch, G's width, who leads the game.
QUESTIONS = {"D patch 4": dict(d_patch=4), "D patch 9": dict(d_patch=9), "D patch 25": dict(d_patch=25),
             "G width 16": dict(width=16), "G width 48": dict(width=48), "D lr 1e-3": dict(d_learning_rate=1e-3),
             "D steps 2": dict(d_steps=2)}
CHOICES = {**VARIANTS, **QUESTIONS}


def sharpness(picture: np.ndarray, reference: np.ndarray) -> float:
    """Mean |Laplacian| of the luminance of ``picture`` over that of ``reference`` (both ``[H, W, 3]``)."""
    def mean_laplacian(img):
        y = img @ np.array([0.299, 0.587, 0.114], np.float32)
        lap = -4 * y[1:-1, 1:-1] + y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:]
        return float(np.mean(np.abs(lap)))
    return mean_laplacian(picture) / max(mean_laplacian(reference), 1e-12)


def _crops(rng, pictures, n, side):
    out = []
    for _ in range(n):
        img = pictures[rng.integers(len(pictures))]
        y, x = rng.integers(img.shape[0] - side + 1), rng.integers(img.shape[1] - side + 1)
        out.append(img[y:y + side, x:x + side])
    return jnp.asarray(np.stack(out))


def probe_accuracy(train_fakes, test_fakes, style_img, *, steps: int = 300, side: int = 64, seed: int = 0) -> float:
    """Train a fresh 16 px patch ``D`` on ``train_fakes`` against the top half of ``style_img``; its accuracy on
    ``test_fakes`` against the bottom half (mean over patches, 0.5 threshold on σ(logit))."""
    rng = np.random.default_rng(seed)
    half = style_img.shape[0] // 2
    style_train, style_test = [style_img[:half]], [style_img[half:]]
    d = discriminator.init_patch_critic(jax.random.key(seed + 100), d_patch=16, d_width=32)
    tx = optax.adam(2e-4, b1=0.5)
    opt = tx.init(d)

    @jax.jit
    def step(d, opt, real, fake):
        loss, grads = jax.value_and_grad(
            lambda d: discriminator.d_loss(discriminator.patch_critic(d, real), discriminator.patch_critic(d, fake), kind="ns"))(d)
        updates, opt = tx.update(grads, opt, d)
        return optax.apply_updates(d, updates), opt, loss

    for _ in range(steps):
        d, opt, _ = step(d, opt, _crops(rng, style_train, 8, side), _crops(rng, train_fakes, 8, side))
    real = discriminator.patch_critic(d, _crops(rng, style_test, 64, side)) > 0
    fake = discriminator.patch_critic(d, _crops(rng, test_fakes, 64, side)) <= 0
    return float((jnp.mean(real) + jnp.mean(fake)) / 2)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--style", default="stained_glass")
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(CHOICES))
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--probe-steps", type=int, default=300)
    p.add_argument("--pictures", type=Path, default=None, help="also write each picture here (PNG)")
    p.add_argument("--merge", nargs="+", type=Path, default=None, help="instead: join the rows of these result files")
    p.add_argument("-o", "--output", type=Path, default=None)
    args = p.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.output)
    vgg = extractor.load_params()
    style_img = batches.load_resized(args.style, kind="style", side=args.size)
    held_out = {name: _photo(name, args.size) for name in HELD_OUT_PHOTOS}
    trained_on = [samples.content_image(name, size=args.size) for name in samples.CONTENT_NAMES]
    rows = []
    for variant in args.variants:
        for seed in args.seeds:
            config = style_gan.StyleGanConfig(steps=args.steps, seed=seed, checkpoint_every=args.steps,
                                              **CHOICES[variant])
            start = time.perf_counter()
            for report in style_gan.train_style_gan(config, style=args.style, workdir=None, vgg_params=vgg):
                pass
            seconds = time.perf_counter() - start
            g = report.state["g"]
            pictures = {name: style_generator.stylize(g, photo) for name, photo in held_out.items()}
            judged = [judging.judge(vgg, pictures[name], held_out[name], style_img) for name in held_out]
            row = {"variant": variant, "seed": seed, "steps": args.steps, "train_seconds": round(seconds, 1),
                   "style_ratio": float(np.mean([j["style_ratio"] for j in judged])),
                   "structure": float(np.mean([j["structure"] for j in judged])),
                   "worst_structure": float(min(j["structure"] for j in judged)),
                   "sharpness": float(np.mean([sharpness(pic, style_img) for pic in pictures.values()])),
                   "probe_accuracy": probe_accuracy([style_generator.stylize(g, p) for p in trained_on],
                                                    list(pictures.values()), style_img, steps=args.probe_steps,
                                                    seed=seed),
                   "final_losses": {k: round(v, 4) for k, v in report.metrics.items()}}
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.pictures is not None:
                from gantransfer.core import images
                for name, pic in pictures.items():
                    images.save_image(pic, args.pictures / f"{variant.replace(' ', '_')}_s{seed}_{name}.png",
                                      overwrite=True)
    doc = {"style": args.style, "size": args.size, "held_out_photos": list(HELD_OUT_PHOTOS),
           "summary_min_mean_max": summarise(rows), "rows": rows}
    _write(doc, args.output)
    return 0


def summarise(rows: list[dict]) -> dict:
    """``{variant: {figure: [min, mean, max]}}`` over the seeds of each variant, in the rows' order."""
    summary = {}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant]
        summary[variant] = {k: [round(min(r[k] for r in mine), 3), round(float(np.mean([r[k] for r in mine])), 3),
                                round(max(r[k] for r in mine), 3)]
                            for k in ("style_ratio", "structure", "worst_structure", "sharpness", "probe_accuracy")}
    return summary


def merge(paths: list[Path], output: Path | None) -> int:
    """Join the rows of several runs of this script (e.g. one per CPU core) into one file, summarised again."""
    docs = [json.loads(Path(p).read_text()) for p in paths]
    rows = [row for doc in docs for row in doc["rows"]]
    doc = {**{k: docs[0][k] for k in ("style", "size", "held_out_photos")}, "summary_min_mean_max": summarise(rows),
           "rows": rows}
    _write(doc, output)
    return 0


def _write(doc: dict, output: Path | None) -> None:
    print(json.dumps(doc["summary_min_mean_max"], indent=1))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
