"""`import microgradseq.nn.functional as F`: PyTorch's name for the functions of `microgradseq.functional`.

    F.log_softmax(logits, dim=1)        F.nll_loss(log_probs, targets)
    F.dropout(x, p=0.2, training=self.training)
    F.one_hot(tokens, num_classes=vocab_size).float()
"""

from ..functional import (cross_entropy, dropout, linear, log_softmax, mse_loss, nll_loss, one_hot, relu,
                          sigmoid, softmax, tanh)

__all__ = ["cross_entropy", "dropout", "linear", "log_softmax", "mse_loss", "nll_loss", "one_hot", "relu",
           "sigmoid", "softmax", "tanh"]
