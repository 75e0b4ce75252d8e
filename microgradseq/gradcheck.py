"""Compare autodiff gradients with central finite differences."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Sequence

import numpy as np

from .autograd import LEAF, no_grad, topological_order
from .checks import is_finite_number
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
def _probing(x: Tensor) -> Iterator[Callable[[tuple, float], None]]:
    """`shift(i, delta)`: x holding its array with element i moved by delta, a new array each
    time (arrays are read-only; fn may read x through a closure, a module's parameter).
    Afterwards x holds its own array again."""
    original = x._data

    def shift(i: tuple, delta: float) -> None:
        probe = original.copy()
        probe[i] += delta
        x._replace_data(probe)

    try:
        yield shift
    finally:
        x._data = original


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """True when d fn(*inputs)/d x matches (fn(x + eps e_i) - fn(x - eps e_i)) / (2 eps)
    for every element i of every input x that requires grad; else GradcheckError (a NaN or
    inf on either side fails). `inputs` is a tensor or a sequence of them.

    Every leaf's `.grad` is as it was afterwards, a module's parameters that fn
    reads through a closure included. Use float64 inputs: float32 finite
    differences are too coarse for the default tolerances.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for name, value in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if not is_finite_number(value) or value < 0 or (name == "eps" and value == 0):
            raise ValueError(f"gradcheck: {name} must be a finite number, "
                             f"{'positive' if name == 'eps' else 'not negative'}, got {value!r}")
    out = fn(*inputs)
    if not isinstance(out, Tensor) or out.data.size != 1:
        raise ValueError("gradcheck: fn must return a one-element Tensor")
    checked = [(position, x) for position, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    analytic = _autodiff_gradients(out, [x for _, x in checked])
    for (position, x), autodiff in zip(checked, analytic):
        numeric = np.zeros(x.shape, dtype=np.float64)
        with no_grad(), _probing(x) as shift:
            for i in np.ndindex(*x.shape):
                shift(i, eps)
                plus = _scalar(fn, inputs)
                shift(i, -eps)
                minus = _scalar(fn, inputs)
                numeric[i] = (plus - minus) / (2 * eps)
        error = np.abs(autodiff - numeric) - (atol + rtol * np.abs(numeric))
        error[np.isnan(error)] = np.inf                 # a NaN on either side is a failure
        if error.size and error.max() > 0:
            worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(error)), x.shape))
            raise GradcheckError(
                f"gradcheck: input {position} (shape {x.shape}) at index {worst}: "
                f"autodiff gives {float(autodiff[worst])!r}, finite differences give "
                f"{float(numeric[worst])!r}")
    return True


def _autodiff_gradients(out: Tensor, inputs: list[Tensor]) -> list[np.ndarray]:
    """d out / d x for each x, by one backward pass; every leaf's `.grad` is restored after it."""
    leaves = [node for node in topological_order(out._node) if node.kind is LEAF] if out._node else []
    before = [leaf.grad for leaf in leaves]
    for leaf in leaves:
        leaf.grad = None
    try:
        out.backward()
        return [np.zeros(x.shape) if x.grad is None else x.grad for x in inputs]
    finally:
        for leaf, grad in zip(leaves, before):
            leaf.grad = grad
