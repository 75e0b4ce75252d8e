"""PyTorch-parity fixes of round 33: gaps earlier rounds left as strict xfails or notes, each checked against
PyTorch's source, and two near-duplicates made one.

1. The deprecated number-first overloads with their tensors by keyword. PyTorch's parser fills a positional
   parameter past the positional arguments from the keywords (torch/csrc/utils/python_arg_parser.cpp,
   pytorch/pytorch 54d4a1627bbf1a103656b5f89064f415b4826ac8, `FunctionSignature::parse`: `obj =
   PyDict_GetItem(kwargs, param.python_name)` once `arg_pos == nargs`), so `t.add(0.5, other=u)` matches
   `add(Scalar alpha, Tensor other)`; a keyword left over is its "got multiple values for argument" TypeError.
   Here it was Python's "multiple values" for every such call.
2. addcmul of integers with a float value: PyTorch computes in the tensors' common dtype and takes the value in it
   (aten/src/ATen/native/cpu/PointwiseOpsKernel.cpp, 615b5192e659a01c44e1154cfd6d481eb64ff97f: `scalar_t
   scalar_val = value.to<scalar_t>()` over `iter.common_dtype()`, no bool in its dispatch), so int64 stays int64
   and 2.5 becomes 2; here the result was float. addcdiv cannot have an integer result: two integral divisors
   are refused (aten/src/ATen/native/PointwiseOps.cpp, 307c0913aa9915fbcca6e87eb9530be87def318a, "Integer
   division with addcdiv is no longer supported"), and a float one makes the result float.
3. `torch.tensor(a_tensor)`: PyTorch's tensor_ctor warns "To copy construct from a tensor, ..." and new_tensor
   the same with `tensor.new_tensor(sourceTensor)` (torch/csrc/utils/tensor_new.cpp,
   00067369c9339bed950762afec327514d6fa2566; `as_tensor` does not warn). Here nothing was said.
4. `Transform.sign`: PyTorch's base raises NotImplementedError; ExpTransform, SigmoidTransform and TanhTransform
   say +1, AbsTransform and StickBreakingTransform say nothing (torch/distributions/transforms.py,
   87bc5440c3476d1980ea367a994b603066823699). Here the base said +1, so a cdf through a decreasing map that named
   no sign came out as 1 - the right value.
5. The random activations with `inplace=True`: PyTorch's F.dropout is `_VF.dropout_(input, ...) if inplace`,
   F.dropout1d/2d/3d `_VF.feature_dropout_`, F.alpha_dropout `_VF.alpha_dropout_`, F.rrelu `torch.rrelu_`
   (torch/nn/functional.py, 0642de177e17dc9d0b7fea8d5e3119e15720c337): they write into their input. Here a numpy
   array (a parameter's `.grad`) given with inplace=True kept its values, where the deterministic activations
   wrote into it (round 32).
6. Tidy: the activations' `_inplace`/`_written` pair, repeated in twelve functions, is one decorator
   (`functional.activations.with_inplace`), which the dropouts and rrelu use too; arange's `_scalar_bound` and
   arithmetic's `_scalar` read a tensor given for a Scalar through one function (`ops.arithmetic._scalar_of`).

Expected values are written by hand, from closed forms (the normal distribution function by math.erf), or from
numpy draws of the same seeded generator the library is given.
"""

import inspect
import math
import warnings

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.distributions import (AbsTransform, AffineTransform, ComposeTransform, ExpTransform, Gumbel,
                                        LogisticNormal, LogNormal, Normal, SigmoidTransform, StickBreakingTransform,
                                        TanhTransform, Transform, TransformedDistribution, constraints)

F = mg.nn.functional
A, B, C = [1.0, -2.0], [3.0, 5.0], [2.0, 4.0]


def arr(t):
    return np.asarray(t.data)


def caught(fn):
    """(result, the warnings fn gave)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = fn()
    return result, record


def phi(x):
    """The standard normal distribution function."""
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


# ---- 1. the deprecated forms with their tensors by keyword -------------------------------------------------

def test_deprecated_add_and_sub_take_other_by_keyword_with_pytorchs_warning_at_the_callers_line():
    t, u = mg.tensor(A), mg.tensor(B)
    calls = {"add": lambda: t.add(0.5, other=u), "sub": lambda: t.sub(0.5, other=u),
             "add_": lambda: t.clone().add_(0.5, other=u), "mg.add": lambda: mg.add(t, 0.5, other=u)}
    wants = {"add": [2.5, 0.5], "sub": [-0.5, -4.5], "add_": [2.5, 0.5], "mg.add": [2.5, 0.5]}
    for name, fn in calls.items():
        result, record = caught(fn)
        assert arr(result).tolist() == wants[name], name
        assert len(record) == 1 and record[0].category is UserWarning, name
        lines = str(record[0].message).splitlines()
        method = name.replace("mg.", "")
        assert lines[:2] == [f"This overload of {method} is deprecated:", f"\t{method}(Number alpha, Tensor other)"]
        assert (record[0].filename, record[0].lineno) == (__file__, fn.__code__.co_firstlineno), name


def test_deprecated_addcmul_and_addcdiv_take_their_tensors_by_keyword():
    t, u, v = mg.tensor(A), mg.tensor(B), mg.tensor(C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert arr(t.addcmul(0.5, tensor1=u, tensor2=v)).tolist() == [1 + 0.5 * 6, -2 + 0.5 * 20]
        assert arr(t.addcmul(0.5, u, tensor2=v)).tolist() == [4.0, 8.0]
        assert arr(t.clone().addcmul_(0.5, u, tensor2=v)).tolist() == [4.0, 8.0]
        assert arr(t.addcdiv(0.5, tensor1=u, tensor2=v)).tolist() == [1 + 0.5 * 3 / 2, -2 + 0.5 * 5 / 4]
        assert arr(t.clone().addcdiv_(-1.0, tensor1=u, tensor2=v)).tolist() == [1 - 1.5, -2 - 1.25]
    _, record = caught(lambda: t.clone().addcmul_(0.5, u, tensor2=v))
    assert [str(w.message).splitlines()[0] for w in record] == ["This overload of addcmul_ is deprecated:"]


def test_the_current_forms_by_keyword_give_no_warning():
    t, u, v = mg.tensor(A), mg.tensor(B), mg.tensor(C)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert arr(t.add(other=u)).tolist() == [4.0, 3.0]
        assert arr(t.clone().sub_(other=u, alpha=2)).tolist() == [-5.0, -12.0]
        assert arr(t.addcmul(u, tensor2=v)).tolist() == [7.0, 18.0]
        assert arr(t.addcdiv(tensor1=u, tensor2=v, value=2)).tolist() == [4.0, 0.5]
        assert arr(t.clone().addcmul_(u, tensor2=v, value=-1)).tolist() == [-5.0, -22.0]


@pytest.mark.parametrize("call, message", [
    (lambda t, u, v: t.add(0.5, u, other=v), "add\\(\\) got multiple values for argument 'other'"),
    (lambda t, u, v: t.clone().sub_(0.5, u, other=v), "sub_\\(\\) got multiple values for argument 'other'"),
    (lambda t, u, v: t.addcmul(0.5, v, tensor1=u), "addcmul\\(\\) got multiple values for argument 'tensor1'"),
    (lambda t, u, v: t.addcdiv(0.5, u, v, tensor2=v), "addcdiv\\(\\) got multiple values for argument 'tensor2'"),
    (lambda t, u, v: t.add(), "add\\(\\) missing 1 required positional argument: 'other'"),
    (lambda t, u, v: t.addcmul(u), "addcmul\\(\\) missing 1 required positional argument: 'tensor2'"),
    (lambda t, u, v: t.addcdiv(), "addcdiv\\(\\) missing 2 required positional arguments: 'tensor1' and 'tensor2'"),
    (lambda t, u, v: t.add(0.5, other=u, alpha=2), "without alpha="),
    (lambda t, u, v: t.add(u, other=v), "deprecated add\\(Number alpha, Tensor other\\)"),
], ids=["add twice", "sub_ twice", "addcmul tensor1 twice", "addcdiv tensor2 twice", "add without other",
        "addcmul without tensor2", "addcdiv without tensors", "deprecated add with alpha=", "a tensor for alpha"])
def test_what_pytorchs_parser_refuses_is_a_type_error(call, message):
    t, u, v = mg.tensor(A), mg.tensor(B), mg.tensor(C)
    with pytest.raises(TypeError, match=message):
        call(t, u, v)


# ---- 2. addcmul's value in the result's dtype ----------------------------------------------------------------

@pytest.mark.parametrize("value, truncated", [(2.5, 2), (-2.5, -2), (0.9, 0), (np.float32(3.75), 3), (3, 3)])
def test_addcmul_of_integers_takes_the_value_cut_toward_zero_and_stays_integer(value, truncated):
    i, j = mg.tensor([1, 2]), mg.tensor([3, 4])
    result = i.addcmul(i, j, value=value)
    assert result.dtype == np.int64
    assert arr(result).tolist() == [1 + truncated * 1 * 3, 2 + truncated * 2 * 4]
    in_place = i.clone().addcmul_(i, j, value=value)
    assert in_place.dtype == np.int64 and arr(in_place).tolist() == arr(result).tolist()


def test_addcmul_of_int32_stays_int32_and_a_float_operand_makes_the_value_a_float():
    i = mg.tensor([1, 2], dtype=mg.int32)
    result = i.addcmul(i, i, value=1.5)
    assert result.dtype == np.int32 and arr(result).tolist() == [1 + 1, 2 + 4]
    mixed = mg.tensor([1, 2]).addcmul(mg.tensor([1, 2]), mg.tensor([0.5, 0.5]), value=2.5)
    assert mixed.dtype == mg.get_default_dtype() and arr(mixed).tolist() == [1 + 2.5 * 0.5, 2 + 2.5 * 1.0]
    zero_d = mg.tensor([1, 2]).addcmul(mg.tensor([1, 2]), mg.tensor(2.0), value=2.5)     # a 0-d float: float
    assert zero_d.dtype.kind == "f" and arr(zero_d).tolist() == [6.0, 12.0]


def test_addcmul_value_an_integer_result_cannot_hold_is_refused():
    i = mg.tensor([1, 2])
    for value in (math.nan, math.inf, 1e30):
        with pytest.raises(ValueError, match="addcmul: the value .* cannot be converted to dtype int64"):
            i.addcmul(i, i, value=value)


def test_addcmul_of_bools_is_refused_as_pytorchs_which_has_no_bool_kernel():
    b = mg.tensor([True, False])
    with pytest.raises(TypeError, match="^addcmul: expected a tensor of numbers, got dtype bool"):
        b.addcmul(b, b)


def test_addcdiv_never_has_an_integer_result():
    i = mg.tensor([1, 2])
    with pytest.raises(TypeError, match="integer division is not supported"):
        i.addcdiv(i, i, value=2.5)
    result = i.addcdiv(i, mg.tensor([2.0, 4.0]), value=2.5)
    assert result.dtype.kind == "f" and arr(result).tolist() == [1 + 2.5 * 0.5, 2 + 2.5 * 0.5]


# ---- 3. torch.tensor(a_tensor) warns as PyTorch's -------------------------------------------------------------

COPY_CONSTRUCT = ("To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach() or "
                  "sourceTensor.clone().detach().requires_grad_(True), rather than {}(sourceTensor).")


def test_tensor_of_a_tensor_warns_at_the_callers_line_and_copies_without_history():
    source = mg.tensor([1.0, 2.0], requires_grad=True) * 3
    call = (lambda: mg.tensor(source, dtype=mg.float64))
    copy, record = caught(call)
    assert [str(w.message) for w in record] == [COPY_CONSTRUCT.format("torch.tensor")]
    assert record[0].category is UserWarning
    assert (record[0].filename, record[0].lineno) == (__file__, call.__code__.co_firstlineno)
    assert arr(copy).tolist() == [3.0, 6.0] and copy.dtype == np.float64
    assert not copy.requires_grad and copy.grad_fn is None


def test_new_tensor_of_a_tensor_warns_with_its_own_name():
    t = mg.tensor([1, 2])
    copy, record = caught(lambda: mg.zeros(1).new_tensor(t))
    assert [str(w.message) for w in record] == [COPY_CONSTRUCT.format("tensor.new_tensor")]
    assert record[0].filename == __file__
    assert arr(copy).tolist() == [1.0, 2.0]


def test_tensor_of_data_and_as_tensor_of_a_tensor_do_not_warn():
    t = mg.tensor([1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mg.as_tensor(t) is t
        assert arr(mg.tensor(np.array([1, 2]))).tolist() == [1, 2]
        assert arr(mg.tensor([[1.5], [2.5]])).tolist() == [[1.5], [2.5]]
        assert arr(mg.zeros(1).new_tensor([3, 4])).tolist() == [3.0, 4.0]


# ---- 4. Transform.sign ----------------------------------------------------------------------------------------

class Flip(Transform):
    """y = -x, decreasing, naming no sign."""
    domain = constraints.real
    codomain = constraints.real

    def _call(self, x):
        return -x

    def _inverse(self, y):
        return -y

    def log_abs_det_jacobian(self, x, y):
        return x * 0.0


def test_a_transform_naming_no_sign_has_none_and_its_cdf_and_icdf_are_refused():
    with pytest.raises(NotImplementedError, match="Flip: has no sign"):
        Flip().sign
    with pytest.raises(NotImplementedError):
        Flip().inv.sign
    dist = TransformedDistribution(Normal(1.0, 1.0), Flip())
    with pytest.raises(NotImplementedError):
        dist.cdf(mg.tensor(0.0))
    with pytest.raises(NotImplementedError):
        dist.icdf(mg.tensor(0.5))
    np.testing.assert_allclose(arr(dist.log_prob(mg.tensor(-1.0))), -0.5 * math.log(2 * math.pi), rtol=1e-6)


def test_the_built_in_transforms_signs_are_pytorchs():
    assert ExpTransform().sign == SigmoidTransform().sign == TanhTransform().sign == 1
    assert ExpTransform().inv.sign == 1 and TanhTransform().inv.sign == 1
    assert AffineTransform(0.0, -2.0).sign == -1 and AffineTransform(1.0, 0.5).sign == 1
    assert ComposeTransform([]).sign == 1
    assert ComposeTransform([ExpTransform(), AffineTransform(0.0, -1.0), SigmoidTransform()]).sign == -1
    for transform in (AbsTransform(), StickBreakingTransform()):      # PyTorch's name none
        with pytest.raises(NotImplementedError):
            transform.sign


def test_cdf_and_icdf_through_a_decreasing_composite_of_built_ins():
    """Y = -exp(X), X ~ N(0, 1): P(Y <= y) = P(X >= log(-y)) = 1 - Phi(log(-y)); the median is -1."""
    dist = TransformedDistribution(Normal(mg.tensor(0.0, dtype=mg.float64), mg.tensor(1.0, dtype=mg.float64)),
                                   [ExpTransform(), AffineTransform(0.0, -1.0)])
    for y in (-2.0, -0.5, -1.0):
        np.testing.assert_allclose(arr(dist.cdf(mg.tensor(y, dtype=mg.float64))), 1 - phi(math.log(-y)), rtol=1e-12)
    np.testing.assert_allclose(arr(dist.icdf(mg.tensor(0.5, dtype=mg.float64))), -1.0, rtol=1e-12)


def test_the_families_built_on_transforms_keep_their_cdfs():
    x = mg.tensor(2.0, dtype=mg.float64)
    zero, one = mg.tensor(0.0, dtype=mg.float64), mg.tensor(1.0, dtype=mg.float64)
    np.testing.assert_allclose(arr(LogNormal(zero, one).cdf(x)), phi(math.log(2.0)), rtol=1e-12)
    np.testing.assert_allclose(arr(Gumbel(zero, one).cdf(x)), math.exp(-math.exp(-2.0)), rtol=1e-12)
    with pytest.raises(NotImplementedError):       # stick-breaking names no sign, as PyTorch's
        LogisticNormal(mg.tensor([0.0, 0.0]), mg.tensor([1.0, 1.0])).cdf(mg.tensor([0.2, 0.3, 0.5]))


# ---- 5. the random activations write into a numpy array with inplace=True -----------------------------------

def gradient():
    return np.array([[0.5, -1.0, 2.0, -3.0], [-0.25, 4.0, -5.0, 1.5]])


def test_dropout_with_inplace_writes_the_dropped_and_scaled_values_into_an_array():
    g, p = gradient(), 0.4
    keep = np.random.default_rng(3).random(g.shape) >= p
    want = gradient() * keep / (1 - p)
    result = F.dropout(g, p, True, True, rng=np.random.default_rng(3))     # inplace by position, as PyTorch's
    np.testing.assert_allclose(g, want, rtol=1e-15)
    np.testing.assert_array_equal(arr(result), g)


def test_dropout_with_inplace_off_or_not_training_leaves_the_array():
    g = gradient()
    F.dropout(g, 0.5, rng=np.random.default_rng(0))
    F.dropout(g, 0.5, training=False, inplace=True)
    np.testing.assert_array_equal(g, gradient())


def test_dropout_with_inplace_leaves_a_tensor_and_refuses_a_read_only_array():
    t = mg.tensor(gradient())
    out = F.dropout(t, 0.5, inplace=True, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(arr(t), gradient())
    assert out is not t
    with pytest.raises(ValueError, match="dropout: inplace=True cannot write into a read-only array"):
        F.dropout(t.data, 0.5, inplace=True)
    with pytest.raises(ValueError, match="dropout: inplace must be True or False"):
        F.dropout(gradient(), 0.5, inplace="yes")


def test_rrelu_with_inplace_writes_its_slopes_into_an_array():
    g, lower, upper = gradient(), 0.1, 0.3
    slopes = np.random.default_rng(5).uniform(lower, upper, g.shape)
    want = np.where(gradient() > 0, gradient(), gradient() * slopes)
    result = F.rrelu(g, lower, upper, True, True, rng=np.random.default_rng(5))
    np.testing.assert_allclose(g, want, rtol=1e-15)
    np.testing.assert_array_equal(arr(result), g)
    h = gradient()
    F.rrelu(h, lower, upper, inplace=True)                  # not training: the mean slope
    np.testing.assert_allclose(h, np.where(gradient() > 0, gradient(), gradient() * 0.2), rtol=1e-15)


@pytest.mark.parametrize("name, shape, mask_shape", [
    ("dropout1d", (3, 5), (1, 3, 1)), ("dropout1d", (2, 3, 5), (2, 3, 1)),
    ("dropout2d", (2, 3, 2, 2), (2, 3, 1, 1)), ("dropout3d", (2, 3, 1, 2, 2), (2, 3, 1, 1, 1))])
def test_channel_dropouts_with_inplace_write_into_an_array(name, shape, mask_shape):
    """A mask per (sample, channel); an unbatched (C, L) input is read as one sample, (1, C, L)."""
    x, p = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape), 0.5
    keep = np.random.default_rng(7).random(mask_shape) >= p
    batched = np.arange(1.0, 1.0 + np.prod(shape)).reshape((1,) * (len(mask_shape) - len(shape)) + shape)
    want = (batched * keep / (1 - p)).reshape(shape)
    getattr(F, name)(x, p, True, True, rng=np.random.default_rng(7))
    np.testing.assert_allclose(x, want, rtol=1e-15)


@pytest.mark.parametrize("name", ["alpha_dropout", "feature_alpha_dropout"])
def test_alpha_dropouts_with_inplace_write_into_an_array(name):
    """y = x keep a + (keep - 1) alpha a + alpha a p, a = 1 / sqrt((alpha^2 p + 1)(1 - p)) (Dropout.cpp); of a
    (2, 4) input the feature form's channels are its entries too, so both draw a (2, 4) mask."""
    g, p, alpha = gradient(), 0.25, 1.7580993408473766
    keep = (np.random.default_rng(9).random((2, 4)) >= p).astype(float)
    a = 1 / math.sqrt((alpha ** 2 * p + 1) * (1 - p))
    want = gradient() * keep * a + (keep - 1) * alpha * a + alpha * a * p
    getattr(F, name)(g, p, True, True, rng=np.random.default_rng(9))
    np.testing.assert_allclose(g, want, rtol=1e-14)


# ---- 6. one inplace decorator, one Scalar reading ----------------------------------------------------------------

CLOSED_FORMS = {
    "relu": (lambda x, inplace: F.relu(x, inplace=inplace), lambda x: np.maximum(x, 0)),
    "hardtanh": (lambda x, inplace: F.hardtanh(x, -1.0, 1.0, inplace), lambda x: np.clip(x, -1, 1)),
    "relu6": (lambda x, inplace: F.relu6(x, inplace), lambda x: np.clip(x, 0, 6)),
    "leaky_relu": (lambda x, inplace: F.leaky_relu(x, 0.5, inplace), lambda x: np.where(x > 0, x, 0.5 * x)),
    "elu": (lambda x, inplace: F.elu(x, inplace=inplace), lambda x: np.where(x > 0, x, np.expm1(x))),
    "threshold": (lambda x, inplace: F.threshold(x, 1.0, -7.0, inplace), lambda x: np.where(x > 1, x, -7.0)),
    "silu": (lambda x, inplace: F.silu(x, inplace=inplace), lambda x: x / (1 + np.exp(-x))),
    "hardsigmoid": (lambda x, inplace: F.hardsigmoid(x, inplace), lambda x: np.clip(x + 3, 0, 6) / 6),
}


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_each_activation_with_inplace_writes_its_closed_form_into_an_array(name):
    call, closed_form = CLOSED_FORMS[name]
    g = gradient()
    result = call(g, True)
    np.testing.assert_allclose(g, closed_form(gradient()), rtol=1e-14)
    np.testing.assert_array_equal(arr(result), g)
    h = gradient()
    call(h, False)
    np.testing.assert_array_equal(h, gradient())


@pytest.mark.parametrize("function", [F.relu, F.hardtanh, F.elu, F.silu, F.dropout, F.dropout2d, F.alpha_dropout,
                                      F.rrelu, F.threshold])
def test_the_decorated_functions_keep_their_names_and_signatures(function):
    assert "inplace" in inspect.signature(function).parameters
    assert getattr(F, function.__name__) is function
    with pytest.raises(ValueError, match=f"^{function.__name__}: inplace must be True or False, got 1"):
        function(gradient(), **({"threshold": 0.0, "value": 0.0} if function is F.threshold else {}), inplace=1)


def test_a_tensor_for_a_scalar_is_read_one_way_and_the_error_names_the_argument():
    assert arr(mg.arange(mg.tensor(1), mg.tensor(7), mg.tensor(2))).tolist() == [1, 3, 5]
    assert arr(mg.tensor(A).add(mg.tensor(B), alpha=mg.tensor(2))).tolist() == [7.0, 8.0]
    assert arr(mg.addmm(mg.zeros(1, 1), mg.ones(1, 2), mg.ones(2, 1), alpha=mg.tensor(0.5))).tolist() == [[1.0]]
    refused = {
        "arange: end must be a number, got a tensor of shape (2,)": lambda: mg.arange(mg.tensor([1, 2])),
        "arange: step must be a number, got a tensor of shape () (dtype float32, requires_grad=True)":
            lambda: mg.arange(0, 3, mg.tensor(1.0, requires_grad=True)),
        "addmm: beta must be a number, got a tensor of shape (1,)":
            lambda: mg.addmm(mg.zeros(1, 1), mg.ones(1, 1), mg.ones(1, 1), beta=mg.tensor([1.0])),
        "add: alpha must be a number, got a tensor of shape () (dtype bool":
            lambda: mg.tensor(A).add(mg.tensor(B), alpha=mg.tensor(True)),
    }
    for message, fn in refused.items():
        with pytest.raises(TypeError) as error:
            fn()
        assert str(error.value).startswith(message), str(error.value)


@pytest.mark.parametrize("name, dtype", [("HalfTensor", np.float16), ("ShortTensor", np.int16),
                                         ("CharTensor", np.int8), ("ByteTensor", np.uint8)])
def test_every_legacy_cpu_type_pytorch_has_is_here(name, dtype):
    """torch.HalfTensor, ShortTensor, CharTensor and ByteTensor beside the others (torch/__init__.py's legacy
    classes): from data, from sizes, empty, and as a type (SRU's padding mask is a torch.ByteTensor of a list)."""
    constructor = getattr(mg, name)
    made = constructor([[0, 1, 1], [0, 0, 1]])
    assert made.dtype == dtype and np.array_equal(made.numpy(), [[0, 1, 1], [0, 0, 1]])
    assert constructor(2, 3).shape == (2, 3) and constructor().shape == (0,)
    assert isinstance(mg.zeros(2, dtype=dtype), constructor) and not isinstance(mg.zeros(2, dtype=np.float64),
                                                                               constructor)
    with pytest.raises(TypeError, match=rf"{name}: expected a tensor of dtype {np.dtype(dtype).name} \(got float64\)"):
        constructor(mg.zeros(2, dtype=np.float64))
