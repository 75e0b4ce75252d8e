"""PyTorch's mixed-precision spellings (`mg.autocast`, `mg.amp.GradScaler`, `mg.cuda.amp`, `mg.cpu.amp`,
`mg.backends.cuda`) and the in-place methods of the ops (`t.exp_()`, `x.neg_()`, `w.sqrt_()`, ...).

autocast casts nothing here (numpy runs everything in the dtypes given); GradScaler is PyTorch's algorithm
(torch/amp/grad_scaler.py), checked against hand-written numpy SGD and the update rule of PyTorch's
`_amp_update_scale_`. The in-place methods are checked against numpy's values, their gradients against
central differences in float64, and their refusals against those of `t += u`.
"""

import math
import threading
import warnings

import numpy as np
import pytest

import microgradseq as mg

RNG = np.random.default_rng(7)


# ---- autocast: a region that casts nothing ------------------------------------------------------------

def test_an_autocast_block_changes_no_dtype():
    a32, b32 = mg.tensor(RNG.standard_normal((3, 4)), dtype=mg.float32), mg.tensor(RNG.standard_normal((4, 2)),
                                                                                       dtype=mg.float32)
    a64 = mg.tensor(RNG.standard_normal((3, 4)))
    with mg.autocast("cuda", dtype=mg.float16):
        product, total = a32 @ b32, (a64 * 2).sum()
    assert product.dtype == np.float32 and total.dtype == np.float64
    np.testing.assert_allclose(product.numpy(), a32.numpy() @ b32.numpy(), rtol=1e-6)


def test_autocast_is_enabled_inside_its_block_and_nested_blocks_restore_it():
    assert not mg.is_autocast_enabled()
    with mg.amp.autocast("cuda"):
        assert mg.is_autocast_enabled() and mg.is_autocast_enabled("cuda") and not mg.is_autocast_enabled("cpu")
        with mg.autocast("cuda", enabled=False):
            assert not mg.is_autocast_enabled()
            with mg.autocast("cpu", dtype=mg.float16):
                assert mg.is_autocast_enabled("cpu") and not mg.is_autocast_enabled("cuda")
        assert mg.is_autocast_enabled() and not mg.is_autocast_enabled("cpu")
    assert not mg.is_autocast_enabled()


def test_autocast_as_a_decorator_runs_the_function_inside_its_region():
    seen = []

    @mg.autocast("cuda")
    def forward(x):
        """the model's forward"""
        seen.append(mg.is_autocast_enabled())
        return x * 2

    out = forward(mg.tensor([1.0, 2.0], dtype=mg.float32))
    assert seen == [True] and out.dtype == np.float32 and not mg.is_autocast_enabled()
    assert forward.__name__ == "forward" and forward.__doc__ == "the model's forward"


def test_autocast_restores_the_state_after_an_error_and_enter_returns_none():
    with pytest.raises(ZeroDivisionError):
        with mg.autocast("cuda") as region:
            assert region is None                  # (PyTorch's __enter__ returns nothing)
            1 / 0
    assert not mg.is_autocast_enabled()


def test_autocast_state_belongs_to_the_thread_that_entered_it():
    other = []
    with mg.autocast("cuda"):
        thread = threading.Thread(target=lambda: other.append(mg.is_autocast_enabled()))
        thread.start()
        thread.join()
    assert other == [False]


def test_one_decorator_region_open_in_two_threads_puts_back_each_threads_own_state():
    """A decorator is one autocast object: entered by thread A, then by thread B (inside its own cpu
    region) before A leaves, A's exit puts back A's state, not B's; a recursive call leaves it off."""
    a_inside, b_inside, a_left, seen = threading.Event(), threading.Event(), threading.Event(), {}

    @mg.autocast("cuda")
    def forward(who):
        (a_inside if who == "A" else b_inside).set()
        (b_inside if who == "A" else a_left).wait(5)

    def thread_b():
        a_inside.wait(5)
        with mg.autocast("cpu"):
            forward("B")
            seen["B"] = mg.is_autocast_enabled("cpu"), mg.is_autocast_enabled("cuda")

    thread = threading.Thread(target=thread_b)
    thread.start()
    forward("A")
    seen["A"] = mg.is_autocast_enabled("cpu"), mg.is_autocast_enabled("cuda")
    a_left.set()
    thread.join()
    assert seen == {"A": (False, False), "B": (True, False)}

    @mg.autocast("cuda")
    def recursive(n):
        if n:
            recursive(n - 1)
        return mg.is_autocast_enabled("cuda")
    assert recursive(2) and not mg.is_autocast_enabled("cuda")


def test_autocast_refuses_a_device_type_that_is_not_a_str_or_not_known():
    with pytest.raises(ValueError, match="autocast: expected `device_type` of type `str`, got: `device`"):
        mg.autocast(mg.device("cuda"))
    with pytest.raises(RuntimeError, match="autocast: unsupported autocast device_type 'tpu'"):
        mg.autocast("tpu")
    with pytest.raises(TypeError, match="autocast: expected a dtype"):
        mg.autocast("cuda", dtype="half-ish")
    with pytest.raises(ValueError, match="autocast: enabled must be True or False"):
        mg.autocast("cuda", enabled="yes")
    assert mg.amp.is_autocast_available("cuda") and not mg.amp.is_autocast_available("tpu")


def test_the_deprecated_per_device_spellings_warn_as_pytorch_and_work_the_same():
    import microgradseq.cpu.amp
    from microgradseq.cuda.amp import autocast
    with pytest.warns(FutureWarning, match=r"`torch.cuda.amp.autocast\(args...\)` is deprecated"):
        region = autocast()
    assert region.device == "cuda" and region.fast_dtype == np.float16
    with region:
        assert mg.is_autocast_enabled("cuda")
    with pytest.warns(FutureWarning, match=r"torch.amp.autocast\('cpu', args...\)"):
        region = microgradseq.cpu.amp.autocast(dtype=mg.float16)
    with region:
        assert mg.is_autocast_enabled("cpu")
    assert mg.cpu.amp is microgradseq.cpu.amp and mg.cpu.is_available()


# ---- backends: settings that change nothing --------------------------------------------------------------

def test_backend_flags_have_pytorch_s_defaults_and_can_be_set():
    matmul = mg.backends.cuda.matmul
    assert matmul.allow_tf32 is False and matmul.allow_fp16_reduced_precision_reduction is True
    assert not mg.backends.cuda.is_built()
    matmul.allow_tf32, mg.backends.cudnn.allow_tf32 = True, False
    try:
        assert mg.backends.cuda.matmul.allow_tf32 is True and mg.backends.cudnn.allow_tf32 is False
        x = mg.tensor(RNG.standard_normal((2, 3)), dtype=mg.float32)
        np.testing.assert_allclose((x @ x.T).numpy(), x.numpy() @ x.numpy().T, rtol=1e-6)
    finally:
        matmul.allow_tf32, mg.backends.cudnn.allow_tf32 = False, True


def test_sdp_kernel_sets_the_attention_switches_inside_its_block_only():
    cuda = mg.backends.cuda
    with pytest.warns(FutureWarning, match=r"`torch.backends.cuda.sdp_kernel\(\)` is deprecated"):
        with cuda.sdp_kernel(enable_flash=False, enable_mem_efficient=False):
            assert not cuda.flash_sdp_enabled() and not cuda.mem_efficient_sdp_enabled()
            assert cuda.math_sdp_enabled() and cuda.cudnn_sdp_enabled()
    assert cuda.flash_sdp_enabled() and cuda.mem_efficient_sdp_enabled()
    cuda.enable_math_sdp(False)
    try:
        assert not cuda.math_sdp_enabled()
    finally:
        cuda.enable_math_sdp(True)


# ---- GradScaler: PyTorch's algorithm ------------------------------------------------------------------

def regression(dtype=np.float64):
    x, y = RNG.standard_normal((8, 3)), RNG.standard_normal(8)
    return x.astype(dtype), y.astype(dtype), RNG.standard_normal(3).astype(dtype)


def mse(w, x, y):
    return ((mg.tensor(x) @ w - mg.tensor(y)) ** 2).mean()


def numpy_sgd(w, x, y, lr, steps):
    """dL/dw of mean((x w - y)^2) is 2/n x^T (x w - y); w <- w - lr dL/dw."""
    for _ in range(steps):
        w = w - lr * 2 / len(y) * x.T @ (x @ w - y)
    return w


def test_the_standard_loop_gives_plain_sgd_s_parameters_when_nothing_overflows():
    x, y, start = regression()
    w = mg.tensor(start, requires_grad=True)
    optimizer = mg.optim.SGD([w], lr=0.1)
    scaler = mg.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=2)
    for _ in range(5):
        optimizer.zero_grad()
        scaler.scale(mse(w, x, y)).backward()
        scaler.step(optimizer)
        scaler.update()
    np.testing.assert_allclose(w.detach().numpy(), numpy_sgd(start, x, y, 0.1, 5), rtol=1e-12, atol=1e-14)
    assert scaler.get_scale() == 2.0**12 and scaler.state_dict()["_growth_tracker"] == 1   # grew after steps 2, 4


def test_scale_multiplies_by_the_scale_and_keeps_the_dtype():
    scaler = mg.amp.GradScaler(init_scale=4.0)
    assert scaler.get_scale() == 4.0
    scaled = scaler.scale(mg.tensor([1.5], dtype=mg.float16))       # a float16 tensor with axes stays float16
    assert scaled.dtype == np.float16 and float(scaled[0]) == 6.0
    scaled = scaler.scale(mg.tensor(1.5, dtype=mg.float16))         # two 0-d tensors: float32, as PyTorch's
    assert scaled.dtype == np.float32 and float(scaled) == 6.0
    pair = scaler.scale([mg.tensor(1.0), (mg.tensor(2.0),)])
    assert isinstance(pair, list) and float(pair[0]) == 4.0 and isinstance(pair[1], tuple) and float(pair[1][0]) == 8.0
    with pytest.raises(ValueError, match="GradScaler.scale: outputs must be a Tensor or an iterable of Tensors"):
        scaler.scale(3.0)


def float16_activation_loss(w):
    """w (float32) cast to float16 and back, as autocast would run a layer: the backward's gradient passes
    through float16, where a scaled seed of 65536 is inf (float16's largest number is 65504)."""
    return (w.half() * 1).sum().float()


def test_an_overflowing_gradient_skips_the_step_and_backs_off_the_scale():
    w = mg.tensor([1.0, 2.0], dtype=mg.float32, requires_grad=True)
    optimizer = mg.optim.SGD([w], lr=0.5)
    scaler = mg.amp.GradScaler(init_scale=2.0**16)
    with np.errstate(over="ignore"):
        scaler.scale(float16_activation_loss(w)).backward()
    assert np.isinf(w.grad).all()
    assert scaler.step(optimizer) is None
    scaler.update()
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 2.0])          # the step was skipped
    assert scaler.get_scale() == 2.0**15 and scaler.state_dict()["_growth_tracker"] == 0
    optimizer.zero_grad()                                                    # next iteration: 32768 fits
    scaler.scale(float16_activation_loss(w)).backward()
    scaler.step(optimizer)
    scaler.update()
    np.testing.assert_array_equal(w.detach().numpy(), [0.5, 1.5])          # dL/dw = 1 after unscaling
    assert scaler.get_scale() == 2.0**15 and scaler.state_dict()["_growth_tracker"] == 1


def test_the_scale_grows_after_growth_interval_good_steps_in_a_row():
    x, y, start = regression()
    w = mg.tensor(start, requires_grad=True)
    optimizer = mg.optim.SGD([w], lr=0.01)
    scaler = mg.amp.GradScaler(init_scale=8.0, growth_factor=3.0, growth_interval=3)
    seen = []
    for _ in range(7):
        optimizer.zero_grad()
        scaler.scale(mse(w, x, y)).backward()
        scaler.step(optimizer)
        scaler.update()
        seen.append((scaler.get_scale(), scaler.state_dict()["_growth_tracker"]))
    assert seen == [(8.0, 1), (8.0, 2), (24.0, 0), (24.0, 1), (24.0, 2), (72.0, 0), (72.0, 1)]


def test_unscale_then_clip_grad_norm_sees_the_true_gradients():
    x, y, start = regression()
    w = mg.tensor(start, requires_grad=True)
    optimizer = mg.optim.SGD([w], lr=0.1)
    scaler = mg.amp.GradScaler(init_scale=2.0**8)
    scaler.scale(mse(w, x, y)).backward()
    true_grad = 2 / len(y) * x.T @ (x @ start - y)
    np.testing.assert_allclose(w.grad, 2.0**8 * true_grad, rtol=1e-12)
    scaler.unscale_(optimizer)
    norm = mg.nn.utils.clip_grad_norm_([w], max_norm=1e9)
    np.testing.assert_allclose(float(norm), np.linalg.norm(true_grad), rtol=1e-12)
    scaler.step(optimizer)                                     # not unscaled a second time
    scaler.update()
    np.testing.assert_allclose(w.detach().numpy(), start - 0.1 * true_grad, rtol=1e-12)


def test_state_dict_has_pytorch_s_keys_and_round_trips():
    x, y, start = regression()
    w = mg.tensor(start, requires_grad=True)
    optimizer = mg.optim.SGD([w], lr=0.01)
    scaler = mg.amp.GradScaler(init_scale=2.0**5, growth_factor=4.0, backoff_factor=0.25, growth_interval=5)
    for _ in range(2):
        scaler.scale(mse(w, x, y)).backward()
        scaler.step(optimizer)
        scaler.update()
    state = scaler.state_dict()
    assert state == {"scale": 32.0, "growth_factor": 4.0, "backoff_factor": 0.25, "growth_interval": 5,
                     "_growth_tracker": 2}
    restored = mg.amp.GradScaler()
    restored.load_state_dict(state)
    assert restored.state_dict() == state and restored.get_scale() == 32.0
    with pytest.raises(RuntimeError, match="GradScaler.load_state_dict: the source state dict is empty"):
        restored.load_state_dict({})
    with pytest.raises(KeyError, match="GradScaler.load_state_dict: the state dict has no '_growth_tracker'"):
        restored.load_state_dict({k: v for k, v in state.items() if k != "_growth_tracker"})
    assert restored.state_dict() == state


def test_the_order_of_calls_is_checked_as_pytorch_s():
    w = mg.tensor([1.0], requires_grad=True)
    optimizer = mg.optim.SGD([w], lr=0.1)
    scaler = mg.amp.GradScaler()
    with pytest.raises(RuntimeError, match="GradScaler.step: attempted step but the scale is not set yet"):
        scaler.step(optimizer)
    scaler.scale((w * 1).sum()).backward()
    scaler.unscale_(optimizer)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called on this optimizer"):
        scaler.unscale_(optimizer)
    scaler.step(optimizer)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called since the last update"):
        scaler.step(optimizer)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
        scaler.unscale_(optimizer)
    with pytest.raises(RuntimeError, match="closure use is not currently supported"):
        scaler.step(optimizer, closure=lambda: None)
    scaler.update()
    with pytest.raises(RuntimeError, match="GradScaler.update: no inf checks were recorded"):
        scaler.update()
    scaler.update(new_scale=128.0)
    assert scaler.get_scale() == 128.0
    optimizer.zero_grad()
    with pytest.raises(RuntimeError, match="GradScaler.step: no inf checks were recorded for this optimizer"):
        scaler.step(optimizer)                      # (no parameter has a gradient)


def test_float16_gradients_are_refused_and_left_as_they_were():
    w = mg.tensor([1.0, 2.0], dtype=mg.float16, requires_grad=True)
    optimizer = mg.optim.SGD([w], lr=0.1)
    scaler = mg.amp.GradScaler(init_scale=4.0)
    scaler.scale(w.sum()).backward()
    with pytest.raises(ValueError, match="GradScaler.unscale_: attempting to unscale FP16 gradients"):
        scaler.step(optimizer)
    np.testing.assert_array_equal(w.grad, [4.0, 4.0])
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 2.0])


def test_a_disabled_scaler_is_pytorch_s_pass_through():
    w = mg.tensor([1.0], requires_grad=True)
    optimizer = mg.optim.SGD([w], lr=0.5)
    scaler = mg.amp.GradScaler(enabled=False)
    loss = (w * 3).sum()
    assert scaler.scale(loss) is loss and scaler.get_scale() == 1.0 and not scaler.is_enabled()
    loss.backward()
    scaler.unscale_(optimizer)
    scaler.step(optimizer)
    scaler.update()
    np.testing.assert_array_equal(w.detach().numpy(), [-0.5])
    assert scaler.state_dict() == {}


def test_bad_options_are_refused_by_name():
    with pytest.raises(ValueError, match="GradScaler: the growth factor must be > 1.0, got 1.0"):
        mg.amp.GradScaler(growth_factor=1.0)
    with pytest.raises(ValueError, match="GradScaler: the backoff factor must be < 1.0, got 1.5"):
        mg.amp.GradScaler(backoff_factor=1.5)
    with pytest.raises(ValueError, match="GradScaler: growth_interval must be a positive integer, got 0"):
        mg.amp.GradScaler(growth_interval=0)
    with pytest.raises(TypeError, match="GradScaler: init_scale must be a number, got 'big'"):
        mg.amp.GradScaler(init_scale="big")


def test_the_deprecated_grad_scalers_warn_and_scale():
    from microgradseq.cuda.amp import GradScaler
    with pytest.warns(FutureWarning, match=r"torch.amp.GradScaler\('cuda', args...\)"):
        scaler = GradScaler(init_scale=2.0)
    with pytest.warns(FutureWarning, match=r"`torch.cpu.amp.GradScaler\(args...\)` is deprecated"):
        cpu_scaler = mg.cpu.amp.GradScaler(init_scale=8.0, growth_interval=7)
    assert float(scaler.scale(mg.tensor(3.0))) == 6.0 and cpu_scaler.state_dict()["growth_interval"] == 7


# ---- in-place methods -----------------------------------------------------------------------------------

def _erf(x):
    return np.vectorize(math.erf)(x)


def _renorm(x, p, dim, maxnorm):
    """torch.renorm: each slice along dim with p-norm n > maxnorm times maxnorm / (n + 1e-7)."""
    others = tuple(a for a in range(x.ndim) if a != dim)
    n = np.sum(np.abs(x) ** p, axis=others, keepdims=True) ** (1 / p)
    return x * np.where(n > maxnorm, maxnorm / (n + 1e-7), 1.0)


B1, B2 = RNG.standard_normal((2, 3, 5)), RNG.standard_normal((2, 5, 4))
M1, M2, V5, V3, V4 = (RNG.standard_normal(s) for s in ((3, 5), (5, 4), (5,), (3,), (4,)))
T1, T2 = RNG.standard_normal((3, 4)), RNG.uniform(0.5, 2.0, (3, 4))
U = RNG.standard_normal((3, 4))
mixed = RNG.uniform(0.3, 2.0, (3, 4)) * np.where(RNG.random((3, 4)) < 0.5, -1, 1)   # away from 0
positive = RNG.uniform(0.3, 2.0, (3, 4))
near_one = RNG.uniform(0.3, 0.9, (3, 4))

# name: (x, args, numpy reference, differentiable)
CASES = {
    "abs": (mixed, (), np.abs, True), "neg": (mixed, (), np.negative, True),
    "negative": (mixed, (), np.negative, True), "sign": (mixed, (), np.sign, False),
    "square": (mixed, (), np.square, True), "sqrt": (positive, (), np.sqrt, True),
    "rsqrt": (positive, (), lambda x: 1 / np.sqrt(x), True), "exp": (mixed, (), np.exp, True),
    "expm1": (mixed, (), np.expm1, True), "log": (positive, (), np.log, True),
    "log2": (positive, (), np.log2, True), "log10": (positive, (), np.log10, True),
    "log1p": (positive, (), np.log1p, True), "sin": (mixed, (), np.sin, True), "cos": (mixed, (), np.cos, True),
    "tanh": (mixed, (), np.tanh, True), "sinh": (mixed, (), np.sinh, True), "cosh": (mixed, (), np.cosh, True),
    "sigmoid": (mixed, (), lambda x: 1 / (1 + np.exp(-x)), True), "relu": (mixed, (), lambda x: np.maximum(x, 0), True),
    "erf": (mixed, (), _erf, True), "round": (mixed * 3, (), np.round, False),
    "nan_to_num": (mixed, (), np.nan_to_num, True),
    "pow": (positive, (2.5,), lambda x, e: x ** e, True),
    "remainder": (mixed * 3, (1.25,), np.mod, True), "floor_divide": (mixed * 3, (1.25,), np.floor_divide, False),
    "clamp_min": (mixed, (0.5,), np.maximum, True), "clamp_max": (mixed, (0.5,), np.minimum, True),
    "addbmm": (T1, (B1, B2), lambda x, a, b: x + np.einsum("bij,bjk->ik", a, b), True),
    "addcdiv": (T1, (U, T2), lambda x, a, b: x + a / b, True),
    "addcmul": (T1, (U, T2), lambda x, a, b: x + a * b, True),
    "addmm": (T1, (M1, M2), lambda x, a, b: x + a @ b, True),
    "addmv": (V3, (M1, V5), lambda x, a, b: x + a @ b, True),
    "addr": (T1, (V3, V4), lambda x, a, b: x + np.outer(a, b), True),
    "baddbmm": (RNG.standard_normal((2, 3, 4)), (B1, B2), lambda x, a, b: x + a @ b, True),
    "cumsum": (mixed, (0,), lambda x, d: np.cumsum(x, d), True),
    "cumprod": (mixed, (1,), lambda x, d: np.cumprod(x, d), True),
    "tril": (mixed, (), np.tril, True), "triu": (mixed, (1,), np.triu, True),
    "renorm": (mixed, (2, 0, 1.5), _renorm, True),
    "eq": (np.round(mixed), (np.round(U),), np.equal, False),
    "ne": (np.round(mixed), (np.round(U),), np.not_equal, False),
    "lt": (mixed, (U,), np.less, False), "le": (np.round(mixed), (np.round(U),), np.less_equal, False),
    "gt": (mixed, (U,), np.greater, False), "ge": (np.round(mixed), (np.round(U),), np.greater_equal, False),
    "logical_and": (np.round(mixed), (np.round(U),), np.logical_and, False),
    "logical_or": (np.round(mixed), (np.round(U),), np.logical_or, False),
    "logical_xor": (np.round(mixed), (np.round(U),), np.logical_xor, False),
    "logical_not": (np.round(mixed), (), np.logical_not, False),
    "absolute": (mixed, (), np.abs, True), "reciprocal": (mixed, (), np.reciprocal, True),
    "floor": (mixed * 3, (), np.floor, False), "ceil": (mixed * 3, (), np.ceil, False),
    "tan": (mixed * 0.6, (), np.tan, True), "deg2rad": (mixed, (), np.deg2rad, True),
    "rad2deg": (mixed, (), np.rad2deg, True), "atan": (mixed, (), np.arctan, True),
    "arctan": (mixed, (), np.arctan, True), "asinh": (mixed, (), np.arcsinh, True),
    "arcsinh": (mixed, (), np.arcsinh, True), "acosh": (positive + 1, (), np.arccosh, True),
    "arccosh": (positive + 1, (), np.arccosh, True),
    **{name: (near_one * np.sign(mixed), (), reference, True)
       for name, reference in [("asin", np.arcsin), ("arcsin", np.arcsin), ("acos", np.arccos),
                               ("arccos", np.arccos), ("atanh", np.arctanh), ("arctanh", np.arctanh)]},
}
FLOAT_ONLY = ["sqrt", "rsqrt", "exp", "expm1", "log", "log2", "log10", "log1p", "sin", "cos", "tanh", "sinh", "cosh",
              "sigmoid", "erf", "reciprocal", "tan", "asin", "acos", "atan", "asinh", "acosh", "atanh", "deg2rad",
              "rad2deg"]


def tensors(args):
    return tuple(mg.tensor(a) if isinstance(a, np.ndarray) else a for a in args)


@pytest.mark.parametrize("name", list(CASES))
def test_an_in_place_method_gives_numpy_s_value_in_the_same_tensor(name):
    x, args, reference, _ = CASES[name]
    t = mg.tensor(x)
    out = getattr(t, name + "_")(*tensors(args))
    assert out is t and t.dtype == np.float64 and t.shape == x.shape
    np.testing.assert_allclose(t.numpy(), np.asarray(reference(x, *args), dtype=np.float64), rtol=1e-12, atol=1e-15)


def central_differences(f, x, weights, h=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (np.sum(weights * f(up)) - np.sum(weights * f(down))) / (2 * h)
    return grad


@pytest.mark.parametrize("name", [name for name, case in CASES.items() if case[3]])
def test_the_gradient_goes_through_an_in_place_method_while_recording(name):
    x, args, reference, _ = CASES[name]
    weights = RNG.standard_normal(np.shape(reference(x, *args)))
    a = mg.tensor(x, requires_grad=True)
    h = a * 1
    getattr(h, name + "_")(*tensors(args))
    (h * mg.tensor(weights)).sum().backward()
    expected = central_differences(lambda v: reference(v, *args), x, weights)
    np.testing.assert_allclose(a.grad, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", list(CASES))
def test_an_in_place_method_is_refused_on_a_leaf_that_requires_grad_as_plus_equals_is(name):
    x, args, _, _ = CASES[name]
    w = mg.tensor(x, requires_grad=True)
    with pytest.raises(RuntimeError, match=f"^{name}_: a leaf tensor that requires grad cannot be changed in place"):
        getattr(w, name + "_")(*tensors(args))
    np.testing.assert_array_equal(w.detach().numpy(), x)
    with pytest.raises(RuntimeError, match="^\\+=: a leaf tensor that requires grad"):
        w += 1


@pytest.mark.parametrize("name", ["exp", "sqrt", "neg", "clamp_min", "pow"])
def test_under_no_grad_a_leaf_takes_the_value_and_stays_a_leaf(name):
    x, args, reference, _ = CASES[name]
    w = mg.tensor(x, requires_grad=True)
    with mg.no_grad():
        assert getattr(w, name + "_")(*tensors(args)) is w
    assert w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.detach().numpy(), reference(x, *args), rtol=1e-12)


@pytest.mark.parametrize("name", FLOAT_ONLY)
def test_an_integer_tensor_refuses_a_float_result_as_plus_equals_a_float_does(name):
    t = mg.tensor([[1, 2], [3, 4]])
    with pytest.raises(TypeError, match=f"^{name}_: the result's dtype float32 cannot be cast to the tensor's dtype "
                                        "int64"):
        getattr(t, name + "_")()
    np.testing.assert_array_equal(t.numpy(), [[1, 2], [3, 4]])
    with pytest.raises(TypeError, match="^\\+=: the result's dtype"):
        t += 0.5


def test_integer_results_stay_in_an_integer_tensor():
    t = mg.tensor([[-1, 2], [3, -4]])
    t.abs_().pow_(2).neg_().tril_().cumsum_(0)
    np.testing.assert_array_equal(t.numpy(), np.cumsum(np.tril(-np.array([[1, 4], [9, 16]])), 0))
    assert t.dtype == np.int64
    flags = mg.tensor([1.0, 5.0, 3.0])
    flags.gt_(2.0)
    np.testing.assert_array_equal(flags.numpy(), [0.0, 1.0, 1.0])
    assert flags.dtype == np.float32


def test_an_in_place_method_on_a_part_writes_into_the_whole():
    m = mg.tensor(np.array([[0.0, 1.0], [2.0, 3.0]]))
    m[1].exp_()
    np.testing.assert_allclose(m.numpy(), [[0.0, 1.0], np.exp([2.0, 3.0])], rtol=1e-15)


def test_swapaxes_and_swapdims_in_place_change_the_shape_of_the_same_tensor():
    x = RNG.standard_normal((2, 3, 4))
    t = mg.tensor(x)
    assert t.swapaxes_(0, 2) is t and t.shape == (4, 3, 2)
    np.testing.assert_array_equal(t.numpy(), np.swapaxes(x, 0, 2))
    t.swapdims_(1, 2)
    np.testing.assert_array_equal(t.numpy(), np.swapaxes(np.swapaxes(x, 0, 2), 1, 2))
    w = mg.tensor(x, requires_grad=True)
    with pytest.raises(RuntimeError, match="swapaxes_: cannot change the shape of a leaf that requires grad"):
        w.swapaxes_(0, 1)
    a = mg.tensor(x, requires_grad=True)
    h = a * 1
    h.swapdims_(0, 1)
    weights = RNG.standard_normal((3, 2, 4))
    (h * mg.tensor(weights)).sum().backward()
    np.testing.assert_allclose(a.grad, np.swapaxes(weights, 0, 1), rtol=1e-15)


def test_neg_and_negative_are_methods_as_pytorch_s():
    t = mg.tensor([1.0, -2.0])
    np.testing.assert_array_equal(t.neg().numpy(), [-1.0, 2.0])
    np.testing.assert_array_equal(t.negative().numpy(), [-1.0, 2.0])


def test_every_in_place_method_of_the_table_is_on_tensor():
    from microgradseq.ops.in_place import IN_PLACE
    missing = [name + "_" for name in IN_PLACE if not callable(getattr(mg.Tensor, name + "_", None))]
    assert not missing and set(IN_PLACE) == set(CASES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mg.Tensor.exp_.__name__ == "exp_"
