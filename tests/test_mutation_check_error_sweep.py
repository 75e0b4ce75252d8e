"""Tests written from a mutation check of the error sweep (session 28): `checks.public_name` (the name an
error deep in the library gives: a module's class, `Class.method`, a function), `as_tensor(..., where)` and
the names the shared helpers pass, `spellings.sizes_of`, creation.py's `*_like` check and `linspace`,
`fill_`/`new_full`, `maximum`/`minimum`, and the module fixes. Each test pins a behaviour that a hand-made
wrong implementation changed without any other test noticing: wrong names in messages, checks too lenient
or too strict (valid input refused). Expected values come from PyTorch's documented behaviour
(torch.zeros_like & co. keep any dtype, bool and complex too; torch.linspace takes 0-d tensors as start
and end; Tensor.new_full takes any Python/numpy scalar) or are written by hand, never from the library's
own output."""

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import nn


def x23():
    return mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]])


# ---- checks.public_name: what the error names ---------------------------------------------------------

def test_a_module_made_with_a_weight_that_is_not_numbers_names_the_module():
    """An __init__ is named by its class (as a forward is), not `tensor`."""
    with pytest.raises(TypeError, match=r"^EmbeddingBag: expected a tensor.*got str 'abc'"):
        nn.EmbeddingBag(3, 2, _weight="abc")


def test_a_module_method_that_is_not_forward_is_named_class_dot_method():
    model = nn.AdaptiveLogSoftmaxWithLoss(8, 5, [2])
    with pytest.raises(TypeError, match=r"^AdaptiveLogSoftmaxWithLoss\.log_prob: expected a tensor"):
        model.log_prob("abc")
    with pytest.raises(TypeError, match=r"^AdaptiveLogSoftmaxWithLoss\.predict: expected a tensor"):
        model.predict("abc")


def test_a_tensor_method_reaching_tensor_unnamed_is_named_tensor_dot_method():
    with pytest.raises(TypeError, match=r"^Tensor\.lerp_: expected a tensor.*got str"):
        x23().lerp_("abc", 0.5)


# ---- the names the helpers pass --------------------------------------------------------------------------

@pytest.mark.parametrize("name, call", [
    ("maximum", lambda v: mg.maximum(x23(), v)), ("maximum", lambda v: mg.maximum(v, x23())),
    ("minimum", lambda v: mg.minimum(x23(), v)), ("minimum", lambda v: mg.minimum(v, x23())),
])
def test_maximum_and_minimum_name_themselves_for_either_argument(name, call):
    with pytest.raises(TypeError, match=rf"^{name}: expected a tensor.*got str 'abc'"):
        call("abc")


@pytest.mark.parametrize("name, call", [
    ("bmm", lambda: x23().reshape(1, 2, 3).bmm("abc")), ("mm", lambda: x23().mm("abc")),
    ("outer", lambda: mg.ones(3).outer("abc")), ("dot", lambda: mg.ones(3).dot("abc")),
])
def test_the_matrix_products_called_as_methods_name_themselves(name, call):
    with pytest.raises(TypeError, match=rf"^{name}: expected a tensor.*got str 'abc'"):
        call()


@pytest.mark.parametrize("name, call", [
    ("cumprod", lambda v: mg.ops.cumprod(v, 0)), ("cumsum", lambda v: mg.ops.cumsum(v, 0)),
    ("std_mean", lambda v: mg.std_mean(v)), ("var_mean", lambda v: mg.var_mean(v)), ("std", lambda v: mg.std(v)),
    ("hstack", lambda v: mg.hstack([x23(), v])), ("vstack", lambda v: mg.vstack([x23(), v])),
    ("dstack", lambda v: mg.dstack([x23(), v])), ("column_stack", lambda v: mg.column_stack([x23(), v])),
])
def test_reductions_scans_and_joins_name_the_function_called(name, call):
    with pytest.raises(TypeError, match=rf"^{name}: expected a tensor.*got str 'abc'"):
        call("abc")


def test_special_logsumexp_names_logsumexp_not_log_softmax():
    with pytest.raises(TypeError, match=r"^logsumexp: expected a tensor.*got str 'abc'"):
        mg.special.logsumexp("abc", 0)


def test_a_ragged_list_names_the_function_once_not_tensor_inside_it():
    with pytest.raises(ValueError) as caught:
        x23() + [[1.0], [1.0, 2.0]]
    assert str(caught.value).startswith("add: expected a tensor") and "tensor:" not in str(caught.value)


def test_randint_like_names_itself_for_what_is_not_numbers():
    with pytest.raises(TypeError, match=r"^randint_like: expected a tensor.*got str"):
        mg.randint_like("abc", 5)


# ---- valid input still taken: the *_like functions keep bool and complex dtypes (as PyTorch's) ---------

@pytest.mark.parametrize("name, value", [("zeros_like", False), ("ones_like", True), ("empty_like", False)])
def test_the_like_functions_take_a_bool_tensor_and_keep_its_dtype(name, value):
    out = getattr(mg, name)(mg.tensor([True, False, True]))
    assert out.dtype == np.bool_ and out.tolist() == [value] * 3
    assert mg.full_like(mg.tensor([[True, False]]), True).tolist() == [[True, True]]


def test_the_like_functions_take_a_complex_tensor_and_keep_its_dtype():
    # torch.ones_like keeps complex128; 1 + 0j everywhere
    out = mg.ones_like(np.array([1 + 2j, 3 - 1j]))
    assert out.dtype == np.complex128 and out.tolist() == [1 + 0j, 1 + 0j]
    assert mg.zeros_like(mg.tensor([1j], dtype=np.complex64)).dtype == np.complex64


# ---- linspace: numbers and 0-d tensors, not bools -------------------------------------------------------

def test_linspace_takes_0d_tensors_and_numpy_scalars_as_start_and_end():
    # torch.linspace(start: float | Tensor, end: float | Tensor, steps): 0, 0.5, 1
    assert mg.linspace(mg.tensor(0.0), mg.tensor(1.0), 3).tolist() == [0.0, 0.5, 1.0]
    assert mg.linspace(np.float32(0.0), np.int64(2), 3).tolist() == [0.0, 1.0, 2.0]


def test_linspace_refuses_a_bool_start_or_end():
    with pytest.raises(TypeError, match=r"^linspace: start and end must be numbers, got start=True, end=1"):
        mg.linspace(True, 1, 3)
    with pytest.raises(TypeError, match=r"^linspace: start and end must be numbers, got start=0, end=False"):
        mg.linspace(0, False, 3)


# ---- fill values: numpy scalars are numbers ---------------------------------------------------------------

def test_fill_takes_numpy_scalars():
    assert mg.tensor([1.0, 2.0]).fill_(np.float32(2.5)).tolist() == [2.5, 2.5]
    assert mg.tensor([1, 2]).fill_(np.int64(7)).tolist() == [7, 7]


def test_new_full_and_fill_take_a_numpy_bool():
    # Tensor.new_full((2,), True) of a float tensor: 1.0, 1.0 (a bool is a number to PyTorch)
    assert x23().new_full((2,), np.bool_(True)).tolist() == [1.0, 1.0]
    assert mg.tensor([True, False]).new_full((2,), np.bool_(False)).tolist() == [False, False]
    assert mg.tensor([False, False]).fill_(np.bool_(True)).tolist() == [True, True]


# ---- bugs the check found, fixed with it ----------------------------------------------------------------

@pytest.mark.parametrize("call", [lambda: mg.tensor(None, dtype=np.float32),
                                  lambda: mg.tensor([1.0, None], dtype=np.float64),
                                  lambda: x23().new_tensor(None), lambda: x23().new_tensor([1.0, None])],
                         ids=["tensor", "tensor-list", "new_tensor", "new_tensor-list"])
def test_none_with_a_dtype_is_refused_not_made_nan(call):
    # torch.tensor(None, dtype=torch.float32) and t.new_tensor(None) raise; None is no number
    with pytest.raises(TypeError, match=r"expected (numbers|a tensor)"):
        call()


@pytest.mark.parametrize("name, call", [("addcmul", lambda t: t.addcmul("abc", t)),
                                        ("addcdiv", lambda t: t.addcdiv(t, None)),
                                        ("addcmul", lambda t: mg.addcmul(t, t, "abc")),
                                        ("addcmul", lambda t: t.addcmul(t, [[1.0], [1.0, 2.0]])),
                                        ("addcdiv", lambda t: t.addcdiv([[1.0], [1.0, 2.0]], t))],
                         ids=["addcmul-str", "addcdiv-None", "mg.addcmul-str", "addcmul-ragged", "addcdiv-ragged"])
def test_addcmul_and_addcdiv_name_themselves_for_what_is_not_numbers(name, call):
    # (a ragged list: the shape-error handler's own np.shape raised numpy's bare "setting an array element")
    with pytest.raises((TypeError, ValueError), match=rf"^{name}: expected a tensor"):
        call(x23())


@pytest.mark.parametrize("name, call", [("masked_fill", lambda t: t.masked_fill(t > 1, "abc")),
                                        ("index_fill", lambda t: t.index_fill(0, mg.tensor([0]), None))])
def test_masked_fill_and_index_fill_name_themselves_for_a_value_that_is_not_a_number(name, call):
    with pytest.raises(TypeError, match=rf"^{name}: "):
        call(x23())


@pytest.mark.parametrize("call, argument", [(lambda t: t.clamp(min="abc"), "min"),
                                            (lambda t: t.clip(max="abc"), "max"),
                                            (lambda t: mg.clamp(t, max=None, min="a"), "min")])
def test_clamp_of_a_bound_that_is_not_a_number_names_clamp_and_min_or_max(call, argument):
    with pytest.raises(TypeError, match=rf"^clamp: {argument} must be a number"):
        call(x23())


# ---- the module fixes: valid input still taken -----------------------------------------------------------

@pytest.mark.parametrize("norm, shape", [(nn.BatchNorm1d, (1, 3)), (nn.BatchNorm2d, (1, 3, 1, 1))])
def test_batchnorm_in_eval_takes_one_value_per_channel(norm, shape):
    # eval uses the running statistics (mean 0, var 1): y = (1 - 0) / sqrt(1 + 1e-5), as PyTorch's
    layer = norm(3, dtype=np.float64).eval()
    out = layer(mg.ones(*shape, dtype=np.float64))
    np.testing.assert_allclose(np.asarray(out), np.full(shape, 1 / np.sqrt(1 + 1e-5)), rtol=1e-12)
    assert int(layer.num_batches_tracked) == 0


def test_batchnorm_training_on_an_empty_batch_gives_an_empty_result():
    # no value per channel is not "one value per channel": PyTorch returns the empty batch as is
    layer = nn.BatchNorm1d(3)
    assert layer(mg.zeros(0, 3)).shape == (0, 3)


def test_transformer_takes_unbatched_2d_src_and_tgt():
    # PyTorch's nn.Transformer: src (S, E) and tgt (T, E) unbatched give (T, E)
    mg.manual_seed(0)
    model = nn.Transformer(8, 2, 1, 1, 16, 0.0)
    assert model(mg.zeros(5, 8), mg.zeros(4, 8)).shape == (4, 8)


@pytest.mark.parametrize("cls", [nn.UpsamplingNearest2d, nn.UpsamplingBilinear2d])
def test_the_upsampling_subclasses_name_themselves_for_a_bad_scale_factor(cls):
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: expected scale_factor"):
        cls(scale_factor="a")


def test_new_with_no_size_is_an_empty_vector():
    # PyTorch's t.new() is tensor([]), shape (0,), in t's dtype
    out = mg.ones(2, dtype=np.float64).new()
    assert out.shape == (0,) and out.dtype == np.float64


def test_adaptive_log_softmax_takes_cutoffs_as_any_sequence_such_as_a_range():
    # PyTorch: cutoffs is a Sequence[int]; range(2, 5, 2) is [2, 4]
    model = nn.AdaptiveLogSoftmaxWithLoss(16, 10, range(2, 5, 2))
    assert list(model.cutoffs) == [2, 4, 10]


def test_transformer_batch_first_names_the_batch_first_layout():
    model = nn.Transformer(8, 2, 1, 1, 16, 0.0, batch_first=True)
    with pytest.raises(RuntimeError, match=r"^Transformer: expected src and tgt of 3 axes \(N, S, E\) or 2"):
        model(mg.zeros(3), mg.zeros(2, 4, 8))


@pytest.mark.parametrize("args, name", [((0, 1), "embed_dim"), ((8, 0), "num_heads")])
def test_multihead_attention_sizes_of_0_are_refused_by_name(args, name):
    # PyTorch: "embed_dim and num_heads must be greater than 0"
    with pytest.raises(ValueError, match=rf"^MultiheadAttention: {name} must be an integer > 0, got 0"):
        nn.MultiheadAttention(*args)


def test_global_unstructured_takes_a_pruning_method_factory_that_is_not_a_class():
    # PyTorch calls pruning_method(**kwargs): any callable giving an unstructured method will do;
    # 0.5 of the 6 weights is 3, the 3 smallest |w| zeroed
    from microgradseq.nn.utils import prune
    mg.manual_seed(0)
    layer = nn.Linear(3, 2, dtype=np.float64)
    before = np.abs(np.asarray(layer.weight.detach())).ravel()
    prune.global_unstructured([(layer, "weight")], pruning_method=lambda amount: prune.L1Unstructured(amount),
                              amount=0.5)
    after = np.asarray(layer.weight.detach()).ravel()
    assert (after == 0).sum() == 3
    assert set(np.flatnonzero(after == 0)) == set(np.argsort(before)[:3])
