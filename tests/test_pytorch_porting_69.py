"""Porting, round 69: HAND-WRITTEN BACKWARD PASSES FOR RECURRENT CELLS in `torch.autograd.Function`, as research
and course code writes them -- a GRU cell whose backward is derived by hand (the custom C++/CUDA extension
tutorial redone for a GRU) and a first-order linear scan (the QRNN's fo-pooling recurrence h_t = f_t h_{t-1} + v_t)
whose backward is the hand-written reverse scan. Neither was ported by an earlier round (round 39 ported
extension-cpp's own LLTM). Each is written as its author wrote it, with only the imports changed (`# differs:`
marks each other change and why):

1. kevinghst/GRU-CUDA: gru/python/gru_baseline.py (6ec944d5f500388e787b6b9a03d339087c5cad1a: `d_sigmoid`,
   `d_tanh` of the saved gate outputs, `GRUFunction` with `ctx.save_for_backward` of eight tensors and a backward
   that reads them through `ctx.saved_variables[:8]` and returns None for the input), gru/python/gru.py (6ec944d5:
   the same cell through autograd), gru/grad_check.py (ff51bd680fd99bdde187035fc7ea1287613c8880: `gradcheck` in
   float64 with the input not requiring grad), gru/benchmark.py (3ec3d60ab7c8ac623fad2da8f27ac3b2c07567eb: the
   'py', 'py_baseline' and 'py_torch' (nn.GRUCell) cells timed forward and backward) and gru/sample_train.py
   (2ee0d777ee07fcd5eb77179e142e1048f3813ec8: `GRUCell`, `GRUModel` unrolling the Function over the rows of an
   image, CrossEntropyLoss, SGD, the accuracy loop). python/gru_baseline.py (76f1551cf993e313d407546ffd5e48709e7cab08,
   the forward without a backward yet) was read too.
2. unixpickle/scanscam: scanscam/baseline.py and scanscam/decorator.py (290df2030896c350c169f84b6666314713a23996:
   `naive_linear_scan_forward`, the hand-written `naive_linear_scan_backward`, the decorators that flatten the
   batch axes), scanscam/baseline_test.py (290df203: the hand-written backward against autograd of the forward),
   scanscam/op.py at 8aab9307c6f9d93d2b6be2b4934ccae8fbddeee1 (`Scan(torch.autograd.Function)`, `scan`) and at
   636def1a635fdabb645759599a5ce78f9ee3d594 (the CPU-extension branch), scanscam/cpu.py and cpu_test.py (636def1a:
   the extension's wrapper and its tests against the baseline, with `x.mT.contiguous().mT` inputs),
   scanscam/__init__.py (8aab9307).
Every source was read in the index at the commit named; none was written from memory.

Each hand-written backward is checked three ways: against central differences of a numpy forward written here in
float64, against the library's own autodiff of the same forward written with tensor ops (the source's autograd
twin: gru.py's GRUCell, baseline.py's forward with grad on), and by `gradcheck`, which passes for the backward as
written and fails for a deliberately wrong one.

What broke: nothing in the library. Both sources ran as written apart from the lines marked.

Met and left as documented (docs/pytorch.md; the lines say `differs:`):
  - `torch.Tensor(rows, columns)` is refused (GRUCell's parameters): `torch.empty`; `w.data.uniform_` writes into
    a read-only array: `nn.init.uniform_`.
  - `.grad` is a numpy array: baseline_test's `torch.allclose(gates.grad, actual_gate_grad)` takes it as it is
    (allclose accepts arrays), sample_train's `torch.max(outputs.data, 1)` is `torch.max(outputs.detach(), 1)`.
  - `gradgradcheck` raises NotImplementedError (no second derivatives here); neither source calls it.
Met and as PyTorch: `ctx.saved_variables` (a DeprecationWarning naming saved_tensors, PyTorch's text); forward run
with grad mode off (baseline.py's forward inside `Scan.forward` records nothing); a None gradient for an input that
does not require grad, and gradcheck failing when that input does require grad (the backward's None is a zero
Jacobian); intermediate tensors (gates) given to `save_for_backward`; the gate order r, z, n of nn.GRUCell
(gru_baseline's cell equals nn.GRUCell with its weights copied in); `squeeze()` of a (1, 3s) gate tensor then
`chunk(3, 1)` an IndexError (GRUFunction with a batch of one, as in PyTorch); `unbind`, `zeros_like(gate[:, 0])`,
`stack(gate_grads[::-1], dim=1)`; `reshape(-1, x.shape[-1])` of a transposed-contiguous `x.mT.contiguous().mT`;
f-strings with `{gates.grad=}`.

Met and changed for reasons outside the library (marked): torchvision's MNIST is not installed (a small made-up
sequence data set of the same layout stands in), the C++/CUDA builds of both repositories are not built (their
Python baselines run, as each repository falls back to), argparse command lines are given as lists, sizes are small,
scripts are functions that return what the tests read, GRUCell's `pdb.set_trace()` (gru_baseline.py at 6ec944d5)
is left out (sample_train.py's copy of the class, without it, is the one ported).

Noticed and left alone (the sources', in PyTorch too):
  - GRUFunction's backward never computes the input's gradient (`# grad_x = grad_input_gates.mm(x2h_w)` is
    commented out): a GRU stacked on a trainable layer would get no gradient through it. gradcheck with the input
    requiring grad says so (the test below).
  - scanscam/op.py at 636def1a assigns the CPU extension's backward to `output` and returns None (no gradient at
    all when the extension is built); only the baseline branch runs here.
  - sample_train.py's `GRUModel(input_dim, hidden_dim, layer_dim, output_dim)` passes layer_dim as GRUCell's `bias`.
"""

import argparse
import itertools
import math
import time
import warnings
from typing import Any, Callable, Tuple
from functools import partial

import numpy as np
import pytest
from porting_references import arr, central, np_gru_cell, np_sigmoid, quietly, some_indices

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq.autograd import Function, gradcheck


# ---- numpy references (float64), written here ------------------------------------------------------------

def np_gru_baseline(x, wx, wh, bx, bh, h):
    """GRUFunction's forward: gates r, z, n; n = tanh(i_n + r h_n); h' = n + z (h - n)."""
    return np_gru_cell(x, h, wx, wh, bx, bh)


def np_scan(gate, value):
    """h_t = gate_t h_{t-1} + value_t over the last axis, h_{-1} = 0."""
    out = np.zeros_like(value)
    acc = np.zeros(value.shape[:-1])
    for t in range(value.shape[-1]):
        acc = acc * gate[..., t] + value[..., t]
        out[..., t] = acc
    return out


# ==== 1. kevinghst/GRU-CUDA gru/python/gru_baseline.py, gru.py, grad_check.py, benchmark.py, sample_train.py ====

torch.manual_seed(42)


def d_sigmoid(s):
    return (1 - s) * s


def d_tanh(t):
    return 1 - (t * t)


class GRUFunction(Function):
    @staticmethod

    def forward(ctx, input, x2h_w, h2h_w, x2h_b, h2h_b, old_h):
        x = input.view(-1, input.size(1))

        gate_x = F.linear(x, x2h_w, x2h_b)
        gate_h = F.linear(old_h, h2h_w, h2h_b)

        gate_x = gate_x.squeeze()
        gate_h = gate_h.squeeze()

        i_r, i_i, i_n = gate_x.chunk(3, 1)
        h_r, h_i, h_n = gate_h.chunk(3, 1)


        resetgate = F.sigmoid(i_r + h_r)
        inputgate = F.sigmoid(i_i + h_i)
        newgate = F.tanh(i_n + (resetgate * h_n))

        hy = newgate + inputgate * (old_h - newgate)

        ctx.save_for_backward(resetgate, inputgate, newgate, h_n, old_h, x, x2h_w, h2h_w)

        return hy

    @staticmethod
    def backward(ctx, grad_hy):
        rg, ig, ng, hn, hx, x, x2h_w, h2h_w = ctx.saved_variables[:8]


        grad_x = grad_input_gates = grad_hidden_gates = grad_input_bias = grad_hidden_bias = grad_hx = None

        grad_hx = grad_hy * ig

        gig = d_sigmoid(ig) * grad_hy * (hx - ng)
        gin = d_tanh(ng) * grad_hy * (1 - ig)
        ghn = gin * rg
        grg = d_sigmoid(rg) * gin * hn

        grad_input_gates = torch.cat(
            [grg, gig, gin], dim=1
        )
        grad_hidden_gates = torch.cat(
            [grg, gig, ghn], dim=1
        )

        grad_input_weights = grad_input_gates.t().mm(x)
        grad_hidden_weights = grad_hidden_gates.t().mm(hx)


        grad_input_bias = grad_input_gates.sum(dim=0, keepdim=True)
        grad_hidden_bias = grad_hidden_gates.sum(dim=0, keepdim=True)

        # grad_x = grad_input_gates.mm(x2h_w)
        grad_hx += grad_hidden_gates.mm(h2h_w)

        return grad_x, grad_input_weights, grad_hidden_weights, grad_input_bias, grad_hidden_bias, grad_hx


class GRUCell(torch.nn.Module):

    #An implementation of GRUCell.


    def __init__(self, input_features, state_size, bias=True):
        super(GRUCell, self).__init__()
        self.input_features = input_features
        self.state_size = state_size
        self.x2h_weights = nn.Parameter(torch.empty(3 * state_size, input_features))  # differs: torch.Tensor(sizes)
        self.h2h_weights = nn.Parameter(torch.empty(3 * state_size, state_size))      # differs: the same
        self.x2h_bias = nn.Parameter(torch.empty(1, 3 * state_size))                  # differs: the same
        self.h2h_bias = nn.Parameter(torch.empty(1, 3 * state_size))                  # differs: the same
        self.reset_parameters()

    def reset_parameters(self):
        std = 1.0 / math.sqrt(self.state_size)
        for w in self.parameters():
            nn.init.uniform_(w, -std, std)     # differs: w.data.uniform_ (read-only .data)

    def forward(self, input, state):
        return GRUFunction.apply(
            input, self.x2h_weights, self.h2h_weights, self.x2h_bias, self.h2h_bias, state
        )


class AutogradGRUCell(torch.nn.Module):   # differs: gru/python/gru.py's `GRUCell`, renamed beside the baseline's

    """
    An implementation of GRUCell.

    """

    def __init__(self, input_features, state_size):
        super(AutogradGRUCell, self).__init__()
        self.input_features = input_features
        self.state_size = state_size
        self.x2h_weights = nn.Parameter(torch.empty(3 * state_size, input_features))  # differs: torch.Tensor(sizes)
        self.h2h_weights = nn.Parameter(torch.empty(3 * state_size, state_size))      # differs: the same
        self.x2h_bias = nn.Parameter(torch.empty(1, 3 * state_size))                  # differs: the same
        self.h2h_bias = nn.Parameter(torch.empty(1, 3 * state_size))                  # differs: the same
        self.reset_parameters()

    def reset_parameters(self):
        std = 1.0 / math.sqrt(self.state_size)
        for w in self.parameters():
            nn.init.uniform_(w, -std, std)     # differs: w.data.uniform_ (read-only .data)

    def forward(self, x, state):
        x = x.view(-1, x.size(1))

        gate_x = F.linear(x, self.x2h_weights, self.x2h_bias)
        gate_h = F.linear(state, self.h2h_weights, self.h2h_bias)
        gate_x = gate_x.squeeze()
        gate_h = gate_h.squeeze()

        i_r, i_i, i_n = gate_x.chunk(3, 1)
        h_r, h_i, h_n = gate_h.chunk(3, 1)

        resetgate = F.sigmoid(i_r + h_r)
        inputgate = F.sigmoid(i_i + h_i)
        newgate = F.tanh(i_n + (resetgate * h_n))

        hy = newgate + inputgate * (state - newgate)

        return hy


def grad_check_main(argv):
    """gru/grad_check.py as a function of its command line (differs: a script there)."""
    parser = argparse.ArgumentParser()
    parser.add_argument('example', choices=['py', 'cpp', 'cuda'])
    parser.add_argument('-b', '--batch-size', type=int, default=3)
    parser.add_argument('-f', '--features', type=int, default=17)
    parser.add_argument('-s', '--state-size', type=int, default=5)
    parser.add_argument('-c', '--cuda', action='store_true')
    options = parser.parse_args(argv)

    if options.example == 'py':
        pass                      # differs: `from python.gru_baseline import GRUFunction` (defined above)
    else:
        raise NotImplementedError(options.example)   # differs: the C++ and CUDA builds are not here

    device = torch.device("cuda") if options.cuda else torch.device("cpu")

    kwargs_hidden = {'dtype': torch.float64,
              'device': device,
              'requires_grad': True}

    kwargs_input = {'dtype': torch.float64,
              'device': device,
              'requires_grad': False}

    X = torch.randn(options.batch_size, options.features, **kwargs_input)
    h = torch.randn(options.batch_size, options.state_size, **kwargs_hidden)

    Wx = torch.randn(3 * options.state_size, options.features, **kwargs_hidden)
    Wh = torch.randn(3 * options.state_size, options.state_size, **kwargs_hidden)
    bx = torch.randn(1, 3 * options.state_size, **kwargs_hidden)
    bh = torch.randn(1, 3 * options.state_size, **kwargs_hidden)

    variables = [X, Wx, Wh, bx, bh, h]


    if gradcheck(GRUFunction.apply, variables):
        print('Ok')
    return variables              # differs: returned for the tests


def gru_variables(batch=3, features=4, state=3, seed=0, input_grad=False):
    g = torch.Generator().manual_seed(seed)
    kw = dict(dtype=torch.float64, generator=g)
    X = torch.randn(batch, features, **kw).requires_grad_(input_grad)
    Wx = torch.randn(3 * state, features, **kw).requires_grad_()
    Wh = torch.randn(3 * state, state, **kw).requires_grad_()
    bx = torch.randn(1, 3 * state, **kw).requires_grad_()
    bh = torch.randn(1, 3 * state, **kw).requires_grad_()
    h = torch.randn(batch, state, **kw).requires_grad_()
    return [X, Wx, Wh, bx, bh, h]


def test_grad_check_as_written(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        variables = grad_check_main(['py'])
    assert capsys.readouterr().out == "Ok\n"
    assert [tuple(v.shape) for v in variables] == [(3, 17), (15, 17), (15, 5), (1, 15), (1, 15), (3, 5)]
    assert variables[0].grad is None


def test_gru_function_forward_against_numpy():
    variables = gru_variables()
    hy = GRUFunction.apply(*variables)
    np.testing.assert_allclose(arr(hy), np_gru_baseline(*[arr(v) for v in variables]), atol=1e-13)
    assert hy.requires_grad and not hy.is_leaf


def test_gru_function_backward_against_central_differences():
    variables = gru_variables(seed=1)
    vals = [arr(v) for v in variables]
    g = np.random.default_rng(5).standard_normal((3, 3))
    with pytest.warns(DeprecationWarning, match="'saved_variables' is deprecated; use 'saved_tensors'"):
        (GRUFunction.apply(*variables) * torch.tensor(g)).sum().backward()

    def loss_np(k, v):
        vs = list(vals)
        vs[k] = v
        return float((np_gru_baseline(*vs) * g).sum())
    for k in range(1, 6):
        idx = some_indices(vals[k].shape, 6, seed=k)
        np.testing.assert_allclose([variables[k].grad[i] for i in idx], central(partial(loss_np, k), vals[k], idx),
                                   rtol=1e-7, atol=1e-8)
    assert variables[0].grad is None


def copy_into(cell, Wx, Wh, bx, bh):
    with torch.no_grad():
        cell.x2h_weights.copy_(Wx)
        cell.h2h_weights.copy_(Wh)
        cell.x2h_bias.copy_(bx)
        cell.h2h_bias.copy_(bh)


def test_gru_function_backward_against_autograd_of_gru_py():
    X, Wx, Wh, bx, bh, h = gru_variables(seed=2)
    base = GRUCell(4, 3).double()
    auto = AutogradGRUCell(4, 3).double()
    copy_into(base, Wx, Wh, bx, bh)
    copy_into(auto, Wx, Wh, bx, bh)
    h_base = h.detach().clone().requires_grad_()
    h_auto = h.detach().clone().requires_grad_()
    g = torch.tensor(np.random.default_rng(6).standard_normal((3, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        out_base = base(X, h_base)
    out_auto = auto(X, h_auto)
    np.testing.assert_allclose(arr(out_base), arr(out_auto), atol=1e-14)
    assert out_base.grad_fn is not out_auto.grad_fn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        (out_base * g).sum().backward()
    (out_auto * g).sum().backward()
    for name in ['x2h_weights', 'h2h_weights', 'x2h_bias', 'h2h_bias']:
        np.testing.assert_allclose(getattr(base, name).grad, getattr(auto, name).grad, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(h_base.grad, h_auto.grad, atol=1e-12)


def wrong_backward(ctx, grad_hy):
    """GRUFunction's backward with one slip a derivation often makes: d_sigmoid of the pre-activation is not
    taken, the reset gate's own value is used as its derivative."""
    rg, ig, ng, hn, hx, x, x2h_w, h2h_w = ctx.saved_tensors
    grad_hx = grad_hy * ig
    gig = d_sigmoid(ig) * grad_hy * (hx - ng)
    gin = d_tanh(ng) * grad_hy * (1 - ig)
    ghn = gin * rg
    grg = rg * gin * hn                                  # wrong: should be d_sigmoid(rg) * gin * hn
    gi = torch.cat([grg, gig, gin], dim=1)
    gh = torch.cat([grg, gig, ghn], dim=1)
    grad_hx = grad_hx + gh.mm(h2h_w)
    return None, gi.t().mm(x), gh.t().mm(hx), gi.sum(dim=0, keepdim=True), gh.sum(dim=0, keepdim=True), grad_hx


class WrongGRUFunction(GRUFunction):
    backward = staticmethod(wrong_backward)


def test_gradcheck_fails_for_a_wrong_backward():
    variables = gru_variables(seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert gradcheck(GRUFunction.apply, variables, raise_exception=False) is True
    assert gradcheck(WrongGRUFunction.apply, variables, raise_exception=False) is False
    with pytest.raises(Exception, match="input 1"):
        gradcheck(WrongGRUFunction.apply, variables)


def test_gradcheck_fails_when_the_input_requires_grad_and_backward_returns_none():
    # the source's commented-out `grad_x`: with X requiring grad, the None is a zero Jacobian, not X's
    variables = gru_variables(seed=4, input_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert gradcheck(GRUFunction.apply, variables, raise_exception=False) is False
        assert gradcheck(GRUFunction.apply, [variables[0].detach()] + variables[1:], raise_exception=False)
        out = GRUFunction.apply(*variables)
        out.sum().backward()
    assert variables[0].grad is None and variables[1].grad is not None


def test_batch_of_one_squeeze_then_chunk_is_an_index_error_as_pytorch():
    variables = gru_variables(batch=1, seed=5)
    with pytest.raises(IndexError):
        GRUFunction.apply(*variables)


def test_baseline_cell_equals_nn_grucell_with_copied_weights():
    # benchmark.py times 'py_baseline' against 'py_torch' (nn.GRUCell): the two are one cell (gates r, z, n)
    cell = GRUCell(4, 3).double()
    ref = nn.GRUCell(4, 3).double()
    with torch.no_grad():
        ref.weight_ih.copy_(cell.x2h_weights)
        ref.weight_hh.copy_(cell.h2h_weights)
        ref.bias_ih.copy_(cell.x2h_bias.view(-1))
        ref.bias_hh.copy_(cell.h2h_bias.view(-1))
    X = torch.randn(2, 4, dtype=torch.float64)
    h = torch.randn(2, 3, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        np.testing.assert_allclose(arr(cell(X, h)), arr(ref(X, h)), atol=1e-14)


TIME_SCALES = {'s': 1, 'ms': 1000, 'us': 1000000}


def benchmark_main(argv):
    """gru/benchmark.py as a function of its command line (differs: a script there)."""
    parser = argparse.ArgumentParser()
    parser.add_argument('example', choices=['py', 'cpp', 'cuda', 'py_baseline', 'py_torch'])
    parser.add_argument('-b', '--batch-size', type=int, default=128)
    parser.add_argument('-f', '--features', type=int, default=32)
    parser.add_argument('-s', '--state-size', type=int, default=128)
    parser.add_argument('-r', '--runs', type=int, default=100)
    parser.add_argument('--scale', choices=['s', 'ms', 'us'], default='us')
    parser.add_argument('-c', '--cuda', action='store_true')
    parser.add_argument('-d', '--double', action='store_true')
    options = parser.parse_args(argv)

    if options.example == 'py':
        GRUCellClass = AutogradGRUCell     # differs: `from python.gru import GRUCell`
    elif options.example == 'py_baseline':
        GRUCellClass = GRUCell             # differs: `from python.gru_baseline import GRUCell`
    elif options.example == 'py_torch':
        i = "do nothing"  # noqa: F841
    else:
        raise NotImplementedError(options.example)   # differs: the C++ and CUDA builds are not here

    device = torch.device("cuda") if options.cuda else torch.device("cpu")
    dtype = torch.float64 if options.double else torch.float32

    kwargs_hidden = {'dtype': dtype,
              'device': device,
              'requires_grad': True}

    kwargs_input = {'dtype': dtype,
              'device': device,
              'requires_grad': False}

    X = torch.randn(options.batch_size, options.features, **kwargs_input)
    h = torch.randn(options.batch_size, options.state_size, **kwargs_hidden)

    if options.example == 'py_torch':
        rnn = nn.GRUCell(options.features, options.state_size).to(device, dtype)
    else:
        rnn = GRUCellClass(options.features, options.state_size).to(device, dtype)

    # Force CUDA initialization
    new_h = rnn(X, h)
    new_h.sum().backward()

    forward_min = math.inf
    forward_time = 0
    backward_min = math.inf
    backward_time = 0

    for _ in range(options.runs):
        rnn.zero_grad()

        start = time.time()
        new_h = rnn(X, h)
        elapsed = time.time() - start
        forward_min = min(forward_min, elapsed)
        forward_time += elapsed

        start = time.time()
        new_h.sum().backward()
        elapsed = time.time() - start
        backward_min = min(backward_min, elapsed)
        backward_time += elapsed

    scale = TIME_SCALES[options.scale]
    forward_min *= scale
    backward_min *= scale
    forward_average = forward_time / options.runs * scale
    backward_average = backward_time / options.runs * scale

    print('Forward: %.3f us, backward: %.3f us' % (forward_average, backward_average))
    return rnn, X, h                 # differs: returned for the tests


@pytest.mark.parametrize("example", ['py', 'py_baseline', 'py_torch'])
def test_benchmark_runs_each_cell(example):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        (rnn, X, h), printed = quietly(benchmark_main, [example, '-b', '4', '-f', '5', '-s', '3', '-r', '3', '-d'])
    assert printed.startswith('Forward: ') and ' us, backward: ' in printed
    # h requires grad and is not zeroed by rnn.zero_grad(): it has summed 1 + 3 backward passes
    params = dict(rnn.named_parameters())
    w_ih = arr(params.get('x2h_weights', params.get('weight_ih')))
    w_hh = arr(params.get('h2h_weights', params.get('weight_hh')))
    b_ih = arr(params.get('x2h_bias', params.get('bias_ih')))
    b_hh = arr(params.get('h2h_bias', params.get('bias_hh')))
    xv, hv = arr(X), arr(h)

    def loss_np(v):
        return float(np_gru_cell(xv, v, w_ih, w_hh, b_ih, b_hh).sum())
    idx = some_indices(hv.shape, 4, seed=7)
    np.testing.assert_allclose([h.grad[i] for i in idx], 4 * central(loss_np, hv, idx), rtol=1e-6, atol=1e-8)


class GRUModel(nn.Module):
    def __init__(self, input_dim, hidden_dim, layer_dim, output_dim, bias=True):
        super(GRUModel, self).__init__()
        # Hidden dimensions
        self.hidden_dim = hidden_dim

        # Number of hidden layers
        self.layer_dim = layer_dim


        self.gru_cell = GRUCell(input_dim, hidden_dim, layer_dim)


        self.fc = nn.Linear(hidden_dim, output_dim)



    def forward(self, x):

        # Initialize hidden state with zeros
        if torch.cuda.is_available():
            h0 = torch.autograd.Variable(torch.zeros(self.layer_dim, x.size(0), self.hidden_dim).cuda())
        else:
            h0 = torch.autograd.Variable(torch.zeros(self.layer_dim, x.size(0), self.hidden_dim))


        outs = []

        hn = h0[0,:,:]

        for seq in range(x.size(1)):
            hn = self.gru_cell(x[:,seq,:], hn)
            outs.append(hn)


        out = outs[-1].squeeze()

        out = self.fc(out)
        # out.size() --> 100, 10
        return out


def sample_train_main(seq_dim=6, input_dim=4, hidden_dim=8, output_dim=3, n_iters=60, batch_size=10):
    """gru/sample_train.py from STEP 1 to STEP 7 as a function (differs: a script there; MNIST is replaced by
    made-up sequences of the same layout, (N, seq_dim, input_dim) with a label each; the sizes are small)."""
    torch.manual_seed(125)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(125)

    # differs: dsets.MNIST(root='./data', ...) -- torchvision is not installed. Class k's rows drift by k.
    rng = np.random.default_rng(0)
    labels_np = rng.integers(0, output_dim, size=120)
    images_np = rng.standard_normal((120, seq_dim, input_dim)) * 0.3
    images_np += (labels_np[:, None, None] - 1.0) * np.linspace(0, 1, seq_dim)[None, :, None]
    train_dataset = torch.utils.data.TensorDataset(torch.tensor(images_np[:90], dtype=torch.float32),
                                                   torch.tensor(labels_np[:90]))
    test_dataset = torch.utils.data.TensorDataset(torch.tensor(images_np[90:], dtype=torch.float32),
                                                  torch.tensor(labels_np[90:]))

    num_epochs = n_iters / (len(train_dataset) / batch_size)
    num_epochs = int(num_epochs)

    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch_size,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                              batch_size=batch_size,
                                              shuffle=False)

    layer_dim = 1  # ONLY CHANGE IS HERE FROM ONE LAYER TO TWO LAYER

    model = GRUModel(input_dim, hidden_dim, layer_dim, output_dim)

    if torch.cuda.is_available():
        model.cuda()

    #STEP 5: INSTANTIATE LOSS CLASS

    criterion = nn.CrossEntropyLoss()

    #STEP 6: INSTANTIATE OPTIMIZER CLASS

    learning_rate = 0.1

    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)

    #STEP 7: TRAIN THE MODEL

    loss_list = []
    accuracies = []
    iter = 0
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            if torch.cuda.is_available():
                images = torch.autograd.Variable(images.view(-1, seq_dim, input_dim).cuda())
                labels = torch.autograd.Variable(labels.cuda())
            else:
                images = torch.autograd.Variable(images.view(-1, seq_dim, input_dim))
                labels = torch.autograd.Variable(labels)

            # Clear gradients w.r.t. parameters
            optimizer.zero_grad()

            # Forward pass to get output/logits
            outputs = model(images)

            # Calculate Loss: softmax --> cross entropy loss
            loss = criterion(outputs, labels)

            # Getting gradients w.r.t. parameters
            loss.backward()

            # Updating parameters
            optimizer.step()

            loss_list.append(loss.item())
            iter += 1

            if iter % 20 == 0:   # differs: every 500 iterations there
                # Calculate Accuracy
                correct = 0
                total = 0
                # Iterate through test dataset
                for images, labels in test_loader:
                    images = torch.autograd.Variable(images.view(-1 , seq_dim, input_dim))

                    # Forward pass only to get logits/output
                    outputs = model(images)

                    # Get predictions from the maximum value
                    _, predicted = torch.max(outputs.detach(), 1)   # differs: outputs.data (a numpy array here)

                    # Total number of labels
                    total += labels.size(0)

                    correct += (predicted == labels).sum()

                accuracy = 100 * correct / total

                # Print Loss
                print('Iteration: {}. Loss: {}. Accuracy: {}'.format(iter, loss.item(), accuracy))
                accuracies.append(float(accuracy))
    return model, loss_list, accuracies


def test_sample_train_loss_falls_and_accuracy_rises():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        (model, losses, accuracies), printed = quietly(sample_train_main)
    lines = printed.splitlines()
    assert len(lines) == 2 and lines[0].startswith('Iteration: 20. Loss: ')   # iterations 20 and 40 of 54
    # '{}'.format of a 0-d tensor is its item's, as Tensor.__format__ in PyTorch
    assert lines[1].endswith('Accuracy: {}'.format(accuracies[-1]))
    assert len(losses) == 54                      # int(60 / 9) = 6 epochs of 9 batches
    assert np.mean(losses[-9:]) < 0.6 * np.mean(losses[:9])
    assert accuracies[-1] >= 80.0


def test_unrolled_model_gradients_against_numpy_bptt():
    # the Function per step, unrolled over the rows: BPTT through six hand-written backwards
    torch.manual_seed(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = GRUModel(4, 5, 1, 3).double()
        x = torch.randn(2, 6, 4, dtype=torch.float64)
        target = torch.tensor([0, 2])
        F.cross_entropy(model(x), target).backward()
    p = {n: arr(v) for n, v in model.named_parameters()}
    xv = arr(x)

    def loss_np(q):
        h = np.zeros((2, 5))
        for t in range(6):
            h = np_gru_cell(xv[:, t], h, q['gru_cell.x2h_weights'], q['gru_cell.h2h_weights'],
                            q['gru_cell.x2h_bias'], q['gru_cell.h2h_bias'])
        z = h @ q['fc.weight'].T + q['fc.bias']
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        return float(-logp[[0, 1], [0, 2]].mean())
    params = dict(model.named_parameters())
    for name in ['gru_cell.x2h_weights', 'gru_cell.h2h_weights', 'gru_cell.x2h_bias', 'gru_cell.h2h_bias']:
        idx = some_indices(p[name].shape, 6, seed=len(name))
        got = [params[name].grad[i] for i in idx]
        want = central(lambda v, name=name: loss_np({**p, name: v}), p[name], idx)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9, err_msg=name)


# ==== 2. unixpickle/scanscam scanscam/decorator.py, baseline.py, op.py, baseline_test.py, cpu_test.py ========

ScanFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ReverseScanFn = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor],
    Tuple[torch.Tensor, torch.Tensor],
]


def preprocess_scan_args(fn: ScanFn) -> ScanFn:
    """
    Decorator to flatten the batch dimensions of arguments passed to a scan
    implementation.
    """

    def new_fn(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        assert x.shape == y.shape
        assert len(x.shape) >= 2
        new_x = x.reshape(-1, x.shape[-1])
        new_y = y.reshape(-1, y.shape[-1])
        return fn(new_x, new_y).reshape(x.shape)

    return new_fn


def preprocess_backward_scan_args(fn: ScanFn) -> ScanFn:
    """
    Decorator to flatten the batch dimensions of arguments passed to a scan
    backward pass implementation.
    """

    def new_fn(
        x: torch.Tensor, y: torch.Tensor, z: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        assert x.shape == y.shape
        assert x.shape == z.shape
        assert len(x.shape) >= 2
        new_x = x.reshape(-1, x.shape[-1])
        new_y = y.reshape(-1, y.shape[-1])
        new_z = z.reshape(-1, z.shape[-1])
        out_a, out_b = fn(new_x, new_y, new_z)
        return out_a.reshape(x.shape), out_b.reshape(x.shape)

    return new_fn


@preprocess_scan_args
def naive_linear_scan_forward(gate: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    acc = torch.zeros_like(gate[:, 0])
    results = []
    for g, v in zip(gate.unbind(1), value.unbind(1)):
        acc = acc * g + v
        results.append(acc)
    return torch.stack(results, dim=1)


@preprocess_backward_scan_args
def naive_linear_scan_backward(
    gate: torch.Tensor,
    output: torch.Tensor,
    out_grad: torch.Tensor,
) -> Tuple[torch.Tensor, torch.Tensor]:
    doutput = torch.zeros_like(gate[:, 0])

    gate_grads = []
    value_grads = []

    for i in range(out_grad.shape[1] - 1, -1, -1):
        prev_output = output[:, i - 1] if i > 0 else torch.zeros_like(doutput)
        doutput = doutput + out_grad[:, i]

        this_gate = gate[:, i]

        value_grads.append(doutput)
        gate_grads.append(prev_output * doutput)

        doutput = doutput * this_gate

    return torch.stack(gate_grads[::-1], dim=1), torch.stack(value_grads[::-1], dim=1)


# differs: `from .cuda import blocked_linear_scan_backward, blocked_linear_scan_forward, has_cuda_ops` (the CUDA
# extension is not built; cuda.py reports has_cuda_ops False then, and its functions are never called)
blocked_linear_scan_backward = blocked_linear_scan_forward = None
has_cuda_ops = False


def scan(gate: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """
    Apply a first-order scan operation.

    :param gate: [N x ... x T] tensor of gates
    :param value: [N x ... x T] tensor of values
    :return: an [N x ... x T] tensor of accumulated values.
    """
    return Scan.apply(gate, value)


class Scan(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, gate: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        if gate.device.type == "cuda" and has_cuda_ops:
            output = blocked_linear_scan_forward(gate, value)
        else:
            output = naive_linear_scan_forward(gate, value)
        ctx.save_for_backward(gate, output)
        return output

    @staticmethod
    def backward(
        ctx: Any, output_grad: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        gate, output = ctx.saved_tensors
        if output_grad.device.type == "cuda" and has_cuda_ops:
            return blocked_linear_scan_backward(gate, output, output_grad)
        else:
            return naive_linear_scan_backward(gate, output, output_grad)


def test_naive_linear_scan_backward():
    # scanscam/baseline_test.py, as written
    gates = nn.Parameter(torch.randn(8, 16))
    values = nn.Parameter(torch.randn(8, 16))
    output_grad = torch.randn_like(values)
    output = naive_linear_scan_forward(gates, values)
    (output * output_grad).sum().backward()

    with torch.no_grad():
        actual_gate_grad, actual_value_grad = naive_linear_scan_backward(
            gates, output.detach(), output_grad
        )

    assert torch.allclose(
        gates.grad, actual_gate_grad
    ), f"{gates.grad=} {actual_gate_grad=}"
    assert torch.allclose(
        values.grad, actual_value_grad
    ), f"{values.grad=} {actual_value_grad=}"


def scan_inputs(shape, seed, requires_grad=True):
    rng = np.random.default_rng(seed)
    gate = torch.tensor(rng.uniform(-1.2, 1.2, shape), requires_grad=requires_grad)
    value = torch.tensor(rng.standard_normal(shape), requires_grad=requires_grad)
    return gate, value


@pytest.mark.parametrize("shape", [(3, 5), (2, 2, 4)])
def test_scan_forward_against_numpy_and_records_nothing_inside(shape):
    gate, value = scan_inputs(shape, seed=len(shape))
    out = scan(gate, value)
    np.testing.assert_allclose(arr(out), np_scan(arr(gate), arr(value)), atol=1e-13)
    assert out.shape == shape and out.requires_grad
    # the forward ran with grad off: one node for the whole scan, straight onto the two leaves (PyTorch's
    # ScanBackward; here the node is the library's own, named after the class, docs/pytorch.md)
    assert out.grad_fn.op == 'Scan'
    assert [n.op for n in out.grad_fn.inputs] == ['leaf', 'leaf']


def test_grad_fn_of_a_custom_function_gives_its_saved_tensors():
    # (PyTorch's grad_fn of a Function is its ctx; here the Function's node reads the ctx: round 71)
    gate, value = scan_inputs((2, 3), seed=50)
    out = scan(gate, value)
    saved_gate, saved_output = out.grad_fn.saved_tensors
    np.testing.assert_allclose(arr(saved_output), np_scan(arr(gate), arr(value)), atol=1e-13)
    assert saved_output.grad_fn is None


@pytest.mark.parametrize("shape", [(3, 5), (2, 2, 4)])
def test_scan_backward_against_central_differences(shape):
    gate, value = scan_inputs(shape, seed=10 + len(shape))
    g = np.random.default_rng(2).standard_normal(shape)
    (scan(gate, value) * torch.tensor(g)).sum().backward()
    gv, vv = arr(gate), arr(value)
    idx = some_indices(shape, 8, seed=3)
    np.testing.assert_allclose([gate.grad[i] for i in idx],
                               central(lambda a: float((np_scan(a, vv) * g).sum()), gv, idx), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose([value.grad[i] for i in idx],
                               central(lambda a: float((np_scan(gv, a) * g).sum()), vv, idx), rtol=1e-7, atol=1e-9)


def test_scan_backward_equals_autograd_of_the_naive_forward():
    gate, value = scan_inputs((4, 6), seed=20)
    gate2 = gate.detach().clone().requires_grad_()
    value2 = value.detach().clone().requires_grad_()
    w = torch.tensor(np.random.default_rng(4).standard_normal((4, 6)))
    out1, out2 = scan(gate, value), naive_linear_scan_forward(gate2, value2)
    np.testing.assert_allclose(arr(out1), arr(out2), atol=1e-14)
    ((out1 ** 2) * w).sum().backward()
    ((out2 ** 2) * w).sum().backward()
    np.testing.assert_allclose(gate.grad, gate2.grad, atol=1e-12)
    np.testing.assert_allclose(value.grad, value2.grad, atol=1e-12)


def wrong_scan_backward(gate, output, out_grad):
    """naive_linear_scan_backward with the current output in place of the previous one (an off-by-one)."""
    doutput = torch.zeros_like(gate[:, 0])
    gate_grads, value_grads = [], []
    for i in range(out_grad.shape[1] - 1, -1, -1):
        doutput = doutput + out_grad[:, i]
        value_grads.append(doutput)
        gate_grads.append(output[:, i] * doutput)       # wrong: output[:, i - 1]
        doutput = doutput * gate[:, i]
    return torch.stack(gate_grads[::-1], dim=1), torch.stack(value_grads[::-1], dim=1)


class WrongScan(Scan):
    @staticmethod
    def backward(ctx, output_grad):
        gate, output = ctx.saved_tensors
        return wrong_scan_backward(gate, output, output_grad)


def test_scan_gradcheck_passes_and_fails_for_a_wrong_backward():
    gate, value = scan_inputs((2, 5), seed=30)
    assert gradcheck(Scan.apply, (gate, value))
    assert gradcheck(scan, (gate, value), raise_exception=False) is True
    assert gradcheck(WrongScan.apply, (gate, value), raise_exception=False) is False
    # only the gate's gradient is wrong: with the gate held fixed the wrong backward passes
    assert gradcheck(WrongScan.apply, (gate.detach(), value), raise_exception=False) is True


def test_scan_gradient_only_for_the_input_that_requires_it():
    gate, _ = scan_inputs((3, 4), seed=40, requires_grad=False)
    _, value = scan_inputs((3, 4), seed=41)
    scan(gate, value).sum().backward()
    assert gate.grad is None
    # d sum(h) / d v_t = 1 + g_{t+1} + g_{t+1} g_{t+2} + ...
    gv = arr(gate)
    want = np.ones((3, 4))
    for t in range(2, -1, -1):
        want[:, t] = 1 + gv[:, t + 1] * want[:, t + 1]
    np.testing.assert_allclose(value.grad, want, atol=1e-13)


@pytest.mark.parametrize("shape,permute", list(itertools.product([(5, 4), (3, 2, 5)], [False, True])))
def test_cpu_test_layouts_on_the_baseline(shape, permute):
    # cpu_test.py's inputs (x.mT.contiguous().mT, strided) through the baseline both ways, against numpy
    x = torch.randn(*shape, dtype=torch.float64)
    y = torch.randn(*shape, dtype=torch.float64)
    if permute:
        x = x.mT.contiguous().mT
    expected = np_scan(arr(x), arr(y))
    output = naive_linear_scan_forward(x, y)
    np.testing.assert_allclose(arr(output), expected, atol=1e-12)
    out_grad = torch.randn(*shape, dtype=torch.float64)
    gate_grad, value_grad = naive_linear_scan_backward(x, output, out_grad)
    xv, yv, gv = arr(x), arr(y), arr(out_grad)
    idx = some_indices(shape, 5, seed=9)
    np.testing.assert_allclose([arr(gate_grad)[i] for i in idx],
                               central(lambda a: float((np_scan(a, yv) * gv).sum()), xv, idx), atol=1e-8)
    np.testing.assert_allclose([arr(value_grad)[i] for i in idx],
                               central(lambda a: float((np_scan(xv, a) * gv).sum()), yv, idx), atol=1e-8)


class ScanQRNN(nn.Module):
    """A QRNN layer whose fo-pooling is scanscam's `scan` (written here: gate f, value (1 - f) z)."""

    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.proj = nn.Linear(n_in, 2 * n_hidden)
        self.out = nn.Linear(n_hidden, 1)

    def forward(self, x):                      # x: (N, T, n_in)
        z, f = self.proj(x).chunk(2, dim=-1)
        f = torch.sigmoid(f)
        h = scan(f.transpose(1, 2), ((1 - f) * torch.tanh(z)).transpose(1, 2))   # [N x H x T]
        return self.out(h[:, :, -1])


def test_scan_qrnn_trains_and_its_gradients_match_numpy():
    torch.manual_seed(0)
    model = ScanQRNN(2, 4).double()
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((16, 5, 2)))
    y = torch.tensor(arr(x)[:, :, 0].sum(1, keepdims=True) * 0.3)
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    p = {n: arr(v) for n, v in model.named_parameters()}
    xv, yv = arr(x), arr(y)

    def loss_np(q):
        zf = xv @ q['proj.weight'].T + q['proj.bias']
        z, f = np.split(zf, 2, axis=-1)
        f = np_sigmoid(f)
        h = np_scan(f.transpose(0, 2, 1), ((1 - f) * np.tanh(z)).transpose(0, 2, 1))
        return float((((h[:, :, -1] @ q['out.weight'].T + q['out.bias']) - yv) ** 2).mean())
    grads = {n: v.grad for n, v in model.named_parameters()}
    for name in p:
        idx = some_indices(p[name].shape, 4, seed=1)
        np.testing.assert_allclose([grads[name][i] for i in idx],
                                   central(lambda v, name=name: loss_np({**p, name: v}), p[name], idx),
                                   rtol=1e-6, atol=1e-9, err_msg=name)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
