"""`view="ops"`: every op node, as micrograd draws it, each step a column, the columns held left
to right in one row."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import graphviz

from ..autograd import CUT
from .graph import GraphInfo
from .parts import (Edges, before_cut, before_cut_edge, cut_edge_label, elision_note, legend, marks_before_cut,
                    node_label, node_style, step_cluster, subgraph)
from .style import GREY


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
