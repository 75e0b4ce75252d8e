"""`import microgradseq.nn.functional as F`: PyTorch's name for the functions of `microgradseq.functional`.

    F.log_softmax(logits, dim=1)        F.nll_loss(log_probs, targets)
    F.binary_cross_entropy_with_logits(logit, label)      F.smooth_l1_loss(forecast, series)
    F.dropout(x, p=0.2, training=self.training)
    F.one_hot(tokens, num_classes=vocab_size).float()
    F.layer_norm(x, (C,))                F.gelu(x)                F.pad(tokens, (0, 3), value=pad_id)
"""

from ..functional import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, dropout, gelu,
                          huber_loss, kl_div, l1_loss, layer_norm, linear, log_softmax, mse_loss, nll_loss, one_hot,
                          pad, relu, sigmoid, smooth_l1_loss, softmax, tanh)

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "dropout", "gelu",
           "huber_loss", "kl_div", "l1_loss", "layer_norm", "linear", "log_softmax", "mse_loss", "nll_loss",
           "one_hot", "pad", "relu", "sigmoid", "smooth_l1_loss", "softmax", "tanh"]
