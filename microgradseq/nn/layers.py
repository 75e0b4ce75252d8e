"""`RNN`, `LSTM`, `GRU` (on their base `RNNBase`): multi-layer sequence layers that unroll a cell over time.

Unrolling is a Python loop over steps, layer by layer: the input projection
x_t W_ih^T + b_ih of all steps is one product (with b_hh folded in where the
cell only adds it), then the recurrence runs step by step. Every node made at
step t is stamped with t (numbered from 1), so drawings and errors can say
"t = 37, f_gate". BPTT is then just `loss.backward()` over the unrolled graph.
With `fused=True` each layer runs the whole sequence as one node whose
backward is the hand-written BPTT loop (`fused/`); drawings still show one box
per step (its step marks, made when a drawing asks).

`bidirectional=True` gives each layer a second set of weights (`..._reverse`)
run from t = T down to 1, h'_t = cell(x_t, h'_(t+1)), h'_(T+1) = h0; the layer's
output at t is [h_t, h'_t] (2H wide), which the layer above reads. Both
directions' nodes at input position t are stamped with t.

A `PackedSequence` (`nn.utils.rnn`) runs each sequence of a batch for its own
length (`packed_steps.py`).
"""

from __future__ import annotations

import math
import sys
import warnings
from typing import Any

import numpy as np

from ..checks import flag, generator, positive_int, probability, user_stacklevel
from .. import functional
from ..metadata import at_step, in_scope, step_offset, time_steps
from ..ops import concat, linear, stack
from ..ops.shape import stacked
from ..spellings import only_defaults
from ..tensor import Tensor, as_tensor, owned
from . import fused as fused_steps
from . import init
from .cells import gru_recurrence, lstm_recurrence, rnn_recurrence
from .fused.marks import StepMarks
from .fused.recording import forward_mode
from .module import Module, empty_parameter, same_dtype, state_or_hx
from .packed_steps import unroll_packed
from .utils.rnn import PackedSequence, checked_packed


GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}    # (PyTorch's RNNBase modes: G, the gate blocks)


class RNNBase(Module):
    """PyTorch's RNNBase, the base of `RNN`, `LSTM` and `GRU`: RNNBase(mode, input_size, hidden_size, ...)
    with mode 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU' (kept as `mode`), which gives G gate blocks (1, 1, 4, 3)
    and the state (an LSTM's: a pair). It makes and resets the parameters; a subclass says how a step runs
    (`recurrence`, `sequence`), so an RNNBase made directly has an LSTM's parameters, say, but no forward.

    Parameters weight_ih_l{k} (G*H, I; D*H above the first layer), weight_hh_l{k} (G*H, H),
    bias_ih_l{k}, bias_hh_l{k} (G*H,); with `bidirectional=True` (D = 2 directions) each layer has
    the same again for its reverse direction, `weight_ih_l{k}_reverse`, ..., registered after them.

    Input (T, B, I) ((B, T, I) with `batch_first`, or unbatched (T, I)), or a `PackedSequence`;
    output (T, B, D*H), every step's top-layer [h_t, h'_t] (a `PackedSequence` for a packed
    input); state (num_layers * D, B, H) in the order layer 0, layer 0 reverse, layer 1, ...
    (an LSTM's: a pair). For a packed input each sequence's final state is the one after its own
    last step (the reverse direction: after its first), in the batch's original order.

    `fused=True`: each layer and direction is one node per sequence with hand-derived gradients
    (same values); the reverse direction is the same kernel run on the flipped sequence, its
    output flipped back. A packed input runs the op-level steps, fused or not.
    `dropout=p`: dropout on each layer's outputs but the top layer's, in training mode (as PyTorch).
    PyTorch's `proj_size` is accepted only at its default 0 (and reads as that).
    """

    proj_size = 0

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 rng: np.random.Generator | None = None, dtype: Any = None, fused: bool = False,
                 **options: Any) -> None:
        super().__init__()
        where = type(self).__name__
        if mode not in GATES:
            raise ValueError(f"{where}: Unrecognized RNN mode: expected one of {', '.join(map(repr, GATES))}, "
                             f"got {mode!r}")
        self.mode, self.gates, self.state_parts = mode, GATES[mode], 2 if mode == "LSTM" else 1
        self._rng = generator(rng, where)
        only_defaults(where, options, {"proj_size": 0})
        self.dropout = probability(dropout, "dropout", where)
        input_size, hidden_size = positive_int(input_size, "input_size", where), positive_int(
            hidden_size, "hidden_size", where)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers = num_layers = positive_int(num_layers, "num_layers", where)
        if self.dropout > 0 and num_layers == 1:     # PyTorch's RNNBase warns the same
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          UserWarning, stacklevel=user_stacklevel())
        self.bias, self.batch_first, self.fused = (flag(bias, "bias", where), flag(batch_first, "batch_first", where),
                                                   flag(fused, "fused", where))
        self.bidirectional = flag(bidirectional, "bidirectional", where)
        rows = self.gates * hidden_size
        for k in range(num_layers):
            width = input_size if k == 0 else hidden_size * self.num_directions
            for suffix in ("", "_reverse")[:self.num_directions]:
                setattr(self, f"weight_ih_l{k}{suffix}", empty_parameter((rows, width), dtype))
                setattr(self, f"weight_hh_l{k}{suffix}", empty_parameter((rows, hidden_size), dtype))
                if bias:
                    setattr(self, f"bias_ih_l{k}{suffix}", empty_parameter((rows,), dtype))
                    setattr(self, f"bias_hh_l{k}{suffix}", empty_parameter((rows,), dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter drawn again from uniform(-1/sqrt(H), 1/sqrt(H)) in PyTorch's order (layer by layer,
        each direction's weight_ih, weight_hh, bias_ih, bias_hh), into the same Parameter objects, as
        PyTorch's RNNBase.reset_parameters; from the module's `rng` or the library's generator."""
        bound = 1 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            init.uniform_(parameter, -bound, bound, rng=self._rng)

    @property
    def num_directions(self) -> int:
        """D: 2 for a bidirectional layer, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def _flat_weights_names(self) -> list[str]:
        """The parameters' names in PyTorch's order (layer by layer, each direction's weight_ih, weight_hh,
        bias_ih, bias_hh): d2l's init walks them, `for name in m._flat_weights_names: ... m._parameters[name]`.
        Fixed by the layer's shape, as PyTorch's list made in `__init__`: a parameter that `weight_norm` turned
        into a computed attribute keeps its name and place."""
        return [name for names in self._all_weights for name in names]

    @property
    def _flat_weights(self) -> list[Any]:
        """The weights under `_flat_weights_names`, in that order, as PyTorch's RNNBase keeps them: each the
        module's attribute, a Parameter, or the tensor a `weight_norm` computes in its place (PyTorch's
        test_rnn_weight_norm counts the Parameters among them)."""
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Tensor]]:
        """Each layer's and direction's [weight_ih, weight_hh, bias_ih, bias_hh] (the two weights without
        bias), in PyTorch's order: layer 0, its reverse direction, layer 1, ..."""
        return [[w for w in self.layer_weights(k, reverse) if w is not None]
                for k in range(self.num_layers) for reverse in (False, True)[:self.num_directions]]

    @property
    def _all_weights(self) -> list[list[str]]:
        """The names behind `all_weights`, as PyTorch's RNNBase keeps them: each layer's and direction's
        ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'] ('..._l0_reverse' for the reverse one).
        Seq2seq code initialises through it: `for names in lstm._all_weights: for name in names: ...
        getattr(lstm, name)` (pointer_summarizer's init_lstm_wt)."""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return [[f"{name}_l{k}{suffix}" for name in names if hasattr(self, f"{name}_l{k}{suffix}")]
                for k in range(self.num_layers) for suffix in ("", "_reverse")[:self.num_directions]]

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch's call lays the weights out in one block for cuDNN; these are numpy
        arrays already (kept so that scripts calling it in `forward` run unchanged)."""

    def layer_weights(self, k: int, reverse: bool = False) -> tuple:
        """(weight_ih, weight_hh, bias_ih, bias_hh) of layer k, or of its reverse direction (biases None
        without bias)."""
        suffix = "_reverse" if reverse else ""
        # (interned: CPython caches attribute lookups by the name's address, and a fresh string at every
        # step would fill that cache with copies, a few hundred KB that look like a leak over long runs)
        return tuple(getattr(self, sys.intern(f"{name}_l{k}{suffix}"), None)
                     for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def _sequence(self, x: Any) -> tuple[Tensor, bool]:
        """x as time-major (T, B, I), and whether it came unbatched as (T, I)."""
        if isinstance(x, (list, tuple)) and all(isinstance(item, (Tensor, np.ndarray)) for item in x) \
                and len({item.shape for item in x}) > 1:
            raise TypeError(f"{type(self).__name__}: expected the input as one tensor (T, B, I) or a PackedSequence, "
                            f"got a {type(x).__name__} of sequences of different shapes "
                            f"({', '.join(str(item.shape) for item in x[:3])}{', ...' if len(x) > 3 else ''}); "
                            "pack sequences of different lengths with "
                            "nn.utils.rnn.pack_sequence(sequences, enforce_sorted=False)")
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

    def _packed(self, sequence: PackedSequence) -> tuple[Tensor, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """A packed sequence's data (N, I), checked, its batch sizes, and its sorted and unsorted orders."""
        where = type(self).__name__
        data, batch_sizes, sorted_order, unsorted_order = checked_packed(sequence, where)
        if data.ndim != 2 or data.shape[1] != self.input_size:
            raise ValueError(f"{where}: expected a packed sequence of data (N, I) with I = {self.input_size}, "
                             f"got data of shape {data.shape}")
        same_dtype(self, data, self.weight_hh_l0.dtype)
        return data, batch_sizes, sorted_order, unsorted_order

    def _initial(self, state: Any, batch: int, unbatched: bool, name: str) -> Tensor:
        """A (num_layers * D, B, H) state: zeros when missing, checked otherwise."""
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if state is None:
            return owned(np.zeros(shape, dtype=self.weight_hh_l0.dtype))
        try:
            if isinstance(state, (tuple, list)):        # (an LSTM's pair given to an RNN, say)
                raise TypeError
            state = as_tensor(state)
        except (TypeError, ValueError):
            raise TypeError(f"{type(self).__name__}: expected {name} as a tensor of shape {shape}, "
                            f"got {type(state).__name__}") from None
        expected = (shape[0], self.hidden_size) if unbatched else shape
        if state.shape != expected:
            raise ValueError(f"{type(self).__name__}: expected {name} of shape {expected}, got {state.shape}")
        same_dtype(self, state, self.weight_hh_l0.dtype, name)
        return state.reshape(shape)

    def _initial_states(self, state: Any, batch: int, unbatched: bool, order: np.ndarray | None) -> list:
        """The initial state of each layer and direction, [layer 0, layer 0 reverse, layer 1, ...] (a pair
        (h, c) each for an LSTM); `order` puts the rows of a packed batch longest first."""
        if self.state_parts == 2:
            if state is not None and not (isinstance(state, (tuple, list)) and len(state) == 2):
                raise ValueError(f"{type(self).__name__}: expected the state as a pair (h0, c0), "
                                 f"got {type(state).__name__}")
            h0, c0 = (None, None) if state is None else state
            parts = [self._initial(h0, batch, unbatched, "h0"), self._initial(c0, batch, unbatched, "c0")]
        else:
            parts = [self._initial(state, batch, unbatched, "h0")]
        if order is not None:
            parts = [part[:, order] for part in parts]
        count = self.num_layers * self.num_directions
        if self.state_parts == 2:
            return [(parts[0][i], parts[1][i]) for i in range(count)]
        return [parts[0][i] for i in range(count)]

    def _final(self, states: list, unbatched: bool, order: np.ndarray | None) -> Any:
        """h_n (and c_n), (num_layers * D, B, H), from the last state of each layer and direction;
        `order` puts the rows of a packed batch back in the batch's order."""
        parts = ([stack([s[0] for s in states]), stack([s[1] for s in states])] if self.state_parts == 2
                 else [stack(states)])
        if order is not None:
            parts = [part[:, order] for part in parts]
        if unbatched:
            parts = [part.reshape(len(states), self.hidden_size) for part in parts]
        return tuple(parts) if self.state_parts == 2 else parts[0]

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
        raise NotImplementedError(f"{type(self).__name__}: no step of its own (mode {self.mode!r}); use nn.RNN, "
                                  "nn.LSTM or nn.GRU")

    def unroll(self, k: int, reverse: bool, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        """Layer k (its reverse direction if `reverse`: t = T down to 1) over the whole sequence, op by
        op: (outputs (T, B, H) in step order, final state)."""
        weight_ih, weight_hh, bias_ih, bias_hh = self.layer_weights(k, reverse)
        projected, bias_hh = self.project(x, weight_ih, bias_ih, bias_hh)
        steps = len(projected)          # (at least 1: forward refuses an empty sequence)
        outputs, values = [None] * steps, None
        for t in time_steps(steps, reverse):
            state = self.recurrence(projected[t - 1], state, weight_hh, bias_hh)
            h = state[0] if self.state_parts == 2 else state
            if values is None:
                values = np.empty((steps,) + h.shape, h.dtype)
            _move_into(h, values[t - 1])
            outputs[t - 1] = h
        return stacked(outputs, values), state

    def sequence(self, k: int, reverse: bool, x: Tensor, state: Any,
                 below: StepMarks | None) -> tuple[Tensor, Any, StepMarks]:
        """Layer k (or its reverse direction, given the sequence flipped) over the whole sequence as one
        fused node: (outputs, final state, step marks); `below` is the step marks of the same
        direction of layer k - 1 (None for the first layer)."""
        raise NotImplementedError

    def direction(self, k: int, reverse: bool, x: Tensor, state: Any, below: StepMarks | None,
                  batch_sizes: np.ndarray | None) -> tuple[Tensor, Any, StepMarks | None]:
        """Layer k's forward (or reverse) direction over x, (T, B, I), or a packed sequence's data with
        its `batch_sizes`: (outputs in step order, final state, step marks of a fused node or None).
        The reverse direction's nodes are in the scope `reverse` inside the layer's, so errors and
        drawings tell its h from the forward direction's."""
        if not reverse:
            return self._run(k, False, x, state, below, batch_sizes)
        with in_scope("reverse"):
            return self._run(k, True, x, state, below, batch_sizes)

    def _run(self, k: int, reverse: bool, x: Tensor, state: Any, below: StepMarks | None,
             batch_sizes: np.ndarray | None) -> tuple[Tensor, Any, StepMarks | None]:
        if batch_sizes is not None:
            return (*unroll_packed(self, k, reverse, x, batch_sizes, state), None)
        if not self.fused or forward_mode():
            return (*self.unroll(k, reverse, x, state), None)
        if not reverse:
            return self.sequence(k, False, x, state, below)
        output, state, marks = self.sequence(k, True, x[::-1], state, below)
        return output[::-1], state, marks

    def between_layers(self, output: Tensor, marks: list | None) -> tuple[Tensor, list | None]:
        """A lower layer's outputs as the next layer takes them: with dropout in training mode, as
        PyTorch (never after the top layer). The step marks of a fused layer then feed the next layer
        no longer (the dropout does), so drawings show the dropout between them."""
        if not (self.training and self.dropout):
            return output, marks
        return functional.dropout(output, self.dropout), None

    def forward(self, x: Any, state: Any = None, *, hx: Any = None) -> tuple[Any, Any]:
        state = state_or_hx(self, state, hx)
        packed = x if isinstance(x, PackedSequence) else None
        if packed is not None:
            x, batch_sizes, sorted_order, unsorted_order = self._packed(packed)
            unbatched, states = False, self._initial_states(state, int(batch_sizes[0]), False, sorted_order)
        else:
            x, unbatched = self._sequence(x)
            batch_sizes, unsorted_order = None, None
            states = self._initial_states(state, x.shape[1], unbatched, None)
        directions = self.num_directions
        output, below = x, None
        for k in range(self.num_layers):
            if k:
                output, below = self.between_layers(output, below)
            outputs, marks = [], []
            for d in range(directions):
                out, states[k * directions + d], mark = self.direction(
                    k, d == 1, output, states[k * directions + d], below[d] if below else None, batch_sizes)
                outputs.append(out)
                marks.append(mark)
            output, below = (outputs[0] if directions == 1 else concat(outputs, axis=-1)), marks
        with at_step(step_offset() + len(batch_sizes if packed is not None else x)):
            final = self._final(states, unbatched, unsorted_order)     # h_n is h_T: stamped with step T
        if packed is not None:
            return PackedSequence(output, *packed[1:]), final
        if self.batch_first:
            output = output.transpose(1, 0, 2)
        if unbatched:
            output = output.reshape(x.shape[0], directions * self.hidden_size)
        return output, final

    def extra_repr(self) -> str:
        """PyTorch's: the sizes, then only the options that differ from their defaults (`GRU(8, 16,
        bidirectional=True)`), so a printed model reads as a tutorial prints it."""
        return (f"{self.input_size}, {self.hidden_size}"
                + (f", num_layers={self.num_layers}" if self.num_layers != 1 else "")
                + ("" if self.bias else ", bias=False") + (", batch_first=True" if self.batch_first else "")
                + (f", dropout={self.dropout}" if self.dropout else "")
                + (", bidirectional=True" if self.bidirectional else "") + (", fused=True" if self.fused else ""))


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


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh) per layer."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, *, rng: np.random.Generator | None = None, dtype: Any = None,
                 fused: bool = False, **options: Any) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, rng=rng, dtype=dtype, fused=fused, **options)
        self.nonlinearity = nonlinearity

    def recurrence(self, x_proj: Tensor, h: Tensor, weight_hh: Tensor,
                   bias_hh: Tensor | None) -> Tensor:
        return rnn_recurrence(x_proj, h, weight_hh, bias_hh, self.nonlinearity)

    def sequence(self, k: int, reverse: bool, x: Tensor, h: Tensor, below: StepMarks | None) -> tuple:
        return fused_steps.rnn_sequence(x, h, *self.layer_weights(k, reverse), self.nonlinearity, below,
                                        reverse=reverse)


class LSTM(RNNBase):
    """LSTM layers; the state is a pair (h, c), each (num_layers * D, B, H). RNNBase's arguments but mode."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def recurrence(self, x_proj: Tensor, state: tuple, weight_hh: Tensor,
                   bias_hh: Tensor | None) -> tuple:
        return lstm_recurrence(x_proj, state, weight_hh, bias_hh)

    def sequence(self, k: int, reverse: bool, x: Tensor, state: tuple, below: StepMarks | None) -> tuple:
        return fused_steps.lstm_sequence(x, *state, *self.layer_weights(k, reverse), below, reverse=reverse)


class GRU(RNNBase):
    """GRU layers; gate rows r, z, n. RNNBase's arguments but mode."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("GRU", *args, **kwargs)

    def project(self, x: Tensor, weight_ih: Tensor, bias_ih: Tensor | None,
                bias_hh: Tensor | None) -> tuple[Tensor, Tensor | None]:
        return linear(x, weight_ih, bias_ih), bias_hh

    def recurrence(self, x_proj: Tensor, h: Tensor, weight_hh: Tensor,
                   bias_hh: Tensor | None) -> Tensor:
        return gru_recurrence(x_proj, h, weight_hh, bias_hh)

    def sequence(self, k: int, reverse: bool, x: Tensor, h: Tensor, below: StepMarks | None) -> tuple:
        return fused_steps.gru_sequence(x, h, *self.layer_weights(k, reverse), below, reverse=reverse)
