"""PyTorch's nn spellings: functional as a module, containers, activations, losses, dropout,
`dropout=` on the sequence layers, nn.init, unsupported arguments, tied weights, `model.to`.
Each against a closed form or numpy; no PyTorch needed."""

import math
from collections import OrderedDict

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F

RNG = np.random.default_rng(2021)


# ---- microgradseq.nn.functional ---------------------------------------------------------------

def test_nn_functional_is_a_real_module_with_pytorchs_names():
    import importlib
    module = importlib.import_module("microgradseq.nn.functional")
    assert mg.nn.functional is module is F
    for name in ["relu", "tanh", "sigmoid", "dropout", "nll_loss", "cross_entropy", "mse_loss", "softmax",
                 "log_softmax"]:
        assert getattr(F, name) is getattr(mg.functional, name), name


def test_activations_are_numpys():
    x = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(F.relu(x).data, np.maximum(x, 0))
    np.testing.assert_allclose(F.tanh(x).data, np.tanh(x), rtol=1e-12)
    np.testing.assert_allclose(F.sigmoid(x).data, 1 / (1 + np.exp(-x)), rtol=1e-12)


@pytest.mark.parametrize("reduction, reduce", [("mean", np.mean), ("sum", np.sum), ("none", lambda v: v)])
def test_nll_loss_is_minus_the_log_probability_of_each_target(reduction, reduce):
    log_probs = np.log(RNG.dirichlet(np.ones(5), size=4))
    target = np.array([0, 4, 2, 2])
    expected = reduce(-log_probs[np.arange(4), target])
    np.testing.assert_allclose(F.nll_loss(log_probs, target, reduction=reduction).data, expected, rtol=1e-12)


def test_nll_of_log_softmax_is_cross_entropy():
    logits = mg.tensor(RNG.standard_normal((6, 3)), requires_grad=True)
    target = np.array([0, 1, 2, 2, 1, 0])
    np.testing.assert_allclose(F.nll_loss(F.log_softmax(logits, dim=1), target).data,
                               F.cross_entropy(logits, target).data, rtol=1e-12)


def test_nll_loss_gradient_checks():
    log_probs = mg.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    assert mg.gradcheck(lambda lp: F.nll_loss(lp, np.array([2, 0, 1, 1])), [log_probs])


@pytest.mark.parametrize("target, message", [(np.array([0.5, 1.0]), "integer class targets"),
                                             (np.array([0, 3]), r"lie in \[0, 3\)")])
def test_nll_loss_refuses_bad_targets(target, message):
    with pytest.raises(ValueError, match=f"nll_loss: .*{message}"):
        F.nll_loss(np.zeros((2, 3)), target)


# ---- dropout --------------------------------------------------------------------------------------

def test_dropout_zeroes_a_fraction_p_and_scales_the_rest_by_one_over_one_minus_p():
    p, shape = 0.3, (200, 500)
    y = F.dropout(mg.ones(shape), p, rng=np.random.default_rng(0)).data
    zeroed = np.mean(y == 0)
    assert abs(zeroed - p) < 4 * math.sqrt(p * (1 - p) / y.size)
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-6)


def test_dropout_keeps_the_mean():
    x = RNG.standard_normal((400, 250)) + 3
    y = F.dropout(mg.tensor(x), 0.5, rng=np.random.default_rng(1)).data
    # each element's factor has mean 1 and variance p / (1 - p) = 1
    assert abs(y.mean() - x.mean()) < 4 * math.sqrt(np.mean(x ** 2) / x.size)


def test_dropout_mask_comes_from_the_librarys_generator():
    p, shape = 0.4, (5, 7)
    mg.manual_seed(11)
    y = F.dropout(mg.ones(shape, dtype=np.float64), p).data
    keep = np.random.default_rng(11).random(shape) >= p
    np.testing.assert_allclose(y, keep / (1 - p))


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_dropout_outside_training_is_the_identity(p):
    x = mg.tensor(RNG.standard_normal((3, 4)))
    assert F.dropout(x, p, training=False) is x


def test_dropout_with_p_zero_is_the_identity_in_training():
    x = mg.tensor(RNG.standard_normal((3, 4)))
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.0, training=True) is x


def test_dropout_with_p_one_zeroes_everything():
    np.testing.assert_array_equal(F.dropout(mg.ones(3, 4), 1.0).data, np.zeros((3, 4)))


def test_dropout_gradient_is_the_mask_over_one_minus_p():
    """References: the mask drawn here as dropout documents it (keep where rng.random(shape) >= p,
    from a generator seeded alike), and central differences of g . dropout(x) with the generator
    re-seeded before each evaluation (the same mask each time: dropout is linear in x)."""
    p, shape, seed = 0.25, (6, 5), 5
    x0, g = np.random.default_rng(1).standard_normal((2,) + shape)
    x = mg.tensor(x0, requires_grad=True)
    (F.dropout(x, p, rng=np.random.default_rng(seed)) * g).sum().backward()
    keep = np.random.default_rng(seed).random(shape) >= p
    assert 0 < keep.sum() < keep.size
    np.testing.assert_allclose(x.grad, g * keep / (1 - p), rtol=1e-12)

    def loss(values):
        return float(np.sum(g * F.dropout(mg.tensor(values), p, rng=np.random.default_rng(seed)).data))

    eps, numeric = 1e-6, np.zeros(shape)
    for i in np.ndindex(shape):
        step = np.zeros(shape)
        step[i] = eps
        numeric[i] = (loss(x0 + step) - loss(x0 - step)) / (2 * eps)
    np.testing.assert_allclose(x.grad, numeric, rtol=1e-7, atol=1e-9)


def test_dropout_under_the_librarys_seeded_generator_scales_survivors_and_drops_a_fraction_p():
    """mg.manual_seed seeds the mask: survivors are x / (1 - p) exactly where a generator seeded
    alike keeps them, the rest 0, the fraction dropped within 4 standard errors of p; the gradient
    of the sum is that mask over 1 - p."""
    p, shape = 0.25, (300, 400)
    x = mg.tensor(np.random.default_rng(2).standard_normal(shape) + 2, requires_grad=True)
    mg.manual_seed(3)
    y = F.dropout(x, p)
    y.sum().backward()
    keep = np.random.default_rng(3).random(shape) >= p
    np.testing.assert_allclose(y.data, np.where(keep, x.data / (1 - p), 0.0), rtol=1e-12)
    assert abs(np.mean(~keep) - p) < 4 * math.sqrt(p * (1 - p) / keep.size)
    np.testing.assert_allclose(x.grad, keep / (1 - p), rtol=1e-12)


def test_dropout_is_drawn_like_any_other_op():
    x = mg.tensor(RNG.standard_normal((2, 2)), requires_grad=True)
    source = mg.draw(F.dropout(x, 0.5).sum()).source
    assert "dropout" in source and "leaf" in source


@pytest.mark.parametrize("p", [-0.1, 1.5, "half", True])
def test_dropout_refuses_a_p_outside_0_1(p):
    with pytest.raises(ValueError, match="dropout: p must be a probability"):
        F.dropout(mg.ones(2), p)
    with pytest.raises(ValueError, match="Dropout: p must be a probability"):
        nn.Dropout(p)


def test_dropout_module_drops_in_train_mode_and_not_in_eval_mode():
    layer = nn.Dropout(0.5)
    x = mg.ones(50, 50)
    assert np.any(layer(x).data == 0)
    layer.eval()
    assert layer(x) is x


# ---- activations, losses and containers as modules ------------------------------------------------

def test_activation_modules_are_the_functions():
    x = RNG.standard_normal((3, 4))
    np.testing.assert_array_equal(nn.ReLU()(x).data, np.maximum(x, 0))
    np.testing.assert_array_equal(nn.ReLU(inplace=True)(x).data, np.maximum(x, 0))
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x), rtol=1e-12)
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x)), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_modules_are_the_functions(reduction):
    logits, target = RNG.standard_normal((4, 3)), np.array([2, 0, 1, 1])
    np.testing.assert_array_equal(nn.CrossEntropyLoss(reduction=reduction)(logits, target).data,
                                  F.cross_entropy(logits, target, reduction=reduction).data)
    log_probs = F.log_softmax(logits, dim=1)
    np.testing.assert_array_equal(nn.NLLLoss(reduction=reduction)(log_probs, target).data,
                                  F.nll_loss(log_probs, target, reduction=reduction).data)
    pred, goal = RNG.standard_normal((4, 2)), RNG.standard_normal((4, 2))
    np.testing.assert_allclose(nn.MSELoss(reduction=reduction)(pred, goal).data,
                               {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]((pred - goal) ** 2))


def test_loss_modules_refuse_an_unknown_reduction_naming_the_class():
    with pytest.raises(ValueError, match="^NLLLoss: reduction must be one of"):
        nn.NLLLoss(reduction="average")


def test_loss_modules_take_pytorchs_arguments_and_name_themselves_for_another():
    nn.CrossEntropyLoss(weight=None, ignore_index=-100, label_smoothing=0.1)
    with pytest.raises(TypeError, match=r"^MSELoss: the keyword argument label_smoothing= is not supported"):
        nn.MSELoss(label_smoothing=0.1)


def test_sequential_applies_its_modules_in_turn_under_pytorchs_names():
    first, second = nn.Linear(3, 4), nn.Linear(4, 2)
    model = nn.Sequential(first, nn.Tanh(), second)
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    expected = np.tanh(x @ first.weight.data.T + first.bias.data) @ second.weight.data.T + second.bias.data
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-5)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(model) == 3 and model[2] is second and model[-1] is second and list(model)[1].__class__ is nn.Tanh


def test_sequential_takes_an_ordered_dict_of_names():
    model = nn.Sequential(OrderedDict(hidden=nn.Linear(2, 3), act=nn.ReLU(), out=nn.Linear(3, 1)))
    assert [name for name, _ in model.named_parameters()] == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert [type(m) for m in model[1:]] == [nn.ReLU, nn.Linear]


def test_module_list_registers_its_modules_parameters():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.Linear(2, 1))
    assert len(layers) == 4 and len(list(layers.parameters())) == 8
    assert [name for name, _ in layers.named_parameters()][-2:] == ["3.weight", "3.bias"]

    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(2))

    assert [name for name, _ in Stack().named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]


@pytest.mark.parametrize("make, name", [(lambda: nn.Sequential(nn.ReLU(), 3), "Sequential"),
                                        (lambda: nn.ModuleList([nn.ReLU(), "relu"]), "ModuleList")])
def test_containers_refuse_what_is_not_a_module_naming_themselves(make, name):
    with pytest.raises(TypeError, match=f"^{name}: entry 1 must be a Module"):
        make()


def test_train_and_eval_reach_modules_inside_containers():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.eval()
    assert not model[1].training
    model.train()
    assert model[1].training


# ---- dropout= on RNN, LSTM, GRU ---------------------------------------------------------------------

def one_layer_copy(layer, k):
    """A one-layer copy of layer k of `layer`."""
    kind = type(layer)
    copy = kind(layer.hidden_size, layer.hidden_size, dtype=np.float64)
    copy.load_state_dict({name[:-1] + "0": value for name, value in layer.state_dict().items()
                          if name.endswith(f"_l{k}")})
    return copy


@pytest.mark.parametrize("kind", [nn.RNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("fused", [False, True])
def test_dropout_one_between_layers_feeds_the_top_layer_zeros_but_keeps_its_output(kind, fused):
    """With p = 1 every lower-layer output is dropped: the top layer sees zeros, and its own output,
    which dropout never touches, is what one layer makes from zeros."""
    layer = kind(3, 4, num_layers=2, dropout=1.0, dtype=np.float64, fused=fused)
    x = RNG.standard_normal((6, 2, 3))
    output, _ = layer(x)
    expected, _ = one_layer_copy(layer, 1)(np.zeros((6, 2, 4)))
    np.testing.assert_allclose(output.data, expected.data, rtol=1e-12, atol=1e-15)
    assert np.all(output.data != 0)


@pytest.mark.parametrize("kind", [nn.RNN, nn.LSTM, nn.GRU])
def test_dropout_between_layers_is_off_in_eval_mode(kind):
    dropped = kind(3, 4, num_layers=2, dropout=1.0, dtype=np.float64)
    plain = kind(3, 4, num_layers=2, dtype=np.float64)
    plain.load_state_dict(dropped.state_dict())
    x = RNG.standard_normal((5, 2, 3))
    np.testing.assert_array_equal(dropped.eval()(x)[0].data, plain(x)[0].data)


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU])
def test_fused_and_unrolled_layers_drop_alike_and_agree_on_gradients(kind):
    unrolled = kind(3, 4, num_layers=3, dropout=0.5, dtype=np.float64)
    fused = kind(3, 4, num_layers=3, dropout=0.5, dtype=np.float64, fused=True)
    fused.load_state_dict(unrolled.state_dict())
    x = RNG.standard_normal((5, 2, 3))
    results = []
    for layer in (unrolled, fused):
        mg.manual_seed(3)
        output, _ = layer(x)
        (output * output).sum().backward()
        results.append((output.data, [p.grad for p in layer.parameters()]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


def test_dropout_on_a_layer_is_shown_in_its_repr():
    assert "dropout=0.2" in repr(nn.LSTM(3, 4, 2, dropout=0.2))


@pytest.mark.parametrize("dropout", [-0.5, 2, "a", True])
def test_layers_refuse_a_dropout_outside_0_1_naming_the_class(dropout):
    with pytest.raises(ValueError, match="^GRU: dropout must be a probability"):
        nn.GRU(3, 4, dropout=dropout)


def test_rnn_takes_dropout_seventh_as_pytorch():
    assert nn.RNN(3, 4, 2, "relu", True, False, 0.3).dropout == 0.3
    assert nn.LSTM(3, 4, 2, True, False, 0.3).dropout == 0.3


# ---- unsupported PyTorch arguments --------------------------------------------------------------

@pytest.mark.parametrize("kind", [nn.RNN, nn.LSTM, nn.GRU])
def test_proj_size_raises_naming_the_public_class_and_the_argument(kind):
    with pytest.raises(TypeError) as error:
        kind(3, 4, proj_size=2)
    message = str(error.value)
    assert message.startswith(f"{kind.__name__}: proj_size=") and "not supported" in message
    assert "_Layer" not in message


@pytest.mark.parametrize("kind", [nn.RNN, nn.LSTM, nn.GRU])
def test_bidirectional_is_supported_and_must_be_a_bool_named_with_the_public_class(kind):
    assert kind(3, 4, bidirectional=True).bidirectional is True
    with pytest.raises(ValueError, match=f"^{kind.__name__}: bidirectional must be True or False, got 'yes'"):
        kind(3, 4, bidirectional="yes")


@pytest.mark.parametrize("kind", [nn.RNN, nn.LSTM, nn.GRU])
def test_an_unknown_keyword_raises_naming_the_public_class(kind):
    with pytest.raises(TypeError, match=f"^{kind.__name__}: the keyword argument frobnicate= is not supported"):
        kind(3, 4, frobnicate=1)


def test_pytorch_defaults_and_the_cpu_are_accepted():
    layer = nn.LSTM(3, 4, bidirectional=False, proj_size=0, device="cpu")
    assert layer(np.zeros((2, 1, 3), np.float32))[0].shape == (2, 1, 4)
    with pytest.raises(RuntimeError, match="^LSTM: device 'cuda' is not available"):
        nn.LSTM(3, 4, device="cuda")


# ---- nn.init ---------------------------------------------------------------------------------------

def parameter(*shape):
    return nn.Parameter(np.zeros(shape, dtype=np.float32))


def test_init_gives_the_parameter_a_new_array_of_its_shape_and_dtype():
    p = parameter(20, 30)
    old = p.data
    assert nn.init.uniform_(p, -1, 1) is p
    assert not np.shares_memory(p.data, old) and not np.any(old) and not p.data.flags.writeable
    assert p.shape == (20, 30) and p.dtype == np.float32 and p.requires_grad


def test_uniform_draws_from_uniform_a_b_with_the_librarys_generator():
    mg.manual_seed(5)
    p = nn.init.uniform_(parameter(300, 400), -0.1, 0.3)
    np.testing.assert_array_equal(p.data, np.random.default_rng(5).uniform(-0.1, 0.3, (300, 400)).astype(np.float32))
    values = p.data.astype(np.float64)
    assert values.min() >= -0.1 and values.max() < 0.3
    assert abs(values.mean() - 0.1) < 4 * math.sqrt(0.4 ** 2 / 12 / values.size)
    assert values.var() == pytest.approx(0.4 ** 2 / 12, rel=0.02)


def test_normal_draws_from_n_mean_std():
    values = nn.init.normal_(parameter(300, 400), 2.0, 0.5, rng=np.random.default_rng(0)).data.astype(np.float64)
    assert abs(values.mean() - 2.0) < 4 * 0.5 / math.sqrt(values.size)
    assert values.std() == pytest.approx(0.5, rel=0.01)


def test_constant_zeros_and_ones_fill():
    np.testing.assert_array_equal(nn.init.constant_(parameter(2, 3), 0.25).data, np.full((2, 3), 0.25))
    np.testing.assert_array_equal(nn.init.ones_(parameter(3)).data, np.ones(3))
    p = nn.init.ones_(parameter(3))
    np.testing.assert_array_equal(nn.init.zeros_(p).data, np.zeros(3))


def test_xavier_uniform_bound_is_gain_sqrt_6_over_fan_in_plus_fan_out():
    weight = nn.init.xavier_uniform_(parameter(300, 500), gain=2.0, rng=np.random.default_rng(1))
    bound = 2.0 * math.sqrt(6 / (300 + 500))
    values = weight.data.astype(np.float64)
    assert np.abs(values).max() <= bound
    assert values.var() == pytest.approx(bound ** 2 / 3, rel=0.02)       # = gain^2 * 2 / (fan_in + fan_out)


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (5, 5), (3, 2, 2)])
def test_orthogonal_gives_orthonormal_rows_or_columns_times_the_gain(shape):
    weight = nn.Parameter(np.zeros(shape, dtype=np.float64))
    matrix = nn.init.orthogonal_(weight, gain=1.5, rng=np.random.default_rng(2)).data.reshape(shape[0], -1)
    rows, columns = matrix.shape
    gram = matrix @ matrix.T if rows <= columns else matrix.T @ matrix
    np.testing.assert_allclose(gram, 1.5 ** 2 * np.eye(min(rows, columns)), atol=1e-12)


@pytest.mark.parametrize("init", [nn.init.xavier_uniform_, nn.init.orthogonal_])
def test_fan_based_inits_refuse_vectors(init):
    with pytest.raises(ValueError, match=init.__name__):
        init(parameter(5))


# ---- tied weights ------------------------------------------------------------------------------------

class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Embedding(7, 4)
        self.decoder = nn.Linear(4, 7)
        self.decoder.weight = self.encoder.weight


def test_state_dict_lists_a_tied_parameter_under_every_name_and_parameters_yields_it_once():
    model = Tied()
    state = model.state_dict()
    assert sorted(state) == ["decoder.bias", "decoder.weight", "encoder.weight"]
    np.testing.assert_array_equal(state["encoder.weight"], state["decoder.weight"])
    assert len(list(model.parameters())) == 2
    assert [name for name, _ in model.named_parameters()] == ["encoder.weight", "decoder.bias"]


def test_named_parameters_without_removing_duplicates_names_a_tied_parameter_twice():
    """decoder.weight stays before decoder.bias: a replaced parameter keeps its place, as in PyTorch."""
    model = Tied()
    named = list(model.named_parameters(remove_duplicate=False))
    assert [name for name, _ in named] == ["encoder.weight", "decoder.weight", "decoder.bias"]
    assert named[0][1] is named[1][1]


def test_a_strict_load_missing_one_name_of_a_tied_parameter_raises_as_pytorch():
    state = Tied().state_dict()
    del state["decoder.weight"]
    with pytest.raises(ValueError, match="missing: decoder.weight"):
        Tied().load_state_dict(state)


def test_tied_weights_round_trip_through_save_and_load(tmp_path):
    source, target = Tied(), Tied()
    mg.save(source.state_dict(), tmp_path / "tied.npz")
    target.load_state_dict(mg.load(tmp_path / "tied.npz"))
    np.testing.assert_array_equal(target.decoder.weight.data, source.encoder.weight.data)
    assert target.decoder.weight is target.encoder.weight


def test_loading_keeps_tied_weights_tied():
    model = Tied()
    new = np.full((7, 4), 0.5, dtype=np.float32)
    model.load_state_dict({"encoder.weight": new, "decoder.weight": new, "decoder.bias": np.zeros(7)})
    assert model.decoder.weight is model.encoder.weight
    np.testing.assert_array_equal(model.decoder.weight.data, new)


def test_a_tied_weight_gets_the_gradient_of_both_uses():
    model = Tied()
    tokens = np.array([1, 3, 3])
    loss = model.decoder(model.encoder(tokens)).sum()
    loss.backward()
    weight = model.encoder.weight.data
    expected = np.zeros((7, 4))
    expected += weight[tokens].sum(axis=0)          # decoder: d sum(h W^T) / dW = sum of the rows h
    np.add.at(expected, tokens, weight.sum(axis=0))  # encoder: each looked-up row gets sum_j W_j
    np.testing.assert_allclose(model.encoder.weight.grad, expected, rtol=1e-5)


# ---- model.to, .float(), .double() ----------------------------------------------------------------

def test_model_to_a_dtype_converts_every_parameter_and_keeps_names_and_gradients():
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    model(np.ones((1, 3), np.float32)).sum().backward()
    grad = model[0].weight.grad
    assert model.to(mg.float64) is model
    assert all(p.dtype == np.float64 and p.requires_grad for p in model.parameters())
    np.testing.assert_allclose(model[0].weight.grad, grad)
    assert model[0].weight.grad.dtype == np.float64 and model[0].weight.label == "weight"
    assert model(np.ones((1, 3))).dtype == np.float64


def test_model_cpu_float_and_double():
    model = nn.Linear(2, 2)
    assert model.cpu() is model and model.to("cpu") is model
    assert model.double().weight.dtype == np.float64 and model.float().weight.dtype == np.float32
    with pytest.raises(RuntimeError, match="^Linear.to: device 'cuda'"):
        model.to("cuda")


@pytest.mark.parametrize("bias", [True, False])
def test_all_weights_lists_each_layer_and_direction_in_pytorchs_order(bias):
    """RNNBase.all_weights: one list per layer and direction (l0, l0_reverse, l1, ...), each [weight_ih,
    weight_hh, bias_ih, bias_hh], the biases left out with bias=False; the parameters themselves."""
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, bias=bias)
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")[:4 if bias else 2]
    suffixes = ["_l0", "_l0_reverse", "_l1", "_l1_reverse"]
    assert [[w is getattr(lstm, name + suffix) for name, w in zip(names, ws)] for suffix, ws in
            zip(suffixes, lstm.all_weights)] == [[True] * len(names)] * 4
    assert [len(ws) for ws in lstm.all_weights] == [len(names)] * 4
    assert [w.shape for w in nn.GRU(3, 5).all_weights[0]] == [(15, 3), (15, 5), (15,), (15,)]


# ---- nn.init: eye_, dirac_, sparse_, trunc_normal_ (PyTorch's torch/nn/init.py) ---------------------------

def _phi(z):
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _Phi(z):
    return (1 + math.erf(z / math.sqrt(2))) / 2


@pytest.mark.parametrize("a, b", [(-2.0, 2.0), (2.0, 3.0)])      # both of PyTorch's samplers: mass 0.95, 0.021
def test_trunc_normal_has_the_truncated_normals_support_mean_and_variance(a, b):
    """N(0, 1) truncated to [a, b]: mean (phi(a) - phi(b)) / Z, variance 1 + (a phi(a) - b phi(b)) / Z - mean^2,
    Z = Phi(b) - Phi(a) (closed forms)."""
    values = nn.init.trunc_normal_(mg.empty(200_000, dtype=np.float64), a=a, b=b,
                                   rng=np.random.default_rng(0)).data
    mass = _Phi(b) - _Phi(a)
    mean = (_phi(a) - _phi(b)) / mass
    variance = 1 + (a * _phi(a) - b * _phi(b)) / mass - mean ** 2
    assert a <= values.min() and values.max() <= b
    assert abs(values.mean() - mean) < 5 * math.sqrt(variance / values.size)
    assert abs(values.var() - variance) < 0.01 * variance


def test_trunc_normal_scales_by_mean_and_std_and_warns_far_from_the_interval():
    values = nn.init.trunc_normal_(mg.empty(50_000, dtype=np.float64), mean=3.0, std=0.5, a=2.0, b=4.0,
                                   rng=np.random.default_rng(1)).data
    assert 2.0 <= values.min() and values.max() <= 4.0 and abs(values.mean() - 3.0) < 0.01   # symmetric: mean 3
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        nn.init.trunc_normal_(mg.empty(3), mean=10.0, rng=np.random.default_rng(2))
    with pytest.raises(ValueError, match="trunc_normal_: expected std > 0 and a <= b"):
        nn.init.trunc_normal_(mg.empty(3), a=1.0, b=-1.0)


def test_eye_is_the_identity_of_the_tensors_shape_and_refuses_other_ranks():
    np.testing.assert_array_equal(nn.init.eye_(mg.empty(2, 3)).data, [[1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(nn.init.eye_(mg.empty(3, 2)).data, [[1, 0], [0, 1], [0, 0]])
    with pytest.raises(ValueError, match="eye_: expected a tensor of 2 axes"):
        nn.init.eye_(mg.empty(2, 2, 2))


def test_an_irnn_weight_hh_from_eye_carries_the_state_through_a_linear_step():
    """Le et al.'s IRNN: W_hh = I and no input gives h_t = relu(h_{t-1}) = h_{t-1} for h >= 0."""
    cell = nn.RNNCell(2, 3, nonlinearity="relu")
    nn.init.eye_(cell.weight_hh)
    nn.init.zeros_(cell.bias_ih)
    nn.init.zeros_(cell.bias_hh)
    h = mg.tensor([[0.5, 1.0, 2.0]])
    np.testing.assert_allclose(cell(mg.zeros(1, 2), h).data, h.data)


@pytest.mark.parametrize("shape, groups", [((4, 4, 3), 1), ((4, 2, 5), 2), ((6, 2, 3, 3), 3), ((2, 2, 1, 3, 3), 1)])
def test_dirac_makes_a_convolution_that_passes_its_input_through(shape, groups):
    """Each output channel g * (out / groups) + d reads input channel d at the kernel's centre: with padding
    size // 2 a (grouped) convolution gives each group's first channels back (PyTorch's dirac_)."""
    weight = nn.init.dirac_(mg.empty(*shape, dtype=np.float64), groups=groups)
    per_group, centre = shape[0] // groups, tuple(n // 2 for n in shape[2:])
    expected = np.zeros(shape)
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            expected[(g * per_group + d, d) + centre] = 1.0
    np.testing.assert_array_equal(weight.data, expected)
    if len(shape) == 3:
        x = np.random.default_rng(3).standard_normal((1, shape[1] * groups, 7))
        y = F.conv1d(mg.tensor(x), weight, padding=shape[2] // 2, groups=groups).data
        for g in range(groups):
            for d in range(min(per_group, shape[1])):
                np.testing.assert_allclose(y[0, g * per_group + d], x[0, g * shape[1] + d])


def test_dirac_refuses_other_ranks_and_groups_that_do_not_divide():
    with pytest.raises(ValueError, match="dirac_: expected a tensor of 3, 4 or 5 axes"):
        nn.init.dirac_(mg.empty(3, 3))
    with pytest.raises(ValueError, match="dirac_: dim 0 must be divisible by groups"):
        nn.init.dirac_(mg.empty(3, 2, 3), groups=2)


def test_sparse_zeros_ceil_sparsity_rows_in_each_column_and_draws_the_rest_with_std():
    values = nn.init.sparse_(mg.empty(400, 50, dtype=np.float64), 0.1, std=0.02, rng=np.random.default_rng(4)).data
    np.testing.assert_array_equal((values == 0).sum(axis=0), np.full(50, 40))        # ceil(0.1 * 400)
    assert abs(values[values != 0].std() - 0.02) < 0.001
    with pytest.raises(ValueError, match="sparse_: expected 0 <= sparsity <= 1"):
        nn.init.sparse_(mg.empty(3, 3), 1.5)
    with pytest.warns(FutureWarning, match="`nn.init.sparse` is now deprecated in favor of `nn.init.sparse_`"):
        nn.init.sparse(mg.empty(4, 2), 0.5)
