"""`nn.init`: PyTorch's initialisers. Arrays are read-only, so each gives the tensor a new array
(of its shape and dtype) and returns the tensor; draws come from `rng` (or `generator=`, PyTorch's name
for it, such as `mg.Generator().manual_seed(0)`) or the library's generator (`mg.manual_seed`).

    for name, p in model.named_parameters():
        nn.init.uniform_(p, -0.1, 0.1) if "weight" in name else nn.init.zeros_(p)
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Callable

import numpy as np

from ..autograd import no_grad
from ..checks import is_finite_number, non_negative_number, positive_int
from ..parameter import UninitializedParameter
from ..random import generator_or_default
from ..tensor import Tensor

__all__ = ["calculate_gain", "constant_", "kaiming_normal_", "kaiming_uniform_", "normal_", "ones_", "orthogonal_",
           "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_"]
__all__ += ["dirac_", "eye_", "sparse_", "trunc_normal_"]


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    """The tensor gets `values`, written as `tensor[...] = values` under `no_grad()` (a new array, nothing
    recorded), so a part of another tensor (`w[:H]`, a basic index) writes them into that tensor too,
    as PyTorch's in-place init of a view does: `nn.init.constant_(lstm.bias_ih_l0[H:2 * H], 1.0)`."""
    with no_grad():
        tensor[...] = np.asarray(values, dtype=tensor.dtype).reshape(tensor.shape)
    return tensor


def _checked(where: str, tensor: Tensor, floating: bool = True, **arguments: float) -> None:
    """TypeError unless `tensor` is a Tensor (of a floating dtype, for random values); ValueError
    unless each of `arguments` is a finite number."""
    if isinstance(tensor, np.ndarray):      # PyTorch code's nn.init.uniform_(p.data, ...)
        raise TypeError(f"{where}: expected a Tensor (a parameter), got ndarray: p.data is the parameter's "
                        f"read-only array here, pass the parameter itself ({where}(p, ...))")
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{where}: expected a Tensor (a parameter), got {type(tensor).__name__}")
    if isinstance(tensor, UninitializedParameter):
        raise ValueError(f"{where}: the parameter is not initialised yet (a lazy module's, whose first call "
                         "gives it its shape): call the module once, or load a state dict, first")
    if floating and tensor.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point tensor, got dtype {tensor.dtype}")
    for name, value in arguments.items():
        if not is_finite_number(value):
            raise ValueError(f"{where}: {name} must be a finite number, got {value!r}")


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, rng: np.random.Generator | None = None,
             *, generator: np.random.Generator | None = None) -> Tensor:
    """Values drawn from uniform(a, b), a <= b: the tensor's `uniform_` under `no_grad()`."""
    _checked("uniform_", tensor, a=a, b=b)
    with no_grad():
        return tensor.uniform_(a, b, generator=generator_or_default(rng, "uniform_", generator))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, rng: np.random.Generator | None = None,
            *, generator: np.random.Generator | None = None) -> Tensor:
    """Values drawn from the normal distribution N(mean, std^2), std >= 0: the tensor's `normal_`
    under `no_grad()`."""
    _checked("normal_", tensor, mean=mean, std=std)
    with no_grad():
        return tensor.normal_(mean, std, generator=generator_or_default(rng, "normal_", generator))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Every value `val` (a number, or a one-element tensor)."""
    _checked("constant_", tensor, floating=False)
    value = val.item() if isinstance(val, Tensor) and val.numel() == 1 else val
    if not isinstance(value, numbers.Number) or isinstance(value, bool):
        raise TypeError(f"constant_: val must be a number, got {type(val).__name__}"
                        + (f" of shape {val.shape}" if isinstance(val, Tensor) else ""))
    return _fill(tensor, np.full(tensor.shape, value))


def zeros_(tensor: Tensor) -> Tensor:
    """Every value 0."""
    _checked("zeros_", tensor, floating=False)
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Every value 1."""
    _checked("ones_", tensor, floating=False)
    return constant_(tensor, 1.0)


def _fans(tensor: Tensor, where: str) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight (out, in, *kernel), as PyTorch counts them."""
    if tensor.ndim < 2:
        raise ValueError(f"{where}: fan in and fan out need a tensor of at least 2 axes, got shape {tensor.shape}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """PyTorch's private helper, which custom layers call as PyTorch's own initialisers do
    (`fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)`): (fan_in, fan_out), see `_fans`."""
    return _fans(tensor, "_calculate_fan_in_and_fan_out")


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    """PyTorch's private helper: the fan_in or the fan_out of a weight, `mode` in either case (SampleRNN's
    `lecun_uniform`: `fan_in = nn.init._calculate_correct_fan(tensor, 'fan_in')`)."""
    valid_modes = ["fan_in", "fan_out"]
    if not isinstance(mode, str) or mode.lower() not in valid_modes:
        raise ValueError(f"_calculate_correct_fan: mode {mode!r} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _fans(tensor, "_calculate_correct_fan")
    return fan_in if mode.lower() == "fan_in" else fan_out


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, rng: np.random.Generator | None = None,
                    *, generator: np.random.Generator | None = None) -> Tensor:
    """Glorot & Bengio (2010): uniform(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)), so the
    variance gain^2 * 2 / (fan_in + fan_out) is kept going forward and back."""
    _checked("xavier_uniform_", tensor, gain=gain)
    non_negative_number(gain, "gain", "xavier_uniform_")      # (PyTorch's uniform_ refuses the bound it makes)
    fan_in, fan_out = _fans(tensor, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    draws = generator_or_default(rng, "xavier_uniform_", generator)
    return _fill(tensor, draws.uniform(-bound, bound, tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0, rng: np.random.Generator | None = None,
                   *, generator: np.random.Generator | None = None) -> Tensor:
    """Glorot & Bengio (2010), normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    _checked("xavier_normal_", tensor, gain=gain)
    non_negative_number(gain, "gain", "xavier_normal_")      # (PyTorch's normal_ refuses the std it makes)
    fan_in, fan_out = _fans(tensor, "xavier_normal_")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    draws = generator_or_default(rng, "xavier_normal_", generator)
    return _fill(tensor, draws.normal(0.0, std, tensor.shape))


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gain of a nonlinearity: 1 (linear, conv, sigmoid), 5/3 (tanh),
    sqrt(2) (relu), sqrt(2 / (1 + slope^2)) (leaky_relu, slope `param`, 0.01 by default), 3/4 (selu)."""
    if nonlinearity in ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                        "conv_transpose2d", "conv_transpose3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not is_finite_number(slope):
            raise ValueError(f"calculate_gain: negative_slope {param!r} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _kaiming_std(where: str, tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float | None:
    """gain / sqrt(fan); None, after PyTorch's UserWarning, for a tensor with an axis of size 0, which
    PyTorch's kaiming initialisers leave as it is (before they look at its fans or the mode)."""
    _checked(where, tensor, a=a)
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{where}: mode {mode!r} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _fans(tensor, where)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    rng: np.random.Generator | None = None,
                    *, generator: np.random.Generator | None = None) -> Tensor:
    """He et al. (2015), normal: N(0, std^2) with std = gain / sqrt(fan), the gain of `nonlinearity`
    (leaky_relu of slope `a`: sqrt(2) for a = 0), fan the fan_in or fan_out (`mode`)."""
    std = _kaiming_std("kaiming_normal_", tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    draws = generator_or_default(rng, "kaiming_normal_", generator)
    return _fill(tensor, draws.normal(0.0, std, tensor.shape))


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     rng: np.random.Generator | None = None,
                     *, generator: np.random.Generator | None = None) -> Tensor:
    """He et al. (2015), uniform: uniform(-b, b) with b = sqrt(3) * gain / sqrt(fan), as kaiming_normal_."""
    std = _kaiming_std("kaiming_uniform_", tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    draws = generator_or_default(rng, "kaiming_uniform_", generator)
    return _fill(tensor, draws.uniform(-bound, bound, tensor.shape))


def orthogonal_(tensor: Tensor, gain: float = 1.0, rng: np.random.Generator | None = None,
                *, generator: np.random.Generator | None = None) -> Tensor:
    """Saxe et al. (2013): the weight, seen as a (rows, rest) matrix, gets orthonormal rows (or columns,
    whichever are fewer), times `gain`: Q of the QR decomposition of a Gaussian matrix, its signs fixed
    by R's diagonal so Q is uniformly (Haar) distributed."""
    _checked("orthogonal_", tensor, gain=gain)
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: expected a tensor of at least 2 axes, got shape {tensor.shape}")
    rows, columns = tensor.shape[0], math.prod(tensor.shape[1:])
    gaussian = generator_or_default(rng, "orthogonal_", generator).standard_normal((rows, columns))
    if rows < columns:
        gaussian = gaussian.T
    q, r = np.linalg.qr(gaussian)
    q = q * np.sign(np.diag(r))
    return _fill(tensor, gain * (q.T if rows < columns else q))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  rng: np.random.Generator | None = None,
                  *, generator: np.random.Generator | None = None) -> Tensor:
    """Values from N(mean, std^2) truncated to [a, b] (density proportional to the normal's there, 0
    outside), drawn as PyTorch's are: normal draws outside [a, b] drawn again while the interval holds
    more than 0.3 of the normal's mass, p = Phi((b - mean) / std) - Phi((a - mean) / std); otherwise
    uniform draws on [a, b] kept with probability e^(-(x - mean)^2 / 2 std^2) over its peak on [a, b]."""
    _checked("trunc_normal_", tensor, mean=mean, std=std, a=a, b=b)
    if not std > 0 or not a <= b:
        raise ValueError(f"trunc_normal_: expected std > 0 and a <= b, got std={std}, a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:       # (PyTorch's warning, word for word)
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of values may "
                      "be incorrect.", stacklevel=2)
    draws = generator_or_default(rng, "trunc_normal_", generator)
    mass = (math.erf((b - mean) / (std * math.sqrt(2))) - math.erf((a - mean) / (std * math.sqrt(2)))) / 2
    if mass > 0.3:
        values = _rejection_sampled(tensor.numel(), lambda n: draws.normal(mean, std, n),
                                    lambda x: (a <= x) & (x <= b))
    else:
        peak = max(a, min(mean, b))         # where the normal's density on [a, b] is highest

        def under_the_density(x: np.ndarray) -> np.ndarray:
            return draws.random(x.shape) < np.exp(((peak - mean) ** 2 - (x - mean) ** 2) / (2 * std ** 2))
        values = _rejection_sampled(tensor.numel(), lambda n: draws.uniform(a, b, n), under_the_density)
    return _fill(tensor, np.clip(values.astype(tensor.dtype), a, b).reshape(tensor.shape))


def _rejection_sampled(count: int, draw: Callable[[int], np.ndarray],
                       keep: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`count` values of `draw(n)`, each one not kept by `keep` drawn again until it is."""
    values = draw(count)
    redraw = ~keep(values)
    while redraw.any():
        values[redraw] = draw(int(redraw.sum()))
        redraw[redraw] = ~keep(values[redraw])
    return values


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix of the tensor's shape (rows, columns): 1 where row = column, 0 elsewhere, so a
    Linear layer (or an RNN's weight_hh, Le et al.'s IRNN) passes as many of its inputs through as it can."""
    _checked("eye_", tensor, floating=False)
    if tensor.ndim != 2:
        raise ValueError(f"eye_: expected a tensor of 2 axes (only those are supported, as PyTorch's), got shape "
                         f"{tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """A convolution weight (out, in, *kernel) of 3, 4 or 5 axes that passes its input through: within each
    of `groups` groups of out / groups output channels, output channel d of the group reads input channel
    d at the kernel's centre (index size // 2 along each kernel axis), for d below min(out / groups, in);
    0 elsewhere."""
    _checked("dirac_", tensor, floating=False)
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: expected a tensor of 3, 4 or 5 axes (a convolution weight), got shape "
                         f"{tensor.shape}")
    groups = positive_int(groups, "groups", "dirac_")
    if tensor.shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 must be divisible by groups, got shape {tensor.shape} and groups={groups}")
    per_group = tensor.shape[0] // groups
    centre = tuple(n // 2 for n in tensor.shape[2:])
    values = np.zeros(tensor.shape)
    for g in range(groups):
        for d in range(min(per_group, tensor.shape[1])):
            values[(g * per_group + d, d) + centre] = 1.0
    return _fill(tensor, values)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, rng: np.random.Generator | None = None,
            *, generator: np.random.Generator | None = None) -> Tensor:
    """Martens (2010), as PyTorch's: a (rows, columns) matrix of N(0, std^2) draws in which each column has
    ceil(sparsity * rows) entries, at rows drawn without replacement, set to 0."""
    _checked("sparse_", tensor, sparsity=sparsity, std=std)
    if tensor.ndim != 2:
        raise ValueError(f"sparse_: expected a tensor of 2 axes (only those are supported, as PyTorch's), got "
                         f"shape {tensor.shape}")
    if not 0 <= sparsity <= 1 or std < 0:
        raise ValueError(f"sparse_: expected 0 <= sparsity <= 1 and std >= 0, got sparsity={sparsity}, std={std}")
    draws = generator_or_default(rng, "sparse_", generator)
    rows, columns = tensor.shape
    values = draws.normal(0.0, std, (rows, columns))
    for column in range(columns):
        values[draws.permutation(rows)[:math.ceil(sparsity * rows)], column] = 0.0
    return _fill(tensor, values)


def _make_deprecate(method: Callable) -> Callable:
    """PyTorch's spelling without the underscore (`nn.init.uniform(w)`, deprecated there): the same call
    after its FutureWarning (torch/nn/init.py, `_make_deprecate`)."""
    new_name = method.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args: Any, **kwargs: Any) -> Tensor:
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.", FutureWarning,
                      stacklevel=2)
        return method(*args, **kwargs)
    deprecated_init.__name__ = old_name
    deprecated_init.__doc__ = f"{old_name}(...): deprecated, as PyTorch's; see `{new_name}`."
    return deprecated_init


uniform, normal, constant = _make_deprecate(uniform_), _make_deprecate(normal_), _make_deprecate(constant_)
xavier_uniform, xavier_normal = _make_deprecate(xavier_uniform_), _make_deprecate(xavier_normal_)
kaiming_uniform, kaiming_normal = _make_deprecate(kaiming_uniform_), _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
eye, dirac, sparse = _make_deprecate(eye_), _make_deprecate(dirac_), _make_deprecate(sparse_)
