"""The one-node cross-entropy (ops/losses.py) against the same loss written with primitives, and against
central differences of the loss in numpy, with PyTorch's layouts (C,), (N, C) and (N, C, d)."""

import numpy as np
import pytest

from test_forward_mode import directional_difference
from test_op_gradients import central_differences

import microgradseq as mg
from microgradseq import ops
from microgradseq.functional import cross_entropy


def composite(logits, target, reduction):
    """-log_softmax(x)[target], reduced: the loss as four primitive nodes (classes on axis 1 of
    3-D logits (N, C, d), as PyTorch's, moved last first)."""
    if logits.ndim == 3:
        logits = logits.permute(0, 2, 1)
    losses = -ops.gather(ops.log_softmax(logits, axis=-1), target)
    return losses.sum() if reduction == "sum" else losses.mean()


def target_shape(shape):
    """Class targets for logits (C,), (N, C) or (N, C, d): (), (N,) or (N, d)."""
    return shape[:1] + shape[2:] if len(shape) >= 2 else ()


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("shape", [(5,), (3, 5), (4, 5, 2)])
def test_value_and_gradient_match_the_composite_of_primitives(reduction, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3
    target = rng.integers(0, shape[0] if len(shape) == 1 else shape[1], target_shape(shape))
    fused, reference = mg.tensor(x, requires_grad=True), mg.tensor(x, requires_grad=True)
    loss, expected = cross_entropy(fused, target, reduction=reduction), composite(reference, target, reduction)
    (loss * 1.7).backward()
    (expected * 1.7).backward()
    assert loss.op == "cross_entropy"
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(fused.grad, reference.grad, rtol=1e-10, atol=1e-14)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    target = np.array([0, 3, 1])
    assert mg.gradcheck(lambda t: cross_entropy(t, target, reduction="mean"), [x])


def test_forward_mode_matches_the_composite():
    rng = np.random.default_rng(2)
    x, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    target = np.array([2, 0, 1])
    _, tangent = mg.jvp(lambda t: cross_entropy(t, target, reduction="sum"), [mg.tensor(x)], [v])
    _, expected = mg.jvp(lambda t: composite(t, target, "sum"), [mg.tensor(x)], [v])
    np.testing.assert_allclose(tangent, expected, rtol=1e-12)


def test_float32_logits_give_a_float32_loss_and_gradient():
    x = mg.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    loss = cross_entropy(x, np.array([0, 2]))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32


# ---- against finite differences of the loss written in numpy ------------------------------------

def np_cross_entropy(x: np.ndarray, target: np.ndarray, reduction: str) -> float:
    """-log softmax(x)[target] per row, the classes on axis 1 of x (N, C, d) (else last), summed or
    averaged over the rows, in float64 numpy."""
    class_axis = 1 if x.ndim == 3 else -1
    shifted = x - x.max(axis=class_axis, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=class_axis, keepdims=True))
    losses = -np.take_along_axis(log_p, np.expand_dims(target, class_axis), axis=class_axis)
    return float(losses.sum() if reduction == "sum" else losses.mean())


def logits_and_targets(shape, seed):
    rng = np.random.default_rng(seed)
    classes = shape[0] if len(shape) == 1 else shape[1]
    return rng.standard_normal(shape) * 3, rng.integers(0, classes, target_shape(shape))


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("shape", [(5,), (3, 5), (4, 5, 2)], ids=["C", "N,C", "N,C,d"])
def test_value_and_gradient_match_central_differences(reduction, shape):
    """The one node's value is the numpy loss, and g * dL/dx (g = 1.7) is g times the central differences
    of the numpy loss, entry by entry (float64), for 1-D, 2-D and 3-D logits and both reductions."""
    x, target = logits_and_targets(shape, seed=3)
    logits = mg.tensor(x, requires_grad=True, dtype=np.float64)
    loss = cross_entropy(logits, target, reduction=reduction)
    assert loss.op == "cross_entropy" and loss.shape == ()
    np.testing.assert_allclose(loss.item(), np_cross_entropy(x, target, reduction), rtol=1e-12)
    (loss * 1.7).backward()
    numeric = central_differences(lambda a: 1.7 * np_cross_entropy(a, target, reduction), x)
    assert logits.grad.shape == shape and logits.grad.dtype == np.float64
    np.testing.assert_allclose(logits.grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("shape", [(5,), (3, 5), (4, 5, 2)], ids=["C", "N,C", "N,C,d"])
def test_forward_mode_matches_central_differences(reduction, shape):
    """J v from mg.jvp, for one direction and for k = 3 at once, is the central difference of the numpy
    loss along each direction (float64), for 1-D, 2-D and 3-D logits and both reductions."""
    x, target = logits_and_targets(shape, seed=4)
    directions = np.random.default_rng(5).standard_normal((3,) + shape)
    fn = lambda t: cross_entropy(t, target, reduction=reduction)     # noqa: E731
    expected = [directional_difference(lambda a: np_cross_entropy(a, target, reduction), [x], [v])
                for v in directions]
    loss, tangent = mg.jvp(fn, [mg.tensor(x, dtype=np.float64)], [directions[0]])
    assert tangent.shape == () and tangent.dtype == np.float64
    np.testing.assert_allclose(loss.item(), np_cross_entropy(x, target, reduction), rtol=1e-12)
    np.testing.assert_allclose(tangent, expected[0], rtol=1e-6, atol=1e-8)
    _, tangents = mg.jvp(fn, [mg.tensor(x, dtype=np.float64)], [directions])
    assert tangents.shape == (3,)
    np.testing.assert_allclose(tangents, expected, rtol=1e-6, atol=1e-8)


def test_logits_whose_array_is_not_in_row_order_get_the_whole_gradient():
    """cross_entropy(z.t(), y): the rule subtracts the one-hot through a flat view of its buffer, which
    was a copy for a transposed input, so the -1 at each target was lost (an error of 1.0)."""
    x = np.random.default_rng(6).standard_normal((3, 4))
    target = np.array([0, 1, 2, 0])
    z = mg.tensor(x, requires_grad=True)
    (cross_entropy(z.t(), target, reduction="sum") * 1.7).backward()
    numeric = central_differences(lambda a: 1.7 * np_cross_entropy(a.T, target, "sum"), x)
    np.testing.assert_allclose(z.grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("call, message", [
    (lambda: cross_entropy(mg.tensor([[1, 2, 3], [0, 0, 5]]), [0, 1]), "cross_entropy: expected floating-point scores, got dtype int64"),
    (lambda: mg.functional.nll_loss(mg.tensor([[1, 2]]), [0]), "nll_loss: expected floating-point scores, got dtype int64"),
    (lambda: mg.functional.dropout(mg.tensor([1, 2, 3, 4]), 0.5), "dropout: expected a floating-point tensor, got dtype int64"),
])
def test_integer_scores_are_refused_as_pytorch_refuses_them(call, message):
    """(The loss came out truncated to an integer, 3 for 3.71; dropout's 1 / (1 - p) became 0.)"""
    with pytest.raises(TypeError, match=message):
        call()


def test_logits_with_the_classes_last_name_pytorchs_layout():
    """(T, B, C) logits with (T, B) targets: PyTorch reads the classes on axis 1; the error says how to flatten."""
    with pytest.raises(ValueError, match=r"expected \(5, 3\); the classes are on axis 1, as in PyTorch: flatten "
                                         r"logits \(T, B, C\) to \(T \* B, C\)"):
        cross_entropy(mg.tensor(np.zeros((5, 2, 3))), np.zeros((5, 2), dtype=np.int64))


def test_probability_targets_must_have_the_logits_own_layout():
    """For logits (N, C, d) probabilities are (N, C, d) too; (N, d, C) was taken silently."""
    logits = mg.tensor(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"probability targets of shape \(2, 4, 3\) do not match logits of shape "
                                         r"\(2, 3, 4\)"):
        cross_entropy(logits, np.full((2, 4, 3), 1 / 3))


# ---- the call a training loop makes each step: logits (N, C), N class indices, "sum" or "mean" ----------

def np_summed_rows_cross_entropy(x, target, mean):
    """-log softmax(x)[r, t_r] summed (or averaged) over rows r, and its gradient softmax - onehot (/ N)."""
    shifted = x - x.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(x))
    loss = -log_softmax[rows, target].sum()
    grad = np.exp(log_softmax)
    grad[rows, target] -= 1
    return (loss / len(x), grad / len(x)) if mean else (loss, grad)


@pytest.mark.parametrize("mean", [False, True])
@pytest.mark.parametrize("target_kind", ["int64 array", "uint8 array", "tensor", "list"])
@pytest.mark.parametrize("ignore_index", [-100, -1])
def test_the_loops_call_gives_numpys_loss_and_gradient_in_one_node(mean, target_kind, ignore_index):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 7)) * 2
    target = np.array([0, 6, 3, 3])
    given = {"int64 array": target, "uint8 array": target.astype(np.uint8), "tensor": mg.tensor(target),
             "list": target.tolist()}[target_kind]
    logits = mg.tensor(x, requires_grad=True)
    loss = cross_entropy(logits, given, reduction="mean" if mean else "sum", ignore_index=ignore_index)
    loss.backward()
    expected, expected_grad = np_summed_rows_cross_entropy(x, target, mean)
    assert loss.op == "cross_entropy" and loss.shape == ()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
    np.testing.assert_allclose(logits.grad, expected_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("target, message", [
    (np.array([0, 7]), r"cross_entropy: class targets must lie in \[0, 7\).*from 0 to 7"),
    (np.array([-1, 2]), r"cross_entropy: class targets must lie in \[0, 7\).*from -1 to 2"),
    (np.array([0, 1, 2]), r"cross_entropy: class targets of shape \(3,\) do not match logits of shape \(2, 7\)"),
    (np.array([[0], [1]]), r"cross_entropy: class targets of shape \(2, 1\) do not match"),
])
def test_the_loops_call_with_bad_targets_gets_the_full_checks_errors(target, message):
    logits = mg.tensor(np.zeros((2, 7)), requires_grad=True)
    with pytest.raises(ValueError, match=message):
        cross_entropy(logits, target, reduction="sum")


@pytest.mark.parametrize("reduction", ["bogus", "none"])
def test_the_loops_call_with_another_reduction_takes_the_full_path(reduction):
    x = np.random.default_rng(4).standard_normal((3, 5))
    target = np.array([1, 4, 0])
    if reduction == "bogus":
        with pytest.raises(ValueError, match="cross_entropy: .*reduction"):
            cross_entropy(mg.tensor(x), target, reduction=reduction)
        return
    per_row = cross_entropy(mg.tensor(x), target, reduction=reduction)
    shifted = x - x.max(axis=1, keepdims=True)
    expected = -(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))[np.arange(3), target]
    np.testing.assert_allclose(per_row.numpy(), expected, rtol=1e-12)


def test_the_loops_call_ignores_a_target_equal_to_a_non_negative_ignore_index_on_the_full_path():
    x = np.random.default_rng(5).standard_normal((3, 5))
    target = np.array([1, 4, 0])
    loss = cross_entropy(mg.tensor(x), target, reduction="sum", ignore_index=4)
    expected, _ = np_summed_rows_cross_entropy(x[[0, 2]], target[[0, 2]], mean=False)
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-12)
