"""Fixtures shared by several test files."""

import numpy as np
import pytest

import microgradseq as mg


@pytest.fixture
def float64_default():
    """Tensors and parameters made from Python data are float64 during the test."""
    previous = mg.get_default_dtype()
    mg.set_default_dtype(np.float64)
    yield
    mg.set_default_dtype(previous)
