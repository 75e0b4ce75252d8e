"""Activation checkpointing, PyTorch's `torch.utils.checkpoint`: memory traded for a second forward pass.

A recorded block keeps what its ops saved until the backward pass reads it: an RNN over T steps
keeps every h_t, memory ~ T. `checkpoint(block, x, h)` keeps only the block's inputs; the backward
pass runs the block again, recording, and backpropagates through that second tape, freeing it as
it goes. Checkpointing every sqrt(T) steps (Chen et al., 2016) keeps T / sqrt(T) inputs plus one
segment's tape at a time: memory ~ 2 sqrt(T), for one more forward pass.

    h = checkpoint(step, x_t, h, use_reentrant=False)

How, on this tape: the first run records, as any code does, only to learn which nodes made before
the block its outputs read (its tensor arguments, the parameters it closes over); one node then
takes the block's place with those as its inputs (a `mg.autograd.Function`, drawn as `checkpoint`),
and the block's own tape is dropped. The node's rule re-runs the block from the arguments' values
as they were, with the random generator where it was (the same dropout masks), cuts the re-run's
tape where it reads nodes from outside, and passes on the gradients arriving there: to the pass it
is a row of the table of derivatives, as tanh's is. This is the behaviour of PyTorch's recommended
variant (`use_reentrant=False`; torch/utils/checkpoint.py, `_checkpoint_without_reentrant_generator`):
gradients reach the parameters the block uses, `mg.autograd.grad` and `backward(inputs=...)` work,
keyword arguments are handed on. Under `no_grad`, and in forward mode (whose tangents travel with the
values: nothing to run again), the block simply runs.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable

import numpy as np

from ..autograd import CUT, OP, Node, _by_creation, creation_order, grad_enabled, setting
from ..checks import flag
from ..forward import current_run
from ..function import Function
from ..random import get_rng_state, set_rng_state
from ..tensor import Tensor, owned
from ..transforms import reverse_gradients
from ..trees import fold, same_kind

__all__ = ["CheckpointError", "checkpoint", "checkpoint_sequential", "noop_context_fn"]

DETERMINISM_CHECKS = ("default", "none")


class CheckpointError(RuntimeError):
    """PyTorch's: the re-run of a checkpointed block did not record what its first run recorded."""


def noop_context_fn() -> tuple:
    """PyTorch's default `context_fn`: two context managers that do nothing."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def checkpoint(function: Callable | None = None, *args: Any, use_reentrant: bool | None = None,
               preserve_rng_state: bool = True, context_fn: Callable[[], tuple] = noop_context_fn,
               determinism_check: str = "default", debug: bool = False, early_stop: bool = True,
               **kwargs: Any) -> Any:
    """`function(*args, **kwargs)`, keeping only its inputs for the backward pass, which runs it again.

    Returns what `function` returns: a tensor, or a tuple (its tensors checkpointed, other values
    as they are). `use_reentrant` left out runs PyTorch's recommended variant (False), quietly;
    True keeps its argument checks (no keyword arguments, context_fn or debug). `context_fn()`
    gives two context managers, the first run inside the first, the re-run inside the second.
    `determinism_check="default"` compares the ops (names, shapes, dtypes) the two runs record
    (CheckpointError), "none" does not; `debug=True` lists both runs' ops in that error.
    `preserve_rng_state=False` lets the re-run draw afresh. The re-run always runs the whole
    block (what PyTorch's early_stop=False does). Without `function` (and arguments): a
    decorator, `checkpoint(use_reentrant=False)(fn)` (an addition: PyTorch's needs `function`)."""
    options = dict(use_reentrant=use_reentrant, preserve_rng_state=preserve_rng_state, context_fn=context_fn,
                   determinism_check=determinism_check, debug=debug, early_stop=early_stop)
    if function is None and not args:
        if kwargs:
            raise ValueError(f"checkpoint: unexpected keyword arguments {', '.join(kwargs)} without a function")
        return functools.partial(_checkpointed, options=options)
    if not callable(function):
        raise TypeError(f"checkpoint: expected a function to run, got {type(function).__name__}")
    _check_options(options, kwargs)
    if not grad_enabled.get() or current_run.get() is not None:
        return function(*args, **kwargs)        # no tape to shrink, or forward mode: it runs as it is
    forward_context, recompute_context = context_fn()
    block = _Block(function, args, kwargs, recompute_context, determinism_check, debug,
                   get_rng_state() if preserve_rng_state else None)
    start = next(creation_order)            # the block's nodes are numbered after this
    with forward_context:
        outputs = function(*args, **kwargs)
    return block.take_place_of(outputs, start)


def _checkpointed(function: Callable, options: dict) -> Callable:
    """`checkpoint(**options)(function)`: function, checkpointed each time it is called."""
    @functools.wraps(function)
    def checkpointed(*args: Any, **kwargs: Any) -> Any:
        return checkpoint(function, *args, **options, **kwargs)
    return checkpointed


def _check_options(options: dict, kwargs: dict) -> None:
    """ValueError naming checkpoint for options PyTorch refuses, and for flags that are not bools
    (TypeError for a context_fn that is not a function)."""
    reentrant = options["use_reentrant"]
    if reentrant is not None:
        flag(reentrant, "use_reentrant", "checkpoint")
    flag(options["debug"], "debug", "checkpoint")
    flag(options["early_stop"], "early_stop", "checkpoint")
    flag(options["preserve_rng_state"], "preserve_rng_state", "checkpoint")
    if options["determinism_check"] not in DETERMINISM_CHECKS:
        raise ValueError(f"checkpoint: determinism_check should be one of {list(DETERMINISM_CHECKS)}, got "
                         f"{options['determinism_check']!r}")
    custom = options["context_fn"] is not noop_context_fn
    if custom and not callable(options["context_fn"]):
        raise TypeError(f"checkpoint: context_fn must be a function returning two context managers, got "
                        f"{type(options['context_fn']).__name__}")
    if reentrant and kwargs:
        raise ValueError(f"checkpoint: unexpected keyword arguments {', '.join(kwargs)}: with use_reentrant=True "
                         "only positional arguments reach the function, as in PyTorch; pass use_reentrant=False")
    if reentrant and (custom or options["debug"]):
        raise ValueError("checkpoint: passing context_fn or debug is only supported when use_reentrant=False, "
                         "as in PyTorch")
    if options["debug"] and custom:
        raise ValueError("checkpoint: debug=True is incompatible with a context_fn of your own, as in PyTorch")


def _block_of(roots: list[Node], start: int) -> tuple[list[Node], list[Node]]:
    """(the nodes made from `start` on that `roots` reach: the block's tape, and the nodes made before
    it that the block read: its edge), each in creation order. A cut on the edge takes no gradient:
    it is left out."""
    seen, inside, edge, stack = set(), [], [], list(roots)
    while stack:                                # (iterative: a block may be 10,000 steps long)
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node.seq >= start:
            inside.append(node)
            stack.extend(parent for parent in node.inputs if parent is not None)
        elif node.kind is not CUT:
            edge.append(node)
    return sorted(inside, key=_by_creation), sorted(edge, key=_by_creation)


def _stand_in(node: Node, leaf: bool = False) -> Tensor:
    """A tensor of the node's shape and dtype, without values of its own (zeros, one number stretched):
    whose history is the node, or (`leaf`) a new leaf in its place."""
    out = owned(np.broadcast_to(np.zeros((), node.dtype), node.shape), requires_grad=leaf)
    out._node = out._node if leaf else node
    return out


def _recorded(inside: list[Node]) -> list[tuple]:
    """What determinism_check compares: each op the block recorded, as (name, shape, dtype)."""
    return [(node.op, node.shape, node.dtype) for node in inside if node.kind is OP]   # (str(dtype) is slow)


def _named(recorded: list[tuple]) -> list[tuple]:
    """The ops `_recorded` lists, their dtypes by name, as the debug listing prints them."""
    return [(op, shape, str(dtype)) for op, shape, dtype in recorded]


class _Saved:
    """A tensor argument as the first run read it: its array (read-only) and its node, also inside a
    tuple, list or dict argument (an LSTM's (h, c)): the re-run reads these, whatever has become of
    the tensors since (a state cut in place by the TBPTT runner, or `detach_()`ed)."""

    __slots__ = ("data", "node", "history")

    def __init__(self, data: np.ndarray, node: Node | None) -> None:
        self.data, self.node = data, node
        self.history = node is not None and node.kind is not CUT     # (as the first run read it)


class _Block:
    """One call of checkpoint: what the re-run needs (the function, its arguments' values, the
    generator's state) and what the first run recorded, to compare. Holds no node of the block."""

    def __init__(self, function: Callable, args: tuple, kwargs: dict, recompute_context: Any,
                 determinism_check: str, debug: bool, rng_state: Any) -> None:
        self.function, self.kwargs, self.recompute_context = function, kwargs, recompute_context
        self.name = getattr(function, "__name__", type(function).__name__)
        # each tensor argument's value now (its array is read-only: what the block read) and its node
        self.args = fold(args, lambda a: _Saved(a._data, a._node) if isinstance(a, Tensor) else a, same_kind)
        self.determinism_check, self.debug, self.rng_state = determinism_check, debug, rng_state
        self.recorded, self.first_outputs, self.outputs = None, None, None

    def take_place_of(self, outputs: Any, start: int) -> Any:
        """The first run's outputs, as the outputs of one `checkpoint` node over the block's edge."""
        single = isinstance(outputs, Tensor)
        if not single and not isinstance(outputs, tuple):
            raise TypeError(f"checkpoint: expected {self.name} to return a Tensor or a tuple (its values that are "
                            f"not tensors are passed through), got {type(outputs).__name__}")
        listed = (outputs,) if single else outputs
        roots = [o._node for o in listed if isinstance(o, Tensor) and o._node is not None]
        inside, edge = _block_of(roots, start)
        if not edge:                            # nothing from outside takes a gradient: nothing to re-run
            return outputs
        self.recorded = _recorded(inside) if self.determinism_check == "default" or self.debug else None
        self.outputs = [(o.shape, o.dtype) if isinstance(o, Tensor) else None for o in listed]
        self.first_outputs = outputs
        made = _Recompute.apply(self, *[_stand_in(node) for node in edge])
        node = next((o._node for o in ((made,) if single else made)
                     if isinstance(o, Tensor) and o._node is not None), None)
        if node is not None:                    # the checkpoint node: an output's own, or each output's input
            (node if node.op == "checkpoint" else node.inputs[0]).label = self.name
        return type(outputs)(*made) if hasattr(outputs, "_fields") else made    # (a namedtuple stays one)

    def gradients(self, edge: tuple, grad_outputs: tuple) -> list:
        """dL/d(each node of the edge), given dL/d(each output): the block run again, recording, and
        backpropagated through; None for a node no gradient reached."""
        saved: list = []                        # (the copy, the node it stands for), in the arguments' order

        def copy(a: Any) -> Any:
            """A leaf with the value the first run read; one that had history requires grad even if
            that history has been cut since (as the runner cuts states), so the re-run records the
            ops the first run recorded; no gradient goes to a cut (below)."""
            if not isinstance(a, _Saved):
                return a
            saved.append((owned(a.data, requires_grad=a.history), a.node))
            return saved[-1][0]

        args = fold(self.args, copy, same_kind)
        copies = [c for c, _ in saved]
        stand_ins = {node: _stand_in(node, leaf=True) for node in edge}
        start = next(creation_order)            # (the leaves above come first: creation order stays topological)
        with contextlib.ExitStack() as stack:
            if self.rng_state is not None:      # the generator where the first run found it, then back
                stack.callback(set_rng_state, get_rng_state())
                set_rng_state(self.rng_state)
            stack.enter_context(self.recompute_context)
            stack.enter_context(setting(grad_enabled, True))
            outputs = self.function(*args, **self.kwargs)
        listed = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs) if isinstance(outputs, tuple) else ()
        pairs = [(o, g._data) for o, g in zip(listed, grad_outputs)
                 if isinstance(o, Tensor) and o._node is not None and g is not None]
        inside, outside = _block_of([o._node for o, _ in pairs], start)
        self._check_rerun(listed, inside, outside, edge, copies)
        for node in inside:                     # the re-run's tape ends at the edge: leaves in its place
            if any(parent in stand_ins for parent in node.inputs):
                node.inputs = tuple(stand_ins[p]._node if p in stand_ins else p for p in node.inputs)
        # an output that is a tensor from outside, returned as it is: its gradient goes to that node's stand-in
        pairs = [(stand_ins[o._node], g) if o._node in stand_ins else (o, g) for o, g in pairs]
        targets = [(c, node) for c, node in saved if c.requires_grad and node.kind is not CUT]
        targets += [(stand_ins[node], node) for node in outside if node in stand_ins]
        received: set = set()
        grads = reverse_gradients(pairs, [t for t, _ in targets], False, received) if targets and pairs else []
        by_node: dict = {}
        for i, (_, node) in enumerate(targets):
            if i in received:
                by_node[node] = grads[i] if node not in by_node else by_node[node] + grads[i]
        return [by_node.get(node) for node in edge]

    def _check_rerun(self, outputs: tuple, inside: list[Node], outside: list[Node], edge: tuple,
                     copies: list) -> None:
        """CheckpointError when the re-run read a tensor from outside that the first run did not
        (its gradient would have nowhere to go), returned other shapes, or (determinism_check)
        recorded other ops."""
        known = set(edge) | {copy._node for copy in copies if isinstance(copy, Tensor)}
        stray = next((node for node in outside if node not in known), None)
        if stray is not None:
            raise CheckpointError(f"checkpoint: the re-run of {self.name} read a tensor from outside it that its "
                                  f"first run did not (node {stray.describe()}); a checkpointed function must do "
                                  "the same each time it runs")
        shapes = [(o.shape, o.dtype) if isinstance(o, Tensor) else None for o in outputs]
        if shapes != self.outputs:
            raise CheckpointError(f"checkpoint: the re-run of {self.name} returned outputs of shapes and dtypes "
                                  f"{shapes}, its first run {self.outputs}")
        if self.recorded is None:
            return
        again = _recorded(inside)
        if again != self.recorded and self.determinism_check == "default":
            first = next((k for k, (a, b) in enumerate(zip(self.recorded, again)) if a != b),
                         min(len(again), len(self.recorded)))
            listing = (f"\nops of the first run: {_named(self.recorded)}\nops of the re-run: {_named(again)}"
                       if self.debug else "; pass debug=True to list both runs' ops")
            raise CheckpointError(f"checkpoint: the re-run of {self.name} recorded {len(again)} ops, its first run "
                                  f"{len(self.recorded)}, differing from op {first} on (a function that does not do "
                                  f"the same each time it runs gives wrong gradients){listing}")


class _Recompute(Function):
    """The node that takes a checkpointed block's place: forward gives the first run's outputs,
    backward runs the block again (`_Block.gradients`). Its arguments: the block, then a tensor
    per node of the block's edge."""

    @staticmethod
    def forward(ctx: Any, block: _Block, *edge: Tensor) -> Any:
        ctx.block, ctx.edge = block, tuple(t._node for t in edge)
        outputs, block.first_outputs = block.first_outputs, None     # (the node keeps no output alive)
        listed = (outputs,) if isinstance(outputs, Tensor) else outputs
        ctx.mark_non_differentiable(*[o for o in listed if isinstance(o, Tensor) and o._node is None])
        return outputs

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Tensor) -> tuple:
        return (None, *ctx.block.gradients(ctx.edge, grad_outputs))


_Recompute.__name__ = "checkpoint"        # the node's op: what drawings and errors call it


def checkpoint_sequential(functions: Any, segments: int, input: Tensor, use_reentrant: bool | None = None,
                          **kwargs: Any) -> Tensor:
    """PyTorch's: run `functions` (an `nn.Sequential`, or a list of modules or functions of one
    tensor) in turn on `input`, cut into `segments` runs of len(functions) // segments, each
    checkpointed but the last (whose tape the backward pass reads first). `preserve_rng_state`
    may be passed as a keyword, as PyTorch's; any other keyword is a ValueError."""
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError(f"checkpoint_sequential: unexpected keyword arguments {', '.join(kwargs)}")
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if isinstance(segments, bool) or not isinstance(segments, (int, np.integer)) \
            or not 1 <= segments <= max(len(functions), 1):
        raise ValueError(f"checkpoint_sequential: segments must be an integer from 1 to the number of "
                         f"functions ({len(functions)}), got {segments!r}")
    size, end = len(functions) // segments, -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(_segment(functions, start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return _segment(functions, end + 1, len(functions) - 1)(input)


def _segment(functions: list, start: int, end: int) -> Callable[[Tensor], Tensor]:
    """functions[start], ..., functions[end] in turn, named after the slice (as drawings show it)."""
    def run(input: Tensor) -> Tensor:
        for function in functions[start:end + 1]:
            input = function(input)
        return input
    run.__name__ = f"functions[{start}:{end + 1}]"
    return run
