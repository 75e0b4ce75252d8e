"""`view="cells"`: per step one box for the state, one for what feeds it and one for what comes
after it, each step a column, the columns held left to right in time order and the state boxes
chained in one row."""

from __future__ import annotations

import graphviz

from ..autograd import CUT, FREED, Node
from .graph import GraphInfo
from .parts import (ANCHOR, Edges, before_cut, before_cut_edge, cut_edge_label, downstream, elision_note,
                    feeding_the_steps, keep_in_order, legend, marks_before_cut, node_label, node_style, note_column,
                    step_cluster, step_colours, subgraph)
from .style import GREY, TOTAL_COLOUR, html_label, norm, numbers, text

# The edge carrying the loss summed so far from one step's output box to the next: dashed, in a
# colour of its own and ranking nothing, so it does not read as the recurrence (cell to cell). The
# output boxes share a rank, and Graphviz sets a label on an edge within a rank in a rank of its own
# above it (where the columns' ladder runs: graphviz-pure's layout failed), an xlabel beside the line.
LOSS_SUM_EDGE = {"style": "dashed", "color": TOTAL_COLOUR, "fontcolor": TOTAL_COLOUR, "xlabel": "<+ loss>",
                 "constraint": "false"}
# The group of the cells view's columns (`keep_in_order`): each step's anchor and state box (its level node).
STATES = {"group": "states"}
# Room between neighbouring steps' frames (Graphviz's default, 0.25 in, left the frames 2 pt apart and
# the thick state edge between two steps' cells a stub).
STEP_GAP = "0.5"
# The ports of the state edges of a bidirectional layer, whose forward (t -> t + 1) and reverse
# (t + 1 -> t) edges join the same two boxes on one rank: without ports both ran along one line, their
# arrowheads meeting as one double-headed arrow. With them each runs as an arc of its own, one over the
# boxes' top corners and one under their bottom ones.
FORWARD_PORTS = {"tailport": "se", "headport": "sw"}
REVERSE_PORTS = {"tailport": "nw", "headport": "ne"}
# Where a step's header goes: Graphviz lays out a bottom-to-top drawing top to bottom and turns it over,
# cluster labels and all (`do_graph_label` in lib/common/input.c), so its clusters' top is "b".
HEADER_ON_TOP = "b"


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
    """One box per state per step, inputs below it, outputs and losses above, each step a column
    and the columns held left to right (`_columns`), the state boxes in one row. Left of the steps
    stands what feeds them from outside (a layer's input projection), with the parameters' table,
    the colour legend and the key of the loss sum under it; right of them what reads them from
    outside (a layer's stack of outputs, the loss on it).

    The steps share their ranks (bottom to top: input, cell, output), so an edge from outside to
    every step (a layer's input projection, its stack of outputs) spans a rank or two, not one
    rank per step: laid out one rank per step, left to right, each such edge ran through every
    step before it, and routing those (about T^2 / 2 pieces each) took graphviz-pure most of a
    minute for 150 steps of a 2-layer `nn.RNN`, the steps standing in a staircase. An edge from
    one step to another ranks nothing (the thick state edges run along the state boxes' rank),
    except a cut's, which holds the cut under the step it feeds.
    """
    graph.attr(rankdir="BT", nodesep=STEP_GAP)
    graph.node("start", **ANCHOR)                                   # first: see keep_in_order
    graph.node("end", **ANCHOR)
    group = _groups(info)
    states = set(info.states)
    norms = info.grad_norms()
    members = {}
    for node in info.drawn:
        members.setdefault(group[node], []).append(node)
    stepped = {node for node in info.drawn if info.step_of[node] is not None}
    feeding = feeding_the_steps(info, stepped)
    colours = step_colours(info, norms)
    clusters = {step: [] for step in info.shown_steps}
    before, after, first_cut = [], [], None     # (outside the steps: what feeds them, what reads them)
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
                (before if node in feeding else after).append(entry)
            continue
        kind = key.split("_")[0]
        if kind == "cell":
            label = _cell_label(nodes, states, show_values, info)
        else:
            label = _side_label(kind, nodes, show_values, info)
        attrs = {"label": label}
        if kind == "cell":
            attrs.update(penwidth="1.6", fillcolor=colours.get(step, "white"))
        clusters[step].append((key, attrs))
    row = []            # (column, its node in the state boxes' row), left to right
    with note_column(graph, "inputs", STATES) as column:
        column.node("top_inputs", **ANCHOR, **STATES)
        row.append(("inputs", _inputs_column(column, info, norms, before, members.get("params", []),
                                             bool(_running_total(info, group)))))
    marker = marks_before_cut(info, first_cut)
    if marker:
        with note_column(graph, "before_cut", STATES) as column:
            column.node("top_before_cut", **ANCHOR, **STATES)
            before_cut(column, info)
        row.append(("before_cut", "before_cut"))
    steps = [step for step, entries in clusters.items() if entries]
    note_at = next((step for step in steps if info.hidden_steps and step > info.hidden_steps[-1]), None)
    for step in steps:
        if step == note_at:
            with note_column(graph, "elided", STATES) as column:
                column.node("top_elided", **ANCHOR, **STATES)
                elision_note(column, info)
            row.append(("elided", "elided"))
        entries = clusters[step]
        greyed = all(attrs.get("fillcolor") == "gray92" for _, attrs in entries)
        keys = [key for key, _ in entries]
        level = next((key for key in (f"cell_{step}", f"out_{step}") if key in keys), None)
        layout = [(f"top_{step}", {**ANCHOR, **STATES})]
        graph.node(f"anchor_{step}", **ANCHOR, **STATES)
        if level is None:       # (a cut alone: it stands under the state box it feeds, its words on the edge)
            level = f"level_{step}"
            layout.append((level, ANCHOR))
        step_cluster(graph, info, step, colours, layout + entries, greyed, norms, labelloc=HEADER_ON_TOP)
        row.append((str(step), level))
    if info.hidden_steps and note_at is None:
        elision_note(graph, info)
    if after:
        with note_column(graph, "outputs", STATES) as column:
            column.node("top_outputs", **ANCHOR, **STATES)
            column.node("level_outputs", **ANCHOR)
            for name, attrs in after:
                column.node(name, **attrs)
        row.append(("outputs", "level_outputs"))
    _columns(graph, row, any(key.startswith("out_") for entries in clusters.values() for key, _ in entries))
    if marker:
        before_cut_edge(graph, first_cut, constraint="false")
    _edges(graph, info, group, feeding, {level for _, level in row})


def _columns(graph: graphviz.Digraph, row: list[tuple[str, str]], outputs: bool) -> None:
    """Hold the columns left to right (`keep_in_order`'s ladder), their nodes in the state boxes'
    row (the state box, else the output box, else an invisible point) on one rank.

    The ladder has ranks of its own above the columns' boxes: each column's `top_<name>`, its level
    node, a rank above the output boxes (`outputs`: the steps have some), and its anchor above
    that (a step's anchor outside its frame, which so ends at its top). No other edge runs between
    those ranks. With the ladder among the boxes' ranks (its anchors under the state boxes, where
    what feeds the steps from outside comes up to them, or over them, where the loss sum runs
    from output box to output box), graphviz-pure's layout failed ("trouble in init_rank") or set
    the note for the steps left out, or the whole row mirrored, out of place in one layout in ten
    or more (of 735: layers of 2 to 200 steps, 1 to 3 layers, with and without steps left out,
    loops of cells with cuts, TBPTT windows); now in none."""
    keep_in_order(graph, [(f"anchor_{name}", f"top_{name}") for name, _ in row], after=True)
    with subgraph(graph) as same:
        same.attr(rank="same")
        for _, level in row:
            same.node(level)
    for name, level in row:
        graph.edge(level, f"top_{name}", style="invis", minlen="2" if outputs else "1")


def _inputs_column(column: graphviz.Digraph, info: GraphInfo, norms: dict, before: list[tuple[str, dict]],
                   params: list[Node], summing: bool) -> str:
    """The column left of the steps: what feeds them from outside (ranked by its edges into them),
    under the steps the parameters' table, under it the colour legend and the key of the loss sum
    (each an edge below the one above it). Returns the column's node in the state boxes' row, an
    invisible point."""
    column.node("level_inputs", **ANCHOR)
    for name, attrs in before:
        column.node(name, **attrs)
    below = ["level_inputs"]
    if params:
        rows = "".join(f'<TR><TD ALIGN="LEFT"><B>{text(info.name(p))}</B></TD><TD>{text(p.shape)}</TD>'
                       f'<TD>{"" if p.grad is None else f"|grad| = {norm(p.grad):.3g}"}</TD></TR>'
                       for p in params)
        column.node("params", f'<<TABLE BORDER="0" CELLSPACING="2"><TR><TD COLSPAN="3">parameters'
                              f'</TD></TR>{rows}</TABLE>>', fillcolor="aliceblue")
        below.append("params")
    if legend(column, info, norms):
        below.append("legend")
    if summing:
        column.node("loss_sum_key", html_label(f'<FONT COLOR="{TOTAL_COLOUR}">- - -  + loss: the running loss '
                                               'total</FONT>', f'<FONT COLOR="{TOTAL_COLOUR}">(the steps\' '
                                               'losses added up, not the recurrence)</FONT>'),
                    shape="plaintext", style="")
        below.append("loss_sum_key")
    for upper, lower in zip(below, below[1:]):     # (the first a rank below the inputs' boxes)
        column.edge(lower, upper, style="invis", **({"minlen": "2"} if upper == "level_inputs" else {}))
    return "level_inputs"


def _edges(graph: graphviz.Digraph, info: GraphInfo, group: dict[Node, str], feeding: set[Node],
           levels: set[str]) -> None:
    """The edges between the boxes, each once. Those from one step to another rank nothing, but a
    cut's: it stands under the step reading it. A cut's words are a label on an edge into a later
    step, an xlabel, which Graphviz sets beside the line, on one within a step (a label there was
    drawn on the line when the step's boxes shared a rank) or between two nodes of the state boxes'
    rank (`levels`). What reads the steps from before them (a stacked layer's stack of the layer
    below) ranks nothing either: it stands left of the steps; nor does an edge into or out of the
    note for the steps left out, which stands in the row (a ranked edge from a layer's input
    projection to it failed graphviz-pure's layout, "trouble in init_rank")."""
    edges = Edges(graph)
    summing = _running_total(info, group)
    state_edges = {(group.get(parent), group.get(node)) for node in info.order for parent in node.inputs
                   if parent is not None and group.get(parent, "").startswith("cell_")
                   and group.get(node, "").startswith("cell_") and group[parent] != group[node]}
    free = {"constraint": "false"}
    for node in info.order:
        head = group.get(node, "elided")
        for parent in node.inputs:
            if parent is None:
                continue
            tail = group.get(parent, "elided")
            if tail == head or tail == "params":
                continue        # the table is drawn once; an edge per step would hide the cells
            steps = (info.step_of[parent], info.step_of[node])
            if parent.kind == CUT and tail != "elided":
                beside = steps[0] == steps[1] or (tail in levels and head in levels)
                edges.add(tail, head, style="dashed", color=GREY, fontcolor="gray40",
                          **{"xlabel" if beside else "label": cut_edge_label(parent)},
                          **(free if head == "elided" else {}))
            elif tail.startswith("cell_") and head.startswith("cell_"):
                ports = {} if (head, tail) not in state_edges else \
                    FORWARD_PORTS if steps[0] < steps[1] else REVERSE_PORTS      # (a bidirectional layer's pair)
                edges.add(tail, head, penwidth="2.2", **ports)  # (on the state boxes' rank: it ranks nothing)
            elif node in summing and tail.startswith("out_"):      # the loss so far, not a state
                edges.add(tail, head, **LOSS_SUM_EDGE)
            else:
                ranks_nothing = "elided" in (tail, head) or (None not in steps and steps[0] != steps[1]) \
                    or (node in feeding and steps[0] is not None) or _downwards(tail, head)
                edges.add(tail, head, color="gray35", **(free if ranks_nothing else {}))


STACKED = {"in": 0, "cell": 1, "out": 2}     # a step's boxes from the bottom up


def _downwards(tail: str, head: str) -> bool:
    """Whether an edge runs from a box of a step to one standing below it (a layer run a block of
    steps a call reads its state in the block's input box): it ranks nothing, as it would set the
    input above the state (the step's boxes stood in one rank when time ran across the ranks)."""
    kinds = [STACKED.get(name.split("_")[0]) for name in (tail, head)]
    return None not in kinds and kinds[0] > kinds[1]
