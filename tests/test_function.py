"""mg.autograd.Function, PyTorch's way to define an op by its forward and backward: gradients against
closed forms and central differences written here, tangents against closed forms, and the errors."""

import numpy as np
import pytest

import microgradseq as mg

RNG = np.random.default_rng(11)


def leaf(*shape):
    return mg.tensor(RNG.standard_normal(shape), dtype=np.float64, requires_grad=True)


def central_differences(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f(x) / dx by central differences, f: array -> float."""
    grad = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


class LegendreP3(mg.autograd.Function):
    """P3(x) = (5x^3 - 3x) / 2, PyTorch's tutorial example;   dP3/dx = (15x^2 - 3) / 2"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * (5 * x ** 3 - 3 * x)

    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * x ** 2 - 1)

    @staticmethod
    def jvp(ctx, x_tangent):
        x, = ctx.saved_tensors
        return x_tangent * 1.5 * (5 * x ** 2 - 1)


class Product(mg.autograd.Function):
    """x * y, broadcasting;   d/dx = y, d/dy = x (backward hands back the broadcast shape)"""
    calls = 0

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        Product.calls += 1
        x, y = ctx.saved_tensors
        return g * y, g * x


class Scaled(mg.autograd.Function):
    """x * factor, with a float and a string among the arguments (they get None)."""

    @staticmethod
    def forward(ctx, x, factor, note):
        ctx.factor = factor
        return x * factor

    @staticmethod
    def backward(ctx, g):
        return g * ctx.factor, None, None


class SinCos(mg.autograd.Function):
    """(sin x, cos x): two outputs;   dL/dx = dL/ds cos x - dL/dc sin x"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return mg.sin(x), mg.cos(x)

    @staticmethod
    def backward(ctx, grad_sin, grad_cos):
        x, = ctx.saved_tensors
        return grad_sin * mg.cos(x) - grad_cos * mg.sin(x)

    @staticmethod
    def jvp(ctx, v):
        x, = ctx.saved_tensors
        return v * mg.cos(x), -v * mg.sin(x)


def test_a_function_is_its_forward_and_its_gradient_is_its_backward():
    x = leaf(7)
    y = LegendreP3.apply(x)
    np.testing.assert_allclose(y.data, 0.5 * (5 * x.data ** 3 - 3 * x.data), rtol=1e-14)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, (15 * x.data ** 2 - 3) / 2, rtol=1e-14)
    assert y.grad_fn.op == "LegendreP3"


def test_a_function_inside_a_graph_takes_part_in_the_chain_rule():
    x, w = leaf(3, 4), leaf(4)
    (LegendreP3.apply(x * w).tanh() * 2).sum().backward()

    def loss(x_value):
        return float((np.tanh(0.5 * (5 * (x_value * w.data) ** 3 - 3 * x_value * w.data)) * 2).sum())
    np.testing.assert_allclose(x.grad, central_differences(loss, x.data), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("x_shape, y_shape", [((2, 3, 4), (3, 1)), ((4,), ()), ((1, 4), (3, 1)), ((), (2, 2))])
def test_gradients_of_broadcast_arguments_are_summed_back_to_their_shapes(x_shape, y_shape):
    x, y = leaf(*x_shape), leaf(*y_shape)
    weights = RNG.standard_normal(np.broadcast_shapes(x_shape, y_shape))
    (Product.apply(x, y) * weights).sum().backward()
    np.testing.assert_allclose(x.grad, central_differences(lambda v: float((v * y.data * weights).sum()), x.data),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(y.grad, central_differences(lambda v: float((x.data * v * weights).sum()), y.data),
                               rtol=1e-6, atol=1e-8)
    assert x.grad.shape == x_shape and y.grad.shape == y_shape


def test_backward_runs_once_a_pass_for_all_the_inputs():
    x, y = leaf(3), leaf(3)
    before = Product.calls
    Product.apply(x, y).sum().backward()
    assert Product.calls == before + 1
    np.testing.assert_allclose(x.grad, y.data)
    np.testing.assert_allclose(y.grad, x.data)


def test_arguments_that_are_not_tensors_reach_forward_and_get_no_gradient():
    x = leaf(2, 2)
    Scaled.apply(x, 3.5, "a note").sum().backward()
    np.testing.assert_allclose(x.grad, np.full((2, 2), 3.5))


def test_two_outputs_each_pass_their_gradient_and_an_unused_output_passes_none():
    x = leaf(5)
    s, c = SinCos.apply(x)
    np.testing.assert_allclose(s.data, np.sin(x.data))
    (3 * s + c * c).sum().backward()
    np.testing.assert_allclose(x.grad, 3 * np.cos(x.data) - 2 * np.cos(x.data) * np.sin(x.data), rtol=1e-12)
    z = leaf(5)
    SinCos.apply(z)[1].sum().backward()               # only cos used
    np.testing.assert_allclose(z.grad, -np.sin(z.data), rtol=1e-12)


def test_a_gradient_given_as_none_gives_that_tensor_no_gradient_as_pytorchs():
    """y.grad stays None, as PyTorch's (it was zeros, so SGD's weight decay and momentum moved y);
    a gradient reaching y another way is its gradient, and autograd.grad calls y unused."""
    class Stopped(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g, None
    x, y = leaf(3), leaf(3)
    Stopped.apply(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(3))
    assert y.grad is None
    before = y.data.copy()
    mg.optim.SGD([x, y], lr=0.1, momentum=0.9, weight_decay=0.1).step()
    np.testing.assert_array_equal(y.data, before)
    x.grad = None
    (Stopped.apply(x, y).sum() + (y * 2).sum()).backward()
    np.testing.assert_array_equal(y.grad, np.full(3, 2.0))
    assert mg.autograd.grad(Stopped.apply(x, y).sum(), (x, y), allow_unused=True)[1] is None
    with pytest.raises(RuntimeError, match=r"^autograd.grad: input 1 got no gradient"):
        mg.autograd.grad(Stopped.apply(x, y).sum(), (x, y))


def test_ctx_says_which_arguments_need_a_gradient_and_keeps_what_forward_set():
    seen = {}

    class Probe(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, k):
            ctx.k = k
            ctx.save_for_backward(y)
            seen["needs"] = ctx.needs_input_grad
            return x * y * k

        @staticmethod
        def backward(ctx, g):
            y, = ctx.saved_tensors
            return g * ctx.k * y, None, None
    x = leaf(2)
    Probe.apply(x, mg.tensor([1.0, 2.0], dtype=np.float64), 4.0).sum().backward()
    assert seen["needs"] == (True, False, False)
    np.testing.assert_allclose(x.grad, [4.0, 8.0])


def test_pytorchs_newer_form_with_setup_context():
    class Cube(mg.autograd.Function):
        @staticmethod
        def forward(x):
            return x ** 3

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 3 * x ** 2
    x = leaf(4)
    Cube.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 * x.data ** 2, rtol=1e-14)


def test_under_no_grad_a_function_records_nothing():
    x = leaf(3)
    with mg.no_grad():
        y = LegendreP3.apply(x)
    assert not y.requires_grad and y.grad_fn is None


def test_a_kept_graph_walked_twice_calls_backward_twice_and_accumulates():
    x = leaf(3)
    y = LegendreP3.apply(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * (15 * x.data ** 2 - 3) / 2, rtol=1e-14)


def test_a_chain_of_twenty_thousand_functions_backpropagates():
    x = mg.tensor([1.0], dtype=np.float64, requires_grad=True)
    h = x
    for _ in range(20_000):
        h = Scaled.apply(h, 1.0001, "")
    h.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001 ** 20_000], rtol=1e-10)


def test_forward_mode_uses_the_functions_jvp():
    x = leaf(6)
    v = RNG.standard_normal(6)
    y, tangent = mg.jvp(lambda x: LegendreP3.apply(x), (x,), (v,))
    np.testing.assert_allclose(tangent, (15 * x.data ** 2 - 3) / 2 * v, rtol=1e-13)
    directions = RNG.standard_normal((3, 6))
    _, tangents = mg.jvp(lambda x: SinCos.apply(x), (x,), (directions,))
    np.testing.assert_allclose(tangents[0], directions * np.cos(x.data), rtol=1e-13)
    np.testing.assert_allclose(tangents[1], -directions * np.sin(x.data), rtol=1e-13)


def test_forward_mode_without_a_jvp_names_the_function_only_where_a_tangent_reaches_it():
    x, c = leaf(3), mg.tensor([1.0, 2.0, 3.0], dtype=np.float64)
    _, tangent = mg.jvp(lambda x: x * Product.apply(c, c), (x,), (np.ones(3),))
    np.testing.assert_allclose(tangent, c.data * c.data)
    with pytest.raises(NotImplementedError, match=r"^Product: forward mode \(mg.jvp, a dual level, .*\) needs a jvp"):
        mg.jvp(lambda x: Product.apply(x, c), (x,), (np.ones(3),))


def test_detect_anomaly_names_the_function_whose_backward_made_a_nan():
    class Broken(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * np.nan
    x = leaf(2)
    with mg.detect_anomaly(), pytest.raises(FloatingPointError, match="Broken"):
        Broken.apply(x).sum().backward()


def test_backward_with_the_wrong_number_of_gradients_names_itself_and_both_counts():
    class TooFew(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g
    with pytest.raises(ValueError, match=r"^TooFew.backward: expected 2 gradients .* got 1"):
        TooFew.apply(leaf(2), leaf(2)).sum().backward()


def test_backward_with_a_gradient_of_the_wrong_shape_names_both_shapes():
    class Wrong(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return np.ones(5)
    with pytest.raises(ValueError, match=r"^Wrong.backward: the gradient for argument 0 has shape \(5,\), "
                                         r"expected \(3,\)"):
        Wrong.apply(leaf(3)).sum().backward()


def test_forward_must_return_tensors_and_save_for_backward_takes_tensors():
    class ArrayOut(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data * 2
    with pytest.raises(TypeError, match=r"^ArrayOut.forward: expected a Tensor or a tuple of Tensors, got ndarray"):
        ArrayOut.apply(leaf(2))

    class SavesArray(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x.data)
            return x
    with pytest.raises(TypeError, match=r"^save_for_backward: expected tensors"):
        SavesArray.apply(leaf(2))


def test_a_function_without_backward_says_what_to_define():
    class NoBackward(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2
    with pytest.raises(NotImplementedError, match="define backward"):
        NoBackward.apply(leaf(2)).sum().backward()


def test_the_gradient_backward_receives_is_read_only():
    class Writes(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            g.data[0] = 0.0
            return g
    with pytest.raises(ValueError, match="read-only"):
        Writes.apply(leaf(2)).sum().backward()


# ---- several outputs, non-differentiable outputs, save_for_forward, apply's arguments ------------

def test_several_outputs_call_backward_once_with_every_outputs_gradient():
    """L = sum(3 sin x + cos^2 x): backward runs once, given dL/ds = 3 and dL/dc = 2 cos x together,
    as PyTorch's (not once an output with zeros for the other), so a backward that is not linear in
    its arguments (here it clips their sum to [-1, 1]) is still the one PyTorch would run."""
    calls = []

    class ClippedSinCos(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return mg.sin(x), mg.cos(x)

        @staticmethod
        def backward(ctx, grad_sin, grad_cos):
            calls.append((grad_sin.data.copy(), grad_cos.data.copy()))
            x, = ctx.saved_tensors
            return mg.clamp(grad_sin * mg.cos(x) - grad_cos * mg.sin(x), -1.0, 1.0)
    x = leaf(5)
    s, c = ClippedSinCos.apply(x)
    (3 * s + c * c).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0][0], np.full(5, 3.0))
    np.testing.assert_allclose(calls[0][1], 2 * np.cos(x.data), rtol=1e-14)
    expected = np.clip(3 * np.cos(x.data) - 2 * np.cos(x.data) * np.sin(x.data), -1, 1)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-13)


def test_without_materialized_grads_only_an_output_the_pass_did_not_reach_gets_none():
    """Three passes over one kept graph of (2x, sum 3x): through both outputs, through the first,
    through the second; backward sees None exactly for the output each pass left out."""
    seen = []

    class Two(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, (x * 3).sum()

        @staticmethod
        def backward(ctx, a, b):
            seen.append((a is None, b is None))
            return (0 if a is None else 2 * a) + (0 if b is None else 3 * b * mg.ones(3, dtype=np.float64))
    x = leaf(3)
    a, b = Two.apply(x)
    (a.sum() + b).backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, np.full(3, 5.0))
    a.sum().backward(retain_graph=True)
    b.backward()
    np.testing.assert_allclose(x.grad, np.full(3, 10.0))
    assert seen == [(False, False), (False, True), (True, False)]


def test_after_backward_an_output_left_unused_keeps_nothing_of_the_call_alive():
    """ctx (and what forward kept on it) goes once backward has run, also while an output the loss
    did not use is still held."""
    import gc
    import weakref

    class Big:
        pass

    class Two(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.big = Big()
            Two.kept = weakref.ref(ctx.big)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, a, b):
            return 2 * a + 3 * b
    x = leaf(3)
    a, b = Two.apply(x)
    a.sum().backward()
    gc.collect()
    assert Two.kept() is None and b.requires_grad
    np.testing.assert_allclose(x.grad, np.full(3, 2.0))


def test_a_kept_graph_holds_no_gradient_backward_returned():
    """With retain_graph the graph stays, but the array backward returned (the leaf took a copy) is
    not kept between passes."""
    import weakref
    returned = []

    class Double(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            grad = g.data * 2
            returned.append(weakref.ref(grad))
            return grad
    x = leaf(4)
    y = Double.apply(x).sum()
    y.backward(retain_graph=True)
    assert returned[0]() is None
    y.backward()
    np.testing.assert_allclose(x.grad, np.full(4, 4.0))


def test_integer_and_marked_outputs_come_back_without_history():
    """(max over the last axis, argmax, a float mask marked non-differentiable): only the max
    requires grad, as in PyTorch; its gradient is 1 at each row's maximum."""
    class MaxArgmax(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            index = mg.tensor(np.argmax(x.data, axis=-1))
            mask = mg.tensor((x.data > 0).astype(x.dtype))
            ctx.mark_non_differentiable(mask)
            ctx.save_for_backward(index)
            ctx.shape = x.shape
            return mg.tensor(x.data.max(axis=-1)), index, mask

        @staticmethod
        def backward(ctx, g, g_index, g_mask):
            index, = ctx.saved_tensors
            grad = np.zeros(ctx.shape)
            grad[np.arange(ctx.shape[0]), index.data] = g.data
            return grad
    x = leaf(3, 4)
    values, index, mask = MaxArgmax.apply(x)
    assert values.requires_grad and not index.requires_grad and not mask.requires_grad
    assert index.grad_fn is None and mask.grad_fn is None
    values.sum().backward()
    expected = (x.data == x.data.max(axis=1, keepdims=True)).astype(float)
    np.testing.assert_array_equal(x.grad, expected)


def test_jvp_reads_what_save_for_forward_kept_and_backward_what_save_for_backward_kept():
    """x * y: backward gets (x, y) from save_for_backward, jvp y alone from save_for_forward
    (its tangent y v_x for a tangent v_x of x), as PyTorch's ctx keeps the two apart."""
    class Product(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            ctx.save_for_forward(y)
            return x * y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y, g * x

        @staticmethod
        def jvp(ctx, x_tangent, y_tangent):
            y, = ctx.saved_tensors
            return x_tangent * y
    x, y = leaf(3), leaf(3)
    Product.apply(x, y).sum().backward()
    np.testing.assert_allclose(x.grad, y.data)
    np.testing.assert_allclose(y.grad, x.data)
    v = RNG.standard_normal(3)
    _, tangent = mg.jvp(lambda x: Product.apply(x, y), (x,), (v,))
    np.testing.assert_allclose(tangent, v * y.data, rtol=1e-14)


def test_apply_takes_forwards_arguments_by_position_or_keyword_and_setup_context_sees_the_defaults():
    class Scale(mg.autograd.Function):
        @staticmethod
        def forward(x, factor=3.0):
            return x * factor

        @staticmethod
        def setup_context(ctx, inputs, output):
            _, ctx.factor = inputs                  # PyTorch's inputs hold forward's defaults

        @staticmethod
        def backward(ctx, g):
            return g * ctx.factor, None
    x = leaf(2)
    Scale.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])
    Scale.apply(x, factor=2.0).sum().backward()     # a keyword fills forward's place, as PyTorch 2.13's apply
    np.testing.assert_allclose(x.grad, [5.0, 5.0])  # 3 + 2


def test_a_jvp_giving_a_tangent_of_the_wrong_shape_or_count_names_itself():
    class WrongShape(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def jvp(ctx, v):
            return mg.ones(5)
    with pytest.raises(ValueError, match=r"^WrongShape.jvp: the tangent of output 0 has shape \(5,\), expected \(3,\)"):
        mg.jvp(lambda x: WrongShape.apply(x), (leaf(3),), (np.ones(3),))

    class TooFew(SinCos):
        @staticmethod
        def jvp(ctx, v):
            return v
    with pytest.raises(ValueError, match=r"^TooFew.jvp: expected 2 tangents"):
        mg.jvp(lambda x: TooFew.apply(x), (leaf(3),), (np.ones(3),))
