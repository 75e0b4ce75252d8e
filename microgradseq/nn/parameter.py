"""PyTorch's `torch.nn.parameter` path, so a script's `from torch.nn.parameter import Parameter` ports (GRU-D's
implementations import it so): the very classes of `mg.nn`, `Parameter` and `UninitializedParameter`, no second
copies."""

from ..parameter import Parameter, UninitializedParameter

__all__ = ["Parameter", "UninitializedParameter"]
