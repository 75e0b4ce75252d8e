"""Tests written from a mutation check of session 28's changes: optimizers given
`model.named_parameters()` (optim/optimizer.py `_group_params`, `_add_group`; optim/state_dict.py),
`module(input=x)` (nn/module.py `Module.__call__`, `_forward_takes_input`), `Tensor.permute(dims=)`,
the torch.* function forms taking their input by keyword (function_forms.py), the F functions'
PyTorch argument names, forward mode's check of a JVP rule's tangent shape (forward.py) and the
demo's reload snippet (__main__.py). Each test pins a behaviour that a hand-made wrong
implementation changed without any other test noticing. Expected values come from PyTorch's
documented behaviour (torch/optim/optimizer.py, torch/nn/functional.py, nn.Module.__call__) or
hand-written numpy, never from the library's own output."""

import argparse
import inspect
from pathlib import Path

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn.functional as F
from microgradseq.optim import SGD


def _linear():
    mg.manual_seed(0)
    return mg.nn.Linear(3, 2, dtype=np.float64)


# ---- optimizers given (name, tensor) pairs ----------------------------------------------------------

def test_a_pair_of_two_tensors_is_not_taken_for_a_name_and_a_tensor():
    """Only (str, tensor) pairs are names: (weight, bias) is two tensors in a tuple, refused, not
    'bias named by the weight' (which would train the bias alone, silently)."""
    model = _linear()
    with pytest.raises(ValueError, match="item 0 is a tuple"):
        SGD([(model.weight, model.bias)], lr=0.1)


def test_a_name_and_tensor_in_a_list_is_not_a_named_parameter():
    """PyTorch takes a name only from a tuple (model.named_parameters() gives tuples); ['w', p] is
    not a tensor and is refused."""
    model = _linear()
    with pytest.raises(ValueError, match="item 0 is a list"):
        SGD([["weight", model.weight]], lr=0.1)


def test_an_empty_group_added_to_an_optimizer_without_names_has_no_names():
    """PyTorch's add_param_group sets 'param_names' only when it extracted some: an empty group
    joins unnamed groups without the key (and without the with/without-names error)."""
    model = _linear()
    optimizer = SGD([model.weight], lr=0.1)
    optimizer.add_param_group({"params": []})
    assert len(optimizer.param_groups) == 2 and "param_names" not in optimizer.param_groups[1]


def test_loading_an_unnamed_state_dict_into_an_unnamed_optimizer_adds_no_names():
    """PyTorch's load_state_dict keeps the optimizer's names only when it has some: no
    'param_names' key appears in a group that had none (and a group can still be added after)."""
    model = _linear()
    optimizer = SGD(model.parameters(), lr=0.1)
    optimizer.load_state_dict(SGD(_linear().parameters(), lr=0.2).state_dict())
    assert "param_names" not in optimizer.param_groups[0] and optimizer.param_groups[0]["lr"] == 0.2
    assert "param_names" not in optimizer.state_dict()["param_groups"][0]
    optimizer.add_param_group({"params": [mg.tensor(np.zeros(2), requires_grad=True)]})


# ---- module(input=x) --------------------------------------------------------------------------------

def test_input_by_keyword_next_to_a_positional_input_is_a_type_error():
    """PyTorch's lin(x, input=x): forward() got multiple values for argument 'input' (a TypeError);
    the keyword must not silently replace the positional input."""
    lin = _linear()
    x, y = mg.tensor(np.ones((1, 3))), mg.tensor(np.zeros((1, 3)))
    with pytest.raises(TypeError):
        lin(x, input=y)


class _Keywords(mg.nn.Module):
    def forward(self, **kwargs):
        return kwargs


class _InputSecond(mg.nn.Module):
    def forward(self, hidden=None, input=None):
        return hidden, input


class _ByPosition(mg.nn.Module):
    def forward(self, x):
        return ("x", x)


class _Varargs(mg.nn.Module):
    def forward(self, *xs):
        return xs


class _Unreadable(mg.nn.Module):
    forward = dict        # a builtin type: inspect.signature cannot read it


def test_a_forward_taking_keywords_gets_input_as_a_keyword():
    """forward(**kwargs) takes `input=` as it is, as PyTorch passes it."""
    assert _Keywords()(input=3) == {"input": 3}


def test_a_forward_naming_input_after_another_argument_gets_it_by_name():
    """forward(hidden=None, input=None): m(input=x) is input=x (PyTorch), not hidden=x."""
    assert _InputSecond()(input=5) == (None, 5)


def test_the_per_class_answer_is_not_shared_between_classes():
    """A forward calling its input x takes input= by position, a forward(**kwargs) by keyword,
    whichever class was called first."""
    assert _ByPosition()(input=1) == ("x", 1)
    assert _Keywords()(input=2) == {"input": 2}
    assert _ByPosition()(input=3) == ("x", 3)


def test_a_forward_taking_only_varargs_gets_input_by_position():
    """_forward_takes_input's docstring: only a forward naming `input` or taking **kwargs keeps the
    keyword; forward(*xs) has neither, so input= is passed on by position."""
    assert _Varargs()(input=7) == (7,)


def test_a_forward_whose_signature_cannot_be_read_gets_the_keyword_as_given():
    """When inspect cannot read forward's signature, input= is passed on unchanged (dict(input=3))."""
    assert _Unreadable()(input=3) == {"input": 3}


# ---- forward mode: a JVP rule's tangent shape -------------------------------------------------------

def test_a_tangent_with_fewer_axes_than_the_output_is_named_not_stretched():
    """An op of one's own whose (1,) operand spreads over a (4, 5) output without Rules(...,
    broadcasts=True): its rule's (k, 1, 1) tangent is short of (k, 4, 5) along axes the operand
    never had, so it is a ValueError naming the op (autodiff.md), not stretched to (k, 4, 5)."""
    from microgradseq.tensor import Rules, result

    x = mg.tensor(np.array([2.0]))
    rules = Rules(vjp=(lambda g, x: 3 * g.sum(keepdims=True).reshape(1),), jvp=(lambda v, x: (3 * v)[..., None],))

    def spread(x):
        return result("spread", np.broadcast_to(3 * x.data, (4, 5)).copy(), (x,), rules, (x.data,))
    with pytest.raises(ValueError, match=r"^spread: its forward-mode \(JVP\) rules must give a tangent of shape"):
        mg.jvp(spread, [x], [np.ones(1)])


def test_a_tangent_of_the_operands_shape_for_a_larger_output_is_named_not_stretched():
    """The same op whose rule forgot to spread its tangent: (1, 1) (the one direction, the operand's
    shape) for an output of (4, 5) is short of (1, 4, 5) on axes the operand never had: a ValueError
    naming the op, not numpy stretching it."""
    from microgradseq.tensor import Rules, result

    x = mg.tensor(np.array([2.0]))
    rules = Rules(vjp=(lambda g, x: 3 * g.sum(keepdims=True).reshape(1),), jvp=(lambda v, x: 3 * v,))

    def spread(x):
        return result("spread", np.broadcast_to(3 * x.data, (4, 5)).copy(), (x,), rules, (x.data,))
    with pytest.raises(ValueError, match=r"^spread: its forward-mode \(JVP\) rules must give a tangent of shape"):
        mg.jvp(spread, [x], [np.ones(1)])


# ---- torch.* function forms: the input by keyword ---------------------------------------------------

def test_a_function_form_without_its_input_is_a_type_error_naming_pytorchs_argument():
    """torch.tanh() and torch.pow(exponent=2): TypeError, the input missing ('input'); torch.split's
    input is called 'tensor' (torch/functional.py), so its message names 'tensor'."""
    with pytest.raises(TypeError, match=r"tanh\(\) missing 1 required positional argument: 'input'"):
        mg.tanh()
    with pytest.raises(TypeError, match=r"pow\(\) missing 1 required positional argument: 'input'"):
        mg.pow(exponent=2)
    with pytest.raises(TypeError, match=r"split\(\) missing 1 required positional argument: 'tensor'"):
        mg.split(split_size_or_sections=2)


def test_function_forms_take_the_input_by_keyword():
    """torch.tanh(input=x), torch.pow(input=x, exponent=2), torch.split(tensor=x, ...): numpy's values."""
    x = np.array([0.5, -1.0, 2.0, 0.25])
    np.testing.assert_allclose(mg.tanh(input=mg.tensor(x)).numpy(), np.tanh(x))
    np.testing.assert_allclose(mg.pow(input=mg.tensor(x), exponent=2).numpy(), x ** 2)
    parts = mg.split(tensor=mg.tensor(x), split_size_or_sections=3)
    assert [p.numpy().tolist() for p in parts] == [x[:3].tolist(), x[3:].tolist()]


def test_a_function_form_given_its_input_twice_is_a_type_error():
    """torch.pow(x, input=y): 'input' given twice, a TypeError; y must not become the base with x
    as the exponent."""
    x, y = mg.tensor(np.array([2.0])), mg.tensor(np.array([3.0]))
    with pytest.raises(TypeError):
        mg.pow(x, input=y)
    with pytest.raises(TypeError):
        mg.sub(x, input=y)


# ---- Tensor.permute(dims=) ---------------------------------------------------------------------------

def test_permute_refuses_a_misspelt_or_extra_keyword_with_a_type_error():
    """PyTorch's permute(*dims) / permute(dims): dim= is not its keyword, and an unknown keyword
    next to dims= is not dropped silently: a TypeError either way."""
    x = mg.tensor(np.zeros((2, 3, 4)))
    with pytest.raises(TypeError, match="permute"):
        x.permute(dim=(2, 0, 1))
    with pytest.raises(TypeError, match="permute"):
        x.permute(dims=(2, 0, 1), other=1)
    with pytest.raises(TypeError, match="permute"):
        x.permute(2, dims=(2, 0, 1))
    assert x.permute(dims=[2, 0, 1]).shape == (4, 2, 3)


# ---- F.relu, F.sigmoid, F.tanh -----------------------------------------------------------------------

def test_relu_sigmoid_and_tanh_have_pytorchs_signatures():
    """torch/nn/functional.py: relu(input, inplace=False), sigmoid(input), tanh(input)."""
    relu = inspect.signature(F.relu).parameters
    assert list(relu) == ["input", "inplace"] and relu["inplace"].default is False
    assert list(inspect.signature(F.sigmoid).parameters) == ["input"]
    assert list(inspect.signature(F.tanh).parameters) == ["input"]
    x = mg.tensor(np.array([-1.0, 0.5]))
    for function in (F.sigmoid, F.tanh):
        with pytest.raises(TypeError):
            function(x, inplace=False)


def test_relu_names_itself_when_inplace_is_not_a_bool():
    """F.relu(x, inplace='yes'): the ValueError names relu (not another function's name)."""
    with pytest.raises(ValueError, match=r"^relu: inplace must be True or False"):
        F.relu(mg.tensor(np.array([1.0])), inplace="yes")



def test_every_functional_function_has_a_docstring():
    """help(F.relu) and the API pages read each function's docstring, the new wrappers included."""
    missing = [name for name in F.__all__ if not (getattr(F, name).__doc__ or "").strip()]
    assert missing == []


def test_gelu_tanh_approximation_is_pytorchs_formula():
    """PyTorch's GELU(approximate='tanh'): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), away from 0
    and +-1 where a wrong power of x would still agree; with its slope (d/dx of that, in numpy)."""
    x = np.array([-3.0, -1.5, -0.3, 0.7, 2.0, 4.0])
    c = np.sqrt(2 / np.pi)
    inner = c * (x + 0.044715 * x ** 3)
    t = mg.tensor(x, requires_grad=True)
    y = F.gelu(t, approximate="tanh")
    np.testing.assert_allclose(y.numpy(), 0.5 * x * (1 + np.tanh(inner)), rtol=1e-12, atol=1e-14)
    y.sum().backward()
    slope = 0.5 * (1 + np.tanh(inner)) + 0.5 * x * (1 - np.tanh(inner) ** 2) * c * (1 + 3 * 0.044715 * x ** 2)
    np.testing.assert_allclose(t.grad, slope, rtol=1e-12, atol=1e-14)


# ---- the F functions' argument names -----------------------------------------------------------------

def test_mse_loss_names_its_first_argument_input_in_a_shape_error():
    """F.mse_loss(input, target) (PyTorch's names): a shape mismatch names the input as `input`."""
    with pytest.raises(ValueError, match=r"mse_loss: input of shape \(2, 3\) and target of shape \(3, 2\) differ"):
        F.mse_loss(mg.tensor(np.zeros((2, 3))), mg.tensor(np.zeros((3, 2))))


def test_linear_has_exactly_pytorchs_arguments():
    """torch.nn.functional.linear(input, weight, bias=None): no other spelling of the input."""
    params = inspect.signature(F.linear).parameters
    assert list(params) == ["input", "weight", "bias"] and params["bias"].default is None
    with pytest.raises(TypeError):
        F.linear(x=mg.tensor(np.ones((1, 3))), weight=mg.tensor(np.ones((2, 3))))


# ---- the demo's reload snippet -----------------------------------------------------------------------

def test_the_reload_snippet_runs_from_another_directory_with_the_runs_size_and_cell(tmp_path, monkeypatch, capsys):
    """The printed lines load model.npz given by a relative path (out/model.npz) from any working
    directory (the path is made absolute), into a CharLM of the run's --hidden and --cell (16, 'gru',
    neither the default), and print 'The ' and 200 sampled characters."""
    from microgradseq import charlm
    from microgradseq.__main__ import reload_snippet

    vocab = charlm.Vocabulary(charlm.load_text())
    mg.manual_seed(0)
    model = charlm.CharLM(len(vocab), 16, "gru")
    (tmp_path / "out").mkdir()
    mg.save(model, tmp_path / "out" / "model.npz")
    monkeypatch.chdir(tmp_path)
    snippet = reload_snippet(Path("out") / "model.npz", argparse.Namespace(hidden=16, cell="gru"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    exec("\n".join(line[2:] for line in snippet.splitlines()), {})
    sampled = capsys.readouterr().out
    assert sampled.startswith("The ") and len(sampled) == len("The ") + 200 + 1


# ---- more optimizer groups and modules ---------------------------------------------------------------

def test_a_triple_with_a_name_is_not_a_named_parameter():
    """Only (name, tensor) pairs are named parameters: ('w', p, 1) is refused as a tuple item."""
    model = _linear()
    with pytest.raises(ValueError, match="item 0 is a tuple"):
        SGD([("weight", model.weight, 1)], lr=0.1)


def test_a_group_of_one_bare_tensor_has_no_names_and_joins_unnamed_groups():
    """PyTorch: {'params': p} is {'params': [p]}, with no 'param_names'; it sits with other unnamed groups."""
    model = _linear()
    optimizer = SGD([{"params": model.weight}, {"params": [model.bias]}], lr=0.1)
    assert all("param_names" not in group for group in optimizer.param_groups)
    assert optimizer.params == [model.weight, model.bias]


class _XAndKeywords(mg.nn.Module):
    def forward(self, x=None, **kwargs):
        return x, kwargs


def test_a_forward_with_keywords_next_to_its_first_argument_gets_input_as_a_keyword():
    """forward(x=None, **kwargs) takes **kwargs, so m(input=1) is forward(input=1), as PyTorch calls it."""
    assert _XAndKeywords()(input=1) == (None, {"input": 1})


def test_input_by_keyword_reaches_a_forward_pre_hook_by_position():
    """With a forward pre-hook, m(input=v) on a forward calling its input x still runs forward(v): the
    hook sees v among the positional arguments, as it would for m(v)."""
    module = _ByPosition()
    seen = []
    module.register_forward_pre_hook(lambda m, args: seen.append(args))
    assert module(input=4) == ("x", 4)
    assert seen == [(4,)]
