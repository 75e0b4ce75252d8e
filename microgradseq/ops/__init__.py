"""The primitive ops. Every differentiable computation in microgradseq is built from these, except the
fused recurrent cells (`nn/fused`: one node each, reverse mode only) and a user's `autograd.Function`.

Each op is a row of a table of derivatives: its forward value, and for each
operand its reverse-mode rule (g J) and forward-mode rule (J v), side by side.
"""

# imported for what they do: give Tensor its operators and methods
from . import arithmetic, attributes, expanding, filling, logical, methods, selecting, sorting  # noqa: F401
from . import combining, contracting, scattering  # noqa: F401
from . import covariance, integration  # noqa: F401     (t.cov(), t.corrcoef(); mg.trapezoid)
from . import more_elementwise  # noqa: F401     (t.atan2(u), t.hypot(u), t.fmod(u), t.sinc(), ...)
from . import order_statistics  # noqa: F401
from . import trigonometry  # noqa: F401     (t.tan(), t.asin(), t.atanh(), t.deg2rad(), ...)
from . import bessel, error_functions, gamma_functions  # noqa: F401     (t.lgamma(), t.erfinv(), t.i0(), ...)
from . import in_place  # noqa: F401     (t.exp_(), t.neg_(), t.pow_(2), t.tril_(), ...)
from .einsum import einsum
from .elementwise import (abs, add, astype, clip, clone, cos, cosh, div, erf, exp, expm1, lerp, log, log1p, log2, log10,
                          mul, neg, power, relu, round, sigmoid, sign, sin, sinh, sqrt, sub, tanh, where)
from .linalg import linear, matmul
from .more_elementwise import atan2, copysign, entr, erfc, exp2, fmod, hypot, logit, sinc, trunc, xlog1py, xlogy
from .more_elementwise import ceil, floor, reciprocal
from .trigonometry import acos, acosh, asin, asinh, atan, atanh, tan
from .gamma_functions import digamma, lgamma, polygamma
from .error_functions import erfcx, erfinv, log_ndtr, ndtri
from .bessel import i0, i0e, i1, i1e
from .products import cumprod, prod
from .reduce import cumsum, max, mean, norm, sum
from .assign import index_put
from .shape import concat, gather, getitem, reshape, stack, transpose
from .softmax import log_softmax

__all__ = ["abs", "add", "astype", "clip", "clone", "concat", "cos", "cosh", "cumprod", "cumsum", "div", "einsum",
           "erf", "exp", "expm1", "gather", "getitem", "index_put", "lerp", "linear", "log", "log10", "log1p", "log2",
           "log_softmax", "matmul", "max", "mean", "mul", "neg", "norm", "power", "prod", "relu", "reshape", "round",
           "sigmoid", "sign", "sin", "sinh", "sqrt", "stack", "sub", "sum", "tanh", "transpose", "where"]
__all__ += ["atan2", "copysign", "entr", "erfc", "exp2", "fmod", "hypot", "logit", "sinc", "trunc", "xlog1py", "xlogy"]
__all__ += ["acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "floor", "reciprocal", "tan"]
__all__ += ["digamma", "erfcx", "erfinv", "i0", "i0e", "i1", "i1e", "lgamma", "log_ndtr", "ndtri", "polygamma"]
