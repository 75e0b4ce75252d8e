"""Which parameters a tensor depends on at all: the online runners' answer to "does tbptt's backward
pass reach this parameter?".

TBPTT gives a parameter a gradient at an update when the update's backward
pass reaches it, and leaves its `.grad` alone (None) when no path leads there
from the update's losses. RTRL and UORO walk nothing backwards through time,
so they carry the answer forwards, beside P_t: for each state tensor, the set
of parameters it depends on (the blocks of P_t = dh_t/dtheta that are not zero
by construction), read off each step's own tape:

    reach(y) = {the parameters y's step read on the way to y}
               | the reach of each tensor of h_(t-1) that y depends on,

for y a tensor of h_t or the step's loss. It is about paths, not values: a
zero that the arithmetic gives (a dead ReLU) is still a gradient, as under
tbptt.
"""

from __future__ import annotations

from typing import Any

from ..autograd import OP, Node, _by_creation
from ..tensor import Tensor
from .truncate import state_tensors


class Reach:
    """The reach of tensors, as sets of parameter indices (positions in `params`), for one run.

    A walk back over a step's tape stops at the *sources*: the parameters' nodes and those of the
    state the step was fed (whose reach is known from the step before). A tensor made before the
    step (the caller's initial state, or something the caller computed and the step reads: an
    encoder's output) reaches the parameters in its recorded history.

    `where` names the runner. RTRL's forward mode sees only what the step computes, so for "rtrl"
    a step reading a tensor computed from a parameter outside it (W_eff = W * mask, made once
    before the run) is an error: the gradient through it would be missing. UORO's reverse passes
    follow it.
    """

    def __init__(self, params: list[Tensor], names: list[str], where: str) -> None:
        self.params, self.names, self.where = params, names, where
        self.made_before = {}       # node made before the step -> the parameters behind it (each looked up once)

    def of_initial(self, state: Any) -> list[frozenset[int]]:
        """The reach of each tensor of the caller's initial state (a parameter reaches itself)."""
        return [frozenset() if h._node is None else self.behind(h._node) for h in state_tensors(state)]

    def sources(self, fed: list[Node | None], reaches: list[frozenset[int]]) -> dict[Node, frozenset[int]]:
        """Where a walk back over a step's tape stops: the parameters' nodes, each reaching itself,
        and the nodes of the state the step was fed (taken before the step: an in-place operator
        in it gives the tensor a new node), each reaching what that state tensor reached."""
        sources = {p._node: frozenset([i]) for i, p in enumerate(self.params) if p._node is not None}
        for node, reach in zip(fed, reaches):
            if node is not None:
                sources[node] = sources.get(node, frozenset()) | reach
        return sources

    def of(self, tensor: Tensor, sources: dict[Node, frozenset[int]], made_after: int, t: int) -> frozenset[int]:
        """The parameters `tensor`, a result of step t, depends on: a walk back over the step's nodes
        (those numbered after `made_after`) to the sources and to nodes made before the step."""
        if tensor._node is None:
            return frozenset()
        found, stack, seen = set(), [tensor._node], {tensor._node}
        while stack:
            node = stack.pop()
            if node in sources:
                found |= sources[node]
            elif node.seq > made_after:                 # made by the step: walk on
                for parent in node.inputs:
                    if parent is not None and parent not in seen:
                        seen.add(parent)
                        stack.append(parent)
            elif node.kind is OP:                       # computed outside the step, and read by it
                behind = self.behind(node)
                if behind and self.where == "rtrl":
                    raise self._computed_outside_error(node, behind, t)
                found |= behind
        return frozenset(found)

    def behind(self, root: Node) -> frozenset[int]:
        """The parameters in the recorded history of a node made before the step: one sweep over the
        nodes not looked up yet, then each node's reach in creation order (inputs first), so that a
        graph read at every step (an encoder's outputs) is walked once a run, not once a step."""
        known = self.made_before
        if root in known:
            return known[root]
        index = {p._node: i for i, p in enumerate(self.params) if p._node is not None}
        new, seen = [root], {root}
        for node in new:                                # the list grows while it is swept
            for parent in node.inputs:
                if parent is not None and parent not in seen and parent not in known:
                    seen.add(parent)
                    new.append(parent)
        for node in sorted(new, key=_by_creation):
            reach = {index[node]} if node in index else set()
            for parent in node.inputs:
                if parent is not None:
                    reach |= known[parent]
            known[node] = frozenset(reach)
        return known[root]

    def _computed_outside_error(self, node: Node, behind: frozenset[int], t: int) -> ValueError:
        return ValueError(
            f"{self.where}: step {t} reads a tensor computed from the parameter {self.names[min(behind)]} "
            f"outside the step ({node.describe()}: made before the run, or kept from an earlier step); "
            "RTRL's forward mode sees only the ops a step runs, so the gradient through it would be "
            "missing. Compute it inside step (or use tbptt or uoro, whose reverse passes follow it)")
