"""Tests for gantransfer.core.images: loading, conversion, validation, resizing and saving."""

import io
import os
import struct
import urllib.error
import urllib.request
import zlib

import numpy as np
import pytest
from PIL import Image

from gantransfer.core import images
from gantransfer.core.images import check_image_array, load_image, save_image, to_uint8
from gantransfer.core.resize import center_crop_square, resize_longest, resize_to


def _rgb(height=40, width=48, seed=0):
    """A random uint8 [H, W, 3] image."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _encode(img, fmt="PNG", **kwargs):
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _assert_image(out, height, width):
    assert out.shape == (height, width, 3)
    assert out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------


def test_load_path_str_and_pathlib(tmp_path):
    pixels = _rgb()
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    for source in (path, str(path)):
        out = load_image(source)
        _assert_image(out, 40, 48)
        np.testing.assert_allclose(out, pixels / 255.0, atol=1e-6)


def test_load_bytes_bytearray_and_pil():
    pixels = _rgb()
    data = _encode(Image.fromarray(pixels))
    for source in (data, bytearray(data), Image.fromarray(pixels)):
        np.testing.assert_allclose(load_image(source), pixels / 255.0, atol=1e-6)


def test_load_arrays_of_each_dtype_and_shape():
    pixels = _rgb()
    np.testing.assert_allclose(load_image(pixels), pixels / 255.0, atol=1e-6)
    np.testing.assert_allclose(load_image(pixels.astype(np.uint16) * 257), pixels / 255.0, atol=1e-6)
    np.testing.assert_allclose(load_image(pixels / 255.0), pixels / 255.0, atol=1e-6)
    grey = load_image(pixels[..., 0])
    _assert_image(grey, 40, 48)
    np.testing.assert_array_equal(grey[..., 0], grey[..., 2])
    _assert_image(load_image(pixels[..., :1]), 40, 48)
    mask = load_image(np.eye(40, 48, dtype=bool))
    assert set(np.unique(mask)) == {0.0, 1.0}


def test_load_float_array_tolerance_and_range_error():
    values = np.full((32, 32, 3), 0.5)
    values[0, 0] = [1.0005, -0.0005, 0.5]
    out = load_image(values)
    assert out.min() == 0.0 and out.max() == 1.0
    with pytest.raises(ValueError, match=r"\[0, 255\].*expected \[0, 1\]"):
        load_image(np.linspace(0, 255, 32 * 32 * 3).reshape(32, 32, 3))
    with pytest.raises(ValueError, match="NaN"):
        load_image(np.full((32, 32, 3), np.nan))


def test_load_rgba_array_composites_on_white():
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[:16, :, 3] = 255  # Top half opaque black, bottom half fully transparent.
    out = load_image(rgba)
    assert out[:16].max() == 0.0 and out[16:].min() == 1.0


def test_load_jax_array():
    jnp = pytest.importorskip("jax.numpy")
    out = load_image(jnp.full((32, 40, 3), 0.25, dtype=jnp.float32))
    _assert_image(out, 32, 40)
    assert isinstance(out, np.ndarray)
    batch = jnp.full((2, 32, 40, 3), 0.5, dtype=jnp.bfloat16)
    assert check_image_array(batch).dtype == np.float32
    assert to_uint8(batch[:1]).shape == (32, 40, 3)


def test_load_bad_array_shapes_and_dtypes():
    with pytest.raises(ValueError, match="got shape"):
        load_image(np.zeros((32, 32, 5), np.uint8))
    with pytest.raises(ValueError, match="images\\[0\\]"):
        load_image(np.zeros((1, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="dtype int64"):
        load_image(np.zeros((32, 32, 3), np.int64))
    with pytest.raises(TypeError):
        load_image(None)
    with pytest.raises(FileNotFoundError, match="nope.png"):
        load_image("nope.png")


# ---------------------------------------------------------------------------------------------
# Colour modes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "1", "CMYK", "I"])
def test_modes_become_rgb(mode):
    img = Image.fromarray(_rgb(36, 44)).convert(mode)
    out = load_image(_encode(img, "TIFF") if mode in ("CMYK", "F", "I") else _encode(img))
    _assert_image(out, 36, 44)


def test_float_tiff_in_unit_range():
    values = np.random.default_rng(0).random((36, 44), dtype=np.float32)
    out = load_image(_encode(Image.fromarray(values), "TIFF"))
    np.testing.assert_allclose(out[..., 0], values, atol=1e-6)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        load_image(_encode(Image.fromarray(values * 255), "TIFF"))


def test_grey_png_matches_values():
    grey = _rgb()[..., 0]
    out = load_image(_encode(Image.fromarray(grey)))
    for c in range(3):
        np.testing.assert_allclose(out[..., c], grey / 255.0, atol=1e-6)


def test_palette_with_transparency_composites_on_white():
    img = Image.new("P", (32, 32), 0)
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)  # 0: red, 1: blue.
    img.paste(1, (0, 0, 32, 16))  # Top half blue, bottom red; blue is transparent.
    out = load_image(_encode(img, transparency=1))
    np.testing.assert_allclose(out[0, 0], [1, 1, 1])  # Transparent blue -> white.
    np.testing.assert_allclose(out[-1, 0], [1, 0, 0])


def test_rgba_png_composites_on_white():
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :16, 3] = 255
    rgba[:, 16:, 3] = 0
    out = load_image(_encode(Image.fromarray(rgba)))
    np.testing.assert_allclose(out[0, 0], [1, 0, 0])
    np.testing.assert_allclose(out[0, -1], [1, 1, 1])


def test_16bit_png_uses_full_range():
    values = np.linspace(0, 65535, 32 * 40).reshape(32, 40).astype(np.uint16)
    img = Image.fromarray(values)
    assert img.mode == "I;16"
    out = load_image(_encode(img))
    np.testing.assert_allclose(out[..., 1], values / 65535.0, atol=1e-6)
    assert out.max() == 1.0


def test_cmyk_jpeg():
    img = Image.new("CMYK", (40, 32), (0, 255, 255, 0))  # Pure red in CMYK.
    out = load_image(_encode(img, "JPEG"))
    _assert_image(out, 32, 40)
    np.testing.assert_allclose(out.mean(axis=(0, 1)), [1, 0, 0], atol=0.05)


def test_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # Rotate 90 degrees clockwise when displayed.
    path = tmp_path / "rotated.jpg"
    Image.fromarray(_rgb(40, 64)).save(path, exif=exif)
    assert load_image(path).shape == (64, 40, 3)


def test_animated_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (40, 32), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = load_image(path)
    _assert_image(out, 32, 40)
    np.testing.assert_allclose(out.mean(axis=(0, 1)), [1, 0, 0], atol=0.02)


# ---------------------------------------------------------------------------------------------
# Bad files
# ---------------------------------------------------------------------------------------------


def test_empty_file_and_empty_bytes(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.png.*is empty"):
        load_image(path)
    with pytest.raises(ValueError, match="upload.png.*is empty"):
        load_image(b"", name="upload.png")


def test_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n")
    with pytest.raises(ValueError, match="notes.png.*not a readable image"):
        load_image(path)


@pytest.mark.parametrize("fmt, suffix", [("PNG", "png"), ("JPEG", "jpg")])
def test_truncated_files(tmp_path, fmt, suffix):
    data = _encode(Image.fromarray(_rgb(64, 64)), fmt)
    path = tmp_path / f"cut.{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=f"cut.{suffix}"):
        load_image(path)


def _png_header_only(width, height):
    """A PNG whose header claims ``width`` x ``height`` pixels (no image data)."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_decompression_bomb_header():
    with pytest.raises(ValueError, match="bomb.png.*decompression bomb"):
        load_image(_png_header_only(100_000, 100_000), name="bomb.png")


def test_decompression_bomb_warning_becomes_error(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1500)  # 48*40 = 1920: PIL only warns.
    with pytest.raises(ValueError, match="decompression bomb"):
        load_image(_encode(Image.fromarray(_rgb())))


@pytest.mark.parametrize("size", [31, 1])
def test_too_small_is_refused(tmp_path, size):
    path = tmp_path / f"tiny{size}.png"
    Image.new("RGB", (size, size)).save(path)
    with pytest.raises(ValueError, match=rf"tiny{size}.png.*{size}x{size}.*at least 32 px"):
        load_image(path)


def test_min_size_is_accepted_and_configurable(tmp_path):
    path = tmp_path / "ok.png"
    Image.new("RGB", (32, 32)).save(path)
    _assert_image(load_image(path), 32, 32)
    with pytest.raises(ValueError, match="at least 64 px"):
        load_image(path, min_size=64)
    with pytest.raises(ValueError, match="max_size"):
        load_image(path, max_size=16)


# ---------------------------------------------------------------------------------------------
# Sizes
# ---------------------------------------------------------------------------------------------


def test_max_size_downscales_keeping_aspect():
    out = load_image(_rgb(100, 200), max_size=50, min_size=16)
    _assert_image(out, 25, 50)
    assert load_image(_rgb(40, 48), max_size=100).shape == (40, 48, 3)  # Never upscaled.


def test_large_jpeg_is_drafted_then_resized():
    data = _encode(Image.fromarray(_rgb(400, 600)), "JPEG")
    out = load_image(data, max_size=60)
    _assert_image(out, 40, 60)


def test_huge_image_downscaled_with_warning(monkeypatch):
    monkeypatch.setattr(images, "WARN_PIXELS", 1000)
    monkeypatch.setattr(images, "WARN_DOWNSCALE_TO", 48)
    with pytest.warns(UserWarning, match="downscaling it to 48 px") as record:
        out = load_image(_encode(Image.fromarray(_rgb(64, 96))))
    _assert_image(out, 32, 48)
    assert record[0].filename == __file__  # Attributed to the caller, not to images.py.


def test_past_max_pixels_is_refused():
    with pytest.raises(ValueError, match="max_pixels=1,000"):
        load_image(_rgb(40, 48), max_pixels=1000)


# ---------------------------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------------------------


def test_url_loading(monkeypatch):
    data = _encode(Image.fromarray(_rgb()))
    monkeypatch.setattr(urllib.request, "urlopen", lambda request, timeout=None: io.BytesIO(data))
    _assert_image(load_image("https://example.org/cat.png"), 40, 48)


def test_url_failure_is_a_clear_value_error(monkeypatch):
    def offline(request, timeout=None):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(ValueError, match="example.org/cat.png.*offline"):
        load_image("https://example.org/cat.png")


# ---------------------------------------------------------------------------------------------
# Resizing
# ---------------------------------------------------------------------------------------------


def test_resize_longest_shapes():
    image = np.random.default_rng(0).random((30, 61, 3), dtype=np.float32)
    assert resize_longest(image, 20).shape == (10, 20, 3)
    assert resize_longest(image, 122).shape == (60, 122, 3)
    assert resize_longest(image.transpose(1, 0, 2), 20).shape == (20, 10, 3)
    assert resize_longest(np.zeros((1, 100, 3), np.float32), 10).shape == (1, 10, 3)
    out = resize_longest(image, 200)
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1


def test_resize_anti_aliases_a_checkerboard():
    board = (np.indices((64, 64)).sum(axis=0) % 2).astype(np.float32)
    small = resize_longest(np.repeat(board[..., None], 3, axis=-1), 32)
    np.testing.assert_allclose(small[4:-4, 4:-4], 0.5, atol=0.02)


def test_resize_to_and_errors():
    image = np.full((20, 30, 3), 0.3, np.float32)
    out = resize_to(image, 7, 11)
    assert out.shape == (7, 11, 3)
    np.testing.assert_allclose(out, 0.3, atol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        resize_longest(np.zeros((20, 30), np.float32), 10)
    with pytest.raises(ValueError, match="size"):
        resize_longest(image, 0)
    with pytest.raises(ValueError, match="width"):
        resize_to(image, 5, 0)


def test_center_crop_square():
    image = np.arange(4 * 6 * 3).reshape(4, 6, 3)
    out = center_crop_square(image)
    assert out.shape == (4, 4, 3)
    np.testing.assert_array_equal(out, image[:, 1:5])


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------


def test_to_uint8_rounds_clips_and_squeezes():
    out = to_uint8(np.array([[[0.0, 0.5, 1.2]]])[None])
    assert out.dtype == np.uint8 and out.shape == (1, 1, 3)
    np.testing.assert_array_equal(out[0, 0], [0, 128, 255])
    with pytest.raises(ValueError, match="NaN"):
        to_uint8(np.full((2, 2, 3), np.nan))


def test_save_png_round_trips_exactly(tmp_path):
    pixels = _rgb()
    path = save_image(pixels / 255.0, tmp_path / "sub" / "dir" / "out.png")
    assert path.exists()
    with Image.open(path) as img:
        np.testing.assert_array_equal(np.asarray(img), pixels)
    np.testing.assert_array_equal(to_uint8(load_image(path)), pixels)
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.png"]


def test_save_jpeg_and_batch(tmp_path):
    image = np.full((1, 32, 40, 3), 0.5, np.float32)
    for suffix in (".jpg", ".JPEG"):
        path = save_image(image, tmp_path / f"out{suffix}", quality=80)
        with Image.open(path) as img:
            assert img.format == "JPEG" and img.size == (40, 32)


def test_save_does_not_overwrite_without_flag(tmp_path):
    path = tmp_path / "mine.png"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_image(np.zeros((4, 4, 3)), path)
    assert path.read_bytes() == b"precious"
    save_image(np.zeros((4, 4, 3)), path, overwrite=True)
    with Image.open(path) as img:
        assert img.size == (4, 4)


def test_save_bad_suffix_and_nan(tmp_path):
    with pytest.raises(ValueError, match=r"\.png, \.jpg, \.jpeg"):
        save_image(np.zeros((4, 4, 3)), tmp_path / "out.bmp")
    with pytest.raises(ValueError, match="NaN"):
        save_image(np.full((4, 4, 3), np.nan), tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []


def test_save_to_read_only_directory(tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):  # Running as root: chmod does not stop us; simulate it.
            def denied(src, dst):
                raise PermissionError(13, "Permission denied")

            monkeypatch.setattr(os, "replace", denied)
        with pytest.raises(PermissionError, match="locked/out.png"):
            save_image(np.zeros((4, 4, 3)), folder / "out.png")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_failed_save_leaves_no_temp_file(tmp_path, monkeypatch):
    def disk_full(self, fp, format=None, **params):
        fp.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    with pytest.raises(OSError, match="out.png.*No space left"):
        save_image(np.zeros((4, 4, 3)), tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# check_image_array
# ---------------------------------------------------------------------------------------------


def test_check_image_array_accepts_and_clips():
    image = np.full((2, 8, 8, 3), 0.5)
    image[0, 0, 0, 0] = 1.0005
    out = check_image_array(image)
    assert out.dtype == np.float32 and out.shape == (2, 8, 8, 3) and out.max() == 1.0
    assert check_image_array(image[0], batched=False).shape == (8, 8, 3)


@pytest.mark.parametrize(
    "array, kwargs, message",
    [
        (np.zeros((8, 8)), {}, r"\[H, W, 3\] or \[N, H, W, 3\]; got shape \(8, 8\)"),
        (np.zeros((8, 8, 3)), {"batched": True}, r"\[N, H, W, 3\]; got shape \(8, 8, 3\)"),
        (np.zeros((1, 8, 8, 3)), {"batched": False}, r"\[H, W, 3\]; got shape"),
        (np.zeros((8, 8, 4)), {}, "3 colour channels.*alpha"),
        (np.zeros((8, 8, 3), np.uint8), {}, "dtype uint8"),
        (np.full((8, 8, 3), np.nan), {}, "192 NaN"),
        (np.full((8, 8, 3), np.inf), {}, "192 infinite"),
        (np.full((8, 8, 3), 2.0), {"name": "style"}, r"style must have values in \[0, 1\]"),
    ],
)
def test_check_image_array_errors(array, kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_image_array(array, **kwargs)
