"""PyTorch's `torch.utils`: `data` (datasets and the DataLoader), `hooks` (`RemovableHandle`) and
`checkpoint` (activation checkpointing)."""

from . import checkpoint, data, hooks

__all__ = ["checkpoint", "data", "hooks"]
