"""mg.viz: the DOT text of drawings, and real renders through whichever renderer is installed."""

import importlib
import math
import re
import xml.etree.ElementTree as ET

import graphviz
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
    """Over 5 steps h W_hh^T is computed 5 times: cell.weight_hh is drawn once, with a light dotted
    edge to where it is first read (t = 1), not an edge per use running across every column."""
    loss, params, _ = rnn_loss(5)
    source = viz.draw(loss, params, view="ops").source
    param_ids = re.findall(r"(n\d+) \[label=<<B>cell\.weight_hh</B>", source)
    assert len(param_ids) == 1
    uses = [line for line in source.splitlines() if line.strip().startswith(param_ids[0] + " ->")
            and "style=invis" not in line]
    assert len(uses) == 1 and all("style=dotted" in line for line in uses)
    first_step = source[source.index("subgraph cluster_step_1 {"):source.index("subgraph cluster_step_2 {")]
    assert re.search(rf"\b{uses[0].split('->')[1].split()[0]} \[label=<<B>linear</B>", first_step)


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


def test_grad_norms_are_printed_per_step_with_a_colour_legend():
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


def test_drawing_a_step_copies_nothing_drawn_before_it(monkeypatch):
    """graphviz's `with graph.subgraph()` copies the parent's whole body for each subgraph: one or two
    per step made drawing time grow with the square of the steps (20,000 steps: 26 s). No drawing
    copies a body (the times themselves are a benchmark's business)."""
    copied = []
    original = graphviz.Digraph._copy_kwargs

    def counting(self, **kwargs):
        copied.append(len(self.body))
        return original(self, **kwargs)

    monkeypatch.setattr(graphviz.Digraph, "_copy_kwargs", counting)
    loss, params, _ = rnn_loss(30, retain=True)
    for view in ("cells", "ops"):
        viz.draw(loss, params, view=view, max_steps=None)
    assert copied == []


def test_ten_thousand_steps_draw_without_recursion():
    """Every walk of the drawing is iterative: a 10,000-step graph draws (its speed is a benchmark's
    business, not a test's)."""
    mg.manual_seed(4)
    rnn = mg.nn.RNN(2, 3)
    out, _ = rnn(mg.randn(10_000, 1, 2))
    source = viz.draw(out.sum(), dict(rnn.named_parameters())).source
    assert "9988 steps left out" in source


def test_render_without_a_renderer_raises_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(render_module, "ensure_renderer", lambda: None)
    with pytest.raises(RuntimeError, match="pip install graphviz-pure"):
        viz.render("digraph { a }", tmp_path / "x.svg")


def test_render_refuses_pdf_when_graphviz_pure_renders_saying_why(monkeypatch, tmp_path):
    monkeypatch.setattr(render_module, "ensure_renderer", lambda: str(tmp_path / "graphviz-pure"))
    with pytest.raises(ValueError, match=r"render: \.pdf needs the system Graphviz `dot` .*got 'x\.pdf'"):
        viz.render("digraph { a }", tmp_path / "x.pdf")


def test_render_refuses_a_drawing_too_big_for_graphviz_pure_before_running_it(monkeypatch, tmp_path):
    """graphviz-pure's layout time and memory grow fast with the boxes (4,000: 48 s and 5.7 GB), so past
    PURE_LIMIT boxes render says what to do instead of starting; the system `dot` is not limited."""
    boxes = render_module.PURE_LIMIT + 1
    source = "digraph {\n" + "".join(f'\tn{i} [label="tanh"]\n' for i in range(boxes)) + \
        "".join(f"\tn{i} -> n{i + 1}\n" for i in range(boxes - 1)) + "}\n"
    ran = []
    monkeypatch.setattr(render_module, "ensure_renderer", lambda: str(tmp_path / "graphviz-pure"))
    monkeypatch.setattr(render_module.subprocess, "run", lambda *args, **kwargs: ran.append(args))
    with pytest.raises(ValueError, match=rf"render: a drawing of {boxes:,} boxes is more than graphviz-pure lays "
                                         r"out .* \(at most 1,500\): draw fewer steps .* install Graphviz"):
        viz.render(source, tmp_path / "x.svg")
    assert ran == [] and not (tmp_path / "x.svg").exists()
    assert render_module.too_many_for(source, "/usr/bin/dot") is None
    fewer = "digraph {\n" + "".join(f'\tn{i} [label="tanh"]\n' for i in range(boxes - 1)) + "}\n"
    assert render_module.too_many_for(fewer, str(tmp_path / "graphviz-pure")) is None


def test_drawings_limit_the_layouts_network_simplex_passes():
    """nslimit=1: the boxes' placement stops after one network-simplex pass per node; an 80-step op chain
    laid out in 16 s without it (graphviz-pure), small drawings come out the same."""
    loss, _, _ = rnn_loss(2, retain=True)
    assert 'nslimit=1' in mg.draw(loss).source


def test_render_into_a_missing_folder_says_so_before_running_the_renderer(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"render: the folder '.*missing' does not exist"):
        viz.render("digraph { a }", tmp_path / "missing" / "x.png")
    assert not (tmp_path / "missing").exists()


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


# ---- the runner's own window -----------------------------------------------------------------------

def run_tbptt_2_4(**callbacks):
    """TBPTT(2, 4) over 8 steps of an RNNCell; returns the states the step made, in order."""
    mg.manual_seed(2)
    cell = mg.nn.RNNCell(2, 3)
    xs = [mg.randn(1, 2) for _ in range(8)]
    kept = []

    def step(x, h):
        h = cell(x, h)
        kept.append(h)
        return h, h

    mg.bptt.tbptt(step, None, xs, [mg.zeros(1, 3)] * 8, lambda y, t: ((y - t) ** 2).sum(), k1=2, k2=4,
                  **{name: callback(cell, kept) for name, callback in callbacks.items()})
    return kept


def test_on_backward_draws_the_window_the_update_backpropagated():
    """At u = 6 of TBPTT(2, 4) the cut is c = u - k2 = 2 and the losses of t = 5, 6 are injected
    (the definition), not the next update's cut at t = 4."""
    drawn = {}

    def on_backward(cell, kept):
        return lambda u, loss: drawn.setdefault(u, viz.draw_update(loss, dict(cell.named_parameters())).source)

    run_tbptt_2_4(on_backward=on_backward)
    assert sorted(drawn) == [2, 4, 6, 8]
    source = drawn[6]
    assert "the update at u = 6: losses of t = 5 .. 6 injected; gradients stop at the cut at c = 2" in source
    assert sorted(int(t) for t in set(re.findall(r"cluster_step_(\d+)", source))) == [2, 3, 4, 5, 6]
    cut_node = re.search(r"(n\d+) \[label=<<B>cut</B>", source).group(1)
    assert "subgraph cluster_step_2 {" in source and edges_with(source, cut_node, "cut (k2 = 4)")
    assert "t &lt; 2" in source                                   # behind the cut: freed
    assert re.findall(r"<B>t = (\d+)</B>", source) == ["3", "4", "5", "6"]   # gradient norms after the cut
    assert "no cut (c = 0)" in drawn[2] and "c = 4" in drawn[8]


def test_states_behind_the_cut_hold_no_earlier_update_s_gradient():
    seen = {}

    def on_update(cell, kept):
        return lambda u, loss: seen.setdefault(u, [h.grad is not None for h in kept])

    run_tbptt_2_4(on_update=on_update)
    # update u reaches the states after its cut c = max(0, u - 4), up to u
    for u, has_grad in seen.items():
        assert has_grad == [max(0, u - 4) < t <= u for t in range(1, u + 1)], u


def test_on_backward_must_be_callable():
    with pytest.raises(TypeError, match="tbptt: on_backward must be callable, got int"):
        mg.bptt.tbptt(lambda x, h: (x, h), None, [1.0], [None], lambda y, t: y, 1, 1, on_backward=3)
    with pytest.raises(TypeError, match="tbptt_blocks: on_backward must be callable, got int"):
        mg.bptt.tbptt_blocks(lambda xs, h: (xs, h), None, [1.0], [None], lambda y, t: y, 1, 1, on_backward=3)
    with pytest.raises(TypeError, match="tbptt_blocks: step_block must be callable, got int"):
        mg.bptt.tbptt_blocks(3, None, [1.0], [None], lambda y, t: y, 1, 1)      # (its own name for the step)


def test_tbptt_blocks_hands_on_backward_each_update_and_its_cut_is_drawn_in_the_cut_step():
    """tbptt_blocks' on_backward is tbptt's: called after each update's backward with L_u. With a layer
    as the block step, the state the runner cuts at c = u - k2 is the layer's h_n of the block ending
    at c, stamped with step c (h_n is h_T of the block), so the drawing puts the cut in cluster
    t = c, where tbptt with a cell puts it, not in the block's first step."""
    mg.manual_seed(0)
    rnn = mg.nn.RNN(2, 3)

    def step_block(xs, h):
        out, h = rnn(mg.stack(list(xs)), h)
        return list(out), h

    drawn = {}
    xs = [mg.randn(1, 2) for _ in range(8)]
    mg.bptt.tbptt_blocks(step_block, None, xs, [mg.zeros(1, 3)] * 8, lambda h, t: ((h - t) ** 2).sum(),
                         k1=2, k2=4, on_backward=lambda u, loss: drawn.setdefault(u, viz.draw_update(loss).source))
    assert sorted(drawn) == [2, 4, 6, 8]
    clusters = drawn[6].split("subgraph cluster_step_")[1:]
    holding_the_cut = [c.split(" ", 1)[0] for c in clusters if "<B>cut</B>" in c.split("subgraph")[0]]
    assert holding_the_cut == ["2"]
    with mg.viz.step(5):
        _, h_n = rnn(mg.randn(3, 1, 2))
    assert h_n._node.step == 5 - 1 + 3


# ---- colour that does not mislead --------------------------------------------------------------------

def shade_of(source, step):
    return re.search(rf'<TD BGCOLOR="(#[0-9a-f]+)"><B>t = {step}</B>', source).group(1)


def test_norms_of_the_same_order_share_a_colour_and_each_step_prints_its_norm():
    """||dL/dh|| of 0.257 and 0.478 differ by a quarter of a decade: neighbouring shades on a
    four-decade scale, not the palette's two ends."""
    w = mg.tensor([1.0], requires_grad=True, dtype=np.float64)
    h, loss = None, None
    for t, scale in enumerate([0.257, 0.478], 1):
        with viz.step(t):
            h = (w * scale).named("h")
        loss = h.sum() if loss is None else loss + h.sum()
    loss.backward(retain_graph=True)
    source = viz.draw(loss).source
    assert "||dL/dh_t|| = 1" in source                           # dL/dh = 1 at both steps
    w2 = mg.tensor([1.0], requires_grad=True, dtype=np.float64)
    with viz.step(1):
        a = (w2 * 1.0).named("h")
    with viz.step(2):
        b = (w2 * 1.0).named("h")
    total = a.sum() * 0.257 + b.sum() * 0.478
    total.backward(retain_graph=True)
    source = viz.draw(total).source
    assert "||dL/dh_t|| = 0.257" in source and "||dL/dh_t|| = 0.478" in source
    palette = viz.style.PALETTE
    assert abs(palette.index(shade_of(source, 1)) - palette.index(shade_of(source, 2))) <= 1
    legend = [float(v) for v in re.findall(r'<TD ALIGN="LEFT">(-?\d+\.\d+)</TD>', source)]
    assert legend[0] == -4.0 and legend[-1] == 0.0                # log10 from 1e-4 to 1


def test_a_fixed_grad_range_gives_the_same_colour_across_drawings():
    """With grad_range fixed, a step whose ||dL/dh|| is 1 gets one shade in two drawings whose other
    step differs (1e-3 in one, 50 in the other); left to each drawing's own norms, it does not."""
    def drawing(second_norm, grad_range):
        w = mg.tensor([1.0], requires_grad=True, dtype=np.float64)
        loss = None
        for t, weight in enumerate([1.0, second_norm], 1):
            with viz.step(t):
                h = (w * 1.0).named("h")
            term = (h * weight).sum()               # dL/dh_t = weight
            loss = term if loss is None else loss + term
        loss.backward(retain_graph=True)
        return viz.draw(loss, grad_range=grad_range).source

    fixed = [drawing(second, (1e-6, 1e2)) for second in (1e-3, 50.0)]
    legend = [float(v) for v in re.findall(r'<TD ALIGN="LEFT">(-?\d+\.\d+)</TD>', fixed[0])]
    assert legend[0] == -6.0 and legend[-1] == 2.0
    assert shade_of(fixed[0], 1) == shade_of(fixed[1], 1)
    assert shade_of(fixed[0], 2) != shade_of(fixed[1], 2)
    own = [drawing(second, None) for second in (1e-3, 50.0)]
    assert shade_of(own[0], 1) != shade_of(own[1], 1)
    loss, params, _ = rnn_loss(2, retain=True)
    with pytest.raises(ValueError, match="draw: grad_range"):
        viz.draw(loss, params, grad_range=(1.0, 0.1))


def test_decay_over_several_decades_still_shows():
    """Norms a thousandfold apart get shades at opposite ends of the palette."""
    w = mg.tensor([1.0], requires_grad=True, dtype=np.float64)
    with viz.step(1):
        a = (w * 1.0).named("h")
    with viz.step(2):
        b = (w * 1.0).named("h")
    total = a.sum() * 1e-3 + b.sum()
    total.backward(retain_graph=True)
    source = viz.draw(total).source
    palette = viz.style.PALETTE
    assert palette.index(shade_of(source, 1)) < palette.index(shade_of(source, 2)) - 3


def norm_drawing(weights):
    """Steps t = 1, 2, ... with dL/dh_t = weights[t - 1] exactly (h_t = w, L = sum of weight * h_t)."""
    w = mg.tensor([1.0], requires_grad=True, dtype=np.float64)
    loss = None
    for t, weight in enumerate(weights, 1):
        with viz.step(t):
            h = (w * 1.0).named("h")
        term = (h * weight).sum()
        loss = term if loss is None else loss + term
    loss.backward(retain_graph=True)
    return viz.draw(loss).source


def test_an_infinite_gradient_norm_gets_the_hottest_colour():
    """Exploding gradients burn: ||dL/dh|| = inf is the palette's red end (it used to be its palest),
    as a finite 1 is (the top of the scale); 1e-3 is not."""
    source = norm_drawing([1e-3, 1.0, math.inf])
    palette = viz.style.PALETTE
    assert "||dL/dh_t|| = inf" in source
    assert shade_of(source, 3) == shade_of(source, 2) == palette[-1] != shade_of(source, 1)


def test_a_nan_gradient_norm_gets_a_colour_of_its_own_named_in_the_legend():
    source = norm_drawing([1.0, math.nan])
    palette = viz.style.PALETTE
    assert "||dL/dh_t|| = nan" in source
    assert shade_of(source, 2) not in palette and shade_of(source, 1) in palette
    assert f'<TD BGCOLOR="{shade_of(source, 2)}" WIDTH="18"> </TD><TD ALIGN="LEFT">NaN</TD>' in source


# ---- the ops view of an LSTM, the cells view without names, scalar constants ---------------------------

def left_to_right(svg_path):
    """The steps' clusters of a rendered drawing in their order left to right, and the x of the
    centre of the note `elided`."""
    ns = {"svg": "http://www.w3.org/2000/svg"}
    lefts, note = {}, None
    for group in ET.parse(svg_path).getroot().iter("{http://www.w3.org/2000/svg}g"):
        title = group.find("svg:title", ns)
        if title is None:
            continue
        if group.get("class") == "cluster" and title.text.startswith("cluster_step_"):
            outline = group.find("svg:path", ns)
            outline = outline.get("d") if outline is not None else group.find("svg:polygon", ns).get("points")
            xs = [float(x) for x in re.findall(r"-?\d+\.?\d*", outline)[0::2]]
            lefts[int(title.text.removeprefix("cluster_step_"))] = (min(xs), max(xs))
        elif group.get("class") == "node" and title.text == "elided":
            note = float(group.find("svg:text", ns).get("x"))
    return sorted(lefts, key=lambda step: lefts[step][0]), lefts, note


@pytest.mark.parametrize("view", ["cells", "ops"])
def test_steps_left_out_keep_time_left_to_right_with_the_note_in_their_place(tmp_path, view):
    """13 steps drawn as 12: t = 1..6, the note for t = 7, t = 8..13, in that order left to right
    (the ops view used to put t = 8, 9 first)."""
    loss, params, _ = rnn_loss(13, retain=True)
    graph = viz.draw(loss, params, view=view)
    assert "1 step left out (t = 7 .. 7)" in graph.source
    order, spans, note = left_to_right(viz.render(graph, tmp_path / "rnn.svg"))
    assert order == [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13]
    assert spans[6][1] < note < spans[8][0]


def test_four_lstm_steps_in_the_ops_view_fit_in_3000_px(tmp_path):
    mg.manual_seed(1)
    lstm = mg.nn.LSTM(2, 3)
    output, _ = lstm(mg.randn(4, 1, 2))
    loss = (output[-1] ** 2).sum()
    loss.backward(retain_graph=True)
    graph = viz.draw(loss, dict(lstm.named_parameters()), view="ops")
    svg = ET.parse(viz.render(graph, tmp_path / "lstm.svg")).getroot()
    width_pt = float(svg.get("width").removesuffix("pt"))
    assert width_pt * 96 / 72 <= 3000                              # CSS px
    assert "rankdir=TB" in graph.source and 'fillcolor=gray98' in graph.source    # steps are not filled


def test_the_cells_view_finds_an_unnamed_recurrent_state():
    w = mg.tensor([0.5, -1.0], requires_grad=True, dtype=np.float64)
    s, loss = mg.tensor([0.0, 0.0], dtype=np.float64), None
    for t in range(1, 4):
        with viz.step(t):
            s = (w * s + 1).tanh()                                  # no label anywhere
            term = (s * s).sum()
            loss = term if loss is None else loss + term
    loss.backward(retain_graph=True)
    source = viz.draw(loss).source
    states = re.findall(r"state \(tanh\) \(2,\) = \[[^\]]*\]  \|dL/dstate\| = ([0-9.e-]+)", source)
    assert len(states) == 3
    assert edges_with(source, "cell_1 -> cell_2") and edges_with(source, "cell_2 -> cell_3")


def test_the_cells_of_stacked_layers_name_each_state_s_layer():
    """A 2-layer LSTM's step holds c, h of layer 0 and c, h of layer 1: each line says which."""
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(2, 3, num_layers=2)
    output, _ = lstm(mg.randn(3, 1, 2))
    source = viz.draw(output.sum(), dict(lstm.named_parameters())).source
    cell = re.search(r"cell_2 \[label=<(.*)> fillcolor", source).group(1)
    assert re.findall(r"<BR/>([ch] \(layer \d\)) \(1, 3\)", cell) == ["c (layer 0)", "h (layer 0)",
                                                                          "c (layer 1)", "h (layer 1)"]


def test_a_root_freed_by_backward_says_so_in_its_box():
    loss, params, _ = rnn_loss(3)
    loss.backward()                                     # frees the graph: only the root is left
    box = re.search(r"cell_3 \[label=<(.*)> fillcolor", viz.draw(loss, params).source).group(1)
    assert box == "<B>cell</B><BR/>1 op: add<BR/>freed by backward()"


def test_a_tiny_named_leaf_shows_its_data_without_params():
    a = mg.tensor(2.0, requires_grad=True, dtype=np.float64).named("a")
    x = (a * 3.0).tanh()
    x.backward(retain_graph=True)
    assert re.search(r"<B>a</B><BR/>\(\)<BR/>data 2<BR/>grad ", mg.draw(x).source)


def test_a_tiny_leaf_shows_its_current_data_after_an_update():
    a = mg.tensor(2.0, requires_grad=True, dtype=np.float64).named("a")
    x = (a * 3.0).tanh()
    with mg.no_grad():
        a -= 0.5
    assert re.search(r"<B>a</B><BR/>\(\)<BR/>data 1.5", mg.draw(x).source)


def test_a_scalar_graph_shows_its_constant_inputs():
    x0 = mg.tensor(2.0, dtype=np.float64)                          # a constant: no requires_grad
    w0 = mg.tensor(-3.0, requires_grad=True, dtype=np.float64)
    out = (x0 * w0).tanh()
    out.backward(retain_graph=True)
    source = viz.draw(out, {"w0": w0}).source
    assert len(re.findall(r"const\d+ -> n\d+", source)) == 1 and 'const1 [label=constant' in source


# ---- bad input (issue 20) -------------------------------------------------------------------------------

def test_control_characters_in_names_give_dot_the_renderer_accepts(tmp_path):
    name = "w\x00\x01\t\n\x1b\x7fend"
    w = mg.tensor([1.0, 2.0], requires_grad=True).named(name)
    loss = (w * w).sum().named(name)
    source = viz.draw(loss, {name: w}).source
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", source)
    assert "w\\x00\\x01\\x09\\x0a\\x1b\\x7fend" in source
    assert ET.parse(viz.render(source, tmp_path / "control.svg")).getroot().tag.endswith("svg")


def test_draw_refuses_an_empty_list():
    with pytest.raises(ValueError, match="draw: expected a tensor.*got an empty list"):
        viz.draw([])


@pytest.mark.parametrize("root", [None, 3, "loss", np.ones(3), {"a": mg.tensor([1.0], requires_grad=True)}],
                         ids=["None", "int", "str", "ndarray", "dict"])
def test_draw_of_what_is_no_tensor_is_a_type_error_naming_what_came(root):
    with pytest.raises(TypeError, match=rf"draw: expected a tensor with history .*got {type(root).__name__}$"):
        viz.draw(root)


def test_draw_of_a_tensor_without_history_is_a_value_error():
    with pytest.raises(ValueError, match="draw: expected a tensor with history .*no graph to draw"):
        viz.draw(mg.tensor([1.0, 2.0]))


def test_draw_update_s_errors_name_draw_update():
    loss, params, _ = rnn_loss(2, retain=True)
    with pytest.raises(ValueError, match="^draw_update: view must be 'cells' or 'ops', got 'x'"):
        viz.draw_update(loss, params, view="x")
    with pytest.raises(TypeError, match="^draw_update: params maps names to tensors"):
        viz.draw_update(loss, {"w": 1})
    with pytest.raises(TypeError, match="^draw_update: expected a tensor with history .*got NoneType"):
        viz.draw_update(None)
    with pytest.raises(TypeError, match=r"^draw_update\(\) got an unexpected keyword argument 'foo'"):
        viz.draw_update(loss, params, foo=1)


def test_the_draw_command_s_help_gives_the_all_flag_one_default(capsys):
    from microgradseq.__main__ import main
    with pytest.raises(SystemExit):
        main(["draw", "--help"])
    entry = " ".join(re.search(r"--all\s+(.*?)\n  --", capsys.readouterr().out, re.S).group(1).split())
    assert entry == "draw every step, not at most 12 (default: False)"


def test_draw_params_must_map_names_to_tensors():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with pytest.raises(TypeError, match="draw: params must be a mapping name -> tensor.*got list holding Tensor"):
        viz.draw(y, params=[w])
    with pytest.raises(TypeError, match="draw: params maps names to tensors; 'w' maps to str"):
        viz.draw(y, params={"w": "x"})
    assert "<B>w</B>" in viz.draw(y, params=[("w", w)]).source


def test_render_refuses_what_is_not_a_graph(tmp_path):
    with pytest.raises(TypeError, match="render: expected a graphviz.Digraph .* got NoneType"):
        viz.render(None, tmp_path / "x.svg")


def test_render_takes_non_ascii_dot_and_a_path_starting_with_a_dash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = viz.render('digraph { a [label="gr\u00e4dient \u2207 \u65e5"] }', "-drawing.svg")
    assert str(path) == "-drawing.svg"
    assert "gr\u00e4dient \u2207 \u65e5" in "".join(ET.parse(tmp_path / "-drawing.svg").getroot().itertext())


def test_a_cut_recorded_with_a_step_that_is_no_integer_still_draws():
    mg.manual_seed(3)
    cell = mg.nn.RNNCell(2, 3)
    with viz.step(1):
        h = cell(mg.randn(1, 2))
    h = mg.bptt.truncate(h, step="<b>")
    with viz.step(2):
        h = cell(mg.randn(1, 2), h)
    source = viz.draw(h.sum(), dict(cell.named_parameters())).source
    assert "cluster_step_2" in source and "<b>" not in source


def test_draw_update_of_a_run_carrying_on_from_an_earlier_runs_state_numbers_its_own_steps():
    """tbptt(..., result.state, ...) carries a state on: its drawings name this run's updates and
    steps (the carried state sits before step 1), not the step of the run that made the state."""
    mg.manual_seed(2)
    cell = mg.nn.RNNCell(2, 3)
    params = dict(cell.named_parameters())

    def step(x, h):
        h = cell(x, h)
        return h, h

    inputs, targets = [mg.randn(1, 2) for _ in range(8)], [mg.zeros(1, 3)] * 8
    loss_fn = lambda h, target: ((h - target) ** 2).sum()      # noqa: E731
    first = mg.bptt.tbptt(step, None, inputs, targets, loss_fn, k1=2, k2=4)
    sources = {}
    mg.bptt.tbptt(step, first.state, inputs, targets, loss_fn, k1=2, k2=4,
                  on_backward=lambda u, loss: sources.setdefault(u, viz.draw_update(loss, params).source))
    steps = sorted({int(t) for t in re.findall(r"cluster_step_(\d+)", sources[2])})
    assert "the update at u = 2" in sources[2] and steps == [0, 1, 2]
    assert "the update at u = 4" in sources[4] and max(int(t) for t in re.findall(r"cluster_step_(\d+)", sources[4])) == 4


# ---- found by an audit of the drawings as instructors meet them ------------------------------------------

def truncated_after_three(steps=6):
    """An RNNCell over `steps` steps, its state truncated after t = 3 (k2 = 3), a loss at every
    step summed over both windows: the graph holds t = 1 .. 3 whole, and a cut at t = 3."""
    mg.manual_seed(0)
    cell = mg.nn.RNNCell(2, 3)
    h, loss = None, None
    for t in range(1, steps + 1):
        with viz.step(t):
            h = cell(mg.randn(1, 2), h)
            term = (h ** 2).sum()
            loss = term if loss is None else loss + term
        if t == 3:
            h = mg.bptt.truncate(h, k2=3)
    return loss, dict(cell.named_parameters())


@pytest.mark.parametrize("view", ["cells", "ops"])
def test_no_history_freed_marker_when_the_steps_before_the_cut_are_drawn(tmp_path, view):
    """t = 1 .. 3 are in the graph (the summed loss keeps them): nothing behind the cut was freed,
    and the ops view keeps time order (the marker's edge to the cut pulled t = 3 before t = 2)."""
    loss, params = truncated_after_three()
    graph = viz.draw(loss, params, view=view)
    assert "before_cut" not in graph.source and "history freed" not in graph.source
    assert edges_with(graph.source, "style=dashed", "cut (k2 = 3)")
    order, _, _ = left_to_right(viz.render(graph, tmp_path / "cut.svg"))
    assert order == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("kind, inputs, cell_ops", [("RNNCell", "2 ops: linear, add", 2),
                                                     ("LSTMCell", "2 ops: linear, add", 12),
                                                     ("GRUCell", "2 ops: linear, getitem", 11)])
def test_the_first_step_splits_input_and_cell_as_every_other_step(kind, inputs, cell_ops):
    """x W_ih^T + b_ih (and b_hh or the n columns) is a step's input, the rest of the cell math its
    cell (cells.py), at t = 1 too: from a zero state nothing there reads an earlier state, and the
    whole gate computation used to be drawn as t = 1's input."""
    mg.manual_seed(0)
    cell = getattr(mg.nn, kind)(2, 3)
    state, loss = None, None
    for t in range(1, 4):
        with viz.step(t):
            state = cell(mg.randn(1, 2), state)
            term = ((state[0] if kind == "LSTMCell" else state) ** 2).sum()
            loss = term if loss is None else loss + term
    source = viz.draw(loss, dict(cell.named_parameters())).source
    for t in (1, 2, 3):
        assert re.search(rf"in_{t} \[label=<<B>input</B><BR/>{inputs}<BR/>", source), t
        assert re.search(rf"cell_{t} \[label=<<B>cell</B><BR/>.*<BR/>{cell_ops} ops: ", source), t


def test_a_step_whose_state_was_cut_draws_its_loss_as_output_not_as_a_cell():
    """States of t = 1, 2 severed: those steps hold a cut and the loss computed from it, no cell;
    their running loss is no state edge."""
    mg.manual_seed(0)
    cell = mg.nn.RNNCell(2, 3)
    h, loss, states = None, None, []
    for t in range(1, 4):
        with viz.step(t):
            h = cell(mg.randn(1, 2), h)
            term = (h ** 2).sum()
            loss = term if loss is None else loss + term
        states.append(h)
    mg.bptt.sever(states[:2], k2=1)
    source = viz.draw(loss, dict(cell.named_parameters())).source
    assert "cell_1" not in source and "cell_2" not in source
    assert "out_1 [label=<<B>output / loss</B><BR/>2 ops: pow, sum" in source
    assert "out_2 [label=<<B>output / loss</B><BR/>3 ops: pow, sum, add" in source
    assert edges_with(source, "out_1 -> out_2") and not edges_with(source, "penwidth=2.2", "out_")
    cut_edges = [line.split("[")[0].split("->")[1].strip()
                 for line in edges_with(source, "style=dashed", "cut (k2 = 1)")]
    assert sorted(cut_edges) == ["cell_3", "out_1", "out_2"]       # h_1 to its loss, h_2 to its loss and to t = 3


def cell_rows(svg_path):
    """The y of the centre of each cell box (`cell_<t>`) of a rendered cells view."""
    ns = {"svg": "http://www.w3.org/2000/svg"}
    rows = {}
    for group in ET.parse(svg_path).getroot().iter("{http://www.w3.org/2000/svg}g"):
        title = group.find("svg:title", ns)
        if group.get("class") == "node" and title is not None and title.text.startswith("cell_"):
            shape = group.find("svg:path", ns)
            points = shape.get("d") if shape is not None else group.find("svg:polygon", ns).get("points")
            ys = [float(y) for y in re.findall(r"-?\d+\.?\d*", points)[1::2]]
            rows[title.text] = (min(ys) + max(ys)) / 2
    return rows


def test_a_layer_s_cells_stand_in_one_row(tmp_path):
    """nn.RNN's input projection fans out to every step and its stack gathers every step: the
    steps came out in a staircase, each lower than the one before. The states are one row."""
    mg.manual_seed(1)
    rnn = mg.nn.RNN(2, 3)
    output, _ = rnn(mg.randn(5, 1, 2))
    graph = viz.draw((output ** 2).sum(), dict(rnn.named_parameters()))
    rows = cell_rows(viz.render(graph, tmp_path / "rnn.svg"))
    assert sorted(rows) == [f"cell_{t}" for t in range(1, 6)]
    assert max(rows.values()) - min(rows.values()) < 1


def test_cuts_and_steps_left_out_keep_the_cells_in_one_row(tmp_path):
    """A cut leaves no edge from one cell to the next, and a note stands for the steps left out;
    the cells on either side still share a row."""
    loss, params = truncated_after_three(20)
    graph = viz.draw(loss, params, max_steps=8)
    assert "12 steps left out (t = 5 .. 16)" in graph.source
    rows = cell_rows(viz.render(graph, tmp_path / "cut.svg"))
    assert sorted(rows, key=lambda key: int(key[5:])) == [f"cell_{t}" for t in (1, 2, 3, 4, 17, 18, 19, 20)]
    assert max(rows.values()) - min(rows.values()) < 1


def test_a_graph_without_steps_lists_its_parameters_top_down_in_order(tmp_path):
    """Two Linear layers, no steps: their parameters read 0.weight, 0.bias, 2.weight, 2.bias from the
    top down, each beside the layer that reads it (a left-to-right layout stacks what is declared
    first at the bottom, so they came out the wrong way up)."""
    mg.manual_seed(0)
    net = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.Tanh(), mg.nn.Linear(4, 1))
    loss = (net(mg.randn(2, 3)) ** 2).mean()
    params = dict(net.named_parameters())
    graph = viz.draw(loss, params)
    ids = {re.search(rf"(n\d+) \[label=<<B>{re.escape(name)}</B>", graph.source).group(1): name for name in params}
    ns = {"svg": "http://www.w3.org/2000/svg"}
    tops = {}
    for group in ET.parse(viz.render(graph, tmp_path / "mlp.svg")).getroot().iter("{http://www.w3.org/2000/svg}g"):
        title = group.find("svg:title", ns)
        if group.get("class") == "node" and title is not None and title.text in ids:
            tops[ids[title.text]] = min(float(text.get("y")) for text in group.findall("svg:text", ns))
    assert list(params) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert sorted(tops, key=tops.get) == list(params)


def test_a_gru_update_s_window_renders_in_the_ops_view(tmp_path):
    """At u = 6 of TBPTT(2, 4) the cut h of t = 2 stands alone in its column and feeds t = 3's
    h W_hh^T, which nothing else in its step ranks: its labelled dashed edge, which ranks nothing,
    made the renderer fail ("trouble in init_rank"). Such edges keep their words as an xlabel."""
    mg.manual_seed(2)
    cell = mg.nn.GRUCell(2, 3)
    drawn = {}

    def step(x, h):
        h = cell(x, h)
        return h, h

    mg.bptt.tbptt(step, None, [mg.randn(1, 2) for _ in range(6)], [mg.zeros(1, 3)] * 6,
                  lambda y, t: ((y - t) ** 2).sum(), k1=2, k2=4,
                  on_backward=lambda u, loss: drawn.setdefault(
                      u, viz.draw_update(loss, dict(cell.named_parameters()), view="ops")))
    graph = drawn[6]
    svg = viz.render(graph, tmp_path / "gru.svg")
    assert "cut (k2 = 4)" in "".join(ET.parse(svg).getroot().itertext())
    cut_edges = edges_with(graph.source, "style=dashed", "cut (k2 = 4)")
    assert len(cut_edges) == 2              # h_2 feeds t = 3's h W_hh^T and its lerp towards h
    assert all("xlabel=<cut (k2 = 4)>" in edge and "constraint=false" in edge for edge in cut_edges)


def test_steps_that_all_differ_are_split_as_their_recurrence_goes():
    """Each step also attends to every earlier state, so no two steps compute the same ops. Each step's
    input box still holds exactly its input projection x_t U, and the rest of the step (h W, the
    earlier states' terms, tanh) is in its cell, the first step's h0 W included."""
    mg.manual_seed(8)
    A, U, W = (mg.randn(*shape, requires_grad=True) for shape in ((4, 4), (3, 4), (4, 4)))
    states, h, loss = [], mg.zeros(1, 4), None
    for t in range(1, 6):
        with viz.step(t):
            pre = mg.randn(1, 3) @ U + h @ W
            for earlier in states:
                pre = pre + earlier @ A
            h = mg.tanh(pre).named("h")
            states.append(h)
            loss = (h ** 2).sum() if loss is None else loss + (h ** 2).sum()
    loss.backward(retain_graph=True)
    source = viz.draw(loss, {"A": A, "U": U, "W": W}).source
    for t in range(1, 6):
        assert "1 op: matmul" in source[source.index(f"in_{t} [label="):].split("\n", 1)[0], t
