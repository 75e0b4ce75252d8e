"""Recording state is per thread: grad mode, time steps, scopes and anomaly detection set in one
thread change nothing another thread records. The interleavings are forced with events."""

import threading

import numpy as np
import pytest

import microgradseq as mg


def run_in_thread(target):
    errors = []

    def wrapped():
        try:
            target()
        except BaseException as error:      # reported in the main thread
            errors.append(error)

    thread = threading.Thread(target=wrapped)
    thread.start()
    return thread, errors


def test_no_grad_in_one_thread_does_not_stop_another_thread_recording():
    """Thread A sits inside no_grad() while thread B computes w * 5 + w * 2: B's gradient is 7."""
    inside, done = threading.Event(), threading.Event()

    def evaluating():
        with mg.no_grad():
            inside.set()
            assert done.wait(10)

    thread, errors = run_in_thread(evaluating)
    assert inside.wait(10)
    w = mg.tensor([1.0, 1.0, 1.0], requires_grad=True, dtype=np.float64)
    (w * 5 + w * 2).sum().backward()
    done.set()
    thread.join()
    assert not errors
    np.testing.assert_array_equal(w.grad, [7.0, 7.0, 7.0])


def test_one_grad_mode_object_entered_in_two_threads_puts_back_each_threads_own_mode():
    """A shared `enable_grad()` block: the main thread enters it recording, thread B from inside its own
    no_grad(); the main thread leaves first. Each gets back what it had: recording, and not recording."""
    shared = mg.enable_grad()
    b_inside, main_left, b_left = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def thread_b():
        with mg.no_grad():
            with shared:
                b_inside.set()
                assert main_left.wait(10)
            seen["b after"] = mg.is_grad_enabled()
            b_left.set()

    with shared:
        thread, errors = run_in_thread(thread_b)
        assert b_inside.wait(10)
    seen["main after"] = mg.is_grad_enabled()
    main_left.set()
    assert b_left.wait(10)
    thread.join()
    assert not errors
    assert seen == {"main after": True, "b after": False}


def test_a_step_and_scope_set_in_one_thread_are_not_stamped_by_another():
    inside, done = threading.Event(), threading.Event()

    def stamping():
        with mg.viz.step(5), mg.metadata.in_scope("other"):
            inside.set()
            assert done.wait(10)

    thread, errors = run_in_thread(stamping)
    assert inside.wait(10)
    w = mg.tensor([1.0], requires_grad=True)
    y = w * 2
    done.set()
    thread.join()
    assert not errors
    assert y.step is None and y._node.scope == ""


def test_detect_anomaly_in_one_thread_does_not_check_another():
    inside, done = threading.Event(), threading.Event()

    def detecting():
        with mg.detect_anomaly():
            inside.set()
            assert done.wait(10)

    thread, errors = run_in_thread(detecting)
    assert inside.wait(10)
    w = mg.tensor([0.0], requires_grad=True, dtype=np.float64)
    with np.errstate(divide="ignore"):
        y = w.log()                         # -inf, no error: this thread is not detecting
    done.set()
    thread.join()
    assert not errors and np.isneginf(y.data[0])


def test_two_threads_training_interleaved_get_the_gradients_each_gets_alone():
    """Two models, forward passes interleaved step by step (barriers), then backward in turn:
    each thread's gradients equal the ones it gets running alone."""
    def model_and_data(seed):
        rng = np.random.default_rng(seed)
        cell = mg.nn.RNNCell(3, 4, dtype=np.float64, rng=rng)
        return cell, rng.standard_normal((6, 2, 3))

    def train(seed, barrier=None, evaluate_under_no_grad=False):
        cell, xs = model_and_data(seed)
        h = None
        for x in xs:
            if barrier is not None:
                barrier.wait(10)
            if evaluate_under_no_grad:
                with mg.no_grad():
                    cell(x, h)
            h = cell(x, h)
        h.sum().backward()
        return {name: p.grad.copy() for name, p in cell.named_parameters()}

    alone = [train(0), train(1)]
    barrier = threading.Barrier(2)
    together = [None, None]

    def second():
        together[1] = train(1, barrier, evaluate_under_no_grad=True)

    thread, errors = run_in_thread(second)
    together[0] = train(0, barrier)
    thread.join()
    assert not errors
    for mine, reference in zip(together, alone):
        for name in reference:
            np.testing.assert_allclose(mine[name], reference[name], rtol=0, atol=0)


def test_reentering_the_same_step_object_restores_each_level():
    step = mg.viz.step(3)
    with step:
        with mg.viz.step(7):
            with step:
                assert (mg.tensor([1.0], requires_grad=True) * 2).step == 3
            assert (mg.tensor([1.0], requires_grad=True) * 2).step == 7
        assert (mg.tensor([1.0], requires_grad=True) * 2).step == 3
    assert (mg.tensor([1.0], requires_grad=True) * 2).step is None


def test_a_step_that_is_not_an_integer_is_refused():
    with pytest.raises(TypeError, match="step"):
        mg.viz.step("3")


def test_no_grad_in_one_asyncio_task_does_not_stop_another_task_recording():
    """The state lives in context variables, so asyncio tasks are kept apart as threads are: task A
    sits inside no_grad() across an await while task B records w * 5 + w * 2 (gradient 7, not 2)."""
    import asyncio

    w = mg.tensor([1.0, 1.0, 1.0], requires_grad=True, dtype=np.float64)

    async def main():
        inside, done = asyncio.Event(), asyncio.Event()

        async def evaluating():
            with mg.no_grad():
                inside.set()
                await done.wait()
                return (w * 3).requires_grad

        async def training():
            await inside.wait()
            loss = (w * 5 + w * 2).sum()
            done.set()
            return loss

        return await asyncio.gather(evaluating(), training())

    recorded_under_no_grad, loss = asyncio.run(main())
    loss.backward()
    assert recorded_under_no_grad is False
    np.testing.assert_array_equal(w.grad, [7.0, 7.0, 7.0])


def test_asyncio_tasks_leaving_their_steps_in_another_order_than_they_entered():
    """Two tasks in one thread interleave their at_step blocks (1 enters, 2 enters, 1 leaves, 2 leaves):
    each sees its own step inside, and the step outside is as it was."""
    import asyncio

    from microgradseq import autograd
    from microgradseq.metadata import at_step

    async def inside(t, delay):
        with at_step(t):
            await asyncio.sleep(delay)
            return autograd.current_step.get()

    async def both():
        return await asyncio.gather(inside(1, 0.01), inside(2, 0.03))

    assert asyncio.run(both()) == [1, 2]
    assert autograd.current_step.get() is None
