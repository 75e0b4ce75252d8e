"""A buffer filled row by row (`outputs[t] = y`) against a list of rows and `mg.stack`.

    python benchmarks/item_assignment.py

A decoder loop of PyTorch scripts writes each step's output into a
preallocated buffer. Here arrays are read-only, so each assignment gives the
buffer a new array: T steps copy the (T, B, V) buffer T times (and, while
recording, the backward pass copies its gradient T times). The list-and-stack
way copies each row once. Both make the same values (checked before timing).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import microgradseq as mg  # noqa: E402
from timing import interleaved, keep_freed_memory, ratio, table  # noqa: E402

T, B, V = 50, 32, 1000


def ways(recording: bool, backward: bool):
    """(buffer, stack): each runs the loop once (and its backward pass when `backward`)."""
    rng = np.random.default_rng(0)
    w = mg.tensor(rng.standard_normal((B, V)).astype(np.float32), requires_grad=True)
    rows = [mg.tensor(rng.standard_normal((B, V)).astype(np.float32)) for _ in range(T)]

    def finish(outputs):
        if backward:
            outputs.sum().backward()
            w.grad = None
        return outputs

    def buffer():
        with mg.set_grad_enabled(recording):
            outputs = mg.zeros(T, B, V)
            for t in range(T):
                outputs[t] = rows[t] * w
            return finish(outputs)

    def stack():
        with mg.set_grad_enabled(recording):
            return finish(mg.stack([rows[t] * w for t in range(T)]))

    return buffer, stack


def main() -> None:
    print(f"Allocator: {keep_freed_memory()}\n")
    rows = []
    for name, recording, backward in (("no_grad", False, False), ("recording, forward", True, False),
                                      ("recording, forward + backward", True, True)):
        buffer, stack = ways(recording, backward)
        if not np.array_equal(buffer().numpy(), stack().numpy()):
            raise AssertionError("item assignment: the buffer and the stacked rows differ")
        times = interleaved({"buffer": buffer, "stack": stack}, repeats=15)
        rows.append([name, times["buffer"].ms(), times["stack"].ms(), ratio(times["buffer"], times["stack"])])
    print(f"## `outputs[t] = y` against `mg.stack(rows)`: T = {T} rows of ({B}, {V}) float32\n")
    print(table(["mode", "buffer ms", "list + stack ms", "ratio"], rows))


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()   # (--help)
    main()
