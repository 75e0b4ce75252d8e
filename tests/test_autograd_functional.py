"""mg.autograd.functional, PyTorch's torch.autograd.functional: Jacobians, VJPs and JVPs against
closed forms (f(x) = tanh(W x): J = diag(1 - tanh^2(W x)) W)."""

import numpy as np
import pytest

import microgradseq as mg

RNG = np.random.default_rng(4)
W = RNG.standard_normal((3, 2))
X = RNG.standard_normal(2)
J_CLOSED = (1 - np.tanh(W @ X) ** 2)[:, None] * W


def f(x):
    return (mg.tensor(W) @ x).tanh()


def x64():
    return mg.tensor(X, dtype=np.float64)


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobian_is_the_closed_form_in_either_strategy(strategy):
    J = mg.autograd.functional.jacobian(f, x64(), strategy=strategy)
    assert isinstance(J, mg.Tensor) and J.shape == (3, 2)
    np.testing.assert_allclose(J.data, J_CLOSED, rtol=1e-12)


def test_jacobian_of_a_tuple_of_inputs_is_a_tuple_of_blocks():
    a, b = mg.tensor([1.0, 2.0], dtype=np.float64), mg.tensor([3.0, -1.0], dtype=np.float64)
    Ja, Jb = mg.autograd.functional.jacobian(lambda a, b: a * b * b, (a, b))
    np.testing.assert_allclose(Ja.data, np.diag(b.data ** 2))
    np.testing.assert_allclose(Jb.data, np.diag(2 * a.data * b.data))


def test_vjp_and_jvp_are_the_jacobian_times_a_vector():
    u, v = RNG.standard_normal(3), RNG.standard_normal(2)
    y, uJ = mg.autograd.functional.vjp(f, x64(), mg.tensor(u, dtype=np.float64))
    np.testing.assert_allclose(y.data, np.tanh(W @ X), rtol=1e-12)
    np.testing.assert_allclose(uJ.data, u @ J_CLOSED, rtol=1e-12)
    y, Jv = mg.autograd.functional.jvp(f, x64(), mg.tensor(v, dtype=np.float64))
    np.testing.assert_allclose(Jv.data, J_CLOSED @ v, rtol=1e-12)


def test_v_may_be_left_out_only_for_one_element():
    x = mg.tensor([0.5], dtype=np.float64)
    _, g = mg.autograd.functional.vjp(lambda x: (x * x).sum(), x)
    np.testing.assert_allclose(g.data, [1.0])
    _, t = mg.autograd.functional.jvp(lambda x: x * x, x)
    np.testing.assert_allclose(t.data, [1.0])
    with pytest.raises(ValueError, match="vjp: v may be left out only"):
        mg.autograd.functional.vjp(f, x64())
    with pytest.raises(ValueError, match="jvp: v may be left out only"):
        mg.autograd.functional.jvp(f, x64())


def test_second_derivatives_and_create_graph_say_they_are_not_supported():
    with pytest.raises(NotImplementedError, match="hessian: second derivatives are not supported"):
        mg.autograd.functional.hessian(lambda x: (x * x).sum(), x64())
    with pytest.raises(NotImplementedError, match="jacobian: create_graph=True"):
        mg.autograd.functional.jacobian(f, x64(), create_graph=True)
    with pytest.raises(ValueError, match="jacobian: strategy must be one of"):
        mg.autograd.functional.jacobian(f, x64(), strategy="sideways")
    with pytest.raises(TypeError, match="jvp: inputs must be a Tensor or a tuple of Tensors, got ndarray"):
        mg.autograd.functional.jvp(f, X, X)
