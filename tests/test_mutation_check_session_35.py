"""Mutation check of session 35's library changes: tests that kill the hand-made mutants the suite let through.

62 mutants of the session's changes (git diff b414bb6 HEAD -- microgradseq), each applied alone and run against
the test files of its area (6 to 13 files each, found with grep): 37 killed there, 16 by the tests here (7 of them
mutants of the fix made here), 9 equivalent, none left.

- add's and sub's alpha (12): 8 killed. Equivalent: the fast path's bounds strict (the largest float32 goes the
  slow way, which takes it), its bound float16's maximum (the same), `itemsize < 4` for `<= 4` (float32 checked
  against itself either way). One more (the conversion for complex results too) was equivalent because
  number_for passes complex dtypes unchecked; it showed a gap, fixed in ops/arithmetic.py (`_alpha`): PyTorch's
  CPU kernel converts alpha `to<scalar_t>()`, a checked conversion that for complex64 checks each part against
  float's limits, so `x.add(x, alpha=1e39)` on complex64 is refused; here it was inf + nan j. The fix's 7 mutants
  (no check, one part only, float64's limits, inf refused, no abs, `>=`) are killed here.
  Found and fixed after the check: the same CPU kernel converts a float16 result's alpha to at::Half (1e5 >
  65504 is refused); it was checked against float32, CUDA's opmath_t.
- addcmul/addcdiv's common dtype (17): 12 killed; killed here: float16 computed in float64 (a double rounding
  float32 does not make). Equivalent: the value converted for the product's dtype (float32 for float16, as
  _value_for does anyway, 2), self added unconverted (ew.add converts a 0-d float64 self to the float32 result
  first, as the `base` does, 2; a test here pins that rounding).
- time_steps' error (4): 3 killed; killed here: the ValueError chained (`from None` dropped).
- in_scope's per-thread tokens (10): 6 killed; killed here: _reset_own searching oldest first (A's nested exit
  reset A's outer entry), the final RuntimeError returned None or made a ValueError (a thread leaving a scope it
  never entered). Equivalent: the search skipping the last token (__exit__ tried it already).
- _without_leading_ones (9): 8 killed. Equivalent: reshaping when nothing is stripped (the same shape).
- nll_loss's hint (3): all 3 killed here (hint never shown, always shown, shown for integer targets).

PyTorch sources read: aten/src/ATen/native/native_functions.yaml (add.out: `ufunc_inner_loop: Generic: add
(AllAndComplex, BFloat16, Half, ComplexHalf)`, so CPU's add is the generated ufunc kernel), torchgen/dest/ufunc.py
(pytorch/pytorch ff461104f9da7b6b4b3acf870f52246c14616c58, compute_ufunc_cpu_dtype_body: each Scalar argument is
`auto _s_alpha = alpha.to<scalar_t>();`, the tensors' dtype itself, at::Half for float16 and c10::complex<float>
for complex64; CUDA's kernel takes `to<opmath_t>()`), c10/util/overflows.h
(9de0cafe3cc2d2d70d2c8f24e3af1b5546408eac: a double into a complex type overflows when it is beyond the limits of
the complex type's value type; inf does not overflow), aten/src/ATen/native/cpu/PointwiseOpsKernel.cpp as
tests/test_mutation_check_session_33.py cites it (a float16 addcmul computes in float, its value `to<float>()`).
Expected values are numpy, closed forms or exact float arithmetic worked out by hand; concurrency is forced with
threading.Event, never sleeps.
"""

import threading

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import autograd
from microgradseq.metadata import in_scope, time_steps

F = mg.nn.functional


def in_thread(target):
    """Start target() in a thread; returns the thread and a list that collects its error."""
    errors = []

    def wrapped():
        try:
            target()
        except BaseException as error:      # reported in the main thread
            errors.append(error)

    thread = threading.Thread(target=wrapped)
    thread.start()
    return thread, errors


def joined(*pairs):
    for thread, errors in pairs:
        thread.join(30)
        assert not thread.is_alive()
        assert not errors, errors


# ---- addcmul / addcdiv: one common dtype, float16 computed in float32 (not wider), self converted too ----------

@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_a_float16_result_is_computed_in_float32_not_in_a_wider_dtype(name):
    """1 + (1 + 2^-30) * 2^-11 * 1: in float32 the scaled term rounds to 2^-11, 1 + 2^-11 is exact in float32 and
    is a tie between float16's 1 and 1 + 2^-10, which rounds to even: 1. Computed in float64 the term keeps its
    2^-41 and the sum rounds up to 1 + 2^-10 (PyTorch's CPU kernel takes value `to<float>()`: 1 exactly)."""
    half = [mg.tensor(np.array([x], np.float16)) for x in (1.0, 2.0 ** -11, 1.0)]
    out = getattr(half[0], name)(half[1], half[2], value=1 + 2.0 ** -30)
    assert out.dtype == np.float16
    assert out.numpy().tolist() == [1.0]


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_a_0d_float64_self_is_converted_to_the_float32_result_before_the_sum(name):
    """The result type of a 0-d float64 self and dimensioned float32 tensors is float32, and PyTorch's
    TensorIterator converts self to it first: float32(1 + 2^-30) = 1, 1 + 2^-24 is a float32 tie, rounded to
    even: 1. Adding in float64 first gives 1 + 2^-30 + 2^-24, which rounds up to 1 + 2^-23."""
    base = mg.tensor(np.float64(1 + 2.0 ** -30))
    first, second = mg.tensor(np.array([2.0 ** -24], np.float32)), mg.tensor(np.array([1.0], np.float32))
    out = getattr(base, name)(first, second)
    assert out.dtype == np.float32
    assert out.numpy().tolist() == [1.0]


# ---- add's and sub's alpha against the result's dtype on PyTorch's CPU kernel ------------------------------

@pytest.mark.parametrize("name", ["add", "sub"])
@pytest.mark.parametrize("alpha", [1e39, -3.5e38, 1e39j, 1 + 1e39j])
def test_an_alpha_a_complex64_result_cannot_hold_in_either_part_is_refused(name, alpha):
    """Fixed here: PyTorch's CPU `alpha.to<c10::complex<float>>()` checks each part against float's limits
    (overflows.h); before, 1e39 made inf + nan j."""
    x = mg.tensor(np.ones(2, np.complex64))
    with pytest.raises(ValueError, match=rf"^{name}: the value .* cannot be converted to dtype complex64 without"):
        getattr(x, name)(x, alpha=alpha)
    np.testing.assert_array_equal(x.numpy(), [1.0, 1.0])


@pytest.mark.parametrize("name, sign", [("add", 1.0), ("sub", -1.0)])
def test_alphas_a_complex_result_can_hold_pass_and_scale(name, sign):
    x = mg.tensor(np.ones(2, np.complex64))
    np.testing.assert_array_equal(getattr(x, name)(x, alpha=3e38).numpy(), [np.complex64(1 + sign * 3e38)] * 2)
    largest = float(np.finfo(np.float32).max)               # the largest float holds itself
    np.testing.assert_array_equal(getattr(x, name)(x, alpha=largest * 1j).numpy(), [1 + sign * largest * 1j] * 2)
    np.testing.assert_array_equal(getattr(x, name)(x, alpha=2 - 1j).numpy(), [1 + sign * (2 - 1j)] * 2)
    with np.errstate(invalid="ignore"):                    # inf (1 + 0j): inf + nan j, as C's complex product
        assert np.isposinf(sign * getattr(x, name)(x, alpha=float("inf")).numpy().real).all()
    wide = mg.tensor(np.ones(2, np.complex128))            # a complex128 result holds 1e39 in either part
    np.testing.assert_array_equal(getattr(wide, name)(wide, alpha=1e39j).numpy(), [1 + sign * 1e39j] * 2)


@pytest.mark.parametrize("name", ["add", "sub"])
def test_an_alpha_beyond_float16s_range_is_refused_for_a_float16_result_as_on_pytorchs_cpu(name):
    half = mg.tensor(np.ones(2, np.float16))
    with pytest.raises(ValueError, match=rf"{name}: the value 100000.0 cannot be converted to dtype float16"):
        getattr(half, name)(half, alpha=1e5)


# ---- time_steps: the loop's end in another thread --------------------------------------------------------------

def test_a_time_steps_loop_ended_in_another_thread_raises_without_the_context_variables_error_chained():
    loop = time_steps(2)
    assert next(loop) == 1
    seen = {}

    def finish():
        try:
            list(loop)
        except RuntimeError as error:
            seen["error"] = error

    joined(in_thread(finish))
    error = seen["error"]
    assert "time_steps: the loop ended in another thread or asyncio task" in str(error)
    assert error.__cause__ is None and error.__suppress_context__       # `from None`: no ValueError shown
    autograd.current_step.set(None)


# ---- in_scope: one object nested in one thread while another thread's entry is the last -----------------------

def test_a_nested_entry_left_while_another_threads_entry_is_last_puts_back_this_threads_innermost():
    """Thread A enters `shared` twice (scope "s.s"), then B enters it (its entry is the object's last). A's
    inner exit must reset A's inner entry (back to "s"), its outer one then back to ""; B's exit is its own."""
    shared = in_scope("s")
    a_nested, b_in, a_done = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with shared:
            with shared:
                a_nested.set()
                assert b_in.wait(10)
                seen["a inner"] = autograd.current_scope.get()
            seen["a after inner"] = autograd.current_scope.get()
            seen["a node"] = (mg.tensor([1.0], requires_grad=True) * 2.0)._node.scope
        seen["a after"] = autograd.current_scope.get()
        a_done.set()

    def b():
        assert a_nested.wait(10)
        with shared:
            b_in.set()
            assert a_done.wait(10)
            seen["b inside"] = autograd.current_scope.get()
        seen["b after"] = autograd.current_scope.get()

    joined(in_thread(a), in_thread(b))
    assert seen == {"a inner": "s.s", "a after inner": "s", "a node": "s", "a after": "",
                    "b inside": "s", "b after": ""}
    assert shared.entries == []


def test_leaving_a_scope_this_thread_never_entered_is_a_runtime_error_and_the_other_threads_entry_stays():
    shared = in_scope("s")
    a_in, b_done = threading.Event(), threading.Event()
    seen = {}

    def a():
        with shared:
            a_in.set()
            assert b_done.wait(10)
            seen["a inside"] = autograd.current_scope.get()
        seen["a after"] = autograd.current_scope.get()

    def b():
        assert a_in.wait(10)
        try:
            shared.__exit__(None, None, None)
        except RuntimeError as error:
            seen["b error"] = str(error)
        finally:
            b_done.set()
        seen["b scope"] = autograd.current_scope.get()

    joined(in_thread(a), in_thread(b))
    assert seen == {"b error": "in_scope: left a block that was not entered in this thread or task",
                    "b scope": "", "a inside": "s", "a after": ""}
    assert shared.entries == []


# ---- nll_loss: the `.long()` hint only for non-integer targets -------------------------------------------------

LOG_PROBS = np.log(np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]))


@pytest.mark.parametrize("target", [np.array([2.0, 0.0]), np.array([[2.0], [0.0]])])
def test_float_targets_get_the_long_hint_whatever_their_shape(target):
    with pytest.raises(ValueError, match=r"nll_loss: expected integer class targets .*; class indices must be "
                                         r"integers: target\.long\(\)$"):
        F.nll_loss(mg.tensor(LOG_PROBS), mg.tensor(target))


def test_integer_targets_of_the_wrong_shape_get_no_long_hint():
    with pytest.raises(ValueError, match=r"got int64 of shape \(2, 1\)$") as caught:
        F.nll_loss(mg.tensor(LOG_PROBS), mg.tensor(np.array([[2], [0]])))
    assert "long()" not in str(caught.value)


def test_integer_targets_of_the_right_shape_give_the_mean_negative_log_likelihood():
    loss = F.nll_loss(mg.tensor(LOG_PROBS), mg.tensor(np.array([2, 0])))
    np.testing.assert_allclose(loss.numpy(), -(np.log(0.5) + np.log(0.6)) / 2, rtol=1e-15)
