"""NaN and inf detection: `detect_anomaly()` names the first op that makes one.

The checks run only inside the block: `tensor.result` checks every op's
forward output, and the backward pass (`gradients.GradientPass`) every
gradient a rule hands back.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .autograd import Node, anomaly_checks, current_scope, current_step, setting


def detect_anomaly() -> contextlib.AbstractContextManager:
    """Inside the block (in this thread), the first op whose output or gradient holds NaN/inf
    raises FloatingPointError."""
    return setting(anomaly_checks, True)


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
        raise FloatingPointError(
            f"{op}: forward output holds {bad}{_where()}; inputs of shapes {shapes}, "
            f"output of shape {output.shape}")


def check_backward(node: Node, grad: np.ndarray) -> None:
    """Raise if a gradient computed by `node`'s rules is not finite."""
    grad = np.asarray(grad)
    if grad.dtype.kind in "fc" and not np.isfinite(grad).all():
        bad = "NaN" if np.isnan(grad).any() else "inf"
        raise FloatingPointError(
            f"{node.op}: backward gradient holds {bad} at {node.describe()}; "
            f"gradient of shape {grad.shape}")


def check_sum(node: Node, grad: np.ndarray) -> None:
    """Raise if the gradient summed so far into `node` is not finite (finite parts that overflowed)."""
    if grad.dtype.kind in "fc" and not np.isfinite(grad).all():
        bad = "NaN" if np.isnan(grad).any() else "inf"
        raise FloatingPointError(
            f"{node.op}: the gradient summed into {node.describe()} holds {bad}, though each part was "
            f"finite (their sum overflowed); gradient of shape {grad.shape}")
