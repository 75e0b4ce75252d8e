"""PyTorch's `torch.amp.GradScaler` (torch/amp/grad_scaler.py), the real algorithm, in numpy. A float16
gradient underflows to 0 below about 6e-8; scaling the loss by S before `backward()` scales every
gradient by S (the chain rule is linear in the seed), which lifts small ones into range:

    scaler.scale(loss).backward()   # grads = S * dL/dp
    scaler.step(optimizer)          # grads /= S; optimizer.step() unless a grad is inf or NaN
    scaler.update()                 # S *= backoff_factor after a skipped step; S *= growth_factor
                                    # after growth_interval steps in a row that were not skipped

As PyTorch's, the gradients it unscales must not be float16 (the parameters stay float32 or float64,
and float16 lives in the activations, `x.half()`), and it runs on any device, the CPU too: here
`device` is only a label (PyTorch's disables itself, with a warning, when asked for CUDA without one).
"""

from __future__ import annotations

from collections import abc, defaultdict
from enum import Enum
from typing import Any

import numpy as np

from ..checks import flag, is_int
from ..tensor import Tensor, as_tensor


class OptState(Enum):
    """Where an optimizer is in an iteration: its gradients still scaled, unscaled, or stepped."""
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _fresh_optimizer_state() -> dict:
    return {"stage": OptState.READY, "found_inf": None}       # (None: no gradient checked yet)


class GradScaler:
    """`GradScaler(device="cuda", init_scale=2.**16, growth_factor=2.0, backoff_factor=0.5,
    growth_interval=2000, enabled=True)`: loss scaling, as PyTorch's (see above). The scale S is a
    float32, as PyTorch's scale tensor; it is set at the first `scale()`. With `enabled=False`,
    `scale` returns its input, `step` calls `optimizer.step()`, and the rest do nothing."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        if not isinstance(device, str):
            raise TypeError(f"GradScaler: expected a device type such as 'cuda' or 'cpu', got {device!r:.60}")
        self._device = device
        self._enabled = flag(enabled, "enabled", "GradScaler")
        if not self._enabled:
            return
        _check_options(init_scale, growth_factor, backoff_factor, growth_interval)
        self._init_scale, self._init_growth_tracker = float(init_scale), 0
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._scale: np.float32 | None = None          # set at the first scale(), as PyTorch's
        self._growth_tracker: int | None = None
        self._per_optimizer_states: defaultdict = defaultdict(_fresh_optimizer_state)

    def _check_scale_growth_tracker(self, funcname: str) -> None:
        if self._scale is None:
            raise RuntimeError(f"GradScaler.{funcname}: attempted {funcname} but the scale is not set yet; this may "
                               "indicate your script did not use scaler.scale(loss or outputs) earlier in the "
                               "iteration")

    def scale(self, outputs: Any) -> Any:
        """outputs * S: a tensor, or a list, tuple or other iterable of them (the same kind back).
        S is a 0-d float32 tensor, as PyTorch's, so promotion decides the dtype: a float16 tensor with
        axes stays float16, a 0-d float16 loss becomes float32 (and does not overflow at S = 65536)."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._scale, self._growth_tracker = np.float32(self._init_scale), self._init_growth_tracker
        if isinstance(outputs, Tensor):
            return outputs * as_tensor(np.asarray(self._scale, dtype=np.float32))   # a 0-d float32, as PyTorch's
        if isinstance(outputs, abc.Iterable) and not isinstance(outputs, (str, bytes)):
            scaled = map(self.scale, outputs)
            return type(outputs)(scaled) if isinstance(outputs, (list, tuple)) else scaled
        raise ValueError(f"GradScaler.scale: outputs must be a Tensor or an iterable of Tensors, "
                         f"got {type(outputs).__name__}")

    def unscale_(self, optimizer: Any) -> None:
        """Each gradient of `optimizer`'s parameters times 1/S (the reciprocal taken in float64, then
        float32, as PyTorch's), noting whether any is inf or NaN. Optional: `step` does it when it was
        not done (call it first to clip the true gradients). Once per optimizer between updates
        (RuntimeError otherwise); ValueError for float16 gradients, as PyTorch's."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("GradScaler.unscale_: unscale_() has already been called on this optimizer "
                               "since the last update()")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("GradScaler.unscale_: unscale_() is being called after step()")
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if any(p.grad.dtype == np.float16 for p in params):
            raise ValueError("GradScaler.unscale_: attempting to unscale FP16 gradients (keep the parameters in "
                             "float32 and cast activations to float16, as PyTorch's autocast does)")
        inv_scale = np.float32(1 / np.float64(self._scale))
        found_inf = None if not params else False
        with np.errstate(invalid="ignore", over="ignore"):
            for p in params:
                found_inf = found_inf or not np.isfinite(p.grad).all()
                p.grad = p.grad * inv_scale
        state.update(stage=OptState.UNSCALED, found_inf=found_inf)

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """`unscale_(optimizer)` unless done already, then `optimizer.step(*args, **kwargs)` unless a
        gradient is inf or NaN (the step is skipped: the parameters stay as they were). Returns what
        `optimizer.step` returned (None when skipped). A `closure` is refused, as PyTorch's."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("GradScaler.step: closure use is not currently supported if GradScaler is enabled")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("GradScaler.step: step() has already been called since the last update()")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if state["found_inf"] is None:
            raise RuntimeError("GradScaler.step: no inf checks were recorded for this optimizer (none of its "
                               "parameters has a gradient)")
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return result

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """The scale for the next iteration (PyTorch's `_amp_update_scale_`): after an inf or NaN in any
        optimizer's gradients S *= backoff_factor and the count of good steps restarts; otherwise the
        count goes up, and when it reaches growth_interval S *= growth_factor (kept only if finite in
        float32) and the count restarts. `new_scale` (a number or a one-element tensor) sets S instead."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("update")
        if new_scale is not None:
            self._scale = np.float32(_one_number(new_scale))
        else:
            checked = [state["found_inf"] for state in self._per_optimizer_states.values()
                       if state["found_inf"] is not None]
            if not checked:
                raise RuntimeError("GradScaler.update: no inf checks were recorded prior to update() "
                                   "(call scaler.step(optimizer) or scaler.unscale_(optimizer) first)")
            if any(checked):
                self._scale, self._growth_tracker = np.float32(np.float64(self._scale) * self._backoff_factor), 0
            elif self._growth_tracker + 1 == self._growth_interval:
                with np.errstate(over="ignore"):          # (an inf is not kept, below)
                    grown = np.float32(np.float64(self._scale) * self._growth_factor)
                self._scale, self._growth_tracker = grown if np.isfinite(grown) else self._scale, 0
            else:
                self._growth_tracker += 1
        self._per_optimizer_states = defaultdict(_fresh_optimizer_state)

    def get_scale(self) -> float:
        """S as a Python float (init_scale before the first `scale()`; 1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale)

    def get_growth_factor(self) -> float:
        """The factor S grows by."""
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        """A new factor for S to grow by."""
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        """The factor S backs off by."""
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        """A new factor for S to back off by."""
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        """The good steps in a row after which S grows."""
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        """A new count of good steps in a row after which S grows."""
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def is_enabled(self) -> bool:
        """Whether this scaler scales (`enabled=`)."""
        return self._enabled

    def state_dict(self) -> dict:
        """PyTorch's five entries: scale, growth_factor, backoff_factor, growth_interval and _growth_tracker
        (the good steps in a row); {} when disabled."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict) -> None:
        """The state `state_dict()` gave (nothing happens when disabled). RuntimeError for an empty dict
        (saved from a disabled scaler), KeyError naming a missing entry, ValueError naming an entry the
        constructor would refuse (every entry is checked first); nothing changes then."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("GradScaler.load_state_dict: the source state dict is empty, possibly because it "
                               "was saved from a disabled instance of GradScaler")
        missing = [key for key in _STATE_KEYS if key not in state_dict]
        if missing:
            raise KeyError(f"GradScaler.load_state_dict: the state dict has no {missing[0]!r} "
                           f"(expected {', '.join(_STATE_KEYS)})")
        scale, growth_factor, backoff_factor, growth_interval, growth_tracker = _checked_state(state_dict)
        self._init_scale, self._growth_factor, self._backoff_factor = scale, growth_factor, backoff_factor
        self._growth_interval, self._init_growth_tracker = growth_interval, growth_tracker
        if self._scale is not None:
            self._scale, self._growth_tracker = np.float32(self._init_scale), self._init_growth_tracker


_STATE_KEYS = ("scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker")


def _checked_state(state_dict: Any) -> tuple[float, float, float, int, int]:
    """The five entries of a scaler's state dict, each checked before any is used (numbers that went through
    mg.save as 0-d arrays taken as numbers): a ValueError, also for a non-number, and stricter than the
    constructor's `_check_options` (scale > 0, backoff_factor in (0, 1), the tracker in [0, growth_interval))."""
    where = "GradScaler.load_state_dict"
    scale, growth_factor, backoff_factor, growth_interval, growth_tracker = (
        value.item() if isinstance(value, (np.ndarray, np.generic)) and value.ndim == 0 else value
        for value in (state_dict[key] for key in _STATE_KEYS))
    for name, value in (("scale", scale), ("growth_factor", growth_factor), ("backoff_factor", backoff_factor)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ValueError(f"{where}: {name} must be a number, got {value!r:.60}; nothing was changed")
    if not scale > 0:
        raise ValueError(f"{where}: scale must be > 0, got {scale}; nothing was changed")
    if not growth_factor > 1.0:
        raise ValueError(f"{where}: growth_factor must be > 1.0, got {growth_factor}; nothing was changed")
    if not 0 < backoff_factor < 1.0:
        raise ValueError(f"{where}: backoff_factor must be in (0, 1), got {backoff_factor}; nothing was changed")
    if not is_int(growth_interval) or growth_interval < 1:
        raise ValueError(f"{where}: growth_interval must be a positive integer, got {growth_interval!r:.60}; "
                         "nothing was changed")
    if not is_int(growth_tracker) or not 0 <= growth_tracker < growth_interval:
        raise ValueError(f"{where}: _growth_tracker must be an integer in [0, growth_interval), got "
                         f"{growth_tracker!r:.60}; nothing was changed")
    return float(scale), float(growth_factor), float(backoff_factor), int(growth_interval), int(growth_tracker)


def _check_options(init_scale: Any, growth_factor: Any, backoff_factor: Any, growth_interval: Any) -> None:
    """PyTorch asserts growth_factor > 1 and backoff_factor < 1; here each option is checked, by name."""
    for name, value in (("init_scale", init_scale), ("growth_factor", growth_factor),
                        ("backoff_factor", backoff_factor)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"GradScaler: {name} must be a number, got {value!r:.60}")
    if not growth_factor > 1.0:
        raise ValueError(f"GradScaler: the growth factor must be > 1.0, got {growth_factor}")
    if not backoff_factor < 1.0:
        raise ValueError(f"GradScaler: the backoff factor must be < 1.0, got {backoff_factor}")
    if not is_int(growth_interval) or growth_interval < 1:
        raise ValueError(f"GradScaler: growth_interval must be a positive integer, got {growth_interval!r:.60}")


def _one_number(new_scale: Any) -> float:
    if isinstance(new_scale, Tensor):
        if new_scale._data.size != 1 or new_scale.requires_grad:
            raise ValueError(f"GradScaler.update: new_scale should be a number or a one-element tensor with "
                             f"requires_grad=False, got shape {new_scale.shape}")
        return float(new_scale._data.item())
    if isinstance(new_scale, bool) or not isinstance(new_scale, (int, float, np.integer, np.floating)):
        raise TypeError(f"GradScaler.update: new_scale should be a number or a one-element tensor, "
                        f"got {new_scale!r:.60}")
    return float(new_scale)
