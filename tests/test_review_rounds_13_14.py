"""From an adversarial review of porting rounds 13 and 14's additions: torch.autograd.forward_ad, torch.func,
gradcheck's forward mode, t.max(d)'s .values/.indices, movedim, torch.all/any, how bools print. Each test
failed before its fix; expected values come from PyTorch's documentation, closed forms or finite
differences, never from the library's own output."""

import copy
import gc
import pickle
import weakref

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.autograd.forward_ad as fwAD
from microgradseq import func


def _root(array: np.ndarray) -> np.ndarray:
    while array.base is not None:
        array = array.base
    return array


# ---- func.functional_call: the module's own state put back ------------------------------------

class _Foo(mg.nn.Module):
    """PyTorch's documented example: forward does `self.foo = self.foo + 1` on a buffer."""

    def __init__(self):
        super().__init__()
        self.register_buffer("foo", mg.zeros(()))

    def forward(self, x):
        self.foo = self.foo + 1
        return x + self.foo


def test_functional_call_puts_back_a_buffer_the_forward_reassigns():
    # torch.func.functional_call docs: mod.foo is tensor(0.) after the call. Here the attribute is
    # put back but module._buffers (named_buffers, state_dict, save) keeps the call's tensor(1.).
    mod = _Foo()
    func.functional_call(mod, {"foo": mg.zeros(())}, mg.ones(()))
    assert float(mod.foo) == 0.0
    assert float(dict(mod.named_buffers())["foo"]) == 0.0
    assert float(np.asarray(mod.state_dict()["foo"])) == 0.0


def test_functional_call_writes_a_reassigned_buffer_back_into_the_dict():
    # torch.func.functional_call docs: `print(a['foo'])  # tensor(1.)`
    mod = _Foo()
    a = {"foo": mg.zeros(())}
    func.functional_call(mod, a, mg.ones(()))
    assert float(a["foo"]) == 1.0


# ---- reverse mode over a dual level: silent zeros -----------------------------------------------

def test_grad_over_a_dual_level_is_not_silently_zero():
    # make_dual and unpack_dual are "backward differentiable" (PyTorch docs), so
    # d/dx <J(x) v> for f = sum(x^3) is 6 x v. func.grad gives zeros here; raising (as the
    # library does for jvp(grad(f))) would also be acceptable, a silent 0 is not.
    x = mg.tensor([1.0, 2.0], dtype=np.float64)
    v = mg.tensor([1.0, -1.0], dtype=np.float64)

    def tangent_of_cube_sum(a):
        with fwAD.dual_level():
            return fwAD.unpack_dual((fwAD.make_dual(a, v) ** 3).sum()).tangent

    try:
        g = func.grad(tangent_of_cube_sum)(x)
    except (NotImplementedError, RuntimeError) as error:
        assert "grad" in str(error)
        return
    np.testing.assert_allclose(g.numpy(), 6 * x.numpy() * v.numpy())


# ---- memory: forward_ad --------------------------------------------------------------------------

def test_make_dual_does_not_keep_a_dead_duals_tangent_alive():
    # In PyTorch the tangent lives on the dual tensor: once the dual and the caller's reference are
    # gone, so is the tangent. Here _Level.given holds every tangent until the level exits.
    x = mg.tensor([1.0, 2.0, 3.0], dtype=np.float64)
    with fwAD.dual_level():
        tangent = mg.tensor(np.array([1.0, 2.0, 3.0]))
        alive = weakref.ref(_root(tangent.numpy()))
        dual = fwAD.make_dual(x, tangent)
        del dual, tangent
        gc.collect()
        assert alive() is None


# ---- t.max(1) / t.min(1): ExtremesAlong --------------------------------------------------------

def test_max_along_a_dim_does_not_keep_its_input_alive():
    # PyTorch's t.max(1) result holds values and indices, not t: under no_grad nothing refers to
    # t afterwards. ExtremesAlong._along keeps t (and its whole graph) as long as the values live.
    h = mg.tensor(np.random.default_rng(0).standard_normal((64, 1000)))
    alive = weakref.ref(_root(h.numpy()))
    with mg.no_grad():
        best = h.max(1)
    del h
    gc.collect()
    assert best.shape == (64,)
    assert alive() is None


@pytest.mark.parametrize("copier", [copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))],
                         ids=["deepcopy", "pickle"])
def test_max_along_a_dim_keeps_values_and_indices_through_deepcopy_and_pickle(copier):
    # torch.return_types.max survives deepcopy/pickle with .values/.indices; copy.copy keeps them
    # here too, deepcopy and pickle give a plain Tensor (AttributeError: no 'values').
    a = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    m = copier(mg.tensor(a).max(1))
    np.testing.assert_array_equal(m.values.numpy(), a.max(1))
    np.testing.assert_array_equal(m.indices.numpy(), a.argmax(1))


# ---- movedim -------------------------------------------------------------------------------------

@pytest.mark.parametrize("source, destination", [(0, 0), (-1, 0), (0, -1)])
def test_movedim_of_a_0d_tensor_is_a_no_op(source, destination):
    # ATen movedim: dims wrap as for a 1-d tensor, then "handle the case of scalar tensor as a
    # no-op" (return self.alias()). Here: ValueError "... axes of shape () (from 0 to -1)".
    t = mg.tensor(5.0)
    assert float(t.movedim(source, destination)) == 5.0


# ---- printing ------------------------------------------------------------------------------------

def test_summarised_bool_tensor_pads_by_the_entries_shown():
    # torch._tensor_str: _Formatter(get_summarized_data(self) if summarize else self), so a
    # summarised tensor's width comes from the entries printed; all shown are True -> width 4
    # ("tensor([True, True, True,  ..., True, True, True])"). Here a hidden False pads to 5.
    a = np.ones(3000, dtype=bool)
    a[1500] = False
    text = repr(mg.tensor(a))
    assert "[True, True, True," in text, text


# ---- gradcheck's new flags -----------------------------------------------------------------------

class _Square(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 2 * g * x

    @staticmethod
    def jvp(ctx, t):
        x, = ctx.saved_tensors
        return 2 * t * x


class _WrongJvp(_Square):
    @staticmethod
    def jvp(ctx, t):
        x, = ctx.saved_tensors
        return 3 * t * x          # wrong: d(x^2) = 2 x t


def test_gradcheck_refuses_a_non_bool_raise_exception():
    # The bar: bad input gets a clear error naming the function and the argument. raise_exception=
    # "no" is read as truthy and the GradcheckError is raised; other flags in the library use flag().
    x = mg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    with pytest.raises((TypeError, ValueError), match="gradcheck.*raise_exception"):
        mg.gradcheck(_WrongJvp.apply, x, check_forward_ad=True, raise_exception="no")


def test_gradcheck_refuses_a_non_bool_check_forward_ad():
    x = mg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    with pytest.raises((TypeError, ValueError), match="gradcheck.*check_forward_ad"):
        mg.gradcheck(lambda a: a * a, x, check_forward_ad="yes")


# ---- errors naming the public function ------------------------------------------------------------

def test_jacfwd_inside_a_dual_level_names_jacfwd():
    # The error says "jvp: called inside a forward-mode run (mg.jvp inside mg.jvp, ...)": neither
    # func.jacfwd, which was called, nor the dual level that makes it refuse.
    x = mg.tensor([1.0, 2.0], dtype=np.float64)
    with fwAD.dual_level():
        with pytest.raises((RuntimeError, NotImplementedError), match="jacfwd"):
            func.jacfwd(lambda a: a * 2)(x)


def test_gradcheck_forward_ad_inside_a_dual_level_names_gradcheck():
    x = mg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    with fwAD.dual_level():
        with pytest.raises((RuntimeError, NotImplementedError), match="gradcheck"):
            mg.gradcheck(lambda a: a * 2, x, check_forward_ad=True)


# ---- a Function's jvp over zero directions (an empty input) -----------------------------------------



def test_jacfwd_of_a_function_over_an_empty_input_is_empty():
    # J of x -> x^2 over x of shape (0,) has shape (0, 0) (jacrev gives it; so does jacfwd of the
    # same expression without the Function). _Call.tangent stacks an empty list of directions:
    # numpy's "ValueError: need at least one array to stack", naming nothing of the library.
    e = mg.zeros(0, dtype=np.float64)
    assert func.jacfwd(_Square.apply)(e).shape == (0, 0)


def test_jacfwd_of_a_function_with_one_empty_argument():
    # d/db (sum(a^2) + b) = I (2 x 2); d/da is (2, 0). Crashes as above (the empty a's pass).
    a, b = mg.zeros(0, dtype=np.float64), mg.ones(2, dtype=np.float64)
    ja, jb = func.jacfwd(lambda a, b: _Square.apply(a).sum() + b, argnums=(0, 1))(a, b)
    assert ja.shape == (2, 0)
    np.testing.assert_array_equal(jb.numpy(), np.eye(2))


def test_gradcheck_forward_ad_of_a_function_over_an_empty_input():
    x = mg.zeros(0, dtype=np.float64, requires_grad=True)
    assert mg.gradcheck(_Square.apply, x, check_forward_ad=True) is True


# ---- torch.all / torch.any function forms ------------------------------------------------------------

def test_all_over_a_tuple_of_dims():
    # torch.all docs: "dim (int or tuple of ints) - the dimension or dimensions to reduce".
    t = mg.tensor([[True, False], [True, True]])
    assert bool(mg.all(t, dim=(0, 1))) is False
    assert mg.any(t, dim=(0, 1), keepdim=True).shape == (1, 1)


def test_all_of_uint8_is_uint8():
    # torch.all docs: "returning output of dtype bool for all supported dtypes except uint8. For
    # uint8 the dtype of output is uint8 itself."
    out = mg.all(mg.tensor(np.array([1, 2], dtype=np.uint8)))
    assert out.dtype == np.uint8 and int(out) == 1


class _Penalised(mg.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = mg.nn.Linear(2, 1, dtype=np.float64)

    def forward(self, x):
        return self.lin(x).sum() + sum((p * p).sum() for p in self.parameters())


def test_functional_call_parameters_seen_by_forward_are_the_given_ones():
    # PyTorch's functional_call swaps the tensors into module._parameters (swap_tensor), so
    # self.parameters() inside forward yields them: W x + b + |W|^2 + |b|^2 = 3.5 + 5 + 0.25.
    # Here only the attribute is swapped, and the penalty reads the module's own parameters.
    W, b = np.array([[1.0, 2.0]]), np.array([0.5])
    out = func.functional_call(_Penalised(), {"lin.weight": mg.tensor(W), "lin.bias": mg.tensor(b)},
                               (mg.tensor([[1.0, 1.0]], dtype=np.float64),))
    assert float(out) == pytest.approx((W @ np.ones(2) + b).sum() + (W ** 2).sum() + (b ** 2).sum())


def test_max_along_a_dim_recorded_refuses_values_after_its_tensor_changed_in_place():
    """While recorded, .values is t's values at the indices with t's node: after t was given a new array in
    place, that node is not the one the values came from, so .values refuses (the indices still answer)."""
    t = mg.tensor([[1.0, 5.0], [7.0, 0.0]], dtype=np.float64, requires_grad=True)
    taken = t.max(1)
    with mg.no_grad():
        t += 1.0
    with pytest.raises(RuntimeError, match=r"max\(\.\.\.\)\.values: the tensor was changed in place"):
        taken.values
    assert taken.indices.tolist() == [1, 0]
