"""An instructor's trial (round 34): the three slides instructors.md now plans from the code, exercise 2(d)'s
two mistakes, and two gaps of `mg.autograd.no_grad` against PyTorch's `torch.autograd.no_grad`.

Expected values are hand derivations (x_t = w x_(t-1): dx_3/dw is a sum of terms w^2 x_0), closed forms and
central differences in float64, never the library's own output.

PyTorch sources read for the gaps: pytorch/pytorch torch/autograd/grad_mode.py (at
00ba25e0442158c8c4298141abd85d959fabc86c): `class no_grad(_NoParamDecoratorContextManager)` whose
`__enter__` saves `torch.is_grad_enabled()` in `self.prev` and `__exit__` restores it, so one object can be
entered any number of times; torch/autograd/__init__.py (at 92dbdea824134deb5ce1452dbbc8be4035d09016) imports
that `no_grad` from `.grad_mode`, so `torch.autograd.no_grad is torch.no_grad`; torch/utils/_contextlib.py (at
78c267385f7b75b0e8f9d82d8fc691ee4d34bf72): `context_decorator` wraps a generator function with
`_wrap_generator`, which enters a fresh context around every `send`, so each step of the generator runs
without grad.
"""

from __future__ import annotations

import inspect
import pathlib
import re

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import autograd
from microgradseq.bptt import runner
from microgradseq.ops.elementwise import MUL, TANH, elementwise
from microgradseq.tensor import result

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
W, X0 = 0.2, 0.9
TERM = W * W * X0                       # every term of dx_3/dw = x_2 + w x_1 + w^2 x_0 is w^2 x_0 = 0.036


def central(f, x, eps=1e-6):
    """Central differences of a scalar-valued f at every element of x (float64)."""
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        out[i] = (f(up) - f(down)) / (2 * eps)
    return out


# ---- slide 2: one row of the table of derivatives ---------------------------------------------------------

def test_tanh_row_is_both_the_vjp_and_the_jvp_of_a_diagonal_jacobian():
    """TANH's one rule reads the saved output y: g (1 - y^2) as VJP, (1 - y^2) v as JVP (J is diagonal)."""
    rng = np.random.default_rng(0)
    x, g, v = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal((2, 5))
    y = np.tanh(x)
    jacobian = np.array([central(lambda z: np.tanh(z)[j], x) for j in range(5)])
    assert np.allclose(jacobian, np.diag(1 - y ** 2), atol=1e-8)
    assert np.allclose(TANH.vjp[0](g, y), g @ jacobian, atol=1e-8)
    assert np.allclose(TANH.jvp[0](v, y), v @ jacobian.T, atol=1e-8)      # k = 2 directions on a leading axis


def test_mul_saves_each_factor_for_the_other_operands_rule():
    """mul's `saved` is crossed, (b, a): the rule for a is g * b. Broadcast (3, 1) * (2, 3, 4): a's gradient
    sums g * b over the axes broadcasting added or stretched."""
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((3, 1)), rng.standard_normal((2, 3, 4))
    a, b = mg.tensor(A, requires_grad=True), mg.tensor(B, requires_grad=True)
    y = a * b
    assert y._node.saved[0] is b._data and y._node.saved[1] is a._data
    assert MUL.vjp[0] is MUL.vjp[1]                                     # one rule, `scaled`: g * factor
    g = rng.standard_normal((2, 3, 4))
    y.backward(grad=g)
    assert np.allclose(a.grad, (g * B).sum(axis=(0, 2)).reshape(3, 1), atol=1e-12)
    assert np.allclose(b.grad, g * A, atol=1e-12)


def test_mul_written_out_for_a_slide_agrees_with_the_product_rule():
    """instructors.md's one-line mul: `result("mul", A * B, (a, b), elementwise(g * B, g * A), (B, A))`."""
    def mul(a, b):
        A, B = a.data, b.data
        return result("mul", A * B, (a, b), elementwise(lambda g, B: g * B, lambda g, A: g * A), (B, A))

    rng = np.random.default_rng(2)
    A, B = rng.standard_normal(4), rng.standard_normal(4)
    a, b = mg.tensor(A, requires_grad=True), mg.tensor(B, requires_grad=True)
    mul(a, b).sum().backward()
    assert np.allclose(a.grad, central(lambda z: np.sum(z * B), A), atol=1e-8)
    assert np.allclose(b.grad, central(lambda z: np.sum(A * z), B), atol=1e-8)


# ---- slide 3: the TBPTT loop, and exercise 2's scalar case ------------------------------------------------

def slide_runner(cut_at_chunk_start=False):
    """instructors.md's `tbptt_on_a_slide`, with exercise 2(d)'s first mistake as an option."""
    def tbptt(step, state, inputs, targets, loss_fn, k1, k2, on_update):
        n, window, pending, previous = len(inputs), [], [], 0
        for t in range(1, n + 1):
            output, state = step(inputs[t - 1], state)
            window.append((t, state))
            if targets[t - 1] is not None:
                pending.append(loss_fn(output, targets[t - 1]))
            if t % k1 == 0 or t == n:
                cut = previous if cut_at_chunk_start else t - k2
                while window and window[0][0] <= cut:
                    mg.bptt.sever(window.pop(0)[1])
                if pending:
                    sum(pending).backward(retain_graph=True)
                on_update(t)
                pending, previous = [], t
        return state
    return tbptt


def dx3_dw(tbptt, k1, k2):
    """dl_3/dw at the update that injects l_3 = x_3, x_t = w x_(t-1), n = 3 (exercise 2's block)."""
    w = mg.tensor(W, dtype=np.float64, requires_grad=True)
    grads = {}

    def on_update(u, *loss):
        grads[u] = 0.0 if w.grad is None else float(w.grad)
        w.grad = None

    def step(_, x):
        x = w * x
        return x, x

    tbptt(step, mg.tensor(X0, dtype=np.float64), [None] * 3, [None, None, 0.0], lambda x, _: x, k1, k2,
          on_update=on_update)
    return grads[3]


# (k1, k2): how many terms w^2 x_0 the update at u = 3 sums, by hand: the loss at 3 goes 3 - c cells deep,
# c = max(0, u - k2); with the cut at the chunk's start instead, c = the previous update.
HAND = {(3, 3): (3, 3), (1, 3): (3, 1), (2, 2): (2, 1), (3, 1): (1, 3), (1, 1): (1, 1)}


@pytest.mark.parametrize("k1, k2", sorted(HAND))
def test_the_slide_runner_and_the_library_give_the_hand_counts(k1, k2):
    right, _ = HAND[(k1, k2)]
    assert abs(dx3_dw(slide_runner(), k1, k2) - right * TERM) < 1e-15
    assert abs(dx3_dw(mg.bptt.tbptt, k1, k2) - right * TERM) < 1e-15


@pytest.mark.parametrize("k1, k2", sorted(HAND))
def test_cutting_at_the_chunks_start_gives_the_mistakes_count(k1, k2):
    """Exercise 2(d)'s first mistake, in a runner of one's own: TBPTT(2, 2) 0.036, TBPTT(3, 1) 0.108."""
    _, mistaken = HAND[(k1, k2)]
    assert abs(dx3_dw(slide_runner(cut_at_chunk_start=True), k1, k2) - mistaken * TERM) < 1e-15


class Assigning(autograd.Gradients):
    """Exercise 2(d)'s second mistake: a gradient assigned into a node instead of added."""

    __slots__ = ()

    def add(self, node, grad, source):
        if grad is None:
            return
        if not isinstance(grad, np.ndarray):
            grad = grad.materialise(node.shape) if hasattr(grad, "materialise") else np.asarray(grad)
        node.grad = autograd.sum_to(grad, node.shape).astype(node.dtype, copy=True)


def test_assigning_instead_of_adding_keeps_one_term_and_the_engine_comes_back():
    engine = autograd.hooks.gradients
    autograd.hooks.gradients = Assigning
    try:
        assert abs(dx3_dw(mg.bptt.tbptt, 3, 3) - TERM) < 1e-15          # one term of three
        assert abs(dx3_dw(mg.bptt.tbptt, 2, 2) - TERM) < 1e-15          # one of two
    finally:
        autograd.hooks.gradients = engine
    assert abs(dx3_dw(mg.bptt.tbptt, 3, 3) - 3 * TERM) < 1e-15


def test_the_slides_line_counts_are_the_codes():
    """instructors.md: run_backward's body is 14 lines; tbptt's loop 22."""
    page = (DOCS / "instructors.md").read_text()
    body = int(re.search(r"Its body is (\d+) lines, all of them the idea", page).group(1))
    loop = int(re.search(r"of\s+its loop's (\d+) lines about 8 are the idea", page).group(1))
    lines, _ = inspect.getsourcelines(autograd.run_backward)
    after_docstring = "".join(lines).split('"""')[2].strip("\n").splitlines()
    assert len(after_docstring) == body
    source = inspect.getsource(runner.tbptt).splitlines()
    start = next(i for i, line in enumerate(source) if line.strip().startswith("for t in range(1, n + 1):"))
    end = next(i for i, line in enumerate(source) if "updater.update_at(" in line)
    assert end - start + 1 == loop


# ---- mg.autograd.no_grad is mg.no_grad, as torch.autograd.no_grad is torch.no_grad ----

def test_one_autograd_no_grad_object_can_be_entered_twice():
    x = mg.tensor([1.0], requires_grad=True)
    block = mg.autograd.no_grad()
    with block:
        first = x * 2
    with block:
        second = x * 2
    assert not first.requires_grad and not second.requires_grad
    assert (x * 2).requires_grad


def test_autograd_no_grad_on_a_generator_function_holds_inside_each_step():
    x = mg.tensor([1.0], requires_grad=True)

    @mg.autograd.no_grad
    def doubles():
        yield x * 2
        yield x * 3

    assert [y.requires_grad for y in doubles()] == [False, False]
    assert mg.autograd.no_grad is mg.no_grad
