"""Reliability trial 29: fault injection into saving and loading, steps and state dicts that fail
midway, grad-mode objects shared by threads and asyncio tasks, memory over long sequences.

Each test names the part of the contract it holds: errors name the public function and come before
any state changes; load_state_dict and steps change all or nothing; saving never damages an existing
file; recording state is per thread (and per asyncio task); memory under truncation does not grow
with the sequence."""

import asyncio
import gc
import io
import json
import errno
import os
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import autograd, serialization
from microgradseq.metadata import at_step

F = mg.nn.functional
SCALER_STATE = {"scale": 8.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 5,
                "_growth_tracker": 1}


# ---- GradScaler.load_state_dict: checked first, all or nothing --------------------------------------

@pytest.mark.parametrize("name, value, text", [
    ("_growth_tracker", None, "_growth_tracker must be an integer"),       # the LAST entry read
    ("growth_factor", "x", "growth_factor must be a number"),
    ("growth_interval", 3.7, "growth_interval must be a positive integer"),
    ("growth_interval", 0, "growth_interval must be a positive integer"),
    ("growth_factor", 0.5, r"growth_factor must be > 1.0"),
    ("backoff_factor", 2.0, r"backoff_factor must be in \(0, 1\)"),
    ("scale", float("nan"), "scale must be a number"),
    ("scale", -4.0, "scale must be > 0"),
    ("_growth_tracker", 5, r"_growth_tracker must be an integer in \[0, growth_interval\)"),
])
def test_grad_scaler_load_state_dict_checks_every_entry_before_changing_any(name, value, text):
    scaler = mg.amp.GradScaler(init_scale=64.0, growth_interval=7)
    scaler.scale(mg.tensor([1.0]))                          # the scale is set: load_state_dict changes it too
    before = scaler.state_dict()
    with pytest.raises(ValueError, match=f"GradScaler.load_state_dict: {text}"):
        scaler.load_state_dict({**SCALER_STATE, name: value})
    assert scaler.state_dict() == before


def test_grad_scaler_state_dict_loads_after_a_round_trip_through_save():
    scaler = mg.amp.GradScaler(init_scale=16.0, growth_interval=3)
    buffer = io.BytesIO()
    mg.save({"scaler": {**SCALER_STATE, "scale": np.float32(8.0), "growth_interval": np.int64(5)}}, buffer)
    buffer.seek(0)
    scaler.load_state_dict(mg.load(buffer)["scaler"])      # numpy numbers come back as 0-d arrays
    assert scaler.state_dict() == SCALER_STATE


# ---- one grad-mode or step object shared by two asyncio tasks of one thread -----------------------

def _two_tasks_sharing(block, probe):
    """Task 1 enters `block`, task 2 enters the same object, task 1 leaves first: what each sees inside
    and after, and what the thread sees after both."""
    async def task(delay_in, delay_out):
        await asyncio.sleep(delay_in)
        with block:
            await asyncio.sleep(delay_out)
            inside = probe()
        return inside, probe()

    async def both():
        return await asyncio.gather(task(0, 0.01), task(0.005, 0.03))

    return asyncio.run(both()), probe()


@pytest.mark.parametrize("make, probe, inside, outside", [
    (mg.no_grad, mg.is_grad_enabled, False, True),
    (lambda: mg.inference_mode(), mg.is_grad_enabled, False, True),
    (lambda: at_step(3), autograd.current_step.get, 3, None),
    (lambda: mg.viz.step(4), autograd.current_step.get, 4, None),
])
def test_one_block_object_entered_by_two_asyncio_tasks_puts_back_each_tasks_own_state(make, probe, inside,
                                                                                     outside):
    seen, after = _two_tasks_sharing(make(), probe)         # (ValueError: token of another Context, before)
    assert seen == [(inside, outside), (inside, outside)] and after == outside


def test_enable_grad_shared_by_two_tasks_gives_each_back_its_own_no_grad():
    shared = mg.enable_grad()

    async def task(delay_in, delay_out):
        with mg.no_grad():
            await asyncio.sleep(delay_in)
            with shared:
                await asyncio.sleep(delay_out)
                inside = mg.is_grad_enabled()
            return inside, mg.is_grad_enabled()

    async def both():
        return await asyncio.gather(task(0, 0.01), task(0.005, 0.03))

    assert asyncio.run(both()) == [(True, False), (True, False)] and mg.is_grad_enabled()


def test_detect_anomaly_shared_by_two_tasks_gives_each_back_its_own_setting():
    """Task 1 enters the shared block from no detection, task 2 from inside detect_anomaly(check_nan=False);
    task 1 leaves first. Each gets back its own setting (they came back swapped, silently, before)."""
    from microgradseq.anomaly import is_anomaly_check_nan_enabled, is_anomaly_enabled

    shared = mg.detect_anomaly()

    def setting():
        return is_anomaly_enabled(), is_anomaly_check_nan_enabled()

    async def first():
        with shared:
            await asyncio.sleep(0.01)
        return setting()

    async def second():
        with mg.detect_anomaly(check_nan=False):
            await asyncio.sleep(0.005)
            with shared:
                await asyncio.sleep(0.03)
            return setting()

    async def both():
        return await asyncio.gather(first(), second())

    assert asyncio.run(both()) == [(False, True), (True, False)] and setting() == (False, True)


def test_leaving_a_block_never_entered_in_this_thread_is_a_clear_error():
    shared = mg.no_grad()
    errors = []

    def other():
        try:
            shared.__exit__(None, None, None)
        except RuntimeError as error:
            errors.append(str(error))

    with shared:
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled() and errors == ["no_grad: left a block that was not entered in this thread or task"]


# ---- load: a damaged directory that would hide members ----------------------------------------------

def test_load_refuses_an_archive_whose_directory_entry_swallows_the_next_one():
    """A flipped bit in a central-directory entry's comment length makes the entry's comment run over the
    next entry: zipfile then lists one member fewer, and load gave a state dict without 'bias'."""
    buffer = io.BytesIO()
    mg.save(mg.nn.Linear(3, 2).state_dict(), buffer)
    data = bytearray(buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        start = archive.start_dir                           # the first central-directory entry: weight's
    assert data[start:start + 4] == b"PK\x01\x02"
    data[start + 32] ^= 0x40                                # its comment length: 0 -> 64
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        assert [info.filename for info in archive.infolist()] == ["weight.npy"]       # bias hidden
    with pytest.raises(ValueError, match="load: .* carries a comment, which save never writes"):
        mg.load(io.BytesIO(bytes(data)))


# ---- save: every step of a save failing ----------------------------------------------------------------

def _saved_folder(tmp_path):
    path = tmp_path / "model.npz"
    mg.save(mg.nn.Linear(3, 2), path)
    return path, path.read_bytes()


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt(), MemoryError()])
@pytest.mark.parametrize("owner, name", [
    (os, "replace"), (os, "fsync"), (os, "chmod"), (np.lib.format, "write_array"),
    (zipfile.ZipFile, "close"), (os, "open"), (json, "dumps"),
])
def test_a_save_that_fails_at_any_step_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, owner, name,
                                                                              error):
    path, before = _saved_folder(tmp_path)

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(owner, name, failing)
    checkpoint = {"model": mg.nn.Linear(3, 2).state_dict(), "epoch": 3}
    with pytest.raises(type(error)):
        mg.save(checkpoint, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["model.npz"]


def test_a_save_whose_temporary_cannot_be_wrapped_closes_its_descriptor(tmp_path, monkeypatch):
    path, before = _saved_folder(tmp_path)
    made = []
    own_temporary = serialization._own_temporary

    def recording(target):
        temporary, descriptor = own_temporary(target)
        made.append(descriptor)
        return temporary, descriptor

    def failing_open(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(serialization, "_own_temporary", recording)
    monkeypatch.setattr(serialization, "open", failing_open, raising=False)
    with pytest.raises(MemoryError):
        mg.save(mg.nn.Linear(3, 2), path)
    monkeypatch.undo()
    with pytest.raises(OSError):
        os.fstat(made[0])                                   # closed (it stayed open, before)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["model.npz"]


def test_saving_into_a_read_only_folder_names_save_and_leaves_the_file(tmp_path, monkeypatch):
    """A folder nobody may write into (made so by refusing the temporary's creation, as the OS does for a
    read-only folder: a chmod would not stop root)."""
    path, before = _saved_folder(tmp_path)
    real_open = os.open

    def refused(file, flags, *args):
        if ".mgsave-" in str(file):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, flags, *args)
    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(PermissionError, match="save: could not write"):
        mg.save(mg.nn.Linear(3, 2), path)
    monkeypatch.undo()
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["model.npz"]


def test_saving_a_module_or_a_function_inside_a_tree_writes_nothing(tmp_path):
    path, before = _saved_folder(tmp_path)
    for tree, where in (({"model": mg.nn.Linear(2, 2)}, r"obj\['model'\]"), ({"f": lambda: 1}, r"obj\['f'\]")):
        with pytest.raises(TypeError, match=f"save: cannot store {where}"):
            mg.save(tree, path)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["model.npz"]


# ---- threads: a tensor hook that waits inside backward while another thread evaluates -------------

def _train_with_hooks(barrier=None):
    rng = np.random.default_rng(0)
    cell = mg.nn.RNNCell(2, 3, rng=rng, dtype=np.float64)
    xs, ys = rng.standard_normal((12, 1, 2)), [np.zeros((1, 3))] * 12
    grads, stamps = [], set()

    def step(x, h):
        if barrier is not None:
            barrier.wait(10)
        h = cell(x, h)
        stamps.add(h.step)
        if barrier is not None:                             # the other thread runs while backward waits here
            h.register_hook(lambda g: (barrier.wait(10), g)[1])
        return h, h

    def on_update(u, loss):
        grads.append({name: p.grad.copy() for name, p in cell.named_parameters()})

    result = mg.bptt.tbptt(step, None, xs, ys, F.mse_loss, 4, 6, on_update=on_update)
    return grads, result.losses, stamps


def test_training_with_hooks_interleaved_with_evaluation_in_another_thread_gets_its_own_gradients():
    alone = _train_with_hooks()
    barrier, stop, recorded, errors = threading.Barrier(2), threading.Event(), [], []
    shared = mg.no_grad()                                    # one object, entered by this thread each round

    def evaluating():
        w = mg.tensor([1.0], requires_grad=True)
        try:
            while not stop.is_set():
                with shared, mg.detect_anomaly(), mg.viz.step(99):
                    barrier.wait(10)
                    recorded.append((w * 2).requires_grad)
                barrier.wait(10)
        except threading.BrokenBarrierError:
            return
        except BaseException as error:      # reported in the main thread
            errors.append(error)

    thread = threading.Thread(target=evaluating)
    thread.start()
    try:
        together = _train_with_hooks(barrier)
    finally:
        stop.set()
        barrier.abort()
        thread.join()
    assert not errors and recorded and not any(recorded)
    assert together[1] == alone[1] and together[2] == alone[2] == set(range(1, 13))
    for mine, reference in zip(together[0], alone[0], strict=True):
        for name in reference:
            np.testing.assert_array_equal(mine[name], reference[name])


def test_a_thread_that_raises_inside_no_grad_leaves_the_other_threads_mode():
    shared, inside, errors = mg.no_grad(), threading.Event(), []

    def failing():
        try:
            with shared:
                inside.set()
                raise KeyError("boom")
        except KeyError as error:
            errors.append(error)

    with mg.no_grad():
        with mg.enable_grad():
            thread = threading.Thread(target=failing)
            thread.start()
            thread.join()
            assert inside.is_set() and errors and mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


# ---- memory: nothing on the side grows with the sequence --------------------------------------------

def test_tbptt_with_anomaly_checks_hooks_and_steps_does_not_grow_with_the_sequence():
    """Traced memory at the middle and at the end of 10,000 steps (200 updates) under detect_anomaly, a
    hook on every step's state and a leaf hook: the growth is the result's 100 more losses and update
    numbers (about 4 kB); 4 bytes kept per step would be 20 kB."""
    n = 10_000
    rng = np.random.default_rng(0)
    cell = mg.nn.RNNCell(2, 4, rng=rng, dtype=np.float64)
    xs, ys = rng.standard_normal((n, 1, 2)), [np.zeros((1, 4))] * n
    optimizer = mg.optim.SGD(cell.parameters(), lr=1e-3)
    handle = cell.weight_hh.register_hook(lambda g: g)

    def step(x, h):
        h = cell(x, h)
        h.register_hook(lambda g: g)
        return h, h

    traced = {}

    def on_update(u, loss):
        if u in (n // 2, n):
            gc.collect()
            traced[u] = tracemalloc.get_traced_memory()[0]

    gc.collect()
    tracemalloc.start()
    try:
        with mg.detect_anomaly(), mg.viz.step(1):
            mg.bptt.tbptt(step, None, xs, ys, F.mse_loss, 25, 25, optimizer=optimizer, on_update=on_update)
    finally:
        tracemalloc.stop()
        handle.remove()
    assert traced[n] - traced[n // 2] < 20_000, traced
