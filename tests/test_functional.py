"""mg.functional: softmax, log_softmax, cross_entropy and mse_loss against numpy closed forms.

Values are compared with the textbook formulas written here in numpy; gradients
with their hand-derived closed forms:

    d/dx sum(softmax(x) * y)      = s * (y - sum(s * y))
    d/dx sum(log_softmax(x) * y)  = y - s * sum(y)
    d/dlogits mean CE(logits, t)  = (softmax(logits) - p) / B    (p one-hot or given rows)
    d/dpred mean MSE(pred, t)     = 2 (pred - t) / N
"""

import re

import numpy as np
import pytest

import microgradseq as mg

F = mg.functional
RNG = np.random.default_rng(7)


# ---- numpy references ----------------------------------------------------------------

def np_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def one_hot(classes: np.ndarray, count: int) -> np.ndarray:
    return np.eye(count)[classes]


def leaf(array: np.ndarray) -> mg.Tensor:
    return mg.tensor(np.array(array, dtype=np.float64), requires_grad=True, dtype=np.float64)


LOGITS = RNG.standard_normal((4, 5)) * 2
CLASSES = np.array([0, 3, 4, 3])
PROBS = np_softmax(RNG.standard_normal((4, 5)))


def test_functional_is_also_reachable_as_mg_nn_functional():
    """The same functions live at mg.nn.functional and mg.functional."""
    assert mg.nn.functional.softmax is mg.functional.softmax
    assert mg.nn.functional.cross_entropy is mg.functional.cross_entropy


# ---- softmax and log_softmax -----------------------------------------------------------

@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_values_match_closed_form(axis):
    """softmax(x, axis) = e^x / sum e^x along axis."""
    np.testing.assert_allclose(F.softmax(leaf(LOGITS), axis=axis).data, np_softmax(LOGITS, axis),
                               rtol=1e-12)


@pytest.mark.parametrize("axis", [-1, 0])
def test_log_softmax_values_match_closed_form(axis):
    """log_softmax(x, axis) = x - log sum e^x along axis."""
    np.testing.assert_allclose(F.log_softmax(leaf(LOGITS), axis=axis).data,
                               np.log(np_softmax(LOGITS, axis)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_gradient_matches_closed_form(axis):
    """d/dx sum(softmax(x) * y) = s * (y - sum(s * y)) along axis."""
    x, y = leaf(LOGITS), RNG.standard_normal(LOGITS.shape)
    (F.softmax(x, axis=axis) * y).sum().backward()
    s = np_softmax(LOGITS, axis)
    np.testing.assert_allclose(x.grad, s * (y - (s * y).sum(axis=axis, keepdims=True)),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("axis", [-1, 0])
def test_log_softmax_gradient_matches_closed_form(axis):
    """d/dx sum(log_softmax(x) * y) = y - softmax(x) * sum(y) along the axis."""
    x, y = leaf(LOGITS), RNG.standard_normal(LOGITS.shape)
    (F.log_softmax(x, axis=axis) * y).sum().backward()
    s = np_softmax(LOGITS, axis)
    np.testing.assert_allclose(x.grad, y - s * y.sum(axis=axis, keepdims=True), rtol=1e-10, atol=1e-12)


# ---- cross_entropy ----------------------------------------------------------------------

def np_cross_entropy_rows(logits: np.ndarray, p: np.ndarray) -> np.ndarray:
    """-sum_c p_c log softmax(logits)_c for each row."""
    return -(p * np_log_softmax(logits)).sum(axis=-1)


@pytest.mark.parametrize("reduction, reduce", [("mean", np.mean), ("sum", np.sum), ("none", lambda v: v)])
def test_cross_entropy_with_class_indices_matches_closed_form(reduction, reduce):
    """CE with integer targets is -log softmax(logits)[b, t_b], reduced as asked."""
    loss = F.cross_entropy(leaf(LOGITS), CLASSES, reduction=reduction)
    expected = reduce(-np_log_softmax(LOGITS)[np.arange(4), CLASSES])
    assert loss.shape == np.shape(expected)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)


@pytest.mark.parametrize("reduction, reduce", [("mean", np.mean), ("sum", np.sum), ("none", lambda v: v)])
def test_cross_entropy_with_probability_targets_matches_closed_form(reduction, reduce):
    """CE with (B, C) probability targets is -sum_c p_c log softmax_c per row, reduced as asked."""
    loss = F.cross_entropy(leaf(LOGITS), PROBS, reduction=reduction)
    expected = reduce(np_cross_entropy_rows(LOGITS, PROBS))
    assert loss.shape == np.shape(expected)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)


def test_cross_entropy_with_one_hot_probabilities_equals_class_indices():
    """A one-hot probability target gives the same loss as the class index it encodes."""
    by_index = F.cross_entropy(leaf(LOGITS), CLASSES).item()
    by_probability = F.cross_entropy(leaf(LOGITS), one_hot(CLASSES, 5)).item()
    assert by_index == pytest.approx(by_probability, rel=1e-12)


def test_mean_cross_entropy_gradient_is_softmax_minus_one_hot_over_batch():
    """d/dlogits mean CE = (softmax(logits) - onehot(t)) / B."""
    logits = leaf(LOGITS)
    F.cross_entropy(logits, CLASSES).backward()
    expected = (np_softmax(LOGITS) - one_hot(CLASSES, 5)) / len(CLASSES)
    np.testing.assert_allclose(logits.grad, expected, rtol=1e-10, atol=1e-12)


def test_sum_cross_entropy_gradient_is_softmax_minus_one_hot():
    """d/dlogits summed CE = softmax(logits) - onehot(t)."""
    logits = leaf(LOGITS)
    F.cross_entropy(logits, CLASSES, reduction="sum").backward()
    np.testing.assert_allclose(logits.grad, np_softmax(LOGITS) - one_hot(CLASSES, 5),
                               rtol=1e-10, atol=1e-12)


def test_unreduced_cross_entropy_gradient_weights_each_row():
    """With reduction='none' and backward(grad=w), row b's gradient is w_b (softmax - onehot)_b."""
    logits, weights = leaf(LOGITS), np.array([1.0, -2.0, 0.5, 3.0])
    F.cross_entropy(logits, CLASSES, reduction="none").backward(grad=weights)
    expected = weights[:, None] * (np_softmax(LOGITS) - one_hot(CLASSES, 5))
    np.testing.assert_allclose(logits.grad, expected, rtol=1e-10, atol=1e-12)


def test_cross_entropy_gradient_with_probability_targets():
    """d/dlogits mean CE with probability rows p (summing to 1) = (softmax - p) / B."""
    logits = leaf(LOGITS)
    F.cross_entropy(logits, PROBS).backward()
    np.testing.assert_allclose(logits.grad, (np_softmax(LOGITS) - PROBS) / 4, rtol=1e-10, atol=1e-12)


# ---- mse_loss ---------------------------------------------------------------------------

PRED = RNG.standard_normal((3, 4))
TARGET = RNG.standard_normal((3, 4))


@pytest.mark.parametrize("reduction, reduce", [("mean", np.mean), ("sum", np.sum), ("none", lambda v: v)])
def test_mse_loss_values_match_closed_form(reduction, reduce):
    """mse_loss = (pred - target)^2, averaged, summed or left per element."""
    loss = F.mse_loss(leaf(PRED), TARGET, reduction=reduction)
    expected = reduce((PRED - TARGET) ** 2)
    assert loss.shape == np.shape(expected)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)


def test_mean_mse_gradient_is_two_diff_over_n():
    """d mean MSE / d pred = 2 (pred - target) / N."""
    pred = leaf(PRED)
    F.mse_loss(pred, TARGET).backward()
    np.testing.assert_allclose(pred.grad, 2 * (PRED - TARGET) / PRED.size, rtol=1e-12)


def test_sum_mse_gradient_is_two_diff():
    """d summed MSE / d pred = 2 (pred - target)."""
    pred = leaf(PRED)
    F.mse_loss(pred, TARGET, reduction="sum").backward()
    np.testing.assert_allclose(pred.grad, 2 * (PRED - TARGET), rtol=1e-12)


def test_unreduced_mse_gradient_weights_each_element():
    """With reduction='none' and backward(grad=w): d/dpred = 2 w (pred - target)."""
    pred, weights = leaf(PRED), RNG.standard_normal(PRED.shape)
    F.mse_loss(pred, TARGET, reduction="none").backward(grad=weights)
    np.testing.assert_allclose(pred.grad, 2 * weights * (PRED - TARGET), rtol=1e-12)


def test_mse_loss_accepts_a_tensor_target():
    """A Tensor target gives the same value as the numpy array it holds."""
    loss = F.mse_loss(leaf(PRED), mg.tensor(TARGET, dtype=np.float64))
    assert loss.item() == pytest.approx(np.mean((PRED - TARGET) ** 2), rel=1e-12)


# ---- numerical stability ------------------------------------------------------------------

HUGE = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_huge_logits_is_finite_and_exact(dtype):
    """softmax of logits of +-1e4 is finite and equals the one-hot (or split) closed form."""
    x = mg.tensor(HUGE, requires_grad=True, dtype=dtype)
    s = F.softmax(x)
    np.testing.assert_allclose(s.data, [[1, 0, 0], [0, 0, 1], [0.5, 0.5, 0]], atol=1e-7)
    (s * np.arange(3.0)).sum().backward()
    assert np.isfinite(x.grad).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_of_huge_logits_is_finite_and_exact(dtype):
    """log_softmax of logits of +-1e4 is finite: 0 for the winner, about -2e4 for the losers."""
    x = mg.tensor(HUGE, dtype=dtype)
    np.testing.assert_allclose(F.log_softmax(x).data, np_log_softmax(HUGE), rtol=1e-6)
    assert np.isfinite(F.log_softmax(x).data).all()


def test_log_softmax_of_integer_logits_is_float_and_exact():
    """Integer logits give log-probabilities in the default float dtype (as `exp` and `F.softmax` of integers),
    the closed form's."""
    y = F.log_softmax(mg.tensor(np.array([[1, 2, 3], [0, 0, 5]])))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, np_log_softmax(np.array([[1.0, 2, 3], [0, 0, 5]])), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_of_huge_logits_has_finite_value_and_gradient(dtype):
    """CE with logits of +-1e4 is finite (about 2e4 for a wrong class) and its gradient is (s - onehot)/B."""
    logits = mg.tensor(HUGE, requires_grad=True, dtype=dtype)
    classes = np.array([1, 2, 0])
    loss = F.cross_entropy(logits, classes)
    expected = np.mean(-np_log_softmax(HUGE)[np.arange(3), classes])
    assert np.isfinite(loss.item())
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert np.isfinite(logits.grad).all()
    np.testing.assert_allclose(logits.grad, (np_softmax(HUGE) - one_hot(classes, 3)) / 3, atol=1e-6)


# ---- gradcheck ------------------------------------------------------------------------------

def test_gradcheck_passes_on_softmax_weighted_sum():
    """gradcheck returns True for sum(softmax(x) * y)."""
    y = RNG.standard_normal(LOGITS.shape)
    assert mg.gradcheck(lambda x: (F.softmax(x) * y).sum(), [leaf(LOGITS)]) is True


def test_gradcheck_passes_on_cross_entropy():
    """gradcheck returns True for cross_entropy with class indices and with probabilities."""
    assert mg.gradcheck(lambda x: F.cross_entropy(x, CLASSES), [leaf(LOGITS)]) is True
    assert mg.gradcheck(lambda x: F.cross_entropy(x, PROBS, reduction="sum"), [leaf(LOGITS)]) is True


def test_gradcheck_passes_on_mse_loss():
    """gradcheck returns True for mse_loss."""
    assert mg.gradcheck(lambda p: F.mse_loss(p, TARGET), [leaf(PRED)]) is True


def test_gradcheck_leaves_inputs_unchanged():
    """After gradcheck, each input holds its original values."""
    x = leaf(LOGITS)
    mg.gradcheck(lambda t: F.cross_entropy(t, CLASSES), [x])
    np.testing.assert_array_equal(x.data, LOGITS)


def test_gradcheck_of_a_tensor_valued_fn_checks_every_entry_of_the_jacobian():
    """fn(x, y) = tanh(x * y) with y (2, 1) broadcast against x (2, 3): True, as PyTorch's gradcheck."""
    assert mg.gradcheck(lambda x, y: (x * y).tanh(), [leaf(RNG.standard_normal((2, 3))),
                                                      leaf(RNG.standard_normal((2, 1)))]) is True
    assert mg.autograd.gradcheck is mg.gradcheck


def test_gradcheck_of_a_tensor_valued_fn_finds_a_jacobian_a_summed_loss_hides():
    """A backward that sends each entry's gradient to the mirrored entry: for y = 2x, dL/dx of
    sum(y) is right (all twos), but d y_0 / d x_2 is 2 where it should be 0: the Jacobian check names
    that entry (output index (0,), input index (2,)) with both values."""
    class Mirrored(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g[::-1] * 2
    x = leaf([0.1, 0.2, 0.3])
    assert mg.gradcheck(lambda x: Mirrored.apply(x).sum(), [x]) is True
    with pytest.raises(mg.GradcheckError, match=r"input 0 \(shape \(3,\)\) at index \(2,\), output index \(0,\): "
                                                r"autodiff gives 2\.0, finite differences give 0\.0"):
        mg.gradcheck(lambda x: Mirrored.apply(x), [x])


def test_gradcheck_wants_a_floating_point_output():
    with pytest.raises(ValueError, match="gradcheck: fn must return a floating-point Tensor, got a Tensor of dtype"):
        mg.gradcheck(lambda x: x.argmax(), [leaf([1.0, 2.0])])


def test_gradcheck_raises_naming_the_input_whose_gradient_is_wrong():
    """fn = sum(a^2) + sum(x * x.detach()): autodiff gives dx = x, finite differences 2x,
    so gradcheck raises GradcheckError naming input 1, its worst index (2,) and both values (3 and 6)."""
    a = leaf([0.5, -1.0])
    x = leaf([1.0, 2.0, 3.0])

    def wrong(a, x):
        return (a * a).sum() + (x * x.detach()).sum()

    with pytest.raises(mg.GradcheckError) as caught:
        mg.gradcheck(wrong, [a, x])
    message = str(caught.value)
    assert re.search(r"input\D{0,3}1\b", message), message
    integers = [int(n) for n in re.findall(r"(?<![\w.])\d+(?![\w.])", message)]
    assert 2 in integers, message  # the worst index, (2,)
    numbers = [float(n) for n in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", message)]
    assert any(abs(n - 3.0) < 1e-4 for n in numbers), message
    assert any(abs(n - 6.0) < 1e-4 for n in numbers), message



# ---- ignore_index: padding targets add nothing ------------------------------------------------

def _ignoring_reference(z: np.ndarray, y: np.ndarray, ignore: int) -> tuple[float, np.ndarray]:
    """mean over the kept rows of -log softmax(z)[y], and its gradient (softmax - onehot) / kept on
    kept rows, 0 on ignored ones, written out in numpy."""
    kept = y != ignore
    p = np_softmax(z)
    rows = np.arange(len(y))[kept]
    loss = -np.log(p[rows, y[kept]]).sum() / kept.sum()
    grad = p.copy()
    grad[rows, y[kept]] -= 1
    grad[~kept] = 0
    return loss, grad / kept.sum()


@pytest.mark.parametrize("ignore", [0, 2, -100, -1])
@pytest.mark.parametrize("loss_fn", ["cross_entropy", "nll_loss", "CrossEntropyLoss", "NLLLoss"])
def test_targets_equal_to_ignore_index_add_nothing_and_the_mean_is_over_the_others(ignore, loss_fn):
    z = RNG.standard_normal((6, 4))
    y = np.array([1, 3, 0, 2, 1, 3])
    y[[1, 4]] = ignore
    expected_loss, expected_grad = _ignoring_reference(z, y, ignore)
    logits = leaf(z)
    call = {"cross_entropy": lambda: F.cross_entropy(logits, y, ignore_index=ignore),
            "nll_loss": lambda: F.nll_loss(F.log_softmax(logits, dim=1), y, ignore_index=ignore),
            "CrossEntropyLoss": lambda: mg.nn.CrossEntropyLoss(ignore_index=ignore)(logits, y),
            "NLLLoss": lambda: mg.nn.NLLLoss(ignore_index=ignore)(F.log_softmax(logits, dim=1), y)}[loss_fn]
    loss = call()
    loss.backward()
    np.testing.assert_allclose(loss.item(), expected_loss, rtol=1e-12)
    np.testing.assert_allclose(logits.grad, expected_grad, rtol=1e-10, atol=1e-15)
    assert not np.signbit(logits.grad[1]).any()         # ignored rows: +0, as PyTorch's


def test_ignore_index_with_sum_none_and_the_classes_on_axis_1():
    z = RNG.standard_normal((2, 3, 5))                  # (N, C, d1): classes on axis 1
    y = np.array([[0, 2, 1, 0, 2], [1, 1, 0, 2, 0]])
    per_entry = -np.log(np.take_along_axis(np_softmax(np.moveaxis(z, 1, -1)), y[..., None], -1)[..., 0])
    per_entry[y == 0] = 0.0
    np.testing.assert_allclose(F.cross_entropy(z, y, reduction="none", ignore_index=0).data, per_entry, rtol=1e-12)
    np.testing.assert_allclose(F.cross_entropy(z, y, reduction="sum", ignore_index=0).item(), per_entry.sum(),
                               rtol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("loss_fn", ["cross_entropy", "nll_loss"])
def test_ignore_index_gradient_and_tangent_with_the_classes_on_axis_1_match_central_differences(loss_fn, reduction):
    """(N, C, d) scores, targets 0 ignored: the gradient of sum(R * loss) and J v along two directions
    against central differences of the loss in numpy (float64), for every reduction."""
    from test_op_gradients import assert_gradients_match, assert_tangents_match_differences

    rng = np.random.default_rng(12)
    z = rng.standard_normal((2, 3, 5))
    y = np.array([[0, 2, 1, 0, 2], [1, 1, 0, 2, 0]])

    def np_loss(a):
        per_entry = -np.take_along_axis(np_log_softmax(np.moveaxis(a, 1, -1)), y[..., None], -1)[..., 0]
        per_entry = np.where(y == 0, 0.0, per_entry)
        return {"none": per_entry, "sum": per_entry.sum(), "mean": per_entry.sum() / (y != 0).sum()}[reduction]

    def loss(t):
        if loss_fn == "cross_entropy":
            return F.cross_entropy(t, y, reduction=reduction, ignore_index=0)
        return F.nll_loss(F.log_softmax(t, dim=1), y, reduction=reduction, ignore_index=0)
    assert_gradients_match(loss, np_loss, z)
    for direction in rng.standard_normal((2,) + z.shape):
        assert_tangents_match_differences(loss, np_loss, [z], [direction])


def test_every_target_ignored_gives_a_nan_mean_as_pytorchs():
    with np.errstate(invalid="ignore"):
        assert np.isnan(F.cross_entropy(RNG.standard_normal((2, 3)), np.array([1, 1]), ignore_index=1).item())


def test_a_target_out_of_range_names_the_ignore_index_and_the_range():
    with pytest.raises(ValueError, match=r"cross_entropy: class targets must lie in \[0, 3\) \(or equal "
                                         r"ignore_index=0\), got values from 1 to 3"):
        F.cross_entropy(RNG.standard_normal((3, 3)), np.array([0, 3, 1]), ignore_index=0)
    with pytest.raises(TypeError, match="CrossEntropyLoss: ignore_index must be an integer, got 0.5"):
        mg.nn.CrossEntropyLoss(ignore_index=0.5)


def test_gradcheck_of_a_one_element_output_names_no_output_index():
    """sum(x * x.detach()) has gradient x where finite differences give 2x: the message names the
    input index alone, an output index only means something for a tensor output."""
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(mg.GradcheckError) as raised:
        mg.gradcheck(lambda x: (x * x.detach()).sum(), [x])
    assert "input 0 (shape (3,)) at index (2,): autodiff gives 3.0" in str(raised.value)
    assert "output index" not in str(raised.value)


def test_gradcheck_of_a_float32_output_from_float64_inputs_says_what_is_coarse():
    """x^3 computed in float32 from a float64 x: the finite differences are float32's, and the
    message says that fn returns float32."""
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(mg.GradcheckError, match=r"\(fn returns float32: finite differences need fn computed "
                                                r"in float64\)"):
        mg.gradcheck(lambda x: (x.float() ** 3).sum(), [x])


@pytest.mark.parametrize("loss_fn", ["cross_entropy", "nll_loss"])
def test_every_target_ignored_gives_a_nan_mean_with_a_zero_gradient_as_pytorchs(loss_fn):
    """A batch that is all padding: the mean over no target is NaN, but the gradient is 0 (PyTorch's
    backward writes -1/count only at kept targets, and there are none), so an optimizer step after
    it changes nothing rather than filling the parameters with NaN; numpy warns of nothing."""
    logits = leaf(RNG.standard_normal((2, 3, 4)))           # (N, C, d1)
    target = np.full((2, 4), -100)
    with np.errstate(all="raise"):
        loss = (F.cross_entropy(logits, target) if loss_fn == "cross_entropy"
                else F.nll_loss(F.log_softmax(logits, dim=1), target))
        loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(logits.grad, np.zeros((2, 3, 4)))


def test_ignored_targets_are_plus_zero_in_the_per_target_losses():
    """reduction="none": 0 (not -0, which prints as "-0.") at an ignored target, as PyTorch's, and
    -log softmax(z)[y] elsewhere; the gradient is +0 on the ignored rows too."""
    z = RNG.standard_normal((4, 3))
    y = np.array([2, -100, 0, -100])
    logits = leaf(z)
    losses = F.cross_entropy(logits, y, reduction="none")
    expected = -np.log(np_softmax(z)[np.arange(4), np.where(y < 0, 0, y)]) * (y >= 0)
    np.testing.assert_allclose(losses.data, expected, rtol=1e-12)
    assert not np.signbit(losses.data).any()
    losses.sum().backward()
    assert not np.signbit(logits.grad[[1, 3]]).any()
