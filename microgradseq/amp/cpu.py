"""`torch.cpu.amp` (`mg.cpu.amp`): PyTorch's deprecated spellings for the CPU (legacy.py)."""

from .legacy import DeviceAutocast, DeviceGradScaler

__all__ = ["GradScaler", "autocast"]


class autocast(DeviceAutocast):
    """`torch.cpu.amp.autocast(enabled=True, dtype=None, cache_enabled=True)`: `mg.amp.autocast("cpu", ...)`,
    after PyTorch's FutureWarning (PyTorch's default dtype, bfloat16, is not in microgradseq: None here)."""
    device_type = "cpu"


class GradScaler(DeviceGradScaler):
    """`torch.cpu.amp.GradScaler(init_scale=2.**16, ...)`: `mg.amp.GradScaler("cpu", ...)`, after
    PyTorch's FutureWarning."""
    device_type = "cpu"
