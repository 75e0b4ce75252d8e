"""What a drawing knows about a graph, found in a few linear passes over its nodes: the order, the
time step of each node, the parameters' names, the recurrent state and its gradient norms."""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any, Iterable, Mapping

from ..autograd import CUT, FREED, LEAF, Node, hooks, topological_order
from ..checks import is_int
from ..grad_mode import is_grad_enabled
from ..tensor import Tensor
from .style import norm

STATE_LABELS = ("h", "c")


_JOINS = ("stack", "concat")    # ops that put their operands side by side


class GraphInfo:
    """What the drawing needs to know about a graph, found in a few linear passes."""

    def __init__(self, roots: list[Node], params: Mapping[str, Any] | None, max_steps: int | None) -> None:
        self.roots = roots
        self.order = _walk(roots)
        self.ids = {node: f"n{i}" for i, node in enumerate(self.order)}
        self.names = parameter_names(params, self.ids)
        self.data = {getattr(t, "_node", None): t for t in (params or {}).values()}
        self.grad_range = None      # the colour scale draw() was given
        self.norm_of = "h"          # what ||dL/d<norm_of>_t|| measures: h, c, or (unlabelled) the state
        self.step_of = {}
        for node in self.order:
            self.step_of[node] = self._step(node)
        self.steps = sorted({s for s in self.step_of.values() if s is not None})
        self.hidden_steps = []
        if max_steps is not None and len(self.steps) > max_steps:
            head = max_steps // 2
            self.hidden_steps = self.steps[head:len(self.steps) - (max_steps - head)]
        hidden = set(self.hidden_steps)
        self.shown_steps = [s for s in self.steps if s not in hidden]
        self.shown_set = set(self.shown_steps)
        # the nodes drawn, in topological order: the views group and lay out only these
        self.drawn = [node for node in self.order if not self.hidden(node)] if hidden else self.order
        self.cut_steps = sorted({self.step_of[n] for n in self.order
                                 if n.kind == CUT and self.step_of[n] is not None})

    def _step(self, node: Node) -> int | None:
        if node in self.names:
            return None
        if node.kind == CUT and is_int((node.cut_info or {}).get("step")):
            return node.cut_info["step"]        # (a step recorded with the cut that is no integer is not one)
        if node.step is not None or node.kind == LEAF:
            return node.step
        if len(node.inputs) > 2:
            return None     # a join over steps (a stack of outputs) belongs to none of them
        found = [self.step_of[p] for p in node.inputs if p is not None and self.step_of[p] is not None]
        if node.op in _JOINS and len(set(found)) > 1:
            return None     # (a stack of two steps' outputs too; a sum of two steps' losses follows the later)
        return max(found) if found else None

    def hidden(self, node: Node) -> bool:
        """Whether the node sits in an elided step."""
        step = self.step_of[node]
        return step is not None and self.hidden_steps[0] <= step <= self.hidden_steps[-1] \
            if self.hidden_steps else False

    def is_param(self, node: Node) -> bool:
        return node in self.names or (node.kind == LEAF and node.step is None and bool(node.label))

    def grad(self, node: Node) -> Any:
        """The node's gradient as the drawing shows it: None for a node freed by a backward pass
        (other than a root): that pass was another loss's, since a pass from a root that is still
        drawn whole cannot have run (it would have freed the root too, or failed on the freed node)."""
        return None if node.kind == FREED and node not in self.roots else node.grad

    def name(self, node: Node) -> str:
        if node in self.names:
            return self.names[node]
        return ".".join(part for part in (node.scope, node.label) if part) or node.op

    @cached_property
    def states(self) -> list[Node]:
        """The nodes holding each step's state: those labelled h or c; in a graph without such
        labels, what a step hands to the next (nodes of step t read by the step after it, and the
        nodes in the same places of the last step), scalars left out unless nothing else is handed on."""
        def candidate(node: Node) -> bool:
            return node.kind != CUT and self.step_of[node] is not None and not self.is_param(node)

        labelled = [node for node in self.order if node.label in STATE_LABELS and candidate(node)]
        if labelled:
            return labelled
        by_step = {}
        for node in self.order:
            if candidate(node) and node.step is not None:
                by_step.setdefault(self.step_of[node], []).append(node)
        previous = dict(zip(self.steps[1:], self.steps))   # (steps numbered with gaps: 1, 3, 5)
        handed = set()
        for node in self.order:
            step = self.step_of[node]
            for parent in node.inputs:
                if parent is not None and candidate(parent) and step is not None \
                        and self.step_of[parent] == previous.get(step) and node.step is not None:
                    handed.add(parent)
        if any(node.shape != () for node in handed):
            handed = {node for node in handed if node.shape != ()}
        if not handed or not self.steps:
            return []
        last = self.steps[-1]
        before = by_step.get(previous.get(last), [])
        places = {i for i, node in enumerate(before) if node in handed}
        ending = by_step.get(last, [])
        if len(ending) == len(before):
            handed.update(ending[i] for i in places if ending[i].op == before[i].op)
        return [node for node in self.order if node in handed]

    def grad_norms(self) -> dict[int, float]:
        """||dL/dh_t|| per shown step (the c states when no h has a grad; unlabelled states
        together), from this pass's gradients: cut nodes hold none."""
        states = self.states
        groups = [[n for n in states if n.label == label] for label in STATE_LABELS]
        groups.append([n for n in states if n.label not in STATE_LABELS])
        squares = {}
        for name, group in zip(STATE_LABELS + ("state",), groups):
            self.norm_of = name
            for node in group:
                step = self.step_of[node]
                grad = self.grad(node)
                if grad is not None and step in self.shown_set:
                    squares[step] = squares.get(step, 0.0) + norm(grad) ** 2
            if squares:
                break
        return {step: math.sqrt(total) for step, total in squares.items()}


def parameter_names(params: Mapping[str, Any] | None, ids: Mapping[Node, str]) -> dict[Node, str]:
    """node -> the name it is drawn with, for the parameters in the graph (`ids`): a tensor given
    under several names (tied weights) is one node, named by all of them, in the order given."""
    names = {}
    for name, tensor in (params or {}).items():
        node = getattr(tensor, "_node", None)
        if node is not None and node in ids:
            names.setdefault(node, []).append(name)
    return {node: ", ".join(given) for node, given in names.items()}


def _walk(roots: list[Node]) -> list[Node]:
    """Topological order of everything reachable from the roots, each node once (with the
    parts made only for drawings, `autograd.hooks.unfold`)."""
    hooks.unfold(roots)
    if len(roots) == 1:
        return topological_order(roots[0])
    seen, order = set(), []
    for root in roots:
        for node in topological_order(root):
            if node not in seen:
                seen.add(node)
                order.append(node)
    return order


def graph_roots(root: Any, caller: str) -> list[Node]:
    """The nodes to draw from: `root` is a tensor with history, its Node, or a tuple or list of
    them. Errors name `caller`: something else is a TypeError, a tensor without history a ValueError."""
    items = list(root) if isinstance(root, (tuple, list)) else [root]
    if not items:
        raise ValueError(f"{caller}: expected a tensor with history (or its Node), or a tuple of them; "
                         f"got an empty {type(root).__name__}")
    nodes = []
    for item in items:
        if not isinstance(item, (Tensor, Node)):
            raise TypeError(f"{caller}: expected a tensor with history (or its Node), or a tuple of them; "
                            f"got {type(item).__name__}")
        node = item if isinstance(item, Node) else item._node
        if node is None:
            off = " (recording is off here: mg.no_grad() or mg.inference_mode() is active)" \
                if not is_grad_enabled() else ""
            raise ValueError(f"{caller}: expected a tensor with history (or its Node), got {item!r}; a tensor "
                             "has no graph to draw when nothing it was computed from requires grad, or when it was "
                             f"made under mg.no_grad() or mg.inference_mode(), by detach() or by mg.jvp{off}")
        nodes.append(node)
    return nodes


def named_tensors(params: Any, caller: str) -> dict[str, Tensor] | None:
    """`params` as a dict name -> tensor: a mapping, or pairs as `model.named_parameters()` gives
    (the same tensor may come under several names, a name only with one tensor); errors name `caller`."""
    if params is None:
        return None
    named = {}
    for name, tensor in _param_items(params, caller):
        if not isinstance(name, str):
            raise TypeError(f"{caller}: params' names must be strings, got {type(name).__name__} {name!r}")
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{caller}: params maps names to tensors; {name!r} maps to {type(tensor).__name__} "
                            "(dict(model.named_parameters()) gives the tensors, a state_dict() their arrays)")
        if named.get(name, tensor) is not tensor:
            raise ValueError(f"{caller}: params gives the name {name!r} to two different tensors (two modules' "
                             "named_parameters() chained? prefix each module's names); one would be drawn unnamed")
        named[name] = tensor
    return named


def _param_items(params: Any, caller: str) -> list[tuple]:
    """The (name, tensor) pairs of `params`, a mapping or an iterable of pairs; TypeError for
    anything else (a view's name in the place of params says where it goes)."""
    if isinstance(params, Mapping):
        return list(params.items())
    if isinstance(params, (str, bytes, Tensor)) or not isinstance(params, Iterable):
        view = f" (to draw the {params!r} view, pass view={params!r})" \
            if isinstance(params, str) and params in ("cells", "ops") else ""
        raise TypeError(f"{caller}: params must be a mapping name -> tensor (e.g. dict(model.named_parameters())), "
                        f"got {type(params).__name__}{view}")
    items = list(params)
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(f"{caller}: params must be a mapping name -> tensor or (name, tensor) pairs "
                            f"(e.g. model.named_parameters()), got {type(params).__name__} holding "
                            f"{type(item).__name__}")
    return items
