"""clip_grad_norm_ and clip_grad_value_ with torch.nn.utils' signatures: the norm as a 0-d Tensor,
any p-norm, error_if_nonfinite; checked against closed forms."""

import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.optim import clip_grad_norm_, clip_grad_value_


def with_grad(grad, dtype=np.float64) -> mg.Tensor:
    p = mg.tensor(np.zeros(np.shape(grad), dtype=dtype), requires_grad=True)
    p.grad = np.array(grad, dtype=dtype)
    return p


def test_clip_grad_norm_returns_a_0d_tensor_that_formats_as_a_number():
    """As torch's: a 0-d tensor; f"{n:.3f}", n.item() and float(n) give the number."""
    norm = clip_grad_norm_([with_grad([3.0]), with_grad([4.0])], max_norm=10.0)
    assert isinstance(norm, mg.Tensor) and norm.shape == () and not norm.requires_grad
    assert f"{norm:.3f}" == "5.000" and norm.item() == 5.0 and float(norm) == 5.0


def test_clip_grad_norm_returns_the_gradients_dtype():
    """float32 gradients give a float32 norm, as in PyTorch."""
    norm = clip_grad_norm_([with_grad([3.0, 4.0], np.float32)], max_norm=1.0)
    assert norm.dtype == np.float32 and norm.item() == pytest.approx(5.0, rel=1e-7)


def test_clip_grad_norm_without_gradients_returns_zero_of_the_default_dtype():
    """torch returns torch.tensor(0.0) when no parameter has a gradient."""
    p = mg.tensor(np.zeros(2), requires_grad=True)
    norm = clip_grad_norm_([p], max_norm=1.0)
    assert norm.item() == 0.0 and norm.dtype == mg.get_default_dtype()


def test_clip_grad_norm_takes_a_single_tensor():
    p = with_grad([6.0, 8.0])
    assert clip_grad_norm_(p, 5.0).item() == pytest.approx(10.0, rel=1e-15)
    np.testing.assert_allclose(p.grad, np.array([6.0, 8.0]) * 5.0 / (10.0 + 1e-6), rtol=1e-15)


@pytest.mark.parametrize("norm_type, expected", [
    (1, 3.0 + 4.0 + 12.0),
    (1.0, 19.0),
    (3, (27.0 + 64.0 + 1728.0) ** (1 / 3)),
    (math.inf, 12.0),
    ("inf", 12.0),
])
def test_clip_grad_norm_measures_the_p_norm_of_all_gradients_together(norm_type, expected):
    """total = (sum over every element of |g|^p)^(1/p); inf: max |g|."""
    grads = [with_grad([3.0, -4.0]), with_grad([[-12.0]])]
    assert clip_grad_norm_(grads, max_norm=100.0, norm_type=norm_type).item() == pytest.approx(expected, rel=1e-14)


def test_clip_grad_norm_scales_the_p_norm_to_max_norm():
    """Above max_norm, coef = max_norm / (total + 1e-6) scales every gradient, here for p = 1."""
    a, b = with_grad([3.0, -4.0]), with_grad([1.0])
    clip_grad_norm_([a, b], max_norm=2.0, norm_type=1)
    coef = 2.0 / (8.0 + 1e-6)
    np.testing.assert_allclose(a.grad, np.array([3.0, -4.0]) * coef, rtol=1e-15)
    np.testing.assert_allclose(b.grad, [coef], rtol=1e-15)


def test_clip_grad_norm_with_a_large_p_does_not_overflow():
    """p = 1000 over values 1e3: (2 * 1e3000)^(1/1000) overflows if summed directly; the norm is
    1e3 * 2^(1/1000)."""
    norm = clip_grad_norm_([with_grad([1e3, -1e3])], max_norm=1e9, norm_type=1000)
    assert norm.item() == pytest.approx(1e3 * 2 ** (1 / 1000), rel=1e-12)


@pytest.mark.parametrize("norm_type", [0, -1, math.nan, True, "two"])
def test_clip_grad_norm_refuses_a_norm_type_not_above_0(norm_type):
    with pytest.raises(ValueError, match="clip_grad_norm_: norm_type must be a number > 0 or inf"):
        clip_grad_norm_([with_grad([1.0])], 1.0, norm_type=norm_type)


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_clip_grad_norm_error_if_nonfinite_raises_and_leaves_the_gradients(bad):
    """error_if_nonfinite=True: a non-finite total norm is a RuntimeError, no gradient changed."""
    a, b = with_grad([1.0, bad]), with_grad([5.0])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0 of the gradients is"):
        clip_grad_norm_([a, b], max_norm=1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(a.grad, [1.0, bad])
    np.testing.assert_array_equal(b.grad, [5.0])


@pytest.mark.parametrize("foreach", [None, False, True])
def test_clip_grad_norm_clips_alike_for_every_foreach(foreach):
    p = with_grad([3.0, 4.0])
    clip_grad_norm_([p], 1.0, foreach=foreach)
    np.testing.assert_allclose(p.grad, np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-15)


def test_clip_grad_value_takes_pytorchs_keyword_clip_value():
    """torch.nn.utils.clip_grad_value_(parameters, clip_value, foreach=None)."""
    p = with_grad([-3.0, 0.5, 3.0])
    clip_grad_value_(parameters=[p], clip_value=1.0, foreach=None)
    np.testing.assert_array_equal(p.grad, [-1.0, 0.5, 1.0])


def test_the_training_log_keeps_the_clipped_norm_as_a_float():
    """charlm.train logs each update's gradient norm as a Python float (json-able, plottable)."""
    from microgradseq import charlm

    vocab = charlm.Vocabulary("abcab cab")
    model = charlm.CharLM(len(vocab), 4, "lstm", embedding_dim=3, rng=np.random.default_rng(0))
    log = charlm.train(model, vocab.encode("abcab cab abcab"), steps=4, k1=2, k2=2, batch_size=1,
                       lr=0.01, max_norm=1.0)
    assert log.grad_norms and all(type(norm) is float and math.isfinite(norm) for norm in log.grad_norms)


def test_clip_grad_value_still_takes_its_earlier_keyword_value():
    p = mg.tensor([3.0, -0.5], requires_grad=True)
    p.grad = np.array([3.0, -0.5], dtype=np.float32)
    mg.optim.clip_grad_value_([p], value=1.0)
    np.testing.assert_array_equal(p.grad, [1.0, -0.5])
    with pytest.raises(TypeError, match="clip_grad_value_: got both clip_value= and value="):
        mg.optim.clip_grad_value_([p], 1.0, value=1.0)
    with pytest.raises(TypeError, match="clip_grad_value_: missing the argument clip_value"):
        mg.optim.clip_grad_value_([p])


def test_clipping_takes_the_parameters_as_params_too():
    """The optimizers' name for them: clip_grad_norm_(params=..., max_norm=...) as well as parameters=."""
    p = with_grad([3.0, 4.0])
    norm = clip_grad_norm_(params=[p], max_norm=1.0)
    assert norm.item() == 5.0
    np.testing.assert_allclose(p.grad, np.array([3.0, 4.0]) / (5.0 + 1e-6))
    q = with_grad([-3.0, 0.5])
    clip_grad_value_(params=q, clip_value=1.0)
    np.testing.assert_array_equal(q.grad, [-1.0, 0.5])


@pytest.mark.parametrize("call, message", [
    (lambda p: clip_grad_norm_(max_norm=1.0), "clip_grad_norm_: missing the argument parameters"),
    (lambda p: clip_grad_norm_([p]), "clip_grad_norm_: missing the argument max_norm"),
    (lambda p: clip_grad_norm_([p], 1.0, params=[p]), "clip_grad_norm_: got both parameters= and params="),
    (lambda p: clip_grad_value_(clip_value=1.0), "clip_grad_value_: missing the argument parameters"),
])
def test_clipping_without_its_parameters_or_max_norm_names_what_is_missing(call, message):
    p = with_grad([3.0, 4.0])
    with pytest.raises(TypeError, match=message):
        call(p)
    np.testing.assert_array_equal(p.grad, [3.0, 4.0])
