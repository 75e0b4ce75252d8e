"""Forward mode at the level users reach it (round 18's review against torch.func and
torch.autograd.functional): Jacobians by forward mode of a function of several tensors.

PyTorch's jacfwd pushes one basis for all the tensors it differentiates through one call of f,
so a random op (dropout) draws once for every column. Here each tensor's columns came from a
call of its own, and the blocks of one Jacobian belonged to different dropout masks. The
references are closed forms: for y = dropout(w * x) = m * w * x / (1 - p), with m the mask,
dy/dw = diag(m * x / (1 - p)) and dy/dx = diag(m * w / (1 - p)), one m for both and for y.
"""

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.autograd.functional as AF
import microgradseq.func as func

P = 0.5


def dropout_product(seed: int):
    """(f, w, x): f(w, x) = dropout(w * x) in training mode, w and x of 8 positive entries."""
    mg.manual_seed(seed)
    drop = mg.nn.Dropout(P)
    drop.train()
    rng = np.random.default_rng(seed)
    w = mg.tensor(rng.uniform(1, 2, 8), dtype=np.float64)
    x = mg.tensor(rng.uniform(1, 2, 8), dtype=np.float64)
    return (lambda a, b: drop(a * b)), w, x


def mask_of(jacobian: np.ndarray, other: np.ndarray) -> np.ndarray:
    """m from a block diag(m * other / (1 - p)); off the diagonal it must be zero."""
    assert np.array_equal(jacobian, np.diag(np.diag(jacobian)))
    return np.diag(jacobian) * (1 - P) / other


@pytest.mark.parametrize("seed", range(5))
def test_jacfwd_of_two_arguments_sees_one_dropout_mask(seed):
    f, w, x = dropout_product(seed)
    d_w, d_x = func.jacfwd(f, argnums=(0, 1))(w, x)
    mask_w, mask_x = mask_of(d_w.numpy(), x.numpy()), mask_of(d_x.numpy(), w.numpy())
    np.testing.assert_allclose(mask_w, mask_x, atol=1e-12)
    assert set(np.round(mask_w, 12)) <= {0.0, 1.0}


@pytest.mark.parametrize("seed", range(5))
def test_jacfwd_aux_comes_from_the_call_the_jacobian_differentiates(seed):
    f, w, x = dropout_product(seed)

    def with_value(a, b):
        y = f(a, b)
        return y, y.detach()

    (d_w, _), value = func.jacfwd(with_value, argnums=(0, 1), has_aux=True)(w, x)
    mask = mask_of(d_w.numpy(), x.numpy())
    np.testing.assert_allclose(value.numpy(), mask * w.numpy() * x.numpy() / (1 - P), atol=1e-12)


def test_jacfwd_calls_f_once_for_all_the_tensors_it_differentiates():
    calls = []

    def f(params, x):
        calls.append(1)
        return (params["weight"] @ x + params["bias"]).tanh()

    params = {"weight": mg.ones((2, 3), dtype=np.float64), "bias": mg.zeros(2, dtype=np.float64)}
    x = mg.tensor([0.1, 0.2, 0.3], dtype=np.float64)
    jacobian = func.jacfwd(f, argnums=(0, 1))(params, x)
    assert len(calls) == 1
    slope = 1 - np.tanh(0.6) ** 2       # every row: tanh(0.1 + 0.2 + 0.3)
    np.testing.assert_allclose(jacobian[1].numpy(), slope * np.ones((2, 3)), atol=1e-12)
    np.testing.assert_allclose(jacobian[0]["bias"].numpy(), slope * np.eye(2), atol=1e-12)
    expected_weight = np.zeros((2, 2, 3))
    for i in range(2):
        expected_weight[i, i] = slope * x.numpy()
    np.testing.assert_allclose(jacobian[0]["weight"].numpy(), expected_weight, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_functional_jacobian_forward_mode_sees_one_dropout_mask(seed):
    f, w, x = dropout_product(seed)
    d_w, d_x = AF.jacobian(f, (w, x), strategy="forward-mode")
    np.testing.assert_allclose(mask_of(d_w.numpy(), x.numpy()), mask_of(d_x.numpy(), w.numpy()), atol=1e-12)


def test_functional_jacobian_forward_mode_calls_func_once():
    calls = []

    def f(a, b):
        calls.append(1)
        return a * b

    a, b = mg.tensor([1.0, 2.0], dtype=np.float64), mg.tensor([3.0, 4.0], dtype=np.float64)
    d_a, d_b = AF.jacobian(f, (a, b), strategy="forward-mode")
    assert len(calls) == 1
    np.testing.assert_array_equal(d_a.numpy(), np.diag([3.0, 4.0]))
    np.testing.assert_array_equal(d_b.numpy(), np.diag([1.0, 2.0]))


def test_jacfwd_refuses_a_randomness_pytorch_does_not_have():
    with pytest.raises(ValueError, match="func.jacfwd: randomness must be one of"):
        func.jacfwd(lambda a: a * 2, randomness="sometimes")


@pytest.mark.parametrize("chunk_size", [0, -1, 1.5])
def test_jacrev_refuses_a_chunk_size_that_is_not_positive(chunk_size):
    with pytest.raises(ValueError, match="func.jacrev: chunk_size must be None or a positive int"):
        func.jacrev(lambda a: a * 2, chunk_size=chunk_size)


def test_jacrev_accepts_a_positive_chunk_size():
    x = mg.tensor([1.0, 2.0], dtype=np.float64)
    np.testing.assert_array_equal(func.jacrev(lambda a: a * a, chunk_size=1)(x).numpy(), np.diag([2.0, 4.0]))


@pytest.mark.parametrize("f", [lambda a: (a * 2, mg.ones(2, dtype=np.float64)), lambda a: a.detach() * 2],
                         ids=["a constant output", "a detached output"])
def test_jvp_strict_refuses_an_output_independent_of_the_primals(f):
    x = mg.ones(3, dtype=np.float64)
    with pytest.raises(RuntimeError, match="func.jvp: with strict=True every output must depend on the primals"):
        func.jvp(f, (x,), (x,), strict=True)


def test_jvp_strict_accepts_an_output_whose_tangent_is_zero():
    x = mg.tensor([1.0, 2.0], dtype=np.float64)
    _, tangent = func.jvp(lambda a: a * 0, (x,), (x,), strict=True)
    np.testing.assert_array_equal(tangent.numpy(), [0.0, 0.0])
    _, tangent = func.jvp(lambda a: a, (x,), (mg.tensor([3.0, 4.0], dtype=np.float64),), strict=True)
    np.testing.assert_array_equal(tangent.numpy(), [3.0, 4.0])
