"""PyTorch's tensor hooks: `t.register_hook(hook)` calls `hook(grad)` when a backward pass has
computed dL/dt, and a tensor it returns is used in grad's place.

    h.register_hook(lambda g: norms.append(float(g.norm())))    # watch dL/dh_t shrink through time
    h.register_hook(lambda g: g.clamp(-1, 1))                   # clip what flows back through h

- A tensor an op made (a non-leaf): its hooks run once its gradient is complete,
  before its node's rules pass it on; the rules pass on what the hooks return,
  and `h.grad` is that. Registering wraps the node's rules, so that each first
  asks for the hooked gradient, computed once per pass (`OncePerPass`).
- A leaf (a parameter): its hooks run on the gradient this pass computed for
  it, before it is added into `.grad`: p.grad = (p.grad before) + hook(this
  pass's gradient). `register_post_accumulate_grad_hook(hook)` calls hook(p)
  after that. Both run when the pass ends (`HookedGradients`, the gradient hook
  the engine installs).
- `mg.autograd.grad` (and vjp, jacobian, gradcheck, the online runners: `transforms.reverse_gradients`)
  adds into no `.grad`: as PyTorch's, it runs the hooks of the leaves it differentiates with respect
  to (and returns what they return), no other leaf's hooks, and no post-accumulate hook. It collects
  their gradients in nodes of its own (`PrunedPass`' stand-ins), as PyTorch's engine captures them, and
  reads or writes the `.grad` of no leaf it differentiates, nor of a tensor it stops at: a backward() run
  meanwhile fills them as usual.
  `t.backward(inputs=[...])` runs only the inputs' hooks, and their post-accumulate hooks. Either
  walks only the nodes on a path to those tensors, as PyTorch's (`PrunedPass`): a branch that leads
  elsewhere is not run (its hooks, a Function's backward), gets no gradient, and is not freed; nor is
  the node of a non-leaf it stops at (`g = grad(loss, h)`, then `h.backward(g)`).
- Every hook runs under `no_grad()`, as PyTorch runs hooks during a backward pass:
  `p.register_post_accumulate_grad_hook(lambda p: p.add_(p.grad, alpha=-lr))` is an
  SGD step fused into the backward pass, and nothing a hook computes is recorded.

The core's walk knows nothing of hooks: it calls the rules it finds on a node.
"""

from __future__ import annotations

import threading
import weakref
from typing import Callable

import numpy as np

from .autograd import CUT, FREED, LEAF, OP, Node, hooks, no_grad
from .gradients import GradientPass, OncePerPass, pass_number
from .tensor import Tensor, owned
from .transforms import Differentiated, differentiated
from .utils.hooks import HookRegistry, RemovableHandle, add_hook


def _call(hook: Callable, value: Tensor, shape: tuple, dtype: np.dtype) -> np.ndarray | None:
    """hook(value), checked: None, or an array of `shape` and `dtype`, as PyTorch requires (the dtype checked
    first, as PyTorch's `check_variable_result`: a hook changing both is told of its dtype). Under `no_grad`,
    as PyTorch runs hooks during a backward pass: nothing a hook computes is recorded."""
    with no_grad():
        out = hook(value)
    if out is None:
        return None
    array = out._data if isinstance(out, Tensor) else out
    if isinstance(array, np.generic):       # (a 0-d gradient may be a numpy scalar)
        array = np.asarray(array)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"register_hook: a hook must return None or a tensor, got {type(out).__name__}")
    changed = (f"dtype of the gradient: expected {dtype}, got {array.dtype}" if array.dtype != dtype else
               f"size of the gradient: expected shape {shape}, got {array.shape}" if array.shape != shape else None)
    if changed is not None:
        raise RuntimeError(f"register_hook: hook {getattr(hook, '__name__', hook)!r} changed the {changed}")
    return array


def run_hooks(registry: dict, grad: np.ndarray) -> np.ndarray:
    """Each hook in turn, on what the one before returned: the hooked gradient. A hook that changed its
    argument in place (`g.mul_(2)`, which gives the tensor a new array) passes that on, as in PyTorch."""
    grad = np.asarray(grad)                 # (a 0-d gradient may be a numpy scalar)
    for hook in list(registry.values()):
        given = owned(grad.view())
        array = given._data
        replaced = _call(hook, given, grad.shape, grad.dtype)
        if replaced is not None:
            grad = replaced
        elif given._data is not array:
            grad = given._data
    return grad


class _HookedRules(tuple):
    """A hooked node's rules: each rule of the original row, fed the hooked gradient. `hooks`: its
    registry; `walked`: a list holding the node while a backward pass walks it (`HookedGradients`),
    empty otherwise. The rules do not keep their node: node -> rules -> node would be a cycle, and
    the whole graph behind a hooked tensor dropped without a backward pass (or after one with
    retain_graph) would outlive its last reference until the garbage collector ran."""


def _hook_node(node) -> dict:
    """Wrap the rules of an op's node (once), so that they pass on the hooked gradient; its hooks."""
    global _hooked_nodes
    if isinstance(node.rules, _HookedRules):
        return node.rules.hooks
    registry, walked = HookRegistry(), []

    def hooked(g: np.ndarray) -> np.ndarray:
        g = run_hooks(registry, g)              # what the rules pass on
        if walked:                              # (empty in a pass of the core's plain adder: `.grad` unhooked)
            walking = walked[0]
            if walking.kind is FREED:           # a backward() run by a hook freed it: its other rules are gone
                raise _freed_by_inner_pass(walking, "the node whose hook ran it, which the outer pass is running")
            walking.grad = g                    # and what `.grad` shows
        return g
    once = OncePerPass(hooked)

    def wrapped(rule: Callable) -> Callable:
        return lambda g, kept: rule(once(g), kept)
    node.rules = _HookedRules(wrapped(rule) for rule in node.rules)
    node.rules.hooks, node.rules.walked = registry, walked
    _hooked_nodes = True
    return registry


_hooked_nodes = False       # whether an op's node was ever hooked: until then a pass looks for none


def _freed_by_inner_pass(node, what: str = "nodes the outer pass has still to walk") -> RuntimeError:
    return RuntimeError(
        f"backward: a backward() run inside another backward pass (by a hook or a Function's backward) freed "
        f"{what} (node {node.describe()}): the graph has already been freed for the outer pass; pass "
        "retain_graph=True to the inner backward()")


# Leaves with hooks: id(tensor) -> (a weak reference to it, its hooks, its post-accumulate hooks).
_hooked_leaves: dict[int, tuple] = {}


def _leaf_hooks(tensor: Tensor) -> tuple[dict, dict]:
    """A leaf's (hooks, post-accumulate hooks), made on first use; its entry goes when the tensor does."""
    key = id(tensor)

    def forget(_reference, leaves: dict = _hooked_leaves) -> None:     # (when the tensor is gone; the table held
        leaves.pop(key, None)                                           # here, as at exit the module's is None)
    if key not in _hooked_leaves:
        _hooked_leaves[key] = (weakref.ref(tensor, forget), HookRegistry(), HookRegistry())
    return _hooked_leaves[key][1:]


def register_hook(self: Tensor, hook: Callable) -> RemovableHandle:
    """PyTorch's `t.register_hook(hook)`: `hook(grad)` runs when a backward pass has computed dL/dt (a
    read-only tensor), and may return a tensor of the same shape and dtype to use instead."""
    node = self._node
    if node is None or node.kind is CUT:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
    if not callable(hook):
        raise TypeError(f"register_hook: expected a function of the gradient, got {type(hook).__name__}")
    if node.kind is LEAF:
        registry = _leaf_hooks(self)[0]
    elif node.kind is FREED:
        registry = HookRegistry()     # a backward pass is done with it: no pass will reach it again
    else:
        registry = _hook_node(node)
    return add_hook(registry, hook)


def register_post_accumulate_grad_hook(self: Tensor, hook: Callable) -> RemovableHandle:
    """PyTorch's `p.register_post_accumulate_grad_hook(hook)`, for a leaf: `hook(p)` runs after a
    backward pass has added its gradient into `p.grad` (an optimizer step per parameter, say)."""
    node = self._node
    if node is None or node.kind is not LEAF:
        raise RuntimeError("register_post_accumulate_grad_hook: only leaf tensors that require grad take "
                           "post-accumulate-grad hooks")
    if not callable(hook):
        raise TypeError(f"register_post_accumulate_grad_hook: expected a function of the tensor, got "
                        f"{type(hook).__name__}")
    return add_hook(_leaf_hooks(self)[1], hook)


class HookedGradients(GradientPass):
    """`GradientPass`, and the hooks of the leaves the pass reaches: their gradients start at None for
    the pass (each leaf's `.grad` before is put aside), and at its end
    p.grad = (before) + hook(this pass's gradient), then the post-accumulate hooks see p. A pass run inside
    another (by a hook, a Function's backward) puts back the outer pass's partial sums in the op nodes both
    walk (neither adds into the other's), and is refused if it freed a node an enclosing pass has still to
    walk (`_freed_for_outer`), as PyTorch's outer pass refuses a freed graph. While it runs, a pass started
    inside it is an ordinary one (`differentiated` is None again until it ends): a hook's plain backward()
    during `autograd.grad` fills the leaves' `.grad`, as PyTorch's re-entrant backward does."""

    __slots__ = ("put_aside", "walked", "ops_before", "outer_differentiated")

    def __init__(self, order: list, stand_ins: dict | None = None) -> None:
        self.ops_before = [(node, node.grad) for node in order if node.kind is OP] if pass_number() else ()
        super().__init__(order)
        self.put_aside = _put_aside(order, differentiated.get(), stand_ins) if _hooked_leaves else ()
        self.walked = _hold_walked_nodes(order) if _hooked_nodes else ()
        _walking.orders.append(order)       # (the list the core pops: what this pass has still to walk)

    def __enter__(self) -> HookedGradients:
        # a pass that a hook or a Function's backward runs inside this one is its own: a plain backward() there
        # fills every leaf's .grad, whatever this pass differentiates with respect to (`differentiated`)
        self.outer_differentiated = differentiated.set(None)
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        failed = error_type is not None
        try:
            super().__exit__(error_type, error, traceback)
        except BaseException:
            failed = True
            raise
        finally:
            for walked, before in self.walked:      # (before: a pass a hook ran inside another pass)
                walked[:] = before
            for node, before in self.ops_before:
                if node.kind is OP:
                    node.grad = before
            order = _walking.orders.pop()
            try:
                self._hand_back(failed)
            finally:
                differentiated.reset(self.outer_differentiated)
        owed = _walking.owed.pop(id(order), None) if _walking.owed else None
        if owed is not None and not failed:     # (a pass inside this one failed, having freed a node of it)
            raise _freed_by_inner_pass(owed)
        found = self._freed_for_outer() if self.ops_before else None
        if found is not None and failed:        # (its caller may catch this pass's error: the outer refuses)
            _walking.owed[id(found[0])] = found[1]
        elif found is not None:
            raise _freed_by_inner_pass(found[1])

    def _freed_for_outer(self) -> tuple | None:
        """A pass run inside another without `retain_graph` may have freed nodes an enclosing pass (the one
        it runs in, or one further out: a hook's pass inside a hook's pass) has still to walk, which would
        pass nothing on: (that pass's order, such a node), refused as PyTorch's outer pass refuses a freed
        graph; None when there is none."""
        freed = [node for node, _ in self.ops_before if node.kind is FREED]
        for outer in _walking.orders if freed else ():        # (this pass's own order is off the list)
            still = set(outer)
            node = next((node for node in freed if node in still), None)
            if node is not None:
                return outer, node
        return None

    def _hand_back(self, failed: bool) -> None:
        """Each hooked leaf's .grad: its gradient before (as a hook left it), plus this pass's, hooked.
        A pass that failed adds nothing into them: its gradient would go in without its hooks (a
        clipping hook bypassed), and the hooks would run on part of a gradient."""
        reached = []
        for tensor, node, before, leaf_hooks in self.put_aside:
            this_pass, node.grad = node.grad, before
            if this_pass is not None:
                reached.append((tensor, node, this_pass, leaf_hooks))
        if failed:
            return
        for tensor, node, this_pass, (grad_hooks, after_hooks) in reached:
            this_pass = run_hooks(grad_hooks, this_pass)
            before = node.grad                  # (after the hooks: one may have set p.grad = None)
            node.grad = this_pass if before is None else before + this_pass
            with no_grad():                     # (an optimizer step in the hook changes p in place, as PyTorch's)
                for hook in list(after_hooks.values()):
                    hook(tensor)


class _Walking(threading.local):
    """Per thread: `orders`, the lists its passes are walking, the innermost last; `owed`, id(order) -> a
    node of that order a failed inner pass freed (the pass refuses it when it ends)."""

    def __init__(self) -> None:
        self.orders, self.owed = [], {}


_walking = _Walking()


class PrunedPass(HookedGradients):
    """`HookedGradients` for a pass that differentiates with respect to some tensors only, `needed` the
    nodes on a path to them: it walks those, and adds no gradient into any other node. As PyTorch's, it
    does not walk past a tensor it differentiates with respect to (the node of `h` in
    `autograd.grad(loss, h)`, unless the pass goes on through it to another such tensor): that node is
    neither run nor freed (h's hooks run on its gradient when the walk is over, `_hook_stops`), so
    `h.backward(g)` can follow.

    A pass that adds into no `.grad` (`reverse_gradients`: `captured.capture` is a dict) adds what reaches a
    leaf it differentiates with respect to, or a node it stops at, into a node of its own (`stand_ins`, a
    node -> its stand-in) and hands the gradients over in `captured.capture` when it ends, as PyTorch's
    engine captures them in its GraphTask: it reads and writes no `.grad` of those tensors, so a backward()
    that a hook or another thread runs meanwhile neither lands in the result nor is lost. (A node it walks
    through to another such tensor keeps its gradient in `.grad`, which the core's walk reads.) With
    `captured.recorded_from` (vjp, jacobian) it stops at each such node made before fn ran, and walks no
    other node made then (`_on_a_path`)."""

    __slots__ = ("needed", "stops", "stand_ins", "capture", "walked_targets", "recorded_from")

    def __init__(self, order: list, needed: set, captured: Differentiated) -> None:
        self.needed, self.capture, self.recorded_from = needed, captured.capture, _recorded_from(captured)
        targets = captured.nodes
        walked, self.stops, self.stand_ins = [], [], {}
        for node in order:
            if node in needed:
                if _passes_on(node, needed) and node.seq >= self.recorded_from:
                    walked.append(node)
                    if self.capture is not None and node.kind is LEAF and node in targets:
                        self.stand_ins[node] = _stand_in(node)
                    continue
                registry = node.rules.hooks if type(node.rules) is _HookedRules else None
                if self.capture is not None:        # (a non-leaf it stops at: this pass's gradient only)
                    self.stand_ins[node] = _stand_in(node)
                    self.stops.append((node, registry, None))
                else:
                    self.stops.append((node, registry, node.grad))
                    node.grad = None
        self.walked_targets = [node for node in walked if node.kind is OP and node in targets]
        needed.update(self.stand_ins.values())  # (GradientPass.add hands a stand-in a scalar back to `add`)
        order[:] = walked                       # (the list the core walks)
        super().__init__(order, self.stand_ins)

    def add(self, node, grad, source) -> None:
        if node in self.needed:
            super().add(self.stand_ins.get(node, node), grad, source)

    def __exit__(self, error_type, error, traceback) -> None:
        hook_error = None
        if error_type is None:
            try:
                self._hook_stops()
            except BaseException as raised:
                hook_error, error_type, error, traceback = raised, type(raised), raised, raised.__traceback__
        if error_type is not None and self.capture is None:     # a failed pass leaves the stops' .grad as it
            for node, _, before in self.stops:                  # found them
                node.grad = before
        # (read before super().__exit__, which puts back a nested pass's partial sums in the op nodes it walked)
        through = [(node, node.grad) for node in self.walked_targets] if error_type is None else []
        super().__exit__(error_type, error, traceback)
        if hook_error is not None:
            raise hook_error
        if self.capture is not None and error_type is None:
            found = through + [(node, stand_in.grad) for node, stand_in in self.stand_ins.items()]
            self.capture.update((node, grad) for node, grad in found if grad is not None)

    def _hook_stops(self) -> None:
        """The hooks of each hooked non-leaf the pass stops at, on its gradient (once complete: the walk is
        over), which `.grad` then shows and `autograd.grad` returns. PyTorch's engine runs a tensor's
        pre-hooks on a node it captures without executing it (`call_tensor_pre_hooks` when not `needed_`),
        so the node is neither run nor freed here either."""
        for node, registry, _ in self.stops:
            holder = self.stand_ins.get(node, node)
            if registry is not None and holder.grad is not None and node.seq >= self.recorded_from:
                holder.grad = run_hooks(registry, holder.grad)


def _stand_in(node) -> Node:
    """A node of the pass's own that collects the gradient of `node` (a leaf's, or a stop's) in its place:
    the same shape, dtype and description (anomaly errors name it), a leaf's kind for a leaf."""
    stand_in = Node(node.op, LEAF if node.kind is LEAF else OP, (), None, None, node.shape, node.dtype)
    stand_in.label, stand_in.step, stand_in.scope = node.label, node.step, node.scope
    return stand_in


def _passes_on(node, needed: set) -> bool:
    """Whether a pass that needs `needed` walks `node`: an op's node when its rules pass a gradient on to
    a needed node; any other kind (a leaf: nothing to run; a freed node: refused)."""
    return node.kind is not OP or not needed.isdisjoint(node.inputs)


def _on_a_path(order: list, targets: set, recorded_from: int = -1) -> set:
    """The nodes of `order` (a topological order) from which a backward pass reaches one of `targets`.
    A freed node counts: its edges are gone, so the pass says it was freed rather than guess. None made
    before `recorded_from` but the targets (`Differentiated.recorded_from`)."""
    needed = set()
    for node in order:
        if node in targets or (node.seq >= recorded_from and (
                node.kind is FREED or (node.kind is OP and not needed.isdisjoint(node.inputs)))):
            needed.add(node)
    return needed


def _recorded_from(captured: Differentiated | None) -> int:
    """`captured.recorded_from`, -1 (every node) when it is None."""
    return -1 if captured is None or captured.recorded_from is None else captured.recorded_from


def _gradients(order: list) -> HookedGradients:
    """The engine's `hooks.gradients`: a pass of `reverse_gradients` is always pruned (`PrunedPass` captures
    its gradients), one of `backward(inputs=...)` only when some node leads elsewhere."""
    captured = differentiated.get()
    if captured is None:
        return HookedGradients(order)
    needed = _on_a_path(order, captured.nodes, _recorded_from(captured))
    if captured.capture is None and len(needed) == len(order):
        return HookedGradients(order)
    return PrunedPass(order, needed, captured)


def _hold_walked_nodes(order: list) -> list:
    """(its `walked` list, what the list held) for each hooked op's node in this pass, the list now
    holding the node until the pass ends: its hooked rules set the node's `.grad`."""
    found = []
    for node in order:
        rules = node.rules
        if type(rules) is _HookedRules:
            found.append((rules.walked, rules.walked[:]))
            rules.walked[:] = [node]
    return found


def _put_aside(order: list, captured: Differentiated | None, stand_ins: dict | None) -> list:
    """(tensor, node, its .grad before, its hooks) for each hooked leaf in this pass; its .grad None.
    In a pass that differentiates with respect to some tensors only (`captured`: `reverse_gradients`,
    `backward(inputs=...)`), only those leaves' hooks (none made before `captured.recorded_from`), and their
    post-accumulate hooks only when the pass adds into their `.grad`. A leaf with a stand-in (`PrunedPass`)
    is collected by it: the stand-in is the node here, and the leaf's own `.grad` is not touched."""
    in_pass = set(order) if captured is None else captured.nodes.intersection(order)
    found = []
    for reference, grad_hooks, after_hooks in list(_hooked_leaves.values()):
        tensor = reference()
        if tensor is None or tensor._node not in in_pass or tensor._node.seq < _recorded_from(captured):
            continue
        if captured is not None and not captured.accumulates:
            after_hooks = {}
        if grad_hooks or after_hooks:
            node = stand_ins.get(tensor._node, tensor._node) if stand_ins else tensor._node
            found.append((tensor, node, node.grad, (grad_hooks, after_hooks)))
            node.grad = None
    return found


_gradients.captures = True     # (its passes capture what `reverse_gradients` asks for: `Differentiated.capture`)
hooks.gradients = _gradients
Tensor.register_hook = register_hook
Tensor.register_post_accumulate_grad_hook = register_post_accumulate_grad_hook
