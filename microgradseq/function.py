"""A new op from its forward and its backward, written by hand: PyTorch's `torch.autograd.Function`.

    class LegendreP3(mg.autograd.Function):
        '''P3(x) = (5x^3 - 3x) / 2;   dP3/dx = (15x^2 - 3) / 2'''

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x ** 3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_output):
            x, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * x ** 2 - 1)

    y = LegendreP3.apply(x)

`apply` runs `forward` with nothing recorded and records one node for its
output, named after the class, whose rule calls `backward`: to the engine's
walk it is one more row of the table of derivatives, as tanh is. `backward`
gets dL/d(output) and returns dL/d(input) for each argument of `forward` (None
for an argument that is not a tensor, or that needs no gradient), each of the
input's shape or broadcast from it (then summed back, as every rule's
gradient is). It runs once a pass, however many inputs share it. (PyTorch's
other name for it, `vjp`, works too.) `apply` passes forward its arguments by
position, as PyTorch's does: a keyword argument takes its parameter's place.

A `forward` returning a tuple of tensors records the Function as one node
(named after the class) and each output as a node `Name[k]` that picks its
part out of it: the outputs' gradients all reach the Function's node before
its rule runs (they were made after it), so `backward` runs once a pass with
every output's gradient, as PyTorch's does (zeros, or None after
`ctx.set_materialize_grads(False)`, for an output the pass did not reach).
An output of an integer dtype, or one given to `ctx.mark_non_differentiable`,
is returned without history; an output that is not a tensor (an int, a
string) is returned as it is, and `backward` gets None for it. An argument
that forward changed in place and returns, given to `ctx.mark_dirty`, comes
back as itself with the Function's history.

Forward mode (`mg.jvp`) calls a `jvp(ctx, *tangents)` staticmethod, as
PyTorch's does: the tangent of the output(s) given one tangent per argument of
`forward`.

`out.grad_fn` is the Function's node (or output k's), and reads the call's ctx
as PyTorch's grad_fn, which is the ctx, does: `out.grad_fn.saved_tensors`.
"""

from __future__ import annotations

import inspect
import numbers
import sys
import warnings
import weakref
from typing import Any, Callable

import numpy as np

from . import autograd
from .autograd import FREED, LEAF, OP, Node, anomaly_checks, grad_enabled, no_grad, setting
from .checks import broadcasts_to
from .forward import current_run
from .gradients import Scatter, pass_number
from .tensor import Rules, Tensor, owned, result


def _tensors_only(where: str, tensors: tuple) -> tuple:
    """`tensors` itself, else TypeError naming `where`: ctx keeps tensors (or None) by these names."""
    for position, tensor in enumerate(tensors):
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"{where}: expected tensors (or None), got {type(tensor).__name__} "
                            f"at position {position}; keep other values as attributes of ctx")
    return tensors


class FunctionCtx:
    """What `forward` leaves for `backward` (PyTorch's `ctx`): the tensors given to
    `save_for_backward`, read back as `saved_tensors`; `needs_input_grad`, a bool per argument of
    `forward`; and any attribute `forward` sets (`ctx.scale = 2`)."""

    def __init__(self, needs_input_grad: tuple) -> None:
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self._materialize_non_diff_grads = True     # (PyTorch's private switch: False gives None for the
                                                    # outputs given to mark_non_differentiable)
        self._saved = ()
        self._saved_for_forward = None     # what save_for_forward kept, for `jvp` (None: not called)
        self._in_jvp = False
        self._non_differentiable = ()
        self._dirty = ()
        self._marked = ()                  # the places of the outputs given to mark_non_differentiable
        self._graph = None                 # a weak reference to what the Function's node saved: dead once
                                           # a backward pass has freed the node (None: nothing recorded)

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep these tensors (or None) for `backward`. Their arrays are read-only: what backward
        reads is what forward computed."""
        self._saved = _tensors_only("save_for_backward", tensors)

    def save_for_forward(self, *tensors: Tensor | None) -> None:
        """Keep these tensors (or None) for `jvp`, where `saved_tensors` reads them, as PyTorch's;
        `backward` still reads what `save_for_backward` kept."""
        self._saved_for_forward = _tensors_only("save_for_forward", tensors)

    @property
    def saved_tensors(self) -> tuple:
        """What `save_for_backward` kept, in its order (in `jvp`: what `save_for_forward` kept, if
        it was called). RuntimeError once a backward pass has freed the call's graph, as PyTorch's."""
        if self._graph is not None and self._graph() is None:
            raise RuntimeError("saved_tensors: a backward pass has freed the graph of this Function's call, and "
                               "what it saved with it; pass retain_graph=True to backward to keep them")
        if self._in_jvp and self._saved_for_forward is not None:
            return self._saved_for_forward
        return self._saved

    @property
    def saved_variables(self) -> tuple:
        """PyTorch's deprecated name of `saved_tensors`: the same tensors, after its DeprecationWarning."""
        warnings.warn("'saved_variables' is deprecated; use 'saved_tensors'", DeprecationWarning, stacklevel=2)
        return self.saved_tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With False, `backward` gets None (not zeros) for an output that has no gradient."""
        self.materialize_grads = bool(value)

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """These outputs of `forward` get no gradient: `apply` returns them without history
        (`requires_grad` False), as PyTorch's; `backward` gets zeros (or None) for them."""
        _tensors_only("mark_non_differentiable", tensors)
        self._non_differentiable += tensors

    def mark_dirty(self, *tensors: Tensor) -> None:
        """These arguments were changed in place by `forward` (`x.add_(1)`, under its no_grad) and
        are returned by it: `apply` returns the argument itself, which takes the Function's history
        (what it was before stays in the graph behind it), as PyTorch's."""
        self._dirty += _tensors_only("mark_dirty", tensors)


class Function:
    """Subclass it with `forward(ctx, *args)` and `backward(ctx, *grad_outputs)` staticmethods (or
    PyTorch's newer `forward(*args)` with `setup_context(ctx, inputs, output)`), and call
    `YourFunction.apply(*args)`."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any) -> Any:
        raise NotImplementedError("Function: define forward(ctx, *args) as a staticmethod of your subclass")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Tensor) -> Any:
        raise NotImplementedError("Function: define backward(ctx, *grad_outputs) as a staticmethod of your "
                                  "subclass")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """forward(ctx, *args), recorded as one node whose rule is `backward` (and a node per output
        when there are several). A keyword argument takes its parameter's place among forward's
        arguments, as PyTorch's apply puts it."""
        name = cls.__name__
        newer = "setup_context" in _overridden(cls)
        args = _positional(name, cls.forward, args, kwargs, newer)
        ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        with no_grad(), setting(current_run, None):
            if newer:
                outputs = cls.forward(*args)
                cls.setup_context(ctx, args, outputs)
            else:
                outputs = cls.forward(ctx, *args)
        single = not isinstance(outputs, tuple)
        outputs = (outputs,) if single else outputs
        if any(isinstance(o, np.ndarray) for o in outputs):     # (`x.data * 2`: numpy's, not a tensor's)
            raise TypeError(f"{name}.forward: expected a Tensor or a tuple of Tensors, got "
                            f"{_described(outputs[0] if single else outputs)}; compute outputs with tensors "
                            "(other values, an int say, are returned as they are, as PyTorch's)")
        marked, ctx._non_differentiable = ctx._non_differentiable, ()     # (ctx keeps no output alive)
        ctx._marked = tuple(k for k, o in enumerate(outputs) if any(o is m for m in marked))
        differentiable = tuple(k for k, o in enumerate(outputs) if isinstance(o, Tensor)
                               and o.dtype.kind in "fc" and not any(o is m for m in marked))
        dirty, ctx._dirty = ctx._dirty, ()
        made = _Call(cls, ctx, args, outputs, differentiable).record(outputs)
        made = _changed_in_place(name, made, outputs, dirty, args) if dirty else made
        made = _same_for_same(made, outputs)
        return made[0] if single else made


def once_differentiable(backward: Callable) -> Callable:
    """PyTorch's decorator for a `backward` that cannot itself be differentiated. Here no
    backward is: it runs with nothing recorded, so this returns it as it is."""
    return backward


class _Parts:
    """A Function's several differentiable outputs as parts of one flat node: output k is the part
    [start, stop) of it, in the outputs' common dtype. The outputs' rules hold only this (not the
    ctx, nor the arguments), so an output the backward pass never reached keeps nothing alive."""

    def __init__(self, outputs: tuple, differentiable: tuple) -> None:
        self.outputs = {k: (outputs[k].shape, outputs[k].dtype) for k in differentiable}
        self.dtype = np.result_type(*[outputs[k].dtype for k in differentiable])
        self.spans, start = {}, 0
        for k in differentiable:
            self.spans[k] = (start, start + outputs[k]._data.size)
            start += outputs[k]._data.size
        self.size = start
        self.reached = {}           # output k -> the backward pass that sent it a gradient

    def gradient(self, g: np.ndarray, k: int) -> Scatter:
        """Output k's rule: its gradient g, put in its part of the Function's node."""
        self.reached[k] = pass_number()
        start, stop = self.spans[k]
        return Scatter(slice(start, stop), g.reshape(-1), False)

    def tangent(self, v: np.ndarray, k: int) -> np.ndarray:
        """Output k's forward rule: its part of the Function's flat tangent (k directions first)."""
        start, stop = self.spans[k]
        shape, dtype = self.outputs[k]
        return v[:, start:stop].reshape(v.shape[:1] + shape).astype(dtype, copy=False)

    def given(self, g: np.ndarray) -> dict:
        """Output k -> its gradient, for the outputs this pass reached, from the Function's node's g."""
        now = pass_number()
        return {k: g[start:stop].reshape(self.outputs[k][0]).astype(self.outputs[k][1], copy=False)
                for k, (start, stop) in self.spans.items() if self.reached.get(k) == now}


class _Slots(list):
    """What the Function's node saves, slot i for its input i's rule: a list, so that ctx can hold
    it weakly and see when a backward pass has freed the node (which drops it); `call` is the
    Function's call, which the node's `grad_fn` attributes read (the node's rules hold it already)."""

    call: "_Call"


class _FunctionNode(Node):
    """The node of a Function's call (`out.grad_fn`), still the library's node (`op`, `kind`,
    `inputs`, what drawings read) but also, as PyTorch's grad_fn of a custom Function is its ctx
    (BackwardCFunction), a view of the ctx: `out.grad_fn.saved_tensors`, `.needs_input_grad` and any
    attribute forward set on ctx read it. Once a backward pass has freed the node, nothing of the
    call is kept: `saved_tensors` is a RuntimeError, as PyTorch's."""

    __slots__ = ()                          # (Node's layout: a node's class is changed to this one)

    def _call(self, name: str) -> "_Call":
        saved = self.saved
        if self.kind is FREED or saved is None:
            message = (f"grad_fn.{name}: a backward pass has freed the graph of this Function's call, and what "
                       "it saved with it (as PyTorch's); pass retain_graph=True to backward to keep them")
            raise RuntimeError(message) if name in _CTX_READS else AttributeError(message)
        return saved.call

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):           # (copy, pickle and the like ask for dunders: not the ctx's)
            raise AttributeError(name)
        return getattr(self._call(name).ctx, name)


class _FunctionOutputNode(Node):
    """The node `Name[k]` of output k of a Function with several outputs: its grad_fn reads the
    ctx of the Function's node (its one input) as `_FunctionNode` does; in PyTorch every output's
    grad_fn is that one node."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self.kind is FREED or not self.inputs:
            return _FunctionNode._call(self, name)      # (raises: freed)
        return getattr(self.inputs[0], name)


_CTX_READS = ("saved_tensors", "saved_variables", "needs_input_grad")


class _Call:
    """One application of a Function: its rules read the ctx that forward filled."""

    def __init__(self, cls: type, ctx: FunctionCtx, args: tuple, outputs: tuple, differentiable: tuple) -> None:
        self.cls, self.ctx, self.args = cls, ctx, args
        self.positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        self.outputs = tuple((o.shape, o.dtype) if isinstance(o, Tensor) else None   # (no output array
                             for o in outputs)                                      # kept alive)
        self.differentiable = differentiable
        self.parts = _Parts(outputs, differentiable) if len(differentiable) > 1 else None
        self.parents = ()           # the nodes of the tensor arguments, as the Function's node took them
        self.last = None            # [g, pass, its gradients]: backward runs once a pass for all inputs

    def record(self, outputs: tuple) -> tuple:
        """The tensors `apply` returns: output k with its node, or without history when it is not
        differentiable."""
        name, inputs = self.cls.__name__, [self.args[i] for i in self.positions]
        slots = _Slots(range(len(inputs)))
        slots.call = self
        rules = Rules(vjp=(self.gradient,) * len(slots), jvp=(self.tangent,) * len(slots))
        made = [owned(o._data) if isinstance(o, Tensor) else o for o in outputs]
        if not self.differentiable:
            return tuple(made)
        if self.parts is None:                      # one output: the node is its own
            k = self.differentiable[0]
            made[k] = node = result(name, outputs[k]._data, inputs, rules, slots)
        else:                                       # one node for the Function, one per output
            parts = self.parts
            node = result(name, np.broadcast_to(np.zeros((), parts.dtype), (parts.size,)), inputs, rules, slots)
            if node._node is not None:
                node._node.value = None             # (a placeholder: drawings show no values for it)
            for k in self.differentiable:
                made[k] = result(f"{name}[{k}]", outputs[k]._data, [node],
                                 Rules(vjp=(parts.gradient,), jvp=(parts.tangent,)), (k,))
        if node._node is not None:
            self.parents, self.ctx._graph = node._node.inputs, weakref.ref(slots)
            node._node.__class__ = _FunctionNode                # (grad_fn reads the ctx through it)
            for k in self.differentiable if self.parts is not None else ():
                made[k]._node.__class__ = _FunctionOutputNode
        return tuple(made)

    # ---- reverse mode ------------------------------------------------------------------------

    def gradient(self, g: np.ndarray, slot: int) -> np.ndarray:
        """dL/d(input `slot`), given g = dL/d(output) (several outputs: all of them, flat): backward's
        answer for that argument, backward running once for all of them."""
        last = self.last
        if last is None or last[0] is not g or last[1] != pass_number():
            last = self.last = [g, pass_number(), self._backward(g)]
            graph = self.ctx._graph
            if graph is not None and graph() is None:   # backward ran a pass that freed this very node
                raise RuntimeError(
                    f"{self.cls.__name__}.backward: ran a backward() that freed this Function's node, which the "
                    "outer pass is running (its other inputs' gradients are gone with it); pass "
                    "retain_graph=True to the inner backward()")
        grads = last[2]
        grad, grads[slot] = grads[slot], None
        if all(x is None for x in grads):
            self.last = None                        # (the pass is done with them: keep nothing)
        return grad

    def _grad_outputs(self, g: np.ndarray) -> list:
        """backward's arguments: each output's gradient (read-only), zeros or None where there is none
        (None always for an output that is not a tensor)."""
        def read_only(array: np.ndarray) -> Tensor:
            view = array.view()
            view.setflags(write=False)
            return owned(view)
        given = {self.differentiable[0]: g} if self.parts is None else self.parts.given(g)
        ctx = self.ctx
        none = () if ctx._materialize_non_diff_grads else ctx._marked
        return [read_only(given[k]) if k in given else
                owned(np.zeros(*output)) if ctx.materialize_grads and output is not None and k not in none else None
                for k, output in enumerate(self.outputs)]

    def _backward(self, g: np.ndarray) -> list:
        rule = _backward_rule(self.cls)
        name = f"{self.cls.__name__}.{rule.__name__}"
        grad_outputs = self._grad_outputs(g)
        with no_grad(), setting(anomaly_checks, False):     # (a NaN it makes is named after the Function)
            grads = rule(self.ctx, *grad_outputs)
        if isinstance(grads, list):
            raise TypeError(f"{name}: expected a gradient (a Tensor or None) or a tuple of them, got a list")
        grads = grads if isinstance(grads, tuple) else (grads,)
        extra = grads[len(self.args):]
        if len(grads) < len(self.args) or any(e is not None for e in extra):
            raise ValueError(f"{name}: expected {len(self.args)} gradients (one per argument of forward, None "
                             f"where there is none), got {len(grads)}")
        stray = next((i for i, a in enumerate(self.args) if not isinstance(a, Tensor) and grads[i] is not None), None)
        if stray is not None:
            raise ValueError(f"{name}: returned a gradient for argument {stray}, a "
                             f"{type(self.args[stray]).__name__} and not a tensor; return None there")
        checked = [self._checked(name, grads[i], self.args[i], i) for i in self.positions]
        # the walk asks only the inputs whose node takes a gradient (a leaf's, an op's): drop the others now
        return [grad if parent is not None and parent.kind in (OP, LEAF) else None
                for parent, grad in zip(self.parents, checked)]

    @staticmethod
    def _checked(name: str, grad: Any, x: Tensor, position: int) -> np.ndarray | None:
        """backward's gradient for argument `position` as an array of x's shape, or broadcast from it;
        None stays None: no gradient reaches that input from here (its .grad stays None, as PyTorch's)."""
        if grad is None:
            return None
        if isinstance(grad, Tensor):
            array = grad._data
        elif isinstance(grad, (np.ndarray, np.generic, numbers.Number)) and not isinstance(grad, (bool, np.bool_)):
            array = np.asarray(grad)                # (a numpy array too: the package's own Functions give them)
        else:                                       # (PyTorch's "expected Variable or None (got str)")
            raise TypeError(f"{name}: expected the gradient for argument {position} as a Tensor (or a numpy "
                            f"array) or None, got {type(grad).__name__}")
        if array.dtype.kind not in "fc":
            raise TypeError(f"{name}: the gradient for argument {position} must be floating-point, "
                            f"got dtype {array.dtype}")
        if not broadcasts_to(x.shape, array.shape):
            raise ValueError(f"{name}: the gradient for argument {position} has shape {array.shape}, "
                             f"expected {x.shape} (the argument's shape, or one it broadcasts to)")
        return array

    # ---- forward mode ------------------------------------------------------------------------

    def tangent(self, v: np.ndarray, slot: int) -> np.ndarray:
        """Forward mode's rule: J v = J_1 v_1 + ... + J_n v_n for all the arguments at once, from
        one call of jvp with every argument's tangent (zeros for a tensor without one), as PyTorch
        calls it once; the rule of the first argument with a tangent gives it, the others' add
        nothing. Direction by direction (v carries a leading axis of directions), each call
        seeing ctx as forward left it (a jvp may `del ctx.result`, as PyTorch's tutorial does);
        several outputs: their tangents flat, side by side."""
        name = self.cls.__name__
        if "jvp" not in _overridden(self.cls):
            raise NotImplementedError(f"{name}: forward mode (mg.jvp, a dual level, func.jvp, jacfwd, gradcheck's "
                                      "check_forward_ad) needs a jvp(ctx, *tangents) staticmethod "
                                      "giving the output's tangent, one tangent per argument of forward")
        run = current_run.get()
        given = {i: run.tangent(self.args[i]) for i in self.positions}
        if next(i for i in self.positions if given[i] is not None) != self.positions[slot]:
            return 0.0                              # (in the first one's call already)
        if len(v) == 0:                             # no directions (the Jacobian of an empty input)
            shape, dtype = (self.outputs[self.differentiable[0]] if self.parts is None else
                            ((self.parts.size,), self.parts.dtype))
            return np.zeros((0,) + tuple(shape), dtype)
        as_forward_left_it, per_direction = dict(vars(self.ctx)), []
        for d in range(len(v)):
            vars(self.ctx).update(as_forward_left_it)
            tangents = [None if not isinstance(a, Tensor) else
                        owned(np.zeros_like(a._data) if given[i] is None else given[i][d])
                        for i, a in enumerate(self.args)]
            self.ctx._in_jvp = True
            try:
                with no_grad(), setting(current_run, None):
                    out = self.cls.jvp(self.ctx, *tangents)
            finally:
                self.ctx._in_jvp = False
            out = out if isinstance(out, tuple) else (out,)
            if len(out) != len(self.outputs):
                raise ValueError(f"{name}.jvp: expected {len(self.outputs)} tangents (one per output of "
                                 f"forward), got {len(out)}")
            parts = [self._checked_tangent(name, out[k], k) for k in self.differentiable]
            per_direction.append(parts[0] if len(parts) == 1 else
                                 np.concatenate([p.astype(self.parts.dtype).reshape(-1) for p in parts]))
        return np.stack(per_direction)

    def _checked_tangent(self, name: str, tangent: Any, k: int) -> np.ndarray:
        shape, dtype = self.outputs[k]
        if tangent is None:
            return np.zeros(shape, dtype)
        array = np.asarray(tangent)
        try:
            return np.broadcast_to(array, shape)
        except ValueError:
            raise ValueError(f"{name}.jvp: the tangent of output {k} has shape {array.shape}, expected "
                             f"{shape}") from None


def _changed_in_place(name: str, made: tuple, outputs: tuple, dirty: tuple, args: tuple) -> tuple:
    """`made` with each argument given to ctx.mark_dirty in place of its output: the argument
    itself, with the output's history when one was recorded (under no_grad, as PyTorch's, a new
    tensor over the same values, without history)."""
    made = list(made)
    for x in dirty:
        k = next((k for k, o in enumerate(outputs) if o is x), None)
        if k is None or not any(a is x for a in args):
            raise ValueError(f"{name}.forward: a tensor given to ctx.mark_dirty must be an argument of forward "
                             "that forward returns")
        node = made[k]._node
        if node is not None and x._node is not None and x._node.kind is LEAF:
            raise RuntimeError(f"{name}: forward changed in place (ctx.mark_dirty) a leaf tensor that requires "
                               "grad, whose gradient would then have nowhere to go, as in PyTorch; change a "
                               "copy (x.clone()), or call it under no_grad")
        if node is not None and x._part_of is not None:
            raise NotImplementedError(f"{name}: ctx.mark_dirty of a part of another tensor (x[i]) is not "
                                      "supported: the tensor it is a part of would not take the history")
        if node is not None:
            x._node, x._tangent = node, made[k]._tangent
        if node is not None or grad_enabled.get():
            made[k] = x
    return tuple(made)


def _same_for_same(made: tuple, outputs: tuple) -> tuple:
    """`made` with a tensor forward returned twice (`return out, out`) given back twice as the one
    tensor, as PyTorch's apply does (`a is b`): the last place's, whose history takes the gradient
    of both (backward gets it for that place and zeros, or None, for the others). PyTorch's
    _process_backward_mode_ad sets the one tensor's gradient edge at each place in turn, so the
    last place's edge is the one it keeps."""
    if not any(outputs[j] is outputs[k] for j in range(len(outputs)) for k in range(j)
               if isinstance(outputs[j], Tensor)):
        return made
    made = list(made)
    for j, o in enumerate(outputs):
        k = max(k for k in range(j, len(outputs)) if outputs[k] is o) if isinstance(o, Tensor) else j
        made[j] = made[k]
    return tuple(made)


def _positional(name: str, forward: Callable, args: tuple, kwargs: dict, newer: bool) -> tuple:
    """forward's arguments by position, as PyTorch's apply passes them: a keyword takes its
    parameter's place (each place before it given too), and in the setup_context form forward's
    defaults fill the places not given (setup_context's `inputs` holds them). Arguments that do not
    fit forward are left as they are for forward to say so."""
    if not kwargs and not newer:
        return args
    ctx = () if newer else (None,)
    try:
        bound = inspect.signature(forward).bind(*ctx, *args, **kwargs)
    except (TypeError, ValueError) as error:
        if kwargs:
            raise TypeError(f"{name}.apply: {error}") from None
        return args
    if newer:
        bound.apply_defaults()
    if bound.kwargs:                        # a keyword after a place not given, or one with no place
        places = [p.name for p in inspect.signature(forward).parameters.values()
                  if p.kind is p.POSITIONAL_OR_KEYWORD][len(ctx):]
        gap = next((place for place in places if place not in bound.arguments), None)
        key = next(iter(bound.kwargs))
        raise TypeError(f"{name}.apply: {key}= needs a place among forward's positional arguments, as "
                        "PyTorch's apply passes them by position; " +
                        (f"forward's argument {gap!r} before it was not given" if gap is not None and key in places
                         else f"forward has no positional argument {key!r}"))
    return tuple(bound.args[len(ctx):])


def _overridden(cls: type) -> set:
    """Which of PyTorch's optional hooks (setup_context, jvp, backward or its other name vjp) a
    Function subclass defines."""
    return {name for name in ("setup_context", "jvp", "backward", "vjp")
            if any(name in vars(c) for c in cls.__mro__ if c not in (Function, object))}


def _backward_rule(cls: type) -> Callable:
    """The subclass's backward, or vjp (PyTorch's other name for it); RuntimeError for both, as PyTorch's."""
    defined = _overridden(cls)
    if {"backward", "vjp"} <= defined:
        raise RuntimeError(f"{cls.__name__}: defines both backward and vjp, which are one method under two "
                           "names (as in PyTorch); keep one")
    return cls.vjp if "vjp" in defined else cls.backward


def _described(value: Any) -> str:
    return f"a tuple of {', '.join(type(v).__name__ for v in value)}" if isinstance(value, tuple) \
        else type(value).__name__


# `from torch.autograd.function import once_differentiable` (or Function, FunctionCtx) ports: this module
# is also `mg.autograd.function`, as `forward_ad` and `functional` are (mg.autograd is a module: Python
# looks the name up in sys.modules)
autograd.function = sys.modules[__name__]
sys.modules[autograd.__name__ + ".function"] = sys.modules[__name__]
