"""Compare autodiff gradients with central finite differences."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .checks import flag, is_finite_number
from .tensor import Tensor
from .transforms import jacobian_blocks, jacobian_columns, reverse_gradients


class GradcheckError(AssertionError, RuntimeError):
    """The autodiff gradient and the finite-difference gradient disagree. An AssertionError (pytest
    shows it as a failed check) and a RuntimeError, as PyTorch's GradcheckError is."""


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
              nondet_tol: float = 0.0, check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True, fast_mode: bool = False,
              masked: bool | None = None) -> bool:
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

    Reverse mode is also checked as PyTorch checks it: the Jacobian computed a second time must
    agree with the first within `nondet_tol` (else the backward is not reentrant), and a backward
    pass seeded with zeros must give exactly zeros ("backward not multiplied by grad_output").
    PyTorch's other switches are taken and need nothing more here: `fast_mode=True` checks every
    entry too (PyTorch checks one random projection, a weaker test); gradients are always in their
    input's dtype (`check_grad_dtypes`); batched gradients are computed row by row, the rows checked
    (`check_batched_grad`, `check_batched_forward_grad`); a Function's backward already gets None
    or zeros for the outputs a pass did not reach (`check_undefined_grad`); there are no sparse
    tensors (`masked`).

    Each input is perturbed by giving it a new array (`x.data = ...`), and given
    its own back afterwards; every leaf's `.grad` is as it was, a module's
    parameters that fn reads through a closure included. Use float64 inputs:
    float32 finite differences are too coarse for the default tolerances, and
    a failure on float32 inputs says so.
    """
    inputs = _inputs(inputs)
    _check_tolerances(eps=eps, atol=atol, rtol=rtol, nondet_tol=nondet_tol)
    raise_exception, check_forward_ad, check_backward_ad = (
        flag(value, name, "gradcheck") for value, name in ((raise_exception, "raise_exception"),
                                                            (check_forward_ad, "check_forward_ad"),
                                                            (check_backward_ad, "check_backward_ad")))
    for name, value in (("check_undefined_grad", check_undefined_grad), ("check_grad_dtypes", check_grad_dtypes),
                        ("check_batched_grad", check_batched_grad), ("fast_mode", fast_mode),
                        ("check_batched_forward_grad", check_batched_forward_grad)):
        flag(value, name, "gradcheck")
    if masked is not None:
        flag(masked, "masked", "gradcheck")
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
                                 raise_exception=raise_exception, nondet_tol=nondet_tol,
                                 check_forward_ad=check_forward_ad, check_backward_ad=check_backward_ad):
                    return False
            except GradcheckError as error:
                raise GradcheckError(str(error).replace("gradcheck: ", f"gradcheck: output {k}, ", 1)) from None
        return True
    if not isinstance(out, Tensor) or out.dtype.kind not in "fc":
        came = f"a Tensor of dtype {out.dtype}" if isinstance(out, Tensor) else f"a {type(out).__name__}"
        raise ValueError(f"gradcheck: fn must return a floating-point Tensor, got {came}")
    if check_backward_ad:
        reverse = jacobian_blocks(out, [x for _, x in checked])     # d out / d x (leaves' .grad kept)
        if not _passes(_not_reentrant(out, checked, reverse, nondet_tol), raise_exception):
            return False
    for k, (position, x) in enumerate(checked):
        numeric = _finite_differences(fn, inputs, x, out.shape, eps)
        computed = {}
        if check_backward_ad:
            computed["autodiff"] = reverse[k]
        if check_forward_ad:
            computed["forward-mode autodiff"] = jacobian_columns(lambda _: fn(*inputs), x, "gradcheck")[1]
        for method, block in computed.items():
            error = _mismatch(block.astype(np.float64), numeric, atol, rtol, position, x, out, method, checked)
            if not _passes(error, raise_exception):
                return False
    return not check_backward_ad or _passes(_not_multiplied(out, checked), raise_exception)


def _passes(error: GradcheckError | None, raise_exception: bool) -> bool:
    """True if there is no error; else raise it, or False with `raise_exception=False`."""
    if error is not None and raise_exception:
        raise error
    return error is None


def _check_tolerances(**values: Any) -> None:
    """eps > 0; atol, rtol, nondet_tol >= 0; all finite numbers (ValueError naming the one that is not)."""
    for name, value in values.items():
        if not is_finite_number(value) or value < 0 or (name == "eps" and value == 0):
            raise ValueError(f"gradcheck: {name} must be a finite number, "
                             f"{'positive' if name == 'eps' else 'not negative'}, got {value!r}")


def _not_reentrant(out: Tensor, checked: list, jacobians: list, nondet_tol: float) -> GradcheckError | None:
    """The Jacobian J' computed a second time must agree with the first, |J' - J| <= nondet_tol (NaN
    entries pass, as PyTorch's max |J' - J| > nondet_tol test lets them): a backward whose result
    changes from call to call is not reentrant. The error, or None."""
    for (position, x), first, second in zip(checked, jacobians, jacobian_blocks(out, [x for _, x in checked])):
        apart = np.abs(first.astype(np.float64) - second)
        if np.any(apart > nondet_tol):
            worst = np.unravel_index(int(np.argmax(np.where(np.isnan(apart), -np.inf, apart))), apart.shape)
            return GradcheckError(
                f"gradcheck: backward is not reentrant: two backward passes with the same input and "
                f"grad_output give {float(first[worst])!r} and {float(second[worst])!r} for input {position} "
                f"(shape {x.shape}) at {_where(worst, out)}, more apart than nondet_tol={nondet_tol!r}")
    return None


def _not_multiplied(out: Tensor, checked: list) -> GradcheckError | None:
    """A backward pass seeded with zeros must give every input exactly 0, as the vector-Jacobian
    product 0^T J is: a backward that adds something of its own fails ("backward not multiplied by
    grad_output", PyTorch's words). The error, or None."""
    zeros = reverse_gradients([(out, np.zeros(out.shape, out.dtype))], [x for _, x in checked], retain_graph=True)
    for (position, x), g in zip(checked, zeros):
        if not np.all(g == 0):
            worst = np.unravel_index(int(np.argmax(np.where(np.isnan(g), np.inf, np.abs(g)))), g.shape)
            return GradcheckError(
                f"gradcheck: backward not multiplied by grad_output: a pass seeded with zeros gives input "
                f"{position} (shape {x.shape}) the gradient {float(g[worst])!r} at index "
                f"{tuple(int(i) for i in worst)}, expected 0")
    return None


def _where(index: tuple, out: Tensor) -> str:
    """An entry of a Jacobian block (output index + input index) as the errors name it."""
    output_index = f", output index {index[:out.ndim]}" if out._data.size != 1 else ""
    return f"index {tuple(int(i) for i in index[out.ndim:])}{output_index}"


def gradgradcheck(fn: Callable[..., Tensor], inputs: Tensor | Sequence, grad_outputs: Any = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False, masked: bool = False) -> bool:
    """PyTorch's `torch.autograd.gradgradcheck` checks second derivatives, the gradients of a backward
    pass run with `create_graph=True`. Gradients here are not recorded, so there are none to check:
    NotImplementedError, with PyTorch's signature so that the call itself is understood."""
    raise NotImplementedError(
        "gradgradcheck: second derivatives (backward with create_graph=True) are not supported, so "
        "there are none to check; gradcheck(fn, inputs) checks the first derivatives, and a gradient "
        "written out by hand as a function of the inputs can be gradcheck-ed too")


def _finite_differences(fn: Callable, inputs: list, x: Tensor, shape: tuple, eps: float) -> np.ndarray:
    """d fn / d x by central differences, of shape `shape` (fn's output's) + x.shape, in float64. fn runs
    with grad mode as the caller has it, as PyTorch's (inside fn, what requires grad still does)."""
    numeric = np.zeros(shape + x.shape, dtype=np.float64)
    with _perturbing(x) as original:
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
    return GradcheckError(
        f"gradcheck: input {position} (shape {x.shape}) at {_where(worst, out)}: "
        f"{method} gives {float(autodiff[worst])!r}, finite differences give "
        f"{float(numeric[worst])!r}" + _precision_hint(checked, out))

