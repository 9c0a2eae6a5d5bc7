"""Judge a candidate steady generator on the video clip against the style's plain one (docs/applications.md).

The clip of ``gantransfer.tools.bench_video`` (24 frames, 256 px), each frame painted by the plain shipped generator
and by the candidate file, per frame (no flow blend); prints one JSON line: the candidate's warping error over the
plain one's (Farnebäck flow, as the bench), and the relative change of the middle frame's style ratio and structure.

    gantransfer train gan --style stained_glass --init-generator shipped --stability-weight 15 --steps 300 \\
        --workdir runs/steady15_stained_glass --export /tmp/sg15.npz
    python scripts/steady_eval.py stained_glass /tmp/sg15.npz
"""
import json
import sys

from gantransfer.core import samples
from gantransfer.methods import judging, temporal
from gantransfer.pipeline import extractor
from gantransfer.tools import bench_video, video

style, path = sys.argv[1], sys.argv[2]
frames = bench_video.clip(256, 24)
pairs = temporal.clip_pairs(frames, method=bench_video.EVAL_FLOW)
params = extractor.load_params()
style_image = samples.load_input(style, kind="style", size=256)
res = {}
for name, decoder in (("plain", None), ("candidate", path)):
    paint = video.frame_stylizer(style, "gan", side=256, decoder=decoder)
    out = [paint(x) for x in frames]
    res[name] = {"err": temporal.warping_error(out, pairs=pairs), **judging.judge(params, out[12], frames[12], style_image)}
p, c = res["plain"], res["candidate"]
print(json.dumps({"style": style, "file": path, "error_ratio": round(c["err"] / p["err"], 3),
                  "style_change": round(c["style_ratio"] / p["style_ratio"] - 1, 3),
                  "structure_change": round(c["structure"] / p["structure"] - 1, 3),
                  "plain": {k: round(v, 4) for k, v in p.items()}, "candidate": {k: round(v, 4) for k, v in c.items()}}))
