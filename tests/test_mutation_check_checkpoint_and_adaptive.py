"""Mutation check of activation checkpointing (mg.utils.checkpoint, checkpoint_sequential),
nn.AdaptiveLogSoftmaxWithLoss, F.gumbel_softmax and nn.utils.parameters_to_vector / vector_to_parameters:
the behaviours the other tests let a wrong implementation through on.

Checkpointing: context_fn's two contexts (the first run in the first, the re-run in the second, neither
under no_grad: torch/utils/checkpoint.py's `_checkpoint_without_reentrant_generator` yields before entering
them when grad mode is off), flags that are not bools, the determinism check's shapes, dtypes and counts,
the generator put back where the backward pass found it (torch.random.fork_rng), arguments that are
constants or cut states, one tensor passed twice, outputs the loss does not use, namedtuples, forward mode
with recording on (rtrl), and checkpoint_sequential's options and segment names. References: closed forms
in numpy (tanh's and sin's derivatives, a product's), the unchecked computation run beside it, and the
messages the module's docstrings promise.

Adaptive softmax, gumbel_softmax and the vector conversions: PyTorch's defaults and definitions
(torch/nn/modules/adaptive.py, torch/nn/functional.py, torch/nn/utils/convert_parameters.py)."""

import contextlib
import warnings
from typing import NamedTuple

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn.functional as F
from microgradseq import nn
from microgradseq.bptt import rtrl, truncate
from microgradseq.functional import mse_loss
from microgradseq.nn.utils import vector_to_parameters
from microgradseq.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential

RNG = np.random.default_rng(26)
X, W = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 5))


def leaf(array):
    return mg.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def reached_ops(tensor):
    """The ops of the nodes a backward pass from `tensor` could walk, sorted."""
    stack, seen = [tensor._node], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(node.inputs)
    return sorted(node.op for node in seen)


def checkpoint_node(tensor):
    """The `checkpoint` node behind a checkpointed output (its own node, or its input's for a tuple's item)."""
    node = tensor._node
    return node if node.op == "checkpoint" else node.inputs[0]


@pytest.fixture
def generator_kept():
    """The library's generator as the test found it (these tests reseed it)."""
    state = mg.get_rng_state()
    yield
    mg.set_rng_state(state)


# ---- checkpoint: context_fn ----------------------------------------------------------------------------

def recording_contexts(log):
    """context_fn giving two context managers that log their entries and exits, and the log's reader."""
    active = []

    @contextlib.contextmanager
    def named(name):
        log.append(f"enter {name}")
        active.append(name)
        try:
            yield
        finally:
            active.pop()
            log.append(f"exit {name}")
    return (lambda: (named("forward"), named("recompute"))), active


def test_context_fn_runs_the_first_run_in_its_first_context_and_the_re_run_in_its_second():
    """PyTorch's: `context_fn` returns two context managers, the function runs under the first and its
    recomputation under the second."""
    log, w = [], leaf(W)
    context_fn, active = recording_contexts(log)

    def block(x):
        log.append(f"run in {active[-1] if active else None}")
        return (x @ w).tanh()
    y = checkpoint(block, mg.tensor(X), use_reentrant=False, context_fn=context_fn)
    assert log == ["enter forward", "run in forward", "exit forward"]
    y.sum().backward()
    assert log[3:] == ["enter recompute", "run in recompute", "exit recompute"]
    np.testing.assert_allclose(w.grad, X.T @ (1 - np.tanh(X @ W) ** 2), rtol=1e-12, atol=1e-12)


def test_under_no_grad_neither_context_is_entered():
    """PyTorch's generator yields before `with ..., forward_context:` when grad mode is off."""
    log = []
    context_fn, _ = recording_contexts(log)
    with mg.no_grad():
        y = checkpoint(lambda x: x.exp(), leaf(X), use_reentrant=False, context_fn=context_fn)
    assert log == [] and not y.requires_grad


def test_use_reentrant_true_refuses_a_context_fn_of_ones_own():
    """PyTorch's: 'Passing `context_fn` or `debug` is only supported when use_reentrant=False.'"""
    with pytest.raises(ValueError, match="checkpoint: passing context_fn or debug is only supported when "
                                         "use_reentrant=False"):
        checkpoint(lambda x: x, leaf(X), use_reentrant=True, context_fn=lambda: (None, None))


# ---- checkpoint: options -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, value", [("use_reentrant", 0), ("debug", "yes"), ("early_stop", 1),
                                         ("preserve_rng_state", None)])
def test_flags_that_are_not_bools_are_refused_naming_checkpoint(name, value):
    """The module's _check_options: ValueError naming checkpoint for flags that are not bools (0 included)."""
    calls = []
    with pytest.raises(ValueError, match=rf"checkpoint: {name} must be True or False, got {value!r}"):
        checkpoint(lambda x: calls.append(1) or x, leaf(X), **{name: value})
    assert not calls


def test_determinism_check_none_as_the_python_value_is_refused():
    """PyTorch's: determinism_check must be one of the strings 'default' and 'none'."""
    with pytest.raises(ValueError, match=r"checkpoint: determinism_check should be one of \['default', 'none'\], "
                                         r"got None"):
        checkpoint(lambda x: x, leaf(X), use_reentrant=False, determinism_check=None)


# ---- checkpoint: the determinism check -----------------------------------------------------------------------

def test_a_re_run_whose_ops_differ_only_in_shapes_is_a_checkpoint_error():
    """Same ops (reshape, tanh, reshape), same output, other intermediate shapes: (name, shape, dtype) differ."""
    runs = []

    def reshaping(x):
        runs.append(1)
        return x.reshape((12,) if len(runs) == 1 else (2, 6)).tanh().reshape(4, 3)
    y = checkpoint(reshaping, leaf(X), use_reentrant=False)
    with pytest.raises(CheckpointError, match="re-run of reshaping recorded 3 ops, its first run 3, differing "
                                              "from op 0 on"):
        y.sum().backward()


def test_a_re_run_whose_ops_differ_only_in_dtypes_is_a_checkpoint_error():
    runs = []

    def casting(x):
        runs.append(1)
        return x.to(mg.float32 if len(runs) == 1 else mg.float16).tanh().to(mg.float64)
    y = checkpoint(casting, leaf(X), use_reentrant=False)
    with pytest.raises(CheckpointError, match="re-run of casting recorded 3 ops, its first run 3, differing "
                                              "from op 0 on"):
        y.sum().backward()


def test_a_re_run_with_one_op_more_names_both_counts_and_where_they_part():
    """The first run's ops a prefix of the re-run's: the counts in order (re-run, first run), and the
    first op past the shorter list."""
    runs = []

    def growing(x):
        runs.append(1)
        y = x.tanh()
        return y if len(runs) == 1 else y.tanh()
    y = checkpoint(growing, leaf(X), use_reentrant=False)
    with pytest.raises(CheckpointError, match="re-run of growing recorded 2 ops, its first run 1, differing from "
                                              "op 1 on"):
        y.sum().backward()


def test_the_determinism_check_counts_ops_not_the_leaves_made_inside():
    made, runs = [], []

    def fickle(x):
        runs.append(1)
        h = x.tanh() if len(runs) == 1 else x.sin()
        made.append(mg.tensor(np.ones(3), requires_grad=True))
        return h * made[-1]
    y = checkpoint(fickle, leaf(X), use_reentrant=False)
    with pytest.raises(CheckpointError, match="re-run of fickle recorded 2 ops, its first run 2, differing from "
                                              "op 0 on"):
        y.sum().backward()


def test_debug_does_not_turn_on_a_determinism_check_set_to_none():
    """debug=True only lists the ops in the error; with determinism_check='none' there is no error and the
    re-run's function gives the gradients (as PyTorch's)."""
    w, runs = leaf(W), []

    def fickle(x):
        runs.append(1)
        return (x @ w).tanh() if len(runs) == 1 else (x @ w).sin()
    checkpoint(fickle, mg.tensor(X), use_reentrant=False, determinism_check="none", debug=True).sum().backward()
    np.testing.assert_allclose(w.grad, X.T @ np.cos(X @ W), rtol=1e-12, atol=1e-12)


def test_a_re_run_returning_another_dtype_is_a_checkpoint_error():
    w, runs = leaf(W), []

    def casting(x):
        runs.append(1)
        return (x @ w).to(mg.float64 if len(runs) == 1 else mg.float32)
    y = checkpoint(casting, mg.tensor(X), use_reentrant=False, determinism_check="none")
    with pytest.raises(CheckpointError, match="re-run of casting returned outputs of shapes and dtypes"):
        y.sum().backward()
    assert w.grad is None


def test_a_re_run_returning_a_list_is_a_checkpoint_error():
    w, runs = leaf(W), []

    def listing(x):
        runs.append(1)
        y = (x @ w).tanh()
        return (y,) if len(runs) == 1 else [y]
    y, = checkpoint(listing, mg.tensor(X), use_reentrant=False)
    with pytest.raises(CheckpointError, match="re-run of listing returned outputs of shapes and dtypes"):
        y.sum().backward()


# ---- checkpoint: the generator --------------------------------------------------------------------------------

def test_the_backward_pass_leaves_the_generator_where_it_found_it(generator_kept):
    """torch.random.fork_rng: the re-run draws from the first run's state, then the state is put back as it
    was before the backward pass (not where the re-run's draws leave it)."""
    mg.manual_seed(3)
    x = leaf(np.ones((20, 4)))
    y = checkpoint(mg.nn.Dropout(0.5), x, use_reentrant=False)
    mg.rand(7)                                          # the run goes on drawing before the backward pass
    before = mg.get_rng_state().data.copy()
    y.sum().backward()
    assert np.array_equal(mg.get_rng_state().data, before)
    assert np.array_equal(x.grad, (y.data != 0) * 2.0)


# ---- checkpoint: arguments and outputs --------------------------------------------------------------------------

def test_a_constant_and_a_cut_argument_take_no_gradient_and_pass_the_check():
    """Ops on arguments that need no gradient are recorded neither the first time nor again: the re-run
    matches; w gets tanh's closed form."""
    w = leaf(W[:, :3])
    h = truncate(leaf(X[:, :3]) * 1.0)

    def block(x, h):
        return (x.exp() + h.sin()) @ w
    y = checkpoint(block, mg.tensor(X), h, use_reentrant=False)
    y.sum().backward()
    np.testing.assert_allclose(w.grad, (np.exp(X) + np.sin(X[:, :3])).T @ np.ones((4, 3)), rtol=1e-12)


def test_a_cut_state_the_block_reads_is_not_an_input_of_its_checkpoint_node():
    """_block_of: a cut on the edge takes no gradient, it is left out: the node reads w only."""
    w = leaf(W[:, :3])
    h = truncate(leaf(X[:, :3]) * 1.0)
    y = checkpoint(lambda x: (x @ w + h).tanh(), mg.tensor(X[:, :3]), use_reentrant=False)
    assert reached_ops(y) == ["checkpoint", "leaf"]


def test_one_tensor_passed_twice_gets_both_gradients():
    x = leaf(X)
    checkpoint(lambda a, b: a * b, x, x, use_reentrant=False).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * X, rtol=1e-12)          # d(x^2)/dx


def test_one_tensor_passed_twice_and_read_once():
    x = leaf(X)
    checkpoint(lambda a, b: a.sin(), x, x, use_reentrant=False).sum().backward()
    np.testing.assert_allclose(x.grad, np.cos(X), rtol=1e-12)


def test_an_output_the_loss_does_not_use_takes_no_part():
    x = leaf(X)
    a, b = checkpoint(lambda x: (x.tanh(), x.exp()), x, use_reentrant=False)
    a.sum().backward()
    np.testing.assert_allclose(x.grad, 1 - np.tanh(X) ** 2, rtol=1e-12)


def test_a_block_whose_only_parameter_is_made_inside_runs_once():
    """Nothing from outside takes a gradient: the outputs are the block's own, their history kept."""
    made = []

    def block(x):
        made.append(mg.tensor(np.ones(3), requires_grad=True))
        return x * made[-1]
    y = checkpoint(block, mg.tensor(X), use_reentrant=False)
    y.sum().backward()
    assert len(made) == 1
    np.testing.assert_array_equal(made[0].grad, X.sum(0))


class HalfStopped(mg.autograd.Function):
    """x * w whose backward gives w its gradient and x none (None: x.grad stays None, as PyTorch's)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x)
        return x * w

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return None, grad * x


def test_an_argument_a_function_inside_gives_no_gradient_keeps_grad_none():
    """As without checkpointing: a Function's backward saying None leaves x.grad None (not zeros)."""
    x, w = leaf(X[0]), leaf(W[0, :3])
    checkpoint(lambda x: HalfStopped.apply(x, w).tanh(), x, use_reentrant=False).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad, X[0] * (1 - np.tanh(X[0] * W[0, :3]) ** 2), rtol=1e-12)


def test_a_re_run_returning_a_tensor_where_the_first_run_returned_a_number_is_a_checkpoint_error():
    """The number took no gradient (None): the re-run's tensor in its place is a mismatch of outputs."""
    x, runs = leaf(X), []

    def fickle(x):
        runs.append(1)
        return x.tanh(), (3 if len(runs) == 1 else x * 2)
    a, count = checkpoint(fickle, x, use_reentrant=False, determinism_check="none")
    with pytest.raises(CheckpointError, match="re-run of fickle returned outputs of shapes and dtypes"):
        a.sum().backward()
    assert count == 3 and x.grad is None


class Pair(NamedTuple):
    out: object
    aux: object


def test_a_namedtuple_comes_back_a_namedtuple():
    """PyTorch's non-reentrant checkpoint returns what the function returns."""
    x = leaf(X)
    result = checkpoint(lambda x: Pair(x.tanh(), 3), x, use_reentrant=False)
    assert isinstance(result, Pair) and result.aux == 3
    result.out.sum().backward()
    np.testing.assert_allclose(x.grad, 1 - np.tanh(X) ** 2, rtol=1e-12)


def test_with_several_outputs_the_checkpoint_node_carries_the_function_s_name():
    w = leaf(W)

    def pair(x):
        product = x @ w
        return product.tanh(), product.sin()
    a, b = checkpoint(pair, mg.tensor(X), use_reentrant=False)
    assert checkpoint_node(a).op == "checkpoint" and checkpoint_node(a).label == "pair"
    assert a._node.label is None


# ---- checkpoint: forward mode with recording on ------------------------------------------------------------------

def rtrl_gradient(checkpointed):
    """weight_hh's gradient from rtrl over a short signal, the cell checkpointed or not. rtrl runs each step in
    forward mode with recording on: the block must just run, its tangents flowing through."""
    cell = mg.nn.RNNCell(1, 3, rng=np.random.default_rng(0), dtype=np.float64)
    signal = np.sin(np.linspace(0, 3, 7))

    def step(x, h):
        h = checkpoint(cell, x, h, use_reentrant=False) if checkpointed else cell(x, h)
        return h.sum(1, keepdim=True), h
    rtrl(step, mg.zeros(1, 3, dtype=mg.float64), signal[:-1].reshape(-1, 1, 1), signal[1:].reshape(-1, 1, 1),
         mse_loss, cell.parameters(), k1=6)
    return cell.weight_hh.grad


def test_in_forward_mode_with_recording_on_the_block_just_runs():
    np.testing.assert_allclose(rtrl_gradient(True), rtrl_gradient(False), rtol=1e-12, atol=1e-14)


# ---- checkpoint_sequential ------------------------------------------------------------------------------------------

def test_checkpoint_sequential_preserves_the_generator_by_default(generator_kept):
    """PyTorch's preserve_rng_state=True default: the re-run of the first segment draws the first run's mask."""
    mg.manual_seed(5)
    x = leaf(np.ones((30, 6)))
    out = checkpoint_sequential([mg.nn.Dropout(0.5), mg.nn.Identity()], 2, x, use_reentrant=False)
    out.sum().backward()
    kept = out.data != 0
    assert 0 < kept.mean() < 1 and np.array_equal(x.grad, kept * 2.0)


def test_checkpoint_sequential_hands_preserve_rng_state_false_on(generator_kept):
    mg.manual_seed(5)
    x = leaf(np.ones((30, 6)))
    out = checkpoint_sequential([mg.nn.Dropout(0.5), mg.nn.Identity()], 2, x, use_reentrant=False,
                                preserve_rng_state=False)
    out.sum().backward()
    assert not np.array_equal(x.grad != 0, out.data != 0)       # the re-run drew another mask


def test_checkpoint_sequential_hands_use_reentrant_on():
    with pytest.raises(ValueError, match="checkpoint: use_reentrant must be True or False, got 'yes'"):
        checkpoint_sequential([mg.nn.Tanh()] * 4, 2, leaf(X), use_reentrant="yes")


def test_checkpoint_sequential_names_each_segment_after_its_slice():
    layers = [mg.nn.Tanh()] * 6
    out = checkpoint_sequential(layers, 3, leaf(X), use_reentrant=False)
    labels = []
    stack, seen = [out._node], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if node.op == "checkpoint":
            labels.append(node.label)
        stack.extend(node.inputs)
    assert sorted(labels) == ["functions[0:2]", "functions[2:4]"]


# ---- AdaptiveLogSoftmaxWithLoss -------------------------------------------------------------------------------

def test_adaptive_softmax_defaults_are_pytorchs():
    """PyTorch's signature: div_value=4.0, head_bias=False."""
    module = nn.AdaptiveLogSoftmaxWithLoss(16, 20, [4, 10])
    assert module.div_value == 4.0 and module.head_bias is False
    assert module.head.bias is None and [name for name, _ in module.named_parameters()][0] == "head.weight"


def test_adaptive_softmax_hidden_sizes_are_floored_as_pytorchs():
    """hsz = int(in_features // div_value ** (i + 1)): 7 // 4 = 1, 7 // 16 would be 0 (one cluster here)."""
    module = nn.AdaptiveLogSoftmaxWithLoss(7, 12, [4], div_value=4.0)
    assert module.tail[0][0].weight.shape == (1, 7) and module.tail[0][1].weight.shape == (8, 1)


@pytest.mark.parametrize("div_value", [0, -2.0, float("nan")])
def test_adaptive_softmax_refuses_a_div_value_that_is_not_positive(div_value):
    with pytest.raises(ValueError, match="AdaptiveLogSoftmaxWithLoss: div_value"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 12, [4], div_value=div_value)


def test_adaptive_softmax_refuses_input_with_more_features():
    module = nn.AdaptiveLogSoftmaxWithLoss(6, 10, [3, 6], div_value=2.0, dtype=np.float64)
    with pytest.raises(ValueError, match=r"AdaptiveLogSoftmaxWithLoss: expected input of shape \(\.\.\., 6\), "
                                         r"got \(2, 12\)"):
        module(np.zeros((2, 12)), np.array([0, 1]))


def test_adaptive_softmax_refuses_input_of_another_float_dtype_naming_itself():
    module = nn.AdaptiveLogSoftmaxWithLoss(6, 10, [3, 6], div_value=2.0, dtype=np.float64)
    x = np.zeros((2, 6), np.float32)
    with pytest.raises(TypeError, match="AdaptiveLogSoftmaxWithLoss: expected input of dtype float64"):
        module(x, np.array([0, 1]))
    with pytest.raises(TypeError, match="AdaptiveLogSoftmaxWithLoss: expected input of dtype float64"):
        module.log_prob(x)


def test_adaptive_softmax_with_hundreds_of_classes_reads_targets_past_127():
    """Targets are class indices of any size: a target of 200 lies in the cluster [100, 300)."""
    module = nn.AdaptiveLogSoftmaxWithLoss(4, 300, [100], div_value=2.0, dtype=np.float64,
                                           rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((2, 4))
    output, _ = module(x, np.array([200, 5]))
    full = module.log_prob(x).data                    # log p(c | x) for every c: its own test checks it in numpy
    np.testing.assert_allclose(output.data, [full[0, 200], full[1, 5]], rtol=1e-12)


def test_adaptive_softmax_predict_with_a_single_row_in_a_cluster():
    """PyTorch's predict: rows whose head argmax is a cluster get the full log-prob's argmax, even just one."""
    module = nn.AdaptiveLogSoftmaxWithLoss(6, 10, [3, 6], div_value=2.0, head_bias=True, dtype=np.float64,
                                           rng=np.random.default_rng(0))
    with mg.no_grad():
        module.head.weight.zero_()
        module.head.bias.copy_(mg.tensor([1.0, 0.0, 0.0, 0.0, 0.0]))
        module.head.weight[4, 0] = 100.0              # row 0 (x[0, 0] = 1) picks the second cluster in the head
    x = np.zeros((3, 6))
    x[0, 0] = 1.0
    x[1:, 1:] = np.random.default_rng(2).standard_normal((2, 5))
    predicted = module.predict(x).data
    full = module.log_prob(x).data
    assert 6 <= predicted[0] < 10 and (predicted[1:] < 3).all()    # a class of [6, 10), not the head's column 4
    np.testing.assert_array_equal(predicted, full.argmax(1))


# ---- gumbel_softmax --------------------------------------------------------------------------------------------

def np_gumbel_softmax(logits, tau, seed):
    """softmax((logits + g) / tau) along the last axis, g = -log E, E ~ Exponential(1) from a fresh generator."""
    z = (logits - np.log(np.random.default_rng(seed).standard_exponential(np.shape(logits)))) / tau
    z = np.exp(z - z.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def test_gumbel_softmax_tau_defaults_to_one():
    """PyTorch's signature: tau=1."""
    logits = np.random.default_rng(0).standard_normal((3, 4))
    y = F.gumbel_softmax(mg.tensor(logits), rng=np.random.default_rng(9))
    np.testing.assert_allclose(y.data, np_gumbel_softmax(logits, 1.0, 9), rtol=1e-12, atol=1e-15)


def test_gumbel_softmax_warns_for_any_eps_but_the_default():
    """PyTorch's: `if eps != 1e-10: warnings.warn(...)`, a smaller eps included."""
    with pytest.warns(UserWarning, match="gumbel_softmax: `eps` parameter is deprecated"):
        F.gumbel_softmax(mg.tensor(np.zeros(3)), eps=1e-20, rng=np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.gumbel_softmax(mg.tensor(np.zeros(3)), eps=1e-10, rng=np.random.default_rng(0))


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_output_is_labelled_for_drawings(hard):
    y = F.gumbel_softmax(leaf(np.zeros((2, 3))), hard=hard, rng=np.random.default_rng(0))
    assert y._node.label == "gumbel_softmax"


# ---- vector_to_parameters --------------------------------------------------------------------------------------

def test_vector_to_parameters_takes_a_single_tensor():
    """As parameters_to_vector does (and clip_grad_norm_): one tensor is the list of itself."""
    weight = leaf(np.zeros((2, 3)))
    vector_to_parameters(mg.tensor(np.arange(6.0)), weight)
    np.testing.assert_array_equal(weight.data, np.arange(6.0).reshape(2, 3))


# ---- bug: an output that is a tensor from outside the block ----------------------------------------------------

@pytest.mark.parametrize("how", ["closure", "computed closure", "keyword", "read and returned"])
def test_an_output_that_is_a_tensor_from_outside_passes_its_gradient_on(how):
    """PyTorch's non-reentrant checkpoint returns the function's outputs as they are: b is w (or w * 1), and
    d(sum(a) + sum(3 b))/dw = 3 everywhere (plus x where a = x * w reads it too), as without checkpointing."""
    x, w = leaf(X), leaf(X[::-1])
    outside = w * 1.0 if how == "computed closure" else w
    if how == "keyword":
        a, b = checkpoint(lambda x, *, k: (x * 2, k), x, k=outside, use_reentrant=False)
    elif how == "read and returned":
        a, b = checkpoint(lambda x: (x * outside, outside), x, use_reentrant=False)
    else:
        a, b = checkpoint(lambda x: (x * 2, outside), x, use_reentrant=False)
    (a.sum() + (b * 3).sum()).backward()
    reads = how == "read and returned"
    np.testing.assert_array_equal(x.grad, X[::-1] if reads else np.full(X.shape, 2.0))
    assert w.grad is not None
    np.testing.assert_array_equal(w.grad, 3.0 + X if reads else np.full(X.shape, 3.0))


# ---- bug: a tuple argument ---------------------------------------------------------------------------------------

def test_a_shape_given_as_a_tuple_argument():
    """PyTorch's checkpoint hands positional arguments on as they are: d sum(exp(x)) / dx = exp(x)."""
    x = leaf(np.linspace(-1, 1, 12))
    checkpoint(lambda x, shape: x.reshape(shape).exp(), x, (3, 4), use_reentrant=False).sum().backward()
    np.testing.assert_allclose(x.grad, np.exp(np.linspace(-1, 1, 12)), rtol=1e-12)


def test_an_lstm_cell_checkpointed_with_its_state_tuple_gets_the_unchecked_gradients():
    """checkpoint(cell, x, (h, c)), the way an LSTM step is checkpointed in PyTorch: the same gradients as the
    cell run without checkpointing, for its parameters, its input and the state's leaves."""
    cell = mg.nn.LSTMCell(3, 4, rng=np.random.default_rng(0), dtype=np.float64)
    draw = np.random.default_rng(1)
    x, h0, c0 = leaf(draw.standard_normal((2, 3))), leaf(draw.standard_normal((2, 4))), leaf(draw.standard_normal((2, 4)))

    def gradients(run):
        for t in [x, h0, c0, *cell.parameters()]:
            t.grad = None
        h, c = run(x, (h0 * 1.0, c0 * 1.0))
        (h.sum() + 2 * c.sum()).backward()
        return [t.grad.copy() for t in [x, h0, c0, *cell.parameters()]]
    expected = gradients(cell)
    got = gradients(lambda x, state: checkpoint(cell, x, state, use_reentrant=False))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)
