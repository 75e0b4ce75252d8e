"""A new op from its forward and its backward, written by hand: PyTorch's `torch.autograd.Function`.

    class LegendreP3(mg.autograd.Function):
        '''P3(x) = (5x^3 - 3x) / 2;   dP3/dx = (15x^2 - 3) / 2'''

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x ** 3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_output):
            x, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * x ** 2 - 1)

    y = LegendreP3.apply(x)

`apply` runs `forward` with nothing recorded and records one node for its
output, named after the class, whose rule calls `backward`: to the engine's
walk it is one more row of the table of derivatives, as tanh is. `backward`
gets dL/d(output) and returns dL/d(input) for each argument of `forward` (None
for an argument that is not a tensor, or that needs no gradient), each of the
input's shape or broadcast from it (then summed back, as every rule's
gradient is). It runs once a pass, however many inputs share it. A `forward`
returning a tuple of tensors records a node per output; each calls `backward`
with its own gradient and zeros for the others (the sum over the outputs is
then the chain rule, backward being linear in them).

Forward mode (`mg.jvp`) calls a `jvp(ctx, *tangents)` staticmethod, as
PyTorch's does: the tangent of the output(s) given one tangent per argument of
`forward`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .autograd import anomaly_checks, no_grad, setting
from .forward import current_run
from .tensor import Rules, Tensor, owned, result


class FunctionCtx:
    """What `forward` leaves for `backward` (PyTorch's `ctx`): the tensors given to
    `save_for_backward`, read back as `saved_tensors`; `needs_input_grad`, a bool per argument of
    `forward`; and any attribute `forward` sets (`ctx.scale = 2`)."""

    def __init__(self, needs_input_grad: tuple) -> None:
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self._saved = ()

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep these tensors (or None) for `backward`. Their arrays are read-only: what backward
        reads is what forward computed."""
        for position, tensor in enumerate(tensors):
            if tensor is not None and not isinstance(tensor, Tensor):
                raise TypeError(f"save_for_backward: expected tensors (or None), got {type(tensor).__name__} "
                                f"at position {position}; keep other values as attributes of ctx")
        self._saved = tensors

    save_for_forward = save_for_backward

    @property
    def saved_tensors(self) -> tuple:
        """What `save_for_backward` kept, in its order."""
        return self._saved

    def set_materialize_grads(self, value: bool) -> None:
        """With False, `backward` gets None (not zeros) for an output that has no gradient."""
        self.materialize_grads = bool(value)

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Accepted for PyTorch code; a non-differentiable output simply gets no gradient here."""


class Function:
    """Subclass it with `forward(ctx, *args)` and `backward(ctx, *grad_outputs)` staticmethods (or
    PyTorch's newer `forward(*args)` with `setup_context(ctx, inputs, output)`), and call
    `YourFunction.apply(*args)`."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any) -> Any:
        raise NotImplementedError("Function: define forward(ctx, *args) as a staticmethod of your subclass")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Tensor) -> Any:
        raise NotImplementedError("Function: define backward(ctx, *grad_outputs) as a staticmethod of your "
                                  "subclass")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        """forward(ctx, *args), recorded as one node per output whose rule is `backward`."""
        name = cls.__name__
        ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        with no_grad(), setting(current_run, None):
            if "setup_context" in _overridden(cls):
                outputs = cls.forward(*args)
                cls.setup_context(ctx, args, outputs)
            else:
                outputs = cls.forward(ctx, *args)
        single = isinstance(outputs, Tensor)
        outputs = (outputs,) if single else outputs
        if not isinstance(outputs, tuple) or not outputs or not all(isinstance(o, Tensor) for o in outputs):
            raise TypeError(f"{name}.forward: expected a Tensor or a tuple of Tensors, got "
                            f"{_described(outputs[0] if single else outputs)}")
        positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        call = _Call(cls, ctx, args, positions, tuple(o._data for o in outputs))
        made = tuple(result(name, out._data, [args[i] for i in positions],
                            Rules(vjp=(call.gradient,) * len(positions), jvp=(call.tangents(k),) * len(positions)),
                            tuple((k, slot) for slot in range(len(positions))))
                     for k, out in enumerate(outputs))
        return made[0] if single else made


class _Call:
    """One application of a Function: its rules read the ctx that forward filled."""

    def __init__(self, cls: type, ctx: FunctionCtx, args: tuple, positions: tuple, outputs: tuple) -> None:
        self.cls, self.ctx, self.args, self.positions, self.outputs = cls, ctx, args, positions, outputs
        self.last = None            # (output k, g, its gradients): backward runs once for all inputs

    def gradient(self, g: np.ndarray, kept: tuple) -> np.ndarray:
        """dL/d(input `slot`), given g = dL/d(output k): backward's answer for that argument."""
        k, slot = kept
        if self.last is None or self.last[0] != k or self.last[1] is not g:
            self.last = (k, g, self._backward(k, g))
        return self.last[2][slot]

    def _backward(self, k: int, g: np.ndarray) -> list[np.ndarray]:
        name = f"{self.cls.__name__}.backward"
        view = g.view()
        view.setflags(write=False)
        grad_outputs = [owned(view) if j == k else
                        (owned(np.zeros_like(y)) if self.ctx.materialize_grads else None)
                        for j, y in enumerate(self.outputs)]
        with no_grad(), setting(anomaly_checks, False):     # (a NaN it makes is named after the Function)
            grads = self.cls.backward(self.ctx, *grad_outputs)
        grads = grads if isinstance(grads, tuple) else (grads,)
        extra = grads[len(self.args):]
        if len(grads) < len(self.args) or any(e is not None for e in extra):
            raise ValueError(f"{name}: expected {len(self.args)} gradients (one per argument of forward, None "
                             f"where there is none), got {len(grads)}")
        return [self._checked(name, grads[i], self.args[i], i) for i in self.positions]

    @staticmethod
    def _checked(name: str, grad: Any, x: Tensor, position: int) -> np.ndarray:
        """backward's gradient for argument `position` as an array of x's shape, or broadcast from it."""
        if grad is None:
            return np.zeros(x.shape, dtype=x.dtype)
        array = grad._data if isinstance(grad, Tensor) else np.asarray(grad)
        if array.dtype.kind not in "fc":
            raise TypeError(f"{name}: the gradient for argument {position} must be floating-point, "
                            f"got dtype {array.dtype}")
        try:
            fits = np.broadcast_shapes(x.shape, array.shape) == array.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{name}: the gradient for argument {position} has shape {array.shape}, "
                             f"expected {x.shape} (the argument's shape, or one it broadcasts to)")
        return array

    def tangents(self, k: int):
        """Forward mode's rule for output k: J_slot v, from jvp with v for that argument, zeros elsewhere,
        direction by direction (v carries a leading axis of directions)."""
        def tangent(v: np.ndarray, kept: tuple) -> np.ndarray:
            if "jvp" not in _overridden(self.cls):
                raise NotImplementedError(f"{self.cls.__name__}: forward mode (mg.jvp) needs a jvp(ctx, *tangents) "
                                          "staticmethod giving the output's tangent, one tangent per argument of "
                                          "forward")
            _, slot = kept
            position = self.positions[slot]
            per_direction = []
            for direction in v:
                tangents = [owned(direction) if i == position else
                            (owned(np.zeros_like(a._data)) if isinstance(a, Tensor) else None)
                            for i, a in enumerate(self.args)]
                with no_grad(), setting(current_run, None):
                    out = self.cls.jvp(self.ctx, *tangents)
                out = out if isinstance(out, tuple) else (out,)
                per_direction.append(np.asarray(out[k]._data if isinstance(out[k], Tensor) else out[k]))
            return np.stack(per_direction)
        return tangent


def _overridden(cls: type) -> set:
    """Which of PyTorch's optional hooks (setup_context, jvp) a Function subclass defines."""
    return {name for name in ("setup_context", "jvp")
            if any(name in vars(c) for c in cls.__mro__ if c not in (Function, object))}


def _described(value: Any) -> str:
    return f"a tuple of {', '.join(type(v).__name__ for v in value)}" if isinstance(value, tuple) \
        else type(value).__name__
