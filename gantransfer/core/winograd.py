"""A 3 × 3 convolution by Winograd's minimal filtering F(2 × 2, 3 × 3): 16 multiplications for 4 outputs, not 36.

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016). The image is cut into 4 × 4 tiles
that overlap by two pixels; each tile ``d`` and the kernel ``g`` are carried into a 4 × 4 "Winograd domain"
(``V = Bᵀ d B``, ``U = G g Gᵀ``), multiplied element by element there (for many channels: 16 matrix products
``[tiles, C_in] × [C_in, C_out]``), and brought back as a 2 × 2 block of outputs (``Y = Aᵀ M A``). The products do
4 / 9 of a direct convolution's multiply-adds; the transforms are additions only.

Where it pays was measured, not assumed (a 2-core EPYC, 2026-12-07; docs/speed.md): for VGG16's third block at
the sizes Gatys transfer uses (256 channels, 43 × 64 px) a 3 × 3 convolution took 10 ms against 16 ms with XLA's
own (``jax.lax.conv_general_dilated``); for the first two blocks (64–128 channels, 85 × 128 px and more) it was 2–3
× slower, because the products there have only 64–128 to sum over and the tile shuffles move more memory than
the products save. So :mod:`gantransfer.pipeline.extractor` uses it for block 3 only, and only where the image's
gradient is taken many times with the same kernels (:func:`gantransfer.pipeline.extractor.winograd_kernels`).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

#: The kernel transform ``G`` (4 × 3) of F(2 × 2, 3 × 3): ``U = G g Gᵀ``.
KERNEL_TRANSFORM = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]], np.float32)


def winograd_kernel(kernel: jax.Array) -> jax.Array:
    """A 3 × 3 kernel ``[3, 3, C_in, C_out]`` (HWIO) in the Winograd domain: ``[16, C_in, C_out]`` (``G g Gᵀ``).

    Done once per kernel, not per call: :func:`winograd_conv3x3` takes the result.
    """
    if kernel.ndim != 4 or kernel.shape[:2] != (3, 3):
        raise ValueError(f"winograd_kernel expects a kernel [3, 3, C_in, C_out]; got {kernel.shape}")
    u = jnp.einsum("ai,ijcd,bj->abcd", KERNEL_TRANSFORM, kernel, KERNEL_TRANSFORM)
    return u.reshape(16, *kernel.shape[2:])


def _tile_rows(x0, x1, x2, x3):
    # Bᵀ applied along one axis of the tile: Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]].
    return x0 - x2, x1 + x2, x2 - x1, x1 - x3


def _outputs(m0, m1, m2, m3):
    # Aᵀ applied along one axis: Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]].
    return m0 + m1 + m2, m1 - m2 - m3


def winograd_conv3x3(x: jax.Array, u: jax.Array) -> jax.Array:
    """3 × 3 convolution of ``x`` ``[N, H, W, C_in]`` with one pixel of zero padding ("SAME", stride 1).

    ``u``: the kernel from :func:`winograd_kernel`, ``[16, C_in, C_out]``. Returns ``[N, H, W, C_out]``, equal to
    ``jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME")`` up to float rounding (≈ 1e-6 relative). Odd sides
    are padded to whole tiles and cropped back.
    """
    if x.ndim != 4 or u.ndim != 3 or u.shape[0] != 16:
        raise ValueError(f"winograd_conv3x3 expects x [N, H, W, C] and u [16, C_in, C_out]; got {x.shape}, {u.shape}")
    n, h, w, c = x.shape
    if c != u.shape[1]:
        raise ValueError(f"winograd_conv3x3: x has {c} channels, the kernel expects {u.shape[1]}")
    tiles_h, tiles_w = -(-h // 2), -(-w // 2)
    padded = jnp.pad(x, ((0, 0), (1, 2 * tiles_h + 1 - h), (1, 2 * tiles_w + 1 - w), (0, 0)))
    # Tile (i, j) covers padded rows 2i … 2i + 3 and columns 2j … 2j + 3; stride-2 slices pick one row (column)
    # of every tile at once, so the transform is additions of whole shifted views.
    rows = _tile_rows(*(padded[:, a:a + 2 * tiles_h:2] for a in range(4)))                 # 4 × [N, th, W + 2, C]
    v = jnp.stack([t for r in rows for t in _tile_rows(*(r[:, :, b:b + 2 * tiles_w:2] for b in range(4)))])
    m = jnp.einsum("ktc,kcd->ktd", v.reshape(16, n * tiles_h * tiles_w, c), u)           # [16, tiles, C_out]
    m = m.reshape(4, 4, n, tiles_h, tiles_w, -1)
    cols = [_outputs(*(m[a, b] for a in range(4))) for b in range(4)]                   # [b][r]: [N, th, tw, C_out]
    y = [jnp.stack(_outputs(*(cols[b][r] for b in range(4))), axis=3) for r in range(2)]  # [r]: [N, th, tw, 2, C]
    y = jnp.stack(y, axis=2)                                                             # [N, th, 2, tw, 2, C_out]
    return y.reshape(n, 2 * tiles_h, 2 * tiles_w, -1)[:, :h, :w]
