"""NaN and inf detection: `detect_anomaly()` names the first op that makes one.

PyTorch's spellings: `mg.autograd.detect_anomaly(check_nan=True)` (also `mg.detect_anomaly`),
`set_detect_anomaly(mode, check_nan=True)`, `is_anomaly_enabled()`, `is_anomaly_check_nan_enabled()`,
`set_anomaly_enabled(enabled, check_nan=True)`; the setting is per thread (PyTorch's is global).

The checks run only inside the block: `tensor.result` checks every op's
forward output, and the backward pass (`gradients.GradientPass`) every
gradient a rule hands back.
"""

from __future__ import annotations

import functools
import warnings
from contextvars import ContextVar
from typing import Any, Callable

import numpy as np

from .autograd import Node, anomaly_checks, current_scope, current_step
from .checks import flag
from .metadata import enter_block, leave_block

# (enabled, check_nan) in this thread, as PyTorch's `torch.is_anomaly_enabled()` and
# `torch.is_anomaly_check_nan_enabled()`; the checks run when both hold (`autograd.anomaly_checks`).
# Anomaly mode here is only the checks (PyTorch also records each op's forward traceback), so
# `check_nan=False` turns the mode on and checks nothing.
_mode: ContextVar = ContextVar("anomaly_mode", default=(False, True))


class AnomalyError(FloatingPointError, RuntimeError):
    """A NaN or inf found under anomaly detection: a FloatingPointError, and a RuntimeError as
    PyTorch's anomaly errors are (`except RuntimeError:` ports)."""


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on in this thread, as `torch.is_anomaly_enabled()`."""
    return _mode.get()[0]


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection checks for NaN (True unless turned off with `check_nan=False`), as
    `torch.is_anomaly_check_nan_enabled()`: True outside detection too, as PyTorch's."""
    return _mode.get()[1]


def _set(enabled: bool, check_nan: bool) -> None:
    _mode.set((enabled, check_nan))
    anomaly_checks.set(enabled and check_nan)


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off in this thread, as `torch.set_anomaly_enabled`."""
    _set(flag(enabled, "enabled", "set_anomaly_enabled"), flag(check_nan, "check_nan", "set_anomaly_enabled"))


class set_detect_anomaly:
    """Turn anomaly detection on (`mode=True`) or off in this thread, as PyTorch's: at once, so
    `mg.autograd.set_detect_anomaly(True)` works as a plain call, and as a context manager that puts
    back the previous setting at its end. `check_nan=False`: detection on, nothing checked."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        mode, check_nan = flag(mode, "mode", "set_detect_anomaly"), flag(check_nan, "check_nan", "set_detect_anomaly")
        self.previous = _mode.get()
        _set(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info: Any) -> None:
        _set(*self.previous)


class detect_anomaly:
    """Inside the block (in this thread), the first op whose forward output or backward gradient holds
    NaN or inf raises AnomalyError (a FloatingPointError and a RuntimeError) naming the op, as
    `torch.autograd.detect_anomaly(check_nan=True)` (`check_nan=False`: detection on, nothing
    checked). Nested blocks put back the setting they found; also a decorator (`@detect_anomaly()`)."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = flag(check_nan, "check_nan", "detect_anomaly")
        # PyTorch's detect_anomaly warns when made (not set_detect_anomaly): the mode slows things down
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                      "enabled for debugging.", stacklevel=2)

    def __enter__(self) -> None:
        enter_block(self, _mode.get())      # (per thread and asyncio task: one object may be open in several)
        _set(True, self.check_nan)

    def __exit__(self, *exc_info: Any) -> None:
        _set(*leave_block(self))

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)
        return checked


def _where() -> str:
    parts = []
    step, scope = current_step.get(), current_scope.get()
    if step is not None:
        parts.append(f"t = {step}")
    if scope:
        parts.append(f"in {scope}")
    return (" (" + ", ".join(parts) + ")") if parts else ""


def check_forward(op: str, output: np.ndarray, input_shapes: tuple) -> None:
    """Raise if the forward output of `op` is not finite."""
    if output.dtype.kind in "fc" and not np.isfinite(output).all():
        bad = "NaN" if np.isnan(output).any() else "inf"
        shapes = ", ".join(str(s) for s in input_shapes)
        raise AnomalyError(
            f"{op}: forward output holds {bad}{_where()}; inputs of shapes {shapes}, "
            f"output of shape {output.shape}")


def check_backward(node: Node, grad: np.ndarray) -> None:
    """Raise if a gradient computed by `node`'s rules is not finite."""
    grad = np.asarray(grad)
    if grad.dtype.kind in "fc" and not np.isfinite(grad).all():
        bad = "NaN" if np.isnan(grad).any() else "inf"
        raise AnomalyError(
            f"{node.op}: backward gradient holds {bad} at {node.describe()}; "
            f"gradient of shape {grad.shape}")


def check_sum(node: Node, grad: np.ndarray) -> None:
    """Raise if the gradient summed so far into `node` is not finite (finite parts that overflowed)."""
    if grad.dtype.kind in "fc" and not np.isfinite(grad).all():
        bad = "NaN" if np.isnan(grad).any() else "inf"
        raise AnomalyError(
            f"{node.op}: the gradient summed into {node.describe()} holds {bad}, though each part was "
            f"finite (their sum overflowed); gradient of shape {grad.shape}")

