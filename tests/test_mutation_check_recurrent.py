"""Tests written from a mutation check of the recurrent modules (nn/cells.py: RNNCell, LSTMCell, GRUCell;
nn/layers.py: RNN, LSTM, GRU over sequences, packed input included; nn/fused/: the fused=True cells
and layers): each pins a behaviour that a hand-made wrong implementation changed without any other
test noticing. Expected values come from numpy cells written from PyTorch's documented equations
(gate orders i, f, g, o and r, z, n; GRU's n = tanh(W_in x + b_in + r * (W_hn h + b_hn))) and
expected errors from PyTorch's documented behaviour -- never from the library's own output."""

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn

pytestmark = pytest.mark.usefixtures("float64_default")   # every test here compares float64 values


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def np_rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    """PyTorch's RNNCell: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    return np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)


def np_lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's LSTMCell, gate rows i, f, g, o: c' = f c + i g, h' = o tanh(c')."""
    a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    i, f, g, o = np.split(a, 4, axis=-1)
    c_next = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c_next), c_next


def np_gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's GRUCell, gate rows r, z, n: n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h' = (1 - z) n + z h."""
    gx = x @ w_ih.T + b_ih
    gh = h @ w_hh.T + b_hh
    xr, xz, xn = np.split(gx, 3, axis=-1)
    hr, hz, hn = np.split(gh, 3, axis=-1)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    return (1 - z) * n + z * h


def assert_close(got, want, tol=1e-10):
    np.testing.assert_allclose(np.asarray(got), want, rtol=tol, atol=tol)


# ---- cells: options -----------------------------------------------------------------------------

def test_rnn_cell_repr_shows_a_relu_nonlinearity_as_pytorch():
    """PyTorch's RNNCellBase.extra_repr adds ", nonlinearity=relu" when it is not tanh (and nothing for
    tanh). Catches the nonlinearity being left out of the repr."""
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == "RNNCell(3, 4, nonlinearity=relu)"
    assert repr(nn.RNNCell(3, 4)) == "RNNCell(3, 4)"


@pytest.mark.parametrize("nonlinearity", ["sigmoid", "Tanh", "ReLU"])
def test_rnn_cell_refuses_an_unknown_nonlinearity(nonlinearity):
    """PyTorch accepts only "tanh" or "relu" (RNNCell raises "Unknown nonlinearity" at the latest when
    called). Catches the check being dropped, so that any other name silently runs relu."""
    with pytest.raises((ValueError, RuntimeError), match="nonlinearity"):
        cell = nn.RNNCell(3, 4, nonlinearity=nonlinearity)
        cell(mg.tensor(np.ones((2, 3))))


@pytest.mark.parametrize("fused", [False, True], ids=["op-level", "fused"])
def test_lstm_cell_refuses_its_state_as_one_stacked_tensor(fused):
    """PyTorch's LSTMCell takes hx as a tuple (h_0, c_0); one tensor of shape (2, B, H) is an error there
    (lstm_cell wants a tuple of tensors), and the library's docstring says "a pair (h, c)". Catches the
    pair check reading only len(state) == 2, which unpacks such a tensor into h and c silently."""
    cell = nn.LSTMCell(3, 4, fused=fused)
    x = mg.tensor(np.ones((2, 3)))
    with pytest.raises((ValueError, TypeError)):
        cell(x, mg.tensor(np.zeros((2, 2, 4))))


@pytest.mark.parametrize("nonlinearity", ["sigmoid", "Tanh"])
def test_rnn_layer_refuses_an_unknown_nonlinearity_when_made(nonlinearity):
    """PyTorch's RNN.__init__ raises ValueError ("Unknown nonlinearity ...; select from 'tanh' or
    'relu'") when it is made. Catches the check being dropped (any other name then runs relu)."""
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity=nonlinearity)


# ---- layers: input checks ------------------------------------------------------------------------

@pytest.mark.parametrize("fused", [False, True], ids=["op-level", "fused"])
@pytest.mark.parametrize("layer_class", [nn.RNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("batch_first", [False, True])
def test_an_empty_sequence_is_a_value_error_naming_the_layer(layer_class, fused, batch_first):
    """PyTorch refuses a sequence of length 0 ("Expected sequence length to be larger than 0"); the
    library's own check says so as a ValueError naming the layer, fused or not, for (0, B, I) and
    batch_first (B, 0, I). Catches the check being dropped (the op-level path then fails inside
    stack, the fused one with an IndexError)."""
    layer = layer_class(3, 4, batch_first=batch_first, fused=fused)
    x = np.zeros((2, 0, 3)) if batch_first else np.zeros((0, 2, 3))
    with pytest.raises(ValueError, match=f"{layer_class.__name__}: the input sequence is empty"):
        layer(mg.tensor(x))


def test_a_batch_first_layer_takes_an_empty_batch():
    """An empty batch (B = 0) is not an empty sequence: batch_first (0, T, I) gives output (0, T, H) and
    h_n (1, 0, H), as (T, 0, I) does without batch_first. Catches the emptiness check reading axis 0
    whatever the layout."""
    layer = nn.GRU(3, 4, batch_first=True)
    output, h_n = layer(mg.tensor(np.zeros((0, 5, 3))))
    assert output.shape == (0, 5, 4) and h_n.shape == (1, 0, 4)


@pytest.mark.parametrize("fused", [False, True], ids=["op-level", "fused"])
def test_lstm_layer_refuses_its_state_as_one_stacked_tensor(fused):
    """PyTorch's LSTM takes hx as a tuple (h_0, c_0) (its lstm op wants a tuple of tensors), and the
    library's docstring says "a pair (h0, c0)". Catches the pair check reading only len(state) == 2,
    which unpacks a (2, L*D, B, H) tensor into h0 and c0 silently."""
    layer = nn.LSTM(3, 4, fused=fused)
    with pytest.raises((ValueError, TypeError)):
        layer(mg.tensor(np.ones((5, 2, 3))), mg.tensor(np.zeros((2, 1, 2, 4))))


# ---- the fused steps, called directly --------------------------------------------------------------

@pytest.mark.parametrize("name", ["rnn_cell", "lstm_cell", "gru_cell"])
def test_a_fused_step_promotes_to_its_inputs_dtype_as_the_op_level_step(name):
    """kernels.step_dtype: a fused step runs in the weights' dtype unless the inputs or states promote
    it, as numpy promotion in the op-level step would (float32 weights, float64 x and h -> float64,
    with the float64 numpy values). The modules refuse inputs of another dtype, so this is reached by
    calling the exported fused steps directly. Catches the step always keeping the weights' dtype."""
    from microgradseq.nn import fused
    rng = np.random.default_rng(3)
    gates = {"rnn_cell": 1, "lstm_cell": 4, "gru_cell": 3}[name]
    w = [rng.normal(size=shape).astype(np.float32) for shape in ((gates * 4, 3), (gates * 4, 4), (gates * 4,),
                                                                 (gates * 4,))]
    x, h, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    params = [mg.tensor(a) for a in w]
    w64 = [a.astype(np.float64) for a in w]
    if name == "lstm_cell":
        got, _ = fused.lstm_cell(mg.tensor(x), (mg.tensor(h), mg.tensor(c)), *params)
        want, _ = np_lstm_cell(x, h, c, *w64)
    elif name == "gru_cell":
        got, want = fused.gru_cell(mg.tensor(x), mg.tensor(h), *params), np_gru_cell(x, h, *w64)
    else:
        got, want = fused.rnn_cell(mg.tensor(x), mg.tensor(h), *params), np_rnn_cell(x, h, *w64)
    assert got.dtype == np.float64
    assert_close(got.data, want, 1e-7)      # (the fused RNN and LSTM add b_ih + b_hh in float32 first)

