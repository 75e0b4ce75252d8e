"""PyTorch's `torch.utils`: `data` (datasets and the DataLoader) and `hooks` (`RemovableHandle`)."""

from . import data, hooks

__all__ = ["data", "hooks"]
