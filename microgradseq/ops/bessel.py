"""The modified Bessel functions of the first kind, as PyTorch's: `i0` (`mg.i0`, `t.i0()`, `t.i0_()`) and
torch.special's `i0`, `i0e` (e^-|x| I0(x)), `i1` and `i1e` (e^-|x| I1(x)).

Each is a primitive with PyTorch's derivative (tools/autograd/derivatives.yaml: I0' = I1, I1' = I0 - I1/x,
1/2 at 0; the scaled ones carry -sign(x) times themselves), computed in float64 (float32 and float16 input:
rounded to the input's dtype) by Cephes' Chebyshev series as Math.h's calc_i0, calc_i0e, calc_i1 and
calc_i1e: one in x/2 - 2 on [0, 8], one in 32/x - 2 beyond (there times 1 / sqrt x); I0 is even, I1 odd.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor, result
from .elementwise import elementwise
from .gamma_functions import _in_dtype_of
from .in_place import in_place
from .more_elementwise import _real

# Cephes' Chebyshev coefficients (Math.h): e^-x I0(x) on [0, 8], e^-x sqrt(x) I0(x) on (8, inf), and the
# same for I1 (e^-x I1(x) / x on [0, 8])
_I0_NEAR = (-4.41534164647933937950E-18, 3.33079451882223809783E-17, -2.43127984654795469359E-16,
            1.71539128555513303061E-15, -1.16853328779934516808E-14, 7.67618549860493561688E-14,
            -4.85644678311192946090E-13, 2.95505266312963983461E-12, -1.72682629144155570723E-11,
            9.67580903537323691224E-11, -5.18979560163526290666E-10, 2.65982372468238665035E-9,
            -1.30002500998624804212E-8, 6.04699502254191894932E-8, -2.67079385394061173391E-7,
            1.11738753912010371815E-6, -4.41673835845875056359E-6, 1.64484480707288970893E-5,
            -5.75419501008210370398E-5, 1.88502885095841655729E-4, -5.76375574538582365885E-4,
            1.63947561694133579842E-3, -4.32430999505057594430E-3, 1.05464603945949983183E-2,
            -2.37374148058994688156E-2, 4.93052842396707084878E-2, -9.49010970480476444210E-2,
            1.71620901522208775349E-1, -3.04682672343198398683E-1, 6.76795274409476084995E-1)
_I0_FAR = (-7.23318048787475395456E-18, -4.83050448594418207126E-18, 4.46562142029675999901E-17,
           3.46122286769746109310E-17, -2.82762398051658348494E-16, -3.42548561967721913462E-16,
           1.77256013305652638360E-15, 3.81168066935262242075E-15, -9.55484669882830764870E-15,
           -4.15056934728722208663E-14, 1.54008621752140982691E-14, 3.85277838274214270114E-13,
           7.18012445138366623367E-13, -1.79417853150680611778E-12, -1.32158118404477131188E-11,
           -3.14991652796324136454E-11, 1.18891471078464383424E-11, 4.94060238822496958910E-10,
           3.39623202570838634515E-9, 2.26666899049817806459E-8, 2.04891858946906374183E-7,
           2.89137052083475648297E-6, 6.88975834691682398426E-5, 3.36911647825569408990E-3,
           8.04490411014108831608E-1)
_I1_NEAR = (2.77791411276104639959E-18, -2.11142121435816608115E-17, 1.55363195773620046921E-16,
            -1.10559694773538630805E-15, 7.60068429473540693410E-15, -5.04218550472791168711E-14,
            3.22379336594557470981E-13, -1.98397439776494371520E-12, 1.17361862988909016308E-11,
            -6.66348972350202774223E-11, 3.62559028155211703701E-10, -1.88724975172282928790E-9,
            9.38153738649577178388E-9, -4.44505912879632808065E-8, 2.00329475355213526229E-7,
            -8.56872026469545474066E-7, 3.47025130813767847674E-6, -1.32731636560394358279E-5,
            4.78156510755005422638E-5, -1.61760815825896745588E-4, 5.12285956168575772895E-4,
            -1.51357245063125314899E-3, 4.15642294431288815669E-3, -1.05640848946261981558E-2,
            2.47264490306265168283E-2, -5.29459812080949914269E-2, 1.02643658689847095384E-1,
            -1.76416518357834055153E-1, 2.52587186443633654823E-1)
_I1_FAR = (7.51729631084210481353E-18, 4.41434832307170791151E-18, -4.65030536848935832153E-17,
           -3.20952592199342395980E-17, 2.96262899764595013876E-16, 3.30820231092092828324E-16,
           -1.88035477551078244854E-15, -3.81440307243700780478E-15, 1.04202769841288027642E-14,
           4.27244001671195135429E-14, -2.10154184277266431302E-14, -4.08355111109219731823E-13,
           -7.19855177624590851209E-13, 2.03562854414708950722E-12, 1.41258074366137813316E-11,
           3.25260358301548823856E-11, -1.89749581235054123450E-11, -5.58974346219658380687E-10,
           -3.83538038596423702205E-9, -2.63146884688951950684E-8, -2.51223623787020892529E-7,
           -3.88256480887769039346E-6, -1.10588938762623716291E-4, -9.76109749136146840777E-3,
           7.78576235018280120474E-1)


def _chebyshev(x: np.ndarray, coefficients: tuple) -> np.ndarray:
    """Cephes' chbevl: the Chebyshev series sum' c_k T_k(x / 2) by Clenshaw's recurrence."""
    b0, b1, b2 = np.full_like(x, coefficients[0]), np.zeros_like(x), np.zeros_like(x)
    for c in coefficients[1:]:
        b2, b1 = b1, b0
        b0 = x * b1 - b2 + c
    return 0.5 * (b0 - b2)


def _scaled(x: np.ndarray, near: tuple, far: tuple, times_x: bool) -> np.ndarray:
    """e^-|x| I_k(|x|) of a float64 array from the two series (the near one times |x| for I1)."""
    magnitude = np.abs(x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):     # (the far series at 0: 32 / 0)
        inside = _chebyshev(magnitude / 2 - 2, near) * (magnitude if times_x else 1)
        outside = _chebyshev(32 / magnitude - 2, far) / np.sqrt(magnitude)
    return np.where(magnitude <= 8, inside, outside)


def _i0e(x: np.ndarray) -> np.ndarray:
    return _scaled(x, _I0_NEAR, _I0_FAR, False)


def _i1e(x: np.ndarray) -> np.ndarray:
    scaled = _scaled(x, _I1_NEAR, _I1_FAR, True)
    return np.where(x < 0, -scaled, scaled)


def _unscaled(scaled: np.ndarray, x: np.ndarray) -> np.ndarray:
    """e^|x| times the scaled function (+inf past |x| of about 713, quietly)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(np.abs(x)) * scaled


def _value(name: str, kernel: Any, input: Any) -> tuple[Tensor, np.ndarray, np.ndarray]:
    """input as a tensor, its array in floating point, and kernel's value of it in that dtype."""
    x, X = _real(name, input)
    return x, X, _in_dtype_of(X, kernel(X.astype(np.float64)))


def i0(input: Any) -> Tensor:
    """I0(x) = sum_k (x^2 / 4)^k / (k!)^2, as torch.i0 (torch.special.i0);   d I0(x)/dx = I1(x)"""
    x, X, y = _value("i0", lambda X: _unscaled(_i0e(X), X), input)
    return result("i0", y, (x,), I0, (X,))


I0 = elementwise(lambda g, x: g * _in_dtype_of(x, _unscaled(_i1e(x.astype(np.float64)), x)))


def i0e(input: Any) -> Tensor:
    """e^-|x| I0(x), as torch.special.i0e (no overflow for large |x|);
    d/dx = i1e(x) - sign(x) i0e(x)"""
    x, X, y = _value("i0e", _i0e, input)
    return result("i0e", y, (x,), I0E, ((X, y),))


def _d_i0e(g: np.ndarray, kept: tuple) -> np.ndarray:
    x, y = kept
    return g * (_in_dtype_of(x, _i1e(x.astype(np.float64))) - np.sign(x) * y)


I0E = elementwise(_d_i0e)


def i1(input: Any) -> Tensor:
    """I1(x) = (x / 2) sum_k (x^2 / 4)^k / (k! (k + 1)!), as torch.special.i1;
    d I1(x)/dx = I0(x) - I1(x) / x, 1/2 where |x| <= the dtype's eps (PyTorch's i1_backward)"""
    x, X, y = _value("i1", lambda X: _unscaled(_i1e(X), X), input)
    return result("i1", y, (x,), I1, ((X, y),))


def _d_i1(g: np.ndarray, kept: tuple) -> np.ndarray:
    x, y = kept
    tiny = np.abs(x) <= np.finfo(x.dtype).eps
    safe = np.where(tiny, 1, x)
    slope = _in_dtype_of(x, _unscaled(_i0e(safe.astype(np.float64)), safe)) - y / safe
    return g * np.where(tiny, 0.5, slope)


I1 = elementwise(_d_i1)


def i1e(input: Any) -> Tensor:
    """e^-|x| I1(x), as torch.special.i1e;   d/dx = i0e(x) - i1e(x) (sign(x) + 1/x), 1/2 where |x| <= the
    dtype's eps (PyTorch's i1e_backward)"""
    x, X, y = _value("i1e", _i1e, input)
    return result("i1e", y, (x,), I1E, ((X, y),))


def _d_i1e(g: np.ndarray, kept: tuple) -> np.ndarray:
    x, y = kept
    tiny = np.abs(x) <= np.finfo(x.dtype).eps
    safe = np.where(tiny, 1, x)
    slope = _in_dtype_of(x, _i0e(safe.astype(np.float64))) - y * (np.sign(safe) + 1 / safe)
    return g * np.where(tiny, 0.5, slope)


I1E = elementwise(_d_i1e)

Tensor.i0, Tensor.i0_ = i0, in_place("i0_", i0)
