"""The two modes of autodiff as functions: `jvp` (forward mode), `vjp` (reverse mode), `jacobian`.

For f: R^n -> R^m with Jacobian J (m x n):

- `jvp(f, x, v)` = (f(x), J v): one forward pass carrying tangents, nothing
  recorded. Cost ~ one evaluation per direction v, so a full Jacobian takes
  n passes (cheap when n is small: few inputs, many outputs).
- `vjp(f, x, u)` = (f(x), u^T J): one forward pass recording the tape, one
  backward pass. A full Jacobian takes m passes (cheap when m is small: a
  scalar loss of many parameters, which is why training uses reverse mode).
"""

from __future__ import annotations

import warnings
from contextvars import ContextVar
from typing import Any, Callable, NamedTuple

import numpy as np

from . import autograd
from .autograd import CUT, FREED, LEAF, OP, Node, grad_enabled, no_grad, setting
from .checks import user_stacklevel
from .forward import Seed, current_run
from .gradients import pass_number
from .tensor import Tensor, array_of, numbers_in, owned


# The torch.func transform (func.py) whose function runs now, in this thread: a transform inside it would
# differentiate a derivative, which is not recorded here.
current_transform = ContextVar("func_transform", default=None)


def refuse_inside_transform(name: str) -> None:
    """NotImplementedError naming `name` when it is called inside a torch.func transform's function."""
    outer = current_transform.get()
    if outer is not None:
        raise NotImplementedError(
            f"{name}: called inside func.{outer}: a transform of a transform (jacrev(jacrev(f)), jvp(grad(f)), "
            "hessian, the gradient of a dual tensor's tangent) is a second derivative, and gradients here are not "
            "recorded; differentiate a gradient written out by hand, or use finite differences")


def _as_list(name: str, inputs: Any) -> list:
    """One tensor, or a sequence of them, as a list (its items checked by the caller); errors name `name`."""
    try:
        return [inputs] if isinstance(inputs, Tensor) else list(inputs)
    except TypeError:
        raise TypeError(f"{name}: inputs must be a Tensor or a sequence of Tensors, got "
                        f"{type(inputs).__name__}") from None


def _tensors(name: str, inputs: Any) -> list[Tensor]:
    """The inputs of a transform `name` (jvp, vjp, jacobian) as a list of floating-point tensors."""
    refuse_inside_transform(name)
    if current_run.get() is not None:
        raise RuntimeError(f"{name}: called inside a forward-mode run (a dual level, or the function of mg.jvp "
                           "or of another forward-mode transform); nesting transforms is not supported")
    inputs = _as_list(name, inputs)
    for position, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: input {position} must be a Tensor, got {type(x).__name__}")
        if x.dtype.kind not in "fc":
            raise TypeError(f"{name}: input {position} must be a floating-point tensor, got dtype {x.dtype}")
    return inputs


def _distinct(inputs: list[Tensor]) -> list[Tensor]:
    """The inputs as forward mode seeds them: the caller's own tensor where reverse mode sees fn read it
    through a closure (`_closure_uses`: the first time a tensor that requires grad is given, a parameter fn
    may reach through its module rather than its argument), so that both modes see the same closures;
    else a tensor of its own over the same array: a tensor given twice, the second time (each argument
    slot of fn gets its own tangent: f(x, x) along (u, v) is J_1 u + J_2 v), and a tensor that requires no
    grad, which fn reads through a closure as a constant, as reverse mode (no use of it is recorded) and
    torch.func's transforms do."""
    return [x if seen is not None else owned(x._data) for x, seen in zip(inputs, _closure_uses(inputs))]


def _directions(name: str, inputs: list[Tensor], arrays: Any, what: str) -> tuple[list[np.ndarray], bool]:
    """The arrays, one per input, each shaped like it or with one extra leading axis of k
    directions (the same k for all); and whether they had that axis."""
    arrays = [arrays] if isinstance(arrays, (np.ndarray, Tensor)) or np.isscalar(arrays) else list(arrays)
    if len(arrays) != len(inputs):
        raise ValueError(f"{name}: expected {len(inputs)} {what}s (one per input), got {len(arrays)}")
    try:
        arrays = [array_of(a, x.dtype) for a, x in zip(arrays, inputs)]
    except (TypeError, ValueError):
        given = ", ".join(type(a).__name__ for a in arrays)
        raise TypeError(f"{name}: expected the {what}s as tensors, arrays or numbers that cast to the inputs' "
                        f"dtypes ({', '.join(str(x.dtype) for x in inputs)}), got {given}") from None
    batched = [a.shape != x.shape for a, x in zip(arrays, inputs)]
    for position, (a, x) in enumerate(zip(arrays, inputs)):
        if a.shape != x.shape and a.shape[1:] != x.shape:
            raise ValueError(f"{name}: the {what} of input {position} has shape {a.shape}; expected the input's "
                             f"shape {x.shape} or (k,) + {x.shape} for k directions")
    if any(batched):
        counts = {a.shape[0] for a, b in zip(arrays, batched) if b}
        if not all(batched) or len(counts) != 1:
            raise ValueError(f"{name}: every {what} needs the same leading axis of k directions, got shapes "
                             f"{[a.shape for a in arrays]}")
    return arrays, any(batched)


def jvp(fn: Callable[..., Any], inputs: Any, tangents: Any) -> tuple[Any, Any]:
    """Forward mode: (fn(*inputs), J v), v = `tangents` (one array per input, shaped like it, or
    with a leading axis of k directions: then J v has that axis too). Records no tape.
    `fn` may return a tensor or a tuple of tensors (then a tuple of outputs and a tuple of tangents).

    An input that requires grad (a parameter) is seeded as the caller's own tensor, so where fn reads it
    through a closure it moves too (a module's parameter given as an input and read by the module), as
    `vjp` and `jacobian(mode="rev")` see it. An input that requires no grad is given to fn as a tensor of
    its own, so a closure over it is a constant, in both modes (as in torch.func's): let fn use its
    arguments (`mg.func.functional_call` puts them in a module's place)."""
    return _forward_pass("jvp", fn, inputs, tangents)


def _forward_pass(name: str, fn: Callable[..., Any], inputs: Any, tangents: Any) -> tuple[Any, Any]:
    """jvp, its errors naming `name` (the public function the caller is)."""
    inputs = _distinct(_tensors(name, inputs))
    tangents, batched = _directions(name, inputs, tangents, "tangent")
    if not batched:
        tangents = [v[None] for v in tangents]
    as_given = [(x, x._data, x._node, x._tangent, x._part_of)     # fn's in-place operators
                for x in _with_bases(inputs)]       # (x += 1; into a part, its bases' too)
    with no_grad(), Seed(inputs, tangents) as run:      # change its inputs only while it runs, as torch.func's
        try:
            outputs = fn(*inputs)
            single = isinstance(outputs, Tensor)
            if not single and not isinstance(outputs, (tuple, list)):
                raise TypeError(f"{name}: fn must return a Tensor or a tuple of Tensors, got {type(outputs).__name__}")
            outputs = (outputs,) if single else tuple(outputs)
            results, out_tangents = [], []
            for output in outputs:              # (read before the inputs are restored: fn may return one)
                if not isinstance(output, Tensor):
                    raise TypeError(f"{name}: fn must return a Tensor or a tuple of Tensors, got "
                                    f"{type(output).__name__}")
                tangent = run.tangent(output)
                k = len(tangents[0]) if tangents else 1
                tangent = np.zeros((k,) + output.shape, output.dtype) if tangent is None else np.asarray(tangent)
                out_tangents.append(tangent if batched else tangent[0])
                results.append(owned(np.array(output._data)))
        finally:
            for x, data, node, tangent, part_of in as_given:
                x._data, x._node, x._tangent, x._part_of = data, node, tangent, part_of
                x._show_leaf_value()
    return (results[0], out_tangents[0]) if single else (tuple(results), tuple(out_tangents))


def _with_bases(inputs: list) -> list:
    """The inputs and, for an input that is a part of another tensor (`base[0]`), the tensors above it,
    each once: a write into the part writes into them too."""
    seen, out = set(), []
    for x in inputs:
        while x is not None and id(x) not in seen:
            seen.add(id(x))
            out.append(x)
            x = x._part_of and x._part_of[0]
    return out


def vjp(fn: Callable[..., Tensor], inputs: Any, cotangent: Any) -> tuple[Tensor, list[np.ndarray]]:
    """Reverse mode: (fn(*inputs), u^T J), u = `cotangent` shaped like fn's output; one array
    per input (dL/dx for L = sum(u * fn(x))). No `.grad` changes: the inputs' own, or those of the
    parameters fn uses, are left as they were (as PyTorch's torch.autograd.functional.vjp).
    fn gets fresh copies of the inputs; an input that requires grad (a parameter) is also
    differentiated where fn reads it through a closure (`_closure_uses`), as `jvp` sees it move: its
    hooks do not run (jvp runs none), and its `.grad` is neither read nor written."""
    inputs = _tensors("vjp", inputs)
    output, wrt, originals = _recorded("vjp", fn, inputs, "mg.func.vjp or mg.autograd.functional.vjp")
    try:
        u = array_of(cotangent, output.dtype)
    except (TypeError, ValueError):
        raise TypeError(f"vjp: expected the cotangent as a tensor, an array or numbers that cast to the output's "
                        f"dtype {output.dtype}, got {type(cotangent).__name__}") from None
    if u.shape != output.shape:
        raise ValueError(f"vjp: the cotangent has shape {u.shape}, the output {output.shape}")
    grads = reverse_gradients([(output, u)], wrt, recorded_from=_first_recorded(wrt))
    return owned(np.array(output._data)), _add_closure_uses(grads, originals)


def _recorded(name: str, fn: Callable[..., Tensor], inputs: list[Tensor], instead: str) -> tuple[Tensor, list, list]:
    """Reverse mode's forward pass: fn's output on fresh copies of the inputs, recorded (also inside no_grad, as
    PyTorch's); the tensors to differentiate with respect to (the copies, then the inputs fn may read through a
    closure); and `_closure_uses(inputs)`. fn must return one tensor: for a tuple (an LSTM's (h, c)) the error
    names `instead`, the functions that take a tuple of outputs; other errors name `name`."""
    copies = [owned(x._data, requires_grad=True) for x in inputs]
    originals = _closure_uses(inputs)
    with setting(grad_enabled, True):
        output = fn(*copies)
    if not isinstance(output, Tensor):
        hint = (f"; return one tensor of it (fn(x)[0]), or use {instead}, which take a tuple of outputs"
                if isinstance(output, (tuple, list)) else "")
        raise TypeError(f"{name}: fn must return a Tensor, got {type(output).__name__}{hint}")
    return output, copies + [x for x in originals if x is not None], originals


def _closure_uses(inputs: list[Tensor]) -> list[Tensor | None]:
    """For each input, itself when reverse mode can see fn read it through a closure: its uses are
    recorded (it requires grad, as a module's parameter given as an input does), the first time it is
    given (as `jvp` seeds it); else None. A tensor that requires no grad records no use to see."""
    seen, originals = set(), []
    for x in inputs:
        node = x._node
        originals.append(x if id(x) not in seen and node is not None and node.kind in (OP, LEAF) else None)
        seen.add(id(x))
    return originals


def _first_recorded(wrt: list[Tensor]) -> int | None:
    """The number of the first node of fn's record, its first fresh copy's (`_recorded` makes them before
    fn runs): what `Differentiated.recorded_from` is for vjp and jacobian."""
    return wrt[0]._node.seq if wrt else None


def _add_closure_uses(grads: list, originals: list) -> list:
    """The gradients through fn's arguments (the first len(originals) of `grads`), each plus the one
    through its original's uses in a closure (the rest, in order) where it has one."""
    through_closures = iter(grads[len(originals):])
    return [g if x is None else g + next(through_closures) for g, x in zip(grads, originals)]


def jacobian(fn: Callable[[Tensor], Tensor], inputs: Any, mode: str = "rev") -> np.ndarray:
    """The Jacobian of a tensor-valued fn of one input x, shape out.shape + x.shape: row by row in
    reverse mode (`mode="rev"`: one recorded forward pass, then one backward pass per output
    element) or column by column in forward mode (`"fwd"`: all x.size input directions in one
    batched forward pass). As `vjp` and `jvp`: `"rev"` calls fn with a fresh copy of x, `"fwd"` with x
    itself when x requires grad (else a copy), and both see x read through a closure when x requires grad
    (without running its hooks)."""
    tensors = _tensors("jacobian", inputs)
    if len(tensors) != 1:
        raise ValueError(f"jacobian: fn takes one input here, got {len(tensors)} inputs")
    (x,) = tensors
    if mode == "fwd":
        return jacobian_columns(fn, x, "jacobian")[1]
    if mode != "rev":
        raise ValueError(f"jacobian: mode must be 'rev' or 'fwd', got {mode!r}")
    output, wrt, originals = _recorded("jacobian", fn, [x], "mg.func.jacrev or mg.autograd.functional.jacobian")
    return _add_closure_uses(jacobian_blocks(output, wrt, _first_recorded(wrt)), originals)[0]


def jacobian_columns(fn: Callable[[Tensor], Any], x: Tensor, name: str) -> tuple[Any, Any]:
    """(fn(x), d fn(x) / d x) by forward mode, column by column: the x.size unit vectors as the
    directions of one batched forward pass, nothing recorded. The Jacobian has shape
    output.shape + x.shape; for fn returning a tuple of tensors, a tuple of them.
    jacobian and gradcheck build on it; errors name `name`, the caller."""
    outputs, blocks = joint_jacobian_columns(fn, [x], name)
    return outputs, blocks[0] if isinstance(outputs, Tensor) else tuple(per_input[0] for per_input in blocks)


def joint_jacobian_columns(fn: Callable[..., Any], xs: list[Tensor], name: str) -> tuple[Any, Any]:
    """(fn(*xs), d fn / d x for each x of `xs`) in one forward pass: n directions, n the sizes of
    the xs added up, x's tangent the rows of the n x n identity that move x alone. fn runs once, so
    every column sees the same random draws (a dropout mask), as PyTorch's jacfwd, which also
    pushes one basis for all its inputs. The blocks: a list with one per x, shaped
    output.shape + x.shape (for fn returning a tuple of tensors, a tuple of such lists)."""
    sizes = [x._data.size for x in xs]
    starts, n = np.cumsum([0] + sizes[:-1]), sum(sizes)
    directions = [np.eye(n, dtype=x.dtype)[:, start:start + size].reshape((n,) + x.shape)
                  for x, start, size in zip(xs, starts, sizes)]
    outputs, tangents = _forward_pass(name, fn, xs, directions)

    def blocks(y: Tensor, tangent: np.ndarray) -> list[np.ndarray]:     # (n, *y.shape) -> y.shape + x.shape
        tangent = tangent.reshape((n,) + y.shape)
        return [np.moveaxis(tangent[start:start + size], 0, -1).reshape(y.shape + x.shape)
                for x, start, size in zip(xs, starts, sizes)]

    if isinstance(outputs, Tensor):
        return outputs, blocks(outputs, tangents)
    return outputs, tuple(blocks(y, tangent) for y, tangent in zip(outputs, tangents))


def jacobian_blocks(output: Tensor, tensors: list[Tensor], recorded_from: int | None = None) -> list[np.ndarray]:
    """d output / d x for each x of `tensors`, of shape output.shape + x.shape, row by row: one
    backward pass per element of the output, seeded with that element's one-hot cotangent (the
    graph kept between them); `recorded_from` as in `Differentiated`.
    jacobian, gradcheck and autograd.functional build on it."""
    size = output._data.size
    one_hot = np.eye(size, dtype=output.dtype).reshape((size,) + output.shape)
    rows = reverse_gradient_rows([[(output, u)] for u in one_hot], tensors, True, None, recorded_from)
    return [np.array([row[j] for row in rows], dtype=x.dtype).reshape(output.shape + x.shape)
            for j, x in enumerate(tensors)]


class Differentiated(NamedTuple):
    """What a pass differentiates with respect to: the nodes of some tensors only, and whether it adds
    into their `.grad` (`t.backward(inputs=...)`) or into no `.grad` (`reverse_gradients`). A pass of
    the second kind puts each node's gradient in `capture` (node -> array), as PyTorch's engine captures
    an input's gradient in its GraphTask (`captured_vars_`), never in `.grad`: a backward() that a hook or
    another thread runs meanwhile adds into `.grad` as usual, and not into the result.

    `recorded_from` (vjp, jacobian): the number of the first node fn's call recorded. What was made before
    it is the caller's, a constant to fn, as to jvp (which seeds the inputs, so that nothing made before
    carries a tangent): the pass walks none of it, and a caller's tensor it differentiates with respect to
    (one fn reads through a closure) is an input of its own, whose history is not walked (another input
    may be in it; and it is not freed) and whose hooks do not run (PyTorch's functional vjp differentiates
    detached copies, whose hooks are not the caller's)."""

    nodes: set
    accumulates: bool
    capture: dict | None = None
    recorded_from: int | None = None


# While a pass of `reverse_gradients` or `backward_into` runs (in this thread): what it differentiates
# with respect to; None in an ordinary backward pass. As PyTorch's, such a pass runs only those leaves'
# hooks, and their post-accumulate hooks only when it adds into their `.grad` (tensor_hooks.py).
differentiated: ContextVar = ContextVar("differentiated", default=None)


def reverse_gradients(outputs: list[tuple[Tensor, Any]], tensors: list[Tensor], retain_graph: bool = False,
                      received: set | None = None, recorded_from: int | None = None) -> list[np.ndarray]:
    """d(sum_i <c_i, y_i>)/dx for each x of `tensors`, given pairs (y_i, c_i) of outputs and
    cotangents, by reverse mode: one pass from all the outputs, which frees the graph it walks unless
    `retain_graph`; every `.grad` is as it was afterwards (vjp, jacobian, gradcheck,
    autograd.grad and the online runners take gradients without leaving them in any tensor).
    `received`, if given, collects the positions of the tensors some pass gave a gradient (a tensor
    the graph reaches may get none: a Function's backward may say None for it). `recorded_from` as in
    `Differentiated`."""
    return reverse_gradient_rows([outputs], tensors, retain_graph, received, recorded_from)[0]


def reverse_gradient_rows(rows: list[list[tuple[Tensor, Any]]], tensors: list[Tensor], retain_graph: bool = False,
                          received: set | None = None, recorded_from: int | None = None) -> list[list[np.ndarray]]:
    """`reverse_gradients` of each row of (output, cotangent) pairs, over one graph: a row of a
    Jacobian per one-hot cotangent, say. A row is one pass from all its outputs at once (`_one_root`),
    as PyTorch's; the graph is kept until the last row's pass, which frees what it walks unless `retain_graph`.
    Each pass captures the tensors' gradients in a dict of its own (`Differentiated.capture`), not in their
    `.grad` (an adder installed in place of the engine's that does not capture, the core's plain `Gradients`,
    leaves them in `.grad`: read there, and put back)."""
    passes = [[(y._node, _seed(y, c)) for y, c in row      # (a freed output's pass says so)
               if y._node is not None and y._node.kind in (OP, LEAF, FREED)] for row in rows]
    inputs = {x._node for x in tensors if x._node is not None}
    captures = getattr(autograd.hooks.gradients, "captures", False)         # (the engine's: tensor_hooks.py)
    kept = _op_grads({node for pairs in passes for node, _ in pairs}) | (
        {} if captures else {node: node.grad for node in inputs})
    last = max([b for b, pairs in enumerate(passes) if pairs], default=-1)
    results = []
    try:
        for b, pairs in enumerate(passes):
            capture = {}
            for node in () if captures else inputs:         # (a plain adder's pass adds into .grad)
                node.grad = None
            if pairs:
                with setting(differentiated, Differentiated(inputs, False, capture, recorded_from)):
                    autograd.run_backward(*_one_root(pairs), retain_graph or b < last)
            grads = [capture.get(x._node) for x in tensors] if captures else [x.grad for x in tensors]
            if received is not None:
                received.update(i for i, g in enumerate(grads) if g is not None)
            results.append([np.zeros(x.shape, x.dtype) if g is None else np.array(g, x.dtype)
                            for x, g in zip(tensors, grads)])
        return results
    finally:
        for node, grad in kept.items():
            node.grad = grad


def _op_grads(roots: set) -> dict:
    """node -> .grad for every op node of the graphs of `roots`: what a pass from them changes in `.grad` (a
    pass that differentiates with respect to some tensors only walks no other leaf, `tensor_hooks.PrunedPass`,
    and captures its inputs' gradients elsewhere), to be put back afterwards."""
    return {node: node.grad for root in roots for node in autograd.topological_order(root) if node.kind is OP}


def _one_root(pairs: list[tuple[Node, np.ndarray]]) -> tuple[Node, np.ndarray]:
    """The root and seed of one pass from the outputs' nodes, given (node, cotangent) pairs. One output is
    its own root; several get a new node whose rule k hands output k its cotangent, seeded with 1: one pass
    from all of them, so each node's hooks (and a Function's backward) run once, on its whole gradient."""
    if len(pairs) == 1:
        return pairs[0]
    root = Node("grad_outputs", OP, tuple(node for node, _ in pairs), tuple(_given for _ in pairs),
                tuple(c for _, c in pairs), (), np.dtype(np.float64))
    return root, np.ones(())


def _given(g: np.ndarray, cotangent: np.ndarray) -> np.ndarray:
    return cotangent


def _seed(y: Tensor, cotangent: Any) -> np.ndarray:
    """A pass's seed: the cotangent as a new array of y's shape and dtype."""
    cotangent = np.array(cotangent, y.dtype)
    return cotangent if cotangent.shape == y.shape else np.broadcast_to(cotangent, y.shape).copy()


def backward_into(output: Tensor, seed: np.ndarray, inputs: Any, retain_graph: bool) -> None:
    """`output.backward(seed, inputs=inputs)`, PyTorch's: the pass adds dL/dx into `x.grad` for the
    tensors x of `inputs` only (a leaf's accumulates; a non-leaf's is this pass's, as every non-leaf's
    here), and leaves every other `.grad` as it was. An input the output does not reach is left alone.
    Only the inputs' leaf hooks run, and their post-accumulate hooks. Run inside another pass (by a hook),
    a non-leaf input's `.grad` is left as that pass has it: its partial sum, which the outer pass goes on
    adding into (PyTorch keeps the two apart; here `.grad` is the pass's buffer)."""
    _pass_into(output._node, seed, inputs, retain_graph)


def _pass_into(root: Node, seed: np.ndarray, inputs: Any, retain_graph: bool) -> None:
    """`backward_into` from a root node (an output's, or `_one_root`'s for several outputs)."""
    inputs = _as_list("backward", inputs)
    if not inputs:
        raise RuntimeError("backward: inputs cannot be empty; leave it out to fill every leaf's .grad")
    for position, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"backward: inputs[{position}] must be a Tensor, got {type(x).__name__}")
        if not x.requires_grad:
            raise RuntimeError(f"backward: inputs[{position}] does not require grad, so no gradient reaches it")
    nodes = {x._node for x in inputs}
    # inside another pass (a hook's backward): an input's node may hold that pass's partial sum, put back too
    nested = pass_number() != 0
    others = {node: grad for node, grad in _op_grads({root}).items() if nested or node not in nodes}
    try:
        with setting(differentiated, Differentiated(nodes, True)):     # (leaves' hooks, tensor_hooks.py)
            autograd.run_backward(root, seed, retain_graph)
    finally:
        for node, grad in others.items():
            node.grad = grad


Tensor._backward_into = backward_into


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
             grad_variables: Any = None, inputs: Any = None) -> None:
    """PyTorch's `torch.autograd.backward`: one pass from all `tensors`, each seeded with its grad_tensor
    (None for a one-element tensor: 1), adding d(sum_i <grad_tensors_i, tensors_i>)/dx into every leaf's
    `.grad` (only the `inputs`' with `inputs=`), as `t.backward(g)` does for one tensor."""
    if grad_variables is not None:
        if grad_tensors is not None:
            raise RuntimeError("autograd.backward: pass grad_tensors or the deprecated grad_variables, not both")
        warnings.warn("autograd.backward: grad_variables is deprecated; use grad_tensors", FutureWarning,
                      stacklevel=user_stacklevel())
        grad_tensors = grad_variables
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    grads = [None] * len(tensors) if grad_tensors is None else (
        [grad_tensors] if isinstance(grad_tensors, (Tensor, np.ndarray)) else list(grad_tensors))
    if len(grads) != len(tensors):
        raise RuntimeError(f"autograd.backward: got {len(tensors)} tensors and {len(grads)} gradients")
    if len(tensors) == 1 and isinstance(tensors[0], Tensor):
        return tensors[0].backward(grads[0], retain_graph, create_graph, inputs)
    if create_graph:
        raise NotImplementedError("autograd.backward: create_graph=True (gradients of gradients) is not "
                                  "supported")
    pairs = []
    for position, (t, g) in enumerate(zip(tensors, grads)):
        if not isinstance(t, Tensor):
            raise TypeError(f"autograd.backward: tensors[{position}] must be a Tensor, got {type(t).__name__}")
        if t._node is None or t._node.kind is CUT:
            raise RuntimeError(f"autograd.backward: element {position} of tensors does not require grad and "
                               "has no history")
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(f"autograd.backward: grad can be implicitly created only for one-element "
                                   f"tensors; tensors[{position}] has shape {t.shape}")
            g = 1.0
        seed = np.array(g.detach().numpy() if isinstance(g, Tensor) else g, t.dtype)
        if seed.shape != t.shape and seed.size != 1:
            raise RuntimeError(f"autograd.backward: grad_tensors[{position}] of shape {seed.shape} given for a "
                               f"tensor of shape {t.shape}")
        pairs.append((t._node, np.broadcast_to(seed, t.shape).copy()))
    if not pairs:
        return
    if inputs is not None:
        _pass_into(*_one_root(pairs), inputs, bool(retain_graph))
    else:
        autograd.run_backward(*_one_root(pairs), bool(retain_graph))


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> Any:
    """PyTorch's `torch.autograd.grad`: d(sum_i <grad_outputs_i, outputs_i>)/d input for each input,
    returned as tensors, no `.grad` changed. A one-element output needs no grad_output (1);
    an input the outputs do not reach is an error unless `allow_unused` (then None, or zeros of its
    shape with `materialize_grads`, which allow_unused defaults to). `inputs` may be a dict of
    tensors: then a dict of gradients under its keys. With `is_grads_batched` each grad_output has
    a leading axis of k cotangents u_1..u_k, and each gradient that axis too: row b is
    d(sum_i <u_b,i, outputs_i>)/d input, one backward pass per row. The graph is freed unless
    `retain_graph`. (No `create_graph`: gradients here are not differentiated again.)"""
    if create_graph:
        raise NotImplementedError("autograd.grad: create_graph=True (gradients of gradients) is not supported; "
                                  "mg.jvp of a gradient computed by hand is the way to second derivatives here")
    if materialize_grads and allow_unused is False:
        raise ValueError("autograd.grad: materialize_grads=True gives zeros for an unused input, which "
                         "allow_unused=False forbids; leave allow_unused out or pass True")
    if not only_inputs:
        warnings.warn("autograd.grad: only_inputs is deprecated and ignored (as in PyTorch): only the inputs "
                      "get gradients", FutureWarning, stacklevel=user_stacklevel())
    if allow_unused is None:
        allow_unused = materialize_grads
    keys = list(inputs) if type(inputs) is dict else None
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs.values() if keys is not None else inputs)
    given = [None] * len(outputs) if grad_outputs is None else (
        [grad_outputs] if isinstance(grad_outputs, (Tensor, np.ndarray)) else list(grad_outputs))
    if len(given) != len(outputs) or not all(isinstance(t, Tensor) for t in outputs + inputs):
        raise TypeError("autograd.grad: expected tensors as outputs and inputs, and one grad_output per output")
    if not inputs:
        raise RuntimeError("autograd.grad: inputs is empty; name the tensors to differentiate with respect to")
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} does not require grad, so nothing is differentiated "
                               "with respect to it (as in PyTorch, also with allow_unused)")
    pairs = [(y, _cotangent(i, y, g, is_grads_batched)) for i, (y, g) in enumerate(zip(outputs, given))]
    reached = {node for y, _ in pairs for node in autograd.topological_order(y._node)}
    unused = [i for i, x in enumerate(inputs) if x._node not in reached]
    freed = min((node for node in reached if node.kind is FREED), key=lambda node: node.seq, default=None)
    if unused and freed is not None:        # (a freed node has no edges left: the input may be behind it)
        raise RuntimeError(f"autograd.grad: the graph was freed by an earlier pass (node {freed.describe()}), so "
                           f"input {unused[0]} cannot be reached; pass retain_graph=True to the first pass to "
                           "walk it again")
    if unused and not allow_unused:
        raise RuntimeError(f"autograd.grad: input {unused[0]} is not used to compute the outputs; pass "
                           "allow_unused=True to get None for it")
    received = set()
    if is_grads_batched:
        k = pairs[0][1].shape[0] if pairs else 0
        rows = reverse_gradient_rows([[(y, u[b]) for y, u in pairs] for b in range(k)], inputs, bool(retain_graph),
                                     received)
        grads = [np.array([row[j] for row in rows], x.dtype).reshape((k,) + x.shape) for j, x in enumerate(inputs)]
    else:
        grads = reverse_gradients(pairs, inputs, bool(retain_graph), received)
    unused = [i for i in range(len(inputs)) if i not in received]     # (reached, but given no gradient: None)
    if unused and not allow_unused:
        raise RuntimeError(f"autograd.grad: input {unused[0]} got no gradient (a Function's backward gave None for "
                           "it); pass allow_unused=True to get None for it")
    results = tuple(owned(g) if i not in unused else owned(np.zeros(x.shape, x.dtype)) if materialize_grads
                    else None for i, (g, x) in enumerate(zip(grads, inputs)))
    return results if keys is None else dict(zip(keys, results))


def _cotangent(i: int, y: Tensor, g: Any, batched: bool) -> np.ndarray:
    """grad_outputs[i] for output y as an array of y's shape (with a leading axis of k rows when
    `batched`); 1 for a one-element y without one. Errors name autograd.grad."""
    if y._node is not None and y._node.kind is FREED:
        raise RuntimeError("autograd.grad: the graph of an output has already been freed by an earlier pass; "
                           "pass retain_graph=True to the first call to walk it again")
    if y._node is None or y._node.kind not in (OP, LEAF):
        raise RuntimeError("autograd.grad: an output does not require grad and has no history")
    if g is None and batched:
        raise ValueError(f"autograd.grad: with is_grads_batched=True grad_outputs[{i}] must be given, with a "
                         f"leading axis of rows before the output's shape {y.shape}")
    if g is None and y._data.size != 1:
        raise RuntimeError(f"autograd.grad: grad can be implicitly created only for one-element outputs, "
                           f"got shape {y.shape}; pass grad_outputs")
    cotangent = np.ones(y.shape, y.dtype) if g is None else numbers_in(g, y.dtype)
    shape = None if cotangent is None else cotangent.shape[1:] if batched else cotangent.shape
    if shape != y.shape or (batched and cotangent.ndim == 0):
        expected = f"(k,) + {y.shape}, k rows (is_grads_batched=True)" if batched else f"{y.shape}"
        raise ValueError(f"autograd.grad: grad_outputs[{i}] must be numbers of shape {expected} that cast to "
                         f"{y.dtype}, got {np.shape(g._data if isinstance(g, Tensor) else g)}")
    return cotangent
