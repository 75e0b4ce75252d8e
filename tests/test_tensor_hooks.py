"""Tensor hooks, PyTorch's `t.register_hook(hook)` and `p.register_post_accumulate_grad_hook(hook)`
(tensor_hooks.py). Expected values are closed forms and a BPTT written out in numpy."""

import threading

import numpy as np
import pytest

import microgradseq as mg


def leaf(values):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ---- a tensor an op made: the hook sees dL/dh and what it returns is passed on -------------------

def test_a_hook_on_an_op_output_sees_its_gradient_and_leaves_the_rest_unchanged():
    w = leaf([1.0, -2.0, 3.0])
    h = w * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    (h * h).sum().backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], [4.0, -8.0, 12.0])         # dL/dh = 2h
    np.testing.assert_array_equal(h.grad, [4.0, -8.0, 12.0])
    np.testing.assert_array_equal(w.grad, [8.0, -16.0, 24.0])          # 2 * 2h


def test_what_a_hook_returns_is_passed_on_and_is_the_tensors_grad():
    w = leaf([1.0, 2.0])
    h = w * 2
    h.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad, [40.0, 80.0])                # 10 * 2h, as PyTorch's retained grad
    np.testing.assert_array_equal(w.grad, [80.0, 160.0])


def test_hooks_run_in_the_order_they_were_registered_each_on_what_the_one_before_returned():
    w = leaf([1.0, 2.0])
    h = w * 1.0
    h.register_hook(lambda g: g + 1)
    h.register_hook(lambda g: g * 3)
    h.sum().backward()
    np.testing.assert_array_equal(w.grad, [6.0, 6.0])                  # (1 + 1) * 3, not 1 * 3 + 1


def test_the_gradient_a_hook_sees_is_read_only():
    w = leaf([1.0, 2.0])
    h = w * 1.0

    def write(g):
        g.numpy()[0] = 5.0
    h.register_hook(write)
    with pytest.raises(ValueError, match="read-only"):
        h.sum().backward()


def test_a_hook_runs_once_per_pass_however_many_operands_the_node_has_and_again_on_a_kept_graph():
    w = leaf([1.0, 2.0])
    v = leaf([3.0, 4.0])
    h = w * v                           # two operands: two rules read the hooked gradient
    calls = []
    h.register_hook(lambda g: calls.append(1) or g * 2)
    loss = h.sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert len(calls) == 2
    np.testing.assert_array_equal(w.grad, [12.0, 16.0])                # two passes of 2 v
    np.testing.assert_array_equal(v.grad, [4.0, 8.0])


def test_a_removed_hook_no_longer_runs_and_a_handle_removes_at_the_end_of_a_with_block():
    w = leaf([1.0])
    h = w * 1.0
    calls = []
    handle = h.register_hook(lambda g: calls.append("a"))
    with h.register_hook(lambda g: calls.append("b")):
        h.sum().backward(retain_graph=True)
    handle.remove()
    handle.remove()                     # a second remove does nothing
    h.sum().backward()
    assert calls == ["a", "b"]


def test_autograd_grad_passes_on_the_hooked_gradient():
    w = leaf([1.0, 2.0, 3.0])
    h = w * 1.0
    h.register_hook(lambda g: g * 3)
    (dw,) = mg.autograd.grad((h * h).sum(), w, retain_graph=True)
    np.testing.assert_array_equal(dw, [6.0, 12.0, 18.0])               # 3 * 2h * 1
    (dh,) = mg.autograd.grad((h * h).sum(), h)
    np.testing.assert_array_equal(dh, [6.0, 12.0, 18.0])               # as PyTorch's: the hooked one


def test_hooks_run_with_the_cores_plain_gradient_adder_too(monkeypatch):
    from microgradseq import autograd
    monkeypatch.setattr(autograd.hooks, "gradients", autograd.Gradients)
    w = leaf([1.0, 2.0])
    h = w * 2
    h.register_hook(lambda g: g * 10)
    loss = (h * h).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(w.grad, [160.0, 320.0])              # two passes of 10 * 2h * 2


# ---- a leaf: the hook sees this pass's gradient before it is added into .grad ----------------------

def test_a_leaf_hook_sees_the_whole_gradient_of_the_pass_once_before_it_is_added_into_grad():
    w = leaf([1.0, 2.0])
    seen = []
    w.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 2)
    (w * 2 + w * 3).sum().backward()                # two contributions, 2 and 3: one call with 5
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], [5.0, 5.0])
    np.testing.assert_array_equal(w.grad, [10.0, 10.0])
    (w * 4).sum().backward()                        # p.grad = before + hook(this pass's), not hook(sum)
    np.testing.assert_array_equal(seen[1], [4.0, 4.0])
    np.testing.assert_array_equal(w.grad, [18.0, 18.0])


def test_a_leaf_hook_on_a_weight_used_at_every_step_sees_the_summed_weight_gradient():
    """linear's weight rule defers its per-step products (gradients.StackedProducts): the hook sees their
    sum, once. Reference: sum_t g_t^T x_t with g_t = 1 for the loss sum_t sum(x_t W^T)."""
    rng = np.random.default_rng(0)
    layer = mg.nn.Linear(3, 2, bias=False, dtype=np.float64, rng=rng)
    xs = rng.standard_normal((5, 4, 3))
    seen = []
    layer.weight.register_hook(lambda g: seen.append(g.numpy().copy()))
    loss = 0
    for x in xs:
        loss = loss + layer(mg.tensor(x)).sum()
    loss.backward()
    expected = np.ones((2, 1)) * xs.sum(axis=(0, 1))[None, :]
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], expected, rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, expected, rtol=1e-12)


def test_a_post_accumulate_grad_hook_sees_the_accumulated_grad_and_can_step_the_parameter():
    """PyTorch's optimizer-in-backward pattern: each parameter steps as soon as its gradient is in."""
    w = leaf([1.0, 2.0])
    seen = []

    def sgd_step(p):
        seen.append(p.grad.copy())
        with mg.no_grad():
            p -= 0.1 * p.grad
        p.grad = None
    w.register_post_accumulate_grad_hook(sgd_step)
    (w * w).sum().backward()                        # grad 2w = [2, 4]
    np.testing.assert_array_equal(seen[0], [2.0, 4.0])
    np.testing.assert_allclose(w.data, [0.8, 1.6], rtol=1e-15)
    assert w.grad is None


def test_a_pass_that_does_not_reach_a_hooked_leaf_leaves_it_alone():
    w, v = leaf([1.0]), leaf([2.0])
    w.grad = np.array([7.0])
    calls = []
    w.register_hook(lambda g: calls.append(1))
    w.register_post_accumulate_grad_hook(lambda p: calls.append(2))
    (v * 3).sum().backward()
    assert calls == []
    np.testing.assert_array_equal(w.grad, [7.0])
    np.testing.assert_array_equal(v.grad, [3.0])


def test_another_threads_pass_leaves_a_hooked_leaf_of_this_thread_alone():
    """Thread B's pass, which does not reach w, runs while thread A's pass is between two contributions
    to w (forced by events inside a hook of A's): w gets exactly A's gradient."""
    w, v = leaf([1.0]), leaf([1.0])
    w.register_hook(lambda g: g)
    a_inside, b_done = threading.Event(), threading.Event()
    h = w * 2
    h.register_hook(lambda g: (a_inside.set(), b_done.wait(5), g)[2])

    def thread_b():
        a_inside.wait(5)
        (v * 5).sum().backward()
        b_done.set()
    worker = threading.Thread(target=thread_b)
    worker.start()
    (h + w * 3).sum().backward()                    # w: 3 (direct) + 2 (through h, after h's hook)
    worker.join()
    np.testing.assert_array_equal(w.grad, [5.0])
    np.testing.assert_array_equal(v.grad, [5.0])


# ---- bad input: clear errors, nothing lost -------------------------------------------------------

def test_a_hook_that_changes_the_shape_or_dtype_is_an_error_naming_register_hook_and_grad_is_kept():
    w = leaf([1.0, 2.0])
    w.grad = np.array([1.0, 1.0])
    w.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match=r"register_hook: hook '<lambda>' changed the size .* \(2,\), got \(\)"):
        (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])
    u = mg.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    h = u * 2
    h.register_hook(lambda g: g.double())
    with pytest.raises(RuntimeError, match="changed the dtype of the gradient: expected float32, got float64"):
        h.sum().backward()
    z = leaf([1.0])
    z.register_hook(lambda g: "1.0")
    with pytest.raises(TypeError, match="register_hook: a hook must return None or a tensor, got str"):
        (z * 1).sum().backward()


def test_registering_on_a_tensor_without_history_or_something_not_callable_is_an_error():
    with pytest.raises(RuntimeError, match="register_hook: cannot register a hook on a tensor that does not "
                                           "require grad"):
        mg.tensor([1.0]).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="register_hook: expected a function of the gradient, got int"):
        leaf([1.0]).register_hook(3)
    with pytest.raises(RuntimeError, match="register_post_accumulate_grad_hook: only leaf tensors"):
        (leaf([1.0]) * 2).register_post_accumulate_grad_hook(lambda p: None)


# ---- through time: the vanishing-gradient measurement and a clipped state, against numpy BPTT ------

def numpy_rnn(x, h0, W_ih, W_hh, b, clip=None):
    """h_t = tanh(x_t W_ih^T + h_{t-1} W_hh^T + b), L = sum(h_T); dL/dh_t for every t, by hand (with
    the state's gradient clamped to [-clip, clip] where it arrives, when clip is given), and dL/dW_hh."""
    hs = [h0]
    for x_t in x:
        hs.append(np.tanh(x_t @ W_ih.T + hs[-1] @ W_hh.T + b))
    grads = [None] * len(x)
    dW_hh = np.zeros_like(W_hh)
    dh = np.ones_like(h0)
    for t in range(len(x) - 1, -1, -1):
        if clip is not None:
            dh = np.clip(dh, -clip, clip)
        grads[t] = dh
        da = dh * (1 - hs[t + 1] ** 2)
        dW_hh += da.T @ hs[t]
        dh = da @ W_hh
    return grads, dW_hh


@pytest.mark.parametrize("fused", [False, True], ids=["op-level", "fused"])
@pytest.mark.parametrize("clip", [None, 0.05])
def test_hooks_on_an_rnn_cells_states_see_dL_dh_t_and_can_clip_it_as_numpy_bptt_does(fused, clip):
    rng = np.random.default_rng(1)
    cell = mg.nn.RNNCell(3, 4, dtype=np.float64, rng=rng, fused=fused)
    x = rng.standard_normal((8, 2, 3))
    h0 = np.zeros((2, 4))
    seen = {}
    h = mg.tensor(h0)
    for t, x_t in enumerate(x):
        h = cell(mg.tensor(x_t), h)
        h.register_hook(lambda g, t=t: seen.setdefault(t, g.numpy().copy()))
        if clip is not None:
            h.register_hook(lambda g: g.clamp(-clip, clip))
    h.sum().backward()
    expected, dW_hh = numpy_rnn(x, h0, cell.weight_ih.data, cell.weight_hh.data,
                                cell.bias_ih.data + cell.bias_hh.data, clip)
    for t in range(len(x)):             # (seen: what arrived, before the clamp)
        got = seen[t] if clip is None else np.clip(seen[t], -clip, clip)
        np.testing.assert_allclose(got, expected[t], rtol=1e-12, atol=1e-15, err_msg=f"dL/dh_{t}")
    if clip is not None:                # the clamp changed what flowed back
        assert max(np.abs(g).max() for g in seen.values()) > 2 * clip
    np.testing.assert_allclose(cell.weight_hh.grad, dW_hh, rtol=1e-12, atol=1e-15)


def test_a_pass_run_inside_a_hook_does_not_make_the_outer_pass_run_the_hook_again():
    """The pass number that keys "once per pass" is per thread; a backward pass run inside another (here
    in a Function's backward) must put the outer pass's number back. h = F(a, b) with a hook on h, F's backward running autograd.grad of
    z * z: the outer pass runs h's hook once and F's backward once (both of h's inputs read one result),
    a.grad = 3, b.grad = 4, and the inner pass's gradient is 2 z = 4."""
    calls = {"hook": 0, "backward": 0}
    inner = []

    class F(mg.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            calls["backward"] += 1
            z = mg.tensor([2.0], requires_grad=True, dtype=np.float64)
            with mg.enable_grad():
                inner.append(mg.autograd.grad((z * z).sum(), z)[0].data.copy())
            return g * 3.0, g * 4.0

    def hook(g):
        calls["hook"] += 1

    a = mg.tensor([1.0], requires_grad=True, dtype=np.float64)
    b = mg.tensor([1.0], requires_grad=True, dtype=np.float64)
    h = F.apply(a, b)
    h.register_hook(hook)
    (h * 1.0).sum().backward()
    assert calls == {"hook": 1, "backward": 1}
    np.testing.assert_array_equal(a.grad, [3.0])
    np.testing.assert_array_equal(b.grad, [4.0])
    np.testing.assert_array_equal(inner, [[4.0]])
