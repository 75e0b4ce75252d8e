"""Table 1, per-node overhead: forward + backward of a 999-op chain on 4x4 tensors.

The chain repeats h = tanh(h * w + x) (three ops: mul, add, tanh). The same
chain is written with plain numpy calls and a hand-written backward; both run
in the same process on the same float64 data, and the engine's gradient is
checked against the hand-written one before anything is timed.

Two more columns time minimal tapes for this chain alone, with none of the
engine's features (broadcasting, dtype checks, in-place detection, labels,
steps, freeing, deferred weight products, cuts):

- `BareTensor`: a graph, as microgradseq's: each value an object that knows
  its operands, so a backward pass can start from any value and walk only
  what it depends on (collected, then sorted by creation order);
- `GlobalTape`: a Wengert list, one record per op in the order they ran,
  walked backwards, the rules written inline. There is no graph: the pass
  walks every op recorded since the list was last cleared, so it can only
  start from the last value, and only one computation may be recorded at a
  time.

What they cost over the numpy chain is what recording costs in Python before
any feature is added, for either design.
"""

from __future__ import annotations

import itertools
import operator

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
    """A value and how it was made: just enough tape for mul, add and tanh, written for speed
    (a pass stamp instead of a set of seen values, an index instead of a zip of three)."""

    __slots__ = ("data", "parents", "rules", "saved", "grad", "seq", "visit")
    created = itertools.count()
    passes = itertools.count(1)

    def __init__(self, data, parents=(), rules=(), saved=()):
        self.data, self.parents, self.rules, self.saved = data, parents, rules, saved
        self.grad, self.seq, self.visit = None, next(BareTensor.created), 0

    def __mul__(self, other):      # d/da = b, d/db = a
        return BareTensor(self.data * other.data, (self, other), _BARE_MUL, (other.data, self.data))

    def __add__(self, other):      # d/da = d/db = 1
        return BareTensor(self.data + other.data, (self, other), _BARE_ADD, (None, None))

    def tanh(self):                # d/dx = 1 - y^2
        y = np.tanh(self.data)
        return BareTensor(y, (self,), _BARE_TANH, (y,))

    def backward(self, grad):
        """Every reachable value's grad, in reverse creation order (a topological order)."""
        stamp = next(BareTensor.passes)
        self.visit, order = stamp, [self]
        for value in order:                 # the list grows while it is swept
            for parent in value.parents:
                if parent.visit != stamp:
                    parent.visit = stamp
                    order.append(parent)
        order.sort(key=_by_creation)
        self.grad = grad
        while order:
            value = order.pop()
            g, rules, saved = value.grad, value.rules, value.saved
            i = -1
            for parent in value.parents:
                i += 1
                parent_grad = rules[i](g, saved[i])
                parent.grad = parent_grad if parent.grad is None else parent.grad + parent_grad


_by_creation = operator.attrgetter("seq")
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


class GlobalTape:
    """A Wengert list: one (op, output, a, b) record per op in the order they ran; values hold
    just their data and grad."""

    MUL, ADD, TANH = range(3)

    def __init__(self):
        self.records = []

    def value(self, data):
        return _Value(data)

    def mul(self, a, b):
        out = _Value(a.data * b.data)
        self.records.append((GlobalTape.MUL, out, a, b))
        return out

    def add(self, a, b):
        out = _Value(a.data + b.data)
        self.records.append((GlobalTape.ADD, out, a, b))
        return out

    def tanh(self, a):
        out = _Value(np.tanh(a.data))
        self.records.append((GlobalTape.TANH, out, a, None))
        return out

    def backward(self, last, grad):
        """Every recorded op's rules, newest first, from dL/d(last value) = grad; clears the tape."""
        last.grad = grad
        for op, out, a, b in reversed(self.records):
            g = out.grad
            if g is None:
                continue
            if op == GlobalTape.MUL:        # d/da = b, d/db = a
                a.accumulate(g * b.data)
                b.accumulate(g * a.data)
            elif op == GlobalTape.ADD:      # d/da = d/db = 1
                a.accumulate(g)
                b.accumulate(g)
            else:                           # d tanh/dx = 1 - y^2
                y = out.data
                a.accumulate(g * (1 - y * y))
        self.records.clear()


class _Value:
    __slots__ = ("data", "grad")

    def __init__(self, data):
        self.data, self.grad = data, None

    def accumulate(self, grad):
        self.grad = grad if self.grad is None else self.grad + grad


def tape_chain(tape: GlobalTape, w: _Value, x: _Value) -> np.ndarray:
    w.grad = None
    h = x
    for _ in range(NODES // 3):
        h = tape.tanh(tape.add(tape.mul(h, w), x))
    tape.backward(h, np.ones(h.data.shape))
    return w.grad


def torch_chain(torch, w, x):
    w.grad = None
    h = x
    for _ in range(NODES // 3):
        h = torch.tanh(h * w + x)
    h.backward(torch.ones_like(h))
    return w.grad


def run(repeats: int, torch=None, min_seconds: float = 1.0) -> str:
    rng = np.random.default_rng(0)
    w_np, x_np = rng.standard_normal((4, 4)) * 0.5, rng.standard_normal((4, 4))
    w, x = mg.tensor(w_np.copy(), requires_grad=True), mg.tensor(x_np.copy())
    expected = numpy_chain(w_np, x_np)
    np.testing.assert_allclose(engine_chain(w, x), expected, rtol=1e-10, atol=1e-12)
    w_bare, x_bare = BareTensor(w_np), BareTensor(x_np)
    np.testing.assert_allclose(bare_chain(w_bare, x_bare), expected, rtol=1e-10, atol=1e-12)
    tape = GlobalTape()
    w_tape, x_tape = tape.value(w_np), tape.value(x_np)
    np.testing.assert_allclose(tape_chain(tape, w_tape, x_tape), expected, rtol=1e-10, atol=1e-12)
    fns = {"numpy": lambda: numpy_chain(w_np, x_np), "engine": lambda: engine_chain(w, x),
           "bare": lambda: bare_chain(w_bare, x_bare), "tape": lambda: tape_chain(tape, w_tape, x_tape)}
    if torch is not None:
        w_t = torch.tensor(w_np, requires_grad=True)
        x_t = torch.tensor(x_np)
        np.testing.assert_allclose(torch_chain(torch, w_t, x_t).numpy(), expected, rtol=1e-10, atol=1e-12)
        fns["torch"] = lambda: torch_chain(torch, w_t, x_t)
    times = interleaved(fns, repeats, min_seconds=min_seconds)
    header = ["hand-written numpy µs/node", "microgradseq µs/node", "ratio", "goal",
              "bare graph µs/node", "ratio", "global tape µs/node", "ratio"]
    row = [times["numpy"].us(NODES), times["engine"].us(NODES), ratio(times["engine"], times["numpy"]), "≤ 2.3x",
           times["bare"].us(NODES), ratio(times["bare"], times["numpy"]),
           times["tape"].us(NODES), ratio(times["tape"], times["numpy"])]
    if torch is not None:
        header += ["PyTorch µs/node", "ratio"]
        row += [times["torch"].us(NODES), ratio(times["torch"], times["numpy"])]
    return table(header, [row])
