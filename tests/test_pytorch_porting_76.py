"""Porting, round 76: PYTORCH'S OWN TESTS OF VIEWS -- TestViewOps and TestOldViewOps of pytorch/pytorch's
test/test_view_ops.py (commit 01c12b21da48d378acb804c80e1955c7ac3f55a4) and the tests of writes into views while
recording of test/test_autograd.py (commit 5c322af10e52e4d236104ceefd542f34e6dcf20a): test_inplace_on_view_leaf_errors,
test_inplace_on_view_weak_grad_fn, test_inplace_on_view_backward (its second part) and TestAutogradDeviceType's
test_inplace_on_view_backprop_base, _backprop_view_of_view, _of_view, _then_no_grad, _gradcheck, _multiple_outputs,
_of_multiple_output_view, test_inplace_multiple_output_view_of_view, _makes_base_require_grad, _backprop_view,
_modify_base, _python, _non_contig, _multi_output_unsafe, _multi_output_safe and _undefined_grad_output. Every test
was read in the index at the commit named; none was written from memory.

Each is written as PyTorch wrote it, with only the imports changed; `# differs:` marks every other change and why.
Throughout: TestCase methods become functions (`device` is "cpu"; `@dtypes` loops run one floating dtype);
`self.assertEqual` of tensors becomes numpy's `assert_array_equal`/`assert_allclose` against values written in numpy;
PyTorch's `is_view_of` keeps its `_is_view()` and `_base` checks, and its storage check (there are no storages here)
becomes a value check: the test's write is made through numpy's own view of the same shapes, and the tensor must
hold what numpy's base holds. Gradients of the programs that write through views are checked against central
differences of the same program written in numpy; `gradgradcheck`, `create_graph=True` and CUDA parts are left out
(docs/pytorch.md: gradients are not recorded). Not ported: view(dtype), view_as_real/complex, real/imag/conj views
(complex views), as_strided, view_copy and the resize_ tests (none is here).

What broke (three gaps fixed):
  G1. `t._is_view()` and `t._base` (which PyTorch's `is_view_of` and test_squeeze_view read) were missing. Now in
      microgradseq/ops/attributes.py: `_is_view()` is whether the tensor is a part of another (`_part_of`), `_base`
      the top of its chain of parts, None for a tensor that is not a view, as PyTorch's.
  G2. `t.flatten(1, 1)` (start_dim == end_dim) gave a new view; PyTorch's returns the tensor itself
      (test_flatten_nonview: `t is nv`). Now so (microgradseq/ops/methods.py).
  G3. `t.split_with_sizes(sizes, dim)`, `t.unsafe_split`, `t.unsafe_split_with_sizes`, `t.unsafe_chunk` were missing
      (test_inplace_on_view_multi_output_unsafe / _safe). Now in microgradseq/ops/methods.py: `split` and `chunk`.
Left open (strict xfails):
  - `ctx.mark_dirty` of a part of another tensor (`PyAdd.apply(x.narrow(1, 2, 2).narrow(0, 1, 2), b)`,
    test_inplace_on_view_python; `c[:]` in test_inplace_on_view_undefined_grad_output) raises NotImplementedError
    here; PyTorch's custom Function writes into the view and its base takes the history. microgradseq/function.py
    is another helper's (review35c) this round.
  - gradcheck computed its finite differences with fn run under no_grad, so an assert inside fn that a tensor
    requires grad failed there (test_inplace_on_view_makes_base_require_grad as written); fixed since: fn runs with
    grad mode on, as PyTorch's. Also ported beside it with the asserts made on a direct call.
Met and as documented (docs/pytorch.md): `diagonal`, `expand`, `unfold` are copies (a write into one leaves the
tensor alone); a view shows its tensor's later writes only when it is written into (test_view_tensor_hsplit,
_backprop_view_of_view, _modify_base); `.grad` is a numpy array; the words of errors are the library's own.
Newly documented here: writing in place into one of the pieces of `split`, `chunk` or `unbind` (or a view of one)
while recording is allowed and gives the gradient of what it computed, where PyTorch raises ("This view is the
output of a function that returns multiple views").
"""

import gc
import random
from functools import partial

import numpy as np
import pytest
from porting_references import arr, central

import microgradseq as torch
from microgradseq import nn
from microgradseq.autograd import gradcheck


def is_view_of(base, other):
    if (not other._is_view() or
            other is base or
            other._base is not base or
            base.device != other.device):
        return False
    # differs: the storage check (base.storage().data_ptr() == other.storage().data_ptr()) is left out: there are no
    # storages here; each test checks instead that its write lands where numpy's view puts it
    return True


# Returns true if v1 and v2 are views of the same base
def is_view_of_same_base(v1, v2):
    if (not v1._is_view() or v1 is v2):
        return False
    return is_view_of(v1._base, v2)


def make_tensor(shape, low=-9, high=9):
    # differs: torch.testing.make_tensor over all dtypes becomes integers in [low, high) as float64, one dtype
    return torch.tensor(np.random.default_rng(76).integers(low, high, shape).astype(np.float64))


# ---- TestViewOps: splits --------------------------------------------------------------------------------------

def test_view_tensor_split():
    a = make_tensor((40, 30))
    a_split_dim0 = a.tensor_split(7, 0)
    for a_split_dim0_tensor in a_split_dim0:
        assert is_view_of(a, a_split_dim0_tensor)
    a_split_dim1 = a.tensor_split(7, 1)
    for a_split_dim1_tensor in a_split_dim1:
        assert is_view_of(a, a_split_dim1_tensor)
    # differs: the storage check, as a write through each piece against numpy's array_split views
    expected = arr(a)
    for k, (piece, np_piece) in enumerate(zip(a_split_dim1, np.array_split(expected, 7, 1))):
        piece[1, 0] = 100.0 + k
        np_piece[1, 0] = 100.0 + k
    np.testing.assert_array_equal(arr(a), expected)


@pytest.mark.parametrize("fn, place", [("hsplit", (2, 0, 2)), ("vsplit", (0, 2, 2)), ("dsplit", (2, 2, 0))])
def test_view_tensor_hsplit_vsplit_dsplit(fn, place):
    t = make_tensor((4, 4, 4))
    t_split = getattr(torch, fn)(t, 2)
    for t_split_tensor in t_split:
        assert is_view_of(t, t_split_tensor)
    t[2, 2, 2] = 7
    # differs: a view shows its tensor's later writes once written into (docs/pytorch.md), so a write into it first
    t_split[1][0, 0, 0] = t_split[1][0, 0, 0] * 1
    assert t_split[1][place].item() == t[2, 2, 2].item() == 7


def test_view_tensor_split_write_through_the_piece():
    # differs: not in PyTorch's file; its hsplit test's other direction: a write into the piece reaches t
    t = make_tensor((4, 4, 4))
    expected = arr(t)
    torch.hsplit(t, 2)[1][2, 0, 2] = 7
    np.hsplit(expected, 2)[1][2, 0, 2] = 7
    np.testing.assert_array_equal(arr(t), expected)


# ---- TestViewOps: one view op each ------------------------------------------------------------------------------

def test_diagonal_view():
    t = torch.ones((5, 5))
    v = torch.diagonal(t)
    # differs: diagonal is a copy here (docs/pytorch.md): not a view, and the write stays in v
    assert not v._is_view()

    v[0] = 0
    assert t[0, 0].item() == 1 and v[0].item() == 0

    t = torch.ones((3, 3, 3))
    v = torch.diagonal(t, offset=1, dim1=1, dim2=2)
    assert not v._is_view()

    v[0, 0] = 0
    np.testing.assert_array_equal(arr(t), np.ones((3, 3, 3)))


def test_select_view():
    t = torch.ones((5, 5))
    v = t.select(0, 2)
    assert is_view_of(t, v)

    v[0] = 0
    assert t[2, 0].item() == v[0].item()
    expected = np.ones((5, 5))
    expected[2][0] = 0                      # differs: numpy's view of the same write
    np.testing.assert_array_equal(arr(t), expected)


def test_unbind_view():
    t = torch.zeros((5, 5))
    tup = torch.unbind(t)

    for idx, v in enumerate(tup):
        assert is_view_of(t, v)

        v[0] = idx + 1
        assert t[idx, 0].item() == v[0].item()
    np.testing.assert_array_equal(arr(t)[:, 0], np.arange(1.0, 6.0))    # differs: numpy's values
    np.testing.assert_array_equal(arr(t)[:, 1:], 0)


def test_unbind():
    stacked = torch.randn(3, 10, 10, requires_grad=True)
    x, y, z = stacked.unbind()
    grad = torch.randn(3, 10, 10)
    torch.autograd.backward([x, y, z], grad.unbind())
    np.testing.assert_array_equal(stacked.grad, arr(grad))     # differs: .grad is a numpy array (docs/pytorch.md)
    # check that it works with only one gradient provided (#9977)
    for i in range(3):
        stacked = torch.randn(3, 10, 10, requires_grad=True)
        outs = stacked.unbind()
        gi = grad.unbind()[i]
        g, = torch.autograd.grad(outs[i], stacked, gi)
        g_expected = torch.stack([gi if j == i else torch.zeros_like(gi)
                                  for j in range(3)], dim=0)
        expected = np.zeros((3, 10, 10))    # differs: the expected gradient written in numpy, beside PyTorch's
        expected[i] = arr(grad)[i]
        np.testing.assert_array_equal(arr(g), expected)
        np.testing.assert_array_equal(arr(g_expected), expected)
    # Check with gradcheck
    stacked = torch.randn(3, 10, 10, dtype=torch.double, requires_grad=True)
    assert gradcheck(lambda x: x.unbind(), (stacked,), check_forward_ad=True)


def test_expand_view():
    t = torch.ones((5, 1))
    v = t.expand(5, 5)
    # differs: expand is a copy here (docs/pytorch.md), so not a view and the write stays in v
    assert not v._is_view()

    v[2, 2] = 0
    assert t[2, 0].item() == 1 and v[2, 2].item() == 0


def test_expand_as_view():
    t = torch.ones((5, 1))
    e = torch.empty((5, 5))
    v = t.expand_as(e)
    assert not v._is_view()                 # differs: as test_expand_view

    v[2, 2] = 0
    assert t[2, 0].item() == 1


def test_narrow_view():
    t = torch.ones((5, 5))
    v = torch.narrow(t, 1, 2, 2)
    assert is_view_of(t, v)

    v[0, 0] = 0
    assert t[0, 2].item() == v[0, 0].item()
    expected = np.ones((5, 5))
    expected[:, 2:4][0, 0] = 0              # differs: numpy's view of the same write
    np.testing.assert_array_equal(arr(t), expected)


def test_permute_view():
    t = torch.ones((5, 5))
    v = t.permute(1, 0)
    assert is_view_of(t, v)

    v[0, 1] = 0
    assert t[1, 0].item() == v[0, 1].item()
    expected = np.ones((5, 5))
    expected.transpose(1, 0)[0, 1] = 0      # differs: numpy's view of the same write
    np.testing.assert_array_equal(arr(t), expected)


def test_transpose_view():
    for fn in (torch.swapdims, torch.swapaxes, torch.transpose):
        t = torch.ones((5, 5))
        v = fn(t, 0, 1)
        assert is_view_of(t, v)

        v[0, 1] = 0
        assert t[1, 0].item() == v[0, 1].item()
        expected = np.ones((5, 5))
        np.swapaxes(expected, 0, 1)[0, 1] = 0   # differs: numpy's view of the same write
        np.testing.assert_array_equal(arr(t), expected)


def test_transpose_inplace_view():
    t = torch.ones(5, 5)
    v = t.view_as(t)
    v = v.swapdims_(0, 1)
    assert is_view_of(t, v)
    v[0, 1] = 0
    assert t[1, 0].item() == v[0, 1].item()

    t = torch.ones(5, 5)
    v = t.view_as(t)
    v = v.swapaxes_(0, 1)
    assert is_view_of(t, v)
    v[0, 1] = 0
    assert t[1, 0].item() == v[0, 1].item()

    t = torch.ones(5, 5)
    v = t.view_as(t)
    v = v.transpose_(0, 1)
    assert is_view_of(t, v)
    v[0, 1] = 0
    assert t[1, 0].item() == v[0, 1].item()
    expected = np.ones((5, 5))
    expected.T[0, 1] = 0                    # differs: numpy's view of the same write
    np.testing.assert_array_equal(arr(t), expected)


def test_t_view():
    t = torch.ones((5, 5))
    v = t.t()
    assert is_view_of(t, v)

    v[0, 1] = 0
    assert t[1, 0].item() == v[0, 1].item()


def test_t_inplace_view():
    t = torch.ones(5, 5)
    v = t.view_as(t)
    v = v.t_()
    assert is_view_of(t, v)
    v[0, 1] = 0
    assert t[1, 0].item() == v[0, 1].item()
    expected = np.ones((5, 5))
    expected.T[0, 1] = 0                    # differs: numpy's view of the same write
    np.testing.assert_array_equal(arr(t), expected)


def test_T_view():
    for op in ("T", "H", "mT", "mH"):
        t = torch.ones((5, 5))
        v = getattr(t, op)
        assert is_view_of(t, v)

        v[0, 1] = 0
        assert t[1, 0].item() == v[0, 1].item()


def test_unfold_view():
    t = torch.ones(10)
    v = t.unfold(0, 3, 2)
    # differs: unfold is a copy here (docs/pytorch.md): not a view of t, and the write stays in v
    assert not is_view_of(t, v)

    v[1, 0] = 0
    assert t[2].item() == 1 and v[1, 0].item() == 0


def test_squeeze_view():
    t = torch.ones(5, 1, 5)
    v = torch.squeeze(t)
    assert is_view_of(t, v)
    v[0, 1] = 0
    assert v._base is t                     # differs: assertEqual(t, v._base) as identity, then by value
    expected = np.ones((5, 1, 5))
    expected.squeeze()[0, 1] = 0
    np.testing.assert_array_equal(arr(v._base), expected)


def test_squeeze_inplace_view():
    t = torch.ones(5, 5)
    v = t.view_as(t)
    v = v.squeeze_()
    assert is_view_of(t, v)
    v[0, 1] = 0
    np.testing.assert_array_equal(arr(t), arr(v._base))
    assert t[0, 1].item() == 0              # differs: the value numpy's view would give


def test_unsqueeze_view():
    t = torch.ones(5, 5)
    v = torch.unsqueeze(t, 1)
    assert is_view_of(t, v)

    v[0, 0, 1] = 0
    assert t[0, 1].item() == v[0, 0, 1].item()


def test_unsqueeze_inplace_view():
    t = torch.ones(5, 5)
    v = t.view_as(t)
    v = v.unsqueeze_(1)
    assert is_view_of(t, v)
    v[0, 0, 1] = 0
    assert t[0, 1].item() == v[0, 0, 1].item()
    expected = np.ones((5, 5))
    expected[:, None][0, 0, 1] = 0          # differs: numpy's view of the same write
    np.testing.assert_array_equal(arr(t), expected)


def test_view_view():
    t = torch.ones(5, 5)
    v = t.view(25)
    assert is_view_of(t, v)

    v[6] = 0
    assert t[1, 1].item() == v[6].item()


def test_view_as_view():
    t = torch.ones(5, 5)
    e = torch.empty((25,))
    v = t.view_as(e)
    assert is_view_of(t, v)

    v[6] = 0
    assert t[1, 1].item() == v[6].item()


def test_contiguous_self():
    t = torch.ones(5, 5)
    s = t.contiguous()
    assert s is t


def test_contiguous_nonview():
    t = torch.ones(5, 5)
    nv = t.t().contiguous()
    assert not is_view_of(t, nv)

    nv[0, 0] = 0
    assert t[0, 0].item() != nv[0, 0].item()


def test_reshape_view():
    t = torch.ones(5, 5)
    v = torch.reshape(t, (25,))
    assert is_view_of(t, v)

    v[6] = 0
    assert t[1, 1].item() == v[6].item()
    expected = np.ones((5, 5))
    expected.reshape(25)[6] = 0             # differs: numpy's view of the same write
    np.testing.assert_array_equal(arr(t), expected)


def test_reshape_as_view():
    t = torch.ones(5, 5)
    e = torch.empty((25,))
    v = t.reshape_as(e)
    assert is_view_of(t, v)

    v[6] = 0
    assert t[1, 1].item() == v[6].item()


def test_reshape_nonview():
    t = torch.ones(5, 5)
    nv = torch.reshape(t.t(), (25,))
    assert not is_view_of(t, nv)

    nv[6] = 0
    assert t[1, 1].item() != nv[6].item()


def test_flatten_view():
    def test_writes_propagate(t, v):
        idx_t = (0,) * t.ndim
        idx_v = (0,) * v.ndim
        v[idx_v] = 0
        assert t[idx_t].item() == v[idx_v].item()

    t = torch.ones(1, 2, 3, 4)
    v = t.flatten()
    assert is_view_of(t, v)
    test_writes_propagate(t, v)

    # zero-dimensional tensor
    t = torch.tensor(1)
    v = t.flatten()
    test_writes_propagate(t, v)
    assert is_view_of(t, v)

    t = torch.ones(1, 2, 3, 4).transpose(2, 3)
    v = t.flatten(0, 1)
    test_writes_propagate(t, v)
    assert is_view_of_same_base(t, v)

    # differs: the as_strided case (three groups of mergeable strides) is left out: as_strided is not here


def test_flatten_nonview():
    def assert_is_nonview(t, nv):
        idx_t = (0,) * t.ndim
        idx_nv = (0,) * nv.ndim
        assert not nv._is_view()
        nv[idx_nv] = 0
        assert t[idx_t].item() != nv[idx_nv].item()
    t = torch.ones(2, 3, 2, 3).transpose(2, 3)
    nv = t.flatten(1, 3)
    assert_is_nonview(t, nv)

    t = torch.ones(2, 2).T
    nv = t.flatten()
    assert_is_nonview(t, nv)

    # flatten returns the original object if start_dim=end_dim
    t = t = torch.ones(2, 2)
    nv = t.flatten(1, 1)
    assert t is nv


def test_basic_indexing_slice_view():
    t = torch.ones(5, 5)
    v = t[:2, :3]
    assert is_view_of(t, v)

    v[0, 0] = 0
    assert t[0, 0].item() == v[0, 0].item()


def test_basic_indexing_ellipses_view():
    t = torch.ones(5, 5)
    v = t[..., :2]
    assert is_view_of(t, v)

    v[0, 0] = 0
    assert t[0, 0].item() == v[0, 0].item()


def test_basic_indexing_newaxis_view():
    t = torch.ones(5, 5)
    v = t[None, :2, 3]
    assert is_view_of(t, v)

    v[0, 0] = 0
    assert t[0, 3].item() == v[0, 0].item()
    expected = np.ones((5, 5))
    expected[None, :2, 3][0, 0] = 0         # differs: numpy's view of the same write
    np.testing.assert_array_equal(arr(t), expected)


def test_advanced_indexing_nonview():
    t = torch.ones(3, 3)
    rows = torch.tensor([[0, 0], [2, 2]])
    cols = torch.tensor([[0, 1], [2, 2]])
    nv = t[rows, cols]
    assert not is_view_of(t, nv)

    nv[1, 1] = 0
    assert t[2, 2].item() != nv[1, 1].item()


def test_advanced_indexing_assignment():
    t = torch.ones(3, 3)
    rows = torch.tensor([[0, 0], [2, 2]])
    cols = torch.tensor([[0, 1], [2, 2]])
    t[rows, cols] = 0
    assert t[2, 2].item() == 0


# differs: PyTorch skips test_chunk_view and test_split_view (@unittest.skip, pytorch/pytorch#32720); they pass here
def test_chunk_view():
    t = torch.zeros(3, 3)
    l = torch.chunk(t, 3)  # noqa: E741

    for idx, v in enumerate(l):
        assert is_view_of(t, v)

        v[0, 0] = idx + 1
        assert t[idx, 0].item() == v[0, 0].item()


def test_split_view():
    t = torch.zeros(3, 3)
    l = torch.split(t, [1, 1, 1])  # noqa: E741

    for idx, v in enumerate(l):
        assert is_view_of(t, v)

        v[0, 0] = idx + 1
        assert t[idx, 0].item() == v[0, 0].item()


def test_movedim_view():
    def run_test(device, op):
        t = torch.zeros(3, 3, device=device)
        out = op(t)

        assert is_view_of(t, out)

        # Randomly change values in output
        # and verify that original is changed
        # as well.
        for _ in range(3):
            idx_1, idx_2 = random.randint(0, 2), random.randint(0, 2)
            out[idx_1, idx_2] = random.random()
            assert t[idx_2, idx_1].item() == out[idx_1, idx_2].item()

    for fn in [torch.movedim, torch.moveaxis]:
        op = partial(fn, source=(0, 1), destination=(1, 0))
        run_test("cpu", op)

        op = partial(fn, source=0, destination=1)
        run_test("cpu", op)


# ---- TestOldViewOps (the ones about views' values) --------------------------------------------------------------

def test_narrow():
    x = torch.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    eq = np.testing.assert_array_equal      # differs: self.assertEqual against the lists PyTorch wrote
    eq(arr(x.narrow(0, 0, 1)), [[0, 1, 2]])
    eq(arr(x.narrow(0, 0, 2)), [[0, 1, 2], [3, 4, 5]])
    eq(arr(x.narrow(0, 1, 1)), [[3, 4, 5]])
    eq(arr(x.narrow(0, -1, 1)), [[6, 7, 8]])
    eq(arr(x.narrow(0, -2, 2)), [[3, 4, 5], [6, 7, 8]])
    eq(arr(x.narrow(0, -3, 3)), [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    eq(arr(x.narrow(-1, -1, 1)), [[2], [5], [8]])
    eq(arr(x.narrow(-2, -1, 1)), [[6, 7, 8]])


def test_split():
    tensor = torch.rand(7, 4)
    split_size = 3
    dim = 0
    target_sizes = ([3, 4], [3, 4], [1, 4])
    splits = tensor.split(split_size, dim)
    start = 0
    for target_size, split in zip(target_sizes, splits):
        assert split.size() == tuple(target_size)
        np.testing.assert_array_equal(arr(split), arr(tensor)[start:start + target_size[dim]])  # differs: numpy
        start = start + target_size[dim]

    # Variable sections split
    tensor = torch.randn(20, 10)
    dim = 0
    split_sizes = [5, 5, 10]
    target_sizes = ([[5, 10], [5, 10], [10, 10]])
    splits = tensor.split(split_sizes, dim)
    start = 0
    for target_size, split in zip(target_sizes, splits):
        assert split.size() == tuple(target_size)
        np.testing.assert_array_equal(arr(split), arr(tensor)[start:start + target_size[dim]])
        start = start + target_size[dim]

    split_sizes = [2, 2, 6]
    target_sizes = ([20, 2], [20, 2], [20, 6])
    dim = 1
    splits = tensor.split(split_sizes, dim)
    start = 0
    for target_size, split in zip(target_sizes, splits):
        assert split.size() == tuple(target_size)
        np.testing.assert_array_equal(arr(split), arr(tensor)[:, start:start + target_size[dim]])
        start = start + target_size[dim]


def test_chunk():
    tensor = torch.rand(4, 7)
    num_chunks = 3
    dim = 1
    target_sizes = ([4, 3], [4, 3], [4, 1])
    splits = tensor.chunk(num_chunks, dim)
    start = 0
    for target_size, split in zip(target_sizes, splits):
        assert split.size() == tuple(target_size)
        np.testing.assert_array_equal(arr(split), arr(tensor)[:, start:start + target_size[dim]])  # differs: numpy
        start = start + target_size[dim]

    # Invalid chunk sizes
    # differs: ValueError naming chunk, where PyTorch's is RuntimeError 'chunk expects ... greater than 0'
    # (docs/pytorch.md, "Errors")
    error_regex = 'chunk: expected a positive number of chunks'
    with pytest.raises(ValueError, match=error_regex):
        tensor.chunk(0)
    with pytest.raises(ValueError, match=error_regex):
        tensor.chunk(-2)


def test_unsqueeze():
    x = torch.randn(2, 3, 4)
    y = x.unsqueeze(1)
    np.testing.assert_array_equal(arr(y), arr(x.view(2, 1, 3, 4)))
    y = x.clone().unsqueeze_(2)
    np.testing.assert_array_equal(arr(y), arr(x).reshape(2, 3, 1, 4))   # differs: numpy's reshape

    x = x[:, 1]
    assert not x.is_contiguous()
    y = x.unsqueeze(1)
    np.testing.assert_array_equal(arr(y), arr(x.contiguous().view(2, 1, 4)))
    y = x.clone().unsqueeze_(2)
    np.testing.assert_array_equal(arr(y), arr(x)[:, :, None])


def test_T():
    a = torch.randn(2, 3, 4)
    t1 = a.T
    t2 = a.permute(2, 1, 0)
    np.testing.assert_array_equal(arr(t2), arr(t1))
    np.testing.assert_array_equal(arr(t1), arr(a).transpose(2, 1, 0))   # differs: numpy's own
    b = torch.randn(10)
    np.testing.assert_array_equal(arr(b), arr(b.T))
    scalar = torch.tensor(5)
    np.testing.assert_array_equal(arr(scalar), arr(scalar.T))


# ---- test_autograd.py: writes into views while recording -------------------------------------------------------

def test_inplace_on_view_leaf_errors():
    # Issue #21875: Fail faster (when we try to modify the view vs. in backward())
    x = torch.zeros(1, requires_grad=True)
    y = x.view_as(x)
    # differs: the library's words, RuntimeError as PyTorch's "a view of a leaf Variable that requires grad is being
    # used in an in-place operation." (docs/pytorch.md, "Errors")
    with pytest.raises(RuntimeError, match=r"a leaf tensor that requires grad \(here a part of one\)"):
        y.add_(1)


def test_inplace_on_view_weak_grad_fn():
    # Issue 23502: Test that b's grad_fn is preserved.
    a = torch.arange(10.0, requires_grad=True)

    b = a.narrow(0, 0, 2).clone().view(-1)
    b.relu_()

    c = b.clone()
    del b
    gc.collect()

    s = c.sum()
    s.backward()
    assert s.item() == 1.0
    np.testing.assert_array_equal(a.grad, [0, 1] + [0] * 8)    # differs: relu'(0) = 0, relu'(1) = 1, added

    # Issue #21875: Fail faster (when we try to modify the view vs. in backward())
    a = torch.rand(10, requires_grad=True).narrow(0, 0, 10)
    with pytest.raises(RuntimeError):
        b = a.relu_()


def test_inplace_on_view_backward():
    # differs: the first part (InstanceNorm2d, a gradient of a gradient) and create_graph are left out;
    # (1, 3, 8, 8) for (1, 3, 256, 256), and the gradient checked against sigmoid'(inputs + 1)
    inputs = torch.ones((1, 3, 8, 8), requires_grad=True)

    tmp1 = (inputs + 1).view_as(inputs)
    tmp2 = torch.nn.functional.threshold(tmp1, 0., 0., True)
    prob_interpolated = torch.sigmoid(tmp2)

    gradients = torch.autograd.grad(outputs=prob_interpolated, inputs=inputs,
                                    grad_outputs=torch.ones(prob_interpolated.size()),
                                    retain_graph=True)[0]
    s = 1 / (1 + np.exp(-2.0))
    np.testing.assert_allclose(arr(gradients), np.full((1, 3, 8, 8), s * (1 - s)), rtol=1e-6)
    assert nn.ReLU(True).inplace            # (the module the left-out part used)


def test_inplace_on_view_backprop_base():
    # modify view and back-prop through base
    root = torch.randn(2, 2, requires_grad=True)
    x = root.clone()
    v1 = x.narrow(0, 0, 1)
    v1.mul_(2)
    x.sum().backward()
    assert root.grad.tolist() == [[2, 2], [1, 1]]


def test_inplace_on_view_backprop_view_of_view():
    # modify view and backprop through view-of-view
    root = torch.randn(2, 2, requires_grad=True)
    x = root.clone()
    v1 = x.narrow(0, 0, 1)
    v2 = x.narrow(0, 0, 1)
    v1.mul_(2)
    v2.sum().backward()
    # differs: v2, taken before the write, reads the values it was taken with until it is written into
    # (docs/pytorch.md), so its gradient is 1 where PyTorch's [[2, 2], [0, 0]]; after a write into v2 it is 2
    assert root.grad.tolist() == [[1, 1], [0, 0]]
    root = torch.randn(2, 2, requires_grad=True)
    x = root.clone()
    v1 = x.narrow(0, 0, 1)
    v2 = x.narrow(0, 0, 1)
    v1.mul_(2)
    v2.add_(0)
    v2.sum().backward()
    assert root.grad.tolist() == [[2, 2], [0, 0]]


def test_inplace_on_view_of_view():
    # modify view-of-view and backprop through base
    root = torch.randn(2, 2, requires_grad=True)
    x = root.clone()

    v1 = x.narrow(0, 0, 1)
    v2 = v1.narrow(1, 1, 1)
    v2.mul_(2)
    x.sum().backward()
    assert root.grad.tolist() == [[1, 2], [1, 1]]


def test_inplace_on_view_then_no_grad():
    # Perform an in-place operation on a view of a non-leaf variable.
    a = torch.ones(3, 1, dtype=torch.double, requires_grad=True)
    b = a * 2
    c = b.view_as(b)
    c[0][0] = 3

    # Force a graph update with grad disabled.
    with torch.no_grad():
        c.grad_fn

    c.sum().backward()
    # differs: added: b holds the write, and a's gradient is 2 where b is still 2a
    np.testing.assert_array_equal(arr(b), [[3], [2], [2]])
    np.testing.assert_array_equal(a.grad, [[0], [2], [2]])


def _gradient_against_central(func_torch, func_numpy, inputs, go):
    """differs: the gradient of sum(go * func(inputs)) by backward, against central differences of the same program
    written with numpy's views (PyTorch's gradcheck compares with its own finite differences)."""
    tensors = [torch.tensor(value, requires_grad=True) for value in inputs]
    (func_torch(*tensors) * torch.tensor(go)).sum().backward()
    for k, value in enumerate(inputs):
        def f(v, k=k):
            args = list(inputs)
            args[k] = v
            return float((func_numpy(*args) * go).sum())
        numeric = central(f, value, list(np.ndindex(value.shape))).reshape(value.shape)
        np.testing.assert_allclose(tensors[k].grad, numeric, rtol=1e-6, atol=1e-8)


def test_inplace_on_view_gradcheck():
    # gradcheck modifications to views
    a = torch.randn(4, 4, dtype=torch.double, requires_grad=True)
    b = torch.randn(2, 2, dtype=torch.double, requires_grad=True)

    def func(root, b):
        x = root.clone()
        x.narrow(1, 2, 2).narrow(0, 1, 2).mul_(b)
        x.narrow(1, 0, 2).narrow(0, 1, 2).mul_(b)
        return x

    assert gradcheck(func, [a, b], raise_exception=True)

    def func_numpy(root, b):                 # differs: added, the same writes through numpy's views
        x = root.copy()
        x[:, 2:4][1:3] *= b
        x[:, 0:2][1:3] *= b
        return x

    go = np.random.default_rng(1).standard_normal((4, 4))
    _gradient_against_central(func, func_numpy, [arr(a), arr(b)], go)


def test_inplace_on_view_multiple_outputs():
    root = torch.arange(9., dtype=torch.double).reshape(3, 3).requires_grad_()
    x = root.clone()
    v1 = x.unbind()
    # differs: allowed here (docs/pytorch.md), where PyTorch raises RuntimeError ("This view is the output of a
    # function that returns multiple views"); x takes the write and the gradient of what was computed
    v1[0].mul_(2)
    np.testing.assert_array_equal(arr(x), [[0, 2, 4], [3, 4, 5], [6, 7, 8]])
    x.sum().backward()
    np.testing.assert_array_equal(root.grad, [[2, 2, 2], [1, 1, 1], [1, 1, 1]])


def test_inplace_on_view_of_multiple_output_view():
    a = torch.rand(10, dtype=torch.double, requires_grad=True).clone()
    b = a.unbind(0)
    c = b[0].view_as(b[0])
    before = arr(a)
    c.mul_(2)                               # differs: allowed here, as in test_inplace_on_view_multiple_outputs
    np.testing.assert_array_equal(arr(a), np.concatenate([[2 * before[0]], before[1:]]))


def test_inplace_multiple_output_view_of_view():
    leaf = torch.rand(10, dtype=torch.double, requires_grad=True)    # differs: the leaf named, for its gradient
    a = leaf.clone()
    b = a.view_as(a)
    c = b.unbind(0)
    c[0].mul_(2)                            # differs: allowed here, as in test_inplace_on_view_multiple_outputs
    a.sum().backward()
    np.testing.assert_array_equal(leaf.grad, [2] + [1] * 9)


def test_inplace_on_view_makes_base_require_grad():
    # in-place modification to view makes base require grad
    a = torch.randn(4, 4, dtype=torch.double, requires_grad=False)
    b = torch.randn(4, 2, dtype=torch.double, requires_grad=True)

    def func(root, b):
        x = root.clone()
        assert not x.requires_grad
        x.narrow(1, 2, 2).mul_(b)
        assert x.requires_grad
        return x

    assert gradcheck(func, [a, b], raise_exception=True)


def test_inplace_on_view_makes_base_require_grad_outside_gradcheck():
    # in-place modification to view makes base require grad
    a = torch.randn(4, 4, dtype=torch.double, requires_grad=False)
    b = torch.randn(4, 2, dtype=torch.double, requires_grad=True)

    def func(root, b):
        x = root.clone()
        # differs: the two asserts are made on a direct call below (gradcheck runs fn under no_grad here)
        x.narrow(1, 2, 2).mul_(b)
        return x

    x = a.clone()
    assert not x.requires_grad
    x.narrow(1, 2, 2).mul_(b)
    assert x.requires_grad
    assert gradcheck(func, [a, b], raise_exception=True)

    def func_numpy(root, b):                 # differs: added, against central differences
        x = root.copy()
        x[:, 2:4] *= b
        return x

    go = np.random.default_rng(2).standard_normal((4, 4))
    x = func(a, b)
    (x * torch.tensor(go)).sum().backward()
    numeric = central(lambda v: float((func_numpy(arr(a), v) * go).sum()), arr(b), list(np.ndindex(4, 2)))
    np.testing.assert_allclose(b.grad, numeric.reshape(4, 2), rtol=1e-6)


def test_inplace_on_view_backprop_view():
    # modify view and backprop through view
    a = torch.tensor([2., 5.], requires_grad=False)
    b = torch.tensor([3.], requires_grad=True)
    res = a.narrow(0, 1, 1).mul_(b)
    res.sum().backward()
    assert b.grad.tolist() == [5]
    assert a.grad is None
    assert a.tolist() == [2, 15]            # differs: added, a holds the write


def test_inplace_on_view_modify_base():
    # Test that an in-place operation on a base that forced it to require
    # grad also forces any previous views to require grad and backprop
    # correctly
    r = torch.ones(1, dtype=torch.double, requires_grad=True)

    def fn(r):
        x = torch.ones(5, dtype=torch.double)
        v = x.select(0, 1)
        assert not v.requires_grad
        assert v.grad_fn is None
        x.add_(r)  # v is now dependent on r due to the in-place op on x
        # differs: a view shows its tensor's later writes (and their history) once written into (docs/pytorch.md):
        # before that v reads 1 and does not require grad, where PyTorch's reads 2 and requires grad; and
        # assertTrue(v.requires_grad) is made on a direct call below (gradcheck runs fn under no_grad here)
        assert v.item() == 1
        v.add_(0)
        return v

    assert gradcheck(fn, [r])
    r = torch.tensor([0.5], dtype=torch.double, requires_grad=True)     # differs: added, the value and gradient
    v = fn(r)
    assert v.requires_grad
    v.backward()
    assert v.item() == 1.5 and r.grad.tolist() == [1.0]


@pytest.mark.xfail(strict=True, reason="ctx.mark_dirty of a part of another tensor raises NotImplementedError "
                                       "(microgradseq/function.py, review35c's this round); PyTorch's writes into "
                                       "the view and its base takes the history")
def test_inplace_on_view_python():
    # in-place modifications of Python-autograd created view
    a = torch.randn(4, 4, dtype=torch.double, requires_grad=True)
    b = torch.randn(2, 2, dtype=torch.double, requires_grad=True)

    class PyAdd(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.mark_dirty(x)
            x.add_(y)
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    def func(root, b):
        x = root.clone()
        PyAdd.apply(x.narrow(1, 2, 2).narrow(0, 1, 2), b)
        PyAdd.apply(x.narrow(1, 0, 2).narrow(0, 1, 2), b)
        return x

    assert gradcheck(func, [a, b], raise_exception=True)
    x = func(a, b)                          # differs: added, the values numpy's views give
    expected = arr(a)
    expected[1:3, 0:4] += np.tile(arr(b), 2)
    np.testing.assert_allclose(arr(x), expected)


def test_inplace_on_view_non_contig():
    root = torch.ones(2, 3, 2).select(2, 1).t().requires_grad_(True)
    x = root.clone()
    v1 = x.narrow(0, 0, 1)
    v2 = v1.narrow(1, 1, 1)
    v2.mul_(2)
    x.sum().backward()
    assert root.grad.tolist() == [[1, 2], [1, 1], [1, 1]]


def test_inplace_on_view_multi_output_unsafe():
    for f in [lambda t: t.unsafe_split(1),
              lambda t: t.unsafe_split_with_sizes((1, 1, 1)),
              lambda t: t.unsafe_chunk(3)]:
        a = torch.randn(3, 3, requires_grad=True)
        b = a + a
        s1, s2, s3 = f(b)
        s1.mul_(s2)
        s1.sum().backward()
        # differs: added, d sum(2a_0 * 2a_1) / da = 4 a_1 on row 0, 4 a_0 on row 1, 0 on row 2
        values = arr(a)
        np.testing.assert_allclose(a.grad, [4 * values[1], 4 * values[0], [0, 0, 0]], rtol=1e-6)


def test_inplace_on_view_multi_output_safe():
    for f in [lambda t: t.split(1),
              lambda t: t.split_with_sizes((1, 1, 1)),
              lambda t: t.chunk(3)]:
        a = torch.randn(3, 3, requires_grad=True)
        b = a + a
        s1, s2, s3 = f(b)
        # differs: allowed here (docs/pytorch.md), where PyTorch raises "This view is the output of a function that
        # returns multiple views."; b takes the write
        values = arr(a)
        s1.mul_(s2)
        np.testing.assert_allclose(arr(b), [4 * values[0] * values[1], 2 * values[1], 2 * values[2]], rtol=1e-6)


def test_inplace_on_view_multiple_outputs_gradient_against_central():
    # differs: not in PyTorch's file: the program PyTorch refuses above, its gradient against central differences
    def func(root):
        x = root * 1.5
        s1, s2, s3 = x.split(1)
        s1.mul_(s2)
        s3.add_(s1.sin())
        return x

    def func_numpy(root):
        x = root * 1.5
        x[0:1] *= x[1:2]
        x[2:3] += np.sin(x[0:1])
        return x

    go = np.random.default_rng(3).standard_normal((3, 3))
    _gradient_against_central(func, func_numpy, [np.random.default_rng(4).standard_normal((3, 3))], go)


@pytest.mark.xfail(strict=True, reason="ctx.mark_dirty of a part of another tensor raises NotImplementedError "
                                       "(microgradseq/function.py, review35c's this round)")
def test_inplace_on_view_undefined_grad_output():
    a = torch.tensor([1.0], requires_grad=True)
    c = a.clone()
    v = c[:]
    b = torch.tensor(1.0, requires_grad=True)

    class InplaceFunc(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, other):
            ctx.mark_dirty(x)
            return x.mul_(2)

        @staticmethod
        def backward(ctx, grad):
            return grad * 2, None

    out = InplaceFunc.apply(v, b)
    out.backward()
    assert b.grad is None
    assert a.grad.item() == 2


def test_split_with_sizes_takes_lengths_only():
    # differs: not in PyTorch's file: split_with_sizes given one int is a TypeError, as PyTorch's argument parser's
    # ("split_with_sizes(): argument 'split_sizes' must be tuple of ints"); with lengths, the pieces numpy cuts
    t = torch.arange(6.)
    with pytest.raises(TypeError, match="split_with_sizes"):
        t.split_with_sizes(2)
    pieces = t.split_with_sizes([1, 2, 3])
    for piece, expected in zip(pieces, np.split(np.arange(6.), [1, 3])):
        np.testing.assert_array_equal(arr(piece), expected)
        assert is_view_of(t, piece)
