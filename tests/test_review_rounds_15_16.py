"""From an adversarial review of porting rounds 15 and 16's additions: cosh/sinh, sign, a tensor's own
attributes, float arange, functional_call with a shared submodule, func.grad of a function that calls
backward(), einsum's '...', DataLoader's batch_sampler and batch_size=None, clamp_min's tensor bound. Each
test failed before its fix; expected values come from closed forms or PyTorch's documented behaviour,
never from the library's own output."""

import copy
import math
import pickle

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import func, nn
from microgradseq.utils.data import BatchSampler, DataLoader, SequentialSampler, TensorDataset


# ---- cosh / sinh through exp ------------------------------------------------------------------

def test_sinh_of_a_tiny_argument_is_not_zero():
    # sinh x = x + x^3/6 + ...: sinh(1e-8) = 1e-8 to float32 precision; (e^x - e^-x)/2 cancels to 0
    got32 = mg.sinh(mg.tensor([1e-8])).data
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, [1e-8], rtol=1e-6)
    got64 = mg.sinh(mg.tensor([1e-20], dtype=mg.float64)).data
    np.testing.assert_allclose(got64, [1e-20], rtol=1e-15)


def test_cosh_and_sinh_are_finite_where_the_value_is_representable():
    # cosh(710) = 1.117e308 < float64 max; cosh(89) = 2.245e38 < float32 max (3.40e38): torch gives finite
    np.testing.assert_allclose(mg.cosh(mg.tensor([710.0], dtype=mg.float64)).data, [math.cosh(710.0)], rtol=1e-12)
    np.testing.assert_allclose(mg.cosh(mg.tensor([89.0])).data, [math.cosh(89.0)], rtol=1e-6)
    np.testing.assert_allclose(mg.sinh(mg.tensor([-89.0])).data, [math.sinh(-89.0)], rtol=1e-6)


# ---- sign ---------------------------------------------------------------------------------------

def test_sign_of_a_bool_tensor_as_pytorch():
    # aten sign_kernel: `if (iter.dtype() == ScalarType::Bool) cpu_kernel(iter, [](bool x) { return x; })`
    out = mg.sign(mg.tensor([True, False]))
    assert out.dtype == np.bool_ and out.tolist() == [True, False]


# ---- a script's own attributes on a tensor (__dict__) ------------------------------------------

def test_own_attributes_survive_deepcopy_as_pytorch():
    # torch/_tensor.py Tensor.__deepcopy__: `new_tensor.__dict__ = deepcopy(self.__dict__, memo)`
    t = mg.tensor([1.0, 2.0], requires_grad=True)
    t.g = mg.tensor([3.0, 4.0])
    c = copy.deepcopy(t)
    assert hasattr(c, "g") and c.g.tolist() == [3.0, 4.0]


def test_own_attributes_survive_pickle_as_pytorch():
    # torch/_tensor.py Tensor.__reduce_ex__: a tensor with state -> (_rebuild_from_type_v2, (..., state))
    t = mg.tensor([1.0, 2.0])
    t.label_name = "inputs"
    assert getattr(pickle.loads(pickle.dumps(t)), "label_name", None) == "inputs"


def test_is_cuda_cannot_be_shadowed_through_the_instance_dict():
    # torch: `t.is_cuda = True` -> AttributeError (a read-only attribute); here it silently sticks
    t = mg.tensor([1.0])
    with pytest.raises(AttributeError):
        t.is_cuda = True
    assert t.is_cuda is False


# ---- float arange ----------------------------------------------------------------------------

def test_float64_arange_is_start_plus_i_times_step():
    # CHANGELOG: "Float torch.arange computes each value start + i * step in float64 and rounds it once";
    # PyTorch's arange_kernel: `start + step * idx` in double (at vector-lane 0 for any SIMD width: i % 32 == 0)
    a = mg.arange(-10, 10, 0.01, dtype=mg.float64).data
    idx = np.arange(0, len(a), 32)
    expected = np.array([-10 + 0.01 * int(i) for i in idx])
    assert a[32] == -9.68          # -10 + 32 * 0.01 in double; numpy's arange fills start + i * (x1 - x0)
    np.testing.assert_array_equal(a[idx], expected)


# ---- func.functional_call ----------------------------------------------------------------------

def test_functional_call_with_a_shared_submodule_leaves_the_dict_given_alone():
    # nothing reassigns a parameter, so the dict must still hold the caller's tensors afterwards
    lin = nn.Linear(2, 2)
    model = nn.Sequential(lin, lin)          # one module under the names '0' and '1'
    W, B = mg.tensor(np.eye(2, dtype=np.float32)), mg.zeros(2)
    params = {"0.weight": W, "0.bias": B}
    out = func.functional_call(model, params, (mg.tensor([[1.0, 2.0]]),))
    np.testing.assert_allclose(out.data, [[1.0, 2.0]])
    assert params["0.weight"] is W and params["0.bias"] is B
    assert model[0].weight is not W


# ---- func.grad with a backward pass inside ---------------------------------------------------

def test_func_grad_of_a_function_calling_backward_is_not_silently_zero():
    # f(x) = sum(x^2) (its backward() a side effect): df/dx = 2x. PyTorch's torch.func raises for
    # backward() inside a transform; zeros are wrong either way
    x = mg.tensor([1.0, 2.0], dtype=mg.float64)

    def f(x):
        y = (x ** 2).sum()
        y.backward()
        return y
    try:
        g = func.grad(f)(x)
    except (RuntimeError, NotImplementedError):
        return
    np.testing.assert_allclose(g.data, [2.0, 4.0])


# ---- einsum ------------------------------------------------------------------------------------

def test_einsum_sums_ellipsis_axes_the_output_omits_as_pytorch():
    # aten/src/ATen/native/Linear.cpp einsum: "If ellipsis is not part of the output, add to contraction
    # dimensions" -- torch.einsum('a...b,...b->a', x, y) sums over the '...' axes
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 3, 4)), rng.standard_normal(4)
    out = mg.einsum("a...b,...b->a", mg.tensor(x), mg.tensor(y))
    np.testing.assert_allclose(out.data, np.einsum("acb,b->a", x, y), rtol=1e-12)


def test_einsum_error_for_a_non_tensor_operand_names_einsum():
    with pytest.raises((TypeError, ValueError), match="einsum"):
        mg.einsum("i", "x")


# ---- DataLoader / BatchSampler -----------------------------------------------------------------

def _ds():
    return TensorDataset(mg.tensor(np.arange(10.0).reshape(5, 2)), mg.tensor(np.arange(5)))


def test_dataloader_given_a_sampler_as_batch_sampler_names_itself():
    ds = _ds()
    loader = DataLoader(ds, batch_sampler=SequentialSampler(ds))     # a common slip: ints, not lists
    with pytest.raises(TypeError, match="DataLoader.*batch_sampler"):
        list(loader)


def test_dataloader_batch_size_none_with_a_batch_sampler_as_sampler():
    # PyTorch docs ("Disable automatic batching"): batch_size=None hands each sampler element (here a
    # list of indices) to dataset[...] and yields that item unstacked
    ds = _ds()
    loader = DataLoader(ds, sampler=BatchSampler(SequentialSampler(ds), 2, drop_last=False), batch_size=None)
    batches = list(loader)
    assert len(batches) == 3
    assert [b[0].shape for b in batches] == [(2, 2), (2, 2), (1, 2)]
    assert batches[2][1].tolist() == [4]


# ---- clamp_min with a tensor bound -----------------------------------------------------------

def test_clamp_min_takes_a_tensor_bound_as_pytorch():
    # torch: clamp_min.Tensor(Tensor self, Tensor min); gradient to self where self >= min
    x = mg.tensor([0.0, 1.0, 2.0], requires_grad=True, dtype=mg.float64)
    lo = mg.tensor([1.0, 0.0, 3.0], dtype=mg.float64)
    y = x.clamp_min(lo)
    assert y.tolist() == [1.0, 1.0, 3.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


def test_own_attributes_come_along_with_copy_copy():
    t = mg.tensor([1.0, 2.0])
    t.g = mg.tensor([3.0, 4.0])
    assert copy.copy(t).g is t.g


def test_dataloader_batch_size_none_refuses_drop_last_as_pytorch():
    ds = TensorDataset(mg.arange(6.0).reshape(3, 2))
    with pytest.raises(ValueError, match="DataLoader: batch_size=None option disables auto-batching and is "
                                         "mutually exclusive with drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    assert [item[0].tolist() for item in DataLoader(ds, batch_size=None)] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert len(DataLoader(ds, batch_size=None)) == 3


def test_dataloader_batch_size_none_gives_arrays_as_tensors_as_default_convert():
    """PyTorch's default_convert, with batching off: a numpy array of numbers comes as a tensor (in a tuple
    too); other items as they are."""
    items = [(np.array([1.0, 2.0]), 3), (np.array([4.0, 5.0]), 6)]
    out = list(DataLoader(items, batch_size=None))
    assert isinstance(out[0], tuple) and isinstance(out[0][0], mg.Tensor) and out[0][0].tolist() == [1.0, 2.0]
    assert out[1][1] == 6
