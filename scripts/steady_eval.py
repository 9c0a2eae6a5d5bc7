"""Judge a candidate steady generator on the video clip against the style's plain one (docs/applications.md).

:func:`gantransfer.tools.bench_video.flicker` with the candidate file as the steady generator: the clip of the
bench (24 frames, 256 px), per frame and with each flow blend given (``BLEND:CONTRAST``, e.g. ``0.2:2``); prints one
JSON line per setting: the candidate's warping error over the plain generator's per frame (Farnebäck flow, as the
bench), the relative change of the middle frame's style ratio and structure, and whether the video target holds.

    gantransfer train gan --style stained_glass --init-generator shipped --stability-weight 15 --steps 300 \\
        --workdir runs/steady15_stained_glass --export /tmp/sg15.npz
    python scripts/steady_eval.py stained_glass /tmp/sg15.npz 0.2:2
"""
import json
import sys

from gantransfer.tools import bench_video

style, path, *specs = sys.argv[1:]
settings = [tuple(float(v) for v in spec.split(":")) for spec in specs]
result = bench_video.flicker("gan", style, side=256, frames=24, blends=(0.0, *(w for w, _ in settings)),
                             contrast=tuple((w, c) for w, c in settings if c), steady=path)
wanted = {(0.0, 0.0), *settings}
for row in result["steady_sweep"]:
    if (row["blend"], row["contrast"]) in wanted:
        print(json.dumps({"style": style, "file": path, "blend": row["blend"], "contrast": row["contrast"],
                          **{k: row[k] for k in ("error_ratio", "style_ratio_change", "structure_change")},
                          "meets_target": bench_video.meets_target(row)}))
