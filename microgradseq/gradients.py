"""How a backward pass adds a gradient into a node, done fast: the engine's `hooks.gradients`.

The core (`autograd.py`) says node.grad += sum_to(grad). This module does the
same sum with less work, and is installed in its place (`GradientPass`):

- A gradient array the pass allocated itself is added into in place; the
  first gradient of an op's node is adopted as it is (the rule made it).
- A rule may hand back a gradient that is not yet an array:
  - a `Scatter` (`x[index]`'s rule: g at the indexed positions) is added into
    one zero-filled buffer per node, so the T slices a sequence takes of one
    array cost T small writes, not T full-size arrays and T additions;
  - `StackedProducts` (`linear`'s weight rule: g^T x kept as its factors):
    a weight used at T steps gets its T products summed at the end of the
    pass as a few large products of stacked factors, the way a hand-written
    BPTT computes it.
- Under `detect_anomaly()`, every gradient is checked for NaN and inf, as a rule hands it
  back (naming its op) and as it is summed into a node (two finite parts may overflow).
"""

from __future__ import annotations

import itertools
import threading
from typing import Callable

import numpy as np

from .anomaly import check_backward, check_sum
from .autograd import FREED, LEAF, OP, Gradients, Node, anomaly_checks, hooks, sum_to


class StackedProducts:
    """A weight gradient sum_k left_k^T right_k, kept as its factors until the pass ends.

    A weight used at T steps receives T products g_t^T x_t. Stacking the
    factors turns them into a few large products, [g_1; ...; g_T]^T [x_1; ...; x_T]
    a block of rows at a time, instead of T small products and T additions:
    the same sum. With no right factors (`right=None`) the sum is of the rows
    of the left ones, sum_k 1^T g_k: a bias's gradient.
    """

    __slots__ = ("lefts", "rights")

    def __init__(self, left: np.ndarray, right: np.ndarray | None = None) -> None:
        self.lefts, self.rights = [left], [right]

    def extend(self, other: "StackedProducts") -> None:
        self.lefts += other.lefts
        self.rights += other.rights

    def materialise(self, shape: tuple | None = None) -> np.ndarray:
        """The sum of the products."""
        return sum_products_sharing_g([self])[0]


# Rows of factors stacked at a time: about _BLOCK_BYTES of them (but at least _MIN_BLOCK_ROWS
# rows, so that each product stays large). Stacking every step at once would copy all the
# factors at every pass (26 MB of g for an LSTM at (512, 32)); a block is small, and the next
# block reuses its memory.
_BLOCK_BYTES = 1 << 18
_MIN_BLOCK_ROWS = 128


def _blocks(lefts: list, row_bytes: int) -> list[slice]:
    """Consecutive runs of factors with about _BLOCK_BYTES of rows each (at least one factor each)."""
    rows_per_block = max(_MIN_BLOCK_ROWS, _BLOCK_BYTES // max(1, row_bytes))
    if sum(map(len, lefts)) <= rows_per_block:
        return [slice(None)]
    blocks, start, rows = [], 0, 0
    for k, left in enumerate(lefts):
        rows += len(left)
        if rows >= rows_per_block:
            blocks.append(slice(start, k + 1))
            start, rows = k + 1, 0
    if start < len(lefts):
        blocks.append(slice(start, len(lefts)))
    return blocks


def _stacked(pieces: list) -> np.ndarray:
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def _row_bytes(factor: np.ndarray | None) -> int:
    return 0 if factor is None else factor.itemsize * factor.shape[-1]


def sum_products_sharing_g(group: list[StackedProducts]) -> list[np.ndarray]:
    """The sums of `StackedProducts` whose left factors g_t are the same arrays (an RNNCell's
    W_ih, W_hh and biases all receive the g of its pre-activation), a block of rows at a time: each
    block of g is stacked once for the whole group, then multiplied by each weight's block of
    right factors, and the blocks' products are added up."""
    lefts = group[0].lefts
    row_bytes = _row_bytes(lefts[0]) + max(_row_bytes(products.rights[0]) for products in group)
    totals = [None] * len(group)
    for block in _blocks(lefts, row_bytes):
        left = _stacked(lefts[block])
        for k, products in enumerate(group):
            rights = products.rights[block]
            part = left.sum(axis=0) if rights[0] is None else left.T @ _stacked(rights)
            total = totals[k]
            if total is None:
                totals[k] = part
            elif total.dtype == part.dtype:
                total += part
            else:
                totals[k] = total + part
    return totals


def _identity_key(arrays: list) -> bytes:
    """The identities of a list of arrays, as one bytes object. (Not a tuple: Python keeps up to
    2,000 freed tuples of each small length for reuse, so a tuple key per pass would look like
    memory growing with the number of passes.)"""
    return np.fromiter(map(id, arrays), dtype=np.uintp, count=len(arrays)).tobytes()


class Scatter:
    """dL/dx for y = x[index]: `grad` at the indexed positions and zero elsewhere, not yet written out."""

    __slots__ = ("index", "grad", "repeats")

    def __init__(self, index, grad: np.ndarray, repeats: bool) -> None:
        self.index, self.grad, self.repeats = index, grad, repeats

    def materialise(self, shape: tuple) -> np.ndarray:
        """The gradient written out: `grad` at the indexed positions of zeros of `shape`."""
        full = np.zeros(shape, dtype=self.grad.dtype)
        self.add_into(full)
        return full

    def add_into(self, full: np.ndarray) -> None:
        if self.repeats:                # integer arrays may name one position twice: add each
            np.add.at(full, self.index, self.grad)
        else:
            view = full[self.index]
            if type(view) is np.ndarray and view.base is full:
                view += self.grad       # a view: add in place
            else:                       # one element (a scalar), or a copy (x[True])
                full[self.index] += self.grad


_passes = threading.local()
_numbers = itertools.count(1)


def pass_number() -> int:
    """A number for the backward pass running in this thread (rules may cache per pass)."""
    return getattr(_passes, "number", 0)


class OncePerPass:
    """`backward(g)` computed once per backward pass, however many rules ask: a fused node's operands'
    rules each read their part of it (every rule of a node receives the same g), and a hooked
    tensor's rules its hooked gradient (`tensor_hooks.py`). Keyed on g and on the pass: a second
    pass may hand the same array again, and a pass that does not count passes (the core's plain
    `Gradients`) a new one."""

    __slots__ = ("backward", "key", "grads")

    def __init__(self, backward: Callable[[np.ndarray], tuple]) -> None:
        self.backward, self.key, self.grads = backward, None, None

    def __call__(self, g: np.ndarray) -> tuple:
        key, number = self.key, pass_number()
        if key is None or key[0] is not g or key[1] != number:
            self.key, self.grads = (g, number), self.backward(g)
        return self.grads


_ndarray = np.ndarray


class GradientPass(Gradients):
    """`Gradients` with in-place buffers, scatters, deferred weight products and anomaly checks."""

    __slots__ = ("root", "owned", "deferred", "anomaly", "outer")

    def __init__(self, order: list[Node]) -> None:
        super().__init__(order)
        self.root = order[-1] if order else None
        self.owned = {}             # id(node) -> id(its grad array), for arrays this pass allocated:
                                    # added into in place (ids, so that the set holds no node alive)
        self.deferred = {}          # leaf node -> StackedProducts, summed when the pass ends
        self.anomaly = anomaly_checks.get()
        self.outer = pass_number()  # (a pass run inside this one, by a hook or a Function's backward, puts it back)
        _passes.number = next(_numbers)

    def add(self, node: Node, grad, source: Node | None) -> None:
        if type(grad) is not _ndarray:
            self._add_other(node, grad, source)
            return
        if self.anomaly and source is not None:
            check_backward(source, grad)
        if node.grad is None and node.kind is OP and grad.shape == node.shape and grad.dtype is node.dtype:
            node.grad = grad            # the common case: an op's first gradient, adopted as it is
            return
        if grad.shape != node.shape:
            grad = sum_to(grad, node.shape)
        self._accumulate(node, grad)

    def _add_other(self, node: Node, grad, source: Node | None) -> None:
        """`add` for what a rule hands back that is not an array: a `Scatter`, `StackedProducts`,
        None (no gradient for this input), or anything numpy converts (a scalar)."""
        kind = type(grad)
        if grad is None:                    # (a rule with no gradient for this input: a Function's backward said None)
            return
        if kind is Scatter:
            if self.anomaly and source is not None:
                check_backward(source, grad.grad)
            self._scatter(node, grad)
            return
        if kind is StackedProducts:
            if node.kind is LEAF and not self.anomaly:     # (checked, each product names its op)
                if node in self.deferred:
                    self.deferred[node].extend(grad)
                else:
                    self.deferred[node] = grad
                return
            grad = grad.materialise()
        else:
            grad = np.asarray(grad)
        self.add(node, grad, source)

    def freed_error(self, node: Node) -> RuntimeError:
        """The core's error, with the cause a recurrent loop meets most: a state from an earlier batch
        used again without `.detach()` (PyTorch's "Trying to backward through the graph a second time",
        whose only advice, retain_graph=True, keeps every batch's graph and walks it again each time)."""
        if node.cut_info is _INTERRUPTED:
            return RuntimeError(
                f"backward: an earlier backward pass was interrupted by an error and had already freed part "
                f"of this graph (node {node.describe()}); build the graph again (run the forward pass) to "
                "retry, or pass retain_graph=True to keep it")
        return RuntimeError(
            f"backward through a graph that has already been freed (node {node.describe()}): a backward "
            "pass frees the graph it walked, and this one reaches back into a graph an earlier backward() "
            "walked. If what joins them is a state carried over from the last batch (an RNN's h, an LSTM's "
            "(h, c)), cut it before the next forward: h = h.detach() (for an LSTM, (h.detach(), c.detach())); "
            "pass retain_graph=True to the first backward() only to walk that graph again on purpose (every "
            "later backward then walks all the earlier batches too)")

    def _accumulate(self, node: Node, grad: np.ndarray) -> None:
        """node.grad += grad, in the node's dtype, never writing into an array the pass does not own.
        A first gradient is adopted as it is for an op (the rule made it) and copied for a leaf
        (the leaf keeps it after the pass)."""
        finite_before = self.anomaly and (node.grad is None or bool(np.isfinite(node.grad).all()))
        if self.owned.get(id(node)) == id(node.grad):
            node.grad += grad
        else:
            if grad.dtype != node.dtype:
                grad = grad.astype(node.dtype)
            if node.grad is None:
                if node.kind is OP:
                    node.grad = grad
                    return
                node.grad = grad.copy()
            else:
                node.grad = node.grad + grad
            self.owned[id(node)] = id(node.grad)
        if finite_before:               # (a .grad already inf from an earlier pass is not this pass's doing)
            check_sum(node, node.grad)

    def _scatter(self, node: Node, scatter: Scatter) -> None:
        """node.grad += scatter, written into a buffer this pass owns (allocated on first use)."""
        buffer = node.grad
        if buffer is None or self.owned.get(id(node)) != id(buffer):
            buffer = node.grad = (np.zeros(node.shape, dtype=node.dtype) if buffer is None
                                  else buffer.astype(node.dtype, copy=True))
            self.owned[id(node)] = id(buffer)
        finite_before = self.anomaly and bool(np.isfinite(buffer).all())
        scatter.add_into(buffer)
        if finite_before:
            check_sum(node, buffer)

    def __exit__(self, error_type, error, traceback) -> None:
        _passes.number = self.outer         # the enclosing pass's number, if any (its "once per pass" holds)
        if error_type is not None:
            if self.root is not None and self.root.kind is FREED:
                self.root.cut_info = _INTERRUPTED       # a retry says what happened
            return
        groups = {}                         # leaves whose products share their left factors
        for leaf, products in self.deferred.items():
            groups.setdefault(_identity_key(products.lefts), []).append(leaf)
        for leaves in groups.values():      # each group's factors go as soon as it is summed
            sums = sum_products_sharing_g([self.deferred.pop(leaf) for leaf in leaves])
            for leaf, leaf_grad in zip(leaves, sums):    # (deferred only without anomaly checks)
                if leaf.grad is None and leaf_grad.dtype == leaf.dtype:
                    leaf.grad = leaf_grad   # a fresh product: nothing else holds it, no copy
                else:
                    self._accumulate(leaf, leaf_grad)


_INTERRUPTED = "interrupted"


hooks.gradients = GradientPass
