"""optim.NAdam, RAdam, Adamax, Rprop and ASGD against numpy transcriptions of the algorithms in PyTorch's
class docstrings and single-tensor steps (torch/optim/nadam.py, radam.py, adamax.py, rprop.py, asgd.py), step
by step in float64; their state dicts through mg.save / mg.load; their argument checks; and the all-or-nothing
step."""

import copy
import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.optim import ASGD, Adamax, NAdam, RAdam, Rprop


def parameter(values, dtype=np.float64) -> mg.Tensor:
    return mg.tensor(np.array(values, dtype=dtype), requires_grad=True)


def gradients(count, shape=(3,), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(count)]


START = np.array([0.5, -1.0, 2.0])


# ---- the documented algorithms, in numpy ------------------------------------------------------------

def numpy_nadam(start, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                decoupled_weight_decay=False, maximize=False):
    """NAdam's docstring: mu_t = beta1 (1 - 0.5 * 0.96^(t psi)); m_hat = mu_{t+1} m_t / (1 - prod_{i<=t+1} mu_i)
    + (1 - mu_t) g_t / (1 - prod_{i<=t} mu_i); v_hat = v_t / (1 - beta2^t); theta -= lr m_hat / (sqrt(v_hat) + eps).
    The parameter after each step."""
    beta1, beta2 = betas
    theta, m, v, out = np.array(start, dtype=np.float64), 0.0, 0.0, []

    def mu(i):
        return beta1 * (1 - 0.5 * 0.96 ** (i * momentum_decay))

    for t, grad in enumerate(grads, start=1):
        g = -grad if maximize else grad
        if decoupled_weight_decay:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = (mu(t + 1) * m / (1 - math.prod(mu(i) for i in range(1, t + 2)))
                 + (1 - mu(t)) * g / (1 - math.prod(mu(i) for i in range(1, t + 1))))
        v_hat = v / (1 - beta2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(theta)
    return out


def numpy_radam(start, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                decoupled_weight_decay=False, maximize=False):
    """RAdam's docstring: rho_inf = 2 / (1 - beta2) - 1, rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t); if rho_t > 5,
    theta -= lr m_hat r_t l_t with l_t = sqrt(1 - beta2^t) / (sqrt(v_t) + eps), else theta -= lr m_hat."""
    beta1, beta2 = betas
    theta, m, v, out = np.array(start, dtype=np.float64), 0.0, 0.0, []
    rho_inf = 2 / (1 - beta2) - 1
    for t, grad in enumerate(grads, start=1):
        g = -grad if maximize else grad
        if decoupled_weight_decay:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = m / (1 - beta1 ** t)
        rho_t = rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)
        if rho_t > 5:
            l_t = np.sqrt(1 - beta2 ** t) / (np.sqrt(v) + eps)
            r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            theta = theta - lr * m_hat * r_t * l_t
        else:
            theta = theta - lr * m_hat
        out.append(theta)
    return out


def numpy_adamax(start, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False):
    """Adamax's docstring: u_t = max(beta2 u_{t-1}, |g_t| + eps); theta -= lr m_t / ((1 - beta1^t) u_t)."""
    beta1, beta2 = betas
    theta, m, u, out = np.array(start, dtype=np.float64), 0.0, np.zeros(np.shape(start)), []
    for t, grad in enumerate(grads, start=1):
        g = (-grad if maximize else grad) + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        u = np.maximum(beta2 * u, np.abs(g) + eps)
        theta = theta - lr * m / ((1 - beta1 ** t) * u)
        out.append(theta)
    return out


def numpy_rprop(start, grads, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False):
    """Rprop's docstring, entry by entry: the step size grows by etaplus while g_prev g > 0, shrinks by etaminus
    (and g counts as 0) when g_prev g < 0, and is clamped to step_sizes (in every case, as _single_tensor_rprop
    clamps); theta -= step_size sign(g); g_prev = g."""
    etaminus, etaplus = etas
    low, high = step_sizes
    theta, out = np.array(start, dtype=np.float64), []
    size, prev = np.full(theta.shape, float(lr)), np.zeros(theta.shape)
    for grad in grads:
        g = np.array(-grad if maximize else grad, dtype=np.float64)
        for i in range(theta.size):
            if prev[i] * g[i] > 0:
                size[i] = min(max(size[i] * etaplus, low), high)
            elif prev[i] * g[i] < 0:
                size[i] = min(max(size[i] * etaminus, low), high)
                g[i] = 0.0
            else:
                size[i] = min(max(size[i], low), high)
        theta = theta - size * np.sign(g)
        prev = g
        out.append(theta)
    return out


def numpy_asgd(start, grads, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, maximize=False,
               averages=None):
    """_single_tensor_asgd: theta = theta (1 - lambd eta) - eta g; ax moves towards theta by mu (ax = theta while
    mu = 1); then eta = lr / (1 + lambd lr t)^alpha and mu = 1 / max(1, t - t0) for the next step."""
    theta, eta, mu, ax, out = np.array(start, dtype=np.float64), lr, 1.0, None, []
    for t, grad in enumerate(grads, start=1):
        g = (-grad if maximize else grad) + weight_decay * theta
        theta = theta * (1 - lambd * eta) - eta * g
        ax = theta if mu == 1 else ax + mu * (theta - ax)
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)
        out.append(theta)
        if averages is not None:
            averages.append(ax)
    return out


REFERENCES = {NAdam: numpy_nadam, RAdam: numpy_radam, Adamax: numpy_adamax, Rprop: numpy_rprop, ASGD: numpy_asgd}
ADAMS = [NAdam, RAdam, Adamax]
KINDS = list(REFERENCES)


def follows(kind, options, grads, start=START, rtol=1e-12):
    p = parameter(start)
    optimizer = kind([p], **options)
    for step, (grad, expected) in enumerate(zip(grads, REFERENCES[kind](start, grads, **options)), start=1):
        p.grad = grad
        optimizer.step()
        np.testing.assert_allclose(p.data, expected, rtol=rtol, atol=1e-15, err_msg=f"step {step}")
    assert optimizer.state[p]["step"] == len(grads)
    return optimizer


# ---- the updates ----------------------------------------------------------------------------------

@pytest.mark.parametrize("options", [
    {},
    {"lr": 0.1, "weight_decay": 0.05},
    {"lr": 0.1, "weight_decay": 0.05, "decoupled_weight_decay": True},
    {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-3, "momentum_decay": 0.1, "maximize": True, "weight_decay": 0.1},
    {"lr": 0.05, "betas": (0.0, 0.5), "momentum_decay": 0.0},
])
def test_nadam_matches_the_documented_algorithm(options):
    optimizer = follows(NAdam, options, gradients(8))
    beta1, psi = options.get("betas", (0.9, 0.999))[0], options.get("momentum_decay", 4e-3)
    expected = math.prod(beta1 * (1 - 0.5 * 0.96 ** (t * psi)) for t in range(1, 9))
    assert optimizer.state[0]["mu_product"] == pytest.approx(expected, rel=1e-14, abs=1e-300)


@pytest.mark.parametrize("options", [
    {},
    {"lr": 0.1, "weight_decay": 0.05},
    {"lr": 0.1, "weight_decay": 0.05, "decoupled_weight_decay": True, "maximize": True},
    {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-3},
    {"lr": 0.05, "betas": (0.9, 0.5)},              # rho_inf = 3: never rectified, momentum SGD throughout
])
def test_radam_matches_the_documented_algorithm_across_the_rectification_switch(options):
    follows(RAdam, options, gradients(12, seed=1))


def test_radam_takes_momentum_steps_until_rho_t_passes_5():
    """beta2 = 0.999: rho_t = 1999 - 2 t 0.999^t / (1 - 0.999^t) is a little under t at first, so steps 1 to 5
    are p -= lr m / (1 - beta1^t), with no division by sqrt(v); step 6 (rho_6 > 5) is Adam's, rectified."""
    rho = [1999 - 2 * t * 0.999 ** t / (1 - 0.999 ** t) for t in range(1, 7)]
    assert all(r <= 5 for r in rho[:5]) and rho[5] > 5
    p = parameter([1.0])
    optimizer = RAdam([p], lr=0.1, betas=(0.5, 0.999))
    theta, m = 1.0, 0.0
    for t in range(1, 6):
        p.grad = np.array([4.0])                    # large: an Adam step would be about lr, this one is lr g
        optimizer.step()
        m = 0.5 * m + 0.5 * 4.0
        theta -= 0.1 * m / (1 - 0.5 ** t)
        assert p.data[0] == pytest.approx(theta, rel=1e-14)
    p.grad = np.array([4.0])
    optimizer.step()
    assert theta - p.data[0] < 0.1


@pytest.mark.parametrize("options", [
    {},
    {"lr": 0.1, "weight_decay": 0.05},
    {"lr": 0.05, "betas": (0.5, 0.6), "eps": 1e-2, "maximize": True, "weight_decay": 0.1},
])
def test_adamax_matches_the_documented_algorithm(options):
    follows(Adamax, options, gradients(8, seed=2))


def test_adamax_infinity_norm_keeps_the_largest_decayed_gradient():
    """u_t = max(beta2 u, |g| + eps): a large gradient, then small ones, leaves u = beta2^k (|g_1| + eps)."""
    p = parameter([0.0])
    optimizer = Adamax([p], betas=(0.9, 0.5), eps=1e-3)
    for grad in (8.0, 0.1, -0.2, 0.3):
        p.grad = np.array([grad])
        optimizer.step()
    assert optimizer.state[p]["exp_inf"][0] == pytest.approx(0.5 ** 3 * 8.001, rel=1e-15)


def test_adamax_first_step_moves_by_lr_times_g_over_abs_g_plus_eps():
    p = parameter([1.0, -2.0])
    optimizer = Adamax([p], lr=0.3, eps=0.5)
    p.grad = np.array([2.0, -0.5])
    optimizer.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.3 * 2.0 / 2.5, -2.0 + 0.3 * 0.5 / 1.0], rtol=1e-15)


@pytest.mark.parametrize("options", [
    {},
    {"lr": 0.1, "etas": (0.3, 1.5), "step_sizes": (0.01, 0.2)},
    {"lr": 0.05, "maximize": True, "step_sizes": (0.0, float("inf"))},
    {"lr": 100.0},                                  # clamped to 50 at the first step, as PyTorch's code does
])
def test_rprop_matches_the_documented_algorithm(options):
    grads = gradients(10, seed=7)
    grads[3][0], grads[4][0] = 0.0, 1.0             # a zero gradient: the size stays, the entry does not move
    follows(Rprop, options, grads)


def test_rprop_steps_worked_by_hand():
    """lr 0.1: g = 0.3, 0.2, 0.1 keep their sign, so the steps are 0.1, 0.12, 0.144; g = -0.1, 0.1, 0.1 flips at
    the second step, which then shrinks the size to 0.05 and does not move, and the third moves by 0.05."""
    p = parameter([1.0, -2.0])
    optimizer = Rprop([p], lr=0.1)
    for grad in ([0.3, -0.1], [0.2, 0.1], [0.1, 0.1]):
        p.grad = np.array(grad)
        optimizer.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.1 - 0.12 - 0.144, -2.0 + 0.1 - 0.05], rtol=1e-15)
    np.testing.assert_allclose(optimizer.state[p]["step_size"], [0.144, 0.05], rtol=1e-15)


@pytest.mark.parametrize("options", [
    {},
    {"lr": 0.1, "lambd": 0.5, "alpha": 0.5, "t0": 2, "weight_decay": 0.1},
    {"lr": 0.05, "lambd": 0.1, "t0": 0, "maximize": True},
])
def test_asgd_matches_pytorchs_step(options):
    grads = gradients(8, seed=8)
    optimizer = follows(ASGD, options, grads)
    averages = []
    numpy_asgd(START, grads, **options, averages=averages)
    np.testing.assert_allclose(optimizer.state[0]["ax"], averages[-1], rtol=1e-12)


def test_asgd_ax_is_the_mean_of_the_parameters_after_t0():
    """mu = 1 / max(1, t - t0) is 1 up to step t0 + 2, then 1/2, 1/3, ...: ax is the mean of p_{t0+2}, ..., p_t."""
    p = parameter(START)
    optimizer = ASGD([p], lr=0.1, t0=2)
    seen = []
    for grad in gradients(8, seed=9):
        p.grad = grad
        optimizer.step()
        seen.append(p.data.copy())
    np.testing.assert_allclose(optimizer.state[p]["ax"], np.mean(seen[3:], axis=0), rtol=1e-13)
    assert optimizer.state[p]["mu"] == 1 / 6 and optimizer.state[p]["eta"] == pytest.approx(
        0.1 / (1 + 1e-4 * 0.1 * 8) ** 0.75, rel=1e-15)



def test_asgd_with_t0_inf_never_averages():
    """PyTorch's ASGD takes any float t0: with inf, mu = 1 / max(1, t - inf) = 1 at every step, so ax is always
    the parameter itself (no averaging)."""
    p = parameter(START)
    optimizer = ASGD([p], lr=0.1, t0=math.inf)
    for grad in gradients(5, seed=3):
        p.grad = grad
        optimizer.step()
        np.testing.assert_array_equal(optimizer.state[p]["ax"], p.data)
    assert optimizer.state[p]["mu"] == 1.0

GROUP_OPTIONS = {NAdam: {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
                 RAdam: {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
                 Adamax: {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
                 Rprop: {"lr": 0.05, "etas": (0.4, 1.1), "maximize": True},
                 ASGD: {"lr": 0.05, "lambd": 0.1, "t0": 1, "weight_decay": 0.1, "maximize": True}}


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_groups_with_their_own_options_and_a_parameter_without_a_grad_on_some_steps(kind):
    """Each group steps with its options; a parameter whose grad is None is left alone and its step count
    stays, so its t-th update is its own t-th (as PyTorch's per-parameter `step`)."""
    first, second = parameter(START), parameter([0.25, -0.75])
    options = GROUP_OPTIONS[kind]
    optimizer = kind([{"params": [first]}, {"params": [second], **options}], lr=0.2)
    grads_first, grads_second = gradients(7, seed=3), gradients(7, shape=(2,), seed=4)
    taken = []
    for step, (g1, g2) in enumerate(zip(grads_first, grads_second)):
        first.grad = g1
        second.grad = None if step in (1, 4) else g2
        if second.grad is not None:
            taken.append(g2)
        optimizer.step()
    np.testing.assert_allclose(first.data, REFERENCES[kind](START, grads_first, lr=0.2)[-1], rtol=1e-12)
    np.testing.assert_allclose(second.data, REFERENCES[kind]([0.25, -0.75], taken, **options)[-1], rtol=1e-12)
    assert optimizer.state[first]["step"] == 7 and optimizer.state[second]["step"] == 5


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_float32_parameters_stay_float32(kind):
    p = parameter([0.5, -1.0], dtype=np.float32)
    optimizer = kind([p], lr=0.1)
    for grad in gradients(3, shape=(2,)):
        p.grad = grad.astype(np.float32)
        optimizer.step()
    assert p.dtype == np.float32
    assert all(value.dtype == np.float32 for value in optimizer.state[p].values() if isinstance(value, np.ndarray))


# ---- options, as PyTorch's ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind, keys", [
    (NAdam, ["lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay", "maximize", "foreach",
             "capturable", "differentiable"]),
    (RAdam, ["lr", "betas", "eps", "weight_decay", "maximize", "foreach", "capturable", "decoupled_weight_decay",
             "differentiable"]),
    (Adamax, ["lr", "betas", "eps", "weight_decay", "foreach", "maximize", "differentiable", "capturable"]),
    (Rprop, ["lr", "etas", "step_sizes", "foreach", "maximize", "differentiable", "capturable"]),
    (ASGD, ["lr", "lambd", "alpha", "t0", "weight_decay", "foreach", "maximize", "differentiable", "capturable"]),
], ids=lambda value: getattr(value, "__name__", ""))
def test_param_groups_hold_pytorchs_options_in_its_order(kind, keys):
    optimizer = kind([parameter([1.0])], foreach=True)
    assert list(optimizer.state_dict()["param_groups"][0]) == keys + ["params"]
    assert optimizer.param_groups[0]["foreach"] is True


def test_defaults_are_pytorchs():
    nadam, radam, adamax, rprop, asgd = (kind([parameter([1.0])]).defaults for kind in KINDS)
    assert (rprop["lr"], rprop["etas"], rprop["step_sizes"]) == (1e-2, (0.5, 1.2), (1e-6, 50))
    assert (asgd["lr"], asgd["lambd"], asgd["alpha"], asgd["t0"], asgd["weight_decay"]) == (1e-2, 1e-4, 0.75, 1e6, 0)
    assert (nadam["lr"], nadam["betas"], nadam["eps"], nadam["momentum_decay"]) == (2e-3, (0.9, 0.999), 1e-8, 4e-3)
    assert (radam["lr"], radam["betas"], radam["eps"], radam["weight_decay"]) == (1e-3, (0.9, 0.999), 1e-8, 0)
    assert (adamax["lr"], adamax["betas"], adamax["eps"], adamax["weight_decay"]) == (2e-3, (0.9, 0.999), 1e-8, 0)
    assert nadam["decoupled_weight_decay"] is False and radam["decoupled_weight_decay"] is False


@pytest.mark.parametrize("kind", ADAMS, ids=lambda kind: kind.__name__)
@pytest.mark.parametrize("options, words", [
    ({"lr": -0.1}, "lr must be a finite number >= 0, got -0.1"),
    ({"eps": float("nan")}, "eps must be a finite number >= 0, got nan"),
    ({"weight_decay": -1.0}, "weight_decay must be a finite number >= 0, got -1.0"),
    ({"betas": (0.9, 1.0)}, r"betas\[1\] must be in \[0, 1\), got 1.0"),
    ({"betas": 0.9}, r"betas must be a pair \(beta1, beta2\), got 0.9"),
    ({"maximize": 1}, "maximize must be True or False, got 1"),
])
def test_bad_options_raise_naming_the_optimizer(kind, options, words):
    with pytest.raises(ValueError, match=rf"^{kind.__name__}: {words}"):
        kind([parameter([1.0])], **options)


@pytest.mark.parametrize("kind", [NAdam, RAdam], ids=lambda kind: kind.__name__)
def test_decoupled_weight_decay_must_be_a_bool(kind):
    with pytest.raises(ValueError, match=rf"^{kind.__name__}: decoupled_weight_decay must be True or False"):
        kind([parameter([1.0])], decoupled_weight_decay="yes")


@pytest.mark.parametrize("kind, options, words", [
    (Rprop, {"etas": (0.5, 1.0)}, r"etas must be a pair \(etaminus, etaplus\) with 0 < etaminus < 1 < etaplus, "
                                  r"got \(0.5, 1.0\)"),
    (Rprop, {"etas": (1.2, 0.5)}, r"etas must be a pair .* got \(1.2, 0.5\)"),
    (Rprop, {"etas": 0.5}, r"etas must be a pair .* got 0.5"),
    (Rprop, {"step_sizes": (1.0, 0.5)}, r"step_sizes must be a pair \(min, max\) of step sizes with "
                                        r"0 <= min <= max, got \(1.0, 0.5\)"),
    (Rprop, {"step_sizes": (-1e-6, 50)}, r"step_sizes must be a pair .* got \(-1e-06, 50\)"),
    (Rprop, {"step_sizes": (0.0, "50")}, r"step_sizes must be a pair .* got \(0.0, '50'\)"),
    (Rprop, {"lr": float("inf")}, "lr must be a finite number >= 0, got inf"),
    (ASGD, {"lambd": -1e-4}, "lambd must be a finite number >= 0, got -0.0001"),
    (ASGD, {"alpha": float("nan")}, "alpha must be a finite number >= 0, got nan"),
    (ASGD, {"t0": -1}, r"t0 must be a number >= 0 \(inf allowed\), got -1"),
    (ASGD, {"weight_decay": -0.1}, "weight_decay must be a finite number >= 0, got -0.1"),
    (ASGD, {"maximize": None}, "maximize must be True or False, got None"),
])
def test_bad_rprop_and_asgd_options_raise_naming_the_optimizer(kind, options, words):
    with pytest.raises(ValueError, match=rf"^{kind.__name__}: {words}"):
        kind([parameter([1.0])], **options)


def test_nadam_refuses_a_negative_momentum_decay():
    with pytest.raises(ValueError, match=r"^NAdam: momentum_decay must be a finite number >= 0, got -0.004"):
        NAdam([parameter([1.0])], momentum_decay=-4e-3)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_pytorchs_switches_its_cpu_build_cannot_step_with_are_refused(kind):
    with pytest.raises(TypeError, match=rf"^{kind.__name__}: differentiable=True is not supported"):
        kind([parameter([1.0])], differentiable=True)
    with pytest.raises(TypeError, match=rf"^{kind.__name__}: capturable=True is not supported"):
        kind([parameter([1.0])], capturable=True)
    kind([parameter([1.0])], foreach=False, capturable=None)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_a_bad_option_in_add_param_group_changes_nothing(kind):
    optimizer = kind([parameter([1.0])], lr=0.1)
    with pytest.raises(ValueError, match=rf"^{kind.__name__}.add_param_group: param_groups\[1\]\['lr'\] must be"):
        optimizer.add_param_group({"params": [parameter([2.0])], "lr": -1.0})
    assert len(optimizer.param_groups) == 1 and len(optimizer.state) == 1


@pytest.mark.parametrize("kind, option, value, words", [
    (NAdam, "betas", (0.9, 1.5), r"\['betas'\]\[1\] must be in \[0, 1\)"),
    (RAdam, "betas", (0.9, 1.5), r"\['betas'\]\[1\] must be in \[0, 1\)"),
    (Adamax, "betas", (0.9, 1.5), r"\['betas'\]\[1\] must be in \[0, 1\)"),
    (Rprop, "step_sizes", (2.0, 1.0), r"\['step_sizes'\] must be a pair"),
    (ASGD, "lambd", -1.0, r"\['lambd'\] must be a finite number >= 0"),
], ids=lambda value: getattr(value, "__name__", None))
def test_an_option_made_invalid_after_construction_is_refused_at_step_and_changes_nothing(kind, option, value,
                                                                                         words):
    p = parameter([1.0, 2.0])
    optimizer = kind([p], lr=0.1)
    p.grad = np.array([0.5, -0.5])
    optimizer.step()
    before, state = p.data.copy(), copy.deepcopy(optimizer.state[0])
    optimizer.param_groups[0][option] = value
    with pytest.raises(ValueError, match=rf"^{kind.__name__}.step: param_groups\[0\]{words}"):
        optimizer.step()
    np.testing.assert_array_equal(p.data, before)
    assert optimizer.state[0]["step"] == state["step"] == 1


# ---- the all-or-nothing step ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_a_step_whose_gradient_is_bad_changes_no_parameter_and_no_state(kind):
    """The second parameter's gradient no longer fits it (the parameter was given an array of another shape
    behind the optimizer's back): the step refuses before it updates the first, and every state (step counts,
    NAdam's mu_product) stays as it was."""
    first, second = parameter([1.0, 2.0]), parameter([3.0, 4.0, 5.0])
    optimizer = kind([first, second], lr=0.1)
    first.grad, second.grad = np.array([0.5, -0.5]), np.array([0.5, 0.5, 0.5])
    optimizer.step()
    data, state = [p.data.copy() for p in (first, second)], copy.deepcopy(list(optimizer.state))
    second._replace_data(np.ones(2))             # (.grad = ... and .data = ... refuse another shape)
    data[1] = second.data.copy()
    with pytest.raises(ValueError, match=rf"^{kind.__name__}.step: parameter 1 is float64 of shape \(2,\) but its "
                                         r"grad is float64 of shape \(3,\); no parameter was changed"):
        optimizer.step()
    for p, before in zip((first, second), data):
        np.testing.assert_array_equal(p.data, before)
    for now, before in zip(optimizer.state, state):
        assert now.keys() == before.keys()
        for key in now:
            np.testing.assert_array_equal(now[key], before[key], err_msg=key)


# ---- state dicts ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, options, names", [
    (NAdam, {"lr": 0.1, "decoupled_weight_decay": True, "weight_decay": 0.1},
     {"step", "mu_product", "exp_avg", "exp_avg_sq"}),
    (RAdam, {"lr": 0.1, "weight_decay": 0.05}, {"step", "exp_avg", "exp_avg_sq"}),
    (Adamax, {"lr": 0.1, "maximize": True}, {"step", "exp_avg", "exp_inf"}),
    (Rprop, {"lr": 0.1, "etas": (0.25, 1.5)}, {"step", "prev", "step_size"}),
    (ASGD, {"lr": 0.1, "lambd": 0.1, "t0": 2}, {"step", "eta", "mu", "ax"}),
], ids=lambda value: getattr(value, "__name__", ""))
def test_state_dict_through_save_and_load_continues_identically(kind, options, names, tmp_path):
    p, twin = parameter(START), parameter(START)
    optimizer = kind([p], **options)
    grads = gradients(10, seed=5)
    for grad in grads[:4]:
        p.grad = grad
        optimizer.step()
    saved = optimizer.state_dict()
    assert set(saved["state"][0]) == names and saved["state"][0]["step"] == 4
    mg.save(saved, tmp_path / "optimizer.npz")
    twin.data = p.data.copy()
    twin_optimizer = kind([twin])
    twin_optimizer.load_state_dict(mg.load(tmp_path / "optimizer.npz"))
    assert twin_optimizer.param_groups[0]["lr"] == 0.1
    for grad in grads[4:]:
        p.grad, twin.grad = grad, grad
        optimizer.step()
        twin_optimizer.step()
    np.testing.assert_array_equal(twin.data, p.data)
    np.testing.assert_allclose(p.data, REFERENCES[kind](START, grads, **options)[-1], rtol=1e-12)


def test_nadam_loads_pytorchs_0_d_mu_product_and_float_step():
    """PyTorch keeps `step` and `mu_product` as 0-d float tensors: converted to numpy they load as numbers."""
    p, twin = parameter(START), parameter(START)
    optimizer = NAdam([p], lr=0.1)
    grads = gradients(4, seed=6)
    for grad in grads[:2]:
        p.grad = grad
        optimizer.step()
    saved = optimizer.state_dict()
    saved["state"][0]["step"] = np.array(2.0, dtype=np.float32)
    saved["state"][0]["mu_product"] = np.array(saved["state"][0]["mu_product"])
    twin.data = p.data.copy()
    twin_optimizer = NAdam([twin])
    twin_optimizer.load_state_dict(saved)
    assert twin_optimizer.state[0]["step"] == 2 and type(twin_optimizer.state[0]["mu_product"]) is float
    for grad in grads[2:]:
        p.grad, twin.grad = grad, grad
        optimizer.step()
        twin_optimizer.step()
    np.testing.assert_array_equal(twin.data, p.data)


def stepped(kind):
    p = parameter([1.0, -1.0])
    optimizer = kind([p], lr=0.1)
    p.grad = np.array([0.5, 0.25])
    optimizer.step()
    return optimizer


@pytest.mark.parametrize("kind, name, value, words", [
    (NAdam, "mu_product", 1.5, r"parameter 0's mu_product must be in \[0, 1\] \(a product of momentum "
                               r"coefficients\), got 1.5"),
    (NAdam, "mu_product", "0.5", "parameter 0's mu_product must be a finite number, got '0.5'"),
    (NAdam, "mu_product", np.ones(2), r"parameter 0's mu_product must be a finite number, got array"),
    (NAdam, "exp_avg_sq", np.array([-1.0, 1.0]), "parameter 0's exp_avg_sq must be >= 0"),
    (RAdam, "exp_avg_sq", np.array([1.0, -1.0]), "parameter 0's exp_avg_sq must be >= 0"),
    (Adamax, "exp_inf", np.array([-1.0, 1.0]), "parameter 0's exp_inf must be >= 0"),
    (Adamax, "exp_avg", np.ones(3), r"parameter 0's exp_avg must be a floating-point array of shape \(2,\)"),
    (RAdam, "max_exp_avg_sq", np.ones(2), "parameter 0 has state 'max_exp_avg_sq', which RAdam does not keep"),
    (Rprop, "step_size", np.array([0.1, -0.1]), "parameter 0's step_size must be >= 0"),
    (ASGD, "eta", -0.5, r"parameter 0's eta must be >= 0 \(a learning rate\), got -0.5"),
    (ASGD, "mu", 0.0, r"parameter 0's mu must be in \(0, 1\] \(an averaging weight\), got 0.0"),
    (ASGD, "mu", float("nan"), "parameter 0's mu must be a finite number, got nan"),
])
def test_a_bad_saved_state_is_refused_naming_load_state_dict_and_nothing_changes(kind, name, value, words):
    optimizer = stepped(kind)
    before = copy.deepcopy(list(optimizer.state))
    saved = optimizer.state_dict()
    saved["state"][0][name] = value
    saved["param_groups"][0]["lr"] = 0.5
    with pytest.raises(ValueError, match=rf"^{kind.__name__}.load_state_dict: {words}"):
        optimizer.load_state_dict(saved)
    assert optimizer.param_groups[0]["lr"] == 0.1
    for key, array in before[0].items():
        np.testing.assert_array_equal(optimizer.state[0][key], array)


@pytest.mark.parametrize("kind, lacking", [(NAdam, "mu_product"), (RAdam, "exp_avg_sq"), (Adamax, "exp_inf"),
                                           (Rprop, "prev"), (ASGD, "eta")],
                         ids=lambda value: getattr(value, "__name__", value))
def test_a_stepped_parameters_state_lacking_what_the_optimizer_keeps_is_refused(kind, lacking):
    saved = stepped(kind).state_dict()
    del saved["state"][0][lacking]
    with pytest.raises(ValueError, match=rf"^{kind.__name__}.load_state_dict: the state of parameter 0 lacks "
                                         rf"{lacking}"):
        kind([parameter([1.0, -1.0])]).load_state_dict(saved)


@pytest.mark.parametrize("kind", [NAdam, RAdam], ids=lambda kind: kind.__name__)
def test_an_older_state_dict_without_maximize_or_decoupled_weight_decay_loads_with_pytorchs_values(kind):
    saved = stepped(kind).state_dict()
    for name in ("maximize", "decoupled_weight_decay", "capturable", "differentiable", "foreach"):
        del saved["param_groups"][0][name]
    optimizer = kind([parameter([1.0, -1.0])], maximize=True, decoupled_weight_decay=True)
    optimizer.load_state_dict(saved)
    group = optimizer.param_groups[0]
    assert group["maximize"] is False and group["decoupled_weight_decay"] is False and group["foreach"] is None


def test_rprop_float32_step_sizes_grow_by_float32_factors_as_pytorchs():
    """PyTorch writes etaplus into a float32 sign tensor: the size grows by float32(1.2) in float32 arithmetic,
    and the parameter moves by the size it keeps."""
    p = parameter([0.0], dtype=np.float32)
    optimizer = Rprop([p], lr=0.01)
    size, theta = np.float32(0.01), np.float32(0.0)
    for step in range(30):
        p.grad = np.array([1.0], np.float32)
        optimizer.step()
        if step:
            size = np.float32(size * np.float32(1.2))
        theta = np.float32(theta - size)
        assert optimizer.state[p]["step_size"][0] == size and p.data[0] == theta, step


def test_rprop_a_nan_gradient_makes_that_step_size_nan_as_pytorchs():
    p = parameter([1.0, 2.0])
    optimizer = Rprop([p], lr=0.1)
    for grad in ([0.3, 0.3], [float("nan"), 0.3]):
        p.grad = np.array(grad)
        optimizer.step()
    assert np.isnan(optimizer.state[p]["step_size"][0]) and optimizer.state[p]["step_size"][1] == pytest.approx(0.12)
