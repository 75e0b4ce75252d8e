"""The TBPTT(k1, k2) runner (Williams & Peng's BPTT(h; h') with h = k2, h' = k1).

Steps t = 1..n. Updates happen at u = k1, 2 k1, ... and at n. The update at u
backpropagates L_u = sum of the losses at t in (u', u] (u' the previous
update) with the state h_c held constant, c = max(0, u - k2): a loss at t goes
max(0, t - c) cells deep. The forward pass carries h_u on; only the gradient
path is cut. See docs/tbptt.md for the five classic configurations.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..autograd import CUT
from ..metadata import at_step
from ..checks import positive_int
from ..tensor import Tensor
from .truncate import map_state, sever, truncate


@dataclass
class TBPTTResult:
    """What a run returns: the final state (detached), the update steps and their losses."""

    state: Any
    updates: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)


def is_update(t: int, n: int, k1: int) -> bool:
    """Whether step t (of 1..n) ends with an update: t a multiple of k1, or the tail t = n."""
    return t % k1 == 0 or t == n


def update_steps(n: int, k1: int) -> list[int]:
    """u = k1, 2 k1, ..., and n when n is not a multiple of k1 (the tail update)."""
    n, k1 = positive_int(n, "n", "update_steps"), positive_int(k1, "k1", "update_steps")
    return [t for t in range(k1, n + 1) if is_update(t, n, k1)] or [n]


def cut_of_update_at_or_after(t: int, n: int, k1: int, k2: int) -> int:
    """c = max(0, u - k2) for u the first update at or after step t."""
    return max(0, min(-(-t // k1) * k1, n) - k2)


def check_run(where: str, step: Any, inputs: Sequence, targets: Sequence, loss_fn: Any, optimizer: Any,
              on_update: Any, reduction: str) -> int:
    """The sequence's length n, after the checks every runner makes before its first step
    (`where` names the runner in the error)."""
    if reduction not in ("sum", "mean"):
        raise ValueError(f"{where}: reduction must be 'sum' or 'mean', got {reduction!r}")
    for name, value in (("step", step), ("loss_fn", loss_fn), ("on_update", on_update)):
        if not callable(value) and not (name == "on_update" and value is None):
            raise TypeError(f"{where}: {name} must be callable, got {type(value).__name__}")
    if optimizer is not None and not all(callable(getattr(optimizer, method, None))
                                         for method in ("step", "zero_grad")):
        raise TypeError(f"{where}: optimizer must have step() and zero_grad(), got {type(optimizer).__name__}")
    n = len(inputs)
    if n != len(targets):
        raise ValueError(f"{where}: inputs and targets differ in length ({n} != {len(targets)})")
    if n == 0:
        raise ValueError(f"{where}: the sequence is empty")
    return n


def _runners_own(tensor: Tensor) -> Tensor:
    """The caller's initial state tensor, through a node of the run's own (a copy) when it has
    history: a cut severs nodes in place, and a step may hand the state on unchanged. (A state
    carried from an earlier run is already a cut, and stays one, for drawings.)"""
    return tensor if tensor._node is None or tensor._node.kind is CUT else tensor.clone()


def _sever_up_to(window: deque, cut: int, **info: Any) -> None:
    """Cut the recorded states of steps up to `cut` (oldest first) and forget them."""
    while window and window[0][0] <= cut:
        sever(window.popleft()[1], **info)


def tbptt(step: Callable[[Any, Any], tuple[Any, Any]], state: Any, inputs: Sequence,
          targets: Sequence, loss_fn: Callable[[Any, Any], Tensor], k1: int, k2: int,
          optimizer: Any = None, on_update: Callable[[int, float], None] | None = None,
          reduction: str = "sum") -> TBPTTResult:
    """Run TBPTT(k1, k2) over one sequence.

    `step(x_t, state) -> (output_t, new_state)`; `loss_fn(output_t, target_t)`
    gives a scalar; a `None` target means no loss at that step. At each update:
    one backward pass, then `on_update(u, loss)`, then `optimizer.step()` and
    `optimizer.zero_grad()`. The tape never holds more than max(k1, k2) steps.

    The cut holds the state the step returned constant, so a loss goes through
    the cells after the cut, and through its output's own dependence on the
    state the step returned (a readout). A step that computes its output
    beside its state, not from it (a layer called on one step), is fed a cut
    state at the steps behind the coming update's cut (k1 > k2): its losses
    there reach their own step's cell, no further.
    """
    k1, k2 = positive_int(k1, "k1", "tbptt"), positive_int(k2, "k2", "tbptt")
    n = check_run("tbptt", step, inputs, targets, loss_fn, optimizer, on_update, reduction)
    result = TBPTTResult(state=None)
    window = deque()        # (t, state after step t) for steps not yet behind a cut
    pending = []            # losses since the previous update
    state = map_state(_runners_own, state)      # the runner cuts only nodes made by the run
    for t in range(1, n + 1):
        if t <= cut_of_update_at_or_after(t, n, k1, k2):
            state = truncate(state, k2=k2)      # behind the coming update's cut: no gradient goes there
        with at_step(t):
            output, state = step(inputs[t - 1], state)
            if targets[t - 1] is not None:
                pending.append(loss_fn(output, targets[t - 1]))
        window.append((t, state))
        if not is_update(t, n, k1):
            continue
        _sever_up_to(window, max(0, t - k2), k2=k2, update=t)
        next_update = min(t + k1, n)
        next_cut = max(0, next_update - k2)
        loss_value = 0.0
        if pending:
            total = pending[0]
            for loss in pending[1:]:
                total = total + loss
            if reduction == "mean":
                total = total / len(pending)
            # keep the steps the next update walks again: those after its cut
            total.backward(retain_graph=t < n and next_cut < t)
            loss_value = float(total.item())
        if t < n:       # steps the next update will not walk: free them now, not at the next update
            _sever_up_to(window, next_cut, k2=k2, update=next_update)
        pending = []
        result.updates.append(t)
        result.losses.append(loss_value)
        if on_update is not None:
            on_update(t, loss_value)
        if optimizer is not None:
            optimizer.step()
            optimizer.zero_grad()
    result.state = truncate(state, k2=k2, update=n)
    return result
