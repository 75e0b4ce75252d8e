"""Steps inside one node: step marks keep drawings one box per step, and anomaly errors name the step.

A sequence node is one box, but a drawing shows one box per state per step:
a *step mark*, a node of kind `MARK` labelled "h" (and "c") and stamped with
its step, chained h_1 -> h_2 -> ... -> the sequence node. Marks hold no rules
and the backward pass skips them; they receive dL/dh_t from the sequence
node's backward, so the drawing colours steps by gradient norm as it does for
the unfused graph.

A mark is a node per state per step, and making them cost a training step at
(32, 1) as much as a sixth of its time. So they are made only when a drawing
asks (`unfold`, installed as `autograd.hooks.unfold`, which `viz` calls). Until then one *stand-in* mark per state, shaped
(T, B, H), takes their place as the sequence node's last input: it receives
dL/d(every step's state), and every backward pass that reaches it resets its
gradient first, as it does a mark's. Its slot in the node's `saved` holds the
`StepMarks` that makes the marks, so a pass that frees the node frees both.
"""

from __future__ import annotations

import numpy as np

from ...anomaly import check_backward, check_forward
from ...autograd import MARK, OP, Node, anomaly_checks, creation_order, current_scope, hooks, topological_order
from ...metadata import at_step, step_offset
from ...tensor import Tensor


class StepMarks:
    """The step marks of one sequence node: stand-ins until made (`make`), then a mark per state
    per step.

    `op` is the sequence node's op; `states` lists (label, values (T, B, H),
    initial state tensor), the cell state before the hidden state (c_t is
    made first, then h_t from it); `below` is the `StepMarks` of the layer
    underneath, whose h_t feeds step t. `reverse`: the node ran on the
    sequence flipped (a bidirectional layer's reverse direction), so its s-th
    step read input position T + 1 - s, and its marks and errors name that
    position. Make it before the sequence node: it takes the creation numbers
    its marks will carry, so that they come before the node in creation
    order, after everything the node takes.
    """

    __slots__ = ("op", "scope", "offset", "labels", "steps", "values", "initial", "below", "reverse", "first",
                 "stand_ins", "made")

    def __init__(self, op: str, states: list[tuple[str, np.ndarray, Tensor]],
                 below: "StepMarks | None", reverse: bool = False) -> None:
        self.op, self.scope, self.offset, self.reverse = op, current_scope.get(), step_offset(), reverse
        self.labels = [label for label, _, _ in states]
        first = states[0][1]
        self.steps = len(first)
        tiny = first[0].size <= 4                           # tiny states show their values in drawings
        self.values = {label: values for label, values, _ in states} if tiny else None
        self.initial = tuple(initial._node for _, _, initial in states if initial._node is not None)
        self.below = below
        self.first = next(creation_order)       # numbers for the marks, before the sequence node's
        for _ in range(self.steps * len(self.labels) - 1):
            next(creation_order)
        self.stand_ins, feeds = {}, ()
        for label, values, _ in states:                     # c's stand-in feeds h's, as c_t feeds h_t
            stand_in = self.stand_ins[label] = Node(op, MARK, feeds, None, None, values.shape, values.dtype)
            stand_in.label, stand_in.scope, feeds = label, self.scope, (stand_in,)
        self.made = None        # label -> marks of t = 1..T, once made

    def give_grads(self, label: str, grads: np.ndarray) -> None:
        """dL/d(state `label` at step t) for every t, from the node's backward. Under
        detect_anomaly, name the latest step holding NaN or inf (the pass runs from t = T down)."""
        if self.made is None:
            self.stand_ins[label].grad = grads
        else:
            for mark, grad in zip(self.made[label], grads):
                mark.grad = grad
        if anomaly_checks.get() and not np.isfinite(grads).all():
            finite = np.isfinite(grads).all(axis=tuple(range(1, grads.ndim)))
            t = len(finite) - 1 - int(np.argmin(finite[::-1]))
            check_backward(self._mark(label, t + 1, grads.shape[1:], grads.dtype), grads[t])

    def make(self, node: Node) -> dict[str, list[Node]]:
        """Make the marks of `node` (once), in place of the stand-ins: chained step to step, fed by
        the initial states and the marks of the layer underneath, the last h mark an input of `node`."""
        if self.made is not None:
            return self.made
        marks = {label: [] for label in self.labels}
        under = self.below.made["h"] if self.below is not None and self.below.made is not None else None
        previous, number = self.initial, self.first
        for step in range(1, self.steps + 1):
            feeds = previous if under is None else previous + (under[step - 1],)
            for label in self.labels:
                stand_in = self.stand_ins[label]
                mark = self._mark(label, step, stand_in.shape[1:], stand_in.dtype, feeds)
                mark.seq, number = number, number + 1
                if stand_in.grad is not None:
                    mark.grad = stand_in.grad[step - 1]
                if self.values is not None:
                    mark.value = self.values[label][step - 1]
                marks[label].append(mark)
                feeds = (mark,)
            previous = feeds if len(self.labels) == 1 else tuple(marks[label][-1] for label in self.labels)
        node.inputs = node.inputs[:-1] + (marks["h"][-1],)
        self.stand_ins = None   # out of the graph now: no pass would reset their gradients
        self.made = marks
        return marks

    def _mark(self, label: str, step: int, shape: tuple, dtype, feeds: tuple = ()) -> Node:
        """The mark of the node's `step`-th step (unlinked when `feeds` is empty: what an anomaly error
        names), stamped with the input position that step read (from the step the layer was called
        in, `step_offset`, as an op-level layer's steps are)."""
        mark = Node(self.op, MARK, feeds, None, None, shape, dtype)
        position = self.steps + 1 - step if self.reverse else step
        mark.label, mark.step, mark.scope = label, self.offset + position, self.scope
        return mark


def attach_marks(out: Tensor, marks: StepMarks) -> StepMarks:
    """Link the stand-in of h as the sequence node's last input, `marks` in its slot of `saved`."""
    node = out._node
    if node is not None:
        node.inputs += (marks.stand_ins["h"],)
        node.rules += (None,)   # never called: the backward pass does not differentiate marks
        node.saved += (marks,)
    return marks


def check_steps(op: str, values: np.ndarray, inputs: list, reverse: bool = False) -> None:
    """Under detect_anomaly, name the first step run whose forward values are not finite (by the
    input position it read: `reverse`, a node run on the flipped sequence, read T + 1 - s at step s)."""
    if anomaly_checks.get() and not np.isfinite(values).all():
        s = int(np.argmin(np.isfinite(values).all(axis=tuple(range(1, values.ndim)))))
        with at_step(step_offset() + (len(values) - s if reverse else s + 1)):
            check_forward(op, values[s], tuple(i.shape for i in inputs if i is not None))


def unfold(roots: list[Node]) -> None:
    """Make the step marks of the fused nodes behind `roots`, for a drawing.

    A fused sequence node's last input is then a stand-in mark, with the
    `StepMarks` that make the real ones in its slot of `saved`. They are made
    in creation order (a layer's marks feed on the marks of the layer beneath).
    """
    for root in roots:
        for node in topological_order(root):
            last = node.inputs[-1] if node.kind is OP and node.inputs else None
            if last is not None and last.kind is MARK and node.saved[-1] is not None:
                node.saved[-1].make(node)


hooks.unfold = unfold
