"""Compare autodiff gradients with central finite differences."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Sequence

import numpy as np

from .autograd import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """The autodiff gradient and the finite-difference gradient disagree."""


def _scalar(fn: Callable, inputs: Sequence) -> float:
    out = fn(*inputs)
    value = out._data if isinstance(out, Tensor) else np.asarray(out)
    if value.size != 1:
        raise ValueError(f"gradcheck: fn must return a scalar, got shape {value.shape}")
    return float(value.reshape(()))


@contextlib.contextmanager
def _probing(x: Tensor) -> Iterator[np.ndarray]:
    """x holding a copy of its array to perturb (fn may read x through a closure, a module's
    parameter); afterwards x's own array and in-place watch, as they were."""
    data, exposed, checks = x._data, x._exposed, x._node.checks
    x._data = data.copy()
    try:
        yield x._data
    finally:
        x._data, x._exposed, x._node.checks = data, exposed, checks


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """True when d fn(*inputs)/d x matches (fn(x + eps e_i) - fn(x - eps e_i)) / (2 eps)
    for every element i of every input x that requires grad; else GradcheckError.

    Use float64 inputs: float32 finite differences are too coarse for the default tolerances.
    """
    inputs = list(inputs)
    out = fn(*inputs)
    if not isinstance(out, Tensor) or out.size != 1:
        raise ValueError("gradcheck: fn must return a one-element Tensor")
    saved = [x.grad if isinstance(x, Tensor) and x.requires_grad else None for x in inputs]
    for x in inputs:
        if isinstance(x, Tensor) and x.requires_grad:
            x.grad = None
    out.backward()
    for position, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        analytic = x.grad if x.grad is not None else np.zeros(x.shape)
        numeric = np.zeros(x.shape, dtype=np.float64)
        with no_grad(), _probing(x) as probe:
            for i in np.ndindex(*x.shape):
                original = probe[i]
                probe[i] = original + eps
                plus = _scalar(fn, inputs)
                probe[i] = original - eps
                minus = _scalar(fn, inputs)
                probe[i] = original
                numeric[i] = (plus - minus) / (2 * eps)
        x.grad = saved[position]
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and error.max() > 0:
            worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(error)), x.shape))
            raise GradcheckError(
                f"gradcheck: input {position} (shape {x.shape}) at index {worst}: "
                f"autodiff gives {float(analytic[worst])!r}, finite differences give "
                f"{float(numeric[worst])!r}")
    return True
