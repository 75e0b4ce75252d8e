"""Tests written from a mutation check of the learning-rate schedules (optim/lr_scheduler/: the base's hooks
`_check_start`, `_initial_step` and `_update_lr`; SequentialLR and ChainedScheduler with `_all_or_nothing` and
`recursive_undo`; CyclicLR and OneCycleLR; CosineAnnealingWarmRestarts; PolynomialLR; MultiplicativeLR):
each pins a behaviour that a hand-made wrong implementation changed without any other test noticing.
Expected values are written out from PyTorch's documented formulas and defaults (torch/optim/lr_scheduler.py)
or from the library's own docstrings, never taken from the library's output."""

import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.optim import SGD, Adam
from microgradseq.optim.lr_scheduler import (ChainedScheduler, ConstantLR, CosineAnnealingWarmRestarts, CyclicLR,
                                            ExponentialLR, LambdaLR, LRScheduler, MultiplicativeLR, OneCycleLR,
                                            PolynomialLR, SequentialLR, StepLR)


def param():
    return mg.tensor(np.zeros(1), requires_grad=True)


def sgd(*lrs, **options):
    """SGD with one group per learning rate."""
    return SGD([{"params": [param()], "lr": lr} for lr in lrs], **options)


def rates(scheduler, steps):
    """The first group's lr after construction and after each of `steps` steps."""
    group = scheduler.optimizer.param_groups[0]
    seen = [group["lr"]]
    for _ in range(steps):
        scheduler.step()
        seen.append(group["lr"])
    return seen


def options(optimizer):
    """Every group's options (not its parameters), to see that nothing changed."""
    return [{name: value for name, value in group.items() if name != "params"} for group in optimizer.param_groups]


def warm_restart(base, t_cur, t_i, eta_min=0.0):
    """PyTorch's SGDR: eta_min + (base - eta_min) (1 + cos(pi T_cur / T_i)) / 2."""
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


def triangle(t, up, down):
    """PyTorch's CyclicLR height: cycle = floor(1 + t / (up + down)), x = 1 + t / (up + down) - cycle,
    x / r for x <= r else (x - 1) / (r - 1), with r = up / (up + down)."""
    total = up + down
    cycle = math.floor(1 + t / total)
    x = 1.0 + t / total - cycle
    r = up / total
    return x / r if x <= r else (x - 1) / (r - 1)


# ---- the base's hooks: _check_start, _initial_step, step(epoch) --------------------------------------------

def test_resuming_at_last_epoch_0_needs_initial_lr_too():
    """_check_start: every last_epoch but -1 is a resume (PyTorch raises for a group without 'initial_lr' unless
    last_epoch == -1), so last_epoch=0 needs 'initial_lr' as much as last_epoch=5 does."""
    optimizer = sgd(1.0)
    with pytest.raises(ValueError, match=r"StepLR: resuming at last_epoch=0 needs 'initial_lr'"):
        StepLR(optimizer, step_size=2, last_epoch=0)
    assert "initial_lr" not in optimizer.param_groups[0]


def test_last_epoch_below_minus_one_is_refused_even_with_initial_lr():
    """_check_start's docstring: ValueError unless last_epoch is an integer >= -1 (-2 is not a resume)."""
    optimizer = sgd(1.0)
    optimizer.param_groups[0]["initial_lr"] = 1.0
    with pytest.raises(ValueError, match="last_epoch must be an integer >= -1, got -2"):
        StepLR(optimizer, step_size=2, last_epoch=-2)


def test_an_initial_step_that_fails_leaves_the_schedule_not_initial():
    """_initial_step's `_is_initial` is True only while it runs, a failed run too: ExponentialLR's next step then
    multiplies by gamma (PyTorch's get_lr keeps the rate only during the initial step)."""
    optimizer = sgd(1.0)
    scheduler = ExponentialLR(optimizer, gamma=0.5)
    optimizer.param_groups[0]["lr"] = math.nan
    with pytest.raises(ValueError, match="learning rate of param group 0"):
        scheduler._initial_step()
    assert "_is_initial" not in scheduler.__dict__ and scheduler._is_initial is False
    optimizer.param_groups[0]["lr"] = 1.0
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == 0.5


@pytest.mark.parametrize("epoch", [-1, 2.5])
def test_step_to_an_epoch_refuses_a_negative_or_fractional_epoch_changing_nothing(epoch):
    """step(epoch) takes an integer epoch >= 0 (else StepLR's closed form base gamma^(epoch // step_size)
    would be computed at epoch -1 or 2.5)."""
    optimizer = sgd(1.0)
    scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
    with pytest.raises(ValueError, match="StepLR.step: epoch must be an integer >= 0"):
        scheduler.step(epoch)
    assert optimizer.param_groups[0]["lr"] == 1.0 and scheduler.last_epoch == 0


def test_a_schedule_whose_first_step_fails_adds_no_initial_lr():
    """The constructor's step raises before any change (base.py's comment): the group gets no 'initial_lr'."""
    optimizer = sgd(1.0)
    with pytest.raises(ValueError, match=r"lr_lambda\(0\) must be a finite number"):
        LambdaLR(optimizer, lambda epoch: math.nan)
    assert "initial_lr" not in optimizer.param_groups[0] and optimizer.param_groups[0]["lr"] == 1.0


# ---- SequentialLR --------------------------------------------------------------------------------------------

def test_sequential_lr_refuses_milestones_that_do_not_increase():
    """Milestones are epochs in increasing order: [2, 2] would leave the second schedule no epoch at all."""
    optimizer = sgd(1.0)
    schedules = [ConstantLR(optimizer, factor=0.5, total_iters=2), ExponentialLR(optimizer, gamma=0.9),
                 StepLR(optimizer, step_size=1)]
    with pytest.raises(ValueError, match="milestones must be a list of epochs .* in increasing order"):
        SequentialLR(optimizer, schedules, milestones=[2, 2])


def test_sequential_lr_refuses_too_few_milestones():
    """PyTorch: the number of schedulers must be one more than the number of milestones."""
    optimizer = sgd(1.0)
    schedules = [ConstantLR(optimizer, factor=0.5, total_iters=2), ExponentialLR(optimizer, gamma=0.9),
                 StepLR(optimizer, step_size=1)]
    with pytest.raises(ValueError, match="expected 2 milestones"):
        SequentialLR(optimizer, schedules, milestones=[2])


def test_sequential_lr_takes_a_milestone_at_epoch_0():
    """Milestone 0 is an epoch like any other (PyTorch takes it): the first schedule's initial step gives epoch 0
    (base * 0.5), and from epoch 1 the second one steps from its own epoch 0: base * 0.9^(e - 1)."""
    optimizer = sgd(1.0)
    sequence = SequentialLR(optimizer, [ConstantLR(optimizer, factor=0.5, total_iters=3),
                                        LambdaLR(optimizer, lambda epoch: 0.9 ** epoch)], milestones=[0])
    np.testing.assert_allclose(rates(sequence, 3), [0.5, 1.0, 0.9, 0.81], rtol=1e-12)


def test_sequential_lr_milestone_does_not_count_a_step_of_the_schedule_taking_over():
    """PyTorch's SequentialLR calls `_update_lr(0)` at a milestone, which counts no step: the second schedule's
    _step_count stays at 1 (its constructor's step) there, and is 2 after the next step."""
    optimizer = sgd(1.0)
    sequence = SequentialLR(optimizer, [ConstantLR(optimizer, factor=0.5, total_iters=2),
                                        ExponentialLR(optimizer, gamma=0.9)], milestones=[2])
    np.testing.assert_allclose(rates(sequence, 2), [0.5, 0.5, 1.0], rtol=1e-12)
    assert sequence.state_dict()["_schedulers"][1]["_step_count"] == 1
    sequence.step()
    assert sequence.state_dict()["_schedulers"][1]["_step_count"] == 2
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.9, rel=1e-12)


def test_sequential_lr_starts_its_first_schedule_with_an_initial_step():
    """PyTorch calls the first schedule's `_initial_step()`: ExponentialLR keeps the rate at epoch 0 (base),
    then halves it, and its step count starts again at 1."""
    optimizer = sgd(1.0)
    first = ExponentialLR(optimizer, gamma=0.5)
    sequence = SequentialLR(optimizer, [first, StepLR(optimizer, step_size=1)], milestones=[5])
    assert first.state_dict()["_step_count"] == 1
    np.testing.assert_allclose(rates(sequence, 3), [1.0, 0.5, 0.25, 0.125], rtol=1e-12)


def test_sequential_lr_with_warm_restarts_first_starts_its_cosine_at_the_top():
    """CosineAnnealingWarmRestarts first: after recursive_undo its last_epoch is -1, and its step then goes to
    epoch 0 (PyTorch's `if epoch is None and last_epoch < 0: epoch = 0`), T_cur = 0: the base rate, then the
    cosine with T_0 = 4; ExponentialLR takes over at milestone 6 at its epoch 0."""
    optimizer = sgd(1.0)
    sequence = SequentialLR(optimizer, [CosineAnnealingWarmRestarts(optimizer, T_0=4),
                                        ExponentialLR(optimizer, gamma=0.5)], milestones=[6])
    expected = [warm_restart(1.0, e % 4, 4) for e in range(6)] + [1.0, 0.5]
    np.testing.assert_allclose(rates(sequence, 7), expected, rtol=1e-12, atol=1e-15)


def test_sequential_lr_refuses_a_group_added_after_its_schedules():
    """SequentialLR resets every group to its 'initial_lr': a group added since has none (ValueError, not a
    KeyError)."""
    optimizer = sgd(1.0)
    schedules = [ConstantLR(optimizer, factor=0.5, total_iters=2), ExponentialLR(optimizer, gamma=0.9)]
    optimizer.add_param_group({"params": [param()], "lr": 0.3})
    with pytest.raises(ValueError, match=r"param_groups\[1\] has no 'initial_lr'"):
        SequentialLR(optimizer, schedules, milestones=[2])


class _FailsLater(LRScheduler):
    """A schedule of one's own that, from epoch `fail_at`, counts a try and moves a group option and then fails."""

    def __init__(self, optimizer, fail_at):
        self.fail_at, self.tries = fail_at, 0
        super().__init__(optimizer)

    def get_lr(self):
        if self.last_epoch >= self.fail_at:
            self.tries += 1
            self.optimizer.param_groups[0]["momentum"] = 0.123
            raise RuntimeError("this schedule fails")
        return self._rates()


def test_a_sequential_step_that_fails_changes_nothing():
    """SequentialLR.step is all or nothing: its own last_epoch, the failing schedule's state and the groups'
    options are as they were."""
    optimizer = sgd(1.0, momentum=0.9)
    sequence = SequentialLR(optimizer, [_FailsLater(optimizer, fail_at=2), ExponentialLR(optimizer, gamma=0.5)],
                            milestones=[5])
    sequence.step()
    before, state = options(optimizer), sequence.state_dict()
    with pytest.raises(RuntimeError, match="this schedule fails"):
        sequence.step()
    assert sequence.last_epoch == 1 and options(optimizer) == before and sequence.state_dict() == state
    assert sequence._schedulers[0].tries == 0


def test_a_sequential_step_that_fails_at_a_milestone_keeps_its_epoch():
    """The schedule taking over at milestone 2 gives NaN: ValueError, and SequentialLR stays at epoch 1."""
    class Factor:
        value = 1.0

        def __call__(self, epoch):
            return self.value

    optimizer, factor = sgd(1.0), Factor()
    sequence = SequentialLR(optimizer, [ConstantLR(optimizer, factor=0.5, total_iters=5), LambdaLR(optimizer, factor)],
                            milestones=[2])
    sequence.step()
    factor.value = math.nan
    before, state = options(optimizer), sequence.state_dict()
    with pytest.raises(ValueError, match=r"lr_lambda\(0\) must be a finite number"):
        sequence.step()
    assert sequence.last_epoch == 1 and options(optimizer) == before and sequence.state_dict() == state


def test_composite_state_dicts_are_copies():
    """state_dict(): everything the schedule keeps, copied: changing the returned dict changes nothing."""
    optimizer = sgd(1.0)
    sequence = SequentialLR(optimizer, [ConstantLR(optimizer, factor=0.5, total_iters=2),
                                        ExponentialLR(optimizer, gamma=0.9)], milestones=[2])
    state = sequence.state_dict()
    state["_milestones"].append(7)
    state["_last_lr"].append(3.0)
    assert sequence._milestones == [2] and sequence.get_last_lr() == [0.5]


def test_sequential_lr_keeps_numpy_milestones_as_python_ints():
    """Milestones given as numpy integers are kept as Python ints (the state dict holds plain numbers)."""
    optimizer = sgd(1.0)
    sequence = SequentialLR(optimizer, [ConstantLR(optimizer, factor=0.5, total_iters=2),
                                        ExponentialLR(optimizer, gamma=0.9)], milestones=[np.int64(2)])
    assert [type(m) for m in sequence.state_dict()["_milestones"]] == [int]


def test_composites_get_last_lr_right_after_construction():
    """PyTorch: ChainedScheduler's _last_lr is the groups' rates when made, SequentialLR's its first schedule's."""
    optimizer = sgd(1.0, 2.0)
    chain = ChainedScheduler([ConstantLR(optimizer, factor=0.5, total_iters=2), ExponentialLR(optimizer, gamma=0.9)])
    assert chain.get_last_lr() == [0.5, 1.0]
    optimizer = sgd(1.0, 2.0)
    sequence = SequentialLR(optimizer, [ConstantLR(optimizer, factor=0.25, total_iters=2),
                                        ExponentialLR(optimizer, gamma=0.9)], milestones=[2])
    assert sequence.get_last_lr() == [0.25, 0.5]


def test_sequential_lr_of_a_single_schedule_is_that_schedule():
    """One schedule and no milestones (PyTorch takes them): every step is that schedule's step."""
    optimizer = sgd(1.0)
    sequence = SequentialLR(optimizer, [ExponentialLR(optimizer, gamma=0.5)], milestones=[])
    np.testing.assert_allclose(rates(sequence, 3), [1.0, 0.5, 0.25, 0.125], rtol=1e-12)


def test_a_composite_state_dict_whose_schedule_states_are_not_dicts_is_refused_naming_them():
    optimizer = sgd(1.0)
    chain = ChainedScheduler([ConstantLR(optimizer, factor=0.5, total_iters=2), ExponentialLR(optimizer, gamma=0.9)])
    state = chain.state_dict()
    with pytest.raises(ValueError, match="expected _schedulers, a list of 2 state dicts"):
        chain.load_state_dict({**state, "_schedulers": [state["_schedulers"][0], "not a state dict"]})


# ---- ChainedScheduler ----------------------------------------------------------------------------------------

def test_chained_scheduler_steps_its_schedules_in_the_order_given():
    """PyTorch steps them in order: LambdaLR sets base / (e + 1), then ExponentialLR halves that, so
    lr(e) = 0.5 / (e + 1) from epoch 1 (in the other order LambdaLR would overwrite the halving)."""
    optimizer = sgd(1.0)
    chain = ChainedScheduler([LambdaLR(optimizer, lambda epoch: 1.0 / (epoch + 1)), ExponentialLR(optimizer, gamma=0.5)])
    np.testing.assert_allclose(rates(chain, 4), [1.0] + [0.5 / (e + 1) for e in range(1, 5)], rtol=1e-12)


def test_chained_scheduler_with_something_not_an_optimizer_raises_type_error():
    """_check_start: a TypeError unless `optimizer` is one (PyTorch's own message differs: a ValueError that the
    schedulers belong to another optimizer)."""
    optimizer = sgd(1.0)
    with pytest.raises(TypeError, match="ChainedScheduler: expected an optimizer"):
        ChainedScheduler([StepLR(optimizer, step_size=1)], optimizer="not an optimizer")


# ---- CyclicLR --------------------------------------------------------------------------------------------------

def test_cyclic_lr_with_step_size_down_0_is_a_sawtooth():
    """PyTorch takes step_size_down=0: total_size = up, step_ratio = 1, so the rate climbs for `up` steps and
    drops straight back to base_lr: base + (max - base) (t mod up) / up."""
    optimizer = sgd(0.1)
    scheduler = CyclicLR(optimizer, base_lr=0.1, max_lr=0.5, step_size_up=4, step_size_down=0, cycle_momentum=False)
    np.testing.assert_allclose(rates(scheduler, 9), [0.1 + 0.4 * (t % 4) / 4 for t in range(10)], rtol=1e-12)


def test_cyclic_lr_custom_scale_fn_by_iterations():
    """With a scale_fn of one's own, scale_mode is used as given: 'iterations' scales by scale_fn(t)."""
    optimizer = sgd(0.1)
    scheduler = CyclicLR(optimizer, base_lr=0.1, max_lr=0.5, step_size_up=2, scale_fn=lambda x: 0.5 ** x,
                         scale_mode="iterations", cycle_momentum=False)
    expected = [0.1 + 0.4 * triangle(t, 2, 2) * 0.5 ** t for t in range(9)]
    np.testing.assert_allclose(rates(scheduler, 8), expected, rtol=1e-12)


def test_cyclic_lr_ignores_mode_when_given_a_scale_fn():
    """PyTorch's docs: with scale_fn given, `mode` is ignored (so any string will do)."""
    optimizer = sgd(0.1)
    scheduler = CyclicLR(optimizer, base_lr=0.1, max_lr=0.5, step_size_up=2, mode="my own",
                         scale_fn=lambda cycle: 1.0, cycle_momentum=False)
    np.testing.assert_allclose(rates(scheduler, 4), [0.1, 0.3, 0.5, 0.3, 0.1], rtol=1e-12)


def test_cyclic_lr_scale_fn_gets_cycles_counted_from_1():
    """PyTorch: cycle = floor(1 + t / (up + down)), so scale_fn sees 1, 1, 1, 1, 2, ... (never 0)."""
    seen = []

    def scale(cycle):
        seen.append(cycle)
        return 1.0

    scheduler = CyclicLR(sgd(0.1), base_lr=0.1, max_lr=0.5, step_size_up=2, scale_fn=scale, cycle_momentum=False)
    rates(scheduler, 8)
    assert min(seen) == 1 and sorted(set(seen)) == [1, 2, 3]


def test_cyclic_lr_cycles_between_its_own_base_lr_when_groups_already_have_initial_lr():
    """PyTorch sets `self.base_lrs = base_lrs` after the base constructor, so a group's older 'initial_lr'
    (here StepLR's 1.0) does not become the bottom of the cycle: from step 1, 0.1 + 0.4 height."""
    optimizer = sgd(1.0)
    StepLR(optimizer, step_size=10)
    scheduler = CyclicLR(optimizer, base_lr=0.1, max_lr=0.5, step_size_up=2, cycle_momentum=False)
    assert scheduler.base_lrs == [0.1]
    np.testing.assert_allclose(rates(scheduler, 5)[1:], [0.3, 0.5, 0.3, 0.1, 0.3], rtol=1e-12)


@pytest.mark.parametrize("make, message", [
    (lambda: CyclicLR(sgd(0.1, momentum=0.9), base_lr=0.1, max_lr=0.5, gamma=-0.5), "gamma"),
    (lambda: CyclicLR(Adam([{"params": [param()]}, {"params": [param()]}]), base_lr=0.1, max_lr=0.5,
                      base_momentum=[0.8, 1.0]), r"base_momentum\[1\]"),
    (lambda: OneCycleLR(sgd(0.1, momentum=0.9), max_lr=1.0, total_steps=10, final_div_factor=0), "final_div_factor"),
], ids=["CyclicLR gamma < 0", "CyclicLR a beta of 1 in a list", "OneCycleLR final_div_factor 0"])
def test_bad_cycle_arguments_raise_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_cyclic_lr_takes_tuples_of_one_value_per_group():
    """PyTorch's _format_param takes a list or a tuple: group 1 cycles between 0.2 and 1.0."""
    optimizer = sgd(0.1, 0.2)
    CyclicLR(optimizer, base_lr=(0.1, 0.2), max_lr=(0.5, 1.0), step_size_up=2, cycle_momentum=False).step()
    assert [group["lr"] for group in optimizer.param_groups] == [pytest.approx(0.3), pytest.approx(0.6)]


# ---- OneCycleLR ------------------------------------------------------------------------------------------------

def test_one_cycle_lr_total_steps_takes_precedence_over_epochs():
    """PyTorch's docs: total_steps given explicitly comes first, then epochs * steps_per_epoch."""
    scheduler = OneCycleLR(sgd(0.1, momentum=0.9), max_lr=1.0, total_steps=10, epochs=3, steps_per_epoch=2)
    assert scheduler.total_steps == 10


def test_one_cycle_lr_resuming_needs_its_group_entries():
    """Resuming (last_epoch != -1) reads 'max_lr', 'min_lr' (and the momenta) from the groups: a ValueError
    naming them when they are missing, not a KeyError."""
    optimizer = sgd(0.1, momentum=0.9)
    optimizer.param_groups[0]["initial_lr"] = 0.04
    with pytest.raises(ValueError, match=r"resuming at last_epoch=3 needs \['max_lr', 'min_lr'"):
        OneCycleLR(optimizer, max_lr=1.0, total_steps=10, last_epoch=3)


def test_one_cycle_lr_resumes_without_momentum_entries_when_not_cycling_momentum():
    """cycle_momentum=False needs only 'initial_lr', 'max_lr' and 'min_lr'. pct_start 0.3 of 10 steps: phases end
    at 2 and 9; step 4 is 2/7 of the way down the line from max_lr to min_lr."""
    optimizer = sgd(0.1)
    optimizer.param_groups[0].update(initial_lr=0.04, max_lr=1.0, min_lr=4e-6)
    OneCycleLR(optimizer, max_lr=1.0, total_steps=10, anneal_strategy="linear", cycle_momentum=False, last_epoch=3)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1.0 + (4e-6 - 1.0) * 2 / 7, rel=1e-12)


def test_one_cycle_lr_refuses_a_state_dict_without_phases():
    optimizer = sgd(0.1, momentum=0.9)
    scheduler = OneCycleLR(optimizer, max_lr=1.0, total_steps=10)
    state = scheduler.state_dict()
    state["_schedule_phases"] = []
    with pytest.raises(ValueError, match="_schedule_phases must be a list of phases"):
        scheduler.load_state_dict(state)


def test_one_cycle_lr_writes_its_group_entries_over_an_older_initial_lr():
    """PyTorch (last_epoch=-1) sets every group's initial_lr = max_lr / div_factor, max_lr and min_lr = initial_lr /
    final_div_factor, whatever was there: a StepLR made before (initial_lr 1.0) does not change the cycle's start."""
    optimizer = sgd(1.0, momentum=0.9)
    StepLR(optimizer, step_size=10)
    OneCycleLR(optimizer, max_lr=0.9, total_steps=10)
    group = optimizer.param_groups[0]
    assert (group["initial_lr"], group["max_lr"], group["min_lr"]) == (0.9 / 25.0, 0.9, 0.9 / 25.0 / 1e4)
    assert group["lr"] == pytest.approx(0.9 / 25.0, rel=1e-12)


def test_one_cycle_lr_refuses_a_phase_without_a_numeric_end_step():
    optimizer = sgd(0.1, momentum=0.9)
    scheduler = OneCycleLR(optimizer, max_lr=1.0, total_steps=10)
    state = scheduler.state_dict()
    state["_schedule_phases"][0]["end_step"] = "two"
    with pytest.raises(ValueError, match="_schedule_phases must be a list of phases"):
        scheduler.load_state_dict(state)


# ---- a param group added after the schedule: refused, nothing changed --------------------------------------------

@pytest.mark.parametrize("make, advance", [
    (lambda opt: CyclicLR(opt, base_lr=0.1, max_lr=0.5, step_size_up=2, cycle_momentum=False), lambda s: s.step()),
    (lambda opt: OneCycleLR(opt, max_lr=1.0, total_steps=10, cycle_momentum=False), lambda s: s.step()),
    (lambda opt: CosineAnnealingWarmRestarts(opt, T_0=3), lambda s: s.step()),
    (lambda opt: PolynomialLR(opt, total_iters=4), lambda s: s.step(2)),
    (lambda opt: MultiplicativeLR(opt, lambda epoch: 0.5), lambda s: s.step()),
], ids=["CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts", "PolynomialLR.step(epoch)", "MultiplicativeLR"])
def test_a_schedule_refuses_a_group_added_later_and_changes_nothing(make, advance):
    """Rates from per-group values (base_lrs, max_lrs, lr_lambdas) would leave the new group out."""
    optimizer = sgd(1.0)
    scheduler = make(optimizer)
    optimizer.add_param_group({"params": [param()], "lr": 0.3})
    before, state = options(optimizer), scheduler.state_dict()
    with pytest.raises(ValueError, match="the optimizer has 2 param groups, but this schedule has 1"):
        advance(scheduler)
    assert options(optimizer) == before and scheduler.state_dict() == state


def test_warm_restarts_step_that_fails_after_a_restart_keeps_its_period():
    """T_0=2, T_mult=2: after 3 steps the period is T_i = 4 (T_cur 1); a step refused (a group added since) leaves
    T_cur and T_i as they were, not T_i back at T_0."""
    optimizer = sgd(1.0)
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2)
    rates(scheduler, 3)
    assert (scheduler.T_cur, scheduler.T_i) == (1, 4)
    optimizer.add_param_group({"params": [param()], "lr": 0.3})
    with pytest.raises(ValueError, match="the optimizer has 2 param groups"):
        scheduler.step()
    assert (scheduler.T_cur, scheduler.T_i, scheduler.last_epoch) == (1, 4, 3)


def test_a_negative_rate_of_any_group_is_refused_changing_no_group():
    """_update_lr checks every group's new rate before setting any (all or none): group 1's factor -1 at epoch 1."""
    optimizer = sgd(1.0, 2.0)
    scheduler = LambdaLR(optimizer, [lambda epoch: 0.5, lambda epoch: 1.0 if epoch == 0 else -1.0])
    with pytest.raises(ValueError, match="the learning rate of param group 1"):
        scheduler.step()
    assert [group["lr"] for group in optimizer.param_groups] == [0.5, 2.0] and scheduler.last_epoch == 0


# ---- CosineAnnealingWarmRestarts ---------------------------------------------------------------------------------

def test_warm_restarts_resumed_far_along_restarts_by_the_modulo():
    """PyTorch's step: T_cur + 1 >= T_i gives T_cur = (T_cur + 1) % T_i. Resumed at last_epoch=7 with T_0=3,
    epoch 8 is 2 epochs after its restart: (1 + cos(2 pi / 3)) / 2 = 0.25."""
    optimizer = sgd(1.0)
    optimizer.param_groups[0]["initial_lr"] = 1.0
    CosineAnnealingWarmRestarts(optimizer, T_0=3, last_epoch=7)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.25, rel=1e-12)


def test_warm_restarts_step_to_a_later_epoch_with_t_mult_1():
    """PyTorch: with T_mult == 1, T_cur = epoch % T_0: step(5.5) with T_0=4 is 1.5 into its second period, and
    step() goes on to epoch 6, T_cur 2.5."""
    optimizer = sgd(1.0)
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=4)
    scheduler.step(5.5)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(warm_restart(1.0, 1.5, 4), rel=1e-12)
    scheduler.step()
    assert scheduler.last_epoch == 6
    assert optimizer.param_groups[0]["lr"] == pytest.approx(warm_restart(1.0, 2.5, 4), rel=1e-12)


def test_warm_restarts_default_t_mult_is_1():
    """PyTorch's default T_mult=1: every period T_0 epochs long."""
    optimizer = sgd(1.0)
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=2)
    assert scheduler.T_mult == 1
    np.testing.assert_allclose(rates(scheduler, 6), [warm_restart(1.0, e % 2, 2) for e in range(7)], rtol=1e-12)


def test_warm_restarts_state_dict_checks_t_cur_and_t_i():
    """A fresh schedule's state (T_cur 0) loads; a fractional T_i (periods are whole epochs) is refused."""
    optimizer = sgd(1.0)
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=3)
    state = scheduler.state_dict()
    assert state["T_cur"] == 0
    CosineAnnealingWarmRestarts(sgd(1.0), T_0=3).load_state_dict(state)
    with pytest.raises(ValueError, match="T_i"):
        scheduler.load_state_dict({**state, "T_i": 2.5})


# ---- PolynomialLR ----------------------------------------------------------------------------------------------

def test_polynomial_lr_defaults_are_pytorchs():
    """PyTorch's defaults total_iters=5, power=1.0: base (1 - min(e, 5) / 5): 1, 0.8, 0.6, 0.4, 0.2, 0, 0."""
    optimizer = sgd(1.0)
    scheduler = PolynomialLR(optimizer)
    assert (scheduler.total_iters, scheduler.power) == (5, 1.0)
    np.testing.assert_allclose(rates(scheduler, 6), [1.0, 0.8, 0.6, 0.4, 0.2, 0.0, 0.0], rtol=1e-12, atol=1e-15)


def test_polynomial_lr_step_to_an_epoch_past_total_iters_is_0():
    """PyTorch's closed form: base (1 - min(total_iters, epoch) / total_iters)^power, 0 past total_iters."""
    optimizer = sgd(1.0)
    scheduler = PolynomialLR(optimizer, total_iters=5, power=1.0)
    scheduler.step(7)
    assert optimizer.param_groups[0]["lr"] == 0.0


# ---- MultiplicativeLR and the functions of the epoch ----------------------------------------------------------------

def test_multiplicative_lr_resumed_keeps_the_rates():
    """The package's docs (and PyTorch since 2.8): made with last_epoch=k, MultiplicativeLR keeps the groups'
    current rates; the next step multiplies by lr_lambda."""
    optimizer = sgd(0.3)
    optimizer.param_groups[0]["initial_lr"] = 1.0
    scheduler = MultiplicativeLR(optimizer, lambda epoch: 0.5, last_epoch=4)
    assert optimizer.param_groups[0]["lr"] == 0.3 and scheduler.last_epoch == 5
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == 0.15


def test_multiplicative_lr_refuses_a_factor_that_is_not_a_number():
    optimizer = sgd(1.0)
    scheduler = MultiplicativeLR(optimizer, lambda epoch: None)
    with pytest.raises(ValueError, match=r"lr_lambda\(1\) must be a finite number, got None"):
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == 1.0


def test_multiplicative_lr_refuses_a_state_dict_with_another_count_of_lr_lambdas():
    optimizer = sgd(1.0)
    scheduler = MultiplicativeLR(optimizer, lambda epoch: 0.5)
    state = scheduler.state_dict()
    with pytest.raises(ValueError, match="expected lr_lambdas, a list of 1 entries"):
        scheduler.load_state_dict({**state, "lr_lambdas": [None, None]})


def test_multiplicative_lr_load_state_dict_copies_a_function_objects_attributes():
    """The loaded attributes are the function's own: changing the state dict afterwards leaves them alone."""
    class Decay:
        def __init__(self):
            self.history = [1]

        def __call__(self, epoch):
            return 0.5

    source = MultiplicativeLR(sgd(1.0), Decay())
    source.lr_lambdas[0].history.append(2)
    state = source.state_dict()
    target = MultiplicativeLR(sgd(1.0), Decay())
    target.load_state_dict(state)
    state["lr_lambdas"][0]["history"].append(3)
    assert target.lr_lambdas[0].history == [1, 2]


@pytest.mark.parametrize("kind", [LambdaLR, MultiplicativeLR])
def test_functions_of_the_epoch_take_a_tuple_of_one_per_group(kind):
    """PyTorch takes a list or a tuple of lr_lambdas, one per group."""
    optimizer = sgd(1.0, 2.0)
    scheduler = kind(optimizer, (lambda epoch: 0.5, lambda epoch: 0.25))
    scheduler.step()
    assert [group["lr"] for group in optimizer.param_groups] == [1.0 * 0.5, 2.0 * 0.25]
