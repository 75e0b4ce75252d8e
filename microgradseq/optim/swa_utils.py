"""Weight averaging, as `torch.optim.swa_utils` (PyTorch's torch/optim/swa_utils.py): stochastic weight
averaging (SWA: the equal mean of the weights the optimizer visits) and exponential moving averages (EMA).

    swa_model = mg.optim.swa_utils.AveragedModel(model)
    swa_scheduler = mg.optim.swa_utils.SWALR(optimizer, swa_lr=0.05)
    for epoch in range(300):
        train(...)                                # optimizer.step() inside
        if epoch > swa_start:
            swa_model.update_parameters(model)
            swa_scheduler.step()
    mg.optim.swa_utils.update_bn(loader, swa_model)

`AveragedModel` keeps a copy of the model whose parameters hold the running average, `SWALR` anneals the
rate to a constant one for the averaging phase, `update_bn` recomputes BatchNorm's running statistics for
the averaged weights. The one module of `optim` above `nn`, as PyTorch's: an averaged model is a Module.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..checks import flag
from ..grad_mode import no_grad
from ..nn.module import Module
from ..nn.normalization import _BatchNorm
from ..spellings import check_device
from ..tensor import Tensor, as_tensor, owned
from . import options as check
from .lr_scheduler.base import LRScheduler, _non_negative_int, _one_of
from .lr_scheduler.cyclic import _per_group
from .optimizer import Optimizer

__all__ = ["AveragedModel", "SWALR", "get_ema_avg_fn", "get_ema_multi_avg_fn", "get_swa_avg_fn",
           "get_swa_multi_avg_fn", "update_bn"]

AverageFunction = Callable[[Tensor, Tensor, Any], Tensor]
MultiAverageFunction = Callable[[Sequence[Tensor], Sequence[Tensor], Any], None]


def _decay(where: str, decay: Any) -> float:
    check.closed_fraction(where, "decay", decay)
    return decay


def _into(averaged: Tensor, value: Tensor) -> None:
    """averaged.copy_(value) cast to averaged's dtype first, as PyTorch's copy_ casts (an integer buffer takes
    a float average truncated)."""
    averaged.copy_(value.to(averaged.dtype))


def get_ema_avg_fn(decay: float = 0.999) -> AverageFunction:
    """The exponential moving average of one parameter, as PyTorch's, for `AveragedModel(avg_fn=...)`:

        ema <- decay * ema + (1 - decay) * current
    """
    decay = _decay("get_ema_avg_fn", decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn() -> AverageFunction:
    """The equal (SWA) average of one parameter, as PyTorch's, for `AveragedModel(avg_fn=...)`: with n
    models averaged so far,

        average <- average + (current - average) / (n + 1)
    """
    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


def get_ema_multi_avg_fn(decay: float = 0.999) -> MultiAverageFunction:
    """`get_ema_avg_fn`'s average over lists of parameters, in place, for `AveragedModel(multi_avg_fn=...)`,
    as PyTorch's: floating ones by lerp(ema, current, 1 - decay), the others by the formula, truncated."""
    decay = _decay("get_ema_multi_avg_fn", decay)

    def ema_update(ema_param_list: Sequence[Tensor], current_param_list: Sequence[Tensor], _: Any) -> None:
        with no_grad():
            for ema, current in zip(ema_param_list, current_param_list):
                floating = ema.dtype.kind in "fc"
                _into(ema, ema.lerp(current, 1 - decay) if floating else ema * decay + current * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn() -> MultiAverageFunction:
    """`get_swa_avg_fn`'s average over lists of parameters, in place, for `AveragedModel(multi_avg_fn=...)`,
    as PyTorch's: floating ones by lerp(average, current, 1 / (n + 1)). The others (with `use_buffers`,
    num_batches_tracked) by the formula, truncated, as the default average does; PyTorch's raises there
    (its `_foreach_addcdiv_` refuses integers)."""
    def swa_update(averaged_param_list: Sequence[Tensor], current_param_list: Sequence[Tensor],
                   num_averaged: Any) -> None:
        with no_grad():
            for averaged, current in zip(averaged_param_list, current_param_list):
                if averaged.dtype.kind in "fc":
                    _into(averaged, averaged.lerp(current, 1 / (float(num_averaged) + 1)))
                else:
                    _into(averaged, averaged + (current - averaged) / (num_averaged + 1))
    return swa_update


class AveragedModel(Module):
    """A copy of `model` (`copy.deepcopy`, as `self.module`) whose parameters hold the running average of
    `model`'s, as PyTorch's: `update_parameters(model)` copies them the first time and averages them after,
    with `avg_fn(averaged, current, n_averaged)` (a new value per parameter), or `multi_avg_fn(averaged_list,
    current_list, n_averaged)` (in place, over lists), or by default the equal average
    average + (current - average) / (n + 1). `n_averaged` (a 0-d int64 buffer, in the state dict beside
    `module.`'s entries) counts the updates. `use_buffers=True` averages the buffers too (BatchNorm's running
    statistics); otherwise they are copied from `model` at every update. Calling it calls the copy."""

    def __init__(self, model: Module, device: Any = None, avg_fn: AverageFunction | None = None,
                 multi_avg_fn: MultiAverageFunction | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        where = "AveragedModel"
        if not isinstance(model, Module):
            raise TypeError(f"{where}: expected a module (mg.nn.Module) to average, got {type(model).__name__}")
        check_device(where, device)
        for name, function in (("avg_fn", avg_fn), ("multi_avg_fn", multi_avg_fn)):
            if function is not None and not callable(function):
                raise TypeError(f"{where}: {name} must be a function or None, got {type(function).__name__}")
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError(f"{where}: give avg_fn or multi_avg_fn, not both")
        self.use_buffers = flag(use_buffers, "use_buffers", where)
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", owned(np.array(0, np.int64)))
        self.avg_fn, self.multi_avg_fn = avg_fn, multi_avg_fn

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Average `model`'s parameters (and buffers, with `use_buffers`) into the copy's, all or nothing:
        every one is given a new array, once all are computed (a parameter's array is never written)."""
        where = "AveragedModel.update_parameters"
        if not isinstance(model, Module):
            raise TypeError(f"{where}: expected the module being averaged, got {type(model).__name__}")
        averaged, synced = self._pairs(where, model, "parameters"), self._pairs(where, model, "buffers")
        if self.use_buffers:
            averaged, synced = averaged + synced, []
        # each averaged tensor's stand-in: a detached tensor over the same array, which the averaging replaces
        targets = [(tensor, tensor.detach(), current.detach()) for tensor, current in averaged + synced]
        with no_grad():
            for _, stand_in, current in targets[len(averaged):]:
                _into(stand_in, current)
            self._average(where, targets[:len(averaged)])
        for tensor, stand_in, _ in targets:
            tensor._replace_data(stand_in._data)
        self.n_averaged._replace_data(np.array(int(self.n_averaged) + 1, np.int64))

    def _pairs(self, where: str, model: Module, kind: str) -> list[tuple[Tensor, Tensor]]:
        """(the copy's tensor, model's) for every parameter or buffer, in order: ValueError unless they
        are as many and of the same shapes."""
        ours = list(getattr(self.module, f"named_{kind}")())
        theirs = list(getattr(model, kind)())
        if len(ours) != len(theirs):
            raise ValueError(f"{where}: expected a model with {len(ours)} {kind}, as the averaged copy has, "
                             f"got {len(theirs)}")
        for (name, tensor), current in zip(ours, theirs):
            if current.shape != tensor.shape:
                raise ValueError(f"{where}: {name} has shape {tensor.shape} in the averaged copy, "
                                 f"{current.shape} in the model")
        return [(tensor, current) for (_, tensor), current in zip(ours, theirs)]

    def _average(self, where: str, targets: list[tuple[Tensor, Tensor, Tensor]]) -> None:
        """Give each stand-in its new value: the model's (the first update), else the average."""
        n_averaged = self.n_averaged.detach()
        if int(n_averaged) == 0:
            for _, stand_in, current in targets:
                _into(stand_in, current)
        elif self.multi_avg_fn is not None:
            by_dtype: dict[np.dtype, list] = {}         # (one call a dtype, as PyTorch groups them)
            for _, stand_in, current in targets:
                by_dtype.setdefault(stand_in.dtype, []).append((stand_in, current))
            for pairs in by_dtype.values():
                self.multi_avg_fn([stand_in for stand_in, _ in pairs], [current for _, current in pairs], n_averaged)
        else:
            avg_fn = self.avg_fn or get_swa_avg_fn()
            for _, stand_in, current in targets:
                value = as_tensor(avg_fn(stand_in.detach(), current, n_averaged))
                if value.shape != stand_in.shape:
                    raise ValueError(f"{where}: avg_fn returned shape {value.shape} for a parameter of shape "
                                     f"{stand_in.shape}")
                _into(stand_in, value)


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute the running statistics of every BatchNorm layer of `model` over one pass of `loader`, as
    PyTorch's: each layer's are reset and made the average over the batches (momentum None for the pass),
    the model run in training mode under `no_grad` on each batch (or its first element, a list or tuple's),
    then its mode and momenta put back. Nothing changes if a batch raises."""
    where = "update_bn"
    if not isinstance(model, Module):
        raise TypeError(f"{where}: expected a module (mg.nn.Module), got {type(model).__name__}")
    try:
        batches = iter(loader)
    except TypeError:
        raise TypeError(f"{where}: expected an iterable of batches as loader, got {type(loader).__name__}") from None
    check_device(where, device)
    layers = [module for module in model.modules() if isinstance(module, _BatchNorm)]   # (PyTorch's test too)
    if not layers:
        return
    # every layer's state before the pass (its arrays are read-only: keeping them keeps the values)
    saved = [(layer, layer.momentum, [(b, b._data) for b in layer.buffers()]) for layer in layers]
    was_training = model.training
    try:
        for layer in layers:
            layer.reset_running_stats()
            layer.momentum = None
        model.train()
        with no_grad():
            for batch in batches:
                model(batch[0] if isinstance(batch, (list, tuple)) else batch)
    except BaseException:
        for _, _, buffers in saved:
            for buffer, array in buffers:
                buffer._replace_data(array)
        raise
    finally:
        for layer, momentum, _ in saved:
            layer.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's rate to its `swa_lr` over `anneal_epochs` epochs, then keep it there, as PyTorch's
    (the constant rate of SWA's averaging phase): after k steps,

        lr_k = swa_lr * a(t_k) + lr_0 * (1 - a(t_k)),   t_k = min(k / max(1, anneal_epochs), 1)
        a(t) = (1 - cos(pi t)) / 2   ('cos'),   a(t) = t   ('linear')

    from lr_0, the group's rate when the schedule starts. Each `step()` recovers lr_0 from the group's current
    rate, lr_0 = (lr - a(t_{k-1}) swa_lr) / (1 - a(t_{k-1})) (swa_lr once a = 1), so it anneals from whatever
    rate another schedule left; `anneal_epochs=0` sets swa_lr when made. `swa_lr` is one rate or one a group,
    kept in each group as `'swa_lr'`."""

    _state_checks = {"anneal_epochs": lambda where, name, value: _non_negative_int(value, name, where),
                     "_anneal_strategy": _one_of("cos", "linear")}

    def __init__(self, optimizer: Optimizer, swa_lr: float | list[float], anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        where = "SWALR"
        self._check_start(optimizer, last_epoch)
        swa_lrs = _per_group(where, "swa_lr", swa_lr, optimizer, check.non_negative)
        _one_of("cos", "linear")(where, "anneal_strategy", anneal_strategy)
        self.anneal_epochs = _non_negative_int(anneal_epochs, "anneal_epochs", where)
        self._anneal_strategy = anneal_strategy
        for group, rate in zip(optimizer.param_groups, swa_lrs):
            group["swa_lr"] = rate
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t: float) -> float:
        """a(t): the share of swa_lr in the rate at progress t in [0, 1]."""
        return (1 - math.cos(math.pi * t)) / 2 if self._anneal_strategy == "cos" else t

    def get_lr(self) -> list[float]:
        for index, group in enumerate(self.optimizer.param_groups):
            if "swa_lr" not in group:
                raise ValueError(f"SWALR.step: param_groups[{index}] has no 'swa_lr' (a group added after the "
                                 "schedule was made)")
        step = self._step_count - 1                  # (steps taken before this one, as PyTorch's)
        if self.anneal_epochs == 0:
            step = max(1, step)
        previous = self.anneal_func(max(0.0, min(1.0, (step - 1) / max(1, self.anneal_epochs))))
        alpha = self.anneal_func(max(0.0, min(1.0, step / max(1, self.anneal_epochs))))
        rates = []
        for group in self.optimizer.param_groups:
            swa_lr = group["swa_lr"]
            start = swa_lr if previous == 1 else (group["lr"] - previous * swa_lr) / (1 - previous)
            rates.append(swa_lr * alpha + start * (1 - alpha))
        return rates
