"""A conformance audit of the library against its public contract, statement by statement.

The tests are grouped as the contract is: tensors and autodiff, the PyTorch spellings, forward mode,
the functional losses, the modules, the optimizers, truncated BPTT (its definition and its API), RTRL,
and the drawings; then what the contract calls safe (read-only arrays, saving, loading and stepping all
or nothing, errors before any state changes). Each docstring says, in other words, the statement it
checks. Expected values come from hand-written numpy, closed forms or central differences in float64.

PyTorch sources read for the conventions checked here:
- pytorch/pytorch, torch/optim/adamw.py @ c15fcf4eb79daaf10e12cecdf7fee15cde6cc530 (AdamW's algorithm: the
  decoupled decay theta <- theta - lr * lambda * theta before the Adam step; weight_decay default 1e-2);
- pytorch/pytorch, torch/optim/rmsprop.py @ e7c1e6a8e39df0d206efe247f5eb0481eb8b8b6c (square_avg =
  alpha * square_avg + (1 - alpha) g^2; p -= lr * g / (sqrt(square_avg) + eps));
- pytorch/pytorch, torch/nn/utils/clip_grad.py @ 20592e4db96fcad1c113bfd4fc1832258767ba26 (the total
  norm is returned; grads are multiplied by clamp(max_norm / (total_norm + 1e-6), max=1));
- pytorch/pytorch, torch/nn/modules/rnn.py @ e6f551aa3e44ae79694352a686f9cf503768ead6 (dropout "after all
  but last recurrent layer"; reset_parameters draws uniform(-1/sqrt(hidden_size), 1/sqrt(hidden_size))).
"""

import gc
import io
import operator
import threading

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F

F64 = np.float64


def f64(values, requires_grad=False):
    return mg.tensor(np.asarray(values, dtype=F64), requires_grad=requires_grad)


def central_difference(fn, x, eps=1e-6):
    """d fn / d x for a scalar numpy function of an array, by central differences in float64."""
    x = np.array(x, dtype=F64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        grad[index] = (fn(up) - fn(down)) / (2 * eps)
    return grad


# ==== Tensors and autodiff ==========================================================================

def test_a_tensor_holds_a_copy_and_keeps_float_dtypes_python_lists_default_to_float32():
    """The library's contract: `Tensor(data, requires_grad=False, dtype=None)` and `tensor(...)` make an
    array of their own (a copy); float data keeps its dtype, Python lists default to float32, `dtype=`
    converts."""
    source = np.array([1.0, 2.0])
    t = mg.tensor(source)
    assert not np.shares_memory(t.data, source) and t.dtype == F64
    assert mg.tensor(np.ones(2, np.float16)).dtype == np.float16
    assert mg.tensor([1.0, 2.0]).dtype == np.float32
    assert mg.tensor(source, dtype=np.float32).dtype == np.float32
    positional = mg.Tensor([1.0, 2.0], True, F64)          # the contract's order: data, requires_grad, dtype
    assert positional.requires_grad and positional.dtype == F64


def test_grad_is_none_before_backward_then_in_the_datas_shape_and_dtype():
    """The library's contract: `t.grad` is None until a backward pass reaches t, then a numpy array of
    t.data's shape and dtype (here a float32 (3, 1) leaf broadcast against a float64 constant)."""
    w = mg.tensor(np.array([[1.0], [2.0], [3.0]], np.float32), requires_grad=True)
    assert w.grad is None
    (w * np.arange(4.0)).sum().backward()           # the product is float64; the gradient comes back float32
    assert type(w.grad) is np.ndarray and w.grad.shape == (3, 1) and w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad, np.full((3, 1), 6.0))       # sum over the broadcast axis of 0..3


def test_assigning_data_needs_the_same_shape_and_dtype():
    """The library's contract: values change by assigning a new array to t.data; its shape and dtype must
    match, else ValueError."""
    t = mg.tensor(np.zeros(2, np.float32))
    t.data = np.array([1.0, 2.0], np.float32)
    np.testing.assert_array_equal(t.data, [1.0, 2.0])
    for wrong in (np.zeros(3, np.float32), np.zeros(2, F64), np.array([1, 2])):
        with pytest.raises(ValueError, match="Tensor.data"):
            t.data = wrong
    np.testing.assert_array_equal(t.data, [1.0, 2.0])


def test_in_place_operators_under_no_grad_give_a_new_array_and_recorded_graphs_keep_the_old():
    """The library's contract: under no_grad, `p -= lr * p.grad` gives the tensor a new array; graphs that
    recorded the old array keep it (d sum(p^2)/dp is 2 p at the recorded p)."""
    p = f64([1.0, 2.0], requires_grad=True)
    loss = (p * p).sum()
    old = p.data
    with mg.no_grad():
        p -= 0.5
    np.testing.assert_array_equal(old, [1.0, 2.0])
    np.testing.assert_array_equal(p.data, [0.5, 1.5])
    loss.backward()
    np.testing.assert_array_equal(p.grad, [2.0, 4.0])


def test_numpy_returns_the_data_itself_read_only():
    """The library's contract: `t.numpy()` returns the data (not a copy that tracks grad); the array a
    tensor holds is read-only."""
    t = f64([1.0, 2.0], requires_grad=True)
    out = t.numpy()
    assert type(out) is np.ndarray and np.shares_memory(out, t.data) and not out.flags.writeable


def test_backward_needs_grad_for_more_than_one_element_accumulates_and_refuses_a_freed_graph():
    """The library's contract: grad may be omitted only for a one-element tensor (else ValueError); leaf
    grads accumulate across calls; a second pass over a freed graph raises RuntimeError saying so."""
    x = f64([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="backward"):
        (x * x).backward()
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])          # 2 x, twice
    with pytest.raises(RuntimeError, match="freed"):
        loss.backward()


def test_detach_shares_the_data_without_history_and_no_grad_records_nothing():
    """The library's contract: `t.detach()` has the same data and no history; nothing is recorded inside
    `mg.no_grad()`."""
    x = f64([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and np.array_equal(d.data, [2.0, 4.0])
    with mg.no_grad():
        y = x * 3
    assert not y.requires_grad


def test_broadcasting_sums_each_operands_gradient_back_to_its_shape():
    """The library's contract: numpy broadcasting everywhere, with gradients summed back to each operand's
    shape: for L = sum(a * b), a (3, 1) and b (1, 4), dL/da = b summed over its 4 columns."""
    a_values, b_values = np.arange(3.0).reshape(3, 1), np.arange(4.0).reshape(1, 4) + 1
    a, b = f64(a_values, True), f64(b_values, True)
    (a * b).sum().backward()
    np.testing.assert_array_equal(a.grad, np.full((3, 1), b_values.sum()))
    np.testing.assert_array_equal(b.grad, np.full((1, 4), a_values.sum()))


def test_integer_array_indexing_adds_the_gradient_of_a_repeated_index():
    """The library's contract: `__getitem__` takes basic slices and integer arrays; an index taken twice
    gets both gradients."""
    x = f64(np.arange(6.0).reshape(3, 2), True)
    picked = x[np.array([0, 2, 0])]
    (picked * np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[6.0, 8.0], [0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_array_equal(x[1:, ::-1].data, [[3.0, 2.0], [5.0, 4.0]])


X0 = np.array([[0.3, -1.2, 0.7, 2.0], [-0.4, 0.9, -1.5, 0.2], [1.1, -0.6, 0.35, -2.2]])
WEIGHTS = np.arange(1.0, 13.0).reshape(3, 4) / 7.0

METHODS = {     # name: (the library's call, the same in numpy)
    "sum": (lambda t: t.sum(axis=1), lambda a: a.sum(axis=1)),
    "sum keepdims": (lambda t: t.sum(axis=0, keepdims=True), lambda a: a.sum(axis=0, keepdims=True)),
    "mean": (lambda t: t.mean(axis=1), lambda a: a.mean(axis=1)),
    "max": (lambda t: t.max(axis=1, keepdims=True), lambda a: a.max(axis=1, keepdims=True)),
    "reshape": (lambda t: t.reshape(2, 6), lambda a: a.reshape(2, 6)),
    "transpose": (lambda t: t.transpose(1, 0), lambda a: a.transpose(1, 0)),
    ".T": (lambda t: t.T, lambda a: a.T),
    "exp": (lambda t: t.exp(), np.exp),
    "log": (lambda t: (t * t + 1).log(), lambda a: np.log(a * a + 1)),
    "tanh": (lambda t: t.tanh(), np.tanh),
    "sigmoid": (lambda t: t.sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
    "relu": (lambda t: t.relu(), lambda a: np.maximum(a, 0)),
    "abs": (lambda t: t.abs(), np.abs),
    "sqrt": (lambda t: (t * t + 1).sqrt(), lambda a: np.sqrt(a * a + 1)),
    "clip": (lambda t: t.clip(-0.5, 0.8), lambda a: np.clip(a, -0.5, 0.8)),
}


@pytest.mark.parametrize("name", list(METHODS))
def test_each_method_of_the_contract_matches_numpy_and_central_differences(name):
    """The library's contract lists the methods sum, mean, max (axis=, keepdims=), reshape, transpose, .T,
    exp, log, tanh, sigmoid, relu, abs, sqrt and clip(lo, hi): each gives numpy's value, and the gradient
    of sum(weights * method(x)) is the central difference of the same numpy expression."""
    ours, theirs = METHODS[name]
    x = f64(X0, True)
    y = ours(x)
    np.testing.assert_allclose(y.data, theirs(X0), rtol=1e-12)
    weights = np.arange(1.0, y.data.size + 1).reshape(y.shape) / 5.0
    (y * weights).sum().backward()
    expected = central_difference(lambda a: (theirs(a) * weights).sum(), X0)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6, atol=1e-8)


def test_concat_stack_and_where_send_each_part_its_gradient():
    """The library's contract: `concat(tensors, axis=0)`, `stack(tensors, axis=0)`, `where(cond, a, b)`
    are functions with gradients."""
    a, b = f64([[1.0, 2.0]], True), f64([[3.0, 4.0]], True)
    (mg.concat([a, b], axis=0) * np.array([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(a.grad, [[1.0, 2.0]])
    np.testing.assert_array_equal(b.grad, [[3.0, 4.0]])
    a.grad = b.grad = None
    (mg.stack([a, b], axis=1) * np.arange(4.0).reshape(1, 2, 2)).sum().backward()
    np.testing.assert_array_equal(a.grad, [[0.0, 1.0]])
    np.testing.assert_array_equal(b.grad, [[2.0, 3.0]])
    a.grad = b.grad = None
    mg.where(np.array([[True, False]]), a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [[1.0, 0.0]])
    np.testing.assert_array_equal(b.grad, [[0.0, 1.0]])


def test_zeros_ones_and_randn_with_an_rng():
    """The library's contract: `zeros(shape)`, `ones(shape)` in the default dtype, and
    `randn(*shape, rng=None)` drawn from the generator given."""
    assert mg.zeros((2, 3)).dtype == np.float32 and not mg.zeros((2, 3)).data.any()
    assert mg.ones((2, 3)).data.sum() == 6
    drawn = mg.randn(2, 3, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(drawn.data, np.random.default_rng(7).standard_normal((2, 3)).astype(np.float32))


class _WrongSquare(mg.autograd.Function):
    """x^2 with the wrong derivative 3 x (the right one is 2 x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x


def test_gradcheck_returns_true_or_names_the_input_the_worst_index_and_both_values():
    """The library's contract: gradcheck compares autodiff with central differences for every input that
    requires grad, returns True, or raises GradcheckError naming the input, the worst index and both
    values."""
    a, b = f64([1.0, 2.0], True), f64([[1.0, 2.0], [3.0, 5.0]], True)
    assert mg.gradcheck(lambda a, b: (a.sum() * b * b).sum(), [a, b]) is True
    with pytest.raises(mg.GradcheckError) as caught:
        mg.gradcheck(lambda a, b: (_WrongSquare.apply(b) * a.sum()).sum(), [a, b])
    message = str(caught.value)
    assert "input 1" in message and "(1, 1)" in message            # b[1, 1] = 5: 3 * 5 * 3 against 2 * 5 * 3
    assert "45" in message and "30" in message


def test_detect_anomaly_names_the_op_its_shapes_and_the_time_step():
    """The library's contract: under detect_anomaly the first op whose forward output or backward gradient
    holds NaN or inf raises FloatingPointError naming the op, its shapes and, when known, the step."""
    x = f64([0.0, 1.0], True)
    with np.errstate(divide="ignore"), mg.detect_anomaly(), mg.viz.step(3):
        with pytest.raises(FloatingPointError, match=r"log.*t = 3.*\(2,\)"):
            x.log()
    with np.errstate(divide="ignore"), mg.detect_anomaly():
        root = (x * 1.0).sqrt()
        with pytest.raises(FloatingPointError, match=r"sqrt.*backward.*\(2,\)"):
            root.sum().backward()


def test_a_python_scalar_is_accepted_as_the_gradient_of_backward():
    """The library's contract: wherever a tensor is taken, `backward(grad=...)` included, a numpy array or a
    Python scalar is accepted as a constant: backward(2.0) on a one-element loss scales its gradient."""
    x = f64([1.0, 3.0], True)
    (x * x).sum().backward(2.0)
    np.testing.assert_array_equal(x.grad, [4.0, 12.0])
    x.grad = None
    (x * x).backward(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, -6.0])


def test_clip_takes_numpy_array_bounds_as_constants():
    """The library's contract: wherever a tensor is taken (operands), a numpy array is accepted too, as a
    constant; clip(lo, hi) takes tensor bounds, so it takes array bounds, broadcast as numpy's clip does.
    (It refused them with TypeError before this audit.)"""
    x = f64([[1.0, 2.0], [-3.0, 0.5]], True)
    lo, hi = np.array([0.0, 1.0]), np.array([[1.5], [0.2]])
    y = x.clip(lo, hi)
    np.testing.assert_array_equal(y.data, np.clip(x.data, lo, hi))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 0.0], [0.0, 0.0]])        # 1 where lo <= x <= hi
    np.testing.assert_array_equal(x.clamp_min(lo).data, np.maximum(x.data, lo))
    np.testing.assert_array_equal(x.clamp_max(np.array(0.7)).data, np.minimum(x.data, 0.7))
    np.testing.assert_array_equal(mg.clamp(x, None, hi).data, np.minimum(x.data, hi))


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow])
def test_python_scalars_work_on_either_side_of_every_operator(op):
    """The library's contract: Python scalars work on either side of every operator (+ - * / **)."""
    values = np.array([1.5, 2.0])
    x = f64(values)
    np.testing.assert_allclose(op(x, 3.0).data, op(values, 3.0), rtol=1e-15)
    np.testing.assert_allclose(op(3.0, x).data, op(3.0, values), rtol=1e-15)


def test_power_takes_a_tensor_exponent_with_both_gradients():
    """The library's contract: `**` takes a scalar or a tensor exponent: d b^e/db = e b^(e-1),
    d b^e/de = b^e log b."""
    base, exponent = f64([1.5, 2.0], True), f64([2.0, 3.0], True)
    (base ** exponent).sum().backward()
    np.testing.assert_allclose(base.grad, [2 * 1.5, 3 * 4.0], rtol=1e-14)
    np.testing.assert_allclose(exponent.grad, [1.5 ** 2 * np.log(1.5), 8 * np.log(2.0)], rtol=1e-14)


def test_the_default_dtype_sets_python_data_tensors_and_module_parameters(float64_default):
    """The library's contract: set_default_dtype(np.float64) sets the dtype of new Python-data tensors and of
    module parameters; modules also take dtype=."""
    assert mg.get_default_dtype() == F64
    assert mg.tensor([1.0]).dtype == F64 and mg.zeros(2).dtype == F64
    assert nn.Linear(2, 3).weight.dtype == F64 and nn.LSTM(2, 3).weight_hh_l0.dtype == F64
    assert nn.GRUCell(2, 3, dtype=np.float32).weight_ih.dtype == np.float32


def test_errors_name_the_op_and_both_shapes_and_integers_cannot_require_grad():
    """The library's contract: a shape mismatch raises ValueError naming the op and both shapes; integer
    tensors cannot require grad (TypeError)."""
    with pytest.raises(ValueError, match=r"add.*\(2, 3\).*\(4, 4\)"):
        mg.ones((2, 3)) + mg.ones((4, 4))
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 4\)"):
        mg.ones((2, 3)) @ mg.ones((4, 4))
    with pytest.raises(TypeError):
        mg.tensor([1, 2], requires_grad=True)


def test_no_grad_and_detect_anomaly_in_one_thread_change_nothing_another_records():
    """The library's contract: recording state is per thread: while one thread sits inside no_grad() and
    detect_anomaly(), another records and gets exactly the gradient it would get alone (d 3 w^2/dw = 6 w),
    and an inf it makes is not an anomaly."""
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def holder():
        with mg.no_grad(), mg.detect_anomaly():
            inside.set()
            done.wait(10)

    def trainer():
        inside.wait(10)
        w = f64([1.0, -2.0], True)
        (3 * w * w).sum().backward()
        seen["grad"] = w.grad
        with np.errstate(divide="ignore"):
            seen["log0"] = f64([0.0]).log().data
        done.set()

    threads = [threading.Thread(target=holder), threading.Thread(target=trainer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    np.testing.assert_array_equal(seen["grad"], [6.0, -12.0])
    assert np.isneginf(seen["log0"]).all()


# ==== PyTorch spellings ============================================================================

def test_dim_and_keepdim_are_accepted_wherever_axis_and_keepdims_are():
    """The library's contract: dim=, keepdim= are accepted wherever axis=, keepdims= are: reductions,
    softmax, log_softmax, concat and stack."""
    x = f64(X0)
    np.testing.assert_allclose(x.sum(dim=1, keepdim=True).data, X0.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(x.mean(dim=0).data, X0.mean(axis=0))
    np.testing.assert_allclose(x.max(dim=1, keepdim=True).values.data, X0.max(axis=1, keepdims=True))
    exp = np.exp(X0 - X0.max(axis=0))
    np.testing.assert_allclose(F.softmax(x, dim=0).data, exp / exp.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(F.log_softmax(x, dim=0).data, np.log(exp / exp.sum(axis=0)), rtol=1e-12)
    assert mg.cat([x, x], dim=1).shape == (3, 8) and mg.stack([x, x], dim=2).shape == (3, 4, 2)


def test_the_shape_spellings_are_pytorchs():
    """The library's contract: view (reshape), squeeze(dim=None), unsqueeze(dim), flatten(), t(),
    size(dim=None), numel(), dim() as in PyTorch."""
    x = mg.ones((1, 3, 1))
    assert x.view(3, 1).shape == (3, 1) and x.squeeze().shape == (3,) and x.squeeze(0).shape == (3, 1)
    assert x.squeeze(1).shape == (1, 3, 1) and x.unsqueeze(-1).shape == (1, 3, 1, 1)
    assert mg.ones((2, 3, 4)).flatten().shape == (24,) and mg.ones((2, 3)).t().shape == (3, 2)
    assert x.size() == (1, 3, 1) and x.size(1) == 3 and x.numel() == 3 and x.dim() == 3


def test_argmax_and_argmin_are_integer_tensors_without_gradient():
    """The library's contract: `argmax(dim=None)`, `argmin(...)` are integer tensors with no gradient."""
    x = f64(X0, True)
    for result, expected in ((x.argmax(), X0.argmax()), (x.argmax(dim=1), X0.argmax(axis=1)),
                             (x.argmin(dim=0), X0.argmin(axis=0))):
        assert result.dtype.kind == "i" and not result.requires_grad
        np.testing.assert_array_equal(result.data, expected)


def test_float_int_take_one_element_and_bool_of_more_raises():
    """The library's contract: float(t), int(t) for one-element tensors only; bool(t) of more than one
    element raises (RuntimeError, as PyTorch)."""
    assert float(f64([2.5])) == 2.5 and int(f64([2.5])) == 2
    for convert in (float, int):
        with pytest.raises((TypeError, ValueError)):
            convert(f64([1.0, 2.0]))
    with pytest.raises(RuntimeError):
        bool(f64([1.0, 1.0]))


def test_to_cpu_moves_nothing_and_dtypes_convert_with_gradient():
    """The library's contract: a device of "cpu" is accepted and nothing moves; dtypes convert (t.to,
    t.float(), t.double(), model.to)."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert x.to("cpu") is x and x.cpu() is x
    wide = x.double()
    assert wide.dtype == F64 and x.to(F64).dtype == F64 and wide.float().dtype == np.float32
    (wide * wide).sum().backward()
    assert x.grad.dtype == np.float32 and np.array_equal(x.grad, [2.0, 4.0])
    model = nn.Linear(2, 2)
    assert model.to("cpu") is model and model.to(F64).weight.dtype == F64


def test_the_creation_functions_are_pytorchs():
    """The library's contract: cat, arange, zeros_like, ones_like, full, rand, multinomial(probs,
    num_samples) as in PyTorch (arange of ints is int64; multinomial without replacement by default)."""
    assert mg.arange(5).dtype == np.int64 and np.array_equal(mg.arange(1, 4).data, [1, 2, 3])
    np.testing.assert_allclose(mg.arange(0, 1, 0.25).data, [0.0, 0.25, 0.5, 0.75])
    like = f64(np.ones((2, 2)))
    assert mg.zeros_like(like).dtype == F64 and mg.ones_like(like).data.sum() == 4
    assert np.array_equal(mg.full((2,), 3.0).data, [3.0, 3.0]) and mg.full((2,), 3).dtype == np.int64
    drawn = mg.rand(1000).data
    assert drawn.min() >= 0 and drawn.max() < 1
    picks = mg.multinomial(mg.tensor([0.2, 0.0, 0.8]), 2).data
    assert sorted(picks.tolist()) == [0, 2]
    assert set(mg.multinomial(mg.tensor([0.0, 1.0]), 5, replacement=True).data.tolist()) == {1}


def test_functional_is_a_real_module_and_the_nn_names_exist():
    """The library's contract: `import microgradseq.nn.functional as F` is a real module with relu, tanh,
    sigmoid, dropout, nll_loss, cross_entropy, mse_loss, softmax, log_softmax; nn has Sequential, ModuleList,
    Dropout, Tanh, ReLU, CrossEntropyLoss, NLLLoss, MSELoss; nn.utils' clip functions are mg.optim's."""
    import types
    assert isinstance(F, types.ModuleType)
    for name in ("relu", "tanh", "sigmoid", "dropout", "nll_loss", "cross_entropy", "mse_loss", "softmax",
                 "log_softmax"):
        assert callable(getattr(F, name))
    for name in ("Sequential", "ModuleList", "Dropout", "Tanh", "ReLU", "CrossEntropyLoss", "NLLLoss", "MSELoss"):
        assert isinstance(getattr(nn, name), type)
    assert nn.utils.clip_grad_norm_ is mg.optim.clip_grad_norm_
    assert nn.utils.clip_grad_value_ is mg.optim.clip_grad_value_


@pytest.mark.parametrize("kind", [nn.RNN, nn.LSTM, nn.GRU])
def test_layer_dropout_acts_between_layers_in_training_only(kind):
    """The library's contract: RNN/LSTM/GRU(..., dropout=p) drop out between layers in training mode, as
    PyTorch ("after all but last recurrent layer"): with p = 1 the top layer reads zeros, while the bottom
    layer's final state, never dropped, is the eval-mode one."""
    layer = kind(3, 4, 2, dropout=1.0, rng=np.random.default_rng(0), dtype=F64)
    x = f64(np.random.default_rng(1).normal(size=(5, 2, 3)))
    layer.eval()
    out_eval, state_eval = layer(x)
    layer.train()
    out_train, state_train = layer(x)
    h_eval, h_train = (state_eval[0], state_train[0]) if kind is nn.LSTM else (state_eval, state_train)
    np.testing.assert_allclose(h_train.data[0], h_eval.data[0], rtol=1e-14)
    weights = {name: p.data for name, p in layer.named_parameters()}
    top = kind(3, 4, 1, dtype=F64)       # the top layer alone, fed zeros
    top.load_state_dict({name.replace("_l1", "_l0"): value for name, value in weights.items() if "_l1" in name}
                        | {"weight_ih_l0": np.zeros((weights["weight_ih_l1"].shape[0], 3))})
    np.testing.assert_allclose(out_train.data, top(x)[0].data, rtol=1e-12)
    assert not np.allclose(out_train.data, out_eval.data)


@pytest.mark.parametrize("name, args", [("uniform_", (-0.1, 0.1)), ("normal_", (0.0, 1.0)), ("zeros_", ()),
                                        ("ones_", ()), ("constant_", (3.0,)), ("xavier_uniform_", ()),
                                        ("orthogonal_", ())])
def test_init_gives_the_parameter_a_new_array_and_recorded_graphs_keep_the_old(name, args):
    """The library's contract: nn.init.uniform_, normal_, zeros_, ones_, constant_, xavier_uniform_,
    orthogonal_ give the parameter a new array (arrays are read-only)."""
    p = nn.Parameter(np.full((3, 4), 0.5))
    old = p.data
    loss = (p * p).sum()
    assert getattr(nn.init, name)(p, *args) is p
    assert p.data is not old and not p.data.flags.writeable and np.array_equal(old, np.full((3, 4), 0.5))
    loss.backward()
    np.testing.assert_array_equal(p.grad, np.full((3, 4), 1.0))


def test_adamw_and_rmsprop_follow_pytorchs_formulas():
    """The library's contract: optim.AdamW and optim.RMSprop use PyTorch's update formulas (AdamW: decoupled
    decay, then Adam's step; RMSprop: g / (sqrt(square_avg) + eps))."""
    rng = np.random.default_rng(3)
    start, grads = rng.normal(size=3), [rng.normal(size=3) for _ in range(4)]

    def run(make):
        p = f64(start, True)
        optimizer = make([p])
        for g in grads:
            p.grad = g
            optimizer.step()
        return p.data

    theta, m, v = start.copy(), np.zeros(3), np.zeros(3)
    lr, (b1, b2), eps, decay = 0.01, (0.9, 0.999), 1e-8, 0.01
    for t, g in enumerate(grads, 1):
        theta = theta - lr * decay * theta
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        theta = theta - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    np.testing.assert_allclose(run(lambda ps: mg.optim.AdamW(ps, lr=lr)), theta, rtol=1e-12)
    theta, square_avg, alpha = start.copy(), np.zeros(3), 0.99
    for g in grads:
        square_avg = alpha * square_avg + (1 - alpha) * g * g
        theta = theta - 0.01 * g / (np.sqrt(square_avg) + 1e-8)
    np.testing.assert_allclose(run(lambda ps: mg.optim.RMSprop(ps, lr=0.01)), theta, rtol=1e-12)


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Embedding(5, 3, dtype=F64)
        self.decoder = nn.Linear(3, 5, dtype=F64)
        self.decoder.weight = self.encoder.weight


def test_a_tied_weight_is_listed_under_every_name_and_loads_back():
    """The library's contract: with tied weights (decoder.weight = encoder.weight) state_dict() lists the
    shared parameter under every name, as PyTorch does, and load_state_dict accepts that."""
    model = _Tied()
    state = model.state_dict()
    assert set(state) == {"encoder.weight", "decoder.weight", "decoder.bias"}
    values = np.arange(15.0).reshape(5, 3)
    model.load_state_dict({"encoder.weight": values, "decoder.weight": values, "decoder.bias": np.zeros(5)})
    assert model.decoder.weight is model.encoder.weight
    np.testing.assert_array_equal(model.encoder.weight.data, values)


def test_save_and_load_take_a_path_or_a_binary_file_object(tmp_path):
    """The library's contract: save(obj, f) and load(f) with f a path or a binary file object; a module's
    state_dict goes to an .npz that numpy reads without pickle."""
    model = nn.GRU(2, 3, dtype=F64)
    path = tmp_path / "gru.npz"
    mg.save(model, path)
    with np.load(path, allow_pickle=False) as archive:
        assert set(archive.files) == set(model.state_dict())
    buffer = io.BytesIO()
    mg.save(model.state_dict(), buffer)
    buffer.seek(0)
    for loaded in (mg.load(path), mg.load(buffer)):
        assert all(np.array_equal(loaded[name], value) for name, value in model.state_dict().items())


# ==== Forward mode ===================================================================================

A = np.array([[1.0, -2.0, 0.5], [0.3, 0.7, -1.1]])
X1 = np.array([0.2, -0.4, 0.9])


def jacobian_of_tanh_a_x(x):
    """J of tanh(A x): diag(1 - tanh(A x)^2) A."""
    return (1 - np.tanh(A @ x) ** 2)[:, None] * A


def test_jvp_is_f_and_j_v_in_one_pass_with_no_tape_and_k_directions():
    """The library's contract: jvp(fn, inputs, tangents) runs fn once and returns (f(x), J v); nothing is
    recorded; a tangent with a leading axis of k directions gives k JVPs in one pass."""
    calls = []

    def fn(x):
        calls.append(1)
        return (mg.tensor(A) @ x).tanh()

    x = f64(X1, True)
    v = np.array([1.0, 0.5, -2.0])
    output, tangent = mg.jvp(fn, [x], [v])
    np.testing.assert_allclose(output.data, np.tanh(A @ X1), rtol=1e-14)
    np.testing.assert_allclose(tangent, jacobian_of_tanh_a_x(X1) @ v, rtol=1e-12)
    assert not output.requires_grad and x.grad is None
    directions = np.random.default_rng(0).normal(size=(4, 3))
    _, tangents = mg.jvp(fn, [x], [directions])
    np.testing.assert_allclose(tangents, directions @ jacobian_of_tanh_a_x(X1).T, rtol=1e-12)
    assert len(calls) == 2


def test_jvp_of_a_tuple_of_outputs_gives_a_tuple_of_outputs_and_of_tangents():
    """The library's contract: jvp returns (output, tangent_out) = (f(x), J v), output a tensor or a tuple of
    tensors (then a tuple of tangents): f's tuple comes back a tuple (it came back a list before this audit)."""
    output, tangents = mg.jvp(lambda x: (x * 2, x.exp()), [f64([0.0, 1.0])], [np.array([1.0, 1.0])])
    assert type(output) is tuple and type(tangents) is tuple and len(output) == 2
    np.testing.assert_allclose(output[1].data, np.exp([0.0, 1.0]), rtol=1e-15)
    np.testing.assert_allclose(tangents[1], np.exp([0.0, 1.0]), rtol=1e-15)


def test_vjp_and_jacobian_in_both_modes_match_the_closed_form():
    """The library's contract: vjp(fn, inputs, cotangent) is (f(x), u^T J), one array per input;
    jacobian(fn, inputs, mode) is the full Jacobian row by row ("rev") or column by column ("fwd")."""
    fn = lambda x: (mg.tensor(A) @ x).tanh()         # noqa: E731
    u = np.array([0.7, -1.3])
    output, (grad,) = mg.vjp(fn, [f64(X1)], u)
    np.testing.assert_allclose(output.data, np.tanh(A @ X1), rtol=1e-14)
    np.testing.assert_allclose(grad, u @ jacobian_of_tanh_a_x(X1), rtol=1e-12)
    for mode in ("rev", "fwd"):
        np.testing.assert_allclose(mg.jacobian(fn, [f64(X1)], mode=mode), jacobian_of_tanh_a_x(X1), rtol=1e-12)


def test_a_tangent_of_the_wrong_shape_names_the_inputs_position_and_both_shapes():
    """The library's contract: tangents of the wrong shape raise ValueError naming the input's position and
    both shapes."""
    with pytest.raises(ValueError, match=r"input 1.*\(2, 2\).*\(3,\)"):
        mg.jvp(lambda a, b: (a * b).sum(), [f64(X1), f64(X1)], [np.ones(3), np.ones((2, 2))])


# ==== mg.nn.functional ===============================================================================

LOGITS = np.array([[1.0, -0.5, 2.0], [0.3, 0.3, -1.0], [-2.0, 1.0, 0.0], [0.0, 0.5, 0.25]])
CLASSES = np.array([2, 0, 1, 1])
PROBABILITIES = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.1, 0.8, 0.1], [0.25, 0.25, 0.5]])


def log_softmax_rows(z):
    return z - z.max(axis=1, keepdims=True) - np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(1, keepdims=True))


def test_cross_entropy_takes_class_indices_or_probabilities_with_three_reductions():
    """The library's contract: cross_entropy(logits, target, reduction="mean") with logits (B, C) and target
    integer classes (B,) or a (B, C) probability array; reduction "mean", "sum" or "none"."""
    per_row = -log_softmax_rows(LOGITS)[np.arange(4), CLASSES]
    np.testing.assert_allclose(F.cross_entropy(f64(LOGITS), CLASSES).data, per_row.mean(), rtol=1e-14)
    np.testing.assert_allclose(F.cross_entropy(f64(LOGITS), CLASSES, reduction="sum").data, per_row.sum(), rtol=1e-14)
    np.testing.assert_allclose(F.cross_entropy(f64(LOGITS), CLASSES, reduction="none").data, per_row, rtol=1e-14)
    soft = -(PROBABILITIES * log_softmax_rows(LOGITS)).sum(axis=1)
    np.testing.assert_allclose(F.cross_entropy(f64(LOGITS), PROBABILITIES).data, soft.mean(), rtol=1e-14)
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(f64(LOGITS), CLASSES, reduction="average")


def test_mse_loss_has_the_three_reductions():
    """The library's contract: mse_loss(pred, target, reduction="mean"), reduction "mean", "sum" or "none"."""
    target = PROBABILITIES
    squares = (LOGITS - target) ** 2
    np.testing.assert_allclose(F.mse_loss(f64(LOGITS), target).data, squares.mean(), rtol=1e-14)
    np.testing.assert_allclose(F.mse_loss(f64(LOGITS), target, reduction="sum").data, squares.sum(), rtol=1e-14)
    np.testing.assert_allclose(F.mse_loss(f64(LOGITS), target, reduction="none").data, squares, rtol=1e-14)


def test_softmax_log_softmax_and_cross_entropy_are_stable_at_a_thousand():
    """The library's contract: softmax(x, axis=-1), log_softmax(x, axis=-1) and the losses are numerically
    stable (log-sum-exp): logits of +-1000 give finite values and gradients."""
    big = np.array([[1000.0, 0.0], [-1000.0, 0.0]])
    np.testing.assert_allclose(F.softmax(f64(big)).data, [[1.0, 0.0], [0.0, 1.0]], atol=1e-300)
    np.testing.assert_allclose(F.log_softmax(f64(big)).data, [[0.0, -1000.0], [-1000.0, 0.0]], rtol=1e-15)
    logits = f64(big, True)
    loss = F.cross_entropy(logits, np.array([1, 0]), reduction="sum")
    np.testing.assert_allclose(loss.data, 2000.0, rtol=1e-15)
    loss.backward()
    np.testing.assert_allclose(logits.grad, [[1.0, -1.0], [-1.0, 1.0]], atol=1e-300)


# ==== mg.nn modules ==================================================================================

class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(2, 3, dtype=F64)])
        self.rnn = nn.LSTM(3, 2, num_layers=2, dtype=F64)

    def forward(self, x):
        return self.rnn(self.layers[0](x))[0]


def test_module_api_dotted_names_state_dict_copies_train_eval_and_call():
    """The library's contract: Module has parameters(), named_parameters() with PyTorch's dotted names,
    state_dict() of numpy copies, train()/eval(), and __call__ runs forward; Parameter is a Tensor that
    requires grad."""
    net = _Net()
    names = [name for name, _ in net.named_parameters()]
    assert names[:2] == ["layers.0.weight", "layers.0.bias"]
    assert names[2:6] == ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0"]
    assert len(list(net.parameters())) == 10
    state = net.state_dict()
    assert all(type(v) is np.ndarray and not np.shares_memory(v, p.data) for v, p in
               zip(state.values(), net.parameters()))
    assert net.eval() is net and not net.rnn.training and net.train().rnn.training
    assert net(mg.ones((4, 1, 2), dtype=F64)).shape == (4, 1, 2)
    assert all(isinstance(p, mg.Tensor) and p.requires_grad for p in net.parameters())


def test_load_state_dict_checks_every_name_and_shape_first_and_casts_to_each_dtype():
    """The library's contract: load_state_dict(d, strict=True) checks every name and shape first; on any
    mismatch it raises and changes nothing; values are cast to each parameter's dtype."""
    model = nn.Linear(2, 3)
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    for bad in ({"bias": np.ones(3), "weight": np.ones((3, 5))}, {"weight": np.ones((3, 2))},
                {"weight": np.ones((3, 2)), "bias": np.ones(3), "extra": np.ones(1)}):
        with pytest.raises(ValueError):
            model.load_state_dict(bad)
        assert all(np.array_equal(p.data, before[name]) for name, p in model.named_parameters())
    model.load_state_dict({"weight": np.full((3, 2), 0.25), "bias": np.arange(3)})
    assert model.weight.dtype == np.float32 and model.bias.dtype == np.float32
    np.testing.assert_array_equal(model.bias.data, [0.0, 1.0, 2.0])


@pytest.mark.parametrize("make, shapes", [
    (lambda: nn.Linear(3, 4), {"weight": (4, 3), "bias": (4,)}),
    (lambda: nn.Embedding(5, 3), {"weight": (5, 3)}),
    (lambda: nn.RNNCell(3, 4), {"weight_ih": (4, 3), "weight_hh": (4, 4), "bias_ih": (4,), "bias_hh": (4,)}),
    (lambda: nn.LSTMCell(3, 4), {"weight_ih": (16, 3), "weight_hh": (16, 4), "bias_ih": (16,), "bias_hh": (16,)}),
    (lambda: nn.GRUCell(3, 4), {"weight_ih": (12, 3), "weight_hh": (12, 4), "bias_ih": (12,), "bias_hh": (12,)}),
    (lambda: nn.GRU(3, 4, 2), {"weight_ih_l0": (12, 3), "weight_hh_l0": (12, 4), "bias_ih_l0": (12,),
                               "bias_hh_l0": (12,), "weight_ih_l1": (12, 4), "weight_hh_l1": (12, 4),
                               "bias_ih_l1": (12,), "bias_hh_l1": (12,)}),
    (lambda: nn.RNN(3, 4, 1, "relu", False), {"weight_ih_l0": (4, 3), "weight_hh_l0": (4, 4)}),
])
def test_parameters_have_pytorchs_names_and_shapes(make, shapes):
    """The library's contract: each module's parameters have PyTorch's names and shapes (RNN takes
    nonlinearity fourth and bias fifth, as PyTorch)."""
    assert {name: p.shape for name, p in make().named_parameters()} == shapes


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_the_cells_follow_their_equations_and_gate_orders():
    """The library's contract: RNNCell h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh) ("tanh" or "relu");
    LSTMCell gate rows i, f, g, o; GRUCell rows r, z, n with n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h' = (1 - z) n + z h; a missing state means zeros; an unbatched (I,) input works."""
    rng = np.random.default_rng(4)
    x, h, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    for nonlinearity, act in (("tanh", np.tanh), ("relu", lambda z: np.maximum(z, 0))):
        cell = nn.RNNCell(3, 4, nonlinearity=nonlinearity, dtype=F64)
        p = {name: q.data for name, q in cell.named_parameters()}
        expected = act(x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"])
        np.testing.assert_allclose(cell(f64(x), f64(h)).data, expected, rtol=1e-12)
        np.testing.assert_allclose(cell(f64(x[0]), f64(h[0])).data, expected[0], rtol=1e-12)
    cell = nn.LSTMCell(3, 4, dtype=F64)
    p = {name: q.data for name, q in cell.named_parameters()}
    gates = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
    i, f, g, o = sigmoid(gates[:, :4]), sigmoid(gates[:, 4:8]), np.tanh(gates[:, 8:12]), sigmoid(gates[:, 12:])
    c_next = f * c + i * g
    h_next, c_got = cell(f64(x), (f64(h), f64(c)))
    np.testing.assert_allclose(h_next.data, o * np.tanh(c_next), rtol=1e-12)
    np.testing.assert_allclose(c_got.data, c_next, rtol=1e-12)
    cell = nn.GRUCell(3, 4, dtype=F64)
    p = {name: q.data for name, q in cell.named_parameters()}
    for state in (h, np.zeros((2, 4))):
        gi, gh = x @ p["weight_ih"].T + p["bias_ih"], state @ p["weight_hh"].T + p["bias_hh"]
        r, z = sigmoid(gi[:, :4] + gh[:, :4]), sigmoid(gi[:, 4:8] + gh[:, 4:8])
        n = np.tanh(gi[:, 8:] + r * gh[:, 8:])
        given = f64(state) if state is h else None
        np.testing.assert_allclose(cell(f64(x), given).data, (1 - z) * n + z * state, rtol=1e-12)


@pytest.mark.parametrize("batch_first", [False, True])
def test_a_two_layer_gru_is_the_cells_stacked_in_time_batched_or_not(batch_first):
    """The library's contract: layer(x, state=None) -> (output, state_n): x (T, B, I) or (B, T, I) with
    batch_first, or unbatched (T, I); output is every step's top-layer h; state_n is (num_layers, B, H)."""
    layer = nn.GRU(3, 4, 2, batch_first=batch_first, rng=np.random.default_rng(5), dtype=F64)
    p = {name: q.data for name, q in layer.named_parameters()}
    xs = np.random.default_rng(6).normal(size=(5, 2, 3))
    hidden = [np.zeros((2, 4)), np.zeros((2, 4))]
    outputs = []
    for x in xs:
        below = x
        for k in range(2):
            gi = below @ p[f"weight_ih_l{k}"].T + p[f"bias_ih_l{k}"]
            gh = hidden[k] @ p[f"weight_hh_l{k}"].T + p[f"bias_hh_l{k}"]
            r, z = sigmoid(gi[:, :4] + gh[:, :4]), sigmoid(gi[:, 4:8] + gh[:, 4:8])
            hidden[k] = (1 - z) * np.tanh(gi[:, 8:] + r * gh[:, 8:]) + z * hidden[k]
            below = hidden[k]
        outputs.append(below)
    expected = np.stack(outputs)
    given = xs.transpose(1, 0, 2) if batch_first else xs
    output, state = layer(f64(given))
    np.testing.assert_allclose(output.data, expected.transpose(1, 0, 2) if batch_first else expected, rtol=1e-12)
    np.testing.assert_allclose(state.data, np.stack(hidden), rtol=1e-12)
    assert state.shape == (2, 2, 4)
    single, single_state = layer(f64(xs[:, 0]))
    np.testing.assert_allclose(single.data, expected[:, 0], rtol=1e-12)
    assert single_state.shape == (2, 4)


def test_recurrent_initialisation_is_uniform_within_one_over_root_h_and_reproducible():
    """The library's contract: initialisation uniform(-1/sqrt(H), 1/sqrt(H)) from a numpy Generator that
    manual_seed(n) or rng= makes reproducible."""
    H = 16
    values = np.concatenate([p.data.ravel() for p in nn.LSTM(8, H, 2).parameters()])
    assert np.abs(values).max() <= 1 / np.sqrt(H) and np.abs(values).max() > 0.9 / np.sqrt(H)
    mg.manual_seed(3)
    first = nn.GRUCell(2, 3).weight_hh.data
    mg.manual_seed(3)
    np.testing.assert_array_equal(nn.GRUCell(2, 3).weight_hh.data, first)
    np.testing.assert_array_equal(nn.RNN(2, 3, rng=np.random.default_rng(9)).weight_hh_l0.data,
                                  nn.RNN(2, 3, rng=np.random.default_rng(9)).weight_hh_l0.data)


def test_load_refuses_missing_truncated_foreign_and_pickled_files(tmp_path):
    """The library's contract: load(path) reads with allow_pickle=False; a missing, truncated or foreign
    file raises a clear error."""
    good = tmp_path / "good.npz"
    mg.save({"a": np.arange(3.0)}, good)
    truncated, foreign, pickled = tmp_path / "cut.npz", tmp_path / "text.npz", tmp_path / "objects.npz"
    truncated.write_bytes(good.read_bytes()[:40])
    foreign.write_bytes(b"not an archive at all")
    np.savez(pickled, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(FileNotFoundError, match="load"):
        mg.load(tmp_path / "missing.npz")
    for path in (truncated, foreign, pickled):
        with pytest.raises(ValueError, match="load"):
            mg.load(path)


# ==== mg.optim =======================================================================================

def test_sgd_with_momentum_and_decay_and_adam_with_decay_are_pytorchs_and_give_new_arrays():
    """The library's contract: SGD(params, lr, momentum, weight_decay) and Adam(params, lr, betas, eps,
    weight_decay) update as PyTorch computes them (decay added to the gradient; the first momentum buffer is
    the gradient); each step gives the parameter a new array."""
    rng = np.random.default_rng(8)
    start, grads = rng.normal(size=3), [rng.normal(size=3) for _ in range(3)]
    p = f64(start, True)
    sgd = mg.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    theta, buffer = start.copy(), None
    for g in grads:
        old = p.data
        p.grad = g
        sgd.step()
        assert p.data is not old and not p.data.flags.writeable
        d = g + 0.01 * theta
        buffer = d if buffer is None else 0.9 * buffer + d
        theta = theta - 0.1 * buffer
    np.testing.assert_allclose(p.data, theta, rtol=1e-13)
    p = f64(start, True)
    adam = mg.optim.Adam([p], lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)
    theta, m, v = start.copy(), np.zeros(3), np.zeros(3)
    for t, g in enumerate(grads, 1):
        p.grad = g
        adam.step()
        d = g + 0.1 * theta
        m, v = 0.8 * m + 0.2 * d, 0.9 * v + 0.1 * d * d
        theta = theta - 0.01 * (m / (1 - 0.8 ** t)) / (np.sqrt(v / (1 - 0.9 ** t)) + 1e-6)
    np.testing.assert_allclose(p.data, theta, rtol=1e-12)
    adam.zero_grad()
    assert p.grad is None


def test_clip_grad_norm_returns_the_norm_before_and_scales_by_max_norm_over_norm_plus_1e6():
    """The library's contract: clip_grad_norm_(params, max_norm) returns the total norm before clipping and
    scales by max_norm / (total_norm + 1e-6) when that is below 1; clip_grad_value_(params, value)."""
    a, b = f64([0.0, 0.0], True), f64([0.0], True)
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([4.0])
    assert float(mg.optim.clip_grad_norm_([a, b], 1.0)) == 5.0
    np.testing.assert_allclose(a.grad, [3.0 / (5.0 + 1e-6), 0.0], rtol=1e-15)
    assert float(mg.optim.clip_grad_norm_([a, b], 10.0)) == pytest.approx(5.0 / (5.0 + 1e-6), rel=1e-15)
    np.testing.assert_allclose(b.grad, [4.0 / (5.0 + 1e-6)], rtol=1e-15)        # left as it was
    a.grad = np.array([3.0, -7.0])
    mg.optim.clip_grad_value_([a], 2.0)
    np.testing.assert_array_equal(a.grad, [2.0, -2.0])


# ==== Truncated BPTT: the definition ================================================================

THETA0 = {"w": 0.8, "u": 0.6, "v": -1.3}
XS = [0.5, -0.3, 0.9, 0.1, -0.7, 0.4, 0.2, -0.5]
YS = [0.2, None, -0.1, 0.3, 0.0, None, 0.25, -0.2]
H0 = 0.4


def tbptt_by_the_definition(n, k1, k2, lr, reduction="sum", eps=1e-6):
    """The numbered rules written out in numpy for h_t = tanh(w h_(t-1) + u x_t), output v h_t,
    l_t = (v h_t - y_t)^2, SGD(lr) after every update: updates at k1, 2 k1, ... and n; L_u sums the losses
    in (u', u]; the gradient holds h_c constant, c = max(0, u - k2), and recomputes the steps in (c, u] with
    the weights each step ran with (rule 5), each step's copy of a weight moved by the same delta; a loss
    at t <= c reads its recorded h_t (depth 0). Returns [(u, L_u, {w, u, v, h0: dL_u/d.})] and h_n. (SGD steps
    on central differences, so later values agree with the library's to about 1e-10, not to rounding.)"""
    theta, hs, ran_with = dict(THETA0), [H0], [None]
    updates, previous = [], 0
    for t in range(1, n + 1):
        ran_with.append(dict(theta))
        hs.append(np.tanh(theta["w"] * hs[-1] + theta["u"] * XS[t - 1]))
        if t % k1 and t != n:
            continue
        cut = max(0, t - k2)
        injected = [s for s in range(previous + 1, t + 1) if YS[s - 1] is not None]

        def loss(delta, dh0=0.0, cut=cut, injected=injected, u=t):
            h = {cut: hs[cut] + dh0}
            for s in range(cut + 1, u + 1):
                weights = ran_with[s]
                h[s] = np.tanh((weights["w"] + delta["w"]) * h[s - 1] + (weights["u"] + delta["u"]) * XS[s - 1])
            total = sum(((ran_with[s]["v"] + delta["v"]) * (h[s] if s > cut else hs[s]) - YS[s - 1]) ** 2
                        for s in injected)
            return total / len(injected) if reduction == "mean" and injected else total

        zero = {"w": 0.0, "u": 0.0, "v": 0.0}
        grads = {name: (loss({**zero, name: eps}) - loss({**zero, name: -eps})) / (2 * eps) for name in zero}
        grads["h0"] = (loss(zero, eps) - loss(zero, -eps)) / (2 * eps) if cut == 0 else 0.0
        updates.append((t, loss(zero), grads))
        theta = {name: theta[name] - lr * grads[name] for name in theta}
        previous = t
    return updates, hs[n]


def run_the_library(runner, n, k1, k2, lr, reduction="sum"):
    params = {name: f64(value, True) for name, value in THETA0.items()}
    h0 = f64(H0, True)

    def step(x, h):
        h = (params["w"] * h + params["u"] * x).tanh()
        return params["v"] * h, h

    seen = []

    def on_update(u, loss):
        seen.append((u, loss, {name: float(p.grad) if p.grad is not None else 0.0 for name, p in params.items()}))

    optimizer = mg.optim.SGD(list(params.values()), lr=lr)
    loss_fn = lambda output, y: (output - y) ** 2        # noqa: E731
    if runner == "tbptt":
        result = mg.bptt.tbptt(step, h0, XS[:n], YS[:n], loss_fn, k1, k2, optimizer=optimizer,
                               on_update=on_update, reduction=reduction)
    else:
        result = mg.bptt.rtrl(step, h0, XS[:n], YS[:n], loss_fn, params, k1=k1, optimizer=optimizer,
                              on_update=on_update, reduction=reduction)
    return seen, result, h0


@pytest.mark.parametrize("n, k1, k2", [
    (8, 2, 4),      # k1 < k2: overlapping windows, weights changed by earlier updates (rule 5)
    (7, 3, 3),      # TBPTT(k, k) with a tail update at 7 cut at n - k2 = 4, not at 6
    (8, 4, 2),      # k1 > k2: losses at or before the cut have depth 0
    (5, 1, 5),      # TBPTT(1, n): every loss through all history, h_0 reached by every update
    (6, 6, 6),      # TBPTT(n, n): full BPTT
    (5, 7, 2),      # k1 > n: one tail update at n
])
def test_tbptt_updates_losses_and_gradients_are_the_definitions(n, k1, k2):
    """The library's contract, rules 1 to 5 of its TBPTT definition: updates at k1, 2 k1, ... and at n; the
    update at u injects the losses in (u', u]; its gradient holds h_c constant, c = max(0, u - k2) (a loss at
    or before the cut trains only its readout; with c = 0 a learned h_0 gets gradient); the forward pass
    carries h on; gradients use the weights each step ran with while SGD changes them between updates."""
    expected, last_h = tbptt_by_the_definition(n, k1, k2, lr=0.1)
    seen, result, h0 = run_the_library("tbptt", n, k1, k2, lr=0.1)
    assert result.updates == [u for u, _, _ in expected] == [u for u, _, _ in seen]
    np.testing.assert_allclose(result.losses, [loss for _, loss, _ in expected], rtol=1e-8)
    assert all(type(loss) is float for _, loss, _ in seen)
    for (_, _, want), (_, _, got) in zip(expected, seen):
        for name in ("w", "u", "v"):
            assert got[name] == pytest.approx(want[name], abs=1e-8), name
    if all(u > k2 for u, _, _ in expected):              # no cut at 0: h_0 gets no gradient
        assert h0.grad is None
    else:
        assert float(h0.grad) == pytest.approx(sum(grads["h0"] for _, _, grads in expected), abs=1e-8)
    np.testing.assert_allclose(result.state.data, last_h, rtol=1e-8)
    assert not result.state.requires_grad


@pytest.mark.parametrize("n, k1, k2", [(14, 3, 5), (14, 4, 7), (14, 5, 10), (14, 6, 3), (8, 1, 8)])
def test_while_any_step_runs_the_tape_holds_at_most_max_k1_k2_steps(n, k1, k2):
    """The library's contract: the tape never holds more than max(k1, k2) steps; steps behind the cut are
    freed. Counted while each step runs: the time steps of the recorded op nodes still alive. (Before this
    audit the runner kept the last update's injected losses alive until the next update whenever it kept
    that update's graph: k2 + 1 steps for k1 < k2 < 2 k1, and k1 + 2 before the tail update of (14, 6, 3).)"""
    from microgradseq.autograd import OP, Node, creation_order
    first = next(creation_order)
    w = f64(0.5, True)
    spans = []

    def step(x, h):
        h = (w * h + x).tanh()
        gc.collect()
        spans.append(len({node.step for node in gc.get_objects()
                          if type(node) is Node and node.kind is OP and node.seq > first and node.step is not None}))
        return h, h

    mg.bptt.tbptt(step, f64(0.0), [0.1] * n, [0.0] * n, lambda o, y: (o - y) ** 2, k1, k2)
    assert len(spans) == n and max(spans) <= max(k1, k2), spans


def test_mean_reduction_divides_each_update_by_its_number_of_targets():
    """The library's contract, rule 6: losses are summed over the injected steps; reduction="mean" divides L_u
    by the number of injected losses (steps with a target)."""
    expected, _ = tbptt_by_the_definition(8, 3, 5, lr=0.05, reduction="mean")
    seen, result, _ = run_the_library("tbptt", 8, 3, 5, lr=0.05, reduction="mean")
    np.testing.assert_allclose(result.losses, [loss for _, loss, _ in expected], rtol=1e-8)
    for (_, _, want), (_, _, got) in zip(expected, seen):
        assert got["w"] == pytest.approx(want["w"], abs=1e-8) and got["v"] == pytest.approx(want["v"], abs=1e-8)


def test_a_write_forced_into_a_recorded_array_raises_or_is_caught_at_backward():
    """The library's contract, rule 5: no write, by any route, may make a gradient silently use values other
    than the recorded ones; it raises at the write or at backward. Writes through every ordinary route
    (t.data, t.numpy(), np.asarray(t), a memoryview) raise at the write."""
    w = f64([1.0, 2.0], True)
    loss = (w * w).sum()
    for route in (lambda: w.data, lambda: w.numpy(), lambda: np.asarray(w)):
        with pytest.raises(ValueError, match="read-only"):
            route()[0] = 100.0
    with pytest.raises(TypeError):
        memoryview(w.data)[0] = 100.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


@pytest.mark.xfail(strict=True, reason="rule 5 says no write by any route may silently change a gradient; "
                                       "turning numpy's writeable flag back on at the array's base "
                                       "(w.data.base.setflags(write=True)) is a route that neither raises at "
                                       "the write nor at backward (no fingerprints, by design)")
def test_a_write_after_turning_the_flag_back_on_at_the_base_is_not_silent():
    """The library's contract, rule 5: "No write, by any route, may make a gradient silently use values
    other than the recorded ones: it raises, at the write or at backward." Today the array's base can be made
    writeable again, and backward then uses the written value: d sum(w^2)/dw at w = 1 comes out 200."""
    w = f64([1.0, 2.0], True)
    loss = (w * w).sum()
    base = w.data
    while base.base is not None:
        base = base.base
    try:
        base.setflags(write=True)
        base[0] = 100.0
    except ValueError:
        return                       # refused at the write: what the contract asks
    with pytest.raises(RuntimeError):
        loss.backward()


# ==== Truncated BPTT: the API =======================================================================

@pytest.mark.parametrize("change, message", [
    ({"k1": True}, "k1"), ({"k2": 0}, "k2"), ({"k1": 2.0}, "k1"), ({"k2": -1}, "k2"),
    ({"targets": [0.0] * 3}, "differ in length"), ({"inputs": [], "targets": []}, "empty"),
])
def test_invalid_arguments_raise_value_error_before_any_step(change, message):
    """The library's contract: k1 or k2 not a positive integer (a bool is not one), inputs and targets of
    different lengths, or an empty sequence raise ValueError before any work."""
    calls = []

    def step(x, h):
        calls.append(x)
        return h, h

    arguments = {"inputs": [0.1] * 4, "targets": [0.0] * 4, "k1": 2, "k2": 2, **change}
    with pytest.raises(ValueError, match=message):
        mg.bptt.tbptt(step, f64(0.0), arguments["inputs"], arguments["targets"], lambda o, y: (o - y) ** 2,
                      arguments["k1"], arguments["k2"])
    assert calls == []


def test_each_update_is_backward_then_on_update_then_step_and_zero_grad():
    """The library's contract: at each update, one backward pass, then on_update(u, loss_value) with a float,
    then optimizer.step() and optimizer.zero_grad()."""
    w = f64(0.5, True)
    log = []

    class Recorder:
        def step(self):
            log.append(("step", w.grad is not None))

        def zero_grad(self):
            log.append(("zero_grad",))
            w.grad = None

    def step(x, h):
        h = (w * h + x).tanh()
        return h, h

    mg.bptt.tbptt(step, f64(0.0), [0.1] * 5, [0.0] * 5, lambda o, y: (o - y) ** 2, 2, 2, optimizer=Recorder(),
                  on_update=lambda u, loss: log.append(("on_update", u, type(loss), w.grad is not None)))
    assert log == [entry for u in (2, 4, 5) for entry in
                   (("on_update", u, float, True), ("step", True), ("zero_grad",))]


def test_truncate_keeps_the_values_of_a_tensor_or_a_tuple_and_drops_the_history():
    """The library's contract: bptt.truncate(state) returns the state (a tensor or a tuple, as (h, c)) with
    the same values and no history."""
    x = f64([1.0, 2.0], True)
    h, c = x * 2, x * 3
    cut_h = mg.bptt.truncate(h)
    assert not cut_h.requires_grad and np.array_equal(cut_h.data, [2.0, 4.0])
    pair = mg.bptt.truncate((h, c))
    assert type(pair) is tuple and [p.requires_grad for p in pair] == [False, False]
    np.testing.assert_array_equal(pair[1].data, [3.0, 6.0])


# ==== RTRL ===========================================================================================

@pytest.mark.parametrize("k1", [1, 3])
def test_rtrl_gradient_at_every_update_is_tbptt_k1_n_by_the_definition(k1):
    """The library's contract: rtrl's gradient at every update equals TBPTT(k1, n)'s, rule 5's recorded
    values included with an optimizer changing the weights between updates; it returns what tbptt returns."""
    n = 8
    expected, last_h = tbptt_by_the_definition(n, k1, n, lr=0.1)
    seen, result, _ = run_the_library("rtrl", n, k1, n, lr=0.1)
    assert result.updates == [u for u, _, _ in expected]
    np.testing.assert_allclose(result.losses, [loss for _, loss, _ in expected], rtol=1e-8)
    for (_, _, want), (_, _, got) in zip(expected, seen):
        for name in ("w", "u", "v"):
            assert got[name] == pytest.approx(want[name], abs=1e-8), name
    np.testing.assert_allclose(result.state.data, last_h, rtol=1e-8)


# ==== Drawings =======================================================================================

def test_draw_puts_each_step_in_its_cluster_and_each_parameter_once(tmp_path):
    """The library's contract: draw(root, params) returns a graphviz.Digraph; nodes of step t sit in a
    subgraph cluster_step_<t> labelled "t = <t>", steps from 1; each parameter appears once however many
    steps use it; rendering to .svg works without a system Graphviz."""
    import re

    import graphviz

    layer = nn.RNN(2, 3, rng=np.random.default_rng(0), dtype=F64)
    output, _ = layer(f64(np.random.default_rng(1).normal(size=(4, 1, 2))))
    drawing = mg.draw(output.sum(), params=dict(layer.named_parameters()))
    assert isinstance(drawing, graphviz.Digraph)
    source = drawing.source
    assert sorted(set(re.findall(r"subgraph (cluster_step_\d+)", source))) == [f"cluster_step_{t}" for t in range(1, 5)]
    assert all(f'label="t = {t}"' in source for t in range(1, 5))
    for name, _ in layer.named_parameters():
        assert len(re.findall(rf"\b{name}\b", source)) == 1, name
    written = drawing.render(str(tmp_path / "rnn"), format="svg")
    assert "<svg" in open(written, encoding="utf-8").read()


def test_a_truncation_cut_is_a_dashed_edge_labelled_cut():
    """The library's contract: a truncation cut is drawn as a dashed edge whose label contains "cut"."""
    w = f64(0.5, True)

    def step(x, h):
        h = (w * h + x).tanh()
        return h, h

    sources = {}
    mg.bptt.tbptt(step, f64(0.0), [0.1] * 6, [0.0] * 6, lambda o, y: (o - y) ** 2, 3, 2,
                  on_backward=lambda u, loss: sources.setdefault(u, mg.draw(loss).source))
    edges = [line for line in sources[6].splitlines() if "->" in line]
    assert any("dashed" in line and "cut" in line for line in edges)


# ==== What the contract calls safe ===================================================================

def test_saving_over_a_file_never_damages_it_when_the_object_cannot_be_saved(tmp_path):
    """The library's contract (safety): saving never damages a file and never pickles: an object that
    cannot be stored raises before anything is written, and the old file is intact and still loads."""
    path = tmp_path / "model.npz"
    mg.save({"a": np.arange(3.0)}, path)
    before = path.read_bytes()
    for bad in ({"a": object()}, {"a": np.array([object()])}):
        with pytest.raises(TypeError):
            mg.save(bad, path)
        assert path.read_bytes() == before
    np.testing.assert_array_equal(mg.load(path)["a"], [0.0, 1.0, 2.0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_an_optimizer_step_that_fails_changes_no_parameter_and_no_state():
    """The library's contract (safety): optimizer steps are all or nothing: a state of the wrong shape on
    the second parameter raises, and the first parameter and its Adam state stay as they were."""
    a, b = f64([1.0, 2.0], True), f64([1.0, 2.0, 3.0], True)
    adam = mg.optim.Adam([a, b], lr=0.1)
    a.grad, b.grad = np.ones(2), np.ones(3)
    adam.step()
    kept_a, kept_b = a.data.copy(), b.data.copy()
    kept_state = {name: np.array(value, copy=True) for name, value in adam.state[a].items()}
    adam.state[b]["exp_avg"] = np.zeros(5)
    with pytest.raises(ValueError, match="Adam.step"):
        adam.step()
    np.testing.assert_array_equal(a.data, kept_a)
    np.testing.assert_array_equal(b.data, kept_b)
    assert all(np.array_equal(adam.state[a][name], value) for name, value in kept_state.items())
