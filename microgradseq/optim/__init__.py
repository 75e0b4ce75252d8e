"""Optimizers, gradient clipping and learning-rate schedules, with PyTorch's names and formulas.

    optimizer = mg.optim.Adam(model.parameters(), lr=1e-2)
    optimizer.zero_grad()
    loss.backward()
    mg.optim.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()

One concept a module: `optimizer.py` (the base class: param groups, state, the
all-or-nothing step), `state_dict.py` (saving and loading its state), `sgd.py`,
`adam.py`, `rmsprop.py`, `adagrad.py`, `adadelta.py` (the update formulas), `lbfgs.py` (L-BFGS,
which calls a closure several times a step) with `line_search.py` (its
strong-Wolfe line search), `options.py` (checks of the hyperparameters),
`clip.py` (clipping) and `lr_scheduler.py` (schedules).
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "LBFGS", "Optimizer", "RMSprop", "SGD", "clip_grad_norm_",
           "clip_grad_value_", "lr_scheduler"]
