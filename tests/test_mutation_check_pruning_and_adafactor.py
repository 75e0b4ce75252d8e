"""Tests written from a mutation check of nn/utils/prune.py, optim/adafactor.py (and its option checks in
optim/options.py), nn/utils/fusion.py, nn/utils/init.py (skip_init), nn/utils/stateless.py and nn/lazy_conv.py:
each pins a behaviour that a hand-made wrong implementation changed without any other test noticing.
Expected values come from closed forms or numpy transcriptions of PyTorch's definitions (torch/nn/utils/prune.py,
torch/optim/_adafactor.py, torch/nn/utils/fusion.py, init.py, stateless.py, torch/nn/modules/lazy.py and conv.py)
and the library's documented behaviour (tie order, `mg.manual_seed` being `np.random.default_rng`), never from the
library's own output."""

import re

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import nn
from microgradseq.nn.utils import prune
from microgradseq.optim import Adafactor


def linear_with(weight, bias=None):
    """A float64 Linear holding the given weight (out, in) and bias (zeros by default)."""
    weight = np.asarray(weight, dtype=np.float64)
    layer = nn.Linear(weight.shape[1], weight.shape[0], dtype=np.float64)
    layer.load_state_dict({"weight": weight, "bias": np.zeros(weight.shape[0]) if bias is None else bias})
    return layer


def distinct_linear():
    """Weights 1..20 (in a shuffled order, signs mixed): no ties among |w|."""
    rng = np.random.default_rng(0)
    weight = rng.permutation(np.arange(1.0, 21.0)).reshape(4, 5) * rng.choice([-1.0, 1.0], (4, 5))
    return linear_with(weight)


def smallest_zeroed(values, count):
    mask = np.ones(values.size)
    mask[np.argsort(np.abs(values).reshape(-1), kind="stable")[:count]] = 0
    return mask.reshape(values.shape)


# ---- amounts: PyTorch's _validate_pruning_amount_init and _compute_nparams_toprune ----------------------

def test_a_fraction_is_rounded_not_truncated():
    layer = linear_with(np.arange(1.0, 5.0)[None, :])          # 4 entries, 0.4 * 4 = 1.6 -> round = 2
    prune.l1_unstructured(layer, "weight", amount=0.4)
    np.testing.assert_array_equal(layer.weight_mask.numpy(), [[0.0, 0.0, 1.0, 1.0]])


def test_a_numpy_integer_amount_is_a_count():
    layer = distinct_linear()                                   # numbers.Integral, as PyTorch checks it
    weight = layer.weight.numpy().copy()
    prune.l1_unstructured(layer, "weight", amount=np.int64(3))
    np.testing.assert_array_equal(layer.weight_mask.numpy(), smallest_zeroed(weight, 3))


def test_an_int_amount_of_zero_prunes_nothing():
    layer = prune.l1_unstructured(distinct_linear(), "weight", amount=0)   # an int >= 0 is valid
    np.testing.assert_array_equal(layer.weight_mask.numpy(), np.ones((4, 5)))


@pytest.mark.parametrize("amount", [None, [1], np.array([0.5])])
def test_an_amount_that_is_not_a_real_number_is_a_type_error(amount):
    with pytest.raises(TypeError, match="l1_unstructured: amount must be an int or a float"):
        prune.l1_unstructured(distinct_linear(), "weight", amount=amount)


# ---- ties: the library's documented stable order --------------------------------------------------

def test_l1_ties_prune_the_earlier_entries_first_among_many():
    values = np.tile([2.0, 1.0], 20)                           # 40 entries, 20 ties of |w| = 1 (numpy's default
    layer = linear_with(values.reshape(4, 10))                 # sort reorders such ties past 16 keys)
    prune.l1_unstructured(layer, "weight", amount=7)
    expected = np.ones(40)
    expected[1:15:2] = 0                                       # the first 7 ones, in row-major order
    np.testing.assert_array_equal(layer.weight_mask.numpy().reshape(-1), expected)


def test_ln_structured_ties_keep_the_earlier_channels():
    layer = linear_with(np.tile([2.0, 1.0], 20)[:, None] * np.ones((40, 2)))   # row norms alternate
    prune.ln_structured(layer, "weight", amount=7, n=2, dim=0)
    expected = np.ones((40, 2))
    expected[27::2] = 0                                        # of the 20 smaller rows the last 7 are pruned
    np.testing.assert_array_equal(layer.weight_mask.numpy(), expected)


def test_identity_prune_keeps_the_default_mask():
    t = np.array([[1.0, 2.0], [3.0, 4.0]])
    got = prune.Identity().prune(mg.tensor(t), default_mask=mg.tensor(np.array([[1.0, 0.0], [0.0, 1.0]])))
    np.testing.assert_array_equal(got.numpy(), [[1.0, 0.0], [0.0, 4.0]])


# ---- structured pruning: dims, norms, amount 0 ------------------------------------------------------

def test_structured_methods_default_to_the_last_dim():
    assert prune.LnStructured(amount=1, n=1).dim == -1 and prune.RandomStructured(amount=1).dim == -1
    weight = np.array([[1.0, 5.0, 3.0], [1.0, 5.0, 3.0]])
    mask = prune.LnStructured(amount=1, n=1).compute_mask(mg.tensor(weight), mg.tensor(np.ones((2, 3))))
    np.testing.assert_array_equal(mask.numpy(), [[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]])   # column 0 has least L1


def test_dim_minus_ndim_is_the_first_axis():
    layer = linear_with([[1.0, 1.0], [5.0, 5.0], [2.0, 2.0]])
    prune.ln_structured(layer, "weight", amount=1, n=2, dim=-2)
    np.testing.assert_array_equal(layer.weight_mask.numpy(), [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])


@pytest.mark.parametrize("n, pruned", [
    ("fro", 1),     # L2: [3, 2.4]
    (1, 0),         # L1: [3, 4.8]
    (0, 0),         # count of nonzeros: [1, 4]
    (np.inf, 1),    # max: [3, 1.2]
])
def test_ln_structured_norms_rank_the_rows(n, pruned):
    layer = linear_with([[3.0, 0.0, 0.0, 0.0], [1.2, 1.2, 1.2, 1.2]])
    prune.ln_structured(layer, "weight", amount=1, n=n, dim=0)
    expected = np.ones((2, 4))
    expected[pruned] = 0
    np.testing.assert_array_equal(layer.weight_mask.numpy(), expected)


def test_ln_structured_negative_n_takes_the_root():
    # torch.norm with p=-1 is (sum |x|^-1)^(-1): row 0 -> 1/2, row 1 -> 1/2.25 (the smaller, pruned);
    # without the root the sums 2 < 2.25 would rank them the other way
    layer = linear_with([[1.0, 1.0], [4.0, 0.5]])
    prune.ln_structured(layer, "weight", amount=1, n=-1, dim=0)
    np.testing.assert_array_equal(layer.weight_mask.numpy(), [[1.0, 1.0], [0.0, 0.0]])


def test_nuclear_norm_needs_three_axes():
    with pytest.raises(ValueError, match=r"ln_structured: n='nuc' needs a tensor of 3 axes.*\(4, 5\)"):
        prune.ln_structured(distinct_linear(), "weight", amount=1, n="nuc", dim=0)


def test_random_structured_with_amount_zero_prunes_nothing():
    mg.manual_seed(0)
    layer = prune.random_structured(distinct_linear(), "weight", amount=0, dim=0)
    np.testing.assert_array_equal(layer.weight_mask.numpy(), np.ones((4, 5)))


def test_ln_structured_with_amount_zero_prunes_nothing():
    layer = prune.ln_structured(distinct_linear(), "weight", amount=0, n=2, dim=1)
    np.testing.assert_array_equal(layer.weight_mask.numpy(), np.ones((4, 5)))


def test_ln_structured_importance_scores_decide():
    layer = linear_with([[9.0, 9.0], [1.0, 1.0], [5.0, 5.0]])
    scores = np.array([[0.1, 0.1], [7.0, 7.0], [3.0, 3.0]])    # row 0 scores least, though its weight is largest
    prune.ln_structured(layer, "weight", amount=1, n=2, dim=0, importance_scores=scores)
    np.testing.assert_array_equal(layer.weight_mask.numpy(), [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])


@pytest.mark.parametrize("make, error, text", [
    (lambda: prune.LnStructured(1, n=True), ValueError, "LnStructured: n must be a number"),
    (lambda: prune.LnStructured(1, n=2, dim=1.0), TypeError, "LnStructured: dim must be an integer, got 1.0"),
    (lambda: prune.RandomStructured(1, dim="0"), TypeError, "RandomStructured: dim must be an integer"),
])
def test_structured_constructor_checks(make, error, text):
    with pytest.raises(error, match=text):
        make()


# ---- random methods: mg.manual_seed(s) draws as np.random.default_rng(s) ------------------------------

def test_the_mask_of_a_float32_parameter_is_float32():
    layer = nn.Linear(3, 2, dtype=np.float32)                  # PyTorch: ones_like(orig), the parameter's dtype
    prune.l1_unstructured(layer, "weight", amount=2)
    assert layer.weight_mask.dtype == np.float32 and layer.weight.dtype == np.float32


def test_random_unstructured_prunes_the_largest_draws():
    layer = distinct_linear()
    mg.manual_seed(11)
    prune.random_unstructured(layer, "weight", amount=6)
    draws = np.random.default_rng(11).random(20)               # rand_like, then topk (largest) as PyTorch
    expected = np.ones(20)
    expected[np.argsort(draws)[-6:]] = 0
    np.testing.assert_array_equal(layer.weight_mask.numpy().reshape(-1), expected)


def test_random_structured_prunes_the_smallest_draws():
    layer = linear_with(np.ones((6, 3)))
    mg.manual_seed(12)
    prune.random_structured(layer, "weight", amount=2, dim=0)
    draws = np.random.default_rng(12).random(6)                # rand, then kthvalue: keep prob > k-th smallest
    expected = np.ones((6, 3))
    expected[np.argsort(draws)[:2]] = 0
    np.testing.assert_array_equal(layer.weight_mask.numpy(), expected)


# ---- pruning again: PyTorch's _combine_masks -----------------------------------------------------------

def test_structured_after_unstructured_acts_on_channels_not_all_zero_and_keeps_old_zeros():
    layer = linear_with([[5.0, 5.0, 5.0], [0.1, 1.0, 1.0], [2.0, 2.0, 2.0], [7.0, 7.0, 7.0]])
    prune.custom_from_mask(layer, "weight", mask=np.array([[0, 0, 0], [0, 1, 1], [1, 1, 1], [1, 1, 0]]))
    prune.ln_structured(layer, "weight", amount=1, n=2, dim=0)
    # channels kept so far: rows 1, 2, 3 (row 1 only partly); norms of the masked weight 1.41, 3.46, 9.9
    np.testing.assert_array_equal(layer.weight_mask.numpy(), [[0, 0, 0], [0, 0, 0], [1, 1, 1], [1, 1, 0]])


def test_custom_from_mask_after_pruning_combines_the_masks():
    layer = linear_with([[1.0, 4.0], [3.0, 2.0]])
    prune.l1_unstructured(layer, "weight", amount=1)           # zeroes (0, 0)
    prune.custom_from_mask(layer, "weight", mask=np.array([[1, 1], [0, 1]]))
    np.testing.assert_array_equal(layer.weight_mask.numpy(), [[0.0, 1.0], [0.0, 1.0]])
    np.testing.assert_array_equal(layer.weight.numpy(), [[0.0, 4.0], [0.0, 2.0]])


def test_identity_after_pruning_keeps_the_mask():
    layer = linear_with([[1.0, 4.0], [3.0, 2.0]])
    prune.l1_unstructured(layer, "weight", amount=2)
    prune.identity(layer, "weight")
    np.testing.assert_array_equal(layer.weight_mask.numpy(), [[0.0, 1.0], [1.0, 0.0]])


def test_three_prunings_make_one_flat_container_of_three():
    layer = distinct_linear()
    prune.l1_unstructured(layer, "weight", amount=2)
    prune.identity(layer, "weight")
    prune.l1_unstructured(layer, "weight", amount=3)
    hooks = list(layer._forward_pre_hooks.values())
    assert len(hooks) == 1 and len(hooks[0]) == 3              # PyTorch's old_method.add_pruning_method(method)
    assert [type(m) for m in hooks[0]] == [prune.L1Unstructured, prune.Identity, prune.L1Unstructured]
    assert type(hooks[0][1]) is prune.Identity and hooks[0][-1] is list(hooks[0])[2] and hooks[0][0].amount == 2


def test_remove_keeps_the_original_parameter_object():
    layer = distinct_linear()
    weight = layer.weight
    optimizer = mg.optim.SGD(layer.parameters(), lr=0.1)
    prune.l1_unstructured(layer, "weight", amount=3)
    prune.remove(layer, "weight")                              # PyTorch: orig.data = pruned; setattr(name, orig)
    assert layer.weight is weight and optimizer.param_groups[0]["params"][0] is weight


def test_two_parameters_of_one_module_are_pruned_separately():
    layer = linear_with([[1.0, 4.0], [3.0, 2.0]], bias=np.array([0.5, -2.0]))
    prune.l1_unstructured(layer, "weight", amount=1)
    prune.l1_unstructured(layer, "bias", amount=1)
    hooks = list(layer._forward_pre_hooks.values())
    assert sorted(h._tensor_name for h in hooks) == ["bias", "weight"]
    assert not any(isinstance(h, prune.PruningContainer) for h in hooks)
    np.testing.assert_array_equal(layer.bias_mask.numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(layer.weight_mask.numpy(), [[0.0, 1.0], [1.0, 1.0]])
    prune.remove(layer, "weight")
    assert prune.is_pruned(layer) and hasattr(layer, "bias_mask") and not hasattr(layer, "weight_mask")


def test_pruning_container_checks_what_it_is_given():
    with pytest.raises(TypeError, match="PruningContainer.add_pruning_method: expected a BasePruningMethod, got int"):
        prune.PruningContainer(3)
    first, second = prune.L1Unstructured(1), prune.L1Unstructured(1)
    first._tensor_name, second._tensor_name = "weight", "bias"
    with pytest.raises(ValueError, match="this container prunes 'weight', the method prunes 'bias'"):
        prune.PruningContainer(first, second)


# ---- BasePruningMethod.prune without a module ----------------------------------------------------------

def test_prune_uses_the_importance_scores_and_the_default_mask():
    t = np.array([[0.3, -0.1], [2.0, -0.05]])
    scores = np.array([[0.0, 5.0], [6.0, 7.0]])
    got = prune.L1Unstructured(amount=1).prune(mg.tensor(t), importance_scores=mg.tensor(scores))
    np.testing.assert_array_equal(got.numpy(), [[0.0, -0.1], [2.0, -0.05]])
    default = np.array([[1.0, 1.0], [0.0, 1.0]])               # the default mask's zero stays
    got = prune.L1Unstructured(amount=1).prune(mg.tensor(t), default_mask=mg.tensor(default))
    np.testing.assert_array_equal(got.numpy(), [[0.3, -0.1], [0.0, 0.0]])


def test_prune_checks_the_scores_shape():
    with pytest.raises(ValueError, match=r"L1Unstructured.prune: importance_scores must have the shape \(2, 2\)"):
        prune.L1Unstructured(amount=1).prune(mg.tensor(np.ones((2, 2))), importance_scores=np.ones(3))


# ---- what apply refuses (and leaves unchanged) -----------------------------------------------------------

def test_apply_refuses_bad_modules_and_names():
    with pytest.raises(TypeError, match="l1_unstructured: expected a Module, got int"):
        prune.l1_unstructured(3, "weight", amount=1)
    with pytest.raises(TypeError, match="l1_unstructured: expected the parameter's name as a str, got int"):
        prune.l1_unstructured(distinct_linear(), 3, amount=1)
    with pytest.raises(ValueError, match="l1_unstructured: the parameter 'weight' of LazyLinear is not initialized"):
        prune.l1_unstructured(nn.LazyLinear(3), "weight", amount=1)
    with pytest.raises(TypeError, match="is_pruned: expected a Module, got int"):
        prune.is_pruned(3)


def test_apply_refuses_a_module_with_weight_orig_already():
    layer = distinct_linear()
    layer.weight_orig = 1
    with pytest.raises(KeyError, match="already has an attribute 'weight_orig'"):
        prune.l1_unstructured(layer, "weight", amount=1)
    assert isinstance(layer.weight, nn.Parameter) and not layer._forward_pre_hooks


class _WrongShape(prune.BasePruningMethod):
    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return mg.tensor(np.ones(3))


def test_apply_refuses_a_mask_of_the_wrong_shape():
    layer = distinct_linear()
    with pytest.raises(ValueError, match=r"compute_mask gave a mask of shape \(3,\) for 'weight' of shape \(4, 5\)"):
        _WrongShape.apply(layer, "weight")
    assert isinstance(layer.weight, nn.Parameter) and not layer._forward_pre_hooks


# ---- global_unstructured -------------------------------------------------------------------------------

def test_global_unstructured_uses_the_importance_scores():
    first, second = linear_with([[1.0, 2.0]]), linear_with([[3.0, 4.0]])
    scores = {(second, "weight"): np.array([[0.0, 0.5]])}      # second's entries now score least
    prune.global_unstructured([(first, "weight"), (second, "weight")], prune.L1Unstructured,
                              importance_scores=scores, amount=2)
    np.testing.assert_array_equal(first.weight_mask.numpy(), [[1.0, 1.0]])
    np.testing.assert_array_equal(second.weight_mask.numpy(), [[0.0, 0.0]])


@pytest.mark.parametrize("parameters, scores, error, text", [
    ("weight", None, TypeError, "global_unstructured: parameters must be an iterable of .* got str"),
    ("pairs-bad", None, TypeError, r"global_unstructured: parameters must be an iterable of \(module, name\) pairs"),
    ("ok", [1], TypeError, "global_unstructured: importance_scores must be a dict, got list"),
    ("ok", "bad-shape", ValueError, r"global_unstructured: importance_scores for 'weight' must have shape \(1, 2\)"),
    ("second-bad", None, ValueError, "global_unstructured: Linear has no parameter 'gain'"),
])
def test_global_unstructured_checks_everything_before_changing_anything(parameters, scores, error, text):
    first, second = linear_with([[1.0, 2.0]]), linear_with([[3.0, 4.0]])
    parameters = {"weight": "weight", "pairs-bad": [first], "ok": [(first, "weight")],
                  "second-bad": [(first, "weight"), (second, "gain")]}[parameters]
    if scores == "bad-shape":
        scores = {(first, "weight"): np.ones(3)}
    with pytest.raises(error, match=text):
        prune.global_unstructured(parameters, prune.L1Unstructured, importance_scores=scores, amount=1)
    assert not prune.is_pruned(first) and isinstance(first.weight, nn.Parameter)


# ---- Adafactor -----------------------------------------------------------------------------------------

def numpy_adafactor(start, grads, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0,
                    eps_dtype=np.float64):
    """PyTorch's _single_tensor_adafactor, in float64: the parameter after each step."""
    param = np.array(start, dtype=np.float64)
    eps1, eps2 = eps
    eps1 = np.finfo(eps_dtype).eps if eps1 is None else eps1
    row = np.zeros(param.shape[:-1] + (1,)) if param.ndim > 1 else None
    col = np.zeros(param.shape[:-2] + (1, param.shape[-1])) if param.ndim > 1 else None
    variance = np.zeros(param.shape)
    out = []
    for step, grad in enumerate(grads, start=1):
        w = step ** beta2_decay
        rho = min(lr, 1 / step ** 0.5)
        alpha = max(eps2, np.sqrt((param ** 2).sum() / param.size)) * rho
        param = param * (1 - lr * weight_decay)
        if param.ndim > 1:
            row = row + w * ((grad ** 2).mean(axis=-1, keepdims=True) - row)
            col = col + w * ((grad ** 2).mean(axis=-2, keepdims=True) - col)
            estimate = (row @ col) / np.maximum(row.mean(axis=-2, keepdims=True), eps1)
        else:
            variance = variance + w * (grad ** 2 - variance)
            estimate = variance
        update = grad / np.sqrt(np.maximum(estimate, eps1 * eps1))
        param = param - alpha / max(1.0, np.sqrt((update ** 2).mean()) / d) * update
        out.append(param)
    return out


def run_adafactor(start, grads, dtype=np.float64, **options):
    p = mg.tensor(np.array(start, dtype=dtype), requires_grad=True)
    optimizer = Adafactor([p], **options)
    out = []
    for grad in grads:
        p.grad = np.asarray(grad, dtype=dtype)
        optimizer.step()
        out.append(p.numpy().astype(np.float64))
    return out, optimizer


def test_adafactor_relative_step_is_capped_by_one_over_sqrt_t():
    start, grads = np.array([0.5, -1.0, 2.0]), [np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.2, -1.0])] * 2
    got, _ = run_adafactor(start, grads, lr=1.0)               # rho_t = min(1, 1/sqrt(t)) < lr from step 2
    for mine, expected in zip(got, numpy_adafactor(start, grads, lr=1.0)):
        np.testing.assert_allclose(mine, expected, rtol=1e-12)


def test_adafactor_step_size_has_eps2_as_its_floor():
    # a zero parameter: alpha = max(eps2, RMS(0)) rho = 1e-3 * 0.01; U = g / |g| at step 1, RMS(U) = 1
    grad = np.array([2.0, -0.5, 1.0])
    got, _ = run_adafactor(np.zeros(3), [grad])
    np.testing.assert_allclose(got[0], -1e-5 * np.sign(grad), rtol=1e-12)


def test_adafactor_zero_gradient_of_a_matrix_leaves_it():
    # R = C = 0: V = 0 / max(0, eps1) = 0, clamped at eps1^2, U = 0 * ... = 0 (PyTorch's clamp_(min=eps1))
    start = np.array([[0.5, -1.0], [2.0, 0.25]])
    got, _ = run_adafactor(start, [np.zeros((2, 2))])
    np.testing.assert_array_equal(got[0], start)


def test_adafactor_tiny_gradients_clamp_the_row_mean_at_eps1():
    start = np.arange(24.0).reshape(2, 3, 4) / 10 - 1
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal((2, 3, 4)) * np.array([1e-9, 1.0])[:, None, None] for _ in range(2)]
    got, _ = run_adafactor(start, grads)
    for mine, expected in zip(got, numpy_adafactor(start, grads)):
        np.testing.assert_allclose(mine, expected, rtol=1e-12, atol=1e-15)


def test_adafactor_float32_default_eps1_is_float32_machine_epsilon():
    start, grad = np.array([1.0, 2.0]), np.array([1e-8, 1.0])  # 1e-16 < eps32^2: clamped (not with eps64)
    got, _ = run_adafactor(start, [grad], dtype=np.float32)
    expected = numpy_adafactor(start, [grad.astype(np.float32).astype(np.float64)], eps_dtype=np.float32)[0]
    np.testing.assert_allclose(got[0], expected, rtol=1e-6)


@pytest.mark.parametrize("option, value", [("beta2_decay", 0.0), ("eps", (0.0, 1e-3)), ("eps", (None, 0.0)),
                                           ("eps", [1e-30, 0.0]), ("d", 1.0), ("lr", 0.0)])
def test_adafactor_accepts_pytorchs_boundary_values(option, value):
    # PyTorch: beta2_decay <= 0, eps1 >= 0 (or None), eps2 >= 0, d >= 1, lr >= 0
    optimizer = Adafactor([mg.tensor(np.ones(3), requires_grad=True)], **{option: value})
    assert optimizer.param_groups[0][option] == value


def test_adafactor_eps_must_be_a_pair():
    with pytest.raises(ValueError, match=re.escape("Adafactor: eps must be a pair (eps1, eps2)")):
        Adafactor([mg.tensor(np.ones(3), requires_grad=True)], eps=(None, 1e-3, 1.0))


def test_adafactor_loaded_state_takes_the_parameter_dtype():
    p = mg.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    optimizer = Adafactor([p])
    optimizer.load_state_dict({"state": {0: {"step": 1, "row_var": np.ones((2, 1)), "col_var": np.ones((1, 3))}},
                               "param_groups": [dict(optimizer.state_dict()["param_groups"][0])]})
    assert optimizer.state[0]["row_var"].dtype == np.float32 and optimizer.state[0]["col_var"].dtype == np.float32


def test_adafactor_refuses_a_negative_loaded_factor():
    p = mg.tensor(np.ones((2, 3)), requires_grad=True)
    optimizer = Adafactor([p])
    saved = {"state": {0: {"step": 1, "row_var": -np.ones((2, 1)), "col_var": np.ones((1, 3))}},
             "param_groups": [dict(optimizer.state_dict()["param_groups"][0])]}
    with pytest.raises(ValueError, match="Adafactor.load_state_dict"):
        optimizer.load_state_dict(saved)
    assert optimizer.state[0] == {}


def test_adafactor_step_refuses_integer_factors():
    p = mg.tensor(np.ones((2, 3)), requires_grad=True)
    optimizer = Adafactor([p])
    p.grad = np.ones((2, 3))
    optimizer.state[0] = {"step": 1, "row_var": np.zeros((2, 1), np.int64), "col_var": np.zeros((1, 3))}
    with pytest.raises(ValueError, match="Adafactor.step: parameter 0's row_var must be a floating-point array"):
        optimizer.step()
    np.testing.assert_array_equal(p.numpy(), np.ones((2, 3)))


def test_adafactor_loaded_vector_state_must_hold_variance():
    optimizer = Adafactor([mg.tensor(np.ones(3), requires_grad=True)])
    saved = {"state": {0: {"step": 1}}, "param_groups": [dict(optimizer.state_dict()["param_groups"][0])]}
    with pytest.raises(ValueError, match=r"Adafactor.load_state_dict: the state of parameter 0 .* must hold variance"):
        optimizer.load_state_dict(saved)


# ---- fusion --------------------------------------------------------------------------------------------

def eval_batch_norm(features, seed=2, **options):
    bn = nn.BatchNorm1d(features, dtype=np.float64, **options)
    rng = np.random.default_rng(seed)
    bn.load_state_dict({"weight": rng.uniform(0.5, 2, features), "bias": rng.standard_normal(features),
                        "running_mean": rng.standard_normal(features), "running_var": rng.uniform(0.5, 2, features),
                        "num_batches_tracked": np.array(3)})
    return bn.eval()


def test_fusion_refuses_a_batch_norm_in_training_mode():
    bn = eval_batch_norm(4).train()
    with pytest.raises(AssertionError, match=r"fuse_conv_bn_eval: fusion only for eval! \(training is False for the "
                                             r"Conv1d and True for the BatchNorm1d"):
        nn.utils.fuse_conv_bn_eval(nn.Conv1d(2, 4, 1).eval(), bn)


def test_fusion_refuses_what_is_not_a_module():
    with pytest.raises(TypeError, match="fuse_conv_bn_eval: expected two Modules, got int and BatchNorm1d"):
        nn.utils.fuse_conv_bn_eval(3, eval_batch_norm(4))


def test_fusion_refuses_a_batch_norm_without_running_statistics():
    bn = nn.BatchNorm1d(4, track_running_stats=False).eval()
    with pytest.raises(AssertionError, match="fuse_conv_bn_eval: bn.running_mean and bn.running_var must not be None"):
        nn.utils.fuse_conv_bn_eval(nn.Conv1d(2, 4, 1).eval(), bn)


def test_fused_weights_check_the_channel_counts():
    with pytest.raises(ValueError, match=r"fuse_conv_bn_weights: the weight of shape \(3, 2, 1\) must have"):
        nn.utils.fuse_conv_bn_weights(np.ones((3, 2, 1)), None, np.zeros(4), np.ones(4), 1e-5, None, None)
    with pytest.raises(ValueError, match=r"fuse_linear_bn_weights: the weight of shape \(3, 2\) must have"):
        nn.utils.fuse_linear_bn_weights(np.ones((3, 2)), None, np.zeros(4), np.ones(4), 1e-5, np.ones(4),
                                        np.zeros(4))


def test_fuse_linear_with_a_one_feature_batch_norm():
    layer = linear_with([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], bias=np.array([0.1, 0.2, 0.3])).eval()
    bn = eval_batch_norm(1)
    fused = nn.utils.fuse_linear_bn_eval(layer, bn)
    s = bn.weight.numpy() / np.sqrt(bn.running_var.numpy() + bn.eps)          # one scale for all rows
    np.testing.assert_allclose(fused.weight.numpy(), layer.weight.numpy() * s, rtol=1e-14)
    np.testing.assert_allclose(fused.bias.numpy(), (layer.bias.numpy() - bn.running_mean.numpy()) * s
                               + bn.bias.numpy(), rtol=1e-14)


def test_fused_linear_uses_the_batch_norms_eps():
    w, var = np.array([[1.0, 2.0]]), np.array([0.5])
    fused_w, fused_b = nn.utils.fuse_linear_bn_weights(w, None, np.zeros(1), var, 0.5, np.ones(1), np.zeros(1))
    np.testing.assert_allclose(fused_w.numpy(), w / np.sqrt(0.5 + 0.5), rtol=1e-15)        # s = 1 / sqrt(var + eps)


def test_fused_dtypes_are_the_layers():
    # PyTorch: fused_w .to(weight dtype), fused_b .to(bias dtype, the weight's when there is no bias)
    w32, b32 = np.ones((2, 3), np.float32), np.ones(2, np.float32)
    stats = (np.zeros(2), np.ones(2), 1e-5, np.full(2, 2.0), np.zeros(2))
    fused_w, fused_b = nn.utils.fuse_linear_bn_weights(w32, None, *stats)
    assert fused_w.dtype == np.float32 and fused_b.dtype == np.float32
    fused_w, fused_b = nn.utils.fuse_linear_bn_weights(w32.astype(np.float64), b32, *stats)
    assert fused_w.dtype == np.float64 and fused_b.dtype == np.float32
    conv_w, conv_b = nn.utils.fuse_conv_bn_weights(w32[:, :, None].astype(np.float64), b32, *stats)
    assert conv_w.dtype == np.float64 and conv_b.dtype == np.float32
    conv_w, conv_b = nn.utils.fuse_conv_bn_weights(w32[:, :, None], None, *stats)
    assert conv_w.dtype == np.float32 and conv_b.dtype == np.float32


def test_fused_parameters_require_grad_as_the_layers_did():
    w = mg.tensor(np.ones((2, 3)), requires_grad=False)
    b = mg.tensor(np.ones(2), requires_grad=True)
    stats = (np.zeros(2), np.ones(2), 1e-5, np.ones(2), np.zeros(2))
    fused_w, fused_b = nn.utils.fuse_linear_bn_weights(w, None, *stats)
    assert not fused_w.requires_grad and not fused_b.requires_grad           # a missing bias: zeros, no grad
    fused_w, fused_b = nn.utils.fuse_linear_bn_weights(w, b, *stats)
    assert not fused_w.requires_grad and fused_b.requires_grad


# ---- skip_init and stateless.functional_call -------------------------------------------------------------

def test_skip_init_zeroes_buffers_and_submodules_too():
    bn = nn.utils.skip_init(nn.BatchNorm1d, 3)
    np.testing.assert_array_equal(bn.running_var.numpy(), np.zeros(3))      # ones after a normal build
    np.testing.assert_array_equal(bn.weight.numpy(), np.zeros(3))
    attention = nn.utils.skip_init(nn.MultiheadAttention, 4, 2)
    np.testing.assert_array_equal(attention.out_proj.weight.numpy(), np.zeros((4, 4)))


def test_skip_init_refuses_another_device_and_a_class_that_is_not_a_module():
    with pytest.raises(RuntimeError, match="skip_init: device 'cuda' is not available"):
        nn.utils.skip_init(nn.Linear, 2, 3, device="cuda")
    with pytest.raises(RuntimeError, match="skip_init: expected a Module class; got <class 'int'>"):
        nn.utils.skip_init(int)


class _Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.first, self.second = nn.Linear(2, 2, bias=False, dtype=np.float64), nn.Linear(2, 2, bias=False,
                                                                                         dtype=np.float64)
        self.second.weight = self.first.weight                 # tied

    def forward(self, x, scale=1.0):
        return self.second(self.first(x)) * scale


def test_stateless_functional_call_passes_kwargs_strict_and_tie_weights():
    module = _Scaled()
    own = module.first.weight.numpy().copy()
    w, x = np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([1.0, -1.0])
    call = nn.utils.stateless.functional_call
    with pytest.warns(FutureWarning):
        out = call(module, {"first.weight": mg.tensor(w)}, (mg.tensor(x),), {"scale": 3.0})
    np.testing.assert_allclose(out.numpy(), 3.0 * (w @ (w @ x)), rtol=1e-14)        # tied: both layers use w
    with pytest.warns(FutureWarning):
        out = call(module, {"first.weight": mg.tensor(w)}, (mg.tensor(x),), tie_weights=False)
    np.testing.assert_allclose(out.numpy(), own @ (w @ x), rtol=1e-14)              # second keeps its own
    with pytest.warns(FutureWarning), pytest.raises(RuntimeError, match="strict=True"):
        call(module, {}, (mg.tensor(x),), strict=True)


# ---- lazy convolutions ----------------------------------------------------------------------------------

def test_lazy_conv_bias_is_uninitialized_until_the_first_call():
    layer = nn.LazyConv1d(4, 2)
    assert type(layer.bias) is nn.UninitializedParameter       # PyTorch's UninitializedParameter() for bias


def test_lazy_conv_refuses_an_input_of_no_channels():
    layer = nn.LazyConv1d(4, 1)
    with pytest.raises(ValueError, match="LazyConv1d: the input's 0 channels must be a positive multiple of groups=1"):
        layer(mg.tensor(np.zeros((1, 0, 4))))
    assert type(layer) is nn.LazyConv1d


def test_lazy_conv_stays_lazy_after_a_state_dict_without_its_weight():
    layer = nn.LazyConv1d(4, 2)
    layer.load_state_dict({}, strict=False)
    assert type(layer) is nn.LazyConv1d and layer.in_channels == 0


def test_lazy_conv_with_groups_takes_in_channels_from_a_state_dict():
    source = nn.Conv1d(4, 6, 2, groups=2, dtype=np.float64)            # weight (6, 2, 2): in_channels 2 * 2
    layer = nn.LazyConv1d(6, 2, groups=2, dtype=np.float64)
    layer.load_state_dict(source.state_dict())
    assert type(layer) is nn.Conv1d and layer.in_channels == 4


@pytest.mark.parametrize("state, text", [
    (lambda: nn.Conv2d(3, 4, 3).state_dict(), r"weight: expected shape \(4, 0, 2, 2\), got \(4, 3, 3, 3\)"),
    (lambda: nn.Conv2d(3, 5, 2).state_dict(), r"weight: expected shape \(4, 0, 2, 2\), got \(5, 3, 2, 2\)"),
    (lambda: {"weight": np.zeros((4, 3, 2, 2)), "bias": np.zeros(5)}, r"bias: expected shape \(4,\), got \(5,\)"),
    (lambda: {"weight": np.zeros((4, 0, 3, 3)), "bias": np.zeros(4)}, r"weight: expected shape \(4, 0, 2, 2\)"),
])
def test_lazy_conv_refuses_a_state_dict_of_other_sizes(state, text):
    layer = nn.LazyConv2d(4, 2)
    with pytest.raises(ValueError, match=text):
        layer.load_state_dict(state())
    assert type(layer) is nn.LazyConv2d and layer.in_channels == 0


def test_a_lazy_layer_not_yet_called_loads_its_own_state_dict_and_stays_lazy():
    """A checkpoint saved before the first call (the weight uninitialised, (out, 0)) loads back, as in PyTorch."""
    for make in (lambda: nn.LazyConv2d(4, 2), lambda: nn.LazyLinear(3)):
        layer = make()
        layer.load_state_dict(make().state_dict())
        assert type(layer) is type(make()) and type(layer.weight) is nn.UninitializedParameter
