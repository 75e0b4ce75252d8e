"""optim.lr_scheduler: SequentialLR, ChainedScheduler, OneCycleLR, CosineAnnealingWarmRestarts, PolynomialLR,
MultiplicativeLR and CyclicLR against PyTorch's documented formulas, written out by hand epoch by epoch (and
the momentum or first beta that OneCycleLR and CyclicLR move); their state dicts through mg.save and mg.load
into fresh schedules that carry on alike; PyTorch's own state-dict layout; bad arguments refused before
anything changes."""

import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.optim import SGD, Adagrad, Adam, lr_scheduler
from microgradseq.optim.lr_scheduler import (ChainedScheduler, ConstantLR, CosineAnnealingLR,
                                            CosineAnnealingWarmRestarts, CyclicLR, ExponentialLR, LambdaLR, LinearLR,
                                            MultiplicativeLR, OneCycleLR, PolynomialLR, ReduceLROnPlateau,
                                            SequentialLR, StepLR)


def sgd(*lrs, **options):
    """SGD with one group per learning rate."""
    return SGD([{"params": [mg.tensor(np.zeros(1), requires_grad=True)], "lr": lr} for lr in lrs], **options)


def rates(scheduler, steps, key="lr"):
    """The first group's `key` after construction and after each of `steps` steps."""
    group = scheduler.optimizer.param_groups[0]
    seen = [group[key]]
    for _ in range(steps):
        scheduler.step()
        seen.append(group[key])
    return seen


def through_a_file(obj, tmp_path):
    """`obj` after mg.save and mg.load (no pickle: a tree of dicts, lists, numbers and strings)."""
    path = tmp_path / "checkpoint.npz"
    mg.save(obj, path)
    return mg.load(path)


def options(optimizer):
    """Every group's options (not its parameters), to see that nothing changed."""
    return [{name: value for name, value in group.items() if name != "params"} for group in optimizer.param_groups]


def cosine(start, end, fraction):
    """PyTorch's cosine annealing from `start` to `end`: end + (start - end) (1 + cos(pi fraction)) / 2."""
    return end + (start - end) * (1 + math.cos(math.pi * fraction)) / 2


# ---- SequentialLR ----------------------------------------------------------------------------------------

def test_sequential_lr_is_its_docs_example_a_constant_warm_up_then_exponential_decay():
    """PyTorch's docs: lr 0.05, ConstantLR(factor=0.1, total_iters=20), then ExponentialLR(gamma=0.9) from
    milestone 20: 0.005 for e < 20, 0.05 * 0.9^(e - 20) from e = 20 (0.05, 0.045, 0.0405, ...)."""
    optimizer = sgd(0.05)
    scheduler = SequentialLR(optimizer, [ConstantLR(optimizer, factor=0.1, total_iters=20),
                                         ExponentialLR(optimizer, gamma=0.9)], milestones=[20])
    expected = [0.005 if e < 20 else 0.05 * 0.9 ** (e - 20) for e in range(41)]
    np.testing.assert_allclose(rates(scheduler, 40), expected, rtol=1e-13)
    assert scheduler.last_epoch == 40 and scheduler.get_last_lr() == [optimizer.param_groups[0]["lr"]]


def linear_then_cosine(optimizer):
    """A linear warm-up over 5 epochs, then a cosine over 10 epochs down to 0.001."""
    return SequentialLR(optimizer, [LinearLR(optimizer, start_factor=0.1, total_iters=5),
                                    CosineAnnealingLR(optimizer, T_max=10, eta_min=0.001)], milestones=[5])


def warm_then_cosine(base, epoch):
    """base (0.1 + 0.9 e / 5) for e < 5; then 0.001 + (base - 0.001)(1 + cos(pi (e - 5) / 10)) / 2."""
    return base * (0.1 + 0.9 * epoch / 5) if epoch < 5 else cosine(base, 0.001, (epoch - 5) / 10)


def test_sequential_lr_warms_up_linearly_then_anneals_by_the_cosine_from_its_own_epoch_0():
    """Two groups, each from its own rate; the cosine takes over at milestone 5 at its epoch 0 (the base rate)."""
    optimizer = sgd(0.4, 0.02)
    scheduler = linear_then_cosine(optimizer)
    first, second = [optimizer.param_groups[0]["lr"]], [optimizer.param_groups[1]["lr"]]
    for _ in range(15):
        scheduler.step()
        first.append(optimizer.param_groups[0]["lr"])
        second.append(optimizer.param_groups[1]["lr"])
    np.testing.assert_allclose(first, [warm_then_cosine(0.4, e) for e in range(16)], rtol=1e-12)
    np.testing.assert_allclose(second, [warm_then_cosine(0.02, e) for e in range(16)], rtol=1e-12)


def test_sequential_lr_takes_back_the_constructor_steps_of_its_schedules():
    """As PyTorch's recursive_undo: the schedules' last_epoch go back by one, then the first one steps again (0)."""
    optimizer = sgd(1.0)
    warm, decay = ConstantLR(optimizer, factor=0.5, total_iters=2), StepLR(optimizer, step_size=1, gamma=0.5)
    scheduler = SequentialLR(optimizer, [warm, decay], milestones=[2])
    assert (warm.last_epoch, decay.last_epoch, scheduler.last_epoch) == (0, -1, 0)
    assert optimizer.param_groups[0]["lr"] == 0.5


def test_sequential_lr_state_dict_through_a_file_carries_on_in_a_fresh_schedule(tmp_path):
    """Seven epochs, then optimizer and schedule state dicts through mg.save / mg.load into fresh ones (made
    with other settings): epochs 8..15 are the warm-up-then-cosine closed form."""
    optimizer = sgd(0.4)
    scheduler = linear_then_cosine(optimizer)
    rates(scheduler, 7)
    saved = scheduler.state_dict()
    assert [type(entry) for entry in saved["_schedulers"]] == [dict, dict] and saved["_milestones"] == [5]
    checkpoint = through_a_file({"optimizer": optimizer.state_dict(), "scheduler": saved}, tmp_path)
    fresh_optimizer = sgd(9.0)
    fresh = SequentialLR(fresh_optimizer, [LinearLR(fresh_optimizer, start_factor=0.5, total_iters=2),
                                           CosineAnnealingLR(fresh_optimizer, T_max=3)], milestones=[2])
    fresh_optimizer.load_state_dict(checkpoint["optimizer"])
    fresh.load_state_dict(checkpoint["scheduler"])
    assert fresh.last_epoch == 7 and fresh._milestones == [5] and fresh._schedulers[1].T_max == 10
    np.testing.assert_allclose(rates(fresh, 8)[1:], [warm_then_cosine(0.4, e) for e in range(8, 16)], rtol=1e-12)


def test_sequential_lr_with_a_chain_first_undoes_the_chains_schedules_too():
    """recursive_undo reaches into a ChainedScheduler: ConstantLR(0.5, 3) x ExponentialLR(0.9) until milestone 6,
    base 1, then CosineAnnealingLR(T_max=10) from its own epoch 0. As PyTorch's: the chain's first step is a
    plain step() of each schedule (only the chain is in its initial step), so ExponentialLR already takes
    its gamma at epoch 0: 0.9^(e + 1) (x 0.5 for e < 3). Without the recursion the chain's schedules would
    be a step further on (ConstantLR past its epoch 0: epoch 0's rate 0.9, not 0.45)."""
    optimizer = sgd(1.0)
    constant, exponential = ConstantLR(optimizer, factor=0.5, total_iters=3), ExponentialLR(optimizer, gamma=0.9)
    scheduler = SequentialLR(optimizer, [ChainedScheduler([constant, exponential]), CosineAnnealingLR(optimizer, 10)],
                             milestones=[6])
    assert (constant.last_epoch, exponential.last_epoch) == (0, 0)
    expected = [0.9 ** (e + 1) * (0.5 if e < 3 else 1.0) if e < 6 else cosine(1.0, 0.0, (e - 6) / 10)
                for e in range(17)]
    np.testing.assert_allclose(rates(scheduler, 16), expected, rtol=1e-12)


def test_sequential_lr_refuses_a_composite_after_the_first_schedule_changing_nothing():
    """A composite has no epoch 0 to start at when its milestone comes (PyTorch's fails there, mid-run)."""
    optimizer = sgd(1.0)
    warm = LinearLR(optimizer, start_factor=0.5, total_iters=2)
    chain = ChainedScheduler([ExponentialLR(optimizer, gamma=0.9)])
    before, states = options(optimizer), (warm.state_dict(), chain.state_dict())
    with pytest.raises(ValueError, match=r"SequentialLR: schedulers\[1\] is a ChainedScheduler, which cannot take"):
        SequentialLR(optimizer, [warm, chain], milestones=[2])
    assert options(optimizer) == before and (warm.state_dict(), chain.state_dict()) == states


def pytorch_state(state, **extra):
    """A state dict as PyTorch's schedules write it: with the flags its step sets and clears."""
    return {**state, "_get_lr_called_within_step": False, "_is_initial": False, **extra}


def test_sequential_lr_loads_a_pytorch_shaped_state_dict():
    """PyTorch's SequentialLR state dict: `_schedulers` (its schedules' state dicts, each with PyTorch's
    bookkeeping flags), `_milestones`, `last_epoch`, `_last_lr`; epoch 3 of ConstantLR(0.5, 4) then
    ExponentialLR(0.5) from milestone 4, base 1: lr(e) = 0.5 for e < 4, 0.5^(e - 4) after."""
    state = {"_schedulers": [pytorch_state({"factor": 0.5, "total_iters": 4, "base_lrs": [1.0], "last_epoch": 3,
                                            "_step_count": 4, "_last_lr": [0.5]}),
                             pytorch_state({"gamma": 0.5, "base_lrs": [1.0], "last_epoch": -1, "_step_count": 1,
                                            "_last_lr": [0.5]})],
             "_milestones": [4], "last_epoch": 3, "_last_lr": [0.5]}
    optimizer = sgd(1.0)
    scheduler = SequentialLR(optimizer, [ConstantLR(optimizer, factor=0.5, total_iters=4),
                                         ExponentialLR(optimizer, gamma=0.5)], milestones=[4])
    optimizer.param_groups[0]["lr"] = 0.5
    scheduler.load_state_dict(state)
    np.testing.assert_allclose(rates(scheduler, 4)[1:], [1.0, 0.5, 0.25, 0.125], rtol=1e-15)


@pytest.mark.parametrize("make, error, message", [
    (lambda o, a, b: SequentialLR(o, [], milestones=[]), ValueError, "expected a list of at least one schedule"),
    (lambda o, a, b: SequentialLR(o, [a, b], milestones=[2, 4]), ValueError, "expected 1 milestones"),
    (lambda o, a, b: SequentialLR(o, [a, b, a], milestones=[4, 2]), ValueError, "in increasing order, got"),
    (lambda o, a, b: SequentialLR(o, [a, "b"], milestones=[2]), TypeError, r"schedulers\[1\] must be a schedule"),
    (lambda o, a, b: SequentialLR(o, [a, ReduceLROnPlateau(o)], milestones=[2]), ValueError,
     r"schedulers\[1\] is a ReduceLROnPlateau"),
    (lambda o, a, b: SequentialLR(o, [a, StepLR(sgd(1.0), 2)], milestones=[2]), ValueError,
     r"schedulers\[1\] \(StepLR\) schedules another optimizer"),
    (lambda o, a, b: SequentialLR([o], [a, b], milestones=[2]), TypeError, "expected an optimizer"),
    (lambda o, a, b: ChainedScheduler([]), ValueError, "ChainedScheduler: expected a list of at least one"),
    (lambda o, a, b: ChainedScheduler([a, StepLR(sgd(1.0), 2)]), ValueError, "schedules another optimizer"),
    (lambda o, a, b: ChainedScheduler([a, b], optimizer=sgd(1.0)), ValueError, r"schedulers\[0\] \(ConstantLR\)"),
], ids=["no schedules", "milestone count", "milestone order", "not a schedule", "plateau", "other optimizer",
        "not an optimizer", "chained: none", "chained: other optimizer", "chained: optimizer given"])
def test_bad_compositions_raise_naming_the_class_and_change_nothing(make, error, message):
    optimizer = sgd(1.0)
    first, second = ConstantLR(optimizer, factor=0.5, total_iters=2), ExponentialLR(optimizer, gamma=0.5)
    before, states = options(optimizer), (first.state_dict(), second.state_dict())
    with pytest.raises(error, match=message) as raised:
        make(optimizer, first, second)
    assert str(raised.value).split(":")[0] in ("SequentialLR", "ChainedScheduler")
    assert options(optimizer) == before and (first.state_dict(), second.state_dict()) == states


def test_a_composite_state_dict_with_one_bad_schedule_state_changes_nothing():
    """The second schedule's state is bad (gamma text): the first, already loaded, is put back too."""
    optimizer = sgd(1.0)
    scheduler = SequentialLR(optimizer, [ConstantLR(optimizer, factor=0.5, total_iters=2),
                                         ExponentialLR(optimizer, gamma=0.5)], milestones=[2])
    rates(scheduler, 3)
    before = scheduler.state_dict()
    bad = {**before, "last_epoch": 1, "_schedulers": [{**before["_schedulers"][0], "last_epoch": 0},
                                                      {**before["_schedulers"][1], "gamma": "half"}]}
    with pytest.raises(ValueError, match="ExponentialLR.load_state_dict: gamma must be a finite number"):
        scheduler.load_state_dict(bad)
    with pytest.raises(ValueError, match=r"SequentialLR.load_state_dict: expected _schedulers, a list of 2"):
        scheduler.load_state_dict({**before, "_schedulers": before["_schedulers"][:1]})
    with pytest.raises(ValueError, match="SequentialLR.load_state_dict: expected 1 _milestones"):
        scheduler.load_state_dict({**before, "_milestones": [2, 3]})
    assert scheduler.state_dict() == before


def test_a_composite_step_that_fails_halfway_changes_nothing():
    """ChainedScheduler: StepLR steps, then LambdaLR's function gives NaN; StepLR and the rate are put back."""
    optimizer = sgd(1.0)
    chain = ChainedScheduler([StepLR(optimizer, step_size=1, gamma=0.5),
                              LambdaLR(optimizer, lambda epoch: 1.0 if epoch < 2 else math.nan)])
    chain.step()
    before, states = options(optimizer), chain.state_dict()
    with pytest.raises(ValueError, match=r"LambdaLR.step: lr_lambda\(2\) must be a finite number"):
        chain.step()
    assert options(optimizer) == before and chain.state_dict() == states


# ---- ChainedScheduler ------------------------------------------------------------------------------------

def test_chained_scheduler_multiplies_its_schedules_factors():
    """PyTorch's docs example: lr 0.05, ConstantLR(factor=0.1, total_iters=20) and ExponentialLR(gamma=0.9)
    stepped together: lr(e) = 0.05 * 0.9^e * (0.1 for e < 20, else 1) (0.000675 at 19, 0.006078 at 20; the
    docs' comments print these ten times larger)."""
    optimizer = sgd(0.05)
    chain = ChainedScheduler([ConstantLR(optimizer, factor=0.1, total_iters=20), ExponentialLR(optimizer, gamma=0.9)])
    expected = [0.05 * 0.9 ** e * (0.1 if e < 20 else 1.0) for e in range(31)]
    np.testing.assert_allclose(rates(chain, 30), expected, rtol=1e-12)
    assert chain.get_last_lr() == [optimizer.param_groups[0]["lr"]] and chain.optimizer is optimizer


def test_chained_scheduler_state_dict_through_a_file_and_pytorchs_layout_carry_on(tmp_path):
    """A state dict of `_schedulers` and `_last_lr` (PyTorch's keys), through a file and with PyTorch's flags
    in each schedule's, loads into a fresh chain: epochs 6..9 of base * gamma^e * factor."""
    optimizer = sgd(2.0)
    chain = ChainedScheduler([ConstantLR(optimizer, factor=0.5, total_iters=7), ExponentialLR(optimizer, gamma=0.8)])
    rates(chain, 5)
    saved = through_a_file({"optimizer": optimizer.state_dict(), "scheduler": chain.state_dict()}, tmp_path)
    assert sorted(saved["scheduler"]) == ["_last_lr", "_schedulers"]
    expected = [2.0 * 0.8 ** e * (0.5 if e < 7 else 1.0) for e in range(6, 10)]
    for layout in (saved["scheduler"], {**saved["scheduler"], "_schedulers": [
            pytorch_state(state) for state in saved["scheduler"]["_schedulers"]]}):
        fresh_optimizer = sgd(1.0)
        fresh = ChainedScheduler([ConstantLR(fresh_optimizer, factor=0.9, total_iters=2),
                                  ExponentialLR(fresh_optimizer, gamma=0.1)], optimizer=fresh_optimizer)
        fresh_optimizer.load_state_dict(saved["optimizer"])
        fresh.load_state_dict(layout)
        np.testing.assert_allclose(rates(fresh, 4)[1:], expected, rtol=1e-12)


# ---- OneCycleLR -------------------------------------------------------------------------------------------

def test_one_cycle_lr_cos_two_phases_with_sgd_momentum():
    """max_lr 1, total_steps 10, pct_start 0.3: initial 1 / 25 = 0.04, min 0.04 / 1e4; the rise ends at step
    0.3 * 10 - 1 = 2, the fall at 9 (step 10, allowed, goes a little past). lr: cosine 0.04 -> 1 over steps
    0..2, then 1 -> 4e-6 over 2..9; momentum the other way, 0.95 -> 0.85, then 0.85 -> 0.95."""
    optimizer = sgd(0.5, momentum=0.9)
    scheduler = OneCycleLR(optimizer, max_lr=1.0, total_steps=10)
    group = optimizer.param_groups[0]
    assert (group["initial_lr"], group["max_lr"], group["min_lr"]) == (0.04, 1.0, 0.04 / 1e4)
    lr, momentum = [group["lr"]], [group["momentum"]]
    for _ in range(10):
        scheduler.step()
        lr.append(group["lr"])
        momentum.append(group["momentum"])
    np.testing.assert_allclose(lr, [cosine(0.04, 1.0, t / 2) if t <= 2 else cosine(1.0, 4e-6, (t - 2) / 7)
                                    for t in range(11)], rtol=1e-12)
    np.testing.assert_allclose(momentum, [cosine(0.95, 0.85, t / 2) if t <= 2 else cosine(0.85, 0.95, (t - 2) / 7)
                                          for t in range(11)], rtol=1e-12)


def test_one_cycle_lr_linear_three_phases_moves_adams_first_beta_only():
    """three_phase, 'linear', epochs 4 x steps_per_epoch 5 = 20 steps, pct_start 0.25, max_lr 0.5, div_factor
    10, final_div_factor 100: phases end at 4, 8 and 19; lr 0.05 -> 0.5 -> 0.05 -> 5e-4 in straight lines,
    betas[0] 0.95 -> 0.85 -> 0.95 -> 0.95, betas[1] kept at 0.99. At step 20 (total_steps, one past the last
    phase's end) PyTorch's line goes on to 0.05 - 0.0495 * 12 / 11 < 0; here the rate stays at min_lr."""
    optimizer = Adam([mg.tensor(np.zeros(1), requires_grad=True)], lr=0.1, betas=(0.9, 0.99))
    scheduler = OneCycleLR(optimizer, max_lr=0.5, epochs=4, steps_per_epoch=5, pct_start=0.25,
                           anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0, three_phase=True)

    def line(start, end, fraction):
        return start + (end - start) * fraction

    def expected(t, low_lr, top_lr, end_lr, high, low):
        if t <= 4:
            return line(low_lr, top_lr, t / 4), line(high, low, t / 4)
        if t <= 8:
            return line(top_lr, low_lr, (t - 4) / 4), line(low, high, (t - 4) / 4)
        return line(low_lr, end_lr, min((t - 8) / 11, 1.0)), high     # (step 20: stays at min_lr, see below)

    group, seen = optimizer.param_groups[0], []
    for t in range(21):
        seen.append((group["lr"], *group["betas"]))
        if t < 20:
            scheduler.step()
    want = [(*expected(t, 0.05, 0.5, 5e-4, 0.95, 0.85), 0.99) for t in range(21)]
    np.testing.assert_allclose(seen, want, rtol=1e-12)
    assert isinstance(group["betas"], tuple)


def test_one_cycle_lr_refuses_a_step_past_total_steps_and_changes_nothing():
    optimizer = sgd(0.1, momentum=0.9)
    scheduler = OneCycleLR(optimizer, max_lr=1.0, total_steps=3)
    rates(scheduler, 3)
    before, state = options(optimizer), scheduler.state_dict()
    with pytest.raises(ValueError, match="OneCycleLR.step: tried to step 4 times; total_steps is 3"):
        scheduler.step()
    assert options(optimizer) == before and scheduler.state_dict() == state


def test_one_cycle_lr_state_dict_through_a_file_and_pytorchs_layout_carry_on(tmp_path):
    """Four steps of a 12-step cycle; the optimizer's state dict (its groups hold initial_lr, max_lr, min_lr
    and the momenta) and the schedule's through a file, into fresh ones: steps 5..12 are the closed form,
    lr and momentum; a PyTorch state dict (its flags, the same keys) loads alike."""
    optimizer = sgd(0.1, momentum=0.9)
    scheduler = OneCycleLR(optimizer, max_lr=2.0, total_steps=12, pct_start=0.5, base_momentum=0.8,
                           max_momentum=0.9, final_div_factor=10.0)
    rates(scheduler, 4)
    saved = through_a_file({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp_path)
    assert sorted(saved["scheduler"]) == ["_anneal_func_type", "_last_lr", "_schedule_phases", "_step_count",
                                          "base_lrs", "cycle_momentum", "last_epoch", "total_steps", "use_beta1"]

    def expected(t):
        if t <= 5:
            return cosine(0.08, 2.0, t / 5), cosine(0.9, 0.8, t / 5)
        return cosine(2.0, 0.008, (t - 5) / 6), cosine(0.8, 0.9, (t - 5) / 6)

    for layout in (saved["scheduler"], pytorch_state(saved["scheduler"])):
        fresh_optimizer = sgd(0.3, momentum=0.5)
        fresh = OneCycleLR(fresh_optimizer, max_lr=7.0, total_steps=40)
        fresh_optimizer.load_state_dict(saved["optimizer"])
        fresh.load_state_dict(layout)
        group, seen = fresh_optimizer.param_groups[0], []
        for _ in range(8):
            fresh.step()
            seen.append((group["lr"], group["momentum"]))
        np.testing.assert_allclose(seen, [expected(t) for t in range(5, 13)], rtol=1e-12)


@pytest.mark.parametrize("make, message", [
    (lambda o: OneCycleLR(o, max_lr=1.0), "expected total_steps, or epochs and steps_per_epoch, got total_steps=None"),
    (lambda o: OneCycleLR(o, max_lr=1.0, total_steps=0), "total_steps must be a positive integer, got 0"),
    (lambda o: OneCycleLR(o, max_lr=1.0, epochs=2, steps_per_epoch=1.5), "steps_per_epoch must be a positive"),
    (lambda o: OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.5), r"pct_start must be in \[0, 1\], got 1.5"),
    (lambda o: OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="cosine"),
     "anneal_strategy must be one of 'cos', 'linear', got 'cosine'"),
    (lambda o: OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=10), "max_lr must have the same length as"),
    (lambda o: OneCycleLR(o, max_lr=-1.0, total_steps=10), "max_lr must be a finite number >= 0, got -1.0"),
    (lambda o: OneCycleLR(o, max_lr=1.0, total_steps=10, div_factor=0), "div_factor must be a finite number > 0"),
    (lambda o: OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=0.1), "phase 0 of the cycle spans no steps"),
    (lambda o: OneCycleLR(o, max_lr=1.0, total_steps=10, last_epoch=3), "resuming at last_epoch=3 needs"),
], ids=["no length", "total_steps 0", "steps_per_epoch", "pct_start", "anneal_strategy", "max_lr count",
        "max_lr", "div_factor", "empty phase", "resuming"])
def test_bad_one_cycle_arguments_raise_naming_it_and_change_nothing(make, message):
    optimizer = sgd(0.1, momentum=0.3)
    before = options(optimizer)
    with pytest.raises(ValueError, match=f"OneCycleLR: {message}"):
        make(optimizer)
    assert options(optimizer) == before


def test_cycling_the_momentum_needs_an_optimizer_with_one():
    """Adagrad has neither momentum nor betas: ValueError (as PyTorch's), unless cycle_momentum=False."""
    for make in (lambda o: OneCycleLR(o, max_lr=1.0, total_steps=5), lambda o: CyclicLR(o, 0.1, 1.0)):
        optimizer = Adagrad([mg.tensor(np.zeros(1), requires_grad=True)], lr=0.1)
        before = options(optimizer)
        with pytest.raises(ValueError, match="cycle_momentum=True needs an optimizer with a momentum or betas"):
            make(optimizer)
        assert options(optimizer) == before
    OneCycleLR(optimizer, max_lr=1.0, total_steps=5, cycle_momentum=False)
    assert "momentum" not in optimizer.param_groups[0]
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.04, rel=1e-14)


# ---- CosineAnnealingWarmRestarts ---------------------------------------------------------------------------

def warm_restarts(base, eta_min, T_0, T_mult, epoch):
    """SGDR by hand: walk the periods T_0, T_0 T_mult, ... to the one holding `epoch`, then the cosine."""
    start, period = 0, T_0
    while epoch >= start + period:
        start, period = start + period, period * T_mult
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * (epoch - start) / period)) / 2


@pytest.mark.parametrize("T_0, T_mult", [(3, 2), (4, 1), (2, 3)])
def test_warm_restarts_follow_the_cosine_and_restart_at_the_top(T_0, T_mult):
    """eta_min + (base - eta_min)(1 + cos(pi T_cur / T_i)) / 2; with T_0 3, T_mult 2 the restarts are at
    epochs 0, 3, 9, 21 (lr = base there), the lowest rates just before."""
    optimizer = sgd(0.5)
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=T_0, T_mult=T_mult, eta_min=0.01)
    expected = [warm_restarts(0.5, 0.01, T_0, T_mult, e) for e in range(30)]
    np.testing.assert_allclose(rates(scheduler, 29), expected, rtol=1e-12)
    if (T_0, T_mult) == (3, 2):
        assert [expected[e] for e in (0, 3, 9, 21)] == [0.5] * 4


def test_warm_restarts_step_to_an_epoch_then_on_as_its_docs_say():
    """step(26) then step() is step(27) (PyTorch's docs); a fraction of an epoch (after a batch) moves T_cur
    by the fraction. With T_mult 3, epoch 363 = 3 + 9 + 27 + 81 + 243 is a restart (lr = base), where
    PyTorch's log_3 puts it at the end of the period before (rounding)."""
    optimizer = sgd(1.0)
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=3, T_mult=2)
    scheduler.step(26)
    scheduler.step()
    assert scheduler.last_epoch == 27 and (scheduler.T_cur, scheduler.T_i) == (6, 24)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(warm_restarts(1.0, 0.0, 3, 2, 27), rel=1e-14)
    scheduler.step(4.5)
    assert scheduler.last_epoch == 4 and (scheduler.T_cur, scheduler.T_i) == (1.5, 6)
    assert optimizer.param_groups[0]["lr"] == pytest.approx((1 + math.cos(math.pi * 1.5 / 6)) / 2, rel=1e-14)
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=3, T_mult=3)
    scheduler.step(363)
    assert (scheduler.T_cur, scheduler.T_i, optimizer.param_groups[0]["lr"]) == (0, 729, 1.0)


def test_warm_restarts_state_dict_through_a_file_carries_on(tmp_path):
    optimizer = sgd(0.2)
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2, eta_min=0.001)
    rates(scheduler, 4)
    saved = through_a_file(scheduler.state_dict(), tmp_path)
    fresh = CosineAnnealingWarmRestarts(sgd(0.2), T_0=5)
    fresh.load_state_dict(pytorch_state(saved))
    assert (fresh.T_0, fresh.T_i, fresh.T_mult, fresh.T_cur) == (2, 4, 2, 2)
    np.testing.assert_allclose(rates(fresh, 10)[1:], [warm_restarts(0.2, 0.001, 2, 2, e) for e in range(5, 15)],
                               rtol=1e-12)


@pytest.mark.parametrize("arguments, message", [
    ({"T_0": 0}, "T_0 must be a positive integer, got 0"), ({"T_0": 2.5}, "T_0 must be a positive integer"),
    ({"T_0": 2, "T_mult": 1.5}, "T_mult must be a positive integer"),
    ({"T_0": 2, "eta_min": -0.1}, "eta_min must be a finite number >= 0")])
def test_bad_warm_restart_arguments_raise_and_change_nothing(arguments, message):
    optimizer = sgd(0.2)
    with pytest.raises(ValueError, match=f"CosineAnnealingWarmRestarts: {message}"):
        CosineAnnealingWarmRestarts(optimizer, **arguments)
    assert options(optimizer) == [{**options(sgd(0.2))[0]}]
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=2)
    state = scheduler.state_dict()
    with pytest.raises(ValueError, match="CosineAnnealingWarmRestarts.step: epoch must be a finite number >= 0"):
        scheduler.step(-1)
    assert scheduler.state_dict() == state


# ---- PolynomialLR ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("total_iters, power", [(50, 0.9), (4, 2.0), (2.5, 1.0)])
def test_polynomial_lr_decays_to_zero_over_total_iters(total_iters, power):
    """lr(e) = base (1 - min(e, total_iters) / total_iters)^power (PyTorch's docs example: total_iters 50,
    power 0.9; its comments print epoch 1's rate as epoch 0's). step() multiplies the current rate by the
    ratio of consecutive values; step(e) is the closed form. (A float total_iters, as PyTorch takes: the
    chainable steps stop at the last whole epoch before it, as PyTorch's.)"""
    optimizer = sgd(0.05)
    scheduler = PolynomialLR(optimizer, total_iters=total_iters, power=power)
    whole = math.floor(total_iters)
    expected = [0.05 * (1 - min(e, whole) / total_iters) ** power for e in range(61)]
    np.testing.assert_allclose(rates(scheduler, 60), expected, rtol=1e-12, atol=1e-17)
    scheduler.step(2)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.05 * (1 - 2 / total_iters) ** power, rel=1e-14)


def test_polynomial_lr_is_chainable_resumes_and_checks_its_state():
    """A rate halved by hand at epoch 1 carries on: x ((1 - 2/4) / (1 - 1/4))^2 at epoch 2; resumed at
    last_epoch=1 it keeps the checkpoint's rate (PyTorch's _is_initial); power < 0 and total_iters 0 refused."""
    optimizer = sgd(1.0)
    scheduler = PolynomialLR(optimizer, total_iters=4, power=2.0)
    scheduler.step()
    optimizer.param_groups[0]["lr"] /= 2
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.75 ** 2 / 2 * (0.5 / 0.75) ** 2, rel=1e-14)
    resumed = sgd(0.3)
    resumed.param_groups[0]["initial_lr"] = 1.0
    assert PolynomialLR(resumed, total_iters=4, last_epoch=1).last_epoch == 2 and resumed.param_groups[0]["lr"] == 0.3
    for bad, message in (({"power": -1.0}, "power must be a finite number >= 0"),
                         ({"total_iters": 0}, "total_iters must be a finite number > 0")):
        with pytest.raises(ValueError, match=f"PolynomialLR: {message}"):
            PolynomialLR(optimizer, **bad)
        with pytest.raises(ValueError, match=f"PolynomialLR.load_state_dict: {message}"):
            scheduler.load_state_dict({**scheduler.state_dict(), **bad})


# ---- MultiplicativeLR ------------------------------------------------------------------------------------

def test_multiplicative_lr_multiplies_by_the_function_every_epoch_from_epoch_1():
    """lr(e) = base * f(1) * ... * f(e): 0.95^e for a constant 0.95 (PyTorch's docs example), and for
    f(e) = 1 / (e + 1) the product 1 / (e + 1)!; one function per group."""
    optimizer = sgd(1.0, 2.0)
    scheduler = MultiplicativeLR(optimizer, [lambda epoch: 0.95, lambda epoch: 1.0 / (epoch + 1)])
    second = [optimizer.param_groups[1]["lr"]]
    first = [optimizer.param_groups[0]["lr"]]
    for _ in range(8):
        scheduler.step()
        first.append(optimizer.param_groups[0]["lr"])
        second.append(optimizer.param_groups[1]["lr"])
    np.testing.assert_allclose(first, [0.95 ** e for e in range(9)], rtol=1e-13)
    np.testing.assert_allclose(second, [2.0 / math.factorial(e + 1) for e in range(9)], rtol=1e-13)


def test_multiplicative_lr_is_chainable_and_refuses_a_bad_factor_changing_nothing():
    optimizer = sgd(1.0)
    scheduler = MultiplicativeLR(optimizer, lambda epoch: 0.5 if epoch < 3 else -1.0)
    scheduler.step()
    optimizer.param_groups[0]["lr"] = 0.2                    # set by hand: carries on from there
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1, rel=1e-15)
    with pytest.raises(ValueError, match="MultiplicativeLR.step: the learning rate of param group 0 must be"):
        scheduler.step()
    assert scheduler.last_epoch == 2 and optimizer.param_groups[0]["lr"] == pytest.approx(0.1, rel=1e-15)
    with pytest.raises(TypeError, match="MultiplicativeLR: lr_lambda must be a function of the epoch, got float"):
        MultiplicativeLR(optimizer, 0.9)
    with pytest.raises(ValueError, match="MultiplicativeLR: expected 1 lr_lambdas"):
        MultiplicativeLR(optimizer, [lambda e: 0.9] * 2)


def test_multiplicative_lr_state_dict_keeps_a_callable_objects_attributes_through_a_file(tmp_path):
    class Decay:
        def __init__(self, gamma):
            self.gamma = gamma

        def __call__(self, epoch):
            return self.gamma

    optimizer = sgd(1.0)
    scheduler = MultiplicativeLR(optimizer, Decay(0.5))
    rates(scheduler, 2)
    saved = through_a_file(scheduler.state_dict(), tmp_path)
    assert saved["lr_lambdas"] == [{"gamma": 0.5}]
    decay = Decay(0.9)
    fresh = MultiplicativeLR(sgd(1.0), decay)
    fresh.optimizer.param_groups[0]["lr"] = 0.25
    fresh.load_state_dict(saved)
    assert decay.gamma == 0.5 and fresh.last_epoch == 2
    np.testing.assert_allclose(rates(fresh, 3)[1:], [0.125, 0.0625, 0.03125], rtol=1e-15)


# ---- CyclicLR --------------------------------------------------------------------------------------------

def test_cyclic_lr_triangular_climbs_in_step_size_up_and_falls_in_step_size_down_with_sgd_momentum():
    """base 0.1, max 1, up 4, down 2 (a 6-step cycle): 0.1, 0.325, 0.55, 0.775, 1, 0.55, then again; the
    momentum from 0.9 at the lowest rate to 0.8 at the highest. Made, the group's rate is base_lr."""
    optimizer = sgd(0.5, momentum=0.0)
    scheduler = CyclicLR(optimizer, base_lr=0.1, max_lr=1.0, step_size_up=4, step_size_down=2)
    cycle_lr = [0.1, 0.325, 0.55, 0.775, 1.0, 0.55]
    cycle_momentum = [0.9, 0.875, 0.85, 0.825, 0.8, 0.85]
    group, seen = optimizer.param_groups[0], []
    for _ in range(13):
        seen.append((group["lr"], group["momentum"]))
        scheduler.step()
    np.testing.assert_allclose(seen, [(cycle_lr[t % 6], cycle_momentum[t % 6]) for t in range(13)], rtol=1e-12)
    assert group["max_momentum"] == 0.9 and group["base_momentum"] == 0.8


def test_cyclic_lr_triangular2_halves_the_amplitude_each_cycle_and_exp_range_scales_by_gamma_per_step():
    """triangular2, up = down = 2: base + 0.9 * height / 2^(cycle - 1), height 0, 1/2, 1, 1/2 in each
    cycle; exp_range (gamma 0.9): base + 0.9 * height * 0.9^t."""
    heights = [0.0, 0.5, 1.0, 0.5]
    halving = CyclicLR(sgd(0.1), 0.1, 1.0, step_size_up=2, mode="triangular2", cycle_momentum=False)
    np.testing.assert_allclose(rates(halving, 12), [0.1 + 0.9 * heights[t % 4] / 2 ** (t // 4) for t in range(13)],
                               rtol=1e-12)
    exponential = CyclicLR(sgd(0.1), 0.1, 1.0, step_size_up=2, mode="exp_range", gamma=0.9, cycle_momentum=False)
    assert exponential.scale_mode == "iterations"
    np.testing.assert_allclose(rates(exponential, 12), [0.1 + 0.9 * heights[t % 4] * 0.9 ** t for t in range(13)],
                               rtol=1e-12)


def test_cyclic_lr_moves_adams_first_beta_per_group():
    """Two groups, each its own base_lr, max_lr and momenta: betas[0] = max_m - (max_m - base_m) height,
    betas[1] kept."""
    optimizer = Adam([{"params": [mg.tensor(np.zeros(1), requires_grad=True)]},
                      {"params": [mg.tensor(np.zeros(1), requires_grad=True)]}], lr=0.5, betas=(0.9, 0.999))
    scheduler = CyclicLR(optimizer, base_lr=[0.01, 0.1], max_lr=[0.1, 0.3], step_size_up=2,
                         base_momentum=[0.8, 0.7], max_momentum=[0.9, 0.95])
    heights, seen = [0.0, 0.5, 1.0, 0.5], []
    for _ in range(6):
        seen.append([(group["lr"], *group["betas"]) for group in optimizer.param_groups])
        scheduler.step()
    expected = [[(0.01 + 0.09 * heights[t % 4], 0.9 - 0.1 * heights[t % 4], 0.999),
                 (0.1 + 0.2 * heights[t % 4], 0.95 - 0.25 * heights[t % 4], 0.999)] for t in range(6)]
    np.testing.assert_allclose(seen, expected, rtol=1e-12)


class Halving:
    """A scale_fn object: its attribute is what a state dict keeps of it."""

    def __init__(self, ratio):
        self.ratio = ratio

    def __call__(self, cycle):
        return self.ratio ** (cycle - 1)


def test_cyclic_lr_state_dict_keeps_a_scale_fn_objects_attributes_and_drops_a_function(tmp_path):
    """As PyTorch's: `_scale_fn_custom` is the object's __dict__, or None for a plain function (and there is
    no `_scale_fn_ref`); through a file into a fresh CyclicLR (momentum and scale object restored), steps
    7..12 follow base + 0.9 height 0.5^(cycle - 1)."""
    optimizer = sgd(0.1, momentum=0.9)
    scheduler = CyclicLR(optimizer, 0.1, 1.0, step_size_up=2, scale_fn=Halving(0.5))
    rates(scheduler, 6)
    saved = through_a_file({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp_path)
    assert saved["scheduler"]["_scale_fn_custom"] == {"ratio": 0.5} and "_scale_fn_ref" not in saved["scheduler"]
    assert CyclicLR(sgd(0.1, momentum=0.9), 0.1, 1.0, scale_fn=lambda x: 1.0).state_dict()["_scale_fn_custom"] is None
    halving = Halving(0.9)
    fresh_optimizer = sgd(0.3, momentum=0.5)
    fresh = CyclicLR(fresh_optimizer, 0.2, 2.0, step_size_up=5, scale_fn=halving)
    fresh_optimizer.load_state_dict(saved["optimizer"])
    fresh.load_state_dict(pytorch_state(saved["scheduler"]))
    assert halving.ratio == 0.5
    heights = [0.0, 0.5, 1.0, 0.5]
    group, seen = fresh_optimizer.param_groups[0], []
    for _ in range(6):
        fresh.step()
        seen.append((group["lr"], group["momentum"]))
    expected = [(0.1 + 0.9 * heights[t % 4] * 0.5 ** (t // 4), 0.9 - 0.1 * heights[t % 4] * 0.5 ** (t // 4))
                for t in range(7, 13)]
    np.testing.assert_allclose(seen, expected, rtol=1e-12)


@pytest.mark.parametrize("arguments, error, message", [
    ({"base_lr": [0.1, 0.2]}, ValueError, "base_lr must have the same length as"),
    ({"max_lr": -1.0}, ValueError, "max_lr must be a finite number >= 0"),
    ({"step_size_up": 0}, ValueError, "step_size_up must be a finite number > 0, got 0"),
    ({"mode": "sine"}, ValueError, "mode must be one of 'triangular', 'triangular2', 'exp_range', got 'sine'"),
    ({"scale_fn": 2.0}, TypeError, "scale_fn must be a function of the cycle or the step, got float"),
    ({"scale_mode": "epoch"}, ValueError, "scale_mode must be one of 'cycle', 'iterations'"),
    ({"max_momentum": 1.5}, ValueError, "max_momentum must be in"),
    ({"cycle_momentum": "yes"}, ValueError, "cycle_momentum must be True or False"),
])
def test_bad_cyclic_arguments_raise_naming_it_and_change_nothing(arguments, error, message):
    optimizer = Adam([mg.tensor(np.zeros(1), requires_grad=True)], lr=0.3)
    before = options(optimizer)
    with pytest.raises(error, match=f"CyclicLR: {message}"):
        CyclicLR(optimizer, **{"base_lr": 0.1, "max_lr": 1.0, **arguments})
    assert options(optimizer) == before


def test_a_bad_cyclic_state_dict_is_refused_naming_the_entry_and_nothing_changes():
    scheduler = CyclicLR(sgd(0.1, momentum=0.9), 0.1, 1.0, step_size_up=2)
    before = scheduler.state_dict()
    for change, message in (({"mode": "sine"}, "mode must be one of"), ({"total_size": 0}, "total_size must be"),
                            ({"_scale_fn_custom": {"ratio": 2}}, "_scale_fn_custom must be None, or the attributes"),
                            ({"base_momentums": 0.8}, "base_momentums must be a list of numbers")):
        with pytest.raises(ValueError, match=f"CyclicLR.load_state_dict: {message}"):
            scheduler.load_state_dict({**before, **change})
        assert scheduler.state_dict() == before


# ---- all of them ---------------------------------------------------------------------------------------

def test_every_schedule_names_the_lr_scheduler_package_as_its_module_as_pytorchs_do():
    """Scripts (d2l's) tell a library schedule from their own by `scheduler.__module__ == lr_scheduler.__name__`."""
    optimizer = sgd(0.1, momentum=0.9)
    made = [SequentialLR(optimizer, [StepLR(optimizer, 2)], milestones=[]),
            ChainedScheduler([StepLR(optimizer, 2)]), OneCycleLR(optimizer, max_lr=1.0, total_steps=5),
            CosineAnnealingWarmRestarts(optimizer, T_0=2), PolynomialLR(optimizer),
            MultiplicativeLR(optimizer, lambda e: 1.0), CyclicLR(optimizer, 0.1, 1.0)]
    assert {scheduler.__module__ for scheduler in made} == {lr_scheduler.__name__}
    assert set(lr_scheduler.__all__) >= {type(scheduler).__name__ for scheduler in made}
