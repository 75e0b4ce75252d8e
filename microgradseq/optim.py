"""Optimizers and gradient clipping, with PyTorch's update formulas.

An optimizer never writes into a parameter's array: the graph of an earlier
forward pass may have saved that array (truncated BPTT with k1 < k2 still
backpropagates through it), so each step computes a new array and swaps it in
with `_replace_data`. Clipping likewise gives each parameter a new `.grad`.

    optimizer = mg.optim.Adam(model.parameters(), lr=1e-2)
    optimizer.zero_grad()
    loss.backward()
    mg.optim.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from .checks import is_finite_number
from .tensor import Tensor


def _as_list(params: Tensor | Iterable[Tensor], where: str) -> list[Tensor]:
    """The tensors in `params` as a list, each checked to be a Tensor."""
    tensors = list(params)
    for index, item in enumerate(tensors):
        if not isinstance(item, Tensor):
            raise ValueError(
                f"{where}: expected an iterable of Tensors, item {index} is a {type(item).__name__}")
    return tensors


def _check_non_negative(where: str, name: str, value: float) -> None:
    """Raise unless value is a finite number >= 0 (NaN, inf, a bool or a string fail)."""
    if not is_finite_number(value) or value < 0:
        raise ValueError(f"{where}: {name} must be a finite number >= 0, got {value!r}")


class Optimizer:
    """Holds a list of parameters; subclasses define `step()`."""

    def __init__(self, params: Iterable[Tensor]) -> None:
        where = type(self).__name__
        if isinstance(params, Tensor):
            # a Tensor iterates over its rows, which would silently train slices
            raise ValueError(
                f"{where}: expected an iterable of Tensors (e.g. module.parameters()), "
                f"got a single Tensor of shape {params.shape}; wrap it in a list")
        self.params = _as_list(params, where)
        if not self.params:
            raise ValueError(f"{where}: got an empty list of parameters")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(f"{where}: a parameter appears more than once; it would be updated twice")

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (grad = None)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        raise NotImplementedError


def _with_decay(p: Tensor, weight_decay: float) -> np.ndarray:
    """grad + weight_decay * p: the gradient of loss + weight_decay / 2 * |p|^2 (grad itself when 0)."""
    return p.grad if weight_decay == 0.0 else p.grad + weight_decay * p._data


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and L2 weight decay.

        g   = grad + weight_decay * p
        buf = g                      (first step)
        buf = momentum * buf + g     (later steps)
        p   = p - lr * buf           (buf = g when momentum == 0)
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        _check_non_negative("SGD", "lr", lr)
        _check_non_negative("SGD", "momentum", momentum)
        _check_non_negative("SGD", "weight_decay", weight_decay)
        super().__init__(params)
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.momentum_buffers: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        """Apply one update to every parameter whose grad is not None."""
        for index, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = _with_decay(p, self.weight_decay)
            if self.momentum != 0.0:
                buf = self.momentum_buffers[index]
                buf = g.copy() if buf is None else self.momentum * buf + g   # g may be p.grad itself
                self.momentum_buffers[index] = buf
                g = buf
            p._replace_data((p._data - self.lr * g).astype(p.dtype, copy=False))


class Adam(Optimizer):
    """Adam (Kingma & Ba) with L2 weight decay added to the gradient, as `torch.optim.Adam`.

    At a parameter's t-th update (t counts only steps where it had a gradient):

        g     = grad + weight_decay * p
        m     = beta1 * m + (1 - beta1) * g          (m = 0 before the first step)
        v     = beta2 * v + (1 - beta2) * g^2        (v = 0 before the first step)
        m_hat = m / (1 - beta1^t)
        v_hat = v / (1 - beta2^t)
        p     = p - lr * m_hat / (sqrt(v_hat) + eps)
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        _check_non_negative("Adam", "lr", lr)
        _check_non_negative("Adam", "eps", eps)
        _check_non_negative("Adam", "weight_decay", weight_decay)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        for name, beta in zip(("betas[0]", "betas[1]"), betas):
            if not is_finite_number(beta) or not 0.0 <= beta < 1.0:
                raise ValueError(f"Adam: {name} must be in [0, 1), got {beta!r}")
        super().__init__(params)
        self.lr = lr
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = eps
        self.weight_decay = weight_decay
        self.steps = [0] * len(self.params)
        self.exp_avg = [np.zeros_like(p._data) for p in self.params]
        self.exp_avg_sq = [np.zeros_like(p._data) for p in self.params]

    def step(self) -> None:
        """Apply one update to every parameter whose grad is not None."""
        beta1, beta2 = self.betas
        for index, p in enumerate(self.params):
            if p.grad is None:
                continue
            self.steps[index] += 1
            t = self.steps[index]
            g = _with_decay(p, self.weight_decay)
            m = beta1 * self.exp_avg[index] + (1.0 - beta1) * g
            v = beta2 * self.exp_avg_sq[index] + (1.0 - beta2) * g * g
            self.exp_avg[index], self.exp_avg_sq[index] = m, v
            # PyTorch's arrangement of the same formula: fold the corrections into
            # the step size and the denominator
            step_size = self.lr / (1.0 - beta1 ** t)
            denom = np.sqrt(v) / math.sqrt(1.0 - beta2 ** t) + self.eps
            p._replace_data((p._data - step_size * m / denom).astype(p.dtype, copy=False))


def clip_grad_norm_(params: Tensor | Iterable[Tensor], max_norm: float) -> float:
    """Scale all gradients together so their joint L2 norm is at most `max_norm`.

        total_norm = sqrt(sum over params of sum(grad^2))
        coef       = max_norm / (total_norm + 1e-6)
        grad       = grad * coef        (only when coef < 1)

    Returns `total_norm` as it was before clipping (0.0 when no parameter has a
    gradient). Parameters without a gradient are skipped.
    """
    _check_non_negative("clip_grad_norm_", "max_norm", max_norm)
    tensors = [params] if isinstance(params, Tensor) else _as_list(params, "clip_grad_norm_")
    with_grad = [p for p in tensors if p.grad is not None]
    total_norm = math.sqrt(sum(float(np.sum(np.square(p.grad, dtype=np.float64)))
                               for p in with_grad))
    coef = max_norm / (total_norm + 1e-6)
    if coef < 1.0:
        for p in with_grad:
            p.grad = p.grad * coef
    return total_norm


def clip_grad_value_(params: Tensor | Iterable[Tensor], value: float) -> None:
    """Clip every gradient elementwise to [-value, value]; parameters without one are skipped."""
    _check_non_negative("clip_grad_value_", "value", value)
    tensors = [params] if isinstance(params, Tensor) else _as_list(params, "clip_grad_value_")
    for p in tensors:
        if p.grad is not None:
            p.grad = np.clip(p.grad, -value, value)
