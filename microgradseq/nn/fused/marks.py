"""Steps inside one node: step marks keep drawings one box per step, and anomaly errors name the step.

A sequence node also records one *step mark* per state per step, a node of kind
`MARK` labelled "h" (and "c") and stamped with its step, chained
h_1 -> h_2 -> ... -> the sequence node. Marks hold no rules and the backward
pass skips them (it differentiates only ops and leaves), so they cost nothing
there; they let `mg.draw` show one box per step, name the step in anomaly
errors, and receive dL/dh_t from the sequence node's backward so the drawing
colours steps by gradient norm as it does for the unfused graph.
"""

from __future__ import annotations

import numpy as np

from ...autograd import MARK, Node, at_step, state
from ...tensor import Tensor


def attach_marks(out: Tensor, states: list[tuple[str, np.ndarray, Tensor]],
                 below: dict | None) -> dict[str, list[Node]]:
    """Chain one mark per state per step behind the sequence node `out`: label -> marks of t = 1..T.

    `states` lists (label, values (T, B, H), initial state tensor), the cell
    state before the hidden state (c_t is made first, then h_t from it).
    `below` holds the marks of the layer underneath, whose h_t feeds step t.
    """
    node = out._node
    if node is None:
        return {}
    op, dtype, shape = node.op, node.dtype, states[0][1].shape[1:]
    labels = [label for label, _, _ in states]
    marks = {label: [] for label in labels}
    previous = tuple(initial._node for _, _, initial in states if initial._node is not None)
    under = below["h"] if below else None
    for step in range(1, len(states[0][1]) + 1):
        feeds = previous if under is None else previous + (under[step - 1],)
        for label in labels:
            mark = Node(op, MARK, feeds, None, shape, dtype)
            mark.label, mark.step = label, step
            marks[label].append(mark)
            feeds = (mark,)
        previous = feeds if len(labels) == 1 else tuple(marks[label][-1] for label in labels)
    if np.prod(shape) <= 4:                 # tiny states show their values in drawings
        for label, values, _ in states:
            for mark, value in zip(marks[label], values):
                mark.value = value
    node.inputs += (marks["h"][-1],)
    node.rules += (None,)       # never called: the backward pass does not differentiate marks
    node.saved += (None,)
    return marks


def give_mark_grads(marks: list[Node], grads: np.ndarray) -> None:
    """Hand dL/d(state at step t) to the marks; under detect_anomaly, name the step where a NaN or
    inf appears (the latest bad step: the backward pass runs from t = T down)."""
    for mark, grad in zip(marks, grads):
        mark.grad = grad
    if marks and state.anomaly and not np.isfinite(grads).all():
        from ...anomaly import check_backward
        finite = np.isfinite(grads).reshape(len(grads), -1).all(axis=1)
        t = len(finite) - 1 - int(np.argmin(finite[::-1]))
        check_backward(marks[t], grads[t])


def check_steps(op: str, values: np.ndarray, inputs: list) -> None:
    """Under detect_anomaly, name the first step whose forward values are not finite."""
    if state.anomaly and not np.isfinite(values).all():
        from ...anomaly import check_forward
        t = int(np.argmin(np.isfinite(values).reshape(len(values), -1).all(axis=1)))
        with at_step(t + 1):
            check_forward(op, values[t], tuple(i.shape for i in inputs if i is not None))
