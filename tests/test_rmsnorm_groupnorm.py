"""nn.RMSNorm with F.rms_norm, and nn.GroupNorm with F.group_norm, as PyTorch's (torch/nn/modules/normalization.py,
torch/nn/functional.py, and the composite rms_norm of aten/src/ATen/native/layer_norm.cpp): forward values against
numpy written here from PyTorch's formulas, gradients of the input and the parameters against central differences
of that numpy (float64), parameters, state dicts, reprs and errors. Both are composites of primitive ops; their
tangents and gradients on drawn shapes are rows of test_composite_gradients.py."""

import re
import warnings

import numpy as np
import pytest
from test_op_gradients import central_differences

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F

RNG = np.random.default_rng(20)


def np_rms_norm(x, axes, weight=None, eps=None):
    """PyTorch's formula: x / sqrt(mean(x^2) + eps) * weight over `axes`; eps None: the dtype's machine epsilon."""
    eps = np.finfo(x.dtype).eps if eps is None else eps
    y = x / np.sqrt((x ** 2).mean(axis=axes, keepdims=True) + eps)
    return y if weight is None else y * weight


def np_group_norm(x, groups, weight=None, bias=None, eps=1e-5):
    """PyTorch's formula: x (N, C, *) as (N, groups, rest), each row (x - mean) / sqrt(var + eps), var divided
    by its size; then * weight[c] + bias[c] per channel."""
    grouped = x.reshape(x.shape[0], groups, -1)
    centred = grouped - grouped.mean(axis=2, keepdims=True)
    y = (centred / np.sqrt((centred ** 2).mean(axis=2, keepdims=True) + eps)).reshape(x.shape)
    per_channel = (x.shape[1],) + (1,) * (x.ndim - 2)
    y = y if weight is None else y * weight.reshape(per_channel)
    return y if bias is None else y + bias.reshape(per_channel)


def gradients_match(module, x, loss_of_arrays) -> None:
    """The module's gradients of sum(R * module(x)) with respect to x and each parameter equal central
    differences of `loss_of_arrays(x, **parameters)` (numpy), R a fixed random array."""
    weights = RNG.standard_normal(x.shape)
    t = mg.tensor(x, requires_grad=True)
    (module(t) * mg.tensor(weights)).sum().backward()
    arrays = {name: p.numpy().copy() for name, p in module.named_parameters()}
    np.testing.assert_allclose(t.grad, central_differences(
        lambda a: (loss_of_arrays(a, **arrays) * weights).sum(), x), rtol=1e-6, atol=1e-8)
    for name, p in module.named_parameters():
        def varied(a, name=name):
            return (loss_of_arrays(x, **{**arrays, name: a}) * weights).sum()
        np.testing.assert_allclose(p.grad, central_differences(varied, arrays[name]), rtol=1e-6, atol=1e-8,
                                   err_msg=name)


# ---- F.rms_norm and nn.RMSNorm ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, normalized_shape", [((3, 4), 4), ((2, 3, 4), (4,)), ((2, 3, 4), [3, 4]),
                                                     ((2, 3, 4), (2, 3, 4)), ((4,), 4), ((3, 4), (3, 4))])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 2e-6)])
def test_rms_norm_is_x_over_its_root_mean_square_over_the_last_axes(shape, normalized_shape, dtype, rtol):
    """Over the last len(normalized_shape) axes, an input of exactly normalized_shape too (unbatched), with and
    without a weight, the default eps and a given one."""
    x = RNG.standard_normal(shape).astype(dtype)
    count = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    axes = tuple(range(len(shape) - count, len(shape)))
    weight = RNG.standard_normal(shape[len(shape) - count:]).astype(dtype)
    wide = x.astype(np.float64)
    for given, eps in ((None, np.finfo(dtype).eps), (1e-3, 1e-3)):
        y = F.rms_norm(mg.tensor(x), normalized_shape, eps=given)
        assert y.dtype == dtype and y.shape == shape
        np.testing.assert_allclose(y.numpy(), np_rms_norm(wide, axes, eps=eps), rtol=rtol)
        y = F.rms_norm(mg.tensor(x), normalized_shape, mg.tensor(weight), given)
        np.testing.assert_allclose(y.numpy(), np_rms_norm(wide, axes, weight, eps), rtol=rtol)


def test_rms_norm_default_eps_is_the_machine_epsilon_of_the_dtype_it_is_computed_in():
    """eps=None: numeric_limits<opmath_t>::epsilon() in PyTorch's rms_norm: the dtype's own for float32 and
    float64, float32's for half (which is computed in float32). Small inputs show which eps was added."""
    for dtype, value in ((np.float64, 1e-8), (np.float32, 1e-4)):
        x = np.full(3, value, dtype)
        expected = value / np.sqrt(value ** 2 + np.finfo(dtype).eps)
        np.testing.assert_allclose(F.rms_norm(mg.tensor(x), 3).numpy(), expected, rtol=1e-6)
    half = np.full(2, 1e-4, np.float16)
    wide = half.astype(np.float32)
    expected = (wide / np.sqrt(wide ** 2 + np.finfo(np.float32).eps)).astype(np.float16)     # about 0.28, not
    y = F.rms_norm(mg.tensor(half), 2)                                                      # 0.0032 (half's eps)
    assert y.dtype == np.float16 and y.tolist() == expected.tolist()


def test_half_precision_rms_norm_is_computed_in_float32_as_pytorchs():
    """300^2 overflows half: PyTorch upcasts half to float32, and multiplies by the weight there too."""
    x = mg.tensor([[300.0, -300.0]], dtype=mg.float16)
    assert F.rms_norm(x, 2).tolist() == [[1.0, -1.0]]
    norm = nn.RMSNorm(2).half()
    norm.load_state_dict({"weight": np.array([0.5, 3.0])})
    y = norm(x)
    assert y.dtype == np.float16 and y.tolist() == [[0.5, -3.0]]


def test_rms_norm_module_has_pytorchs_weight_repr_and_no_bias():
    norm = nn.RMSNorm(4)
    assert repr(norm) == "RMSNorm((4,), eps=None, elementwise_affine=True)"
    assert list(norm.state_dict()) == ["weight"] and not hasattr(norm, "bias")
    assert norm.weight.shape == (4,) and norm.weight.dtype == np.float32 and norm.weight.tolist() == [1.0] * 4
    wide = nn.RMSNorm([2, 3], eps=1e-6, dtype=mg.float64)
    assert repr(wide) == "RMSNorm((2, 3), eps=1e-06, elementwise_affine=True)" and wide.weight.shape == (2, 3)
    assert wide.weight.dtype == np.float64
    bare = nn.RMSNorm(3, elementwise_affine=False)
    assert repr(bare) == "RMSNorm((3,), eps=None, elementwise_affine=False)"
    assert bare.weight is None and list(bare.state_dict()) == [] and list(bare.parameters()) == []


@pytest.mark.parametrize("shape, normalized_shape", [((2, 3, 4), 4), ((2, 3, 4), (3, 4)), ((3, 2), (3, 2))])
def test_rms_norm_module_gradients_match_central_differences(shape, normalized_shape):
    norm = nn.RMSNorm(normalized_shape, dtype=mg.float64)
    norm.load_state_dict({"weight": RNG.standard_normal(norm.normalized_shape)})
    axes = tuple(range(len(shape) - len(norm.normalized_shape), len(shape)))
    gradients_match(norm, RNG.standard_normal(shape), lambda x, weight: np_rms_norm(x, axes, weight))
    bare = nn.RMSNorm(normalized_shape, eps=1e-4, elementwise_affine=False, dtype=mg.float64)
    gradients_match(bare, RNG.standard_normal(shape), lambda x: np_rms_norm(x, axes, eps=1e-4))


def test_rms_norm_module_is_mamba_minimals_hand_written_rms_norm():
    """johnma2006/mamba-minimal's RMSNorm (tests/test_pytorch_porting_20.py ports it):
    x * rsqrt(mean(x^2, -1) + eps) * weight with eps = 1e-5, the same formula as nn.RMSNorm(d, eps=1e-5)."""
    x, weight = RNG.standard_normal((2, 5, 6)), RNG.standard_normal(6)
    norm = nn.RMSNorm(6, eps=1e-5, dtype=mg.float64)
    norm.load_state_dict({"weight": weight})
    mamba = x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-5) * weight
    np.testing.assert_allclose(norm(mg.tensor(x)).numpy(), mamba, rtol=1e-13)


def test_rms_norm_state_dict_round_trips():
    trained = nn.RMSNorm((2, 3), dtype=mg.float64)
    trained.load_state_dict({"weight": RNG.standard_normal((2, 3))})
    copy = nn.RMSNorm((2, 3), dtype=mg.float64)
    copy.load_state_dict(trained.state_dict())
    x = mg.tensor(RNG.standard_normal((4, 2, 3)))
    np.testing.assert_array_equal(copy(x).numpy(), trained(x).numpy())
    with pytest.raises(ValueError, match=r"RMSNorm: weight: expected shape \(2, 3\), got \(3,\)"):
        copy.load_state_dict({"weight": np.ones(3)})
    np.testing.assert_array_equal(copy.weight.numpy(), trained.weight.numpy())


def test_rms_norm_says_what_it_expected_and_changes_nothing():
    norm = nn.RMSNorm(3)
    with pytest.raises(ValueError, match=r"rms_norm: normalized_shape \(3,\) expects an input of shape \(\*, 3\), "
                                         r"got \(2, 4\)"):
        norm(mg.zeros(2, 4))
    assert norm.weight.tolist() == [1.0] * 3 and norm.weight.grad is None
    with pytest.raises(TypeError, match="RMSNorm: expected input of dtype float32 .* got float64"):
        norm(mg.zeros(2, 3, dtype=mg.float64))
    with pytest.raises(ValueError, match=r"rms_norm: weight must have shape normalized_shape \(3,\), got \(2,\)"):
        F.rms_norm(mg.zeros(2, 3), 3, weight=mg.ones(2))
    with pytest.raises(TypeError, match="rms_norm: expected a floating-point tensor, got dtype int64"):
        F.rms_norm(mg.tensor([[1, 2]]), 2)
    with pytest.raises(ValueError, match="rms_norm: eps must be a finite number >= 0, got -1"):
        F.rms_norm(mg.zeros(2), 2, eps=-1)
    with pytest.raises(ValueError, match="RMSNorm: normalized_shape must be a positive int .* got 0"):
        nn.RMSNorm(0)
    with pytest.raises(ValueError, match=r"RMSNorm: normalized_shape must be a positive int .* got \(\)"):
        nn.RMSNorm(())
    with pytest.raises(ValueError, match="RMSNorm: eps must be a finite number >= 0, got nan"):
        nn.RMSNorm(3, eps=float("nan"))
    with pytest.raises(ValueError, match="RMSNorm: elementwise_affine must be True or False, got 1"):
        nn.RMSNorm(3, elementwise_affine=1)


# ---- F.group_norm and nn.GroupNorm ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, groups", [((3, 4), 2), ((2, 6, 5), 1), ((2, 6, 5), 3), ((2, 6, 5), 6),
                                           ((2, 4, 3, 2), 2), ((1, 4, 3), 4)])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_group_norm_normalises_each_samples_group_then_scales_and_shifts_each_channel(shape, groups, dtype, rtol):
    """(N, C), (N, C, L) and (N, C, H, W); one group (layer norm over (C, *)), C groups (instance norm) and
    between; with weight and bias and without."""
    x = (RNG.standard_normal(shape) * 3 + 2).astype(dtype)
    weight, bias = RNG.standard_normal(shape[1]).astype(dtype), RNG.standard_normal(shape[1]).astype(dtype)
    wide = x.astype(np.float64)
    y = F.group_norm(mg.tensor(x), groups)
    assert y.dtype == dtype and y.shape == shape
    np.testing.assert_allclose(y.numpy(), np_group_norm(wide, groups), rtol=rtol, atol=rtol)
    y = F.group_norm(mg.tensor(x), groups, mg.tensor(weight), mg.tensor(bias), eps=1e-3)
    np.testing.assert_allclose(y.numpy(), np_group_norm(wide, groups, weight, bias, 1e-3), rtol=rtol, atol=rtol)


def test_group_norm_groups_have_mean_0_and_variance_1_without_eps():
    """The closed form: with eps = 0 each sample's group of C / G channels (and its positions) has mean 0 and
    variance 1 (divided by its size); one group is layer norm over (C, L)."""
    x = mg.tensor(RNG.standard_normal((3, 6, 4)) * 5 - 1)
    grouped = F.group_norm(x, 3, eps=0.0).numpy().reshape(3, 3, 8)
    np.testing.assert_allclose(grouped.mean(axis=2), 0, atol=1e-12)
    np.testing.assert_allclose(grouped.var(axis=2), 1, rtol=1e-12)
    np.testing.assert_allclose(F.group_norm(x, 1).numpy(), F.layer_norm(x, (6, 4)).numpy(), rtol=1e-12)


def test_group_norm_module_has_pytorchs_parameters_and_repr():
    norm = nn.GroupNorm(2, 4)
    assert repr(norm) == "GroupNorm(2, 4, eps=1e-05, affine=True)"
    assert list(norm.state_dict()) == ["weight", "bias"]
    assert norm.weight.tolist() == [1.0] * 4 and norm.bias.tolist() == [0.0] * 4
    assert norm.weight.dtype == np.float32 and nn.GroupNorm(1, 3, dtype=mg.float64).bias.dtype == np.float64
    bare = nn.GroupNorm(3, 6, eps=1e-3, affine=False)
    assert repr(bare) == "GroupNorm(3, 6, eps=0.001, affine=False)"
    assert bare.weight is None and bare.bias is None and list(bare.state_dict()) == []


@pytest.mark.parametrize("shape, groups", [((2, 4), 2), ((2, 6, 3), 3), ((1, 4, 2, 2), 1)])
def test_group_norm_module_gradients_match_central_differences(shape, groups):
    norm = nn.GroupNorm(groups, shape[1], dtype=mg.float64)
    norm.load_state_dict({"weight": RNG.standard_normal(shape[1]), "bias": RNG.standard_normal(shape[1])})
    gradients_match(norm, RNG.standard_normal(shape),
                    lambda x, weight, bias: np_group_norm(x, groups, weight, bias))
    bare = nn.GroupNorm(groups, shape[1], eps=1e-2, affine=False, dtype=mg.float64)
    gradients_match(bare, RNG.standard_normal(shape), lambda x: np_group_norm(x, groups, eps=1e-2))


def test_group_norm_state_dict_round_trips():
    trained = nn.GroupNorm(2, 4, dtype=mg.float64)
    trained.load_state_dict({"weight": RNG.standard_normal(4), "bias": RNG.standard_normal(4)})
    copy = nn.GroupNorm(2, 4, dtype=mg.float64)
    copy.load_state_dict(trained.state_dict())
    x = mg.tensor(RNG.standard_normal((3, 4, 5)))
    np.testing.assert_array_equal(copy(x).numpy(), trained(x).numpy())
    with pytest.raises(ValueError, match=r"GroupNorm: weight: expected shape \(4,\), got \(3,\)"):
        copy.load_state_dict({"weight": np.ones(3), "bias": np.zeros(4)})
    np.testing.assert_array_equal(copy.bias.numpy(), trained.bias.numpy())


def test_group_norm_of_an_empty_batch_or_empty_positions_is_empty():
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # (no mean of an empty slice)
        assert nn.GroupNorm(2, 4)(mg.zeros(0, 4, 3)).shape == (0, 4, 3)
        assert F.group_norm(mg.zeros(2, 4, 0), 2).shape == (2, 4, 0)


def test_half_precision_group_norm_is_computed_in_float32_as_pytorchs():
    norm = nn.GroupNorm(1, 2).half()
    y = norm(mg.tensor([[-300.0, 300.0]], dtype=mg.float16))
    assert y.dtype == np.float16 and y.tolist() == [[-1.0, 1.0]]


def test_group_norm_says_what_it_expected_and_changes_nothing():
    with pytest.raises(ValueError, match="GroupNorm: num_channels must be divisible by num_groups, got "
                                         "num_channels=4 and num_groups=3"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="GroupNorm: num_groups must be a positive integer, got 0"):
        nn.GroupNorm(0, 4)
    with pytest.raises(ValueError, match="GroupNorm: num_channels must be an integer >= 0, got 4.0"):
        nn.GroupNorm(2, 4.0)
    with pytest.raises(ValueError, match="GroupNorm: affine must be True or False, got None"):
        nn.GroupNorm(2, 4, affine=None)
    norm = nn.GroupNorm(2, 4)
    for shape in [(2, 6), (4,)]:
        with pytest.raises(ValueError, match=re.escape(f"GroupNorm: expected input of shape (N, 4, *), got {shape}")):
            norm(mg.zeros(shape))
    with pytest.raises(TypeError, match="GroupNorm: expected input of dtype float32 .* got int64"):
        norm(mg.zeros((2, 4), dtype=mg.int64))
    assert norm.weight.tolist() == [1.0] * 4 and norm.weight.grad is None and norm.bias.tolist() == [0.0] * 4
    with pytest.raises(ValueError, match=r"group_norm: expected an input of shape \(N, C, \*\) with C divisible by "
                                         r"num_groups = 2, got \(2, 3\)"):
        F.group_norm(mg.zeros(2, 3), 2)
    with pytest.raises(ValueError, match=r"group_norm: expected an input of shape .* got \(4,\)"):
        F.group_norm(mg.zeros(4), 2)
    with pytest.raises(ValueError, match=r"group_norm: bias must have shape \(C,\) = \(4,\), got \(2,\)"):
        F.group_norm(mg.zeros(2, 4), 2, mg.ones(4), mg.zeros(2))
    with pytest.raises(TypeError, match="group_norm: expected a floating-point tensor, got dtype int64"):
        F.group_norm(mg.tensor([[1, 2]]), 1)
    with pytest.raises(ValueError, match="group_norm: eps must be a finite number >= 0, got -0.1"):
        F.group_norm(mg.zeros(2, 4), 2, eps=-0.1)


def test_group_norm_refuses_one_value_per_channel_as_pytorchs():
    """PyTorch's F.group_norm runs batch norm's check on the (N C / G, G, *) view: N C / G times the trailing
    sizes must not be 1 (ValueError, as PyTorch's)."""
    with pytest.raises(ValueError, match=r"group_norm: Expected more than 1 value per channel when training, got "
                                         r"input size \[1, 2\]"):
        F.group_norm(mg.zeros(1, 2), 2)
    with pytest.raises(ValueError, match=r"input size \[1, 3, 1\]"):
        nn.GroupNorm(3, 3)(mg.zeros(1, 3, 1))
    np.testing.assert_allclose(F.group_norm(mg.tensor([[1.0, 3.0]]), 1).numpy(), [[-1.0, 1.0]], rtol=1e-5)


def test_half_precision_rms_norm_rounds_once_after_the_weight():
    """PyTorch's rms_norm_composite multiplies by the weight in float32 and rounds once: rounding x / rms to half
    first, then multiplying by the weight in half, gives other values."""
    x = np.array([[0.13, -0.13, 0.64, 0.1, -0.54]], np.float16)
    weight = np.array([0.36, 1.3, 0.95, -0.7, -1.27], np.float16)
    wide = x.astype(np.float32)
    normalised = wide / np.sqrt((wide ** 2).mean(-1, keepdims=True) + np.finfo(np.float32).eps)
    expected = (normalised * weight.astype(np.float32)).astype(np.float16)
    rounded_twice = normalised.astype(np.float16) * weight
    assert expected.tolist() != rounded_twice.tolist()
    assert F.rms_norm(mg.tensor(x), 5, mg.tensor(weight)).tolist() == expected.tolist()


def test_rms_norm_result_has_the_inputs_dtype_whatever_the_weights():
    """PyTorch's composite ends in type_as(input): a float64 weight (a numpy array) does not make it float64."""
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    y = F.rms_norm(mg.tensor(x), 3, np.full(3, 2.0))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), np_rms_norm(x.astype(np.float64), (1,), eps=np.finfo(np.float32).eps) * 2,
                               rtol=1e-6)


def test_half_precision_group_norm_scales_and_shifts_in_float32_and_rounds_once():
    """PyTorch's CPU kernel computes x * scale + shift (scale = rstd * weight) in float32 and rounds once; a half
    input with float32 parameters (its mixed-type case) gives half too."""
    x = (np.linspace(-3, 3, 24).reshape(2, 4, 3) ** 3).astype(np.float16)
    weight = np.array([1.37, -0.61, 2.3, 0.93], np.float16)
    bias = np.array([0.11, -0.29, 0.7, 0.05], np.float16)
    expected = np_group_norm(x.astype(np.float64), 2, weight.astype(np.float64), bias.astype(np.float64))
    expected = expected.astype(np.float16)
    for w, b in ((weight, bias), (weight.astype(np.float32), bias.astype(np.float32))):
        y = F.group_norm(mg.tensor(x), 2, mg.tensor(w), mg.tensor(b))
        assert y.dtype == np.float16
        np.testing.assert_array_equal(y.numpy(), expected)


def test_half_precision_layer_norm_rounds_once_after_the_weight_and_bias():
    """As rms_norm and group_norm: PyTorch's layer norm kernel computes (x - mean) / sqrt(var + eps) * weight + bias
    in float32 for half and rounds once; rounding the normalised values to half first gives other values."""
    draws = np.random.default_rng(7)
    x, weight, bias = (draws.standard_normal(shape).astype(np.float16) for shape in ((2, 64), 64, 64))
    wide = x.astype(np.float32)
    centred = wide - wide.mean(-1, keepdims=True)
    normalised = centred / np.sqrt((centred ** 2).mean(-1, keepdims=True) + np.float32(1e-5))
    expected = (normalised * weight.astype(np.float32) + bias.astype(np.float32)).astype(np.float16)
    rounded_twice = normalised.astype(np.float16) * weight + bias
    assert expected.tolist() != rounded_twice.tolist()
    y = F.layer_norm(mg.tensor(x), (64,), mg.tensor(weight), mg.tensor(bias))
    assert y.dtype == np.float16 and y.tolist() == expected.tolist()
