"""What belongs to a truncated-BPTT run, so that its cuts and backward passes touch only that.

Rule 3 of the runners (docs/api.md, "Truncated BPTT"): the runner cuts only
nodes the run made. A tensor is the run's when a step made it (its node is
numbered after the step began) or when a step handed on the state it was fed.
Anything else a step returns (a learned reset state made once before the run,
a tensor made in a callback) is the caller's: the run cuts a copy of it. And a
step that takes in a graph of the caller's (an encoder's output read at every
step) makes the backward passes that walk it keep their graph, so the caller's
graph is not freed under it.
"""

from __future__ import annotations

from typing import Any

from ..autograd import CUT, OP
from ..tensor import Tensor, owned
from .truncate import map_state, state_tensors, truncate


def runners_own(tensor: Tensor) -> Tensor:
    """The caller's initial state tensor, through a node of the run's own (a copy) when it has
    history: a cut severs nodes in place, and a step may hand the state on unchanged. A state
    carried from an earlier run (`result.state`, a cut) is cut afresh at this run's step 0, so that
    drawings place it before this run's step 1, not at the step of the run that made it."""
    if tensor._node is None:
        return tensor
    return truncate(tensor, step=0) if tensor._node.kind is CUT else tensor.clone()


def for_step(state: Any) -> Any:
    """The state as a step is fed it: new tensor objects over the same arrays and nodes. An
    in-place operator in the step (`h += x W`) then changes the step's tensor, not the one the
    runner keeps in its window and cuts later (that would cut the step's new node instead)."""
    def alias(tensor: Tensor) -> Tensor:
        fed = owned(tensor._data)
        fed._node = tensor._node
        return fed
    return map_state(alias, state)


def callers_history(state: Any) -> bool:
    """Whether a state holds a tensor with history of its own (an op's result, not a leaf or a cut)."""
    return any(t._node is not None and t._node.kind is OP for t in state_tensors(state))


def runs_own(state: Any, fed: Any, made_after: int) -> Any:
    """The state a step (or a block) returned, with every tensor the run did not make in through a
    copy of the run's own (`runners_own`), so the runner cuts only nodes the run made (rule 3).

    A tensor is the run's when the call made it (its node numbered after `made_after`, taken just
    before the call) or when the call handed on a tensor of the state it was fed (the run's already).
    Anything else (a learned reset state made once before the run, a tensor made in a callback, a
    cut of the caller's such as an earlier run's result.state) is the caller's: a copy (or a fresh
    cut) is cut in its place, and the caller's node is left as it was."""
    if isinstance(state, Tensor):           # the common case, once a step: quick
        node = state._node
        if node is None or node.seq > made_after:
            return state

    def is_runs(tensor: Tensor) -> bool:
        node = tensor._node
        return node is None or node.seq > made_after or node in nodes_of(fed)

    if all(is_runs(tensor) for tensor in state_tensors(state)):
        return state
    return map_state(lambda tensor: tensor if is_runs(tensor) else runners_own(tensor), state)


def nodes_of(state: Any) -> list:
    """The nodes of a state's tensors (a Node compares by identity)."""
    if isinstance(state, Tensor):
        return [] if state._node is None else [state._node]
    return [t._node for t in state_tensors(state) if t._node is not None]


def takes_in_callers_graph(roots: list, fed: Any, made_after: int) -> bool:
    """Whether what a call made (the nodes numbered after `made_after` behind `roots`: its new state
    and its losses) takes in an op's result the run did not make: a graph of the caller's (an
    encoder's output, a learned reset state) that the backward passes through this call must keep.
    Anything else it takes is a leaf, a cut, a constant, or the state it was fed (the run's). A
    walk over the call's own nodes only: each node of the run is visited once, by the call that made it."""
    stack = [node for node in roots if node is not None and node.seq > made_after]
    seen, fed_nodes = set(stack), None
    while stack:
        for parent in stack.pop().inputs:
            if parent is None or parent in seen:
                continue
            seen.add(parent)
            if parent.seq > made_after:
                stack.append(parent)
            elif parent.kind is OP:
                if fed_nodes is None:
                    fed_nodes = nodes_of(fed)
                if parent not in fed_nodes:
                    return True
    return False


def keeps_callers_graph(callers_step: int, previous: int, cut: int) -> bool:
    """Whether the update after `previous`, cut at `cut`, walks the nodes of the last step (or block
    end) that took in a caller's graph, `callers_step` (0: the initial state had history; -1: none):
    through its loss, pending until this update, or through its state, until a cut is at or past it
    (the initial state's, while the cut is at 0). Such an update's backward pass keeps the graph it
    walks: the caller's is left as it was, and the run's own is freed by the cuts, as ever."""
    return callers_step > min(previous, cut) or (callers_step == 0 and cut == 0)

