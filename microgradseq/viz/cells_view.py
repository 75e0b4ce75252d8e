"""`view="cells"`: per step one box for the state, one for what feeds it and one for what comes
after it, the state boxes chained in one row."""

from __future__ import annotations

import graphviz

from ..autograd import CUT, FREED, Node
from .graph import GraphInfo
from .parts import (Edges, before_cut, before_cut_edge, cut_edge_label, downstream, elision_note, feeding_the_steps,
                    legend, marks_before_cut, node_label, node_style, step_cluster, subgraph)
from .style import GREY, TOTAL_COLOUR, html_label, norm, numbers, text

# The edge carrying the loss summed so far from one step's output box to the next: dashed, in a
# colour of its own and ranking nothing, so it does not read as the recurrence (cell to cell).
LOSS_SUM_EDGE = {"style": "dashed", "color": TOTAL_COLOUR, "fontcolor": TOTAL_COLOUR, "label": "<+ loss>",
                 "constraint": "false"}


def _groups(info: GraphInfo) -> dict[Node, str]:
    """Each node's box: `in_t` (feeds the step), `cell_t` (the recurrence and its states),
    `out_t` (after the states), `params`, or its own id (cuts, nodes outside the steps).
    A step without states (its state cut) has no cell: what comes after the cut is its output.
    Only the drawn nodes are grouped: what a drawn node reads from the steps left out comes from
    an earlier step, and so carries the recurrence."""
    drawn = set(info.drawn)
    states = {node for node in info.states if node in drawn}
    stepped_states = {info.step_of[node] for node in states}
    feeds_state = set(states)
    for node in reversed(info.drawn):
        if node in feeds_state:
            for parent in node.inputs:
                if parent is not None and info.step_of[parent] == info.step_of[node]:
                    feeds_state.add(parent)
    recurrent = downstream(info, states | {node for node in info.drawn if node.kind == CUT})   # after a state
    in_cell = _feeding_the_cell(info, feeds_state - states, recurrent)
    group = {}
    for node in info.drawn:
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
    # what a step hands on to a later step's state without being a state itself (a layer's h_n,
    # the stack of its last h, when the layer runs a block of steps a call) is the recurrence
    for node in info.drawn:
        step = info.step_of[node]
        if step is None or node not in feeds_state:
            continue
        for parent in node.inputs:
            if parent is not None and group.get(parent, "").startswith("out_") and info.step_of[parent] < step:
                group[parent] = f"cell_{info.step_of[parent]}"     # (an output box: recurrent, no state)
    return group


def _running_total(info: GraphInfo, group: dict[Node, str]) -> set[Node]:
    """The `add`s of output boxes summing the steps' losses (`loss = loss + term` in the loop): each
    adds a scalar to the scalar total of an earlier step's output box. Its edge from box to box is
    drawn as the loss sum, not as the recurrence (which runs from cell to cell; an output fed back
    into the state, `h = cell(x, h) + out`, is no scalar)."""
    return {node for node in info.drawn if node.op == "add" and node.shape == () and group[node].startswith(
        "out_") and any(parent is not None and parent.shape == () and group.get(parent, "").startswith("out_")
                        and info.step_of[parent] < info.step_of[node] for parent in node.inputs)}


def _feeding_the_cell(info: GraphInfo, feeding: set, recurrent: set) -> set:
    """The nodes feeding a step's states that belong in its cell: those downstream of a state, and
    so the nodes in their places in another step of the same module scope: the first step, reading
    a zero state, is split as the others are, not left all input. A place is found by the step's
    whole sequence of (op, label); in a step whose sequence no other step has (a bidirectional
    layer's reverse direction at t = T over a packed batch, steps that all differ), by what each
    node is and reads (`_places`)."""
    by_step = {}
    for node in info.drawn:
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


def _cell_label(members: list[Node], states: set, show_values: bool, info: GraphInfo) -> str:
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
            grad = info.grad(node)
            if grad is not None:
                line += f"  |dL/d{text(node.label or 'state')}| = {norm(grad):.3g}"
            lines.append(line)
    lines.append(_ops_summary(members))
    return html_label(*lines)


def _side_label(kind: str, members: list[Node], show_values: bool, info: GraphInfo) -> str:
    """An input or output box: its ops, and the shape and values of the step's own result: its last
    labelled node (a step's `loss`, not the running total it is added to), else its last node
    reading nothing of an earlier step, else its last node."""
    def own(node: Node) -> bool:
        step = info.step_of[node]
        return all(p is None or info.step_of[p] is None or info.step_of[p] >= step for p in node.inputs)

    shown = next((node for node in reversed(members) if node.label), None) \
        or next((node for node in reversed(members) if own(node)), members[-1])
    lines = [f"<B>{'input' if kind == 'in' else 'output / loss'}</B>", _ops_summary(members), text(shown.shape)]
    if show_values and shown.value is not None:
        lines.append(f"{text(shown.label or shown.op)} = {text(numbers(shown.value))}")
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
    for node in info.drawn:
        members.setdefault(group[node], []).append(node)
    params = members.get("params", [])
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
        if kind == "cell":
            label = _cell_label(nodes, states, show_values, info)
        else:
            label = _side_label(kind, nodes, show_values, info)
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
    feeding = feeding_the_steps(info, {node for node in info.drawn if info.step_of[node] is not None})
    edges = Edges(graph)
    summing = _running_total(info, group)
    if summing:
        graph.node("loss_sum_key", html_label(f'<FONT COLOR="{TOTAL_COLOUR}">- - -  + loss: the running loss total'
                                              '</FONT>', f'<FONT COLOR="{TOTAL_COLOUR}">(the steps\' losses added up, '
                                              'not the recurrence)</FONT>'), shape="plaintext", style="")
    for node in info.order:
        head = group.get(node, "elided")
        # what feeds the steps stands before them, also what reads them first (stacked layers: the
        # outputs of the layer below, stacked for the input projection of the one above)
        back = {"constraint": "false"} if node in feeding else {}
        for parent in node.inputs:
            if parent is None:
                continue
            tail = group.get(parent, "elided")
            if tail == head:
                continue
            if tail == "params":
                continue        # the table is drawn once; an edge per step would hide the cells
            if parent.kind == CUT and tail != "elided":
                # a step's boxes share a rank, and a label on an edge within a rank sits on the line
                within = "xlabel" if info.step_of[parent] == info.step_of[node] else "label"
                edges.add(tail, head, style="dashed", color=GREY, fontcolor="gray40",
                          **{within: cut_edge_label(parent)})
            elif tail.startswith("cell_") and head.startswith("cell_"):
                edges.add(tail, head, penwidth="2.2")
            elif node in summing and tail.startswith("out_"):      # the loss so far, not a state
                edges.add(tail, head, **LOSS_SUM_EDGE)
            else:
                edges.add(tail, head, color="gray35", **(back if info.step_of[parent] is not None else {}))
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
