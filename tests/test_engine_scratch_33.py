"""Round 33, the engine's hook layer: a pass of `autograd.grad` / `mg.vjp` keeps its gradients in storage of its own.

`mg.autograd.grad`, `mg.vjp`, `mg.jacobian`, gradcheck and the torch.func transforms (`transforms.reverse_gradients`)
used the `.grad` of the tensors they differentiate as the pass's scratch space: cleared before the pass, read after
it, put back at the end. Anything else that added into that `.grad` meanwhile (a `backward()` run by a hook, another
thread's `backward()`) landed in the result and was then lost from `.grad`. Now `tensor_hooks.PrunedPass` adds what
reaches such a leaf (or a non-leaf it stops at) into a stand-in node of its own and hands the gradients over in
`Differentiated.capture` when it ends. Also fixed here: `mg.vjp` / `mg.jacobian(mode="rev")` ran the hooks of a
tensor they differentiate through a closure, and walked (and freed) what the caller had made from it, so
vjp(lambda a, b: a * h + b * x, [h, x]) with h = 2 x counted h's path into x, where `mg.jvp` holds h fixed; and
`mg.jvp` / `jacobian(mode="fwd")` moved a closure over an input that requires no grad, which reverse mode could not
see. Left as a strict xfail elsewhere (tests/test_mutation_check_session_31.py): a tensor whose own node an earlier
pass freed is refused as an input of `autograd.grad` (the core's walk hands no gradient to a freed node).

PyTorch sources read:
- pytorch/pytorch, torch/csrc/autograd/engine.cpp, commit e1253a956f6866469eafd88cc3bfb4627f4b1efc:
  `GraphTask::init_to_execute` gives each input of `.grad()` a `captures_` entry (`.backward()` sets `needed_`);
  `Engine::evaluate_function` writes the gradient reaching a captured node into `graph_task->captured_vars_` (after
  its capture hooks) and returns without running the node when it is not `needed_`. The gradients live in the
  GraphTask, never in a tensor's `.grad`, so a re-entrant or concurrent `backward()` accumulates into `.grad`
  untouched by the `grad()` call, and `grad()` returns only its own pass's gradient.
- pytorch/pytorch, torch/autograd/functional.py, commit 83b8b8ca8239f608e195ea7e7a0951103ea16bb7: `vjp` and
  `jacobian` call `_grad_preprocess`, which differentiates `inp.detach().requires_grad_(need_graph)` copies, so no
  hook of the caller's tensor runs and its graph is not walked; a hook that the function registers on the copy it
  is given is a hook of an input of `torch.autograd.grad`, which runs.
- torch.func.jvp / torch.func.vjp documentation (docs.pytorch.org/docs/stable/generated/torch.func.jvp.html,
  torch.func.vjp.html): the derivative is with respect to the primals; a tensor the function reads through a
  closure is not a primal, a constant in either mode.

Expected values are closed forms written out by hand (or numpy), never the library's own output.
"""

import threading

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import autograd

F64 = np.float64


def leaf(values):
    return mg.tensor(np.array(values, dtype=F64), requires_grad=True)


def with_inner_backward(x, inner):
    """y = 2 x, whose hook runs `inner()` once (a backward pass of another graph, made before: hooks record
    nothing)."""
    y = x * 2
    done = []

    def hook(g):
        if not done:
            done.append(1)
            inner()
    y.register_hook(hook)
    return y


def in_a_thread(work):
    errors = []

    def run():
        try:
            work()
        except BaseException as error:          # (reported in the test's thread)
            errors.append(error)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(20)
    assert not errors, errors


# ---- autograd.grad: an inner or concurrent backward() into one of its inputs ---------------------------------------

def test_an_inner_backward_into_an_input_that_the_outer_grad_also_reaches_stays_apart():
    """loss = sum(2 x) + sum(3 z), the hook of 2 x running sum(z^2).backward(). grad(loss, [x, z]) = (2, 3), z.grad =
    2 z = (6, 8) from the inner pass alone (it was (2, 3 + 2 z) and z.grad None). backward(inputs=[x, z]) adds both
    into z.grad, as PyTorch's: 3 + 2 z = (9, 11)."""
    x, z = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    inner = (z * z).sum()
    loss = with_inner_backward(x, inner.backward).sum() + (z * 3).sum()
    gx, gz = mg.autograd.grad(loss, [x, z])
    np.testing.assert_array_equal(gx.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(gz.numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(z.grad, [6.0, 8.0])
    assert x.grad is None
    x, z = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    inner = (z * z).sum()
    (with_inner_backward(x, inner.backward).sum() + (z * 3).sum()).backward(inputs=[x, z])
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    np.testing.assert_array_equal(z.grad, [9.0, 11.0])


def test_a_backward_from_another_thread_into_the_input_of_autograd_grad_keeps_both():
    """grad(sum(c p), p) = c while another thread, started by a hook during the pass, runs sum(p^2).backward():
    p.grad = 2 p afterwards, and the result c alone."""
    p, c = leaf([1.0, -2.0, 0.5]), np.array([4.0, 5.0, 6.0])
    other = (p * p).sum()
    y = p * mg.tensor(c)
    y.register_hook(lambda g: in_a_thread(other.backward))
    (g,) = mg.autograd.grad(y.sum(), p)
    np.testing.assert_array_equal(g.numpy(), c)
    np.testing.assert_array_equal(p.grad, [2.0, -4.0, 1.0])


@pytest.mark.parametrize("case", ["plain", "zero_d", "indexed", "linear_twice", "hooked", "anomaly_checked"])
def test_the_inputs_grad_is_neither_read_nor_changed_whatever_kind_of_gradient_reaches_it(case):
    """Each way a gradient reaches a leaf in the engine's pass (an array, a 0-d scalar, a `Scatter` of x[i], a
    weight's deferred `StackedProducts`, a leaf hook, anomaly checks): the result is the closed form, and the
    leaf's preset .grad of 7s is what it was."""
    if case == "zero_d":
        p = leaf(0.5)
        loss, expected = p * 3, np.array(3.0)
    elif case == "indexed":
        p = leaf([1.0, 2.0, 3.0])               # l = 5 p0 + 6 p1 + p1 p2: (5, 6 + p2, p1)
        loss, expected = (p[0:2] * mg.tensor([5.0, 6.0])).sum() + p[2] * p[1], np.array([5.0, 9.0, 2.0])
    elif case == "linear_twice":
        p = leaf([[1.0, 2.0], [3.0, 4.0]])      # sum(W x1) + sum((W x2)^2): 1 x1^T + 2 (W x2) x2^T
        x1, x2 = np.array([[1.0, -1.0]]), np.array([[0.5, 2.0]])
        loss = (mg.nn.functional.linear(mg.tensor(x1), p).sum()
                + (mg.nn.functional.linear(mg.tensor(x2), p) ** 2).sum())
        expected = np.ones((2, 1)) @ x1 + 2 * (p.data @ x2.T) @ x2
    elif case == "hooked":
        p = leaf([1.0, 2.0])
        calls = []
        p.register_hook(lambda g: (calls.append(g.numpy().copy()), g * 10)[1])
        loss, expected = (p * 3).sum(), np.array([30.0, 30.0])
    else:
        p = leaf([1.0, 2.0])
        loss, expected = (p * p).sum(), np.array([2.0, 4.0])
    p.grad = np.full(p.shape, 7.0)
    if case == "anomaly_checked":
        with mg.detect_anomaly():
            (g,) = mg.autograd.grad(loss, p)
    else:
        (g,) = mg.autograd.grad(loss, p)
    np.testing.assert_allclose(g.numpy(), expected, rtol=1e-15)
    np.testing.assert_array_equal(p.grad, np.full(p.shape, 7.0))
    if case == "hooked":
        assert len(calls) == 1
        np.testing.assert_array_equal(calls[0], [3.0, 3.0])


def test_a_failed_pass_captures_nothing_and_leaves_the_inputs_grad_alone():
    """A hook of the input raising during grad(): the error comes through, z.grad is the 7s it was; the graph kept
    (retain_graph=True), a second call without the hook gives 3."""
    z = leaf([1.0, 2.0])
    z.grad = np.full(2, 7.0)
    loss = (z * 3).sum()

    def refuse(g):
        raise ValueError("no")
    handle = z.register_hook(refuse)
    with pytest.raises(ValueError, match="no"):
        mg.autograd.grad(loss, z, retain_graph=True)
    np.testing.assert_array_equal(z.grad, [7.0, 7.0])
    handle.remove()
    (g,) = mg.autograd.grad(loss, z)
    np.testing.assert_array_equal(g.numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(z.grad, [7.0, 7.0])


def test_autograd_grad_run_by_a_hook_of_a_backward_that_fills_the_same_leaf():
    """The outer sum(5 w^2).backward(), a hook of w^2 asking grad(sum(3 w), w) of a graph of its own: the hook gets
    3, and w.grad = 10 w from the outer pass alone."""
    w = leaf([1.0, 2.0])
    seen = []
    other = (w * 3).sum()
    y = w * w

    def ask(g):
        seen.append(mg.autograd.grad(other, w)[0].numpy())
    y.register_hook(ask)
    (y * 5).sum().backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])
    np.testing.assert_array_equal(w.grad, [10.0, 20.0])


def test_a_non_leaf_inputs_retained_grad_is_left_alone():
    """h = 2 x, h.retain_grad(), sum(h^2).backward(retain_graph=True): h.grad = 2 h = (4, 8). grad(sum(3 h), h) = 3,
    and h.grad is still (4, 8), as PyTorch's grad() changes no .grad."""
    x = leaf([1.0, 2.0])
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward(retain_graph=True)
    np.testing.assert_array_equal(h.grad, [4.0, 8.0])
    (g,) = mg.autograd.grad((h * 3).sum(), h)
    np.testing.assert_array_equal(g.numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(h.grad, [4.0, 8.0])


def test_the_cores_plain_gradient_adder_still_answers_autograd_grad():
    """With the core's plain `Gradients` installed (in a thread where no engine pass ran), which captures nothing:
    grad(sum(x^2), x) = 2 x, read from .grad and the preset 7s put back; vjp of a a gives 2 a u."""
    results = {}

    def run():
        x = leaf([1.0, 2.0])
        x.grad = np.full(2, 7.0)
        results["grad"] = mg.autograd.grad((x * x).sum(), x)[0].numpy()
        results["kept"] = np.array(x.grad)
        results["vjp"] = mg.vjp(lambda a: a * a, [x], np.array([1.0, -1.0]))[1][0]
    engine = autograd.hooks.gradients
    autograd.hooks.gradients = autograd.Gradients
    try:
        in_a_thread(run)
    finally:
        autograd.hooks.gradients = engine
    np.testing.assert_array_equal(results["grad"], [2.0, 4.0])
    np.testing.assert_array_equal(results["kept"], [7.0, 7.0])
    np.testing.assert_array_equal(results["vjp"], [2.0, -4.0])


# ---- mg.vjp / jacobian(rev): a tensor read through a closure is an input of its own ---------------------------------

def test_vjp_holds_what_the_caller_made_from_an_input_fixed_as_jvp():
    """x = (1, 2), h = 2 x; f(a, b) = a h + b x, both read through the closure too. Each input on its own (as jvp
    seeds it): df/da = h + a = 2 h = (4, 8), df/db = x + b = 2 x = (2, 4) (vjp gave 2 x + 2 h, walking h's history
    into x, and freed it). h's graph is intact: sum(h).backward() gives x.grad = 2."""
    x = leaf([1.0, 2.0])
    h = x * 2
    u = np.array([1.0, -1.0])

    def f(a, b):
        return a * h + b * x
    _, (ga, gb) = mg.vjp(f, [h, x], u)
    np.testing.assert_array_equal(ga, 2 * np.array([2.0, 4.0]) * u)
    np.testing.assert_array_equal(gb, 2 * np.array([1.0, 2.0]) * u)
    np.testing.assert_array_equal(mg.jvp(f, [h, x], [np.ones(2), np.zeros(2)])[1], [4.0, 8.0])
    np.testing.assert_array_equal(mg.jvp(f, [h, x], [np.zeros(2), np.ones(2)])[1], [2.0, 4.0])
    h.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_jacobian_of_a_closure_over_a_tensor_made_from_the_input_is_the_same_in_both_modes():
    """h3 = 3 x made by the caller; f(a) = a h3: J = diag(3 x) by either mode (h3 a constant, as jvp sees it; rev
    had added 3 a through h3), and h3's graph is not freed."""
    x = leaf([1.0, 2.0])
    h3 = x * 3
    f = lambda a: a * h3                                            # noqa: E731
    np.testing.assert_array_equal(mg.jacobian(f, x, mode="rev"), np.diag([3.0, 6.0]))
    np.testing.assert_array_equal(mg.jacobian(f, x, mode="fwd"), np.diag([3.0, 6.0]))
    np.testing.assert_array_equal(mg.vjp(f, [x], np.ones(2))[1][0], [3.0, 6.0])
    h3.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_vjp_and_jacobian_run_no_hook_of_a_tensor_they_differentiate_through_a_closure():
    """f(a) = a p for a leaf p with a hook zeroing its gradient: J = diag(2 p) in both modes and vjp = 2 p u, the
    hook never called; the same for a non-leaf h = 2 x read through the closure (vjp = 2 h u)."""
    p = leaf([1.0, -3.0])
    calls = []
    p.register_hook(lambda g: (calls.append(1), g * 0)[1])
    u = np.array([2.0, 0.5])
    np.testing.assert_array_equal(mg.jacobian(lambda a: a * p, p, mode="rev"), np.diag([2.0, -6.0]))
    np.testing.assert_array_equal(mg.jacobian(lambda a: a * p, p, mode="fwd"), np.diag([2.0, -6.0]))
    np.testing.assert_array_equal(mg.vjp(lambda a: a * p, [p], u)[1][0], 2 * np.array([1.0, -3.0]) * u)
    x = leaf([1.0, 2.0])
    h = x * 2
    h.register_hook(lambda g: (calls.append(2), g * 0)[1])
    np.testing.assert_array_equal(mg.vjp(lambda a: a * h, [h], u)[1][0], 2 * np.array([2.0, 4.0]) * u)
    assert calls == []


def test_a_hook_that_fn_registers_on_its_own_argument_runs():
    """fn(a) registers g -> 3 g on the copy it is given, returns a c: vjp = 3 u c, as torch.autograd.grad runs the
    hooks of its inputs (the copies)."""
    c = np.array([2.0, 3.0])

    def fn(a):
        a.register_hook(lambda g: g * 3)
        return a * mg.tensor(c)
    u = np.array([1.0, -2.0])
    np.testing.assert_array_equal(mg.vjp(fn, [mg.tensor(np.ones(2))], u)[1][0], 3 * u * c)


# ---- mg.jvp / jacobian(fwd): a closure over an input that requires no grad is a constant -----------------------------

@pytest.mark.parametrize("requires_grad", [False, True])
def test_jvp_vjp_and_both_jacobians_agree_on_a_closure_over_the_input(requires_grad):
    """f(a) = a w + w^2, w = (2, -1) read through the closure. w requiring no grad: a constant to both modes, J =
    diag(w) (jvp = w v, vjp = w u). w requiring grad (a parameter): seen by both, J = diag(w + a + 2 w) = diag(4 w)."""
    w = mg.tensor(np.array([2.0, -1.0]), requires_grad=requires_grad)
    f = lambda a: a * w + w * w                                     # noqa: E731
    scale = 4.0 if requires_grad else 1.0
    v, u = np.array([0.5, 2.0]), np.array([1.0, 3.0])
    np.testing.assert_array_equal(mg.jvp(f, [w], [v])[1], scale * np.array([2.0, -1.0]) * v)
    np.testing.assert_array_equal(mg.vjp(f, [w], u)[1][0], scale * np.array([2.0, -1.0]) * u)
    for mode in ("fwd", "rev"):
        np.testing.assert_array_equal(mg.jacobian(f, w, mode=mode), np.diag(scale * np.array([2.0, -1.0])))
    assert w.grad is None


def test_jvp_gives_an_input_that_requires_no_grad_as_a_copy_that_fn_may_change_in_place():
    """fn adds 1 in place to its argument and returns a^2: the value (x + 1)^2 = (4, 9) and the tangent 2 (x + 1) v,
    and the caller's x is (1, 2) throughout (a closure read of x during fn sees it unchanged: fn's value adds x)."""
    x = mg.tensor(np.array([1.0, 2.0]))
    seen = []

    def fn(a):
        a.add_(1.0)
        seen.append(x.numpy().copy())
        return a * a
    value, tangent = mg.jvp(fn, [x], [np.array([1.0, -1.0])])
    np.testing.assert_array_equal(value.numpy(), [4.0, 9.0])
    np.testing.assert_array_equal(tangent, [4.0, -6.0])
    np.testing.assert_array_equal(seen[0], [1.0, 2.0])
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])
