"""PyTorch's `torch.autograd.functional` (`mg.autograd.functional`): `jacobian`, `vjp` and `jvp` with
PyTorch's calls and return types, over `transforms.py`'s reverse and forward passes.

    J = torch.autograd.functional.jacobian(f, x)               # out.shape + x.shape
    y, vJ = torch.autograd.functional.vjp(f, x, v)             # v shaped like f(x)
    y, Jv = torch.autograd.functional.jvp(f, x, v)             # v shaped like x

`inputs` is a tensor (then one result) or a tuple of tensors (a result per
input); `func` returns a tensor or a tuple of tensors (then a result per
output; a Jacobian J[i][j] = d output_i / d input_j when both are tuples).
As PyTorch's, `func` gets fresh copies of the inputs: a tensor it reaches
through a closure, the input itself included, is a constant; no `.grad`
changes; recording is on inside (also within `no_grad`); results are tensors
without history. Second derivatives (`hessian`, `hvp`, `vhp`,
`create_graph=True`) are not supported: gradients here are not recorded.

With `strict=True`, as PyTorch's, an output that does not depend on the
inputs at all, or an input that no output depends on (for `jacobian`: an
output i and an input j with no path between them), is a RuntimeError rather
than zeros; "depends" means a path in the recorded graph, whatever the values.
`jacobian` refuses strict=True with vectorize=True or strategy="forward-mode",
as PyTorch's does.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import autograd, transforms
from .grad_mode import enable_grad
from .tensor import Tensor, array_of, owned

_STRATEGIES = ("reverse-mode", "forward-mode")


def _inputs(where: str, inputs: Any, create_graph: bool) -> tuple[bool, tuple]:
    """(whether one tensor was given, the inputs as a tuple), each floating-point."""
    if create_graph:
        raise NotImplementedError(f"{where}: create_graph=True (derivatives of derivatives) is not supported; "
                                  "gradients here are not recorded")
    single = isinstance(inputs, Tensor)
    if not single and (not isinstance(inputs, (tuple, list)) or not all(isinstance(x, Tensor) for x in inputs)):
        raise TypeError(f"{where}: inputs must be a Tensor or a tuple of Tensors, got {type(inputs).__name__}")
    xs = (inputs,) if single else tuple(inputs)
    for position, x in enumerate(xs):
        if x.dtype.kind not in "fc":
            raise TypeError(f"{where}: input {position} must be a floating-point tensor, got dtype {x.dtype}")
    return single, xs


def _fresh(xs: tuple, requires_grad: bool = False) -> list[Tensor]:
    """New tensors over the inputs' arrays (no copy: they are read-only), as PyTorch's functional API
    differentiates detached copies: a tensor func reaches through a closure is a constant."""
    return [owned(x._data, requires_grad) for x in xs]


def _outputs(where: str, output: Any) -> tuple[bool, tuple]:
    """(whether func returned one tensor, its outputs as a tuple)."""
    if isinstance(output, Tensor):
        return True, (output,)
    if isinstance(output, (tuple, list)) and all(isinstance(y, Tensor) for y in output):
        return False, tuple(output)
    raise TypeError(f"{where}: func must return a Tensor or a tuple of Tensors, got {type(output).__name__}")


def _vectors(where: str, v: Any, like: tuple, single: bool, what: str) -> list[np.ndarray]:
    """`v` (a tensor for one `what`, else a tuple of them, one per `what`) as arrays in the dtypes of
    `like`, each of its shape (ValueError otherwise)."""
    vs = [v] if single and not isinstance(v, (tuple, list)) else v
    if not isinstance(vs, (tuple, list)) or len(vs) != len(like):
        raise ValueError(f"{where}: v must be one tensor per {what} ({len(like)}), got "
                         f"{len(vs) if isinstance(vs, (tuple, list)) else type(v).__name__}")
    arrays = [array_of(a, y.dtype) for a, y in zip(vs, like)]
    for position, (a, y) in enumerate(zip(arrays, like)):
        if a.shape != y.shape:
            raise ValueError(f"{where}: v for {what} {position} must have its shape {y.shape}, got {a.shape}")
    return arrays


def _strict(where: str, ys: tuple, leaves: list[Tensor], pairwise: bool = False) -> None:
    """strict=True's checks, as PyTorch's: RuntimeError for an output that does not require grad (no
    path to anything), or an input no output's graph reaches (`pairwise`: some output's, as
    jacobian checks each output against each input); an output reaching no input, in jvp."""
    for i, y in enumerate(ys):
        if not y.requires_grad:
            raise RuntimeError(f"{where}: with strict=True every output must be computed from the inputs; output "
                               f"{i} does not require grad")
    reached = [set(autograd.topological_order(y._node)) for y in ys]
    for i, nodes in enumerate(reached if pairwise else [set().union(*reached)]):
        unreached = next((j for j, x in enumerate(leaves) if x._node not in nodes), None)
        if unreached is not None and (not pairwise or ys[i]._data.size):
            raise RuntimeError(f"{where}: with strict=True {f'output {i}' if pairwise else 'the output'} must "
                               f"depend on every input, and is independent of input {unreached}")
    if where == "jvp":
        alone = next((i for i, nodes in enumerate(reached) if not any(x._node in nodes for x in leaves)), None)
        if alone is not None:
            raise RuntimeError(f"jvp: with strict=True every output must depend on the inputs; output {alone} "
                               "depends on none of them")


def _nested(single_out: bool, single_in: bool, blocks: list[list[np.ndarray]]) -> Any:
    """blocks[i][j] (output i, input j) as tensors, in PyTorch's nesting: a tensor, a tuple over the
    side that is a tuple, or a tuple of tuples."""
    rows = [tuple(owned(b) for b in row) for row in blocks]
    rows = [row[0] if single_in else row for row in rows]
    return rows[0] if single_out else tuple(rows)


def jacobian(func: Callable[..., Any], inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """J[i][j] = d output_i / d input_j, of shape output_i.shape + input_j.shape: row by row in reverse
    mode (one recorded call of func, one backward pass per output element) or, with
    `strategy="forward-mode"`, column by column (one batched forward pass per input)."""
    single_in, xs = _inputs("jacobian", inputs, create_graph)
    if strategy not in _STRATEGIES:
        raise ValueError(f"jacobian: strategy must be one of {sorted(_STRATEGIES)}, got {strategy!r}")
    if strict and (vectorize or strategy == "forward-mode"):
        raise RuntimeError(f"jacobian: strict=True is not supported with "
                           f"{'vectorize=True' if vectorize else 'strategy=forward-mode'}, as in PyTorch; "
                           "pass strict=False, or vectorize=False and strategy='reverse-mode'")
    if strategy == "forward-mode":
        return _jacobian_forward(func, xs, single_in)
    leaves = _fresh(xs, requires_grad=True)
    with enable_grad():
        single_out, ys = _outputs("jacobian", func(*leaves))
    if strict:
        _strict("jacobian", ys, leaves, pairwise=True)
    return _nested(single_out, single_in, [transforms.jacobian_blocks(y, leaves) for y in ys])


def _jacobian_forward(func: Callable[..., Any], xs: tuple, single_in: bool) -> Any:
    """All the inputs' columns in one forward pass: func runs once, as in reverse mode."""
    held = {}

    def call(*leaves: Tensor) -> tuple:
        held["single"], ys = _outputs("jacobian", func(*leaves))
        return ys

    per_output = transforms.joint_jacobian_columns(call, _fresh(xs), "jacobian")[1]
    return _nested(held["single"], single_in, [list(columns) for columns in per_output])


def vjp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), v^T J): v shaped like func's output (a tuple for a tuple of outputs; it may be
    left out for a one-element output), v^T J = d(sum_i <v_i, output_i>)/d x shaped like each input
    (a tuple for a tuple of inputs). func is called once."""
    single_in, xs = _inputs("vjp", inputs, create_graph)
    leaves = _fresh(xs, requires_grad=True)
    with enable_grad():
        single_out, ys = _outputs("vjp", func(*leaves))
    if strict:
        _strict("vjp", ys, leaves)
    if v is None:
        if not single_out or ys[0]._data.size != 1:
            raise ValueError("vjp: v may be left out only when func returns a one-element tensor")
        v = np.ones(ys[0].shape, ys[0].dtype)
    vs = _vectors("vjp", v, ys, single_out, "output")
    grads = transforms.reverse_gradients(list(zip(ys, vs)), leaves)
    values = tuple(owned(np.array(y._data)) for y in ys)
    return values[0] if single_out else values, _nested(True, single_in, [grads])


def jvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), J v): v shaped like the input (a tuple for a tuple of inputs; it may be left
    out when every input has one element), J v = sum_j J_j v_j shaped like each output (a tuple for
    a tuple of outputs): one forward pass carrying v; with `strict`, one recorded call of func (to
    find what depends on what) and J's rows by reverse mode, contracted with v."""
    single_in, xs = _inputs("jvp", inputs, create_graph)
    if v is None:
        if any(x._data.size != 1 for x in xs):
            raise ValueError("jvp: v may be left out only when every input has one element")
        v = tuple(np.ones(x.shape, x.dtype) for x in xs)
        single_in = False
    vs = _vectors("jvp", v, xs, single_in, "input")
    if strict:
        leaves = _fresh(xs, requires_grad=True)
        with enable_grad():
            single_out, ys = _outputs("jvp", func(*leaves))
        _strict("jvp", ys, leaves)
        tangents = [sum(np.tensordot(block, u, axes=u.ndim) for block, u in
                        zip(transforms.jacobian_blocks(y, leaves), vs)) for y in ys]
        ys = tuple(owned(np.array(y._data)) for y in ys)
    else:
        outputs, tangents = transforms.jvp(func, _fresh(xs), vs)
        single_out, ys = _outputs("jvp", outputs)
        tangents = (tangents,) if single_out else tangents
    values, tangents = tuple(ys), tuple(owned(np.asarray(t)) for t in tangents)
    return (values[0], tangents[0]) if single_out else (values, tangents)


def _second_order(name: str) -> Callable:
    def refused(*args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"{name}: second derivatives are not supported (gradients here are not "
                                  "recorded); jacobian of a gradient written out by hand, or finite differences")
    refused.__name__ = name
    return refused


hessian, hvp, vhp = _second_order("hessian"), _second_order("hvp"), _second_order("vhp")
