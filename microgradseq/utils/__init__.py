"""PyTorch's `torch.utils`: only `data` (datasets and the DataLoader) so far."""

from . import data

__all__ = ["data"]
