"""`nn.utils`, where PyTorch keeps gradient clipping (the same functions as `mg.optim`'s), `weight_norm`
and, in `nn.utils.rnn`, the packing of variable-length batches for the recurrent layers."""

from ...optim import clip_grad_norm_, clip_grad_value_
from . import rnn
from .weight_norm import remove_weight_norm, weight_norm

__all__ = ["clip_grad_norm_", "clip_grad_value_", "remove_weight_norm", "rnn", "weight_norm"]
