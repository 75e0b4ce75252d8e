"""Review of c42d641 (the hook layer's captured gradients): `mg.autograd.grad`, `mg.vjp`, `mg.jacobian`,
`gradcheck` and `mg.func` collect their gradients in the pass (`Differentiated.capture`, `PrunedPass`' stand-ins)
and never use `.grad` as scratch; vjp and jacobian treat what the caller made before fn as a constant
(`recorded_from`); jvp gives fn a copy of an input that needs no grad.

PyTorch's behaviour, from its source: pytorch/pytorch torch/csrc/autograd/engine.cpp at
e1253a956f6866469eafd88cc3bfb4627f4b1efc (`GraphTask::init_to_execute`: a `.grad()` call sets `captures_` on the
input's node instead of `needed_`; `Engine::evaluate_function`: the gradient arriving at such a node is copied
into the task's `captured_vars_`, its capture hooks run on it, and the node is not executed unless needed
further on), and torch/autograd/functional.py at 83b8b8ca8239f608e195ea7e7a0951103ea16bb7 (`vjp`, `jacobian`:
the inputs are detached copies that require grad, so a caller's hooks never run and nothing the caller made
before is walked).

Expected values are closed forms written out in numpy or float64 central differences, never the library's own.
"""

import threading

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.nn.utils import parametrize
from microgradseq.utils.checkpoint import checkpoint

ag = mg.autograd


def leaf(values, requires_grad=True):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=requires_grad)


def central(f, x, eps=1e-6):
    """d f / d x (f scalar-valued) by float64 central differences."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


# ---- autograd.grad: inputs of every kind --------------------------------------------------------------------

def test_a_hooked_non_leaf_walked_through_to_another_input_returns_its_hooked_gradient():
    """y = 2x, z = 3y, loss = sum(z x); y's hook multiplies by 10. grad(loss, [y, x]): dL/dy = 10 * 3x (hooked,
    as PyTorch's capture hooks run before the capture), dL/dx = 3y + 2 * 30x = 66x (the hooked gradient passes on)."""
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    loss = (y * 3 * x).sum()
    y.register_hook(lambda g: g * 10)
    gy, gx = ag.grad(loss, [y, x])
    xs = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(gy.numpy(), 30 * xs)
    np.testing.assert_allclose(gx.numpy(), 66 * xs)
    assert x.grad is None


def test_an_input_given_twice_gets_the_same_gradient_in_both_places():
    x = leaf([1.0, 2.0, 3.0])
    g1, g2 = ag.grad((x * x).sum(), [x, x])
    np.testing.assert_allclose(g1.numpy(), [2.0, 4.0, 6.0])
    np.testing.assert_allclose(g2.numpy(), [2.0, 4.0, 6.0])
    assert x.grad is None


def test_inputs_that_are_outputs():
    """grad(y, y) is the cotangent; grad(y, [y, x]) with y = 2x is (u, 2u); grad([x, x], x) sums both seeds;
    grad([loss, y], [y, x]) with loss = sum(y^2): dL/dy = 2y + 1, dL/dx = 2 (2y + 1)."""
    x = leaf([1.0, 2.0])
    y = x * 2
    np.testing.assert_array_equal(ag.grad(y, y, grad_outputs=np.ones(2), retain_graph=True)[0].numpy(), [1.0, 1.0])
    gy, gx = ag.grad(y, [y, x], grad_outputs=np.ones(2))
    np.testing.assert_array_equal(gy.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(gx.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(ag.grad([x, x], x, grad_outputs=[np.ones(2), np.ones(2)])[0].numpy(), [2.0, 2.0])
    y = x * 2
    gy, gx = ag.grad([(y * y).sum(), y], [y, x], grad_outputs=[None, np.ones(2)])
    np.testing.assert_allclose(gy.numpy(), [5.0, 9.0])
    np.testing.assert_allclose(gx.numpy(), [10.0, 18.0])
    assert x.grad is None


def test_retain_graph_then_grad_again_then_backward():
    x = leaf([1.0, 2.0, 3.0])
    loss = (x ** 2).sum()
    first = ag.grad(loss, x, retain_graph=True)[0].numpy()
    second = ag.grad(loss, x, retain_graph=True)[0].numpy()
    assert x.grad is None
    loss.backward()
    for got in (first, second, np.asarray(x.grad)):
        np.testing.assert_allclose(got, [2.0, 4.0, 6.0])


def test_allow_unused_and_materialize_grads_with_captured_gradients():
    x, w = leaf([1.0, 2.0]), leaf([5.0])
    gx, gw = ag.grad((x * 2).sum(), [x, w], allow_unused=True)
    np.testing.assert_array_equal(gx.numpy(), [2.0, 2.0])
    assert gw is None
    np.testing.assert_array_equal(ag.grad((x * 2).sum(), [x, w], materialize_grads=True)[1].numpy(), [0.0])
    with pytest.raises(RuntimeError, match="input 1 is not used"):
        ag.grad((x * 2).sum(), [x, w])
    assert x.grad is None and w.grad is None


def test_a_non_leaf_the_pass_stops_at_can_be_walked_after():
    """g = dL/dh for L = sum(h^2), h = 2x, then h.backward(g): x.grad = 2 * 2h = 8x (h's node neither run nor freed)."""
    x = leaf([1.0, 2.0, 3.0])
    h = x * 2
    g = ag.grad((h * h).sum(), h)[0]
    assert x.grad is None
    h.backward(g)
    np.testing.assert_allclose(np.asarray(x.grad), [8.0, 16.0, 24.0])


def test_a_retained_non_leaf_walked_through_keeps_no_grad_and_the_leaf_hook_applies():
    """z = 2x (retain_grad), loss = sum(3z x) = 6 x^2; x's hook multiplies by 1000: dL/dz = 3x, dL/dx = 12000 x."""
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g * 1000)
    z = x * 2
    z.retain_grad()
    gz, gx = ag.grad((z * 3 * x).sum(), [z, x])
    np.testing.assert_allclose(gz.numpy(), [3.0, 6.0])
    np.testing.assert_allclose(gx.numpy(), [12000.0, 24000.0])
    assert z.grad is None and x.grad is None


def test_is_grads_batched_rows_of_the_jacobian():
    x = leaf([1.0, 2.0])
    rows = ag.grad(x * x, x, grad_outputs=np.eye(2), is_grads_batched=True)[0]
    np.testing.assert_allclose(rows.numpy(), np.diag([2.0, 4.0]))


def test_a_sum_overflowing_into_a_leaf_is_named_under_anomaly_detection():
    """Two paths of 1e308 and 1.5e308 into one leaf: the sum overflows, and the error names the leaf (the stand-in
    that collects the gradient carries its description)."""
    p = mg.tensor(np.array([1e-300, 1e-300]), requires_grad=True)
    with ag.detect_anomaly():
        loss = (p * 1e308).sum() + (p * 1.5e308).sum()
        with pytest.raises(RuntimeError, match=r"summed into 'leaf'.*holds inf"), np.errstate(over="ignore"):
            ag.grad(loss, p)
    assert p.grad is None


def test_weight_products_summed_at_the_end_of_the_pass_reach_the_result():
    """An RNNCell over 4 steps: linear's weight gradients are kept as stacked factors until the pass ends; the
    captured d sum(h_4^2) / d W_hh matches central differences, and a backward() afterwards fills .grad alike."""
    rng = np.random.default_rng(3)
    cell = mg.nn.RNNCell(3, 2).double()
    xs = rng.standard_normal((4, 1, 3))
    w_ih, w_hh = cell.weight_ih.detach().numpy().copy(), cell.weight_hh.detach().numpy().copy()
    b = cell.bias_ih.detach().numpy() + cell.bias_hh.detach().numpy()

    def loss_of(whh):
        h = np.zeros((1, 2))
        for t in range(4):
            h = np.tanh(xs[t] @ w_ih.T + h @ whh.T + b)
        return float((h ** 2).sum())
    h = mg.zeros(1, 2, dtype=mg.float64)
    for t in range(4):
        h = cell(mg.tensor(xs[t]), h)
    loss = (h ** 2).sum()
    (g,) = ag.grad(loss, [cell.weight_hh], retain_graph=True)
    np.testing.assert_allclose(g.numpy(), central(loss_of, w_hh), atol=1e-8)
    assert cell.weight_hh.grad is None
    loss.backward()
    np.testing.assert_allclose(np.asarray(cell.weight_hh.grad), central(loss_of, w_hh), atol=1e-8)


def test_a_cut_state_is_a_constant_and_not_an_input():
    """h carried over and detached (as TBPTT cuts it): d sum(h2) / d W_hh = (1 - h2^2)^T h; h itself is refused."""
    cell = mg.nn.RNNCell(2, 2).double()
    h = mg.zeros(1, 2, dtype=mg.float64)
    for _ in range(3):
        h = cell(mg.tensor(np.ones((1, 2))), h)
    h = h.detach()
    h2 = cell(mg.tensor(np.ones((1, 2))), h)
    (g,) = ag.grad(h2.sum(), [cell.weight_hh], retain_graph=True)
    np.testing.assert_allclose(g.numpy(), (1 - h2.detach().numpy() ** 2).T @ h.numpy())
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.grad(h2.sum(), [h])


# ---- nested passes ---------------------------------------------------------------------------------------------

class _CubeInside(mg.autograd.Function):
    """The identity forward whose backward runs autograd.grad of sum(a^3) on a detached copy: g * 3a^2."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * 1.0

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        with mg.enable_grad():
            copy = a.detach().requires_grad_()
            inner = ag.grad((copy ** 3).sum(), copy)[0]
        return g * inner


def test_autograd_grad_inside_a_functions_backward_under_grad_and_backward():
    p = leaf([1.0, 2.0])
    np.testing.assert_allclose(ag.grad(_CubeInside.apply(p).sum(), p)[0].numpy(), [3.0, 12.0])
    assert p.grad is None
    _CubeInside.apply(p).sum().backward()
    np.testing.assert_allclose(np.asarray(p.grad), [3.0, 12.0])


@pytest.mark.parametrize("outer", ["backward", "grad"])
def test_a_hook_running_autograd_grad_on_the_same_leaf_during_the_pass(outer):
    """h = 3q, loss = sum(h q) = 3 q^2 (dL/dq = 6q); h's hook runs autograd.grad(sum(q^2), q) = 2q. Neither pass
    sees the other's gradient; autograd.grad fills no .grad, backward fills q.grad with 6q."""
    q = leaf([1.0, 2.0])
    inner = []

    def hook(g):
        with mg.enable_grad():
            inner.append(ag.grad((q * q).sum(), q)[0].numpy())
    h = q * 3
    h.register_hook(hook)
    loss = (h * q).sum()
    if outer == "backward":
        loss.backward()
        got = np.asarray(q.grad)
    else:
        got = ag.grad(loss, q)[0].numpy()
        assert q.grad is None
    np.testing.assert_allclose(got, [6.0, 12.0])
    np.testing.assert_allclose(inner[0], [2.0, 4.0])


@pytest.mark.parametrize("inner", ["backward_inputs", "grad"])
def test_hooks_differentiating_a_non_leaf_with_a_partial_sum_leave_the_outer_pass_right(inner):
    """h = 2x feeds a = 3h and b = 5h; loss = sum(a) + sum(b^2), dL/dx = 2 (3 + 50 h). Hooks on a and b each
    differentiate sum(7h) with respect to h while the outer pass holds a partial sum in h's node."""
    x = leaf([1.0, 2.0])
    h = x * 2
    a, b = h * 3, h * 5
    found = []

    def hook(g):
        with mg.enable_grad():
            s = (h * 7).sum()
        if inner == "grad":
            found.append(ag.grad(s, h, retain_graph=True)[0].numpy())
        else:
            ag.backward(s, inputs=[h], retain_graph=True)
    a.register_hook(hook)
    b.register_hook(hook)
    (a.sum() + (b * b).sum()).backward()
    np.testing.assert_allclose(np.asarray(x.grad), 2 * (3 + 50 * np.array([2.0, 4.0])))
    for got in found:
        np.testing.assert_allclose(got, [7.0, 7.0])


# ---- threads ---------------------------------------------------------------------------------------------------

def _linear_tanh_grad(x, weight, bias):
    """d sum(tanh(x W^T + b)^2) / d W, written out."""
    z = x @ weight.T + bias
    return (2 * np.tanh(z) * (1 - np.tanh(z) ** 2)).T @ x


def _thread_grad(lin, x, wait, signal, results, name):
    """autograd.grad of sum(tanh(lin(x))^2) w.r.t. lin.weight, the pass pausing in a hook on lin(x): it signals,
    then waits for the other thread."""
    with mg.enable_grad():
        h = lin(mg.tensor(x))

    def hook(g):
        signal.set()
        wait.wait(5)
    h.register_hook(hook)
    results[name] = ag.grad((h.tanh() ** 2).sum(), [lin.weight])[0].numpy()


@pytest.mark.parametrize("hooked_leaf", [False, True])
def test_two_threads_interleaving_autograd_grad_on_a_shared_weight(hooked_leaf):
    """Each thread's pass waits inside the other's: both results are their own (times 2 where the shared weight
    has a doubling hook), and the weight's .grad stays None."""
    rng = np.random.default_rng(0)
    lin = mg.nn.Linear(3, 2).double()
    weight, bias = lin.weight.detach().numpy().copy(), lin.bias.detach().numpy().copy()
    if hooked_leaf:
        lin.weight.register_hook(lambda g: g * 2)
    xa, xb = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    first, second, results = threading.Event(), threading.Event(), {}
    threads = [threading.Thread(target=_thread_grad, args=(lin, xa, second, first, results, "a")),
               threading.Thread(target=_thread_grad, args=(lin, xb, first, second, results, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    scale = 2.0 if hooked_leaf else 1.0
    np.testing.assert_allclose(results["a"], scale * _linear_tanh_grad(xa, weight, bias))
    np.testing.assert_allclose(results["b"], scale * _linear_tanh_grad(xb, weight, bias))
    assert lin.weight.grad is None


def test_a_backward_in_another_thread_while_autograd_grad_waits_in_a_hook():
    rng = np.random.default_rng(1)
    lin = mg.nn.Linear(3, 2).double()
    weight, bias = lin.weight.detach().numpy().copy(), lin.bias.detach().numpy().copy()
    xa, xb = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    entered, done, results = threading.Event(), threading.Event(), {}

    def plain():
        entered.wait(5)
        with mg.enable_grad():
            (lin(mg.tensor(xb)).tanh() ** 2).sum().backward()
        done.set()
    threads = [threading.Thread(target=_thread_grad, args=(lin, xa, done, entered, results, "a")),
               threading.Thread(target=plain)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_allclose(results["a"], _linear_tanh_grad(xa, weight, bias))
    np.testing.assert_allclose(np.asarray(lin.weight.grad), _linear_tanh_grad(xb, weight, bias))


# ---- checkpointing ---------------------------------------------------------------------------------------------

def _two_layer(lin, weight, bias, x):
    return float((np.tanh(np.tanh(x @ weight.T + bias) @ weight.T + bias) ** 2).sum())


def test_autograd_grad_through_two_checkpoints():
    rng = np.random.default_rng(2)
    lin = mg.nn.Linear(3, 3).double()
    weight, bias = lin.weight.detach().numpy().copy(), lin.bias.detach().numpy().copy()
    x = leaf(rng.standard_normal((2, 3)))
    block = lambda t: lin(t).tanh()     # noqa: E731
    y = checkpoint(block, checkpoint(block, x, use_reentrant=False), use_reentrant=False)
    gx, gw = ag.grad((y ** 2).sum(), [x, lin.weight])
    np.testing.assert_allclose(gx.numpy(), central(lambda v: _two_layer(lin, weight, bias, v), x.numpy()), atol=1e-8)
    np.testing.assert_allclose(gw.numpy(), central(lambda w: _two_layer(lin, w, bias, x.numpy()), weight), atol=1e-8)
    assert x.grad is None and lin.weight.grad is None


def test_a_hook_inside_a_checkpointed_block_runs_autograd_grad_during_the_recompute():
    rng = np.random.default_rng(4)
    lin = mg.nn.Linear(3, 3).double()
    weight, bias = lin.weight.detach().numpy().copy(), lin.bias.detach().numpy().copy()
    x = leaf(rng.standard_normal((2, 3)))
    seen = []

    def block(t):
        h = lin(t)
        if h.requires_grad:
            def hook(g):
                with mg.enable_grad():
                    q = leaf([1.0, 2.0])
                    seen.append(ag.grad((q ** 2).sum(), q)[0].numpy())
            h.register_hook(hook)
        return h.tanh()
    gx = ag.grad((checkpoint(block, x, use_reentrant=False) ** 2).sum(), x)[0]
    expected = central(lambda v: float((np.tanh(v @ weight.T + bias) ** 2).sum()), x.numpy())
    np.testing.assert_allclose(gx.numpy(), expected, atol=1e-8)
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [2.0, 4.0])


def test_vjp_of_a_checkpointed_function_with_the_weight_given_and_read_through_the_module():
    rng = np.random.default_rng(5)
    lin = mg.nn.Linear(3, 3).double()
    weight, bias = lin.weight.detach().numpy().copy(), lin.bias.detach().numpy().copy()
    x = leaf(rng.standard_normal((2, 3)))
    u = rng.standard_normal((2, 3))
    _, (gx, gw) = mg.vjp(lambda a, w: checkpoint(lambda t: lin(t).tanh(), a, use_reentrant=False),
                         [x, lin.weight], u)
    value = lambda v, w: float((u * np.tanh(v @ w.T + bias)).sum())     # noqa: E731
    np.testing.assert_allclose(gx, central(lambda v: value(v, weight), x.numpy()), atol=1e-8)
    np.testing.assert_allclose(gw, central(lambda w: value(x.numpy(), w), weight), atol=1e-8)
    assert lin.weight.grad is None and x.grad is None


# ---- vjp, jacobian, mg.func, gradcheck ---------------------------------------------------------------------------

def test_vjp_holds_the_callers_tensor_constant_and_leaves_its_graph_walkable():
    """h = 2x; vjp(a h + b x, [h, x], 1): d/dh = h (argument) + h (closure) = 2h, d/dx = 2x (h's history is not
    walked); afterwards h.sum().backward() still walks h's graph: x.grad = 2."""
    x = leaf([1.0, 2.0])
    h = x * 2
    _, (gh, gx) = mg.vjp(lambda a, b: a * h + b * x, [h, x], np.ones(2))
    np.testing.assert_allclose(gh, [4.0, 8.0])
    np.testing.assert_allclose(gx, [2.0, 4.0])
    h.sum().backward()
    np.testing.assert_allclose(np.asarray(x.grad), [2.0, 2.0])


def test_vjp_of_an_input_given_twice_sees_the_closure_once():
    """fn(a, b) = a b x: d/da = b x = x^2 plus the closure's a b = x^2 (first slot only), d/db = a x = x^2."""
    x = leaf([1.0, 2.0])
    _, (g1, g2) = mg.vjp(lambda a, b: a * b * x, [x, x], np.ones(2))
    np.testing.assert_allclose(g1, [2.0, 8.0])
    np.testing.assert_allclose(g2, [1.0, 4.0])


def test_vjp_of_a_function_returning_a_callers_tensor_or_its_argument():
    x = leaf([1.0, 2.0])
    h = x * 3
    np.testing.assert_array_equal(mg.vjp(lambda a: h, [x], np.ones(2))[1][0], [0.0, 0.0])
    np.testing.assert_array_equal(mg.vjp(lambda a: a, [x], np.ones(2))[1][0], [1.0, 1.0])


@pytest.mark.parametrize("requires_grad", [True, False])
def test_both_jacobians_agree_on_a_closure_through_a_callers_op(requires_grad):
    """fn(a) = a * hh + sin(x), hh = 3x made before: diag(3x + cos x) when x requires grad (its closure seen),
    diag(3x) when not; hh is a constant either way."""
    xs = np.array([0.5, -1.0])
    x = leaf(xs, requires_grad)
    hh = x * 3
    expected = np.diag(3 * xs + (np.cos(xs) if requires_grad else 0.0))
    for mode in ("rev", "fwd"):
        np.testing.assert_allclose(np.asarray(mg.jacobian(lambda a: a * hh + x.sin(), x, mode=mode)), expected)


def test_jacobian_runs_fns_own_hooks_per_row_and_not_the_callers():
    """fn(a) = m + x, m = a*a hooked (x2): J = diag(4a + 1); the caller's hook on x (x1000) does not run, and
    m's hook runs once per row; autograd.grad afterwards does run x's hook."""
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g * 1000)
    calls = []

    def fn(a):
        m = a * a
        m.register_hook(lambda g: calls.append(1) or g * 2)
        return m + x
    np.testing.assert_allclose(np.asarray(mg.jacobian(fn, x)), np.diag([5.0, 9.0]))
    assert len(calls) == 2
    np.testing.assert_allclose(ag.grad((x * 1.0).sum(), x)[0].numpy(), [1000.0, 1000.0])


def test_a_cached_parametrization_is_a_constant_to_both_modes():
    """W = 2 * original, computed inside `parametrize.cached()` before vjp/jvp run: a constant to both (before
    c42d641 reverse mode walked the cached W back to `original` and forward mode did not); computed inside fn
    (no cache) both see d sum(W x) / d original = 2 x."""
    class Double(mg.nn.Module):
        def forward(self, w):
            return w * 2
    lin = mg.nn.Linear(2, 1, bias=False).double()
    parametrize.register_parametrization(lin, "weight", Double())
    original = lin.parametrizations.weight.original
    x = mg.tensor(np.array([[1.0, 3.0]]))
    fn = lambda w: lin(x).sum()     # noqa: E731
    with parametrize.cached():
        lin(x)
        np.testing.assert_array_equal(mg.vjp(fn, [original], np.ones(()))[1][0], [[0.0, 0.0]])
        assert float(np.asarray(mg.jvp(fn, [original], [np.ones((1, 2))])[1])) == 0.0
    np.testing.assert_allclose(mg.vjp(fn, [original], np.ones(()))[1][0], [[2.0, 6.0]])
    assert float(np.asarray(mg.jvp(fn, [original], [np.ones((1, 2))])[1])) == pytest.approx(8.0)


def test_func_grad_and_jacrev_over_a_modules_closure_match_central_differences():
    rng = np.random.default_rng(6)
    lin = mg.nn.Linear(3, 3).double()
    weight, bias = lin.weight.detach().numpy().copy(), lin.bias.detach().numpy().copy()
    x = mg.tensor(rng.standard_normal((2, 3)))
    g = mg.func.grad(lambda a: (lin(a) ** 2).sum())(x)
    np.testing.assert_allclose(g.numpy(), central(lambda v: float(((v @ weight.T + bias) ** 2).sum()), x.numpy()),
                               atol=1e-7)
    row = x.numpy()[0]
    jac = mg.func.jacrev(lambda a: lin(a).tanh())(x[0])
    expected = np.stack([central(lambda v, i=i: np.tanh(v @ weight.T + bias)[i], row) for i in range(3)])
    np.testing.assert_allclose(jac.numpy(), expected, atol=1e-8)
    assert lin.weight.grad is None
    with pytest.raises(NotImplementedError, match="vmap"):
        mg.func.vmap(lambda a: a * 2)


def test_gradcheck_over_a_closure_on_a_hooked_parameter():
    """gradcheck(tanh(a p), x), p's hook scaling by 100: the check passes (the analytic Jacobian is d/dx only, and
    p's hook is not x's), and neither .grad changes."""
    p = leaf([0.3, -0.7])
    p.register_hook(lambda g: g * 100)
    x = leaf([1.0, 2.0])
    assert ag.gradcheck(lambda a: (a * p).tanh(), (x,))
    assert p.grad is None and x.grad is None
