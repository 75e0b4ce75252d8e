"""The TBPTT(k1, k2) runner (Williams & Peng's BPTT(h; h') with h = k2, h' = k1).

Steps t = 1..n. Updates happen at u = k1, 2 k1, ... and at n. The update at u
backpropagates L_u = sum of the losses at t in (u', u] (u' the previous
update) with the state h_c held constant, c = max(0, u - k2): a loss at t goes
max(0, t - c) cells deep. The forward pass carries h_u on; only the gradient
path is cut. See docs/tbptt.md for its six configurations.
"""

from __future__ import annotations

from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from ..autograd import OP, creation_order
from ..metadata import at_step
from ..checks import positive_int
from ..tensor import Tensor
from .ownership import (callers_history, for_step, keeps_callers_graph, nodes_of, runners_own, runs_own,
                        takes_in_callers_graph)
from .truncate import map_state, sever, state_tensors, truncate


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


def check_run(where: str, step: Any, state: Any, inputs: Sequence, targets: Sequence, loss_fn: Any,
              optimizer: Any, on_update: Any, reduction: str, on_backward: Any = None, step_name: str = "step",
              on_step: Any = None) -> int:
    """The sequence's length n, after the checks every runner makes before its first step
    (`where` names the runner in the error; `step_name` the step in the last check: no
    bidirectional layer, `refuse_bidirectional`). The callbacks (`on_update`, `on_backward`,
    the online runners' `on_step`) may be None."""
    if reduction not in ("sum", "mean"):
        raise ValueError(f"{where}: reduction must be 'sum' or 'mean', got {reduction!r}")
    for name, value in ((step_name, step), ("loss_fn", loss_fn), ("on_update", on_update),
                        ("on_backward", on_backward), ("on_step", on_step)):
        if not callable(value) and not (name in ("on_update", "on_backward", "on_step") and value is None):
            raise TypeError(f"{where}: {name} must be callable, got {type(value).__name__}")
    if optimizer is not None and not all(callable(getattr(optimizer, method, None))
                                         for method in ("step", "zero_grad")):
        raise TypeError(f"{where}: optimizer must have step() and zero_grad(), got {type(optimizer).__name__}")
    n = _length(inputs, "inputs", where)
    length = _length(targets, "targets", where)
    _check_keys(inputs, "inputs", n, where)         # a dict's missing keys first: they say more than its length
    _check_keys(targets, "targets", n, where)
    if n != length:
        raise ValueError(f"{where}: inputs and targets differ in length ({n} != {length})")
    if n == 0:
        raise ValueError(f"{where}: the sequence is empty")
    _check_state(state, "the initial state", where)
    refuse_bidirectional(step, where, step_name)
    return n


def refuse_bidirectional(step: Any, where: str, name: str = "step") -> None:
    """ValueError if `step` is, or is a method of, a module that holds a bidirectional layer (one
    whose `bidirectional` reads True): its reverse direction reads the steps after t, which a runner
    stepping forward in time cannot give it, and its reverse state would be carried forward."""
    owner = getattr(step, "__self__", step)             # `model.step` belongs to `model`
    named_modules = getattr(owner, "named_modules", None)
    for path, module in named_modules() if callable(named_modules) else [("", owner)]:
        if getattr(module, "bidirectional", False) is True:
            place = f" at {path!r}" if path else ""
            raise ValueError(f"{where}: {name} uses a bidirectional layer ({type(module).__name__}{place}); its "
                             f"reverse direction reads every later step, which a runner stepping forward in time "
                             f"cannot give it: run the whole sequence and call backward() on its loss (full BPTT)")


def finish_update(result: TBPTTResult, u: int, loss_value: float, on_update: Any, optimizer: Any) -> None:
    """What every runner does after an update's gradients are in `.grad`: note (u, L_u), then
    `on_update(u, L_u)`, `optimizer.step()` and `optimizer.zero_grad()`."""
    result.updates.append(u)
    result.losses.append(loss_value)
    if on_update is not None:
        on_update(u, loss_value)
    if optimizer is not None:
        optimizer.step()
        optimizer.zero_grad()


@contextmanager
def handed_to_caller(loss: Tensor, u: int, cut: int) -> Iterator[None]:
    """While `on_backward(u, loss)` runs: L_u's node records which update it is and where that update
    cut the tape, for a drawing (`mg.viz.draw_update`): its steps end at the last loss, which may come
    before u, and its cut nodes are missing when the first op reading the cut state read nothing else.
    Afterwards it records that the run went on (later updates cut and free its steps), so a drawing
    made then is refused rather than showing those later cuts under this update's title."""
    node = loss._node if loss._node is not None and loss._node.kind is OP else None
    if node is not None:
        node.cut_info = {"update": u, "cut": cut}
    try:
        yield
    finally:
        if node is not None:
            node.cut_info = {"update": u, "cut": cut, "stale": True}


def sever_up_to(window: deque, cut: int, **info: Any) -> list:
    """Cut the recorded states of steps up to `cut` (oldest first), forget them, and return them."""
    severed = []
    while window and window[0][0] <= cut:
        severed.append(window.popleft()[1])
        sever(severed[-1], **info)
    return severed


def forget_grads(states: list) -> None:
    """Clear `.grad` on states a coming backward pass will not reach (behind its cut), so what
    a caller reads there is never an earlier update's gradient."""
    for state in states:
        for tensor in state_tensors(state):
            if tensor._node is not None:
                tensor._node.grad = None


@dataclass
class Updater:
    """How a run makes its updates, for both runners (`tbptt`, `tbptt_blocks`): the run's arguments an
    update reads, how it sums L_u (`add`: each runner keeps its own order), the result it notes the
    updates in, and the previous update."""

    n: int
    k1: int
    k2: int
    optimizer: Any
    on_update: Any
    reduction: str
    on_backward: Any
    add: Callable[[list], Tensor]
    result: TBPTTResult = field(default_factory=lambda: TBPTTResult(state=None))
    previous: int = 0

    def update_at(self, t: int, window: deque, stale: list, pending: list, count: int, callers_step: int) -> int | None:
        """The update at step t, after the runner has cut the tape at c_u = max(0, t - k2): L_u =
        `add(pending)`, the losses since the previous update (`count` step losses) summed, or averaged
        with reduction="mean"; one backward pass from it; `on_backward(t, L_u)`; then the steps the
        next update will not walk cut from `window` ((step, state) pairs, oldest first) into `stale`
        (emptied first: they hold this pass's gradients, which the next update clears), `pending`
        emptied, and `finish_update`. Both lists are the runner's, changed in place, not rebound, so
        what they held is freed before `on_update` runs. `callers_step`: the last step that took in
        a caller's graph. Returns the next update when its cut is h_t (else None): the runner cuts h_t
        once the next step has read it."""
        n, k1, k2 = self.n, self.k1, self.k2
        next_update = min(t + k1, n)
        next_cut = max(0, next_update - k2)
        loss_value = 0.0
        walked = False
        if pending:
            total = self.add(pending)
            if self.reduction == "mean":
                total = total / count
            loss_value = float(total.item())
            walked = total.requires_grad
            if walked:                  # else every loss is a constant: gradient zero, nothing to walk
                # keep the steps the next update walks again (those after its cut), and a caller's graph
                total.backward(retain_graph=(t < n and next_cut < t) or self.on_backward is not None
                               or keeps_callers_graph(callers_step, self.previous, max(0, t - k2)))
                if self.on_backward is not None:
                    with handed_to_caller(total, t, max(0, t - k2)):
                        self.on_backward(t, total)
            total = None                # the injected losses' nodes: no later update walks them again
        if not walked:  # no backward pass: a state it would have walked keeps no earlier update's gradient
            forget_grads([kept for _, kept in window])
        stale.clear()
        cut_once_read = None
        if t < n:       # steps the next update will not walk: free them now, not at the next update
            stale += sever_up_to(window, min(next_cut, t - 1), k2=k2, update=next_update)
            if next_cut == t:   # its cut is h_t: cut it once step t + 1 has read it (an op reading
                cut_once_read = next_update     # only a cut is not recorded: no drawing would show it)
        pending.clear()
        self.previous = t
        finish_update(self.result, t, loss_value, self.on_update, self.optimizer)
        return cut_once_read


def sum_by_adding(losses: list) -> Tensor:
    """L_u as `tbptt` sums it: ((l_1 + l_2) + l_3) + ..., one add node per loss, in step order."""
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    return total


def _length(sequence: Any, name: str, where: str) -> int:
    """len(sequence), or TypeError: the runner reads inputs and targets by step, and needs n first."""
    try:
        if hasattr(sequence, "__getitem__"):
            return len(sequence)
    except TypeError:                       # a 0-d array has __len__ but no length
        pass
    hint = "; an iterator or generator has no length: pass list(...)" if hasattr(sequence, "__next__") else ""
    raise TypeError(f"{where}: {name} must be indexable by step with a length (a list, tuple or array), "
                    f"got {type(sequence).__name__}{hint}")


def _check_keys(sequence: Any, name: str, n: int, where: str) -> None:
    """A dict given as inputs or targets must hold every step's index 0..n-1."""
    if isinstance(sequence, Mapping):
        missing = [index for index in range(n) if index not in sequence]
        if missing:
            raise ValueError(f"{where}: {name} is a dict without the keys {missing[:5]} (steps are read as "
                             f"{name}[0] .. {name}[{n - 1}]); give None for a step without a target")


def _check_state(state: Any, what: str, where: str = "tbptt") -> None:
    """TypeError unless `state` is a Tensor, a (nested) tuple or list of them, or None."""
    stack = [state]
    while stack:
        item = stack.pop()
        if isinstance(item, (tuple, list)):
            stack.extend(item)
        elif item is not None and not isinstance(item, Tensor):
            raise TypeError(f"{where}: {what} holds a {type(item).__name__}; a state is a Tensor, a tuple "
                            "or list of Tensors (an LSTM's (h, c)), or None")


def checked_step(result: Any, t: int | tuple[int, int], where: str = "tbptt", name: str = "step") -> tuple[Any, Any]:
    """What `name` returned at step t (or for the steps (first, last) of a block), checked to be
    (output, new_state) before anything uses it."""
    place = _place(t)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        came = (f"a {type(result).__name__} of {len(result)}" if isinstance(result, (tuple, list))
                else f"a {type(result).__name__}")
        raise TypeError(f"{where}: {name} must return a pair (output, new_state), got {came} at {place}")
    _check_state(result[1], f"the state {name} returned at {place}", where)
    return result[0], result[1]


def checked_loss(loss: Any, t: int | tuple[int, int], where: str = "tbptt", name: str = "loss_fn") -> Tensor:
    """What `name` returned at step t (or for the steps (first, last) of a block: the sum of their
    losses), checked to be a one-element tensor that backward can take."""
    place = _place(t)
    if not isinstance(loss, Tensor):
        raise TypeError(f"{where}: {name} must return a one-element Tensor, got {type(loss).__name__} "
                        f"at {place}")
    if loss.data.size != 1:
        hint = ("return the sum of the steps' losses, even with reduction='mean'" if isinstance(t, tuple)
                else "reduce it (reduction='sum' or 'mean')")
        raise ValueError(f"{where}: {name} must return a one-element Tensor, got shape {loss.shape} at "
                         f"{place}; {hint}")
    return loss


def _place(t: int | tuple[int, int]) -> str:
    return f"step {t}" if isinstance(t, int) else f"steps {t[0]} to {t[1]}"


def tbptt(step: Callable[[Any, Any], tuple[Any, Any]], state: Any, inputs: Sequence,
          targets: Sequence, loss_fn: Callable[[Any, Any], Tensor], k1: int, k2: int,
          optimizer: Any = None, on_update: Callable[[int, float], None] | None = None,
          reduction: str = "sum", on_backward: Callable[[int, Tensor], None] | None = None) -> TBPTTResult:
    """Run TBPTT(k1, k2) over one sequence.

    `step(x_t, state) -> (output_t, new_state)`; `loss_fn(output_t, target_t)`
    gives a scalar; a `None` target means no loss at that step. At each update:
    one backward pass, then `on_update(u, loss)`, then `optimizer.step()` and
    `optimizer.zero_grad()`. The tape never holds more than max(k1, k2) steps.
    States behind an update's cut have no `.grad` when its `on_update` runs.

    `on_backward(u, loss)`, if given, is called right after the update's backward
    pass with the update's loss tensor L_u, its graph kept (this update's cut,
    its injected losses, every gradient): `mg.viz.draw_update(loss)` draws the
    window the update backpropagated. The loss's node records u and the cut c_u
    (`handed_to_caller`): the graph alone cannot tell them when the update's last steps
    have no target. The graph is freed once it returns.

    The cut holds the state the step returned constant, so a loss goes through
    the cells after the cut, and through its output's own dependence on the
    state the step returned (a readout). A step that computes its output
    beside its state, not from it (a layer called on one step), is fed a cut
    state at the steps behind the coming update's cut (k1 > k2): its losses
    there reach their own step's cell, no further.
    """
    k1, k2 = positive_int(k1, "k1", "tbptt"), positive_int(k2, "k2", "tbptt")
    n = check_run("tbptt", step, state, inputs, targets, loss_fn, optimizer, on_update, reduction, on_backward)
    updater = Updater(n, k1, k2, optimizer, on_update, reduction, on_backward, add=sum_by_adding)
    window = deque()        # (t, state after step t) for steps not yet behind a cut
    stale = []              # states cut after the last backward: they hold its gradients
    cut_once_read = None    # the next update, when the state of the last one is its cut (k1 = k2)
    pending = []            # losses since the previous update
    callers_step = 0 if callers_history(state) else -1     # the last step that took in a caller's graph
    state = map_state(runners_own, state)       # the runner cuts only nodes made by the run
    for t in range(1, n + 1):
        if t <= cut_of_update_at_or_after(t, n, k1, k2):
            state = truncate(state, k2=k2)      # behind the coming update's cut: no gradient goes there
        with at_step(t):
            made_after = next(creation_order)
            output, returned = checked_step(step(inputs[t - 1], for_step(state)), t)
            fed, state = state, runs_own(returned, state, made_after)
            if targets[t - 1] is not None:
                pending.append(checked_loss(loss_fn(output, targets[t - 1]), t))
        if cut_once_read is not None:       # step t has read h_(t-1), the last update's state: cut it now
            stale += sever_up_to(window, t - 1, k2=k2, update=cut_once_read)
            cut_once_read = None
        roots = nodes_of(state)
        if targets[t - 1] is not None:
            roots.append(pending[-1]._node)
        if takes_in_callers_graph(roots, fed, made_after):
            callers_step = t
        window.append((t, state))
        if not is_update(t, n, k1):
            continue
        forget_grads(stale + sever_up_to(window, max(0, t - k2), k2=k2, update=t))
        cut_once_read = updater.update_at(t, window, stale, pending, len(pending), callers_step)
    updater.result.state = truncate(state, k2=k2, update=n)
    return updater.result
