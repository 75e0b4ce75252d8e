"""Tests written from a mutation check of the late additions (mg.autograd.backward in transforms.py,
Tensor.size() as an mg.Size and the typed constructors, F.pad's one-element integer tensors,
cholesky_inverse, the lazy convolutions): each pins a behaviour that a hand-made wrong implementation
changed without any other test noticing. Expected values come from closed forms and PyTorch's documented
torch.autograd.backward, torch.FloatTensor, F.pad and torch.cholesky_inverse, never from the library."""

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F


def leaf(values):
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# --- mg.autograd.backward (PyTorch's torch.autograd.backward) ---------------------------------------------

def test_backward_grad_variables_is_used_as_grad_tensors():
    # torch.autograd.backward's deprecated grad_variables is grad_tensors: d<g, 3x>/dx = 3 g
    x = leaf([1.0, 2.0])
    with pytest.warns(FutureWarning):
        mg.autograd.backward([x * 3], grad_variables=[mg.tensor([1.0, -2.0])])
    np.testing.assert_array_equal(x.grad, [3.0, -6.0])


def test_backward_grad_variables_warns_a_future_warning():
    # PyTorch warns "'grad_variables' is deprecated. Use 'grad_tensors' instead." as a FutureWarning
    x = leaf([1.0, 2.0])
    with pytest.warns(FutureWarning) as record:
        mg.autograd.backward([(x * 2).sum()], grad_variables=[mg.tensor(1.0)])
    assert all(w.category is FutureWarning for w in record)


def test_backward_refuses_grad_tensors_and_grad_variables_together():
    # PyTorch: "'grad_tensors' and 'grad_variables' (deprecated) arguments both passed ... " RuntimeError
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError):
        mg.autograd.backward([x.sum()], grad_tensors=[mg.tensor(1.0)], grad_variables=[mg.tensor(1.0)])


def test_backward_refuses_fewer_gradients_than_tensors():
    # PyTorch: grad_tensors must have one entry per tensor ("got 2 tensors and 1 gradients")
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError):
        mg.autograd.backward([(x * 2).sum(), (x * 3).sum()], grad_tensors=[mg.tensor(1.0)])


def test_backward_takes_one_ndarray_as_the_gradient_of_one_matrix():
    # one grad given as an array (not a list of them) is the gradient of the one tensor: d<G, 2X>/dX = 2G
    x = leaf(np.arange(4.0).reshape(2, 2))
    g = np.array([[1.0, 2.0], [3.0, 4.0]])
    mg.autograd.backward(x * 2, g)
    np.testing.assert_array_equal(x.grad, 2 * g)


def test_backward_one_tensor_honours_inputs():
    # inputs= fills only those tensors' .grad (PyTorch's backward(inputs=...)), also for one tensor
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    mg.autograd.backward((a * b).sum(), inputs=[a])
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])
    assert b.grad is None


def test_backward_several_tensors_honour_inputs():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    mg.autograd.backward([(a * b).sum(), (b * 2).sum()], inputs=[b])
    np.testing.assert_array_equal(b.grad, [1.0 + 2.0, 2.0 + 2.0])    # a + 2
    assert a.grad is None


def test_backward_one_tensor_frees_the_graph_by_default():
    # retain_graph defaults to create_graph (False): a second pass through the freed graph is an error
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    mg.autograd.backward(y)
    with pytest.raises(RuntimeError):
        mg.autograd.backward(y)


def test_backward_several_tensors_free_the_graph_by_default():
    x = leaf([1.0, 2.0])
    y, z = (x * x).sum(), (x * 3).sum()
    mg.autograd.backward([y, z])
    np.testing.assert_array_equal(x.grad, [2.0 + 3.0, 4.0 + 3.0])      # 2x + 3
    with pytest.raises(RuntimeError):
        mg.autograd.backward([y, z])


def test_backward_several_tensors_refuse_create_graph():
    x = leaf([1.0, 2.0])
    with pytest.raises(NotImplementedError):
        mg.autograd.backward([(x * x).sum(), (x * 3).sum()], create_graph=True)


def test_backward_refuses_a_truncated_tensor_among_several():
    # a tensor cut off from its history (bptt.truncate, as detach) has none to walk back through
    x = leaf([1.0, 2.0])
    cut = mg.bptt.truncate(x * 2)
    with pytest.raises(RuntimeError):
        mg.autograd.backward([(x * 3).sum(), cut], grad_tensors=[None, mg.ones(2)])


def test_backward_one_element_non_scalar_needs_no_gradient():
    # PyTorch creates the gradient implicitly for any one-element tensor (numel 1), shape (1,) included
    x = leaf([1.0, 2.0])
    mg.autograd.backward([(x * 2).sum().reshape(1), (x * 3).sum().reshape(1, 1)])
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


def test_backward_refuses_a_gradient_of_the_wrong_shape():
    # PyTorch: "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] ... [2]"
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError):
        mg.autograd.backward([x * 2, (x * 3).sum()], grad_tensors=[mg.ones(3), None])


def test_backward_keeps_float64_gradients_exact():
    x = leaf([1.0, 2.0])
    g = np.array([1.0 / 3.0, 0.1])
    mg.autograd.backward([x * 1.0, (x * 0.0).sum()], grad_tensors=[g, None])
    np.testing.assert_array_equal(x.grad, g)        # d<g, x>/dx = g, in float64


def test_backward_refuses_empty_inputs():
    # PyTorch: "'inputs' argument to backward() cannot be empty."
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError):
        mg.autograd.backward([(x * 2).sum(), (x * 3).sum()], inputs=[])


def test_backward_refuses_inputs_that_do_not_require_grad():
    # PyTorch: "One of the differentiated Tensors does not require grad"
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError):
        mg.autograd.backward([(x * 2).sum(), (x * 3).sum()], inputs=[x, mg.tensor([1.0, 2.0])])


# --- typed constructors --------------------------------------------------------------------------------------

def test_typed_constructor_without_arguments_is_empty_of_shape_zero():
    # torch.FloatTensor() is tensor([]), shape (0,)
    t = mg.FloatTensor()
    assert t.shape == (0,) and t.dtype == np.float32


def test_typed_constructor_refuses_negative_sizes():
    # PyTorch: "Trying to create tensor with negative dimension -1" (an error, never a tensor)
    with pytest.raises((TypeError, RuntimeError)):
        mg.FloatTensor(-1, 2)


# --- F.pad with one-element tensors --------------------------------------------------------------------------

def test_pad_refuses_a_floating_point_tensor_as_an_amount():
    # PyTorch's int-list parser takes only integer tensors (a float one has no __index__)
    with pytest.raises(ValueError):
        F.pad(mg.zeros(1, 1, 3), (mg.tensor(1.0), 1))


def test_pad_refuses_a_tensor_of_several_integers_as_an_amount():
    with pytest.raises(ValueError):
        F.pad(mg.zeros(1, 1, 3), (mg.tensor([1, 2]), 1))


def test_pad_takes_a_one_element_unsigned_tensor_as_an_int():
    # a uint8 tensor is integral, so its __index__ is the int it holds
    y = F.pad(mg.ones(1, 1, 3), (mg.tensor(2, dtype=mg.uint8), 0))
    np.testing.assert_array_equal(y.numpy(), [[[0.0, 0.0, 1.0, 1.0, 1.0]]])


# --- cholesky_inverse ------------------------------------------------------------------------------------------

def test_cholesky_inverse_keeps_float32():
    # torch.cholesky_inverse returns the factor's dtype: (L L^T)^-1 of A = [[4, 2], [2, 3]] is A^-1
    A = np.array([[4.0, 2.0], [2.0, 3.0]])
    L = mg.tensor(np.linalg.cholesky(A).astype(np.float32))
    result = mg.cholesky_inverse(L)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result.numpy(), np.linalg.inv(A), rtol=1e-5)


# --- lazy convolutions -----------------------------------------------------------------------------------------

def test_lazy_conv_refuses_an_input_of_too_many_axes_before_sizing():
    # PyTorch's LazyConv1d takes (C, L) or (N, C, L); a 4-d input is an error and the module stays lazy
    m = nn.LazyConv1d(4, 3)
    with pytest.raises(ValueError):
        m(mg.randn(1, 2, 3, 5))
    assert type(m) is nn.LazyConv1d and m.in_channels == 0
    assert isinstance(m.weight, nn.UninitializedParameter)


def test_backward_with_inputs_leaves_a_retained_grad_alone():
    # with inputs=, only the inputs' .grad change; a retained non-leaf's .grad stays as it was (backward_into)
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = a * b
    y.retain_grad()
    mg.autograd.backward([y.sum(), (a * 2).sum()], inputs=[a])
    np.testing.assert_array_equal(a.grad, [3.0 + 2.0, 4.0 + 2.0])     # b + 2
    assert y.grad is None and b.grad is None
