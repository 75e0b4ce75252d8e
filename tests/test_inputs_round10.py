"""Round 10 of the bad-input review: packing and padding, L-BFGS and its line search, Adagrad's state,
CosineAnnealingLR with a fractional T_max, and the loss modules' weights and PyTorch's deprecated
size_average= / reduce=. Each test failed before its fix."""

import copy
import math
import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq.nn.utils.rnn import (PackedSequence, pack_padded_sequence, pack_sequence, pad_packed_sequence,
                                       pad_sequence)
from microgradseq.optim import LBFGS, SGD, Adagrad
from microgradseq.optim.line_search import Trial, strong_wolfe
from microgradseq.optim.lr_scheduler import CosineAnnealingLR

PADDED = np.arange(24, dtype=np.float64).reshape(4, 3, 2)          # (T, B, I)


# ---- packing and padding -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.uint64])
def test_unsigned_lengths_pack_as_their_values(dtype):
    """A uint8 mask's sum is uint64: sorted lengths were called unsorted (their differences wrapped)."""
    lengths = np.array([4, 3, 1], dtype)
    packed = pack_padded_sequence(PADDED, lengths)
    assert packed.batch_sizes.tolist() == [3, 2, 2, 1]
    np.testing.assert_array_equal(packed.data._data, pack_padded_sequence(PADDED, [4, 3, 1]).data._data)
    unsorted = pack_padded_sequence(PADDED, np.array([1, 4, 3], dtype), enforce_sorted=False)
    assert unsorted.sorted_indices.tolist() == [1, 2, 0]


@pytest.mark.parametrize("sorted_indices", [[0, 5, 1], [[0, 1, 2]], [0.0, 1.0, 2.0], "abc", [0, 0, 1]])
def test_a_packed_sequence_with_bad_sorted_indices_is_refused_where_it_is_used(sorted_indices):
    """The constructor inverted them with numpy's IndexError ("index 5 is out of bounds ...")."""
    packed = pack_padded_sequence(PADDED, [4, 3, 1])
    made = PackedSequence(packed.data, packed.batch_sizes, sorted_indices)
    assert made.unsorted_indices is None
    with pytest.raises(ValueError, match=r"^pad_packed_sequence: expected sorted_indices to be a permutation of "
                                         r"the batch's 3 positions"):
        pad_packed_sequence(made)


def test_float_unsorted_indices_are_refused():
    packed = pack_padded_sequence(PADDED, [4, 3, 1])
    made = PackedSequence(packed.data, packed.batch_sizes, mg.tensor([2, 0, 1]), mg.tensor([1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match=r"^pad_packed_sequence: expected unsorted_indices to be a permutation"):
        pad_packed_sequence(made)


@pytest.mark.parametrize("call, message", [
    (lambda: pack_padded_sequence(None, [2, 1]), r"pack_padded_sequence: expected input as a tensor, got NoneType"),
    (lambda: pad_sequence([np.zeros((2, 1)), None]), r"pad_sequence: expected sequence 1 as a tensor, got NoneType"),
    (lambda: pack_sequence([np.zeros((2, 1)), "ab"]), r"pack_sequence: expected sequence 1 as a tensor, got str"),
    (lambda: pad_packed_sequence(PackedSequence(None, [1])), r"pad_packed_sequence: expected data as a tensor, "
                                                             r"got NoneType"),
    (lambda: pack_padded_sequence(PADDED, None), r"pack_padded_sequence: expected lengths as a list or 1-D tensor "
                                                 r"of integers, got NoneType"),
    (lambda: pack_padded_sequence(PADDED, (n for n in [4, 3, 1])), r"pack_padded_sequence: expected lengths as a "
                                                                     r"list or 1-D tensor of integers, got generator"),
], ids=["input None", "a sequence None", "a sequence a string", "data None", "lengths None", "lengths a generator"])
def test_what_is_not_a_tensor_is_refused_naming_the_function_and_the_argument(call, message):
    """These named `tensor` (as_tensor's error), or said a list was not a list, or "got shape ()"."""
    with pytest.raises(TypeError, match="^" + message):
        call()


def test_a_total_length_that_is_not_an_integer_says_so():
    packed = pack_padded_sequence(PADDED, [4, 3, 1])
    with pytest.raises(ValueError, match=r"^pad_packed_sequence: expected total_length as an integer of at least "
                                         r"the longest sequence's 4 steps, got 5.0"):
        pad_packed_sequence(packed, total_length=5.0)


@pytest.mark.parametrize("call, message", [
    (lambda: pad_sequence([mg.tensor([1, 2]), mg.tensor([3])], padding_value=math.nan),
     r"pad_sequence: padding_value nan does not fit the sequences' dtype int64"),
    (lambda: pad_sequence([mg.tensor(np.array([1, 2], np.uint8)), mg.tensor(np.array([3], np.uint8))],
                          padding_value=-1),
     r"pad_sequence: padding_value -1 does not fit the sequences' dtype uint8 \(integers from 0 to 255\)"),
    (lambda: pad_packed_sequence(pack_sequence([mg.tensor([1, 2]), mg.tensor([3])]), padding_value=1e20),
     r"pad_packed_sequence: padding_value 1e\+20 does not fit the sequences' dtype int64"),
])
def test_a_padding_value_integers_cannot_hold_is_refused(call, message):
    """NaN or 1e20 padded integer sequences with garbage (and a numpy RuntimeWarning), -1 a uint8 one
    with numpy's OverflowError; PyTorch refuses all three."""
    with pytest.raises(ValueError, match="^" + message):
        call()


def test_a_fractional_padding_value_pads_integers_as_pytorch_does():
    padded = pad_sequence([mg.tensor([1, 2]), mg.tensor([3])], padding_value=0.5)
    assert padded.tolist() == [[1, 3], [2, 0]]


# ---- L-BFGS and its line search ----------------------------------------------------------------------

def rosenbrock(w):
    return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2


def lbfgs_turning_nan(line_search_fn, from_call=3):
    """An LBFGS on Rosenbrock whose closure returns a NaN loss from its `from_call`-th call on."""
    w = mg.tensor(np.array([-1.2, 1.0]), requires_grad=True)
    optimizer = LBFGS([w], max_iter=5, line_search_fn=line_search_fn)
    calls = [0]

    def closure():
        optimizer.zero_grad()
        loss = rosenbrock(w)
        loss.backward()
        calls[0] += 1
        return loss * math.nan if calls[0] >= from_call else loss
    return optimizer, closure


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_state_after_a_nan_loss_loads_back(line_search_fn):
    """PyTorch's LBFGS carries on through a NaN loss and keeps it as prev_loss; its state dict then
    failed to load ("prev_loss must be a finite number, got nan")."""
    optimizer, closure = lbfgs_turning_nan(line_search_fn)
    optimizer.step(closure)
    saved = optimizer.state_dict()
    assert math.isnan(saved["state"][0]["prev_loss"])
    optimizer.load_state_dict(saved)
    assert math.isnan(optimizer.state[0]["prev_loss"])
    with pytest.raises(ValueError, match=r"^LBFGS.load_state_dict: LBFGS's H_diag must be a number, got '1'"):
        optimizer.load_state_dict({**saved, "state": {0: {**saved["state"][0], "H_diag": "1"}}})


def test_strong_wolfe_with_a_nan_loss_that_meets_the_curvature_condition_returns_it():
    """A first trial with a NaN loss and a flat slope meets the curvature condition (NaN fails no
    comparison), so the bracket is that one trial; picking its lower end compared NaN <= NaN and read
    bracket[1]: IndexError, in PyTorch's _strong_wolfe too."""
    d = np.array([1.0])
    start = Trial(0.0, 1.0, np.array([-1.0]), -1.0)
    best, evaluations = strong_wolfe(lambda t: (math.nan, np.array([0.0])), d, start, 1.0)
    assert (best.t, evaluations) == (1.0, 1) and math.isnan(best.f)


def test_lbfgs_with_strong_wolfe_and_a_nan_loss_at_the_first_trial_does_not_crash():
    optimizer, closure = lbfgs_turning_nan("strong_wolfe", from_call=2)
    optimizer.step(closure)                         # (was: IndexError: list index out of range)
    assert optimizer.state[0]["n_iter"] >= 1


# ---- Adagrad -----------------------------------------------------------------------------------------------

def test_adagrad_refuses_a_negative_sum_and_changes_nothing():
    """A negative sum of squares loaded silently; the next step took sqrt of it (NaN) or a huge step."""
    w = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    optimizer = Adagrad([w], lr=0.1)
    w.grad = np.array([1.0, 1.0])
    optimizer.step()
    saved, before = optimizer.state_dict(), copy.deepcopy(optimizer.state_dict())
    bad = {"state": {0: {"step": 1, "sum": np.array([-1.0, 1.0])}}, "param_groups": saved["param_groups"]}
    bad["param_groups"][0]["lr"] = 0.5
    with pytest.raises(ValueError, match=r"^Adagrad.load_state_dict: parameter 0's sum must be >= 0 \(a sum of "
                                         r"squared gradients\), got an entry of -1.0; nothing was changed"):
        optimizer.load_state_dict(bad)
    after = optimizer.state_dict()
    assert after["param_groups"] == before["param_groups"]
    np.testing.assert_array_equal(after["state"][0]["sum"], before["state"][0]["sum"])


def test_adagrad_state_with_a_nan_sum_still_loads():
    """A NaN gradient leaves a NaN sum, as in PyTorch: the state it makes must load back."""
    w = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    optimizer = Adagrad([w])
    w.grad = np.array([math.nan, 1.0])
    optimizer.step()
    optimizer.load_state_dict(optimizer.state_dict())
    assert math.isnan(optimizer.state[0]["sum"][0])


# ---- CosineAnnealingLR -------------------------------------------------------------------------------------

@pytest.mark.parametrize("T_max", [0.2, 0.4, 2 / 3, 1 / 7])
def test_cosine_annealing_with_a_fractional_T_max_follows_the_closed_form(T_max):
    """The bottom of the cosine, epoch / T_max odd, was found by a float modulo, which misses 2 / 0.4;
    the ratio then divided by 1 + cos(5 pi) = 0: ZeroDivisionError."""
    optimizer = SGD([mg.tensor([1.0], requires_grad=True)], lr=0.1)
    schedule = CosineAnnealingLR(optimizer, T_max)
    for epoch in range(1, 13):
        schedule.step()
        assert schedule.get_last_lr()[0] == pytest.approx(0.1 * (1 + math.cos(math.pi * epoch / T_max)) / 2,
                                                          abs=1e-12)


# ---- loss modules --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda: nn.BCELoss(weight="a"), r"BCELoss: expected weight as a tensor of numbers \(or None\), got 'a'"),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=[1.0, None]),
     r"BCEWithLogitsLoss: expected pos_weight as a tensor of numbers \(or None\), got \[1.0, None\]"),
])
def test_loss_weights_that_are_not_numbers_are_refused_naming_the_loss(make, message):
    """These named `tensor` (as_tensor's error), not the loss."""
    with pytest.raises(TypeError, match="^" + message):
        make()


@pytest.mark.parametrize("options, reduction", [
    ({"size_average": False}, "sum"), ({"reduce": False}, "none"), ({"size_average": True}, "mean"),
    ({"size_average": False, "reduce": True}, "sum"), ({"size_average": False, "reduction": "none"}, "sum"),
])
@pytest.mark.parametrize("loss", [nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.BCELoss, nn.BCEWithLogitsLoss,
                                  nn.CrossEntropyLoss, nn.NLLLoss])
def test_pytorchs_deprecated_size_average_and_reduce_still_choose_the_reduction(loss, options, reduction):
    """Old scripts' nn.MSELoss(size_average=False) was refused ("not supported"); PyTorch still takes
    them over reduction=, with this warning."""
    with pytest.warns(UserWarning, match=f"size_average and reduce args will be deprecated, please use "
                                         f"reduction='{reduction}' instead") as caught:
        made = loss(**options)
    assert made.reduction == reduction
    assert caught[0].filename == __file__


def test_size_average_none_is_the_default_and_not_a_bool_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nn.MSELoss(size_average=None, reduce=None, reduction="sum").reduction == "sum"
    with pytest.raises(ValueError, match=r"^MSELoss: size_average must be True or False, got 'no'"):
        nn.MSELoss(size_average="no")


# ---- seeds, sort flags and loss targets (PyTorch's readings) -------------------------------

def test_a_negative_seed_is_read_as_pytorch_reads_it():
    """PyTorch's manual_seed takes -2**63 .. 2**64 - 1 and reads a negative seed as 0xffff_ffff_ffff_ffff + seed."""
    mg.manual_seed(-1)
    first = mg.randn(3).numpy()
    mg.manual_seed(0xffff_ffff_ffff_ffff - 1)
    assert np.array_equal(mg.randn(3).numpy(), first)
    assert mg.Generator().manual_seed(-1).initial_seed() == 0xffff_ffff_ffff_fffe
    assert mg.Generator().manual_seed(-2 ** 63).initial_seed() == 0xffff_ffff_ffff_ffff - 2 ** 63
    assert mg.Generator().manual_seed(2 ** 64 - 1).initial_seed() == 2 ** 64 - 1


@pytest.mark.parametrize("call", [lambda t: t.sort(descending="yes"), lambda t: t.sort(0, 1),
                                  lambda t: t.argsort(descending=None), lambda t: mg.sort(t, stable="no")])
def test_sort_flags_must_be_bools(call):
    with pytest.raises(ValueError, match=r"(sort|argsort): (descending|stable) must be True or False"):
        call(mg.tensor([3.0, 1.0, 2.0]))


def test_sort_takes_stable_none_and_numpy_bools():
    t = mg.tensor([3.0, 1.0, 2.0])
    assert t.sort(stable=None).indices.tolist() == [1, 2, 0]
    assert t.argsort(descending=np.bool_(True)).tolist() == [0, 2, 1]


@pytest.mark.parametrize("loss", [F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.l1_loss,
                                  F.mse_loss, F.smooth_l1_loss, F.huber_loss])
@pytest.mark.parametrize("target", ["a", None, {"a": 1}])
def test_a_loss_target_that_is_not_numbers_names_the_loss(loss, target):
    with pytest.raises(TypeError, match=rf"{loss.__name__}: expected target as a tensor of numbers, got"):
        loss(mg.tensor([0.5, 0.25]), target)
