"""Where the drawings put things: read off the rendered SVG (positions of steps, nodes and edges)
and off the DOT text, against what a reader of the picture must see."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import viz
from microgradseq.viz import cells_view
from microgradseq.viz.style import numbers

SVG = "{http://www.w3.org/2000/svg}"


class Picture:
    """A rendered drawing: the x extent of each cluster and node, the points of each edge, the
    texts of each edge."""

    def __init__(self, path):
        self.clusters, self.nodes, self.edges, self.edge_texts = {}, {}, {}, {}
        for group in ET.parse(path).getroot().iter(f"{SVG}g"):
            title = group.find(f"{SVG}title")
            if title is None:
                continue
            kind = group.get("class")
            shape = group.find(f"{SVG}path")
            if shape is None:
                shape = group.find(f"{SVG}polygon")
            points = [] if shape is None else re.findall(r"-?\d+\.?\d*", shape.get("d") or shape.get("points"))
            xs = [float(x) for x in points[0::2]]
            if kind == "cluster" and xs:
                self.clusters[title.text] = (min(xs), max(xs))
            elif kind == "node" and xs:
                self.nodes[title.text] = (min(xs), max(xs))
            elif kind == "edge":
                self.edges.setdefault(title.text, []).append(xs)
                self.edge_texts[title.text] = [(float(t.get("x")), t.get("text-anchor"), t.text)
                                               for t in group.findall(f"{SVG}text")]

    def centre(self, node):
        left, right = self.nodes[node]
        return (left + right) / 2


def draw_and_render(tmp_path, root, params=None, **options):
    graph = viz.draw(root, params, **options)
    return graph.source, Picture(viz.render(graph, tmp_path / "drawing.svg"))


def node_id(source, *words, cluster=None):
    """The id of the node whose label holds all `words` (inside `cluster` when given)."""
    text = source
    if cluster is not None:
        start = source.index(f"subgraph {cluster} {{")
        text = source[start:source.index("\n\t}", start)]
    found = [m.group(1) for m in re.finditer(r"^\s*(n\d+) \[label=<(.*)>", text, re.M)
             if all(word in m.group(2) for word in words)]
    assert len(found) == 1, (words, found)
    return found[0]


def lstm_layer(steps=5):
    mg.manual_seed(1)
    lstm, head = mg.nn.LSTM(2, 3), mg.nn.Linear(3, 1)
    params = {**{f"lstm.{k}": v for k, v in lstm.named_parameters()},
              **{f"head.{k}": v for k, v in head.named_parameters()}}
    output, _ = lstm(mg.randn(steps, 1, 2))
    loss = (head(output) ** 2).mean()
    loss.backward(retain_graph=True)
    return loss, params


# ---- the ops view: columns, and the edges between them --------------------------------------------------

def test_the_h_of_each_step_runs_to_the_next_step_not_around_the_last(tmp_path):
    """An LSTM layer's h_t feeds step t + 1's h W_hh^T. That edge does not rank the nodes, and
    it used to be drawn as a loop out past the last step and back. It stays between the two
    columns it joins."""
    loss, params = lstm_layer()
    source, picture = draw_and_render(tmp_path, loss, params, view="ops")
    for t in range(1, 5):
        h = node_id(source, "<B>mul</B> h", cluster=f"cluster_step_{t}")
        reads_h = node_id(source, "<B>linear</B>", "(1, 12)", cluster=f"cluster_step_{t + 1}")
        (xs,) = picture.edges[f"{h}->{reads_h}"]
        assert picture.clusters[f"cluster_step_{t}"][0] <= min(xs), t
        assert max(xs) <= picture.clusters[f"cluster_step_{t + 1}"][1], t
    assert "splines=ortho" in source        # (how: edges in straight segments)


def test_a_layer_s_input_projection_stands_before_the_steps_and_its_stack_after_them(tmp_path):
    """x W_ih^T + b_ih of all steps is computed before the loop, the stack of the outputs and the
    loss after it: left of t = 1, and under the last step (they stood in the middle of the row).
    The layer's parameters stand left of t = 1 too, the head's, read only after the loop, by it."""
    loss, params = lstm_layer()
    source, picture = draw_and_render(tmp_path, loss, params, view="ops")
    first, fourth = picture.clusters["cluster_step_1"], picture.clusters["cluster_step_4"]
    projection = node_id(source, "<B>linear</B>", "(5, 1, 12)")
    assert picture.nodes[projection][1] < first[0]
    for name in ("lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0"):
        assert picture.nodes[node_id(source, f"<B>{name}</B>")][1] < first[0], name
    for box in ("<B>stack</B>", "<B>pow</B>", "<B>mean</B>", "<B>head.weight</B>", "<B>head.bias</B>"):
        assert picture.centre(node_id(source, box)) > fourth[1], box


def test_the_steps_left_out_join_the_steps_around_them_without_looping_back(tmp_path):
    """13 steps drawn as 12: the grey edges into the note for t = 7 come from t = 6 and those out
    of it go to t = 8; none runs back through t = 8's column."""
    mg.manual_seed(0)
    cell, head = mg.nn.RNNCell(2, 3), mg.nn.Linear(3, 1)
    h, loss = None, None
    for t in range(1, 14):
        with viz.step(t):
            h = cell(mg.randn(1, 2), h)
            term = (head(h) ** 2).sum()
            loss = term if loss is None else loss + term
    loss.backward(retain_graph=True)
    _, picture = draw_and_render(tmp_path, loss, dict(cell.named_parameters()), view="ops")
    ends = [xs for title, paths in picture.edges.items() for xs in paths if "elided" in title.split("->")]
    assert len(ends) >= 2
    left, right = picture.clusters["cluster_step_6"][0], picture.clusters["cluster_step_8"][1]
    for xs in ends:
        assert left <= min(xs) and max(xs) <= right


def test_each_parameter_stands_once_left_of_the_steps_with_edges_to_its_first_use_only(tmp_path):
    """The 5 steps of a GRU cell each read the four weights: one dotted edge per use ran across
    every column. Each parameter stands once, left of t = 1, and its edges end in t = 1."""
    mg.manual_seed(0)
    cell = mg.nn.GRUCell(2, 3)
    h = None
    for t in range(1, 6):
        with viz.step(t):
            h = cell(mg.randn(1, 2), h)
    (h ** 2).sum().backward(retain_graph=True)
    params = {f"cell.{k}": v for k, v in cell.named_parameters()}
    source, picture = draw_and_render(tmp_path, (h ** 2).sum(), params, view="ops")
    first = picture.clusters["cluster_step_1"]
    for name in params:
        ident = node_id(source, f"<B>{name}</B>")
        assert picture.nodes[ident][1] < first[0], name
        ends = [xs for title, paths in picture.edges.items() for xs in paths if title.startswith(f"{ident}->")]
        assert ends, name
        assert all(first[0] <= xs[-1] <= first[1] and max(xs) <= first[1] for xs in ends), name


def tbptt_4_2_update_8():
    """The update at u = 8 of TBPTT(4, 2) over an RNNCell: the states of t = 5, 6 are cut."""
    mg.manual_seed(2)
    cell = mg.nn.RNNCell(2, 3)
    drawn = {}

    def step(x, h):
        h = cell(x, h)
        return h, h

    mg.bptt.tbptt(step, None, [mg.randn(1, 2) for _ in range(8)], [mg.zeros(1, 3)] * 8,
                  lambda y, target: ((y - target) ** 2).sum(), k1=4, k2=2,
                  on_backward=lambda u, loss: drawn.setdefault(u, loss))
    return drawn[8], dict(cell.named_parameters())


def test_every_cut_edge_in_the_ops_view_keeps_its_words_as_an_xlabel():
    """Ortho routing draws no edge labels: a cut's words are an xlabel, whether the cut feeds its
    own step (t = 5's and t = 6's losses) or the next (t = 7's h W_hh^T)."""
    loss, params = tbptt_4_2_update_8()
    source = viz.draw(loss, params, view="ops").source
    cut_edges = [line for line in source.splitlines() if "->" in line and "style=dashed" in line
                 and "before_cut" not in line]
    assert len(cut_edges) == 3
    assert all("xlabel=<cut (k2 = 2)>" in line and not re.search(r"[ \[]label=", line) for line in cut_edges)


def test_a_cut_within_a_step_is_not_struck_through_by_its_edge(tmp_path):
    """t = 5's cut h feeds t = 5's loss: two boxes of one rank, whose edge drew its label on the
    line ("cut (k2 = 2)" with the line through "=" read as a "not equal"). Its words stand beside
    the line, and the cut into t = 7's cell (across ranks) keeps its label above it."""
    loss, params = tbptt_4_2_update_8()
    source, picture = draw_and_render(tmp_path, loss, params)
    cut = node_id(source, "<B>cut</B>", cluster="cluster_step_5")
    assert re.search(rf"{cut} -> out_5 \[.*xlabel=<cut \(k2 = 2\)>", source)
    (xs,) = picture.edges[f"{cut}->out_5"]
    line = sum(xs) / len(xs)                            # the edge is vertical
    (x, anchor, words), = picture.edge_texts[f"{cut}->out_5"]
    width = 0.5 * 10 * len(words)                       # about half the font size a character
    middle = x if anchor == "middle" else x + width / 2 if anchor == "start" else x - width / 2
    assert abs(middle - line) > width / 4
    cut_6 = node_id(source, "<B>cut</B>", cluster="cluster_step_6")
    assert re.search(rf"{cut_6} -> cell_7 \[(.* )?label=<cut \(k2 = 2\)>", source)


def test_the_output_box_shows_the_step_s_loss_not_the_running_total():
    """h_t = t w with w = 1, the loss of step t is ||h_t||^2 = t^2, named `loss`, and the total is
    added up inside the steps: at t = 3 the box shows loss = 9 (the running total is 14)."""
    w = mg.tensor([1.0], requires_grad=True, dtype=np.float64)
    total = None
    for t in range(1, 4):
        with viz.step(t):
            h = (w * float(t)).named("h")
            term = (h * h).sum().named("loss")
            total = term if total is None else total + term
    source = viz.draw(total, {"w": w}).source
    box = re.search(r"out_3 \[label=<(.*)>\]", source).group(1)
    assert box.endswith("loss = 9") and "14" not in box


def test_the_output_box_without_names_shows_the_step_s_own_result():
    """The same with nothing named, as a TBPTT loss comes: the step's sum (9), not the add that
    carries the total over from the step before (14)."""
    w = mg.tensor([1.0], requires_grad=True, dtype=np.float64)
    total = None
    for t in range(1, 4):
        with viz.step(t):
            h = (w * float(t)).named("h")
            term = (h * h).sum()
            total = term if total is None else total + term
    box = re.search(r"out_3 \[label=<(.*)>\]", viz.draw(total, {"w": w}).source).group(1)
    assert box.endswith("sum = 9")


def test_a_stacked_layer_s_cells_have_what_joins_the_layers_before_them(tmp_path):
    """A 2-layer LSTM: layer 0's outputs are stacked and projected for layer 1 before any step of
    layer 1, so that projection stands left of t = 1 with layer 0's; the stack of layer 1's
    outputs and the loss stand right of t = 3 (all of them stood in the middle of the row)."""
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(2, 3, num_layers=2)
    output, _ = lstm(mg.randn(3, 1, 2))
    loss = (output ** 2).sum()
    loss.backward(retain_graph=True)
    source, picture = draw_and_render(tmp_path, loss, dict(lstm.named_parameters()))
    first, last = picture.clusters["cluster_step_1"], picture.clusters["cluster_step_3"]
    stacks = re.findall(r"^\s*(n\d+) \[label=<<B>stack</B>", source, re.M)
    linears = re.findall(r"^\s*(n\d+) \[label=<<B>linear</B>", source, re.M)
    assert len(stacks) == 2 and len(linears) == 2           # in the order they were computed
    for before in linears + stacks[:1]:
        assert picture.nodes[before][1] < first[0], before
    for after in stacks[1:] + [node_id(source, "<B>pow</B>"), node_id(source, "<B>sum</B>")]:
        assert picture.nodes[after][0] > last[1], after


# ---- graphs without steps -------------------------------------------------------------------------------

def autodiff_example():
    """docs/autodiff.md's L = tanh(a b + c)."""
    a = mg.tensor(2.0, requires_grad=True, dtype=np.float64)
    b = mg.tensor(-3.0, requires_grad=True, dtype=np.float64)
    c = mg.tensor(6.0 + np.arcsinh(1.0), requires_grad=True, dtype=np.float64)
    loss = ((a * b).named("e") + c).named("d").tanh().named("L")
    loss.backward(retain_graph=True)
    return loss, {"a": a, "b": b, "c": c}


@pytest.mark.parametrize("named_by", ["params", "labels"])
def test_a_graph_without_steps_draws_its_parameters_in_the_tree(tmp_path, named_by):
    """micrograd's tree: a and b feed e = a b, e and c feed d, d feeds L, left to right, with every
    edge ranking; the parameters used to be taken out into a box joined by dotted edges that
    ranked nothing. Named by `params` or by their own labels, the same."""
    loss, params = autodiff_example()
    if named_by == "labels":
        for name, tensor in params.items():
            tensor.named(name)
        params = None
    source, picture = draw_and_render(tmp_path, loss, params)
    assert "cluster" not in source and "dotted" not in source and "constraint" not in source
    ids = {name: node_id(source, f"<B>{name}</B>") for name in "abc"}
    ids.update(e=node_id(source, "<B>mul</B> e"), d=node_id(source, "<B>add</B> d"), L=node_id(source, "tanh"))
    for tail, head in (("a", "e"), ("b", "e"), ("e", "d"), ("c", "d"), ("d", "L")):
        assert f"{ids[tail]}->{ids[head]}" in picture.edges
        assert picture.nodes[ids[tail]][1] < picture.nodes[ids[head]][0], (tail, head)


# ---- small things -----------------------------------------------------------------------------------------

def test_a_zero_prints_without_a_sign():
    """d/dx of (x * 0) * -1 is 0 * -1 = -0.0 in floating point: it prints 0."""
    x = mg.tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    y = ((x * 0.0) * -1.0).sum()
    y.backward(retain_graph=True)
    assert np.signbit(x.grad).all()
    assert numbers(np.array([-0.0, 0.0, -1.5])) == "[0, 0, -1.5]"
    source = viz.draw(y, {"x": x}).source
    assert "grad [0, 0]" in source and "-0" not in source


def test_the_legend_s_ends_say_that_norms_beyond_them_share_their_colour():
    """||dL/dh|| of 1e-9 and 1 on the scale 1e-6 .. 1e2: the palest colour stands for 1e-6 or less,
    the hottest for 1e2 or more."""
    w = mg.tensor([1.0], requires_grad=True, dtype=np.float64)
    loss = None
    for t, weight in enumerate([1e-9, 1.0], 1):
        with viz.step(t):
            h = (w * 1.0).named("h")
        loss = (h * weight).sum() if loss is None else loss + (h * weight).sum()
    loss.backward(retain_graph=True)
    source = viz.draw(loss, grad_range=(1e-6, 1e2)).source
    rows = re.findall(r'<TD ALIGN="LEFT">(-?\d+\.\d+)</TD>(<TD>[^<]*</TD>)?</TR>', source)
    assert rows[0] == ("-6.00", "<TD>or less</TD>") and rows[-1] == ("2.00", "<TD>or more</TD>")
    assert all(bound == "" for _, bound in rows[1:-1])


def test_the_draw_command_s_help_says_what_it_draws(capsys):
    from microgradseq.__main__ import main
    with pytest.raises(SystemExit):
        main(["draw", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "unrolled over --steps steps" in text and "t = <t>" in text and "||dL/dh_t||" in text


def test_a_long_graph_drawn_by_default_groups_only_the_drawn_steps(monkeypatch):
    """200 steps drawn as 12: the cells view matches steps place by place (`_places`) only among
    the steps it draws, not among the 188 left out (the default drawing's time went into them)."""
    seen = set()
    original = cells_view._places

    def recording(info, scope, nodes, exact):
        seen.update(info.step_of[node] for node in nodes)
        return original(info, scope, nodes, exact)

    monkeypatch.setattr(cells_view, "_places", recording)
    mg.manual_seed(0)
    rnn = mg.nn.RNN(2, 3)
    output, _ = rnn(mg.randn(200, 1, 2))
    source = viz.draw(output.sum(), dict(rnn.named_parameters())).source
    assert "188 steps left out (t = 7 .. 194)" in source
    assert seen == {1, 2, 3, 4, 5, 6, 195, 196, 197, 198, 199, 200}
