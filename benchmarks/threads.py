"""Out of the box: the demo's training and a user's loop of cells, with BLAS threads as microgradseq leaves
them, as numpy leaves them, and with OPENBLAS_NUM_THREADS=1, optionally under load.

    python benchmarks/threads.py            # idle, then with 2 busy processes beside it
    python benchmarks/threads.py --repeats 1 --busy 0     # one run each, idle only

Each configuration runs in a fresh process (the thread count is set at import),
the three taking turns; the table gives medians (min-max) and each one's ratio
to the single-threaded time. "numpy's default" sets OMP_NUM_THREADS to the
number of cores, so that microgradseq leaves the threads as numpy starts them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

WORKLOADS = {
    "demo training (200 steps)": "from microgradseq import charlm, bptt\n"
    "import numpy as np\n"
    "text = charlm.load_text(); vocab = charlm.Vocabulary(text)\n"
    "model = charlm.CharLM(len(vocab), 128, 'lstm', rng=np.random.default_rng(0))\n"
    "codes = vocab.encode(text)\n"
    "charlm.train(model, codes, steps=40, k1=20, k2=40)\n"
    "import time; start = time.perf_counter()\n"
    "charlm.train(model, codes, steps=200, k1=20, k2=40)\n"
    "print(time.perf_counter() - start)\n",
    "LSTMCell (128, 32) loop, 2 steps": "import sys, time; sys.path.insert(0, BENCHMARKS)\n"
    "import numpy as np, cell_loops, char_models\n"
    "inputs, targets = char_models.data(32, np.float32)\n"
    "step = char_models.engine_trainer(cell_loops.CellLoop('lstm', 128, np.float32), inputs, targets, 1e-4)\n"
    "step(); start = time.perf_counter(); step(); step()\n"
    "print(time.perf_counter() - start)\n",
}
VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def configurations() -> dict:
    base = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    return {"microgradseq's default": base,
            "numpy's default": dict(base, OMP_NUM_THREADS=str(os.cpu_count())),
            "OPENBLAS_NUM_THREADS=1": dict(base, OPENBLAS_NUM_THREADS="1")}


def seconds(code: str, env: dict) -> float:
    code = code.replace("BENCHMARKS", repr(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"the workload failed:\n{out.stderr}")
    return float(out.stdout.split()[-1])


def table(repeats: int) -> str:
    rows = ["| workload | " + " | ".join(f"{name} s | ratio" for name in configurations()) + " |",
            "|" + " --- |" * (1 + 2 * len(configurations()))]
    for workload, code in WORKLOADS.items():
        samples = {name: [] for name in configurations()}
        for _ in range(repeats):
            for name, env in configurations().items():
                samples[name].append(seconds(code, env))
        single = statistics.median(samples["OPENBLAS_NUM_THREADS=1"])
        cells = []
        for name, values in samples.items():
            median = statistics.median(values)
            cells += [f"{median:.2f} ({min(values):.2f}–{max(values):.2f})", f"{median / single:.2f}x"]
        rows.append(f"| {workload} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--repeats", type=int, default=3, help="runs of each configuration (default 3)")
    parser.add_argument("--busy", type=int, default=2,
                        help="busy processes beside the runs under load (default 2; 0: the idle table only)")
    args = parser.parse_args()
    print(f"## Threads, {os.cpu_count()} cores, as the machine is\n")
    print(table(args.repeats))
    if args.busy <= 0:
        return
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        time.sleep(0.5)
        print(f"\n## Threads, with {args.busy} busy processes beside\n")
        print(table(args.repeats))
    finally:
        for process in busy:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
