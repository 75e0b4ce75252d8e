"""`torch.cuda.amp` (`mg.cuda.amp`): PyTorch's deprecated spellings for CUDA (legacy.py)."""

from ..dtypes import float16
from .legacy import DeviceAutocast, DeviceGradScaler

__all__ = ["GradScaler", "autocast"]


class autocast(DeviceAutocast):
    """`torch.cuda.amp.autocast(enabled=True, dtype=torch.float16, cache_enabled=True)`:
    `mg.amp.autocast("cuda", ...)`, after PyTorch's FutureWarning."""
    device_type, default_dtype = "cuda", float16


class GradScaler(DeviceGradScaler):
    """`torch.cuda.amp.GradScaler(init_scale=2.**16, ...)`: `mg.amp.GradScaler("cuda", ...)`, after
    PyTorch's FutureWarning."""
    device_type = "cuda"
