"""The functions of PyTorch's `torch.nn.functional` (also as `microgradseq.nn.functional`, `F`):
softmax and the activations (`activations.py`), the losses (`classification.py` over classes,
`losses.py` of values, `ctc.py` over a sequence's alignments, `reduction.py` how they read their
arguments), and what the layer modules compute, `linear`, `bilinear`, `dropout`, `layer_norm`, `rms_norm`,
`group_norm`, `instance_norm`, with `pad` and `one_hot` for inputs (`layer_functions.py`; `padding.py` pads
by the input's own entries), the dropouts of whole channels and alpha dropout (`dropouts.py`),
`pixel_shuffle` and `channel_shuffle` (`pixel_shuffle.py`), `interpolate` (`resampling.py`), `fold` and `unfold`
(`folding.py`), `gumbel_softmax` (`gumbel.py`), `local_response_norm` (`local_response.py`), `rrelu`
(`rrelu.py`), the convolutions and pools (`convolution.py`, `pooling.py`, `lp_pooling.py`, `unpooling.py`),
and attention,
`scaled_dot_product_attention` and `multi_head_attention_forward` (`attention.py`).

`softmax`, `gelu`, the other activations, the three norms and the losses are written with primitive ops: their
gradients need no rule of their own. `log_softmax` is a primitive (`ops.softmax` says why:
it keeps one array instead of three), and so are cross-entropy with class
targets summed or averaged (`ops.losses` says why; `reduction="none"` picks
each row's log-probability with `gather`), the two binary cross-entropies
(`ops.losses` says why: a stable composite would have the wrong slope at 0)
and `kl_div` (`ops.losses.kl_div`). Those over logits are stable for large
logits: softmax, log_softmax and cross-entropy subtract the row maximum first
(log-sum-exp), a constant that cancels out of every formula, and the binary
cross-entropy with logits works with e^-|x| <= 1.
"""

from .activations import gelu, log_softmax, relu, sigmoid, softmax, tanh
# PyTorch's other activations and distances (activations.py), all functions of torch.nn.functional: in __all__ too
# (below), each with its row in tests/test_composite_gradients.py
from .activations import (celu, cosine_similarity, elu, glu, hardshrink, hardsigmoid, hardswish, hardtanh, leaky_relu,
                          logsigmoid, mish, normalize, pairwise_distance, prelu, relu6, selu, silu, softmin, softplus,
                          softshrink, softsign, tanhshrink, threshold)
from .layer_functions import (dropout, group_norm, layer_norm, linear, normalized_shape_of, one_hot, pad, rms_norm,
                              standardised)
from .layer_functions import bilinear, by_running_stats, instance_norm, moved_toward
from .dropouts import alpha_dropout, dropout1d, dropout2d, feature_alpha_dropout
from .dropouts import dropout3d
from .local_response import local_response_norm
from .rrelu import rrelu, rrelu_
from .pixel_shuffle import pixel_shuffle, pixel_unshuffle
from .pixel_shuffle import channel_shuffle
from .resampling import interpolate, upsample, upsample_bilinear, upsample_nearest
from .folding import fold, unfold
from .gumbel import gumbel_softmax
from .convolution import conv1d, conv2d
from .transposed_convolution import conv_transpose1d, conv_transpose2d
from .pooling import adaptive_avg_pool1d, adaptive_max_pool1d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from .pooling import adaptive_avg_pool2d, adaptive_max_pool2d
from .convolution import conv3d
from .pooling import adaptive_avg_pool3d, adaptive_max_pool3d, avg_pool3d, max_pool3d
from .lp_pooling import lp_pool1d, lp_pool2d, lp_pool3d
from .unpooling import max_unpool1d, max_unpool2d, max_unpool3d
from .transposed_convolution import conv_transpose3d
from .classification import cross_entropy, nll_loss
from .ctc import ctc_loss
from .distances import pdist
from .attention import multi_head_attention_forward, scaled_dot_product_attention
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits, huber_loss, kl_div, l1_loss, mse_loss,
                     smooth_l1_loss)
from .losses import gaussian_nll_loss, poisson_nll_loss
from .margin_losses import (cosine_embedding_loss, hinge_embedding_loss, margin_ranking_loss, multi_margin_loss,
                            multilabel_margin_loss, multilabel_soft_margin_loss, soft_margin_loss, triplet_margin_loss,
                            triplet_margin_with_distance_loss)
from .reduction import REDUCTIONS, legacy_reduction

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "dropout", "gelu",
           "huber_loss", "kl_div", "l1_loss", "layer_norm", "linear", "log_softmax", "mse_loss", "nll_loss",
           "one_hot", "pad", "relu", "sigmoid", "smooth_l1_loss", "softmax", "tanh"]
__all__ += ["celu", "cosine_similarity", "elu", "glu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh",
            "leaky_relu", "logsigmoid", "mish", "normalize", "pairwise_distance", "prelu", "relu6", "selu", "silu",
            "softmin", "softplus", "softshrink", "softsign", "tanhshrink", "threshold"]     # (activations.py)
__all__ += ["group_norm", "rms_norm"]                                                  # (layer_functions.py)
__all__ += ["conv1d", "conv2d"]                                                         # (convolution.py)
__all__ += ["adaptive_avg_pool1d", "adaptive_max_pool1d", "avg_pool1d", "avg_pool2d", "max_pool1d",
            "max_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"]                 # (pooling.py)
__all__ += ["ctc_loss"]                                                                 # (ctc.py)
__all__ += ["gaussian_nll_loss", "poisson_nll_loss"]                                    # (losses.py)
__all__ += ["cosine_embedding_loss", "hinge_embedding_loss", "margin_ranking_loss", "multi_margin_loss",
            "multilabel_margin_loss", "multilabel_soft_margin_loss", "soft_margin_loss", "triplet_margin_loss",
            "triplet_margin_with_distance_loss"]                                        # (margin_losses.py)
__all__ += ["pdist"]                                                                    # (distances.py)
__all__ += ["multi_head_attention_forward", "scaled_dot_product_attention"]             # (attention.py)
__all__ += ["bilinear", "instance_norm"]                                                # (layer_functions.py)
__all__ += ["alpha_dropout", "dropout1d", "dropout2d", "feature_alpha_dropout"]         # (dropouts.py)
__all__ += ["pixel_shuffle", "pixel_unshuffle"]                                         # (pixel_shuffle.py)
__all__ += ["gumbel_softmax"]                                                        # (gumbel.py)
__all__ += ["conv_transpose1d", "conv_transpose2d"]                                     # (transposed_convolution.py)
__all__ += ["channel_shuffle"]                                                       # (pixel_shuffle.py)
__all__ += ["interpolate", "upsample", "upsample_bilinear", "upsample_nearest"]      # (resampling.py)
__all__ += ["fold", "unfold"]                                                        # (folding.py)
__all__ += ["dropout3d", "local_response_norm", "rrelu", "rrelu_"]        # (dropouts.py, local_response.py, rrelu.py)
__all__ += ["conv3d"]                                                                   # (convolution.py)
__all__ += ["adaptive_avg_pool3d", "adaptive_max_pool3d", "avg_pool3d", "max_pool3d"]   # (pooling.py)
__all__ += ["lp_pool1d", "lp_pool2d", "lp_pool3d"]                                      # (lp_pooling.py)
__all__ += ["max_unpool1d", "max_unpool2d", "max_unpool3d"]                             # (unpooling.py)
__all__ += ["conv_transpose3d"]                                                        # (transposed_convolution.py)
