"""`Optimizer`, the base class: parameter groups, per-parameter state, and the all-or-nothing step.

An optimizer never writes into a parameter's array: arrays are read-only, and
the graph of an earlier forward pass may have saved the old one (truncated
BPTT with k1 < k2 still backpropagates through it). So each step computes a
new array and gives it to the parameter with `_replace_data`.

A step is all or nothing: the options of every group, every parameter,
gradient and state are checked, every new array and state computed, and only
then are they swapped in, so a step that fails leaves every parameter and
every state (Adam's step count too) as it was.

As PyTorch's, the parameters come in groups, `optimizer.param_groups`, a list
of dicts `{'params': [...], 'lr': ..., ...}` that you may change between steps
(`for g in optimizer.param_groups: g['lr'] *= 0.5` takes effect at the next
step; `lr_scheduler` does just that).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Iterable

import numpy as np

from ..autograd import LEAF, grad_enabled, setting
from ..checks import is_int
from ..parameter import Parameter, forget_gradients
from ..tensor import Tensor
from . import state_dict as saving
from .options import non_negative


class _RequiredParameter:
    """PyTorch's mark of an option with no default (`torch.optim.optimizer.required`): a subclass written
    after PyTorch's old SGD, `def __init__(self, params, lr=required, ...)`, puts it in `defaults`, and a
    group that does not give that option is a ValueError (the base class's `add_param_group` checks it)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class ParamState(list):
    """`optimizer.state`: one dict per parameter, in the order of the parameters over the groups
    (the numbering `state_dict()` uses). As in PyTorch, a parameter is a key too: `state[p]`."""

    def __init__(self, params: list[Tensor]) -> None:
        super().__init__({} for _ in params)
        self.params = params            # the optimizer's own list: add_param_group extends both

    def _position(self, key: Any) -> Any:
        if not isinstance(key, Tensor):
            return key
        for index, p in enumerate(self.params):
            if p is key:
                return index
        raise KeyError(f"optimizer.state: a tensor of shape {key.shape} that is not one of the "
                       "optimizer's parameters")

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self._position(key))

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(self._position(key), value)

    def __delitem__(self, key: Any) -> None:
        """`del optimizer.state[p]`: p's state is forgotten (it starts afresh at its next step), as
        deleting from PyTorch's dict of state; the others keep their places (a list's `del` would
        shift them onto the wrong parameters)."""
        position = self._position(key)
        for index in (range(*position.indices(len(self))) if isinstance(position, slice) else (position,)):
            super().__setitem__(index, {})

    def pop(self, key: Any, *default: Any) -> dict:
        """p's state, forgotten here as `del` forgets it (`default` for a parameter not trained here)."""
        try:
            state = self[key]
        except (KeyError, IndexError):
            if default:
                return default[0]
            raise
        del self[key]
        return state

    def clear(self) -> None:
        """Forget every parameter's state: the next step is each one's first, as PyTorch's
        `optimizer.state.clear()`."""
        self[:] = [{} for _ in self.params]

    def keys(self) -> list[Tensor]:
        return list(self.params)

    def values(self) -> list[dict]:
        return list(self)

    def items(self) -> list[tuple[Tensor, dict]]:
        return list(zip(self.params, self))


def _group_list(params: Any, where: str) -> tuple[list[dict], bool]:
    """What the constructor was given, as a list of group dicts (an iterable of tensors is one
    group), and whether it was an iterable of tensors."""
    if isinstance(params, Tensor):
        # a Tensor iterates over its rows, which would silently train slices
        raise ValueError(f"{where}: expected an iterable of Tensors (e.g. module.parameters()), "
                         f"got a single Tensor of shape {params.shape}; wrap it in a list")
    if isinstance(params, (set, frozenset)):
        raise TypeError(f"{where}: parameters must come in an ordered collection (a list, or "
                        "model.parameters()), not a set: the state dict numbers them in order")
    try:
        items = list(iter(params))
    except TypeError:
        raise TypeError(f"{where}: expected an iterable of Tensors (such as model.parameters()), "
                        f"got {type(params).__name__}") from None
    if not items:
        raise ValueError(f"{where}: got an empty list of parameters")
    dicts = [isinstance(item, dict) for item in items]
    if all(dicts):
        return items, False
    if any(dicts):
        raise TypeError(f"{where}: expected Tensors or param group dicts, not a mix of both")
    return [{"params": items}], True


def _group_params(group: Any, where: str, label: str) -> tuple[list[Tensor], list[str] | None]:
    """The tensors of a group dict, each checked to be trainable, and their names when they came
    as `(name, tensor)` pairs (`model.named_parameters()`), else None."""
    if not isinstance(group, dict) or "params" not in group:
        raise TypeError(f"{where}: a param group must be a dict with a 'params' entry, got {group!r:.80}")
    params = group["params"]
    if isinstance(params, Tensor):
        return [params], None         # as PyTorch: {'params': p} is {'params': [p]}
    if isinstance(params, (set, frozenset)):
        raise TypeError(f"{where}: {label}parameters must come in an ordered collection, not a set")
    try:
        tensors = list(iter(params))
    except TypeError:
        raise TypeError(f"{where}: {label}expected an iterable of Tensors, got {type(params).__name__}") from None
    names = None
    named = [isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) for item in tensors]
    if tensors and all(named):        # model.named_parameters(), as PyTorch 2.6 and later take it
        names, tensors = [name for name, _ in tensors], [p for _, p in tensors]
    elif any(named):
        raise ValueError(f"{where}: {label}item {named.index(False)} has no name: give every parameter "
                         "with its name, as model.named_parameters() does, or none")
    for index, p in enumerate(tensors):
        if not isinstance(p, Tensor):
            raise ValueError(f"{where}: {label}expected an iterable of Tensors, item {index} is a "
                             f"{type(p).__name__}")
        if not p.requires_grad:
            if isinstance(p, Parameter):     # a frozen parameter, as PyTorch: never has a grad
                continue
            raise ValueError(f"{where}: {label}item {index} is a tensor that does not require grad; an "
                             "optimizer trains leaf tensors made with requires_grad=True (or a "
                             "module's parameters)")
        if p._node.kind is not LEAF:
            raise ValueError(f"{where}: {label}item {index} is the result of an op, not a leaf tensor; "
                             "train the leaves it was computed from")
        if p.dtype.kind == "c":          # (PyTorch steps it as its real and imaginary parts, view_as_real)
            raise TypeError(f"{where}: {label}item {index} is a complex tensor ({p.dtype}); the optimizers here "
                            "train real floating-point parameters: keep the real and imaginary parts as two "
                            "real parameters")
    return tensors, names


def _as_dtype(value: Any, dtype: np.dtype) -> Any:
    """A state array in the parameter's dtype (a float64 one after `model.float()`, say); others as they are."""
    return value.astype(dtype, copy=False) if isinstance(value, np.ndarray) else value


class Optimizer:
    """Holds parameter groups and, per parameter, a dict of state.

    `defaults` maps each option (hyperparameter) to the value a group takes when it does not
    give its own. A subclass lists in `option_checks` how each option is checked (see
    `options.py`), in `state_names` the names of its state (for `load_state_dict`), in
    `number_state` those of them that are one number per parameter rather than an array of its
    shape (NAdam's `mu_product`), and defines `update(data, grad, state, group)`: the parameter's
    new array, computed from its array, its gradient, its state and its group's options. The
    update may assign new arrays (or numbers) to the state dict's entries (never write into them);
    the step keeps them only when every parameter's update succeeded.
    """

    option_checks: dict[str, Callable[[str, str, Any], None]] = {}
    state_names: tuple[str, ...] | None = None        # None: any (a subclass of yours)
    number_state: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict | None = None) -> None:
        where = type(self).__name__
        self.defaults = dict(defaults or {})
        self.check_options(where, self.defaults)
        self.params: list[Tensor] = []     # every group's parameters in order: state[i] is params[i]'s
        self.state = ParamState(self.params)
        self.param_groups: list[dict] = []
        groups, tensors_only = _group_list(params, where)
        for group in groups:
            self._add_group(group, where, label="" if tensors_only else None)

    # ---- groups -------------------------------------------------------------------------------

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with options of its own (the others from `defaults`), as
        when unfreezing layers part way through training."""
        self._add_group(param_group, f"{type(self).__name__}.add_param_group")

    def _add_group(self, group: dict, where: str, label: str | None = None) -> None:
        index = len(self.param_groups)
        label = f"param group {index}: " if label is None else label
        params, names = _group_params(group, where, label)
        seen = {id(p) for p in self.params}
        for p in params:
            if id(p) in seen:
                raise ValueError(f"{where}: {label}a parameter appears more than once; it would be "
                                 "updated twice")
            seen.add(id(p))
        options = {name: value for name, value in group.items() if name != "params"}
        for name, default in self.defaults.items():
            if default is required and name not in options:       # (PyTorch's words)
                raise ValueError(f"{where}: {label}parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
        new = {"params": params, **self.defaults, **options}      # the group's own options win
        if names is not None:
            new["param_names"] = names                          # as PyTorch keeps them
        if self.param_groups and ("param_names" in new) != ("param_names" in self.param_groups[0]):
            raise ValueError(f"{where}: {label}every param group must come with parameter names "
                             "(model.named_parameters()) or every one without; cannot add a group "
                             f"{'with' if 'param_names' in new else 'without'} names to groups "
                             f"{'without' if 'param_names' in new else 'with'} them")
        self.check_options(where, new, index)
        self.param_groups.append(new)
        self.params.extend(params)
        self.state.extend({} for _ in params)

    def check_options(self, where: str, group: dict, index: int | None = None) -> None:
        """ValueError unless every option in `option_checks` is in `group` and valid. The error names
        `where` and the option: plainly (`lr`), or as `param_groups[i]['lr']` when `index` is given."""
        for name, check in self.option_checks.items():
            label = name if index is None else f"param_groups[{index}][{name!r}]"
            if name not in group:
                raise ValueError(f"{where}: {label} is missing (every group needs it)")
            check(where, label, group[name])
        if "initial_lr" in group:           # (a schedule's starting rate, which load_state_dict may bring)
            non_negative(where, "initial_lr" if index is None else f"param_groups[{index}]['initial_lr']",
                         group["initial_lr"])
        if group.get("foreach") and group.get("fused"):         # (PyTorch's error, word for word)
            raise RuntimeError(f"{where}: `fused` and `foreach` cannot be `True` together.")
        self.check_together(where, group, "" if index is None else f"param_groups[{index}]: ")

    def check_together(self, where: str, group: dict, label: str) -> None:
        """Rules between options (SGD: nesterov needs momentum); none by default."""

    def kept_state(self, group: dict) -> tuple[str, ...]:
        """The state a parameter keeps once it has taken a step under `group`'s options (what
        `load_state_dict` requires of a saved entry); none by default."""
        return ()

    def _check_groups(self, where: str) -> None:
        """The groups still hold the parameters they were given (the state is kept in their order),
        and every option is valid."""
        listed = [p for group in self.param_groups for p in group.get("params", ())]
        if len(listed) != len(self.params) or any(a is not b for a, b in zip(listed, self.params)):
            raise ValueError(f"{where}: the parameters in param_groups are not those the optimizer was "
                             f"given ({len(listed)} listed, {len(self.params)} given); add parameters with "
                             "add_param_group, never by changing a group's 'params'")
        if len(self.state) != len(self.params):
            raise ValueError(f"{where}: optimizer.state holds {len(self.state)} entries for {len(self.params)} "
                             "parameters; forget a parameter's state with `del optimizer.state[p]`, never by "
                             "removing an entry")
        for index, group in enumerate(self.param_groups):
            self.check_options(where, group, index)

    # ---- single-group attributes ------------------------------------------------------------

    def _only_group(self, name: str) -> dict:
        if len(self.param_groups) != 1:
            raise AttributeError(f"{type(self).__name__}.{name}: this optimizer has {len(self.param_groups)} "
                                 f"param groups, each with its own {name}; use param_groups[i][{name!r}]")
        return self.param_groups[0]

    def __getattr__(self, name: str) -> Any:
        """*extra*: `optimizer.lr` (any option) is the only group's, as in earlier versions."""
        if name in self.__dict__.get("defaults", {}) and "param_groups" in self.__dict__:
            return self._only_group(name)[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        """`optimizer.lr = 0.01` sets the only group's lr (never a stray attribute the step ignores);
        `optimizer.state = collections.defaultdict(dict)` (PyTorch's way to start afresh) or any dict of
        parameter -> state sets each parameter's state (none where the dict has no entry)."""
        if name in self.__dict__.get("defaults", {}) and "param_groups" in self.__dict__:
            self._only_group(name)[name] = value
        elif name == "state" and "state" in self.__dict__ and value is not self.state:
            self.state[:] = self._states_from(value)
        else:
            object.__setattr__(self, name, value)

    def _states_from(self, value: Any) -> list[dict]:
        """One state dict per parameter, from a dict keyed by the parameters (or their numbers)."""
        where = f"{type(self).__name__}.state"
        if not isinstance(value, Mapping):
            raise TypeError(f"{where}: expected a dict of parameter -> state (such as "
                            f"collections.defaultdict(dict)), got {type(value).__name__}")
        states = [{} for _ in self.params]
        for key, state in value.items():
            if isinstance(key, Tensor):
                position = self.state._position(key)        # (KeyError if it is not one of the parameters)
            elif is_int(key) and 0 <= key < len(self.params):
                position = int(key)
            else:
                raise KeyError(f"{where}: expected the optimizer's parameters (or their numbers, 0 to "
                               f"{len(self.params) - 1}) as keys, got {key!r:.60}")
            if not isinstance(state, dict):
                raise TypeError(f"{where}: the state of each parameter must be a dict, got {type(state).__name__}")
            states[position] = state
        return states

    # ---- gradients and the step ---------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: grad = None, or (set_to_none=False) a new array of
        zeros of the parameter's shape and dtype where there was a gradient (as PyTorch)."""
        forget_gradients(self.params, set_to_none, f"{type(self).__name__}.zero_grad")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient: all of them, or (on an error) none.

        `closure`, if given, is called first (with gradients recorded, inside `no_grad` too) to
        recompute the loss and the gradients; its result is returned, as in PyTorch.
        """
        loss = None
        if closure is not None:
            with setting(grad_enabled, True):
                loss = closure()
        where = f"{type(self).__name__}.step"
        self._check_groups(where)
        states = list(self.state)                   # (by position: the list itself, no lookups by tensor)
        due = [(index, p, group, p.grad) for index, (p, group) in enumerate(self._params_and_groups())]
        due = [entry for entry in due if entry[3] is not None]
        for index, p, _, grad in due:
            self._check(where, index, p, grad, states[index])
        staged = []
        for index, p, group, grad in due:
            state = {name: _as_dtype(value, p.dtype) for name, value in states[index].items()}
            data = self.update(p._data, grad, state, group)
            staged.append((data.astype(p.dtype, copy=False),
                           {name: _as_dtype(value, p.dtype) for name, value in state.items()}))
        for (index, p, _, _), (data, state) in zip(due, staged):
            p._replace_data(data)
            self.state[index] = state
        return loss

    def _params_and_groups(self) -> list[tuple[Tensor, dict]]:
        return [(p, group) for group in self.param_groups for p in group["params"]]

    def update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict) -> np.ndarray:
        """The parameter's new array (a fresh one); may assign new arrays into `state`."""
        raise NotImplementedError

    def _check(self, where: str, index: int, p: Tensor, grad: np.ndarray, state: dict) -> None:
        """ValueError unless p's gradient matches its shape and dtype, and its state arrays are
        floating-point arrays of its shape (another float dtype is cast to p's by the step, as
        PyTorch's load_state_dict casts state to its parameter's dtype)."""
        if grad.shape != p.shape or grad.dtype != p.dtype:
            raise ValueError(f"{where}: parameter {index} is {p.dtype} of shape {p.shape} but its grad "
                             f"is {grad.dtype} of shape {grad.shape}; no parameter was changed")
        for name, value in state.items():
            if isinstance(value, np.ndarray) and value.shape != p.shape:
                raise ValueError(f"{where}: parameter {index} has shape {p.shape} but its {name} has "
                                 f"shape {value.shape} (was the parameter reshaped?); no parameter "
                                 "was changed")
            if isinstance(value, np.ndarray) and value.dtype.kind != "f":
                raise ValueError(f"{where}: parameter {index}'s {name} must be a floating-point array, "
                                 f"got dtype {value.dtype}; no parameter was changed")

    # ---- saving and loading -------------------------------------------------------------------

    def state_dict(self) -> dict:
        """PyTorch's layout, arrays copied: {'state': {i: {...}}, 'param_groups': [{options...,
        'params': [i, ...]}]}, parameters numbered in order over the groups."""
        return saving.state_dict(self)

    def checked_state(self, where: str, index: int, entry: Any, group: dict) -> dict:
        """Parameter `index`'s saved state, checked and copied, for `load_state_dict` (ValueError
        naming `where`): arrays of the parameter's shape, cast to its dtype. An optimizer whose state
        is not per-parameter arrays (LBFGS) checks its own."""
        return saving.checked_entry(self, where, index, entry, group)

    def load_state_dict(self, state_dict: dict) -> None:
        """Take the options and state of `state_dict` (from `state_dict()` of an optimizer with groups
        of the same sizes), all or nothing; state arrays are copied, cast to their parameter's dtype."""
        saving.load_state_dict(self, state_dict)

    def __setstate__(self, state: dict) -> None:
        """PyTorch's `Optimizer.__setstate__`: unpickling and `copy.deepcopy` hand it the copied `__dict__`, which
        it takes as it is. An optimizer written after PyTorch's own defines its `__setstate__` as
        `super().__setstate__(state)` followed by the options an older pickle may lack
        (`group.setdefault('momentum', 0)`), so this one must be there for it to call."""
        self.__dict__.update(state)

    def __repr__(self) -> str:
        """PyTorch's text: each group's options, sorted, the groups parted by an empty line."""
        text = f"{type(self).__name__} ("
        for index, group in enumerate(self.param_groups):
            text += f"\nParameter Group {index}\n"
            text += "".join(f"    {name}: {value}\n" for name, value in sorted(group.items()) if name != "params")
        return text + ")"
