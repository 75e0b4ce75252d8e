"""A review of item assignment (`t[index] = value`, `mg.ops.index_put`, parts that write into their
tensor, and the in-place methods that go through `Tensor._in_place`).

References are central finite differences in float64, numpy (a part taken with a basic index is a
numpy view: a write into it shows in the base, as in PyTorch), or values derived by hand; never the
library's own earlier output. The review's findings (F1-F10) are fixed; their tests stay here.
"""

import copy
import gc
import io
import pickle
import threading
import time
import tracemalloc

import numpy as np
import pytest

import microgradseq as mg

RNG = np.random.default_rng(20261205)
W0 = RNG.standard_normal((3, 4))
V0 = RNG.standard_normal(4)
U0 = RNG.standard_normal((3, 4))


def f64(data, requires_grad=False):
    return mg.tensor(np.asarray(data, dtype=np.float64), requires_grad=requires_grad)


def central_differences(value, arrays, i, eps=1e-6):
    """d value / d arrays[i], by central differences (value takes numpy arrays, returns a float)."""
    arrays = [a.copy() for a in arrays]
    grad = np.zeros_like(arrays[i])
    for k in np.ndindex(arrays[i].shape):
        arrays[i][k] += eps
        up = value(*arrays)
        arrays[i][k] -= 2 * eps
        down = value(*arrays)
        arrays[i][k] += eps
        grad[k] = (up - down) / (2 * eps)
    return grad


# ---- gradients and tangents against finite differences ------------------------------------------

def _basic_row(x, v):
    y = x * 2.0
    y[1] = v * 3.0
    return (y * y).sum()


def _part_write(x, v):
    y = x.tanh()
    row = y[0]
    row[1:3] = v[:2]
    return (y ** 3).sum()


def _chained_parts(x, v):
    y = x * 1.0
    y[0][2] = v[0]
    y[2][1] += v[1] * x[0, 0]
    return y.sin().sum()


def _shift_into_itself(x, v):
    y = x * 1.0
    y[1:] = y[:-1]                      # the value is a part of y itself
    return (y ** 2 * f64(U0)).sum()


def _mask_scalar(x, v):
    y = x * 1.0
    y[y > 0] = v.sum()
    return (y ** 2 * f64(U0)).sum()


def _broadcast_value(x, v):
    y = x * 1.0
    y[:, 1:3] = v[None, :2] * 2.0      # value (1, 2) broadcast to (3, 2): its gradient summed over rows
    return (y ** 2 * f64(U0)).sum()


def _rows_broadcast(x, v):
    y = x * 1.0
    y[[0, 2]] = v
    return (y ** 2 * f64(U0)).sum()


def _decoder_buffer(x, v):
    outputs = mg.zeros(5, 4, dtype=np.float64)
    h = v
    for t in range(5):
        h = (h * x[t % 3]).tanh()
        outputs[t] = h
    return (outputs ** 2).sum()


def _ellipsis_none_negative(x, v):
    y = x * 1.0
    y[..., -1] = v[:3]
    y[None, 0] = y[1:2] * 0.5
    return (y ** 2 * f64(U0)).sum()


def _part_of_part_in_place(x, v):
    y = x * 1.0
    p = y[0]
    q = p[1:]
    q[0] = v[0]
    q *= v[1]
    return (y ** 2 * f64(U0)).sum()


def _in_place_methods_on_parts(x, v):
    y = x * 1.0
    y.masked_fill_(y > 0.5, 0.0)
    y[0].copy_(v)
    y[1].mul_(v)
    y[2].add_(v, alpha=2.0)
    return (y ** 2 * f64(U0)).sum()


def _zero_d(x, v):
    s = x[0, 0] * 1.0
    s[()] = v[0] * x[1, 1]
    s[...] *= x[0, 0]
    return s * 2.0


PROGRAMS = [_basic_row, _part_write, _chained_parts, _shift_into_itself, _mask_scalar, _broadcast_value,
            _rows_broadcast, _decoder_buffer, _ellipsis_none_negative, _part_of_part_in_place,
            _in_place_methods_on_parts, _zero_d]


def _value_of(program):
    return lambda x, v: program(f64(x), f64(v)).item()


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__.strip("_"))
def test_reverse_mode_matches_central_differences(program):
    x, v = f64(W0, requires_grad=True), f64(V0, requires_grad=True)
    program(x, v).backward()
    for i, t in enumerate((x, v)):
        reference = central_differences(_value_of(program), [W0, V0], i)
        got = np.zeros_like(reference) if t.grad is None else t.grad
        np.testing.assert_allclose(got, reference, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__.strip("_"))
def test_forward_mode_matches_central_differences(program):
    rng = np.random.default_rng(PROGRAMS.index(program))           # (its own draws, whatever ran before)
    directions = [rng.standard_normal(W0.shape), rng.standard_normal(V0.shape)]
    _, tangent = mg.jvp(program, [f64(W0), f64(V0)], directions)
    reference = sum((central_differences(_value_of(program), [W0, V0], i) * d).sum()
                    for i, d in enumerate(directions))
    np.testing.assert_allclose(tangent, reference, atol=1e-7, rtol=1e-6)


def test_forward_mode_of_a_write_into_a_0d_tensor():
    """y = 1 * a; r = y[1] (0-d); r[()] = 5 a_0: y = (a_0, 5 a_0), J v = (v_0, 5 v_0)."""
    def f(a):
        y = a * 1.0
        r = y[1]
        r[()] = a[0] * 5.0
        return y
    out, tangent = mg.jvp(f, [f64([1.0, 2.0])], [np.array([1.0, 10.0])])
    np.testing.assert_allclose(out.data, [1.0, 5.0])
    np.testing.assert_allclose(tangent, [1.0, 5.0])


def test_forward_mode_of_zero_d_program_by_hand():
    """y = a; y[0:1] = a_1 a_0 (a write into a 1-d part): J v = (a_1 v_0 + a_0 v_1, v_1), by hand. (The
    0-d program's tangent is checked against central differences above.)"""
    def f(a):
        y = a * 1.0
        y[0:1] = a[1:2] * a[0:1]
        return y
    _, tangent = mg.jvp(f, [f64([2.0, 3.0])], [np.array([1.0, 0.0])])
    np.testing.assert_allclose(tangent, [3.0, 0.0])


def test_a_fused_lstm_output_written_into_backpropagates_as_finite_differences_say():
    previous = mg.get_default_dtype()
    mg.set_default_dtype(np.float64)
    rng = np.random.default_rng(1)
    try:
        mg.manual_seed(0)
        lstm = mg.nn.LSTM(3, 4)
        X = rng.standard_normal((4, 2, 3))
        M = rng.standard_normal((4, 2, 4))

        def loss(x):
            out, (h, c) = lstm(x)
            out[1] = 0.0
            out[2:, 0] += h[0, 0] * 2.0
            row = out[3]
            row[:, 1:3] = c[0][:, :2]
            return (out * f64(M)).sum()

        x = f64(X, requires_grad=True)
        loss(x).backward()
        reference = central_differences(lambda a: loss(f64(a)).item(), [X], 0)
        np.testing.assert_allclose(x.grad, reference, atol=1e-7)
        v = rng.standard_normal(X.shape)
        _, tangent = mg.jvp(loss, [f64(X)], [v])
        np.testing.assert_allclose(tangent, (reference * v).sum(), atol=1e-7)
    finally:
        mg.set_default_dtype(previous)


def test_a_float64_value_written_into_a_float32_buffer_gets_its_gradient_in_float64():
    """buf[1] = x0 x1, L = 3 sum(buf): dL/dx = 3 (x1, x0), by hand."""
    x = f64([1.5, -2.0], requires_grad=True)
    buf = mg.zeros(3)
    buf[1] = x[0] * x[1]
    assert buf.dtype == np.float32
    (buf * 3.0).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, [-6.0, 4.5])


def test_writing_a_value_that_requires_grad_into_a_tensor_that_does_not_records_the_write():
    w = f64([0.5, -1.0], requires_grad=True)
    table = mg.zeros(2, 2, dtype=np.float64)
    assert not table.requires_grad
    table[1] = w * w
    assert table.requires_grad and not table.is_leaf
    (table * f64([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_allclose(w.grad, [2 * 0.5 * 3.0, 2 * -1.0 * 4.0])


def test_retain_graph_runs_the_same_backward_twice():
    """y = (x0, x0 x2, x2): L = x0^2 + x0^2 x2^2 + x2^2, dL/dx = (2 x0 + 2 x0 x2^2, 0, 2 x0^2 x2 + 2 x2)."""
    x = f64([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1.0
    y[1] = x[0] * x[2]
    loss = (y ** 2).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, [20.0, 0.0, 12.0])
    loss.backward()
    np.testing.assert_allclose(x.grad, [40.0, 0.0, 24.0])


def test_a_graph_keeps_the_values_it_recorded():
    """L = sum(w * t), then t is written (directly and through a part): dL/dw is t as it was."""
    w = f64([1.0, 1.0, 1.0], requires_grad=True)
    t = f64([2.0, 3.0, 4.0])
    part = t[1:]
    loss = (w * t).sum()
    t[0] = 100.0
    part.fill_(-5.0)
    np.testing.assert_array_equal(t.data, [100.0, -5.0, -5.0])
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 3.0, 4.0])


def test_draw_shows_the_index_put_node():
    x = mg.randn(3, 4, requires_grad=True)
    y = x * 2.0
    y[0] = x[1]
    assert "index_put" in mg.draw(y.sum()).source


# ---- values against numpy (a basic index is a numpy view, as a PyTorch one) ------------------------

def _writes(t, np_like):
    """The same writes on a tensor and on a numpy array (parts as numpy views)."""
    t[0, 1] = 5.0
    t[-1] = -1.0
    t[..., 2] = np_like([7.0, 8.0, 9.0])
    t[None, 1, ::2] = 3.5
    t[t > 8] = 0.0
    t[[0, 2], 3] = np_like([11.0, 12.0])
    t[1:, :] = t[:-1, :]
    t[np.zeros((3, 4), dtype=bool)] = 99.0          # an empty selection
    row = t[2]
    row[1:3] = 4.25
    row[::-1][0] += 1.0
    t[0][0:1][...] = 6.0


def test_writes_give_the_values_numpy_gives():
    reference = np.arange(12.0).reshape(3, 4)
    _writes(reference, np.array)
    t = mg.tensor(np.arange(12.0).reshape(3, 4))
    _writes(t, mg.tensor)
    np.testing.assert_array_equal(t.data, reference)


def test_dtypes_as_pytorch_casts_them():
    ints = mg.zeros(4, dtype=np.int64)
    ints[0] = 1.7
    ints[1] = -1.7                       # truncated toward zero, as PyTorch and numpy
    ints[2:] = f64([2.9, 3.0])
    np.testing.assert_array_equal(ints.data, [1, -1, 2, 3])
    assert ints.dtype == np.int64
    floats = mg.zeros(2)
    floats[0] = 3                        # an int into a float tensor
    floats[1] = np.int64(2 ** 24 + 1)    # rounded to float32, as numpy
    np.testing.assert_array_equal(floats.data, np.array([3, 2 ** 24 + 1], dtype=np.float32))
    assert floats.dtype == np.float32
    flags = mg.zeros(3, dtype=np.bool_)
    flags[mg.tensor([True, False, True])] = 1
    np.testing.assert_array_equal(flags.data, [True, False, True])


def test_zero_d_tensors_and_empty_selections():
    t = f64([[1.0, 2.0], [3.0, 4.0]])
    t[1][0] += 10.0                      # a 0-d part of a part, as PyTorch's t[1][0] view
    t[0][1][...] = 0.5
    np.testing.assert_array_equal(t.data, [[1.0, 0.5], [13.0, 4.0]])
    s = f64(3.0)
    s[()] = 5.0
    s[...] += 1.0
    assert s.item() == 6.0
    with pytest.raises(IndexError, match="index_put"):
        s[0] = 1.0                       # as PyTorch: a 0-d tensor has no axis to index
    t = f64([1.0, 2.0])
    t[mg.tensor([False, False])] = mg.ones(0, dtype=np.float64)
    np.testing.assert_array_equal(t.data, [1.0, 2.0])


def test_the_parts_pytorch_makes_as_views_write_through():
    """narrow, split, chunk and unbind are PyTorch views (writes show in the tensor); so they are here
    (they index), though docs/pytorch.md lists narrow among what does not write through."""
    t = mg.arange(6.0)
    t.narrow(0, 1, 2).fill_(-1.0)
    t.split(3)[1].zero_()
    np.testing.assert_array_equal(t.data, [0.0, -1.0, -1.0, 0.0, 0.0, 0.0])
    m = mg.arange(6.0).reshape(2, 3)
    m.unbind(0)[0].fill_(9.0)
    np.testing.assert_array_equal(m.data, [[9.0, 9.0, 9.0], [3.0, 4.0, 5.0]])


def test_writing_into_a_flipped_copy_leaves_the_tensor_alone():
    t = mg.arange(4.0)
    f = t.flip(0)
    f[0] = 100.0
    np.testing.assert_array_equal(f.data, [100.0, 2.0, 1.0, 0.0])
    np.testing.assert_array_equal(t.data, [0.0, 1.0, 2.0, 3.0])


def test_a_part_taken_earlier_does_not_undo_a_later_write_into_its_tensor():
    reference = np.zeros((2, 3))
    row = reference[0]
    reference[0, 2] = 7.0
    row[0] = 9.0
    t = mg.zeros(2, 3)
    part = t[0]
    t[0, 2] = 7.0
    part[0] = 9.0
    np.testing.assert_array_equal(t.data, reference)           # [[9, 0, 7], [0, 0, 0]]


def test_overlapping_parts_write_as_numpy_views_do():
    reference = np.zeros(4)
    a, b = reference[0:2], reference[1:3]
    a[1] = 5.0
    b[1] = 7.0
    t = mg.zeros(4)
    p, q = t[0:2], t[1:3]
    p[1] = 5.0
    q[1] = 7.0
    np.testing.assert_array_equal(t.data, reference)           # [0, 5, 7, 0]


def test_the_gradient_of_a_write_a_stale_part_would_undo():
    w = f64(2.0, requires_grad=True)
    y = mg.zeros(2, 3, dtype=np.float64) * 1.0
    row = y[0]
    y[0, 2] = w
    row[0] = 9.0
    y.sum().backward()
    assert w.grad == 1.0


def test_a_part_of_a_parameter_taken_before_load_state_dict():
    source, target = mg.nn.Linear(3, 2), mg.nn.Linear(3, 2)
    row = target.weight[0]
    target.load_state_dict(source.state_dict())
    with mg.no_grad():
        row[0] = 7.0
    expected = np.array(source.weight.data)
    expected[0, 0] = 7.0
    np.testing.assert_array_equal(target.weight.data, expected)


def test_a_confusion_matrix_counted_with_tensor_labels():
    labels, guesses = mg.tensor([0, 1, 1, 2]), mg.tensor([0, 1, 2, 2])
    confusion = mg.zeros(3, 3, dtype=np.int64)
    for label, guess in zip(labels, guesses):
        confusion[label][guess] += 1
    expected = np.zeros((3, 3), dtype=np.int64)
    np.add.at(expected, (labels.data, guesses.data), 1)
    np.testing.assert_array_equal(confusion.data, expected)


def test_a_numpy_integer_inside_a_tuple_index_is_a_part():
    reference = np.zeros((2, 3))
    reference[np.int64(1), :].fill(5.0)
    t = mg.zeros(2, 3, dtype=np.float64)
    t[np.int64(1), :].fill_(5.0)
    np.testing.assert_array_equal(t.data, reference)


# ---- dtypes: what integers cannot hold ------------------------------------------------------------

def test_an_integer_tensor_written_with_a_value_that_requires_grad_has_no_gradient():
    """L = 2 sum(float(t)), t[0] = trunc(3 w): dL/dw is 0 (a step function), and PyTorch's t does not
    require grad (integers are not differentiable)."""
    w = f64(1.5, requires_grad=True)
    t = mg.zeros(3, dtype=np.int64)
    t[0] = w * 3.0
    assert t.data[0] == 4
    assert not t.requires_grad
    reference = central_differences(lambda a: float(np.trunc(3 * a[()]) * 2.0), [np.array(1.5)], 0)
    assert reference == 0.0
    loss = (t.to(np.float64) * 2.0).sum()
    assert not loss.requires_grad and w.grad is None        # no path back to w: its gradient is the reference, 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype, value", [(np.int32, 1e10), (np.int64, float("nan")), (np.int64, float("inf")),
                                          (np.int8, 300), (np.float32, 1e39)])
def test_numbers_out_of_range_are_refused_naming_index_put(dtype, value):
    t = mg.zeros(3, dtype=dtype)
    with pytest.raises((ValueError, OverflowError, TypeError), match="index_put"):
        t[0] = value
    np.testing.assert_array_equal(t.data, [0, 0, 0])


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
def test_a_complex_number_into_a_float_tensor_is_refused():
    t = mg.zeros(2)
    with pytest.raises(TypeError, match="index_put"):
        t[0] = 1 + 2j


def test_a_value_that_is_not_a_number_names_index_put():
    t = mg.zeros(2)
    with pytest.raises(TypeError, match="index_put"):
        t[0] = None


# ---- errors -----------------------------------------------------------------------------------------

def test_errors_name_index_put_and_change_nothing():
    t = f64([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    row = t[0]
    before = t.data.copy()
    with pytest.raises(IndexError, match=r"index_put: .*\(tensor of shape \(2, 3\)"):
        t[5] = 1.0
    with pytest.raises(ValueError, match=r"index_put: could not broadcast"):
        t[0] = f64([1.0, 2.0])
    with pytest.raises(ValueError, match=r"index_put: the index names a position twice, for values that may differ"):
        t[[1, 1]] = f64([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    with pytest.raises(ValueError, match=r"index_put: could not broadcast"):
        row[:] = f64([1.0, 2.0])
    np.testing.assert_array_equal(t.data, before)
    np.testing.assert_array_equal(row.data, before[0])


def test_an_empty_list_index_selects_nothing():
    t = f64([1.0, 2.0, 3.0])
    t[[]] = 5.0
    np.testing.assert_array_equal(t.data, [1.0, 2.0, 3.0])
    assert t[[]].shape == (0,)


def test_a_nan_write_under_detect_anomaly_names_index_put_and_changes_nothing():
    t = f64([1.0, 2.0])
    with mg.detect_anomaly(), pytest.raises(FloatingPointError, match="index_put"):
        t[0] = float("nan")
    np.testing.assert_array_equal(t.data, [1.0, 2.0])


def test_an_anomaly_in_the_write_through_changes_nothing():
    t = f64([-np.inf, 1.0, 2.0])        # (an attention score masked to -inf)
    part = t[1:]
    with mg.detect_anomaly(), pytest.raises(FloatingPointError, match="index_put"):
        part.add_(1.0)
    np.testing.assert_array_equal(t.data, [-np.inf, 1.0, 2.0])
    np.testing.assert_array_equal(part.data, [1.0, 2.0])


# ---- leaves, parameters, optimizers, state dicts ---------------------------------------------------

def test_a_parameter_is_refused_while_recording_and_written_under_no_grad_stays_a_leaf_that_trains():
    lin = mg.nn.Linear(3, 2)
    before = lin.weight.data.copy()
    with pytest.raises(RuntimeError, match=r"t\[index\] = value: a leaf tensor that requires grad"):
        lin.weight[0] = 0.0
    with pytest.raises(RuntimeError, match=r"fill_: a leaf tensor that requires grad \(here a part of one\)"):
        lin.weight[1].fill_(0.0)
    np.testing.assert_array_equal(lin.weight.data, before)
    with mg.no_grad():
        lin.weight[0] = 0.0
        lin.weight[1][2] = 5.0
        lin.bias.zero_()
    assert lin.weight.is_leaf and lin.weight.requires_grad and type(lin.weight) is mg.nn.Parameter
    expected = before.copy()
    expected[0] = 0.0
    expected[1, 2] = 5.0
    np.testing.assert_array_equal(lin.weight.data, expected.astype(np.float32))
    opt = mg.optim.SGD(lin.parameters(), lr=0.1)
    lin(mg.ones(1, 3)).sum().backward()                 # dL/dW = ones, dL/db = ones
    opt.step()
    np.testing.assert_allclose(lin.weight.data, expected - 0.1, rtol=1e-6)
    np.testing.assert_allclose(lin.bias.data, [-0.1, -0.1], rtol=1e-6)


def test_a_part_of_a_parameter_taken_after_load_state_dict_writes_into_the_loaded_values():
    source, target = mg.nn.Linear(3, 2), mg.nn.Linear(3, 2)
    target.load_state_dict(source.state_dict())
    row = target.weight[1]
    with mg.no_grad():
        row[2] = 7.0
    expected = np.array(source.weight.data)
    expected[1, 2] = 7.0
    np.testing.assert_array_equal(target.weight.data, expected)
    assert target.weight.is_leaf


# ---- copies, pickling, saving ----------------------------------------------------------------------

def test_copies_of_a_part_are_tensors_of_their_own():
    """deepcopy, pickle and mg.save of a part copy its values; writing the copy leaves the base alone.
    (PyTorch's torch.save of a dict holding a tensor and a view of it keeps them sharing storage; here
    they load as two independent tensors.)"""
    base = mg.arange(6.0).reshape(2, 3)
    part = base[0]
    for clone in (copy.deepcopy(part), pickle.loads(pickle.dumps(part)), copy.copy(part)):
        clone[1] = 100.0
        np.testing.assert_array_equal(base.data, np.arange(6.0).reshape(2, 3))
    buffer = io.BytesIO()
    mg.save({"base": base, "part": part}, buffer)
    buffer.seek(0)
    loaded = mg.load(buffer)
    loaded["part"][1] = 50.0
    np.testing.assert_array_equal(loaded["base"].data, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(loaded["part"].data, [0.0, 50.0, 2.0])


# ---- forward mode and its inputs -------------------------------------------------------------------

def test_jvp_leaves_the_base_of_a_part_input_as_it_was():
    base = f64([[1.0, 2.0], [3.0, 4.0]])
    part = base[0]
    _, tangent = mg.jvp(lambda p: p.add_(1.0) * 2.0, [part], [np.ones(2)])
    np.testing.assert_array_equal(tangent, [2.0, 2.0])
    np.testing.assert_array_equal(part.data, [1.0, 2.0])
    np.testing.assert_array_equal(base.data, [[1.0, 2.0], [3.0, 4.0]])
    assert base._tangent is None


# ---- threads -----------------------------------------------------------------------------------------

def test_no_grad_in_one_thread_does_not_let_another_thread_write_into_a_leaf():
    errors, refused = [], []

    def under_no_grad():
        try:
            p = f64([1.0, 2.0], requires_grad=True)
            with mg.no_grad():
                for _ in range(300):
                    p[0] += 1.0
                    time.sleep(0)
            assert p.is_leaf and p.data[0] == 301.0
        except Exception as error:           # pragma: no cover - reported below
            errors.append(error)

    def recording():
        try:
            for _ in range(300):
                q = f64([1.0, 2.0], requires_grad=True)
                try:
                    q[0] = 5.0
                except RuntimeError:
                    refused.append(1)
                t = mg.zeros(4)
                t[1] = 1.0
                assert t.data.sum() == 1.0
                time.sleep(0)
        except Exception as error:           # pragma: no cover
            errors.append(error)

    threads = [threading.Thread(target=under_no_grad), threading.Thread(target=recording)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(refused) == 300


# ---- memory and cost in loops ------------------------------------------------------------------------

def test_tbptt_with_a_state_buffer_written_row_by_row_matches_finite_differences():
    H = 3
    rng = np.random.default_rng(2)
    W = f64(rng.standard_normal((H, H)) * 0.5, requires_grad=True)
    xs = [f64(rng.standard_normal(H)) for _ in range(6)]
    ys = [f64(float(rng.standard_normal())) for _ in range(6)]
    h0 = f64(rng.standard_normal((2, H)) * 0.3)

    def step_with(weight):
        def step(x, h):
            new = mg.zeros(2, H, dtype=np.float64)
            new[0] = (h[0] @ weight + x).tanh()
            new[1] = new[0] * h[1]
            return new[0].sum(), new
        return step

    mse = lambda o, y: (o - y) ** 2                 # noqa: E731
    grads = []
    mg.bptt.tbptt(step_with(W), h0, xs, ys, mse, k1=6, k2=6, on_update=lambda u, l: grads.append(W.grad.copy()))

    def total(weight):
        step, h, loss = step_with(f64(weight)), h0, 0.0
        for x, y in zip(xs, ys):
            out, h = step(x, h)
            loss = loss + mse(out, y).item()
        return loss

    np.testing.assert_allclose(grads[0], central_differences(total, [W.data.copy()], 0), atol=1e-7)


def test_a_decoder_buffer_keeps_no_old_buffers_alive():
    """outputs[t] = y for T steps: the peak memory is about that of the list + stack way (the graph
    does not keep each step's copy of the buffer)."""
    T, B, H = 20, 8, 500
    w = mg.randn(B, H, requires_grad=True)

    def buffered():
        outputs = mg.zeros(T, B, H)
        for t in range(T):
            outputs[t] = w * float(t)
        return outputs

    def stacked():
        return mg.stack([w * float(t) for t in range(T)])

    peaks = []
    for make in (buffered, stacked):
        gc.collect()
        tracemalloc.start()
        out = make()
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        del out
    buffer_bytes = T * B * H * 4
    assert peaks[0] < peaks[1] + 3 * buffer_bytes


def test_a_buffer_filled_row_by_row_equals_the_list_and_stack_way():
    """The two ways docs/pytorch.md names: the same values (their costs are in benchmarks, not here).
    T = 50 rows of (32, 1000) float32, recording."""
    T, B, H = 50, 32, 1000
    w = mg.tensor(RNG.standard_normal((B, H)).astype(np.float32), requires_grad=True)
    rows = [mg.tensor(RNG.standard_normal((B, H)).astype(np.float32)) for _ in range(T)]
    outputs = mg.zeros(T, B, H)
    for t in range(T):
        outputs[t] = rows[t] * w
    np.testing.assert_array_equal(outputs.data, mg.stack([rows[t] * w for t in range(T)]).data)


def test_repeated_indexing_in_a_loop_keeps_memory_bounded():
    def retained(n):
        gc.collect()
        tracemalloc.start()
        with mg.no_grad():
            h = mg.zeros(16)
            for _ in range(n):
                h = h[...]
            gc.collect()
            held = tracemalloc.get_traced_memory()[0]
            h += 1.0
        tracemalloc.stop()
        np.testing.assert_array_equal(h.data, np.ones(16))
        return held

    assert retained(2500) - retained(500) < 100_000


# ---- a newcomer's findings: init of parts, t.new(data), sizes from tensors, one value at repeats ----

def test_nn_init_on_a_part_of_a_parameter_sets_those_entries_of_the_parameter():
    """PyTorch recipes: constant_(bias[H:2H], 1.0) for the forget gates, orthogonal_ of each gate's block."""
    lstm = mg.nn.LSTM(3, 4, dtype=np.float64)
    before = lstm.bias_ih_l0.data.copy()
    mg.nn.init.constant_(lstm.bias_ih_l0[4:8], 1.0)
    np.testing.assert_array_equal(lstm.bias_ih_l0.data, np.concatenate([before[:4], np.ones(4), before[8:]]))
    assert lstm.bias_ih_l0.is_leaf and lstm.bias_ih_l0.requires_grad
    weight = lstm.weight_hh_l0
    for k in range(4):
        mg.nn.init.orthogonal_(weight[4 * k:4 * (k + 1)])
    for k in range(4):
        block = weight.data[4 * k:4 * (k + 1)]
        np.testing.assert_allclose(block @ block.T, np.eye(4), atol=1e-12)


def test_new_with_data_is_that_data_in_the_tensors_dtype():
    t = mg.zeros(2, dtype=np.float32)
    assert t.new([1, 2]).dtype == np.float32 and t.new([1, 2]).tolist() == [1.0, 2.0]
    assert t.new(2, 3).shape == (2, 3) and not t.new(2, 3).data.any()


def test_a_0d_integer_tensor_is_a_size_as_in_pytorch():
    lengths = mg.tensor([3, 5])
    assert mg.zeros(2, lengths.max()).shape == (2, 5)
    assert mg.LongTensor(3, lengths.max()).shape == (3, 5)


def test_one_value_at_a_position_named_twice_lands_once_and_its_gradient_counts_it_once():
    """seen[tokens] = True with a repeated token; y[[1, 1, 2]] = v: dL/dv = g_1 + g_2 (not 2 g_1 + g_2)."""
    seen = mg.zeros(5, dtype=np.bool_)
    seen[[3, 1, 3, 0]] = True
    assert seen.tolist() == [True, True, False, True, False]
    v = f64(2.0, requires_grad=True)
    y = f64(np.zeros(4)) * 1.0
    y[[1, 1, 2]] = v
    (y * f64([1.0, 10.0, 100.0, 1000.0])).sum().backward()
    assert y.tolist() == [0.0, 2.0, 2.0, 0.0] and v.grad == 110.0


# ---- a value's leading axes of size 1 (PyTorch's set_item strips them, "to match numpy semantics") ----------

def test_a_one_element_value_writes_a_single_place_with_its_gradient_and_tangent():
    """y = zeros(3); y[1] = w * 3 with w of shape (1,): y = (0, 3 w, 0); dL/dw = 3 c_1 for L = sum(c y);
    the tangent of y for dw = v is (0, 3 v, 0). Also (1, 1) into one place of a matrix."""
    c = np.array([1.0, 2.0, 3.0])

    def f(w):
        y = mg.zeros(3, dtype=mg.float64)
        y[1] = w * 3
        return y

    w = f64([2.0], requires_grad=True)
    out = f(w)
    np.testing.assert_array_equal(out.numpy(), [0.0, 6.0, 0.0])
    (out * mg.tensor(c)).sum().backward()
    eps = 1e-6
    numeric = float((c * (f(f64([2.0 + eps])).numpy() - f(f64([2.0 - eps])).numpy())).sum() / (2 * eps))
    np.testing.assert_allclose(w.grad, [numeric], rtol=1e-9)
    assert w.grad.shape == (1,)
    _, tangent = mg.func.jvp(f, (f64([2.0]),), (f64([0.5]),))
    np.testing.assert_allclose(tangent.numpy(), [0.0, 1.5, 0.0], rtol=1e-15)
    m = mg.zeros(2, 2)
    m[0, 1] = mg.full((1, 1), 5.0)
    np.testing.assert_array_equal(m.numpy(), [[0.0, 5.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match=r"index_put: .*value of shape \(2,\)"):
        m[0, 1] = mg.ones(2)                # two values for one place: still refused, naming index_put
