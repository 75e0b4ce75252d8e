"""PyTorch's `torch.autograd.forward_ad` (`mg.autograd.forward_ad`): forward mode with dual tensors.

    import microgradseq.autograd.forward_ad as fwAD

    with fwAD.dual_level():
        dual = fwAD.make_dual(x, v)            # x + v eps
        y = f(dual)                            # y + (J v) eps: every op pushes the tangent on
        jvp = fwAD.unpack_dual(y).tangent      # J v

A dual number a + b eps with eps^2 = 0 carries a value and its derivative
along one direction: f(x + v eps) = f(x) + J v eps (docs/forward_mode.md,
section 1). A *dual level* is one forward-mode run of this thread
(forward.py's `Seed`): `make_dual` gives a tensor of x's values the tangent v,
and while the level is open every op on a tensor with a tangent gives its
result the tangent sum_i J_i v_i (the op's JVP rule, beside its VJP rule in
ops/). A tensor without a tangent counts as one with a tangent of zeros.
Recording goes on as usual, so a dual tensor made from a primal that requires
grad is differentiable in reverse mode too (make_dual and unpack_dual are
recorded as the identity). Leaving the level ends the run: `unpack_dual` then
gives a tangent of None.

As in PyTorch there is one level at a time (entering a second, or entering
one inside `mg.jvp` or another forward pass of `transforms.py`, such as
`mg.jacobian(mode="fwd")` or `autograd.functional.jvp`, is a RuntimeError;
inside the function of any `torch.func` transform, `func.jacfwd` and
`func.jvp` included, a NotImplementedError), and a
tangent is given per dual tensor, of the primal's shape; here it is cast to
the primal's dtype.
"""

from __future__ import annotations

import contextlib
from typing import Any, NamedTuple

import numpy as np

from .autograd import setting
from . import transforms
from .forward import Seed, current_run
from .tensor import Rules, Tensor, array_of, owned, result


def _same(v: np.ndarray, kept: None = None) -> np.ndarray:
    """The identity's rule, both ways: d = 1."""
    return v


_IDENTITY = Rules(vjp=(_same,), jvp=(_same,))


class UnpackedDualTensor(NamedTuple):
    """What `unpack_dual` returns: the primal (the values, with the tensor's history but no tangent)
    and the tangent (a tensor without history, or None)."""

    primal: Tensor
    tangent: Tensor | None


class _Level(Seed):
    """One dual level: a forward-mode run without seeds, whose tangents `make_dual` gives."""

    def __init__(self) -> None:
        super().__init__([], [])


def enter_dual_level() -> int:
    """Open a dual level in this thread and return its number (0: there is only one)."""
    transforms.refuse_inside_transform("enter_dual_level")
    run = current_run.get()
    if run is not None:
        where = ("a dual level is already open" if isinstance(run, _Level)
                 else 'called inside a forward-mode pass: mg.jvp, mg.jacobian(mode="fwd"), ...')
        raise RuntimeError(f"enter_dual_level: nested forward-mode levels are not supported ({where})")
    _Level().__enter__()
    return 0


def exit_dual_level(*, level: int | None = None) -> None:
    """Close this thread's dual level: the tangents of its dual tensors are gone."""
    _open_level("exit_dual_level", level, required=True).__exit__(None, None, None)


class dual_level(contextlib.ContextDecorator):
    """`with fwAD.dual_level():` (or `@fwAD.dual_level()`): a dual level open inside the block;
    `as` gives its number, 0."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc_info) -> None:
        exit_dual_level()


def _open_level(name: str, level: Any, required: bool = False) -> _Level | None:
    """This thread's open dual level (None if there is none, or RuntimeError when `required`)."""
    if level is not None and (type(level) is not int or level != 0):
        raise ValueError(f"{name}: level must be None or 0 (the one dual level), got {level!r}")
    run = current_run.get()
    run = run if isinstance(run, _Level) else None
    if run is None and required:
        raise RuntimeError(f"{name}: no dual level is open; work inside `with fwAD.dual_level():`")
    return run


def make_dual(tensor: Tensor, tangent: Any, *, level: int | None = None) -> Tensor:
    """The dual tensor `tensor` + `tangent` eps: x's values (its history too, recorded as the
    identity) with the tangent v, of x's shape (cast to x's dtype). Only inside a dual level; a
    tangent that is itself a dual tensor at this level is a RuntimeError, as PyTorch's."""
    run = _open_level("make_dual", level)
    if run is None:
        raise RuntimeError("make_dual: no dual level is open; make dual tensors inside `with fwAD.dual_level():`")
    if not isinstance(tensor, Tensor):
        raise TypeError(f"make_dual: expected a Tensor as the primal, got {type(tensor).__name__}")
    if tensor.dtype.kind not in "fc":
        raise ValueError(f"make_dual: expected a floating-point primal, got dtype {tensor.dtype}")
    values = tangent._data if isinstance(tangent, Tensor) else np.array(array_of(tangent))
    if values.dtype.kind not in "fc":
        raise ValueError(f"make_dual: expected a floating-point tangent, got dtype {values.dtype}")
    if values.shape != tensor.shape:
        raise ValueError(f"make_dual: the tangent must have the primal's shape {tensor.shape}, got {values.shape}")
    if isinstance(tangent, Tensor) and run.tangent(tangent) is not None:
        raise RuntimeError("make_dual: the tangent has a tangent of its own at this level (it is a dual tensor), "
                           "as PyTorch refuses; pass fwAD.unpack_dual(t).primal")
    if run.tangent(tensor) is not None:
        raise RuntimeError("make_dual: the primal already has a tangent at this level (it is a dual tensor); "
                           "make the new dual from fwAD.unpack_dual(t).primal")
    dual = result("make_dual", tensor._data, (tensor,), _IDENTITY, (None,))
    array = values.astype(tensor.dtype, copy=False)[None]     # (one direction)
    same = isinstance(tangent, Tensor) and tangent.dtype == tensor.dtype
    dual._tangent = (run, array, tangent if same else owned(array[0]))     # (the tensor given, for unpack_dual)
    return dual


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """(primal, tangent) of a tensor at the open dual level: its values with its history and no
    tangent, and its tangent as a tensor without history (the one given to make_dual, for a dual
    make_dual made). A tensor without a tangent, or outside a level: (the tensor, None)."""
    run = _open_level("unpack_dual", level)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"unpack_dual: expected a Tensor, got {type(tensor).__name__}")
    pair = tensor._tangent
    if run is None or pair is None or pair[0] is not run or pair[1] is None:
        return UnpackedDualTensor(tensor, None)
    tangent = pair[2] if len(pair) > 2 else owned(pair[1][0])
    with setting(current_run, None):            # (the primal gets no tangent)
        primal = result("unpack_dual", tensor._data, (tensor,), _IDENTITY, (None,))
    return UnpackedDualTensor(primal, tangent)
