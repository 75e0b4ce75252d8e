"""PyTorch's `torch.testing`: `assert_close(actual, expected)` checks two results agree within tolerances
chosen by dtype, and says where they do not; `make_tensor` draws a tensor of test values.

Two values are close where |actual - expected| <= atol + rtol |expected| (equal infinities are; NaNs only
with `equal_nan`). Without `rtol` and `atol` the tolerances are PyTorch's for the dtype (the looser of the
two dtypes'; integers and bools exactly):

    float16   rtol 1e-3    atol 1e-5          complex64   rtol 1.3e-6   atol 1e-5
    float32   rtol 1.3e-6  atol 1e-5          complex128  rtol 1e-7     atol 1e-7
    float64   rtol 1e-7    atol 1e-7

As PyTorch's (torch/testing/_comparison.py): sequences and mappings are compared entry by entry (the
failure names the item, `[1]['bias']`); tensors, numpy arrays, Python and numpy numbers, bools and None
are compared with their own kind (a tensor and an array are not, a TypeError); a Python int, float and
complex count as int64, float64 and complex128.
"""

from __future__ import annotations

import cmath
import collections.abc
import numbers
import warnings
from typing import Any, Callable

import numpy as np

from .checks import is_int
from .promotion import promote_types
from .random import default_generator
from .spellings import check_device
from .tensor import Tensor, tensor

_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7), np.dtype(np.complex64): (1.3e-6, 1e-5),
               np.dtype(np.complex128): (1e-7, 1e-7)}              # {dtype: (rtol, atol)}, PyTorch's
_NUMBER_DTYPES = {int: np.dtype(np.int64), float: np.dtype(np.float64), complex: np.dtype(np.complex128),
                  bool: np.dtype(np.int64)}             # (True against 1: a number, as an int)


class _Mismatch(Exception):
    """What `assert_close` raises, as the error type and message it will have, and the item it is about."""

    def __init__(self, kind: type, message: str, item: tuple = ()) -> None:
        super().__init__(message)
        self.kind, self.message, self.item = kind, message, item

    def error(self, msg: str | Callable | None) -> Exception:
        message = self.message
        if self.item:
            message += "\n\nThe failure occurred for item " + "".join(str([key]) for key in self.item)
        if self.kind is AssertionError and msg is not None:
            message = msg if isinstance(msg, str) else msg(message)
        return self.kind(message)


def _tolerances(dtypes: tuple, rtol: float | None, atol: float | None) -> tuple[float, float]:
    """(rtol, atol) as given, or the loosest of the dtypes' defaults."""
    if (rtol is None) != (atol is None):
        raise _Mismatch(ValueError, "assert_close: both 'rtol' and 'atol' must be either specified or omitted, "
                                    f"but got no {'rtol' if rtol is None else 'atol'}")
    if rtol is not None:
        for name, value in (("rtol", rtol), ("atol", atol)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise _Mismatch(TypeError, f"assert_close: {name} must be a number, got {type(value).__name__} "
                                           f"{value!r:.40}")
        return rtol, atol
    rtols, atols = zip(*(_TOLERANCES.get(np.dtype(dtype), (0.0, 0.0)) for dtype in dtypes))
    return max(rtols), max(atols)


def _pairs(actual: Any, expected: Any, item: tuple = ()) -> list:
    """The (actual, expected, item) leaves of two trees walked together; a mismatch in their structure
    is an AssertionError, as PyTorch's."""
    if all(isinstance(x, collections.abc.Sequence) and not isinstance(x, str) for x in (actual, expected)):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: {len(actual)} != "
                                            f"{len(expected)}", item)
        return [pair for index in range(len(actual)) for pair in _pairs(actual[index], expected[index],
                                                                         item + (index,))]
    if all(isinstance(x, collections.abc.Mapping) for x in (actual, expected)):
        actual_keys, expected_keys = set(actual.keys()), set(expected.keys())
        if actual_keys != expected_keys:
            raise _Mismatch(AssertionError, "The keys of the mappings do not match:\nMissing keys in the actual "
                                            f"mapping: {sorted(expected_keys - actual_keys)}\nAdditional keys in "
                                            f"the actual mapping: {sorted(actual_keys - expected_keys)}", item)
        return [pair for key in sorted(actual_keys) for pair in _pairs(actual[key], expected[key], item + (key,))]
    return [(actual, expected, item)]


def _message(what: str, exact: bool, extra: str, abs_diff: Any, rel_diff: Any, index: tuple | None,
             rel_index: tuple | None, rtol: float, atol: float) -> str:
    """PyTorch's mismatch message: a header, `extra`, and the greatest differences (where, for tensors)."""
    def line(kind: str, diff: Any, at: tuple | None, tolerance: float) -> str:
        text = (f"{kind.title()} difference: {diff}" if at is None
                else f"Greatest {kind} difference: {diff} at index {at}")
        return text + ("" if exact else f" (up to {tolerance} allowed)")
    return "\n".join([f"{what} are not {'equal' if exact else 'close'}!", "", extra,
                      line("absolute", abs_diff, index, atol), line("relative", rel_diff, rel_index, rtol)])


def _scalar_message(actual: Any, expected: Any, rtol: float, atol: float) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _message("Scalars", rtol == 0 and atol == 0, f"Expected {expected} but got {actual}.", abs_diff,
                    rel_diff, None, None, rtol, atol)


def _compare_numbers(actual: Any, expected: Any, item: tuple, rtol: float | None, atol: float | None,
                     equal_nan: bool, check_dtype: bool) -> None:
    actual, expected = (x.item() if isinstance(x, np.number) else x for x in (actual, expected))
    rtol, atol = _tolerances((_NUMBER_DTYPES[type(actual)], _NUMBER_DTYPES[type(expected)]), rtol, atol)
    if check_dtype and type(actual) is not type(expected):
        raise _Mismatch(AssertionError, f"The (d)types do not match: {type(actual)} != {type(expected)}.", item)
    if actual == expected or (equal_nan and cmath.isnan(actual) and cmath.isnan(expected)):
        return
    abs_diff = abs(actual - expected)
    if cmath.isfinite(abs_diff) and abs_diff <= atol + rtol * abs(expected):
        return
    raise _Mismatch(AssertionError, _scalar_message(actual, expected, rtol, atol), item)


def _compare_tensors(actual: Tensor, expected: Tensor, item: tuple, rtol: float | None, atol: float | None,
                     equal_nan: bool, check_dtype: bool, check_stride: bool) -> None:
    rtol, atol = _tolerances((actual.dtype, expected.dtype), rtol, atol)
    for name, mine, theirs, checked in (("shape", actual.shape, expected.shape, True),
                                        ("stride()", actual.stride(), expected.stride(), check_stride),
                                        ("dtype", actual.dtype, expected.dtype, check_dtype)):
        if checked and mine != theirs:
            raise _Mismatch(AssertionError, f"The values for attribute '{name}' do not match: {mine} != {theirs}.",
                            item)
    kind = np.dtype(promote_types(actual.dtype, expected.dtype)).kind      # compared in the widest of the kind
    wide = np.complex128 if kind == "c" else np.float64 if kind == "f" else np.int64
    a, b = actual._data.astype(wide), expected._data.astype(wide)
    matches = a == b                    # (integers with no tolerance exactly in int64, as torch.isclose:
    if kind in "fc" or rtol or atol:    # np.isclose would compare them as float64)
        matches |= np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if matches.all():
        return
    if a.ndim == 0:
        raise _Mismatch(AssertionError, _scalar_message(a.item(), b.item(), rtol, atol), item)
    with np.errstate(divide="ignore", invalid="ignore"):      # (only mismatches count; x / 0 is inf or NaN)
        abs_diff = np.where(matches, 0, np.abs(a - b)).ravel()
        rel_diff = np.where(matches, 0, np.abs(a - b) / np.abs(b)).ravel()
    mismatched = int((~matches).sum())
    worst, worst_rel = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))    # (a NaN first, as torch.max)
    raise _Mismatch(AssertionError, _message(
        "Tensor-likes", rtol == 0 and atol == 0, f"Mismatched elements: {mismatched} / {a.size} "
        f"({mismatched / a.size:.1%})", abs_diff[worst].item(), rel_diff[worst_rel].item(),
        _index(worst, a.shape), _index(worst_rel, a.shape), rtol, atol), item)


def _index(flat: int, shape: tuple) -> tuple:
    """The position (a tuple of ints, as PyTorch's message prints it) of entry `flat` in C order."""
    return tuple(int(i) for i in np.unravel_index(flat, shape))


def _compare(actual: Any, expected: Any, item: tuple, allow_subclasses: bool, **options: Any) -> None:
    """One leaf pair, compared as PyTorch's pair types would: None, bools, numbers, then tensor-likes."""
    if actual is None or expected is None:
        if not (actual is None and expected is None):
            raise _Mismatch(AssertionError, f"None mismatch: {actual} is not {expected}", item)
        return
    if all(isinstance(x, (bool, np.bool_)) for x in (actual, expected)):
        if bool(actual) is not bool(expected):
            raise _Mismatch(AssertionError, f"Booleans mismatch: {bool(actual)} is not {bool(expected)}", item)
        return
    if all(isinstance(x, (int, float, complex, np.number)) for x in (actual, expected)):
        return _compare_numbers(actual, expected, item, options["rtol"], options["atol"], options["equal_nan"],
                                options["check_dtype"])
    related = isinstance(actual, type(expected)) or isinstance(expected, type(actual))
    if not related or (not allow_subclasses and type(actual) is not type(expected)):
        raise _Mismatch(TypeError, f"assert_close: no comparison pair was able to handle inputs of type "
                                   f"{type(actual)} and {type(expected)}.", item)
    try:
        actual, expected = (x if isinstance(x, Tensor) else tensor(np.asarray(x)) for x in (actual, expected))
    except (TypeError, ValueError) as error:
        raise _Mismatch(ValueError, f"assert_close: constructing a tensor from {type(actual)} failed with\n"
                                    f"{error}.", item) from None
    _compare_tensors(actual, expected, item, **options)


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 check_is_coalesced: bool = True, msg: str | Callable | None = None) -> None:
    """PyTorch's `torch.testing.assert_close`: AssertionError unless `actual` and `expected` have one shape
    and dtype (with `check_dtype`; else both promoted) and are close (see above; the stride too with
    `check_stride`). The message is PyTorch's: "Tensor-likes are not close!", the mismatched entries'
    count, and the greatest absolute and relative differences, where they are and what was allowed;
    `msg` replaces it (a callable gets it and returns the new one). `check_device`, `check_layout` and
    `check_is_coalesced` have nothing to check here: every tensor is a dense one on the CPU."""
    __tracebackhide__ = True
    try:
        pairs = _pairs(actual, expected)
        for mine, theirs, item in pairs:
            _compare(mine, theirs, item, allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan,
                     check_dtype=check_dtype, check_stride=check_stride)
    except _Mismatch as mismatch:
        raise mismatch.error(msg) from None


_ALLCLOSE_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-3), np.dtype(np.float32): (1e-4, 1e-5),
                        np.dtype(np.float64): (1e-5, 1e-8)}        # torch/testing/_deprecated.py's own


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None, atol: float | None = None,
                    equal_nan: bool = True, msg: str = "") -> None:
    """PyTorch's deprecated `torch.testing.assert_allclose` (a FutureWarning): `assert_close` with NaNs
    equal, dtypes not checked, `expected` made in `actual`'s dtype when it is not a tensor, and its own
    default tolerances (float32: rtol 1e-4, atol 1e-5; float64: 1e-5, 1e-8; float16: 1e-3, 1e-3)."""
    __tracebackhide__ = True
    warnings.warn("assert_allclose: deprecated, as torch.testing.assert_allclose is; use mg.testing.assert_close",
                  FutureWarning, stacklevel=2)
    actual = actual if isinstance(actual, Tensor) else tensor(actual)
    expected = expected if isinstance(expected, Tensor) else tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = (max(pair) for pair in zip(*(_ALLCLOSE_TOLERANCES.get(x.dtype, (0.0, 0.0))
                                                   for x in (actual, expected))))
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False, msg=msg or None)


def make_tensor(*shape: Any, dtype: Any, device: Any = None, low: float | None = None, high: float | None = None,
                requires_grad: bool = False) -> Tensor:
    """PyTorch's `torch.testing.make_tensor(shape, dtype=...)`: entries drawn uniformly from [low, high)
    with the generator `mg.manual_seed` sets: by default [-9, 9) for floats, [-9, 10) for signed integers,
    [0, 10) for uint8, and 0 or 1 for bool (low and high clipped to the dtype's range). ValueError for
    low > high, a NaN bound, or requires_grad on integers, as PyTorch's."""
    check_device("make_tensor", device)
    dtype = np.dtype(dtype)
    sizes = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    if not all(is_int(n) and n >= 0 for n in sizes):
        raise ValueError(f"make_tensor: expected a shape of integer sizes >= 0, got {sizes}")
    if requires_grad and dtype.kind not in "fc":
        raise ValueError(f"make_tensor: requires_grad must be False for dtype {dtype}, got requires_grad=True")
    if dtype.kind not in "biufc":
        raise TypeError(f"make_tensor: expected a number dtype, got {dtype}")
    rng = default_generator()
    if dtype.kind == "b":
        return tensor(rng.integers(0, 2, sizes).astype(bool))
    info = np.iinfo(dtype) if dtype.kind in "iu" else np.finfo(dtype.char.lower() if dtype.kind == "c" else dtype)
    default_low = 0 if dtype.kind == "u" else -9
    default_high = 9 if dtype.kind in "fc" else 10
    low, high = (default_low if low is None else low), (default_high if high is None else high)
    if low != low or high != high:
        raise ValueError(f"make_tensor: one of low or high was NaN, got low={low}, high={high}")
    if low > high:
        raise ValueError(f"make_tensor: low must be weakly less than high, got low={low}, high={high}")
    low, high = (min(max(bound, float(info.min)), float(info.max)) for bound in (low, high))
    if dtype.kind in "iu":
        return tensor(rng.integers(int(np.floor(low)), int(np.ceil(high)), sizes).astype(dtype))

    def draw() -> np.ndarray:
        fraction = rng.random(sizes)
        return high * fraction + low * (1 - fraction)         # (PyTorch's formula: high itself never comes)
    values = draw() + 1j * draw() if dtype.kind == "c" else draw()
    return tensor(np.asarray(values).astype(dtype), requires_grad=requires_grad)
