"""`reset_parameters()` (and `reset_running_stats()`) of every module that has them in PyTorch
(torch/nn/modules/linear.py, sparse.py, rnn.py, conv.py, normalization.py, batchnorm.py, activation.py,
adaptive.py; MultiheadAttention's and Transformer's private `_reset_parameters`): the parameters drawn again as
the constructor draws them, into the same Parameter objects, so an optimizer made before still trains them and
a script's `for layer in model.children(): if hasattr(layer, "reset_parameters"): layer.reset_parameters()`
re-initialises a model between folds. Expected draws come from numpy's generator called as each constructor
documents (a module given rng= draws from it, at construction and at each reset; without one, from the
generator `mg.manual_seed(s)` sets, np.random.default_rng(s)); ranges and moments are PyTorch's closed forms."""

import math

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn

F64 = np.float64
LR = 0.1


def rng(seed):
    return np.random.default_rng(seed)


def arrays(module):
    """Copies of the module's parameter arrays, in parameters() order."""
    return [np.array(p.data) for p in module.parameters()]


def uniforms(numpy_rng, bound, *shapes):
    return [numpy_rng.uniform(-bound, bound, shape) for shape in shapes]


def assert_values(module, expected):
    got = arrays(module)
    assert len(got) == len(expected)
    for value, want in zip(got, expected):
        assert value.shape == np.shape(want)
        np.testing.assert_array_equal(value, want)


def x(*shape, seed=0):
    return mg.tensor(rng(seed).standard_normal(shape))


def weighted_sum(out):
    """sum(out * C) with C fixed random weights: every parameter (biases too) gets a nonzero gradient."""
    out = out[0] if isinstance(out, tuple) else out
    return (out * mg.tensor(rng(99).standard_normal(out.shape))).sum()


# (make, loss): each module made with float64 parameters and its own generator where it takes one
MODULES = {
    "Linear": (lambda: nn.Linear(4, 3, rng=rng(1), dtype=F64), lambda m: weighted_sum(m(x(2, 4)))),
    "Bilinear": (lambda: nn.Bilinear(3, 4, 2, rng=rng(1), dtype=F64),
                 lambda m: weighted_sum(m(x(2, 3), x(2, 4, seed=1)))),
    "Embedding": (lambda: nn.Embedding(6, 3, padding_idx=2, rng=rng(1), dtype=F64),
                  lambda m: weighted_sum(m(np.array([0, 1, 2, 3, 4, 5])))),
    "EmbeddingBag": (lambda: nn.EmbeddingBag(6, 3, mode="sum", padding_idx=-1, rng=rng(1), dtype=F64),
                     lambda m: weighted_sum(m(np.array([[0, 1, 5], [2, 3, 4]])))),
    "RNN": (lambda: nn.RNN(3, 4, num_layers=2, rng=rng(1), dtype=F64), lambda m: weighted_sum(m(x(5, 2, 3)))),
    "LSTM": (lambda: nn.LSTM(3, 4, bidirectional=True, rng=rng(1), dtype=F64),
             lambda m: weighted_sum(m(x(5, 2, 3)))),
    "GRU": (lambda: nn.GRU(3, 4, rng=rng(1), dtype=F64, fused=True), lambda m: weighted_sum(m(x(5, 2, 3)))),
    "RNNCell": (lambda: nn.RNNCell(3, 4, rng=rng(1), dtype=F64), lambda m: weighted_sum(m(x(2, 3), x(2, 4)))),
    "LSTMCell": (lambda: nn.LSTMCell(3, 4, rng=rng(1), dtype=F64, fused=True),
                 lambda m: weighted_sum(m(x(2, 3), (x(2, 4), x(2, 4, seed=1))))),
    "GRUCell": (lambda: nn.GRUCell(3, 4, rng=rng(1), dtype=F64), lambda m: weighted_sum(m(x(2, 3), x(2, 4)))),
    "Conv1d": (lambda: nn.Conv1d(4, 6, 3, groups=2, rng=rng(1), dtype=F64),
               lambda m: weighted_sum(m(x(2, 4, 7)))),
    "Conv2d": (lambda: nn.Conv2d(2, 3, (2, 3), rng=rng(1), dtype=F64), lambda m: weighted_sum(m(x(1, 2, 5, 6)))),
    "LayerNorm": (lambda: nn.LayerNorm((2, 3), dtype=F64), lambda m: weighted_sum(m(x(4, 2, 3)))),
    "RMSNorm": (lambda: nn.RMSNorm(3, dtype=F64), lambda m: weighted_sum(m(x(4, 3)))),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4, dtype=F64), lambda m: weighted_sum(m(x(3, 4, 5)))),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3, dtype=F64), lambda m: weighted_sum(m(x(6, 3)))),
    "InstanceNorm1d": (lambda: nn.InstanceNorm1d(3, affine=True, track_running_stats=True, dtype=F64),
                       lambda m: weighted_sum(m(x(2, 3, 5)))),
    "PReLU": (lambda: nn.PReLU(3, dtype=F64), lambda m: weighted_sum(m(x(4, 3)))),
    "AdaptiveLogSoftmaxWithLoss": (
        lambda: nn.AdaptiveLogSoftmaxWithLoss(16, 10, [3, 6], head_bias=True, rng=rng(1), dtype=F64),
        lambda m: m(x(8, 16), np.array([0, 4, 7, 9, 1, 5, 8, 2])).loss),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_reset_gives_new_values_to_the_same_parameters_and_an_earlier_optimizer_still_trains_them(name):
    make, loss = MODULES[name]
    module = make()
    parameters = list(module.parameters())
    optimizer = mg.optim.SGD(parameters, lr=LR)
    loss(module).backward()
    optimizer.step()                # training moves every parameter
    optimizer.zero_grad()
    trained = arrays(module)
    module.reset_parameters()
    assert all(now is before for now, before in zip(module.parameters(), parameters))
    assert len(list(module.parameters())) == len(parameters)
    for value, before in zip(arrays(module), trained):
        assert not np.array_equal(value, before)
    reset = arrays(module)
    loss(module).backward()
    optimizer.step()
    for parameter, value in zip(parameters, reset):
        np.testing.assert_allclose(parameter.data, value - LR * parameter.grad, rtol=1e-14, atol=1e-15)
        assert not np.array_equal(parameter.data, value)


def test_linear_draws_from_its_rng_at_construction_and_at_each_reset():
    layer = nn.Linear(5, 3, rng=rng(4), dtype=F64)
    numpy_rng, bound = rng(4), 1 / math.sqrt(5)
    assert_values(layer, uniforms(numpy_rng, bound, (3, 5), (3,)))
    layer.reset_parameters()
    assert_values(layer, uniforms(numpy_rng, bound, (3, 5), (3,)))
    layer.reset_parameters()
    assert_values(layer, uniforms(numpy_rng, bound, (3, 5), (3,)))


def test_without_rng_construction_and_reset_draw_from_the_library_generator():
    mg.manual_seed(9)
    layer = nn.Linear(4, 2, bias=False, dtype=F64)
    assert_values(layer, uniforms(rng(9), 1 / 2, (2, 4)))
    mg.manual_seed(10)
    layer.reset_parameters()
    assert_values(layer, uniforms(rng(10), 1 / 2, (2, 4)))


def test_a_float32_linear_stays_float32_and_draws_as_numpy_cast():
    layer = nn.Linear(3, 2, rng=rng(2), dtype=np.float32)
    numpy_rng, bound = rng(2), 1 / math.sqrt(3)
    uniforms(numpy_rng, bound, (2, 3), (2,))
    layer.reset_parameters()
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert_values(layer, [a.astype(np.float32) for a in uniforms(numpy_rng, bound, (2, 3), (2,))])


def test_bilinear_draws_weight_then_bias_from_uniform_of_in1():
    layer = nn.Bilinear(3, 5, 2, rng=rng(3), dtype=F64)
    numpy_rng, bound = rng(3), 1 / math.sqrt(3)
    assert_values(layer, uniforms(numpy_rng, bound, (2, 3, 5), (2,)))
    layer.reset_parameters()
    assert_values(layer, uniforms(numpy_rng, bound, (2, 3, 5), (2,)))


def test_lazy_linear_resets_nothing_before_its_first_call_then_draws_as_a_linear():
    layer = nn.LazyLinear(3, rng=rng(5), dtype=F64)
    layer.reset_parameters()                            # as PyTorch's: nothing to draw yet
    assert isinstance(layer.weight, mg.nn.UninitializedParameter)
    weight = layer.weight
    layer(x(2, 4))
    assert type(layer) is nn.Linear and layer.weight is weight
    numpy_rng, bound = rng(5), 1 / 2
    assert_values(layer, uniforms(numpy_rng, bound, (3, 4), (3,)))
    layer.reset_parameters()
    assert_values(layer, uniforms(numpy_rng, bound, (3, 4), (3,)))


@pytest.mark.parametrize("kind", [nn.Embedding, nn.EmbeddingBag])
def test_embeddings_draw_standard_normal_rows_and_zero_the_padding_row_again(kind):
    table = kind(5, 3, padding_idx=-2, rng=rng(6), dtype=F64)
    numpy_rng = rng(6)
    expected = numpy_rng.standard_normal((5, 3))
    expected[3] = 0
    assert_values(table, [expected])
    mg.nn.init.constant_(table.weight, 7.0)             # the padding row too
    table.reset_parameters()
    expected = numpy_rng.standard_normal((5, 3))
    expected[3] = 0
    assert_values(table, [expected])


@pytest.mark.parametrize("kind", [nn.Embedding, nn.EmbeddingBag])
def test_embedding_weight_moments_are_those_of_n01(kind):
    table = kind(400, 250, padding_idx=0, rng=rng(7), dtype=F64)
    table.reset_parameters()
    rows = np.array(table.weight.data)
    assert np.array_equal(rows[0], np.zeros(250))
    values = rows[1:].ravel()                           # 99,750 draws: 5 standard errors
    assert abs(values.mean()) < 5 / math.sqrt(values.size)
    assert abs(values.var() - 1) < 5 * math.sqrt(2 / values.size)


def test_a_frozen_embedding_from_pretrained_draws_n01_when_reset():
    table = nn.Embedding.from_pretrained(np.full((3, 2), 5.0), padding_idx=1)
    weight = table.weight
    mg.manual_seed(8)
    table.reset_parameters()
    expected = rng(8).standard_normal((3, 2))
    expected[1] = 0
    assert table.weight is weight and not weight.requires_grad
    np.testing.assert_array_equal(weight.data, expected)


def recurrent_draws(numpy_rng, input_size, hidden, gates, layers, directions, bias=True):
    """PyTorch's order: layer by layer, each direction's weight_ih, weight_hh, bias_ih, bias_hh."""
    bound, rows, drawn = 1 / math.sqrt(hidden), gates * hidden, []
    for k in range(layers):
        width = input_size if k == 0 else hidden * directions
        for _ in range(directions):
            shapes = [(rows, width), (rows, hidden)] + ([(rows,), (rows,)] if bias else [])
            drawn += uniforms(numpy_rng, bound, *shapes)
    return drawn


@pytest.mark.parametrize("kind, gates", [(nn.RNN, 1), (nn.LSTM, 4), (nn.GRU, 3)])
def test_recurrent_layers_draw_every_parameter_from_uniform_of_hidden_in_pytorchs_order(kind, gates):
    layer = kind(3, 4, num_layers=2, bidirectional=True, rng=rng(10), dtype=F64)
    numpy_rng = rng(10)
    assert_values(layer, recurrent_draws(numpy_rng, 3, 4, gates, 2, 2))
    layer.reset_parameters()
    assert_values(layer, recurrent_draws(numpy_rng, 3, 4, gates, 2, 2))


def test_a_recurrent_layer_without_bias_draws_only_its_weights():
    layer = nn.GRU(2, 3, bias=False, rng=rng(11), dtype=F64)
    numpy_rng = rng(11)
    recurrent_draws(numpy_rng, 2, 3, 3, 1, 1, bias=False)
    layer.reset_parameters()
    assert_values(layer, recurrent_draws(numpy_rng, 2, 3, 3, 1, 1, bias=False))


@pytest.mark.parametrize("kind, gates", [(nn.RNNCell, 1), (nn.LSTMCell, 4), (nn.GRUCell, 3)])
def test_cells_draw_weight_ih_weight_hh_bias_ih_bias_hh_from_uniform_of_hidden(kind, gates):
    cell = kind(3, 5, rng=rng(12), dtype=F64)
    numpy_rng = rng(12)
    assert_values(cell, recurrent_draws(numpy_rng, 3, 5, gates, 1, 1))
    cell.reset_parameters()
    assert_values(cell, recurrent_draws(numpy_rng, 3, 5, gates, 1, 1))


def test_recurrent_weights_lie_within_the_bound_with_uniform_moments():
    layer = nn.LSTM(64, 64, num_layers=2, rng=rng(13), dtype=F64)
    layer.reset_parameters()
    values, bound = np.concatenate([a.ravel() for a in arrays(layer)]), 1 / 8
    assert np.abs(values).max() <= bound
    assert abs(values.mean()) < 5 * bound / math.sqrt(3 * values.size)
    assert abs(values.var() / (bound ** 2 / 3) - 1) < 0.02


def test_a_fused_cell_steps_with_the_reset_weights():
    cell = nn.LSTMCell(2, 3, rng=rng(14), dtype=F64, fused=True)
    cell(x(1, 2))                                       # lays out the weights it was made with
    cell.reset_parameters()
    plain = nn.LSTMCell(2, 3, dtype=F64)
    plain.load_state_dict(cell.state_dict())
    for fused, unfused in zip(cell(x(1, 2)), plain(x(1, 2))):
        np.testing.assert_allclose(fused.data, unfused.data, rtol=1e-13)


def kaiming_a_sqrt5_bound(fan_in):
    """kaiming_uniform_(a=sqrt(5)): sqrt(3) * gain / sqrt(fan_in), gain = sqrt(2 / (1 + a^2))."""
    return math.sqrt(3) * math.sqrt(2 / (1 + 5)) / math.sqrt(fan_in)


@pytest.mark.parametrize("make, weight_shape", [
    (lambda r: nn.Conv1d(4, 6, 3, groups=2, rng=r, dtype=F64), (6, 2, 3)),
    (lambda r: nn.Conv2d(2, 3, (2, 3), rng=r, dtype=F64), (3, 2, 2, 3)),
])
def test_convolutions_draw_kaiming_weights_then_uniform_biases_from_their_rng(make, weight_shape):
    layer, numpy_rng = make(rng(15)), rng(15)
    fan_in = math.prod(weight_shape[1:])
    weight_bound, bias_bound = kaiming_a_sqrt5_bound(fan_in), 1 / math.sqrt(fan_in)
    for _ in range(3):                                  # construction, then two resets
        weight, bias = arrays(layer)
        np.testing.assert_allclose(weight, numpy_rng.uniform(-weight_bound, weight_bound, weight_shape), rtol=1e-13)
        np.testing.assert_allclose(bias, numpy_rng.uniform(-bias_bound, bias_bound, weight_shape[0]), rtol=1e-13)
        layer.reset_parameters()


def test_a_wide_convolution_weight_has_the_moments_of_uniform_of_fan_in():
    layer = nn.Conv2d(8, 64, 3, rng=rng(16), dtype=F64)
    layer.reset_parameters()
    weight, bound = np.array(layer.weight.data).ravel(), 1 / math.sqrt(8 * 9)
    assert np.abs(weight).max() <= bound * (1 + 1e-12)
    assert abs(weight.var() / (bound ** 2 / 3) - 1) < 0.03


@pytest.mark.parametrize("make", [
    lambda: nn.LayerNorm((2, 3), dtype=F64), lambda: nn.LayerNorm(3, bias=False, dtype=F64),
    lambda: nn.LayerNorm(3, elementwise_affine=False), lambda: nn.RMSNorm((2, 3), dtype=F64),
    lambda: nn.GroupNorm(2, 4, dtype=F64), lambda: nn.GroupNorm(2, 4, affine=False),
    lambda: nn.BatchNorm1d(3, bias=False, dtype=F64), lambda: nn.InstanceNorm2d(3, affine=True),
])
def test_normalisation_layers_reset_weight_to_ones_and_bias_to_zeros(make):
    layer = make()
    parameters = dict(layer.named_parameters())
    for parameter in parameters.values():
        mg.nn.init.uniform_(parameter, 2.0, 3.0)
    layer.reset_parameters()
    assert dict(layer.named_parameters()) == parameters
    for name, parameter in parameters.items():
        assert parameter is getattr(layer, name)
        np.testing.assert_array_equal(parameter.data, np.full(parameter.shape, 1.0 if name == "weight" else 0.0))


@pytest.mark.parametrize("layer", [nn.BatchNorm1d(3, dtype=F64),
                                   nn.InstanceNorm1d(3, affine=True, track_running_stats=True, dtype=F64)])
def test_batch_and_instance_norm_reset_their_running_statistics_with_their_parameters(layer):
    buffers = dict(layer.named_buffers())
    layer(x(4, 3, 5) * 3 + 1)
    assert not np.array_equal(layer.running_mean.data, np.zeros(3))
    layer.reset_parameters()
    assert dict(layer.named_buffers()) == buffers and all(b is getattr(layer, n) for n, b in buffers.items())
    np.testing.assert_array_equal(layer.running_mean.data, np.zeros(3))
    np.testing.assert_array_equal(layer.running_var.data, np.ones(3))
    assert int(layer.num_batches_tracked) == 0
    layer(x(4, 3, 5))
    layer.reset_running_stats()
    np.testing.assert_array_equal(layer.running_var.data, np.ones(3))


def test_lazy_batch_norm_resets_nothing_before_its_size_is_known():
    layer = nn.LazyBatchNorm1d(dtype=F64)
    layer.reset_parameters()
    assert isinstance(layer.weight, mg.nn.UninitializedParameter)
    layer(x(4, 3))
    assert type(layer) is nn.BatchNorm1d
    mg.nn.init.constant_(layer.weight, 2.0)
    layer.reset_parameters()
    np.testing.assert_array_equal(layer.weight.data, np.ones(3))


def test_prelu_reset_puts_every_slope_back_to_init():
    layer = nn.PReLU(4, init=0.1, dtype=F64)
    weight = layer.weight
    mg.nn.init.uniform_(weight, -1, 1)
    layer.reset_parameters()
    assert layer.weight is weight
    np.testing.assert_array_equal(weight.data, np.full(4, 0.1))


def test_adaptive_softmax_resets_its_head_then_each_clusters_projections_from_its_rng():
    module = nn.AdaptiveLogSoftmaxWithLoss(16, 10, [3, 6], head_bias=True, rng=rng(17), dtype=F64)
    numpy_rng = rng(17)

    def draws():     # head Linear(16, 3 + 2) with bias; tails Linear(16, 4) -> (4, 3), Linear(16, 1) -> (1, 4)
        return (uniforms(numpy_rng, 1 / 4, (5, 16), (5,)) + uniforms(numpy_rng, 1 / 4, (4, 16))
                + uniforms(numpy_rng, 1 / 2, (3, 4)) + uniforms(numpy_rng, 1 / 4, (1, 16))
                + uniforms(numpy_rng, 1, (4, 1)))
    assert_values(module, draws())
    module.reset_parameters()
    assert_values(module, draws())


def test_multihead_attention_resets_by_pytorchs_private_reset_parameters():
    attention = nn.MultiheadAttention(32, 4, add_bias_kv=True, dtype=F64)
    parameters = dict(attention.named_parameters())
    for parameter in parameters.values():
        mg.nn.init.constant_(parameter, 5.0)
    mg.nn.init.uniform_(attention.out_proj.weight, -0.1, 0.1)
    out_weight = np.array(attention.out_proj.weight.data)
    attention._reset_parameters()
    assert dict(attention.named_parameters()) == parameters
    assert all(p is q for p, q in zip(attention.parameters(), parameters.values()))
    in_proj, bound = np.array(attention.in_proj_weight.data), math.sqrt(6 / (32 + 96))   # xavier_uniform_
    assert np.abs(in_proj).max() <= bound and abs(in_proj.var() / (bound ** 2 / 3) - 1) < 0.05
    np.testing.assert_array_equal(attention.in_proj_bias.data, np.zeros(96))
    np.testing.assert_array_equal(attention.out_proj.bias.data, np.zeros(32))
    np.testing.assert_array_equal(attention.out_proj.weight.data, out_weight)      # PyTorch leaves it
    for bias in (attention.bias_k, attention.bias_v):                # xavier_normal_, std = sqrt(2 / (E + E))
        assert bias.shape == (1, 1, 32) and not np.any(np.array(bias.data) == 5.0)
    assert not hasattr(attention, "reset_parameters")               # as PyTorch's: only the private name


def test_transformer_private_reset_redraws_the_matrices_and_keeps_the_vectors():
    model = nn.Transformer(8, 2, 1, 1, 16, dtype=F64)
    parameters = list(model.parameters())
    for parameter in parameters:
        mg.nn.init.constant_(parameter, 5.0)
    model._reset_parameters()
    assert all(p is q for p, q in zip(model.parameters(), parameters))
    for parameter in parameters:
        value = np.array(parameter.data)
        if parameter.ndim > 1:      # xavier_uniform_: bound sqrt(6 / (fan_in + fan_out))
            assert np.abs(value).max() <= math.sqrt(6 / sum(parameter.shape[:2])) and not np.any(value == 5.0)
        else:
            np.testing.assert_array_equal(value, np.full(parameter.shape, 5.0))


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(10, 4, padding_idx=0, dtype=F64)
        self.lstm = nn.LSTM(4, 5, batch_first=True, dtype=F64)
        self.norm = nn.LayerNorm(5, dtype=F64)
        self.head = nn.Linear(5, 3, dtype=F64)
        self.activation = nn.ReLU()

    def forward(self, tokens):
        return self.head(self.activation(self.norm(self.lstm(self.embedding(tokens))[0])))


def test_the_hasattr_loop_of_a_cross_validation_script_reinitialises_a_model():
    mg.manual_seed(18)
    model = Tagger()
    optimizer = mg.optim.Adam(model.parameters(), lr=0.5)
    tokens = np.array([[1, 2, 3, 0], [4, 5, 0, 0]])
    loss = weighted_sum(model(tokens))
    loss.backward()
    optimizer.step()
    trained = dict(model.named_parameters())
    trained_values = {name: np.array(p.data) for name, p in trained.items()}
    for layer in model.children():
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    assert dict(model.named_parameters()) == trained
    for name, parameter in model.named_parameters():
        assert parameter is trained[name] and not np.array_equal(parameter.data, trained_values[name])
    np.testing.assert_array_equal(model.norm.weight.data, np.ones(5))
    np.testing.assert_array_equal(model.embedding.weight.data[0], np.zeros(4))
    assert np.abs(np.array(model.lstm.weight_hh_l0.data)).max() <= 1 / math.sqrt(5)
    before = {name: np.array(p.data) for name, p in model.named_parameters()}
    optimizer.zero_grad()
    weighted_sum(model(tokens)).backward()
    optimizer.step()
    assert not np.array_equal(model.head.weight.data, before["head.weight"])


@pytest.mark.parametrize("make", [
    lambda: nn.Embedding(3, 2, _weight=np.zeros((3, 2)), rng="seed"),
    lambda: nn.EmbeddingBag(3, 2, _weight=np.zeros((3, 2)), rng=7),
])
def test_a_generator_that_is_not_numpys_is_refused_even_with_a_given_weight(make):
    with pytest.raises(TypeError, match=r"Embedding(Bag)?: rng must be a numpy.random.Generator .* got (str|int)"):
        make()
