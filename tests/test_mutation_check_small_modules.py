"""Tests written from a mutation check of the small modules no check had reached: nn/utils/weight_norm.py
(weight_norm, remove_weight_norm), parameter.py (nn.Parameter, zero_grad's forget_gradients),
function_forms.py (the mg.xxx function forms of the methods), trees.py, ops/filling.py,
ops/expanding.py, ops/attributes.py, backends/ and cuda.py. Each pins a behaviour that a hand-made
wrong implementation changed without any other test noticing. Expected values are closed forms,
numpy written here, central differences in float64, or PyTorch's documented behaviour (each says
which); none is taken from the library's own output."""

import collections
import copy
import pickle

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
from microgradseq.nn.utils.weight_norm import remove_weight_norm, weight_norm
from test_op_gradients import central_differences


def set_weight(module, values, name="weight"):
    with mg.no_grad():
        getattr(module, name).copy_(mg.tensor(np.array(values, dtype=getattr(module, name).dtype)))
    return module


# ---- weight_norm ------------------------------------------------------------------------------------

def test_weight_norm_refuses_a_non_module_and_a_non_str_name_with_a_type_error():
    """The library raises TypeError naming weight_norm for a module that is no Module and for a name
    that is no str (without the checks: an AttributeError from inside, or a name 5 looked up)."""
    with pytest.raises(TypeError, match="weight_norm: expected a Module"):
        weight_norm(object())
    with pytest.raises(TypeError, match="weight_norm: expected the parameter's name as a str"):
        weight_norm(nn.Linear(2, 3), name=5)


def test_weight_norm_refuses_an_uninitialized_lazy_parameter():
    """PyTorch: ValueError "The module passed to `WeightNorm` can't have uninitialized parameters" for a
    lazy module before its first forward; nothing is changed."""
    lazy = nn.LazyLinear(3)
    with pytest.raises(ValueError, match="weight_norm: the parameter 'weight' of LazyLinear is not initialized"):
        weight_norm(lazy)
    assert "weight" in dict(lazy.named_parameters()) and not lazy._forward_pre_hooks


def test_weight_norm_dim_takes_every_axis_from_minus_ndim_to_ndim_minus_1_and_no_other():
    """dim counts from the end as PyTorch's axes do: for a (3, 2) weight, -2 is axis 0 (g of shape
    (3, 1), each row's 2-norm); 2 and -3 are no axis (ValueError, as documented), nor is a float."""
    w = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, -2.0]])
    layer = weight_norm(set_weight(nn.Linear(2, 3, dtype=mg.float64), w), dim=-2)
    assert layer.weight_g.shape == (3, 1)
    np.testing.assert_allclose(layer.weight_g.numpy(), [[5.0], [1.0], [2.0]], rtol=1e-15)   # row norms by hand
    for bad in (2, -3, 1.5):
        with pytest.raises(ValueError, match="weight_norm: dim must be None or an axis"):
            weight_norm(nn.Linear(2, 3), dim=bad)


def test_weight_norm_dim_minus_1_normalises_over_the_whole_weight_as_pytorch():
    """PyTorch's norm_except_dim(v, 2, dim) returns v.norm() for dim == -1 (as for dim None): one 0-d g,
    the 2-norm of all of v, and weight = g v / ||v||_F. (-1 is not read as the last axis.)"""
    w = np.array([[3.0, 4.0], [0.0, 12.0]])                     # ||w||_F = 13
    layer = weight_norm(set_weight(nn.Linear(2, 2, dtype=mg.float64), w), dim=-1)
    assert layer.weight_g.shape == ()
    np.testing.assert_allclose(layer.weight_g.numpy(), 13.0, rtol=1e-15)
    set_weight(layer, 26.0, name="weight_g")
    layer(mg.zeros((1, 2), dtype=mg.float64))
    np.testing.assert_allclose(layer.weight.numpy(), 2 * w, rtol=1e-15)


@pytest.mark.parametrize("dim", [1, -1])
def test_weight_norm_gradients_along_a_middle_axis_and_over_all_match_central_differences(dim):
    """For a (2, 3, 2) weight with dim 1 (g of shape (1, 3, 1)) and dim -1 (one 0-d g), the gradients of
    sum(c * w) with w = g v / ||v|| reach g and v as central differences of that numpy formula say."""
    rng = np.random.default_rng(7)
    v0, c = rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3, 2))
    axes = (0, 2) if dim == 1 else (0, 1, 2)
    g0 = np.sqrt((v0 ** 2).sum(axis=axes, keepdims=dim == 1)) * rng.uniform(0.5, 2.0, (1, 3, 1) if dim == 1 else ())

    def loss(g, v):
        return float((c * g * v / np.sqrt((v ** 2).sum(axis=axes, keepdims=dim == 1))).sum())

    conv = weight_norm(set_weight(nn.Conv1d(3, 2, 2, dtype=mg.float64), v0), dim=dim)
    set_weight(conv, g0, name="weight_g")
    conv(mg.zeros((1, 3, 2), dtype=mg.float64))             # the pre-hook computes the weight from g, v
    (conv.weight * mg.tensor(c)).sum().backward()
    np.testing.assert_allclose(conv.weight_g.grad, central_differences(lambda g: loss(g, v0), g0), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(conv.weight_v.grad, central_differences(lambda v: loss(g0, v), v0), rtol=1e-7, atol=1e-9)

def test_remove_weight_norm_only_removes_the_named_parameters_hook():
    """PyTorch's remove_weight_norm(module, name) looks for the hook of that name only: with weight_norm
    on `bias` alone, remove_weight_norm(module) (name "weight") is a ValueError; with it on both,
    removing "bias" leaves the weight's hook, weight_g and weight_v in place."""
    only_bias = weight_norm(nn.Linear(2, 3), name="bias")
    with pytest.raises(ValueError, match="remove_weight_norm: weight_norm of 'weight' not found"):
        remove_weight_norm(only_bias)
    assert "bias_g" in dict(only_bias.named_parameters())
    both = weight_norm(weight_norm(nn.Linear(2, 3)), name="bias")
    remove_weight_norm(both, "bias")
    assert [name for name, _ in both.named_parameters()] == ["weight_g", "weight_v", "bias"]
    assert len(both._forward_pre_hooks) == 1


def test_remove_weight_norm_gives_back_a_trainable_weight_of_g_v_over_its_norm():
    """PyTorch's remove: `weight = fn.compute_weight(module)`, then `setattr(module, name, Parameter(weight.data))`:
    a Parameter that requires grad, holding g v / ||v|| (here g = 10 and v = [[3, 4]], so [[6, 8]])."""
    layer = weight_norm(set_weight(nn.Linear(2, 1, dtype=mg.float64), [[3.0, 4.0]]))
    set_weight(layer, [[10.0]], name="weight_g")
    remove_weight_norm(layer)
    assert isinstance(layer.weight, nn.Parameter) and layer.weight.requires_grad
    np.testing.assert_allclose(layer.weight.numpy(), [[6.0, 8.0]], rtol=1e-15)


# ---- nn.Parameter ---------------------------------------------------------------------------------------

def test_parameter_takes_its_dtype_argument():
    """Parameter(data, requires_grad=True, dtype=None) (docs/api.md): dtype converts the data, float64
    numbers into float32 and float32 ones into float64."""
    assert nn.Parameter(np.array([1.0, 2.0]), dtype=mg.float32).dtype == np.float32
    p = nn.Parameter(np.array([0.5], dtype=np.float32), dtype=mg.float64)
    assert p.dtype == np.float64 and p.tolist() == [0.5] and p.requires_grad


def test_parameter_of_integers_must_not_require_grad_and_copies_stay_parameters():
    """PyTorch: nn.Parameter(int tensor) fails ("Only Tensors of floating point and complex dtype can require
    gradients"; TypeError here) unless requires_grad=False; copy.deepcopy and pickling give a Parameter with
    the same requires_grad (Parameter.__deepcopy__, __reduce_ex__)."""
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        nn.Parameter(np.array([1, 2]))
    frozen = nn.Parameter(np.array([1, 2]), requires_grad=False)
    assert frozen.dtype == np.int64 and not frozen.requires_grad
    p = nn.Parameter(np.array([1.0, 2.0]), requires_grad=False)
    for twin in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(twin) is nn.Parameter and twin is not p and twin.requires_grad is False
        assert twin.tolist() == [1.0, 2.0]


def test_parameter_repr_names_parameter_and_prints_the_values_once():
    """The repr names Parameter and shows the tensor's values and requires_grad=True, its brackets
    balanced (PyTorch prints "Parameter containing:\\ntensor([1., 2.], requires_grad=True)")."""
    text = repr(nn.Parameter(np.array([1.0, 2.0], dtype=np.float32)))
    assert text.startswith("Parameter") and "[1., 2.], requires_grad=True)" in text
    assert text.count("(") == text.count(")") and "((" not in text


# ---- the function forms: mg.xxx(x, ...) is x.xxx(...) ------------------------------------------------------

def test_a_python_number_first_in_the_function_forms_is_not_rounded_to_the_default_dtype():
    """torch.sub(0.1, t) with a float64 t is 0.1 - t in float64: the number is a wrapped scalar of double
    precision, not a tensor of the default dtype (float32 here, which would round 0.1 first). Likewise
    pow, remainder and floor_divide with the number first. Expected: numpy in float64 (PyTorch's
    remainder takes the divisor's sign, as numpy's and Python's %)."""
    x = np.array([1.0, 3.0, -4.0])
    t = mg.tensor(x)
    np.testing.assert_array_equal(mg.sub(0.1, t).numpy(), 0.1 - x)
    np.testing.assert_array_equal(mg.pow(1.1, t).numpy(), 1.1 ** x)
    np.testing.assert_array_equal(mg.remainder(7.3, t).numpy(), np.remainder(7.3, x))
    np.testing.assert_array_equal(mg.floor_divide(7.3, t).numpy(), np.floor_divide(7.3, x))
    assert mg.sub(0.1, t).dtype == np.float64


def test_max_and_min_of_two_tensors_are_elementwise_with_pytorchs_gradient():
    """torch.maximum / torch.minimum (torch.max(a, b)): the larger (smaller) entry, the gradient to it, split
    half and half at a tie (PyTorch's derivatives.yaml: grad / 2 where self == other)."""
    a = mg.tensor(np.array([1.0, 2.0, 4.0]), requires_grad=True)
    b = mg.tensor(np.array([1.0, 3.0, -1.0]), requires_grad=True)
    hi = mg.max(a, b)
    assert hi.tolist() == [1.0, 3.0, 4.0]
    hi.sum().backward()
    assert a.grad.tolist() == [0.5, 0.0, 1.0] and b.grad.tolist() == [0.5, 1.0, 0.0]
    a.grad = b.grad = None
    lo = mg.min(a, b)
    assert lo.tolist() == [1.0, 2.0, -1.0]
    lo.sum().backward()
    assert a.grad.tolist() == [0.5, 1.0, 0.0] and b.grad.tolist() == [0.5, 0.0, 1.0]


def test_max_and_min_of_two_tensors_are_nan_where_either_is():
    """torch.maximum and torch.minimum propagate NaN from either side (PyTorch's docs: "If one of the
    elements being compared is a NaN, then that element is returned")."""
    nan = float("nan")
    a, b = mg.tensor([1.0, nan, 2.0]), mg.tensor([nan, 2.0, 1.0])
    for fn in (mg.max, mg.min):
        out = fn(a, b).numpy()
        assert np.isnan(out[:2]).all() and not np.isnan(out[2])


def test_max_of_two_tensors_sends_the_whole_gradient_to_both_sides_at_a_nan():
    """PyTorch's derivatives.yaml for maximum: self gets where(self == other, grad / 2, grad) zeroed where
    self < other, other likewise where self > other. At a NaN every comparison is False: both get the
    full gradient, 1 each (not the half a tie gets)."""
    nan = float("nan")
    a = mg.tensor(np.array([nan, 1.0]), requires_grad=True)
    b = mg.tensor(np.array([2.0, nan]), requires_grad=True)
    mg.max(a, b).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0] and b.grad.tolist() == [1.0, 1.0]


def test_max_of_two_integer_tensors_keeps_the_integer_dtype():
    """torch.maximum of two int64 tensors is int64 (no float midpoint)."""
    out = mg.max(mg.tensor([1, 5, 2]), mg.tensor([3, 2, 2]))
    assert out.dtype == np.int64 and out.tolist() == [3, 5, 2]
    out = mg.min(mg.tensor([1, 5, 2]), mg.tensor([3, 2, 2]))
    assert out.dtype == np.int64 and out.tolist() == [1, 2, 2]


def test_max_with_a_dim_passes_keepdim():
    """torch.max(x, 1, keepdim=True) keeps the reduced axis: values and indices of shape (2, 1)."""
    values, indices = mg.max(mg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]), 1, keepdim=True)
    assert values.shape == (2, 1) and values.tolist() == [[5.0], [7.0]] and indices.tolist() == [[1], [0]]
    values, indices = mg.min(mg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]), 1, keepdim=True)
    assert values.tolist() == [[1.0], [0.0]] and indices.tolist() == [[0], [1]]


def test_is_tensor_is_false_for_a_numpy_array_and_from_numpy_keeps_the_dtype():
    """torch.is_tensor(np.zeros(2)) is False; torch.from_numpy keeps the array's dtype (int32 stays
    int32, float32 stays float32)."""
    assert mg.is_tensor(np.zeros(2)) is False and mg.is_tensor(mg.zeros(2)) is True
    assert mg.from_numpy(np.array([1, 2], dtype=np.int32)).dtype == np.int32
    assert mg.from_numpy(np.array([1.5], dtype=np.float32)).dtype == np.float32


def test_allclose_uses_rtol_of_other_and_its_documented_defaults():
    """torch.allclose: |input - other| <= atol + rtol |other|, rtol=1e-05, atol=1e-08, equal_nan=False.
    100 vs 100.0005 is within rtol 1e-5 (1e-3); 1e-6 vs 0 is not within atol 1e-8; with rtol 0.6, 2
    vs 1 is not close (0.6 |1| < 1) but 1 vs 2 is (0.6 |2| >= 1); NaN is not close to NaN by default."""
    assert mg.allclose(100.0, 100.0005) is True
    assert mg.allclose(1e-6, 0.0) is False
    assert mg.allclose(2.0, 1.0, rtol=0.6) is False and mg.allclose(1.0, 2.0, rtol=0.6) is True
    assert mg.allclose(float("nan"), float("nan")) is False
    assert mg.allclose(float("nan"), float("nan"), equal_nan=True) is True
    with pytest.raises(ValueError, match="allclose: shapes"):
        mg.allclose(mg.zeros(2), mg.zeros(3))


X = np.array([[0.5, -1.5, 2.0], [3.0, 0.0, -0.25]])
Y = np.array([[1.0, -1.5, 0.0], [2.0, 0.0, 4.0]])
FUNCTION_FORMS = [        # (name, arguments after x, numpy reference of x): the forms bound to their own methods
    ("abs", (), np.abs), ("exp", (), np.exp), ("sin", (), np.sin), ("cos", (), np.cos),
    ("tanh", (), np.tanh), ("cosh", (), np.cosh), ("sinh", (), np.sinh), ("sign", (), np.sign),
    ("square", (), np.square), ("clamp_min", (0.0,), lambda a: np.maximum(a, 0.0)),
    ("clamp_max", (0.0,), lambda a: np.minimum(a, 0.0)), ("amax", (1,), lambda a: a.max(axis=1)),
    ("amin", (1,), lambda a: a.min(axis=1)), ("argmax", (1,), lambda a: a.argmax(axis=1)),
    ("argmin", (1,), lambda a: a.argmin(axis=1)), ("sum", (), np.sum), ("mean", (), np.mean),
    ("var", (), lambda a: a.var(ddof=1)), ("std", (), lambda a: a.std(ddof=1)),
    ("cumsum", (1,), lambda a: np.cumsum(a, axis=1)), ("tril", (), np.tril), ("triu", (), np.triu),
    ("floor_divide", (0.75,), lambda a: np.floor_divide(a, 0.75)),
    ("remainder", (0.75,), lambda a: np.remainder(a, 0.75)),
    ("sort", (1,), lambda a: np.sort(a, axis=1)), ("argsort", (1,), lambda a: np.argsort(a, axis=1, kind="stable")),
    ("swapaxes", (0, 1), lambda a: a.T), ("swapdims", (0, 1), lambda a: a.T), ("t", (), lambda a: a.T),
    ("flip", (1,), lambda a: a[:, ::-1]), ("roll", (1, 1), lambda a: np.roll(a, 1, axis=1)),
    ("logsumexp", (1,), lambda a: np.log(np.exp(a).sum(axis=1))),
    ("eq", (0.0,), lambda a: a == 0), ("ne", (0.0,), lambda a: a != 0), ("lt", (0.0,), lambda a: a < 0),
    ("le", (0.0,), lambda a: a <= 0), ("gt", (0.0,), lambda a: a > 0), ("ge", (0.0,), lambda a: a >= 0),
    ("add", (mg.tensor(Y),), lambda a: a + Y), ("sub", (mg.tensor(Y),), lambda a: a - Y),
    ("mul", (mg.tensor(Y),), lambda a: a * Y),
]


@pytest.mark.parametrize("name, args, reference", FUNCTION_FORMS,
                         ids=[f[0] for f in FUNCTION_FORMS])
def test_each_function_form_computes_its_own_methods_function(name, args, reference):
    """mg.<name>(x, ...) is x.<name>(...) (PyTorch's torch.<name>): values against numpy in float64 (torch.var
    and torch.std unbiased by default, torch.sort's values, torch.argsort of distinct entries)."""
    out = getattr(mg, name)(mg.tensor(X), *args)
    if name == "sort":
        out = out[0]
    np.testing.assert_allclose(np.asarray(out.numpy(), dtype=np.float64),
                               np.asarray(reference(X), dtype=np.float64), rtol=1e-14, atol=1e-15)


def test_swapaxes_takes_numpys_axis_keywords_and_swapdims_pytorchs_dim_keywords():
    """torch.swapaxes(input, axis0, axis1) and torch.swapdims(input, dim0, dim1), both aliases of transpose."""
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(mg.swapaxes(mg.tensor(x), axis0=0, axis1=1).numpy(), x.T)
    np.testing.assert_array_equal(mg.swapdims(mg.tensor(x), dim0=0, dim1=1).numpy(), x.T)


def test_max_and_min_without_dim_reduce_over_every_entry():
    """torch.max(input) and torch.min(input): the largest / smallest entry of all, 0-d."""
    out = mg.max(mg.tensor(X))
    assert out.shape == () and out.item() == 3.0
    out = mg.min(mg.tensor(X))
    assert out.shape == () and out.item() == -1.5


def test_dot_refuses_2d_tensors():
    """torch.dot takes two 1-d tensors ("1D tensors expected, but got 2D and 2D tensors"): no matrix product."""
    with pytest.raises(ValueError, match="dot: expected two 1-d tensors"):
        mg.dot(mg.ones((2, 2)), mg.ones((2, 2)))


def test_function_forms_carry_their_names():
    """torch.tanh.__name__ is "tanh": the forms are named after their methods (tracebacks and docs say so)."""
    for name in ("tanh", "sub", "reshape", "amax", "logical_and", "clamp_min", "scatter"):
        assert getattr(mg, name).__name__ == name
    assert mg.max.__name__ == "max" and mg.min.__name__ == "min"


def test_the_function_forms_of_the_boolean_and_float_checks():
    """torch.isinf / isnan / isfinite, torch.all / torch.any (mg.all / mg.any), torch.logical_and / or /
    xor / not, by numpy."""
    v = np.array([1.0, np.inf, np.nan, -np.inf])
    np.testing.assert_array_equal(mg.isinf(mg.tensor(v)).numpy(), np.isinf(v))
    np.testing.assert_array_equal(mg.isnan(mg.tensor(v)).numpy(), np.isnan(v))
    np.testing.assert_array_equal(mg.isfinite(mg.tensor(v)).numpy(), np.isfinite(v))
    p, q = np.array([True, True, False, False]), np.array([True, False, True, False])
    assert mg.all(mg.tensor(p)).item() is False and mg.any(mg.tensor(p)).item() is True
    assert mg.all(mg.tensor(p[:2])).item() is True and mg.any(mg.tensor(p[2:])).item() is False
    for name, fn in (("logical_and", np.logical_and), ("logical_or", np.logical_or), ("logical_xor", np.logical_xor)):
        np.testing.assert_array_equal(getattr(mg, name)(mg.tensor(p), mg.tensor(q)).numpy(), fn(p, q), err_msg=name)
    np.testing.assert_array_equal(mg.logical_not(mg.tensor(p)).numpy(), ~p)


def test_the_function_forms_of_scatter_index_fill_and_dot():
    """torch.scatter(x, dim, index, value=v) writes v at x[index[i]], and with a src tensor out[i][index[i][j]]
    = src[i][j] for dim 1 (a 2-d index, which index_fill refuses); torch.index_fill(x, 0, index, v) fills
    the positions along dim 0 that index names; torch.dot is sum(a * b)."""
    out = mg.scatter(mg.zeros(4), 0, mg.tensor([2, 0]), value=5.0)
    assert out.tolist() == [5.0, 0.0, 5.0, 0.0]
    out = mg.scatter(mg.zeros((2, 3)), 1, mg.tensor([[2], [0]]), mg.tensor([[1.0], [2.0]]))
    assert out.tolist() == [[0.0, 0.0, 1.0], [2.0, 0.0, 0.0]]           # out[i][index[i][j]] = src[i][j]
    out = mg.index_fill(mg.zeros(4), 0, mg.tensor([3]), 7.0)
    assert out.tolist() == [0.0, 0.0, 0.0, 7.0]
    assert mg.dot(mg.tensor([1.0, 2.0, 3.0]), mg.tensor([4.0, -5.0, 6.0])).item() == 12.0


A = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
B = np.array([[1.0, 1.0, 2.0], [2.0, 3.0, 4.0]])
PYTORCH_KEYWORDS = [      # PyTorch's documented signatures: torch.pow(input, exponent), torch.mul(input, other), ...
    ("pow", {"exponent": 2}, lambda: A ** 2),
    ("mul", {"other": mg.tensor(B)}, lambda: A * B),
    ("matmul", {"other": mg.tensor(B.T)}, lambda: A @ B.T),
    ("floor_divide", {"other": mg.tensor(B)}, lambda: np.floor_divide(A, B)),
    ("remainder", {"other": mg.tensor(B)}, lambda: np.remainder(A, B)),
    ("reshape", {"shape": (3, 2)}, lambda: A.reshape(3, 2)),
    ("permute", {"dims": (1, 0)}, lambda: A.T),
    ("max", {"other": mg.tensor(B)}, lambda: np.maximum(A, B)),
    ("min", {"other": mg.tensor(B)}, lambda: np.minimum(A, B)),
]


@pytest.mark.parametrize("name, keywords, expected", PYTORCH_KEYWORDS, ids=[k[0] for k in PYTORCH_KEYWORDS])
def test_function_forms_take_pytorchs_keyword_names(name, keywords, expected):
    """torch.pow(input, exponent=2), torch.mul(input, other=u), torch.matmul(input, other=u),
    torch.floor_divide / remainder(input, other=u), torch.reshape(input, shape=...), torch.permute(input,
    dims=...), torch.max / torch.min(input, other=u) (PyTorch's docs name these arguments so, and ported
    code passes them by keyword). Values by numpy."""
    out = getattr(mg, name)(mg.tensor(A), **keywords)
    np.testing.assert_array_equal(out.numpy(), expected())


# ---- trees: fold over nested tuples, lists and dicts ----------------------------------------------------------

Point = collections.namedtuple("Point", "x y")


def test_fold_rebuilds_each_container_of_its_own_type_with_its_keys_in_order():
    """fold(tree, leaf, same_kind) maps the leaves and rebuilds every container as it was: a dict's values
    (not its keys) are the items, an OrderedDict stays one with its key order (b before a, not sorted), a
    namedtuple stays that namedtuple, lists and tuples keep their order; leaf sees the leaves depth first,
    left to right (PyTorch's pytree flattening order)."""
    from microgradseq.trees import fold, same_kind
    tree = collections.OrderedDict([("b", [1, (2, 3)]), ("a", Point(4, 5)), ("c", {"z": 6})])
    seen = []
    out = fold(tree, lambda x: seen.append(x) or 10 * x, same_kind)
    assert seen == [1, 2, 3, 4, 5, 6]
    assert type(out) is collections.OrderedDict and list(out) == ["b", "a", "c"]
    assert out["b"] == [10, (20, 30)] and type(out["b"][1]) is tuple
    assert type(out["a"]) is Point and out["a"] == Point(40, 50)
    assert out["c"] == {"z": 60}


def test_fold_leaves_other_kinds_to_leaf_when_kinds_is_narrowed():
    """With kinds=(list,) a tuple and a dict are leaves: leaf gets them whole."""
    from microgradseq.trees import fold, same_kind
    out = fold([(1, 2), {"k": 3}, [4]], lambda x: ("leaf", x), same_kind, kinds=(list,))
    assert out == [("leaf", (1, 2)), ("leaf", {"k": 3}), [("leaf", 4)]]


# ---- filling: the in-place forms, 0-d tensors, index checks, random fills ------------------------------------

def test_masked_fill_index_fill_and_scatter_in_place_change_the_tensor_and_return_it():
    """PyTorch's trailing-underscore methods write into the tensor and return it (`t.masked_fill_(m, v) is t`)."""
    t = mg.zeros(3)
    assert t.masked_fill_(mg.tensor([True, False, True]), 1.0) is t and t.tolist() == [1.0, 0.0, 1.0]
    t = mg.zeros(3)
    assert t.index_fill_(0, mg.tensor([1]), 2.0) is t and t.tolist() == [0.0, 2.0, 0.0]
    t = mg.zeros(3)
    assert t.scatter_(0, mg.tensor([2]), mg.tensor([3.0])) is t and t.tolist() == [0.0, 0.0, 3.0]
    t = mg.ones(2)
    assert t.zero_() is t and t.tolist() == [0.0, 0.0]


def test_masked_fill_refuses_a_value_tensor_with_dimensions():
    """PyTorch: "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 dimension(s)"
    (docs/api.md: masked_fill as PyTorch). A 0-d tensor value is fine."""
    assert mg.zeros(3).masked_fill(mg.tensor([True, False, True]), mg.tensor(2.0)).tolist() == [2.0, 0.0, 2.0]
    with pytest.raises(ValueError, match="^masked_fill: value must be a number or a 0-d tensor"):
        mg.zeros(3).masked_fill(mg.tensor([True, False, True]), mg.tensor([1.0, 2.0, 3.0]))


def test_masked_fill_errors_name_masked_fill():
    """PyTorch: "masked_fill_ only supports boolean masks, but got mask with dtype long", and a mask that does
    not broadcast names masked_fill too (both errors came from `where` and named it)."""
    with pytest.raises(TypeError, match="^masked_fill: expected a bool mask"):
        mg.zeros(3).masked_fill(mg.tensor([1, 0, 1]), 1.0)
    with pytest.raises(ValueError, match="^masked_fill: a mask of shape"):
        mg.zeros(2).masked_fill(mg.tensor([True, False, True]), 1.0)


def test_index_fill_of_a_0d_tensor_fills_its_one_entry_and_stays_0d():
    """PyTorch's index_fill_ treats a 0-d self as one axis of one entry (self.unsqueeze(-1) inside):
    tensor(5.).index_fill(0, tensor(0), 1.) is tensor(1.), of shape ()."""
    out = mg.tensor(5.0).index_fill(0, mg.tensor(0), 1.0)
    assert out.shape == () and out.item() == 1.0
    out = mg.tensor(5.0).index_fill(-1, mg.tensor([0]), 2.0)
    assert out.shape == () and out.item() == 2.0


def test_index_fill_refuses_a_2d_index_and_a_float_index():
    """PyTorch: IndexError "index_fill_(): Expected dim(index) <= 1." and "Expected dtype int64 for index"."""
    x = mg.zeros((2, 3))
    with pytest.raises(IndexError, match="index_fill"):
        x.index_fill(1, mg.tensor([[0], [1]]), 1.0)
    with pytest.raises(IndexError, match="index_fill"):
        x.index_fill(1, mg.tensor([0.0, 1.0]), 1.0)


def test_index_fill_with_a_0d_tensor_value_sends_it_the_gradient_of_the_filled_entries():
    """PyTorch's derivatives.yaml (index_fill.int_Tensor): self gets grad.index_fill(dim, index, 0), value
    gets grad.index_select(dim, unique(index)).sum(). Here with index [2, 0, 2] along dim 1 of a (2, 3)."""
    w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    x = mg.tensor(np.zeros((2, 3)), requires_grad=True)
    value = mg.tensor(np.float64(0.5), requires_grad=True)
    out = x.index_fill(1, mg.tensor([2, 0, 2]), value)
    np.testing.assert_array_equal(out.numpy(), [[0.5, 0.0, 0.5], [0.5, 0.0, 0.5]])
    (out * mg.tensor(w)).sum().backward()
    assert value.grad.item() == 1.0 + 3.0 + 4.0 + 6.0
    np.testing.assert_array_equal(x.grad, [[0.0, 2.0, 0.0], [0.0, 5.0, 0.0]])


def test_scatter_refuses_a_reduce_other_than_add_or_multiply_and_a_call_without_src_or_value():
    """reduce= is PyTorch's "add" or "multiply" (another is a ValueError, PyTorch's RuntimeError) rather than
    ignored; a call with neither src nor value is a TypeError, as PyTorch's (no overload matches)."""
    x = mg.zeros(3)
    with pytest.raises(ValueError, match="scatter: reduce must be 'add' or 'multiply'"):
        x.scatter(0, mg.tensor([1]), mg.tensor([5.0]), reduce="max")
    with pytest.raises(TypeError, match="scatter: pass the values"):
        x.scatter(0, mg.tensor([1]))


def test_scatter_of_a_0d_tensor_stays_0d_and_an_empty_index_writes_nothing():
    """PyTorch: tensor(1.).scatter(0, tensor(0), 5.) is tensor(5.) (shape ()); an empty index leaves self."""
    out = mg.tensor(1.0).scatter(0, mg.tensor(0), value=5.0)
    assert out.shape == () and out.item() == 5.0
    out = mg.tensor(1.0).scatter(0, mg.tensor(0), mg.tensor(7.0))            # a 0-d src too
    assert out.shape == () and out.item() == 7.0
    out = mg.tensor([1.0, 2.0]).scatter(0, mg.tensor(np.zeros(0, dtype=np.int64)), value=5.0)
    assert out.tolist() == [1.0, 2.0]


def test_scatter_refuses_src_of_another_number_of_axes_than_index():
    """PyTorch: "Index tensor must have the same number of dimensions as src tensor" (ValueError here)."""
    with pytest.raises(ValueError, match="scatter: src of shape"):
        mg.zeros((2, 3)).scatter(1, mg.tensor([[0], [1]]), mg.tensor([1.0, 2.0, 3.0]))


def test_uniform_takes_a_equal_to_b_and_refuses_a_above_b():
    """PyTorch's uniform_ checks from <= to ("uniform_ expects to return a [from, to) range, but found
    from=2 > to=1"): a == b fills with a."""
    t = mg.zeros(4, dtype=mg.float64)
    t.uniform_(0.25, 0.25)
    assert t.tolist() == [0.25] * 4
    with pytest.raises(ValueError, match="uniform_: expected a <= b"):
        t.uniform_(2.0, 1.0)


def test_normal_takes_std_0_and_refuses_a_negative_std():
    """PyTorch: normal_ expects std >= 0.0: std 0 fills with the mean; std -1 is refused (naming normal_)."""
    t = mg.zeros(4, dtype=mg.float64)
    t.normal_(3.5, 0.0)
    assert t.tolist() == [3.5] * 4
    with pytest.raises(ValueError, match="normal_: std must be >= 0"):
        t.normal_(0.0, -1.0)


def test_random_fills_draw_from_their_arguments_and_defaults():
    """uniform_() is U(0, 1) and normal_() N(0, 1) by default (PyTorch's signatures); normal_(mean, std)
    takes the mean first: normal_(100, 0.001) lies within 100 +- 0.01. Sample checks on 4000 draws with a
    fixed seed (the bounds are many standard errors wide)."""
    mg.manual_seed(0)
    u = mg.zeros(4000, dtype=mg.float64).uniform_().numpy()
    assert u.min() >= 0.0 and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.03
    n = mg.zeros(4000, dtype=mg.float64).normal_().numpy()
    assert abs(n.mean()) < 0.1 and 0.9 < n.std() < 1.1
    m = mg.zeros(50, dtype=mg.float64).normal_(100.0, 0.001).numpy()
    assert np.abs(m - 100.0).max() < 0.01


def test_random_fills_refuse_integer_tensors_and_non_finite_bounds():
    """PyTorch's uniform_ and normal_ are for floating tensors ("not implemented for 'Long'"); the library
    refuses infinite or NaN bounds, naming the method."""
    with pytest.raises(TypeError, match="uniform_: expected a floating-point tensor"):
        mg.zeros(3, dtype=mg.int64).uniform_()
    with pytest.raises(TypeError, match="normal_: expected a floating-point tensor"):
        mg.zeros(3, dtype=mg.int64).normal_()
    with pytest.raises(ValueError, match="uniform_: b must be a finite number"):
        mg.zeros(3).uniform_(0.0, float("inf"))
    with pytest.raises(ValueError, match="normal_: mean must be a finite number"):
        mg.zeros(3).normal_(float("nan"), 1.0)


def test_uniform_keeps_a_float32_tensors_dtype():
    """A fill is in place: a float32 tensor stays float32."""
    t = mg.zeros(3, dtype=mg.float32)
    t.uniform_(-1.0, 1.0)
    assert t.dtype == np.float32


def test_nonzero_of_a_0d_tensor_as_pytorch_documents():
    """torch.nonzero docs: a 0-d input with a nonzero value is treated as a 1-d tensor of one element with
    as_tuple=True, giving (tensor([0]),); without as_tuple the result has shape (1, 0) (one match, no
    axes), (0, 0) for a zero."""
    (only,) = mg.tensor(5.0).nonzero(as_tuple=True)
    assert only.tolist() == [0] and only.dtype == np.int64
    (none,) = mg.tensor(0.0).nonzero(as_tuple=True)
    assert none.tolist() == []
    assert mg.tensor(5.0).nonzero().shape == (1, 0) and mg.tensor(0.0).nonzero().shape == (0, 0)


def test_scatter_with_an_empty_index_returns_a_new_tensor_not_self():
    """Tensor.scatter is the out-of-place version of scatter_ (PyTorch's docs): it returns a new tensor even
    when the index is empty, so writing into the result leaves the input alone, and the result of a leaf
    that requires grad is no leaf (it has a grad_fn) and can be changed in place."""
    x = mg.tensor([1.0, 2.0])
    out = x.scatter(0, mg.tensor(np.zeros(0, dtype=np.int64)), value=5.0)
    assert out is not x
    out.add_(1.0)
    assert x.tolist() == [1.0, 2.0] and out.tolist() == [2.0, 3.0]
    leaf = mg.tensor([1.0, 2.0], requires_grad=True)
    assert not leaf.scatter(0, mg.tensor(np.zeros(0, dtype=np.int64)), value=5.0).is_leaf


# ---- expanding: expand, repeat, meshgrid ----------------------------------------------------------------------

def test_expand_minus_1_keeps_the_size_of_the_axis_it_stands_for_after_new_leading_axes():
    """PyTorch: torch.ones(2, 1).expand(3, -1, 4) has shape (3, 2, 4): -1 keeps the size of the tensor's own
    axis at that place, counted from the right (2, not the 1 of axis 1)."""
    x = mg.tensor(np.array([[1.0], [2.0]]))
    out = x.expand(3, -1, 4)
    assert out.shape == (3, 2, 4)
    np.testing.assert_array_equal(out.numpy(), np.broadcast_to(np.array([[1.0], [2.0]]), (3, 2, 4)))


def test_expand_refuses_a_negative_size_other_than_minus_1_naming_expand():
    """PyTorch: "The expanded size of the tensor (-2) isn't allowed" (ValueError naming expand here)."""
    with pytest.raises(ValueError, match="expand: cannot expand shape"):
        mg.ones(1).expand(-2)


def test_expand_as_takes_the_whole_shape_of_the_other_tensor():
    """t.expand_as(u) is t.expand(u.size()): ones(3).expand_as(zeros(2, 3)) has shape (2, 3)."""
    out = mg.tensor([1.0, 2.0, 3.0]).expand_as(mg.zeros((2, 3)))
    assert out.shape == (2, 3) and out.tolist() == [[1.0, 2.0, 3.0]] * 2


def test_expand_and_repeat_keep_the_dtype():
    """expand and repeat change shapes, never dtypes: float32 stays float32, int64 stays int64."""
    assert mg.ones(1, dtype=mg.float32).expand(3).dtype == np.float32
    assert mg.tensor([1, 2]).expand(2, 2).dtype == np.int64
    assert mg.tensor([1, 2]).repeat(2).dtype == np.int64


def test_repeat_tiles_in_numpy_order_and_takes_more_counts_than_axes():
    """PyTorch's repeat is numpy's tile: [1, 2].repeat(2) is [1, 2, 1, 2] (not [1, 1, 2, 2]); more counts
    than axes add leading axes: [[1, 2]].repeat(2, 1, 2) has shape (2, 1, 4)."""
    assert mg.tensor([1.0, 2.0]).repeat(2).tolist() == [1.0, 2.0, 1.0, 2.0]
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(mg.tensor(x).repeat(2, 3).numpy(), np.tile(x, (2, 3)))
    out = mg.tensor([[1.0, 2.0]]).repeat(2, 1, 2)
    assert out.shape == (2, 1, 4)
    np.testing.assert_array_equal(out.numpy(), np.tile(np.array([[1.0, 2.0]]), (2, 1, 2)))


def test_meshgrid_without_indexing_warns_and_is_ij():
    """PyTorch: torch.meshgrid(x, y) warns (UserWarning, "it will be required to pass the indexing
    argument") and uses indexing="ij": shapes (len(x), len(y))."""
    x, y = mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0, 5.0])
    with pytest.warns(UserWarning, match="meshgrid: pass indexing"):
        gx, gy = mg.meshgrid(x, y)
    assert gx.shape == gy.shape == (2, 3)
    np.testing.assert_array_equal(gx.numpy(), [[1.0] * 3, [2.0] * 3])
    np.testing.assert_array_equal(gy.numpy(), [[3.0, 4.0, 5.0]] * 2)


def test_meshgrid_xy_swaps_the_first_two_axes_for_two_and_three_inputs():
    """indexing="xy" is numpy's meshgrid default: for 2 inputs of lengths 2 and 3 the grids are (3, 2); for 3
    inputs (3, 2, 4). Expected: np.meshgrid(..., indexing="xy")."""
    a, b, c = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0]), np.array([6.0, 7.0, 8.0, 9.0])
    for arrays in ((a, b), (a, b, c)):
        grids = mg.meshgrid(*[mg.tensor(v) for v in arrays], indexing="xy")
        for grid, expected in zip(grids, np.meshgrid(*arrays, indexing="xy")):
            np.testing.assert_array_equal(grid.numpy(), expected)


def test_meshgrid_takes_one_list_of_tensors():
    """torch.meshgrid([x, y], indexing="ij") (one list) is torch.meshgrid(x, y, indexing="ij")."""
    gx, gy = mg.meshgrid([mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0, 5.0])], indexing="ij")
    assert gx.shape == gy.shape == (2, 3)


def test_meshgrid_argument_checks():
    """PyTorch refuses an unknown indexing ("indexing must be one of "xy" or "ij""), no tensors ("expects a
    non-empty TensorList"), a 2-d tensor ("Expected 0D or 1D tensor") and mixed dtypes ("Expected all
    tensors in the input list to have the same dtype"); the library with ValueError / TypeError."""
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="meshgrid: indexing must be"):
        mg.meshgrid(x, x, indexing="ji")
    with pytest.raises(ValueError, match="meshgrid: expected at least one tensor"):
        mg.meshgrid(indexing="ij")
    with pytest.raises(ValueError, match="meshgrid: expected 0-d or 1-d"):
        mg.meshgrid(x, mg.ones(2, 2), indexing="ij")
    with pytest.raises(TypeError, match="meshgrid: expected tensors of one dtype"):
        mg.meshgrid(x, mg.tensor([1, 2]), indexing="ij")


# ---- attributes: type, int, bool, device, is_leaf, retain_grad --------------------------------------------------

def test_type_without_a_dtype_names_the_dtype_as_a_str():
    """docs/api.md: `t.type()` names the dtype, "float32" (a str, as PyTorch's t.type() is one)."""
    name = mg.tensor(np.array([1.0], dtype=np.float32)).type()
    assert isinstance(name, str) and name == "float32"
    assert mg.tensor([1.0]).type(mg.float64).dtype == np.float64


def test_int_is_int32_and_bool_is_bool():
    """PyTorch: t.int() is t.to(torch.int32), t.bool() is t.to(torch.bool) (non-zero is True)."""
    out = mg.tensor([1.7, -2.7]).int()
    assert out.dtype == np.int32 and out.tolist() == [1, -2]
    out = mg.tensor([0.0, 2.0]).bool()
    assert out.dtype == np.bool_ and out.tolist() == [False, True]


def test_type_as_takes_the_other_dtype_even_when_it_is_narrower():
    """t.type_as(u) is t.to(u.dtype), not a promotion of the two: float64 [1.7, -2.7] as int64 is [1, -2]
    (cast toward zero), int64 as float32 is float32."""
    out = mg.tensor(np.array([1.7, -2.7])).type_as(mg.tensor([1]))
    assert out.dtype == np.int64 and out.tolist() == [1, -2]
    assert mg.tensor([1, 2]).type_as(mg.tensor(np.array([0.5], dtype=np.float32))).dtype == np.float32


def test_is_cuda_is_false_and_device_is_a_cpu_device():
    """No GPU here: t.is_cuda is False and t.device is a device whose .type is "cpu" (PyTorch's
    torch.device('cpu'))."""
    t = mg.tensor([1.0])
    assert t.is_cuda is False
    assert t.device.type == "cpu" and t.device == "cpu"


def test_cuda_with_a_device_index_is_a_runtime_error_naming_cuda():
    """No GPU: t.cuda(0) fails as t.cuda() does, with a RuntimeError naming cuda (PyTorch without CUDA:
    "Torch not compiled with CUDA enabled", a RuntimeError-like AssertionError)."""
    with pytest.raises(RuntimeError, match="cuda"):
        mg.tensor([1.0]).cuda(0)


def test_is_floating_point_is_false_for_a_complex_tensor():
    """PyTorch: torch.is_floating_point is False for complex dtypes (is_complex is the check for those)."""
    assert mg.tensor(np.array([1.0 + 1.0j])).is_floating_point() is False


def test_retain_grad_refuses_a_tensor_without_requires_grad():
    """PyTorch: RuntimeError "can't retain_grad on Tensor that has requires_grad=False"."""
    with pytest.raises(RuntimeError, match="retain_grad"):
        mg.tensor([1.0]).retain_grad()
    mg.tensor([1.0], requires_grad=True).retain_grad()          # accepted on a leaf that requires grad


def test_retains_grad_is_false_for_a_leaf_and_true_for_a_non_leaf():
    """PyTorch: a leaf's retains_grad is False (its .grad is kept anyway); docs/api.md: retains_grad is True
    for every non-leaf here (non-leaf gradients are always kept)."""
    leaf = mg.tensor([1.0, 2.0], requires_grad=True)
    assert leaf.retains_grad is False and mg.tensor([1.0]).retains_grad is False
    assert (leaf * 2).retains_grad is True


# ---- backends and cuda ------------------------------------------------------------------------------------------

@pytest.fixture
def deterministic_setting_restored():
    before = (mg.are_deterministic_algorithms_enabled(), mg.is_deterministic_algorithms_warn_only_enabled())
    yield
    mg.use_deterministic_algorithms(before[0], warn_only=before[1])


def test_use_deterministic_algorithms_keeps_mode_and_warn_only_apart(deterministic_setting_restored):
    """torch.use_deterministic_algorithms(mode, *, warn_only=False): each setting read back by its own
    getter; warn_only defaults to False (PyTorch's signature)."""
    mg.use_deterministic_algorithms(True)
    assert mg.are_deterministic_algorithms_enabled() is True
    assert mg.is_deterministic_algorithms_warn_only_enabled() is False
    mg.use_deterministic_algorithms(False, warn_only=True)
    assert mg.are_deterministic_algorithms_enabled() is False
    assert mg.is_deterministic_algorithms_warn_only_enabled() is True


def test_use_deterministic_algorithms_refuses_a_mode_or_warn_only_that_is_not_a_bool(deterministic_setting_restored):
    """docs/api.md: ValueError for a mode that is not a bool; warn_only likewise (PyTorch's binding takes
    bools only)."""
    with pytest.raises(ValueError, match="use_deterministic_algorithms: mode must be True or False"):
        mg.use_deterministic_algorithms(1)
    with pytest.raises(ValueError, match="use_deterministic_algorithms: warn_only must be True or False"):
        mg.use_deterministic_algorithms(True, warn_only="yes")


def test_cudnn_and_mps_report_pytorchs_defaults_and_no_gpu():
    """torch.backends.cudnn's defaults: deterministic False, benchmark False, enabled True, allow_tf32 True;
    without cuDNN is_available() is False and version() None; mps.is_available() and is_built() False."""
    cudnn, mps = mg.backends.cudnn, mg.backends.mps
    assert (cudnn.deterministic, cudnn.benchmark, cudnn.enabled, cudnn.allow_tf32) == (False, False, True, True)
    assert cudnn.is_available() is False and cudnn.version() is None
    assert mps.is_available() is False and mps.is_built() is False


def test_cuda_reports_no_gpu_and_its_seeding_does_nothing():
    """torch.cuda on a machine without CUDA: is_available() False, device_count() 0, manual_seed(s) and
    manual_seed_all(s) return None and leave the CPU generator alone (the next draw is the one that
    mg.manual_seed(0) alone gives), empty_cache() does nothing."""
    assert mg.cuda.is_available() is False and mg.cuda.device_count() == 0
    mg.manual_seed(0)
    expected = mg.rand(3).tolist()
    mg.manual_seed(0)
    assert mg.cuda.manual_seed(123) is None and mg.cuda.manual_seed_all(123) is None
    assert mg.rand(3).tolist() == expected
    assert mg.cuda.empty_cache() is None
