"""Review of three checking tools against PyTorch 2.13: the gradient checker (gradcheck.py), NaN/inf
detection (anomaly.py) and gradient clipping (optim/clip.py, nn.utils). Each was run side by side with
PyTorch 2.13 (CPU) in paired scenario scripts (signatures and defaults, return values and types, what is
changed, edge cases); the tests below pin what differed and a few things that were right. Expected
values are closed forms, numpy written out by hand, or central differences; none comes from the library.
"""

import math
import threading
import warnings

import numpy as np
import pytest

import microgradseq as mg


def leaf(values):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def with_grad(values, dtype=np.float64):
    p = mg.tensor(np.zeros(np.shape(values), dtype=dtype), requires_grad=True)
    p.grad = np.array(values, dtype=dtype)
    return p


class Twice(mg.autograd.Function):
    """y = 2 x, backward given as a class attribute so that a test can break it."""
    backward_rule = staticmethod(lambda g: g * 2)

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return Twice.backward_rule(g)


@pytest.fixture
def twice():
    yield Twice
    Twice.backward_rule = staticmethod(lambda g: g * 2)


# ---- gradcheck ----------------------------------------------------------------------------------

def test_gradcheck_takes_pytorchs_keywords():
    """torch.autograd.gradcheck(func, inputs, *, eps, atol, rtol, raise_exception, nondet_tol=0.0,
    check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
    check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True, fast_mode=False,
    masked=None): a ported call with any of them runs (it was a TypeError)."""
    x = leaf([0.5, -1.2, 2.0])
    assert mg.autograd.gradcheck(lambda a: a.exp(), (x,), nondet_tol=1e-9, check_undefined_grad=False,
                                 check_grad_dtypes=True, check_batched_grad=True,
                                 check_batched_forward_grad=False, fast_mode=True, masked=None) is True


def test_gradcheck_in_fast_mode_still_catches_a_wrong_backward(twice):
    """PyTorch's fast_mode=True raises GradcheckError for a Function whose backward is wrong
    (d(2x)/dx given as 3), or returns False with raise_exception=False."""
    twice.backward_rule = staticmethod(lambda g: g * 3)
    x = leaf([0.5, -1.2])
    with pytest.raises(mg.GradcheckError, match="autodiff gives 3.0, finite differences give 1.99999"):
        mg.autograd.gradcheck(twice.apply, (x,), fast_mode=True)
    assert mg.autograd.gradcheck(twice.apply, (x,), fast_mode=True, raise_exception=False) is False


def test_gradcheck_refuses_a_switch_that_is_not_a_bool():
    x = leaf([1.0])
    with pytest.raises(ValueError, match="gradcheck: fast_mode must be True or False, got 'yes'"):
        mg.autograd.gradcheck(lambda a: a * 2, (x,), fast_mode="yes")
    with pytest.raises(ValueError, match="gradcheck: nondet_tol must be a finite number, not negative"):
        mg.autograd.gradcheck(lambda a: a * 2, (x,), nondet_tol=-1.0)


def test_gradcheck_error_is_a_runtime_error_as_pytorchs():
    """PyTorch's GradcheckError subclasses RuntimeError (`except RuntimeError:` around a ported
    gradcheck catches it); here it stays an AssertionError too."""
    assert issubclass(mg.GradcheckError, RuntimeError)
    assert issubclass(mg.GradcheckError, AssertionError)
    with pytest.raises(RuntimeError):
        mg.autograd.gradcheck(lambda a: a.detach() * 2, (leaf([1.0]),))


def test_gradcheck_catches_a_backward_that_is_not_reentrant(twice):
    """A backward whose result changes from call to call (2 + 1e-9 n at the n-th call) matches the
    finite differences within atol, yet PyTorch's gradcheck raises "Backward is not reentrant" with
    nondet_tol=0 (comparing two computations of the Jacobian) and passes with nondet_tol=1e-6."""
    calls = []

    def drifting(g):
        calls.append(1)
        return g * (2 + 1e-9 * len(calls))
    twice.backward_rule = staticmethod(drifting)
    x = leaf([0.5, -1.2, 2.0])
    with pytest.raises(mg.GradcheckError, match="backward is not reentrant"):
        mg.autograd.gradcheck(twice.apply, (x,))
    assert mg.autograd.gradcheck(twice.apply, (x,), raise_exception=False) is False
    assert mg.autograd.gradcheck(twice.apply, (x,), nondet_tol=1e-6) is True


def test_gradcheck_catches_a_backward_not_multiplied_by_grad_output(twice):
    """backward = 2 g + 1e-7 is within atol of the Jacobian, but PyTorch seeds a pass with zeros and
    requires exactly zero gradients: "backward not multiplied by grad_output"."""
    twice.backward_rule = staticmethod(lambda g: g * 2 + 1e-7)
    x = leaf([0.5, -1.2])
    with pytest.raises(mg.GradcheckError, match="backward not multiplied by grad_output"):
        mg.autograd.gradcheck(twice.apply, (x,))
    assert mg.autograd.gradcheck(twice.apply, (x,), raise_exception=False) is False


def test_a_nan_jacobian_is_reported_as_a_mismatch_not_as_nondeterminism():
    """sqrt at -1.2: the autodiff slope is NaN both times; PyTorch's reentrancy check lets NaN
    through and reports the Jacobian mismatch."""
    x = leaf([0.5, -1.2])
    with np.errstate(invalid="ignore"), pytest.raises(mg.GradcheckError, match="autodiff gives nan"):
        mg.autograd.gradcheck(lambda a: a.sqrt(), (x,))


def test_gradgradcheck_is_spelled_and_says_why_it_cannot_check():
    """torch.autograd.gradgradcheck checks second derivatives; there are none here (no
    create_graph), so the ported call says so instead of an AttributeError."""
    with pytest.raises(NotImplementedError, match="gradgradcheck: second derivatives"):
        mg.autograd.gradgradcheck(lambda a: (a ** 3).sum(), (leaf([1.0]),))


def test_gradcheck_of_several_inputs_and_outputs_skips_inputs_that_need_no_grad():
    """Guard (PyTorch: True): two inputs, one constant, an integer index and a number; outputs
    (a * 2, b @ b): each output against each input that requires grad."""
    a, b = leaf([0.5, -1.2, 2.0]), leaf([[1.0, 2.0], [3.0, 0.5]])
    c = mg.tensor(np.array([1.0, 2.0]))
    idx = mg.tensor(np.array([0, 2]))
    assert mg.autograd.gradcheck(lambda p, q, r, i, k: (p[i] * k * r, q @ q), (a, b, c, idx, 3.0)) is True


# ---- anomaly detection ---------------------------------------------------------------------------

def test_torch_autograd_spellings_of_anomaly_detection_exist():
    """torch.autograd.detect_anomaly(check_nan=True) and set_detect_anomaly(mode, check_nan=True)
    (it was an AttributeError: only mg.detect_anomaly existed)."""
    x = leaf([0.0, 1.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        with mg.autograd.detect_anomaly(), pytest.raises(FloatingPointError, match="sqrt: backward gradient holds NaN"):
            (x.sqrt() * 0).sum().backward()
        with mg.autograd.set_detect_anomaly(True), pytest.raises(FloatingPointError, match="sqrt"):
            (x.sqrt() * 0).sum().backward()
    assert mg.detect_anomaly is mg.autograd.detect_anomaly


def test_anomaly_errors_are_runtime_errors_as_pytorchs():
    """PyTorch raises RuntimeError ("Function 'SqrtBackward0' returned nan values ..."); ported
    `except RuntimeError:` catches the error here, still a FloatingPointError."""
    x = leaf([0.0, 1.0])
    with mg.autograd.detect_anomaly(), np.errstate(invalid="ignore", divide="ignore"):
        with pytest.raises(RuntimeError) as caught:
            (x.sqrt() * 0).sum().backward()
    assert isinstance(caught.value, FloatingPointError)


def test_check_nan_false_turns_detection_on_and_checks_nothing():
    """PyTorch's detect_anomaly(check_nan=False): no error; the NaN gradient 0 * inf at 0 and
    0 * 1/(2 sqrt 1) = 0 arrive."""
    x = leaf([0.0, 1.0])
    with mg.autograd.detect_anomaly(check_nan=False), np.errstate(invalid="ignore", divide="ignore"):
        assert mg.autograd.is_anomaly_enabled() and not mg.autograd.is_anomaly_check_nan_enabled()
        (x.sqrt() * 0).sum().backward()
    assert math.isnan(x.grad[0]) and x.grad[1] == 0.0


def test_anomaly_state_nests_and_is_put_back_as_pytorchs():
    """The sequence PyTorch 2.13 gives for is_anomaly_enabled / is_anomaly_check_nan_enabled through
    nested blocks, and set_detect_anomaly used as a plain call."""
    A = mg.autograd
    seen = [A.is_anomaly_enabled(), A.is_anomaly_check_nan_enabled()]
    with A.detect_anomaly():
        seen += [A.is_anomaly_enabled(), A.is_anomaly_check_nan_enabled()]
        with A.set_detect_anomaly(False):
            seen += [A.is_anomaly_enabled()]
        seen += [A.is_anomaly_enabled()]
        with A.detect_anomaly(check_nan=False):
            seen += [A.is_anomaly_enabled(), A.is_anomaly_check_nan_enabled()]
        seen += [A.is_anomaly_check_nan_enabled()]
    seen += [A.is_anomaly_enabled()]
    try:
        A.set_detect_anomaly(True)
        seen += [A.is_anomaly_enabled()]
    finally:
        A.set_detect_anomaly(False)
    seen += [A.is_anomaly_enabled()]
    assert seen == [False, True, True, True, False, True, True, False, True, False, True, False]


def test_detection_switches_refuse_what_is_not_a_bool():
    """PyTorch: TypeError "argument 'enabled' must be bool, not int"; here the library's ValueError
    naming the function, before anything is switched."""
    with pytest.raises(ValueError, match="set_detect_anomaly: mode must be True or False, got 1"):
        mg.autograd.set_detect_anomaly(1)
    with pytest.raises(ValueError, match="detect_anomaly: check_nan must be True or False, got 'no'"):
        mg.autograd.detect_anomaly(check_nan="no")
    assert not mg.autograd.is_anomaly_enabled()


def test_detection_is_per_thread():
    """Guard of the library's design (PyTorch's switch is global): a thread started inside the
    block does not check (its sqrt(-1) is NaN), the thread that opened it does."""
    seen = []

    def other():
        with np.errstate(invalid="ignore"):
            seen.append(bool(np.isnan(leaf([-1.0]).sqrt().item())))
    with mg.detect_anomaly():
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        with np.errstate(invalid="ignore"), pytest.raises(FloatingPointError, match="sqrt"):
            leaf([-1.0]).sqrt()
    assert seen == [True]


def test_tbptt_under_detection_gives_the_losses_it_gives_without():
    """Guard: a clean TBPTT run under detect_anomaly raises nothing and gives the same losses and
    gradients (to rounding: weight gradients are summed in another order under detection)."""
    def run():
        cell = mg.nn.RNNCell(2, 3, rng=np.random.default_rng(0), dtype=np.float64)
        xs = [np.full((1, 2), 0.1 * t) for t in range(6)]
        result = mg.bptt.tbptt(lambda x, h: (cell(mg.tensor(x), h),) * 2, None, xs, [np.zeros((1, 3))] * 6,
                               lambda out, y: ((out - mg.tensor(y)) ** 2).sum(), k1=2, k2=3)
        return result, cell.weight_hh.grad.copy()
    plain, plain_grad = run()
    with mg.detect_anomaly():
        checked, checked_grad = run()
    assert checked.losses == plain.losses
    np.testing.assert_allclose(checked_grad, plain_grad, rtol=1e-14, atol=1e-15)


# ---- clipping --------------------------------------------------------------------------------------

def test_get_total_norm_and_clip_grads_with_norm_are_clip_grad_norm_in_two_steps():
    """torch.nn.utils.get_total_norm([3, 4], [12]) = 13 (p = 2), 19 (p = 1); then
    clip_grads_with_norm_(params, 1.0, 13) scales each grad by 1 / (13 + 1e-6)."""
    a, b = with_grad([3.0, 4.0]), with_grad([12.0])
    total = mg.nn.utils.get_total_norm([a.grad, b.grad])
    assert isinstance(total, mg.Tensor) and total.shape == () and total.dtype == np.float64
    assert total.item() == 13.0
    assert mg.nn.utils.get_total_norm([a.grad, b.grad], norm_type=1).item() == 19.0
    assert mg.nn.utils.get_total_norm(mg.tensor(np.array([3.0, 4.0]))).item() == 5.0
    assert mg.nn.utils.clip_grads_with_norm_([a, b], 1.0, total) is None
    np.testing.assert_allclose(a.grad, np.array([3.0, 4.0]) / (13 + 1e-6), rtol=1e-15)
    np.testing.assert_allclose(b.grad, [12.0 / (13 + 1e-6)], rtol=1e-15)


def test_get_total_norm_of_nothing_is_a_zero_of_the_default_dtype():
    """PyTorch: torch.tensor(0.0), float32 by default."""
    total = mg.nn.utils.get_total_norm([])
    assert total.item() == 0.0 and total.dtype == mg.get_default_dtype()


def test_get_total_norm_raises_for_a_nonfinite_norm_when_asked():
    with pytest.raises(RuntimeError, match="get_total_norm: the total norm of order 2.0"):
        mg.nn.utils.get_total_norm([np.array([np.inf, 1.0])], error_if_nonfinite=True)


def test_clip_grads_with_norm_leaves_gradients_below_max_norm_and_checks_its_arguments():
    """coef = 10 / (5 + 1e-6) > 1: PyTorch multiplies by the clamped 1, nothing changes."""
    a = with_grad([3.0, 4.0])
    mg.nn.utils.clip_grads_with_norm_([a], 10.0, mg.tensor(5.0))
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])
    with pytest.raises(TypeError, match="clip_grads_with_norm_: total_norm must be"):
        mg.nn.utils.clip_grads_with_norm_([a], 1.0, "5")
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])


def test_clip_grad_norm_of_an_empty_generator_warns_as_pytorchs():
    """PyTorch: UserWarning "`parameters` is an empty generator, no gradient clipping will occur."
    (a spent model.parameters() clips nothing)."""
    with pytest.warns(UserWarning, match="empty generator, no gradient clipping will occur"):
        total = mg.nn.utils.clip_grad_norm_((p for p in []), 1.0)
    assert total.item() == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mg.nn.utils.clip_grad_norm_([], 1.0)                  # a list: no warning, as PyTorch's


def test_deprecated_clip_grad_norm_warns_and_clips():
    """torch.nn.utils.clip_grad_norm (no underscore): FutureWarning, then clip_grad_norm_."""
    a = with_grad([3.0, 4.0])
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        total = mg.nn.utils.clip_grad_norm(a, 1.0)
    assert total.item() == 5.0
    np.testing.assert_allclose(a.grad, np.array([3.0, 4.0]) / (5 + 1e-6), rtol=1e-15)


def test_clip_grad_norm_of_an_overflowing_gradient_scales_it_silently():
    """An infinite gradient: norm inf, finite entries 0, infinite ones NaN (PyTorch's, no warning)."""
    a, b = with_grad([np.inf, 1.0]), with_grad([1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = mg.nn.utils.clip_grad_norm_([a, b], 1.0)
    assert total.item() == math.inf
    assert math.isnan(a.grad[0]) and a.grad[1] == 0.0 and b.grad[0] == 0.0


def test_clip_grad_norm_over_0d_empty_and_mixed_dtype_gradients():
    """Guard (PyTorch: norm 5, float64): a 0-d grad 5, an empty grad and a float32 grad [0];
    float32 with float64 gives a float64 norm."""
    a, b, c = with_grad(5.0), with_grad(np.zeros(0)), with_grad([0.0], dtype=np.float32)
    total = mg.nn.utils.clip_grad_norm_([a, b, c], 1.0)
    assert total.dtype == np.float64 and total.item() == 5.0
    assert float(a.grad) == pytest.approx(5.0 / (5 + 1e-6), rel=1e-15)
    assert b.grad.shape == (0,) and c.grad.dtype == np.float32
