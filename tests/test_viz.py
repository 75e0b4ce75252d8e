"""mg.viz: the DOT text of drawings, and real renders through whichever renderer is installed."""

import importlib
import re
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import viz

render_module = importlib.import_module("microgradseq.viz.render")


def rnn_loss(steps, retain=False, seed=0):
    """An RNNCell unrolled `steps` steps, each with a loss; returns (loss, named params, states)."""
    mg.manual_seed(seed)
    cell, head = mg.nn.RNNCell(3, 4), mg.nn.Linear(4, 2)
    params = {**{f"cell.{k}": v for k, v in cell.named_parameters()},
              **{f"head.{k}": v for k, v in head.named_parameters()}}
    rng = np.random.default_rng(seed)
    h, loss, states = None, None, []
    for t in range(1, steps + 1):
        with viz.step(t):
            h = cell(mg.tensor(rng.standard_normal((1, 3)), dtype=np.float32), h)
            term = (head(h) ** 2).sum().named("loss")
            loss = term if loss is None else loss + term
        states.append(h)
    if retain:
        loss.backward(retain_graph=True)
    return loss, params, states


def edges_with(source, *words):
    return [line for line in source.splitlines() if "->" in line and all(w in line for w in words)]


@pytest.mark.parametrize("view", ["cells", "ops"])
def test_each_step_is_a_cluster_labelled_t(view):
    loss, params, _ = rnn_loss(5)
    source = viz.draw(loss, params, view=view).source
    for t in range(1, 6):
        assert f"subgraph cluster_step_{t} {{" in source
        assert f'label="t = {t}"' in source
    assert "cluster_step_6" not in source


@pytest.mark.parametrize("view", ["cells", "ops"])
def test_each_parameter_is_drawn_once_over_five_steps(view):
    loss, params, _ = rnn_loss(5)
    source = viz.draw(loss, params, view=view).source
    for name in params:
        assert len(re.findall(rf"<B>{re.escape(name)}</B>", source)) == 1, name


def test_parameter_references_are_dotted_not_one_thick_edge_per_use():
    loss, params, _ = rnn_loss(5)
    source = viz.draw(loss, params, view="ops").source
    param_ids = re.findall(r"(n\d+) \[label=<<B>cell\.weight_hh</B>", source)
    assert len(param_ids) == 1
    uses = [line for line in source.splitlines() if line.strip().startswith(param_ids[0] + " ->")]
    assert len(uses) == 5 and all("style=dotted" in line for line in uses)


def test_sever_draws_a_greyed_cut_with_a_dashed_cut_edge():
    mg.manual_seed(1)
    cell = mg.nn.RNNCell(2, 3)
    h, states, loss = None, [], None
    for t in range(1, 7):
        with viz.step(t):
            h = cell(mg.randn(1, 2), h)
            states.append(h)
            if t >= 3:
                term = h.sum()
                loss = term if loss is None else loss + term
    mg.bptt.sever(states[1], k2=4)
    source = viz.draw(loss, dict(cell.named_parameters())).source
    cut_edges = edges_with(source, "style=dashed", "label=<cut")
    assert cut_edges and "k2 = 4" in cut_edges[0]
    assert "before_cut" in source and "t &lt; 2" in source


def test_tbptt_runner_cuts_are_drawn():
    mg.manual_seed(2)
    cell = mg.nn.RNNCell(2, 3)
    xs = [mg.randn(1, 2) for _ in range(7)]
    kept, drawn = [], {}

    def step(x, h):
        h = cell(x, h)
        kept.append(h)
        return h, h

    def on_update(u, loss):     # TBPTT(2, 3) keeps the graph (k1 < k2): at u = 4 the cut is at t = 1
        if u == 4:
            drawn["source"] = viz.draw(kept[3], dict(cell.named_parameters())).source

    mg.bptt.tbptt(step, None, xs, [mg.zeros(1, 3)] * 7, lambda y, t: ((y - t) ** 2).sum(),
                  k1=2, k2=3, on_update=on_update)
    assert edges_with(drawn["source"], "style=dashed", "cut (k2 = 3)")


def test_truncate_draws_a_dashed_cut_edge():
    mg.manual_seed(3)
    cell = mg.nn.LSTMCell(2, 3)
    with viz.step(1):
        state = cell(mg.randn(1, 2))
    state = mg.bptt.truncate(state, k2=1)
    with viz.step(2):
        h, c = cell(mg.randn(1, 2), state)
    source = viz.draw(h.sum(), dict(cell.named_parameters()), view="ops").source
    assert len(edges_with(source, "style=dashed", "cut (k2 = 1)")) >= 2    # h and c both cut


def test_fifty_steps_are_elided_to_twelve_with_a_count():
    loss, params, _ = rnn_loss(50)
    source = viz.draw(loss, params).source
    assert "38 steps left out (t = 7 .. 44)" in source
    shown = sorted(int(t) for t in re.findall(r"subgraph cluster_step_(\d+)", source))
    assert shown == [1, 2, 3, 4, 5, 6, 45, 46, 47, 48, 49, 50]
    assert "left out" not in viz.draw(loss, params, max_steps=None).source


def test_grad_norms_colour_the_steps_with_a_legend():
    loss, params, states = rnn_loss(4, retain=True)
    source = viz.draw(loss, params).source
    assert "log10 ||dL/dh_t||" in source
    expected = np.linalg.norm(states[0].grad)
    assert f"|dL/dh| = {expected:.3g}" in source


def test_hostile_names_are_escaped_and_parse(tmp_path):
    hostile = 'a"b<c>{d}|e\\'
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    w.named(hostile)
    loss = (w * w).sum().named(hostile)
    source = viz.draw(loss, {hostile: w}).source
    assert source.isascii() and hostile not in source
    path = viz.render(source, tmp_path / "hostile.svg")
    svg = ET.parse(path).getroot()
    assert 'a"b<c>{d}|e\\' in "".join(svg.itertext())


def test_the_same_graph_gives_byte_identical_dot():
    first = viz.draw(*rnn_loss(6, retain=True)[:2]).source
    second = viz.draw(*rnn_loss(6, retain=True)[:2]).source
    assert first == second
    assert viz.draw(*rnn_loss(6)[:2], view="ops").source == viz.draw(*rnn_loss(6)[:2], view="ops").source


def test_scalar_graph_draws_plainly_with_data_and_grad():
    a = mg.tensor(2.0, requires_grad=True)
    b = mg.tensor(-3.0, requires_grad=True)
    out = (a * b + a).named("L")
    out.backward(retain_graph=True)
    source = viz.draw(out, {"a": a, "b": b}).source
    assert "cluster_step" not in source
    assert "data -4" in source and "grad -2" in source      # L = a b + a = -4, dL/da = b + 1 = -2


def test_drawing_after_backward_without_retain_graph_says_so():
    loss, params, _ = rnn_loss(3)
    loss.backward()
    assert "retain_graph=True" in viz.draw(loss, params).source


def test_ten_thousand_steps_draw_fast_without_recursion():
    mg.manual_seed(4)
    rnn = mg.nn.RNN(2, 3)
    out, _ = rnn(mg.randn(10_000, 1, 2))
    loss = out.sum()
    start = time.perf_counter()
    source = viz.draw(loss, dict(rnn.named_parameters())).source
    assert time.perf_counter() - start < 3.0
    assert "9988 steps left out" in source


def test_render_without_a_renderer_raises_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(render_module, "ensure_renderer", lambda: None)
    with pytest.raises(RuntimeError, match="pip install graphviz-pure"):
        viz.render("digraph { a }", tmp_path / "x.svg")


def test_render_svg_is_xml_with_an_svg_root(tmp_path):
    loss, params, _ = rnn_loss(4, retain=True)
    path = viz.render(viz.draw(loss, params), tmp_path / "rnn.svg")
    assert path == tmp_path / "rnn.svg"
    assert ET.parse(path).getroot().tag.endswith("svg")


@pytest.mark.parametrize("view", ["cells", "ops"])
def test_render_png_has_the_signature(tmp_path, view):
    loss, params, _ = rnn_loss(4, retain=True)
    data = viz.render(viz.draw(loss, params, view=view), tmp_path / "rnn.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1024


def test_graph_pipe_works_through_the_found_renderer():
    loss, params, _ = rnn_loss(2)
    assert viz.draw(loss, params).pipe(format="svg").lstrip().startswith(b"<?xml")


def test_jupyter_shows_the_drawing_inline_as_svg():
    """Jupyter calls _repr_mimebundle_; it must render through whichever renderer the install provides."""
    a = mg.tensor(2.0, requires_grad=True)
    out = (a * a).tanh()
    out.backward(retain_graph=True)
    bundle = mg.draw(out)._repr_mimebundle_()
    svg = bundle["image/svg+xml"]
    assert "<svg" in svg and "</svg>" in svg and "tanh" in svg
