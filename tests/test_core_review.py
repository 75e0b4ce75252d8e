"""Holes a review found in the redesigned core, each closed and pinned here. References: closed
forms, and for the gradient adders central differences of an LSTM written in numpy."""

import threading

import numpy as np
import pytest

import microgradseq as mg


def f64(values, requires_grad=False):
    return mg.tensor(values, requires_grad=requires_grad, dtype=np.float64)


def test_the_read_only_flag_of_handed_out_data_cannot_be_turned_back_on():
    """.data and .numpy() hand out views of the tensor's read-only array: numpy refuses to make
    them writeable again, so a gradient cannot be changed that way either."""
    w, x = f64([1.0, 2.0], requires_grad=True), f64([3.0, 4.0], requires_grad=True)
    loss = (w * x).sum()
    for array in (x.data, x.numpy(), loss.data):
        with pytest.raises(ValueError, match="WRITEABLE"):
            array.flags.writeable = True
    loss.backward()
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])


def test_jvp_with_one_tensor_in_two_argument_slots_gives_each_slot_its_tangent():
    """f(a, b) = a * b at a = b = x along (u, v): J_a u + J_b v = x * u + x * v."""
    x = f64([1.0, 2.0])
    _, tangent = mg.jvp(lambda a, b: a * b, [x, x], [[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(tangent, [1.0, 2.0])


def test_two_threads_differentiating_forwards_through_one_tensor_get_their_own_tangents():
    """Both threads seed the same tensor at once (a shared parameter): each gets its own J v, and
    the tensor is left without a tangent."""
    x = f64([1.0, 2.0])
    inside, leave = threading.Barrier(2), threading.Barrier(2)
    got = {}

    def run(name, factor):
        def fn(a):
            inside.wait(10)
            y = a * factor
            leave.wait(10)
            return y
        got[name] = mg.jvp(fn, [x], [np.ones(2)])[1]

    threads = [threading.Thread(target=run, args=("A", 3.0)), threading.Thread(target=run, args=("B", 5.0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    np.testing.assert_array_equal(got["A"], [3.0, 3.0])
    np.testing.assert_array_equal(got["B"], [5.0, 5.0])
    assert x._tangent is None


def test_nested_transforms_are_refused_instead_of_giving_zero():
    outer = f64([2.0])
    with pytest.raises(RuntimeError, match="nesting transforms is not supported"):
        mg.jvp(lambda a: mg.jvp(lambda b: a * b * b, [f64([3.0])], [[1.0]])[0], [outer], [[1.0]])
    with pytest.raises(RuntimeError, match="nesting transforms is not supported"):
        mg.jvp(lambda a: mg.vjp(lambda b: a * b, [f64([3.0])], [1.0])[0], [outer], [[1.0]])


def test_transforms_name_themselves_for_bad_input():
    x = f64([1.0, 2.0])
    with pytest.raises(TypeError, match="jvp: fn must return a Tensor or a tuple of Tensors, got float"):
        mg.jvp(lambda a: 1.0, [x], [np.ones(2)])
    with pytest.raises(ValueError, match="jacobian: fn takes one input here, got 2 inputs"):
        mg.jacobian(lambda a: a, [x, x])
    with pytest.raises(TypeError, match="jvp: input 0 must be a floating-point tensor, got dtype int64"):
        mg.jvp(lambda a: a, [mg.tensor([1, 2])], [np.ones(2)])


def test_converting_a_model_between_forward_and_backward_keeps_its_gradients():
    """model.double() after a forward pass: the recorded graph still reaches the parameters."""
    model = mg.nn.Linear(2, 1)
    loss = model(mg.ones((1, 2))).sum()
    model.double()
    loss.backward()
    assert model.weight.dtype == np.float64 and model.weight.grad.dtype == np.float64
    np.testing.assert_allclose(model.weight.grad, [[1.0, 1.0]])


def test_one_step_object_shared_by_two_threads_restores_each_threads_own_step():
    shared = mg.viz.step(7)
    entered, leave = threading.Barrier(2), threading.Barrier(2)
    seen = {}

    def in_thread(name, outer):
        with mg.viz.step(outer):
            with shared:
                entered.wait(10)
                leave.wait(10)
            seen[name] = (mg.tensor([1.0], requires_grad=True) * 2).step

    threads = [threading.Thread(target=in_thread, args=("A", 1)), threading.Thread(target=in_thread, args=("B", 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"A": 1, "B": 2}


@pytest.mark.parametrize("runner", ["rtrl", "uoro"])
@pytest.mark.parametrize("step_result, error, message", [
    (lambda h: (h, h, h), TypeError, "step must return a pair \\(output, new_state\\), got a tuple of 3 at step 1"),
    (lambda h: h, TypeError, "step must return a pair \\(output, new_state\\), got a Tensor at step 1"),
    (lambda h: (h, {"h": h}), TypeError, "the state step returned at step 1 holds a dict"),
])
def test_online_runners_check_what_step_returns(runner, step_result, error, message):
    w = f64([[0.5]], requires_grad=True)
    run = getattr(mg.bptt, runner)
    with pytest.raises(error, match=f"{runner}: {message}"):
        run(lambda x, h: step_result((h @ w + x).tanh()), f64([[0.0]]), [f64([[1.0]])], [f64([[0.0]])],
            lambda out, y: ((out - y) ** 2).sum(), [w])
    assert w.grad is None


@pytest.mark.parametrize("runner", ["rtrl", "uoro"])
def test_online_runners_check_what_loss_fn_returns(runner):
    w = f64([[0.5]], requires_grad=True)
    with pytest.raises(TypeError, match=f"{runner}: loss_fn must return a one-element Tensor, got float at step 1"):
        getattr(mg.bptt, runner)(lambda x, h: ((h @ w + x).tanh(),) * 2, f64([[0.0]]), [f64([[1.0]])],
                                 [f64([[0.0]])], lambda out, y: 1.0, [w])


@pytest.mark.parametrize("rng, got", [("x", "str"), (-1, "-1")])
def test_uoro_refuses_an_rng_that_is_neither_a_generator_nor_a_seed(rng, got):
    w = f64([[0.5]], requires_grad=True)
    with pytest.raises(TypeError, match=rf"uoro: rng must be a numpy.random.Generator, a seed \(an integer >= 0\) "
                                        rf"or None, got {got}$"):
        mg.bptt.uoro(lambda x, h: ((h @ w + x).tanh(),) * 2, f64([[0.0]]), [f64([[1.0]])], [f64([[0.0]])],
                     lambda out, y: ((out - y) ** 2).sum(), [w], rng=rng)


def test_pytorch_spellings_name_themselves_for_bad_input():
    t = f64([[1.0, 2.0]])
    with pytest.raises(IndexError, match="softmax: dim 3 is out of range"):
        t.softmax(3)
    with pytest.raises(IndexError, match="argmax: dim 2 is out of range"):
        t.argmax(dim=2)
    with pytest.raises(ValueError, match="arange: .* step not 0"):
        mg.arange(0, 5, 0)
    with pytest.raises(ValueError, match="sum: keepdims must be True or False"):
        t.sum(axis=1, keepdims="no")


def numpy_lstm_outputs(x, w):
    """h_1..h_T, stacked, of a one-layer LSTM in numpy (PyTorch's gate order i, f, g, o; h_0 = c_0 = 0)."""
    sigmoid = lambda v: 1 / (1 + np.exp(-v))        # noqa: E731
    h = c = np.zeros((x.shape[1], w["weight_hh"].shape[1]))
    outputs = []
    for x_t in x:
        i, f, g, o = np.split(x_t @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"], 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs)


def lstm_gradients_by_central_differences(module, x, loss_of_outputs, eps=1e-6):
    """d loss_of_outputs(numpy_lstm_outputs(x, w))/dw for each of the module's weights (a layer's named
    as its cell's), by central differences in float64."""
    weights = {name.removesuffix("_l0"): p.data.copy() for name, p in module.named_parameters()}
    grads = {}
    for name, array in weights.items():
        grads[name] = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            values = []
            for sign in (1, -1):
                moved = dict(weights, **{name: array.copy()})
                moved[name][index] += sign * eps
                values.append(loss_of_outputs(numpy_lstm_outputs(x, moved)))
            grads[name][index] = (values[0] - values[1]) / (2 * eps)
    return grads


def assert_gradients_match(module, got, expected, where):
    for name, p in module.named_parameters():
        np.testing.assert_allclose(got[name], expected[name.removesuffix("_l0")], rtol=1e-6, atol=1e-9,
                                   err_msg=f"{where}: {name}")


@pytest.mark.parametrize("fused", [False, True], ids=["op-level", "fused"])
def test_the_cores_plain_gradient_adder_and_the_fast_one_give_the_gradients_of_central_differences(
        monkeypatch, fused):
    """With the core's own `Gradients` installed instead of `gradients.GradientPass`, and without, an
    LSTM (slices, linear's stacked weight products) gets the gradient of sum_t ||h_t||^2, and so does a
    fused LSTM layer and a loop of fused LSTM cells (nodes whose rules share one computation).
    Reference: central differences of that loss with the LSTM written in numpy."""
    from microgradseq import autograd

    def gradients_of(model, x):
        model.zero_grad()
        output, _ = model(x)
        (output * output).sum().backward()
        return {name: p.grad.copy() for name, p in model.named_parameters()}

    def gradients_of_cell_loop(cell, x):
        cell.zero_grad()
        state, loss = None, 0
        for x_t in x:
            state = cell(x_t, state)
            loss = loss + (state[0] * state[0]).sum()
        loss.backward()
        return {name: p.grad.copy() for name, p in cell.named_parameters()}

    model = mg.nn.LSTM(3, 4, dtype=np.float64, rng=np.random.default_rng(0), fused=fused)
    cell = mg.nn.LSTMCell(3, 4, dtype=np.float64, rng=np.random.default_rng(0), fused=fused)
    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    expected = [lstm_gradients_by_central_differences(module, x, lambda h: np.sum(h * h)) for module in (model, cell)]
    fast = gradients_of(model, x), gradients_of_cell_loop(cell, x)
    monkeypatch.setattr(autograd.hooks, "gradients", autograd.Gradients)
    plain = []          # in a thread of its own: no fast pass has ever run there
    worker = threading.Thread(target=lambda: plain.extend([gradients_of(model, x), gradients_of_cell_loop(cell, x)]))
    worker.start()
    worker.join()
    assert len(plain) == 2, "the plain pass failed (see the thread's traceback above)"
    for module, want, fast_grads, plain_grads in zip((model, cell), expected, fast, plain):
        assert_gradients_match(module, fast_grads, want, f"fast, {type(module).__name__}")
        assert_gradients_match(module, plain_grads, want, f"plain, {type(module).__name__}")


def test_a_fused_node_walked_twice_under_the_plain_gradient_adder_uses_each_passs_gradient(monkeypatch):
    """The plain `Gradients` does not number its passes: a fused node walked by two passes over a
    kept graph (retain_graph) must still compute each pass's gradients from that pass's g: sum(h)'s,
    then sum(h^2)'s. Reference: central differences of each loss with the LSTM written in numpy."""
    from microgradseq import autograd

    monkeypatch.setattr(autograd.hooks, "gradients", autograd.Gradients)
    layer = mg.nn.LSTM(3, 4, dtype=np.float64, rng=np.random.default_rng(0), fused=True)
    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    grads = []

    def two_passes():
        output, _ = layer(x)
        output.sum().backward(retain_graph=True)
        grads.append({name: p.grad.copy() for name, p in layer.named_parameters()})
        layer.zero_grad()
        (output * output).sum().backward()
        grads.append({name: p.grad.copy() for name, p in layer.named_parameters()})

    worker = threading.Thread(target=two_passes)      # a thread where no numbered pass has run
    worker.start()
    worker.join()
    assert len(grads) == 2, "a pass failed (see the thread's traceback above)"
    assert_gradients_match(layer, grads[0], lstm_gradients_by_central_differences(layer, x, np.sum), "sum(h)")
    assert_gradients_match(layer, grads[1], lstm_gradients_by_central_differences(layer, x, lambda h: np.sum(h * h)),
                           "sum(h^2)")


def test_a_weight_used_at_many_steps_gets_every_product_once_across_stacking_blocks():
    """linear's weight gradient is summed from stacked factors a block of rows at a time
    (gradients.py); with wide rows and many steps the sum spans several blocks, and each step's
    product g_t^T x_t must be counted exactly once (hand-written numpy). From a mutation check:
    overlapping blocks counted a step twice and no test noticed."""
    rng = np.random.default_rng(0)
    steps, batch, width = 7, 40, 200            # 200 float64 columns: 128 rows a block, so 2 (4 steps, then 3)
    W = mg.tensor(rng.normal(size=(width, width)) * 0.1, requires_grad=True)
    b = mg.tensor(rng.normal(size=width), requires_grad=True)
    xs = [rng.normal(size=(batch, width)) for _ in range(steps)]
    cs = [rng.normal(size=(batch, width)) for _ in range(steps)]
    loss = None
    for x, c in zip(xs, cs):
        term = (mg.nn.functional.linear(mg.tensor(x), W, b) * mg.tensor(c)).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    np.testing.assert_allclose(W.grad, sum(c.T @ x for x, c in zip(xs, cs)), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(b.grad, sum(c.sum(axis=0) for c in cs), rtol=1e-10, atol=1e-10)
