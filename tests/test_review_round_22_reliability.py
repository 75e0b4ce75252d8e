"""Reliability review of the features of the last two rounds against PyTorch 2.13 (CPU): `nn.Conv1d` and
`F.conv1d`, the four 1-d pools, `weight_norm` / `remove_weight_norm`, `mg.logcumsumexp`, the activations'
top-level spellings (`mg.selu`, `celu`, `threshold`, `hardshrink`, `prelu`, `cosine_similarity`,
`pairwise_distance`) and `nn.utils.get_total_norm` / `clip_grads_with_norm_`.

Each was run side by side with PyTorch 2.13 in paired scenario scripts: bad arguments of every kind (types,
bools, zero and negative sizes, ranks, shapes, dtypes, NaN and inf, kernels longer than the padded input,
unknown strings), state_dict round trips and failed loads, `mg.save` / `mg.load`, `copy.deepcopy`, dtype
moves, `no_grad`, forward mode (`mg.jvp`, `mg.func.jacfwd`), a TBPTT run over a causal convolution, and
values and gradients at edge shapes. The tests below pin what differed (or was wrong) and a few things that
were right. Expected values are closed forms, numpy written out by hand, or central differences; none
comes from the library.
"""

import copy
import math
import re

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq.nn.utils.weight_norm import remove_weight_norm, weight_norm

from test_op_gradients import central_differences


def leaf(values, dtype=np.float64):
    return mg.tensor(np.array(values, dtype=dtype), requires_grad=True)


def set_parameters(module, **values):
    with mg.no_grad():
        for name, value in values.items():
            getattr(module, name).copy_(mg.tensor(np.array(value, dtype=getattr(module, name).dtype)))
    return module


# ---- conv1d ---------------------------------------------------------------------------------------------

def test_conv1d_refuses_a_weight_with_no_kernel_position_naming_conv1d():
    """PyTorch: F.conv1d(x, weight of shape (2, 3, 0)) is a RuntimeError, "kernel size should be greater than
    zero". It was a ValueError naming `stack` (the composite's inner op), not conv1d."""
    with pytest.raises(ValueError, match=r"conv1d: expected weight with a kernel of at least one position .*"
                                         r"\(2, 3, 0\)"):
        F.conv1d(mg.zeros((1, 3, 4)), mg.zeros((2, 3, 0)))


@pytest.mark.parametrize("mode", ["zeros", "replicate"])
def test_conv1d_refuses_an_input_of_no_position(mode):
    """PyTorch refuses a sequence of length 0 whatever the padding ("Only zero batch or zero channel inputs
    are supported", or for "replicate" "Expected 2D or 3D ... non-zero dimensions"). Here the zeros mode
    with padding made an output from padding alone, and "replicate" raised an IndexError naming getitem."""
    layer = nn.Conv1d(1, 2, 1, padding=1, padding_mode=mode)
    with pytest.raises(ValueError, match=r"Conv1d: expected input with at least one position .*\(1, 1, 0\)"):
        layer(mg.zeros((1, 1, 0)))
    with pytest.raises(ValueError, match=r"conv1d: expected input with at least one position"):
        F.conv1d(mg.zeros((0, 1, 0)), mg.zeros((2, 1, 1)), padding=1)


def test_conv1d_names_an_integer_weight_as_the_problem():
    """PyTorch convolves integers; this library refuses them (documented). With an integer input and weight
    the message read "expected input of one floating-point dtype with the weight (int64), got int64"."""
    with pytest.raises(TypeError, match=r"^conv1d: expected a floating-point weight, got int64$"):
        F.conv1d(mg.zeros((1, 3, 4), dtype=mg.int64), mg.zeros((2, 3, 2), dtype=mg.int64))


def test_conv1d_of_an_empty_batch_gives_an_empty_output_and_a_zero_weight_gradient():
    """PyTorch: conv1d of a (0, 3, 4) input by a (2, 3, 2) weight is (0, 2, 3); the weight's gradient is 0."""
    x, w = leaf(np.zeros((0, 3, 4))), leaf(np.ones((2, 3, 2)))
    y = F.conv1d(x, w)
    y.sum().backward()
    assert y.shape == (0, 2, 3)
    np.testing.assert_array_equal(w.grad, np.zeros((2, 3, 2)))


def test_dilation_making_the_receptive_field_exactly_the_input_reads_each_tap_once():
    """L = 7, K = 3, d = 3: one output, y = b + sum_c,k w[c, k] x[c, 3 k]; dy/dx[c, 3 k] = w[c, k], 0
    elsewhere; dy/dw[c, k] = x[c, 3 k] (PyTorch's numbers too)."""
    rng = np.random.default_rng(0)
    a, wv = rng.normal(size=(1, 2, 7)), rng.normal(size=(1, 2, 3))
    x, w, b = leaf(a), leaf(wv), leaf([0.5])
    y = F.conv1d(x, w, b, dilation=3)
    y.sum().backward()
    assert y.shape == (1, 1, 1)
    np.testing.assert_allclose(y.item(), 0.5 + (wv[0] * a[0][:, ::3]).sum(), rtol=1e-13)
    expected = np.zeros((1, 2, 7))
    expected[0][:, ::3] = wv[0]
    np.testing.assert_array_equal(x.grad, expected)
    np.testing.assert_array_equal(w.grad, a[:, :, ::3])


def test_a_length_one_sequence_with_same_padding_reads_only_the_middle_tap():
    """K = 3, "same" pads (1, 1) around one position: y = w[1] x + b; dy/dw = (0, x, 0) (PyTorch's too)."""
    x, w, b = leaf([[[2.0]]]), leaf([[[1.0, 3.0, 5.0]]]), leaf([0.25])
    y = F.conv1d(x, w, b, padding="same")
    y.sum().backward()
    assert y.tolist() == [[[6.25]]]
    assert x.grad.tolist() == [[[3.0]]] and w.grad.tolist() == [[[0.0, 2.0, 0.0]]]


def test_a_conv1d_state_dict_that_does_not_fit_changes_nothing():
    """PyTorch's load_state_dict copies the entries that fit before raising for the one that does not (the
    weight changes); here nothing changes (the library's promise, documented)."""
    layer = nn.Conv1d(2, 3, 3)
    weight, bias = layer.weight.numpy().copy(), layer.bias.numpy().copy()
    with pytest.raises(ValueError, match="bias"):
        layer.load_state_dict({"weight": np.ones((3, 2, 3), np.float32), "bias": np.ones(4, np.float32)})
    np.testing.assert_array_equal(layer.weight.numpy(), weight)
    np.testing.assert_array_equal(layer.bias.numpy(), bias)


def test_a_causal_convolution_in_tbptt_gets_the_gradient_central_differences_give():
    """A cell reading a causal Conv1d (K = 3, padding 2, the last output of a window of the last 3 inputs) run
    by mg.bptt.tbptt with k1 = k2 = T: the conv's weight gradient is that of the whole sequence's loss, as
    central differences of the same network in numpy say."""
    rng = np.random.default_rng(3)
    steps, xs, ys = 6, rng.normal(size=6), rng.normal(size=6)
    conv = set_parameters(nn.Conv1d(1, 1, 3, padding=2, dtype=mg.float64), weight=[[[0.3, -0.7, 0.9]]], bias=[0.1])
    cell = set_parameters(nn.Linear(2, 1, dtype=mg.float64), weight=[[0.8, -0.6]], bias=[0.05])

    def step(x, state):
        h, window = state
        window = mg.cat([window[:, :, 1:], x.reshape(1, 1, 1)], 2)
        c = conv(window)[:, :, 2:3].reshape(1, 1)
        h = mg.tanh(cell(mg.cat([c, h], 1)))
        return h, (h, window)

    def numpy_loss(w):
        h, window, total = 0.0, np.zeros(3), 0.0
        for x, y in zip(xs, ys):
            window = np.append(window[1:], x)
            c = w @ window + 0.1                    # the causal output: the kernel over the last 3 inputs
            h = np.tanh(0.8 * c - 0.6 * h + 0.05)
            total += (h - y) ** 2
        return total

    state = (mg.zeros((1, 1), dtype=mg.float64), mg.zeros((1, 1, 3), dtype=mg.float64))
    inputs = [mg.tensor(np.array([[x]])) for x in xs]
    targets = [mg.tensor(np.array([[y]])) for y in ys]
    result = mg.bptt.tbptt(step, state, inputs, targets, lambda o, t: ((o - t) ** 2).sum(), k1=steps, k2=steps)
    np.testing.assert_allclose(result.losses[0], numpy_loss(np.array([0.3, -0.7, 0.9])), rtol=1e-12)
    np.testing.assert_allclose(conv.weight.grad[0, 0], central_differences(numpy_loss, np.array([0.3, -0.7, 0.9])),
                               rtol=1e-7, atol=1e-9)


# ---- weight_norm ----------------------------------------------------------------------------------------

def test_weight_norm_of_a_0d_parameter_is_a_value_error_naming_weight_norm():
    """PyTorch: IndexError "Dimension specified as 0 but tensor has no dimensions" (dim=0) or "... as -1"
    (dim=None). Here dim=0 was a ZeroDivisionError (integer modulo by zero) from inside weight_norm."""
    class Scalar(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(mg.tensor(2.0))

    for dim in (0, None):
        module = Scalar()
        with pytest.raises(ValueError, match=r"weight_norm: the parameter 'weight' of Scalar is 0-d"):
            weight_norm(module, dim=dim)
        assert [name for name, _ in module.named_parameters()] == ["weight"] and not module._forward_pre_hooks


def test_weight_norm_refuses_a_taken_name_before_it_changes_the_module():
    """PyTorch raises KeyError "attribute 'weight_v' already exists" after it has removed `weight` and
    registered `weight_g`: the module is left without its weight. Here the KeyError comes first, and the
    module keeps its weight (and no hook)."""
    class Taken(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(mg.ones((2, 3)))
            self.weight_v = 5

    module = Taken()
    with pytest.raises(KeyError, match=r"weight_norm: Taken already has an attribute 'weight_v'"):
        weight_norm(module)
    assert [name for name, _ in module.named_parameters()] == ["weight"]
    assert module.weight_v == 5 and not module._forward_pre_hooks


def conv_with(weight):
    return set_parameters(nn.Conv1d(2, 3, 2, dtype=mg.float64), weight=weight, bias=[0.1, -0.2, 0.3])


def test_a_weight_normed_conv1d_saves_and_loads_all_or_nothing(tmp_path):
    """PyTorch's keys and shapes: bias (3,), weight_g (3, 1, 1), weight_v (3, 2, 2). Saved with mg.save and
    loaded into a fresh weight-normed layer it computes the same; a state dict with a weight_v of the wrong
    shape changes nothing (PyTorch copies bias and weight_g first, then raises)."""
    v = np.arange(12.0).reshape(3, 2, 2) - 5
    layer = weight_norm(conv_with(v))
    assert [(k, np.shape(a)) for k, a in layer.state_dict().items()] == [
        ("bias", (3,)), ("weight_g", (3, 1, 1)), ("weight_v", (3, 2, 2))]
    np.testing.assert_allclose(layer.weight_g.numpy()[:, 0, 0], np.sqrt((v ** 2).sum(axis=(1, 2))), rtol=1e-14)
    mg.save(layer.state_dict(), tmp_path / "wn.npz")
    other = weight_norm(conv_with(np.ones((3, 2, 2))))
    other.load_state_dict(mg.load(tmp_path / "wn.npz"))
    x = np.cos(np.arange(10.0)).reshape(1, 2, 5)
    expected = np.array([[[0.1 + (v[o] * x[0, :, t:t + 2]).sum() for t in range(4)] for o in range(3)]]) + \
        np.array([0, -0.3, 0.2])[None, :, None]
    np.testing.assert_allclose(other(mg.tensor(x)).numpy(), expected, rtol=1e-12)
    before = {k: np.array(a) for k, a in other.state_dict().items()}
    bad = {"bias": np.zeros(3), "weight_g": np.ones((3, 1, 1)), "weight_v": np.ones((3, 2, 3))}
    with pytest.raises(ValueError, match=r"weight_v: expected shape \(3, 2, 2\), got \(3, 2, 3\)"):
        other.load_state_dict(bad)
    for key, array in other.state_dict().items():
        np.testing.assert_array_equal(array, before[key])


def test_a_weight_normed_layer_made_under_no_grad_deepcopies_and_remove_gives_back_g_v_over_its_norm():
    """PyTorch: deepcopy of a weight-normed layer is a RuntimeError (its weight has a history) unless the
    weight was computed without one; remove_weight_norm leaves weight = g v / ||v||, listed last."""
    with mg.no_grad():
        layer = weight_norm(conv_with(np.ones((3, 2, 2))), dim=None)
    twin = copy.deepcopy(layer)
    set_parameters(twin, weight_g=4.0)
    remove_weight_norm(twin)
    assert [name for name, _ in twin.named_parameters()] == ["bias", "weight"]
    np.testing.assert_allclose(twin.weight.numpy(), np.full((3, 2, 2), 4.0 / math.sqrt(12)), rtol=1e-14)
    np.testing.assert_allclose(layer.weight_g.item(), math.sqrt(12), rtol=1e-14)


# ---- logcumsumexp ---------------------------------------------------------------------------------------

def test_logcumsumexp_past_a_plus_infinity_keeps_the_earlier_gradients_finite():
    """PyTorch 2.13: logcumsumexp([0, 1, inf]) = [0, log(e^0 + e^1), inf], and the gradient of its sum at the
    finite entries is sum_i e^(x_j - y_i) over the finite y_i: [1 + e^(0 - y_1), e^(1 - y_1)]. It was
    NaN at every entry (e^(inf - inf) went back through the scan). ([0, inf, 1]: PyTorch's 1 and 0.)"""
    x = leaf([0.0, 1.0, math.inf])
    y = mg.logcumsumexp(x, 0)
    y.sum().backward()
    y1 = math.log(1 + math.e)
    np.testing.assert_allclose(y.numpy(), [0.0, y1, math.inf], rtol=1e-15)
    np.testing.assert_allclose(x.grad[:2], [1 + math.exp(-y1), math.exp(1 - y1)], rtol=1e-14)
    x = leaf([[0.0, math.inf, 1.0, 2.0, -1.0]])
    mg.logcumsumexp(x, 1).sum().backward()
    assert x.grad[0, 0] == 1.0 and (x.grad[0, 2:] == 0.0).all()


def test_logcumsumexp_of_nan_and_plus_infinity_together_is_nan():
    """log(e^NaN + e^inf) is NaN (PyTorch: logcumsumexp([inf, nan]) = [inf, nan])."""
    y = mg.logcumsumexp(mg.tensor([math.inf, math.nan, 0.0]), 0).numpy()
    assert y[0] == math.inf and np.isnan(y[1:]).all()


def test_logcumsumexp_of_half_precision_rounds_once():
    """PyTorch computes half in float32 and rounds once: logcumsumexp([0.5, -1, 3, 2]) ends at
    log(e^0.5 + e^-1 + e^3 + e^2) = 3.38409..., which rounds to 3.38477 in float16 (it was 3.38281)."""
    a = np.array([0.5, -1.0, 3.0, 2.0])
    y = mg.logcumsumexp(mg.tensor(a.astype(np.float16)), 0)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y.numpy(), np.logaddexp.accumulate(a).astype(np.float16))


def test_logcumsumexp_gradients_and_tangents_match_central_differences_far_apart():
    """Values far apart (1000 and -1000) stay finite; the gradient and a tangent are central differences of
    numpy's accumulated logaddexp (PyTorch's gradient too)."""
    a = np.array([[0.5, -1.0, 3.0, 2.0], [1e3, -1e3, 0.0, 1e3]])
    weights = np.arange(8.0).reshape(2, 4)
    x = leaf(a)
    (mg.logcumsumexp(x, 1) * mg.tensor(weights)).sum().backward()
    expected = central_differences(lambda v: (np.logaddexp.accumulate(v, axis=1) * weights).sum(), a)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-5, atol=1e-6)      # (differences of 1000s lose digits)
    direction = np.cos(np.arange(8.0)).reshape(2, 4)
    _, tangent = mg.jvp(lambda v: mg.logcumsumexp(v, 1), (mg.tensor(a),), (mg.tensor(direction),))
    eps = 1e-6
    differences = (np.logaddexp.accumulate(a + eps * direction, axis=1)
                   - np.logaddexp.accumulate(a - eps * direction, axis=1)) / (2 * eps)
    np.testing.assert_allclose(np.asarray(tangent), differences, rtol=1e-5, atol=1e-6)


# ---- activations ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype, value", [(np.int8, 300), (np.int64, 1e30), (np.int64, math.nan),
                                          (np.float32, 1e300), (np.float16, 1e5)])
def test_threshold_refuses_a_value_its_dtype_cannot_hold(dtype, value):
    """PyTorch: RuntimeError "value cannot be converted to type int8_t without overflow" (and likewise for
    the others). The value was written wrapped (300 as 44 in int8, NaN as -2**63 in int64) or as inf."""
    message = f"threshold: the value {value!r} cannot be converted to dtype {np.dtype(dtype)} without overflow"
    with pytest.raises(ValueError, match=re.escape(message)):
        mg.threshold(mg.tensor(np.array([-2, 1, 3], dtype=dtype)), 0, value)


def test_threshold_still_writes_what_the_dtype_holds():
    """PyTorch: a float value into integers is cut toward zero (2.7 -> 2), -1 into uint8 wraps to 255, inf
    into float32 is inf; the slope is 1 above the threshold, 0 at and below it."""
    assert mg.threshold(mg.tensor(np.array([-2, 1, 3])), 0, 2.7).tolist() == [2, 1, 3]
    assert mg.threshold(mg.tensor(np.array([0, 1, 3], dtype=np.uint8)), 1, -1).tolist() == [255, 255, 3]
    assert mg.threshold(mg.tensor(np.array([-1.0, 2.0], np.float32)), 0.0, math.inf).tolist() == [math.inf, 2.0]
    x = leaf([-1.0, 0.5, 2.0])
    mg.threshold(x, 0.5, -7.0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]


def test_prelu_says_why_a_0d_or_1d_input_has_one_channel():
    """PyTorch: "Mismatch of parameter numbers and input channel size. Found parameter numbers = 3 and channel
    size = 1." for a 1-d input. The message read "... input has 1 channels (dim 1 of shape (3,)): expected 1
    or 1", though a 1-d input has no dim 1."""
    with pytest.raises(ValueError, match=r"^prelu: the weight has 3 parameters but the input has 1 channels \(a "
                                         r"1-d input has one\): expected 1$"):
        mg.prelu(mg.tensor([-1.0, 2.0, -3.0]), mg.tensor([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match=r"input has 4 channels \(dim 1 of shape \(2, 4\)\): expected 1 or 4$"):
        mg.prelu(mg.zeros((2, 4)), mg.tensor([0.1, 0.2, 0.3]))


def test_the_top_level_spellings_compute_pytorchs_values_and_slopes():
    """torch.selu, celu, hardshrink, prelu, cosine_similarity, pairwise_distance at a few points (closed
    forms), and their gradients."""
    a = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    x = leaf(a)
    mg.selu(x).sum().backward()
    np.testing.assert_allclose(mg.selu(mg.tensor(a)).numpy(),
                               scale * np.where(a > 0, a, alpha * np.expm1(a)), rtol=1e-14)
    np.testing.assert_allclose(x.grad, scale * np.where(a > 0, 1.0, alpha * np.exp(a)), rtol=1e-14)
    np.testing.assert_allclose(mg.celu(mg.tensor(a), 2.0).numpy(), np.where(a > 0, a, 2 * np.expm1(a / 2)),
                               rtol=1e-14)
    assert mg.hardshrink(mg.tensor(a), 0.5).tolist() == [-2.0, 0.0, 0.0, 0.0, 3.0]
    w = leaf([0.25])
    p = leaf(a)
    mg.prelu(p, w).sum().backward()
    assert p.grad.tolist() == [0.25, 0.25, 0.25, 1.0, 1.0] and w.grad.tolist() == [-2.5]
    u, v = np.array([[1.0, 2.0, 2.0]]), np.array([[0.0, 3.0, 4.0]])
    np.testing.assert_allclose(mg.cosine_similarity(mg.tensor(u), mg.tensor(v)).numpy(), [14 / 15], rtol=1e-15)
    np.testing.assert_allclose(mg.pairwise_distance(mg.tensor(u), mg.tensor(v), eps=0.0).numpy(),
                               [math.sqrt(1 + 1 + 4)], rtol=1e-15)


# ---- clipping -------------------------------------------------------------------------------------------

def test_get_total_norm_refuses_integer_tensors():
    """PyTorch: RuntimeError "linalg.vector_norm: Expected a floating point or complex tensor as input. Got
    Long". Here the norm came back in int64, cut: the norm of [1, 1] was 1, not sqrt 2."""
    with pytest.raises(TypeError, match=r"get_total_norm: expected floating-point Tensors or gradient arrays, "
                                        r"item 1 has dtype int64"):
        mg.nn.utils.get_total_norm([np.ones(2), mg.tensor(np.array([1, 1]))])
    with pytest.raises(TypeError, match="item 0 has dtype bool"):
        mg.nn.utils.get_total_norm(np.array([True, True]))


def test_clip_grads_with_norm_changes_no_gradient_when_an_item_is_bad():
    """PyTorch fails on the float with an AttributeError after scaling the gradients before it; here the list
    is checked first and no gradient changes."""
    p = leaf([0.0, 0.0])
    p.grad = np.array([3.0, 4.0])
    with pytest.raises(ValueError, match="clip_grads_with_norm_: expected an iterable of Tensors, item 1"):
        mg.nn.utils.clip_grads_with_norm_([p, 3.0], 1.0, 5.0)
    assert p.grad.tolist() == [3.0, 4.0]


# ---- pooling --------------------------------------------------------------------------------------------

def test_max_pool_with_ceil_mode_padding_at_half_the_kernel_and_dilation_by_hand():
    """L = 5, K = 2, s = 2, p = 1, d = 2, ceil_mode: windows read positions (-1, 1), (1, 3), (3, 5): the
    last reads 3 alone (5 is past the padding), so three windows, maxima of (x1), (x1, x3), (x3), as
    PyTorch's; the gradient adds up at x1 and x3."""
    x = leaf([[[0.0, 2.0, -1.0, 5.0, 9.0]]])
    y, indices = F.max_pool1d(x, 2, 2, padding=1, dilation=2, ceil_mode=True, return_indices=True)
    y.sum().backward()
    assert y.tolist() == [[[2.0, 5.0, 5.0]]] and indices.tolist() == [[[1, 3, 3]]]
    assert x.grad.tolist() == [[[0.0, 1.0, 0.0, 2.0, 0.0]]]


def test_avg_pool_of_a_length_one_sequence_padded_by_half_the_kernel():
    """L = 1, K = 2, s = 1, p = 1: two windows (0, x) and (x, 0); count_include_pad divides by 2, without it
    by 1 (PyTorch: [x/2, x/2] and [x, x])."""
    x = leaf([[[2.0]]])
    F.avg_pool1d(x, 2, 1, padding=1).sum().backward()
    assert F.avg_pool1d(x, 2, 1, padding=1).tolist() == [[[1.0, 1.0]]] and x.grad.tolist() == [[[1.0]]]
    assert F.avg_pool1d(x, 2, 1, padding=1, count_include_pad=False).tolist() == [[[2.0, 2.0]]]
