"""`Tensor`: a numpy array plus the node that records how it was made.

Ops are written in `microgradseq.ops`; each computes its output with numpy and
hands it to `record` together with one gradient rule per operand. `record`
wraps the output and, when any operand needs a gradient, links a `Node` into
the tape (`microgradseq.autograd`).
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np

from . import autograd
from .autograd import CUT, FREED, LEAF, OP, Node, checksum, state

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype of new tensors made from Python data, and of module parameters."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    _default_dtype = dtype


def get_default_dtype() -> np.dtype:
    """The dtype of new tensors made from Python data (float32 unless set)."""
    return _default_dtype


def _to_array(data: Any, dtype: Any = None) -> tuple[np.ndarray, bool]:
    """(array, shared): `shared` is True when the caller still holds the same buffer."""
    if isinstance(data, Tensor):
        array, shared = data.data, True     # (handed out: both tensors hold it now)
    elif isinstance(data, np.ndarray):
        array, shared = data, True
    elif isinstance(data, np.generic):       # a numpy scalar keeps its dtype, as an array does
        array, shared = np.asarray(data), False
    else:
        array, shared = np.asarray(data), False
        if array.dtype.kind == "f" and dtype is None:
            array = array.astype(_default_dtype)
    if dtype is not None and array.dtype != np.dtype(dtype):
        array, shared = array.astype(dtype), False
    if array.dtype.kind not in "biufc":
        raise TypeError(f"tensor: expected numbers, got {type(data).__name__} data of dtype {array.dtype}")
    return array, shared


class Tensor:
    """An n-dimensional array that records the ops applied to it."""

    # Set only where they apply: `_data_since`, for a leaf, the creation number from which nodes
    # record its current array; `_view_of`, on a view of an unwatched array, the tensor it views;
    # `_fingerprinted`, on a watched tensor used inside a module call, (call, id(array), checksum).
    __slots__ = ("_data", "_node", "_exposed", "_data_since", "_view_of", "_fingerprinted")
    __array_ufunc__ = None  # numpy defers to Tensor's reflected operators: array * tensor works

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self._data, self._exposed = _to_array(data, dtype)
        self._node = None
        if requires_grad:
            self._become_leaf()

    # ---- what the tensor holds -------------------------------------------------

    @property
    def data(self) -> np.ndarray:
        """The numpy array. Writing into it in place while a graph has saved it is an
        error at backward; assign a new array (`t.data = ...`) instead."""
        self._expose()
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._data, _ = _to_array(value, self._data.dtype)
        self._exposed = True

    def numpy(self) -> np.ndarray:
        """The data itself (not a copy), like `.data`."""
        return self.data

    def _expose(self) -> None:
        """The array is about to leave our hands (`.data`): whoever holds it may write into it.

        Ops recorded it unwatched until now, so first:
        - an op that keeps its own output (tanh keeps tanh x) fingerprints it on its
          node: every pass through the node reaches it;
        - otherwise, for an op's output, a leaf's array or a cut state,
          `autograd.hand_out` fingerprints it for the nodes that recorded it (and
          for those that use the views of it made so far);
        - an array whose node a backward pass freed needs no watching: no pass
          can go through that node again;
        - a constant (no node) gets a copy of its own to hand out, so what was
          recorded stays as it was. So does a numpy scalar (what numpy gives for
          some 0-d results): a 0-d array, as `.data` promises. The copy of a view
          of a constant is read-only: a write into it could not reach the
          constant, so it raises instead of being lost.
        A view (`w[0]`, `w.T`) hands out the array it views as well.
        """
        tensor = self
        while tensor is not None and not tensor._exposed:
            tensor._exposed = True
            node = tensor._node
            kind = None if node is None else node.kind
            source = getattr(tensor, "_view_of", None)      # (set only by the view ops)
            tensor._view_of = None
            if kind is FREED and not isinstance(tensor._data, np.generic):
                tensor = source                             # no pass can reach a freed node again
                continue
            if kind not in (OP, LEAF, CUT) or isinstance(tensor._data, np.generic):
                tensor._data = np.array(tensor._data)       # a copy of its own: nothing to watch
                tensor._data.flags.writeable = source is None
                break
            if kind is OP and autograd.may_keep(node.saved, tensor._data):
                autograd.check_own_output(node, tensor._data)
            else:
                autograd.hand_out(node, tensor._data, tensor._data_since if kind is LEAF else node.seq)
            tensor = source

    def _fingerprint(self) -> int:
        """The checksum of the data, for an op that records this (watched) tensor.

        Inside one outermost module call, where no code but the module's runs
        between its ops, it is computed once however many steps use the tensor;
        outside, every time (the caller may write into the array between ops).
        """
        call = state.module_call
        if not call:
            return checksum(self._data)
        cached = getattr(self, "_fingerprinted", None)
        if cached is not None and cached[0] == call and cached[1] == id(self._data):
            return cached[2]
        value = checksum(self._data)
        self._fingerprinted = (call, id(self._data), value)
        return value

    def _describe_owner(self) -> str:
        """How an in-place error names this tensor."""
        if self._node is None:
            return f"a constant tensor of shape {self.shape}"
        return autograd.describe_output(self._node)

    def _replace_data(self, array: np.ndarray) -> None:
        """Swap in a fresh array that nobody else holds (what optimizers do)."""
        self._data = array
        self._exposed = False
        self._data_since = autograd.take_creation_number()  # (read only for a leaf: see _expose)

    @property
    def grad(self) -> np.ndarray | None:
        """dL/dself from the last backward pass that reached this tensor (leaves: summed over passes)."""
        node = self._node
        return None if node is None else node.grad

    @grad.setter
    def grad(self, value: Any) -> None:
        node = self._node
        if node is None:
            if value is None:
                return
            raise RuntimeError("cannot set .grad on a tensor that does not require grad")
        if value is None:
            node.grad = None
            return
        grad = np.array(value, dtype=self._data.dtype)
        if grad.shape != self._data.shape:
            raise ValueError(f"grad: expected an array of shape {self.shape}, got shape {grad.shape}")
        node.grad = grad

    @property
    def requires_grad(self) -> bool:
        node = self._node
        return node is not None and node.kind is not CUT

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag == self.requires_grad:
            return
        if self._node is not None and self._node.kind is not LEAF:
            raise RuntimeError(
                "requires_grad can only be changed on a leaf tensor; use detach() for "
                f"the result of {self._node.describe()}")
        if flag:
            if not self._exposed:           # ops may have recorded it as a constant: they keep the old array
                self._data = self._data.copy()
            self._become_leaf()
        else:                               # a constant from now on, with an array of its own:
            if not self._exposed:           # hand the old one out to the graphs that kept it
                autograd.hand_out(self._node, self._data, self._data_since)
                self._data = self._data.copy()
            self._node = None

    def _become_leaf(self) -> None:
        if self._data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require grad, got dtype {self._data.dtype}")
        self._node = autograd.make_leaf(self._data.shape, self._data.dtype)
        self._data_since = self._node.seq   # from when nodes record this array (see _expose)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        """Set `requires_grad` in place and return self."""
        self.requires_grad = flag
        return self

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def size(self) -> int:
        return self._data.size

    def __len__(self) -> int:
        return len(self._data)

    def item(self) -> float:
        """The single element as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item: only a one-element tensor has an item, this one has shape {self.shape}")
        return self._data.item()

    # ---- graph ----------------------------------------------------------------

    @property
    def op(self) -> str | None:
        """Name of the op that made this tensor (`"leaf"` for parameters, None for constants)."""
        return None if self._node is None else self._node.op

    @property
    def label(self) -> str | None:
        return None if self._node is None else self._node.label

    @property
    def step(self) -> int | None:
        return None if self._node is None else self._node.step

    def named(self, label: str) -> "Tensor":
        """Give this tensor's node a readable label (`"h"`, `"f_gate"`); returns self."""
        if self._node is not None:
            self._node.label = label
        return self

    def detach(self) -> "Tensor":
        """Same data, no history. (Both tensors hold the array now, so it is watched as if
        `.data` had handed it out.)"""
        self._expose()
        out = Tensor.__new__(Tensor)
        out._data, out._node, out._exposed = self._data, None, True
        return out

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Reverse-mode pass: fill `.grad` of every tensor this one depends on.

        `grad` is dL/dself; it may be omitted only when self has one element (then 1).
        """
        node = self._node
        if node is None or node.kind is CUT:
            raise RuntimeError("backward: this tensor does not require grad and has no history")
        if grad is None:
            if self._data.size != 1:
                raise ValueError(
                    f"backward: grad can be omitted only for a one-element tensor, this one has "
                    f"shape {self.shape}; pass grad= of that shape")
            seed = np.ones(self.shape, dtype=self._data.dtype)
        else:
            seed = np.asarray(grad._data if isinstance(grad, Tensor) else grad, dtype=self._data.dtype)
            if seed.shape != self.shape:
                raise ValueError(f"backward: grad of shape {seed.shape} given for a tensor of shape {self.shape}")
        autograd.backward(node, seed, retain_graph)

    # ---- printing ---------------------------------------------------------------

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", precision=4, threshold=20,
                               prefix="tensor(")
        extras = []
        node = self._node
        if node is not None:
            extras.append("requires_grad=True" if node.kind is LEAF else f"op={node.op}")
            if node.label:
                extras.append(f"label={node.label!r}")
            if node.step is not None:
                extras.append(f"t={node.step}")
        if self._data.dtype != _default_dtype:
            extras.append(f"dtype={self._data.dtype}")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # ---- operators ----------------------------------------------------------------
    # `t * u`, `t.tanh()`, `t.sum()`, ... are the op functions themselves (`ops.mul(t, u)`, ...),
    # attached at the end of this module, once `ops` (written on top of Tensor) is imported:
    # one Python call per op instead of two. The reflected operators swap their operands.
    # (`t + u` and `t * u` cannot pass `ops.add`'s and `ops.mul`'s `out=`.)

    def __radd__(self, other): return _ops.add(other, self)
    def __rsub__(self, other): return _ops.sub(other, self)
    def __rmul__(self, other): return _ops.mul(other, self)
    def __rtruediv__(self, other): return _ops.div(other, self)
    def __rpow__(self, other): return _ops.power(other, self)
    def __rmatmul__(self, other): return _ops.matmul(other, self)

    # Not the ops themselves: `ops.tanh` and `ops.relu` take `out=`, which a method does not offer.
    def tanh(self): return _ops.tanh(self)
    def relu(self): return _ops.relu(self)

    __hash__ = object.__hash__


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Same as `Tensor(...)`, as in PyTorch."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def owned(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """Wrap an array that nothing else holds (so it needs no watching for in-place changes)."""
    out = Tensor(array, requires_grad=requires_grad)
    out._exposed = False
    return out


def caller_holds(out: np.ndarray) -> bool:
    """Whether the caller of an op still holds its `out=` array: always, except for the
    array a layer is filling step by step (`autograd.filling`), which nobody else holds."""
    filling = state.filling
    return filling is None or out is not filling and out.base is not filling


def written_into(result: Tensor, out: np.ndarray) -> Tensor:
    """`result`, an op's output computed into the caller's `out=` array.

    The caller holds that array, so from now on it is watched as an array
    handed out by `.data` is: every op that records it fingerprints it, and
    an op that keeps its own output (tanh) fingerprints it now.
    """
    if caller_holds(out):
        node = result._node
        if node is not None and autograd.may_keep(node.saved, out):
            autograd.check_own_output(node, out)
        result._exposed = True
    return result


def as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """A Tensor as is; a numpy array or Python scalar as a constant.

    A Python or numpy scalar takes the dtype numpy would give a Python scalar
    next to `like` (float32 tensor * 2.0 and * np.float64(2.0) stay float32, as
    in PyTorch).
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, numbers.Number) and like is not None:
        weak = value.item() if isinstance(value, np.generic) else value
        return owned(np.asarray(value, dtype=np.result_type(like._data, weak)))   # (nobody else holds it)
    return Tensor(value)


_new_tensor = object.__new__

# `saved` of an op whose rules read nothing of the forward pass (add, sub, neg, clone), by arity.
NOTHING_KEPT = {1: (None,), 2: (None, None)}


def record(op: str, data: np.ndarray, inputs: Sequence[Tensor], rules: Sequence,
           saved: Sequence | None = None) -> Tensor:
    """Wrap `data`, the result of `op` on `inputs`, and link it into the tape.

    `rules[i](g, saved[i])` turns g = dL/d output into dL/d inputs[i] (before
    `sum_to`); `saved[i]` is what the op kept for that operand's rule (None
    for every operand when `saved` is not given: `autograd.Unsaid`). Inputs
    that other code can write into are fingerprinted, to catch an in-place
    change at backward, unless `saved` is `NOTHING_KEPT[len(inputs)]`: the op
    declares that its rules read nothing of the forward pass, so no change can
    reach a gradient. At backward a changed input is an error if `saved` may
    hold it (`autograd.may_keep`; always, when `saved` was not given). Nothing
    is linked when recording is off or no input needs a gradient.
    """
    if state.anomaly:
        from .anomaly import check_forward
        check_forward(op, np.asarray(data), tuple(t.shape for t in inputs))
    out = _new_tensor(Tensor)
    out._data = data
    out._node = None
    count = len(inputs)
    if count == 2:                          # the common arities, spelled out: this runs once per op
        a, b = inputs
        nodes = (a._node, b._node)
        exposed = a._exposed or b._exposed
    elif count == 1:
        nodes = (inputs[0]._node,)
        exposed = inputs[0]._exposed
    elif count == 3:
        a, b, c = inputs
        nodes = (a._node, b._node, c._node)
        exposed = a._exposed or b._exposed or c._exposed
    else:
        nodes = tuple([t._node for t in inputs])
        exposed = any([t._exposed for t in inputs])
    # a view of an array someone else holds can be written through that array
    out._exposed = exposed and data.base is not None
    if not state.grad_enabled:
        return out
    for parent in nodes:
        if parent is not None and parent.kind is not CUT:
            break
    else:
        return out                          # no input needs a gradient
    shape, first = data.shape, nodes[0]
    if first is not None and first.shape == shape:
        shape = first.shape                 # share the tuple: one object fewer for Python's garbage collector
    node = out._node = Node(op, OP, nodes, rules, shape, data.dtype,
                            autograd.Unsaid((None,) * count) if saved is None else saved)
    if exposed and saved is not NOTHING_KEPT.get(count):      # (an op whose rules read nothing watches nothing)
        checks = ()                         # what the in-place check compares against at backward
        for t in inputs:
            if t._exposed:
                checks += ((t._data, t._fingerprint(), t),)
        node.checks = checks
    if data.size <= 4:
        node.value = data
    return out



from . import ops as _ops  # noqa: E402  (ops are written on top of Tensor)

Tensor.__add__, Tensor.__sub__, Tensor.__mul__ = _ops.add, _ops.sub, _ops.mul
Tensor.__truediv__, Tensor.__pow__, Tensor.__matmul__ = _ops.div, _ops.power, _ops.matmul
Tensor.__neg__, Tensor.__getitem__ = _ops.neg, _ops.getitem
Tensor.sum, Tensor.mean, Tensor.max = _ops.sum, _ops.mean, _ops.max
Tensor.reshape, Tensor.transpose, Tensor.T = _ops.reshape, _ops.transpose, property(_ops.transpose)
Tensor.exp, Tensor.log, Tensor.sigmoid = _ops.exp, _ops.log, _ops.sigmoid
Tensor.abs, Tensor.sqrt = _ops.abs, _ops.sqrt
Tensor.clip, Tensor.clone = _ops.clip, _ops.clone
Tensor.tanh.__doc__, Tensor.relu.__doc__ = _ops.tanh.__doc__, _ops.relu.__doc__     # (help() shows the formula)
