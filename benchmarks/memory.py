"""Table 3: memory of full BPTT against the hand-written version, and TBPTT's time and peak memory.

Memory is measured with tracemalloc, which sees numpy's array buffers as well
as Python objects (nodes, closures): "kept" is what is still allocated when the
forward pass has returned (the graph, or the hand-written version's saved
arrays), "peak" the most allocated at any moment of a whole training step.
"""

from __future__ import annotations

import time

import numpy as np

import microgradseq as mg
from char_models import REFERENCE, STEPS, VOCAB, data, engine_trainer, make_model, reference_step
from microgradseq.functional import cross_entropy
from timing import Timing, table, traced_bytes


def _kib(n: float) -> str:
    return f"{n / 1024:.1f}"


def _engine_bytes(model, inputs, targets) -> tuple[int, int]:
    """(kept after the forward pass, peak of a whole training step: forward, backward, SGD) of an engine
    model, after one step run unmeasured: what the library allocates once (caches, the optimizer's
    lists) is not a step's memory, and the hand-written step has no such allocations."""
    step = engine_trainer(model, inputs, targets, lr=0.0)
    step()
    kept, _, loss = traced_bytes(lambda: model(inputs, targets))
    loss.backward()
    del loss
    model.zero_grad()
    _, peak, _ = traced_bytes(step)
    return kept, peak


def full_bptt(kinds, hidden: int, batch: int, dtype) -> str:
    """Bytes per step kept for the backward pass, and the step's peak: hand-written, the op-level
    graph and the fused path."""
    rows = []
    inputs, targets = data(batch, dtype)
    for kind in kinds:
        model, params = make_model(kind, hidden, dtype)
        fused_model, _ = make_model(kind, hidden, dtype, fused=True)
        forward, _ = REFERENCE[kind]
        engine_kept, engine_peak = _engine_bytes(model, inputs, targets)
        fused_kept, fused_peak = _engine_bytes(fused_model, inputs, targets)
        numpy_kept, _, cache = traced_bytes(lambda: forward(params, inputs, targets))
        del cache
        _, numpy_peak, _ = traced_bytes(lambda: reference_step(kind, dict(params), inputs, targets, 0.0))
        rows.append([kind.upper(), _kib(numpy_kept / STEPS),
                     _kib(engine_kept / STEPS), f"{engine_kept / numpy_kept:.2f}x",
                     _kib(fused_kept / STEPS), f"{fused_kept / numpy_kept:.2f}x", "≤ 1.5x",
                     _kib(numpy_peak / STEPS), _kib(engine_peak / STEPS), f"{engine_peak / numpy_peak:.2f}x",
                     _kib(fused_peak / STEPS), f"{fused_peak / numpy_peak:.2f}x"])
    header = ["model", "hand-written kept KiB/step", "op-level kept KiB/step", "ratio",
              "fused kept KiB/step", "ratio", "goal",
              "hand-written peak KiB/step", "op-level peak KiB/step", "ratio", "fused peak KiB/step", "ratio"]
    return (f"Full BPTT, T = {STEPS}, H = {hidden}, B = {batch}, {np.dtype(dtype).name}\n\n"
            + table(header, rows))


class OneHot:
    """A character sequence as one-hot (B, 65) rows, made on demand (20,000 steps would not fit otherwise)."""

    def __init__(self, codes: np.ndarray, dtype) -> None:
        self.codes, self.eye = codes, np.eye(VOCAB, dtype=dtype)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, t: int) -> np.ndarray:
        return self.eye[self.codes[t]]


def _sequence(n: int, batch: int, dtype) -> tuple[OneHot, list]:
    codes = np.random.default_rng(0).integers(0, VOCAB, (n + 1, batch))
    return OneHot(codes[:-1], dtype), list(codes[1:])


def _tbptt_run(kind: str, hidden: int, batch: int, dtype, sequence: tuple, k1: int, k2: int, clock: bool):
    """One TBPTT(k1, k2) pass with SGD; per-step seconds of every update when `clock`.
    The data is made outside, so that measured memory is the run's, not the data's."""
    inputs, targets = sequence
    mg.manual_seed(0)
    cell = {"rnn": mg.nn.RNNCell, "lstm": mg.nn.LSTMCell, "gru": mg.nn.GRUCell}[kind](VOCAB, hidden, dtype=dtype)
    readout = mg.nn.Linear(hidden, VOCAB, dtype=dtype)
    optimizer = mg.optim.SGD(list(cell.parameters()) + list(readout.parameters()), lr=1e-3)

    def step(x, state):
        state = cell(x, state)
        return readout(state[0] if isinstance(state, tuple) else state), state

    per_step, last = [], [time.perf_counter(), 0]

    def on_update(u, loss):
        now = time.perf_counter()
        per_step.append((now - last[0]) / (u - last[1]))
        last[0], last[1] = now, u

    mg.bptt.tbptt(step, None, inputs, targets, lambda out, target: cross_entropy(out, target, reduction="sum"),
                  k1, k2, optimizer=optimizer, on_update=on_update if clock else None)
    return per_step


def tbptt(kind: str, hidden: int, batch: int, dtype, lengths, windows) -> str:
    """Time per step (median over updates) and the peak memory of whole runs, for each n and (k1, k2)."""
    rows = []
    for k1, k2 in windows:
        for n in lengths:
            sequence = _sequence(n, batch, dtype)
            per_step = _tbptt_run(kind, hidden, batch, dtype, sequence, k1, k2, clock=True)
            timing = Timing(float(np.median(per_step)), min(per_step), max(per_step))
            _, peak, _ = traced_bytes(lambda: _tbptt_run(kind, hidden, batch, dtype, sequence, k1, k2, clock=False))
            rows.append([f"TBPTT({k1}, {k2})", f"{n:,}", timing.ms(), f"{peak / 2**20:.2f}"])
    header = ["schedule", "n", "ms/step", "peak MiB"]
    return (f"TBPTT, {kind.upper()} cell + readout, H = {hidden}, B = {batch}, {np.dtype(dtype).name}, SGD; "
            "ms/step: median (min–max) over updates\n\n" + table(header, rows))
