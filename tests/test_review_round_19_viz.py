"""Review round 19 of mg.viz: drawings that named a tied weight by one name only, dropped a
parameter's name silently, refused numpy scalars as a colour scale, took any value for show_values,
wrote names beyond ASCII as escapes, coloured steps by a gradient another loss left on freed nodes,
missed the state of steps numbered with gaps, and wrote DOT ids a step below 0 broke."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import viz


def tied_rnn(steps=3):
    """An RNNCell whose head reuses weight_hh (tied), unrolled `steps` steps; (loss, params) with
    the tied tensor under two names."""
    mg.manual_seed(0)
    cell, head = mg.nn.RNNCell(3, 4), mg.nn.Linear(4, 4)
    head.weight = cell.weight_hh
    params = {**{f"cell.{k}": v for k, v in cell.named_parameters()}, "head.weight": cell.weight_hh,
              "head.bias": head.bias}
    h, loss = None, None
    for t in range(1, steps + 1):
        with viz.step(t):
            h = cell(mg.randn(1, 3), h)
            term = head(h).sum()
            loss = term if loss is None else loss + term
    return loss, params


def parameter_labels(source):
    """The bold names of the parameters: node labels of the ops view, rows of the cells view's table."""
    return re.findall(r"<B>([^<]*weight[^<]*|[^<]*bias[^<]*)</B>", source)


@pytest.mark.parametrize("view", ["cells", "ops"])
def test_a_weight_tied_under_two_names_is_one_parameter_named_by_both(view):
    loss, params = tied_rnn()
    labels = parameter_labels(viz.draw(loss, params, view=view).source)
    tied = [label for label in labels if "cell.weight_hh" in label or "head.weight" in label]
    assert tied == ["cell.weight_hh, head.weight"]
    assert len(labels) == 5         # weight_ih, the tied one, bias_ih, bias_hh, head.bias: once each


def test_params_naming_two_different_tensors_alike_is_a_value_error():
    a, b = mg.randn(2, requires_grad=True), mg.randn(2, requires_grad=True)
    with pytest.raises(ValueError, match="draw: params gives the name 'weight' to two different tensors"):
        viz.draw((a * b).sum(), [("weight", a), ("weight", b)])


def test_the_same_tensor_given_twice_under_one_name_is_one_parameter():
    a, b = mg.randn(2, requires_grad=True), mg.randn(2, requires_grad=True)
    source = viz.draw((a * b).sum(), [("a", a), ("a", a), ("b", b)]).source
    assert source.count("<B>a</B>") == 1 and source.count("<B>b</B>") == 1


def header_colours(source):
    return re.findall(r'<TD BGCOLOR="(#[0-9a-f]{6})"><B>t = (\d+)</B>', source)


def test_grad_range_takes_numpy_scalars_as_the_same_scale():
    loss, params = tied_rnn()
    loss.backward(retain_graph=True)
    plain = viz.draw(loss, params, grad_range=(1e-3, 10.0)).source
    numpy = viz.draw(loss, params, grad_range=(np.float32(1e-3), np.float32(10.0))).source
    assert len(header_colours(plain)) == 3 and header_colours(numpy) == header_colours(plain)


def test_show_values_that_is_no_bool_is_a_type_error_naming_draw():
    loss, params = tied_rnn()
    with pytest.raises(TypeError, match="draw: show_values must be True or False, got str 'no'"):
        viz.draw(loss, params, show_values="no")


def test_a_name_beyond_ascii_renders_as_itself(tmp_path):
    theta = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (theta * theta).sum().named("L\u2080")
    source = viz.draw(loss, {"\u03b8": theta}).source
    assert source.isascii()
    svg = ET.parse(viz.render(source, tmp_path / "theta.svg")).getroot()
    words = "".join(svg.itertext())
    assert "\u03b8" in words and "L\u2080" in words and "\\u" not in words


def freed_then_extended():
    """Steps 1..4 of an RNNCell; a loss on h_2 backpropagated without retain_graph (freeing steps
    1 and 2), then a loss at step 5 on h_4 not backpropagated: its graph holds steps 2..5, step 2
    freed with the gradient of the first loss on it."""
    mg.manual_seed(0)
    cell = mg.nn.RNNCell(2, 3)
    h, states = None, []
    for t in range(1, 5):
        with viz.step(t):
            h = cell(mg.randn(1, 2), h)
            states.append(h)
    states[1].sum().backward()
    with viz.step(5):
        loss = (h * 2).sum()
    return loss, dict(cell.named_parameters())


@pytest.mark.parametrize("view", ["cells", "ops"])
def test_a_step_freed_by_another_loss_s_backward_is_not_coloured_by_its_gradient(view):
    loss, params = freed_then_extended()
    source = viz.draw(loss, params, view=view).source
    assert "subgraph cluster_step_2 {" in source and "freed" in source
    assert "||dL/dh_t||" not in source and "|dL/dh|" not in source
    freed_boxes = [line for line in source.splitlines() if "<BR/>freed" in line]
    assert all("grad" not in line for line in freed_boxes)


def test_the_state_of_steps_numbered_with_gaps_is_found():
    w = mg.tensor(np.eye(2) * 0.5, requires_grad=True)
    h = mg.ones(1, 2)
    for t in (1, 3, 5, 7):
        with viz.step(t):
            h = (h @ w).tanh()                      # unlabelled: the state is what the next step reads
    source = viz.draw(h.sum(), {"w": w}).source
    for t in (1, 3, 5, 7):
        cell = re.search(rf"cell_{t} \[label=<(.*?)> ", source).group(1)
        assert "state (tanh) (1, 2)" in cell, t


def test_a_step_zero_before_the_first_gives_dot_whose_edges_join_declared_nodes():
    """Work before step 1 (h_0's) may be stamped t = 0; negative steps are refused (test_bad_input)."""
    mg.manual_seed(0)
    cell, h = mg.nn.RNNCell(2, 3), None
    for t in (0, 1, 2):
        with viz.step(t):
            h = cell(mg.randn(1, 2), h)
    source = viz.draw(h.sum(), dict(cell.named_parameters()), view="ops").source
    assert "cluster_step_0" in source
    dot_id = r'(?:[A-Za-z_]\w*|"[^"]*")'
    for line in source.splitlines():
        if "->" in line:
            assert re.fullmatch(rf"\s*{dot_id} -> {dot_id}( \[.*\])?", line), line


def test_an_update_s_title_names_only_the_steps_whose_losses_it_injected():
    """Targets at steps 2 and 5 only: the update at u = 6 injects those two losses, not 2 .. 5."""
    mg.manual_seed(3)
    cell = mg.nn.RNNCell(2, 3)
    titles = []

    def step(x, h):
        h = cell(x, h)
        return h, h

    def on_backward(u, loss):
        titles.append(re.search(r"label=<(the update[^>]*)>", viz.draw_update(loss).source).group(1))

    targets = [mg.zeros(1, 3) if t in (2, 5) else None for t in range(1, 7)]
    mg.bptt.tbptt(step, None, [mg.randn(1, 2) for _ in range(6)], targets,
                  lambda h, target: ((h - target) ** 2).sum(), k1=6, k2=6, on_backward=on_backward)
    assert titles == ["the update at u = 6: losses of t = 2, 5 injected; no cut (c = 0)"]


def test_a_view_name_given_in_the_place_of_params_says_to_pass_view():
    w = mg.randn(2, requires_grad=True)
    with pytest.raises(TypeError, match=r"draw: params must be a mapping .* got str \(to draw the 'ops' view, "
                                        r"pass view='ops'\)"):
        mg.draw((w * w).sum(), "ops")
