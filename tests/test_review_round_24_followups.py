"""Follow-ups of the review of the day's changes (loss modules in PyTorch's order, complex default dtype, mg.lerp
as a function form, requires_grad on results). Expected values are closed forms, PyTorch's documented dtypes
or numpy written here, never the library's own output."""

import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F


# ---- loss modules: the library's older order (reduction first) -----------------------------------------

def test_kl_div_loss_takes_batchmean_in_size_averages_place_as_every_other_reduction():
    """nn/losses.py, _Loss: "a reduction string in their place, `nn.MSELoss("sum")`, is the reduction";
    KLDivLoss's own "batchmean" too (the older order's KLDivLoss("batchmean") divided by the batch), and so
    for F.kl_div. log q = log [0.5, 0.5] per row, p = [0.25, 0.75]: the divergence per row is
    sum p (log p - log q), the same for both rows, so batchmean is that number."""
    p = np.array([[0.25, 0.75], [0.25, 0.75]])
    log_q = np.log(np.full((2, 2), 0.5))
    per_row = float((p[0] * (np.log(p[0]) - log_q[0])).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("error")                    # no deprecation warning: it is the reduction
        assert nn.KLDivLoss("batchmean").reduction == "batchmean"
        assert nn.KLDivLoss("batchmean", log_target=True).log_target is True
        got = F.kl_div(mg.tensor(log_q), mg.tensor(p), "batchmean").item()
    assert got == pytest.approx(per_row, rel=1e-12)


@pytest.mark.parametrize("make", [
    lambda: nn.KLDivLoss("sum", True),                    # older order: log_target=True
    lambda: nn.SmoothL1Loss("sum", 0.5),                  # older order: beta=0.5
    lambda: nn.MSELoss("sum", False),
    lambda: nn.BCEWithLogitsLoss(None, "sum", mg.tensor([2.0])),     # older order: pos_weight
    lambda: F.mse_loss(mg.tensor([1.0]), mg.tensor([0.0]), "sum", False),
])
def test_a_reduction_string_in_size_averages_place_with_a_reduce_beside_it_is_refused(make):
    """A reduction string where size_average stands is the older order, whose next argument was the loss's
    next option (log_target, beta, pos_weight): as PyTorch's reduce it would silently make the loss "mean"
    or "none" and drop the option; refused, naming reduce."""
    with pytest.raises(TypeError, match="reduce=.* in size_average's place"):
        make()


# ---- Python complex numbers: the default complex dtype wherever they make a tensor -------------------------

def test_a_complex_number_beside_an_integer_tensor_takes_the_default_complex_dtype():
    """PyTorch (torch.set_default_dtype): with float32 the default complex dtype is complex64, and an integer
    tensor with a Python complex scalar promotes to it, as `torch.arange(5) * 0.1` is float32."""
    assert (mg.arange(3) * 1j).dtype == np.complex64
    assert (1j + mg.tensor([True, False])).dtype == np.complex64
    np.testing.assert_array_equal((mg.arange(3) * 1j).numpy(), [0, 1j, 2j])
    assert (mg.tensor([1.0, 2.0]) * 1j).dtype == np.complex64
    assert (mg.tensor([1.0], dtype=np.float64) * 1j).dtype == np.complex128


def test_linspace_with_a_complex_bound_is_complex_as_pytorchs():
    """torch.linspace docs: dtype None is "the global default dtype when both start and end are real, and
    corresponding complex dtype when either is complex": 0, 0.5j, 1j (numpy dropped the imaginary part)."""
    out = mg.linspace(0, 1j, 3)
    assert out.dtype == np.complex64
    np.testing.assert_array_equal(out.numpy(), [0, 0.5j, 1j])
    assert mg.linspace(0, 1, 3).dtype == np.float32


def test_python_complex_numbers_beside_float64_default_are_complex128(float64_default):
    """creation.py, _fill_dtype and tensor.py: complex128 beside the float64 default."""
    assert mg.tensor([1.2, 3j]).dtype == np.complex128 and mg.full((2,), 1j).dtype == np.complex128


# ---- mg.lerp: a number or numpy array first takes the tensors' dtype, as the op does ----------------------

@pytest.mark.parametrize("start", [0, 0.0, np.float64(0.0)])
def test_lerp_function_form_with_a_scalar_first_keeps_the_tensors_dtype(start):
    """docs/api.md: `mg.lerp(input, end, weight)` is the op under PyTorch's names; the op takes a number's
    dtype from the tensors beside it (tensor.py, as_tensor): float16 stays float16 and an int 0 does not
    make float32 float64. 0 + 0.5 (2 - 0) = 1."""
    for dtype in (np.float16, np.float32):
        end = mg.tensor(np.array([2.0, 4.0], dtype=dtype))
        out = mg.lerp(start, end, 0.5)
        assert out.dtype == dtype
        np.testing.assert_array_equal(out.numpy(), np.array([1.0, 2.0], dtype=dtype))
    assert mg.lerp(input=0.0, end=mg.tensor([2.0]), weight=mg.tensor([0.25])).tolist() == [0.5]


# ---- requires_grad on a cut state ---------------------------------------------------------------------------

def test_a_cut_state_is_a_leaf_that_can_require_grad_as_a_detached_one():
    """A cut state (`mg.bptt.truncate`) has no history and `is_leaf` is True, as PyTorch's detached tensor:
    `state.requires_grad = True` (the TBPTT idiom) makes it a leaf that collects dL/dstate. d(3 s)/ds = 3."""
    h = mg.tensor([1.0, 2.0], requires_grad=True) * 2
    state = mg.bptt.truncate(h)
    assert state.is_leaf and not state.requires_grad
    state.requires_grad = True
    (state * 3).sum().backward()
    np.testing.assert_array_equal(state.grad, [3.0, 3.0])
    assert mg.bptt.truncate(h).requires_grad_().requires_grad
    with pytest.raises(RuntimeError, match="leaf"):
        h.requires_grad = True                  # an op's result stays refused
