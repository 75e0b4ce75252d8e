"""Compare autodiff gradients with central finite differences."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .autograd import no_grad
from .checks import flag, is_finite_number
from .tensor import Tensor
from .transforms import jacobian_blocks, jacobian_columns


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
              atol: float = 1e-5, rtol: float = 1e-3, *, raise_exception: bool = True,
              check_forward_ad: bool = False, check_backward_ad: bool = True) -> bool:
    """True when the Jacobian of y = fn(*inputs) matches central finite differences,

        dy_j/dx_i  against  (y_j(x + eps e_i) - y_j(x - eps e_i)) / (2 eps),

    for every element i of every input x that requires grad and every element j of y (one
    number, a loss, or a tensor; a tuple of them: each output that requires grad in turn, an error
    naming it); else GradcheckError (or False, with `raise_exception=False`).
    A NaN or inf on either side fails. The Jacobian is computed by reverse mode (one backward
    pass per element j), and with `check_forward_ad=True` also by forward mode (one pass with
    x.size directions, the unit vectors e_i); `check_backward_ad=False` leaves reverse mode out.
    `inputs` is a tensor or an iterable of them (such as `model.parameters()`); at least one
    must require grad. As PyTorch's `gradcheck`, also reachable as `mg.autograd.gradcheck`.

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
    raise_exception, check_forward_ad, check_backward_ad = (
        flag(value, name, "gradcheck") for value, name in ((raise_exception, "raise_exception"),
                                                            (check_forward_ad, "check_forward_ad"),
                                                            (check_backward_ad, "check_backward_ad")))
    if not (check_backward_ad or check_forward_ad):
        raise ValueError("gradcheck: check_backward_ad and check_forward_ad are both False, so there is "
                         "nothing to check")
    checked = [(position, x) for position, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check; make the "
                         "inputs to check with requires_grad=True")
    out = fn(*inputs)
    if isinstance(out, (tuple, list)):          # several outputs, as PyTorch's: each differentiable one in turn
        for k, part in enumerate(out):
            if not (isinstance(part, Tensor) and part.dtype.kind in "fc" and part.requires_grad):
                continue
            try:
                if not gradcheck(lambda *args, k=k: fn(*args)[k], inputs, eps, atol, rtol,
                                 raise_exception=raise_exception, check_forward_ad=check_forward_ad,
                                 check_backward_ad=check_backward_ad):
                    return False
            except GradcheckError as error:
                raise GradcheckError(str(error).replace("gradcheck: ", f"gradcheck: output {k}, ", 1)) from None
        return True
    if not isinstance(out, Tensor) or out.dtype.kind not in "fc":
        came = f"a Tensor of dtype {out.dtype}" if isinstance(out, Tensor) else f"a {type(out).__name__}"
        raise ValueError(f"gradcheck: fn must return a floating-point Tensor, got {came}")
    if check_backward_ad:
        reverse = jacobian_blocks(out, [x for _, x in checked])     # d out / d x (leaves' .grad kept)
    for k, (position, x) in enumerate(checked):
        numeric = _finite_differences(fn, inputs, x, out.shape, eps)
        computed = {}
        if check_backward_ad:
            computed["autodiff"] = reverse[k]
        if check_forward_ad:
            computed["forward-mode autodiff"] = jacobian_columns(lambda _: fn(*inputs), x, "gradcheck")[1]
        for method, block in computed.items():
            error = _mismatch(block.astype(np.float64), numeric, atol, rtol, position, x, out, method, checked)
            if error is not None:
                if raise_exception:
                    raise error
                return False
    return True


def _finite_differences(fn: Callable, inputs: list, x: Tensor, shape: tuple, eps: float) -> np.ndarray:
    """d fn / d x by central differences, of shape `shape` (fn's output's) + x.shape, in float64."""
    numeric = np.zeros(shape + x.shape, dtype=np.float64)
    with no_grad(), _perturbing(x) as original:
        for i in np.ndindex(*x.shape):
            x.data = _moved(original, i, eps)
            plus = _values(fn, inputs, shape)
            x.data = _moved(original, i, -eps)
            minus = _values(fn, inputs, shape)
            numeric[(Ellipsis,) + i] = (plus - minus) / (2 * eps)
    return numeric


def _mismatch(autodiff: np.ndarray, numeric: np.ndarray, atol: float, rtol: float, position: int, x: Tensor,
              out: Tensor, method: str, checked: list) -> GradcheckError | None:
    """The error naming the worst entry where |autodiff - numeric| > atol + rtol |numeric|, or None."""
    error = np.abs(autodiff - numeric) - (atol + rtol * np.abs(numeric))
    error = np.where(np.isnan(error), np.inf, error)    # a NaN on either side is a failure (an array, 0-d too)
    if not error.size or error.max() <= 0:
        return None
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(error)), error.shape))
    output_index = f", output index {worst[:out.ndim]}" if out._data.size != 1 else ""
    return GradcheckError(
        f"gradcheck: input {position} (shape {x.shape}) at index {worst[out.ndim:]}{output_index}: "
        f"{method} gives {float(autodiff[worst])!r}, finite differences give "
        f"{float(numeric[worst])!r}" + _precision_hint(checked, out))
