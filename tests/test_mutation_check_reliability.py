"""Mutation check of the reliability tools: gradcheck.py, anomaly.py, checks.py, tensor_hooks.py,
grad_mode.py and nn/module_hooks.py. Each test here kills a hand-made mutant that the rest of the
suite let through; its docstring says what it pins. Expected values are closed forms, hand-written
numpy, or PyTorch's documented behaviour; none comes from the library's own output.
"""

import numpy as np
import pytest

import microgradseq as mg


def leaf(values):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


class OffBy(mg.autograd.Function):
    """y = 2 x whose backward gives (2 + d) g: a gradient wrong by a chosen amount d."""
    d = 0.0

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * (2 + OffBy.d)


@pytest.fixture
def off_by():
    yield OffBy
    OffBy.d = 0.0


class WrongBackwardRightJvp(mg.autograd.Function):
    """y = 2 x: the jvp is right (2 t), the backward wrong (3 g)."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 3

    @staticmethod
    def jvp(ctx, t):
        return t * 2


# ---------------------------------------------------------------- gradcheck.py

def test_gradcheck_tolerance_is_atol_plus_rtol_times_numeric(off_by):
    """Pins PyTorch's test |a - n| <= atol + rtol |n| (not max(atol, rtol |n|)): with n = 2,
    atol = rtol = 1e-3 the bound is 3e-3, so an error of 2.5e-3 passes and one of 3.5e-3 fails."""
    x = leaf([1.0, -2.0, 0.5])
    off_by.d = 2.5e-3               # between max(1e-3, 2e-3) = 2e-3 and 1e-3 + 2e-3 = 3e-3
    assert mg.gradcheck(lambda x: OffBy.apply(x), [x], atol=1e-3, rtol=1e-3) is True
    off_by.d = 3.5e-3
    assert mg.gradcheck(lambda x: OffBy.apply(x), [x], atol=1e-3, rtol=1e-3, raise_exception=False) is False


def test_gradcheck_with_zero_tolerances_passes_an_exact_match():
    """Pins that the comparison is <= (as torch.allclose): with atol = rtol = 0 a Jacobian that
    finite differences reproduce exactly (y = 2 x, eps a power of two) passes."""
    x = leaf([1.0, 0.5, -4.0])
    assert mg.gradcheck(lambda x: x * 2, [x], eps=2.0 ** -20, atol=0.0, rtol=0.0) is True


def test_gradcheck_with_check_backward_ad_false_leaves_reverse_mode_out():
    """Pins check_backward_ad=False (PyTorch's): only forward mode is compared, so a Function whose
    jvp is right and backward wrong passes; with reverse mode on, it fails."""
    x = leaf([1.0, 2.0])
    fn = lambda x: WrongBackwardRightJvp.apply(x)      # noqa: E731
    assert mg.gradcheck(fn, [x], check_backward_ad=False, check_forward_ad=True) is True
    assert mg.gradcheck(fn, [x], raise_exception=False) is False


def test_gradcheck_refuses_eps_zero():
    """Pins that eps must be positive: eps = 0 is a ValueError naming eps (a zero step would divide
    by zero), not a check that fails on NaNs."""
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match="eps"):
        mg.gradcheck(lambda x: x * 2, [x], eps=0.0)


def test_gradcheck_refuses_an_fn_whose_output_shape_changes_with_the_input():
    """Pins the check that fn returns the same shape for a moved input: an fn giving shape (2,) at
    the point and () elsewhere is a ValueError naming the shapes, not a silent broadcast."""
    x = leaf([1.0, 2.0])

    def fn(x):
        y = x * 2
        return y if float(x.data[0]) == 1.0 else y.sum()
    with pytest.raises(ValueError, match="shape"):
        mg.gradcheck(fn, [x])


def test_gradcheck_error_names_the_position_among_all_inputs(off_by):
    """Pins that the error names the input by its place in `inputs` (PyTorch's "with respect to
    input 1"), counting a leading input that does not require grad."""
    off_by.d = 0.5
    constant, x = mg.tensor(np.ones(2)), leaf([1.0, 2.0])
    with pytest.raises(mg.GradcheckError, match=r"input 1 \(shape \(2,\)\)"):
        mg.gradcheck(lambda c, x: OffBy.apply(x) + c, [constant, x])


def test_gradcheck_skips_an_output_of_a_tuple_that_does_not_require_grad():
    """Pins that in a tuple of outputs only those that require grad are checked (PyTorch's
    differentiable outputs): an output made from x.detach() (its values move with x, its graph
    does not) beside a right one gives True."""
    x = leaf([1.0, 2.0])
    assert mg.gradcheck(lambda x: (x * 2, x.detach() * 3), [x]) is True


def test_gradcheck_of_a_tuple_uses_the_given_tolerances_for_each_output(off_by):
    """Pins that atol and rtol reach the check of each output of a tuple: an error of 1e-2, inside
    atol = 0.1, passes; inside nothing at the defaults it would fail."""
    off_by.d = 1e-2
    x = leaf([1.0, 2.0])
    fn = lambda x: (x * 3, OffBy.apply(x))      # noqa: E731
    assert mg.gradcheck(fn, [x], atol=0.1, rtol=0.0) is True
    assert mg.gradcheck(fn, [x], raise_exception=False) is False


# ---------------------------------------------------------------- anomaly.py

def test_detect_anomaly_says_inf_for_an_inf_forward_output():
    """Pins that the forward error tells inf from NaN: exp(1000) overflows to inf, and the error says
    "inf" (not "NaN") and names the op."""
    x = mg.tensor(np.array([1000.0, 0.0]))
    with np.errstate(over="ignore"), pytest.raises(mg.anomaly.AnomalyError) as caught:
        with mg.detect_anomaly():
            x.exp()
    message = str(caught.value)
    assert message.startswith("exp: forward output holds inf")
    assert "NaN" not in message


def test_detect_anomaly_names_the_module_the_op_ran_in():
    """Pins that the anomaly error names the module (scope) the failing op ran in: log of a negative
    number inside a module named Bad, and inside a Sequential at index 1 (after a module that is fine)."""
    class Bad(mg.nn.Module):
        def forward(self, x):
            return x.log()

    class Fine(mg.nn.Module):
        def forward(self, x):
            return x * 1.0
    x = mg.tensor(np.array([[-1.0, -2.0]]))
    with np.errstate(invalid="ignore"), pytest.raises(mg.anomaly.AnomalyError, match=r"in Bad\b"):
        with mg.detect_anomaly():
            Bad()(x)
    with np.errstate(invalid="ignore"), pytest.raises(mg.anomaly.AnomalyError, match=r"in Sequential\.1\b"):
        with mg.detect_anomaly():
            mg.nn.Sequential(Fine(), Bad())(mg.tensor(np.array([[-1.0, -2.0]])))


def test_detect_anomaly_decorator_puts_the_mode_back_when_the_function_raises():
    """Pins that @detect_anomaly() leaves anomaly mode as it found it (off) also when the decorated
    function raises, as a `with` block does."""
    @mg.detect_anomaly()
    def failing():
        assert mg.is_anomaly_enabled()
        raise KeyError("boom")
    assert not mg.is_anomaly_enabled()
    with pytest.raises(KeyError):
        failing()
    assert not mg.is_anomaly_enabled()


@pytest.mark.parametrize("index", [[0, 2], slice(0, 2), 1], ids=["gather", "slice", "scalar"])
def test_detect_anomaly_names_the_indexing_op_whose_backward_hands_on_a_nan(index):
    """Pins the check of the gradient an indexing op's backward hands to its input (a scatter): a
    NaN seed on y = x[index] is reported as the getitem op's backward gradient (PyTorch: "Function
    'IndexBackward0' returned nan values"), not as a sum that overflowed."""
    x = mg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    with pytest.raises(mg.anomaly.AnomalyError, match=r"^getitem: backward gradient holds NaN"):
        with mg.detect_anomaly():
            y = x[index]
            y.backward(np.full(y.shape, np.nan))


# ---------------------------------------------------------------- tensor_hooks.py

class RaisesInBackward(mg.autograd.Function):
    """y = x, whose backward raises."""

    @staticmethod
    def forward(ctx, x):
        return x * 1.0

    @staticmethod
    def backward(ctx, g):
        raise ZeroDivisionError("backward failed on purpose")


def _failed_pass(failing_branch_first):
    """A pass that reaches p (through p * 3, gradient 3) and raises in another branch; p's hook
    multiplies the gradient by 10. What ran, and p.grad afterwards."""
    p, q = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    calls = []
    p.register_hook(lambda g: calls.append("hook") or g * 10)
    p.register_post_accumulate_grad_hook(lambda t: calls.append("post"))
    failing = lambda: RaisesInBackward.apply(q * 1.0).sum()        # noqa: E731
    loss = failing() + (p * 3).sum() if failing_branch_first else (p * 3).sum() + failing()
    with pytest.raises(ZeroDivisionError):
        loss.backward()
    return calls, p.grad


@pytest.mark.parametrize("failing_branch_first", [True, False])
def test_a_failed_pass_adds_nothing_into_a_hooked_leafs_grad_and_runs_none_of_its_hooks(failing_branch_first):
    """Pins what a backward pass that raises does to a hooked leaf it reached: nothing. Its hooks see
    a pass's whole gradient before it is added into .grad (api.md), so a failed pass's gradient goes
    in neither unhooked (a clipping hook bypassed: p.grad = [3, 3] before the fix this test came
    with) nor through hooks that would see part of a gradient; the gradient hook and the
    post-accumulate hook run both or neither (here neither), and p.grad stays None."""
    calls, grad = _failed_pass(failing_branch_first)
    assert calls == [] and grad is None


def test_register_hook_on_a_truncated_state_is_a_runtime_error():
    """Pins that a tensor cut off from its history (mg.bptt.truncate, or severed in place) does not
    require grad, so register_hook refuses it with RuntimeError, as PyTorch refuses a hook on a
    tensor that does not require grad."""
    x = leaf([1.0, 2.0])
    cut = mg.bptt.truncate(x * 2)
    assert cut.requires_grad is False
    with pytest.raises(RuntimeError, match="register_hook"):
        cut.register_hook(lambda g: None)
    h = x * 3
    mg.bptt.sever(h)
    with pytest.raises(RuntimeError, match="register_hook"):
        h.register_hook(lambda g: None)


def test_register_hook_on_a_tensor_whose_graph_was_freed_gives_a_handle():
    """Pins that a hook may be registered on a non-leaf after a backward pass freed its graph (PyTorch
    accepts it): a removable handle comes back, and the hook never runs, no pass reaching it."""
    x = leaf([1.0, 2.0])
    y = x * 2
    y.sum().backward()
    calls = []
    handle = y.register_hook(lambda g: calls.append(g))
    handle.remove()
    handle.remove()                 # a second remove does nothing
    assert calls == []
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


# ---------------------------------------------------------------- grad_mode.py

@pytest.mark.parametrize("make", [lambda: mg.no_grad(), lambda: mg.set_grad_enabled(False),
                                  lambda: mg.inference_mode(), lambda: mg.inference_mode(True)],
                         ids=["no_grad", "set_grad_enabled", "inference_mode", "inference_mode_true"])
def test_a_grad_mode_decorator_puts_recording_back_when_the_function_raises(make):
    """Pins that a function decorated with a switch that turns recording off leaves recording on
    after it raises (PyTorch's decorators restore the mode in a finally)."""
    def failing():
        assert not mg.is_grad_enabled()
        raise KeyError("boom")
    decorated = make()(failing)
    assert mg.is_grad_enabled()
    with pytest.raises(KeyError):
        decorated()
    assert mg.is_grad_enabled()


def test_an_enable_grad_decorator_puts_no_grad_back_when_the_function_raises():
    """Pins that @enable_grad called inside no_grad leaves recording off again after the function
    raises."""
    @mg.enable_grad
    def failing():
        assert mg.is_grad_enabled()
        raise KeyError("boom")
    with mg.no_grad():
        with pytest.raises(KeyError):
            failing()
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


def test_set_grad_enabled_as_a_block_puts_back_the_mode_it_found_not_true():
    """Pins that `with set_grad_enabled(mode):` puts back the mode from before the block: inside
    no_grad, after set_grad_enabled(True) or (False), recording is off again."""
    with mg.no_grad():
        for mode in (True, False):
            with mg.set_grad_enabled(mode):
                assert mg.is_grad_enabled() is mode
            assert mg.is_grad_enabled() is False
    assert mg.is_grad_enabled() is True


def test_closing_a_decorated_generator_early_runs_its_cleanup_in_the_decorators_mode():
    """Pins that a generator function decorated with no_grad, closed before it ends, runs its
    `finally` with recording off (PyTorch closes the generator inside the mode), and the caller's
    mode is on before and after."""
    seen = []

    @mg.no_grad()
    def steps():
        try:
            yield 1
            yield 2
        finally:
            seen.append(mg.is_grad_enabled())
    g = steps()
    assert next(g) == 1
    assert mg.is_grad_enabled()
    g.close()
    assert seen == [False]
    assert mg.is_grad_enabled()


# ---------------------------------------------------------------- nn/module_hooks.py

class Doubler(mg.nn.Module):
    def forward(self, x):
        return x * 2


def test_a_forward_hook_sees_the_arguments_a_pre_hook_replaced():
    """Pins PyTorch's order in Module.__call__: the args a forward pre-hook returns are what forward
    gets and also what the forward hooks get (not the caller's originals)."""
    m = Doubler()
    seen = []
    m.register_forward_pre_hook(lambda mod, args: (args[0] + 10.0,))
    m.register_forward_hook(lambda mod, args, out: seen.append((args[0].numpy().copy(), out.numpy().copy())))
    out = m(mg.tensor(np.array([1.0, 2.0])))
    np.testing.assert_array_equal(out.numpy(), [22.0, 24.0])
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0][0], [11.0, 12.0])
    np.testing.assert_array_equal(seen[0][1], [22.0, 24.0])


class Failing(mg.nn.Module):
    def forward(self, x):
        raise ZeroDivisionError("forward failed on purpose")


def test_an_always_call_hook_that_raises_runs_once():
    """Pins PyTorch's bookkeeping: an always_call forward hook is marked as called before it runs,
    so one that raises is not run a second time on the error path; its error is the one raised."""
    m = Doubler()
    calls = []

    def hook(mod, args, out):
        calls.append(out)
        raise KeyError("hook failed")
    m.register_forward_hook(hook, always_call=True)
    with pytest.raises(KeyError):
        m(mg.tensor(np.array([1.0])))
    assert len(calls) == 1


def test_on_the_error_path_an_always_call_hooks_output_reaches_the_next_one():
    """Pins that when forward raises, what an always_call hook returns is the output the next
    always_call hook gets (PyTorch's `result = hook_result`), the first having got None."""
    m = Failing()
    marker = mg.tensor(np.array([7.0]))
    seen = []
    m.register_forward_hook(lambda mod, args, out: seen.append(out) or marker, always_call=True)
    m.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    with pytest.raises(ZeroDivisionError):
        m(mg.tensor(np.array([1.0])))
    assert len(seen) == 2
    assert seen[0] is None
    assert seen[1] is marker


def test_a_forward_pre_hook_may_remove_itself_while_it_runs():
    """Pins that the pre-hooks of a call are a snapshot (PyTorch iterates over a copy of the table):
    a pre-hook that removes its own handle while running does not break the call, the next pre-hook
    still runs, and on the next call only that one runs."""
    m = Doubler()
    calls = []

    def once(mod, args):
        calls.append("once")
        handle.remove()
    handle = m.register_forward_pre_hook(once)
    m.register_forward_pre_hook(lambda mod, args: calls.append("always"))
    m(mg.tensor(np.array([1.0])))
    m(mg.tensor(np.array([1.0])))
    assert calls == ["once", "always", "always"]


# ---------------------------------------------------------------- checks.py

def test_huber_delta_must_be_positive_zero_included():
    """Pins checks.positive_number's strict bound through HuberLoss and huber_loss: delta = 0 is a
    ValueError naming delta (PyTorch: "huber_loss does not support non-positive values for delta")."""
    with pytest.raises(ValueError, match="delta"):
        mg.nn.HuberLoss(delta=0.0)
    x, y = mg.tensor(np.array([1.0, 2.0])), mg.tensor(np.array([0.0, 0.0]))
    with pytest.raises(ValueError, match="delta"):
        mg.nn.functional.huber_loss(x, y, delta=0.0)


def test_a_loss_weight_that_broadcasts_only_to_a_bigger_shape_is_refused():
    """Pins checks.broadcasts_to (an array broadcasts to a shape without changing it): a (3, 2)
    weight for a (2,) input is a ValueError naming the weight, though the two shapes broadcast
    together (PyTorch's binary_cross_entropy expands the weight to the target's size, which fails);
    a (2,) weight is used as it is: the mean of -w (y log x + (1 - y) log(1 - x))."""
    x, y = mg.tensor(np.array([0.5, 0.25])), mg.tensor(np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="weight"):
        mg.nn.functional.binary_cross_entropy(x, y, weight=mg.tensor(np.ones((3, 2))))
    expected = -(2.0 * np.log(0.5) + 3.0 * np.log(0.75)) / 2
    loss = mg.nn.functional.binary_cross_entropy(x, y, weight=mg.tensor(np.array([2.0, 3.0])))
    np.testing.assert_allclose(float(loss.item()), expected, rtol=1e-12)


def test_a_legacy_random_state_is_not_taken_as_a_generator():
    """Pins checks.generator: rng must be a numpy Generator (or None); a np.random.RandomState, which
    also has .random, is a TypeError naming the module."""
    with pytest.raises(TypeError, match="RNN"):
        mg.nn.RNN(2, 3, rng=np.random.RandomState(0))


def test_module_settings_are_stored_as_python_types():
    """Pins that checks.probability, positive_int and flag hand back Python's float, int and bool
    (as PyTorch's RNNBase stores float(dropout)): numpy scalars given to RNN come back as Python
    numbers."""
    with pytest.warns(UserWarning):
        rnn = mg.nn.RNN(np.int64(2), np.int64(3), num_layers=np.int64(1), dropout=np.float32(0.5),
                        batch_first=np.True_)
    assert type(rnn.dropout) is float and rnn.dropout == 0.5
    assert type(rnn.hidden_size) is int and type(rnn.input_size) is int and type(rnn.num_layers) is int
    assert rnn.batch_first is True
