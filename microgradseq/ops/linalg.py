"""Matrix product."""

from __future__ import annotations

import math
import threading
import weakref
from typing import Any

import numpy as np

from ..checks import broadcasts_to, public_name
from ..dtypes import BOOL_DTYPE
from ..gradients import StackedProducts
from ..tensor import Rules, Tensor, as_tensor, result
from .elementwise import passthrough


def _swap_last(a: np.ndarray) -> np.ndarray:
    return a if a.ndim < 2 else np.swapaxes(a, -1, -2)


def _grad_of_right(A: np.ndarray, B: np.ndarray, g: np.ndarray) -> np.ndarray:
    """dL/dB = A^T g. When B is a matrix shared by a batch of rows, stack the rows
    into one product instead of one small product per batch element."""
    if A.ndim >= 2 and B.ndim == 2 and g.ndim == A.ndim:
        return _rows(A).T @ _rows(g)
    if A.ndim == 1 and B.ndim >= 2:
        return np.multiply.outer(A, g) if g.ndim == 1 else A[:, None] * g[..., None, :]
    if B.ndim == 1:
        return A * g[..., None] if A.ndim > 1 else A * g
    return _swap_last(A) @ g


def _grad_of_left(A: np.ndarray, B: np.ndarray, g: np.ndarray) -> np.ndarray:
    """dL/dA = g B^T."""
    if B.ndim == 1:
        return np.multiply.outer(g, B) if A.ndim > 1 else g * B
    if A.ndim == 1:
        return B @ g if B.ndim == 2 else (B @ g[..., None])[..., 0]
    return g @ _swap_last(B)


def matmul(a: Any, b: Any) -> Tensor:
    """a @ b (numpy's matmul rules);   dL/da = g b^T,   dL/db = a^T g;   forward: dy = v_a b + a v_b.

    A 1-d a is read as a row and a 1-d b as a column, and the formulas hold as written (the matrix
    beside a vector gets an outer product); an operand broadcast across batch axes gets the sum over
    them (`autograd.sum_to`, or `_grad_of_right`'s stacked rows for a matrix b shared by a batch)."""
    a = as_tensor(a, b if isinstance(b, Tensor) else None, "matmul")      # (named: `t @ v` has no public frame)
    b = as_tensor(b, a, "matmul")
    A, B = a._data, b._data
    if A.dtype is BOOL_DTYPE:
        no_bool_product("matmul", A, B)
    if A.ndim == 0 or B.ndim == 0:
        raise ValueError(f"matmul: both operands need at least one axis, got shapes {A.shape} and {B.shape}")
    inner_a = A.shape[-1]
    inner_b = B.shape[0] if B.ndim == 1 else B.shape[-2]
    if inner_a != inner_b:
        raise ValueError(
            f"matmul: shapes {A.shape} and {B.shape} do not line up ({inner_a} != {inner_b})")
    try:
        y = A @ B
    except ValueError:
        raise ValueError(f"matmul: batch shapes of {A.shape} and {B.shape} cannot be broadcast together") from None
    both = (A, B)
    return result("matmul", y, (a, b), MATMUL, (both, both))


def no_bool_product(where: str, A: np.ndarray, B: np.ndarray) -> None:
    """TypeError naming the public function (`where` if none: mm and dot reach it through matmul) for a
    product of two bool tensors, which PyTorch has no kernel for (numpy's would be a logical one). Two
    dtypes are not refused, unlike PyTorch's "expected m1 and m2 to have the same dtype": numpy promotes
    (float32 @ float64 is float64; docs/pytorch.md)."""
    if A.dtype == BOOL_DTYPE and B.dtype == BOOL_DTYPE:
        raise TypeError(f"{public_name(where)}: bool tensors have no matrix product, as in PyTorch; convert them "
                        "first (a.long())")


def _lifted(v: np.ndarray, x: np.ndarray, other: np.ndarray) -> np.ndarray:
    """A tangent (k, *x.shape) with as many batch axes as the product, (k, 1, ..., *x.shape), so
    that matmul's batch broadcasting lines the k directions up in front."""
    extra = other.ndim - x.ndim
    return v.reshape(v.shape[:1] + (1,) * extra + v.shape[1:]) if extra > 0 else v


def _tangent_of_left(v: np.ndarray, both: tuple) -> np.ndarray:
    """J_a v = v @ b, for v of shape (k, *a.shape)."""
    A, B = both
    if A.ndim == 1 and B.ndim > 1:      # k row vectors (k, 1, ..., 1, n) times b, the row axis dropped
        rows = v.reshape(v.shape[:1] + (1,) * (B.ndim - 2) + (1, v.shape[-1]))
        return np.matmul(rows, B)[..., 0, :]
    return np.matmul(_lifted(v, A, B), B)


def _tangent_of_right(v: np.ndarray, both: tuple) -> np.ndarray:
    """J_b v = a @ v, for v of shape (k, *b.shape)."""
    A, B = both
    if B.ndim == 1:                     # k column vectors
        if A.ndim == 1:
            return v @ A
        columns = v.reshape(v.shape[:1] + (1,) * (A.ndim - 2) + (v.shape[-1], 1))
        return np.matmul(A, columns)[..., 0]
    return np.matmul(A, _lifted(v, B, A))


#                 reverse mode: g J                                      forward mode: J v
MATMUL = Rules(vjp=(lambda g, both: _grad_of_left(*both, g), lambda g, both: _grad_of_right(*both, g)),
               jvp=(_tangent_of_left, _tangent_of_right))


def _rows(a: np.ndarray) -> np.ndarray:
    """a as a matrix with one row per leading index; a itself when already a matrix
    (the same object, so the stacking of equal factors in the backward pass can notice it)."""
    return a if a.ndim == 2 else a.reshape(math.prod(a.shape[:-1]), a.shape[-1])   # (not -1: size 0 too)


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight^T (+ bias) for x (..., in), weight (out, in): the map of Linear and of every
    cell, one node. The bias is a vector (out,), or any tensor that broadcasts to the output
    (..., out): then it is the addend of PyTorch's addmm, as in a cell's x_proj + h W_hh^T.

    dL/dx = g W;   dL/dW = g^T x and dL/db = sum of g, both summed over all leading
    axes of x (a full-size addend gets g itself). The weight's and a vector bias's
    gradients are handed back as factors (`StackedProducts`), so a weight used at
    every time step gets its T products summed at the end of the pass as a few large
    products of stacked factors (a block of rows at a time), and its bias one sum.
    """
    weight = weight if isinstance(weight, Tensor) else as_tensor(weight)     # (a Parameter is a subclass)
    x = x if type(x) is Tensor else as_tensor(x, weight)
    X, W = x._data, weight._data
    x_shape, w_shape = X.shape, W.shape     # (numpy builds a new tuple at every .shape)
    if len(w_shape) != 2 or not x_shape or x_shape[-1] != w_shape[1]:
        expected = f"input (..., {w_shape[1]})" if len(w_shape) == 2 else "a weight (out, in)"
        raise ValueError(f"linear: input of shape {x_shape} and weight of shape {w_shape} do not line up "
                         f"(expected {expected})")
    if X.dtype is BOOL_DTYPE:
        no_bool_product("linear", X, W)
    if bias is None:
        return result("linear", _product(X, W), (x, weight), LINEAR, (W, X))
    bias = bias if type(bias) is Tensor else as_tensor(bias, weight)
    bias_shape, output_shape = bias._data.shape, x_shape[:-1] + w_shape[:1]
    if bias_shape == w_shape[:1]:
        rules = LINEAR_WITH_BIAS
    elif bias_shape == output_shape or broadcasts_to(bias_shape, output_shape):
        rules = LINEAR_WITH_ADDEND
    else:
        raise ValueError(f"linear: bias of shape {bias_shape} does not fit weight of shape {w_shape} and input "
                         f"of shape {x_shape} (expected ({w_shape[0]},) or a shape that broadcasts to {output_shape})")
    y, added = _product(X, W), bias._data
    if added.dtype is y.dtype:
        y += added          # into the fresh product: one array of the output's size, not two
    else:
        y = y + added
    return result("linear", y, (x, weight, bias), rules, (W, X, None))


class TransposedCopies(threading.local):
    """W^T as a C-ordered copy, for weights that multiply a batch of rows.

    With more than one row, numpy's X @ W.T is faster with W^T laid out in rows
    than with the transposed view (float32, (32, 128) @ (128, 512): 49 us against
    74 us), and a recurrence multiplies its W_hh at every step. The copy is made
    at an array's first such product and kept while the array lives: arrays are
    read-only and an update gives a weight a new array, so the array is the key;
    its copy goes when it does. Every product of an array takes this one route
    (the two routes sum in different orders, so they may differ in the last bits):
    a model called twice on the same input gives the same values, as PyTorch's.
    Per thread, so that no lock is needed around the table.
    """

    def __init__(self) -> None:
        self.entries = _Table()     # id(W) -> [weak reference to W, W^T copy]

    def of(self, W: np.ndarray) -> np.ndarray:
        entry = self.entries.get(id(W))
        if entry is None or entry[0]() is not W:
            key, entries = id(W), self.entries  # (the callback may run in another thread: it names this table)
            entry = entries[key] = [weakref.ref(W, lambda _, key=key, table=weakref.ref(entries): _forget(table, key)),
                                    W.T.copy()]
        return entry[1]


class _Table(dict):
    """A thread's `TransposedCopies` table, held weakly by its arrays' callbacks: a table they held
    would be a cycle (table -> entry -> callback -> table), and a finished thread's copies would wait
    for the garbage collector."""

    __slots__ = ("__weakref__",)


def _forget(table: weakref.ref, key: int) -> None:
    """An array went: its entry leaves the table it was in, if that thread's table is still there."""
    entries = table()
    if entries is not None:
        entries.pop(key, None)


transposed_copies = TransposedCopies()


def _product(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """X @ W^T as one product over all rows of X. (numpy multiplies a stack (T, B, in) matrix
    by matrix; for a sequence's input projection that took 1.7x as long as one (T*B, in)
    product.) The result is written into an array of the output's shape."""
    if X.ndim <= 2:
        one_row = X.ndim == 1 or len(X) == 1         # (then the transposed view is as fast)
        return X @ (W.T if one_row else transposed_copies.of(W))
    y = np.empty(X.shape[:-1] + W.shape[:1], dtype=np.result_type(X.dtype, W.dtype))
    np.matmul(_rows(X), transposed_copies.of(W), out=_rows(y))
    return y


def _tangent_of_weight(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    """J_W v = x v^T for v of shape (k, out, in) (given the output's batch axes, (k, 1, ..., out, in))."""
    return np.matmul(x, np.swapaxes(v, -1, -2))


#                     x: reverse mode (g J), forward mode (J v)     W (x kept)                  b
LINEAR = Rules(vjp=(lambda g, weight: g @ weight,      lambda g, x: StackedProducts(_rows(g), _rows(x))),
               jvp=(lambda v, weight: _product(v, weight), _tangent_of_weight),
               broadcasts=True)
LINEAR_WITH_BIAS = Rules(vjp=LINEAR.vjp + (lambda g, kept: StackedProducts(_rows(g)),),
                         jvp=LINEAR.jvp + (passthrough,), broadcasts=True)
LINEAR_WITH_ADDEND = Rules(vjp=LINEAR.vjp + (passthrough,), jvp=LINEAR.jvp + (passthrough,), broadcasts=True)
