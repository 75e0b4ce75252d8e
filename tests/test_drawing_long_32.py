"""Long drawings: the ops view of about 100 steps or more renders with graphviz-pure, every step in its own
cluster, left to right in time order.

graphviz-pure's layout of an `mg.nn.RNN(2, 3)`'s ops view failed from 103 steps on (`trouble in init_rank`,
at 103, 105, 106, 107, 109, 110, 150 steps; not at 104, 108, 120, 200), and set the columns out of time order
from 84 steps on (a GRU's from 61). Graphviz 2.43's `dot` failed on the same DOT text in the same way. The
error comes from the x-coordinate pass (dot_position), after crossing minimisation had set two step clusters
in different orders on different ranks. Bisected on the DOT text of 103 steps: with each edge that holds the
columns in order (`ops_view.keep_in_order`, from a column's anchor to the next column) said once instead of
20 times it rendered; with newrank, splines=ortho, nslimit, compound, the edge labels or the constraint=false
edges taken out it still failed. The repeated edges are an inter-cluster edge each (a virtual node each
on the rank they cross) and cost 20 times as much to cross, against which what fans out to every step
(a layer's input projection, its stack of outputs) crossing every cluster's side weighs more as steps grow.

The columns are now held in order by one edge each between nodes of one `group` (Graphviz's attribute docs,
https://www.graphviz.org/docs/attrs/group/: "If the end points of an edge belong to the same group ...
parameters are set to avoid crossings and keep the edges straight"; dot_init_edge in lib/dotgen/dotinit.c,
ellson/MOTHBALLED-graphviz at 9a78b1c32d0b09c7e57920ed336bb8e0b685d571, gives such an edge the crossing
penalty CL_CROSS of a cluster's side and 100 times its weight; weight=0 keeps the weight 0).

Render times are not asserted (a busy machine is slow); each test checks that the work was done: the SVG
parses and holds one cluster per step, in time order. By hand, on a shared 2-core machine: 103 steps 0.6 s,
200 steps 2.3 - 2.9 s (19 - 75 s before, the layout not failing at 200; most of it routing the 20 copies).
"""

import re
import xml.etree.ElementTree as ET

import pytest

import microgradseq as mg
from microgradseq import viz
from microgradseq.viz.style import PALETTE

SVG = "{http://www.w3.org/2000/svg}"


def clusters_in_svg(path):
    """{cluster name: (left x, right x)} of a rendered drawing's framed clusters (their outline's extent)."""
    boxes = {}
    for group in ET.parse(path).getroot().iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        outline = group.find(f"{SVG}path")
        outline = outline if outline is not None else group.find(f"{SVG}polygon")
        if group.get("class") == "cluster" and title is not None and outline is not None:      # (a framed one)
            points = outline.get("d") or outline.get("points")
            xs = [float(x) for x in re.findall(r"-?\d+\.?\d*", points)[0::2]]
            boxes[title.text] = (min(xs), max(xs))
    return boxes


def texts_in_svg(path):
    return ["".join(e.itertext()) for e in ET.parse(path).getroot().iter(f"{SVG}text")]


def assert_steps_left_to_right(path, steps, first="cluster_parameters"):
    """One cluster per step 1 .. steps, none overlapping the next, after the cluster `first`."""
    boxes = clusters_in_svg(path)
    names = [first] + [f"cluster_step_{t}" for t in range(1, steps + 1)]
    assert sorted(name for name in boxes if name.startswith("cluster_step_")) == sorted(names[1:])
    for left, right in zip(names, names[1:]):
        assert boxes[left][1] <= boxes[right][0], (left, right)


def rnn_layer(steps, seed=0, kind="RNN", **options):
    mg.manual_seed(seed)
    layer = getattr(mg.nn, kind)(2, 3, **options)
    out, _ = layer(mg.randn(steps, 1, 2))
    return out.sum(), dict(layer.named_parameters())


def rungs(source):
    """The edges holding the columns in order: (anchor, level node of the next column)."""
    return re.findall(r"^\t(\w+) -> (\w+) \[style=invis weight=0\]$", source, flags=re.M)


# ---- the DOT text --------------------------------------------------------------------------------------------

def test_each_column_is_held_by_one_edge_between_nodes_of_one_group():
    loss, params = rnn_layer(103)
    source = viz.draw(loss, params, view="ops", max_steps=None).source
    rows = re.findall(r"\{\n\t\trank=same\n((?:\t\t\w+\n)+)\t\}", source)
    anchors, levels = ([line.strip() for line in row.splitlines()] for row in rows)
    assert anchors == ["anchor_inputs"] + [f"anchor_{t}" for t in range(1, 104)]
    assert len(levels) == 104 and levels[0] == "parameters"
    grouped = re.findall(r"^\t+(\w+) \[.* group=columns[ \]]", source, flags=re.M)
    assert sorted(grouped) == sorted(anchors + levels)
    steps = {name: int(t) for t, name in re.findall(r"subgraph cluster_step_(\d+) \{\n(?:\t\t.*\n)*?\t\t(n\d+) ",
                                                    source)}
    assert [steps[name] for name in levels[1:]] == list(range(1, 104))     # each step's first op
    assert rungs(source) == list(zip(anchors, levels[1:]))
    invisible = [line for line in source.splitlines() if "->" in line and "style=invis" in line]
    assert len(invisible) == len(set(invisible))        # no edge said twice (20 times each, before)


def test_shared_weights_are_drawn_once_and_each_step_is_one_cluster():
    loss, params = rnn_layer(103)
    source = viz.draw(loss, params, view="ops", max_steps=None).source
    for name in params:
        assert source.count(f"<B>{name}</B>") == 1, name
    assert re.findall(r"subgraph cluster_step_(\d+) \{", source) == [str(t) for t in range(1, 104)]


# ---- rendered with graphviz-pure ---------------------------------------------------------------------------

def test_the_ops_view_of_103_steps_renders_each_step_in_time_order(tmp_path):
    """The smallest RNN(2, 3) layer whose ops view failed (427 boxes)."""
    loss, params = rnn_layer(103)
    svg = viz.render(viz.draw(loss, params, view="ops", max_steps=None), tmp_path / "rnn103.svg")
    assert_steps_left_to_right(svg, 103)
    assert [text for text in texts_in_svg(svg) if text in params] == list(params)    # each weight once


def test_the_ops_view_of_200_steps_renders_each_step_in_time_order(tmp_path):
    loss, params = rnn_layer(200)
    svg = viz.render(viz.draw(loss, params, view="ops", max_steps=None), tmp_path / "rnn200.svg")
    assert_steps_left_to_right(svg, 200)


@pytest.mark.parametrize("steps", [105, 150])
def test_other_lengths_that_failed_render(tmp_path, steps):
    loss, params = rnn_layer(steps, seed=steps)
    svg = viz.render(viz.draw(loss, params, view="ops", max_steps=None), tmp_path / "rnn.svg")
    assert_steps_left_to_right(svg, steps)


def test_a_gru_layer_of_64_steps_stands_in_time_order(tmp_path):
    """A GRU's ops view rendered, but out of time order, from 61 steps on."""
    loss, params = rnn_layer(64, kind="GRU")
    svg = viz.render(viz.draw(loss, params, view="ops", max_steps=None), tmp_path / "gru64.svg")
    assert_steps_left_to_right(svg, 64)


def test_a_two_layer_lstm_of_four_steps_stands_in_time_order(tmp_path):
    """The stacked layer's stack and projection stand between its layers; with the ladder said once and
    no group, its parameters' column stood right of t = 1 (so one edge a column is not enough alone)."""
    loss, params = rnn_layer(4, kind="LSTM", num_layers=2)
    svg = viz.render(viz.draw(loss, params, view="ops"), tmp_path / "lstm2.svg")
    assert_steps_left_to_right(svg, 4)


def test_a_long_drawing_keeps_its_cut_and_its_gradient_colours(tmp_path):
    """103 steps of an RNN cell, h cut after t = 50 (truncate, k2 = 3), a loss at every step: the cut edge
    with its words, every step's header coloured from the palette and its frame too, and the legend."""
    mg.manual_seed(3)
    cell = mg.nn.RNNCell(2, 3)
    h, loss = None, None
    for t in range(1, 104):
        with viz.step(t):
            h = cell(mg.randn(1, 2), h)
            term = (h ** 2).sum()
            loss = term if loss is None else loss + term
        if t == 50:
            h = mg.bptt.truncate(h, k2=3)
    loss.backward(retain_graph=True)
    graph = viz.draw(loss, dict(cell.named_parameters()), view="ops", max_steps=None)
    svg = viz.render(graph, tmp_path / "cut.svg")
    assert_steps_left_to_right(svg, 103)
    texts = texts_in_svg(svg)
    assert "cut (k2 = 3)" in texts and "log10 ||dL/dh_t||" in texts
    assert sum("||dL/dh_t|| = " in text for text in texts) == 103         # every step's header prints its norm
    shades = {shade.lower() for shade in PALETTE}
    for group in ET.parse(svg).getroot().iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        if group.get("class") == "cluster" and title.text.startswith("cluster_step_"):
            header = group.find(f"{SVG}polygon").get("fill").lower()
            frame = group.find(f"{SVG}path").get("stroke").lower()
            assert header in shades and frame in shades | {"#b3b3b3"}, title.text    # (gray70: the palest's frame)
