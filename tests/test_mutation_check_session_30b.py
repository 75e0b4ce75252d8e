"""Tests written from a mutation check of the changes after session 30's first check: tensor.array_of and
the callers that read an argument with it (bincount's weights, take_along_dim's indices, index_put's index
tensors, PackedSequence's batch sizes, pack_padded_sequence's lengths, ctc_loss's targets and lengths,
lu_unpack's pivots, vjp/jvp directions read in the inputs' dtype, where's condition and make_dual's
tangent read as copies); `_holds_tensors` at any depth, over tuples and Parameters; `_own_array`'s
reading of one-element tensors as numbers; the one-int warning of the legacy `Tensor(n)`; ldexp and ndtr
naming themselves; tensor_hooks.py's `ops_before` (a pass run inside another puts back the outer pass's
partial sums); and promotion.py's `_dtype` refusals. Each test pins a behaviour that a hand-made wrong
implementation changed without any other test noticing. Three bugs were found on the way: one-element
tensors in a nested list and the index_put method's error name (fixed), and an inner backward freeing the
outer pass's graph (an xfail(strict) test records it; docs/engine.md says to pass retain_graph=True).
Expected values come from closed forms, hand-written numpy or PyTorch's documented behaviour (named in
the tests), never from the library's own output."""

import itertools
import math
import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn.functional as F
from microgradseq.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

_STACKED = r"expected a tensor or numbers, got a (tuple|list) of tensors"


def leaf(values):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ---- callers of array_of that the sweep did not reach: a pair of tensors is refused, not stacked ----------

def test_bincount_refuses_a_tuple_of_weight_tensors_and_weighs_with_one():
    """numpy would stack (a, b) into weights of shape (2, 3); PyTorch's bincount takes one weights tensor
    (a tuple of tensors is a TypeError). The valid call is np.bincount's weighted count."""
    values = mg.tensor([0, 2, 2])
    with pytest.raises(TypeError, match=rf"^bincount: {_STACKED}"):
        mg.bincount(values, (mg.tensor([1.0, 2.0, 3.0]), mg.tensor([4.0, 5.0, 6.0])))
    np.testing.assert_allclose(mg.bincount(values, mg.tensor([0.5, 1.0, 2.0])).data,
                               np.bincount([0, 2, 2], [0.5, 1.0, 2.0]))


def test_take_along_dim_refuses_a_tuple_of_index_rows_that_would_stack_to_a_valid_index():
    """(i1, i2), each (3,), stacked would be a valid (2, 3) index for a (2, 3) tensor: computed silently.
    PyTorch refuses a tuple where one index tensor goes."""
    x = mg.tensor(np.arange(6.0).reshape(2, 3))
    rows = np.array([[0, 2, 1], [1, 1, 0]])
    with pytest.raises(TypeError, match=rf"^take_along_dim: {_STACKED}"):
        mg.take_along_dim(x, (mg.tensor(rows[0]), mg.tensor(rows[1])), dim=1)
    np.testing.assert_array_equal(mg.take_along_dim(x, mg.tensor(rows), dim=1).data,
                                  np.take_along_axis(np.arange(6.0).reshape(2, 3), rows, 1))


def test_index_put_refuses_a_list_of_tensors_as_one_of_its_index_tensors():
    """indices is a tuple of index tensors, one per axis; an entry that is itself a list of multi-element
    tensors would be stacked into a 2-d index by numpy. The valid call writes x[[0, 1], [1, 0]] = 5."""
    x = mg.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError, match=_STACKED):
        x.index_put(([mg.tensor([0, 1]), mg.tensor([1, 0])],), mg.tensor(5.0, dtype=mg.float64))
    expected = np.arange(6.0).reshape(2, 3)
    expected[[0, 1], [1, 0]] = 5.0
    got = x.index_put((mg.tensor([0, 1]), mg.tensor([1, 0])), mg.tensor(5.0, dtype=mg.float64))
    np.testing.assert_array_equal(got.data, expected)


def test_a_packed_sequence_with_a_tuple_of_batch_size_tensors_is_a_type_error():
    """batch_sizes is one 1-d tensor; a tuple of two would stack to shape (2, 2) and fail as 'not
    non-increasing sizes' (a ValueError about a shape the user never wrote). Valid: the padded batch of
    sequences [0, 2, 4] and [1, 3] (PackedSequence layout: step by step, sequences in sorted order)."""
    data = mg.tensor(np.arange(5.0).reshape(5, 1))
    with pytest.raises(TypeError, match=rf"^pad_packed_sequence: {_STACKED}"):
        pad_packed_sequence(PackedSequence(data, (mg.tensor([2, 2]), mg.tensor([1, 0]))))
    padded, lengths = pad_packed_sequence(PackedSequence(data, mg.tensor([2, 2, 1])))
    np.testing.assert_array_equal(padded.data[..., 0], [[0.0, 1.0], [2.0, 3.0], [4.0, 0.0]])
    np.testing.assert_array_equal(lengths.data, [3, 2])


def test_pack_padded_sequence_names_a_tuple_of_length_tensors_as_given_not_a_stacked_shape():
    """A tuple of multi-element tensors is not lengths: the message names the tuple, not the shape (2, 2)
    numpy would stack it into. One-element tensors are numbers (PyTorch's lengths list may hold them)."""
    x = mg.zeros(3, 2, 1)
    with pytest.raises(TypeError, match=r"^pack_padded_sequence: expected lengths as a list or 1-D tensor of "
                                        r"integers, got tuple$"):
        pack_padded_sequence(x, (mg.tensor([3, 2]), mg.tensor([1, 1])))
    np.testing.assert_array_equal(pack_padded_sequence(x, [mg.tensor(3), mg.tensor(2)]).batch_sizes.data, [2, 2, 1])


def _ctc_uniform_loss(T, C, target):
    """-log of the probability of `target` under T independent uniform steps over C classes (blank 0):
    the number of length-T label sequences that collapse (merge repeats, drop blanks) to it, times C^-T."""
    def collapse(path):
        merged = [k for k, _ in itertools.groupby(path)]
        return [k for k in merged if k != 0]
    count = sum(collapse(p) == list(target) for p in itertools.product(range(C), repeat=T))
    return -np.log(count * float(C) ** -T)


def test_ctc_loss_refuses_a_tuple_of_target_rows_that_would_stack_to_the_padded_form():
    """(t1, t2) stacked is the padded (N, S) targets: computed silently. The valid padded call equals the
    brute-force count of alignments (uniform log-probabilities: every path has probability C^-T)."""
    T, C = 5, 4
    log_probs = mg.tensor(np.log(np.full((T, 2, C), 1.0 / C)))
    with pytest.raises(TypeError, match=rf"^ctc_loss: {_STACKED}"):
        F.ctc_loss(log_probs, (mg.tensor([1, 2]), mg.tensor([2, 3])), [T, T], [2, 2], reduction="none")
    got = F.ctc_loss(log_probs, mg.tensor([[1, 2], [2, 2]]), [T, T], [2, 2], reduction="none")
    np.testing.assert_allclose(got.data, [_ctc_uniform_loss(T, C, [1, 2]), _ctc_uniform_loss(T, C, [2, 2])])


@pytest.mark.parametrize("which", ["input_lengths", "target_lengths"])
def test_ctc_loss_refuses_a_tuple_of_length_tensors_as_a_type_error(which):
    """Stacked, (a, b) would be lengths of shape (2, 2): a ValueError about a shape never written.
    PyTorch refuses a tuple of multi-element tensors (TypeError)."""
    T, C = 5, 4
    log_probs = mg.tensor(np.log(np.full((T, 2, C), 1.0 / C)))
    lengths = {"input_lengths": [T, T], "target_lengths": [2, 2]}
    lengths[which] = (mg.tensor(lengths[which]), mg.tensor(lengths[which]))
    with pytest.raises(TypeError, match=rf"^ctc_loss: {_STACKED}"):
        F.ctc_loss(log_probs, mg.tensor([[1, 2], [2, 3]]), lengths["input_lengths"], lengths["target_lengths"])


def test_lu_unpack_refuses_a_tuple_of_pivot_rows_that_would_stack_to_the_batchs_pivots():
    """A batch of two 2x2 factorizations: pivots (p1, p2) stacked are a valid (2, 2) pivots tensor,
    unpacked silently. Valid: P L U = A (the definition of the factorization)."""
    A = np.array([[[1.0, 2.0], [3.0, 4.0]], [[2.0, 1.0], [1.0, 3.0]]])
    LU, pivots = mg.linalg.lu_factor(mg.tensor(A))
    with pytest.raises(TypeError, match=rf"^lu_unpack: {_STACKED}"):
        mg.lu_unpack(LU, (pivots[0], pivots[1]))
    P, L, U = mg.lu_unpack(LU, pivots)
    np.testing.assert_allclose(P.data @ L.data @ U.data, A, atol=1e-12)


# ---- _holds_tensors: a multi-element tensor anywhere in nested lists and tuples ----------------------------

def test_a_list_holding_a_tuple_of_multi_element_tensors_is_refused_naming_the_tuple():
    """numpy stacks [(h, c)] into shape (1, 2, 3) as it stacks [[h, c]]; PyTorch refuses both (a tensor
    of more than one element is not a number at any depth). The message names the inner tuple."""
    h, c = mg.ones(3), mg.zeros(3)
    for call in (mg.tensor, mg.zeros_like, lambda v: mg.where(v, 1.0, 0.0)):
        with pytest.raises(TypeError, match=r"got a tuple of tensors \(\(3,\), \(3,\)\); only one-element"):
            call([(h, c)])


def test_a_one_element_tensor_before_a_multi_element_one_does_not_end_the_search():
    """[1-element, 2-element]: the first is a number, the second is not (PyTorch refuses the list at the
    second entry); numpy would fail on the ragged pair with another error."""
    for data, shapes in (([mg.tensor(1.0), mg.ones(2)], r"list of tensors \(\(\), \(2,\)\)"),
                         ((mg.tensor([1.0]), mg.ones(2)), r"tuple of tensors \(\(1,\), \(2,\)\)")):
        with pytest.raises(TypeError, match=rf"^tensor: expected a tensor or numbers, got a {shapes}; only"):
            mg.tensor(data)


def test_a_nested_list_with_numbers_first_and_a_multi_element_tensor_later_is_refused():
    """[[[1, 2]], [a]] with a of shape (2,): numpy stacks it into shape (2, 1, 2) silently (each entry
    is (1, 2)); PyTorch refuses the tensor of two elements at depth 2. The first nested list holding no
    tensor must not end the search."""
    a = mg.tensor([3.0, 4.0])
    for call in (mg.tensor, mg.zeros_like):
        with pytest.raises(TypeError, match=r"got a list of tensors \(\(2,\)\); only one-element"):
            call([[[1.0, 2.0]], [a]])


# ---- _own_array: one-element tensors in a list are numbers ------------------------------------------------

def test_a_list_mixing_a_one_element_1d_tensor_and_a_number_is_numbers():
    """torch.tensor([torch.tensor([7.]), 5.]) is tensor([7., 5.]): tensor_new.cpp's store_scalar reads
    each one-element tensor as one number, beside plain numbers (not only when every entry is a tensor)."""
    t = mg.tensor([mg.tensor([7.0]), 5.0], dtype=mg.float64)
    assert t.shape == (2,)
    np.testing.assert_array_equal(t.data, [7.0, 5.0])


def test_a_tuple_of_one_element_1d_tensors_has_pytorchs_shape_too():
    """A tuple is a sequence to torch.tensor as a list is: (tensor([7.]), tensor([5.])) gives shape (2,)."""
    t = mg.tensor((mg.tensor([7.0]), mg.tensor([5.0])))
    assert t.shape == (2,)
    np.testing.assert_array_equal(t.data, [7.0, 5.0])



def test_one_element_tensors_in_a_nested_list_are_numbers_as_at_the_first_depth():
    """torch.tensor([[torch.tensor([7.]), torch.tensor([5.])]]) is tensor([[7., 5.]]), shape (1, 2), and
    [[tensor([7.]), 5.]] is too: tensor_new.cpp's recursive_store reaches each entry at any depth and
    store_scalar reads a one-element tensor as one number (as at the first depth, pytorch/pytorch#127737).
    Here the nested ones keep their axis (shape (1, 2, 1)), and beside a number the list is ragged."""
    t = mg.tensor([[mg.tensor([7.0]), mg.tensor([5.0])]], dtype=mg.float64)
    assert t.shape == (1, 2)
    np.testing.assert_array_equal(mg.tensor([[mg.tensor([7.0]), 5.0]], dtype=mg.float64).data, [[7.0, 5.0]])

# ---- the legacy Tensor(n) warning -------------------------------------------------------------------------

def test_the_one_int_warning_shows_the_value_in_the_tensors_dtype():
    """Tensor(3, dtype=int64) is the 0-d int64 tensor 3: the warning says 3, not the float 3.0."""
    with pytest.warns(UserWarning, match=r"^Tensor\(3\) is the 0-d tensor 3 \(data"):
        mg.Tensor(3, dtype=mg.int64)


def test_the_one_int_warning_of_a_parameter_points_at_the_users_line_not_inside_the_library():
    """Parameter(3) goes through Tensor.__init__ inside the library: the warning still names this file
    (user_stacklevel), where stacklevel=2 would name the library's parameter code."""
    with pytest.warns(UserWarning, match=r"reads one int as a size") as caught:
        mg.nn.Parameter(3)
    assert caught[0].filename == __file__


def test_a_bool_is_not_the_one_int_of_the_legacy_warning():
    """The warning is for one int read as a size by PyTorch's legacy constructor; True is a bool (its
    own type), given as data: no size warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = mg.Tensor(True)
    assert t.shape == ()


def test_the_refusal_names_the_nested_list_even_beside_a_one_element_tensor():
    """[tensor(1.), [h, c]]: the one-element tensor is a number; what is refused is the inner [h, c], and
    the message names its tensors, not the outer list's entries."""
    h, c = mg.ones(3), mg.zeros(3)
    with pytest.raises(TypeError, match=r"^tensor: expected a tensor or numbers, got a list of tensors "
                                        r"\(\(3,\), \(3,\)\); only"):
        mg.tensor([mg.tensor(1.0), [h, c]])


# ---- array_of(value, dtype): a tensor's values in the dtype asked for ------------------------------------

def _f(x):
    return x * x


@pytest.mark.parametrize("name", ["jvp", "vjp", "autograd.functional.vjp", "autograd.functional.jvp", "func.vjp",
                                  "func.jvp"])
def test_a_float64_direction_for_a_float32_input_is_read_in_the_inputs_dtype(name):
    """The directions are read as "numbers that cast to the inputs' dtypes" (transforms._directions): a
    float64 v for a float32 x gives d(x^2) v = 2 x v in float32, as PyTorch's products keep the primal's
    dtype (here 2 * [1, 2] * [0.5, 0.25] = [1, 1], exact in float32)."""
    x = mg.tensor(np.array([1.0, 2.0], dtype=np.float32))
    v = mg.tensor(np.array([0.5, 0.25]))
    if name == "jvp":
        got = mg.jvp(_f, x, v)[1]
    elif name == "vjp":
        got = mg.vjp(_f, mg.tensor(x.data, requires_grad=True), v)[1][0]
    elif name == "autograd.functional.vjp":
        got = mg.autograd.functional.vjp(_f, x, v)[1]
    elif name == "autograd.functional.jvp":
        got = mg.autograd.functional.jvp(_f, x, v)[1]
    elif name == "func.vjp":
        got = mg.func.vjp(_f, x)[1](v)[0]
    else:
        got = mg.func.jvp(_f, (x,), (v,))[1]
    assert got.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(getattr(got, "data", got)), [1.0, 1.0])



# ---- promotion.py: what is not a dtype -------------------------------------------------------------------

def test_a_list_of_fields_is_not_a_dtype_to_promote_types_or_can_cast():
    """numpy reads [("a", float32)] as a structured dtype; PyTorch's promote_types and can_cast take a
    torch.dtype only: the refusal says a dtype goes there and names the list, not a 'non-numeric dtype'."""
    with pytest.raises(TypeError, match=r"^promote_types: type2 must be a dtype \(mg\.float32, mg\.long, \.\.\.\), "
                                        r"got list \[\('a'"):
        mg.promote_types(mg.int32, [("a", mg.float32)])
    with pytest.raises(TypeError, match=r"^can_cast: from_ must be a dtype .* got list"):
        mg.can_cast([("a", mg.float64), ("b", mg.int32)], mg.float32)
    assert mg.promote_types(mg.int32, mg.float32) == np.float32          # (PyTorch's promotion table)


# ---- arguments read as copies: a numpy array changed after the call does not change what was read ----------

def test_where_keeps_the_condition_as_it_was_at_the_call():
    """A numpy mask changed after mg.where (before backward) does not move the gradient: d/dx where(c, x, 0)
    = c at the call (here [1, 0]), as PyTorch's where, which converts the condition when called."""
    x = leaf([1.0, 2.0])
    mask = np.array([True, False])
    y = mg.where(mask, x, 0.0)
    mask[:] = [False, True]
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0])
    np.testing.assert_array_equal(y.data, [1.0, 0.0])


def test_make_dual_copies_a_numpy_tangent():
    """The tangent given as a numpy array is read when make_dual is called: changing the array afterwards
    leaves the dual's tangent (and a jvp through it: d(3x) = 3 v) as given."""
    import microgradseq.autograd.forward_ad as fwAD
    x = mg.tensor(np.array([1.0, 2.0]))
    v = np.array([1.0, -1.0])
    with fwAD.dual_level():
        dual = fwAD.make_dual(x, v)
        v[:] = 0.0
        y = dual * 3
        np.testing.assert_array_equal(fwAD.unpack_dual(dual).tangent.data, [1.0, -1.0])
        np.testing.assert_array_equal(fwAD.unpack_dual(y).tangent.data, [3.0, -3.0])


# ---- a pass run inside another: what the outer pass finds after it --------------------------------------

def test_a_backward_inside_a_hook_that_frees_the_shared_graph_makes_the_outer_pass_fail():
    """y = w * w (which keeps w), z = 3y, u = 5y; z's hook runs sum(y^2).backward() without retain_graph:
    that frees y's node, which the outer pass of sum(u + z) still has to walk. PyTorch's outer pass raises
    RuntimeError ("Trying to backward through the graph a second time"), as this library does when a pass
    starts on a freed graph. It had skipped the freed node, leaving w.grad = 4 w^3 = [4, 32] (the inner
    pass's alone, the outer 16 w lost); now the inner backward refuses when it ends, saying what to do."""
    w = leaf([1.0, 2.0])
    y = w * w
    u, z = y * 5, y * 3

    def run_inner(g):
        with mg.enable_grad():
            (y * y).sum().backward()
    z.register_hook(run_inner)
    with pytest.raises(RuntimeError, match=r"already been freed"):
        (u + z).sum().backward()


def test_a_backward_inside_a_hook_over_a_graph_of_its_own_needs_no_retain_graph():
    """The inner pass frees only nodes the outer pass does not walk (a graph of its own, from the same leaf):
    nothing is refused, and w.grad is both passes' sums, d(sum 8 w^2)/dw + d(sum 2 w)/dw = 16 w + 2."""
    w = leaf([1.0, 2.0])
    y = w * w
    u, z = y * 5, y * 3

    def run_inner(g):
        with mg.enable_grad():
            (w * 2).sum().backward()
    z.register_hook(run_inner)
    (u + z).sum().backward()
    np.testing.assert_array_equal(w.grad, [18.0, 34.0])


@pytest.mark.parametrize("z_first", [False, True])
def test_a_backward_inside_a_hook_keeping_the_graph_adds_both_passes_gradients(z_first):
    """The same with retain_graph=True: inner d(sum y^2)/dw = 4 w^3 = [4, 32], outer d(sum 8y)/dw = 16 w =
    [16, 32] (chain rule), summed into w.grad as PyTorch's reentrant backward does: [20, 64]. With z made
    first, u's share (5) is already in y's node when z's hook runs: the inner pass must put it back."""
    w = leaf([1.0, 2.0])
    y = w * w
    if z_first:
        z, u = y * 3, y * 5
    else:
        u, z = y * 5, y * 3

    def run_inner(g):
        with mg.enable_grad():
            (y * y).sum().backward(retain_graph=True)
    z.register_hook(run_inner)
    (u + z).sum().backward()
    np.testing.assert_array_equal(w.grad, [20.0, 64.0])


# ---- ldexp and ndtr read their input under their own names ----------------------------------------------

@pytest.mark.parametrize("name, call", [("ldexp", lambda v: mg.ldexp(v, mg.tensor([1]))),
                                        ("ndtr", lambda v: mg.special.ndtr(v))])
def test_a_ragged_input_to_ldexp_or_ndtr_is_refused_under_the_functions_name(name, call):
    """A ragged list is not numbers (PyTorch's torch.tensor refuses it: ValueError); the message names
    the function called, not the tensor constructor inside it."""
    with pytest.raises(ValueError, match=rf"^{name}: expected a tensor, an array or numbers, got list"):
        call([[1.0], [2.0, 3.0]])


def test_ldexp_and_ndtr_of_lists_of_numbers():
    """ldexp(x, n) = x 2^n; ndtr(0) = 1/2 and ndtr(x) = (1 + erf(x / sqrt 2)) / 2 (their definitions)."""
    np.testing.assert_array_equal(mg.ldexp([1.0, 3.0], mg.tensor([1, 2])).data, [2.0, 12.0])
    np.testing.assert_allclose(mg.special.ndtr([0.0, 1.0]).data, [0.5, 0.5 * (1 + math.erf(1 / math.sqrt(2)))],
                               rtol=1e-6)


# ---- a Parameter is a tensor too ----------------------------------------------------------------------------

def test_a_list_of_multi_element_parameters_is_refused_as_tensors_are():
    """nn.Parameter is a Tensor subclass (in PyTorch too): [p, q] of shape (3,) each is not numbers."""
    p, q = mg.nn.Parameter(mg.ones(3)), mg.nn.Parameter(mg.zeros(3))
    for call in (mg.tensor, mg.zeros_like):
        with pytest.raises(TypeError, match=r"got a list of tensors \(\(3,\), \(3,\)\); only one-element"):
            call([p, q])


def test_a_list_of_one_element_parameters_is_numbers():
    """torch.tensor([Parameter(tensor([7.])), Parameter(tensor([5.]))]) is tensor([7., 5.]), shape (2,),
    as for plain one-element tensors (store_scalar reads each as one number)."""
    t = mg.tensor([mg.nn.Parameter(mg.tensor([7.0])), mg.nn.Parameter(mg.tensor([5.0]))])
    assert t.shape == (2,)
    np.testing.assert_array_equal(t.data, [7.0, 5.0])


def test_the_index_put_methods_refusal_names_the_method_called():
    """checks.public_name: an error found inside the library names the function the user's line called
    (`Tensor.add` for a method); x.index_put(...) is Tensor.index_put (mg.index_put and x.index_put_ already
    name theirs)."""
    x = mg.zeros(2, 3)
    with pytest.raises(TypeError, match=rf"^Tensor\.index_put: {_STACKED}"):
        x.index_put(([mg.tensor([0, 1]), mg.tensor([1, 0])],), mg.tensor(5.0))
