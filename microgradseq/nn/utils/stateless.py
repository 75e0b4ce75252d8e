"""PyTorch's `torch.nn.utils.stateless`, whose `functional_call` PyTorch 2.0 deprecated in favour of
`torch.func.functional_call`, the same function: here it is `mg.func.functional_call`, with PyTorch's
FutureWarning."""

from __future__ import annotations

import warnings
from typing import Any

from ...checks import user_stacklevel
from ...func import functional_call as _functional_call


def functional_call(module: Any, parameters_and_buffers: Any, args: Any = None, kwargs: dict | None = None, *,
                    tie_weights: bool = True, strict: bool = False) -> Any:
    """`mg.func.functional_call(module, parameters_and_buffers, args, kwargs, ...)`, after PyTorch's warning
    that this spelling is deprecated (a FutureWarning)."""
    warnings.warn("`mg.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed in "
                  "a future version of PyTorch. Please use `mg.func.functional_call` instead which is a drop-in "
                  "replacement.", FutureWarning, stacklevel=user_stacklevel())
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
