"""A recurrent layer over a packed batch (`nn.utils.rnn.PackedSequence`): each sequence for its own length.

Sorted longest first, the sequences that have a step t are the first
batch_sizes[t - 1] rows of the batch, so step t runs the cell on that prefix
only. `RNN`, `LSTM` and `GRU` call `unroll_packed` for a packed input
(`layers.py`); the cell's step is the layer's own `recurrence`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..metadata import time_steps
from ..ops import concat
from ..tensor import Tensor


def unroll_packed(layer: Any, k: int, reverse: bool, data: Tensor, batch_sizes: np.ndarray,
                  state: Any) -> tuple[Tensor, Any]:
    """`layer`'s layer k (or its reverse direction) over a packed sequence's data (N, I), op by op:
    (outputs (N, H), rows as data's, final state).

    Sorted longest first, the sequences that have a step t are the first batch_sizes[t - 1]
    rows, and step t runs the cell on those rows only. Going forward the state narrows as
    sequences end, and each keeps the state after its last step; the reverse direction meets
    each sequence's last step first, so there the state widens as sequences join, each from its
    initial state, and ends after every sequence's first step.
    """
    weight_ih, weight_hh, bias_ih, bias_hh = layer.layer_weights(k, reverse)
    projected, bias_hh = layer.project(data, weight_ih, bias_ih, bias_hh)
    starts, initial = np.cumsum(batch_sizes) - batch_sizes, state
    outputs, ended, state = [None] * len(batch_sizes), [], None     # ended: (state, row) where rows ended
    for t in time_steps(len(batch_sizes), reverse):
        start, active = int(starts[t - 1]), int(batch_sizes[t - 1])
        had = 0 if state is None else _row_count(state)
        if active > had:                        # sequences join (all at the first step)
            joining = _rows(initial, had, active)
            state = joining if state is None else _joined([state, joining])
        elif active < had:                      # sequences end: their final state is this one
            ended.append((state, active))
            state = _rows(state, 0, active)
        state = layer.recurrence(projected[start:start + active], state, weight_hh, bias_hh)
        outputs[t - 1] = state[0] if layer.state_parts == 2 else state
    final = _joined([state] + [_rows(kept, row, _row_count(kept)) for kept, row in reversed(ended)])
    return concat(outputs), final


def _row_count(state: Any) -> int:
    return len(state[0] if isinstance(state, tuple) else state)


def _rows(state: Any, start: int, stop: int) -> Any:
    """Rows start .. stop - 1 of a state (of both parts of an LSTM's (h, c)); the state itself when
    that is all of it."""
    if start == 0 and stop == _row_count(state):
        return state
    return tuple(part[start:stop] for part in state) if isinstance(state, tuple) else state[start:stop]


def _joined(pieces: list) -> Any:
    """States of consecutive rows joined into one (part by part for an LSTM's (h, c))."""
    if len(pieces) == 1:
        return pieces[0]
    if isinstance(pieces[0], tuple):
        return tuple(concat(list(parts)) for parts in zip(*pieces))
    return concat(pieces)
