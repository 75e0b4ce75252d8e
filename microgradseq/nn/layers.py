"""`RNN`, `LSTM`, `GRU`: multi-layer sequence layers that unroll a cell over time.

Unrolling is a Python loop over steps, layer by layer: the input projection
x_t W_ih^T + b_ih of all steps is one product (with b_hh folded in where the
cell only adds it), then the recurrence runs step by step. Every node made at
step t is stamped with t (numbered from 1), so drawings and errors can say
"t = 37, f_gate". BPTT is then just `loss.backward()` over the unrolled graph.
With `fused=True` each layer runs the whole sequence as one node whose
backward is the hand-written BPTT loop (`fused/`); drawings still show one box
per step (its step marks, made when a drawing asks).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import flag, generator, positive_int, probability
from .. import functional
from ..metadata import time_steps
from ..ops import linear, stack
from ..ops.shape import stacked
from ..spellings import only_defaults
from ..tensor import Tensor, as_tensor, owned
from . import fused as fused_steps
from .cells import gru_recurrence, lstm_recurrence, rnn_recurrence
from .fused.marks import StepMarks
from .fused.recording import forward_mode
from .module import Module, same_dtype, state_or_hx, uniform


class _Layer(Module):
    """Parameters weight_ih_l{k} (G*H, I or H), weight_hh_l{k} (G*H, H), bias_ih_l{k}, bias_hh_l{k} (G*H,).

    `fused=True`: each layer is one node per sequence with hand-derived gradients (same values).
    `dropout=p`: dropout on each layer's outputs but the top layer's, in training mode (as PyTorch).
    PyTorch's `bidirectional` and `proj_size` are accepted only at their defaults (False, 0), and
    read as those (`layer.bidirectional`, as d2l's models ask before sizing their readout).
    """

    gates = 1
    state_parts = 1
    bidirectional, proj_size = False, 0

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, *, rng: np.random.Generator | None = None,
                 dtype: Any = None, fused: bool = False, **options: Any) -> None:
        super().__init__()
        where = type(self).__name__
        rng = generator(rng, where)
        only_defaults(where, options, {"bidirectional": False, "proj_size": 0})
        self.dropout = probability(dropout, "dropout", where)
        input_size, hidden_size = positive_int(input_size, "input_size", where), positive_int(
            hidden_size, "hidden_size", where)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers = num_layers = positive_int(num_layers, "num_layers", where)
        self.bias, self.batch_first, self.fused = (flag(bias, "bias", where), flag(batch_first, "batch_first", where),
                                                   flag(fused, "fused", where))
        rows, bound = self.gates * hidden_size, 1 / math.sqrt(hidden_size)
        for k in range(num_layers):
            width = input_size if k == 0 else hidden_size
            setattr(self, f"weight_ih_l{k}", uniform((rows, width), bound, rng, dtype))
            setattr(self, f"weight_hh_l{k}", uniform((rows, hidden_size), bound, rng, dtype))
            if bias:
                setattr(self, f"bias_ih_l{k}", uniform((rows,), bound, rng, dtype))
                setattr(self, f"bias_hh_l{k}", uniform((rows,), bound, rng, dtype))

    def layer_weights(self, k: int) -> tuple:
        """(weight_ih, weight_hh, bias_ih, bias_hh) of layer k (biases None without bias)."""
        return tuple(getattr(self, f"{name}_l{k}", None)
                     for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def _sequence(self, x: Any) -> tuple[Tensor, bool]:
        """x as time-major (T, B, I), and whether it came unbatched as (T, I)."""
        x = as_tensor(x)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(B, T, I)" if self.batch_first else "(T, B, I)"
            raise ValueError(f"{type(self).__name__}: expected input of shape {layout} or (T, I) "
                             f"with I = {self.input_size}, got {x.shape}")
        same_dtype(self, x, self.weight_hh_l0.dtype)
        if x.shape[0 if x.ndim == 2 or not self.batch_first else 1] == 0:
            raise ValueError(f"{type(self).__name__}: the input sequence is empty (shape {x.shape})")
        if x.ndim == 2:
            return x.reshape(x.shape[0], 1, self.input_size), True
        return (x.transpose(1, 0, 2) if self.batch_first else x), False

    def _initial(self, state: Any, batch: int, unbatched: bool, name: str) -> Tensor:
        """A (num_layers, B, H) state: zeros when missing, checked otherwise."""
        shape = (self.num_layers, batch, self.hidden_size)
        if state is None:
            return owned(np.zeros(shape, dtype=self.weight_hh_l0.dtype))
        try:
            if isinstance(state, (tuple, list)):        # (an LSTM's pair given to an RNN, say)
                raise TypeError
            state = as_tensor(state)
        except (TypeError, ValueError):
            raise TypeError(f"{type(self).__name__}: expected {name} as a tensor of shape {shape}, "
                            f"got {type(state).__name__}") from None
        expected = (self.num_layers, self.hidden_size) if unbatched else shape
        if state.shape != expected:
            raise ValueError(f"{type(self).__name__}: expected {name} of shape {expected}, got {state.shape}")
        same_dtype(self, state, self.weight_hh_l0.dtype, name)
        return state.reshape(shape)

    def project(self, x: Tensor, weight_ih: Tensor, bias_ih: Tensor | None,
                bias_hh: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """x_t W_ih^T + b_ih for all steps in one product, and the bias the recurrence still adds.

        In an RNN or LSTM step both biases are simply added, so b_hh joins b_ih
        here, once for the sequence (as a hand-written BPTT does), and the
        steps add none. (The GRU keeps b_hn inside r * (h W_hn^T + b_hn).)
        """
        if bias_ih is None or bias_hh is None:
            return linear(x, weight_ih, bias_ih), bias_hh
        return linear(x, weight_ih, bias_ih + bias_hh), None

    def recurrence(self, x_proj: Tensor, state: Any, weight_hh: Tensor, bias_hh: Tensor | None) -> Any:
        """One layer's step given x_proj = x_t W_ih^T + b_ih: the new state."""
        raise NotImplementedError

    def unroll(self, k: int, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        """Layer k over the whole sequence, op by op: (outputs (T, B, H), final state)."""
        weight_ih, weight_hh, bias_ih, bias_hh = self.layer_weights(k)
        projected, bias_hh = self.project(x, weight_ih, bias_ih, bias_hh)
        steps = len(projected)
        if steps == 0:
            return stack([]), state                 # (stack's error for an empty sequence)
        outputs, values = [], None
        for t in time_steps(steps):
            state = self.recurrence(projected[t - 1], state, weight_hh, bias_hh)
            h = state[0] if self.state_parts == 2 else state
            if values is None:
                values = np.empty((steps,) + h.shape, h.dtype)
            _move_into(h, values[t - 1])
            outputs.append(h)
        return stacked(outputs, values), state

    def sequence(self, k: int, x: Tensor, state: Any, below: StepMarks | None) -> tuple[Tensor, Any, StepMarks]:
        """Layer k over the whole sequence as one fused node: (outputs, final state, step marks);
        `below` is the step marks of layer k - 1 (None for the first layer)."""
        raise NotImplementedError

    def between_layers(self, output: Tensor, marks: StepMarks | None) -> tuple[Tensor, StepMarks | None]:
        """A lower layer's outputs as the next layer takes them: with dropout in training mode, as
        PyTorch (never after the top layer). The step marks of a fused layer then feed the next layer
        no longer (the dropout does), so drawings show the dropout between them."""
        if not (self.training and self.dropout):
            return output, marks
        return functional.dropout(output, self.dropout), None

    def forward(self, x: Any, state: Any = None, *, hx: Any = None) -> tuple[Tensor, Any]:
        x, unbatched = self._sequence(x)
        state = state_or_hx(self, state, hx)
        steps, batch = x.shape[0], x.shape[1]
        if self.state_parts == 2:
            if state is not None and not (isinstance(state, (tuple, list)) and len(state) == 2):
                raise ValueError(f"{type(self).__name__}: expected the state as a pair (h0, c0), "
                                 f"got {type(state).__name__}")
            h0, c0 = (None, None) if state is None else state
            initial = [self._initial(h0, batch, unbatched, "h0"), self._initial(c0, batch, unbatched, "c0")]
            layer_states = [(initial[0][k], initial[1][k]) for k in range(self.num_layers)]
        else:
            h0 = self._initial(state, batch, unbatched, "h0")
            layer_states = [h0[k] for k in range(self.num_layers)]
        if self.fused and not forward_mode():
            output, marks = x, None
            for k in range(self.num_layers):
                if k:
                    output, marks = self.between_layers(output, marks)
                output, layer_states[k], marks = self.sequence(k, output, layer_states[k], marks)
        else:
            output = x
            for k in range(self.num_layers):
                if k:
                    output, _ = self.between_layers(output, None)
                output, layer_states[k] = self.unroll(k, output, layer_states[k])
        if self.batch_first:
            output = output.transpose(1, 0, 2)
        if self.state_parts == 2:
            final = (stack([s[0] for s in layer_states]), stack([s[1] for s in layer_states]))
        else:
            final = stack(layer_states)
        if unbatched:
            output = output.reshape(steps, self.hidden_size)
            shape = (self.num_layers, self.hidden_size)
            final = tuple(f.reshape(shape) for f in final) if self.state_parts == 2 else final.reshape(shape)
        return output, final

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bias={self.bias}, batch_first={self.batch_first}"
                + (f", dropout={self.dropout}" if self.dropout else "") + (", fused=True" if self.fused else ""))


def _move_into(h: Tensor, place: np.ndarray) -> None:
    """Let step output h live at `place`, its row of the layer's output array, as a hand-written
    BPTT keeps one (T, B, H) array: copy its values there, and let h's tensor, and its node if it
    kept its own output (tanh does), hold the row instead. h's own array is then freed, and the graph
    holds every h once, not twice. Values, and so gradients, are unchanged. Until the layer returns,
    nothing else holds the output array; each row is made read-only once written."""
    own, node = h._data, h._node
    place[...] = own
    place.setflags(False)
    h._data = place
    if node is not None and node.saved is not None and id(own) in map(id, node.saved):
        node.saved = tuple([place if kept is own else kept for kept in node.saved])


class RNN(_Layer):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh) per layer."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 *, rng: np.random.Generator | None = None, dtype: Any = None, fused: bool = False,
                 **options: Any) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, rng=rng, dtype=dtype,
                         fused=fused, **options)
        self.nonlinearity = nonlinearity

    def recurrence(self, x_proj: Tensor, h: Tensor, weight_hh: Tensor,
                   bias_hh: Tensor | None) -> Tensor:
        return rnn_recurrence(x_proj, h, weight_hh, bias_hh, self.nonlinearity)

    def sequence(self, k: int, x: Tensor, h: Tensor, below: StepMarks | None) -> tuple:
        return fused_steps.rnn_sequence(x, h, *self.layer_weights(k), self.nonlinearity, below)


class LSTM(_Layer):
    """LSTM layers; the state is a pair (h, c), each (num_layers, B, H)."""

    gates = 4
    state_parts = 2

    def recurrence(self, x_proj: Tensor, state: tuple, weight_hh: Tensor,
                   bias_hh: Tensor | None) -> tuple:
        return lstm_recurrence(x_proj, state, weight_hh, bias_hh)

    def sequence(self, k: int, x: Tensor, state: tuple, below: StepMarks | None) -> tuple:
        return fused_steps.lstm_sequence(x, *state, *self.layer_weights(k), below)


class GRU(_Layer):
    """GRU layers; gate rows r, z, n."""

    gates = 3

    def project(self, x: Tensor, weight_ih: Tensor, bias_ih: Tensor | None,
                bias_hh: Tensor | None) -> tuple[Tensor, Tensor | None]:
        return linear(x, weight_ih, bias_ih), bias_hh

    def recurrence(self, x_proj: Tensor, h: Tensor, weight_hh: Tensor,
                   bias_hh: Tensor | None) -> Tensor:
        return gru_recurrence(x_proj, h, weight_hh, bias_hh)

    def sequence(self, k: int, x: Tensor, h: Tensor, below: StepMarks | None) -> tuple:
        return fused_steps.gru_sequence(x, h, *self.layer_weights(k), below)
