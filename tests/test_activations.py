"""PyTorch's activations and the small pieces around them (F.leaky_relu ... F.threshold, glu, softmin,
prelu, normalize, cosine_similarity, pairwise_distance, embedding; their modules; PyTorch's top-level and
method spellings of some, mg.selu, t.hardshrink(), ...; nn.Unflatten, nn.ParameterList, nn.ParameterDict; the
primitives log1p and expm1).

Values against numpy closed forms, gradients against central differences of those closed forms and
tangents against directional differences, in float64 on several shapes (inputs kept off the kinks).
At the kinks, at +-inf and NaN, and for large inputs, the expected numbers are PyTorch 2.13's, written
out here; so are the module reprs.
"""

import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest
from test_forward_mode import directional_difference
from test_losses_binary import assert_value_gradient_and_tangent
from test_op_gradients import away_from, central_differences

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F

SHAPES = [(), (5,), (3, 4), (2, 3, 4)]
inf, nan = math.inf, math.nan
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def sample(shape, seed=0, scale=2.5, kinks=()):
    """Normal float64 values of `shape`, pushed at least 0.05 away from `kinks`."""
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    return away_from(x, kinks, margin=0.05)


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def assert_matches_in_each_input(mg_fn, np_fn, *arrays):
    """As `assert_value_gradient_and_tangent`, for a function of several inputs: the value; each input's
    gradient of sum(R * f) by central differences; the tangent along directions for all inputs at once."""
    rng = np.random.default_rng(7)
    tensors = [mg.tensor(a.copy(), requires_grad=True) for a in arrays]
    out = mg_fn(*tensors)
    expected = np.asarray(np_fn(*arrays))
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-13)
    weights = rng.standard_normal(expected.shape)
    (out * weights).sum().backward()
    for k, (t, a) in enumerate(zip(tensors, arrays)):
        def weighted(x, k=k):
            return float(np.sum(np_fn(*arrays[:k], x, *arrays[k + 1:]) * weights))
        np.testing.assert_allclose(t.grad, central_differences(weighted, a), rtol=1e-6, atol=1e-8)
    directions = [rng.standard_normal(a.shape) for a in arrays]
    _, tangent = mg.jvp(mg_fn, [mg.tensor(a) for a in arrays], directions)
    np.testing.assert_allclose(tangent, directional_difference(np_fn, list(arrays), directions), rtol=1e-6, atol=1e-8)


def slopes(fn, x, dtype=np.float64):
    """(d fn/dx by reverse mode, by forward mode) at each entry of x, for an elementwise fn."""
    t = mg.tensor(np.array(x, dtype=dtype), requires_grad=True)
    fn(t).sum().backward()
    _, tangent = mg.jvp(fn, [mg.tensor(np.array(x, dtype=dtype))], [np.ones(len(x), dtype)])
    return t.grad, np.asarray(tangent)


# ---- the primitives log1p and expm1 ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log1p_and_expm1_keep_tiny_x_where_the_naive_forms_lose_it(dtype):
    x = mg.tensor(np.array([1e-10, -1e-10], dtype))
    assert (mg.log(1 + x).numpy() == 0).all() if dtype == np.float32 else True
    np.testing.assert_allclose(x.log1p().numpy(), np.log1p(x.numpy()), rtol=0)
    np.testing.assert_allclose(x.expm1().numpy(), np.expm1(x.numpy()), rtol=0)
    assert x.log1p().dtype == dtype and x.expm1().dtype == dtype


def test_log1p_and_expm1_are_methods_functions_and_ops_alike():
    x = mg.tensor([0.5, -0.25, 3.0], dtype=np.float64, requires_grad=True)
    for name in ("log1p", "expm1"):
        method, function, op = getattr(x, name)(), getattr(mg, name)(x), getattr(mg.ops, name)(x)
        assert method.op == name
        np.testing.assert_array_equal(method.numpy(), function.numpy())
        np.testing.assert_array_equal(method.numpy(), op.numpy())


def test_expm1_slope_is_e_to_the_x_even_where_expm1_rounds_to_minus_one():
    """d expm1/dx = e^x, computed from x: at x = -40, e^x = 4.2e-18, where y + 1 would give 0."""
    grad, tangent = slopes(mg.expm1, [-40.0, 0.0, 2.0])
    np.testing.assert_allclose(grad, np.exp([-40.0, 0.0, 2.0]), rtol=1e-15)
    np.testing.assert_allclose(tangent, np.exp([-40.0, 0.0, 2.0]), rtol=1e-15)


def test_log1p_slope_is_one_over_one_plus_x():
    grad, tangent = slopes(mg.log1p, [-0.5, 0.0, 3.0])
    np.testing.assert_allclose(grad, [2.0, 1.0, 0.25], rtol=1e-15)
    np.testing.assert_allclose(tangent, [2.0, 1.0, 0.25], rtol=1e-15)


# ---- values, gradients and tangents against closed forms ---------------------------------------

# name: (the function, its closed form in numpy, kinks to keep away from)
CLOSED_FORMS = {
    "leaky_relu": (F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), [0.0]),
    "leaky_relu(0.2)": (lambda t: F.leaky_relu(t, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), [0.0]),
    "elu": (F.elu, lambda x: np.where(x > 0, x, np.expm1(x)), [0.0]),
    "elu(0.5)": (lambda t: F.elu(t, 0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)), [0.0]),
    "selu": (F.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)), [0.0]),
    "celu(2)": (lambda t: F.celu(t, 2.0), lambda x: np.where(x > 0, x, 2.0 * np.expm1(x / 2.0)), [0.0]),
    "silu": (F.silu, lambda x: x * np_sigmoid(x), []),
    "mish": (F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), []),
    "softplus": (F.softplus, lambda x: np.log1p(np.exp(x)), []),
    "softplus(2, 3)": (lambda t: F.softplus(t, 2.0, 3.0), lambda x: np.where(2 * x > 3, x, np.log1p(np.exp(2 * x)) / 2),
                       [1.5]),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x)), []),
    "hardtanh": (F.hardtanh, lambda x: np.clip(x, -1, 1), [-1.0, 1.0]),
    "hardtanh(-2, 0.5)": (lambda t: F.hardtanh(t, -2.0, 0.5), lambda x: np.clip(x, -2, 0.5), [-2.0, 0.5]),
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6), [0.0, 6.0]),
    "hardsigmoid": (F.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1), [-3.0, 3.0]),
    "hardswish": (F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6, [-3.0, 3.0]),
    "logsigmoid": (F.logsigmoid, lambda x: -np.logaddexp(0, -x), []),
    "tanhshrink": (F.tanhshrink, lambda x: x - np.tanh(x), []),
    "softshrink": (F.softshrink, lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0), [-0.5, 0.5]),
    "softshrink(1)": (lambda t: F.softshrink(t, 1.0), lambda x: np.sign(x) * np.maximum(np.abs(x) - 1, 0),
                      [-1.0, 1.0]),
    "hardshrink": (F.hardshrink, lambda x: np.where(np.abs(x) > 0.5, x, 0.0), [-0.5, 0.5]),
    "threshold(0.5, -2)": (lambda t: F.threshold(t, 0.5, -2.0), lambda x: np.where(x > 0.5, x, -2.0), [0.5]),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_elementwise_activation_matches_its_closed_form_gradient_and_tangent(name, shape):
    function, closed_form, kinks = CLOSED_FORMS[name]
    x = sample(shape, seed=len(name), kinks=kinks)
    assert_value_gradient_and_tangent(lambda t, _: function(t), closed_form, x, "none")


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_each_module_computes_its_function(name):
    """The module of each function, with the same settings, gives the same tensor."""
    modules = {"leaky_relu": nn.LeakyReLU(), "leaky_relu(0.2)": nn.LeakyReLU(0.2), "elu": nn.ELU(),
               "elu(0.5)": nn.ELU(0.5), "selu": nn.SELU(), "celu(2)": nn.CELU(2.0), "silu": nn.SiLU(), "mish": nn.Mish(),
               "softplus": nn.Softplus(), "softplus(2, 3)": nn.Softplus(2.0, 3.0), "softsign": nn.Softsign(),
               "hardtanh": nn.Hardtanh(), "hardtanh(-2, 0.5)": nn.Hardtanh(-2.0, 0.5), "relu6": nn.ReLU6(),
               "hardsigmoid": nn.Hardsigmoid(), "hardswish": nn.Hardswish(), "logsigmoid": nn.LogSigmoid(),
               "tanhshrink": nn.Tanhshrink(), "softshrink": nn.Softshrink(), "softshrink(1)": nn.Softshrink(1.0),
               "hardshrink": nn.Hardshrink(), "threshold(0.5, -2)": nn.Threshold(0.5, -2.0)}
    x = mg.tensor(sample((3, 4), seed=3))
    np.testing.assert_array_equal(modules[name](x).numpy(), CLOSED_FORMS[name][0](x).numpy())


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_glu_is_the_first_half_times_the_sigmoid_of_the_second(dim):
    def closed_form(x):
        a, b = np.split(x, 2, axis=dim)
        return a * np_sigmoid(b)
    assert_value_gradient_and_tangent(lambda t, _: F.glu(t, dim), closed_form, sample((4, 6, 2), seed=1), "none")


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmin_is_the_softmax_of_minus_x(dim):
    def closed_form(x):
        e = np.exp(-x - np.max(-x, axis=dim, keepdims=True))
        return e / e.sum(axis=dim, keepdims=True)
    assert_value_gradient_and_tangent(lambda t, _: F.softmin(t, dim), closed_form, sample((3, 4, 2), seed=2), "none")


@pytest.mark.parametrize("shape, weight_shape", [((2, 3), (3,)), ((2, 3, 4), (3,)), ((2, 3, 4), (1,)), ((5,), (1,)),
                                                 ((), ())])
def test_prelu_matches_its_closed_form_in_the_input_and_the_weight(shape, weight_shape):
    """x for x > 0, else w x, one w per channel (dim 1) or one for all: both get gradients."""
    x, w = sample(shape, seed=4, kinks=[0.0]), np.random.default_rng(5).uniform(-1, 1, weight_shape)

    def closed_form(a, weight):
        slope = weight.reshape((-1,) + (1,) * (a.ndim - 2)) if weight.size > 1 else weight.reshape(())
        return np.where(a > 0, a, slope * a)
    assert_matches_in_each_input(F.prelu, closed_form, x, w)


NORMS = {2: lambda x, dim: np.sqrt(np.sum(x * x, axis=dim, keepdims=True)),
         1: lambda x, dim: np.sum(np.abs(x), axis=dim, keepdims=True),
         3: lambda x, dim: np.sum(np.abs(x) ** 3, axis=dim, keepdims=True) ** (1 / 3),
         inf: lambda x, dim: np.max(np.abs(x), axis=dim, keepdims=True)}


@pytest.mark.parametrize("p", list(NORMS))
@pytest.mark.parametrize("dim", [1, -1, (1, 2)])
def test_normalize_divides_each_slice_by_its_p_norm(p, dim):
    x = sample((2, 3, 4), seed=6)
    assert_value_gradient_and_tangent(lambda t, _: F.normalize(t, p, dim), lambda a: a / NORMS[p](a, dim), x, "none")


@pytest.mark.parametrize("shapes, dim", [(((4, 3), (4, 3)), 1), (((2, 1, 3), (4, 3)), -1), (((3, 5), (5,)), 1)])
def test_cosine_similarity_is_the_cosine_of_the_angle_between_broadcast_inputs(shapes, dim):
    x1, x2 = sample(shapes[0], seed=7), sample(shapes[1], seed=8)

    def closed_form(a, b):
        a, b = np.broadcast_arrays(a, b)
        return np.sum(a * b, axis=dim) / (np.linalg.norm(a, axis=dim) * np.linalg.norm(b, axis=dim))
    assert_matches_in_each_input(lambda u, v: F.cosine_similarity(u, v, dim), closed_form, x1, x2)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, inf])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance_is_the_p_norm_of_the_difference_plus_eps(p, keepdim):
    x1, x2 = sample((4, 3), seed=9), sample((4, 3), seed=10)

    def closed_form(a, b):
        d = np.abs(a - b + 1e-6)
        norm = np.max(d, axis=-1, keepdims=keepdim) if p == inf else np.sum(d ** p, axis=-1, keepdims=keepdim) ** (1 / p)
        return norm
    assert_matches_in_each_input(lambda u, v: F.pairwise_distance(u, v, p, keepdim=keepdim), closed_form, x1, x2)


def test_pairwise_distance_broadcasts_and_reduces_the_last_axis():
    assert F.pairwise_distance(mg.randn(2, 1, 3), mg.randn(4, 3)).shape == (2, 4)
    assert F.pairwise_distance(mg.randn(3), mg.randn(2, 3)).shape == (2,)
    assert F.pairwise_distance(mg.tensor(1.5), mg.tensor(-0.5)).shape == ()


@pytest.mark.parametrize("difference, p, expected", [([1.0, 3.0, 0.0], 0, 2.0), ([1.0, 3.0, 2.0], -inf, 1.0),
                                                     ([1.0, 3.0, 2.0], -1.0, 1 / (1 + 1 / 3 + 1 / 2)),
                                                     ([1.0, 3.0, 0.0], -1.0, 0.0)])
def test_pairwise_distance_takes_torch_norms_other_orders(difference, p, expected):
    """p = 0 counts the non-zero entries, -inf is the smallest |d|, other p (sum |d|^p)^(1/p) (0 when a
    d is 0 and p < 0), as torch.norm's."""
    d = F.pairwise_distance(mg.tensor([difference], dtype=np.float64), mg.zeros((1, 3), dtype=np.float64), p, eps=0.0)
    np.testing.assert_allclose(d.numpy(), [expected], rtol=1e-15)


# ---- PyTorch's top-level and Tensor-method spellings: torch.selu, t.hardshrink(), torch.cosine_similarity, ... ------

# PyTorch 2.13 has these of the functions above as `torch.X` too, and two of them as Tensor methods; the rest
# (torch.elu, torch.softplus, t.selu(), ...) it has in torch.nn.functional only
TOP_LEVEL = {"selu", "celu", "threshold", "hardshrink", "prelu", "cosine_similarity", "pairwise_distance"}
TENSOR_METHODS = {"hardshrink", "prelu"}
FUNCTIONAL_ONLY = {"leaky_relu", "elu", "silu", "mish", "softplus", "softsign", "hardtanh", "relu6", "hardsigmoid",
                   "hardswish", "logsigmoid", "tanhshrink", "softshrink", "glu", "softmin", "normalize", "gelu"}


def test_the_activations_pytorch_spells_at_the_top_level_or_as_methods_are_spelled_so_here_and_no_others():
    for name in TOP_LEVEL:
        assert getattr(mg, name) is getattr(F, name)
    for name in TENSOR_METHODS:
        assert getattr(mg.Tensor, name) is getattr(F, name)
    assert not {name for name in FUNCTIONAL_ONLY if hasattr(mg, name)}
    assert not {name for name in FUNCTIONAL_ONLY | TOP_LEVEL - TENSOR_METHODS if hasattr(mg.Tensor, name)}


def np_hardshrink(a, lambd=0.5):
    return np.where(np.abs(a) > lambd, a, 0.0)


def np_cosine_similarity(a, b, dim=1):
    return np.sum(a * b, axis=dim) / (np.linalg.norm(a, axis=dim) * np.linalg.norm(b, axis=dim))


# spelling: (it, called on x (and y: the weight or x2), the functional call it spells, the closed form);
# x of shape (2, 3, 4) away from every kink and jump, y of shape (3,) for prelu (a slope per channel), else x's
SPELLINGS = {
    "mg.selu(x)": (lambda x: mg.selu(x), lambda x: F.selu(x),
                   lambda a: SELU_SCALE * np.where(a > 0, a, SELU_ALPHA * np.expm1(a))),
    "mg.selu(input=x)": (lambda x: mg.selu(input=x), lambda x: F.selu(x),
                         lambda a: SELU_SCALE * np.where(a > 0, a, SELU_ALPHA * np.expm1(a))),
    "mg.celu(x)": (lambda x: mg.celu(x), lambda x: F.celu(x), lambda a: np.where(a > 0, a, np.expm1(a))),
    "mg.celu(x, alpha=2)": (lambda x: mg.celu(x, alpha=2.0), lambda x: F.celu(x, 2.0),
                            lambda a: np.where(a > 0, a, 2 * np.expm1(a / 2))),
    "mg.threshold(x, 0.5, -2)": (lambda x: mg.threshold(x, 0.5, -2.0), lambda x: F.threshold(x, 0.5, -2.0),
                                 lambda a: np.where(a > 0.5, a, -2.0)),
    "mg.threshold(x, threshold=, value=)": (lambda x: mg.threshold(x, threshold=-1.0, value=3.0),
                                            lambda x: F.threshold(x, -1.0, 3.0), lambda a: np.where(a > -1, a, 3.0)),
    "mg.hardshrink(x)": (lambda x: mg.hardshrink(x), lambda x: F.hardshrink(x), np_hardshrink),
    "mg.hardshrink(x, lambd=1)": (lambda x: mg.hardshrink(x, lambd=1.0), lambda x: F.hardshrink(x, 1.0),
                                  lambda a: np_hardshrink(a, 1.0)),
    "x.hardshrink()": (lambda x: x.hardshrink(), lambda x: F.hardshrink(x), np_hardshrink),
    "x.hardshrink(1)": (lambda x: x.hardshrink(1.0), lambda x: F.hardshrink(x, 1.0), lambda a: np_hardshrink(a, 1.0)),
    "x.hardshrink(lambd=1)": (lambda x: x.hardshrink(lambd=1.0), lambda x: F.hardshrink(x, 1.0),
                              lambda a: np_hardshrink(a, 1.0)),
    "mg.prelu(x, w)": (lambda x, w: mg.prelu(x, w), lambda x, w: F.prelu(x, w),
                       lambda a, w: np.where(a > 0, a, w[:, None] * a)),
    "x.prelu(w)": (lambda x, w: x.prelu(w), lambda x, w: F.prelu(x, w),
                   lambda a, w: np.where(a > 0, a, w[:, None] * a)),
    "x.prelu(weight=w)": (lambda x, w: x.prelu(weight=w), lambda x, w: F.prelu(x, w),
                          lambda a, w: np.where(a > 0, a, w[:, None] * a)),
    "mg.cosine_similarity(x1, x2)": (lambda a, b: mg.cosine_similarity(a, b), lambda a, b: F.cosine_similarity(a, b),
                                     np_cosine_similarity),
    "mg.cosine_similarity(x1=, x2=, dim=-1, eps=)": (
        lambda a, b: mg.cosine_similarity(x1=a, x2=b, dim=-1, eps=1e-6),
        lambda a, b: F.cosine_similarity(a, b, -1, 1e-6),
        lambda a, b: np_cosine_similarity(a, b, -1)),
    "mg.pairwise_distance(x1, x2)": (lambda a, b: mg.pairwise_distance(a, b), lambda a, b: F.pairwise_distance(a, b),
                                     lambda a, b: np.sqrt(np.sum((a - b + 1e-6) ** 2, axis=-1))),
    "mg.pairwise_distance(x1, x2, p=1, keepdim=True)": (
        lambda a, b: mg.pairwise_distance(a, b, p=1.0, keepdim=True),
        lambda a, b: F.pairwise_distance(a, b, 1.0, 1e-6, True),
        lambda a, b: np.sum(np.abs(a - b + 1e-6), axis=-1, keepdims=True)),
}


@pytest.mark.parametrize("name", list(SPELLINGS))
def test_pytorchs_spelling_gives_the_closed_form_and_the_functional_forms_values_and_gradients(name):
    """The value against the closed form; the value, each input's gradient of sum(R * f) and the tangent
    exactly the functional form's (the same function; its gradients are checked against central differences
    above and in test_composite_gradients.py)."""
    spelled, functional, closed_form = SPELLINGS[name]
    arrays = [sample((2, 3, 4), seed=12, kinks=[-1.0, -0.5, 0.0, 0.5, 1.0])]
    if spelled.__code__.co_argcount == 2:
        arrays.append(np.random.default_rng(13).uniform(-1, 1, 3) if "prelu" in name else sample((2, 3, 4), seed=14))
    results = []
    for fn in (spelled, functional):
        tensors = [mg.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*tensors)
        (out * np.random.default_rng(15).standard_normal(out.shape)).sum().backward()
        _, tangent = mg.jvp(fn, [mg.tensor(a) for a in arrays], [np.ones_like(a) for a in arrays])
        results.append((out, [t.grad for t in tensors], tangent))
    (out, grads, tangent), (expected_out, expected_grads, expected_tangent) = results
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), closed_form(*arrays), rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(out.numpy(), expected_out.numpy())
    for grad, expected in zip(grads, expected_grads):
        np.testing.assert_array_equal(grad, expected)
    np.testing.assert_array_equal(tangent, expected_tangent)


def test_the_spellings_take_arrays_and_keep_pytorchs_defaults():
    """`input` may be an array, as the functional forms take it; the defaults are PyTorch's: celu's alpha 1,
    hardshrink's lambd 0.5, cosine_similarity's dim 1 and eps 1e-8, pairwise_distance's p 2 and eps 1e-6."""
    a = np.array([[-2.0, -0.3, 0.4, 1.5]])
    np.testing.assert_allclose(mg.celu(a).numpy(), np.where(a > 0, a, np.expm1(a)), rtol=1e-15)
    np.testing.assert_array_equal(mg.hardshrink(a).numpy(), [[-2.0, 0.0, 0.0, 1.5]])
    assert mg.tensor(a).hardshrink().tolist() == [[-2.0, 0.0, 0.0, 1.5]]
    np.testing.assert_allclose(mg.cosine_similarity(a, 2 * a).numpy(), [1.0], rtol=1e-15)
    np.testing.assert_allclose(mg.cosine_similarity(mg.zeros(1, 2), mg.ones(1, 2)).numpy(), [0.0])
    np.testing.assert_allclose(mg.pairwise_distance(a, a).numpy(), [2e-6], rtol=1e-3)


# ---- at the kinks: PyTorch's one-sided slopes, the same in both modes ---------------------------------

KINKS = {
    "leaky_relu(0.2) at 0": (lambda t: F.leaky_relu(t, 0.2), [0.0], [0.2]),
    "elu(0.5) at 0": (lambda t: F.elu(t, 0.5), [0.0], [0.5]),
    "selu at 0": (F.selu, [0.0], [SELU_ALPHA * SELU_SCALE]),
    "celu(2) at 0": (lambda t: F.celu(t, 2.0), [0.0], [1.0]),
    "hardtanh at its bounds": (F.hardtanh, [-1.0, 1.0], [0.0, 0.0]),
    "relu6 at 0 and 6": (F.relu6, [0.0, 6.0], [0.0, 0.0]),
    "hardsigmoid at -3 and 3": (F.hardsigmoid, [-3.0, 3.0], [0.0, 0.0]),
    "hardswish at -3 and 3": (F.hardswish, [-3.0, 3.0], [0.0, 1.0]),
    "softshrink at -lambd and lambd": (F.softshrink, [-0.5, 0.5], [0.0, 0.0]),
    "hardshrink at -lambd and lambd": (F.hardshrink, [-0.5, 0.5], [0.0, 0.0]),
    "threshold at the threshold": (lambda t: F.threshold(t, 0.5, 3.0), [0.5], [0.0]),
    "logsigmoid at 0": (F.logsigmoid, [0.0], [0.5]),
    "softplus at the threshold": (lambda t: F.softplus(t, 1.0, 2.0), [2.0, 2.5], [1 / (1 + math.exp(-2.0)), 1.0]),
    "softsign at 0": (F.softsign, [0.0], [1.0]),
}


@pytest.mark.parametrize("name", list(KINKS))
def test_slope_at_the_kink_is_pytorchs_in_both_modes(name):
    function, x, expected = KINKS[name]
    grad, tangent = slopes(function, x)
    np.testing.assert_allclose(grad, expected, rtol=1e-15)
    np.testing.assert_allclose(tangent, expected, rtol=1e-15)


def test_prelu_at_zero_sends_the_weight_to_the_input_and_nothing_to_the_weight():
    x = mg.tensor([[0.0, -2.0]], dtype=np.float64, requires_grad=True)
    w = mg.tensor([0.3], dtype=np.float64, requires_grad=True)
    F.prelu(x, w).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.3, 0.3]])
    np.testing.assert_allclose(w.grad, [-2.0])


# ---- edge values: +-inf, NaN, large inputs (PyTorch 2.13's results) ---------------------------------------

EDGES = [-inf, -1000.0, 1000.0, inf, nan]
EDGE_VALUES = {
    "leaky_relu": (F.leaky_relu, [-inf, -10.0, 1000.0, inf, nan]),
    "leaky_relu(0)": (lambda t: F.leaky_relu(t, 0.0), [nan, -0.0, 1000.0, inf, nan]),
    "elu": (F.elu, [-1.0, -1.0, 1000.0, inf, nan]),
    "selu": (F.selu, [-SELU_ALPHA * SELU_SCALE, -SELU_ALPHA * SELU_SCALE, 1000 * SELU_SCALE, inf, nan]),
    "celu(2)": (lambda t: F.celu(t, 2.0), [-2.0, -2.0, 1000.0, inf, nan]),
    "mish": (F.mish, [nan, -0.0, 1000.0, inf, nan]),
    "softplus": (F.softplus, [0.0, 0.0, 1000.0, inf, nan]),
    "logsigmoid": (F.logsigmoid, [-inf, -1000.0, 0.0, 0.0, nan]),
    "softsign": (F.softsign, [nan, -1000 / 1001, 1000 / 1001, nan, nan]),
    "hardtanh": (F.hardtanh, [-1.0, -1.0, 1.0, 1.0, nan]),
    "relu6": (F.relu6, [0.0, 0.0, 6.0, 6.0, nan]),
    "hardsigmoid": (F.hardsigmoid, [0.0, 0.0, 1.0, 1.0, nan]),
    "hardswish": (F.hardswish, [nan, -0.0, 1000.0, inf, nan]),
    "tanhshrink": (F.tanhshrink, [-inf, -999.0, 999.0, inf, nan]),
    "softshrink": (F.softshrink, [-inf, -999.5, 999.5, inf, nan]),
    "hardshrink": (F.hardshrink, [-inf, -1000.0, 1000.0, inf, nan]),
    "threshold(0.5, -2)": (lambda t: F.threshold(t, 0.5, -2.0), [-2.0, -2.0, 1000.0, inf, nan]),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(EDGE_VALUES))
def test_infinities_and_nan_give_pytorchs_values(name, dtype):
    function, expected = EDGE_VALUES[name]
    with np.errstate(invalid="ignore"):         # (numpy warns of its inf * 0 and inf / inf)
        y = function(mg.tensor(np.array(EDGES, dtype)))
    np.testing.assert_allclose(y.numpy(), np.array(expected, dtype), rtol=1e-6)


def test_silu_of_large_inputs_is_finite_and_nan_passes_through():
    """silu(+-1000) is 1000 and ~0 (PyTorch's: -0.0), silu(inf) = inf, silu(NaN) = NaN."""
    y = F.silu(mg.tensor([-1000.0, 1000.0, inf, nan], dtype=np.float64)).numpy()
    assert abs(y[0]) < 1e-300 and y[1] == 1000.0 and y[2] == inf and np.isnan(y[3])


LARGE = {"elu": F.elu, "selu": F.selu, "celu": F.celu, "silu": F.silu, "mish": F.mish, "softplus": F.softplus,
         "logsigmoid": F.logsigmoid, "softsign": F.softsign, "hardswish": F.hardswish, "tanhshrink": F.tanhshrink,
         "glu": lambda t: F.glu(t, 0), "softmin": lambda t: F.softmin(t, 0)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(LARGE))
def test_large_inputs_give_finite_values_and_slopes(name, dtype):
    """+-100 and +-1000 overflow e^x in float32 and e^1000 in float64: no value or slope becomes inf or NaN."""
    x = mg.tensor(np.array([-1000.0, -100.0, 100.0, 1000.0], dtype), requires_grad=True)
    y = LARGE[name](x)
    y.sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad).all()


def test_half_precision_is_computed_in_float32_as_pytorchs():
    """softplus(12) and elu(12) in float16 are 12, not inf: e^12 overflows half, so the work is done in
    float32 and rounded once (PyTorch's CPU kernels); the gradient comes back in float16."""
    x = mg.tensor(np.array([12.0, -1.0], np.float16), requires_grad=True)
    y = F.softplus(x)
    assert y.dtype == np.float16 and y.numpy()[0] == 12.0
    y.sum().backward()
    assert x.grad.dtype == np.float16 and np.isfinite(x.grad).all()
    assert F.elu(x).numpy()[0] == 12.0


# ---- normalize, cosine similarity: small norms, as PyTorch ---------------------------------------------

def test_normalize_divides_a_zero_slice_by_eps():
    """A row of norm below eps is divided by eps: 0 stays 0 and its gradient is g / eps (clamp_min's
    slope is 0 below eps)."""
    x = mg.tensor([[3.0, 4.0], [0.0, 0.0]], dtype=np.float64, requires_grad=True)
    y = F.normalize(x)
    np.testing.assert_allclose(y.numpy(), [[0.6, 0.8], [0.0, 0.0]])
    y.sum().backward()
    np.testing.assert_allclose(x.grad[1], [1e12, 1e12])


def test_cosine_similarity_below_eps_has_the_gradient_of_the_unclamped_norm():
    """PyTorch clamps the norms in place without recording, so d/dx1 = x2^ / eps - (x1 . x2^) x1 / (eps^2 |x1|)
    with x2^ = x2 / |x2|: for x1 = (1e-9, 0, 0), x2 = (1, 1, 0) that is (6.36e7, 7.07e7, 0) (PyTorch's)."""
    x1 = mg.tensor([[1e-9, 0.0, 0.0]], dtype=np.float64, requires_grad=True)
    x2 = mg.tensor([[1.0, 1.0, 0.0]], dtype=np.float64)
    y = F.cosine_similarity(x1, x2)
    np.testing.assert_allclose(y.numpy(), [0.1 / math.sqrt(2)], rtol=1e-12)
    y.sum().backward()
    unit = np.array([1.0, 1.0, 0.0]) / math.sqrt(2)
    expected = unit / 1e-8 - (1e-9 * unit[0]) * np.array([1.0, 0.0, 0.0]) / 1e-16
    np.testing.assert_allclose(x1.grad[0], expected, rtol=1e-9)


# ---- softmin's implicit dim, glu's halves --------------------------------------------------------------

def test_softmin_without_dim_warns_and_takes_pytorchs_implicit_axis():
    x = mg.tensor(sample((2, 3), seed=11))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin has been deprecated"):
        y = F.softmin(x)
    np.testing.assert_allclose(y.numpy(), F.softmin(x, 1).numpy())


def test_softmin_module_without_dim_warns_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.Softmin()(mg.tensor(np.zeros((2, 3))))
    assert caught and caught[0].filename == __file__


def test_softmin_dtype_converts_the_input_first():
    y = F.softmin(mg.tensor([1.0, 2.0], dtype=np.float32), 0, dtype=mg.float64)
    assert y.dtype == np.float64


# ---- embedding ------------------------------------------------------------------------------------------

def test_embedding_picks_rows_and_sums_their_gradients():
    weight = mg.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    index = np.array([[0, 2], [2, 3]])
    rows = F.embedding(mg.tensor(index), weight)
    np.testing.assert_array_equal(rows.numpy(), np.arange(12.0).reshape(4, 3)[index])
    rows.sum().backward()
    np.testing.assert_array_equal(weight.grad, [[1.0] * 3, [0.0] * 3, [2.0] * 3, [1.0] * 3])


@pytest.mark.parametrize("padding_idx", [2, -2])
def test_embedding_padding_row_gets_no_gradient_and_keeps_its_values(padding_idx):
    values = np.arange(12.0).reshape(4, 3)
    weight = mg.tensor(values, requires_grad=True)
    rows = F.embedding(mg.tensor([2, 1, 2]), weight, padding_idx=padding_idx)
    np.testing.assert_array_equal(rows.numpy(), values[[2, 1, 2]])
    rows.sum().backward()
    np.testing.assert_array_equal(weight.grad[:, 0], [0.0, 1.0, 0.0, 0.0])


def test_embedding_module_and_function_look_up_alike():
    layer = nn.Embedding(5, 3, padding_idx=1)
    index = mg.tensor([[1, 4], [0, 1]])
    np.testing.assert_array_equal(layer(index).numpy(), F.embedding(index, layer.weight, 1).numpy())


# ---- bad input: an error naming the function, what was expected and what came --------------------------

BAD_CALLS = {
    "softplus beta = 0": (lambda: F.softplus(mg.zeros(2), beta=0), ValueError,
                          r"softplus: beta must be non-zero \(it divides\), got 0"),
    "Softplus beta = 0": (lambda: nn.Softplus(beta=0.0), ValueError,
                          r"Softplus: beta must be non-zero \(it divides\), got 0.0"),
    "celu alpha = 0": (lambda: F.celu(mg.zeros(2), 0.0), ValueError, r"celu: alpha must be non-zero"),
    "softshrink lambd < 0": (lambda: F.softshrink(mg.zeros(2), -0.5), ValueError,
                             r"softshrink: lambd must be a finite number >= 0, got -0.5"),
    "hardtanh min > max": (lambda: F.hardtanh(mg.zeros(2), 1.0, -1.0), ValueError,
                           r"hardtanh: min_val cannot be greater than max_val"),
    "Hardtanh max = min": (lambda: nn.Hardtanh(1.0, 1.0), ValueError,
                           r"Hardtanh: max_val \(1.0\) must be greater than min_val \(1.0\)"),
    "leaky_relu slope not a number": (lambda: F.leaky_relu(mg.zeros(2), "0.2"), TypeError,
                                      r"leaky_relu: negative_slope must be a number, got str"),
    "elu of integers": (lambda: F.elu(mg.tensor([1, -2])), TypeError,
                        r"elu: expected a floating-point tensor, got dtype int64"),
    "inplace not a bool": (lambda: F.silu(mg.zeros(2), inplace=1), ValueError, r"silu: inplace must be True or False"),
    "glu odd dim": (lambda: F.glu(mg.zeros((2, 5))), ValueError,
                    r"glu: the halved dim must have an even size, but dim -1 has size 5 \(shape \(2, 5\)\)"),
    "glu 0-d": (lambda: F.glu(mg.tensor(1.0)), ValueError, r"glu: expected a tensor with at least one axis"),
    "glu dim out of range": (lambda: F.glu(mg.zeros((2, 4)), 2), IndexError, r"glu: dim 2 is out of range"),
    "prelu weight size": (lambda: F.prelu(mg.zeros((2, 4)), mg.zeros(3)), ValueError,
                          r"prelu: the weight has 3 parameters but the input has 4 channels .*expected 1 or 4"),
    "prelu weight 2-d": (lambda: F.prelu(mg.zeros((2, 4)), mg.zeros((4, 1))), ValueError,
                         r"prelu: expected the weight to be a scalar or 1-d tensor, got shape \(4, 1\)"),
    "prelu weight dtype": (lambda: F.prelu(mg.zeros((2, 4)), mg.zeros(4, dtype=mg.float64)), TypeError,
                           r"prelu: expected the weight in the input's dtype float32, got float64"),
    "PReLU in a module of other channels": (lambda: nn.PReLU(3)(mg.zeros((2, 4))), ValueError,
                                            r"prelu: the weight has 3 parameters"),
    "PReLU negative size": (lambda: nn.PReLU(-1), ValueError, r"PReLU: num_parameters must be >= 0, got -1"),
    "normalize out=": (lambda: F.normalize(mg.zeros((2, 2)), out=mg.zeros((2, 2))), TypeError,
                       r"normalize: out= is not supported"),
    "normalize dim of a vector": (lambda: F.normalize(mg.zeros(3)), IndexError,
                                  r"normalize: dim 1 is out of range for a tensor with 1 axes"),
    "cosine_similarity eps < 0": (lambda: F.cosine_similarity(mg.zeros((1, 2)), mg.zeros((1, 2)), eps=-1.0),
                                  ValueError, r"cosine_similarity: eps must be >= 0, got -1.0"),
    "cosine_similarity of integers": (lambda: F.cosine_similarity(mg.tensor([[1, 2]]), mg.tensor([[1, 2]])),
                                      TypeError, r"cosine_similarity: expected a floating-point tensor"),
    "cosine_similarity shapes": (lambda: F.cosine_similarity(mg.zeros((2, 3)), mg.zeros((2, 4))), ValueError,
                                 r"cosine_similarity: shapes \(2, 3\) and \(2, 4\) cannot be broadcast together"),
    "pairwise_distance shapes": (lambda: F.pairwise_distance(mg.zeros((2, 3)), mg.zeros((2, 4))), ValueError,
                                 r"pairwise_distance: shapes \(2, 3\) and \(2, 4\) cannot be broadcast"),
    "embedding weight 1-d": (lambda: F.embedding(mg.tensor([0]), mg.zeros(5)), ValueError,
                             r"embedding: expected weight of 2 axes \(num_embeddings, embedding_dim\), got shape"),
    "embedding padding_idx": (lambda: F.embedding(mg.tensor([0]), mg.zeros((5, 2)), padding_idx=5), ValueError,
                              r"embedding: padding_idx must be an integer in \[-5, 5\)"),
    "embedding index": (lambda: F.embedding(mg.tensor([0, 5]), mg.zeros((5, 2))), ValueError,
                        r"embedding: indices must lie in \[0, 5\), got values from 0 to 5"),
    "embedding max_norm": (lambda: F.embedding(mg.tensor([0]), mg.zeros((5, 2)), max_norm=1.0), TypeError,
                           r"embedding: max_norm=1.0 is not supported"),
    "Unflatten sizes": (lambda: nn.Unflatten(1, (2, 3))(mg.zeros((4, 5))), ValueError,
                        r"Unflatten: sizes \[2, 3\] don't multiply up to the size of dim 1 \(5\)"),
    "Unflatten size of a float": (lambda: nn.Unflatten(1, (2.0, 3)), TypeError,
                                  r"Unflatten: unflattened_size must be a tuple of ints, but found element of type "
                                  r"float at pos 0"),
    "Unflatten two -1": (lambda: nn.Unflatten(1, (-1, -1)), ValueError, r"Unflatten: unflattened_size may hold one -1"),
    "ParameterList.extend of a tensor": (lambda: nn.ParameterList().extend(mg.zeros(2)), TypeError,
                                         r"ParameterList.extend: expected an iterable of parameters, got Tensor"),
    "ParameterDict key with a dot": (lambda: nn.ParameterDict({"a.b": nn.Parameter(np.zeros(1))}), KeyError,
                                     r"without '.'"),
    "ParameterDict key of an attribute": (lambda: nn.ParameterDict({"keys": nn.Parameter(np.zeros(1))}), KeyError,
                                          r"attribute 'keys' already exists"),
    "ParameterDict key not a str": (lambda: nn.ParameterDict([(1, nn.Parameter(np.zeros(1)))]), TypeError,
                                    r"expected the name as a str, got int"),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_input_raises_an_error_naming_the_function(case):
    call, error, message = BAD_CALLS[case]
    with pytest.raises(error, match=message):
        call()


def test_parameter_dict_update_with_a_bad_entry_adds_nothing():
    d = nn.ParameterDict({"a": nn.Parameter(np.zeros(1))})
    with pytest.raises(KeyError):
        d.update([("b", nn.Parameter(np.ones(1))), ("c.d", nn.Parameter(np.ones(1)))])
    assert list(d) == ["a"] and [name for name, _ in d.named_parameters()] == ["a"]


# ---- reprs: as PyTorch prints them ------------------------------------------------------------------------

REPRS = [
    (lambda: nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)"),
    (lambda: nn.LeakyReLU(0.2), "LeakyReLU(negative_slope=0.2)"),
    (lambda: nn.LeakyReLU(0.2, True), "LeakyReLU(negative_slope=0.2, inplace=True)"),
    (lambda: nn.ELU(), "ELU(alpha=1.0)"),
    (lambda: nn.ELU(0.5, True), "ELU(alpha=0.5, inplace=True)"),
    (lambda: nn.SELU(), "SELU()"),
    (lambda: nn.SELU(True), "SELU(inplace=True)"),
    (lambda: nn.CELU(2.0, inplace=True), "CELU(alpha=2.0, inplace=True)"),
    (lambda: nn.SiLU(), "SiLU()"),
    (lambda: nn.Mish(inplace=True), "Mish(inplace=True)"),
    (lambda: nn.Softplus(), "Softplus(beta=1.0, threshold=20.0)"),
    (lambda: nn.Softplus(2, 10), "Softplus(beta=2, threshold=10)"),
    (lambda: nn.Softsign(), "Softsign()"),
    (lambda: nn.Hardtanh(), "Hardtanh(min_val=-1.0, max_val=1.0)"),
    (lambda: nn.Hardtanh(-2.0, 2.0, True), "Hardtanh(min_val=-2.0, max_val=2.0, inplace=True)"),
    (lambda: nn.ReLU6(), "ReLU6()"),
    (lambda: nn.ReLU6(True), "ReLU6(inplace=True)"),
    (lambda: nn.Hardsigmoid(True), "Hardsigmoid()"),
    (lambda: nn.Hardswish(True), "Hardswish()"),
    (lambda: nn.LogSigmoid(), "LogSigmoid()"),
    (lambda: nn.Tanhshrink(), "Tanhshrink()"),
    (lambda: nn.Softshrink(), "Softshrink(0.5)"),
    (lambda: nn.Hardshrink(lambd=2), "Hardshrink(2)"),
    (lambda: nn.Threshold(0.1, 20), "Threshold(threshold=0.1, value=20)"),
    (lambda: nn.Threshold(0.1, 20.0, True), "Threshold(threshold=0.1, value=20.0, inplace=True)"),
    (lambda: nn.GLU(), "GLU(dim=-1)"),
    (lambda: nn.Softmin(), "Softmin(dim=None)"),
    (lambda: nn.Softmin(1), "Softmin(dim=1)"),
    (lambda: nn.PReLU(), "PReLU(num_parameters=1)"),
    (lambda: nn.PReLU(3, 0.1), "PReLU(num_parameters=3)"),
    (lambda: nn.CosineSimilarity(0, 1e-6), "CosineSimilarity()"),
    (lambda: nn.PairwiseDistance(1, 1e-5, True), "PairwiseDistance()"),
    (lambda: nn.Unflatten(1, (2, 3)), "Unflatten(dim=1, unflattened_size=(2, 3))"),
    (lambda: nn.Unflatten(-1, [2, -1]), "Unflatten(dim=-1, unflattened_size=[2, -1])"),
    (lambda: nn.ParameterList(), "ParameterList()"),
    (lambda: nn.ParameterDict(), "ParameterDict()"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.2)),
     "Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): LeakyReLU(negative_slope=0.2)\n)"),
]


@pytest.mark.parametrize("make, expected", REPRS, ids=[text.split("\n")[0] for _, text in REPRS])
def test_module_repr_is_pytorchs(make, expected):
    assert repr(make()) == expected


def test_parameter_containers_print_each_entry_as_pytorch_with_this_librarys_dtype_names():
    """PyTorch prints `[torch.float32 of size 2x3]` (ParameterList) and `[torch.FloatTensor of size 2x3]`
    (ParameterDict); here the dtype is named as tensors print it, `float32`."""
    holder = nn.Module()
    holder.pl = nn.ParameterList([nn.Parameter(np.ones((2, 3), np.float32)), nn.Parameter(np.ones(4, np.float64))])
    holder.pd = nn.ParameterDict({"w": nn.Parameter(np.ones(2, np.float32))})
    assert repr(holder) == ("Module(\n"
                            "  (pl): ParameterList(\n"
                            "      (0): Parameter containing: [float32 of size 2x3]\n"
                            "      (1): Parameter containing: [float64 of size 4]\n"
                            "  )\n"
                            "  (pd): ParameterDict(  (w): Parameter containing: [float32 of size 2])\n"
                            ")")


# ---- modules with parameters ------------------------------------------------------------------------------

def test_prelu_module_has_one_slope_per_channel_starting_at_init():
    layer = nn.PReLU(3, init=0.1, dtype=mg.float64)
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    np.testing.assert_array_equal(layer.weight.numpy(), [0.1, 0.1, 0.1])
    assert layer.weight.dtype == np.float64 and layer.num_parameters == 3 and layer.init == 0.1


def test_prelu_module_trains_its_slopes():
    layer = nn.PReLU(2, dtype=mg.float64)
    x = mg.tensor([[-1.0, -3.0], [2.0, -0.5]], dtype=np.float64)
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, [-1.0, -3.5])


def test_unflatten_splits_an_axis_and_infers_a_minus_one():
    x = mg.tensor(np.arange(24.0).reshape(4, 6), requires_grad=True)
    y = nn.Unflatten(1, (2, -1))(x)
    assert y.shape == (4, 2, 3)
    np.testing.assert_array_equal(y.numpy(), np.arange(24.0).reshape(4, 2, 3))
    (y * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((4, 6), 2.0))


def test_unflatten_undoes_flatten():
    x = mg.randn(2, 3, 4)
    np.testing.assert_array_equal(nn.Unflatten(1, (3, 4))(nn.Flatten()(x)).numpy(), x.numpy())


def _with_containers():
    model = nn.Module()
    model.weights = nn.ParameterList([nn.Parameter(np.ones(2, np.float32)), mg.zeros(3)])
    model.heads = nn.ParameterDict({"w": nn.Parameter(np.ones(2, np.float32)), "b": mg.zeros(1)})
    return model


def test_parameter_containers_register_under_pytorchs_names():
    """ParameterList entries are "0", "1", ...; a plain dict's keys go in sorted, as PyTorch's."""
    model = _with_containers()
    names = ["weights.0", "weights.1", "heads.b", "heads.w"]
    assert [name for name, _ in model.named_parameters()] == names
    assert list(model.state_dict()) == names
    assert len(list(model.parameters())) == 4


def test_parameter_containers_make_tensors_parameters():
    model = _with_containers()
    assert type(model.weights[1]) is nn.Parameter and model.weights[1].requires_grad
    assert type(model.heads["b"]) is nn.Parameter


def test_parameter_containers_round_trip_through_a_state_dict():
    source, target = _with_containers(), _with_containers()
    with mg.no_grad():
        source.weights[0].data = np.array([5.0, 6.0], np.float32)
        source.heads["b"].data = np.array([7.0], np.float32)
    result = target.load_state_dict(source.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    np.testing.assert_array_equal(target.weights[0].numpy(), [5.0, 6.0])
    np.testing.assert_array_equal(target.heads["b"].numpy(), [7.0])


def test_parameter_list_indexes_appends_and_slices_as_a_list():
    params = nn.ParameterList()
    params.append(nn.Parameter(np.zeros(1)))
    params += [nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))]
    assert len(params) == 3 and params[-1].shape == (3,)
    part = params[1:]
    assert type(part) is nn.ParameterList and [p.shape for p in part] == [(2,), (3,)]
    params[0] = mg.zeros(4)
    assert params[0].shape == (4,) and [name for name, _ in params.named_parameters()] == ["0", "1", "2"]


def test_parameter_dict_keeps_the_order_of_pairs_and_ordered_dicts():
    pairs = [("z", nn.Parameter(np.zeros(1))), ("a", nn.Parameter(np.zeros(1)))]
    assert list(nn.ParameterDict(pairs)) == ["z", "a"]
    assert list(nn.ParameterDict(OrderedDict(pairs))) == ["z", "a"]
    assert list(nn.ParameterDict(dict(pairs))) == ["a", "z"]


def test_parameter_dict_acts_as_a_dict():
    d = nn.ParameterDict({"a": nn.Parameter(np.zeros(1))})
    d["b"] = nn.Parameter(np.ones(1))
    assert "b" in d and len(d) == 2 and list(d.keys()) == ["a", "b"]
    assert d.pop("a").shape == (1,) and list(d) == ["b"]
    assert d.get("missing") is None and d.setdefault("c", mg.zeros(2)).shape == (2,)
    del d["b"]
    assert [name for name, _ in d.named_parameters()] == ["c"]


@pytest.mark.parametrize("container", [nn.ParameterList, nn.ParameterDict])
def test_parameter_containers_cannot_be_called(container):
    with pytest.raises(RuntimeError, match=f"{container.__name__} should not be called"):
        container()(mg.zeros(1))


def test_an_optimizer_trains_parameters_held_in_containers():
    model = _with_containers()
    optimizer = mg.optim.SGD(model.parameters(), lr=0.5)
    (model.weights[0].sum() + model.heads["w"].sum()).backward()
    optimizer.step()
    np.testing.assert_array_equal(model.weights[0].numpy(), [0.5, 0.5])
    np.testing.assert_array_equal(model.heads["w"].numpy(), [0.5, 0.5])


def test_softplus_with_a_negative_beta_is_a_smooth_min_as_pytorchs():
    """PyTorch takes any non-zero beta: log(1 + e^(beta x)) / beta, and x where beta x > threshold."""
    x = np.array([-30.0, -3.0, -0.5, 0.0, 0.7, 4.0])
    expected = np.where(-2 * x > 20, x, np.log1p(np.exp(-2 * x)) / -2)
    np.testing.assert_allclose(F.softplus(mg.tensor(x), beta=-2.0).data, expected, rtol=1e-12)


# ---- dtype= of the softmax family, as PyTorch's (F.softmax(scores, dim=-1, dtype=torch.float32)) ----------

def _np_log_softmax(z, axis):
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("spelling", ["F.softmax", "F.log_softmax", "t.softmax", "t.log_softmax",
                                      "mg.softmax", "mg.log_softmax"])
def test_softmax_dtype_converts_the_input_first_and_the_gradient_comes_back_in_its_dtype(spelling):
    z = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25]])
    x = mg.tensor(z.astype(np.float32), requires_grad=True)
    where, name = spelling.split(".")
    function = {"F": getattr(F, name), "mg": getattr(mg, name), "t": getattr(mg.Tensor, name)}[where]
    y = function(x, 1, dtype=mg.float64) if where != "F" else function(x, dim=1, dtype=mg.float64)
    assert y.dtype == np.float64
    expected = _np_log_softmax(z.astype(np.float32).astype(np.float64), 1)     # computed in float64
    np.testing.assert_allclose(y.numpy(), expected if "log" in name else np.exp(expected), rtol=1e-14)
    y[0, 2].backward()
    p = np.exp(expected[0])                     # d log p_2 / dz = e_2 - p; d p_2 / dz = p_2 (e_2 - p)
    row = np.eye(3)[2] - p if "log" in name else p[2] * (np.eye(3)[2] - p)
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, [row, [0.0, 0.0, 0.0]], rtol=1e-6)


@pytest.mark.parametrize("dtype", [mg.int64, mg.bool, "not a dtype"])
def test_softmax_dtype_must_be_floating_point(dtype):
    x = mg.tensor([[1.0, 2.0]])
    for function, name in ((F.softmax, "softmax"), (F.log_softmax, "log_softmax"), (x.softmax, "softmax"),
                           (x.log_softmax, "log_softmax")):
        with pytest.raises(TypeError, match=f"^{name}: dtype must be a floating-point dtype"):
            function(x, dim=1, dtype=dtype) if function in (F.softmax, F.log_softmax) else function(1, dtype)
