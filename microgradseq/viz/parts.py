"""The pieces both views draw: node boxes and their styles, what feeds the steps from outside them
and what is downstream of a set of nodes, the label of a cut edge, a step's cluster, the note for
the steps left out, the colour legend, the marker for the steps behind a truncation, the names of
an op's operands on its edges, and edges added once each."""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterator

import graphviz
import numpy as np

from ..autograd import CUT, FREED, Node
from .graph import GraphInfo
from .style import (GREY, NAN_COLOUR, NUMBERED, OPERANDS, PALETTE, colour, grad_scale, html_label, log_norm, norm,
                    numbers, text)


def node_label(node: Node, info: GraphInfo, show_values: bool) -> str:
    """micrograd's box: op and label, shape, then data and grad for tiny tensors."""
    if info.is_param(node):
        lines = [f"<B>{text(info.name(node))}</B>", text(node.shape)]
        tensor = info.data.get(node)
        data = node.value if tensor is None else tensor.data
        if show_values and data is not None and np.size(data) <= 4:
            lines.append("data " + text(numbers(data)))
    elif node.kind == CUT:
        cut = node.cut_info or {}
        lines = [f"<B>cut</B> {text(node.label or cut.get('label') or '')}", text(node.shape)]
        if cut.get("k2") is not None:
            lines.append(f"k2 = {text(cut['k2'])}")
        return html_label(*lines)
    else:
        head = f"<B>{text(node.op)}</B>"
        if node.label:
            head += f" {text(node.label)}"
        lines = [head, text(node.shape)]
        if node.kind == FREED:
            lines.append("freed")
        if show_values and node.value is not None:
            lines.append("data " + text(numbers(node.value)))
    grad = info.grad(node)
    if grad is not None:
        small = show_values and grad.size <= 4
        lines.append("grad " + text(numbers(grad)) if small else f"|grad| = {norm(grad):.3g}")
    return html_label(*lines)


def feeding_the_steps(info: GraphInfo, stepped: set[Node]) -> set[Node]:
    """The drawn nodes outside the steps that some node in `stepped` reads, directly or through
    others outside the steps (a layer's input projection and its bias): walked back from the steps."""
    feeding = set()
    for node in reversed(info.drawn):
        if node in stepped or node in feeding:
            feeding.update(parent for parent in node.inputs if parent is not None and parent not in stepped
                           and not info.is_param(parent) and not info.hidden(parent))
    return feeding


def downstream(info: GraphInfo, nodes: set[Node]) -> set[Node]:
    """The drawn nodes that read one of `nodes` or a node left out, directly or through others."""
    drawn, found = set(info.drawn), set()
    for node in info.drawn:
        if any(parent is not None and (parent in nodes or parent in found or parent not in drawn)
               for parent in node.inputs):
            found.add(node)
    return found


def node_style(node: Node, info: GraphInfo) -> dict:
    if node.kind == CUT:
        return {"style": "rounded,filled,dashed", "fillcolor": "gray92", "color": GREY, "fontcolor": "gray40"}
    if info.is_param(node):
        return {"fillcolor": "lightblue"}
    if node.kind == FREED:
        return {"style": "rounded,dashed", "color": GREY}
    return {}


def operand_mark(node: Node, position: int) -> dict:
    """The attributes naming input `position` of `node` at its arrowhead, for an op whose operands'
    order matters (`OPERANDS`: `a`, `b` of a - b; `concat`'s `0`, `1`, ...); none for one operand
    or a commutative op."""
    names = OPERANDS.get(node.op, ())
    if len(node.inputs) < 2 or (node.op not in NUMBERED and position >= len(names)):
        return {}
    name = str(position) if node.op in NUMBERED else names[position]
    return {"headlabel": html_label(text(name)), "labelfontsize": "10", "labelfontcolor": "gray25",
            "labeldistance": "1.6"}


def cut_edge_label(node: Node) -> str:
    k2 = (node.cut_info or {}).get("k2")
    return html_label("cut" if k2 is None else f"cut (k2 = {text(k2)})")


@contextmanager
def subgraph(graph: graphviz.Digraph, name: str | None = None) -> Iterator[graphviz.Digraph]:
    """`graph.subgraph(name=name)` as a `with` block, without its cost: graphviz's own copies the
    parent's whole body for every subgraph, so thousands of steps drew in quadratic time."""
    sub = graphviz.Digraph(name=name)
    yield sub
    graph.subgraph(sub)


# An invisible point: the anchors of `keep_in_order`'s columns, and other nodes that only hold the layout.
ANCHOR = {"shape": "point", "style": "invis", "width": "0", "height": "0", "label": ""}


def keep_in_order(graph: graphviz.Digraph, columns: list[tuple[str, str]], after: bool = False) -> None:
    """Hold a drawing's columns left to right in one row; `columns` holds (anchor, level node) of
    each, for a step its invisible anchor and a node of it (the ops view: its first op; the cells
    view: an invisible point above its boxes), for a note or the column left of the steps a node
    of their own.

    Graphviz drops an edge between nodes of one rank in two clusters, so a row of edges cannot
    order clusters: they stand in whatever order crosses the fewest edges. So each column has an
    invisible anchor on the rank before its level node (`after`: the rank after it), the anchors
    share a rank and so do the level nodes, and each anchor is joined to its own column's level
    node and to the next column's (the rungs). The anchors and level nodes are one `group` (which
    the caller gives them: `columns` in the ops view, `states` in the cells view), which makes an
    edge between two of them as dear to cross as a cluster's side: time order crosses none of
    them, and a column out of place crosses a rung of this ladder for each column it passes,
    dearer than what fans out to every step (a layer's input projection, its stack of outputs)
    saves by standing mid-row. The rungs have weight 0: they order the columns, and do not pull
    them together. No other edge should run between the anchors' rank and the level nodes' (see
    `cells_view._columns`). A mirrored layout crosses no more edges, so two invisible nodes
    outside the clusters, on the first rank, tell left from right: `start`, which the caller
    declares before any other node, points at the first column, `end` at the last, and an edge
    `start -> end` between nodes of one rank keeps `start` on the left.

    Each rung is one edge. Said 20 times over instead, as it was before the group (Graphviz adds
    up repeated edges into one as dear to cross), graphviz-pure's layout of the ops view of about
    100 steps or more failed ("trouble in init_rank", as Graphviz 2.43's did) or set columns out
    of time order, and routing the invisible copies (`splines=ortho` routes them too) took most
    of the time of rendering.
    """
    for rank, names in (("min", ["start", "end"]), ("same", [anchor for anchor, _ in columns]),
                        ("same", [level for _, level in columns])):
        with subgraph(graph) as row:
            row.attr(rank=rank)
            for name in names:
                row.node(name)
    graph.edge("start", "end", style="invis")
    graph.edge("start", columns[0][1], style="invis")
    graph.edge("end", columns[-1][1], style="invis")
    for anchor, level in columns:
        graph.edge(*((level, anchor) if after else (anchor, level)), style="invis")
    for (anchor, _), (_, right) in zip(columns, columns[1:]):
        graph.edge(*((right, anchor) if after else (anchor, right)), style="invis", weight="0")


@contextmanager
def note_column(graph: graphviz.Digraph, name: str, group: dict) -> Iterator[graphviz.Digraph]:
    """An unframed cluster `cluster_<name>` with the anchor `anchor_<name>` (in `group`, the
    drawing's group of columns), for what stands in the row of steps as a column of its own
    (`keep_in_order`)."""
    with subgraph(graph, f"cluster_{name}") as cluster:
        cluster.attr(label="", peripheries="0")
        cluster.node(f"anchor_{name}", **ANCHOR, **group)
        yield cluster


def step_cluster(graph: graphviz.Digraph, info: GraphInfo, step: int, colours: dict,
                 members: list[tuple[str, dict]], greyed: bool, norms: dict | None = None,
                 margin: str | None = None, **attrs: str) -> None:
    """The subgraph `cluster_step_<t>` holding one step's nodes, labelled `t = <t>`; with a
    gradient norm, the label is a header coloured by it that prints it, and so is the frame.
    `margin` (points) is the room between its nodes and its frame; `attrs` are the cluster's own."""
    with subgraph(graph, f"cluster_step_{step}") as cluster:
        cluster.attr(label=f"t = {step}", style="rounded,filled", fillcolor="gray98", color="gray70", **attrs)
        if margin:
            cluster.attr(margin=margin)
        if norms and step in norms:
            shade = colours.get(step, "white")
            cluster.attr(label=f'<<TABLE BORDER="0" CELLPADDING="3"><TR><TD BGCOLOR="{shade}">'
                               f'<B>t = {step}</B>   ||dL/d{info.norm_of}_t|| = {norms[step]:.3g}</TD></TR></TABLE>>',
                         color=shade if shade != PALETTE[0] else "gray70", penwidth="3")
        if greyed:
            cluster.attr(style="rounded,filled,dashed", fillcolor="gray95", fontcolor="gray50")
        for name, attrs in members:
            cluster.node(name, **attrs)


def elision_note(graph: graphviz.Digraph, info: GraphInfo, **attrs: str) -> None:
    """The node `elided` standing for the steps left out (with `attrs`, say its group)."""
    first, last, count = info.hidden_steps[0], info.hidden_steps[-1], len(info.hidden_steps)
    graph.node("elided", html_label(f"... {count} step{'s' if count != 1 else ''} left out "
                                    f"(t = {first} .. {last}) ..."), shape="plaintext", style="", **attrs)


def step_colours(info: GraphInfo, norms: dict) -> dict:
    """step -> the colour of its gradient norm on the drawing's scale."""
    if not norms:
        return {}
    low, high = grad_scale(norms, info.grad_range)
    return {step: colour(log_norm(value), low, high) for step, value in norms.items()}


def legend(graph: graphviz.Digraph, info: GraphInfo, norms: dict) -> dict:
    """The colour legend of the gradient norms; returns `step_colours`. Its ends say `or less` and
    `or more`: a norm beyond the scale takes the colour of its end."""
    if not norms:
        return {}
    low, high = grad_scale(norms, info.grad_range)
    last = len(PALETTE) - 1
    rows = []
    for k, shade in enumerate(PALETTE):
        bound = "<TD>or less</TD>" if k == 0 else "<TD>or more</TD>" if k == last else ""
        rows.append(f'<TR><TD BGCOLOR="{shade}" WIDTH="18"> </TD>'
                    f'<TD ALIGN="LEFT">{low + (high - low) * k / last:.2f}</TD>{bound}</TR>')
    if any(math.isnan(value) for value in norms.values()):
        rows.append(f'<TR><TD BGCOLOR="{NAN_COLOUR}" WIDTH="18"> </TD><TD ALIGN="LEFT">NaN</TD></TR>')
    graph.node("legend", f'<<TABLE BORDER="0" CELLSPACING="1"><TR><TD COLSPAN="3">'
                         f'log10 ||dL/d{info.norm_of}_t||</TD></TR>{"".join(rows)}</TABLE>>', shape="plaintext", style="")
    return step_colours(info, norms)


def marks_before_cut(info: GraphInfo, first_cut: str | None) -> bool:
    """Whether steps lie behind the earliest cut (drawn as `first_cut`), to be marked: only when
    the graph holds none of them (a loss summed over the windows keeps them, history and all)."""
    return bool(info.cut_steps) and first_cut is not None and info.steps[0] == info.cut_steps[0] > 1


def before_cut(graph: graphviz.Digraph, info: GraphInfo, **attrs: str) -> None:
    """The grey marker `before_cut` for the steps behind the earliest cut: their history is gone
    (with `attrs`, say its group)."""
    graph.node("before_cut", html_label(f"t &lt; {info.cut_steps[0]}", "behind the truncation:", "history freed"),
               style="rounded,dashed", color=GREY, fontcolor="gray50", **attrs)


def before_cut_edge(graph: graphviz.Digraph, first_cut: str, **attrs: str) -> None:
    graph.edge("before_cut", first_cut, style="dashed", color=GREY, arrowhead="none", **attrs)


class Edges:
    """Edges added once each, in the order first asked for."""

    def __init__(self, graph: graphviz.Digraph) -> None:
        self.graph, self.seen = graph, set()

    def add(self, tail: str, head: str, key: Any = None, **attrs: str) -> None:
        key = (tail, head) if key is None else key
        if key not in self.seen:
            self.seen.add(key)
            self.graph.edge(tail, head, **attrs)
