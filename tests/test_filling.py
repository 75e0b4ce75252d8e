"""Filling a tensor at chosen positions (ops/filling.py: index_fill, scatter), F.pad and F.kl_div at
their edges, as PyTorch defines them: 0-d tensors, empty and negative indices, values a dtype cannot
hold, errors that name the function. (Their gradients and tangents against central differences are
rows of test_composite_gradients.py; the scripts that needed them, test_pytorch_porting_10.py.)"""

import math
import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F


# ---- scatter --------------------------------------------------------------------------------------

def test_scatter_into_a_0_d_tensor_treats_it_as_one_entry_and_an_empty_index_writes_nothing():
    assert mg.tensor(1.0).scatter(0, mg.tensor(0), 5.0).tolist() == 5.0
    assert mg.tensor(1.0).scatter(0, mg.tensor([0]), mg.tensor([7.0])).tolist() == 7.0
    base = mg.zeros(2, 3)
    assert base.scatter(1, mg.zeros(0, dtype=mg.long), 1.0).tolist() == [[0.0] * 3] * 2


def test_scatter_errors_name_scatter():
    with pytest.raises(ValueError, match="scatter: the index names a position twice"):
        mg.zeros(3).scatter(0, mg.tensor([1, 1]), mg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="scatter: the value nan cannot be converted to dtype int64"):
        mg.zeros(3, dtype=mg.long).scatter(0, mg.tensor([1]), float("nan"))
    with pytest.raises(ValueError, match=r"scatter: src of shape \(1,\) does not cover index of shape \(2,\)"):
        mg.zeros(3).scatter(0, mg.tensor([0, 1]), mg.tensor([1.0]))


# ---- index_fill -----------------------------------------------------------------------------------

def test_index_fill_counts_negative_positions_from_the_end():
    assert mg.zeros(2, 3).index_fill(1, mg.tensor([-1]), 1.0).tolist() == [[0, 0, 1], [0, 0, 1]]
    with pytest.raises(IndexError, match="index_fill: indices from -4 to -4 are out of range for a dim of size 3"):
        mg.zeros(2, 3).index_fill(1, mg.tensor([-4]), 1.0)


def test_index_fill_takes_a_number_or_a_0_d_tensor_only():
    """PyTorch: "index_fill_ only supports a 0-dimensional value tensor"; a vector would fill rows."""
    with pytest.raises(ValueError, match=r"index_fill: value must be a number or a 0-d tensor .*, got shape \(3,\)"):
        mg.zeros(2, 3).index_fill(0, mg.tensor([1]), mg.tensor([7.0, 8.0, 9.0]))
    value = mg.tensor(2.5, requires_grad=True)
    mg.zeros(2, 3).index_fill(0, mg.tensor([1]), value).sum().backward()
    assert value.grad == 3.0        # (three entries filled)


def test_index_fill_and_pad_refuse_values_their_dtype_cannot_hold():
    """As item assignment does: numpy would write -2**63 for NaN into int64, inf for 1e39 in float32."""
    with pytest.raises(ValueError, match="index_fill: the value nan cannot be converted to dtype int64"):
        mg.zeros(2, dtype=mg.long).index_fill(0, mg.tensor([1]), float("nan"))
    with pytest.raises(ValueError, match="index_fill: the value 1099511627776 cannot be converted to dtype int32"):
        mg.zeros(3, dtype=mg.int32).index_fill(0, mg.tensor([1]), 2 ** 40)
    with pytest.raises(ValueError, match="pad: the value nan cannot be converted to dtype int64"):
        F.pad(mg.tensor([1, 2]), (1, 0), value=float("nan"))
    with pytest.raises(ValueError, match="pad: the value 1e[+]39 cannot be converted to dtype float32"):
        F.pad(mg.zeros(1), (1, 0), value=1e39)
    with pytest.raises(ValueError, match="pad: cannot fill with 'a'"):
        F.pad(mg.zeros(1), (1, 0), value="a")
    assert F.pad(mg.tensor([1, 2]), (1, 0), value=3.7).tolist() == [3, 1, 2]       # (cut toward zero, as PyTorch)


# ---- kl_div ---------------------------------------------------------------------------------------

def test_kl_div_takes_pytorchs_deprecated_size_average_with_its_warning_pointing_at_the_caller():
    log_q, p = mg.tensor([[-1.0, -0.5]]), mg.tensor([[0.25, 0.75]])
    expected = float(np.sum(np.array([0.25, 0.75]) * (np.log([0.25, 0.75]) - np.array([-1.0, -0.5]))))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summed = F.kl_div(log_q, p, size_average=False)
        module = nn.KLDivLoss(size_average=False)
    assert summed.item() == pytest.approx(expected) and module.reduction == "sum"
    assert [w.filename for w in caught] == [__file__, __file__]
    assert "please use reduction='sum' instead" in str(caught[0].message)


def test_kl_div_of_a_negative_target_is_nan_as_pytorchs_xlogy_gives():
    assert math.isnan(F.kl_div(mg.tensor([-1.0]), mg.tensor([-0.5]), reduction="none").item())
    assert F.kl_div(mg.tensor([-1.0]), mg.tensor([0.0]), reduction="sum").item() == 0.0


# ---- how tensors print ----------------------------------------------------------------------------

def test_int64_and_bool_tensors_print_without_their_dtype_unless_empty_as_pytorchs():
    assert repr(mg.tensor([[0, 1, 2]])) == "tensor([[0, 1, 2]])"
    assert repr(mg.tensor([True, False])) == "tensor([ True, False])"
    assert repr(mg.tensor([1, 2], dtype=mg.int32)) == "tensor([1, 2], dtype=int32)"
    assert repr(mg.tensor([], dtype=mg.long)) == "tensor([], dtype=int64)"
    assert repr(mg.nonzero(mg.zeros(3))) == "tensor([], dtype=int64)"
