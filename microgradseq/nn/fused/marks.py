"""Steps inside one node: step marks keep drawings one box per step, and anomaly errors name the step.

A sequence node is one box, but a drawing shows one box per state per step:
a *step mark*, a node of kind `MARK` labelled "h" (and "c") and stamped with
its step, chained h_1 -> h_2 -> ... -> the sequence node. Marks hold no rules
and the backward pass skips them; they receive dL/dh_t from the sequence
node's backward, so the drawing colours steps by gradient norm as it does for
the unfused graph.

A mark is a node per state per step, and making them cost a training step at
(32, 1) as much as a sixth of its time. So a sequence node keeps only a
`StepMarks`, what makes them, and they are made when a drawing asks
(`autograd.unfold`). The `StepMarks` sits in the node's `saved`, one entry
past its operands' (the slot of the edge its marks will add), so a backward
pass that frees the node frees it too.
"""

from __future__ import annotations

import numpy as np

from ...autograd import MARK, Node, at_step, state
from ...tensor import Tensor


class StepMarks:
    """The step marks of one sequence node, made on first demand (`make`).

    `op` is the sequence node's op; `states` lists (label, values (T, B, H),
    initial state tensor), the cell state before the hidden state (c_t is
    made first, then h_t from it); `below` is the `StepMarks` of the layer
    underneath, whose h_t feeds step t.
    Until the marks are made, the dL/d state arrays each backward pass hands
    over (`give_grads`) wait here.
    """

    __slots__ = ("op", "scope", "labels", "steps", "shape", "dtype", "values", "initial", "below", "grads",
                 "made")

    def __init__(self, op: str, states: list[tuple[str, np.ndarray, Tensor]],
                 below: "StepMarks | None") -> None:
        self.op, self.scope = op, state.scope
        self.labels = [label for label, _, _ in states]
        first = states[0][1]
        self.steps, self.shape, self.dtype = len(first), first.shape[1:], first.dtype
        tiny = int(np.prod(self.shape)) <= 4                # tiny states show their values in drawings
        self.values = {label: values for label, values, _ in states} if tiny else None
        self.initial = tuple(initial._node for _, _, initial in states if initial._node is not None)
        self.below = below
        self.grads = {}         # label -> dL/d state of t = 1..T, from the latest backward pass
        self.made = None        # label -> marks of t = 1..T, once made

    def give_grads(self, label: str, grads: np.ndarray) -> None:
        """dL/d(state `label` at step t) for every t, from the node's backward. Under
        detect_anomaly, name the latest step holding NaN or inf (the pass runs from t = T down)."""
        self.grads[label] = grads
        if self.made is not None:
            for mark, grad in zip(self.made[label], grads):
                mark.grad = grad
        if state.anomaly and not np.isfinite(grads).all():
            from ...anomaly import check_backward
            finite = np.isfinite(grads).reshape(len(grads), -1).all(axis=1)
            t = len(finite) - 1 - int(np.argmin(finite[::-1]))
            check_backward(self._mark(label, t + 1), grads[t])

    def make(self, node: Node) -> dict[str, list[Node]]:
        """Make the marks of `node` (once): chained step to step, fed by the initial states and the
        marks of the layer underneath, the last h mark an input of `node`.

        They belong before `node` in creation order, after everything it takes: their creation
        numbers are fractions between node.seq - 1 and node.seq, which no other node has.
        """
        if self.made is not None:
            return self.made
        count = self.steps * len(self.labels)
        numbers = iter(node.seq - 1 + k / (count + 1) for k in range(1, count + 1))
        marks = {label: [] for label in self.labels}
        under = self.below.made["h"] if self.below is not None and self.below.made is not None else None
        previous = self.initial
        for step in range(1, self.steps + 1):
            feeds = previous if under is None else previous + (under[step - 1],)
            for label in self.labels:
                mark = self._mark(label, step, feeds)
                mark.seq = next(numbers)
                mark.grad = self.grads[label][step - 1] if label in self.grads else None
                if self.values is not None:
                    mark.value = self.values[label][step - 1]
                marks[label].append(mark)
                feeds = (mark,)
            previous = feeds if len(self.labels) == 1 else tuple(marks[label][-1] for label in self.labels)
        node.inputs += (marks["h"][-1],)
        node.rules += (None,)   # never called: the backward pass does not differentiate marks
        self.made = marks
        return marks

    def _mark(self, label: str, step: int, feeds: tuple = ()) -> Node:
        """A mark node (unlinked when `feeds` is empty: what an anomaly error names)."""
        mark = Node(self.op, MARK, feeds, None, self.shape, self.dtype)
        mark.label, mark.step, mark.scope = label, step, self.scope
        return mark


def attach_marks(out: Tensor, marks: StepMarks) -> StepMarks:
    """Keep `marks` on the sequence node `out`, one entry past its operands' in `saved`."""
    node = out._node
    if node is not None:
        node.saved += (marks,)
    return marks


def check_steps(op: str, values: np.ndarray, inputs: list) -> None:
    """Under detect_anomaly, name the first step whose forward values are not finite."""
    if state.anomaly and not np.isfinite(values).all():
        from ...anomaly import check_forward
        t = int(np.argmin(np.isfinite(values).reshape(len(values), -1).all(axis=1)))
        with at_step(t + 1):
            check_forward(op, values[t], tuple(i.shape for i in inputs if i is not None))
