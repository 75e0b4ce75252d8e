"""PyTorch's type promotion as functions: `promote_types(a, b)`, `result_type(tensor1, tensor2)` and
`can_cast(from_, to)`, the rules of PyTorch's "Type promotion" notes (docs/source/tensor_attributes.rst)
and of c10's `promoteTypes` and `canCast`.

Dtypes fall in four categories, bool < integer < floating < complex. Two dtypes of one category
promote to the wider (int8 and uint8 to int16, as numpy); across categories the higher category's
dtype wins (int64 and float32: float32, where numpy gives float64; int64 and complex64: complex64).
For operands, tensors with dimensions come first, then 0-d tensors, then Python numbers (standing for
int64, the default float or the default complex dtype): a lower tier only counts when its category is
higher (an int32 tensor and 1.5: float32 under the default float32; a float32 tensor and a float64 0-d
tensor: float32; a float32 tensor and 1j: complex64, the tensor's width).
"""

from __future__ import annotations

import numbers
from typing import Any, Iterable

import numpy as np

from .tensor import Tensor, default_complex_dtype, get_default_dtype

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _dtype(value: Any, where: str, name: str) -> np.dtype:
    dtype = None
    if not isinstance(value, (Tensor, np.ndarray, list, tuple)):    # (numpy reads these as dtypes; PyTorch not)
        try:
            dtype = np.dtype(value)
        except TypeError:
            pass
    if dtype is None:
        raise TypeError(f"{where}: {name} must be a dtype (mg.float32, mg.long, ...), "
                        f"got {type(value).__name__} {value!r:.60}")
    if dtype.kind not in _CATEGORY:
        raise TypeError(f"{where}: {name} must be a numeric or bool dtype, got {dtype}")
    return dtype


def promoted_dtype(a: np.dtype, b: np.dtype) -> np.dtype:
    """Within a category numpy's promotion; across categories the higher one's dtype (complex64 and
    float64 need complex128, which holds both, as PyTorch's)."""
    if _CATEGORY[a.kind] == _CATEGORY[b.kind] or {a.kind, b.kind} == {"f", "c"}:
        return np.promote_types(a, b)
    return a if _CATEGORY[a.kind] > _CATEGORY[b.kind] else b


def promote_types(type1: Any, type2: Any) -> np.dtype:
    """The smallest dtype that neither type1 nor type2 loses category or width in, as
    `torch.promote_types` (`promote_types(mg.int32, mg.float32)` is float32, `(mg.uint8, mg.long)` int64)."""
    return promoted_dtype(_dtype(type1, "promote_types", "type1"), _dtype(type2, "promote_types", "type2"))


def _number_dtype(value: Any) -> np.dtype:
    """The dtype a Python number stands for when it decides: bool, int64, the default float or complex."""
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(value, numbers.Integral):
        return np.dtype(np.int64)
    return get_default_dtype() if isinstance(value, numbers.Real) else default_complex_dtype()


def result_type(tensor1: Any, tensor2: Any) -> np.dtype:
    """The dtype of an arithmetic op on tensor1 and tensor2 (tensors or numbers), as `torch.result_type`:
    `result_type(mg.tensor([1, 2], dtype=mg.int32), 1.0)` is float32 (the default float dtype),
    `result_type(mg.tensor([1, 2], dtype=mg.uint8), mg.tensor(1))` uint8."""
    tiered = []
    for name, value in (("tensor1", tensor1), ("tensor2", tensor2)):
        if isinstance(value, Tensor):
            tiered.append(((0 if value.ndim else 1), _dtype(value.dtype, "result_type", name)))
        elif isinstance(value, (numbers.Number, np.bool_)):
            tiered.append((2, _number_dtype(value.item() if isinstance(value, np.generic) else value)))
        else:
            raise TypeError(f"result_type: {name} must be a tensor or a number, got {type(value).__name__}")
    return tiered_dtype(tiered)


def tiered_dtype(tiered: Iterable[tuple[int, np.dtype]]) -> np.dtype | None:
    """The common dtype of operands given as (tier, dtype), tier 0 a tensor with axes, 1 a 0-d tensor, 2 a
    number, as c10's result_type: each tier promoted within itself, a lower tier counting only where its
    category is higher (`combine_categories`); None for no operands."""
    tiers: list = [None, None, None]
    for tier, dtype in tiered:
        tiers[tier] = dtype if tiers[tier] is None else promoted_dtype(tiers[tier], dtype)
    return combine_categories(tiers[0], combine_categories(tiers[1], tiers[2]))


def tensors_dtype(tensors: Iterable[Tensor]) -> np.dtype | None:
    """`tiered_dtype` of tensors: the dtype PyTorch's ops of several tensors compute in (addcmul's three,
    block_diag's blocks)."""
    return tiered_dtype((0 if t.ndim else 1, t.dtype) for t in tensors)


def combine_categories(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """A higher tier's dtype with a lower tier's, as c10's `combine_categories`: the lower one counts only
    when its category is higher (an integer tensor and a float number: the number's dtype; a float
    tensor and a complex number: the complex dtype of the tensor's width)."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    if higher.kind == "c":
        return higher
    if lower.kind == "c":
        return np.promote_types(higher, np.complex64) if higher.kind == "f" else lower
    if higher.kind == "f":
        return higher
    return promoted_dtype(higher, lower) if higher.kind == "b" or lower.kind == "f" else higher


def can_cast(from_: Any, to: Any) -> bool:
    """Whether PyTorch's casting rules allow `from_` into `to` (as an in-place op's result): not complex
    into a real dtype, not floating into an integer or bool one, not anything but bool into bool;
    widths do not matter (`can_cast(mg.double, mg.float)` is True, `(mg.float, mg.int)` False)."""
    source, target = _dtype(from_, "can_cast", "from_"), _dtype(to, "can_cast", "to")
    if source.kind == "c" and target.kind != "c":
        return False
    if source.kind == "f" and target.kind in "biu":
        return False
    return not (source.kind != "b" and target.kind == "b")
