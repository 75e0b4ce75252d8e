"""`RNN`, `LSTM`, `GRU` with `bidirectional=True`, as PyTorch's.

Every value is checked against a numpy forward pass written here from PyTorch's
equations (gate orders i, f, g, o and r, z, n), which reads the weights by their
PyTorch names: the reverse direction runs from t = T down to 1, its h_t fills the
last H columns of the output at t, and h_n lists layer 0, layer 0 reverse,
layer 1, ... Gradients are checked against central differences of that numpy
forward pass, and the fused path against the op-level one.
"""

import re

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
from microgradseq import viz

KINDS = ["RNN", "LSTM", "GRU"]
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
I, H, T, B = 3, 2, 4, 2

pytestmark = pytest.mark.usefixtures("float64_default")


# ---- the numpy reference ------------------------------------------------------------------------

def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def np_step(kind, x, state, w_ih, w_hh, b_ih, b_hh):
    """One step of PyTorch's cell: (h', new state)."""
    if kind == "LSTM":
        h, c = state
        i, f, g, o = np.split(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        return h, (h, c)
    if kind == "GRU":
        x_r, x_z, x_n = np.split(x @ w_ih.T + b_ih, 3, axis=-1)
        h_r, h_z, h_n = np.split(state @ w_hh.T + b_hh, 3, axis=-1)
        r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
        n = np.tanh(x_n + r * h_n)
        h = (1 - z) * n + z * state
        return h, h
    h = np.tanh(x @ w_ih.T + b_ih + state @ w_hh.T + b_hh)
    return h, h


def np_direction(kind, xs, state, weights, reverse):
    """One direction over xs (T, B, I): (h_1 .. h_T in input order, final state). The reverse
    direction starts at t = T and ends after t = 1."""
    outputs = [None] * len(xs)
    for t in (range(len(xs) - 1, -1, -1) if reverse else range(len(xs))):
        outputs[t], state = np_step(kind, xs[t], state, *weights)
    return np.stack(outputs), state


def np_layers(kind, weights, x, h0, c0=None, num_layers=1, bidirectional=True, dropped=False):
    """PyTorch's layer: x (T, B, I), h0 (num_layers * D, B, H) -> (output (T, B, D*H), h_n[, c_n]).
    `dropped`: dropout with p = 1 between layers (the layers above see zeros)."""
    directions = 2 if bidirectional else 1
    finals = []
    for k in range(num_layers):
        outputs = []
        for d in range(directions):
            suffix = "_reverse" if d else ""
            w = [weights[f"{name}_l{k}{suffix}"] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            i = k * directions + d
            out, state = np_direction(kind, x, (h0[i], c0[i]) if kind == "LSTM" else h0[i], w, d == 1)
            outputs.append(out)
            finals.append(state)
        x = np.concatenate(outputs, axis=-1)
        if dropped and k < num_layers - 1:
            x = np.zeros_like(x)
    if kind == "LSTM":
        return x, np.stack([s[0] for s in finals]), np.stack([s[1] for s in finals])
    return x, np.stack(finals)


def make(kind, num_layers=1, seed=0, **options):
    return getattr(nn, kind)(I, H, num_layers, bidirectional=True, rng=np.random.default_rng(seed), **options)


def weights_of(module):
    return {name: p.data for name, p in module.named_parameters()}


def states(kind, rng, count, batch):
    """Random (h0,) or (h0, c0), each (count, batch, H)."""
    return tuple(rng.normal(size=(count, batch, H)) for _ in range(2 if kind == "LSTM" else 1))


def finals(kind, state_n):
    return list(state_n) if kind == "LSTM" else [state_n]


def assert_close(got, want, tol=1e-12):
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


# ---- parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_parameters_have_pytorch_names_order_and_shapes(kind):
    """Per layer: the forward direction's four, then the same with `_reverse`; layer 1 reads 2H."""
    rows = GATES[kind] * H
    want = []
    for k, width in ((0, I), (1, 2 * H)):
        for suffix in ("", "_reverse"):
            want += [(f"weight_ih_l{k}{suffix}", (rows, width)), (f"weight_hh_l{k}{suffix}", (rows, H)),
                     (f"bias_ih_l{k}{suffix}", (rows,)), (f"bias_hh_l{k}{suffix}", (rows,))]
    module = make(kind, num_layers=2)
    assert [(name, p.shape) for name, p in module.named_parameters()] == want
    assert [(name, value.shape) for name, value in module.state_dict().items()] == want
    assert module.bidirectional is True and "bidirectional=True" in repr(module)


def test_bidirectional_is_the_positional_argument_after_dropout_as_in_pytorch():
    assert nn.RNN(I, H, 1, "tanh", True, False, 0.0, True).bidirectional is True
    assert nn.LSTM(I, H, 1, True, False, 0.0, True).bidirectional is True
    assert nn.GRU(I, H, 1, True, False, 0.0, False).bidirectional is False


def test_a_state_dict_moves_between_bidirectional_layers_and_not_into_a_one_directional_one():
    source, target = make("GRU", 2, seed=1), make("GRU", 2, seed=2)
    target.load_state_dict(source.state_dict())
    for name, value in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[name], value)
    with pytest.raises((KeyError, ValueError), match="weight_ih_l0_reverse"):
        nn.GRU(I, H, 2).load_state_dict(source.state_dict())


# ---- values ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("layout", ["time-major", "batch_first", "unbatched"])
@pytest.mark.parametrize("given_state", [False, True], ids=["zero-state", "given-state"])
def test_output_and_final_state_match_numpy(kind, num_layers, layout, given_state):
    rng = np.random.default_rng(3)
    module = make(kind, num_layers, batch_first=layout == "batch_first")
    batch = 1 if layout == "unbatched" else B
    x = rng.normal(size=(T, batch, I))
    initial = states(kind, rng, 2 * num_layers, batch) if given_state else \
        tuple(np.zeros((2 * num_layers, batch, H)) for _ in range(2 if kind == "LSTM" else 1))
    want_output, *want_finals = np_layers(kind, weights_of(module), x, *initial, num_layers=num_layers)

    if layout == "unbatched":
        given_x, given = x[:, 0], tuple(s[:, 0] for s in initial)
        want_output, want_finals = want_output[:, 0], [f[:, 0] for f in want_finals]
    elif layout == "batch_first":
        given_x, given, want_output = x.transpose(1, 0, 2), initial, want_output.transpose(1, 0, 2)
    else:
        given_x, given = x, initial
    state = None if not given_state else (given if kind == "LSTM" else given[0])
    output, state_n = module(mg.tensor(given_x), state)
    assert output.shape == want_output.shape
    assert output.shape[-1] == 2 * H
    assert_close(output.data, want_output)
    for got, want in zip(finals(kind, state_n), want_finals):
        assert got.shape == want.shape == ((2 * num_layers, H) if layout == "unbatched" else (2 * num_layers, B, H))
        assert_close(got.data, want)


@pytest.mark.parametrize("kind", KINDS)
def test_dropout_between_layers_acts_on_both_directions_output(kind):
    """With p = 1 in training mode the top layer reads zeros in all 2H columns (numpy with zeros);
    in eval mode it reads the lower layer's output."""
    x = np.random.default_rng(4).normal(size=(T, B, I))
    module = make(kind, 2, dropout=1.0)
    zeros = [np.zeros((4, B, H))] * (2 if kind == "LSTM" else 1)
    output, _ = module(mg.tensor(x))
    assert_close(output.data, np_layers(kind, weights_of(module), x, *zeros, num_layers=2, dropped=True)[0])
    output, _ = module.eval()(mg.tensor(x))
    assert_close(output.data, np_layers(kind, weights_of(module), x, *zeros, num_layers=2)[0])


# ---- gradients ------------------------------------------------------------------------------------

def loss_weights(rng, kind, num_layers):
    """Fixed random weights for a scalar loss of the output and every final state."""
    return rng.normal(size=(T, B, 2 * H)), [rng.normal(size=(2 * num_layers, B, H)) for _ in
                                            range(2 if kind == "LSTM" else 1)]


def central_differences(f, arrays, eps=1e-6):
    """d f / d every entry of every array, by (f(a + eps) - f(a - eps)) / (2 eps)."""
    grads = []
    for array in arrays:
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            keep = array[index]
            array[index] = keep + eps
            up = f()
            array[index] = keep - eps
            down = f()
            array[index] = keep
            grad[index] = (up - down) / (2 * eps)
        grads.append(grad)
    return grads


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("fused", [False, True], ids=["ops", "fused"])
def test_gradients_match_central_differences_of_numpy(kind, num_layers, fused):
    rng = np.random.default_rng(5)
    module = make(kind, num_layers, fused=fused)
    x = rng.normal(size=(T, B, I))
    initial = states(kind, rng, 2 * num_layers, B)
    on_output, on_finals = loss_weights(rng, kind, num_layers)

    x_tensor = mg.tensor(x, requires_grad=True)
    initial_tensors = [mg.tensor(s, requires_grad=True) for s in initial]
    output, state_n = module(x_tensor, tuple(initial_tensors) if kind == "LSTM" else initial_tensors[0])
    loss = (output * on_output).sum()
    for final, weight in zip(finals(kind, state_n), on_finals):
        loss = loss + (final * weight).sum()
    loss.backward()

    weights = {name: value.copy() for name, value in weights_of(module).items()}
    arrays = [x, *initial, *weights.values()]

    def numpy_loss():
        output, *state_n = np_layers(kind, weights, x, *initial, num_layers=num_layers)
        return (output * on_output).sum() + sum((f * w).sum() for f, w in zip(state_n, on_finals))

    assert abs(loss.item() - numpy_loss()) < 1e-12
    want = central_differences(numpy_loss, arrays)
    got = [x_tensor.grad] + [t.grad for t in initial_tensors] + [p.grad for p in module.parameters()]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_fused_gives_the_op_level_values_and_gradients(kind, num_layers):
    """fused=True runs the reverse direction through the fused kernel on the flipped sequence."""
    rng = np.random.default_rng(6)
    x, initial = rng.normal(size=(T + 1, B, I)), states(kind, rng, 2 * num_layers, B)
    results = []
    for fused in (False, True):
        module = make(kind, num_layers, fused=fused, batch_first=True)
        x_tensor = mg.tensor(x.transpose(1, 0, 2), requires_grad=True)
        initial_tensors = [mg.tensor(s, requires_grad=True) for s in initial]
        output, state_n = module(x_tensor, tuple(initial_tensors) if kind == "LSTM" else initial_tensors[0])
        loss = (output * np.linspace(-1, 1, output.data.size).reshape(output.shape)).sum()
        for final in finals(kind, state_n):
            loss = loss + (final * final).sum()
        loss.backward()
        results.append([output.data, *[f.data for f in finals(kind, state_n)], x_tensor.grad,
                        *[t.grad for t in initial_tensors], *[p.grad for p in module.parameters()]])
    for plain, fused in zip(*results):
        np.testing.assert_allclose(fused, plain, rtol=1e-10, atol=1e-10)


# ---- time steps and drawings -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_each_direction_s_state_at_input_position_t_is_stamped_with_step_t(kind):
    """The output's forward half at t is the h node made at step t, and so is its reverse half,
    though the reverse direction makes it T + 1 - t steps into its run (checked by value in
    the numpy comparison above: the output at t holds the reverse direction's h_t)."""
    output, _ = make(kind)(mg.tensor(np.ones((T, B, I))))
    assert output._node.op == "concat"
    for half in output._node.inputs:                # forward, then reverse: each a stack of h_1 .. h_T
        assert [(node.label, node.step) for node in half.inputs] == [("h", t) for t in range(1, T + 1)]


def drawn(module, x):
    output, _ = module(mg.tensor(x))
    loss = (output * output).sum()
    loss.backward(retain_graph=True)
    return viz.draw(loss, dict(module.named_parameters())).source


def state_lines(source):
    """{step: the state lines of its cell box (label, shape, values, |dL/dstate|)}."""
    boxes = dict(re.findall(r"^\s*cell_(\d+) \[label=<(.*?)> ", source, re.M))
    return {int(step): re.findall(r"<BR/>([hc] \([^<]*)", label) for step, label in boxes.items()}


@pytest.mark.parametrize("kind", KINDS)
def test_a_drawing_puts_both_directions_of_step_t_in_step_t_s_box_fused_or_not(kind):
    """Each step's box holds 2 h's per layer (and c's), the same values and |dL/dh| whether the
    layer ran op by op or fused (whose reverse step marks are stamped with the input position)."""
    x = np.random.default_rng(7).normal(size=(T, 1, I))
    plain, fused = drawn(make(kind, 2), x), drawn(make(kind, 2, fused=True), x)
    want, got = state_lines(plain), state_lines(fused)
    assert sorted(want) == list(range(1, T + 1))
    assert got == want
    for lines in want.values():
        assert len([line for line in lines if line.startswith("h ")]) == 4        # 2 layers x 2 directions


@pytest.mark.parametrize("fused", [False, True], ids=["ops", "fused"])
def test_detect_anomaly_names_the_input_position_of_the_reverse_direction_s_first_bad_step(fused):
    """A NaN in the reverse direction's W_hh first shows at t = T, the step it runs first."""
    module = make("GRU", fused=fused)
    weight = module.weight_hh_l0_reverse.data.copy()
    weight[0, 0] = np.nan
    module.weight_hh_l0_reverse.data = weight
    with pytest.raises(FloatingPointError, match=rf"forward output holds NaN \(t = {T}, in GRU\.reverse\)"):
        with mg.detect_anomaly():
            module(np.ones((T, B, I)))


def test_a_bidirectional_drawing_renders(tmp_path):
    path = tmp_path / "bidirectional.svg"
    module = make("GRU")
    output, _ = module(mg.tensor(np.ones((3, 1, I))))
    output.sum().backward(retain_graph=True)
    viz.render(viz.draw(output.sum(), dict(module.named_parameters())), path)
    text = path.read_text()
    assert "t = 1" in text and "t = 3" in text and "weight_hh_l0_reverse" in text


# ---- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_a_state_of_the_one_directional_shape_is_refused_naming_the_expected_one(kind):
    module = make(kind, 2)
    h0 = np.zeros((2, B, H))
    state = (h0, h0) if kind == "LSTM" else h0
    with pytest.raises(ValueError, match=rf"^{kind}: expected h0 of shape \(4, 2, 2\), got \(2, 2, 2\)"):
        module(np.zeros((T, B, I)), state)


class Tagger(nn.Module):
    """A model holding a bidirectional layer, with a step method as the TBPTT runners take."""

    def __init__(self):
        super().__init__()
        self.encoder = make("LSTM")

    def step(self, x, state):
        return self.encoder(x, state)


def run_tbptt(step):
    inputs = [mg.tensor(np.ones((1, 1, I)))] * 3
    return mg.bptt.tbptt(step, None, inputs, [None, None, 0.0], lambda out, target: out.sum(), 2, 2)


def test_tbptt_refuses_a_bidirectional_layer_or_a_model_holding_one():
    tagger = Tagger()
    for step, place in ((tagger.encoder, "LSTM"), (tagger, "LSTM at 'encoder'"), (tagger.step, "LSTM at 'encoder'")):
        with pytest.raises(ValueError, match=rf"^tbptt: step uses a bidirectional layer \({place}\); its reverse "
                                             r"direction reads every later step.*full BPTT"):
            run_tbptt(step)
    tagger.encoder = nn.LSTM(I, H)                  # one-directional: runs
    assert run_tbptt(tagger.step).updates == [2, 3]


def test_tbptt_blocks_refuses_a_bidirectional_step_block():
    tagger = Tagger()
    inputs = [np.ones((1, I))] * 3
    with pytest.raises(ValueError, match=r"^tbptt_blocks: step_block uses a bidirectional layer \(LSTM at 'encoder'\)"):
        mg.bptt.tbptt_blocks(tagger.step, None, inputs, [None] * 3, lambda out, target: out.sum(), 2, 2)


@pytest.mark.parametrize("runner", ["rtrl", "uoro"])
def test_rtrl_and_uoro_refuse_a_bidirectional_step_too(runner):
    """They step forward in time as tbptt does: a reverse direction would become a second forward one."""
    tagger = Tagger()
    inputs = [mg.tensor(np.ones((1, 1, I)))] * 3
    with pytest.raises(ValueError, match=rf"^{runner}: step uses a bidirectional layer \(LSTM at 'encoder'\); its "
                                         r"reverse direction reads every later step"):
        getattr(mg.bptt, runner)(tagger.step, None, inputs, [None, None, 0.0], lambda out, target: out.sum(),
                                 list(tagger.parameters()))
