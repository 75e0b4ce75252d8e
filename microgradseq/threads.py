"""How many threads numpy's BLAS uses: one, unless the user says otherwise.

A recurrent model multiplies small matrices thousands of times a second.
BLAS libraries (OpenBLAS, MKL) start one thread per core for each product, and
on a machine whose cores are busy with other work those threads wait for each
other: on a shared 2-core machine a word-level LSTM step took 312-1,666 ms with
numpy's default threads against 34-40 ms with one. So importing microgradseq
limits BLAS to one thread (with threadpoolctl, which finds the BLAS that numpy
loaded), as `torch.set_num_threads` would, unless the environment already
chose a number (`OPENBLAS_NUM_THREADS`, `OMP_NUM_THREADS`, `MKL_NUM_THREADS`,
`BLIS_NUM_THREADS`). `mg.set_num_threads(n)` changes it; the limit holds for
the whole process, numpy code outside microgradseq included.
"""

from __future__ import annotations

import os

from threadpoolctl import threadpool_info, threadpool_limits

from .checks import positive_int

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def set_num_threads(threads: int) -> None:
    """Let numpy's BLAS use `threads` threads (as `torch.set_num_threads`)."""
    threadpool_limits(limits=positive_int(threads, "threads", "set_num_threads"), user_api="blas")


def get_num_threads() -> int:
    """The number of threads numpy's BLAS uses (1 when no BLAS library was found)."""
    return max([pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"], default=1)


def limit_at_import() -> None:
    """One BLAS thread, unless the environment set a number."""
    if not any(os.environ.get(name) for name in THREAD_VARIABLES):
        set_num_threads(1)
