"""PyTorch's `torch.nn.utils.prune` (read from its torch/nn/utils/prune.py): entries or whole channels of a
parameter set to zero by a mask, as a forward pre-hook (module_hooks.py), as `weight_norm` is one:

    prune.l1_unstructured(model.fc, "weight", amount=0.3)      # the 30 % of weights of least |w| zeroed

The parameter `weight` leaves the module's parameters for `weight_orig` (the same Parameter object, so
an optimizer made before still trains it), the mask is the buffer `weight_mask` (1 kept, 0 pruned, in
the parameter's dtype), and before every forward `module.weight` becomes weight_orig * weight_mask, a
product, so the gradient to weight_orig is the mask times the upstream one and pruned entries never
learn. The state dict holds `weight_orig` and `weight_mask`, as PyTorch's. Pruning again combines the
new mask with the old (a `PruningContainer`): the new method acts only on the entries (or channels)
the old mask kept. `remove` makes `weight` a plain parameter of the pruned values again.

`amount` is an int (how many entries or channels) or a float in [0, 1] (that fraction of them, rounded
by Python's `round`, as PyTorch's `_compute_nparams_toprune`). Ties are broken by a stable sort:
among entries of equal |w| the earlier (in row-major order) are pruned first, and among channels of
equal norm the earlier (along `dim`) are kept first; PyTorch's `torch.topk` leaves the order unspecified.
The random methods draw from the library's generator (`mg.manual_seed`).
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from typing import Any, Iterable

import numpy as np

from ...parameter import Parameter, UninitializedParameter
from ...random import default_generator
from ...tensor import Tensor, owned
from ..module import Module


class BasePruningMethod(ABC):
    """A way to prune: `compute_mask(t, default_mask)` gives the new mask from the importance scores `t`
    (the parameter's values, unless others are given) and the mask so far; `apply` reparametrises a
    module's parameter with it, and the method stays on the module as its forward pre-hook."""

    _tensor_name: str | None = None
    _where: str = ""            # the public function that applied it, for the errors of compute_mask
    PRUNING_TYPE: str = "unstructured"

    def __call__(self, module: Module, inputs: Any) -> None:
        """The forward pre-hook: `module.<name> = <name>_orig * <name>_mask`."""
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The mask for `t`, of its shape, keeping the zeros of `default_mask`."""

    def apply_mask(self, module: Module) -> Tensor:
        """<name>_orig * <name>_mask, recorded (so the gradient reaches <name>_orig, masked)."""
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return owned(mask._data.astype(orig.dtype, copy=False)) * orig

    @classmethod
    def apply(cls, module: Module, name: str, *args: Any, importance_scores: Any = None,
              **kwargs: Any) -> "BasePruningMethod":
        """Prune `module.<name>` by `cls(*args, **kwargs)` (on top of an earlier pruning of it); returns the
        method now hooked on the module (a PruningContainer when it was pruned before)."""
        return _apply(f"{cls.__name__}.apply", cls(*args, **kwargs), module, name, importance_scores)

    def prune(self, t: Any, default_mask: Any = None, importance_scores: Any = None) -> Tensor:
        """t * compute_mask(importance_scores or t, default_mask or ones), as a new tensor (no module)."""
        t = t if isinstance(t, Tensor) else owned(np.array(t))
        scores = t if importance_scores is None else importance_scores
        if np.asarray(scores).shape != t.shape:
            raise ValueError(f"{type(self).__name__}.prune: importance_scores must have the shape {t.shape} of t, "
                             f"got {np.asarray(scores).shape}")
        default_mask = owned(np.ones(t.shape, t.dtype)) if default_mask is None else default_mask
        return t * self.compute_mask(_as_tensor(scores), default_mask=_as_tensor(default_mask))

    def remove(self, module: Module) -> None:
        """Make `module.<name>` a plain parameter of its pruned values (the `<name>_orig` object, listed
        last); `<name>_orig` and `<name>_mask` leave the module. The pruning stays."""
        name = self._tensor_name
        weight = self.apply_mask(module)
        orig = module._parameters[name + "_orig"]
        for attribute in (name, name + "_orig", name + "_mask"):
            if hasattr(module, attribute):
                delattr(module, attribute)
        orig._replace_data(weight._data)
        setattr(module, name, orig)


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else owned(np.array(x))


class PruningContainer(BasePruningMethod):
    """The pruning methods applied to one parameter, in order: its mask is the last method's, computed on
    what the masks before kept (PyTorch's `_combine_masks`): the entries still 1 ("unstructured"), the
    channels along `dim` not all 0 ("structured"), or everything ("global")."""

    def __init__(self, *args: Any) -> None:
        self._pruning_methods: tuple[BasePruningMethod, ...] = ()
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        """Append `method` (TypeError unless a BasePruningMethod; ValueError if it prunes another tensor)."""
        if not isinstance(method, BasePruningMethod):
            raise TypeError(f"PruningContainer.add_pruning_method: expected a BasePruningMethod, got "
                            f"{type(method).__name__}")
        if self._tensor_name is None:
            self._tensor_name = method._tensor_name
        elif method._tensor_name != self._tensor_name:
            raise ValueError(f"PruningContainer.add_pruning_method: this container prunes {self._tensor_name!r}, "
                             f"the method prunes {method._tensor_name!r}")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self) -> Any:
        return iter(self._pruning_methods)

    def __getitem__(self, index: Any) -> Any:
        return self._pruning_methods[index]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        method = self._pruning_methods[-1]
        scores, mask = np.asarray(t), np.asarray(default_mask).astype(np.asarray(t).dtype)
        if method.PRUNING_TYPE == "unstructured":
            part = mask == 1
        elif method.PRUNING_TYPE == "structured":
            axis = _axis(method._where or type(method).__name__, scores, method.dim)
            kept = mask.sum(axis=tuple(a for a in range(mask.ndim) if a != axis)) != 0
            part = (slice(None),) * axis + (kept,)
        elif method.PRUNING_TYPE == "global":
            part = (slice(None),) * mask.ndim
        else:
            raise ValueError(f"PruningContainer: unrecognised PRUNING_TYPE {method.PRUNING_TYPE!r}")
        partial = method.compute_mask(owned(scores[part]), default_mask=owned(mask[part]))
        new = mask.copy()
        new[part] = np.asarray(partial)
        return owned(new)


class Identity(BasePruningMethod):
    """Prunes nothing: the reparametrisation with a mask of ones."""

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask


class _ByAmount(BasePruningMethod):
    """A method that prunes `amount` entries or channels."""

    def __init__(self, amount: Any) -> None:
        self.amount = _checked_amount(type(self).__name__, amount)

    def _count(self, size: int) -> int:
        """How many of `size` entries or channels to prune (ValueError if an int amount exceeds it)."""
        count = self.amount if isinstance(self.amount, numbers.Integral) else round(self.amount * size)
        if count > size:
            raise ValueError(f"{self._where or type(self).__name__}: amount={self.amount} is more than the {size} "
                             "entries (or channels) there are to prune")
        return int(count)


class RandomUnstructured(_ByAmount):
    """Prunes `amount` of the entries still kept, chosen at random: each gets a uniform draw, and those with
    the largest draws are pruned, as PyTorch's (`rand_like`, then `topk`)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        scores, mask = np.asarray(t), np.asarray(default_mask).copy()
        count = self._count(scores.size)
        if count:
            draws = default_generator().random(scores.size)
            mask.reshape(-1)[np.argsort(-draws, kind="stable")[:count]] = 0
        return owned(mask)


class L1Unstructured(_ByAmount):
    """Prunes `amount` of the entries still kept, those of least |t| (ties: the earlier first)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        scores, mask = np.asarray(t), np.asarray(default_mask).copy()
        count = self._count(scores.size)
        if count:
            mask.reshape(-1)[np.argsort(np.abs(scores).reshape(-1), kind="stable")[:count]] = 0
        return owned(mask)


class _Structured(_ByAmount):
    """A method that prunes whole channels: the slices t[..., i, ...] along `dim`."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: Any, dim: int = -1) -> None:
        super().__init__(amount)
        if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
            raise TypeError(f"{type(self).__name__}: dim must be an integer, got {dim!r}")
        self.dim = int(dim)

    def _channel_mask(self, scores: np.ndarray, default_mask: Any, kept: np.ndarray) -> Tensor:
        """Ones on the channels in `kept` (indices or a boolean array along dim), times the default mask."""
        axis = self.dim % scores.ndim
        mask = np.zeros(scores.shape, np.asarray(default_mask).dtype)
        mask[(slice(None),) * axis + (kept,)] = 1
        return owned(mask * np.asarray(default_mask))

    def _channels(self, scores: np.ndarray) -> int:
        """How many channels to prune, after PyTorch's checks: t has channels (2 axes or more), dim is one."""
        where = self._where or type(self).__name__
        if scores.ndim <= 1:
            raise ValueError(f"{where}: structured pruning needs a tensor of 2 axes or more, got shape {scores.shape}")
        return self._count(scores.shape[_axis(where, scores, self.dim)])


class RandomStructured(_Structured):
    """Prunes `amount` of the channels along `dim`, chosen at random: each channel gets a uniform draw and
    those with the smallest are pruned, as PyTorch's (`rand`, then `kthvalue`)."""

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        scores = np.asarray(t)
        count = self._channels(scores)
        if not count:
            return default_mask
        draws = default_generator().random(scores.shape[self.dim])
        return self._channel_mask(scores, default_mask, draws > np.sort(draws)[count - 1])


class LnStructured(_Structured):
    """Prunes `amount` of the channels along `dim`, those of least L`n` norm over their entries (`n` a
    number, inf, -inf, "fro", or "nuc" for a 3-axis tensor, as `torch.norm`'s p), keeping the others
    (ties: the earlier kept first)."""

    def __init__(self, amount: Any, n: Any, dim: int = -1) -> None:
        super().__init__(amount, dim)
        if n not in ("fro", "nuc") and (not isinstance(n, numbers.Real) or isinstance(n, bool)):
            raise ValueError(f"LnStructured: n must be a number, inf, -inf, 'fro' or 'nuc', got {n!r}")
        self.n = n

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        scores = np.asarray(t)
        count = self._channels(scores)
        if not count:
            return default_mask
        norms = channel_norms(self._where or "LnStructured", scores, self.n, self.dim)
        kept = np.argsort(-norms, kind="stable")[:scores.shape[self.dim] - count]
        return self._channel_mask(scores, default_mask, kept)


def channel_norms(where: str, t: np.ndarray, n: Any, dim: int) -> np.ndarray:
    """The L_n norm of each slice of t along `dim`, over all its other axes (PyTorch's `_compute_norm`):
    (sum |x|^n)^(1/n); max |x| for inf, min |x| for -inf, the count of nonzeros for 0; "fro" is n = 2,
    "nuc" the sum of singular values of each slice (a matrix: t has 3 axes)."""
    rows = np.moveaxis(t, dim, 0)
    if n == "nuc":
        if t.ndim != 3:
            raise ValueError(f"{where}: n='nuc' needs a tensor of 3 axes (a matrix per channel), got shape {t.shape}")
        return np.linalg.norm(rows, "nuc", axis=(1, 2))
    rows = np.abs(rows).reshape(rows.shape[0], -1)
    n = 2 if n == "fro" else n
    if n == np.inf:
        return rows.max(axis=1)
    if n == -np.inf:
        return rows.min(axis=1)
    if n == 0:
        return (rows != 0).sum(axis=1).astype(t.dtype)
    return (rows ** n).sum(axis=1) ** (1.0 / n)


class CustomFromMask(BasePruningMethod):
    """Prunes by a given mask (1 keep, 0 prune), on top of the mask so far."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Any) -> None:
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        given, mask = np.asarray(self.mask), np.asarray(default_mask)
        if given.shape != mask.shape:
            raise ValueError(f"{self._where or 'CustomFromMask'}: the mask has shape {given.shape}, the tensor "
                             f"{mask.shape}")
        return owned(mask * given.astype(mask.dtype))


def _checked_amount(where: str, amount: Any) -> Any:
    """PyTorch's `_validate_pruning_amount_init`: an integer >= 0 or a float in [0, 1]."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"{where}: amount must be an int or a float, got {type(amount).__name__} {amount!r}")
    if (amount < 0) if isinstance(amount, numbers.Integral) else not 0.0 <= float(amount) <= 1.0:
        raise ValueError(f"{where}: amount={amount!r} should either be a float in the range [0, 1] or a "
                         "non-negative integer")
    return amount


def _axis(where: str, t: np.ndarray, dim: int) -> int:
    if not -t.ndim <= dim < t.ndim:
        raise IndexError(f"{where}: dim {dim} is out of range for a tensor of shape {t.shape}")
    return dim % t.ndim


def _hook_on(module: Module, name: str) -> tuple[Any, BasePruningMethod | None]:
    """(handle id, method) of the pruning hook on `module.<name>`, or (None, None)."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            return key, hook
    return None, None


def _target(where: str, module: Any, name: Any) -> BasePruningMethod | None:
    """The pruning hook already on module.<name> (None the first time, when it must be a parameter)."""
    if not isinstance(module, Module):
        raise TypeError(f"{where}: expected a Module, got {type(module).__name__}")
    if not isinstance(name, str):
        raise TypeError(f"{where}: expected the parameter's name as a str, got {type(name).__name__}")
    old = _hook_on(module, name)[1]
    if old is None and not isinstance(module._parameters.get(name), Parameter):
        raise ValueError(f"{where}: {type(module).__name__} has no parameter {name!r} (its parameters: "
                         f"{[n for n, p in module._parameters.items() if p is not None]})")
    if isinstance(module._parameters.get(name), UninitializedParameter):
        raise ValueError(f"{where}: the parameter {name!r} of {type(module).__name__} is not initialized yet; "
                         "run a forward pass first")
    if old is None:
        for taken in (name + "_orig", name + "_mask"):
            if hasattr(module, taken):
                raise KeyError(f"{where}: {type(module).__name__} already has an attribute {taken!r}; nothing "
                               "was changed")
    return old


def _apply(where: str, method: BasePruningMethod, module: Any, name: Any, importance_scores: Any) -> BasePruningMethod:
    """PyTorch's BasePruningMethod.apply, all or nothing: the mask is computed before the module changes."""
    old = _target(where, module, name)
    method._tensor_name, method._where = name, where
    orig = getattr(module, name)
    scores = orig if importance_scores is None else importance_scores
    if np.asarray(scores).shape != orig.shape:
        raise ValueError(f"{where}: importance_scores must have the shape {orig.shape} of {name!r}, got "
                         f"{np.asarray(scores).shape}")
    if old is None:
        hook, default_mask = method, owned(np.ones(orig.shape, orig.dtype))
    else:
        hook = PruningContainer(*old) if isinstance(old, PruningContainer) else PruningContainer(old)
        hook.add_pruning_method(method)
        default_mask = getattr(module, name + "_mask")
    mask = np.asarray(hook.compute_mask(_as_tensor(scores).detach(), default_mask=default_mask))
    if mask.shape != orig.shape:
        raise ValueError(f"{where}: compute_mask gave a mask of shape {mask.shape} for {name!r} of shape {orig.shape}")
    if old is None:
        module.register_parameter(name + "_orig", orig)
        del module._parameters[name]
    else:
        del module._forward_pre_hooks[_hook_on(module, name)[0]]
    module.register_buffer(name + "_mask", owned(mask.astype(orig.dtype)))
    setattr(module, name, hook.apply_mask(module))
    module.register_forward_pre_hook(hook)
    return hook


def identity(module: Module, name: str) -> Module:
    """Reparametrise `module.<name>` as `<name>_orig * <name>_mask` with a mask of ones; returns the module."""
    _apply("identity", Identity(), module, name, None)
    return module


def random_unstructured(module: Module, name: str, amount: Any) -> Module:
    """Prune `amount` of the kept entries of `module.<name>`, chosen at random; returns the module."""
    _apply("random_unstructured", RandomUnstructured(_checked_amount("random_unstructured", amount)), module, name,
           None)
    return module


def l1_unstructured(module: Module, name: str, amount: Any, importance_scores: Any = None) -> Module:
    """Prune `amount` of the kept entries of `module.<name>`, those of least |importance_scores| (the
    parameter's values by default); returns the module."""
    _apply("l1_unstructured", L1Unstructured(_checked_amount("l1_unstructured", amount)), module, name,
           importance_scores)
    return module


def random_structured(module: Module, name: str, amount: Any, dim: int) -> Module:
    """Prune `amount` of the kept channels along `dim` of `module.<name>`, chosen at random; returns it."""
    _apply("random_structured", RandomStructured(_checked_amount("random_structured", amount), dim), module,
           name, None)
    return module


def ln_structured(module: Module, name: str, amount: Any, n: Any, dim: int, importance_scores: Any = None) -> Module:
    """Prune `amount` of the kept channels along `dim` of `module.<name>`, those of least L`n` norm of the
    importance scores (the parameter's values by default); returns the module."""
    _apply("ln_structured", LnStructured(_checked_amount("ln_structured", amount), n, dim), module, name,
           importance_scores)
    return module


def custom_from_mask(module: Module, name: str, mask: Any) -> Module:
    """Prune `module.<name>` by `mask` (1 keep, 0 prune, of its shape); returns the module."""
    _apply("custom_from_mask", CustomFromMask(mask), module, name, None)
    return module


def global_unstructured(parameters: Iterable, pruning_method: type, importance_scores: dict | None = None,
                        **kwargs: Any) -> None:
    """Prune the (module, name) pairs of `parameters` together, as one flattened tensor: `pruning_method`
    (an "unstructured" one, made with **kwargs, such as amount=) picks among all their kept entries
    (`importance_scores`: a dict (module, name) -> scores; the parameters' values by default), and each
    gets its part of the mask by `custom_from_mask`. All checked before any module changes."""
    where = "global_unstructured"
    if isinstance(parameters, (str, Tensor)) or not isinstance(parameters, Iterable):
        raise TypeError(f"{where}: parameters must be an iterable of (module, name) pairs, got "
                        f"{type(parameters).__name__}")
    pairs = list(parameters)
    if not all(isinstance(pair, tuple) and len(pair) == 2 for pair in pairs):
        raise TypeError(f"{where}: parameters must be an iterable of (module, name) pairs")
    importance_scores = {} if importance_scores is None else importance_scores
    if not isinstance(importance_scores, dict):
        raise TypeError(f"{where}: importance_scores must be a dict, got {type(importance_scores).__name__}")
    for module, name in pairs:
        _target(where, module, name)
    if not callable(pruning_method):
        raise TypeError(f"{where}: pruning_method must be a pruning method class such as prune.L1Unstructured, "
                        f"got {type(pruning_method).__name__} {pruning_method!r}")
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f"{where}: only an \"unstructured\" pruning_method prunes globally, got "
                        f"{getattr(pruning_method, '__name__', pruning_method)} of type {method.PRUNING_TYPE!r}")
    method._tensor_name, method._where = "temp", where
    scores, masks = [], []
    for module, name in pairs:
        tensor = getattr(module, name)
        given = np.asarray(importance_scores.get((module, name), tensor))
        if given.shape != tensor.shape:
            raise ValueError(f"{where}: importance_scores for {name!r} must have shape {tensor.shape}, got "
                             f"{given.shape}")
        scores.append(given.reshape(-1))
        mask = getattr(module, name + "_mask", owned(np.ones(tensor.shape, tensor.dtype)))
        masks.append(np.asarray(mask).reshape(-1))
    container = PruningContainer(method)
    final = np.asarray(container.compute_mask(owned(np.concatenate(scores)), default_mask=owned(np.concatenate(masks))))
    start = 0
    for module, name in pairs:
        shape = getattr(module, name).shape
        size = int(np.prod(shape))
        _apply(where, CustomFromMask(final[start:start + size].reshape(shape)), module, name, None)
        start += size


def remove(module: Module, name: str) -> Module:
    """Make the pruned `module.<name>` a plain parameter (of its pruned values) again, without the hook,
    `<name>_orig` and `<name>_mask`; ValueError if it is not pruned. Returns the module."""
    if not isinstance(module, Module):
        raise TypeError(f"remove: expected a Module, got {type(module).__name__}")
    key, hook = _hook_on(module, name)
    if hook is None:
        raise ValueError(f"remove: parameter {name!r} of {type(module).__name__} has to be pruned before pruning "
                         "can be removed")
    hook.remove(module)
    del module._forward_pre_hooks[key]
    return module


def is_pruned(module: Module) -> bool:
    """Whether `module` or a module below it has a pruning hook."""
    if not isinstance(module, Module):
        raise TypeError(f"is_pruned: expected a Module, got {type(module).__name__}")
    return any(isinstance(hook, BasePruningMethod)
               for submodule in module.modules() for hook in submodule._forward_pre_hooks.values())
