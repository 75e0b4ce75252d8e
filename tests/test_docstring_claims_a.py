"""Tests written from a docstring-accuracy audit of microgradseq/nn/ and microgradseq/functional/: each pins a
claim of a module, class or function docstring (a formula, a default, an order, PyTorch's behaviour) that no
other test pinned. Expected values come from closed forms, numpy written here or PyTorch's documented
behaviour, never from the library's own output. Each docstring names the file and the claim it checks.
(Where the audit found a docstring false and the code right, the test pins what the code does, the claim
the corrected docstring makes: Softplus's beta, kl_div's input gradient with log_target, pack_sequence's
indices for a batch that came sorted.)"""

import math

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq.nn import fused
from microgradseq.nn.fused import kernels
from microgradseq.nn.utils.rnn import pack_sequence


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def leaf(array):
    """A float64 tensor that requires grad (a numpy array keeps its dtype)."""
    return mg.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


# ---- activations ---------------------------------------------------------------------------------------

def test_softplus_module_takes_a_negative_beta_as_pytorchs_smooth_min():
    """nn/activations.py, Softplus: "log(1 + e^(beta x)) / beta, x itself where beta x > threshold"; beta
    need only be non-zero (the docstring said "> 0"; functional/activations.py softplus: "a negative one
    gives a smooth min(x, 0), as PyTorch's", whose module takes any beta)."""
    x = np.array([-30.0, -1.0, 0.0, 2.0])
    module = nn.Softplus(beta=-1.0)
    expected = np.where(-x > 20.0, x, np.log1p(np.exp(-x)) / -1.0)       # -30: beta x = 30 > 20, x itself
    np.testing.assert_allclose(module(mg.tensor(x)).numpy(), expected, rtol=1e-12)
    assert repr(module) == "Softplus(beta=-1.0, threshold=20.0)"


# ---- losses --------------------------------------------------------------------------------------------

def test_kl_div_with_log_target_gives_the_input_minus_e_to_the_target():
    """functional/losses.py, kl_div: with log_target the pointwise loss is e^t (t - input), so d/dinput
    = -e^t (not -t) and the target gets e^t (t - input + 1)."""
    q = np.log(np.array([0.2, 0.3, 0.5]))
    t = np.log(np.array([0.1, 0.6, 0.3]))
    log_q, log_p = leaf(q), leaf(t)
    F.kl_div(log_q, log_p, reduction="sum", log_target=True).backward()
    np.testing.assert_allclose(log_q.grad, -np.exp(t), rtol=1e-12)
    np.testing.assert_allclose(log_p.grad, np.exp(t) * (t - q + 1), rtol=1e-12)


# ---- nn.init -------------------------------------------------------------------------------------------

def test_kaiming_normal_fan_out_std_is_the_leaky_relu_gain_over_the_root_of_fan_out():
    """nn/init.py, kaiming_normal_: "N(0, std^2) with std = gain / sqrt(fan), the gain of `nonlinearity`
    (leaky_relu of slope `a`) ... fan the fan_in or fan_out (`mode`)"; fan_out of (out, in, k) is out * k."""
    weight = nn.Parameter(np.zeros((200, 50, 3)))
    nn.init.kaiming_normal_(weight, a=0.5, mode="fan_out", rng=np.random.default_rng(0))
    std = math.sqrt(2 / (1 + 0.5 ** 2)) / math.sqrt(200 * 3)
    assert abs(weight.numpy().mean()) < 5 * std / math.sqrt(weight.numel())
    assert weight.numpy().std() == pytest.approx(std, rel=0.03)


def test_an_initialiser_on_a_slice_writes_into_the_parameter_there_only():
    """nn/init.py, _fill: "a part of another tensor (`w[:H]`, a basic index) writes them into that tensor
    too, as PyTorch's in-place init of a view does"; the slice (4, 3) has fan_in 3 and fan_out 4."""
    lstm = nn.LSTM(3, 4)
    weight = lstm.weight_ih_l0
    before = weight.numpy().copy()
    nn.init.xavier_uniform_(weight[:4], rng=np.random.default_rng(1))
    assert lstm.weight_ih_l0 is weight
    changed = weight.numpy()
    np.testing.assert_array_equal(changed[4:], before[4:])
    assert not np.array_equal(changed[:4], before[:4])
    assert np.abs(changed[:4]).max() <= math.sqrt(6 / (3 + 4))


# ---- Module --------------------------------------------------------------------------------------------

def test_named_modules_does_not_enter_a_module_that_holds_itself_again():
    """nn/module.py, named_modules: "A module that holds itself or one of its holders is not entered again
    along that path (its names would never end; PyTorch's recursion fails there)", even with
    remove_duplicate=False."""
    outer = nn.Sequential(nn.Linear(1, 1))
    outer.add_module("again", outer)
    assert [name for name, _ in outer.named_modules()] == ["", "0"]
    assert [name for name, _ in outer.named_modules(remove_duplicate=False)] == ["", "0"]


def test_to_converts_gradients_and_floating_buffers_and_keeps_integer_buffers():
    """nn/module.py, to: "a dtype must be a floating one and converts every parameter (and its gradient)
    and every floating buffer, as PyTorch's does (integer buffers stay)"; an integer dtype is a TypeError."""
    norm = nn.BatchNorm1d(2)
    norm(mg.tensor(np.array([[1.0, 2.0], [3.0, 5.0]], dtype=np.float32))).sum().backward()
    assert norm.double() is norm
    assert norm.weight.dtype == np.float64 and norm.weight.grad.dtype == np.float64
    assert norm.running_mean.dtype == np.float64 and norm.running_var.dtype == np.float64
    assert norm.num_batches_tracked.dtype == np.int64 and int(norm.num_batches_tracked) == 1
    with pytest.raises(TypeError, match="expected a floating-point dtype"):
        norm.to(np.int32)


# ---- containers ----------------------------------------------------------------------------------------

def test_module_dict_keeps_a_plain_dicts_order_where_parameter_dict_sorts_it():
    """nn/containers.py: ModuleDict "Entries keep their order"; ParameterDict "a plain dict given to the
    constructor or `update` goes in sorted by key, as PyTorch's (an OrderedDict, a ParameterDict or
    (key, value) pairs keep their order)"."""
    assert list(nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})) == ["b", "a"]
    parameters = {"b": nn.Parameter(mg.ones(1)), "a": nn.Parameter(mg.ones(1))}
    assert list(nn.ParameterDict(parameters)) == ["a", "b"]
    assert list(nn.ParameterDict(list(parameters.items()))) == ["b", "a"]


# ---- nn.utils.rnn --------------------------------------------------------------------------------------

def test_packing_with_enforce_sorted_false_gives_indices_even_for_a_sorted_batch():
    """nn/utils/rnn.py, module docstring: `sorted_indices` and `unsorted_indices` are None only for a batch
    packed with enforce_sorted=True; with False PyTorch sorts the lengths (torch.sort) and keeps the
    permutation, here the identity, even when the batch came sorted."""
    packed = pack_sequence([mg.ones(3, 1), mg.ones(2, 1)], enforce_sorted=False)
    np.testing.assert_array_equal(np.asarray(packed.sorted_indices), [0, 1])
    np.testing.assert_array_equal(np.asarray(packed.unsorted_indices), [0, 1])
    assert pack_sequence([mg.ones(3, 1), mg.ones(2, 1)]).sorted_indices is None


# ---- fused steps: the docstrings' formulas, in numpy ----------------------------------------------------

def test_one_tanh_gives_every_gate_sigmoid_a_as_half_tanh_half_a_plus_half():
    """nn/fused/kernels.py, sigmoid_scale and activate: sigma(a) = 0.5 tanh(0.5 a) + 0.5 and tanh(a) = 1 tanh(1 a)
    + 0, one tanh call for all gate blocks ("s" sigmoid, "t" tanh); the scale and offset are read-only."""
    a = np.array([[-3.0, 0.5, 2.0, -1.0, 0.25, 4.0]])
    scale, offset = kernels.sigmoid_scale(2, "sts", np.dtype(np.float64))
    out = kernels.activate(a * scale, scale, offset)
    np.testing.assert_allclose(out[:, :2], sigmoid(a[:, :2]), rtol=1e-14)
    np.testing.assert_allclose(out[:, 2:4], np.tanh(a[:, 2:4]), rtol=1e-14)
    np.testing.assert_allclose(out[:, 4:], sigmoid(a[:, 4:]), rtol=1e-14)
    assert not scale.flags.writeable and not offset.flags.writeable


def test_blocks_come_last_block_first_each_about_block_elements(monkeypatch):
    """nn/fused/kernels.py, blocks: "(start, stop) blocks of steps, last block first, each holding about
    BLOCK elements" (BLOCK read at each call): 10 steps of 4 elements with BLOCK 12 are blocks of 3."""
    monkeypatch.setattr(kernels, "BLOCK", 12)
    assert kernels.blocks(10, 4) == [(7, 10), (4, 7), (1, 4), (0, 1)]


def _cell_inputs(gates, seed):
    rng = np.random.default_rng(seed)
    batch, inputs, hidden = 2, 3, 4
    return (rng.normal(size=(batch, inputs)), rng.normal(size=(batch, hidden)),
            rng.normal(size=(gates * hidden, inputs)) * 0.5, rng.normal(size=(gates * hidden, hidden)) * 0.5,
            rng.normal(size=gates * hidden) * 0.5, rng.normal(size=gates * hidden) * 0.5, hidden)


def test_fused_gru_cell_gradients_are_the_docstrings_formulas():
    """nn/fused/gru.py: h' = n + z (h - n), n = tanh(a_n + r (W_hn h + b_hn)); backward with dh = dL/dh':
    d_n = (1 - z)(1 - n^2), da_r = dh d_n (W_hn h + b_hn) sigma'(a_r), da_z = dh (h - n) sigma'(a_z),
    da_x,n = dh d_n, da_h,n = dh d_n r, dL/dh = dh z + da_h W_hh; and (nn/fused/recording.py) dL/dx =
    da_x W_ih, dL/dW_ih = da_x^T x, dL/dW_hh = da_h^T h, dL/db_ih = sum da_x, dL/db_hh = sum da_h."""
    x, h, w_ih, w_hh, b_ih, b_hh, H = _cell_inputs(3, seed=2)
    g = np.random.default_rng(3).normal(size=h.shape)
    tensors = [leaf(a) for a in (x, h, w_ih, w_hh, b_ih, b_hh)]
    (fused.gru_cell(*tensors) * mg.tensor(g)).sum().backward()
    from_x, from_h = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    r, z = sigmoid(from_x[:, :H] + from_h[:, :H]), sigmoid(from_x[:, H:2 * H] + from_h[:, H:2 * H])
    h_n = from_h[:, 2 * H:]
    n = np.tanh(from_x[:, 2 * H:] + r * h_n)
    d_n = (1 - z) * (1 - n ** 2)
    da_r, da_z = g * d_n * h_n * r * (1 - r), g * (h - n) * z * (1 - z)
    da_x = np.concatenate([da_r, da_z, g * d_n], axis=1)
    da_h = np.concatenate([da_r, da_z, g * d_n * r], axis=1)
    for tensor, expected in zip(tensors, (da_x @ w_ih, g * z + da_h @ w_hh, da_x.T @ x, da_h.T @ h,
                                          da_x.sum(axis=0), da_h.sum(axis=0))):
        np.testing.assert_allclose(tensor.grad, expected, rtol=1e-10, atol=1e-12)


def test_fused_lstm_cell_gradients_are_the_docstrings_formulas():
    """nn/fused/lstm.py: c' = f c + i g, h' = o tanh(c'); backward: dc = dc' + dh' o (1 - tanh(c')^2),
    da_i = dc g sigma'(a_i), da_f = dc c sigma'(a_f), da_g = dc i (1 - g^2), da_o = dh' tanh(c') sigma'(a_o),
    dL/dc = dc f, dL/dh = da W_hh (and dL/dx = da W_ih, recording.py)."""
    x, h, w_ih, w_hh, b_ih, b_hh, H = _cell_inputs(4, seed=4)
    rng = np.random.default_rng(5)
    c, g_h, g_c = rng.normal(size=h.shape), rng.normal(size=h.shape), rng.normal(size=h.shape)
    tensors = [leaf(a) for a in (x, h, c, w_ih, w_hh, b_ih, b_hh)]
    x_t, h_t, c_t, *weights = tensors
    h_next, c_next = fused.lstm_cell(x_t, (h_t, c_t), *weights)
    ((h_next * mg.tensor(g_h)).sum() + (c_next * mg.tensor(g_c)).sum()).backward()
    a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    i, f, gate, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
    tanh_c = np.tanh(f * c + i * gate)
    dc = g_c + g_h * o * (1 - tanh_c ** 2)
    da = np.concatenate([dc * gate * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - gate ** 2),
                         g_h * tanh_c * o * (1 - o)], axis=1)
    np.testing.assert_allclose(h_next.numpy(), o * tanh_c, rtol=1e-12)
    for tensor, expected in zip(tensors, (da @ w_ih, da @ w_hh, dc * f, da.T @ x, da.T @ h, da.sum(axis=0),
                                          da.sum(axis=0))):
        np.testing.assert_allclose(tensor.grad, expected, rtol=1e-10, atol=1e-12)
