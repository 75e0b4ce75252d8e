"""`view="ops"`: every op node, as micrograd draws it. A graph with steps has a column per step,
the columns held left to right in one row; a graph without steps is micrograd's left-to-right
tree."""

from __future__ import annotations

import graphviz

from ..autograd import CUT, Node
from .graph import GraphInfo
from .parts import (ANCHOR, Edges, before_cut, before_cut_edge, cut_edge_label, downstream, elision_note,
                    feeding_the_steps, keep_in_order, legend, marks_before_cut, node_label, node_style, note_column,
                    operand_mark, step_cluster, step_colours, subgraph)
from .style import GREY, PARAMETER_COLOURS, html_label


# The group of the columns' anchors and level nodes, given where they are declared (`keep_in_order`):
# an edge between two nodes of one group costs Graphviz as much to cross as a cluster's side does.
COLUMNS = {"group": "columns"}
PARAMETER_EDGE = {"style": "dotted", "penwidth": "1.2", "arrowsize": "0.5"}
BEFORE, AFTER = -float("inf"), float("inf")     # the columns of `use_column` before and after the steps
READ_AT = "dotted: first use"  # under the parameters' title: their edges go to the first step reading them
FOLLOW = "10"   # the weight pulling what reads every step under the last one
# The room (points) around the ops of a step whose cut feeds a later step: its edge runs down the
# step's side, and Graphviz sets the cut's words beside it only where no box stands.
CUT_MARGIN = "45"


def draw_ops(graph: graphviz.Digraph, info: GraphInfo, show_values: bool) -> None:
    """Every op node, each parameter once: with steps, a column per step (`draw_steps`); without,
    micrograd's left-to-right tree (`draw_plain`)."""
    if info.steps:
        draw_steps(graph, info, show_values)
    else:
        draw_plain(graph, info, show_values)


def draw_plain(graph: graphviz.Digraph, info: GraphInfo, show_values: bool) -> None:
    """A graph without steps as micrograd draws it: every node, the parameters among the ops that
    read them, every input drawn (constants as a small `constant` label), every edge ranking."""
    for node in info.order:
        graph.node(info.ids[node], label=node_label(node, info, show_values), **node_style(node, info))
    constants = 0
    for node in info.order:
        head = info.ids[node]
        for position, parent in enumerate(node.inputs):
            mark = operand_mark(node, position)
            if parent is None:
                constants += 1
                graph.node(f"const{constants}", "constant", shape="plaintext", style="",
                           fontcolor="gray40", fontsize="10")
                graph.edge(f"const{constants}", head, color=GREY, **mark)
            elif parent.kind == CUT:
                graph.edge(info.ids[parent], head, style="dashed", color=GREY, fontcolor="gray40",
                           label=cut_edge_label(parent), **mark)
            else:
                graph.edge(info.ids[parent], head, **mark)


def draw_steps(graph: graphviz.Digraph, info: GraphInfo, show_values: bool) -> None:
    """Each step a column, ops flowing top to bottom (an LSTM's gates side by side), the columns
    left to right in one row (`keep_in_order`). Left of the steps, what feeds them from outside
    (a layer's input projection) and below it the parameters, each once, with a dotted edge in a
    colour of its own to its first use (`step_edges`). What reads the steps from outside hangs
    below them: below the last step what joins them all (a layer's stack of outputs, a loss on
    it), the parameters read only there beside it, the colour legend under it.
    What stands between the layers of a stack (the outputs of one, stacked for the input
    projection of the next) stands where its edges put it. The notes for the steps left out and
    for those behind a cut stand in the row as columns of their own.

    The edges from one step to the next do not rank the nodes, and are routed in straight
    segments (`splines=ortho`), so they run from column to column rather than around the last
    one; a cut's words are an xlabel, which ortho routing keeps off the line, and the step whose cut
    feeds a later one has room around its ops (`CUT_MARGIN`) for them to stand off the boxes.
    """
    graph.attr(rankdir="TB", nodesep="0.12", ranksep="0.3", splines="ortho")
    graph.attr("node", fontsize="10", margin="0.05,0.03")
    graph.node("start", **ANCHOR)                                   # first: see keep_in_order
    graph.node("end", **ANCHOR)
    norms = info.grad_norms()
    colours = step_colours(info, norms)
    clusters = {step: [] for step in info.shown_steps}
    params, loose, first_cut = [], [], None
    for node in info.drawn:
        entry = (info.ids[node], {"label": node_label(node, info, show_values), **node_style(node, info)})
        step = drawn_in(info, node)
        if info.is_param(node):
            params.append((node, entry))
        elif step is not None:
            clusters[step].append(entry)
            if node.kind == CUT and step == (info.cut_steps or [None])[0] and first_cut is None:
                first_cut = entry[0]
        else:
            loose.append((node, entry))
    steps = [step for step, members in clusters.items() if members]
    stepped = [node for node in info.drawn if drawn_in(info, node) is not None]
    feeding = feeding_the_steps(info, set(stepped))
    between = feeding & downstream(info, set(stepped))      # (a stacked layer's: where their edges put them)
    before = [entry for node, entry in loose if node in feeding and node not in between]
    uses = first_uses(info, feeding)
    beside = {node for node, _ in params if uses.get(node, AFTER) == AFTER}     # read only after the steps
    colours_of = {node: PARAMETER_COLOURS[k % len(PARAMETER_COLOURS)] for k, (node, _) in enumerate(params)}
    for node, (_, attrs) in params:
        attrs.update(color=colours_of[node], penwidth="1.6")
    listed = [entry for node, entry in params if node not in beside]
    columns = []            # (anchor, level node) of each column, left to right
    if before or listed:
        columns.append(("anchor_inputs", inputs_column(graph, before, listed)))
        # what a step reads from there stands below the steps' titles: the edges fanning out from it
        # run level, and would run through the titles
        for name in dict.fromkeys(info.ids[parent] for node in stepped for parent in node.inputs
                                  if parent in feeding and parent not in between):
            graph.edge("anchor_inputs", name, style="invis")
    marker = marks_before_cut(info, first_cut)
    if marker:
        with note_column(graph, "before_cut", COLUMNS) as column:
            before_cut(column, info, **COLUMNS)
        columns.append(("anchor_before_cut", "before_cut"))
    note_at = next((step for step in steps if info.hidden_steps and step > info.hidden_steps[-1]), None)
    cutting = {drawn_in(info, parent) for node in info.drawn for parent in node.inputs
               if parent is not None and parent.kind == CUT and info.step_of[parent] != info.step_of[node]}
    for step in steps:
        if step == note_at:
            with note_column(graph, "elided", COLUMNS) as column:
                elision_note(column, info, **COLUMNS)
            columns.append(("anchor_elided", "elided"))
        members = clusters[step]
        members[0][1].update(COLUMNS)       # (its level node)
        greyed = all(attrs.get("fillcolor") == "gray92" for _, attrs in members)
        step_cluster(graph, info, step, colours, [(f"anchor_{step}", {**ANCHOR, **COLUMNS})] + members, greyed,
                     norms, CUT_MARGIN if step in cutting else None)
        columns.append((f"anchor_{step}", members[0][0]))
    if info.hidden_steps and note_at is None:
        elision_note(graph, info)
    keep_in_order(graph, columns)
    if marker:
        before_cut_edge(graph, first_cut)
    after = [(node, entry) for node, entry in loose if node not in feeding or node in between]
    for _, (name, attrs) in after + [(node, entry) for node, entry in params if node in beside]:
        graph.node(name, **attrs)
    joins = [name for node, (name, _) in after if info.step_of[node] is None and node not in between]
    if joins:       # (what reads every step, a layer's stack, would stand under the middle one)
        graph.edge(clusters[steps[-1]][-1][0], joins[0], style="invis", weight=FOLLOW)
    if legend(graph, info, norms):
        for root in info.roots:
            if not info.hidden(root):
                graph.edge(info.ids[root], "legend", style="invis")
    step_edges(graph, info, feeding, uses, beside, colours_of)


def use_column(info: GraphInfo, node: Node, feeding: set[Node]) -> float:
    """Where a node reading a parameter stands: BEFORE the steps (it feeds them from outside), in
    a step, or AFTER them (outside the columns)."""
    step = drawn_in(info, node)
    return BEFORE if node in feeding else AFTER if step is None else step


def first_uses(info: GraphInfo, feeding: set[Node]) -> dict[Node, float]:
    """parameter -> the column of its first use (`use_column`)."""
    uses = {}
    for node in info.drawn:
        for parent in node.inputs:
            if parent is not None and info.is_param(parent):
                uses[parent] = min(use_column(info, node, feeding), uses.get(parent, AFTER))
    return uses


def inputs_column(graph: graphviz.Digraph, before: list[tuple[str, dict]], params: list[tuple[str, dict]]) -> str:
    """The column left of the steps: what feeds them from outside (ranked by its edges into them),
    and below it the box of parameters, one above the other in order, its title level with the
    steps' first ops (a node, not the box's label: the edges from the parameters to what stands
    above them go round a node, and would cross a label). Returns the column's level node."""
    level = "parameters" if params else "level_inputs"
    with note_column(graph, "inputs", COLUMNS) as column:
        for name, attrs in before:
            column.node(name, **attrs)
        if not params:
            column.node(level, **ANCHOR, **COLUMNS)
        else:
            with subgraph(column, "cluster_parameters") as box:
                box.attr(label="", style="rounded,filled", fillcolor="aliceblue", color="gray70")
                box.node(level, html_label("parameters", f'<FONT POINT-SIZE="9" COLOR="gray40">{READ_AT}</FONT>'),
                         shape="plaintext", style="", **COLUMNS)
                for name, attrs in params:
                    box.node(name, **attrs)
                names = [level] + [name for name, _ in params]
                for upper, lower in zip(names, names[1:]):
                    box.edge(upper, lower, style="invis")
    return level


def drawn_in(info: GraphInfo, node: Node) -> int | None:
    """The step whose column holds the node, None for a node drawn outside the steps."""
    step = info.step_of[node]
    return step if step is not None and (node.step is not None or node.kind == CUT) else None


def step_edges(graph: graphviz.Digraph, info: GraphInfo, feeding: set[Node], uses: dict[Node, float],
               beside: set[Node], colours_of: dict[Node, str]) -> None:
    """The edges of a graph drawn in columns: those from one step to another rank nothing (also
    between nodes outside the columns that follow a step, as a running sum of the steps' losses
    does: they stand in a row under the steps), those into or out of the steps left out end at
    the note. A parameter has light dotted edges to the ops of its first use only (`first_uses`:
    one edge per use ran across every column); they rank nothing, but those of a parameter
    standing beside its reader (`beside`) hold it next to it."""
    drawn, edges = set(info.drawn), Edges(graph)
    for node in info.order:
        head = info.ids[node]
        for position, parent in enumerate(node.inputs):
            if parent is None:
                continue
            tail, mark = info.ids[parent], operand_mark(node, position)
            if info.is_param(parent):
                if node in drawn and use_column(info, node, feeding) == uses[parent]:
                    edges.add(tail, head, color=colours_of[parent], **PARAMETER_EDGE, **mark,
                              **({} if parent in beside else {"constraint": "false"}))
                continue
            steps = (info.step_of[parent], info.step_of[node])
            across = {"constraint": "false"} if None not in steps and steps[0] != steps[1] else {}
            if node not in drawn:       # (the note stands in a column: these edges do not rank it)
                if parent in drawn:
                    edges.add(tail, "elided", color=GREY, constraint="false")
            elif parent not in drawn:
                edges.add("elided", head, color=GREY, constraint="false")
            elif parent.kind == CUT:
                edges.add(tail, head, style="dashed", color=GREY, fontcolor="gray40",
                          xlabel=cut_edge_label(parent), **across, **mark)
            else:
                edges.add(tail, head, key=(tail, head, len(edges.seen)), **across, **mark)
