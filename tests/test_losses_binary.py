"""Binary cross-entropy (F.binary_cross_entropy_with_logits, F.binary_cross_entropy, nn.BCEWithLogitsLoss,
nn.BCELoss), as PyTorch's: values against the closed forms in numpy (log sigmoid written with
np.logaddexp), gradients against central differences of those numpy functions and tangents against
directional differences, in float64 on several shapes, with every reduction and broadcast weights."""

import numpy as np
import pytest

from test_forward_mode import directional_difference
from test_op_gradients import central_differences

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F

SHAPES = [(), (5,), (3, 4), (2, 3, 4)]
REDUCE = {"none": lambda v: v, "sum": np.sum, "mean": np.mean}


def np_bce_with_logits(x, y, weight=None, pos_weight=None):
    """-w [p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], log sigmoid(x) = -log(1 + e^-x)."""
    p = 1.0 if pos_weight is None else pos_weight
    w = 1.0 if weight is None else weight
    log_s, log_not_s = -np.logaddexp(0.0, -x), -np.logaddexp(0.0, x)
    return -w * (p * y * log_s + (1 - y) * log_not_s)


def np_bce(x, y, weight=None):
    """-w [y log x + (1 - y) log(1 - x)], each log clamped at -100 as PyTorch's."""
    w = 1.0 if weight is None else weight
    with np.errstate(divide="ignore"):
        return -w * (y * np.maximum(np.log(x), -100) + (1 - y) * np.maximum(np.log(1 - x), -100))


def assert_value_gradient_and_tangent(mg_loss, np_loss, x, reduction):
    """mg_loss(tensor, reduction) against np_loss(array) reduced: the value; the gradient of
    sum(R * loss) by central differences; J v along a direction, and along two at once."""
    rng = np.random.default_rng(7)
    reduce = REDUCE[reduction]
    tensor = mg.tensor(x.copy(), requires_grad=True)
    out = mg_loss(tensor, reduction)
    expected = np.asarray(reduce(np_loss(x)))
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-13)

    weights = rng.standard_normal(expected.shape)
    (out * weights).sum().backward()
    numeric = central_differences(lambda a: float(np.sum(reduce(np_loss(a)) * weights)), x)
    assert tensor.grad.shape == x.shape
    np.testing.assert_allclose(tensor.grad, numeric, rtol=1e-6, atol=1e-8)

    directions = rng.standard_normal((2,) + x.shape)
    _, tangent = mg.jvp(lambda t: mg_loss(t, reduction), [mg.tensor(x)], [directions[0]])
    along = directional_difference(lambda a: reduce(np_loss(a)), [x], [directions[0]])
    np.testing.assert_allclose(tangent, along, rtol=1e-6, atol=1e-8)
    _, tangents = mg.jvp(lambda t: mg_loss(t, reduction), [mg.tensor(x)], [directions])
    for k in range(2):
        along = directional_difference(lambda a: reduce(np_loss(a)), [x], [directions[k]])
        np.testing.assert_allclose(tangents[k], along, rtol=1e-6, atol=1e-8)


def logits_and_targets(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) * 3, rng.uniform(0, 1, shape)


# ---- with logits ----------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("shape", SHAPES)
def test_with_logits_matches_the_closed_form(shape, reduction):
    x, y = logits_and_targets(shape)
    assert_value_gradient_and_tangent(
        lambda t, r: F.binary_cross_entropy_with_logits(t, y, reduction=r),
        lambda a: np_bce_with_logits(a, y), x, reduction)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weight_shape, pos_weight_shape", [((4,), (4,)), ((3, 1), (1, 4)), ((), (3, 4)),
                                                            ((2, 1, 4), (4,))])
def test_with_logits_weight_and_pos_weight_broadcast(weight_shape, pos_weight_shape, reduction):
    """weight scales each element's loss, pos_weight the positive term (one per class on the last
    axis, say); both broadcast to the input's shape."""
    shape = (2, 3, 4) if len(weight_shape) == 3 else (3, 4)
    x, y = logits_and_targets(shape, seed=1)
    rng = np.random.default_rng(2)
    weight = rng.uniform(0.5, 2.0, weight_shape)
    pos_weight = rng.uniform(0.5, 3.0, pos_weight_shape)
    assert_value_gradient_and_tangent(
        lambda t, r: F.binary_cross_entropy_with_logits(t, y, weight, reduction=r, pos_weight=pos_weight),
        lambda a: np_bce_with_logits(a, y, weight, pos_weight), x, reduction)


def test_with_logits_gradient_is_sigmoid_minus_target_also_at_zero():
    """dl/dx = sigmoid(x) - y, 1/2 - y at x = 0 exactly (where max(x, 0) and |x| have their kinks)."""
    x = np.array([0.0, 0.0, 0.0, 1.5, -2.0])
    y = np.array([0.0, 1.0, 0.3, 1.0, 0.0])
    tensor = mg.tensor(x, requires_grad=True)
    F.binary_cross_entropy_with_logits(tensor, y, reduction="sum").backward()
    np.testing.assert_allclose(tensor.grad, 1 / (1 + np.exp(-x)) - y, rtol=1e-15, atol=1e-16)
    assert tensor.grad[0] == 0.5 and tensor.grad[1] == -0.5


def test_with_logits_and_pos_weight_gradient_is_the_closed_form():
    """dl/dx = (1 + (p - 1) y) sigmoid(x) - p y."""
    x, y = np.array([-1.0, 0.0, 2.0]), np.array([1.0, 0.5, 0.0])
    p = np.array([3.0, 2.0, 0.5])
    tensor = mg.tensor(x, requires_grad=True)
    F.binary_cross_entropy_with_logits(tensor, y, pos_weight=p, reduction="sum").backward()
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(tensor.grad, (1 + (p - 1) * y) * s - p * y, rtol=1e-15)


def test_with_logits_is_stable_for_huge_logits():
    """|x| = 1000: e^1000 overflows, the loss does not: max(x, 0) - x y + log(1 + e^-|x|)."""
    x = np.array([1000.0, -1000.0, 1000.0, -1000.0, 40.0])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.25])
    tensor = mg.tensor(x, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):     # (e^-1000 underflowing to 0 is fine)
        loss = F.binary_cross_entropy_with_logits(tensor, y, reduction="none")
        loss.sum().backward()
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 1000.0, 1000.0, 30.0 + np.log1p(np.exp(-40.0))], rtol=1e-15)
    np.testing.assert_array_equal(tensor.grad[:4], [0.0, 0.0, 1.0, -1.0])
    with mg.detect_anomaly():
        F.binary_cross_entropy_with_logits(mg.tensor(x, requires_grad=True), y).backward()


def test_with_logits_keeps_float32():
    x = mg.tensor(np.array([0.5, -3.0], dtype=np.float32), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, np.array([1.0, 0.0]), pos_weight=np.array([2.0, 2.0]))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(loss.item(), np.mean(np_bce_with_logits(np.array([0.5, -3.0]), np.array([1.0, 0.0]),
                                                                       pos_weight=2.0)), rtol=1e-6)


def test_a_sentiment_model_s_one_logit_trains_with_bce_with_logits():
    """A GRU reads a sequence and one logit per example says whether its sum is positive."""
    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 16, 1))                            # (T, B, I)
    labels = (x.sum(axis=(0, 2)) > 0).astype(np.float64)            # (B,)
    rnn, readout = nn.GRU(1, 8, dtype=np.float64), nn.Linear(8, 1, dtype=np.float64)
    criterion = nn.BCEWithLogitsLoss()
    optimizer = mg.optim.Adam(list(rnn.parameters()) + list(readout.parameters()), lr=0.05)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        _, h = rnn(x)
        loss = criterion(readout(h[-1]).squeeze(1), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] > 0.5 and losses[-1] < 0.5 * losses[0]


# ---- from probabilities ---------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("shape", SHAPES)
def test_from_probabilities_matches_the_closed_form(shape, reduction):
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)
    assert_value_gradient_and_tangent(lambda t, r: F.binary_cross_entropy(t, y, reduction=r),
                                      lambda a: np_bce(a, y), x, reduction)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weight_shape", [(4,), (3, 1), ()])
def test_from_probabilities_with_a_broadcast_weight(weight_shape, reduction):
    rng = np.random.default_rng(4)
    x, y = rng.uniform(0.05, 0.95, (3, 4)), rng.integers(0, 2, (3, 4)).astype(np.float64)
    weight = rng.uniform(0.5, 2.0, weight_shape)
    assert_value_gradient_and_tangent(lambda t, r: F.binary_cross_entropy(t, y, weight, reduction=r),
                                      lambda a: np_bce(a, y, weight), x, reduction)


def test_from_probabilities_at_zero_and_one_clamps_the_log_at_minus_100_as_pytorch():
    """A probability of exactly 0 or 1 (a saturated sigmoid) costs 100, not inf; the gradient is
    PyTorch's (x - y) / max(x (1 - x), 1e-12), finite."""
    x = np.array([0.0, 0.0, 1.0, 1.0, 0.5])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    tensor = mg.tensor(x, requires_grad=True)
    loss = F.binary_cross_entropy(tensor, y, reduction="none")
    loss.sum().backward()
    np.testing.assert_allclose(loss.data, [0.0, 100.0, 100.0, 0.0, np.log(2.0)], rtol=1e-15)
    np.testing.assert_allclose(tensor.grad, [0.0, -1e12, 1e12, 0.0, -2.0], rtol=1e-15)


def test_from_probabilities_of_a_sigmoid_equals_with_logits():
    x, y = logits_and_targets((4, 3), seed=5)
    a, b = mg.tensor(x, requires_grad=True), mg.tensor(x, requires_grad=True)
    probabilities = F.binary_cross_entropy(a.sigmoid(), y)
    logits = F.binary_cross_entropy_with_logits(b, y)
    probabilities.backward()
    logits.backward()
    np.testing.assert_allclose(probabilities.item(), logits.item(), rtol=1e-12)
    np.testing.assert_allclose(a.grad, b.grad, rtol=1e-9, atol=1e-15)


# ---- modules --------------------------------------------------------------------------------------

def test_bce_with_logits_loss_module_is_the_function_with_its_weights_as_buffers():
    x, y = logits_and_targets((3, 4), seed=6)
    weight, pos_weight = np.array([[1.0], [2.0], [0.5]]), np.array([1.0, 2.0, 3.0, 4.0])
    criterion = nn.BCEWithLogitsLoss(weight=weight, reduction="sum", pos_weight=pos_weight)
    np.testing.assert_allclose(criterion(mg.tensor(x), y).item(), np.sum(np_bce_with_logits(x, y, weight, pos_weight)),
                               rtol=1e-12)
    assert set(criterion.state_dict()) == {"weight", "pos_weight"}
    np.testing.assert_array_equal(criterion.state_dict()["pos_weight"], pos_weight)
    assert nn.BCEWithLogitsLoss().state_dict() == {}
    assert repr(nn.BCEWithLogitsLoss(reduction="none")) == "BCEWithLogitsLoss()"      # (PyTorch's: the name alone)


def test_bce_loss_module_is_the_function():
    rng = np.random.default_rng(8)
    x, y = rng.uniform(0.1, 0.9, (5,)), rng.integers(0, 2, (5,)).astype(np.float64)
    weight = rng.uniform(0.5, 2.0, (5,))
    np.testing.assert_allclose(nn.BCELoss()(mg.tensor(x), y).item(), np.mean(np_bce(x, y)), rtol=1e-12)
    np.testing.assert_allclose(nn.BCELoss(weight, "none")(mg.tensor(x), y).data, np_bce(x, y, weight), rtol=1e-12)
    criterion = nn.BCELoss(weight=mg.tensor(weight.astype(np.float32))).double()
    assert criterion.weight.dtype == np.float64


# ---- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("loss", [F.binary_cross_entropy_with_logits, F.binary_cross_entropy])
def test_a_target_of_another_shape_raises_naming_the_loss_and_both_shapes(loss):
    name = loss.__name__
    with pytest.raises(ValueError, match=rf"{name}: target of shape \(3, 1\) and input of shape \(3,\) differ"):
        loss(mg.tensor(np.full(3, 0.5)), np.ones((3, 1)))


def test_a_weight_that_does_not_broadcast_to_the_input_raises():
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: pos_weight of shape \(3,\) does not "
                                         r"broadcast to the input's shape \(2, 4\)"):
        F.binary_cross_entropy_with_logits(mg.tensor(np.zeros((2, 4))), np.ones((2, 4)), pos_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: weight of shape \(2, 4, 1\) does not broadcast"):
        F.binary_cross_entropy(mg.tensor(np.full((2, 4), 0.5)), np.ones((2, 4)), weight=np.ones((2, 4, 1)))


def test_probabilities_outside_zero_one_raise_pointing_at_the_logits_version():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: expected probabilities in \[0, 1\].*"
                                         r"binary_cross_entropy_with_logits.*from -0.5 to 1.2"):
        F.binary_cross_entropy(mg.tensor(np.array([-0.5, 0.3, 1.2])), np.ones(3))


def test_integer_input_and_a_bad_reduction_raise():
    with pytest.raises(TypeError, match="binary_cross_entropy_with_logits: expected a floating-point input, "
                                        "got dtype int64"):
        F.binary_cross_entropy_with_logits(mg.tensor([1, 0]), np.ones(2))
    with pytest.raises(ValueError, match="binary_cross_entropy: reduction must be one of"):
        F.binary_cross_entropy(mg.tensor(np.full(2, 0.5)), np.ones(2), reduction="average")
    with pytest.raises(ValueError, match="BCEWithLogitsLoss: reduction must be one of"):
        nn.BCEWithLogitsLoss(reduction="average")
