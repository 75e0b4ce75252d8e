"""PyTorch's `torch.amp`: `autocast`, run in full precision (autocast_mode.py), and `GradScaler`, loss
scaling as PyTorch's (grad_scaler.py). `mg.autocast` is `mg.amp.autocast`; PyTorch's older spellings
are `mg.cuda.amp` and `mg.cpu.amp` (cuda.py, cpu.py here)."""

from .autocast_mode import autocast, is_autocast_available
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "is_autocast_available"]
