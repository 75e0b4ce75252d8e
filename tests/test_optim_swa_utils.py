"""optim.swa_utils, as PyTorch's torch/optim/swa_utils.py: AveragedModel's averages against hand-written numpy
means and EMAs, its state dict, SWALR's rates against PyTorch's anneal formula, update_bn against numpy batch
statistics, the argument checks, and PyTorch's docs examples ("Weight Averaging (SWA and EMA)")."""

import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import nn
from microgradseq.optim import SGD
from microgradseq.optim.lr_scheduler import CosineAnnealingLR
from microgradseq.optim.swa_utils import (SWALR, AveragedModel, get_ema_avg_fn, get_ema_multi_avg_fn,
                                          get_swa_avg_fn, get_swa_multi_avg_fn, update_bn)

F64 = np.float64


def linear(rng, dtype=F64):
    return nn.Linear(3, 2, rng=rng, dtype=dtype)


def snapshots(model, rng, count):
    """Give `model`'s parameters `count` random values in turn, each followed by the caller's update: yields
    the list of arrays set (weight, bias)."""
    for _ in range(count):
        arrays = [rng.standard_normal(p.shape).astype(p.dtype) for p in model.parameters()]
        for p, array in zip(model.parameters(), arrays):
            p.data = array
        yield arrays


def averaged_arrays(averaged):
    return [p.data for p in averaged.parameters()]


def through_a_file(obj, tmp_path):
    path = tmp_path / "checkpoint.npz"
    mg.save(obj, path)
    return mg.load(path)


# ---- AveragedModel ----------------------------------------------------------------------------------------

def test_the_first_update_copies_and_later_ones_give_the_equal_mean():
    """SWA: after k updates each parameter is the mean of the k values the model had; n_averaged counts."""
    rng = np.random.default_rng(0)
    model = linear(rng)
    swa_model = AveragedModel(model)
    assert int(swa_model.n_averaged) == 0 and swa_model.n_averaged.dtype == np.int64
    seen = []
    for k, arrays in enumerate(snapshots(model, rng, 5), 1):
        swa_model.update_parameters(model)
        seen.append(arrays)
        for got, expected in zip(averaged_arrays(swa_model), zip(*seen)):
            np.testing.assert_allclose(got, np.mean(expected, axis=0), rtol=1e-13, atol=1e-15)
        assert int(swa_model.n_averaged) == k


def test_the_averaged_model_is_a_copy_that_forward_calls():
    """A deep copy: its parameters are other objects, a change of the model's leaves them, and calling the
    averaged model calls the copy (x W^T + b with its own weights)."""
    rng = np.random.default_rng(1)
    model = linear(rng)
    swa_model = AveragedModel(model)
    weight, bias = (p.data.copy() for p in model.parameters())
    assert all(ours is not theirs for ours, theirs in zip(swa_model.parameters(), model.parameters()))
    with mg.no_grad():
        model.weight.copy_(np.zeros((2, 3)))
    np.testing.assert_array_equal(swa_model.module.weight.data, weight)
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(swa_model(mg.tensor(x)).data, x @ weight.T + bias, rtol=1e-13)
    assert isinstance(swa_model, nn.Module) and swa_model.module.weight.requires_grad


def test_parameters_get_new_arrays_and_no_graph():
    """The average never writes into an array (they are read-only): a graph recorded before an update keeps
    the value it used, and the averaged parameters stay leaves."""
    rng = np.random.default_rng(2)
    model = linear(rng)
    swa_model = AveragedModel(model)
    before = swa_model.module.weight.data
    used = swa_model.module.weight * 1.0
    next(snapshots(model, rng, 1))
    swa_model.update_parameters(model)
    np.testing.assert_array_equal(used.data, before)
    assert swa_model.module.weight.is_leaf and swa_model.module.weight.grad is None


@pytest.mark.parametrize("make", [lambda: dict(avg_fn=get_ema_avg_fn(0.9)),
                                  lambda: dict(multi_avg_fn=get_ema_multi_avg_fn(0.9)),
                                  lambda: dict(avg_fn=lambda averaged_model_parameter, model_parameter, num_averaged:
                                               0.9 * averaged_model_parameter + 0.1 * model_parameter)])
def test_ema_updates_follow_the_ema_equation(make):
    """PyTorch's docs: W_ema <- alpha W_ema + (1 - alpha) W_model (alpha = 0.9), from a copy of the first;
    with get_ema_avg_fn, get_ema_multi_avg_fn and the docs' own lambda."""
    rng = np.random.default_rng(3)
    model = linear(rng)
    ema_model = AveragedModel(model, **make())
    ema = None
    for arrays in snapshots(model, rng, 6):
        ema_model.update_parameters(model)
        ema = arrays if ema is None else [0.9 * e + 0.1 * a for e, a in zip(ema, arrays)]
        for got, expected in zip(averaged_arrays(ema_model), ema):
            np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)
    assert int(ema_model.n_averaged) == 6


@pytest.mark.parametrize("make", [lambda: dict(avg_fn=get_swa_avg_fn()),
                                  lambda: dict(multi_avg_fn=get_swa_multi_avg_fn())])
def test_the_swa_functions_give_the_equal_mean(make):
    """get_swa_avg_fn as avg_fn, get_swa_multi_avg_fn as multi_avg_fn: the mean, as the default."""
    rng = np.random.default_rng(4)
    model = linear(rng)
    swa_model = AveragedModel(model, **make())
    seen = []
    for arrays in snapshots(model, rng, 4):
        swa_model.update_parameters(model)
        seen.append(arrays)
    for got, expected in zip(averaged_arrays(swa_model), zip(*seen)):
        np.testing.assert_allclose(got, np.mean(expected, axis=0), rtol=1e-13, atol=1e-15)


def test_avg_fn_is_given_the_averaged_value_the_models_and_the_count():
    """avg_fn(averaged, current, n_averaged), n_averaged the models averaged so far (1 at the first average:
    the first update copies), as a 0-d int64 tensor."""
    rng = np.random.default_rng(5)
    model = linear(rng)
    calls = []

    def avg_fn(averaged, current, num_averaged):
        calls.append((averaged.data.copy(), current.data.copy(), int(num_averaged), num_averaged.dtype))
        return current
    swa_model = AveragedModel(model, avg_fn=avg_fn)
    values = list(snapshots(model, rng, 1))
    swa_model.update_parameters(model)
    assert calls == []
    values += list(snapshots(model, rng, 1))
    swa_model.update_parameters(model)
    weight_call = calls[0]
    np.testing.assert_array_equal(weight_call[0], values[0][0])
    np.testing.assert_array_equal(weight_call[1], values[1][0])
    assert weight_call[2:] == (1, np.int64) and len(calls) == 2


def test_multi_avg_fn_is_called_once_a_dtype_with_lists():
    """As PyTorch groups the tensors by dtype: a float64 list (the parameters and running statistics) and an
    int64 one (num_batches_tracked), with use_buffers."""
    model = nn.Sequential(nn.Linear(2, 2, dtype=F64), nn.BatchNorm1d(2, dtype=F64))
    dtypes = []

    def multi_avg_fn(averaged, current, num_averaged):
        dtypes.append([(a.dtype, c.dtype) for a, c in zip(averaged, current)])
    swa_model = AveragedModel(model, multi_avg_fn=multi_avg_fn, use_buffers=True)
    swa_model.update_parameters(model)
    swa_model.update_parameters(model)
    assert dtypes == [[(np.dtype(F64), np.dtype(F64))] * 6, [(np.dtype(np.int64), np.dtype(np.int64))]]


def test_float32_parameters_stay_float32():
    rng = np.random.default_rng(6)
    model = linear(rng, np.float32)
    swa_model = AveragedModel(model, avg_fn=get_ema_avg_fn(0.5))
    for _ in snapshots(model, rng, 3):
        swa_model.update_parameters(model)
    assert all(p.dtype == np.float32 for p in swa_model.parameters())


def batch_norm_model():
    return nn.Sequential(nn.Linear(3, 2, rng=np.random.default_rng(7), dtype=F64), nn.BatchNorm1d(2, dtype=F64))


def running_statistics(model):
    layer = model[1]
    return [layer.running_mean.data.copy(), layer.running_var.data.copy(), int(layer.num_batches_tracked)]


def test_without_use_buffers_the_buffers_are_copied_from_the_model():
    """use_buffers=False: the parameters are averaged, the buffers (BatchNorm's running statistics) copied."""
    rng = np.random.default_rng(8)
    model = batch_norm_model()
    swa_model = AveragedModel(model)
    for _ in range(3):
        model(mg.tensor(rng.standard_normal((5, 3))))
        swa_model.update_parameters(model)
    for got, expected in zip(running_statistics(swa_model.module), running_statistics(model)):
        np.testing.assert_array_equal(got, expected)


def test_use_buffers_averages_the_running_statistics():
    """use_buffers=True: running_mean and running_var are the mean of the model's values at the updates;
    num_batches_tracked (int64) takes the average truncated, as PyTorch's copy_ of a float into a long:
    1, then 1 + (2 - 1) / 2 -> 1, then 1 + (3 - 1) / 3 -> 1."""
    rng = np.random.default_rng(9)
    model = batch_norm_model()
    swa_model = AveragedModel(model, use_buffers=True)
    seen = []
    for _ in range(3):
        model(mg.tensor(rng.standard_normal((5, 3))))
        swa_model.update_parameters(model)
        seen.append(running_statistics(model))
    mean, var, tracked = running_statistics(swa_model.module)
    np.testing.assert_allclose(mean, np.mean([s[0] for s in seen], axis=0), rtol=1e-13)
    np.testing.assert_allclose(var, np.mean([s[1] for s in seen], axis=0), rtol=1e-13)
    assert tracked == 1


def test_the_ema_list_form_averages_an_integer_buffer_by_the_formula_truncated():
    """get_ema_multi_avg_fn on num_batches_tracked (int64, no lerp), as PyTorch's p_ema.copy_(p_ema * decay +
    p_model * (1 - decay)): counts 1, 2, 3 at decay 0.5 give 1, then 1.5 -> 1, then 2."""
    rng = np.random.default_rng(18)
    model = batch_norm_model()
    ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.5), use_buffers=True)
    tracked = []
    for _ in range(3):
        model(mg.tensor(rng.standard_normal((5, 3))))
        ema_model.update_parameters(model)
        tracked.append(running_statistics(ema_model.module)[2])
    assert tracked == [1, 1, 2] and ema_model.module[1].num_batches_tracked.dtype == np.int64


def test_the_state_dict_has_n_averaged_and_the_module_prefix_and_goes_through_a_file(tmp_path):
    """PyTorch's keys: n_averaged, then module.<name>; mg.save / mg.load into a fresh AveragedModel, whose next
    update carries the mean on from n_averaged."""
    rng = np.random.default_rng(10)
    model = batch_norm_model()
    swa_model = AveragedModel(model)
    seen = []
    for arrays in snapshots(model, rng, 3):
        swa_model.update_parameters(model)
        seen.append(arrays)
    state = swa_model.state_dict()
    assert list(state) == ["n_averaged", "module.0.weight", "module.0.bias", "module.1.weight", "module.1.bias",
                           "module.1.running_mean", "module.1.running_var", "module.1.num_batches_tracked"]
    twin = AveragedModel(batch_norm_model())
    twin.load_state_dict(through_a_file(state, tmp_path))
    assert int(twin.n_averaged) == 3
    for arrays in snapshots(model, rng, 1):
        twin.update_parameters(model)
        seen.append(arrays)
    for got, expected in zip(averaged_arrays(twin), zip(*seen)):
        np.testing.assert_allclose(got, np.mean(expected, axis=0), rtol=1e-13, atol=1e-15)


def test_bad_arguments_of_averaged_model_raise_naming_it():
    model = linear(np.random.default_rng(11))
    with pytest.raises(TypeError, match=r"AveragedModel: expected a module .* got list"):
        AveragedModel([model])
    with pytest.raises(ValueError, match="AveragedModel: give avg_fn or multi_avg_fn, not both"):
        AveragedModel(model, avg_fn=get_swa_avg_fn(), multi_avg_fn=get_swa_multi_avg_fn())
    with pytest.raises(TypeError, match="AveragedModel: avg_fn must be a function or None, got float"):
        AveragedModel(model, avg_fn=0.9)
    with pytest.raises(ValueError, match="AveragedModel: use_buffers"):
        AveragedModel(model, use_buffers="yes")
    with pytest.raises(RuntimeError, match="AveragedModel: device 'cuda'"):
        AveragedModel(model, device="cuda")
    AveragedModel(model, device="cpu")


@pytest.mark.parametrize("where", ["get_ema_avg_fn", "get_ema_multi_avg_fn"])
@pytest.mark.parametrize("decay", [-0.1, 1.5, float("nan"), "0.9"])
def test_a_decay_outside_0_1_raises_naming_the_function(where, decay):
    make = {"get_ema_avg_fn": get_ema_avg_fn, "get_ema_multi_avg_fn": get_ema_multi_avg_fn}[where]
    with pytest.raises(ValueError, match=rf"{where}: decay must be in \[0, 1\], got"):
        make(decay)


def test_a_model_of_another_shape_raises_and_nothing_changes():
    rng = np.random.default_rng(12)
    model = linear(rng)
    swa_model = AveragedModel(model)
    swa_model.update_parameters(model)
    before = averaged_arrays(swa_model)
    with pytest.raises(ValueError, match=r"AveragedModel.update_parameters: weight has shape \(2, 3\) in the "
                                         r"averaged copy, \(4, 3\) in the model"):
        swa_model.update_parameters(nn.Linear(3, 4, dtype=F64))
    with pytest.raises(ValueError, match="AveragedModel.update_parameters: expected a model with 2 parameters, as "
                                         "the averaged copy has, got 1"):
        swa_model.update_parameters(nn.Linear(3, 2, bias=False, dtype=F64))
    with pytest.raises(TypeError, match="AveragedModel.update_parameters: expected the module being averaged, got "
                                        "dict"):
        swa_model.update_parameters({})
    for got, expected in zip(averaged_arrays(swa_model), before):
        np.testing.assert_array_equal(got, expected)
    assert int(swa_model.n_averaged) == 1


def test_an_avg_fn_that_raises_or_returns_another_shape_changes_nothing():
    rng = np.random.default_rng(13)
    model = linear(rng)
    calls = []

    def fails_on_the_bias(averaged, current, n):
        calls.append(averaged.shape)
        if len(calls) == 2:
            raise ArithmeticError("boom")
        return current
    for avg_fn, error in ((fails_on_the_bias, ArithmeticError),
                          (lambda averaged, current, n: current.sum(), ValueError)):
        swa_model = AveragedModel(model, avg_fn=avg_fn)
        swa_model.update_parameters(model)
        before = averaged_arrays(swa_model)
        next(snapshots(model, rng, 1))
        with pytest.raises(error, match="boom|AveragedModel.update_parameters: avg_fn returned shape"):
            swa_model.update_parameters(model)
        for got, expected in zip(averaged_arrays(swa_model), before):
            np.testing.assert_array_equal(got, expected)
        assert int(swa_model.n_averaged) == 1


# ---- SWALR --------------------------------------------------------------------------------------------------

def cosine(t):
    return (1 - math.cos(math.pi * t)) / 2


def linear_anneal(t):
    return t


def optimizer(*lrs):
    """SGD with one group per learning rate."""
    return SGD([{"params": [mg.tensor(np.zeros(1), requires_grad=True)], "lr": lr} for lr in lrs])


def recursive_rates(lrs, swa_lrs, anneal_epochs, anneal, epochs):
    """PyTorch's SWALR.get_lr written out in numpy: at step k (0 when made), from the current rate."""
    rates, current = [], list(lrs)
    for k in range(epochs + 1):
        step = max(1, k) if anneal_epochs == 0 else k
        previous = anneal(np.clip((step - 1) / max(1, anneal_epochs), 0, 1))
        alpha = anneal(np.clip(step / max(1, anneal_epochs), 0, 1))
        starts = [swa if previous == 1 else (lr - previous * swa) / (1 - previous) for lr, swa in zip(current, swa_lrs)]
        current = [swa * alpha + start * (1 - alpha) for swa, start in zip(swa_lrs, starts)]
        rates.append(current)
    return rates


def run(scheduler, epochs):
    rates = [scheduler.get_last_lr()]
    for _ in range(epochs):
        scheduler.step()
        rates.append(scheduler.get_last_lr())
    return rates


@pytest.mark.parametrize("strategy, anneal", [("cos", cosine), ("linear", linear_anneal)])
@pytest.mark.parametrize("anneal_epochs", [1, 3])
def test_swalr_anneals_each_group_to_its_swa_lr(strategy, anneal, anneal_epochs):
    """Two groups (lr 0.1 and 1.0, swa_lr 0.05 and 0.3): lr_k = swa_lr a(min(k / E, 1)) + lr_0 (1 - a), the
    closed form of PyTorch's recursion, and the recursion itself."""
    scheduler = SWALR(optimizer(0.1, 1.0), swa_lr=[0.05, 0.3], anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    rates = run(scheduler, 6)
    closed = [[swa * anneal(min(k / anneal_epochs, 1)) + lr * (1 - anneal(min(k / anneal_epochs, 1)))
               for lr, swa in ((0.1, 0.05), (1.0, 0.3))] for k in range(7)]
    np.testing.assert_allclose(rates, closed, rtol=1e-13)
    np.testing.assert_allclose(rates, recursive_rates([0.1, 1.0], [0.05, 0.3], anneal_epochs, anneal, 6), rtol=1e-13)
    assert [group["swa_lr"] for group in scheduler.optimizer.param_groups] == [0.05, 0.3]


def test_swalr_with_no_anneal_epochs_sets_the_swa_lr_at_once():
    rates = run(SWALR(optimizer(0.1, 0.2), swa_lr=0.05, anneal_epochs=0), 3)
    np.testing.assert_allclose(rates, [[0.05, 0.05]] * 4, rtol=1e-15)


def test_swalr_reads_the_current_rate_at_each_step():
    """A rate set by hand after step 1 is the one the next step starts from (PyTorch's recursion)."""
    opt = optimizer(0.1)
    scheduler = SWALR(opt, swa_lr=0.01, anneal_epochs=4)
    scheduler.step()
    opt.param_groups[0]["lr"] = 0.5
    scheduler.step()
    previous, alpha = cosine(1 / 4), cosine(2 / 4)
    start = (0.5 - previous * 0.01) / (1 - previous)
    assert scheduler.get_last_lr() == pytest.approx([0.01 * alpha + start * (1 - alpha)], rel=1e-13)


def test_swalr_after_cosine_annealing_as_in_pytorchs_docs():
    """"Putting it all together: SWA": CosineAnnealingLR until swa_start, then SWALR anneals from the rate the
    cosine left (made at the start, it waits: its first step is its step 1)."""
    opt = optimizer(0.1)
    scheduler = CosineAnnealingLR(opt, T_max=20)
    swa_scheduler = SWALR(opt, swa_lr=0.05, anneal_epochs=3)
    swa_start, rates = 6, []
    for epoch in range(12):
        if epoch > swa_start:
            swa_scheduler.step()
        else:
            scheduler.step()
        rates.append(opt.param_groups[0]["lr"])
    left = 0.1 * (1 + math.cos(math.pi * 7 / 20)) / 2
    expected = [0.1 * (1 + math.cos(math.pi * (e + 1) / 20)) / 2 for e in range(7)]
    expected += [0.05 * cosine(min(k / 3, 1)) + left * (1 - cosine(min(k / 3, 1))) for k in range(1, 6)]
    np.testing.assert_allclose(rates, expected, rtol=1e-13)


def test_swalr_state_dict_goes_through_a_file(tmp_path):
    opt = optimizer(0.1, 1.0)
    scheduler = SWALR(opt, swa_lr=[0.05, 0.3], anneal_epochs=5, anneal_strategy="linear")
    scheduler.step()
    scheduler.step()
    state = through_a_file({"optimizer": opt.state_dict(), "scheduler": scheduler.state_dict()}, tmp_path)
    assert set(state["scheduler"]) == {"anneal_epochs", "_anneal_strategy", "base_lrs", "last_epoch", "_step_count",
                                       "_last_lr"}
    twin_opt = optimizer(0.1, 1.0)
    twin = SWALR(twin_opt, swa_lr=0.0, anneal_epochs=1)
    twin_opt.load_state_dict(state["optimizer"])
    twin.load_state_dict(state["scheduler"])
    assert twin.anneal_epochs == 5 and twin.anneal_func(0.5) == 0.5
    for _ in range(2):
        scheduler.step()
        twin.step()
        assert twin.get_last_lr() == pytest.approx(scheduler.get_last_lr(), rel=1e-15)


def test_swalr_refuses_a_bad_state_dict_entry_and_keeps_its_own():
    scheduler = SWALR(optimizer(0.1), swa_lr=0.05)
    state = scheduler.state_dict()
    for name, value in (("_anneal_strategy", "sin"), ("anneal_epochs", -1)):
        with pytest.raises(ValueError, match=f"SWALR.load_state_dict: {name}"):
            scheduler.load_state_dict({**state, name: value})
    assert scheduler.state_dict() == state


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(swa_lr=0.05, anneal_strategy="sin"), ValueError, "SWALR: anneal_strategy must be one of 'cos', 'linear', "
                                                           "got 'sin'"),
    (dict(swa_lr=0.05, anneal_epochs=-1), ValueError, "SWALR: anneal_epochs must be an integer >= 0, got -1"),
    (dict(swa_lr=0.05, anneal_epochs=2.5), ValueError, "SWALR: anneal_epochs must be an integer >= 0, got 2.5"),
    (dict(swa_lr=[0.05, 0.1, 0.2]), ValueError, r"SWALR: swa_lr must have the same length .*: swa_lr has 3 values"),
    (dict(swa_lr=-0.05), ValueError, "SWALR: swa_lr must be a finite number >= 0, got -0.05"),
    (dict(swa_lr=0.05, last_epoch=-2), ValueError, "SWALR: last_epoch must be an integer >= -1, got -2"),
])
def test_bad_arguments_of_swalr_raise_naming_it_and_change_nothing(kwargs, error, message):
    opt = optimizer(0.1, 1.0)
    before = [dict(group) for group in opt.param_groups]
    with pytest.raises(error, match=message):
        SWALR(opt, **kwargs)
    assert opt.param_groups == before


def test_swalr_refuses_a_group_added_without_swa_lr_and_changes_nothing():
    """A group added after the schedule was made has no 'swa_lr' to anneal to (PyTorch's: a KeyError)."""
    opt = optimizer(0.1)
    scheduler = SWALR(opt, swa_lr=0.05)
    opt.add_param_group({"params": [mg.tensor(np.zeros(1), requires_grad=True)], "lr": 0.2})
    with pytest.raises(ValueError, match=r"SWALR.step: param_groups\[1\] has no 'swa_lr'"):
        scheduler.step()
    assert [group["lr"] for group in opt.param_groups] == [0.1, 0.2]
    assert scheduler.last_epoch == 0 and scheduler._step_count == 1


def test_swalr_needs_an_optimizer():
    with pytest.raises(TypeError, match="SWALR: expected an optimizer"):
        SWALR([0.1], swa_lr=0.05)


# ---- update_bn ----------------------------------------------------------------------------------------------

def test_reset_running_stats_gives_zeros_ones_and_no_batches():
    layer = nn.BatchNorm1d(3, dtype=F64)
    layer(mg.tensor(np.random.default_rng(14).standard_normal((4, 3))))
    layer.reset_running_stats()
    assert int(layer.num_batches_tracked) == 0
    np.testing.assert_array_equal(layer.running_mean.data, np.zeros(3))
    np.testing.assert_array_equal(layer.running_var.data, np.ones(3))
    nn.BatchNorm1d(3, track_running_stats=False).reset_running_stats()


@pytest.mark.parametrize("shape", [(5, 3), (5, 3, 4)])
def test_update_bn_sets_the_running_statistics_to_the_batches_average(shape):
    """After update_bn: running_mean the mean over the batches of each batch's mean, running_var of each
    batch's unbiased variance (momentum None during the pass), num_batches_tracked the number of batches; the
    momentum and the model's mode put back. Batches as (input, target) pairs, the first element used."""
    rng = np.random.default_rng(15)
    layer = nn.BatchNorm1d(3, momentum=0.3, dtype=F64)
    model = nn.Sequential(nn.Identity(), layer).eval()
    layer.running_mean.data = np.full(3, 7.0)
    inputs = [rng.standard_normal(shape) * 2 + 1 for _ in range(4)]
    update_bn([(mg.tensor(x), None) for x in inputs], model)
    axes = (0,) if len(shape) == 2 else (0, 2)
    np.testing.assert_allclose(layer.running_mean.data, np.mean([x.mean(axis=axes) for x in inputs], axis=0),
                               rtol=1e-12)
    count = np.prod([shape[a] for a in axes])
    unbiased = [x.var(axis=axes) * count / (count - 1) for x in inputs]
    np.testing.assert_allclose(layer.running_var.data, np.mean(unbiased, axis=0), rtol=1e-12)
    assert int(layer.num_batches_tracked) == 4 and layer.momentum == 0.3 and not model.training


def test_update_bn_without_batch_norm_does_not_run_the_model():
    calls = []

    class Counting(nn.Module):
        def forward(self, x):
            calls.append(x)
            return x
    update_bn([mg.tensor(np.ones((2, 3)))], Counting())
    assert calls == []


def test_update_bn_bad_arguments_raise_naming_it():
    model = batch_norm_model()
    with pytest.raises(TypeError, match="update_bn: expected a module .* got list"):
        update_bn([], [model])
    with pytest.raises(TypeError, match="update_bn: expected an iterable of batches as loader, got int"):
        update_bn(3, model)
    with pytest.raises(RuntimeError, match="update_bn: device 'cuda'"):
        update_bn([], model, device="cuda")


def test_update_bn_that_fails_on_a_batch_changes_nothing():
    rng = np.random.default_rng(16)
    model = batch_norm_model()
    model(mg.tensor(rng.standard_normal((4, 3))))
    before = running_statistics(model)
    loader = [mg.tensor(rng.standard_normal((4, 3))), mg.tensor(np.ones((4, 5)))]
    with pytest.raises(ValueError, match=r"Linear: expected input of shape \(..., 3\), got \(4, 5\)"):
        update_bn(loader, model)
    for got, expected in zip(running_statistics(model), before):
        np.testing.assert_array_equal(got, expected)
    assert model[1].momentum == 0.1 and model.training


# ---- PyTorch's docs example --------------------------------------------------------------------------------

def test_the_ema_example_of_pytorchs_docs():
    """"Putting it all together: EMA": the EMA model updated after every optimizer step (decay 0.999 here
    0.9), its parameters the EMA of the model's after each step; then update_bn and predictions from it."""
    rng = np.random.default_rng(17)
    model = batch_norm_model()
    opt = SGD(model.parameters(), lr=0.1)
    ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    loader = [(mg.tensor(rng.standard_normal((6, 3))), mg.tensor(rng.standard_normal((6, 2)))) for _ in range(3)]
    ema = None
    for epoch in range(2):
        for x, target in loader:
            opt.zero_grad()
            ((model(x) - target) ** 2).mean().backward()
            opt.step()
            ema_model.update_parameters(model)
            arrays = [p.data for p in model.parameters()]
            ema = arrays if ema is None else [0.9 * e + 0.1 * a for e, a in zip(ema, arrays)]
    for got, expected in zip(averaged_arrays(ema_model), ema):
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)
    update_bn(loader, ema_model)
    weight, bias, gamma, beta = ema
    hidden = [x.data @ weight.T + bias for x, _ in loader]
    mean = np.mean([h.mean(axis=0) for h in hidden], axis=0)
    var = np.mean([h.var(axis=0, ddof=1) for h in hidden], axis=0)
    ema_model.eval()
    test_input = rng.standard_normal((2, 3))
    expected = ((test_input @ weight.T + bias) - mean) / np.sqrt(var + 1e-5) * gamma + beta
    np.testing.assert_allclose(ema_model(mg.tensor(test_input)).data, expected, rtol=1e-12)
