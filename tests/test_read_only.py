"""Every array a tensor holds is read-only: a write into a recorded value fails at the write,
and gradients always use the values the forward pass computed.

Each route by which a recorded array could change is tried: the tensor's own `.data`,
`.numpy()`, views (slices, reshapes, transposes), `detach()`, the numpy array a tensor was
made from, numpy operands, cut states, optimizers, in-place operators."""

import numpy as np
import pytest

import microgradseq as mg


def f64(values, requires_grad=False):
    return mg.tensor(values, requires_grad=requires_grad, dtype=np.float64)


def write_fails(array, where=0, value=9.0):
    with pytest.raises(ValueError, match="read-only"):
        array[where] = value


def test_a_leaf_array_is_read_only():
    w = f64([1.0, 2.0], requires_grad=True)
    write_fails(w.data)
    write_fails(w.numpy())


def test_an_op_output_is_read_only_and_its_gradient_is_the_recorded_one():
    """y = x * x keeps x; a write into y's or x's array fails, and dL/dx is 2x of the recorded x."""
    x = f64([1.0, 3.0], requires_grad=True)
    y = x * x
    write_fails(y.data)
    write_fails(x.data)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 6.0])


@pytest.mark.parametrize("view", [lambda t: t[0:1], lambda t: t.reshape(2, 1), lambda t: t.T,
                                  lambda t: t.transpose(0), lambda t: t[None]])
def test_views_of_a_recorded_array_are_read_only(view):
    x = f64([1.0, 2.0], requires_grad=True)
    v = view(x)
    with pytest.raises(ValueError, match="read-only"):
        v.data[...] = 0.0


def test_a_view_under_no_grad_is_read_only_too():
    x = f64([1.0, 2.0], requires_grad=True)
    with mg.no_grad():
        v = x[0:2]
    write_fails(v.data)


def test_a_tensor_made_from_an_ndarray_owns_a_copy():
    """mg.tensor(array) copies (as torch.tensor does): writing the caller's array later changes
    neither the tensor nor a gradient that recorded it."""
    array = np.array([1.0, 2.0])
    x = mg.tensor(array)
    w = f64([3.0, 4.0], requires_grad=True)
    loss = (x * w).sum()
    array[0] = 100.0
    assert not np.shares_memory(x.data, array)
    loss.backward()
    np.testing.assert_array_equal(x.data, [1.0, 2.0])
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])


def test_a_numpy_operand_is_copied_so_later_writes_do_not_reach_the_gradient():
    data = np.array([1.0, 2.0])
    w = f64([3.0, 4.0], requires_grad=True)
    loss = (w * data).sum()
    data[:] = 50.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])


def test_an_index_array_written_after_the_op_leaves_the_gradient_as_recorded():
    index = np.array([0, 0])
    x = f64([1.0, 2.0], requires_grad=True)
    loss = x[index].sum()
    index[:] = 1
    loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0])


def test_a_where_condition_written_after_the_op_leaves_the_gradient_as_recorded():
    condition = np.array([True, False])
    a, b = f64([1.0, 2.0], requires_grad=True), f64([3.0, 4.0], requires_grad=True)
    loss = mg.where(condition, a, b).sum()
    condition[:] = True
    loss.backward()
    np.testing.assert_array_equal(a.grad, [1.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.0, 1.0])


def test_detach_shares_the_read_only_array():
    x = f64([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert np.shares_memory(d.data, x.data) and not d.requires_grad
    write_fails(d.data)


def test_a_truncated_state_is_read_only():
    w = f64([0.5, 0.5], requires_grad=True)
    h = (w * 2.0).tanh()
    cut = mg.bptt.truncate(h)
    write_fails(cut.data)
    write_fails(h.data)


def test_assigning_data_gives_a_new_array_and_graphs_keep_the_old_one():
    """t.data = new replaces the array; a graph that recorded the old one differentiates with it."""
    w = f64([1.0, 2.0], requires_grad=True)
    x = f64([3.0, 5.0], requires_grad=True)
    loss = (w * x).sum()
    x.data = np.array([100.0, 100.0])
    loss.backward()
    np.testing.assert_array_equal(w.grad, [3.0, 5.0])
    np.testing.assert_array_equal(x.data, [100.0, 100.0])
    write_fails(x.data)


def test_assigning_data_copies_the_given_array():
    x = f64([1.0, 2.0])
    new = np.array([7.0, 8.0])
    x.data = new
    new[0] = 0.0
    np.testing.assert_array_equal(x.data, [7.0, 8.0])


@pytest.mark.parametrize("value, message", [
    (np.zeros(3), r"expected an array of shape \(2,\) and dtype float64, got shape \(3,\)"),
    (np.zeros(2, dtype=np.float32), "got shape \\(2,\\) and dtype float32"),
    (None, "got None"),
    ([1.0, None], "got data that are not numbers of a kind that casts to it"),     # (numpy: NaN)
    ([1.0, "2"], "got data that are not numbers of a kind that casts to it"),
    ([1.0, 2.0, 3.0], r"got shape \(3,\) and dtype float64"),
])
def test_assigning_data_of_another_shape_or_dtype_is_refused(value, message):
    x = f64([1.0, 2.0], requires_grad=True)
    before = x.data
    with pytest.raises(ValueError, match=message):
        x.data = value
    assert np.shares_memory(x.data, before)


def test_in_place_update_under_no_grad_gives_the_parameter_a_new_array():
    """p -= lr * p.grad under no_grad: a new array of the same dtype; a graph recorded before
    the update still differentiates with the old values."""
    p = mg.tensor([1.0, 2.0], requires_grad=True)           # float32
    loss = (p * p).sum()
    old = p.data
    with mg.no_grad():
        p -= 0.5 * np.array([1.0, 1.0])                     # a float64 operand, cast back
    assert not np.shares_memory(p.data, old) and p.dtype == np.float32 and p.requires_grad
    np.testing.assert_array_equal(p.data, [0.5, 1.5])
    loss.backward()
    np.testing.assert_array_equal(p.grad, [2.0, 4.0])
    with mg.no_grad():
        p += 1.0
        p *= 2.0
        p /= 4.0
    np.testing.assert_array_equal(p.data, [0.75, 1.25])


def test_in_place_update_of_a_leaf_that_requires_grad_while_recording_is_refused():
    p = f64([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor .*no_grad"):
        p -= 1.0
    np.testing.assert_array_equal(p.data, [1.0, 2.0])
    assert p.op == "leaf"


def test_in_place_operator_on_a_constant_changes_the_tensor_itself_as_in_pytorch():
    x = f64([1.0, 2.0])
    y = x
    y += 1.0
    assert y is x
    np.testing.assert_array_equal(x.data, [2.0, 3.0])


def test_a_loss_summed_with_plus_equals_backpropagates_every_term():
    """loss = 0; loss += l_t (PyTorch's tutorials): d/dw of sum_t (w x_t)^2 = sum_t 2 w x_t^2."""
    w = f64([0.5], requires_grad=True)
    xs = [1.0, -2.0, 3.0]
    loss = 0
    for x in xs:
        loss += ((w * x) ** 2).sum()
    loss.backward()
    np.testing.assert_allclose(loss.item(), sum((0.5 * x) ** 2 for x in xs))
    np.testing.assert_allclose(w.grad, [sum(2 * 0.5 * x * x for x in xs)])


def test_in_place_operator_on_a_result_takes_its_history_and_keeps_what_graphs_recorded():
    """h = x^2; z = 3h recorded; then h += x: h's gradient path is now x^2 + x, z's still 3 x^2."""
    x = f64([2.0, -1.0], requires_grad=True)
    h = x * x
    z = (h * 3.0).sum()
    h += x
    np.testing.assert_array_equal(h.data, [6.0, 0.0])
    h.sum().backward(retain_graph=True)        # (x * x is in both graphs)
    np.testing.assert_allclose(x.grad, 2 * x.data + 1)
    x.grad = None
    z.backward()
    np.testing.assert_allclose(x.grad, 6 * x.data)


def test_in_place_operator_casts_to_the_tensors_dtype_and_refuses_a_float_into_integers():
    p = mg.tensor([1.0, 2.0], requires_grad=True)           # float32
    h = p * 1.0
    h += np.array([0.5, 0.5])                               # float64 operand: the result is cast back
    assert h.dtype == np.float32 and h.requires_grad
    counts = mg.tensor([1, 2])
    with pytest.raises(TypeError, match=r"\+=: the result's dtype float32 cannot be cast to the tensor's dtype int64"):
        counts += 0.5
    with mg.no_grad(), pytest.raises(TypeError, match="cannot be cast"):
        counts += 0.5
    np.testing.assert_array_equal(counts.data, [1, 2])


def test_in_place_update_that_would_change_the_shape_is_refused():
    p = f64([1.0, 2.0], requires_grad=True)
    with mg.no_grad(), pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        p += np.ones((2, 2))
    np.testing.assert_array_equal(p.data, [1.0, 2.0])


def test_a_loop_variable_update_changes_the_parameters():
    """for p in params: p -= lr * p.grad, under no_grad, updates each parameter (PyTorch's idiom)."""
    model = mg.nn.Linear(2, 1, dtype=np.float64)
    model(np.ones((1, 2))).sum().backward()
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    with mg.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.data, before[name] - 0.1 * p.grad)


def test_an_optimizer_step_between_forward_and_backward_keeps_the_recorded_weights():
    """TBPTT rule 5: a graph recorded before an update differentiates with the weights it used."""
    w = f64([2.0], requires_grad=True)
    x = f64([3.0], requires_grad=True)
    loss = (w * x).sum()
    optimizer = mg.optim.SGD([w], lr=1.0)
    w.grad = np.array([10.0])
    optimizer.step()
    np.testing.assert_array_equal(w.data, [-8.0])
    loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0])            # the recorded w, not the updated one


def test_load_state_dict_gives_new_read_only_arrays():
    model = mg.nn.Linear(2, 2, dtype=np.float64)
    state = {name: np.ones(p.shape) for name, p in model.named_parameters()}
    model.load_state_dict(state)
    state["weight"][0, 0] = 5.0
    assert model.weight.data[0, 0] == 1.0
    write_fails(model.weight.data, (0, 0))


def test_layer_outputs_and_states_are_read_only():
    layer = mg.nn.LSTM(3, 4, dtype=np.float64)
    output, (h, c) = layer(np.ones((5, 2, 3)))
    for array in (output.data, h.data, c.data):
        with pytest.raises(ValueError, match="read-only"):
            array[0, 0, 0] = 1.0


def test_fused_layer_outputs_are_read_only():
    layer = mg.nn.GRU(3, 4, dtype=np.float64, fused=True)
    output, h = layer(np.ones((5, 2, 3)))
    with pytest.raises(ValueError, match="read-only"):
        output.data[0, 0, 0] = 1.0


def test_a_0d_result_is_a_read_only_ndarray():
    x = f64([1.0, 2.0], requires_grad=True)
    total = x.sum()
    assert type(total.data) is np.ndarray and total.data.shape == ()
    with pytest.raises(ValueError, match="read-only"):
        total.data[...] = 0.0


def test_a_deep_copy_or_an_unpickled_tensor_is_read_only_too():
    """numpy's deep copies and unpickled arrays are writeable; a tensor's stay read-only (fused cells
    rely on it: they reuse weights laid out for arrays that cannot change)."""
    import copy
    import pickle

    cell = mg.nn.LSTMCell(3, 4, dtype=np.float64, fused=True)
    cell(np.ones((1, 3)))
    for twin in (copy.deepcopy(cell), pickle.loads(pickle.dumps(cell))):
        for name, p in twin.named_parameters():
            write_fails(p.data)
            assert type(p) is mg.nn.Parameter and p.requires_grad, name
        plain = mg.nn.LSTMCell(3, 4, dtype=np.float64)
        plain.load_state_dict(twin.state_dict())
        np.testing.assert_allclose(twin(np.ones((1, 3)))[0].data, plain(np.ones((1, 3)))[0].data, rtol=1e-12)
    leaf = f64([1.0, 2.0], requires_grad=True)
    for twin in (copy.deepcopy(leaf), pickle.loads(pickle.dumps(leaf))):
        write_fails(twin.data)
        np.testing.assert_array_equal(twin.data, [1.0, 2.0])


def test_python_numbers_assigned_to_data_take_the_tensors_dtype_when_of_a_kind_that_casts():
    """Python floats into float32 (and ints into floats) take the tensor's dtype; floats into an
    integer tensor are refused (numpy would truncate 1.9 to 1)."""
    x = mg.tensor([1.0, 2.0])
    x.data = [3, 4.5]
    assert x.data.dtype == np.float32 and x.data.tolist() == [3.0, 4.5]
    counts = mg.tensor([1, 2])
    with pytest.raises(ValueError, match="dtype int64, got data that are not numbers of a kind that casts"):
        counts.data = [1.9, -0.9]
    assert counts.data.tolist() == [1, 2]


@pytest.mark.parametrize("value", [[1.0, None], np.array([1 + 2j, 1.0]), "ab"],
                         ids=["None (numpy: NaN)", "complex (numpy: drops the imaginary part)", "text"])
def test_assigning_a_grad_that_numpy_would_turn_into_other_numbers_is_refused(value):
    w = f64([1.0, 2.0], requires_grad=True)
    w.grad = np.array([5.0, 6.0])
    with pytest.raises(TypeError, match="Tensor.grad: expected numbers that cast to float64"):
        w.grad = value
    np.testing.assert_array_equal(w.grad, [5.0, 6.0])


def test_a_copied_or_unpickled_leaf_is_a_leaf_that_trains():
    """The copy gets a leaf node of its own (the unpickled 'leaf' was a string equal to, not identical
    with, the engine's, and gradients never reached it), with the original's .grad."""
    import copy
    import pickle

    w = f64([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    for twin in (copy.deepcopy(w), pickle.loads(pickle.dumps(w))):
        assert twin.is_leaf and twin.requires_grad and twin._node is not w._node
        np.testing.assert_array_equal(twin.grad, [2.0, 4.0])            # d(w.w)/dw = 2w, copied
        (3 * twin).sum().backward()
        np.testing.assert_array_equal(twin.grad, [5.0, 7.0])            # + 3, accumulated
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])
    model = pickle.loads(pickle.dumps(mg.nn.Linear(2, 1, dtype=np.float64)))
    model(f64([[1.0, 1.0]])).sum().backward()
    mg.optim.SGD(model.parameters(), lr=0.1).step()                 # (refused "the result of an op" before)
    np.testing.assert_array_equal(model.bias.grad, [1.0])


def test_a_tensor_with_history_is_not_deep_copied_or_pickled_but_copy_copy_shares_it():
    """As PyTorch's deepcopy: only leaves (a 40-step history made deepcopy recurse past Python's limit)."""
    import copy
    import pickle

    w = f64([0.5], requires_grad=True)
    h = f64([0.0])
    for _ in range(1000):
        h = (w * h + 1.0).tanh()
    for copier in (copy.deepcopy, pickle.dumps):
        with pytest.raises(RuntimeError, match="copy.deepcopy/pickle: this tensor is the result of 'tanh'.*t.detach"):
            copier(h)
    np.testing.assert_array_equal(copy.deepcopy(h.detach()).data, h.data)
    alias = copy.copy(h)
    alias.backward(np.ones(1))
    assert w.grad is not None and np.isfinite(w.grad).all()


# ---- item assignment: t[index] = value gives t a new array, as the in-place operators do -----------

def test_item_assignment_gives_the_tensor_a_new_array_and_graphs_keep_the_old_one():
    w = f64([2.0, 3.0], requires_grad=True)
    word = f64([5.0, 7.0])
    y = (w * word).sum()
    old = word.data
    word[0] = 11.0
    np.testing.assert_array_equal(word.data, [11.0, 7.0])
    np.testing.assert_array_equal(old, [5.0, 7.0])          # the recorded array is untouched
    write_fails(word.data)                                 # and the new one is read-only too
    y.backward()
    np.testing.assert_array_equal(w.grad, [5.0, 7.0])


def test_item_assignment_while_recording_records_index_put():
    """y = 2x; y[1:] = v^2: dL/dx is 2 g outside the written positions and 0 there; dL/dv = 2 v g there.
    (Hand-derived; the op's rules are checked by finite differences in test_op_gradients.)"""
    x = f64([1.0, 2.0, 3.0], requires_grad=True)
    v = f64([4.0, 5.0], requires_grad=True)
    y = 2 * x
    y[1:] = v * v
    np.testing.assert_array_equal(y.data, [2.0, 16.0, 25.0])
    (y * f64([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 0.0])
    np.testing.assert_array_equal(v.grad, [2 * 4.0 * 10.0, 2 * 5.0 * 100.0])


def test_a_buffer_filled_row_by_row_backpropagates_into_every_row():
    """A seq2seq decoder's `outputs[t] = output` in a loop: the buffer's gradient reaches each step's output."""
    w = f64([0.5, -1.0], requires_grad=True)
    outputs = mg.zeros(3, 2, dtype=np.float64)
    for t in range(3):
        outputs[t] = w * (t + 1)
    outputs.sum().backward()
    np.testing.assert_array_equal(w.grad, [6.0, 6.0])      # 1 + 2 + 3 for each entry


def test_item_assignment_into_a_leaf_that_requires_grad_is_refused_while_recording_and_allowed_under_no_grad():
    w = f64([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"t\[index\] = value: a leaf tensor that requires grad cannot be changed"):
        w[0] = 5.0
    with pytest.raises(RuntimeError, match=r"a leaf tensor that requires grad \(here a part of one\)"):
        w[0:1][0] = 5.0
    np.testing.assert_array_equal(w.data, [1.0, 2.0])       # nothing changed
    with mg.no_grad():
        w[0, ] = 5.0
        w[1] += 1.0                                          # the finite-difference nudge
    np.testing.assert_array_equal(w.data, [5.0, 3.0])
    assert w.requires_grad and w.is_leaf                     # still the parameter it was


def test_writing_into_a_part_of_a_tensor_writes_into_the_tensor_as_into_a_pytorch_view():
    """t[i] with a basic index is a part of t: `t[i][j] = v`, `t[i][j] += 1` and `row.fill_(0)` write into t;
    an integer-array index makes a copy (as in PyTorch), whose writes stay in it."""
    one_hot = mg.zeros(4, 1, 5)
    one_hot[2][0][3] = 1                                   # PyTorch's name-classification tutorial
    assert one_hot.numpy().nonzero() == (np.array([2]), np.array([0]), np.array([3]))
    counts = mg.zeros(2, 2)
    counts[1][0] += 1
    counts[1][0] += 1
    np.testing.assert_array_equal(counts.data, [[0.0, 0.0], [2.0, 0.0]])
    table = mg.ones(2, 3)
    row = table[1]
    row.fill_(0.0)
    np.testing.assert_array_equal(table.data, [[1, 1, 1], [0, 0, 0]])
    picked = table[[0]]
    picked[0, 0] = 9.0
    np.testing.assert_array_equal(table.data, [[1, 1, 1], [0, 0, 0]])


def test_a_write_through_a_part_is_differentiated_through_the_whole():
    """y = 3x (2, 2); y[0][1] = v: dL/dx is 3 g except at (0, 1), dL/dv is g there."""
    x = f64(np.ones((2, 2)), requires_grad=True)
    v = f64(2.0, requires_grad=True)
    y = 3 * x
    y[0][1] = v
    np.testing.assert_array_equal(y.data, [[3.0, 2.0], [3.0, 3.0]])
    g = np.array([[1.0, 2.0], [3.0, 4.0]])
    (y * f64(g)).sum().backward()
    np.testing.assert_array_equal(x.grad, [[3.0, 0.0], [9.0, 12.0]])
    assert v.grad == 2.0


def test_item_assignment_in_forward_mode_pushes_the_tangents():
    """d/dx of f(x) = (y with y[0] = x_1^2), y = 2x: J v = (2 x_1 v_1, 2 v_1, 2 v_2)."""
    def f(x):
        y = 2 * x
        y[0] = x[1] * x[1]
        return y
    x, v = np.array([1.0, 3.0, 5.0]), np.array([0.5, -1.0, 2.0])
    out, tangent = mg.jvp(f, (f64(x),), (f64(v),))
    np.testing.assert_allclose(out.data, [9.0, 6.0, 10.0])
    np.testing.assert_allclose(tangent.data, [2 * 3.0 * -1.0, 2 * -1.0, 2 * 2.0])


def test_item_assignment_errors_name_the_op_and_change_nothing():
    t = f64([1.0, 2.0, 3.0])
    with pytest.raises(IndexError, match=r"index_put: .*\(tensor of shape \(3,\), value of shape \(\)\)"):
        t[5] = 1.0
    with pytest.raises(ValueError, match=r"index_put: the index names a position twice, for values that may differ"):
        t[[0, 0]] = f64([1.0, 2.0])
    np.testing.assert_array_equal(t.data, [1.0, 2.0, 3.0])


def test_parts_of_parts_write_through_up_to_16_levels_and_deeper_ones_are_copies():
    """A part of a part ... writes into the top tensor through at most 16 levels (dL/dw: 2 + 5, 0 where
    it was overwritten, 2); `h = h[:]` a hundred thousand times holds no chain, so the 100,001st is a
    tensor of its own (docs/pytorch.md)."""
    w = f64([0.0, 0.0, 0.0], requires_grad=True)
    y = w * 2
    part = y
    for _ in range(16):
        part = part[:]
    part[1] = w[0] * 5
    y.sum().backward()
    np.testing.assert_array_equal(w.grad, [7.0, 0.0, 2.0])
    top = f64([0.0, 0.0])
    deep = top
    for _ in range(100_000):
        deep = deep[:]
    deep[0] = 1.0
    np.testing.assert_array_equal(top.data, [0.0, 0.0])
    np.testing.assert_array_equal(deep.data, [1.0, 0.0])


def test_an_in_place_update_under_no_grad_keeps_no_larger_array_alive():
    """t.copy_(big[0]) under no_grad: t's new array is its own, not a view that would keep big's alive."""
    import gc
    import weakref
    t = f64([0.0, 0.0, 0.0])
    big = f64(np.arange(3000.0).reshape(1000, 3))
    with mg.no_grad():
        t.copy_(big[1])
    held = weakref.ref(big._data)
    del big
    gc.collect()
    assert held() is None
    np.testing.assert_array_equal(t.data, [3.0, 4.0, 5.0])
