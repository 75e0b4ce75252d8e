"""Bad input to the tensor functions and Tensor methods gets a clear error that names the public function,
what was expected and what came, before any state changes (a systematic sweep's findings).

Before these fixes: `mg.tanh("abc")`, `x + None`, `mg.linalg.inv("abc")`, ... said "tensor: expected
numbers" (a function the user did not call); `mg.zeros_like("abc")` made a tensor of strings; `t.fill_(None)`
filled with NaN; `t.softmax(-1)` of a bool tensor raised numpy's "boolean subtract"; `x.view(-1, n / 2)` said
"'float' object cannot be interpreted as an integer"; `mg.maximum` of mismatched shapes named `gt`; the
minimum of an empty tensor named `max`; `mg.cat(None)` said "'NoneType' object is not iterable"; and
`mg.poisson` of a 0-d tensor raised AttributeError.
"""

import math

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn.functional as F


def x23():
    return mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]])


def square():
    return mg.tensor([[2.0, 1.0], [1.0, 3.0]])


def state(t):
    """Everything a failing call must leave as it was."""
    grad = None if t.grad is None else np.array(t.grad, copy=True)
    return t.shape, t.dtype, np.array(t.detach().numpy(), copy=True), grad, t.requires_grad


def assert_same_state(before, t):
    after = state(t)
    assert before[0] == after[0] and before[1] == after[1] and before[4] == after[4]
    np.testing.assert_array_equal(before[2], after[2])
    assert (before[3] is None) == (after[3] is None)
    if before[3] is not None:
        np.testing.assert_array_equal(before[3], after[3])


# ---- what is not numbers, where a tensor goes: the error names the function called ---------------------

NOT_NUMBERS = [("abc", "str"), (None, "NoneType"), ([1, "a", None], "list")]

CALLS = [  # (name in the message, the call with the bad value v)
    ("tanh", lambda v: mg.tanh(v)),
    ("exp", lambda v: mg.exp(v)),
    ("sum", lambda v: mg.sum(v)),
    ("abs", lambda v: mg.abs(v)),
    ("add", lambda v: x23() + v),
    ("add", lambda v: v + x23()),
    ("mul", lambda v: x23() * v),
    ("sub", lambda v: mg.sub(x23(), v)),
    ("pow", lambda v: x23() ** v),
    ("matmul", lambda v: x23() @ v),
    ("matmul", lambda v: mg.matmul(v, x23())),
    ("mm", lambda v: x23().mm(v)),
    ("mv", lambda v: mg.mv(x23(), v)),
    ("outer", lambda v: mg.outer(mg.ones(3), v)),
    ("log1p", lambda v: mg.log1p(v)),
    ("atan", lambda v: mg.atan(v)),
    ("var", lambda v: mg.var(v)),
    ("softmax", lambda v: F.softmax(v, dim=-1)),
    ("log_softmax", lambda v: F.log_softmax(v, dim=-1)),
    ("concat", lambda v: mg.cat([x23(), v])),
    ("stack", lambda v: mg.stack([x23(), v])),
    ("lerp", lambda v: mg.lerp(x23(), v, 0.5)),
    ("dist", lambda v: mg.dist(x23(), v)),
    ("copy_", lambda v: x23().copy_(v)),
    ("linalg.inv", lambda v: mg.linalg.inv(v)),
    ("linalg.solve", lambda v: mg.linalg.solve(square(), v)),
    ("linalg.vector_norm", lambda v: mg.linalg.vector_norm(v)),
    ("trapezoid", lambda v: mg.trapezoid(v)),
]


@pytest.mark.parametrize("value, kind", NOT_NUMBERS)
@pytest.mark.parametrize("name, call", CALLS)
def test_what_is_not_numbers_is_refused_naming_the_function_called(name, call, value, kind):
    with pytest.raises(TypeError, match=rf"^{name}: expected (a )?tensors?.*got {kind}"):
        call(value)


def test_a_ragged_list_names_the_function_and_keeps_numpys_reason():
    with pytest.raises(ValueError, match=r"^add: expected a tensor, an array or numbers, got list .*inhomogeneous"):
        x23() + [[1.0], [1.0, 2.0]]


def test_matmul_names_the_operand_that_is_not_numbers_not_its_partner():
    with pytest.raises(TypeError, match=r"^matmul: expected a tensor, an array or numbers, got str 'ab'"):
        mg.ops.matmul([[1.0, 2.0]], "ab")       # (the op itself: mg.matmul converts its input first)


def test_cov_names_itself_not_the_weights_argument_for_weights_that_are_not_numbers():
    with pytest.raises(TypeError, match=r"^cov: expected a tensor, an array or numbers, got str 'ab'"):
        mg.cov(x23(), fweights="ab")


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"])
@pytest.mark.parametrize("value, kind", NOT_NUMBERS)
def test_the_like_functions_refuse_what_is_not_numbers_instead_of_a_tensor_of_strings(name, value, kind):
    with pytest.raises(TypeError, match=rf"^{name}: expected a tensor, an array or numbers, got {kind}"):
        getattr(mg, name)(value)


def test_the_like_functions_still_take_tensors_arrays_and_lists_of_numbers():
    assert mg.zeros_like(x23()).shape == (2, 3) and mg.zeros_like(x23()).dtype == np.float32
    assert mg.ones_like(np.zeros((2, 2), dtype=np.int64)).dtype == np.int64
    assert mg.zeros_like([1.0, 2.0]).tolist() == [0.0, 0.0]


# ---- values and sizes: None is not NaN, a float is not a size ------------------------------------------

@pytest.mark.parametrize("value, kind", [(None, "NoneType"), ("abc", "str")])
def test_fill_refuses_what_is_not_a_number_and_leaves_the_tensor_as_it_was(value, kind):
    t = x23()
    before = state(t)
    with pytest.raises(TypeError, match=rf"^fill_: value must be a number .*got {kind}"):
        t.fill_(value)
    assert_same_state(before, t)
    assert t.fill_(2.5).tolist() == [[2.5] * 3] * 2          # a number still fills
    assert t.fill_(mg.tensor(1.0)).tolist() == [[1.0] * 3] * 2


def test_new_full_refuses_a_fill_value_that_is_not_a_number():
    with pytest.raises(TypeError, match=r"^new_full: fill_value must be a number or a 0-d tensor, got NoneType"):
        x23().new_full((2,), None)


@pytest.mark.parametrize("name, fill", [
    ("fill_", lambda t, v: t.fill_(v)), ("new_full", lambda t, v: t.new_full((2,), v)),
    ("masked_fill", lambda t, v: t.masked_fill(t > 0, v)), ("index_fill", lambda t, v: t.index_fill(0, [0], v))])
def test_the_four_fills_take_a_number_or_a_0d_tensor_and_say_so_in_one_wording(name, fill):
    """PyTorch fills with a number or a 0-d tensor ("fill_ only supports 0-dimension value tensor"):
    a tensor with axes is a ValueError, anything else a TypeError, the same words in all four, the
    tensor unchanged; a 0-d tensor, a numpy scalar or a 0-d array fills."""
    t = x23()
    before = state(t)
    with pytest.raises(ValueError, match=rf"^{name}: .* must be a number or a 0-d tensor \(as PyTorch's\), "
                                         r"got shape \(1,\)"):
        fill(t, mg.tensor([7.0]))
    with pytest.raises(TypeError, match=rf"^{name}: .* must be a number or a 0-d tensor, got list \[7.0\]"):
        fill(t, [7.0])
    assert_same_state(before, t)
    for value in (mg.tensor(7.0), np.float64(7.0), np.array(7.0)):
        assert (np.asarray(fill(x23(), value).tolist()) == 7.0).any()


@pytest.mark.parametrize("call, name, got", [
    (lambda t: t.new_zeros(-1), "new_zeros", r"\(-1,\)"),
    (lambda t: t.new_ones(2, "a"), "new_ones", r"\(2, 'a'\)"),
    (lambda t: t.new_empty(2.5), "new_empty", r"\(2.5,\)"),
    (lambda t: t.new_full(-1, 0.0), "new_full", r"\(-1,\)"),
    (lambda t: t.new(-2, 3), "new", r"\(-2, 3\)"),
])
def test_the_new_methods_refuse_sizes_that_are_not_integers_at_least_0(call, name, got):
    with pytest.raises(ValueError, match=rf"^{name}: a size must be integers >= 0.*got {got}"):
        call(x23())


def test_the_new_methods_still_take_sizes_as_numbers_tuples_and_0d_integer_tensors():
    t = x23()
    assert t.new_zeros(2, 3).shape == (2, 3) and t.new_ones((4,)).shape == (4,)
    assert t.new_zeros(mg.tensor(3)).shape == (3,) and t.new_full((2,), 7.0).tolist() == [7.0, 7.0]


def test_float_power_refuses_none_instead_of_giving_nan():
    with pytest.raises(TypeError, match=r"^float_power: expected a tensor, an array or numbers, got NoneType"):
        mg.float_power(x23(), None)
    with pytest.raises(TypeError, match=r"^float_power: expected a tensor, an array or numbers, got NoneType"):
        x23().float_power(None)


@pytest.mark.parametrize("call", [lambda t: t.view(-1, 6 / 2), lambda t: t.reshape(2.0, 3),
                                  lambda t: mg.reshape(t, ("a",))])
def test_reshape_and_view_refuse_a_float_or_string_size_naming_reshape(call):
    with pytest.raises(TypeError, match=r"^reshape: a shape must be integers \(-1 for one inferred size\), got"):
        call(x23())


def test_linspace_refuses_a_start_or_end_that_is_not_a_number():
    with pytest.raises(TypeError, match=r"^linspace: start and end must be numbers, got start='a'"):
        mg.linspace("a", 1.0, 5)
    with pytest.raises(TypeError, match=r"^linspace: start and end must be numbers, got start=0, end=None"):
        mg.linspace(0, None, 5)
    assert mg.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]


@pytest.mark.parametrize("call, name, argument", [
    (lambda: mg.bucketize(None, mg.tensor([1.0, 2.0])), "bucketize", "input"),
    (lambda: mg.bucketize("abc", mg.tensor([1.0, 2.0])), "bucketize", "input"),
    (lambda: mg.bucketize(mg.tensor([1.0]), None), "bucketize", "boundaries"),
    (lambda: mg.searchsorted(mg.tensor([1.0, 2.0]), "x"), "searchsorted", "values"),
    (lambda: mg.searchsorted(None, mg.tensor([1.0])), "searchsorted", "sorted_sequence"),
])
def test_bucketize_and_searchsorted_refuse_what_is_not_numbers(call, name, argument):
    with pytest.raises(TypeError, match=rf"^{name}: {argument} must be a real tensor \(or numbers\), got"):
        call()


def test_bucketize_still_places_numbers():
    # boundaries 1, 2: 0.5 goes below the first (0), 1.5 between them (1), 2.5 above the last (2)
    assert mg.bucketize(mg.tensor([0.5, 1.5, 2.5]), mg.tensor([1.0, 2.0])).tolist() == [0, 1, 2]


# ---- dtypes and shapes: the function called is named, not the op it is built on ---------------------

@pytest.mark.parametrize("name, call", [
    ("softmax", lambda b: b.softmax(-1)),
    ("softmax", lambda b: mg.softmax(b, -1)),
    ("softmax", lambda b: F.softmax(b, dim=-1)),
    ("log_softmax", lambda b: b.log_softmax(-1)),
    ("log_softmax", lambda b: F.log_softmax(b, dim=-1)),
])
def test_softmax_of_a_bool_tensor_names_softmax_and_the_dtype(name, call):
    with pytest.raises(TypeError, match=rf"^{name}: expected a tensor of numbers, got dtype bool \(PyTorch's {name} "
                                        r"has no bool kernel\); convert it first \(t\.float\(\)\)"):
        call(mg.tensor([[True, False, True]]))


@pytest.mark.parametrize("name, call", [
    ("maximum", lambda a, b: mg.maximum(a, b)),
    ("maximum", lambda a, b: a.maximum(b)),
    ("maximum", lambda a, b: mg.max(a, b)),
    ("minimum", lambda a, b: mg.minimum(a, b)),
    ("minimum", lambda a, b: mg.min(a, b)),
])
def test_maximum_and_minimum_of_mismatched_shapes_name_themselves_not_gt_or_lt(name, call):
    with pytest.raises(ValueError, match=rf"^{name}: shapes \(2, 3\) and \(4, 5\) cannot be broadcast together"):
        call(x23(), mg.ones(4, 5))


@pytest.mark.parametrize("call", [lambda t: t.min(), lambda t: t.amin(), lambda t: mg.min(t), lambda t: t.min(0),
                                  lambda t: mg.zeros(0, dtype=mg.int64).min()])
def test_the_minimum_of_an_empty_tensor_names_min_not_max(call):
    with pytest.raises(ValueError, match=r"^min: no minimum over an empty axis \(shape \(0"):
        call(mg.ones(0, 3))


def test_the_minimum_still_is_the_smallest_entry():
    assert x23().min().item() == 1.0 and x23().amin(1).tolist() == [1.0, 4.0]


@pytest.mark.parametrize("name, call", [
    ("addcmul", lambda t, bad: t.addcmul(bad, t)),
    ("addcmul", lambda t, bad: mg.addcmul(t, t, bad)),
    ("addcdiv", lambda t, bad: t.addcdiv(t, bad)),
    ("addcmul", lambda t, bad: t.addcmul_(t, bad)),
    ("addcdiv", lambda t, bad: t.addcdiv_(bad, t)),
])
def test_addcmul_and_addcdiv_of_mismatched_shapes_name_themselves_and_leave_the_tensor(name, call):
    t = x23()
    before = state(t)
    with pytest.raises(ValueError, match=rf"^{name}: self, tensor1 and tensor2 must broadcast together, got shapes "
                                         r"\(2, 3\), .*\(4, 5\)"):
        call(t, mg.ones(4, 5))
    assert_same_state(before, t)


def test_addcmul_still_adds_the_scaled_product():
    t = x23()
    # 1 + 0.5 * 1 * 1 = 1.5 and 6.5 + 0.5 * 6.5 * 6.5 = 27.625
    out = t.addcmul(t, t, value=0.5)
    assert out[0, 0].item() == 1.5 and out[1, 2].item() == 27.625


@pytest.mark.parametrize("name, call", [
    ("concat", lambda: mg.cat(None)), ("stack", lambda: mg.stack(None)), ("hstack", lambda: mg.hstack(None)),
    ("concat", lambda: mg.cat(3)),
])
def test_joining_something_that_is_not_a_sequence_names_the_function(name, call):
    with pytest.raises(TypeError, match=rf"^{name}: expected a sequence of tensors, got"):
        call()


def test_flip_refuses_dims_that_are_neither_an_axis_nor_a_sequence_of_axes():
    with pytest.raises(TypeError, match=r"^flip: dims must be an axis or a tuple or list of axes, got NoneType"):
        x23().flip(None)
    assert x23().flip((0, 1))[0, 0].item() == 6.5 and x23().flip(mg.Size([1]))[0, 0].item() == 3.0


def test_expand_as_refuses_what_has_no_shape():
    with pytest.raises(TypeError, match=r"^expand_as: expected a tensor \(or an array\) to take the shape of, "
                                        r"got float"):
        mg.ones(2).expand_as(1.5)


# ---- PyTorch's behaviour where the library raised ------------------------------------------------------

def test_nan_to_num_with_nan_none_replaces_nan_with_zero_as_pytorchs():
    out = mg.nan_to_num(mg.tensor([math.nan, 1.0, math.inf]), nan=None)
    assert out.tolist()[:2] == [0.0, 1.0] and out.tolist()[2] == float(np.finfo(np.float32).max)


def test_poisson_of_a_0d_tensor_gives_a_0d_count():
    mg.manual_seed(0)
    out = mg.poisson(mg.tensor(3.0))
    assert out.shape == () and out.dtype == np.float32
    assert out.item() >= 0 and out.item() == int(out.item())


# ---- a failing in-place call leaves value, dtype, shape, grad and requires_grad as they were ------------

@pytest.mark.parametrize("call", [
    lambda t: t.add_("abc"), lambda t: t.mul_(None), lambda t: t.copy_([1, "a", None]), lambda t: t.fill_(None),
    lambda t: t.sub_(mg.ones(4, 5)), lambda t: t.addcmul_(t, mg.ones(4, 5)),
])
def test_a_failing_in_place_call_changes_nothing(call):
    t = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]], requires_grad=True)
    (t * t).sum().backward()                            # t.grad = 2 t
    before = state(t)
    with mg.no_grad(), pytest.raises((TypeError, ValueError)):
        call(t)
    assert_same_state(before, t)
    np.testing.assert_array_equal(t.grad, 2 * np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]], dtype=np.float32))


# --- a list or tuple of multi-element tensors where one tensor goes (an LSTM's (h, c)): numpy would stack it
# through Tensor.__array__ into another shape, silently or with a shape error hiding the cause; PyTorch raises
# TypeError. Each route that read the argument with np.asarray now reads it with tensor.array_of. ---

def _pair(t):
    return (t, t + 1) if t.dtype != mg.bool else (t, ~t)


_X = np.array([[0.5, -1.0, 2.0], [3.0, 0.25, -4.0]])
_MASK = np.array([[True, False, True], [False, True, False]])
_INDEX = np.array([[0, 2, 1], [1, 0, 0]])
_ROWS = np.array([1, 0])


def _t(a):
    return mg.tensor(a)


# (name, the call given `arg` in the tensor argument's place, that argument's valid value, numpy's answer)
_ONE_TENSOR_ARGUMENTS = [
    ("where", lambda c: mg.where(c, _t(_X), 0.0), _t(_MASK), np.where(_MASK, _X, 0.0)),
    ("masked_fill", lambda m: _t(_X).masked_fill(m, 9.0), _t(_MASK), np.where(_MASK, 9.0, _X)),
    ("masked_fill_", lambda m: _t(_X).masked_fill_(m, 9.0), _t(_MASK), np.where(_MASK, 9.0, _X)),
    ("masked_select", lambda m: mg.masked_select(_t(_X), m), _t(_MASK), _X[_MASK]),
    ("masked_scatter", lambda m: _t(_X).masked_scatter(m, _t(np.arange(6.0).reshape(2, 3))), _t(_MASK),
     np.where(_MASK, np.cumsum(_MASK).reshape(2, 3) - 1.0, _X)),
    ("gather", lambda i: mg.gather(_t(_X), 1, i), _t(_INDEX), np.take_along_axis(_X, _INDEX, 1)),
    ("scatter", lambda i: _t(np.zeros((2, 3))).scatter(1, i, 7.0), _t(_INDEX[:, :1]),
     np.array([[7.0, 0, 0], [0, 7.0, 0]])),
    ("scatter_add", lambda i: mg.scatter_add(_t(np.zeros((2, 3))), 1, i, _t(_X)), _t(_INDEX),
     np.array([[0.5, 2.0, -1.0], [0.25 - 4.0, 3.0, 0.0]])),
    ("index_add", lambda i: mg.index_add(_t(np.zeros((2, 3))), 0, i, _t(_X)), _t(_ROWS), _X[::-1]),
    ("index_fill", lambda i: _t(_X).index_fill(1, i, 0.0), _t(_ROWS), np.array([[0, 0, 2.0], [0, 0, -4.0]])),
    ("index_select", lambda i: mg.index_select(_t(_X), 0, i), _t(_ROWS), _X[::-1]),
    ("take", lambda i: mg.take(_t(_X), i), _t(_ROWS), np.array([-1.0, 0.5])),
    ("bucketize", lambda b: mg.bucketize(_t(_X), b), _t(np.array([0.0, 1.0])), np.searchsorted([0.0, 1.0], _X)),
    ("searchsorted", lambda s: mg.searchsorted(s, _t(_X)), _t(np.array([0.0, 1.0])),
     np.searchsorted([0.0, 1.0], _X)),
    ("float_power", lambda e: mg.float_power(_t(np.abs(_X)), e), _t(np.full((2, 3), 2.0)), np.abs(_X) ** 2),
    ("ldexp", lambda x: mg.ldexp(x, _t(np.full((2, 3), 3))), _t(_X), _X * 8),
    ("ndtr", lambda x: mg.special.ndtr(x), _t(_X), None),
    ("zeros_like", lambda x: mg.zeros_like(x), _t(_X), np.zeros((2, 3))),
    ("ones_like", lambda x: mg.ones_like(x), _t(_X), np.ones((2, 3))),
    ("full_like", lambda x: mg.full_like(x, 2.0), _t(_X), np.full((2, 3), 2.0)),
    ("empty_like", lambda x: mg.empty_like(x).shape, _t(_X), None),
    ("rand_like", lambda x: mg.rand_like(x).shape, _t(_X), None),
    ("randn_like", lambda x: mg.randn_like(x).shape, _t(_X), None),
    ("randint_like", lambda x: mg.randint_like(x, 3).shape, _t(_X), None),
    ("normal", lambda m: mg.normal(m, 0.0), _t(_X), _X),
    ("multinomial", lambda p: mg.multinomial(p, 1).shape, _t(np.abs(_X)), None),
    ("quantile", lambda q: mg.quantile(_t(_X[0]), q), _t(np.array([0.0, 1.0])), np.array([-1.0, 2.0])),
    ("repeat_interleave", lambda r: mg.repeat_interleave(_t(_X[0][:2]), r), _t(np.array([1, 2])),
     np.array([0.5, -1.0, -1.0])),
    ("bincount", lambda i: mg.bincount(i), _t(np.array([0, 2, 2])), np.array([1, 0, 2])),
    ("histogram", lambda b: mg.histogram(_t(_X), b).hist, _t(np.array([-4.0, 0.0, 4.0])), np.array([2.0, 4.0])),
]


@pytest.mark.parametrize("name, call, valid, expected", _ONE_TENSOR_ARGUMENTS,
                         ids=[c[0] for c in _ONE_TENSOR_ARGUMENTS])
@pytest.mark.parametrize("sequence", [tuple, list])
def test_a_list_or_tuple_of_multi_element_tensors_where_one_tensor_goes_is_a_type_error(
        name, call, valid, expected, sequence):
    """Before: where, masked_*, *_like, float_power, bucketize, normal and the loss targets stacked the pair
    and computed (or failed a shape check naming the stacked shape); now TypeError naming the function."""
    with pytest.raises(TypeError, match=rf"{name.rstrip('_')}\w*: expected a tensor or numbers, got a "
                                        rf"{sequence.__name__} of tensors"):
        call(sequence(_pair(valid)))
    got = call(valid)                               # the valid call beside it, against numpy
    if expected is not None:
        np.testing.assert_allclose(got.data, expected)
    elif name == "ndtr":
        np.testing.assert_allclose(got.data, [[0.5 * (1 + math.erf(v / math.sqrt(2))) for v in row] for row in _X],
                                   rtol=1e-6, atol=1e-7)
    else:
        assert tuple(got) == (tuple(valid.shape[:-1]) + (1,) if name == "multinomial" else valid.shape)


def test_a_nested_list_of_multi_element_tensors_is_refused_as_a_flat_one_is():
    """numpy stacks `[[h, c]]` as it stacks `[h, c]` (into shape (1, 2, 3) here, which a mask broadcasts to
    and `mg.tensor` took): PyTorch refuses both; the message names the inner list's tensors."""
    h, c = _t(np.ones(3)), _t(np.zeros(3))
    for call in (lambda v: mg.tensor(v), lambda v: mg.tanh(v), lambda v: _t(_X).masked_fill(v, 0.0),
                 lambda v: mg.zeros_like(v)):
        with pytest.raises(TypeError, match=r"expected a tensor or numbers, got a list of tensors \(\(3,\), \(3,\)\)"):
            call([[h, c]])
    assert mg.tensor([[mg.tensor(1.0), 2.0], [3.0, mg.tensor(4)]]).shape == (2, 2)    # one-element ones: numbers


def test_lists_of_numbers_and_of_one_element_tensors_are_still_data_where_one_tensor_goes():
    """array_of refuses only tensors of more than one element: numbers, and one-element tensors (numbers, as
    in torch.tensor), are read as before."""
    np.testing.assert_array_equal(mg.where([True, False], _t(np.array([1.0, 2.0])), 0.0).data, [1.0, 0.0])
    np.testing.assert_array_equal(mg.gather(_t(_X), 1, [[0], [2]]).data, [[0.5], [-4.0]])
    np.testing.assert_array_equal(mg.index_select(_t(_X), 1, [mg.tensor(2), mg.tensor(0)]).data, _X[:, [2, 0]])
    assert mg.zeros_like([[1, 2, 3]]).shape == (1, 3)
    np.testing.assert_array_equal(mg.bucketize(_t(_X), [0.0, 1.0]).data, np.searchsorted([0.0, 1.0], _X))


@pytest.mark.parametrize("where, call", [
    ("Tensor.data", lambda t, v: setattr(t, "data", v)),
    ("Tensor.grad", lambda t, v: setattr(t.requires_grad_(), "grad", v)),
    ("Tensor.backward", lambda t, v: (t.requires_grad_() * 2).backward(v)),
])
def test_data_grad_and_backwards_grad_refuse_a_tuple_of_rows_that_would_stack_to_the_tensors_shape(where, call):
    """Before: `t.data = (a, b)` for a, b of shape (3,) and t of shape (2, 3) stacked the pair into t's shape
    and took it, silently (as `.grad =` and `backward(grad)` did); now TypeError naming the setter."""
    a, b = mg.tensor([1.0, 2.0, 3.0]), mg.tensor([4.0, 5.0, 6.0])
    t = mg.zeros(2, 3)
    with pytest.raises(TypeError, match=rf"^{where}: expected a tensor or numbers, got a tuple of tensors"):
        call(t, (a, b))
    np.testing.assert_array_equal(t.data, np.zeros((2, 3)))
    u = mg.zeros(2, 3)
    call(u, mg.stack([a, b]))                       # the tensor itself, as before
    if where == "Tensor.data":
        np.testing.assert_array_equal(u.data, [[1, 2, 3], [4, 5, 6]])
    else:
        np.testing.assert_array_equal(u.grad.data, [[1, 2, 3], [4, 5, 6]] if where == "Tensor.grad"
                                      else [[2, 4, 6], [8, 10, 12]])
