"""`nn.utils`, where PyTorch keeps gradient clipping: the same functions as `mg.optim`'s."""

from ..optim import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
