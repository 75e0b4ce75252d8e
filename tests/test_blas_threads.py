"""Importing microgradseq limits numpy's BLAS to one thread unless the environment chose a number."""

import os
import subprocess
import sys

import microgradseq as mg


def threads_in_a_fresh_process(**env) -> int:
    environment = {k: v for k, v in os.environ.items() if k not in mg.threads.THREAD_VARIABLES}
    code = "import microgradseq as mg; print(mg.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], env=dict(environment, **env), capture_output=True,
                         text=True, check=True)
    return int(out.stdout)


def test_import_limits_blas_to_one_thread():
    assert threads_in_a_fresh_process() == 1


def test_a_number_in_the_environment_is_left_alone():
    assert threads_in_a_fresh_process(OPENBLAS_NUM_THREADS="2") == 2


def test_set_num_threads_changes_the_limit():
    before = mg.get_num_threads()
    try:
        mg.set_num_threads(2)
        assert mg.get_num_threads() == 2
    finally:
        mg.set_num_threads(before)
