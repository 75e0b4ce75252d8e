"""Per-node overhead: forward + backward of a 1,000-op chain on 4x4 tensors.

The chain repeats h = tanh(h * w + x) (three ops: mul, add, tanh). The same
chain is written with plain numpy calls and a hand-written backward, and both
run in the same process on the same data. Prints microseconds per node and the
ratio (median of repeats, with min-max).

    python benchmarks/per_node.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import microgradseq as mg

NODES = 999
REPEATS = 30


def numpy_chain(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    h, saved = x, []
    for _ in range(NODES // 3):
        saved.append(h)
        h = np.tanh(h * w + x)
        saved.append(h)
    g, grad_w = np.ones_like(h), np.zeros_like(w)
    for i in range(NODES // 3 - 1, -1, -1):
        h_in, h_out = saved[2 * i], saved[2 * i + 1]
        g_pre = g * (1 - h_out * h_out)
        grad_w = grad_w + g_pre * h_in
        g = g_pre * w
    return grad_w


def engine_chain(w: mg.Tensor, x: mg.Tensor) -> np.ndarray:
    w.grad = None
    h = x
    for _ in range(NODES // 3):
        h = (h * w + x).tanh()
    h.backward(np.ones(h.shape))
    return w.grad


def timed(fn, *args) -> list[float]:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn(*args)
        times.append((time.perf_counter() - start) / NODES * 1e6)
    return times


def main() -> None:
    rng = np.random.default_rng(0)
    w_np, x_np = rng.standard_normal((4, 4)) * 0.5, rng.standard_normal((4, 4))
    w, x = mg.tensor(w_np.copy(), requires_grad=True), mg.tensor(x_np.copy())
    assert np.allclose(engine_chain(w, x), numpy_chain(w_np, x_np))
    numpy_times, engine_times = timed(numpy_chain, w_np, x_np), timed(engine_chain, w, x)
    print(f"{'implementation':<18}{'us/node median':>16}{'min':>8}{'max':>8}")
    for name, times in (("plain numpy", numpy_times), ("microgradseq", engine_times)):
        print(f"{name:<18}{statistics.median(times):>16.2f}{min(times):>8.2f}{max(times):>8.2f}")
    print(f"ratio microgradseq / numpy: {statistics.median(engine_times) / statistics.median(numpy_times):.2f}x")


if __name__ == "__main__":
    main()
