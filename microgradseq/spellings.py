"""PyTorch's argument names beside numpy's: `dim=` for `axis=`, `keepdim=` for `keepdims=`,
and what `t.to(...)` may be given.

Functions take both spellings so that numpy code and PyTorch code both run
unchanged; giving both at once is a TypeError naming the function.
"""

from __future__ import annotations

import functools
import operator
from typing import Any, Callable

import numpy as np

from .checks import flag, is_int, public_name


def either(where: str, name: str, value: Any, torch_name: str, torch_value: Any, default: Any = None) -> Any:
    """The value given under numpy's name or PyTorch's (`axis` or `dim`), or `default` when neither was."""
    if value is not None and torch_value is not None:
        raise TypeError(f"{where}: got both {name}= and {torch_name}=; pass one (they mean the same)")
    if value is not None:
        return value
    return default if torch_value is None else torch_value


def also_by_keyword(**aliases: str) -> Callable[[Callable], Callable]:
    """A decorator: the function takes each of its parameters `aliases[alias]` also as `alias=` (the
    contract's name beside PyTorch's: `F.softmax(x=t)` and `F.softmax(input=t)`); both at once is a
    TypeError naming the function."""
    def decorate(fn: Callable) -> Callable:
        name = fn.__name__          # (a free variable named `name`: `checks.public_name` reads it)

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            for alias, parameter in aliases.items():
                if alias in kwargs:
                    if parameter in kwargs:
                        raise TypeError(f"{name}: got both {alias}= and {parameter}=; pass one (they mean the same)")
                    kwargs[parameter] = kwargs.pop(alias)
            return fn(*args, **kwargs)
        return call
    return decorate


def axis_keepdims(where: str, axis: Any, keepdims: Any, dim: Any, keepdim: Any) -> tuple[Any, bool]:
    """(axis, keepdims) from either spelling of each; keepdims is False unless given (a bool)."""
    keep = either(where, "keepdims", keepdims, "keepdim", keepdim, False)
    return either(where, "axis", axis, "dim", dim), flag(keep, "keepdims", where)


def target_dtype(where: str, args: tuple, kwargs: dict) -> np.dtype | None:
    """The dtype a `to(...)` call asks for (None: keep it), as PyTorch's `to` reads its arguments:
    `to(device)`, `to(dtype)`, `to(device, dtype)`, `to(tensor)`, or `device=` and `dtype=` by name.

    A device must be the CPU (`"cpu"`, `"cpu:0"`, or None): nothing here runs anywhere else.
    """
    unknown = sorted(set(kwargs) - {"device", "dtype", "non_blocking", "copy", "memory_format"})
    if unknown:
        raise TypeError(f"{where}: unexpected keyword argument {unknown[0]!r}")
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    for arg in args:
        if arg is None or isinstance(arg, str):
            device = arg
            continue
        try:                    # a dtype (np.float64, mg.float64), or a tensor whose dtype to take
            dtype = np.dtype(arg if isinstance(arg, (type, np.dtype)) else arg.dtype)
        except (TypeError, AttributeError):
            device = arg
            continue
        if dtype == object and isinstance(arg, type):   # a class that is no dtype (`torch.Tensor`): numpy
            raise TypeError(f"{where}: expected a dtype, a device or a tensor, got the class "  # reads object
                            f"{arg.__name__!r}")
    check_device(where, device)
    return None if dtype is None else np.dtype(dtype)


def check_device(where: str, device: Any) -> None:
    """Accept the CPU (`"cpu"`, `"cpu:0"`, None, or anything whose str() is one of those); refuse the rest."""
    if device is None:
        return
    text = str(device)
    if text == "cpu" or text.startswith("cpu:"):
        return
    raise RuntimeError(f"{where}: device {text!r} is not available; microgradseq runs on numpy, "
                       "on the CPU only (use 'cpu')")


class device:
    """PyTorch's `torch.device`: the name of where tensors live. Any name can be made, as in PyTorch
    (`device("cuda" if mg.cuda.is_available() else "cpu")`), but only the CPU can be used: giving
    another device to a tensor maker, a module or `to(...)` raises there. Equal to its name
    (`mg.device("cpu") == "cpu"`)."""

    def __init__(self, type: Any, index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str) or not type:
            raise TypeError(f"device: expected a device name such as 'cpu', got {type!r}")
        name, colon, number = type.partition(":")
        if colon:
            if index is not None or not number.isdigit():
                raise ValueError(f"device: expected a name such as 'cpu' or 'cpu:0', got {type!r}"
                                 + (f" and index={index!r}" if index is not None else ""))
            index = int(number)
        if index is not None and not (isinstance(index, int) and not isinstance(index, bool) and index >= 0):
            raise ValueError(f"device: expected index a non-negative integer, got {index!r}")
        self.type, self.index = name, index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device(type={self.type!r}" + ("" if self.index is None else f", index={self.index}") + ")"

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, (device, str)):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    def __enter__(self) -> "device":
        """`with mg.device("cpu"):` (PyTorch's default device for the block): tensors are made on the
        CPU anyway; another device raises."""
        check_device("device", self)
        return self

    def __exit__(self, *exc_info) -> None:
        return None


CPU = device("cpu")


def set_default_device(device: Any) -> None:
    """PyTorch's `torch.set_default_device`: the CPU (or None) is accepted, and tensors are made there
    anyway; another device raises a RuntimeError naming it."""
    check_device("set_default_device", device)


class Size(tuple):
    """PyTorch's `torch.Size`, a tuple of sizes: `torch.Size([2, 3])`, and what `t.size()` gives (so the typed
    constructors read `torch.BoolTensor(x.size())` as sizes). A tensor's `shape` is a plain tuple here,
    equal to it, so `x.shape == torch.Size([2, 3])` ports as written."""

    def __new__(cls, sizes: Any = ()) -> "Size":
        # as PyTorch's: sizes are integers (torch.Size([2.5]) is a TypeError), kept as Python ints
        try:
            return super().__new__(cls, (operator.index(n) for n in sizes))
        except TypeError:
            raise TypeError(f"{public_name('Size')}: expected a shape, a tuple of integer sizes such as (2, 3), "
                            f"got {sizes!r:.60}") from None

    def __getitem__(self, key: Any) -> Any:
        part = super().__getitem__(key)     # a slice of a Size is a Size, as PyTorch's: size[1:].numel()
        return Size(part) if isinstance(key, slice) else part

    def numel(self) -> int:
        """The number of elements a tensor of this shape holds: the product of the sizes."""
        return int(np.prod(self, dtype=np.int64))

    def __repr__(self) -> str:
        return f"Size({list(self)})"


class memory_format:
    """PyTorch's `torch.memory_format`, whose four values are `torch.contiguous_format`, `torch.preserve_format`,
    `torch.channels_last` (a 4-d (N, C, H, W) tensor laid out as N, H, W, C) and `torch.channels_last_3d` (5-d).
    Arrays here are numpy's, laid out as numpy makes them (`t.stride()` reports it), so a memory format changes
    no layout and no value: the `*_like` makers, `empty`, `t.clone()` and `t.contiguous()` take `memory_format=`,
    check it and give what they give without it (`t.to()` takes it too). Optimizers written after PyTorch's own
    make their state with `torch.zeros_like(p, memory_format=torch.preserve_format)`."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self) -> str:            # pickle and deepcopy give back the one object of each name
        return self._name


contiguous_format, preserve_format = memory_format("contiguous_format"), memory_format("preserve_format")
channels_last, channels_last_3d = memory_format("channels_last"), memory_format("channels_last_3d")


def check_memory_format(where: str, value: Any, ndim: int, preserve: bool = True) -> None:
    """`memory_format=` as PyTorch takes it: None or a `memory_format` (TypeError otherwise), `channels_last` for
    a 4-d tensor and `channels_last_3d` for a 5-d one only (ValueError otherwise; PyTorch's RuntimeError says
    "required rank 4 tensor to use channels_last format"). `preserve=False` where PyTorch refuses
    `preserve_format` (ValueError): `empty`, which has no input whose layout to keep ("unsupported memory format
    Preserve"), and `contiguous` of a tensor that is not contiguous ("preserve memory format is unsupported by
    the contiguous operator")."""
    if value is None or value is contiguous_format or value is preserve_format and preserve:
        return
    if value is preserve_format:
        raise ValueError(f"{where}: memory_format=torch.preserve_format is unsupported here, as in PyTorch (whose "
                         "error is a RuntimeError); use torch.contiguous_format")
    if not isinstance(value, memory_format):
        raise TypeError(f"{where}: memory_format must be a torch.memory_format such as torch.preserve_format, got "
                        f"{type(value).__name__} {value!r:.60}")
    rank = 4 if value is channels_last else 5
    if ndim != rank:
        raise ValueError(f"{where}: memory_format={value!r} needs a {rank}-d tensor, got one with {ndim} axes")


def shape_of(size: tuple) -> tuple:
    """A shape given as separate numbers (`2, 3`) or as one sequence (`(2, 3)`), as a tuple; a 0-d
    integer tensor or array counts as its number, as in PyTorch (`zeros(3, lengths.max())`)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(n.item() if getattr(n, "ndim", None) == 0 and np.asarray(n).dtype.kind in "iu" else n
                 for n in size)


def sizes_of(size: tuple, where: str) -> tuple:
    """`shape_of(size)`, checked to be integers >= 0 (ValueError naming `where`)."""
    sizes = shape_of(size)
    if not all(is_int(n) and n >= 0 for n in sizes):
        raise ValueError(f"{where}: a size must be integers >= 0, such as (2, 3), got {sizes!r}")
    return sizes


def only_defaults(where: str, options: dict, defaults: dict) -> None:
    """Refuse PyTorch arguments that are not supported here: each of `options` must be one of
    `defaults` and carry its default value (`proj_size=0` is fine, `2` is not);
    a `device=` must be the CPU. TypeError naming `where` and the argument otherwise."""
    for name, value in options.items():
        if name == "device":
            check_device(where, value)
        elif name not in defaults:
            raise TypeError(f"{where}: the keyword argument {name}= is not supported")
        elif not _is_default(value, defaults[name]):
            raise TypeError(f"{where}: {name}={value!r} is not supported (only the default, "
                            f"{name}={defaults[name]!r})")


def _is_default(value: Any, default: Any) -> bool:
    """`value` is `default`, or equal to it and of its type (an int for a float default too:
    PyTorch's `norm_type=2` is its 2.0; but `proj_size=0.0` or `False` is not `0`)."""
    if value is default:
        return True
    if type(value) is int and type(default) is float:
        return value == default
    return type(value) is type(default) and value == default
