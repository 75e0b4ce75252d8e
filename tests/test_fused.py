"""The fused path (`fused=True`): one node per cell step, or per sequence, with hand-derived gradients.

It must compute exactly what the op-level cells compute, whose gradients are
generic backprop (and are themselves checked against hand-derived BPTT and
finite differences in test_nn_bptt.py). So every test here builds the same
module twice, with the same weights, and asks for the same outputs and
gradients to 1e-10 in float64; the fused steps are also checked directly
against finite differences, and their drawings against the op-level drawing.
"""

import re
import weakref

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.autograd import topological_order
from microgradseq.nn.fused.marks import unfold
from microgradseq.bptt.truncate import state_tensors
from microgradseq.nn import fused
from microgradseq.nn.fused import kernels

I, H, T, B = 3, 4, 5, 2


pytestmark = pytest.mark.usefixtures("float64_default")   # every test here builds float64 tensors


def assert_close(got, want, name=""):
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10, err_msg=name)


def twins(module_class, **options):
    """The op-level module and its fused twin, holding the same weights."""
    plain = module_class(I, H, rng=np.random.default_rng(0), **options)
    twin = module_class(I, H, fused=True, **options)
    twin.load_state_dict(plain.state_dict())
    return plain, twin


def leaves(rng, *shapes):
    return [mg.tensor(rng.normal(size=shape), requires_grad=True) for shape in shapes]


def gradients(module, inputs, loss):
    """{name: grad} for the module's parameters and for the input tensors, named in0, in1, ..."""
    grads = {name: p.grad for name, p in module.named_parameters()}
    grads.update({f"in{k}": t.grad for k, t in enumerate(inputs)})
    grads["loss"] = loss.data
    return grads


def assert_same_gradients(plain, twin):
    assert plain.keys() == twin.keys()
    for name in plain:
        assert twin[name] is not None, name
        assert_close(twin[name], plain[name], name)


CELLS = [
    pytest.param(mg.nn.RNNCell, {"nonlinearity": "tanh"}, id="rnn-tanh"),
    pytest.param(mg.nn.RNNCell, {"nonlinearity": "relu"}, id="rnn-relu"),
    pytest.param(mg.nn.LSTMCell, {}, id="lstm"),
    pytest.param(mg.nn.GRUCell, {}, id="gru"),
]
LAYERS = [
    pytest.param(mg.nn.RNN, {"nonlinearity": "tanh"}, id="rnn-tanh"),
    pytest.param(mg.nn.RNN, {"nonlinearity": "relu"}, id="rnn-relu"),
    pytest.param(mg.nn.LSTM, {}, id="lstm"),
    pytest.param(mg.nn.GRU, {}, id="gru"),
]


# ---- same values, same gradients ---------------------------------------------------------

def run_cell(cell, batched):
    """Three chained steps from a given state; the loss weighs every h (and c) differently."""
    rng = np.random.default_rng(1)
    lead = (B,) if batched else ()
    x, h0, c0 = leaves(rng, (3,) + lead + (I,), lead + (H,), lead + (H,))
    is_lstm = isinstance(cell, mg.nn.LSTMCell)
    state, loss, outputs = (h0, c0) if is_lstm else h0, 0, []
    for t in range(3):
        state = cell(x[t], state)
        h, c = state if is_lstm else (state, None)
        loss = loss + (h * rng.normal(size=h.shape)).sum()
        if c is not None:
            loss = loss + (c * rng.normal(size=c.shape)).sum()
        outputs.append(h.data)
    loss.backward()
    return outputs, gradients(cell, [x, h0, c0] if is_lstm else [x, h0], loss)


@pytest.mark.parametrize("cell_class, options", CELLS)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
def test_fused_cell_gives_the_op_level_outputs_and_gradients(cell_class, options, bias, batched):
    """x, h0 (c0) and every weight get the op-level gradient; every step's h is the same."""
    plain, twin = twins(cell_class, bias=bias, **options)
    want_outputs, want = run_cell(plain, batched)
    got_outputs, got = run_cell(twin, batched)
    for t, (h_got, h_want) in enumerate(zip(got_outputs, want_outputs)):
        assert_close(h_got, h_want, f"h at step {t + 1}")
    assert_same_gradients(want, got)


def run_layer(layer, batched, batch_first=False):
    rng = np.random.default_rng(2)
    layers = layer.num_layers
    if batched:
        x_shape, state_shape = ((B, T, I) if batch_first else (T, B, I)), (layers, B, H)
    else:
        x_shape, state_shape = (T, I), (layers, H)
    x, h0, c0 = leaves(rng, x_shape, state_shape, state_shape)
    is_lstm = isinstance(layer, mg.nn.LSTM)
    output, final = layer(x, (h0, c0) if is_lstm else h0)
    finals = final if is_lstm else (final,)
    loss = (output * rng.normal(size=output.shape)).sum()
    for f in finals:
        loss = loss + (f * rng.normal(size=f.shape)).sum()
    loss.backward()
    values = [output.data] + [f.data for f in finals]
    return values, gradients(layer, [x, h0, c0] if is_lstm else [x, h0], loss)


@pytest.mark.parametrize("layer_class, options", LAYERS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
def test_fused_layer_gives_the_op_level_outputs_and_gradients(layer_class, options, num_layers, bias,
                                                              batched):
    """Outputs, final states, and the gradients of x, h0 (c0) and every layer's weights."""
    plain, twin = twins(layer_class, num_layers=num_layers, bias=bias, **options)
    want_values, want = run_layer(plain, batched)
    got_values, got = run_layer(twin, batched)
    for got_value, want_value in zip(got_values, want_values):
        assert got_value.shape == want_value.shape
        assert_close(got_value, want_value)
    assert_same_gradients(want, got)


@pytest.mark.parametrize("layer_class, options", LAYERS)
def test_fused_layer_with_batch_first(layer_class, options):
    """batch_first only changes the layout around the fused node."""
    plain, twin = twins(layer_class, num_layers=2, batch_first=True, **options)
    want_values, want = run_layer(plain, True, batch_first=True)
    got_values, got = run_layer(twin, True, batch_first=True)
    for got_value, want_value in zip(got_values, want_values):
        assert_close(got_value, want_value)
    assert_same_gradients(want, got)


@pytest.mark.parametrize("layer_class, gates", [(mg.nn.LSTM, 4), (mg.nn.GRU, 3)], ids=["LSTM", "GRU"])
@pytest.mark.parametrize("steps_per_block", [1, 2], ids=["one-step-blocks", "two-step-blocks"])
def test_fused_backward_in_blocks_of_steps_gives_the_same_gradients(monkeypatch, layer_class, gates,
                                                                    steps_per_block):
    """Long sequences compute the LSTM's and GRU's backward factors a block of steps at a time; the
    blocks' edges (the previous state of a block's first step) change nothing."""
    monkeypatch.setattr(kernels, "BLOCK", steps_per_block * gates * H * B)
    plain, twin = twins(layer_class, num_layers=2)
    want_values, want = run_layer(plain, True)
    got_values, got = run_layer(twin, True)
    for got_value, want_value in zip(got_values, want_values):
        assert_close(got_value, want_value)
    assert_same_gradients(want, got)


def three_passes(layer, seed):
    """Gradients of three different losses walked over one kept graph (retain_graph), each pass's own."""
    rng = np.random.default_rng(seed)
    x, h0, c0 = leaves(rng, (T, B, I), (1, B, H), (1, B, H))
    is_lstm = isinstance(layer, mg.nn.LSTM)
    output, final = layer(x, (h0, c0) if is_lstm else h0)
    last = final[1] if is_lstm else final               # c_T for the LSTM: the cell path too
    passes = []
    for retain in (True, True, False):
        layer.zero_grad()
        for t in (x, h0, c0):
            t.grad = None
        loss = (output * rng.normal(size=output.shape)).sum() + (last * rng.normal(size=last.shape)).sum()
        loss.backward(retain_graph=retain)
        passes.append(gradients(layer, [x, h0, c0] if is_lstm else [x, h0], loss))
    return passes


@pytest.mark.parametrize("layer_class, options", LAYERS)
@pytest.mark.parametrize("steps_per_block", [1, 100], ids=["one-step-blocks", "one-block"])
def test_later_passes_over_a_kept_fused_layer_give_their_own_gradients(monkeypatch, layer_class, options,
                                                                      steps_per_block):
    """The fused LSTM's factors are made by the first backward pass (which writes its gate gradients
    over the saved gates) and reused by the next ones (TBPTT walks each step k2 / k1 times): the
    second and third passes, each with another loss, still get the op-level gradients of theirs."""
    monkeypatch.setattr(kernels, "BLOCK", steps_per_block * 4 * H * B)
    plain, twin = twins(layer_class, **options)
    for want, got in zip(three_passes(plain, 3), three_passes(twin, 3)):
        assert_same_gradients(want, got)


def test_a_first_pass_interrupted_inside_a_fused_lstm_layer_makes_the_next_pass_fail_clearly(monkeypatch):
    """The LSTM's first backward pass writes its gate gradients over the gates it saved, a block of
    steps at a time: if it stops half-way, a retry over the kept graph must not read what is left."""
    from microgradseq.nn.fused import lstm as fused_lstm
    monkeypatch.setattr(kernels, "BLOCK", 4 * H * B)            # one step a block: five blocks

    def blocks_then_interrupt(steps, per_step):
        yield from kernels.blocks(steps, per_step)[:2]
        raise KeyboardInterrupt

    _, twin = twins(mg.nn.LSTM)
    output, _ = twin(np.random.default_rng(4).normal(size=(T, B, I)))
    loss = output.sum()
    monkeypatch.setattr(fused_lstm, "blocks", blocks_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        loss.backward(retain_graph=True)
    monkeypatch.setattr(fused_lstm, "blocks", kernels.blocks)
    with pytest.raises(RuntimeError, match=r"backward: an earlier backward pass through a fused LSTM layer "
                                           r"\(lstm_sequence\) was interrupted"):
        loss.backward(retain_graph=True)


def test_fused_flag_is_a_keyword_after_the_pytorch_arguments():
    """RNN(input, hidden, num_layers, nonlinearity, bias, batch_first) stays positional, as in PyTorch."""
    rnn = mg.nn.RNN(I, H, 2, "relu", False, True, fused=True)
    settings = (rnn.num_layers, rnn.nonlinearity, rnn.bias, rnn.batch_first, rnn.fused)
    assert settings == (2, "relu", False, True, True)
    assert "fused=True" in repr(rnn) and "fused=True" in repr(mg.nn.GRUCell(I, H, fused=True))
    with pytest.raises(TypeError):
        mg.nn.LSTMCell(I, H, True, None, None, True)


def test_fused_layer_keeps_its_own_copy_of_a_constant_input():
    """Writing into the caller's input array after the forward pass cannot change the gradients:
    they use the values the forward pass saw (a constant input is copied, not fingerprinted)."""
    x = np.random.default_rng(9).normal(size=(T, B, I))
    plain, twin = twins(mg.nn.GRU)
    output, _ = plain(x.copy())
    output.sum().backward()
    output, _ = twin(x)
    x[:] = 0.0
    output.sum().backward()
    for (name, got), want in zip(twin.named_parameters(), plain.parameters()):
        assert_close(got.grad, want.grad, name)


def test_fused_layer_under_no_grad_records_nothing():
    _, twin = twins(mg.nn.LSTM)
    with mg.no_grad():
        output, (h_n, c_n) = twin(np.ones((T, B, I)))
    assert not output.requires_grad and not h_n.requires_grad and not c_n.requires_grad


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_a_fused_cell_follows_every_change_to_its_weights(kind):
    """The fused step lays out its weights once per set of weight arrays (kernels.PreparedWeights):
    after an optimizer step, an assignment to .data and load_state_dict it still agrees with the
    op-level cell, values and gradients."""
    rng = np.random.default_rng(7)
    plain, twin = twins({"rnn": mg.nn.RNNCell, "lstm": mg.nn.LSTMCell, "gru": mg.nn.GRUCell}[kind])
    x, h = rng.normal(size=(B, I)), rng.normal(size=(B, H))
    state = (h, rng.normal(size=(B, H))) if kind == "lstm" else h

    def run(cell):
        out = cell(x, state)
        loss = ((out[0] if kind == "lstm" else out) ** 2).sum()
        cell.zero_grad()
        loss.backward()
        return loss

    def check(when):
        want, got = gradients(plain, [], run(plain)), gradients(twin, [], run(twin))
        for name in want:
            assert_close(got[name], want[name], f"{name}, {when}")

    check("at first")
    for cell in (plain, twin):
        run(cell)
        mg.optim.SGD(cell.parameters(), lr=0.5).step()
    check("after an optimizer step")
    new = rng.normal(size=plain.weight_hh.shape)
    plain.weight_hh.data, twin.weight_hh.data = new, new.copy()
    check("after assigning weight_hh.data")
    weights = {name: rng.normal(size=p.shape) for name, p in plain.named_parameters()}
    plain.load_state_dict(weights)
    twin.load_state_dict(weights)
    check("after load_state_dict")


# ---- truncated BPTT -------------------------------------------------------------------------

def tbptt_run(kind, fused_flag, use_layer):
    """TBPTT(2, 3) over 7 steps with SGD, so later windows see weights that earlier updates changed."""
    rng = np.random.default_rng(3)
    classes = {"rnn": (mg.nn.RNNCell, mg.nn.RNN), "lstm": (mg.nn.LSTMCell, mg.nn.LSTM),
               "gru": (mg.nn.GRUCell, mg.nn.GRU)}[kind]
    module = classes[1 if use_layer else 0](I, H, rng=np.random.default_rng(0), fused=fused_flag)
    readout = mg.nn.Linear(H, 2, rng=np.random.default_rng(4))
    parameters = list(module.parameters()) + list(readout.parameters())
    xs = [rng.normal(size=(B, I)) for _ in range(7)]
    ys = [rng.normal(size=(B, 2)) for _ in range(7)]

    def step(x, state):
        if use_layer:
            output, state = module(x[None], state)
            h = output[0]
        else:
            state = module(x, state)
            h = state[0] if kind == "lstm" else state
        return readout(h), state

    result = mg.bptt.tbptt(step, None, xs, ys, lambda out, y: ((out - y) ** 2).sum(), k1=2, k2=3,
                           optimizer=mg.optim.SGD(parameters, lr=0.1))
    return result, [p.data for p in parameters]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("use_layer", [False, True], ids=["cell", "layer"])
def test_fused_path_under_tbptt_with_k1_below_k2_matches_the_op_level_path(kind, use_layer):
    """Same losses at every update, same trained weights, same final state."""
    want, want_weights = tbptt_run(kind, False, use_layer)
    got, got_weights = tbptt_run(kind, True, use_layer)
    assert got.updates == want.updates
    assert_close(got.losses, want.losses)
    for got_weight, want_weight in zip(got_weights, want_weights):
        assert_close(got_weight, want_weight)
    for got_state, want_state in zip(state_tensors(got.state), state_tensors(want.state)):
        assert_close(got_state.data, want_state.data)


# ---- the fused steps against finite differences -----------------------------------------

def weights(rng, gates, bias=True):
    w_ih, w_hh, b_ih, b_hh = leaves(rng, (gates * H, I), (gates * H, H), (gates * H,), (gates * H,))
    return (w_ih, w_hh, b_ih, b_hh) if bias else (w_ih, w_hh, None, None)


STEPS = {
    "rnn-tanh": (1, lambda x, h, c, *w: fused.rnn_cell(x, h, *w, "tanh")),
    "rnn-relu": (1, lambda x, h, c, *w: fused.rnn_cell(x, h, *w, "relu")),
    "lstm": (4, lambda x, h, c, *w: fused.lstm_cell(x, (h, c), *w)),
    "gru": (3, lambda x, h, c, *w: fused.gru_cell(x, h, *w)),
}


@pytest.mark.parametrize("name", list(STEPS))
def test_a_fused_step_passes_gradcheck(name):
    """d/dx, d/dh (d/dc) and d/d every weight of one fused step, against central differences."""
    rng = np.random.default_rng(5)
    gates, step = STEPS[name]
    x, h, c = leaves(rng, (B, I), (B, H), (B, H))
    out_weights = rng.normal(size=(2, B, H))

    def loss(x, h, c, *w):
        out = step(x, h, c, *w)
        if isinstance(out, tuple):
            return (out[0] * out_weights[0]).sum() + (out[1] * out_weights[1]).sum()
        return (out * out_weights[0]).sum()

    assert mg.gradcheck(loss, [x, h, c, *weights(rng, gates)])


SEQUENCES = {
    "rnn-tanh": (1, lambda x, h, c, *w: fused.rnn_sequence(x, h, *w, "tanh")),
    "rnn-relu": (1, lambda x, h, c, *w: fused.rnn_sequence(x, h, *w, "relu")),
    "lstm": (4, lambda x, h, c, *w: fused.lstm_sequence(x, h, c, *w)),
    "gru": (3, lambda x, h, c, *w: fused.gru_sequence(x, h, *w)),
}


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_a_fused_sequence_node_passes_gradcheck(name):
    """The hand-written BPTT of a whole sequence, against central differences (outputs and final state)."""
    rng = np.random.default_rng(6)
    gates, sequence = SEQUENCES[name]
    x, h, c = leaves(rng, (3, B, I), (B, H), (B, H))
    out_weight, state_weight = rng.normal(size=(3, B, H)), rng.normal(size=(2, B, H))

    def loss(x, h, c, *w):
        output, final, _ = sequence(x, h, c, *w)
        finals = final if isinstance(final, tuple) else (final,)
        return (output * out_weight).sum() + sum((f * s).sum() for f, s in zip(finals, state_weight))

    assert mg.gradcheck(loss, [x, h, c, *weights(rng, gates)])


# ---- drawings: one box per step ---------------------------------------------------------

def drawn(module, x):
    """The cells view of a loss over a 4-step run, after backward(retain_graph=True)."""
    if isinstance(module, mg.nn.RNNCell):
        h, outputs = None, []
        for t in range(len(x)):
            with mg.viz.step(t + 1):
                h = module(x[t], h)
            outputs.append(h)
        output = mg.stack(outputs)
    else:
        output, _ = module(x)
    loss = (output * output).sum()
    loss.backward(retain_graph=True)
    return mg.draw(loss, params=dict(module.named_parameters()), view="cells").source


def cell_boxes(source):
    """{step: the cell box's label} and the chain edges between cell boxes."""
    boxes = dict(re.findall(r"^\s*cell_(\d+) \[label=<(.*?)> ", source, re.M))
    chain = re.findall(r"^\s*(cell_\d+ -> cell_\d+)", source, re.M)
    return {int(step): label for step, label in boxes.items()}, chain


@pytest.mark.parametrize("module_class", [mg.nn.RNN, mg.nn.RNNCell, mg.nn.LSTM])
def test_drawing_of_a_fused_4_step_run_has_one_state_box_per_step(module_class):
    """cluster_step_1..4, one cell box per step holding h (and c) with its value and |dL/dh|,
    chained step to step: the op-level drawing's structure."""
    x = np.random.default_rng(7).normal(size=(4, 1, I))
    plain, twin = twins(module_class)
    want, got = drawn(plain, x), drawn(twin, x)
    assert sorted(set(re.findall(r"cluster_step_\d+", got))) == [f"cluster_step_{t}" for t in range(1, 5)]
    (want_boxes, want_chain), (got_boxes, got_chain) = cell_boxes(want), cell_boxes(got)
    assert sorted(got_boxes) == sorted(want_boxes) == [1, 2, 3, 4]
    assert got_chain == want_chain == ["cell_1 -> cell_2", "cell_2 -> cell_3", "cell_3 -> cell_4"]
    for step in got_boxes:
        states = lambda label: re.findall(r"(?:^|<BR/>)([hc] \(1, 4\)[^<]*)", label)
        assert states(got_boxes[step]) == states(want_boxes[step]), step    # values and |dL/dh|
        assert len([s for s in states(got_boxes[step]) if s.startswith("h ")]) == 1


@pytest.mark.parametrize("made", ["after backward", "before backward"])
def test_a_fused_layer_hands_every_step_its_dl_dh_for_the_drawing(made):
    """The marks of a two-layer fused GRU carry dL/dh_t, as the op-level h nodes do (drawings
    colour each step by it), whether a drawing made them before the backward pass or after."""
    x = np.random.default_rng(8).normal(size=(T, B, I))
    per_step = []
    for module in twins(mg.nn.GRU, num_layers=2):
        output, _ = module(x)
        loss = (output * output).sum()
        if made == "before backward":
            unfold([loss._node])
        loss.backward(retain_graph=True)
        unfold([loss._node])
        grads = {}
        for node in topological_order(loss._node):
            if node.label == "h" and node.step is not None:
                grads.setdefault(node.step, []).append(node.grad)
        per_step.append(grads)
    want, got = per_step
    assert sorted(got) == sorted(want) == list(range(1, T + 1))
    for step in want:
        assert len(got[step]) == len(want[step]) == 2           # one h per layer
        for grad in got[step]:
            assert any(np.allclose(grad, w, rtol=1e-10, atol=1e-10) for w in want[step]), step


def test_step_marks_are_made_only_when_a_drawing_asks_and_go_with_the_freed_graph():
    """A fused LSTM layer's graph holds one stand-in per state until `unfold` (what `mg.draw`
    calls) makes the marks: T per state, before the sequence node in creation order and
    after everything they take. A backward pass without retain_graph frees what would make them."""
    _, twin = twins(mg.nn.LSTM)
    output, _ = twin(np.random.default_rng(9).normal(size=(T, B, I)))
    loss = output.sum()
    before = topological_order(loss._node)
    stand_ins = [node for node in before if node.kind == "mark"]
    assert sorted((m.label, m.step, m.shape) for m in stand_ins) == [("c", None, (T, B, H)), ("h", None, (T, B, H))]
    unfold([loss._node])
    after = topological_order(loss._node)
    marks = [node for node in after if node.kind == "mark"]
    assert sorted((m.label, m.step) for m in marks) == sorted((label, t) for label in "ch" for t in range(1, T + 1))
    sequence = next(node for node in after if node.op == "lstm_sequence" and node.kind != "mark")
    assert all(m.seq < sequence.seq for m in marks)
    assert all(p.seq < m.seq for m in marks for p in m.inputs)
    assert len(after) == len(before) - 2 + 2 * T
    unfold([loss._node])                                    # made once
    assert len(topological_order(loss._node)) == len(after)
    output, _ = twin(np.random.default_rng(9).normal(size=(T, B, I)))
    sequence = output._node.inputs[0] if output._node.op != "lstm_sequence" else output._node
    output.sum().backward()
    assert sequence.saved is None and sequence.inputs == ()


@pytest.mark.parametrize("drawn_first", [False, True], ids=["stand-ins", "marks"])
def test_every_pass_resets_the_step_gradients_it_will_hand_out(drawn_first):
    """A second pass that reaches a fused GRU layer but fails before the layer's backward runs
    (a NaN at sqrt, under detect_anomaly) leaves no dL/dh_t of the first pass behind: the pass
    let go of them when it started, and the drawing shows no stale |dL/dh|."""
    _, twin = twins(mg.nn.GRU, dtype=np.float64)
    output, _ = twin(np.random.default_rng(10).normal(size=(T, B, I)))
    with np.errstate(invalid="ignore"):
        first, second = (output * output).sum(), mg.ops.sqrt(output * 0 - 1).sum()
    if drawn_first:
        unfold([first._node])
    first.backward(retain_graph=True)
    grads = [weakref.ref(node.grad) for node in topological_order(first._node)
             if node.kind == "mark" and node.label == "h"]
    assert grads and all(ref() is not None for ref in grads)
    assert "|dL/dh|" in mg.draw(first).source
    with mg.detect_anomaly(), np.errstate(invalid="ignore"), pytest.raises(FloatingPointError, match="sqrt"):
        second.backward(retain_graph=True)
    assert all(ref() is None for ref in grads)
    assert "|dL/dh|" not in mg.draw(output).source


# ---- errors name the step ---------------------------------------------------------------

def test_detect_anomaly_names_the_step_of_a_nan_in_a_fused_layer():
    """A NaN entering at step 3 of a fused RNN layer: the error names the op and t = 3."""
    _, twin = twins(mg.nn.RNN)
    x = np.ones((T, B, I))
    x[2, 0, 0] = np.nan
    with mg.detect_anomaly(), pytest.raises(FloatingPointError, match=r"rnn_sequence.*t = 3"):
        twin(x)


def test_detect_anomaly_names_the_step_of_an_inf_gradient_in_a_fused_layer():
    """An inf arriving as dL/dh_4 (of 5): the backward error names the op and t = 4."""
    _, twin = twins(mg.nn.GRU)
    x = mg.tensor(np.ones((T, B, I)), requires_grad=True)
    with mg.detect_anomaly(), np.errstate(invalid="ignore"):
        output, _ = twin(x)
        seed = np.zeros(output.shape)
        seed[3, 0, 0] = np.inf
        with pytest.raises(FloatingPointError, match=r"gru_sequence.*t = 4"):
            output.backward(seed)


def test_detect_anomaly_names_the_step_of_a_fused_cell_inside_tbptt():
    """A fused cell's node carries the TBPTT runner's step stamp, so errors name it."""
    _, twin = twins(mg.nn.GRUCell)
    xs = [np.ones((B, I)) for _ in range(4)]
    xs[1] = np.full((B, I), np.nan)
    with mg.detect_anomaly(), pytest.raises(FloatingPointError, match=r"gru_cell.*t = 2"):
        mg.bptt.tbptt(lambda x, h: (twin(x, h),) * 2, None, xs, [None] * 4,
                      lambda out, y: out.sum(), k1=2, k2=2)


def test_a_second_backward_with_the_same_grad_array_doubles_the_gradients():
    """Rules that share work within a pass must not reuse it in the next pass (same g object)."""
    rng = np.random.default_rng(7)
    for fused in (False, True):
        cell = mg.nn.RNNCell(3, 4, rng=np.random.default_rng(0), dtype=np.float64, fused=fused)
        h = None
        for _ in range(5):
            h = cell(rng.normal(size=(2, 3)), h)
        seed = np.ones((2, 4))
        h.backward(seed, retain_graph=True)
        first = {name: p.grad.copy() for name, p in cell.named_parameters()}
        h.backward(seed)
        for name, p in cell.named_parameters():
            np.testing.assert_allclose(p.grad, 2 * first[name], rtol=1e-12, err_msg=f"fused={fused} {name}")


@pytest.mark.parametrize("layer_type", [mg.nn.RNN, mg.nn.LSTM, mg.nn.GRU])
def test_a_fused_layer_takes_an_empty_batch_as_the_op_level_one_does(layer_type):
    """Batch size 0: outputs of shape (T, 0, H), and every gradient zero (nothing was summed)."""
    for fused in (False, True):
        layer = layer_type(I, H, num_layers=2, rng=np.random.default_rng(0), dtype=np.float64, fused=fused)
        x = mg.tensor(np.ones((T, 0, I)), requires_grad=True)
        output, _ = layer(x)
        output.sum().backward()
        assert output.shape == (T, 0, H) and x.grad.shape == (T, 0, I)
        for name, p in layer.named_parameters():
            np.testing.assert_array_equal(p.grad, np.zeros(p.shape), err_msg=f"fused={fused} {name}")
