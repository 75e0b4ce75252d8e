"""RNN, LSTM and GRU cells, written with tensor ops only: their gradients are generic backprop.

Gate order and parameter names are PyTorch's, so weights move between the two unchanged.
The `*_step` functions hold the math; the cell modules and the sequence layers
(`layers.py`) both call them. With `fused=True` a cell runs the same step as one
node with hand-derived gradients instead (the `fused` package).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import flag, generator, positive_int
from ..ops import lerp, linear, mul, relu, sigmoid, tanh
from ..ops.combining import narrow_copy
from ..spellings import check_device
from ..tensor import Tensor, as_tensor, owned
from . import fused as fused_steps
from . import init
from .fused.gru import GRU_GATES
from .fused.kernels import PreparedWeights
from .fused.lstm import LSTM_GATES
from .fused.rnn import RNN_GATES
from .fused.recording import forward_mode
from .module import Module, empty_parameter, same_dtype, state_or_hx


def _plus_recurrent(x_proj: Tensor, weight_hh: Tensor, h: Tensor, bias_hh: Tensor | None) -> Tensor:
    """x_proj + h W_hh^T + b_hh as one linear node, x_proj (+ b_hh) as its addend. (A layer has
    already folded b_hh into x_proj, so there it passes None.)"""
    return linear(h, weight_hh, x_proj if bias_hh is None else x_proj + bias_hh)


def rnn_step(x: Tensor, h: Tensor, weight_ih: Tensor, weight_hh: Tensor,
             bias_ih: Tensor | None, bias_hh: Tensor | None, nonlinearity: str = "tanh") -> Tensor:
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    return rnn_recurrence(linear(x, weight_ih, bias_ih), h, weight_hh, bias_hh, nonlinearity)


def rnn_recurrence(x_proj: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None,
                   nonlinearity: str = "tanh") -> Tensor:
    """rnn_step given x_proj = x W_ih^T + b_ih (a layer computes it for all steps at once)."""
    pre = _plus_recurrent(x_proj, weight_hh, h, bias_hh)
    return (tanh(pre) if nonlinearity == "tanh" else relu(pre)).named("h")


def lstm_step(x: Tensor, state: tuple[Tensor, Tensor], weight_ih: Tensor, weight_hh: Tensor,
              bias_ih: Tensor | None, bias_hh: Tensor | None) -> tuple[Tensor, Tensor]:
    """i, f, g, o = split(x W_ih^T + b_ih + h W_hh^T + b_hh);
    c' = sigmoid(f) * c + sigmoid(i) * tanh(g);   h' = sigmoid(o) * tanh(c')."""
    return lstm_recurrence(linear(x, weight_ih, bias_ih), state, weight_hh, bias_hh)


def lstm_recurrence(x_proj: Tensor, state: tuple[Tensor, Tensor], weight_hh: Tensor,
                    bias_hh: Tensor | None) -> tuple[Tensor, Tensor]:
    """lstm_step given x_proj = x W_ih^T + b_ih."""
    h, c = state
    gates = _plus_recurrent(x_proj, weight_hh, h, bias_hh)
    hidden = h.shape[-1]
    s = sigmoid(gates)          # i, f and o from one sigmoid over all four chunks (g's goes unused)
    i, f = s[..., :hidden].named("i_gate"), s[..., hidden:2 * hidden].named("f_gate")
    o = s[..., 3 * hidden:].named("o_gate")
    g = tanh(gates[..., 2 * hidden:3 * hidden]).named("g_gate")
    c_next = (f * c + i * g).named("c")
    h_next = mul(o, tanh(c_next)).named("h")
    return h_next, c_next


def gru_step(x: Tensor, h: Tensor, weight_ih: Tensor, weight_hh: Tensor,
             bias_ih: Tensor | None, bias_hh: Tensor | None) -> Tensor:
    """r = sigmoid(W_ir x + b_ir + W_hr h + b_hr);  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz);
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn));   h' = (1 - z) * n + z * h."""
    return gru_recurrence(linear(x, weight_ih, bias_ih), h, weight_hh, bias_hh)


def gru_recurrence(x_proj: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None) -> Tensor:
    """gru_step given x_proj = x W_ih^T + b_ih. r and z come from one add over all 3H columns of
    x_proj + h_proj and one sigmoid over the first 2H (the sigmoid keeps its output for its rule:
    n's columns would be kept for nothing), and h' = (1 - z) * n + z * h, a step from n towards h,
    is one `lerp` node, n + z * (h - n)."""
    hidden = h.shape[-1]
    h_proj = linear(h, weight_hh, bias_hh)
    s = sigmoid((x_proj + h_proj)[..., :2 * hidden])       # r and z
    r, z = s[..., :hidden].named("r_gate"), s[..., hidden:2 * hidden].named("z_gate")
    h_n = narrow_copy(h_proj, -1, 2 * hidden, hidden)  # r * h_n saves h_n: its own array lets r, z's columns go
    n = tanh(x_proj[..., 2 * hidden:] + r * h_n).named("n_gate")
    return lerp(n, h, z).named("h")


class _Cell(Module):
    """Shared set-up: weight_ih (G*H, I), weight_hh (G*H, H), biases (G*H,), uniform(+-1/sqrt(H))
    (`reset_parameters`), from `rng` or the library's generator.

    `fused=True`: each step is one graph node with hand-derived gradients (same values); under
    `mg.jvp` (forward mode) the op-level step runs instead.
    """

    gates = 1
    activations = RNN_GATES     # per gate block, "s" sigmoid or "t" tanh: the fused step's PreparedWeights

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 rng: np.random.Generator | None = None, dtype: Any = None, *, fused: bool = False,
                 device: Any = None) -> None:
        super().__init__()
        where = type(self).__name__
        check_device(where, device)
        self._rng = generator(rng, where)
        input_size, hidden_size = positive_int(input_size, "input_size", where), positive_int(
            hidden_size, "hidden_size", where)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.bias, self.fused = flag(bias, "bias", where), flag(fused, "fused", where)
        rows = self.gates * hidden_size
        self.weight_ih = empty_parameter((rows, input_size), dtype)
        self.weight_hh = empty_parameter((rows, hidden_size), dtype)
        self.bias_ih = empty_parameter((rows,), dtype) if bias else None
        self.bias_hh = empty_parameter((rows,), dtype) if bias else None
        self._prepared = PreparedWeights(self.activations)      # the fused step's weights, laid out
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter drawn again from uniform(-1/sqrt(H), 1/sqrt(H)), in the order weight_ih, weight_hh,
        bias_ih, bias_hh, into the same Parameter objects, as PyTorch's RNNCellBase.reset_parameters; from the
        module's `rng` or the library's generator. (New arrays: the fused step lays its weights out again.)"""
        bound = 1 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            init.uniform_(parameter, -bound, bound, rng=self._rng)

    def _input(self, x: Any) -> tuple[Tensor, bool]:
        """x as a (B, I) tensor, and whether it came unbatched as (I,)."""
        x = as_tensor(x)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            codes = (f"; integer codes ({x.dtype}) are embedded (nn.Embedding) or one-hot encoded "
                     f"(F.one_hot(x, {self.input_size}).float()) first" if x.dtype.kind in "iu" else "")
            raise ValueError(f"{type(self).__name__}: expected input of shape (B, {self.input_size}) "
                             f"or ({self.input_size},), got {x.shape}{codes}")
        same_dtype(self, x, self.weight_hh.dtype)
        return (x.reshape(1, self.input_size), True) if x.ndim == 1 else (x, False)

    def _state(self, h: Any, batch: int, unbatched: bool, name: str = "h") -> Tensor:
        """A hidden state as (B, H): zeros when missing, checked otherwise."""
        if h is None:
            return owned(np.zeros((batch, self.hidden_size), dtype=self.weight_hh.dtype))
        h = as_tensor(h)
        expected = (self.hidden_size,) if unbatched else (batch, self.hidden_size)
        if h.shape != expected:
            raise ValueError(f"{type(self).__name__}: expected {name} of shape {expected}, got {h.shape}")
        same_dtype(self, h, self.weight_hh.dtype, name)
        return h.reshape(1, self.hidden_size) if unbatched else h

    def _weights(self) -> tuple:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def extra_repr(self) -> str:
        """PyTorch's: the sizes, then only the options that differ from their defaults."""
        relu = ", nonlinearity=relu" if getattr(self, "nonlinearity", "tanh") != "tanh" else ""
        bias = "" if self.bias else ", bias=False"
        return f"{self.input_size}, {self.hidden_size}{bias}{relu}" + (", fused=True" if self.fused else "")


def _unbatch(t: Tensor, unbatched: bool) -> Tensor:
    return t.reshape(t.shape[-1]) if unbatched else t


class RNNCell(_Cell):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act tanh or relu."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", rng: np.random.Generator | None = None,
                 dtype: Any = None, *, fused: bool = False, device: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, rng, dtype, fused=fused, device=device)
        self.nonlinearity = nonlinearity

    def forward(self, x: Any, h: Any = None, *, hx: Any = None) -> Tensor:
        x, unbatched = self._input(x)
        h = self._state(state_or_hx(self, h, hx), x.shape[0], unbatched)
        if self.fused and not forward_mode():
            h = fused_steps.rnn_cell(x, h, *self._weights(), self.nonlinearity, self._prepared)
        else:
            h = rnn_step(x, h, *self._weights(), self.nonlinearity)
        return _unbatch(h, unbatched)


class LSTMCell(_Cell):
    """(h', c') from x and (h, c); gate rows in weight_ih / weight_hh ordered i, f, g, o, as PyTorch's:

        i = sigmoid(W_ii x + b_ii + W_hi h + b_hi),   f = sigmoid(W_if x + b_if + W_hf h + b_hf),
        g = tanh(W_ig x + b_ig + W_hg h + b_hg),      o = sigmoid(W_io x + b_io + W_ho h + b_ho),
        c' = f * c + i * g,   h' = o * tanh(c')

    with W_ii the rows [0, H) of weight_ih, W_if the rows [H, 2H), and so on (`lstm_step`)."""

    gates = 4
    activations = LSTM_GATES

    def forward(self, x: Any, state: tuple | None = None, *, hx: tuple | None = None) -> tuple[Tensor, Tensor]:
        x, unbatched = self._input(x)
        state = state_or_hx(self, state, hx)
        if state is not None and not (isinstance(state, (tuple, list)) and len(state) == 2):
            raise ValueError(f"LSTMCell: expected the state as a pair (h, c), got {type(state).__name__}")
        h, c = (None, None) if state is None else state
        h = self._state(h, x.shape[0], unbatched, "h")
        c = self._state(c, x.shape[0], unbatched, "c")
        if self.fused and not forward_mode():
            h, c = fused_steps.lstm_cell(x, (h, c), *self._weights(), self._prepared)
        else:
            h, c = lstm_step(x, (h, c), *self._weights())
        return _unbatch(h, unbatched), _unbatch(c, unbatched)


class GRUCell(_Cell):
    """h' from x and h; gate rows in weight_ih / weight_hh ordered r, z, n, as PyTorch's:

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),   h' = (1 - z) * n + z * h

    with W_ir the rows [0, H) of weight_ih, W_iz the rows [H, 2H), W_in the rows [2H, 3H)
    (`gru_step`). r multiplies W_hn h + b_hn, as in PyTorch (Cho et al.'s GRU applies r to h
    before W_hn: another function, with other values)."""

    gates = 3
    activations = GRU_GATES

    def forward(self, x: Any, h: Any = None, *, hx: Any = None) -> Tensor:
        x, unbatched = self._input(x)
        h = self._state(state_or_hx(self, h, hx), x.shape[0], unbatched)
        if self.fused and not forward_mode():
            h = fused_steps.gru_cell(x, h, *self._weights(), self._prepared)
        else:
            h = gru_step(x, h, *self._weights())
        return _unbatch(h, unbatched)
