"""Tests written from a line-by-line audit of today's additions to docs/api.md, docs/pytorch.md and the
CHANGELOG (the new tensor functions, RMSNorm and GroupNorm, NAdam/RAdam/Adamax/Rprop/ASGD, the new
schedules and optim.swa_utils) against the code: each pins a claim of their prose or tables (an error and
its type, a default, a documented difference from PyTorch) that no other test pinned. Expected values
come from the doc text itself, closed forms, numpy written here or PyTorch's documented formulas (each
says which), never from the library's own output. Each docstring quotes or names the doc line."""

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.optim as optim
from microgradseq.optim import lr_scheduler
from microgradseq.optim.swa_utils import get_ema_avg_fn

F64 = mg.float64


def leaf(values=(1.0,)):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ---- tensor functions ---------------------------------------------------------------------------------------

def test_maximum_and_minimum_send_g_to_both_sides_where_either_is_nan_as_pytorchs_derivative():
    """api.md: `mg.maximum(x, y)` ... "as PyTorch's: the gradient to the larger, g / 2 to each at a tie, NaN
    where either is NaN". The value is NaN there; the gradient is PyTorch's derivatives.yaml formula,
    where(self == other, g / 2, g).masked_fill_(self < other, 0): no comparison holds at a NaN, so both get g."""
    a, b = leaf([np.nan, 1.0, 2.0]), leaf([0.0, np.nan, 2.0])
    y = mg.maximum(a, b)
    assert np.isnan(y.numpy()[:2]).all() and y.numpy()[2] == 2.0
    y.backward(np.array([3.0, 5.0, 8.0]))
    np.testing.assert_array_equal(a.grad, [3.0, 5.0, 4.0])
    np.testing.assert_array_equal(b.grad, [3.0, 5.0, 4.0])
    c, d = leaf([np.nan]), leaf([7.0])
    c.minimum(d).backward(np.array([2.0]))
    assert c.grad.tolist() == [2.0] and d.grad.tolist() == [2.0]


def test_nansum_and_count_nonzero_reduce_nothing_over_an_empty_tuple_of_axes():
    """pytorch.md: "`t.sum(dim=())` ... reduce nothing, as numpy's `axis=()`, where PyTorch's reduce every
    axis ..., and so do `nansum` and `count_nonzero`"."""
    x = np.array([[0.0, np.nan, 2.0], [3.0, 0.0, -1.0]])
    summed = mg.tensor(x).nansum(dim=())
    assert summed.shape == (2, 3)
    np.testing.assert_array_equal(summed.numpy(), np.where(np.isnan(x), 0.0, x))
    counted = mg.count_nonzero(mg.tensor(x), dim=())
    assert counted.shape == (2, 3) and counted.dtype == np.int64
    np.testing.assert_array_equal(counted.numpy(), (x != 0).astype(np.int64))


def test_count_nonzero_is_an_int64_constant_even_of_a_tensor_that_requires_grad():
    """api.md: count_nonzero is "the number of non-zero entries (int64, no gradient)"."""
    x = leaf([[0.0, 1.5], [-2.0, 0.0]])
    counts = x.count_nonzero(0)
    assert counts.dtype == np.int64 and counts.tolist() == [1, 1] and not counts.requires_grad


def test_isclose_is_a_bool_tensor_without_gradient_and_promotes_a_number_or_an_array():
    """api.md: isclose gives "a bool tensor, no gradient. Two tensors of different dtypes are a `TypeError`,
    as PyTorch's (an array or a number is promoted with the tensor)"."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)                      # float32
    close = x.isclose(np.array([1.0, 2.5], dtype=np.float64))
    assert close.dtype == np.bool_ and close.tolist() == [True, False] and not close.requires_grad
    assert mg.isclose(x, 2).tolist() == [False, True]


def test_isclose_measures_the_error_against_other_alone():
    """api.md: "|input − other| ≤ atol + |rtol · other|": with rtol = 0.5 and atol = 0, 1 is close to 2
    (1 ≤ 0.5 · 2) but 2 is not close to 1 (1 > 0.5 · 1)."""
    one, two = mg.tensor([1.0], dtype=F64), mg.tensor([2.0], dtype=F64)
    assert mg.isclose(one, two, rtol=0.5, atol=0.0).tolist() == [True]
    assert mg.isclose(two, one, rtol=0.5, atol=0.0).tolist() == [False]


def test_addmm_takes_beta_and_alpha_by_keyword_only():
    """api.md: "`t.addmm(mat1, mat2, *, beta=1, alpha=1)`", as torch.addmm (keyword-only scalars)."""
    ones = mg.ones(2, 2, dtype=F64)
    with pytest.raises(TypeError):
        ones.addmm(ones, ones, 2)
    np.testing.assert_array_equal(ones.addmm(ones, ones, beta=2, alpha=3).numpy(), np.full((2, 2), 2 + 3 * 2.0))


def test_diff_refuses_a_number_as_prepend_which_must_have_the_inputs_axes():
    """api.md: diff's "`prepend` and `append` (x's number of axes, x's shape off `dim`) ... `ValueError` for
    ... a misshapen prepend/append" (PyTorch's docs: "Their dimensions must be equivalent to that of input")."""
    with pytest.raises(ValueError, match="diff: prepend of shape"):
        mg.diff(mg.ones(3), prepend=0.0)
    with pytest.raises(ValueError, match="diff: append of shape"):
        mg.diff(mg.ones(2, 3), append=mg.ones(3))


def test_take_along_dim_refuses_a_negative_index_as_out_of_range():
    """api.md: take_along_dim: "`IndexError` for an index out of range" (a gather's index, which PyTorch
    refuses below 0, unlike numpy's take_along_axis)."""
    with pytest.raises(IndexError, match="take_along_dim"):
        mg.take_along_dim(mg.tensor([[1.0, 2.0, 3.0]]), mg.tensor([[-1]]), dim=1)


# ---- RMSNorm and GroupNorm ------------------------------------------------------------------------------------

def test_rms_norm_takes_no_bias_argument_as_pytorchs():
    """api.md: "`nn.RMSNorm(normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None)`
    (`weight` ones of shape `normalized_shape`, no bias)"."""
    with pytest.raises(TypeError):
        nn.RMSNorm(4, bias=False)
    assert [name for name, _ in nn.RMSNorm(4).named_parameters()] == ["weight"]


def test_group_norm_without_affine_has_neither_weight_nor_bias():
    """normalization.py: GroupNorm's "`affine=False` has neither" (api.md: weight ones and bias zeros of
    shape (num_channels,) otherwise)."""
    bare = nn.GroupNorm(2, 4, affine=False)
    assert bare.weight is None and bare.bias is None and list(bare.parameters()) == []
    x = np.arange(8.0).reshape(1, 4, 2)
    groups = x.reshape(1, 2, 4)
    expected = ((groups - groups.mean(-1, keepdims=True)) / np.sqrt(groups.var(-1, keepdims=True) + 1e-5))
    np.testing.assert_allclose(bare(mg.tensor(x, dtype=F64)).numpy(), expected.reshape(x.shape), rtol=1e-12)


# ---- optimisers ---------------------------------------------------------------------------------------------

def test_asgd_loads_pytorchs_0_d_eta_and_mu_as_numbers():
    """pytorch.md: "ASGD's `eta` and `mu` are floats (float64), where PyTorch keeps 0-d float tensors ...; a
    PyTorch state dict converted to numpy (0-d arrays) loads"."""
    p = leaf([1.0, -2.0])
    opt = optim.ASGD([p], lr=0.1)
    state = {"step": np.array(3.0, dtype=np.float32), "eta": np.array(0.05, dtype=np.float32),
             "mu": np.array(1.0, dtype=np.float32), "ax": np.array([0.5, -1.0])}
    saved = {"state": {0: state}, "param_groups": [dict(opt.param_groups[0], params=[0])]}
    opt.load_state_dict(saved)
    loaded = opt.state[0]
    assert type(loaded["eta"]) is float and type(loaded["mu"]) is float
    assert loaded["eta"] == float(np.float32(0.05)) and loaded["mu"] == 1.0


@pytest.mark.parametrize("kind", [optim.NAdam, optim.RAdam, optim.Adamax])
def test_cyclic_lr_moves_the_first_beta_of_nadam_radam_and_adamax(kind):
    """api.md: CyclicLR "with `cycle_momentum` each group's ... `betas[0]` (Adam, AdamW, NAdam, RAdam, Adamax)
    is max_momentum − (max_momentum − base_momentum)·h·s" (made: h = 0; after step_size_up steps: h = 1)."""
    opt = kind([leaf()], betas=(0.5, 0.99))
    scheduler = lr_scheduler.CyclicLR(opt, 0.1, 1.0, step_size_up=2, base_momentum=0.85, max_momentum=0.95)
    assert opt.param_groups[0]["betas"] == (0.95, 0.99)
    scheduler.step()
    scheduler.step()
    beta1, beta2 = opt.param_groups[0]["betas"]
    assert beta1 == pytest.approx(0.85, abs=1e-12) and beta2 == 0.99


@pytest.mark.parametrize("kind", [optim.Rprop, optim.ASGD])
def test_cyclic_lr_refuses_an_optimizer_with_neither_momentum_nor_betas(kind):
    """api.md: CyclicLR: "an optimizer with neither: `ValueError`" (Rprop and ASGD have neither)."""
    with pytest.raises(ValueError, match=f"CyclicLR: cycle_momentum=True needs .* got {kind.__name__}"):
        lr_scheduler.CyclicLR(kind([leaf()]), 0.1, 1.0)
    assert lr_scheduler.CyclicLR(kind([leaf()]), 0.1, 1.0, cycle_momentum=False).base_lrs == [0.1]


# ---- schedules ------------------------------------------------------------------------------------------------

def test_multiplicative_lr_resumed_at_last_epoch_k_keeps_the_groups_current_rate():
    """api.md: "made with `last_epoch=k`, the groups holding `'initial_lr'` ... `ExponentialLR`, `LinearLR`,
    `PolynomialLR`, `MultiplicativeLR` and `CosineAnnealingLR` then keep the groups' current rates"."""
    opt = optim.SGD([leaf()], lr=0.3)
    opt.param_groups[0]["initial_lr"] = 1.0
    scheduler = lr_scheduler.MultiplicativeLR(opt, lambda epoch: 0.5, last_epoch=2)
    assert opt.param_groups[0]["lr"] == 0.3 and scheduler.last_epoch == 3
    scheduler.step()
    assert opt.param_groups[0]["lr"] == 0.15


@pytest.mark.parametrize("make", [
    lambda opt: lr_scheduler.MultiplicativeLR(opt, lambda epoch: 0.5),
    lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3),
    lambda opt: lr_scheduler.CyclicLR(opt, 0.1, 1.0, step_size_up=2),
    lambda opt: lr_scheduler.OneCycleLR(opt, 1.0, total_steps=10),
], ids=["MultiplicativeLR", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR"])
def test_a_new_schedule_with_per_group_values_refuses_a_group_added_later(make):
    """api.md: "a rate computed from per-group values made before it (`LambdaLR`, `step(epoch)`, a list of
    `min_lr`) raises `ValueError` rather than leave the new group out" (lr_lambdas or base_lrs here)."""
    opt = optim.SGD([leaf()], lr=1.0, momentum=0.9)
    scheduler = make(opt)
    opt.add_param_group({"params": [leaf()], "lr": 2.0})
    with pytest.raises(ValueError, match="the optimizer has 2 param groups, but this schedule has 1"):
        scheduler.step()
    assert opt.param_groups[1]["lr"] == 2.0


def test_polynomial_lr_scales_a_group_added_later_as_a_chainable_schedule():
    """api.md: "A group added after the schedule was made (`add_param_group`) is scaled by the chainable
    `step()`"; PolynomialLR's "`step()` multiplies the current rate by the ratio of consecutive values":
    (1 − 1/4) / 1 at the first step."""
    opt = optim.SGD([leaf()], lr=1.0)
    scheduler = lr_scheduler.PolynomialLR(opt, total_iters=4)
    opt.add_param_group({"params": [leaf()], "lr": 2.0})
    scheduler.step()
    assert [group["lr"] for group in opt.param_groups] == [0.75, 1.5]


# ---- weight averaging -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("decay, expected", [(0.0, 5.0), (1.0, 1.0)])
def test_ema_decay_takes_both_ends_of_0_1(decay, expected):
    """api.md: get_ema_avg_fn: "EMA decay·ema + (1 − decay)·current ...; `decay` in [0, 1], else `ValueError`":
    0 takes the current value, 1 keeps the average."""
    update = get_ema_avg_fn(decay)
    new = update(mg.tensor([1.0], dtype=F64), mg.tensor([5.0], dtype=F64), mg.tensor(1))
    assert new.tolist() == [expected]
