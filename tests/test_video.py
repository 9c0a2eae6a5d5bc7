"""gantransfer video and methods.temporal: files and folders in and out, the sound kept, bad inputs, Ctrl-C and
resuming; the warp, the occlusion mask, the blend and the warping error against NumPy; temporal consistency
lowering the warping error on a synthetic pan."""
import json
import os
import signal
import subprocess
import sys
import time
import wave

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from gantransfer import cli
from gantransfer.methods import temporal
from gantransfer.pipeline import style_generator
from gantransfer.tools import video, video_io

pytestmark = pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # the test starts ffmpeg itself

STYLE = "brush_strokes"          # has a shipped per-style generator: the default method, one fast pass a frame
H, W, T = 48, 64, 6


def _pattern(h, w, shift, seed=0):
    """A smooth random texture seen through a window moved ``shift`` px to the right: a camera pan."""
    rng = np.random.default_rng(seed)
    big = rng.random((h // 4 + 4, (w + 4 * T) // 4 + 4, 3)).astype(np.float32)
    big = np.asarray(Image.fromarray((big * 255).astype(np.uint8)).resize((big.shape[1] * 4, big.shape[0] * 4),
                                                                        Image.BICUBIC), np.float32) / 255
    return big[8:8 + h, 8 + shift:8 + shift + w]


def _frames(n=T, step=2):
    return [_pattern(H, W, step * t) for t in range(n)]


def _write_clip(path, *, audio=True, n=T):
    wav = path.with_suffix(".wav")
    if audio:
        with wave.open(str(wav), "wb") as f:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(8000)
            # a quarter of a second: shorter than the pictures (0.75 s), as a clip cut after its sound ended
            f.writeframes((np.sin(np.arange(2000) * 0.2) * 8000).astype("<i2").tobytes())
    writer = imageio_ffmpeg.write_frames(str(path), (W, H), fps=8, macro_block_size=1, ffmpeg_log_level="error",
                                         audio_path=str(wav) if audio else None, audio_codec="aac" if audio else None)
    writer.send(None)
    for frame in _frames(n):
        writer.send((frame * 255).astype(np.uint8).tobytes())
    writer.close()
    return path


def _probe(path):
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    count = sum(1 for _ in reader)
    return meta, count


def _run(argv, capsys):
    code = cli.main(["video", *argv, "--quiet"])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_file_in_file_out_keeps_the_sound(tmp_path, capsys):
    clip = _write_clip(tmp_path / "clip.mp4")
    code, out, err = _run([str(clip), "-o", str(tmp_path / "out.mp4"), "--style", STYLE, "--size", "64"], capsys)
    assert code == 0, err
    meta, count = _probe(tmp_path / "out.mp4")
    assert count == T and meta["size"] == (64, 48) and meta.get("audio_codec") == "aac"
    assert "with the input's sound" in out
    assert not (tmp_path / "out.mp4.frames").exists()          # the working frames are gone once encoded


def test_file_without_sound_and_folder_output(tmp_path, capsys):
    clip = _write_clip(tmp_path / "clip.mp4", audio=False)
    code, out, err = _run([str(clip), "-o", str(tmp_path / "frames"), "--style", STYLE, "--size", "32"], capsys)
    assert code == 0, err
    written = sorted((tmp_path / "frames").glob("frame_*.png"))
    assert len(written) == T
    assert all(Image.open(p).size == (32, 24) for p in written)
    # temporal on (the default) with a style whose steady generator ships: that generator, no flow blend
    settings = json.loads((tmp_path / "frames" / video.MANIFEST).read_text())
    assert settings["decoder"] == str(style_generator.steady_generator_path(STYLE)) and settings["blend"] == 0.0
    assert "temporal on: steady generator" in out


def test_temporal_setup_chooses_the_steady_generator_or_the_flow_blend():
    steady = style_generator.steady_generator_path(STYLE)
    assert steady.is_file()                                   # shipped (docs/gan.md has the command)
    assert video.temporal_setup(STYLE, "gan", on=True) == (steady, 0.0)      # brush strokes: the generator alone
    glass = style_generator.steady_generator_path("stained_glass")
    assert video.temporal_setup("stained_glass", "gan", on=True) == (glass, 0.2)   # stained glass: and a light blend
    assert video.temporal_setup(STYLE, "gan", on=False) == (None, 0.0)
    assert video.temporal_setup(STYLE, "adain", on=True) == (None, temporal.DEFAULT_BLEND)
    assert video.temporal_setup("pointillism", "gan", on=True) == (None, temporal.DEFAULT_BLEND)
    own = video.temporal_setup(STYLE, "gan", on=True, decoder="mine.npz", blend=0.3)
    assert own == ("mine.npz", 0.3)                           # the user's choices win


@pytest.mark.parametrize("suffix", [".gif", ".webm"])
def test_folder_in_file_out(tmp_path, capsys, suffix):
    folder = tmp_path / "in"
    folder.mkdir()
    for t, frame in enumerate(_frames()):
        Image.fromarray((frame * 255).astype(np.uint8)).save(folder / f"{t:03d}.png")
    out_path = tmp_path / f"out{suffix}"
    code, out, err = _run([str(folder), "-o", str(out_path), "--style", STYLE, "--size", "64", "--temporal", "off",
                           "--fps", "10"], capsys)
    assert code == 0, err
    meta, count = _probe(out_path)
    assert count == T and meta["size"] == (64, 48) and not meta.get("audio_codec")


def test_gif_in_folder_out(tmp_path, capsys):
    frames = [Image.fromarray((f * 255).astype(np.uint8)) for f in _frames()]
    frames[0].save(tmp_path / "clip.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    code, out, err = _run([str(tmp_path / "clip.gif"), "-o", str(tmp_path / "out"), "--style", STYLE, "--size", "64"],
                          capsys)
    assert code == 0, err
    assert len(list((tmp_path / "out").glob("frame_*.png"))) == T


def _bad_inputs(tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    empty = tmp_path / "empty"
    empty.mkdir()
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.new("RGB", (64, 48)).save(mixed / "a.png")
    Image.new("RGB", (32, 48)).save(mixed / "b.png")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    clip = _write_clip(tmp_path / "clip.mp4", audio=False, n=2)
    return {"not a video": ([str(fake), "-o", str(tmp_path / "o.mp4")], "is not a video"),
            "empty folder": ([str(empty), "-o", str(tmp_path / "o.mp4")], "holds no frames"),
            "different sizes": ([str(mixed), "-o", str(tmp_path / "o.mp4")], "frames of different sizes"),
            "unwritable output": ([str(clip), "-o", str(blocker / "o.mp4")], ""),
            "unwritable folder": ([str(clip), "-o", str(blocker / "frames")], ""),
            "bad suffix": ([str(clip), "-o", str(tmp_path / "o.txt")], "output must be a video file"),
            "no such input": ([str(tmp_path / "nothing.mp4"), "-o", str(tmp_path / "o.mp4")], "no video"),
            "existing output": ([str(clip), "-o", str(fake)], "exists; pass --overwrite")}


@pytest.mark.parametrize("case", ["not a video", "empty folder", "different sizes", "unwritable output",
                                  "unwritable folder", "bad suffix", "no such input", "existing output"])
def test_bad_inputs_exit_2_with_one_line(tmp_path, capsys, case):
    argv, match = _bad_inputs(tmp_path)[case]
    code, out, err = _run([*argv, "--style", STYLE, "--size", "32"], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gantransfer video: error: ") and match in lines[0], err


def test_ctrl_c_keeps_the_frames_and_the_same_command_finishes(tmp_path, capsys, monkeypatch):
    clip = _write_clip(tmp_path / "clip.mp4", audio=False)
    argv = [str(clip), "-o", str(tmp_path / "out"), "--style", STYLE, "--size", "64"]
    real = video.frame_stylizer

    def interrupted(*args, **kwargs):
        inner, calls = real(*args, **kwargs), []

        def stylize(frame):
            calls.append(1)
            if len(calls) == 4:
                raise KeyboardInterrupt
            return inner(frame)
        return stylize

    monkeypatch.setattr(video, "frame_stylizer", interrupted)
    code, _, err = _run(argv, capsys)
    assert code == 130 and "3 frame(s) are in" in err and "run the same command again" in err
    assert len(list((tmp_path / "out").glob("frame_*.png"))) == 3
    monkeypatch.setattr(video, "frame_stylizer", real)
    code, _, err = _run(argv, capsys)
    assert code == 0 and "continuing from frame 3" in err
    resumed = [video_io.read_frame(p) for p in sorted((tmp_path / "out").glob("frame_*.png"))]
    code, _, _ = _run([*argv[:2], str(tmp_path / "whole"), *argv[3:]], capsys)
    whole = [video_io.read_frame(p) for p in sorted((tmp_path / "whole").glob("frame_*.png"))]
    assert len(resumed) == len(whole) == T
    assert max(np.abs(a - b).max() for a, b in zip(resumed, whole)) < 4 / 255   # only the PNG's rounding differs


def test_a_real_ctrl_c_keeps_the_frames_and_says_how_to_finish(tmp_path):
    """SIGINT to the command while it works (the optimisation: seconds a frame): exit 130, the frames written are
    there, one line says how to finish."""
    clip = _write_clip(tmp_path / "clip.mp4", audio=False)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(video.Path(video.__file__).parents[2]),
                                                                     os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from gantransfer.cli import main; sys.exit(main())",
                             "video", str(clip), "-o", str(out), "--style", STYLE, "--method", "optimize",
                             "--size", "32", "--quiet"], stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 240
    while not list(out.glob("frame_*.png")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=120)[1]
    kept = len(list(out.glob("frame_*.png")))
    assert proc.returncode == 130, err
    assert 1 <= kept < T and f"{kept} frame(s) are in {out}" in err and "run the same command again" in err, err


def test_other_settings_in_the_folder_are_not_overwritten(tmp_path, capsys):
    clip = _write_clip(tmp_path / "clip.mp4", audio=False, n=2)
    argv = [str(clip), "-o", str(tmp_path / "out"), "--style", STYLE, "--size", "32"]
    assert _run(argv, capsys)[0] == 0
    code, _, err = _run([*argv[:-1], "64"], capsys)
    assert code == 2 and "--overwrite" in err
    assert json.loads((tmp_path / "out" / video.MANIFEST).read_text())["shape"] == [24, 32]


# ------------------------------------------------------------------------------------------------------
# methods.temporal against NumPy


def _numpy_warp(image, flow):
    """Bilinear sampling at (x + dx, y + dy), coordinates clamped to the image (an independent reference)."""
    h, w = image.shape[:2]
    ys, xs = np.mgrid[:h, :w].astype(np.float64)
    px = np.clip(xs + flow[..., 0], 0, w - 1)
    py = np.clip(ys + flow[..., 1], 0, h - 1)
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (px - x0)[..., None], (py - y0)[..., None]
    return (image[y0, x0] * (1 - fx) * (1 - fy) + image[y0, x1] * fx * (1 - fy)
            + image[y1, x0] * (1 - fx) * fy + image[y1, x1] * fx * fy)


def test_warp_matches_numpy_bilinear(rng):
    image = rng.random((20, 28, 3)).astype(np.float32)
    flow = (rng.standard_normal((20, 28, 2)) * 3).astype(np.float32)
    np.testing.assert_allclose(temporal.warp(image, flow), _numpy_warp(image, flow), atol=2e-3)
    np.testing.assert_array_equal(temporal.warp(image, np.zeros((20, 28, 2), np.float32)), image)


def test_occlusion_mask_of_a_translation():
    h, w, dx, dy = 16, 20, 3, -2
    backward = np.broadcast_to(np.array([-dx, -dy], np.float32), (h, w, 2))     # where each pixel was before
    forward = -backward
    ys, xs = np.mgrid[:h, :w]
    expected = ((xs - dx >= 0) & (xs - dx <= w - 1) & (ys - dy >= 0) & (ys - dy <= h - 1)).astype(np.float32)
    np.testing.assert_array_equal(temporal.occlusion_mask(backward, forward), expected)
    # a forward flow that does not undo the backward one: nothing is trusted
    assert temporal.occlusion_mask(backward, forward + 5).sum() == 0


def test_blend_and_pair_error_match_numpy(rng):
    s, p = rng.random((2, 8, 10, 3)).astype(np.float32)
    mask = (rng.random((8, 10)) > 0.5).astype(np.float32)
    out = temporal.blend(s, p, mask, weight=0.7)
    np.testing.assert_allclose(out, s + 0.7 * mask[..., None] * (p - s), atol=1e-6)
    pair = temporal.FramePair(np.zeros((8, 10, 2), np.float32), mask)
    expected = (np.sum((s.astype(np.float64) - p) ** 2, axis=-1) * mask).sum() / mask.sum()
    assert temporal.pair_error(s, p, pair) == pytest.approx(expected, rel=1e-6)


def test_contrast_restoring_blend_matches_scipy(rng):
    from scipy.ndimage import gaussian_filter

    s, p = rng.random((2, 20, 24, 3)).astype(np.float32)
    mask = (rng.random((20, 24)) > 0.3).astype(np.float32)
    b = s + 0.5 * mask[..., None] * (p - s)
    blur = lambda x: np.stack([gaussian_filter(x[..., c].astype(np.float64), 2.0, mode="mirror", truncate=4.0)
                               for c in range(3)], -1)
    mean_b = blur(b)
    std_b = np.sqrt(np.maximum(blur(b * b) - mean_b ** 2, 0))
    std_s = np.sqrt(np.maximum(blur(s * s) - blur(s) ** 2, 0))
    expected = mean_b + (b - mean_b) * (std_s + 1e-3) / (std_b + 1e-3)
    np.testing.assert_allclose(temporal.blend(s, p, mask, weight=0.5, contrast=2.0), expected, atol=2e-4)
    # nothing trusted: the stylised frame itself
    np.testing.assert_allclose(temporal.blend(s, p, np.zeros((20, 24)), weight=0.5, contrast=2.0), s, atol=1e-5)


def test_flow_recovers_a_pan():
    a, b = _pattern(48, 64, 0), _pattern(48, 64, 3)
    flow = temporal.optical_flow(b, a)                       # b's pixels were 3 px further right in a
    inner = flow[8:-8, 8:-8]
    assert np.median(inner[..., 0]) == pytest.approx(3, abs=0.3) and abs(np.median(inner[..., 1])) < 0.3


def test_temporal_lowers_the_warping_error_of_a_flickering_method():
    frames = _frames(8, step=2)
    rng = np.random.default_rng(1)

    def flickering(frame):    # a 'stylisation' that paints each frame with fresh high-frequency noise
        return np.clip(frame * 0.6 + 0.4 * rng.random(frame.shape, np.float32), 0, 1)

    per_frame = [f.output for f in temporal.stabilize(frames, flickering, weight=0.0)]
    steady = [f.output for f in temporal.stabilize(frames, flickering, weight=0.8, contrast=0.0)]
    e_off, e_on = temporal.warping_error(per_frame, frames), temporal.warping_error(steady, frames)
    assert e_on <= 0.5 * e_off, (e_on, e_off)
    default = [f.output for f in temporal.stabilize(frames, flickering)]
    assert temporal.warping_error(default, frames) < e_off
    # the figure is the NumPy definition over the same flow and masks
    pairs = [temporal.frame_pair(frames[t - 1], frames[t]) for t in range(1, 8)]
    by_hand = np.mean([(np.sum((steady[t] - _numpy_warp(steady[t - 1], pairs[t - 1].flow)) ** 2, -1)
                        * pairs[t - 1].mask).sum() / pairs[t - 1].mask.sum() for t in range(1, 8)])
    assert e_on == pytest.approx(by_hand, rel=0.05)
    # the clip's pairs computed once serve every stylisation of it: the same figures
    once = temporal.clip_pairs(frames)
    assert len(once) == 7
    assert temporal.warping_error(steady, pairs=once) == pytest.approx(e_on, rel=1e-6)
    assert temporal.warping_error(per_frame, pairs=once) == pytest.approx(e_off, rel=1e-6)


def test_camera_clip_pans_and_zooms(rng):
    photo = rng.random((96, 128, 3)).astype(np.float32)
    clip = temporal.camera_clip(photo, frames=4, side=32)
    assert clip.shape == (4, 32, 32, 3) and clip.dtype == np.float32
    assert np.abs(clip[0] - clip[-1]).mean() > 0.05


@pytest.mark.parametrize("call, match", [
    (lambda: temporal.warp(np.zeros((4, 4, 3)), np.zeros((4, 5, 2))), "flow must be"),
    (lambda: temporal.blend(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)), np.zeros((4, 4)), weight=1.5), "weight"),
    (lambda: temporal.optical_flow(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)), method="x"), "method"),
    (lambda: temporal.warping_error([np.zeros((4, 4, 3))], [np.zeros((4, 4, 3))]), "at least 2"),
    (lambda: temporal.camera_clip(np.zeros((8, 8, 3), np.float32), frames=1), "frames"),
    (lambda: temporal.warping_error([np.zeros((4, 4, 3))] * 2), "one of the two"),
    (lambda: temporal.warping_error([np.zeros((4, 4, 3))] * 3, pairs=[]), "need 2 pairs"),
])
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_flicker_bench_measures_the_steady_generator_and_what_temporal_on_does():
    from gantransfer.tools import bench_video

    result = bench_video.flicker("gan", STYLE, side=64, frames=3, blends=(0.0, 0.2), contrast=((0.2, 2.0),))
    assert [(r["blend"], r["contrast"]) for r in result["sweep"]] == [(0.0, 0.0), (0.2, 0.0), (0.2, 2.0)]
    assert result["steady_generator"] == f"checkpoints/gan/steady/{STYLE}.npz" and len(result["steady_sweep"]) == 3
    assert result["sweep"][0]["error_ratio"] == 1.0                       # every ratio against the plain per frame
    on = result["temporal_on"]                                            # brush strokes: the steady generator alone
    assert on["generator"] == "steady" and all(on[k] == v for k, v in result["steady_sweep"][0].items())
    assert on["meets_target"] == (on["error_ratio"] <= 0.5 and on["style_ratio_change"] <= 0.1
                                  and on["structure_change"] >= -0.1)
    other = bench_video.flicker("gan", "stained_glass", side=64, frames=3, blends=(0.0,), contrast=())
    assert "steady_sweep" in other and "temporal_on" not in other        # its command's blend 0.2 was not measured

