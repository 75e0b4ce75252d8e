"""Quick check of the fused path: one char-model training step, fused vs op-level vs hand-written numpy.

    python benchmarks/fused_check.py                 # RNN, LSTM, GRU at the four sizes, float32
    python benchmarks/fused_check.py --kinds rnn --repeats 15

The model and the hand-written numpy step are `char_models.py`'s (vocab 65,
T = 100, linear readout, cross-entropy summed over time, SGD); the op-level and
fused models' float64 loss and gradients are checked against it before timing.
Timings are medians of interleaved repeats; ratios are to hand-written numpy. On a shared
machine run it with OPENBLAS_NUM_THREADS=1: a multi-threaded BLAS competing
with other processes for the cores makes single timings jump by 10x.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import char_models  # noqa: E402
from timing import interleaved, keep_freed_memory  # noqa: E402

SIZES = [(32, 1), (128, 32), (512, 1), (512, 32)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="rnn,lstm,gru", help="comma-separated models (default: rnn,lstm,gru)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repeats, at least (default 15, or 5 at H = 512; fast rows get about a second)")
    parser.add_argument("--dtype", default="float32", help="float32 (default) or float64")
    args = parser.parse_args()
    dtype = np.dtype(args.dtype)
    kinds = args.kinds.split(",")
    print(f"Allocator: {keep_freed_memory()} (as in benchmarks/run.py)")
    for kind in kinds:
        print(f"{kind}: loss and gradients agree with hand-written numpy (float64, worst relative difference: "
              f"op-level {char_models.check_gradients(kind):.1e}, "
              f"fused {char_models.check_gradients(kind, fused=True):.1e})")
    print(f"\n{'model':6} {'H, B':>8} {'numpy ms':>10} {'op-level ms':>12} {'fused ms':>10} "
          f"{'op/numpy':>9} {'fused/numpy':>12}")
    for kind in kinds:
        for hidden, batch in SIZES:
            inputs, targets = char_models.data(batch, dtype)
            model, params = char_models.make_model(kind, hidden, dtype)
            fused_model, _ = char_models.make_model(kind, hidden, dtype, fused=True)
            lr = 1e-4
            times = interleaved({
                "numpy": lambda: char_models.reference_step(kind, params, inputs, targets, lr),
                "op": char_models.engine_trainer(model, inputs, targets, lr),
                "fused": char_models.engine_trainer(fused_model, inputs, targets, lr),
            }, args.repeats or (5 if hidden >= 512 else 15))
            numpy_ms, op_ms, fused_ms = (times[k].median * 1e3 for k in ("numpy", "op", "fused"))
            print(f"{kind:6} {f'{hidden}, {batch}':>8} {numpy_ms:10.2f} {op_ms:12.2f} {fused_ms:10.2f} "
                  f"{op_ms / numpy_ms:8.2f}x {fused_ms / numpy_ms:11.2f}x", flush=True)


if __name__ == "__main__":
    main()
