"""Table 2b, cells in a Python loop: the training step a student writes, against the hand-written one.

The model of table 2 (one-hot characters, vocab 65 -> cell -> Linear readout ->
cross-entropy summed over T = 100 steps, full BPTT, one SGD step), written as a
user writes it with cells:

    state, loss = None, 0
    for t in range(T):
        state = cell(x[t], state)
        loss = loss + cross_entropy(readout(h_t), y[t], reduction="sum")
    loss.backward()

once with op-level cells and once with `fused=True` cells, against the
hand-written numpy step of table 2 (`char_models.reference_step`: input
projection and readout hoisted, stacked weight products) and a numpy step
that, like the loop, runs the cell and the readout one step at a time. Before
timing, the loops' float64 loss and gradients are checked against the hand-written
ones (1e-8, relative) and the fused loop's against the op-level loop's (1e-10).
"""

from __future__ import annotations

import numpy as np

import microgradseq as mg
from char_models import (REFERENCE, REFERENCE_NAMES, VOCAB, data, engine_trainer, make_model, reference_step,
                         sigmoid)
from microgradseq.functional import cross_entropy

CELLS = {"rnn": mg.nn.RNNCell, "lstm": mg.nn.LSTMCell, "gru": mg.nn.GRUCell}
# (kind, hidden, batch) -> goal, the loop's time over the hand-written step's
GOALS = {("lstm", 32, 1): 3.0, ("rnn", 512, 1): 2.0, ("lstm", 128, 32): 1.3}
CELL_NAMES = {"rnn.weight_ih_l0": "cell.weight_ih", "rnn.weight_hh_l0": "cell.weight_hh",
              "rnn.bias_ih_l0": "cell.bias_ih", "rnn.bias_hh_l0": "cell.bias_hh",
              "readout.weight": "readout.weight", "readout.bias": "readout.bias"}


class CellLoop(mg.nn.Module):
    """A cell and a readout, unrolled by a Python loop; the same weights as `char_models.make_model`."""

    def __init__(self, kind: str, hidden: int, dtype, fused: bool = False) -> None:
        super().__init__()
        self.kind = kind
        self.cell = CELLS[kind](VOCAB, hidden, dtype=dtype, fused=fused)
        self.readout = mg.nn.Linear(hidden, VOCAB, dtype=dtype)
        layer_model, _ = make_model(kind, hidden, dtype)
        self.load_state_dict({CELL_NAMES[k]: v for k, v in layer_model.state_dict().items()})

    def forward(self, inputs: np.ndarray, targets: np.ndarray) -> mg.Tensor:
        state, loss = None, 0
        for t in range(len(inputs)):
            state = self.cell(inputs[t], state)
            h = state[0] if self.kind == "lstm" else state
            loss = loss + cross_entropy(self.readout(h), targets[t], reduction="sum")
        return loss


def per_step_reference(kind: str, params: dict, inputs: np.ndarray, targets: np.ndarray, lr: float) -> None:
    """The hand-written step without hoisting: cell, readout and their gradients one step at a time
    (what the loop does, in numpy). RNN and LSTM only: a GRU is refused rather than stepped as an RNN."""
    if kind not in ("rnn", "lstm"):
        raise ValueError(f"per_step_reference: kind 'rnn' or 'lstm' expected, got {kind!r}")
    w_ih, w_hh, w_out = params["weight_ih"], params["weight_hh"], params["weight_out"]
    bias, b_out = params["bias_ih"] + params["bias_hh"], params["bias_out"]
    steps, batch, _ = inputs.shape
    hidden = w_hh.shape[1]
    h, c = np.zeros((batch, hidden), w_hh.dtype), np.zeros((batch, hidden), w_hh.dtype)
    saved, rows = [], np.arange(batch)
    for t in range(steps):
        a = inputs[t] @ w_ih.T + h @ w_hh.T + bias
        if kind == "lstm":
            i, f, g, o = sigmoid(a[:, :hidden]), sigmoid(a[:, hidden:2 * hidden]), \
                np.tanh(a[:, 2 * hidden:3 * hidden]), sigmoid(a[:, 3 * hidden:])
            c_next = f * c + i * g
            h_next = o * np.tanh(c_next)
            saved.append((h, c, i, f, g, o, c_next))
            h, c = h_next, c_next
        else:
            h_next = np.tanh(a)
            saved.append((h, h_next))
            h = h_next
        logits = h @ w_out.T + b_out
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[rows, targets[t]] -= 1
        saved[-1] += (p,)
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    dh_next, dc_next = np.zeros((batch, hidden), w_hh.dtype), np.zeros((batch, hidden), w_hh.dtype)
    for t in range(steps - 1, -1, -1):
        if kind == "lstm":
            h_prev, c_prev, i, f, g, o, c_t, d_logits = saved[t]
            h_t = o * np.tanh(c_t)
        else:
            h_prev, h_t, d_logits = saved[t]
        grads["weight_out"] += d_logits.T @ h_t
        grads["bias_out"] += d_logits.sum(axis=0)
        dh = d_logits @ w_out + dh_next
        if kind == "lstm":
            tanh_c = np.tanh(c_t)
            dc = dc_next + dh * o * (1 - tanh_c * tanh_c)
            da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                                 dh * tanh_c * o * (1 - o)], axis=1)
            dc_next = dc * f
        else:
            da = dh * (1 - h_t * h_t)
        grads["weight_ih"] += da.T @ inputs[t]
        grads["weight_hh"] += da.T @ h_prev
        grads["bias_ih"] += da.sum(axis=0)
        dh_next = da @ w_hh
    grads["bias_hh"] = grads["bias_ih"]
    for name, grad in grads.items():
        params[name] = params[name] - lr * grad


def check(kind: str, hidden: int = 16, batch: int = 3) -> tuple[float, float]:
    """(worst relative difference op-level loop vs hand-written, loss and gradients; worst absolute difference
    fused vs op-level loop), float64; raises when the first is above 1e-8 or the second above 1e-10. The
    per-step numpy step (RNN, LSTM) is checked against the hand-written one too: its SGD update at lr = 1."""
    inputs, targets = data(batch, np.float64, steps=20)
    loop, fused = CellLoop(kind, hidden, np.float64), CellLoop(kind, hidden, np.float64, fused=True)
    value, fused_value = loop(inputs, targets), fused(inputs, targets)
    value.backward()
    fused_value.backward()
    _, params = make_model(kind, hidden, np.float64)
    expected_loss, _ = REFERENCE[kind][0](params, inputs, targets)
    reference = reference_step(kind, dict(params), inputs, targets, lr=0.0)
    inverse = {v: k for k, v in CELL_NAMES.items()}
    worst, worst_fused = abs(value.item() - expected_loss) / abs(expected_loss), abs(value.item() - fused_value.item())
    for (name, p), (_, q) in zip(loop.named_parameters(), fused.named_parameters()):
        expected = reference[REFERENCE_NAMES[inverse[name]]]
        worst = max(worst, float(np.abs(p.grad - expected).max() / np.abs(expected).max()))
        worst_fused = max(worst_fused, float(np.abs(p.grad - q.grad).max()))
    if worst > 1e-8 or worst_fused > 1e-10:
        raise AssertionError(f"{kind} cell loop: loss or gradients differ (hand-written {worst:.1e}, "
                             f"fused {worst_fused:.1e})")
    if kind in ("rnn", "lstm"):
        written = dict(params)
        per_step_reference(kind, written, inputs, targets, lr=1.0)
        step_worst = max(float(np.abs((params[k] - written[k]) - reference[k]).max() / np.abs(reference[k]).max())
                         for k in reference)
        if step_worst > 1e-8:
            raise AssertionError(f"{kind}: the per-step numpy step differs from the hand-written one "
                                 f"({step_worst:.1e})")
    return worst, worst_fused


def run(workloads, dtypes, repeats: int, min_seconds: float = 1.0) -> str:
    from timing import interleaved, ratio, table

    header = ["cell", "H, B", "dtype", "hand-written ms", "numpy per step ms", "ratio",
              "op-level loop ms", "ratio", "goal", "fused loop ms", "ratio", "fused / op-level", "goal"]
    rows = []
    for kind, hidden, batch in workloads:
        for dtype in dtypes:
            inputs, targets = data(batch, dtype)
            _, params = make_model(kind, hidden, dtype)
            step_params = dict(params)
            lr = 1e-4
            fns = {"numpy": lambda: reference_step(kind, params, inputs, targets, lr),
                   "per step": lambda: per_step_reference(kind, step_params, inputs, targets, lr),
                   "loop": engine_trainer(CellLoop(kind, hidden, dtype), inputs, targets, lr),
                   "fused": engine_trainer(CellLoop(kind, hidden, dtype, fused=True), inputs, targets, lr)}
            times = interleaved(fns, repeats, min_seconds=min_seconds)
            goal = GOALS.get((kind, hidden, batch))
            rows.append([f"{kind.upper()}Cell", f"{hidden}, {batch}", np.dtype(dtype).name, times["numpy"].ms(),
                         times["per step"].ms(), ratio(times["per step"], times["numpy"]),
                         times["loop"].ms(), ratio(times["loop"], times["numpy"]), f"≤ {goal}x" if goal else "",
                         times["fused"].ms(), ratio(times["fused"], times["numpy"]),
                         ratio(times["fused"], times["loop"]),
                         "≤ 0.6x" if (kind, hidden, batch) == ("lstm", 32, 1) else ""])
    return table(header, rows)


def main() -> None:
    """Table 2b on its own (`run.py --tables 2` runs it after table 2)."""
    import argparse

    from timing import keep_freed_memory
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="LSTMCell (32, 1) only, one repeat")
    parser.add_argument("--repeats", type=int, default=7,
                        help="timed repeats per row, at least (fast rows get about a second of them)")
    args = parser.parse_args()
    print(f"Allocator: {keep_freed_memory()} (as in benchmarks/run.py)")
    for kind in ("rnn", "lstm"):
        worst, fused = check(kind)
        print(f"{kind} cell loop: loss and gradients agree with hand-written numpy (float64, worst relative "
              f"difference {worst:.1e}), fused with op-level cells (worst difference {fused:.1e})")
    workloads = [("lstm", 32, 1)] if args.quick else list(GOALS)
    print(run(workloads, (np.float32, np.float64), 1 if args.quick else args.repeats, 0.0 if args.quick else 1.0))


if __name__ == "__main__":
    main()
