"""Optimizers, gradient clipping and learning-rate schedules, with PyTorch's names and formulas.

    optimizer = mg.optim.Adam(model.parameters(), lr=1e-2)
    optimizer.zero_grad()
    loss.backward()
    mg.optim.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()

One concept a module: `optimizer.py` (the base class: param groups, state, the
all-or-nothing step), `state_dict.py` (saving and loading its state), `sgd.py`,
`adam.py`, `nadam.py`, `radam.py`, `adamax.py`, `rmsprop.py`, `adagrad.py`,
`adadelta.py`, `adafactor.py`, `rprop.py`, `asgd.py` (the update formulas), `lbfgs.py`
(L-BFGS, which calls a closure several times a step) with `line_search.py`
(its strong-Wolfe line search), `options.py` (checks of the hyperparameters),
`clip.py` (clipping), `lr_scheduler/` (the schedules, a module each kind) and `swa_utils.py` (weight
averaging: SWA and EMA models, the SWALR schedule, update_bn; the one module above `nn`).
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .clip import clip_grad_norm_, clip_grad_value_
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from . import swa_utils         # (last: it imports nn, whose utils import this package's clipping)

__all__ = ["ASGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS", "NAdam", "Optimizer", "RAdam", "RMSprop",
           "Rprop", "SGD", "clip_grad_norm_", "clip_grad_value_", "lr_scheduler", "swa_utils"]
__all__ += ["Adafactor"]
