"""How tensors print: `set_printoptions` and PyTorch's way of writing floats. `Tensor.__repr__` calls
`array_text`.

PyTorch writes the floats of one tensor alike: integer-valued ones as `1.`, others with `precision`
digits (`0.1000`), and all in scientific notation (`1.0000e-05`) when their magnitudes span more than
1000 times, pass 1e8, or fall below 1e-4, unless `sci_mode` says otherwise; each entry padded to the
widest.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import numpy as np

from .checks import is_int

# The default profile: 4 digits, as PyTorch's; arrays of more than 20 entries elided to 3 at each end
# (PyTorch elides past 1,000: a course's prints stay short here); numpy's line width, 75.
DEFAULT = {"precision": 4, "threshold": 20, "edgeitems": 3, "linewidth": 75, "sci_mode": None}
PROFILES = {"default": DEFAULT, "short": dict(DEFAULT, precision=2, edgeitems=2),
            "full": dict(DEFAULT, threshold=math.inf)}
options = dict(DEFAULT)


def set_printoptions(precision: int | None = None, threshold: float | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set how every later tensor prints, as torch.set_printoptions: `profile` ("default", "short",
    "full") first, then each option given; `sci_mode` True (always scientific notation), False
    (never) or None (PyTorch's choice), reset to None unless given. Every argument is checked
    before any option changes."""
    if profile is not None and profile not in PROFILES:
        raise ValueError(f"set_printoptions: profile must be one of {sorted(PROFILES)}, got {profile!r}")
    for name, value in (("precision", precision), ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None and (not is_int(value) or value < 0):
            raise ValueError(f"set_printoptions: {name} must be an integer >= 0, got {value!r}")
    if threshold is not None and (not isinstance(threshold, numbers.Real) or isinstance(threshold, (bool, np.bool_))
                                  or math.isnan(threshold) or threshold < 0):
        raise ValueError(f"set_printoptions: threshold must be a number >= 0, got {threshold!r}")
    if sci_mode is not None and not isinstance(sci_mode, (bool, np.bool_)):
        raise ValueError(f"set_printoptions: sci_mode must be True, False or None, got {sci_mode!r}")
    new = dict(PROFILES[profile]) if profile is not None else dict(options)
    for name, value in (("precision", precision), ("edgeitems", edgeitems), ("linewidth", linewidth),
                        ("threshold", threshold)):
        if value is not None:
            new[name] = value
    new["sci_mode"] = None if sci_mode is None else bool(sci_mode)
    options.update(new)


def array_text(data: np.ndarray) -> str:
    """The array as a tensor prints it, under the current options."""
    threshold = options["threshold"]
    shown = _shown(data)
    formatter = ({"float_kind": _float_format(shown)} if data.dtype.kind == "f" and data.size else
                 {"bool": _bool_format(shown)} if data.dtype.kind == "b" else None)
    return np.array2string(data, separator=", ", precision=options["precision"],
                           threshold=int(min(threshold, 2 ** 62)), edgeitems=options["edgeitems"],
                           max_line_width=options["linewidth"], formatter=formatter, prefix="tensor(")


def _shown(data: np.ndarray) -> np.ndarray:
    """The entries a print shows: all of them, or past `threshold` entries the first and last
    `edgeitems` along each axis. PyTorch sizes its formatter from these alone."""
    if data.size <= options["threshold"]:
        return data
    edge = options["edgeitems"]
    for axis, n in enumerate(data.shape):
        if n > 2 * edge:
            data = np.concatenate([data.take(range(edge), axis), data.take(range(n - edge, n), axis)], axis)
    return data


def _bool_format(data: np.ndarray) -> Callable[[Any], str]:
    """PyTorch's for bools: True and False padded to the widest present (`tensor([True, True])`,
    `tensor([ True, False])`), where numpy always pads to False's width."""
    width = 4 if data.all() else 5
    return lambda value: str(bool(value)).rjust(width)


def _float_format(data: np.ndarray) -> Callable[[Any], str]:
    """PyTorch's formatter for one tensor's floats (its `_Formatter`), padded to the widest entry."""
    values = data.astype(np.float64).ravel()
    finite = values[np.isfinite(values)]
    magnitudes = np.abs(finite[finite != 0])
    whole = bool(np.all(finite == np.ceil(finite)))
    largest, smallest = (magnitudes.max(), magnitudes.min()) if magnitudes.size else (0.0, 0.0)
    scientific = bool(magnitudes.size) and (largest / smallest > 1000 or largest > 1e8 or
                                            (not whole and smallest < 1e-4))
    scientific = scientific if options["sci_mode"] is None else options["sci_mode"]
    precision = options["precision"]

    def text(value: float) -> str:
        if scientific:
            return f"{value:.{precision}e}"
        if whole:
            return f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        return f"{value:.{precision}f}"
    widest = []                 # (the entries whose text can be the longest: the extremes, the smallest)
    if finite.size:
        widest += [finite.min(), finite.max()]
    if magnitudes.size:
        nonzero = finite[finite != 0]
        widest.append(nonzero[np.argmin(np.abs(nonzero))])
    widest += [v for v, present in ((np.nan, np.isnan(values).any()), (np.inf, (values == np.inf).any()),
                                    (-np.inf, (values == -np.inf).any())) if present]
    width = max(len(text(float(v))) for v in widest)
    return lambda value: text(float(value)).rjust(width)
