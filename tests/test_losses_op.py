"""The one-node cross-entropy (ops/losses.py) against the same loss written with primitives."""

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import ops
from microgradseq.functional import cross_entropy


def composite(logits, target, reduction):
    """-log_softmax(x)[target], reduced: the loss as four primitive nodes."""
    losses = -ops.gather(ops.log_softmax(logits, axis=-1), target)
    return losses.sum() if reduction == "sum" else losses.mean()


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("shape", [(5,), (3, 5), (4, 2, 5)])
def test_value_and_gradient_match_the_composite_of_primitives(reduction, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3
    target = rng.integers(0, shape[-1], shape[:-1])
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
