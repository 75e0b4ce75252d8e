"""Tests written from a mutation check of session 30's changes: tensor.py's refusal of a list or tuple
of multi-element tensors (`_own_array`, `_tensors_are_not_numbers`), as_tensor's message when the error
names the function already, Tensor(n)'s one-int warning; the per-thread autocast entries; the per-thread
transposed-weight cache of linear; tensor_hooks.py's hooked non-leaf nodes (`walked`, no reference
cycle); viz's graphviz-pure box limit and nslimit; and the bool/dtype refusals added where PyTorch
refuses (topk, kthvalue/median/nanmedian, relu/hardtanh/relu6, clamp between bool bounds, nansum's
dtype, bool einsum). Each test pins a behaviour that a hand-made wrong implementation changed without
any other test noticing. Expected values come from closed forms, numpy or PyTorch's documented
behaviour (sources named in the tests), never from the library's own output."""

import gc
import importlib
import re
import weakref

import numpy as np
import pytest

import microgradseq as mg

# ---- a list or tuple of tensors given where data goes -----------------------------------------------------


def test_a_list_of_one_element_tensors_of_any_shape_is_numbers_not_refused():
    """torch.tensor([torch.tensor([7.]), torch.tensor([5.])]) is tensor([7., 5.]) (pytorch/pytorch#127737:
    each element is converted as a scalar, any one-element tensor is one): only tensors of more than
    one element are refused, not every tensor with axes."""
    t = mg.tensor([mg.tensor([7.0]), mg.tensor([5.0])])
    np.testing.assert_array_equal(np.ravel(t.data), [7.0, 5.0])


def test_a_list_of_one_element_1d_tensors_has_pytorchs_shape():
    """pytorch/pytorch#127737: torch.tensor([torch.tensor([7.]), torch.tensor([5.]), torch.tensor([9.])])
    is tensor([7., 5., 9.]), shape (3,): torch/csrc/utils/tensor_new.cpp's compute_sizes stops at the
    list and store_scalar reads each element as one number."""
    t = mg.tensor([mg.tensor([7.0]), mg.tensor([5.0]), mg.tensor([9.0])])
    assert t.shape == (3,)


def test_a_list_of_numpy_arrays_is_still_data_only_tensors_are_refused():
    """torch.tensor([np.array([1., 2.]), np.array([3., 4.])]) is a (2, 2) tensor (tensor_new.cpp's
    recursive_store reads arrays as sequences, warning that it is slow): the refusal is for tensors."""
    t = mg.tensor([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    np.testing.assert_array_equal(t.data, [[1.0, 2.0], [3.0, 4.0]])


def test_a_list_of_empty_tensors_is_refused_as_not_one_element_each():
    """An empty tensor is not one element either: PyTorch's store_scalar of it raises "only one element
    tensors can be converted to Python scalars"."""
    with pytest.raises(TypeError, match=r"got a list of tensors \(\(0,\), \(0,\)\); only one-element tensors"):
        mg.tensor([mg.empty(0), mg.empty(0)])


def test_a_list_mixing_a_multi_element_tensor_and_a_number_is_refused_naming_each_entry():
    """One multi-element tensor in the list is enough to refuse it (PyTorch refuses it at that entry); the
    message names a tensor by its shape and anything else by its type."""
    with pytest.raises(TypeError, match=r"^tensor: expected a tensor or numbers, got a list of tensors "
                                        r"\(\(2,\), float\); only one-element tensors are numbers"):
        mg.tensor([mg.ones(2), 1.0])


def test_the_refusal_shows_at_most_four_shapes_and_dots_after_them():
    shapes = r"\(2,\), \(2,\), \(2,\), \(2,\)"
    with pytest.raises(TypeError, match=rf"got a list of tensors \({shapes}\); only"):
        mg.tensor([mg.ones(2)] * 4)
    with pytest.raises(TypeError, match=rf"got a list of tensors \({shapes}, \.\.\.\); only"):
        mg.tensor([mg.ones(2)] * 5)


def test_a_function_given_a_tuple_of_tensors_keeps_the_explanation_under_its_own_name():
    """nansum((h, c)): the error already names nansum, so as_tensor does not replace it with its generic
    'expected a tensor, an array or numbers' (which would lose what to do instead)."""
    with pytest.raises(TypeError, match=r"^nansum: expected a tensor or numbers, got a tuple of tensors "
                                        r"\(\(2, 3\), \(2, 3\)\); only one-element tensors .* mg\.stack"):
        mg.nansum((mg.ones(2, 3), mg.ones(2, 3)))


def test_a_function_given_a_ragged_list_says_why_under_its_own_name():
    """A ValueError from making the array keeps its reason (without the 'tensor: ' prefix) after the
    function's own 'expected a tensor, an array or numbers'."""
    with pytest.raises(ValueError, match=r"^nansum: expected a tensor, an array or numbers, got list "
                                         r"\[\[1, 2\], \[3\]\] \(cannot make an array of numbers from list data"):
        mg.nansum([[1, 2], [3]])


def test_the_one_int_warning_points_at_the_callers_line():
    """stacklevel=2: the warning is reported at the line that wrote mg.Tensor(n), not inside the library."""
    with pytest.warns(UserWarning, match=r"reads one int as a size") as caught:
        mg.Tensor(3)
    assert caught[0].filename == __file__


# ---- hooked non-leaf nodes ----------------------------------------------------------------------------------

def leaf(values):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_a_pass_run_inside_a_hook_leaves_the_outer_pass_setting_a_hooked_nodes_grad():
    """y = 2w hooked (g -> 10 g), z = 3y whose hook runs mg.autograd.grad of sum(y^2) through y's (kept)
    graph (which, as PyTorch's torch.autograd.grad, sets no .grad); when it ends the outer pass still sets y.grad
    when it reaches y: 10 * dL/dy with L = sum z, so 10 * 3 = 30 (a hooked tensor's .grad is what its
    hooks return, as PyTorch's retained grad), and w.grad = 2 * 30 (chain rule)."""
    w = leaf([1.0, 2.0])
    y = w * 2
    y.register_hook(lambda g: g * 10)
    z = y * 3
    inner = []

    def run_inner(g):
        with mg.enable_grad():              # (a hook runs without recording, as PyTorch's backward does)
            mg.autograd.grad((y * y).sum(), w, retain_graph=True)
        inner.append(y.grad)
    z.register_hook(run_inner)
    z.sum().backward()
    assert inner == [None]
    np.testing.assert_array_equal(y.grad, [30.0, 30.0])
    np.testing.assert_array_equal(w.grad, [60.0, 60.0])


def test_a_backward_run_inside_a_hook_does_not_leak_into_the_outer_pass():
    """y = 2w, z = 3y; z's hook runs sum(y^2).backward(retain_graph=True): that pass adds
    d(sum y^2)/dw = 2 * 2y = [8, 16] into w.grad, the outer pass d(sum z)/dw = 6 (chain rule), so
    w.grad = [14, 22] (PyTorch's reentrant backward keeps each pass's gradients apart)."""
    w = leaf([1.0, 2.0])
    y = w * 2
    z = y * 3

    def run_inner(g):
        with mg.enable_grad():
            (y * y).sum().backward(retain_graph=True)
    z.register_hook(run_inner)
    z.sum().backward()
    np.testing.assert_array_equal(w.grad, [14.0, 22.0])


def test_a_graph_behind_a_hooked_node_is_freed_without_the_collector_after_a_pass_that_failed():
    """A hook that raises ends the pass with the error; the pass still lets go of the hooked node it
    held for setting .grad, so dropping the last tensor frees the graph by reference counting alone
    (the array tanh kept for its gradient dies with it)."""
    def refuse(g):
        raise ArithmeticError("refused")

    gc.collect()
    gc.disable()
    try:
        w = leaf([0.5, -0.5])
        h = w.tanh()
        kept = weakref.ref(h._data)
        q = h * 2
        del h
        q.register_hook(refuse)
        with pytest.raises(ArithmeticError, match="refused"):
            q.sum().backward(retain_graph=True)
        assert kept() is not None
        del q
        assert kept() is None
    finally:
        gc.enable()


# ---- viz: graphviz-pure's box limit and the layout's nslimit ----------------------------------------------

def dot_source(boxes, edge_attributes=""):
    """DOT text of `boxes` boxes in a chain, each edge with `edge_attributes` (e.g. ' [label="x"]')."""
    return ("digraph {\n" + "".join(f'\tn{i} [label="tanh"]\n' for i in range(boxes))
            + "".join(f"\tn{i} -> n{i + 1}{edge_attributes}\n" for i in range(boxes - 1)) + "}\n")


def test_the_box_limit_counts_boxes_not_edges_that_carry_attributes():
    """A drawing's edges have attributes too (`a -> b [label=...]`); only the boxes count toward
    PURE_LIMIT, so PURE_LIMIT boxes joined by labelled edges are laid out."""
    render_module = importlib.import_module("microgradseq.viz.render")
    limit = render_module.PURE_LIMIT
    assert limit == 1_500
    assert render_module.too_many_for(dot_source(limit, ' [label="g"]'), "/opt/bin/graphviz-pure") is None
    assert "1,501 boxes" in render_module.too_many_for(dot_source(limit + 1, ' [label="g"]'), "/opt/bin/graphviz-pure")


def test_the_box_limit_applies_to_graphviz_pure_under_a_name_with_a_suffix():
    """The renderer found may be `graphviz-pure` plus a suffix (`graphviz-pure.exe` on Windows, where
    ensure_renderer looks for PURE + suffix): the limit is graphviz-pure's, whatever the suffix."""
    render_module = importlib.import_module("microgradseq.viz.render")
    assert render_module.too_many_for(dot_source(1_501), "/opt/bin/graphviz-pure.exe") is not None
    assert render_module.too_many_for(dot_source(1_501), "/opt/bin/dot.exe") is None


def test_nslimit_is_a_graph_attribute_of_the_drawing():
    """nslimit limits the network-simplex passes of the whole layout: it is set on the graph (DOT's bare
    `a=b ...` line of graph attributes), not on each node or edge, where Graphviz ignores it."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    source = mg.draw((x * 2).tanh().sum()).source
    graph_lines = [line for line in source.splitlines() if re.fullmatch(r"\s*(\w+=\S+ ?)+", line)]
    assert len(graph_lines) == 1 and re.search(r"\bnslimit=1\b", graph_lines[0])
    assert not any("nslimit" in line for line in source.splitlines() if line not in graph_lines)


def test_the_box_limit_message_names_what_to_write_instead():
    """The advice names real spellings: mg.viz.step, max_steps, the "cells" view (draw's `view=`), Graphviz's dot."""
    render_module = importlib.import_module("microgradseq.viz.render")
    message = render_module.too_many_for(dot_source(2_000), "/opt/bin/graphviz-pure")
    assert message.startswith("a drawing of 2,000 boxes is more than graphviz-pure lays out")
    for spelling in ("(at most 1,500)", "mg.viz.step(t)", "max_steps", "the cells view", "`dot` on PATH"):
        assert spelling in message


# ---- refusals where PyTorch has no kernel -------------------------------------------------------------------

@pytest.mark.parametrize("name, call", [("median", lambda t: t.median()), ("nanmedian", lambda t: t.nanmedian(0)),
                                        ("kthvalue", lambda t: t.kthvalue(1))])
def test_the_bool_refusal_of_an_order_statistic_names_its_own_kernel(name, call):
    """Sorting.cpp: median, nanmedian and kthvalue each dispatch without Bool; the message says which
    function's kernel has none and what to do."""
    with pytest.raises(TypeError, match=rf"^{name}: expected a tensor of numbers, got dtype bool \(PyTorch's "
                                        rf"{name} has no bool kernel\); convert it first \(t\.long\(\)\)"):
        call(mg.tensor([True, False, True]))


def test_clamp_of_a_float_tensor_between_bool_tensor_bounds_promotes_as_pytorch():
    """Only a bool tensor between bool bounds has no kernel: a float tensor's clamp promotes its bool
    tensor bounds (result_type: float), min(max(x, 0), 1)."""
    x = mg.tensor([0.5, 2.0, -1.0], dtype=mg.float64)
    y = mg.clamp(x, mg.tensor(False), mg.tensor(True))
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.data, [0.5, 1.0, 0.0])


def test_clamp_of_a_bool_tensor_with_one_bool_tensor_bound_is_its_maximum_or_minimum():
    """One bound alone is clamp_min (maximum) or clamp_max (minimum), which PyTorch has for bool:
    max(mask, True) is all True, min(mask, False) all False, and the dtype stays bool."""
    mask = mg.tensor([True, False, True])
    above = mg.clamp(mask, min=mg.tensor(True))
    below = mg.clamp(mask, max=mg.tensor(False))
    assert above.dtype == np.bool_ and below.dtype == np.bool_
    np.testing.assert_array_equal(above.data, [True, True, True])
    np.testing.assert_array_equal(below.data, [False, False, False])


def test_nansum_of_a_floating_tensor_into_an_integer_or_complex_dtype_is_refused():
    """ReduceOps.cpp nansum_out: an integral self goes to sum (any dtype); a floating self goes through
    nansum's own kernel, which is floating only: dtype int64 or complex128 is an error; float32 is fine."""
    x = mg.tensor([1.5, np.nan, 2.0], dtype=mg.float64)
    for dtype in (mg.int64, np.complex128):
        for t in (x, x[0]):                 # (a 0-d tensor too)
            with pytest.raises(TypeError, match=r"^nansum: dtype must be a floating-point dtype"):
                mg.nansum(t, dtype=dtype)
    y = mg.nansum(x, dtype=mg.float32)
    assert y.dtype == np.float32 and y.item() == 3.5


def test_nansum_of_a_bool_tensor_given_an_integer_dtype_sums_in_it():
    """A bool self is integral for PyTorch's nansum (isIntegralType(..., includeBool=true)): it goes to
    sum, which takes any dtype: True + False + True = 2 in int16."""
    y = mg.nansum(mg.tensor([True, False, True]), dtype=mg.int16)
    assert y.dtype == np.int16 and y.item() == 2


def test_a_0d_bool_tensor_is_refused_by_relu_hardtanh_relu6_median_and_clamp_too():
    """The refusals are about the dtype, whatever the shape."""
    t = mg.tensor(True)
    for call in (mg.relu, mg.nn.functional.hardtanh, mg.nn.functional.relu6, lambda u: u.median(),
                 lambda u: u.kthvalue(1), lambda u: mg.clamp(u, mg.tensor(False), mg.tensor(True))):
        with pytest.raises(TypeError, match=r"bool"):
            call(t)


def test_einsum_of_a_bool_and_a_float_operand_promotes_and_is_not_refused():
    """Only all-bool operands meet the missing bool kernels; a bool operand with a float one promotes
    (PyTorch's mul and bmm of the promoted operands): elementwise [1, 0, 1] * x, and its sum."""
    mask, x = mg.tensor([True, False, True]), mg.tensor([0.5, 0.25, 2.0], dtype=mg.float64)
    y = mg.einsum("i,i->i", mask, x)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.data, [0.5, 0.0, 2.0])
    assert mg.einsum("i,i->", mask, x).item() == 2.5


def test_einsum_of_three_bool_operands_refuses_a_contraction_and_keeps_an_outer_product_bool():
    """Linear.cpp einsum: a letter summed across operands goes through sumproduct_pair's bmm (no bool
    kernel), with three operands as with two; no summed letter is mul and permute, which keep bool."""
    a = np.array([True, False, True])
    v = mg.tensor(a)
    with pytest.raises(TypeError, match=r"^einsum: bool tensors have no matrix product"):
        mg.einsum("i,i,i->", v, v, v)
    y = mg.einsum("i,j,k->ijk", v, v, v)
    assert y.dtype == np.bool_
    np.testing.assert_array_equal(y.data, a[:, None, None] & a[None, :, None] & a[None, None, :])


def test_einsum_of_two_bool_operands_summing_only_the_second_ones_letter_is_int64():
    """A letter only the second operand has is that operand's sum (PyTorch sums it first: int64)."""
    a = np.array([[True, False, True], [True, True, False]])
    y = mg.einsum("i,jk->ij", mg.tensor(a[0]), mg.tensor(a))
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.data, np.outer(a[0], a.sum(1)))


def test_the_topk_refusal_says_its_kernel_has_no_bool_and_what_to_do():
    """SortingKernel.cpp: topk_kernel dispatches without Bool (sort's has it); the message says so."""
    with pytest.raises(TypeError, match=r"^topk: expected a tensor of numbers, got dtype bool \(PyTorch's topk "
                                        r"has no bool kernel\); convert it first \(t\.long\(\)\)"):
        mg.tensor([True, False]).topk(1)
