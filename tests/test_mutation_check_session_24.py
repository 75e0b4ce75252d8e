"""Tests written from a mutation check of session 24's changes (loss modules in PyTorch's argument order and
`legacy_reduction`'s `allowed`, the `requires_grad` setter and `requires_grad_`, the default complex dtype in
tensor.py and creation.py, `nan_to_num`, autograd.grad's error for a freed graph, einsum's and in_dtype's
messages, `make_dot`): each pins a behaviour that a hand-made wrong implementation changed without any other
test noticing. Expected values are closed forms, numpy written here, or PyTorch's / numpy's documented
behaviour, never the library's own output. One pins a bug the check found, now fixed: nan_to_num warned
"overflow encountered in cast" for a replacement past float16's range."""

import re
import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq.viz import make_dot


# ---- loss modules and legacy_reduction -------------------------------------------------------------------

@pytest.mark.parametrize("loss", [F.mse_loss, F.l1_loss])
def test_batchmean_in_size_averages_place_of_a_loss_without_it_is_a_size_average_value(loss):
    """functional/reduction.py, legacy_reduction: "A reduction string (one of `allowed`) in size_average's
    place is the reduction"; "batchmean" is one only for kl_div, so for mse_loss it stands where
    size_average does and is refused as a size_average, not read as a reduction."""
    with pytest.raises(ValueError, match="size_average must be True or False"):
        loss(mg.tensor([1.0]), mg.tensor([0.0]), "batchmean")


def test_huber_loss_errors_name_reduction_it_has_no_size_average():
    """PyTorch's HuberLoss(reduction='mean', delta=1.0) has no legacy pair: a wrong reduction is reported as
    the reduction (ValueError for another string, TypeError for what is not a string, as checked_reduction
    says), never as a size_average."""
    with pytest.raises(ValueError, match="HuberLoss: reduction must be one of"):
        nn.HuberLoss(reduction="bogus")
    with pytest.raises(TypeError, match="HuberLoss: reduction must be one of"):
        nn.HuberLoss(reduction=1)
    assert nn.HuberLoss("sum").reduction == "sum"


@pytest.mark.parametrize("make", [nn.MSELoss, nn.L1Loss, nn.KLDivLoss, nn.SmoothL1Loss, nn.BCELoss,
                                  nn.BCEWithLogitsLoss])
def test_a_loss_module_refuses_an_unknown_keyword_naming_itself(make):
    """nn/losses.py, _Loss: "Another keyword raises TypeError naming the loss" (PyTorch's raises TypeError
    for an unexpected keyword argument too)."""
    with pytest.raises(TypeError, match=f"{make.__name__}: the keyword argument foo= is not supported"):
        make(foo=1)


def test_kl_div_loss_log_target_must_be_a_bool():
    """PyTorch's KLDivLoss(..., log_target: bool = False); a string is not a flag (nn/losses.py checks it with
    `flag`, naming KLDivLoss and log_target), never silently truthy."""
    with pytest.raises((TypeError, ValueError), match="KLDivLoss: log_target must be True or False"):
        nn.KLDivLoss(log_target="yes")


@pytest.mark.parametrize("make", [nn.CrossEntropyLoss, nn.NLLLoss])
def test_class_losses_refuse_an_ignore_index_that_is_not_an_integer(make):
    """PyTorch's ignore_index is an int; 1.5 is refused, naming the loss and ignore_index."""
    with pytest.raises(TypeError, match=f"{make.__name__}: ignore_index must be an integer"):
        make(ignore_index=1.5)


# ---- requires_grad on a result whose graph was freed; requires_grad_'s check --------------------------------

def test_requires_grad_of_a_result_stays_refused_after_backward_freed_its_graph():
    """PyTorch: setting requires_grad on a non-leaf raises RuntimeError ("you can only change requires_grad
    flags of leaf variables"); a backward pass that freed the graph does not make the result a leaf."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.sum().backward()
    assert y.requires_grad and not y.is_leaf
    for value in (False, True):
        with pytest.raises(RuntimeError, match="leaf"):
            y.requires_grad = value
    assert y.requires_grad


def test_requires_grad_method_checks_its_flag_even_when_there_is_nothing_to_do():
    """Tensor.requires_grad_ takes a bool (PyTorch's signature: requires_grad_(requires_grad=True)); a string
    is refused, naming requires_grad_, also on a result that already requires grad (where True is a no-op)."""
    y = mg.tensor([1.0], requires_grad=True) * 2
    with pytest.raises((TypeError, ValueError), match="requires_grad_"):
        y.requires_grad_("yes")
    with pytest.raises((TypeError, ValueError), match="requires_grad_"):
        mg.tensor([1.0], requires_grad=True).requires_grad_(1)


def test_a_complex_constant_may_become_a_leaf_that_requires_grad():
    """PyTorch lets floating-point and complex tensors require grad (only integer and bool ones are refused):
    a complex constant made a leaf by the setter and by requires_grad_ (tensor.py, _become_leaf's "fc")."""
    t = mg.tensor([1 + 2j])
    t.requires_grad = True
    assert t.requires_grad and t.is_leaf
    assert mg.tensor([3j]).requires_grad_().requires_grad
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        mg.tensor([1, 2]).requires_grad = True


# ---- the default complex dtype -----------------------------------------------------------------------------

def test_a_numpy_float64_beside_a_python_complex_in_a_list_makes_complex128():
    """dtypes.float_dtype_of: a numpy scalar keeps its own dtype, promoted with the Python numbers' default;
    PyTorch infers float64 for np.float64 and the default complex dtype (complex64 beside float32) for a Python
    complex, and float64 with complex64 promotes to complex128."""
    assert mg.get_default_dtype() == np.float32
    out = mg.tensor([np.float64(0.5), 1j])
    assert out.dtype == np.complex128
    np.testing.assert_array_equal(out.numpy(), [0.5, 1j])
    assert mg.tensor([np.complex128(1j), 0.5]).dtype == np.complex128
    assert mg.tensor([0.5, 1j]).dtype == np.complex64


def test_full_with_a_numpy_complex64_fill_value_is_complex():
    """torch.full infers the dtype from fill_value: a complex one gives the default complex dtype (complex64
    beside float32); numpy's complex64 scalar is complex too (it is not a subclass of Python's complex)."""
    out = mg.full((2,), np.complex64(1j))
    assert out.dtype == np.complex64
    np.testing.assert_array_equal(out.numpy(), [1j, 1j])


def test_linspace_with_only_the_start_complex_is_complex():
    """torch.linspace: "corresponding complex dtype when either is complex": a complex start with a real end,
    1j, 0.5j, 0 (start + i (end - start) / 2)."""
    out = mg.linspace(1j, 0, 3)
    assert out.dtype == np.complex64
    np.testing.assert_array_equal(out.numpy(), [1j, 0.5j, 0])


def test_linspace_with_a_numpy_complex_bound_is_complex():
    """As above with a numpy complex64 scalar as end (not a Python complex): 0, 0.5j, 1j in complex64."""
    out = mg.linspace(0, np.complex64(1j), 3)
    assert out.dtype == np.complex64
    np.testing.assert_array_equal(out.numpy(), [0, 0.5j, 1j])


def test_linspace_keeps_a_dtype_it_is_given():
    """torch.linspace(start, end, steps, dtype=...): the given dtype wins over the default (real or complex)
    one: 0, 0.25, ..., 1 in float64; 0, 0.5j, 1j in complex128."""
    out = mg.linspace(0, 1, 5, dtype=mg.float64)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.25, 0.5, 0.75, 1.0])
    assert mg.linspace(0, 1j, 3, dtype=np.complex128).dtype == np.complex128


# ---- nan_to_num ---------------------------------------------------------------------------------------------

def test_nan_to_num_of_a_complex_tensor_replaces_each_part():
    """numpy.nan_to_num (and torch.nan_to_num for complex inputs): "For complex dtypes, the above is applied to
    each of the real and imaginary components of x separately"; inf -> the dtype's largest finite number,
    NaN -> 0, -inf -> the most negative one, or the numbers given."""
    big = np.finfo(np.float64).max
    x = mg.tensor(np.array([complex(np.inf, np.nan), 1 + 2j, complex(-np.inf, 1.0)]))
    np.testing.assert_array_equal(x.nan_to_num().numpy(), [complex(big, 0.0), 1 + 2j, complex(-big, 1.0)])
    np.testing.assert_array_equal(x.nan_to_num(nan=1.0, posinf=5.0, neginf=-6.0).numpy(),
                                  [5 + 1j, 1 + 2j, -6 + 1j])


def test_nan_to_num_of_an_integer_tensor_is_a_new_tensor():
    """ops/filling.py: "An integer or bool tensor has nothing to replace: a copy" (PyTorch's out-of-place
    nan_to_num returns a new tensor)."""
    x = mg.tensor([1, 2])
    out = x.nan_to_num()
    assert out is not x and out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), [1, 2])
    b = mg.tensor([True, False])
    assert mg.nan_to_num(b) is not b


def test_nan_to_num_takes_numpy_numbers_of_any_width_as_its_replacements():
    """ops/filling.py: nan, posinf and neginf are numbers (numbers.Real): numpy's float32 and int64 scalars
    too, not only Python's (np.float32 is not a subclass of float, np.int64 not of int)."""
    x = mg.tensor(np.array([np.nan, np.inf, -np.inf, 1.5]))
    out = x.nan_to_num(nan=np.float32(0.5), posinf=np.int64(7), neginf=np.float16(-2.0))
    np.testing.assert_array_equal(out.numpy(), [0.5, 7.0, -2.0, 1.5])


def test_nan_to_num_casts_a_replacement_past_float16_s_range_quietly():
    """PyTorch's kernel: pos_inf_replacement = static_cast<scalar_t>(pos_inf), so 1e6 as float16 is inf, with
    no warning (the library's as_tensor and astype say "1e5 as float16 is inf, quietly, as PyTorch's")."""
    x = mg.tensor(np.array([np.nan, 1.0, np.inf, -np.inf], dtype=np.float16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.nan_to_num(posinf=1e6, neginf=-1e6)
    np.testing.assert_array_equal(out.numpy(), np.array([0.0, 1.0, np.inf, -np.inf], dtype=np.float16))


# ---- autograd.grad through a freed graph -------------------------------------------------------------------

def make_freed_graph():
    """x -> exp -> sin, freed by a backward pass; then out = sum(sin * w), w a fresh leaf."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    z = x.exp().sin()
    z.sum().backward()
    return x, w, (z * w).sum()


def test_autograd_grad_through_a_freed_graph_raises_even_with_allow_unused():
    """PyTorch: a second pass through freed buffers raises ("Trying to backward through the graph a second
    time"), allow_unused or not: an input behind the freed part is not 'unused' (allow_unused would give None
    for it, a wrong gradient)."""
    x, w, out = make_freed_graph()
    with pytest.raises(RuntimeError, match="freed by an earlier pass"):
        mg.autograd.grad(out, [w, x], allow_unused=True)


def test_autograd_grad_freed_graph_error_names_the_input_it_cannot_reach():
    """transforms.py: the error names the unreachable input by its position: w (input 0) is reached through
    the fresh mul, x (input 1) only behind the freed nodes."""
    x, w, out = make_freed_graph()
    with pytest.raises(RuntimeError, match="so input 1 cannot be reached"):
        mg.autograd.grad(out, [w, x])


# ---- module backward hooks: PyTorch's signatures, refused -----------------------------------------------------

def test_backward_hook_registrations_take_pytorch_s_prepend_and_refuse_naming_themselves():
    """PyTorch: register_full_backward_hook(hook, prepend=False), register_full_backward_pre_hook(hook,
    prepend=False): called as PyTorch's, with prepend, each says it is not supported (NotImplementedError
    naming the method), not a TypeError about the keyword."""
    model = nn.Linear(2, 2)
    for name in ("register_full_backward_hook", "register_full_backward_pre_hook"):
        with pytest.raises(NotImplementedError, match=f"Linear.{name}: module backward hooks are not supported"):
            getattr(model, name)(lambda *args: None, prepend=True)


# ---- messages: einsum, in_dtype ------------------------------------------------------------------------------

def test_einsum_refuses_an_operand_with_more_axes_than_its_subscript_naming_the_equation():
    """torch.einsum: without '...', a subscript names each of its operand's axes, so 'ij' on a 3-d operand is
    an error (not numpy's, after the fact): ValueError naming the subscript, the shape and the equation."""
    with pytest.raises(ValueError, match=r"subscript 'ij' names 2 axes but its operand has shape \(2, 3, 4\) "
                                         r"\(in 'ij,j->i'\)"):
        mg.einsum("ij,j->i", mg.ones(2, 3, 4), mg.ones(3))


def test_mean_dtype_error_says_complex_and_softmax_s_does_not():
    """PyTorch's mean: "Optional dtype must be either a floating point or complex dtype"; softmax's dtype here
    is a floating-point one only (in_dtype's kinds "f"), so its message does not offer complex."""
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="mean: dtype must be a floating-point dtype or a complex one"):
        x.mean(dtype=mg.int64)
    with pytest.raises(TypeError) as error:
        F.softmax(x, 0, dtype=mg.int64)
    assert "softmax: dtype must be a floating-point dtype (" in str(error.value)
    assert "complex" not in str(error.value)


# ---- make_dot ------------------------------------------------------------------------------------------------

NODE = re.compile(r"^\t+(\w+) \[label=<<B>([^<]*)</B>", re.M)


def fifteen_stamped_steps():
    """h_t = tanh(w h_{t-1} + t) for t = 0..14, each step in `mg.viz.step(t)`: 15 mul and 15 tanh ops."""
    w = mg.tensor([0.5], requires_grad=True)
    h = mg.zeros(1)
    for t in range(15):
        with mg.viz.step(t):
            h = (h * w + float(t)).tanh()
    return h, w


def test_make_dot_draws_every_op_of_every_step():
    """viz/draw.py: make_dot is "`draw`'s "ops" view with every step drawn", as torchviz draws every node:
    fifteen steps give fifteen tanh and fifteen mul nodes (draw's default keeps 12 steps; the cells view
    draws steps as cells, not ops), and w is drawn once."""
    h, w = fifteen_stamped_steps()
    names = [name for _, name in NODE.findall(make_dot(h, params={"w": w}).source)]
    assert names.count("tanh") == 15 and names.count("mul") == 15 and names.count("w") == 1


def test_make_dot_shows_a_tiny_tensors_values():
    """make_dot's docstring: "the drawing shows tiny tensors' values": a = [1.5, -2.25], a * 3 = [4.5, -6.75],
    its sum -2.25 are printed in their nodes."""
    a = mg.tensor([1.5, -2.25], requires_grad=True)
    source = make_dot((a * 3).sum(), params={"a": a}).source
    for text in ("data [1.5, -2.25]", "data [4.5, -6.75]", "data -2.25"):
        assert text in source


def test_make_dot_takes_torchviz_s_arguments_by_position():
    """torchviz: make_dot(var, params=None, show_attrs=False, show_saved=False, max_attr_chars=50); a script
    passing them by position draws as with keywords; max_attr_chars must be an integer, a bool is not one."""
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (a * 2).sum()
    assert make_dot(y, {"a": a}, True, True, 30).source == make_dot(y, params={"a": a}).source
    with pytest.raises(TypeError, match="make_dot: max_attr_chars must be an integer"):
        make_dot(y, max_attr_chars=True)
