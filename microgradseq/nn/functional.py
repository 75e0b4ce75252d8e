"""`import microgradseq.nn.functional as F`: PyTorch's name for the functions of `microgradseq.functional`,
and `embedding` (`nn.linear`, next to the module whose lookup it is) and `embedding_bag` (`nn.embedding_bag`).

    F.log_softmax(logits, dim=1)        F.nll_loss(log_probs, targets)
    F.binary_cross_entropy_with_logits(logit, label)      F.smooth_l1_loss(forecast, series)
    F.dropout(x, p=0.2, training=self.training)
    F.one_hot(tokens, num_classes=vocab_size).float()
    F.layer_norm(x, (C,))                F.gelu(x)                F.pad(tokens, (0, 3), value=pad_id)
    F.rms_norm(x, (C,), weight)          F.group_norm(x, 4, weight, bias)
    F.leaky_relu(x, 0.2)                 F.silu(x)                F.glu(x, dim=-1)
    F.normalize(h, dim=-1)               F.cosine_similarity(a, b, dim=-1)     F.embedding(tokens, weight)
    F.conv1d(x, weight, bias, padding="same")         F.conv2d(images, weight, bias, stride=2, padding=1)
    F.conv_transpose2d(codes, weight, bias, stride=2, padding=1, output_padding=1)
    F.max_pool1d(conved, conved.shape[2]).squeeze(2)                 F.adaptive_avg_pool1d(x, 1)
    F.max_pool2d(feature_maps, (2, 1))                F.avg_pool2d(feature_maps, 2)
    F.adaptive_avg_pool2d(feature_maps, (1, 1))       F.conv3d(clips, weight, padding=1)
    F.max_pool3d(volumes, 2, return_indices=True)     F.max_unpool3d(pooled, indices, 2)
    F.lp_pool2d(feature_maps, 2, 3, stride=2)
    F.ctc_loss(log_probs, targets, input_lengths, target_lengths)
    F.triplet_margin_loss(anchor, positive, negative, margin=0.5)      F.gaussian_nll_loss(mean, y, var)
    F.scaled_dot_product_attention(q, k, v, is_causal=True)
    F.instance_norm(x)                   F.dropout2d(feature_maps, 0.1, training=self.training)
    F.pad(x, (1, 1), mode="reflect")     F.pixel_shuffle(x, 2)    F.embedding_bag(tokens, weight, offsets)
    F.interpolate(feature_maps, scale_factor=2, mode="bilinear")       F.unfold(images, 3, padding=1)
"""

from ..functional import (binary_cross_entropy, binary_cross_entropy_with_logits, celu, conv1d, cosine_similarity,
                          cross_entropy, dropout, elu, gelu, glu, hardshrink, hardsigmoid, hardswish, hardtanh,
                          huber_loss, kl_div, l1_loss, layer_norm, leaky_relu, linear, log_softmax, logsigmoid, mish,
                          mse_loss, nll_loss, normalize, one_hot, pad, pairwise_distance, prelu, relu, relu6, selu,
                          sigmoid, silu, smooth_l1_loss, softmax, softmin, softplus, softshrink, softsign, tanh,
                          tanhshrink, threshold)
from ..functional import group_norm, rms_norm
from ..functional import adaptive_avg_pool1d, adaptive_max_pool1d, avg_pool1d, max_pool1d
from ..functional import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, conv2d, max_pool2d
from ..functional import ctc_loss
from ..functional import (cosine_embedding_loss, gaussian_nll_loss, hinge_embedding_loss, margin_ranking_loss,
                          multi_margin_loss, multilabel_margin_loss, multilabel_soft_margin_loss, poisson_nll_loss,
                          soft_margin_loss, triplet_margin_loss, triplet_margin_with_distance_loss)
from ..functional import multi_head_attention_forward, scaled_dot_product_attention
from ..functional import (alpha_dropout, bilinear, dropout1d, dropout2d, feature_alpha_dropout, instance_norm,
                          pixel_shuffle, pixel_unshuffle)
from ..functional import gumbel_softmax, pdist
from ..functional import conv_transpose1d, conv_transpose2d
from ..functional import channel_shuffle, fold, interpolate, unfold, upsample, upsample_bilinear, upsample_nearest
from ..functional import dropout3d, local_response_norm, rrelu, rrelu_
from ..functional import (adaptive_avg_pool3d, adaptive_max_pool3d, avg_pool3d, conv3d, lp_pool1d, lp_pool2d, lp_pool3d,
                          max_pool3d, max_unpool1d, max_unpool2d, max_unpool3d)
from ..functional import conv_transpose3d
from .embedding_bag import embedding_bag
from .linear import embedding

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "celu", "conv1d", "cosine_similarity",
           "cross_entropy",
           "dropout", "elu", "embedding", "gelu", "glu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh",
           "huber_loss", "kl_div", "l1_loss", "layer_norm", "leaky_relu", "linear", "log_softmax", "logsigmoid", "mish",
           "mse_loss", "nll_loss", "normalize", "one_hot", "pad", "pairwise_distance", "prelu", "relu", "relu6", "selu",
           "sigmoid", "silu", "smooth_l1_loss", "softmax", "softmin", "softplus", "softshrink", "softsign", "tanh",
           "tanhshrink", "threshold"]
__all__ += ["group_norm", "rms_norm"]
__all__ += ["adaptive_avg_pool1d", "adaptive_max_pool1d", "avg_pool1d", "max_pool1d"]
__all__ += ["adaptive_avg_pool2d", "adaptive_max_pool2d", "avg_pool2d", "conv2d", "max_pool2d"]
__all__ += ["ctc_loss"]
__all__ += ["cosine_embedding_loss", "gaussian_nll_loss", "hinge_embedding_loss", "margin_ranking_loss",
            "multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss", "poisson_nll_loss",
            "soft_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss"]
__all__ += ["multi_head_attention_forward", "scaled_dot_product_attention"]
__all__ += ["alpha_dropout", "bilinear", "dropout1d", "dropout2d", "embedding_bag", "feature_alpha_dropout",
            "instance_norm", "pixel_shuffle", "pixel_unshuffle"]
__all__ += ["gumbel_softmax", "pdist"]
__all__ += ["conv_transpose1d", "conv_transpose2d"]
__all__ += ["channel_shuffle", "fold", "interpolate", "unfold", "upsample", "upsample_bilinear", "upsample_nearest"]
__all__ += ["dropout3d", "local_response_norm", "rrelu", "rrelu_"]
__all__ += ["adaptive_avg_pool3d", "adaptive_max_pool3d", "avg_pool3d", "conv3d", "lp_pool1d", "lp_pool2d", "lp_pool3d",
            "max_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d"]
__all__ += ["conv_transpose3d"]
