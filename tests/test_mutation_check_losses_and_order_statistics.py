"""Tests written from a mutation check of the margin, ranking and likelihood losses
(functional/margin_losses.py, poisson_nll_loss and gaussian_nll_loss in functional/losses.py, their nn
modules in nn/losses.py) and of the order statistics and searches (ops/order_statistics.py, var_mean and
std_mean in ops/reduce.py, unique_consecutive / searchsorted / bucketize in ops/sorting.py, argwhere in
ops/filling.py): each pins a behaviour that a hand-made wrong implementation changed without any other
test noticing. Expected values are closed forms or numpy written from PyTorch's documented definitions
and its kernels (aten/src/ATen/native/Loss.cpp, LossMultiMargin.cpp, LossMultiLabelMargin.cpp,
Sorting.cpp, Bucketization.cpp, torch/nn/functional.py, tools/autograd/derivatives.yaml), never taken
from the library's own output."""

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F


def leaf(values, dtype=np.float64):
    return mg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ==== the margin losses ===========================================================================

# ---- margin_ranking_loss -------------------------------------------------------------------------

def test_margin_ranking_default_margin_is_zero():
    # PyTorch: margin_ranking_loss(input1, input2, target, margin=0); with x1 = x2 the loss is max(0, 0) = 0
    x = mg.tensor([0.5, -1.0], dtype=mg.float64)
    assert F.margin_ranking_loss(x, x, mg.tensor([1.0, -1.0], dtype=mg.float64)).item() == 0.0
    assert nn.MarginRankingLoss()(x, x, mg.tensor([1.0, -1.0], dtype=mg.float64)).item() == 0.0
    assert nn.MarginRankingLoss().margin == 0.0


def test_margin_ranking_gradient_at_the_kink_is_clamp_min_s():
    # z = -y (x1 - x2) + margin = 0 here; d/dx1 = -y, d/dx2 = y (where(self >= min, grad, 0)), / N for the mean
    x1, x2 = leaf([1.0, 2.0]), leaf([1.0, 2.0])
    F.margin_ranking_loss(x1, x2, mg.tensor([1.0, -1.0], dtype=mg.float64), reduction="sum").backward()
    np.testing.assert_allclose(x1.grad, [-1.0, 1.0])
    np.testing.assert_allclose(x2.grad, [1.0, -1.0])


# ---- hinge_embedding_loss ------------------------------------------------------------------------

def test_hinge_embedding_target_neither_one_nor_minus_one_adds_both_terms():
    # Loss.cpp: where(target != 1, clamp_min(margin - x, 0), 0) + where(target != -1, x, 0)
    x = np.array([0.25, 2.0, -0.5])
    loss = F.hinge_embedding_loss(mg.tensor(x), mg.tensor([0.0, 0.0, 0.0], dtype=mg.float64), reduction="none")
    np.testing.assert_allclose(loss.numpy(), x + np.maximum(0.0, 1.0 - x))


def test_hinge_embedding_default_margin_is_one():
    # PyTorch: margin=1.0; y = -1, x = 0.25 gives max(0, 1 - 0.25)
    x, y = mg.tensor([0.25], dtype=mg.float64), mg.tensor([-1.0], dtype=mg.float64)
    assert F.hinge_embedding_loss(x, y).item() == pytest.approx(0.75)
    assert nn.HingeEmbeddingLoss()(x, y).item() == pytest.approx(0.75)


def test_hinge_embedding_gradient_at_the_kink_is_minus_one():
    # clamp_min(margin - x, 0)'s derivative passes g where margin - x >= 0 (derivatives.yaml): -1 at x = margin
    x = leaf([1.0])
    F.hinge_embedding_loss(x, mg.tensor([-1.0], dtype=mg.float64), reduction="sum").backward()
    np.testing.assert_allclose(x.grad, [-1.0])


def test_hinge_embedding_module_passes_its_margin():
    x, y = mg.tensor([0.25], dtype=mg.float64), mg.tensor([-1.0], dtype=mg.float64)
    assert nn.HingeEmbeddingLoss(margin=2.0)(x, y).item() == pytest.approx(1.75)


# ---- cosine_embedding_loss -----------------------------------------------------------------------

def test_cosine_embedding_target_neither_gives_zero():
    # Loss.cpp: where(target == 1, 1 - cos, 0) + where(target == -1, clamp_min(cos - margin, 0), 0)
    x1 = mg.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=mg.float64)
    x2 = mg.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=mg.float64)
    loss = F.cosine_embedding_loss(x1, x2, mg.tensor([0.0, 0.0], dtype=mg.float64), reduction="none")
    np.testing.assert_array_equal(loss.numpy(), [0.0, 0.0])


def test_cosine_embedding_target_count_must_match_the_pairs():
    # two pairs, three targets: PyTorch's where(target == 1, ...) cannot broadcast (3,) with (2,)
    x = mg.tensor(np.ones((2, 3)), dtype=mg.float64)
    with pytest.raises(ValueError, match="cosine_embedding_loss"):
        F.cosine_embedding_loss(x, x, mg.tensor([1.0, 1.0, 1.0], dtype=mg.float64))



def test_cosine_embedding_gradient_at_the_kink_is_clamp_min_s():
    # y = -1, margin 0, orthogonal pair: cos - margin = 0, where clamp_min's derivative still passes g
    # (derivatives.yaml: where(self >= min, grad, 0)); d cos / d x1 = x2 / (|x1| |x2|) - cos x1 / |x1|^2 = [0, 1]
    x1 = leaf([[1.0, 0.0]])
    F.cosine_embedding_loss(x1, mg.tensor([[0.0, 1.0]], dtype=mg.float64), mg.tensor([-1.0], dtype=mg.float64),
                            reduction="sum").backward()
    np.testing.assert_allclose(x1.grad, [[0.0, 1.0]], atol=1e-9)


# ---- triplet_margin_loss -------------------------------------------------------------------------

def test_triplet_gradient_at_the_kink_is_clamp_min_s():
    # eps 0: d(a, p) = 1, d(a, n) = 2, margin 1, so margin + d(a, p) - d(a, n) = 0 exactly; Loss.cpp's
    # clamp_min passes g there: d/dp = (p - a) / |p - a| = [1, 0], d/dn = -(n - a) / |n - a| = [-1, 0]
    a, p, n = leaf([[0.0, 0.0]]), leaf([[1.0, 0.0]]), leaf([[2.0, 0.0]])
    F.triplet_margin_loss(a, p, n, margin=1.0, eps=0.0, reduction="sum").backward()
    np.testing.assert_allclose(p.grad, [[1.0, 0.0]])
    np.testing.assert_allclose(n.grad, [[-1.0, 0.0]])



def test_triplet_default_p_is_two():
    # PyTorch: p=2, eps=1e-6; d(a, p) = ||(-3, -4) + eps||_2 ~ 5, d(a, n) = ||eps||_2 ~ 1.4e-6: loss ~ 1 + 5
    a, p, n = (mg.tensor([v], dtype=mg.float64) for v in ([0.0, 0.0], [3.0, 4.0], [0.0, 0.0]))
    expected = 1.0 + np.linalg.norm([-3.0 + 1e-6, -4.0 + 1e-6]) - np.linalg.norm([1e-6, 1e-6])
    assert F.triplet_margin_loss(a, p, n).item() == pytest.approx(expected, abs=1e-12)
    assert nn.TripletMarginLoss()(a, p, n).item() == pytest.approx(expected, abs=1e-12)



# ---- multi_margin_loss ---------------------------------------------------------------------------

def test_multi_margin_gradient_at_the_kink_is_zero():
    # LossMultiMargin.cpp adds (and differentiates) a term only where z = margin - x[y] + x[i] > 0: at z = 0, nothing
    x = leaf([[1.0, 1.0, -5.0]])
    loss = F.multi_margin_loss(x, mg.tensor(np.array([0])), margin=0.0, reduction="sum")
    assert loss.item() == 0.0
    loss.backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 0.0, 0.0]])



@pytest.mark.parametrize("target", [np.array([-1, 0]), np.array([[0], [1]]), np.array([True, False])],
                         ids=["negative index", "2-d target", "bool target"])
def test_multi_margin_refuses_targets_pytorch_refuses(target):
    # LossMulti.h: target.dim() <= 1 and numel == N; target_index_checked: 0 <= index < C; a long target
    x = mg.tensor(np.zeros((2, 3)), dtype=mg.float64)
    with pytest.raises(ValueError, match="multi_margin_loss"):
        F.multi_margin_loss(x, target)



@pytest.mark.parametrize("call", [lambda x: F.multi_margin_loss(x, np.zeros(2, dtype=np.int64)),
                                  lambda x: F.multilabel_margin_loss(x, np.zeros((2, 0), dtype=np.int64))],
                         ids=["multi_margin", "multilabel_margin"])
def test_multi_class_margins_refuse_scores_without_a_class(call):
    # LossMulti.h: "Expected non-empty vector or matrix with optional 0-dim batch size, but got: [2, 0]"
    with pytest.raises(ValueError, match="non-empty vector or matrix"):
        call(mg.zeros((2, 0), dtype=mg.float64))



# ---- multilabel_margin_loss ----------------------------------------------------------------------

def test_multilabel_margin_refuses_a_label_below_minus_one():
    # LossMultiLabelMargin.cpp: target.min() >= -1, else "target is out of range"
    with pytest.raises(ValueError, match="multilabel_margin_loss"):
        F.multilabel_margin_loss(mg.zeros(3, dtype=mg.float64), np.array([0, -2, 1]))


def test_multilabel_margin_gradient_at_the_kink_is_zero():
    # the kernel adds (and differentiates) 1 - x[j] + x[i] only where it is > 0: here it is 0
    x = leaf([1.0, 0.0])
    loss = F.multilabel_margin_loss(x, np.array([0, -1]), reduction="sum")
    assert loss.item() == 0.0
    loss.backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])



def test_multilabel_margin_target_must_have_the_input_s_shape():
    # LossMulti.h: a 2-d input needs target.dim() == 2, size(0) == N and size(1) == C ("inconsistent target size")
    with pytest.raises(ValueError, match="multilabel_margin_loss"):
        F.multilabel_margin_loss(mg.zeros((2, 3), dtype=mg.float64), np.zeros((3, 2), dtype=np.int64))


# ---- multilabel_soft_margin_loss -----------------------------------------------------------------

def test_multilabel_soft_margin_refuses_a_0_d_input():
    # functional.py divides by input.size(-1), which a 0-d tensor does not have
    with pytest.raises(ValueError, match="multilabel_soft_margin_loss"):
        F.multilabel_soft_margin_loss(mg.tensor(0.5, dtype=mg.float64), mg.tensor(1.0, dtype=mg.float64))



# ==== the likelihoods =============================================================================

def test_poisson_nll_default_leaves_out_stirling_s_term():
    # PyTorch: log_input=True, full=False: e^x - y x, with no Stirling term even where y > 1
    x, y = np.array([0.5, -0.25]), np.array([3.0, 5.0])
    expected = np.mean(np.exp(x) - y * x)
    assert F.poisson_nll_loss(mg.tensor(x), mg.tensor(y)).item() == pytest.approx(expected, rel=1e-12)
    assert nn.PoissonNLLLoss()(mg.tensor(x), mg.tensor(y)).item() == pytest.approx(expected, rel=1e-12)


def test_gaussian_nll_takes_a_zero_variance_number_and_clamps_it_to_eps():
    # functional.py refuses only var < 0; 0 is clamped to eps (1e-6): (log eps + d^2 / eps) / 2
    x, y = np.array([0.001, -0.002]), np.array([0.0, 0.0])
    expected = np.mean(0.5 * (np.log(1e-6) + (x - y) ** 2 / 1e-6))
    assert F.gaussian_nll_loss(mg.tensor(x), mg.tensor(y), 0.0).item() == pytest.approx(expected, rel=1e-12)
    module = nn.GaussianNLLLoss()
    assert module.eps == 1e-6
    assert module(mg.tensor(x), mg.tensor(y), mg.zeros(2, dtype=mg.float64)).item() == pytest.approx(expected, rel=1e-12)



def test_gaussian_nll_with_a_variance_number_keeps_float32():
    # a float var is a full tensor like the input (PyTorch: var * torch.ones_like(input)), so float32 stays float32
    x = mg.tensor([0.5, 1.0], dtype=mg.float32)
    loss = F.gaussian_nll_loss(x, mg.tensor([0.0, 0.0], dtype=mg.float32), 2.0, reduction="none")
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.numpy(), 0.5 * (np.log(2.0) + np.array([0.25, 1.0]) / 2.0), rtol=1e-6)


# ==== the order statistics ========================================================================

def test_quantile_refuses_half_precision():
    # Sorting.cpp's quantile_checks: "quantile() input tensor must be either float or double dtype"
    with pytest.raises(TypeError, match="quantile"):
        mg.tensor([1.0, 2.0, 3.0], dtype=mg.float16).quantile(0.5)
    with pytest.raises(TypeError, match="nanquantile"):
        mg.tensor([1.0, 2.0, 3.0], dtype=mg.float16).nanquantile(0.5)


def test_aminmax_over_a_non_empty_axis_of_an_empty_tensor_is_empty():
    # PyTorch's aminmax checks only the reduced dim for zero size: (3, 0) along dim 0 gives two (0,) tensors
    low, high = mg.zeros((3, 0)).aminmax(dim=0)
    assert low.shape == (0,) and high.shape == (0,)
    with pytest.raises(ValueError, match="aminmax"):
        mg.zeros((3, 0)).aminmax(dim=1)


@pytest.mark.parametrize("call", [lambda t: t.median(), lambda t: t.nanmedian(), lambda t: t.median(0),
                                  lambda t: t.kthvalue(1), lambda t: t.mode()])
def test_selections_refuse_complex_tensors(call):
    # PyTorch's median / kthvalue / mode are not implemented for complex (no order)
    with pytest.raises(TypeError, match="expected a real tensor"):
        call(mg.tensor(np.array([1 + 1j, 2.0, 3.0])))


def test_median_along_dim_of_an_integer_tensor_is_the_lower_middle_entry():
    # torch.median(dim): the ((n - 1) // 2)-th smallest (no NaN in an integer tensor) and its index
    values, indices = mg.tensor(np.array([[7, 1, 4, 9], [5, 3, 8, 2]], dtype=np.int64)).median(1)
    assert values.tolist() == [4, 3] and indices.tolist() == [2, 1]
    values, indices = mg.tensor(np.array([[7, 1, 4, 9], [5, 3, 8, 2]], dtype=np.int64)).nanmedian(1)
    assert values.tolist() == [4, 3] and indices.tolist() == [2, 1]



def test_var_mean_with_an_empty_dim_tuple_reduces_every_axis():
    # as PyTorch's var reads dim=() (every axis): both the variance and the mean are over all six entries
    a = np.arange(6.0).reshape(2, 3) ** 2
    var, mean = mg.var_mean(mg.tensor(a), dim=())
    assert var.shape == () and mean.shape == ()
    assert var.item() == pytest.approx(np.var(a, ddof=1)) and mean.item() == pytest.approx(a.mean())
    std, mean = mg.std_mean(mg.tensor(a), dim=())
    assert std.item() == pytest.approx(np.std(a, ddof=1)) and mean.item() == pytest.approx(a.mean())


def test_kthvalue_refuses_a_non_integer_k():
    # torch.kthvalue takes an int k ("argument 'k' must be int, not float")
    with pytest.raises((TypeError, ValueError), match="kthvalue"):
        mg.tensor([3.0, 1.0, 2.0]).kthvalue(1.5)


def test_quantile_refuses_a_nan_level():
    # Sorting.cpp: "quantile() q must be in the range [0, 1]"; NaN is not in it
    with pytest.raises(ValueError, match=r"quantile: q must be in \[0, 1\]"):
        mg.tensor([1.0, 2.0]).quantile(float("nan"))
    with pytest.raises(ValueError, match=r"nanquantile: q must be in \[0, 1\]"):
        mg.tensor([1.0, 2.0]).nanquantile(mg.tensor([0.5, float("nan")]))


def test_aminmax_keepdim_must_be_a_boolean():
    with pytest.raises(ValueError, match="aminmax: keepdim must be True or False"):
        mg.tensor([[1.0, 2.0]]).aminmax(dim=1, keepdim="yes")


def test_quantile_of_a_0_d_tensor_along_dim_0_stays_0_d():
    # a 0-d tensor's dim 0 is itself; keepdim keeps no axis (PyTorch's reductions of a scalar stay scalars)
    assert mg.tensor(2.0, dtype=mg.float64).quantile(0.5, dim=0, keepdim=True).shape == ()
    assert mg.tensor(2.0, dtype=mg.float64).quantile(mg.tensor([0.25, 0.5], dtype=mg.float64), dim=0,
                                                   keepdim=True).shape == (2,)


# ==== the searches and runs ========================================================================

def test_unique_consecutive_of_an_empty_tensor_is_empty():
    # torch.unique_consecutive(torch.tensor([]), return_inverse=True, return_counts=True): three empty tensors
    values, inverse, counts = mg.zeros(0).unique_consecutive(return_inverse=True, return_counts=True)
    assert values.shape == (0,) and inverse.shape == (0,) and counts.shape == (0,)
    assert counts.dtype == np.int64 and inverse.dtype == np.int64



def test_unique_consecutive_flags_must_be_booleans():
    with pytest.raises(ValueError, match="unique_consecutive: return_inverse must be True or False"):
        mg.zeros(3).unique_consecutive(return_inverse="yes")
    with pytest.raises(ValueError, match="unique_consecutive: return_counts must be True or False"):
        mg.zeros(3).unique_consecutive(return_counts=2)



def test_bucketize_refuses_0_d_boundaries_by_its_own_name():
    # Bucketization.cpp: "boundaries tensor must be 1 dimension, but got dim(0)"
    with pytest.raises(ValueError, match="bucketize: boundaries must be 1-d"):
        mg.bucketize(mg.tensor([0.5, 1.5]), mg.tensor(1.0))



def test_searchsorted_compares_in_the_common_type():
    # BucketizationUtils.h: boundaries and values of different dtypes are compared in their common super type
    # (float64 here), so 1.5 falls between 1 and 2 (not truncated to 1)
    places = mg.searchsorted(mg.tensor(np.array([1, 2, 3])), mg.tensor([1.5, 2.5, 0.5], dtype=mg.float64))
    assert places.tolist() == [1, 2, 0]
    assert mg.bucketize(mg.tensor([1.5, 3.5]), mg.tensor(np.array([1, 2, 3]))).tolist() == [1, 3]


def test_searchsorted_right_must_be_a_boolean():
    with pytest.raises(ValueError, match="searchsorted: right must be True or False"):
        mg.searchsorted(mg.tensor([1.0, 2.0]), mg.tensor([1.5]), right="yes")


def test_argwhere_of_a_1_d_tensor_is_a_column_of_positions():
    # torch.argwhere: shape (count, input.dim()), here (2, 1)
    found = mg.tensor([0.0, 3.0, 0.0, 5.0]).argwhere()
    assert found.shape == (2, 1) and found.tolist() == [[1], [3]] and found.dtype == np.int64
    assert mg.zeros((2, 3)).argwhere().shape == (0, 2)



def test_searchsorted_refuses_a_floating_point_sorter():
    # Bucketization.cpp: "torch.searchsorted(): sorter must be a tensor of long dtype"
    with pytest.raises(ValueError, match="searchsorted: sorter must be integer positions"):
        mg.searchsorted(mg.tensor([3.0, 1.0, 2.0]), mg.tensor([1.5]), sorter=mg.tensor([1.0, 2.0, 0.0]))
