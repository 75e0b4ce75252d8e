"""Optimizers and gradient clipping, with PyTorch's update formulas.

An optimizer never writes into a parameter's array: arrays are read-only, and
the graph of an earlier forward pass may have saved the old one (truncated
BPTT with k1 < k2 still backpropagates through it). So each step computes a
new array and gives it to the parameter with `_replace_data`. Clipping
likewise gives each parameter a new `.grad`.

A step is all or nothing: every parameter and gradient is checked, every new
array and optimizer state computed, and only then are they swapped in, so a
step that fails leaves every parameter and every state (Adam's step count
too) as it was.

    optimizer = mg.optim.Adam(model.parameters(), lr=1e-2)
    optimizer.zero_grad()
    loss.backward()
    mg.optim.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from .autograd import LEAF
from .checks import flag, is_finite_number
from .tensor import Tensor


def _as_list(params: Iterable[Tensor], where: str) -> list[Tensor]:
    """The tensors in `params` as a list, each checked to be a Tensor."""
    try:
        tensors = list(iter(params))
    except TypeError:
        raise TypeError(f"{where}: expected an iterable of Tensors (such as model.parameters()), "
                        f"got {type(params).__name__}") from None
    for index, item in enumerate(tensors):
        if not isinstance(item, Tensor):
            raise ValueError(
                f"{where}: expected an iterable of Tensors, item {index} is a {type(item).__name__}")
    return tensors


def _check_non_negative(where: str, name: str, value: float, infinite: bool = False) -> None:
    """Raise unless value is a number >= 0, finite unless `infinite` (NaN, a bool or a string fail)."""
    if infinite and value == math.inf and not isinstance(value, bool):
        return
    if not is_finite_number(value) or value < 0:
        kind = "a number >= 0 (inf allowed)" if infinite else "a finite number >= 0"
        raise ValueError(f"{where}: {name} must be {kind}, got {value!r}")


def _check_fraction(where: str, name: str, value: float, closed: bool = False) -> None:
    """Raise unless 0 <= value < 1 (value <= 1 when `closed`)."""
    if not is_finite_number(value) or not (0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0):
        raise ValueError(f"{where}: {name} must be in [0, 1{']' if closed else ')'}, got {value!r}")


class Optimizer:
    """Holds a list of parameters and, per parameter, a dict of state (PyTorch's
    `optimizer.state`, here a list in the order of the parameters).

    Subclasses define `update(data, grad, state)`: the parameter's new array,
    computed from its array, its gradient and its state. The update may assign
    new arrays to the state dict's entries (never write into them); the step
    keeps them only when every parameter's update succeeded.
    """

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
        from .nn.module import Parameter      # (here, not above: nn.utils imports this module)
        for index, p in enumerate(self.params):
            if not p.requires_grad:
                if isinstance(p, Parameter):    # a frozen parameter, as PyTorch: never has a grad
                    continue
                raise ValueError(f"{where}: item {index} is a tensor that does not require grad; an "
                                 "optimizer trains leaf tensors made with requires_grad=True (or a "
                                 "module's parameters)")
            if p._node.kind is not LEAF:
                raise ValueError(f"{where}: item {index} is the result of an op, not a leaf tensor; "
                                 "train the leaves it was computed from")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(f"{where}: a parameter appears more than once; it would be updated twice")
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (grad = None)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient: all of them, or (on an error) none."""
        due = [(index, p) for index, p in enumerate(self.params) if p.grad is not None]
        for index, p in due:
            self._check(index, p)
        staged = []
        for index, p in due:
            state = dict(self.state[index])
            staged.append((self.update(p._data, p.grad, state).astype(p.dtype, copy=False), state))
        for (index, p), (data, state) in zip(due, staged):
            p._replace_data(data)
            self.state[index] = state

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        """The parameter's new array (a fresh one); may assign new arrays into `state`."""
        raise NotImplementedError

    def _check(self, index: int, p: Tensor) -> None:
        """ValueError unless p's gradient matches its shape and dtype, and its state arrays its shape."""
        where = f"{type(self).__name__}.step"
        grad = p.grad
        if grad.shape != p.shape or grad.dtype != p.dtype:
            raise ValueError(f"{where}: parameter {index} is {p.dtype} of shape {p.shape} but its grad "
                             f"is {grad.dtype} of shape {grad.shape}; no parameter was changed")
        for name, value in self.state[index].items():
            if isinstance(value, np.ndarray) and value.shape != p.shape:
                raise ValueError(f"{where}: parameter {index} has shape {p.shape} but its {name} has "
                                 f"shape {value.shape} (was the parameter reshaped?); no parameter "
                                 "was changed")


def _with_decay(data: np.ndarray, grad: np.ndarray, weight_decay: float) -> np.ndarray:
    """grad + weight_decay * p: the gradient of loss + weight_decay / 2 * |p|^2 (grad itself when 0)."""
    return grad if weight_decay == 0.0 else grad + weight_decay * data


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

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        g = _with_decay(data, grad, self.weight_decay)
        if self.momentum != 0.0:
            buf = state.get("momentum_buffer")
            g = g.copy() if buf is None else self.momentum * buf + g    # g may be p.grad itself
            state["momentum_buffer"] = g
        return data - self.lr * g


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

    decoupled_weight_decay = False

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        where = type(self).__name__
        _check_non_negative(where, "lr", lr)
        _check_non_negative(where, "eps", eps)
        _check_non_negative(where, "weight_decay", weight_decay)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{where}: betas must be a pair (beta1, beta2), got {betas!r}")
        for name, beta in zip(("betas[0]", "betas[1]"), betas):
            _check_fraction(where, name, beta)
        super().__init__(params)
        self.lr = lr
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = eps
        self.weight_decay = weight_decay

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        beta1, beta2 = self.betas
        if self.decoupled_weight_decay:
            data = data * (1.0 - self.lr * self.weight_decay)
        else:
            grad = _with_decay(data, grad, self.weight_decay)
        t = state["step"] = state.get("step", 0) + 1
        m = state["exp_avg"] = beta1 * state.get("exp_avg", 0.0) + (1.0 - beta1) * grad
        v = state["exp_avg_sq"] = beta2 * state.get("exp_avg_sq", 0.0) + (1.0 - beta2) * grad * grad
        # PyTorch's arrangement of the same formula: fold the corrections into
        # the step size and the denominator
        step_size = self.lr / (1.0 - beta1 ** t)
        denom = np.sqrt(v) / math.sqrt(1.0 - beta2 ** t) + self.eps
        return data - step_size * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as `torch.optim.AdamW`: the
    decay shrinks the parameter directly instead of entering the gradient and the moments.

        p     = p * (1 - lr * weight_decay)
        m, v, m_hat, v_hat as Adam's, from g = grad
        p     = p - lr * m_hat / (sqrt(v_hat) + eps)
    """

    decoupled_weight_decay = True

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), as `torch.optim.RMSprop`:

        g   = grad + weight_decay * p
        v   = alpha * v + (1 - alpha) * g^2                     (v = 0 before the first step)
        avg = sqrt(v) + eps
            = sqrt(v - a^2) + eps, a = alpha * a + (1 - alpha) * g    (centered; a = 0 at first)
        buf = momentum * buf + g / avg                          (buf = 0 before the first step)
        p   = p - lr * buf            (p - lr * g / avg when momentum == 0)
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        _check_non_negative("RMSprop", "lr", lr)
        _check_fraction("RMSprop", "alpha", alpha, closed=True)
        _check_non_negative("RMSprop", "eps", eps)
        _check_non_negative("RMSprop", "weight_decay", weight_decay)
        _check_non_negative("RMSprop", "momentum", momentum)
        self.centered = flag(centered, "centered", "RMSprop")
        super().__init__(params)
        self.lr = lr
        self.alpha = alpha
        self.eps = eps
        self.weight_decay = weight_decay
        self.momentum = momentum

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> np.ndarray:
        alpha = self.alpha
        g = _with_decay(data, grad, self.weight_decay)
        square_avg = state["square_avg"] = alpha * state.get("square_avg", 0.0) + (1.0 - alpha) * g * g
        if self.centered:
            grad_avg = state["grad_avg"] = alpha * state.get("grad_avg", 0.0) + (1.0 - alpha) * g
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + self.eps
        else:
            avg = np.sqrt(square_avg) + self.eps
        if self.momentum > 0.0:
            buf = state["momentum_buffer"] = self.momentum * state.get("momentum_buffer", 0.0) + g / avg
            return data - self.lr * buf
        return data - self.lr * g / avg


def _tensors(params: Tensor | Iterable[Tensor], where: str) -> list[Tensor]:
    return [params] if isinstance(params, Tensor) else _as_list(params, where)


def clip_grad_norm_(params: Tensor | Iterable[Tensor], max_norm: float) -> float:
    """Scale all gradients together so their joint L2 norm is at most `max_norm`.

        total_norm = sqrt(sum over params of sum(grad^2))
        coef       = max_norm / (total_norm + 1e-6)
        grad       = grad * coef        (when coef < 1, or NaN)

    Returns `total_norm` as it was before clipping (0.0 when no parameter has a
    gradient). Parameters without a gradient are skipped. As in PyTorch,
    `max_norm=inf` only measures, and a NaN anywhere makes the norm NaN and
    every gradient NaN (an inf, a norm of inf and NaN where the inf was).
    """
    _check_non_negative("clip_grad_norm_", "max_norm", max_norm, infinite=True)
    with_grad = [p for p in _tensors(params, "clip_grad_norm_") if p.grad is not None]
    total_norm = math.sqrt(sum(float(np.sum(np.square(p.grad, dtype=np.float64)))
                               for p in with_grad))
    coef = max_norm / (total_norm + 1e-6)
    if not coef >= 1.0:             # (coef is NaN when total_norm is)
        for p in with_grad:
            p.grad = p.grad * coef
    return total_norm


def clip_grad_value_(params: Tensor | Iterable[Tensor], value: float) -> None:
    """Clip every gradient elementwise to [-value, value]; parameters without one are skipped."""
    _check_non_negative("clip_grad_value_", "value", value, infinite=True)
    for p in _tensors(params, "clip_grad_value_"):
        if p.grad is not None:
            p.grad = np.clip(p.grad, -value, value)
