"""The composite ops (no rules of their own, built from primitives): reverse-mode gradient and
forward-mode tangent, both against finite differences.

The composites are PyTorch's method names in ops/selecting.py, expanding.py, arithmetic.py,
attributes.py, filling.py and sorting.py (split, chunk, topk, expand, masked_fill, clamp, add/sub with
alpha, tril, roll, ...), the reshaping names in ops/methods.py (squeeze,
flatten, permute, softmax, to, ...), their function forms (mg.max(a, b), mg.softmax, ...), var, std
and logsumexp, functional.py's softmax, gelu, layer_norm, rms_norm, group_norm, losses and dropout, and
Tensor's in-place operators while recording.

The references are independent of the library:

- gradients: central differences of a numpy implementation written here, weighted by a fixed
  random array (`assert_gradients_match`, from test_op_gradients.py);
- tangents: J v against the central difference (f(x + eps v) - f(x - eps v)) / (2 eps) of the same
  numpy function along a random direction v (`directional_difference`, from test_forward_mode.py),
  for each operand alone, for all at once, and for k = 2 directions in one pass;
- closed forms where finite differences are not the point (the dtypes of a float32 <-> float64
  conversion, a target that is documented to get no gradient, fill_).

Ops returning several tensors (split, chunk, unbind) are checked through their pieces flattened and
joined, so every piece gets its own random weights. Values stay away from kinks (min/max/topk ties,
clamp bounds) with `away_from` and `distinct_values`. Every case runs on 0-d (where the op takes
it), 1-d, 2-d and 3-d inputs, all float64.
"""

import contextlib
import functools
import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_ctc_loss import np_ctc_batch
from test_forward_mode import as_tensors, directional_difference
from test_margin_and_likelihood_losses import RANKS as MARGIN_AND_LIKELIHOOD_LOSSES
from test_margin_and_likelihood_losses import loss_case
from test_op_gradients import (away_from, assert_gradients_match, distinct_values, matmul_shapes, nonzero,
                               np_log_softmax, values)
from test_transposed_convolution import conv_transpose_case
from test_resampling import channel_shuffle_case, im2col_case, interpolate_case
from test_pooling import apart
from test_pooling_3d import GRADIENT_TABLE as POOLING_3D

import microgradseq as mg
import microgradseq.functional as F
import microgradseq.random as library_random
from microgradseq.ops import filling
from microgradseq.ops import methods as methods_module
from microgradseq.ops import arithmetic, attributes, expanding, logical, products, reduce, selecting, softmax, sorting
from microgradseq.ops import order_statistics

FAST = settings(max_examples=6, deadline=None)


# ---- the two checks ------------------------------------------------------------------

def assert_tangents_match(mg_fn, np_fn, arrays, directions) -> None:
    """mg.jvp's J v, with the tangent on each operand alone and then on all, equals the central
    difference of np_fn along the same directions; the value is np_fn's. `directions` hold k of them
    per operand (a leading axis): the first goes alone, then all k in one pass."""
    expected = np.asarray(np_fn(*arrays), dtype=np.float64)
    for position in [*range(len(arrays)), None]:
        chosen = [v[0] if position in (None, i) else np.zeros_like(v[0]) for i, v in enumerate(directions)]
        output, tangent = mg.jvp(mg_fn, as_tensors(arrays), chosen)
        assert output.shape == expected.shape
        np.testing.assert_allclose(output.data, expected, rtol=1e-12, atol=1e-12)
        assert tangent.shape == output.shape and tangent.dtype == np.float64
        where = "every operand" if position is None else f"operand {position}"
        np.testing.assert_allclose(tangent, directional_difference(np_fn, arrays, chosen), rtol=1e-5, atol=1e-6,
                                   err_msg=f"J v with the tangent on {where}")
    _, tangents = mg.jvp(mg_fn, as_tensors(arrays), directions)
    assert tangents.shape == (len(directions[0]),) + expected.shape
    for d, tangent in enumerate(tangents):
        np.testing.assert_allclose(tangent, directional_difference(np_fn, arrays, [v[d] for v in directions]),
                                   rtol=1e-5, atol=1e-6, err_msg=f"direction {d} of a batch")


def check_both_modes(data, mg_fn, np_fn, arrays) -> None:
    """The gradient (reverse mode) and the tangent along two drawn directions (forward mode), one at a
    time and both in one pass."""
    assert_gradients_match(mg_fn, np_fn, *arrays)
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    directions = [data.draw(values((2,) + a.shape), label="v") for a in arrays]
    assert_tangents_match(mg_fn, np_fn, arrays, directions)


def mg_joined(pieces):
    """Several output tensors as one vector: each flattened, then concatenated."""
    return mg.concat([p.reshape(-1) for p in pieces], axis=0)


def np_joined(pieces):
    return np.concatenate([np.reshape(p, -1) for p in pieces])


# ---- strategies ----------------------------------------------------------------------

def shapes(ndim: int, max_side: int = 3):
    return hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=1, max_side=max_side)


@st.composite
def broadcastable_to(draw, shape):
    """A shape that broadcasts to `shape` without changing it: leading axes dropped, others made 1."""
    dropped = draw(st.integers(0, len(shape)))
    return tuple(1 if draw(st.booleans()) else n for n in shape[dropped:])


@st.composite
def broadcast_operands(draw, ndim):
    """Two shapes, one of `ndim` axes and one that broadcasts to it, in either order."""
    full = draw(shapes(ndim))
    pair = (full, draw(broadcastable_to(full)))
    return pair[::-1] if draw(st.booleans()) else pair


def on_band(a: np.ndarray, low: float, high: float) -> np.ndarray:
    """Each entry moved into [k/2 + low, k/2 + high) for its k = floor(2 a), keeping its order.
    Two arrays on the bands [0.1, 0.2) and [0.3, 0.4) differ by at least 0.1 everywhere: no ties."""
    a = np.asarray(a, dtype=np.float64)
    base = np.floor(2 * a)
    return base / 2 + low + (high - low) * (2 * a - base)


@st.composite
def an_axis(draw, ndim):
    """An axis of an ndim-d array, maybe counted from the end."""
    return draw(st.integers(-ndim, ndim - 1))


def np_along(a, axis, positions):
    """The entries at `positions` along `axis` (numpy's take)."""
    return np.take(a, np.asarray(positions, dtype=np.int64), axis=axis)


# ---- one row per composite: a strategy for (mg function, numpy function, operands) ----------------

@st.composite
def split_size_case(draw, ndim):
    shape = draw(shapes(ndim))
    dim = draw(an_axis(ndim))
    extent = shape[dim]
    size = draw(st.integers(1, extent + 1))
    form = draw(st.sampled_from(["function", "method", "split_size="]))     # (the last: Tensor.split's keyword)

    def np_fn(a):
        return np_joined([np_along(a, dim, range(s, min(s + size, extent))) for s in range(0, extent, size)])

    def mg_fn(t):
        return mg_joined({"function": lambda: mg.split(t, size, dim), "method": lambda: t.split(size, dim=dim),
                          "split_size=": lambda: t.split(split_size=size, dim=dim)}[form]())
    return mg_fn, np_fn, [draw(values(shape))]


@st.composite
def split_lengths_case(draw, ndim):
    shape = draw(shapes(ndim))
    dim = draw(an_axis(ndim))
    cuts = sorted(draw(st.lists(st.integers(0, shape[dim]), max_size=3)))
    lengths = list(np.diff([0] + cuts + [shape[dim]]))           # zeros too: empty pieces
    return (lambda t: mg_joined(t.split([int(n) for n in lengths], dim)),
            lambda a: np_joined(np.split(a, cuts, axis=dim)), [draw(values(shape))])


@st.composite
def chunk_case(draw, ndim):
    """PyTorch's chunk: pieces of ceil(extent / chunks) (the last shorter), so maybe fewer than asked."""
    shape = draw(shapes(ndim))
    dim = draw(an_axis(ndim))
    extent = shape[dim]
    chunks = draw(st.integers(1, extent + 2))
    size = -(-extent // chunks)
    by_function = draw(st.booleans())

    def np_fn(a):
        return np_joined([np_along(a, dim, range(s, min(s + size, extent))) for s in range(0, extent, size)])
    return (lambda t: mg_joined(mg.chunk(t, chunks, dim) if by_function else t.chunk(chunks, dim=dim)),
            np_fn, [draw(values(shape))])


@st.composite
def unbind_case(draw, ndim):
    shape = draw(shapes(ndim))
    dim = draw(an_axis(ndim))
    return (lambda t: mg_joined(t.unbind(dim)),
            lambda a: np_joined([np.take(a, i, axis=dim) for i in range(shape[dim])]), [draw(values(shape))])


@st.composite
def index_select_case(draw, ndim):
    """A 1-d index (repeats, any order, maybe empty), as an array or an integer tensor."""
    shape = draw(shapes(ndim))
    dim = draw(an_axis(ndim))
    index = draw(hnp.arrays(np.int64, draw(st.integers(0, 4)), elements=st.integers(0, shape[dim] - 1)))
    given = mg.tensor(index) if draw(st.booleans()) else index
    return lambda t: t.index_select(dim, given), lambda a: np_along(a, dim, index), [draw(values(shape))]


@st.composite
def gather_dim_case(draw, ndim):
    """PyTorch's gather: index of self's rank, up to 4 long along dim, no longer than self elsewhere."""
    shape = draw(shapes(ndim))
    dim = draw(an_axis(ndim))
    axis = dim % ndim
    index_shape = tuple(draw(st.integers(1, 4)) if a == axis else draw(st.integers(1, n))
                        for a, n in enumerate(shape))
    index = draw(hnp.arrays(np.int64, index_shape, elements=st.integers(0, shape[axis] - 1)))
    cut = tuple(slice(None) if a == axis else slice(0, n) for a, n in enumerate(index_shape))
    by_function = draw(st.booleans())
    return (lambda t: mg.gather(t, dim, index) if by_function else t.gather(dim, index),
            lambda a: np.take_along_axis(a[cut], index, axis=axis), [draw(values(shape))])


@st.composite
def topk_case(draw, ndim, largest):
    """The k largest (smallest) along dim, largest (smallest) first; entries distinct (no ties)."""
    shape = draw(shapes(ndim))
    dim = draw(an_axis(ndim))
    k = draw(st.integers(0, shape[dim]))

    def np_fn(a):
        ordered = np.sort(a, axis=dim)
        return np_along(np.flip(ordered, axis=dim) if largest else ordered, dim, range(k))
    return lambda t: t.topk(k, dim=dim, largest=largest).values, np_fn, [draw(distinct_values(shape))]


@st.composite
def min_all_case(draw, ndim):
    by_function = draw(st.booleans())
    return (lambda t: mg.min(t) if by_function else t.min(), np.min, [draw(distinct_values(draw(shapes(ndim))))])


@st.composite
def min_dim_case(draw, ndim):
    """The values of the pair (values, indices) that min(dim=) returns, with and without keepdim."""
    dim, keepdim, by_function = draw(an_axis(ndim)), draw(st.booleans()), draw(st.booleans())

    def mg_fn(t):
        pair = mg.min(t, dim, keepdim) if by_function else t.min(dim=dim, keepdim=keepdim)
        return pair.values
    return mg_fn, lambda a: np.min(a, axis=dim, keepdims=keepdim), [draw(distinct_values(draw(shapes(ndim))))]


@st.composite
def extremes_along_case(draw, ndim):
    """t.max(d) and t.min(d) with d given by position: numpy's values, or PyTorch's `.values` (the values
    picked at `.indices`), with and without keepdim."""
    dim, keepdim, which, named = draw(an_axis(ndim)), draw(st.booleans()), draw(st.sampled_from(["max", "min"])), \
        draw(st.booleans())

    def mg_fn(t):
        out = getattr(t, which)(dim, keepdim=keepdim)
        return out.values if named else out
    return mg_fn, lambda a: getattr(np, which)(a, axis=dim, keepdims=keepdim), [draw(distinct_values(draw(shapes(ndim))))]


@st.composite
def min_axis0_case(draw, ndim):
    return lambda t: t.min(axis=0), lambda a: np.min(a, axis=0), [draw(distinct_values(draw(shapes(ndim))))]


@st.composite
def expand_target(draw, ndim):
    """(x's shape with some axes 1, sizes for expand with -1s in them, the shape those mean)."""
    shape = tuple(1 if draw(st.booleans()) else n for n in draw(shapes(ndim)))
    leading = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    sizes = tuple(draw(st.sampled_from([1, 2, 3, -1] if n == 1 else [n, -1])) for n in shape)
    full = leading + tuple(n if s == -1 else s for n, s in zip(shape, sizes))
    return shape, leading + sizes, full


@st.composite
def expand_case(draw, ndim):
    shape, sizes, full = draw(expand_target(ndim))
    as_tuple = draw(st.booleans())
    return (lambda t: t.expand(sizes) if as_tuple else t.expand(*sizes),
            lambda a: np.broadcast_to(a, full), [draw(values(shape))])


@st.composite
def expand_as_case(draw, ndim):
    shape, _, full = draw(expand_target(ndim))
    other = mg.zeros(*full, dtype=np.float64)
    return lambda t: t.expand_as(other), lambda a: np.broadcast_to(a, full), [draw(values(shape))]


@st.composite
def repeat_case(draw, ndim):
    """numpy's tile: counts (0 included) for every axis and up to two new leading ones."""
    counts = tuple(draw(st.lists(st.integers(0, 3), min_size=max(ndim, 1), max_size=ndim + 2)))
    as_tuple = draw(st.booleans())
    return (lambda t: t.repeat(counts) if as_tuple else t.repeat(*counts),
            lambda a: np.tile(a, counts), [draw(values(draw(shapes(ndim))))])


@st.composite
def masked_fill_case(draw, ndim):
    """A boolean mask that broadcasts to x (fewer axes, size-1 axes), as an array or a tensor."""
    shape = draw(shapes(ndim))
    mask = draw(hnp.arrays(np.bool_, draw(broadcastable_to(shape))))
    given = mg.tensor(mask) if draw(st.booleans()) else mask
    by_function = draw(st.booleans())
    return (lambda t: mg.masked_fill(t, given, 0.7) if by_function else t.masked_fill(given, 0.7),
            lambda a: np.where(mask, 0.7, a), [draw(values(shape))])


@st.composite
def masked_fill_in_place_case(draw, ndim):
    """masked_fill_ on a recorded tensor: the tensor takes the filled value's history."""
    shape = draw(shapes(ndim))
    mask = draw(hnp.arrays(np.bool_, draw(broadcastable_to(shape))))
    return lambda t: (t * 1).masked_fill_(mask, 0.7), lambda a: np.where(mask, 0.7, a), [draw(values(shape))]


@st.composite
def masked_select_case(draw, ndim):
    """The entries at a mask that broadcasts to x, as an array or a tensor, by method or function."""
    shape = draw(shapes(ndim))
    mask = draw(hnp.arrays(np.bool_, draw(broadcastable_to(shape))))
    given = mg.tensor(mask) if draw(st.booleans()) else mask
    by_function = draw(st.booleans())
    return (lambda t: mg.masked_select(t, given) if by_function else t.masked_select(given),
            lambda a: a[np.broadcast_to(mask, a.shape)], [draw(values(shape))])


@st.composite
def divide_case(draw, ndim):
    """t.div(u) and mg.div(t, u) with rounding_mode=None: true division, u broadcast and away from 0."""
    shape = draw(shapes(ndim))
    a, b = draw(values(shape)), draw(values(draw(broadcastable_to(shape))))
    b = np.where(np.abs(b) < 0.5, 0.5 + np.abs(b), b)
    fn = (lambda x, y: mg.div(x, y, rounding_mode=None)) if draw(st.booleans()) else (lambda x, y: x.div(y))
    return fn, lambda x, y: x / y, [a, b]


@st.composite
def masked_fill_tensor_value_case(draw, ndim):
    """The value a 0-d tensor: it gets the gradient summed over the filled entries."""
    shape = draw(shapes(ndim))
    mask = draw(hnp.arrays(np.bool_, draw(broadcastable_to(shape))))
    return (lambda t, value: t.masked_fill(mask, value), lambda a, value: np.where(mask, value, a),
            [draw(values(shape)), draw(values(()))])


@st.composite
def index_fill_case(draw, ndim):
    """index_fill(dim, index, v), out of place or in place on a recorded tensor, v a number or a 0-d
    tensor (which gets the gradient summed over the filled entries)."""
    shape = draw(shapes(ndim))
    axis = draw(an_axis(ndim))
    picks = np.array(draw(st.lists(st.integers(0, shape[axis] - 1), max_size=shape[axis], unique=True)), np.int64)
    chosen = np.isin(np.arange(shape[axis]), picks).reshape((-1,) + (1,) * (ndim - axis % ndim - 1))
    if draw(st.booleans()):
        in_place = draw(st.booleans())
        fn = (lambda t: (t * 1).index_fill_(axis, picks, 0.7)) if in_place else (
            lambda t: mg.index_fill(t, axis, mg.tensor(picks), 0.7))
        return fn, lambda a: np.where(chosen, 0.7, a), [draw(values(shape))]
    return (lambda t, v: t.index_fill(axis, picks, v), lambda a, v: np.where(chosen, v, a),
            [draw(values(shape)), draw(values(()))])


@st.composite
def scatter_case(draw, ndim):
    """scatter(dim, index, src) with distinct positions along dim in each line (a permutation's
    first entries), src at least index's size, out of place or in place on a recorded tensor."""
    shape = draw(shapes(ndim))
    axis = draw(an_axis(ndim)) % ndim
    index_shape = tuple(draw(st.integers(1, n)) for n in shape)
    lines = [np.array(draw(st.permutations(range(shape[axis]))))[:index_shape[axis]]
             for _ in range(int(np.prod(index_shape)) // index_shape[axis])]
    picks = np.moveaxis(np.array(lines, np.int64).reshape(
        tuple(n for a, n in enumerate(index_shape) if a != axis) + (index_shape[axis],)), -1, axis)
    src_shape = tuple(draw(st.integers(n, n + 1)) for n in index_shape)

    def np_scatter(a, src):
        out = np.array(a)
        positions = list(np.indices(picks.shape))
        positions[axis] = picks
        out[tuple(positions)] = src[tuple(slice(0, n) for n in picks.shape)]
        return out
    in_place = draw(st.booleans())
    fn = (lambda t, src: (t * 1).scatter_(axis, mg.tensor(picks), src)) if in_place else (
        lambda t, src: t.scatter(axis, picks, src))
    return fn, np_scatter, [draw(values(shape)), draw(values(src_shape))]


def clamp_case(mg_fn, lo, hi):
    @st.composite
    def case(draw, ndim):
        kinks = [b for b in (lo, hi) if b is not None]
        x = away_from(draw(values(draw(shapes(ndim)))), kinks)
        return mg_fn, lambda a: np.clip(a, lo, hi), [x]
    return case


def clamp_tensor_case(name):
    """clamp_min(x, m) = max(x, m) and clamp_max(x, m) = min(x, m) with a tensor bound m of x's shape or 0-d:
    each gets the gradient where its value is taken, as PyTorch's (x kept off the kink x = m)."""
    @st.composite
    def case(draw, ndim):
        shape = draw(shapes(ndim))
        m = draw(values(draw(st.sampled_from([shape, ()]))))
        x = m + away_from(draw(values(shape)), [0.0])
        np_fn = np.maximum if name == "clamp_min" else np.minimum
        mg_fn = (lambda t, b: t.clamp_min(b)) if name == "clamp_min" else (lambda t, b: mg.clamp_max(t, b))
        return mg_fn, np_fn, [x, m]
    return case


def alpha_case(mg_fn, np_fn):
    @st.composite
    def case(draw, ndim):
        left, right = draw(broadcast_operands(ndim))
        return mg_fn, np_fn, [draw(values(left)), draw(values(right))]
    return case


def pairwise_case(mg_fn, np_fn):
    """mg.max(a, b) / mg.min(a, b) with a and b broadcast, on bands that never tie."""
    @st.composite
    def case(draw, ndim):
        left, right = draw(broadcast_operands(ndim))
        a, b = on_band(draw(values(left)), 0.1, 0.2), on_band(draw(values(right)), 0.3, 0.4)
        return (mg_fn, np_fn, [a, b]) if draw(st.booleans()) else (mg_fn, np_fn, [b, a])
    return case


@st.composite
def squeeze_case(draw, ndim):
    """dim None, one axis, or a tuple of axes (size-1 ones go, the others stay, as PyTorch's)."""
    shape = draw(shapes(ndim, max_side=2))
    options = [st.none()] + ([an_axis(ndim), st.lists(an_axis(ndim), min_size=1, max_size=ndim,
                                                      unique_by=lambda d: d % ndim).map(tuple)] if ndim else [])
    dim = draw(st.one_of(*options))
    dims = range(ndim) if dim is None else dim if isinstance(dim, tuple) else (dim,)
    gone = tuple(d % ndim for d in dims if shape[d] == 1)
    by_function = draw(st.booleans())
    return (lambda t: mg.squeeze(t, dim) if by_function else t.squeeze(dim),
            lambda a: np.squeeze(a, axis=gone), [draw(values(shape))])


@st.composite
def unsqueeze_case(draw, ndim):
    dim = draw(st.integers(-(ndim + 1), ndim))
    return lambda t: t.unsqueeze(dim), lambda a: np.expand_dims(a, dim), [draw(values(draw(shapes(ndim))))]


@st.composite
def flatten_case(draw, ndim):
    """flatten() or flatten(start, end) with start <= end (either maybe from the end); 0-d gives (1,)."""
    shape = draw(shapes(ndim))
    x = draw(values(shape))
    if ndim == 0 or draw(st.booleans()):
        return lambda t: t.flatten(), lambda a: a.reshape(-1), [x]
    start = draw(st.integers(0, ndim - 1))
    end = draw(st.integers(start, ndim - 1))
    given = [d - ndim if draw(st.booleans()) else d for d in (start, end)]
    return (lambda t: t.flatten(*given), lambda a: a.reshape(shape[:start] + (-1,) + shape[end + 1:]), [x])


@st.composite
def sort_case(draw, ndim):
    """t.sort / mg.sort's values along dim, either way round; entries distinct (no ties), so the
    order numpy's stable argsort finds (of -a for descending) stays put within the differences."""
    shape = draw(shapes(ndim))
    dim, descending, by_function = draw(an_axis(ndim)), draw(st.booleans()), draw(st.booleans())

    def np_fn(a):
        return np.take_along_axis(a, np.argsort(-a if descending else a, axis=dim, kind="stable"), axis=dim)

    def mg_fn(t):
        pair = mg.sort(t, dim, descending=descending) if by_function else t.sort(dim=dim, descending=descending)
        return pair.values
    return mg_fn, np_fn, [draw(distinct_values(shape))]


@st.composite
def repeat_interleave_case(draw, ndim):
    """mg.repeat_interleave / t.repeat_interleave: an int, or counts (maybe zeros) as an array or an int64
    tensor, along dim or (dim=None) of the flattened tensor, against numpy's repeat."""
    shape = draw(shapes(ndim))
    dim = None if ndim == 0 or draw(st.booleans()) else draw(an_axis(ndim))
    extent = int(np.prod(shape, dtype=int)) if dim is None else shape[dim]
    if draw(st.booleans()):
        repeats = counts = draw(st.integers(0, 3))
    else:
        counts = draw(hnp.arrays(np.int64, extent, elements=st.integers(0, 3)))
        repeats = mg.tensor(counts) if draw(st.booleans()) else counts
    by_function = draw(st.booleans())
    return (lambda t: mg.repeat_interleave(t, repeats, dim) if by_function else t.repeat_interleave(repeats, dim=dim),
            lambda a: np.repeat(a, counts, axis=dim), [draw(values(shape))])


@st.composite
def narrow_case(draw, ndim):
    shape = draw(shapes(ndim))
    dim = draw(an_axis(ndim))
    extent = shape[dim]
    start = draw(st.integers(-extent, extent - 1))
    begin = start % extent
    length = draw(st.integers(0, extent - begin))
    return (lambda t: t.narrow(dim, start, length), lambda a: np_along(a, dim, range(begin, begin + length)),
            [draw(values(shape))])


@st.composite
def unfold_case(draw, ndim):
    """t.unfold(dim, size, step): the windows of numpy's sliding_window_view, every step-th one (an
    entry in several windows sums their gradients)."""
    shape = draw(shapes(ndim, max_side=5))
    dim = draw(an_axis(ndim))
    size, step = draw(st.integers(0, shape[dim])), draw(st.integers(1, 3))

    def np_fn(a):
        windows = np.lib.stride_tricks.sliding_window_view(a, size, axis=dim % ndim)
        return np_along(windows, dim % ndim, range(0, windows.shape[dim % ndim], step))
    return lambda t: t.unfold(dim, size, step), np_fn, [draw(values(shape))]


@st.composite
def t_case(draw, ndim):
    return lambda t: t.t(), lambda a: a.T, [draw(values(draw(shapes(ndim))))]


@st.composite
def matrix_transpose_case(draw, ndim):
    """t.mT and t.mH (a real tensor: the same), and t.H of a matrix: the last two axes swapped; a 0-d
    tensor is itself, as PyTorch's."""
    name = draw(st.sampled_from(["mT", "mH", "H"] if ndim in (0, 2) else ["mT", "mH"]))
    x = draw(values(draw(shapes(ndim))))
    return lambda t: getattr(t, name), lambda a: np.swapaxes(a, -1, -2) if a.ndim else a, [x]


@st.composite
def unflatten_case(draw, ndim):
    """t.unflatten(dim, sizes) and mg.unflatten: axis dim split into sizes multiplying up to its length (one
    of them maybe -1): numpy's reshape."""
    shape = draw(shapes(ndim))
    dim = draw(an_axis(ndim))
    n = shape[dim]
    sizes = draw(st.sampled_from([(n,), (1, n), (n, 1), (-1,), (1, -1), (n, 1, 1), (-1, 1)]))
    target = shape[:dim % ndim] + tuple(n if size == -1 else size for size in sizes) + shape[dim % ndim + 1:]
    if draw(st.booleans()):
        return lambda t: mg.unflatten(t, dim, sizes), lambda a: a.reshape(target), [draw(values(shape))]
    return lambda t: t.unflatten(dim, list(sizes)), lambda a: a.reshape(target), [draw(values(shape))]


@st.composite
def contiguous_case(draw, ndim):
    """t.contiguous() of a tensor in C order (itself) and of a transposed one (a copy in C order)."""
    transposed = draw(st.booleans())
    return ((lambda t: (t.permute(*reversed(range(t.ndim))) if transposed else t).contiguous()),
            (lambda a: a.T if transposed else a), [draw(values(draw(shapes(ndim))))])


@st.composite
def view_as_case(draw, ndim):
    """t.view_as(u), t.reshape_as(u): t takes u's shape (u a tensor or an array of the same size)."""
    shape = draw(shapes(ndim))
    target = draw(st.sampled_from([tuple(reversed(shape)), (1,) + shape, shape + (1,), (int(np.prod(shape, dtype=int)),)]))
    other = draw(st.sampled_from([mg.zeros(target), np.zeros(target)]))
    name = draw(st.sampled_from(["view_as", "reshape_as"]))
    return lambda t: getattr(t, name)(other), lambda a: a.reshape(target), [draw(values(shape))]


@st.composite
def view_case(draw, ndim):
    shape = draw(shapes(ndim))
    size = int(np.prod(shape, dtype=int))
    target = draw(st.sampled_from([(size,), (-1,), (1, size), (size, 1), (1, -1), (), tuple(reversed(shape)),
                                   (1,) + shape, shape + (1,)]))
    target = target if size == 1 or target != () else (size,)
    as_tuple = draw(st.booleans())
    return (lambda t: t.view(target) if as_tuple else t.view(*target), lambda a: a.reshape(target),
            [draw(values(shape))])


@st.composite
def permute_case(draw, ndim):
    order = tuple(draw(st.permutations(range(ndim))))
    given = tuple(d - ndim if draw(st.booleans()) else d for d in order)
    form = draw(st.sampled_from(["spread", "tuple", "function"]))
    fn = {"spread": lambda t: t.permute(*given), "tuple": lambda t: t.permute(given),
          "function": lambda t: mg.permute(t, given)}[form]
    return fn, lambda a: np.transpose(a, order), [draw(values(draw(shapes(ndim))))]


@st.composite
def movedim_case(draw, ndim):
    """PyTorch's movedim(source, destination): numpy's moveaxis, of one axis (an int) or several (tuples),
    axes counted from either end; as a method, its alias moveaxis, or a function."""
    count = draw(st.integers(1, ndim))
    source = tuple(draw(st.permutations(range(ndim)))[:count])
    destination = tuple(draw(st.permutations(range(ndim)))[:count])
    given_source, given_destination = (tuple(d - ndim if draw(st.booleans()) else d for d in axes)
                                       for axes in (source, destination))
    if count == 1 and draw(st.booleans()):
        given_source, given_destination = given_source[0], given_destination[0]
    form = draw(st.sampled_from(["movedim", "moveaxis", "function"]))
    fn = {"movedim": lambda t: t.movedim(given_source, given_destination),
          "moveaxis": lambda t: t.moveaxis(given_source, given_destination),
          "function": lambda t: mg.movedim(t, given_source, given_destination)}[form]
    return fn, lambda a: np.moveaxis(a, source, destination), [draw(values(draw(shapes(ndim))))]


@st.composite
def transpose_pair_case(draw, ndim):
    """PyTorch's transpose(dim0, dim1): two axes swapped (numpy's swapaxes)."""
    d0, d1, by_function = draw(an_axis(ndim)), draw(an_axis(ndim)), draw(st.booleans())
    return (lambda t: mg.transpose(t, d0, d1) if by_function else t.transpose(d0, d1),
            lambda a: np.swapaxes(a, d0, d1), [draw(values(draw(shapes(ndim))))])


def np_softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_case(form):
    @st.composite
    def case(draw, ndim):
        dim = draw(an_axis(ndim))
        fn = {"F.softmax": lambda t: F.softmax(t, dim=dim), "F.softmax(axis)": lambda t: F.softmax(t, axis=dim),
              "Tensor.softmax": lambda t: t.softmax(dim), "mg.softmax": lambda t: mg.softmax(t, dim),
              "Tensor.softmax(dtype)": lambda t: t.softmax(dim, mg.float64),
              "Tensor.log_softmax(dtype)": lambda t: t.log_softmax(dim, dtype=mg.float64)}[form]
        reference = (lambda a: np.log(np_softmax(a, dim))) if "log" in form else (lambda a: np_softmax(a, dim))
        return fn, reference, [draw(values(draw(shapes(ndim)))) * 3]
    return case


@st.composite
def flip_case(draw, ndim):
    """t.flip(dims): one axis, or a list of distinct axes (negative ones too)."""
    axes = draw(st.lists(an_axis(ndim), min_size=1, max_size=ndim, unique_by=lambda d: d % ndim))
    dims = axes[0] if len(axes) == 1 and draw(st.booleans()) else axes
    return lambda t: t.flip(dims), lambda a: np.flip(a, axis=tuple(axes)), [draw(values(draw(shapes(ndim))))]


@st.composite
def reversed_case(draw, ndim):
    """reversed(t): PyTorch's Tensor.__reversed__, t.flip(0), and a 0-d tensor itself."""
    return lambda t: reversed(t), lambda a: a if a.ndim == 0 else a[::-1], [draw(values(draw(shapes(ndim))))]


@st.composite
def small_getitem_case(draw, ndim):
    """Indexing a 0-d tensor ((), ..., None) or a 1-d one (ints from either end, reversed and stepped
    slices, None, repeated integer arrays)."""
    shape = draw(shapes(ndim))
    if ndim == 0:
        index = draw(st.sampled_from([(), Ellipsis, None, (None, Ellipsis), (Ellipsis, None), (None, None)]))
    else:
        n = shape[0]
        index = draw(st.one_of(st.integers(-n, n - 1), st.just(slice(None, None, -1)),
                               hnp.basic_indices(shape, allow_newaxis=True),
                               hnp.arrays(np.int64, st.integers(0, 4), elements=st.integers(-n, n - 1))))
    return lambda t: t[index], lambda a: np.asarray(a[index]), [draw(values(shape))]


@st.composite
def to_float64_case(draw, ndim):
    """to/double/type on a float64 tensor: the identity, gradient 1."""
    form = draw(st.sampled_from(["to", "to(cpu, dtype)", "double", "type", "mg.float64", "type_as"]))
    fn = {"to": lambda t: t.to(np.float64), "to(cpu, dtype)": lambda t: t.to("cpu", np.float64),
          "double": lambda t: t.double(), "type": lambda t: t.type(np.float64),
          "mg.float64": lambda t: t.to(mg.float64), "type_as": lambda t: t.type_as(mg.zeros(1, dtype=np.float64))}[form]
    return lambda t: fn(t) * 1.5, lambda a: a * 1.5, [draw(values(draw(shapes(ndim))))]


@st.composite
def roll_case(draw, ndim):
    """t.roll(shifts, dims): one axis or several (shifts of either sign, larger than the axis too), or
    none (the tensor flattened, rolled and put back)."""
    shape = draw(shapes(ndim))
    axes = draw(st.lists(an_axis(ndim), max_size=ndim, unique_by=lambda d: d % ndim)) if ndim else []
    shifts = [draw(st.integers(-5, 5)) for _ in axes]
    if not axes:
        shift = draw(st.integers(-5, 5))
        return lambda t: mg.roll(t, shift), lambda a: np.roll(a, shift), [draw(values(shape))]
    return (lambda t: t.roll(tuple(shifts), tuple(axes)), lambda a: np.roll(a, tuple(shifts), tuple(axes)),
            [draw(values(shape))])


@st.composite
def triangle_case(draw, ndim, lower):
    """tril / triu of the last two axes, any diagonal from below the last row to past the last column."""
    shape = draw(shapes(ndim))
    diagonal = draw(st.integers(-shape[-2], shape[-1]))
    if lower:
        return lambda t: mg.tril(t, diagonal), lambda a: np.tril(a, diagonal), [draw(values(shape))]
    return lambda t: t.triu(diagonal), lambda a: np.triu(a, diagonal), [draw(values(shape))]


@st.composite
def diag_case(draw, ndim):
    """diag of a vector (a square matrix with it on a diagonal) or of a matrix (one of its diagonals), any
    diagonal from past the first column to past the last; numpy's diag is the reference."""
    shape = draw(shapes(ndim))
    diagonal = draw(st.integers(-shape[0] - 1, shape[-1] + 1))
    by_function = draw(st.booleans())
    return (lambda t: mg.diag(t, diagonal) if by_function else t.diag(diagonal),
            lambda a: np.diag(a, diagonal), [draw(values(shape))])


@st.composite
def spread_case(draw, ndim, name):
    """var / std over one axis or all of them, correction 0 or 1, with no two entries equal (std's slope
    is infinite at zero spread)."""
    shape = tuple(max(side, 2) for side in draw(shapes(ndim)))        # (two values or more along each axis)
    dim = draw(st.one_of(st.none(), an_axis(ndim)))
    correction, keepdim = draw(st.sampled_from([0, 1])), draw(st.booleans())
    x = draw(distinct_values(shape))
    np_fn = {"var": np.var, "std": np.std}[name]
    return (lambda t: getattr(t, name)(dim, correction=correction, keepdim=keepdim),
            lambda a: np_fn(a, axis=dim, ddof=correction, keepdims=keepdim), [x])


@st.composite
def spread_mean_case(draw, ndim, name):
    """var_mean / std_mean: the pair (spread, mean) joined, over one axis or all, correction 0 or 1."""
    np_spread = {"var_mean": np.var, "std_mean": np.std}[name]
    shape = tuple(max(side, 2) for side in draw(shapes(ndim)))        # (two values or more along each axis)
    dim = draw(st.one_of(st.none(), an_axis(ndim)))
    correction, keepdim = draw(st.sampled_from([0, 1])), draw(st.booleans())
    return (lambda t: mg_joined(getattr(mg, name)(t, dim, keepdim=keepdim, correction=correction)),
            lambda a: np_joined([np_spread(a, axis=dim, ddof=correction, keepdims=keepdim),
                                 np.mean(a, axis=dim, keepdims=keepdim)]), [draw(distinct_values(shape))])


def np_lower_median(a, dim, keepdim):
    """PyTorch's median along dim: the ((n - 1) // 2)-th of the sorted entries (numpy's takes a mean)."""
    middle = np.take(np.sort(a, axis=dim), [(a.shape[dim] - 1) // 2], axis=dim)
    return middle if keepdim else np.squeeze(middle, dim)


@st.composite
def order_statistic_case(draw, ndim, name):
    """The values of cummax, cummin, median, nanmedian, kthvalue, mode, quantile, nanquantile and aminmax
    along a drawn dim (keepdim either way), on distinct entries (no ties: the selected entry stays put)."""
    shape = draw(shapes(ndim))
    dim, keepdim = draw(an_axis(ndim)), draw(st.booleans())
    k = draw(st.integers(1, shape[dim]))
    levels = draw(st.sampled_from([0.3, [0.0, 0.45, 1.0]]))
    method = draw(st.sampled_from(["linear", "lower", "higher", "midpoint", "nearest"]))
    by_function = draw(st.booleans())
    call = (lambda t, *args, **kwargs: getattr(mg, name)(t, *args, **kwargs)) if by_function else (
        lambda t, *args, **kwargs: getattr(t, name)(*args, **kwargs))
    mg_fn, np_fn = {
        "cummax": (lambda t: call(t, dim).values, lambda a: np.maximum.accumulate(a, axis=dim)),
        "cummin": (lambda t: call(t, dim).values, lambda a: np.minimum.accumulate(a, axis=dim)),
        "median": (lambda t: call(t, dim, keepdim).values, lambda a: np_lower_median(a, dim, keepdim)),
        "nanmedian": (lambda t: call(t, dim, keepdim).values, lambda a: np_lower_median(a, dim, keepdim)),
        "kthvalue": (lambda t: call(t, k, dim, keepdim).values,
                     lambda a: np.take(np.sort(a, axis=dim), [k - 1] if keepdim else k - 1, axis=dim)),
        "mode": (lambda t: call(t, dim, keepdim).values, lambda a: np.min(a, axis=dim, keepdims=keepdim)),
        "quantile": (lambda t: call(t, np.asarray(levels), dim, keepdim, interpolation=method),
                     lambda a: np.quantile(a, levels, axis=dim, keepdims=keepdim, method=method)),
        "nanquantile": (lambda t: call(t, levels, dim, keepdim, interpolation=method),
                        lambda a: np.nanquantile(a, levels, axis=dim, keepdims=keepdim, method=method)),
        "aminmax": (lambda t: mg_joined(call(t, dim=dim, keepdim=keepdim)),
                    lambda a: np_joined([np.min(a, axis=dim, keepdims=keepdim),
                                         np.max(a, axis=dim, keepdims=keepdim)])),
    }[name]
    return mg_fn, np_fn, [draw(distinct_values(shape))]


@st.composite
def median_all_case(draw, ndim):
    """median() of every entry: the lower middle one, a 0-d tensor (no ties: all its gradient to it)."""
    by_function = draw(st.booleans())
    return (lambda t: mg.median(t) if by_function else t.median(),
            lambda a: np.sort(a, axis=None)[(a.size - 1) // 2], [draw(distinct_values(draw(shapes(ndim))))])


@st.composite
def logsumexp_case(draw, ndim):
    dim = draw(st.one_of(an_axis(ndim), st.just(tuple(range(ndim)))))
    keepdim = draw(st.booleans())
    return (lambda t: mg.logsumexp(t, dim, keepdim), lambda a: np.log(np.exp(a).sum(axis=dim, keepdims=keepdim)),
            [draw(values(draw(shapes(ndim)))) * 5])


@st.composite
def logcumsumexp_case(draw, ndim):
    dim = draw(an_axis(ndim))
    return (lambda t: t.logcumsumexp(dim), lambda a: np.logaddexp.accumulate(a, axis=dim),
            [draw(values(draw(shapes(ndim)))) * 5])


def gelu_case(approximate):
    def exact(a):
        return a * (1 + np.vectorize(math.erf)(a / math.sqrt(2))) / 2

    def tanh_form(a):
        return 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))

    @st.composite
    def case(draw, ndim):
        return (lambda t: F.gelu(t, approximate=approximate), exact if approximate == "none" else tanh_form,
                [draw(values(draw(shapes(ndim)))) * 2])
    return case


@st.composite
def layer_norm_case(draw, ndim):
    """F.layer_norm over the last 1..ndim axes, with weight and bias (operands too), or without."""
    shape = draw(shapes(ndim))
    count = draw(st.integers(1, ndim))
    normalized, axes = shape[ndim - count:], tuple(range(ndim - count, ndim))
    x = draw(distinct_values(shape))

    def np_layer_norm(a, weight=1.0, bias=0.0):
        centred = a - a.mean(axis=axes, keepdims=True)
        return centred / np.sqrt((centred ** 2).mean(axis=axes, keepdims=True) + 1e-5) * weight + bias
    if draw(st.booleans()):
        return lambda t: F.layer_norm(t, normalized), np_layer_norm, [x]
    return (lambda t, w, b: F.layer_norm(t, normalized, w, b), np_layer_norm,
            [x, draw(values(normalized)), draw(values(normalized))])


@st.composite
def rms_norm_case(draw, ndim):
    """F.rms_norm over the last 1..ndim axes, eps None (float64's machine epsilon) or 1e-3, with a weight
    (an operand too) or without; entries at least 0.5 from 0, so the mean square is too."""
    shape = draw(shapes(ndim))
    count = draw(st.integers(1, ndim))
    normalized, axes = shape[ndim - count:], tuple(range(ndim - count, ndim))
    eps = draw(st.sampled_from([None, 1e-3]))
    x = nonzero(draw(values(shape)))

    def np_rms_norm(a, weight=1.0):
        return a / np.sqrt((a ** 2).mean(axis=axes, keepdims=True) + (eps or np.finfo(np.float64).eps)) * weight
    if draw(st.booleans()):
        return lambda t: F.rms_norm(t, normalized, eps=eps), np_rms_norm, [x]
    return lambda t, w: F.rms_norm(t, normalized, w, eps), np_rms_norm, [x, draw(values(normalized))]


@st.composite
def group_norm_case(draw, ndim):
    """F.group_norm of x (N, C) or (N, C, L) in 1..3 groups of at least 2 entries (0.04 apart or more),
    with weight and bias (operands too), or without."""
    groups, batch = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    if ndim == 2:
        shape = (batch, groups * 2)
    else:
        shape = (batch, groups * draw(st.integers(1, 2)), draw(st.integers(2, 3)))
    x = draw(distinct_values(shape))
    channels = (shape[1],) + (1,) * (ndim - 2)

    def np_group_norm(a, weight=None, bias=None):
        grouped = a.reshape(shape[0], groups, -1)
        centred = grouped - grouped.mean(axis=2, keepdims=True)
        y = (centred / np.sqrt((centred ** 2).mean(axis=2, keepdims=True) + 1e-5)).reshape(shape)
        return y if weight is None else y * weight.reshape(channels) + bias.reshape(channels)
    if draw(st.booleans()):
        return lambda t: F.group_norm(t, groups), np_group_norm, [x]
    return (lambda t, w, b: F.group_norm(t, groups, w, b), np_group_norm,
            [x, draw(values(shape[1:2])), draw(values(shape[1:2]))])

@st.composite
def ctc_loss_case(draw, ndim):
    """F.ctc_loss of log-probabilities (T, N, C) (or unbatched (T, C)) against targets of 0-2 labels (repeats
    too), every sequence long enough for its target (no inf), each reduction."""
    frames, classes = draw(st.integers(3, 5)), draw(st.integers(2, 4))
    batch = draw(st.integers(1, 3)) if ndim == 3 else 1
    label = st.integers(1, classes - 1)
    targets = [draw(st.lists(label, max_size=2)) for _ in range(batch)]
    lengths = [draw(st.integers(3, frames)) for _ in range(batch)]
    reduction = draw(st.sampled_from(["none", "sum", "mean"]))
    sizes = np.array([len(t) for t in targets])
    flat = np.array(sum(targets, []), np.int64)

    def np_ctc_loss(a):
        losses = np_ctc_batch(a if ndim == 3 else a[:, None], targets, lengths)
        return {"none": losses if ndim == 3 else losses[0], "sum": losses.sum(),
                "mean": np.mean(losses / np.maximum(sizes, 1))}[reduction]
    if ndim == 2:
        return (lambda t: F.ctc_loss(t, flat, lengths[0], sizes[0], reduction=reduction), np_ctc_loss,
                [draw(values((frames, classes)))])
    return (lambda t: F.ctc_loss(t, flat, lengths, sizes, reduction=reduction), np_ctc_loss,
            [draw(values((frames, batch, classes)))])

@st.composite
def pad_case(draw, ndim):
    """F.pad over the last 1..ndim axes, amounts from cutting all but one entry to adding two."""
    shape = draw(shapes(ndim))
    amounts = []
    for axis in range(ndim - 1, ndim - 1 - draw(st.integers(1, ndim)), -1):
        before = draw(st.integers(-(shape[axis] - 1), 2))
        amounts += [before, draw(st.integers(-(shape[axis] - 1 - max(-before, 0)), 2))]
    value = draw(st.sampled_from([None, -1.5]))
    widths = [(0, 0)] * ndim
    for k in range(len(amounts) // 2):
        widths[ndim - 1 - k] = (amounts[2 * k], amounts[2 * k + 1])

    def np_pad(a):
        cut = a[tuple(slice(max(-b, 0), a.shape[i] - max(-e, 0)) for i, (b, e) in enumerate(widths))]
        return np.pad(cut, [(max(b, 0), max(e, 0)) for b, e in widths], constant_values=value or 0)
    return lambda t: F.pad(t, tuple(amounts), value=value), np_pad, [draw(values(shape))]


@st.composite
def pad_mode_case(draw, ndim):
    """F.pad with mode reflect, replicate or circular over the last 1 or 2 axes (never the first: a batch or
    channel axis stays), each amount within what the mode allows (np.pad's reflect, edge and wrap)."""
    shape = draw(shapes(ndim))
    mode = draw(st.sampled_from(["reflect", "replicate", "circular"]))
    amounts, widths = [], [(0, 0)] * ndim
    for axis in range(ndim - 1, ndim - 1 - draw(st.integers(1, min(2, ndim - 1))), -1):
        most = {"reflect": shape[axis] - 1, "replicate": 2, "circular": shape[axis]}[mode]
        left, right = draw(st.integers(0, most)), draw(st.integers(0, most))
        amounts += [left, right]
        widths[axis] = (left, right)
    numpy_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    return lambda t: F.pad(t, tuple(amounts), mode=mode), lambda a: np.pad(a, widths, numpy_mode), [draw(values(shape))]


@st.composite
def instance_norm_case(draw, ndim):
    """F.instance_norm of x (N, C, L) or (N, C, H, W) with at least 2 entries per channel (0.04 apart or
    more), with weight and bias (operands too), or without."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3))) + ((draw(st.integers(2, 3)),) if ndim == 3 else (2, 2))
    x = draw(distinct_values(shape))
    channels = (shape[1],) + (1,) * (ndim - 2)

    def np_instance_norm(a, weight=None, bias=None):
        axes = tuple(range(2, ndim))
        centred = a - a.mean(axis=axes, keepdims=True)
        y = centred / np.sqrt((centred ** 2).mean(axis=axes, keepdims=True) + 1e-5)
        return y if weight is None else y * weight.reshape(channels) + bias.reshape(channels)
    if draw(st.booleans()):
        return lambda t: F.instance_norm(t), np_instance_norm, [x]
    return (lambda t, w, b: F.instance_norm(t, weight=w, bias=b), np_instance_norm,
            [x, draw(values(shape[1:2])), draw(values(shape[1:2]))])


@st.composite
def bilinear_case(draw, ndim):
    """F.bilinear of x1 (*, in1) and x2 (*, in2) (ndim axes each) with weight (out, in1, in2), with a bias or
    without; every one an operand."""
    lead = draw(shapes(ndim - 1)) if ndim > 1 else ()
    in1, in2, out = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    arrays = [draw(values(lead + (in1,))), draw(values(lead + (in2,))), draw(values((out, in1, in2)))]

    def np_bilinear(x1, x2, w, b=None):
        y = np.einsum("...i,oij,...j->...o", x1, w, x2)
        return y if b is None else y + b
    if draw(st.booleans()):
        return F.bilinear, np_bilinear, arrays
    return F.bilinear, np_bilinear, arrays + [draw(values((out,)))]


@st.composite
def pixel_shuffle_case(draw, ndim, inverse=False):
    """F.pixel_shuffle of (*, C r^2, H, W), or F.pixel_unshuffle of (*, C, H r, W r), r in 1..2; the reference
    moves entry by entry, y[..., c, h r + i, w r + j] = x[..., c r^2 + i r + j, h, w]."""
    r, channels = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    lead, height, width = draw(shapes(ndim - 3)) if ndim > 3 else (), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    small = lead + (channels * r * r, height, width)
    large = lead + (channels, height * r, width * r)

    def places(a, to_large):
        b = np.empty(large if to_large else small)
        for c in range(channels):
            for i in range(r):
                for j in range(r):
                    if to_large:
                        b[..., c, i::r, j::r] = a[..., c * r * r + i * r + j, :, :]
                    else:
                        b[..., c * r * r + i * r + j, :, :] = a[..., c, i::r, j::r]
        return b
    if inverse:
        return lambda t: F.pixel_unshuffle(t, r), lambda a: places(a, False), [draw(values(large))]
    return lambda t: F.pixel_shuffle(t, r), lambda a: places(a, True), [draw(values(small))]


@st.composite
def kl_div_case(draw, ndim):
    """F.kl_div of log-probabilities against a constant target (some entries 0), or a log-target."""
    shape = draw(shapes(ndim))
    reduction = draw(st.sampled_from(["sum", "none", "batchmean"]))
    target = np.abs(draw(values(shape))) * draw(hnp.arrays(np.bool_, shape))
    log_target = draw(st.booleans())
    if log_target:
        target = target - 3.0

    def np_kl_div(a):
        p = np.exp(target) if log_target else target
        log_p = target if log_target else np.log(np.where(p > 0, p, 1))
        pointwise = np.where(p > 0, p * log_p, 0) - p * a
        return {"sum": pointwise.sum(), "none": pointwise, "batchmean": pointwise.sum() / shape[0]}[reduction]
    return (lambda t: F.kl_div(t, target, reduction=reduction, log_target=log_target), np_kl_div,
            [draw(values(shape))])


@st.composite
def extreme_case(draw, ndim, name):
    """amax / amin over one axis, a tuple of axes or () (every axis), entries without ties."""
    shape = draw(shapes(ndim))
    dim = draw(st.one_of(st.just(()), an_axis(ndim), st.just(tuple(range(ndim)))))
    keepdim = draw(st.booleans())
    np_fn = {"amax": np.max, "amin": np.min}[name]
    axis = None if dim == () else dim
    return (lambda t: getattr(t, name)(dim, keepdim), lambda a: np_fn(a, axis=axis, keepdims=keepdim),
            [draw(distinct_values(shape))])


@st.composite
def square_case(draw, ndim):
    return lambda t: t.square(), np.square, [draw(values(draw(shapes(ndim))))]


@st.composite
def rsqrt_case(draw, ndim):
    """rsqrt of entries in [0.5, 2.5] (away from its pole at 0)."""
    return lambda t: mg.rsqrt(t), lambda a: 1 / np.sqrt(a), [np.abs(draw(values(draw(shapes(ndim))))) + 0.5]


@st.composite
def dot_case(draw, ndim):
    """t.dot(u) / mg.dot(t, u) of two vectors of one length: their inner product."""
    length = draw(st.integers(1, 4))
    fn = (lambda t, u: t.dot(u)) if draw(st.booleans()) else (lambda t, u: mg.dot(t, u))
    return fn, np.dot, [draw(values((length,))), draw(values((length,)))]



@st.composite
def meshgrid_case(draw, ndim):
    """torch.meshgrid of max(ndim, 1) vectors (0-d tensors, PyTorch's vectors of length 1, when ndim is 0),
    "ij" or "xy", given as arguments or as one list: the grids flattened and joined, against numpy's."""
    lengths = [draw(st.integers(1, 4)) for _ in range(max(ndim, 1))]
    indexing, as_list = draw(st.sampled_from(["ij", "xy"])), draw(st.booleans())

    def np_fn(*a):
        return np_joined(np.meshgrid(*[np.reshape(x, -1) for x in a], indexing=indexing))

    def mg_fn(*t):
        return mg_joined(mg.meshgrid(list(t), indexing=indexing) if as_list else mg.meshgrid(*t, indexing=indexing))
    return mg_fn, np_fn, [draw(values(() if ndim == 0 else (n,))) for n in lengths]


# ---- the activations and distances of functional/activations.py (and PyTorch's mg./Tensor spellings of some) -----

SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def np_sigmoid(a):
    return 1 / (1 + np.exp(-a))


@st.composite
def local_response_norm_case(draw, ndim):
    """F.local_response_norm of x (N, C, *) over windows of `size` channels (PyTorch's formula, a loop over
    the channels), with alpha large enough for the window to matter."""
    x = draw(values(draw(shapes(ndim))))
    size = draw(st.integers(1, 4))

    def np_local_response_norm(a):
        out = np.empty_like(a)
        for c in range(a.shape[1]):
            window = a[:, max(0, c - size // 2):c + (size - 1) // 2 + 1]
            out[:, c] = a[:, c] / (2.0 + 0.5 / size * (window ** 2).sum(axis=1)) ** 0.75
        return out
    return lambda t: F.local_response_norm(t, size, 0.5, 0.75, 2.0), np_local_response_norm, [x]


def activation_case(mg_fn, np_fn, kinks=(), scale=1.0):
    """An elementwise activation of x in [-2 scale, 2 scale] (scaled to reach past its far kinks), x kept
    0.1 away from each kink (relu-like corners, clamp bounds, shrink and threshold jumps)."""
    @st.composite
    def case(draw, ndim):
        return mg_fn, np_fn, [away_from(draw(values(draw(shapes(ndim)))) * scale, kinks)]
    return case


def np_hardshrink(lambd):
    return lambda a: np.where(np.abs(a) > lambd, a, 0.0)


@st.composite
def glu_case(draw, ndim):
    """F.glu along dim (of even size): the first half times the sigmoid of the second."""
    dim = draw(an_axis(ndim))
    shape = list(draw(shapes(ndim)))
    shape[dim] *= 2

    def np_fn(a):
        first, second = np.split(a, 2, axis=dim)
        return first * np_sigmoid(second)
    return lambda t: F.glu(t, dim), np_fn, [draw(values(tuple(shape))) * 2]


@st.composite
def softmin_case(draw, ndim):
    dim = draw(an_axis(ndim))
    return lambda t: F.softmin(t, dim=dim), lambda a: np_softmax(-a, dim), [draw(values(draw(shapes(ndim)))) * 3]


def prelu_case(form):
    """prelu(x, weight): one slope for all (shape () or (1,)) or one per channel (x's dim 1), both operands
    differentiated, x kept off 0; as F.prelu, mg.prelu or x.prelu(weight)."""
    @st.composite
    def case(draw, ndim):
        shape = draw(shapes(ndim))
        channels = shape[1] if ndim >= 2 else 1
        weight_shape = draw(st.sampled_from([(), (1,), (channels,)]))

        def np_fn(a, w):
            slope = w.reshape(()) if w.size == 1 else w.reshape((channels,) + (1,) * (ndim - 2))
            return np.where(a > 0, a, slope * a)
        fn = {"F.prelu": F.prelu, "mg.prelu": lambda t, w: mg.prelu(t, w),
              "Tensor.prelu": lambda t, w: t.prelu(w)}[form]
        return fn, np_fn, [away_from(draw(values(shape)), [0.0]), draw(values(weight_shape))]
    return case


@st.composite
def conv1d_case(draw, ndim):
    """F.conv1d of x (N, C_in, L) (ndim 3) or (C_in, L) (ndim 2) with a weight (C_out, C_in / groups, K)
    and maybe a bias, stride, padding (an int or "same" at stride 1), dilation and groups drawn; numpy:
    y[n, o, t] = b[o] + sum_c,k w[o, c, k] x_pad[n, g C_in / groups + c, s t + d k], o in group g."""
    groups = draw(st.integers(1, 2))
    in_channels, out_channels = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel, stride, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    padding = draw(st.sampled_from([0, 1, "same"] if stride == 1 else [0, 1]))
    total = dilation * (kernel - 1)
    left, right = (total // 2, total - total // 2) if padding == "same" else (padding, padding)
    length = draw(st.integers(max(1, total + 1 - left - right), 5))
    x_shape = (draw(st.integers(1, 2)),) * (ndim == 3) + (in_channels, length)
    arrays = [draw(values(x_shape)), draw(values((out_channels, in_channels // groups, kernel)))]
    if draw(st.booleans()):
        arrays.append(draw(values((out_channels,))))

    def np_conv1d(x, w, b=None):
        batch = x.reshape((-1,) + x.shape[-2:])
        padded = np.pad(batch, [(0, 0), (0, 0), (left, right)])
        steps = (padded.shape[2] - total - 1) // stride + 1
        per_group = out_channels // groups
        windows = np.stack([padded[:, :, dilation * k::stride][:, :, :steps] for k in range(kernel)], axis=2)
        y = np.stack([np.einsum("ck,nckt->nt", w[o], windows[:, (o // per_group) * (in_channels // groups):
                                                             (o // per_group + 1) * (in_channels // groups)])
                      for o in range(out_channels)], axis=1)
        y = y if b is None else y + b[:, None]
        return y.reshape(x.shape[:-2] + y.shape[1:])
    options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return lambda *t: F.conv1d(*t, **options), np_conv1d, arrays


@st.composite
def sliding_pool_case(draw, ndim, kind):
    """F.max_pool1d or F.avg_pool1d of x (N, C, L) (ndim 3) or (C, L) (ndim 2), kernel, stride (or None),
    padding (at most kernel / 2), dilation (max), ceil_mode and count_include_pad (avg) drawn, entries apart
    (no ties at a maximum); numpy: window t reads positions s t - p + d k inside the input (PyTorch's count
    of windows, the last one starting before the right padding), its max, or its sum over its size (the
    padding counted or not, a ceil_mode window's overhang never)."""
    kernel, stride = draw(st.integers(1, 4)), draw(st.one_of(st.none(), st.integers(1, 3)))
    padding, ceil_mode = draw(st.integers(0, kernel // 2)), draw(st.booleans())
    dilation = draw(st.integers(1, 2)) if kind == "max" else 1
    count_include_pad = draw(st.booleans())
    step = kernel if stride is None else stride
    length = draw(st.integers(dilation * (kernel - 1) + 1, dilation * (kernel - 1) + 5))     # (no window of padding)
    span = length + 2 * padding - dilation * (kernel - 1) - 1
    count = (-(-span // step) if ceil_mode else span // step) + 1
    count -= ceil_mode and (count - 1) * step >= length + padding
    x_shape = (draw(st.integers(1, 2)),) * (ndim == 3) + (draw(st.integers(1, 2)), length)

    def np_pool(x):
        out = np.empty(x.shape[:-1] + (count,))
        for t in range(count):
            start = step * t - padding
            inside = [start + dilation * k for k in range(kernel) if 0 <= start + dilation * k < length]
            if kind == "max":
                out[..., t] = x[..., inside].max(axis=-1)
            else:
                size = min(start + kernel, length + padding) - start if count_include_pad else len(inside)
                out[..., t] = x[..., inside].sum(axis=-1) / size
        return out
    if kind == "max":
        return (lambda t: F.max_pool1d(t, kernel, stride, padding, dilation, ceil_mode), np_pool,
                [draw(distinct_values(x_shape))])
    return (lambda t: F.avg_pool1d(t, kernel, stride, padding, ceil_mode, count_include_pad), np_pool,
            [draw(values(x_shape))])


@st.composite
def conv2d_case(draw, ndim):
    """F.conv2d of x (N, C_in, H, W) (ndim 4) or (C_in, H, W) (ndim 3) with a weight (C_out, C_in / groups,
    kH, kW) and maybe a bias, stride, padding (ints, a pair, or "same" at stride 1), dilation and groups
    drawn; numpy: y[n, o, i, j] = b[o] + sum_c,u,v w[o, c, u, v] x_pad[n, g C_in / groups + c, s0 i + d0 u,
    s1 j + d1 v], o in group g, an einsum over each explicit window."""
    groups = draw(st.integers(1, 2))
    in_channels, out_channels = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride, dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))), (draw(st.integers(1, 2)), 1)
    padding = draw(st.sampled_from([0, (1, 0), "same"] if stride == (1, 1) else [0, (1, 0)]))
    if padding == "same":
        widths = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for d, k in zip(dilation, kernel)]
    else:
        widths = [(0, 0), (0, 0)] if padding == 0 else [(1, 1), (0, 0)]
    least = [max(1, d * (k - 1) + 1 - sum(w)) for d, k, w in zip(dilation, kernel, widths)]   # (one output position)
    sizes = [draw(st.integers(n, n + 2)) for n in least]
    x_shape = (draw(st.integers(1, 2)),) * (ndim == 4) + (in_channels, *sizes)
    arrays = [draw(values(x_shape)), draw(values((out_channels, in_channels // groups) + kernel))]
    if draw(st.booleans()):
        arrays.append(draw(values((out_channels,))))

    def np_conv2d(x, w, b=None):
        padded = np.pad(x.reshape((-1,) + x.shape[-3:]), [(0, 0), (0, 0)] + widths)
        counts = [(padded.shape[2 + a] - dilation[a] * (kernel[a] - 1) - 1) // stride[a] + 1 for a in range(2)]
        per_group, group_channels = out_channels // groups, in_channels // groups
        y = np.zeros((padded.shape[0], out_channels, *counts))
        for o in range(out_channels):
            first = (o // per_group) * group_channels
            for i in range(counts[0]):
                for j in range(counts[1]):
                    rows = stride[0] * i + dilation[0] * np.arange(kernel[0])
                    columns = stride[1] * j + dilation[1] * np.arange(kernel[1])
                    window = padded[:, first:first + group_channels][:, :, rows][:, :, :, columns]
                    y[:, o, i, j] = np.einsum("cuv,ncuv->n", w[o], window) + (0.0 if b is None else b[o])
        return y.reshape(x.shape[:-3] + y.shape[1:])
    options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return lambda *t: F.conv2d(*t, **options), np_conv2d, arrays


@st.composite
def sliding_pool2d_case(draw, ndim, kind):
    """F.max_pool2d or F.avg_pool2d of x (N, C, H, W) (ndim 4) or (C, H, W) (ndim 3), a kernel, stride (or
    None), padding (at most half the kernel), dilation (max), ceil_mode, count_include_pad and
    divisor_override (avg) drawn, entries apart (no ties at a maximum); numpy: window (i, j) reads the rows
    and columns s t - p + d k inside the image, its max, or its sum over its size (the padding counted or
    not, a ceil_mode window's overhang never) or over divisor_override."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 2), st.integers(1, 2))))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    dilation = (draw(st.integers(1, 2)), 1) if kind == "max" else (1, 1)
    ceil_mode, count_include_pad = draw(st.booleans()), draw(st.booleans())
    divisor_override = draw(st.sampled_from([None, 3])) if kind == "avg" else None
    steps = kernel if stride is None else stride
    sizes = [draw(st.integers(d * (k - 1) + 1, d * (k - 1) + 3)) for d, k in zip(dilation, kernel)]
    windows = []                    # per axis: (start, the positions read) of each window
    for size, k, s, p, d in zip(sizes, kernel, steps, padding, dilation):
        span = size + 2 * p - d * (k - 1) - 1
        count = (-(-span // s) if ceil_mode else span // s) + 1
        count -= ceil_mode and (count - 1) * s >= size + p
        windows.append([(s * t - p, [s * t - p + d * u for u in range(k) if 0 <= s * t - p + d * u < size])
                        for t in range(count)])
    x_shape = (draw(st.integers(1, 2)),) * (ndim == 4) + (draw(st.integers(1, 2)), *sizes)

    def np_pool(x):
        out = np.empty(x.shape[:-2] + (len(windows[0]), len(windows[1])))
        for i, (top, rows) in enumerate(windows[0]):
            for j, (left, columns) in enumerate(windows[1]):
                window = x[..., rows, :][..., columns]
                if kind == "max":
                    out[..., i, j] = window.max(axis=(-2, -1))
                    continue
                area = [min(start + k, size + p) - start for start, k, size, p in
                        zip((top, left), kernel, sizes, padding)]
                size = area[0] * area[1] if count_include_pad else len(rows) * len(columns)
                out[..., i, j] = window.sum(axis=(-2, -1)) / (divisor_override or size)
        return out
    if kind == "max":
        return (lambda t: F.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode), np_pool,
                [draw(distinct_values(x_shape))])
    return (lambda t: F.avg_pool2d(t, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override),
            np_pool, [draw(values(x_shape))])


@st.composite
def adaptive_pool_case(draw, ndim, kind):
    """F.adaptive_max_pool1d or F.adaptive_avg_pool1d of x (N, C, L) or (C, L) to n windows (n drawn, more or
    fewer than L), entries apart; numpy: window i is positions floor(i L / n) .. ceil((i + 1) L / n) - 1."""
    length, n = draw(st.integers(1, 6)), draw(st.integers(1, 7))
    x_shape = (draw(st.integers(1, 2)),) * (ndim == 3) + (draw(st.integers(1, 2)), length)

    def np_pool(x):
        windows = [x[..., math.floor(i * length / n):math.ceil((i + 1) * length / n)] for i in range(n)]
        return np.stack([w.max(axis=-1) if kind == "max" else w.mean(axis=-1) for w in windows], axis=-1)
    fn = F.adaptive_max_pool1d if kind == "max" else F.adaptive_avg_pool1d
    return lambda t: fn(t, n), np_pool, [draw(distinct_values(x_shape))]


@st.composite
def scaled_dot_product_attention_case(draw, ndim):
    """F.scaled_dot_product_attention of q (..., L, E), k (..., S, E), v (..., S, Ev): no mask, a bool mask
    (True: takes part; each query keeps key 0), or is_causal; softmax(q k^T / sqrt(E) + bias) v."""
    batch = draw(shapes(ndim - 2))
    L, S, E, Ev = (draw(st.integers(1, 3)) for _ in range(4))
    kind = draw(st.sampled_from(["none", "bool", "causal"]))
    mask = draw(hnp.arrays(np.bool_, (L, S))) | (np.arange(S) == 0) if kind == "bool" else None
    allowed = np.tril(np.ones((L, S), bool)) if kind == "causal" else np.ones((L, S), bool) if mask is None else mask

    def np_fn(q, k, v):
        return np_softmax(np.where(allowed, q @ np.swapaxes(k, -1, -2) / math.sqrt(E), -np.inf), -1) @ v
    return ((lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask, is_causal=kind == "causal")), np_fn,
            [draw(values(batch + (L, E))), draw(values(batch + (S, E))), draw(values(batch + (S, Ev)))])


@st.composite
def multi_head_attention_case(draw, ndim):
    """F.multi_head_attention_forward as self-attention of x (L, N, 4) (or (L, 4) unbatched) in 2 heads,
    without biases: the heads of x W_in^T attend, joined, times W_out^T."""
    shape = (draw(st.integers(1, 3)),) + ((draw(st.integers(1, 2)),) if ndim == 3 else ()) + (4,)

    def np_fn(x, w_in, w_out):
        heads = [np.moveaxis(t.reshape(t.shape[:-1] + (2, 2)), 0, -2) for t in np.split(x @ w_in.T, 3, -1)]
        out = np_softmax(heads[0] @ np.swapaxes(heads[1], -1, -2) / math.sqrt(2), -1) @ heads[2]
        return np.moveaxis(out, -2, 0).reshape(shape) @ w_out.T

    def mg_fn(x, w_in, w_out):
        return F.multi_head_attention_forward(x, x, x, 4, 2, w_in, None, None, None, False, 0.0, w_out, None)[0]
    return mg_fn, np_fn, [draw(values(shape)), draw(values((12, 4))), draw(values((4, 4)))]


@st.composite
def adaptive_pool2d_case(draw, ndim, kind):
    """F.adaptive_max_pool2d or F.adaptive_avg_pool2d of x (N, C, H, W) (ndim 4) or (C, H, W) (ndim 3) to
    output_size drawn (an int, or a pair each more or fewer than the axis's size or None), entries apart;
    numpy: window (i, j) is rows floor(i H / n) .. ceil((i + 1) H / n) - 1 by the columns likewise."""
    height, width = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    output_size = draw(st.one_of(st.integers(1, 4), st.tuples(st.one_of(st.none(), st.integers(1, 4)),
                                                              st.one_of(st.none(), st.integers(1, 4)))))
    pair = output_size if isinstance(output_size, tuple) else (output_size, output_size)
    rows, columns = (size if n is None else n for n, size in zip(pair, (height, width)))
    x_shape = (draw(st.integers(1, 2)),) * (ndim == 4) + (draw(st.integers(1, 2)), height, width)

    def np_pool(x):
        def window(i, j):
            return x[..., math.floor(i * height / rows):math.ceil((i + 1) * height / rows),
                     math.floor(j * width / columns):math.ceil((j + 1) * width / columns)]
        return np.stack([np.stack([window(i, j).max(axis=(-2, -1)) if kind == "max" else
                                   window(i, j).mean(axis=(-2, -1)) for j in range(columns)], axis=-1)
                         for i in range(rows)], axis=-2)
    fn = F.adaptive_max_pool2d if kind == "max" else F.adaptive_avg_pool2d
    return lambda t: fn(t, output_size), np_pool, [draw(distinct_values(x_shape))]


@st.composite
def apart_magnitudes(draw, shape):
    """Entries whose magnitudes are at least 0.3 and 0.04 apart, signs drawn: no |x| ties (the inf-norm's
    kinks) and no zeros (the 1-norm's)."""
    magnitudes = draw(distinct_values(shape))
    magnitudes = magnitudes - magnitudes.min() + 0.3 if magnitudes.size else magnitudes
    return np.where(draw(hnp.arrays(np.bool_, shape)), magnitudes, -magnitudes)


def np_vector_norm(a, p, axis, keepdims):
    magnitudes = np.abs(a)
    if p == math.inf:
        return magnitudes.max(axis=axis, keepdims=keepdims)
    return (magnitudes ** p).sum(axis=axis, keepdims=keepdims) ** (1 / p)


@st.composite
def normalize_case(draw, ndim):
    """F.normalize(x, p, dim): x over its p-norm along dim (an axis or every axis), p 1, 2, 3 or inf."""
    p = draw(st.sampled_from([1.0, 2.0, 3.0, math.inf]))
    dim = draw(st.one_of(an_axis(ndim), st.just(tuple(range(ndim)))))
    return (lambda t: F.normalize(t, p, dim), lambda a: a / np_vector_norm(a, p, dim, True),
            [draw(apart_magnitudes(draw(shapes(ndim))))])


def cosine_similarity_case(form):
    """cosine_similarity(x1, x2, dim) of broadcast operands, entries at least 0.5 from 0 (norms far above eps):
    the sum along dim of x1 / ||x1|| times x2 / ||x2||, both differentiated."""
    @st.composite
    def case(draw, ndim):
        left, right = draw(broadcast_operands(ndim))
        dim = draw(an_axis(ndim))

        def np_fn(a, b):
            a, b = np.broadcast_arrays(a, b)
            return np.sum(a / np_vector_norm(a, 2, dim, True) * (b / np_vector_norm(b, 2, dim, True)), axis=dim)
        fn = (lambda a, b: F.cosine_similarity(a, b, dim)) if form == "F" else (
            lambda a, b: mg.cosine_similarity(a, b, dim=dim))
        return fn, np_fn, [nonzero(draw(values(left))), nonzero(draw(values(right)))]
    return case


def pairwise_distance_case(form):
    """pairwise_distance(x1, x2, p, eps=1e-6, keepdim): ||x1 - x2 + eps||_p over the last axis, x1 and x2
    broadcast, p 1, 2, 3 or inf; the full-shape operand is made from the other and a difference d with
    magnitudes apart (`apart_magnitudes`), so x1 - x2 + eps stays off the norms' kinks."""
    @st.composite
    def case(draw, ndim):
        left, right = draw(broadcast_operands(ndim))
        full = np.broadcast_shapes(left, right)
        p, keepdim = draw(st.sampled_from([1.0, 2.0, 3.0, math.inf])), draw(st.booleans())
        d = draw(apart_magnitudes(full))
        if left == full:
            x2 = draw(values(right))
            x1 = x2 + d - 1e-6
        else:
            x1 = draw(values(left))
            x2 = x1 - d + 1e-6
        fn = (lambda a, b: F.pairwise_distance(a, b, p, keepdim=keepdim)) if form == "F" else (
            lambda a, b: mg.pairwise_distance(a, b, p=p, keepdim=keepdim))
        return fn, lambda a, b: np_vector_norm(a - b + 1e-6, p, -1, keepdim), [x1, x2]
    return case


ANY_RANK, WITH_AXES, UP_TO_MATRIX = (0, 1, 2, 3), (1, 2, 3), (0, 1, 2)

# name: (strategy given the number of axes, the numbers of axes it runs on)
@st.composite
def outer_case(draw, ndim, form):
    """mg.outer(a, b) / t.ger(b) of two vectors: numpy's outer."""
    fn = {"mg.outer": mg.outer, "Tensor.ger": lambda a, b: a.ger(b)}[form]
    return fn, np.outer, [draw(values((draw(st.integers(1, 3)),))) for _ in range(2)]


@st.composite
def addmm_case(draw, ndim):
    """addmm(input, mat1, mat2, beta, alpha), input broadcast to the product's (n, p); beta 0 leaves input
    with a zero gradient."""
    n, m, p = (draw(st.integers(1, 3)) for _ in range(3))
    beta, alpha = draw(st.sampled_from([1, 0.5, -2.0, 0])), draw(st.sampled_from([1, 0.25, -1.5]))
    form = draw(st.sampled_from(["function", "method"]))
    mg_fn = ((lambda c, a, b: mg.addmm(c, a, b, beta=beta, alpha=alpha)) if form == "function" else
             (lambda c, a, b: c.addmm(a, b, beta=beta, alpha=alpha)))
    shape = draw(broadcastable_to((n, p)))
    return (mg_fn, lambda c, a, b: beta * c + alpha * (a @ b),
            [draw(values(shape)), draw(values((n, m))), draw(values((m, p)))])


def addc_case(name):
    """addcmul / addcdiv of three mutually broadcast operands, value= drawn (the divisor away from 0)."""
    @st.composite
    def case(draw, ndim):
        shapes_ = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=ndim, min_side=1,
                                                         max_side=3)).input_shapes
        value = draw(st.sampled_from([1, 0.5, -3.0]))
        arrays = [draw(values(shape)) for shape in shapes_]
        if name == "addcmul":
            return (lambda c, a, b: c.addcmul(a, b, value=value), lambda c, a, b: c + value * a * b, arrays)
        arrays[2] = nonzero(arrays[2])
        return (lambda c, a, b: mg.addcdiv(c, a, b, value=value), lambda c, a, b: c + value * a / b, arrays)
    return case


@st.composite
def logaddexp_case(draw, ndim):
    """logaddexp(a, b) of broadcast operands, far apart too (|a - b| up to 40), ties among them."""
    left, right = draw(broadcast_operands(ndim))
    a, b = draw(values(left)) * 20, draw(values(right)) * 20
    if draw(st.booleans()):                 # (integers from -4 to 4: ties, where the max's side is shared)
        a, b = np.round(a / 10), np.round(b / 10)
    form = draw(st.sampled_from(["function", "method"]))
    return (mg.logaddexp if form == "function" else (lambda s, t: s.logaddexp(t))), np.logaddexp, [a, b]


@st.composite
def logaddexp2_case(draw, ndim):
    """logaddexp2(a, b) as logaddexp's case: far apart too, ties among them; function or method."""
    left, right = draw(broadcast_operands(ndim))
    a, b = draw(values(left)) * 20, draw(values(right)) * 20
    if draw(st.booleans()):
        a, b = np.round(a / 10), np.round(b / 10)
    form = draw(st.sampled_from(["function", "method"]))
    return (mg.logaddexp2 if form == "function" else (lambda s, t: s.logaddexp2(t))), np.logaddexp2, [a, b]


@st.composite
def diff_case(draw, ndim):
    """diff(n, dim) with or without prepend / append (operands too), n from 1 to past the length, or n = 0
    (a copy of x: prepend and append unused, so none given)."""
    shape = draw(shapes(ndim))
    dim = draw(an_axis(ndim))
    n = draw(st.integers(0, shape[dim] + 2))
    arrays = [draw(values(shape))]
    extras = []
    for name in ("prepend", "append"):
        if n and draw(st.booleans()):
            extras.append(name)
            arrays.append(draw(values(shape[:dim % ndim] + (draw(st.integers(1, 2)),) + shape[dim % ndim + 1:])))

    def mg_fn(x, *more):
        return mg.diff(x, n, dim, **dict(zip(extras, more))) if extras else x.diff(n, dim)

    def np_fn(x, *more):
        return np.diff(x, n, axis=dim, **dict(zip(extras, more)))
    return mg_fn, np_fn, arrays


@st.composite
def nansum_case(draw, ndim):
    """nansum over every axis, one or a tuple, with NaNs drawn in (they get gradient 0, the rest 1)."""
    shape = draw(shapes(ndim))
    dim = draw(st.one_of(st.none(), an_axis(ndim), st.just(tuple(range(ndim)))))
    keepdim = draw(st.booleans())
    nan = draw(hnp.arrays(np.bool_, shape))
    np_fn = (lambda a: np.nansum(np.where(nan, np.nan, a), axis=dim, keepdims=keepdim))
    return (lambda t: mg.nansum(mg.where(nan, np.nan, t), dim, keepdim)), np_fn, [draw(values(shape))]


@st.composite
def nanmean_case(draw, ndim):
    """nanmean over every axis, one or a tuple, with NaNs drawn in off the first entry (every mean finite)."""
    shape = draw(shapes(ndim))
    dim = draw(st.one_of(st.none(), an_axis(ndim), st.just(tuple(range(ndim)))))
    keepdim = draw(st.booleans())
    nan = draw(hnp.arrays(np.bool_, shape))
    if isinstance(dim, int):
        nan &= np.indices(shape)[dim] != 0          # (each slice along dim keeps its first entry)
    else:
        nan[(0,) * ndim] = False
    np_fn = (lambda a: np.nanmean(np.where(nan, np.nan, a), axis=dim, keepdims=keepdim))
    return (lambda t: mg.nanmean(mg.where(nan, np.nan, t), dim, keepdim)), np_fn, [draw(values(shape))]


def np_trapezoid_terms(y, spacing, axis):
    """(x_{i+1} - x_i)(y_i + y_{i+1}) / 2 along axis, hand-written."""
    y = np.moveaxis(y, axis, -1)
    return spacing * (y[..., 1:] + y[..., :-1]) / 2


@st.composite
def trapezoid_case(draw, ndim, cumulative):
    """trapezoid or cumulative_trapezoid along a drawn dim, with dx, a 1-d x, or an x of y's shape."""
    shape = draw(shapes(ndim))
    dim = draw(an_axis(ndim))
    axis = dim % ndim
    fn = mg.cumulative_trapezoid if cumulative else mg.trapezoid

    def finish(terms):
        terms = np.cumsum(terms, -1) if cumulative else terms.sum(-1)
        return np.moveaxis(terms, -1, axis) if cumulative else terms
    kind = draw(st.sampled_from(["dx", "x 1-d", "x"]))
    y = draw(values(shape))
    if kind == "dx":
        dx = draw(st.floats(0.5, 2))
        return (lambda t: fn(t, dx=dx, dim=dim)), (lambda a: finish(np_trapezoid_terms(a, dx, axis))), [y]
    x = draw(values((shape[axis],) if kind == "x 1-d" else shape))
    return ((lambda t, u: fn(t, u, dim=dim)),
            (lambda a, b: finish(np_trapezoid_terms(a, np.diff(b if b.ndim == 1 else np.moveaxis(b, axis, -1)), axis))),
            [y, x])


@st.composite
def cov_case(draw, ndim, form):
    """cov (with a drawn correction and weights) or corrcoef of a 1-d or 2-d input, against np.cov."""
    shape = draw(shapes(ndim, max_side=4)) if ndim else ()
    count = shape[-1] if shape else 1
    if form == "corrcoef":
        off = 1 - np.eye(shape[0]) if ndim == 2 else 1.0     # (the diagonal is clipped at 1: no gradient there)
        shape = shape if count > 1 else shape[:-1] + (2,)
        slopes = np.resize([1.0, -0.5, 0.7, -1.2], shape[:-1] + (1,))      # (rows far from constant)
        x = 0.3 * draw(values(shape)) + slopes * np.arange(shape[-1])
        return (lambda t: mg.corrcoef(t) * off), (lambda a: np.corrcoef(a) * off), [x]
    correction = draw(st.integers(0, 1)) if count > 1 else 0
    f = draw(st.one_of(st.none(), hnp.arrays(np.int64, (count,), elements=st.integers(1, 3))))
    w = draw(st.one_of(st.none(), hnp.arrays(np.float64, (count,), elements=st.floats(0.5, 2))))
    np_fn = (lambda a: np.cov(a, ddof=correction, fweights=f, aweights=w))
    return (lambda t: mg.cov(t, correction=correction, fweights=f, aweights=w)), np_fn, [draw(values(shape))]


@st.composite
def part_scatter_case(draw, ndim, form):
    """select_scatter, slice_scatter or diagonal_scatter: src written into a part of input (both get g)."""
    shape = draw(shapes(ndim))
    x = draw(values(shape))
    out_index = {}
    if form == "diagonal_scatter":
        first, second = draw(st.permutations(range(ndim)))[:2]
        offset = draw(st.integers(-2, 2))
        src_shape = np.diagonal(x, offset, first, second).shape

        def np_fn(a, s):
            out = a.copy()
            view = np.diagonal(out, offset, first, second)
            view.setflags(write=True)
            view[...] = s
            return out
        return (lambda t, u: mg.diagonal_scatter(t, u, offset, first, second)), np_fn, [x, draw(values(src_shape))]
    dim = draw(an_axis(ndim))
    if form == "select_scatter":
        index = draw(st.integers(-shape[dim], shape[dim] - 1))
        out_index = (slice(None),) * (dim % ndim) + (index,)
        mg_fn = (lambda t, u: mg.select_scatter(t, u, dim, index))
    else:
        start, step = draw(st.integers(-shape[dim], shape[dim] - 1)), draw(st.integers(1, 2))
        out_index = (slice(None),) * (dim % ndim) + (slice(start, None, step),)
        mg_fn = (lambda t, u: t.slice_scatter(u, dim, start, None, step))

    def np_fn(a, s):
        out = a.copy()
        out[out_index] = s
        return out
    return mg_fn, np_fn, [x, draw(values(x[out_index].shape))]


@st.composite
def flat_put_case(draw, ndim, form):
    """take, put (accumulate or not), index_put (accumulate or not) and masked_scatter, against numpy copies."""
    shape = draw(shapes(ndim))
    x = draw(values(shape))
    size = x.size
    if form == "take":
        index = draw(hnp.arrays(np.int64, draw(shapes(draw(st.integers(0, 2)))), elements=st.integers(-size, size - 1)))
        return (lambda t: mg.take(t, index)), (lambda a: np.take(a, index)), [x]
    accumulate = draw(st.booleans())
    if form == "put":
        positions = draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=4, unique=not accumulate))
        index = np.array(positions)

        def np_fn(a, s):
            out = a.copy().reshape(-1)
            (np.add.at(out, index, s) if accumulate else out.__setitem__(index, s))
            return out.reshape(a.shape)
        return (lambda t, u: t.put(index, u, accumulate)), np_fn, [x, draw(values((len(positions),)))]
    if form == "index_put":
        count = draw(st.integers(1, 3))
        index = tuple(draw(hnp.arrays(np.int64, (count,), elements=st.integers(0, n - 1)))
                      for n in shape[:draw(st.integers(1, ndim))])
        if not accumulate:
            index = tuple(i[np.unique(np.ravel_multi_index(index, shape[:len(index)]), return_index=True)[1]]
                          for i in index)
        written = x[index].shape

        def np_fn(a, v):
            out = a.copy()
            (np.add.at(out, index, np.broadcast_to(v, written)) if accumulate else out.__setitem__(index, v))
            return out
        return ((lambda t, v: mg.index_put(t, index, v, accumulate)), np_fn,
                [x, draw(values(draw(broadcastable_to(written))))])
    mask = draw(hnp.arrays(np.bool_, draw(broadcastable_to(shape))))

    def np_fn(a, s):
        out = a.copy()
        full = np.broadcast_to(mask, out.shape)
        out[full] = s[:full.sum()]
        return out
    return (lambda t, u: t.masked_scatter(mask, u)), np_fn, [x, draw(values((size + 1,)))]


@st.composite
def diagflat_case(draw, ndim):
    """diagflat(input, offset) (and narrow_copy along a drawn dim)."""
    offset = draw(st.integers(-2, 2))
    return (lambda t: mg.diagflat(t, offset)), (lambda a: np.diagflat(a, offset)), [draw(values(draw(shapes(ndim))))]


@st.composite
def narrow_copy_case(draw, ndim):
    shape = draw(shapes(ndim))
    dim = draw(an_axis(ndim))
    start = draw(st.integers(0, shape[dim] - 1))
    length = draw(st.integers(0, shape[dim] - start))
    index = (slice(None),) * (dim % ndim) + (slice(start, start + length),)
    return (lambda t: mg.narrow_copy(t, dim, start, length)), (lambda a: a[index]), [draw(values(shape))]


@st.composite
def ldexp_case(draw, ndim):
    """ldexp(input, other) of two broadcast float tensors: input 2^other."""
    shape = draw(shapes(ndim)) if ndim else ()
    return mg.ldexp, (lambda a, b: a * 2.0 ** b), [draw(values(shape)), draw(values(draw(broadcastable_to(shape))))]


@st.composite
def take_along_dim_case(draw, ndim):
    """take_along_dim(indices, dim) with indices broadcast against x off dim (repeats too), or dim None
    (the flattened entries)."""
    shape = draw(shapes(ndim))
    x = draw(values(shape))
    if draw(st.booleans()):
        indices = draw(hnp.arrays(np.int64, draw(shapes(ndim)), elements=st.integers(0, x.size - 1)))
        return (lambda t: mg.take_along_dim(t, indices)), (lambda a: a.reshape(-1)[indices.reshape(-1)]), [x]
    dim = draw(an_axis(ndim))
    index_shape = tuple(draw(st.integers(1, 3)) if a == dim % ndim else draw(st.sampled_from([1, n]))
                        for a, n in enumerate(shape))
    x_shape = tuple(1 if a != dim % ndim and draw(st.booleans()) else n for a, n in enumerate(shape))
    x = x[tuple(slice(0, n) for n in x_shape)]
    indices = draw(hnp.arrays(np.int64, index_shape, elements=st.integers(0, shape[dim] - 1)))
    given = mg.tensor(indices) if draw(st.booleans()) else indices
    return ((lambda t: t.take_along_dim(given, dim)),
            (lambda a: np.take_along_axis(a, indices, axis=dim)), [x])


CASES = {
    "split(int size)": (split_size_case, WITH_AXES),
    "split(lengths)": (split_lengths_case, WITH_AXES),
    "chunk": (chunk_case, WITH_AXES),
    "unbind": (unbind_case, WITH_AXES),
    "index_select": (index_select_case, WITH_AXES),
    "gather(dim, index)": (gather_dim_case, WITH_AXES),
    "topk(largest)": (lambda ndim: topk_case(ndim, True), WITH_AXES),
    "topk(smallest)": (lambda ndim: topk_case(ndim, False), WITH_AXES),
    "sort values": (sort_case, WITH_AXES),
    "repeat_interleave": (repeat_interleave_case, ANY_RANK),
    "min()": (min_all_case, ANY_RANK),
    "min(dim) values": (min_dim_case, WITH_AXES),
    "min(axis=0)": (min_axis0_case, WITH_AXES),
    "max(d) and min(d), .values": (extremes_along_case, WITH_AXES),
    "expand": (expand_case, ANY_RANK),
    "expand_as": (expand_as_case, ANY_RANK),
    "repeat": (repeat_case, ANY_RANK),
    "masked_fill(broadcast mask)": (masked_fill_case, ANY_RANK),
    "masked_fill(tensor value)": (masked_fill_tensor_value_case, ANY_RANK),
    "masked_fill_ while recording": (masked_fill_in_place_case, ANY_RANK),
    "index_fill": (index_fill_case, WITH_AXES),
    "scatter": (scatter_case, WITH_AXES),
    "masked_select(broadcast mask)": (masked_select_case, ANY_RANK),
    "div(rounding_mode=None)": (divide_case, ANY_RANK),
    "clamp(min only)": (clamp_case(lambda t: t.clamp(min=-0.5), -0.5, None), ANY_RANK),
    "clamp(max only)": (clamp_case(lambda t: t.clamp(max=0.8), None, 0.8), ANY_RANK),
    "clamp(min, max)": (clamp_case(lambda t: t.clamp(-0.5, 0.8), -0.5, 0.8), ANY_RANK),
    "clamp_min": (clamp_case(lambda t: t.clamp_min(-0.5), -0.5, None), ANY_RANK),
    "mg.clamp_max": (clamp_case(lambda t: mg.clamp_max(t, 0.8), None, 0.8), ANY_RANK),
    "clamp_min(tensor bound)": (clamp_tensor_case("clamp_min"), ANY_RANK),
    "mg.clamp_max(tensor bound)": (clamp_tensor_case("clamp_max"), ANY_RANK),
    "mg.clamp(min, max)": (clamp_case(lambda t: mg.clamp(t, min=-0.5, max=0.8), -0.5, 0.8), ANY_RANK),
    "Tensor.add(alpha)": (alpha_case(lambda a, b: a.add(b, alpha=2.5), lambda a, b: a + 2.5 * b), ANY_RANK),
    "Tensor.sub(alpha)": (alpha_case(lambda a, b: a.sub(b, alpha=-0.75), lambda a, b: a + 0.75 * b), ANY_RANK),
    "mg.add(alpha)": (alpha_case(lambda a, b: mg.add(a, b, alpha=0.5), lambda a, b: a + 0.5 * b), ANY_RANK),
    "mg.sub(alpha)": (alpha_case(lambda a, b: mg.sub(a, b, alpha=3), lambda a, b: a - 3 * b), ANY_RANK),
    "mg.max(a, b)": (pairwise_case(lambda a, b: mg.max(a, b), np.maximum), ANY_RANK),
    "mg.min(a, b)": (pairwise_case(lambda a, b: mg.min(a, b), np.minimum), ANY_RANK),
    "mg.maximum": (pairwise_case(lambda a, b: mg.maximum(a, b), np.maximum), ANY_RANK),
    "t.minimum": (pairwise_case(lambda a, b: a.minimum(b), np.minimum), ANY_RANK),
    "squeeze": (squeeze_case, ANY_RANK),
    "unsqueeze": (unsqueeze_case, ANY_RANK),
    "flatten": (flatten_case, ANY_RANK),
    "unflatten": (unflatten_case, WITH_AXES),
    "contiguous": (contiguous_case, ANY_RANK),
    "narrow": (narrow_case, WITH_AXES),
    "flip": (flip_case, WITH_AXES),
    "reversed": (reversed_case, ANY_RANK),
    "unfold": (unfold_case, WITH_AXES),
    "t": (t_case, UP_TO_MATRIX),
    "mT, mH, H": (matrix_transpose_case, (0, 2, 3)),
    "view": (view_case, ANY_RANK),
    "view_as": (view_as_case, ANY_RANK),
    "permute": (permute_case, ANY_RANK),
    "movedim": (movedim_case, WITH_AXES),
    "transpose(dim0, dim1)": (transpose_pair_case, WITH_AXES),
    "F.softmax": (softmax_case("F.softmax"), WITH_AXES),
    "F.softmax(axis)": (softmax_case("F.softmax(axis)"), WITH_AXES),
    "Tensor.softmax": (softmax_case("Tensor.softmax"), WITH_AXES),
    "mg.softmax": (softmax_case("mg.softmax"), WITH_AXES),
    "Tensor.softmax(dtype)": (softmax_case("Tensor.softmax(dtype)"), WITH_AXES),
    "Tensor.log_softmax(dtype)": (softmax_case("Tensor.log_softmax(dtype)"), WITH_AXES),
    "getitem(0-d, 1-d)": (small_getitem_case, (0, 1)),
    "to(float64) on float64": (to_float64_case, ANY_RANK),
    "roll": (roll_case, ANY_RANK),
    "dot": (dot_case, (1,)),
    "amax": (lambda ndim: extreme_case(ndim, "amax"), WITH_AXES),
    "amin": (lambda ndim: extreme_case(ndim, "amin"), WITH_AXES),
    "square": (square_case, ANY_RANK),
    "rsqrt": (rsqrt_case, ANY_RANK),
    "tril": (lambda ndim: triangle_case(ndim, lower=True), (2, 3)),
    "triu": (lambda ndim: triangle_case(ndim, lower=False), (2, 3)),
    "diag": (diag_case, (1, 2)),
    "var": (lambda ndim: spread_case(ndim, "var"), WITH_AXES),
    "std": (lambda ndim: spread_case(ndim, "std"), WITH_AXES),
    "logsumexp": (logsumexp_case, WITH_AXES),
    "logcumsumexp": (logcumsumexp_case, WITH_AXES),
    "F.gelu": (gelu_case("none"), ANY_RANK),
    "F.gelu(tanh)": (gelu_case("tanh"), ANY_RANK),
    "F.layer_norm": (layer_norm_case, WITH_AXES),
    "F.rms_norm": (rms_norm_case, WITH_AXES),
    "F.group_norm": (group_norm_case, (2, 3)),
    "F.pad": (pad_case, WITH_AXES),
    "F.pad(mode)": (pad_mode_case, (2, 3)),
    "F.instance_norm": (instance_norm_case, (3, 4)),
    "F.local_response_norm": (local_response_norm_case, (3, 4)),
    "F.bilinear": (bilinear_case, WITH_AXES),
    "F.pixel_shuffle": (pixel_shuffle_case, (3, 4)),
    "F.pixel_unshuffle": (lambda ndim: pixel_shuffle_case(ndim, inverse=True), (3, 4)),
    "F.interpolate": (interpolate_case, (3, 4, 5)),
    "F.unfold": (im2col_case, (3, 4)),
    "F.fold": (lambda ndim: im2col_case(ndim, inverse=True), (2, 3)),
    "F.channel_shuffle": (channel_shuffle_case, (3, 4)),
    "F.kl_div": (kl_div_case, WITH_AXES),
    "F.ctc_loss": (ctc_loss_case, (2, 3)),
    **{f"F.{name}": (loss_case(name), ranks) for name, ranks in MARGIN_AND_LIKELIHOOD_LOSSES.items()},
    "meshgrid": (meshgrid_case, ANY_RANK),
    "F.leaky_relu": (activation_case(F.leaky_relu, lambda a: np.where(a > 0, a, 0.01 * a), [0.0]), ANY_RANK),
    "F.leaky_relu(0.2)": (activation_case(lambda t: F.leaky_relu(t, negative_slope=0.2),
                                          lambda a: np.where(a > 0, a, 0.2 * a), [0.0]), ANY_RANK),
    "F.rrelu": (activation_case(F.rrelu, lambda a: np.where(a > 0, a, (1 / 8 + 1 / 3) / 2 * a), [0.0]), ANY_RANK),
    "F.rrelu(training)": (activation_case(lambda t: F.rrelu(t, 0.1, 0.3, True, rng=np.random.default_rng(3)),
                                          lambda a: np.where(a > 0, a, a * np.random.default_rng(3).uniform(
                                              0.1, 0.3, a.shape)), [0.0]), ANY_RANK),
    "F.rrelu_": (activation_case(lambda t: F.rrelu_(t * 1, 0.1, 0.3), lambda a: np.where(a > 0, a, 0.2 * a), [0.0]),
                 ANY_RANK),
    "F.elu": (activation_case(F.elu, lambda a: np.where(a > 0, a, np.expm1(a)), [0.0]), ANY_RANK),
    "F.elu(0.5)": (activation_case(lambda t: F.elu(t, 0.5), lambda a: np.where(a > 0, a, 0.5 * np.expm1(a)), [0.0]),
                   ANY_RANK),
    "F.selu": (activation_case(F.selu, lambda a: SELU_SCALE * np.where(a > 0, a, SELU_ALPHA * np.expm1(a)), [0.0]),
               ANY_RANK),
    "mg.selu": (activation_case(mg.selu, lambda a: SELU_SCALE * np.where(a > 0, a, SELU_ALPHA * np.expm1(a)), [0.0]),
                ANY_RANK),
    "F.celu(2)": (activation_case(lambda t: F.celu(t, 2.0), lambda a: np.where(a > 0, a, 2 * np.expm1(a / 2)), [0.0],
                                  scale=2), ANY_RANK),
    "mg.celu(alpha=0.5)": (activation_case(lambda t: mg.celu(t, alpha=0.5),
                                           lambda a: np.where(a > 0, a, 0.5 * np.expm1(a / 0.5)), [0.0]), ANY_RANK),
    "F.silu": (activation_case(F.silu, lambda a: a * np_sigmoid(a), scale=2), ANY_RANK),
    "F.mish": (activation_case(F.mish, lambda a: a * np.tanh(np.log1p(np.exp(a))), scale=2), ANY_RANK),
    "F.softplus": (activation_case(F.softplus, lambda a: np.log1p(np.exp(a)), scale=2), ANY_RANK),
    "F.softplus(2, 3)": (activation_case(lambda t: F.softplus(t, beta=2.0, threshold=3.0),
                                         lambda a: np.where(2 * a > 3, a, np.log1p(np.exp(2 * a)) / 2), [1.5]),
                         ANY_RANK),
    "F.softsign": (activation_case(F.softsign, lambda a: a / (1 + np.abs(a)), scale=2), ANY_RANK),
    "F.hardtanh": (activation_case(F.hardtanh, lambda a: np.clip(a, -1, 1), [-1.0, 1.0]), ANY_RANK),
    "F.hardtanh(-2, 0.5)": (activation_case(lambda t: F.hardtanh(t, -2.0, 0.5), lambda a: np.clip(a, -2, 0.5),
                                            [-2.0, 0.5], scale=1.5), ANY_RANK),
    "F.relu6": (activation_case(F.relu6, lambda a: np.clip(a, 0, 6), [0.0, 6.0], scale=4), ANY_RANK),
    "F.hardsigmoid": (activation_case(F.hardsigmoid, lambda a: np.clip(a / 6 + 0.5, 0, 1), [-3.0, 3.0], scale=2),
                      ANY_RANK),
    "F.hardswish": (activation_case(F.hardswish, lambda a: a * np.clip(a + 3, 0, 6) / 6, [-3.0, 3.0], scale=2),
                    ANY_RANK),
    "F.logsigmoid": (activation_case(F.logsigmoid, lambda a: np.minimum(a, 0) - np.log1p(np.exp(-np.abs(a))),
                                     scale=3), ANY_RANK),
    "F.tanhshrink": (activation_case(F.tanhshrink, lambda a: a - np.tanh(a)), ANY_RANK),
    "F.softshrink": (activation_case(F.softshrink, lambda a: a - np.clip(a, -0.5, 0.5), [-0.5, 0.5]), ANY_RANK),
    "F.softshrink(1)": (activation_case(lambda t: F.softshrink(t, lambd=1.0), lambda a: a - np.clip(a, -1, 1),
                                        [-1.0, 1.0]), ANY_RANK),
    "F.hardshrink": (activation_case(F.hardshrink, np_hardshrink(0.5), [-0.5, 0.5]), ANY_RANK),
    "mg.hardshrink(lambd=1)": (activation_case(lambda t: mg.hardshrink(t, lambd=1.0), np_hardshrink(1.0), [-1.0, 1.0]),
                               ANY_RANK),
    "Tensor.hardshrink": (activation_case(lambda t: t.hardshrink(), np_hardshrink(0.5), [-0.5, 0.5]), ANY_RANK),
    "Tensor.hardshrink(0.8)": (activation_case(lambda t: t.hardshrink(0.8), np_hardshrink(0.8), [-0.8, 0.8]),
                               ANY_RANK),
    "F.threshold(0.5, -2)": (activation_case(lambda t: F.threshold(t, 0.5, -2.0), lambda a: np.where(a > 0.5, a, -2.0),
                                             [0.5]), ANY_RANK),
    "mg.threshold(-1, 3)": (activation_case(lambda t: mg.threshold(t, threshold=-1.0, value=3.0),
                                            lambda a: np.where(a > -1, a, 3.0), [-1.0]), ANY_RANK),
    "F.glu": (glu_case, WITH_AXES),
    "F.softmin": (softmin_case, WITH_AXES),
    "F.prelu": (prelu_case("F.prelu"), ANY_RANK),
    "mg.prelu": (prelu_case("mg.prelu"), ANY_RANK),
    "Tensor.prelu": (prelu_case("Tensor.prelu"), ANY_RANK),
    "F.normalize": (normalize_case, WITH_AXES),
    "F.cosine_similarity": (cosine_similarity_case("F"), WITH_AXES),
    "mg.cosine_similarity": (cosine_similarity_case("mg"), WITH_AXES),
    "F.pairwise_distance": (pairwise_distance_case("F"), ANY_RANK),
    "mg.pairwise_distance": (pairwise_distance_case("mg"), ANY_RANK),
    "F.conv1d": (conv1d_case, (2, 3)),
    "F.max_pool1d": (functools.partial(sliding_pool_case, kind="max"), (2, 3)),
    "F.avg_pool1d": (functools.partial(sliding_pool_case, kind="avg"), (2, 3)),
    "F.adaptive_max_pool1d": (functools.partial(adaptive_pool_case, kind="max"), (2, 3)),
    "F.adaptive_avg_pool1d": (functools.partial(adaptive_pool_case, kind="avg"), (2, 3)),
    "F.conv2d": (conv2d_case, (3, 4)),
    "F.max_pool2d": (functools.partial(sliding_pool2d_case, kind="max"), (3, 4)),
    "F.avg_pool2d": (functools.partial(sliding_pool2d_case, kind="avg"), (3, 4)),
    "F.adaptive_max_pool2d": (functools.partial(adaptive_pool2d_case, kind="max"), (3, 4)),
    "F.adaptive_avg_pool2d": (functools.partial(adaptive_pool2d_case, kind="avg"), (3, 4)),
    "F.conv_transpose1d": (functools.partial(conv_transpose_case, dims=1), (2, 3)),
    "F.conv_transpose2d": (functools.partial(conv_transpose_case, dims=2), (3, 4)),
    "F.conv_transpose3d": (functools.partial(conv_transpose_case, dims=3), (4, 5)),
    "F.scaled_dot_product_attention": (scaled_dot_product_attention_case, (2, 3, 4)),
    "F.multi_head_attention_forward": (multi_head_attention_case, (2, 3)),
    "mg.outer": (functools.partial(outer_case, form="mg.outer"), (1,)),
    "Tensor.ger": (functools.partial(outer_case, form="Tensor.ger"), (1,)),
    "addmm": (addmm_case, (2,)),
    "addcmul": (addc_case("addcmul"), ANY_RANK),
    "addcdiv": (addc_case("addcdiv"), ANY_RANK),
    "logaddexp": (logaddexp_case, ANY_RANK),
    "logaddexp2": (logaddexp2_case, ANY_RANK),
    "diff": (diff_case, WITH_AXES),
    "nansum": (nansum_case, WITH_AXES),
    "var_mean": (lambda ndim: spread_mean_case(ndim, "var_mean"), WITH_AXES),
    "std_mean": (lambda ndim: spread_mean_case(ndim, "std_mean"), WITH_AXES),
    "median()": (median_all_case, ANY_RANK),
    **{f"{name} values": (lambda ndim, name=name: order_statistic_case(ndim, name), WITH_AXES) for name in (
        "cummax", "cummin", "median", "nanmedian", "kthvalue", "mode", "quantile", "nanquantile", "aminmax")},
    "take_along_dim": (take_along_dim_case, WITH_AXES),
    "nanmean": (nanmean_case, WITH_AXES),
    "trapezoid": (functools.partial(trapezoid_case, cumulative=False), WITH_AXES),
    "cumulative_trapezoid": (functools.partial(trapezoid_case, cumulative=True), WITH_AXES),
    "cov": (functools.partial(cov_case, form="cov"), (0, 1, 2)),
    "corrcoef": (functools.partial(cov_case, form="corrcoef"), (1, 2)),
    **{name: (functools.partial(part_scatter_case, form=name), (1, 2, 3) if name != "diagonal_scatter" else (2, 3))
       for name in ("select_scatter", "slice_scatter", "diagonal_scatter")},
    **{name: (functools.partial(flat_put_case, form=name), ANY_RANK if name == "take" else WITH_AXES)
       for name in ("take", "put", "index_put", "masked_scatter")},
    "diagflat": (diagflat_case, ANY_RANK),
    "narrow_copy": (narrow_copy_case, WITH_AXES),
    "ldexp": (ldexp_case, ANY_RANK),
}

RANKED = [pytest.param(name, ndim, id=f"{name}-{ndim}d") for name, (_, ndims) in CASES.items() for ndim in ndims]


@pytest.mark.parametrize("name, ndim", RANKED)
@FAST
@given(data=st.data())
def test_composite_gradient_and_tangent_match_central_differences(name, ndim, data):
    """The op's gradient of sum(R * f(x)) and its J v both equal central differences of the numpy f."""
    builder, _ = CASES[name]
    mg_fn, np_fn, arrays = data.draw(builder(ndim), label="case")
    check_both_modes(data, mg_fn, np_fn, arrays)


def test_roll_of_a_0_d_tensor_and_its_errors():
    """A 0-d tensor rolls into itself (dim 0 or -1, as PyTorch's); mismatched or missing shifts name roll."""
    x = mg.tensor(2.5, requires_grad=True)
    mg.roll(x, 3, 0).backward()
    assert x.grad == 1.0
    with pytest.raises(ValueError, match=r"roll: shifts and dims must have the same length, got \(1, 2\) and 0"):
        mg.ones(2, 2).roll((1, 2), 0)
    with pytest.raises(ValueError, match="roll: without dims, shifts must be one integer"):
        mg.ones(2, 2).roll((1, 2))
    with pytest.raises(TypeError, match="roll: shifts must be an integer or a sequence of them, got 0.5"):
        mg.ones(2).roll(0.5)
    with pytest.raises(IndexError, match="roll: dim 2 is out of range"):
        mg.ones(2, 2).roll(1, 2)
    assert mg.arange(3).roll(10 ** 20, 0).tolist() == [2, 0, 1]       # (10**20 = 1 mod 3: a shift of 1)


def test_nonzero_gives_positions_without_a_gradient():
    """Where the entries are not zero, as numpy's argwhere (rows) or nonzero (one array per axis):
    int64 constants, nothing recorded."""
    a = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    x = mg.tensor(a, requires_grad=True)
    found = x.nonzero()
    assert found.dtype == np.int64 and found.tolist() == np.argwhere(a).tolist() and found.grad_fn is None
    rows, columns = mg.nonzero(x, as_tuple=True)
    assert rows.tolist() == [0, 1, 1] and columns.tolist() == [1, 0, 2]
    assert mg.nonzero(mg.tensor([1, 2]) == 0).shape == (0, 1)


def test_searches_and_runs_give_int64_constants():
    """searchsorted and bucketize (numpy's searchsorted), argwhere (numpy's argwhere) and
    unique_consecutive's values, inverse and counts: integers or values, nothing recorded."""
    a = np.array([[0.0, 1.5, 1.5], [2.0, 2.0, 0.0]])
    x = mg.tensor(a, requires_grad=True)
    places = mg.searchsorted(mg.tensor([0.5, 1.5, 2.5]), x, right=True)
    assert places.dtype == np.int64 and places.grad_fn is None
    assert places.tolist() == np.searchsorted([0.5, 1.5, 2.5], a, side="right").tolist()
    assert mg.bucketize(x, [0.5, 1.5, 2.5]).tolist() == np.searchsorted([0.5, 1.5, 2.5], a).tolist()
    found = x.argwhere()
    assert found.dtype == np.int64 and found.grad_fn is None and found.tolist() == np.argwhere(a).tolist()
    values, inverse, counts = x.unique_consecutive(return_inverse=True, return_counts=True)
    assert values.grad_fn is None and values.tolist() == [0.0, 1.5, 2.0, 0.0]
    assert inverse.tolist() == [[0, 1, 1], [2, 2, 3]] and counts.tolist() == [1, 2, 2, 1]


def test_nan_to_num_replaces_as_pytorch_and_its_gradient_passes_only_where_an_entry_was_finite():
    """torch.nan_to_num: NaN -> nan (0), +inf -> posinf, -inf -> neginf (by default the dtype's largest and
    smallest finite numbers); its derivative is grad * isfinite(x) (PyTorch's derivatives.yaml). Integers:
    a copy, nothing to replace."""
    x = mg.tensor([1.5, np.nan, np.inf, -np.inf], requires_grad=True, dtype=np.float64)
    y = mg.nan_to_num(x)
    big = np.finfo(np.float64).max
    assert y.numpy().tolist() == [1.5, 0.0, big, -big]
    (y * mg.tensor([2.0, 3.0, 0.5, 0.25], dtype=np.float64)).sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 0.0, 0.0]
    chosen = x.detach().float().nan_to_num(nan=-1.0, posinf=7.0)
    assert chosen.dtype == np.float32
    assert chosen.numpy().tolist() == [1.5, -1.0, 7.0, float(-np.finfo(np.float32).max)]
    assert mg.nan_to_num(mg.tensor([1, 2])).tolist() == [1, 2]
    with pytest.raises(TypeError, match="nan_to_num: posinf must be a number"):
        x.nan_to_num(posinf="big")


def test_diag_of_more_than_two_axes_or_a_non_integer_diagonal_is_refused():
    """torch.diag supports 1-d and 2-d tensors only; the diagonal is an integer."""
    with pytest.raises(ValueError, match=r"diag: expected a vector or a matrix .*\(2, 2, 2\)"):
        mg.diag(mg.zeros(2, 2, 2))
    with pytest.raises(TypeError, match="diag: diagonal must be an integer"):
        mg.zeros(3).diag(1.0)
    empty = mg.zeros(0, requires_grad=True)
    out = mg.diag(empty, 2)                                     # np.diag([], 2): zeros (2, 2)
    assert out.shape == (2, 2) and not out.numpy().any()
    out.sum().backward()                                        # still a result of the vector, as PyTorch's
    assert empty.grad.shape == (0,)


def test_unique_gives_sorted_distinct_constants_and_where_each_entry_went():
    """As numpy's unique: sorted distinct values in x's dtype, the inverse in x's shape (x is
    values[inverse]), the counts; with dim, the distinct slices. Constants: no history."""
    a = np.array([[2.5, 0.0, 2.5], [1.0, 0.0, 2.5]])
    x = mg.tensor(a, requires_grad=True)
    values, inverse, counts = x.unique(return_inverse=True, return_counts=True)
    assert values.tolist() == [0.0, 1.0, 2.5] and values.dtype == np.float64 and values.grad_fn is None
    np.testing.assert_array_equal(values.numpy()[inverse.numpy()], a)
    assert inverse.dtype == counts.dtype == np.int64 and counts.tolist() == [2, 1, 3]
    rows, where = mg.unique(mg.tensor([[1, 2], [0, 5], [1, 2]]), dim=0, return_inverse=True)
    assert rows.tolist() == [[0, 5], [1, 2]] and where.tolist() == [1, 0, 1]
    assert mg.tensor([0, 0, 2, 1]).unique().nelement() == 3
    with pytest.raises(ValueError, match=r"unique: shape \(0, 3\) has 0-sized axes other than dim 1"):
        mg.zeros(0, 3).unique(dim=1)


def test_entrywise_tests_give_bool_constants():
    a = np.array([1.0, np.inf, -np.inf, np.nan, 0.0])
    x = mg.tensor(a, requires_grad=True)
    assert x.isnan().tolist() == np.isnan(a).tolist() and mg.isinf(x).tolist() == np.isinf(a).tolist()
    assert x.isfinite().tolist() == np.isfinite(a).tolist() and x.isfinite().grad_fn is None
    assert x.is_floating_point() and not mg.tensor([1]).is_floating_point()


def test_bincount_counts_as_numpys_and_refuses_what_it_cannot_count():
    x = mg.tensor([4, 3, 6, 3, 4])
    assert x.bincount().tolist() == np.bincount([4, 3, 6, 3, 4]).tolist() and x.bincount().dtype == np.int64
    assert mg.bincount(x, weights=np.linspace(0, 1, 5)).tolist() == np.bincount([4, 3, 6, 3, 4], np.linspace(0, 1, 5)).tolist()
    assert mg.tensor([0, 1]).bincount(minlength=4).tolist() == [1, 1, 0, 0]
    with pytest.raises(ValueError, match="bincount: expected non-negative integers, got -1"):
        mg.tensor([0, -1]).bincount()
    with pytest.raises(ValueError, match=r"bincount: expected a 1-d tensor of integers, got float32 of shape \(2,\)"):
        mg.tensor([0.5, 1.0]).bincount()
    with pytest.raises(ValueError, match=r"dot: expected two 1-d tensors of the same length, got shapes \(2,\) and \(3,\)"):
        mg.ones(2).dot(mg.ones(3))
    with pytest.raises(TypeError, match="dot: expected two tensors of the same dtype, got float32 and float64"):
        mg.dot(mg.ones(2), mg.ones(2, dtype=mg.float64))


@pytest.mark.parametrize("rounding_mode", ["floor", "trunc"])
def test_rounded_division_passes_a_zero_gradient_and_tangent(rounding_mode):
    """div(..., rounding_mode) is a staircase: flat between its steps, as PyTorch's gradient."""
    a, b = mg.tensor([7.5, -2.25, 3.2], requires_grad=True), mg.tensor([2.0, 1.5, -0.7], requires_grad=True)
    mg.div(a, b, rounding_mode=rounding_mode).sum().backward()
    assert a.grad.tolist() == [0.0] * 3 and b.grad.tolist() == [0.0] * 3
    _, tangent = mg.jvp(lambda x, y: x.div(y, rounding_mode=rounding_mode), [a.detach(), b.detach()],
                        [np.ones(3), np.ones(3)])
    assert tangent.tolist() == [0.0] * 3


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_sort_and_argsort_keep_ties_in_their_order_as_numpy_s_stable_sort(descending, dim):
    """Indices (int64, no gradient) and values against numpy's stable argsort (of -a descending: equal
    entries keep their order either way round, as PyTorch's stable sort), on a grid full of ties."""
    a = np.random.default_rng(3).integers(-2, 3, size=(4, 6)).astype(np.float64)
    expected = np.argsort(-a if descending else a, axis=dim, kind="stable")
    x = mg.tensor(a, requires_grad=True)
    values, indices = x.sort(dim, descending)
    assert indices.dtype == np.int64 and not indices.requires_grad and values.requires_grad
    np.testing.assert_array_equal(indices.data, expected)
    np.testing.assert_array_equal(values.data, np.take_along_axis(a, expected, axis=dim))
    for argsorted in (x.argsort(dim, descending), mg.argsort(x, dim=dim, descending=descending, stable=True)):
        assert argsorted.dtype == np.int64 and not argsorted.requires_grad
        np.testing.assert_array_equal(argsorted.data, expected)
    integers = mg.tensor(a.astype(np.int64)).sort(dim, descending=descending)       # integers: no -x inside
    np.testing.assert_array_equal(integers.indices.data, expected)


def test_split_under_jvp_gives_one_tangent_per_piece():
    """split returns a tuple: jvp returns a tuple of tangents, piece i's being v's piece i."""
    rng = np.random.default_rng(0)
    x, v = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    pieces, tangents = mg.jvp(lambda t: t.split([2, 0, 3], 0), [mg.tensor(x)], [v])
    expected = directional_difference(lambda a: a, [x], [v])
    assert [p.shape for p in pieces] == [(2, 3), (0, 3), (3, 3)] and len(tangents) == 3
    np.testing.assert_allclose(np.concatenate(tangents), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name, np_op", [("max", np.maximum), ("min", np.minimum)])
def test_elementwise_max_and_min_split_a_tie_half_and_half(name, np_op):
    """Closed form (the docstring): where a = b each gets g / 2 and J v = (v_a + v_b) / 2; elsewhere the
    larger (smaller) one gets all of g. b broadcasts along the rows of a."""
    a = np.array([[1.0, 2.0, 3.0], [3.0, 0.0, 5.0]])
    b = np.array([1.0, 0.0, 5.0])                          # ties at (0, 0), (1, 1), (1, 2)
    g = np.array([[2.0, 4.0, 6.0], [8.0, 10.0, 12.0]])
    tie = a == b
    a_wins = np_op(a, b) == a
    ta, tb = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
    getattr(mg, name)(ta, tb).backward(g)
    np.testing.assert_array_equal(ta.grad, np.where(tie, g / 2, np.where(a_wins, g, 0.0)))
    np.testing.assert_array_equal(tb.grad, np.where(tie, g / 2, np.where(a_wins, 0.0, g)).sum(axis=0))
    va, vb = np.full((2, 3), 4.0), np.array([2.0, 6.0, 10.0])
    _, tangent = mg.jvp(lambda x, y: getattr(mg, name)(x, y), as_tensors([a, b]), [va, vb])
    np.testing.assert_array_equal(tangent, np.where(tie, (va + vb) / 2, np.where(a_wins, va, vb)))


# ---- matmul with a numpy constant, forward mode ------------------------------------------------

MATMUL_WITH_CONSTANT = {
    "t @ C": (lambda t, c: t @ c, False),
    "C @ t": (lambda t, c: c @ t, True),
    "t.matmul(C)": (lambda t, c: t.matmul(c), False),
    "mg.matmul(C, t)": (lambda t, c: mg.matmul(c, t), True),
}


@pytest.mark.parametrize("name", list(MATMUL_WITH_CONSTANT))
@FAST
@given(data=st.data(), operand_shapes=matmul_shapes())
def test_matmul_with_a_numpy_constant_operand(name, data, operand_shapes):
    """tensor @ ndarray and ndarray @ tensor (vectors, matrices, broadcast batches): the tensor's
    gradient and tangent match central differences, the array being a constant."""
    mg_op, constant_left = MATMUL_WITH_CONSTANT[name]
    left_shape, right_shape = operand_shapes
    tensor_shape, constant_shape = (right_shape, left_shape) if constant_left else (left_shape, right_shape)
    constant = data.draw(values(constant_shape))
    np_fn = (lambda a: constant @ a) if constant_left else (lambda a: a @ constant)
    check_both_modes(data, lambda t: mg_op(t, constant), np_fn, [data.draw(values(tensor_shape))])


@FAST
@given(data=st.data(), sizes=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2)))
def test_mm_and_bmm_with_a_numpy_constant_operand(data, sizes):
    """t.mm(C) on matrices and t.bmm(C) on batches of matrices: gradient and tangent."""
    m, n, p, batch = sizes
    c2, c3 = data.draw(values((n, p))), data.draw(values((batch, n, p)))
    check_both_modes(data, lambda t: t.mm(c2), lambda a: a @ c2, [data.draw(values((m, n)))])
    check_both_modes(data, lambda t: mg.bmm(t, c3), lambda a: a @ c3, [data.draw(values((batch, m, n)))])


# ---- losses ------------------------------------------------------------------------------------

def np_reduce(losses, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction](losses)


LOGIT_SHAPES = {"(C,)": 0, "(N, C)": 1, "(N, C, d)": 2}   # axes beside the classes' (axis 1 of 3-D, as PyTorch)


def classes_last(z):
    """The numpy references' layout: PyTorch's (N, C, d) with the classes moved last; (C,), (N, C) as they are."""
    return np.moveaxis(z, 1, -1) if z.ndim == 3 else z


@st.composite
def logits_and_classes(draw, other_axes):
    """Logits in PyTorch's layout, (C,), (N, C) or (N, C, d), and class targets (), (N,) or (N, d)."""
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=other_axes, max_size=other_axes)))
    classes = draw(st.integers(1, 4))
    logits = draw(values(batch + (classes,))) * 3
    target = draw(hnp.arrays(np.int64, batch, elements=st.integers(0, classes - 1)))
    return (np.moveaxis(logits, -1, 1) if other_axes == 2 else logits), target


@pytest.mark.parametrize("layout", list(LOGIT_SHAPES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@FAST
@given(data=st.data())
def test_cross_entropy_with_class_targets(layout, reduction, data):
    """-log softmax(z)[target] per row, reduced: gradient and tangent w.r.t. the logits (the
    mean/sum case is its own op, "none" a composite)."""
    logits, target = data.draw(logits_and_classes(LOGIT_SHAPES[layout]))
    given = mg.tensor(target) if data.draw(st.booleans()) else target

    def np_fn(z):
        picked = np.take_along_axis(np_log_softmax(classes_last(z), -1), target[..., None], axis=-1)[..., 0]
        return np_reduce(-picked, reduction)
    check_both_modes(data, lambda z: F.cross_entropy(z, given, reduction=reduction), np_fn, [logits])


@pytest.mark.parametrize("layout", list(LOGIT_SHAPES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@FAST
@given(data=st.data())
def test_cross_entropy_with_probability_targets(layout, reduction, data):
    """-sum_c p_c log softmax(z)_c per row, reduced, for probabilities p: gradient and tangent
    w.r.t. the logits."""
    logits, _ = data.draw(logits_and_classes(LOGIT_SHAPES[layout]))
    class_axis = 1 if logits.ndim == 3 else -1
    weights = data.draw(hnp.arrays(np.float64, logits.shape, elements=st.floats(0.05, 1.0)))
    probabilities = weights / weights.sum(axis=class_axis, keepdims=True)
    check_both_modes(data, lambda z: F.cross_entropy(z, probabilities, reduction=reduction),
                     lambda z: np_reduce(-(classes_last(probabilities) * np_log_softmax(classes_last(z), -1)).sum(axis=-1),
                                         reduction), [logits])


@pytest.mark.parametrize("layout", list(LOGIT_SHAPES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@FAST
@given(data=st.data())
def test_nll_loss(layout, reduction, data):
    """-log_probs[target] per row, reduced (any numbers as log-probabilities): gradient and tangent."""
    log_probs, target = data.draw(logits_and_classes(LOGIT_SHAPES[layout]))
    check_both_modes(data, lambda t: F.nll_loss(t, target, reduction=reduction),
                     lambda a: np_reduce(-np.take_along_axis(classes_last(a), target[..., None], axis=-1)[..., 0],
                                         reduction),
                     [log_probs])


@pytest.mark.parametrize("ndim", ANY_RANK)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@FAST
@given(data=st.data())
def test_mse_loss_with_respect_to_the_prediction(ndim, reduction, data):
    """(pred - target)^2, reduced: gradient and tangent w.r.t. pred (a target array or tensor a constant)."""
    shape = data.draw(shapes(ndim))
    target = data.draw(values(shape))
    given = mg.tensor(target, dtype=np.float64) if data.draw(st.booleans()) else target
    check_both_modes(data, lambda p: F.mse_loss(p, given, reduction=reduction),
                     lambda p: np_reduce((p - target) ** 2, reduction), [data.draw(values(shape))])


@pytest.mark.parametrize("ndim", [0, 1, 2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss, parameter", [("l1_loss", None), ("smooth_l1_loss", "beta"), ("huber_loss", "delta")])
@FAST
@given(data=st.data())
def test_regression_losses_with_respect_to_the_prediction(loss, parameter, ndim, reduction, data):
    """|d|; 0.5 d^2 / beta or |d| - 0.5 beta; 0.5 d^2 or delta (|d| - 0.5 delta) (d = pred - target),
    reduced: gradient and tangent w.r.t. pred, d kept 0.1 away from the kinks (0 and +-beta, +-delta)."""
    shape = data.draw(shapes(ndim))
    target = data.draw(values(shape))
    width = data.draw(st.sampled_from([0.5, 1.0, 2.0]))
    kinks = [0.0] if parameter is None else [0.0, -width, width]
    prediction = target + away_from(data.draw(values(shape)), kinks)
    options = {} if parameter is None else {parameter: width}

    def np_loss(p):
        d = np.abs(p - target)
        if loss == "l1_loss":
            return np_reduce(d, reduction)
        inside, outside = 0.5 * d ** 2, width * (d - 0.5 * width)
        per_element = np.where(d < width, inside, outside)
        return np_reduce(per_element / width if loss == "smooth_l1_loss" else per_element, reduction)

    check_both_modes(data, lambda p: getattr(F, loss)(p, target, reduction=reduction, **options), np_loss,
                     [prediction])


@pytest.mark.parametrize("ndim", [0, 1, 2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@FAST
@given(data=st.data())
def test_binary_cross_entropy_with_logits_with_respect_to_the_logits(ndim, reduction, data):
    """-w [p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], reduced: gradient and tangent w.r.t. x, with
    targets in [0, 1], a weight and a pos_weight."""
    shape = data.draw(shapes(ndim))
    target = (data.draw(values(shape)) + 2) / 4
    weight, pos_weight = 0.5 + data.draw(values(shape)) ** 2, 0.5 + data.draw(values(shape)) ** 2

    def np_loss(x):
        log_p, log_q = -np.logaddexp(0, -x), -np.logaddexp(0, x)       # log sigmoid(x), log(1 - sigmoid(x))
        return np_reduce(-weight * (pos_weight * target * log_p + (1 - target) * log_q), reduction)

    check_both_modes(data, lambda x: F.binary_cross_entropy_with_logits(
        x, target, weight=weight, reduction=reduction, pos_weight=pos_weight), np_loss, [2 * data.draw(values(shape))])


@pytest.mark.parametrize("ndim", [0, 1, 2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@FAST
@given(data=st.data())
def test_binary_cross_entropy_with_respect_to_the_probabilities(ndim, reduction, data):
    """-w [y log x + (1 - y) log(1 - x)], reduced: gradient and tangent w.r.t. x in [0.1, 0.9]."""
    shape = data.draw(shapes(ndim))
    target = (data.draw(values(shape)) + 2) / 4
    weight = 0.5 + data.draw(values(shape)) ** 2
    probabilities = 0.5 + data.draw(values(shape)) / 5

    def np_loss(x):
        return np_reduce(-weight * (target * np.log(x) + (1 - target) * np.log(1 - x)), reduction)

    check_both_modes(data, lambda x: F.binary_cross_entropy(x, target, weight=weight, reduction=reduction),
                     np_loss, [probabilities])


def test_mse_loss_differentiates_the_target_too():
    """As PyTorch's: pred's gradient is the closed form 2 (pred - target) / N, the target's its
    negative, and a tangent of the target alone moves the loss by -2 (pred - target) . v / N."""
    rng = np.random.default_rng(1)
    pred, target, v = rng.standard_normal((3, 2)), rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    p, y = mg.tensor(pred, requires_grad=True), mg.tensor(target, requires_grad=True)
    F.mse_loss(p, y).backward()
    np.testing.assert_allclose(p.grad, 2 * (pred - target) / 6, rtol=1e-12)
    np.testing.assert_allclose(y.grad, -2 * (pred - target) / 6, rtol=1e-12)
    _, tangent = mg.jvp(lambda a, b: F.mse_loss(a, b), as_tensors([pred, target]), [np.zeros((3, 2)), v])
    np.testing.assert_allclose(tangent, -2 * np.sum((pred - target) * v) / 6, rtol=1e-12)


def test_mse_loss_refuses_shapes_that_only_broadcast():
    """Documented: the shapes must match (PyTorch broadcasts with a warning); no broadcasting case to check."""
    with pytest.raises(ValueError, match=r"mse_loss: input of shape \(2, 3\) and target of shape \(3,\) differ"):
        F.mse_loss(mg.zeros(2, 3), mg.zeros(3))


# ---- dropout: the mask drawn again from the same seed at every evaluation -----------------------------

def np_dropout(a, p, seed):
    """Each entry kept where a fresh generator of `seed` draws u >= p (zeroed with probability p),
    kept ones scaled by 1 / (1 - p)."""
    keep = np.random.default_rng(seed).random(np.shape(a)) >= p
    return np.zeros_like(a) if p == 1 else np.where(keep, a / (1 - p), 0.0)


@contextlib.contextmanager
def generator_kept():
    """The library's generator as it was before (the dropout cases reseed it)."""
    before = library_random.default_generator()
    try:
        yield
    finally:
        library_random._generator = before


DROPOUTS = {
    "F.dropout(rng=)": lambda t, p, seed: F.dropout(t, p, rng=np.random.default_rng(seed)),
    "F.dropout(manual_seed)": lambda t, p, seed: (mg.manual_seed(seed), F.dropout(t, p, training=True))[1],
    "nn.Dropout(train)": lambda t, p, seed: (mg.manual_seed(seed), mg.nn.Dropout(p).train()(t))[1],
    "nn.Dropout(rng=)": lambda t, p, seed: mg.nn.Dropout(p, rng=np.random.default_rng(seed))(t),
}


@pytest.mark.parametrize("form", list(DROPOUTS))
@pytest.mark.parametrize("p", [0.25, 0.5, 1.0])
@pytest.mark.parametrize("ndim", ANY_RANK)
@FAST
@given(data=st.data(), seed=st.integers(0, 2 ** 16))
def test_dropout_in_training_mode(form, p, ndim, data, seed):
    """Reseeded before every evaluation, dropout is x times a fixed mask / (1 - p): gradient and tangent."""
    dropout = DROPOUTS[form]
    with generator_kept():
        check_both_modes(data, lambda t: dropout(t, p, seed), lambda a: np_dropout(a, p, seed),
                         [data.draw(values(data.draw(shapes(ndim))))])


@pytest.mark.parametrize("ndim", ANY_RANK)
@FAST
@given(data=st.data())
def test_dropout_off_is_the_identity(ndim, data):
    """training=False, eval() or p = 0: gradient and tangent of the identity."""
    x = data.draw(values(data.draw(shapes(ndim))))
    check_both_modes(data, lambda t: F.dropout(t, 0.5, training=False), lambda a: a, [x])
    check_both_modes(data, lambda t: mg.nn.Dropout(0.5).eval()(t), lambda a: a, [x])
    check_both_modes(data, lambda t: F.dropout(t, 0.0), lambda a: a, [x])


def np_channel_dropout(a, p, seed, channels, alpha):
    """PyTorch's _dropout_impl: keep drawn u >= p per element or per (n, c) from a fresh generator of `seed`;
    x keep / (1 - p), or alpha dropout's x keep a + (keep - 1) alpha a + alpha a p."""
    keep = np.random.default_rng(seed).random(a.shape[:2] + (1,) * (a.ndim - 2) if channels else a.shape) >= p
    if not alpha:
        return np.where(keep, a / (1 - p), 0.0)
    scale = 1 / math.sqrt((ALPHA_DROPOUT ** 2 * p + 1) * (1 - p))
    return keep * a * scale + (keep - 1.0) * ALPHA_DROPOUT * scale + ALPHA_DROPOUT * scale * p


ALPHA_DROPOUT = 1.7580993408473766      # (aten/src/ATen/native/Dropout.cpp)
CHANNEL_DROPOUTS = {     # name: (the function, the rank of its input, whole channels, alpha)
    "dropout1d": (F.dropout1d, 3, True, False), "dropout2d": (F.dropout2d, 4, True, False),
    "dropout3d": (F.dropout3d, 5, True, False),
    "alpha_dropout": (F.alpha_dropout, 3, False, True),
    "feature_alpha_dropout": (F.feature_alpha_dropout, 3, True, True),
}


@pytest.mark.parametrize("name", list(CHANNEL_DROPOUTS))
@pytest.mark.parametrize("p", [0.25, 0.5])
@FAST
@given(data=st.data(), seed=st.integers(0, 2 ** 16))
def test_channel_and_alpha_dropouts_in_training_mode(name, p, data, seed):
    """With a fixed generator each is x times a constant (plus one, for alpha dropout): gradient and tangent."""
    function, ndim, channels, alpha = CHANNEL_DROPOUTS[name]
    x = data.draw(values(data.draw(shapes(ndim))))
    check_both_modes(data, lambda t: function(t, p, training=True, rng=np.random.default_rng(seed)),
                     lambda a: np_channel_dropout(a, p, seed, channels, alpha), [x])


def np_gumbel_softmax(a, tau, seed, axis):
    """PyTorch's F.gumbel_softmax: softmax((a + g) / tau), g = -log E with E ~ Exponential(1) drawn from a fresh
    generator of `seed`."""
    noisy = (a - np.log(np.random.default_rng(seed).standard_exponential(a.shape))) / tau
    e = np.exp(noisy - noisy.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("ndim", WITH_AXES)
@FAST
@given(data=st.data(), seed=st.integers(0, 2 ** 16), tau=st.sampled_from([0.5, 1.0, 2.0]))
def test_gumbel_softmax_with_a_fixed_generator(ndim, data, seed, tau):
    """With a fixed generator the soft sample is a softmax of the logits plus constant noise, along any dim:
    gradient and tangent."""
    x = data.draw(values(data.draw(shapes(ndim))))
    dim = data.draw(st.integers(-ndim, ndim - 1))
    check_both_modes(data, lambda t: F.gumbel_softmax(t, tau, dim=dim, rng=np.random.default_rng(seed)),
                     lambda a: np_gumbel_softmax(a, tau, seed, dim), [x])


# ---- in-place operators while recording ------------------------------------------------------------

def in_place(op):
    def fn(a, b):
        x = a * 1
        if op == "+=":
            x += b
        elif op == "-=":
            x -= b
        elif op == "*=":
            x *= b
        elif op == "/=":
            x /= b
        else:
            getattr(x, op)(b)           # PyTorch's method forms: x.add_(b), ...
        return x
    return fn


def in_place_chain(a, b, c):
    x = a * 1
    x += b
    x *= c
    x -= b
    x /= c
    return x


IN_PLACE = {"+=": np.add, "-=": np.subtract, "*=": np.multiply, "/=": np.divide,
            "add_": np.add, "sub_": np.subtract, "mul_": np.multiply, "div_": np.divide}


@pytest.mark.parametrize("op", list(IN_PLACE))
@pytest.mark.parametrize("ndim", ANY_RANK)
@FAST
@given(data=st.data())
def test_in_place_operator_while_recording(op, ndim, data):
    """x = a * 1; x OP= b with b broadcast against x: a and b get the gradient and the tangent of a OP b."""
    shape = data.draw(shapes(ndim))
    a, b = data.draw(values(shape)), data.draw(values(data.draw(broadcastable_to(shape))))
    b = nonzero(b) if op in ("/=", "div_") else b
    check_both_modes(data, in_place(op), lambda x, y: np.broadcast_to(IN_PLACE[op](x, y), shape), [a, b])


@pytest.mark.parametrize("ndim", ANY_RANK)
@FAST
@given(data=st.data())
def test_chain_of_in_place_operators_while_recording(ndim, data):
    """x = a * 1; x += b; x *= c; x -= b; x /= c is ((a + b) c - b) / c: all three get gradient and tangent."""
    shape = data.draw(shapes(ndim))
    a = data.draw(values(shape))
    b, c = (data.draw(values(data.draw(broadcastable_to(shape)))) for _ in range(2))
    check_both_modes(data, in_place_chain, lambda x, y, z: np.broadcast_to(((x + y) * z - y) / z, shape),
                     [a, b, nonzero(c)])


@FAST
@given(data=st.data())
def test_add_and_sub_with_alpha_in_place_while_recording(data):
    """x = a * 1; x.add_(b, alpha=2.5); x.sub_(b, alpha=0.5) is a + 2 b."""
    shape = data.draw(shapes(2))
    a, b = data.draw(values(shape)), data.draw(values(data.draw(broadcastable_to(shape))))

    def fn(a, b):
        x = a * 1
        x.add_(b, alpha=2.5)
        return x.sub_(b, alpha=0.5)
    check_both_modes(data, fn, lambda x, y: np.broadcast_to(x + 2 * y, shape), [a, b])


@FAST
@given(data=st.data())
def test_clamp_and_lerp_in_place_while_recording(data):
    """x = a * 1; x.clamp_(-0.5, 0.5); x.lerp_(b, 0.25) is clip(a) + 0.25 (b - clip(a)), a kept off the bounds."""
    shape = data.draw(shapes(2))
    a = on_band(data.draw(values(shape)), 0.1, 0.4)         # (at least 0.1 from every multiple of 0.5)
    b = data.draw(values(data.draw(broadcastable_to(shape))))

    def fn(a, b):
        x = a * 1
        x.clamp_(-0.5, 0.5)
        return x.lerp_(b, 0.25)
    check_both_modes(data, fn, lambda x, y: np.broadcast_to(0.75 * np.clip(x, -0.5, 0.5) + 0.25 * y, shape), [a, b])


@pytest.mark.parametrize("ndim", ANY_RANK)
@FAST
@given(data=st.data())
def test_copy_in_place_while_recording_sends_the_gradient_to_the_source(ndim, data):
    """x = a * 1 (a constant); x.copy_(b) with b broadcast to x's shape is b broadcast: b gets the
    gradient and the tangent of broadcast_to(b)."""
    shape = data.draw(shapes(ndim))
    a, b = data.draw(values(shape)), data.draw(values(data.draw(broadcastable_to(shape))))

    def fn(b):
        x = mg.tensor(a) * 1
        return x.copy_(b)
    check_both_modes(data, fn, lambda y: np.broadcast_to(y, shape), [b])


def test_logical_operators_of_bool_and_integer_tensors():
    """&, |, ^, ~, all and any as numpy computes them (no gradient: bool and integer tensors only)."""
    x = np.array([[0, 2, 5], [1, 3, 4]])
    p, q = x >= 1, x <= 4
    P, Q, X = mg.tensor(p), mg.tensor(q), mg.tensor(x)
    for got, expected in [(P & Q, p & q), (P | Q, p | q), (P ^ Q, p ^ q), (~P, ~p), (P & True, p & True),
                          (np.array(True) & P, p & True), (X & 6, x & 6), (~X, ~x), (P.all(), p.all()),
                          (P.all(dim=1), p.all(axis=1)), (Q.any(0, keepdim=True), q.any(axis=0, keepdims=True)),
                          (mg.all(X, 1), x.all(axis=1)), (mg.any(q), q.any())]:     # (mg.all, mg.any: torch.all)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got.data, expected)
    with pytest.raises(TypeError, match=r"bitwise_and \(&\): expected bool or integer tensors, got dtypes float32 and "
                                        r"float32"):
        mg.tensor([1.0]) & mg.tensor([1.0])
    with pytest.raises(TypeError, match=r"bitwise_not \(~\): expected a bool or integer tensor"):
        ~mg.tensor([1.0])


def test_bitwise_functions_of_bool_and_integer_tensors():
    """torch.bitwise_and, _or, _xor and _not as numpy's bitwise ufuncs, broadcast, as methods and functions
    (a numpy array or a number on either side): constants; a float tensor is refused by name."""
    x, y = np.array([[0, 2, 5], [1, 3, 4]]), np.array([6, -1, 3])
    X, Y = mg.tensor(x), mg.tensor(y)
    for got, expected in [(mg.bitwise_and(X, Y), x & y), (X.bitwise_or(Y), x | y), (mg.bitwise_xor(x, Y), x ^ y),
                          (X.bitwise_and(6), x & 6), (mg.bitwise_not(X), ~x), (mg.bitwise_not(X >= 2), ~(x >= 2)),
                          (mg.bitwise_xor(X > 1, X < 4), (x > 1) ^ (x < 4))]:
        assert got.dtype == expected.dtype and got.grad_fn is None
        np.testing.assert_array_equal(got.data, expected)
    with pytest.raises(TypeError, match="bitwise_or: expected bool or integer tensors, got dtypes float32 and int64"):
        mg.bitwise_or(mg.tensor([1.0]), Y)
    with pytest.raises(TypeError, match="bitwise_not: expected a bool or integer tensor, got dtype float32"):
        mg.tensor([1.0]).bitwise_not()


def test_logical_functions_of_any_dtype_give_bool_constants():
    """torch.logical_and, _or, _xor and _not as numpy's logical ufuncs of `entry != 0` (NaN counts as
    True), broadcast, as methods and functions: bool tensors without history."""
    x = np.array([[0.0, 2.5, np.nan], [-1.0, 0.0, 3.0]])
    k = np.array([1, 0, 7])
    t = mg.tensor(x, requires_grad=True)
    for name in ("and", "or", "xor"):
        expected = getattr(np, f"logical_{name}")(x != 0, k != 0)
        for got in (getattr(t, f"logical_{name}")(mg.tensor(k)), getattr(mg, f"logical_{name}")(x, k)):
            assert got.dtype == np.bool_ and not got.requires_grad and got.grad_fn is None
            np.testing.assert_array_equal(got.data, expected)
    np.testing.assert_array_equal(t.logical_not().data, x == 0)
    np.testing.assert_array_equal(mg.logical_not(mg.tensor(k)).data, k == 0)
    with pytest.raises(ValueError, match=r"logical_and: shapes \(2, 3\) and \(2,\) cannot be broadcast together"):
        t.logical_and(mg.tensor([True, False]))


@pytest.mark.parametrize("fill", [lambda x: x.fill_(0.5), lambda x: x.uniform_(0.5, 0.5),
                                  lambda x: x.normal_(0.5, 0.0), lambda x: x.random_(1, 2).mul_(0.5),
                                  lambda x: x.zero_().add_(0.5)],
                         ids=["fill_", "uniform_", "normal_", "random_", "zero_"])
def test_fills_make_the_tensor_a_constant(fill):
    """x = a * 1; x.fill_(0.5) (or uniform_(0.5, 0.5), normal_(0.5, 0), random_(1, 2) halved: degenerate
    draws, so the value is known; zero_() then add_(0.5)); y = x * b: y no longer depends on a (gradient 0 or none, tangent 0), and b gets the
    finite-difference gradient of 0.5 b, 0.5 summed."""
    rng = np.random.default_rng(2)
    a, b = (mg.tensor(rng.standard_normal(3), requires_grad=True) for _ in range(2))

    def fn(s, t):
        x = s * 1
        fill(x)
        return x * t
    fn(a, b).sum().backward()
    assert a.grad is None or not a.grad.any()
    np.testing.assert_allclose(b.grad, [0.5, 0.5, 0.5], rtol=1e-12)
    _, tangent = mg.jvp(fn, as_tensors([a.data, b.data]), [np.ones(3), np.zeros(3)])
    np.testing.assert_array_equal(tangent, np.zeros(3))


@pytest.mark.parametrize("fill", [lambda x: x.bernoulli_(0.5), lambda x: x.exponential_(2.0),
                                  lambda x: x.geometric_(0.5)], ids=["bernoulli_", "exponential_", "geometric_"])
def test_random_fills_make_the_tensor_a_constant(fill):
    """As above, for draws not known in advance: after the fill y = x * b no longer depends on a, and b's
    gradient is the drawn x (d(x b)/db = x)."""
    rng = np.random.default_rng(3)
    a, b = (mg.tensor(rng.standard_normal(3), requires_grad=True) for _ in range(2))
    drawn = []

    def fn(s, t):
        x = s * 1
        fill(x)
        drawn.append(x.data)
        return x * t
    fn(a, b).sum().backward()
    assert a.grad is None or not a.grad.any()
    np.testing.assert_array_equal(b.grad, drawn[0])
    _, tangent = mg.jvp(fn, as_tensors([a.data, b.data]), [np.ones(3), np.zeros(3)])
    np.testing.assert_array_equal(tangent, np.zeros(3))


def test_bernoulli_draws_are_constants():
    """mg.bernoulli(p) and p.bernoulli() of a p that requires grad: no history (PyTorch's gradient is 0)."""
    p = mg.tensor([0.2, 0.9], requires_grad=True)
    for draws in (mg.bernoulli(p), p.bernoulli(), mg.bernoulli(p, 0.5)):
        assert not draws.requires_grad and draws.grad_fn is None


# ---- astype / to between float32 and float64 --------------------------------------------------------

CONVERSIONS = {
    "to(dtype)": lambda t, dtype: t.to(dtype),
    "to(cpu, dtype)": lambda t, dtype: t.to("cpu", dtype),
    "to(dtype=)": lambda t, dtype: t.to(dtype=dtype),
    "type(dtype)": lambda t, dtype: t.type(dtype),
    "float()/double()": lambda t, dtype: t.float() if dtype == np.float32 else t.double(),
}


@pytest.mark.parametrize("form", list(CONVERSIONS))
@pytest.mark.parametrize("source, target", [(np.float64, np.float32), (np.float32, np.float64)])
def test_conversion_between_float32_and_float64(form, source, target):
    """y = convert(x): d/dx sum(R y^2) = 2 x R (closed form) arrives in x's dtype; J v = v arrives in
    y's dtype (exact from float32 up, rounded as the value is from float64 down)."""
    rng = np.random.default_rng(3)
    x, weights, v = rng.standard_normal((2, 3)).astype(source), rng.standard_normal((2, 3)), \
        rng.standard_normal((2, 3)).astype(source)
    convert = CONVERSIONS[form]
    t = mg.tensor(x, requires_grad=True, dtype=source)
    y = convert(t, target)
    assert y.dtype == target
    (y ** 2 * weights.astype(target)).sum().backward()
    assert t.grad.dtype == source
    np.testing.assert_allclose(t.grad, 2 * x.astype(np.float64) * weights, rtol=1e-5, atol=1e-6)
    output, tangent = mg.jvp(lambda s: convert(s, target), [mg.tensor(x, dtype=source)], [v])
    assert output.dtype == target and tangent.dtype == target
    np.testing.assert_array_equal(tangent, v.astype(target))


# ---- which composites this file covers -------------------------------------------------------

def public_functions(module):
    """The public functions a module defines itself (not those it imports)."""
    return sorted(name for name, value in vars(module).items()
                  if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_"))


# public function of ops/selecting.py: where this file checks it (a CASES row or a test here)
SELECTING = {
    "split": ["split(int size)", "split(lengths)", "test_split_under_jvp_gives_one_tangent_per_piece"],
    "chunk": ["chunk"],
    "unbind": ["unbind"],
    "index_select": ["index_select"],
    "gather": ["gather(dim, index)"],
    "masked_select": ["masked_select(broadcast mask)"],
    "repeat_interleave": ["repeat_interleave"],
    "unfold": ["unfold"],
    "flip": ["flip"],
    "roll": ["roll", "test_roll_of_a_0_d_tensor_and_its_errors"],
    "tril": ["tril"],
    "triu": ["triu"],
    "diag": ["diag", "test_diag_of_more_than_two_axes_or_a_non_integer_diagonal_is_refused"],
    "take_along_dim": ["take_along_dim"],
}

# public function of ops/expanding.py: where this file checks it
EXPANDING = {
    "expand": ["expand"],
    "expand_as": ["expand_as"],
    "repeat": ["repeat"],
    "meshgrid": ["meshgrid"],
}

# public function of ops/arithmetic.py: where this file checks it
ARITHMETIC = {
    "min": ["min()", "min(dim) values", "min(axis=0)"],
    "max_of": ["max(d) and min(d), .values"],
    "amax": ["amax"],
    "amin": ["amin"],
    "square": ["square"],
    "rsqrt": ["rsqrt"],
    "clamp": ["clamp(min only)", "clamp(max only)", "clamp(min, max)", "mg.clamp(min, max)"],
    "clamp_min": ["clamp_min", "clamp_min(tensor bound)"], "clamp_max": ["mg.clamp_max", "mg.clamp_max(tensor bound)"],
    "add": ["Tensor.add(alpha)", "mg.add(alpha)"],
    "sub": ["Tensor.sub(alpha)", "mg.sub(alpha)"],
    "divide": ["div(rounding_mode=None)", "test_rounded_division_passes_a_zero_gradient_and_tangent"],
    "add_": ["test_in_place_operator_while_recording", "test_add_and_sub_with_alpha_in_place_while_recording"],
    "sub_": ["test_in_place_operator_while_recording", "test_add_and_sub_with_alpha_in_place_while_recording"],
    "mul_": ["test_in_place_operator_while_recording"],
    "div_": ["test_in_place_operator_while_recording"],
    "copy_": ["test_copy_in_place_while_recording_sends_the_gradient_to_the_source"],
    "clamp_": ["test_clamp_and_lerp_in_place_while_recording"],
    "lerp_": ["test_clamp_and_lerp_in_place_while_recording"],
    "mm": ["test_mm_and_bmm_with_a_numpy_constant_operand"],
    "bmm": ["test_mm_and_bmm_with_a_numpy_constant_operand"],
    "outer": ["mg.outer", "Tensor.ger"],
    "addmm": ["addmm"],
    "addcmul": ["addcmul"],
    "addcdiv": ["addcdiv"],
    "diff": ["diff"],
}

# public function of ops/attributes.py: where this file checks it
ATTRIBUTES = {
    "type_": ["to(float64) on float64", "test_conversion_between_float32_and_float64"],
    "type_as": ["to(float64) on float64"],
}

# public function of ops/logical.py (bools out, no gradient): where this file checks it
LOGICAL = {
    "isnan": ["test_entrywise_tests_give_bool_constants"],
    "isinf": ["test_entrywise_tests_give_bool_constants"],
    "isfinite": ["test_entrywise_tests_give_bool_constants"],
    "invert": ["test_logical_operators_of_bool_and_integer_tensors"],
    **{name: ["test_bitwise_functions_of_bool_and_integer_tensors"]
       for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not")},
    "logical_and": ["test_logical_functions_of_any_dtype_give_bool_constants"],
    "logical_or": ["test_logical_functions_of_any_dtype_give_bool_constants"],
    "logical_xor": ["test_logical_functions_of_any_dtype_give_bool_constants"],
    "logical_not": ["test_logical_functions_of_any_dtype_give_bool_constants"],
    "equal": ["test_equal_as_a_method_and_a_function"],
    "isclose": ["test_isclose_and_count_nonzero_give_constants"],
}

# public function of ops/filling.py: where this file checks it
FILLING = {
    "masked_fill": ["masked_fill(broadcast mask)", "masked_fill(tensor value)"],
    "masked_fill_": ["masked_fill_ while recording"],
    "index_fill": ["index_fill"],
    "index_fill_": ["index_fill"],
    "scatter": ["scatter"],
    "scatter_": ["scatter"],
    "nonzero": ["test_nonzero_gives_positions_without_a_gradient"],
    "argwhere": ["test_searches_and_runs_give_int64_constants"],
    "nan_to_num": ["test_nan_to_num_replaces_as_pytorch_and_its_gradient_passes_only_where_an_entry_was_finite"],
    "fill_": ["test_fills_make_the_tensor_a_constant"],
    "zero_": ["test_fills_make_the_tensor_a_constant"],
    "uniform_": ["test_fills_make_the_tensor_a_constant"],
    "normal_": ["test_fills_make_the_tensor_a_constant"],
    "random_": ["test_fills_make_the_tensor_a_constant"],
    "bernoulli_": ["test_random_fills_make_the_tensor_a_constant"],
    "exponential_": ["test_random_fills_make_the_tensor_a_constant"],
    "geometric_": ["test_random_fills_make_the_tensor_a_constant"],
    "bernoulli": ["test_bernoulli_draws_are_constants"],
}

# public function of ops/sorting.py: where this file checks it
SORTING = {
    "topk": ["topk(largest)", "topk(smallest)"],
    "sort": ["sort values", "test_sort_and_argsort_keep_ties_in_their_order_as_numpy_s_stable_sort"],
    "argsort": ["test_sort_and_argsort_keep_ties_in_their_order_as_numpy_s_stable_sort"],
    "unique": ["test_unique_gives_sorted_distinct_constants_and_where_each_entry_went"],
    "bincount": ["test_bincount_counts_as_numpys_and_refuses_what_it_cannot_count"],
    "unique_consecutive": ["test_searches_and_runs_give_int64_constants"],
    "searchsorted": ["test_searches_and_runs_give_int64_constants"],
    "bucketize": ["test_searches_and_runs_give_int64_constants"],
}

# public function of ops/order_statistics.py: where this file checks it
ORDER_STATISTICS = {
    "cummax": ["cummax values"], "cummin": ["cummin values"], "median": ["median values", "median()"],
    "nanmedian": ["nanmedian values"], "kthvalue": ["kthvalue values"], "mode": ["mode values"],
    "quantile": ["quantile values"], "nanquantile": ["nanquantile values"], "aminmax": ["aminmax values"],
}

# public function of ops/methods.py with a gradient: where this file checks it
METHODS = {
    "squeeze": ["squeeze"], "unsqueeze": ["unsqueeze"], "flatten": ["flatten"], "t": ["t"],
    "permute": ["permute"], "movedim": ["movedim", "test_movedim_refuses_what_is_not_an_axis_naming_movedim"],
    "narrow": ["narrow"], "softmax": ["Tensor.softmax", "mg.softmax"], "dot": ["dot"], "view_as": ["view_as"],
    "reversed_along_first_axis": ["reversed"],
    "to": ["to(float64) on float64", "test_conversion_between_float32_and_float64"],
    "log_softmax_method": ["Tensor.log_softmax(dtype)"],
    "unflatten": ["unflatten"], "contiguous": ["contiguous"],
}
# ... and those without one (integers, bools, shapes, Python values, new constants)
COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}
METHODS_WITHOUT_GRADIENT = {"argmax", "argmin", "contains", "index", "iterate", "new", "new_full", "size"} | (
    COMPARISONS | {f"{name}_operator" for name in COMPARISONS} | {"new_tensor", "new_empty"})

# functional.__all__: the composites checked here, and the primitives checked in test_op_gradients.py
# and test_forward_mode.py
FUNCTIONAL = {
    "cross_entropy": ["test_cross_entropy_with_class_targets", "test_cross_entropy_with_probability_targets"],
    "dropout": ["test_dropout_in_training_mode", "test_dropout_off_is_the_identity"],
    "mse_loss": ["test_mse_loss_with_respect_to_the_prediction"],
    "l1_loss": ["test_regression_losses_with_respect_to_the_prediction"],
    "smooth_l1_loss": ["test_regression_losses_with_respect_to_the_prediction"],
    "huber_loss": ["test_regression_losses_with_respect_to_the_prediction"],
    "binary_cross_entropy_with_logits": ["test_binary_cross_entropy_with_logits_with_respect_to_the_logits"],
    "binary_cross_entropy": ["test_binary_cross_entropy_with_respect_to_the_probabilities"],
    "nll_loss": ["test_nll_loss"],
    "softmax": ["F.softmax", "F.softmax(axis)"],
    "gelu": ["F.gelu", "F.gelu(tanh)"],
    "pad": ["F.pad", "F.pad(mode)"],
    "instance_norm": ["F.instance_norm"],
    "bilinear": ["F.bilinear"],
    "pixel_shuffle": ["F.pixel_shuffle"],
    "pixel_unshuffle": ["F.pixel_unshuffle"],
    "conv_transpose1d": ["F.conv_transpose1d"],
    "conv_transpose2d": ["F.conv_transpose2d"],
    "conv_transpose3d": ["F.conv_transpose3d"],
    "channel_shuffle": ["F.channel_shuffle"],
    "interpolate": ["F.interpolate"],
    "upsample": ["F.interpolate"],             # (the deprecated spellings are interpolate after a warning:
    "upsample_nearest": ["F.interpolate"],     # test_resampling.py checks they agree)
    "upsample_bilinear": ["F.interpolate"],
    "unfold": ["F.unfold"],
    "fold": ["F.fold"],
    "dropout1d": ["test_channel_and_alpha_dropouts_in_training_mode"],
    "dropout2d": ["test_channel_and_alpha_dropouts_in_training_mode"],
    "dropout3d": ["test_channel_and_alpha_dropouts_in_training_mode"],
    "alpha_dropout": ["test_channel_and_alpha_dropouts_in_training_mode"],
    "feature_alpha_dropout": ["test_channel_and_alpha_dropouts_in_training_mode"],
    "gumbel_softmax": ["test_gumbel_softmax_with_a_fixed_generator"],
    "kl_div": ["F.kl_div"],
    "ctc_loss": ["F.ctc_loss"],
    **{name: [f"F.{name}"] for name in MARGIN_AND_LIKELIHOOD_LOSSES},
    "layer_norm": ["F.layer_norm"],
    "rms_norm": ["F.rms_norm"],
    "group_norm": ["F.group_norm"],
    "local_response_norm": ["F.local_response_norm"],
    "leaky_relu": ["F.leaky_relu", "F.leaky_relu(0.2)"],
    "rrelu": ["F.rrelu", "F.rrelu(training)"],
    "rrelu_": ["F.rrelu_"],
    "elu": ["F.elu", "F.elu(0.5)"],
    "selu": ["F.selu", "mg.selu"],
    "celu": ["F.celu(2)", "mg.celu(alpha=0.5)"],
    "silu": ["F.silu"],
    "mish": ["F.mish"],
    "softplus": ["F.softplus", "F.softplus(2, 3)"],
    "softsign": ["F.softsign"],
    "hardtanh": ["F.hardtanh", "F.hardtanh(-2, 0.5)"],
    "relu6": ["F.relu6"],
    "hardsigmoid": ["F.hardsigmoid"],
    "hardswish": ["F.hardswish"],
    "logsigmoid": ["F.logsigmoid"],
    "tanhshrink": ["F.tanhshrink"],
    "softshrink": ["F.softshrink", "F.softshrink(1)"],
    "hardshrink": ["F.hardshrink", "mg.hardshrink(lambd=1)", "Tensor.hardshrink", "Tensor.hardshrink(0.8)"],
    "threshold": ["F.threshold(0.5, -2)", "mg.threshold(-1, 3)"],
    "glu": ["F.glu"],
    "softmin": ["F.softmin"],
    "prelu": ["F.prelu", "mg.prelu", "Tensor.prelu"],
    "normalize": ["F.normalize"],
    "cosine_similarity": ["F.cosine_similarity", "mg.cosine_similarity"],
    "pairwise_distance": ["F.pairwise_distance", "mg.pairwise_distance"],
    "conv1d": ["F.conv1d"],
    "max_pool1d": ["F.max_pool1d"],
    "avg_pool1d": ["F.avg_pool1d"],
    "adaptive_max_pool1d": ["F.adaptive_max_pool1d"],
    "adaptive_avg_pool1d": ["F.adaptive_avg_pool1d"],
    "conv2d": ["F.conv2d"],
    "max_pool2d": ["F.max_pool2d"],
    "avg_pool2d": ["F.avg_pool2d"],
    "adaptive_max_pool2d": ["F.adaptive_max_pool2d"],
    "adaptive_avg_pool2d": ["F.adaptive_avg_pool2d"],
    **{name: ["test_3d_lp_and_unpooling_functions_gradient_and_tangent"] for name in POOLING_3D},
    "pdist": ["test_pdist_gradient_and_tangent"],
    "scaled_dot_product_attention": ["F.scaled_dot_product_attention"],
    "multi_head_attention_forward": ["F.multi_head_attention_forward"],
}
FUNCTIONAL_PRIMITIVES = {"linear", "log_softmax", "relu", "sigmoid", "tanh"}
FUNCTIONAL_WITHOUT_GRADIENT = {"one_hot"}      # integers out (test_pytorch_porting_3.py checks its values)

# public function of ops/reduce.py and ops/softmax.py that is a composite (the rest are primitives, rows of
# test_op_gradients.py, or give no tensor): where this file checks it
BESIDE_PRIMITIVES = {
    "var": ["var"],
    "std": ["std"],
    "logsumexp": ["logsumexp"],
    "logcumsumexp": ["logcumsumexp"],
    "extreme_and_index": ["min(dim) values"],        # (t.max(dim=) and t.min(dim=): the values at the indices)
    "extremes_along": ["max(d) and min(d), .values"],   # (t.max(d): the values, answering .values and .indices)
    "nansum": ["nansum"],
    "nanmean": ["nanmean"],
    "count_nonzero": ["test_isclose_and_count_nonzero_give_constants"],     # (int64 counts, no gradient)
    "logaddexp": ["logaddexp"],
    "logaddexp2": ["logaddexp2"],
    "var_mean": ["var_mean"],
    "std_mean": ["std_mean"],
}
PRIMITIVES_BESIDE = {"cumsum", "max", "mean", "norm", "sum", "log_softmax", "prod", "cumprod"}   # (prod, cumprod:
# ops/products.py)
HELPERS_BESIDE = {"reduced_axes", "in_given_dtype", "accumulated_dtype", "scanned"}    # (axes and dtypes checked; no tensor)


def test_isclose_and_count_nonzero_give_constants():
    """isclose: bools, |a - b| <= atol + rtol |b| (numpy's isclose); count_nonzero: int64 counts (numpy's
    count_nonzero). Neither is recorded: no gradient."""
    a = np.array([[1.0, 2.0, 0.0], [np.nan, 1e-9, -3.0]])
    x = mg.tensor(a, requires_grad=True)
    close = x.isclose(mg.tensor(a + 1e-6))
    assert close.dtype == np.bool_ and close.grad_fn is None and close.tolist() == np.isclose(a, a + 1e-6).tolist()
    counts = mg.count_nonzero(x, 1)
    assert counts.dtype == np.int64 and counts.grad_fn is None and counts.tolist() == [2, 3]


def test_pdist_gradient_and_tangent():
    """F.pdist(x, p): ||x_i - x_j||_p for each pair of rows i < j, in row-major order (more cases:
    test_shapes_products_and_indexing.py)."""
    rng = np.random.default_rng(5)
    for p in (1.0, 2.0, 3.0):
        def np_fn(a, p=p):
            first, second = np.triu_indices(len(a), 1)
            return (np.abs(a[first] - a[second]) ** p).sum(-1) ** (1 / p)
        x = rng.standard_normal((4, 3))
        assert_gradients_match(lambda t, p=p: F.pdist(t, p), np_fn, x)
        assert_tangents_match(lambda t, p=p: F.pdist(t, p), np_fn, [x], [rng.standard_normal((2, 4, 3))])


@pytest.mark.parametrize("name", sorted(POOLING_3D))
def test_3d_lp_and_unpooling_functions_gradient_and_tangent(name):
    """F.conv3d, the 3-d pools, the LP pools and max unpooling (test_pooling_3d.py: each row's numpy loop
    of PyTorch's definition): positive entries apart, so no ties and real roots."""
    fn, np_fn, shapes = POOLING_3D[name]
    arrays = [apart(shape, seed=19 + i) / 10 + 5.0 for i, shape in enumerate(shapes)]
    assert_gradients_match(fn, np_fn, *arrays)
    rng = np.random.default_rng(20)
    assert_tangents_match(fn, np_fn, arrays, [rng.standard_normal((2,) + a.shape) for a in arrays])


def test_movedim_refuses_what_is_not_an_axis_naming_movedim():
    t = mg.zeros((2, 3, 4))
    assert t.movedim(0, -1).shape == (3, 4, 2) and t.movedim((0, 1), (2, 0)).shape == (3, 4, 2)
    for source, destination in [(3, 0), (0, (1, 2)), ((0, 0), (1, 2)), ((0, 1), (2, 2)), (0.5, 1)]:
        with pytest.raises(ValueError, match=r"movedim: (source|repeated axis)"):
            t.movedim(source, destination)


def test_equal_as_a_method_and_a_function():
    """torch.equal and t.equal: True for the same shape and values (dtypes may differ), else False."""
    a = mg.tensor([[1.0, 2.0]])
    assert a.equal(mg.tensor([[1, 2]])) and mg.equal(a, np.array([[1.0, 2.0]]))
    assert not a.equal(mg.tensor([1.0, 2.0])) and not mg.equal(a, mg.tensor([[1.0, 2.5]]))


def test_every_public_composite_has_a_row_here():
    """Each public function of ops/selecting.py, expanding.py, arithmetic.py, attributes.py, logical.py,
    filling.py and sorting.py, each differentiable one of ops/methods.py and each composite of
    functional.__all__ is in a table above, and each points at a check in this file: a new composite
    cannot go without a gradient and tangent test."""
    assert public_functions(selecting) == sorted(SELECTING)
    assert public_functions(expanding) == sorted(EXPANDING)
    assert public_functions(arithmetic) == sorted(ARITHMETIC)
    assert public_functions(attributes) == sorted(ATTRIBUTES)
    assert public_functions(logical) == sorted(LOGICAL)
    assert public_functions(filling) == sorted(FILLING)
    assert public_functions(sorting) == sorted(SORTING)
    assert public_functions(order_statistics) == sorted(ORDER_STATISTICS)
    assert public_functions(methods_module) == sorted(set(METHODS) | METHODS_WITHOUT_GRADIENT)
    assert sorted(F.__all__) == sorted(set(FUNCTIONAL) | FUNCTIONAL_PRIMITIVES | FUNCTIONAL_WITHOUT_GRADIENT)
    assert FUNCTIONAL_PRIMITIVES <= set(mg.ops.__all__)
    beside = set(public_functions(reduce)) | set(public_functions(softmax)) | set(public_functions(products))
    assert sorted(beside) == sorted(set(BESIDE_PRIMITIVES) | PRIMITIVES_BESIDE | HELPERS_BESIDE)
    assert PRIMITIVES_BESIDE <= set(mg.ops.__all__)
    for table in (SELECTING, EXPANDING, ARITHMETIC, ATTRIBUTES, LOGICAL, FILLING, SORTING, METHODS, FUNCTIONAL,
                  BESIDE_PRIMITIVES, ORDER_STATISTICS):
        for name, checks in table.items():
            for check in checks:
                assert check in CASES or callable(globals().get(check)), f"{name}: no check named {check!r}"
