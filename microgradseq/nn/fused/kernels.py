"""The numpy tricks of the fused loops: fewer calls, fewer temporaries, arrays that stay in cache.

- `project`: the input projection x W_ih^T + b for every step in one product,
  so the loop over steps does only the recurrence;
- `transposed`: W_hh^T laid out once for the product h W_hh^T at every step;
- `sigmoid_scale`, `activate`: every gate's activation with one tanh call,
  σ(a) = 0.5 tanh(0.5 a) + 0.5;
- `blocks`: work for many steps done a block of steps at a time;
- `PreparedWeights`: a cell's scaled, transposed weights, made once for the
  many steps between two updates.

The block size is `BLOCK`, read at each call so that it can be changed (the
tests shrink it to put block edges inside short sequences).
"""

from __future__ import annotations

import functools
import operator
from typing import NamedTuple

import numpy as np

from ...tensor import Tensor

BLOCK = 1 << 16     # elements: what a block of steps may hold to stay in cache (read at each call)


def bias_sum(bias_ih: Tensor | None, bias_hh: Tensor | None):
    """b_ih + b_hh, or 0 without biases."""
    return 0 if bias_ih is None else bias_ih._data + bias_hh._data


def project(x: np.ndarray, weight_ih: np.ndarray, bias, dtype,
            scale: np.ndarray | None = None) -> np.ndarray:
    """(x W_ih^T + bias) * scale for every step at once: (T, B, I) -> (T, B, G*H), one product.

    The per-column scale goes into the small weight and bias, not over the large result.
    """
    if scale is not None:
        weight_ih, bias = weight_ih * scale[:, None], bias * scale
    steps, batch, width = x.shape
    flat = np.dot(x.reshape(steps * batch, width), weight_ih.T).astype(dtype, copy=False)
    flat += bias
    return flat.reshape(steps, batch, flat.shape[-1])     # (not -1: batch may be 0)


def transposed(weight: np.ndarray, batch: int, scale: np.ndarray | None = None) -> np.ndarray:
    """W^T (times `scale` per column) for the product h W^T at every step.

    A C-ordered copy makes each product faster; only for a single row (a
    matrix-vector product) with a large W is the transposed view about as
    fast, and the copy would cost more than it saves.
    """
    copy = batch > 1 or weight.size <= BLOCK
    if scale is None:
        return weight.T.copy() if copy else weight.T
    return np.multiply(weight.T, scale, order="C" if copy else "K")


def blocks(steps: int, per_step: int) -> list[tuple[int, int]]:
    """(start, stop) blocks of steps, last block first, each holding about BLOCK elements.

    Work done for all steps at once costs few numpy calls when the steps are small;
    done a block at a time, its arrays also stay in cache when they are large.
    """
    size = max(1, BLOCK // max(1, per_step))
    return [(max(0, stop - size), stop) for stop in range(steps, 0, -size)]


def rows(a: np.ndarray) -> np.ndarray:
    """All leading axes as one: (..., N) -> (M, N)."""
    return a.reshape(-1, a.shape[-1])


@functools.lru_cache(maxsize=64)
def sigmoid_scale(hidden: int, gates: str, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Per-column scale s and offset b with σ(a) = 0.5 tanh(0.5 a) + 0.5 and tanh(a) = 1 tanh(1 a) + 0.

    `gates` names each gate block, "s" for a sigmoid and "t" for a tanh: with
    a' = s a, the activations are s tanh(a') + b, one tanh call for all gates.
    Scaling by 0.5 is exact in floating point. Made once per (hidden, gates, dtype)
    and kept (read-only): a cell asks at every step.
    """
    sigmoid = np.repeat([kind == "s" for kind in gates], hidden)
    scale = np.where(sigmoid, 0.5, 1.0).astype(dtype)
    offset = np.where(sigmoid, 0.5, 0.0).astype(dtype)
    scale.flags.writeable = offset.flags.writeable = False
    return scale, offset


def activate(a: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Each gate's activation in place (σ or tanh, see `sigmoid_scale`), for a already times `scale`."""
    np.tanh(a, a)
    a *= scale
    a += offset
    return a


class Prepared(NamedTuple):
    """A cell's weights laid out for its step, from the arrays `weight_ih`, `weight_hh` (kept: the
    backward pass multiplies by these, the ones the forward pass used).

    a' = x ih_t + h hh_t + bias = s a, the pre-activations times each gate column's scale s
    (`sigmoid_scale`); each gate is s tanh(a') + offset (an LSTM's i, f, g, o), whose derivative
    by a is s^2 - (s tanh(a'))^2, `slope` = s^2. The RNN and LSTM add `bias` (both biases); the
    GRU adds `bias_ih` and `bias_hh` apart (h's n block is multiplied by r). 0 without biases.
    """

    weight_ih: np.ndarray
    weight_hh: np.ndarray
    ih_t: np.ndarray
    hh_t: np.ndarray
    bias_ih: np.ndarray | int
    bias_hh: np.ndarray | int
    bias: np.ndarray | int
    scale: np.ndarray
    offset: np.ndarray
    slope: np.ndarray
    dtype: np.dtype


class PreparedWeights:
    """A cell's `Prepared` weights, made again only when one of its weight arrays changes.

    A parameter's array is read-only and an update gives it a new one, so the
    arrays themselves tell whether the weights changed (compared by identity;
    the entry keeps them alive, so no other array can take their place): a cell
    looped over the T steps between two updates lays out its weights once, not T times.
    Copies and pickles of a cell start empty.
    """

    __slots__ = ("gates", "entry")

    def __init__(self, gates: str) -> None:
        self.gates, self.entry = gates, ((), None)      # one tuple, swapped whole: safe across threads

    def __reduce__(self) -> tuple:
        return PreparedWeights, (self.gates,)

    def get(self, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
            bias_hh: Tensor | None) -> Prepared:
        arrays = (weight_ih._data, weight_hh._data,
                  None if bias_ih is None else bias_ih._data, None if bias_hh is None else bias_hh._data)
        kept, prepared = self.entry
        if len(kept) == 4 and all(map(operator.is_, kept, arrays)):      # the same arrays: unchanged
            return prepared
        prepared = prepare(*arrays, self.gates)
        self.entry = (arrays, prepared)
        return prepared


def prepare(weight_ih: np.ndarray, weight_hh: np.ndarray, bias_ih: np.ndarray | None,
            bias_hh: np.ndarray | None, gates: str) -> Prepared:
    """`Prepared` from the weight arrays; `gates` as in `sigmoid_scale` ("ssts" for an LSTM)."""
    dtype = np.result_type(weight_ih, weight_hh, *[b for b in (bias_ih, bias_hh) if b is not None])
    scale, offset = sigmoid_scale(weight_hh.shape[1], gates, dtype)
    ih_t = np.multiply(weight_ih.T, scale, order="C")
    hh_t = np.multiply(weight_hh.T, scale, order="C")
    b_ih = 0 if bias_ih is None else bias_ih * scale
    b_hh = 0 if bias_hh is None else bias_hh * scale
    return Prepared(weight_ih, weight_hh, ih_t, hh_t, b_ih, b_hh, b_ih + b_hh, scale, offset, scale * scale, dtype)


def step_dtype(prepared: Prepared, *arrays: np.ndarray) -> np.dtype:
    """The dtype of a cell's step: the weights', unless the inputs or states promote it (as the
    op-level step's ops would)."""
    for array in arrays:
        if array.dtype != prepared.dtype:
            return np.result_type(prepared.dtype, *arrays)
    return prepared.dtype
