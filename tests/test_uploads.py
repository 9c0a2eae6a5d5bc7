"""Students' own images (issue 9): every dashboard that picks a content or style image takes an upload.

Uploads are driven the way ipywidgets 8's front end delivers them: ``FileUpload.value`` becomes a tuple of
dicts with ``name``, ``type``, ``size``, ``content`` (a memoryview) and ``last_modified``. A bad file must
give a one-line message in the dashboard's status (no traceback) and leave its menus as they were, and the
next good change must work and clear the message; a good file must be added to the menu, selected, and used.
"""
from __future__ import annotations

import datetime
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from gantransfer.core import images, resize
from gantransfer.methods import optimize
from gantransfer.notebook import dashboards, inversion, plots

SIZE = 48   # the dashboards' size: a portrait upload of 96×64 px becomes 48×32 (VGG16's minimum is 32)


def _png(height: int, width: int, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` px, with almost no pixel data: a decompression bomb as a
    loader that checks the size before decoding sees it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)       # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def _file(name: str, data: bytes) -> dict:
    """One uploaded file, as ipywidgets 8 deserialises it from the browser."""
    return {"name": name, "type": "image/png", "size": len(data), "content": memoryview(data),
            "last_modified": datetime.datetime(2026, 11, 25, tzinfo=datetime.timezone.utc)}


GOOD = _png(96, 64)
BAD = [  # (file name, content, what the one-line message says)
    ("notes.png", b"these are my notes, renamed .png\n", "not a readable image"),
    ("empty.png", b"", "empty (0 bytes)"),
    ("cut.png", _png(64, 64)[:2000], "truncated"),
    ("tiny.png", _png(16, 16), "at least 32 px"),
    ("huge.png", _png_header_only(7000, 7000), "max_pixels"),              # over the library's pixel limit
    ("bomb.png", _png_header_only(20000, 20000), "decompression bomb"),    # over PIL's bomb limit
]


@pytest.fixture(scope="module")
def decoder():
    import jax

    from gantransfer.pipeline import generator

    return generator.init_decoder(jax.random.key(0), width=0.125)


def _make(which: str, params, decoder):
    if which == "feature_browser":
        return dashboards.FeatureMapBrowser(content="chelsea", size=SIZE, layers=("relu1_1", "relu2_1"), per_page=4,
                                         params=params)
    if which == "texture":
        return dashboards.TextureDashboard(style="waves", size=SIZE, steps=1, report_every=1, params=params)
    if which == "style_transfer":
        return dashboards.StyleTransferDashboard(size=SIZE, steps=1, report_every=1, params=params)
    return dashboards.FusionDashboard(decoder, width=0.125, size=SIZE, params=params)


def _descendants(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _descendants(child)


def _spy(monkeypatch, module, name: str) -> list:
    """Record the positional arguments (the images) of each call of ``module.name``."""
    seen, real = [], getattr(module, name)

    def spy(*args, **kwargs):
        seen.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return seen


CASES = [("feature_browser", "content"), ("texture", "style"), ("style_transfer", "content"),
         ("style_transfer", "style"), ("fusion", "content"), ("fusion", "style")]


@pytest.mark.parametrize("which, kind", CASES, ids=[f"{w}-{k}" for w, k in CASES])
def test_bad_uploads_are_one_line_errors_and_a_good_one_is_used(which, kind, vgg_params, decoder, monkeypatch):
    dash = _make(which, vgg_params, decoder)
    upload, menu = getattr(dash, f"{kind}_upload"), getattr(dash, kind)
    assert upload.accept == "image/*" and any(w is upload for w in _descendants(dash.widget))
    assert dash.error is None
    if which == "style_transfer" and kind == "style":
        dash.style2.value = "mondrian"           # an upload must not reset the other style menu
    options, value = menu.options, menu.value

    for name, data, message in BAD:
        upload.value = (_file(name, data),)      # must not raise out of the observer
        assert dash.error and message in dash.error and repr(name) in dash.error, (name, dash.error)
        assert "\n" not in dash.error and "⚠" in dash.status.value and "Traceback" not in dash.status.value
        assert menu.options == options and menu.value == value and not dash.uploads
    menu.value = next(o for o in options if o not in (value, "(none)"))   # the next good change works ...
    assert dash.error is None and "⚠" not in dash.status.value           # ... and clears the message

    before = getattr(dash, "image", None)
    encodes = getattr(dash, "encodes", 0)
    upload.value = (_file("mine.png", GOOD),)
    assert dash.error is None and "⚠" not in dash.status.value, dash.error
    label = "upload: mine.png"
    assert menu.value == label and menu.options == (*options, label)
    mine = dash.uploads[label]
    np.testing.assert_array_equal(mine, images.load_image(GOOD))       # loaded by the library's loader

    if which == "feature_browser":
        np.testing.assert_allclose(dash.photo, resize.resize_longest(mine, SIZE))
        assert dash.features["relu1_1"].shape[:2] == (48, 32)
    elif which == "texture":
        assert dash.style_view.value == plots.image_png(resize.resize_longest(mine, SIZE))
        seen = _spy(monkeypatch, inversion, "synthesize_texture_iter")
        assert dash.run(block=True), dash.error
        np.testing.assert_array_equal(seen[0][0], mine)
        assert dash.key() == (label, ("relu1_1", "relu2_1", "relu3_1")) and dash.key() in dash.cache
    elif which == "style_transfer":
        if kind == "style":
            assert dash.style2.value == "mondrian" and label in dash.style2.options
        seen = _spy(monkeypatch, optimize, "stylize_iter")
        assert dash.run(block=True), dash.error
        content, styles = seen[0][:2]
        np.testing.assert_array_equal(content if kind == "content" else styles[0], mine)
        if kind == "content":
            assert dash.image.shape == (48, 32, 3)   # the portrait upload's shape (the bundled photos differ)
    else:
        assert dash.encodes == encodes + 1
        dash.features(kind, label)
        assert dash.encodes == encodes + 1       # the upload's features are the cached ones in use
        if kind == "content":
            assert dash.image.shape == (48, 32, 3)
        else:
            assert not np.allclose(dash.image, before) and label in dash.style2.options


def test_an_upload_that_loads_but_is_too_thin_for_the_network(vgg_params):
    """A 32×200 px strip loads, but at 48 px it is 8 px tall: VGG16's refusal is shown, and the next change works."""
    dash = dashboards.FeatureMapBrowser(content="chelsea", size=SIZE, layers=("relu1_1",), params=vgg_params)
    dash.content_upload.value = (_file("strip.png", _png(32, 200)),)
    assert "at least 32 px" in dash.error and "⚠" in dash.status.value
    assert dash.content.value == "upload: strip.png" and dash.photo.shape[:2] == (32, 48)   # chelsea still shown
    dash.content.value = "coffee"
    assert dash.error is None and "⚠" not in dash.status.value and dash.photo.shape[:2] == (32, 48)


def test_a_second_file_of_the_same_name_gets_its_own_entry(vgg_params):
    dash = dashboards.FeatureMapBrowser(size=SIZE, layers=("relu1_1",), params=vgg_params)
    for seed in (1, 2):
        dash.content_upload.value = (_file("me.png", _png(64, 64, seed=seed)),)
    assert dash.content.value == "upload 2: me.png"
    assert dash.content.options[-2:] == ("upload: me.png", "upload 2: me.png")
    assert not np.array_equal(dash.uploads["upload: me.png"], dash.uploads["upload 2: me.png"])
    dash.content.value = "upload: me.png"
    np.testing.assert_allclose(dash.photo, resize.resize_longest(dash.uploads["upload: me.png"], SIZE))


def test_a_file_name_is_shown_as_text_not_markup(vgg_params):
    dash = dashboards.FeatureMapBrowser(size=SIZE, layers=("relu1_1",), params=vgg_params)
    dash.content_upload.value = (_file("<b>bold</b>.png", b"not an image"),)
    assert "<b>bold</b>" in dash.error and "&lt;b&gt;bold&lt;/b&gt;" in dash.status.value
