"""The cells view of long sequences and of TBPTT updates: each step a column, the columns left to right in
time order, the state boxes in one row, rendered by graphviz-pure in well under a second.

1. Slow cells views. The cells view was laid out left to right with one rank per step (`rankdir=LR`, a
step's boxes sharing a rank). What feeds every step from outside or reads every step (a layer's input
projection, the stack of its outputs, and for a stacked layer the next layer's projection and the stack of
the layer below) then had an edge spanning up to T ranks to each step: about T^2 / 2 pieces of edge a fan
(dot's virtual nodes: 40,714 in the network-simplex pass of a 100-step 2-layer `nn.RNN`). Two such fans
crossed each other (5,049 crossings at 100 steps) and routing their splines took most of the time
(`graphviz-pure -v`: "routesplines: 921 edges, 19507 boxes 26.83 sec"); taking out the layer-0 projection's
fan alone made it 1.25 s. The fans also set the steps in a staircase, each lower than the one before (the
state boxes' y spread 10,292 pt at 100 steps, 1,617 pt already at 20 steps of 2 layers). There were no
invisible edges to blame; edge weights (weight=0 on the fans) and `splines` did not help enough or changed
the picture (`splines=line`, 3.2 s). The steps now share their ranks (`rankdir=BT`: input, cell, output
from the bottom up, each step a cluster standing as a column), held left to right by the ops view's ladder
(`parts.keep_in_order`: per column an invisible top and anchor on two ranks of their own above the boxes,
the top joined to its anchor and, with weight 0, to the previous column's, all of one `group`;
`cells_view._columns` says why there); the fans span a rank or two. Render times, measured interleaved in
one run on the shared 2-core machine (graphviz-pure 0.2.2, SVG, load about 3), before -> after:
   steps   1 layer          2 layers
     50    0.11 -> 0.09 s   1.81 -> 0.13 s
    100    0.82 -> 0.21 s   28.95 -> 0.17 s
    150    2.41 -> 0.35 s   119.67 -> 0.35 s
    200    4.49 -> 0.45 s   266.51 -> 0.47 s
and the state boxes' y spread from 1,862 - 20,828 pt to 0 (every length, every step in time order).

2. TBPTT(5, 3): in an update's window the steps behind the coming cut (their state cut, k2 < k1) have no
state box, only the cut and the loss computed from it; nothing ranked them (the loss sum between them does
not rank, the cut edges ran within a step) so they stood on one rank, one above the other, out of time
order. In columns held by the ladder every step has its place, whatever edges it has.

Graphviz sources read: the group attribute (https://www.graphviz.org/docs/attrs/group/) and
lib/dotgen/dotinit.c's dot_init_edge as last round's tests/test_drawing_long_32.py cites them; cluster
labels in a bottom-to-top drawing: magjac/graphviz, lib/common/input.c, do_graph_label, commit
73f5c8beb47d57a6a7d46b0f5238bf050a1c230b (a cluster label's room is kept at the layout's top, and the
drawing is turned over afterwards, so the step headers ask for labelloc=b to stand on top; checked below on
the rendered SVG).

Structure is read from the DOT source, positions from the SVG graphviz-pure writes; no time is asserted.
"""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from test_mutation_check_viz import cluster_bodies

import microgradseq as mg
from microgradseq import viz

SVG = "{http://www.w3.org/2000/svg}"


# ---- helpers ------------------------------------------------------------------------------------------------

def rnn_layer(steps, layers, seed=0, kind="RNN"):
    mg.manual_seed(seed)
    layer = getattr(mg.nn, kind)(2, 3, num_layers=layers)
    out, _ = layer(mg.randn(steps, 1, 2))
    loss = out.sum()
    loss.backward(retain_graph=True)
    return loss, dict(layer.named_parameters())


def edges_of(source):
    """[(tail, head, attribute text)] of every edge statement."""
    return [(a, b, attrs or "") for a, b, attrs in re.findall(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$", source, re.M)]


def rank_blocks(source):
    """The node lists of the `{rank=same ...}` and `{rank=min ...}` blocks."""
    return [block.split() for block in re.findall(r"\{\n\s*rank=(?:same|min)\n((?:\s*\w+\n)+)\s*\}", source)]


def ranks_deep(source):
    """How many ranks the layout needs: the longest path over the edges that rank (not constraint=false),
    the nodes of a rank=same block counted as one. A rank per step makes it grow with the steps."""
    parent = {}

    def find(name):
        while parent.get(name, name) != name:
            name = parent[name]
        return name

    for block in rank_blocks(source):
        for name in block[1:]:
            parent[find(name)] = find(block[0])
    successors = {}
    for tail, head, attrs in edges_of(source):
        if "constraint=false" not in attrs and find(tail) != find(head):     # (not an edge within a rank)
            successors.setdefault(find(tail), set()).add(find(head))
    depth, state = {}, {}

    def longest(node):         # iterative DFS: longest path from node
        stack = [(node, iter(successors.get(node, ())))]
        state[node] = "open"
        while stack:
            current, children = stack[-1]
            child = next(children, None)
            if child is None:
                depth[current] = 1 + max((depth[c] for c in successors.get(current, ())), default=0)
                state[current] = "done"
                stack.pop()
            elif state.get(child) == "open":
                raise AssertionError(f"a cycle of ranking edges through {child}")
            elif state.get(child) is None:
                state[child] = "open"
                stack.append((child, iter(successors.get(child, ()))))

    for node in list(successors):
        if state.get(node) is None:
            longest(node)
    return max(depth.values())


def extent(element):
    """(left, right, top, bottom) of an SVG path or polygon (SVG y grows downwards)."""
    numbers = [float(v) for v in re.findall(r"-?\d+\.?\d*", element.get("d") or element.get("points"))]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), max(xs), min(ys), max(ys)


def svg_layout(path):
    """({cluster name: extent of its frame}, {node name: extent of its shape}, [texts])."""
    clusters, nodes = {}, {}
    root = ET.parse(path).getroot()
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        shape = group.find(f"{SVG}path")
        shape = shape if shape is not None else group.find(f"{SVG}polygon")
        if title is None or shape is None:
            continue
        if group.get("class") == "cluster":
            clusters[title.text] = extent(shape)
        elif group.get("class") == "node":
            nodes[title.text] = extent(shape)
    texts = ["".join(e.itertext()) for e in root.iter(f"{SVG}text")]
    return clusters, nodes, texts


def assert_steps_in_one_row_in_time_order(clusters, steps):
    """A cluster per step, each right of the one before, and one horizontal band crossing them all."""
    names = [f"cluster_step_{t}" for t in steps]
    assert sorted(name for name in clusters if name.startswith("cluster_step_")) == sorted(names)
    for left, right in zip(names, names[1:]):
        assert clusters[left][1] <= clusters[right][0], (left, right)
    assert max(clusters[name][2] for name in names) < min(clusters[name][3] for name in names)     # one row


def centre_y(box):
    return (box[2] + box[3]) / 2


# ---- 1. long cells views: the DOT text ------------------------------------------------------------------------

def test_the_cells_view_needs_as_many_ranks_for_150_steps_as_for_3():
    """Laid out one rank per step, a 150-step layer needed 150-odd ranks, and every edge from the input
    projection to a step ran through all the steps before it."""
    depths = {steps: ranks_deep(viz.draw(*rnn_layer(steps, 2), max_steps=None).source) for steps in (3, 20, 150)}
    assert depths[3] == depths[20] == depths[150] <= 8, depths


def test_a_150_step_two_layer_cells_view_still_shows_every_step_edge_and_weight_once():
    """What the drawing shows is as before: a cluster per step with its input and cell boxes, the thick
    state edge from each cell to the next, each layer's projection feeding every step and each stack
    reading every step, the eight weights once in the table."""
    loss, params = rnn_layer(150, 2)
    source = viz.draw(loss, params, max_steps=None).source
    bodies = cluster_bodies(source)
    assert sorted(bodies) == list(range(1, 151))
    assert re.findall(r"subgraph cluster_step_(\d+) \{", source) == [str(t) for t in range(1, 151)]
    for t, body in bodies.items():
        assert re.search(rf"^\t\tin_{t} \[", body, re.M) and re.search(rf"^\t\tcell_{t} \[", body, re.M), t
    edges = edges_of(source)
    pairs = {(a, b) for a, b, _ in edges}
    assert all((f"cell_{t}", f"cell_{t + 1}") in pairs for t in range(1, 150))
    into_inputs = {b: a for a, b, _ in edges if b.startswith("in_")}
    assert len(into_inputs) == 150 and len(set(into_inputs.values())) == 1           # layer 0's projection
    into_cells = {(a, b) for a, b, _ in edges if b.startswith("cell_") and a.startswith("n")}
    assert len({a for a, _ in into_cells}) == 1 and len(into_cells) == 150            # layer 1's projection
    stacks = {}
    for a, b, attrs in edges:
        if a.startswith("cell_") and b.startswith("n"):
            stacks.setdefault(b, set()).add(a)
    assert len(stacks) == 2 and all(len(tails) == 150 for tails in stacks.values())
    for name in params:
        assert source.count(f"<B>{name}</B>") == 1, name


def test_the_columns_are_held_in_time_order_by_one_rung_each():
    """The ladder: each column has an invisible top two ranks above its node in the state boxes' row
    (one, with no output boxes), and an anchor above that; the anchors share a rank, the tops too,
    the row nodes too. Each top is joined to its own anchor and, with weight 0, to the previous
    column's anchor; every node of the ladder in the group `states`; no invisible edge said twice;
    no other edge touches the ladder."""
    source = viz.draw(*rnn_layer(40, 2), max_steps=None).source
    ends, anchors, tops, row = rank_blocks(source)
    assert ends == ["start", "end"]
    names = ["inputs"] + [str(t) for t in range(1, 41)] + ["outputs"]
    assert anchors == [f"anchor_{name}" for name in names] and tops == [f"top_{name}" for name in names]
    assert row == ["level_inputs"] + [f"cell_{t}" for t in range(1, 41)] + ["level_outputs"]
    edges = edges_of(source)
    rungs = [(a, b) for a, b, attrs in edges if attrs == "style=invis weight=0"]
    assert rungs == list(zip(tops[1:], anchors))
    assert [(a, b) for a, b, attrs in edges if b.startswith("anchor_") and attrs == "style=invis"] == list(zip(tops,
                                                                                                           anchors))
    into_tops = [(a, b, attrs) for a, b, attrs in edges if b.startswith("top_") and a not in ("start", "end")]
    assert [(a, b) for a, b, _ in into_tops] == list(zip(row, tops))
    assert all("minlen=1" in attrs for a, b, attrs in into_tops)
    assert [(a, b) for a, b, _ in edges if a in ("start", "end")] == [("start", "end"), ("start", tops[0]),
                                                                      ("end", tops[-1])]
    ladder = set(anchors + tops)
    assert {a for a, b, _ in edges if b in ladder} <= ladder | set(row) | {"start", "end"}
    assert {b for a, b, _ in edges if a in ladder} <= ladder
    grouped = set(re.findall(r"^\t+(\w+) \[.* group=states[ \]]", source, re.M))
    assert grouped == ladder
    invisible = [line for line in source.splitlines() if "->" in line and "style=invis" in line]
    assert len(invisible) == len(set(invisible))
    assert "rankdir=BT" in source


def test_the_ladder_stands_above_the_output_boxes():
    """With output boxes, a column's top is two ranks above its node in the row: a rank above the
    output boxes, which the loss sum joins (a ladder on their rank failed graphviz-pure's layout)."""
    graph = tbptt_updates(5, 3)[10]
    edges = edges_of(graph.source)
    ties = [attrs for a, b, attrs in edges if b.startswith("top_") and a not in ("start", "end")]
    assert len(ties) == 7 and all("minlen=2" in attrs for attrs in ties)
    sums = [attrs for a, b, attrs in edges if "+ loss" in attrs]
    assert len(sums) == 4 and all("xlabel=<+ loss>" in attrs and " label=" not in attrs for attrs in sums)


def test_edges_between_steps_rank_nothing_but_the_cuts():
    """An edge from one step to another does not rank (it would stack the steps' ranks over time), but
    a cut's, which holds the cut under the state box it feeds; the thick state edges join boxes of one
    rank."""
    mg.manual_seed(4)
    cell = mg.nn.RNNCell(2, 3)
    h, loss = None, None
    for t in range(1, 9):
        with viz.step(t):
            h = cell(mg.randn(1, 2), h)
            term = (h ** 2).sum()
            loss = term if loss is None else loss + term
        if t == 4:
            h = mg.bptt.truncate(h, k2=2)
    source = viz.draw(loss, dict(cell.named_parameters()), max_steps=None).source
    step_of = {name: t for t, body in cluster_bodies(source).items()
               for name in re.findall(r"^\t\t(\w+) \[", body, re.M)}
    levels = set(rank_blocks(source)[-1])
    cuts = set(re.findall(r"^\t\t(n\d+) \[label=<<B>cut</B>", source, re.M))
    assert len(cuts) == 1
    across = [(a, b, attrs) for a, b, attrs in edges_of(source)
              if a in step_of and b in step_of and step_of[a] != step_of[b] and "invis" not in attrs]
    assert across
    for a, b, attrs in across:
        assert "constraint=false" in attrs or a in cuts or (a in levels and b in levels), (a, b, attrs)
    (cut_edge,) = [attrs for a, b, attrs in across if a in cuts]
    assert "style=dashed" in cut_edge and "label=<cut (k2 = 2)>" in cut_edge and "constraint" not in cut_edge


# ---- 1. long cells views: rendered ----------------------------------------------------------------------------

@pytest.mark.parametrize("steps, layers", [(2, 1), (3, 2), (5, 1), (12, 2), (31, 1), (64, 2), (103, 1), (150, 2),
                                           (200, 2)])
def test_a_layer_s_cells_view_renders_its_steps_in_one_row_in_time_order(tmp_path, steps, layers):
    """graphviz-pure's SVG: a cluster per step left to right in time order, the state boxes at one height
    (they came out in a staircase), the input projection left of the first step, the stack of the top
    layer's outputs right of the last (for two layers, the stack of layer 0 and layer 1's projection left
    of the first step too), and each step's header above its state box."""
    loss, params = rnn_layer(steps, layers, seed=steps)
    graph = viz.draw(loss, params, max_steps=None)
    clusters, nodes, texts = svg_layout(viz.render(graph, tmp_path / "cells.svg"))
    assert_steps_in_one_row_in_time_order(clusters, range(1, steps + 1))
    rows = [centre_y(nodes[f"cell_{t}"]) for t in range(1, steps + 1)]
    assert max(rows) - min(rows) < 1
    edges = edges_of(graph.source)
    first, last = clusters["cluster_step_1"], clusters[f"cluster_step_{steps}"]
    (projection,) = {a for a, b, _ in edges if b == "in_1"}
    assert nodes[projection][1] < first[0]
    for stack, attrs in [(b, attrs) for a, b, attrs in edges if a == f"cell_{steps}" and b.startswith("n")]:
        if "constraint=false" in attrs:                     # the stack of layer 0, read by layer 1's projection
            assert nodes[stack][1] < first[0]
        else:
            assert nodes[stack][0] > last[1]
    assert len([a for a, b, _ in edges if a == f"cell_{steps}" and b.startswith("n")]) == layers
    header = next(k for k, text in enumerate(texts) if text == "t = 1")
    assert "||dL/dh_t||" in texts[header + 1]
    assert nodes["cell_1"][2] > first[2] + 20            # room for the header above the state box
    for name in params:
        assert texts.count(name) == 1, name


def test_the_header_of_a_step_stands_above_its_boxes(tmp_path):
    """A bottom-to-top drawing turns cluster labels over: labelloc=b puts the header on top."""
    loss, params = rnn_layer(3, 1)
    source = viz.draw(loss, params).source
    assert source.count("labelloc=b") == 3
    path = viz.render(source, tmp_path / "three.svg")
    root = ET.parse(path).getroot()
    _, nodes, _ = svg_layout(path)
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        if group.get("class") == "cluster" and title.text.startswith("cluster_step_"):
            t = title.text.rsplit("_", 1)[1]
            header_y = min(float(text.get("y")) for text in group.iter(f"{SVG}text"))
            assert header_y < nodes[f"cell_{t}"][2] and header_y < nodes[f"in_{t}"][2], t


def note_x(path, words):
    """The x of the text starting with `words` (a plaintext node has no shape: its place is its text's)."""
    found = [float(t.get("x")) for t in ET.parse(path).getroot().iter(f"{SVG}text")
             if "".join(t.itertext()).startswith(words)]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("steps, layers, max_steps", [(200, 2, 12), (30, 1, 6)])
def test_the_note_for_the_steps_left_out_stands_in_the_row_between_the_steps_around_it(tmp_path, steps, layers,
                                                                                       max_steps):
    """An edge into or out of the note ranks nothing: a ranked one from the input projection failed the
    layout of 200 steps of a 2-layer RNN ("trouble in init_rank")."""
    loss, params = rnn_layer(steps, layers, seed=9)
    graph = viz.draw(loss, params, max_steps=max_steps)
    half, left_out = max_steps // 2, steps - max_steps
    words = f"... {left_out} steps left out (t = {half + 1} .. {steps - half}) ..."
    assert words in graph.source
    assert all("constraint=false" in attrs for a, b, attrs in edges_of(graph.source)
               if "elided" in (a, b) and "invis" not in attrs)
    path = viz.render(graph, tmp_path / "elided.svg")
    clusters, _, _ = svg_layout(path)
    shown = list(range(1, half + 1)) + list(range(steps - half + 1, steps + 1))
    assert_steps_in_one_row_in_time_order(clusters, shown)
    assert clusters[f"cluster_step_{half}"][1] < note_x(path, words[:12]) < clusters[f"cluster_step_{shown[half]}"][0]


# ---- 2. TBPTT(5, 3) -----------------------------------------------------------------------------------------

def tbptt_updates(k1, k2, n=15, view="cells", seed=2):
    """{u: (graph, loss value)} of every update of TBPTT(k1, k2) over an RNNCell, drawn inside on_backward as
    docs/drawing.md shows (draw_update), with a loss at every step."""
    mg.manual_seed(seed)
    cell = mg.nn.RNNCell(2, 3)
    params = dict(cell.named_parameters())
    drawn = {}

    def step(x, h):
        h = cell(x, h)
        return h, h

    def on_backward(u, loss):
        drawn[u] = viz.draw_update(loss, params, view=view)

    mg.bptt.tbptt(step, None, [mg.randn(1, 2) for _ in range(n)], [mg.zeros(1, 3)] * n,
                  lambda h, target: ((h - target) ** 2).sum(), k1=k1, k2=k2, on_backward=on_backward,
                  on_update=lambda u, loss: cell.zero_grad())
    return drawn


def test_tbptt_5_3_update_10_window_in_the_dot_text():
    """u = 10, c = u - k2 = 7: the losses of t = 6 .. 10 are injected; t = 6 and 7 are behind the cut
    (their state cut, their loss computed from it): a cut and an output box each, no state box; t = 8 .. 10
    input, cell and output; the cut of t = 7 feeds t = 8's cell; the marker for t < 6."""
    graph = tbptt_updates(5, 3)[10]
    source = graph.source
    bodies = cluster_bodies(source)
    assert sorted(bodies) == [6, 7, 8, 9, 10]
    for t in (6, 7):
        assert f"out_{t} [" in bodies[t] and "<B>cut</B> h" in bodies[t] and "cell_" not in bodies[t], t
    for t in (8, 9, 10):
        assert all(f"{box}_{t} [" in bodies[t] for box in ("in", "cell", "out")), t
    cut_7 = re.search(r"^\t\t(n\d+) \[label=<<B>cut</B>", bodies[7], re.M).group(1)
    (into_8,) = [attrs for a, b, attrs in edges_of(source) if a == cut_7 and b == "cell_8"]
    assert "style=dashed" in into_8 and "label=<cut (k2 = 3)>" in into_8
    assert "t &lt; 6" in source and "gradients stop at the cut at c = 7" in source
    levels = rank_blocks(source)[-1]
    assert levels[levels.index("out_6"):] == ["out_6", "out_7", "cell_8", "cell_9", "cell_10"]


@pytest.mark.parametrize("view", ["cells", "ops"])
def test_tbptt_5_3_every_update_renders_its_steps_in_time_order_along_one_row(tmp_path, view):
    """The steps behind the cut (t = 6, 7 at u = 10) stood one above the other, left of t = 8 and out of
    order, in the cells view; now every update's steps run left to right, the marker for the steps behind
    the truncation left of them, and the cut's words are drawn."""
    drawn = tbptt_updates(5, 3, view=view)
    assert sorted(drawn) == [5, 10, 15]
    for u, graph in drawn.items():
        steps = sorted(int(t) for t in re.findall(r"subgraph cluster_step_(\d+) \{", graph.source))
        assert steps == list(range(max(1, u - 4), u + 1)), u
        clusters, nodes, texts = svg_layout(viz.render(graph, tmp_path / f"u{u}.svg"))
        assert_steps_in_one_row_in_time_order(clusters, steps)
        if u > 5:
            assert "cut (k2 = 3)" in texts and "t < " + str(u - 4) in texts
            assert nodes["before_cut"][1] < clusters[f"cluster_step_{steps[0]}"][0]
        if view == "cells":
            shown = [t for t in steps if f"cell_{t}" in nodes]
            rows = [centre_y(nodes[f"cell_{t}"]) for t in shown]
            assert len(shown) == min(3, len(steps)) and max(rows) - min(rows) < 1


@pytest.mark.parametrize("k1, k2", [(5, 3), (4, 2), (6, 2), (3, 1), (5, 5), (2, 4), (3, 6)])
def test_tbptt_windows_of_other_k1_k2_run_in_time_order(tmp_path, k1, k2):
    drawn = tbptt_updates(k1, k2, n=12)
    for u, graph in drawn.items():
        steps = sorted(int(t) for t in re.findall(r"subgraph cluster_step_(\d+) \{", graph.source))
        clusters, _, _ = svg_layout(viz.render(graph, tmp_path / f"u{u}.svg"))
        assert_steps_in_one_row_in_time_order(clusters, steps)


def test_tbptt_blocks_5_3_over_a_gru_layer_runs_in_time_order(tmp_path):
    """The same over tbptt_blocks, a GRU layer run a block of steps a call: its h_n is the recurrence."""
    mg.manual_seed(0)
    gru, head = mg.nn.GRU(2, 3), mg.nn.Linear(3, 1)
    drawn = {}

    def step_block(xs, h):
        out, h = gru(xs, h)
        return [head(o) for o in out], h

    def on_backward(u, loss):
        drawn[u] = viz.draw_update(loss, dict(gru.named_parameters()))

    mg.bptt.tbptt_blocks(step_block, None, mg.randn(15, 1, 2), mg.randn(15, 1, 1),
                         lambda o, y: ((o - y) ** 2).sum(), k1=5, k2=3, on_backward=on_backward)
    assert sorted(drawn) == [5, 10, 15]
    for u, graph in drawn.items():
        steps = sorted(int(t) for t in re.findall(r"subgraph cluster_step_(\d+) \{", graph.source))
        assert steps == list(range(max(1, u - 4), u + 1)), u
        clusters, _, texts = svg_layout(viz.render(graph, tmp_path / f"u{u}.svg"))
        assert_steps_in_one_row_in_time_order(clusters, steps)
        assert u == 5 or "cut (k2 = 3)" in texts


def test_a_cut_alone_in_its_step_stands_under_the_state_box_it_feeds(tmp_path):
    """TBPTT(2, 4) at u = 6 (docs/tbptt.md's figure): step 2 holds the cut alone; an invisible point holds
    its place in the state boxes' row, and the cut stands below it, so its edge into t = 3's cell carries
    its words as a label (with the cut in the row, an xlabel was squeezed between the frames)."""
    graph = tbptt_updates(2, 4, n=8)[6]
    source = graph.source
    assert re.search(r"^\t\tlevel_2 \[label=\"\" height=0 shape=point style=invis", cluster_bodies(source)[2], re.M)
    assert rank_blocks(source)[-1][:3] == ["level_inputs", "before_cut", "level_2"]
    cut = re.search(r"^\t\t(n\d+) \[label=<<B>cut</B>", cluster_bodies(source)[2], re.M).group(1)
    (attrs,) = [attrs for a, b, attrs in edges_of(source) if a == cut and b == "cell_3"]
    assert re.search(r"(^| )label=<cut \(k2 = 4\)>", attrs)
    clusters, nodes, texts = svg_layout(viz.render(graph, tmp_path / "u6.svg"))
    assert_steps_in_one_row_in_time_order(clusters, [2, 3, 4, 5, 6])
    assert nodes[cut][2] > nodes["cell_3"][3]             # below t = 3's state box
    assert "cut (k2 = 4)" in texts


def test_the_step_values_drawn_are_the_hand_computed_ones():
    """The boxes still print what the steps computed: h_t = tanh(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh)
    by numpy in float64, for a 3-step RNNCell loop (no value read from the library's own results)."""
    mg.manual_seed(5)
    cell = mg.nn.RNNCell(2, 3, dtype=np.float64)
    xs = [np.random.default_rng(20 + t).standard_normal((1, 2)) for t in range(3)]
    h, loss = None, None
    for t in range(1, 4):
        with viz.step(t):
            h = cell(mg.tensor(xs[t - 1]), h)
            term = (h ** 2).sum()
            loss = term if loss is None else loss + term
    source = viz.draw(loss, dict(cell.named_parameters())).source
    w_ih, w_hh, b_ih, b_hh = (np.asarray(p.data, np.float64) for p in (cell.weight_ih, cell.weight_hh,
                                                                       cell.bias_ih, cell.bias_hh))
    expected = np.zeros((1, 3))
    for t in range(1, 4):
        expected = np.tanh(xs[t - 1] @ w_ih.T + b_ih + expected @ w_hh.T + b_hh)
        label = re.search(rf"^\t\tcell_{t} \[label=<(.*)>", source, re.M).group(1)
        shown = [float(v) for v in re.search(r"h \(1, 3\) = \[([^\]]*)\]", label).group(1).split(", ")]
        assert np.allclose(shown, expected[0], rtol=1e-3, atol=1e-4), t


# ---- layouts that failed on the way (graphviz-pure: "trouble in init_rank", or a row mirrored) ----------------

def cell_loop(kind, steps, seed=9):
    """A loop of `kind` cells with a loss at every step, summed as it goes (the `+ loss` edges)."""
    mg.manual_seed(seed)
    cell = getattr(mg.nn, kind)(2, 3)
    state, loss = None, None
    for t in range(1, steps + 1):
        with viz.step(t):
            state = cell(mg.randn(1, 2), state)
            h = state[0] if isinstance(state, tuple) else state
            term = (h ** 2).sum()
            loss = term if loss is None else loss + term
    loss.backward(retain_graph=True)
    return loss, dict(cell.named_parameters())


def blocks_update(kind, k1, k2, u):
    mg.manual_seed(0)
    layer, head = getattr(mg.nn, kind)(2, 3), mg.nn.Linear(3, 1)
    drawn = {}

    def step_block(xs, h):
        out, h = layer(xs, h)
        return [head(o) for o in out], h

    def on_backward(update, loss):
        drawn[update] = viz.draw_update(loss, dict(layer.named_parameters()))

    mg.bptt.tbptt_blocks(step_block, None, mg.randn(15, 1, 2), mg.randn(15, 1, 1),
                         lambda o, y: ((o - y) ** 2).sum(), k1=k1, k2=k2, on_backward=on_backward)
    return drawn[u]


def layer_drawing(kind, layers, steps, bidirectional=False, max_steps=12, seed=5):
    mg.manual_seed(seed)
    layer = getattr(mg.nn, kind)(2, 3, num_layers=layers, bidirectional=bidirectional)
    out, _ = layer(mg.randn(steps, 1, 2))
    loss = out.sum()
    loss.backward(retain_graph=True)
    return viz.draw(loss, dict(layer.named_parameters()), max_steps=max_steps)


@pytest.mark.parametrize("name, make", [
    ("a 9-step RNNCell loop: the + loss labels on edges within a rank", lambda: viz.draw(*cell_loop("RNNCell", 9))),
    ("a 30-step LSTMCell loop", lambda: viz.draw(*cell_loop("LSTMCell", 30), max_steps=None)),
    ("a 2-step, 3-layer bidirectional RNN: mirrored", lambda: layer_drawing("RNN", 3, 2, True)),
    ("a 13-step 2-layer GRU, 6 steps drawn", lambda: layer_drawing("GRU", 2, 13, max_steps=6)),
    ("a 13-step bidirectional LSTM, 12 steps drawn", lambda: layer_drawing("LSTM", 1, 13, True)),
    ("TBPTT(4, 4) of a GRU layer run in blocks, u = 12", lambda: blocks_update("GRU", 4, 4, 12)),
    ("TBPTT(4, 4) of an LSTM layer run in blocks, u = 15", lambda: blocks_update("LSTM", 4, 4, 15)),
    ("TBPTT(8, 8), u = 16", lambda: tbptt_updates(8, 8, n=20)[16]),
])
def test_layouts_that_failed_on_the_way_render_in_time_order(tmp_path, name, make):
    graph = make()
    steps = [int(t) for t in re.findall(r"subgraph cluster_step_(\d+) \{", graph.source)]
    clusters, _, texts = svg_layout(viz.render(graph, tmp_path / "layout.svg"))
    assert_steps_in_one_row_in_time_order(clusters, steps)
    note = re.search(r"\(t = (\d+) \.\. (\d+)\) \.\.\.", graph.source)
    if note:
        words = next(text for text in texts if text.startswith("... "))
        x = note_x(tmp_path / "layout.svg", words)
        before, after = int(note.group(1)) - 1, int(note.group(2)) + 1
        assert clusters[f"cluster_step_{before}"][1] < x < clusters[f"cluster_step_{after}"][0], name


def test_an_edge_down_a_step_ranks_nothing():
    """A layer run a block of steps a call reads its state in the block's input box: the edge from the
    step's state box down to its input box ranks nothing (it would set the input above the state)."""
    source = blocks_update("GRU", 4, 4, 8).source
    down = [(a, b, attrs) for a, b, attrs in edges_of(source)
            if re.fullmatch(r"(cell|out)_\d+", a) and re.fullmatch(r"(in|cell)_\d+", b) and a.split("_")[1] ==
            b.split("_")[1] and (a.startswith("out") or b.startswith("in"))]
    assert down and all("constraint=false" in attrs for _, _, attrs in down)
    up = [attrs for a, b, attrs in edges_of(source) if re.fullmatch(r"in_\d+", a) and b == f"cell_{a[3:]}"]
    assert up and all("constraint" not in attrs for attrs in up)
