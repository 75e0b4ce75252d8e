"""PyTorch's `torch.nn.utils.skip_init` (read from its torch/nn/utils/init.py): a module made without
drawing its initial values. PyTorch builds it on the meta device and then gives it empty storage, so its
parameters and buffers hold whatever memory held (`torch.empty`) and its generator is not used. Here the
module is built as usual, the library's generator is put back where it was (so no draw is used up, as in
PyTorch), and every parameter and buffer is set to zeros: values to be overwritten by your own
initialisation or a state dict.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ...random import get_rng_state, set_rng_state
from ...spellings import check_device
from ..module import Module


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Module:
    """`module_cls(*args, **kwargs)` with its parameters and buffers uninitialised (zeros here) and the
    library's generator untouched. As PyTorch's, the class must be a Module taking a `device` argument
    (RuntimeError otherwise)."""
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"skip_init: expected a Module class; got {module_cls!r}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError(f"skip_init: {module_cls.__name__} must support a 'device' arg to skip initialization")
    check_device("skip_init", kwargs.get("device"))
    state = get_rng_state()
    try:
        module = module_cls(*args, **kwargs)
    finally:
        set_rng_state(state)
    for owner in module.modules():
        for table in (owner._parameters, owner._buffers):
            for tensor in table.values():
                if tensor is not None:
                    tensor._replace_data(np.zeros(tensor.shape, tensor.dtype))
    return module
