"""Receptive fields and output shapes of VGG16's layers: what part of the photo each feature can see.

A feature at layer ``l`` depends on a square patch of the input, its *receptive field*. Walking through the
layers with the jump ``j`` (input pixels between two neighbouring positions of this layer) and the field
size ``r``, a layer with kernel ``k`` and stride ``s`` gives

    r ← r + (k − 1) · j,        j ← j · s,

starting from ``r = j = 1`` at the input. VGG16's 3×3 convolutions (stride 1) widen the field by ``2j``;
its 2×2 poolings (stride 2) widen it by ``j`` and double ``j``. (Zero padding does not change the size of
the field, only where it lies at the border.)

Taught in ``notebooks/01_content_parsing.ipynb``.
"""
from __future__ import annotations

import html
from typing import Sequence

from gantransfer.pipeline import extractor


def receptive_field(kernels: Sequence[int], strides: Sequence[int]) -> int:
    """Receptive field (in input pixels) of a stack of layers with the given kernel sizes and strides.

    Args:
      kernels: kernel size of each layer, input first (1 for a point-wise layer such as a ReLU).
      strides: stride of each layer, same length.
    Returns:
      The side of the square input patch one output position depends on.
    """
    if len(kernels) != len(strides):
        raise ValueError(f"{len(kernels)} kernel sizes but {len(strides)} strides")
    field, jump = 1, 1
    for k, s in zip(kernels, strides):
        if k < 1 or s < 1:
            raise ValueError(f"kernel sizes and strides must be >= 1; got k={k}, s={s}")
        field += (k - 1) * jump
        jump *= s
    return field


def layer_geometry(name: str) -> tuple[int, int]:
    """``(kernel, stride)`` of a VGG16 layer: conv 3×3/1, ReLU 1×1/1, pool 2×2/2."""
    extractor.check_layers((name,))
    return {"conv": (3, 1), "relu": (1, 1), "pool": (2, 2)}[name[:4]]


def vgg16_table(size: int = 224, *, layers: Sequence[str] | None = None) -> list[dict]:
    """One row per VGG16 layer: name, kind, output shape for a ``size``×``size`` input, stride, receptive field.

    Args:
      size: the input's side in px.
      layers: which layers to list (all of :data:`gantransfer.pipeline.extractor.LAYER_NAMES` by default).
    Returns:
      ``[{"layer", "kind", "shape": (h, w, c), "stride", "receptive_field", "parameters"}, ...]``.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive integer; got {size!r}")
    wanted = set(extractor.check_layers(layers)) if layers is not None else None
    rows, kernels, strides, c_in = [], [], [], 3
    for name in extractor.LAYER_NAMES:
        k, s = layer_geometry(name)
        kernels.append(k)
        strides.append(s)
        c = extractor.LAYER_CHANNELS[name]
        stride = extractor.LAYER_STRIDES[name]
        n_params = (k * k * c_in * c + c) if name.startswith("conv") else 0
        if name.startswith("conv"):
            c_in = c
        if wanted is None or name in wanted:
            rows.append({
                "layer": name, "kind": {"conv": "conv 3×3", "relu": "ReLU", "pool": "max-pool 2×2"}[name[:4]],
                "shape": (size // stride, size // stride, c), "stride": stride,
                "receptive_field": receptive_field(kernels, strides), "parameters": n_params,
            })
    return rows


def table_html(rows: list[dict], *, highlight: Sequence[str] = ()) -> str:
    """Render :func:`vgg16_table` rows as an HTML table (``IPython.display.HTML``); ``highlight`` rows in bold."""
    head = ("<tr><th>layer</th><th>operation</th><th>output h × w × c</th><th>stride</th>"
            "<th>receptive field (px)</th><th>parameters</th></tr>")
    body = []
    for r in rows:
        h, w, c = r["shape"]
        cells = [r["layer"], r["kind"], f"{h} × {w} × {c}", str(r["stride"]), f"{r['receptive_field']} × {r['receptive_field']}",
                 f"{r['parameters']:,}" if r["parameters"] else "–"]
        style = ' style="font-weight:bold"' if r["layer"] in highlight else ""
        body.append(f"<tr{style}>" + "".join(f"<td>{html.escape(x)}</td>" for x in cells) + "</tr>")
    return f"<table>{head}{''.join(body)}</table>"
