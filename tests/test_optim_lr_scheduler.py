"""optim.lr_scheduler: StepLR, MultiStepLR, ExponentialLR, LambdaLR and ReduceLROnPlateau against
PyTorch's closed forms and hand-worked sequences."""

import math
import warnings

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.optim import SGD, lr_scheduler
from microgradseq.optim.lr_scheduler import (ConstantLR, ExponentialLR, LambdaLR, LinearLR, MultiStepLR,
                                            ReduceLROnPlateau, StepLR)


def optimizer(*lrs):
    """SGD with one group per learning rate."""
    return SGD([{"params": [mg.tensor(np.zeros(1), requires_grad=True)], "lr": lr} for lr in lrs])


def run(scheduler, epochs):
    """The first group's lr after construction and after each of `epochs` steps."""
    rates = [scheduler.optimizer.param_groups[0]["lr"]]
    for _ in range(epochs):
        scheduler.step()
        rates.append(scheduler.optimizer.param_groups[0]["lr"])
    return rates


# ---- the closed forms --------------------------------------------------------------------------

def test_step_lr_multiplies_by_gamma_every_step_size_epochs():
    """lr(e) = base * gamma^floor(e / step_size)."""
    rates = run(StepLR(optimizer(0.1), step_size=3, gamma=0.5), 10)
    np.testing.assert_allclose(rates, [0.1 * 0.5 ** (e // 3) for e in range(11)], rtol=1e-14)


def test_multi_step_lr_multiplies_by_gamma_at_each_milestone():
    """lr(e) = base * gamma^(number of milestones <= e)."""
    rates = run(MultiStepLR(optimizer(1.0), milestones=[2, 5], gamma=0.1), 7)
    np.testing.assert_allclose(rates, [1.0, 1.0, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01], rtol=1e-14)


def test_exponential_lr_multiplies_by_gamma_every_epoch():
    """lr(e) = base * gamma^e."""
    rates = run(ExponentialLR(optimizer(2.0), gamma=0.9), 6)
    np.testing.assert_allclose(rates, [2.0 * 0.9 ** e for e in range(7)], rtol=1e-14)


def test_constant_lr_multiplies_by_factor_for_total_iters_epochs_then_gives_the_rate_back():
    """PyTorch's ConstantLR: lr(e) = base * factor for e < total_iters, base after; its docs' example
    (lr 0.05, factor 0.5, total_iters 40): 0.025 until epoch 39, 0.05 from 40."""
    rates = run(ConstantLR(optimizer(0.05), factor=0.5, total_iters=40), 45)
    np.testing.assert_allclose(rates, [0.025] * 40 + [0.05] * 6, rtol=1e-14)


@pytest.mark.parametrize("start, end, total", [(0.05, 1.0, 40), (0.25, 1.0, 4), (1.0, 0.1, 5), (0.5, 0.0, 3)])
def test_linear_lr_moves_the_factor_in_a_straight_line_over_total_iters_epochs(start, end, total):
    """PyTorch's LinearLR: lr(e) = base * (start + (end - start) * min(e, total) / total); its docs' example
    is lr 0.05, start_factor 0.05, total_iters 40 (0.0025 at epoch 0, 0.05 from 40; the docs' comments print
    0.003687, 0.004875, ... from epoch 0, which are PyTorch's own rates for epochs 1, 2, ...: off by one): a
    warm-up, or a decay when end < start. The chainable step() and the closed form step(e) agree."""
    scheduler = LinearLR(optimizer(0.05), start_factor=start, end_factor=end, total_iters=total)
    rates = run(scheduler, total + 3)
    expected = [0.05 * (start + (end - start) * min(e, total) / total) for e in range(total + 4)]
    np.testing.assert_allclose(rates, expected, rtol=1e-12, atol=1e-15)
    scheduler.step(2)
    assert scheduler.optimizer.param_groups[0]["lr"] == pytest.approx(expected[2], rel=1e-14)


def test_warmup_schedules_check_their_arguments_and_state_dicts():
    """start_factor and ConstantLR's factor in (0, 1] (0 leaves nothing to divide by), end_factor in
    [0, 1], total_iters a positive integer: ValueError naming the schedule, and so does a state dict
    carrying a bad one; a good state dict round-trips."""
    for bad in ({"start_factor": 0}, {"start_factor": 1.5}, {"end_factor": -0.1}, {"total_iters": 0}):
        with pytest.raises(ValueError, match="LinearLR: "):
            LinearLR(optimizer(0.1), **bad)
    with pytest.raises(ValueError, match=r"ConstantLR: factor must be in \(0, 1\]"):
        ConstantLR(optimizer(0.1), factor=1.5)
    scheduler = ConstantLR(optimizer(0.1), factor=1.0, total_iters=2)
    state = scheduler.state_dict()
    scheduler.load_state_dict(state)                                  # factor 1.0 is a ConstantLR's to keep
    with pytest.raises(ValueError, match="ConstantLR.load_state_dict: factor must be in"):
        scheduler.load_state_dict({**state, "factor": 0.0})
    with pytest.raises(ValueError, match="ReduceLROnPlateau.load_state_dict: factor must be in"):
        plateau = ReduceLROnPlateau(optimizer(0.1))
        plateau.load_state_dict({**plateau.state_dict(), "factor": 1.0})   # (a plateau's factor stays < 1)


def resumed(lr, initial_lr):
    """An optimizer as after loading a checkpoint's state dict: the current rate and 'initial_lr'."""
    opt = optimizer(lr)
    opt.param_groups[0]["initial_lr"] = initial_lr
    return opt


def test_warmup_schedules_resumed_at_last_epoch_k_as_pytorch():
    """PyTorch's get_lr with last_epoch=k (its _is_initial flag): ConstantLR takes epoch k + 1's step (factor 0.5,
    total_iters 3, base 1: resumed at k = 2 holding 0.5 it gives the rate back, 1.0; at k = 0 it keeps 0.5);
    LinearLR keeps the held rate (start 0.25, total 4, base 1: factors 0.25, 0.4375, 0.625, 0.8125, 1; resumed at
    k = 1 holding 0.4375 it keeps 0.4375, then steps by the ratio f(3) / f(2) = 1.3, to 0.56875)."""
    opt = resumed(0.5, 1.0)
    assert ConstantLR(opt, factor=0.5, total_iters=3, last_epoch=2).last_epoch == 3
    assert opt.param_groups[0]["lr"] == 1.0
    opt = resumed(0.5, 1.0)
    ConstantLR(opt, factor=0.5, total_iters=3, last_epoch=0)
    assert opt.param_groups[0]["lr"] == 0.5
    opt = resumed(0.4375, 1.0)
    scheduler = LinearLR(opt, start_factor=0.25, total_iters=4, last_epoch=1)
    assert scheduler.last_epoch == 2 and opt.param_groups[0]["lr"] == 0.4375
    scheduler.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.56875, rel=1e-14)


def test_warmup_schedules_are_chainable_and_step_epoch_takes_the_closed_form():
    """step() goes on from a rate changed by hand (LinearLR: 0.4375 halved at epoch 1, then x f(2) / f(1) =
    0.3125); step(e) is the closed form (ConstantLR: base * factor for e < total_iters, base from e = total_iters)."""
    scheduler = LinearLR(optimizer(1.0), start_factor=0.25, total_iters=4)
    scheduler.step()
    scheduler.optimizer.param_groups[0]["lr"] /= 2
    scheduler.step()
    assert scheduler.optimizer.param_groups[0]["lr"] == pytest.approx(0.3125, rel=1e-14)
    scheduler = ConstantLR(optimizer(1.0), factor=0.5, total_iters=3)
    for epoch, expected in ((2, 0.5), (3, 1.0), (0, 0.5), (7, 1.0)):
        scheduler.step(epoch)
        assert scheduler.optimizer.param_groups[0]["lr"] == expected, epoch


def test_warmup_state_checks_are_their_own():
    """LinearLR's end_factor and total_iters are checked on load too, and the checks belong to the warm-up
    schedules: a schedule of yours keeping a total_iters of its own (a float, as PyTorch's PolynomialLR takes)
    loads its state dict as it comes."""
    state = LinearLR(optimizer(0.1)).state_dict()
    for name, bad in (("end_factor", 1.5), ("total_iters", 0), ("total_iters", 2.5)):
        with pytest.raises(ValueError, match=f"LinearLR.load_state_dict: {name} must be"):
            LinearLR(optimizer(0.1)).load_state_dict({**state, name: bad})

    class Polynomial(lr_scheduler.LRScheduler):
        def __init__(self, optimizer, total_iters=5.0, last_epoch=-1):
            self.total_iters = total_iters
            super().__init__(optimizer, last_epoch)

        def get_lr(self):
            return [base * (1 - min(self.last_epoch, self.total_iters) / self.total_iters) for base in self.base_lrs]

    schedule = Polynomial(optimizer(0.1))
    schedule.load_state_dict(schedule.state_dict())
    assert schedule.total_iters == 5.0


def test_lambda_lr_sets_base_times_the_function_already_at_construction():
    """lr(e) = base * lr_lambda(e), epoch 0 included (the constructor takes PyTorch's first step)."""
    rates = run(LambdaLR(optimizer(0.5), lr_lambda=lambda e: (e + 1) / 10), 3)
    np.testing.assert_allclose(rates, [0.05, 0.1, 0.15, 0.2], rtol=1e-14)


def test_lambda_lr_takes_one_function_per_group():
    opt = optimizer(1.0, 2.0)
    scheduler = LambdaLR(opt, [lambda e: 0.5 ** e, lambda e: 1.0 / (e + 1)])
    scheduler.step()
    scheduler.step()
    assert scheduler.get_last_lr() == pytest.approx([0.25, 2.0 / 3.0], rel=1e-14)


def test_each_group_is_scheduled_from_its_own_base_lr():
    opt = optimizer(1.0, 0.01)
    scheduler = StepLR(opt, step_size=1, gamma=0.5)
    scheduler.step()
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.5, 0.005], rel=1e-15)
    assert scheduler.base_lrs == [1.0, 0.01] and [g["initial_lr"] for g in opt.param_groups] == [1.0, 0.01]


def test_get_last_lr_is_what_the_last_step_set():
    opt = optimizer(1.0, 3.0)
    scheduler = ExponentialLR(opt, gamma=0.5)
    assert scheduler.get_last_lr() == [1.0, 3.0]
    scheduler.step()
    assert scheduler.get_last_lr() == [0.5, 1.5]


def test_a_rate_set_by_hand_carries_on_from_where_it_was_put():
    """PyTorch's chainable form: StepLR multiplies the group's current lr at its epochs."""
    opt = optimizer(1.0)
    scheduler = StepLR(opt, step_size=2, gamma=0.5)
    scheduler.step()                                  # epoch 1: unchanged
    opt.param_groups[0]["lr"] = 0.3
    scheduler.step()                                  # epoch 2: 0.3 * 0.5
    assert opt.param_groups[0]["lr"] == pytest.approx(0.15, rel=1e-15)


def test_step_with_an_epoch_jumps_to_the_closed_form():
    """step(7) sets lr(7) = base * gamma^floor(7 / 3), whatever the current rate."""
    opt = optimizer(1.0)
    scheduler = StepLR(opt, step_size=3, gamma=0.1)
    scheduler.step(7)
    assert scheduler.last_epoch == 7 and opt.param_groups[0]["lr"] == pytest.approx(0.01, rel=1e-14)


def test_the_optimizer_steps_with_the_scheduled_rate():
    """SGD with grad 1 under StepLR(step_size=2, gamma=0.5): p = -(1 + 1 + 0.5 + 0.5)."""
    p = mg.tensor(np.zeros(1), requires_grad=True)
    opt = SGD([p], lr=1.0)
    scheduler = StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(4):
        p.grad = np.ones(1)
        opt.step()
        scheduler.step()
    np.testing.assert_allclose(p.data, [-3.0], rtol=1e-15)


def test_the_old_name_lr_scheduler_is_kept():
    assert lr_scheduler._LRScheduler is lr_scheduler.LRScheduler


# ---- saving and resuming ------------------------------------------------------------------------

def test_a_loaded_scheduler_carries_on_the_closed_form():
    """Five epochs, save both state dicts; a new optimizer and scheduler loaded from them give
    lr(e) = base * gamma^floor(e / 2) for epochs 6..9."""
    opt = optimizer(1.0)
    scheduler = StepLR(opt, step_size=2, gamma=0.5)
    run(scheduler, 5)
    fresh_opt = optimizer(7.0)
    fresh = StepLR(fresh_opt, step_size=9, gamma=0.9)
    fresh_opt.load_state_dict(opt.state_dict())
    fresh.load_state_dict(scheduler.state_dict())
    assert fresh.last_epoch == 5 and fresh.step_size == 2
    rates = run(fresh, 4)[1:]
    np.testing.assert_allclose(rates, [0.5 ** (e // 2) for e in range(6, 10)], rtol=1e-14)


def test_resuming_with_last_epoch_needs_initial_lr():
    """last_epoch != -1 reads each group's 'initial_lr' (set by an earlier scheduler)."""
    with pytest.raises(ValueError, match=r"StepLR: resuming at last_epoch=4 needs 'initial_lr' in param_groups\[0\]"):
        StepLR(optimizer(1.0), step_size=2, last_epoch=4)


def test_a_scheduler_state_dict_of_another_kind_is_refused():
    scheduler = StepLR(optimizer(1.0), step_size=2)
    with pytest.raises(ValueError, match="StepLR.load_state_dict: expected a dict with the keys"):
        scheduler.load_state_dict(ExponentialLR(optimizer(1.0), gamma=0.5).state_dict())


def test_lambda_lr_state_dict_keeps_a_callable_objects_attributes_not_a_function():
    """As PyTorch: a plain function is saved as None; an object's __dict__ is saved and restored."""

    class Warmup:
        def __init__(self, epochs):
            self.epochs = epochs

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.epochs)

    saved = LambdaLR(optimizer(1.0, 1.0), [Warmup(3), lambda e: 1.0]).state_dict()
    assert saved["lr_lambdas"] == [{"epochs": 3}, None]
    warmup = Warmup(10)
    LambdaLR(optimizer(1.0, 1.0), [warmup, lambda e: 1.0]).load_state_dict(saved)
    assert warmup.epochs == 3


# ---- ReduceLROnPlateau -------------------------------------------------------------------------

def plateau(metrics, lr=1.0, **options):
    opt = optimizer(lr)
    scheduler = ReduceLROnPlateau(opt, **options)
    rates = []
    for metric in metrics:
        scheduler.step(metric)
        rates.append(opt.param_groups[0]["lr"])
    return rates


def test_plateau_lowers_the_rate_after_more_than_patience_bad_epochs():
    """patience 2: the third epoch without improvement multiplies lr by factor; counting restarts."""
    rates = plateau([5, 4, 4, 4, 4, 4, 4, 3], factor=0.5, patience=2, threshold=0.0, threshold_mode="abs")
    assert rates == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5]


def test_plateau_waits_cooldown_epochs_after_lowering():
    """patience 0, cooldown 2: lower, then two epochs whose bad results do not count."""
    rates = plateau([1.0] * 6, factor=0.5, patience=0, cooldown=2)
    assert rates == [1, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_plateau_never_goes_below_min_lr():
    rates = plateau([1.0] * 4, factor=0.1, patience=0, min_lr=0.05)
    assert rates == pytest.approx([1.0, 0.1, 0.05, 0.05], rel=1e-15)


def test_plateau_skips_a_reduction_smaller_than_eps():
    """lr 1e-8 * 0.5 would lower it by 5e-9 < eps = 1e-8: left as it is."""
    assert plateau([1.0, 1.0], lr=1e-8, factor=0.5, patience=0) == [1e-8, 1e-8]


@pytest.mark.parametrize("second, lowered", [(9.5, True), (8.9, False)])
def test_plateau_relative_threshold_in_min_mode(second, lowered):
    """mode 'min', 'rel': better means below best * (1 - threshold) = 10 * 0.9."""
    rates = plateau([10.0, second], factor=0.5, patience=0, threshold=0.1)
    assert (rates[-1] == 0.5) is lowered


@pytest.mark.parametrize("second, lowered", [(10.5, True), (11.5, False)])
def test_plateau_absolute_threshold_in_max_mode(second, lowered):
    """mode 'max', 'abs': better means above best + threshold = 10 + 1."""
    rates = plateau([10.0, second], mode="max", factor=0.5, patience=0, threshold=1.0, threshold_mode="abs")
    assert (rates[-1] == 0.5) is lowered


def test_plateau_takes_a_one_element_tensor_as_the_metric():
    assert plateau([mg.tensor(2.0), mg.tensor(3.0)], factor=0.5, patience=0) == [1.0, 0.5]


def test_plateau_state_dict_round_trip_keeps_the_count_of_bad_epochs():
    opt = optimizer(1.0)
    scheduler = ReduceLROnPlateau(opt, factor=0.5, patience=2)
    for metric in (3.0, 3.0, 3.0):
        scheduler.step(metric)
    other = ReduceLROnPlateau(optimizer(1.0), factor=0.5, patience=2)
    other.load_state_dict(scheduler.state_dict())
    assert (other.best, other.num_bad_epochs, other.last_epoch) == (3.0, 2, 3)


# ---- bad arguments -------------------------------------------------------------------------------

@pytest.mark.parametrize("make, error, message", [
    (lambda o: StepLR(o, step_size=0), ValueError, "StepLR: step_size must be a positive integer, got 0"),
    (lambda o: StepLR(o, step_size=2, gamma=math.nan), ValueError, "StepLR: gamma must be a finite number"),
    (lambda o: MultiStepLR(o, milestones=[2, -1]), ValueError, "MultiStepLR: each milestone must be an integer >= 0"),
    (lambda o: MultiStepLR(o, milestones=3), TypeError, "MultiStepLR: milestones must be a list of epochs"),
    (lambda o: ExponentialLR(o, gamma=-0.5), ValueError, "ExponentialLR: gamma must be a finite number >= 0"),
    (lambda o: LambdaLR(o, [lambda e: 1.0] * 2), ValueError, "LambdaLR: expected 1 lr_lambdas"),
    (lambda o: LambdaLR(o, 0.5), TypeError, "LambdaLR: lr_lambda must be a function of the epoch"),
    (lambda o: ReduceLROnPlateau(o, factor=1.0), ValueError, r"ReduceLROnPlateau: factor must be in \[0, 1\)"),
    (lambda o: ReduceLROnPlateau(o, mode="mean"), ValueError, "ReduceLROnPlateau: mode must be 'min' or 'max'"),
    (lambda o: ReduceLROnPlateau(o, threshold_mode="x"), ValueError, "threshold_mode must be 'rel' or 'abs'"),
    (lambda o: ReduceLROnPlateau(o, min_lr=[0.0, 0.0]), ValueError, "expected 1 min_lrs"),
    (lambda o: ReduceLROnPlateau(o, patience=-1), ValueError, "patience must be an integer >= 0"),
    (lambda o: StepLR([o], step_size=2), TypeError, "StepLR: expected an optimizer"),
], ids=["step_size", "gamma nan", "milestone", "milestones", "negative gamma", "lambda count", "lambda type",
        "factor", "mode", "threshold_mode", "min_lr count", "patience", "not an optimizer"])
def test_bad_scheduler_arguments_raise_naming_the_scheduler(make, error, message):
    opt = optimizer(0.1)
    with pytest.raises(error, match=message):
        make(opt)
    assert opt.param_groups[0]["lr"] == 0.1 and "initial_lr" not in opt.param_groups[0]


def test_a_lambda_giving_nan_is_refused_and_changes_nothing():
    opt = optimizer(1.0)
    scheduler = LambdaLR(opt, lambda e: 1.0 if e < 2 else math.nan)
    scheduler.step()
    with pytest.raises(ValueError, match=r"LambdaLR.step: lr_lambda\(2\) must be a finite number, got nan"):
        scheduler.step()
    assert scheduler.last_epoch == 1 and opt.param_groups[0]["lr"] == 1.0


def test_plateau_refuses_a_metric_that_is_not_a_number():
    with pytest.raises(TypeError, match="ReduceLROnPlateau.step: expected the metric as a number, got str"):
        ReduceLROnPlateau(optimizer(1.0)).step("low")


# ---- groups added later, and state dicts checked entry by entry (from a reliability audit) -------------

def added_group(opt, lr=1.0):
    opt.add_param_group({"params": [mg.tensor(np.zeros(1), requires_grad=True)], "lr": lr})


def test_a_chainable_schedule_scales_a_group_added_later_as_pytorchs_does():
    opt = optimizer(1.0)
    scheduler = StepLR(opt, step_size=1, gamma=0.5)
    added_group(opt, lr=4.0)
    scheduler.step()
    scheduler.step()
    assert [group["lr"] for group in opt.param_groups] == [0.25, 1.0]


@pytest.mark.parametrize("make, advance", [
    (lambda opt: LambdaLR(opt, lambda epoch: 0.5 ** epoch), lambda s: s.step()),
    (lambda opt: StepLR(opt, step_size=1, gamma=0.5), lambda s: s.step(3)),
    (lambda opt: ReduceLROnPlateau(opt, patience=0, min_lr=[0.1]), lambda s: [s.step(1.0) for _ in range(3)]),
], ids=["LambdaLR", "StepLR.step(epoch)", "ReduceLROnPlateau with a list of min_lr"])
def test_a_rate_from_per_group_values_refuses_a_group_added_later_and_changes_nothing(make, advance):
    """base_lrs, lr_lambdas or min_lrs would have left the new group out, its rate silently unscheduled."""
    opt = optimizer(1.0)
    scheduler = make(opt)
    added_group(opt)
    before, state = [group["lr"] for group in opt.param_groups], scheduler.state_dict()
    with pytest.raises(ValueError, match="the optimizer has 2 param groups, but this schedule has 1"):
        advance(scheduler)
    assert [group["lr"] for group in opt.param_groups] == before and scheduler.state_dict() == state


def test_a_chainable_schedule_with_a_group_added_later_reloads_its_own_state_dict():
    """(A checkpoint resume: load_state_dict refused base_lrs shorter than the groups, though step() serves them.)"""
    opt = optimizer(1.0)
    scheduler = StepLR(opt, step_size=1, gamma=0.5)
    added_group(opt)
    scheduler.step()
    saved = scheduler.state_dict()
    scheduler.load_state_dict(saved)
    scheduler.step()
    assert [group["lr"] for group in opt.param_groups] == [0.25, 0.25]


def test_plateau_with_one_min_lr_serves_a_group_added_later_as_pytorchs_does():
    opt = optimizer(1.0)
    scheduler = ReduceLROnPlateau(opt, patience=0, factor=0.1, min_lr=0.05)
    added_group(opt)
    for _ in range(3):
        scheduler.step(1.0)
    assert [group["lr"] for group in opt.param_groups] == [0.05, 0.05]


@pytest.mark.parametrize("make, change, message", [
    (lambda: StepLR(optimizer(1.0), step_size=2), {"step_size": 0}, "step_size must be a positive integer, got 0"),
    (lambda: StepLR(optimizer(1.0), step_size=2), {"last_epoch": 2.5}, "last_epoch must be an integer >= -1, got 2.5"),
    (lambda: StepLR(optimizer(1.0), step_size=2), {"gamma": "0.1"}, "gamma must be a finite number >= 0"),
    (lambda: MultiStepLR(optimizer(1.0), [2]), {"milestones": [2]}, "milestones must be a Counter of epochs"),
    (lambda: ReduceLROnPlateau(optimizer(1.0)), {"mode": "mni"}, "mode must be one of 'min', 'max', got 'mni'"),
    (lambda: ReduceLROnPlateau(optimizer(1.0)), {"patience": -1}, "patience must be an integer >= 0"),
    (lambda: ReduceLROnPlateau(optimizer(1.0)), {"best": "low"}, "best must be a number"),
    (lambda: LambdaLR(optimizer(1.0), lambda e: 1.0), {"lr_lambdas": [[("n", 5), 3]]},
     r"expected lr_lambdas, a list of 1 entries \(None, or a dict"),
], ids=["step_size 0", "last_epoch 2.5", "gamma text", "milestones list", "mode", "patience",
        "best", "lr_lambdas"])
def test_a_bad_scheduler_state_dict_is_refused_naming_the_entry_and_nothing_changes(make, change, message):
    scheduler = make()
    before = scheduler.state_dict()
    saved = {**scheduler.state_dict(), **change}
    with pytest.raises(ValueError, match=f"{type(scheduler).__name__}.load_state_dict: {message}"):
        scheduler.load_state_dict(saved)
    assert scheduler.state_dict() == before


# ---- from a mutation check of the schedulers (each test failed on a mutant the suite let through) ----

def _opt(lr):
    return SGD([mg.tensor(np.zeros(2), requires_grad=True)], lr=lr)


def test_multistep_lr_a_milestone_listed_twice_multiplies_by_gamma_twice():
    """PyTorch: lr = base_lr * gamma ** (number of milestones <= epoch), a repeated milestone
    counting twice (MultiStepLR keeps a Counter). Kills get_lr's `gamma ** count` -> `gamma`."""
    opt = _opt(1.0)
    scheduler = MultiStepLR(opt, milestones=[2, 2, 4], gamma=0.1)
    rates = [opt.param_groups[0]["lr"]]
    for _ in range(5):
        scheduler.step()
        rates.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(rates, [1.0, 1.0, 1e-2, 1e-2, 1e-3, 1e-3], rtol=1e-12)


def test_exponential_lr_step_to_an_epoch_uses_the_closed_form():
    """step(epoch) sets lr = base_lr * gamma ** epoch (PyTorch's closed form). Kills
    closed_form_lr's `gamma ** last_epoch` -> `gamma ** (last_epoch - 1)`."""
    opt = _opt(2.0)
    scheduler = ExponentialLR(opt, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler.step(3)
    assert opt.param_groups[0]["lr"] == pytest.approx(2.0 * 0.5 ** 3, rel=1e-12)


def test_plateau_in_max_mode_needs_a_relative_gain_above_the_threshold():
    """mode='max', threshold_mode='rel': a metric improves only above best * (1 + threshold).
    best = 1.0, threshold = 0.1: 1.05 is a bad epoch, and with patience 0 the rate halves.
    Kills `best * (1 + threshold)` -> `best * (1 - threshold)`."""
    opt = _opt(1.0)
    scheduler = ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=0, threshold=0.1)
    scheduler.step(1.0)
    assert opt.param_groups[0]["lr"] == 1.0
    scheduler.step(1.05)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5)
    scheduler.step(1.2)           # above 1.0 * 1.1: an improvement, no further cut
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5)
