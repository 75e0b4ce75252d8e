"""Numpy references, finite differences and a print catcher shared by the porting rounds
(tests/test_pytorch_porting_*.py).

Each helper is the copy the rounds wrote again and again, moved here unchanged in what it computes: plain numpy
in the dtype it is given (the rounds pass float64), with no microgradseq inside but `arr`, which reads a tensor
out, and the two that read a module's parameters (`params_of`, `check_named_grads`).
"""

import contextlib
import io

import numpy as np


def quietly(fn, *args, **kwargs):
    """fn(*args, **kwargs) with what it prints kept: (result, printed text)."""
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        result = fn(*args, **kwargs)
    return result, printed.getvalue()


def central(f, value, indices, eps=1e-6):
    """Central differences of the scalar f at the array `value`: (f(value + eps e_i) - f(value - eps e_i)) / 2eps."""
    grads = []
    for i in indices:
        step = np.zeros_like(value)
        step[i] = eps
        grads.append((f(value + step) - f(value - step)) / (2 * eps))
    return np.array(grads)


def some_indices(shape, count, seed):
    """`count` index tuples into an array of `shape`, each entry uniform in [0, n), from default_rng(seed)."""
    rng = np.random.default_rng(seed)
    return [tuple(int(rng.integers(0, n)) for n in shape) for _ in range(count)]


def arr(t):
    """A tensor's values (or a numpy array, such as a state dict's) as a float64 numpy array."""
    return np.array(t if isinstance(t, np.ndarray) else t.detach().numpy(), dtype=np.float64)


def params_of(module):
    """A module's parameters as float64 arrays, by name (`named_parameters()`)."""
    return {name: arr(p) for name, p in module.named_parameters()}


def check_named_grads(model, names, loss_np, loss_lib, count, rtol, atol):
    """After `loss_lib().backward()`, the `.grad` of each named parameter at `count` entries against central
    differences of `loss_np` (a numpy loss of the parameters by name); the losses' values agree first."""
    model.zero_grad()
    loss = loss_lib()
    loss.backward()
    params = dict(model.named_parameters())
    base = params_of(model)
    np.testing.assert_allclose(float(loss.item()), loss_np(base), rtol=1e-10)
    for k, name in enumerate(names):
        idx = some_indices(base[name].shape, count, k)

        def f(value, name=name):
            return loss_np({**base, name: value})

        got = np.array([params[name].grad[i] for i in idx])
        np.testing.assert_allclose(got, central(f, base[name], idx), rtol=rtol, atol=atol, err_msg=name)


def np_sigmoid(z):
    """The logistic sigmoid 1 / (1 + exp(-z))."""
    return 1.0 / (1.0 + np.exp(-z))


def np_softmax(z, axis=-1):
    """softmax(z)_i = exp(z_i - max z) / sum_j exp(z_j - max z) along `axis`."""
    z = z - z.max(axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis, keepdims=True)


def np_log_softmax(z, axis=-1):
    """log softmax(z)_i = (z_i - max z) - log sum_j exp(z_j - max z) along `axis`."""
    z = z - z.max(axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis, keepdims=True))


def np_lstm_cell(x, h, c, w_ih, w_hh, b_ih=0.0, b_hh=0.0):
    """PyTorch's LSTMCell, gates i, f, g, o in w_ih / w_hh's rows: c' = s(f) c + s(i) tanh(g), h' = s(o) tanh(c')."""
    z = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    i, f, g, o = np.split(z, 4, axis=-1)
    c = np_sigmoid(f) * c + np_sigmoid(i) * np.tanh(g)
    return np_sigmoid(o) * np.tanh(c), c


def np_gru_cell(x, h, w_ih, w_hh, b_ih=0.0, b_hh=0.0):
    """PyTorch's GRUCell, gates r, z, n in w_ih / w_hh's rows: n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h' = (1 - z) n + z h."""
    ir, iz, in_ = np.split(x @ w_ih.T + b_ih, 3, axis=-1)
    hr, hz, hn = np.split(h @ w_hh.T + b_hh, 3, axis=-1)
    r, z = np_sigmoid(ir + hr), np_sigmoid(iz + hz)
    return (1 - z) * np.tanh(in_ + r * hn) + z * h
