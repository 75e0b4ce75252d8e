"""Tests written from a mutation check of the optimizers (microgradseq/optim/: sgd, adam, rmsprop,
adagrad, adadelta, options, optimizer, state_dict, clip, lr_scheduler, lbfgs, line_search): each pins
a behaviour that a hand-made wrong implementation changed without the optimizer test files
(test_optim*.py, test_lbfgs.py, test_line_search.py) noticing. Expected
values are written in numpy from the update formulas of the torch.optim documentation (or closed
forms, or the library's own docstrings where it is stricter than PyTorch), never taken from the
library's own output."""

import collections
import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.optim import SGD, Adadelta, Adagrad, Adam, AdamW, LBFGS, RMSprop, clip_grad_norm_, lr_scheduler
from microgradseq.optim.clip import clip_grads_with_norm_, get_total_norm
from microgradseq.optim.lbfgs import _remember
from microgradseq.optim.line_search import Trial, strong_wolfe


def leaf(values, dtype=np.float64):
    """A leaf tensor that requires grad."""
    return mg.tensor(np.array(values, dtype=dtype), requires_grad=True)


def grads(shape, steps, seed=0):
    """A fixed gradient per step (float64), standing in for successive backward passes."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(steps)]


def run(optimizer, p, gradients):
    """Give p each gradient in turn and step; p's values after each step."""
    values = []
    for g in gradients:
        p.grad = g.copy()
        optimizer.step()
        values.append(p.data.copy())
    return values


# ---- SGD -----------------------------------------------------------------------------------------

def test_sgd_takes_a_learning_rate_of_zero_and_leaves_the_parameter():
    """torch.optim.SGD only refuses lr < 0: lr=0 is valid (a frozen phase of a schedule) and p stays."""
    p = leaf([1.0, -2.0])
    optimizer = SGD([p], lr=0.0, momentum=0.9)
    run(optimizer, p, grads(2, 2))
    np.testing.assert_array_equal(p.data, [1.0, -2.0])


def test_sgd_refuses_a_dampening_above_one_and_takes_one():
    """The library checks dampening as a fraction in [0, 1] (options.closed_fraction in SGD.option_checks):
    1 is the edge (the buffer then never takes in a new gradient after the first), 1.5 is refused."""
    SGD([leaf([1.0])], lr=0.1, momentum=0.9, dampening=1.0)
    with pytest.raises(ValueError, match="dampening"):
        SGD([leaf([1.0])], lr=0.1, momentum=0.9, dampening=1.5)


# ---- Adam / AdamW --------------------------------------------------------------------------------

def np_adam(p, gradients, lr, beta1, beta2, eps, weight_decay=0.0, decoupled=False):
    """torch.optim.Adam / AdamW's documented update, step by step; p after each step."""
    m = v = 0.0
    out = []
    for t, g in enumerate(gradients, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def test_adamw_stays_decoupled_after_loading_an_adam_state_dict():
    """PyTorch's AdamW is Adam(decoupled_weight_decay=True) and keeps it so whatever state dict it loads
    (its docstring, and this library's AdamW docstring): after loading the state dict of a plain Adam (an
    empty state, decoupled_weight_decay=False) the steps are AdamW's, p * (1 - lr wd) then the Adam step."""
    start = np.array([1.0, -2.0, 0.5])
    source = Adam([leaf(start)], lr=0.1, weight_decay=0.5)
    p = leaf(start)
    optimizer = AdamW([p], lr=0.1, weight_decay=0.5)
    optimizer.load_state_dict(source.state_dict())
    assert optimizer.param_groups[0]["decoupled_weight_decay"] is True
    gradients = grads(3, 3, seed=1)
    got = run(optimizer, p, gradients)
    expected = np_adam(start, gradients, 0.1, 0.9, 0.999, 1e-8, weight_decay=0.5, decoupled=True)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


# ---- Adagrad -------------------------------------------------------------------------------------

def test_adagrad_refuses_a_negative_sum_in_a_state_dict_and_changes_nothing():
    """Adagrad's sum is a sum of squares: a negative entry is refused at load (the library's
    Adagrad.checked_state docstring), naming `sum`, and the optimizer keeps its own state."""
    p = leaf([1.0, 2.0])
    optimizer = Adagrad([p], lr=0.1)
    saved = {"state": {0: {"step": 1, "sum": np.array([1.0, -0.5])}},
             "param_groups": [{**optimizer.state_dict()["param_groups"][0]}]}
    with pytest.raises(ValueError, match="sum"):
        optimizer.load_state_dict(saved)
    assert optimizer.state[0] == {}


def test_adagrad_loads_a_sum_with_zero_entries():
    """A zero entry is a valid sum of squares (initial_accumulator_value=0 and a zero gradient so far):
    it loads, and the next step is lr g / (sqrt(0 + g^2) + eps) there (torch.optim.Adagrad's update)."""
    p = leaf([1.0, 2.0])
    optimizer = Adagrad([p], lr=0.1)
    saved = {"state": {0: {"step": 1, "sum": np.array([0.0, 4.0])}},
             "param_groups": [{**optimizer.state_dict()["param_groups"][0]}]}
    optimizer.load_state_dict(saved)
    g = np.array([0.5, 1.0])
    p.grad = g.copy()
    optimizer.step()
    total = np.array([0.0, 4.0]) + g * g
    np.testing.assert_allclose(p.data, np.array([1.0, 2.0]) - 0.1 * g / (np.sqrt(total) + 1e-10), rtol=1e-14)


# ---- Adadelta ------------------------------------------------------------------------------------

def np_adadelta(p, gradients, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    """torch.optim.Adadelta's documented update, step by step; p after each step."""
    square_avg = acc_delta = 0.0
    out = []
    for g in gradients:
        g = -g if maximize else g
        g = g + weight_decay * p
        square_avg = rho * square_avg + (1 - rho) * g * g
        delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * g
        acc_delta = rho * acc_delta + (1 - rho) * delta * delta
        p = p - lr * delta
        out.append(p)
    return out


@pytest.mark.parametrize("options", [dict(), dict(lr=0.5, rho=0.7, eps=1e-2),
                                     dict(lr=0.3, rho=0.8, eps=1e-3, weight_decay=0.2, maximize=True)])
def test_adadelta_matches_the_documented_update_over_several_steps(options):
    """Adadelta against torch.optim.Adadelta's documented algorithm in numpy: the defaults (lr=1, rho=0.9,
    eps=1e-6), then lr, rho and a large eps (which tells eps inside both square roots from eps added
    outside), then weight decay and maximize (the gradient negated before the decay is added)."""
    start = np.array([0.5, -1.5, 2.0, 0.1])
    p = leaf(start)
    gradients = grads(4, 5, seed=3)
    got = run(Adadelta([p], **options), p, gradients)
    np.testing.assert_allclose(got, np_adadelta(start, gradients, **options), rtol=1e-12, atol=1e-15)


def test_adadelta_refuses_a_negative_acc_delta_in_a_state_dict():
    """acc_delta is an average of squares: a negative entry is refused at load, naming it (the library's
    Adadelta.checked_state docstring)."""
    p = leaf([1.0, 2.0])
    optimizer = Adadelta([p])
    saved = {"state": {0: {"step": 1, "square_avg": np.array([1.0, 1.0]), "acc_delta": np.array([0.5, -0.5])}},
             "param_groups": [{**optimizer.state_dict()["param_groups"][0]}]}
    with pytest.raises(ValueError, match="acc_delta"):
        optimizer.load_state_dict(saved)


def test_adadelta_takes_rho_of_one():
    """rho is checked as a closed fraction, [0, 1] (PyTorch: 0 <= rho <= 1): rho = 1 is accepted."""
    Adadelta([leaf([1.0])], rho=1.0)


# ---- options -------------------------------------------------------------------------------------

def test_adam_refuses_betas_that_are_not_a_pair():
    """betas must be a pair (beta1, beta2) (options.betas): three numbers are a ValueError naming betas."""
    with pytest.raises(ValueError, match="betas"):
        Adam([leaf([1.0])], betas=(0.9, 0.99, 0.5))


def test_adam_takes_betas_as_a_list_and_beta1_of_zero():
    """betas may be a list (PyTorch indexes it), and beta1 = 0 is valid (betas in [0, 1)): then m = g, and
    the first step of Adam is lr g / (|g| + eps) (m_hat = g, v_hat = g^2)."""
    p = leaf([1.0, -2.0])
    optimizer = Adam([p], lr=0.1, betas=[0.0, 0.5])
    g = np.array([0.3, -2.0])
    got = run(optimizer, p, [g])[0]
    np.testing.assert_allclose(got, np_adam(np.array([1.0, -2.0]), [g], 0.1, 0.0, 0.5, 1e-8)[0], rtol=1e-14)


def test_foreach_must_be_a_bool_or_none():
    """foreach= is True, False or None (options.loop_choice): a string is a ValueError naming foreach."""
    with pytest.raises(ValueError, match="foreach"):
        Adam([leaf([1.0])], foreach="yes")


def test_capturable_none_is_taken_as_false():
    """capturable=None is accepted, as PyTorch takes it as False (options.not_capturable)."""
    Adam([leaf([1.0])], capturable=None)


def test_foreach_and_fused_together_is_pytorchs_runtime_error():
    """PyTorch: `fused` and `foreach` cannot be `True` together (RuntimeError)."""
    with pytest.raises(RuntimeError, match="fused"):
        Adam([leaf([1.0])], foreach=True, fused=True)


# ---- the base class: parameters, the step's checks, state ----------------------------------------

def test_a_tensor_that_does_not_require_grad_is_refused():
    """A plain tensor without requires_grad (not a frozen Parameter) cannot be trained: ValueError."""
    with pytest.raises(ValueError, match="require"):
        SGD([mg.tensor(np.ones(2))], lr=0.1)


def test_a_non_leaf_tensor_is_refused():
    """PyTorch: can't optimize a non-leaf Tensor (ValueError)."""
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match="leaf"):
        SGD([x * 2.0], lr=0.1)


def test_a_state_array_of_the_wrong_shape_is_refused_at_step():
    """A state array whose shape is not its parameter's is refused at step (ValueError naming it)."""
    p = leaf([1.0, 2.0])
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    optimizer.state[p]["momentum_buffer"] = np.zeros(3)
    p.grad = np.ones(2)
    with pytest.raises(ValueError, match="momentum_buffer"):
        optimizer.step()
    np.testing.assert_array_equal(p.data, [1.0, 2.0])


def test_a_groups_params_swapped_for_other_tensors_are_refused_at_step():
    """Replacing a group's parameters by as many other tensors is refused at step (the state is kept by
    position, so it would go to the wrong tensors)."""
    p = leaf([1.0])
    optimizer = SGD([p], lr=0.1)
    other = leaf([5.0])
    other.grad = np.ones(1)
    optimizer.param_groups[0]["params"] = [other]
    with pytest.raises(ValueError, match="param"):
        optimizer.step()
    np.testing.assert_array_equal(other.data, [5.0])


def test_deleting_one_parameters_state_leaves_the_others_in_place():
    """`del optimizer.state[p]` forgets p's state only, as deleting from PyTorch's dict of state."""
    a, b = leaf([1.0]), leaf([2.0])
    optimizer = SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = np.array([1.0]), np.array([3.0])
    optimizer.step()
    del optimizer.state[a]
    assert optimizer.state[a] == {}
    np.testing.assert_array_equal(optimizer.state[b]["momentum_buffer"], [3.0])


def test_state_clear_keeps_one_empty_entry_per_parameter_and_steps_afresh():
    """`optimizer.state.clear()` forgets every state; the next step is each parameter's first (SGD with
    momentum: buffer = g again)."""
    a, b = leaf([1.0]), leaf([2.0])
    optimizer = SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = np.array([1.0]), np.array([1.0])
    optimizer.step()
    optimizer.state.clear()
    assert len(optimizer.state) == 2 and all(s == {} for s in optimizer.state.values())
    a.grad, b.grad = np.array([2.0]), np.array([2.0])
    optimizer.step()
    np.testing.assert_allclose(a.data, [1.0 - 0.1 - 0.2])
    np.testing.assert_array_equal(optimizer.state[b]["momentum_buffer"], [2.0])


def test_assigning_a_defaultdict_to_state_starts_afresh():
    """PyTorch's idiom `optimizer.state = collections.defaultdict(dict)` forgets the state; the optimizer
    keeps stepping (and `state[p]` still works)."""
    p = leaf([1.0])
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.array([1.0])
    optimizer.step()
    optimizer.state = collections.defaultdict(dict)
    assert optimizer.state[p] == {}
    p.grad = np.array([2.0])
    optimizer.step()
    np.testing.assert_allclose(p.data, [0.9 - 0.2])


def test_repr_lists_each_groups_options_sorted_as_pytorch():
    """PyTorch's Optimizer.__repr__ writes each group's options in sorted order."""
    text = repr(SGD([leaf([1.0])], lr=0.1))
    lines = [line.strip().split(":")[0] for line in text.splitlines() if line.startswith("    ")]
    assert lines == sorted(lines) and "lr" in lines


# ---- load_state_dict -----------------------------------------------------------------------------

def adam_state_dict(lr=0.1, amsgrad=False):
    return Adam([leaf([1.0, 2.0])], lr=lr, amsgrad=amsgrad).state_dict()


def test_load_state_dict_refuses_a_parameter_number_listed_twice():
    """A saved param_groups listing one parameter number twice is refused (ValueError)."""
    a, b = leaf([1.0]), leaf([2.0])
    optimizer = SGD([a, b], lr=0.1)
    saved = optimizer.state_dict()
    saved["param_groups"][0]["params"] = [0, 0]
    with pytest.raises(ValueError, match="twice"):
        optimizer.load_state_dict(saved)


def test_an_older_state_dict_without_maximize_and_the_switches_loads_with_pytorchs_values():
    """A state dict from before PyTorch added maximize, foreach, capturable, differentiable, fused loads
    with the values PyTorch's __setstate__ fills in (False / None)."""
    optimizer = Adam([leaf([1.0, 2.0])], lr=0.1)
    saved = optimizer.state_dict()
    for name in ("maximize", "foreach", "capturable", "differentiable", "fused", "decoupled_weight_decay"):
        del saved["param_groups"][0][name]
    optimizer.load_state_dict(saved)
    group = optimizer.param_groups[0]
    assert group["maximize"] is False and group["foreach"] is None and group["fused"] is None


def test_options_saved_as_numpy_numbers_load_as_python_numbers():
    """Options that went through mg.save come back as 0-d arrays or numpy numbers: load_state_dict reads
    them as Python's own numbers (options.plain), betas item by item."""
    p = leaf([1.0, 2.0])
    optimizer = Adam([p], lr=0.1)
    saved = optimizer.state_dict()
    saved["param_groups"][0]["lr"] = np.array(0.05)
    saved["param_groups"][0]["eps"] = np.float32(0.25)
    saved["param_groups"][0]["betas"] = (np.float32(0.5), np.float32(0.75))
    optimizer.load_state_dict(saved)
    group = optimizer.param_groups[0]
    assert type(group["lr"]) is float and group["lr"] == 0.05
    assert type(group["eps"]) is float and group["eps"] == 0.25
    assert all(type(beta) is float for beta in group["betas"]) and group["betas"] == (0.5, 0.75)


def test_a_step_count_saved_as_a_float_loads_as_the_integer():
    """PyTorch keeps `step` as a float tensor, so a converted state dict has 2.0: it loads as step 2, and
    the next Adam step uses t = 3 in its bias corrections."""
    p = leaf([1.0, -1.0])
    optimizer = Adam([p], lr=0.1)
    m, v = np.array([0.2, -0.1]), np.array([0.04, 0.02])
    saved = optimizer.state_dict()
    saved["state"] = {0: {"step": 2.0, "exp_avg": m.copy(), "exp_avg_sq": v.copy()}}
    optimizer.load_state_dict(saved)
    assert optimizer.state[p]["step"] == 2 and type(optimizer.state[p]["step"]) is int
    g = np.array([0.5, 0.25])
    p.grad = g.copy()
    optimizer.step()
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g * g
    expected = np.array([1.0, -1.0]) - 0.1 * (m / (1 - 0.9 ** 3)) / (np.sqrt(v / (1 - 0.999 ** 3)) + 1e-8)
    np.testing.assert_allclose(p.data, expected, rtol=1e-13)


def test_saved_state_is_checked_against_its_own_groups_options():
    """A parameter's saved state is checked against the options of the group that lists it: with amsgrad
    in group 0 only, group 1's parameter needs no max_exp_avg_sq, and group 0's does."""
    a, b = leaf([1.0]), leaf([2.0])
    optimizer = Adam([{"params": [a], "amsgrad": True}, {"params": [b]}], lr=0.1)
    entry = {"step": 1, "exp_avg": np.array([0.1]), "exp_avg_sq": np.array([0.01])}
    saved = optimizer.state_dict()
    saved["state"] = {1: dict(entry)}
    optimizer.load_state_dict(saved)                     # group 1 keeps no max_exp_avg_sq
    saved["state"] = {0: dict(entry)}
    with pytest.raises(ValueError, match="max_exp_avg_sq"):
        optimizer.load_state_dict(saved)


# ---- clipping ------------------------------------------------------------------------------------

def test_clip_grad_norm_of_an_empty_generator_warns_as_pytorch():
    """PyTorch warns when `parameters` is an empty generator (no gradient clipping will occur)."""
    with pytest.warns(UserWarning, match="empty generator"):
        clip_grad_norm_((p for p in []), max_norm=1.0)


def test_clip_grad_norm_of_huge_gradients_is_finite_and_clips():
    """The 2-norm of [3e200, 4e200] is 5e200 (finite in float64, though its squares overflow): it is
    returned, and the gradient is scaled by max_norm / (5e200 + 1e-6)."""
    p = leaf([0.0, 0.0])
    p.grad = np.array([3e200, 4e200])
    norm = clip_grad_norm_([p], max_norm=1.0)
    assert float(norm) == pytest.approx(5e200, rel=1e-14)
    np.testing.assert_allclose(p.grad, [0.6, 0.8], rtol=1e-14)


def test_clip_grads_with_norm_refuses_a_negative_max_norm():
    """max_norm must be >= 0 (inf allowed), in clip_grads_with_norm_ as in clip_grad_norm_."""
    p = leaf([1.0])
    p.grad = np.array([2.0])
    with pytest.raises(ValueError, match="max_norm"):
        clip_grads_with_norm_([p], max_norm=-1.0, total_norm=2.0)


def test_get_total_norm_refuses_integer_arrays():
    """get_total_norm takes floating-point gradients only (an integer norm would be truncated): TypeError."""
    with pytest.raises(TypeError, match="floating"):
        get_total_norm([np.array([1, 1])])


# ---- lr_scheduler --------------------------------------------------------------------------------

def sgd(lr=0.1, **group):
    """SGD over one parameter, its one group updated with `group` (initial_lr, say)."""
    optimizer = SGD([leaf([0.0])], lr=lr)
    optimizer.param_groups[0].update(group)
    return optimizer


def test_multistep_lr_step_to_a_milestone_counts_that_milestone():
    """PyTorch's closed form: lr = base * gamma ^ bisect_right(milestones, epoch), so at epoch 2 with
    milestones [2, 4] the rate is base * gamma (the milestone itself counts)."""
    scheduler = lr_scheduler.MultiStepLR(sgd(1.0), milestones=[2, 4], gamma=0.5)
    scheduler.step(2)
    assert scheduler.get_last_lr() == [0.5]
    scheduler.step(4)
    assert scheduler.get_last_lr() == [0.25]


def test_cosine_get_lr_right_after_resuming_is_the_closed_form():
    """PyTorch's CosineAnnealingLR.get_lr: at the first step count with last_epoch > 0 (a schedule just
    resumed, get_lr() called by hand) it returns eta_min + (base - eta_min)(1 + cos(pi e / T_max)) / 2."""
    optimizer = sgd(0.05, initial_lr=0.2)
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=10, eta_min=0.01, last_epoch=2)
    assert scheduler.last_epoch == 3
    expected = 0.01 + (0.2 - 0.01) * (1 + math.cos(math.pi * 3 / 10)) / 2
    assert scheduler.get_lr() == [pytest.approx(expected, rel=1e-14)]


def test_a_resumed_schedule_takes_its_base_rates_from_initial_lr():
    """Resuming (last_epoch=k) takes base_lrs from the groups' 'initial_lr', not their current lr, and
    leaves 'initial_lr' as it was; step(epoch) then gives base * gamma^(epoch // step_size)."""
    optimizer = sgd(0.01, initial_lr=0.4)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5, last_epoch=3)
    assert scheduler.base_lrs == [0.4] and optimizer.param_groups[0]["initial_lr"] == 0.4
    scheduler.step(6)
    assert scheduler.get_last_lr() == [pytest.approx(0.4 * 0.5 ** 3)]


def test_initial_lr_is_the_rate_before_the_constructors_step():
    """PyTorch sets group['initial_lr'] = group['lr'] before the first step: with LambdaLR(lambda e: 0.5)
    the rate becomes base / 2 and initial_lr stays base."""
    optimizer = sgd(0.3)
    lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.5)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.15)
    assert optimizer.param_groups[0]["initial_lr"] == 0.3


def test_get_last_lr_returns_a_new_list_each_time():
    """Changing the list get_last_lr() returned does not change the schedule's record."""
    scheduler = lr_scheduler.ExponentialLR(sgd(0.1), gamma=0.5)
    scheduler.get_last_lr().append(99.0)
    assert scheduler.get_last_lr() == [0.1]


def test_schedule_defaults_are_pytorchs():
    """torch.optim.lr_scheduler defaults: StepLR and MultiStepLR gamma=0.1; ReduceLROnPlateau mode='min',
    factor=0.1, patience=10, threshold=1e-4, threshold_mode='rel', cooldown=0, min_lr=0, eps=1e-8."""
    assert lr_scheduler.StepLR(sgd(), step_size=3).gamma == 0.1
    assert lr_scheduler.MultiStepLR(sgd(), milestones=[3]).gamma == 0.1
    plateau = lr_scheduler.ReduceLROnPlateau(sgd())
    assert (plateau.mode, plateau.factor, plateau.patience, plateau.threshold, plateau.threshold_mode,
            plateau.cooldown, plateau.min_lrs, plateau.eps) == ("min", 0.1, 10, 1e-4, "rel", 0, [0.0], 1e-8)


def test_plateau_default_patience_lowers_the_rate_at_the_twelfth_flat_epoch():
    """With the defaults (patience 10, factor 0.1) a flat metric lowers lr after 11 bad epochs (the first
    call sets best): 1 + 11 = 12 calls, not earlier."""
    optimizer = sgd(1.0)
    plateau = lr_scheduler.ReduceLROnPlateau(optimizer)
    rates = []
    for _ in range(12):
        plateau.step(1.0)
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates[:11] == [1.0] * 11 and rates[11] == pytest.approx(0.1)


def test_plateau_default_relative_threshold_is_one_in_ten_thousand():
    """mode 'min', threshold 1e-4 'rel': from best 1.0, 0.99995 is not an improvement (not below
    1 - 1e-4) and counts as bad, 0.9998 is one."""
    plateau = lr_scheduler.ReduceLROnPlateau(sgd())
    plateau.step(1.0)
    plateau.step(0.99995)
    assert plateau.num_bad_epochs == 1 and plateau.best == 1.0
    plateau.step(0.9998)
    assert plateau.num_bad_epochs == 0 and plateau.best == 0.9998


def test_plateau_step_with_an_epoch_sets_last_epoch():
    """ReduceLROnPlateau.step(metrics, epoch) sets last_epoch to epoch (PyTorch's deprecated argument)."""
    plateau = lr_scheduler.ReduceLROnPlateau(sgd())
    plateau.step(1.0, epoch=7)
    assert plateau.last_epoch == 7


def test_a_schedule_state_dict_with_pytorchs_bookkeeping_entries_loads():
    """PyTorch's schedule state dicts also hold _get_lr_called_within_step, _is_initial (and verbose in
    older versions): load_state_dict skips them."""
    scheduler = lr_scheduler.StepLR(sgd(), step_size=2)
    saved = scheduler.state_dict()
    saved.update(_get_lr_called_within_step=False, _is_initial=False, verbose=False)
    scheduler.load_state_dict(saved)
    assert "verbose" not in scheduler.state_dict()


def test_multistep_milestones_saved_as_a_plain_dict_load_and_step_to_an_epoch():
    """mg.save / mg.load give the Counter of milestones back as a dict: it loads as a Counter, so the
    closed form (step(epoch)) still counts milestones <= epoch: base * gamma^2 at epoch 5 of [2, 4]."""
    scheduler = lr_scheduler.MultiStepLR(sgd(1.0), milestones=[2, 4], gamma=0.5)
    saved = scheduler.state_dict()
    saved["milestones"] = dict(saved["milestones"])
    scheduler.load_state_dict(saved)
    scheduler.step(5)
    assert scheduler.get_last_lr() == [0.25]


# ---- LBFGS ---------------------------------------------------------------------------------------

def test_lbfgs_defaults_are_pytorchs():
    """torch.optim.LBFGS(params, lr=1, max_iter=20, max_eval=None -> max_iter * 5 // 4, tolerance_grad=1e-7,
    tolerance_change=1e-9, history_size=100, line_search_fn=None)."""
    group = LBFGS([leaf([1.0])]).param_groups[0]
    assert {name: group[name] for name in ("lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change",
                                           "history_size", "line_search_fn")} == dict(
        lr=1, max_iter=20, max_eval=25, tolerance_grad=1e-7, tolerance_change=1e-9, history_size=100,
        line_search_fn=None)


def test_lbfgs_stops_at_once_when_the_largest_gradient_equals_tolerance_grad():
    """PyTorch's first-order test is max |g| <= tolerance_grad: with f = x^2 / 2 at x = 0.5 (g = 0.5) and
    tolerance_grad = 0.5 the step evaluates once and leaves x."""
    x = leaf([0.5])
    optimizer = LBFGS([x], tolerance_grad=0.5)
    calls = []

    def closure():
        optimizer.zero_grad()
        loss = (x * x).sum() * 0.5
        loss.backward()
        calls.append(1)
        return loss

    optimizer.step(closure)
    assert len(calls) == 1 and x.data[0] == 0.5


def test_lbfgs_refuses_a_pair_at_or_below_the_curvature_threshold():
    """PyTorch keeps a pair (s, y) only if y . s > 1e-10: a pair with y . s = 5e-11 is not kept and H_diag
    stays; one with y . s = 2 is kept, with rho = 1 / 2 and H_diag = y . s / y . y."""
    dirs, stps, ro = [], [], []
    assert _remember(np.array([5e-11, 0.0]), np.array([1.0, 0.0]), dirs, stps, ro, 0.7, 10) == 0.7
    assert dirs == [] and stps == [] and ro == []
    assert _remember(np.array([1.0, 1.0]), np.array([1.0, 1.0]), dirs, stps, ro, 0.7, 10) == pytest.approx(1.0)
    assert len(dirs) == 1 and ro == [pytest.approx(0.5)]


def test_lbfgs_refuses_a_state_dict_with_state_under_another_parameter():
    """LBFGS keeps its one state dict under parameter 0 (as PyTorch's): state under parameter 1 is refused."""
    a, b = leaf([1.0]), leaf([2.0])
    optimizer = LBFGS([a, b])
    saved = optimizer.state_dict()
    saved["state"] = {1: {"func_evals": 1, "n_iter": 0}}
    with pytest.raises(ValueError, match="parameter 0"):
        optimizer.load_state_dict(saved)


# ---- strong Wolfe line search --------------------------------------------------------------------

def test_strong_wolfe_accepts_a_first_step_whose_slope_is_within_the_default_c2():
    """Nocedal & Wright with PyTorch's c1 = 1e-4, c2 = 0.9: on f(x) = x^2 from x = 1 along d = -1,
    phi'(0) = -2 and the step t = 0.3 gives phi = 0.49 (sufficient decrease) and |phi'| = 1.4 <= 0.9 * 2:
    it is returned after its one evaluation."""
    d = np.array([-1.0])

    def evaluate(t):
        x = 1.0 + t * d[0]
        return x * x, np.array([2 * x])

    best, evaluations = strong_wolfe(evaluate, d, Trial(0.0, 1.0, np.array([2.0]), -2.0), 0.3)
    assert best.t == 0.3 and evaluations == 1


def test_strong_wolfe_makes_at_most_25_more_evaluations_by_default():
    """PyTorch's _strong_wolfe has max_ls = 25: on phi(t) = -t - 0.001 t^2 (always going down, the slope
    never flattening) it evaluates the first step and then 25 more, 26 in all."""
    seen = []

    def evaluate(t):
        seen.append(t)
        return -t - 0.001 * t * t, np.array([-1.0 - 0.002 * t])

    _, evaluations = strong_wolfe(evaluate, np.array([1.0]), Trial(0.0, 0.0, np.array([-1.0]), -1.0), 1.0)
    assert evaluations == 26 and len(seen) == 26


def test_strong_wolfe_out_of_evaluations_chooses_between_zero_and_the_last_step():
    """PyTorch: when the bracketing phase runs out of evaluations the bracket is [0, t_last], and the
    lower of the two is returned, not the trial before the last. On phi(t) = -t + t^4 with c2 = 0.01 and
    max_ls = 1 the trials are t = 0.2 (phi = -0.1984) and a longer one with a higher phi < 0: that longer
    one is returned."""
    seen = []

    def evaluate(t):
        seen.append(t)
        return -t + t ** 4, np.array([-1.0 + 4 * t ** 3])

    best, _ = strong_wolfe(evaluate, np.array([1.0]), Trial(0.0, 0.0, np.array([-1.0]), -1.0), 0.2,
                           c2=0.01, max_ls=1)
    assert len(seen) == 2 and seen[1] > 0.2
    assert -seen[1] + seen[1] ** 4 > -0.2 + 0.2 ** 4           # (the last step is higher than the one before)
    assert best.t == seen[1]


# ---- more of the same (a second round of mutants) ------------------------------------------------

def test_state_pop_returns_the_state_and_forgets_it():
    """`optimizer.state.pop(p)` as a dict's pop: returns p's state and leaves p with none."""
    p = leaf([1.0])
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.array([2.0])
    optimizer.step()
    popped = optimizer.state.pop(p)
    np.testing.assert_array_equal(popped["momentum_buffer"], [2.0])
    assert optimizer.state[p] == {}


def test_get_total_norm_error_if_nonfinite_raises_on_an_infinite_gradient():
    """torch.nn.utils.get_total_norm(error_if_nonfinite=True) raises RuntimeError for a NaN or inf norm."""
    with pytest.raises(RuntimeError, match="inf"):
        get_total_norm([np.array([1.0, np.inf])], error_if_nonfinite=True)


def test_clip_grads_with_norm_scales_by_max_norm_over_the_given_total_norm():
    """clip_grads_with_norm_: grad * min(max_norm / (total_norm + 1e-6), 1), with total_norm given as a
    0-d tensor (get_total_norm's result) or a number."""
    p = leaf([0.0, 0.0])
    p.grad = np.array([3.0, 4.0])
    clip_grads_with_norm_([p], max_norm=1.0, total_norm=mg.tensor(np.array(5.0)))
    np.testing.assert_allclose(p.grad, np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-14)


def test_rmsprop_loads_a_state_saved_without_its_step_count():
    """RMSprop's update does not read `step`, so a state without it loads (RMSprop.kept_state), and the
    next step is the documented one: v = alpha v + (1 - alpha) g^2, p -= lr g / (sqrt(v) + eps)."""
    p = leaf([1.0, -1.0])
    optimizer = RMSprop([p], lr=0.1)
    saved = optimizer.state_dict()
    v = np.array([0.5, 0.25])
    saved["state"] = {0: {"square_avg": v.copy()}}
    optimizer.load_state_dict(saved)
    g = np.array([1.0, -2.0])
    p.grad = g.copy()
    optimizer.step()
    v = 0.99 * v + 0.01 * g * g
    np.testing.assert_allclose(p.data, np.array([1.0, -1.0]) - 0.1 * g / (np.sqrt(v) + 1e-8), rtol=1e-14)
