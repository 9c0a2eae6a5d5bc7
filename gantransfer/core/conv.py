"""A 2-D convolution written as one matrix product over the image's patches (im2col), for small networks on CPU.

XLA's CPU convolution is slow for the few channels of the GANs' small generators and critics (3–64), and slowest
in the backward pass: a step of the texture GAN (``G`` of 32 → 16 → 8 channels, a two-layer PatchGAN, batch 4 of
48 px crops) took 82 ms with ``jax.lax.conv_general_dilated`` and 11 ms with this function, batch 16 520 ms against
67 ms (a 2-core EPYC, 2026-12-07; ``docs/gan.md``). Gathering the ``k × k`` shifted views side by side and
multiplying by the kernel as a ``[k·k·C_in, C_out]`` matrix turns the work into one dense matrix product, which
XLA:CPU runs near the machine's peak, and its gradient into slices and another product.

Not a rule for every network, so measured where it is used: VGG16's gradient (64–512 channels, 256 × 160 px)
takes 192 ms either way, and the per-style generator ``G_S``, whose convolutions are 1 × 1 mixes (already a matrix
product to XLA), per-channel filters written out and a 3-channel stem, painted a 512 px picture in 65 ms this way
against 30 ms with XLA's convolution, so both keep ``jax.lax.conv_general_dilated``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

PADDINGS = ("VALID", "SAME")


def conv2d(x: jax.Array, kernel: jax.Array, *, stride: int = 1, padding: str = "VALID") -> jax.Array:
    """Cross-correlate ``x`` ``[N, H, W, C_in]`` with ``kernel`` ``[k, k, C_in, C_out]`` (HWIO, as ``lax.conv``).

    ``padding="VALID"`` uses only whole windows; ``"SAME"`` pads with zeros as TensorFlow and
    ``jax.lax.conv_general_dilated`` do (output side ``ceil(H / stride)``, the odd pixel of padding after).
    Returns ``[N, H_out, W_out, C_out]`` in ``x``'s dtype, equal to ``conv_general_dilated`` up to rounding.
    Reflected or wrap-around borders: pad ``x`` first (``jnp.pad``) and use ``"VALID"``.
    """
    if x.ndim != 4 or kernel.ndim != 4:
        raise ValueError(f"conv2d expects x [N, H, W, C] and kernel [k, k, C_in, C_out]; got {x.shape} and {kernel.shape}")
    kh, kw, c_in, c_out = kernel.shape
    if x.shape[-1] != c_in:
        raise ValueError(f"conv2d: x has {x.shape[-1]} channels, the kernel expects {c_in}")
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {', '.join(PADDINGS)}; got {padding!r}")
    if not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive int; got {stride!r}")
    if padding == "SAME":
        pads = []
        for size, k in ((x.shape[1], kh), (x.shape[2], kw)):
            total = max((-(-size // stride) - 1) * stride + k - size, 0)
            pads.append((total // 2, total - total // 2))
        x = jnp.pad(x, ((0, 0), *pads, (0, 0)))
    n, h, w, _ = x.shape
    if h < kh or w < kw:
        raise ValueError(f"conv2d: the input ({h}×{w} after padding) is smaller than the kernel ({kh}×{kw})")
    h_out, w_out = (h - kh) // stride + 1, (w - kw) // stride + 1
    # the k·k shifted (and strided) views side by side: [N, H_out, W_out, k·k·C_in], HWIO's order
    patches = jnp.concatenate([x[:, i:i + stride * (h_out - 1) + 1:stride, j:j + stride * (w_out - 1) + 1:stride]
                               for i in range(kh) for j in range(kw)], axis=-1)
    y = patches.reshape(-1, kh * kw * c_in) @ kernel.reshape(kh * kw * c_in, c_out).astype(x.dtype)
    return y.reshape(n, h_out, w_out, c_out)
