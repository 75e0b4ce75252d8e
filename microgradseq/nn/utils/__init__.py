"""`nn.utils`, where PyTorch keeps gradient clipping (the same functions as `mg.optim`'s, with its two steps
`get_total_norm` and `clip_grads_with_norm_` and the deprecated `clip_grad_norm`), `weight_norm`, `spectral_norm`,
`parameters_to_vector` and `vector_to_parameters` (`convert_parameters.py`), in `nn.utils.rnn`, the
packing of variable-length batches for the recurrent layers, and in `nn.utils.parametrize` and
`nn.utils.parametrizations` weights computed from unconstrained tensors (orthogonal, weight or spectral
norm); in `nn.utils.prune` PyTorch's pruning (a parameter times a mask of zeros and ones), the fusion of a
convolution or linear layer with the batch norm after it (`fusion.py`), `skip_init` (`init.py`), and
`nn.utils.stateless.functional_call`, PyTorch's deprecated spelling of `mg.func.functional_call`."""

from ...optim import clip_grad_norm_, clip_grad_value_
from ...optim.clip import clip_grad_norm, clip_grads_with_norm_, get_total_norm
from . import parametrizations, parametrize, rnn
from .convert_parameters import parameters_to_vector, vector_to_parameters
from . import prune, stateless
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights
from .init import skip_init
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "remove_weight_norm", "rnn", "weight_norm"]
__all__ += ["parameters_to_vector", "vector_to_parameters"]
__all__ += ["parametrizations", "parametrize", "remove_spectral_norm", "spectral_norm"]
__all__ += ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights", "prune",
            "skip_init", "stateless"]
