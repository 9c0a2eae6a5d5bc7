"""Training data: images resized once into pools, random crops in numpy, a batch a pure function of ``(seed, step)``.

So a resumed run sees exactly the batches an uninterrupted one would, and reproduces its losses. Shared by
decoder and adversarial training; the data pipeline stays out of the step time (FACTS: about half of a slow
step was data).

Taught in ``notebooks/04_fusion.ipynb``.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from gantransfer.core import paint, resize, samples


class Batch(NamedTuple):
    """``content`` and ``style``: ``[B, crop, crop, 3]`` float32 in [0, 1]."""

    content: np.ndarray
    style: np.ndarray


def load_pool(sources: Sequence, *, kind: str, side: int) -> list[np.ndarray]:
    """Load images (bundled names, files, or every image file of a folder) with shorter side ``side``."""
    paths: list = []
    for source in sources:
        if isinstance(source, (str, Path)) and Path(source).is_dir():
            found = sorted(p for p in Path(source).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
            if not found:
                raise ValueError(f"folder {source} holds no .png/.jpg images")
            paths += found
        else:
            paths.append(source)
    if not paths:
        raise ValueError(f"no {kind} images given")
    return [load_resized(source, kind=kind, side=side) for source in paths]


def load_resized(source, *, kind: str, side: int) -> np.ndarray:
    """One image (a bundled name of ``kind``, a file, an array) resized so its shorter side is ``side``:
    ``[H, W, 3]`` float32."""
    img = samples.load_input(source, kind=kind)
    h, w = img.shape[:2]
    scale = side / min(h, w)
    return resize.resize_to(img, max(side, round(h * scale)), max(side, round(w * scale)))


def default_styles(variants: int = 1) -> list:
    """The bundled style names, plus each procedural style painted with seeds ``1 … variants - 1``
    (``[512, 512, 3]`` float32 arrays): more style statistics for a decoder to learn from."""
    return list(paint.STYLE_NAMES) + [paint.make_style(name, seed=seed).astype(np.float32) / 255.0
                                        for seed in range(1, variants) for name in paint.STYLE_NAMES]


def make_batch(pool_content: list, pool_style: list, *, seed: int, step: int, batch: int, crop: int) -> Batch:
    """Random crops (with horizontal flips) for ``step``; the same ``(seed, step)`` gives the same batch."""
    rng = np.random.default_rng([seed, step])

    def crops(pool):
        out = np.empty((batch, crop, crop, 3), np.float32)
        for i in range(batch):
            img = pool[rng.integers(len(pool))]
            y = rng.integers(img.shape[0] - crop + 1)
            x = rng.integers(img.shape[1] - crop + 1)
            patch = img[y:y + crop, x:x + crop]
            out[i] = patch[:, ::-1] if rng.random() < 0.5 else patch
        return out

    return Batch(crops(pool_content), crops(pool_style))
