"""An optimizer's `state_dict()` and `load_state_dict()`, in PyTorch's layout:

    {'state': {0: {'step': 3, 'exp_avg': array, ...}, 1: {...}},
     'param_groups': [{'lr': 0.001, 'betas': (0.9, 0.999), ..., 'params': [0, 1]}]}

Parameters are numbered in order over the groups; only parameters with state
appear under 'state'. Arrays are copied both ways, so the dict and the
optimizer never share one.

Loading is all or nothing: the group count and sizes, every option and every
state entry are checked, every array copied (and cast to its parameter's
dtype, as PyTorch casts a loaded state to its parameter's), and only then is
the optimizer's state replaced.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..checks import is_finite_number, is_int
from .options import plain


# Options PyTorch's optimizers gained over its versions: a state dict without them (an older one, of
# PyTorch or of this library) loads with PyTorch's values for them, which its __setstate__ fills in.
FILLED_IN = {"maximize": False, "foreach": None, "fused": None, "capturable": False, "differentiable": False,
             "decoupled_weight_decay": False}


def _copied(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else copy.deepcopy(value)


def state_dict(optimizer: Any) -> dict:
    """The optimizer's options and state, copied, numbered as PyTorch numbers them."""
    number = {id(p): index for index, p in enumerate(optimizer.params)}
    return {
        "state": {index: {name: _copied(value) for name, value in state.items()}
                  for index, state in enumerate(optimizer.state) if state},
        "param_groups": [{**{name: _copied(value) for name, value in group.items() if name != "params"},
                          "params": [number[id(p)] for p in group["params"]]}
                         for group in optimizer.param_groups],
    }


def load_state_dict(optimizer: Any, saved: Any) -> None:
    """Replace the optimizer's options and state by `saved`'s, or raise and change nothing."""
    where = f"{type(optimizer).__name__}.load_state_dict"
    if not isinstance(saved, dict) or set(saved) != {"state", "param_groups"}:
        got = sorted(map(str, saved)) if isinstance(saved, dict) else type(saved).__name__
        raise ValueError(f"{where}: expected a dict with the keys 'state' and 'param_groups' (as "
                         f"state_dict() returns), got {got}")
    groups, states = saved["param_groups"], saved["state"]
    if not isinstance(groups, (list, tuple)) or not all(
            isinstance(g, dict) and isinstance(g.get("params"), (list, tuple)) for g in groups):
        raise ValueError(f"{where}: 'param_groups' must be a list of dicts, each with a list 'params'")
    if not isinstance(states, dict):
        raise ValueError(f"{where}: 'state' must be a dict (parameter number -> dict), got {type(states).__name__}")
    if len(groups) != len(optimizer.param_groups):
        raise ValueError(f"{where}: expected {len(optimizer.param_groups)} param groups (this optimizer's), "
                         f"the state dict has {len(groups)}")
    for index, (group, ours) in enumerate(zip(groups, optimizer.param_groups)):
        if len(group["params"]) != len(ours["params"]):
            raise ValueError(f"{where}: param group {index} has {len(ours['params'])} parameters here, "
                             f"{len(group['params'])} in the state dict")

    # the saved numbers, group by group, stand for our parameters in the same places (as in PyTorch)
    numbers = [number for group in groups for number in group["params"]]
    odd = [number for number in numbers if not is_int(number)]
    if odd:
        raise ValueError(f"{where}: param_groups list parameters by number (integers, as state_dict() "
                         f"gives them), got {odd[0]!r}")
    position = {number: index for index, number in enumerate(numbers)}
    if len(position) != len(numbers):
        raise ValueError(f"{where}: a parameter number appears twice in the state dict's param_groups")

    new_groups = []
    for index, (group, ours) in enumerate(zip(groups, optimizer.param_groups)):
        missing = [name for name in optimizer.defaults if name not in group and name not in FILLED_IN]
        if missing:
            raise ValueError(f"{where}: param group {index} of the state dict lacks the option(s) "
                             f"{', '.join(missing)} of {type(optimizer).__name__} (is it another "
                             "optimizer's state dict?); nothing was changed")
        new = {"params": ours["params"],          # (numbers that went through mg.save as 0-d arrays: as numbers)
               **{name: plain(_copied(value)) for name, value in group.items() if name != "params"},
               **{name: value for name, value in FILLED_IN.items() if name in optimizer.defaults and name not in group}}
        if "param_names" in ours and "param_names" not in group:
            new["param_names"] = ours["param_names"]    # (PyTorch: saved names replace ours; none saved, ours stay)
        optimizer.check_options(where, new, index)
        new_groups.append(new)

    new_state: list[dict] = [{} for _ in optimizer.params]
    for number, entry in states.items():
        if number not in position:
            raise ValueError(f"{where}: the state dict has state for parameter {number!r}, which none of "
                             f"its param_groups lists (they list {numbers})")
        new_state[position[number]] = optimizer.checked_state(where, position[number], entry,
                                                              new_groups[_group_of(groups, number)])

    optimizer.param_groups[:] = new_groups
    optimizer.state[:] = new_state


def _group_of(groups: list, number: Any) -> int:
    """The index of the saved group that lists parameter `number`."""
    return next(index for index, group in enumerate(groups) if number in group["params"])


def checked_entry(optimizer: Any, where: str, index: int, entry: Any, group: dict) -> dict:
    """Parameter `index`'s saved state, checked and copied, its arrays in the parameter's dtype:
    a parameter that has taken a step holds all the state its group's options keep."""
    p = optimizer.params[index]
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: the state of parameter {index} must be a dict, got {type(entry).__name__}")
    lacking = [name for name in optimizer.kept_state(group) if name not in entry]
    if entry and lacking:
        raise ValueError(f"{where}: the state of parameter {index} lacks {', '.join(lacking)}, which "
                         f"{type(optimizer).__name__} keeps with these options; nothing was changed")
    names = optimizer.state_names
    state = {}
    for name, value in entry.items():
        if names is not None and name not in names:
            raise ValueError(f"{where}: parameter {index} has state {name!r}, which "
                             f"{type(optimizer).__name__} does not keep (it keeps {', '.join(names)})")
        if name == "step":
            state[name] = _step_count(where, index, value)
        elif name in optimizer.number_state:
            state[name] = _state_number(where, index, name, value)
        elif isinstance(value, np.ndarray):
            if value.shape != p.shape or value.dtype.kind != "f":
                raise ValueError(f"{where}: parameter {index}'s {name} must be a floating-point array of "
                                 f"shape {p.shape} (the parameter's), got {value.dtype} of shape {value.shape}")
            state[name] = value.astype(p.dtype)            # (a copy, always)
        elif names is None:                                # a subclass of yours: kept as it came
            state[name] = _copied(value)
        else:
            raise ValueError(f"{where}: parameter {index}'s {name} must be a numpy array, got "
                             f"{type(value).__name__}")
    return state


def _state_number(where: str, index: int, name: str, value: Any) -> float:
    """A saved number of state (NAdam's `mu_product`, ASGD's `eta` and `mu`) as a float: a finite real
    number, or a 0-d array holding one (PyTorch keeps it as a 0-d float tensor)."""
    value = plain(value)
    if not is_finite_number(value):
        raise ValueError(f"{where}: parameter {index}'s {name} must be a finite number, got {value!r}")
    return float(value)


def non_negative_entries(where: str, index: int, state: dict, name: str, what: str) -> None:
    """ValueError unless the state array `name`, if there, has no negative entry: `what` it holds (a sum or
    an average of squares, whose square root would be NaN; a norm; a step size) is never negative. A NaN
    entry, which a NaN gradient leaves, still loads."""
    values = state.get(name)
    if values is not None and (values < 0).any():
        raise ValueError(f"{where}: parameter {index}'s {name} must be >= 0 ({what}), got an entry of "
                         f"{values.min()}; nothing was changed")


def _step_count(where: str, index: int, value: Any) -> int:
    """A saved step count as an int: an integer >= 0, or a float that holds one (PyTorch keeps
    `step` as a float32 tensor, so its state dict, converted to numpy, has 3.0 or a 0-d array)."""
    value = plain(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not is_int(value) or value < 0:
        raise ValueError(f"{where}: parameter {index}'s step must be an integer >= 0, got {value!r}")
    return int(value)
