"""From a differential review of the autograd API beyond plain ops against PyTorch 2.13 (custom
Functions, grad modes, autograd.grad, autograd.functional): each test is one behaviour PyTorch has
and the library did not. Expected values are closed forms; nothing here imports torch."""

import importlib

import numpy as np
import pytest

import microgradseq as mg

F = mg.autograd.functional


def leaf(*values):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def const(*values):
    return mg.tensor(np.array(values, dtype=np.float64))


# ---- custom Functions (function.py) ------------------------------------------------------------

class Exp(mg.autograd.Function):
    """e^x, saving its output: d e^x / dx = e^x."""

    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y


def test_once_differentiable_and_function_ctx_import_from_autograd_function():
    module = importlib.import_module("microgradseq.autograd.function")
    assert module.Function is mg.autograd.Function and module.FunctionCtx is not None
    assert mg.autograd.function.once_differentiable is module.once_differentiable


def test_a_backward_marked_once_differentiable_gives_its_gradient():
    from microgradseq.autograd.function import once_differentiable

    class OnceExp(Exp):
        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            y, = ctx.saved_tensors
            return g * y
    x = leaf(0.0, 1.0)
    OnceExp.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, np.exp([0.0, 1.0]))


class ScaledProduct(mg.autograd.Function):
    """x * w * k, k a number: d/dx = w k, d/dw = x k; needs_input_grad seen by forward kept."""

    @staticmethod
    def forward(ctx, x, k=2.0, w=None):
        ctx.save_for_backward(x, w)
        ctx.k, ScaledProduct.seen = k, ctx.needs_input_grad
        return x * w * k

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g * w * ctx.k, None, g * x * ctx.k


def test_apply_puts_keyword_arguments_in_the_places_of_forwards_arguments():
    x, w = leaf(1.0, 2.0), leaf(3.0, 4.0)
    ScaledProduct.apply(x, w=w, k=3.0).sum().backward()
    assert ScaledProduct.seen == (True, False, True)
    np.testing.assert_allclose(x.grad, [9.0, 12.0])
    np.testing.assert_allclose(w.grad, [3.0, 6.0])


def test_apply_refuses_a_keyword_after_an_argument_not_given():
    with pytest.raises(TypeError, match=r"^ScaledProduct.apply: w= .*forward's argument 'k' before it was not given"):
        ScaledProduct.apply(leaf(1.0), w=leaf(1.0))


def test_apply_refuses_a_keyword_forward_has_no_place_for():
    with pytest.raises(TypeError, match=r"^ScaledProduct.apply: .*'bogus'"):
        ScaledProduct.apply(leaf(1.0), bogus=1)


def test_outputs_that_are_not_tensors_come_back_as_they_are_and_backward_gets_none_for_them():
    class Tagged(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, "tag", x * 3

        @staticmethod
        def backward(ctx, ga, gtag, gb):
            Tagged.gtag = gtag
            return ga * 2 + gb * 3
    x = leaf(1.0, 2.0)
    a, tag, b = Tagged.apply(x)
    (a + b).sum().backward()
    assert tag == "tag" and Tagged.gtag is None and a.requires_grad and b.requires_grad
    np.testing.assert_allclose(x.grad, [5.0, 5.0])


def test_a_forward_returning_no_tensor_or_tuple_returns_it_as_it_is():
    class Length(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.shape[0]

    class Pieces(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return [x * 2, x * 3]
    x = leaf(1.0, 2.0)
    assert Length.apply(x) == 2
    pieces = Pieces.apply(x)
    assert type(pieces) is list and not any(p.requires_grad for p in pieces)


def test_a_jvp_gives_none_for_an_output_that_is_not_a_tensor():
    class Counted(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, 5

        @staticmethod
        def jvp(ctx, v):
            return v * 2, None
    fwAD = mg.autograd.forward_ad
    with fwAD.dual_level():
        y, count = Counted.apply(fwAD.make_dual(const(1.0, 2.0), const(1.0, -1.0)))
        np.testing.assert_allclose(fwAD.unpack_dual(y).tangent, [2.0, -2.0])
    assert count == 5


def test_vjp_is_backwards_other_name():
    class ExpVjp(Exp):
        @staticmethod
        def vjp(ctx, g):
            y, = ctx.saved_tensors
            return g * y
    x = leaf(0.5)
    ExpVjp.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, np.exp([0.5]))


def test_defining_both_backward_and_vjp_is_a_runtime_error():
    class Both(Exp):
        @staticmethod
        def backward(ctx, g):
            return g

        vjp = backward
    with pytest.raises(RuntimeError, match=r"^Both: defines both backward and vjp"):
        Both.apply(leaf(0.5)).sum().backward()


def test_a_gradient_for_an_argument_that_is_not_a_tensor_is_a_value_error():
    class Scale(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 3.0, g
    with pytest.raises(ValueError, match=r"^Scale.backward: returned a gradient for argument 1, a float and not a "
                                         r"tensor; return None there"):
        Scale.apply(leaf(1.0, 2.0), 3.0).sum().backward()


def test_backward_returning_a_list_is_a_type_error():
    class Listed(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return [g * 2]
    with pytest.raises(TypeError, match=r"^Listed.backward: expected a gradient \(a Tensor or None\) or a tuple of "
                                        r"them, got a list"):
        Listed.apply(leaf(1.0, 2.0)).sum().backward()


class AddOne(mg.autograd.Function):
    """x + 1 in place (ctx.mark_dirty); backward doubles, so that the test sees it ran."""

    @staticmethod
    def forward(ctx, x):
        x += 1
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g * 2


def test_mark_dirty_returns_the_argument_itself_with_the_functions_history():
    """z = AddOne(3x) in place, L = sum z^2: dL/dx = 2 z * 2 * 3."""
    x = leaf(1.0, 2.0)
    y = x * 3
    z = AddOne.apply(y)
    (z * z).sum().backward()
    assert z is y and not z.is_leaf and z.op == "AddOne"
    np.testing.assert_allclose(z.numpy(), [4.0, 7.0])
    np.testing.assert_allclose(x.grad, 2 * np.array([4.0, 7.0]) * 2 * 3)


def test_mark_dirty_of_a_leaf_that_requires_grad_is_a_runtime_error():
    with pytest.raises(RuntimeError, match=r"^AddOne: forward changed in place \(ctx.mark_dirty\) a leaf tensor"):
        AddOne.apply(leaf(1.0, 2.0))


def test_mark_dirty_of_a_tensor_forward_does_not_return_is_a_value_error():
    class NotReturned(AddOne):
        @staticmethod
        def forward(ctx, x):
            x += 1
            ctx.mark_dirty(x)
            return x * 2
    with pytest.raises(ValueError, match=r"^NotReturned.forward: a tensor given to ctx.mark_dirty must be an "
                                         r"argument of forward that forward returns"):
        NotReturned.apply(leaf(1.0) * 1)


def test_saved_tensors_after_a_backward_pass_freed_the_graph_is_a_runtime_error():
    contexts = []

    class Keeps(Exp):
        @staticmethod
        def forward(ctx, x):
            contexts.append(ctx)
            return Exp.forward(ctx, x)

        @staticmethod
        def backward(ctx, g):
            y, = ctx.saved_tensors
            return g * y
    y = Keeps.apply(leaf(0.0, 1.0)).sum()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(contexts[0].saved_tensors[0].numpy(), np.exp([0.0, 1.0]))
    y.backward()
    with pytest.raises(RuntimeError, match=r"^saved_tensors: a backward pass has freed the graph"):
        contexts[0].saved_tensors


# ---- grad modes (grad_mode.py) ----------------------------------------------------------------

def _modes_seen(switch, outside):
    """(mode at step 1, the caller's mode between steps, mode at step 2) of a generator decorated
    with `switch`, the caller's mode being `outside`."""
    @switch
    def steps():
        yield mg.is_grad_enabled()
        yield mg.is_grad_enabled()
    with mg.set_grad_enabled(outside):
        generator = steps()
        first = next(generator)
        between = mg.is_grad_enabled()
        second = next(generator)
        generator.close()
    return first, between, second


def test_enable_grad_on_a_generator_function_records_in_each_step():
    assert _modes_seen(mg.enable_grad(), outside=False) == (True, False, True)
    assert _modes_seen(mg.enable_grad, outside=False) == (True, False, True)


def test_set_grad_enabled_on_a_generator_function_holds_in_each_step():
    assert _modes_seen(mg.set_grad_enabled(False), outside=True) == (False, True, False)


def test_inference_mode_on_a_generator_function_holds_in_each_step():
    assert _modes_seen(mg.inference_mode(), outside=True) == (False, True, False)
    assert _modes_seen(mg.inference_mode, outside=True) == (False, True, False)


def test_a_decorated_generator_takes_what_is_sent_and_thrown_and_gives_its_return_value():
    @mg.inference_mode()
    def steps():
        got = yield mg.is_grad_enabled()
        try:
            yield got, mg.is_grad_enabled()
        except KeyError:
            yield "caught", mg.is_grad_enabled()
        return "done"

    def outer():
        result = yield from steps()
        yield result
    generator = outer()
    assert next(generator) is False
    assert generator.send(5) == (5, False)
    assert generator.throw(KeyError("k")) == ("caught", False)
    assert next(generator) == "done" and mg.is_grad_enabled()


def test_an_enable_grad_object_can_be_entered_again_and_within_itself():
    switch, seen = mg.enable_grad(), []
    with mg.no_grad():
        for _ in range(2):
            with switch:
                with switch:
                    seen.append(mg.is_grad_enabled())
                seen.append(mg.is_grad_enabled())
            seen.append(mg.is_grad_enabled())
    assert seen == [True, True, False] * 2


def test_the_grad_mode_switches_are_in_mg_autograd_too():
    x = leaf(1.0)
    with mg.no_grad():
        with mg.autograd.enable_grad():
            assert (x * 2).requires_grad
        with mg.autograd.set_grad_enabled(True):
            assert (x * 2).requires_grad
    with mg.autograd.inference_mode():
        assert not (x * 2).requires_grad


def test_the_grad_mode_module_is_an_attribute_of_mg_autograd_as_torch_autograd_grad_mode_is():
    with mg.autograd.grad_mode.no_grad():
        assert not mg.is_grad_enabled()
    assert mg.autograd.grad_mode.set_grad_enabled is mg.set_grad_enabled


def test_no_grad_from_autograd_grad_mode_holds_in_each_step_and_can_be_entered_again():
    from microgradseq.autograd.grad_mode import no_grad
    assert _modes_seen(no_grad(), outside=True) == (False, True, False)
    assert _modes_seen(no_grad, outside=True) == (False, True, False)
    switch, seen = no_grad(), []
    for _ in range(2):
        with switch:
            seen.append(mg.is_grad_enabled())
    assert seen == [False, False] and mg.is_grad_enabled()


def test_mg_no_grad_is_that_switch():
    """`mg.no_grad`, the one scripts use, holds in each step of a decorated generator and can be entered again."""
    assert _modes_seen(mg.no_grad(), outside=True) == (False, True, False)
    switch = mg.no_grad()
    with switch:
        with switch:
            assert not mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


# ---- autograd.grad (transforms.py) ------------------------------------------------------------

def test_grad_materialize_grads_gives_zeros_for_an_input_the_outputs_do_not_use():
    x, w = leaf(1.0, 2.0, 3.0), leaf(0.5, -1.0, 2.0)
    gx, gw = mg.autograd.grad((x * 2).sum(), (x, w), materialize_grads=True)
    np.testing.assert_array_equal(gx.numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(gw.numpy(), [0.0, 0.0, 0.0])


def test_grad_materialize_grads_with_allow_unused_false_is_a_value_error():
    x = leaf(1.0)
    with pytest.raises(ValueError, match=r"^autograd.grad: materialize_grads=True .* allow_unused=False"):
        mg.autograd.grad((x * 2).sum(), x, allow_unused=False, materialize_grads=True)


def test_grad_with_respect_to_a_tensor_that_does_not_require_grad_is_a_runtime_error():
    x, c = leaf(1.0, 2.0), const(3.0, 4.0)
    with pytest.raises(RuntimeError, match=r"^autograd.grad: input 1 does not require grad"):
        mg.autograd.grad((x * c).sum(), (x, c), allow_unused=True)


def test_grad_is_grads_batched_gives_one_row_per_cotangent():
    """y = x^2 elementwise: row b of d<u_b, y>/dx is 2 x u_b; the identity's rows give diag(2x)."""
    x = leaf(1.0, 2.0, 3.0)
    (rows,) = mg.autograd.grad(x * x, x, mg.tensor(np.eye(3)), is_grads_batched=True)
    np.testing.assert_allclose(rows.numpy(), np.diag([2.0, 4.0, 6.0]))


def test_grad_is_grads_batched_needs_each_grad_output_with_its_rows():
    x = leaf(1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match=r"^autograd.grad: grad_outputs\[0\] must be numbers of shape \(k,\) \+ "
                                         r"\(3,\)"):
        mg.autograd.grad(x * x, x, const(1.0, 1.0, 1.0), is_grads_batched=True)
    with pytest.raises(ValueError, match=r"^autograd.grad: with is_grads_batched=True grad_outputs\[0\] must be given"):
        mg.autograd.grad((x * x).sum(), x, is_grads_batched=True)


def test_grad_inputs_as_a_dict_give_a_dict_of_gradients():
    x, w = leaf(1.0, 2.0), leaf(3.0, 4.0)
    grads = mg.autograd.grad((x * w).sum(), {"x": x, "w": w})
    assert list(grads) == ["x", "w"]
    np.testing.assert_array_equal(grads["x"].numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(grads["w"].numpy(), [1.0, 2.0])


def test_grad_with_no_inputs_is_a_runtime_error():
    x = leaf(1.0)
    with pytest.raises(RuntimeError, match=r"^autograd.grad: inputs is empty"):
        mg.autograd.grad((x * 2).sum(), [])


def test_grad_only_inputs_false_warns_that_it_is_ignored():
    x = leaf(1.0, 2.0)
    with pytest.warns(FutureWarning, match=r"^autograd.grad: only_inputs is deprecated and ignored"):
        (g,) = mg.autograd.grad((x * x).sum(), x, only_inputs=False)
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])


# ---- autograd.functional strict= (autograd_functional.py) --------------------------------------

def product(x, y):
    return x * y.exp(), (x ** 2).sum() + y.sum()


def test_jacobian_strict_refuses_an_input_an_output_does_not_depend_on():
    x, y = const(0.5, -1.0), const(0.1, 0.2)
    with pytest.raises(RuntimeError, match=r"^jacobian: with strict=True output 1 must depend on every input, and "
                                           r"is independent of input 0"):
        F.jacobian(lambda x, y: (x * y, y * 2), (x, y), strict=True)


def test_jacobian_strict_refuses_an_output_without_history():
    with pytest.raises(RuntimeError, match=r"^jacobian: with strict=True .*output 0 does not require grad"):
        F.jacobian(lambda x: const(1.0, 2.0), const(0.5), strict=True)


def test_jacobian_strict_with_vectorize_or_forward_mode_is_a_runtime_error():
    x = const(0.5, -1.0)
    with pytest.raises(RuntimeError, match=r"^jacobian: strict=True is not supported with vectorize=True"):
        F.jacobian(lambda x: x * 2, x, strict=True, vectorize=True)
    with pytest.raises(RuntimeError, match=r"^jacobian: strict=True is not supported with strategy=forward-mode"):
        F.jacobian(lambda x: x * 2, x, strict=True, strategy="forward-mode")


def test_jacobian_strict_gives_the_jacobian_when_everything_depends_on_everything():
    """d(x e^y)/dx = diag(e^y), d(x e^y)/dy = diag(x e^y); d(|x|^2 + sum y) = (2x, 1)."""
    x, y = const(0.5, -1.0), const(0.1, 0.2)
    (jxx, jxy), (jsx, jsy) = F.jacobian(product, (x, y), strict=True)
    np.testing.assert_allclose(jxx.numpy(), np.diag(np.exp([0.1, 0.2])))
    np.testing.assert_allclose(jxy.numpy(), np.diag([0.5, -1.0] * np.exp([0.1, 0.2])))
    np.testing.assert_allclose(jsx.numpy(), [1.0, -2.0])
    np.testing.assert_allclose(jsy.numpy(), [1.0, 1.0])


def test_vjp_strict_refuses_an_input_no_output_depends_on():
    with pytest.raises(RuntimeError, match=r"^vjp: with strict=True the output must depend on every input, and is "
                                           r"independent of input 1"):
        F.vjp(lambda x, y: x * 2, (const(1.0), const(2.0)), const(1.0), strict=True)


def test_jvp_strict_refuses_an_input_no_output_depends_on():
    with pytest.raises(RuntimeError, match=r"^jvp: with strict=True the output must depend on every input, and is "
                                           r"independent of input 1"):
        F.jvp(lambda x, y: x * 2, (const(1.0), const(2.0)), (const(1.0), const(1.0)), strict=True)


def test_jvp_strict_refuses_an_output_that_reaches_no_input():
    w = leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match=r"^jvp: with strict=True every output must depend on the inputs; "
                                           r"output 1 depends on none of them"):
        F.jvp(lambda x: (x * 2, w * 2), const(1.0), const(1.0), strict=True)


def test_jvp_strict_gives_j_v():
    """J v = e^y v_x + x e^y v_y for the first output, 2 <x, v_x> + sum v_y for the second."""
    x, y, vx, vy = const(0.5, -1.0), const(0.1, 0.2), const(1.0, 2.0), const(0.0, 1.0)
    (a, s), (ja, js) = F.jvp(product, (x, y), (vx, vy), strict=True)
    e = np.exp([0.1, 0.2])
    np.testing.assert_allclose(a.numpy(), [0.5, -1.0] * e)
    np.testing.assert_allclose(ja.numpy(), e * [1.0, 2.0] + [0.5, -1.0] * e * [0.0, 1.0])
    np.testing.assert_allclose(js.numpy(), 2 * (0.5 * 1.0 - 1.0 * 2.0) + 1.0)
    assert not ja.requires_grad and not a.requires_grad
