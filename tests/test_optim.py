"""Optimizers and clipping, checked against hand-written numpy loops and closed forms."""

import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.optim import SGD, Adam, AdamW, Optimizer, RMSprop, clip_grad_norm_, clip_grad_value_

STEPS = 5


def parameter(values) -> mg.Tensor:
    """A float64 leaf that requires grad."""
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def gradient_sequence(shape, seed=0) -> list[np.ndarray]:
    """A fixed gradient per step, standing in for successive backward passes."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(STEPS)]


# ---- update formulas ----------------------------------------------------------

def test_sgd_without_momentum_is_plain_gradient_descent():
    """SGD(lr) moves p by -lr * grad at every step."""
    start = np.array([0.5, -1.0, 2.0])
    p = parameter(start)
    optimizer = SGD([p], lr=0.1)
    expected = start.copy()
    for grad in gradient_sequence(3):
        p.grad = grad
        optimizer.step()
        expected = expected - 0.1 * grad
        np.testing.assert_allclose(p.data, expected, rtol=1e-14, atol=1e-15)


def test_sgd_with_momentum_and_weight_decay_matches_numpy_loop():
    """SGD with momentum and weight decay follows PyTorch's buffer recurrence over several steps."""
    lr, momentum, weight_decay = 0.05, 0.9, 0.01
    start = np.array([[0.5, -1.0], [2.0, 0.25]])
    p = parameter(start)
    optimizer = SGD([p], lr=lr, momentum=momentum, weight_decay=weight_decay)
    expected, buffer = start.copy(), None
    for grad in gradient_sequence((2, 2)):
        p.grad = grad
        optimizer.step()
        g = grad + weight_decay * expected
        buffer = g if buffer is None else momentum * buffer + g
        expected = expected - lr * buffer
        np.testing.assert_allclose(p.data, expected, rtol=1e-14, atol=1e-15)


def test_sgd_momentum_is_unharmed_by_zeroing_grad_in_place():
    """Without weight decay the first buffer is the gradient itself: it must be a copy, so
    zeroing .grad in place between steps (as torch's zero_grad(set_to_none=False)) leaves it."""
    lr, momentum = 0.1, 0.9
    p = parameter([1.0, -2.0])
    optimizer = SGD([p], lr=lr, momentum=momentum)
    first, second = np.array([0.5, 1.0]), np.array([0.25, -0.5])
    p.grad = first.copy()
    optimizer.step()
    p.grad[...] = 0.0
    p.grad = second.copy()
    optimizer.step()
    buffer = momentum * first + second
    np.testing.assert_allclose(p.data, np.array([1.0, -2.0]) - lr * first - lr * buffer, rtol=1e-14)


def test_adam_matches_numpy_loop_with_bias_correction_at_steps_1_to_5():
    """Adam's moments and bias corrections agree with the paper's formulas at each of steps 1..5."""
    lr, beta1, beta2, eps = 0.01, 0.8, 0.95, 1e-8
    start = np.array([0.5, -1.0, 2.0, 1e-3])
    p = parameter(start)
    optimizer = Adam([p], lr=lr, betas=(beta1, beta2), eps=eps)
    expected, m, v = start.copy(), np.zeros(4), np.zeros(4)
    for t, grad in enumerate(gradient_sequence(4), start=1):
        p.grad = grad
        optimizer.step()
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad ** 2
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        expected = expected - lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-15, err_msg=f"step {t}")


def test_adam_with_weight_decay_matches_numpy_loop():
    """Adam adds weight_decay * p to the gradient before the moments, as torch.optim.Adam does."""
    lr, beta1, beta2, eps, weight_decay = 0.1, 0.9, 0.999, 1e-8, 0.1
    start = np.array([1.5, -2.0, 0.3])
    p = parameter(start)
    optimizer = Adam([p], lr=lr, weight_decay=weight_decay)
    expected, m, v = start.copy(), np.zeros(3), np.zeros(3)
    for t, grad in enumerate(gradient_sequence(3, seed=1), start=1):
        p.grad = grad
        optimizer.step()
        g = grad + weight_decay * expected
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        expected = expected - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-15, err_msg=f"step {t}")


def test_adam_first_step_moves_each_element_by_lr():
    """At t = 1 the bias corrections cancel: p moves by lr * g / (|g| + eps), about lr * sign(g)."""
    grad = np.array([1e-3, -50.0, 7.0])
    p = parameter([1.0, 1.0, 1.0])
    p.grad = grad
    Adam([p], lr=0.1, eps=1e-8).step()
    np.testing.assert_allclose(p.data, 1.0 - 0.1 * grad / (np.abs(grad) + 1e-8), rtol=1e-14)
    np.testing.assert_allclose(p.data, [0.9, 1.1, 0.9], rtol=1e-5)


def test_adamw_decays_the_weights_apart_from_the_gradient_as_pytorch():
    """torch.optim.AdamW: p *= 1 - lr * weight_decay, then Adam's step from the raw gradient
    (the decay enters neither moment)."""
    lr, beta1, beta2, eps, weight_decay = 0.05, 0.85, 0.99, 1e-8, 0.3
    start = np.array([1.5, -2.0, 0.3, 0.0])
    p = parameter(start)
    optimizer = AdamW([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    expected, m, v = start.copy(), np.zeros(4), np.zeros(4)
    for t, grad in enumerate(gradient_sequence(4, seed=2), start=1):
        p.grad = grad
        optimizer.step()
        expected = expected * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad ** 2
        expected = expected - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-15, err_msg=f"step {t}")


def test_adamw_defaults_are_pytorchs():
    """lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2: a zero gradient still decays p."""
    optimizer = AdamW([parameter([2.0])])
    assert (optimizer.lr, optimizer.betas, optimizer.eps, optimizer.weight_decay) == (
        1e-3, (0.9, 0.999), 1e-8, 1e-2)
    p = optimizer.params[0]
    p.grad = np.zeros(1)
    optimizer.step()
    np.testing.assert_allclose(p.data, [2.0 * (1 - 1e-3 * 1e-2)], rtol=1e-15)


def test_rmsprop_matches_numpy_loop():
    """torch.optim.RMSprop, plain: v = alpha v + (1 - alpha) g^2, p -= lr g / (sqrt(v) + eps)."""
    lr, alpha, eps = 0.01, 0.9, 1e-8
    start = np.array([0.5, -1.0, 2.0])
    p = parameter(start)
    optimizer = RMSprop([p], lr=lr, alpha=alpha, eps=eps)
    expected, v = start.copy(), np.zeros(3)
    for t, grad in enumerate(gradient_sequence(3, seed=3), start=1):
        p.grad = grad
        optimizer.step()
        v = alpha * v + (1 - alpha) * grad ** 2
        expected = expected - lr * grad / (np.sqrt(v) + eps)
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-15, err_msg=f"step {t}")


def test_rmsprop_centered_with_momentum_and_weight_decay_matches_numpy_loop():
    """Centered RMSprop divides by sqrt(v - a^2) + eps, a the running mean gradient; momentum
    accumulates g / avg from a zero buffer; weight decay enters the gradient first."""
    lr, alpha, eps, weight_decay, momentum = 0.02, 0.95, 1e-6, 0.1, 0.8
    start = np.array([[0.5, -1.0], [2.0, 0.25]])
    p = parameter(start)
    optimizer = RMSprop([p], lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=True)
    expected, v, a, buffer = start.copy(), np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2))
    for t, grad in enumerate(gradient_sequence((2, 2), seed=4), start=1):
        p.grad = grad
        optimizer.step()
        g = grad + weight_decay * expected
        v = alpha * v + (1 - alpha) * g ** 2
        a = alpha * a + (1 - alpha) * g
        buffer = momentum * buffer + g / (np.sqrt(v - a ** 2) + eps)
        expected = expected - lr * buffer
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-15, err_msg=f"step {t}")


def test_rmsprop_defaults_are_pytorchs():
    optimizer = RMSprop([parameter([1.0])])
    assert (optimizer.lr, optimizer.alpha, optimizer.eps, optimizer.weight_decay, optimizer.momentum,
            optimizer.centered) == (1e-2, 0.99, 1e-8, 0.0, 0.0, False)


def test_sgd_defaults_are_pytorchs():
    """torch.optim.SGD(params): lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
    maximize=False, foreach=None, differentiable=False, fused=None."""
    assert SGD([parameter([1.0])]).defaults == {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0,
                                                "weight_decay": 0.0, "nesterov": False, "maximize": False,
                                                "foreach": None, "differentiable": False, "fused": None}


def test_sgd_dampening_scales_the_gradient_into_the_buffer_after_the_first_step():
    """buf = g at the first step, then momentum * buf + (1 - dampening) * g."""
    lr, momentum, dampening = 0.1, 0.9, 0.3
    start = np.array([0.5, -1.0, 2.0])
    p = parameter(start)
    optimizer = SGD([p], lr=lr, momentum=momentum, dampening=dampening)
    expected, buffer = start.copy(), None
    for grad in gradient_sequence(3, seed=5):
        p.grad = grad
        optimizer.step()
        buffer = grad if buffer is None else momentum * buffer + (1 - dampening) * grad
        expected = expected - lr * buffer
        np.testing.assert_allclose(p.data, expected, rtol=1e-14, atol=1e-15)


def test_sgd_nesterov_steps_along_g_plus_momentum_times_buffer():
    """Nesterov: p -= lr * (g + momentum * buf), buf the heavy-ball buffer, weight decay in g."""
    lr, momentum, weight_decay = 0.05, 0.8, 0.01
    start = np.array([[0.5, -1.0], [2.0, 0.25]])
    p = parameter(start)
    optimizer = SGD([p], lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=True)
    expected, buffer = start.copy(), None
    for grad in gradient_sequence((2, 2), seed=6):
        p.grad = grad
        optimizer.step()
        g = grad + weight_decay * expected
        buffer = g if buffer is None else momentum * buffer + g
        expected = expected - lr * (g + momentum * buffer)
        np.testing.assert_allclose(p.data, expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("options", [{"momentum": 0.0}, {"momentum": 0.9, "dampening": 0.1}],
                         ids=["no momentum", "dampening"])
def test_sgd_nesterov_without_momentum_or_with_dampening_raises(options):
    """As PyTorch: Nesterov momentum requires a momentum and zero dampening."""
    with pytest.raises(ValueError, match="SGD: nesterov=True needs momentum > 0 and dampening = 0"):
        SGD([parameter([1.0])], lr=0.1, nesterov=True, **options)


def test_sgd_maximize_ascends_the_gradient_and_still_decays_the_weights():
    """maximize: g = -grad, then + weight_decay * p (torch's sgd negates the gradient first)."""
    lr, weight_decay = 0.1, 0.2
    start = np.array([1.0, -2.0])
    p = parameter(start)
    optimizer = SGD([p], lr=lr, weight_decay=weight_decay, maximize=True)
    expected = start.copy()
    for grad in gradient_sequence(2, seed=7):
        p.grad = grad
        optimizer.step()
        expected = expected - lr * (-grad + weight_decay * expected)
        np.testing.assert_allclose(p.data, expected, rtol=1e-14, atol=1e-15)


def adam_reference(start, grads, lr, beta1, beta2, eps, weight_decay=0.0, amsgrad=False, maximize=False,
                   decoupled=False):
    """Adam / AdamW as torch.optim's documentation writes them, in numpy: the parameter after each step."""
    theta, m, v, v_max, out = start.copy(), 0.0, 0.0, 0.0, []
    for t, grad in enumerate(grads, start=1):
        g = -grad if maximize else grad
        if decoupled:
            theta = theta * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = m / (1 - beta1 ** t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - beta2 ** t)
        else:
            v_hat = v / (1 - beta2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(theta)
    return out


def shrinking_gradients():
    """Gradients that fall by 10x a step, so v_t falls too and amsgrad's max(v_max, v_t) matters."""
    return [np.array([2.0, -1.0, 0.5]) * 0.1 ** k for k in range(STEPS)]


@pytest.mark.parametrize("kind", [Adam, AdamW])
def test_adam_amsgrad_divides_by_the_largest_second_moment_so_far(kind):
    """amsgrad: v_hat = max over steps of v, bias-corrected; state keeps it as max_exp_avg_sq."""
    lr, beta1, beta2, eps, weight_decay = 0.01, 0.9, 0.5, 1e-8, 0.1
    start = np.array([0.5, -1.0, 2.0])
    p = parameter(start)
    optimizer = kind([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay, amsgrad=True)
    grads = shrinking_gradients()
    expected = adam_reference(start, grads, lr, beta1, beta2, eps, weight_decay, amsgrad=True,
                              decoupled=kind is AdamW)
    for t, (grad, want) in enumerate(zip(grads, expected), start=1):
        p.grad = grad
        optimizer.step()
        np.testing.assert_allclose(p.data, want, rtol=1e-12, atol=1e-15, err_msg=f"step {t}")
    without = adam_reference(start, grads, lr, beta1, beta2, eps, weight_decay, decoupled=kind is AdamW)
    assert not np.allclose(expected[-1], without[-1], rtol=1e-6)       # (the max did matter)
    assert set(optimizer.state[0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}


@pytest.mark.parametrize("kind", [Adam, AdamW])
def test_adam_maximize_steps_up_the_gradient(kind):
    """maximize: the moments are those of -grad (weight decay as usual)."""
    lr, beta1, beta2, eps, weight_decay = 0.05, 0.9, 0.99, 1e-8, 0.1
    start = np.array([1.5, -2.0, 0.3])
    p = parameter(start)
    optimizer = kind([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay, maximize=True)
    grads = gradient_sequence(3, seed=8)
    expected = adam_reference(start, grads, lr, beta1, beta2, eps, weight_decay, maximize=True,
                              decoupled=kind is AdamW)
    for t, (grad, want) in enumerate(zip(grads, expected), start=1):
        p.grad = grad
        optimizer.step()
        np.testing.assert_allclose(p.data, want, rtol=1e-12, atol=1e-15, err_msg=f"step {t}")


def test_rmsprop_maximize_steps_up_the_gradient():
    """maximize: g = -grad, then RMSprop's update from g."""
    lr, alpha, eps = 0.01, 0.9, 1e-8
    start = np.array([0.5, -1.0, 2.0])
    p = parameter(start)
    optimizer = RMSprop([p], lr=lr, alpha=alpha, eps=eps, maximize=True)
    expected, v = start.copy(), np.zeros(3)
    for grad in gradient_sequence(3, seed=9):
        p.grad = grad
        optimizer.step()
        v = alpha * v + (1 - alpha) * grad ** 2
        expected = expected + lr * grad / (np.sqrt(v) + eps)
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind, option, value", [
    (SGD, "differentiable", True), (Adam, "capturable", True),
    (AdamW, "differentiable", True), (RMSprop, "capturable", True),
])
def test_pytorch_implementation_options_other_than_the_default_are_a_type_error(kind, option, value):
    """capturable=True, differentiable=True ask for machinery this library does not have (nor PyTorch's
    CPU build): a TypeError naming the optimizer and the option."""
    with pytest.raises(TypeError, match=rf"{kind.__name__}: {option}=True is not supported"):
        kind([parameter([1.0])], **{option: value})


@pytest.mark.parametrize("kind", [SGD, Adam, AdamW, RMSprop])
def test_pytorch_implementation_options_at_their_defaults_are_accepted(kind):
    """foreach=None or False (the plain loop, which is this library's), differentiable=False, ..."""
    accepted = {"foreach": False, "differentiable": False}
    if kind is not RMSprop:
        accepted["fused"] = None
    if kind is not SGD:
        accepted["capturable"] = False
    p = parameter([1.0])
    optimizer = kind([p], **accepted)
    p.grad = np.array([1.0])
    optimizer.step()
    assert p.data[0] != 1.0


# ---- how parameters are updated ---------------------------------------------

@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: Adam(ps, lr=0.1), lambda ps: AdamW(ps, lr=0.1),
                                  lambda ps: RMSprop(ps, momentum=0.5, centered=True)],
                         ids=["SGD", "Adam", "AdamW", "RMSprop"])
def test_step_replaces_the_array_instead_of_writing_into_it(make):
    """After step() the old p.data array still holds the old values (the graph may have saved it)."""
    p = parameter([1.0, -2.0])
    old = p.data
    p.grad = np.array([0.5, 0.5])
    make([p]).step()
    assert not np.shares_memory(p.data, old)
    np.testing.assert_array_equal(old, [1.0, -2.0])
    assert not np.array_equal(p.data, old)


def test_backward_after_step_uses_the_recorded_values():
    """A graph recorded before step() still backpropagates through the old weights, without error."""
    w = parameter([3.0])
    loss = (w * w).sum()
    w.grad = np.array([1.0])
    SGD([w], lr=1.0).step()
    w.grad = None
    loss.backward()
    np.testing.assert_allclose(w.grad, [6.0])


def test_zero_grad_sets_every_grad_to_none():
    """zero_grad() leaves each parameter with grad None."""
    a, b = parameter([1.0]), parameter([2.0, 3.0])
    a.grad, b.grad = np.array([1.0]), np.array([1.0, 1.0])
    SGD([a, b], lr=0.1).zero_grad()
    assert a.grad is None and b.grad is None


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
                                  lambda ps: Adam(ps, lr=0.1, weight_decay=0.1),
                                  lambda ps: AdamW(ps, lr=0.1, weight_decay=0.1),
                                  lambda ps: RMSprop(ps, weight_decay=0.1, momentum=0.5)],
                         ids=["SGD", "Adam", "AdamW", "RMSprop"])
def test_parameters_without_grad_are_left_alone(make):
    """A parameter whose grad is None is not moved, not even by weight decay."""
    with_grad, without_grad = parameter([1.0]), parameter([2.0])
    optimizer = make([with_grad, without_grad])
    with_grad.grad = np.array([1.0])
    optimizer.step()
    np.testing.assert_array_equal(without_grad.data, [2.0])
    assert with_grad.data[0] != 1.0


def test_adam_counts_steps_per_parameter():
    """A parameter skipped at step 1 gets step-1 bias correction on its first update."""
    early, late = parameter([1.0]), parameter([1.0])
    optimizer = Adam([early, late], lr=0.1)
    early.grad = np.array([1.0])
    optimizer.step()
    late.grad = np.array([4.0])
    optimizer.step()
    np.testing.assert_allclose(late.data, [0.9], rtol=1e-6)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.1),
                                  lambda ps: AdamW(ps, lr=0.1),
                                  lambda ps: RMSprop(ps, momentum=0.5, centered=True)],
                         ids=["SGD", "Adam", "AdamW", "RMSprop"])
def test_float32_parameters_stay_float32(make):
    """Updates and optimizer state keep the parameter's dtype."""
    p = mg.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    optimizer = make([p])
    for _ in range(2):
        p.grad = np.array([0.5, -0.5], dtype=np.float32)
        optimizer.step()
    assert p.dtype == np.float32
    assert all(value.dtype == np.float32 for value in optimizer.state[0].values()
               if isinstance(value, np.ndarray))


def test_optimizer_accepts_a_generator():
    """Parameters may come from a generator such as module.parameters(); they are kept as a list."""
    a, b = parameter([1.0]), parameter([2.0])
    optimizer = SGD((p for p in (a, b)), lr=0.1)
    assert optimizer.params == [a, b]


@pytest.mark.parametrize("params, message", [
    ([], "empty"),
    ([np.array([1.0])], "item 0 is a ndarray"),
    (mg.tensor(np.ones((2, 2)), requires_grad=True), "single Tensor"),
], ids=["empty", "non-tensor", "bare-tensor"])
def test_bad_parameter_lists_raise(params, message):
    """An empty list, a non-tensor item or a bare Tensor is a ValueError saying what came."""
    with pytest.raises(ValueError, match=message):
        SGD(params, lr=0.1)


def test_a_frozen_parameter_is_accepted_and_never_moves():
    """PyTorch's fine-tuning idiom: freeze a layer with requires_grad_(False), then hand all of
    model.parameters() to the optimizer; the frozen ones have no grad and stay as they were."""
    model = mg.nn.Linear(2, 2, rng=np.random.default_rng(0), dtype=np.float64)
    model.bias.requires_grad_(False)
    bias = model.bias.data.copy()
    optimizer = SGD(model.parameters(), lr=0.1)
    model(np.ones((1, 2))).sum().backward()
    optimizer.step()
    np.testing.assert_array_equal(model.bias.data, bias)
    assert model.bias.grad is None and model.weight.grad is not None


def test_a_repeated_parameter_raises():
    """The same tensor listed twice would be updated twice, so it is refused."""
    p = parameter([1.0])
    with pytest.raises(ValueError, match="more than once"):
        Adam([p, p])


@pytest.mark.parametrize("make, name", [
    (lambda ps: SGD(ps, lr=-0.1), "lr"),
    (lambda ps: SGD(ps, lr=0.1, momentum=-0.5), "momentum"),
    (lambda ps: SGD(ps, lr=0.1, weight_decay=-1.0), "weight_decay"),
    (lambda ps: Adam(ps, lr=-1e-3), "lr"),
    (lambda ps: Adam(ps, lr=math.nan), "lr"),
    (lambda ps: Adam(ps, eps=-1e-8), "eps"),
    (lambda ps: Adam(ps, betas=(1.0, 0.999)), r"betas\[0\]"),
    (lambda ps: Adam(ps, betas=(0.9, -0.1)), r"betas\[1\]"),
    (lambda ps: Adam(ps, weight_decay=-0.1), "weight_decay"),
    (lambda ps: AdamW(ps, weight_decay=math.inf), "AdamW: weight_decay"),
    (lambda ps: AdamW(ps, betas=(0.9, 1.0)), r"AdamW: betas\[1\]"),
    (lambda ps: RMSprop(ps, alpha=1.5), "RMSprop: alpha"),
    (lambda ps: RMSprop(ps, momentum=-0.1), "RMSprop: momentum"),
    (lambda ps: RMSprop(ps, eps=math.nan), "RMSprop: eps"),
    (lambda ps: RMSprop(ps, centered="yes"), "RMSprop: centered must be True or False"),
])
def test_bad_hyperparameters_raise_naming_them(make, name):
    """An out-of-range hyperparameter is a ValueError that names it."""
    with pytest.raises(ValueError, match=name):
        make([parameter([1.0])])


def test_a_step_whose_update_fails_midway_changes_no_parameter_and_no_state():
    """Every new array and state is computed before any is swapped in: an update that raises
    at the second parameter leaves the first one, and its momentum, as they were."""

    class Fragile(SGD):
        def update(self, data, grad, state, group):
            if data.shape == (3,):
                raise FloatingPointError("the second parameter's update failed")
            return super().update(data, grad, state, group)

    first, second = parameter([1.0, 2.0]), parameter([1.0, 2.0, 3.0])
    optimizer = Fragile([first, second], lr=0.1, momentum=0.9)
    first.grad, second.grad = np.array([1.0, 1.0]), np.array([1.0, 1.0, 1.0])
    with pytest.raises(FloatingPointError):
        optimizer.step()
    np.testing.assert_array_equal(first.data, [1.0, 2.0])
    assert optimizer.state == [{}, {}]


def test_optimizer_state_is_per_parameter_under_pytorchs_names():
    """state[i] holds PyTorch's keys: step, exp_avg, exp_avg_sq for Adam; step, square_avg, grad_avg,
    momentum_buffer for RMSprop; momentum_buffer for SGD."""
    expected = {SGD: {"momentum_buffer"}, Adam: {"step", "exp_avg", "exp_avg_sq"},
                RMSprop: {"step", "square_avg", "grad_avg", "momentum_buffer"}}
    settings = {SGD: {"lr": 0.1, "momentum": 0.9}, Adam: {}, RMSprop: {"momentum": 0.5, "centered": True}}
    for kind, keys in expected.items():
        p = parameter([1.0])
        optimizer = kind([p], **settings[kind])
        p.grad = np.array([1.0])
        optimizer.step()
        assert set(optimizer.state[0]) == keys, kind.__name__


def test_an_optimizer_subclass_needs_only_update():
    """The Optimizer base class checks, stages and swaps in; a subclass gives the new array
    (from its group's options, here none)."""

    class SignDescent(Optimizer):
        def update(self, data, grad, state, group):
            return data - 0.5 * np.sign(grad)

    p = parameter([1.0, 1.0])
    p.grad = np.array([3.0, -0.1])
    SignDescent([p]).step()
    np.testing.assert_array_equal(p.data, [0.5, 1.5])


# ---- clipping -----------------------------------------------------------------

def test_clip_grad_norm_returns_the_norm_before_clipping():
    """Grads 3 and 4 spread over two tensors have total norm 5."""
    a, b = parameter([0.0]), parameter([0.0])
    a.grad, b.grad = np.array([3.0]), np.array([4.0])
    assert clip_grad_norm_([a, b], max_norm=1.0).item() == pytest.approx(5.0, rel=1e-15)


def test_clip_grad_norm_scales_the_total_norm_to_max_norm():
    """Above max_norm, every grad is scaled by the same factor so the total norm is max_norm."""
    a, b = parameter([0.0, 0.0]), parameter([0.0])
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([-4.0])
    clip_grad_norm_([a, b], max_norm=2.0)
    total = math.sqrt(np.sum(a.grad ** 2) + np.sum(b.grad ** 2))
    assert total == pytest.approx(2.0, rel=1e-6)
    np.testing.assert_allclose(np.concatenate([a.grad, b.grad]), [1.2, 0.0, -1.6], rtol=1e-6)


def test_clip_grad_norm_leaves_small_grads_alone():
    """Below max_norm the grads keep their values exactly."""
    p = parameter([0.0, 0.0])
    p.grad = np.array([0.3, 0.4])
    assert clip_grad_norm_([p], max_norm=1.0).item() == pytest.approx(0.5, rel=1e-15)
    np.testing.assert_array_equal(p.grad, [0.3, 0.4])


def test_clip_grad_norm_gives_new_grad_arrays():
    """Clipping replaces p.grad rather than writing into the old array."""
    p = parameter([0.0, 0.0])
    p.grad = np.array([3.0, 4.0])
    old = p.grad
    clip_grad_norm_([p], max_norm=1.0)
    np.testing.assert_array_equal(old, [3.0, 4.0])


def test_clip_grad_norm_skips_parameters_without_grad_and_returns_zero_for_none():
    """Parameters with grad None add nothing to the norm; with none at all the norm is 0.0."""
    with_grad, without_grad = parameter([0.0]), parameter([0.0])
    assert clip_grad_norm_([without_grad], max_norm=1.0).item() == 0.0
    with_grad.grad = np.array([2.0])
    assert clip_grad_norm_([with_grad, without_grad], max_norm=10.0).item() == pytest.approx(2.0)
    assert without_grad.grad is None


def test_clip_grad_value_clips_each_element():
    """Each grad element is clipped to [-value, value]; the old array is not written into."""
    p, unset = parameter([0.0, 0.0, 0.0, 0.0]), parameter([0.0])
    p.grad = np.array([-3.0, -0.5, 0.5, 3.0])
    old = p.grad
    clip_grad_value_([p, unset], clip_value=1.0)
    np.testing.assert_array_equal(p.grad, [-1.0, -0.5, 0.5, 1.0])
    np.testing.assert_array_equal(old, [-3.0, -0.5, 0.5, 3.0])
    assert unset.grad is None


@pytest.mark.parametrize("clip, name", [(clip_grad_norm_, "max_norm"),
                                        (clip_grad_value_, "clip_value")])
def test_negative_clip_thresholds_raise(clip, name):
    """A negative threshold is a ValueError that names it."""
    with pytest.raises(ValueError, match=name):
        clip([parameter([1.0])], -1.0)


def test_clip_grad_norm_with_an_infinite_max_norm_measures_and_changes_nothing():
    """PyTorch accepts max_norm=inf: the norm is returned, the gradients stay as they were."""
    p = parameter([0.0, 0.0])
    p.grad = np.array([3.0, 4.0])
    assert clip_grad_norm_([p], max_norm=math.inf).item() == pytest.approx(5.0, rel=1e-15)
    np.testing.assert_array_equal(p.grad, [3.0, 4.0])


def test_clip_grad_norm_with_a_nan_gradient_makes_every_gradient_nan_as_pytorch():
    """One NaN makes the total norm NaN, so coef = max_norm / NaN scales every gradient to NaN
    (torch.nn.utils.clip_grad_norm_ with error_if_nonfinite=False)."""
    a, b = parameter([1.0, np.nan]), parameter([2.0])
    a.grad, b.grad = np.array([1.0, np.nan]), np.array([2.0])
    assert math.isnan(clip_grad_norm_([a, b], max_norm=1.0).item())
    assert np.isnan(a.grad).all() and np.isnan(b.grad).all()


def test_clip_grad_norm_with_an_infinite_gradient_gives_zeros_and_nan_as_pytorch():
    """total_norm = inf, coef = 0: finite gradients become 0, the infinite element 0 * inf = NaN."""
    a, b = parameter([1.0, 1.0]), parameter([2.0])
    a.grad, b.grad = np.array([1.0, np.inf]), np.array([2.0])
    with np.errstate(invalid="ignore"):
        assert clip_grad_norm_([a, b], max_norm=1.0).item() == math.inf
    np.testing.assert_array_equal(a.grad, [0.0, np.nan])
    np.testing.assert_array_equal(b.grad, [0.0])


def test_nn_utils_holds_the_same_clipping_functions():
    """PyTorch's spelling, torch.nn.utils.clip_grad_norm_, reaches mg.optim's functions."""
    from microgradseq.nn import utils

    assert utils.clip_grad_norm_ is clip_grad_norm_ and utils.clip_grad_value_ is clip_grad_value_
