"""Instructions per training step, counted by valgrind: a figure that other processes cannot move.

    python benchmarks/instructions.py rnn lstm gru            # (32, 1), float32
    python benchmarks/instructions.py gru --hidden 128 --batch 32

On a shared machine single timings of a small step wander by 10-30%, which
hides a change worth 3%. `valgrind --tool=callgrind` counts the CPU
instructions the process executes instead: the same count run after run.
Each workload runs twice under it, with 2 and 6 timed steps after two warm-up
steps; the difference over 4 is one step, start-up excluded. Instructions are
not time (memory traffic and page faults are not in them), so use this to
compare two versions of the code, and the timed tables for the goals.
Needs valgrind (Debian's package); it is not a dependency of the project.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def run_steps(kind: str, hidden: int, batch: int, steps: int, reference: bool) -> None:
    """Two warm-up steps, then `steps` steps of the engine or of the hand-written version."""
    import char_models
    inputs, targets = char_models.data(batch, np.float32)
    model, params = char_models.make_model(kind, hidden, np.float32)
    if reference:
        def step():
            char_models.reference_step(kind, dict(params), inputs, targets, 0.01)
    else:
        step = char_models.engine_trainer(model, inputs, targets, 0.01)
    for _ in range(2 + steps):
        step()


def count(kind: str, hidden: int, batch: int, steps: int, reference: bool) -> int:
    """Instructions of the whole process running `steps` steps."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
               os.path.abspath(__file__), "--inner", kind, "--hidden", str(hidden), "--batch", str(batch),
               "--steps", str(steps)] + (["--reference"] if reference else [])
    # One BLAS thread and a fixed hash seed: OpenBLAS's thread start-up and the string hashes' seed
    # otherwise move the start-up count by about 5M instructions from one process to the next.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONHASHSEED="0")
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return int(re.search(r"Collected : (\d+)", result.stderr).group(1))


def per_step(kind: str, hidden: int, batch: int, reference: bool) -> float:
    return (count(kind, hidden, batch, 6, reference) - count(kind, hidden, batch, 2, reference)) / 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kinds", nargs="+", choices=("rnn", "lstm", "gru"), help="the models to count")
    parser.add_argument("--hidden", type=int, default=32, help="hidden size H (default 32)")
    parser.add_argument("--batch", type=int, default=1, help="batch size B (default 1)")
    parser.add_argument("--steps", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        run_steps(args.kinds[0], args.hidden, args.batch, args.steps, args.reference)
        return
    print("| model | H, B | hand-written M instr/step | microgradseq M instr/step | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for kind in args.kinds:
        engine = per_step(kind, args.hidden, args.batch, reference=False)
        written = per_step(kind, args.hidden, args.batch, reference=True)
        print(f"| {kind.upper()} | {args.hidden}, {args.batch} | {written / 1e6:.1f} | {engine / 1e6:.1f} "
              f"| {engine / written:.2f}x |")


if __name__ == "__main__":
    main()
