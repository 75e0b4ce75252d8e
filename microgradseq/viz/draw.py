"""`draw`: the graph behind a tensor as a `graphviz.Digraph`, unrolled over time.

Only graph metadata is read (op, kind, inputs, shape, label, step, value, grad,
cut_info), so any graph can be drawn, whoever built it. Steps run left to
right, each in a subgraph `cluster_step_<t>` labelled `t = <t>`. Two views:

- `"cells"`: per step one box for the state (h, and c for an LSTM), one for
  what feeds it and one for what comes after it (outputs, losses);
- `"ops"`: every op node, as micrograd draws it, each step a column.

The state of a step is what its nodes labelled `h` or `c` hold (the built-in
cells label theirs); in a graph with no such labels, it is what a step hands to
the next one (the nodes of step t that step t + 1 reads).

Node ids come from the topological order, so one graph always gives the same
DOT text. Every label is ASCII inside an HTML label with `&<>"'` escaped and
control characters written as `\\xNN`, so no name can break the DOT. A
`backward()` frees the graph it walked; to draw a graph with its gradients,
call `backward(retain_graph=True)` first (`tbptt`'s `on_backward` hands over an
update's loss with its graph kept: `draw_update`).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

import graphviz
import numpy as np

from ..autograd import CUT, FREED, Node
from ..checks import is_int
from .graph import GraphInfo, graph_roots, named_tensors
from .render import ensure_renderer
from .style import GREY, NAN_COLOUR, PALETTE, colour, grad_scale, html_label, log_norm, norm, numbers, text


def draw(root: Any, params: Mapping[str, Any] | None = None, view: str = "cells",
         max_steps: int | None = 12, show_values: bool = True,
         grad_range: tuple[float, float] | None = None) -> graphviz.Digraph:
    """Draw the graph that produced `root` (a tensor, a Node, or a tuple of them).

    `params` maps names to parameter tensors (`dict(model.named_parameters())`,
    or the pairs `model.named_parameters()` gives); each parameter is drawn
    once, however many steps use it. `view` is `"cells"` (a box per state per
    step) or `"ops"` (every op, a column per step). At most `max_steps` steps
    are drawn, the first and last halves, with a note saying how many were left
    out; `None` draws all. Tiny tensors show their values (a leaf only when it is
    in `params`) and grads once a backward has run, when `show_values`. After `loss.backward(retain_graph=True)`
    each step prints ||dL/dh_t|| and is coloured by its log10, on a scale from
    the largest norm's decade down at least four decades, or over
    `grad_range=(low, high)` (the same for every drawing that passes it);
    without `retain_graph` the backward frees the graph and only the root is
    left to draw.
    """
    return _drawing("draw", root, params, view, max_steps, show_values, grad_range)[0]


def _drawing(caller: str, root: Any, params: Mapping[str, Any] | None, view: str, max_steps: int | None,
             show_values: bool, grad_range: tuple[float, float] | None) -> tuple[graphviz.Digraph, GraphInfo]:
    """`draw`, and what it found out about the graph (`draw_update` titles the drawing from it);
    errors name `caller`, the public function called."""
    if view not in ("cells", "ops"):
        raise ValueError(f"{caller}: view must be 'cells' or 'ops', got {view!r}")
    if max_steps is not None and (not is_int(max_steps) or max_steps < 2):
        raise ValueError(f"{caller}: max_steps must be None or an integer of at least 2, got {max_steps!r}")
    if grad_range is not None and not (
            isinstance(grad_range, (tuple, list)) and len(grad_range) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in grad_range)
            and 0 < grad_range[0] < grad_range[1] < math.inf):
        raise ValueError(f"{caller}: grad_range must be None or (low, high) with 0 < low < high, "
                         f"got {grad_range!r}")
    params = named_tensors(params, caller)
    ensure_renderer()
    info = GraphInfo(graph_roots(root, caller), params, max_steps)
    info.grad_range = grad_range
    graph = graphviz.Digraph("microgradseq")
    graph.attr(rankdir="LR", fontname="Helvetica", newrank="true", compound="true")
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


# ---- the pieces both views share ------------------------------------------------------------

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
    if node.grad is not None:
        small = show_values and node.grad.size <= 4
        lines.append("grad " + text(numbers(node.grad)) if small else f"|grad| = {norm(node.grad):.3g}")
    return html_label(*lines)


def node_style(node: Node, info: GraphInfo) -> dict:
    if node.kind == CUT:
        return {"style": "rounded,filled,dashed", "fillcolor": "gray92", "color": GREY, "fontcolor": "gray40"}
    if info.is_param(node):
        return {"fillcolor": "lightblue"}
    if node.kind == FREED:
        return {"style": "rounded,dashed", "color": GREY}
    return {}


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


def step_cluster(graph: graphviz.Digraph, info: GraphInfo, step: int, colours: dict,
                 members: list[tuple[str, dict]], greyed: bool, norms: dict | None = None) -> None:
    """The subgraph `cluster_step_<t>` holding one step's nodes, labelled `t = <t>`; with a
    gradient norm, the label is a header coloured by it that prints it, and so is the frame."""
    with subgraph(graph, f"cluster_step_{step}") as cluster:
        cluster.attr(label=f"t = {step}", style="rounded,filled", fillcolor="gray98", color="gray70")
        if norms and step in norms:
            shade = colours.get(step, "white")
            cluster.attr(label=f'<<TABLE BORDER="0" CELLPADDING="3"><TR><TD BGCOLOR="{shade}">'
                               f'<B>t = {step}</B>   ||dL/dh_t|| = {norms[step]:.3g}</TD></TR></TABLE>>',
                         color=shade if shade != PALETTE[0] else "gray70", penwidth="3")
        if greyed:
            cluster.attr(style="rounded,filled,dashed", fillcolor="gray95", fontcolor="gray50")
        for name, attrs in members:
            cluster.node(name, **attrs)


def elision_note(graph: graphviz.Digraph, info: GraphInfo) -> None:
    """The node `elided` standing for the steps left out."""
    first, last, count = info.hidden_steps[0], info.hidden_steps[-1], len(info.hidden_steps)
    graph.node("elided", html_label(f"... {count} step{'s' if count != 1 else ''} left out "
                                    f"(t = {first} .. {last}) ..."), shape="plaintext", style="")


def legend(graph: graphviz.Digraph, info: GraphInfo, norms: dict) -> dict:
    """The colour legend of the gradient norms; returns step -> colour."""
    if not norms:
        return {}
    low, high = grad_scale(norms, info.grad_range)
    shades = [(shade, f"{low + (high - low) * k / (len(PALETTE) - 1):.2f}") for k, shade in enumerate(PALETTE)]
    if any(math.isnan(value) for value in norms.values()):
        shades.append((NAN_COLOUR, "NaN"))
    rows = "".join(f'<TR><TD BGCOLOR="{shade}" WIDTH="18"> </TD><TD ALIGN="LEFT">{name}</TD></TR>'
                   for shade, name in shades)
    graph.node("legend", f'<<TABLE BORDER="0" CELLSPACING="1"><TR><TD COLSPAN="2">'
                         f'log10 ||dL/dh_t||</TD></TR>{rows}</TABLE>>', shape="plaintext", style="")
    return {step: colour(log_norm(value), low, high) for step, value in norms.items()}


def marks_before_cut(info: GraphInfo, first_cut: str | None) -> bool:
    """Whether steps lie behind the earliest cut (drawn as `first_cut`), to be marked: only when
    the graph holds none of them (a loss summed over the windows keeps them, history and all)."""
    return bool(info.cut_steps) and first_cut is not None and info.steps[0] == info.cut_steps[0] > 1


def before_cut(graph: graphviz.Digraph, info: GraphInfo) -> None:
    """The grey marker `before_cut` for the steps behind the earliest cut: their history is gone."""
    graph.node("before_cut", html_label(f"t &lt; {info.cut_steps[0]}", "behind the truncation:", "history freed"),
               style="rounded,dashed", color=GREY, fontcolor="gray50")


def before_cut_edge(graph: graphviz.Digraph, first_cut: str) -> None:
    graph.edge("before_cut", first_cut, style="dashed", color=GREY, arrowhead="none")


class Edges:
    """Edges added once each, in the order first asked for."""

    def __init__(self, graph: graphviz.Digraph) -> None:
        self.graph, self.seen = graph, set()

    def add(self, tail: str, head: str, key: Any = None, **attrs: str) -> None:
        key = (tail, head) if key is None else key
        if key not in self.seen:
            self.seen.add(key)
            self.graph.edge(tail, head, **attrs)


# ---- view="ops": every node -------------------------------------------------------------------

ANCHOR = {"shape": "point", "style": "invis", "width": "0", "height": "0", "label": ""}
LADDER = 5      # each edge from a column's anchor to the next column, said this many times


def keep_in_order(graph: graphviz.Digraph, columns: list[tuple[str, str]]) -> None:
    """Hold the ops view's columns left to right; `columns` holds (anchor, first node) of each.

    Graphviz drops an edge between nodes of one rank in two clusters, so a row of edges cannot
    order clusters: they stand in whatever order crosses the fewest edges. So each column has an
    invisible anchor above its first node, the anchors share a rank, and each points at its own
    column's first node and at the next column's, with an edge said `LADDER` times (graphviz
    adds up repeated edges into one that costs as much to cross): time order crosses none of
    them. The caller declares the first anchor before any other node, which makes the layout
    start from the left (a mirrored layout crosses no more edges).
    """
    for rank in (0, 1):
        with subgraph(graph) as row:
            row.attr(rank="same")
            for column in columns:
                row.node(column[rank])
    for anchor, first in columns:
        graph.edge(anchor, first, style="invis")
    for (anchor, _), (_, right) in zip(columns, columns[1:]):
        for _ in range(LADDER):
            graph.edge(anchor, right, style="invis")


@contextmanager
def note_column(graph: graphviz.Digraph, name: str) -> Iterator[graphviz.Digraph]:
    """An unframed cluster `cluster_<name>` with the anchor `anchor_<name>`, for a note that
    stands in the row of steps (`keep_in_order`)."""
    with subgraph(graph, f"cluster_{name}") as cluster:
        cluster.attr(label="", peripheries="0")
        cluster.node(f"anchor_{name}", **ANCHOR)
        yield cluster


def draw_ops(graph: graphviz.Digraph, info: GraphInfo, show_values: bool) -> None:
    """Every op node; parameters once, in their own cluster, with light dotted references.

    With steps, each step is a column, ops flowing top to bottom (an LSTM's gates side by
    side), and the columns stand left to right in one row (`keep_in_order`): the edges from
    one step to the next do not rank the nodes, and the first node of each step shares a rank
    with the others'. The notes for the steps left out and for those behind a cut stand in
    the row as columns of their own.
    """
    norms = info.grad_norms()
    if info.steps:
        graph.attr(rankdir="TB", nodesep="0.12", ranksep="0.3")
        graph.attr("node", fontsize="10", margin="0.05,0.03")
    clusters = {step: [] for step in info.shown_steps}
    params, loose, first_cut = [], [], None
    for node in info.order:
        if info.hidden(node):
            continue
        entry = (info.ids[node], {"label": node_label(node, info, show_values), **node_style(node, info)})
        step = info.step_of[node]
        if info.is_param(node):
            params.append(entry)
        elif step is not None and (node.step is not None or node.kind == CUT):
            clusters[step].append(entry)
            if node.kind == CUT and step == (info.cut_steps or [None])[0] and first_cut is None:
                first_cut = entry[0]
        else:
            loose.append(entry)
    steps = [step for step, members in clusters.items() if members]
    marker = marks_before_cut(info, first_cut)
    if steps:
        graph.node(f"anchor_{'before_cut' if marker else steps[0]}", **ANCHOR)     # first: see keep_in_order
    colours = legend(graph, info, norms)
    for name, attrs in loose:
        graph.node(name, **attrs)
    if params:
        with subgraph(graph, "cluster_parameters") as cluster:
            cluster.attr(label="parameters", style="rounded,filled", fillcolor="aliceblue", color="gray70")
            # in order, left to right; without steps top down (a left-to-right layout stacks upwards)
            for name, attrs in params if info.steps else reversed(params):
                cluster.node(name, **attrs)
    columns = []            # (anchor, first node) of each column, left to right
    if marker:
        with note_column(graph, "before_cut") as column:
            before_cut(column, info)
        columns.append(("anchor_before_cut", "before_cut"))
    note_at = next((step for step in steps if info.hidden_steps and step > info.hidden_steps[-1]), None)
    for step in steps:
        if step == note_at:
            with note_column(graph, "elided") as column:
                elision_note(column, info)
            columns.append(("anchor_elided", "elided"))
        members = clusters[step]
        greyed = all(attrs.get("fillcolor") == "gray92" for _, attrs in members)
        step_cluster(graph, info, step, colours, [(f"anchor_{step}", ANCHOR)] + members, greyed, norms)
        columns.append((f"anchor_{step}", members[0][0]))
    if info.hidden_steps and note_at is None:
        elision_note(graph, info)
    if len(columns) > 1:
        keep_in_order(graph, columns)
    if marker:
        before_cut_edge(graph, first_cut)
    edges = Edges(graph)
    constants = 0
    for node in info.order:
        head = info.ids[node]
        for parent in node.inputs:
            if parent is None:
                if not info.steps:              # micrograd-style: every input drawn, constants too
                    constants += 1
                    graph.node(f"const{constants}", "constant", shape="plaintext", style="",
                               fontcolor="gray40", fontsize="10")
                    graph.edge(f"const{constants}", head, color=GREY)
                continue
            tail = info.ids[parent]
            steps = (info.step_of[parent], info.step_of[node])
            across = {"constraint": "false"} if None not in steps and steps[0] != steps[1] else {}
            if info.hidden(node):       # (the note stands in a column: these edges do not rank it)
                if not info.hidden(parent) and not info.is_param(parent):
                    edges.add(tail, "elided", color=GREY, constraint="false")
            elif info.hidden(parent):
                edges.add("elided", head, color=GREY, constraint="false")
            elif info.is_param(parent):
                edges.add(tail, head, style="dotted", color="steelblue", penwidth="0.6",
                          arrowsize="0.4", constraint="false")
            elif parent.kind == CUT:
                # an edge across steps ranks nothing: a label on it can fail dot's ranking, an xlabel cannot
                key = "xlabel" if across else "label"
                edges.add(tail, head, style="dashed", color=GREY, fontcolor="gray40",
                          **{key: cut_edge_label(parent)}, **across)
            else:
                edges.add(tail, head, key=(tail, head, len(edges.seen)), **across)


# ---- view="cells": a box per state per step -----------------------------------------------------

def _groups(info: GraphInfo) -> dict[Node, str]:
    """Each node's box: `in_t` (feeds the step), `cell_t` (the recurrence and its states),
    `out_t` (after the states), `params`, or its own id (cuts, nodes outside the steps).
    A step without states (its state cut) has no cell: what comes after the cut is its output."""
    states = set(info.states)
    stepped_states = {info.step_of[node] for node in states}
    feeds_state = set(states)
    for node in reversed(info.order):
        if node in feeds_state:
            for parent in node.inputs:
                if parent is not None and info.step_of[parent] == info.step_of[node]:
                    feeds_state.add(parent)
    recurrent = set()           # nodes downstream of some state
    for node in info.order:
        if any(p is not None and (p in states or p in recurrent or p.kind == CUT) for p in node.inputs):
            recurrent.add(node)
    in_cell = _feeding_the_cell(info, feeds_state - states, recurrent)
    group = {}
    for node in info.order:
        step = info.step_of[node]
        if info.is_param(node):
            group[node] = "params"
        elif node.kind == CUT or step is None:
            group[node] = info.ids[node]
        elif step not in stepped_states:
            group[node] = f"out_{step}" if node in recurrent else f"cell_{step}"
        elif node in states:
            group[node] = f"cell_{step}"
        elif node in feeds_state:
            group[node] = f"cell_{step}" if node in in_cell else f"in_{step}"
        else:
            group[node] = f"out_{step}" if node in recurrent else f"in_{step}"
    return group


def _feeding_the_cell(info: GraphInfo, feeding: set, recurrent: set) -> set:
    """The nodes feeding a step's states that belong in its cell: those downstream of a state, and
    so the nodes in their places in another step of the same module scope: the first step, reading
    a zero state, is split as the others are, not left all input. A place is found by the step's
    whole sequence of (op, label); in a step whose sequence no other step has (a bidirectional
    layer's reverse direction at t = T over a packed batch, steps that all differ), by what each
    node is and reads (`_places`)."""
    by_step = {}
    for node in info.order:
        if node in feeding:
            by_step.setdefault((info.step_of[node], node.scope), []).append(node)
    steps = [((scope, tuple((node.op, node.label) for node in nodes)),
              list(zip(_places(info, scope, nodes, True), _places(info, scope, nodes, False))), nodes)
             for (_, scope), nodes in by_step.items()]
    in_cell, steps_with = {}, {}        # sequence or place -> in some step's cell; -> how many steps
    for sequence, where, nodes in steps:
        flags = [node in recurrent for node in nodes]
        in_cell[sequence] = [a or b for a, b in zip(in_cell.get(sequence, flags), flags)]
        for pair, flag in zip(where, flags):
            for place in pair:
                in_cell[place] = in_cell.get(place, False) or flag
        for key in {sequence, *(place for pair in where for place in pair)}:
            steps_with[key] = steps_with.get(key, 0) + 1
    inside = set()
    for sequence, where, nodes in steps:
        if steps_with[sequence] > 1:
            flags = in_cell[sequence]
        else:                           # its exact place if another step has it, else the coarser one
            flags = [in_cell[exact if steps_with[exact] > 1 else coarse] for exact, coarse in where]
        inside.update(node for node, flag in zip(nodes, flags) if flag)
    return inside


def _places(info: GraphInfo, scope: str, nodes: list[Node], exact: bool) -> list[tuple]:
    """Each node's place in its step: (scope, op, label, what it reads). What it reads: an input
    outside the steps (a weight: the same node at every step) itself; an input of the step by its
    op and label (`exact`), or not told apart from a constant (a zero initial state is no node,
    where later steps read the previous state)."""
    def read(parent: Node | None) -> object:
        if parent is not None and info.step_of[parent] is None:
            return parent
        if not exact:
            return "in the steps, or a constant"
        return None if parent is None else (parent.op, parent.label)

    return [(exact, scope, node.op, node.label, tuple(read(parent) for parent in node.inputs)) for node in nodes]


def _ops_summary(members: list[Node]) -> str:
    """`3 ops: linear, add, tanh`, and how many of them a backward() freed."""
    ops = list(dict.fromkeys(node.op for node in members))
    shown = ", ".join(ops[:4]) + (", ..." if len(ops) > 4 else "")
    summary = f"{len(members)} op{'s' if len(members) != 1 else ''}: {text(shown)}"
    freed = sum(node.kind == FREED for node in members)
    if freed:
        summary += "<BR/>" + ("freed by backward()" if freed == len(members) else f"{freed} freed by backward()")
    return summary


def _cell_label(members: list[Node], states: set, show_values: bool) -> str:
    """The state box: each state with its values and |dL/dstate|, then its ops. A label met
    twice in one scope (stacked layers: c, h of layer 0, then of layer 1) gets its layer, counted
    in the order the states were computed; a bidirectional layer's reverse direction (its scope
    `reverse`) says so."""
    lines = ["<B>cell</B>"]
    keys = [(node.scope, node.label) for node in members if node in states]
    layers = {}
    for node in members:
        if node in states:
            name, notes, key = text(node.label or f"state ({node.op})"), [], (node.scope, node.label)
            if node.label and keys.count(key) > 1:
                layers[key] = layers.get(key, -1) + 1
                notes.append(f"layer {layers[key]}")
            if node.scope.rpartition(".")[2] == "reverse":
                notes.append("reverse")
            line = name + (f" ({', '.join(notes)})" if notes else "") + f" {text(node.shape)}"
            if show_values and node.value is not None:
                line += " = " + text(numbers(node.value))
            if node.grad is not None:
                line += f"  |dL/d{text(node.label or 'state')}| = {norm(node.grad):.3g}"
            lines.append(line)
    lines.append(_ops_summary(members))
    return html_label(*lines)


def _side_label(kind: str, members: list[Node], show_values: bool) -> str:
    last = members[-1]
    lines = [f"<B>{'input' if kind == 'in' else 'output / loss'}</B>", _ops_summary(members), text(last.shape)]
    if show_values and last.value is not None:
        lines.append(f"{text(last.label or last.op)} = {text(numbers(last.value))}")
    return html_label(*lines)


def draw_cells(graph: graphviz.Digraph, info: GraphInfo, show_values: bool) -> None:
    """One box per state per step, inputs below it, outputs and losses above, states chained in
    one row (`state_row`).

    Within a step the boxes share a rank, so the edges input -> cell -> output
    stack them bottom to top while the state edges run left to right.
    """
    group = _groups(info)
    states = set(info.states)
    norms = info.grad_norms()
    if info.hidden_steps:
        elision_note(graph, info)
    colours = legend(graph, info, norms)
    members = {}
    for node in info.order:
        if not info.hidden(node):
            members.setdefault(group[node], []).append(node)
    params = [node for node in info.order if group[node] == "params"]
    if params:
        rows = "".join(f'<TR><TD ALIGN="LEFT"><B>{text(info.name(p))}</B></TD><TD>{text(p.shape)}</TD>'
                       f'<TD>{"" if p.grad is None else f"|grad| = {norm(p.grad):.3g}"}</TD></TR>'
                       for p in params)
        graph.node("params", f'<<TABLE BORDER="0" CELLSPACING="2"><TR><TD COLSPAN="3">parameters'
                             f'</TD></TR>{rows}</TABLE>>', fillcolor="aliceblue")
    clusters = {step: [] for step in info.shown_steps}
    first_cut = None
    for key, nodes in members.items():
        if key == "params":
            continue
        step = info.step_of[nodes[0]]
        if key.startswith("n"):
            node = nodes[0]
            entry = (key, {"label": node_label(node, info, show_values), **node_style(node, info)})
            if node.kind == CUT and step is not None:
                clusters[step].append(entry)
                if step == info.cut_steps[0] and first_cut is None:
                    first_cut = key
            else:
                graph.node(*entry[:1], **entry[1])
            continue
        kind = key.split("_")[0]
        label = _cell_label(nodes, states, show_values) if kind == "cell" else _side_label(kind, nodes, show_values)
        attrs = {"label": label}
        if kind == "cell":
            attrs.update(penwidth="1.6", fillcolor=colours.get(step, "white"), group="states")
        clusters[step].append((key, attrs))
    for step, entries in clusters.items():
        if entries:
            greyed = all(attrs.get("fillcolor") == "gray92" for _, attrs in entries)
            step_cluster(graph, info, step, colours, entries, greyed, norms)
            with subgraph(graph) as same:
                same.attr(rank="same")
                for key, _ in entries:
                    same.node(key)
    if marks_before_cut(info, first_cut):
        before_cut(graph, info)
        before_cut_edge(graph, first_cut)
    edges = Edges(graph)
    for node in info.order:
        head = "elided" if info.hidden(node) else group[node]
        for parent in node.inputs:
            if parent is None:
                continue
            tail = "elided" if info.hidden(parent) else group[parent]
            if tail == head:
                continue
            if tail == "params":
                continue        # the table is drawn once; an edge per step would hide the cells
            if parent.kind == CUT and tail != "elided":
                edges.add(tail, head, style="dashed", color=GREY, fontcolor="gray40",
                          label=cut_edge_label(parent))
            elif tail.startswith("cell_") and head.startswith("cell_"):
                edges.add(tail, head, penwidth="2.2")
            else:
                edges.add(tail, head, color="gray35")
    cells = [step for step, entries in clusters.items() if any(key == f"cell_{step}" for key, _ in entries)]
    state_row(graph, info, cells, edges.seen)


def state_row(graph: graphviz.Digraph, info: GraphInfo, steps: list[int], joined: set) -> None:
    """Hold the cell boxes of `steps` (in the group `states`) in one straight row, the note for the
    steps left out in its place: consecutive ones not `joined` by an edge get an invisible one.
    Without it, what fans out to every step or in from it (a layer's input projection and stack
    of outputs) and the cuts set the steps in a staircase."""
    row = [f"cell_{step}" for step in steps]
    if info.hidden_steps:
        graph.node("elided", group="states")
        row.insert(sum(step < info.hidden_steps[0] for step in steps), "elided")
    for tail, head in zip(row, row[1:]):
        if (tail, head) not in joined:
            graph.edge(tail, head, style="invis")


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


def draw_update(loss: Any, params: Mapping[str, Any] | None = None, view: str = "cells",
                max_steps: int | None = 12, show_values: bool = True,
                grad_range: tuple[float, float] | None = None) -> graphviz.Digraph:
    """Draw the window one TBPTT update backpropagated, from the loss tensor `tbptt` hands to
    `on_backward(u, loss)` (its graph kept, its gradients in place): `draw(loss, params, ...)`
    with a title naming the update's injected steps and its cut.

        mg.bptt.tbptt(..., on_backward=lambda u, loss: mg.viz.render(
            mg.viz.draw_update(loss, dict(model.named_parameters())), f"update_{u}.svg"))
    """
    graph, info = _drawing("draw_update", loss, params, view, max_steps, show_values, grad_range)
    injected = injected_steps(graph_roots(loss, "draw_update")[0])
    cut = max(info.cut_steps) if info.cut_steps else 0
    update = max(info.steps) if info.steps else None
    if injected:
        losses = f"t = {injected[0]}" if len(injected) == 1 else f"t = {injected[0]} .. {injected[-1]}"
        title = (f"the update at u = {update}: losses of {losses} injected; gradients stop at the cut "
                 f"at c = {cut}" if cut else f"the update at u = {update}: losses of {losses} injected; "
                 "no cut (c = 0)")
        graph.attr(label=html_label(text(title)), labelloc="t", fontsize="14")
    return graph
