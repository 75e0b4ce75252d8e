"""`einsum`: sums of products over named axes (Einstein summation), as `torch.einsum`.

    einsum("ij,jk->ik", a, b)     a @ b: j is shared, and summed over since the output lacks it
    einsum("bi,bj->ij", x, g)     x^T g, the sum over a batch of outer products (fast.ai's weight gradient)
    einsum("ij->ji", a)           a transpose;   "ii->i" the diagonal;   "ii" the trace

Each operand names its axes with letters (a-z, A-Z). A letter shared by operands lines their axes up
(sizes equal, or 1 and broadcast); a letter missing from the output, after '->', is summed over.
Without '->' the output is the letters used once, in alphabetical order (A-Z before a-z). '...'
stands for the axes a subscript does not name, broadcast across operands as `+` broadcasts, in front
of the output without '->' (with '->' the output places '...' itself). Spaces are ignored. The
operands come one after another or as one list, as PyTorch takes them.

For y = einsum(s_1, ..., s_n -> o, x_1, ..., x_n) each derivative is again an einsum:

    dL/dx_k = einsum(o, s_1, .., s_n (all but s_k) -> s_k, g, x_1, .., x_n (all but x_k))
    J_k v   = einsum(s_1, ..., s_n -> o, x_1, .., v, .., x_n)             (v in x_k's place)

The first sums g times the other operands over every letter not in s_k. A letter of s_k found
nowhere else was summed over on its own, so its gradient is g's value repeated along it; a letter
twice in s_k (a diagonal) gets the gradient on the diagonal and 0 off it.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from ..tensor import Rules, Tensor, as_tensor, result
from .linalg import no_bool_product

_LETTERS = string.ascii_letters


def _operands(operands: tuple) -> list[Tensor]:
    """The operands as tensors (one list of them, as `torch.einsum(eq, [a, b])`, counts as the list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise TypeError("einsum: expected an equation and at least one operand, got no operand")
    like = next((x for x in operands if isinstance(x, Tensor)), None)
    tensors = []
    for position, x in enumerate(operands):
        try:
            tensors.append(as_tensor(x, like))
        except (TypeError, ValueError):
            raise TypeError(f"einsum: operand {position} must be a tensor or an array of numbers, got "
                            f"{type(x).__name__} {x!r:.40}") from None
    return tensors


def _split(equation: Any, count: int) -> tuple[list[str], str | None]:
    """The input subscripts and the output's (None when there is no '->'), spaces dropped, checked."""
    text = "".join(equation.split())
    left, arrow, out = text.partition("->")
    inputs = left.split(",")
    for part in inputs + ([out] if arrow else []):
        rest = part.replace("...", "", 1)
        bad = sorted({c for c in rest if c not in _LETTERS})
        if bad:
            raise ValueError(f"einsum: subscripts are letters a-z and A-Z, with at most one '...' each, got "
                             f"{''.join(bad)!r} in {equation!r}")
    if len(inputs) != count:
        raise ValueError(f"einsum: the equation {equation!r} names {len(inputs)} operand(s), got {count}")
    return inputs, (out if arrow else None)


def _explicit(equation: str, inputs: list[str], out: str | None, shapes: list[tuple]) -> tuple[list[str], str]:
    """The subscripts with each '...' written out as letters the equation does not use (the axes it
    stands for, right-aligned across operands as broadcasting aligns them), and the output's."""
    spare = [c for c in _LETTERS if c not in equation]
    widths = []
    for part, shape in zip(inputs, shapes):
        named = len(part.replace("...", ""))
        if ("..." in part and len(shape) < named) or ("..." not in part and len(shape) != named):
            raise ValueError(f"einsum: subscript {part!r} names {named} axes but its operand has shape {shape} "
                             f"(in {equation!r})")
        widths.append(len(shape) - named if "..." in part else 0)
    extra = "".join(spare[:max(widths, default=0)])
    subs = [part.replace("...", extra[len(extra) - width:]) for part, width in zip(inputs, widths)]
    if out is None:                 # implicit: the letters used once, in alphabetical order, after the '...' axes
        used = "".join(s for s in subs)
        out = extra + "".join(sorted(c for c in set(used) if used.count(c) == 1 and c not in extra))
    else:                           # (an output without '...' sums its axes, as PyTorch's)
        out = out.replace("...", extra)
    seen = "".join(subs)
    for c in out:
        if out.count(c) > 1 or c not in seen:
            raise ValueError(f"einsum: output subscript {c!r} of {equation!r} "
                             + ("appears more than once" if out.count(c) > 1 else "names no input axis"))
    return subs, out


def _grad_of_operand(g: np.ndarray, kept: tuple) -> np.ndarray:
    """dL/dx_k: g times the other operands, summed over every letter not in s_k (see the module)."""
    k, subs, out, arrays = kept
    own, shape = subs[k], arrays[k].shape
    others = [j for j in range(len(arrays)) if j != k]
    present = set(out).union(*(subs[j] for j in others))
    letters = "".join(dict.fromkeys(own))                       # s_k's letters, each once
    found = "".join(c for c in letters if c in present)
    part = np.einsum(",".join([out] + [subs[j] for j in others]) + "->" + found, g, *[arrays[j] for j in others],
                     optimize=len(others) > 1 or g.size > 4096)
    sizes = [shape[own.index(c)] for c in letters]
    part = part.reshape([part.shape[found.index(c)] if c in found else 1 for c in letters])
    stretched = tuple(i for i, n in enumerate(sizes) if n == 1 and part.shape[i] != 1)
    part = part.sum(axis=stretched, keepdims=True) if stretched else part     # (x_k's size-1 axes broadcast)
    part = np.broadcast_to(part, sizes)
    if letters == own:
        return part
    full = np.zeros(shape, dtype=part.dtype)
    np.einsum(own + "->" + letters, full)[...] = part            # the diagonal, a writeable view of full
    return full


def _tangent_of_operand(v: np.ndarray, kept: tuple) -> np.ndarray:
    """J_k v: the einsum with v (k directions on a leading axis) in x_k's place."""
    k, subs, out, arrays = kept
    d = next(c for c in _LETTERS if c not in "".join(subs) + out)
    arrays = list(arrays)
    arrays[k] = v
    named = [d + s if j == k else s for j, s in enumerate(subs)]
    return np.einsum(",".join(named) + "->" + d + out, *arrays, optimize=len(arrays) > 2)


def einsum(equation: str, *operands: Any) -> Tensor:
    """torch.einsum(equation, *operands): the sum of products the equation names (see the module);
    gradients and tangents by the einsums above. A ValueError names einsum, the equation and the
    shapes when they do not fit it."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: expected an equation string such as 'ij,jk->ik' first, got "
                        f"{type(equation).__name__}")
    tensors = _operands(operands)
    inputs, out = _split(equation, len(tensors))
    arrays = [t._data for t in tensors]
    subs, out = _explicit(equation, inputs, out, [a.shape for a in arrays])
    if all(a.dtype == np.bool_ for a in arrays):   # as PyTorch's: a sum of one operand's axes is int64 (sum's),
        summed = set("".join(subs)) - set(out)      # one shared by two a matrix product, which bools have not
        if any(sum(c in s for s in subs) > 1 for c in summed):
            no_bool_product("einsum", arrays[0], arrays[1])
        arrays = [a.astype(np.int64) for a in arrays] if summed else arrays
    spelled = ",".join(subs) + "->" + out
    try:
        y = np.einsum(spelled, *arrays, optimize=len(arrays) > 2)
    except ValueError as error:
        raise ValueError(f"einsum: operands of shapes {', '.join(str(a.shape) for a in arrays)} do not fit "
                         f"{equation!r} ({error})") from None
    n = len(tensors)
    rules = Rules(vjp=(_grad_of_operand,) * n, jvp=(_tangent_of_operand,) * n)
    return result("einsum", np.array(y, copy=True), tensors,
                  rules, [(k, subs, out, arrays) for k in range(n)])
