"""Tensor's operators and methods: `t * u` is `ops.mul(t, u)`, `t.tanh()` is `ops.tanh(t)`.

The ops are written on top of `Tensor`, so `Tensor` cannot import them; this
module, imported with the ops, gives `Tensor` its operators and methods.
The reflected operators (`2 * t`) swap their operands.
"""

from __future__ import annotations

from ..tensor import Tensor
from . import elementwise as ew
from .linalg import matmul
from .reduce import max, mean, sum
from .shape import getitem, reshape, transpose

Tensor.__add__, Tensor.__radd__ = ew.add, lambda self, other: ew.add(other, self)
Tensor.__sub__, Tensor.__rsub__ = ew.sub, lambda self, other: ew.sub(other, self)
Tensor.__mul__, Tensor.__rmul__ = ew.mul, lambda self, other: ew.mul(other, self)
Tensor.__truediv__, Tensor.__rtruediv__ = ew.div, lambda self, other: ew.div(other, self)
Tensor.__pow__, Tensor.__rpow__ = ew.power, lambda self, other: ew.power(other, self)
Tensor.__matmul__, Tensor.__rmatmul__ = matmul, lambda self, other: matmul(other, self)
Tensor.__neg__, Tensor.__getitem__ = ew.neg, getitem
Tensor.sum, Tensor.mean, Tensor.max = sum, mean, max
Tensor.reshape, Tensor.transpose, Tensor.T = reshape, transpose, property(transpose)
Tensor.exp, Tensor.log, Tensor.tanh, Tensor.sigmoid, Tensor.relu = ew.exp, ew.log, ew.tanh, ew.sigmoid, ew.relu
Tensor.abs, Tensor.sqrt, Tensor.clip, Tensor.clone = ew.abs, ew.sqrt, ew.clip, ew.clone
