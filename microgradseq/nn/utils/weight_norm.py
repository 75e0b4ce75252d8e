"""PyTorch's `torch.nn.utils.weight_norm` (Salimans and Kingma, 2016): a module's weight w written as
w = g v / ||v||, the direction v and the length g trained as two parameters, `weight_g` and `weight_v`.
locuslab's TCN wraps each of its dilated convolutions in it:

    self.conv1 = weight_norm(nn.Conv1d(n_inputs, n_outputs, kernel_size, padding=padding, dilation=dilation))

As PyTorch's, it is a forward pre-hook (module_hooks.py): `weight` leaves the module's parameters, g and v
take its place (g the norm of each slice of w along `dim`, so w is unchanged), `module.weight` becomes the
computed tensor, and the hook computes it again from g and v before every forward. So a write into
`module.weight` (TCN's `init_weights`, `weight.data.normal_(0, 0.01)`) lasts only until the next forward,
as in PyTorch. ||v|| is the 2-norm of v over every axis but `dim` (over all of v for dim None or -1),
written with `norm`, so the gradients to g and v come from the chain rule. `remove_weight_norm` puts a
plain weight parameter back (after the others, as PyTorch's).
"""

from __future__ import annotations

from typing import Any

from ...checks import is_int
from ...parameter import Parameter, UninitializedParameter
from ...tensor import Tensor
from ..module import Module


def norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """||v|| over every axis but `dim`, kept as axes of size 1 (over all of v, a 0-d tensor, for dim -1)."""
    if dim == -1:
        return v.norm()
    return v.norm(2, dim=tuple(axis for axis in range(v.ndim) if axis != dim), keepdim=True)


def weight_normed(g: Tensor, v: Tensor, dim: int) -> Tensor:
    """w = g v / ||v||, ||v|| over every axis but `dim` (over all of v for dim -1): the math of both forms
    of weight norm, this hook's and the parametrization's (`parametrizations.weight_norm`)."""
    return v * (g / norm_except_dim(v, dim))


def weight_norm_dim(where: str, weight: Tensor, dim: Any) -> int:
    """`dim` as an axis of `weight` (-1 for None or -1: the norm over all of it); else a ValueError."""
    if dim is not None and (not is_int(dim) or not -weight.ndim <= dim < weight.ndim):
        raise ValueError(f"{where}: dim must be None or an axis of the weight of shape {weight.shape}, got {dim!r}")
    return -1 if dim is None or dim == -1 else int(dim) % weight.ndim


def parameter_to_hook(where: str, module: Module, name: str, hook_class: type) -> Parameter:
    """The parameter `name` of `module` that a `hook_class` hook (weight_norm's, spectral_norm's) is about
    to take over: RuntimeError if one already holds it, ValueError if `name` is no parameter of the module
    or one not initialised yet (a lazy module before its first call); `where` names the function."""
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, hook_class) and hook.name == name:
            raise RuntimeError(f"{where}: cannot register two {where} hooks on the same parameter {name!r}")
    weight = module._parameters.get(name)
    if not isinstance(weight, Parameter):
        raise ValueError(f"{where}: {type(module).__name__} has no parameter {name!r} (its parameters: "
                         f"{[n for n, p in module._parameters.items() if p is not None]})")
    if isinstance(weight, UninitializedParameter):
        raise ValueError(f"{where}: the parameter {name!r} of {type(module).__name__} is not initialized yet; "
                         "run a forward pass first")
    return weight


def hook_removed(kind: str, module: Module, name: str, hook_class: type) -> Module:
    """`module` without its `hook_class` hook on `name` (weight_norm's, spectral_norm's), the parameter
    plain again (the hook's `remove`); ValueError naming `remove_<kind>` if there is none."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, hook_class) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"remove_{kind}: {kind} of {name!r} not found in {type(module).__name__}")


class WeightNorm:
    """The forward pre-hook `weight_norm` registers: `module.<name> = g v / ||v||` before each forward."""

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim

    def compute_weight(self, module: Module) -> Tensor:
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        return weight_normed(g, v, self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: Any) -> "WeightNorm":
        where = "weight_norm"
        if not isinstance(module, Module):
            raise TypeError(f"{where}: expected a Module, got {type(module).__name__}")
        if not isinstance(name, str):
            raise TypeError(f"{where}: expected the parameter's name as a str, got {type(name).__name__}")
        weight = parameter_to_hook(where, module, name, WeightNorm)
        if weight.ndim == 0:
            raise ValueError(f"{where}: the parameter {name!r} of {type(module).__name__} is 0-d (one number), which "
                             "has no direction to normalise")
        dim = weight_norm_dim(where, weight, dim)
        for taken in (name + "_g", name + "_v"):
            if taken not in module._parameters and hasattr(module, taken):
                raise KeyError(f"{where}: {type(module).__name__} already has an attribute {taken!r}, which weight_norm "
                               "would register as a parameter; nothing was changed")
        hook = WeightNorm(name, dim)
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(norm_except_dim(weight.detach(), dim).data))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, hook.compute_weight(module))
        module.register_forward_pre_hook(hook)
        return hook

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        for attribute in (self.name, self.name + "_g", self.name + "_v"):
            delattr(module, attribute)
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))

    def __repr__(self) -> str:
        return f"WeightNorm(name={self.name!r}, dim={self.dim})"


def weight_norm(module: Module, name: str = "weight", dim: Any = 0) -> Module:
    """PyTorch's `torch.nn.utils.weight_norm(module, name='weight', dim=0)`: the parameter `name` of `module`
    becomes `name_g` (its norm over every axis but `dim`; over all of it for dim None) and `name_v` (its
    values), and `module.<name>` is g v / ||v||, computed again before every forward. Returns the module.
    A second weight_norm on the same parameter is a RuntimeError and a parameter not yet initialized a
    ValueError, as PyTorch's; a name that is no parameter of the module, a 0-d one or a dim that is no
    axis of it is a ValueError too (PyTorch fails there with an AttributeError or an IndexError); an
    attribute `name_g` or `name_v` that is no parameter a KeyError, before the module is changed."""
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """PyTorch's `torch.nn.utils.remove_weight_norm`: `name` a plain parameter again, of the values g v / ||v||
    had; ValueError if `module` has no weight_norm on `name`."""
    return hook_removed("weight_norm", module, name, WeightNorm)
