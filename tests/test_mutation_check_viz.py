"""Mutation check of the drawings (microgradseq/viz): tests for what the existing suite let through.

Each test builds a tiny graph whose drawing can be worked out by hand (gradients of 1 x 1 states,
parameters of at most four elements, steps numbered by `viz.step`) and asserts on the DOT text:
which cluster a node stands in, which edges join what, labels and colours. Expected values come from
the computation drawn, never from the library's own output.
"""

import math
import re

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import viz
from microgradseq.viz.style import PALETTE


# ---- helpers ------------------------------------------------------------------------------------------

def scaled_steps(scales, retain=True):
    """Steps t = 1..T, each h_t = (p * t).named("h") with p = [[1.0]] and a loss c_t * sum(h_t), c_t =
    scales[t - 1]: by hand, dL/dh_t = c_t (a 1 x 1 array), so ||dL/dh_t|| = |c_t|. Returns (loss, p)."""
    p = mg.tensor([[1.0]], requires_grad=True, dtype=np.float64)
    loss = None
    for t, c in enumerate(scales, 1):
        with viz.step(t):
            h = (p * float(t)).named("h")
            term = (h * float(c)).sum().named("loss")
            loss = term if loss is None else loss + term
    if retain:
        loss.backward(retain_graph=True)
    return loss, p


def header_shades(source):
    """step -> the colour of its header (the BGCOLOR of the cell printing `t = <t>`)."""
    return {int(t): shade for shade, t in re.findall(r'<TD BGCOLOR="(#[0-9a-f]{6})"><B>t = (\d+)</B>', source)}


def header_norms(source):
    """step -> the ||dL/d..._t|| its header prints."""
    return {int(t): float(v) for t, v in re.findall(r"<B>t = (\d+)</B>\s+\|\|dL/d\w+_t\|\| = ([-\d.e+]+)", source)}


def legend_values(source):
    """The legend's log10 values, palest first."""
    table = re.search(r"legend \[label=<(.*?)> shape", source).group(1)
    return [float(v) for v in re.findall(r'<TD ALIGN="LEFT">(-?[\d.]+)</TD>', table)]


def cluster_bodies(source):
    """step -> the text of its `cluster_step_<t>` subgraph."""
    bodies, current = {}, None
    for line in source.splitlines():
        match = re.match(r"\s*subgraph cluster_step_(\d+) \{", line)
        if match:
            current = int(match.group(1))
            bodies[current] = []
        elif current is not None and line.strip() == "}":
            current = None
        elif current is not None:
            bodies[current].append(line)
    return {t: "\n".join(lines) for t, lines in bodies.items()}


def label_of(source, node_id):
    """The HTML label (without its outer <>) of the node declared as `node_id`."""
    match = re.search(rf"^\s*{node_id} \[label=<(.*)>(?: [^<>]*)?\]$", source, re.M)
    return match.group(1)


def label_with(source, head):
    """The HTML label of the one node whose label starts with `head`."""
    found = re.findall(rf"^\s*\w+ \[label=<({re.escape(head)}.*)>(?: [^<>]*)?\]$", source, re.M)
    assert len(found) == 1, found
    return found[0]


def node_ids(body, pattern):
    """The ids of the nodes declared in `body` whose line matches `pattern`."""
    return [m.group(1) for line in body.splitlines() if re.search(pattern, line)
            for m in [re.match(r"\s*(\w+) \[", line)] if m]


# ---- colours: the gradient-norm scale ------------------------------------------------------------------

def test_steps_left_out_do_not_set_the_colour_scale():
    """Pins: the colour scale runs from the largest norm *of the steps drawn*: a huge norm in a step
    left out (max_steps) does not pale every step shown. Norms by hand: 1 at t = 1, 2, 5, 6 (shown),
    1e6 at t = 3 (left out) -> scale [-4, 0], every shown step at the top: the hottest colour."""
    loss, p = scaled_steps([1, 1, 1e6, 1, 1, 1])
    for view in ("cells", "ops"):
        source = viz.draw(loss, {"p": p}, view=view, max_steps=4).source
        assert sorted(header_shades(source)) == [1, 2, 5, 6]
        assert set(header_shades(source).values()) == {PALETTE[-1]}, view
        values = legend_values(source)
        assert values[0] == pytest.approx(-4.0) and values[-1] == pytest.approx(0.0), view


def test_a_norm_between_two_shades_takes_the_nearest_one():
    """Pins: on grad_range (1e-6, 1), log10 norm -1.4 sits at (6 - 1.4) / 6 * 6 = 4.6 palette steps
    from the palest: the nearest shade is PALETTE[5] (not PALETTE[4], which rounding down gives);
    -3.8 sits at 2.2: PALETTE[2]."""
    loss, p = scaled_steps([10 ** -1.4, 10 ** -3.8])
    source = viz.draw(loss, {"p": p}, grad_range=(1e-6, 1.0)).source
    assert header_norms(source) == {1: pytest.approx(10 ** -1.4, rel=1e-2), 2: pytest.approx(10 ** -3.8, rel=1e-2)}
    assert header_shades(source) == {1: PALETTE[5], 2: PALETTE[2]}


def test_a_zero_gradient_norm_draws_palest():
    """Pins: a step whose state gets a gradient of exactly zero (its loss scaled by 0) is drawn, with
    ||dL/dh_t|| = 0 and the palest colour, the other step (norm 1) the hottest."""
    loss, p = scaled_steps([1.0, 0.0])
    for view in ("cells", "ops"):
        source = viz.draw(loss, {"p": p}, view=view).source
        assert header_norms(source) == {1: 1.0, 2: 0.0}
        assert header_shades(source) == {1: PALETTE[-1], 2: PALETTE[0]}


# ---- boxes of micrograd-style graphs ----------------------------------------------------------------------

def test_a_root_freed_by_its_own_backward_says_freed_and_keeps_its_gradient():
    """Pins: after L.backward() (no retain_graph) the root's box says `freed` and still shows its
    own gradient dL/dL = 1 (only nodes freed by *another* loss's pass hide theirs)."""
    a = mg.tensor(2.0, requires_grad=True, dtype=np.float64).named("a")
    b = mg.tensor(3.0, requires_grad=True, dtype=np.float64).named("b")
    L = (a * b).named("L")
    L.backward()
    source = viz.draw(L).source
    box = label_of(source, "n0")
    assert box.split("<BR/>") == ["<B>mul</B> L", "()", "freed", "data 6", "grad 1"]


def test_a_four_element_parameter_shows_its_data_and_grad():
    """Pins `at most 4 elements`: a 2 x 2 parameter w = [[1, 2], [3, 4]] shows its data, and after
    backward of y = sum(2 w) its grad, dy/dw = 2 everywhere, as values, not as a norm."""
    w = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, dtype=np.float64)
    y = (w * 2.0).sum()
    y.backward(retain_graph=True)
    source = viz.draw(y, {"w": w}).source
    box = label_with(source, "<B>w</B>")
    assert "data [1, 2, 3, 4]" in box
    assert "grad [2, 2, 2, 2]" in box and "|grad|" not in box


def test_a_c1_control_character_in_a_name_is_written_out():
    """Pins: control characters are written as `\\xNN`, the C1 ones (U+0080..U+009F) too, not as a
    character reference (which would draw an invisible control character)."""
    w = mg.tensor(1.0, requires_grad=True, dtype=np.float64)
    y = w * 3.0
    source = viz.draw(y, {"w\x85": w}).source
    assert r"<B>w\x85</B>" in source
    assert "&#133;" not in source


# ---- which box a node stands in -------------------------------------------------------------------------

def skip_connection_graph():
    """Steps 1..8: h_t = tanh(x_t p + h_{t-1}) named h, a loss per step; step 8 adds `skip`,
    sum(h_3 * h_3), read from step 3's state. Returns (loss, p)."""
    p = mg.tensor([[0.5]], requires_grad=True, dtype=np.float64)
    h, states, loss = None, [], None
    for t in range(1, 9):
        with viz.step(t):
            x = mg.tensor([[float(t)]], dtype=np.float64)
            h = ((x * p) if h is None else (x * p + h)).tanh().named("h")
            states.append(h)
            term = (h * 1.0).sum().named("loss")
            if t == 8:
                term = term + (states[2] * states[2]).sum().named("skip")
            loss = term if loss is None else loss + term
    return loss, p


@pytest.mark.parametrize("max_steps", [None, 4])
def test_what_reads_an_earlier_state_is_output_whether_or_not_that_step_is_drawn(max_steps):
    """Pins: in the cells view, step 8's `skip` (mul, sum of h_3) comes after a state, so it is in
    step 8's output box with the step's loss and the sums: 6 ops (mul, sum; mul, sum; add; add), the
    input box only x_8 p (1 op), also when step 3 is left out (max_steps=4 shows 1, 2, 7, 8)."""
    loss, p = skip_connection_graph()
    source = viz.draw(loss, {"p": p}, max_steps=max_steps).source
    assert re.search(r"out_8 \[label=<<B>output / loss</B><BR/>6 ops: mul, sum, add<BR/>", source)
    assert re.search(r"in_8 \[label=<<B>input</B><BR/>1 op: mul<BR/>", source)


def recurrence(steps, *, outside_sum=False, named_x=False, h0=None, label_h=True):
    """Steps 1..T: h_t = tanh(x_t p + h_{t-1}) (x_t = [[t]], a constant, or a leaf named `x` with
    requires_grad when `named_x`), labelled h when `label_h`, a loss term sum(h_t) per step, summed
    inside the steps (a running total) or, when `outside_sum`, after the loop. `h0` is h_0 (None:
    the first step adds nothing). Returns (loss, p, states)."""
    p = mg.tensor([[0.5]], requires_grad=True, dtype=np.float64)
    h, states, terms, loss = h0, [], [], None
    for t in range(1, steps + 1):
        with viz.step(t):
            x = mg.tensor([[float(t)]], requires_grad=named_x, dtype=np.float64)
            if named_x:
                x = x.named("x")
            h = ((x * p) if h is None else (x * p + h)).tanh()
            if label_h:
                h = h.named("h")
            states.append(h)
            term = (h * 1.0).sum()
            terms.append(term)
            if not outside_sum:
                loss = term if loss is None else loss + term
    if outside_sum:
        loss = terms[0]
        for term in terms[1:]:
            loss = loss + term
    return loss, p, states


def test_a_sum_made_after_the_loop_stands_in_the_latest_step_it_reads():
    """Pins: a node made outside the steps that reads nodes of two steps belongs to the later one
    (it can only be computed once that step has run): with the three steps' losses added up after
    the loop, (l1 + l2) goes in step 2's output box and (l1 + l2) + l3 in step 3's: by hand, out_1
    holds mul, sum (2 ops), out_2 and out_3 mul, sum, add (3 ops each). (A running sum of the
    steps' losses `follows a step`, as ops_view.step_edges says; a layer's stack of outputs is a
    join belonging to no step: see the bug test at the end of this file.)"""
    loss, p, _ = recurrence(3, outside_sum=True)
    source = viz.draw(loss, {"p": p}).source
    assert label_of(source, "out_1").split("<BR/>")[1] == "2 ops: mul, sum"
    assert label_of(source, "out_2").split("<BR/>")[1] == "3 ops: mul, sum, add"
    assert label_of(source, "out_3").split("<BR/>")[1] == "3 ops: mul, sum, add"


def test_a_parameter_made_inside_a_step_still_belongs_to_no_step():
    """Pins: a parameter is in no step, even one made inside `viz.step(1)` (a lazily built module):
    a weight penalty sum(w * w) added after the loop reads only the parameter, so its two ops are
    drawn outside every step's cluster, as nodes of their own, not inside step 1's boxes."""
    w, h, loss = None, None, None
    for t in range(1, 4):
        with viz.step(t):
            if w is None:
                w = mg.tensor([[0.5]], requires_grad=True, dtype=np.float64)     # made at step 1
            x = mg.tensor([[float(t)]], dtype=np.float64)
            h = ((x * w) if h is None else (x * w + h)).tanh().named("h")
            term = h.sum()
            loss = term if loss is None else loss + term
    penalty = (w * w).sum().named("penalty")
    loss = loss + penalty
    source = viz.draw(loss, {"w": w}).source
    bodies = cluster_bodies(source)
    assert sorted(bodies) == [1, 2, 3]
    assert "penalty" not in "\n".join(bodies.values())
    inside = set(re.findall(r"^\t+(\w+) \[", "\n".join(bodies.values()), re.M))
    top = re.findall(r"^\t+(\w+) \[label=<<B>(\w+)</B>( penalty)?<BR/>", source, re.M)
    assert sorted((op, named) for name, op, named in top if name not in inside) == [("mul", ""), ("sum", " penalty")]


def test_a_named_leaf_made_in_a_step_is_drawn_in_its_step_not_as_a_parameter():
    """Pins: only leaves outside the steps are parameters: an input x_t made inside step t with
    requires_grad and named `x` stands in step t (its cluster in the ops view, its input box in the
    cells view); the parameters (table, box) list p alone."""
    loss, p, _ = recurrence(3, named_x=True)
    cells = viz.draw(loss, {"p": p}).source
    rows = re.findall(r'<TD ALIGN="LEFT"><B>([^<]*)</B></TD>', label_of(cells, "params"))
    assert rows == ["p"]
    for t in (1, 2, 3):
        assert f"x = {t}" in label_of(cells, f"in_{t}")
    ops = viz.draw(loss, {"p": p}, view="ops").source
    bodies = cluster_bodies(ops)
    for t in (1, 2, 3):
        assert len(re.findall(r"<B>leaf</B> x<BR/>", bodies[t])) == 1
    assert "<B>x</B>" not in ops


def test_an_unnamed_leaf_outside_the_steps_is_no_parameter():
    """Pins: a parameter is a tensor named in `params` or a named leaf: an unnamed h_0 with
    requires_grad, not in `params`, is drawn as a node of its own feeding step 1, not listed in the
    parameter table (which holds p alone)."""
    h0 = mg.tensor([[0.1]], requires_grad=True, dtype=np.float64)
    loss, p, _ = recurrence(3, h0=h0)
    source = viz.draw(loss, {"p": p}).source
    rows = re.findall(r'<TD ALIGN="LEFT"><B>([^<]*)</B></TD>', label_of(source, "params"))
    assert rows == ["p"]
    own = re.findall(r"^\t+(n\d+) \[label=<<B>leaf</B><BR/>\(1, 1\)<BR/>data 0.1>", source, re.M)
    assert len(own) == 1
    assert re.search(rf"^\t{own[0]} -> cell_1 ", source, re.M)


def test_a_named_leaf_made_inside_a_module_is_named_by_its_module_path():
    """Pins: a named leaf made inside a module call is drawn with the module path, outer first,
    joined by dots: Outer's child `enc` makes z0, drawn as `Outer.enc.z0`."""
    class Inner(mg.nn.Module):
        def forward(self, x):
            return x * mg.ones((1, 1), requires_grad=True, dtype=np.float64).named("z0")

    class Outer(mg.nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = Inner()

        def forward(self, x):
            return self.enc(x)

    y = Outer()(mg.tensor([[2.0]], requires_grad=True, dtype=np.float64).named("x")).sum()
    source = viz.draw(y).source
    assert "<B>Outer.enc.z0</B>" in source


def test_an_unlabelled_state_leaves_out_the_scalar_running_loss():
    """Pins: in a graph without h / c labels, the state is what a step hands to the next, scalars
    left out when anything else is handed on: each cell box lists one state, `state (tanh)`, not
    the running total of the losses (a scalar `add` that the next step reads too)."""
    loss, p, states = recurrence(3, label_h=False)
    loss.backward(retain_graph=True)
    source = viz.draw(loss, {"p": p}).source
    for t in (1, 2, 3):
        cell = label_of(source, f"cell_{t}")
        assert re.findall(r"state \((\w+)\)", cell) == ["tanh"], cell
    # and the header's norm is that of h_t's gradient alone
    for t, h in enumerate(states, 1):
        assert header_norms(source)[t] == pytest.approx(abs(float(h.grad.item())), rel=1e-2)


def test_the_steps_parameters_are_not_ranked_against_the_steps():
    """Pins the ops view's inputs column: the parameters hang one above the other under their
    title, joined by invisible edges in order; the anchor of the column ranks only what feeds the
    steps from outside (here nothing), never a parameter: no edge anchor_inputs -> p."""
    loss, p, _ = recurrence(3)
    source = viz.draw(loss, {"p": p}, view="ops").source
    param = re.search(r"^\s*(n\d+) \[label=<<B>p</B>", source, re.M).group(1)
    assert re.search(rf"^\s*parameters -> {param} \[style=invis\]", source, re.M)
    assert not re.search(rf"^\s*anchor_inputs -> {param}\b", source, re.M)


@pytest.mark.parametrize("view", ["cells", "ops"])
def test_a_step_s_frame_and_state_box_take_its_colour(view):
    """Pins: norms 1 and 1e-2 (by hand) on the scale [-4, 0]: step 1 the hottest colour, step 2
    (-2 + 4) / 4 * 6 = 3 shades up, PALETTE[3]; the step's frame (cluster color) takes the shade
    and, in the cells view, so does its state box."""
    loss, p = scaled_steps([1.0, 1e-2])
    source = viz.draw(loss, {"p": p}, view=view).source
    bodies = cluster_bodies(source)
    for t, shade in ((1, PALETTE[-1]), (2, PALETTE[3])):
        assert f'color="{shade}"' in bodies[t].split("\n")[1], (view, t)
        if view == "cells":
            assert re.search(rf'cell_{t} \[label=<.*> fillcolor="{shade}"', bodies[t])


# ---- cuts --------------------------------------------------------------------------------------------

def severed_chain(steps, cut_at):
    """Steps 1..T of h_t = tanh(x_t p + h_{t-1}) named h, a loss sum(h_t) from each step after the
    first cut (a TBPTT window's), summed after the loop; then `sever` the states of the steps in
    `cut_at` (in place, as the runner does), freeing what lies behind them."""
    _, p, states = recurrence(steps)
    loss = None
    for h in states[min(cut_at):]:
        loss = h.sum() if loss is None else loss + h.sum()
    for t in cut_at:
        mg.bptt.sever(states[t - 1])
    return loss, p


@pytest.mark.parametrize("view", ["cells", "ops"])
def test_the_marker_names_the_earliest_of_several_cuts(view):
    """Pins: with h_2 and h_4 severed, the graph holds steps 2..6 (step 1 is behind the cut at 2):
    the grey marker says `t < 2`, the earliest cut, and its edge runs from the marker to the cut at
    step 2 (time running forwards), not to the one at step 4."""
    loss, p = severed_chain(6, [2, 4])
    source = viz.draw(loss, {"p": p}, view=view).source
    assert sorted(cluster_bodies(source)) == [2, 3, 4, 5, 6]
    assert label_of(source, "before_cut").startswith("t &lt; 2<BR/>")
    cut_at_2 = node_ids(cluster_bodies(source)[2], r"<B>cut</B>")
    assert len(cut_at_2) == 1
    assert re.search(rf"^\s*before_cut -> {cut_at_2[0]} \[", source, re.M)
    assert not re.search(r"n\d+ -> before_cut\b", source)


@pytest.mark.parametrize("view", ["cells", "ops"])
def test_no_marker_when_the_cut_is_at_the_first_step(view):
    """Pins: a cut at step 1 has no step behind it (steps are numbered from 1): no marker."""
    loss, p = severed_chain(3, [1])
    source = viz.draw(loss, {"p": p}, view=view).source
    assert "<B>cut</B>" in cluster_bodies(source)[1]
    assert "before_cut" not in source


def test_the_cells_view_lists_parameters_in_one_table_with_no_edge_per_step():
    """Pins: the cells view lists the parameters in the table `params` (p here, read by all three
    steps), drawn once with no edge out of it (one per step would hide the cells), and p is no box
    of its own."""
    loss, p, _ = recurrence(3)
    source = viz.draw(loss, {"p": p}).source
    rows = re.findall(r'<TD ALIGN="LEFT"><B>([^<]*)</B></TD>', label_of(source, "params"))
    assert rows == ["p"]
    assert source.count("<B>p</B>") == 1
    edges = [line.split("[")[0].split() for line in source.splitlines() if " -> " in line and "invis" not in line]
    tails = {edge[0] for edge in edges}
    assert "params" not in tails        # (an invisible edge holds it under the steps)


# ---- steps left out ------------------------------------------------------------------------------------

def test_the_note_for_the_steps_left_out_stands_in_their_place_in_the_state_row():
    """Pins, for an odd max_steps (the halves differ by one): 10 steps with max_steps=5 draw 5 steps
    around one gap, the note for the 5 left out standing in it: the state runs cell_a -> elided ->
    cell_b (a, b the steps either side of the gap) by real (not invisible) edges standing for the
    steps left out, and nothing joins cell_a to cell_b or cell_b back to the note."""
    loss, p, _ = recurrence(10)
    source = viz.draw(loss, {"p": p}, max_steps=5).source
    shown = sorted(cluster_bodies(source))
    gaps = [(a, b) for a, b in zip(shown, shown[1:]) if b != a + 1]
    assert len(shown) == 5 and shown[0] == 1 and shown[-1] == 10 and len(gaps) == 1
    (a, b), = gaps
    assert f"... 5 steps left out (t = {a + 1} .. {b - 1}) ..." in source
    edges = {}
    for line in source.splitlines():
        if " -> " in line:
            tail, head = line.split("[")[0].split(" -> ")
            edges[(tail.strip(), head.strip())] = line
    for pair in ((f"cell_{a}", "elided"), ("elided", f"cell_{b}")):
        assert pair in edges and "invis" not in edges[pair], pair
    assert (f"cell_{a}", f"cell_{b}") not in edges
    assert (f"cell_{b}", "elided") not in edges


def test_the_parameter_table_prints_each_parameter_s_gradient_norm():
    """Pins: after backward, the cells view's parameter table prints |grad| of each parameter: with
    h_t = p t and L = sum_t c_t sum(h_t), c = (1, 1), dL/dp = 1 * 1 + 1 * 2 = 3 by hand."""
    loss, p = scaled_steps([1.0, 1.0])
    table = label_of(viz.draw(loss, {"p": p}).source, "params")
    assert "<TD>|grad| = 3</TD>" in table


def test_an_lstm_like_cell_box_lists_both_c_and_h():
    """Pins: the state box holds h, and c for an LSTM: with c_t = c_{t-1} + x_t p (named c) and
    h_t = tanh(c_t) (named h), x_t = t, p = 0.5, by hand c_1 = 0.5, h_1 = tanh(0.5) = 0.4621,
    c_2 = 1.5, h_2 = tanh(1.5) = 0.9051; each step's cell box lists c then h with these values."""
    p = mg.tensor([[0.5]], requires_grad=True, dtype=np.float64)
    c, loss = None, None
    for t in (1, 2):
        with viz.step(t):
            x = mg.tensor([[float(t)]], dtype=np.float64)
            c = ((x * p) if c is None else (c + x * p)).named("c")
            h = c.tanh().named("h")
            term = h.sum()
            loss = term if loss is None else loss + term
    source = viz.draw(loss, {"p": p}).source
    for t, (cv, hv) in {1: (0.5, math.tanh(0.5)), 2: (1.5, math.tanh(1.5))}.items():
        lines = label_of(source, f"cell_{t}").split("<BR/>")
        assert lines[1] == f"c (1, 1) = {cv:.4g}"
        assert lines[2] == f"h (1, 1) = {hv:.4g}"


def test_a_cut_in_a_graph_without_steps_is_a_dashed_edge_labelled_with_k2():
    """Pins: in a graph without steps (drawn as micrograd's tree), a cut made by truncate(.., k2=3)
    joins what reads it (y = cut * w) by a dashed edge labelled `cut (k2 = 3)`."""
    a = mg.tensor(2.0, requires_grad=True, dtype=np.float64).named("a")
    w = mg.tensor(3.0, requires_grad=True, dtype=np.float64).named("w")
    b = mg.bptt.truncate(a * 2.0, k2=3)
    y = (b * w).named("y")
    source = viz.draw(y).source
    cut = re.search(r"^\s*(n\d+) \[label=<<B>cut</B>", source, re.M).group(1)
    mul = re.search(r"^\s*(n\d+) \[label=<<B>mul</B> y<BR/>", source, re.M).group(1)
    edge = re.search(rf"^\s*{cut} -> {mul} \[(.*)\]$", source, re.M).group(1)
    assert "style=dashed" in edge and "label=<cut (k2 = 3)>" in edge


def test_the_ops_view_joins_the_steps_around_the_note_through_it():
    """Pins, in the ops view: with 10 steps and max_steps=4 (t = 1, 2, 9, 10 drawn), h_2 (step 2's
    tanh) has an edge into the note `elided` (step 3 read it), and step 9's x p + h_8 (its add of
    shape (1, 1)) an edge from the note (h_8 is left out); both rank nothing (constraint=false)."""
    loss, p, _ = recurrence(10)
    source = viz.draw(loss, {"p": p}, view="ops", max_steps=4).source
    bodies = cluster_bodies(source)
    assert sorted(bodies) == [1, 2, 9, 10]
    (tanh_2,) = node_ids(bodies[2], r"<B>tanh</B> h<BR/>")
    (add_9,) = node_ids(bodies[9], r"<B>add</B><BR/>\(1, 1\)")
    into = re.search(rf"^\s*{tanh_2} -> elided \[(.*)\]$", source, re.M)
    out = re.search(rf"^\s*elided -> {add_9} \[(.*)\]$", source, re.M)
    assert into and "constraint=false" in into.group(1) and "invis" not in into.group(1)
    assert out and "constraint=false" in out.group(1) and "invis" not in out.group(1)


def test_the_ops_view_hangs_a_sum_made_after_the_loop_below_the_steps():
    """Pins: in the ops view, ops made outside any step stand outside the columns, also those
    reading steps: the two scalar adds summing the three steps' losses after the loop are in no
    cluster, while each step's column holds its own ops (x p, [+ h], tanh, mul, sum)."""
    loss, p, _ = recurrence(3, outside_sum=True)
    source = viz.draw(loss, {"p": p}, view="ops").source
    bodies = cluster_bodies(source)
    for t, body in bodies.items():
        assert "<B>add</B><BR/>()" not in body, t
        ops = re.findall(r"\[label=<<B>(\w+)</B>", body)
        assert ops == (["mul", "tanh", "mul", "sum"] if t == 1 else ["mul", "add", "tanh", "mul", "sum"]), t
    assert len(re.findall(r"^\tn\d+ \[label=<<B>add</B><BR/>\(\)<BR/>", source, re.M)) == 2


def test_each_parameter_s_dotted_edges_take_a_colour_of_its_own():
    """Pins: in the ops view each parameter is outlined, and its dotted edges drawn, in a colour of
    its own: p (read by x_t p) and q (read by h_{t-1} q) differ, and each one's edges match it."""
    p = mg.tensor([[0.5]], requires_grad=True, dtype=np.float64)
    q = mg.tensor([[0.25]], requires_grad=True, dtype=np.float64)
    h, loss = None, None
    for t in (1, 2, 3):
        with viz.step(t):
            x = mg.tensor([[float(t)]], dtype=np.float64)
            h = ((x * p) if h is None else (x * p + h * q)).tanh().named("h")
            term = h.sum()
            loss = term if loss is None else loss + term
    source = viz.draw(loss, {"p": p, "q": q}, view="ops").source
    colours = {}
    for name in ("p", "q"):
        node, colour = re.search(rf'^\s*(n\d+) \[label=<<B>{name}</B>.*> color="(#[0-9a-f]{{6}})"', source, re.M).groups()
        edges = [e for e in re.findall(rf"^\s*{node} -> n\d+ \[(.*)\]$", source, re.M) if "invis" not in e]
        assert edges and all(f'color="{colour}"' in e and "style=dotted" in e for e in edges), name
        colours[name] = colour
    assert colours["p"] != colours["q"]


def test_the_ops_view_s_columns_are_laddered_forwards_in_time():
    """Pins keep_in_order's ladder: each column's invisible anchor points at the next column's level
    node (step t's anchor at step t + 1's first op), never back at the previous column's, so time
    order is the layout that crosses no ladder edge."""
    loss, p, _ = recurrence(3)
    source = viz.draw(loss, {"p": p}, view="ops").source
    bodies = cluster_bodies(source)
    first = {t: node_ids(body, r"\[label=<")[0] for t, body in bodies.items()}
    for t in (1, 2):
        forwards = re.findall(rf"^\s*anchor_{t} -> {first[t + 1]} \[style=invis weight=0\]$", source, re.M)
        assert len(forwards) >= 1, t
        assert not re.search(rf"^\s*anchor_{t + 1} -> {first[t]} \[", source, re.M), t


# ---- options -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("retain", [False, True])
def test_a_grad_range_starting_at_zero_is_refused_naming_draw(retain):
    """Pins `0 < low < high`: grad_range=(0, 1) is a ValueError naming draw and grad_range (a log
    scale cannot start at 0), whether or not the graph has gradients to colour yet."""
    loss, p = scaled_steps([1.0, 1.0], retain=retain)
    with pytest.raises(ValueError, match=r"^draw: grad_range"):
        viz.draw(loss, {"p": p}, grad_range=(0, 1.0))
    with pytest.raises(ValueError, match=r"^draw: grad_range"):
        viz.draw(loss, {"p": p}, grad_range=(0.0, 1.0), view="ops")


# ---- draw_update and render ------------------------------------------------------------------------------

def test_draw_update_of_an_unmarked_loss_names_its_last_step_and_latest_cut():
    """Pins draw_update's title for a loss the runner did not mark: the update u is the graph's last
    step (6) and c its latest cut (4, of the cuts at 2 and 4); the losses injected are those of
    t = 3 .. 6 (the window's, summed after the loop)."""
    loss, p = severed_chain(6, [2, 4])
    for view in ("cells", "ops"):
        source = viz.draw_update(loss, {"p": p}, view=view).source
        assert ("label=<the update at u = 6: losses of t = 3 .. 6 injected; gradients stop at the cut "
                "at c = 4>") in source, view


def test_render_reads_the_format_from_an_upper_case_suffix(tmp_path):
    """Pins `the suffix decides`, whatever its case: `g.SVG` is written as SVG."""
    loss, p = scaled_steps([1.0, 1.0])
    out = viz.render(viz.draw(loss, {"p": p}), tmp_path / "g.SVG")
    assert out.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert "<svg" in out.read_text()


def test_render_of_dot_the_renderer_rejects_is_a_runtime_error(tmp_path):
    """Pins: when the renderer fails (DOT text with a syntax error), render raises a RuntimeError
    naming render and the file, rather than returning a path to a file that was never written."""
    with pytest.raises(RuntimeError, match=r"^render: .* failed on bad\.svg"):
        viz.render("digraph { a -> ; }", tmp_path / "bad.svg")
    assert not (tmp_path / "bad.svg").exists()


# ---- node styles --------------------------------------------------------------------------------------

def test_a_cut_node_is_grey_filled_with_a_dashed_outline():
    """Pins the cut's look (parts.node_style): a grey node (fill gray92, outline gray60) drawn
    dashed, as the edges out of it are, in both views."""
    loss, p = severed_chain(3, [1])
    for view in ("cells", "ops"):
        source = viz.draw(loss, {"p": p}, view=view).source
        line = re.search(r"^\s*n\d+ \[label=<<B>cut</B>.*$", source, re.M).group(0)
        assert 'style="rounded,filled,dashed"' in line and "fillcolor=gray92" in line and "color=gray60" in line


def test_a_freed_node_is_outlined_dashed_grey():
    """Pins: a node freed by backward() is drawn with a dashed grey outline (and no fill), besides
    saying `freed` in its box."""
    a = mg.tensor(2.0, requires_grad=True, dtype=np.float64).named("a")
    L = (a * 3.0).named("L")
    L.backward()
    line = re.search(r"^\s*n\d+ \[label=<<B>mul</B> L.*$", viz.draw(L).source, re.M).group(0)
    assert 'style="rounded,dashed"' in line and "color=gray60" in line



# ---- show_values, box contents, roots ---------------------------------------------------------------------

def test_show_values_false_hides_every_value_but_keeps_gradient_norms():
    """Pins show_values=False: no data and no small gradient written out as values anywhere; the
    cells view's state box keeps h's shape and |dL/dh| (1 by hand), the output box its ops and
    shape; a scalar leaf's gradient (dL/da = 3 for L = 3 a) shows as a norm, `|grad| = 3`."""
    loss, p = scaled_steps([1.0, 1.0])
    source = viz.draw(loss, {"p": p}, show_values=False).source
    assert label_of(source, "cell_1").split("<BR/>") == ["<B>cell</B>", "h (1, 1)  |dL/dh| = 1", "1 op: mul"]
    assert label_of(source, "out_1").split("<BR/>") == ["<B>output / loss</B>", "2 ops: mul, sum", "()"]
    a = mg.tensor(2.0, requires_grad=True, dtype=np.float64).named("a")
    L = (a * 3.0).named("L")
    L.backward(retain_graph=True)
    plain = viz.draw(L, show_values=False).source
    assert label_with(plain, "<B>a</B>").split("<BR/>") == ["<B>a</B>", "()", "|grad| = 3"]
    assert "data" not in plain and "grad 3" not in plain


def test_an_op_s_small_values_are_written_in_order():
    """Pins: an op's tiny result is printed in row-major order: 2 w for w = [[1, 2], [3, 4]] is
    `data [2, 4, 6, 8]`, its gradient (y = sum(2 w), dy/d(2w) = 1) `grad [1, 1, 1, 1]`."""
    w = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, dtype=np.float64)
    y = (w * 2.0).sum()
    y.backward(retain_graph=True)
    box = label_with(viz.draw(y, {"w": w}).source, "<B>mul</B>")
    assert box.split("<BR/>") == ["<B>mul</B>", "(2, 2)", "data [2, 4, 6, 8]", "grad [1, 1, 1, 1]"]


def test_the_output_box_shows_the_shape_and_value_of_the_step_s_last_labelled_node():
    """Pins: the output box shows its step's own result, the last labelled node (y_t = h_t [1, 2],
    named y, shape (1, 2)), not the shape of its last op (the scalar loss summed from it)."""
    p = mg.tensor([[0.5]], requires_grad=True, dtype=np.float64)
    h, loss = None, None
    for t in (1, 2):
        with viz.step(t):
            x = mg.tensor([[float(t)]], dtype=np.float64)
            h = ((x * p) if h is None else (x * p + h)).named("h")
            y = (h * mg.tensor([[1.0, 2.0]], dtype=np.float64)).named("y")
            term = y.sum()
            loss = term if loss is None else loss + term
    source = viz.draw(loss, {"p": p}).source
    # by hand: h_1 = 0.5, y_1 = [0.5, 1]; h_2 = 2 * 0.5 + 0.5 = 1.5, y_2 = [1.5, 3]
    for t, values in ((1, "[0.5, 1]"), (2, "[1.5, 3]")):
        lines = label_of(source, f"out_{t}").split("<BR/>")
        assert lines[2:] == ["(1, 2)", f"y = {values}"], lines


def test_an_op_reading_one_node_twice_has_an_edge_per_operand():
    """Pins `every op` drawn with every input: in the ops view, h_t * h_t has two edges from h_t."""
    p = mg.tensor([[0.5]], requires_grad=True, dtype=np.float64)
    h, loss = None, None
    for t in (1, 2):
        with viz.step(t):
            x = mg.tensor([[float(t)]], dtype=np.float64)
            h = ((x * p) if h is None else (x * p + h)).tanh().named("h")
            term = (h * h).sum()
            loss = term if loss is None else loss + term
    source = viz.draw(loss, {"p": p}, view="ops").source
    for t in (1, 2):
        body = cluster_bodies(source)[t]
        (tanh,) = node_ids(body, r"<B>tanh</B> h<BR/>")
        square = node_ids(body, r"<B>mul</B><BR/>\(1, 1\)<BR/>data")[-1]        # h * h, after x p
        assert len(re.findall(rf"^\s*{tanh} -> {square}$", source, re.M)) == 2, t


def test_a_tuple_of_roots_draws_both_graphs():
    """Pins `root` as a tuple: draw((y1, y2)) draws the graphs of both, y1 = 2 a and y2 = 3 b."""
    a = mg.tensor(1.0, requires_grad=True, dtype=np.float64).named("a")
    b = mg.tensor(1.0, requires_grad=True, dtype=np.float64).named("b")
    y1, y2 = (a * 2.0).named("y1"), (b * 3.0).named("y2")
    source = viz.draw((y1, y2)).source
    for head in ("<B>a</B>", "<B>b</B>", "<B>mul</B> y1", "<B>mul</B> y2"):
        label_with(source, head)


def test_a_step_holding_only_a_cut_is_drawn_greyed():
    """Pins: a step whose only node is a cut (h_2 severed, nothing else of step 2 kept) has its
    cluster greyed: dashed frame, fill gray95."""
    loss, p = severed_chain(4, [2])
    for view in ("cells", "ops"):
        bodies = cluster_bodies(viz.draw(loss, {"p": p}, view=view).source)
        assert 'style="rounded,filled,dashed"' in bodies[2] and "fillcolor=gray95" in bodies[2], view
        assert "fillcolor=gray95" not in bodies[3], view


def test_a_box_partly_freed_by_another_loss_s_backward_counts_what_was_freed():
    """Pins the ops summary of a box: `N freed by backward()` when only some of its ops were freed.
    Step 2 computes o1 = sum(2 h_2) and, reading no state, z = sum(x_2 p); backward() of o1 (no
    retain_graph) frees o1 (its sum is kept by o1, and reads nothing any more) and h_2's history,
    not z: o1 + z draws step 2 as one box of o1's sum, z's mul and sum and the add, 4 ops of which
    1 was freed."""
    p = mg.tensor([[0.5]], requires_grad=True, dtype=np.float64)
    h = None
    for t in (1, 2):
        with viz.step(t):
            x = mg.tensor([[float(t)]], dtype=np.float64)
            h = ((x * p) if h is None else (x * p + h)).tanh().named("h")
    with viz.step(2):
        o1 = (h * 2.0).sum()
        z = (x * p).sum()
    o1.backward()
    body = cluster_bodies(viz.draw(o1 + z, {"p": p}).source)[2]
    boxes = re.findall(r"\[label=<(.*)>", body)
    assert len(boxes) == 1
    assert "<BR/>4 ops: sum, mul, add<BR/>1 freed by backward()" in boxes[0]

# ---- a bug found by this check ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_a_two_step_layer_s_stack_of_outputs_is_drawn_outside_the_steps_in_the_cells_view(kind):
    """Pins docs/drawing.md, Layers: a layer's stack of the steps' h (and what reads it) belongs to
    no step and is drawn outside the boxes, with an edge from every step, whatever the number of
    steps. The cells view used to do so only from 3 steps on: a 2-step layer's `stack` has two
    inputs, and a node of two inputs took the later step (as a sum of two steps' losses does), so
    the stack, pow and sum of the loss were drawn inside step 2's output box. A stack or concat of
    two steps' nodes is now a join, like one of three."""
    mg.manual_seed(0)
    layer = getattr(mg.nn, kind)(2, 3)
    out, _ = layer(mg.randn(2, 1, 2))
    loss = (out ** 2).sum()
    params = dict(layer.named_parameters())
    for view in ("ops", "cells"):
        source = viz.draw(loss, params, view=view).source
        bodies = cluster_bodies(source)
        assert sorted(bodies) == [1, 2], view
        assert all("stack" not in body for body in bodies.values()), view
        (stack,) = re.findall(r"^\t+(n\d+) \[label=<<B>stack</B>", source, re.M)
        tails = {tail for tail, attrs in re.findall(rf"^\s*(\w+) -> {stack}(?: \[(.*)\])?$", source, re.M)
                 if "invis" not in attrs}
        assert len(tails) == 2, (view, tails)          # an edge from each of the two steps
