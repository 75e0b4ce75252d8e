"""Review round 32b: porting round 54's two library changes (commit 31c6424), read as a maintainer would.

1. microgradseq/nn/parameter_table.py's `ParameterTable` (a module's `_parameters`, whose writes also set the module's
   attribute, holding its modules by weak reference). PyTorch keeps a parameter only in that dict
   (torch/nn/modules/module.py, pytorch/pytorch d4cc86dc3cf9b2b5f59d1b24af4c5e430f96ab7b: `__getattr__` reads
   `_parameters`, `__delattr__` deletes from it, and `__setstate__` is `self.__dict__.update(state)` plus the hook
   tables an old pickle lacks), so whatever the dict holds is what `module.<name>` reads. Found:
   - `copy.copy(module)` in a loop grew the table's list of holders by one dead weak reference per copy, for
     ever: 20000 copies of a Linear kept 20001 entries, took 6 s (each copy scanned the whole list) and made each
     later write into the table walk all of them. Dead ones are now dropped when a module takes the table.
   - A Module subclass with its own `__setstate__` that does not call `super().__setstate__(state)` (legal in
     PyTorch, whose Module.__setstate__ only fills in missing hook tables): after `copy.copy` a write into the
     copy's `_parameters` changed the ORIGINAL's attribute and not the copy's, and after unpickling it changed
     nothing the module reads. `Module.__init_subclass__` now wraps such a `__setstate__` so that the table
     learns its holder after it.
   - `del module._parameters[name]` (salesforce/awd-lstm-lm's WeightDrop), `pop`, `popitem` and `clear` left
     `module.<name>` (a strict xfail of round 54), so `register_parameter(name, ...)` afterwards was a KeyError
     ("attribute already exists"); and `update`, `setdefault` and `|=` (dict's C methods, which skip
     `__setitem__`) wrote the table without the attribute, the silent stale read round 54 fixed for `[]=`.
     Each now reaches every module holding the table, as PyTorch's one dict does.
   Checked and found right (tests elsewhere, or below): deep copies of modules holding modules, a module shared
   by two parents, a copy of a copy, parametrize / weight_norm / spectral_norm / pruning round trips,
   `del module.weight`, `module.bias = None`, `register_parameter(name, None)`, load_state_dict (all or nothing),
   state_dict order, functional_call on a shallow copy, optimizers (they keep the Parameter they were given, as
   PyTorch's), threads copying one module at once, modules freed while their table lives on.

2. microgradseq/ops/arithmetic.py's PyTorch deprecated number-first overloads (tools/autograd/deprecated.yaml,
   pytorch/pytorch 1c6cd0f0d7dc664df23b03027f62ed7898020561: add/sub(Tensor self, Scalar alpha, Tensor other),
   addcmul/addcdiv(Tensor self, Scalar value, Tensor tensor1, Tensor tensor2)), which PyTorch's parser tries after
   every current signature (torch/csrc/utils/python_arg_parser.cpp, 54d4a1627bbf1a103656b5f89064f415b4826ac8,
   `check_deprecated`: "This overload of add is deprecated: ..."). Found:
   - `t.mul_(2.0, u)`, `t.div_(u, 2.0)` raised KeyError 'mul' (the in-place helper looked every method up in the
     deprecated table); PyTorch: TypeError. Now Python's TypeError.
   - add's and sub's alpha= was not checked: `t.add(u, alpha=True)` added u once and alpha=False not at all,
     an integer tensor with alpha=2.5 gave floats, a complex alpha made a float tensor's sum complex. PyTorch's
     alpha_check (aten/src/ATen/native/BinaryOps.h) refuses each against the result's dtype ("Boolean alpha
     only supported for Boolean results", "For integral input tensors, argument alpha must not be a floating
     point number", "For non-complex input tensors, argument alpha must not be a complex number"): TypeError
     here (docs/pytorch.md: bad arguments are TypeError/ValueError where PyTorch raises RuntimeError).
   - `t.add(u)` cost 1.6x and `t.add_(u)` 1.75x what they did before round 54 (every call went through the
     deprecated-form parser). No code of the library calls them per step (the LSTM(32,1) loop step was unchanged),
     but hand-written optimizers do; the plain call now skips it all (back to 1.0x).
   Left then (closed since, tests/test_parity_fixes_33.py): the deprecated form with its tensors by keyword,
   `t.add(0.5, other=u)`, which PyTorch's
   parser matches (a positional parameter may come by keyword) and Python refuses here; addcmul's value for an
   integer result (PyTorch converts it to the result's type: 2.5 becomes 2, aten/src/ATen/native/cpu/
   PointwiseOpsKernel.cpp, `value.to<scalar_t>()`; here the result is promoted to float).

Expected values are written by hand (small vectors) and PyTorch's documented messages; no timing is asserted.
"""

import copy
import gc
import pickle
import threading
import warnings
import weakref

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn


def arr(t):
    return np.asarray(t._data if isinstance(t, mg.Tensor) else t)


# ---- 1. the parameter table ---------------------------------------------------------------------------------

class Scale(nn.Module):
    """y = x * w with w = (1, 1): a forward whose output says which tensor it read."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(np.ones(2))

    def forward(self, x):
        return x * self.w


class OwnSetstate(Scale):
    """A `__setstate__` of its own that does not call super's (legal in PyTorch)."""

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.restored = True


class SetstateMixin:
    def __setstate__(self, state):
        self.__dict__.update(state)


class MixedIn(SetstateMixin, Scale):
    """The mixin's `__setstate__` comes before Module's in the MRO."""


class SuperSetstate(OwnSetstate):
    """A subclass of one with its own __setstate__ that calls super's (the usual PyTorch chain)."""

    def __setstate__(self, state):
        super().__setstate__(state)
        self.chained = True


def test_copy_copy_in_a_loop_keeps_the_list_of_holders_short():
    layer = nn.Linear(2, 1)
    for _ in range(2000):
        twin = copy.copy(layer)
    assert len(layer._parameters._owners) <= 3       # the layer, the last copy and the one before it
    layer._parameters["bias"] = mg.zeros(1)          # and the live copy still sees a write
    assert twin.bias is layer._parameters["bias"]
    del twin
    gc.collect()
    copy.copy(layer)
    assert len(layer._parameters._owners) <= 2


@pytest.mark.parametrize("cls", [OwnSetstate, MixedIn, SuperSetstate])
def test_a_subclass_setstate_without_super_still_names_the_holder(cls):
    x = mg.tensor([2.0, 3.0])
    module = cls()
    twin = copy.copy(module)
    twin._parameters["w"] = mg.tensor([5.0, 7.0])
    assert arr(twin(x)).tolist() == [10.0, 21.0]                 # the copy reads what was written into its table
    assert arr(module(x)).tolist() == [10.0, 21.0]               # one table, shared, as PyTorch's copy.copy
    thawed = pickle.loads(pickle.dumps(cls()))
    thawed._parameters["w"] = mg.tensor([-1.0, 4.0])
    assert arr(thawed(x)).tolist() == [-2.0, 12.0]
    deep = copy.deepcopy(cls())
    deep._parameters["w"] = mg.tensor([0.5, 0.5])
    assert arr(deep(x)).tolist() == [1.0, 1.5]
    if cls is not MixedIn:
        assert thawed.restored and twin.restored                   # the subclass's own __setstate__ still ran
    if cls is SuperSetstate:
        assert thawed.chained


def test_the_subclass_setstate_is_wrapped_once_and_keeps_its_name():
    assert SuperSetstate.__setstate__.__qualname__ == "SuperSetstate.__setstate__"
    assert not hasattr(SuperSetstate.__setstate__.__wrapped__, "__wrapped__")       # its own, wrapped once
    assert "__setstate__" not in vars(Scale)                           # a subclass without one is left alone


def test_deleting_from_the_table_removes_the_attribute_and_the_name_can_be_registered_again():
    # awd-lstm-lm's WeightDrop: `del module._parameters[name_w]`, then register_parameter; PyTorch's
    # module.<name> is gone once its dict has no entry
    layer = nn.Linear(2, 1)
    weight = layer.weight
    del layer._parameters["weight"]
    assert not hasattr(layer, "weight")
    layer.register_parameter("weight", nn.Parameter(arr(weight)))
    assert [name for name, _ in layer.named_parameters()] == ["bias", "weight"]     # re-added last, as PyTorch
    with pytest.raises(AttributeError):
        del layer.missing


def test_pop_popitem_and_clear_remove_the_attribute_as_del_does():
    layer = nn.Linear(2, 1)
    bias = layer.bias
    assert layer._parameters.pop("bias") is bias and not hasattr(layer, "bias")
    assert layer._parameters.pop("bias", 5) == 5
    with pytest.raises(KeyError):
        layer._parameters.pop("bias")
    name, _ = layer._parameters.popitem()
    assert name == "weight" and not hasattr(layer, "weight") and dict(layer._parameters) == {}
    with pytest.raises(KeyError):
        layer._parameters.popitem()
    other = nn.Linear(2, 1)
    other._parameters.clear()
    assert not hasattr(other, "weight") and not hasattr(other, "bias") and list(other.parameters()) == []


def test_update_setdefault_and_ior_set_what_forward_reads():
    layer = nn.Linear(2, 1)
    x = mg.tensor([[2.0, 3.0]])
    layer._parameters.update(weight=mg.tensor([[1.0, -1.0]]), bias=mg.tensor([0.5]))
    assert arr(layer(x)).tolist() == [[2.0 - 3.0 + 0.5]]
    layer._parameters.update([("bias", mg.tensor([2.0]))])
    assert arr(layer(x)).tolist() == [[2.0 - 3.0 + 2.0]]
    layer._parameters |= {"weight": mg.tensor([[0.0, 1.0]])}
    assert arr(layer(x)).tolist() == [[3.0 + 2.0]]
    gain = mg.tensor([3.0])
    assert layer._parameters.setdefault("gain", gain) is gain and layer.gain is gain
    assert layer._parameters.setdefault("gain", mg.zeros(1)) is gain


def test_a_deletion_reaches_every_module_sharing_the_table():
    layer = nn.Linear(2, 1)
    twin = copy.copy(layer)
    del twin._parameters["bias"]
    assert not hasattr(layer, "bias") and not hasattr(twin, "bias")
    del layer.weight                       # through Module.__delattr__: from the shared dict, so from both
    assert not hasattr(twin, "weight") and list(twin.parameters()) == []


def test_copies_made_by_several_threads_at_once_all_see_a_later_write():
    base = nn.Linear(2, 1)
    copies, errors = [], []

    def work():
        try:
            for _ in range(200):
                copies.append(copy.copy(base))
        except Exception as error:          # (reported below)
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    zeros = mg.zeros(1)
    base._parameters["bias"] = zeros
    assert errors == [] and len(copies) == 800
    assert all(c.bias is zeros for c in copies)


def test_the_table_holds_its_modules_weakly():
    layer = nn.Linear(2, 1)
    table, ref = layer._parameters, weakref.ref(layer)
    del layer
    assert ref() is None                    # freed by reference counting alone, while its table lives on
    table["bias"] = mg.zeros(1)             # and a write after that goes nowhere, without an error
    assert arr(table["bias"]).tolist() == [0.0]


def test_functional_call_on_a_shallow_copy_puts_both_back():
    layer = nn.Linear(2, 1)
    twin = copy.copy(layer)
    weight = layer.weight
    out = mg.func.functional_call(twin, {"weight": mg.tensor([[1.0, 2.0]])}, (mg.tensor([[1.0, 1.0]]),))
    assert arr(out)[0, 0] == pytest.approx(3.0 + float(arr(layer.bias)[0]), rel=1e-6)     # (float32)
    assert layer.weight is weight and twin.weight is weight and layer._parameters["weight"] is weight


# ---- 2. the deprecated number-first overloads and alpha= ----------------------------------------------------

A, B, C = [1.0, -2.0], [3.0, 5.0], [2.0, 4.0]


def call_and_warning(fn):
    """(result, the one warning's message lines and (file, line)); fails if there is not exactly one."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    assert len(caught) == 1, [str(w.message) for w in caught]
    return result, str(caught[0].message).splitlines(), (caught[0].filename, caught[0].lineno)


def test_mul_and_div_in_place_with_an_extra_argument_are_a_type_error_not_a_key_error():
    t, u = mg.tensor(A), mg.tensor(B)
    for fn in (lambda: t.clone().mul_(2.0, u), lambda: t.clone().div_(u, 2.0)):
        with pytest.raises(TypeError, match="positional argument"):
            fn()


@pytest.mark.parametrize("alpha", [True, False, np.bool_(True), "x", None, mg.tensor(True)])
def test_a_bool_or_non_number_alpha_is_refused(alpha):
    t, u = mg.tensor(A), mg.tensor(B)
    for fn in (lambda: t.add(u, alpha=alpha), lambda: t.sub(u, alpha=alpha), lambda: t.clone().add_(u, alpha=alpha),
               lambda: mg.add(t, u, alpha=alpha)):
        with pytest.raises(TypeError, match="alpha must be a number"):
            fn()


def test_alpha_is_checked_against_the_result_dtype_as_pytorchs_alpha_check():
    i, j = mg.tensor([1, 2]), mg.tensor([3, 4])
    with pytest.raises(TypeError, match="alpha must be an integer for a result of dtype int64"):
        i.add(j, alpha=2.5)
    with pytest.raises(TypeError, match="alpha must be an integer"):
        i.clone().sub_(j, alpha=np.float64(2.0))        # a float, even one with an integer value
    with pytest.raises(TypeError, match="alpha must be real for a result of dtype float"):
        mg.tensor(A).add(mg.tensor(B), alpha=2j)
    assert arr(i.add(j, alpha=np.int64(-2))).tolist() == [1 - 6, 2 - 8]
    assert arr(i.sub(j, alpha=mg.tensor(3))).tolist() == [1 - 9, 2 - 12]         # a 0-d integer tensor
    assert arr(i.add(0.5, alpha=2.5)).tolist() == [2.25, 3.25]                      # the result is float
    assert arr(i.add(mg.tensor([0.5, 1.0]), alpha=0.5)).tolist() == [1.25, 2.5]
    z = mg.tensor([1 + 1j, 2.0])
    assert arr(z.add(mg.tensor([1.0, 1j]), alpha=2j)).tolist() == [1 + 3j, 0j]
    assert arr(mg.tensor(A).add(mg.tensor(B), alpha=np.float32(0.5))).tolist() == [2.5, 0.5]


@pytest.mark.parametrize("number, want", [(2, [7.0, 8.0]), (np.int64(2), [7.0, 8.0]), (np.float64(0.5), [2.5, 0.5]),
                                          (np.float32(0.5), [2.5, 0.5]), (mg.tensor(0.5), [2.5, 0.5]),
                                          (mg.tensor(2), [7.0, 8.0])])
def test_deprecated_add_takes_every_scalar_pytorch_takes(number, want):
    t, u = mg.tensor(A), mg.tensor(B)
    result, lines, _ = call_and_warning(lambda: t.add(number, u))
    assert arr(result).tolist() == want
    assert lines[:2] == ["This overload of add is deprecated:", "\tadd(Number alpha, Tensor other)"]
    assert lines[2:] == ["Consider using one of the following signatures instead:",
                         "\tadd(Tensor other, *, Number alpha = 1)"]


def test_deprecated_forms_warn_at_the_users_line():
    t, u, v = mg.tensor(A), mg.tensor(B), mg.tensor(C)
    calls = {"add_": lambda: t.clone().add_(0.5, u),
             "sub": lambda: mg.sub(t, 0.5, u),
             "addcmul_": lambda: t.clone().addcmul_(0.5, u, v),
             "addcdiv": lambda: mg.addcdiv(t, -0.5, u, v)}
    lines = {name: fn.__code__.co_firstlineno for name, fn in calls.items()}
    wants = {"add_": [2.5, 0.5], "sub": [-0.5, -4.5], "addcmul_": [4.0, 8.0], "addcdiv": [0.25, -2.625]}
    for name, fn in calls.items():
        result, message, where = call_and_warning(fn)
        assert arr(result).tolist() == wants[name], name
        assert message[0] == f"This overload of {name} is deprecated:"
        assert where == (__file__, lines[name]), name


def test_deprecated_forms_refuse_what_pytorch_refuses():
    t, u, v = mg.tensor(A), mg.tensor(B), mg.tensor(C)
    refused = [lambda: t.add(True, u),                                  # a bool number
               lambda: t.add(mg.tensor(0.5, requires_grad=True), u),     # a Scalar needs no grad
               lambda: t.add(mg.tensor([0.5]), u),                       # nor axes
               lambda: t.clone().sub_(0.5, u, alpha=2.0),                # no alpha= besides
               lambda: t.addcmul(0.5, u, v, value=1.0),
               lambda: t.clone().addcdiv_(0.5, u, v, v),                 # one too many
               lambda: t.add(u, 0.5)]                                    # the number second
    for fn in refused:
        with pytest.raises(TypeError):
            fn()
    with pytest.raises(TypeError, match="alpha must be real"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t.add(2j, u)


def test_current_forms_by_keyword_and_a_0d_tensor_value():
    t, u, v = mg.tensor(A), mg.tensor(B), mg.tensor(C)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # none of these is the deprecated form
        assert arr(t.clone().add_(other=u, alpha=2)).tolist() == [7.0, 8.0]
        assert arr(t.clone().sub_(u, alpha=mg.tensor(0.5))).tolist() == [-0.5, -4.5]
        assert arr(t.clone().addcmul_(tensor1=u, tensor2=v, value=0.5)).tolist() == [4.0, 8.0]
        assert arr(t.addcdiv(u, v, value=mg.tensor(-2.0))).tolist() == [1.0 - 3.0, -2.0 - 2.5]
        assert arr(mg.add(input=t, other=u, alpha=0.5)).tolist() == [2.5, 0.5]
        assert arr(mg.add(1, u, alpha=0.5)).tolist() == [2.5, 3.5]     # a number first, a tensor second


def test_deprecated_form_with_its_tensor_by_keyword():
    t, u = mg.tensor(A), mg.tensor(B)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert arr(t.add(0.5, other=u)).tolist() == [2.5, 0.5]


def test_addcmul_of_integers_with_a_float_value_as_pytorch():
    i, j = mg.tensor([1, 2]), mg.tensor([3, 4])
    result = i.addcmul(i, j, value=2.5)
    assert result.dtype == np.int64 and arr(result).tolist() == [1 + 2 * 3, 2 + 2 * 8]
