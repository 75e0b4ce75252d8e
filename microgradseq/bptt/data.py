"""Input pipeline helpers: one long sequence into the time-major batches a TBPTT run reads."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import positive_int


def batchify(sequence: Any, batch_size: int) -> np.ndarray:
    """Cut a long sequence (length N, optionally with trailing feature axes) into
    `batch_size` parallel streams, time-major: shape (N // batch_size, batch_size, ...).

    Stream b holds the b-th contiguous slice, as PyTorch's word-language-model
    example does; the tail that does not fill a row is dropped. Carrying the
    state from one TBPTT run to the next keeps each stream continuous.
    """
    data = np.asarray(sequence)
    if data.ndim == 0:
        raise TypeError(f"batchify: expected a sequence (a list or an array of N steps), "
                        f"got {type(sequence).__name__}")
    batch_size = positive_int(batch_size, "batch_size", "batchify")
    steps = len(data) // batch_size
    if steps == 0:
        raise ValueError(f"batchify: a sequence of length {len(data)} is shorter than batch_size {batch_size}")
    data = data[:steps * batch_size]
    return np.swapaxes(data.reshape(batch_size, steps, *data.shape[1:]), 0, 1)


def next_step_pairs(batched: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) for next-element prediction: targets[t] = batched[t + 1]."""
    if len(batched) < 2:
        raise ValueError(f"next_step_pairs: need at least 2 steps, got {len(batched)}")
    return batched[:-1], batched[1:]
