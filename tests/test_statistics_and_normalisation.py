"""var, std, logsumexp, tril/triu, gelu and layer_norm, and the modules nn.GELU and nn.LayerNorm:
what PyTorch defines them to be, checked against numpy written here and closed forms (float64), and
the errors they raise. They are composites of the primitive ops (no rules of their own): their
gradients and tangents against central differences are rows of test_composite_gradients.py; cumsum
and erf are primitives, rows of test_op_gradients.py and test_forward_mode.py."""

import math
import warnings

import numpy as np
import pytest
from test_op_gradients import central_differences

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F


def np_layer_norm(x, axes, weight=None, bias=None, eps=1e-5):
    """The definition: (x - mean) / sqrt(var + eps), var divided by N, then * weight + bias."""
    mean = x.mean(axis=axes, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(variance + eps)
    y = y if weight is None else y * weight
    return y if bias is None else y + bias


# ---- var and std -----------------------------------------------------------------------------

def test_var_is_unbiased_by_default_as_pytorchs_and_unbiased_false_divides_by_n():
    x = mg.tensor([1.0, 2.0, 3.0, 4.0])
    assert x.var().item() == pytest.approx(5 / 3)           # sum of squares 5, over N - 1 = 3
    assert x.var(unbiased=False).item() == pytest.approx(5 / 4)
    assert mg.var(x, 0, False).item() == pytest.approx(5 / 4)     # PyTorch's var(input, dim, unbiased)
    assert x.std().item() == pytest.approx(math.sqrt(5 / 3))
    m = mg.tensor([[1.0, 3.0], [2.0, 6.0]])
    assert m.var(dim=1).tolist() == [2.0, 8.0] and m.var(0, keepdim=True).shape == (1, 2)
    assert m.var(axis=(0, 1)).item() == pytest.approx(np.var([1, 3, 2, 6], ddof=1))


def test_var_gradient_in_closed_form():
    """dvar/dx_i = 2 (x_i - mean) / (N - 1)."""
    x = mg.tensor([1.0, 2.0, 6.0], dtype=mg.float64, requires_grad=True)
    x.var().backward()
    np.testing.assert_allclose(x.grad, 2 * (np.array([1.0, 2.0, 6.0]) - 3.0) / 2, rtol=1e-12)


def test_var_refuses_integers_both_corrections_and_warns_without_degrees_of_freedom():
    with pytest.raises(TypeError, match="var: expected a real floating-point tensor, got int64"):
        mg.tensor([1, 2, 3]).var()
    with pytest.raises(TypeError, match="var: expected a real floating-point tensor, got complex128"):
        mg.tensor(np.array([1 + 1j, 2 + 0j])).var()
    with pytest.raises(TypeError, match="var: got both unbiased= and correction="):
        mg.tensor([1.0, 2.0]).var(unbiased=True, correction=1)
    with pytest.raises(ValueError, match="var: correction must be a number >= 0, got -1"):
        mg.tensor([1.0, 2.0]).var(correction=-1)
    with pytest.raises(ValueError, match=r"var: axis 2 is not an axis .* of shape \(2,\)"):
        mg.tensor([1.0, 2.0]).var(2)
    with pytest.warns(UserWarning, match="var: 1 values and correction 1 leave no degrees of freedom"):
        assert math.isnan(mg.tensor([3.0]).var().item())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mg.tensor([3.0]).var(correction=0).item() == 0.0


def test_std_has_a_zero_gradient_and_tangent_where_it_is_zero_as_pytorchs():
    """sqrt's slope is infinite at 0; PyTorch's std rule gives 0 there, so a constant row normalised by
    its std (plus an epsilon) keeps finite gradients."""
    x = mg.tensor(np.zeros((2, 4)), requires_grad=True)
    y = (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + 1e-5)
    weights = np.arange(8.0).reshape(2, 4)
    (y * mg.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad, (weights - weights.mean(axis=1, keepdims=True)) / 1e-5, rtol=1e-9)
    constant = mg.tensor([2.0, 2.0, 2.0], dtype=mg.float64, requires_grad=True)
    constant.std().backward()
    assert constant.grad.tolist() == [0.0, 0.0, 0.0]
    _, tangent = mg.jvp(lambda a: a.std(), [mg.tensor(np.ones(3))], [np.array([1.0, 2.0, 3.0])])
    assert tangent == 0.0


def test_var_reads_pytorchs_other_call_forms():
    """x.var(False) is the older var(unbiased); dim=() is every axis; a 0-d tensor takes dim 0 or -1."""
    x = mg.tensor([[1.0, 2.0], [3.0, 6.0]])
    assert x.var(False).item() == pytest.approx(np.var([1, 2, 3, 6]))
    assert x.std(True).item() == pytest.approx(np.std([1, 2, 3, 6], ddof=1))
    assert x.var(dim=()).item() == pytest.approx(np.var([1, 2, 3, 6], ddof=1))
    assert mg.tensor(3.0).var(0, correction=0).item() == 0.0 and mg.tensor(3.0).var(-1, correction=0).shape == ()


def test_half_precision_var_layer_norm_and_gelu_are_computed_wider_as_pytorchs():
    """(x - mean)^2 and x^3 overflow float16 from 256 and 41: PyTorch computes these in a wider type."""
    a = np.zeros(100, np.float16)
    a[0] = 300
    variance = mg.tensor(a).var()
    assert variance.dtype == np.float16 and variance.item() == pytest.approx(900, rel=1e-3)
    normalised = F.layer_norm(mg.tensor(a[None]), (100,))
    assert normalised.dtype == np.float16
    np.testing.assert_allclose(normalised.numpy()[0, :2].astype(np.float64), [9.95, -0.1005], rtol=2e-3)
    t = mg.tensor([300.0], dtype=mg.float16, requires_grad=True)
    F.gelu(t, approximate="tanh").backward()
    assert t.grad.dtype == np.float16 and t.grad.tolist() == [1.0]


# ---- logsumexp -------------------------------------------------------------------------------

def test_logsumexp_gradient_is_the_softmax():
    x = mg.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, -1.0]], dtype=mg.float64, requires_grad=True)
    x.logsumexp(1).sum().backward()
    e = np.exp(x.numpy())
    np.testing.assert_allclose(x.grad, e / e.sum(axis=1, keepdims=True), rtol=1e-12)


def test_logsumexp_is_stable_for_large_values_and_minus_infinity_for_a_slice_of_minus_infinity():
    x = mg.tensor([[1000.0, 1000.0], [-np.inf, -np.inf], [-1000.0, -np.inf]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = mg.logsumexp(x, dim=1)
    assert y.tolist() == [pytest.approx(1000 + math.log(2)), -np.inf, -1000.0]
    assert mg.logsumexp(mg.zeros(3, 0), 1).tolist() == [-np.inf] * 3        # an empty sum: log 0
    with pytest.raises(TypeError, match=r"logsumexp: dim is required \(an axis of shape \(2,\)"):
        mg.tensor([1.0, 2.0]).logsumexp()


def test_logsumexp_takes_every_axis_for_an_empty_dim_and_a_0_d_tensor_and_checks_keepdim():
    x = mg.tensor([[0.0, 1.0], [2.0, 3.0]], dtype=mg.float64)
    assert x.logsumexp(()).item() == pytest.approx(math.log(sum(math.exp(v) for v in range(4))))
    assert mg.tensor(1.5).logsumexp(0).item() == 1.5
    with pytest.raises(ValueError, match="logsumexp: keepdim must be True or False, got 'no'"):
        x.logsumexp(1, keepdim="no")


# ---- tril and triu ---------------------------------------------------------------------------

def test_tril_of_ones_is_a_causal_mask_and_keeps_the_dtype():
    """The attention idiom: scores above the diagonal masked to -inf, then each row's softmax."""
    T = 4
    mask = mg.tril(mg.ones(T, T))
    assert mask.dtype == np.float32 and mask.numpy().tolist() == np.tril(np.ones((T, T))).tolist()
    assert mg.tril(mg.ones(2, 2, dtype=mg.long)).dtype == np.int64
    weights = F.softmax(mg.zeros(T, T).masked_fill(mask == 0, float("-inf")), dim=-1)
    np.testing.assert_allclose(weights.numpy(), np.tril(np.ones((T, T))) / np.arange(1, T + 1)[:, None])


def test_tril_refuses_fewer_than_two_axes_and_a_non_integer_diagonal():
    with pytest.raises(ValueError, match=r"tril: expected a tensor with at least 2 axes .* got shape \(3,\)"):
        mg.tril(mg.ones(3))
    with pytest.raises(TypeError, match="triu: diagonal must be an integer, got 0.5"):
        mg.ones(2, 2).triu(0.5)


# ---- gelu -------------------------------------------------------------------------------------

def test_gelu_is_x_times_the_normal_cdf_and_its_tanh_form():
    x = np.linspace(-4, 4, 17)
    cdf = np.array([(1 + math.erf(v / math.sqrt(2))) / 2 for v in x])
    np.testing.assert_allclose(F.gelu(mg.tensor(x)).numpy(), x * cdf, rtol=1e-12, atol=1e-15)
    approximation = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(F.gelu(mg.tensor(x), approximate="tanh").numpy(), approximation, rtol=1e-12)
    assert np.max(np.abs(x * cdf - approximation)) < 1e-3        # (the two forms agree closely)
    assert nn.GELU()(mg.tensor([1.0], dtype=mg.float32)).dtype == np.float32


def test_gelu_derivative_in_closed_form():
    """d/dx x Phi(x) = Phi(x) + x phi(x), phi the normal density."""
    x = mg.tensor([-1.5, 0.0, 0.7], dtype=mg.float64, requires_grad=True)
    F.gelu(x).sum().backward()
    a = x.numpy()
    expected = [(1 + math.erf(v / math.sqrt(2))) / 2 + v * math.exp(-v * v / 2) / math.sqrt(2 * math.pi) for v in a]
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)


def test_gelu_refuses_integers_and_unknown_forms_and_the_module_prints_as_pytorchs():
    with pytest.raises(TypeError, match="gelu: expected a floating-point tensor, got dtype int64"):
        F.gelu(mg.tensor([1, 2]))
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        F.gelu(mg.tensor([1.0]), approximate="fast")
    with pytest.raises(ValueError, match="GELU: approximate must be 'none' or 'tanh'"):
        nn.GELU("erf")
    assert repr(nn.GELU()) == "GELU(approximate='none')" and repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"


# ---- layer_norm and LayerNorm ----------------------------------------------------------------

def test_layer_norm_output_has_mean_0_and_variance_1_per_sample():
    x = mg.tensor(np.random.default_rng(3).standard_normal((4, 6)) * 3 + 7)
    y = F.layer_norm(x, (6,), eps=0.0).numpy()
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=1), 1, rtol=1e-12)


def test_layer_norm_module_starts_as_pytorchs_and_learns_its_weight_and_bias():
    norm = nn.LayerNorm(3)
    assert repr(norm) == "LayerNorm((3,), eps=1e-05, elementwise_affine=True, bias=True)"
    assert list(norm.state_dict()) == ["weight", "bias"]
    assert norm.weight.numpy().tolist() == [1.0, 1.0, 1.0] and norm.bias.numpy().tolist() == [0.0, 0.0, 0.0]
    assert norm.weight.dtype == np.float32
    x = mg.tensor([[1.0, 2.0, 6.0], [0.0, -1.0, 1.0]])
    target = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0]], dtype=np.float32)
    ((norm(x) - mg.tensor(target)) ** 2).sum().backward()
    normalised = np_layer_norm(x.numpy().astype(np.float64), (1,))
    np.testing.assert_allclose(norm.bias.grad, (2 * (normalised - target)).sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(norm.weight.grad, (2 * (normalised - target) * normalised).sum(axis=0), rtol=1e-5)


def test_layer_norm_module_without_affine_or_bias_has_fewer_parameters():
    assert list(nn.LayerNorm((2, 3), elementwise_affine=False).state_dict()) == []
    assert list(nn.LayerNorm(4, bias=False).state_dict()) == ["weight"]
    assert nn.LayerNorm(4, dtype=mg.float64).weight.dtype == np.float64
    x = mg.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(nn.LayerNorm(3, elementwise_affine=False, dtype=mg.float64)(x).numpy(),
                               np_layer_norm(np.arange(6.0).reshape(2, 3), (1,)), rtol=1e-12)


def test_layer_norm_says_what_it_expected():
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(4,\) expects an input of shape \(\*, 4\), "
                                         r"got \(2, 3\)"):
        F.layer_norm(mg.zeros(2, 3), (4,))
    with pytest.raises(ValueError, match=r"layer_norm: weight must have shape normalized_shape \(3,\), got \(2,\)"):
        F.layer_norm(mg.zeros(2, 3), 3, weight=mg.ones(2))
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape must be a positive int .* got 0"):
        nn.LayerNorm(0)
    with pytest.raises(ValueError, match="LayerNorm: eps must be a finite number >= 0, got -1"):
        nn.LayerNorm(3, eps=-1)
    with pytest.raises(TypeError, match="LayerNorm: expected input of dtype float32 .* got float64"):
        nn.LayerNorm(3)(mg.zeros(2, 3, dtype=mg.float64))
    with pytest.raises(TypeError, match="layer_norm: expected a floating-point tensor, got dtype int64"):
        F.layer_norm(mg.tensor([[1, 2]]), 2)


def test_a_causal_self_attention_block_built_from_these_trains_its_gradients_by_finite_differences():
    """A pre-norm attention block (LayerNorm, a tril-masked softmax, GELU) is composites all the way
    down: the gradient of one weight entry matches a central difference of the loss."""
    rng = np.random.default_rng(4)
    T, C = 4, 3
    x = rng.standard_normal((T, C))
    w_qkv = rng.standard_normal((C, 3 * C)) * 0.5

    def loss_of(w: np.ndarray) -> mg.Tensor:
        h = F.layer_norm(mg.tensor(x), (C,))
        q, k, v = (h @ mg.tensor(w)).split(C, dim=1)
        scores = (q @ k.T / math.sqrt(C)).masked_fill(mg.tril(mg.ones(T, T)) == 0, float("-inf"))
        return F.gelu(F.softmax(scores, dim=-1) @ v).sum()

    weight = mg.tensor(w_qkv, requires_grad=True)
    h = F.layer_norm(mg.tensor(x), (C,))
    q, k, v = (h @ weight).split(C, dim=1)
    scores = (q @ k.T / math.sqrt(C)).masked_fill(mg.tril(mg.ones(T, T)) == 0, float("-inf"))
    F.gelu(F.softmax(scores, dim=-1) @ v).sum().backward()
    numeric = central_differences(lambda w: loss_of(w).item(), w_qkv)
    np.testing.assert_allclose(weight.grad, numeric, rtol=1e-6, atol=1e-8)


# ---- BatchNorm1d ------------------------------------------------------------------------------

def np_batch_norm(x, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 5)])
def test_batch_norm_in_training_is_the_definition_and_its_gradients_match_central_differences(shape):
    rng = np.random.default_rng(5)
    x = rng.normal(1.0, 2.0, size=shape)
    axes = (0,) if len(shape) == 2 else (0, 2)
    weights = rng.normal(size=shape)
    norm = nn.BatchNorm1d(shape[1], dtype=mg.float64)
    with mg.no_grad():
        norm.weight.copy_(mg.tensor(rng.normal(size=shape[1])))
        norm.bias.copy_(mg.tensor(rng.normal(size=shape[1])))
    per_feature = (1, -1) if len(shape) == 2 else (1, -1, 1)
    w, b = norm.weight.numpy().reshape(per_feature), norm.bias.numpy().reshape(per_feature)
    t = mg.tensor(x, requires_grad=True)
    out = norm(t)
    np.testing.assert_allclose(out.numpy(), np_batch_norm(x, axes) * w + b, rtol=1e-10)
    (out * mg.tensor(weights)).sum().backward()
    numeric = central_differences(lambda a: float(np.sum((np_batch_norm(a, axes) * w + b) * weights)), x)
    np.testing.assert_allclose(t.grad, numeric, rtol=1e-5, atol=1e-7)
    for parameter, loss_of in ((norm.weight, lambda v: np.sum((np_batch_norm(x, axes) * v.reshape(per_feature) + b)
                                                               * weights)),
                               (norm.bias, lambda v: np.sum((np_batch_norm(x, axes) * w + v.reshape(per_feature))
                                                            * weights))):
        numeric = central_differences(lambda v: float(loss_of(v)), parameter.numpy().copy())
        np.testing.assert_allclose(parameter.grad, numeric, rtol=1e-5, atol=1e-7)


def test_batch_norm_running_statistics_follow_momentum_or_the_average_and_serve_evaluation():
    batches = [np.array([[1.0, 10.0], [3.0, 14.0]]), np.array([[5.0, 0.0], [9.0, 2.0]])]
    norm, average = nn.BatchNorm1d(2, dtype=mg.float64), nn.BatchNorm1d(2, momentum=None, dtype=mg.float64)
    for batch in batches:
        norm(mg.tensor(batch))
        average(mg.tensor(batch))
    means = [b.mean(axis=0) for b in batches]
    variances = [b.var(axis=0, ddof=1) for b in batches]
    np.testing.assert_allclose(norm.running_mean.numpy(), 0.9 * 0.1 * means[0] + 0.1 * means[1])
    np.testing.assert_allclose(norm.running_var.numpy(), 0.9 * (0.9 + 0.1 * variances[0]) + 0.1 * variances[1])
    np.testing.assert_allclose(average.running_mean.numpy(), (means[0] + means[1]) / 2)
    assert int(norm.num_batches_tracked) == 2
    assert list(norm.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    norm.eval()
    x = np.array([[2.0, 3.0]])
    expected = (x - norm.running_mean.numpy()) / np.sqrt(norm.running_var.numpy() + 1e-5)
    np.testing.assert_allclose(norm(mg.tensor(x)).numpy(), expected)         # (one sample is fine in eval)
    assert int(norm.num_batches_tracked) == 2
    untracked = nn.BatchNorm1d(2, track_running_stats=False, affine=False, dtype=mg.float64).eval()
    np.testing.assert_allclose(untracked(mg.tensor(batches[0])).numpy(), np_batch_norm(batches[0], (0,)))
    assert untracked.running_mean is None and list(untracked.state_dict()) == []


def test_batch_norm_says_what_it_expected_and_prints_as_pytorchs():
    assert repr(nn.BatchNorm1d(3)) == ("BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, "
                                      "track_running_stats=True)")
    assert repr(nn.BatchNorm1d(3, bias=False)) == ("BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=False, "
                                                   "track_running_stats=True)")
    with pytest.raises(ValueError, match="BatchNorm1d: Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(2)(mg.ones(1, 2))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected input of shape \(N, 3\) or \(N, 3, L\), got \(2, 4\)"):
        nn.BatchNorm1d(3)(mg.ones(2, 4))
    with pytest.raises(ValueError, match="BatchNorm1d: num_features must be an integer >= 0, got 2.5"):
        nn.BatchNorm1d(2.5)


def test_lazy_batch_norm_takes_its_size_from_the_first_input_and_becomes_a_batch_norm():
    lazy = nn.LazyBatchNorm1d()
    parameters = list(lazy.parameters())
    assert lazy.num_features == 0 and lazy.weight.shape == (0,)
    lazy(mg.tensor([[1.0, 2.0], [2.0, 3.0]]))
    assert type(lazy) is nn.BatchNorm1d and lazy.num_features == 2 and lazy.weight.tolist() == [1.0, 1.0]
    assert [id(p) for p in lazy.parameters()] == [id(p) for p in parameters]
    np.testing.assert_allclose(lazy.running_mean.numpy(), [0.15, 0.25], rtol=1e-6)


def test_half_precision_batch_norm_is_computed_in_float32_as_pytorchs():
    """The squares of |x - mean| >= 256 overflow half: PyTorch normalises half in float32, and so do
    the running statistics' updates (their unbiased correction too)."""
    norm = nn.BatchNorm1d(1).half()
    y = norm(mg.tensor([[-300.0], [300.0]], dtype=mg.float16))
    assert y.dtype == np.float16 and y.tolist() == [[-1.0], [1.0]]
    norm = nn.BatchNorm1d(1).half()
    norm(mg.tensor([[-100.0], [100.0]] * 4, dtype=mg.float16))
    assert norm.running_var.dtype == np.float16
    assert norm.running_var.item() == pytest.approx(0.9 + 0.1 * 8 * 100.0 ** 2 / 7, rel=1e-3)


def test_batch_norm_without_running_statistics_uses_the_batch_and_with_them_uses_them_in_eval():
    """PyTorch's rule: the batch's statistics while training or when both running ones are None; in
    eval mode the running ones whenever they are there, whatever track_running_stats says."""
    x = mg.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=mg.float64)
    norm = nn.BatchNorm1d(2, dtype=mg.float64)
    norm.running_mean = None
    norm.running_var = None
    np.testing.assert_allclose(norm.eval()(x).numpy(), np_batch_norm(x.numpy(), (0,)), rtol=1e-12)
    trained = nn.BatchNorm1d(1, dtype=mg.float64)
    trained.load_state_dict({"weight": np.ones(1), "bias": np.zeros(1), "running_mean": np.array([100.0]),
                             "running_var": np.ones(1), "num_batches_tracked": np.array(3)})
    trained.track_running_stats = False
    np.testing.assert_allclose(trained.eval()(mg.tensor([[1.0], [3.0]], dtype=mg.float64)).numpy(),
                               (np.array([[1.0], [3.0]]) - 100) / np.sqrt(1 + 1e-5), rtol=1e-12)


def test_batch_norm_checks_the_dtype_without_affine_and_updates_its_buffers_in_place():
    with pytest.raises(TypeError, match="BatchNorm1d: expected input of dtype float32 .* got int64"):
        nn.BatchNorm1d(2, affine=False)(mg.tensor([[1, 2], [3, 5]]))
    with pytest.raises(TypeError, match="BatchNorm1d: expected a floating-point input, got dtype int64"):
        nn.BatchNorm1d(2, affine=False, track_running_stats=False)(mg.tensor([[1, 2], [3, 5]]))
    norm = nn.BatchNorm1d(2)
    running_mean, count = norm.running_mean, norm.num_batches_tracked
    norm(mg.tensor([[1.0, 2.0], [3.0, 5.0]]))
    assert norm.running_mean is running_mean and norm.num_batches_tracked is count
    np.testing.assert_allclose(running_mean.numpy(), [0.2, 0.35], rtol=1e-6)
    assert int(count) == 1


def test_batch_norm_loads_a_state_dict_without_num_batches_tracked_and_takes_empty_batches():
    """PyTorch's older state dicts have no num_batches_tracked: it stays as it is; an empty batch
    gives an empty output."""
    norm = nn.BatchNorm1d(2)
    state = norm.state_dict()
    del state["num_batches_tracked"]
    assert norm.load_state_dict(state).missing_keys == []
    assert nn.BatchNorm1d(3)(mg.zeros(0, 3)).shape == (0, 3)
    assert nn.BatchNorm1d(0)(mg.zeros(4, 0)).shape == (4, 0)


def test_logcumsumexp_sends_the_gradient_of_an_infinite_prefix_to_the_infinite_entry():
    """y = logcumsumexp(x) with x = [0.5, inf, 1.0]: y = [0.5, inf, inf]. dy_i/dx_j is the softmax over
    x_0..x_i, whose limit is one-hot at the +inf entry for i >= 1; so dL/dx = [g_0, g_1 + g_2, 0]
    (hand-derived), not NaN and not sent to a finite entry. From a mutation check."""
    X, G = np.array([0.5, np.inf, 1.0]), np.array([0.3, -0.7, 1.9])
    x = mg.tensor(X, requires_grad=True)
    y = mg.logcumsumexp(x, 0)
    np.testing.assert_array_equal(y.numpy(), [0.5, np.inf, np.inf])
    y.backward(mg.tensor(G))
    np.testing.assert_array_equal(x.grad, [G[0], G[1] + G[2], 0.0])
