"""Review of three recent pieces against PyTorch 2.13: `t.backward(inputs=...)` (transforms.backward_into,
the pass's hooks in tensor_hooks.py), `transforms.reverse_gradient_rows` (the rows of mg.jacobian,
autograd.grad with several outputs or is_grads_batched, gradcheck, autograd.functional.jacobian) and the
anomaly-mode API in mg.autograd. Each was run side by side with PyTorch 2.13 (CPU) in paired scenario
scripts (which `.grad` change, hooks on and off the path, a Function on the path, freed graphs and
retain_graph, views, repeats, other graphs, detached states, a hook raising mid-pass, threads); the tests
below pin what differed and a few things that were right. Expected values are closed forms or numpy
written out by hand; none comes from the library.
"""

import threading

import numpy as np
import pytest

import microgradseq as mg


def leaf(values):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


class Counted(mg.autograd.Function):
    """y = 2 x, counting its backward calls."""
    calls = 0

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        Counted.calls += 1
        return g * 2


class Pair(mg.autograd.Function):
    """(2 x, 3 x), counting its backward calls."""
    calls = 0

    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2):
        Pair.calls += 1
        return g1 * 2 + g2 * 3


@pytest.fixture(autouse=True)
def counts():
    Counted.calls = Pair.calls = 0


# ---- backward(inputs=...): only the part of the graph that leads to the inputs ------------------

def test_backward_into_runs_no_hook_on_a_branch_that_does_not_lead_to_the_inputs():
    """PyTorch runs only the nodes on a path to `inputs`: a hook on z = c * 2, whose branch leads to c
    alone, does not run in y.backward(inputs=[a]); a.grad = 2a."""
    a, c = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    seen = []
    z = c * 2
    z.register_hook(lambda g: seen.append("z"))
    ((a * a).sum() + z.sum()).backward(inputs=[a])
    np.testing.assert_array_equal(a.grad, [2.0, 4.0])
    assert seen == [] and c.grad is None


def test_backward_into_leaves_a_branch_that_does_not_lead_to_the_inputs_unfreed():
    """PyTorch does not run (so does not free) z = sum(c * c) in y.backward(inputs=[a]), y = sum(a * a)
    + z: z.backward() afterwards gives c.grad = 2c."""
    a, c = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    z = (c * c).sum()
    ((a * a).sum() + z).backward(inputs=[a])
    z.backward()
    np.testing.assert_array_equal(a.grad, [2.0, 4.0])
    np.testing.assert_array_equal(c.grad, [6.0, 8.0])


def test_backward_into_calls_no_function_backward_on_a_branch_elsewhere():
    """PyTorch does not call the backward of a Function whose output leads only to tensors outside
    `inputs` (0 calls); a.grad = 2a."""
    a, c = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (Counted.apply(c).sum() + (a * a).sum()).backward(inputs=[a])
    assert Counted.calls == 0
    np.testing.assert_array_equal(a.grad, [2.0, 4.0])


def test_backward_into_calls_a_function_with_several_outputs_once():
    """Checked right. PyTorch: (p, q) = Pair(x), y = sum(p) + sum(q * w), y.backward(inputs=[x]): one call,
    x.grad = 2 + 3 w = 17, w.grad stays None."""
    x, w = leaf([1.0, 2.0]), leaf([5.0, 5.0])
    p, q = Pair.apply(x)
    (p.sum() + (q * w).sum()).backward(inputs=[x])
    assert Pair.calls == 1 and w.grad is None
    np.testing.assert_array_equal(x.grad, [17.0, 17.0])


def test_backward_into_other_leaves_grads_stay_as_they_were_during_the_pass_too():
    """In PyTorch a leaf outside `inputs` never takes a gradient, so the inputs' hooks see its .grad as
    it was: c.grad None in a's post-accumulate hook, and [7, 7] (set before) in a's tensor hook.
    (Here it took the pass's gradient and had it back only after the pass.)"""
    a, c = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    seen = []
    a.register_post_accumulate_grad_hook(lambda p: seen.append(c.grad))
    (a * c).sum().backward(inputs=[a])
    assert seen == [None]
    c.grad = np.array([7.0, 7.0])
    a.register_hook(lambda g: seen.append(c.grad.copy()))
    (a * c).sum().backward(inputs=[a])
    np.testing.assert_array_equal(seen[1], [7.0, 7.0])
    np.testing.assert_array_equal(a.grad, [3.0 + 3.0, 4.0 + 4.0])


def test_a_hook_may_set_another_leafs_grad_in_backward_into_and_in_grad():
    """PyTorch keeps what an input's hook sets on a leaf outside `inputs` (optimizer.zero_grad() of
    another parameter, say): c.grad is None after a's post-accumulate hook (backward(inputs=[a])) or a's
    tensor hook (autograd.grad(y, [a])) cleared it; here it was put back to [7, 7] after the pass."""
    for run in ("backward", "grad"):
        a, c = leaf([1.0, 2.0]), leaf([3.0, 4.0])
        c.grad = np.array([7.0, 7.0])
        if run == "backward":
            a.register_post_accumulate_grad_hook(lambda p: setattr(c, "grad", None))
            (a * c).sum().backward(inputs=[a])
            np.testing.assert_array_equal(a.grad, [3.0, 4.0])
        else:
            a.register_hook(lambda g: setattr(c, "grad", None))
            (g,) = mg.autograd.grad((a * c).sum(), [a])
            np.testing.assert_array_equal(g.numpy(), [3.0, 4.0])
        assert c.grad is None, run


def test_backward_into_takes_any_iterable_of_tensors():
    """PyTorch takes a generator of tensors as `inputs` (it was a TypeError here): c.grad = a, a.grad None."""
    a, c = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a * c).sum().backward(inputs=(t for t in [c]))
    np.testing.assert_array_equal(c.grad, [1.0, 2.0])
    assert a.grad is None


def test_backward_into_a_part_of_a_tensor_and_an_input_behind_a_cut():
    """Checked right. PyTorch: t = u[0], y = sum(t * t) + sum(u), y.backward(inputs=[t]): t.grad = 2t,
    u.grad None; with inputs=[t, u], u.grad = 1 + 2t in row 0 (what reaches t flows on into u too).
    An input behind a detach() gets nothing: h0.grad None, w.grad the gradient of the steps after it."""
    u = leaf([[1.0, 2.0], [3.0, 4.0]])
    t = u[0]
    ((t * t).sum() + u.sum()).backward(inputs=[t])
    np.testing.assert_array_equal(t.grad, [2.0, 4.0])
    assert u.grad is None
    t = u[0]
    ((t * t).sum() + u.sum()).backward(inputs=[t, u])
    np.testing.assert_array_equal(t.grad, [2.0, 4.0])
    np.testing.assert_array_equal(u.grad, [[3.0, 5.0], [1.0, 1.0]])
    w, h0 = leaf([0.5]), leaf([1.0])
    cut = (h0 * w).tanh().detach()
    h = (cut * w).tanh()
    h.sum().backward(inputs=[h0, w])
    assert h0.grad is None
    c = np.tanh(0.5)
    np.testing.assert_allclose(w.grad, [c * (1 - np.tanh(c * 0.5) ** 2)], rtol=1e-14)


def test_backward_into_a_hook_raising_mid_pass_leaves_every_other_grad_as_it_was():
    """Checked right. PyTorch leaves what it had accumulated when a hook raises; here (and there) a's
    gradient had not arrived (a.grad None) and c.grad, outside `inputs`, is as set before: [7, 7]."""
    a, c = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    c.grad = np.array([7.0, 7.0])
    h = a * c
    h2 = h * 2

    def refuse(g):
        raise ValueError("no")
    h2.register_hook(refuse)
    with pytest.raises(ValueError):
        (h2 + h).sum().backward(inputs=[a])
    assert a.grad is None
    np.testing.assert_array_equal(c.grad, [7.0, 7.0])


def test_backward_into_in_one_thread_leaves_another_threads_full_pass_whole():
    """Checked right: a backward(inputs=[a]) paused in a's hook in one thread does not prune or change a
    full backward() another thread runs meanwhile (its leaf hooks and post-accumulate hooks all run,
    c.grad = v + 2, v.grad = c)."""
    a, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    c, v = leaf([5.0, 6.0]), leaf([7.0, 8.0])
    in_a, done = threading.Event(), threading.Event()
    seen = []
    a.register_hook(lambda g: (in_a.set(), done.wait(5), seen.append("a")) and None)
    c.register_hook(lambda g: seen.append("c"))
    v.register_post_accumulate_grad_hook(lambda p: seen.append("v after"))
    z = c * 2

    def other():
        in_a.wait(5)
        (c * v + z).sum().backward()
        done.set()
    threads = [threading.Thread(target=lambda: (a * w).sum().backward(inputs=[a])), threading.Thread(target=other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == ["a", "c", "v after"] and w.grad is None
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])
    np.testing.assert_array_equal(c.grad, [9.0, 10.0])
    np.testing.assert_array_equal(v.grad, [5.0, 6.0])


# ---- autograd.grad / reverse_gradient_rows: one pass per row, as PyTorch's ------------------------

def test_grad_of_several_outputs_runs_a_shared_hook_once_on_the_whole_gradient():
    """PyTorch's autograd.grad([y1, y2], [x]) is one pass: the hook on h = 3x runs once, on
    dL/dh = 2 + 2h = [8, -10], and clamps it to [1, -1], so dL/dx = 3 [1, -1]. (Here it ran once per
    output, clamping 2 and 2h apart: [6, 0].)"""
    x = leaf([1.0, -2.0])
    seen = []
    h = x * 3
    h.register_hook(lambda g: seen.append(g.numpy().copy()) or g.clamp(-1, 1))
    (g,) = mg.autograd.grad([(h * 2).sum(), (h * h).sum()], [x])
    np.testing.assert_array_equal(g.numpy(), [3.0, -3.0])
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], [8.0, -10.0])


def test_grad_of_several_outputs_runs_an_inputs_hook_once_on_the_whole_gradient():
    """PyTorch: x's hook clamp(-5, 5) runs once on d(sum 2x + sum x^3)/dx = 2 + 3x^2 = [5, 14]: [5, 5]."""
    x = leaf([1.0, -2.0])
    seen = []
    x.register_hook(lambda g: seen.append(1) or g.clamp(-5, 5))
    (g,) = mg.autograd.grad([(x * 2).sum(), (x * x * x).sum()], [x])
    np.testing.assert_array_equal(g.numpy(), [5.0, 5.0])
    assert seen == [1]


def test_grad_of_several_outputs_calls_a_functions_backward_once():
    """PyTorch calls a Function's backward once in autograd.grad([sum(p), sum(q)], [x]), with both
    outputs' gradients: 2 + 3 = 5."""
    x = leaf([1.0, 2.0])
    p, q = Pair.apply(x)
    (g,) = mg.autograd.grad([p.sum(), q.sum()], [x])
    assert Pair.calls == 1
    np.testing.assert_array_equal(g.numpy(), [5.0, 5.0])


def test_grad_of_several_outputs_frees_every_outputs_graph():
    """PyTorch's autograd.grad([y1, y2], x) without retain_graph frees both graphs: y1.backward() then
    raises RuntimeError (here only the last output's graph was freed). With retain_graph=True it works:
    x.grad = 2x."""
    x = leaf([1.0, -2.0])
    y1, y2 = (x * x).sum(), (x * 3).exp().sum()
    mg.autograd.grad([y1, y2], [x])
    with pytest.raises(RuntimeError, match="freed"):
        y1.backward()
    y1, y2 = (x * x).sum(), (x * 3).exp().sum()
    mg.autograd.grad([y1, y2], [x], retain_graph=True)
    y1.backward()
    np.testing.assert_array_equal(x.grad, [2.0, -4.0])


def test_batched_grad_of_several_outputs_frees_every_outputs_graph_after_the_last_row():
    """PyTorch: autograd.grad([y1, y2], x, is_grads_batched=True) frees both graphs after the last row;
    the rows are d(u_b . y1 + u_b . y2)/dx = u_b (2x + 3 exp(3x))."""
    x = leaf([0.5, -1.0])
    y1, y2 = x * x, (x * 3).exp()
    eye = np.eye(2)
    (g,) = mg.autograd.grad([y1, y2], [x], grad_outputs=[eye, eye], is_grads_batched=True)
    xs = np.array([0.5, -1.0])
    np.testing.assert_allclose(g.numpy(), np.diag(2 * xs + 3 * np.exp(3 * xs)), rtol=1e-14)
    with pytest.raises(RuntimeError, match="freed"):
        y1.sum().backward()


def test_grad_leaves_other_leaves_grads_as_they_were_during_the_pass():
    """PyTorch's autograd.grad adds into no .grad: x's hook sees c.grad = [7, 7] (set before), not the
    pass's gradient of c."""
    x, c = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    c.grad = np.array([7.0, 7.0])
    seen = []
    x.register_hook(lambda g: seen.append(c.grad.copy()))
    (g,) = mg.autograd.grad((x * c).sum(), [x])
    np.testing.assert_array_equal(g.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(seen[0], [7.0, 7.0])
    np.testing.assert_array_equal(c.grad, [7.0, 7.0])


def test_grad_leaves_a_branch_that_does_not_lead_to_the_inputs_unrun_and_unfreed():
    """PyTorch's autograd.grad(y, [x]) runs (and frees) only the nodes on a path to x: a Function on a
    branch to c alone is not called, and z.backward() afterwards gives c.grad = 2."""
    x, c = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    z = Counted.apply(c).sum()
    (g,) = mg.autograd.grad((x * x).sum() + z, [x])
    assert Counted.calls == 0
    z.backward()
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(c.grad, [2.0, 2.0])


def test_reverse_jacobian_rows_on_0d_empty_and_broadcast_shapes_leave_every_grad_alone():
    """Checked right (PyTorch's autograd.functional.jacobian gives the same; it refuses an empty output):
    d sum(x^2)/dx at 0-d x = 3 is 6; an empty output's Jacobian has shape (0, 2); for y = tanh(b x),
    b of shape (2, 1), x of (3,), J[i, j, k] = b_i (1 - tanh(b_i x_j)^2) [j = k]; a tensor the function
    reads through a closure keeps its .grad."""
    np.testing.assert_allclose(mg.jacobian(lambda x: x * x, mg.tensor(3.0)), 6.0)
    assert mg.jacobian(lambda x: x[:0] * 2, leaf([1.0, 2.0])).shape == (0, 2)
    b = leaf([[1.0], [2.0]])
    b.grad = np.array([[5.0], [6.0]])
    xs = np.array([0.1, -0.2, 0.3])
    got = mg.autograd.functional.jacobian(lambda x: (x * b).tanh(), mg.tensor(xs)).numpy()
    bs = np.array([1.0, 2.0])[:, None, None]
    expected = bs * (1 - np.tanh(bs * xs[None, :, None]) ** 2) * np.eye(3)[None]
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    np.testing.assert_array_equal(b.grad, [[5.0], [6.0]])


def test_a_hook_raising_in_a_later_row_leaves_every_grad_and_the_graph_as_they_were():
    """Checked right. A hook that raises in the second of three rows of a batched autograd.grad: every
    .grad is as before (x's [1, 1, 1], w's None) and the graph, kept between rows, can be walked again:
    dy/dw = x^2."""
    x, w = leaf([1.0, 2.0, 3.0]), leaf([3.0, 4.0, 5.0])
    x.grad = np.ones(3)
    rows = []

    def second_row_raises(g):
        rows.append(1)
        if len(rows) == 2:
            raise ValueError("row 2")
    h = x * x
    h.register_hook(second_row_raises)
    y = h * w
    with pytest.raises(ValueError, match="row 2"):
        mg.autograd.grad(y, [x], grad_outputs=np.eye(3), is_grads_batched=True)
    np.testing.assert_array_equal(x.grad, np.ones(3))
    assert w.grad is None
    y.backward(np.ones(3), inputs=[w])
    np.testing.assert_array_equal(w.grad, [1.0, 4.0, 9.0])


def test_batched_grad_frees_the_graph_after_the_last_row_unless_retained():
    """Checked right, as PyTorch's: rows of d(u_b . x^2)/dx = 2 x u_b; without retain_graph the graph is
    freed after the last row (a backward then raises), with it kept."""
    for retain in (False, True):
        x = leaf([1.0, 2.0, 3.0])
        y = x * x
        (g,) = mg.autograd.grad(y, [x], grad_outputs=np.eye(3), is_grads_batched=True, retain_graph=retain)
        np.testing.assert_array_equal(g.numpy(), np.diag([2.0, 4.0, 6.0]))
        if retain:
            y.sum().backward()
            np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])
        else:
            with pytest.raises(RuntimeError, match="freed"):
                y.sum().backward()


# ---- anomaly mode -------------------------------------------------------------------------------

def _in_two_threads(run_a, run_b):
    """Thread A calls run_a(inside) and thread B (detection on, check_nan off) run_b(inside), `inside`
    running in the block: B enters while A is inside, A leaves first, then B. Each thread's mode after."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    found = {}

    def a():
        run_a(lambda: (a_in.set(), b_in.wait(5)))
        found["a"] = (mg.autograd.is_anomaly_enabled(), mg.autograd.is_anomaly_check_nan_enabled())
        a_out.set()

    def b():
        mg.autograd.set_anomaly_enabled(True, check_nan=False)
        a_in.wait(5)
        run_b(lambda: (b_in.set(), a_out.wait(5)))
        found["b"] = (mg.autograd.is_anomaly_enabled(), mg.autograd.is_anomaly_check_nan_enabled())

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return found


def test_one_detect_anomaly_block_entered_in_two_threads_puts_back_each_threads_own_mode():
    """Detection is per thread here: each thread leaving a block gets back what it had, also when the
    block is one object (a module-level `checking = detect_anomaly()`) entered in two threads at once.
    (A's exit put back B's mode, and B's A's: A was left with detection on, B with it off.)"""
    block = mg.autograd.detect_anomaly()

    def run(inside):
        with block:
            inside()
    assert _in_two_threads(run, run) == {"a": (False, True), "b": (True, False)}


def test_a_function_decorated_with_detect_anomaly_called_in_two_threads_puts_back_each_threads_mode():
    """The same with @detect_anomaly() on a function two threads call at once (one object for both)."""
    @mg.autograd.detect_anomaly()
    def run(inside):
        assert mg.autograd.is_anomaly_enabled() and mg.autograd.is_anomaly_check_nan_enabled()
        inside()
    assert _in_two_threads(run, run) == {"a": (False, True), "b": (True, False)}


# ---- a pass that differentiates with respect to a tensor does not walk past it --------------------------

def _split_problem():
    """h = w * w, loss = sum(c * tanh(h)): dloss/dh = c (1 - tanh(h)^2), dloss/dw = 2 w dloss/dh."""
    w = leaf([0.5, -1.0, 2.0])
    c = np.array([1.0, -2.0, 0.5])
    h = w * w
    loss = (h.tanh() * mg.tensor(c)).sum()
    dh = c * (1 - np.tanh(w.data ** 2) ** 2)
    return w, h, loss, dh, 2 * w.data * dh


def test_grad_with_respect_to_a_non_leaf_leaves_its_own_graph_for_a_later_pass():
    """PyTorch's engine captures dL/dh at h and does not run h's grad_fn, so `h.backward(g)` can follow
    (the backward pass split in two by hand); here h's node was walked and freed, and the second pass
    raised 'already been freed'."""
    w, h, loss, dh, dw = _split_problem()
    (g,) = mg.autograd.grad(loss, [h])
    np.testing.assert_allclose(g.data, dh, rtol=1e-12)
    h.backward(g)
    np.testing.assert_allclose(w.grad, dw, rtol=1e-12)


def test_backward_into_a_non_leaf_leaves_its_own_graph_for_a_later_pass():
    w, h, loss, dh, dw = _split_problem()
    loss.backward(inputs=[h])
    np.testing.assert_allclose(h.grad, dh, rtol=1e-12)
    assert w.grad is None
    h.backward(mg.tensor(h.grad))
    np.testing.assert_allclose(w.grad, dw, rtol=1e-12)


def test_grad_with_respect_to_two_tensors_on_one_path_walks_the_later_one():
    """h2 = 3 h1: d(sum h2^2)/dh2 = 2 h2, d/dh1 = 3 * 2 h2 = 18 h1 (the pass goes on through h2's node to
    h1), and h1's own node is left for a later pass: d(sum h1)/dw = 2 w."""
    w = leaf([1.0, -2.0])
    h1 = w * w
    h2 = h1 * 3
    g1, g2 = mg.autograd.grad((h2 * h2).sum(), [h1, h2])
    np.testing.assert_allclose(g2.data, 6 * w.data ** 2, rtol=1e-12)
    np.testing.assert_allclose(g1.data, 18 * w.data ** 2, rtol=1e-12)
    h1.sum().backward()
    np.testing.assert_allclose(w.grad, 2 * w.data, rtol=1e-12)


def test_grad_with_respect_to_a_hooked_non_leaf_runs_its_hook():
    """A hook on h runs on dL/dh, and autograd.grad returns what it returns, as PyTorch's."""
    w, h, loss, dh, _ = _split_problem()
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 2)
    (g,) = mg.autograd.grad(loss, [h])
    np.testing.assert_allclose(seen[0], dh, rtol=1e-12)
    np.testing.assert_allclose(g.data, 2 * dh, rtol=1e-12)


def test_grad_with_respect_to_a_non_leaf_twice_gives_this_passs_gradient_only():
    """Retaining the graph, two passes give the same dL/dh (the node not walked starts each pass at None)."""
    w, h, loss, dh, _ = _split_problem()
    (g1,) = mg.autograd.grad(loss, [h], retain_graph=True)
    (g2,) = mg.autograd.grad(loss, [h])
    np.testing.assert_allclose(g1.data, dh, rtol=1e-12)
    np.testing.assert_allclose(g2.data, dh, rtol=1e-12)
