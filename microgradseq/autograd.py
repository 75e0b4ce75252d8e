"""The tape: graph nodes, the switches that control recording, and the backward pass.

Every tensor that takes part in differentiation points at a `Node`. A node is
small and never points back at its tensor (no reference cycles, so Python's
cyclic garbage collector has nothing to chase). It knows:

- `op`: the op's name (`"tanh"`, `"matmul"`, ...), or `"leaf"` / `"cut"`;
- `inputs`: the nodes of the op's operands, an ordered tuple (`a + a` has two
  edges); `None` stands for a constant operand;
- `rules`: one vector-Jacobian product per operand, `rule(g) -> dL/d input`,
  where `g = dL/d output`;
- what a reader needs: `shape`, `dtype`, `label` (`"h"`, `"f_gate"`), `step`
  (the time step) and `scope` (the module path that made it).

The backward pass walks the nodes in reverse topological order (an iterative
depth-first search, no recursion), so each node's gradient is complete before
its rules hand it on. `sum_to` undoes broadcasting in exactly one place.
"""

from __future__ import annotations

import contextlib
import itertools
import zlib
from typing import Callable, Iterator

import numpy as np

OP, LEAF, CUT, FREED = "op", "leaf", "cut", "freed"


class Node:
    """One recorded step of the computation: an op application, a leaf or a cut."""

    __slots__ = ("op", "kind", "inputs", "rules", "shape", "dtype", "grad",
                 "label", "step", "scope", "checks", "value", "cut_info", "visit")

    def __init__(self, op: str, kind: str, inputs: tuple, rules, shape: tuple, dtype) -> None:
        self.op = op
        self.kind = kind
        self.inputs = inputs
        self.rules = rules
        self.shape = shape
        self.dtype = dtype
        self.grad = None
        self.label = None
        self.step = state.step
        self.scope = state.scope
        self.checks = None      # ((array, checksum, owner tensor), ...): in-place detection
        self.value = None       # the output array of a tiny op, for drawings
        self.cut_info = None    # for cuts: what was cut (label, step, k2)
        self.visit = 0

    def describe(self) -> str:
        """`'tanh' (label 'h', t = 3, in rnn.cell, shape (2, 4))`: how errors and drawings name a node."""
        parts = [repr(self.op)]
        details = []
        if self.label:
            details.append(f"label {self.label!r}")
        if self.step is not None:
            details.append(f"t = {self.step}")
        if self.scope:
            details.append(f"in {self.scope}")
        details.append(f"shape {self.shape}")
        parts.append("(" + ", ".join(details) + ")")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"Node({self.describe()})"


class _State:
    """Global recording switches. One instance, `state`."""

    __slots__ = ("grad_enabled", "anomaly", "step", "scope")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.anomaly = False
        self.step = None
        self.scope = ""


state = _State()


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Record nothing inside the block: results have no history."""
    previous = state.grad_enabled
    state.grad_enabled = False
    try:
        yield
    finally:
        state.grad_enabled = previous


@contextlib.contextmanager
def at_step(t: int | None) -> Iterator[None]:
    """Stamp every node made inside the block with time step `t` (numbered from 1)."""
    previous = state.step
    state.step = t
    try:
        yield
    finally:
        state.step = previous


@contextlib.contextmanager
def in_scope(name: str) -> Iterator[None]:
    """Nodes made inside carry the module path `outer.name`."""
    previous = state.scope
    state.scope = f"{previous}.{name}" if previous and name else (name or previous)
    try:
        yield
    finally:
        state.scope = previous


def checksum(array: np.ndarray) -> int:
    """A fingerprint of an array's bytes, to notice in-place changes."""
    if not array.flags.c_contiguous:
        array = array.T if array.T.flags.c_contiguous else np.ascontiguousarray(array)
    return zlib.crc32(array.reshape(-1).view(np.uint8))


def sum_to(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Undo broadcasting: sum `grad` over the axes broadcasting added or stretched.

    If `y = f(x)` broadcast `x` of shape (3, 1) to (2, 3, 4), then
    dL/dx[i, 0] = sum over a, k of dL/dy[a, i, k].
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=axes).reshape(shape)


class StackedProducts:
    """A weight gradient sum_k left_k^T right_k, kept as its factors until the pass ends.

    A weight used at T steps receives T products g_t^T x_t. Stacking the
    factors turns them into one large product, [g_1; ...; g_T]^T [x_1; ...; x_T],
    instead of T small products and T additions: the same sum, computed the way
    a hand-written BPTT computes it.
    """

    __slots__ = ("lefts", "rights")

    def __init__(self, left: np.ndarray, right: np.ndarray) -> None:
        self.lefts, self.rights = [left], [right]

    def extend(self, other: "StackedProducts") -> None:
        self.lefts += other.lefts
        self.rights += other.rights

    def materialise(self) -> np.ndarray:
        if len(self.lefts) == 1:
            return self.lefts[0].T @ self.rights[0]
        return np.concatenate(self.lefts).T @ np.concatenate(self.rights)


_passes = itertools.count(1)


def topological_order(root: Node) -> list[Node]:
    """Nodes reachable from `root`, each after all of its inputs (iterative DFS)."""
    stamp = next(_passes)
    root.visit = stamp
    order = []
    stack = [(root, iter(root.inputs))]
    while stack:
        node, pending = stack[-1]
        for child in pending:
            if child is not None and child.visit != stamp:
                child.visit = stamp
                stack.append((child, iter(child.inputs)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _freed_error(node: Node) -> RuntimeError:
    return RuntimeError(
        f"backward through a graph that has already been freed (node {node.describe()}): "
        "a backward pass frees the graph it walked; pass retain_graph=True to the first "
        "backward() to walk it again")


def _check_unchanged(node: Node, verified: dict) -> None:
    """Raise if an array this node saved was written in place since it was recorded.

    `verified` maps id(array) -> checksum for arrays already fingerprinted in
    this pass, so a weight saved by every step is read once.
    """
    for array, recorded, owner in node.checks:
        current = verified.get(id(array))
        if current is None:
            current = verified[id(array)] = checksum(array)
            owner._checksum = None  # fingerprint afresh when next recorded
        if current != recorded:
            raise RuntimeError(
                f"{owner._describe_owner()} was changed in place after {node.describe()} saved "
                "it for the backward pass; its gradient would use the new values. Replace the "
                "array (t.data = t.data - lr * t.grad) instead of writing into it, or run "
                "backward() first")


def _accumulate(node: Node, grad: np.ndarray) -> None:
    """node.grad += grad, in the node's dtype, never writing into a shared array."""
    if grad.dtype != node.dtype:
        grad = grad.astype(node.dtype)
    if node.grad is None:
        node.grad = grad.copy() if node.kind is LEAF else grad
    else:
        node.grad = node.grad + grad


def backward(root: Node, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Reverse-mode pass from `root`, seeded with dL/d root = `grad`.

    Leaf grads accumulate across passes; every other node's grad is this pass's
    alone. Without `retain_graph`, each node is freed (its saved arrays and its
    edges dropped) as soon as its rules have run, so memory comes back during
    the pass, not after it.
    """
    order = topological_order(root)
    for node in order:
        if node.kind is FREED:
            raise _freed_error(node)
        if node.kind is not LEAF:
            node.grad = None
    _accumulate(root, grad)
    anomaly = state.anomaly
    verified = {}
    deferred = {}               # leaf node -> StackedProducts, summed once at the end
    while order:
        node = order.pop()
        g = node.grad
        if node.kind is not OP:
            continue
        if g is not None:
            if node.checks is not None:
                _check_unchanged(node, verified)
            for parent, rule in zip(node.inputs, node.rules):
                if parent is None or (parent.kind is not OP and parent.kind is not LEAF):
                    continue            # a constant, a cut, or freed history
                parent_grad = rule(g)
                if type(parent_grad) is StackedProducts:
                    if parent.kind is LEAF:
                        if parent in deferred:
                            deferred[parent].extend(parent_grad)
                        else:
                            deferred[parent] = parent_grad
                        continue
                    parent_grad = parent_grad.materialise()
                if type(parent_grad) is not np.ndarray:
                    parent_grad = np.asarray(parent_grad)
                if anomaly:
                    from .anomaly import check_backward
                    check_backward(node, parent_grad)
                if parent_grad.shape != parent.shape:
                    parent_grad = sum_to(parent_grad, parent.shape)
                _accumulate(parent, parent_grad)
        if not retain_graph:
            free(node)
    for leaf, products in deferred.items():
        leaf_grad = products.materialise()
        if anomaly:
            from .anomaly import check_backward
            check_backward(leaf, leaf_grad)
        _accumulate(leaf, leaf_grad)


def free(node: Node) -> None:
    """Drop what a node holds for the backward pass; keep what a reader needs."""
    node.kind = FREED
    node.inputs = ()
    node.rules = None
    node.checks = None


def sever(node: Node, info: dict | None = None) -> None:
    """Turn a recorded node into a cut, in place: gradients stop here, history behind it is freed."""
    if node.kind is LEAF:
        return
    node.kind = CUT
    node.inputs = ()
    node.rules = None
    node.checks = None
    node.cut_info = info or {}


def make_leaf(shape: tuple, dtype) -> Node:
    """The node of a tensor created by the user with `requires_grad=True`."""
    return Node("leaf", LEAF, (), None, shape, dtype)


def make_cut(source: Node | None, shape: tuple, dtype, info: dict | None = None) -> Node:
    """A node that starts history afresh where `source` was cut off."""
    node = Node("cut", CUT, (), None, shape, dtype)
    cut_info = dict(info or {})
    if source is not None:
        cut_info.setdefault("label", source.label)
        cut_info.setdefault("op", source.op)
        cut_info.setdefault("step", source.step)
    node.cut_info = cut_info
    node.label = source.label if source is not None else None
    return node


Rule = Callable[[np.ndarray], np.ndarray]
