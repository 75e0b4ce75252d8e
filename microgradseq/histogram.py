"""`torch.histogram`: how many entries of a tensor fall in each of a number of bins.

For edges e_0 < e_1 < ... < e_B, bin i holds the entries x with e_i <= x < e_(i+1), and the last
bin x = e_B too; entries outside [e_0, e_B] are not counted. With `bins` an integer B the edges
are B + 1 equally spaced ones from lo to hi, `range=(lo, hi)`, by default the smallest and the
largest entry (a range of one value, lo = hi, widened to (lo - 0.5, hi + 0.5)); `bins` may also be
the edges themselves. `weight` counts each entry with its weight instead of 1. With
`density=True` each count c_i becomes

    c_i / (sum_j c_j * (e_(i+1) - e_i)),   so that   sum_i hist_i (e_(i+1) - e_i) = 1:

an estimate of the probability density (the lecture's histograms of activations and gradients,
`hy, hx = torch.histogram(t, density=True)`). As PyTorch's, the input is a floating-point tensor
(or here an array, such as a gradient), `hist` and `bin_edges` are in its dtype, and a histogram
has no gradient: both are constants.

`torch.histc(input, bins=100, min=0, max=0)` is the older spelling, the counts alone: `bins` equal
bins over [min, max], or over the entries' own range when both are 0 (one value v widened to
[v - 1, v + 1], as PyTorch's); entries outside it, and NaN, are not counted (fast.ai's activation
statistics, `t.histc(40, 0, 10)`).
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import numpy as np

from .checks import positive_int
from .tensor import Tensor, array_of, as_tensor, owned


class Histogram(NamedTuple):
    """What torch.histogram returns: the counts (or densities) and the B + 1 edges of the bins."""

    hist: Tensor
    bin_edges: Tensor


def _edges(X: np.ndarray, bins: Any, range: Any) -> np.ndarray:
    """The bin edges, in X's dtype: B + 1 equally spaced over `range` (or X's), or `bins` as given."""
    if isinstance(bins, numbers.Integral) and not isinstance(bins, (bool, np.bool_)):
        if bins < 1:
            raise ValueError(f"histogram: bins must be a positive number of bins, got {bins}")
        if range is None:
            lo, hi = (float(X.min()), float(X.max())) if X.size else (0.0, 1.0)
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise ValueError(f"histogram: the entries range over [{lo}, {hi}], which is not finite; "
                                 "pass range=(min, max)")
        else:
            try:
                lo, hi = (float(bound) for bound in range)
            except (TypeError, ValueError):
                raise ValueError(f"histogram: range must be two numbers (min, max), got {range!r}") from None
            if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
                raise ValueError(f"histogram: range must be finite (min, max) with min <= max, got {range!r}")
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        return np.linspace(lo, hi, bins + 1).astype(X.dtype)
    if range is not None:
        raise TypeError("histogram: range= goes with a number of bins; given the edges, leave it out")
    edges = array_of(bins)
    if edges.ndim != 1 or edges.size < 2 or edges.dtype.kind not in "biuf" or np.any(np.diff(edges) < 0):
        raise ValueError(f"histogram: bins must be a positive integer or at least two increasing edges (1-d), "
                         f"got {bins!r:.80}")
    return edges.astype(X.dtype)


def histogram(input: Any, bins: Any = 100, *, range: Any = None, weight: Any = None,
              density: bool = False) -> Histogram:
    """The counts of `input`'s entries in `bins` bins (an int: equal bins over `range` or over the
    entries; or the edges), each entry counted with its `weight` when given; `density=True`
    divides by the total and the bins' widths. Returns (hist, bin_edges), as torch.histogram."""
    X = as_tensor(input, where="histogram").numpy()
    if X.dtype.kind != "f":
        raise TypeError(f"histogram: expected a floating-point tensor (as PyTorch's), got dtype {X.dtype}")
    edges = _edges(X, bins, range)
    if weight is not None:
        w = as_tensor(weight, where="histogram").numpy()
        if w.shape != X.shape:
            raise ValueError(f"histogram: weight must have the input's shape {X.shape}, got shape {w.shape}")
        w = w.reshape(-1).astype(np.float64)
    X = X.reshape(-1)
    inside = (X >= edges[0]) & (X <= edges[-1])                 # (NaN is in no bin)
    which = np.minimum(np.searchsorted(edges, X[inside], side="right") - 1, len(edges) - 2)
    counts = np.bincount(which, weights=None if weight is None else w[inside], minlength=len(edges) - 1)
    if density:
        with np.errstate(divide="ignore", invalid="ignore"):
            counts = counts / (counts.sum() * np.diff(edges.astype(np.float64)))
    return Histogram(owned(counts.astype(X.dtype)), owned(edges))


def _method(self: Tensor, bins: Any = 100, *, range: Any = None, weight: Any = None,
            density: bool = False) -> Histogram:
    return histogram(self, bins, range=range, weight=weight, density=density)


def histc(input: Any, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """torch.histc: the counts of `input`'s entries in `bins` equal bins over [min, max] (min = max = 0:
    over the entries' range), in its dtype; `histogram(input, bins, range=(min, max)).hist`."""
    positive_int(bins, "bins", "histc")
    X = as_tensor(input, where="histc").numpy()
    if X.dtype.kind != "f":
        raise TypeError(f"histc: expected a floating-point tensor (as PyTorch's), got dtype {X.dtype}")
    lo, hi = float(min), float(max)
    if lo == hi == 0 and X.size:
        finite = X[np.isfinite(X)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if lo > hi:
        raise ValueError(f"histc: max must be larger than min, got min={min}, max={max}")
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    return histogram(X, bins, range=(lo, hi)).hist


_method.__name__ = _method.__qualname__ = "histogram"
_method.__doc__ = "`t.histogram(bins, ...)` is `mg.histogram(t, bins, ...)`. " + histogram.__doc__
Tensor.histogram = _method
Tensor.histc = lambda self, bins=100, min=0, max=0: histc(self, bins, min, max)
