"""Writing into a tensor: `t[index] = value`, and writes into parts of tensors.

Arrays are read-only, so a write gives the tensor a new array: t takes
`index_put(t, index, value)`, a copy of its values with the value written in,
as the in-place operators take their result (`Tensor._in_place`). While
recording the write is an op like any other: value's gradient is g at the
written positions, and t's old entries get g everywhere else.

A tensor taken with a basic index, `part = base[i]` (ints, slices, Ellipsis,
None; `_part_of` in `shape.py`), is a part of base, as a PyTorch view is, and
so is a reshape that shares base's memory or a transpose: a write into the
part is written into base too, and base into the tensor it is
a part of, up to the top. A part first catches up with writes its base had
since it was taken (`parts_in_step`), so a write through it never undoes them.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..tensor import Rules, Tensor, as_tensor, result
from .elementwise import clone
from .shape import InTurn, Rearranged, _prepared_index, _pytorch_words, getitem


def index_put(x: Any, index: Any, value: Any) -> Tensor:
    """x with `value` written at x[index] (broadcast, in x's dtype), what `x[index] = value` records
    (PyTorch's `index_put`);   the rules: for x, g with zeros where value was written (x's entries
    there are gone); for value, g's entries there (summed over what was broadcast)"""
    x = x if type(x) is Tensor else as_tensor(x, where="index_put")
    try:
        value = as_tensor(number_for(value, x.dtype), x)
    except (TypeError, ValueError) as error:
        raise type(error)(f"index_put: {str(error).partition(': ')[2] or error}") from None
    if x.dtype.kind not in "fc" and value._node is not None:
        value = value.detach()          # integers have no gradient: x stays without history, as PyTorch's
    y = x._data.copy()
    try:
        index, repeats, _ = _prepared_index(index, x._data)
        y[index] = _without_leading_ones(value._data)
        if repeats:
            index = _each_position_once(x.shape, index, value)
    except (IndexError, ValueError, TypeError) as error:
        raise type(error)(f"index_put: {_pytorch_words(error)} (tensor of shape {x.shape}, value of shape "
                          f"{value.shape})") from None
    kept = (index, value.shape, x.shape)
    return result("index_put", y, (x, value), INDEX_PUT, (kept, kept))


def _without_leading_ones(values: np.ndarray) -> np.ndarray:
    """values without their leading axes of size 1, as PyTorch writes them (`t[0] = ones(1)` into a 0-d
    place, `t[0, 1] = ones(1, 1)`: its set_item strips them, "to match numpy semantics", where numpy 2 refuses
    a sequence in a single place)."""
    leading = 0
    while leading < values.ndim and values.shape[leading] == 1:
        leading += 1
    return values.reshape(values.shape[leading:]) if leading else values


def number_for(value: Any, dtype: np.dtype, where: str = "index_put") -> Any:
    """A Python or numpy number as PyTorch writes it into a tensor of `dtype`: a float into integers
    cut toward zero, a negative integer into unsigned ones wrapped (-1 into uint8 is 255), but NaN,
    inf and numbers out of range refused (numpy would write -2**63 for NaN into int64, wrap 1e10
    into int32, make 1e39 float32's inf), and a complex number into reals unless it is real. Anything
    else (tensors, arrays) as it is: numpy casts it, as PyTorch's copy_ does. Errors name `where`."""
    if not isinstance(value, numbers.Number) or isinstance(value, (bool, np.bool_)) or dtype.kind in "bc":
        return value
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        if value.imag != 0:
            raise TypeError(f"{where}: the complex value {value!r} cannot be written into a tensor of dtype {dtype}")
        value = value.real
    if dtype.kind in "iu":
        limits = np.iinfo(dtype)
        whole = int(value) if math.isfinite(value) else None
        if whole is not None and dtype.kind == "u" and -limits.max <= whole < 0:
            whole += limits.max + 1
        if whole is None or not limits.min <= whole <= limits.max:
            raise ValueError(f"{where}: the value {value!r} cannot be converted to dtype {dtype} without overflow")
        return whole
    with np.errstate(over="ignore"):
        if math.isfinite(value) and not np.isfinite(np.array(value, dtype=dtype)):
            raise ValueError(f"{where}: the value {value!r} cannot be converted to dtype {dtype} without overflow")
    return value


def _each_position_once(shape: tuple, index: Any, value: Tensor) -> Any:
    """`index`, or, when it names a position twice and value is one number (`seen[tokens] = True`),
    the positions it names, each once, so the rules count each once. ValueError when it names a
    position twice for values that may differ: which one lands is not defined (PyTorch leaves it
    undefined too)."""
    positions = np.arange(int(np.prod(shape))).reshape(shape)[index]
    once = np.unique(positions)
    if once.size == positions.size:
        return index
    if value._data.size != 1:
        raise ValueError("the index names a position twice, for values that may differ: which one lands is not "
                         "defined (PyTorch leaves it undefined too)")
    return np.unravel_index(once, shape)


def _unwritten(g: np.ndarray, kept: tuple) -> np.ndarray:
    """g J for x: g with zeros at the written positions."""
    out = g.copy()
    out[kept[0]] = 0
    return out


def _written(g: np.ndarray, kept: tuple) -> np.ndarray:
    """g J for value: g at the written positions, with value's leading axes of size 1 if numpy dropped
    them (the core then sums what was broadcast)."""
    index, shape, _ = kept
    part = g[index]
    return part.reshape((1,) * (len(shape) - part.ndim) + part.shape) if part.ndim < len(shape) else part


def _unwritten_tangent(v: np.ndarray, kept: tuple) -> np.ndarray:
    """J v for x, each direction alike: v with zeros at the written positions."""
    out = v.copy()
    for k in range(len(out)):
        out[k, ...][kept[0]] = 0        # (out[k, ...]: an array, 0-d too, where out[k] would be a number)
    return out


def _written_tangent(v: np.ndarray, kept: tuple) -> np.ndarray:
    """J v for value: each direction of v written into zeros of x's shape."""
    index, _, shape = kept
    out = np.zeros(v.shape[:1] + shape, dtype=v.dtype)
    for k in range(len(out)):
        out[k, ...][index] = _without_leading_ones(v[k])
    return out


INDEX_PUT = Rules(vjp=(_unwritten, _written), jvp=(_unwritten_tangent, _written_tangent))


def setitem(self: Tensor, index: Any, value: Any) -> None:
    """`t[index] = value`: t takes `index_put(t, index, value)`, as the in-place operators take their
    result: a new array (arrays are read-only) and, while recording, its history. When t is a part of
    another tensor (`t = u[0]`, a basic index), the write goes into that tensor too, as into a
    PyTorch view: `u[0][1] = v` writes into u."""
    self._in_place("t[index] = value", lambda t, v: index_put(t, index, v), value)


# ---- parts: a write into base[i] goes into base --------------------------------------------------

def parts_in_step(part: Tensor, where: str = "t[index] = value") -> list[tuple[Tensor, Tensor]]:
    """(tensor, its values now) for `part` and each tensor it is a part of, bottom up. A base written
    since the part was taken (directly, through another part of it, by an optimizer step) has entries
    the part has not seen, and writing the part's old values back would undo them: top down, each
    level is read again from the level above, unless both are in step. Nothing is changed here; an
    error (naming `where`, the write) when a tensor above changed its shape in place since."""
    chain = [part]
    while chain[-1]._part_of is not None:
        chain.append(chain[-1]._part_of[0])
    now = chain[-1]                                 # the top tensor: in step with itself
    levels = [(now, now)]
    for level in reversed(chain[:-1]):              # top down
        base, index, seen, _ = level._part_of
        if base._data.shape != seen.shape:
            raise RuntimeError(
                f"{where}: cannot write into this part (a view) of a tensor of shape {seen.shape}: that tensor "
                f"changed its shape in place since (to {base._data.shape}: squeeze_, unsqueeze_, t_ or transpose_), "
                "so where the part sits in it is lost; take the part again after the shape change")
        now = level if now is base and seen is base._data else part_at(now, index)
        levels.append((level, now))
    return levels[::-1]


def write_through(chain: list[tuple[Tensor, Tensor]], out: Tensor, recording: bool) -> None:
    """After a write into chain[0]'s tensor, a part, made `out`: each tensor above takes index_put(its
    values now, index, what is below). Every result is computed before any tensor takes one, so an
    error (a NaN under detect_anomaly, say) changes nothing."""
    results = [out]
    for (level, _), (_, above_now) in zip(chain, chain[1:]):
        results.append(with_part(above_now, level._part_of[1], results[-1]))
    for (tensor, _), new in zip(chain, results):
        tensor._take(new, recording)
    for level, _ in chain[:-1]:
        base, index, _, depth = level._part_of
        level._part_of = (base, index, base._data, depth)      # in step with base again


def part_at(base: Tensor, index: Any) -> Tensor:
    """base's part at `index`: base[index], or base rearranged (a part that reshape or transpose made),
    or, for `InTurn` steps, each step's part of the last."""
    if type(index) is InTurn:
        for step in index.steps:
            base = part_at(base, step)
        return base
    return index.op(base, *index.forward) if type(index) is Rearranged else getitem(base, index)


def with_part(base: Tensor, index: Any, part: Tensor) -> Tensor:
    """base with `part` written at `index` (`index_put`); for a rearranged part, which is all of base,
    the part in base's shape, in C order when base's array is (a transposed part's order would make a
    later `base.view(-1)` a copy, where PyTorch's base keeps its memory and the view is one); for `InTurn`
    steps, written back step by step, bottom up."""
    if type(index) is InTurn:
        bases = [base]
        for step in index.steps[:-1]:
            bases.append(part_at(bases[-1], step))
        for step, above in zip(reversed(index.steps), reversed(bases)):
            part = with_part(above, step, part)
        return part
    if type(index) is not Rearranged:
        return index_put(base, index, part)
    out = index.op(part, *index.back)
    return clone(out) if base._data.flags.c_contiguous and not out._data.flags.c_contiguous else out
