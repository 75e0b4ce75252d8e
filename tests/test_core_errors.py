"""Bad input to the tensor core gets a clear error that names the function, what was expected and
what came, before anything changes; and the core agrees with PyTorch where it has an answer."""

import numpy as np
import pytest

import microgradseq as mg


def f64(values, requires_grad=False):
    return mg.tensor(values, requires_grad=requires_grad, dtype=np.float64)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_requires_grad_must_be_a_bool(value):
    with pytest.raises(ValueError, match="requires_grad must be True or False"):
        mg.tensor([1.0], requires_grad=value)
    t = mg.tensor([1.0])
    with pytest.raises(ValueError, match="requires_grad must be True or False"):
        t.requires_grad = value
    assert not t.requires_grad


def test_retain_graph_must_be_a_bool_and_nothing_runs_before_the_check():
    w = f64([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with pytest.raises(ValueError, match="backward: retain_graph must be True or False, got 'no'"):
        loss.backward(retain_graph="no")
    assert w.grad is None
    loss.backward()                         # the graph is still whole
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


def test_backward_grad_that_is_not_numbers_names_backward():
    w = f64([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="backward: grad must be numbers that cast to float64, got str"):
        (w * 2).backward(grad="x")
    assert w.grad is None


@pytest.mark.parametrize("grad", [[1.0, None], np.array([1 + 2j, 1.0]), [[1.0], [2.0, 3.0]]],
                         ids=["None (numpy: NaN)", "complex (numpy: drops the imaginary part)", "ragged"])
def test_backward_grad_that_numpy_would_turn_into_other_numbers_is_refused(grad):
    w = f64([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="backward: grad must be numbers that cast to float64"):
        (w * 2).backward(grad=grad)
    assert w.grad is None


def test_bool_of_a_multi_element_tensor_raises_as_pytorch():
    with pytest.raises(RuntimeError, match="more than one element is ambiguous"):
        bool(f64([1.0, 0.0]))
    assert bool(f64([1.0])) is True and bool(f64(0.0)) is False


def test_float_and_int_take_single_element_tensors_only():
    assert float(f64([2.5])) == 2.5 and int(f64(3.0)) == 3
    with pytest.raises(TypeError, match="float: only a one-element tensor"):
        float(f64([1.0, 2.0]))


def test_set_default_dtype_none_is_refused_and_changes_nothing():
    before = mg.get_default_dtype()
    with pytest.raises(TypeError, match="set_default_dtype: expected a floating dtype"):
        mg.set_default_dtype(None)
    assert mg.get_default_dtype() == before


def test_transpose_with_an_axis_that_is_not_an_integer_names_transpose():
    with pytest.raises(ValueError, match=r"transpose: axes \('a',\) are neither two axes to swap nor a permutation"):
        f64([[1.0, 2.0]]).transpose("a")


@pytest.mark.parametrize("lo, hi", [("a", 1), (0, "b"), (True, None)])
def test_clip_bounds_must_be_numbers(lo, hi):
    with pytest.raises(TypeError, match="clip: (lo|hi) must be a number or None"):
        mg.ops.clip(f64([1.0]), lo, hi)              # (the op; Tensor.clip is clamp, whose bounds are min and max)


@pytest.mark.parametrize("condition", ["x", None, np.array([1.0, 0.0]), 1])
def test_where_takes_only_a_boolean_condition(condition):
    with pytest.raises(TypeError, match="where: the condition must be a boolean array or tensor"):
        mg.where(condition, f64([1.0, 2.0]), 0.0)


def test_where_takes_a_bool_tensor_or_list():
    a = f64([1.0, 2.0], requires_grad=True)
    np.testing.assert_array_equal(mg.where(mg.tensor([True, False]), a, 0.0).data, [1.0, 0.0])
    np.testing.assert_array_equal(mg.where([False, True], a, 0.0).data, [0.0, 2.0])


def test_power_zero_at_zero_has_gradient_zero_as_pytorch():
    """d(x ** 0)/dx = 0 * x^-1, which is 0 (not NaN) at x = 0."""
    x = f64([0.0, 2.0], requires_grad=True)
    (x ** 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_a_retry_after_an_interrupted_backward_says_the_pass_was_interrupted():
    """An error inside a rule stops the pass after it freed part of the graph; the retry says so."""
    from microgradseq.tensor import Rules, result

    def failing(g, kept):
        raise ZeroDivisionError("a rule failed")

    x = f64([1.0], requires_grad=True)
    broken = result("broken", x.data * 1.0, (x,), Rules(vjp=(failing,), jvp=(failing,)), (None,))
    loss = (broken * 2.0).sum()
    with pytest.raises(ZeroDivisionError):
        loss.backward()
    with pytest.raises(RuntimeError, match="an earlier backward pass was interrupted by an error"):
        loss.backward()


def test_a_second_backward_over_a_freed_graph_says_so():
    w = f64([1.0], requires_grad=True)
    loss = (w * 2.0).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="already been freed.*retain_graph=True"):
        loss.backward()


def test_len_of_a_0d_tensor_raises():
    with pytest.raises(TypeError, match="len"):
        len(f64(1.0))


def test_ragged_data_names_tensor():
    with pytest.raises(ValueError, match="tensor: cannot make an array of numbers from list data"):
        mg.tensor([[1.0], [1.0, 2.0]])


def test_gradcheck_checks_each_output_of_a_tuple_and_names_the_one_that_is_wrong():
    """As PyTorch's gradcheck: fn may return several tensors; an integer output, or one that does not
    require grad, is skipped. A rule that forgets the factor 2 in output 1 is named there."""
    from microgradseq.tensor import Rules, result

    wrong = Rules(vjp=(lambda g, x: g * x,), jvp=(lambda v, x: v * x,))     # d x^2/dx = 2x, not x
    x = mg.tensor(np.random.default_rng(0).standard_normal(3), requires_grad=True, dtype=np.float64)
    right = lambda x: (x.tanh(), (x * x).sum(), x.argmax())       # noqa: E731
    assert mg.gradcheck(right, [x])
    broken = lambda x: (x.tanh(), result("square", x.data * x.data, (x,), wrong, (x.data,)))   # noqa: E731
    with pytest.raises(mg.GradcheckError, match=r"^gradcheck: output 1, input 0 \(shape \(3,\)\)"):
        mg.gradcheck(broken, [x])
    assert mg.gradcheck(broken, [x], raise_exception=False) is False
