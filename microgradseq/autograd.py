"""The tape and the reverse walk: how `loss.backward()` becomes the chain rule.

Every tensor that takes part in differentiation points at a `Node`, which
records how the tensor was made:

- `op`: the op's name (`"tanh"`, `"matmul"`, ...), or `"leaf"` for a tensor
  the user made with `requires_grad=True`;
- `inputs`: the nodes of the op's operands, an ordered tuple (`a + a` has two
  edges; `None` stands for a constant operand);
- `rules`: one vector-Jacobian product per operand, `rule(g, kept)`, which
  turns g = dL/d(output) into dL/d(operand);
- `saved`: what the op kept for each rule (`kept = saved[i]`: tanh keeps its
  output, mul each operand's partner);
- for people: `label` ("h"), `step` (the time step) and `scope` (the module path).

`run_backward` (what `t.backward()` calls) visits the nodes in reverse
topological order, so a node's gradient is complete before its rules pass it
on; `sum_to` undoes broadcasting in exactly one place. Arrays are read-only,
so what a node saved is what the forward pass computed. How a gradient is
added into a node is a hook (`hooks.gradients`); the engine installs a faster
one (`gradients.py`; `tensor_hooks.py` adds PyTorch's tensor hooks).
"""

from __future__ import annotations

import contextlib
import itertools
import operator
from contextvars import ContextVar
from typing import Any, Callable, Iterator

import numpy as np

# What a node is: an op application, a leaf, a cut (a state truncation stripped of its history,
# `bptt`), freed (a backward pass is done with it), a mark (a step inside a fused node, drawn only).
OP, LEAF, CUT, FREED, MARK = "op", "leaf", "cut", "freed", "mark"
creation_order = itertools.count()     # every node is numbered after the nodes it takes


# What the current thread records: grad mode, and the time step and module scope stamped on new
# nodes. Per thread, as PyTorch's grad mode is: one thread's `no_grad()` changes nothing another
# thread records. (Context variables: each thread, and each asyncio task, has its own value.)
grad_enabled = ContextVar("grad_enabled", default=True)
anomaly_checks = ContextVar("anomaly_checks", default=False)   # inside detect_anomaly() (anomaly.py)
current_step = ContextVar("current_step", default=None)         # inside at_step(t) (metadata.py)
current_scope = ContextVar("current_scope", default="")         # inside a module call (metadata.py)


@contextlib.contextmanager
def setting(variable: ContextVar, value) -> Iterator[None]:
    """`variable` holds `value` inside the block (in this thread), and what it held before after it."""
    previous = variable.get()
    variable.set(value)
    try:
        yield
    finally:
        variable.set(previous)


def no_grad(func: Callable | None = None) -> Any:
    """Record nothing inside the block (in this thread): results have no history. Also a decorator,
    `@no_grad()` or `@no_grad`."""
    block = setting(grad_enabled, False)
    return block if func is None else block(func)


class Node:
    """One recorded step of the computation: `op`, `inputs`, `rules`, `saved`, `label`, `step` and
    `scope` as above; `kind` (OP, LEAF, CUT, FREED, MARK); `seq`, its creation number, above every
    input's; `shape` and `dtype`, the output's, which each gradient added in is summed (`sum_to`) and
    cast to; `grad`, dL/d(output) once a pass reached it (a leaf's: summed over passes), else None;
    `value` and `cut_info`, for drawings."""

    __slots__ = ("op", "kind", "inputs", "rules", "saved", "shape", "dtype", "grad", "seq",
                 "label", "step", "scope", "value", "cut_info")

    def __init__(self, op: str, kind: str, inputs: tuple, rules, saved, shape: tuple, dtype) -> None:
        self.op = op
        self.kind = kind
        self.inputs = inputs
        self.rules = rules
        self.saved = saved
        self.shape = shape
        self.dtype = dtype
        self.grad = None
        self.seq = next(creation_order)
        self.label = None
        self.step = current_step.get()
        self.scope = current_scope.get()
        self.value = self.cut_info = None       # for drawings: a tiny output's values; what a cut cut

    def free(self) -> None:
        """Drop what the node saved, its rules and its edges: a backward pass is done with it."""
        self.kind, self.inputs, self.rules, self.saved = FREED, (), None, None

    def describe(self) -> str:
        """`'tanh' (label 'h', t = 3, in rnn.cell, shape (2, 4))`: how errors and drawings name a node."""
        details = [f"label {self.label!r}"] if self.label else []
        if self.step is not None:
            details.append(f"t = {self.step}")
        if self.scope:
            details.append(f"in {self.scope}")
        details.append(f"shape {self.shape}")
        return f"{self.op!r} ({', '.join(details)})"

    def __repr__(self) -> str:
        return f"Node({self.describe()})"


def record(op: str, inputs: tuple, rules: tuple, saved: tuple, shape: tuple, dtype) -> Node | None:
    """The node of an op's output, linked to its operands' nodes (`inputs`, None for a constant);
    None when nothing needs recording: recording is off, or no operand needs a gradient."""
    if not grad_enabled.get():
        return None
    for parent in inputs:
        if parent is not None and parent.kind is not CUT:     # (a cut state needs none)
            if parent.shape == shape:   # (an operand's equal tuple, shared: one object fewer)
                shape = parent.shape
            return Node(op, OP, inputs, rules, saved, shape, dtype)
    return None


def topological_order(root: Node) -> list[Node]:
    """Nodes reachable from `root`, each after all of its inputs.

    An op's inputs exist before the op is recorded, so creation order is a
    topological order: collect what is reachable (a sweep over a growing
    list, no recursion, so 100,000 steps deep is fine) and sort it.
    """
    seen, order = {root}, [root]
    for node in order:                  # the list grows while it is swept
        for parent in node.inputs:
            if parent is not None and parent not in seen:
                seen.add(parent)
                order.append(parent)
    order.sort(key=_by_creation)
    return order


_by_creation = operator.attrgetter("seq")


def run_backward(root: Node, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Reverse mode from `root`, seeded with dL/d(root) = `grad`: the chain rule,
    node by node,

        dL/dx = sum, over the edges from x into ops y, of (dL/dy)(dy/dx),

    each term a rule's vector-Jacobian product, `rules[i](g, saved[i])` with g = dL/dy.
    Each node's gradient is complete before its rules run (reverse topological
    order); each rule adds its input's share. Leaf gradients accumulate across
    passes. Without `retain_graph` a node is freed as soon as its rules have
    run, so memory comes back during the pass.
    """
    order = topological_order(root)
    with hooks.gradients(order) as gradients:   # how gradients are added (gradients.py)
        gradients.add(root, grad, None)
        while order:
            node = order.pop()                  # last first; once done, nothing holds it
            g = node.grad
            if g is None or node.kind is not OP:
                continue                        # no gradient reached it, or nothing to pass
            for i, parent in enumerate(node.inputs):    # input i: its rule, what it kept
                if parent is not None and (parent.kind is OP or parent.kind is LEAF):
                    # parent.grad += g (d node / d parent)
                    gradients.add(parent, node.rules[i](g, node.saved[i]), node)
            if not retain_graph:
                node.free()


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


class Gradients:
    """How one backward pass adds gradients into nodes, the plain way: node.grad += sum_to(grad).

    A context manager around the pass. On entry it checks that the pass can
    run (no node was freed by an earlier pass) and clears the gradients of
    every node but the leaves, which accumulate across passes.
    """

    __slots__ = ()

    def __init__(self, order: list[Node]) -> None:
        for node in order:
            if node.kind is FREED:
                raise self.freed_error(node)
            if node.kind is not LEAF:
                node.grad = None

    def add(self, node: Node, grad: np.ndarray, source: Node | None) -> None:
        """node.grad += grad (made by `source`'s rules), summed to the node's shape, in its dtype.
        (A rule may hand back a gradient not yet written out as an array, `gradients.Scatter` or
        `gradients.StackedProducts`, for the fast pass: here it is written out.)"""
        if grad is None:                    # (a rule with no gradient for this input)
            return
        if not isinstance(grad, np.ndarray):
            grad = grad.materialise(node.shape) if hasattr(grad, "materialise") else np.asarray(grad)
        grad = sum_to(grad, node.shape).astype(node.dtype, copy=False)
        node.grad = grad.copy() if node.grad is None else node.grad + grad

    def freed_error(self, node: Node) -> RuntimeError:
        return RuntimeError(
            f"backward through a graph that has already been freed (node {node.describe()}): a backward "
            "pass frees the graph it walked; pass retain_graph=True to the first backward() to walk it again")

    def __enter__(self) -> "Gradients":
        return self

    def __exit__(self, *exc_info) -> None:
        return None


class Hooks:
    """The named places where the rest of the library plugs into the core.

    - `gradients(order)`: what adds a pass's gradients into nodes; it may also
      shorten `order`, the list the walk then pops. The engine installs
      `tensor_hooks._gradients` in place of the plain `Gradients`: a
      `gradients.GradientPass` (scatter buffers, deferred weight products,
      anomaly checks) with the leaves' tensor hooks, which for
      `backward(inputs=...)` and `mg.autograd.grad` keeps in `order` only the
      nodes on a path to those tensors (`tensor_hooks.PrunedPass`).
    - `unfold(roots)`: make the parts of graphs that only drawings read
      (the step marks of fused layers, `nn/fused/marks.py`); called by `viz`.
    """

    gradients = Gradients
    unfold = staticmethod(lambda roots: None)


hooks = Hooks()
