"""PyTorch's `torch.special` names for the functions that exist here (`import microgradseq.special`, or
`mg.special.expit(x)`): each is the function of the same name elsewhere in the library, or a composite of
primitives (`ndtr`); the gamma, error-function and Bessel families are ops/gamma_functions.py's,
ops/error_functions.py's and ops/bessel.py's (`gammaln` is `lgamma`, `psi` is `digamma`, `multigammaln`
is `mvlgamma`).

    p = mg.special.expit(logits)                  # sigmoid
    h = mg.special.entr(p).sum(-1)                # entropy, -p log p, 0 at p = 0
"""

from __future__ import annotations

import math
from typing import Any

from .function_forms import log_softmax as _log_softmax, softmax as _softmax
from .ops import elementwise as ew
from .ops.bessel import i0, i0e, i1, i1e
from .ops.error_functions import erfcx, erfinv, log_ndtr, ndtri
from .ops.gamma_functions import digamma, lgamma as gammaln, mvlgamma as multigammaln, polygamma
from .ops.elementwise import erf, expm1, log1p
from .ops.more_elementwise import entr, erfc, exp2, logit, sinc, xlog1py, xlogy
from .ops.softmax import logsumexp
from .tensor import Tensor, as_tensor

expit = ew.sigmoid
psi = digamma

__all__ = ["entr", "erf", "erfc", "exp2", "expit", "expm1", "log1p", "log_softmax", "logit", "logsumexp", "ndtr",
           "round", "sinc", "softmax", "xlog1py", "xlogy"]
__all__ += ["digamma", "erfcx", "erfinv", "gammaln", "i0", "i0e", "i1", "i1e", "log_ndtr", "multigammaln", "ndtri",
            "polygamma", "psi"]


def ndtr(input: Any) -> Tensor:
    """The standard normal CDF, (1 + erf(x / sqrt 2)) / 2, as torch.special.ndtr (PyTorch's calc_ndtr): a
    composite of `erf`, so d/dx = e^(-x^2 / 2) / sqrt(2 pi) comes from the chain rule."""
    return ew.mul(ew.add(erf(ew.mul(as_tensor(input, where="ndtr"), math.sqrt(0.5))), 1), 0.5)


def round(input: Any, *, decimals: int = 0) -> Tensor:
    """torch.special.round: `round` (halves to even), gradient 0."""
    return ew.round(input, decimals)


def softmax(input: Any, dim: int, *, dtype: Any = None) -> Tensor:
    """torch.special.softmax(input, dim, dtype=None): `mg.softmax`."""
    return _softmax(input, dim, dtype)


def log_softmax(input: Any, dim: int, *, dtype: Any = None) -> Tensor:
    """torch.special.log_softmax(input, dim, dtype=None): `mg.log_softmax`."""
    return _log_softmax(input, dim, dtype)
