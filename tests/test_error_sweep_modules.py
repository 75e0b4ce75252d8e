"""Bad input to the modules, the functional API, nn.utils and bptt, from a systematic sweep: each gets a
clear error that names the public function, what was expected and what came, before any state changes
(the contract). Expected values are by hand."""

import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import nn
from microgradseq.nn import functional as F
from microgradseq.nn.utils import prune


# --- a value that is no tensor (None, a string, ragged lists): the error names the function called ---

@pytest.mark.parametrize("call, name", [
    (lambda: F.relu(None), "relu"),
    (lambda: F.mse_loss(None, mg.ones(2)), "mse_loss"),
    (lambda: F.cross_entropy("abc", mg.tensor([0, 1])), "cross_entropy"),
    (lambda: F.conv2d(None, mg.ones(2, 2, 1, 1)), "conv2d"),
    (lambda: F.layer_norm(None, (3,)), "layer_norm"),
    (lambda: nn.Linear(2, 3)(None), "Linear"),
    (lambda: nn.LSTM(2, 3)("abc"), "LSTM"),
    (lambda: nn.BatchNorm1d(3)("abc"), "BatchNorm1d"),
    (lambda: nn.Sequential(nn.Linear(2, 2), nn.ReLU())(None), "Sequential"),
], ids=["relu", "mse_loss", "cross_entropy", "conv2d", "layer_norm", "Linear", "LSTM", "BatchNorm1d", "Sequential"])
def test_a_value_that_is_no_tensor_names_the_function_called(call, name):
    with pytest.raises(TypeError, match=rf"^{name}: expected a tensor.*got (NoneType|str)"):
        call()


def test_mg_tensor_called_itself_still_names_itself():
    with pytest.raises(TypeError, match=r"^tensor: expected numbers, got NoneType data"):
        mg.tensor(None)


def test_inside_tbptt_the_error_names_the_function_the_users_code_called():
    cell = nn.RNNCell(2, 3)
    xs, ys = [mg.randn(4, 2) for _ in range(3)], [mg.randn(4, 3) for _ in range(3)]
    step = lambda x, h: ("oops", cell(x, h))                        # an output that is no tensor
    with pytest.raises(TypeError, match=r"^mse_loss: expected a tensor.*got str"):
        mg.bptt.tbptt(step, mg.zeros(4, 3), xs, ys, lambda y, t: F.mse_loss(y, t), 2, 2)
    with pytest.raises(TypeError, match=r"^tbptt: expected a tensor.*got str"):
        mg.bptt.tbptt(step, mg.zeros(4, 3), xs, ys, F.mse_loss, 2, 2)     # (called by tbptt itself)


# --- a failing forward leaves the running statistics as they were ---

@pytest.mark.parametrize("norm, shape", [(nn.BatchNorm1d, (1, 3)), (nn.BatchNorm2d, (1, 3, 1, 1))])
def test_batchnorm_refusing_one_value_per_channel_changes_no_buffer(norm, shape):
    layer = norm(3)
    before = {name: np.array(value, copy=True) for name, value in layer.state_dict().items()}
    with pytest.raises(ValueError, match=rf"{norm.__name__}: Expected more than 1 value per channel when training"):
        layer(mg.ones(*shape))
    after = {name: np.asarray(value) for name, value in layer.state_dict().items()}
    assert int(after["num_batches_tracked"]) == 0
    assert all(np.array_equal(before[name], after[name]) for name in before)


# --- options of the wrong kind ---

@pytest.mark.parametrize("dropout, shape", [(F.dropout, (2, 3)), (F.dropout1d, (2, 3, 4)), (F.dropout2d, (2, 3, 4, 4)),
                                            (F.alpha_dropout, (2, 3)), (F.feature_alpha_dropout, (2, 3, 4))])
def test_dropout_training_must_be_a_bool_not_a_truthy_string(dropout, shape):
    x = mg.ones(*shape)
    with pytest.raises(ValueError, match=rf"{dropout.__name__}: training must be True or False, got 'no'"):
        dropout(x, 0.5, training="no")             # (was read as True: half the entries zeroed)
    assert np.array_equal(np.asarray(dropout(x, 0.5, training=np.bool_(False))), np.ones(shape))


@pytest.mark.parametrize("args, name", [((None, 2), "embed_dim"), ((8, None), "num_heads")])
def test_multihead_attention_sizes_of_none_are_refused_by_name(args, name):
    with pytest.raises(ValueError, match=rf"MultiheadAttention: {name} must be an integer > 0, got None"):
        nn.MultiheadAttention(*args)


def test_adaptive_log_softmax_cutoffs_of_one_number_are_refused():
    with pytest.raises(ValueError, match=r"AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence .*got int 4"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, 4)


def test_upsample_scale_factor_that_is_no_number_is_refused_when_made():
    with pytest.raises(ValueError, match=r"Upsample: expected scale_factor a number .*got str 'a'"):
        nn.Upsample(scale_factor="a")


@pytest.mark.parametrize("lower, upper, bad", [(math.nan, 0.3, "lower"), (0.1, math.inf, "upper")])
def test_rrelu_bounds_must_be_finite(lower, upper, bad):
    with pytest.raises(ValueError, match=rf"rrelu: {bad} must be a finite number, got"):
        F.rrelu(mg.ones(2, 3), lower, upper, training=True)
    with pytest.raises(ValueError, match=rf"RReLU: {bad} must be a finite number, got"):
        nn.RReLU(lower, upper)


def test_global_unstructured_refuses_a_pruning_method_that_is_no_class_and_prunes_nothing():
    layer = nn.Linear(3, 2)
    with pytest.raises(TypeError, match=r"global_unstructured: pruning_method must be a pruning method class.*got str"):
        prune.global_unstructured([(layer, "weight")], pruning_method="l1", amount=0.5)
    assert not prune.is_pruned(layer) and "weight_orig" not in dict(layer.named_parameters())


# --- inputs of the wrong dtype or number of axes ---

def test_embedding_bag_needs_a_floating_point_weight():
    with pytest.raises(TypeError, match=r"embedding_bag: expected a floating-point weight, got dtype int64"):
        F.embedding_bag(mg.tensor([[1, 2], [0, 3]]), mg.tensor(np.ones((5, 4), dtype=np.int64)))


@pytest.mark.parametrize("src, tgt", [((), (4, 2, 8)), ((3, 2, 8), (8,))], ids=["0-d src", "1-d tgt"])
def test_transformer_names_the_axes_it_expects(src, tgt):
    model = nn.Transformer(8, 2, 1, 1, 16, 0.0)
    with pytest.raises(RuntimeError, match=r"Transformer: expected src and tgt of 3 axes \(S, N, E\) or 2"):
        model(mg.zeros(*src), mg.zeros(*tgt))


# --- bptt.sever checks every item before it cuts anything ---

def test_sever_of_a_bad_state_cuts_nothing():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    with pytest.raises(TypeError, match=r"a state is a Tensor or a tuple of Tensors, got str"):
        mg.bptt.sever([y, "h"])
    y.sum().backward()                          # y's history is still there: dy/dx = 2
    assert np.array_equal(np.asarray(x.grad), [2.0, 2.0])


# --- a list or tuple of multi-element tensors where one tensor goes: PyTorch raises TypeError; before, numpy
# stacked it (np.asarray through Tensor.__array__) and the module computed on the stacked shape ---

@pytest.mark.parametrize("sequence", [tuple, list])
def test_embedding_of_a_tuple_of_index_tensors_is_a_type_error_and_of_one_index_tensor_looks_up_rows(sequence):
    """Before: `emb((i, j))` looked up the stacked (2, ...) indices and returned rows of shape (2, ..., dim)."""
    weight = np.arange(12.0).reshape(4, 3)
    emb = nn.Embedding(4, 3, _weight=mg.tensor(weight))
    i, j = mg.tensor([[0, 3]]), mg.tensor([[1, 2]])
    with pytest.raises(TypeError, match=rf"^Embedding: expected a tensor or numbers, got a {sequence.__name__} "
                                        r"of tensors \(\(1, 2\), \(1, 2\)\)"):
        emb(sequence((i, j)))
    with pytest.raises(TypeError, match=r"^embedding: expected a tensor or numbers"):
        F.embedding(sequence((i, j)), mg.tensor(weight))
    np.testing.assert_array_equal(emb(i).data, weight[[[0, 3]]])
    np.testing.assert_array_equal(F.embedding(j, mg.tensor(weight)).data, weight[[[1, 2]]])


def test_load_state_dict_refuses_a_tuple_of_rows_that_would_stack_to_the_parameters_shape():
    """Before: {'weight': (row0, row1)} for a (2, 3) weight was stacked and loaded, silently; now it is one of
    the problems load_state_dict reports, and no parameter changes."""
    layer = nn.Linear(3, 2)
    before = layer.weight.data.copy()
    rows = (mg.tensor([1.0, 2.0, 3.0]), mg.tensor([4.0, 5.0, 6.0]))
    with pytest.raises(ValueError, match=r"load_state_dict for Linear: weight: expected a numeric array, got a "
                                         r"tuple of tensors .*no parameter was changed"):
        layer.load_state_dict({"weight": rows, "bias": mg.zeros(2)})
    np.testing.assert_array_equal(layer.weight.data, before)
    layer.load_state_dict({"weight": mg.stack(rows), "bias": mg.zeros(2)})
    np.testing.assert_array_equal(layer.weight.data, [[1, 2, 3], [4, 5, 6]])
