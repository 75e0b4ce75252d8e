"""Activation checkpointing, `mg.utils.checkpoint`: the same gradients for less memory.

The references: closed forms written in numpy (tanh's derivative, a dropout's mask read off its
output), central differences in float64, and, where the brief is "the same as without it", the
unchecked computation run beside it. What the forward pass keeps is counted on the graph (nodes and
saved arrays reachable from the output), the re-run by counting calls, and memory with tracemalloc.
"""

import tracemalloc

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.bptt import tbptt
from microgradseq.functional import mse_loss
from microgradseq.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential


def leaf(array):
    return mg.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def reached(tensor):
    """The nodes a backward pass from `tensor` could walk, and the arrays they saved."""
    stack, seen, arrays = [tensor.grad_fn or tensor._node], set(), 0
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        items = list(node.saved or ())
        while items:
            item = items.pop()
            if isinstance(item, (tuple, list)):
                items.extend(item)
            arrays += isinstance(item, np.ndarray)
        stack.extend(node.inputs)
    return seen, arrays


def central_difference(loss, array, eps=1e-6):
    """d loss / d array, entry by entry, (loss(a + eps) - loss(a - eps)) / (2 eps); loss takes an array."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        step = np.zeros_like(array)
        step[index] = eps
        grad[index] = (loss(array + step) - loss(array - step)) / (2 * eps)
    return grad


RNG = np.random.default_rng(0)
X, W, U = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 5)), RNG.standard_normal((4, 5))


# ---- gradients -------------------------------------------------------------------------------------------

def test_gradients_of_a_function_of_tensors_are_tanh_s_closed_form():
    x, w = leaf(X), leaf(W)
    y = checkpoint(lambda x, w: (x @ w).tanh() * 3.0, x, w, use_reentrant=False)
    (y * mg.tensor(U)).sum().backward()
    delta = U * 3.0 * (1 - np.tanh(X @ W) ** 2)        # dL/d(x @ w)
    assert np.abs(y.data - 3.0 * np.tanh(X @ W)).max() < 1e-12
    assert np.abs(w.grad - X.T @ delta).max() < 1e-12
    assert np.abs(x.grad - delta @ W.T).max() < 1e-12


def test_a_module_s_parameters_get_the_unchecked_gradients_and_the_finite_differences():
    model = mg.nn.Sequential(mg.nn.Linear(3, 6, dtype=np.float64), mg.nn.Tanh(), mg.nn.Linear(6, 2, dtype=np.float64))
    x = mg.tensor(X)
    checkpoint(model, x, use_reentrant=False).pow(2).sum().backward()
    checked = {name: p.grad.copy() for name, p in model.named_parameters()}
    model.zero_grad()
    model(x).pow(2).sum().backward()
    for name, p in model.named_parameters():
        assert np.abs(checked[name] - p.grad).max() < 1e-12, name
    weight, bias, head = model[0].weight.data, model[0].bias.data, model[2].weight.data

    def loss(w):
        return float((((np.tanh(X @ w.T + bias) @ head.T) + model[2].bias.data) ** 2).sum())
    assert np.abs(checked["0.weight"] - central_difference(loss, weight)).max() < 1e-6


def test_several_inputs_and_outputs_keywords_and_values_that_are_not_tensors():
    x, w = leaf(X), leaf(W)

    def block(x, w, count, *, scale):
        product = x @ w
        return product * scale, count + 1, (product ** 2).sum(1), "kept"
    a, count, b, tag = checkpoint(block, x, w, 2, scale=0.5, use_reentrant=False)
    assert (count, tag) == (3, "kept")
    ((a * mg.tensor(U)).sum() + b.sum()).backward()
    delta = 0.5 * U + 2 * (X @ W)                      # dL/d(x @ w)
    assert np.abs(w.grad - X.T @ delta).max() < 1e-12
    assert np.abs(x.grad - delta @ W.T).max() < 1e-12


def test_a_closure_over_a_computed_tensor_passes_its_gradient_on_once():
    a, x = leaf(W[0]), leaf(X[:, :1])
    scaled = a * 2.0                                   # made outside the block, read by it through a closure
    y = checkpoint(lambda x: (x * scaled).sin(), x, use_reentrant=False)
    y.sum().backward()
    assert np.abs(a.grad - 2.0 * (np.cos(X[:, :1] * 2 * W[0]) * X[:, :1]).sum(0)).max() < 1e-12
    assert np.abs(x.grad - (np.cos(X[:, :1] * 2 * W[0]) * 2 * W[0]).sum(1, keepdims=True)).max() < 1e-12


def test_outputs_without_history_stay_without():
    x = leaf(X)
    y, constant, index = checkpoint(lambda x: (x.exp(), mg.tensor(U), x.argmax(1)), x, use_reentrant=False)
    assert y.requires_grad and not constant.requires_grad and not index.requires_grad
    y.sum().backward()
    assert np.abs(x.grad - np.exp(X)).max() < 1e-12


def test_a_function_of_constants_keeps_no_node():
    y = checkpoint(lambda x: x * 2, mg.tensor(X), use_reentrant=False)
    assert not y.requires_grad and np.array_equal(y.data, 2 * X)


def test_an_output_that_is_its_input_passes_the_gradient_through():
    x = leaf(X)
    same, doubled = checkpoint(lambda x: (x, x * 2), x, use_reentrant=False)
    (same.sum() + doubled.sum()).backward()
    assert np.array_equal(x.grad, np.full(X.shape, 3.0))


# ---- the re-run ---------------------------------------------------------------------------------------------

def test_the_function_runs_once_forward_and_again_per_backward_pass():
    calls = []

    def block(x):
        calls.append(1)
        return x.tanh()
    x = leaf(X)
    y = checkpoint(block, x, use_reentrant=False).sum()
    assert len(calls) == 1
    y.backward(retain_graph=True)
    assert len(calls) == 2
    y.backward()                                       # retain_graph: the block runs again, the gradients add up
    assert len(calls) == 3
    assert np.abs(x.grad - 2 * (1 - np.tanh(X) ** 2)).max() < 1e-12


def test_the_forward_pass_keeps_no_node_nor_saved_array_of_the_block():
    w = leaf(np.eye(3) * 0.5)

    def twenty_steps(h):
        for _ in range(20):
            h = (h @ w).tanh()
        return h
    h0 = leaf(X[:, :3])
    plain_nodes, plain_arrays = reached(twenty_steps(h0))
    nodes, arrays = reached(checkpoint(twenty_steps, h0, use_reentrant=False))
    assert len(plain_nodes) == 42 and plain_arrays >= 40       # 20 matmuls, 20 tanhs, 2 leaves
    assert sorted(node.op for node in nodes) == ["checkpoint", "leaf", "leaf"] and arrays == 0


def test_dropout_inside_gets_the_same_mask_on_the_re_run():
    mg.manual_seed(7)
    x, upstream = leaf(np.ones((50, 8))), RNG.standard_normal((50, 8))
    y = checkpoint(mg.nn.Dropout(0.5), x, use_reentrant=False)
    before = mg.get_rng_state().data.copy()
    (y * mg.tensor(upstream)).sum().backward()
    kept = y.data != 0                                 # the first run's mask, read off its output
    assert 0 < kept.mean() < 1
    assert np.array_equal(x.grad, kept * upstream * 2.0)
    assert np.array_equal(mg.get_rng_state().data, before)     # the re-run's draws leave the generator as it was


def test_without_preserve_rng_state_the_re_run_draws_afresh():
    mg.manual_seed(7)
    x = leaf(np.ones((50, 8)))
    y = checkpoint(mg.nn.Dropout(0.5), x, use_reentrant=False, preserve_rng_state=False)
    before = mg.get_rng_state().data.copy()
    y.sum().backward()
    assert not np.array_equal(x.grad != 0, y.data != 0)
    assert not np.array_equal(mg.get_rng_state().data, before)


def test_nested_checkpoints_give_the_unchecked_gradients():
    w = leaf(W[:, :3])

    def inner(h):
        return (h @ w).tanh()

    def outer(h):
        return checkpoint(inner, checkpoint(inner, h, use_reentrant=False), use_reentrant=False)
    x = leaf(X[:, :3])
    checkpoint(outer, x, use_reentrant=False).sum().backward()
    checked = w.grad.copy(), x.grad.copy()
    w.grad = x.grad = None
    inner(inner(x)).sum().backward()
    assert np.abs(checked[0] - w.grad).max() < 1e-12 and np.abs(checked[1] - x.grad).max() < 1e-12


def test_autograd_grad_and_backward_inputs_reach_the_parameters_the_block_uses():
    w, x = leaf(W), leaf(X)
    y = checkpoint(lambda x: (x @ w).sin().sum(), x, use_reentrant=False)
    grad_w, = mg.autograd.grad(y, [w], retain_graph=True)
    assert np.abs(grad_w.data - X.T @ np.cos(X @ W)).max() < 1e-12 and w.grad is None
    y.backward(inputs=[w])
    assert np.abs(w.grad - X.T @ np.cos(X @ W)).max() < 1e-12 and x.grad is None


def test_use_reentrant_true_gives_the_same_gradients():
    w, x = leaf(W), leaf(X)
    checkpoint(lambda x: (x @ w).tanh(), x, use_reentrant=True).sum().backward()
    assert np.abs(w.grad - X.T @ (1 - np.tanh(X @ W) ** 2)).max() < 1e-12


def test_the_decorator_form_checkpoints_each_call():
    w, calls = leaf(W), []

    @checkpoint(use_reentrant=False)
    def block(x):
        calls.append(1)
        return (x @ w).tanh()
    block(mg.tensor(X)).sum().backward()
    assert len(calls) == 2 and np.abs(w.grad - X.T @ (1 - np.tanh(X @ W) ** 2)).max() < 1e-12
    with pytest.raises(ValueError, match="checkpoint: unexpected keyword arguments scale without a function"):
        checkpoint(use_reentrant=False, scale=2)


def test_under_no_grad_the_function_just_runs():
    calls, x = [], leaf(X)
    with mg.no_grad():
        y = checkpoint(lambda x: calls.append(1) or x.exp(), x, use_reentrant=False)
    assert len(calls) == 1 and not y.requires_grad and np.abs(y.data - np.exp(X)).max() < 1e-12


def test_forward_mode_pushes_tangents_through_the_block():
    v = RNG.standard_normal(X.shape)
    y, tangent = mg.jvp(lambda x: checkpoint(lambda x: x.sin() * 2, x, use_reentrant=False), [mg.tensor(X)], [v])
    assert np.abs(tangent - 2 * np.cos(X) * v).max() < 1e-12


# ---- sequences ----------------------------------------------------------------------------------------------

def test_checkpoint_sequential_over_a_sequential_keeps_one_node_per_segment():
    layers = [mg.nn.Linear(4, 4, dtype=np.float64) if k % 2 == 0 else mg.nn.Tanh() for k in range(8)]
    model, x = mg.nn.Sequential(*layers), leaf(RNG.standard_normal((3, 4)))
    out = checkpoint_sequential(model, 2, x, use_reentrant=False)
    assert sum(node.op == "checkpoint" for node in reached(out)[0]) == 1     # the last segment is not checkpointed
    out.pow(2).sum().backward()
    checked = [p.grad.copy() for p in model.parameters()] + [x.grad.copy()]
    model.zero_grad()
    x.grad = None
    model(x).pow(2).sum().backward()
    for got, expected in zip(checked, [p.grad for p in model.parameters()] + [x.grad]):
        assert np.abs(got - expected).max() < 1e-12


def test_checkpoint_sequential_over_an_rnn_s_time_segments():
    cell = mg.nn.RNNCell(3, 5, rng=np.random.default_rng(1), dtype=np.float64)
    xs = RNG.standard_normal((12, 2, 3))
    steps = [lambda h, x=mg.tensor(x): cell(x, h) for x in xs]
    h0 = leaf(np.zeros((2, 5)))
    checkpoint_sequential(steps, 4, h0, use_reentrant=False).sum().backward()
    checked = [p.grad.copy() for p in cell.parameters()] + [h0.grad.copy()]
    cell.zero_grad()
    h0.grad = None
    h = h0
    for step in steps:
        h = step(h)
    h.sum().backward()
    for got, expected in zip(checked, [p.grad for p in cell.parameters()] + [h0.grad]):
        assert np.abs(got - expected).max() < 1e-12


SIGNAL = np.sin(np.linspace(0, 12, 25))


def tbptt_gradients(k1, k2, checkpointed=None):
    """weight_hh's gradient after tbptt(k1, k2) over SIGNAL, with the cell or the whole step checkpointed
    at every step (`checkpointed` "cell" or "step"), or nothing."""
    cell = mg.nn.RNNCell(1, 6, rng=np.random.default_rng(0), dtype=np.float64)
    readout = mg.nn.Linear(6, 1, rng=np.random.default_rng(1), dtype=np.float64)

    def step(x, h):
        h = checkpoint(cell, x, h, use_reentrant=False) if checkpointed == "cell" else cell(x, h)
        return readout(h), h
    run = (lambda x, h: checkpoint(step, x, h, use_reentrant=False)) if checkpointed == "step" else step
    tbptt(run, None, SIGNAL[:-1].reshape(-1, 1, 1), SIGNAL[1:].reshape(-1, 1, 1), mse_loss, k1, k2)
    return cell.weight_hh.grad


@pytest.mark.parametrize("k1, k2", [(24, 24), (6, 6), (3, 8), (8, 3), (1, 4)])
def test_a_checkpointed_cell_in_tbptt_windows_gets_the_unchecked_gradients(k1, k2):
    assert np.abs(tbptt_gradients(k1, k2, "cell") - tbptt_gradients(k1, k2)).max() < 1e-12


@pytest.mark.parametrize("k1, k2", [(6, 6), (3, 8), (1, 4)])
def test_a_checkpointed_step_in_tbptt_windows_up_to_k2_gets_the_unchecked_gradients(k1, k2):
    """(With k1 > k2 the runner cuts a state at a step whose loss it also walks: a step checkpointed whole is
    one node, output and state, so it counts as a step computing its output beside its state.)"""
    assert np.abs(tbptt_gradients(k1, k2, "step") - tbptt_gradients(k1, k2)).max() < 1e-12


# ---- drawings and memory -------------------------------------------------------------------------------------

def test_a_drawing_shows_the_block_as_one_checkpoint_box_named_after_the_function():
    pytest.importorskip("graphviz")
    w = leaf(W)

    def layer(x):
        return (x @ w).tanh()
    source = mg.viz.draw(checkpoint(layer, mg.tensor(X), use_reentrant=False).sum(), view="ops").source
    assert "<B>checkpoint</B> layer" in source and "tanh" not in source


def traced_peak(segment):
    """tracemalloc's peak over the forward and backward passes of a 144-step RNN, checkpointed every
    `segment` steps (0: not at all)."""
    cell = mg.nn.RNNCell(16, 16, rng=np.random.default_rng(0), dtype=np.float64)
    xs = mg.tensor(np.random.default_rng(1).standard_normal((144, 16, 16)))

    def steps(h, start, stop):
        for t in range(start, stop):
            h = cell(xs[t], h)
        return h
    h = mg.zeros(16, 16, dtype=mg.float64)
    tracemalloc.start()
    try:
        if segment:
            for start in range(0, 144, segment):
                h = checkpoint(steps, h, start, start + segment, use_reentrant=False)
        else:
            h = steps(h, 0, 144)
        h.pow(2).sum().backward()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_checkpointed_rnn_peaks_well_under_the_unchecked_one():
    """Checkpoints every sqrt(T) = 12 steps: the peak is the 12 checkpoints and one segment's tape
    (about 0.3 of the whole tape's, measured), not the tape of all 144 steps."""
    assert traced_peak(12) < 0.4 * traced_peak(0)


# ---- errors ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("options, message", [
    (dict(use_reentrant="no"), "use_reentrant must be True or False, got 'no'"),
    (dict(determinism_check="all"), "determinism_check should be one of ['default', 'none'], got 'all'"),
    (dict(use_reentrant=True, scale=2), "unexpected keyword arguments scale"),
    (dict(use_reentrant=True, debug=True), "only supported when use_reentrant=False"),
    (dict(debug=True, context_fn=lambda: (None, None)), "debug=True is incompatible"),
    (dict(context_fn=3), "context_fn must be a function returning two context managers, got int"),
])
def test_bad_options_raise_naming_checkpoint_before_anything_runs(options, message):
    calls = []
    with pytest.raises((ValueError, TypeError)) as error:
        checkpoint(lambda x, **kwargs: calls.append(1) or x, leaf(X), **options)
    assert str(error.value).startswith("checkpoint: ") and message in str(error.value) and not calls


def test_a_function_that_is_not_callable_or_returns_a_list_is_refused():
    with pytest.raises(TypeError, match="checkpoint: expected a function to run, got int"):
        checkpoint(3, leaf(X), use_reentrant=False)
    with pytest.raises(TypeError, match="checkpoint: expected <lambda> to return a Tensor or a tuple .* got list"):
        checkpoint(lambda x: [x * 2], leaf(X), use_reentrant=False)


def test_a_re_run_that_records_other_ops_is_a_checkpoint_error_and_changes_no_gradient():
    w, runs = leaf(W), []

    def fickle(x):
        runs.append(1)
        return (x @ w).tanh() if len(runs) == 1 else (x @ w).sin()
    y = checkpoint(fickle, mg.tensor(X), use_reentrant=False, debug=True)
    with pytest.raises(CheckpointError, match=r"checkpoint: the re-run of fickle recorded 2 ops, its first run 2, "
                                              r"differing from op 1 on(.|\n)*ops of the re-run: .*'sin'"):
        y.sum().backward()
    assert w.grad is None and isinstance(CheckpointError("x"), RuntimeError)


def test_determinism_check_none_lets_a_different_re_run_through():
    w, runs = leaf(W), []

    def fickle(x):
        runs.append(1)
        return (x @ w).tanh() if len(runs) == 1 else (x @ w).sin()
    checkpoint(fickle, mg.tensor(X), use_reentrant=False, determinism_check="none").sum().backward()
    assert np.abs(w.grad - X.T @ np.cos(X @ W)).max() < 1e-12        # (the re-run's function, as PyTorch's)


def test_a_re_run_that_reads_another_tensor_or_returns_another_shape_is_a_checkpoint_error():
    first, second, runs = leaf(W), leaf(W), []

    def switching(x):
        runs.append(1)
        return x @ (first if len(runs) % 2 else second)
    with pytest.raises(CheckpointError, match="checkpoint: the re-run of switching read a tensor from outside it "
                                              "that its first run did not"):
        checkpoint(switching, mg.tensor(X), use_reentrant=False).sum().backward()

    def growing(x):
        runs.append(1)
        return x.repeat(len(runs) % 2 + 1, 1) * first.sum()
    with pytest.raises(CheckpointError, match=r"checkpoint: the re-run of growing returned outputs of shapes"):
        checkpoint(growing, mg.tensor(X), use_reentrant=False).sum().backward()
    assert first.grad is None and second.grad is None


@pytest.mark.parametrize("segments", [0, 9, True, 2.0])
def test_checkpoint_sequential_refuses_segments_it_cannot_cut(segments):
    with pytest.raises(ValueError, match=rf"checkpoint_sequential: segments must be an integer from 1 to the number "
                                         rf"of functions \(8\), got {segments!r}"):
        checkpoint_sequential([mg.nn.Tanh()] * 8, segments, leaf(X), use_reentrant=False)


def test_checkpoint_sequential_refuses_keywords_other_than_preserve_rng_state():
    with pytest.raises(ValueError, match="checkpoint_sequential: unexpected keyword arguments debug"):
        checkpoint_sequential([mg.nn.Tanh()] * 4, 2, leaf(X), use_reentrant=False, preserve_rng_state=False, debug=True)


@pytest.mark.parametrize("k1, k2", [(2, 2), (4, 2), (2, 4), (3, 1)])
def test_a_checkpointed_lstm_layer_in_the_tbptt_runner_gives_the_plain_gradients(k1, k2):
    """The runner cuts a state in place after a checkpoint read it (k1 >= k2) or hands a step a cut state
    (k1 > k2): the re-run still records what the first run did (no CheckpointError for the layer's
    reshape of its state) and the gradients are those without checkpointing."""
    def run(checkpointed):
        mg.manual_seed(0)
        lstm, readout = mg.nn.LSTM(2, 3, dtype=np.float64), mg.nn.Linear(3, 1, dtype=np.float64)
        rng = np.random.default_rng(0)
        xs, ys = rng.standard_normal((9, 2, 2)), rng.standard_normal((9, 2, 1))

        def step(x, state):
            x = mg.tensor(x)[None]
            out, state = (checkpoint(lstm, x, state, use_reentrant=False) if checkpointed else lstm(x, state))
            return readout(out[0]), state

        mg.bptt.tbptt(step, None, xs, ys, lambda o, y: ((o - mg.tensor(y)) ** 2).sum(), k1=k1, k2=k2)
        return [p.grad.copy() for p in [*lstm.parameters(), *readout.parameters()]]

    for plain, checked in zip(run(False), run(True)):
        assert np.allclose(plain, checked, atol=1e-12)


def test_a_tuple_argument_is_read_as_the_first_run_read_it():
    """The re-run reads the values and history the first run read in a tuple argument (an LSTM's
    (h, c)), not what has become of the tensors since: `h.detach_()` before the backward pass."""
    cell = mg.nn.LSTMCell(2, 3, rng=np.random.default_rng(0), dtype=np.float64)
    x = mg.tensor(np.random.default_rng(1).standard_normal((1, 2)))
    h0 = mg.tensor(np.ones((1, 3)), requires_grad=True)
    h, c = h0 * 2.0, mg.zeros(1, 3, dtype=mg.float64)
    out, _ = checkpoint(cell, x, (h, c), use_reentrant=False)
    h.detach_()
    out.sum().backward()
    grad = h0.grad.copy()
    h0.grad = None
    cell(x, (h0 * 2.0, c))[0].sum().backward()
    assert np.allclose(grad, h0.grad)
