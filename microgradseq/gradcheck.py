"""Compare autodiff gradients with central finite differences."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .autograd import no_grad
from .checks import is_finite_number
from .tensor import Tensor
from .transforms import jacobian_blocks


class GradcheckError(AssertionError):
    """The autodiff gradient and the finite-difference gradient disagree."""


def _values(fn: Callable, inputs: Sequence, shape: tuple) -> np.ndarray:
    """fn(*inputs) as an array of `shape` (the shape of the first call's output)."""
    out = fn(*inputs)
    value = out._data if isinstance(out, Tensor) else np.asarray(out)
    if value.shape != shape:
        raise ValueError(f"gradcheck: fn returned shape {value.shape} for a moved input, {shape} before")
    return value.astype(np.float64)


def _inputs(inputs: Any) -> list:
    """`inputs` as a list: a Tensor alone, or an iterable of Tensors (and constants), such as
    `model.parameters()`. An array would iterate over its rows: it is refused."""
    if isinstance(inputs, Tensor):
        return [inputs]
    if isinstance(inputs, np.ndarray) or not hasattr(inputs, "__iter__"):
        raise TypeError(f"gradcheck: inputs must be a Tensor or an iterable of Tensors, got "
                        f"{type(inputs).__name__}; make the inputs to check with "
                        "mg.tensor(..., dtype=np.float64, requires_grad=True)")
    return list(inputs)


def _moved(array: np.ndarray, index: tuple, step: float) -> np.ndarray:
    """A copy of `array` with `step` added at `index`."""
    moved = array.copy()
    moved[index] += step
    return moved


@contextlib.contextmanager
def _perturbing(x: Tensor) -> Iterator[np.ndarray]:
    """x's array, given back to x afterwards whatever happens: in between, the caller gives x
    new arrays (fn may read x through a closure, as a module reads its parameters)."""
    original = x.data
    try:
        yield original
    finally:
        x.data = original


def _precision_hint(checked: list[tuple[int, Tensor]], out: Tensor) -> str:
    coarse = [f"input {position} is {x.dtype}" for position, x in checked if x.dtype != np.float64]
    if coarse:
        return (f" ({', '.join(coarse)}: finite differences need float64 inputs; make them with "
                "dtype=np.float64)")
    if out.dtype != np.float64:
        return f" (fn returns {out.dtype}: finite differences need fn computed in float64)"
    return ""


def gradcheck(fn: Callable[..., Tensor], inputs: Tensor | Sequence, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """True when the Jacobian of y = fn(*inputs) matches central finite differences,

        dy_j/dx_i  against  (y_j(x + eps e_i) - y_j(x - eps e_i)) / (2 eps),

    for every element i of every input x that requires grad and every element j of y (one
    number, a loss, or a tensor: one backward pass per element j); else GradcheckError (a NaN or
    inf on either side fails). `inputs` is a tensor or an iterable of them (such as
    `model.parameters()`); at least one must require grad. As PyTorch's `gradcheck`, also
    reachable as `mg.autograd.gradcheck`.

    Each input is perturbed by giving it a new array (`x.data = ...`), and given
    its own back afterwards; every leaf's `.grad` is as it was, a module's
    parameters that fn reads through a closure included. Use float64 inputs:
    float32 finite differences are too coarse for the default tolerances, and
    a failure on float32 inputs says so.
    """
    inputs = _inputs(inputs)
    for name, value in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if not is_finite_number(value) or value < 0 or (name == "eps" and value == 0):
            raise ValueError(f"gradcheck: {name} must be a finite number, "
                             f"{'positive' if name == 'eps' else 'not negative'}, got {value!r}")
    checked = [(position, x) for position, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check; make the "
                         "inputs to check with requires_grad=True")
    out = fn(*inputs)
    if not isinstance(out, Tensor) or out.dtype.kind not in "fc":
        came = f"a Tensor of dtype {out.dtype}" if isinstance(out, Tensor) else f"a {type(out).__name__}"
        raise ValueError(f"gradcheck: fn must return a floating-point Tensor, got {came}")
    blocks = jacobian_blocks(out, [x for _, x in checked])     # d out / d x (leaves' .grad kept)
    for (position, x), block in zip(checked, blocks):
        autodiff = block.astype(np.float64)
        numeric = np.zeros(out.shape + x.shape, dtype=np.float64)
        with no_grad(), _perturbing(x) as original:
            for i in np.ndindex(*x.shape):
                x.data = _moved(original, i, eps)
                plus = _values(fn, inputs, out.shape)
                x.data = _moved(original, i, -eps)
                minus = _values(fn, inputs, out.shape)
                numeric[(Ellipsis,) + i] = (plus - minus) / (2 * eps)
        error = np.abs(autodiff - numeric) - (atol + rtol * np.abs(numeric))
        error = np.where(np.isnan(error), np.inf, error)    # a NaN on either side is a failure (an array, 0-d too)
        if error.size and error.max() > 0:
            worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(error)), error.shape))
            output_index = f", output index {worst[:out.ndim]}" if out._data.size != 1 else ""
            raise GradcheckError(
                f"gradcheck: input {position} (shape {x.shape}) at index {worst[out.ndim:]}{output_index}: "
                f"autodiff gives {float(autodiff[worst])!r}, finite differences give "
                f"{float(numeric[worst])!r}" + _precision_hint(checked, out))
    return True
