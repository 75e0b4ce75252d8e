"""In-place safety (SPEC, TBPTT rule 5): gradients use the values the forward pass recorded, and
an in-place change of a recorded array raises RuntimeError at backward, before any gradient
changes. Writes that cannot reach a gradient are allowed."""

import gc
import importlib

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import autograd


def f64(values, requires_grad=True):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=requires_grad)


# ---- arrays the caller passed in ------------------------------------------------------------------

def test_in_place_multiply_of_recorded_data_raises_at_backward():
    """w.data *= 2 between forward and backward raises RuntimeError at backward."""
    w = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (w * w).sum()
    w.data *= 2
    with pytest.raises(RuntimeError):
        loss.backward()


def test_in_place_element_write_of_recorded_data_raises_at_backward():
    """w.data[0] = 5 between forward and backward raises RuntimeError at backward."""
    w = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (w * w).sum()
    w.data[0] = 5.0
    with pytest.raises(RuntimeError):
        loss.backward()


def test_writing_into_the_wrapped_numpy_array_raises_at_backward():
    """Changing the user's own array that a leaf wraps, after forward, raises RuntimeError at backward."""
    array = np.array([1.0, 2.0])
    w = mg.tensor(array, requires_grad=True)
    loss = (w * w).sum()
    array[0] = 5.0
    with pytest.raises(RuntimeError):
        loss.backward()


def test_writing_into_a_numpy_constant_operand_raises_at_backward():
    """A numpy constant the graph saved (w's gradient needs it) cannot be changed in place unnoticed."""
    w = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    scale = np.array([3.0, 4.0])
    loss = (w * scale).sum()
    scale[1] = 0.0
    with pytest.raises(RuntimeError):
        loss.backward()


def test_replacing_data_does_not_raise_and_uses_recorded_values():
    """w.data = w.data * 2 swaps in a new array: backward runs and uses the old w: grad = 2 * old w."""
    old = np.array([1.0, 2.0])
    w = mg.tensor(old.copy(), requires_grad=True)
    loss = (w * w).sum()
    w.data = w.data * 2
    loss.backward()
    np.testing.assert_allclose(w.grad, 2 * old)


# ---- leaves made from Python data, and module parameters ------------------------------------------

def test_writing_into_a_leaf_made_from_a_list_after_forward_raises_at_backward():
    """A leaf made from a Python list is recorded unwatched; writing into its .data afterwards is
    still caught, and the error names the leaf and the op that saved it."""
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    w.data *= 2
    with pytest.raises(RuntimeError, match=r"leaf tensor of shape \(2,\) was changed in place after 'mul'"):
        loss.backward()


@pytest.mark.parametrize("make, weight", [
    (lambda: mg.nn.Linear(3, 2), "weight"),
    (lambda: mg.nn.RNN(3, 2), "weight_hh_l0"),
    (lambda: mg.nn.LSTM(3, 2), "weight_hh_l0"),
])
def test_writing_into_a_parameter_between_forward_and_backward_raises(make, weight):
    """An optimizer written in place (p.data -= ...) between forward and backward is caught,
    naming the parameter."""
    module = make()
    x = mg.tensor(np.ones((5, 1, 3), dtype=np.float32))
    out = module(x)
    loss = (out[0] if isinstance(out, tuple) else out).sum()
    getattr(module, weight).data -= 0.1
    with pytest.raises(RuntimeError, match=f"'{weight}'.*changed in place"):
        loss.backward()


def test_a_failed_in_place_check_changes_no_gradient():
    """All checks run before any rule: a leaf grad from an earlier pass stays as it was, even
    though the changed array (tanh's output) would be reached only after a's rules ran."""
    a, w = f64([1.0, 2.0]), f64([0.5, -0.5])
    (a * a).sum().backward()
    h = w.tanh()
    loss = h.sum() + (a * a).sum()
    h.data[0] = 0.0
    with pytest.raises(RuntimeError):
        loss.backward()
    np.testing.assert_array_equal(a.grad, [2.0, 4.0])       # d(a . a)/da from the first pass only
    assert w.grad is None


def test_a_failed_in_place_check_keeps_the_intermediate_grads_of_the_last_pass():
    """y = 2x, z = sum(y * y): the first pass leaves dz/dy = 2y on y; a second pass that fails its
    check leaves it there."""
    x = f64([1.0, 2.0])
    y = x * 2.0
    z = (y * y).sum()
    z.backward(retain_graph=True)
    y.data[0] = 5.0
    with pytest.raises(RuntimeError):
        z.backward()
    np.testing.assert_array_equal(y.grad, [4.0, 8.0])


def test_writing_into_a_leaf_before_any_op_uses_it_is_allowed():
    """Setting a weight through .data, then using it: d(w . w)/dw = 2 w with the new values."""
    w = f64([1.0, 2.0])
    w.data[0] = 5.0
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [10.0, 4.0])


def test_reading_data_between_forward_and_backward_is_allowed():
    w = f64([1.0, 2.0])
    loss = (w * w).sum()
    assert w.data.sum() == 3.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


def test_a_graph_keeps_the_array_an_optimizer_replaced():
    """After an optimizer step replaces w's array, writing into the new one does not touch the
    older graph: its gradient is d(w . w)/dw = 2 w with the recorded w."""
    w = f64([1.0, 2.0])
    loss = (w * w).sum()
    w.grad = np.ones(2)
    mg.optim.SGD([w], lr=0.5).step()
    w.data[0] = 100.0
    w.grad = None
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])
    np.testing.assert_array_equal(w.data, [100.0, 1.5])


# ---- op outputs, constants, detached and cut states -----------------------------------------------

def test_writing_into_an_op_output_after_a_consumer_kept_it_raises():
    """y = 2w is kept by y * v (for dL/dv); changing y afterwards is caught."""
    w, v = f64([1.0, 2.0]), f64([3.0, 4.0])
    y = w * 2.0
    loss = (y * v).sum()
    y.data[1] = 0.0
    with pytest.raises(RuntimeError, match="output of 'mul'.*changed in place after 'mul'"):
        loss.backward()


def test_writing_into_an_op_output_before_it_is_used_is_allowed():
    """y = 2w, then y[0] = 5, then L = sum(y * v): dL/dv is the y that was used, dL/dw = 2 v."""
    w, v = f64([1.0, 2.0]), f64([3.0, 4.0])
    y = w * 2.0
    y.data[0] = 5.0
    (y * v).sum().backward()
    np.testing.assert_array_equal(v.grad, [5.0, 4.0])
    np.testing.assert_array_equal(w.grad, [6.0, 8.0])


def test_writing_into_an_output_its_own_op_keeps_raises():
    """tanh keeps tanh(x) for its rule: changing it after forward is caught."""
    x = f64([0.5, -0.5])
    y = x.tanh()
    y.data[0] = 0.0
    with pytest.raises(RuntimeError, match="output of 'tanh'.*changed in place after it was recorded"):
        y.sum().backward()


def test_writing_into_a_constant_after_use_keeps_the_recorded_values():
    """A constant made from a list hands out a copy of its own: the graph keeps what it recorded,
    d(w . c)/dw = c as used, and the constant shows the new value."""
    c, w = mg.tensor([1.0, 2.0], dtype=np.float64), f64([3.0, 4.0])
    loss = (w * c).sum()
    c.data[0] = 5.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])
    np.testing.assert_array_equal(c.data, [5.0, 2.0])


def test_a_detached_tensor_shares_the_array_and_its_watch():
    """h.detach() holds h's array (as in PyTorch): writing into it after tanh kept h is caught,
    and so is writing into h after an op kept the detached tensor."""
    x = f64([0.5, 1.0])
    h = x.tanh()
    detached = h.detach()
    assert np.shares_memory(detached.data, h.data)
    detached.data[...] = 0.0
    with pytest.raises(RuntimeError, match="output of 'tanh'"):
        h.sum().backward()
    w, v = f64([1.0, 2.0]), f64([1.0, 1.0])
    loss = (v * w.detach()).sum()
    w.data *= 10
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_writing_into_a_truncated_state_or_its_source_is_caught():
    """s = truncate(h) holds h's array; s * w keeps it (for dL/dw): writing into s or h is caught."""
    for written in ("state", "source"):
        x, w = f64([0.5, 1.0]), f64([3.0, 4.0])
        h = x * 2.0
        state = mg.bptt.truncate(h)
        loss = (state * w).sum()
        (state if written == "state" else h).data[...] = -1.0
        with pytest.raises(RuntimeError, match="changed in place"):
            loss.backward()


def test_writing_through_a_view_of_a_recorded_array_is_caught():
    """w[0:2], w.T and y.reshape view their source: writing through their .data is caught."""
    w = f64([1.0, 2.0, 3.0])
    loss = (w * w).sum()
    w[0:2].data[0] = 100.0
    with pytest.raises(RuntimeError, match="leaf tensor of shape \\(3,\\)"):
        loss.backward()
    linear = mg.nn.Linear(2, 2, dtype=np.float64)
    x = f64([[1.0, 1.0]])
    loss = linear(x).sum()
    linear.weight.T.data[...] = 0.0
    with pytest.raises(RuntimeError, match="'weight'"):
        loss.backward()
    y = f64([1.0, 2.0]) * 3.0
    loss = (y * y).sum()
    y.reshape(2, 1).data[0] = 0.0
    with pytest.raises(RuntimeError, match="output of 'mul'"):
        loss.backward()


def test_a_view_made_under_no_grad_writes_into_its_source_and_is_watched():
    """Under no_grad, b[1:3] has no node of its own: it hands out b's array at once, so a write
    through it reaches b (the forget-gate idiom); a graph that kept it as a constant is watched."""
    bias = mg.nn.Linear(3, 4).bias
    with mg.no_grad():
        bias[1:3].data[...] = 1.0
    np.testing.assert_array_equal(bias.data[1:3], [1.0, 1.0])
    w, u = f64([1.0, 2.0]), f64([1.0, 1.0])
    with mg.no_grad():
        frozen = w[0:2]
    loss = (u * frozen).sum()
    w.data[...] = 0.0
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_a_constant_view_hands_out_a_read_only_copy():
    """A view of a tensor without history hands out a copy; read-only, since a write could not
    reach the tensor it views."""
    constant = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="read-only"):
        constant.T.data[0, 0] = 9.0


def test_a_severed_state_stays_watched_for_the_steps_after_the_cut():
    """h2 = h1 * w keeps h1 (for dL/dw); sever(h1) cuts the history behind h1, not h1's watch:
    writing into h1.data afterwards is caught."""
    x, w = f64([0.5, 1.0]), f64([2.0, 3.0])
    h1 = x * 2.0
    h2 = h1 * w
    handed_out = h1.data
    mg.bptt.sever(h1)
    handed_out[...] = 0.0
    with pytest.raises(RuntimeError, match="changed in place"):
        h2.sum().backward()


def test_an_output_read_after_backward_is_its_own_array():
    """After backward frees the graph, .data of a view of an output is that output's array,
    writable (no pass can go through the freed nodes again)."""
    x = f64([1.0, 2.0])
    y = x * 3.0
    flat = y.reshape(2)
    (flat * flat).sum().backward()
    flat.data[...] *= 10
    np.testing.assert_array_equal(y.data, [30.0, 60.0])


def test_a_parameter_read_only_by_a_fused_layer_through_add_may_be_written():
    """A fused layer's node cannot say what it keeps, but it never takes b2 itself (only b1 + b2
    does, which keeps nothing): writing into b2 after forward is allowed."""
    rnn = mg.nn.RNN(3, 2, fused=True)
    x = mg.tensor(np.ones((4, 1, 3), dtype=np.float32))
    offset = mg.tensor(np.zeros(2, dtype=np.float32).tolist(), requires_grad=True)
    out, _ = rnn(x)
    loss = (out + offset).sum()
    offset.data[0] = 5.0
    loss.backward()
    np.testing.assert_array_equal(offset.grad, [4.0, 4.0])


def test_a_module_with_handed_out_arrays_can_be_pickled():
    """A check holds a weak reference, which pickle cannot take: a pickled check is spent."""
    import pickle
    linear = mg.nn.Linear(3, 2)
    linear.weight.data
    copy = pickle.loads(pickle.dumps(linear))
    np.testing.assert_array_equal(copy.weight.data, linear.weight.data)


def test_an_index_that_keeps_no_values_is_not_watched():
    """w[..., 0] and w[np.int64(1)] keep only their index: writing into w (a leaf made from a list,
    recorded unwatched) afterwards changes no gradient of a sum of them, and is allowed."""
    w = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, dtype=np.float64)
    loss = w[..., 0].sum() + w[np.int64(1)].sum()
    w.data[0, 1] = 9.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, [[1.0, 0.0], [2.0, 1.0]])


def test_a_constant_turned_into_a_leaf_keeps_what_ops_recorded():
    """c used as a constant, then c.requires_grad_(): writing into c leaves v * c's record alone."""
    c, v = mg.tensor([1.0, 2.0], dtype=np.float64), f64([1.0, 1.0])
    loss = (v * c).sum()
    c.requires_grad_()
    c.data *= 10
    loss.backward()
    np.testing.assert_array_equal(v.grad, [1.0, 2.0])


def test_gradcheck_leaves_a_wrapped_array_watched():
    """After gradcheck, writing into the numpy array a leaf wraps is still caught."""
    array = np.array([1.0, 2.0])
    w = mg.tensor(array, requires_grad=True)
    assert mg.gradcheck(lambda t: (t * t).sum(), [w])
    w.grad = None
    loss = (w * w).sum()
    array[0] = 100.0
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_an_array_read_only_by_add_may_be_written_after_hand_out():
    """w + 1 keeps nothing of w: writing into w.data before backward changes no gradient."""
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w + 1.0).sum()
    w.data[0] = 100.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])


def test_a_kept_weight_history_keeps_one_check_per_leaf():
    """Keeping every handed-out weight array (a history for plotting) leaves the weight's node
    with one check, for the array it handed out last."""
    linear = mg.nn.Linear(3, 2)
    optimizer = mg.optim.SGD(linear.parameters(), lr=0.01)
    x = mg.tensor(np.ones((4, 3), dtype=np.float32))
    history = []
    for _ in range(30):
        (linear(x) ** 2).mean().backward()
        optimizer.step()
        optimizer.zero_grad()
        history.append(linear.weight.data)
    assert len(linear.weight._node.checks) == 1
    assert not any(np.shares_memory(a, b) for a, b in zip(history, history[1:]))


def test_a_tensor_made_from_a_tensor_shares_its_watch():
    """mg.tensor(t) holds t's array: writing through it after t was kept is caught."""
    w = f64([1.0, 2.0])
    t = w * 2.0
    loss = (t * t).sum()
    mg.tensor(t).data[0] = 7.0
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_data_of_a_0d_result_is_an_ndarray():
    """numpy gives a scalar for some 0-d results; .data is still an ndarray."""
    total = f64(1.0, requires_grad=False) + f64(2.0, requires_grad=False)
    assert type(total.data) is np.ndarray and total.data.shape == () and total.item() == 3.0


def test_reading_states_every_step_keeps_no_old_graph_alive():
    """TBPTT(5, 20) with a fused LSTM cell, reading h.data and c.data at every step: as many graph
    nodes are alive after 100 steps as after 40 (no hand-out or view keeps old steps' graphs)."""
    rng = np.random.default_rng(0)
    cell, head = mg.nn.LSTMCell(4, 8, rng=rng, fused=True), mg.nn.Linear(8, 3, rng=rng)
    optimizer = mg.optim.SGD(list(cell.parameters()) + list(head.parameters()), lr=0.01)
    inputs = rng.standard_normal((120, 2, 4)).astype(np.float32)
    targets = rng.standard_normal((120, 2, 3)).astype(np.float32)
    live_nodes = {}

    def step(x, state):
        h, c = cell(x) if state is None else cell(x, state)
        h.data, c.data                  # read, as a logger would
        return head(h), (h, c)

    def count(update, loss):
        if update in (40, 100):
            gc.collect()
            live_nodes[update] = sum(type(o) is autograd.Node for o in gc.get_objects())

    mg.bptt.tbptt(step, None, inputs, targets, lambda y, t: ((y - t) ** 2).mean(), k1=5, k2=20,
                  optimizer=optimizer, on_update=count)
    assert live_nodes[100] <= live_nodes[40] + 10


# ---- what a second review found ------------------------------------------------------------------

def test_a_forward_without_backward_leaves_no_stale_fingerprint_behind():
    """A wrapped array is fingerprinted afresh by every op that records it: refilling an input
    buffer after an evaluation forward is no error, and writing after the forward that used the
    new values (even back to the old ones) is one."""
    linear = mg.nn.Linear(3, 1, dtype=np.float64)
    buffer = np.zeros((2, 3))
    x = mg.tensor(buffer)
    buffer[:] = 1.0
    linear(x).sum()                                         # evaluation: no backward
    buffer[:] = 2.0
    linear(x).sum().backward()
    np.testing.assert_allclose(linear.weight.grad, [[4.0, 4.0, 4.0]])   # sum over the batch of x
    array = np.array([1.0, 2.0])
    w = mg.tensor(array, requires_grad=True)
    (w * w).sum()
    array[0] = 3.0
    loss = (w * w * w).sum()
    array[0] = 1.0
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def unwatched_leaf(values):
    """A leaf made from a Python list: nobody else holds its array, so ops record it unwatched."""
    return mg.tensor(list(values), requires_grad=True, dtype=np.float64)


def test_gradcheck_leaves_an_earlier_graph_of_its_input_watched():
    """gradcheck with an fn that takes views, then a write into x.data: the graph recorded
    before gradcheck still catches it (gradcheck evaluates fn on copies, never on x itself)."""
    x, u = unwatched_leaf([1.0, 2.0]), unwatched_leaf([1.0, 1.0])
    loss = (x * u).sum()
    assert mg.gradcheck(lambda t: (t[:1] * t[1:]).sum(), [x])
    x.data[0] = 100.0
    with pytest.raises(RuntimeError, match="leaf tensor of shape \\(2,\\)"):
        loss.backward()


def test_a_leaf_that_stops_requiring_grad_hands_its_array_to_the_graphs_that_kept_it():
    x, u = unwatched_leaf([1.0, 2.0]), unwatched_leaf([1.0, 1.0])
    view = x.reshape(2)
    loss = (x * u).sum() + view.sum()
    x.requires_grad_(False)
    view.data[0] = 100.0
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


@pytest.mark.parametrize("source", ["leaf", "op output", "cut state"])
def test_a_view_made_before_its_source_is_handed_out_is_watched_when_used_after(source):
    """v = s.reshape(2) made while s's array was unwatched, s.data handed out, v used by a mul
    after that, then a write into the handed-out array: caught at backward (for a leaf, this
    was a known gap; for a state cut by truncation, a silent wrong gradient)."""
    w, u = unwatched_leaf([1.0, 2.0]), unwatched_leaf([1.0, 1.0])
    s = w if source == "leaf" else w * 3.0
    view = s.reshape(2)
    if source == "cut state":
        mg.bptt.sever(s)
    handed_out = s.data
    loss = (view * u).sum()
    handed_out[0] = 100.0
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_writing_into_a_viewed_output_that_nothing_kept_is_no_error():
    """y = a * 2 with a view nobody uses, y.data written, then (y * y): the gradient is that of
    the values written, 2 * y * 2, and no error (y * y watched y itself)."""
    a = f64([1.0, 2.0])
    y = a * 2.0
    y[0:1]
    y.data[0] = 5.0
    (y * y).sum().backward()
    np.testing.assert_allclose(a.grad, [20.0, 16.0])


@pytest.mark.parametrize("op", ["tanh", "sum", "index", "exp"])
def test_writing_into_a_wrapped_array_an_op_does_not_keep_is_no_error(op):
    """tanh and exp keep their output, sum and x[..., 0] only a shape or an index: writing into
    the wrapped array after them reaches no gradient, so it is no error."""
    array = np.array([[0.5, -1.0], [2.0, 0.25]])
    original = array.copy()
    w = mg.tensor(array, requires_grad=True)
    loss = {"tanh": lambda: w.tanh().sum(), "sum": lambda: w.sum(), "index": lambda: w[..., 0].sum(),
            "exp": lambda: w.exp().sum()}[op]()
    array[...] = 7.0
    loss.backward()
    expected = {"tanh": 1 - np.tanh(original) ** 2, "sum": np.ones((2, 2)),
                "index": np.array([[1.0, 0.0], [1.0, 0.0]]), "exp": np.exp(original)}[op]
    np.testing.assert_allclose(w.grad, expected, rtol=1e-12)


def _checksums_of(monkeypatch, arrays):
    """A list that grows by one each time an op fingerprints one of `arrays` at record."""
    tensor_module = importlib.import_module("microgradseq.tensor")   # (mg.tensor is the function)
    calls, ids = [], {id(a) for a in arrays}
    real = tensor_module.checksum

    def counting(array):
        if id(array) in ids:
            calls.append(1)
        return real(array)

    monkeypatch.setattr(tensor_module, "checksum", counting)
    return calls


@pytest.mark.parametrize("steps", [10, 40])
def test_a_watched_parameter_is_fingerprinted_once_per_module_call_however_many_steps(steps, monkeypatch):
    """After the manual update p.data = p.data - lr * p.grad every parameter is watched (its new
    array came from the caller); an RNN layer over T steps fingerprints each of them once."""
    rnn = mg.nn.RNN(3, 8, rng=np.random.default_rng(0), dtype=np.float64)
    for p in rnn.parameters():
        p.data = p.data - 0.0
    calls = _checksums_of(monkeypatch, [p.data for p in rnn.parameters()])
    output, _ = rnn(np.ones((steps, 2, 3)))
    assert len(calls) == 2                      # weight_ih, weight_hh (the biases only meet +, which keeps nothing)
    (output * output).sum().backward()


def test_a_frozen_layer_fingerprints_none_of_its_weights(monkeypatch):
    """requires_grad_(False) gives each weight an array of its own (the old one handed out to the
    graphs that kept it), so nothing watches the weights of a frozen layer afterwards."""
    rnn = mg.nn.RNN(3, 8, rng=np.random.default_rng(0), dtype=np.float64)
    (rnn(np.ones((5, 2, 3)))[0]).sum()
    for p in rnn.parameters():
        p.requires_grad_(False)
    calls = _checksums_of(monkeypatch, [p._data for p in rnn.parameters()])     # (.data would hand them out)
    x = mg.tensor(np.ones((5, 2, 3)), requires_grad=True)
    rnn(x)[0].sum().backward()
    assert calls == [] and x.grad is not None


def test_an_embedding_lookup_copies_so_writing_the_table_after_it_is_no_error():
    """e = emb(indices) is a copy (an index array), made before emb.weight.data is handed out and
    used by a fused layer after: writing into the table changes nothing e holds."""
    grads = []
    for fused in (False, True):
        emb = mg.nn.Embedding(10, 4, rng=np.random.default_rng(0), dtype=np.float64)
        rnn = mg.nn.RNN(4, 3, rng=np.random.default_rng(1), dtype=np.float64, fused=fused)
        e = emb(np.array([[1], [2], [3]]))
        table = emb.weight.data
        output, _ = rnn(e)
        table *= 0.5
        (output * output).sum().backward()
        grads.append({name: p.grad for name, p in rnn.named_parameters()})
    for name in grads[0]:
        np.testing.assert_allclose(grads[1][name], grads[0][name], rtol=1e-10, err_msg=name)


def test_gradcheck_perturbs_a_parameter_read_through_a_closure():
    """The natural check of a module: fn ignores its arguments and reads the parameters itself."""
    linear = mg.nn.Linear(3, 2, rng=np.random.default_rng(0), dtype=np.float64)
    x = mg.tensor(np.ones((4, 3)))
    assert mg.gradcheck(lambda *params: (linear(x).tanh() ** 2).sum(), list(linear.parameters()))


# ---- indices, masks and targets an op keeps -----------------------------------------------------------

def _pick_by_index_array(index):
    x = f64(np.arange(6.0))
    return x, x[index].sum(), lambda: index.__setitem__(0, 5)


def _pick_by_index_list(index):
    x = f64(np.arange(6.0))
    return x, x[index].sum(), lambda: index.__setitem__(0, 4)


def _pick_by_0d_index(index):
    x = f64(np.arange(6.0).reshape(3, 2))
    return x, x[index].sum(), lambda: index.fill(2)


def _gather(index):
    x = f64(np.arange(6.0).reshape(2, 3))
    return x, mg.ops.gather(x, index).sum(), lambda: index.fill(2)


def _where(mask):
    x = f64([1.0, 2.0, 3.0])
    return x, mg.ops.where(mask, x, 0.0).sum(), lambda: mask.fill(False)


def _cross_entropy(targets):
    x = f64(np.zeros((2, 3)))
    return x, mg.functional.cross_entropy(x, targets, reduction="sum"), lambda: targets.fill(2)


@pytest.mark.parametrize("case, given, expected", [
    (_pick_by_index_array, np.array([0, 1]), [1, 1, 0, 0, 0, 0]),
    (_pick_by_index_list, [0, 1], [1, 1, 0, 0, 0, 0]),
    (_pick_by_0d_index, np.array(0), [[1, 1], [0, 0], [0, 0]]),
    (_gather, np.array([0, 1]), [[1, 0, 0], [0, 1, 0]]),
    (_where, np.array([True, False, True]), [1, 0, 1]),
    # d/dx of -log softmax(x)[target] at x = 0 over 3 classes: 1/3 - onehot(target)
    (_cross_entropy, np.array([0, 1]), [[-2 / 3, 1 / 3, 1 / 3], [1 / 3, -2 / 3, 1 / 3]]),
], ids=["index-array", "index-list", "0d-index", "gather", "where", "cross_entropy"])
def test_an_index_mask_or_target_written_after_the_op_leaves_the_gradient_as_recorded(case, given, expected):
    """The op keeps its own copy of the positions it read: the gradient goes where the forward
    pass read, whatever the caller writes into their array afterwards."""
    x, loss, overwrite = case(given)
    overwrite()
    loss.backward()
    np.testing.assert_allclose(x.grad, np.array(expected, dtype=np.float64), rtol=1e-12, atol=1e-15)


# ---- out= ------------------------------------------------------------------------------------------

def test_writing_into_an_out_array_its_op_keeps_raises_at_backward():
    """tanh(x, out=buf) keeps buf as tanh(x): writing into buf before backward is caught."""
    x, buffer = f64([1.0, 2.0]), np.empty(2)
    y = mg.ops.tanh(x, out=buffer)
    buffer[0] = 9.0
    with pytest.raises(RuntimeError, match="output of 'tanh'"):
        y.sum().backward()


def test_writing_into_an_out_array_a_later_op_keeps_raises_at_backward():
    """add(x, 1, out=buf) keeps nothing, but y * x keeps buf (for dL/dx): writing into buf is caught."""
    x, buffer = f64([1.0, 2.0]), np.empty(2)
    y = mg.ops.add(x, 1.0, out=buffer)
    loss = (y * x).sum()
    buffer[0] = 9.0
    with pytest.raises(RuntimeError, match="output of 'add'.*changed in place after 'mul'"):
        loss.backward()


def test_out_sharing_memory_with_an_operand_the_gradient_needs_is_rejected():
    """mul keeps both factors and relu its input: out= over them is a ValueError at once.
    add keeps nothing, so a += b through out= is fine: d(a + b)/da = 1."""
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    with pytest.raises(ValueError, match="mul: out shares memory with an operand"):
        mg.ops.mul(a, b, out=a.data)
    with pytest.raises(ValueError, match="relu: out shares memory"):
        mg.ops.relu(b, out=b.data[::-1])
    c = f64([1.0, 2.0])
    total = mg.ops.add(c, b, out=c.data)
    np.testing.assert_array_equal(total.data, [4.0, 6.0])
    total.sum().backward()
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


@pytest.mark.parametrize("layer", [mg.nn.RNN, mg.nn.LSTM, mg.nn.GRU])
def test_a_layer_fingerprints_none_of_its_own_arrays(layer, monkeypatch):
    """The steps write their states into the layer's output array unwatched (nobody else holds
    it, and it is read-only afterwards): a forward and backward pass fingerprints nothing."""
    counted = []
    real = autograd.checksum
    counting = lambda array: counted.append(array.shape) or real(array)      # noqa: E731
    for module in (autograd, importlib.import_module("microgradseq.tensor")):
        monkeypatch.setattr(module, "checksum", counting)
    x = mg.tensor(np.ones((6, 2, 3)).tolist())
    output, _ = layer(3, 4)(x)
    output.sum().backward()
    assert counted == []
