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
from ..spellings import only_defaults


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


def plain(value: Any) -> Any:
    """A number as Python's own: a numpy number (an lr from `np.logspace`, say) or a 0-d numeric array
    (what `mg.save` and `mg.load` make of a numpy number) becomes the int, float or bool it holds;
    tuples and lists item by item; anything else as it is. What `load_state_dict` reads options with."""
    if isinstance(value, (np.ndarray, np.generic)) and value.ndim == 0 and value.dtype.kind in "biuf":
        return value.item()
    if type(value) in (tuple, list):
        return type(value)(plain(item) for item in value)
    return value


def pytorch_only(where: str, **options: Any) -> None:
    """Refuse PyTorch's implementation switches unless they ask for what this library does.

    `foreach=` and `fused=` choose how PyTorch loops over the parameters (None or False: the
    plain loop, the only one here); `capturable=` and `differentiable=` are for CUDA graphs and
    differentiating through the step (False only). TypeError naming `where` and the option.
    """
    plain_loop = {name: (None if name in ("foreach", "fused") and value is False else value)
                  for name, value in options.items()}
    only_defaults(where, plain_loop, {"foreach": None, "fused": None, "capturable": False,
                                      "differentiable": False})
