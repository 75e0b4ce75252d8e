"""F.conv1d and nn.Conv1d, PyTorch's 1-d convolution, a composite of primitive ops (pad, strided slices,
stack, matmul): values against a direct loop over output positions written here in numpy, gradients
against central differences and tangents against directional differences of that loop, in float64;
the padding modes against numpy's own np.pad; the module's parameters, state dict, init bounds and
repr; every error, naming the function or the module. No PyTorch needed."""

import math

import numpy as np
import pytest
from test_forward_mode import directional_difference
from test_op_gradients import central_differences

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq import random as library_random


# ---- the reference: a loop over output positions ---------------------------------------------------

def np_conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, o, t] = b[o] + sum_c sum_k w[o, c, k] x_pad[n, g Cg + c, s t + d k], o in group g; by loops.
    padding an int, "valid" or "same" (d (K - 1) zeros in all, the odd one on the right)."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    unbatched = x.ndim == 2
    x = x[None] if unbatched else x
    out_channels, group_channels, kernel = w.shape
    if padding == "valid":
        left = right = 0
    elif padding == "same":
        total = dilation * (kernel - 1)
        left, right = total // 2, total - total // 2
    else:
        left = right = padding
    padded = np.concatenate([np.zeros(x.shape[:2] + (left,)), x, np.zeros(x.shape[:2] + (right,))], axis=2)
    length = (padded.shape[2] - dilation * (kernel - 1) - 1) // stride + 1
    per_group = out_channels // groups
    y = np.zeros((x.shape[0], out_channels, length))
    for n in range(x.shape[0]):
        for o in range(out_channels):
            first = (o // per_group) * group_channels
            for t in range(length):
                total = 0.0 if b is None else b[o]
                for c in range(group_channels):
                    for k in range(kernel):
                        total += w[o, c, k] * padded[n, first + c, stride * t + dilation * k]
                y[n, o, t] = total
    return y[0] if unbatched else y


# (input shape, weight shape, stride, padding, dilation, groups, bias)
CASES = [
    ((2, 3, 10), (4, 3, 3), 1, 0, 1, 1, True),
    ((1, 2, 7), (5, 2, 1), 1, 0, 1, 1, True),                # a 1-wide kernel: a per-position linear map
    ((3, 4, 11), (6, 2, 4), 2, 3, 2, 2, True),               # stride, padding, dilation, groups together
    ((2, 4, 9), (4, 1, 3), 1, "same", 2, 4, False),          # depthwise: groups = C_in, no bias
    ((2, 3, 8), (2, 3, 4), 1, "same", 1, 1, True),           # an even kernel: the odd zero on the right
    ((2, 3, 8), (3, 3, 2), 3, "valid", 1, 1, False),
    ((2, 6, 12), (6, 2, 3), 2, (1,), (3,), 3, True),         # PyTorch's 1-tuples
    ((3, 9), (4, 3, 3), 2, 1, 1, 1, True),                   # unbatched (C_in, L)
    ((1, 1, 5), (1, 1, 5), 1, 0, 1, 1, True),                # kernel as long as the input: one position
]
IDS = [f"x{x}-w{w}-s{s}-p{p}-d{d}-g{g}-{'b' if b else 'nob'}" for x, w, s, p, d, g, b in CASES]


def arrays_of(case, seed=0):
    x_shape, w_shape, stride, padding, dilation, groups, with_bias = case
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if with_bias:
        arrays.append(rng.standard_normal(w_shape[0]))
    plain = lambda p: p[0] if isinstance(p, tuple) else p  # noqa: E731
    options = dict(stride=plain(stride), padding=plain(padding), dilation=plain(dilation), groups=groups)
    given = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return arrays, given, options


def bound(fn, given):
    """fn(x, w[, b]) of tensors with the options bound; bias None when there are only two."""
    return lambda x, w, b=None: fn(x, w, b, **given)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_values_match_the_loop(case):
    arrays, given, options = arrays_of(case)
    y = F.conv1d(*[mg.tensor(a, dtype=np.float64) for a in arrays], **given)
    expected = np_conv1d(*arrays, **options)
    assert y.shape == expected.shape and y.dtype == np.float64
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-12)


def test_output_lengths_are_pytorchs_formula():
    """L_out = floor((L + 2p - d (K - 1) - 1) / s) + 1; "same" keeps L for odd and even kernels."""
    for length, kernel, stride, padding, dilation in [(10, 3, 1, 0, 1), (10, 3, 2, 0, 1), (11, 4, 3, 2, 2),
                                                      (7, 7, 1, 0, 1), (5, 2, 4, 3, 3), (100, 5, 7, 1, 1)]:
        x, w = mg.zeros((1, 2, length), dtype=np.float64), mg.zeros((3, 2, kernel), dtype=np.float64)
        expected = (length + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
        assert F.conv1d(x, w, None, stride, padding, dilation).shape == (1, 3, expected)
    for kernel in (1, 2, 3, 4, 5):
        for dilation in (1, 2, 3):
            x, w = mg.zeros((2, 2, 9), dtype=np.float64), mg.zeros((1, 2, kernel), dtype=np.float64)
            assert F.conv1d(x, w, padding="same", dilation=dilation).shape == (2, 1, 9)


def test_a_small_case_by_hand():
    """x = [1, 2, 3, 4], w = [1, 0, -1] (one channel), bias 0.5, padding 1: the differences x[t-1] - x[t+1]."""
    y = F.conv1d(mg.tensor([[[1.0, 2.0, 3.0, 4.0]]]), mg.tensor([[[1.0, 0.0, -1.0]]]), mg.tensor([0.5]), padding=1)
    np.testing.assert_array_equal(y.data, [[[0.5 - 2.0, 1.0 - 3.0 + 0.5, 2.0 - 4.0 + 0.5, 3.0 + 0.5]]])
    assert y.dtype == np.float32


def test_the_same_padding_puts_the_odd_zero_on_the_right():
    """K = 2, weight [1, 1]: "same" pads (0, 1), so y[t] = x[t] + x[t + 1] and the last is x[-1] alone."""
    y = F.conv1d(mg.tensor([[1.0, 10.0, 100.0]]), mg.tensor([[[1.0, 1.0]]]), padding="same")
    np.testing.assert_array_equal(y.data, [[11.0, 110.0, 100.0]])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradients_match_central_differences(case):
    arrays, given, options = arrays_of(case, seed=1)
    tensors = [mg.tensor(a, requires_grad=True, dtype=np.float64) for a in arrays]
    y = F.conv1d(*tensors, **given)
    weights = np.random.default_rng(2).standard_normal(y.shape)
    (y * weights).sum().backward()
    for k, (t, a) in enumerate(zip(tensors, arrays)):
        def weighted(v, k=k):
            return float(np.sum(np_conv1d(*arrays[:k], v, *arrays[k + 1:], **options) * weights))
        assert t.grad is not None and t.grad.shape == a.shape and t.grad.dtype == np.float64
        np.testing.assert_allclose(t.grad, central_differences(weighted, a), rtol=1e-6, atol=1e-8,
                                   err_msg=f"gradient of operand {k}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_tangents_match_directional_differences(case):
    """mg.jvp along one direction on every operand, then on each alone, then k = 2 directions in one pass."""
    arrays, given, options = arrays_of(case, seed=3)
    rng = np.random.default_rng(4)
    fn, np_fn = bound(F.conv1d, given), bound(np_conv1d, options)
    directions = [rng.standard_normal((2,) + a.shape) for a in arrays]
    for alone in [None, *range(len(arrays))]:
        chosen = [v[0] if alone in (None, k) else np.zeros_like(v[0]) for k, v in enumerate(directions)]
        output, tangent = mg.jvp(fn, [mg.tensor(a, dtype=np.float64) for a in arrays], chosen)
        np.testing.assert_allclose(output.data, np_fn(*arrays), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(tangent, directional_difference(np_fn, arrays, chosen), rtol=1e-6, atol=1e-8)
    _, tangents = mg.jvp(fn, [mg.tensor(a, dtype=np.float64) for a in arrays], directions)
    assert tangents.shape == (2,) + np_fn(*arrays).shape
    for d in range(2):
        np.testing.assert_allclose(tangents[d], directional_difference(np_fn, arrays, [v[d] for v in directions]),
                                   rtol=1e-6, atol=1e-8)


def test_gradcheck_passes():
    rng = np.random.default_rng(5)
    x, w, b = (mg.tensor(rng.standard_normal(s), requires_grad=True, dtype=np.float64)
               for s in [(2, 4, 9), (6, 2, 3), (6,)])
    assert mg.gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=2, dilation=2, groups=2), [x, w, b])


def test_unbatched_input_is_one_sequence_of_a_batch():
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((3, 8)), rng.standard_normal((4, 3, 3)), rng.standard_normal(4)
    t = mg.tensor(x, requires_grad=True, dtype=np.float64)
    y = F.conv1d(t, mg.tensor(w, dtype=np.float64), mg.tensor(b, dtype=np.float64), padding=1)
    assert y.shape == (4, 8)
    np.testing.assert_allclose(y.data, np_conv1d(x[None], w, b, padding=1)[0], rtol=1e-12, atol=1e-12)
    y.sum().backward()
    assert t.grad.shape == (3, 8)


def test_float32_stays_float32():
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 4, 12)), rng.standard_normal((6, 2, 3)), rng.standard_normal(6)
    tensors = [mg.tensor(a, requires_grad=True, dtype=np.float32) for a in (x, w, b)]
    y = F.conv1d(*tensors, stride=2, padding="valid", dilation=2, groups=2)
    assert y.dtype == np.float32
    expected = np_conv1d(*(a.astype(np.float32) for a in (x, w, b)), stride=2, dilation=2, groups=2)
    np.testing.assert_allclose(y.data, expected, rtol=1e-5, atol=1e-5)
    y.sum().backward()
    assert all(t.grad.dtype == np.float32 for t in tensors)
    # d sum(y) / d b[o] = the number of output positions
    np.testing.assert_allclose(tensors[2].grad, np.full(6, y.shape[0] * y.shape[2]))


def test_input_gradient_with_a_constant_weight_by_hand():
    rng = np.random.default_rng(8)
    x = mg.tensor(rng.standard_normal((1, 2, 6)), requires_grad=True, dtype=np.float64)
    w = rng.standard_normal((1, 2, 3))                          # a numpy constant, as PyTorch takes a tensor
    F.conv1d(x, mg.tensor(w, dtype=np.float64)).sum().backward()
    # d sum(y) / d x[c, j] = the sum of the weights w[c, k] whose window covers j
    expected = np.zeros((2, 6))
    for t in range(4):
        expected[:, t:t + 3] += w[0]
    np.testing.assert_allclose(x.grad[0], expected, rtol=1e-12)


def test_nn_functional_and_functional_are_one_function():
    assert F.conv1d is mg.functional.conv1d


# ---- errors ----------------------------------------------------------------------------------------

X, W = mg.zeros((2, 4, 10)), mg.zeros((6, 4, 3))


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv1d(mg.zeros(10), W), ValueError, r"conv1d: expected input of 2 axes .* got shape \(10,\)"),
    (lambda: F.conv1d(mg.zeros((1, 2, 4, 10)), W), ValueError, r"conv1d: expected input .* got shape \(1, 2, 4, 10\)"),
    (lambda: F.conv1d(X, mg.zeros((6, 4))), ValueError, r"conv1d: expected weight of 3 axes .* got shape \(6, 4\)"),
    (lambda: F.conv1d(mg.zeros((2, 5, 10)), W), ValueError,
     r"conv1d: weight of shape \(6, 4, 3\) with groups=1 expects input with 4 channels .* got .* 5 channels"),
    (lambda: F.conv1d(X, mg.zeros((6, 3, 3)), groups=2), ValueError, r"conv1d: .*groups=2 expects input with 6 "),
    (lambda: F.conv1d(X, mg.zeros((5, 2, 3)), groups=2), ValueError, r"conv1d: groups=2 must divide out_channels.* 5"),
    (lambda: F.conv1d(X, W, groups=0), ValueError, r"conv1d: expected groups a positive integer, got 0"),
    (lambda: F.conv1d(X, W, stride=0), ValueError, r"conv1d: expected stride positive \(>= 1\), got 0"),
    (lambda: F.conv1d(X, W, stride=(-2,)), ValueError, r"conv1d: expected stride positive \(>= 1\), got \(-2,\)"),
    (lambda: F.conv1d(X, W, dilation=0), ValueError, r"conv1d: expected dilation positive \(>= 1\), got 0"),
    (lambda: F.conv1d(X, W, padding=-1), ValueError, r"conv1d: expected padding non-negative \(>= 0\), got -1"),
    (lambda: F.conv1d(X, W, stride=2, padding="same"), ValueError,
     r"conv1d: padding='same' is not supported for strided convolutions .* stride=2"),
    (lambda: F.conv1d(X, W, padding="full"), ValueError, r"conv1d: padding must be an integer, 'valid' or 'same', "
                                                         r"got 'full'"),
    (lambda: F.conv1d(mg.zeros((2, 4, 3)), mg.zeros((6, 4, 5))), ValueError,
     r"conv1d: the padded input length 3 .* shorter than the dilated kernel, 1 \* \(5 - 1\) \+ 1 = 5"),
    (lambda: F.conv1d(X, W, dilation=5), ValueError, r"conv1d: the padded input length 10 .* = 11"),
    (lambda: F.conv1d(X, W, stride=(1, 1)), TypeError, r"conv1d: expected stride to be a single integer or a tuple "
                                                       r"of 1 integer, got \(1, 1\)"),
    (lambda: F.conv1d(X, W, padding=1.5), TypeError, r"conv1d: expected padding to be a single integer"),
    (lambda: F.conv1d(X, W, mg.zeros(4)), ValueError, r"conv1d: expected bias of shape \(6,\) .* got \(4,\)"),
    (lambda: F.conv1d(X, mg.zeros((6, 4, 3), dtype=np.float64)), TypeError,
     r"conv1d: expected input of one floating-point dtype with the weight \(float64\), got float32"),
    (lambda: F.conv1d(X, W, mg.zeros(6, dtype=np.float64)), TypeError, r"conv1d: expected bias .* got float64"),
    (lambda: F.conv1d(mg.zeros((2, 4, 10), dtype=np.int64), W), TypeError, r"conv1d: expected input .* got int64"),
])
def test_errors_name_conv1d_what_was_expected_and_what_came(call, error, message):
    with pytest.raises(error, match=message):
        call()


def generator_state():
    return library_random.default_generator().bit_generator.state


@pytest.mark.parametrize("arguments, error, message", [
    (dict(in_channels=5, out_channels=6, kernel_size=3, groups=2), ValueError,
     r"Conv1d: in_channels must be divisible by groups, got in_channels=5"),
    (dict(in_channels=4, out_channels=5, kernel_size=3, groups=2), ValueError,
     r"Conv1d: out_channels must be divisible by groups, got .*out_channels=5"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, groups=0), ValueError, r"Conv1d: groups must be a positive"),
    (dict(in_channels=0, out_channels=6, kernel_size=3), ValueError, r"Conv1d: in_channels must be a positive"),
    (dict(in_channels=4, out_channels=6, kernel_size=0), ValueError, r"Conv1d: expected kernel_size positive"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, stride=0), ValueError, r"Conv1d: expected stride positive"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, dilation=-1), ValueError, r"Conv1d: expected dilation posi"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, padding=-2), ValueError, r"Conv1d: expected padding non-neg"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding="same"), ValueError,
     r"Conv1d: padding='same' is not supported for strided convolutions"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, padding="causal"), ValueError,
     r"Conv1d: padding must be an integer, 'valid' or 'same', got 'causal'"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, padding_mode="mirror"), ValueError,
     r"Conv1d: padding_mode must be one of \('zeros', 'reflect', 'replicate', 'circular'\), got 'mirror'"),
    (dict(in_channels=4, out_channels=6, kernel_size=(3, 3)), TypeError,
     r"Conv1d: expected kernel_size to be a single integer or a tuple of 1 integer, got \(3, 3\)"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, bias=1), ValueError, r"Conv1d: bias must be True or False"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, rng=3), TypeError, r"Conv1d: rng must be a numpy"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, dtype=np.int64), TypeError,
     r"Conv1d: expected a floating-point dtype, got int64"),
])
def test_module_errors_come_before_anything_is_drawn(arguments, error, message):
    """Each bad setting is refused, naming Conv1d, and the library's generator has drawn nothing."""
    before = generator_state()
    with pytest.raises(error, match=message):
        nn.Conv1d(**arguments)
    assert generator_state() == before


def test_module_forward_errors_name_conv1d():
    layer = nn.Conv1d(4, 6, 3, padding=2, padding_mode="reflect", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"Conv1d: .*expects input with 4 channels.* got input of shape \(2, 3, 9\)"):
        layer(mg.zeros((2, 3, 9)))
    with pytest.raises(ValueError, match=r"Conv1d: expected input of 2 axes .* got shape \(9,\)"):
        layer(mg.zeros(9))
    with pytest.raises(ValueError, match=r"Conv1d: padding_mode='reflect' needs the padding \(2, 2\) smaller than "
                                         r"the input length, got input of shape \(1, 4, 2\)"):
        layer(mg.zeros((1, 4, 2)))
    circular = nn.Conv1d(4, 6, 3, padding=3, padding_mode="circular", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"Conv1d: padding_mode='circular' needs the padding \(3, 3\) at most"):
        circular(mg.zeros((1, 4, 2)))
    with pytest.raises(TypeError, match=r"Conv1d: expected input of dtype float32 \(the module's\), got float64"):
        nn.Conv1d(4, 6, 3)(mg.zeros((1, 4, 9), dtype=np.float64))
    with pytest.raises(ValueError, match=r"Conv1d: the padded input length 2 .* no output position"):
        nn.Conv1d(4, 6, 3)(mg.zeros((1, 4, 2)))


# ---- the module ------------------------------------------------------------------------------------

def test_module_parameters_and_state_dict_are_pytorchs():
    layer = nn.Conv1d(6, 8, 5, groups=2, rng=np.random.default_rng(0))
    assert [(name, p.shape) for name, p in layer.named_parameters()] == [("weight", (8, 3, 5)), ("bias", (8,))]
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert (layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding, layer.dilation,
            layer.groups, layer.padding_mode) == (6, 8, (5,), (1,), (0,), (1,), 2, "zeros")
    without = nn.Conv1d(6, 8, (5,), bias=False, padding="same", dtype=np.float64)
    assert without.bias is None and list(without.state_dict()) == ["weight"] and without.padding == "same"
    assert without.weight.dtype == np.float64


def test_a_state_dict_moves_between_modules():
    """Arrays of PyTorch's layout (weight (out, in / groups, K), bias (out,)) load under PyTorch's keys,
    and the module then computes the loop's values with them."""
    rng = np.random.default_rng(9)
    state = {"weight": rng.standard_normal((4, 3, 3)), "bias": rng.standard_normal(4)}
    layer = nn.Conv1d(3, 4, 3, padding=1, dtype=np.float64)
    layer.load_state_dict(state)
    x = rng.standard_normal((2, 3, 7))
    np.testing.assert_allclose(layer(mg.tensor(x, dtype=np.float64)).data,
                               np_conv1d(x, state["weight"], state["bias"], padding=1), rtol=1e-12, atol=1e-12)
    copy = nn.Conv1d(3, 4, 3, padding=1, dtype=np.float64)
    copy.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(copy.weight.data, state["weight"])
    with pytest.raises(ValueError):
        nn.Conv1d(3, 4, 5).load_state_dict(state)


def test_init_is_uniform_within_one_over_the_root_of_fan_in():
    """kaiming_uniform_(a=sqrt(5)): bound gain sqrt(3 / fan_in) with gain sqrt(2 / (1 + 5)), that is
    1 / sqrt(fan_in), fan_in = in_channels / groups * kernel_size; the bias from the same bound.
    Uniform(-B, B) has mean 0 and variance B^2 / 3; with 61,440 draws the largest |w| is within 0.1% of B."""
    layer = nn.Conv1d(64, 192, 5, groups=1, rng=np.random.default_rng(10))
    bound = math.sqrt(2 / 6) * math.sqrt(3 / (64 * 5))
    assert bound == pytest.approx(1 / math.sqrt(320))
    w = layer.weight.data.astype(np.float64)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound
    assert abs(w.mean()) < 0.01 * bound and w.var() == pytest.approx(bound ** 2 / 3, rel=0.02)
    b = layer.bias.data.astype(np.float64)
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound
    grouped = nn.Conv1d(64, 64, 3, groups=16, bias=True, rng=np.random.default_rng(11))
    small = 1 / math.sqrt(4 * 3)
    assert np.abs(grouped.weight.data).max() <= small and np.abs(grouped.weight.data).max() > 0.99 * small
    assert np.abs(grouped.bias.data).max() <= small


def test_init_follows_rng_and_the_library_s_seed():
    a, b = (nn.Conv1d(3, 4, 3, rng=np.random.default_rng(12)) for _ in range(2))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    mg.manual_seed(13)
    c = nn.Conv1d(3, 4, 3)
    mg.manual_seed(13)
    d = nn.Conv1d(3, 4, 3)
    np.testing.assert_array_equal(c.weight.data, d.weight.data)
    assert not np.array_equal(c.weight.data, a.weight.data)


@pytest.mark.parametrize("arguments, text", [
    (dict(in_channels=16, out_channels=33, kernel_size=3, stride=2), "Conv1d(16, 33, kernel_size=(3,), stride=(2,))"),
    (dict(in_channels=4, out_channels=6, kernel_size=3), "Conv1d(4, 6, kernel_size=(3,), stride=(1,))"),
    (dict(in_channels=4, out_channels=6, kernel_size=4, padding="same", dilation=2, groups=2, bias=False,
          padding_mode="reflect"),
     "Conv1d(4, 6, kernel_size=(4,), stride=(1,), padding=same, dilation=(2,), groups=2, bias=False, "
     "padding_mode=reflect)"),
    (dict(in_channels=2, out_channels=2, kernel_size=(5,), padding=(2,), padding_mode="circular"),
     "Conv1d(2, 2, kernel_size=(5,), stride=(1,), padding=(2,), padding_mode=circular)"),
])
def test_repr_is_pytorchs(arguments, text):
    assert repr(nn.Conv1d(**arguments, rng=np.random.default_rng(0))) == text


def test_module_computes_the_loop_with_its_weights():
    layer = nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, dtype=np.float64,
                      rng=np.random.default_rng(14))
    x = np.random.default_rng(15).standard_normal((3, 4, 13))
    y = layer(mg.tensor(x, dtype=np.float64))
    np.testing.assert_allclose(y.data, np_conv1d(x, layer.weight.data, layer.bias.data, 2, 1, 2, 2),
                               rtol=1e-12, atol=1e-12)
    y.sum().backward()
    assert layer.weight.grad.shape == (6, 2, 3) and layer.bias.grad.shape == (6,)
    np.testing.assert_allclose(layer.bias.grad, np.full(6, 3 * y.shape[2]))


# ---- padding modes: against numpy's np.pad -----------------------------------------------------------

NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def test_padding_by_hand():
    """x = [1, 2, 3], two on each side, through a 1-wide identity kernel: the padded input itself."""
    expected = {"zeros": [0, 0, 1, 2, 3, 0, 0], "reflect": [3, 2, 1, 2, 3, 2, 1],
                "replicate": [1, 1, 1, 2, 3, 3, 3], "circular": [2, 3, 1, 2, 3, 1, 2]}
    for mode, values in expected.items():
        layer = nn.Conv1d(1, 1, 1, padding=2, padding_mode=mode, bias=False, dtype=np.float64)
        layer.load_state_dict({"weight": np.ones((1, 1, 1))})
        np.testing.assert_array_equal(layer(mg.tensor([[1.0, 2.0, 3.0]], dtype=np.float64)).data, [values])


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding, kernel, dilation, batched", [(2, 3, 1, True), ("same", 4, 1, True),
                                                                ("same", 3, 2, False), (1, 2, 1, True)])
def test_padding_modes_value_gradient_and_tangent(mode, padding, kernel, dilation, batched):
    """Conv1d(padding_mode=mode) is np.pad(x, mode) (reflect, edge, wrap) then the loop without padding:
    its value, the gradients of input, weight and bias (central differences) and the input's tangent."""
    rng = np.random.default_rng(16)
    layer = nn.Conv1d(2, 3, kernel, padding=padding, dilation=dilation, padding_mode=mode, dtype=np.float64,
                      rng=rng)
    w, b = layer.weight.data.copy(), layer.bias.data.copy()
    total = dilation * (kernel - 1) if padding == "same" else 2 * padding
    left, right = total // 2, total - total // 2

    def np_fn(x, w=w, b=b):
        widths = ((0, 0),) * (x.ndim - 1) + ((left, right),)
        return np_conv1d(np.pad(x, widths, mode=NUMPY_MODES[mode]), w, b, dilation=dilation)
    x = rng.standard_normal((2, 2, 6) if batched else (2, 6))
    t = mg.tensor(x, requires_grad=True, dtype=np.float64)
    y = layer(t)
    np.testing.assert_allclose(y.data, np_fn(x), rtol=1e-12, atol=1e-12)
    weights = rng.standard_normal(y.shape)
    (y * weights).sum().backward()
    np.testing.assert_allclose(t.grad, central_differences(lambda v: float(np.sum(np_fn(v) * weights)), x),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(layer.weight.grad,
                               central_differences(lambda v: float(np.sum(np_fn(x, w=v) * weights)), w),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(layer.bias.grad, weights.sum(axis=(0, 2) if batched else 1), rtol=1e-12)
    v = rng.standard_normal(x.shape)
    _, tangent = mg.jvp(layer, [mg.tensor(x, dtype=np.float64)], [v])
    np.testing.assert_allclose(tangent, directional_difference(np_fn, [x], [v]), rtol=1e-6, atol=1e-8)


def test_tangent_of_a_depthwise_weight_alone():
    """The weight's tangent on its own (input and bias constants), depthwise with "same" padding, against
    the directional difference of the loop."""
    rng = np.random.default_rng(17)
    x, w, b = rng.standard_normal((2, 4, 9)), rng.standard_normal((4, 1, 3)), rng.standard_normal(4)
    v = rng.standard_normal(w.shape)
    fn = lambda w_: F.conv1d(mg.tensor(x, dtype=np.float64), w_, mg.tensor(b, dtype=np.float64),  # noqa: E731
                             padding="same", groups=4)
    _, tangent = mg.jvp(fn, [mg.tensor(w, dtype=np.float64)], [v])
    expected = directional_difference(lambda w_: np_conv1d(x, w_, b, padding="same", groups=4), [w], [v])
    np.testing.assert_allclose(tangent, expected, rtol=1e-6, atol=1e-8)


def test_a_conv_net_trains():
    """Two Conv1d layers and a ReLU learn to copy a sequence shifted by one step (y[t] = x[t - 1]): the
    loss falls by 100x in 200 Adam steps."""
    rng = np.random.default_rng(18)
    model = nn.Sequential(nn.Conv1d(1, 8, 3, padding=1, rng=rng), nn.ReLU(), nn.Conv1d(8, 1, 3, padding=1, rng=rng))
    optimizer = mg.optim.Adam(model.parameters(), lr=0.02)
    x = rng.standard_normal((16, 1, 20)).astype(np.float32)
    target = np.concatenate([np.zeros((16, 1, 1), np.float32), x[:, :, :-1]], axis=2)
    losses = []
    for _ in range(200):
        optimizer.zero_grad()
        loss = ((model(mg.tensor(x)) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 100
