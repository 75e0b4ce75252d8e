"""PyTorch's deprecated per-device spellings of `torch.amp`, `torch.cuda.amp` and `torch.cpu.amp` (cuda.py,
cpu.py): `autocast(enabled=True, dtype=..., cache_enabled=True)` and `GradScaler(init_scale=2.**16, ...)`,
each warning as PyTorch's (FutureWarning) and then `amp.autocast(device, ...)` or `amp.GradScaler(device,
...)` for their device."""

from __future__ import annotations

import warnings
from typing import Any

from ..checks import user_stacklevel
from . import autocast_mode, grad_scaler


def _deprecated(device: str, name: str) -> None:
    warnings.warn(f"`torch.{device}.amp.{name}(args...)` is deprecated. Please use "
                  f"`torch.amp.{name}('{device}', args...)` instead.", FutureWarning, stacklevel=user_stacklevel())


class DeviceAutocast(autocast_mode.autocast):
    """`torch.<device>.amp.autocast(...)`: `amp.autocast(<device>, ...)` after PyTorch's FutureWarning."""
    device_type, default_dtype = "cuda", None

    def __init__(self, enabled: bool = True, dtype: Any = None, cache_enabled: bool = True) -> None:
        _deprecated(self.device_type, "autocast")
        super().__init__(self.device_type, dtype=self.default_dtype if dtype is None else dtype, enabled=enabled,
                         cache_enabled=cache_enabled)


class DeviceGradScaler(grad_scaler.GradScaler):
    """`torch.<device>.amp.GradScaler(...)`: `amp.GradScaler(<device>, ...)` after PyTorch's FutureWarning."""
    device_type = "cuda"

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        _deprecated(self.device_type, "GradScaler")
        super().__init__(self.device_type, init_scale, growth_factor, backoff_factor, growth_interval, enabled)
