"""The margin losses (F.margin_ranking_loss, hinge_embedding_loss, soft_margin_loss, cosine_embedding_loss,
triplet_margin_loss, triplet_margin_with_distance_loss, multi_margin_loss, multilabel_margin_loss,
multilabel_soft_margin_loss) and the likelihoods F.poisson_nll_loss and F.gaussian_nll_loss, with their
nn modules, as PyTorch's: values against numpy of PyTorch's documented formulas (and of its kernels'
where they say more: the eps of cosine_embedding_loss, where multi_margin_loss's class weight goes), for
every reduction and the legacy size_average/reduce pair, 1-d and batched; gradients against central
differences and tangents against directional differences, in float64, on inputs kept away from the
kinks; errors that name the function and change nothing.

`loss_case` is also the strategy of these losses' rows in tests/test_composite_gradients.py."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import strategies as st

from test_forward_mode import as_tensors, directional_difference
from test_op_gradients import central_differences

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F

REDUCE = {"none": lambda v: v, "sum": np.sum, "mean": np.mean}
GAP = 0.05      # how far from every kink the inputs are kept (central differences step 1e-6)


# ---- numpy of PyTorch's formulas, per element (or per row) ---------------------------------------

def np_margin_ranking(x1, x2, y, margin):
    return np.maximum(0.0, -y * (x1 - x2) + margin)


def np_hinge_embedding(x, y, margin):
    return np.where(y == 1, x, 0.0) + np.where(y == -1, np.maximum(0.0, margin - x), 0.0)


def np_soft_margin(x, y):
    return np.log1p(np.exp(-y * x))


def np_cosine(x1, x2):
    """Loss.cpp's cosine: <x1, x2> / sqrt((|x1|^2 + e)(|x2|^2 + e)), e = float32's 1e-12."""
    e = float(np.float32(1e-12))
    return (x1 * x2).sum(-1) / np.sqrt(((x1 * x1).sum(-1) + e) * ((x2 * x2).sum(-1) + e))


def np_cosine_embedding(x1, x2, y, margin):
    cos = np_cosine(x1, x2)
    return np.where(y == 1, 1 - cos, 0.0) + np.where(y == -1, np.maximum(0.0, cos - margin), 0.0)


def np_distance(x1, x2, p=2.0, eps=1e-6):
    """pairwise_distance: ||x1 - x2 + eps||_p over the last axis."""
    return (np.abs(x1 - x2 + eps) ** p).sum(-1) ** (1 / p)


def np_triplet(a, pos, neg, margin, distance, swap=False):
    far = distance(a, neg)
    if swap:
        far = np.minimum(far, distance(pos, neg))
    return np.maximum(0.0, margin + distance(a, pos) - far)


def np_multi_margin(x, y, p=1, margin=1.0, weight=None):
    """sum over i != y of max(0, margin - x[y] + x[i])^p / C per row, times w[y] after the power (the
    kernel, LossMultiMargin.cpp; the docs' max(0, w[y] (...))^p agrees for p = 1)."""
    rows, classes = np.atleast_2d(x), x.shape[-1] if x.ndim else 1
    picks = np.reshape(y, -1)
    losses = []
    for row, label in zip(rows.reshape(-1, classes), picks):
        total = sum(max(0.0, margin - row[label] + row[i]) ** p for i in range(classes) if i != label)
        losses.append(total * (1.0 if weight is None else weight[label]) / classes)
    return np.reshape(losses, np.shape(y))


def np_multilabel_margin(x, y):
    """sum over labels j (before the first -1) and non-labels i of max(0, 1 - (x[j] - x[i])) / C per row."""
    rows, labels = np.atleast_2d(x), np.atleast_2d(y)
    losses = []
    for row, row_labels in zip(rows, labels):
        listed = []
        for label in row_labels:
            if label < 0:
                break
            listed.append(label)
        others = [i for i in range(len(row)) if i not in listed]
        losses.append(sum(max(0.0, 1 - (row[j] - row[i])) for j in listed for i in others) / len(row))
    return np.array(losses) if y.ndim == 2 else np.array(losses[0])


def np_multilabel_soft_margin(x, y, weight=None):
    """-1/C sum_i w_i [y_i log(1 / (1 + e^-x_i)) + (1 - y_i) log(e^-x_i / (1 + e^-x_i))] per row."""
    w = 1.0 if weight is None else weight
    terms = y * -np.logaddexp(0.0, -x) + (1 - y) * (-x - np.logaddexp(0.0, -x))
    return -(w * terms).sum(-1) / x.shape[-1]


def np_poisson(x, y, log_input=True, full=False, eps=1e-8):
    losses = np.exp(x) - y * x if log_input else x - y * np.log(x + eps)
    if full:
        safe = np.where(y > 1, y, 1.0)
        losses = losses + np.where(y > 1, safe * np.log(safe) - safe + 0.5 * np.log(2 * np.pi * safe), 0.0)
    return losses


def np_gaussian(x, y, var, full=False, eps=1e-6):
    v = np.maximum(var, eps)
    return 0.5 * (np.log(v) + (x - y) ** 2 / v) + (0.5 * np.log(2 * np.pi) if full else 0.0)


# ---- inputs away from the kinks, and the cases: (mg function, numpy function, differentiable arrays) ----

def signs(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


def away(rng, shape, low=GAP * 4, high=1.5):
    """Numbers of either sign whose size lies in [low, high]: a hinge's argument kept off its kink."""
    return signs(rng, shape) * rng.uniform(low, high, shape)


def redrawn(draw, clear):
    """draw() until clear(drawn) (each draw from the same generator: deterministic)."""
    for _ in range(200):
        drawn = draw()
        if clear(drawn):
            return drawn
    raise AssertionError("no input clear of the kinks in 200 draws")


def margin_ranking_case(rng, ndim, reduction):
    shape = (3,) * ndim
    margin, y, x2 = 0.5, signs(rng, shape), rng.standard_normal(shape)
    x1 = x2 + y * (margin - away(rng, shape))            # so that -y (x1 - x2) + margin = away(...)
    return (lambda a, b: F.margin_ranking_loss(a, b, y, margin=margin, reduction=reduction),
            lambda a, b: REDUCE[reduction](np_margin_ranking(a, b, y, margin)), [x1, x2])


def hinge_embedding_case(rng, ndim, reduction):
    shape = (2, 3, 2)[:ndim]
    margin, y = 0.7, signs(rng, shape)
    x = np.where(y == -1, margin - away(rng, shape), rng.standard_normal(shape))
    return (lambda t: F.hinge_embedding_loss(t, y, margin, reduction=reduction),
            lambda a: REDUCE[reduction](np_hinge_embedding(a, y, margin)), [x])


def soft_margin_case(rng, ndim, reduction):
    shape = (2, 3, 2)[:ndim]
    y = signs(rng, shape)
    return (lambda t, u: F.soft_margin_loss(t, u, reduction=reduction),
            lambda a, b: REDUCE[reduction](np_soft_margin(a, b)), [2 * rng.standard_normal(shape), y])


def cosine_embedding_case(rng, ndim, reduction):
    """ndim 1: one pair (D,) and a 0-d target; 2: pairs (N, D) and targets (N,)."""
    shape = (4, 3)[-ndim:] if ndim == 1 else (4, 3)
    margin = 0.2
    y = signs(rng, shape[:-1])
    x1, x2 = redrawn(lambda: (rng.standard_normal(shape), rng.standard_normal(shape)),
                     lambda pair: np.all(np.abs(np_cosine(*pair) - margin) > GAP))
    return (lambda a, b: F.cosine_embedding_loss(a, b, y, margin, reduction=reduction),
            lambda a, b: REDUCE[reduction](np_cosine_embedding(a, b, y, margin)), [x1, x2])


def triplet_arrays(rng, shape, distance, margin, swap):
    def clear(triplet):
        a, pos, neg = triplet
        apart = [a - pos, a - neg] + ([pos - neg] if swap else [])
        far = np.abs(distance(a, neg) - distance(pos, neg)) > GAP if swap else True
        nearest = np.minimum(distance(a, neg), distance(pos, neg)) if swap else distance(a, neg)
        return (np.all(np.abs(margin + distance(a, pos) - nearest) > GAP) and np.all(far)
                and all(np.all(np.abs(d + 1e-6) > GAP / 10) for d in apart))
    return list(redrawn(lambda: tuple(rng.standard_normal(shape) for _ in range(3)), clear))


def triplet_margin_case(rng, ndim, reduction, p=2.0, swap=None):
    shape = (5,) if ndim == 1 else (3, 4)
    swap = bool(rng.random() < 0.5) if swap is None else swap
    margin, distance = 1.0, (lambda x1, x2: np_distance(x1, x2, p))
    arrays = triplet_arrays(rng, shape, distance, margin, swap)
    return (lambda a, pos, neg: F.triplet_margin_loss(a, pos, neg, margin, p, swap=swap, reduction=reduction),
            lambda a, pos, neg: REDUCE[reduction](np_triplet(a, pos, neg, margin, distance, swap)), arrays)


def triplet_with_distance_case(rng, ndim, reduction):
    """A custom distance, 1 - cosine similarity (PyTorch's own example); its kinks are the hinge's alone."""
    shape = (5,) if ndim == 1 else (3, 4)
    margin, swap = 0.3, bool(rng.random() < 0.5)

    def np_cosine_distance(x1, x2):
        return 1 - (x1 * x2).sum(-1) / (np.linalg.norm(x1, axis=-1) * np.linalg.norm(x2, axis=-1))
    arrays = triplet_arrays(rng, shape, np_cosine_distance, margin, swap)
    return (lambda a, pos, neg: F.triplet_margin_with_distance_loss(
        a, pos, neg, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v, dim=-1), margin=margin, swap=swap,
        reduction=reduction),
            lambda a, pos, neg: REDUCE[reduction](np_triplet(a, pos, neg, margin, np_cosine_distance, swap)), arrays)


def multi_margin_case(rng, ndim, reduction, p=None, weighted=None):
    """ndim 1: scores (C,) against a 0-d class; 2: (N, C) against (N,)."""
    classes, margin = 4, 0.8
    p = int(rng.integers(1, 3)) if p is None else p
    weight = rng.uniform(0.5, 2.0, classes) if (rng.random() < 0.5 if weighted is None else weighted) else None
    y = rng.integers(0, classes, () if ndim == 1 else (3,))

    def clear(x):
        rows, picks = np.atleast_2d(x), np.reshape(y, -1)
        z = margin - rows[np.arange(len(picks)), picks][:, None] + rows
        return np.all(np.abs(z) > GAP)
    x = redrawn(lambda: 1.5 * rng.standard_normal((classes,) if ndim == 1 else (3, classes)), clear)
    return (lambda t: F.multi_margin_loss(t, y, p, margin, weight, reduction=reduction),
            lambda a: REDUCE[reduction](np_multi_margin(a, y, p, margin, weight)), [x])


def multilabel_margin_case(rng, ndim, reduction):
    """ndim 1: scores (C,) and their labels (C,); 2: (N, C) and (N, C); labels padded with -1 (a row
    with none, one listed twice, and labels after a -1 that do not count)."""
    classes = 5
    y = np.array([[3, 0, -1, 1, 2], [-1, 2, 4, 0, 0], [1, 1, 4, -1, -1]])
    y = y[0] if ndim == 1 else y

    def clear(x):
        rows = np.atleast_2d(x)
        return np.all(np.abs(1 - rows[:, :, None] + rows[:, None, :]) > GAP)
    x = redrawn(lambda: 1.5 * rng.standard_normal((classes,) if ndim == 1 else (3, classes)), clear)
    return (lambda t: F.multilabel_margin_loss(t, y, reduction=reduction),
            lambda a: REDUCE[reduction](np_multilabel_margin(a, y)), [x])


def multilabel_soft_margin_case(rng, ndim, reduction):
    shape = (4,) if ndim == 1 else (3, 4)
    y = (rng.random(shape) < 0.5).astype(float)
    weight = rng.uniform(0.5, 2.0, 4) if rng.random() < 0.5 else None
    return (lambda t: F.multilabel_soft_margin_loss(t, y, weight, reduction=reduction),
            lambda a: REDUCE[reduction](np_multilabel_soft_margin(a, y, weight)), [2 * rng.standard_normal(shape)])


def poisson_case(rng, ndim, reduction, log_input=None, full=None):
    shape = (2, 3, 2)[:ndim]
    log_input = bool(rng.random() < 0.5) if log_input is None else log_input
    full = bool(rng.random() < 0.5) if full is None else full
    x = rng.standard_normal(shape) if log_input else rng.uniform(0.5, 2.0, shape)
    counts = np.where(rng.random(shape) < 0.5, rng.uniform(0.0, 0.9, shape), rng.uniform(1.1, 4.0, shape))
    return (lambda t, u: F.poisson_nll_loss(t, u, log_input, full, reduction=reduction),
            lambda a, b: REDUCE[reduction](np_poisson(a, b, log_input, full)), [x, counts])


def gaussian_case(rng, ndim, reduction, var_shape=None, full=None):
    """var one per element, or shared over the last axis: without it, or with size 1 there."""
    shape = (2, 3, 2)[:ndim]
    full = bool(rng.random() < 0.5) if full is None else full
    if var_shape is None:
        var_shape = [shape, shape[:-1], shape[:-1] + (1,)][int(rng.integers(0, 3))] if ndim else shape
    var = rng.uniform(0.3, 2.0, var_shape)
    expanded = (lambda v: v[..., None]) if var_shape == shape[:-1] and var_shape != shape else (lambda v: v)
    return (lambda t, u, v: F.gaussian_nll_loss(t, u, v, full, reduction=reduction),
            lambda a, b, v: REDUCE[reduction](np_gaussian(a, b, expanded(v), full)),
            [rng.standard_normal(shape), rng.standard_normal(shape), var])


CASES = {
    "margin_ranking_loss": (margin_ranking_case, (0, 1)),
    "hinge_embedding_loss": (hinge_embedding_case, (0, 1, 2, 3)),
    "soft_margin_loss": (soft_margin_case, (0, 1, 2, 3)),
    "cosine_embedding_loss": (cosine_embedding_case, (1, 2)),
    "triplet_margin_loss": (triplet_margin_case, (1, 2)),
    "triplet_margin_with_distance_loss": (triplet_with_distance_case, (1, 2)),
    "multi_margin_loss": (multi_margin_case, (1, 2)),
    "multilabel_margin_loss": (multilabel_margin_case, (1, 2)),
    "multilabel_soft_margin_loss": (multilabel_soft_margin_case, (1, 2)),
    "poisson_nll_loss": (poisson_case, (0, 1, 2, 3)),
    "gaussian_nll_loss": (gaussian_case, (1, 2, 3)),
}

RANKS = {name: ndims for name, (_, ndims) in CASES.items()}     # (tests/test_composite_gradients.py's rows)


def loss_case(name):
    """For tests/test_composite_gradients.py: a strategy, given a number of axes, of (mg function, numpy
    function, arrays) for the loss `name`, its inputs drawn from a seed and a reduction."""
    build, _ = CASES[name]

    @st.composite
    def case(draw, ndim):
        rng = np.random.default_rng(draw(st.integers(0, 2 ** 16), label="seed"))
        return build(rng, ndim, draw(st.sampled_from(sorted(REDUCE)), label="reduction"))
    return case


# ---- the checks ---------------------------------------------------------------------------------

def assert_value_gradient_and_tangent(mg_fn, np_fn, arrays):
    """The value against np_fn's; the gradient of sum(R * loss) with respect to each array against
    central differences; J v along one direction per array (all at once) against directional
    differences."""
    rng = np.random.default_rng(3)
    tensors = [mg.tensor(a.copy(), requires_grad=True) for a in arrays]
    out = mg_fn(*tensors)
    expected = np.asarray(np_fn(*arrays))
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-13)
    weights = rng.standard_normal(expected.shape)
    (out * weights).sum().backward()
    for position, (tensor, array) in enumerate(zip(tensors, arrays)):
        def weighted(a, position=position):
            return float(np.sum(np_fn(*arrays[:position], a, *arrays[position + 1:]) * weights))
        assert tensor.grad is not None and tensor.grad.shape == array.shape
        np.testing.assert_allclose(tensor.grad, central_differences(weighted, array), rtol=1e-6, atol=1e-8,
                                   err_msg=f"the gradient of operand {position}")
    directions = [rng.standard_normal(a.shape) for a in arrays]
    _, tangent = mg.jvp(mg_fn, as_tensors(arrays), directions)
    np.testing.assert_allclose(tangent, directional_difference(np_fn, arrays, directions), rtol=1e-6, atol=1e-8)


RANKED = [pytest.param(name, ndim, reduction, id=f"{name}-{ndim}d-{reduction}")
          for name, (_, ndims) in CASES.items() for ndim in ndims for reduction in REDUCE]


@pytest.mark.parametrize("name, ndim, reduction", RANKED)
def test_value_gradient_and_tangent_match_numpy(name, ndim, reduction):
    """Each loss, unbatched and batched, every reduction: value, gradient and tangent (two seeds)."""
    build, _ = CASES[name]
    for seed in (0, 1):
        assert_value_gradient_and_tangent(*build(np.random.default_rng(seed), ndim, reduction))


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_multi_margin_loss_every_p_with_and_without_weights(p, weighted):
    mg_fn, np_fn, arrays = multi_margin_case(np.random.default_rng(5), 2, "none", p=p, weighted=weighted)
    assert_value_gradient_and_tangent(mg_fn, np_fn, arrays)


def test_multi_margin_loss_matches_pytorch_s_example():
    """nn.MultiMarginLoss's docstring: x = [[0.1, 0.2, 0.4, 0.8]], y = [3]:
    0.25 ((1 - (0.8 - 0.1)) + (1 - (0.8 - 0.2)) + (1 - (0.8 - 0.4))) = 0.325."""
    assert nn.MultiMarginLoss()(mg.tensor([[0.1, 0.2, 0.4, 0.8]]), np.array([3])).item() == pytest.approx(0.325)


def test_multilabel_margin_loss_matches_pytorch_s_example():
    """nn.MultiLabelMarginLoss's docstring: labels 3 and 0 (the 1 after -1 does not count):
    0.25 ((1 - (0.1 - 0.2)) + (1 - (0.1 - 0.4)) + (1 - (0.8 - 0.2)) + (1 - (0.8 - 0.4))) = 0.85."""
    loss = F.multilabel_margin_loss(mg.tensor([[0.1, 0.2, 0.4, 0.8]]), np.array([[3, 0, -1, 1]]))
    assert loss.item() == pytest.approx(0.85)


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_triplet_margin_loss_every_p_with_and_without_swap(p, swap):
    mg_fn, np_fn, arrays = triplet_margin_case(np.random.default_rng(7), 2, "none", p=p, swap=swap)
    assert_value_gradient_and_tangent(mg_fn, np_fn, arrays)


def test_triplet_margin_loss_with_swap_takes_the_nearer_negative():
    """A negative nearer the positive than the anchor: with swap the loss uses d(p, n)."""
    a, pos, neg = np.array([0.0, 0.0]), np.array([2.0, 0.0]), np.array([2.5, 0.0])
    plain = F.triplet_margin_loss(a, pos, neg, margin=1.0, eps=0.0).item()
    swapped = F.triplet_margin_loss(a, pos, neg, margin=1.0, eps=0.0, swap=True).item()
    assert plain == pytest.approx(1.0 + 2.0 - 2.5) and swapped == pytest.approx(1.0 + 2.0 - 0.5)


@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_loss_every_form(log_input, full):
    mg_fn, np_fn, arrays = poisson_case(np.random.default_rng(9), 2, "mean", log_input=log_input, full=full)
    assert_value_gradient_and_tangent(mg_fn, np_fn, arrays)


def test_poisson_nll_loss_stirling_term_is_0_up_to_a_count_of_1():
    """full=True adds y log y - y + log(2 pi y) / 2 only where y > 1 (0 and 1 add nothing, as PyTorch's), and a
    target tensor's gradient stays finite at y = 0."""
    counts = mg.tensor([0.0, 1.0, 3.0], requires_grad=True)
    loss = F.poisson_nll_loss(np.zeros(3), counts, full=True, reduction="none")
    np.testing.assert_allclose(loss.data, [1.0, 1.0, 1.0 + 3 * math.log(3) - 3 + 0.5 * math.log(6 * math.pi)])
    loss.sum().backward()
    assert np.isfinite(counts.grad).all()


@pytest.mark.parametrize("var_shape", [(2, 3), (2,), (2, 1), (1, 3)])
def test_gaussian_nll_loss_var_shapes(var_shape):
    """var of input's shape, without its last axis (unsqueezed), or of size 1 on one axis (broadcast)."""
    mg_fn, np_fn, arrays = gaussian_case(np.random.default_rng(11), 2, "sum", var_shape=var_shape, full=True)
    assert_value_gradient_and_tangent(mg_fn, np_fn, arrays)


def test_gaussian_nll_loss_takes_a_number_as_var():
    x, y = np.array([[0.5, -1.0], [2.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(F.gaussian_nll_loss(x, y, 0.5, reduction="none").data, np_gaussian(x, y, 0.5),
                               rtol=1e-14)


def test_gaussian_nll_loss_clamps_var_without_a_gradient_through_the_clamp():
    """Below eps, var is eps in the value, and its gradient is the slope at eps, 1/(2 eps) - d^2/(2 eps^2),
    passed to var whole (PyTorch clamps a clone under no_grad), not the clamp's 0."""
    eps, d = 1e-3, 0.01
    var = mg.tensor([1e-5, 0.5], requires_grad=True)
    loss = F.gaussian_nll_loss(np.array([d, d]), np.zeros(2), var, eps=eps, reduction="sum")
    assert loss.item() == pytest.approx(0.5 * (math.log(eps) + d * d / eps) + 0.5 * (math.log(0.5) + d * d / 0.5))
    loss.backward()
    np.testing.assert_allclose(var.grad, [0.5 / eps - d * d / (2 * eps ** 2), 0.5 / 0.5 - d * d / (2 * 0.25)])


# ---- the legacy pair, and the modules -----------------------------------------------------------

LEGACY = [({"size_average": False}, "sum"), ({"reduce": False}, "none"),
          ({"size_average": True, "reduce": True}, "mean"), ({"reduce": True}, "mean")]
WITH_LEGACY = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "cosine_embedding_loss",
               "triplet_margin_loss", "multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
               "poisson_nll_loss"]


def call_with(name, options):
    """The loss `name` on a fixed batched case, with keyword `options`; its numpy value per element too."""
    rng = np.random.default_rng(13)
    arrays = {"margin_ranking_loss": [rng.standard_normal(3), rng.standard_normal(3), np.array([1.0, -1, 1])],
              "hinge_embedding_loss": [rng.standard_normal(4), np.array([1.0, -1, -1, 1])],
              "soft_margin_loss": [rng.standard_normal(4), np.array([1.0, -1, -1, 1])],
              "cosine_embedding_loss": [rng.standard_normal((3, 2)), rng.standard_normal((3, 2)),
                                        np.array([1, -1, -1])],
              "triplet_margin_loss": [rng.standard_normal((3, 2)) for _ in range(3)],
              "multi_margin_loss": [rng.standard_normal((3, 4)), np.array([0, 3, 1])],
              "multilabel_margin_loss": [rng.standard_normal((2, 3)), np.array([[2, -1, 0], [0, 1, -1]])],
              "multilabel_soft_margin_loss": [rng.standard_normal((2, 3)), np.array([[1.0, 0, 1], [0, 0, 1]])],
              "poisson_nll_loss": [rng.standard_normal(4), np.array([0.0, 1, 2, 5])]}[name]
    return getattr(F, name)(*arrays, **options)


@pytest.mark.parametrize("name", WITH_LEGACY)
@pytest.mark.parametrize("legacy, reduction", LEGACY)
def test_the_legacy_pair_stands_for_a_reduction_with_pytorch_s_warning(name, legacy, reduction):
    with pytest.warns(UserWarning, match=f"please use reduction='{reduction}' instead"):
        old = call_with(name, legacy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = call_with(name, {"reduction": reduction})
    np.testing.assert_array_equal(old.data, new.data)


MODULES = [
    (nn.MarginRankingLoss(0.5), lambda a, b, y: F.margin_ranking_loss(a, b, y, 0.5),
     lambda rng: [rng.standard_normal(3), rng.standard_normal(3), np.array([1.0, -1, 1])]),
    (nn.HingeEmbeddingLoss(2.0, reduction="sum"), lambda x, y: F.hinge_embedding_loss(x, y, 2.0, reduction="sum"),
     lambda rng: [rng.standard_normal(4), np.array([1.0, -1, -1, 1])]),
    (nn.SoftMarginLoss(reduction="none"), lambda x, y: F.soft_margin_loss(x, y, reduction="none"),
     lambda rng: [rng.standard_normal(4), np.array([1.0, -1, -1, 1])]),
    (nn.CosineEmbeddingLoss(0.1), lambda a, b, y: F.cosine_embedding_loss(a, b, y, 0.1),
     lambda rng: [rng.standard_normal((3, 2)), rng.standard_normal((3, 2)), np.array([1, -1, -1])]),
    (nn.TripletMarginLoss(0.5, 1.0, 1e-3, True), lambda a, p, n: F.triplet_margin_loss(a, p, n, 0.5, 1.0, 1e-3, True),
     lambda rng: [rng.standard_normal((3, 2)) for _ in range(3)]),
    (nn.TripletMarginWithDistanceLoss(margin=2.0, swap=True),
     lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, margin=2.0, swap=True),
     lambda rng: [rng.standard_normal((3, 2)) for _ in range(3)]),
    (nn.MultiMarginLoss(2, 0.5, mg.tensor([1.0, 2.0, 3.0, 4.0])),
     lambda x, y: F.multi_margin_loss(x, y, 2, 0.5, np.array([1.0, 2.0, 3.0, 4.0])),
     lambda rng: [rng.standard_normal((3, 4)), np.array([0, 3, 1])]),
    (nn.MultiLabelMarginLoss(reduction="sum"), lambda x, y: F.multilabel_margin_loss(x, y, reduction="sum"),
     lambda rng: [rng.standard_normal((2, 3)), np.array([[2, -1, 0], [0, 1, -1]])]),
    (nn.MultiLabelSoftMarginLoss(mg.tensor([1.0, 0.5, 2.0])),
     lambda x, y: F.multilabel_soft_margin_loss(x, y, np.array([1.0, 0.5, 2.0])),
     lambda rng: [rng.standard_normal((2, 3)), np.array([[1.0, 0, 1], [0, 0, 1]])]),
    (nn.PoissonNLLLoss(False, True, None, 1e-4), lambda x, y: F.poisson_nll_loss(x, y, False, True, eps=1e-4),
     lambda rng: [rng.uniform(0.5, 2, 4), np.array([0.0, 1, 2, 5])]),
    (nn.GaussianNLLLoss(full=True, eps=1e-3), lambda x, y, v: F.gaussian_nll_loss(x, y, v, True, 1e-3),
     lambda rng: [rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.uniform(0.5, 2, (2, 1))]),
]


@pytest.mark.parametrize("module, function, arrays", MODULES, ids=lambda v: type(v).__name__)
def test_each_module_computes_its_function_with_its_settings(module, function, arrays):
    given = arrays(np.random.default_rng(17))
    np.testing.assert_array_equal(module(*given).data, function(*given).data)
    assert repr(module).startswith(type(module).__name__ + "(")


def test_modules_take_pytorch_s_order_and_the_legacy_pair():
    """(margin, size_average, reduce, reduction), as PyTorch's; PoissonNLLLoss's (log_input, full, size_average,
    eps, reduce, reduction); GaussianNLLLoss and TripletMarginWithDistanceLoss keyword-only."""
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.MarginRankingLoss(0.5, False).reduction == "sum"
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert nn.PoissonNLLLoss(True, False, None, 1e-8, False).reduction == "none"
    assert nn.TripletMarginLoss(1.0, 2.0, 1e-6, False, None, None, "sum").reduction == "sum"
    assert nn.MultiMarginLoss(1, 1.0, None, None, None, "none").reduction == "none"
    with pytest.raises(TypeError):
        nn.GaussianNLLLoss(True)
    with pytest.raises(TypeError):
        nn.TripletMarginWithDistanceLoss(None)


def test_weights_are_buffers_and_the_default_distance_a_child():
    assert list(nn.MultiMarginLoss(weight=mg.ones(3)).state_dict()) == ["weight"]
    assert list(nn.MultiLabelSoftMarginLoss(weight=mg.ones(3)).state_dict()) == ["weight"]
    assert list(nn.MultiMarginLoss().state_dict()) == []
    assert repr(nn.TripletMarginWithDistanceLoss()) == ("TripletMarginWithDistanceLoss(\n"
                                                        "  (distance_function): PairwiseDistance()\n)")


# ---- errors: naming the function, what was expected and what came; nothing changed ---------------

ERRORS = [
    (lambda x: F.margin_ranking_loss(x, np.zeros(2), np.ones(3)), ValueError,
     r"margin_ranking_loss: input1 of shape \(3,\), input2 of shape \(2,\), target of shape \(3,\) differ"),
    (lambda x: F.margin_ranking_loss(x, x, np.ones(3), reduction="avg"), ValueError,
     r"margin_ranking_loss: reduction must be one of \('mean', 'sum', 'none'\), got 'avg'"),
    (lambda x: F.hinge_embedding_loss(x, np.ones(2)), ValueError, r"hinge_embedding_loss: input of shape \(3,\)"),
    (lambda x: F.hinge_embedding_loss(x, np.ones(3), margin=math.nan), ValueError,
     r"hinge_embedding_loss: margin must be a finite number, got nan"),
    (lambda x: F.soft_margin_loss(x, np.ones((3, 1))), ValueError, r"soft_margin_loss: input of shape \(3,\)"),
    (lambda x: F.soft_margin_loss(x, np.ones(3), reduction=None), TypeError, r"soft_margin_loss: reduction must be"),
    (lambda x: F.cosine_embedding_loss(x, x, np.ones((3, 1))), ValueError,
     r"cosine_embedding_loss: expected a 0-d or 1-d target .*got target of shape \(3, 1\)"),
    (lambda x: F.cosine_embedding_loss(x, x, np.ones(3)), ValueError,
     r"cosine_embedding_loss: a 1-d target expects 2-d inputs, got inputs of shapes \(3,\) and \(3,\)"),
    (lambda x: F.cosine_embedding_loss(x.reshape(1, 3), np.ones((1, 2)), np.ones(1)), ValueError,
     r"cosine_embedding_loss: input1 of shape \(1, 3\), input2 of shape \(1, 2\) differ"),
    (lambda x: F.triplet_margin_loss(x, x, x, margin=0.0), ValueError,
     r"triplet_margin_loss: margin must be greater than 0, got 0.0"),
    (lambda x: F.triplet_margin_loss(x, x, x.reshape(1, 3)), ValueError,
     r"triplet_margin_loss: the anchor, positive and negative tensors must have the same number of dimensions, "
     r"got anchor 1-d, positive 1-d and negative 2-d"),
    (lambda x: F.triplet_margin_loss(x, np.zeros(2), x), ValueError,
     r"triplet_margin_loss: anchor, positive and negative of shapes \(3,\), \(2,\) and \(3,\) cannot be broadcast"),
    (lambda x: F.triplet_margin_loss(x, x, x, reduction="batchmean"), ValueError, r"triplet_margin_loss: reduction"),
    (lambda x: F.triplet_margin_with_distance_loss(x, x, x, margin=-1.0), ValueError,
     r"triplet_margin_with_distance_loss: margin must be greater than 0, got -1.0"),
    (lambda x: F.triplet_margin_with_distance_loss(x, x, x, distance_function="l2"), TypeError,
     r"triplet_margin_with_distance_loss: distance_function must be callable \(or None\), got str"),
    (lambda x: F.multi_margin_loss(x, np.array(0), p=3), ValueError,
     r"multi_margin_loss: only p == 1 and p == 2 supported, got p=3"),
    (lambda x: F.multi_margin_loss(x, np.array(3)), ValueError,
     r"multi_margin_loss: class indices must lie in \[0, 3\), got values from 3 to 3"),
    (lambda x: F.multi_margin_loss(x, np.array([0, 1])), ValueError,
     r"multi_margin_loss: expected 1 class indices, .* got target of shape \(2,\)"),
    (lambda x: F.multi_margin_loss(x, np.array(0.0)), ValueError,
     r"multi_margin_loss: expected integer class indices as target, got dtype float64"),
    (lambda x: F.multi_margin_loss(x, np.array(0), weight=np.ones(2)), ValueError,
     r"multi_margin_loss: expected one weight per class, shape \(3,\), got weight of shape \(2,\)"),
    (lambda x: F.multi_margin_loss(x.reshape(1, 1, 3), np.array([0])), ValueError,
     r"multi_margin_loss: expected a non-empty vector or matrix of scores, \(C,\) or \(N, C\), got input of shape "
     r"\(1, 1, 3\)"),
    (lambda x: F.multilabel_margin_loss(x, np.array([0, 3, -1])), ValueError,
     r"multilabel_margin_loss: label indices must lie in \[0, 3\) \(or be -1, ending the list\), "
     r"got values from -1 to 3"),
    (lambda x: F.multilabel_margin_loss(x, np.array([0, -1])), ValueError,
     r"multilabel_margin_loss: expected target of shape \(3,\) .*got target of shape \(2,\)"),
    (lambda x: F.multilabel_soft_margin_loss(x, np.ones(3), weight=np.ones(2)), ValueError,
     r"multilabel_soft_margin_loss: weight of shape \(2,\) does not broadcast to the input's shape \(3,\)"),
    (lambda x: F.multilabel_soft_margin_loss(x, np.ones(2)), ValueError,
     r"multilabel_soft_margin_loss: input of shape"),
    (lambda x: F.poisson_nll_loss(x, np.ones(2)), ValueError,
     r"poisson_nll_loss: target of shape \(2,\) and input of shape \(3,\) differ"),
    (lambda x: F.poisson_nll_loss(x, np.ones(3), reduction="all"), ValueError, r"poisson_nll_loss: reduction"),
    (lambda x: F.poisson_nll_loss(x, np.ones(3), log_input=1), ValueError,
     r"poisson_nll_loss: log_input must be True or False, got 1"),
    (lambda x: F.gaussian_nll_loss(x, x, np.ones(2)), ValueError,
     r"gaussian_nll_loss: var of shape \(2,\) is of incorrect size for input of shape \(3,\)"),
    (lambda x: F.gaussian_nll_loss(x.reshape(1, 3), x, np.ones((2, 1))), ValueError,
     r"gaussian_nll_loss: var of shape \(2, 1\) is of incorrect size for input of shape \(1, 3\)"),
    (lambda x: F.gaussian_nll_loss(x, x, np.array([1.0, -0.5, 1.0])), ValueError,
     r"gaussian_nll_loss: var has negative entries \(a variance is >= 0\), the least -0.5"),
    (lambda x: F.gaussian_nll_loss(x, x, -1.0), ValueError, r"gaussian_nll_loss: var has a negative entry"),
    (lambda x: F.gaussian_nll_loss(x, x, np.ones(3), reduction="avg"), ValueError,
     r"gaussian_nll_loss: reduction must be one of"),
    (lambda x: F.gaussian_nll_loss(x, np.ones(2), np.ones(3)), ValueError,
     r"gaussian_nll_loss: target of shape \(2,\) does not broadcast to the input's shape \(3,\)"),
    (lambda x: F.gaussian_nll_loss(mg.tensor([1, 2]), x, 1.0), TypeError,
     r"gaussian_nll_loss: expected a floating-point input, got dtype int64"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=[m.split(":")[0] + str(i) for i, (_, _, m) in
                                                              enumerate(ERRORS)])
def test_bad_arguments_raise_naming_the_function_and_change_nothing(call, error, message):
    x = mg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    with pytest.raises(error, match=message):
        call(x)
    assert x.grad is None and x.tolist() == [0.5, -1.0, 2.0]


@pytest.mark.parametrize("make, message", [
    (lambda: nn.MultiMarginLoss(p=3), r"MultiMarginLoss: only p == 1 and p == 2 supported, got p=3"),
    (lambda: nn.MultiMarginLoss(weight=mg.ones((2, 2))), r"MultiMarginLoss: expected a 1-d weight"),
    (lambda: nn.TripletMarginLoss(margin=0), r"TripletMarginLoss: margin must be greater than 0, got 0"),
    (lambda: nn.TripletMarginWithDistanceLoss(margin=-1.0), r"TripletMarginWithDistanceLoss: margin must be greater"),
    (lambda: nn.MarginRankingLoss(math.inf), r"MarginRankingLoss: margin must be a finite number, got inf"),
    (lambda: nn.GaussianNLLLoss(eps=-1.0), r"GaussianNLLLoss: eps must be a finite number >= 0, got -1.0"),
    (lambda: nn.PoissonNLLLoss(full="yes"), r"PoissonNLLLoss: full must be True or False, got 'yes'"),
    (lambda: nn.SoftMarginLoss(reduction="avg"), r"SoftMarginLoss: reduction must be one of"),
])
def test_modules_check_their_settings_when_made(make, message):
    with pytest.raises(ValueError, match=message):
        make()
