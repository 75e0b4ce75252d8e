"""`draw`: the graph behind a tensor as a `graphviz.Digraph`, unrolled over time.

Only graph metadata is read (op, kind, inputs, shape, label, step, value, grad,
cut_info), so any graph can be drawn, whoever built it. Steps run left to
right, each in a subgraph `cluster_step_<t>` labelled `t = <t>`. Two views:

- `"cells"`: per step one box for the state (h, and c for an LSTM), one for
  what feeds it and one for what comes after it (outputs, losses);
- `"ops"`: every op node, as micrograd draws it, each step a column.

Each view has a module of its own (`cells_view`, `ops_view`), both drawing with
the pieces in `parts`.

The state of a step is what its nodes labelled `h` or `c` hold (the built-in
cells label theirs); in a graph with no such labels, it is what a step hands to
the next one (the nodes of step t that step t + 1 reads).

Node ids come from the topological order, so one graph always gives the same
DOT text. Every label is ASCII inside an HTML label with `&<>"'` escaped,
control characters written as `\\xNN` and other characters beyond ASCII as
character references (`&#952;`, drawn as `θ`), so no name can break the DOT. A
`backward()` frees the graph it walked; to draw a graph with its gradients,
call `backward(retain_graph=True)` first (`tbptt`'s `on_backward` hands over an
update's loss with its graph kept: `draw_update`).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Mapping

import graphviz
import numpy as np

from ..autograd import CUT, FREED, Node
from ..checks import flag, is_int
from .cells_view import draw_cells
from .graph import GraphInfo, graph_roots, named_tensors
from .ops_view import draw_ops
from .render import ensure_renderer
from .style import html_label, text


def draw(root: Any, params: Mapping[str, Any] | None = None, view: str = "cells",
         max_steps: int | None = 12, show_values: bool = True,
         grad_range: tuple[float, float] | None = None) -> graphviz.Digraph:
    """Draw the graph that produced `root` (a tensor, a Node, or a tuple of them).

    `params` maps names to parameter tensors (`dict(model.named_parameters())`,
    or the pairs `model.named_parameters()` gives); each parameter is drawn
    once, however many steps use it, with every name it is given (a tied
    weight has two). `view` is `"cells"` (a box per state per step) or
    `"ops"` (every op, a column per step). At most `max_steps` steps
    are drawn, the first and last halves, with a note saying how many were left
    out; `None` draws all. Tensors of at most 4 elements show their values (a leaf its
    current data) and grads once a backward has run, when `show_values`; other tensors
    (all, without `show_values`) the Euclidean norm of their grad, `|grad|`. After `loss.backward(retain_graph=True)`
    each step prints ||dL/dh_t|| (of c, or of unlabelled states, when no h has a
    gradient) and is coloured by its log10, on a scale from
    the largest norm's decade down at least four decades, or over
    `grad_range=(low, high)` (the same for every drawing that passes it);
    without `retain_graph` the backward frees the graph and only the root is
    left to draw.

    Save it with `mg.viz.render(graph, "graph.png")` (or `.svg`), or `graph.render("graph")`
    (SVG). Steps come from `with mg.viz.step(t):` blocks (the built-in layers stamp theirs);
    `mg.viz.draw_update` draws one update of truncated BPTT with its cut.
    """
    return _drawing("draw", root, params, view, max_steps, show_values, grad_range)[0]


def make_dot(var: Any, params: Mapping[str, Any] | None = None, show_attrs: bool = False,
             show_saved: bool = False, max_attr_chars: int = 50) -> graphviz.Digraph:
    """torchviz's `make_dot(var, params)`, so a script that draws with torchviz ports by its import
    (`from microgradseq.viz import make_dot`): every op of the graph behind `var` (a tensor, or a
    tuple of them), `draw`'s `"ops"` view with every step drawn, the parameters named by `params`.
    `show_attrs`, `show_saved` and `max_attr_chars` (how torchviz prints what backward nodes keep)
    are checked and accepted; the drawing shows tiny tensors' values and gradients instead.

        make_dot(model(x).mean(), params=dict(model.named_parameters())).render("graph", format="png")
    """
    flag(show_attrs, "show_attrs", "make_dot")
    flag(show_saved, "show_saved", "make_dot")
    if not is_int(max_attr_chars):
        raise TypeError(f"make_dot: max_attr_chars must be an integer, got {type(max_attr_chars).__name__}")
    return _drawing("make_dot", var, params, view="ops", max_steps=None, show_values=True, grad_range=None)[0]


def _drawing(caller: str, root: Any, params: Mapping[str, Any] | None, view: str, max_steps: int | None,
             show_values: bool, grad_range: tuple[float, float] | None) -> tuple[graphviz.Digraph, GraphInfo]:
    """`draw`, and what it found out about the graph (`draw_update` titles the drawing from it);
    errors name `caller`, the public function called."""
    grad_range = _checked_options(caller, view, max_steps, show_values, grad_range)
    params = named_tensors(params, caller)
    ensure_renderer()
    info = GraphInfo(graph_roots(root, caller), params, max_steps)
    info.grad_range = grad_range
    graph = graphviz.Digraph("microgradseq", format="svg")    # (graph.render(), .pipe(): what both renderers write)
    # nslimit: at most one network-simplex pass per node when placing boxes; small drawings come out the
    # same, and a long one (80 steps of an op chain) lays out in 0.15 s instead of 16 s in graphviz-pure
    graph.attr(rankdir="LR", fontname="Helvetica", newrank="true", compound="true", nslimit="1")
    graph.attr("node", fontname="Helvetica", fontsize="11", shape="box", style="rounded,filled",
               fillcolor="white")
    graph.attr("edge", fontname="Helvetica", fontsize="10", arrowsize="0.7")
    if any(node.kind == FREED for node in info.order):
        graph.attr(label=html_label(text("part of this graph was freed by backward(); call "
                                         "backward(retain_graph=True) to draw it whole")),
                   labelloc="t", fontcolor="firebrick")
    if view == "cells" and info.steps:
        draw_cells(graph, info, show_values)
    else:
        draw_ops(graph, info, show_values)
    return graph, info


def _checked_options(caller: str, view: Any, max_steps: Any, show_values: Any,
                     grad_range: Any) -> tuple[float, float] | None:
    """Check `draw`'s options, errors naming `caller`; returns `grad_range` as two floats (a pair
    of numpy scalars, say norms computed with numpy, is a grad_range too)."""
    if view not in ("cells", "ops"):
        raise ValueError(f"{caller}: view must be 'cells' or 'ops', got {view!r}")
    if max_steps is not None and (not is_int(max_steps) or max_steps < 2):
        raise ValueError(f"{caller}: max_steps must be None or an integer of at least 2, got {max_steps!r}")
    if not isinstance(show_values, (bool, np.bool_)):
        raise TypeError(f"{caller}: show_values must be True or False, got {type(show_values).__name__} "
                        f"{show_values!r}")
    if grad_range is not None and not (
            isinstance(grad_range, (tuple, list)) and len(grad_range) == 2
            and all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in grad_range)
            and 0 < grad_range[0] < grad_range[1] < math.inf):
        raise ValueError(f"{caller}: grad_range must be None or (low, high), two numbers with 0 < low < high, "
                         f"got {grad_range!r}")
    return None if grad_range is None else (float(grad_range[0]), float(grad_range[1]))


# ---- one TBPTT update ---------------------------------------------------------------------------

def injected_steps(root: Node) -> list[int]:
    """The steps whose losses a summed loss adds up: going down from the root through nodes made
    outside any step (the sum, a mean's division), the first nodes with a step."""
    found, stack, seen = set(), [root], set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node.step is not None:
            found.add(node.step)
        elif node.kind != CUT:
            stack.extend(parent for parent in node.inputs if parent is not None)
    return sorted(found)


def step_runs(steps: list[int]) -> str:
    """Sorted steps as their runs: `5 .. 8` for 5, 6, 7, 8; `2, 5, 8` for steps with targets only
    every third step (a run `2 .. 8` would say the steps between were injected too)."""
    runs = []
    for step in steps:
        if runs and step == runs[-1][1] + 1:
            runs[-1][1] = step
        else:
            runs.append([step, step])
    return ", ".join(str(first) if first == last else f"{first} .. {last}" for first, last in runs)


def recorded_update(root: Node) -> tuple[int | None, int]:
    """(u, c_u) as `tbptt` recorded them on the loss it hands to `on_backward`, else (None, 0).
    The graph alone cannot tell them: its last step is the last injected loss's, before u when
    the update's last steps have no target, and the cut is missing from it when the first op
    reading the cut state read nothing else (such an op is not recorded)."""
    recorded = root.cut_info if root.kind != CUT and isinstance(root.cut_info, dict) else {}
    update, cut = recorded.get("update"), recorded.get("cut")
    return (update, cut) if is_int(update) and is_int(cut) else (None, 0)


def draw_update(loss: Any, params: Mapping[str, Any] | None = None, view: str = "cells",
                max_steps: int | None = 12, show_values: bool = True,
                grad_range: tuple[float, float] | None = None) -> graphviz.Digraph:
    """Draw the window one TBPTT update backpropagated, from the loss tensor `tbptt` hands to
    `on_backward(u, loss)` (its graph kept, its gradients in place): `draw(loss, params, ...)`
    with a title naming the update's injected steps and its cut (u and c_u as the runner recorded
    them on the loss; for another loss, its last step and its latest cut). A loss kept past its
    `on_backward` call is refused (ValueError): later updates have cut its steps since.

        mg.bptt.tbptt(..., on_backward=lambda u, loss: mg.viz.render(
            mg.viz.draw_update(loss, dict(model.named_parameters())), f"update_{u}.svg"))
    """
    root = graph_roots(loss, "draw_update")[0]
    if root.kind != CUT and isinstance(root.cut_info, dict) and root.cut_info.get("stale"):
        raise ValueError(f"draw_update: this is the loss of the update at u = {root.cut_info['update']}, which the "
                         "runner handed to on_backward(u, loss), and the run has gone on since (later updates cut "
                         "and freed its steps): draw it inside on_backward, as this function's docstring shows")
    graph, info = _drawing("draw_update", loss, params, view, max_steps, show_values, grad_range)
    injected = injected_steps(root)
    update, cut = recorded_update(root)
    if update is None:          # a loss the runner did not mark: what the graph shows
        update = max(info.steps) if info.steps else None
        cut = max(info.cut_steps) if info.cut_steps else 0
    if injected:
        losses = f"t = {step_runs(injected)}"
        title = (f"the update at u = {update}: losses of {losses} injected; gradients stop at the cut "
                 f"at c = {cut}" if cut else f"the update at u = {update}: losses of {losses} injected; "
                 "no cut (c = 0)")
        graph.attr(label=html_label(text(title)), labelloc="t", fontsize="14")
    return graph
