"""PyTorch's methods about a tensor rather than its values: its dtype (`t.type(dtype)`, `t.type_as(u)`,
`t.int()`, `t.bool()`, `t.half()`, `t.is_floating_point()`), its device (`t.device`, `t.is_cuda`,
`t.cuda()`: the CPU only), and its place in the graph (`t.is_leaf`, `t.grad_fn`, `t.retain_grad()`).

None needs a rule of its own: the conversions are `to`, whose rule casts the gradient back to the
source's dtype; the rest answer a question about the tensor or return it unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import CUT, LEAF
from ..checks import is_int
from ..spellings import CPU, check_device
from ..tensor import Tensor, as_tensor
from .methods import to


def type_(self: Tensor, dtype: Any = None) -> Tensor | str:
    """`t.type(dtype)` converts, as `to(dtype)`; `t.type()` names the dtype."""
    return str(self.dtype) if dtype is None else to(self, dtype)


def type_as(self: Tensor, other: Any) -> Tensor:
    """The tensor in `other`'s dtype, as `to(other.dtype)`."""
    return to(self, as_tensor(other).dtype)


def _cuda(self: Tensor, device: Any = None, non_blocking: bool = False) -> Tensor:
    """PyTorch's `t.cuda()`: there is no GPU here, so a RuntimeError naming `cuda` (use `t.to("cpu")`)."""
    check_device("cuda", f"cuda:{device}" if is_int(device) else device or "cuda")
    return self


Tensor.type, Tensor.type_as = type_, type_as
Tensor.is_floating_point = lambda self: self._data.dtype.kind == "f"
Tensor.int, Tensor.bool, Tensor.half = (lambda self: to(self, np.int32), lambda self: to(self, np.bool_),
                                        lambda self: to(self, np.float16))
Tensor.device, Tensor.is_cuda, Tensor.cuda = property(lambda self: CPU), property(lambda self: False), _cuda
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
