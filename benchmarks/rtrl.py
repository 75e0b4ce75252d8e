"""BPTT, TBPTT(k, k), RTRL and UORO on one task: time per step as H grows, peak memory as H and n grow.

The task: a tanh RNN cell (1 input, H hidden) with a linear readout to two
logits and a cross-entropy loss at every step, a batch of 4 sequences, float64.
Each method computes the gradient of one sequence of n steps (no optimizer):

- BPTT: `tbptt(k1=n, k2=n)`, one backward pass over the whole tape;
- TBPTT(10, 10): an update every 10 steps, each through its own 10 steps;
- RTRL: `rtrl(k1=n)`, the same gradient as BPTT, with P_t = dh_t/dtheta carried forward;
- UORO: `uoro(k1=n)`, an unbiased rank-one estimate of it.

Before timing, BPTT's and RTRL's gradients are checked against a hand-written
numpy BPTT (`numpy_bptt`, float64, 1e-8). Times are medians of interleaved runs
(benchmarks/timing.py); memory is the peak traced by tracemalloc while one run
goes (numpy's buffers included), after one unmeasured run. The ratios are to
BPTT of the same run (the library's, checked against the hand-written one).
Run it with OPENBLAS_NUM_THREADS=1 on a shared machine:

    OPENBLAS_NUM_THREADS=1 python benchmarks/rtrl.py [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np

import microgradseq as mg
from microgradseq.functional import cross_entropy
from timing import interleaved, table, traced_bytes

BATCH, WINDOW = 4, 10


def task(hidden: int, steps: int, seed: int = 0):
    """(step, inputs, targets, params) for a fresh model and data."""
    rng = np.random.default_rng(seed)
    cell = mg.nn.RNNCell(1, hidden, rng=rng, dtype=np.float64)
    readout = mg.nn.Linear(hidden, 2, rng=rng, dtype=np.float64)
    inputs = rng.standard_normal((steps, BATCH, 1))
    targets = list(rng.integers(0, 2, (steps, BATCH)))

    def step(x, h):
        h = cell(x, h)
        return readout(h), h

    return step, inputs, targets, list(cell.parameters()) + list(readout.parameters())


def runners(hidden: int, steps: int) -> dict:
    """One zero-argument function per method, each computing one sequence's gradient."""
    return methods(*task(hidden, steps))


def methods(step, inputs: np.ndarray, targets: list, params: list) -> dict:
    """`runners` for a given task: each function clears the parameters' .grad and leaves the gradient there."""
    steps = len(inputs)

    def clear():
        for p in params:
            p.grad = None


    return {
        "BPTT": lambda: (clear(), mg.bptt.tbptt(step, None, inputs, targets, cross_entropy, steps, steps)),
        f"TBPTT({WINDOW}, {WINDOW})": lambda: (clear(), mg.bptt.tbptt(step, None, inputs, targets, cross_entropy,
                                                                      WINDOW, WINDOW)),
        "RTRL": lambda: (clear(), mg.bptt.rtrl(step, None, inputs, targets, cross_entropy, params, k1=steps)),
        "UORO": lambda: (clear(), mg.bptt.uoro(step, None, inputs, targets, cross_entropy, params, k1=steps,
                                               rng=0)),
    }


def numpy_bptt(params: list[np.ndarray], inputs: np.ndarray, targets: list) -> list[np.ndarray]:
    """The task's gradient by hand: L = sum over steps of the batch-mean cross-entropy, backpropagated
    through the whole sequence; params in the order of `task`'s (W_ih, W_hh, b_ih, b_hh, W_out, b_out)."""
    w_ih, w_hh, b_ih, b_hh, w_out, b_out = params
    hs = [np.zeros((inputs.shape[1], w_hh.shape[0]))]
    for x in inputs:
        hs.append(np.tanh(x @ w_ih.T + b_ih + hs[-1] @ w_hh.T + b_hh))
    grads = [np.zeros_like(p) for p in params]
    dh_next, rows = np.zeros_like(hs[0]), np.arange(inputs.shape[1])
    for t in range(len(inputs) - 1, -1, -1):
        logits = hs[t + 1] @ w_out.T + b_out
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[rows, targets[t]] -= 1
        p /= len(rows)
        grads[4] += p.T @ hs[t + 1]
        grads[5] += p.sum(axis=0)
        da = (p @ w_out + dh_next) * (1 - hs[t + 1] ** 2)
        grads[0] += da.T @ inputs[t]
        grads[1] += da.T @ hs[t]
        grads[2] += da.sum(axis=0)
        dh_next = da @ w_hh
    grads[3] = grads[2].copy()
    return grads


def check(hidden: int = 8, steps: int = 12) -> float:
    """Worst relative difference between each method's gradient and the hand-written BPTT's (`numpy_bptt`),
    float64; raises above 1e-8 (BPTT, RTRL), or when UORO's estimate is not finite. Run before timing."""
    step, inputs, targets, params = task(hidden, steps)
    expected = numpy_bptt([p.detach().numpy() for p in params], inputs, targets)
    worst = 0.0
    for name, run in methods(step, inputs, targets, params).items():
        run()
        if name in ("BPTT", "RTRL"):
            worst = max(worst, max(float(np.abs(p.grad - e).max() / np.abs(e).max())
                                   for p, e in zip(params, expected)))
        elif not all(np.isfinite(p.grad).all() for p in params):
            raise AssertionError(f"rtrl benchmark: {name}'s gradient is not finite")
    if worst > 1e-8:
        raise AssertionError(f"rtrl benchmark: BPTT or RTRL differs from the hand-written BPTT ({worst:.1e})")
    return worst


def size_of_theta(hidden: int) -> int:
    return hidden + hidden * hidden + 2 * hidden + 2 * hidden + 2


def time_table(sizes: list[tuple[int, int]]) -> str:
    """Time per step for each (H, n)."""
    rows = []
    for hidden, steps in sizes:
        timings = interleaved(runners(hidden, steps), repeats=3, min_seconds=2.0, max_repeats=20)
        per_step = {name: t.median / steps for name, t in timings.items()}
        bptt = per_step["BPTT"]
        rows.append([str(hidden), str(size_of_theta(hidden)), str(steps)]
                    + [f"{seconds * 1e3:.3f}" for seconds in per_step.values()]
                    + [f"{per_step['RTRL'] / bptt:.1f}x", f"{per_step['UORO'] / bptt:.1f}x"])
    header = ["H", "|θ|", "n"] + [f"{name} ms/step" for name in runners(4, 2)] + ["RTRL / BPTT", "UORO / BPTT"]
    return table(header, rows)


def memory_table(sizes: list[int], lengths: list[int]) -> str:
    rows = []
    for hidden in sizes:
        for steps in lengths:
            peaks = {}
            for name, run in runners(hidden, steps).items():
                run()                                           # warm: one-time allocations are not the run's
                peaks[name] = traced_bytes(run)[1]
            rows.append([str(hidden), str(steps)] + [f"{peak / 1024:.0f}" for peak in peaks.values()])
    header = ["H", "n"] + [f"{name} peak KiB" for name in runners(4, 2)]
    return table(header, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a few seconds")
    config = parser.parse_args(argv)
    print(f"BPTT and RTRL agree with a hand-written numpy BPTT (float64, worst relative difference "
          f"{check():.1e})\n")
    if config.quick:
        timed, sizes, lengths = [(8, 20), (16, 20)], [8, 16], [50, 200]
    else:       # H = 128: RTRL takes about half a second a step, so fewer steps
        timed, sizes, lengths = [(8, 50), (16, 50), (32, 50), (64, 50), (128, 10)], [8, 16, 32, 64], [50, 400]
    print(f"Time per step over n steps, batch {BATCH}, tanh RNN (1 input) + readout to 2 logits, float64:")
    print(time_table(timed))
    print()
    print("Peak traced memory of one run (KiB):")
    print(memory_table(sizes, lengths))


if __name__ == "__main__":
    main()
