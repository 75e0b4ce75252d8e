"""The truncation operator: keep a state's value, drop its history.

Two primitives on the tape: a *cut* node starts history afresh (`truncate`
gives a state one), and `sever` turns a recorded node into a cut in place,
after later steps have already used it (how the runner cuts k2 steps back).
Gradients stop at a cut: the backward pass passes nothing to it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from ..autograd import CUT, LEAF, Node
from ..tensor import Tensor, owned
from ..trees import fold, same_kind


def state_tensors(state: Any) -> Iterator[Tensor]:
    """Every tensor in a state: a tensor, or (nested) tuples/lists of tensors, in order."""
    stack = [state]
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            yield item
        elif isinstance(item, (tuple, list)):
            stack.extend(reversed(item))
        elif item is not None:
            raise _not_a_state(item)


def map_state(fn: Callable[[Tensor], Tensor], state: Any) -> Any:
    """The state with `fn` applied to each tensor, in order, keeping its tuple structure (a
    namedtuple stays one); TypeError for anything but tensors, (nested) tuples and lists of them,
    and None."""
    if isinstance(state, Tensor):           # the common case, once a step: quick
        return fn(state)

    def mapped(item: Any) -> Any:
        if isinstance(item, Tensor):
            return fn(item)
        if item is not None:
            raise _not_a_state(item)
        return None
    return fold(state, mapped, same_kind, kinds=(tuple, list))


def _not_a_state(item: Any) -> TypeError:
    return TypeError(f"truncate: a state is a Tensor or a tuple of Tensors, got {type(item).__name__}")


def cut_node(source: Node | None, shape: tuple, dtype, info: dict | None = None) -> Node:
    """A node that starts history afresh where `source` was cut off (what drawings show as the cut)."""
    node = Node("cut", CUT, (), None, None, shape, dtype)
    node.cut_info = dict(info or {})
    if source is not None:
        node.cut_info.setdefault("label", source.label)
        node.cut_info.setdefault("op", source.op)
        node.cut_info.setdefault("step", source.step)
        node.label = source.label
    return node


def sever_node(node: Node, info: dict | None = None) -> None:
    """Turn a recorded node into a cut, in place: gradients stop here, history behind it is freed."""
    if node.kind is LEAF:
        return
    node.kind, node.inputs, node.rules, node.saved = CUT, (), None, None
    node.cut_info = info or {}


def _cut(tensor: Tensor, info: dict | None) -> Tensor:
    out = owned(tensor._data)
    out._node = cut_node(tensor._node, tensor.shape, tensor.dtype, info)
    return out


def truncate(state: Any, **info: Any) -> Any:
    """The state with the same values and no history: gradients stop here.

    Works on a tensor or a tuple of tensors (an LSTM's (h, c)). The result
    carries a cut node, so a drawing shows where the tape was cut; keyword
    arguments (such as k2=...) are recorded with it. Once nothing else holds
    the old state, everything behind the cut is freed.
    """
    return map_state(lambda t: _cut(t, info or None), state)


def sever(state: Any, **info: Any) -> None:
    """Cut a state's history in place, after later steps have already used it.

    Gradients arriving at the state stop there, and the history behind it is
    freed. This is how a TBPTT run cuts the tape k2 steps back.
    """
    for tensor in list(state_tensors(state)):       # (every item checked before any node is cut)
        if tensor._node is not None:
            sever_node(tensor._node, dict(info))
