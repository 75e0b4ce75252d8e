"""Review of the cells view's column layout (round 33, commit 18b93c7): what a student sees.

Drawings looked at (graphviz-pure PNGs): RNN/LSTM/GRU layers of 4, 12 and 40 steps, 1 and 2 layers,
bidirectional, `max_steps=12` with steps left out; cell loops under `mg.bptt.tbptt` drawn by `draw_update`
inside `on_backward` for TBPTT(2, 4), (5, 3), (3, 1), (4, 4). Steps stand left to right in time order, one
frame per step, headers on top, the cut and its `cut (k2 = N)` words visible. Two faults, fixed in
`viz/cells_view.py`:

1. A bidirectional layer's forward (t -> t + 1) and reverse (t + 1 -> t) state edges join the same two
   boxes on one rank and were drawn along one line, the two arrowheads meeting as a single double-headed
   arrow (or a black diamond): the two recurrences could not be told apart. They now leave and enter by
   compass ports (Graphviz's portPos, https://graphviz.org/docs/attr-types/portPos/), one arc over the
   boxes' corners and one under them.
2. Neighbouring steps' frames stood about 2 pt apart (Graphviz's default nodesep, 0.25 in, less the two
   clusters' 8 pt margins), so the thick state edge between two cells was a stub between two touching
   frames. The cells view asks for `nodesep=0.5`.

Structure is read from the DOT source, positions from the SVG graphviz-pure writes; no time is asserted.
"""

from __future__ import annotations

import re

import pytest

import microgradseq as mg
from microgradseq import viz


def layer_graph(kind: str, steps: int, bidirectional: bool, **draw_kw):
    mg.manual_seed(0)
    module = getattr(mg.nn, kind)(2, 3, bidirectional=bidirectional)
    output, _ = module(mg.randn(steps, 1, 2))
    loss = (output ** 2).sum()
    loss.backward(retain_graph=True)
    return viz.draw(loss, dict(module.named_parameters()), **draw_kw)


def svg_of(graph, tmp_path) -> str:
    path = tmp_path / "drawing.svg"
    viz.render(graph, path)
    return path.read_text()


def edge_path(svg: str, tail: str, head: str) -> list[tuple[float, float]]:
    """The points of the edge tail -> head's path (the title may carry ports, `cell_1:se->cell_2:sw`)."""
    pattern = rf"<title>{tail}(?::\w+)?&#45;&gt;{head}(?::\w+)?</title>\s*<path[^>]* d=\"([^\"]+)\""
    match = re.search(pattern, svg)
    assert match, f"no edge {tail} -> {head} in the SVG"
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", match.group(1))]
    return list(zip(numbers[::2], numbers[1::2]))


def cluster_x(svg: str, name: str) -> tuple[float, float]:
    match = re.search(rf"<title>{name}</title>\s*<path[^>]* d=\"([^\"]+)\"", svg)
    assert match, name
    xs = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", match.group(1))[::2]]
    return min(xs), max(xs)


def edge_line(source: str, tail: str, head: str) -> str:
    lines = [line for line in source.splitlines() if re.match(rf"\s*{tail} -> {head} ", line)]
    assert len(lines) == 1, (tail, head, lines)
    return lines[0]


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_bidirectional_state_edges_have_ports_of_their_own(kind):
    source = layer_graph(kind, 4, True).source
    for t in range(1, 4):
        forward, reverse = edge_line(source, f"cell_{t}", f"cell_{t + 1}"), edge_line(source, f"cell_{t + 1}",
                                                                                         f"cell_{t}")
        assert "tailport=se" in forward and "headport=sw" in forward
        assert "tailport=nw" in reverse and "headport=ne" in reverse


def test_one_direction_keeps_its_straight_state_edges():
    source = layer_graph("GRU", 4, False).source
    for t in range(1, 4):
        line = edge_line(source, f"cell_{t}", f"cell_{t + 1}")
        assert "port" not in line and "penwidth=2.2" in line
        assert not re.search(rf"\bcell_{t + 1} -> cell_{t}\b", source)


def test_bidirectional_state_edges_are_two_arcs_in_the_svg(tmp_path):
    svg = svg_of(layer_graph("GRU", 4, True), tmp_path)
    for t in range(1, 4):
        forward, reverse = edge_path(svg, f"cell_{t}", f"cell_{t + 1}"), edge_path(svg, f"cell_{t + 1}", f"cell_{t}")
        assert forward[0][0] < forward[-1][0] and reverse[0][0] > reverse[-1][0]    # each runs its own way
        forward_y = [y for _, y in forward]
        reverse_y = [y for _, y in reverse]
        # the two arcs stand apart: one wholly above the other (SVG y grows downwards), by more than a line width
        assert max(forward_y) + 10 < min(reverse_y) or max(reverse_y) + 10 < min(forward_y), (forward, reverse)


def test_bidirectional_pairs_with_steps_left_out(tmp_path):
    graph = layer_graph("GRU", 20, True, max_steps=6)
    source = graph.source
    assert "tailport=se" in edge_line(source, "cell_1", "cell_2")
    # the edges to and from the note for the steps left out are no pair of cells: no ports
    assert all("port" not in line for line in source.splitlines() if "elided" in line and "->" in line)
    svg = svg_of(graph, tmp_path)
    left = [cluster_x(svg, f"cluster_step_{t}")[0] for t in (1, 2, 3, 18, 19, 20)]
    assert left == sorted(left)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_neighbouring_step_frames_stand_apart(tmp_path, bidirectional):
    graph = layer_graph("RNN", 5, bidirectional)
    assert re.search(r"\bnodesep=0\.5\b", graph.source)
    svg = svg_of(graph, tmp_path)
    frames = [cluster_x(svg, f"cluster_step_{t}") for t in range(1, 6)]
    for (_, right), (left, _) in zip(frames, frames[1:]):
        assert left - right >= 15, frames          # (about 2 pt before)
    arrow = edge_path(svg, "cell_1", "cell_2")
    assert arrow[-1][0] - arrow[0][0] >= 15        # the state edge between two cells is no stub


def test_tbptt_window_steps_in_time_order_with_the_cut(tmp_path):
    """TBPTT(5, 3)'s update at u = 10: steps 6 and 7 behind the cut keep their places, the cut is labelled."""
    mg.manual_seed(2)
    cell, head = mg.nn.RNNCell(2, 3), mg.nn.Linear(3, 1)
    drawn = {}

    def step(x, h):
        h = cell(x, h)
        return head(h), h

    def on_backward(u, loss):
        if u == 10:
            drawn["graph"] = viz.draw_update(loss, dict(cell.named_parameters()))

    inputs = [mg.randn(1, 2) for _ in range(10)]
    mg.bptt.tbptt(step, None, inputs, [mg.zeros(1, 1)] * 10, lambda o, y: ((o - y) ** 2).sum(), k1=5, k2=3,
                  on_backward=on_backward)
    source = drawn["graph"].source
    assert "cut (k2 = 3)" in source
    svg = svg_of(drawn["graph"], tmp_path)
    left = [cluster_x(svg, f"cluster_step_{t}")[0] for t in range(6, 11)]
    assert left == sorted(left) and len(set(left)) == 5
