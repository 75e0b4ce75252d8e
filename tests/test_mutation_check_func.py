"""From a mutation check of the function transforms and forward mode (func.py, transforms.py,
autograd_functional.py, forward_ad.py, forward.py): each test kills a hand-made mutant the rest of the
suite let through. Expected values come from closed forms, finite differences in float64, hand-written
numpy, or PyTorch's documented behaviour, never from the library's own output."""

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.autograd.forward_ad as fwAD
from microgradseq import func
from microgradseq.autograd import functional as AF


def f64(values):
    return mg.tensor(np.asarray(values, dtype=np.float64))


# ---- func: argnums ------------------------------------------------------------------------------

def test_grad_with_a_one_element_tuple_argnums_returns_a_one_element_tuple():
    """PyTorch: argnums a tuple gives a tuple of gradients, also a tuple of one: (d/dx,), not d/dx."""
    x, y = f64([1.0, 2.0]), f64([3.0, -1.0])
    result = func.grad(lambda a, b: (a * b).sum(), argnums=(0,))(x, y)
    assert isinstance(result, tuple) and len(result) == 1
    assert np.allclose(result[0].numpy(), [3.0, -1.0])
    J = func.jacrev(lambda a, b: a * b, argnums=(1,))(x, y)
    assert isinstance(J, tuple) and len(J) == 1 and np.allclose(J[0].numpy(), np.diag([1.0, 2.0]))
    J = func.jacfwd(lambda a, b: a * b, argnums=(1,))(x, y)
    assert isinstance(J, tuple) and len(J) == 1 and np.allclose(J[0].numpy(), np.diag([1.0, 2.0]))


def test_a_tuple_argnums_gives_a_tuple_not_a_list():
    """PyTorch: the gradients for argnums=(0, 1) come back as a tuple."""
    x, y = f64([1.0, 2.0]), f64([3.0, -1.0])
    assert type(func.grad(lambda a, b: (a * b).sum(), argnums=(0, 1))(x, y)) is tuple
    for transform in (func.jacrev, func.jacfwd):
        result = transform(lambda a, b: a * b, argnums=(0, 1))(x, y)
        assert type(result) is tuple and len(result) == 2
        assert np.allclose(result[0].numpy(), np.diag([3.0, -1.0])) and np.allclose(result[1].numpy(), np.diag([1.0, 2.0]))


@pytest.mark.parametrize("transform", [func.grad, func.grad_and_value, func.jacrev, func.jacfwd])
def test_bad_argnums_are_refused(transform):
    """PyTorch refuses argnums naming a position twice, out of range (argnums == the number of
    arguments), an empty tuple, and a list (only an int or a tuple of ints)."""
    x, y = f64([1.0, 2.0]), f64([3.0, -1.0])
    f = lambda a, b: (a * b).sum()    # noqa: E731
    with pytest.raises(ValueError, match="distinct"):
        transform(f, argnums=(0, 0))(x, y)
    with pytest.raises(ValueError, match="argnums"):
        transform(f, argnums=2)(x, y)
    with pytest.raises(ValueError, match="argnums"):
        transform(f, argnums=-3)(x, y)
    with pytest.raises(TypeError, match="argnums"):
        transform(f, argnums=())(x, y)
    with pytest.raises(TypeError, match="argnums"):
        transform(f, argnums=[0])(x, y)


def test_an_argument_holding_no_tensor_is_refused():
    """Differentiating an argument with no tensor in it (an empty dict) is an error naming it, as documented in _fresh."""
    with pytest.raises(ValueError, match="holds no tensor"):
        func.grad(lambda p, x: x.sum())({}, f64([1.0]))


# ---- func: has_aux, recording, results ---------------------------------------------------------

def test_grad_ignores_an_outer_no_grad():
    """PyTorch (torch.func.grad docs, 'Case 1'): grad ignores an outer torch.no_grad and still differentiates."""
    x = f64([0.5, -2.0])
    with mg.no_grad():
        g = func.grad(lambda t: (t ** 3).sum())(x)
        gx, v = func.grad_and_value(lambda t: (t * t).sum())(x)
        J = func.jacrev(lambda t: t.sin())(x)
        out, vjp_fn = func.vjp(lambda t: t.exp(), x)
        (u,) = vjp_fn(f64([1.0, 1.0]))
    assert np.allclose(g.numpy(), 3 * np.array([0.5, -2.0]) ** 2)
    assert np.allclose(gx.numpy(), [1.0, -4.0]) and np.isclose(v.item(), 4.25)
    assert np.allclose(J.numpy(), np.diag(np.cos([0.5, -2.0])))
    assert np.allclose(u.numpy(), np.exp([0.5, -2.0]))


@pytest.mark.parametrize("bad", [lambda t: [t.sum(), "aux"], lambda t: (t.sum(), "aux", 3)])
def test_has_aux_requires_a_pair_tuple(bad):
    """PyTorch: with has_aux=True f must return a tuple (output, aux) of exactly two; a list or a triple is an error."""
    x = f64([1.0, 2.0])
    with pytest.raises(TypeError, match="pair"):
        func.grad(bad, has_aux=True)(x)


@pytest.mark.parametrize("transform", [func.jacrev, func.jacfwd])
def test_integer_outputs_are_refused_by_jacobians(transform):
    """An integer output has no derivative: PyTorch refuses it; here a TypeError."""
    x = f64([1.0, 2.0])
    with pytest.raises(TypeError, match="floating-point"):
        transform(lambda t: (t > 0).long() if hasattr(t, "long") else (t > 0))(x)


def test_grad_refuses_a_one_element_output_that_is_not_0_d():
    """PyTorch's torch.func.grad requires a 0-d (scalar) output: shape (1,) is refused."""
    x = f64([1.0, 2.0])
    with pytest.raises(ValueError, match="0-d"):
        func.grad(lambda t: t.sum().reshape(1))(x)


def test_grad_and_value_returns_a_value_without_history():
    """PyTorch: the value grad_and_value returns is the plain output, no autograd history; here requires_grad is False."""
    x = f64([1.0, 2.0])
    g, value = func.grad_and_value(lambda t: (t * t).sum())(x)
    assert not value.requires_grad and value.grad_fn is None and value.item() == 5.0


def test_vjp_with_has_aux_returns_output_vjp_fn_then_aux():
    """PyTorch: vjp(f, *primals, has_aux=True) returns (output, vjp_fn, aux), in that order."""
    x = f64([1.0, 2.0])
    note = f64([7.0])
    out, vjp_fn, aux = func.vjp(lambda t: (t * 3, note), x, has_aux=True)
    assert aux is note and callable(vjp_fn)
    assert np.allclose(vjp_fn(f64([1.0, 1.0]))[0].numpy(), [3.0, 3.0])


def test_vjp_without_primals_is_refused():
    """vjp(f) with no primal has nothing to differentiate: a ValueError (PyTorch raises too)."""
    with pytest.raises(ValueError, match="at least one primal"):
        func.vjp(lambda: f64([1.0]))


def test_jvp_refuses_lists_for_primals_and_tangents():
    """PyTorch: torch.func.jvp's primals and tangents must be tuples; a list is refused."""
    x, v = f64([1.0, 2.0]), f64([1.0, 0.0])
    with pytest.raises(TypeError, match="primals must be a non-empty tuple"):
        func.jvp(lambda a: a * 2, [x], (v,))
    with pytest.raises(TypeError, match="tangents must be a non-empty tuple"):
        func.jvp(lambda a: a * 2, (x,), [v])


def test_jvp_refuses_integer_primals():
    """An integer primal has no tangent space: PyTorch refuses it; here a TypeError naming the primals."""
    with pytest.raises(TypeError, match="primals must be floating-point"):
        func.jvp(lambda a: a * 2, (mg.tensor([1, 2]),), (f64([1.0, 1.0]),))


def test_jacrev_with_has_aux_returns_the_jacobian_then_aux():
    """PyTorch: jacrev(f, has_aux=True)(x) returns (J, aux), in that order."""
    x = f64([1.0, 2.0])
    note = f64([7.0])
    J, aux = func.jacrev(lambda t: (t * t, note), has_aux=True)(x)
    assert aux is note and np.allclose(J.numpy(), np.diag([2.0, 4.0]))


# ---- func.functional_call ---------------------------------------------------------------------

def _linear():
    model = mg.nn.Linear(2, 1)
    return model, {name: p for name, p in model.named_parameters()}


def test_functional_call_strict_refuses_an_unexpected_name():
    """PyTorch: strict=True requires every parameter and buffer and nothing else: an extra name is a RuntimeError
    even when every parameter is given."""
    model, own = _linear()
    given = {"weight": mg.ones(1, 2), "bias": mg.zeros(1), "extra": mg.zeros(1)}
    with pytest.raises(RuntimeError, match="unexpected"):
        func.functional_call(model, given, mg.ones(1, 2), strict=True)
    assert model.weight is own["weight"] and model.bias is own["bias"]


def test_functional_call_refuses_tied_names_given_different_tensors():
    """PyTorch (tie_weights=True): two names of one tied tensor given different tensors is an error."""
    class Tied(mg.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = mg.nn.Linear(2, 2, bias=False)
            self.decoder = mg.nn.Linear(2, 2, bias=False)
            self.decoder.weight = self.encoder.weight

        def forward(self, x):
            return self.decoder(self.encoder(x))

    tied = Tied()
    with pytest.raises(ValueError, match="tied"):
        func.functional_call(tied, {"encoder.weight": mg.eye(2), "decoder.weight": mg.eye(2) * 2}, mg.ones(1, 2))
    same = mg.eye(2) * 3
    out = func.functional_call(tied, {"encoder.weight": same, "decoder.weight": same}, mg.ones(1, 2))
    assert np.allclose(out.numpy(), [[9.0, 9.0]])


def test_functional_call_sets_another_attribute_for_the_call_only():
    """PyTorch: a name that is no parameter or buffer is set as an attribute for the call and removed afterwards."""
    class Scaled(mg.nn.Module):
        def forward(self, x):
            return x * self.scale

    model = Scaled()
    out = func.functional_call(model, {"scale": f64([3.0])}, f64([2.0]))
    assert out.tolist() == [6.0]
    assert not hasattr(model, "scale")


def test_functional_call_passes_a_list_as_one_argument():
    """PyTorch: `args` that is not a tuple is a single argument, a list included (not unpacked)."""
    class Summed(mg.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = mg.nn.Parameter(mg.ones(2))

        def forward(self, xs):
            return sum(x * self.w for x in xs)

    model = Summed()
    out = func.functional_call(model, {"w": f64([2.0, 3.0])}, [f64([1.0, 1.0]), f64([1.0, 0.0])])
    assert out.tolist() == [4.0, 3.0]


def test_functional_call_refuses_an_unknown_submodule_and_a_non_tensor():
    """PyTorch: a dotted name through no submodule is an AttributeError; a value that is not a tensor is refused
    (TypeError here); the module is unchanged afterwards."""
    model, own = _linear()
    with pytest.raises(AttributeError, match="nosuch"):
        func.functional_call(model, {"nosuch.weight": mg.ones(1, 2)}, mg.ones(1, 2))
    with pytest.raises(TypeError, match="must be a Tensor"):
        func.functional_call(model, {"weight": np.ones((1, 2))}, mg.ones(1, 2))
    assert model.weight is own["weight"] and model.bias is own["bias"]


def test_functional_call_replaces_a_shared_submodule_s_parameter_by_its_second_name():
    """A submodule held under two names (model.a = model.b = lin): PyTorch's functional_call accepts either name
    ('b.weight' too, though named_parameters lists only 'a.weight') and the call uses the given tensor."""
    class Twice(mg.nn.Module):
        def __init__(self):
            super().__init__()
            lin = mg.nn.Linear(2, 2, bias=False)
            self.a, self.b = lin, lin

        def forward(self, x):
            return self.b(self.a(x))

    model = Twice()
    own = model.a.weight
    out = func.functional_call(model, {"b.weight": mg.eye(2) * 2}, mg.ones(1, 2))
    assert np.allclose(out.numpy(), [[4.0, 4.0]])
    assert model.a.weight is own and model.b.weight is own


# ---- forward mode: mg.jvp and func.jvp ----------------------------------------------------------

def test_the_tangent_of_an_output_independent_of_the_inputs_is_zeros_of_its_dtype():
    """PyTorch: an output that does not depend on the primals gets a zero tangent (zeros_like the output): here of
    the output's float32 dtype, not float64."""
    x = mg.tensor(np.array([1.0, 2.0], dtype=np.float32))
    constant = mg.tensor(np.array([5.0, 6.0, 7.0], dtype=np.float32))
    _, t = mg.jvp(lambda a: constant * 2, [x], [np.ones(2, np.float32)])
    assert t.dtype == np.float32 and np.array_equal(t, np.zeros(3, np.float32))
    _, t = func.jvp(lambda a: constant * 2, (x,), (mg.tensor(np.ones(2, np.float32)),))
    assert t.dtype == np.float32 and np.array_equal(t.numpy(), np.zeros(3, np.float32))


def test_mg_jvp_of_a_tuple_output_gives_a_tuple_of_tangents():
    """mg.jvp (docs/api.md): fn returning a tuple of tensors gives a tuple of tangents, each J_i v."""
    x = f64([1.0, 2.0])
    _, tangents = mg.jvp(lambda a: (a * 3, (a * a).sum()), [x], [np.array([1.0, -1.0])])
    assert type(tangents) is tuple and len(tangents) == 2
    assert np.allclose(tangents[0], [3.0, -3.0]) and np.isclose(tangents[1], 2 * 1.0 - 2 * 2.0)


def test_mg_jvp_records_nothing():
    """mg.jvp (docs/api.md): one forward pass, no tape: an op inside fn on a parameter that requires grad records
    nothing (its result does not require grad), and the parameter's .grad stays None."""
    p = mg.tensor(np.array([2.0, 3.0]), requires_grad=True)
    seen = []

    def fn(a):
        y = a * p
        seen.append(y.requires_grad)
        return y

    _, t = mg.jvp(fn, [f64([1.0, 1.0])], [np.array([1.0, 0.0])])
    assert seen == [False] and np.allclose(t, [2.0, 0.0]) and p.grad is None


def test_mg_jvp_refuses_tangents_batched_for_some_inputs_only():
    """mg.jvp (docs/api.md): every tangent has the input's shape, or all share one leading axis of k directions;
    a mix is a ValueError."""
    x, y = f64([1.0, 2.0]), f64([3.0, 4.0])
    with pytest.raises(ValueError, match="same leading axis"):
        mg.jvp(lambda a, b: a * b, [x, y], [np.ones((3, 2)), np.ones(2)])


def test_mg_jacobian_refuses_an_unknown_mode():
    """mg.jacobian's mode is 'rev' or 'fwd' (docs/api.md); anything else is a ValueError."""
    with pytest.raises(ValueError, match="mode"):
        mg.jacobian(lambda t: t * 2, f64([1.0]), mode="reverse")


def test_mg_vjp_records_inside_no_grad_and_checks_the_cotangent_shape():
    """mg.vjp records fn also inside no_grad (as torch.autograd.functional.vjp); a cotangent not of the output's
    shape is a ValueError, not broadcast."""
    x = f64([0.5, -1.0])
    with mg.no_grad():
        _, (g,) = mg.vjp(lambda t: t.exp(), [x], np.array([1.0, 2.0]))
    assert np.allclose(g, np.exp([0.5, -1.0]) * [1.0, 2.0])
    with pytest.raises(ValueError, match="cotangent"):
        mg.vjp(lambda t: t.exp(), [x], np.array(1.0))


def test_forward_mode_inside_a_reverse_transform_is_refused():
    """A transform of a transform is not supported (docs/pytorch.md): mg.jvp or mg.jacobian inside func.grad's
    function is a NotImplementedError, not a silently wrong gradient."""
    x = f64([0.5, -1.0])
    with pytest.raises(NotImplementedError, match="inside func.grad"):
        func.grad(lambda t: mg.jvp(lambda s: s * s, [t], [np.ones(2)])[0].sum())(x)
    with pytest.raises(NotImplementedError, match="inside func.grad"):
        func.grad(lambda t: mg.tensor(mg.jacobian(lambda s: s * s, t)).sum())(x)


def test_a_dual_from_an_earlier_level_is_a_constant_later():
    """PyTorch: a tangent belongs to its dual level; once the level has exited, a dual tensor made in it is a
    constant in a later forward-mode run (mg.jvp) and in a later level (unpack_dual gives no tangent)."""
    x = f64([1.0, 2.0])
    with fwAD.dual_level():
        old = fwAD.make_dual(f64([3.0, 4.0]), f64([10.0, 10.0]))
    _, t = mg.jvp(lambda a: a * old, [x], [np.array([1.0, 1.0])])
    assert np.allclose(t, [3.0, 4.0])
    with fwAD.dual_level():
        assert fwAD.unpack_dual(old).tangent is None
        y = fwAD.make_dual(x, f64([1.0, 0.0])) * old
        assert np.allclose(fwAD.unpack_dual(y).tangent.numpy(), [3.0, 0.0])


# ---- forward_ad: dual tensors ---------------------------------------------------------------------

def test_make_dual_casts_the_tangent_to_the_primal_s_dtype():
    """Documented (docs/pytorch.md): a tangent is cast to its primal's dtype; a float64 tangent on a float32 primal
    gives float32 tangents downstream."""
    x = mg.tensor(np.array([1.0, 2.0], dtype=np.float32))
    with fwAD.dual_level():
        dual = fwAD.make_dual(x, np.array([0.5, 0.25], dtype=np.float64))
        assert fwAD.unpack_dual(dual).tangent.dtype == np.float32
        t = fwAD.unpack_dual(dual * 3).tangent
        assert t.dtype == np.float32 and np.allclose(t.numpy(), [1.5, 0.75])


def test_make_dual_refuses_an_integer_tangent_and_a_level_other_than_0():
    """PyTorch: make_dual's tangent must be floating point; there is one level here, number 0: level=1 is refused."""
    with fwAD.dual_level():
        with pytest.raises(ValueError, match="floating-point tangent"):
            fwAD.make_dual(f64([1.0, 2.0]), np.array([1, 2]))
        with pytest.raises(ValueError, match="level"):
            fwAD.make_dual(f64([1.0, 2.0]), f64([1.0, 2.0]), level=1)
        with pytest.raises(ValueError, match="level"):
            fwAD.unpack_dual(f64([1.0, 2.0]), level=1)


def test_unpack_dual_s_primal_has_no_tangent():
    """PyTorch: unpack_dual(d).primal is the value without the tangent: a function of the primal alone has no tangent
    (and a dual can be made from it again)."""
    with fwAD.dual_level():
        dual = fwAD.make_dual(f64([1.0, 2.0]), f64([1.0, 1.0]))
        primal = fwAD.unpack_dual(dual).primal
        assert fwAD.unpack_dual(primal).tangent is None
        assert fwAD.unpack_dual(primal * 2).tangent is None
        again = fwAD.make_dual(primal, f64([2.0, 0.0]))
        assert np.allclose(fwAD.unpack_dual(again * again).tangent.numpy(), [4.0, 0.0])


def test_a_dual_level_that_raises_is_closed():
    """`with fwAD.dual_level():` closes the level also when the block raises: a new level opens afterwards and a dual
    made in the failed one has no tangent."""
    with pytest.raises(KeyError):
        with fwAD.dual_level():
            dual = fwAD.make_dual(f64([1.0]), f64([1.0]))
            raise KeyError("boom")
    assert fwAD.unpack_dual(dual).tangent is None
    with fwAD.dual_level() as level:
        assert level == 0
    _, t = mg.jvp(lambda a: a * 2, [f64([1.0])], [np.array([1.0])])     # no level left open
    assert np.allclose(t, [2.0])


def test_unpack_dual_gives_back_the_tangent_make_dual_was_given():
    """forward_ad.unpack_dual's documented promise: the tangent of a dual make_dual made is the tensor given to it
    (same dtype); PyTorch's shares its memory, so writing into the given tangent shows."""
    v = f64([1.0, 2.0])
    with fwAD.dual_level():
        dual = fwAD.make_dual(f64([0.0, 0.0]), v)
        t = fwAD.unpack_dual(dual).tangent
        assert t is v


# ---- autograd.functional ---------------------------------------------------------------------------

def test_functional_vjp_v_may_be_left_out_for_a_one_element_output_of_any_shape():
    """PyTorch's torch.autograd.functional.vjp: v may be None when func's output has a single element, shape (1,)
    included (not only 0-d)."""
    x = f64([1.0, 2.0])
    out, g = AF.vjp(lambda t: (t * t).sum().reshape(1), x)
    assert out.shape == (1,) and np.allclose(g.numpy(), [2.0, 4.0])


def test_functional_strict_jvp_contracts_every_input():
    """torch.autograd.functional.jvp(strict=True) with two inputs: J v = J_1 v_1 + J_2 v_2, as without strict."""
    x, y = f64([1.0, 2.0]), f64([3.0, -1.0])
    v = (f64([1.0, 0.5]), f64([2.0, -2.0]))
    _, strict = AF.jvp(lambda a, b: a * b, (x, y), v, strict=True)
    expected = np.array([3.0, -1.0]) * [1.0, 0.5] + np.array([1.0, 2.0]) * [2.0, -2.0]
    assert np.allclose(strict.numpy(), expected)


def test_functional_jacobian_strict_is_pairwise_and_skips_empty_outputs():
    """PyTorch: jacobian(strict=True) refuses an output independent of some input, output by output (output 0 of x
    only, output 1 of y only: refused though together they use both); an empty output is no error."""
    x, y = f64([1.0, 2.0]), f64([3.0, -1.0])
    with pytest.raises(RuntimeError, match="independent of input"):
        AF.jacobian(lambda a, b: (a * 2, b * 3), (x, y), strict=True)
    J = AF.jacobian(lambda a, b: ((a * b).sum(), a[:0]), (x, y), strict=True)     # (a[:0] reaches no b)
    assert np.allclose(J[0][0].numpy(), [3.0, -1.0]) and J[1][0].shape == (0, 2) and J[1][1].shape == (0, 2)


def test_functional_jvp_strict_refuses_an_output_reaching_no_input():
    """PyTorch: jvp(strict=True) refuses an output that depends on none of the inputs, even when it requires grad
    through a parameter reached by a closure."""
    x = f64([1.0, 2.0])
    p = mg.tensor(np.array([3.0, 4.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="strict"):
        AF.jvp(lambda a: (a * 2, p * 3), x, f64([1.0, 1.0]), strict=True)


def test_functional_vjp_strict_refuses_an_input_no_output_uses():
    """PyTorch: vjp(strict=True) refuses an input no output depends on (RuntimeError), rather than zeros."""
    x, y = f64([1.0, 2.0]), f64([3.0, -1.0])
    with pytest.raises(RuntimeError, match="strict"):
        AF.vjp(lambda a, b: a * 2, (x, y), f64([1.0, 1.0]), strict=True)
    _, (gx, gy) = AF.vjp(lambda a, b: a * 2, (x, y), f64([1.0, 1.0]))
    assert gx.tolist() == [2.0, 2.0] and gy.tolist() == [0.0, 0.0]


def test_functional_jacobian_records_under_no_grad_and_treats_a_closure_as_constant():
    """PyTorch: jacobian works inside no_grad, and a tensor func reaches through a closure (the input itself, even
    requiring grad) is a constant: d(t * x)/dt = diag(x)."""
    x = mg.tensor(np.array([1.0, -2.0]), requires_grad=True)
    with mg.no_grad():
        J = AF.jacobian(lambda t: t.sin(), x)
    assert np.allclose(J.numpy(), np.diag(np.cos([1.0, -2.0])))
    J = AF.jacobian(lambda t: t * x, x)
    assert np.allclose(J.numpy(), np.diag([1.0, -2.0]))
    assert x.grad is None


def test_functional_jacobian_options_are_checked():
    """PyTorch: strategy must be 'reverse-mode' or 'forward-mode'; strict=True with vectorize=True is a RuntimeError;
    create_graph=True is refused here (NotImplementedError: second derivatives are not recorded)."""
    x = f64([1.0, 2.0])
    with pytest.raises(ValueError, match="strategy"):
        AF.jacobian(lambda t: t * 2, x, strategy="backward")
    with pytest.raises(RuntimeError, match="vectorize"):
        AF.jacobian(lambda t: t * 2, x, strict=True, vectorize=True)
    for call in (lambda: AF.jacobian(lambda t: t * 2, x, create_graph=True),
                 lambda: AF.vjp(lambda t: t * 2, x, f64([1.0, 1.0]), create_graph=True),
                 lambda: AF.jvp(lambda t: t * 2, x, f64([1.0, 1.0]), create_graph=True)):
        with pytest.raises(NotImplementedError, match="create_graph"):
            call()


def test_functional_forward_mode_jacobian_of_one_input_is_a_tensor():
    """PyTorch: jacobian(f, x, strategy='forward-mode') of one tensor input and one output is a tensor (not a tuple),
    out.shape + x.shape; of a tuple of inputs a tuple."""
    x = f64([1.0, 2.0, 3.0])
    J = AF.jacobian(lambda t: t[:2] * 4, x, vectorize=True, strategy="forward-mode")
    assert isinstance(J, mg.Tensor) and np.allclose(J.numpy(), 4 * np.eye(3)[:2])
    J = AF.jacobian(lambda t: t[:2] * 4, (x,), vectorize=True, strategy="forward-mode")
    assert isinstance(J, tuple) and np.allclose(J[0].numpy(), 4 * np.eye(3)[:2])


def test_functional_jvp_of_a_tuple_of_outputs_gives_tuples():
    """PyTorch: jvp of func returning a tuple gives a tuple of outputs and a tuple of J v."""
    x = f64([1.0, 2.0])
    values, tangents = AF.jvp(lambda t: (t * 2, t.sum()), x, f64([1.0, -1.0]))
    assert type(values) is tuple and type(tangents) is tuple
    assert tangents[0].tolist() == [2.0, -2.0] and tangents[1].item() == 0.0


def test_functional_vjp_keeps_a_tuple_of_one_output_a_tuple():
    """PyTorch: func returning a tuple of one tensor gives a tuple of one output from vjp (the nesting is kept)."""
    x = f64([1.0, 2.0])
    values, g = AF.vjp(lambda t: (t * 2,), x, (f64([1.0, 1.0]),))
    assert type(values) is tuple and len(values) == 1 and values[0].tolist() == [2.0, 4.0]
    assert g.tolist() == [2.0, 2.0]


# ---- forward.Seed: the run a forward pass belongs to ---------------------------------------------

def test_a_seed_puts_back_the_run_it_was_entered_in():
    """forward.Seed (what RTRL's steps enter, also inside an open dual level): leaving it puts back the run that was
    current before, here the dual level, which stays usable."""
    from microgradseq.forward import Seed, current_run

    with fwAD.dual_level():
        level = current_run.get()
        with Seed([], []):
            pass
        assert current_run.get() is level
        dual = fwAD.make_dual(f64([1.0, 2.0]), f64([1.0, 1.0]))
        assert np.allclose(fwAD.unpack_dual(dual * dual).tangent.numpy(), [2.0, 4.0])
    assert current_run.get() is None


def test_a_tensor_seeded_twice_gets_the_sum_of_its_tangents():
    """forward.Seed's documented rule: the same tensor seeded twice has the sum of the two tangents, so d(3x) along
    a + b is 3(a + b)."""
    from microgradseq.forward import Seed

    x = f64([1.0, 2.0])
    a, b = np.array([[1.0, 0.0]]), np.array([[0.5, 2.0]])
    with Seed([x, x], [a, b]) as run:
        y = x * 3
        tangent = run.tangent(y)
    assert np.allclose(tangent, 3 * (a + b))
