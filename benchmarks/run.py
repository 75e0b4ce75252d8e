"""Every performance benchmark in one command; prints the tables as Markdown.

    python benchmarks/run.py            # the full suite (several minutes)
    python benchmarks/run.py --quick    # small sizes, few repeats: a smoke test
    python benchmarks/run.py --tables 2 --repeats 9

1. per-node overhead: a 999-op elementwise chain, forward + backward;
2. one training step of a character-level RNN / LSTM / GRU, against a
   hand-written numpy step and its matmul floor; the same model as cells in a
   Python loop (2b);
3. memory of full BPTT, and TBPTT's time per step and peak memory as n grows;
4. the demo's workload (char LSTM, TBPTT(20, 40), Adam, clipping) against a
   hand-written numpy TBPTT.
PyTorch columns appear when PyTorch is installed. Timings are medians (min–max)
of repeats run interleaved in one process on the same data and dtype (at
least --repeats of them, and for fast rows as many as fill about a second, up
to 200); ratios compare numbers from the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cell_loops  # noqa: E402
import char_models  # noqa: E402
import demo_workload  # noqa: E402
import memory  # noqa: E402
import per_node  # noqa: E402
import timing  # noqa: E402
import torch_columns  # noqa: E402


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
        cpu = f"{names[0]} x {len(names)}" if names else cpu
    except OSError:
        pass
    parts = [cpu, f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    torch = torch_columns.load()
    parts.append(f"PyTorch {torch.__version__}" if torch else "no PyTorch")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (smoke test)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repeats per measurement, at least (fast rows get about a second of them)")
    parser.add_argument("--tables", default="1234", help="which tables to run, e.g. 12")
    parser.add_argument("--system-allocator", action="store_true",
                        help="leave glibc's malloc as it is: timings then depend on page faults "
                             "(see timing.keep_freed_memory)")
    args = parser.parse_args()
    quick = args.quick
    min_seconds = 0.0 if quick else 1.0     # fast rows: turns filling about a second (see timing.interleaved)
    torch = torch_columns.load()
    allocator = "system allocator as it is" if args.system_allocator else timing.keep_freed_memory()
    print(f"Machine: {machine()}\nAllocator: {allocator}\n")

    if "1" in args.tables:
        repeats = args.repeats or (3 if quick else 30)
        print(f"## 1. Per-node overhead, 999-op chain on 4x4 float64, {repeats}+ repeats\n")
        print(per_node.run(repeats, torch, min_seconds))
        print()

    kinds = ("rnn", "lstm", "gru")
    if "2" in args.tables or "3" in args.tables:     # table 3 measures the same models: checked alike
        for kind in kinds:
            print(f"loss and gradients of {kind} agree with hand-written numpy "
                  f"(float64, worst relative difference {char_models.check_gradients(kind):.1e})")
        for kind in kinds:
            print(f"fused {kind}: worst relative difference "
                  f"{char_models.check_gradients(kind, fused=True):.1e}")
        print()
    if "2" in args.tables:
        repeats = args.repeats or (1 if quick else 7)
        shapes = [(32, 1), (128, 32)] if quick else list(char_models.GOALS)
        print(f"## 2. Training step, vocab 65, T = {char_models.STEPS}, SGD, {repeats}+ repeats\n")
        columns = torch_columns.TorchColumns(torch) if torch else None
        print(char_models.run(kinds, shapes, (np.float32, np.float64), repeats, columns, min_seconds))
        print()
        workloads = [("lstm", 32, 1)] if quick else list(cell_loops.GOALS)
        for kind in ("rnn", "lstm"):
            worst, fused = cell_loops.check(kind)
            print(f"{kind} cell loop: gradients agree with hand-written numpy (float64, worst relative "
                  f"difference {worst:.1e}), fused with op-level cells (worst difference {fused:.1e})")
        print(f"\n## 2b. Cells in a Python loop, the same model and step, {repeats}+ repeats\n")
        print(cell_loops.run(workloads, (np.float32, np.float64), repeats, min_seconds))
        print()

    if "3" in args.tables:
        print("## 3. Memory\n")
        print(memory.full_bptt(kinds, 128, 32, np.float32))
        print()
        lengths = (120, 480) if quick else (2_000, 20_000)     # multiples of k1 and k2: no partial last window
        print(memory.tbptt("lstm", 128, 32, np.float32, lengths, [(20, 40), (40, 40)]))
        print()

    if "4" in args.tables:
        repeats = args.repeats or (1 if quick else 5)
        inputs, targets, vocab = demo_workload.text_batches()
        print(f"demo workload: library and hand-written numpy agree (float64, worst relative difference "
              f"{demo_workload.check(inputs, targets, vocab):.1e})")
        steps = 60 if quick else demo_workload.STEPS
        print(f"\n## 4. The demo's workload, {steps} steps: vocab {vocab}, embedding {demo_workload.EMBEDDING}, "
              f"LSTM {demo_workload.HIDDEN}, {demo_workload.BATCH} streams, TBPTT({demo_workload.K1}, "
              f"{demo_workload.K2}), Adam, clip {demo_workload.MAX_NORM}, {repeats}+ repeats\n")
        print(demo_workload.run((np.float32, np.float64), repeats, min_seconds, steps))


if __name__ == "__main__":
    main()
