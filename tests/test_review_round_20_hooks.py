"""Review of the hooks (tensor_hooks.py, nn/module_hooks.py) against PyTorch's behaviour. Expected values
are closed forms, numpy written out by hand, or central differences."""

import numpy as np
import pytest

import microgradseq as mg


def leaf(values):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ---- tensor hooks -------------------------------------------------------------------------------

def test_a_hook_that_changes_its_gradient_in_place_passes_the_change_on_as_pytorch_does():
    w = leaf([1.0, 2.0])
    h = w * 2
    h.register_hook(lambda g: g.mul_(2))             # returns g itself, changed
    h.register_hook(lambda g: (g.add_(1), None)[1])  # returns None, changed
    (h * h).sum().backward()
    # dL/dh = 2h = [4, 8]; (2 [4, 8] + 1) = [9, 17]; dL/dw = 2 dL/dh
    np.testing.assert_array_equal(h.grad, [9.0, 17.0])
    np.testing.assert_array_equal(w.grad, [18.0, 34.0])


def test_a_leaf_hook_that_changes_its_gradient_in_place_changes_what_is_added_into_grad():
    w = leaf([1.0, 2.0])
    w.register_hook(lambda g: (g.mul_(3), None)[1])
    (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad, [6.0, 6.0])


def test_hooks_on_zero_dimensional_tensors_may_return_their_gradient():
    w = leaf(0.5)
    h = w * 2
    h.register_hook(lambda g: g)                     # a 0-d gradient: returned as it came
    h.register_hook(lambda g: g * 3)
    w.register_hook(lambda g: g)
    (h * h).backward()
    # L = h^2, dL/dh = 2h = 2, hooked 6; dL/dw = 2 * 6
    assert float(h.grad) == 6.0
    assert float(w.grad) == 12.0


def test_a_leaf_hook_that_clears_grad_leaves_only_this_passs_gradient():
    w = leaf([1.0, 2.0])
    w.grad = np.ones(2)

    def clear(g):
        w.grad = None                                # as `p.grad = None` before PyTorch accumulates
    w.register_hook(clear)
    (w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad, [3.0, 3.0])


def test_a_leaf_hook_sees_the_grad_of_earlier_passes_and_this_passs_gradient_alone():
    w = leaf([1.0, 2.0])
    w.grad = np.full(2, 100.0)
    seen = []
    w.register_hook(lambda g: seen.append((g.numpy().copy(), np.array(w.grad))))
    ((w * 2).sum() + (w * w).sum()).backward()
    np.testing.assert_array_equal(seen[0][0], [4.0, 6.0])       # 2 + 2w
    np.testing.assert_array_equal(seen[0][1], [100.0, 100.0])
    np.testing.assert_array_equal(w.grad, [104.0, 106.0])


def test_autograd_grad_runs_the_hooks_of_the_leaves_it_differentiates_with_respect_to_and_returns_their_result():
    w, v = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    seen = []
    w.register_hook(lambda g: (seen.append(g.numpy().copy()), g * 10)[1])
    gw, gv = mg.autograd.grad((w * v).sum(), [w, v])
    np.testing.assert_array_equal(seen[0], [3.0, 4.0])
    np.testing.assert_array_equal(gw.numpy(), [30.0, 40.0])
    np.testing.assert_array_equal(gv.numpy(), [1.0, 2.0])
    assert w.grad is None and v.grad is None


def test_autograd_grad_runs_no_hook_of_a_leaf_it_does_not_differentiate_with_respect_to():
    w, v = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    calls = []
    w.register_hook(lambda g: calls.append("hook"))
    w.register_post_accumulate_grad_hook(lambda p: calls.append("post"))
    (gv,) = mg.autograd.grad((w * v).sum(), v)
    np.testing.assert_array_equal(gv.numpy(), [1.0, 2.0])
    assert calls == []
    assert w.grad is None


def test_autograd_grad_runs_no_post_accumulate_hook_so_a_fused_sgd_step_waits_for_backward():
    w = leaf([1.0, 2.0])
    w.register_post_accumulate_grad_hook(lambda p: p.add_(mg.tensor(p.grad), alpha=-0.1))
    loss = (w * w).sum()
    (g,) = mg.autograd.grad(loss, w, retain_graph=True)
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(w.data, [1.0, 2.0])          # no step: nothing was accumulated
    loss.backward()
    np.testing.assert_allclose(w.data, [1.0 - 0.2, 2.0 - 0.4], rtol=1e-15)


def test_autograd_grad_of_a_hooked_non_leaf_returns_the_hooked_gradient_and_runs_no_leaf_hook():
    w = leaf([1.0, 2.0])
    h = w * 2
    calls = []
    h.register_hook(lambda g: g * 10)
    w.register_hook(lambda g: calls.append("w"))
    (gh,) = mg.autograd.grad((h * h).sum(), h)
    np.testing.assert_array_equal(gh.numpy(), [40.0, 80.0])    # 10 * 2h
    assert calls == [] and w.grad is None


def test_a_hook_that_raises_leaves_the_graph_retryable_when_kept_and_later_passes_correct():
    w = leaf([1.0, 2.0])
    h = w * 2

    def fail(g):
        raise ValueError("boom")
    handle = h.register_hook(fail)
    loss = (h * h).sum()
    with pytest.raises(ValueError, match="boom"):
        loss.backward(retain_graph=True)
    assert w.grad is None
    handle.remove()
    loss.backward()
    np.testing.assert_array_equal(w.grad, [8.0, 16.0])          # 2 * 2h = 8w


def test_a_hook_on_a_slice_changes_only_that_slices_share():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x * 3
    row = y[0]
    row.register_hook(lambda g: g * 10)
    ((row * row).sum() + y.sum()).backward()
    # dL/dy = 1 + [2 y0, 0] with the slice's part times 10; dL/dx = 3 dL/dy
    expected = 3 * (np.ones((2, 2)) + np.array([[10 * 2 * 3.0, 10 * 2 * 6.0], [0.0, 0.0]]))
    np.testing.assert_array_equal(x.grad, expected)


def test_a_hook_removed_during_a_pass_still_runs_in_that_pass_as_pytorchs_and_not_in_the_next():
    w = leaf([1.0, 2.0])
    h = w * 1
    handles = []

    def first(g):
        handles[1].remove()
        return g * 2
    handles.append(h.register_hook(first))
    handles.append(h.register_hook(lambda g: g * 3))
    loss = h.sum()
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(w.grad, [6.0, 6.0])
    w.grad = None
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0])


@pytest.mark.parametrize("fused", [False, True], ids=["op-level", "fused"])
def test_a_hook_scaling_an_lstm_cells_h_scales_every_gradient_by_central_differences(fused):
    cell = mg.nn.LSTMCell(3, 2, dtype=np.float64, rng=np.random.default_rng(0), fused=fused)
    x = np.random.default_rng(1).standard_normal((2, 3))
    h0 = np.random.default_rng(2).standard_normal((2, 2)) * 0.5
    c0 = np.random.default_rng(3).standard_normal((2, 2)) * 0.5
    W = cell.weight_ih.data.copy()

    def loss_of(weight):
        cell.weight_ih.data = mg.tensor(weight)
        h, c = cell(mg.tensor(x), (mg.tensor(h0), mg.tensor(c0)))
        return h, (h * h).sum()
    numeric = np.zeros_like(W)
    eps = 1e-6
    for index in np.ndindex(W.shape):
        up, down = W.copy(), W.copy()
        up[index] += eps
        down[index] -= eps
        with mg.no_grad():
            numeric[index] = (float(loss_of(up)[1]) - float(loss_of(down)[1])) / (2 * eps)
    h, loss = loss_of(W)
    h.register_hook(lambda g: g * 0.5)
    loss.backward()
    np.testing.assert_allclose(cell.weight_ih.grad, 0.5 * numeric, rtol=1e-6, atol=1e-9)


def test_hooks_on_tbptt_states_run_once_per_update_that_reaches_them_and_can_stop_the_gradient():
    w = leaf(0.5)
    xs = [mg.tensor(np.array(v)) for v in [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]]
    ys = [mg.tensor(np.array(v)) for v in [0.0, 0.1, 0.2, 0.0, 0.1, 0.3]]
    calls = []

    def step(x, h):
        h = (w * h + x).tanh()
        t = len(calls)
        calls.append(0)
        h.register_hook(lambda g: (calls.__setitem__(t, calls[t] + 1), g * 0)[1])
        return h, h
    grads = []
    mg.bptt.tbptt(step, mg.tensor(np.array(0.0)), xs, ys, lambda o, y: (o - y) ** 2, k1=2, k2=4,
                  on_update=lambda u, loss: grads.append(float(w.grad)))
    # updates after steps 2, 4, 6, each reaching back 4 steps: steps 1-2, 1-4, 3-6
    assert calls == [2, 2, 2, 2, 1, 1]
    assert grads == [0.0, 0.0, 0.0]             # every loss reaches w only through a hooked state


# ---- module forward hooks -------------------------------------------------------------------------

class Double(mg.nn.Module):
    def forward(self, x):
        return x * 2


def test_an_always_call_hook_runs_when_a_pre_hook_raises_with_the_arguments_as_changed_and_no_output():
    module, seen = Double(), []
    module.register_forward_pre_hook(lambda m, args: (args[0] + 1,))

    def fail(m, args):
        raise KeyError("pre")
    module.register_forward_pre_hook(fail)
    module.register_forward_hook(lambda m, args, out: seen.append((args[0].numpy().tolist(), out)),
                                 always_call=True)
    module.register_forward_hook(lambda m, args, out: seen.append("not always"))
    with pytest.raises(KeyError):
        module(mg.tensor([1.0, 2.0]))
    assert seen == [([2.0, 3.0], None)]


def test_an_always_call_hook_after_a_forward_hook_that_raises_runs_once_with_the_output():
    module, seen = Double(), []
    module.register_forward_hook(lambda m, args, out: seen.append(("first", out.numpy().tolist())),
                                 always_call=True)

    def fail(m, args, out):
        seen.append("fail")
        raise KeyError("hook")
    module.register_forward_hook(fail)
    module.register_forward_hook(lambda m, args, kwargs, out: seen.append(("last", out.numpy().tolist())),
                                 always_call=True, with_kwargs=True)
    module.register_forward_hook(lambda m, args, out: seen.append("not always"))
    with pytest.raises(KeyError, match="hook"):
        module(mg.tensor([1.0, 2.0]))
    assert seen == [("first", [2.0, 4.0]), "fail", ("last", [2.0, 4.0])]


def test_an_always_call_hook_that_raises_on_the_error_path_does_not_hide_the_first_error():
    module = Double()

    def fail_pre(m, args):
        raise KeyError("first")

    def fail_always(m, args, out):
        raise ValueError("second")
    module.register_forward_pre_hook(fail_pre)
    module.register_forward_hook(fail_always, always_call=True)
    with pytest.raises(KeyError, match="first"):
        module(mg.tensor([1.0]))
