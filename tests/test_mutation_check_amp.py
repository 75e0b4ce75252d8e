"""Tests written from a mutation check of mixed precision (amp/grad_scaler.py, amp/autocast_mode.py, the
deprecated amp/legacy.py, cuda.py and cpu.py spellings), backends/cuda.py and the table of in-place
methods (ops/in_place.py): each pins a behaviour that a hand-made wrong implementation changed without
any other test noticing. Expected values come from PyTorch's definitions -- torch/amp/grad_scaler.py
and the `_amp_update_scale_` / `_amp_foreach_non_finite_check_and_unscale_` kernels of
aten/src/ATen/native/cpu/AmpGradScalerKernels.cpp -- written out in numpy, never from the library."""

import os
import warnings

import numpy as np
import pytest

import microgradseq as mg


def f32(x):
    """x rounded to float32, as PyTorch's float32 scale tensor holds it, back as a Python float."""
    return float(np.float32(x))


class RecordingOptimizer:
    """The least an optimizer is to GradScaler: param_groups, and a step that records its arguments
    and returns a sentinel."""

    def __init__(self, params):
        self.param_groups = [{"params": list(params)}]
        self.calls = []

    def step(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return "stepped"


def leaf(values, dtype=mg.float64):
    return mg.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, requires_grad=True)


def scaled_backward(scaler, *weights_and_params):
    """scaler.scale(sum_i <c_i, p_i>).backward(): each p.grad = S * c (the chain rule is linear)."""
    loss = sum((p * mg.tensor(np.asarray(c, dtype=np.float64), dtype=p.dtype)).sum()
               for c, p in weights_and_params)
    scaler.scale(loss).backward()


def one_iteration(scaler, optimizer, *weights_and_params):
    for _, p in weights_and_params:
        p.grad = None
    scaled_backward(scaler, *weights_and_params)
    scaler.step(optimizer)
    scaler.update()


# ---- construction ---------------------------------------------------------------------------------

def test_grad_scaler_checks_its_device_and_enabled_arguments():
    with pytest.raises(TypeError, match="GradScaler: expected a device type such as 'cuda' or 'cpu'"):
        mg.amp.GradScaler(mg.device("cpu"))
    with pytest.raises(ValueError, match="GradScaler: enabled must be True or False"):
        mg.amp.GradScaler(enabled="yes")


def test_a_disabled_scaler_does_not_check_its_options_as_pytorch_s():
    """PyTorch's asserts on growth/backoff run only when the scaler is enabled."""
    scaler = mg.amp.GradScaler(growth_factor=0.5, backoff_factor=2.0, enabled=False)
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0


def test_the_backoff_factor_must_be_below_one_and_each_option_is_a_number():
    with pytest.raises(ValueError, match="GradScaler: the backoff factor must be < 1.0, got 1.0"):
        mg.amp.GradScaler(backoff_factor=1.0)
    mg.amp.GradScaler(backoff_factor=0.0)          # PyTorch asserts only backoff_factor < 1.0
    with pytest.raises(TypeError, match="GradScaler: init_scale must be a number, got True"):
        mg.amp.GradScaler(init_scale=True)
    with pytest.raises(TypeError, match="GradScaler: backoff_factor must be a number, got 'half'"):
        mg.amp.GradScaler(backoff_factor="half")
    with pytest.raises(ValueError, match="GradScaler: growth_interval must be a positive integer, got 2.5"):
        mg.amp.GradScaler(growth_interval=2.5)


# ---- scale ---------------------------------------------------------------------------------------

def test_the_scale_is_held_in_float32_from_the_first_scale_on():
    """PyTorch's get_scale() is init_scale itself until scale() fills the float32 scale tensor, then
    that tensor's item(): float32(0.1) = 0.10000000149011612."""
    scaler = mg.amp.GradScaler(init_scale=0.1)
    assert scaler.get_scale() == 0.1
    out = scaler.scale(mg.tensor(2.0))
    assert scaler.get_scale() == f32(0.1) and scaler.state_dict()["scale"] == f32(0.1)
    assert float(out) == 2.0 * f32(0.1)


def test_scale_keeps_a_float64_loss_float64():
    """PyTorch's loss * scale: a float64 0-d loss and the float32 0-d scale promote to float64."""
    out = mg.amp.GradScaler(init_scale=4.0).scale(mg.tensor(1.5, dtype=mg.float64))
    assert out.dtype == np.float64 and float(out) == 6.0


def test_scale_promotes_a_zero_dim_float16_loss_to_float32_as_pytorch_s():
    """PyTorch's type promotion: both operands 0-d, so float16 * float32 -> float32 (65536 * 1.5 fits);
    a dimensioned float16 output times the 0-d scale stays float16."""
    scaler = mg.amp.GradScaler()
    out = scaler.scale(mg.tensor(1.5, dtype=mg.float16))
    assert out.dtype == np.float32 and float(out) == 98304.0
    assert scaler.scale(mg.tensor([1.5], dtype=mg.float16)).dtype == np.float16


def test_scale_of_another_iterable_gives_an_iterator_and_a_str_is_refused():
    """PyTorch's apply_scale: a list or tuple comes back as one, another iterable as a lazy map."""
    scaler = mg.amp.GradScaler(init_scale=2.0)
    out = scaler.scale(t for t in (mg.tensor(1.0), mg.tensor(3.0)))
    assert not isinstance(out, (list, tuple))
    assert [float(t) for t in out] == [2.0, 6.0]
    with pytest.raises(ValueError, match="GradScaler.scale: outputs must be a Tensor"):
        scaler.scale("loss")


def test_the_first_scale_starts_from_a_loaded_growth_tracker():
    """PyTorch's lazy init fills the growth tracker from _init_growth_tracker (set by load_state_dict)."""
    scaler = mg.amp.GradScaler()
    scaler.load_state_dict({"scale": 8.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 5,
                            "_growth_tracker": 3})
    scaler.scale(mg.tensor(1.0))
    assert scaler.state_dict()["_growth_tracker"] == 3
    w = leaf([1.0])
    optimizer = mg.optim.SGD([w], lr=0.1)
    one_iteration(scaler, optimizer, ([1.0], w))
    assert scaler.state_dict()["_growth_tracker"] == 4 and scaler.get_scale() == 8.0
    one_iteration(scaler, optimizer, ([1.0], w))            # the fifth good step in a row
    assert scaler.state_dict()["_growth_tracker"] == 0 and scaler.get_scale() == 16.0


# ---- unscale_ and step ---------------------------------------------------------------------------

def test_unscale_and_update_before_scale_are_refused():
    w = leaf([1.0])
    scaler = mg.amp.GradScaler()
    with pytest.raises(RuntimeError, match="GradScaler.unscale_: attempted unscale_ but the scale is not set"):
        scaler.unscale_(mg.optim.SGD([w], lr=0.1))
    with pytest.raises(RuntimeError, match="GradScaler.update: attempted update but the scale is not set"):
        scaler.update()


def test_unscale_multiplies_by_the_float32_reciprocal_of_the_scale():
    """PyTorch: inv_scale = float32(1 / float64(S)); a float64 gradient is multiplied by it in float64,
    a float32 gradient in float32 (and stays float32)."""
    w64, w32 = leaf([1.0, -2.0]), leaf([0.5, 3.0], dtype=mg.float32)
    scaler = mg.amp.GradScaler(init_scale=3.0)
    c64, c32 = np.array([0.7, 1.9]), np.array([1.3, -0.4])
    scaled_backward(scaler, (c64, w64), (c32, w32))
    scaler.unscale_(mg.optim.SGD([w64, w32], lr=0.1))
    inv = np.float32(1 / np.float64(3.0))
    assert w32.grad.dtype == np.float32 and w64.grad.dtype == np.float64
    np.testing.assert_array_equal(w64.grad, (3.0 * c64) * np.float64(inv))
    np.testing.assert_array_equal(w32.grad, (np.float32(3.0) * c32.astype(np.float32)) * inv)


def test_a_nan_gradient_skips_the_step_too():
    w = leaf([1.0, 2.0])
    optimizer = RecordingOptimizer([w])
    scaler = mg.amp.GradScaler(init_scale=8.0)
    scaled_backward(scaler, ([1.0, np.nan], w))
    assert scaler.step(optimizer) is None and optimizer.calls == []
    scaler.update()
    assert scaler.get_scale() == 4.0


def test_an_inf_in_any_gradient_is_found_and_every_gradient_is_still_unscaled():
    """PyTorch's kernel notes an inf or NaN in any gradient of the optimizer and unscales them all."""
    a, b = leaf([1.0]), leaf([2.0, 3.0])
    optimizer = RecordingOptimizer([a, b])
    scaler = mg.amp.GradScaler(init_scale=4.0)
    scaled_backward(scaler, ([np.inf], a), ([1.0, 2.0], b))
    assert scaler.step(optimizer) is None and optimizer.calls == []
    assert np.isinf(a.grad).all()
    np.testing.assert_array_equal(b.grad, [1.0, 2.0])


def test_the_inf_check_reads_the_scaled_gradient_before_unscaling():
    """PyTorch checks each value as it was scaled: a finite gradient that overflows only when
    multiplied by 1/S (S < 1) does not skip the step."""
    w = leaf([0.0])
    optimizer = RecordingOptimizer([w])
    scaler = mg.amp.GradScaler(init_scale=0.25)
    scaler.scale(mg.tensor(1.0))
    w.grad = np.array([1e308])
    assert scaler.step(optimizer) == "stepped"
    assert np.isinf(w.grad).all()


def test_float16_gradients_are_refused_among_others_before_any_is_unscaled():
    w32, w16 = leaf([1.0], dtype=mg.float32), leaf([2.0], dtype=mg.float16)
    scaler = mg.amp.GradScaler(init_scale=4.0)
    scaled_backward(scaler, ([1.0], w32), ([1.0], w16))
    with pytest.raises(ValueError, match="GradScaler.unscale_: attempting to unscale FP16 gradients"):
        scaler.unscale_(mg.optim.SGD([w32, w16], lr=0.1))
    np.testing.assert_array_equal(w32.grad, [4.0])
    np.testing.assert_array_equal(w16.grad, [4.0])


def test_step_forwards_its_arguments_and_returns_what_the_optimizer_step_returned():
    w = leaf([1.0])
    optimizer = RecordingOptimizer([w])
    scaler = mg.amp.GradScaler(init_scale=2.0)
    scaled_backward(scaler, ([1.0], w))
    assert scaler.step(optimizer, 5, lr_scale=0.5) == "stepped"
    assert optimizer.calls == [((5,), {"lr_scale": 0.5})]


def test_a_disabled_scaler_s_step_passes_the_closure_and_returns_its_loss():
    w = leaf([1.0])
    optimizer = mg.optim.SGD([w], lr=0.5)
    scaler = mg.amp.GradScaler(enabled=False)

    def closure():
        optimizer.zero_grad()
        loss = (w * 2).sum()
        loss.backward()
        return loss

    assert float(scaler.step(optimizer, closure=closure)) == 2.0
    np.testing.assert_array_equal(w.detach().numpy(), [0.0])


def test_a_closure_is_refused_before_the_scale_is_checked():
    """PyTorch's step looks for `closure` in kwargs first, before asking whether the scale is set."""
    w = leaf([1.0])
    with pytest.raises(RuntimeError, match="closure use is not currently supported"):
        mg.amp.GradScaler().step(mg.optim.SGD([w], lr=0.1), closure=lambda: None)


# ---- update: PyTorch's _amp_update_scale_ ----------------------------------------------------------

def test_update_with_no_gradient_checked_is_refused_even_after_unscale():
    """PyTorch: unscale_ of an optimizer whose parameters have no gradient records no inf check."""
    w = leaf([1.0])
    scaler = mg.amp.GradScaler()
    scaler.scale(mg.tensor(1.0))
    scaler.unscale_(mg.optim.SGD([w], lr=0.1))
    with pytest.raises(RuntimeError, match="GradScaler.update: no inf checks were recorded"):
        scaler.update()


@pytest.mark.parametrize("inf_first", [True, False])
def test_an_inf_in_one_optimizer_backs_off_but_the_other_still_steps(inf_first):
    """PyTorch skips per optimizer, and update() backs off if any optimizer found an inf."""
    a, b = leaf([1.0]), leaf([1.0])
    first, second = RecordingOptimizer([a]), RecordingOptimizer([b])
    scaler = mg.amp.GradScaler(init_scale=16.0, growth_interval=1)
    bad, good = (a, b) if inf_first else (b, a)
    scaled_backward(scaler, ([np.inf], bad), ([1.0], good))
    results = scaler.step(first), scaler.step(second)
    assert results == ((None, "stepped") if inf_first else ("stepped", None))
    scaler.update()
    assert scaler.get_scale() == 8.0 and scaler.state_dict()["_growth_tracker"] == 0


def test_a_skipped_step_multiplies_by_backoff_factor_and_restarts_the_count():
    w = leaf([1.0])
    optimizer = RecordingOptimizer([w])
    scaler = mg.amp.GradScaler(init_scale=64.0, backoff_factor=0.25, growth_interval=10)
    one_iteration(scaler, optimizer, ([1.0], w))
    one_iteration(scaler, optimizer, ([1.0], w))
    assert scaler.state_dict()["_growth_tracker"] == 2
    one_iteration(scaler, optimizer, ([np.inf], w))
    assert scaler.get_scale() == 16.0 and scaler.state_dict()["_growth_tracker"] == 0


def test_growth_and_backoff_are_computed_in_float64_then_rounded_to_float32():
    """_amp_update_scale_: new_scale = static_cast<float>(scale * growth_factor) with a double factor:
    3 * 1.1 = 3.3000000000000003 rounds to float32(3.3), not float32(3) * float32(1.1); backoff as well."""
    w = leaf([1.0])
    optimizer = RecordingOptimizer([w])
    scaler = mg.amp.GradScaler(init_scale=3.0, growth_factor=1.1, growth_interval=1)
    one_iteration(scaler, optimizer, ([1.0], w))
    assert scaler.get_scale() == f32(3.0 * 1.1) != float(np.float32(3.0) * np.float32(1.1))
    scaler = mg.amp.GradScaler(init_scale=3.0, backoff_factor=0.3)
    one_iteration(scaler, optimizer, ([np.inf], w))
    assert scaler.get_scale() == f32(3.0 * 0.3) != float(np.float32(3.0) * np.float32(0.3))


def test_the_scale_does_not_grow_past_float32_s_range():
    """PyTorch's kernel keeps the scale when the grown one is inf in float32 (and restarts the count)."""
    w = leaf([1.0])
    optimizer = RecordingOptimizer([w])
    scaler = mg.amp.GradScaler(init_scale=2.0**127, growth_interval=1)
    with np.errstate(over="ignore"):
        one_iteration(scaler, optimizer, ([0.0], w))
    assert scaler.get_scale() == 2.0**127 and scaler.state_dict()["_growth_tracker"] == 0


def test_a_scale_that_cannot_grow_raises_no_warning():
    w = leaf([1.0])
    optimizer = RecordingOptimizer([w])
    scaler = mg.amp.GradScaler(init_scale=2.0**127, growth_interval=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one_iteration(scaler, optimizer, ([0.0], w))
    assert scaler.get_scale() == 2.0**127


def test_growth_needs_the_count_to_reach_growth_interval_exactly():
    """_amp_update_scale_ grows only when tracker + 1 == growth_interval: after the interval is set
    below the count the scale does not grow, and the count goes on."""
    w = leaf([1.0])
    optimizer = RecordingOptimizer([w])
    scaler = mg.amp.GradScaler(init_scale=4.0, growth_interval=10)
    for _ in range(3):
        one_iteration(scaler, optimizer, ([1.0], w))
    scaler.set_growth_interval(2)
    one_iteration(scaler, optimizer, ([1.0], w))
    assert scaler.get_scale() == 4.0 and scaler.state_dict()["_growth_tracker"] == 4


def test_update_with_new_scale_sets_a_float32_scale_and_keeps_the_count():
    w = leaf([1.0])
    optimizer = RecordingOptimizer([w])
    scaler = mg.amp.GradScaler(init_scale=4.0, growth_interval=10)
    one_iteration(scaler, optimizer, ([1.0], w))
    one_iteration(scaler, optimizer, ([1.0], w))
    scaler.update(new_scale=0.1)
    assert scaler.get_scale() == f32(0.1) and scaler.state_dict()["_growth_tracker"] == 2
    scaler.update(mg.tensor([0.5]))
    assert scaler.get_scale() == 0.5


def test_update_with_new_scale_ends_the_iteration_too():
    """PyTorch clears the per-optimizer states after either kind of update: the next iteration's
    step is allowed, and its gradients are unscaled by the new scale."""
    w = leaf([1.0])
    optimizer = RecordingOptimizer([w])
    scaler = mg.amp.GradScaler(init_scale=4.0)
    scaled_backward(scaler, ([1.0], w))
    scaler.step(optimizer)
    scaler.update(new_scale=8.0)
    w.grad = None
    scaled_backward(scaler, ([3.0], w))
    assert scaler.step(optimizer) == "stepped"
    np.testing.assert_array_equal(w.grad, [3.0])


def test_update_refuses_a_new_scale_that_is_not_one_number():
    scaler = mg.amp.GradScaler()
    scaler.scale(mg.tensor(1.0))
    with pytest.raises(ValueError, match="GradScaler.update: new_scale should be a number or a one-element tensor "
                                         "with requires_grad=False, got shape"):
        scaler.update(mg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="with requires_grad=False"):
        scaler.update(mg.tensor(2.0, requires_grad=True))
    with pytest.raises(TypeError, match="GradScaler.update: new_scale should be a number"):
        scaler.update(True)
    assert scaler.get_scale() == 2.0**16


# ---- getters, setters and the state dict ------------------------------------------------------------

def test_the_setters_change_what_the_getters_read_and_what_update_uses():
    w = leaf([1.0])
    optimizer = RecordingOptimizer([w])
    scaler = mg.amp.GradScaler(init_scale=16.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=100)
    assert (scaler.get_growth_factor(), scaler.get_backoff_factor(), scaler.get_growth_interval()) == (2.0, 0.5, 100)
    scaler.set_growth_factor(3.0)
    scaler.set_backoff_factor(0.25)
    scaler.set_growth_interval(2)
    assert (scaler.get_growth_factor(), scaler.get_backoff_factor(), scaler.get_growth_interval()) == (3.0, 0.25, 2)
    one_iteration(scaler, optimizer, ([1.0], w))
    one_iteration(scaler, optimizer, ([1.0], w))
    assert scaler.get_scale() == 48.0
    one_iteration(scaler, optimizer, ([np.inf], w))
    assert scaler.get_scale() == 12.0
    assert scaler.state_dict() == {"scale": 12.0, "growth_factor": 3.0, "backoff_factor": 0.25,
                                   "growth_interval": 2, "_growth_tracker": 0}


def test_state_dict_reads_the_live_scale():
    w = leaf([1.0])
    optimizer = RecordingOptimizer([w])
    scaler = mg.amp.GradScaler(init_scale=8.0, growth_interval=1)
    one_iteration(scaler, optimizer, ([1.0], w))
    assert scaler.state_dict()["scale"] == 16.0


def test_load_state_dict_mid_training_replaces_the_live_scale_and_count():
    w = leaf([1.0])
    optimizer = RecordingOptimizer([w])
    scaler = mg.amp.GradScaler(init_scale=8.0, growth_interval=10)
    one_iteration(scaler, optimizer, ([1.0], w))
    state = {"scale": 256.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 3,
             "_growth_tracker": 2}
    scaler.load_state_dict(state)
    assert scaler.get_scale() == 256.0 and scaler.state_dict() == state
    one_iteration(scaler, optimizer, ([1.0], w))                 # the third good step: it grows
    assert scaler.get_scale() == 512.0 and scaler.state_dict()["_growth_tracker"] == 0


def test_a_state_dict_with_a_missing_entry_changes_nothing():
    scaler = mg.amp.GradScaler(init_scale=4.0)
    with pytest.raises(KeyError, match="the state dict has no 'growth_factor'"):
        scaler.load_state_dict({"scale": 99.0})
    assert scaler.get_scale() == 4.0


def test_a_disabled_scaler_ignores_load_state_dict():
    scaler = mg.amp.GradScaler(enabled=False)
    scaler.load_state_dict({})
    scaler.load_state_dict({"scale": 8.0})
    assert scaler.state_dict() == {} and scaler.get_scale() == 1.0


# ---- the deprecated per-device spellings ------------------------------------------------------------

def test_the_deprecated_autocast_passes_dtype_and_enabled_on():
    from microgradseq.cuda.amp import autocast
    with pytest.warns(FutureWarning):
        region = autocast(enabled=False, dtype=mg.float32)
    assert region.fast_dtype == np.float32
    with region:
        assert not mg.is_autocast_enabled("cuda")


def test_the_deprecated_grad_scaler_passes_every_option_on():
    from microgradseq.cuda.amp import GradScaler
    with pytest.warns(FutureWarning):
        scaler = GradScaler(init_scale=4.0, growth_factor=3.0, backoff_factor=0.25, growth_interval=5)
    assert scaler.state_dict() == {"scale": 4.0, "growth_factor": 3.0, "backoff_factor": 0.25,
                                   "growth_interval": 5, "_growth_tracker": 0}
    with pytest.warns(FutureWarning):
        assert GradScaler().get_growth_interval() == 2000           # PyTorch's default
    with pytest.warns(FutureWarning):
        assert not mg.cpu.amp.GradScaler(enabled=False).is_enabled()


def test_the_deprecation_warning_points_at_the_caller_s_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mg.cuda.amp.GradScaler()
    assert [os.path.basename(w.filename) for w in caught] == [os.path.basename(__file__)]


# ---- autocast -----------------------------------------------------------------------------------------

def test_nested_autocast_blocks_of_two_devices_are_both_enabled():
    with mg.autocast("cuda"):
        with mg.autocast("cpu"):
            assert mg.is_autocast_enabled("cuda") and mg.is_autocast_enabled("cpu")
        assert mg.is_autocast_enabled("cuda") and not mg.is_autocast_enabled("cpu")


def test_autocast_checks_cache_enabled_and_is_autocast_enabled_checks_the_device():
    with pytest.raises(ValueError, match="autocast: cache_enabled must be True or False"):
        mg.autocast("cuda", cache_enabled="no")
    with pytest.raises(RuntimeError, match="is_autocast_enabled: unsupported autocast device_type 'tpu'"):
        mg.is_autocast_enabled("tpu")


@pytest.mark.parametrize("device", ["mps", "xpu", "hpu"])
def test_autocast_takes_pytorch_s_other_device_types(device):
    assert mg.amp.is_autocast_available(device)
    with mg.autocast(device):
        assert mg.is_autocast_enabled(device) and not mg.is_autocast_enabled("cuda")


# ---- backends.cuda ------------------------------------------------------------------------------------

def test_reduced_precision_reduction_defaults_are_pytorch_s():
    assert mg.backends.cuda.matmul.allow_bf16_reduced_precision_reduction is True


SWITCHES = ("flash", "mem_efficient", "math", "cudnn")


def switches():
    cuda = mg.backends.cuda
    return {name: getattr(cuda, f"{name}_sdp_enabled")() for name in SWITCHES}


@pytest.mark.parametrize("name", SWITCHES)
def test_each_attention_switch_is_its_own(name):
    cuda = mg.backends.cuda
    assert switches() == dict.fromkeys(SWITCHES, True)              # PyTorch's defaults
    getattr(cuda, f"enable_{name}_sdp")(False)
    try:
        assert switches() == {other: other != name for other in SWITCHES}
        with pytest.raises(ValueError, match=f"enable_{name}_sdp: enabled must be True or False"):
            getattr(cuda, f"enable_{name}_sdp")(1)
    finally:
        getattr(cuda, f"enable_{name}_sdp")(True)
    with pytest.warns(FutureWarning), cuda.sdp_kernel(**{f"enable_{name}": False}):
        assert switches() == {other: other != name for other in SWITCHES}
    assert switches() == dict.fromkeys(SWITCHES, True)


def test_sdp_kernel_restores_the_switches_after_an_error_and_checks_its_flags():
    cuda = mg.backends.cuda
    with pytest.warns(FutureWarning), pytest.raises(KeyError):
        with cuda.sdp_kernel(enable_math=False, enable_cudnn=False):
            raise KeyError("inside")
    assert switches() == dict.fromkeys(SWITCHES, True)
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="sdp_kernel: enable_flash must be True or False"):
        with cuda.sdp_kernel(enable_flash=0):
            pass


# ---- in-place methods ---------------------------------------------------------------------------------

def test_in_place_methods_take_keyword_arguments():
    x = np.arange(12.0).reshape(3, 4) - 5.5
    t = mg.tensor(x)
    t.cumsum_(dim=1).tril_(diagonal=-1).clamp_min_(min=-3.0)
    np.testing.assert_array_equal(t.numpy(), np.maximum(np.tril(np.cumsum(x, axis=1), -1), -3.0))


def test_an_in_place_method_on_a_part_starts_from_the_base_s_current_values():
    m = mg.tensor(np.array([[0.0, 1.0], [2.0, 3.0]]))
    row = m[1]
    m[1, 0] = 5.0
    row.exp_()
    np.testing.assert_allclose(m.numpy(), [[0.0, 1.0], np.exp([5.0, 3.0])], rtol=1e-15)


def test_in_place_methods_have_their_names_and_docs():
    assert mg.Tensor.sqrt_.__qualname__ == "sqrt_"
    assert mg.Tensor.cumsum_.__doc__ == "`t.cumsum(...)` in place, with the rules of `t += u`; returns t."
