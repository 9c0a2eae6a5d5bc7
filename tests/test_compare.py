"""compare.py: the method comparison (tiny sizes, 2-step optimisations, a random decoder standing in for
the shipped ones), its table, grid and command line, and the distortions of notebook 06."""
import dataclasses
import json

import jax
import numpy as np
import pytest

from gantransfer.methods import distortions, optimize, registry
from gantransfer.pipeline import decoder_file, generator, style_generator
from gantransfer.tools import compare, compare_report

SIZE = 48


def _use_level_decoders(patch, paths):
    """The registry's multilevel entry reading ``paths`` instead of the shipped level decoders."""
    patch.setitem(registry.METHODS, "multilevel", dataclasses.replace(registry.METHODS["multilevel"], decoders=paths))


@pytest.fixture(scope="module")
def tiny_decoder(tmp_path_factory):
    """A random, narrow decoder exported like a trained one: the feed-forward methods' stand-in."""
    path = tmp_path_factory.mktemp("decoders") / "decoder.npz"
    return decoder_file.export_decoder(generator.init_decoder(jax.random.key(0), width=0.125), path, width=0.125)


@pytest.fixture(scope="module")
def tiny_level_decoders(tmp_path_factory):
    """Random, narrow level decoders exported like the shipped ones: multilevel's stand-ins."""
    folder = tmp_path_factory.mktemp("levels")
    return {layer: decoder_file.export_decoder(generator.init_decoder(jax.random.key(i), width=0.125, layer=layer),
                                        folder / f"decoder_{layer}.npz", width=0.125, layer=layer)
            for i, layer in enumerate(generator.MULTILEVEL_LAYERS)}


@pytest.fixture(scope="module")
def comparison(tiny_decoder, tiny_level_decoders, tmp_path_factory, vgg_params):
    configs = {"adam": compare.default_config("adam", SIZE, steps=2),
               "lbfgs": compare.default_config("lbfgs", SIZE, steps=2)}
    seen = []
    with pytest.MonkeyPatch.context() as patch:
        _use_level_decoders(patch, tiny_level_decoders)
        patch.setattr(style_generator, "SHIPPED_DIR", tmp_path_factory.mktemp("no_generators"))
        result = compare.compare_methods(
            ["astronaut"], ["waves"], size=SIZE, configs=configs, decoder=tiny_decoder, params=vgg_params,
            progress=False, on_result=lambda r, c: seen.append((r.method, len(c.results))))
    result.seen = seen
    return result


def test_every_method_runs_or_is_skipped_with_its_reason(comparison):
    assert comparison.methods == compare.METHODS
    assert comparison.ran() == ["adam", "lbfgs", "adain", "wct", "multilevel", "mosaic"]
    assert set(comparison.skipped) == {"gan"}
    assert "no adversarial generator for style 'waves'" in comparison.skipped["gan"]
    assert "gantransfer train gan --style waves" in comparison.skipped["gan"]
    with pytest.raises(KeyError, match="skipped"):
        comparison.result("gan", "astronaut", "waves")
    # the callback saw every result as it came, baselines first
    assert [m for m, _ in comparison.seen] == ["photo", "style", "adam", "lbfgs", "adain", "wct", "multilevel",
                                               "mosaic"]
    assert [n for _, n in comparison.seen] == list(range(1, 9))


def test_results_images_and_metrics(comparison):
    photo = comparison.contents["astronaut"]
    assert photo.shape == (SIZE, SIZE, 3) and comparison.styles["waves"].shape == (SIZE, SIZE, 3)
    for r in comparison.results:
        assert r.image.shape == photo.shape and r.image.dtype == np.float32
        assert 0.0 <= r.image.min() and r.image.max() <= 1.0
        assert r.content_distance >= 0 and r.style_distance >= 0 and -1 <= r.ssim <= 1
        if r.method in compare.METHODS:
            assert r.seconds > 0
    same = comparison.result("photo", "astronaut", "waves")
    assert same.content_distance == pytest.approx(0, abs=1e-6) and same.ssim == pytest.approx(1, abs=1e-5)
    assert same.style_ratio == pytest.approx(1) and same.seconds is None
    style = comparison.result("style", "astronaut", "waves")
    assert style.style_distance < 1e-6 * same.style_distance      # the style itself: Gram distance ≈ 0
    assert "excluded" in comparison.result("adain", "astronaut", "waves").timing
    assert "included" in comparison.result("adam", "astronaut", "waves").timing
    # two steps from the photo: still close to it, a little stylised
    adam = comparison.result("adam", "astronaut", "waves")
    assert adam.ssim > 0.5 and adam.style_ratio < 1
    assert comparison.settings["adam"]["steps"] == [2] and comparison.settings["lbfgs"]["optimizer"] == "lbfgs"
    assert comparison.settings["wct"]["width"] == 0.125
    assert comparison.settings["multilevel"]["alpha"] == generator.MULTILEVEL_ALPHA
    assert list(comparison.settings["multilevel"]["decoders"]) == list(generator.MULTILEVEL_LAYERS)


def test_multilevel_is_the_cascade_and_is_skipped_without_its_decoders(comparison, tiny_level_decoders, vgg_params,
                                                                        tmp_path):
    photo, style = comparison.contents["astronaut"], comparison.styles["waves"]
    expected = generator.generate_multilevel(vgg_params, decoder_file.load_level_decoders(tiny_level_decoders),
                                             photo[None], [style[None]])[0]
    np.testing.assert_allclose(comparison.result("multilevel", "astronaut", "waves").image, np.asarray(expected),
                               atol=1e-3)
    with pytest.MonkeyPatch.context() as patch:
        _use_level_decoders(patch, {**tiny_level_decoders, "relu2_1": tmp_path / "none.npz"})
        skipped = compare.compare_methods(["astronaut"], ["waves"], size=SIZE, methods=("multilevel",),
                                          params=vgg_params, progress=False, baselines=False)
    assert skipped.ran() == [] and "--layer relu2_1" in skipped.skipped["multilevel"]


def test_table_has_the_columns_means_pairs_and_skipped(comparison, tmp_path):
    path = compare_report.write_table(comparison, tmp_path / "compare.md")
    text = path.read_text()
    headers = [line for line in text.splitlines() if line.startswith("| method |")]
    assert headers[0].split("|")[1:-1] == [" method ", " pairs ", " seconds ", " content LPIPS ↓ ",
                                          " style Gram distance ↓ ", " style ratio ↓ ", " SSIM ↑ "]
    assert headers[1].split("|")[1:4] == [" method ", " content ", " style "]
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    for method in ("adam", "lbfgs", "adain", "wct", "multilevel", "mosaic"):
        assert sum(line.startswith(f"| `{method}` |") for line in rows) == 1        # one pair row
        assert any(line.startswith(f"| `{method}` (") for line in rows)             # one mean row
    assert any(line.startswith("| `gan` (") and "skipped" in line for line in rows)
    assert "- `gan`: no adversarial generator for style" in text
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.count("|") in (8, 9), line          # every row complete (7 or 8 columns)
    short = compare_report.table_markdown(comparison, heading=False)
    assert short.startswith("## Means per method") and "Made by" not in short
    with pytest.raises(FileExistsError):
        compare_report.write_table(comparison, path)
    compare_report.write_table(comparison, path, overwrite=True)
    doc = json.loads(compare_report.write_json(comparison, tmp_path / "compare.json").read_text())
    assert doc["skipped"].keys() == {"gan"} and len(doc["results"]) == 8 and "image" not in doc["results"][0]


def test_grid_rows_are_pairs_and_columns_photo_style_methods(comparison, tmp_path):
    from PIL import Image

    grid = compare_report.grid_image(comparison, cell=40)
    pad, left, top = 6, 110, 22            # figures.image_grid's layout
    assert grid.shape == (top + 1 * (40 + pad) + pad, left + (2 + 6) * (40 + pad) + pad, 3)
    path = compare_report.write_grid(comparison, tmp_path / "compare.png", cell=40)
    assert np.asarray(Image.open(path)).shape == grid.shape


def test_bad_arguments_fail_before_any_work(tiny_decoder, tmp_path):
    kw = dict(size=SIZE, progress=False)
    with pytest.raises(ValueError, match="unknown method"):
        compare.compare_methods(["astronaut"], ["waves"], methods=("adam", "sgd"), **kw)
    with pytest.raises(ValueError, match="multiple of 8"):
        compare.compare_methods(["astronaut"], ["waves"], size=50, progress=False)
    with pytest.raises(ValueError, match="at least one"):
        compare.compare_methods([], ["waves"], **kw)
    with pytest.raises(ValueError, match="size=48"):
        compare.compare_methods(["astronaut"], ["waves"], configs={"adam": optimize.TransferConfig(size=64)}, **kw)
    with pytest.raises(ValueError, match="needs 'lbfgs'"):
        compare.compare_methods(["astronaut"], ["waves"], configs={"lbfgs": optimize.TransferConfig(size=SIZE)}, **kw)
    with pytest.raises(ValueError, match="neither a bundled"):
        compare.compare_methods(["astronaut"], ["no_such_style"], methods=("adam",), **kw)
    bad = tmp_path / "bad.npz"
    np.savez(bad, __width__=np.float32(0.125))
    with pytest.raises(ValueError, match="cannot read the decoder"):
        compare.compare_methods(["astronaut"], ["waves"], methods=("wct",), decoder=bad, **kw)


def test_the_per_style_generators_run_when_every_style_has_one(tmp_path, monkeypatch, vgg_params):
    monkeypatch.setattr(style_generator, "SHIPPED_DIR", tmp_path)
    style_generator.save_generator(style_generator.init_generator(jax.random.key(0), width=16), tmp_path / "waves.npz")
    result = compare.compare_methods(["astronaut"], ["waves"], size=SIZE, methods=("gan",), baselines=False,
                                     params=vgg_params, progress=False)
    assert result.ran() == ["gan"] and not result.skipped
    assert result.result("gan", "astronaut", "waves").image.shape == (SIZE, SIZE, 3)
    assert "waves.npz" in result.settings["gan"]["decoders"]["waves"]
    skipped = compare.compare_methods(["astronaut"], ["waves", "cubist"], size=SIZE, methods=("gan",),
                                      baselines=False, params=vgg_params, progress=False)
    assert skipped.ran() == [] and "style 'cubist'" in skipped.skipped["gan"]


def test_command_line(comparison, tiny_decoder, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(style_generator, "SHIPPED_DIR", tmp_path / "no_generators")
    out = tmp_path / "figs" / "cmp"
    argv = ["--quick", "--size", str(SIZE), "--methods", "adam", "adain", "gan", "--steps", "1",
            "--decoder", str(tiny_decoder), "-o", str(out), "--quiet"]
    assert compare_report.main(argv) == 0
    captured = capsys.readouterr()
    assert "skipped gan: no adversarial generator for style" in captured.err
    for suffix in (".md", ".png", ".json"):
        assert out.with_name("cmp" + suffix).is_file()
    doc = json.loads(out.with_name("cmp.json").read_text())
    assert doc["pairs"] == [["astronaut", "stained_glass"]] and doc["settings"]["adam"]["steps"] == [1]
    assert compare_report.main(argv) == 2                                  # never overwrites without --overwrite
    assert "exists" in capsys.readouterr().err
    assert compare_report.main(["--size", "50", "-o", str(tmp_path / "x")]) == 2
    assert "multiple of 8" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        compare_report.main(["--methods", "sgd"])
    assert exit_.value.code == 2


def test_shuffle_tiles_keeps_every_pixel_and_moves_the_layout(rng):
    image = rng.random((40, 36, 3), dtype=np.float32)
    out = distortions.shuffle_tiles(image, 4, seed=1)
    assert out.shape == (40, 36, 3)
    tiles = lambda x: sorted(x[i * 10:(i + 1) * 10, j * 9:(j + 1) * 9].tobytes() for i in range(4) for j in range(4))
    assert tiles(out) == tiles(image) and not np.array_equal(out, image)
    assert distortions.shuffle_tiles(image, 3).shape == (39, 36, 3)      # cropped to multiples of 3
    with pytest.raises(ValueError):
        distortions.shuffle_tiles(image, 0)


@pytest.mark.parametrize("kind", sorted(distortions.DISTORTIONS))
def test_distortions(kind, rng):
    image = rng.random((32, 40, 3), dtype=np.float32)
    other = rng.random((20, 20, 3), dtype=np.float32)
    np.testing.assert_array_equal(distortions.distort(image, kind, 0.0, other=other), image)
    out = distortions.distort(image, kind, 1.0, other=other, seed=3)
    assert out.shape == image.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    assert not np.allclose(out, image)
    np.testing.assert_array_equal(out, distortions.distort(image, kind, 1.0, other=other, seed=3))   # deterministic


def test_distort_rejects_bad_arguments(rng):
    image = rng.random((32, 32, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="kind"):
        distortions.distort(image, "sepia", 0.5)
    with pytest.raises(ValueError, match="strength"):
        distortions.distort(image, "noise", 1.5)
    with pytest.raises(ValueError, match="other"):
        distortions.distort(image, "blend", 0.5)


def test_time_vs_size(vgg_params):
    seen = []
    out = compare.time_vs_size([32], methods=("adam", "wct"), params=vgg_params, width=0.125, repeats=1,
                               on_measure=lambda m, s, t: seen.append((m, s)))
    assert out["sizes"] == [32] and out["width"] == 0.125 and seen == [("adam", 32), ("wct", 32)]
    assert set(out["seconds"]) == {"adam", "wct"} and all(out["seconds"][m][32] > 0 for m in ("adam", "wct"))
    assert out["units"]["adam"] == compare.TIMED_UNITS["adam"]
    with pytest.raises(ValueError, match="bench --only gan"):
        compare.time_vs_size([32], methods=("gan",))
    with pytest.raises(ValueError, match="multiple of 8"):
        compare.time_vs_size([30], methods=("adam",))
