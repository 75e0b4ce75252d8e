"""Tests written from a mutation check of the Module API (nn/module.py, nn/module_hooks.py): each pins
a behaviour of PyTorch's nn.Module (attribute bookkeeping of parameters, children and buffers, the
named_* walks and their prefixes and duplicates, get_submodule/get_parameter/get_buffer, train,
requires_grad_, zero_grad, apply, to(dtype), state_dict's keys, repr, forward hooks) that a
hand-made wrong implementation changed without any other test noticing. Expected values come from
PyTorch's documented nn.Module behaviour and hand-written numpy, never from the library's output."""

import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn


class Leaf(nn.Module):
    """One float64 parameter `w` (values given); forward multiplies by it."""

    def __init__(self, values=(1.0, 2.0)):
        super().__init__()
        self.w = nn.Parameter(np.array(values, dtype=np.float64))

    def forward(self, x):
        return x * self.w


class Holder(nn.Module):
    """Children given by name, in order; an optional own parameter `own`."""

    def __init__(self, own=False, **children):
        super().__init__()
        if own:
            self.own = nn.Parameter(np.array([5.0], dtype=np.float64))
        for name, child in children.items():
            setattr(self, name, child)

    def forward(self, x):
        for child in self.children():
            x = child(x)
        return x


class ThreeParameters(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(np.array([1.0]))
        self.b = nn.Parameter(np.array([2.0]))
        self.c = nn.Parameter(np.array([3.0]))


# ---- assigning attributes: parameters, children, buffers (PyTorch's Module.__setattr__) -------------

def test_assigning_a_parameter_before_super_init_is_an_error_naming_init():
    # PyTorch: AttributeError "cannot assign parameters before Module.__init__() call"
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2))
            super().__init__()

    with pytest.raises(AttributeError, match=r"Early: call super\(\).__init__\(\) before assigning a parameter \('w'\)"):
        Early()


def test_a_child_module_before_super_init_is_an_attribute_error_and_an_add_module_too():
    # PyTorch: AttributeError "cannot assign module before Module.__init__() call"
    class Early(nn.Module):
        def __init__(self, how):
            if how == "assign":
                self.lin = nn.Linear(1, 1)
            else:
                self.add_module("lin", nn.Linear(1, 1))
            super().__init__()

    with pytest.raises(AttributeError, match=r"before assigning a child module \('lin'\)"):
        Early("assign")
    with pytest.raises(AttributeError, match=r"Early.add_module: call super\(\).__init__\(\) before adding"):
        Early("add_module")


def test_a_plain_attribute_before_super_init_is_kept_as_pytorch_allows():
    # PyTorch's Module.__setattr__ refuses only parameters, modules and buffers before __init__();
    # `self.n = n; super().__init__()` is a plain attribute that stays
    class Early(nn.Module):
        def __init__(self, n):
            self.n = n
            self.scale = mg.tensor([2.0])         # a plain tensor: an attribute, not a buffer
            super().__init__()
            self.lin = nn.Linear(n, 1)

        def forward(self, x):
            return self.lin(x) * self.scale

    m = Early(3)
    assert m.n == 3 and [name for name, _ in m.named_parameters()] == ["lin.weight", "lin.bias"]
    assert list(m.state_dict()) == ["lin.weight", "lin.bias"]
    assert m(mg.ones(3)).shape == (1,)


def test_none_in_a_parameters_place_keeps_its_slot_and_its_position():
    # PyTorch: `m.a = None` keeps the key in _parameters (a slot): a Tensor there is then a TypeError,
    # and a Parameter assigned back takes its old place in the dict's order
    m = ThreeParameters()
    m.a = None
    assert [name for name, _ in m.named_parameters()] == ["b", "c"]
    with pytest.raises(TypeError):
        m.a = mg.tensor([1.0])
    m.a = nn.Parameter(np.array([9.0]))
    assert [name for name, _ in m.named_parameters()] == ["a", "b", "c"]


def test_none_in_a_childs_place_keeps_a_slot_shown_in_repr_and_guarded():
    # PyTorch: `m.b = None` keeps "b" in _modules: repr shows "(b): None", a Tensor there is a TypeError
    m = Holder(a=nn.Identity(), b=nn.Identity())
    m.b = None
    assert [name for name, _ in m.named_children()] == ["a"]
    assert repr(m) == "Holder(\n  (a): Identity()\n  (b): None\n)"
    with pytest.raises(TypeError):
        m.b = mg.tensor([1.0])


def test_a_parameter_assigned_to_a_buffers_name_becomes_a_parameter_and_no_buffer():
    # PyTorch: a Parameter value removes the name from _buffers and registers the parameter
    m = nn.Module()
    m.register_buffer("stat", mg.tensor([1.0, 2.0]))
    m.stat = nn.Parameter(np.array([3.0]))
    assert [name for name, _ in m.named_buffers()] == []
    assert [name for name, _ in m.named_parameters()] == ["stat"]
    assert list(m.state_dict()) == ["stat"]


def test_a_parameter_assigned_to_a_childs_name_replaces_the_child():
    # PyTorch: a Parameter value removes the name from _modules
    m = Holder(a=Leaf())
    m.a = nn.Parameter(np.array([3.0]))
    assert list(m.children()) == []
    assert [name for name, _ in m.named_parameters()] == ["a"]


def test_a_module_assigned_to_a_parameters_name_is_a_type_error():
    # PyTorch: "cannot assign 'Leaf' as parameter 'w' (torch.nn.Parameter or None expected)"
    m = Leaf()
    with pytest.raises(TypeError):
        m.w = Leaf()


def test_deleting_a_parameter_or_a_child_unregisters_it():
    # PyTorch's __delattr__ removes the name from _parameters / _modules
    m = Holder(own=True, a=Leaf())
    del m.own
    assert [name for name, _ in m.named_parameters()] == ["a.w"]
    del m.a
    assert list(m.children()) == [] and list(m.parameters()) == []


def test_a_child_keeps_the_name_it_was_first_given_as_its_scope():
    # the scope of nodes made inside a module is the path of names it was first assigned under
    shared = Leaf()
    first = Holder(inner=shared)
    Holder(other=shared)                       # a second home does not rename it
    y = first(mg.tensor([1.0, 1.0]))
    assert y._node.scope == "Holder.inner"


def test_nodes_made_in_a_named_child_carry_its_attribute_name_not_its_class():
    m = Holder(encoder=Leaf())
    assert m(mg.tensor([1.0, 1.0]))._node.scope == "Holder.encoder"


# ---- register_buffer / register_parameter / add_module ---------------------------------------------

def test_register_buffer_before_super_init_is_an_error_naming_init():
    # PyTorch: AttributeError "cannot assign buffer before Module.__init__() call"
    class Early(nn.Module):
        def __init__(self):
            self.register_buffer("b", mg.tensor([1.0]))

    with pytest.raises(AttributeError, match=r"register_buffer: call super\(\).__init__\(\)"):
        Early()


def test_register_parameter_before_super_init_is_an_error_naming_init():
    # PyTorch: AttributeError "cannot assign parameter before Module.__init__() call"
    class Early(nn.Module):
        def __init__(self):
            self.register_parameter("w", nn.Parameter(np.zeros(2)))

    with pytest.raises(AttributeError, match=r"register_parameter: call super\(\).__init__\(\)"):
        Early()


def test_registering_a_non_persistent_buffer_again_as_persistent_saves_it():
    # PyTorch: register_buffer(persistent=True) discards the name from _non_persistent_buffers_set
    m = nn.Module()
    m.register_buffer("mask", mg.tensor([1.0]), persistent=False)
    assert list(m.state_dict()) == []
    m.register_buffer("mask", mg.tensor([2.0]))
    np.testing.assert_array_equal(m.state_dict()["mask"], [2.0])


def test_register_parameter_none_keeps_a_slot_that_refuses_a_tensor_and_holds_its_place():
    m = nn.Module()
    m.register_parameter("first", None)
    m.second = nn.Parameter(np.array([2.0]))
    assert [name for name, _ in m.named_parameters()] == ["second"]
    with pytest.raises(TypeError):
        m.first = mg.tensor([1.0])
    m.first = nn.Parameter(np.array([1.0]))
    assert [name for name, _ in m.named_parameters()] == ["first", "second"]


def test_register_parameter_refuses_a_plain_tensor():
    # PyTorch: TypeError "cannot assign 'torch.FloatTensor' object to parameter 'w' (torch.nn.Parameter or None required)"
    m = nn.Module()
    with pytest.raises(TypeError):
        m.register_parameter("w", mg.tensor([1.0]))
    assert list(m.parameters()) == []


@pytest.mark.parametrize("name, error", [("a.b", KeyError), ("", KeyError), (3, TypeError)])
def test_register_parameter_refuses_names_pytorch_refuses(name, error):
    m = nn.Module()
    with pytest.raises(error):
        m.register_parameter(name, nn.Parameter(np.zeros(1)))


def test_register_parameter_refuses_the_name_of_another_attribute():
    # PyTorch: KeyError "attribute 'x' already exists"
    m = nn.Module()
    m.x = 3
    with pytest.raises(KeyError):
        m.register_parameter("x", nn.Parameter(np.zeros(1)))


def test_add_module_refuses_what_is_not_a_module():
    # PyTorch: TypeError "int is not a Module subclass"
    m = nn.Module()
    with pytest.raises(TypeError):
        m.add_module("x", 3)


@pytest.mark.parametrize("name, error", [("a.b", KeyError), ("", KeyError), (3, TypeError)])
def test_add_module_refuses_names_pytorch_refuses(name, error):
    m = nn.Module()
    with pytest.raises(error):
        m.add_module(name, nn.Identity())


def test_add_module_none_keeps_a_slot_shown_in_repr_and_guarded():
    m = nn.Module()
    m.register_module("head", None)
    assert list(m.named_children()) == [] and repr(m) == "Module(\n  (head): None\n)"
    with pytest.raises(TypeError):
        m.head = mg.tensor([1.0])


# ---- named_modules / modules / named_children -------------------------------------------------------

def test_named_modules_puts_the_prefix_before_every_name():
    # PyTorch: named_modules(prefix="net") gives "net", "net.a", "net.a.x"
    m = Holder(a=Holder(x=Leaf()), b=Leaf())
    assert [name for name, _ in m.named_modules(prefix="net")] == ["net", "net.a", "net.a.x", "net.b"]


def test_a_none_child_slot_is_skipped_by_the_walks():
    m = Holder(a=Leaf())
    m.add_module("b", None)
    m.c = Leaf()
    assert [name for name, _ in m.named_modules()] == ["", "a", "c"]
    assert [name for name, _ in m.named_children()] == ["a", "c"]
    assert [name for name, _ in m.named_parameters()] == ["a.w", "c.w"]


def test_named_children_lists_a_child_held_under_two_names_once_under_the_first():
    # PyTorch's named_children keeps a memo of the modules it gave
    shared = Leaf()
    m = Holder(a=shared, b=shared)
    assert [name for name, _ in m.named_children()] == ["a"]
    assert list(m.children()) == [shared]


def test_modules_lists_a_shared_module_once():
    shared = Leaf()
    m = Holder(a=shared, b=Holder(c=shared))
    assert [type(x).__name__ for x in m.modules()] == ["Holder", "Leaf", "Holder"]


# ---- get_submodule / get_parameter / get_buffer (PyTorch's messages) --------------------------------

def nested():
    """net.enc.cell.w, a buffer net.enc.cell.stat and a None buffer net.enc.cell.empty."""
    cell = Leaf()
    cell.register_buffer("stat", mg.tensor([7.0]))
    cell.register_buffer("empty", None)
    return Holder(enc=Holder(cell=cell)), cell


def test_get_submodule_of_the_empty_path_is_the_module_itself():
    net, _ = nested()
    assert net.get_submodule("") is net


def test_get_submodule_of_a_parameter_is_an_attribute_error_saying_it_is_no_module():
    net, _ = nested()
    with pytest.raises(AttributeError, match="`w` is not an nn.Module"):
        net.get_submodule("enc.cell.w")


def test_get_submodule_of_a_missing_name_is_an_attribute_error_naming_the_module():
    net, _ = nested()
    with pytest.raises(AttributeError, match="Holder has no attribute `nope`"):
        net.get_submodule("enc.nope")


def test_get_parameter_and_get_buffer_follow_a_path_two_modules_deep():
    net, cell = nested()
    assert net.get_parameter("enc.cell.w") is cell.w
    np.testing.assert_array_equal(net.get_buffer("enc.cell.stat").numpy(), [7.0])


def test_get_parameter_of_an_empty_slot_is_an_attribute_error():
    # PyTorch: getattr gives None, which is not an nn.Parameter
    m = Holder(a=Leaf())
    m.a.register_parameter("bias", None)
    with pytest.raises(AttributeError, match="`bias` is not an nn.Parameter"):
        m.get_parameter("a.bias")


def test_get_buffer_of_a_none_buffer_is_none():
    # PyTorch: the name is in _buffers, so getattr's None is returned
    net, _ = nested()
    assert net.get_buffer("enc.cell.empty") is None


def test_get_parameter_and_get_buffer_of_a_missing_name_say_the_module_has_no_such_attribute():
    net, _ = nested()
    with pytest.raises(AttributeError, match="Leaf has no attribute `nope`"):
        net.get_parameter("enc.cell.nope")
    with pytest.raises(AttributeError, match="Leaf has no attribute `nope`"):
        net.get_buffer("enc.cell.nope")


# ---- named_parameters / named_buffers: duplicates, recurse, prefix ----------------------------------

def test_a_tied_parameter_is_listed_once_by_default_and_under_each_name_without_removing_duplicates():
    a, b = Leaf(), Leaf()
    b.w = a.w
    m = Holder(a=a, b=b)
    assert [name for name, _ in m.named_parameters()] == ["a.w"]
    assert len(list(m.parameters())) == 1
    assert [name for name, _ in m.named_parameters(remove_duplicate=False)] == ["a.w", "b.w"]


def test_a_shared_child_lists_its_parameters_under_each_name_without_removing_duplicates():
    # PyTorch passes remove_duplicate on to named_modules
    shared = Leaf()
    m = Holder(a=shared, b=shared)
    assert [name for name, _ in m.named_parameters(remove_duplicate=False)] == ["a.w", "b.w"]
    assert [name for name, _ in m.named_buffers(remove_duplicate=False)] == []


def test_a_shared_buffer_is_listed_once_by_default_and_twice_without_removing_duplicates():
    stat = mg.tensor([1.0])
    a, b = nn.Module(), nn.Module()
    a.register_buffer("stat", stat)
    b.register_buffer("stat", stat)
    m = Holder(a=a, b=b)
    assert [name for name, _ in m.named_buffers()] == ["a.stat"]
    assert [name for name, _ in m.named_buffers(remove_duplicate=False)] == ["a.stat", "b.stat"]


def test_named_parameters_with_a_prefix_and_recurse_false_prefixes_the_own_names():
    m = Holder(own=True, a=Leaf())
    assert [name for name, _ in m.named_parameters(prefix="net", recurse=False)] == ["net.own"]


def test_parameters_and_buffers_with_recurse_false_are_the_modules_own():
    m = Holder(own=True, a=Leaf())
    m.register_buffer("top", mg.tensor([1.0]))
    m.a.register_buffer("below", mg.tensor([2.0]))
    assert [p.numpy().tolist() for p in m.parameters(recurse=False)] == [[5.0]]
    assert [b.numpy().tolist() for b in m.buffers(recurse=False)] == [[1.0]]
    assert len(list(m.buffers())) == 2


# ---- apply, requires_grad_, zero_grad, train -------------------------------------------------------

def test_apply_visits_siblings_in_order_children_before_parents():
    # PyTorch: for child in children(): child.apply(fn); then fn(self)
    leaves = {name: nn.Identity() for name in "xyz"}
    m = Holder(a=Holder(x=leaves["x"], y=leaves["y"]), z=leaves["z"])
    order = []
    m.apply(order.append)
    names = {id(module): name for name, module in m.named_modules()}
    assert [names[id(module)] for module in order] == ["a.x", "a.y", "a", "z", ""]


def test_requires_grad_without_argument_unfreezes():
    m = Holder(own=True, a=Leaf())
    m.requires_grad_(False)
    m.requires_grad_()
    assert all(p.requires_grad for p in m.parameters())


def test_requires_grad_reaches_the_modules_own_parameters():
    m = Holder(own=True, a=Leaf())
    m.requires_grad_(False)
    assert [p.requires_grad for p in m.parameters()] == [False, False]


def test_zero_grad_by_default_sets_every_gradient_below_to_none():
    m = Holder(own=True, a=Leaf())
    (m.own * m.a.w).sum().backward()
    assert m.a.w.grad is not None and m.own.grad is not None
    m.zero_grad()
    assert m.own.grad is None and m.a.w.grad is None


def test_zero_grad_set_to_none_false_gives_zeros_below_too():
    m = Holder(own=True, a=Leaf())
    (m.own * m.a.w).sum().backward()
    m.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(m.a.w.grad, [0.0, 0.0])
    np.testing.assert_array_equal(m.own.grad, [0.0])


def test_train_without_argument_turns_training_back_on_and_eval_returns_the_module():
    m = Holder(a=Leaf())
    assert m.eval() is m and not m.a.training
    assert m.train() is m and m.training and m.a.training


# ---- state_dict keys: prefix, keep_vars, shared modules, positional arguments -----------------------

def test_state_dict_keeps_a_shared_childs_entries_under_each_name():
    # PyTorch's state_dict walks _modules without removing duplicates
    shared = Leaf()
    m = Holder(a=shared, b=shared)
    assert list(m.state_dict()) == ["a.w", "b.w"]


def test_state_dict_prefix_starts_every_key():
    m = Holder(own=True, a=Leaf())
    assert list(m.state_dict(prefix="enc.")) == ["enc.own", "enc.a.w"]


def test_state_dict_keep_vars_gives_the_parameters_themselves():
    m = Leaf()
    assert m.state_dict(keep_vars=True)["w"] is m.w


def test_state_dict_positional_arguments_warn_and_mean_destination_prefix_keep_vars():
    m = Leaf()
    destination = {}
    with pytest.warns(FutureWarning, match="Positional args are being deprecated"):
        out = m.state_dict(destination, "p.")
    assert out is destination and list(out) == ["p.w"] and isinstance(out["p.w"], np.ndarray)
    with pytest.warns(FutureWarning):
        assert m.state_dict(None, "", True)["w"] is m.w


def test_state_dict_refuses_a_fourth_positional_argument():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(TypeError):
            Leaf().state_dict({}, "", False, "extra")


# ---- to(dtype), half/float/double -------------------------------------------------------------------

def test_to_keeps_a_non_persistent_buffer_non_persistent_and_a_buffers_requires_grad():
    m = Leaf()
    m.register_buffer("mask", mg.tensor(np.ones(2, dtype=np.float32)), persistent=False)
    m.register_buffer("tracked", mg.tensor(np.ones(2, dtype=np.float32), requires_grad=True))
    m.double()
    assert m.mask.dtype == np.float64 and m.tracked.dtype == np.float64
    assert list(m.state_dict()) == ["w", "tracked"]
    assert m.tracked.requires_grad


def test_to_a_device_returns_the_module():
    m = Leaf()
    assert m.to("cpu") is m


@pytest.mark.parametrize("method, dtype", [("half", np.float16), ("float", np.float32), ("double", np.float64)])
def test_half_float_double_cast_parameters_below_and_floating_buffers(method, dtype):
    m = Holder(a=Leaf())
    m.a.register_buffer("stat", mg.tensor(np.ones(2, dtype=np.float32 if dtype == np.float64 else np.float64)))
    assert getattr(m, method)() is m
    assert m.a.w.dtype == dtype and m.a.stat.dtype == dtype


# ---- repr (PyTorch's layout) -----------------------------------------------------------------------

def test_repr_of_a_multi_line_extra_repr_without_children_puts_each_line_on_its_own():
    # PyTorch: one line of extra_repr stays inline; several go one per indented line
    class Two(nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    assert repr(Two()) == "Two(\n  a=1\n  b=2\n)"


# ---- forward hooks ---------------------------------------------------------------------------------

def test_a_with_kwargs_pre_hook_returning_other_than_a_pair_is_a_runtime_error():
    # PyTorch: "forward pre-hook must return None or a tuple of (new_args, new_kwargs)" (RuntimeError)
    m = Leaf()
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, kwargs, None), with_kwargs=True)
    with pytest.raises(RuntimeError):
        m(mg.tensor([1.0, 1.0]))


def test_forward_hooks_see_the_arguments_as_the_pre_hooks_changed_them():
    # PyTorch passes the pre-hooks' args on to forward and to the forward hooks
    m, seen = Leaf(), []
    m.register_forward_pre_hook(lambda mod, args: (args[0] * 3,))
    m.register_forward_hook(lambda mod, args, out: seen.append(args[0].numpy()))
    m(mg.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(seen[0], [3.0, 6.0])


def test_an_always_call_hook_that_raises_runs_once():
    # PyTorch marks an always_call hook as called before calling it
    m, calls = Leaf(), []

    def hook(mod, args, out):
        calls.append(1)
        raise ValueError("hook")

    m.register_forward_hook(hook, always_call=True)
    with pytest.raises(ValueError, match="hook"):
        m(mg.tensor([1.0, 1.0]))
    assert calls == [1]


def test_a_hook_not_always_called_does_not_run_when_forward_raises():
    class Fails(nn.Module):
        def forward(self, x):
            raise ValueError("forward")

    m, calls = Fails(), []
    m.register_forward_hook(lambda mod, args, out: calls.append("plain"))
    m.register_forward_hook(lambda mod, args, out: calls.append("always"), always_call=True)
    with pytest.raises(ValueError, match="forward"):
        m(mg.tensor([1.0]))
    assert calls == ["always"]


def test_a_hook_that_removes_itself_while_running_lets_the_hooks_after_it_run():
    # PyTorch iterates over a snapshot of the hook dicts: removing a hook in a call does not break it
    m, calls = Leaf(), []

    def pre(mod, args):
        calls.append("pre once")
        pre_handle.remove()

    def post(mod, args, out):
        calls.append("post once")
        post_handle.remove()

    pre_handle = m.register_forward_pre_hook(pre)
    m.register_forward_pre_hook(lambda mod, args: calls.append("pre"))
    post_handle = m.register_forward_hook(post)
    m.register_forward_hook(lambda mod, args, out: calls.append("post"))
    m(mg.tensor([1.0, 1.0]))
    m(mg.tensor([1.0, 1.0]))
    assert calls == ["pre once", "pre", "post once", "post", "pre", "post"]
