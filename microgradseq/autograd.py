"""The tape: graph nodes, the switches that control recording, and the backward pass.

Every tensor that takes part in differentiation points at a `Node`. A node is
small and never points back at its tensor (no reference cycles, so Python's
cyclic garbage collector has nothing to chase). It knows:

- `op`: the op's name (`"tanh"`, `"matmul"`, ...), or `"leaf"` / `"cut"`;
- `kind`: an op application, a leaf, a cut, a node a backward pass freed, or
  a mark (a fused node's per-step state, for drawings): `OP`, `LEAF`, `CUT`,
  `FREED`, `MARK` below;
- `inputs`: the nodes of the op's operands, an ordered tuple (`a + a` has two
  edges); `None` stands for a constant operand;
- `rules`: one vector-Jacobian product per operand, `rule(g, kept) -> dL/d input`,
  where `g = dL/d output`; rules are shared by every node of an op;
- `saved`: what the op kept for each rule (`kept = saved[i]`: tanh keeps its
  output, mul each operand's partner), the arrays the tape holds;
- what a reader needs: `shape`, `dtype`, `label` (`"h"`, `"f_gate"`), `step`
  (the time step) and `scope` (the module path that made it).

The backward pass walks the nodes in reverse topological order (the reachable
nodes sorted by creation number, no recursion), so each node's gradient is
complete before its rules hand it on. `sum_to` undoes broadcasting in exactly one place.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import operator
import weakref
import zlib
from typing import Iterator, NamedTuple

import numpy as np

from .checks import is_int

# What a node is: an op application; a leaf (a tensor made by the user); a cut (a state whose
# history was dropped by truncation); freed (backward is done with it); a mark (a fused node's
# per-step state, kept so drawings show one box per step: drawn, never differentiated).
OP, LEAF, CUT, FREED, MARK = "op", "leaf", "cut", "freed", "mark"

_created = itertools.count()


class Node:
    """One recorded step of the computation: an op application, a leaf or a cut."""

    __slots__ = ("op", "kind", "inputs", "rules", "shape", "dtype", "grad", "label", "step", "scope",
                 "checks", "value", "cut_info", "visit", "seq", "owns_grad", "saved")

    def __init__(self, op: str, kind: str, inputs: tuple, rules, shape: tuple, dtype, saved=None) -> None:
        self.seq = next(_created)   # creation order: every node is made after its inputs
        self.op = op
        self.kind = kind
        self.inputs = inputs
        self.rules = rules
        self.saved = saved      # one entry per rule (ops only)
        self.shape = shape
        self.dtype = dtype
        self.grad = None
        self.owns_grad = False  # this backward pass allocated `grad` itself: it may add into it in place
                                # (every pass resets it for the nodes it reaches before it starts)
        self.label = None
        self.step = state.step
        self.scope = state.scope
        self.checks = None      # in-place detection: ((array, checksum, owner tensor, or None for the
                                # node's own output), ...) and `HandOut`s
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

    __slots__ = ("grad_enabled", "anomaly", "step", "scope", "backward_pass", "filling", "module_call")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.anomaly = False
        self.step = None
        self.scope = ""
        self.backward_pass = 0      # a new number for every backward pass (rules may cache per pass)
        self.filling = None         # the array a layer is writing its steps into (see `filling`)
        self.module_call = 0        # a number for each outermost module call in progress, 0 outside


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


class at_step:  # noqa: N801  (used like a function: `with at_step(t):`)
    """Stamp every node made inside the block with time step `t` (numbered from 1).

    A class rather than a generator-based context manager: a layer enters one
    per time step, and this costs a third as much.
    """

    __slots__ = ("step", "previous")

    def __init__(self, t: int | None) -> None:
        if type(t) is not int and t is not None and not is_int(t):  # (a layer's int: one test, once a step)
            raise TypeError(f"step: a time step is an integer (or None), got {t!r}")
        self.step = t

    def __enter__(self) -> None:
        self.previous = state.step
        state.step = self.step

    def __exit__(self, *exc_info) -> None:
        state.step = self.previous


@contextlib.contextmanager
def filling(array: np.ndarray) -> Iterator[None]:
    """Inside the block, ops may write into views of `array` (their `out=`) unwatched.

    An op that writes into a caller's `out=` array watches it for in-place
    changes, as `.data` does: the caller still holds it. A layer that writes
    each step's state into a row of its output array is the one exception:
    nobody else holds that array while the layer fills it, and the layer
    makes it read-only before handing it out.
    """
    previous = state.filling
    state.filling = array
    try:
        yield
    finally:
        state.filling = previous


_module_calls = itertools.count(1)


def take_module_call() -> int:
    """A new number for an outermost module call (see `Tensor._fingerprint`)."""
    return next(_module_calls)


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
    """A fingerprint of an array's bytes (crc32), to notice in-place changes."""
    if not array.flags.c_contiguous:
        array = array.T if array.T.flags.c_contiguous else np.ascontiguousarray(array)
    return zlib.crc32(array)    # (a C-contiguous array is read as its bytes)


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
    factors turns them into a few large products, [g_1; ...; g_T]^T [x_1; ...; x_T]
    a block of rows at a time, instead of T small products and T additions:
    the same sum, computed the way a hand-written BPTT computes it. With no
    right factors (`right=None`) the sum is of the rows of the left ones,
    sum_k 1^T g_k: a bias's gradient.
    """

    __slots__ = ("lefts", "rights")

    def __init__(self, left: np.ndarray, right: np.ndarray | None = None) -> None:
        self.lefts, self.rights = [left], [right]

    def extend(self, other: "StackedProducts") -> None:
        self.lefts += other.lefts
        self.rights += other.rights

    def materialise(self) -> np.ndarray:
        """The sum of the products."""
        return _sum_products_sharing_g([self])[0]


# Rows of factors stacked at a time: about _BLOCK_BYTES of them (but at least _MIN_BLOCK_ROWS
# rows, so that each product stays large). Stacking every step at once would make a copy of
# all the factors at every pass (26 MB of g for an LSTM at (512, 32)); a block is small, and
# the next block reuses its memory.
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


def _sum_products_sharing_g(group: list[StackedProducts]) -> list[np.ndarray]:
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


def _groups_sharing_g(deferred: dict) -> list[list[Node]]:
    """The leaves whose deferred products share their left factors, grouped (insertion order kept)."""
    groups = {}
    for leaf, products in deferred.items():
        groups.setdefault(_identity_key(products.lefts), []).append(leaf)
    return list(groups.values())


class Scatter:
    """dL/dx for y = x[index]: `grad` at the indexed positions and zero elsewhere, not yet written out.

    The backward pass adds it into one zero-initialised buffer per operand, so
    the T slices a sequence takes of one array (or the gates an LSTM cuts from
    one projection) cost T small writes, not T full-size arrays and T additions.
    """

    __slots__ = ("index", "grad", "repeats")

    def __init__(self, index, grad: np.ndarray, repeats: bool) -> None:
        self.index, self.grad, self.repeats = index, grad, repeats

    def add_into(self, full: np.ndarray) -> None:
        if self.repeats:                # integer arrays may name one position twice: add each
            np.add.at(full, self.index, self.grad)
        else:
            view = full[self.index]
            if type(view) is np.ndarray and view.base is full:
                view += self.grad       # a view: add in place
            else:                       # one element (a scalar), or a copy (x[True])
                full[self.index] += self.grad


_passes = itertools.count(1)
_by_creation = operator.attrgetter("seq")


def topological_order(root: Node) -> list[Node]:
    """Nodes reachable from `root`, each after all of its inputs.

    An op's inputs exist before the op is recorded, so creation order is a
    topological order: collect what is reachable (a breadth-first sweep, no
    recursion) and sort it by creation number.
    """
    stamp = next(_passes)
    root.visit = stamp
    order = [root]
    for node in order:              # the list grows while it is swept
        for child in node.inputs:
            if child is not None and child.visit != stamp:
                child.visit = stamp
                order.append(child)
    order.sort(key=_by_creation)
    return order


def unfold(roots: list[Node]) -> None:
    """Make the parts of the graphs behind `roots` that are made only when a drawing asks.

    An op's last input may be a mark standing in for nodes that only drawings
    read, with what makes them (`make(node)`) in its slot of `saved`: a fused
    sequence node's step marks (`nn/fused/marks.py`), which would cost a node
    per state per step in every training step. They are made here, in
    creation order (a layer's marks feed on the marks of the layer beneath).
    """
    for root in roots:
        for node in topological_order(root):
            last = node.inputs[-1] if node.kind is OP and node.inputs else None
            if last is not None and last.kind is MARK and node.saved[-1] is not None:
                node.saved[-1].make(node)


def _freed_error(node: Node) -> RuntimeError:
    return RuntimeError(
        f"backward through a graph that has already been freed (node {node.describe()}): "
        "a backward pass frees the graph it walked; pass retain_graph=True to the first "
        "backward() to walk it again")


class HandOut(NamedTuple):
    """An array handed out (`.data`) after nodes had recorded it unwatched: one of its node's
    `checks`. The nodes made in [since, until) (creation numbers) may keep it."""
    array: weakref.ref
    checksum: int
    since: int
    until: int

    def __reduce__(self):
        """A pickled graph keeps none of its arrays' identities: the check is spent."""
        return HandOut, (_gone, self.checksum, self.since, self.until)


def _gone() -> None:
    """A weak reference whose array is gone."""
    return None


def check_own_output(node: Node, array: np.ndarray) -> None:
    """Fingerprint `array`, the node's own output, on the node: every pass that reaches the
    node (and so every pass through an op that took the output) compares it."""
    node.checks = (node.checks or ()) + ((array, checksum(array), None),)


def take_creation_number(count: int = 1) -> int:
    """Use up `count` consecutive creation numbers, larger than every node's made so far and
    smaller than every later one's; returns the first."""
    first = next(_created)
    for _ in range(count - 1):
        next(_created)
    return first


def hand_out(node: Node, array: np.ndarray, since: int) -> None:
    """`array`, the output of `node` (an op or a leaf), leaves our hands through `.data`.

    Ops record an array unwatched while nothing else can write into it (a
    parameter's array between optimizer steps, an op's output), so a training
    step fingerprints no weight and no state. Nodes made from `since` until now
    may have kept it (or a view of it): fingerprint it for them, on `node`,
    which every pass through them reaches. (Nodes made later see a handed-out
    array and fingerprint it themselves.) A leaf keeps the hand-out of its
    latest array only: an optimizer gives it a new array at every step.
    """
    handed = HandOut(weakref.ref(array), checksum(array), since, take_creation_number())
    if node.kind is LEAF:
        node.checks = (handed,)
    else:
        node.checks = (node.checks or ()) + (handed,)


def _check_unchanged(node: Node, verified: dict, order: list[Node]) -> None:
    """Raise if an array this node checks was written in place since it was fingerprinted, and
    the node may keep it (an operand the node's rules do not read may change freely).

    `verified` maps id(array) -> checksum for arrays already fingerprinted in
    this pass, so a weight saved by every step is read once. `order` is the
    pass's nodes by creation number, for the nodes a `HandOut` covers.
    """
    for check in node.checks:
        if type(check) is HandOut:
            _check_handed_out(node, check, order)
            continue
        array, recorded, owner = check
        current = verified.get(id(array))
        if current is None:
            current = verified[id(array)] = checksum(array)
        if current != recorded:
            if owner is None:               # the node's own output (`check_own_output`)
                raise _changed_error(describe_output(node), None)
            if may_keep(node.saved, array):
                raise _changed_error(owner._describe_owner(), node)


def _check_handed_out(node: Node, handed: HandOut, order: list[Node]) -> None:
    """Raise if the array changed and a node of this pass that recorded it unwatched may keep it.

    Those are the nodes made before the hand-out that take `node`, and the nodes made at any
    time that take a view of it (`_VIEW_OPS` pass it on) made before the hand-out: such a
    view's tensor was not handed out, so the ops that use it record it unwatched. (Ops made
    after the hand-out that take `node`'s tensor, or a view made after it, watch it themselves.)
    """
    array = handed.array()
    if array is None or checksum(array) == handed.checksum:
        return                          # gone with the nodes that kept it, or unchanged
    holders = {node}                    # node, and the views of its array its ops leave unwatched
    start = bisect.bisect_left(order, handed.since, key=_by_creation)
    for user in itertools.islice(order, start, None):
        if user.kind is not OP:
            continue
        taken = [parent for parent in user.inputs if parent in holders]
        if not taken or (user.seq >= handed.until and all(parent is node for parent in taken)):
            continue                    # takes none, or only the handed-out tensor, after the hand-out
        if user.op in _VIEW_OPS:
            if not (user.op == "getitem" and user.saved[0][1]):     # (an index array copies)
                holders.add(user)
        elif may_keep(user.saved, array):
            raise _changed_error(describe_output(node), user)


_VIEW_OPS = frozenset({"getitem", "reshape", "transpose"})    # ops whose output may view their input


def _changed_error(what: str, saved_by: Node | None) -> RuntimeError:
    when = "after it was recorded" if saved_by is None else f"after {saved_by.describe()} recorded it"
    return RuntimeError(
        f"{what} was changed in place {when}; gradients would use the new values. Replace the "
        "array (t.data = t.data - lr * t.grad) instead of writing into it, or run backward() first")


class Unsaid(tuple):
    """The `saved` of an op recorded without saying what its rules keep (a custom op whose rules
    close over their arrays): None for every operand, and `may_keep` assumes it keeps anything."""

    __slots__ = ()


def may_keep(saved: tuple, array: np.ndarray) -> bool:
    """Whether what a node saved (`node.saved`) may include `array` or a view of it."""
    if type(saved) is Unsaid:
        return True
    items = list(saved)
    while items:
        item = items.pop()
        if isinstance(item, tuple):
            items.extend(item)
        elif isinstance(item, np.ndarray):
            if np.may_share_memory(item, array):
                return True
        elif not isinstance(item, _NOTHING_TO_KEEP):
            return True                 # something we cannot look into (a fused node's closure)
    return False


_NOTHING_TO_KEEP = (type(None), int, float, slice, str, type(Ellipsis), np.integer, np.bool_, np.dtype)


def describe_output(node: Node) -> str:
    """How an in-place error names the tensor a node made."""
    if node.kind is LEAF:
        name = f"{node.label!r} " if node.label else ""
        return f"the leaf tensor {name}of shape {node.shape}"
    return f"the output of {node.describe()}"


def _accumulate(node: Node, grad: np.ndarray) -> None:
    """node.grad += grad, in the node's dtype, never writing into an array this pass does not own.

    Only a grad array this pass allocated itself (`node.owns_grad`) is added
    into in place. A node's first gradient is adopted as is when it is an
    op's (the rule made it); a leaf's is copied, since the leaf keeps it
    after the pass.
    """
    if node.owns_grad:
        node.grad += grad
        return
    if grad.dtype is not node.dtype and grad.dtype != node.dtype:
        grad = grad.astype(node.dtype)
    if node.grad is None:
        if node.kind is OP:
            node.grad = grad
            return
        node.grad = grad.copy()
    else:
        node.grad = node.grad + grad
    node.owns_grad = True


def _scatter(node: Node, scatter: Scatter) -> None:
    """node.grad += scatter, written into a buffer this pass owns (allocated on first use)."""
    if not node.owns_grad:
        node.grad = (np.zeros(node.shape, dtype=node.dtype) if node.grad is None
                     else node.grad.astype(node.dtype, copy=True))
        node.owns_grad = True
    scatter.add_into(node.grad)


def _hand_over(node: Node, parent: Node, parent_grad, deferred: dict) -> np.ndarray | None:
    """A rule's result that is not a plain array: a `Scatter` is added into the parent's
    buffer and a leaf's `StackedProducts` kept for the end of the pass (both return None);
    anything else comes back as an array."""
    if type(parent_grad) is Scatter:
        if state.anomaly:
            from .anomaly import check_backward
            check_backward(node, parent_grad.grad)
        _scatter(parent, parent_grad)
        return None
    if type(parent_grad) is StackedProducts:
        if parent.kind is LEAF:
            if parent in deferred:
                deferred[parent].extend(parent_grad)
            else:
                deferred[parent] = parent_grad
            return None
        return parent_grad.materialise()
    return np.asarray(parent_grad)


def backward(root: Node, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Reverse-mode pass from `root`, seeded with dL/d root = `grad`.

    Leaf grads accumulate across passes; every other node's grad is this pass's
    alone. Without `retain_graph`, each node is freed (its saved arrays and its
    edges dropped) as soon as its rules have run, so memory comes back during
    the pass, not after it.
    """
    order = topological_order(root)
    state.backward_pass += 1
    verified = {}
    for node in order:          # first, with nothing changed yet: can this pass run?
        if node.checks is not None:
            _check_unchanged(node, verified, order)
        elif node.kind is FREED:
            raise _freed_error(node)
    for node in order:
        if node.kind is not LEAF:
            node.grad = None
        node.owns_grad = False  # a grad array from an earlier pass may be held by the user
    _accumulate(root, grad)
    anomaly = state.anomaly
    deferred = {}               # leaf node -> StackedProducts, summed once at the end
    ndarray = np.ndarray        # (a local name: the loop reads it at every edge)
    while order:
        node = order.pop()
        if node.kind is not OP:
            continue
        g = node.grad
        if g is not None:
            rules, saved = node.rules, node.saved
            i = -1                          # operand i: (a counter is a third of the cost of a zip of three)
            for parent in node.inputs:
                i += 1
                if parent is None:
                    continue                # a constant operand
                kind = parent.kind
                if kind is not OP and kind is not LEAF:
                    continue                # a cut, or freed history
                parent_grad = rules[i](g, saved[i])
                if type(parent_grad) is not ndarray:
                    parent_grad = _hand_over(node, parent, parent_grad, deferred)
                    if parent_grad is None:
                        continue
                if anomaly:
                    from .anomaly import check_backward
                    check_backward(node, parent_grad)
                if parent_grad.shape != parent.shape:
                    parent_grad = sum_to(parent_grad, parent.shape)
                if parent.grad is None and kind is OP and parent_grad.dtype is parent.dtype:
                    parent.grad = parent_grad       # the common case of _accumulate, inlined
                else:
                    _accumulate(parent, parent_grad)
        if not retain_graph:
            node.kind = FREED                       # free the node: drop what it saved, its rules and edges
            node.inputs = ()
            node.rules = node.saved = node.checks = None
    for leaves in _groups_sharing_g(deferred):      # each group's factors go as soon as it is summed
        sums = _sum_products_sharing_g([deferred.pop(leaf) for leaf in leaves])
        for leaf, leaf_grad in zip(leaves, sums):
            if anomaly:
                from .anomaly import check_backward
                check_backward(leaf, leaf_grad)
            if leaf.grad is None and leaf_grad.dtype == leaf.dtype:
                leaf.grad = leaf_grad               # a fresh product: nothing else holds it, no copy
            else:
                _accumulate(leaf, leaf_grad)


def sever(node: Node, info: dict | None = None) -> None:
    """Turn a recorded node into a cut, in place: gradients stop here, history behind it is freed."""
    if node.kind is LEAF:
        return
    node.kind = CUT
    node.inputs = ()
    node.rules = node.saved = None
    # Steps after the cut still keep this node's output: its own checks stay, those of its inputs go.
    node.checks = tuple(check for check in node.checks or ()
                        if type(check) is HandOut or check[2] is None) or None
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

