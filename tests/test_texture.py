"""gantransfer texture and methods.texture: the tile and its 3 × 3 repetition, the seam figure against NumPy, the
wrap-around synthesis tiling where Gatys et al.'s does not, wrap-around upsampling against SciPy, bad arguments."""
import contextlib

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from gantransfer import cli
from gantransfer.core import samples
from gantransfer.methods import texture
from gantransfer.training import texture_gan


def _numpy_seam(t):
    """Mean |difference| across the wrap-around edges over mean |difference| between neighbours inside."""
    t = np.asarray(t, np.float64)
    across = np.concatenate([np.abs(t[-1] - t[0]).ravel(), np.abs(t[:, -1] - t[:, 0]).ravel()]).mean()
    inside = np.concatenate([np.abs(t[1:] - t[:-1]).ravel(), np.abs(t[:, 1:] - t[:, :-1]).ravel()]).mean()
    return across / inside


def test_the_seam_figure_matches_numpy(rng):
    t = rng.random((10, 14, 3)).astype(np.float32)
    ramp = np.repeat(np.linspace(0, 1, 16, dtype=np.float32)[None, :, None], 12, 0).repeat(3, 2)
    for img in (t, ramp):
        assert texture_gan.seam_ratio(img) == pytest.approx(_numpy_seam(img), rel=1e-9)
    assert _numpy_seam(ramp) > 5                 # a ramp jumps back at the edge: a seam


def test_the_wrap_around_synthesis_tiles_where_the_plain_one_does_not(vgg_params):
    style = samples.style_image("waves", size=64)
    tiled, losses = texture.synthesize_tileable(style, side=64, steps=40, params=vgg_params)
    plain, _ = texture.synthesize_tileable(style, side=64, steps=40, params=vgg_params, tileable=False)
    assert losses[-1] < 0.5 * losses[0]                          # it did synthesise
    assert _numpy_seam(tiled) <= 1.5 < _numpy_seam(plain), (_numpy_seam(tiled), _numpy_seam(plain))


def test_upsample_tileable_matches_scipy_wrapped_bilinear(rng):
    small = rng.random((8, 12, 3)).astype(np.float32)
    big = texture.upsample_tileable(small, 24)
    reference = ndimage.zoom(small.astype(np.float64), (3, 2, 1), order=1, mode="grid-wrap", grid_mode=True)
    np.testing.assert_allclose(big, reference, atol=1e-6)


def test_texture_command_writes_the_tile_its_3x3_and_the_seam(tmp_path, capsys):
    out = tmp_path / "tile.png"
    code = cli.main(["texture", "waves", "-o", str(out), "--size", "64", "--steps", "12", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    tile = np.asarray(Image.open(out), np.float32) / 255
    grid = np.asarray(Image.open(tmp_path / "tile_3x3.png"), np.float32) / 255
    assert tile.shape == (64, 64, 3) and grid.shape == (192, 192, 3)
    np.testing.assert_array_equal(grid, np.tile(tile, (3, 3, 1)))
    seam = float(printed.split("seam ")[1].split()[0])
    assert seam == pytest.approx(_numpy_seam(tile), abs=0.03) and seam <= 1.5


@pytest.mark.parametrize("size, seen", [(64, 64), (512, 256)])
def test_the_gan_learns_the_style_at_most_256_px_and_paints_the_size_asked(tmp_path, capsys, monkeypatch, size, seen):
    """The texture GAN was measured on styles seen at 256 px (its D judges 18 px patches); a larger tile is painted
    by the same G from a larger noise field, not learnt from a larger style."""
    from gantransfer.tools import texture as texture_tool

    calls = []

    def fake_gan(style, *, side, steps, tileable, seed, progress):
        calls.append((max(style.shape[:2]), side, steps))
        return np.full((side, side, 3), 0.5, np.float32)

    monkeypatch.setattr(texture_tool, "gan_texture", fake_gan)
    out = tmp_path / "tile.png"
    assert cli.main(["texture", "waves", "-o", str(out), "--size", str(size), "--method", "gan", "--quiet"]) == 0
    assert calls == [(seen, size, texture_gan.TextureGanConfig().steps)]
    assert np.asarray(Image.open(out)).shape == (size, size, 3)


@pytest.mark.parametrize("argv, match", [
    (["--size", "60"], "multiple of 8"),
    (["-o", "tile.jpg"], "must end in .png"),
    (["--method", "nope"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, monkeypatch, argv, match):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) if "--method" in argv else contextlib.nullcontext():  # argparse exits itself
        code = cli.main(["texture", "waves", "--quiet", *argv])
        assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0], err


def test_an_existing_tile_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "tile.png"
    out.write_bytes(b"mine")
    assert cli.main(["texture", "waves", "-o", str(out), "--size", "64", "--quiet"]) == 2
    assert "exists" in capsys.readouterr().err and out.read_bytes() == b"mine"



def test_coarse_to_fine_keeps_the_tile_tileable(monkeypatch, vgg_params):
    """Above COARSE_FROM the synthesis starts at half the side and is upsampled with wrap-around: still seamless."""
    from gantransfer.tools import texture as texture_tool

    monkeypatch.setattr(texture_tool, "COARSE_FROM", 32)
    monkeypatch.setattr(texture_tool.texture.extractor, "load_params", lambda: vgg_params)
    done = []
    tile = texture_tool.gram_texture(samples.style_image("waves", size=64), side=64, steps=24, progress=done.append)
    assert tile.shape == (64, 64, 3) and done == [18, 6]            # three quarters coarse, the rest fine
    assert _numpy_seam(tile) <= 1.5


def test_synthesis_config_sees_the_style_at_the_scale_asked():
    from gantransfer.notebook import inversion

    default = inversion.synthesis_config(("relu1_1", "relu2_1"), size=128, steps=5)
    scaled = inversion.synthesis_config(("relu1_1", "relu2_1"), size=128, steps=5, style_scale=2.0)
    assert default.style_side(128) == 128                    # the output's own size below 256 px
    assert scaled.style_side(128) == 256                     # a 256 px style kept at its scale in a 128 px texture
    assert (scaled.content_weight, scaled.style_weight, scaled.init) == (0.0, 1.0, "noise")
