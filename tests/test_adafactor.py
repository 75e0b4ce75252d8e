"""optim.Adafactor against a numpy transcription of PyTorch's `_single_tensor_adafactor` (torch/optim/_adafactor.py),
step by step in float64, on a vector and a matrix parameter (and a batch of matrices); its state and state dict
(row_var, col_var, variance, step); its argument checks, naming Adafactor and the value; and the all-or-nothing
step and load."""

import re

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.optim import Adafactor


def numpy_adafactor(start, grads, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0,
                    maximize=False):
    """PyTorch's single-tensor loop, line by line: the parameter after each step."""
    param = np.array(start, dtype=np.float64)
    eps1, eps2 = eps
    eps1 = np.finfo(np.float64).eps if eps1 is None else eps1
    if param.ndim > 1:
        row_var = np.zeros(param.shape[:-1] + (1,))
        col_var = np.zeros(param.shape[:-2] + (1, param.shape[-1]))
    else:
        variance = np.zeros(param.shape)
    out = []
    for step, grad in enumerate(grads, start=1):
        grad = -grad if maximize else grad
        one_minus_beta2_t = step ** beta2_decay
        rho_t = min(lr, 1 / step ** 0.5)
        alpha = max(eps2, np.sqrt((param ** 2).sum()) / param.size ** 0.5) * rho_t
        if weight_decay != 0:
            param = param * (1 - lr * weight_decay)
        if grad.ndim > 1:
            row_mean = np.sqrt((grad ** 2).sum(axis=-1, keepdims=True)) ** 2 / grad.shape[-1]
            row_var = row_var + one_minus_beta2_t * (row_mean - row_var)
            col_mean = np.sqrt((grad ** 2).sum(axis=-2, keepdims=True)) ** 2 / grad.shape[-2]
            col_var = col_var + one_minus_beta2_t * (col_mean - col_var)
            var_estimate = np.matmul(row_var, col_var)
            var_estimate = var_estimate / np.clip(row_var.mean(axis=-2, keepdims=True), eps1, None)
        else:
            variance = variance + one_minus_beta2_t * (grad * grad - variance)
            var_estimate = variance.copy()
        update = 1 / np.sqrt(np.clip(var_estimate, eps1 * eps1, None)) * grad
        denom = max(1.0, np.sqrt((update ** 2).sum()) / (update.size ** 0.5 * d))
        param = param - alpha / denom * update
        out.append(param)
    return out


def run(start, grads, **options):
    p = mg.tensor(np.array(start, dtype=np.float64), requires_grad=True)
    optimizer = Adafactor([p], **options)
    out = []
    for grad in grads:
        p.grad = grad
        optimizer.step()
        out.append(p.numpy().copy())
    return out, optimizer


def gradients(shape, count=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(count)]


VECTOR = np.array([0.5, -1.0, 2.0, 0.25])
MATRIX = np.array([[0.5, -1.0, 2.0], [0.3, 0.1, -0.7]])


@pytest.mark.parametrize("start", [VECTOR, MATRIX, np.arange(24.0).reshape(2, 3, 4) / 10 - 1],
                         ids=["vector", "matrix", "batch"])
def test_three_steps_match_pytorchs_loop(start):
    grads = gradients(start.shape)
    got, _ = run(start, grads)
    for mine, expected in zip(got, numpy_adafactor(start, grads)):
        np.testing.assert_allclose(mine, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("options", [dict(lr=0.5, weight_decay=0.1), dict(maximize=True, d=2.0),
                                     dict(eps=(1e-3, 1e-2), beta2_decay=-0.5), dict(lr=0.0)])
@pytest.mark.parametrize("start", [VECTOR, MATRIX], ids=["vector", "matrix"])
def test_options_match_pytorchs_loop(start, options):
    grads = gradients(start.shape, seed=1)
    got, _ = run(start, grads, **options)
    for mine, expected in zip(got, numpy_adafactor(start, grads, **options)):
        np.testing.assert_allclose(mine, expected, rtol=1e-12, atol=1e-14)


def test_matrix_state_is_factored_into_rows_and_columns():
    _, optimizer = run(MATRIX, gradients(MATRIX.shape, count=1))
    state = optimizer.state_dict()["state"][0]
    assert set(state) == {"step", "row_var", "col_var"} and state["step"] == 1
    assert state["row_var"].shape == (2, 1) and state["col_var"].shape == (1, 3)
    g = gradients(MATRIX.shape, count=1)[0]
    np.testing.assert_allclose(state["row_var"][:, 0], (g ** 2).mean(axis=1), rtol=1e-14)   # weight 1^-0.8 = 1
    np.testing.assert_allclose(state["col_var"][0], (g ** 2).mean(axis=0), rtol=1e-14)


def test_vector_state_is_the_plain_average():
    _, optimizer = run(VECTOR, gradients(VECTOR.shape, count=2))
    state = optimizer.state_dict()["state"][0]
    assert set(state) == {"step", "variance"} and state["step"] == 2


def test_defaults_are_pytorchs():
    optimizer = Adafactor([mg.tensor(VECTOR, requires_grad=True)])
    group = optimizer.param_groups[0]
    assert (group["lr"], group["beta2_decay"], group["eps"], group["d"], group["weight_decay"]) == (
        1e-2, -0.8, (None, 1e-3), 1.0, 0.0)
    assert group["foreach"] is None and group["maximize"] is False


def test_state_dict_round_trip_continues_the_same_steps():
    grads = gradients(MATRIX.shape, count=3)
    _, first = run(MATRIX, grads[:2])
    p = mg.tensor(first.params[0].numpy().copy(), requires_grad=True)
    second = Adafactor([p])
    second.load_state_dict(first.state_dict())
    p.grad = grads[2]
    second.step()
    np.testing.assert_allclose(p.numpy(), numpy_adafactor(MATRIX, grads)[2], rtol=1e-12)


@pytest.mark.parametrize("option, value, text", [
    ("lr", -1.0, "lr"), ("beta2_decay", 0.5, "beta2_decay"), ("eps", (None, -1.0), "eps"),
    ("eps", (-1.0, 1e-3), "eps"), ("eps", 1e-3, "eps"), ("d", 0.5, "d"), ("weight_decay", -0.1, "weight_decay"),
    ("maximize", "yes", "maximize"), ("foreach", "yes", "foreach")])
def test_bad_options_name_adafactor_and_the_value(option, value, text):
    with pytest.raises(ValueError, match=rf"Adafactor: {text}.*{re.escape(repr(value))}"):
        Adafactor([mg.tensor(VECTOR, requires_grad=True)], **{option: value})


def test_a_failing_step_changes_no_parameter():
    good, bad = mg.tensor(VECTOR, requires_grad=True), mg.tensor(MATRIX, requires_grad=True)
    optimizer = Adafactor([good, bad])
    good.grad, bad.grad = np.ones(4), np.ones((2, 3))
    optimizer.state[1] = {"step": 1, "row_var": np.zeros((3, 1)), "col_var": np.zeros((1, 3))}    # rows: 2, not 3
    with pytest.raises(ValueError, match=r"Adafactor.step: parameter 1's row_var .*\(2, 1\), got \(3, 1\)"):
        optimizer.step()
    np.testing.assert_array_equal(good.numpy(), VECTOR)
    np.testing.assert_array_equal(bad.numpy(), MATRIX)
    assert optimizer.state[0] == {} and optimizer.state[1]["step"] == 1


def test_loading_factors_of_the_wrong_shape_changes_nothing():
    _, optimizer = run(MATRIX, gradients(MATRIX.shape, count=1))
    saved = optimizer.state_dict()
    before = {name: value.copy() if isinstance(value, np.ndarray) else value
              for name, value in optimizer.state[0].items()}
    saved["state"][0]["row_var"] = np.zeros((1, 3))
    with pytest.raises(ValueError, match=r"Adafactor.load_state_dict: parameter 0's row_var .*\(2, 1\).*\(1, 3\)"):
        optimizer.load_state_dict(saved)
    del saved["state"][0]["row_var"]
    with pytest.raises(ValueError, match=r"Adafactor.load_state_dict: the state of parameter 0 .*row_var and col_var"):
        optimizer.load_state_dict(saved)
    for name, value in before.items():
        np.testing.assert_array_equal(optimizer.state[0][name], value)


def test_float32_parameter_uses_its_machine_epsilon_and_stays_float32():
    p = mg.tensor(VECTOR.astype(np.float32), requires_grad=True)
    optimizer = Adafactor([p])
    grad = np.array([1e-5, 0.0, -2.0, 0.5], np.float32)       # a zero gradient: V = 0, clamped at eps1^2
    p.grad = grad
    optimizer.step()
    assert p.dtype == np.float32 and optimizer.state[0]["variance"].dtype == np.float32
    expected = numpy_adafactor(VECTOR, [grad.astype(np.float64)], eps=(float(np.finfo(np.float32).eps), 1e-3))[0]
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-6)
