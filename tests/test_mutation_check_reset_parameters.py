"""Tests written from a mutation check of `reset_parameters()` across microgradseq.nn (Linear, Bilinear,
LazyLinear, Embedding, EmbeddingBag, the recurrent layers and cells, Conv1d/2d, the norms, PReLU,
AdaptiveLogSoftmaxWithLoss, Transformer._reset_parameters, module.empty_parameter) and `mg.compile`: each
pins a behaviour that a hand-made wrong implementation changed without any other test noticing. Expected
values come from PyTorch's definitions (torch/nn/modules/*.py: each module's reset_parameters, and the
constructors' `Parameter(torch.empty(...), requires_grad=not _freeze)`), written in numpy with the generator
the module documents (its `rng`, else `np.random.default_rng(s)` after `mg.manual_seed(s)`), never taken from
the library's own output."""

import math

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn

F64 = np.float64


def rng(seed):
    return np.random.default_rng(seed)


# ---- a frozen table made without a weight: PyTorch's Parameter(torch.empty(...), requires_grad=not _freeze) ----

@pytest.mark.parametrize("kind", [nn.Embedding, nn.EmbeddingBag])
def test_a_table_made_frozen_without_a_weight_draws_n01_and_stays_frozen_after_reset(kind):
    table = kind(5, 3, padding_idx=0, _freeze=True, rng=rng(1), dtype=F64)
    numpy_rng = rng(1)
    expected = numpy_rng.standard_normal((5, 3))
    expected[0] = 0
    assert not table.weight.requires_grad
    np.testing.assert_array_equal(table.weight.data, expected)
    weight = table.weight
    table.reset_parameters()
    expected = numpy_rng.standard_normal((5, 3))
    expected[0] = 0
    assert table.weight is weight and not weight.requires_grad
    np.testing.assert_array_equal(weight.data, expected)


def test_an_unfrozen_table_made_without_a_weight_is_trainable():
    table = nn.Embedding(4, 2, rng=rng(2), dtype=F64)
    assert table.weight.requires_grad and table.weight.is_leaf


# ---- the rng is checked at construction, by the module that takes it ----------------------------------------

@pytest.mark.parametrize("name, make", [
    ("Linear", lambda r: nn.Linear(3, 2, rng=r)),
    ("LazyLinear", lambda r: nn.LazyLinear(2, rng=r)),
    ("Bilinear", lambda r: nn.Bilinear(2, 3, 4, rng=r)),
    ("Embedding", lambda r: nn.Embedding(4, 2, rng=r)),
    ("EmbeddingBag", lambda r: nn.EmbeddingBag(4, 2, rng=r)),
    ("RNN", lambda r: nn.RNN(2, 3, rng=r)),
    ("LSTM", lambda r: nn.LSTM(2, 3, rng=r)),
    ("GRU", lambda r: nn.GRU(2, 3, rng=r)),
    ("RNNCell", lambda r: nn.RNNCell(2, 3, rng=r)),
    ("LSTMCell", lambda r: nn.LSTMCell(2, 3, rng=r)),
    ("GRUCell", lambda r: nn.GRUCell(2, 3, rng=r)),
    ("Conv1d", lambda r: nn.Conv1d(2, 3, 2, rng=r)),
    ("Conv2d", lambda r: nn.Conv2d(2, 3, 2, rng=r)),
    ("AdaptiveLogSoftmaxWithLoss", lambda r: nn.AdaptiveLogSoftmaxWithLoss(8, 6, [2], rng=r)),
])
def test_a_module_given_an_rng_that_is_not_numpys_refuses_it_by_its_own_name(name, make):
    for bad in ("seed", 7):
        with pytest.raises(TypeError, match=rf"^{name}: rng must be a numpy.random.Generator"):
            make(bad)


# ---- _NormBase.reset_parameters: reset_running_stats() whatever the mode ------------------------------------

@pytest.mark.parametrize("make", [
    lambda: nn.BatchNorm1d(3, dtype=F64),
    lambda: nn.InstanceNorm1d(3, affine=True, track_running_stats=True, dtype=F64),
])
def test_a_norm_layer_in_eval_mode_resets_its_running_statistics_too(make):
    layer = make()
    layer(mg.tensor(rng(3).standard_normal((4, 3, 5)) * 3 + 1))
    layer.eval()
    mg.nn.init.constant_(layer.weight, 2.0)
    layer.reset_parameters()           # PyTorch's: self.reset_running_stats() unconditionally, then ones_/zeros_
    np.testing.assert_array_equal(layer.running_mean.data, np.zeros(3))
    np.testing.assert_array_equal(layer.running_var.data, np.ones(3))
    assert int(layer.num_batches_tracked) == 0
    np.testing.assert_array_equal(layer.weight.data, np.ones(3))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(3))
    assert not layer.training


# ---- LazyLinear: its first call gives in_features, then draws as a Linear ------------------------------------

def test_lazy_linear_knows_its_in_features_after_its_first_call():
    # PyTorch's LazyLinear.initialize_parameters: in_features = input.shape[-1], then reset_parameters()
    layer = nn.LazyLinear(3, rng=rng(8), dtype=F64)
    layer(mg.tensor(np.ones((2, 5))))
    assert layer.in_features == 5 and layer.weight.shape == (3, 5)
    layer.reset_parameters()
    numpy_rng = rng(8)
    bound = 1 / math.sqrt(5)
    numpy_rng.uniform(-bound, bound, (3, 5))                  # the first call's draws, passed over
    numpy_rng.uniform(-bound, bound, 3)
    np.testing.assert_array_equal(layer.weight.data, numpy_rng.uniform(-bound, bound, (3, 5)))
    np.testing.assert_array_equal(layer.bias.data, numpy_rng.uniform(-bound, bound, 3))


# ---- mg.compile: torch.compile run eagerly gives back the very object, function or module -------------------

def test_compile_gives_back_a_function_itself_in_both_forms():
    def square(x):
        return x * x

    assert mg.compile(square) is square
    assert mg.compile(mode="reduce-overhead")(square) is square
    assert mg.compile(square, backend="eager", dynamic=False, options={"a": 1}) is square


def test_compile_with_disable_or_as_an_empty_decorator_gives_back_the_module():
    model = nn.Linear(2, 2, rng=rng(4))
    assert mg.compile(model, disable=True) is model          # PyTorch's disable=True: the model itself
    assert mg.compile()(model) is model
    assert mg.compile(fullgraph=True)(model) is model


def test_compile_as_a_decorator_still_refuses_what_is_not_callable():
    with pytest.raises(TypeError, match=r"compile: expected a module or a function, got int"):
        mg.compile(mode="max-autotune")(3)


# ---- a float32 module keeps float32 parameters when reset (PyTorch's in-place init_ keeps the dtype) ----------

def test_float32_embedding_recurrent_and_convolution_layers_reset_to_float32_draws():
    table = nn.Embedding(4, 3, padding_idx=1, rng=rng(5), dtype=np.float32)
    lstm = nn.LSTM(2, 3, rng=rng(6), dtype=np.float32)
    conv = nn.Conv1d(2, 4, 3, rng=rng(7), dtype=np.float32)
    draws = {name: rng(seed) for name, seed in (("table", 5), ("lstm", 6), ("conv", 7))}
    draws["table"].standard_normal((4, 3))                     # the constructors' draws, passed over
    for shape in ((12, 2), (12, 3), (12,), (12,)):
        draws["lstm"].uniform(-1 / math.sqrt(3), 1 / math.sqrt(3), shape)
    draws["conv"].uniform(-1 / math.sqrt(6), 1 / math.sqrt(6), (4, 2, 3))
    draws["conv"].uniform(-1 / math.sqrt(6), 1 / math.sqrt(6), 4)
    for module in (table, lstm, conv):
        module.reset_parameters()
        assert all(p.dtype == np.float32 for p in module.parameters())
    expected = draws["table"].standard_normal((4, 3)).astype(np.float32)
    expected[1] = 0
    np.testing.assert_array_equal(table.weight.data, expected)
    bound = 1 / math.sqrt(3)                                   # RNNBase: uniform(-1/sqrt(H), 1/sqrt(H))
    for parameter, shape in zip(lstm.parameters(), ((12, 2), (12, 3), (12,), (12,))):
        np.testing.assert_array_equal(parameter.data, draws["lstm"].uniform(-bound, bound, shape).astype(np.float32))
    bound = 1 / math.sqrt(6)                                   # kaiming_uniform_(a=sqrt(5)) on fan_in 2 * 3
    np.testing.assert_allclose(conv.weight.data, draws["conv"].uniform(-bound, bound, (4, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(conv.bias.data, draws["conv"].uniform(-bound, bound, 4), rtol=1e-6)


# ---- Transformer._reset_parameters: every matrix of every layer, custom stacks included ---------------------

def test_transformer_private_reset_redraws_every_layer_of_a_deep_stack():
    mg.manual_seed(9)
    model = nn.Transformer(8, 2, 2, 2, 16, dtype=F64)
    for parameter in model.parameters():
        mg.nn.init.constant_(parameter, 5.0)
    model._reset_parameters()
    for name, parameter in model.named_parameters():
        value = np.array(parameter.data)
        if parameter.ndim > 1:      # xavier_uniform_: bound sqrt(6 / (fan_in + fan_out)), none left at 5
            assert np.abs(value).max() <= math.sqrt(6 / sum(parameter.shape[:2])), name
        else:
            np.testing.assert_array_equal(value, np.full(parameter.shape, 5.0))
    first, second = model.encoder.layers[0].linear1.weight.data, model.encoder.layers[1].linear1.weight.data
    assert not np.array_equal(first, second)


def test_transformer_with_a_custom_encoder_draws_its_matrices_again_at_construction():
    mg.manual_seed(10)
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dtype=F64), 1)
    for parameter in encoder.parameters():
        mg.nn.init.constant_(parameter, 5.0)
    model = nn.Transformer(8, 2, num_decoder_layers=1, dim_feedforward=16, custom_encoder=encoder, dtype=F64)
    assert model.encoder is encoder         # PyTorch's __init__ calls _reset_parameters() whatever the stacks
    for parameter in encoder.parameters():
        value = np.array(parameter.data)
        if parameter.ndim > 1:
            assert np.abs(value).max() <= math.sqrt(6 / sum(parameter.shape[:2]))
        else:
            np.testing.assert_array_equal(value, np.full(parameter.shape, 5.0))


# ---- empty_parameter: dtype None is the default dtype at construction time ----------------------------------

@pytest.mark.parametrize("make", [
    lambda: nn.Linear(3, 2), lambda: nn.Bilinear(2, 2, 2), lambda: nn.Embedding(4, 2), lambda: nn.EmbeddingBag(4, 2),
    lambda: nn.GRU(2, 3), lambda: nn.LSTMCell(2, 3), lambda: nn.Conv1d(2, 2, 2), lambda: nn.PReLU(),
])
def test_modules_made_without_a_dtype_take_the_default_dtype_set_before(make):
    before = mg.get_default_dtype()
    mg.set_default_dtype(np.float64)
    try:
        module = make()
        module.reset_parameters()
    finally:
        mg.set_default_dtype(before)
    assert all(parameter.dtype == np.float64 for parameter in module.parameters())
