"""Bijections y = f(x) with log|det dy/dx|, PyTorch's `torch.distributions.transforms`
(torch/distributions/transforms.py): what a `TransformedDistribution` pushes a base distribution
through (a normalising flow's layers, a LogNormal's exp, a squashed Gaussian policy's tanh).

    transform         y = f(x)               x = f^-1(y)                 log|dy/dx|
    ExpTransform      exp x                  log y                       x
    AffineTransform   loc + scale x          (y - loc) / scale           log|scale|
    SigmoidTransform  1 / (1 + exp(-x))      log y - log(1 - y)          -softplus(-x) - softplus(x)
    TanhTransform     tanh x                 atanh y                     2 (log 2 - x - softplus(-2x))
    PowerTransform    x^exponent             y^(1/exponent)              log|exponent y / x|
    AbsTransform      |x|                    y (not a bijection)         -
    StickBreakingTransform  R^(K-1) -> the K-simplex: z_i = sigmoid(x_i - log(K - i)), y_i = z_i prod_j<i (1 - z_j)
    ComposeTransform  the parts in order     the inverses in reverse     the sum of the parts'

Each is written with differentiable ops, so the gradient of a log-density reaches the parameters.
With `cache_size=1` the last (x, y) pair is kept, so `t.inv(t(x))` gives x back exactly (a tanh that
rounds to 1 has no finite atanh), as PyTorch's.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..checks import is_int
from ..functional.activations import logsigmoid, softplus
from ..functional.layer_functions import pad
from ..ops.elementwise import sigmoid
from ..tensor import Tensor
from . import constraints
from .distribution import sum_rightmost

__all__ = ["AbsTransform", "AffineTransform", "ComposeTransform", "ExpTransform", "PowerTransform",
           "SigmoidTransform", "StickBreakingTransform", "TanhTransform", "Transform"]


class Transform:
    """A map y = t(x) with its inverse `t.inv` and `log_abs_det_jacobian(x, y)`, as PyTorch's:
    `domain`, `codomain`, `bijective`, `sign` (+1 increasing, -1 decreasing) and `event_dim` (how many
    rightmost axes one application couples: 0 for the entrywise ones). As in PyTorch, the base class gives
    no `domain` or `codomain`: a subclass names both (constraints), and a `TransformedDistribution` refuses
    one that does not (AttributeError)."""

    domain: constraints.Constraint
    codomain: constraints.Constraint
    bijective = True

    def __init__(self, cache_size: int = 0) -> None:
        if not is_int(cache_size) or cache_size not in (0, 1):
            raise ValueError(f"{type(self).__name__}: cache_size must be 0 or 1, got {cache_size!r}")
        self._cache_size, self._cached = cache_size, None

    @property
    def event_dim(self) -> int:
        """The number set for this transform (AffineTransform's argument), else its domain's, which must be its
        codomain's too (PyTorch's rule: a map of vectors, domain `real_vector`, couples one axis)."""
        if "_event_dim" in self.__dict__:
            return self._event_dim
        domain, codomain = self.domain.event_dim, self.codomain.event_dim
        if domain != codomain:
            raise ValueError(f"{type(self).__name__}: its domain and codomain couple different numbers of axes "
                             f"({domain} and {codomain}); read .domain.event_dim or .codomain.event_dim")
        return domain

    @event_dim.setter
    def event_dim(self, value: int) -> None:
        self._event_dim = value

    @property
    def sign(self) -> Any:
        """+1 where y increases with x, -1 where it decreases: each bijection of one variable names its own, and
        the base class none (NotImplementedError, as PyTorch's), so a `TransformedDistribution`'s cdf refuses a
        map whose direction it does not know rather than assume that it increases."""
        raise NotImplementedError(f"{type(self).__name__}: has no sign defined (+1 or -1, for a map of one variable "
                                  "that increases or decreases)")

    @property
    def inv(self) -> "Transform":
        """The inverse map x = t^-1(y), itself a Transform."""
        return _InverseTransform(self)

    def __call__(self, x: Tensor) -> Tensor:
        """y = t(x) (the cached y when x is the cached x)."""
        if self._cached is not None and self._cached[0] is x:
            return self._cached[1]
        y = self._call(x)
        if self._cache_size:
            self._cached = (x, y)
        return y

    def _inv_call(self, y: Tensor) -> Tensor:
        if self._cached is not None and self._cached[1] is y:
            return self._cached[0]
        x = self._inverse(y)
        if self._cache_size:
            self._cached = (x, y)
        return x

    def _call(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}: has no forward map defined")

    def _inverse(self, y: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}: has no inverse defined")

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        """log |det dy/dx| at x (y = t(x) given too, to save recomputing it)."""
        raise NotImplementedError(f"{type(self).__name__}: has no log_abs_det_jacobian defined")

    def forward_shape(self, shape: tuple) -> tuple:
        """The shape of t(x) for x of `shape` (the same, but for a map that changes the event's size)."""
        return tuple(shape)

    def inverse_shape(self, shape: tuple) -> tuple:
        """The shape of t^-1(y) for y of `shape`."""
        return tuple(shape)

    def __eq__(self, other: Any) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _InverseTransform(Transform):
    """t.inv: the same pair of maps the other way round; log|dx/dy| = -log|dy/dx|."""

    def __init__(self, transform: Transform) -> None:
        super().__init__(transform._cache_size)
        self._inv = transform

    @property
    def event_dim(self) -> int:
        """The transform's."""
        return self._inv.event_dim

    @property
    def domain(self) -> constraints.Constraint:
        """The transform's codomain (read when asked, so `t.inv(y)` works for a t without one, as PyTorch's)."""
        return self._inv.codomain

    @property
    def codomain(self) -> constraints.Constraint:
        """The transform's domain."""
        return self._inv.domain

    @property
    def sign(self) -> Any:
        return self._inv.sign

    @property
    def inv(self) -> Transform:
        return self._inv

    def __call__(self, x: Tensor) -> Tensor:
        return self._inv._inv_call(x)

    def _inv_call(self, y: Tensor) -> Tensor:
        return self._inv(y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape: tuple) -> tuple:
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape: tuple) -> tuple:
        return self._inv.forward_shape(shape)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    def __hash__(self) -> int:
        return hash(self._inv)

    def __repr__(self) -> str:
        return f"{self._inv!r}.inv"


class ExpTransform(Transform):
    """y = exp x; log|dy/dx| = x."""

    domain = constraints.real
    codomain = constraints.positive
    sign = +1

    def _call(self, x: Tensor) -> Tensor:
        return x.exp()

    def _inverse(self, y: Tensor) -> Tensor:
        return y.log()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return x


class SigmoidTransform(Transform):
    """y = sigmoid x, clamped to [tiny, 1 - eps] (so log y and log(1 - y) stay finite, as PyTorch's);
    x = log y - log(1 - y); log|dy/dx| = log(y (1 - y)) = -softplus(-x) - softplus(x)."""

    domain = constraints.real
    codomain = constraints.unit_interval
    sign = +1

    def _call(self, x: Tensor) -> Tensor:
        finfo = np.finfo(x.dtype)
        return sigmoid(x).clamp(min=float(finfo.tiny), max=float(1 - finfo.eps))

    def _inverse(self, y: Tensor) -> Tensor:
        finfo = np.finfo(y.dtype)
        y = y.clamp(min=float(finfo.tiny), max=float(1 - finfo.eps))
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -softplus(-x) - softplus(x)


class TanhTransform(Transform):
    """y = tanh x; x = atanh y; log|dy/dx| = log(1 - tanh^2 x) = 2 (log 2 - x - softplus(-2x)), the
    stable form PyTorch uses (a tanh-squashed Gaussian policy's correction)."""

    domain = constraints.real
    codomain = constraints.interval(-1.0, 1.0)
    sign = +1

    def _call(self, x: Tensor) -> Tensor:
        return x.tanh()

    def _inverse(self, y: Tensor) -> Tensor:
        return y.atanh()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return 2.0 * (math.log(2.0) - x - softplus(-2.0 * x))


class AbsTransform(Transform):
    """y = |x|; its "inverse" gives y back (the non-negative branch), as PyTorch's."""

    domain = constraints.real
    codomain = constraints.positive
    bijective = False

    def _call(self, x: Tensor) -> Tensor:
        return x.abs()

    def _inverse(self, y: Tensor) -> Tensor:
        return y


class AffineTransform(Transform):
    """y = loc + scale x (numbers or tensors, broadcast); log|dy/dx| = log|scale|, summed over the last
    `event_dim` axes of x when the map acts on whole events."""

    domain = constraints.real
    codomain = constraints.real

    def __init__(self, loc: Any, scale: Any, event_dim: int = 0, cache_size: int = 0) -> None:
        super().__init__(cache_size)
        for name, value in (("loc", loc), ("scale", scale)):
            if not isinstance(value, (Tensor, numbers.Real)):
                raise TypeError(f"AffineTransform: expected {name} to be a number or a tensor, got "
                                f"{type(value).__name__}")
        if not is_int(event_dim) or event_dim < 0:
            raise ValueError(f"AffineTransform: event_dim must be a non-negative int, got {event_dim!r}")
        self.loc, self.scale, self.event_dim = loc, scale, event_dim

    @property
    def sign(self) -> Any:
        return self.scale.sign() if isinstance(self.scale, Tensor) else (self.scale > 0) - (self.scale < 0)

    def _call(self, x: Tensor) -> Tensor:
        return self.loc + self.scale * x

    def _inverse(self, y: Tensor) -> Tensor:
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        if isinstance(self.scale, Tensor):
            result = self.scale.abs().log()
            result = result.expand(*np.broadcast_shapes(result.shape, x.shape))
        else:
            result = x * 0.0 + math.log(abs(self.scale))
        return sum_rightmost(result, self.event_dim)

    def __eq__(self, other: Any) -> bool:
        def same(a: Any, b: Any) -> bool:
            return bool(np.all(np.asarray(getattr(a, "_data", a)) == np.asarray(getattr(b, "_data", b))))
        return isinstance(other, AffineTransform) and same(self.loc, other.loc) and same(self.scale, other.scale)

    def __hash__(self) -> int:
        return hash(AffineTransform)

    def __repr__(self) -> str:
        return "AffineTransform()"


class PowerTransform(Transform):
    """y = x^exponent on x > 0; log|dy/dx| = log|exponent y / x| (a Weibull from an Exponential)."""

    domain = constraints.positive
    codomain = constraints.positive

    def __init__(self, exponent: Any, cache_size: int = 0) -> None:
        super().__init__(cache_size)
        self.exponent = exponent

    @property
    def sign(self) -> Any:
        return self.exponent.sign() if isinstance(self.exponent, Tensor) else (self.exponent > 0) - (self.exponent < 0)

    def _call(self, x: Tensor) -> Tensor:
        return x ** self.exponent

    def _inverse(self, y: Tensor) -> Tensor:
        return y ** (1 / self.exponent)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return (self.exponent * y / x).abs().log()

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, PowerTransform) and bool(np.all(
            np.asarray(getattr(self.exponent, "_data", self.exponent))
            == np.asarray(getattr(other.exponent, "_data", other.exponent))))

    def __hash__(self) -> int:
        return hash(PowerTransform)


class ComposeTransform(Transform):
    """parts[-1](... parts[0](x)): log|dy/dx| is the sum of the parts' at the intermediate values, each
    summed to the composite's `event_dim` (the largest of the parts')."""

    def __init__(self, parts: list, cache_size: int = 0) -> None:
        super().__init__(cache_size)
        if not isinstance(parts, (list, tuple)) or not all(isinstance(p, Transform) for p in parts):
            raise TypeError(f"ComposeTransform: expected a list of Transforms, got {parts!r}")
        self.parts = list(parts)
        self.bijective = all(p.bijective for p in self.parts)

    @property
    def event_dim(self) -> int:
        """The largest of the parts' (0 when there are none)."""
        return max((p.event_dim for p in self.parts), default=0)

    @property
    def domain(self) -> constraints.Constraint:
        """The first part's domain (the real line when there are no parts), read when asked, as PyTorch's."""
        return self.parts[0].domain if self.parts else constraints.real

    @property
    def codomain(self) -> constraints.Constraint:
        """The last part's codomain (the real line when there are no parts)."""
        return self.parts[-1].codomain if self.parts else constraints.real

    @property
    def sign(self) -> Any:
        sign = 1
        for part in self.parts:
            sign = sign * part.sign
        return sign

    @property
    def inv(self) -> Transform:
        return ComposeTransform([p.inv for p in reversed(self.parts)], self._cache_size)

    def _call(self, x: Tensor) -> Tensor:
        for part in self.parts:
            x = part(x)
        return x

    def _inverse(self, y: Tensor) -> Tensor:
        for part in reversed(self.parts):
            y = part.inv(y)
        return y

    def forward_shape(self, shape: tuple) -> tuple:
        for part in self.parts:
            shape = part.forward_shape(shape)
        return tuple(shape)

    def inverse_shape(self, shape: tuple) -> tuple:
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return tuple(shape)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        if not self.parts:
            return x * 0.0
        xs = [x]
        for part in self.parts[:-1]:
            xs.append(part(xs[-1]))
        xs.append(y)
        total = 0
        for part, before, after in zip(self.parts, xs[:-1], xs[1:]):
            total = total + sum_rightmost(part.log_abs_det_jacobian(before, after), self.event_dim - part.event_dim)
        return total

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    def __hash__(self) -> int:
        return hash(tuple(self.parts))

    def __repr__(self) -> str:
        return f"ComposeTransform({', '.join(repr(p) for p in self.parts)})"


def _stick_offset(k: int, x: Tensor) -> np.ndarray:
    """log(K - i) for i = 0 .. K - 2 (K = k + 1): the shift that makes x = 0 the simplex's centre."""
    return np.log(np.arange(k, 0, -1, dtype=x.dtype))


class StickBreakingTransform(Transform):
    """R^(K-1) -> the K-simplex by breaking a stick (PyTorch's): z_i = sigmoid(x_i - log(K - 1 - i)) clamped to
    [tiny, 1 - eps], y_i = z_i prod_(j<i) (1 - z_j), the last y the stick that is left;
    x_i = log y_i - log(1 - sum_(j<=i) y_j) + log(K - 1 - i);
    log|det dy/dx| = sum_i (-u_i + logsigmoid(u_i) + log y_i), u_i = x_i - log(K - 1 - i)."""

    domain = constraints.real_vector
    codomain = constraints.simplex
    event_dim = 1

    def _call(self, x: Tensor) -> Tensor:
        finfo = np.finfo(x.dtype)
        z = sigmoid(x - _stick_offset(x.shape[-1], x)).clamp(min=float(finfo.tiny), max=float(1 - finfo.eps))
        z_cumprod = (1 - z).cumprod(-1)
        return pad(z, (0, 1), value=1.0) * pad(z_cumprod, (1, 0), value=1.0)

    def _inverse(self, y: Tensor) -> Tensor:
        y_crop = y[..., :-1]
        sf = (1 - y_crop.cumsum(-1)).clamp(min=float(np.finfo(y.dtype).tiny))
        return y_crop.log() - sf.log() + _stick_offset(y_crop.shape[-1], y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        u = x - _stick_offset(x.shape[-1], x)
        return (-u + logsigmoid(u) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape: tuple) -> tuple:
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape: tuple) -> tuple:
        return tuple(shape[:-1]) + (shape[-1] - 1,)
