"""Porting, round 71: PYTORCH'S OWN TESTS OF CUSTOM AUTOGRAD FUNCTIONS -- the `torch.autograd.Function` tests of
pytorch/pytorch's test/test_autograd.py (commit 5c322af10e52e4d236104ceefd542f34e6dcf20a; the 2020 version at
0011ee059a1ed8ca92d609383f466095d1bb1fcf was read too). Rounds 30 and 32 ported the examples of PyTorch's API docs;
this round ports its test suite: test_function, test_once_differentiable, test_function_returns_input,
test_function_returns_undefined_tensor, test_materialize_grads, test_dont_materialize_grads,
test_set_materialize_non_diff_grads, test_custom_function_exception, test_custom_function_non_tensor_inputs_outputs,
test_custom_function_no_tensors, test_invalid_gradients, test_custom_function_vmap_defaults,
test_custom_function_setup_context_simple / _multi_output / _multi_input, test_grad_unreachable_discovery,
test_no_grad_python_function, test_saved_variables_deprecated, test_mark_non_differentiable / _mixed / _none,
test_return_duplicate, test_return_duplicate_inplace, test_return_leaf, test_return_leaf_inplace, test_no_grad_input,
test_save_none_for_backward, test_too_many_grads, test_dep_nograd, test_simple_reentrant,
test_naughty_autograd_function_stashing_ctx, test_custom_autograd_no_early_free, test_custom_function_saved_tensors,
test_checkpointing_without_reentrant_saved_object_identity, test_autograd_python_custom_function_inplace (part I),
test_custom_function_mark_dirty_not_differentiable, test_custom_function_mark_output_view_of_intermediate and
test_gradcheck_nondeterministic. test/functorch/test_autograd_function.py is not in the index. Every test was read in
the index at the commit named; none was written from memory.

Each is written as PyTorch wrote it, with only the imports changed; `# differs:` marks every other change and why.
Throughout: TestCase methods become functions (`self.assertX` inside a Function's forward or backward becomes a plain
`assert`); `self.assertEqual` of tensors becomes numpy's `assert_allclose` (or `assert_array_equal`) against values
written in numpy from the inputs' values, never from another value the library computed; `create_graph=True`,
`gradgradcheck` and other double-backward parts are left out (docs/pytorch.md: gradients are not recorded), and so
are the CUDA parts.

What broke (three gaps fixed, all in microgradseq/function.py):
  G1. `out.grad_fn` of a custom Function was the library's node, without what PyTorch's grad_fn of a Function has:
      it is the ctx (BackwardCFunction), so `y.grad_fn.saved_tensors` gives what forward saved
      (test_custom_function_saved_tensors; round 69's strict xfail, now a plain test). The Function's node (and
      each output node `Name[k]` of a Function with several outputs) is now a `Node` subclass (same slots: `.op`,
      `.kind`, `.inputs` as before) whose other attributes read the call's ctx: `saved_tensors`, `needs_input_grad`,
      anything forward set on ctx. Once a backward pass has freed the node, `saved_tensors` is a RuntimeError, as
      PyTorch's.
  G2. `a, b = F.apply(x)` with forward returning `output, output` gave two tensors; PyTorch's apply gives the one
      tensor twice (`a is b`, test_return_duplicate, and with mark_dirty test_return_duplicate_inplace). Now so.
  G3. `ctx._materialize_non_diff_grads = False` (PyTorch's switch for the outputs given to
      mark_non_differentiable: backward gets None for them) was ignored: backward got zeros. Now honoured.
Left open (strict xfails):
  - A backward returning None for an input whose node is another custom Function (PyTorch's UndefinedGrad in
    test_materialize_grads / test_dont_materialize_grads): PyTorch still calls that Function's backward, with zeros
    (or None without materialize), so the leaf gets zeros; here a node no gradient reached is skipped (the engine,
    microgradseq/autograd.py, not this helper's), so backward is not called and the leaf's .grad stays None.
  - `Function.generate_vmap_rule` and the `vmap` staticmethod (test_custom_function_vmap_defaults) are not here.
  - mark_dirty of a tensor that is not an input is a ValueError here, RuntimeError in PyTorch
    (test_custom_function_mark_output_view_of_intermediate).
Met and as documented (docs/pytorch.md, docs/api.md): a wrong-shaped gradient from backward is a ValueError naming
`Name.backward` (PyTorch: RuntimeError "expected shape"); `grad_fn.name()`, `next_functions`, `_raw_saved_tensors`
(SavedTensor objects and their hooks), InplaceFunction and `Function()` instances are not here; anomaly mode's
messages are the library's own.
"""

import random
import warnings
from functools import reduce
from itertools import product

import numpy as np
import pytest
from porting_references import arr

import microgradseq as torch
import microgradseq.autograd.forward_ad as fwAD
from microgradseq.autograd import Function, Variable, gradcheck
from microgradseq.autograd.function import once_differentiable
from microgradseq.utils.checkpoint import checkpoint


# ---- test_function / test_once_differentiable (through _function_test) -----------------------------------------

def _function_test(cls):
    x = torch.randn(5, 5, requires_grad=True)
    y = torch.randn(5, 5, requires_grad=True)
    result = cls.apply(x, 2, y)
    go = torch.ones((), requires_grad=True)
    result.sum().backward(go)       # differs: create_graph=True left out (gradients are not recorded here)

    # differs: assertEqual(x.grad, y + torch.ones(5, 5)) against numpy of the inputs' values
    np.testing.assert_allclose(arr(x.grad), arr(y) + 1, rtol=1e-6)
    np.testing.assert_allclose(arr(y.grad), arr(x) + 2, rtol=1e-6)
    # differs: assertIsNotNone(x.grad.grad_fn) left out (with create_graph only)

    return x, y


def test_function():
    class MyFunction(Function):
        @staticmethod
        def forward(ctx, tensor1, pyscalar, tensor2):
            ctx.pyscalar = pyscalar
            ctx.save_for_backward(tensor1, tensor2)
            return tensor1 + pyscalar * tensor2 + tensor1 * tensor2

        @staticmethod
        def backward(ctx, grad_output):
            var1, var2 = ctx.saved_tensors
            # NOTE: self is the test case here
            assert isinstance(var1, torch.Tensor)       # differs: self.assertIsInstance
            assert isinstance(var2, torch.Tensor)
            assert isinstance(grad_output, torch.Tensor)
            return (
                grad_output + grad_output * var2,
                None,
                grad_output * ctx.pyscalar + grad_output * var1,
            )

    x, y = _function_test(MyFunction)
    # differs: graph_desc(x.grad.grad_fn) and assertExpected left out (create_graph; next_functions are not here)

    # Avoid leaking memory
    x.grad = None
    y.grad = None


def test_once_differentiable():
    class MyFunction(Function):
        @staticmethod
        def forward(ctx, tensor1, pyscalar, tensor2):
            ctx.pyscalar = pyscalar
            ctx.save_for_backward(tensor1, tensor2)
            return tensor1 + pyscalar * tensor2 + tensor1 * tensor2

        @staticmethod
        @once_differentiable
        def backward(ctx, grad_output):
            assert not torch.is_grad_enabled()          # differs: self.assertFalse
            t1, t2 = ctx.saved_tensors
            return (
                grad_output + grad_output * t2,
                None,
                grad_output * ctx.pyscalar + grad_output * t1,
            )

    x, y = _function_test(MyFunction)
    # differs: the graph_desc(x.grad.grad_fn) checks left out (create_graph, next_functions)

    # Avoid leaking memory
    x.grad = None
    y.grad = None


def test_function_returns_input():
    class MyFunction(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    for shape in [(1,), ()]:
        v = torch.ones(shape, requires_grad=True)
        MyFunction.apply(v).backward()
        np.testing.assert_array_equal(arr(v.grad), np.full(shape, 2.0))    # differs: assertEqual

        with torch.no_grad():
            v.grad = None                   # differs: v.grad.zero_(): .grad is a numpy array (docs/pytorch.md)
        MyFunction.apply(v.clone()).backward()
        np.testing.assert_array_equal(arr(v.grad), np.full(shape, 2.0))    # differs: assertEqual


def test_function_returns_undefined_tensor():
    class MyFunction(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return None

    # Test that undefined tensors returned from custom backward function
    # are propagated as undefined and not tensor full of zeroes
    x = torch.ones(1, requires_grad=True)

    MyFunction.apply(x).backward()
    assert x.grad is None                   # differs: self.assertIsNone, here and below

    MyFunction.apply(x**2).backward()
    assert x.grad is None

    MyFunction.apply(x).sum().backward()
    assert x.grad is None

    assert torch.autograd.grad(MyFunction.apply(x), x, allow_unused=True)[0] is None


class UndefinedGrad(Function):
    """differs: torch._C._functions.UndefinedGrad is not here: a Function whose backward gives its input no
    gradient (None), PyTorch's undefined gradient."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return None


@pytest.mark.xfail(strict=True, reason="a node that no gradient reached (its only consumer's backward returned None) "
                   "is skipped by the engine; PyTorch still calls a custom Function's backward, with zeros")
def test_materialize_grads():
    called = []                             # differs: records that backward ran (the assert in it must run)

    class MyFunction(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            called.append(True)
            np.testing.assert_array_equal(arr(grad), np.zeros(1))     # differs: assertEqual
            return grad

    x = torch.ones(1, requires_grad=True)
    UndefinedGrad.apply(MyFunction.apply(x)).backward()     # differs: torch._C._functions.UndefinedGrad()(...)
    assert called == [True]
    np.testing.assert_array_equal(arr(x.grad), np.zeros(1))   # differs: added (the zeros reach the leaf)


@pytest.mark.xfail(strict=True, reason="as test_materialize_grads: the Function's backward is not called at all, "
                   "where PyTorch calls it with None after set_materialize_grads(False)")
def test_dont_materialize_grads():
    called = []                             # differs: records that backward ran

    class MyFunction(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x

        @staticmethod
        def backward(ctx, grad):
            called.append(True)
            assert grad is None             # differs: self.assertIsNone
            return grad

    x = torch.ones(1, requires_grad=True)
    UndefinedGrad.apply(MyFunction.apply(x)).backward()     # differs: UndefinedGrad as above
    assert called == [True]


def test_set_materialize_non_diff_grads():
    seen = []                               # differs: records what backward got (its assert must run)

    class Func(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out0 = x.clone()
            out1 = x.clone()
            ctx.mark_non_differentiable(out1)
            ctx._materialize_non_diff_grads = False
            return out0, out1

        @staticmethod
        def backward(ctx, g0, g1):
            seen.append(g1)
            assert g1 is None               # differs: self.assertIsNone
            return g0

    a = torch.tensor(1.0, requires_grad=True)
    out = Func.apply(a)[0]
    out.backward()
    assert seen == [None]
    assert float(a.grad) == 1.0             # differs: added, d out0 / d a = 1


def test_set_materialize_non_diff_grads_default_gives_zeros():
    """differs: not in PyTorch's suite: its default (_materialize_non_diff_grads True) gives zeros."""
    class Func(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out0 = x.clone()
            out1 = x.clone()
            ctx.mark_non_differentiable(out1)
            return out0, out1

        @staticmethod
        def backward(ctx, g0, g1):
            np.testing.assert_array_equal(arr(g1), 0.0)
            return g0

    a = torch.tensor(1.0, requires_grad=True)
    Func.apply(a)[0].backward()
    assert float(a.grad) == 1.0


class SimulateBackwardError(Function):
    @staticmethod
    def forward(ctx, input):
        return input.clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, input):
        raise Exception("Simulate error on backward pass")  # noqa: TRY002


def test_custom_function_exception():
    t1 = torch.rand((3, 3), requires_grad=True)
    t2 = torch.rand((3, 3), requires_grad=True)

    tmp = (t1 + t2) * (t1 + t2)
    t3 = SimulateBackwardError.apply(tmp)    # differs: TestAutograd.SimulateBackwardError (a class attribute)
    with pytest.raises(Exception, match="Simulate error on backward pass"):   # differs: assertRaisesRegex
        t3.sum().backward()


def test_custom_function_non_tensor_inputs_outputs():
    class MyFunction(Function):
        @staticmethod
        def forward(ctx, t1, t2, scale, t3):
            t4 = t1 + t2 * t3
            t5 = t1 * t2 + t3
            t4 *= scale
            t5 *= scale

            # Save scale
            ctx.scale = scale
            ctx.save_for_backward(t1, t2, t3)
            return scale, t4, None, True, t5, "bar", t1

        @staticmethod
        @once_differentiable
        def backward(ctx, *grads):
            # Verify grads
            assert 7 == len(grads)          # differs: self.assertEqual / assertIsNone, here and below
            assert grads[0] is None
            assert grads[2] is None
            assert grads[3] is None
            assert grads[5] is None

            scale = ctx.scale
            var1, var2, var3 = ctx.saved_tensors
            return (
                grads[1] * scale + grads[4] * var2 * scale + grads[6],
                grads[1] * var3 * scale + grads[4] * var1 * scale,
                None,
                grads[1] * var2 * scale + grads[4] * scale,
            )

    t1 = torch.rand(10, dtype=torch.double, requires_grad=True)
    t2 = torch.rand(10, dtype=torch.double, requires_grad=True)
    t3 = torch.rand(10, dtype=torch.double)
    scale = random.randint(0, 10)
    res = MyFunction.apply(t1, t2, scale, t3)
    a1, a2, a3 = arr(t1), arr(t2), arr(t3)  # differs: the expected values in numpy
    assert scale == res[0]
    np.testing.assert_allclose(arr(res[1]), (a1 + a2 * a3) * scale, rtol=1e-6)
    assert None is res[2]
    assert True is res[3]
    np.testing.assert_allclose(arr(res[4]), (a1 * a2 + a3) * scale, rtol=1e-6)
    assert "bar" == res[5]
    np.testing.assert_array_equal(arr(res[6]), a1)

    # Validate running backward.
    torch.autograd.backward([res[1].sum(), res[4].sum(), res[6].sum()])
    assert t1.grad is not None
    assert t2.grad is not None
    assert t3.grad is None
    # differs: added, the gradients against numpy: d/dt1 = scale + t2 scale + 1, d/dt2 = t3 scale + t1 scale
    np.testing.assert_allclose(arr(t1.grad), scale + a2 * scale + 1, rtol=1e-6)
    np.testing.assert_allclose(arr(t2.grad), a3 * scale + a1 * scale, rtol=1e-6)

    # Test gradcheck
    def foo(t1, t2, t3):
        res = MyFunction.apply(t1, t2, scale, t3)
        return res[1], res[4], res[6]

    assert gradcheck(foo, (t1, t2, t3))     # differs: assert on what it returns


def test_custom_function_no_tensors():
    class MyFunction(Function):
        @staticmethod
        def forward(ctx, t1, t2, scale, t3):
            t4 = t1 + t2 * t3
            t5 = t1 * t2 + t3
            t4 *= scale
            t5 *= scale
            return scale, t4, None, True, t5, "bar", t1

        @staticmethod
        @once_differentiable
        def backward(ctx, *args):
            return (args[0], args[1], None, args[2])

    t1 = random.random()
    t2 = random.random()
    t3 = random.random()
    scale = random.randint(0, 10)
    res = MyFunction.apply(t1, t2, scale, t3)
    assert scale == res[0]                  # differs: self.assertEqual, here and below
    assert (t1 + t2 * t3) * scale == res[1]
    assert None is res[2]
    assert True is res[3]
    assert (t1 * t2 + t3) * scale == res[4]
    assert "bar" == res[5]
    assert t1 == res[6]


def test_invalid_gradients():
    class MyFunction(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad_output):
            return torch.randn(10, dtype=torch.float)

    # differs: ValueError naming MyFunction.backward and the shapes (docs/api.md), PyTorch's RuntimeError
    # "expected shape"
    with pytest.raises(ValueError, match=r"MyFunction.backward: .* has shape \(10,\), expected \(5, 5\)"):
        input = torch.randn(5, 5, dtype=torch.float, requires_grad=True)
        MyFunction.apply(input).sum().backward()


@pytest.mark.xfail(strict=True, reason="Function has no generate_vmap_rule attribute nor vmap staticmethod")
def test_custom_function_vmap_defaults():
    class MySquare(Function):
        @staticmethod
        def forward(x):
            return x**2

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, gO):
            (x,) = ctx.saved_tensors
            return gO * 2 * x

    assert not MySquare.generate_vmap_rule  # differs: self.assertFalse / assertTrue
    assert hasattr(MySquare, "vmap")


def test_custom_function_setup_context_simple():
    class MySquare(Function):
        @staticmethod
        def forward(x):
            return x**2

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, gO):
            (x,) = ctx.saved_tensors
            return gO * 2 * x

    x = torch.randn([], requires_grad=True)
    y = MySquare.apply(x)
    (gx,) = torch.autograd.grad(y, x)
    np.testing.assert_allclose(arr(gx), 2 * arr(x), rtol=1e-6)     # differs: assertEqual


def test_custom_function_setup_context_multi_output():
    # Multiple outputs with some non-Tensor outputs.
    class MySquare(Function):
        @staticmethod
        def forward(x):
            two_x = x.item() * 2
            return x**2, two_x

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            _, two_x = output
            ctx.two_x = two_x

        @staticmethod
        @once_differentiable
        def backward(ctx, gO, _):
            return gO * ctx.two_x

    x = torch.randn([], requires_grad=True)
    y, _ = MySquare.apply(x)
    (gx,) = torch.autograd.grad(y, x)
    np.testing.assert_allclose(arr(gx), 2 * arr(x), rtol=1e-6)     # differs: assertEqual


def test_custom_function_setup_context_multi_input():
    class MyReshape(Function):
        @staticmethod
        def forward(x, shape, scale_forward, scale_backward):
            return x.reshape(shape) * scale_forward

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, shape, scale_forward, scale_backward = inputs
            ctx.scale_backward = scale_backward
            ctx.x_shape = x.shape

        @staticmethod
        def backward(ctx, gO):
            return gO.reshape(ctx.x_shape) * ctx.scale_backward, None, None, None

    class MyReshapeRef(Function):
        @staticmethod
        def forward(ctx, x, shape, scale_forward, scale_backward):
            ctx.scale_backward = scale_backward
            ctx.x_shape = x.shape
            return x.reshape(shape) * scale_forward

        @staticmethod
        def backward(ctx, gO):
            return gO.reshape(ctx.x_shape) * ctx.scale_backward, None, None, None

    def test(x, shape, scale_forward, scale_backward):
        y = MyReshape.apply(x, shape, scale_forward, scale_backward).sum()
        (gx,) = torch.autograd.grad(y, x)

        y_expected = MyReshapeRef.apply(
            x, shape, scale_forward, scale_backward
        ).sum()
        (gx_expected,) = torch.autograd.grad(y_expected, x)

        np.testing.assert_allclose(arr(y), arr(y_expected), rtol=1e-6)     # differs: assertEqual
        np.testing.assert_allclose(arr(gx), arr(gx_expected), rtol=1e-6)
        # differs: added, against numpy: y = scale_forward * sum(x), its gradient scale_backward everywhere
        np.testing.assert_allclose(float(y), scale_forward * arr(x).sum(), rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(arr(gx), np.full(x.shape, float(scale_backward)))

    test(torch.randn(24, requires_grad=True), (3, 8), 7, 11)
    test(torch.randn(2, 3, 4, requires_grad=True), (6, 4), -1, 2)


def test_grad_unreachable_discovery():
    # Test that certain nodes are not erroneously executed when an input
    # is unreachable. See #39784
    class MyFunc(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, x):
            pytest.fail("This node should not be executed!")     # differs: self.fail

    x = MyFunc.apply(torch.randn(1, requires_grad=True) * 2)
    y = torch.randn(1, requires_grad=True)
    (gY,) = torch.autograd.grad(x, (y,), allow_unused=True)
    assert gY is None                       # differs: self.assertIsNone / assertIsNotNone, here and below

    x = MyFunc.apply(torch.randn(1, requires_grad=True) * 2)
    y = torch.randn(1, requires_grad=True)
    z = torch.randn(1, requires_grad=True)
    (gY, gZ) = torch.autograd.grad(x + z, (y, z), allow_unused=True)
    assert gY is None
    assert gZ is not None

    x = MyFunc.apply(torch.randn(1, requires_grad=True) * 2)
    y = torch.randn(1, requires_grad=True)
    torch.autograd.backward(x, inputs=(y,))  # allow_unused is implicitly True!
    assert y.grad is None


def test_no_grad_python_function():
    """Python Functions should respect grad mode."""
    x = torch.ones(5, 5, requires_grad=True)

    class MyOp(Function):
        @staticmethod
        def forward(self, x):
            return x + 1

        @staticmethod
        def backward(self, dy):
            return dy

    with torch.no_grad():
        y = MyOp.apply(x)
    assert not y.requires_grad              # differs: self.assertFalse


def test_saved_variables_deprecated():
    class MyFunction(Function):
        @staticmethod
        def forward(ctx, tensor1, tensor2):
            ctx.save_for_backward(tensor1, tensor2)
            return tensor1 + tensor2

        @staticmethod
        def backward(ctx, grad_output):
            var1, var2 = ctx.saved_variables
            return (grad_output, grad_output)

    with warnings.catch_warnings(record=True) as warns:
        warnings.simplefilter("always")
        x = torch.randn((3, 3), requires_grad=True)
        y = torch.randn((3, 3), requires_grad=True)
        MyFunction.apply(x, y).sum().backward()

        has_deprecated = (
            "deprecated" in str(warn) and "saved_variables" in str(warn)
            for warn in warns
        )
        has_deprecated = reduce(lambda x, y: x or y, has_deprecated)
        assert has_deprecated               # differs: self.assertTrue


def test_mark_non_differentiable():
    class MyFunction(Function):
        @staticmethod
        def forward(ctx, input):
            output = input > 0
            ctx.mark_non_differentiable(output)
            return output

        @staticmethod
        def backward(ctx, grad_output):
            return (grad_output * 0).to(torch.double)

    x = torch.randn(5, 5, requires_grad=True)
    mask = MyFunction.apply(x)
    assert not mask.requires_grad           # differs: self.assertFalse
    y = x.masked_fill(mask, 0)
    y.sum().backward()
    np.testing.assert_array_equal(arr(x.grad), (arr(x) <= 0).astype(float))   # differs: added, vs numpy


def test_mark_non_differentiable_mixed():
    class MyFunction(Function):
        @staticmethod
        def forward(ctx, input):
            a = input + 1
            b = input + 2
            ctx.mark_non_differentiable(a)
            return a, b

        @staticmethod
        def backward(ctx, grad_a, grad_b):
            assert (grad_a == 0).all()      # differs: self.assertTrue
            assert (grad_b == 1).all()
            return grad_b

    x = torch.randn(5, 5, requires_grad=True)
    a, b = MyFunction.apply(x)
    assert not a.requires_grad              # differs: self.assertFalse / assertTrue
    assert b.requires_grad
    b.sum().backward()
    np.testing.assert_array_equal(arr(x.grad), np.ones((5, 5)))    # differs: assertEqual


def test_mark_non_differentiable_none():
    # This used to segfault because MyFunction would send back null
    # gradients to MulBackward, which is implemented in C++. C++
    # implemented functions expect incoming grad_outputs to be non-null.
    class MyFunction(Function):
        @staticmethod
        def forward(ctx, input):
            output = input.clone()
            ctx.mark_non_differentiable(output)
            return output

        @staticmethod
        def backward(ctx, grad_output):
            return None

    x = torch.randn(5, 5, requires_grad=True)
    r = MyFunction.apply(x * x)
    (r * x).sum().backward()
    np.testing.assert_allclose(arr(x.grad), arr(x) ** 2, rtol=1e-6)   # differs: added, r is a constant x*x


def test_return_duplicate():
    class DoubleDuplicate(Function):
        @staticmethod
        def forward(ctx, x):
            output = x * 2
            return output, output

        @staticmethod
        def backward(ctx, grad1, grad2):
            return grad1 * 2 + grad2 * 2

    def fn(x):
        a, b = DoubleDuplicate.apply(x)
        assert a is b                       # differs: self.assertIs
        return a + b

    x = torch.randn(5, 5, dtype=torch.double, requires_grad=True)
    assert gradcheck(fn, [x])               # differs: assert on what it returns; gradgradcheck left out
    fn(x).sum().backward()                  # differs: added, d(a + b)/dx = 4 (backward: 2 * 0 + 2 * (2g))
    np.testing.assert_array_equal(arr(x.grad), np.full((5, 5), 4.0))


def test_return_duplicate_inplace():
    class DoubleInplace(Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x, x

        @staticmethod
        def backward(ctx, grad1, grad2):
            return grad1 * 2 + grad2 * 2

    def inplace_fn(x):
        a, b = DoubleInplace.apply(x.clone())
        assert a is b                       # differs: self.assertIs
        return a + b

    x = torch.randn(5, 5, dtype=torch.double, requires_grad=True)
    assert gradcheck(inplace_fn, [x])       # differs: assert on what it returns; gradgradcheck left out
    np.testing.assert_allclose(arr(inplace_fn(x)), 4 * arr(x), rtol=1e-6)    # differs: added, vs numpy

    # differs: the two InplaceFunction.apply checks left out (torch.autograd.function.InplaceFunction is not here)


def test_return_leaf():
    class Identity(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a, a + b

        @staticmethod
        def backward(ctx, grad_a, grad_b):
            return grad_a + grad_b, grad_b

    hook_called = [False]
    x = torch.randn(5, 5, requires_grad=True)
    y = torch.randn(5, 5, requires_grad=True)

    q, p = Identity.apply(x, y)

    # Make sure hooks only receive grad from usage of q, not x.
    def hook(grad):
        hook_called[0] = True
        np.testing.assert_array_equal(arr(grad), np.ones((5, 5)))    # differs: assertEqual

    q.register_hook(hook)
    (q + p + x).sum().backward()
    np.testing.assert_array_equal(arr(x.grad), np.ones((5, 5)) * 3)     # differs: assertEqual, here and below
    np.testing.assert_array_equal(arr(y.grad), np.ones((5, 5)))
    assert hook_called[0]                   # differs: self.assertTrue


def test_return_leaf_inplace():
    class Inplace(Function):                # differs: InplaceFunction (not here): Function
        @staticmethod
        def forward(ctx, a, b):
            ctx.mark_dirty(a)
            return a.add_(b), b + 2

        @staticmethod
        def backward(ctx, grad_a, grad_b):
            return grad_a, grad_a + grad_b

    x = torch.randn(5, 5)
    y = torch.randn(5, 5, requires_grad=True)
    x0 = arr(x)                             # differs: x's values before, for the check below

    q, p = Inplace.apply(x, y)
    assert q is x                           # differs: self.assertIs
    # differs: q.grad_fn.__class__ is Inplace._backward_cls: here q's node is output 0's, named after the class,
    # with the Function's node behind it
    assert q.grad_fn.op == "Inplace[0]" and q.grad_fn.inputs[0].op == "Inplace"
    assert q.requires_grad                  # differs: self.assertTrue
    q.sum().backward()
    np.testing.assert_array_equal(arr(y.grad), np.ones((5, 5)))    # differs: assertEqual
    np.testing.assert_allclose(arr(q), x0 + arr(y), rtol=1e-6)    # differs: added, vs numpy


def test_no_grad_input():
    class MyFunction(Function):
        @staticmethod
        def forward(self, x):
            return x

        @staticmethod
        def backward(self, grad_output):
            return grad_output

    x = torch.randn(5, requires_grad=True)
    with torch.no_grad():
        y = MyFunction.apply(x)

    assert x.requires_grad                  # differs: self.assertTrue / assertIsNone
    assert y.grad_fn is None


def test_save_none_for_backward():
    class MyFn(Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(None, input, None)
            return input * input

        @staticmethod
        def backward(ctx, grad_output):
            n1, input, n2 = ctx.saved_tensors
            assert n1 is None               # differs: test_case.assertIsNone
            assert n2 is None
            return 2 * input * grad_output

    x = torch.randn(5, 5, requires_grad=True)
    y = MyFn.apply(x)
    y.sum().backward()
    np.testing.assert_allclose(arr(x.grad), 2 * arr(x), rtol=1e-6)     # differs: assertEqual


def test_too_many_grads():
    class MyFn(Function):
        @staticmethod
        def forward(ctx, input):
            return input

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output, None, None

    x = torch.randn(5, 5, requires_grad=True)
    y = MyFn.apply(x)
    y.sum().backward()
    np.testing.assert_array_equal(arr(x.grad), np.ones((5, 5)))    # differs: assertEqual


def test_dep_nograd():
    class F1(Function):
        @staticmethod
        def forward(ctx, input):
            out = torch.randn(input.size())
            ctx.mark_non_differentiable(out)
            return input, out

        @staticmethod
        def backward(ctx, grad_output, ignored):
            return grad_output

    class F2(Function):
        @staticmethod
        def forward(ctx, input, ignored):
            return input

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output, None

    x = torch.randn(5, requires_grad=True)
    a, b = F1.apply(x)
    b = b + 1  # separate F1 from F2 by another op
    assert a.requires_grad                  # differs: self.assertTrue / assertFalse
    assert not b.requires_grad
    c = F2.apply(a, b)
    c.backward(torch.ones(c.size()))
    np.testing.assert_array_equal(arr(x.grad), np.ones(5))     # differs: assertEqual


def test_simple_reentrant():
    y_data = torch.randn(2, 2)

    class Reenter(Function):
        @staticmethod
        def forward(ctx, x):
            with torch.enable_grad():
                ctx.x = Variable(x, requires_grad=True)
                ctx.y = Variable(y_data, requires_grad=True)
                ctx.output_var = ctx.x * ctx.y
            return ctx.output_var.detach()

        @staticmethod
        def backward(ctx, grad_output):
            with torch.enable_grad():
                ctx.output_var.sum().backward()
            return ctx.x.grad * grad_output

    # Reentrant starts on CPU thread, finishes on GPU thread
    x = torch.randn(2, 2, requires_grad=True)
    out = Reenter.apply(x)
    out.sum().backward()
    np.testing.assert_allclose(arr(x.grad), arr(y_data), rtol=1e-6)    # differs: assertEqual


def test_naughty_autograd_function_stashing_ctx():
    saved_ctx = []

    class Id(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, grad_x):
            saved_ctx.append(ctx)
            return ctx.saved_tensors

    p = torch.zeros(1, requires_grad=True)
    loss = Id.apply(p)
    loss.backward(retain_graph=True)
    del loss
    # At this point in time, it complains that the graph has been freed
    # (which indeed true, although a somewhat indirect way of stating the
    # problem).
    with pytest.raises(RuntimeError):       # differs: self.assertRaises(RuntimeError, lambda: ...)
        saved_ctx[0].saved_tensors


def test_custom_autograd_no_early_free():
    # This test failed complaining that buffers had already been freed
    # prior to #22983.  Also pretty interesting test case.
    class Double(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x**2
            ctx.save_for_backward(x, y)
            return y

        @staticmethod
        def backward(ctx, grad_output):
            x, _ = ctx.saved_tensors
            return grad_output * 2 * x

    # this is equivalent, but uses the output of .forward() in .backward()
    class Double2(Double):
        @staticmethod
        def backward(ctx, grad_output):
            x, y = ctx.saved_tensors
            return grad_output * 2 * y / x

    double = Double.apply
    double2 = Double2.apply

    x = torch.tensor(2).double().requires_grad_()

    assert gradcheck(double, x)             # differs: self.assertTrue; the gradgradcheck lines left out
    assert gradcheck(double2, x)

    y = double(x)
    # differs: torch.autograd.grad(y, x, create_graph=True) left out (double backward)
    (g,) = torch.autograd.grad(y, x)
    assert float(g) == 4.0                  # differs: added, 2 x at x = 2

    y = double2(x)
    (g,) = torch.autograd.grad(y, x)  # should not error!
    assert float(g) == 4.0                  # differs: added, 2 y / x at x = 2


def test_custom_function_saved_tensors():
    def getFn(save=True):
        class MyFn(Function):
            @staticmethod
            def forward(ctx, x):
                if save:
                    ctx.save_for_backward(x, None)
                return x

            @staticmethod
            def backward(ctx, g):
                return g

        return MyFn

    a = torch.randn(5, requires_grad=True)

    y = getFn(True).apply(a)

    saved = y.grad_fn.saved_tensors         # differs: assertEqual((a, None), y.grad_fn.saved_tensors)
    assert len(saved) == 2 and saved[0] is a and saved[1] is None
    # differs: the y.grad_fn._raw_saved_tensors part (SavedTensor objects, register_hooks) left out: not here
    y.sum().backward()

    # Using a reference to the SavedTensor object after the
    # saved variables have been released can lead to undefined behavior
    with pytest.raises(RuntimeError, match="freed"):    # differs: assertRaisesRegex; the message is the library's
        y.grad_fn.saved_tensors

    y = getFn(False).apply(a)
    assert y.grad_fn.saved_tensors == ()    # differs: assertEqual; the _raw_saved_tensors line left out


def test_grad_fn_of_a_function_reads_its_ctx_and_stays_the_library_s_node():
    """differs: not in PyTorch's suite: grad_fn is the ctx there (BackwardCFunction); here the node reads the ctx
    (`needs_input_grad`, what forward set on ctx) and keeps `.op`, `.kind` and `.inputs`, which drawings read."""
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, k, w):
            ctx.k = k
            ctx.save_for_backward(w)
            return x * k * w, x + w

        @staticmethod
        def backward(ctx, g1, g2):
            (w,) = ctx.saved_tensors
            return g1 * ctx.k * w + g2, None, g2

    x = torch.randn(3, requires_grad=True)
    w = torch.randn(3)
    out1, out2 = Scale.apply(x, 2.5, w)
    for out in (out1, out2):
        fn = out.grad_fn
        assert fn.needs_input_grad == (True, False, False) and fn.k == 2.5 and fn.saved_tensors[0] is w
    assert out1.grad_fn.op == "Scale[0]" and out1.grad_fn.inputs[0].op == "Scale"
    assert out1.grad_fn.inputs[0].saved_tensors[0] is w
    with pytest.raises(AttributeError):
        out1.grad_fn.not_set_on_ctx
    assert not hasattr(out1.grad_fn, "next_functions")
    (out1.sum() + out2.sum()).backward()
    np.testing.assert_allclose(arr(x.grad), 2.5 * arr(w) + 1, rtol=1e-6)
    with pytest.raises(RuntimeError, match="freed"):
        out1.grad_fn.needs_input_grad


def test_checkpointing_without_reentrant_saved_object_identity():
    x_backward = None

    class Test(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(y)
            return x

        @staticmethod
        def backward(ctx, x):
            nonlocal x_backward
            (x_backward,) = ctx.saved_tensors
            return x, None

    a = torch.tensor(1.0, requires_grad=True)
    b = torch.tensor(1.0, requires_grad=False)

    Test.apply(a, b).backward()
    assert b is x_backward                  # differs: self.assertIs, here and below

    # differs: the checkpoint half is the strict xfail below


@pytest.mark.xfail(strict=True, reason="checkpoint's re-run calls the function on stand-ins of its tensor arguments "
                   "(utils/checkpoint.py), so ctx.saved_tensors in the re-run is not the argument itself; PyTorch's "
                   "non-reentrant checkpoint gives back the very tensor saved")
def test_checkpointing_without_reentrant_saved_object_identity_through_checkpoint():
    x_backward = None

    class Test(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(y)
            return x

        @staticmethod
        def backward(ctx, x):
            nonlocal x_backward
            (x_backward,) = ctx.saved_tensors
            return x, None

    a = torch.tensor(1.0, requires_grad=True)
    b = torch.tensor(1.0, requires_grad=False)

    x_backward = None
    checkpoint(Test.apply, a, b, use_reentrant=False).backward()
    assert b is x_backward                  # differs: self.assertIs


def test_autograd_python_custom_function_inplace():
    bw_called = [0]

    # I) Single output
    class MyAdder(Function):
        @staticmethod
        def forward(ctx, a, b):
            a.add_(b)
            ctx.mark_dirty(a)
            return a

        @staticmethod
        def backward(ctx, grad):
            bw_called[0] += 1
            return grad, grad

    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)

    # No extra inplace
    c = MyAdder.apply(a.clone(), b)
    c.sum().backward()
    assert bw_called[0] == 1                # differs: self.assertTrue, here and below

    # With extra inplace on the output
    bw_called[0] = 0
    c = MyAdder.apply(a.clone(), b)
    c += 2
    c.sum().backward()
    assert bw_called[0] == 1

    # differs: added, two passes of ones into each
    np.testing.assert_array_equal(arr(a.grad), np.full(2, 2.0))
    np.testing.assert_array_equal(arr(b.grad), np.full(2, 2.0))
    # differs: "The input is a view" is the strict xfail below; MyAdderBad (a warning in PyTorch, here a
    # ValueError) and the several-output cases II and III (their errors name PyTorch's view tracking) left out


@pytest.mark.xfail(strict=True, reason="ctx.mark_dirty of a view raises NotImplementedError while recording "
                   "(function.py; tests/test_review_round_34b.py has the same xfail); PyTorch rebases the view")
def test_autograd_python_custom_function_inplace_on_a_view():
    bw_called = [0]

    class MyAdder(Function):
        @staticmethod
        def forward(ctx, a, b):
            a.add_(b)
            ctx.mark_dirty(a)
            return a

        @staticmethod
        def backward(ctx, grad):
            bw_called[0] += 1
            return grad, grad

    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)

    # The input is a view
    bw_called[0] = 0
    c = MyAdder.apply(a.clone().view_as(a), b)
    c.sum().backward()
    assert bw_called[0] == 1                # differs: self.assertTrue


@pytest.mark.xfail(strict=True, reason="mark_dirty of a tensor that is not an input raises ValueError here, "
                   "RuntimeError ('received a tensor that was not an input') in PyTorch")
def test_custom_function_mark_output_view_of_intermediate():
    class Func(torch.autograd.Function):
        @staticmethod
        def forward(ctx, inp):
            out = inp.clone().view_as(inp)
            ctx.mark_dirty(out)
            return out

        @staticmethod
        def backward(ctx, gO):
            pass

    a = torch.tensor([1.0], requires_grad=True)
    a_clone = a.clone()

    with pytest.raises(RuntimeError, match="not an input"):     # differs: assertRaisesRegex; "not an input"
        Func.apply(a_clone)


def test_custom_function_mark_dirty_not_differentiable():
    def get_custom_fn(jvp_err):
        class InplaceMul(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                result = x.mul_(2)
                ctx.mark_dirty(result)
                return result

            @staticmethod
            def backward(ctx, grad_output):
                pass

            @staticmethod
            def jvp(ctx, x_t):
                if jvp_err:
                    return x_t
                else:
                    return x_t.mul_(2)

        return InplaceMul

    for requires_grad, jvp_err in product([True, False], repeat=2):
        InplaceMul = get_custom_fn(jvp_err)
        # Make sure that tensor is always returned as-is if marked dirty
        z = torch.tensor(1.0, requires_grad=requires_grad)
        x = z.clone()
        y = InplaceMul.apply(x)
        assert x is y                       # differs: self.assertTrue
        assert float(x) == 2.0              # differs: assertEqual(x, z * 2)
        # differs: the forward-mode half (fwAD.make_dual of x, the jvp's tangent written in place and returned as
        # the input's own tangent object) left out: here a tangent is an array the run keeps, jvp returns a value


def test_gradcheck_nondeterministic():
    class NonDetFunc(Function):
        @staticmethod
        def forward(ctx, x, jitter=0.0):
            ctx._jitter = jitter
            return x

        @staticmethod
        def backward(ctx, grad_out):
            return (
                NonDetFunc.apply(grad_out, ctx._jitter)
                * (1 + torch.rand_like(grad_out) * ctx._jitter),
                None,
            )

    def check(fast_mode):
        inp = torch.randn(5, 5, dtype=torch.double, requires_grad=True)
        gradcheck(
            lambda x: NonDetFunc.apply(x, 0.0),
            inp,
            check_batched_grad=False,
            fast_mode=fast_mode,
        )
        # differs: assertRaisesRegex; the library's message says "backward is not reentrant"
        with pytest.raises(RuntimeError, match="(?i)Backward is not reentrant"):
            gradcheck(
                lambda x: NonDetFunc.apply(x, 1e-6),
                inp,
                check_batched_grad=False,
                fast_mode=fast_mode,
            )
        # differs: the gradgradcheck case left out
        gradcheck(
            lambda x: NonDetFunc.apply(x, 0.0),
            inp,
            nondet_tol=1e-5,
            check_batched_grad=False,
            fast_mode=fast_mode,
        )
        gradcheck(
            lambda x: NonDetFunc.apply(x, 1e-6),
            inp,
            nondet_tol=1e-5,
            check_batched_grad=False,
            fast_mode=fast_mode,
        )

    check(fast_mode=True)
    check(fast_mode=False)
