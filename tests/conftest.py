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


_CUDNN_AT_START = {name: getattr(mg.backends.cudnn, name)
                   for name in ("deterministic", "benchmark", "enabled", "allow_tf32")}


@pytest.fixture(autouse=True)
def cudnn_settings_as_at_start():
    """The PyTorch scripts ported in the tests set `torch.backends.cudnn.deterministic = True` for the
    whole process, as their seeding cells do (some in module-scoped fixtures); each test starts from
    the settings the run started with, whatever ran before it."""
    for name, value in _CUDNN_AT_START.items():
        setattr(mg.backends.cudnn, name, value)
