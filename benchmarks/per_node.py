"""Table 1, per-node overhead: forward + backward of a 999-op chain on 4x4 tensors.

The chain repeats h = tanh(h * w + x) (three ops: mul, add, tanh). The same
chain is written with plain numpy calls and a hand-written backward; both run
in the same process on the same float64 data, and the engine's gradient is
checked against the hand-written one before anything is timed.

A third column times `BareTensor`: the least a tape in Python can do for
this chain (one object per value, a backward pass over creation order, and
nothing else: no broadcasting, dtype checks, in-place detection, labels,
steps, freeing or deferred weight products). It measures what recording
costs before any feature is added, the floor for any engine written in
Python on top of numpy.
"""

from __future__ import annotations

import itertools

import numpy as np

import microgradseq as mg
from timing import interleaved, ratio, table

NODES = 999


def numpy_chain(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Forward with plain numpy calls, then the hand-derived backward; returns dL/dw, L = sum(h)."""
    h, saved = x, []
    for _ in range(NODES // 3):
        saved.append(h)
        h = np.tanh(h * w + x)
        saved.append(h)
    g, grad_w = np.ones_like(h), np.zeros_like(w)
    for i in range(NODES // 3 - 1, -1, -1):
        h_in, h_out = saved[2 * i], saved[2 * i + 1]
        g_pre = g * (1 - h_out * h_out)
        grad_w = grad_w + g_pre * h_in
        g = g_pre * w
    return grad_w


def engine_chain(w: mg.Tensor, x: mg.Tensor) -> np.ndarray:
    w.grad = None
    h = x
    for _ in range(NODES // 3):
        h = (h * w + x).tanh()
    h.backward(np.ones(h.shape))
    return w.grad


class BareTensor:
    """A value and how it was made: just enough tape for mul, add and tanh."""

    __slots__ = ("data", "parents", "rules", "saved", "grad", "seq")
    created = itertools.count()

    def __init__(self, data, parents=(), rules=(), saved=()):
        self.data, self.parents, self.rules, self.saved = data, parents, rules, saved
        self.grad, self.seq = None, next(BareTensor.created)

    def __mul__(self, other):      # d/da = b, d/db = a
        return BareTensor(self.data * other.data, (self, other), _BARE_MUL, (other.data, self.data))

    def __add__(self, other):      # d/da = d/db = 1
        return BareTensor(self.data + other.data, (self, other), _BARE_ADD, (None, None))

    def tanh(self):                # d/dx = 1 - y^2
        y = np.tanh(self.data)
        return BareTensor(y, (self,), _BARE_TANH, (y,))

    def backward(self, grad):
        """Every reachable value's grad, in reverse creation order (a topological order)."""
        order, seen = [self], {self}
        for value in order:
            for parent in value.parents:
                if parent not in seen:
                    seen.add(parent)
                    order.append(parent)
        order.sort(key=lambda value: value.seq, reverse=True)
        self.grad = grad
        for value in order:
            for parent, rule, kept in zip(value.parents, value.rules, value.saved):
                parent_grad = rule(value.grad, kept)
                parent.grad = parent_grad if parent.grad is None else parent.grad + parent_grad


_BARE_MUL = (lambda g, other: g * other,) * 2
_BARE_ADD = (lambda g, _: g,) * 2
_BARE_TANH = (lambda g, y: g * (1 - y * y),)


def bare_chain(w: BareTensor, x: BareTensor) -> np.ndarray:
    w.grad = None
    h = x
    for _ in range(NODES // 3):
        h = (h * w + x).tanh()
    h.backward(np.ones(h.data.shape))
    return w.grad


def torch_chain(torch, w, x):
    w.grad = None
    h = x
    for _ in range(NODES // 3):
        h = torch.tanh(h * w + x)
    h.backward(torch.ones_like(h))
    return w.grad


def run(repeats: int, torch=None) -> str:
    rng = np.random.default_rng(0)
    w_np, x_np = rng.standard_normal((4, 4)) * 0.5, rng.standard_normal((4, 4))
    w, x = mg.tensor(w_np.copy(), requires_grad=True), mg.tensor(x_np.copy())
    expected = numpy_chain(w_np, x_np)
    np.testing.assert_allclose(engine_chain(w, x), expected, rtol=1e-10, atol=1e-12)
    w_bare, x_bare = BareTensor(w_np), BareTensor(x_np)
    np.testing.assert_allclose(bare_chain(w_bare, x_bare), expected, rtol=1e-10, atol=1e-12)
    fns = {"numpy": lambda: numpy_chain(w_np, x_np), "engine": lambda: engine_chain(w, x),
           "bare": lambda: bare_chain(w_bare, x_bare)}
    if torch is not None:
        w_t = torch.tensor(w_np, requires_grad=True)
        x_t = torch.tensor(x_np)
        np.testing.assert_allclose(torch_chain(torch, w_t, x_t).numpy(), expected, rtol=1e-10, atol=1e-12)
        fns["torch"] = lambda: torch_chain(torch, w_t, x_t)
    times = interleaved(fns, repeats)
    header = ["hand-written numpy µs/node", "microgradseq µs/node", "ratio", "goal",
              "bare tape µs/node", "ratio"]
    row = [times["numpy"].us(NODES), times["engine"].us(NODES), ratio(times["engine"], times["numpy"]), "≤ 2x",
           times["bare"].us(NODES), ratio(times["bare"], times["numpy"])]
    if torch is not None:
        header += ["PyTorch µs/node", "ratio"]
        row += [times["torch"].us(NODES), ratio(times["torch"], times["numpy"])]
    return table(header, [row])
