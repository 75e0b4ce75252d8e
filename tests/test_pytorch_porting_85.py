"""Porting, round 85: PYTORCH'S OWN TESTS OF JOINING, GATHERING AND SCATTERING -- the CPU tests of pytorch/pytorch's
test/test_scatter_gather_ops.py (commit 00d73471c2dc65d96b9e799ba1c62933d482c94b): test_gather, test_gather_bool,
test_gather_backward_with_empty_index_tensor, test_scatter_, test_scatter__scalar, test_scatter__reductions,
test_scatter_add_, test_scatter_add_mult_index_base, test_scatter_reduce_sum, _prod, _mean, _amax, _amin,
test_scatter_expanded_index, test_scatter_add_broadcasted_index_deterministic, test_gather_expanded_index;
test/test_tensor_creation_ops.py (commit 20f43ac258d25405127c49b89ffeb32a696cdb30): test_cat_empty_legacy,
test_cat_empty, test_cat_out_fast_path_dim0_dim1, test_cat2, test_stack, test_repeat_interleave, test_hsplit,
test_vsplit, test_dstack, test_hstack_column_stack, test_vstack_row_stack (a later version, whose commit the index
did not name, was read too), and test_cat_all_dtypes_and_devices, test_roll, test_triu_tril (commit
001d3e8c0b8d859b03f29320ec299dfc6212a885); test/test_torch.py (commit e121c6ea4c91fb2e6c506175cf9d87e512211afb):
test_index_fill, test_index_select, test_take, test_put, test_put_accumulate, test_take_empty, test_put_empty,
test_scatter_reduce_operations_to_large_input, test_scatter_reduce_scalar, test_scatter_reduce_non_unique_index,
test_scatter_to_large_input, test_scatter_add_to_large_input, test_scatter_bool, test_scatter_add_bool,
test_masked_scatter, test_masked_scatter_bool_tensor, test_masked_select, test_masked_select_discontiguous,
test_masked_fill, test_masked_fill_bool_tensor. No earlier round ported these (tests/ was grepped for each name;
rounds 30 and 32 ported the API docs' examples, 83 the sort/select and shape ops). Every test was read in the
index at the commit named; none was written from memory.

Each is written as PyTorch wrote it, with only the imports changed; `# differs:` marks every other change and why.
Throughout: TestCase methods become functions, `device` is the CPU (CUDA-only tests and branches are left out:
test_gather_large, test_scatter_add_large, the CuTeDSL scatter_add tests, test_cat_stack_cross_devices, test_cat,
test_cat_out_memory_format, test_masked_scatter_large_tensor, test_scatter_reduce_multiply_unsupported_dtypes);
`@dtypes` becomes a loop or parametrization over the dtypes the library has (no complex, bfloat16 or unsigned
16/32/64-bit tensors; float16 where the op takes it); `DeterministicGuard` has nothing to switch (numpy is
deterministic) so those loops run once; `self.assertEqual` of tensors becomes numpy's `assert_array_equal`
against values written in numpy (np.take, np.take_along_axis, np.add.at, np.triu, np.roll, np.hstack, ...) or by
hand, never against another value the library computed. Where PyTorch's expected value is a loop over its own
tensors, the loop runs here over numpy arrays. `out=` forms are left out (docs/api.md: ops take no `out=`), and so
are the stride, `data_ptr` and channels_last checks (layout is numpy's here: docs/pytorch.md). A wrong argument is
a ValueError/IndexError/TypeError here where PyTorch raises RuntimeError (docs/pytorch.md, "Errors"): such lines
assert the library's class and say so. `make_tensor(..., noncontiguous=True)` and `noncontiguous_like` are not here
(no strides to choose): those loops take the contiguous tensor and say so.
The gradients of the differentiable ones are checked against central differences in float64 at the end (not a
PyTorch test).

What broke (two gaps fixed):
  G1. `t.scatter_add_(0, torch.tensor((), dtype=torch.long), src)` (and scatter_reduce, and scatter(reduce=)) of a
      2-d t raised ValueError "src of shape (2, 2) does not cover index of shape (0,)" (_test_scatter_base's "Tests
      empty index"); PyTorch's scatter_shape_check returns at once for an empty index (ATen's
      ScatterGatherChecks.h: `if (index.numel() == 0) return;`). Now an empty index of any shape adds nothing
      (microgradseq/ops/scattering.py).
  G2. `torch.gather(input, dim, index, sparse_grad=False)` (test_gather_backward_with_empty_index_tensor) was a
      TypeError: gather took no `sparse_grad`. Now taken; with no sparse tensors the gradient is dense either way
      (microgradseq/ops/selecting.py; docs/pytorch.md).
  G3. `source.index_select(0, idx)` of a 0-d source (test_index_select's scalar cases) was an IndexError ("dim 0 is
      out of range for a tensor with 0 axes"); PyTorch takes a 0-d tensor as one axis of one entry. Now so, and
      the result stays 0-d (microgradseq/ops/selecting.py).
Left open (strict xfails, each in another helper's file or beyond this round's): an in-place triu_ makes a
transposed tensor contiguous (test_triu_tril's contiguity check); `torch.tile` was missing (added since);
`torch.cat` of 1-d empty tensors only, along dim 1, raises (test_cat_empty_legacy; ops/shape.py); scatter refuses a
position named twice even for equal values (test_scatter_bool; ops/assign.py); index_fill_ of a bool tensor takes
1 + 1j (test_index_fill).
"""

import random
from functools import partial
from itertools import product

import numpy as np
import pytest
from porting_references import arr

import microgradseq as torch
from microgradseq.testing import make_tensor

np_eq = np.testing.assert_array_equal


def a(t):
    """A tensor's values (or a gradient, a numpy array here) as a numpy array in its own dtype (arr: float64)."""
    return t if isinstance(t, np.ndarray) else t.detach().numpy()


def is_float(dtype):
    """differs: `dtype.is_floating_point` -- dtypes are numpy's here (docs/pytorch.md, "numpy underneath")."""
    return np.dtype(dtype).kind == "f"


def np_gather(src, idx, dim):
    """differs: gather in numpy: take_along_axis on src cut to idx's extent off `dim` (numpy's would broadcast)."""
    return np.take_along_axis(src[tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(idx.shape))],
                              idx, dim)


def np_dtype(dtype):
    return a(torch.zeros(1, dtype=dtype)).dtype


# ---- test_scatter_gather_ops.py ---------------------------------------------------------------------------------

# Fills an index tensor with valid indices
def _fill_indices(idx, dim, dim_size, elems_per_row, m, n, o, unique_indices=True):
    for i in range(1 if dim == 0 else m):
        for j in range(1 if dim == 1 else n):
            for k in range(1 if dim == 2 else o):
                ii = [i, j, k]
                ii[dim] = slice(0, idx.size(dim) + 1)
                if unique_indices:
                    idx[tuple(ii)] = torch.randperm(dim_size)[0:elems_per_row]
                else:
                    idx[tuple(ii)] = torch.randint(dim_size, (elems_per_row,))


GATHER_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


@pytest.mark.parametrize("dtype", GATHER_DTYPES)
def test_gather(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    m, n, o = random.randint(10, 20), random.randint(10, 20), random.randint(10, 20)
    elems_per_row = random.randint(1, 10)
    dim = random.randrange(3)

    src = make_tensor((m, n, o), device=device, dtype=dtype)
    idx_size = [m, n, o]
    idx_size[dim] = elems_per_row
    idx = make_tensor(idx_size, device=device, dtype=torch.long)
    _fill_indices(idx, dim, src.size(dim), elems_per_row, m, n, o)

    actual = torch.gather(src, dim, idx)
    # differs: the expected loop runs over numpy arrays
    src_np, idx_np = a(src), a(idx)
    expected = np.zeros(idx_size, dtype=src_np.dtype)
    for i in range(idx_size[0]):
        for j in range(idx_size[1]):
            for k in range(idx_size[2]):
                ii = [i, j, k]
                ii[dim] = idx_np[i, j, k]
                expected[i, j, k] = src_np[tuple(ii)]
    np_eq(a(actual), expected)

    # Guarded because torch.max isn't defined for complex or barebones
    # unsigned tensors.
    max_unsupported = False             # differs: no complex or uint16/32/64 tensors here
    if not max_unsupported:
        src = make_tensor((3, 4, 5), device=device, dtype=dtype)
        # differs: dim= by keyword: a positional t.max(d) is numpy's max here (docs/pytorch.md)
        expected, idx = src.max(dim=2, keepdim=True)
        actual = torch.gather(src, 2, idx)
        np_eq(a(actual), a(expected))
        np_eq(a(actual), np.max(a(src), axis=2, keepdims=True))      # differs: and against numpy's max


def test_gather_bool():
    device, dtype = 'cpu', torch.bool
    src = torch.tensor(((False, True), (True, True)), device=device, dtype=dtype)
    idx = torch.tensor(((0, 0), (1, 0)), device=device, dtype=torch.long)
    actual = torch.gather(src, 1, idx)
    expected = torch.tensor(((False, False), (True, True)), device=device, dtype=dtype)
    np_eq(a(actual), a(expected))


@pytest.mark.parametrize("sparse_grad", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gather_backward_with_empty_index_tensor(dtype, sparse_grad):
    device, dtype = 'cpu', getattr(torch, dtype)
    dim = -1
    input = torch.rand([10, 5], dtype=dtype, device=device, requires_grad=True)
    index = torch.randint(0, 2, [3, 0], dtype=torch.int64, device=device)
    res = torch.gather(input, dim, index, sparse_grad=sparse_grad)
    res.sum().backward()
    grad = input.grad       # differs: no .to_dense(): the gradient is a dense numpy array either way (docs/pytorch.md)
    expected_grad = torch.zeros_like(input, requires_grad=False)
    np_eq(a(grad), a(expected_grad))
    np_eq(a(grad), np.zeros((10, 5)))                   # differs: and against numpy's zeros


def _np_scatter_expected(fn_name, base, dim, idx, src, is_scalar, reduction, include_self):
    """differs: _test_scatter_base's expected-value loop, over numpy arrays (int64 for the small integers, as
    PyTorch's `use_int64_expected`); returns (expected, counts)."""
    use_int64_expected = base.dtype in (np.int8, np.int16, np.int32) and reduction in {
        "add", "sum", "multiply", "prod", "mean"}
    expected = base.astype(np.int64) if use_int64_expected else base.copy()
    counts = np.zeros(base.shape, dtype=np.int64) + include_self
    with np.errstate(over="ignore"):    # uint8 wraps around, in PyTorch's uint8 too
        _np_scatter_loop(fn_name, expected, counts, dim, idx, src, is_scalar, reduction, include_self,
                         use_int64_expected)
    return expected, counts, use_int64_expected


def _np_scatter_loop(fn_name, expected, counts, dim, idx, src, is_scalar, reduction, include_self,
                     use_int64_expected):
    for i in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            for k in range(idx.shape[2]):
                ii = [i, j, k]
                ii[dim] = idx[i, j, k]
                ii = tuple(ii)
                if fn_name == "scatter_add_":
                    expected[ii] += src[i, j, k]
                else:
                    value = src if is_scalar else src[i, j, k]
                    if use_int64_expected:
                        value = int(value)
                    if (not include_self) and counts[ii] == 0:
                        expected[ii] = value
                    else:
                        if reduction == "add" or reduction == "sum":
                            expected[ii] += value
                        elif reduction == "multiply" or reduction == "prod":
                            expected[ii] *= value
                        elif reduction == "amax":
                            expected[ii] = max(expected[ii], value)
                        elif reduction == "amin":
                            expected[ii] = min(expected[ii], value)
                        elif reduction == "mean":
                            expected[ii] += value
                        else:
                            expected[ii] = value
                    counts[ii] += 1


def _test_scatter_base(fn, *, device, dtype, is_scalar, reduction, unique_indices=True, include_self=True):
    m, n, o = random.randint(10, 20), random.randint(10, 20), random.randint(10, 20)
    elems_per_row = random.randint(1, 10)
    dim = random.randrange(3)

    idx_size = [m, n, o]
    idx_size[dim] = elems_per_row
    idx = torch.empty(tuple(idx_size), device=device, dtype=torch.long)
    _fill_indices(idx, dim, ([m, n, o])[dim], elems_per_row, m, n, o, unique_indices)

    if is_scalar:
        src = random.random()
    else:
        src_size = [random.randint(1, 5) + s for s in idx_size]
        src = make_tensor(tuple(src_size), device=device, dtype=dtype)

    base = make_tensor((m, n, o), device=device, dtype=dtype)
    # differs: the expected loop over numpy arrays (see _np_scatter_expected)
    src_np = src if is_scalar else a(src)
    if is_scalar and is_float(base.dtype):
        src_np = np.asarray(src, dtype=a(base).dtype)   # differs: the number as the tensor's dtype takes it
    expected, counts, use_int64_expected = _np_scatter_expected(
        fn.__name__, a(base), dim, a(idx), src_np, is_scalar, reduction, include_self)

    if use_int64_expected:
        iinfo = np.iinfo(a(base).dtype)
        if ((expected < iinfo.min) | (expected > iinfo.max)).any():
            return          # differs: PyTorch skips the case (self.skipTest); here the test goes on to the others
        expected = expected.astype(a(base).dtype)

    if (reduction == "mean"):
        counts[counts == 0] = 1
        if is_float(base.dtype):
            expected /= counts
        else:
            expected = np.floor_divide(expected, counts).astype(expected.dtype)

    # note: only call `fn` once we know expected values in `base`
    # are safe from signed overflow (UB). Otherwise, test is skipped above
    if reduction is not None:
        if fn is torch.Tensor.scatter_reduce_:
            actual = fn(base.clone(), dim, idx, src, reduce=reduction, include_self=include_self)
        else:
            actual = fn(base.clone(), dim, idx, src, reduce=reduction)
    else:
        actual = fn(base.clone(), dim, idx, src)

    if dtype == torch.float16:
        np.testing.assert_allclose(a(actual), expected, atol=0.04, rtol=0.05)
    elif is_float(base.dtype) and reduction in ("add", "sum", "multiply", "prod", "mean") or (
            is_float(base.dtype) and fn.__name__ == "scatter_add_"):
        # differs: sums and products in another order than the loop's round differently in float32
        np.testing.assert_allclose(a(actual), expected, rtol=1e-5, atol=1e-5)
    else:
        np_eq(a(actual), expected)

    # Tests empty index
    dst = make_tensor((2, 2), device=device, dtype=dtype)
    idx = torch.tensor((), device=device, dtype=torch.long)
    src = make_tensor((2, 2), device=device, dtype=dtype)
    if reduction is not None:
        actual = fn(dst, 0, idx, src, reduce=reduction)
    else:
        actual = fn(dst, 0, idx, src)
    np_eq(a(actual), a(dst))


@pytest.mark.parametrize("dtype", ["float16", "float32"])      # differs: no complex64
def test_scatter_(dtype):
    for deterministic in [False]:       # differs: no DeterministicGuard (numpy is deterministic): one pass
        _test_scatter_base(torch.Tensor.scatter_, device='cpu', dtype=getattr(torch, dtype),
                           is_scalar=False, reduction=None)


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_scatter__scalar(dtype):
    _test_scatter_base(torch.Tensor.scatter_, device='cpu', dtype=getattr(torch, dtype),
                       is_scalar=True, reduction=None)


@pytest.mark.parametrize("dtype", ["float16", "float32"])
@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter__reductions(dtype):
    dtype = getattr(torch, dtype)
    for reduction in ("add", "multiply"):
        _test_scatter_base(torch.Tensor.scatter_, device='cpu', dtype=dtype,
                           is_scalar=False, reduction=reduction)
        _test_scatter_base(torch.Tensor.scatter_, device='cpu', dtype=dtype,
                           is_scalar=True, reduction=reduction)


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_scatter_add_(dtype):
    for deterministic in [False]:       # differs: no DeterministicGuard: one pass
        _test_scatter_base(torch.Tensor.scatter_add_, device='cpu', dtype=getattr(torch, dtype),
                           is_scalar=False, reduction=None)


def test_scatter_add_mult_index_base():
    device, dtype = 'cpu', torch.float32
    for deterministic in [False]:       # differs: no DeterministicGuard: one pass
        m, n = 30, 40
        idx = torch.zeros(m, n, device=device, dtype=torch.long)
        src = torch.ones(m, n, device=device, dtype=dtype)
        res0 = torch.zeros(m, n, device=device, dtype=dtype).scatter_add_(0, idx, src)
        res1 = torch.zeros(m, n, device=device, dtype=dtype).scatter_add_(1, idx, src)

        np_eq(a(res0[0, :]), a(m * torch.ones(n, device=device, dtype=dtype)))
        np_eq(a(res1[:, 0]), a(n * torch.ones(m, device=device, dtype=dtype)))
        np_eq(a(res0[0, :]), np.full(n, m, dtype=np.float32))     # differs: and against numpy's
        np_eq(a(res1[:, 0]), np.full(m, n, dtype=np.float32))


REDUCE_DTYPES = ["uint8", "int8", "int16", "int32", "int64", "float32", "float64"]   # differs: no half/bf16/complex


@pytest.mark.parametrize("dtype", REDUCE_DTYPES)
def test_scatter_reduce_sum(dtype):
    for include_self in (True, False):
        _test_scatter_base(torch.Tensor.scatter_reduce_, device='cpu', dtype=getattr(torch, dtype),
                           is_scalar=False, reduction='sum', unique_indices=False, include_self=include_self)


# differs: int8, int16 and int32 left out of prod: their products overflow, and PyTorch skips such a case
@pytest.mark.parametrize("dtype", ["uint8", "int64", "float32", "float64", "bool"])
def test_scatter_reduce_prod(dtype):
    for include_self in (True, False):
        _test_scatter_base(torch.Tensor.scatter_reduce_, device='cpu', dtype=getattr(torch, dtype),
                           is_scalar=False, reduction='prod', unique_indices=False, include_self=include_self)


@pytest.mark.parametrize("dtype", REDUCE_DTYPES)
def test_scatter_reduce_mean(dtype):
    for include_self in (True, False):
        _test_scatter_base(torch.Tensor.scatter_reduce_, device='cpu', dtype=getattr(torch, dtype),
                           is_scalar=False, reduction='mean', unique_indices=False, include_self=include_self)


@pytest.mark.parametrize("dtype", REDUCE_DTYPES + ["bool"])
def test_scatter_reduce_amax(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    for include_self in (True, False):
        _test_scatter_base(torch.Tensor.scatter_reduce_, device=device, dtype=dtype,
                           is_scalar=False, reduction='amax', unique_indices=False, include_self=include_self)
        # simple test for nan/inf propagation
        if (is_float(dtype)):
            input = torch.zeros(3, device=device, dtype=dtype)
            src = torch.tensor([1, float('nan'), -float('inf'), -float('inf'), 2, float('inf')], device=device,
                               dtype=dtype)
            idx = torch.tensor([0, 0, 1, 1, 2, 2], device=device)
            input.scatter_reduce_(0, idx, src, 'amax', include_self=include_self)
            expected_result = torch.tensor([float('nan'), -float('inf'), float('inf')], device=device, dtype=dtype)
            if (include_self):
                expected_result[1] = 0
            np_eq(a(input), a(expected_result))
            np_eq(a(input), [np.nan, 0 if include_self else -np.inf, np.inf])     # differs: and by hand


@pytest.mark.parametrize("dtype", REDUCE_DTYPES + ["bool"])
def test_scatter_reduce_amin(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    for include_self in (True, False):
        _test_scatter_base(torch.Tensor.scatter_reduce_, device=device, dtype=dtype,
                           is_scalar=False, reduction='amin', unique_indices=False, include_self=include_self)
        # simple test for nan/inf propagation
        if (is_float(dtype)):
            input = torch.zeros(3, device=device, dtype=dtype)
            src = torch.tensor([1, float('nan'), -2, -float('inf'), float('inf'), float('inf')], device=device,
                               dtype=dtype)
            idx = torch.tensor([0, 0, 1, 1, 2, 2], device=device)
            input.scatter_reduce_(0, idx, src, 'amin', include_self=include_self)
            expected_result = torch.tensor([float('nan'), -float('inf'), float('inf')], device=device, dtype=dtype)
            if (include_self):
                expected_result[2] = 0
            np_eq(a(input), a(expected_result))
            np_eq(a(input), [np.nan, -np.inf, 0 if include_self else np.inf])     # differs: and by hand


def _np_scatter_reduce(base, dim, idx, src, reduce, include_self):
    """differs: numpy's value of scatter_reduce (the loop of _test_scatter_base, for a 3-d or n-d index)."""
    out = base.astype(np.float64)
    count = np.zeros(base.shape, dtype=np.int64) + include_self
    for pos in np.ndindex(idx.shape):
        target = list(pos)
        target[dim] = idx[pos]
        target = tuple(target)
        value = float(src[pos])
        if not include_self and count[target] == 0:
            out[target] = value
        elif reduce in ("sum", "mean"):
            out[target] += value
        elif reduce == "prod":
            out[target] *= value
        elif reduce == "amax":
            out[target] = max(out[target], value)
        else:
            out[target] = min(out[target], value)
        count[target] += 1
    if reduce == "mean":
        out = out / np.maximum(count, 1)
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])      # differs: no bfloat16; float16 left out (slow)
def test_scatter_expanded_index(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)

    def helper(input_size, idx_size):
        input = torch.randn(input_size, device=device).to(dtype=dtype)
        input2 = input.clone()

        shape = [1] * len(input_size)
        shape[0] = idx_size
        dim_size = input_size[0]
        idx = torch.randint(0, dim_size, shape)

        # The fast path on scatter when index is expanded
        # will depend on sorted index where the collected src indice
        # for each row in input will be mapped to rowptrs in a CSR format.
        # Create some empty rows by masking:
        mask = (idx > 1) * (idx < 4)
        idx[mask] = 0

        expanded_shape = input_size
        expanded_shape[0] = idx_size
        idx = idx.expand(expanded_shape)
        idx2 = idx.contiguous()
        src = torch.randn(expanded_shape, device=device).to(dtype=dtype)

        out = input.scatter_add(0, idx, src)
        out2 = input2.scatter_add(0, idx2, src)
        np_eq(a(out), a(out2))
        np.testing.assert_allclose(a(out), _np_scatter_reduce(a(input), 0, a(idx), a(src), "sum", True),
                                   rtol=1e-5, atol=1e-5)        # differs: and against numpy's loop

        for reduce in ["sum", "prod", "mean", "amax", "amin"]:
            for include_self in [True, False]:
                out = input.scatter_reduce(0, idx, src, reduce=reduce, include_self=include_self)
                out2 = input2.scatter_reduce(0, idx2, src, reduce=reduce, include_self=include_self)
                np_eq(a(out), a(out2))
                np.testing.assert_allclose(a(out), _np_scatter_reduce(a(input), 0, a(idx), a(src), reduce,
                                                                      include_self), rtol=1e-5, atol=1e-5)

    helper([50, 17], 100)
    helper([50, 1], 100)
    helper([50, 8, 7], 100)
    helper([50, 3, 4, 5], 100)


def test_scatter_add_broadcasted_index_deterministic():
    device, dtype = 'cpu', torch.float32
    for d in (0, 1):
        inp = torch.randn(3, 4, 5, device=device, dtype=dtype)
        idx_1d = torch.randint(3, (10,), device=device)
        src_shape = list(inp.shape)
        src_shape[d] = 10
        src = torch.randn(src_shape, device=device, dtype=dtype)
        idx_view_shape = [1] * inp.ndim
        idx_view_shape[d] = 10
        idx = idx_1d.view(idx_view_shape).expand(src_shape)
        ref = inp.clone().scatter_add_(d, idx, src)
        res = inp.clone().scatter_add_(d, idx, src)     # differs: no DeterministicGuard
        np_eq(a(res), a(ref))
        np.testing.assert_allclose(a(res), _np_scatter_reduce(a(inp), d, a(idx), a(src), "sum", True),
                                   rtol=1e-5, atol=1e-6)        # differs: and against numpy's loop


@pytest.mark.parametrize("dtype", ["float32", "float64"])      # differs: no bfloat16
def test_gather_expanded_index(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    # Test when index is [N, 1], which would have stride [1, 0]
    # should be excluded from the fast path when index ix expanded
    input = torch.arange(25).view(5, 5)
    input2 = input.to(dtype=dtype)

    idx = torch.arange(5).view(5, 1)
    out = torch.gather(input, 0, idx)
    out2 = torch.gather(input2, 0, idx)

    np_eq(a(out.to(dtype=dtype)), a(out2))
    np_eq(a(out), np_gather(np.arange(25).reshape(5, 5), np.arange(5).reshape(5, 1), 0))   # differs: and numpy

    def helper(input_size, idx_size):
        input = torch.randn(input_size, device=device).to(dtype=dtype)
        input2 = input.clone()

        shape = [1] * len(input_size)
        shape[0] = idx_size
        dim_size = input_size[0]
        idx = torch.randint(0, dim_size, shape)

        # Test the fast path on gather when index is expanded
        expanded_shape = input_size
        expanded_shape[0] = idx_size
        idx = idx.expand(expanded_shape)
        idx2 = idx.contiguous()

        out = torch.gather(input, 0, idx)
        out2 = torch.gather(input2, 0, idx2)

        np_eq(a(out), a(out2))
        np_eq(a(out), np_gather(a(input), a(idx), 0))          # differs: and against numpy's

        # test unsqueezed index
        # expanded_index kernel can not handle the case:
        # the size > 1 and stride == 1 at a dimension.
        # for example: the index with size of [1, 8, 7],  stride of [1, 1, 0].
        # see https://github.com/pytorch/pytorch/issues/129093
        def unsqueeze_helper(idx, dim):
            if dim == 2:
                return idx.unsqueeze(1).t()
            else:
                return unsqueeze_helper(idx, dim - 1).unsqueeze(dim - 1)

        idx = torch.randint(0, dim_size, (input.shape[1],))
        idx = unsqueeze_helper(idx, len(input_size))
        expanded_shape[0] = 1
        idx = idx.expand(expanded_shape)
        idx2 = idx.contiguous()
        out = torch.gather(input, 0, idx)
        out2 = torch.gather(input2, 0, idx2)
        np_eq(a(out), a(out2))
        np_eq(a(out), np_gather(a(input), a(idx), 0))          # differs: and against numpy's

    helper([50, 17], 100)
    helper([50, 1], 100)
    helper([50, 8, 7], 100)
    helper([50, 3, 4, 5], 100)


# ---- test_tensor_creation_ops.py ------------------------------------------------------------------------------

ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def test_cat_all_dtypes_and_devices():
    device = 'cpu'
    for dt in [getattr(torch, name) for name in ALL_DTYPES]:    # differs: the library's dtypes
        x = torch.tensor([[1, 2], [3, 4]], dtype=dt, device=device)

        expected1 = torch.tensor([[1, 2], [3, 4], [1, 2], [3, 4]], dtype=dt, device=device)
        np_eq(a(torch.cat((x, x), 0)), a(expected1))
        assert torch.cat((x, x), 0).dtype == dt                 # differs: assertEqual checks the dtype too

        expected2 = torch.tensor([[1, 2, 1, 2], [3, 4, 3, 4]], dtype=dt, device=device)
        np_eq(a(torch.cat((x, x), 1)), a(expected2))
        np_eq(a(torch.cat((x, x), 1)), np.concatenate([a(x), a(x)], 1))    # differs: and against numpy's


def test_roll():
    device = 'cpu'
    numbers = torch.arange(1, 9, device=device)

    single_roll = numbers.roll(1, 0)
    expected = torch.tensor([8, 1, 2, 3, 4, 5, 6, 7], device=device)
    np_eq(a(single_roll), a(expected), err_msg="{} did not equal expected result".format(single_roll))

    roll_backwards = numbers.roll(-2, 0)
    expected = torch.tensor([3, 4, 5, 6, 7, 8, 1, 2], device=device)
    np_eq(a(roll_backwards), a(expected), err_msg="{} did not equal expected result".format(roll_backwards))

    data = numbers.view(2, 2, 2)
    rolled = data.roll(1, 0)
    expected = torch.tensor([5, 6, 7, 8, 1, 2, 3, 4], device=device).view(2, 2, 2)
    np_eq(a(expected), a(rolled), err_msg="{} did not equal expected result: {}".format(rolled, expected))

    data = data.view(2, 4)
    # roll a loop until back where started
    loop_rolled = data.roll(2, 0).roll(4, 1)
    np_eq(a(data), a(loop_rolled), err_msg="{} did not equal the original: {}".format(loop_rolled, data))
    # multiple inverse loops
    np_eq(a(data), a(data.roll(-20, 0).roll(-40, 1)))
    np_eq(a(torch.tensor([8, 1, 2, 3, 4, 5, 6, 7], device=device)), a(numbers.roll(1, 0)))

    # test non-contiguous
    # strided equivalent to numbers.as_strided(size=(4, 2), stride=(1, 4))
    strided = numbers.view(2, 4).transpose(0, 1)
    assert not strided.is_contiguous(), "this test needs a non-contiguous tensor"
    expected = torch.tensor([4, 8, 1, 5, 2, 6, 3, 7]).view(4, 2)
    rolled = strided.roll(1, 0)
    np_eq(a(expected), a(rolled),
          err_msg="non contiguous tensor rolled to {} instead of {} ".format(rolled, expected))

    # test roll with no dimension specified
    expected = numbers.roll(1, 0).view(2, 4)
    np_eq(a(expected), a(data.roll(1)), err_msg="roll with no dims should flatten and roll.")
    np_eq(a(expected), a(data.roll(1, dims=None)), err_msg="roll with no dims should flatten and roll.")
    np_eq(a(data.roll(1)), np.roll(np.arange(1, 9).reshape(2, 4), 1))     # differs: and against numpy's

    # test roll over multiple dimensions
    expected = torch.tensor([[7, 8, 5, 6], [3, 4, 1, 2]], device=device)
    double_rolled = data.roll(shifts=(2, -1), dims=(1, 0))
    np_eq(a(double_rolled), a(expected),
          err_msg="should be able to roll over two dimensions, got {}".format(double_rolled))

    # differs: TypeError (empty shifts) and ValueError (shifts and dims that do not align) where PyTorch
    # raises RuntimeError ("required", "align"): docs/pytorch.md, "Errors"
    with pytest.raises(TypeError, match="shifts"):
        data.roll(shifts=(), dims=())
    with pytest.raises(TypeError, match="shifts"):
        data.roll(shifts=(), dims=1)
    # shifts/dims should align
    with pytest.raises(ValueError, match="same length"):
        data.roll(shifts=(1, 2), dims=(1,))
    with pytest.raises(ValueError, match="same length"):
        data.roll(shifts=(1,), dims=(1, 2))

    # test bool tensor
    t = torch.zeros(6, dtype=torch.bool, device=device)
    t[0] = True
    t[3] = True
    np_eq(a(torch.tensor([False, True, False, False, True, False])), a(t.roll(1, 0)))

    # differs: "test complex tensor" left out (no complex tensors)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_triu_tril(dtype):
    device = 'cpu'

    def gen_mask(shape, diagonal, device, upper):
        # differs: the mask is a numpy array, broadcast (np.broadcast_to) to the shape
        mask = np.zeros(shape[-2:], dtype=np.uint8)
        for i in range(shape[-2]):
            for j in range(shape[-1]):
                cond = j - i < diagonal if upper else j - i > diagonal
                if cond:
                    mask[i, j] = 1
        return np.broadcast_to(mask, shape)

    torch_functions = {True: torch.triu, False: torch.tril}
    numpy_functions = {True: np.triu, False: np.tril}

    # differs: bool_half_compat_where is numpy's np.where on the numpy mask, the expected value written in numpy
    def bool_half_compat_where(pred, true_value, false_tensor):
        return np.where(pred.astype(bool), np.zeros((), a(false_tensor).dtype), a(false_tensor))

    def run_test(shape, device, diagonal, dtype):
        x = torch.empty(*shape, device=device, dtype=dtype).fill_(2)

        for upper in [True, False]:
            # normal test with mask
            torch_tri_func = torch_functions[upper]
            res1 = torch_tri_func(x, diagonal=diagonal)
            # differs: res2 (out=) left out
            exp_mask = gen_mask(shape, diagonal, device, upper)
            expected = bool_half_compat_where(exp_mask, 0, x)
            np_eq(expected, a(res1))

            # non-contiguous and expanded tensors test
            if 0 not in shape:
                for s in range(-len(shape), -1):
                    # non-contiguous tensors
                    x_nc = x.clone().transpose(s, s + 1)
                    exp_mask = gen_mask(x_nc.size(), diagonal, device, upper)
                    if 1 not in shape:
                        assert not x_nc.is_contiguous(), "x is intentionally non-contiguous"
                    exp_nc = bool_half_compat_where(exp_mask, 0, x_nc)
                    np_eq(a(torch_tri_func(x_nc, diagonal)), exp_nc)
                    x_nc_is_contiguous = x_nc.is_contiguous()
                    if upper:
                        np_eq(a(x_nc.triu_(diagonal)), exp_nc)
                    else:
                        np_eq(a(x_nc.tril_(diagonal)), exp_nc)

                    # differs: the contiguity check left out: an in-place op here leaves a transposed tensor
                    # contiguous (test_gap_in_place_triu_keeps_a_transposed_tensor_non_contiguous, a strict xfail)
                    del x_nc_is_contiguous

                # expanded tensors
                expanded_size = (x.size(0),) + x.size()
                x_expanded = x.clone().expand(*expanded_size)
                # differs: the stride checks (0 in x_expanded.stride()) left out: numpy's layout
                output = torch_tri_func(x_expanded, diagonal)
                np_eq(a(output), np.broadcast_to(expected, expanded_size))
                # differs: triu_/tril_ into the expanded tensor left out: writing into an expand is refused here
                # (docs/pytorch.md: an expand is a read-only view), where PyTorch writes each shared entry

            # numpy test
            numpy_tri_func = numpy_functions[upper]
            np_eq(numpy_tri_func(a(x), diagonal), a(res1))

    diagonals = [-2, -1, 0, 1, 2]
    shapes = [(3, 3), (5, 3, 3), (7, 5, 3, 3),  # square matrices
              (7, 3), (5, 7, 3), (7, 5, 7, 3),  # fat matrices
              (3, 7), (5, 3, 7), (7, 5, 3, 7),  # thin matrices
              (3, 0), (0, 3, 3), (3, 3, 0, 0),  # no numel matrices
              (3, 1), (5, 3, 1), (7, 5, 3, 1),  # very fat matrices
              (1, 3), (5, 1, 3), (7, 5, 1, 3),  # very thin matrices
              (1, 3, 3, 3), (3, 1, 3, 3, 3)]    # unsqueezed batch dimensions
    for s, d in product(shapes, diagonals):     # differs: the dtype loop is the parametrization
        run_test(s, device, d, getattr(torch, dtype))


def test_cat_empty_legacy():
    # FIXME: this is legacy behavior and should be removed
    # when we support empty tensors with arbitrary sizes
    device, dtype = 'cpu', torch.float32

    x = torch.randn((4, 3, 32, 32), dtype=dtype, device=device)
    empty = torch.randn((0,), dtype=dtype, device=device)

    res1 = torch.cat([x, empty], dim=1)
    res2 = torch.cat([empty, x], dim=1)
    np_eq(a(res1), a(res2))
    np_eq(a(res1), a(x))                # differs: and both x itself (the 1-d empty tensor is skipped)

    # differs: cat([empty, empty], dim=1) left out here: a ValueError in the library (the strict xfail
    # test_gap_cat_of_legacy_empty_tensors_only_along_dim_1)


def test_cat_empty():
    device, dtype = 'cpu', torch.float32

    x = torch.randn((4, 3, 32, 32), dtype=dtype, device=device)
    empty = torch.randn((4, 0, 32, 32), dtype=dtype, device=device)

    res1 = torch.cat([x, empty], dim=1)
    res2 = torch.cat([empty, x], dim=1)
    np_eq(a(res1), a(res2))
    np_eq(a(res1), a(x))                # differs: and both x itself

    res1 = torch.cat([empty, empty], dim=1)
    np_eq(a(res1), a(empty))
    assert res1.shape == (4, 0, 32, 32)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64", "float32", "float64"])
def test_cat_out_fast_path_dim0_dim1(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    integral = not is_float(dtype)
    x = torch.zeros((0), device=device, dtype=dtype)
    if integral:
        y = torch.randint(low=0, high=100, size=(4, 6), device=device, dtype=dtype)
    else:
        y = torch.randn((4, 6), device=device, dtype=dtype)
    # Test concat on dimension 0
    w = y.view(-1).clone()
    a_ = torch.cat([w[:2], w[4:6]])         # differs: `a` is this file's reader of tensors: a_
    # differs: b (out=w[6:10]) left out; the result is checked against numpy's concatenate instead
    np_eq(a(a_), np.concatenate([a(w)[:2], a(w)[4:6]]))
    np_eq(a(w[:6]), a(y.view(-1)[:6]))
    # If inputs are contiguous tensors, then fast concat paths will be invoked
    a_fastcat = torch.cat([w[:2].contiguous(), w[4:6].contiguous()])
    np_eq(a(a_fastcat), a(a_))
    # Test concat on dimension 1
    w = y.clone()
    w_slices = torch.tensor_split(w, (2, 4), dim=1)
    # Note that the tensor in w_slices[] here may not be a contiguous
    # tensor and we need to make sure this is not broken by fast concat
    b = torch.cat([w_slices[0], w_slices[1]], dim=1)
    expected_b = torch.index_select(w, 1, torch.tensor([0, 1, 2, 3], device=device))
    np_eq(a(b), a(expected_b))
    np_eq(a(b), a(y)[:, :4])            # differs: and against numpy's slice
    # If inputs are contiguous tensors, then fast concat paths will be invoked
    b_fastcat = torch.cat([w_slices[0].contiguous(), w_slices[1].contiguous()], dim=1)
    np_eq(a(b_fastcat), a(expected_b))
    # Finally, we need to make sure backward is not broken
    # Integral types will not have grad
    if not integral:
        a_ = torch.randn((4, 3), device=device, dtype=dtype, requires_grad=True)
        b = torch.randn((2, 3), device=device, dtype=dtype, requires_grad=True)
        c = torch.randn((5, 3), device=device, dtype=dtype, requires_grad=True)
        d = torch.randn((5, 2), device=device, dtype=dtype, requires_grad=True)
        expected_a_grad = torch.ones((4, 3), device=device, dtype=dtype)
        expected_b_grad = torch.ones((2, 3), device=device, dtype=dtype)
        expected_c_grad = torch.ones((5, 3), device=device, dtype=dtype)
        expected_d_grad = torch.ones((5, 2), device=device, dtype=dtype)
        # All the new tensors should be contiguous here. Let us make sure
        # to explicitly set them contiguous to enforce fast cat
        dim0_cat = torch.cat([a_.contiguous(), b.contiguous()], dim=0)
        dim0_cat.sum().backward()           # differs: the complex branch left out
        np_eq(a(a_.grad), a(expected_a_grad))
        np_eq(a(b.grad), a(expected_b_grad))
        dim1_cat = torch.cat([c.contiguous(), d.contiguous()], dim=1)
        dim1_cat.sum().backward()
        np_eq(a(c.grad), a(expected_c_grad))
        np_eq(a(d.grad), a(expected_d_grad))
        np_eq(a(d.grad), np.ones((5, 2)))   # differs: and against numpy's ones


@pytest.mark.parametrize("dtype", ["half", "double", "int"])
def test_cat2(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    SIZE = 10
    for dim in range(-3, 3):
        pos_dim = dim if dim >= 0 else 3 + dim
        x = torch.randint(low=-100, high=100, size=(13, SIZE, SIZE), device=device).to(dtype).transpose(0, pos_dim)
        y = torch.randint(low=-100, high=100, size=(17, SIZE, SIZE), device=device).to(dtype).transpose(0, pos_dim)
        z = torch.randint(low=-100, high=100, size=(19, SIZE, SIZE), device=device).to(dtype).transpose(0, pos_dim)

        res1 = torch.cat((x, y, z), dim)
        np_eq(a(res1.narrow(pos_dim, 0, 13)), a(x))
        np_eq(a(res1.narrow(pos_dim, 13, 17)), a(y))
        np_eq(a(res1.narrow(pos_dim, 30, 19)), a(z))
        np_eq(a(res1), np.concatenate([a(x), a(y), a(z)], pos_dim))    # differs: and against numpy's

    x = torch.randint(low=-100, high=100, size=(20, SIZE, SIZE), device=device).to(dtype)
    np_eq(a(torch.cat(torch.split(x, 7))), a(x))
    np_eq(a(torch.cat(torch.chunk(x, 7))), a(x))

    y = torch.randint(low=-100, high=100, size=(1, SIZE, SIZE), device=device).to(dtype)
    z = torch.cat([x, y])
    assert z.size() == (21, SIZE, SIZE)


def test_stack():
    for dtype in (torch.half, torch.double, torch.int):
        x = torch.randint(low=-100, high=100, size=(2, 3, 4)).to(dtype)
        y = torch.randint(low=-100, high=100, size=(2, 3, 4)).to(dtype)
        z = torch.randint(low=-100, high=100, size=(2, 3, 4)).to(dtype)
        for dim in range(4):
            res = torch.stack((x, y, z), dim)
            res_neg = torch.stack((x, y, z), dim - 4)
            expected_size = x.size()[:dim] + (3,) + x.size()[dim:]
            np_eq(a(res), a(res_neg))
            assert res.size() == expected_size
            np_eq(a(res.select(dim, 0)), a(x))
            np_eq(a(res.select(dim, 1)), a(y))
            np_eq(a(res.select(dim, 2)), a(z))
            np_eq(a(res), np.stack([a(x), a(y), a(z)], dim))      # differs: and against numpy's


def test_repeat_interleave():
    device = 'cpu'
    x = torch.tensor([0, 1, 2, 3], device=device)
    expected = torch.tensor([1, 2, 2, 3, 3, 3], device=device)
    np_eq(a(torch.repeat_interleave(x)), a(expected))

    # differs: ValueError/TypeError where PyTorch raises RuntimeError (docs/pytorch.md, "Errors")
    with pytest.raises((ValueError, TypeError)):
        torch.repeat_interleave(torch.arange(4, device=device).reshape(2, 2))

    with pytest.raises((ValueError, TypeError)):
        torch.repeat_interleave(torch.arange(4.0, device=device))

    with pytest.raises((ValueError, TypeError)):
        torch.repeat_interleave(torch.tensor([1, 2, -1, 3, 4], device=device))

    y = torch.tensor([[1, 2], [3, 4]], device=device)

    y1_v1 = torch.repeat_interleave(y, 2)
    y1_v2 = torch.repeat_interleave(y, torch.tensor(2, device=device))
    y1_v3 = torch.repeat_interleave(y, torch.tensor([2], device=device))
    y1_expect = torch.tensor([1, 1, 2, 2, 3, 3, 4, 4], device=device)
    np_eq(a(y1_v1), a(y1_expect))
    np_eq(a(y1_v2), a(y1_expect))
    np_eq(a(y1_v3), a(y1_expect))

    y2 = torch.repeat_interleave(y, 3, dim=1)
    y2_expect = torch.tensor([[1, 1, 1, 2, 2, 2],
                              [3, 3, 3, 4, 4, 4]], device=device)
    np_eq(a(y2), a(y2_expect))

    y3 = torch.repeat_interleave(y, torch.tensor([1, 2], device=device), dim=0)
    y3_expect = torch.tensor([[1, 2],
                              [3, 4],
                              [3, 4]], device=device)
    np_eq(a(y3), a(y3_expect))

    with pytest.raises((ValueError, TypeError)):
        torch.repeat_interleave(y, torch.tensor([1, 2, 3], device=device), dim=0)

    with pytest.raises((ValueError, TypeError)):
        torch.repeat_interleave(y, torch.arange(9, device=device).reshape(3, 3), dim=0)

    # test zero sized dimension
    x = torch.zeros((5, 0), device=device)
    y = torch.repeat_interleave(x, repeats=3, dim=1)
    np_eq(a(y), a(x.new_zeros(5, 0, device=device)))
    assert y.shape == (5, 0)            # differs: assertEqual compares the shapes too

    x = torch.tensor([], dtype=torch.int64, device=device)
    y = torch.repeat_interleave(x, x)
    np_eq(a(y), a(x))
    assert y.shape == (0,) and y.dtype == torch.int64


def _hvd_split_helper(torch_fn, np_fn, op_name, inputs, device, dtype, dim):
    dimension_error_message = op_name + " requires a tensor with at least "
    divisibiliy_error_message = op_name + " attempted to split along dimension "

    for shape, arg in inputs:
        direction = dim - (len(shape) == 1 and dim == 1)
        bound = dim + 2 * (dim == 0) + (dim == 2)
        error_expected = len(shape) < bound or (not isinstance(arg, list) and shape[direction] % arg != 0)

        t = make_tensor(shape, dtype=dtype, device=device)
        t_np = t.cpu().numpy()

        if not error_expected:
            pieces, np_pieces = torch_fn(t, arg), np_fn(t_np, arg)
            assert len(pieces) == len(np_pieces)                # differs: assertEqual of the sequences
            for piece, np_piece in zip(pieces, np_pieces):
                np_eq(a(piece), np_piece)
                assert piece.shape == np_piece.shape
        else:
            # differs: ValueError where PyTorch raises RuntimeError (docs/pytorch.md, "Errors"); the message
            # is the library's, naming the function
            with pytest.raises((ValueError, IndexError)) as info:
                torch_fn(t, arg)
            with pytest.raises(ValueError):
                np_fn(t_np, arg)            # differs: numpy takes the array (PyTorch passes it the tensor)
            # differs: the library's message names the function, not PyTorch's dimension_error_message or
            # divisibiliy_error_message
            assert op_name.split('.')[-1] in str(info.value)


@pytest.mark.parametrize("dtype", ["long", "float32"])        # differs: no complex64
def test_hsplit(dtype):
    inputs = (
        ((), 3),
        ((), [2, 4, 6]),
        ((6,), 2),
        ((6,), 4),
        ((6,), [2, 5]),
        ((6,), [7, 9]),
        ((3, 8), 4),
        ((3, 8), 5),
        ((3, 8), [1, 5]),
        ((3, 8), [3, 8]),
        ((5, 5, 5), 2),
        ((5, 5, 5), [1, 4]),
        ((5, 0, 5), 3),
        ((5, 5, 0), [2, 6]),
    )
    _hvd_split_helper(torch.hsplit, np.hsplit, "torch.hsplit", inputs, 'cpu', getattr(torch, dtype), 1)


@pytest.mark.parametrize("dtype", ["long", "float32"])
def test_vsplit(dtype):
    inputs = (
        ((6,), 2),
        ((6,), 4),
        ((6, 5), 2),
        ((6, 5), 4),
        ((6, 5), [1, 2, 3]),
        ((6, 5), [1, 5, 9]),
        ((6, 5, 5), 2),
        ((6, 0, 5), 2),
        ((5, 0, 5), [1, 5]),
    )
    _hvd_split_helper(torch.vsplit, np.vsplit, "torch.vsplit", inputs, 'cpu', getattr(torch, dtype), 0)


def _rand_shape(dim, min_size, max_size):
    # differs: written here (the file's helper was not read): `dim` sizes drawn from [min_size, max_size]
    return tuple(random.randint(min_size, max_size) for _ in range(dim))


def _generate_input(shape, dtype, device, with_extremal):
    # differs: written here (the file's helper was not read): make_tensor's values, no extremal ones
    return make_tensor(shape, dtype=dtype, device=device)


def _test_special_stacks(dim, at_least_dim, torch_fn, np_fn, device, dtype):
    # Test error for non-tuple argument
    t = torch.randn(10)
    with pytest.raises(TypeError):      # differs: the library's message
        torch_fn(t)
    # Test error for a single array
    with pytest.raises(TypeError):
        torch_fn(t)

    # Test 0-D
    num_tensors = random.randint(1, 5)
    input_t = [torch.tensor(random.uniform(0, 10), device=device, dtype=dtype) for i in range(num_tensors)]
    actual = torch_fn(input_t)
    expected = np_fn([input.cpu().numpy() for input in input_t])
    np_eq(a(actual), expected)
    assert actual.shape == expected.shape

    for ndims in range(1, 5):
        base_shape = list(_rand_shape(ndims, min_size=1, max_size=5))
        for i in range(ndims):
            shape = list(base_shape)
            num_tensors = random.randint(1, 5)
            torch_input = []
            # Create tensors with shape being different along one axis only
            for _ in range(num_tensors):
                shape[i] = random.randint(1, 5)
                torch_input.append(_generate_input(tuple(shape), dtype, device, with_extremal=False))

            # Determine if input tensors have valid dimensions.
            valid_dim = True
            for k in range(len(torch_input) - 1):
                for tdim in range(ndims):
                    # Test whether all tensors have the same shape except in concatenating dimension
                    # Unless the number of dimensions is less than the corresponding at_least function dimension
                    # Since the original concatenating dimension would shift after applying at_least and would no
                    # longer be the concatenating dimension
                    if (ndims < at_least_dim or tdim != dim) and \
                            torch_input[k].size()[tdim] != torch_input[k + 1].size()[tdim]:
                        valid_dim = False

            # Special case for hstack is needed since hstack works differently when ndims is 1
            if valid_dim or (torch_fn is torch.hstack and ndims == 1):
                # Valid dimensions, test against numpy
                np_input = [input.cpu().numpy() for input in torch_input]
                actual = torch_fn(torch_input)
                expected = np_fn(np_input)
                np_eq(a(actual), expected)
                assert actual.shape == expected.shape
            else:
                # Invalid dimensions, test for error
                # differs: ValueError where PyTorch raises RuntimeError (docs/pytorch.md, "Errors")
                with pytest.raises(ValueError):
                    torch_fn(torch_input)
                with pytest.raises(ValueError):
                    np_input = [input.cpu().numpy() for input in torch_input]
                    np_fn(np_input)


STACK_DTYPES = ["uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


@pytest.mark.parametrize("dtype", STACK_DTYPES)
def test_hstack_column_stack(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    ops = ((torch.hstack, np.hstack), (torch.column_stack, np.column_stack))
    for torch_op, np_op in ops:
        _test_special_stacks(1, 1, torch_op, np_op, device, dtype)

    # Test torch.column_stack with combinations of 1D and 2D tensors input
    one_dim_tensor = torch.arange(0, 10).to(dtype=dtype, device=device)
    two_dim_tensor = torch.arange(0, 100).to(dtype=dtype, device=device).reshape(10, 10)
    inputs = two_dim_tensor, one_dim_tensor, two_dim_tensor, one_dim_tensor
    torch_result = torch.column_stack(inputs)

    np_inputs = [input.cpu().numpy() for input in inputs]
    np_result = np.column_stack(np_inputs)

    np_eq(np_result, a(torch_result))


@pytest.mark.parametrize("dtype", STACK_DTYPES)
def test_vstack_row_stack(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    ops = ((torch.vstack, np.vstack), (torch.row_stack, np.vstack))     # differs: np.vstack for numpy 2's
    # deprecated np.row_stack (20f43ac; PyTorch's later version writes np.vstack too)
    for torch_op, np_op in ops:
        _test_special_stacks(0, 2, torch_op, np_op, device, dtype)
        for _ in range(5):
            # Test dimension change for 1D tensor of size (N) and 2D tensor of size (1, N)
            n = random.randint(1, 10)
            input_a = _generate_input((n,), dtype, device, with_extremal=False)
            input_b = _generate_input((1, n), dtype, device, with_extremal=False)
            torch_input = [input_a, input_b]
            np_input = [input.cpu().numpy() for input in torch_input]
            actual = torch_op(torch_input)
            expected = np_op(np_input)
            np_eq(a(actual), expected)


@pytest.mark.parametrize("dtype", STACK_DTYPES)
def test_dstack(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    _test_special_stacks(2, 3, torch.dstack, np.dstack, device, dtype)
    for _ in range(5):
        # Test dimension change for 1D tensor of size (N), 2D tensor of size (1, N), and 3D tensor of size (1, N, 1)
        n = random.randint(1, 10)
        input_a = _generate_input((n,), dtype, device, with_extremal=False)
        input_b = _generate_input((1, n), dtype, device, with_extremal=False)
        input_c = _generate_input((1, n, 1), dtype, device, with_extremal=False)
        torch_input = [input_a, input_b, input_c]
        np_input = [input.cpu().numpy() for input in torch_input]
        actual = torch.dstack(torch_input)
        expected = np.dstack(np_input)
        np_eq(a(actual), expected)

        # Test dimension change for 2D tensor of size (M, N) and 3D tensor of size (M, N, 1)
        m = random.randint(1, 10)
        n = random.randint(1, 10)
        input_a = _generate_input((m, n), dtype, device, with_extremal=False)
        input_b = _generate_input((m, n, 1), dtype, device, with_extremal=False)
        torch_input = [input_a, input_b]
        np_input = [input.cpu().numpy() for input in torch_input]
        actual = torch.dstack(torch_input)
        expected = np.dstack(np_input)
        np_eq(a(actual), expected)


# ---- test_torch.py ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_index_fill(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    x = torch.tensor([[1, 2], [4, 5]], dtype=dtype, device=device)
    index = torch.tensor([0], device=device)
    x.index_fill_(1, index, 0)
    np_eq(a(x), a(torch.tensor([[0, 2], [0, 5]], dtype=dtype, device=device)))
    np_eq(a(x), np.array([[0, 2], [0, 5]]).astype(np_dtype(dtype)))       # differs: and against numpy's
    # differs: TypeError/ValueError where PyTorch raises RuntimeError ("Scalar"); a bool tensor takes 1 + 1j here
    # (as True), so that line is left out for bool (test_gap_index_fill_of_a_bool_tensor_refuses_a_complex_value)
    if dtype != torch.bool:
        with pytest.raises((TypeError, ValueError)):
            x.index_fill_(1, index, 1 + 1j)
    # Make sure that the result stays 0-dim while applied to
    # a 0-dim input
    x = torch.tensor(1, dtype=dtype, device=device)
    assert 0 == x.index_fill(0, index, -1).dim() if dtype != torch.bool else True    # differs: see below
    if dtype != torch.bool:     # differs: -1 does not fit a bool here (ValueError); PyTorch casts it to True
        assert 0 == x.index_fill_(0, index, -1).dim()


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_index_select(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    num_src, num_out = 3, 5

    def make_arg(batch_sizes, n, dim, contig):
        size_arg = batch_sizes[:dim] + (n,) + batch_sizes[dim:]
        # differs: no noncontiguous= (no strides to choose here)
        return make_tensor(size_arg, dtype=dtype, device=device, low=None, high=None)

    def ref_index_select(src, dim, idx):
        # differs: numpy's take, the result left a numpy array
        return np.take(src.cpu().numpy(), idx.cpu().numpy(), axis=dim)

    for src_contig, idx_contig in product([True, False], repeat=2):
        for other_sizes in ((), (4, 5)):
            for dim in range(len(other_sizes)):
                src = make_arg(other_sizes, num_src, dim, src_contig)
                idx = make_tensor(
                    (num_out,), dtype=torch.int64, device=device, low=0, high=num_src)
                out = torch.index_select(src, dim, idx)
                out2 = ref_index_select(src, dim, idx)
                np_eq(a(out), out2)

    for idx_type in (torch.int32, torch.int64):
        other_sizes = (3, 2)
        dim = 1
        src = make_arg(other_sizes, num_src, dim, True)
        idx = make_tensor((num_out,), dtype=idx_type, device=device, low=0, high=num_src)
        out = torch.index_select(src, dim, idx)
        out2 = ref_index_select(src, dim, idx)
        np_eq(a(out), out2)

    # Create the 4 possible combinations of scalar sizes for index / source
    scalars = ((make_tensor(size_s, dtype=dtype, device=device),
                torch.zeros(size_i, dtype=torch.int64, device=device))
               for size_s, size_i in product([(), (1,)], repeat=2))
    for source, idx in scalars:
        out = source.index_select(0, idx)
        assert out.item() == source.item()


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_take(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    idx_size = (4,)

    make_arg = partial(make_tensor, device=device, dtype=dtype)
    make_idx = partial(make_tensor, low=0, device=device, dtype=torch.int64)

    def ref_take(src, idx):
        src = src.cpu().numpy()
        idx = idx.cpu().numpy()
        return np.take(src, idx)            # differs: left a numpy array

    for src_contig, idx_contig, idx_reshape in product([True, False], repeat=3):
        for src_size in ((5,), (4, 5)):
            src = make_arg(src_size)        # differs: no noncontiguous=
            idx = make_idx(idx_size, high=src.numel())
            if idx_reshape:
                idx = idx.reshape(2, 2)
            out = torch.take(src, idx)
            out2 = ref_take(src, idx)
            np_eq(a(out), out2)
            assert out.shape == out2.shape

    # Create the 4 possible combinations of scalar sizes for source / index
    for size_s, size_i in product([(), (1,)], repeat=2):
        source = make_arg(size_s)
        idx = make_idx(size_i, high=1)
        out = source.take(idx)
        assert out.item() == source.item()


def _np_put(dst, idx, src, accumulate):
    """differs: ref_put in numpy (PyTorch's uses index_add_/index_copy_ of its own tensors)."""
    new_dst = dst.copy().reshape(-1)
    if accumulate:
        np.add.at(new_dst, idx.reshape(-1), src.reshape(-1))
    else:
        new_dst[idx.reshape(-1)] = src.reshape(-1)
    return new_dst.reshape(dst.shape)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"])
def test_put(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    src_size = (4,)

    make_arg = partial(make_tensor, device=device, dtype=dtype)
    make_idx = partial(make_tensor, low=0, device=device, dtype=torch.int64)

    for dst_contig, src_contig, idx_contig, idx_reshape, accumulate in product([True, False], repeat=5):
        for dst_size in ((5,), (4, 5)):
            dst = make_arg(dst_size)        # differs: no noncontiguous=
            src = make_arg(src_size)

            # If accumulate=True, `put_` should be deterministic regardless of the inputs on CPU
            # On CUDA it may not be, but the test has enough tolerance to account for this
            if accumulate:
                idx = make_idx(src_size, high=dst.numel())
            else:
                idx = torch.randperm(dst.numel(), dtype=torch.int64, device=device)[:src_size[0]]
            if not idx_contig:
                idx = torch.repeat_interleave(idx, 2, dim=-1)[..., ::2]
            if idx_reshape:
                idx = idx.reshape(2, 2)
            out = torch.put(dst, idx, src, accumulate)
            # out-place
            reference = _np_put(a(dst), a(idx), a(src), accumulate)
            # differs: float16 sums in another order round differently (PyTorch compares index_add_'s)
            tol = dict(rtol=1e-2, atol=1e-2) if dtype == torch.float16 else dict(rtol=1e-6)
            np.testing.assert_allclose(a(out), reference, **tol)

            # in-place
            dst.put_(idx, src, accumulate)
            np.testing.assert_allclose(a(dst), reference, **tol)

    # Create the 8 possible combinations of scalar sizes for target / index / source
    scalars = ((make_arg(size_t),
                make_idx(size_i, high=1),
                make_arg(size_s))
               for size_t, size_i, size_s in product([(), (1,)], repeat=3))
    for (dest, idx, source), accumulate in product(scalars, [True, False]):
        dest_init = dest.clone()
        # out-place
        out = torch.put(dest, idx, source, accumulate=accumulate)
        # in-place
        dest1 = dest.clone()
        dest1.put_(idx, source, accumulate=accumulate)
        for d in [out, dest1]:
            if accumulate:
                assert d.item() == (dest_init + source).item()
            else:
                assert d.item() == source.item()

    # Empty case
    dest = make_arg((3, 2))
    reference = dest.clone()
    idx = make_idx((0,), high=1)
    source = make_arg((0,))
    for accumulate in [True, False]:
        out = torch.put(dest, idx, source, accumulate=accumulate)
        np_eq(a(out), a(reference))
        dest.put_(idx, source, accumulate=accumulate)
        np_eq(a(dest), a(reference))


@pytest.mark.parametrize("dtype", ["int16", "int32", "int64", "float16", "float32", "float64"])
def test_put_accumulate(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    # Test for parallel adds with accumulate == True
    low_precision = dtype == torch.half
    # Less numbers to avoid overflow with low_precision
    # Grainsize is 3000 for the for_loop to be parallized on CPU
    sizes = ((100,),) if low_precision else ((200,), (3002,))   # differs: a tuple of one shape ((100,) is a
    # shape: PyTorch's loop then reads 100 as a size)
    # Bfloat16 has a particularly bad performance here
    # This operation is nondeterministic on GPU, so we are generous with the rtol
    rtol, atol = (1e-1, 1e-2) if low_precision else (1e-3, 1e-4)

    make_arg = partial(make_tensor, low=-2, high=3, device=device, dtype=dtype)
    # Dump everything into the 0-th position
    make_idx = partial(torch.zeros, device=device, dtype=torch.int64)
    args = ((make_idx(size), make_arg(size)) for size in sizes)

    for idx, source in args:
        orig = make_arg((1,))
        out = orig.put(idx, source, accumulate=True)
        # differs: against numpy's sum in float64
        np.testing.assert_allclose(arr(out), arr(orig) + arr(source).sum(), rtol=rtol, atol=atol)


def test_take_empty():
    device = 'cpu'
    for input_shape in [(0,), (0, 1, 2, 0), (1, 2, 3)]:
        for indices_shape in [(0,), (0, 1, 2, 0)]:
            input = torch.empty(input_shape, device=device)
            indices = torch.empty(indices_shape, dtype=torch.int64, device=device)
            out = torch.take(input, indices)
            np_eq(a(indices), a(out))
            assert out.shape == indices_shape           # differs: assertEqual compares shapes too


def test_put_empty():
    device = 'cpu'
    for dst_shape in [(0,), (0, 1, 2, 0), (1, 2, 3)]:
        for indices_shape in [(0,), (0, 1, 2, 0)]:
            for accumulate in [False, True]:
                dst = torch.randn(dst_shape, device=device)
                before = a(dst).copy()                  # differs: the values before, in numpy
                indices = torch.empty(indices_shape, dtype=torch.int64, device=device)
                src = torch.randn(indices_shape, device=device)
                np_eq(a(dst), a(dst.put_(indices, src, accumulate=accumulate)))
                np_eq(a(dst), before)


SCATTER_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def scatter_allow_reduce(device, dtype, reduceop):
    device_type = torch.device(device).type
    return device_type != 'cuda' or (reduceop == 'multiply' and is_float(dtype))


@pytest.mark.parametrize("dtype", SCATTER_DTYPES)
@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_reduce_operations_to_large_input(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    index = torch.tensor([[1], [2]], device=device, dtype=torch.long)
    test_data = [
        (torch.zeros(4, 4, device=device, dtype=dtype),
         torch.ones(2, 2, device=device, dtype=dtype),
         torch.tensor([[0, 0, 0, 0],
                       [1, 0, 0, 0],
                       [1, 0, 0, 0],
                       [0, 0, 0, 0]],
                      device=device, dtype=dtype), "add"),
        (torch.tensor([2], device=device, dtype=dtype).repeat(4, 4),
         torch.tensor([6], device=device, dtype=dtype).repeat(2, 2),
         torch.tensor([[2, 2, 2, 2],
                       [12, 2, 2, 2],
                       [12, 2, 2, 2],
                       [2, 2, 2, 2]], device=device, dtype=dtype), "multiply"),
    ]

    for input, src, result, operation in test_data:
        if not scatter_allow_reduce(device, dtype, operation):
            continue
        input.scatter_(0, index, src, reduce=operation)
        np_eq(a(input), a(result))


@pytest.mark.parametrize("dtype", SCATTER_DTYPES)
def test_scatter_reduce_scalar(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    index = torch.tensor([[1], [2]], device=device, dtype=torch.long)
    test_data = [
        (torch.zeros(4, 4, device=device, dtype=dtype), 1,
         torch.tensor([[0, 0, 0, 0],
                       [1, 0, 0, 0],
                       [1, 0, 0, 0],
                       [0, 0, 0, 0]],
                      device=device, dtype=dtype), "add"),
        (torch.tensor([2], device=device, dtype=dtype).repeat(4, 4), 2,
         torch.tensor([[2, 2, 2, 2],
                       [4, 2, 2, 2],
                       [4, 2, 2, 2],
                       [2, 2, 2, 2]], device=device, dtype=dtype), "multiply"),
    ]

    for input, src, result, operation in test_data:
        if not scatter_allow_reduce(device, dtype, operation):
            continue
        input.scatter_(0, index, src, reduce=operation)
        np_eq(a(input), a(result))


@pytest.mark.parametrize("dtype", SCATTER_DTYPES)
@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_reduce_non_unique_index(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    height = 2
    width = 2
    index = torch.zeros(height, width, dtype=torch.long, device=device)
    test_data = [
        (torch.ones(height, width, device=device, dtype=dtype),
         torch.ones(height, width, device=device, dtype=dtype),
         torch.tensor([[3], [1]], device=device, dtype=dtype).repeat(1, width), "add"),
        (torch.tensor([2], device=device, dtype=dtype).repeat(height, width),
         torch.tensor([2], device=device, dtype=dtype).repeat(height, width),
         torch.tensor([[8], [2]], device=device,
                      dtype=dtype).repeat(1, width), "multiply"),
    ]

    for input, src, result, operation in test_data:
        if not scatter_allow_reduce(device, dtype, operation):
            continue
        input.scatter_(0, index, src, reduce=operation)
        np_eq(a(input), a(result), err_msg=f"result: {result} input: {input} method: {str(operation)}")


def test_scatter_to_large_input():
    device = 'cpu'
    input = torch.zeros(4, 4, device=device)
    src = torch.ones(2, 2, device=device)
    index = torch.tensor([[1], [2]], device=device, dtype=torch.long)
    input.scatter_(0, index, src)
    np_eq(a(input), a(torch.tensor([[0, 0, 0, 0],
                                    [1, 0, 0, 0],
                                    [1, 0, 0, 0],
                                    [0, 0, 0, 0]], device=device, dtype=torch.float32)))


def test_scatter_add_to_large_input():
    device = 'cpu'
    input = torch.zeros(4, 4, device=device)
    src = torch.ones(2, 2, device=device)
    index = torch.tensor([[1], [2]], device=device, dtype=torch.long)
    input.scatter_add_(0, index, src)
    np_eq(a(input), a(torch.tensor([[0, 0, 0, 0],
                                    [1, 0, 0, 0],
                                    [1, 0, 0, 0],
                                    [0, 0, 0, 0]], device=device, dtype=torch.float32)))


@pytest.mark.xfail(strict=True, reason="scatter's index_put refuses a position named twice even when the values "
                                       "sent there are equal (True, True); PyTorch's writes them (assign.py, "
                                       "another helper's file this round)")
def test_scatter_bool():
    device = 'cpu'
    x = torch.tensor([[True, True, True], [True, True, True]], device=device)
    res = torch.zeros(3, 3, dtype=torch.bool, device=device)
    res = res.scatter_(0, torch.tensor([[0, 1, 2], [0, 1, 2]], device=device), x)
    np_eq(a(res), a(torch.tensor([[True, False, False],
                                  [False, True, False],
                                  [False, False, True]], device=device)))


def test_scatter_add_bool():
    device = 'cpu'
    x = torch.tensor([[True, True, True, True, True], [True, True, True, True, True]], device=device)
    res = torch.zeros(3, 5, dtype=torch.bool, device=device)
    res = res.scatter_add_(0, torch.tensor([[0, 1, 2, 0, 0], [2, 0, 0, 1, 2]], device=device), x)
    np_eq(a(res), a(torch.tensor([[True, True, True, True, True],
                                  [False, True, False, True, False],
                                  [True, False, True, False, True]], device=device)))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"])
def test_masked_scatter(dtype):
    device, dt = 'cpu', getattr(torch, dtype)
    num_copy, num_dest = 3, 10
    dest = torch.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], dtype=dt, device=device)
    dest2 = a(dest).copy()              # differs: the expected values in numpy
    dest_ones = dest.clone()
    dest_ones_expected = a(dest).copy()
    src = torch.tensor([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=dt, device=device)
    src_ones = torch.tensor([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], dtype=dt, device=device)
    mask = torch.tensor((0, 0, 0, 0, 1, 0, 1, 0, 1, 0), dtype=torch.bool, device=device)

    dest.masked_scatter_(mask, src)
    j = 0
    for i in range(num_dest):
        if mask[i]:
            dest2[i] = a(src)[j]
            dest_ones_expected[i] = a(src_ones)[j]
            j += 1
    np_eq(a(dest), dest2)

    dest_ones.masked_scatter_(mask, src_ones)
    np_eq(a(dest_ones), dest_ones_expected)

    # Bound checking in CUDA is done inside a kernel
    # in order to avoid synchronization, but this means
    # we can not clear the failures. So there is no way
    # to test it then recover.
    # make src smaller. this should fail
    src = torch.zeros(num_copy - 1, dtype=dt, device=device)
    with pytest.raises(ValueError):     # differs: ValueError where PyTorch raises RuntimeError
        dest.masked_scatter_(mask, src)

    # empty tensor
    dest = torch.empty((5, 0, 5), dtype=dt, device=device)
    mask = torch.ones_like(dest, dtype=torch.bool, device=device)
    src = torch.empty((0,), dtype=dt, device=device)
    dest.masked_scatter_(mask, src)
    assert dest.shape == (5, 0, 5)      # differs: PyTorch only asserts it runs

    dest = torch.empty((5, 0, 5), dtype=dt, device=device)
    mask = torch.ones((5, 1, 5), dtype=torch.bool, device=device)
    src = torch.empty((0,), dtype=dt, device=device)
    dest.masked_scatter_(mask, src)
    assert dest.shape == (5, 0, 5)


def test_masked_scatter_bool_tensor():
    device = 'cpu'
    src = torch.tensor([True, True, True], device=device)
    dst = torch.tensor([False, False, False], device=device)
    mask = torch.tensor([False, True, False], device=device)

    dst.masked_scatter_(mask, src)
    np_eq(a(dst), a(torch.tensor([False, True, False], device=device)))

    mask = torch.tensor([True, False, True], device=device)
    dst = dst.masked_scatter(mask, src)
    np_eq(a(dst), a(torch.tensor([True, True, True], device=device)))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_masked_select(dtype):
    device, dtype = 'cpu', getattr(torch, dtype)
    for maskType in [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool]:
        num_src = 10
        src = torch.tensor([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], dtype=dtype, device=device)
        mask = torch.randint(2, (num_src,), device=device, dtype=maskType)

        if maskType is not torch.bool:
            # differs: TypeError/ValueError where PyTorch raises RuntimeError (docs/pytorch.md, "Errors")
            with pytest.raises((TypeError, ValueError), match=r'(?i)bool'):
                dst = src.masked_select(mask)
            continue
        else:
            dst = src.masked_select(mask)
        dst2 = []
        for i in range(num_src):
            if mask[i]:
                dst2 += [a(src)[i]]     # differs: the numpy entries
        np_eq(a(dst), np.array(dst2, dtype=a(src).dtype))
        # differs: dst3 (out=) left out

    # Ensure that masks are expanded to match tensor properly
    a_ = torch.rand(100, 100, device=device).mul(100).to(dtype)     # differs: `a` is this file's reader: a_
    mask_first_el_each_row = torch.zeros(100, device=device, dtype=torch.bool)
    mask_first_el_each_row[0] = True
    a_masked = a_.masked_select(mask_first_el_each_row)
    np_eq(a(a_masked), a(a_)[:, 0])

    mask_first_row = torch.zeros(100, 1, device=device, dtype=torch.bool)
    mask_first_row[0][0] = True
    a_masked = a_.masked_select(mask_first_row)
    np_eq(a(a_masked), a(a_)[0, :])

    # Ensure that tensor is expanded to match mask properly
    a_ = torch.rand(100, device=device).mul(100).to(dtype)
    mask_copy_3_times = torch.tensor([[True], [True], [False], [True]], device=device)
    a_masked = a_.masked_select(mask_copy_3_times)
    np_eq(a(a_masked), np.broadcast_to(a(a_), (3, 100)).reshape(-1))


def test_masked_select_discontiguous():
    device = 'cpu'
    for size in (10, 200):
        vals = torch.rand(size, size, device=device)
        mask = torch.full((size, size), False, dtype=torch.bool, device=device)
        mask[:, ::2] = True
        vals_list = (vals, vals.t())
        mask_list = (mask, mask.t())
        for v, m in product(vals_list, mask_list):
            if m.is_contiguous():
                expected = a(v)[:, ::2].reshape((-1, ))     # differs: numpy's slice
            else:
                expected = a(v)[::2].reshape((-1, ))
            out = torch.masked_select(v, m)
            np_eq(a(out), expected)
            # differs: out_dc (out=) left out


@pytest.mark.parametrize("dtype, mask_dtype", list(product(ALL_DTYPES, ["uint8", "bool"])))
def test_masked_fill(dtype, mask_dtype):
    dtype, mask_dtype = getattr(torch, dtype), getattr(torch, mask_dtype)

    num_dest = 10
    dst = torch.zeros(num_dest, dtype=dtype)
    mask = torch.randint(2, (num_dest,), dtype=mask_dtype)
    val = random.random()
    dst2 = a(dst).copy()                # differs: the expected values in numpy

    if mask_dtype is not torch.bool:
        # differs: TypeError/ValueError where PyTorch raises RuntimeError (docs/pytorch.md, "Errors")
        with pytest.raises((TypeError, ValueError), match=r'(?i)bool'):
            dst.masked_fill_(mask, val)
        return

    if dtype == torch.bool or not is_float(dtype):
        val = int(val > 0.5)            # differs: a float does not fit an integer tensor here (ValueError); PyTorch
        # truncates it (to 0), so the fill is tested with 0 or 1 instead
    dst.masked_fill_(mask, val)
    for i in range(num_dest):
        if mask[i]:
            dst2[i] = val
    np_eq(a(dst), dst2)

    # test non-contiguous case
    dst = ((torch.randn(num_dest, num_dest, num_dest) * 10).to(dtype)).permute((2, 0, 1))
    dst2 = dst.contiguous()
    mask = dst > 0
    assert not dst.is_contiguous()
    assert dst2.is_contiguous()
    expected = np.where(a(mask), np.asarray(val, a(dst).dtype), a(dst))     # differs: and against numpy's
    dst.masked_fill_(mask.to(mask_dtype), val)
    dst2.masked_fill_(mask.to(mask_dtype), val)
    np_eq(a(dst), a(dst2))
    np_eq(a(dst), expected)


def test_masked_fill_bool_tensor():
    device = 'cpu'
    dst = torch.tensor([True, False, True], device=device)
    mask = torch.tensor([False, True, False], device=device)

    dst.masked_fill_(mask, True)
    np_eq(a(dst), a(torch.tensor([True, True, True], device=device)))

    dst = dst.masked_fill(mask, False)
    np_eq(a(dst), a(torch.tensor([True, False, True], device=device)))


# ---- gradients of the differentiable ones, against central differences (not PyTorch tests) ----------------------

def _check_grad(fn, x0, seed=0):
    """d sum(w * fn(x)) / dx by backward against central differences in float64, w fixed random weights."""
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    out = fn(x)
    w = np.random.default_rng(seed).standard_normal(out.shape)
    (out * torch.tensor(w)).sum().backward()

    def f(v):
        return float((arr(fn(torch.tensor(v, dtype=torch.float64))) * w).sum())

    expected = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        step = np.zeros_like(x0)
        step[i] = 1e-6
        expected[i] = (f(x0 + step) - f(x0 - step)) / 2e-6
    np.testing.assert_allclose(arr(x.grad), expected, rtol=1e-6, atol=1e-8)


_IDX = torch.tensor([[0, 2, 1, 2, 0], [1, 1, 0, 2, 2]])            # int64, for dim 0 of a (3, 5) tensor
_OTHER = torch.tensor(np.random.default_rng(7).permutation(15).reshape(3, 5) / 5.0 - 1.1)
_MASK = torch.tensor([[True, False, True, False, False], [False, True, True, False, True],
                      [True, False, False, True, False]])


@pytest.mark.parametrize("name, fn", [
    ("cat", lambda x: torch.cat([x, x * 2, _OTHER], dim=-2)),
    ("stack", lambda x: torch.stack([x, _OTHER], 1)),
    ("hstack", lambda x: torch.hstack([x, _OTHER])),
    ("vstack", lambda x: torch.vstack([x[0], x, _OTHER])),
    ("dstack", lambda x: torch.dstack([x, _OTHER])),
    ("column_stack", lambda x: torch.column_stack([x[0], _OTHER.t()])),
    ("tensor_split", lambda x: torch.tensor_split(x, (1, 3), dim=1)[1]),
    ("split", lambda x: torch.split(x, 2, dim=1)[2]),
    ("chunk", lambda x: x.chunk(2, 0)[0]),
    ("narrow", lambda x: x.narrow(1, 1, 3)),
    ("index_select", lambda x: torch.index_select(x, 1, torch.tensor([4, 0, 4]))),
    ("gather", lambda x: torch.gather(x, 0, _IDX)),
    ("scatter_self", lambda x: x.scatter(0, torch.tensor([[0, 2, 1], [1, 1, 0]])[:1], _OTHER[:2, :3])),
    ("scatter_src", lambda x: _OTHER.scatter(1, torch.tensor([[0, 3], [4, 1], [2, 0]]), x)),
    ("scatter_add", lambda x: _OTHER.scatter_add(0, _IDX, x[:2])),
    ("scatter_add_self", lambda x: x.scatter_add(0, _IDX, _OTHER[:2])),
    ("scatter_reduce_sum", lambda x: x.scatter_reduce(0, _IDX, _OTHER[:2], "sum", include_self=False)),
    ("scatter_reduce_prod", lambda x: x.scatter_reduce(0, _IDX, x[:2] * 0.5 + 1, "prod")),
    ("scatter_reduce_mean", lambda x: _OTHER.scatter_reduce(0, _IDX, x[1:], "mean", include_self=True)),
    ("scatter_reduce_amax", lambda x: x.scatter_reduce(0, _IDX, _OTHER[:2] * 0.3, "amax")),
    ("scatter_reduce_amin", lambda x: _OTHER.scatter_reduce(0, _IDX, x[:2], "amin", include_self=False)),
    ("masked_fill", lambda x: x.masked_fill(_MASK, 0.5)),
    ("masked_select", lambda x: x.masked_select(_MASK[0])),
    ("masked_scatter", lambda x: _OTHER.masked_scatter(_MASK, x.reshape(-1))),
    ("masked_scatter_self", lambda x: x.masked_scatter(_MASK, _OTHER.reshape(-1))),
    ("index_add_alpha", lambda x: x.index_add(1, torch.tensor([1, 1, 4]), _OTHER[:, :3] * x[:, :3], alpha=-2.5)),
    ("index_copy", lambda x: _OTHER.index_copy(0, torch.tensor([2, 0]), x[:2])),
    ("index_fill", lambda x: x.index_fill(1, torch.tensor([0, 3]), -1.0)),
    ("take", lambda x: torch.take(x, torch.tensor([[0, 14], [7, 7]]))),
    ("take_along_dim", lambda x: torch.take_along_dim(x, torch.tensor([[2], [0], [1]]), dim=1)),
    ("put_accumulate", lambda x: x.put(torch.tensor([1, 1, 13]), x[0, :3] * 2, accumulate=True)),
    ("put", lambda x: _OTHER.put(torch.tensor([4, 9, -1]), x[1, :3])),
    ("where_scalar", lambda x: torch.where(x > 0, x, 0.25)),
    ("where_broadcast", lambda x: torch.where(_MASK[0], x, x[0:1] * 3)),
    ("tril", lambda x: torch.tril(x, -1)),
    ("triu", lambda x: x.triu(2)),
    ("repeat", lambda x: x.repeat(2, 1, 2)),
    ("repeat_interleave", lambda x: x.repeat_interleave(torch.tensor([2, 0, 1]), dim=0)),
    ("expand", lambda x: x[:, :1].expand(2, 3, 4)),
    ("roll", lambda x: x.roll((1, -2), (0, 1))),
])
def test_gradients_of_joining_gathering_and_scattering_against_central_differences(name, fn):
    x0 = np.random.default_rng(1).permutation(15).reshape(3, 5) / 7.0 - 1.3    # distinct entries: no ties
    _check_grad(fn, x0)


# ---- gaps left open (strict xfails) ----------------------------------------------------------------------------

@pytest.mark.xfail(strict=True, reason="an in-place op rebinds the tensor to a contiguous array; PyTorch's triu_ "
                                       "writes through the strides (test_triu_tril: contiguity should not change)")
def test_gap_in_place_triu_keeps_a_transposed_tensor_non_contiguous():
    x_nc = torch.full((3, 4), 2.0).transpose(0, 1)
    assert not x_nc.is_contiguous()
    x_nc.triu_(0)
    assert not x_nc.is_contiguous()


def test_gap_tile_is_repeat_with_leading_ones():
    x = torch.tensor([[1, 2], [3, 4]])
    np_eq(a(x.tile((2,))), np.tile(np.array([[1, 2], [3, 4]]), (2,)))
    np_eq(a(torch.tile(x, (2, 1, 2))), np.tile(np.array([[1, 2], [3, 4]]), (2, 1, 2)))


@pytest.mark.xfail(strict=True, reason="cat of 1-d empty tensors only (the legacy skip) along dim 1 raises here; "
                                       "PyTorch's returns an empty (0,) tensor (test_cat_empty_legacy); concat "
                                       "is in microgradseq/ops/shape.py, another helper's file this round")
def test_gap_cat_of_legacy_empty_tensors_only_along_dim_1():
    empty = torch.randn((0,))
    res1 = torch.cat([empty, empty], dim=1)
    assert res1.shape == (0,)


@pytest.mark.xfail(strict=True, reason="index_fill_ of a bool tensor casts 1 + 1j to True; PyTorch refuses a complex "
                                       "value for a tensor that is not complex (test_index_fill: RuntimeError "
                                       "'Scalar'); the fill is in ops/filling.py, outside this round's files")
def test_gap_index_fill_of_a_bool_tensor_refuses_a_complex_value():
    x = torch.tensor([[True, True], [True, True]])
    with pytest.raises((TypeError, ValueError)):
        x.index_fill_(1, torch.tensor([0]), 1 + 1j)
