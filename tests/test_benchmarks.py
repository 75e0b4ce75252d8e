"""The benchmark scripts still run, and the workloads of `run.py` still agree with the hand-written numpy they
are timed against (each checks before timing). Nothing here is timed (the speed goals are the figures the
scripts print, docs/performance.md): these tests keep the scripts from falling behind the library, as
threads.py once did (it called a helper that had been renamed). The PyTorch columns run only where PyTorch
is installed, so not here."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
# the scripts run in processes of their own, which find the package in this checkout, installed or not
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1",
           PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def run_script(*args: str) -> str:
    """The script's output; its error output in the failure when it exits with an error."""
    done = subprocess.run([sys.executable, *args], cwd=BENCHMARKS, env=ENV, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_every_table_runs_quick_after_checking_its_workloads_against_the_hand_written_numpy():
    out = run_script("run.py", "--quick")
    for heading in ("## 1. Per-node overhead", "## 2. Training step", "## 2b. Cells in a Python loop",
                    "## 3. Memory", "## 4. The demo's workload"):
        assert heading in out
    for kind in ("rnn", "lstm", "gru"):
        assert f"gradients of {kind} agree with hand-written numpy" in out
    assert "lstm cell loop: gradients agree with hand-written numpy" in out
    assert "demo workload: library and hand-written numpy agree" in out


@pytest.mark.parametrize("script", sorted(path.name for path in BENCHMARKS.glob("*.py")
                                           if 'if __name__ == "__main__":' in path.read_text()))
def test_every_benchmark_script_prints_its_usage_with_help_and_runs_nothing(script):
    """docs/performance.md shows the scripts as commands (the others are run.py's tables); `--help`
    prints the usage at once (item_assignment.py once ignored its arguments and ran the benchmark)."""
    assert run_script(script, "--help").startswith("usage:")


def test_rtrl_benchmark_runs_quick():
    out = run_script("rtrl.py", "--quick")
    assert "RTRL" in out and "UORO" in out


@pytest.mark.parametrize("workload", ["demo training (200 steps)", "LSTMCell (128, 32) loop, 2 steps"])
def test_the_threads_benchmarks_workloads_run(workload):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import threads
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert threads.seconds(threads.WORKLOADS[workload], ENV) > 0
