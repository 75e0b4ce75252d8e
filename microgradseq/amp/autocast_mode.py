"""PyTorch's `torch.autocast` (`torch.amp.autocast`), run in full precision: microgradseq runs on numpy,
where float16 is no faster, so an autocast block casts nothing and every op keeps its operands'
dtypes (PyTorch's would run matmuls and convolutions in float16 on a GPU). The block still keeps
PyTorch's state, per thread, so `is_autocast_enabled()` answers as on a GPU machine:

    with mg.autocast("cuda", dtype=mg.float16):        # torch/amp/autocast_mode.py's signature
        loss = loss_fn(model(x), y)                     # float32 in, float32 out
    @mg.autocast("cuda")                                # a decorator too
    def forward(self, x): ...
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from typing import Any, Callable

import numpy as np

from ..checks import flag
from ..metadata import enter_block, leave_block

DEVICE_TYPES = ("cuda", "cpu", "mps", "xpu", "hpu")     # PyTorch's is_autocast_available devices (and more)

_enabled: ContextVar[dict] = ContextVar("autocast_enabled", default={})     # device type -> enabled, this thread


def _device_type(device_type: Any, where: str) -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"{where}: expected `device_type` of type `str`, got: `{type(device_type).__name__}`")
    if device_type not in DEVICE_TYPES:
        raise RuntimeError(f"{where}: unsupported autocast device_type {device_type!r} (expected one of "
                           f"{', '.join(DEVICE_TYPES)})")
    return device_type


class autocast:
    """`with autocast(device_type, dtype=None, enabled=True, cache_enabled=None):` (or `@autocast(...)`):
    a region where PyTorch would run some ops in `dtype`; here nothing is cast (see above), and only
    `is_autocast_enabled(device_type)` changes inside it, back to what it was after it. Blocks nest;
    `enabled=False` switches a region off, as PyTorch's. `device_type` must be a str naming a device
    ("cuda", "cpu", ...): ValueError for another type, RuntimeError for an unknown name."""

    def __init__(self, device_type: str, dtype: Any = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        self.device = _device_type(device_type, "autocast")
        if dtype is not None:
            try:
                dtype = np.dtype(dtype)
            except TypeError:
                raise TypeError(f"autocast: expected a dtype (mg.float16, ...) or None, got {dtype!r:.60}") from None
        self.fast_dtype = dtype
        self._enabled = flag(enabled, "enabled", "autocast")
        self._cache_enabled = None if cache_enabled is None else flag(cache_enabled, "cache_enabled", "autocast")

    def __enter__(self) -> None:
        outer = _enabled.get()
        enter_block(self, outer)        # (per thread and task: one object, a decorator's, may be open in several)
        _enabled.set({**outer, self.device: self._enabled})

    def __exit__(self, *exc_info: Any) -> bool:
        _enabled.set(leave_block(self))
        return False

    def __call__(self, func: Callable) -> Callable:
        """`@autocast(...)`: func, run inside this region at each call."""
        @functools.wraps(func)
        def decorate_autocast(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)
        return decorate_autocast


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether this thread is inside an enabled autocast region of `device_type` ("cuda" when not given,
    as PyTorch's `torch.is_autocast_enabled()`)."""
    device = "cuda" if device_type is None else _device_type(device_type, "is_autocast_enabled")
    return _enabled.get().get(device, False)


def is_autocast_available(device_type: str) -> bool:
    """Whether `autocast(device_type)` may be entered (here: the device types it accepts, above)."""
    return device_type in DEVICE_TYPES
