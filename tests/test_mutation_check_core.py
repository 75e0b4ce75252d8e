"""Tests written from a mutation check of the autodiff core and its neighbours (autograd.py, gradients.py,
function.py, grad_mode.py, Tensor.backward / autograd.grad in tensor.py and transforms.py, the forward
values of einsum, matmul/linear and linalg's norms): each pins a behaviour that a hand-made wrong
implementation changed without any other test noticing. Expected values come from closed forms,
hand-written numpy, or PyTorch's documented behaviour, never from the library's own output."""

import threading

import numpy as np
import pytest

import microgradseq as mg


def leaf(values, dtype=np.float64):
    return mg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ---- recording: cuts, detach_, requires_grad ----------------------------------------------------

def test_an_op_on_a_truncated_state_records_nothing():
    """A cut (bptt.truncate) has no history and requires no grad, so an op on it alone records no
    node, as an op on a detached tensor in PyTorch: its result does not require grad."""
    h = leaf([1.0, 2.0]) * 3
    cut = mg.bptt.truncate(h)
    y = cut * 2
    assert not cut.requires_grad
    assert cut.is_leaf and cut.grad_fn is None              # (PyTorch: a tensor without history is a leaf)
    assert not y.requires_grad and y.grad_fn is None


def test_backward_from_a_truncated_state_raises():
    """A cut requires no grad: backward from it is PyTorch's "element 0 of tensors does not require grad"."""
    cut = mg.bptt.truncate(leaf([1.0, 2.0]) * 3)
    with pytest.raises(RuntimeError, match="does not require grad"):
        cut.backward(np.ones(2))


def test_turning_requires_grad_on_again_keeps_a_leafs_grad():
    """Setting requires_grad=True on a leaf that already requires grad changes nothing (PyTorch keeps
    the leaf and its .grad): the gradient already accumulated is still there."""
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    x.requires_grad_(True)
    x.requires_grad = True
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_requires_grad_true_on_a_result_is_allowed_and_false_is_refused():
    """PyTorch: y.requires_grad_(True) on a non-leaf is a no-op; turning it off raises "you can only
    change requires_grad flags of leaf variables"."""
    y = leaf([1.0, 2.0]) * 2
    y.requires_grad_(True)
    assert y.requires_grad and not y.is_leaf
    with pytest.raises(RuntimeError, match="only be changed on a leaf"):
        y.requires_grad = False
    assert y.requires_grad


# ---- .grad assignment ----------------------------------------------------------------------------

def test_setting_grad_to_none_on_a_tensor_without_grad_is_allowed():
    """`t.grad = None` (what optimizer.zero_grad does) is fine on any tensor in PyTorch."""
    t = mg.tensor(np.array([1.0, 2.0]))
    t.grad = None
    assert t.grad is None


# ---- Tensor.backward's arguments -----------------------------------------------------------------

def test_backward_refuses_a_grad_of_another_shape_even_if_it_broadcasts():
    """PyTorch: "Mismatch in shape: grad_output[0] has a shape of [1] and output[0] has a shape of [3]";
    a grad that would broadcast is refused too, not stretched."""
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    for bad in (np.ones(1), np.ones(()), np.ones((1, 3))):
        with pytest.raises(ValueError, match="backward: grad of shape"):
            y.backward(bad, retain_graph=True)
    assert x.grad is None


def test_backward_without_grad_on_a_one_element_tensor_of_any_shape_seeds_one():
    """PyTorch creates the implicit grad for any output of one element (numel 1), not only a 0-d one;
    autograd.grad does the same."""
    x = leaf([1.0, 2.0])
    (x * 3).sum().reshape(1, 1).backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    (gx,) = mg.autograd.grad((x * x).sum().reshape(1), x)
    np.testing.assert_allclose(gx.data, [2.0, 4.0])          # d/dx sum x^2 = 2x


# ---- how a pass adds gradients: a leaf's .grad is an array of its own ----------------------------

def check_grads_are_arrays_of_their_own():
    """y = x + 1 and z = x + x: add's rule passes g on unchanged, so a leaf's gradient must be copied,
    not adopted, or x.grad would be the same array as y.grad (and adding the second share of x + x
    in place would change z.grad). Expected: dz/dx = 2, dy/dx = 1, z.grad = y.grad = the seed."""
    x = leaf([1.0, 2.0, 3.0])
    y = x + 1
    y.backward(np.ones(3))
    assert not np.shares_memory(x.grad, y.grad)
    x.grad[...] = 0.0                                          # (PyTorch's x.grad.zero_(), in place)
    np.testing.assert_array_equal(y.grad, [1.0, 1.0, 1.0])
    x.grad = None
    z = x + x
    z.backward(np.ones(3))
    np.testing.assert_array_equal(z.grad, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_a_leafs_grad_is_an_array_of_its_own():
    check_grads_are_arrays_of_their_own()


def test_a_leafs_grad_is_an_array_of_its_own_under_the_cores_plain_gradient_adder(monkeypatch):
    """The same with the core's plain `Gradients` installed instead of the engine's fast pass (run in a
    thread of its own, as test_core_review does, so that no fast pass has run there)."""
    from microgradseq import autograd

    monkeypatch.setattr(autograd.hooks, "gradients", autograd.Gradients)
    errors = []

    def run():
        try:
            check_grads_are_arrays_of_their_own()
        except BaseException as error:          # (reported below, in the test's thread)
            errors.append(error)
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert not errors, errors


def test_a_computation_shared_by_several_rules_is_done_again_in_each_pass():
    """gradients.OncePerPass runs its backward once a pass however many rules ask, keyed on g and the
    pass: a second pass handing the very same g array must compute again (its docstring), not reuse
    the first pass's answer."""
    from microgradseq import gradients

    calls = []
    once = gradients.OncePerPass(lambda g: calls.append(g) or (g * 2,))
    g = np.ones(2)
    with gradients.GradientPass([]):
        once(g)
        once(g)
    assert len(calls) == 1
    with gradients.GradientPass([]):
        once(g)
    assert len(calls) == 2


def test_a_results_grad_has_its_own_dtype_when_a_wider_gradient_reaches_it():
    """u = 2 x in float32, y = u * c with c float64 (y is float64, as PyTorch promotes): the gradient
    reaching u is float64, but u.grad is float32, as a PyTorch gradient always has its tensor's dtype.
    Expected: dL/du = c, dL/dx = 2c for L = sum(y)."""
    x = leaf([1.0, 2.0], dtype=np.float32)
    u = x * 2
    c = mg.tensor(np.array([0.5, 3.0]), dtype=np.float64)
    y = u * c
    assert y.dtype == np.float64
    y.sum().backward()
    assert u.grad.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_array_equal(u.grad, np.float32([0.5, 3.0]))
    np.testing.assert_array_equal(x.grad, np.float32([1.0, 6.0]))


# ---- einsum's forward values (numpy's einsum on explicit subscripts is the reference) ---------------

def test_einsum_without_an_arrow_outputs_the_letters_used_once_in_alphabetical_order():
    """torch.einsum's implicit mode: the output is the letters used once, sorted, so "ba" is the
    transpose and "jk,ij" is (a @ b)^T's transpose, i.e. b @ a with axes i, k."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((2, 3))
    np.testing.assert_allclose(mg.einsum("ba", mg.tensor(a)).data, a.T)
    np.testing.assert_allclose(mg.einsum("jk,ij", mg.tensor(a), mg.tensor(b)).data, b @ a)
    np.testing.assert_allclose(mg.einsum("ij,jk", mg.tensor(b), mg.tensor(a)).data, b @ a)


def test_einsum_without_an_arrow_puts_the_ellipsis_axes_first():
    """Implicit mode with '...': the broadcast axes come first, then the sorted letters (torch.einsum)."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 5, 3))
    np.testing.assert_allclose(mg.einsum("...ji", mg.tensor(a)).data, np.swapaxes(a, -1, -2))
    np.testing.assert_allclose(mg.einsum("i...", mg.tensor(a)).data, np.moveaxis(a, 0, -1))


def test_einsum_ellipses_of_different_widths_broadcast_from_the_right():
    """'...' stands for the leading axes, right-aligned across operands as broadcasting aligns them
    (torch.einsum): (2, 3, 4) and (3, 4) give an elementwise product of shape (2, 3, 4)."""
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(mg.einsum("...i,...i->...i", mg.tensor(a), mg.tensor(b)).data, a * b)
    np.testing.assert_allclose(mg.einsum("...i,...i->...", mg.tensor(a), mg.tensor(b)).data, (a * b).sum(-1))
    np.testing.assert_allclose(mg.einsum("...ij,...jk->...ik", mg.tensor(a), mg.tensor(b.T)).data, a @ b.T)


def test_einsum_ellipsis_may_stand_for_no_axes():
    """'...' may cover zero axes: "...ij,...jk->...ik" of two matrices is their product."""
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(mg.einsum("...ij,...jk->...ik", mg.tensor(a), mg.tensor(b)).data, a @ b)


def test_einsum_takes_its_operands_as_one_list_or_one_tuple_and_ignores_spaces():
    """torch.einsum(eq, [a, b]) and torch.einsum(eq, (a, b)) are torch.einsum(eq, a, b); spaces in the
    equation are ignored."""
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    for operands in ([mg.tensor(a), mg.tensor(b)], (mg.tensor(a), mg.tensor(b))):
        np.testing.assert_allclose(mg.einsum("ij,jk->ik", operands).data, a @ b)
    np.testing.assert_allclose(mg.einsum(" i j , j k -> i k ", mg.tensor(a), mg.tensor(b)).data, a @ b)


def test_einsum_of_bool_tensors_sums_in_int64_and_refuses_a_contraction_as_pytorch():
    """aten/src/ATen/native/Linear.cpp einsum: one operand's summed axes go through `sum` (bool sums in
    int64), no summed axis only through `mul`, `diagonal` and `permute` (bool stays bool), and an axis
    summed across two operands through `sumproduct_pair`'s `bmm`, which has no bool kernel."""
    a = np.array([[True, False, True], [False, True, True]])
    m, v = mg.tensor(a), mg.tensor(a[0])
    for equation, operands, expected in (("ij->", (m,), a.sum()), ("ij->j", (m,), a.sum(0)),
                                         ("ii", (m[:, :2],), 2), ("i,j->i", (v, v), a[0] * a[0].sum())):
        y = mg.einsum(equation, *operands)
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y.data, expected)
    for equation, operands, expected in (("ij->ji", (m,), a.T), ("i,j->ij", (v, v), np.outer(a[0], a[0])),
                                         ("ij,j->ij", (m, v), a & a[0])):
        y = mg.einsum(equation, *operands)
        assert y.dtype == np.bool_
        np.testing.assert_array_equal(y.data, expected)
    for equation, operands in (("ij,jk->ik", (m, m.t())), ("i,i", (v, v)), ("ij,j->i", (m, v))):
        with pytest.raises(TypeError, match=r"^einsum: bool tensors have no matrix product"):
            mg.einsum(equation, *operands)
    np.testing.assert_array_equal(mg.einsum("ij,jk->ik", m.long(), m.t().long()).data,
                                  a.astype(np.int64) @ a.T.astype(np.int64))


def test_a_linear_weights_gradient_accumulates_across_passes_and_with_other_uses():
    """linear's weight gradient is summed at the end of the pass; into a .grad that is already there
    (an earlier pass, or another use of the weight in the same pass) it is added, as PyTorch
    accumulates. Expected: for L = sum(x W^T + b), dL/dW = 1^T x (each row the column sums of x),
    dL/db = the number of rows; a second pass doubles both; L2 = L + sum(W) adds 1 to each entry."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 3))
    W, b = leaf(rng.standard_normal((2, 3))), leaf(np.zeros(2))
    once_W, once_b = np.tile(x.sum(axis=0), (2, 1)), np.full(2, 4.0)
    loss = mg.nn.functional.linear(mg.tensor(x), W, b).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(W.grad, once_W)
    loss.backward()
    np.testing.assert_allclose(W.grad, 2 * once_W)
    np.testing.assert_allclose(b.grad, 2 * once_b)
    W.grad, b.grad = None, None
    (W.sum() + mg.nn.functional.linear(mg.tensor(x), W, b).sum()).backward()
    np.testing.assert_allclose(W.grad, once_W + 1)


def test_einsum_refuses_a_repeated_output_letter_a_wrong_operand_count_and_two_ellipses():
    """The equation's own errors are named as such (torch.einsum refuses them too): an output letter
    twice, a number of subscripts that is not the number of operands, two '...' in one subscript."""
    a = mg.tensor(np.ones((2, 2)))
    with pytest.raises(ValueError, match="appears more than once"):
        mg.einsum("ij->ii", a)
    with pytest.raises(ValueError, match=r"names 2 operand\(s\), got 1"):
        mg.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="at most one '...'"):
        mg.einsum("...i...->i", a)


def test_einsum_keeps_a_float32_operands_dtype_next_to_a_python_number_whatever_the_default():
    """A Python number among the operands takes the tensors' dtype, as a Python scalar next to a
    tensor does in PyTorch's type promotion: float32 stays float32 even with float64 the default."""
    previous = mg.get_default_dtype()
    mg.set_default_dtype(np.float64)
    try:
        y = mg.einsum("i,->i", mg.tensor(np.float32([1.0, 2.0])), 2.0)
    finally:
        mg.set_default_dtype(previous)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, np.float32([2.0, 4.0]))


# ---- autograd.Function: how many gradients backward may return -----------------------------------

def scaled_by(x, k, returned):
    """y = k x with k a Python number (not a tensor), by a Function whose backward returns
    returned(dL/dy): dy/dx = k."""
    class Scaled(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            return x * k

        @staticmethod
        def backward(ctx, grad_output):
            return returned(grad_output * ctx.k)
    return Scaled.apply(x, k)


def test_backward_must_return_a_gradient_or_none_for_every_argument_including_non_tensors():
    """PyTorch: "function backward returned an incorrect number of gradients (expected 2, got 1)"
    when forward took (x, k) and backward returns one gradient, k being a Python number."""
    x = leaf([1.0, 2.0])
    y = scaled_by(x, 3.0, lambda g: g)
    with pytest.raises(ValueError, match="expected 2 gradients .* got 1"):
        y.sum().backward()


def test_backward_may_return_extra_trailing_nones():
    """PyTorch accepts more gradients than forward had arguments when the extra ones are all None;
    an extra one that is not None is an error. Expected: d(3x)/dx = 3."""
    x = leaf([1.0, 2.0])
    scaled_by(x, 3.0, lambda g: (g, None, None)).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    with pytest.raises(ValueError, match="expected 2 gradients"):
        scaled_by(x, 3.0, lambda g: (g, None, g)).sum().backward()


# ---- linalg's norms (numpy's np.linalg.norm and closed forms are the reference) ----------------------

def test_linalg_norm_with_ord_none_keeps_the_reduced_axis_when_asked():
    """torch.linalg.norm(A, dim=1, keepdim=True): the 2-norm of each row, shape (3, 1)."""
    A = np.arange(6.0).reshape(3, 2)
    got = mg.linalg.norm(mg.tensor(A), dim=1, keepdim=True)
    assert got.shape == (3, 1)
    np.testing.assert_allclose(got.data, np.linalg.norm(A, axis=1, keepdims=True))


def test_linalg_norm_with_an_ord_and_no_dim_refuses_an_input_that_is_not_1d_or_2d():
    """PyTorch: with ord given and dim None, linalg.norm's input must be 1-D or 2-D (a 0-d one too is
    refused); vector_norm is the norm of every entry."""
    for shape in ((), (2, 2, 2)):
        with pytest.raises(ValueError, match="must be 1-d or 2-d"):
            mg.linalg.norm(mg.tensor(np.ones(shape)), ord=1)
    np.testing.assert_allclose(mg.linalg.vector_norm(mg.tensor(np.ones((2, 2, 2))), ord=1).data, 8.0)


def test_vector_norm_and_norm_keep_the_reduced_axes_when_asked():
    """torch.linalg.vector_norm(x, dim=..., keepdim=True) and the Frobenius norm over a pair of axes
    keep those axes with size 1."""
    A = np.arange(24.0).reshape(2, 3, 4)
    got = mg.linalg.vector_norm(mg.tensor(A), ord=1, dim=2, keepdim=True)
    assert got.shape == (2, 3, 1)
    np.testing.assert_allclose(got.data, np.abs(A).sum(axis=2, keepdims=True))
    got = mg.linalg.norm(mg.tensor(A), dim=(1, 2), keepdim=True)
    assert got.shape == (2, 1, 1)
    np.testing.assert_allclose(got.data, np.sqrt((A * A).sum(axis=(1, 2), keepdims=True)))


def test_norms_compute_in_the_dtype_asked_for():
    """torch.linalg.norm / vector_norm(..., dtype=d): the input is cast to d first, and the result has
    dtype d."""
    x = mg.tensor(np.float32([3.0, 4.0]))
    for norm in (mg.linalg.vector_norm, mg.linalg.norm):
        got = norm(x, dtype=np.float64)
        assert got.dtype == np.float64
        assert got.item() == 5.0


# ---- autograd.Function: what backward runs under, what the walk keeps -----------------------------

def test_a_functions_backward_runs_with_recording_off():
    """PyTorch runs backward in grad mode create_graph, i.e. off by default: is_grad_enabled() is
    False inside it, and what it computes from saved tensors has no history."""
    seen = {}

    class Square(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            seen["recording"] = mg.is_grad_enabled()
            grad = grad_output * 2 * x
            seen["grad requires grad"] = grad.requires_grad
            return grad

    x = leaf([1.0, 3.0])
    Square.apply(x).sum().backward()
    assert seen == {"recording": False, "grad requires grad": False}
    np.testing.assert_array_equal(x.grad, [2.0, 6.0])          # d/dx x^2 = 2x


def test_a_kept_graph_holds_no_gradient_backward_returned_for_a_constant_input():
    """backward's gradient for an input that needs none (a constant tensor) is dropped at once: once the
    pass is over nothing keeps it alive, even though the graph is kept (retain_graph)."""
    import gc
    import weakref

    returned = []

    class Product(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x, c):
            ctx.save_for_backward(x, c)
            return x * c

        @staticmethod
        def backward(ctx, grad_output):
            x, c = ctx.saved_tensors
            grad_c = np.asarray(grad_output.data * x.data)
            returned.append(weakref.ref(grad_c))
            return grad_output * c, grad_c

    x, c = leaf([1.0, 2.0]), mg.tensor(np.array([3.0, 4.0]))
    y = Product.apply(x, c)
    y.sum().backward(retain_graph=True)
    gc.collect()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
    assert returned[0]() is None


def test_each_call_of_mark_non_differentiable_adds_to_the_marked_outputs():
    """ctx.mark_non_differentiable called once per output marks both (PyTorch keeps every call's)."""
    class Split(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            a, b, c = x * 1, x * 2, x * 3
            ctx.mark_non_differentiable(a)
            ctx.mark_non_differentiable(b)
            return a, b, c

        @staticmethod
        def backward(ctx, ga, gb, gc):
            return gc * 3

    x = leaf([1.0, 2.0])
    a, b, c = Split.apply(x)
    assert not a.requires_grad and not b.requires_grad and c.requires_grad
    c.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_mark_dirty_of_a_tensor_that_is_not_an_argument_is_refused():
    """ctx.mark_dirty names arguments that forward changed in place and returns (its docstring): a
    tensor forward made itself is refused."""
    class Fresh(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x * 2
            ctx.mark_dirty(out)
            return out

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with pytest.raises(ValueError, match="must be an argument of forward"):
        Fresh.apply(leaf([1.0, 2.0]))


# ---- matmul's errors ----------------------------------------------------------------------------

def test_matmul_of_a_0d_operand_says_both_need_an_axis():
    """PyTorch: "both arguments to matmul need to be at least 1D"."""
    with pytest.raises(ValueError, match="need at least one axis"):
        mg.tensor(np.ones(3)) @ mg.tensor(np.array(2.0))
    with pytest.raises(ValueError, match="need at least one axis"):
        mg.tensor(np.array(2.0)) @ mg.tensor(np.ones(3))


def test_turning_requires_grad_off_drops_the_gradient_and_the_optimizer_leaves_the_tensor_alone():
    """docs/api.md and docs/pytorch.md: freezing takes the .grad away (PyTorch keeps it until
    zero_grad(), and its optimizer would still step with it); turning it on again starts afresh."""
    x = leaf([1.0, 2.0])
    (x * 2).sum().backward()
    optimizer = mg.optim.SGD([x], lr=0.5)
    x.requires_grad_(False)
    assert not x.requires_grad and x.grad is None
    optimizer.step()
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0])
    x.requires_grad_(True)
    assert x.grad is None


def test_linear_of_a_0d_input_names_the_shapes_that_do_not_line_up():
    """F.linear needs an input with a last axis of in_features; a 0-d input is refused by name, not
    with an IndexError (PyTorch refuses it too)."""
    W = leaf(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"linear: input of shape \(\) and weight of shape \(2, 3\) do not line up"):
        mg.nn.functional.linear(mg.tensor(np.array(2.0)), W)
