"""The tape itself: nodes, order, freeing, cuts, metadata, and no reference cycles."""

import gc
import tracemalloc

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.autograd import topological_order
from microgradseq.bptt.truncate import sever_node as sever
from microgradseq.metadata import at_step, in_scope, time_steps


def test_nodes_come_after_their_inputs_in_topological_order():
    """Every node appears after all of its inputs, and the root comes last."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x + x).tanh().sum()
    order = topological_order(y._node)
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for parent in node.inputs:
            if parent is not None:
                assert position[id(parent)] < position[id(node)]
    assert order[-1] is y._node


def test_topological_order_is_the_same_every_time():
    """The same graph gives the same op sequence (parents are ordered tuples, not sets)."""
    def build():
        x = mg.tensor([1.0, 2.0], requires_grad=True)
        return ((x * 2 + x) * (x - 1)).exp().sum()
    first = [n.op for n in topological_order(build()._node)]
    second = [n.op for n in topological_order(build()._node)]
    assert first == second


def test_a_graph_has_no_reference_cycles():
    """Nodes never point back at their tensors, so freeing needs no cyclic GC."""
    gc.collect()
    gc.disable()
    try:
        x = mg.tensor(np.ones(3), requires_grad=True)
        h = x
        for _ in range(50):
            h = (h * x + 1).tanh()
        h.sum().backward(retain_graph=True)
        del h
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_nodes_carry_step_scope_and_label():
    """at_step and in_scope stamp the nodes made inside them; named() sets a label."""
    x = mg.tensor([1.0], requires_grad=True)
    with at_step(3), in_scope("rnn"), in_scope("cell"):
        h = (x * 2).tanh().named("h")
    assert (h.step, h._node.scope, h.label) == (3, "rnn.cell", "h")
    assert "t = 3" in h._node.describe() and "'h'" in h._node.describe()


def test_time_steps_stamps_each_iteration_and_restores_the_step_outside():
    """Nodes made in iteration t of `for t in time_steps(T)` carry step t, and inside `at_step(9)`
    step 8 + t (a sequence run inside step 9 starts there); after the loop (ended, left by break,
    or by an error) new nodes carry the step outside it again."""
    x = mg.tensor([1.0], requires_grad=True)
    assert [(t, (x * t).step) for t in time_steps(3)] == [(1, 1), (2, 2), (3, 3)]
    with at_step(9):
        made = [(t, x * t) for t in time_steps(3)]
        after_loop = x * 2
        for t in time_steps(5):
            if t == 2:
                break
        after_break = x * 2
        with pytest.raises(ZeroDivisionError):
            for t in time_steps(5):
                1 / 0
        after_error = x * 2
    outside = x * 2
    assert [(t, y.step) for t, y in made] == [(1, 9), (2, 10), (3, 11)]
    assert (after_loop.step, after_break.step, after_error.step, outside.step) == (9, 9, 9, None)


def test_a_severed_node_stops_the_gradient():
    """After sever(h1), h2 = h1 * w sends no gradient through h1 to x: dh2/dw = h1 only."""
    x = mg.tensor([3.0], requires_grad=True, dtype=np.float64)
    w = mg.tensor([2.0], requires_grad=True, dtype=np.float64)
    h1 = x * w
    h2 = h1 * w
    sever(h1._node)
    h2.backward(np.ones(1))
    assert x.grad is None
    np.testing.assert_allclose(w.grad, h1.data)  # only the direct use: d(h1 w)/dw with h1 constant


def test_replacing_data_keeps_the_recorded_values():
    """Assigning a new array to .data leaves the recorded one intact: the gradient uses forward-time values."""
    w = mg.tensor([2.0], requires_grad=True, dtype=np.float64)
    y = w * w
    w.data = np.array([100.0])
    y.backward(np.ones(1))
    np.testing.assert_allclose(w.grad, [4.0])  # 2 * (old w = 2)


def test_intermediate_grads_are_kept_on_tensors_the_user_holds():
    """A held intermediate gets dL/d itself; for y = 3h, h = x^2: dL/dh = 3."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    (h * 3).sum().backward()
    np.testing.assert_allclose(h.grad, [3.0, 3.0])
    np.testing.assert_allclose(x.grad, [6.0, 12.0])


def test_repr_shows_op_label_and_step():
    """repr names the op, label and time step, the labels drawings use."""
    x = mg.tensor([1.0], requires_grad=True)
    with at_step(2):
        h = x.tanh().named("h")
    text = repr(h)
    assert "op=tanh" in text and "label='h'" in text and "t=2" in text


def test_slices_of_one_array_add_their_gradients_into_one_buffer():
    """Gates cut from one projection: d/dx of sum(tanh(x[:, :2])) + 3 sum(x[:, 2:]) + x[0, 0], by hand."""
    x = mg.tensor(np.arange(8.0).reshape(2, 4) / 10, requires_grad=True, dtype=np.float64)
    loss = x[:, :2].tanh().sum() + (x[:, 2:] * 3.0).sum() + x[0, 0]
    loss.backward()
    expected = np.empty((2, 4))
    expected[:, :2] = 1 - np.tanh(x.data[:, :2]) ** 2
    expected[:, 2:] = 3.0
    expected[0, 0] += 1.0
    np.testing.assert_allclose(x.grad, expected)


def test_a_repeated_integer_index_adds_once_per_use():
    """x[[0, 0, 2]].sum(): d/dx = (2, 0, 1), every repeat counted."""
    x = mg.tensor(np.zeros(3), requires_grad=True)
    x[np.array([0, 0, 2])].sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 0.0, 1.0])


def test_scattering_into_a_leaf_never_writes_into_its_previous_grad():
    """A second pass makes a new grad array; one the user kept from the first pass is unchanged."""
    x = mg.tensor(np.zeros(3), requires_grad=True, dtype=np.float64)
    x[1:].sum().backward()
    first = x.grad
    x[1:].sum().backward()
    np.testing.assert_allclose(first, [0.0, 1.0, 1.0])
    np.testing.assert_allclose(x.grad, [0.0, 2.0, 2.0])


def test_indexing_does_not_keep_the_indexed_array_alive():
    """The getitem rule keeps the index, not x: an LSTM's gate projection is freed after the gates are made."""
    import weakref
    w = mg.tensor(np.ones((2, 6)), requires_grad=True)   # gates of more than 4 elements (no drawing copy)
    projection = w * 2.0
    watch = weakref.ref(projection._data)   # not .data: exposing it would fingerprint it
    gate = projection[:, :3].tanh()
    del projection
    gc.collect()
    assert watch() is None
    gate.sum().backward()
    np.testing.assert_allclose(w.grad[:, :3], 2 * (1 - np.tanh(2.0) ** 2))
    np.testing.assert_allclose(w.grad[:, 3:], 0.0)


@pytest.mark.parametrize("block_bytes, min_rows", [(1 << 18, 128), (1, 1), (1, 5), (1, 9)])
def test_weight_gradients_summed_in_blocks_of_steps_are_the_sums_of_the_steps_products(
        monkeypatch, block_bytes, min_rows):
    """x W1^T + b1 + h W2^T + b2 over many steps (batch 4, and 3 at the last step): each weight
    gradient is sum_t g_t^T input_t and each bias's sum_t 1^T g_t, by hand. The products are
    summed a block of rows at a time: one block, or blocks of one, two or three steps
    (the last of them uneven), give the same sums."""
    monkeypatch.setattr(mg.gradients, "_BLOCK_BYTES", block_bytes)
    monkeypatch.setattr(mg.gradients, "_MIN_BLOCK_ROWS", min_rows)
    rng = np.random.default_rng(0)
    w1 = mg.tensor(rng.standard_normal((3, 2)), requires_grad=True, dtype=np.float64)
    w2 = mg.tensor(rng.standard_normal((3, 3)), requires_grad=True, dtype=np.float64)
    b1 = mg.tensor(rng.standard_normal(3), requires_grad=True, dtype=np.float64)
    b2 = mg.tensor(rng.standard_normal(3), requires_grad=True, dtype=np.float64)
    xs = [rng.standard_normal((4 if t < 5 else 3, 2)) for t in range(6)]
    h = mg.tensor(np.zeros((4, 3)))
    hs = [h.data]
    for x in xs:
        h = (mg.ops.linear(x, w1, b1) + mg.ops.linear(h[:len(x)], w2, b2)).tanh()
        hs.append(h.data)
    h.sum().backward()
    g, d1, d2, db = np.ones((3, 3)), np.zeros((3, 2)), np.zeros((3, 3)), np.zeros(3)
    for t in range(len(xs) - 1, -1, -1):
        g_pre = g * (1 - hs[t + 1] ** 2)
        d1 += g_pre.T @ xs[t]
        d2 += g_pre.T @ hs[t][:len(g_pre)]
        db += g_pre.sum(axis=0)
        g = np.zeros((len(xs[t - 1]) if t else 4, 3))
        g[:len(g_pre)] = g_pre @ w2.data
    np.testing.assert_allclose(w1.grad, d1, rtol=1e-12)
    np.testing.assert_allclose(w2.grad, d2, rtol=1e-12)
    np.testing.assert_allclose(b1.grad, db, rtol=1e-12)
    np.testing.assert_allclose(b2.grad, db, rtol=1e-12)


def test_indices_given_as_tensors_pick_and_scatter_like_their_arrays():
    """x[0, t] with t a tensor of integers: the same entries, and d/dx counts every pick."""
    x = mg.tensor(np.arange(8.0).reshape(2, 4), requires_grad=True, dtype=np.float64)
    picks = mg.tensor(np.array([3, 1, 3]))
    y = x[0, picks]
    np.testing.assert_allclose(y.data, [3.0, 1.0, 3.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]])


def test_backward_frees_each_gradient_once_its_node_is_done():
    """h' = h * w + h over 60 steps: every h gets two gradients, so the pass adds them into an
    array of its own. Those arrays go with their nodes as the walk moves on: the pass never
    holds more than a few of them, not one per step."""
    size = 20_000                                   # 160 KB per float64 array
    w = mg.tensor(np.full(size, 0.5), requires_grad=True, dtype=np.float64)
    h = mg.tensor(np.ones(size), requires_grad=True, dtype=np.float64)
    out = h
    for _ in range(60):
        out = out * w + out
    loss = out.sum()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(h.grad, np.full(size, 1.5 ** 60))
    assert peak < 12 * 8 * size, peak                # the steps' arrays alone would be 60 * 8 * size


def test_a_boolean_scalar_index_scatters_its_gradient_back():
    """x[True] is a copy with a new axis (numpy's advanced indexing): d/dx of sum(2 x[True]) is 2."""
    x = mg.tensor(np.arange(3.0), requires_grad=True, dtype=np.float64)
    y = x[True]
    assert y.shape == (1, 3)
    (y * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 2.0, 2.0])


def test_a_tuple_of_positions_inside_an_index_counts_every_pick():
    """x[((0, 0, 2),)] is numpy's advanced indexing with a sequence: d/dx of its sum is (2, 0, 1, 0)."""
    x = mg.tensor(np.zeros(4), requires_grad=True, dtype=np.float64)
    x[((0, 0, 2),)].sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 0.0, 1.0, 0.0])


@pytest.mark.parametrize("op, slope", [(lambda x, c: x + c, 1.0), (lambda x, c: x - c, 1.0),
                                       (lambda x, c: -(x + c), -1.0), (lambda x, c: (x + c).clone(), 1.0)],
                         ids=["add", "sub", "neg", "clone"])
def test_an_array_read_only_by_ops_that_keep_nothing_may_change_before_backward(op, slope):
    """+, -, negation and clone keep nothing for their rules, so writing into c after the forward
    pass cannot spoil a gradient: no error, and dL/dx is the closed form's +1 (-1 under negation)."""
    c = np.ones(3)
    x = mg.tensor(np.zeros(3), requires_grad=True, dtype=np.float64)
    y = op(x, c).sum()
    c[0] = 5.0
    y.backward()
    np.testing.assert_allclose(x.grad, np.full(3, slope))


def test_block_sums_of_float32_and_float64_factors_keep_float64(monkeypatch):
    """Factors of two dtypes in one weight's products, one block each: the float64 block is not
    rounded to the float32 block before it (the sum equals the float64 sum of the products)."""
    from microgradseq.gradients import StackedProducts
    monkeypatch.setattr(mg.gradients, "_BLOCK_BYTES", 1)
    monkeypatch.setattr(mg.gradients, "_MIN_BLOCK_ROWS", 1)
    rng = np.random.default_rng(0)
    lefts = [rng.standard_normal((200, 2)).astype(np.float32), rng.standard_normal((200, 2))]
    rights = [rng.standard_normal((200, 3)).astype(np.float32), rng.standard_normal((200, 3))]
    products = StackedProducts(lefts[0], rights[0])
    products.extend(StackedProducts(lefts[1], rights[1]))
    total = products.materialise()
    assert total.dtype == np.float64
    expected = (lefts[0].T @ rights[0]).astype(np.float64) + lefts[1].T @ rights[1]
    np.testing.assert_allclose(total, expected, rtol=1e-12)
