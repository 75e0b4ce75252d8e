"""nn.AdaptiveLogSoftmaxWithLoss, F.gumbel_softmax and nn.utils.parameters_to_vector / vector_to_parameters,
as PyTorch's (torch/nn/modules/adaptive.py, torch/nn/functional.py, torch/nn/utils/convert_parameters.py).

References: a numpy transcription of PyTorch's adaptive softmax forward with the module's weights; the
Gumbel-softmax formula with the noise drawn from a generator of the same seed; softmax(logits) for the
frequencies of the hard samples; central differences in float64 for every gradient."""

import math

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn.functional as F
from microgradseq import nn
from microgradseq.nn.utils import parameters_to_vector, vector_to_parameters

EPS = 1e-6


def central_differences(f, x):
    """d f / d x, one entry at a time (f maps an array to a float)."""
    x, grad = np.array(x, dtype=np.float64), np.zeros(np.shape(x))
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + EPS
        plus = f(x)
        x[i] = original - EPS
        minus = f(x)
        x[i] = original
        grad[i] = (plus - minus) / (2 * EPS)
    return grad


def np_log_softmax(z, axis=-1):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def np_softmax(z, axis=-1):
    return np.exp(np_log_softmax(z, axis))


# ---- AdaptiveLogSoftmaxWithLoss -------------------------------------------------------------------

def weights_of(module):
    """name -> a float64 copy of each parameter, PyTorch's names."""
    return {name: np.array(p.data, dtype=np.float64) for name, p in module.named_parameters()}


def np_head(w, x):
    return x @ w["head.weight"].T + w.get("head.bias", 0)


def np_cluster(w, x, i):
    return x @ w[f"tail.{i}.0.weight"].T @ w[f"tail.{i}.1.weight"].T


def np_forward(w, x, target, cutoffs):
    """PyTorch's AdaptiveLogSoftmaxWithLoss.forward, line by line: `cutoffs` with n_classes appended."""
    shortlist_size = cutoffs[0]
    output, gather_inds = np.zeros(len(target)), np.zeros(len(target), dtype=np.int64)
    cutoff_values = [0] + cutoffs
    for i in range(len(cutoff_values) - 1):
        low_idx, high_idx = cutoff_values[i], cutoff_values[i + 1]
        target_mask = (target >= low_idx) & (target < high_idx)
        row_indices = np.flatnonzero(target_mask)
        if row_indices.size == 0:
            continue
        if i == 0:
            gather_inds[row_indices] = target[target_mask]
        else:
            relative_target = target[target_mask] - low_idx
            cluster_logprob = np_log_softmax(np_cluster(w, x[row_indices], i - 1), 1)
            gather_inds[row_indices] = shortlist_size + i - 1
            output[row_indices] = cluster_logprob[np.arange(len(row_indices)), relative_target]
    head_logprob = np_log_softmax(np_head(w, x), 1)
    output = output + head_logprob[np.arange(len(target)), gather_inds]
    return output, -output.mean()


def np_log_prob(w, x, cutoffs):
    """PyTorch's _get_full_log_prob: the shortlist's head log-probabilities, then each cluster's plus its
    head column."""
    head_logprob = np_log_softmax(np_head(w, x), 1)
    out = np.empty((len(x), cutoffs[-1]))
    out[:, :cutoffs[0]] = head_logprob[:, :cutoffs[0]]
    for i, (start, stop) in enumerate(zip(cutoffs, cutoffs[1:])):
        out[:, start:stop] = np_log_softmax(np_cluster(w, x, i), 1) + head_logprob[:, cutoffs[0] + i, None]
    return out


def small_module(head_bias=True, seed=0):
    """in_features 6, 10 classes: shortlist [0, 3), clusters [3, 6) and [6, 10) with projections 6 -> 3 and
    6 -> 1 (div_value 2)."""
    return nn.AdaptiveLogSoftmaxWithLoss(6, 10, [3, 6], div_value=2.0, head_bias=head_bias, dtype=np.float64,
                                         rng=np.random.default_rng(seed))


@pytest.mark.parametrize("head_bias", [False, True])
def test_parameter_names_and_shapes_are_pytorchs(head_bias):
    module = nn.AdaptiveLogSoftmaxWithLoss(16, 20, [4, 10], head_bias=head_bias)
    expected = [("head.weight", (6, 16))] + [("head.bias", (6,))] * head_bias + [
        ("tail.0.0.weight", (4, 16)), ("tail.0.1.weight", (6, 4)),      # 16 // 4 = 4 features, classes 4..9
        ("tail.1.0.weight", (1, 16)), ("tail.1.1.weight", (10, 1))]     # 16 // 16 = 1 feature, classes 10..19
    assert [(name, p.shape) for name, p in module.named_parameters()] == expected
    assert list(module.state_dict()) == [name for name, _ in expected]
    assert (module.cutoffs, module.shortlist_size, module.n_clusters, module.head_size) == ([4, 10, 20], 4, 2, 6)
    assert isinstance(module.tail, nn.ModuleList) and isinstance(module.tail[0], nn.Sequential)


def test_weights_are_drawn_head_first_from_rng_uniform_in_one_over_root_fan_in():
    module = nn.AdaptiveLogSoftmaxWithLoss(8, 12, [4], head_bias=True, dtype=np.float64,
                                           rng=np.random.default_rng(5))
    draw, bound = np.random.default_rng(5), 1 / math.sqrt(8)
    expected = {"head.weight": draw.uniform(-bound, bound, (5, 8)), "head.bias": draw.uniform(-bound, bound, 5),
                "tail.0.0.weight": draw.uniform(-bound, bound, (2, 8)),
                "tail.0.1.weight": draw.uniform(-1 / math.sqrt(2), 1 / math.sqrt(2), (8, 2))}
    for name, values in weights_of(module).items():
        np.testing.assert_array_equal(values, expected[name], err_msg=name)


def test_output_and_loss_match_pytorchs_forward_transcribed_in_numpy():
    module = small_module()
    x = np.random.default_rng(1).standard_normal((7, 6))
    target = np.array([0, 4, 9, 2, 6, 5, 3])            # every part: the shortlist and both clusters
    output, loss = module(mg.tensor(x), mg.tensor(target))
    expected_output, expected_loss = np_forward(weights_of(module), x, target, module.cutoffs)
    np.testing.assert_allclose(output.data, expected_output, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(loss.data, expected_loss, rtol=1e-12)
    assert output.shape == (7,) and loss.shape == ()


def test_forward_returns_a_named_tuple_and_skips_empty_clusters():
    module = small_module()
    x = np.random.default_rng(2).standard_normal((3, 6))
    target = np.array([1, 0, 7])                        # nothing in the first cluster
    result = module(x, target)
    assert result._fields == ("output", "loss") and result.output is result[0] and result.loss is result[1]
    np.testing.assert_allclose(result.output.data, np_forward(weights_of(module), x, target, module.cutoffs)[0],
                               rtol=1e-12, atol=1e-12)


def test_unbatched_input_and_0d_target_give_a_0d_output():
    module = small_module()
    x = np.random.default_rng(3).standard_normal(6)
    output, loss = module(x, np.int64(8))
    expected, _ = np_forward(weights_of(module), x[None], np.array([8]), module.cutoffs)
    assert output.shape == () and loss.shape == ()
    np.testing.assert_allclose(output.data, expected[0], rtol=1e-12)
    np.testing.assert_allclose(loss.data, -expected[0], rtol=1e-12)


def test_log_prob_matches_numpy_and_each_row_is_a_distribution():
    module = small_module()
    x = np.random.default_rng(4).standard_normal((5, 6))
    log_prob = module.log_prob(x)
    np.testing.assert_allclose(log_prob.data, np_log_prob(weights_of(module), x, module.cutoffs), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(np.exp(log_prob.data).sum(axis=1), np.ones(5), rtol=1e-12)
    target = np.array([0, 3, 6, 9, 2])
    np.testing.assert_allclose(log_prob.data[np.arange(5), target], module(x, target).output.data, rtol=1e-12)


@pytest.mark.parametrize("cluster_logit", [-50.0, 0.0, 50.0])
def test_predict_is_the_argmax_of_numpys_log_prob(cluster_logit):
    """A head bias pushes the rows to the shortlist (-50), to a cluster (+50), or leaves them mixed (0)."""
    module = small_module()
    with mg.no_grad():
        module.head.bias.copy_(mg.tensor([0.0, 0.0, 0.0, cluster_logit, cluster_logit]))
    x = np.random.default_rng(6).standard_normal((40, 6)) * 3
    predicted = module.predict(x)
    assert predicted.dtype == np.int64 and predicted.shape == (40,)
    expected = np_log_prob(weights_of(module), x, module.cutoffs).argmax(axis=1)
    np.testing.assert_array_equal(predicted.data, expected)
    if cluster_logit == 0.0:
        assert (expected < 3).any() and (expected >= 3).any()


def test_gradients_of_the_loss_match_central_differences():
    module = small_module()
    x = np.random.default_rng(7).standard_normal((6, 6))
    target = np.array([0, 4, 9, 2, 6, 3])
    inputs = mg.tensor(x, requires_grad=True)
    module(inputs, target).loss.backward()
    weights = weights_of(module)
    for name, p in module.named_parameters():
        def loss_of(values, name=name):
            return np_forward({**weights, name: values}, x, target, module.cutoffs)[1]
        np.testing.assert_allclose(p.grad, central_differences(loss_of, weights[name]), rtol=1e-5, atol=1e-8,
                                   err_msg=name)
    np.testing.assert_allclose(inputs.grad, central_differences(
        lambda values: np_forward(weights, values, target, module.cutoffs)[1], x), rtol=1e-5, atol=1e-8)


def test_gradients_of_log_prob_match_central_differences():
    module = small_module(head_bias=False)
    x = np.random.default_rng(8).standard_normal((3, 6))
    mix = np.random.default_rng(9).standard_normal((3, 10))
    inputs = mg.tensor(x, requires_grad=True)
    (module.log_prob(inputs) * mix).sum().backward()
    weights = weights_of(module)
    for name, p in module.named_parameters():
        def weighted(values, name=name):
            return float((np_log_prob({**weights, name: values}, x, module.cutoffs) * mix).sum())
        np.testing.assert_allclose(p.grad, central_differences(weighted, weights[name]), rtol=1e-5, atol=1e-8,
                                   err_msg=name)
    np.testing.assert_allclose(inputs.grad, central_differences(
        lambda values: float((np_log_prob(weights, values, module.cutoffs) * mix).sum()), x), rtol=1e-5, atol=1e-8)


def test_default_dtype_module_runs_in_float32():
    module = nn.AdaptiveLogSoftmaxWithLoss(8, 12, [4, 8], div_value=2)
    x = mg.tensor(np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32))
    output, loss = module(x, np.array([0, 5, 11]))
    assert output.dtype == np.float32 and loss.dtype == np.float32 and module.log_prob(x).dtype == np.float32


@pytest.mark.parametrize("cutoffs", [[], [5, 3], [3, 3], [0, 4], [4, 10], [4, 9.5], "ab"])
def test_bad_cutoffs_raise_valueerror_naming_the_module(cutoffs):
    with pytest.raises(ValueError, match=r"AdaptiveLogSoftmaxWithLoss: cutoffs should be .*got"):
        nn.AdaptiveLogSoftmaxWithLoss(16, 10, cutoffs)


def test_the_last_cutoff_may_be_n_classes_minus_one_as_pytorchs():
    module = nn.AdaptiveLogSoftmaxWithLoss(16, 10, [9])
    assert module.tail[0][1].weight.shape == (1, 4)


def test_a_cluster_without_features_is_refused():
    with pytest.raises(ValueError, match=r"AdaptiveLogSoftmaxWithLoss: in_features // div_value\^i .*\[2, 0\]"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4, 10], div_value=4.0)


@pytest.mark.parametrize("x_shape, target, message", [
    ((3, 6), np.array([0, 1]), r"input and target should have the same size in the batch dimension, got input "
                               r"of shape \(3, 6\) and target of shape \(2,\)"),
    ((6,), np.array([0]), r"1D target tensor expects 2D input tensors, but found input of shape \(6,\)"),
    ((2, 6), np.int64(1), r"0D target tensor expects 1D input tensors, but found input of shape \(2, 6\)"),
    ((2, 6), np.zeros((2, 1), np.int64), r"0D or 1D target tensor expected, multi-target not supported, got "
                                         r"target of shape \(2, 1\)"),
    ((2, 6), np.array([0, 10]), r"target values should be in \[0, 9\], but values in range \[0, 10\]"),
    ((2, 6), np.array([-1, 3]), r"target values should be in \[0, 9\], but values in range \[-1, 3\]"),
    ((2, 5), np.array([0, 1]), r"expected input of shape \(\.\.\., 6\), got \(2, 5\)"),
])
def test_bad_input_or_target_raises_valueerror_naming_the_module(x_shape, target, message):
    module = small_module()
    before = {name: p.data.copy() for name, p in module.named_parameters()}
    with pytest.raises(ValueError, match="AdaptiveLogSoftmaxWithLoss: " + message):
        module(np.zeros(x_shape), target)
    assert all(p.grad is None and np.array_equal(p.data, before[name]) for name, p in module.named_parameters())


def test_float_targets_and_unbatched_log_prob_are_refused():
    module = small_module()
    with pytest.raises(TypeError, match="AdaptiveLogSoftmaxWithLoss: expected integer class targets, got dtype "
                                        "float64"):
        module(np.zeros((2, 6)), np.array([0.0, 1.0]))
    for method in ("log_prob", "predict"):
        with pytest.raises(ValueError, match=rf"AdaptiveLogSoftmaxWithLoss.{method}: expected input of shape "
                                             r"\(N, 6\), got \(6,\)"):
            getattr(module, method)(np.zeros(6))


# ---- gumbel_softmax ------------------------------------------------------------------------------

def np_gumbel_softmax(logits, tau, seed, axis=-1):
    """softmax((logits + g) / tau), g = -log E, E ~ Exponential(1) from a fresh generator of `seed`."""
    gumbels = -np.log(np.random.default_rng(seed).standard_exponential(np.shape(logits)))
    return np_softmax((logits + gumbels) / tau, axis)


@pytest.fixture
def generator_kept():
    """The library's generator as the test found it (these tests reseed it)."""
    state = mg.get_rng_state()
    yield
    mg.set_rng_state(state)


def test_soft_sample_is_softmax_of_logits_plus_the_libraries_gumbel_noise(generator_kept):
    logits = np.random.default_rng(0).standard_normal((4, 5))
    mg.manual_seed(11)
    y = F.gumbel_softmax(mg.tensor(logits), tau=0.7)
    np.testing.assert_allclose(y.data, np_gumbel_softmax(logits, 0.7, 11), rtol=1e-12, atol=1e-15)
    again = F.gumbel_softmax(mg.tensor(logits), tau=0.7)
    assert not np.allclose(again.data, y.data)          # the generator moved on: a new draw


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_soft_sample_along_a_dim_from_a_given_rng(dim):
    logits = np.random.default_rng(1).standard_normal((3, 4))
    y = F.gumbel_softmax(mg.tensor(logits), tau=2.0, dim=dim, rng=np.random.default_rng(3))
    np.testing.assert_allclose(y.data, np_gumbel_softmax(logits, 2.0, 3, dim), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(y.data.sum(axis=dim), 1.0, rtol=1e-12)


@pytest.mark.parametrize("dim", [0, -1])
def test_hard_sample_is_one_hot_with_the_soft_samples_gradient(dim):
    logits = np.random.default_rng(2).standard_normal((3, 4))
    mix = np.random.default_rng(4).standard_normal((3, 4))
    x = mg.tensor(logits, requires_grad=True)
    y = F.gumbel_softmax(x, tau=0.5, hard=True, dim=dim, rng=np.random.default_rng(5))
    soft = np_gumbel_softmax(logits, 0.5, 5, dim)
    expected = (np.arange(soft.shape[dim]).reshape((-1, 1) if dim == 0 else (1, -1))
                == np.expand_dims(soft.argmax(axis=dim), dim)).astype(float)
    np.testing.assert_allclose(y.data, expected, atol=1e-12)
    (y * mix).sum().backward()
    np.testing.assert_allclose(x.grad, central_differences(
        lambda a: float((np_gumbel_softmax(a, 0.5, 5, dim) * mix).sum()), logits), rtol=1e-5, atol=1e-8)


def test_hard_sample_tangent_is_the_soft_samples():
    logits = np.random.default_rng(6).standard_normal((2, 3))
    direction = np.random.default_rng(7).standard_normal((2, 3))
    _, tangent = mg.jvp(lambda t: F.gumbel_softmax(t, tau=0.8, hard=True, rng=np.random.default_rng(8)),
                        (mg.tensor(logits),), (direction,))
    expected = (np_gumbel_softmax(logits + EPS * direction, 0.8, 8) -
                np_gumbel_softmax(logits - EPS * direction, 0.8, 8)) / (2 * EPS)
    np.testing.assert_allclose(tangent, expected, rtol=1e-5, atol=1e-8)


def test_hard_samples_are_drawn_with_softmax_probabilities(generator_kept):
    """argmax(logits + g) is a categorical draw of softmax(logits), whatever tau: 20,000 draws under a fixed seed
    land within 0.015 of each probability (about 4.5 standard errors)."""
    logits = np.log(np.array([0.5, 0.25, 0.15, 0.1])) + 3.0
    mg.manual_seed(2024)
    samples = F.gumbel_softmax(mg.tensor(np.tile(logits, (20_000, 1))), tau=3.0, hard=True)
    assert set(np.unique(samples.data)) == {0.0, 1.0} and (samples.data.sum(axis=1) == 1).all()
    np.testing.assert_allclose(samples.data.mean(axis=0), np_softmax(logits), atol=0.015)


def test_dtype_is_kept_and_a_0d_logit_gives_one():
    y = F.gumbel_softmax(mg.tensor(np.zeros((2, 3), np.float32)), hard=True, rng=np.random.default_rng(0))
    assert y.dtype == np.float32 and y.shape == (2, 3)
    assert float(F.gumbel_softmax(mg.tensor(0.3), rng=np.random.default_rng(0))) == 1.0
    assert float(F.gumbel_softmax(mg.tensor(0.3), hard=True, rng=np.random.default_rng(0))) == 1.0


def test_eps_is_deprecated_with_pytorchs_warning():
    with pytest.warns(UserWarning, match="gumbel_softmax: `eps` parameter is deprecated and has no effect"):
        F.gumbel_softmax(mg.tensor(np.zeros(3)), eps=1e-5, rng=np.random.default_rng(0))


@pytest.mark.parametrize("logits, options, error, message", [
    (np.array([1, 2]), {}, TypeError, "expected floating-point logits, got dtype int64"),
    (np.zeros(3), {"tau": 0}, ValueError, "tau must be a finite number > 0, got 0"),
    (np.zeros(3), {"hard": 1}, ValueError, "hard must be True or False, got 1"),
    (np.zeros((2, 3)), {"dim": 2}, ValueError, r"dim 2 is not an axis of shape \(2, 3\)"),
])
def test_bad_arguments_raise_naming_gumbel_softmax(logits, options, error, message):
    with pytest.raises(error, match="gumbel_softmax: " + message):
        F.gumbel_softmax(mg.tensor(logits), **options)


# ---- parameters_to_vector / vector_to_parameters -----------------------------------------------

def two_layers():
    return nn.Sequential(nn.Linear(3, 2, dtype=np.float64), nn.Tanh(), nn.Linear(2, 1, dtype=np.float64))


def test_parameters_to_vector_joins_the_flattened_parameters_in_order():
    model = two_layers()
    vector = parameters_to_vector(model.parameters())
    expected = np.concatenate([model[0].weight.data.ravel(), model[0].bias.data, model[2].weight.data.ravel(),
                               model[2].bias.data])
    np.testing.assert_array_equal(vector.data, expected)
    assert vector.shape == (11,) and vector.dtype == np.float64


def test_parameters_to_vector_passes_the_gradient_to_each_parameter():
    model = two_layers()
    mix = np.arange(11.0)
    (parameters_to_vector(model.parameters()) * mix).sum().backward()
    np.testing.assert_array_equal(model[0].weight.grad, mix[:6].reshape(2, 3))
    np.testing.assert_array_equal(model[0].bias.grad, mix[6:8])
    np.testing.assert_array_equal(model[2].weight.grad, mix[8:10].reshape(1, 2))
    np.testing.assert_array_equal(model[2].bias.grad, mix[10:])


def test_vector_to_parameters_round_trip_keeps_the_parameter_objects():
    model = two_layers()
    before = list(model.parameters())
    values = np.linspace(-1, 1, 11)
    vector_to_parameters(mg.tensor(values, requires_grad=True) * 2, model.parameters())
    assert [id(p) for p in model.parameters()] == [id(p) for p in before]
    np.testing.assert_array_equal(model[0].weight.data, 2 * values[:6].reshape(2, 3))
    np.testing.assert_array_equal(parameters_to_vector(model.parameters()).data, 2 * values)
    assert all(p.requires_grad and p.is_leaf for p in model.parameters())


def test_vector_to_parameters_casts_to_each_parameters_dtype():
    model = nn.Linear(2, 2)                                     # float32
    vector_to_parameters(mg.tensor(np.arange(6.0)), model.parameters())
    assert model.weight.dtype == np.float32 and model.bias.dtype == np.float32
    np.testing.assert_array_equal(model.bias.data, [4.0, 5.0])


@pytest.mark.parametrize("length", [10, 12])
def test_a_vector_of_another_length_is_refused_and_nothing_changes(length):
    model = two_layers()
    before = parameters_to_vector(model.parameters()).data.copy()
    with pytest.raises(ValueError, match=rf"vector_to_parameters: expected a vector of 11 values, one per entry "
                                         rf"of the 4 parameters, got {length}"):
        vector_to_parameters(mg.tensor(np.zeros(length)), model.parameters())
    np.testing.assert_array_equal(parameters_to_vector(model.parameters()).data, before)


def test_bad_vectors_and_parameters_are_refused():
    model = two_layers()
    with pytest.raises(TypeError, match="vector_to_parameters: expected a Tensor, but got ndarray"):
        vector_to_parameters(np.zeros(11), model.parameters())
    with pytest.raises(ValueError, match=r"vector_to_parameters: expected a 1-d vector, got shape \(1, 11\)"):
        vector_to_parameters(mg.tensor(np.zeros((1, 11))), model.parameters())
    with pytest.raises(ValueError, match="parameters_to_vector: expected at least one parameter, got none"):
        parameters_to_vector([])
    with pytest.raises(ValueError, match="parameters_to_vector: expected an iterable of Tensors, item 1 is a list"):
        parameters_to_vector([model[0].weight, [1.0]])
