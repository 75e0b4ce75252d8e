"""Checks of optimizer options (hyperparameters), shared by the optimizers and the clipping functions.

Each check has the form `check(where, name, value)` and raises a ValueError naming `where` (the
public function: `Adam`, `Adam.step`, ...), the option and the value that came, so an optimizer can
keep a table `option name -> check` and run it at construction and again at every step (a learning
rate changed in `param_groups` after construction is checked before it is used).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..checks import flag, is_finite_number, non_negative_number, positive_int, positive_number


def non_negative(where: str, name: str, value: Any) -> None:
    """A finite number >= 0 (NaN, inf, a bool or a string fail)."""
    non_negative_number(value, name, where)


def non_negative_or_inf(where: str, name: str, value: Any) -> None:
    """A number >= 0, inf included."""
    if not (value == math.inf and not isinstance(value, bool)):
        if not is_finite_number(value) or value < 0:
            raise ValueError(f"{where}: {name} must be a number >= 0 (inf allowed), got {value!r}")


def positive(where: str, name: str, value: Any) -> None:
    """A finite number > 0."""
    positive_number(value, name, where)


def positive_integer(where: str, name: str, value: Any) -> None:
    """An integer >= 1 (a bool or a float fail): LBFGS's max_iter, max_eval, history_size."""
    positive_int(value, name, where)


def fraction(where: str, name: str, value: Any) -> None:
    """0 <= value < 1 (Adam's betas: beta = 1 would divide by 1 - beta^t = 0)."""
    if not is_finite_number(value) or not 0.0 <= value < 1.0:
        raise ValueError(f"{where}: {name} must be in [0, 1), got {value!r}")


def closed_fraction(where: str, name: str, value: Any) -> None:
    """0 <= value <= 1."""
    if not is_finite_number(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{where}: {name} must be in [0, 1], got {value!r}")


def boolean(where: str, name: str, value: Any) -> None:
    """True or False (numpy's bools too)."""
    flag(value, name, where)


def betas(where: str, name: str, value: Any) -> None:
    """A pair (beta1, beta2), each in [0, 1)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{where}: {name} must be a pair (beta1, beta2), got {value!r}")
    for index, beta in enumerate(value):
        fraction(where, f"{name}[{index}]", beta)


def etas(where: str, name: str, value: Any) -> None:
    """Rprop's pair (etaminus, etaplus): the factors a step size shrinks and grows by, 0 < etaminus < 1 < etaplus."""
    if (not isinstance(value, (tuple, list)) or len(value) != 2 or not all(map(is_finite_number, value))
            or not 0.0 < value[0] < 1.0 < value[1]):
        raise ValueError(f"{where}: {name} must be a pair (etaminus, etaplus) with 0 < etaminus < 1 < etaplus, "
                         f"got {value!r}")


def step_sizes(where: str, name: str, value: Any) -> None:
    """Rprop's pair (min, max) that each step size is clamped to: 0 <= min <= max (max may be inf)."""
    pair = isinstance(value, (tuple, list)) and len(value) == 2 and is_finite_number(value[0]) and (
        is_finite_number(value[1]) or (isinstance(value[1], (float, np.floating)) and value[1] == math.inf))
    if not pair or not 0.0 <= value[0] <= value[1]:
        raise ValueError(f"{where}: {name} must be a pair (min, max) of step sizes with 0 <= min <= max, "
                         f"got {value!r}")


def plain(value: Any) -> Any:
    """A number as Python's own: a numpy number (an lr from `np.logspace`, say) or a 0-d numeric array
    (what `mg.save` and `mg.load` make of a numpy number) becomes the int, float or bool it holds;
    tuples and lists item by item; anything else as it is. What `load_state_dict` reads options with."""
    if isinstance(value, (np.ndarray, np.generic)) and value.ndim == 0 and value.dtype.kind in "biuf":
        return value.item()
    if type(value) in (tuple, list):
        return type(value)(plain(item) for item in value)
    return value


def loop_choice(where: str, name: str, value: Any) -> None:
    """`foreach=` or `fused=`: True, False or None. PyTorch's choice of how its step loops over the
    parameters (one kernel per tensor, one per list, one fused); this library has one loop, so every
    choice gives the same update, and the value is only kept in the group, as PyTorch keeps it."""
    if value is not None and not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where}: {name} must be True, False or None, got {value!r}")


def _off(where: str, name: str, value: Any, allowed: tuple) -> None:
    if not any(value is choice or (isinstance(value, np.bool_) and value == choice) for choice in allowed):
        raise TypeError(f"{where}: {name}={value!r} is not supported (only "
                        f"{' or '.join(map(repr, allowed))}: PyTorch's CPU build cannot step with it either)")


def not_capturable(where: str, name: str, value: Any) -> None:
    """`capturable=`: False or None (which PyTorch takes as False); True is for CUDA graphs."""
    _off(where, name, value, (False, None))


def not_differentiable(where: str, name: str, value: Any) -> None:
    """`differentiable=`: False; True records the step itself, for non-leaf parameters."""
    _off(where, name, value, (False,))


def switches(*names: str) -> dict:
    """The checks of those of PyTorch's implementation switches an optimizer takes (as its PyTorch
    namesake does), for its `option_checks`."""
    checks = {"foreach": loop_choice, "fused": loop_choice, "capturable": not_capturable,
              "differentiable": not_differentiable}
    return {name: checks[name] for name in names}


def non_positive(where: str, name: str, value: Any) -> None:
    """A finite number <= 0 (Adafactor's beta2_decay)."""
    if not is_finite_number(value) or value > 0:
        raise ValueError(f"{where}: {name} must be a number <= 0, got {value!r}")


def at_least_one(where: str, name: str, value: Any) -> None:
    """A finite number >= 1 (Adafactor's clipping threshold d)."""
    if not is_finite_number(value) or value < 1:
        raise ValueError(f"{where}: {name} must be a number >= 1, got {value!r}")


def epsilons(where: str, name: str, value: Any) -> None:
    """Adafactor's pair (eps1, eps2): eps1 None (the dtype's machine epsilon) or a number >= 0, eps2 >= 0."""
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not (value[0] is None or (is_finite_number(value[0]) and value[0] >= 0))
            or not (is_finite_number(value[1]) and value[1] >= 0)):
        raise ValueError(f"{where}: {name} must be a pair (eps1, eps2) with eps1 None or >= 0 and eps2 >= 0, "
                         f"got {value!r}")
