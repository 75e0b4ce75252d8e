"""PyTorch's methods about a tensor rather than its values: its dtype (`t.type(dtype)`, `t.type_as(u)`,
`t.int()`, `t.bool()`, `t.half()`, `t.byte()`, `t.is_floating_point()`, `t.is_complex()`), its device
(`t.device`, `t.is_cuda`, `t.cuda()`: the CPU only; `t.pin_memory()`, `t.share_memory_()`), its layout
(`t.is_sparse`: False, every tensor is dense, so `t.to_dense()` is `t`), its memory (`t.stride()`, `t.is_contiguous()`,
`t.storage_offset()`, `t.element_size()`, `t.nbytes`), whether it is a view (`t._is_view()`, `t._base`), and its
place in the graph (`t.is_leaf`, `t.grad_fn`, `t.retain_grad()`).

None needs a rule of its own: the conversions are `to`, whose rule casts the gradient back to the
source's dtype; the rest answer a question about the tensor or return it unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import CUT, LEAF
from ..checks import is_int
from ..dtypes import LEGACY_TENSOR_TYPES
from ..spellings import CPU, check_device
from ..tensor import Tensor, as_tensor, get_default_dtype, owned
from .methods import _axis, to


_OWN_NAMES = {str(np.dtype(kind)): np.dtype(kind) for kind in LEGACY_TENSOR_TYPES.values()}   # "float32", ...


def type_(self: Tensor, dtype: Any = None) -> Tensor | str:
    """`t.type(dtype)` converts, as `to(dtype)`; `t.type()` names the dtype. As PyTorch's, the dtype may
    be a legacy tensor type, its name (`'torch.FloatTensor'`) or `Tensor`, the default dtype. The name
    `t.type()` gives here (`"float32"`, where PyTorch's is `'torch.FloatTensor'`) converts too, so the idiom
    `a.type(b.type())` (pytorch-esn's `torch.argmax(y_pred, 1).type(y_pred.type())`) casts a to b's dtype."""
    if dtype is Tensor:
        dtype = get_default_dtype()
    elif isinstance(dtype, str) and dtype.removeprefix("torch.") in LEGACY_TENSOR_TYPES:
        dtype = LEGACY_TENSOR_TYPES[dtype.removeprefix("torch.")]
    elif isinstance(dtype, str) and dtype in _OWN_NAMES:
        dtype = _OWN_NAMES[dtype]
    return str(self.dtype) if dtype is None else to(self, dtype)



def type_as(self: Tensor, other: Any) -> Tensor:
    """The tensor in `other`'s dtype, as `to(other.dtype)`."""
    return to(self, as_tensor(other, where="type_as").dtype)


def _cuda(self: Tensor, device: Any = None, non_blocking: bool = False) -> Tensor:
    """PyTorch's `t.cuda()`: there is no GPU here, so a RuntimeError naming `cuda` (use `t.to("cpu")`)."""
    check_device("cuda", f"cuda:{device}" if is_int(device) else device or "cuda")
    return self


Tensor.type, Tensor.type_as = type_, type_as
Tensor.is_floating_point = lambda self: self._data.dtype.kind == "f"
Tensor.int, Tensor.bool, Tensor.half = (lambda self: to(self, np.int32), lambda self: to(self, np.bool_),
                                        lambda self: to(self, np.float16))
Tensor.device, Tensor.is_cuda, Tensor.cuda = property(lambda self: CPU), property(lambda self: False), _cuda
Tensor.is_sparse = property(lambda self: False)     # every tensor here is dense (PyTorch's `layout` torch.strided)


def _to_dense(self: Tensor, dtype: Any = None, *, masked_grad: Any = None) -> Tensor:
    """PyTorch's `t.to_dense(dtype=None, *, masked_grad=None)` for a strided tensor, which every tensor here is
    (aten's `to_dense`): the tensor itself, or `t.to(dtype)` when a dtype is given. `masked_grad` concerns sparse
    inputs only, as there. Sparse tensors are not here: a script that builds one (`torch.sparse_coo_tensor`) and
    densifies it builds the dense tensor instead, and its `.to_dense()` calls run unchanged."""
    return self if dtype is None else to(self, dtype)


Tensor.to_dense = _to_dense
Tensor.is_leaf = property(lambda self: self._node is None or self._node.kind in (LEAF, CUT))
Tensor.grad_fn = property(lambda self: None if self.is_leaf else self._node)     # the node that made it


def _retain_grad(self: Tensor) -> None:
    """PyTorch's `t.retain_grad()`: every tensor the user holds keeps its gradient here already, so it
    changes nothing; on a tensor that does not require grad a RuntimeError, as PyTorch's."""
    if not self.requires_grad:
        raise RuntimeError("retain_grad: can't retain_grad on a tensor that has requires_grad=False")


Tensor.retain_grad = _retain_grad
# whether a non-leaf keeps its .grad after backward: always here (PyTorch's only after retain_grad())
Tensor.retains_grad = property(lambda self: not self.is_leaf)


# ---- the memory a tensor's array takes: numpy's layout, in PyTorch's units ------------------------

def _stride(self: Tensor, dim: int | None = None) -> tuple | int:
    """PyTorch's `t.stride()`: how many elements apart the entries along each axis are (numpy's strides
    in bytes divided by the itemsize), or along `dim`. These are the numpy array's own: a transpose or a
    basic-index slice is a view with the strides PyTorch's view would have ((1, 4) for the transpose of a
    (3, 4) matrix); an op's result is laid out as numpy made it, in C order or, for an elementwise op on a
    transposed operand, in that operand's order, as PyTorch's kernels keep it. `expand` makes a new array
    here (PyTorch's view has stride 0 along the expanded axes), and `flip` a view with negative strides
    (PyTorch's is a copy)."""
    strides = tuple(step // self._data.itemsize for step in self._data.strides)
    return strides if dim is None else strides[_axis("stride", dim, self.ndim)]


def _is_contiguous(self: Tensor) -> bool:
    """PyTorch's `t.is_contiguous()`: whether the entries lie in memory in C order, without gaps
    (numpy's `c_contiguous` flag, which, as PyTorch, ignores the strides of axes of size 1)."""
    return bool(self._data.flags.c_contiguous)


def _storage_offset(self: Tensor) -> int:
    """PyTorch's `t.storage_offset()`: where the first entry sits, in elements, in the memory the tensor
    views: 0 for an array of its own; for a view (`x[1:]`, `x[:, 2]`, `chunk`'s pieces) its offset in the
    numpy array that owns the memory, as PyTorch's view in its storage."""
    owner = self._data
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    start = self._data.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    return start // self._data.itemsize


def _is_view(self: Tensor) -> bool:
    """PyTorch's `t._is_view()`: whether `t` is a part of another tensor (a view: a basic index, `narrow`,
    `select`, the pieces of `split`, `chunk`, `unbind`, and `view`, `reshape`, `squeeze`, `unsqueeze`, `flatten`
    where numpy needs no copy, `t()`, `transpose`, `permute`, `movedim`), so that a write into it goes into
    that tensor. A copy (`reshape` of a transpose, `contiguous()` of one, an advanced index) is not, nor, here,
    `detach()`, `diagonal` and `expand` (PyTorch's are views), nor a part nested more than 64 deep; `unfold`'s
    windows are a copy too, of which the result is a view (so `_base` is that copy, not `t`)."""
    return self._part_of is not None


def _base(self: Tensor) -> Tensor | None:
    """PyTorch's `t._base`: for a view, the tensor at the top of its chain of views, the one that is not
    itself a view (`t.view(25).t()._base is t`), as PyTorch's; None for a tensor that is not a view."""
    if self._part_of is None:
        return None
    base = self._part_of[0]
    while base._part_of is not None:
        base = base._part_of[0]
    return base


def _real(self: Tensor) -> Tensor:
    """PyTorch's `t.real`: a real tensor itself; of a complex one its real parts, a constant here."""
    return self if self.dtype.kind != "c" else owned(np.real(self._data).copy())


def _imag(self: Tensor) -> Tensor:
    """PyTorch's `t.imag`: a complex tensor's imaginary parts (a constant here); a real tensor has none,
    RuntimeError as PyTorch's."""
    if self.dtype.kind != "c":
        raise RuntimeError(f"Tensor.imag: only a complex tensor has an imaginary part, got dtype {self.dtype}")
    return owned(np.imag(self._data).copy())


Tensor.stride, Tensor.is_contiguous, Tensor.storage_offset = _stride, _is_contiguous, _storage_offset
Tensor.element_size = lambda self: self._data.itemsize
Tensor.itemsize = property(lambda self: self._data.itemsize)
Tensor.nbytes = property(lambda self: self._data.nbytes)       # numel() * element_size(), as PyTorch's
Tensor.byte, Tensor.char, Tensor.short = (lambda self: to(self, np.uint8), lambda self: to(self, np.int8),
                                          lambda self: to(self, np.int16))
Tensor.is_complex = lambda self: self._data.dtype.kind == "c"
Tensor._is_view, Tensor._base = _is_view, property(_base)
Tensor.real, Tensor.imag = property(_real), property(_imag)
# pinned (page-locked) and shared memory are for copying to a GPU and between processes: nothing here
# does either, so these change nothing and the answers are False
Tensor.pin_memory, Tensor.is_pinned = lambda self, device=None: self, lambda self, device=None: False
Tensor.share_memory_, Tensor.is_shared = lambda self: self, lambda self: False
