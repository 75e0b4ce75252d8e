"""What course scripts written for PyTorch use beyond the spellings: comparisons, function forms
(`mg.tanh(x)`), selecting methods (split, gather, topk, ...), broadcasting methods (expand,
repeat), formatting and in-place fills. Values against numpy, gradients against central finite
differences (mg.gradcheck) in float64; no PyTorch needed."""

import warnings

import numpy as np
import pytest

import microgradseq as mg

RNG = np.random.default_rng(5)
X = RNG.standard_normal((3, 4))


def f64(array=X, requires_grad=False):
    return mg.tensor(np.array(array, dtype=np.float64), requires_grad=requires_grad)


def check_gradient(fn, array=X):
    """fn(x)'s gradient against central finite differences, through a random weighting of its output."""
    x = f64(array, requires_grad=True)
    weights = RNG.standard_normal(fn(x).shape)
    assert mg.gradcheck(lambda a: (fn(a) * weights).sum(), [x])


# ---- comparisons -------------------------------------------------------------------------

@pytest.mark.parametrize("name, compare", [("__eq__", np.equal), ("__ne__", np.not_equal), ("__lt__", np.less),
                                           ("__le__", np.less_equal), ("__gt__", np.greater),
                                           ("__ge__", np.greater_equal)])
def test_comparisons_are_elementwise_bool_tensors_with_broadcasting(name, compare):
    other = np.round(X[0], 1)                               # (4,) against (3, 4), some entries equal
    a = mg.tensor(np.round(X, 1))
    for got in (getattr(a, name)(other), getattr(a, name)(mg.tensor(other))):
        assert got.dtype == bool and not got.requires_grad
        np.testing.assert_array_equal(got.data, compare(np.round(X, 1), other))


def test_accuracy_as_course_scripts_compute_it():
    """(pred == y).sum().item() and (pred == y).float().mean(): the fraction of right guesses."""
    pred, y = mg.tensor([1, 2, 0, 2]), mg.tensor([1, 0, 0, 2])
    assert (pred == y).sum().item() == 3
    assert (pred == y).float().mean().item() == pytest.approx(0.75)


def test_a_number_on_the_left_and_the_named_methods_compare_too():
    a = f64([1.0, 2.0, 3.0])
    np.testing.assert_array_equal((2 < a).data, [False, False, True])
    np.testing.assert_array_equal(a.ge(2).data, [False, True, True])
    np.testing.assert_array_equal(mg.lt(a, 2).data, [True, False, False])


def test_tensors_still_hash_by_identity_and_compare_unequal_to_none():
    a, b = f64([1.0, 2.0]), f64([1.0, 2.0])
    assert {a: 1, b: 2}[a] == 1 and a in [a] and (a == None) is False    # noqa: E711
    with pytest.raises(TypeError):
        a < "text"


def test_comparing_shapes_that_do_not_broadcast_names_the_comparison():
    with pytest.raises(ValueError, match=r"lt: shapes \(3,\) and \(2,\) cannot be broadcast together"):
        f64([1.0, 2.0, 3.0]) < f64([1.0, 2.0])


# ---- formatting, item assignment, in-place fills --------------------------------------------

def test_a_0_d_tensor_formats_as_its_number_and_a_larger_one_refuses_a_format():
    loss = f64(2.0 / 3.0)
    assert f"{loss:.3f}" == "0.667" and f"{loss}" == str(2.0 / 3.0)
    with pytest.raises(TypeError):
        f"{f64([1.0, 2.0]):.3f}"


def test_item_assignment_gives_the_tensor_a_new_array_with_the_value_written():
    t = f64([1.0, 2.0])
    kept = t.data
    t[0] = 5.0
    np.testing.assert_array_equal(t.data, [5.0, 2.0])
    np.testing.assert_array_equal(kept, [1.0, 2.0])


def test_fill_and_zero_give_the_tensor_a_new_array_and_keep_recorded_values():
    w = f64([2.0], requires_grad=True)
    word = f64([3.0])
    y = (w * word).sum()
    word.fill_(7.0)
    np.testing.assert_array_equal(word.data, [7.0])
    y.backward()
    np.testing.assert_array_equal(w.grad, [3.0])            # the recorded 3, not the new 7
    word.zero_()
    np.testing.assert_array_equal(word.data, [0.0])


def test_fill_of_a_leaf_that_requires_grad_is_refused_while_recording():
    w = f64([2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="fill_: a leaf tensor"):
        w.fill_(0.0)
    with mg.no_grad():
        w.fill_(0.0)
    np.testing.assert_array_equal(w.data, [0.0])


# ---- selecting: split, chunk, unbind, index_select, gather, topk ------------------------------

def test_split_by_size_and_by_lengths_and_chunk_take_numpys_pieces():
    x = f64()
    for got, expected in [(x.split(3, 1), [X[:, :3], X[:, 3:]]), (x.split([1, 3], dim=1), [X[:, :1], X[:, 1:]]),
                          (x.chunk(2, 0), [X[:2], X[2:]]), (mg.chunk(x, 4, 1), np.split(X, 4, axis=1))]:
        assert len(got) == len(expected)
        for piece, want in zip(got, expected):
            np.testing.assert_array_equal(piece.data, want)
    check_gradient(lambda a: mg.concat([p * (k + 1) for k, p in enumerate(a.split([1, 3], 1))], 1))


def test_split_lengths_that_do_not_add_up_raise_naming_split():
    with pytest.raises(ValueError, match=r"split: expected a positive size, or lengths that add up to 4"):
        f64().split([1, 2], dim=1)


def test_unbind_gives_the_slices_without_the_axis():
    rows = f64().unbind(1)
    assert len(rows) == 4
    np.testing.assert_array_equal(rows[2].data, X[:, 2])
    check_gradient(lambda a: a.unbind(1)[2] * 3 + a.unbind(1)[0])


def test_index_select_takes_positions_along_dim_with_repeats():
    got = f64().index_select(1, mg.tensor([3, 0, 3]))
    np.testing.assert_array_equal(got.data, X[:, [3, 0, 3]])
    check_gradient(lambda a: a.index_select(1, np.array([3, 0, 3])))


def test_gather_picks_along_dim_as_pytorch_defines_it():
    """out[i][j] = x[i][index[i][j]] for dim 1, x[index[i][j]][j] for dim 0."""
    index = np.array([[3, 0], [1, 1], [2, 3]])
    np.testing.assert_array_equal(f64().gather(1, index).data, np.take_along_axis(X, index, axis=1))
    rows = np.array([[2, 0, 1, 1]])
    np.testing.assert_array_equal(f64().gather(0, rows).data, [[X[2, 0], X[0, 1], X[1, 2], X[1, 3]]])
    check_gradient(lambda a: a.gather(1, index))
    check_gradient(lambda a: a.gather(0, rows))


def test_gather_with_an_index_of_other_axes_raises_naming_gather():
    with pytest.raises(ValueError, match=r"gather: expected an integer index with 2 axes"):
        f64().gather(1, np.array([0, 1, 2]))


def test_topk_gives_the_largest_first_and_their_positions_and_passes_the_gradient_to_them():
    values, indices = f64().topk(2, dim=1)
    order = np.argsort(-X, axis=1)[:, :2]
    np.testing.assert_array_equal(indices.data, order)
    np.testing.assert_array_equal(values.data, np.take_along_axis(X, order, axis=1))
    smallest = f64().topk(1, dim=0, largest=False)
    np.testing.assert_array_equal(smallest.values.data, X.min(axis=0, keepdims=True))
    check_gradient(lambda a: a.topk(2, dim=1).values)


def test_min_is_numpys_and_with_dim_pytorchs_pair():
    np.testing.assert_array_equal(f64().min().data, X.min())
    values, indices = f64().min(dim=1)
    np.testing.assert_array_equal(values.data, X.min(axis=1))
    np.testing.assert_array_equal(indices.data, X.argmin(axis=1))
    check_gradient(lambda a: a.min(axis=0))


# ---- broadcasting: expand, repeat, masked_fill, clamp, add with alpha --------------------------

def test_expand_broadcasts_and_sums_the_gradient_back():
    column = X[:, :1]
    np.testing.assert_array_equal(f64(column).expand(2, -1, 4).data, np.broadcast_to(column, (2, 3, 4)))
    check_gradient(lambda a: a.expand(2, 3, 4), column)


def test_expand_to_a_shape_that_does_not_fit_raises_naming_expand():
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(3, 4\) to \(3, 5\)"):
        f64().expand(3, 5)


@pytest.mark.parametrize("repeats", [(2, 1), (1, 3), (2, 2, 1)])
def test_repeat_is_numpys_tile(repeats):
    np.testing.assert_array_equal(f64().repeat(*repeats).data, np.tile(X, repeats))
    check_gradient(lambda a: a.repeat(*repeats))


def test_masked_fill_puts_the_value_where_the_mask_is_true_and_passes_the_gradient_elsewhere():
    x = f64()
    got = x.masked_fill(x > 0, 0.0)
    np.testing.assert_array_equal(got.data, np.where(X > 0, 0.0, X))
    assert got.dtype == np.float64
    check_gradient(lambda a: a.masked_fill(mg.tensor(X > 0), -1.0))


def test_clamp_takes_pytorchs_min_and_max_names():
    np.testing.assert_array_equal(f64().clamp(min=-0.5, max=0.5).data, np.clip(X, -0.5, 0.5))
    np.testing.assert_array_equal(mg.clamp(f64(), min=0).data, np.maximum(X, 0))


def test_add_and_sub_with_alpha_scale_the_other_operand():
    np.testing.assert_allclose(f64().add(f64(), alpha=2).data, 3 * X)
    np.testing.assert_allclose(f64().sub(1.0, alpha=0.5).data, X - 0.5)


# ---- function forms and what a tensor says about itself ---------------------------------------

@pytest.mark.parametrize("name, numpy_fn", [("tanh", np.tanh), ("exp", np.exp), ("abs", np.abs),
                                            ("sigmoid", lambda a: 1 / (1 + np.exp(-a)))])
def test_function_forms_are_the_methods(name, numpy_fn):
    np.testing.assert_allclose(getattr(mg, name)(f64()).data, numpy_fn(X), rtol=1e-12)
    np.testing.assert_allclose(getattr(mg, name)(X).data, numpy_fn(X), rtol=1e-12)     # an array as a constant


def test_function_forms_with_more_arguments():
    x = f64()
    np.testing.assert_allclose(mg.matmul(x, x.T).data, X @ X.T)
    np.testing.assert_allclose(mg.sum(x, 1).data, X.sum(axis=1))
    np.testing.assert_allclose(mg.softmax(x, 1).data.sum(axis=1), np.ones(3))
    assert mg.transpose(x, 0, 1).shape == (4, 3) and mg.unsqueeze(x, 0).shape == (1, 3, 4)
    assert mg.pow(x, 2).data == pytest.approx(X ** 2)


def test_max_and_min_as_functions_follow_pytorch():
    x = f64()
    values, indices = mg.max(x, 1)
    np.testing.assert_array_equal(values.data, X.max(axis=1))
    np.testing.assert_array_equal(indices.data, X.argmax(axis=1))
    assert mg.min(x).item() == X.min()
    np.testing.assert_array_equal(mg.max(x, f64(np.zeros((3, 4)))).data, np.maximum(X, 0))
    np.testing.assert_array_equal(mg.min(x, f64(np.zeros((3, 4)))).data, np.minimum(X, 0))


def test_leaves_grad_fn_device_and_conversions():
    w = f64([1.5, -2.5], requires_grad=True)
    y = w * 2
    assert w.is_leaf and f64().is_leaf and not y.is_leaf and y.detach().is_leaf
    assert w.grad_fn is None and y.grad_fn is not None and y.grad_fn.op == "mul"
    assert w.device == "cpu" and mg.zeros(2).to(w.device).dtype == mg.zeros(2).dtype
    assert w.int().dtype == np.int32 and (w > 0).int().tolist() == [1, 0] and w.bool().dtype == bool
    assert w.type() == "float64" and w.type(np.float32).dtype == np.float32
    assert mg.is_tensor(w) and not mg.is_tensor(X)


# ---- makers --------------------------------------------------------------------------------

def test_randint_randperm_linspace_eye_empty():
    mg.manual_seed(3)
    draws = mg.randint(2, 5, (1000,))
    assert draws.dtype == np.int64 and set(draws.tolist()) == {2, 3, 4}
    assert mg.randint(3, (4, 2)).shape == (4, 2)
    assert sorted(mg.randperm(6).tolist()) == list(range(6))
    np.testing.assert_allclose(mg.linspace(0, 1, 5).data, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(mg.eye(3).data, np.eye(3))
    np.testing.assert_array_equal(mg.empty(2, 3).data, np.zeros((2, 3)))


def test_randn_like_and_rand_like_take_shape_and_dtype():
    like = f64(np.zeros((500, 4)))
    normal, uniform = mg.randn_like(like), mg.rand_like(like)
    assert normal.shape == uniform.shape == (500, 4) and normal.dtype == uniform.dtype == np.float64
    assert abs(normal.data.mean()) < 0.1 and 0 <= uniform.data.min() and uniform.data.max() < 1


def test_as_tensor_and_from_numpy_copy_an_array_and_keep_a_tensor():
    array = np.array([1.0, 2.0])
    made = mg.from_numpy(array)
    array[0] = 9.0
    assert made.tolist() == [1.0, 2.0] and made.dtype == np.float64
    t = f64([1.0], requires_grad=True)
    assert mg.as_tensor(t) is t and mg.as_tensor(t, dtype=np.float32).requires_grad


def test_randint_with_bounds_the_wrong_way_round_raises_naming_it():
    with pytest.raises(ValueError, match="randint: expected integers low < high"):
        mg.randint(5, 2, (3,))


def test_numpy_and_matplotlib_see_a_tensors_values():
    """np.asarray(t) (what plt.plot does), and a list of 0-d tensors made into one, as in PyTorch."""
    t = f64([1.0, 2.0], requires_grad=True)
    seen = np.asarray(t)
    np.testing.assert_array_equal(seen, [1.0, 2.0])
    assert not seen.flags.writeable
    np.testing.assert_array_equal(mg.tensor([f64(1.0), f64(2.0)]).data, [1.0, 2.0])


def test_pytorchs_legacy_sizes_constructor_is_refused_with_what_to_use():
    with pytest.raises(TypeError, match=r"Tensor\(2, 3, ...\) takes data, not sizes .* mg.zeros\(2, 3, ...\)"):
        mg.Tensor(2, 3)


def test_one_int_to_tensor_is_data_and_a_warning_says_pytorchs_legacy_constructor_reads_a_size():
    """`nn.Parameter(torch.Tensor(n))` in ported code: one int is data here (a 0-d tensor), n entries in
    PyTorch; the warning says so and what to write. Floats, lists and numpy ints are data without one."""
    with pytest.warns(UserWarning, match=r"Tensor\(4\) is the 0-d tensor 4.0 .* mg.empty\(4\) for that"):
        t = mg.Tensor(4)
    assert t.shape == () and t.item() == 4.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mg.Tensor(4.0).shape == () and mg.Tensor([4]).shape == (1,) and mg.Tensor(np.int64(4)).shape == ()
        assert mg.Tensor(True).shape == ()


def test_the_one_int_warning_points_at_the_callers_line_and_says_the_value_in_its_dtype():
    """`nn.Parameter(n)` reaches the warning through Parameter.__init__: it names the user's line, not
    parameter.py; with dtype=int64 the 0-d tensor is 4, not 4.0."""
    with pytest.warns(UserWarning, match=r"Tensor\(4\) is the 0-d tensor 4.0 ") as caught:
        mg.nn.Parameter(4)
    assert caught[0].filename == __file__
    with pytest.warns(UserWarning, match=r"Tensor\(4\) is the 0-d tensor 4 \(data"):
        assert mg.Tensor(4, dtype=mg.int64).dtype == np.int64


def test_abs_and_unary_plus_of_a_tensor():
    x = f64([-1.5, 2.0])
    np.testing.assert_array_equal(abs(x).data, [1.5, 2.0])
    assert +x is x


# ---- edge cases a review found ---------------------------------------------------------------------

def test_the_named_comparisons_refuse_what_they_cannot_compare_and_the_operators_defer():
    t = f64([1.0, 2.0])
    with pytest.raises(TypeError, match="eq: expected a tensor, an array or a number to compare with, got list"):
        t.eq([1.0, 2.0])
    assert (t == [1.0, 2.0]) is False                       # Python's fallback, as PyTorch's ==


def test_min_and_topk_of_unsigned_integers_and_bools():
    u = mg.tensor(np.array([0, 5, 3], dtype=np.uint8))
    assert u.min().item() == 0 and u.min(dim=0).indices.item() == 0
    assert u.topk(1).values.tolist() == [5] and u.topk(2, largest=False).values.tolist() == [0, 3]
    assert mg.tensor([True, False]).min().item() is False


def test_topk_of_a_bool_tensor_raises_as_pytorch_and_of_integers_still_works():
    """aten/src/ATen/native/cpu/SortingKernel.cpp: topk_kernel dispatches AT_DISPATCH_ALL_TYPES (no Bool),
    where sort_kernel's dispatch has Bool: topk of a bool tensor is an error, sort and argsort of one are not."""
    mask = mg.tensor([True, False, True])
    for call in (lambda: mask.topk(1), lambda: mg.topk(mask, 2, largest=False)):
        with pytest.raises(TypeError, match=r"^topk: expected a tensor of numbers, got dtype bool"):
            call()
    values, indices = mask.long().topk(2)
    assert values.tolist() == [1, 1] and sorted(indices.tolist()) == [0, 2]
    assert mg.sort(mask).values.tolist() == [False, True, True] and mg.argsort(mask).tolist()[0] == 1


def test_gather_and_index_select_refuse_negative_and_too_large_positions_naming_themselves():
    with pytest.raises(IndexError, match=r"gather: indices from -1 to 0 are out of range for a dim of size 4"):
        f64().gather(1, np.array([[-1], [0], [0]]))
    with pytest.raises(IndexError, match=r"index_select: indices from 4 to 4 are out of range"):
        f64().index_select(1, [4])


def test_split_and_chunk_of_an_empty_axis_give_one_empty_piece_as_pytorch():
    for pieces in (mg.zeros(0).split(2), mg.zeros(0).chunk(3)):
        assert len(pieces) == 1 and pieces[0].shape == (0,)


def test_elementwise_max_and_min_propagate_nan_and_split_a_ties_gradient():
    """d max(a, b)/da = 1 where a > b, 0 where a < b, 1/2 at a tie (PyTorch's maximum)."""
    a = f64([np.nan, 1.0, 2.0, 3.0], requires_grad=True)
    b = f64([0.0, np.nan, 2.0, 1.0], requires_grad=True)
    largest = mg.max(a, b)
    assert np.isnan(largest.data[:2]).all() and largest.data[2:].tolist() == [2.0, 3.0]
    largest[2:].sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 0.0, 0.5, 1.0])
    np.testing.assert_array_equal(b.grad, [0.0, 0.0, 0.5, 0.0])
    np.testing.assert_array_equal(mg.min(f64([1.0, 4.0]), f64([2.0, 3.0])).data, [1.0, 3.0])


def test_add_with_alpha_keeps_a_float32_tensor_float32():
    assert mg.tensor([1.0, 2.0]).add(2, alpha=0.5).dtype == np.float32


def test_eye_with_a_negative_size_names_itself():
    with pytest.raises(ValueError, match="eye: expected non-negative integer sizes, got n=-1"):
        mg.eye(-1)


def test_elementwise_max_of_integers_keeps_their_dtype_and_a_nan_sends_the_gradient_to_both():
    largest = mg.max(mg.tensor([1, 5, 2 ** 60 + 1]), mg.tensor([2, 5, 1]))
    assert largest.dtype == np.int64 and largest.tolist() == [2, 5, 2 ** 60 + 1]
    a, b = f64([np.nan], requires_grad=True), f64([0.0], requires_grad=True)
    mg.max(a, b).sum().backward()
    assert a.grad.tolist() == [1.0] and b.grad.tolist() == [1.0]       # PyTorch's rule at a NaN


@pytest.mark.parametrize("call", [lambda: mg.randint(5, (400,)), lambda: mg.randint(5, size=(400,)),
                                  lambda: mg.randint(high=5, size=(400,)), lambda: mg.randint(0, 5, (400,))],
                         ids=["high, size", "high, size=", "high=, size=", "low, high, size"])
def test_randint_takes_pytorchs_forms(call):
    draws = call()
    assert draws.shape == (400,) and set(draws.tolist()) == {0, 1, 2, 3, 4}


@pytest.mark.parametrize("make", [lambda d: mg.nn.Linear(2, 3, device=d), lambda d: mg.nn.RNNCell(2, 3, device=d),
                                  lambda d: mg.nn.LSTMCell(2, 3, device=d), lambda d: mg.nn.GRUCell(2, 3, device=d)],
                         ids=["Linear", "RNNCell", "LSTMCell", "GRUCell"])
def test_linear_and_cells_take_the_cpu_as_device_and_refuse_another(make):
    assert next(make("cpu").parameters()).shape[1] == 2        # (weight or weight_ih: in_features 2)
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        make("cuda")


# ---- from a second porting audit (a seq2seq, a char-RNN, an autograd tutorial, a classifier, a
# vanishing-gradient demo): the names they failed on ------------------------------------------------

def test_autograd_grad_returns_the_gradients_and_leaves_every_grad_alone():
    """torch.autograd.grad(y, x): dy/dx as tensors (here 2x, and 3 for y = 3x with grad_outputs of ones)."""
    x = mg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    x.grad = np.full(3, 7.0)
    (dx,) = mg.autograd.grad((x ** 2).sum(), x)
    np.testing.assert_array_equal(dx.data, [2.0, 4.0, 6.0])
    y = x * 3
    (dy,) = mg.autograd.grad(y, [x], grad_outputs=mg.ones_like(y))
    np.testing.assert_array_equal(dy.data, [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(x.grad, [7.0, 7.0, 7.0])


def test_autograd_grad_says_what_it_cannot_do():
    x, unused = (mg.tensor(np.ones(2), requires_grad=True) for _ in range(2))
    with pytest.raises(RuntimeError, match="input 1 is not used to compute the outputs; pass allow_unused=True"):
        mg.autograd.grad((x * 2).sum(), [x, unused])
    assert mg.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)[1] is None
    with pytest.raises(RuntimeError, match=r"only for one-element outputs, got shape \(2,\)"):
        mg.autograd.grad(x * 2, x)
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        mg.autograd.grad((x * 2).sum(), x, create_graph=True)


def test_set_grad_enabled_and_enable_grad_switch_recording_in_this_thread():
    x = mg.tensor(np.ones(2), requires_grad=True)
    try:
        mg.set_grad_enabled(False)                      # called alone: from now on
        assert not mg.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        mg.set_grad_enabled(True)
    with mg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad and mg.is_grad_enabled()
    with mg.no_grad(), mg.enable_grad():
        assert (x * 2).requires_grad
    with pytest.raises(ValueError, match="set_grad_enabled: mode must be True or False"):
        mg.set_grad_enabled("no")


def test_allclose_equal_and_flip_as_pytorchs():
    a = mg.tensor([1.0, 2.0, 3.0])
    assert mg.allclose(a, a + 1e-9) and not mg.allclose(a, a + 1e-3)
    assert mg.allclose(a, np.array([1.0, 2.0, 3.0])) and type(mg.allclose(a, a)) is bool
    assert mg.equal(a, a.detach()) and not mg.equal(a, mg.tensor([1.0, 2.0])) and not mg.equal(a, a * 2)
    np.testing.assert_array_equal(mg.flip(mg.tensor([[1, 2], [3, 4]]), [0, 1]).data, [[4, 3], [2, 1]])


def test_autograd_grad_of_several_outputs_sharing_a_graph_sums_them_and_changes_no_grad():
    """d(sum 2x + sum 6x)/dx = 8 (it raised "graph already freed"); the intermediate h and the outputs
    keep the .grad they had (None), as PyTorch's autograd.grad touches none."""
    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 2
    first, second = h.sum(), (h * 3).sum()
    (dx,) = mg.autograd.grad([first, second], x)
    np.testing.assert_array_equal(dx.data, [8.0, 8.0])
    assert h.grad is None and first.grad is None and x.grad is None
    h = x * 2
    (dh,) = mg.autograd.grad([h.sum(), (h * h).sum()], h)         # d/dh: 1 + 2h
    np.testing.assert_array_equal(dh.data, [5.0, 9.0])


def test_function_forms_with_a_number_first_give_the_tensors_dtype_as_the_operators_do():
    p = mg.tensor([1.0, 2.0])                                          # float32
    for y, values in [(mg.sub(1, p), [0.0, -1.0]), (mg.mul(np.float64(2), p), [2.0, 4.0]), (mg.add(1, p), [2.0, 3.0]),
                      (mg.div(4, p), [4.0, 2.0]), (mg.pow(2, p), [2.0, 4.0]), (mg.mul(2.0, mg.arange(2)), [0.0, 2.0])]:
        assert y.dtype == np.float32
        np.testing.assert_array_equal(y.data, values)
    assert mg.arange(3).clamp(0.5).dtype == np.float32


def test_autograd_grad_checks_grad_outputs_and_names_a_freed_graph():
    w = mg.tensor(np.ones((2, 3)), requires_grad=True)
    y = w * 3
    for wrong in (mg.ones(3), mg.tensor(1.0), np.array([[1 + 2j] * 3] * 2)):
        with pytest.raises(ValueError, match=r"grad_outputs\[0\] must be numbers of shape \(2, 3\)"):
            mg.autograd.grad(y, w, wrong, retain_graph=True)
    loss = (w * w).sum()
    mg.autograd.grad(loss, w)
    with pytest.raises(RuntimeError, match="already been freed by an earlier pass; pass retain_graph=True"):
        mg.autograd.grad(loss, w)


def test_grad_modes_decorate_functions_as_pytorchs_do():
    x = mg.tensor(np.ones(2), requires_grad=True)

    @mg.set_grad_enabled(False)
    def off():
        return (x * 2).requires_grad

    @mg.no_grad
    def bare_no_grad():
        return (x * 2).requires_grad

    @mg.enable_grad
    def bare_enable_grad():
        return (x * 2).requires_grad

    assert mg.is_grad_enabled()                 # (making the decorator did not switch this thread off)
    assert not off() and not bare_no_grad() and mg.is_grad_enabled()
    with mg.no_grad():
        assert bare_enable_grad()


def test_allclose_of_shapes_that_do_not_broadcast_names_allclose():
    with pytest.raises(ValueError, match=r"allclose: shapes \(2,\) and \(3,\) cannot be broadcast together"):
        mg.allclose(mg.zeros(2), mg.zeros(3))
