"""PyTorch's `torch.func` (once functorch): autodiff as transforms of functions, over transforms.py.

For f with Jacobian J = df/dx (an m x n matrix for f: R^n -> R^m):

    grad(f)(x)                          df/dx for a scalar f: one backward pass (m = 1)
    vjp(f, x) -> (f(x), vjp_fn)         vjp_fn(u) = (u^T J,): a backward pass per call
    jvp(f, (x,), (v,)) -> (f(x), J v)   one forward pass carrying tangents, nothing recorded
    jacrev(f)(x)                        J row by row: m backward passes (u = each unit vector)
    jacfwd(f)(x)                        J column by column: one forward pass with n directions
    functional_call(model, params, x)   model's forward with `params` in place of its parameters

The Jacobians have shape f(x).shape + x.shape, as PyTorch's. `argnums` picks the
arguments differentiated (an int, or a tuple: then a result per argument), and
an argument, a tangent or an output may be a tree of tensors (tuples, lists,
dicts: `dict(model.named_parameters())`), as PyTorch's pytrees; results are
tensors without history, in the same trees.

What does not port: transforms do not compose here. A transform of a
transform (jacrev(jacrev(f)), jacfwd(jacfwd(f)), jvp(grad(f)), vjp(grad(f))) is
a second derivative, and gradients here are not recorded: it raises
NotImplementedError, as `hessian` does. `vmap` is not here either (loop and
stack: vmap(f)(xs) is torch.stack([f(x) for x in xs])).
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import numpy as np

from . import forward, transforms
from .autograd import grad_enabled, setting
from .tensor import Tensor, owned
from .trees import fold, same_kind


def _refused(name: str, why: str) -> Callable:
    def refused(*args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"func.{name}: not supported: {why}")
    refused.__name__ = name
    return refused


hessian = _refused("hessian", "a Hessian is a second derivative, and gradients here are not recorded; "
                              "jacrev of a gradient written out by hand, or finite differences")
vmap = _refused("vmap", "loop over the batch and stack the results: vmap(f)(xs) is "
                        "torch.stack([f(x) for x in xs])")


_RANDOMNESS = ("error", "different", "same")     # jacfwd's, as PyTorch's


# ---- trees of tensors (PyTorch's pytrees: tuples, lists and dicts) ---------------------------

def _leaves(tree: Any, where: str, arrays: bool = False) -> list:
    """The tensors of a tree, in order (numpy arrays too when `arrays`); TypeError naming `where`."""
    leaves = []

    def leaf(item: Any) -> None:
        if not (isinstance(item, Tensor) or (arrays and isinstance(item, np.ndarray))):
            raise TypeError(f"{where} must be tensors, or tuples, lists or dicts of them, "
                            f"got {type(item).__name__}")
        leaves.append(item)
    fold(tree, leaf, lambda container, parts: None)
    return leaves


def _rebuild(tree: Any, leaves: Iterator) -> Any:
    """The tree with its tensors replaced, in order, by the next of `leaves` (a tree `_leaves` read)."""
    return fold(tree, lambda _: next(leaves), same_kind)


def _layout(tree: Any) -> tuple:
    """The tree's shape of nesting, to compare two trees: its leaves and containers as `fold` meets
    them, flat (a nested tuple 100,000 deep would compare and print by recursion): a leaf '*', a
    container its type's name and its length (a dict its keys)."""
    tokens = []
    fold(tree, lambda _: tokens.append("*"), lambda c, parts: tokens.append(
        ("dict", tuple(c.keys())) if isinstance(c, dict) else (type(c).__name__, len(c))))
    return tuple(tokens)


def _structure(tree: Any, width: int = 200) -> str:
    """The tree's shape of nesting as text for an error message, a leaf '*': `([*, *], {'a': *})`;
    each container's text cut to `width` characters."""
    def container(c: Any, parts: list) -> str:
        if isinstance(c, dict):
            text = "{" + ", ".join(f"{key!r}: {part}" for key, part in zip(c.keys(), parts)) + "}"
        elif isinstance(c, list):
            text = "[" + ", ".join(parts) + "]"
        else:
            text = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        return text if len(text) <= width else text[:width - 3] + "..."
    return fold(tree, lambda _: "*", container)


def _arrays(name: str, given: Any, like: list, what: str) -> list[np.ndarray]:
    """The leaves of `given` as arrays in the dtypes of the tensors `like`, each of its shape."""
    arrays = []
    for position, (a, x) in enumerate(zip(_leaves(given, f"func.{name}: {what}s", arrays=True), like)):
        array = np.asarray(a._data if isinstance(a, Tensor) else a)
        if array.shape != x.shape:
            raise ValueError(f"func.{name}: {what} {position} has shape {array.shape}, expected {x.shape}")
        arrays.append(array.astype(x.dtype, copy=False))
    return arrays


# ---- arguments -------------------------------------------------------------------------------

def _positions(name: str, argnums: Any, count: int) -> tuple[bool, list[int]]:
    """(whether argnums is a tuple, the positions it names, each in range)."""
    many = isinstance(argnums, tuple)
    given = argnums if many else (argnums,)
    if not given or not all(type(p) is int for p in given):
        raise TypeError(f"func.{name}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
    positions = [p + count if p < 0 else p for p in given]
    if not all(0 <= p < count for p in positions) or len(set(positions)) != len(positions):
        raise ValueError(f"func.{name}: argnums {argnums!r} must name distinct positions of the {count} "
                         "positional arguments given")
    return many, positions


def _fresh(name: str, args: tuple, positions: list[int], requires_grad: bool) -> tuple[list, list[list]]:
    """The arguments with the tensors at `positions` replaced by new tensors over the same arrays
    (leaves when `requires_grad`), and those new tensors, a list per position: what f reaches
    through a closure, the caller's tensors included, is a constant, as in PyTorch."""
    args, groups = list(args), []
    for p in positions:
        originals = _leaves(args[p], f"func.{name}: argument {p}")
        if not originals:
            raise ValueError(f"func.{name}: argument {p} holds no tensor to differentiate")
        for x in originals:
            if x.dtype.kind not in "fc":
                raise TypeError(f"func.{name}: argument {p} must hold floating-point tensors, got dtype {x.dtype}")
        group = [owned(x._data, requires_grad) for x in originals]
        args[p] = _rebuild(args[p], iter(group))
        groups.append(group)
    return args, groups


def _per_argument(many: bool, args: list, positions: list[int], groups: list[list], arrays: Iterator) -> Any:
    """Results for the differentiated arguments, each in its argument's tree: a tuple when
    argnums was a tuple."""
    results = [_rebuild(args[p], iter([owned(next(arrays)) for _ in group])) for p, group in zip(positions, groups)]
    return tuple(results) if many else results[0]


def _run(name: str, func: Callable, args: Any, kwargs: dict, has_aux: bool, record: bool) -> tuple[Any, Any]:
    """(f's output, its aux or None): f called with recording on (`record`), marked as inside `name`."""
    recording = setting(grad_enabled, True) if record else contextlib.nullcontext()
    with setting(transforms.current_transform, name), recording:
        output = func(*args, **kwargs)
    if not has_aux:
        return output, None
    if not isinstance(output, tuple) or len(output) != 2:
        raise TypeError(f"func.{name}: with has_aux=True, f must return a pair (output, aux), got "
                        f"{type(output).__name__}")
    def leaf(item: Any) -> None:    # (PyTorch's "Expected tensors, got unsupported type"; None is an empty tree)
        if item is not None and not isinstance(item, Tensor):
            raise TypeError(f"func.{name}: with has_aux=True, f's aux must be tensors, or tuples, lists or "
                            f"dicts of them, got {type(item).__name__}")
    fold(output[1], leaf, lambda container, parts: None)
    return output


def _outputs(name: str, output: Any) -> list[Tensor]:
    ys = _leaves(output, f"func.{name}: f's outputs")
    if not ys:          # (PyTorch's "Expected f to be a function that has non-empty output")
        raise ValueError(f"func.{name}: f must return at least one tensor, got {_structure(output)}")
    for y in ys:
        if y.dtype.kind not in "fc":
            raise TypeError(f"func.{name}: f's outputs must be floating-point tensors, got dtype {y.dtype}")
    return ys


# ---- the transforms --------------------------------------------------------------------------

def grad_and_value(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """A function returning (df/dx, f(x)) for a scalar f (a 0-d tensor): the gradient with respect
    to the arguments `argnums` names, by one backward pass; ((df/dx), (f(x), aux)) with has_aux."""
    def wrapper(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        transforms.refuse_inside_transform("func.grad")
        many, positions = _positions("grad", argnums, len(args))
        args, groups = _fresh("grad", args, positions, True)
        output, aux = _run("grad", func, args, kwargs, has_aux, record=True)
        if not isinstance(output, Tensor):
            raise TypeError(f"func.grad: f must return a Tensor, got {type(output).__name__}")
        if output.ndim != 0 or output.dtype.kind not in "fc":
            raise ValueError(f"func.grad: f must return a floating-point 0-d tensor (a scalar), got shape "
                             f"{output.shape} and dtype {output.dtype}; for other outputs use func.vjp or func.jacrev")
        flat = [x for group in groups for x in group]
        arrays = transforms.reverse_gradients([(output, np.ones((), output.dtype))], flat)
        grads = _per_argument(many, args, positions, groups, iter(arrays))
        value = owned(output._data)
        return (grads, (value, aux)) if has_aux else (grads, value)
    return wrapper


def grad(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """A function returning df/dx for a scalar f (a 0-d tensor), of x's shape (a tree for a tree, a
    tuple for a tuple `argnums`): one recorded call of f, one backward pass; (df/dx, aux) with
    has_aux. An argument f does not depend on gets zeros."""
    value_and_grad = grad_and_value(func, argnums, has_aux)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        grads, value = value_and_grad(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads
    return wrapper


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """(f(*primals), vjp_fn): vjp_fn(u), u shaped like f's output (a tree for a tree), returns
    u^T J = d<u, f>/dx for each primal, as a tuple (one per primal). f is called once, recorded;
    each call of vjp_fn is one backward pass over that record. ((output, vjp_fn, aux) with has_aux.)"""
    transforms.refuse_inside_transform("func.vjp")
    if not primals:
        raise ValueError("func.vjp: expected at least one primal: vjp(f, x) differentiates f at x")
    args, groups = _fresh("vjp", primals, list(range(len(primals))), True)
    output, aux = _run("vjp", func, args, {}, has_aux, record=True)
    ys, flat = _outputs("vjp", output), [x for group in groups for x in group]

    def vjp_fn(cotangents: Any) -> tuple:
        if _layout(cotangents) != _layout(output):
            raise ValueError(f"func.vjp: vjp_fn takes cotangents nested as f's output "
                             f"({_structure(output)}), got {_structure(cotangents)}")
        us = _arrays("vjp", cotangents, ys, "cotangent")
        arrays = transforms.reverse_gradients(list(zip(ys, us)), flat, retain_graph=True)
        return _per_argument(True, args, list(range(len(primals))), groups, iter(arrays))

    value = _rebuild(output, iter([owned(y._data) for y in ys]))
    return (value, vjp_fn, aux) if has_aux else (value, vjp_fn)


def jvp(func: Callable, primals: tuple, tangents: tuple, *, strict: bool = False, has_aux: bool = False) -> tuple:
    """(f(*primals), J v), v = `tangents` (nested as `primals`, each of its primal's shape): one
    forward pass carrying the tangents (`mg.jvp`), nothing recorded; J v nested as f's output.
    ((output, J v, aux) with has_aux.) With `strict`, an output that does not depend on the
    primals at all (no tangent reaches it) is a RuntimeError, as PyTorch's."""
    transforms.refuse_inside_transform("func.jvp")
    for what, given in (("primals", primals), ("tangents", tangents)):
        if not isinstance(given, tuple) or not given:
            raise TypeError(f"func.jvp: {what} must be a non-empty tuple (f is called as f(*primals)), "
                            f"got {type(given).__name__}")
    if _layout(primals) != _layout(tangents):
        raise ValueError(f"func.jvp: tangents must be nested as primals ({_structure(primals)}), got "
                         f"{_structure(tangents)}")
    xs = []
    leaves = _leaves(primals, "func.jvp: primals")
    if not leaves:          # (((),) nests no tensor: PyTorch's "at least one Tensor")
        raise ValueError("func.jvp: primals must hold at least one tensor, got none")
    for x in leaves:
        if x.dtype.kind not in "fc":
            raise TypeError(f"func.jvp: primals must be floating-point tensors, got dtype {x.dtype}")
        xs.append(owned(x._data))           # (a tensor f reaches through a closure is a constant)
    vs, held = _arrays("jvp", tangents, xs, "tangent"), {}

    def flat(*leaves: Tensor) -> tuple:
        held["output"], held["aux"] = _run("jvp", func, _rebuild(primals, iter(leaves)), {}, has_aux, record=False)
        ys = tuple(_outputs("jvp", held["output"]))
        independent = [i for i, y in enumerate(ys) if forward.current_run.get().tangent(y) is None] if strict else []
        if independent:
            raise RuntimeError(f"func.jvp: with strict=True every output must depend on the primals; output "
                               f"{independent[0]} of f does not")
        return ys

    values, dys = transforms._forward_pass("func.jvp", flat, xs, vs)
    output = _rebuild(held["output"], iter(values))
    tangent = _rebuild(held["output"], iter([owned(np.asarray(dy)) for dy in dys]))
    return (output, tangent, held["aux"]) if has_aux else (output, tangent)


def jacrev(func: Callable, argnums: Any = 0, *, has_aux: bool = False, chunk_size: int | None = None) -> Callable:
    """A function returning J = df/dx (shape f(x).shape + x.shape; nested as f's output, then as
    the arguments `argnums` names) by reverse mode: one recorded call of f, one backward pass per
    output element (J's rows). ((J, aux) with has_aux.) `chunk_size` (None or a positive int, as
    PyTorch's) changes nothing here."""
    if chunk_size is not None and (type(chunk_size) is not int or chunk_size < 1):
        raise ValueError(f"func.jacrev: chunk_size must be None or a positive int, got {chunk_size!r}")

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        transforms.refuse_inside_transform("func.jacrev")
        many, positions = _positions("jacrev", argnums, len(args))
        args, groups = _fresh("jacrev", args, positions, True)
        output, aux = _run("jacrev", func, args, kwargs, has_aux, record=True)
        flat = [x for group in groups for x in group]
        blocks = [_per_argument(many, args, positions, groups, iter(transforms.jacobian_blocks(y, flat)))
                  for y in _outputs("jacrev", output)]
        jacobian = _rebuild(output, iter(blocks))
        return (jacobian, aux) if has_aux else jacobian
    return wrapper


def jacfwd(func: Callable, argnums: Any = 0, has_aux: bool = False, *, randomness: str = "error") -> Callable:
    """A function returning J = df/dx as jacrev's does, by forward mode: one forward pass with n
    directions, n the sizes of the tensors differentiated added up (the unit vectors; J's
    columns), nothing recorded. f runs once, so a random op (dropout) draws once for every column,
    as under PyTorch's randomness="same"; `randomness` must be one of PyTorch's values, and "error"
    is not enforced. ((J, aux) with has_aux.)"""
    if randomness not in _RANDOMNESS:
        raise ValueError(f"func.jacfwd: randomness must be one of {_RANDOMNESS}, got {randomness!r}")

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        transforms.refuse_inside_transform("func.jacfwd")
        many, positions = _positions("jacfwd", argnums, len(args))
        args, groups = _fresh("jacfwd", args, positions, False)
        held = {}

        def call(*leaves: Tensor) -> tuple:
            leaves, moved = iter(leaves), list(args)
            for p in positions:
                moved[p] = _rebuild(args[p], leaves)
            held["output"], held["aux"] = _run("jacfwd", func, moved, kwargs, has_aux, record=False)
            return tuple(_outputs("jacfwd", held["output"]))

        flat = [x for group in groups for x in group]
        per_output = transforms.joint_jacobian_columns(call, flat, "func.jacfwd")[1]
        blocks = [_per_argument(many, args, positions, groups, iter(columns)) for columns in per_output]
        jacobian = _rebuild(held["output"], iter(blocks))
        return (jacobian, held["aux"]) if has_aux else jacobian
    return wrapper


# ---- modules -----------------------------------------------------------------------------------

def functional_call(module: Any, parameter_and_buffer_dicts: Any, args: Any = None, kwargs: dict | None = None, *,
                    tie_weights: bool = True, strict: bool = False) -> Any:
    """module(*args, **kwargs) with the tensors of `parameter_and_buffer_dicts` (a dict of dotted
    names, as `named_parameters()` gives them, or a tuple of such dicts) in place of those
    parameters and buffers for the call, and the module's own put back afterwards. `args` that is
    not a tuple is one argument. With tie_weights, a tensor the module holds under several names
    (`decoder.weight = encoder.weight`) is replaced under all of them; `strict` requires every
    parameter and buffer, and no other name, to be given (RuntimeError otherwise)."""
    where = "func.functional_call"
    dicts = parameter_and_buffer_dicts
    dicts = (dicts,) if isinstance(dicts, dict) else dicts
    if not isinstance(dicts, (tuple, list)) or not all(isinstance(d, dict) for d in dicts):
        raise TypeError(f"{where}: expected a dict of tensors, or a tuple of dicts, got {type(dicts).__name__}")
    given = {}
    for d in dicts:
        for name, tensor in d.items():
            if name in given:
                raise ValueError(f"{where}: {name!r} appears in more than one dict")
            if not isinstance(tensor, Tensor):
                raise TypeError(f"{where}: {name!r} must be a Tensor, got {type(tensor).__name__}")
            given[name] = tensor
    if not hasattr(module, "named_modules"):
        raise TypeError(f"{where}: expected an nn.Module, got {type(module).__name__}")
    modules = dict(module.named_modules(remove_duplicate=False))
    held = [(f"{path}.{name}" if path else name, owner, name, tensor) for path, owner in modules.items()
            for table in (owner._parameters, owner._buffers) for name, tensor in table.items() if tensor is not None]
    if strict:
        missing = sorted({full for full, *_ in held} - set(given))
        unexpected = sorted(set(given) - {full for full, *_ in held})
        if missing or unexpected:
            raise RuntimeError(f"{where}: with strict=True every parameter and buffer is given and nothing else; "
                               f"missing {missing}, unexpected {unexpected}")
    by_tensor = {}                          # the module's own tensor -> its replacement, for tied names
    for full, _, _, tensor in held:
        if full in given and tie_weights:
            if by_tensor.get(id(tensor), given[full]) is not given[full]:
                raise ValueError(f"{where}: {full!r} is tied to another name given a different tensor")
            by_tensor[id(tensor)] = given[full]
    swaps = [(full, owner, name, tensor, given.get(full, by_tensor.get(id(tensor)) if tie_weights else None))
             for full, owner, name, tensor in held]
    swaps = [swap for swap in swaps if swap[4] is not None]
    named = {f"{path}.{name}" if path else name for path, owner in modules.items()
             for name in (*owner._parameters, *owner._buffers)}
    for full in set(given) - named:         # another attribute: set for the call, as PyTorch's
        path, _, name = full.rpartition(".")
        if path not in modules:
            raise AttributeError(f"{where}: {full!r} names no submodule of {type(module).__name__} ({path!r})")
        owner = modules[path]
        swaps.append((full, owner, name, owner.__dict__.get(name, _MISSING), given[full]))
    args = args if isinstance(args, tuple) else () if args is None else (args,)
    try:
        for _, owner, name, _, tensor in swaps:
            _put(owner, name, tensor)
        return module(*args, **(kwargs or {}))
    finally:
        after = [_table(owner, name).get(name, tensor) for _, owner, name, _, tensor in swaps]   # (before any
        for (full, owner, name, original, tensor), now in zip(reversed(swaps), reversed(after)):  # is put back)
            if now is not tensor and full in given:     # forward reassigned it (self.foo = self.foo + 1):
                for d in dicts:                         # the dict given gets the new tensor, as PyTorch's
                    if full in d:
                        d[full] = now
            if original is _MISSING:
                object.__delattr__(owner, name)
            else:
                _put(owner, name, original)


def _table(owner: Any, name: str) -> dict:
    """The module's table holding `name` (its parameters' or buffers'), or an empty dict."""
    return owner._parameters if name in owner._parameters else owner._buffers if name in owner._buffers else {}


def _put(owner: Any, name: str, tensor: Any) -> None:
    """`tensor` as the module's `name`, for its attribute and in its table (what parameters() and
    state_dict() read), without the checks and labels of Module.__setattr__."""
    table = _table(owner, name)
    if name in table:
        table[name] = tensor
    object.__setattr__(owner, name, tensor)


_MISSING = object()
