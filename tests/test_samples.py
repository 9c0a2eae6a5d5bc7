"""Tests for gantransfer.core.samples: bundled content photos and procedural style images."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from PIL import Image

from gantransfer.core import paint, samples
from gantransfer.core.paint import STYLE_NAMES, make_style
from gantransfer.core.samples import (
    CONTENT_NAMES,
    DATA_DIR,
    DEFAULT_CONTENT,
    DEFAULT_STYLE,
    bundled_kind,
    contact_sheet,
    content_image,
    is_bundled,
    regenerate_styles,
    style_image,
)


def test_names():
    assert len(CONTENT_NAMES) >= 5 and len(STYLE_NAMES) >= 7
    assert DEFAULT_CONTENT in CONTENT_NAMES and DEFAULT_STYLE in STYLE_NAMES
    assert not set(CONTENT_NAMES) & set(STYLE_NAMES)
    for name in STYLE_NAMES:
        assert callable(getattr(paint, f"make_{name}"))


@pytest.mark.parametrize("name", STYLE_NAMES)
def test_style_deterministic_and_seeded(name):
    a = make_style(name, size=64)
    b = make_style(name, size=64)
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, make_style(name, size=64, seed=1))


@pytest.mark.parametrize("name", STYLE_NAMES)
def test_style_smallest_size(name):
    img = make_style(name, size=paint.MIN_STYLE_SIZE)
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    assert img.std() > 5  # not blank


def test_make_style_errors():
    with pytest.raises(ValueError, match="valid names: .*stained_glass"):
        make_style("starry_night")
    with pytest.raises(ValueError, match=">= 32"):
        make_style(DEFAULT_STYLE, size=31)
    with pytest.raises(ValueError, match=">= 32"):
        make_style(DEFAULT_STYLE, size=64.0)
    with pytest.raises(ValueError, match="valid names: .*astronaut"):
        content_image("lena")
    with pytest.raises(ValueError, match="valid names"):
        style_image("astronaut")
    with pytest.raises(ValueError, match="positive integer"):
        content_image(DEFAULT_CONTENT, size=0)


def test_committed_styles_are_byte_identical(tmp_path):
    """Regenerating the styles gives exactly the PNG bytes committed in data/styles."""
    paths = regenerate_styles(tmp_path)
    assert [p.name for p in paths] == [f"{n}.png" for n in STYLE_NAMES]
    for path in paths:
        committed = DATA_DIR / "styles" / path.name
        assert committed.is_file(), f"{committed} missing: run python -m gantransfer.core.samples"
        if committed.read_bytes() != path.read_bytes():
            with Image.open(committed) as im:
                same_pixels = np.array_equal(np.asarray(im.convert("RGB")), make_style(path.stem))
            pytest.fail(f"{committed} differs from a fresh generation "
                        f"({'same pixels: PNG encoder differs' if same_pixels else 'pixels differ'}); "
                        "run python -m gantransfer.core.samples")


def test_committed_contents_match(tmp_path):
    paths = samples.regenerate_contents(tmp_path)
    for path in paths:
        committed = DATA_DIR / "content" / path.name
        assert committed.read_bytes() == path.read_bytes(), committed


def _colour_histogram(img: np.ndarray) -> np.ndarray:
    q = np.minimum((img * 4).astype(np.int64), 3)
    idx = q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]
    return np.bincount(idx.ravel(), minlength=64) / idx.size


def test_styles_are_visibly_different():
    """Pairwise, the 64-bin colour histograms differ in at least a quarter of their mass."""
    hists = {n: _colour_histogram(style_image(n)) for n in STYLE_NAMES}
    for a, b in itertools.combinations(STYLE_NAMES, 2):
        distance = 0.5 * np.abs(hists[a] - hists[b]).sum()
        assert distance > 0.25, (a, b, distance)


@pytest.mark.parametrize("name", CONTENT_NAMES)
def test_content_image(name):
    img = content_image(name)
    assert img.dtype == np.float32 and img.ndim == 3 and img.shape[2] == 3
    assert max(img.shape[:2]) <= samples.CONTENT_MAX_SIDE
    assert 0.0 <= img.min() and img.max() <= 1.0
    small = content_image(name, size=100)
    assert small.dtype == np.float32 and max(small.shape[:2]) == 100
    assert 0.0 <= small.min() and small.max() <= 1.0
    assert abs(small.shape[0] / small.shape[1] - img.shape[0] / img.shape[1]) < 0.03


def test_bundled_path_is_the_png_the_loaders_read():
    path = samples.bundled_path("chelsea", "content")
    assert path == DATA_DIR / "content" / "chelsea.png" and path.is_file()
    pixels = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255
    np.testing.assert_array_equal(pixels, content_image("chelsea"))
    assert samples.bundled_path("waves", "style") == DATA_DIR / "styles" / "waves.png"
    with pytest.raises(ValueError, match="waves"):
        samples.bundled_path("waves", "content")          # a style is not a content photo


def test_style_image_sizes():
    img = style_image(DEFAULT_STYLE)
    assert img.shape == (512, 512, 3) and img.dtype == np.float32
    small = style_image(DEFAULT_STYLE, size=96)
    assert small.shape == (96, 96, 3) and small.dtype == np.float32
    assert 0.0 <= small.min() and small.max() <= 1.0


def test_fallback_without_data_dir(tmp_path, monkeypatch):
    """Installed without the repo's data/, images come from skimage.data and make_style."""
    from_files = content_image("chelsea"), style_image("mondrian")
    monkeypatch.setattr(samples, "DATA_DIR", tmp_path / "missing")
    np.testing.assert_array_equal(content_image("chelsea"), from_files[0])
    np.testing.assert_array_equal(style_image("mondrian"), from_files[1])


def test_bundled():
    assert is_bundled("astronaut") and bundled_kind("astronaut") == "content"
    assert is_bundled("waves") and bundled_kind("waves") == "style"
    assert not is_bundled("photo.png") and bundled_kind("photo.png") is None


def test_contact_sheet():
    sheet = contact_sheet(STYLE_NAMES[:5], thumb=64, columns=3)
    assert sheet.dtype == np.uint8
    assert sheet.shape == (2 * (64 + 22 + 8) + 8, 3 * (64 + 8) + 8, 3)
    content = contact_sheet(kind="content", thumb=48, columns=10)
    assert content.shape == (48 + 22 + 8 + 8, len(CONTENT_NAMES) * (48 + 8) + 8, 3)
    with pytest.raises(ValueError, match="valid names"):
        contact_sheet(["astronaut"], kind="style")
    with pytest.raises(ValueError, match="kind"):
        contact_sheet(kind="photo")


def test_cli_regenerate_and_check(tmp_path, capsys):
    assert samples.main(["--only", "contents", "--data-dir", str(tmp_path)]) == 0
    assert samples.main(["--check", "--only", "contents", "--data-dir", str(tmp_path)]) == 0
    (tmp_path / "content" / f"{CONTENT_NAMES[0]}.png").write_bytes(b"not a png")
    assert samples.main(["--check", "--only", "contents", "--data-dir", str(tmp_path)]) == 1
    assert "differs" in capsys.readouterr().err


def test_sources_lists_every_file_and_data_is_small():
    sources = (DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")
    files = sorted((DATA_DIR / "content").glob("*")) + sorted((DATA_DIR / "styles").glob("*"))
    assert {f.stem for f in files} == set(CONTENT_NAMES) | set(STYLE_NAMES)
    for f in files:
        rel = f.relative_to(DATA_DIR).as_posix()
        assert re.search(rf"`?{re.escape(rel)}`?", sources), f"{rel} not listed in data/SOURCES.md"
    assert sum(f.stat().st_size for f in files) < 3_000_000


def test_held_out_photos_come_from_scikit_image_and_were_not_trained_on():
    import skimage.data

    from gantransfer.core import samples

    assert not set(samples.HELD_OUT_NAMES) & set(samples.CONTENT_NAMES)
    camera = samples.held_out_photo("camera")
    np.testing.assert_array_equal(camera[..., 0] * 255, skimage.data.camera().astype(np.float32))
    assert np.array_equal(camera[..., 0], camera[..., 2])                     # grey: three equal channels
    left = samples.held_out_photo("motorcycle_left", size=100)
    assert left.shape[1] == 100 and left.dtype == np.float32 and 0 <= left.min() and left.max() <= 1
    with pytest.raises(ValueError, match="held-out photo"):
        samples.held_out_photo("astronaut")
