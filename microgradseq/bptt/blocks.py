"""TBPTT(k1, k2) with a model that steps a block of time steps at once: the same definition, fewer calls.

`tbptt` calls `step(x_t, state)` once per step. A model that can run several
steps in one call (a sequence layer, with the input projection and the
readout of all of them one product each) passes
`step_block(xs, state) -> (outputs, state)` to `tbptt_blocks` instead: `xs` is
`inputs[a:b]`, the steps a + 1 .. b, and `outputs[j]` is step a + 1 + j's
output. Every loss is still `loss_fn(outputs[j], targets[a + j])`; a model whose
per-step losses sum in one op can also pass `block_loss_fn(outputs, targets[a:b])`,
their sum over the block (the char LM's cross-entropy over all (k, B) positions
at once), which the runner uses for blocks whose steps all have targets.

The definition and the cut stay exact because a block never straddles a
point where the runner acts on a state: blocks end at every update u and at
every cut c_u = u - k2, so the state at a cut is a block's final state, and is
cut (`sever`) there as `tbptt` cuts it. Steps behind the coming update's cut
(k1 > k2) run one at a time from a truncated state, as in `tbptt`. With
k2 a multiple of k1 (the demo's TBPTT(20, 40)) the blocks are the k1 new
steps of each update, except near a tail update (n not a multiple of k1):
its cut n - k2 splits an earlier block (n = 50: blocks end at 10, 20, 40, 50).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Iterator, Sequence

from ..autograd import creation_order
from ..checks import positive_int
from ..metadata import at_step
from ..ops import stack
from ..tensor import Tensor
from .ownership import callers_history, for_step, nodes_of, runners_own, runs_own, takes_in_callers_graph
from .runner import (TBPTTResult, Updater, check_run, checked_loss, checked_step, cut_of_update_at_or_after,
                     forget_grads, is_update, sever_up_to)
from .truncate import map_state, truncate


def block_ends(n: int, k1: int, k2: int) -> list[int]:
    """The last step of each block: every update, every cut inside the sequence, and every step
    behind its coming update's cut (those run one at a time). A list of `iter_block_ends`."""
    return list(iter_block_ends(n, k1, k2))


def iter_block_ends(n: int, k1: int, k2: int) -> Iterator[int]:
    """`block_ends` one at a time, in order, as the run reaches them: memory does not grow with n.
    Step t ends a block when an update comes at t, when t is the cut of the update at t + k2, or
    when t lies behind its coming update's cut (then it runs alone)."""
    n, k1, k2 = (positive_int(value, name, "tbptt_blocks") for value, name in ((n, "n"), (k1, "k1"), (k2, "k2")))
    return (t for t in range(1, n + 1)
            if is_update(t, n, k1) or (t + k2 <= n and is_update(t + k2, n, k1))
            or t <= cut_of_update_at_or_after(t, n, k1, k2))


def tbptt_blocks(step_block: Callable[[Sequence, Any], tuple[Any, Any]], state: Any, inputs: Sequence,
                 targets: Sequence, loss_fn: Callable[[Any, Any], Tensor], k1: int, k2: int,
                 optimizer: Any = None, on_update: Callable[[int, float], None] | None = None,
                 reduction: str = "sum",
                 block_loss_fn: Callable[[Any, Sequence], Tensor] | None = None,
                 on_backward: Callable[[int, Tensor], None] | None = None) -> TBPTTResult:
    """`mg.bptt.tbptt` with `step_block(inputs[a:b], state) -> (outputs, state)` in place of
    `step(x_t, state)`: the same updates, losses, gradients and result.

    `block_loss_fn(outputs, targets[a:b])`, if given, must return the sum over the block's steps of
    `loss_fn(outputs[j], targets[a + j])`: the same value, in fewer nodes (the point of it: one op,
    ideally). It is a sum with `reduction="mean"` too: the runner divides L_u by the number of step
    losses. It is used for the blocks whose steps all have targets, `loss_fn` for the others;
    `targets` must then take slices, as `inputs` does.

    A block runs inside `mg.viz.step(a + 1)`, so a sequence layer numbers its steps a + 1 .. b
    (`metadata.step_offset`), as `tbptt` numbers them: an error under `mg.detect_anomaly()` names
    the step of the sequence, not of the block. `on_backward(u, loss)` is tbptt's: called right after
    the update's backward pass with L_u, its graph kept, for `mg.viz.draw_update`."""
    k1, k2 = positive_int(k1, "k1", "tbptt_blocks"), positive_int(k2, "k2", "tbptt_blocks")
    n = check_run("tbptt_blocks", step_block, state, inputs, targets, loss_fn, optimizer, on_update, reduction,
                  on_backward, step_name="step_block")
    if block_loss_fn is not None and not callable(block_loss_fn):
        raise TypeError(f"tbptt_blocks: block_loss_fn must be callable or None, got {type(block_loss_fn).__name__}")
    if not _takes_slices(inputs):
        raise TypeError(f"tbptt_blocks: step_block reads inputs[a:b], so inputs must take slices (a list, "
                        f"tuple or array), got {type(inputs).__name__}")
    if block_loss_fn is not None and not _takes_slices(targets):
        raise TypeError(f"tbptt_blocks: block_loss_fn reads targets[a:b], so targets must take slices (a list, "
                        f"tuple or array), got {type(targets).__name__}")

    updater = Updater(n, k1, k2, optimizer, on_update, reduction, on_backward, add=sum_by_stacking)
    ends = deque()          # (step, the state after it) for block ends not yet behind a cut, oldest first
    cut_once_read = None    # the next update, when the state of the last one is its cut (k1 = k2)
    stale = []              # states cut since the last update: their .grad is the last update's
    pending = []            # losses since the previous update (a block's sum counts as its steps)
    counted = 0             # how many steps' losses `pending` holds
    callers_step = 0 if callers_history(state) else -1     # the last block end that took in a caller's graph
    state = map_state(runners_own, state)       # the runner cuts only nodes made by the run
    start = 0
    for stop in iter_block_ends(n, k1, k2):
        if stop <= cut_of_update_at_or_after(stop, n, k1, k2):
            state = truncate(state, k2=k2)      # behind the coming update's cut (k1 > k2): one step, cut
        made_after = next(creation_order)
        with at_step(start + 1):            # (a layer inside numbers its steps start + 1 .. stop)
            block = step_block(inputs[start:stop], for_step(state))
        outputs, returned = checked_step(block, (start + 1, stop), "tbptt_blocks", "step_block")
        checked_outputs(outputs, start + 1, stop)
        fed, state = state, runs_own(returned, state, made_after)
        if cut_once_read is not None:       # the block has read the last update's state: cut it now
            stale += sever_up_to(ends, start, k2=k2, update=cut_once_read)
            cut_once_read = None
        first_loss = len(pending)
        if block_loss_fn is not None and all(targets[t] is not None for t in range(start, stop)):
            pending.append(checked_loss(block_loss_fn(outputs, targets[start:stop]), (start + 1, stop),
                                        "tbptt_blocks", "block_loss_fn"))
            counted += stop - start
        else:
            for j in range(stop - start):
                if targets[start + j] is not None:
                    with at_step(start + j + 1):    # (each step's loss in its step, as tbptt's)
                        pending.append(checked_loss(loss_fn(outputs[j], targets[start + j]), start + j + 1,
                                                    "tbptt_blocks"))
                    counted += 1
        if takes_in_callers_graph(nodes_of(state) + [loss._node for loss in pending[first_loss:]], fed, made_after):
            callers_step = stop
        ends.append((stop, state))
        start = stop
        t = stop
        if not is_update(t, n, k1):
            continue
        forget_grads(stale + sever_up_to(ends, max(0, t - k2), k2=k2, update=t))
        cut_once_read = updater.update_at(t, ends, stale, pending, counted, callers_step)
        counted = 0
    updater.result.state = truncate(state, k2=k2, update=n)
    return updater.result


def checked_outputs(outputs: Any, first: int, last: int) -> None:
    """What `step_block` returned as the outputs of steps first .. last, checked to hold one output
    per step (`outputs[j]` is step first + j's) before any loss reads them."""
    steps = last - first + 1
    try:
        count = len(outputs) if hasattr(outputs, "__getitem__") else None
    except TypeError:                       # a 0-d tensor or array has no length
        count = None
    if count is None:
        raise TypeError(f"tbptt_blocks: step_block must return one output per step: expected a sequence of "
                        f"{steps} outputs for steps {first} to {last}, got a {type(outputs).__name__}")
    if count != steps:
        raise ValueError(f"tbptt_blocks: step_block must return one output per step: expected {steps} outputs "
                         f"for steps {first} to {last}, got {count}")


def sum_by_stacking(losses: list) -> Tensor:
    """L_u as `tbptt_blocks` sums it: the losses stacked and summed, two nodes whatever their number
    (one loss: itself). A one-element loss of shape (1,) is summed to 0-d first, so that losses of
    shapes () and (1,) stack (`tbptt` adds them)."""
    if len(losses) == 1:
        return losses[0]
    return stack([loss if loss.ndim == 0 else loss.sum() for loss in losses]).sum()


def _takes_slices(sequence: Sequence) -> bool:
    try:
        sequence[0:0]
    except (TypeError, KeyError):
        return False
    return True
