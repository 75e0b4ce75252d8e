"""Tests written from a mutation check of the parametrizations (nn/utils/parametrize.py, parametrizations.py,
orthogonal.py, spectral_norm.py and weight_norm.py's shared functions norm_except_dim, weight_normed and
weight_norm_dim): each pins a behaviour that a hand-made wrong implementation changed without any other
test noticing. Expected values are written in numpy from PyTorch's definitions (its
torch/nn/utils/parametrize.py, parametrizations.py, spectral_norm.py and weight_norm.py), never taken from
the library's own output."""

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import nn
from microgradseq.nn.utils import parametrizations, parametrize

F64 = np.float64


def set_values(tensor, array):
    tensor._replace_data(np.array(array, dtype=tensor.dtype))


def rng(seed=0):
    return np.random.default_rng(seed)


def linear(out_features, in_features, seed=0, bias=True):
    mg.manual_seed(seed)
    return nn.Linear(in_features, out_features, bias=bias, dtype=F64)


def np_normalize(x, eps):
    """F.normalize(x, dim=0, eps=eps): x / max(||x||, eps)."""
    return x / max(np.linalg.norm(x), eps)


def np_power_method(W, u, v, steps, eps, v_first):
    """PyTorch's power steps: the older hook's v <- W^T u, u <- W v (v_first); the parametrization's
    u <- W v, v <- W^T u; each normalised with eps."""
    for _ in range(steps):
        if v_first:
            v = np_normalize(W.T @ u, eps)
            u = np_normalize(W @ v, eps)
        else:
            u = np_normalize(W @ v, eps)
            v = np_normalize(W.T @ u, eps)
    return u, v


def gap_to_identity(Q):
    n, k = Q.shape[-2:]
    product = np.swapaxes(Q, -2, -1) @ Q if n >= k else Q @ np.swapaxes(Q, -2, -1)
    return np.abs(product - np.eye(min(n, k))).max()


class Scaled(nn.Module):
    """X -> scale X, right_inverse Y -> Y / scale."""

    def __init__(self, scale):
        super().__init__()
        self.scale = scale

    def forward(self, X):
        return X * self.scale

    def right_inverse(self, Y):
        return Y / self.scale


class Doubled(nn.Module):
    """X -> 2 X, without a right_inverse (so registering keeps X as the original)."""

    def forward(self, X):
        return X * 2.0


class Shifted(nn.Module):
    """X -> X + shift, right_inverse Y -> Y - shift."""

    def __init__(self, shift):
        super().__init__()
        self.shift = shift

    def forward(self, X):
        return X + self.shift

    def right_inverse(self, Y):
        return Y - self.shift


class Identity(nn.Module):
    """The identity, with an identity right_inverse (whatever dtype it is given, it gives back)."""

    def forward(self, X):
        return X

    def right_inverse(self, Y):
        return Y


class Split(nn.Module):
    """(x, y) -> x + y, right_inverse Z -> `parts` tensors (Z, 0, 0, ...)."""

    def __init__(self, parts=2):
        super().__init__()
        self.parts = parts

    def forward(self, x, y):
        return x + y

    def right_inverse(self, Z):
        return (Z,) + tuple(mg.zeros(Z.shape, dtype=Z.dtype) for _ in range(self.parts - 1))


class FirstRow(nn.Module):
    def forward(self, X):
        return X[0]


# ---- parametrize: ParametrizationList ---------------------------------------------------------------

def test_a_parametrization_list_needs_at_least_one_module():
    """PyTorch's ParametrizationList raises ValueError for an empty list of modules."""
    with pytest.raises(ValueError, match="ParametrizationList: requires one or more modules"):
        parametrize.ParametrizationList([], mg.tensor(np.ones((2, 2))))


def test_unsafe_is_stored_and_a_later_safe_registration_keeps_it():
    """PyTorch stores `unsafe` on the ParametrizationList and ORs a later registration's into it
    (`unsafe |= unsafe`); weight_norm and orthogonal register with unsafe=True, spectral_norm without."""
    layer = parametrize.register_parametrization(linear(3, 3), "weight", Scaled(2.0), unsafe=True)
    assert layer.parametrizations.weight.unsafe is True
    parametrize.register_parametrization(layer, "weight", Scaled(3.0))
    assert layer.parametrizations.weight.unsafe is True
    safe = parametrize.register_parametrization(linear(3, 3), "weight", Scaled(2.0))
    assert safe.parametrizations.weight.unsafe is False
    assert parametrizations.weight_norm(linear(3, 3)).parametrizations.weight.unsafe is True
    assert parametrizations.orthogonal(linear(3, 3)).parametrizations.weight.unsafe is True
    assert parametrizations.spectral_norm(linear(3, 3)).parametrizations.weight.unsafe is False


def test_assigning_runs_the_right_inverses_last_registered_first():
    """weight = f2(f1(X)) with f1 = X + 1 and f2 = 2 X: assigning Y stores f1^-1(f2^-1(Y)) = Y / 2 - 1
    (PyTorch's right_inverse walks `reversed(self)`)."""
    layer = parametrize.register_parametrization(linear(2, 2), "weight", Shifted(1.0))
    parametrize.register_parametrization(layer, "weight", Scaled(2.0))
    Y = np.array([[4.0, 6.0], [-2.0, 0.0]])
    layer.weight = mg.tensor(Y)
    np.testing.assert_array_equal(layer.parametrizations.weight.original.numpy(), Y / 2 - 1)
    np.testing.assert_array_equal(layer.weight.numpy(), Y)


def test_assigning_a_tensor_of_another_dtype_through_an_identity_right_inverse_is_refused():
    """PyTorch's right_inverse refuses a result whose dtype differs from the original's (ValueError) and
    leaves the original as it was."""
    layer = parametrize.register_parametrization(linear(2, 2), "weight", Identity())
    before = layer.parametrizations.weight.original.numpy().copy()
    with pytest.raises(ValueError, match="right_inverse returned dtype float32 for original, whose dtype is float64"):
        layer.weight = mg.tensor(np.ones((2, 2), dtype=np.float32))
    np.testing.assert_array_equal(layer.parametrizations.weight.original.numpy(), before)


def test_assigning_when_right_inverse_returns_a_sequence_of_another_length_is_refused():
    """PyTorch: `if len(value) != self.ntensors: raise ValueError`."""
    split = Split(2)
    layer = parametrize.register_parametrization(linear(2, 2), "weight", split)
    Y = np.array([[1.0, 2.0], [3.0, 4.0]])
    layer.weight = mg.tensor(Y)                 # right_inverse(Y) = (Y, 0): original0 = Y, original1 = 0
    np.testing.assert_array_equal(layer.parametrizations.weight.original0.numpy(), Y)
    np.testing.assert_array_equal(layer.parametrizations.weight.original1.numpy(), np.zeros((2, 2)))
    split.parts = 3
    with pytest.raises(ValueError, match="expected right_inverse to return a sequence of 2 tensors, got a "
                                         "sequence of length 3"):
        layer.weight = mg.tensor(np.ones((2, 2)))


def test_right_inverse_returning_a_number_is_a_value_error():
    class Number(nn.Module):
        def forward(self, X):
            return X

        def right_inverse(self, X):
            return 1.0

    layer = linear(2, 2)
    with pytest.raises(ValueError, match="right_inverse must return a Tensor or a sequence of tensors, got float"):
        parametrize.register_parametrization(layer, "weight", Number())
    assert type(layer) is nn.Linear


def test_several_originals_of_a_frozen_parameter_do_not_require_grad():
    """PyTorch: `Parameter(originali, original.requires_grad)`; so removing leaves a tensor that does not
    require grad either (t.detach(), registered as a buffer as PyTorch's _register_parameter_or_buffer)."""
    layer = linear(2, 2)
    layer.weight.requires_grad_(False)
    W = layer.weight.numpy().copy()
    parametrize.register_parametrization(layer, "weight", Split(2))
    weights = layer.parametrizations.weight
    assert isinstance(weights.original0, nn.Parameter) and not weights.original0.requires_grad
    assert not weights.original1.requires_grad
    parametrize.remove_parametrizations(layer, "weight")
    assert not isinstance(layer.weight, nn.Parameter) and not layer.weight.requires_grad
    assert [name for name, _ in layer.named_parameters()] == ["bias"]
    np.testing.assert_array_equal(layer.weight.numpy(), W)


def test_several_originals_of_a_buffer_are_buffers():
    """PyTorch registers each original as a Parameter only when the tensor was one."""
    module = nn.Module()
    module.register_buffer("w", mg.tensor(np.array([[3.0, 4.0], [0.0, 1.0]])))
    parametrizations.weight_norm(module, "w")
    assert list(module.parameters()) == []
    assert not module.parametrizations.w.original0.requires_grad
    assert not module.parametrizations.w.original1.requires_grad
    assert list(module.state_dict()) == ["parametrizations.w.original0", "parametrizations.w.original1"]
    np.testing.assert_allclose(module.w.numpy(), [[3.0, 4.0], [0.0, 1.0]], rtol=1e-15)


# ---- parametrize: register_parametrization --------------------------------------------------------

def test_the_parametrization_takes_the_modules_training_mode():
    """PyTorch's register_parametrization begins with `parametrization.train(module.training)`."""
    scaled = Scaled(2.0)
    parametrize.register_parametrization(linear(2, 2).eval(), "weight", scaled)
    assert scaled.training is False
    eval_scaled = Scaled(2.0).eval()
    parametrize.register_parametrization(linear(2, 2), "weight", eval_scaled)
    assert eval_scaled.training is True


def test_spectral_norm_registered_on_an_eval_module_takes_no_power_step_at_a_read():
    layer = linear(4, 3).eval()
    parametrizations.spectral_norm(layer)
    u = layer.parametrizations.weight[0]._u.numpy().copy()
    set_values(layer.parametrizations.weight.original, rng(1).normal(size=(4, 3)))
    layer.weight
    np.testing.assert_array_equal(layer.parametrizations.weight[0]._u.numpy(), u)


def test_a_second_parametrization_is_checked_unless_unsafe():
    """PyTorch checks a parametrization added to a parametrized tensor: f(Y) and right_inverse(f(Y)) must
    keep Y's shape and dtype, unless unsafe=True."""
    layer = parametrize.register_parametrization(linear(3, 3), "weight", Scaled(2.0))
    with pytest.raises(ValueError, match=r"may not change the shape .*\(3, 3\).*\(3,\)"):
        parametrize.register_parametrization(layer, "weight", FirstRow())
    assert len(layer.parametrizations.weight) == 1

    class BadInverse(nn.Module):
        def forward(self, X):
            return X

        def right_inverse(self, X):
            return X[0]

    with pytest.raises(ValueError, match=r"may not change the shape .*right_inverse\(it\) shape \(3,\)"):
        parametrize.register_parametrization(layer, "weight", BadInverse())
    parametrize.register_parametrization(layer, "weight", FirstRow(), unsafe=True)
    assert layer.weight.shape == (3,)


def test_a_parametrization_changing_the_dtype_needs_unsafe():
    """PyTorch: unless unsafe, f(right_inverse(X)) must keep X's dtype (ValueError), checked before anything
    changes."""
    class ToFloat32(nn.Module):
        def forward(self, X):
            return X.to(np.float32)

    layer = linear(2, 2)
    with pytest.raises(ValueError, match=r"may not change the dtype .*unparametrized dtype float64, parametrized "
                                         r"dtype float32"):
        parametrize.register_parametrization(layer, "weight", ToFloat32())
    assert type(layer) is nn.Linear
    parametrize.register_parametrization(layer, "weight", Doubled())
    with pytest.raises(ValueError, match=r"may not change the dtype .*parametrization\(it\) dtype float32"):
        parametrize.register_parametrization(layer, "weight", ToFloat32())


def test_a_tensor_that_is_none_cannot_be_parametrized():
    module = nn.Module()
    module.register_buffer("w", None)
    with pytest.raises(ValueError, match="register_parametrization: Module.w is None"):
        parametrize.register_parametrization(module, "w", Doubled())
    assert type(module) is nn.Module


def test_two_tensors_of_one_module_share_its_class_and_its_parametrizations():
    layer = linear(2, 3)
    W, b = layer.weight.numpy().copy(), layer.bias.numpy().copy()
    parametrize.register_parametrization(layer, "weight", Doubled())
    cls = type(layer)
    parametrize.register_parametrization(layer, "bias", Doubled())
    assert type(layer) is cls and parametrize.type_before_parametrizations(layer) is nn.Linear
    assert list(layer.parametrizations) == ["weight", "bias"]
    np.testing.assert_array_equal(layer.weight.numpy(), 2.0 * W)
    np.testing.assert_array_equal(layer.bias.numpy(), 2.0 * b)
    parametrize.remove_parametrizations(layer, "weight")
    assert type(layer) is cls and parametrize.is_parametrized(layer, "bias")
    np.testing.assert_array_equal(layer.bias.numpy(), 2.0 * b)
    parametrize.remove_parametrizations(layer, "bias")
    assert type(layer) is nn.Linear


def test_a_buffer_can_be_parametrized_and_its_original_stays_a_buffer():
    module = nn.Module()
    module.register_buffer("w", mg.tensor(np.array([[1.0, 2.0], [3.0, 4.0]])))
    parametrize.register_parametrization(module, "w", Doubled())
    assert list(module.parameters()) == [] and list(module.state_dict()) == ["parametrizations.w.original"]
    np.testing.assert_array_equal(module.w.numpy(), [[2.0, 4.0], [6.0, 8.0]])


def test_flags_names_and_parametrizations_are_checked():
    layer = linear(2, 2)
    with pytest.raises(ValueError, match="register_parametrization: unsafe must be True or False, got 1"):
        parametrize.register_parametrization(layer, "weight", Scaled(2.0), unsafe=1)
    with pytest.raises(TypeError, match="register_parametrization: expected the tensor's name as a str, got int"):
        parametrize.register_parametrization(layer, 5, Scaled(2.0))
    with pytest.raises(TypeError, match="parametrization that is a Module, got Linear and function"):
        parametrize.register_parametrization(layer, "weight", lambda X: X)
    assert type(layer) is nn.Linear
    parametrize.register_parametrization(layer, "weight", Scaled(2.0))
    with pytest.raises(ValueError, match="remove_parametrizations: leave_parametrized must be True or False"):
        parametrize.remove_parametrizations(layer, "weight", leave_parametrized="yes")


def test_assigning_other_attributes_of_a_parametrized_module_registers_them_as_usual():
    layer = parametrize.register_parametrization(linear(2, 2), "weight", Scaled(2.0))
    bias = nn.Parameter(np.zeros(2))
    layer.bias = bias
    layer.bonus = nn.Parameter(np.ones(1))
    assert layer._parameters["bias"] is bias and "bonus" in layer._parameters


def test_removing_a_dtype_changing_parametrization_leaving_it_parametrized_is_refused():
    """PyTorch's remove_parametrizations sets the original to the parametrized value, which must keep the
    dtype (the library raises a ValueError naming the two dtypes)."""
    class ToFloat32(nn.Module):
        def forward(self, X):
            return X.to(np.float32)

    layer = parametrize.register_parametrization(linear(2, 2), "weight", ToFloat32(), unsafe=True)
    with pytest.raises(ValueError, match="changes the dtype from float64 to float32"):
        parametrize.remove_parametrizations(layer, "weight")
    parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    assert layer.weight.dtype == F64


# ---- parametrize: cached() ---------------------------------------------------------------------------

def test_cached_keeps_one_value_per_module_and_per_tensor():
    """PyTorch's cache key is (id(module), tensor_name)."""
    first, second = linear(2, 2, seed=1), linear(2, 2, seed=2)
    W1, W2, b1 = first.weight.numpy().copy(), second.weight.numpy().copy(), first.bias.numpy().copy()
    for module in (first, second):
        parametrize.register_parametrization(module, "weight", Doubled())
    parametrize.register_parametrization(first, "bias", Doubled())
    with parametrize.cached():
        np.testing.assert_array_equal(first.weight.numpy(), 2.0 * W1)
        np.testing.assert_array_equal(second.weight.numpy(), 2.0 * W2)
        np.testing.assert_array_equal(first.bias.numpy(), 2.0 * b1)
        np.testing.assert_array_equal(first.weight.numpy(), 2.0 * W1)


def test_a_cached_block_left_by_an_exception_forgets_its_values():
    layer = parametrize.register_parametrization(linear(2, 2), "weight", Doubled())
    with pytest.raises(KeyError):
        with parametrize.cached():
            inside = layer.weight
            raise KeyError("out")
    assert layer.weight is not inside and layer.weight is not layer.weight


# ---- orthogonal ----------------------------------------------------------------------------------------

def test_householder_reads_the_diagonal_truncated_as_pytorchs_int():
    """PyTorch multiplies column i by X[i, i].int(): 2.5 -> 2, -0.7 -> 0, -1.0 -> -1."""
    layer = parametrizations.orthogonal(linear(3, 3), orthogonal_map="householder", use_trivialization=False)
    X = np.diag([2.5, -0.7, -1.0])        # nothing below the diagonal: each H_i = I - 2 e_i e_i^T
    set_values(layer.parametrizations.weight.original, X)
    np.testing.assert_allclose(layer.weight.numpy(), np.diag([-2.0, 0.0, 1.0]), rtol=0, atol=1e-15)


@pytest.mark.parametrize("shape", ((3, 3), (5, 3), (3, 5)))
def test_householder_without_a_base_keeps_the_weights_q_at_registration(shape):
    """Without use_trivialization PyTorch stores geqrf's reflectors (diagonal the signs of R's, flipped
    where tau == 0), so the weight becomes the Q of W = QR with diag(R) >= 0 (of W^T for a wide W)."""
    layer = linear(*shape)
    W = layer.weight.numpy().copy()
    parametrizations.orthogonal(layer, orthogonal_map="householder", use_trivialization=False)
    assert layer.parametrizations.weight.original.shape == shape
    transposed = shape[0] < shape[1]
    Q, R = np.linalg.qr(W.T if transposed else W)
    Q = Q * np.sign(np.diag(R))
    np.testing.assert_allclose(layer.weight.numpy(), Q.T if transposed else Q, rtol=0, atol=1e-12)


def test_householder_without_a_base_keeps_an_identity_weight():
    """geqrf of I takes no reflection (tau == 0); PyTorch flips those diagonal signs so the map gives I."""
    layer = linear(3, 3)
    set_values(layer.weight, np.eye(3))
    parametrizations.orthogonal(layer, orthogonal_map="householder", use_trivialization=False)
    np.testing.assert_allclose(layer.weight.numpy(), np.eye(3), rtol=0, atol=1e-15)


def test_a_square_weight_that_is_not_orthogonal_starts_as_its_qr_q():
    """PyTorch's right_inverse with a base: a square Q that is not orthogonal becomes _make_orthogonal(Q),
    the Q of QR with diag(R) >= 0."""
    layer = linear(4, 4)
    W = layer.weight.numpy().copy()
    parametrizations.orthogonal(layer)
    Q, R = np.linalg.qr(W)
    np.testing.assert_allclose(layer.weight.numpy(), Q * np.sign(np.diag(R)), rtol=0, atol=1e-12)


def test_a_nearly_orthogonal_weight_is_made_orthogonal():
    """PyTorch's _is_orthogonal: allclose(Q^T Q, I, atol=10 n eps); Q + 1e-6 fails it and is replaced by
    its QR's Q."""
    Q = np.linalg.qr(rng(2).normal(size=(4, 4)))[0]
    layer = linear(4, 4)
    set_values(layer.weight, Q + 1e-6 * rng(3).normal(size=(4, 4)))
    parametrizations.orthogonal(layer)
    assert gap_to_identity(layer.weight.numpy()) < 1e-14
    assert gap_to_identity(layer.parametrizations.weight[0].base.numpy()) < 1e-14


def test_a_tall_weights_base_is_a_full_orthogonal_matrix_and_training_keeps_it_orthogonal():
    """PyTorch completes a tall Q with random columns and orthogonalises the n x n result."""
    layer = parametrizations.orthogonal(linear(5, 2))
    assert gap_to_identity(layer.parametrizations.weight[0].base.numpy()) < 1e-14
    set_values(layer.parametrizations.weight.original, np.resize([-1.0, 0.3, 0.2, -1.0, 0.5], (5, 2)))
    assert gap_to_identity(layer.weight.numpy()) < 1e-13


@pytest.mark.parametrize("orthogonal_map", ("matrix_exp", "cayley", "householder"))
@pytest.mark.parametrize("shape", ((3, 3), (4, 2)))
def test_orthogonal_keeps_a_float32_weight_float32(orthogonal_map, shape):
    mg.manual_seed(0)
    layer = nn.Linear(shape[1], shape[0], dtype=np.float32)
    parametrizations.orthogonal(layer, orthogonal_map=orthogonal_map, use_trivialization=False)
    set_values(layer.parametrizations.weight.original, np.eye(*shape))
    assert layer.weight.dtype == np.float32
    assert gap_to_identity(layer.weight.numpy().astype(F64)) < 1e-6


def test_orthogonal_refuses_a_name_that_is_no_str():
    with pytest.raises(ValueError, match="orthogonal: Linear has no parameter or buffer with name 5"):
        parametrizations.orthogonal(linear(3, 3), 5)


def test_orthogonal_refuses_an_integer_weight():
    """The library's own check (PyTorch has no orthogonal integer matrices to offer either): a TypeError."""
    module = nn.Module()
    module.register_buffer("w", mg.tensor(np.eye(2, dtype=np.int64)))
    with pytest.raises(TypeError, match="orthogonal: expected a floating-point w, got dtype int64"):
        parametrizations.orthogonal(module, "w")


def test_orthogonal_assignment_of_another_shape_with_the_same_last_axis_is_refused():
    layer = parametrizations.orthogonal(linear(3, 2))
    with pytest.raises(ValueError, match=r"orthogonal: expected .* shape \(3, 2\), got a tensor of shape \(4, 2\)"):
        layer.weight = mg.tensor(np.ones((4, 2)))


# ---- spectral_norm (the parametrization) ---------------------------------------------------------------

def test_spectral_norm_takes_n_power_iterations_u_first_at_each_read_in_training():
    """PyTorch's _SpectralNorm.forward in training: n steps u <- W v / ||W v||, v <- W^T u / ||W^T u||,
    then W / (u^T W v)."""
    layer = parametrizations.spectral_norm(linear(4, 3), n_power_iterations=3)
    spectral = layer.parametrizations.weight[0]
    W = rng(4).normal(size=(4, 3))
    u0, v0 = np_normalize(rng(5).normal(size=4), 1e-12), np_normalize(rng(6).normal(size=3), 1e-12)
    set_values(layer.parametrizations.weight.original, W)
    set_values(spectral._u, u0)
    set_values(spectral._v, v0)
    weight = layer.weight.numpy()
    u, v = np_power_method(W, u0, v0, 3, 1e-12, v_first=False)
    np.testing.assert_allclose(spectral._u.numpy(), u, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(spectral._v.numpy(), v, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(weight, W / (u @ W @ v), rtol=1e-13)


def test_spectral_norm_eps_bounds_the_norms_in_the_power_steps():
    """F.normalize(x, eps) divides by max(||x||, eps): with eps = 10 and a small W every step divides by 10."""
    layer = parametrizations.spectral_norm(linear(3, 2), eps=10.0)
    spectral = layer.parametrizations.weight[0]
    W = 0.1 * rng(7).normal(size=(3, 2))
    u0, v0 = np.array([1.0, 0.0, 0.0]), np.array([0.6, 0.8])
    set_values(layer.parametrizations.weight.original, W)
    set_values(spectral._u, u0)
    set_values(spectral._v, v0)
    weight = layer.weight.numpy()
    u, v = np_power_method(W, u0, v0, 1, 10.0, v_first=False)
    np.testing.assert_allclose(u, W @ v0 / 10.0)              # the reference divides by eps, as PyTorch's
    np.testing.assert_allclose(weight, W / (u @ W @ v), rtol=1e-13)


def test_spectral_norm_of_a_vector_uses_eps():
    """A 1-d weight is F.normalize(w, dim=0, eps=eps): w / max(||w||, eps)."""
    layer = linear(2, 2)
    set_values(layer.bias, [0.3, 0.4])
    parametrizations.spectral_norm(layer, "bias", eps=2.0)
    np.testing.assert_allclose(layer.bias.numpy(), [0.15, 0.2], rtol=1e-15)


def test_spectral_norm_registration_takes_fifteen_power_steps_u_first():
    """PyTorch's _SpectralNorm.__init__ runs _power_method(weight_mat, 15), u first: singular values 3 and 1
    shrink the error by 9 a step, so sigma = u^T W v is 3 to 1e-12 and v = W^T u / ||W^T u|| exactly."""
    layer = linear(3, 3).eval()
    U, V = np.linalg.qr(rng(8).normal(size=(3, 3)))[0], np.linalg.qr(rng(9).normal(size=(3, 3)))[0]
    W = U @ np.diag([3.0, 1.0, 0.5]) @ V.T
    set_values(layer.weight, W)
    parametrizations.spectral_norm(layer)
    spectral = layer.parametrizations.weight[0]
    u, v = spectral._u.numpy(), spectral._v.numpy()
    assert u @ W @ v == pytest.approx(3.0, abs=1e-10)
    np.testing.assert_allclose(v, np_normalize(W.T @ u, 1e-12), rtol=0, atol=1e-15)
    np.testing.assert_allclose(layer.weight.numpy(), W / (u @ W @ v), rtol=1e-14)


def test_spectral_norm_initial_order_is_u_first_on_a_slowly_converging_weight():
    """With singular values 3 and 2.9 fifteen steps do not converge, so only the order PyTorch takes
    (u, then v) leaves v = W^T u / ||W^T u||. (In eval mode: in training mode the forward that checks the
    registration takes one more step, u first, as PyTorch's `Z = self()`.)"""
    layer = linear(3, 3).eval()
    U, V = np.linalg.qr(rng(10).normal(size=(3, 3)))[0], np.linalg.qr(rng(11).normal(size=(3, 3)))[0]
    W = U @ np.diag([3.0, 2.9, 2.8]) @ V.T
    set_values(layer.weight, W)
    parametrizations.spectral_norm(layer)
    spectral = layer.parametrizations.weight[0]
    u, v = spectral._u.numpy(), spectral._v.numpy()
    np.testing.assert_allclose(v, np_normalize(W.T @ u, 1e-12), rtol=0, atol=1e-14)
    assert np.abs(u - np_normalize(W @ v, 1e-12)).max() > 1e-6


def test_spectral_norm_dim_none_is_axis_0_for_a_convolution():
    """PyTorch: dim None is 0 for every module but ConvTranspose; the matrix is W.reshape(out, -1)."""
    mg.manual_seed(0)
    conv = parametrizations.spectral_norm(nn.Conv1d(2, 3, 4, dtype=F64), n_power_iterations=60)
    W = conv.parametrizations.weight.original.numpy()
    sigma = np.linalg.svd(W.reshape(3, -1), compute_uv=False)[0]
    np.testing.assert_allclose(conv.weight.numpy(), W / sigma, rtol=1e-10)


def test_spectral_norm_takes_negative_dims():
    """dim in [-ndim, ndim): -1 of a Conv1d weight is its axis 2 (the kernel), -2 of a Linear's is 0."""
    mg.manual_seed(0)
    conv = parametrizations.spectral_norm(nn.Conv1d(2, 3, 4, dtype=F64), n_power_iterations=500, dim=-1)
    W = conv.parametrizations.weight.original.numpy()
    sigma = np.linalg.svd(np.moveaxis(W, 2, 0).reshape(4, -1), compute_uv=False)[0]
    np.testing.assert_allclose(conv.weight.numpy(), W / sigma, rtol=1e-10)
    layer = parametrizations.spectral_norm(linear(4, 3), n_power_iterations=60, dim=-2)
    assert layer.parametrizations.weight[0].dim == 0


@pytest.mark.parametrize("dtype", (F64, np.float32))
def test_spectral_norm_buffers_have_the_weights_dtype(dtype):
    mg.manual_seed(0)
    layer = parametrizations.spectral_norm(nn.Linear(3, 4, dtype=dtype))
    assert layer.parametrizations.weight[0]._u.dtype == dtype and layer.parametrizations.weight[0]._v.dtype == dtype
    assert layer.weight.dtype == dtype
    hooked = nn.utils.spectral_norm(nn.Linear(3, 4, dtype=dtype))
    assert hooked.weight_u.dtype == dtype and hooked.weight_v.dtype == dtype


def test_spectral_norm_refuses_settings_that_are_no_ints():
    """n_power_iterations must be a positive int (ValueError) and dim an axis (IndexError), both forms."""
    for spectral_norm in (parametrizations.spectral_norm, nn.utils.spectral_norm):
        with pytest.raises(ValueError, match="spectral_norm: expected n_power_iterations to be positive, got 1.5"):
            spectral_norm(linear(3, 3), n_power_iterations=1.5)
        with pytest.raises(IndexError, match=r"spectral_norm: dimension out of range .* but got 0.0\)"):
            spectral_norm(linear(3, 3), dim=0.0)


# ---- spectral_norm (the older hook) ---------------------------------------------------------------------

def test_spectral_norm_hook_takes_n_power_iterations_v_first_at_each_forward_in_training():
    """PyTorch's SpectralNorm.compute_weight: n steps v <- W^T u / ||W^T u||, u <- W v / ||W v||."""
    layer = nn.utils.spectral_norm(linear(4, 3), n_power_iterations=3)
    W = rng(12).normal(size=(4, 3))
    u0, v0 = np_normalize(rng(13).normal(size=4), 1e-12), np_normalize(rng(14).normal(size=3), 1e-12)
    set_values(layer.weight_orig, W)
    set_values(layer.weight_u, u0)
    set_values(layer.weight_v, v0)
    layer(mg.tensor(np.ones((1, 3))))
    u, v = np_power_method(W, u0, v0, 3, 1e-12, v_first=True)
    np.testing.assert_allclose(layer.weight_u.numpy(), u, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(layer.weight_v.numpy(), v, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(layer.weight.numpy(), W / (u @ W @ v), rtol=1e-13)


def test_spectral_norm_hook_eps_bounds_the_norms():
    layer = nn.utils.spectral_norm(linear(3, 2), eps=10.0)
    W = 0.1 * rng(15).normal(size=(3, 2))
    u0, v0 = np.array([1.0, 0.0, 0.0]), np.array([0.6, 0.8])
    set_values(layer.weight_orig, W)
    set_values(layer.weight_u, u0)
    set_values(layer.weight_v, v0)
    layer(mg.tensor(np.ones((1, 2))))
    u, v = np_power_method(W, u0, v0, 1, 10.0, v_first=True)
    np.testing.assert_allclose(layer.weight.numpy(), W / (u @ W @ v), rtol=1e-13)


def test_spectral_norm_hook_starts_from_unit_vectors_and_a_readable_weight():
    """PyTorch's apply: u, v = normalize(normal_(0, 1)); `module.weight` is weight.data until the first
    forward."""
    layer = linear(5, 3)
    W = layer.weight.numpy().copy()
    nn.utils.spectral_norm(layer)
    assert np.linalg.norm(layer.weight_u.numpy()) == pytest.approx(1.0, abs=1e-14)
    assert np.linalg.norm(layer.weight_v.numpy()) == pytest.approx(1.0, abs=1e-14)
    assert layer.weight_u.shape == (5,) and layer.weight_v.shape == (3,)
    np.testing.assert_array_equal(layer.weight.numpy(), W)


def test_spectral_norm_hook_dim_none_is_axis_0_and_negative_dims_count_from_the_end():
    mg.manual_seed(0)
    conv = nn.utils.spectral_norm(nn.Conv1d(2, 3, 4, dtype=F64), n_power_iterations=60)
    assert conv.weight_u.shape == (3,) and conv.weight_v.shape == (8,)
    W = conv.weight_orig.numpy()
    conv(mg.tensor(np.ones((1, 2, 4))))
    np.testing.assert_allclose(conv.weight.numpy(), W / np.linalg.svd(W.reshape(3, -1), compute_uv=False)[0],
                               rtol=1e-10)
    mg.manual_seed(0)
    last = nn.utils.spectral_norm(nn.Conv1d(2, 3, 4, dtype=F64), dim=-1)
    assert last.weight_u.shape == (4,) and last.weight_v.shape == (6,)
    assert nn.utils.spectral_norm(linear(4, 3), dim=-2).weight_u.shape == (4,)


def test_spectral_norm_hook_refusals():
    """A name that is no initialized parameter is a ValueError, a name that is no str a TypeError; two hooks
    on different parameters are fine."""
    module = nn.Module()
    module.register_buffer("w", mg.tensor(np.eye(2)))
    with pytest.raises(ValueError, match="spectral_norm: Module has no parameter 'w'"):
        nn.utils.spectral_norm(module, "w")
    with pytest.raises(ValueError, match="spectral_norm: the parameter 'weight' of LazyLinear is not initialized"):
        nn.utils.spectral_norm(nn.LazyLinear(3))
    with pytest.raises(TypeError, match="spectral_norm: expected a Module and the parameter's name as a str"):
        nn.utils.spectral_norm(linear(2, 2), 5)
    both = nn.utils.spectral_norm(nn.utils.spectral_norm(linear(3, 2)), "bias")
    assert sorted(both.state_dict()) == ["bias_orig", "bias_u", "bias_v", "weight_orig", "weight_u", "weight_v"]


def test_remove_spectral_norm_removes_only_the_named_hook_and_forward_still_works():
    layer = nn.utils.spectral_norm(nn.utils.spectral_norm(linear(3, 2)), "bias").eval()
    W, u, v = layer.weight_orig.numpy().copy(), layer.weight_u.numpy().copy(), layer.weight_v.numpy().copy()
    nn.utils.remove_spectral_norm(layer, "bias")
    assert "weight_orig" in layer.state_dict() and "bias_orig" not in layer.state_dict()
    assert isinstance(layer.bias, nn.Parameter)
    layer(mg.tensor(np.ones((1, 2))))
    np.testing.assert_allclose(layer.weight.numpy(), W / (u @ W @ v), rtol=1e-14)
    nn.utils.remove_spectral_norm(layer)
    assert len(layer._forward_pre_hooks) == 0
    out = layer(mg.tensor(np.ones((1, 2))))
    np.testing.assert_allclose(out.numpy(), np.ones((1, 2)) @ layer.weight.numpy().T + layer.bias.numpy())


def test_spectral_norm_hook_repr_names_its_settings():
    """The library's repr of the hook (PyTorch's SpectralNorm has none): its name and settings."""
    layer = nn.utils.spectral_norm(linear(3, 2), n_power_iterations=2)
    (hook,) = layer._forward_pre_hooks.values()
    assert repr(hook) == "SpectralNorm(name='weight', n_power_iterations=2, dim=0)"


# ---- weight_norm (the parametrization) and the shared functions ------------------------------------------

def test_weight_norm_stores_the_weight_itself_as_v():
    """PyTorch's _WeightNorm.right_inverse returns (norm_except_dim(w, 2, dim), w)."""
    layer = linear(3, 2)
    W = layer.weight.numpy().copy()
    parametrizations.weight_norm(layer)
    np.testing.assert_array_equal(layer.parametrizations.weight.original1.numpy(), W)


@pytest.mark.parametrize("dim", (None, -1))
def test_weight_norm_over_the_whole_weight_has_a_0d_g(dim):
    """PyTorch's dim None is -1, for which norm_except_dim is v.norm(): a 0-d g."""
    layer = linear(3, 2)
    W = layer.weight.numpy().copy()
    parametrizations.weight_norm(layer, dim=dim)
    g = layer.parametrizations.weight.original0
    assert g.shape == ()
    assert g.item() == pytest.approx(np.sqrt((W ** 2).sum()), rel=1e-15)


def test_weight_norm_refuses_a_dim_that_is_no_int_and_a_name_that_is_no_tensor():
    with pytest.raises(ValueError, match="weight_norm: dim must be None or an axis .* got True"):
        parametrizations.weight_norm(linear(3, 2), dim=True)
    with pytest.raises(ValueError, match="weight_norm: dim must be None or an axis .* got 1.0"):
        parametrizations.weight_norm(linear(3, 2), dim=1.0)
    with pytest.raises(ValueError, match="weight_norm: Linear has no parameter or buffer with name 5"):
        parametrizations.weight_norm(linear(3, 2), name=5)
    with pytest.raises(ValueError, match="weight_norm: Linear has no parameter or buffer with name 'bias'"):
        parametrizations.weight_norm(linear(3, 2, bias=False), name="bias")
