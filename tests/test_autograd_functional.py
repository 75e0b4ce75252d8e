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


# ---- as PyTorch's: func gets fresh copies of the inputs, may return a tuple, records within no_grad ----

@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_a_tensor_reached_through_a_closure_is_a_constant_in_either_strategy(strategy):
    w = mg.tensor([1.0, 2.0, 3.0], dtype=np.float64, requires_grad=True)
    J = mg.autograd.functional.jacobian(lambda a: a * w, w, strategy=strategy)
    np.testing.assert_allclose(J.data, np.diag([1.0, 2.0, 3.0]))          # d(a w)/da = diag(w), not 2 diag(w)
    v = np.array([1.0, -1.0, 2.0])
    _, Jv = mg.autograd.functional.jvp(lambda a: a * w, w, mg.tensor(v, dtype=np.float64))
    np.testing.assert_allclose(Jv.data, w.data * v)


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_one_tensor_given_as_two_inputs_gives_the_two_partial_derivatives(strategy):
    x = mg.tensor([1.0, 2.0], dtype=np.float64)
    Ja, Jb = mg.autograd.functional.jacobian(lambda a, b: a * b * b, (x, x), strategy=strategy)
    np.testing.assert_allclose(Ja.data, np.diag(x.data ** 2))
    np.testing.assert_allclose(Jb.data, np.diag(2 * x.data ** 2))


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobian_of_a_tuple_of_outputs_nests_output_then_input(strategy):
    a, b = mg.tensor([1.0, 2.0], dtype=np.float64), mg.tensor([3.0, -1.0], dtype=np.float64)
    (Jya, Jyb), (Jsa, Jsb) = mg.autograd.functional.jacobian(lambda a, b: (a * b, (a * a).sum()), (a, b),
                                                             strategy=strategy)
    np.testing.assert_allclose(Jya.data, np.diag(b.data))
    np.testing.assert_allclose(Jyb.data, np.diag(a.data))
    np.testing.assert_allclose(Jsa.data, 2 * a.data)
    np.testing.assert_allclose(Jsb.data, [0.0, 0.0])
    Jy, Js = mg.autograd.functional.jacobian(lambda a: (a * 3, a.sum()), a, strategy=strategy)
    np.testing.assert_allclose(Jy.data, 3 * np.eye(2))
    np.testing.assert_allclose(Js.data, [1.0, 1.0])


def test_vjp_and_jvp_of_a_tuple_of_outputs():
    x = mg.tensor([1.0, 2.0], dtype=np.float64)
    (y, s), g = mg.autograd.functional.vjp(lambda a: (a * a, a.sum()), x,
                                           (mg.tensor([1.0, 3.0], dtype=np.float64), mg.tensor(2.0, dtype=np.float64)))
    np.testing.assert_allclose(y.data, [1.0, 4.0])
    np.testing.assert_allclose(g.data, [1.0 * 2 * 1 + 2, 3.0 * 2 * 2 + 2])     # u1 * 2x + u2
    (y, s), (ty, ts) = mg.autograd.functional.jvp(lambda a: (a * a, a.sum()), x, mg.tensor([1.0, -1.0]))
    np.testing.assert_allclose(ty.data, [2.0, -4.0])
    np.testing.assert_allclose(ts.data, 0.0)


def test_jacobian_and_vjp_record_inside_no_grad():
    x = mg.tensor([1.0, 2.0], dtype=np.float64)
    with mg.no_grad():
        J = mg.autograd.functional.jacobian(lambda a: a * a, x)
        _, g = mg.autograd.functional.vjp(lambda a: (a * a).sum(), x)
    np.testing.assert_allclose(J.data, np.diag([2.0, 4.0]))
    np.testing.assert_allclose(g.data, [2.0, 4.0])


def test_no_grad_changes_and_vjp_calls_func_once():
    x = mg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    w = mg.tensor([3.0, 4.0], dtype=np.float64, requires_grad=True)
    (x * w).sum().backward()
    calls = []

    def func(a):
        calls.append(a)
        return (a * w * x).sum()
    _, g = mg.autograd.functional.vjp(func, x)
    np.testing.assert_allclose(g.data, w.data * x.data)
    mg.autograd.functional.jacobian(func, x)
    mg.autograd.functional.jvp(func, x, mg.ones(2, dtype=np.float64))
    assert len(calls) == 3
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])


def test_v_of_another_shape_and_integer_inputs_are_refused_naming_the_function():
    x = mg.tensor([1.0, 2.0], dtype=np.float64)
    with pytest.raises(ValueError, match=r"jvp: v for input 0 must have its shape \(2,\), got \(3, 2\)"):
        mg.autograd.functional.jvp(lambda a: a * 2, x, mg.ones(3, 2))
    with pytest.raises(ValueError, match=r"vjp: v for output 0 must have its shape \(2,\), got \(3,\)"):
        mg.autograd.functional.vjp(lambda a: a * 2, x, mg.ones(3))
    with pytest.raises(TypeError, match="jacobian: input 1 must be a floating-point tensor, got dtype int64"):
        mg.autograd.functional.jacobian(lambda a, b: a * b, (x, mg.tensor([1, 2])))


def test_the_librarys_own_vjp_and_jacobian_record_inside_no_grad():
    """mg.vjp and mg.jacobian (reverse mode) inside no_grad: J = diag(2x), not zeros."""
    x = mg.tensor([1.0, -2.0], dtype=np.float64)
    with mg.no_grad():
        J = mg.jacobian(lambda a: a * a, x)
        _, (g,) = mg.vjp(lambda a: a * a, x, np.ones(2))
    np.testing.assert_allclose(J, np.diag(2 * x.data))
    np.testing.assert_allclose(g, 2 * x.data)


def test_the_module_imports_by_its_pytorch_path():
    """`import torch.autograd.functional as AF` ports: Python finds the name though autograd is a module here."""
    import microgradseq.autograd.functional as AF
    assert AF is mg.autograd.functional
    np.testing.assert_allclose(AF.jacobian(lambda x: x * x, mg.tensor([1.0, 3.0], dtype=np.float64)).data,
                               np.diag([2.0, 6.0]))
