"""The connectionist temporal classification loss (Graves et al. 2006), as PyTorch's `F.ctc_loss`: the
negative log of the probability that T frames of per-frame class probabilities spell the target l,
summed over every alignment (a path of T symbols that gives l once repeats are merged and blanks
dropped), computed by dynamic programming over the extended target

    l' = (b, l_1, b, l_2, ..., b, l_S, b)        (b the blank; 2 S + 1 states)

in log space (x_t(c) = log_probs[t, c], the states s = 0 .. 2S):

    alpha_0(0) = x_0(b),   alpha_0(1) = x_0(l_1),   alpha_0(s) = -inf for s >= 2
    alpha_t(s) = log(e^alpha_{t-1}(s) + e^alpha_{t-1}(s-1) + [skip] e^alpha_{t-1}(s-2)) + x_t(l'_s)
    loss       = -log(e^alpha_{T-1}(2S) + e^alpha_{T-1}(2S-1))          (-alpha_{T-1}(0) when S = 0)

A path stays on its state, advances by one, or skips the blank between two labels: [skip] holds where
l'_s != l'_{s-2}, a label unlike the one before it ("aa" needs a blank between its two a's, so it
needs T >= 3). Each step is a few tensor ops on all sequences and states at once (a logsumexp over
the three predecessors plus the gathered x_t(l')), so the gradient comes from the chain rule alone.
Sequences shorter than T keep their alpha once their own frames are spent (a mask), and their loss is
read off it; the frames past them are never read (a NaN there reaches neither loss nor gradient).
Read from PyTorch's aten/src/ATen/native/LossCTC.cpp (the alpha recursion and `ctc_loss_impl`:
zero_infinity, and "mean" dividing by the target lengths clamped to >= 1) and torch/nn/functional.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..checks import flag, is_int
from ..tensor import Tensor, array_of, as_tensor, owned
from .reduction import checked_reduction, reduce_losses


def _lengths(where: str, name: str, lengths: Any, batch: int, bound: int | None = None) -> np.ndarray:
    """Per-sequence lengths (a tuple, list, int or integer tensor) as an int64 array (N,); ValueError
    naming `where` unless there is one per sequence, each >= 0 and at most `bound` (when given)."""
    given = array_of(lengths)
    if given.dtype.kind not in "iu" or given.ndim > 1:
        raise ValueError(f"{where}: expected {name} as integers of shape ({batch},), got {given.dtype} of shape "
                         f"{given.shape}")
    given = given.reshape(-1).astype(np.int64)
    if given.shape != (batch,):
        raise ValueError(f"{where}: expected {name} of shape ({batch},), one per sequence, got {given.shape[0]}")
    if given.size and given.min() < 0:
        raise ValueError(f"{where}: {name} must be >= 0, got {given.min()}")
    if given.size and bound is not None and given.max() > bound:
        raise ValueError(f"{where}: {name} must be at most T = {bound}, got {given.max()}")
    return given


def _padded_targets(where: str, targets: Any, target_lengths: np.ndarray, classes: int, blank: int) -> np.ndarray:
    """The targets as an int64 array (N, S_max), each row its target then blanks: from PyTorch's padded
    (N, S) form or the concatenated 1-d one. ValueError naming `where` for other shapes, lengths beyond
    S or the total, and labels outside [0, C) or equal to the blank (both within the lengths)."""
    given = array_of(targets)
    if given.size == 0 and given.dtype.kind == "f":         # ([] is float64 to numpy)
        given = given.astype(np.int64)
    if given.dtype.kind == "f":
        # PyTorch's ctc_loss casts the targets, targets.to(log_probs.device(), kLong): the float labels of
        # torch.Tensor(...) and pad_sequence work, each truncated toward zero
        if not np.isfinite(given).all():
            raise ValueError(f"{where}: float targets must be finite to be cast to integers, got {given.dtype} "
                             f"holding {given[~np.isfinite(given)][0]}")
        given = given.astype(np.int64)
    if given.dtype.kind not in "iu":
        raise ValueError(f"{where}: expected integer targets, got dtype {given.dtype}")
    batch, longest = target_lengths.shape[0], int(target_lengths.max(initial=0))
    kept = np.arange(longest) < target_lengths[:, None]                 # (N, S_max): within each length
    if given.ndim == 2:
        if given.shape[0] != batch or given.shape[1] < longest:
            raise ValueError(f"{where}: padded targets must have shape ({batch}, S) with S >= the longest target "
                             f"length {longest}, got {given.shape}")
        labels = given[:, :longest].astype(np.int64)
    elif given.ndim == 1:
        if given.shape[0] != target_lengths.sum():
            raise ValueError(f"{where}: concatenated targets must hold sum(target_lengths) = "
                             f"{target_lengths.sum()} labels, got {given.shape[0]}")
        labels = np.zeros((batch, longest), np.int64)
        labels[kept] = given
    else:
        raise ValueError(f"{where}: expected targets of shape (N, S) or (sum(target_lengths),), got {given.shape}")
    used = labels[kept]
    if used.size and (used.min() < 0 or used.max() >= classes):
        raise ValueError(f"{where}: target labels must lie in [0, {classes}), got values from {used.min()} to "
                         f"{used.max()}")
    if (used == blank).any():
        raise ValueError(f"{where}: targets must not hold the blank ({blank}); it is where no label is read")
    return np.where(kept, labels, blank)


def _log_sum_exp(candidates: Tensor) -> Tensor:
    """log sum_k e^(x_k) over the first axis, shifted by the max m (a constant that cancels). Where every
    x_k is -inf (a state no path reaches) it is -inf with gradient 0: `logsumexp` would send back
    0 / 0 = NaN there, and most states are unreachable at first."""
    top = candidates._data.max(axis=0)
    reached = top != -np.inf                  # (a NaN passes on, as PyTorch's)
    total = ops.exp(candidates - np.where(reached, top, 0)).sum(axis=0)
    logged = ops.log(ops.where(reached, total, 1.0)) + np.where(reached, top, 0)
    return ops.where(reached, logged, -np.inf)


def _shifted(alpha: Tensor, by: int) -> Tensor:
    """alpha moved `by` states up (alpha[:, s - by] at s), -inf where s < by: the predecessors of each state."""
    below = owned(np.full((alpha.shape[0], by), -np.inf, alpha.dtype))
    return ops.concat([below, alpha], axis=1)[:, :alpha.shape[1]]


def _log_likelihoods(log_probs: Tensor, extended: np.ndarray, input_lengths: np.ndarray,
                     target_lengths: np.ndarray) -> Tensor:
    """log p(l | x) per sequence, (N,): the alpha recursion over log_probs (T, N, C) and the extended
    targets l' (N, 2 S_max + 1), each sequence read off at its own last frame and last two states."""
    frames, states = log_probs.shape[0], extended.shape[1]
    own = np.arange(frames)[:, None] < input_lengths                    # (T, N): each sequence's own frames
    # x_t(l'_s): (T, N, 2 S_max + 1), 0 past a sequence's own frames (never read, so a NaN there reaches
    # neither the loss nor the gradient)
    emissions = ops.where(own[:, :, None], log_probs.take_along_dim(extended[None], dim=2), 0.0)
    skips = np.zeros(extended.shape, bool)
    skips[:, 2:] = extended[:, 2:] != extended[:, :-2]                   # l'_s != l'_{s-2}
    impossible = owned(np.full(extended.shape, -np.inf, log_probs.dtype))
    alpha = ops.where(np.arange(states) < 2, emissions[0], impossible)
    for t in range(1, frames):
        predecessors = ops.stack([alpha, _shifted(alpha, 1), ops.where(skips, _shifted(alpha, 2), impossible)])
        alpha = ops.where(own[t][:, None], _log_sum_exp(predecessors) + emissions[t], alpha)
    rows = np.arange(len(target_lengths))
    last = alpha[rows, 2 * target_lengths]
    before_last = ops.where(target_lengths > 0, alpha[rows, np.maximum(2 * target_lengths - 1, 0)], -np.inf)
    likelihoods = _log_sum_exp(ops.stack([last, before_last]))
    no_frames = np.where(target_lengths == 0, 0.0, -np.inf).astype(log_probs.dtype)
    return ops.where(input_lengths > 0, likelihoods, no_frames)        # (no frames spell only the empty target)


def ctc_loss(log_probs: Any, targets: Any, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """-log p(target | log_probs) per sequence, summed over every alignment (the recursion above), as
    PyTorch's: log_probs (T, N, C) (or unbatched (T, C)) log-softmax outputs; targets padded (N, S) or
    concatenated (sum(target_lengths),), labels in [0, C) other than `blank` (float labels are cast to
    int64, as PyTorch's); input_lengths and
    target_lengths one per sequence (tuples, lists or integer tensors), each input length <= T.
    "none" gives the N losses, "sum" their sum, "mean" the mean of each divided by its target length
    (clamped to >= 1). An impossible target (T too short) has loss inf, and gradient 0;
    `zero_infinity` makes that loss 0."""
    checked_reduction("ctc_loss", reduction)
    zero_infinity = flag(zero_infinity, "zero_infinity", "ctc_loss")
    given = as_tensor(log_probs)
    if given.ndim not in (2, 3):
        raise ValueError(f"ctc_loss: expected log_probs of shape (T, N, C) or (T, C), got shape {given.shape}")
    if given.dtype.kind != "f":
        raise TypeError(f"ctc_loss: expected floating-point log_probs, got dtype {given.dtype}")
    batched = given.ndim == 3
    log_probs = given if batched else given.reshape(given.shape[0], 1, given.shape[1])
    frames, batch, classes = log_probs.shape
    if frames == 0:
        raise ValueError("ctc_loss: expected log_probs with at least one time step, got T = 0")
    if not is_int(blank) or not 0 <= blank < classes:
        raise ValueError(f"ctc_loss: blank must be an integer in [0, {classes}), got {blank!r}")
    input_lengths = _lengths("ctc_loss", "input_lengths", input_lengths, batch, frames)
    target_lengths = _lengths("ctc_loss", "target_lengths", target_lengths, batch)
    labels = _padded_targets("ctc_loss", targets, target_lengths, classes, blank)
    extended = np.full((batch, 2 * labels.shape[1] + 1), blank, np.int64)
    extended[:, 1::2] = labels
    losses = -_log_likelihoods(log_probs, extended, input_lengths, target_lengths)
    if zero_infinity:
        losses = ops.where(losses._data == np.inf, 0.0, losses)
    if reduction == "none":
        return losses if batched else losses.reshape(())
    if reduction == "mean":
        losses = losses / np.maximum(target_lengths, 1).astype(losses.dtype)
    return reduce_losses(losses, reduction, "ctc_loss")
