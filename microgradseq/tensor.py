"""`Tensor`: a read-only numpy array plus the node that records how it was made.

Ops (`microgradseq.ops`) compute their output with numpy and hand it to
`result` with one row of the table of derivatives (`Rules`): the output is
wrapped, and when an operand needs a gradient, a node is linked into the tape
(`autograd.record`). The operators and methods (`t + u`, `t.tanh()`) are the op
functions themselves, attached by `ops/methods.py`.

Every array a tensor holds is read-only (numpy's `writeable` flag, as JAX
arrays are immutable): what a graph recorded cannot change behind its back,
and a write into it fails at the write. A value changes by getting a new
array: `t.data = ...`, or `p -= lr * p.grad` under `no_grad()`.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, NamedTuple, Sequence

import numpy as np

from . import autograd, forward, printing
from .anomaly import check_forward
from .autograd import CUT, LEAF, anomaly_checks, grad_enabled
from .checks import flag, not_numbers, public_name, user_stacklevel
from .dtypes import float_dtype_of
from .spellings import check_device, either

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype of new tensors made from Python data, and of module parameters."""
    global _default_dtype
    if dtype is None:
        raise TypeError("set_default_dtype: expected a floating dtype such as np.float64, got None")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    _default_dtype = dtype


def get_default_dtype() -> np.dtype:
    """The dtype of new tensors made from Python data (float32 unless set)."""
    return _default_dtype


def default_complex_dtype() -> np.dtype:
    """The dtype of new tensors made from Python complex numbers, as PyTorch's: complex64 beside the
    default float32, complex128 beside float64."""
    return np.result_type(_default_dtype, np.complex64)


def read_only(array: np.ndarray) -> np.ndarray:
    """`array` itself, made read-only: the caller promises nobody else can write into it."""
    array.setflags(False)           # (write=False; positional is cheaper)
    return array


def _none_became_nan(data: Any, array: np.ndarray) -> bool:
    """Whether numpy, given a float dtype, read a None in `data` (not an array) as NaN."""
    return (not isinstance(data, (np.ndarray, np.generic)) and bool(np.isnan(array).any())
            and any(v is None for v in np.array(data, dtype=object).ravel()))


def _own_array(data: Any, dtype: Any = None) -> np.ndarray:
    """A read-only array of its own made from `data` (a copy, as torch.tensor makes)."""
    if isinstance(data, Tensor):
        data = data._data
    elif isinstance(data, (list, tuple)):
        held = _tensors_held(data)
        if held is MANY:
            raise TypeError(_tensors_are_not_numbers(data))
        if held is ONE:
            data = _numbers_of(data)    # (each one-element tensor one number, at any depth, as PyTorch's)
    try:
        array = np.array(data, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ValueError(f"tensor: cannot make an array of numbers from {type(data).__name__} data "
                         f"({error})") from None
    if array.dtype.kind in "fc" and dtype is None and not isinstance(data, (np.ndarray, np.generic)):
        own = float_dtype_of(data, _default_dtype)      # Python floats: the default dtype, as PyTorch,
        if array.dtype.kind == "c":                     # and Python complex numbers the default complex one
            own = np.result_type(own, default_complex_dtype())
        array = array.astype(own)
    if dtype is not None and array.dtype.kind in "fc" and _none_became_nan(data, array):
        array = np.array(data, dtype=object)            # (refused below, as without a dtype)
    if array.dtype.kind not in "biufc":
        where = public_name("tensor")                   # (the function called with it: relu, Linear, ...)
        if where == "tensor":
            raise TypeError(f"tensor: expected numbers, got {type(data).__name__} data of dtype {array.dtype}")
        raise TypeError(not_numbers(where, data))
    return read_only(array)


def array_of(value: Any, dtype: Any = None) -> np.ndarray:
    """np.asarray(value, dtype) for an argument where one tensor goes (a tensor's data, an array as it is,
    numbers), as the ops read an index, a mask, a target or a shape to copy: a list or tuple of
    multi-element tensors is a TypeError naming the public function, as `tensor` refuses it (numpy would
    stack them through Tensor.__array__ into an array of another shape, silently)."""
    if isinstance(value, Tensor):
        value = value._data
    elif _holds_tensors(value):
        raise TypeError(_tensors_are_not_numbers(value))
    return np.asarray(value, dtype=dtype)


def _holds_tensors(data: Any) -> bool:
    """Whether `data` is a list or tuple holding a tensor of more than one element (not numbers), at any
    depth: numpy would stack `[[h, c]]` too."""
    return isinstance(data, (list, tuple)) and _tensors_held(data) is MANY


ONE, MANY = "one-element tensors", "a tensor of more than one element"
_SCALARS = (numbers.Number, np.generic)


def _tensors_held(data: list | tuple) -> str | None:
    """What tensors a list or tuple holds, at any depth: MANY if one has more than one element (the
    search stops there), else ONE if any (each one number), else None."""
    if all(issubclass(kind, _SCALARS) for kind in set(map(type, data))):
        return None                 # (numbers only, the common case: their types found at C speed)
    held = None
    for v in data:
        if isinstance(v, Tensor):
            if v._data.size != 1:
                return MANY
            held = ONE
        elif isinstance(v, (list, tuple)):
            inner = _tensors_held(v)
            if inner is MANY:
                return MANY
            held = held or inner
    return held


def _numbers_of(data: list | tuple) -> list:
    """`data` with each (one-element) tensor in it, at any depth, as the 0-d array of its number."""
    return [v._data.reshape(()) if isinstance(v, Tensor) else _numbers_of(v) if isinstance(v, (list, tuple)) else v
            for v in data]


def _tensors_are_not_numbers(data: list | tuple) -> str:
    """A list of tensors with more than one element each (an LSTM's `(h, c)` given to a readout) is not
    numbers, as in PyTorch ("only one element tensors can be converted to Python scalars"): stacking it
    would give a result of another shape, silently."""
    while not any(isinstance(v, Tensor) and v._data.size != 1 for v in data):   # (`[[h, c]]`: name `[h, c]`)
        data = next(v for v in data if _holds_tensors(v))
    shapes = ", ".join(str(v.shape) if isinstance(v, Tensor) else type(v).__name__ for v in data[:4])
    return (f"{public_name('tensor')}: expected a tensor or numbers, got a {type(data).__name__} of tensors "
            f"({shapes}{', ...' if len(data) > 4 else ''}); only one-element tensors are numbers, as in PyTorch: "
            "mg.stack or mg.cat joins tensors")


def numbers_in(value: Any, dtype: np.dtype) -> np.ndarray | None:
    """A new array of `value`'s numbers in `dtype`, or None unless they cast to it unchanged: of a
    kind that casts (ints into floats, float64 into float32; not floats into ints, complex into
    reals, None or text, which numpy would truncate, drop or turn into NaN) and within its range
    (1e39 into float32 would become inf, 2**32 + 5 into int32 would wrap to 5). A list or tuple of
    multi-element tensors is a TypeError naming the public function (`t.data = (h, c)`), as `tensor`'s."""
    if type(value) is np.ndarray and value.dtype == dtype:
        return value.copy()                         # (the common case, a gradient array: nothing to check)
    if _holds_tensors(value):
        raise TypeError(_tensors_are_not_numbers(value))
    try:
        numbers = np.asarray(value)
    except (TypeError, ValueError):                 # (ragged lists)
        return None
    if numbers.dtype.kind not in "biufc" or not np.can_cast(numbers.dtype, dtype, "same_kind"):
        return None
    with np.errstate(over="ignore"):
        cast = np.array(numbers, dtype=dtype)
    kept = (np.array_equal(cast, numbers) if cast.dtype.kind in "biu"
            else np.array_equal(np.isfinite(cast), np.isfinite(numbers)))
    return cast if kept else None


class Tensor:
    """An n-dimensional array that records the ops applied to it."""

    __slots__ = ("_data", "_node", "_tangent", "_part_of",  # _part_of: for base[index] with a basic index,
                 "__dict__", "__weakref__")                 # (base, index, ...) (ops/shape.py), else None;
                                                            # __dict__: a script's own attributes (`x.g = ...`);
                                                            # __weakref__: for leaves' hooks (tensor_hooks.py)
    __array_ufunc__ = None  # numpy defers to Tensor's reflected operators: array * tensor works

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if requires_grad is not False and requires_grad is not True and isinstance(
                requires_grad, numbers.Integral) and isinstance(data, numbers.Integral) and not isinstance(
                requires_grad, np.bool_):
            raise TypeError(f"Tensor: Tensor({data}, {requires_grad}, ...) takes data, not sizes (PyTorch's legacy "
                            f"constructor); for a tensor of that shape use mg.zeros({data}, {requires_grad}, ...)")
        if dtype is None and (not isinstance(data, (Tensor, np.ndarray, np.generic)) or
                              isinstance(data, np.ndarray) and data.dtype.kind in "biu"):
            # PyTorch's legacy `torch.Tensor(data)`: the default float dtype for numbers, and for a numpy
            # array of ints or bools (CleanRL's `torch.Tensor(next_done)`; a subclass too, np.load's memmap,
            # as PyTorch's PyArray_Check takes one); float arrays keep theirs
            dtype = _default_dtype
        self._data = _own_array(data, dtype)
        if type(data) is int:       # (`Parameter(torch.Tensor(n))` in ported code would be 0-d, silently)
            warnings.warn(f"Tensor({data}) is the 0-d tensor {self._data.item()} (data, as mg.tensor takes); "
                          f"PyTorch's legacy torch.Tensor({data}) reads one int as a size: mg.empty({data}) for that",
                          stacklevel=user_stacklevel())
        self._node = self._tangent = self._part_of = None
        if flag(requires_grad, "requires_grad", "Tensor"):
            self._become_leaf()

    # ---- what the tensor holds -------------------------------------------------

    @property
    def data(self) -> np.ndarray:
        """The array, read-only: a view of the tensor's own array, whose flag cannot be turned back
        on. Assign a new one to change the value (same shape and dtype)."""
        return self._data.view()

    @data.setter
    def data(self, value: Any) -> None:
        """Same shape and dtype, else ValueError (Python numbers: of a kind that casts to the dtype)."""
        array = value._data if isinstance(value, Tensor) else value
        if value is not None and not isinstance(array, (np.ndarray, np.generic)):
            array = numbers_in(array, self.dtype)
        if array is None or array.shape != self.shape or array.dtype != self.dtype:
            got = ("None" if value is None else "data that are not numbers of a kind that casts to it"
                   if array is None else f"shape {array.shape} and dtype {array.dtype}")
            raise ValueError(f"Tensor.data: expected an array of shape {self.shape} and dtype {self.dtype}, "
                             f"got {got}")
        self._data = _own_array(array)
        self._part_of = None        # (a view given data of its own keeps later writes, as after PyTorch's set_data)
        self._show_leaf_value()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """What numpy sees of a tensor (`np.array([t1, t2])`, `np.asarray(t)`): its data, read-only."""
        data = self._data if dtype is None else self._data.astype(dtype)
        return data.copy() if copy else data.view()

    def numpy(self) -> np.ndarray:
        """The data itself (a read-only view, not a copy), like `.data`."""
        return self._data.view()

    def _replace_data(self, array: np.ndarray) -> None:
        """Swap in a fresh array that nobody else holds (optimizers, `load_state_dict`)."""
        self._data = read_only(array)
        self._show_leaf_value()

    def _show_leaf_value(self) -> None:
        """A tiny leaf's node keeps its current values for drawings, as `result` does an op's."""
        node = self._node
        if node is not None and node.kind is LEAF and self._data.size <= 4:
            node.value = self._data

    @property
    def grad(self) -> np.ndarray | None:
        """dL/dself from the last backward pass that reached this tensor (leaves: summed over passes)."""
        node = self._node
        grad = None if node is None else node.grad
        return grad if grad is None or type(grad) is np.ndarray else np.asarray(grad)   # (0-d sums: numpy scalars)

    @grad.setter
    def grad(self, value: Any) -> None:
        node = self._node
        if node is None:
            if value is None:
                return
            raise RuntimeError("Tensor.grad: cannot set .grad on a tensor that does not require grad")
        if value is None:
            node.grad = None
            return
        grad = numbers_in(value, self._data.dtype)
        if grad is None:
            raise TypeError(f"Tensor.grad: expected numbers that cast to {self.dtype}, got "
                            f"{type(value).__name__} {value!r:.60}")
        if grad.shape != self._data.shape:
            raise ValueError(f"Tensor.grad: expected an array of shape {self.shape}, got shape {grad.shape}")
        node.grad = grad

    @property
    def requires_grad(self) -> bool:
        node = self._node
        return node is not None and node.kind is not CUT

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = flag(value, "requires_grad", "Tensor.requires_grad")
        node = self._node
        if node is not None and node.kind is not LEAF and node.kind is not CUT:
            # as PyTorch's, refused on an op's result, True included: a loop that forgot `.detach()` stops here;
            # a cut state (`truncate`) has no history, a leaf as PyTorch's `detach()` is: it may become one
            raise RuntimeError(
                "Tensor.requires_grad: can only be changed on a leaf tensor; use detach() for "
                f"the result of {node.describe()}")
        if value != self.requires_grad:
            if value:
                self._become_leaf()
            else:
                self._node = None

    def _become_leaf(self) -> None:
        if self._data.dtype.kind not in "fc":
            raise TypeError(f"Tensor: only floating-point tensors can require grad, got dtype {self._data.dtype}")
        self._node = autograd.Node("leaf", LEAF, (), None, None, self._data.shape, self._data.dtype)
        self._show_leaf_value()

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set `requires_grad` in place and return self."""
        if flag(requires_grad, "requires_grad", "Tensor.requires_grad_") and self.requires_grad:
            return self             # as PyTorch's, nothing to do (even on a result, where `= True` is refused)
        self.requires_grad = requires_grad
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

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def item(self) -> float:
        """The single element as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item: only a one-element tensor has an item, this one has shape {self.shape}")
        return self._data.item()

    def __bool__(self) -> bool:
        if self._data.size != 1:
            many = "no elements" if self._data.size == 0 else "more than one element"
            raise RuntimeError(f"bool: the truth value of a tensor with {many} is ambiguous "
                               f"(shape {self.shape}); use .any() or .all() on .data")
        return bool(self._data.item())

    def __float__(self) -> float:
        if self._data.size != 1:
            raise TypeError(f"float: only a one-element tensor converts to a Python number, got shape {self.shape}")
        return float(self._data.item())

    def __int__(self) -> int:
        if self._data.size != 1:
            raise TypeError(f"int: only a one-element tensor converts to a Python number, got shape {self.shape}")
        return int(self._data.item())

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
        if type(label) is not str:
            raise TypeError(f"named: expected a label as a str, got {type(label).__name__}")
        if self._node is not None:
            self._node.label = label
        return self

    def detach(self) -> "Tensor":
        """Same data (the same read-only array), no history."""
        return owned(self._data)

    def detach_(self) -> "Tensor":
        """PyTorch's in-place `detach_()`: this tensor loses its history (and stops requiring grad),
        so what is computed from it next starts a new graph (a recurrent state carried between
        batches: `state.detach_()`); graphs that already used it keep it. Inside `mg.jvp` it is a
        constant from then on. Returns self.

        A floating-point part of another tensor (t = u[i], a basic index, a piece of `narrow`, `split`,
        `chunk`, `unbind`, a `view`, `unsqueeze` or `transpose` of u: a PyTorch view) is refused, as
        PyTorch refuses a view ("Can't detach views in-place. Use detach() instead"): `t = t.detach()`."""
        if self._part_of is not None and self._data.dtype.kind in "fc":
            raise RuntimeError(
                "detach_: this tensor is a part of another one (t = u[index], a piece of u's narrow, split, "
                "chunk or unbind, or u.view(...), u.unsqueeze(...), u.transpose(...): a view of u in PyTorch, "
                "which cannot be detached in place either: \"Can't detach views in-place\"); write t = "
                "t.detach() instead")
        run = forward.current_run.get()
        self._node, self._tangent = None, None if run is None else (run, None)
        return self

    def backward(self, grad: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs: Any = None, *, gradient: Any = None) -> None:
        """Reverse-mode pass: fill `.grad` of every tensor this one depends on.

        `grad` (PyTorch's name: `gradient=`) is dL/dself; it may be omitted only when self has one
        element (then 1). `retain_graph=None` is False, as PyTorch's default; `create_graph` only False.
        `inputs`: fill only these tensors' `.grad` (`transforms.backward_into`).
        """
        grad = either("backward", "grad", grad, "gradient", gradient)
        retain_graph = flag(False if retain_graph is None else retain_graph, "retain_graph", "backward")
        if flag(create_graph, "create_graph", "backward"):
            raise NotImplementedError("backward: create_graph=True (gradients of gradients) is not supported; "
                                      "mg.jvp of a gradient computed by hand is the way to second derivatives here")
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
            seed = numbers_in(grad, self._data.dtype)
            if seed is None:
                raise TypeError(f"backward: grad must be numbers that cast to {self.dtype}, got "
                                f"{type(grad).__name__} {grad!r:.60}")
            if seed.shape != self.shape:
                raise ValueError(f"backward: grad of shape {seed.shape} given for a tensor of shape {self.shape}")
        if inputs is not None:
            return self._backward_into(seed, inputs, retain_graph)
        autograd.run_backward(node, seed, retain_graph)

    # ---- in-place operators: the tensor itself takes the result, as in PyTorch ------------------

    def _in_place(self, name: str, combine, other: Any) -> "Tensor":
        """`t += u` and its kin (`t[i] = v` too): t takes the result, in t's shape and dtype. Under
        `no_grad()` it gets a new array and keeps what it is (a parameter stays a leaf: `p -= lr *
        p.grad`); while recording it takes the result's history too (`loss += step_loss`), except a
        leaf that requires grad, whose gradient would then have nowhere to go. Either way graphs
        that recorded the old array keep it. When t is a part of another tensor (t = u[i], a basic
        index) the result is written into u as well, as into a PyTorch view, and t starts from u's
        values as they are now."""
        recording = grad_enabled.get()
        changed = self                          # self, and the tensors it is a part of (see below)
        while recording and changed is not None:
            if changed._node is not None and changed._node.kind is LEAF:
                raise RuntimeError(f"{name}: a leaf tensor that requires grad {'' if changed is self else '(here a part of one) '}"
                                   "cannot be changed in place while recording; update it under `with "
                                   "mg.no_grad():` (or assign t.data)")
            changed = None if changed._part_of is None else changed._part_of[0]
        chain = None if self._part_of is None else self._parts_in_step(name)
        out = combine(self if chain is None else chain[0][1], other)     # (a part: as its base holds it now)
        if out.shape != self.shape:
            raise ValueError(f"{name}: the result has shape {out.shape}, the tensor {self.shape}")
        if out.dtype != self.dtype:
            narrowing = out.dtype.kind in "iu" and self.dtype.kind in "iu"     # (PyTorch's uint8 += int8: uint8)
            if not narrowing and not np.can_cast(out.dtype, self.dtype, "same_kind"):
                raise TypeError(f"{name}: the result's dtype {out.dtype} cannot be cast to the tensor's "
                                f"dtype {self.dtype}")
            out = out.to(self.dtype)
        if chain is None:
            self._take(out, recording)
        else:                       # self is base[index], a basic index: as a PyTorch view, a part of base,
            self._write_through(chain, out, recording)  # so base takes the write too (ops/assign.py)
        return self

    def _take(self, out: "Tensor", recording: bool) -> None:
        """Take `out`'s array (under `no_grad()` keeping what self is, a leaf say), and while recording
        its history; in a forward-mode run its tangent (none: a constant there, even if self was seeded)."""
        if recording:
            self._data, self._node = out._data, out._node
        else:                       # (a view is copied: it would keep the array it looks into alive)
            self._replace_data(out._data if out._data.base is None else np.array(out._data))
        run = forward.current_run.get()
        self._tangent = out._tangent if out._tangent is not None or run is None else (run, None)

    def __iadd__(self, other): return self._in_place("+=", type(self).__add__, other)
    def __isub__(self, other): return self._in_place("-=", type(self).__sub__, other)
    def __imul__(self, other): return self._in_place("*=", type(self).__mul__, other)
    def __itruediv__(self, other): return self._in_place("/=", type(self).__truediv__, other)
    def __ipow__(self, other): return self._in_place("**=", type(self).__pow__, other)
    def __ifloordiv__(self, other): return self._in_place("//=", type(self).__floordiv__, other)
    def __imod__(self, other): return self._in_place("%=", type(self).__mod__, other)

    # ---- printing ---------------------------------------------------------------

    def __repr__(self) -> str:
        body = printing.array_text(self._data)
        extras = []
        node = self._node
        if node is not None:
            extras.append("requires_grad=True" if node.kind is LEAF else f"op={node.op}")
            if node.label:
                extras.append(f"label={node.label!r}")
            if node.step is not None:
                extras.append(f"t={node.step}")
        unsaid = (_default_dtype, np.int64, np.bool_) if self._data.size else (_default_dtype,)
        if self._data.dtype not in unsaid:      # (PyTorch's defaults go unsaid; an empty tensor's int64 is said)
            extras.append(f"dtype={self._data.dtype}")
        return "tensor(" + ", ".join([body] + extras) + ")"

    def __format__(self, spec: str) -> str:
        """A 0-d tensor formats as its number (`f"{loss:.3f}"`), as in PyTorch."""
        return format(self._data.item(), spec) if self._data.ndim == 0 else object.__format__(self, spec)

    __hash__ = object.__hash__     # (== is elementwise: tensors hash by identity, as PyTorch's)

    def __copy__(self) -> "Tensor":
        """`copy.copy`: another tensor object over the same (read-only) array and the same node
        (and the script's own attributes)."""
        out = _new_tensor(type(self))
        out._data, out._node, out._tangent, out._part_of = self._data, self._node, self._tangent, None
        out.__dict__.update(self.__dict__)
        return out

    def __reduce_ex__(self, protocol: int) -> tuple:
        """`copy.deepcopy` and `pickle`: the values, and for a leaf its requires_grad, .grad and label
        (and the script's own attributes, copied as PyTorch's are); never a graph. A result of ops
        that requires grad is refused, as PyTorch refuses to deep-copy one (its graph would have to
        come along: 100,000 steps deep, say)."""
        node = self._node
        if node is not None and node.kind is not LEAF and node.kind is not CUT:
            raise RuntimeError(f"copy.deepcopy/pickle: this tensor is the result of {node.op!r}, with a graph "
                               "behind it; only leaves and tensors without history are copied (copy "
                               "t.detach() for its values)")
        leaf = node if node is not None and node.kind is LEAF else None
        return (_rebuilt, (type(self), self._data, leaf is not None, leaf and leaf.grad, leaf and leaf.label),
                self.__dict__ or None)


def _rebuilt(cls: type, data: np.ndarray, requires_grad: bool, grad: np.ndarray | None, label: str | None) -> Tensor:
    """A copied or unpickled tensor: its own read-only array (numpy's copies are writeable), and a
    new leaf node when the original was a leaf."""
    out = _new_tensor(cls)
    out._data = read_only(np.array(data))
    out._node = out._tangent = out._part_of = None
    if requires_grad:
        out._become_leaf()
        out._node.grad, out._node.label = (None if grad is None else np.array(grad)), label
    return out


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, device: Any = None) -> Tensor:
    """A tensor of `data`, its dtype inferred from the data as PyTorch's `torch.tensor` infers it
    (`Tensor(data)`, PyTorch's legacy constructor, makes Python numbers and numpy arrays of ints or bools
    the default float dtype; a float numpy array keeps its dtype in both here, where PyTorch's
    `Tensor(ndarray)` is float32); `device`: the CPU, or None. A tensor given as data is copied (without its
    history) with PyTorch's UserWarning, at the caller's line (torch/csrc/utils/tensor_new.cpp, which warns
    so from `t.new_tensor(u)` too)."""
    check_device("tensor", device)
    if isinstance(data, Tensor):
        called = "tensor.new_tensor" if public_name("tensor").endswith("new_tensor") else "torch.tensor"
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach() or "
                      f"sourceTensor.clone().detach().requires_grad_(True), rather than {called}(sourceTensor).",
                      UserWarning, stacklevel=user_stacklevel())
    out = owned(_own_array(data, dtype))
    if flag(requires_grad, "requires_grad", "tensor"):
        out._become_leaf()
    return out


_new_tensor = object.__new__


def owned(array: np.ndarray, requires_grad: bool = False) -> Tensor:
    """Wrap an array that nothing else can write into (a fresh one, or a read-only one): no copy."""
    out = _new_tensor(Tensor)
    out._data = read_only(array) if array.flags.writeable else array
    out._node = out._tangent = out._part_of = None
    if requires_grad:
        out._become_leaf()
    return out


def as_tensor(value: Any, like: Tensor | None = None, where: str | None = None) -> Tensor:
    """A Tensor as is; a numpy array or Python scalar as a constant.

    A Python or numpy scalar takes the dtype numpy would give a Python scalar
    next to `like` (float32 tensor * 2.0 and * np.float64(2.0) stay float32, as
    in PyTorch), but a float next to an integer tensor the default float dtype
    (PyTorch's `arange(5) * 0.1` is float32). What is not numbers (a string,
    None, a ragged or mixed list) is an error naming `where`, the public function.
    Without `where`, a string or None names what `checks.public_name` finds on the
    stack (`tensor` if nothing), a ragged list `tensor`: pass `where` where that
    walk names no public function (`t + v`) or the wrong one.
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, numbers.Number) and like is not None:
        weak = value.item() if isinstance(value, np.generic) else value
        dtype = np.result_type(like._data, weak)
        if dtype.kind in "fc" and like._data.dtype.kind in "biu":   # arange(5) * 0.1 (* 1j): the default
            dtype = _default_dtype if dtype.kind == "f" else default_complex_dtype()
        if abs(weak) > _LARGEST.get(dtype, math.inf):     # 1e5 as float16 is inf, quietly, as PyTorch's
            with np.errstate(over="ignore"):
                return owned(np.asarray(value, dtype=dtype))
        return owned(np.asarray(value, dtype=dtype))
    if where is None:
        return tensor(value)
    try:
        return tensor(value)
    except (TypeError, ValueError) as error:
        message = str(error)
        if not message.startswith(f"{where}: "):       # (unless it names `where` already)
            why = "" if isinstance(error, TypeError) else f" ({message.removeprefix('tensor: ')})"
            message = not_numbers(where, value) + why
        raise type(error)(message) from None


_LARGEST = {np.dtype(t): float(np.finfo(t).max) for t in (np.float16, np.float32)}   # past it: inf


class Rules(NamedTuple):
    """One row of the table of derivatives, for each operand x_i of y = f(x_1, ..., x_n):

    - `vjp[i](g, kept)`: reverse mode, g J_i = dL/dx_i from g = dL/dy;
    - `jvp[i](v, kept)`: forward mode, J_i v = dy from a tangent v of x_i (with a
      leading axis of directions, see `forward.py`);
    - `broadcasts`: the op broadcasts its operands against each other.

    `kept` is what the op saved for that operand (`saved[i]`).
    """

    vjp: tuple
    jvp: tuple
    broadcasts: bool = False


def result(op: str, data: np.ndarray, inputs: Sequence[Tensor], rules: Rules, saved: Sequence) -> Tensor:
    """The tensor `op` returns: `data`, made read-only, with the node that records it (when an
    operand needs a gradient) and its tangent (when an operand carries one, in forward mode)."""
    if type(data) is not np.ndarray:
        data = np.asarray(data)
    data.setflags(False)                    # write=False (positional: half the cost)
    if anomaly_checks.get():
        check_forward(op, data, tuple(t.shape for t in inputs))
    out = _new_tensor(Tensor)
    out._data, out._tangent, out._part_of = data, None, None
    if len(inputs) == 2:                    # the operands' nodes (the common arities spelled out: cheaper)
        nodes = (inputs[0]._node, inputs[1]._node)
    elif len(inputs) == 1:
        nodes = (inputs[0]._node,)
    elif len(inputs) == 3:                  # (linear: x, W, b)
        nodes = (inputs[0]._node, inputs[1]._node, inputs[2]._node)
    else:
        nodes = tuple([t._node for t in inputs])
    out._node = node = autograd.record(op, nodes, rules.vjp, saved, data.shape, data.dtype)
    if node is not None and data.size <= 4:
        node.value = data                   # tiny values are shown in drawings
    if forward.current_run.get() is not None:    # a forward-mode run in this thread: push the tangents
        out._tangent = forward.push(op, rules, inputs, saved, data)
    return out

