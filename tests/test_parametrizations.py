"""nn.utils.parametrize and nn.utils.parametrizations (orthogonal, weight_norm, spectral_norm), as PyTorch's.

The references are independent of the code under test: the orthogonal maps in numpy (exp(A) of a skew A
from the eigendecomposition of the Hermitian iA, the Cayley map by np.linalg.solve, the Householder
product as an explicit product of reflection matrices), g v / ||v|| and W / sigma in numpy, the largest
singular value from np.linalg.svd, gradients and tangents against central differences of those numpy
functions in float64, and PyTorch's state dict names written out.
"""

import copy
import pickle
import threading

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import nn
from microgradseq.nn.utils import parametrizations, parametrize

F64 = np.float64
MAPS = ("matrix_exp", "cayley", "householder")
SHAPES = ((4, 4), (5, 3), (3, 5))


# ---- numpy references ----------------------------------------------------------------

def np_expm_skew(A):
    """exp(A) for a real skew-symmetric A: iA is Hermitian, iA = V diag(w) V^H, exp(A) = V diag(e^{-iw}) V^H."""
    w, V = np.linalg.eigh(1j * A)
    return ((V * np.exp(-1j * w)[None, :]) @ V.conj().T).real


def np_cayley(A):
    identity = np.eye(A.shape[-1])
    return np.linalg.solve(identity - A / 2, identity + A / 2)


def np_householder(X):
    """H_1 ... H_k [I; 0], H_i = I - tau_i v_i v_i^T, v_i = e_i + column i of X below the diagonal, times
    the signs on X's diagonal (PyTorch's householder map)."""
    n, k = X.shape
    below = np.tril(X, -1)
    Q = np.eye(n)
    for i in range(k):
        v = np.eye(n)[i] + below[:, i]
        Q = Q @ (np.eye(n) - 2.0 / (v @ v) * np.outer(v, v))
    return Q[:, :k] * np.trunc(np.diagonal(X))[None, :]


def np_orthogonal(X, orthogonal_map, base=None):
    """PyTorch's _Orthogonal.forward in numpy (one matrix)."""
    transposed = X.shape[0] < X.shape[1]
    X = X.T if transposed else X
    n, k = X.shape
    if orthogonal_map == "householder":
        Q = np_householder(X)
    else:
        square = np.concatenate([np.tril(X), np.zeros((n, n - k))], axis=1)
        A = square - square.T
        Q = (np_expm_skew(A) if orthogonal_map == "matrix_exp" else np_cayley(A))[:, :k]
    Q = Q if base is None else base @ Q
    return Q.T if transposed else Q


def central_gradient(f, X, C, eps=1e-6, entries=None):
    """d <C, f(X)> / dX by central differences, at `entries` (every entry by default; the rest 0)."""
    grad = np.zeros_like(X)
    for index in entries if entries is not None else np.ndindex(X.shape):
        step = np.zeros_like(X)
        step[index] = eps
        grad[index] = (np.sum(C * f(X + step)) - np.sum(C * f(X - step))) / (2 * eps)
    return grad


def set_values(tensor, array):
    tensor._replace_data(np.array(array, dtype=tensor.dtype))


def rng(seed=0):
    return np.random.default_rng(seed)


def linear(out_features, in_features, seed=0):
    mg.manual_seed(seed)
    return nn.Linear(in_features, out_features, dtype=F64)


def householder_ready(X):
    """X with 1s and -1s on its diagonal: the householder map reads only their signs (trunc, as PyTorch's
    `.int()`), and the parametrization keeps them as right_inverse set them."""
    X = X.copy()
    n = min(X.shape[-2:])
    X[..., np.arange(n), np.arange(n)] = np.resize([1.0, -1.0], n)
    return X


def gap_to_identity(Q):
    n, k = Q.shape[-2:]
    product = np.swapaxes(Q, -2, -1) @ Q if n >= k else Q @ np.swapaxes(Q, -2, -1)
    return np.abs(product - np.eye(min(n, k))).max()


# ---- orthogonal ------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("orthogonal_map", MAPS)
@pytest.mark.parametrize("use_trivialization", (True, False))
def test_orthogonal_weight_is_orthogonal_for_every_map_and_shape(shape, orthogonal_map, use_trivialization):
    layer = parametrizations.orthogonal(linear(*shape), orthogonal_map=orthogonal_map,
                                        use_trivialization=use_trivialization)
    X = rng(1).normal(size=shape)
    set_values(layer.parametrizations.weight.original, householder_ready(X) if orthogonal_map == "householder" else X)
    assert layer.weight.shape == shape
    assert gap_to_identity(layer.weight.numpy()) < 1e-12


@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_orthogonal_on_a_batch_of_matrices(orthogonal_map):
    module = nn.Module()
    module.weight = nn.Parameter(rng(2).normal(size=(2, 4, 3)))
    parametrizations.orthogonal(module, orthogonal_map=orthogonal_map)
    X = rng(3).normal(size=(2, 4, 3))
    set_values(module.parametrizations.weight.original, householder_ready(X) if orthogonal_map == "householder" else X)
    assert gap_to_identity(module.weight.numpy()) < 1e-12


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_orthogonal_maps_match_their_numpy_formulas(shape, orthogonal_map):
    layer = parametrizations.orthogonal(linear(*shape), orthogonal_map=orthogonal_map, use_trivialization=False)
    X = rng(4).normal(size=shape) * 2.0          # ||A|| > 1/2: the matrix exponential squares
    if orthogonal_map == "householder":
        X = householder_ready(X)
    set_values(layer.parametrizations.weight.original, X)
    np.testing.assert_allclose(layer.weight.numpy(), np_orthogonal(X, orthogonal_map), rtol=0, atol=1e-12)


def test_the_default_map_is_matrix_exp_for_square_and_householder_otherwise():
    square, tall = parametrizations.orthogonal(linear(3, 3)), parametrizations.orthogonal(linear(4, 2))
    assert square.parametrizations.weight[0].orthogonal_map == "matrix_exp"
    assert tall.parametrizations.weight[0].orthogonal_map == "householder"


def test_orthogonal_keeps_an_orthogonal_weight_and_stores_it_as_the_base():
    layer = linear(4, 4)
    Q = np.linalg.qr(rng(5).normal(size=(4, 4)))[0]
    set_values(layer.weight, Q)
    parametrizations.orthogonal(layer)
    np.testing.assert_allclose(layer.weight.numpy(), Q, rtol=0, atol=1e-14)
    np.testing.assert_allclose(layer.parametrizations.weight[0].base.numpy(), Q, rtol=0, atol=0)
    np.testing.assert_array_equal(layer.parametrizations.weight.original.numpy(), -np.eye(4))


@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_orthogonal_starts_from_the_q_of_the_weights_qr_decomposition(orthogonal_map):
    layer = linear(5, 3)
    W = layer.weight.numpy().copy()
    parametrizations.orthogonal(layer, orthogonal_map=orthogonal_map)
    Q, R = np.linalg.qr(W)
    np.testing.assert_allclose(layer.weight.numpy(), Q * np.sign(np.diag(R)), rtol=0, atol=1e-12)


def test_assigning_to_an_orthogonal_weight_goes_through_right_inverse():
    layer = parametrizations.orthogonal(linear(4, 4))
    original = layer.parametrizations.weight.original
    Q = np.linalg.qr(rng(6).normal(size=(4, 4)))[0]
    layer.weight = mg.tensor(Q)
    np.testing.assert_allclose(layer.weight.numpy(), Q, rtol=0, atol=1e-14)
    assert layer.parametrizations.weight.original is original


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_orthogonal_gradient_reaches_original_as_central_differences(shape, orthogonal_map):
    layer = parametrizations.orthogonal(linear(*shape), orthogonal_map=orthogonal_map)
    original, base = layer.parametrizations.weight.original, layer.parametrizations.weight[0].base.numpy()
    X = rng(7).normal(size=shape)
    if orthogonal_map == "householder":      # the diagonal only chooses signs: no gradient, as PyTorch's .int()
        X = householder_ready(X)
    set_values(original, X)
    C = rng(8).normal(size=shape)
    (layer.weight * mg.tensor(C)).sum().backward()
    entries = [i for i in np.ndindex(shape) if orthogonal_map != "householder" or i[0] != i[1]]
    expected = central_gradient(lambda Y: np_orthogonal(Y, orthogonal_map, base), X, C, entries=entries)
    np.testing.assert_allclose(original.grad, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_orthogonal_tangent_matches_central_differences(orthogonal_map):
    layer = parametrizations.orthogonal(linear(4, 3), orthogonal_map=orthogonal_map, use_trivialization=False)
    parametrization = layer.parametrizations.weight[0]
    X, V = rng(9).normal(size=(4, 3)), rng(10).normal(size=(4, 3))
    if orthogonal_map == "householder":
        X, V[np.arange(3), np.arange(3)] = householder_ready(X), 0.0
    _, tangent = mg.jvp(parametrization, (mg.tensor(X),), (mg.tensor(V),))
    eps = 1e-6
    expected = (np_orthogonal(X + eps * V, orthogonal_map) - np_orthogonal(X - eps * V, orthogonal_map)) / (2 * eps)
    np.testing.assert_allclose(np.asarray(tangent), expected, rtol=1e-6, atol=1e-8)


def test_an_rnn_with_an_orthogonal_weight_hh_trains_a_step():
    mg.manual_seed(0)
    rnn = nn.RNN(3, 4, dtype=F64)
    parametrizations.orthogonal(rnn, "weight_hh_l0")
    x, target = mg.tensor(rng(11).normal(size=(6, 2, 3))), mg.tensor(rng(12).normal(size=(6, 2, 4)))
    optimizer = mg.optim.SGD(rnn.parameters(), lr=0.1)

    def loss():
        with parametrize.cached():
            return ((rnn(x)[0] - target) ** 2).mean()

    before = loss()
    optimizer.zero_grad()
    before.backward()
    original = rnn.parametrizations.weight_hh_l0.original
    assert original.grad is not None and np.abs(original.grad).max() > 0
    optimizer.step()
    assert loss().item() < before.item()
    assert gap_to_identity(rnn.weight_hh_l0.numpy()) < 1e-12
    assert "parametrizations.weight_hh_l0.original" in rnn.state_dict()


# ---- weight_norm ---------------------------------------------------------------------

@pytest.mark.parametrize("dim", (0, 1, -1, None))
def test_weight_norm_is_g_v_over_the_norm_of_v(dim):
    layer = linear(4, 3)
    W = layer.weight.numpy().copy()
    parametrizations.weight_norm(layer, dim=dim)
    weights = layer.parametrizations.weight
    np.testing.assert_allclose(layer.weight.numpy(), W, rtol=1e-14, atol=0)    # registering keeps the weight
    axes = None if dim in (None, -1) else (1 - dim % 2,)
    np.testing.assert_allclose(weights.original0.numpy(), np.sqrt((W ** 2).sum(axis=axes, keepdims=axes is not None)))
    g = rng(13).uniform(0.5, 2.0, size=weights.original0.shape)
    v = rng(14).normal(size=(4, 3))
    set_values(weights.original0, g)
    set_values(weights.original1, v)
    norm = np.sqrt((v ** 2).sum(axis=axes, keepdims=axes is not None))
    np.testing.assert_allclose(layer.weight.numpy(), g * v / norm, rtol=1e-14, atol=0)


def test_weight_norm_gradients_reach_g_and_v_as_central_differences():
    layer = parametrizations.weight_norm(linear(4, 3), dim=0)
    g, v = layer.parametrizations.weight.original0, layer.parametrizations.weight.original1
    G, V, C = g.numpy().copy(), v.numpy().copy(), rng(15).normal(size=(4, 3))
    (layer.weight * mg.tensor(C)).sum().backward()

    def np_weight(G, V):
        return G * V / np.sqrt((V ** 2).sum(axis=1, keepdims=True))

    np.testing.assert_allclose(g.grad, central_gradient(lambda Y: np_weight(Y, V), G, C), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(v.grad, central_gradient(lambda Y: np_weight(G, Y), V, C), rtol=1e-7, atol=1e-9)


def test_weight_norm_state_dict_and_parameter_names_are_pytorchs():
    layer = parametrizations.weight_norm(linear(4, 3))
    names = ["bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    assert list(layer.state_dict()) == names
    assert [name for name, _ in layer.named_parameters()] == names
    assert layer.parametrizations.weight.original0.shape == (4, 1)


# ---- spectral_norm -------------------------------------------------------------------

def test_spectral_norm_largest_singular_value_is_one_after_enough_iterations():
    layer = parametrizations.spectral_norm(linear(5, 3), n_power_iterations=30)
    W = layer.parametrizations.weight.original.numpy()
    assert np.linalg.svd(layer.weight.numpy(), compute_uv=False)[0] == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(layer.weight.numpy(), W / np.linalg.svd(W, compute_uv=False)[0], rtol=1e-10)


def test_spectral_norm_on_dim_1_of_a_3d_weight_uses_that_axis_first():
    conv = nn.Conv1d(2, 3, 4, dtype=F64)
    parametrizations.spectral_norm(conv, n_power_iterations=40, dim=1)
    W = conv.parametrizations.weight.original.numpy()
    sigma = np.linalg.svd(np.moveaxis(W, 1, 0).reshape(2, -1), compute_uv=False)[0]
    np.testing.assert_allclose(conv.weight.numpy(), W / sigma, rtol=1e-10)


def test_spectral_norm_buffers_update_in_training_mode_only():
    layer = parametrizations.spectral_norm(linear(4, 3))
    spectral = layer.parametrizations.weight[0]
    u = spectral._u
    before = u.numpy().copy()
    set_values(layer.parametrizations.weight.original, rng(16).normal(size=(4, 3)))
    layer.eval()
    layer.weight
    np.testing.assert_array_equal(spectral._u.numpy(), before)
    layer.train()
    layer.weight
    assert spectral._u is u and not np.array_equal(u.numpy(), before)
    assert list(layer.state_dict()) == ["bias", "parametrizations.weight.original", "parametrizations.weight.0._u",
                                        "parametrizations.weight.0._v"]


def test_spectral_norm_gradient_holds_u_and_v_fixed():
    layer = parametrizations.spectral_norm(linear(4, 3)).eval()
    spectral = layer.parametrizations.weight[0]
    u, v = spectral._u.numpy(), spectral._v.numpy()
    original = layer.parametrizations.weight.original
    W, C = original.numpy().copy(), rng(17).normal(size=(4, 3))
    (layer.weight * mg.tensor(C)).sum().backward()
    expected = central_gradient(lambda Y: Y / (u @ Y @ v), W, C)
    np.testing.assert_allclose(original.grad, expected, rtol=1e-7, atol=1e-9)


def test_spectral_norm_of_a_vector_is_the_vector_over_its_norm():
    layer = parametrizations.spectral_norm(linear(4, 3), name="bias")
    b = layer.parametrizations.bias.original.numpy()
    np.testing.assert_allclose(layer.bias.numpy(), b / np.linalg.norm(b), rtol=1e-14)


# ---- the older hook: nn.utils.spectral_norm ----------------------------------------------

def test_spectral_norm_hook_state_dict_and_value_after_enough_iterations():
    layer = nn.utils.spectral_norm(linear(5, 3), n_power_iterations=30)
    assert list(layer.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    W = layer.weight_orig.numpy()
    layer(mg.tensor(np.ones((2, 3))))
    np.testing.assert_allclose(layer.weight.numpy(), W / np.linalg.svd(W, compute_uv=False)[0], rtol=1e-10)


def test_spectral_norm_hook_gradient_and_eval_mode_hold_u_and_v_fixed():
    layer = nn.utils.spectral_norm(linear(4, 3)).eval()
    u, v = layer.weight_u.numpy().copy(), layer.weight_v.numpy().copy()
    W, x = layer.weight_orig.numpy().copy(), rng(19).normal(size=(2, 3))
    C = rng(20).normal(size=(2, 4))
    (layer(mg.tensor(x)) * mg.tensor(C)).sum().backward()
    np.testing.assert_array_equal(layer.weight_u.numpy(), u)
    expected = central_gradient(lambda Y: x @ (Y / (u @ Y @ v)).T, W, C)
    np.testing.assert_allclose(layer.weight_orig.grad, expected, rtol=1e-7, atol=1e-9)


def test_remove_spectral_norm_leaves_the_normalised_weight_as_a_parameter():
    layer = nn.utils.spectral_norm(linear(4, 3)).eval()
    W, u, v = layer.weight_orig.numpy(), layer.weight_u.numpy(), layer.weight_v.numpy()
    nn.utils.remove_spectral_norm(layer)
    assert list(layer.state_dict()) == ["bias", "weight"] and isinstance(layer.weight, nn.Parameter)
    np.testing.assert_allclose(layer.weight.numpy(), W / (u @ W @ v), rtol=1e-14)
    with pytest.raises(ValueError, match="remove_spectral_norm: spectral_norm of 'weight' not found in Linear"):
        nn.utils.remove_spectral_norm(layer)


def test_spectral_norm_hook_errors_name_the_function_and_change_nothing():
    layer = nn.utils.spectral_norm(linear(3, 3))
    with pytest.raises(RuntimeError, match="spectral_norm: cannot register two spectral_norm hooks .* 'weight'"):
        nn.utils.spectral_norm(layer)
    fresh = linear(3, 3)
    with pytest.raises(ValueError, match="spectral_norm: expected n_power_iterations to be positive, got 0"):
        nn.utils.spectral_norm(fresh, n_power_iterations=0)
    with pytest.raises(IndexError, match="spectral_norm: dimension out of range"):
        nn.utils.spectral_norm(fresh, dim=-3)
    assert list(fresh.state_dict()) == ["weight", "bias"]


# ---- parametrize ----------------------------------------------------------------------

class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-2, -1)

    def right_inverse(self, A):
        return A.triu()


class Scaled(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.scale, self.calls = scale, 0

    def forward(self, X):
        self.calls += 1
        return X * self.scale


class RankOne(nn.Module):
    def forward(self, x, y):
        return x.unsqueeze(-1) @ y.unsqueeze(-2)

    def right_inverse(self, Z):
        return Z[:, 0], mg.ones(Z.shape[1], dtype=F64)


def test_register_parametrization_moves_the_tensor_and_swaps_the_class():
    layer = linear(3, 3)
    weight = layer.weight
    parametrize.register_parametrization(layer, "weight", Symmetric())
    assert type(layer).__name__ == "ParametrizedLinear" and isinstance(layer, nn.Linear)
    assert parametrize.type_before_parametrizations(layer) is nn.Linear
    assert parametrize.is_parametrized(layer) and parametrize.is_parametrized(layer, "weight")
    assert not parametrize.is_parametrized(layer, "bias")
    assert layer.parametrizations.weight.original is weight
    assert isinstance(layer.parametrizations.weight, parametrize.ParametrizationList)
    assert list(layer.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert [p for p in layer.parameters()] == [layer.bias, weight]
    W = weight.numpy()
    np.testing.assert_array_equal(layer.weight.numpy(), np.triu(W) + np.triu(W, 1).T)
    assert type(linear(2, 2)) is nn.Linear                          # other Linears keep their class


def test_assignment_stores_right_inverse_and_chained_parametrizations_apply_in_order():
    layer = linear(3, 3)
    parametrize.register_parametrization(layer, "weight", Symmetric())
    parametrize.register_parametrization(layer, "weight", Scaled(2.0))
    A = rng(18).normal(size=(3, 3))
    with pytest.raises(RuntimeError, match="Scaled does not implement right_inverse"):
        layer.weight = mg.tensor(A + A.T)
    original = layer.parametrizations.weight.original.numpy()
    np.testing.assert_array_equal(layer.weight.numpy(), 2.0 * (np.triu(original) + np.triu(original, 1).T))
    single = parametrize.register_parametrization(linear(3, 3), "weight", Symmetric())
    single.weight = mg.tensor(A + A.T)
    np.testing.assert_allclose(single.weight.numpy(), A + A.T, rtol=0, atol=0)


def test_right_inverse_returning_a_tuple_makes_original0_original1():
    layer = parametrize.register_parametrization(linear(4, 3), "weight", RankOne())
    weights = layer.parametrizations.weight
    assert list(layer.state_dict()) == ["bias", "parametrizations.weight.original0",
                                        "parametrizations.weight.original1"]
    x, y = weights.original0.numpy(), weights.original1.numpy()
    np.testing.assert_array_equal(layer.weight.numpy(), np.outer(x, y))
    with pytest.raises(ValueError, match="remove_parametrizations: cannot leave unparametrized"):
        parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    parametrize.remove_parametrizations(layer, "weight")
    np.testing.assert_array_equal(layer.weight.numpy(), np.outer(x, y))
    assert type(layer) is nn.Linear and isinstance(layer.weight, nn.Parameter)


@pytest.mark.parametrize("leave_parametrized", (True, False))
def test_remove_parametrizations_leaves_the_value_and_the_class(leave_parametrized):
    layer = parametrizations.orthogonal(linear(4, 4))
    original = layer.parametrizations.weight.original
    kept = (layer.weight if leave_parametrized else original).numpy().copy()
    parametrize.remove_parametrizations(layer, "weight", leave_parametrized=leave_parametrized)
    assert type(layer) is nn.Linear and not parametrize.is_parametrized(layer)
    assert layer.weight is original
    np.testing.assert_array_equal(layer.weight.numpy(), kept)
    assert list(layer.state_dict()) == ["bias", "weight"] and not hasattr(layer, "parametrizations")


def test_cached_computes_each_parametrized_tensor_once():
    layer = linear(3, 3)
    scaled = Scaled(3.0)
    parametrize.register_parametrization(layer, "weight", scaled)
    scaled.calls = 0
    with parametrize.cached():
        first = layer.weight
        with parametrize.cached():
            assert layer.weight is first
        assert layer.weight is first
    assert scaled.calls == 1
    assert layer.weight is not first and scaled.calls == 2


def test_a_cached_block_serves_only_its_own_thread():
    """One thread inside `cached()` and another outside it, interleaved by events: the other thread's reads
    compute afresh and do not fill the first thread's cache."""
    layer = linear(3, 3)
    scaled = Scaled(3.0)
    parametrize.register_parametrization(layer, "weight", scaled)
    inside, read_outside, seen = threading.Event(), threading.Event(), {}

    def cached_reader():
        with parametrize.cached():
            seen["first"] = layer.weight
            inside.set()
            read_outside.wait(5)
            seen["again"] = layer.weight

    def plain_reader():
        inside.wait(5)
        seen["outside"] = [layer.weight, layer.weight]
        read_outside.set()

    threads = [threading.Thread(target=cached_reader), threading.Thread(target=plain_reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert seen["again"] is seen["first"]
    a, b = seen["outside"]
    assert a is not b and a is not seen["first"] and scaled.calls >= 3


def test_state_dict_loads_into_a_parametrized_module():
    source, target = parametrizations.orthogonal(linear(4, 4, seed=1)), parametrizations.orthogonal(linear(4, 4))
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target.weight.numpy(), source.weight.numpy())


def test_deepcopy_works_and_pickling_is_refused():
    layer = parametrizations.orthogonal(linear(3, 3))
    twin = copy.deepcopy(layer)
    np.testing.assert_array_equal(twin.weight.numpy(), layer.weight.numpy())
    assert twin.parametrizations.weight.original is not layer.parametrizations.weight.original
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        pickle.dumps(layer)


# ---- errors ---------------------------------------------------------------------------

def test_registering_on_a_missing_name_is_a_value_error_and_changes_nothing():
    layer = linear(3, 3)
    with pytest.raises(ValueError, match="register_parametrization: Linear does not have .* 'kernel'"):
        parametrize.register_parametrization(layer, "kernel", Symmetric())
    assert type(layer) is nn.Linear and list(layer.state_dict()) == ["weight", "bias"]


def test_a_parametrization_changing_the_shape_needs_unsafe():
    class FirstRow(nn.Module):
        def forward(self, X):
            return X[0]

    layer = linear(3, 3)
    with pytest.raises(ValueError, match=r"may not change the shape .* \(3, 3\).* \(3,\)"):
        parametrize.register_parametrization(layer, "weight", FirstRow())
    assert type(layer) is nn.Linear and list(layer.state_dict()) == ["weight", "bias"]
    parametrize.register_parametrization(layer, "weight", FirstRow(), unsafe=True)
    assert layer.weight.shape == (3,)


def test_right_inverse_must_return_tensors_of_the_dtype_and_a_refusal_changes_nothing():
    class Halved(nn.Module):
        def forward(self, X):
            return X.to(F64)

        def right_inverse(self, X):
            return X.to(np.float32)

    class NotATensor(nn.Module):
        def forward(self, x, y):
            return x

        def right_inverse(self, X):
            return X, 1.0

    layer = linear(3, 3)
    W = layer.weight.numpy().copy()
    with pytest.raises(ValueError, match="register_parametrization: .* may not change the dtype .* got float32"):
        parametrize.register_parametrization(layer, "weight", Halved())
    with pytest.raises(ValueError, match="element 1 of what right_inverse returns must be a Tensor, got float"):
        parametrize.register_parametrization(layer, "weight", NotATensor())
    assert type(layer) is nn.Linear and layer.weight.dtype == F64
    np.testing.assert_array_equal(layer.weight.numpy(), W)


def test_remove_without_a_parametrization_and_assigning_a_parameter_are_refused():
    with pytest.raises(ValueError, match="remove_parametrizations: Linear does not have a parametrization on 'weight'"):
        parametrize.remove_parametrizations(linear(2, 2), "weight")
    layer = parametrizations.orthogonal(linear(3, 3))
    with pytest.raises(KeyError, match="'weight' already exists"):
        layer.weight = nn.Parameter(np.eye(3))
    assert "weight" not in layer._parameters


def test_orthogonal_errors_name_the_function_and_what_came():
    with pytest.raises(ValueError, match="orthogonal: expected a matrix or batch of matrices, got a tensor of 1"):
        parametrizations.orthogonal(linear(3, 3), "bias")
    with pytest.raises(ValueError, match="orthogonal: orthogonal_map has to be one of .* got 'qr'"):
        parametrizations.orthogonal(linear(3, 3), orthogonal_map="qr")
    with pytest.raises(ValueError, match="orthogonal: Linear has no parameter or buffer with name 'kernel'"):
        parametrizations.orthogonal(linear(3, 3), "kernel")
    layer = parametrizations.orthogonal(linear(3, 3))
    with pytest.raises(ValueError, match=r"orthogonal: expected .* shape \(3, 3\), got a tensor of shape \(2, 3\)"):
        layer.weight = mg.tensor(np.ones((2, 3)))


def test_spectral_norm_and_weight_norm_errors_name_the_function():
    with pytest.raises(IndexError, match=r"spectral_norm: dimension out of range .*\[-2, 1\] but got 2"):
        parametrizations.spectral_norm(linear(3, 3), dim=2)
    with pytest.raises(ValueError, match="spectral_norm: expected n_power_iterations to be positive, got 0"):
        parametrizations.spectral_norm(linear(3, 3), n_power_iterations=0)
    with pytest.raises(ValueError, match="weight_norm: dim must be None or an axis .* got 2"):
        parametrizations.weight_norm(linear(3, 3), dim=2)
    layer = linear(3, 3)
    with pytest.raises(ValueError, match="spectral_norm: Linear has no parameter or buffer with name 'kernel'"):
        parametrizations.spectral_norm(layer, "kernel")
    assert type(layer) is nn.Linear
