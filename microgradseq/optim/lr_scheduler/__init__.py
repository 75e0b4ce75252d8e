"""Learning-rate schedules, as `torch.optim.lr_scheduler`: each changes the `'lr'` of the
optimizer's param groups when you call `scheduler.step()` (once an epoch, after `optimizer.step()`;
CyclicLR and OneCycleLR after every batch).

    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    scheduler = mg.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        train(...)                    # optimizer.step() inside
        scheduler.step()

A schedule counts epochs in `last_epoch` (0 after construction, which already sets epoch 0's
rates) and keeps each group's starting rate as `base_lrs` (and in the group, as
`'initial_lr'`). Made with `last_epoch=k` to resume (the groups must hold `'initial_lr'`), it starts
at epoch k + 1; as PyTorch's since 2.8, ExponentialLR, LinearLR, PolynomialLR, CosineAnnealingLR and
MultiplicativeLR then keep the groups' current rates (the ones the checkpoint had), where StepLR,
MultiStepLR, ConstantLR and LambdaLR take that epoch's step. Like PyTorch's, `step()` is chainable:
StepLR, MultiStepLR, ExponentialLR, ConstantLR, LinearLR, PolynomialLR, CosineAnnealingLR and
MultiplicativeLR compute the next rate from the group's current lr, so a rate you change by hand
carries on from where you put it; `step(epoch)` computes the closed form for that epoch instead.

One concept a module: `base.py` (LRScheduler, and the checks of a loaded state dict), `schedules.py`
(the decays with a closed form), `cosine.py` (cosine annealing, with warm restarts), `lambdas.py` (rates
from functions of the epoch), `cyclic.py` (the per-batch cycles that move the momentum too),
`compositions.py` (SequentialLR, ChainedScheduler) and `plateau.py` (ReduceLROnPlateau).
"""

from .base import LRScheduler
from .compositions import ChainedScheduler, SequentialLR
from .cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from .cyclic import CyclicLR, OneCycleLR
from .lambdas import LambdaLR, MultiplicativeLR
from .plateau import ReduceLROnPlateau
from .schedules import ConstantLR, ExponentialLR, LinearLR, MultiStepLR, PolynomialLR, StepLR

__all__ = ["ChainedScheduler", "ConstantLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR",
           "ExponentialLR", "LRScheduler", "LambdaLR", "LinearLR", "MultiStepLR", "MultiplicativeLR", "OneCycleLR",
           "PolynomialLR", "ReduceLROnPlateau", "SequentialLR", "StepLR"]

# Each schedule names this package as its module, as PyTorch's name torch.optim.lr_scheduler: scripts test
# `scheduler.__module__ == lr_scheduler.__name__` to tell a library schedule from a function of their own.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name

_LRScheduler = LRScheduler          # PyTorch's older name
