"""`mg.jit` (PyTorch's torch.jit, run eagerly), `mg.distributions` (Categorical, Normal, Bernoulli, Uniform,
kl_divergence), the random draws (`mg.bernoulli`, `mg.poisson`, `mg.randint_like`, `t.bernoulli_`,
`t.exponential_`, `t.geometric_`) and PyTorch's promotion functions (`result_type`, `promote_types`,
`can_cast`) and `asarray`. Values against closed forms in float64, gradients against closed forms or
central differences, draws against their moments under a fixed seed; dtypes against the literal tables of
PyTorch's type-promotion notes."""

import math
from typing import List

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import jit, nn
from microgradseq.distributions import Bernoulli, Categorical, Normal, Uniform, kl_divergence

RNG = np.random.default_rng(26)


def f64(array, requires_grad=False):
    return mg.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def central_difference(f, x, eps=1e-6):
    """df/dx of a scalar numpy function, entry by entry."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


# ---- mg.jit: what it is given comes back ----------------------------------------------------------

def test_script_and_trace_return_the_function_or_module_they_are_given():
    def double(x):
        return 2 * x
    layer = nn.Linear(2, 3)
    assert jit.script(double) is double and jit.script(layer, example_inputs=[(mg.ones(2),)]) is layer
    assert jit.trace(double, (mg.ones(2),)) is double and jit.trace(layer, mg.ones(1, 2), check_trace=False) is layer
    assert jit.trace_module(layer, {"forward": mg.ones(1, 2)}) is layer


def test_the_decorators_return_the_function_with_and_without_arguments():
    def forward(self, x):
        return x
    assert jit.script_method(forward) is forward and jit.unused(forward) is forward
    assert jit.export(forward) is forward and jit.ignore(forward) is forward
    assert jit.ignore(drop=False)(forward) is forward and jit.ignore()(forward) is forward


def test_ignore_refuses_what_is_neither_a_bool_nor_a_function_as_pytorch():
    with pytest.raises(RuntimeError, match="jit.ignore: .* must be a bool or a function but got 1"):
        jit.ignore(1)


def test_annotate_attribute_final_and_the_mode_queries():
    empty = []
    assert jit.annotate(List[mg.Tensor], empty) is empty and jit.Attribute(0.1, float) == 0.1
    assert jit.is_scripting() is False and jit.is_tracing() is False
    assert jit.Final[int] is not None


def test_fork_runs_the_call_and_wait_gives_its_value():
    future = jit.fork(lambda a, b=0: a + b, 2, b=3)
    assert future.done() and jit.wait(future) == 5 and future.value() == 5
    with pytest.raises(TypeError, match="jit.wait: expected the Future jit.fork returns, got int"):
        jit.wait(5)


@pytest.mark.parametrize("call, hint", [(lambda: jit.save(nn.Linear(1, 1), "m.pt"), "mg.save"),
                                        (lambda: jit.load("m.pt"), "load_state_dict")], ids=["save", "load"])
def test_save_and_load_say_what_to_use_instead(call, hint, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotImplementedError, match=hint):
        call()
    assert not (tmp_path / "m.pt").exists()


class LSTMCell(jit.ScriptModule):
    """PyTorch's benchmarks/fastrnns/custom_lstms.py cell, as written there (Parameters, chunk, script_method)."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.weight_ih = nn.Parameter(mg.tensor(RNG.standard_normal((4 * hidden_size, input_size))))
        self.weight_hh = nn.Parameter(mg.tensor(RNG.standard_normal((4 * hidden_size, hidden_size))))
        self.bias = nn.Parameter(mg.tensor(RNG.standard_normal(4 * hidden_size)))

    @jit.script_method
    def forward(self, input, state):
        hx, cx = state
        gates = mg.mm(input, self.weight_ih.t()) + mg.mm(hx, self.weight_hh.t()) + self.bias
        ingate, forgetgate, cellgate, outgate = gates.chunk(4, 1)
        cy = forgetgate.sigmoid() * cx + ingate.sigmoid() * cellgate.tanh()
        hy = outgate.sigmoid() * cy.tanh()
        return hy, (hy, cy)


class LSTMLayer(jit.ScriptModule):
    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    @jit.script_method
    def forward(self, input, state):
        outputs = jit.annotate(List[mg.Tensor], [])
        for step in input.unbind(0):
            out, state = self.cell(step, state)
            outputs += [out]
        return mg.stack(outputs), state


def lstm_reference(x, w_ih, w_hh, b, h, c):
    """The LSTM recurrence in numpy, gates in PyTorch's order i, f, g, o."""
    sigmoid = lambda z: 1 / (1 + np.exp(-z))     # noqa: E731
    outputs = []
    for step in x:
        i, f, g, o = np.split(step @ w_ih.T + h @ w_hh.T + b, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs)


def test_a_custom_lstms_script_module_runs_and_backprops_as_the_recurrence_written_in_numpy():
    layer = LSTMLayer(LSTMCell(3, 2))
    assert isinstance(layer, nn.Module) and len(list(layer.parameters())) == 3
    x, h, c = RNG.standard_normal((4, 5, 3)), RNG.standard_normal((5, 2)), RNG.standard_normal((5, 2))
    out, _ = layer(f64(x), (f64(h), f64(c)))
    cell = layer.cell
    weights = [p.data for p in (cell.weight_ih, cell.weight_hh, cell.bias)]
    np.testing.assert_allclose(out.data, lstm_reference(x, *weights, h, c), rtol=1e-12)
    out.sum().backward()
    for k, param in enumerate((cell.weight_ih, cell.weight_hh, cell.bias)):
        def loss(w, k=k):
            return lstm_reference(x, *(w if j == k else v for j, v in enumerate(weights)), h, c).sum()
        np.testing.assert_allclose(param.grad, central_difference(loss, weights[k]), rtol=1e-6, atol=1e-8)


# ---- Normal -----------------------------------------------------------------------------------

LOC, SCALE = RNG.standard_normal((2, 1)), RNG.uniform(0.5, 2.0, 3)
VALUE = RNG.standard_normal((2, 3))


def test_normal_log_prob_cdf_entropy_and_moments_are_the_closed_forms_with_broadcast_parameters():
    dist = Normal(f64(LOC), f64(SCALE))
    assert dist.batch_shape == (2, 3) and dist.event_shape == ()
    log_prob = -(VALUE - LOC) ** 2 / (2 * SCALE ** 2) - np.log(SCALE) - 0.5 * np.log(2 * np.pi)
    cdf = np.vectorize(lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2))))((VALUE - LOC) / SCALE)
    np.testing.assert_allclose(dist.log_prob(f64(VALUE)).data, log_prob, rtol=1e-12)
    np.testing.assert_allclose(dist.cdf(f64(VALUE)).data, cdf, rtol=1e-12)
    np.testing.assert_allclose(dist.entropy().data, np.broadcast_to(0.5 * np.log(2 * np.pi * np.e * SCALE ** 2),
                                                                    (2, 3)), rtol=1e-12)
    np.testing.assert_allclose(dist.variance.data, np.broadcast_to(SCALE ** 2, (2, 3)), rtol=1e-12)
    np.testing.assert_allclose(dist.stddev.data, np.broadcast_to(SCALE, (2, 3)))
    np.testing.assert_allclose(dist.mean.data, np.broadcast_to(LOC, (2, 3)))


def test_normal_log_prob_gradient_is_the_closed_form_summed_over_the_broadcast():
    loc, scale = f64(LOC, True), f64(SCALE, True)
    Normal(loc, scale).log_prob(f64(VALUE)).sum().backward()
    z = VALUE - LOC
    np.testing.assert_allclose(loc.grad, (z / SCALE ** 2).sum(1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(scale.grad, (-1 / SCALE + z ** 2 / SCALE ** 3).sum(0), rtol=1e-12)


def test_normal_rsample_reparameterises_so_the_gradient_reaches_loc_and_scale():
    loc, scale = f64([0.5, -1.0], True), f64([2.0, 0.3], True)
    draws = Normal(loc, scale).rsample((7,))
    assert draws.shape == (7, 2) and draws.dtype == np.float64
    (draws ** 2).sum().backward()
    eps = (draws.data - loc.data) / scale.data          # d z / d loc = 1, d z / d scale = eps
    np.testing.assert_allclose(loc.grad, (2 * draws.data).sum(0), rtol=1e-12)
    np.testing.assert_allclose(scale.grad, (2 * draws.data * eps).sum(0), rtol=1e-12)


def test_normal_samples_have_its_moments_no_history_and_repeat_under_manual_seed():
    mg.manual_seed(3)
    dist = Normal(f64([1.0, -2.0], True), f64([0.5, 3.0]))
    draws = dist.sample((40000,))
    assert draws.shape == (40000, 2) and not draws.requires_grad
    np.testing.assert_allclose(draws.data.mean(0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(draws.data.std(0), [0.5, 3.0], rtol=0.02)
    mg.manual_seed(3)
    np.testing.assert_array_equal(dist.sample((40000,)).data, draws.data)


def test_normal_of_numbers_is_one_distribution_in_the_default_dtype():
    dist = Normal(0.0, 1.0)
    assert dist.batch_shape == () and dist.sample().shape == () and dist.loc.dtype == mg.get_default_dtype()
    assert repr(dist) == "Normal(loc: 0.0, scale: 1.0)"


# ---- Categorical ---------------------------------------------------------------------------------

WEIGHTS = np.array([[1.0, 2.0, 0.0, 5.0], [0.5, 0.5, 2.0, 1.0]])
P = WEIGHTS / WEIGHTS.sum(-1, keepdims=True)


def test_categorical_normalises_probs_and_logits_as_pytorch():
    by_probs = Categorical(probs=f64(WEIGHTS))
    np.testing.assert_allclose(by_probs.probs.data, P, rtol=1e-12)
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(by_probs.logits.data, np.log(np.clip(P, eps, 1 - eps)), rtol=1e-12)
    logits = RNG.standard_normal((2, 4))
    by_logits = Categorical(logits=f64(logits))
    shifted = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(by_logits.logits.data, shifted, rtol=1e-12)
    np.testing.assert_allclose(by_logits.probs.data, np.exp(shifted), rtol=1e-12)
    assert by_logits.batch_shape == (2,) and by_logits.param_shape == (2, 4)


def test_categorical_log_prob_broadcasts_values_over_the_batch_and_entropy_skips_zero_classes():
    dist = Categorical(probs=f64(WEIGHTS))
    values = np.array([[0], [3], [2]])                  # (3, 1) against batch (2,): (3, 2)
    expected = np.log(np.where(P > 0, P, 1e-300))[np.arange(2), values]
    np.testing.assert_allclose(dist.log_prob(mg.tensor(values)).data[:, 1], expected[:, 1], rtol=1e-12)
    np.testing.assert_allclose(dist.log_prob(mg.tensor(values)).data[[0, 1], 0], expected[[0, 1], 0], rtol=1e-12)
    entropy = -np.array([sum(p * math.log(p) for p in row if p > 0) for row in P])
    np.testing.assert_allclose(dist.entropy().data, entropy, rtol=1e-12)
    assert np.isnan(dist.mean.data).all() and np.isnan(dist.variance.data).all() and dist.mean.shape == (2,)


def test_categorical_log_prob_gradient_is_one_hot_minus_softmax():
    logits = f64(RNG.standard_normal((3, 4)), True)
    actions = np.array([2, 0, 3])
    Categorical(logits=logits).log_prob(mg.tensor(actions)).sum().backward()
    softmax = np.exp(logits.data) / np.exp(logits.data).sum(-1, keepdims=True)
    np.testing.assert_allclose(logits.grad, np.eye(4)[actions] - softmax, rtol=1e-12, atol=1e-15)


def test_categorical_samples_follow_probs_and_repeat_under_manual_seed():
    mg.manual_seed(5)
    dist = Categorical(probs=f64(WEIGHTS))
    draws = dist.sample((30000,))
    assert draws.shape == (30000, 2) and draws.dtype == np.int64
    for row in range(2):
        np.testing.assert_allclose(np.bincount(draws.data[:, row], minlength=4) / 30000, P[row], atol=0.01)
    assert (draws.data[:, 0] != 2).all()               # a class of probability 0 is never drawn
    mg.manual_seed(5)
    np.testing.assert_array_equal(dist.sample((30000,)).data, draws.data)


def test_categorical_expand_and_enumerate_support():
    dist = Categorical(logits=f64([0.0, 1.0, 2.0])).expand((5,))
    assert dist.batch_shape == (5,) and dist.sample((2,)).shape == (2, 5)
    np.testing.assert_array_equal(dist.enumerate_support().data, np.repeat(np.arange(3)[:, None], 5, 1))


# ---- Bernoulli and Uniform --------------------------------------------------------------------------

def test_bernoulli_log_prob_entropy_and_moments_are_the_closed_forms():
    p = np.array([0.1, 0.5, 0.85])
    dist = Bernoulli(probs=f64(p))
    for value in (0.0, 1.0):
        expected = np.log(p) if value else np.log1p(-p)
        np.testing.assert_allclose(dist.log_prob(f64(np.full(3, value))).data, expected, rtol=1e-10)
    np.testing.assert_allclose(dist.entropy().data, -(p * np.log(p) + (1 - p) * np.log1p(-p)), rtol=1e-10)
    np.testing.assert_allclose(dist.variance.data, p * (1 - p))
    np.testing.assert_array_equal(dist.mode.data, [0.0, np.nan, 1.0])     # NaN at p = 1/2, as PyTorch's
    logits = RNG.standard_normal(3)
    np.testing.assert_allclose(Bernoulli(logits=f64(logits)).probs.data, 1 / (1 + np.exp(-logits)), rtol=1e-12)


def test_bernoulli_samples_have_mean_p_in_the_parameter_dtype():
    mg.manual_seed(7)
    draws = Bernoulli(mg.tensor([0.2, 0.7])).sample((20000,))
    assert draws.dtype == np.float32 and set(np.unique(draws.data)) == {0.0, 1.0}
    np.testing.assert_allclose(draws.data.mean(0), [0.2, 0.7], atol=0.015)


def test_uniform_log_prob_cdf_entropy_and_moments_are_the_closed_forms():
    dist = Uniform(f64([0.0, -1.0]), f64([2.0, 3.0]))
    np.testing.assert_allclose(dist.log_prob(f64([0.5, 2.9])).data, -np.log([2.0, 4.0]), rtol=1e-12)
    assert dist.log_prob(f64([2.0, -1.0])).data[0] == -np.inf            # high itself is outside [low, high)
    np.testing.assert_allclose(Uniform(0.0, 2.0, validate_args=False).cdf(f64([-1.0, 0.5, 5.0])).data,
                               [0.0, 0.25, 1.0])
    np.testing.assert_allclose(dist.entropy().data, np.log([2.0, 4.0]), rtol=1e-12)
    np.testing.assert_allclose(dist.mean.data, [1.0, 1.0])
    np.testing.assert_allclose(dist.variance.data, np.array([4.0, 16.0]) / 12, rtol=1e-12)


def test_uniform_rsample_gradient_is_one_minus_u_to_low_and_u_to_high():
    mg.manual_seed(11)
    low, high = f64([0.0, -1.0], True), f64([2.0, 3.0], True)
    draws = Uniform(low, high).rsample((5000,))
    draws.sum().backward()
    u = (draws.data - low.data) / (high.data - low.data)
    np.testing.assert_allclose(low.grad, (1 - u).sum(0), rtol=1e-10)
    np.testing.assert_allclose(high.grad, u.sum(0), rtol=1e-10)
    assert ((u >= 0) & (u < 1)).all()
    np.testing.assert_allclose(draws.data.mean(0), [1.0, 1.0], atol=0.05)


# ---- kl_divergence ------------------------------------------------------------------------------

def test_kl_of_normals_is_the_closed_form_and_its_gradient_the_finite_difference():
    m1, s1, m2, s2 = RNG.standard_normal(3), RNG.uniform(0.5, 2, 3), RNG.standard_normal(3), RNG.uniform(0.5, 2, 3)

    def closed_form(m1, s1):
        return np.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - 0.5
    loc, scale = f64(m1, True), f64(s1, True)
    kl = kl_divergence(Normal(loc, scale), Normal(f64(m2), f64(s2)))
    np.testing.assert_allclose(kl.data, closed_form(m1, s1), rtol=1e-12)
    kl.sum().backward()
    np.testing.assert_allclose(loc.grad, central_difference(lambda m: closed_form(m, s1).sum(), m1), rtol=1e-7)
    np.testing.assert_allclose(scale.grad, central_difference(lambda s: closed_form(m1, s).sum(), s1), rtol=1e-7)


def test_kl_of_categoricals_bernoullis_and_uniforms_are_the_closed_forms():
    q = np.array([[0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4]])
    expected = [sum(a * math.log(a / b) for a, b in zip(pr, qr) if a > 0) for pr, qr in zip(P, q)]
    np.testing.assert_allclose(kl_divergence(Categorical(probs=f64(P)), Categorical(probs=f64(q))).data, expected,
                               rtol=1e-12)
    assert kl_divergence(Categorical(probs=f64([0.5, 0.5])), Categorical(probs=f64([1.0, 0.0]))).item() == math.inf
    a, b = np.array([0.2, 0.6]), np.array([0.5, 0.3])
    bernoulli = a * np.log(a / b) + (1 - a) * np.log((1 - a) / (1 - b))
    np.testing.assert_allclose(kl_divergence(Bernoulli(f64(a)), Bernoulli(f64(b))).data, bernoulli, rtol=1e-10)
    uniform = kl_divergence(Uniform(f64([0.0, 0.0]), f64([1.0, 1.0])), Uniform(f64([-1.0, 0.5]), f64([3.0, 2.0])))
    np.testing.assert_allclose(uniform.data, [math.log(4.0), math.inf])


def test_kl_of_an_unregistered_pair_is_not_implemented_naming_both():
    with pytest.raises(NotImplementedError, match="no KL.*p type Normal and q type Bernoulli"):
        kl_divergence(Normal(0.0, 1.0), Bernoulli(0.5))


# ---- arguments ------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, error, message", [
    (lambda: Normal(f64([0.0, 1.0]), f64([1.0, -2.0])), ValueError,
     r"Normal: expected parameter scale \(Tensor of shape \(2,\)\).*GreaterThan\(lower_bound=0.0\)"),
    (lambda: Normal(math.nan, 1.0), ValueError, r"Normal: expected parameter loc .*Real\(\)"),
    (lambda: Categorical(probs=f64([0.5, -0.1])), ValueError, r"Categorical: expected parameter probs.*Simplex"),
    (lambda: Categorical(), ValueError, "Categorical: either `probs` or `logits` must be specified"),
    (lambda: Categorical(probs=f64(0.5)), ValueError, r"Categorical: `probs` .* one-dimensional, got shape \(\)"),
    (lambda: Bernoulli(probs=f64([1.5])), ValueError, r"Bernoulli: expected parameter probs.*Interval"),
    (lambda: Bernoulli(probs=0.5, logits=0.0), ValueError, "Bernoulli: either `probs` or `logits`"),
    (lambda: Uniform(f64([0.0, 2.0]), f64([1.0, 1.0])), ValueError, "Uniform: is not defined when low >= high"),
    (lambda: Normal([0.0], 1.0), TypeError, "Normal: expected numbers or tensors as parameters, got list"),
    (lambda: Normal(f64([0.0, 1.0]), f64([1.0, 1.0, 1.0])), ValueError, r"Normal: .*\(2,\), \(3,\) cannot be broad"),
], ids=["scale", "nan-loc", "simplex", "neither", "0-d", "unit", "both", "low>=high", "list", "shapes"])
def test_bad_parameters_raise_naming_the_distribution_and_what_came(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("dist, value, message", [
    (Normal(0.0, 1.0), 0.5, "Normal: the value argument to log_prob must be a Tensor, got float"),
    (Bernoulli(f64([0.5])), f64([0.5]), r"Bernoulli: expected value argument .*Boolean\(\)"),
    (Categorical(probs=f64([0.5, 0.5])), mg.tensor([2]), r"IntegerInterval\(lower_bound=0, upper_bound=1\)"),
    (Uniform(0.0, 1.0), f64([1.5]), r"Uniform: expected value argument .*Interval"),
    (Normal(f64([0.0, 1.0]), 1.0), f64([0.0, 1.0, 2.0]), r"not broadcastable .* \(3,\) vs \(2,\)"),
], ids=["number", "bernoulli", "categorical", "uniform", "shape"])
def test_values_outside_the_support_raise_naming_the_distribution(dist, value, message):
    with pytest.raises(ValueError, match=message):
        dist.log_prob(value)


def test_validate_args_false_skips_the_checks_as_pytorch():
    with np.errstate(invalid="ignore"):           # (log of the negative scale: NaN, as PyTorch's)
        assert np.isnan(Normal(0.0, -1.0, validate_args=False).log_prob(0.5).item())
    assert Normal(0.0, 1.0, validate_args=False).log_prob(0.0).item() == pytest.approx(-0.5 * math.log(2 * math.pi))


def test_sample_shape_must_be_a_tuple_of_sizes():
    with pytest.raises(TypeError, match=r"Normal: sample_shape must be a tuple of sizes .* got 5"):
        Normal(0.0, 1.0).sample(5)


# ---- random draws -----------------------------------------------------------------------------------

def test_bernoulli_draws_ones_with_the_given_probabilities_in_the_input_dtype():
    mg.manual_seed(13)
    chances = f64(np.tile([0.0, 0.3, 1.0], (20000, 1)))
    draws = mg.bernoulli(chances)
    assert draws.dtype == np.float64 and draws.shape == (20000, 3)
    np.testing.assert_allclose(draws.data.mean(0), [0.0, 0.3, 1.0], atol=0.01)
    mg.manual_seed(13)
    np.testing.assert_array_equal(chances.bernoulli().data, draws.data)
    fixed = mg.bernoulli(mg.zeros(20000, dtype=mg.long), 0.25)
    assert fixed.dtype == np.int64 and abs(fixed.data.mean() - 0.25) < 0.01


def test_bernoulli_in_place_takes_a_number_or_a_tensor_of_probabilities():
    mg.manual_seed(17)
    mask = mg.empty(20000).bernoulli_(0.8)
    assert set(np.unique(mask.data)) == {0.0, 1.0} and abs(mask.data.mean() - 0.8) < 0.01
    rows = mg.zeros((20000, 2), dtype=mg.int32).bernoulli_(f64([0.1, 0.6]))
    assert rows.dtype == np.int32
    np.testing.assert_allclose(rows.data.mean(0), [0.1, 0.6], atol=0.012)


def test_exponential_and_geometric_fills_have_their_moments():
    mg.manual_seed(19)
    exponential = mg.empty(40000, dtype=mg.float64).exponential_(2.0)
    assert (exponential.data >= 0).all()
    assert exponential.data.mean() == pytest.approx(0.5, rel=0.02)
    assert exponential.data.var() == pytest.approx(0.25, rel=0.05)
    geometric = mg.empty(40000, dtype=mg.long).geometric_(0.25)
    assert geometric.dtype == np.int64 and geometric.data.min() >= 1
    assert geometric.data.mean() == pytest.approx(4.0, rel=0.02)          # 1 / p
    assert geometric.data.var() == pytest.approx(12.0, rel=0.06)          # (1 - p) / p^2


def test_poisson_draws_counts_with_mean_and_variance_the_rate():
    mg.manual_seed(23)
    rates = f64(np.tile([0.0, 1.5, 20.0], (30000, 1)))
    counts = mg.poisson(rates)
    assert counts.dtype == np.float64 and (counts.data == np.round(counts.data)).all()
    np.testing.assert_allclose(counts.data.mean(0), [0.0, 1.5, 20.0], rtol=0.03)
    np.testing.assert_allclose(counts.data.var(0), [0.0, 1.5, 20.0], rtol=0.05)
    mg.manual_seed(23)
    np.testing.assert_array_equal(mg.poisson(rates).data, counts.data)


def test_randint_like_draws_in_the_range_in_the_input_shape_and_dtype():
    like = mg.zeros((400, 5), dtype=mg.int32)
    draws = mg.randint_like(like, 3, 7)
    assert draws.shape == (400, 5) and draws.dtype == np.int32 and set(np.unique(draws.data)) == {3, 4, 5, 6}
    assert mg.randint_like(mg.zeros(3), 10, dtype=mg.long).dtype == np.int64


@pytest.mark.parametrize("draw", [
    lambda g: mg.bernoulli(mg.full((50,), 0.5), generator=g), lambda g: mg.poisson(mg.full((50,), 3.0), g),
    lambda g: mg.randint_like(mg.zeros(50), 100, generator=g), lambda g: mg.zeros(50).bernoulli_(0.5, generator=g),
    lambda g: mg.zeros(50).exponential_(generator=g), lambda g: mg.zeros(50).geometric_(0.5, generator=g),
], ids=["bernoulli", "poisson", "randint_like", "bernoulli_", "exponential_", "geometric_"])
def test_draws_repeat_from_a_generator_of_one_seed(draw):
    first, second = draw(mg.Generator().manual_seed(4)), draw(mg.Generator().manual_seed(4))
    np.testing.assert_array_equal(first.data, second.data)


@pytest.mark.parametrize("call, error, message", [
    (lambda t: t.bernoulli_(1.5), ValueError, r"bernoulli_: p must be a probability in \[0, 1\], got 1.5"),
    (lambda t: t.bernoulli_(f64([0.5, 2.0])), ValueError, r"bernoulli_: .* got values from 0.5 to 2.0"),
    (lambda t: t.bernoulli_(mg.tensor([0, 1])), TypeError, "bernoulli_: expected p to be a floating tensor"),
    (lambda t: t.bernoulli_(f64([0.5, 0.5, 0.5])), ValueError, r"bernoulli_: p of shape \(3,\) does not broad"),
    (lambda t: t.exponential_(0.0), ValueError, "exponential_: expects lambd > 0, got lambd=0.0"),
    (lambda t: t.geometric_(1.0), ValueError, r"geometric_: expects p in \(0, 1\), got p=1.0"),
], ids=["p", "p-tensor", "p-int", "p-shape", "lambd", "geometric"])
def test_bad_fill_arguments_raise_and_leave_the_tensor_as_it_was(call, error, message):
    t = f64([0.25, 0.75])
    with pytest.raises(error, match=message):
        call(t)
    np.testing.assert_array_equal(t.data, [0.25, 0.75])


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.bernoulli(f64([0.5, 1.2])), ValueError, r"bernoulli: expected probabilities in \[0, 1\], got "
                                                        "values from 0.5 to 1.2"),
    (lambda: mg.bernoulli(mg.tensor([0, 1])), TypeError, "bernoulli: expected a floating-point tensor"),
    (lambda: mg.poisson(f64([1.0, -1.0])), ValueError, "poisson: expected finite rates >= 0"),
    (lambda: mg.poisson(mg.tensor([1, 2])), TypeError, "poisson: expected a floating-point tensor of rates, got int64"),
    (lambda: mg.randint_like(mg.zeros(2), 5, 5), ValueError, "randint_like: expected integers low < high"),
], ids=["bernoulli-range", "bernoulli-int", "poisson-negative", "poisson-int", "randint_like"])
def test_bad_draw_arguments_raise_naming_the_function(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---- promotion: PyTorch's type-promotion notes, literally ------------------------------------------

@pytest.mark.parametrize("type1, type2, expected", [
    (mg.int32, mg.float32, mg.float32), (mg.uint8, mg.long, mg.long), (mg.long, mg.int32, mg.long),
    (mg.bool, mg.long, mg.long), (mg.bool, mg.uint8, mg.uint8), (mg.float32, mg.float64, mg.float64),
    (np.complex64, np.complex128, np.complex128), (mg.bool, mg.int32, mg.int32), (mg.long, mg.float32, mg.float32),
    (mg.uint8, mg.int8, mg.int16), (mg.int64, mg.float16, mg.float16), (mg.float64, np.complex64, np.complex128),
    (mg.int64, np.complex64, np.complex64), (mg.bool, mg.bool, mg.bool),
])
def test_promote_types_follows_pytorchs_table(type1, type2, expected):
    assert mg.promote_types(type1, type2) == expected and mg.promote_types(type2, type1) == expected


def test_result_type_follows_pytorchs_promotion_examples():
    int_tensor, long_tensor = mg.ones(1, dtype=mg.int32), mg.ones(1, dtype=mg.long)
    float_tensor, uint_tensor = mg.ones(1, dtype=mg.float32), mg.ones(1, dtype=mg.uint8)
    bool_tensor, long_zerodim = mg.ones(1, dtype=mg.bool), mg.tensor(1, dtype=mg.long)
    assert mg.result_type(5, 5) == mg.int64
    assert mg.result_type(int_tensor, 5) == mg.int32
    assert mg.result_type(int_tensor, long_zerodim) == mg.int32
    assert mg.result_type(long_tensor, int_tensor) == mg.int64
    assert mg.result_type(bool_tensor, long_tensor) == mg.int64
    assert mg.result_type(bool_tensor, uint_tensor) == mg.uint8
    assert mg.result_type(bool_tensor, int_tensor) == mg.int32
    assert mg.result_type(long_tensor, float_tensor) == mg.float32
    assert mg.result_type(mg.tensor([1, 2], dtype=mg.int32), 1.0) == mg.float32       # torch.result_type's examples
    assert mg.result_type(mg.tensor([1, 2], dtype=mg.uint8), mg.tensor(1)) == mg.uint8
    assert mg.result_type(int_tensor, mg.tensor(1.5, dtype=mg.float64)) == mg.float64  # a higher category counts
    assert mg.result_type(float_tensor, mg.tensor(1.5, dtype=mg.float64)) == mg.float32
    assert mg.result_type(float_tensor, 1j) == np.complex64 and mg.result_type(bool_tensor, True) == mg.bool


def test_result_type_of_a_number_follows_the_default_dtype():
    mg.set_default_dtype(mg.float64)
    try:
        assert mg.result_type(mg.ones(1, dtype=mg.int32), 1.0) == mg.float64
    finally:
        mg.set_default_dtype(mg.float32)


@pytest.mark.parametrize("source, target, allowed", [
    (mg.float64, mg.float32, True), (mg.int32, mg.float32, True), (mg.uint8, mg.float32, True),
    (mg.bool, mg.float32, True), (mg.long, mg.int32, True), (mg.uint8, mg.int32, True), (mg.int32, mg.uint8, True),
    (mg.float32, mg.int32, False), (mg.int32, mg.bool, False), (mg.uint8, mg.bool, False),
    (np.complex64, mg.float32, False), (mg.float32, mg.bool, False),
])
def test_can_cast_follows_pytorchs_casting_examples(source, target, allowed):
    assert mg.can_cast(source, target) is allowed


def test_promotion_functions_refuse_what_is_not_a_dtype_or_an_operand():
    with pytest.raises(TypeError, match="promote_types: type2 must be a dtype .* got str 'x'"):
        mg.promote_types(mg.int32, "x")
    # tensors, arrays and their tuples are not dtypes (numpy would read a tensor's dtype, or a tuple as
    # (base, shape)); PyTorch's promote_types and can_cast take torch.dtype only
    with pytest.raises(TypeError, match=r"promote_types: type1 must be a dtype .* got Tensor tensor\(\[0\., 0\.\]\)"):
        mg.promote_types(mg.zeros(2), mg.float64)
    with pytest.raises(TypeError, match="can_cast: from_ must be a dtype .* got tuple"):
        mg.can_cast((mg.zeros(2), mg.ones(2)), mg.float32)
    with pytest.raises(TypeError, match="can_cast: to must be a dtype .* got ndarray"):
        mg.can_cast(mg.float32, np.zeros(2))
    with pytest.raises(TypeError, match="result_type: tensor2 must be a tensor or a number, got list"):
        mg.result_type(mg.ones(1), [1])


# ---- asarray -----------------------------------------------------------------------------------------

def test_asarray_of_a_tensor_is_itself_unless_a_copy_or_another_dtype_is_asked_for():
    t = f64([1.0, 2.0])
    assert mg.asarray(t) is t and mg.asarray(t, dtype=mg.float64) is t
    copied = mg.asarray(t, copy=True)
    assert copied is not t and np.array_equal(copied.data, t.data)
    cast = mg.asarray(t, dtype=mg.float32)
    assert cast.dtype == np.float32 and np.array_equal(cast.data, [1.0, 2.0])
    with pytest.raises(ValueError, match="asarray: can't alias tensor with dtype float64 into dtype float32"):
        mg.asarray(t, dtype=mg.float32, copy=False)
    assert mg.asarray(t, copy=False) is t


def test_asarray_requires_grad_as_pytorch():
    w = f64([1.0, 2.0], True)
    assert not mg.asarray(w).requires_grad and mg.asarray(w, requires_grad=True) is w
    y = w * 2
    kept = mg.asarray(y, copy=True, requires_grad=True)
    kept.sum().backward()
    np.testing.assert_allclose(w.grad, [2.0, 2.0])                  # the copy keeps y's history
    fresh = mg.asarray(f64([3.0]), requires_grad=True)
    assert fresh.requires_grad and fresh.is_leaf


def test_asarray_of_data_makes_a_new_tensor_and_refuses_copy_false():
    array = np.arange(3.0)
    made = mg.asarray(array)
    assert made.dtype == np.float64 and not np.shares_memory(made.data, array)
    assert mg.asarray([1, 2]).dtype == np.int64 and mg.asarray([1.5]).dtype == mg.get_default_dtype()
    assert mg.asarray([1, 2], dtype=mg.float64).dtype == np.float64
    with pytest.raises(ValueError, match="asarray: copy=False asks to share ndarray's memory"):
        mg.asarray(array, copy=False)


def test_compile_gives_back_the_module_or_function_and_works_as_a_decorator():
    """torch.compile run eagerly (as PyTorch's with disable=True): the object itself, so the model trains and
    its state dict keeps its names (no `_orig_mod.` prefix); with options only, a decorator."""
    model = mg.nn.Linear(2, 3)
    assert mg.compile(model) is model and mg.compile(model, mode="max-autotune", fullgraph=True) is model
    assert list(mg.compile(model).state_dict()) == ["weight", "bias"]

    @mg.compile
    def double(x):
        return x * 2

    @mg.compile(dynamic=True)
    def triple(x):
        return x * 3

    assert double(mg.tensor([1.5])).tolist() == [3.0] and triple(mg.tensor([1.0])).tolist() == [3.0]
    with pytest.raises(TypeError, match=r"compile: expected a module or a function, got int"):
        mg.compile(3)
    assert "compile" not in mg.__all__          # `from microgradseq import *` keeps Python's compile
