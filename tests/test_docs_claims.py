"""Tests written from a line-by-line audit of docs/api.md and docs/pytorch.md against the code: each pins a
claim of their prose or tables (an error and its type, a default, a documented difference from PyTorch) that
no other test pinned. Expected values come from the doc text itself, closed forms or numpy written here, never
from the library's own output. Each docstring names the doc line it checks. (The audit's one false claim
where the code changed: `mg.lerp` took `start=`, not PyTorch's `input=`.)"""

import copy
import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
from microgradseq.optim import lr_scheduler


# ---- Tensors -----------------------------------------------------------------------------------------

def test_op_is_leaf_for_a_leaf_and_none_for_a_constant():
    """docs/api.md, `t.op`: "the op that made `t` (`"leaf"` for leaves, `None` for constants)"."""
    leaf = mg.tensor([1.0, 2.0], requires_grad=True)
    assert leaf.op == "leaf"
    assert mg.tensor([1.0, 2.0]).op is None
    assert (leaf * 2).op == "mul"


def test_copy_copy_is_another_tensor_object_over_the_same_array_and_node():
    """docs/api.md, `copy.deepcopy(t)`, `pickle`: "`copy.copy(t)` is another tensor object over the same
    array and node" (so it can be copied where deepcopy of an op's result is refused)."""
    y = mg.tensor([1.0, 2.0], requires_grad=True) * 3
    twin = copy.copy(y)
    assert twin is not y
    assert np.shares_memory(twin.data, y.data)
    assert twin.grad_fn is y.grad_fn


def test_detach__on_a_leaf_drops_its_grad_where_pytorch_keeps_it():
    """docs/api.md, `t.detach_()`: "A leaf's `.grad` goes too (PyTorch's keeps it), as with
    `requires_grad = False`"; docs/pytorch.md: "after `p.requires_grad_(False)` (or `p.detach_()`) `p.grad`
    is `None`"."""
    p = nn.Parameter(mg.ones(2))
    (p * 2).sum().backward()
    np.testing.assert_array_equal(p.grad, [2.0, 2.0])          # d(2 p)/dp, by hand
    assert p.detach_() is p
    assert p.grad is None and not p.requires_grad


# ---- Functions -------------------------------------------------------------------------------------------

def test_mg_lerp_takes_pytorchs_argument_names():
    """docs/api.md, `mg.ops.lerp(start, end, weight)`, `mg.lerp(input, end, weight)`: the function form
    takes PyTorch's names (torch.lerp(input, end, weight)), by keyword too; start + weight (end - start)."""
    out = mg.lerp(input=mg.tensor([0.0, 2.0]), end=mg.tensor([4.0, 4.0]), weight=0.25)
    np.testing.assert_allclose(out.numpy(), [1.0, 2.5])


def test_lerp_keeps_its_op_names_for_ops_and_the_method():
    """docs/api.md: `mg.ops.lerp(start, end, weight)` and `t.lerp(end, weight)`, by keyword too;
    start + weight (end - start) = [1, 2.5] by hand."""
    np.testing.assert_allclose(mg.ops.lerp(start=mg.tensor([0.0, 2.0]), end=mg.tensor([4.0, 4.0]),
                                           weight=0.25).numpy(), [1.0, 2.5])
    np.testing.assert_allclose(mg.tensor([0.0, 2.0]).lerp(end=mg.tensor([4.0, 4.0]), weight=0.25).numpy(),
                               [1.0, 2.5])


def test_histc_of_one_value_counts_over_v_minus_1_to_v_plus_1():
    """docs/api.md, `mg.histc`: "over the entries' range when both are 0 (one value v: [v − 1, v + 1])".
    Two entries 1.0, 4 bins over [0, 2]: [0, .5), [.5, 1), [1, 1.5), [1.5, 2] -> counts 0, 0, 2, 0."""
    counts = mg.histc(mg.tensor([1.0, 1.0]), bins=4)
    np.testing.assert_array_equal(counts.numpy(), [0.0, 0.0, 2.0, 0.0])


def test_set_default_device_accepts_the_cpu_and_none_and_refuses_another_naming_it():
    """docs/api.md, `mg.set_default_device(device)`: "the CPU (or `None`) is accepted and changes nothing;
    another device raises `RuntimeError` naming it"."""
    assert mg.set_default_device("cpu") is None
    assert mg.set_default_device(None) is None
    assert mg.zeros(2).device == "cpu"
    with pytest.raises(RuntimeError, match="set_default_device: device 'cuda' is not available"):
        mg.set_default_device("cuda")


# ---- autograd: Variable, gradcheck ---------------------------------------------------------------------

def test_variable_of_a_non_tensor_is_a_type_error():
    """docs/api.md, `mg.autograd.Variable(data, ...)`: "`data.detach()` (a tensor, else `TypeError`...)"."""
    with pytest.raises(TypeError, match="Variable: data has to be a tensor, but got ndarray"):
        mg.autograd.Variable(np.ones(2))


def test_gradcheck_with_both_modes_switched_off_is_a_value_error():
    """docs/api.md, `mg.gradcheck`: "`check_backward_ad=False` leaves reverse mode out, `ValueError` if both
    are off"."""
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    with pytest.raises(ValueError, match="gradcheck: check_backward_ad and check_forward_ad are both False"):
        mg.gradcheck(lambda t: t * t, (x,), check_backward_ad=False)


def test_gradcheck_accepts_pytorchs_other_switches_as_bools():
    """docs/api.md, `mg.gradcheck`: "`fast_mode=True` checks every entry too; the other switches are accepted
    (bools) and need nothing more here" (docs/pytorch.md said the opposite: see the audit's fix); a switch
    that is not a bool is a ValueError. x * x has gradient 2 x, which the check confirms."""
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda t: t * t, (x,), check_undefined_grad=False, check_batched_grad=True,
                        check_grad_dtypes=True, check_batched_forward_grad=True, fast_mode=True) is True
    with pytest.raises(ValueError, match="gradcheck: fast_mode must be True or False"):
        mg.gradcheck(lambda t: t * t, (x,), fast_mode=1)


# ---- Modules ---------------------------------------------------------------------------------------------

def test_module_list_has_no_repetition_operator():
    """docs/api.md, containers: "`ModuleList + iterable` (a new one) and `+=` (extend), as PyTorch's (no
    `ModuleList * n`)"; `Sequential * n` is there."""
    with pytest.raises(TypeError):
        nn.ModuleList([nn.ReLU()]) * 2
    assert len(nn.Sequential(nn.ReLU()) * 2) == 2


def test_relu_and_dropout_inplace_give_a_new_tensor_and_leave_the_input_alone():
    """docs/pytorch.md: "`inplace=True` on `nn.ReLU` and `nn.Dropout` is accepted and makes a new tensor"."""
    x = mg.tensor([-1.0, 2.0])
    y = nn.ReLU(inplace=True)(x)
    assert y is not x
    np.testing.assert_array_equal(y.numpy(), [0.0, 2.0])
    np.testing.assert_array_equal(x.numpy(), [-1.0, 2.0])
    ones = mg.ones(8)
    dropped = nn.Dropout(0.5, inplace=True)(ones)                 # training mode: masks and scales by 2
    assert dropped is not ones
    np.testing.assert_array_equal(ones.numpy(), np.ones(8))
    assert set(np.unique(dropped.numpy())) <= {0.0, 2.0}


def test_softmax_without_dim_of_a_2d_input_takes_the_last_axis_without_a_warning():
    """docs/pytorch.md: "`F.softmax(x)` without `dim` is the last axis, which is PyTorch's deprecated implicit
    choice up to 2-d; from 3-d on ... a warning asks for `dim`" (so none up to 2-d)."""
    x = np.array([[0.0, np.log(3.0)], [np.log(2.0), np.log(2.0)]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.softmax(mg.tensor(x))
    np.testing.assert_allclose(y.numpy(), [[0.25, 0.75], [0.5, 0.5]], rtol=1e-12)   # e^x / sum e^x by hand
    with pytest.warns(UserWarning, match="no dim given"):
        F.softmax(mg.zeros(2, 2, 2))


# ---- Optimisers and schedules ---------------------------------------------------------------------------

def test_optimizer_option_attribute_reads_and_sets_the_single_groups_option():
    """docs/api.md, `Optimizer`: "*extra*: with one group, `optimizer.lr` (any option) reads and sets that
    group's"."""
    opt = optim.SGD([nn.Parameter(mg.ones(2))], lr=0.1, momentum=0.5)
    assert opt.lr == 0.1 and opt.momentum == 0.5
    opt.lr = 0.25
    assert opt.param_groups[0]["lr"] == 0.25


def test_optimizer_option_attribute_with_several_groups_points_at_param_groups():
    """docs/api.md, `Optimizer`: "(with several, an `AttributeError` pointing at `param_groups`)"."""
    opt = optim.SGD([{"params": [nn.Parameter(mg.ones(1))]}, {"params": [nn.Parameter(mg.ones(1))]}], lr=0.1)
    with pytest.raises(AttributeError, match=r"param_groups\[i\]\['lr'\]"):
        opt.lr


def test_lbfgs_takes_no_foreach_switch():
    """docs/api.md, optimisers: "`foreach` (every optimiser but LBFGS)", as PyTorch's LBFGS has none."""
    with pytest.raises(TypeError, match="foreach"):
        optim.LBFGS([nn.Parameter(mg.ones(1))], foreach=True)


def test_lambda_lr_after_add_param_group_raises_rather_than_leave_the_group_out():
    """docs/api.md, schedules: "a rate computed from per-group values made before it (`LambdaLR`, ...)
    raises `ValueError` rather than leave the new group out"."""
    opt = optim.SGD([nn.Parameter(mg.ones(1))], lr=1.0)
    schedule = lr_scheduler.LambdaLR(opt, lambda epoch: 0.5)
    opt.add_param_group({"params": [nn.Parameter(mg.ones(1))]})
    with pytest.raises(ValueError, match="LambdaLR.step"):
        schedule.step()


def resumed_optimizer(lr, initial_lr):
    opt = optim.SGD([nn.Parameter(mg.ones(1))], lr=lr)
    opt.param_groups[0]["initial_lr"] = initial_lr       # as after loading the optimiser's state dict
    return opt


def test_a_schedule_resumed_at_last_epoch_k_starts_at_epoch_k_plus_1():
    """docs/api.md, schedules: "made with `last_epoch=k`, the groups holding `'initial_lr'` ..., it starts at
    epoch k + 1: as PyTorch's since 2.8, `ExponentialLR`, `LinearLR` and `CosineAnnealingLR` then keep the groups'
    current rates, while `StepLR`, `MultiStepLR`, `ConstantLR` and `LambdaLR` take epoch k + 1's step" (the
    warm-up schedules: tests/test_optim_lr_scheduler.py). Base 1.0, current rate 0.5
    (epoch 1 of gamma 0.5), k = 1: StepLR(step_size=1) multiplies by gamma once more (0.25); ExponentialLR
    keeps 0.5."""
    opt = resumed_optimizer(0.5, 1.0)
    stepped = lr_scheduler.StepLR(opt, 1, 0.5, last_epoch=1)
    assert stepped.last_epoch == 2 and opt.param_groups[0]["lr"] == pytest.approx(0.25, rel=1e-15)
    opt = resumed_optimizer(0.5, 1.0)
    kept = lr_scheduler.ExponentialLR(opt, 0.5, last_epoch=1)
    assert kept.last_epoch == 2 and opt.param_groups[0]["lr"] == 0.5
