"""PyTorch's `torch.backends`, for the lines scripts write to seed or tune a GPU run:
`torch.backends.cudnn.deterministic = True` and `torch.backends.cudnn.benchmark = False` are plain
settings here (nothing runs on a GPU: they change nothing), and `is_available()` is False."""

from . import cudnn, mps

__all__ = ["cudnn", "mps"]
