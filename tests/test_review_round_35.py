"""Review round 35: recording state under concurrency (the contract: recording state is per thread).

Grad mode, time-step stamps, module scopes, anomaly detection and forward-mode runs are per thread, as
PyTorch's: its grad mode lives in `thread_local AutogradState autograd_state_tls` (pytorch/pytorch,
c10/core/AutogradState.cpp, commit a18d1f3b1437d5edb3ee088dd290804ae84967bd), which starts each new thread
with grad mode on; its dual levels are per thread too. The random generator is process-wide, as PyTorch's
default generator. Every interleaving is forced with Events and Barriers; every value is compared with a
closed form, hand-written numpy or central differences (and with the same work done alone).
"""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.autograd.forward_ad as fwAD
from microgradseq import autograd
from microgradseq.metadata import in_scope


def in_thread(target, *args):
    """Start target(*args) in a thread; returns the thread and a list that collects its error."""
    errors = []

    def wrapped():
        try:
            target(*args)
        except BaseException as error:      # reported in the main thread
            errors.append(error)

    thread = threading.Thread(target=wrapped)
    thread.start()
    return thread, errors


def joined(*pairs):
    for thread, errors in pairs:
        thread.join(30)
        assert not thread.is_alive()
        assert not errors, errors


# ---- a thread started inside no_grad starts recording (PyTorch: a new thread's grad mode is on) ----

def test_a_thread_started_inside_no_grad_records_and_the_block_still_holds_here():
    seen = {}

    def worker():
        w = mg.tensor([1.0, -2.0], requires_grad=True, dtype=np.float64)
        (w * w * 3.0).sum().backward()
        seen["enabled"], seen["grad"] = mg.is_grad_enabled(), w.grad.copy()

    with mg.no_grad():
        joined(in_thread(worker))
        assert not mg.is_grad_enabled()
    assert seen["enabled"]
    np.testing.assert_allclose(seen["grad"], [6.0, -12.0])       # d(3 w^2)/dw = 6 w


# ---- one in_scope object entered in two threads, left in the other order (fixed here) ----------

def test_one_scope_object_entered_in_two_threads_stamps_and_puts_back_each_threads_own_path():
    """A entered the shared scope first, B second; A leaves first. Before: B's token was popped by A
    (`ValueError: ... was created in a different Context`) in both threads."""
    shared = in_scope("enc")
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with in_scope("model"):
            with shared:
                a_in.set()
                assert b_in.wait(10)
                w = mg.tensor([1.0], requires_grad=True)
                seen["a node"] = (w * 2.0)._node.scope
            seen["a after"] = autograd.current_scope.get()
        a_out.set()

    def b():
        assert a_in.wait(10)
        with shared:
            b_in.set()
            assert a_out.wait(10)
            w = mg.tensor([1.0], requires_grad=True)
            seen["b node"] = (w * 2.0)._node.scope
        seen["b after"] = autograd.current_scope.get()

    joined(in_thread(a), in_thread(b))
    assert seen == {"a node": "model.enc", "a after": "model", "b node": "enc", "b after": ""}


def test_one_scope_object_entered_again_inside_itself_nests_and_unwinds():
    shared = in_scope("cell")
    with shared:
        with shared:
            assert autograd.current_scope.get() == "cell.cell"
        assert autograd.current_scope.get() == "cell"
    assert autograd.current_scope.get() == ""


# ---- TBPTT in one thread while another switches every recording state around each step --------

W0 = np.array([[0.3, -0.2, 0.1], [0.05, 0.4, -0.3], [-0.1, 0.2, 0.25]])
U0 = np.array([[0.5, -0.4, 0.2], [0.1, 0.3, -0.6]])
XS = np.linspace(-1.0, 1.0, 12).reshape(6, 1, 2)
YS = np.cos(np.arange(18.0)).reshape(6, 1, 3) * 0.5


def train(k1, k2, between=None):
    """tbptt over the 6 steps of a tanh RNN; `between(t)` runs before and after each step. Returns each
    update's (W.grad, U.grad) and each new state's (step stamp, scope, grad mode, anomaly mode)."""
    W = mg.tensor(W0, requires_grad=True, dtype=np.float64)
    U = mg.tensor(U0, requires_grad=True, dtype=np.float64)
    grads, seen = [], []

    def step(x, h):
        if between:
            between()
        h = (mg.tensor(x, dtype=np.float64) @ U + h @ W).tanh()
        seen.append((h._node.step, h._node.scope, mg.is_grad_enabled(), mg.autograd.is_anomaly_enabled()))
        if between:
            between()
        return h, h

    def on_backward(u, loss):
        grads.append((u, W.grad.copy(), U.grad.copy()))
        W.grad = U.grad = None

    mg.bptt.tbptt(step, mg.zeros((1, 3), dtype=np.float64), list(XS), [mg.tensor(y, dtype=np.float64) for y in YS],
                  lambda o, y: ((o - y) ** 2).sum(), k1, k2, on_backward=on_backward)
    return grads, seen


def full_loss(W, U):
    h, total = np.zeros((1, 3)), 0.0
    for x, y in zip(XS, YS):
        h = np.tanh(x @ U + h @ W)
        total += ((h - y) ** 2).sum()
    return total


def central(f, a, eps=1e-6):
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        up, down = a.copy(), a.copy()
        up[i] += eps
        down[i] -= eps
        g[i] = (f(up) - f(down)) / (2 * eps)
    return g


@pytest.mark.parametrize("k1, k2", [(6, 6), (3, 2), (2, 3)])
def test_tbptt_in_one_thread_while_another_evaluates_under_each_switch_gets_its_gradients_alone(k1, k2):
    """Between the two barriers of each step the other thread is inside no_grad, inference_mode,
    enable_grad, set_grad_enabled(False), detect_anomaly (making a NaN) or a step stamp and a scope."""
    alone = train(k1, k2)
    barrier = threading.Barrier(2, timeout=10)

    def evaluator():
        v = mg.tensor(W0, requires_grad=True, dtype=np.float64)
        blocks = [mg.no_grad, mg.inference_mode, mg.enable_grad, lambda: mg.set_grad_enabled(False),
                  mg.detect_anomaly, lambda: mg.viz.step(99), lambda: in_scope("evaluator")]
        for i in range(6):
            block = blocks[i % len(blocks)]()
            block.__enter__()
            if i % len(blocks) != 4:
                (v * float("nan")).sum()
            barrier.wait()          # the trainer's step runs now
            barrier.wait()
            block.__exit__(None, None, None)

    thread = in_thread(evaluator)
    together = train(k1, k2, between=barrier.wait)
    joined(thread)
    assert together[1] == alone[1] == [(t, "", True, False) for t in range(1, 7)]
    assert [u for u, *_ in together[0]] == [u for u, *_ in alone[0]]
    for (_, w, u), (_, w_alone, u_alone) in zip(together[0], alone[0]):
        np.testing.assert_array_equal(w, w_alone)
        np.testing.assert_array_equal(u, u_alone)
    if k1 == k2 == 6:               # one update over the whole sequence: full BPTT
        (_, w, u), = together[0]
        np.testing.assert_allclose(w, central(lambda a: full_loss(a, U0), W0), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(u, central(lambda a: full_loss(W0, a), U0), rtol=1e-6, atol=1e-8)


def test_a_nan_in_one_thread_while_another_is_inside_detect_anomaly_raises_only_there():
    barrier = threading.Barrier(2, timeout=10)
    seen = {}

    def detecting():
        with mg.detect_anomaly():
            barrier.wait()
            barrier.wait()
            w = mg.tensor([1.0], requires_grad=True, dtype=np.float64)
            with pytest.raises(mg.anomaly.AnomalyError, match="log"), np.errstate(divide="ignore"):
                mg.log(w - 1.0)
            seen["detecting"] = True

    thread = in_thread(detecting)
    barrier.wait()
    w = mg.tensor([0.0, 1.0], requires_grad=True, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = (w / w).sum()               # NaN forward and backward, no error in this thread
        y.backward()
    barrier.wait()
    joined(thread)
    assert seen["detecting"] and np.isnan(y.item()) and np.isnan(w.grad[0]) and w.grad[1] == 0.0


# ---- two forward-mode runs interleaved op by op -------------------------------------------------

X0, V0 = np.array([0.3, 1.2, -0.7]), np.array([1.0, -2.0, 0.5])
X1, V1 = np.array([2.0, -0.5, 0.1]), np.array([0.5, 0.25, -1.0])


def tangent_of_x_sin_x(x, v):
    return (np.sin(x) + x * np.cos(x)) * v


@pytest.mark.parametrize("kinds", [("dual", "dual"), ("jvp", "jvp"), ("dual", "jvp")])
def test_two_forward_mode_runs_interleaved_op_by_op_get_their_own_tangents(kinds):
    barrier = threading.Barrier(2, timeout=10)
    out = {}

    def f(x):
        barrier.wait()
        y = x.sin()
        barrier.wait()
        z = y * x
        barrier.wait()
        return z

    def dual(name, x0, v0):
        with fwAD.dual_level():
            x = fwAD.make_dual(mg.tensor(x0, dtype=np.float64), mg.tensor(v0, dtype=np.float64))
            out[name] = fwAD.unpack_dual(f(x)).tangent.numpy().copy()
        out[name + " level after"] = fwAD._open_level("probe", None)

    def jvp(name, x0, v0):
        _, t = mg.func.jvp(f, (mg.tensor(x0, dtype=np.float64),), (mg.tensor(v0, dtype=np.float64),))
        out[name] = np.array(t.numpy())

    run = {"dual": dual, "jvp": jvp}
    joined(in_thread(run[kinds[0]], "a", X0, V0), in_thread(run[kinds[1]], "b", X1, V1))
    np.testing.assert_allclose(out["a"], tangent_of_x_sin_x(X0, V0), rtol=1e-12)
    np.testing.assert_allclose(out["b"], tangent_of_x_sin_x(X1, V1), rtol=1e-12)
    assert all(level is None for key, level in out.items() if key.endswith("level after"))


def test_a_dual_level_open_in_another_thread_is_not_this_threads():
    opened, done = threading.Event(), threading.Event()

    def holding():
        with fwAD.dual_level():
            opened.set()
            assert done.wait(10)

    thread = in_thread(holding)
    assert opened.wait(10)
    with pytest.raises(RuntimeError, match="make_dual: no dual level is open"):
        fwAD.make_dual(mg.tensor([1.0]), mg.tensor([1.0]))
    with fwAD.dual_level():             # not nested: the other thread's level is its own
        x = fwAD.make_dual(mg.tensor([0.5], dtype=np.float64), mg.tensor([2.0], dtype=np.float64))
        np.testing.assert_allclose(fwAD.unpack_dual(x.exp()).tangent.numpy(), [2.0 * np.exp(0.5)])
    done.set()
    joined(thread)


# ---- a deep graph inside a worker thread with a small stack -------------------------------------

@pytest.mark.parametrize("backward", [True, False])
def test_a_100000_step_graph_in_a_thread_with_a_256_kib_stack_backpropagates_and_is_dropped(backward):
    """y = x * 1.00001^100000: dy/dx = 1.00001^100000 (about e). Dropped without backward too."""
    seen = {}

    def deep():
        x = mg.tensor([0.5], requires_grad=True, dtype=np.float64)
        y = x
        for _ in range(100_000):
            y = y * 1.00001
        if backward:
            y.sum().backward()
            seen["grad"] = x.grad.copy()
        del y
        seen["done"] = True

    previous = threading.stack_size(256 * 1024)
    try:
        pair = in_thread(deep)
    finally:
        threading.stack_size(previous)
    joined(pair)
    assert seen["done"]
    if backward:
        np.testing.assert_allclose(seen["grad"], [1.00001 ** 100_000], rtol=1e-9)


# ---- a decorated generator resumed in another thread ---------------------------------------------

def test_a_no_grad_generator_resumed_in_another_thread_holds_in_each_step_only():
    @mg.no_grad()
    def steps():
        w = mg.tensor([2.0], requires_grad=True)
        for _ in range(2):
            yield (w * 3.0).requires_grad, mg.is_grad_enabled()

    generator = steps()
    first = next(generator)
    seen = {}

    def resume():
        seen["second"], seen["between"] = next(generator), mg.is_grad_enabled()
        seen["end"] = next(generator, "end")

    joined(in_thread(resume))
    assert first == (False, False) and mg.is_grad_enabled()
    assert seen == {"second": (False, False), "between": True, "end": "end"}


# ---- asyncio tasks and thread pools ----------------------------------------------------------------

def test_asyncio_tasks_interleaved_each_keep_their_own_no_grad_step_and_anomaly_mode():
    async def task(off, inside, go):
        w = mg.tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
        if off:
            with mg.no_grad(), mg.viz.step(4), mg.detect_anomaly():
                inside.set()
                await go.wait()
                y = w * 5.0
                return y.requires_grad, autograd.current_step.get(), mg.autograd.is_anomaly_enabled()
        await inside.wait()
        y = (w * 5.0).sum()
        go.set()
        y.backward()
        return y._node.step, mg.autograd.is_anomaly_enabled(), w.grad.tolist()

    async def main():
        inside, go = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(task(True, inside, go), task(False, inside, go))

    assert asyncio.run(main()) == [(False, 4, True), (None, False, [5.0, 5.0])]


def test_a_reused_pool_worker_keeps_nothing_from_a_block_that_raised():
    def raising():
        with mg.no_grad(), mg.detect_anomaly(), mg.viz.step(5), in_scope("x"), fwAD.dual_level():
            raise KeyError("inside")

    def state():
        return (mg.is_grad_enabled(), mg.autograd.is_anomaly_enabled(), autograd.current_step.get(),
                autograd.current_scope.get(), fwAD._open_level("probe", None))

    with ThreadPoolExecutor(max_workers=1) as pool:
        for _ in range(3):
            assert isinstance(pool.submit(raising).exception(10), KeyError)
            assert pool.submit(state).result(10) == (True, False, None, "", None)


# ---- the random state is process-wide, as PyTorch's default generator ------------------------------

def test_manual_seed_in_one_thread_sets_the_draws_of_another_in_the_order_they_draw():
    a_drew = threading.Event()
    seen = {}

    def a():
        seen["a"] = mg.randn(3, dtype=np.float64).numpy().copy()
        a_drew.set()

    def b():
        assert a_drew.wait(10)
        seen["b"] = mg.randn(2, dtype=np.float64).numpy().copy()
        seen["seed"] = mg.initial_seed()

    mg.manual_seed(1234)
    joined(in_thread(a), in_thread(b))
    expected = np.random.default_rng(1234).standard_normal(5)
    np.testing.assert_array_equal(np.concatenate([seen["a"], seen["b"]]), expected)
    assert seen["seed"] == 1234


# ---- a time_steps loop moved to another thread; asyncio.to_thread carries the caller's context -----

def test_a_time_steps_loop_ended_in_another_thread_is_a_clear_error_and_stamps_there_meanwhile():
    """Before: `ValueError: <Token ...> was created in a different Context` from the loop's end."""
    from microgradseq.metadata import time_steps
    loop = time_steps(3)
    assert next(loop) == 1 and autograd.current_step.get() == 1
    seen = {}

    def resume():
        seen["t"], seen["stamp"] = next(loop), (mg.tensor([1.0], requires_grad=True) * 2.0)._node.step
        with pytest.raises(RuntimeError, match="time_steps: the loop ended in another thread"):
            list(loop)

    joined(in_thread(resume))
    assert seen == {"t": 2, "stamp": 2}
    autograd.current_step.set(None)


def test_asyncio_to_thread_inside_no_grad_runs_the_function_without_recording():
    """A documented difference (docs/pytorch.md): the state is a context variable, and asyncio.to_thread
    copies the caller's context into the worker; PyTorch's thread-local grad mode is the worker's own."""
    def work():
        w = mg.tensor([1.0], requires_grad=True)
        return (w * 2.0).requires_grad

    async def main():
        with mg.no_grad():
            inside = await asyncio.to_thread(work)
        return inside, await asyncio.to_thread(work)

    assert asyncio.run(main()) == (False, True)
