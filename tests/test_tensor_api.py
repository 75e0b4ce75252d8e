"""The Tensor surface: construction and dtypes, backward's contract, errors, anomaly detection,
and that long graphs neither recurse nor leak. (Read-only arrays and in-place updates: test_read_only.py.)"""

import gc
import math
import tracemalloc

import numpy as np
import pytest

import microgradseq as mg


@pytest.fixture
def restore_default_dtype():
    saved = mg.get_default_dtype()
    yield
    mg.set_default_dtype(saved)


# ---- construction and dtypes -------------------------------------------------------------

def test_python_list_becomes_float32():
    """Python float data gets the default dtype, float32, as in PyTorch."""
    assert mg.tensor([1.0, 2.0]).dtype == np.float32
    assert mg.Tensor([[1.5]]).dtype == np.float32


def test_float64_ndarray_keeps_its_dtype():
    """A float64 numpy array is wrapped as float64."""
    assert mg.tensor(np.zeros(3, dtype=np.float64)).dtype == np.float64


def test_dtype_argument_converts():
    """dtype= converts the data, both from lists and from arrays."""
    assert mg.tensor([1.0, 2.0], dtype=np.float64).dtype == np.float64
    assert mg.tensor(np.ones(2, dtype=np.float64), dtype=np.float32).dtype == np.float32


def test_default_dtype_can_be_set_and_read_back(restore_default_dtype):
    """set_default_dtype(float64) makes new Python-data tensors float64; get_default_dtype reports it."""
    assert mg.get_default_dtype() == np.float32
    mg.set_default_dtype(np.float64)
    assert mg.get_default_dtype() == np.float64
    assert mg.tensor([1.0]).dtype == np.float64


def test_shape_ndim_item_and_numpy():
    """shape, ndim, item() and numpy() behave as in PyTorch."""
    t = mg.tensor(np.arange(6.0).reshape(2, 3))
    assert t.shape == (2, 3)
    assert t.ndim == 2
    assert mg.tensor([[2.5]]).item() == 2.5
    assert isinstance(t.numpy(), np.ndarray)
    np.testing.assert_array_equal(t.numpy(), np.arange(6.0).reshape(2, 3))


def test_zeros_ones_and_seeded_randn():
    """zeros/ones have the asked shape and default dtype; randn with the same rng seed repeats."""
    assert mg.zeros((2, 3)).shape == (2, 3) and mg.zeros((2, 3)).dtype == np.float32
    np.testing.assert_array_equal(mg.ones((2,)).data, [1.0, 1.0])
    first = mg.randn(3, 2, rng=np.random.default_rng(5)).data
    second = mg.randn(3, 2, rng=np.random.default_rng(5)).data
    assert first.shape == (3, 2)
    np.testing.assert_array_equal(first, second)


def test_integer_tensor_cannot_require_grad():
    """Integer data with requires_grad=True raises TypeError."""
    with pytest.raises(TypeError):
        mg.tensor([1, 2, 3], requires_grad=True)


# ---- grad and backward ---------------------------------------------------------------------

def test_grad_is_none_until_backward_then_has_data_shape_and_dtype():
    """grad starts as None; after backward it matches data's shape and dtype, even when broadcast."""
    bias = mg.tensor([0.1, 0.2, 0.3], requires_grad=True)          # float32
    x = mg.tensor(np.ones((4, 3), dtype=np.float32))
    assert bias.grad is None
    (x * 2 + bias).sum().backward()
    assert bias.grad.shape == (3,)
    assert bias.grad.dtype == np.float32
    np.testing.assert_allclose(bias.grad, [4.0, 4.0, 4.0])      # 4 broadcast rows


def test_leaf_grads_accumulate_across_backward_calls():
    """Two backward passes of sum(w^2) leave w.grad = 2 * 2w."""
    w = mg.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    (w * w).sum().backward()
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad, 2 * (2 * w.data))


def test_intermediate_grads_do_not_leak_between_retained_passes():
    """Two passes over one retained graph y = sum(3 (x^2)^2) give x.grad = 2 * 12 x^3, not more."""
    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    square = x * x
    y = (square * square * 3).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * 12 * x.data ** 3)


def test_a_plus_a_has_gradient_two():
    """a + a uses a twice; both edges count: d(a + a)/da = 2."""
    a = mg.tensor(np.array([3.0, -1.0]), requires_grad=True)
    (a + a).sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, 2.0])


def test_a_times_a_has_gradient_two_a():
    """a * a uses a twice: d(a^2)/da = 2a."""
    a = mg.tensor(np.array([3.0, -1.0]), requires_grad=True)
    (a * a).sum().backward()
    np.testing.assert_array_equal(a.grad, [6.0, -2.0])


def test_second_backward_over_a_freed_graph_raises():
    """Without retain_graph the graph is freed; a second pass raises RuntimeError saying so."""
    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x.tanh() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="freed"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    """With retain_graph=True the second pass runs and adds the same gradient again."""
    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x.tanh() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    once = np.tanh(x.data) + x.data * (1 - np.tanh(x.data) ** 2)
    np.testing.assert_allclose(x.grad, 2 * once)


def test_backward_without_grad_on_a_non_scalar_raises_value_error():
    """backward() may omit grad only for a one-element tensor."""
    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(ValueError):
        (x * 2).backward()


def test_backward_without_grad_on_a_one_element_tensor_seeds_one():
    """A one-element (not 0-d) output may omit grad: it is seeded with 1."""
    x = mg.tensor(np.array([3.0]), requires_grad=True)
    (x * x).backward()
    np.testing.assert_array_equal(x.grad, [6.0])


def test_backward_with_an_explicit_grad_array():
    """y.backward(grad=g) computes the vector-Jacobian product: for y = x^2, x.grad = 2 x g."""
    x = mg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    g = np.array([0.5, -1.0, 2.0])
    (x * x).backward(grad=g)
    np.testing.assert_allclose(x.grad, 2 * x.data * g)


def test_detach_shares_values_but_has_no_history():
    """detach() keeps the values, does not require grad, and blocks the gradient through it."""
    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    d = x.detach()
    assert not d.requires_grad
    np.testing.assert_array_equal(d.data, x.data)
    (x * d).sum().backward()
    np.testing.assert_array_equal(x.grad, x.data)  # d(x * c)/dx = c, the detached factor is a constant


def test_no_grad_records_nothing():
    """Inside no_grad(), results of ops on grad-requiring tensors do not require grad."""
    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with mg.no_grad():
        y = (x * x).tanh().sum()
    assert not y.requires_grad
    assert (x * x).requires_grad  # recording resumes after the block


# ---- backward(inputs=...) ------------------------------------------------------------------

def _product_loss():
    """y = sum((w b)^2): dy/dw = 2 w b^2, dy/db = 2 b w^2, dy/dh = 2 h for h = w b."""
    w = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = mg.tensor(np.array([3.0, -4.0]), requires_grad=True)
    h = w * b
    return w, b, h, (h * h).sum()


def test_backward_into_inputs_fills_only_their_grads():
    """PyTorch's `y.backward(inputs=[w])`: w.grad gets dy/dw (accumulating onto what it held); b's and
    h's .grad stay as they were."""
    w, b, h, y = _product_loss()
    w.grad, b.grad = np.array([1.0, 1.0]), np.array([5.0, 6.0])
    y.backward(inputs=[w])
    np.testing.assert_allclose(w.grad, 1 + 2 * np.array([1.0, 2.0]) * np.array([3.0, -4.0]) ** 2, rtol=1e-15)
    np.testing.assert_array_equal(b.grad, [5.0, 6.0])
    assert h.grad is None


def test_backward_into_a_non_leaf_gives_it_this_pass_gradient():
    """A non-leaf input's .grad is this pass's dy/dh = 2h, twice over a kept graph too (a non-leaf
    keeps the last pass's gradient here); the leaves' .grad stay None. The fourth positional argument
    is inputs, as in PyTorch; a single tensor is accepted."""
    w, b, h, y = _product_loss()
    y.backward(None, True, False, [h])
    y.backward(inputs=h)
    np.testing.assert_array_equal(h.grad, 2 * np.array([3.0, -8.0]))
    assert w.grad is None and b.grad is None


def test_backward_into_an_input_not_reached_leaves_it_alone_and_counts_a_repeat_once():
    w, b, h, y = _product_loss()
    elsewhere = mg.tensor(np.array([1.0]), requires_grad=True)
    y.backward(inputs=[w, elsewhere, w])
    assert elsewhere.grad is None
    np.testing.assert_allclose(w.grad, 2 * np.array([1.0, 2.0]) * np.array([3.0, -4.0]) ** 2, rtol=1e-15)


def test_backward_into_runs_only_the_inputs_hooks():
    """As PyTorch's: w's hook (which scales by 10) and its post-accumulate hook run; b's do not; the
    hook on h, a tensor on the way, runs."""
    w, b, h, y = _product_loss()
    ran = []
    w.register_hook(lambda g: ran.append("w") or g * 10)
    b.register_hook(lambda g: ran.append("b"))
    w.register_post_accumulate_grad_hook(lambda p: ran.append("w after"))
    b.register_post_accumulate_grad_hook(lambda p: ran.append("b after"))
    h.register_hook(lambda g: ran.append("h"))
    y.backward(inputs=[w])
    assert ran == ["h", "w", "w after"]
    np.testing.assert_allclose(w.grad, 20 * np.array([1.0, 2.0]) * np.array([3.0, -4.0]) ** 2, rtol=1e-15)
    assert b.grad is None


@pytest.mark.parametrize("inputs, error, message", [
    ([], RuntimeError, "backward: inputs cannot be empty"),
    ([1.0], TypeError, r"backward: inputs\[0\] must be a Tensor, got float"),
    (3, TypeError, "backward: inputs must be a Tensor or a sequence of Tensors, got int"),
    ([mg.tensor([1.0])], RuntimeError, r"backward: inputs\[0\] does not require grad"),
])
def test_backward_into_bad_inputs_are_refused_before_the_pass(inputs, error, message):
    """Nothing is walked or freed: a plain backward afterwards fills both gradients."""
    w, b, h, y = _product_loss()
    with pytest.raises(error, match=message):
        y.backward(inputs=inputs)
    y.backward()
    np.testing.assert_allclose(b.grad, 2 * np.array([3.0, -4.0]) * np.array([1.0, 2.0]) ** 2, rtol=1e-15)


def test_backward_into_frees_the_graph_unless_retained():
    w, b, h, y = _product_loss()
    y.backward(inputs=[w])
    with pytest.raises(RuntimeError, match="already been freed"):
        y.backward(inputs=[b])


def test_backward_into_the_initial_state_of_an_unrolled_recurrence():
    """dL/dh_0 of h_t = tanh(w h_(t-1) + x_t), L = sum h_3, by BPTT written out by hand:
    dL/dh_(t-1) = dL/dh_t (1 - h_t^2) w; the weight's .grad is left alone."""
    w0, xs, h0_value = 0.7, [0.5, -1.0, 2.0], np.array([0.3, -0.2])
    w = mg.tensor(np.array(w0), requires_grad=True)
    h0 = mg.tensor(h0_value, requires_grad=True)
    h = h0
    for x in xs:
        h = (w * h + x).tanh()
    h.sum().backward(inputs=[h0])
    states = [h0_value]
    for x in xs:
        states.append(np.tanh(w0 * states[-1] + x))
    expected = np.ones(2)
    for t in range(len(xs), 0, -1):
        expected = expected * (1 - states[t] ** 2) * w0
    np.testing.assert_allclose(h0.grad, expected, rtol=1e-14)
    assert w.grad is None


# ---- shape errors ---------------------------------------------------------------------------

def test_matmul_shape_mismatch_names_op_and_both_shapes():
    """(3, 4) @ (5, 2) raises ValueError naming matmul and both shapes."""
    a, b = mg.tensor(np.ones((3, 4))), mg.tensor(np.ones((5, 2)))
    with pytest.raises(ValueError) as caught:
        a @ b
    message = str(caught.value)
    assert "matmul" in message and "(3, 4)" in message and "(5, 2)" in message


def test_add_shape_mismatch_names_op_and_both_shapes():
    """(2, 3) + (4,) raises ValueError naming add and both shapes."""
    a, b = mg.tensor(np.ones((2, 3))), mg.tensor(np.ones(4))
    with pytest.raises(ValueError) as caught:
        a + b
    message = str(caught.value)
    assert "add" in message and "(2, 3)" in message and "(4,)" in message


# ---- anomaly detection ---------------------------------------------------------------------------

def test_log_of_negative_gives_nan_without_anomaly_detection():
    """Outside detect_anomaly, log(-1) is NaN, as numpy gives it."""
    with np.errstate(invalid="ignore"):
        y = mg.tensor([-1.0]).log()
    assert np.isnan(y.data).all()


def test_detect_anomaly_raises_on_nan_in_forward_naming_the_op():
    """Inside detect_anomaly, log(-1) raises FloatingPointError naming log."""
    with mg.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(FloatingPointError, match="log"):
            mg.tensor([-1.0]).log()


def test_detect_anomaly_raises_on_inf_appearing_only_in_backward():
    """sqrt(x * 0) is finite forward but d sqrt/du = 1/(2 sqrt 0) = inf: backward raises FloatingPointError."""
    x = mg.tensor(np.array([1.0]), requires_grad=True)
    with mg.detect_anomaly(), np.errstate(divide="ignore", invalid="ignore"):
        y = (x * 0).sqrt()
        assert np.isfinite(y.data).all()
        with pytest.raises(FloatingPointError, match="sqrt"):
            y.sum().backward()


def test_detect_anomaly_names_linear_for_an_inf_in_a_weight_gradient_not_the_leaf():
    """linear's weight gradient is a deferred product summed at the end of the pass; under
    detect_anomaly it is written out at once, so the op that made it is the one named."""
    weight = mg.tensor(np.ones((1, 1)), requires_grad=True)
    with mg.detect_anomaly(), np.errstate(over="ignore"):
        y = mg.functional.linear(mg.tensor(np.array([[1e300]])), weight)
        with pytest.raises(FloatingPointError, match="^linear: backward gradient holds inf"):
            y.backward(np.array([[1e10]]))


@pytest.mark.parametrize("make", [lambda x: x + x, lambda x: x[[0, 0]]], ids=["x + x", "x[[0, 0]]"])
def test_detect_anomaly_catches_finite_gradients_whose_sum_overflows(make):
    """Each part 1e308 is finite; summed into x they overflow to inf, which is reported too."""
    x = mg.tensor(np.array([1.0]), requires_grad=True)
    with mg.detect_anomaly(), np.errstate(over="ignore"):
        y = make(x)
        with pytest.raises(FloatingPointError, match=r"the gradient summed into .* holds inf, though each part "
                                                     r"was finite \(their sum overflowed\)"):
            y.backward(np.full(y.shape, 1e308))


def test_detect_anomaly_does_not_blame_a_pass_for_a_grad_already_inf():
    x = mg.tensor(np.array([1.0]), requires_grad=True)
    x.grad = np.array([np.inf])
    with mg.detect_anomaly():
        (x * 2).backward(np.array([1.0]))
    assert np.isinf(x.grad).all()


def test_detect_anomaly_is_off_again_after_the_block():
    """Leaving detect_anomaly restores plain numpy NaN behaviour."""
    with mg.detect_anomaly():
        pass
    with np.errstate(invalid="ignore"):
        assert np.isnan(mg.tensor([-1.0]).log().data).all()


# ---- long graphs ---------------------------------------------------------------------------------

def test_a_100000_op_chain_backpropagates_without_recursion_error():
    """h = tanh(h * w + x) for 33,334 steps (100,002 ops): backward is iterative, and w.grad and
    x.grad equal a hand-written numpy reverse loop."""
    steps = 33_334
    w_values, x_values = np.array([0.9, -0.5, 1.1, 0.3]), np.array([0.2, 0.1, -0.3, 0.5])
    w = mg.tensor(w_values.copy(), requires_grad=True)
    x = mg.tensor(x_values.copy(), requires_grad=True)
    h = mg.tensor(np.zeros(4))
    for _ in range(steps):
        h = (h * w + x).tanh()
    h.sum().backward()

    hs = [np.zeros(4)]
    for _ in range(steps):
        hs.append(np.tanh(hs[-1] * w_values + x_values))
    grad_h, grad_w, grad_x = np.ones(4), np.zeros(4), np.zeros(4)
    for t in range(steps, 0, -1):
        grad_pre = grad_h * (1 - hs[t] ** 2)   # through tanh
        grad_w += grad_pre * hs[t - 1]
        grad_x += grad_pre
        grad_h = grad_pre * w_values
    np.testing.assert_allclose(w.grad, grad_w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad, grad_x, rtol=1e-10, atol=1e-12)


def test_memory_of_a_freed_graph_is_returned():
    """After backward frees a 20,000-step graph and we drop the intermediates we hold (keeping the
    loss), traced memory falls to well below half of what the graph took."""
    w = mg.tensor(np.array([0.9, -0.5, 1.1, 0.3]), requires_grad=True)
    x = mg.tensor(np.array([0.2, 0.1, -0.3, 0.5]), requires_grad=True)
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        h = mg.tensor(np.zeros(4))
        for _ in range(20_000):
            h = (h * w + x).tanh()
        loss = h.sum()
        graph_size = tracemalloc.get_traced_memory()[0] - baseline
        loss.backward()
        del h  # no gc.collect(): a graph without reference cycles is released by refcounting alone
        left = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert graph_size > 1_000_000  # the measurement saw a real graph
    assert left < 0.25 * graph_size, (left, graph_size)
    assert loss.requires_grad  # the root is still alive: the drop is the freeing, not losing the loss


@pytest.mark.parametrize("make, dtype, values", [
    (lambda i, x: i * 0.5, np.float32, [0.5, 1.0, 1.5]), (lambda i, x: 0.5 * i, np.float32, [0.5, 1.0, 1.5]),
    (lambda i, x: i / 2, np.float32, [0.5, 1.0, 1.5]), (lambda i, x: i / i, np.float32, [1.0, 1.0, 1.0]),
    (lambda i, x: mg.arange(3) * 0.5, np.float32, [0.0, 0.5, 1.0]),
    (lambda i, x: 0.5 ** i, np.float32, [0.5, 0.25, 0.125]), (lambda i, x: x * np.int64(3), np.float32, [3, 6, 9]),
    (lambda i, x: x + np.array([1, 2, 3]), np.float32, [2, 4, 6]), (lambda i, x: i + 1, np.int64, [2, 3, 4]),
    (lambda i, x: i ** 2, np.int64, [1, 4, 9]), (lambda i, x: i * True, np.int64, [1, 2, 3]),
    (lambda i, x: x * i, np.float32, [1, 4, 9]), (lambda i, x: i ** x, np.float32, [1, 4, 27]),
    (lambda i, x: x.double() + i.int(), np.float64, [2, 4, 6]), (lambda i, x: i.int() + i, np.int64, [2, 4, 6]),
], ids=["int * 0.5", "0.5 * int", "int / 2", "int / int", "arange * 0.5", "0.5 ** int", "f32 * np.int64",
        "f32 + int array", "int + 1", "int ** 2", "int * True", "f32 * int tensor",
        "int tensor ** f32 tensor", "f64 + int32 tensor", "int32 + int64 tensor (numpy's rule, as PyTorch's)"])
def test_scalars_and_arrays_promote_as_pytorchs_do(make, dtype, values):
    """PyTorch's rules where they differ from numpy's (which gives float64 for the first eight and the
    twelfth and thirteenth): across kinds, the floating operand's dtype wins."""
    y = make(mg.tensor([1, 2, 3]), mg.tensor([1.0, 2.0, 3.0]))
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.data, values)


def test_numpy_scalars_keep_their_dtype_like_arrays():
    assert mg.tensor(np.float64(1.5)).dtype == np.float64
    assert mg.tensor(np.arange(3.0).sum()).dtype == np.float64
    assert mg.tensor(np.float32(1.5)).dtype == np.float32
    assert mg.tensor(1.5).dtype == np.float32            # Python data takes the default dtype


def test_a_numpy_scalar_operand_acts_like_a_python_scalar():
    x = mg.tensor(np.ones(3, dtype=np.float32))
    assert (x * np.float64(2.0)).dtype == np.float32           # as PyTorch: scalars do not promote
    assert (x / np.sqrt(np.float64(4.0))).dtype == np.float32
    assert (np.float64(2.0) * x).dtype == np.float32
    np.testing.assert_array_equal((x * np.float64(2.0)).data, np.full(3, 2.0, dtype=np.float32))


def test_the_tanh_and_relu_methods_take_no_out_array():
    """`t.tanh()` and `t.relu()` take no output array, positional or `out=` (no op takes one: an array
    the caller still held could change a value a graph recorded)."""
    t = mg.tensor(np.zeros((2, 3)), requires_grad=True)
    with pytest.raises(TypeError):
        t.tanh(np.empty((2, 3), dtype=np.float32))
    with pytest.raises(TypeError):
        t.relu(out=np.empty((2, 3), dtype=np.float32))



def test_the_grad_of_a_zero_d_tensor_is_a_zero_d_array():
    """A 0-d tensor's gradient summed from a broadcast, or added over two passes, is still an ndarray
    of shape () (numpy hands 0-d sums back as scalars)."""
    s = mg.tensor(np.array(2.0), requires_grad=True)
    (mg.tensor(np.ones(3)) * s).sum().backward()
    assert type(s.grad) is np.ndarray and s.grad.shape == () and s.grad == 3.0
    (s * 4.0).backward()
    assert type(s.grad) is np.ndarray and s.grad.shape == () and s.grad == 7.0


@pytest.mark.parametrize("data", [np.array([1, 0], dtype=np.uint8), np.array([True, False])])
def test_sigmoid_of_unsigned_or_bool_tensors_is_the_sigmoid_of_their_values(data):
    """(-x of an unsigned array wraps, of a bool array raises: the values are made floats first, in the
    default dtype, as PyTorch's.)"""
    y = mg.tensor(data).sigmoid()
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, [1 / (1 + math.exp(-1)), 0.5], rtol=1e-7)


@pytest.mark.parametrize("op, reference", [("exp", math.exp), ("log", math.log), ("sqrt", math.sqrt),
                                           ("sin", math.sin), ("cos", math.cos)])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int64, np.bool_])
def test_float_ops_of_integer_or_bool_tensors_give_the_default_float_dtype(op, reference, dtype):
    """As PyTorch's (numpy would give float16 for 8-bit ones: exp of uint8 12 was inf)."""
    data = np.array([1, 12] if dtype is not np.bool_ else [True, True], dtype=dtype)
    y = getattr(mg.tensor(data), op)()
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, [reference(float(v)) for v in data], rtol=1e-6)


def test_min_keeps_the_reduced_axis_when_asked_as_max_does():
    """(x.min(1, keepdim=True) came back (2,), so x - x.min(...) broadcast along the wrong axis.)"""
    x = mg.tensor([[1.0, 2.0], [3.0, 0.0]])
    assert x.min(1, keepdim=True).shape == (2, 1) and x.min(keepdim=True).shape == (1, 1)
    np.testing.assert_array_equal((x - x.min(axis=1, keepdim=True)).data, [[0.0, 1.0], [3.0, 0.0]])
    assert mg.ones((2, 2)).all(axis=1, keepdims=True).shape == (2, 1)


def test_a_parameter_and_a_tensor_promote_alike():
    """A Parameter promotes as a tensor does (it is not of type Tensor, so it takes the path of other operands)."""
    counts = mg.tensor(np.array([1, 2]))
    assert (mg.nn.Parameter(np.ones(2, np.float32)) * counts).dtype == (mg.tensor(np.ones(2, np.float32)) * counts).dtype


@pytest.mark.parametrize("value, dtype", [([1e39], np.float32), ([2 ** 32 + 5], np.int32)],
                         ids=["1e39 into float32 (inf)", "2**32 + 5 into int32 (wraps to 5)"])
def test_numbers_outside_the_dtypes_range_are_refused_by_data(value, dtype):
    t = mg.tensor(np.zeros(1, dtype))
    with pytest.raises(ValueError, match="Tensor.data: .*not numbers of a kind that casts to it"):
        t.data = value
    assert t.data[0] == 0


def test_pytorchs_constants_finfo_and_the_like_makers():
    """torch.pi, torch.e, torch.inf, torch.nan; torch.finfo(dtype).eps/.min/.max (numpy's finfo);
    full_like and empty_like (zeros here, as empty is) in the given tensor's shape and dtype."""
    assert (mg.pi, mg.e, mg.inf) == (math.pi, math.e, math.inf) and math.isnan(mg.nan)
    assert mg.finfo(mg.float32).eps == np.finfo(np.float32).eps and mg.finfo(mg.float16).max == 65504
    assert mg.iinfo(mg.int64).max == 2 ** 63 - 1
    like = mg.zeros(2, 3, dtype=mg.float64)
    filled = mg.full_like(like, 7)
    assert filled.shape == (2, 3) and filled.dtype == np.float64 and filled.tolist() == [[7.0] * 3] * 2
    assert mg.empty_like(like, dtype=mg.int64).tolist() == [[0] * 3] * 2


def test_floats_print_as_pytorchs_formatter_writes_them():
    """Integer-valued floats as `1.`, others with 4 digits, scientific notation when the magnitudes
    span more than 1000 times, pass 1e8 or fall below 1e-4; each entry padded to the widest."""
    assert repr(mg.tensor([0.1, 0.2])) == "tensor([0.1000, 0.2000])"
    assert repr(mg.tensor([1.23456, 2.0])) == "tensor([1.2346, 2.0000])"
    assert repr(mg.tensor([0.0, 1.0, 2.0])) == "tensor([0., 1., 2.])"
    assert repr(mg.tensor([1e-5, 1.0])) == "tensor([1.0000e-05, 1.0000e+00])"
    assert repr(mg.tensor([1e10, 1.0])) == "tensor([1.0000e+10, 1.0000e+00])"
    assert repr(mg.tensor([np.nan, 1.5, -np.inf])) == "tensor([   nan, 1.5000,   -inf])"
    assert repr(mg.tensor([1.5, 2.25], dtype=mg.float16)) == "tensor([1.5000, 2.2500], dtype=float16)"


def test_set_printoptions_changes_digits_and_notation_and_the_default_profile_restores_them():
    small = mg.tensor([[-5.9605e-08], [1.9868e-08]])
    assert "e-08" in repr(small)
    try:
        assert mg.set_printoptions(sci_mode=False) is None
        assert repr(small) == "tensor([[-0.0000],\n        [ 0.0000]])"
        assert repr(mg.tensor([1e10, 1.0])) == "tensor([10000000000.,           1.])"
        mg.set_printoptions(precision=2)
        assert repr(mg.tensor([1.23456, 2.5])) == "tensor([1.23, 2.50])"
        mg.set_printoptions(sci_mode=True)
        assert repr(mg.tensor([1.5, 2.0])) == "tensor([1.50e+00, 2.00e+00])"      # (precision 2 stays)
        mg.set_printoptions(profile="full")
        assert "..." not in repr(mg.arange(30.0))
    finally:
        mg.set_printoptions(profile="default")
    assert "..." in repr(mg.arange(30.0)) and repr(mg.tensor([0.0, 1.0])) == "tensor([0., 1.])"


def test_a_refused_set_printoptions_call_changes_nothing():
    for call in (dict(profile="short", precision=-1), dict(precision=7, sci_mode="yes"),
                 dict(profile="full", edgeitems=1.5), dict(threshold=float("nan")), dict(sci_mode=0),
                 dict(profile="long")):
        with pytest.raises(ValueError, match="set_printoptions: "):
            mg.set_printoptions(**call)
        assert repr(mg.tensor([0.1, 0.2])) == "tensor([0.1000, 0.2000])" and "..." in repr(mg.arange(30.0))


def test_full_like_refuses_what_the_dtype_cannot_hold_and_takes_pytorchs_input_keyword():
    with pytest.raises(ValueError, match="full_like: the value nan cannot be converted to dtype int64"):
        mg.full_like(mg.tensor([1, 2]), math.nan)
    with pytest.raises(TypeError, match="full_like: fill_value must be one number, got Tensor"):
        mg.full_like(mg.tensor([1, 2]), mg.tensor([3.0, 4.0]))
    assert mg.zeros_like(input=mg.ones(2)).tolist() == [0.0, 0.0]
    weighted = mg.bincount(mg.tensor([0, 1, 1]), weights=mg.tensor([0.5, 0.5, 1.0]))
    assert weighted.dtype == np.float32 and weighted.tolist() == [0.5, 1.5]


def test_bools_print_padded_to_the_widest_present_as_pytorchs_do():
    """PyTorch pads True and False to the widest one present: tensor([True, True]) (numpy pads to False's
    width, [ True,  True]), tensor([ True, False]), a column [[ True], [False]], tensor(True)."""
    assert repr(mg.tensor([True, True])) == "tensor([True, True])"
    assert repr(mg.tensor([True, False])) == "tensor([ True, False])"
    assert repr(mg.tensor([[True], [False]])) == "tensor([[ True],\n        [False]])"
    assert repr(mg.tensor(True)) == "tensor(True)" and repr(mg.tensor([False, False])) == "tensor([False, False])"
    assert str(mg.tensor([1.0, 2.0]) > 0) == "tensor([True, True])"


def test_retain_grad_needs_requires_grad_and_retains_grad_says_a_non_leaf_keeps_its_gradient():
    """As PyTorch's: retain_grad() on a tensor that does not require grad is a RuntimeError; a leaf does
    not 'retain' (its .grad is its own), a non-leaf here always keeps its gradient, retain_grad() or not."""
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    assert a.retains_grad is False and b.retains_grad is True
    b.retain_grad()
    (b * b).sum().backward()
    np.testing.assert_allclose(b.grad, [4.0, 8.0])                  # d(b^2)/db = 2b
    with pytest.raises(RuntimeError, match="retain_grad: can't retain_grad on a tensor that has requires_grad=False"):
        mg.tensor([1.0]).retain_grad()
