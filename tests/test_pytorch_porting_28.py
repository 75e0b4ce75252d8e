"""Porting, round 28: drawing a graph with torchviz's `make_dot`, the way PyTorch users draw theirs. Each
script is written as its author wrote it, with only its imports changed (`from torchviz import make_dot`
becomes `from microgradseq.viz import make_dot`; `# differs:` marks each other change and why):

1. szagoruyko/pytorchviz README.md (at 140225b131c1c14239c6dd8da4330bb4b8f46130): the two `make_dot` examples,
   an `nn.Sequential` of `W0` (Linear 8 -> 16), `tanh` and `W1` (Linear 16 -> 1) drawn from `y.mean()` with
   `params=dict(model.named_parameters())`, the second with `show_attrs=True, show_saved=True`.
2. szagoruyko/pytorchviz test/test.py (at 1b49e9d39dfdce781fc7856928fc59400d57efd5): `test_mlp_make_dot`,
   `test_double_backprop_make_dot` and `test_lstm_make_dot` (an `nn.LSTMCell(128, 128)`'s output pair drawn).
3. The line most scripts write after it (e.g. a GAN generator's `make_dot(y.mean(),
   params=dict(model.named_parameters())).render("gan_torchviz", format="png")`, found in the index): the
   drawing rendered to a PNG file, here with graphviz-pure when the machine has no Graphviz.

Every source was found in the index: none was written from memory. The checks say what the drawing must hold,
worked out from the computation drawn (which ops, in which order, which parameters feed which op), never
from the library's own output.

Met and left as documented in docs/pytorch.md:

  - `test_double_backprop_make_dot` takes `torch.autograd.grad(y, x, create_graph=True)`: gradients are not
    recorded here, so it raises `NotImplementedError` before anything is drawn (the test pins that).
  - torchviz draws PyTorch's backward nodes (`TanhBackward0`, `AddmmBackward0`) and with `show_saved` what
    they keep; here the nodes are the ops (`tanh`, `linear`), and tiny tensors show their values instead.
"""

import re

import numpy as np
import pytest

import microgradseq as torch
from microgradseq import nn
from microgradseq.viz import make_dot

NODE = re.compile(r"^\t(\w+) \[label=<<B>([^<]*)</B>", re.M)
EDGE = re.compile(r"^\t(\w+) -> (\w+)", re.M)


def nodes_and_edges(dot):
    """{node id: bold name} and the list of (from, to) edges of a drawing's DOT text."""
    return dict(NODE.findall(dot.source)), EDGE.findall(dot.source)


def make_mlp_and_input():
    model = nn.Sequential()
    model.add_module('W0', nn.Linear(8, 16))
    model.add_module('tanh', nn.Tanh())
    model.add_module('W1', nn.Linear(16, 1))
    x = torch.randn(1, 8)
    return model, x


def test_the_readme_example_draws_each_parameter_once_feeding_the_op_that_uses_it():
    """README: y = W1(tanh(W0(x))), drawn from y.mean(): the four parameters by their dotted names, each once,
    and the chain linear -> tanh -> linear -> mean, W0's parameters feeding the first linear, W1's the second."""
    model = nn.Sequential()
    model.add_module('W0', nn.Linear(8, 16))
    model.add_module('tanh', nn.Tanh())
    model.add_module('W1', nn.Linear(16, 1))

    x = torch.randn(1, 8)
    y = model(x)

    dot = make_dot(y.mean(), params=dict(model.named_parameters()))
    names, edges = nodes_and_edges(dot)
    ids = {name: node for node, name in names.items()}
    assert sorted(names.values()) == sorted(["W0.weight", "W0.bias", "W1.weight", "W1.bias",
                                             "linear", "tanh", "linear", "mean"])
    first, second = [node for node, name in names.items() if name == "linear"]
    op_edges = [(a, b) for a, b in edges if names.get(a) in ("linear", "tanh", "mean")]
    assert sorted(op_edges) == sorted([(first, ids["tanh"]), (ids["tanh"], second), (second, ids["mean"])])
    for parameter, op in (("W0.weight", first), ("W0.bias", first), ("W1.weight", second), ("W1.bias", second)):
        assert [b for a, b in edges if a == ids[parameter]] == [op]


def test_the_readme_s_second_example_takes_show_attrs_and_show_saved():
    """README: the same call with show_attrs=True, show_saved=True draws the same graph."""
    model, x = make_mlp_and_input()
    y = model(x)
    plain = make_dot(y.mean(), params=dict(model.named_parameters()))
    shown = make_dot(y.mean(), params=dict(model.named_parameters()), show_attrs=True, show_saved=True)
    assert nodes_and_edges(shown) == nodes_and_edges(plain)


def test_torchviz_s_own_tests_mlp_and_lstm_cell_draw():
    """test/test.py: test_mlp_make_dot, and test_lstm_make_dot drawing the (h, c) pair an LSTMCell returns:
    c' = f * c + i * g and h' = o * tanh(c') over one sigmoid for the i, f, o gates and one tanh for g."""
    model, x = make_mlp_and_input()
    y = model(x)
    dot = make_dot(y.mean(), params=dict(model.named_parameters()))
    assert "mean" in nodes_and_edges(dot)[0].values()

    lstm_cell = nn.LSTMCell(128, 128)
    x = torch.randn(1, 128)
    dot = make_dot(lstm_cell(x), params=dict(list(lstm_cell.named_parameters())))
    names = list(nodes_and_edges(dot)[0].values())
    for parameter in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        assert names.count(parameter) == 1
    assert names.count("sigmoid") == 1 and names.count("tanh") == 2           # g, and tanh(c')


def test_torchviz_s_double_backprop_test_stops_at_create_graph():
    """test/test.py, test_double_backprop_make_dot: create_graph=True is not supported here (docs/pytorch.md):
    a NotImplementedError naming create_graph, before anything is drawn."""
    model, x = make_mlp_and_input()
    x.requires_grad = True

    def double_backprop(inputs, net):
        y = net(x).mean()
        grad, = torch.autograd.grad(y, x, create_graph=True, retain_graph=True)
        return grad.pow(2).mean() + y

    with pytest.raises(NotImplementedError, match="create_graph"):
        make_dot(double_backprop(x, model), params=dict(list(model.named_parameters()) + [('x', x)]))


def test_a_drawing_renders_to_png_as_scripts_write_it(tmp_path, monkeypatch):
    """`make_dot(...).render("gan_torchviz", format="png")`: the graphviz package writes the DOT file and
    gan_torchviz.png beside it, a PNG file (its 8-byte signature, from the PNG specification)."""
    monkeypatch.chdir(tmp_path)
    model, x = make_mlp_and_input()
    y = model(x)
    written = make_dot(y.mean(), params=dict(model.named_parameters())).render("gan_torchviz", format="png")
    assert written == "gan_torchviz.png"
    assert (tmp_path / "gan_torchviz.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unrolled_rnn_draws_its_shared_weights_once_with_an_edge_to_every_step():
    """Three steps of an RNNCell: weight_hh is drawn once and feeds three ops, one a step; the three tanh
    states follow one another."""
    cell = nn.RNNCell(2, 3)
    h = torch.zeros(1, 3)
    xs = torch.tensor(np.random.default_rng(0).normal(size=(3, 1, 2)), dtype=torch.float32)
    for t in range(3):
        h = cell(xs[t], h)
    names, edges = nodes_and_edges(make_dot(h.sum(), params=dict(cell.named_parameters())))
    ids = {name: node for node, name in names.items() if name in ("weight_ih", "weight_hh")}
    assert list(names.values()).count("weight_hh") == 1 and list(names.values()).count("weight_ih") == 1
    assert len([b for a, b in edges if a == ids["weight_hh"]]) == 3
    assert len([b for a, b in edges if a == ids["weight_ih"]]) == 3
    assert list(names.values()).count("tanh") == 3


def test_make_dot_checks_its_arguments_naming_itself():
    """Bad input names make_dot: a flag that is not a bool, a max_attr_chars that is not an integer, and
    something that is not a tensor with history."""
    model, x = make_mlp_and_input()
    y = model(x).mean()
    with pytest.raises(ValueError, match="make_dot: show_attrs must be True or False"):
        make_dot(y, show_attrs="yes")
    with pytest.raises(ValueError, match="make_dot: show_saved must be True or False"):
        make_dot(y, show_saved=1)
    with pytest.raises(TypeError, match="make_dot: max_attr_chars must be an integer"):
        make_dot(y, max_attr_chars=5.5)
    with pytest.raises(ValueError, match="make_dot: expected a tensor with history"):
        make_dot(x * 2)
    with pytest.raises(TypeError, match="make_dot: expected a tensor with history"):
        make_dot(3.0)
