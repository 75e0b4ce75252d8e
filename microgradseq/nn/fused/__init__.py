"""Fused recurrent steps: one graph node per cell step, or per sequence, with hand-derived gradients.

The cells in `nn/cells.py` are built from primitive ops, so backprop through them
is generic: about a dozen nodes per step, each with its own small rule. *Fused*
means the same function recorded as a single node whose rules are the gradients
derived by hand, the way a numpy BPTT is written (`RNNCell(..., fused=True)`,
`LSTM(..., fused=True)`, ...). Values and gradients are those of the op-level
path; `tests/test_fused.py` proves it.

- `rnn_cell`, `lstm_cell`, `gru_cell`: one node per step (an LSTM step's node
  holds h' and c' stacked, read out by two slices labelled "h" and "c").
- `rnn_sequence`, `lstm_sequence`, `gru_sequence`: one node for a whole layer
  over a whole sequence. The input projection x W_ih^T is one product for all
  steps, the loop does only the recurrence, and the backward pass is the
  hand-written BPTT loop, with every weight gradient one stacked product.

A sequence node is one box, but drawings still show one box per step: the node
has a *step mark* per state per step (`marks.py`), made when a drawing asks;
a mark receives dL/dh_t, and the backward pass skips it.

Notation, per step: a = x W_ih^T + b_ih + h W_hh^T + b_hh (the pre-activations),
g = dL/d(output) arriving at the node, σ the logistic sigmoid,
σ'(a) = σ(1 - σ), tanh'(a) = 1 - tanh^2.

Modules: `recording.py` (a fused node, its rules, the gradients every cell
shares), `marks.py` (steps inside a node: drawings and anomaly errors),
`kernels.py` (the numpy tricks of the loops), and one per cell: `rnn.py`,
`lstm.py`, `gru.py`.
"""

from .gru import gru_cell, gru_sequence
from .lstm import lstm_cell, lstm_sequence
from .rnn import rnn_cell, rnn_sequence

__all__ = ["gru_cell", "gru_sequence", "lstm_cell", "lstm_sequence", "rnn_cell", "rnn_sequence"]
