"""Forward mode: every value carries its tangent, pushed through each op's JVP rules.

Reverse mode runs the chain rule backwards over a recorded tape; forward mode
runs it forwards, alongside the values, and records nothing. An op y = f(x_1, ..., x_n)
whose operands carry tangents v_i (their derivatives along one direction)
gives y the tangent

    dy = J_1 v_1 + ... + J_n v_n,

where `rules.jvp[i](v_i, saved[i])` computes J_i v_i: the same table row as
the reverse-mode rule g J_i, read the other way.

Tangents carry a leading axis of k directions, so k JVPs run in one pass
(`mg.jvp` adds that axis for a single direction and takes it off again).
For an op that broadcasts, an operand's tangent is first given the output's
axes, (k, *x.shape) -> (k, 1, ..., 1, *x.shape), so that the rules, written
for arrays, line up with the extra axis in front.

A tangent belongs to one forward-mode run in one thread (`Seed`): a tensor
another thread is differentiating forwards, a parameter say, is a constant
here. Runs do not nest (`mg.jvp` inside `mg.jvp` is refused).
"""

from __future__ import annotations

from contextvars import ContextVar

import numpy as np


current_run = ContextVar("current_run", default=None)     # this thread's forward-mode run (a Seed), if any


class Seed:
    """One forward-mode run in this thread: the tangents it seeds its input tensors with.

    The seeds live in the run, not on the tensors, so a parameter that another
    thread differentiates forwards at the same time is a constant here. The
    same tensor seeded twice gets the sum of its tangents. Outputs made during
    the run carry `(run, tangent)`.
    """

    def __init__(self, tensors: list, tangents: list) -> None:
        self.seeds = {}
        for tensor, tangent in zip(tensors, tangents):
            held = self.seeds.get(id(tensor))
            self.seeds[id(tensor)] = (tensor, tangent if held is None else held[1] + tangent)

    def __enter__(self) -> "Seed":
        self.outer = current_run.get()
        current_run.set(self)
        return self

    def __exit__(self, *exc_info) -> None:
        current_run.set(self.outer)
        # Outputs of the run still point at it (their tangents are read after the block): let it
        # hold no inputs, or a run over a sequence would keep every earlier step's tangents alive.
        self.seeds, self.outer = {}, None

    def tangent(self, tensor) -> np.ndarray | None:
        """The tensor's tangent in this run (None: a constant here)."""
        pair = tensor._tangent
        if pair is not None and pair[0] is self:
            return pair[1]
        seed = self.seeds.get(id(tensor))
        return seed[1] if seed is not None and seed[0] is tensor else None


def push(op: str, rules, inputs, saved, y: np.ndarray):
    """(run, dy) for op's output y, dy = sum_i J_i v_i over the operands with a tangent in
    this thread's run; None when no operand has one. Each v_i, and dy, has a leading axis of k
    directions; a rule that gives another shape is a ValueError naming the op (an op of one's own
    whose operands broadcast, without `Rules(..., broadcasts=True)`)."""
    run = current_run.get()
    if run is None:
        return None
    total = None
    for operand, jvp, kept in zip(inputs, rules.jvp, saved):
        v = run.tangent(operand)
        if v is None:
            continue
        if rules.broadcasts and v.ndim <= y.ndim:
            v = v.reshape(v.shape[:1] + (1,) * (y.ndim + 1 - v.ndim) + v.shape[1:])
        shape = v.shape[:1] + y.shape
        try:
            dy = jvp(v, kept)
        except ValueError as error:
            if str(error).startswith(op):   # (an error that names the op already says what is wrong)
                raise
            raise _misshapen(op, shape, str(error)) from None
        got = np.shape(dy)
        if got != shape and got != () and not _stretches(got, v.shape, shape):     # (a number: adds the same to all)
            raise _misshapen(op, shape, f"it gave shape {got}")
        total = dy if total is None else total + dy
    if total is None:
        return None
    if np.shape(total) != shape:
        total = np.broadcast_to(total, shape)
    return run, total


def _stretches(got: tuple, tangent: tuple, shape: tuple) -> bool:
    """A rule's tangent may be short of the output's shape only along the axes where its operand
    was broadcast (size 1 in the tangent it was given): numpy stretches it there, as the value was."""
    return len(got) == len(tangent) == len(shape) and all(
        g == s or (g == 1 and t == 1) for g, t, s in zip(got, tangent, shape))


def _misshapen(op: str, expected: tuple, what: str) -> ValueError:
    return ValueError(f"{op}: its forward-mode (JVP) rules must give a tangent of shape {expected}, the k directions "
                      f"then the output's shape; {what} (an op whose operands broadcast says so: Rules(..., "
                      "broadcasts=True), and each rule then gets its tangent with the output's number of axes)")
