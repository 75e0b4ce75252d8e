"""Drawings a lecturer can put on a slide: the running loss total is no recurrence, operands of
non-commutative ops are named, a cut keeps its words, and an LSTM ops view fits a slide."""

import re

import numpy as np

import microgradseq as mg
from microgradseq import viz


def cell_loop(steps=5, cut_at=None):
    """A loop of RNN cells with `loss = loss + criterion(readout(h), y[t])` at every step."""
    mg.manual_seed(0)
    cell, readout, criterion = mg.nn.RNNCell(3, 4), mg.nn.Linear(4, 2), mg.nn.MSELoss()
    x, y = mg.randn(steps, 1, 3), mg.randn(steps, 1, 2)
    h, loss = None, None
    for t in range(steps):
        with viz.step(t + 1):
            if cut_at == t + 1:
                h = mg.bptt.truncate(h, k2=3)
            h = cell(x[t], h)
            term = criterion(readout(h), y[t])
            loss = term if loss is None else loss + term
    loss.backward(retain_graph=True)
    return loss, dict(cell.named_parameters())


def edges_into(source, head):
    return [line for line in source.splitlines() if re.search(rf"-> {head} \[", line)]


def test_the_running_loss_total_is_a_dashed_loss_edge_not_a_state_edge():
    source = viz.draw(*cell_loop()).source
    for t in range(1, 5):
        (edge,) = [line for line in source.splitlines() if f"out_{t} -> out_{t + 1}" in line]
        assert "style=dashed" in edge and "label=<+ loss>" in edge and "constraint=false" in edge
        assert "penwidth=2.2" not in edge
        assert re.search(rf"cell_{t} -> cell_{t + 1} \[penwidth=2.2\]", source)     # the recurrence stays


def test_the_cells_view_says_what_the_loss_edges_are():
    source = viz.draw(*cell_loop()).source
    assert "loss_sum_key" in source and "the running loss total" in source and "not the recurrence" in source


def test_a_loop_without_a_running_total_has_no_loss_key():
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(2, 3)
    output, _ = lstm(mg.randn(3, 1, 2))
    loss = (output ** 2).sum()
    loss.backward(retain_graph=True)
    assert "loss_sum_key" not in viz.draw(loss, dict(lstm.named_parameters())).source


def test_sub_and_div_name_their_operands_a_and_b_and_commutative_ops_stay_unmarked():
    a = mg.tensor(2.0, requires_grad=True, dtype=np.float64)
    b = mg.tensor(-3.0, requires_grad=True, dtype=np.float64)
    c = mg.tensor(4.0, requires_grad=True, dtype=np.float64)
    loss = (b - a) / c + a * b
    source = viz.draw(loss, {"a": a, "b": b, "c": c}).source
    ids = {name: re.search(rf"(n\d+) \[label=<<B>{name}</B>", source).group(1) for name in "abc"}
    sub = re.search(r"(n\d+) \[label=<<B>sub</B>", source).group(1)
    div = re.search(r"(n\d+) \[label=<<B>div</B>", source).group(1)
    assert re.search(rf"{ids['b']} -> {sub} \[.*headlabel=<a>", source)      # b - a: b is the first operand
    assert re.search(rf"{ids['a']} -> {sub} \[.*headlabel=<b>", source)
    assert re.search(rf"{sub} -> {div} \[.*headlabel=<a>", source)
    assert re.search(rf"{ids['c']} -> {div} \[.*headlabel=<b>", source)
    for op in ("mul", "add"):
        node = re.search(rf"(n\d+) \[label=<<B>{op}</B>", source).group(1)
        assert all("headlabel" not in edge for edge in edges_into(source, node))


def test_a_constant_operand_is_named_too():
    x = mg.tensor(3.0, requires_grad=True, dtype=np.float64)
    source = viz.draw(x ** 2, {"x": x}).source
    assert re.search(r"n\d+ -> n\d+ \[.*headlabel=<base>", source)
    assert re.search(r"const1 -> n\d+ \[.*headlabel=<exp>", source)


def test_linear_where_matmul_and_joins_name_or_number_their_operands():
    mg.manual_seed(0)
    x = mg.randn(2, 3, requires_grad=True)
    w = mg.randn(3, 4, requires_grad=True)
    lin = mg.nn.Linear(4, 2)
    z = lin((x @ w).tanh())
    loss = mg.where(z > 0, z, z * 0.1).sum() + mg.stack([z, z * 2]).sum() + mg.cat([z, z], dim=1).sum()
    source = viz.draw(loss, {"x": x, "W": w, **dict(lin.named_parameters())}, view="ops").source
    marks = set(re.findall(r"headlabel=<([^>]*)>", source))
    assert {"a", "b", "x", "W", "true", "false", "0", "1"} <= marks
    linear = re.search(r"(n\d+) \[label=<<B>linear</B>", source).group(1)
    assert sorted(re.search(r"headlabel=<([^>]*)>", e).group(1) for e in edges_into(source, linear)) == ["W", "b", "x"]


def test_a_single_drawn_operand_of_a_step_s_sub_is_still_named():
    source = viz.draw(*cell_loop(), view="ops").source
    subs = re.findall(r"(n\d+) \[label=<<B>sub</B>", source)
    assert len(subs) == 5
    assert all(any("headlabel=<a>" in edge for edge in edges_into(source, sub)) for sub in subs)


def test_a_cut_keeps_its_words_on_its_dashed_edge_in_both_views():
    loss, params = cell_loop(cut_at=3)
    for view, words in (("ops", "xlabel=<cut (k2 = 3)>"), ("cells", "label=<cut (k2 = 3)>")):
        cut_edges = [line for line in viz.draw(loss, params, view=view).source.splitlines()
                     if "->" in line and "style=dashed" in line and "cut (k2" in line]
        assert cut_edges and all(words in line for line in cut_edges), view


def test_an_lstm_ops_view_without_values_drops_the_wide_value_lines():
    """docs/drawing.md's recipe for a slide: `show_values=False` (and `graph.attr(size=...)`)."""
    mg.manual_seed(0)
    cell = mg.nn.LSTMCell(3, 4)
    state, loss = None, None
    for t in range(1, 6):
        with viz.step(t):
            state = cell(mg.randn(1, 3), state)
            term = (state[0] ** 2).mean()
            loss = term if loss is None else loss + term
    loss.backward(retain_graph=True)
    wide = viz.draw(loss, dict(cell.named_parameters()), view="ops").source
    slim = viz.draw(loss, dict(cell.named_parameters()), view="ops", show_values=False).source
    assert "data [" in wide and "data [" not in slim and "grad [" not in slim
    assert "|grad| = " in slim


def cluster_body(source, step):
    return re.search(rf"subgraph cluster_step_{step} \{{(.*?)\n\t\}}", source, re.S).group(1)


def test_the_step_whose_cut_feeds_the_next_has_room_for_the_cut_s_words_in_the_ops_view():
    source = viz.draw(*cell_loop(cut_at=3), view="ops").source
    assert "<B>cut</B>" in cluster_body(source, 2) and "margin=45" in cluster_body(source, 2)
    assert all("margin=" not in cluster_body(source, t) for t in (1, 3, 4, 5))


def test_a_tbptt_update_s_cut_column_has_room_for_its_words():
    mg.manual_seed(2)
    cell = mg.nn.RNNCell(2, 3)
    drawn = {}

    def step(x, h):
        h = cell(x, h)
        return h, h

    mg.bptt.tbptt(step, None, [mg.randn(1, 2) for _ in range(8)], [mg.zeros(1, 3)] * 8,
                  lambda h, target: ((h - target) ** 2).sum(), k1=2, k2=3,
                  on_backward=lambda u, loss: drawn.setdefault(
                      u, viz.draw_update(loss, dict(cell.named_parameters()), view="ops").source))
    source = drawn[6]
    assert "<B>cut</B>" in cluster_body(source, 3) and "margin=45" in cluster_body(source, 3)
    assert re.search(r"n\d+ -> n\d+ \[[^\]]*style=dashed[^\]]*xlabel=<cut \(k2 = 3\)>", source)


def test_layer_run_in_blocks_chains_its_state_across_blocks():
    # tbptt_blocks runs a layer a block of steps a call: the h_n it hands the next block is the
    # recurrence, drawn in the cell box with a thick edge, not as the step's output
    mg.manual_seed(0)
    gru, head = mg.nn.GRU(2, 3), mg.nn.Linear(3, 1)

    def step_block(xs, h):
        out, h = gru(xs, h)
        return [head(o) for o in out], h

    drawn = []

    def on_backward(u, loss):
        if u == 6:
            drawn.append(mg.viz.draw_update(loss, dict(gru.named_parameters())).source)

    mg.bptt.tbptt_blocks(step_block, None, mg.randn(8, 1, 2), mg.randn(8, 1, 1),
                         lambda o, y: ((o - y) ** 2).sum(), k1=2, k2=4, on_backward=on_backward)
    for t in (3, 4, 5):
        assert f"cell_{t} -> cell_{t + 1} [penwidth" in drawn[0]


def test_an_output_fed_back_into_the_state_is_not_drawn_as_the_loss_sum():
    """`h = cell(x, h) + out` feeds a step's output back into the next state: an `add` in the last step's
    output box reading an earlier output box, but of the state's shape, not a scalar total, so no
    `+ loss` edge and no key (the losses here are stacked, not added step to step)."""
    mg.manual_seed(0)
    cell, feedback = mg.nn.RNNCell(3, 4), mg.nn.Linear(4, 4)
    x = mg.randn(4, 1, 3)
    h, out, terms = None, None, []
    for t in range(4):
        with mg.viz.step(t + 1):
            h = cell(x[t], h)
            if out is not None:
                h = h + out
            out = feedback(h)
            terms.append((out ** 2).sum())
    loss = mg.stack(terms).sum()
    loss.backward(retain_graph=True)
    source = mg.viz.draw(loss, dict(cell.named_parameters())).source
    assert "loss_sum_key" not in source and "+ loss" not in source
