"""Shared fixtures: the pretrained VGG16 parameters are loaded once per test session."""
import os

import numpy as np
import pytest

os.environ.setdefault("GANTRANSFER_FAST", "1")


@pytest.fixture(scope="session")
def vgg_params():
    from gantransfer.pipeline import extractor

    return extractor.load_params()


@pytest.fixture
def rng():
    return np.random.default_rng(0)
