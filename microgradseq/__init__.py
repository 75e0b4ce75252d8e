"""microgradseq: a tiny numpy autodiff engine for learning backpropagation through time.

    import microgradseq as mg
    w = mg.tensor([0.5, -1.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()          # w.grad == 2 * w
"""

import math
import sys

import numpy as np


def _require_numpy_2(version: str) -> None:
    """numpy 1.x casts by value: a float32 0-d array or scalar times a Python float (a float32 loss * 0.5)
    is float64 there, where numpy 2 (NEP 50) keeps float32, and uint8 + 300 widens instead of raising; a
    float32 model would drift into float64. Refuse it, with the version found."""
    if int(version.split(".")[0]) < 2:
        raise ImportError(f"microgradseq needs numpy 2.0 or later, found numpy {version}: "
                          "pip install --upgrade 'numpy>=2.0'")


_require_numpy_2(np.__version__)

from . import (autograd, autograd_functional, backends, bptt, creation, cuda, function, functional, metadata, nn, optim,
               tensor_hooks, threads, transforms, utils, viz)
from . import anomaly
from .anomaly import detect_anomaly
from .anomaly import is_anomaly_check_nan_enabled, is_anomaly_enabled, set_anomaly_enabled  # torch.is_anomaly_enabled, ...
from .creation import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor,
                       LongTensor, ShortTensor, arange, as_tensor, empty, empty_like, eye, full, full_like, linspace,
                       multinomial, normal, ones, ones_like, rand, rand_like, randint, randn, randn_like, randperm,
                       zeros, zeros_like)
from .dtypes import (bool, double, float, float16, float32, float64, half, int, int8, int16, int32, int64, long,
                     uint8)
from .function_forms import (abs, add, allclose, amax, amin, argmax, argmin, argsort, bincount, bmm, chunk, clamp,
                             clip, clone, cos, cumsum, diag, div, dot, eq, equal, erf, exp, flatten, flip, floor_divide,
                             from_numpy, gather, ge, gt, index_fill, index_select, is_floating_point, is_tensor,
                             isfinite, isinf, isnan, le, log, log_softmax, logsumexp, lt, masked_fill, masked_select,
                             matmul, max, mean, min, mm, movedim, mul, narrow, ne, nonzero, norm, numel, permute,
                             pow, relu, remainder, repeat_interleave, reshape, roll, round, rsqrt, scatter, sigmoid, sin,
                             softmax, sort, split, sqrt, square, squeeze, std, sub, sum, t, tanh, topk, transpose,
                             tril, triu, unbind, unique, unsqueeze, var)
from .gradcheck import GradcheckError, gradcheck
from .ops import concat, stack, where
from .ops import concat as cat
from .printing import set_printoptions
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .serialization import load, save
from .spellings import Size, device, set_default_device
from .spellings import (channels_last, channels_last_3d, contiguous_format, memory_format,
                        preserve_format)          # torch.preserve_format, ... (`zeros_like(p, memory_format=...)`)
from .tensor import Tensor, get_default_dtype, set_default_dtype, tensor
from .threads import get_num_threads, set_num_threads
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .transforms import jacobian, jvp, vjp
from .viz import draw
from .histogram import histc, histogram                     # torch.histogram (makemore part 3's plots), histc
from .backends import (are_deterministic_algorithms_enabled, is_deterministic_algorithms_warn_only_enabled,
                       use_deterministic_algorithms)      # (fast.ai's set_seed)
from . import linalg                                       # torch.linalg.norm, solve, det, eigh, svd, qr, ...
from .linalg import (_cholesky as cholesky, det, inverse, logdet, matrix_exp, matrix_power,
                     slogdet)                              # torch.det, torch.inverse, torch.matrix_exp, ...
from .linalg import (chain_matmul, cholesky_inverse, cholesky_solve, inner, pinverse,   # torch.pinverse, ...
                     triangular_solve)
from .linalg import torch_cross as cross, torch_lu as lu, torch_lu_solve as lu_solve   # torch.cross, torch.lu, ...
from .linalg import torch_svd as svd                          # torch.svd (U, S, V; pytorch-esn's readout)
from .linalg_solvers import lu_unpack                      # torch.lu_unpack
from .ops.einsum import einsum                              # torch.einsum (fast.ai's weight gradients)
from .function_forms import clamp_max, clamp_min, cosh, sign, sinh   # torch.cosh, ... (d2l, fast.ai)
from .ops.elementwise import log2, log10                   # torch.log10 (`loss.log10()` of the lectures)
from .ops.elementwise import expm1, log1p                  # torch.log1p, torch.expm1 (exact near 0)
from .function_forms import all_of as all, any_of as any      # torch.all, torch.any (not in __all__)
from .function_forms import logical_and, logical_not, logical_or, logical_xor   # torch.logical_and, ... (UvA DL)
from .function_forms import swapaxes, swapdims          # torch.swapaxes, torch.swapdims (d2l's RNNLM)
from .ops.expanding import meshgrid                        # torch.meshgrid (the UvA DL course's decision boundary)
from .function_forms import maximum, minimum              # torch.maximum, torch.minimum (RWKV's time mixing)
from .function_forms import lerp                           # torch.lerp(input, end, weight) (minGRU's step)
from .function_forms import nan_to_num                     # torch.nan_to_num (an RTRL's sensitivities)
from .ops.softmax import logcumsumexp                      # torch.logcumsumexp (minGRU's log-space scan)
from .ops.more_elementwise import (atan2, copysign, erfc, exp2, float_power, fmax, fmin, fmod, frac, heaviside, hypot,
                                   logit, sgn, signbit, sinc, true_divide, trunc, xlogy)  # torch.atan2, torch.fmod, ...
from .ops.more_elementwise import atan2 as arctan2, trunc as fix   # (PyTorch's aliases)
from .ops.softmax import logaddexp2                        # torch.logaddexp2
from .ops.more_elementwise import ceil, floor, positive, reciprocal   # torch.floor, torch.ceil, ...
from .ops.trigonometry import acos, acosh, asin, asinh, atan, atanh, deg2rad, rad2deg, tan   # torch.tan, ...
from .ops.trigonometry import (acos as arccos, acosh as arccosh, asin as arcsin, asinh as arcsinh, atan as arctan,
                               atanh as arctanh)             # (PyTorch's aliases)
from .function_forms import absolute, neg, negative         # torch.neg, torch.negative, torch.absolute
from .function_forms import divide, multiply, subtract       # torch.multiply, ... (PyTorch's aliases of mul, ...)
from .function_forms import greater, greater_equal, less, less_equal, not_equal    # (aliases of gt, ge, lt, le, ne)
from .ops.logical import bitwise_and, bitwise_not, bitwise_or, bitwise_xor   # torch.bitwise_and, ...
from .ops.gamma_functions import digamma, lgamma, mvlgamma, polygamma   # torch.lgamma, torch.digamma, ...
from .ops.error_functions import erfinv                   # torch.erfinv
from .ops.bessel import i0                                 # torch.i0
from . import special                                      # torch.special: expit, xlog1py, entr, ndtr, ...
from .function_forms import (addcdiv, addcmul, addmm, count_nonzero, cumprod, diff, ger, isclose, logaddexp,
                             nansum, outer, prod, take_along_dim)     # torch.prod, torch.diff, torch.addcmul, ...
from .ops.filling import bernoulli                         # torch.bernoulli (t.bernoulli_, exponential_, ...)
from .creation import asarray, poisson, randint_like      # torch.asarray, torch.poisson, torch.randint_like
from .promotion import can_cast, promote_types, result_type   # torch.result_type, ... (PyTorch's promotion)
from . import distributions, jit                           # torch.distributions; torch.jit, run eagerly
from .jit import compile                                   # torch.compile, run eagerly: compiles nothing
from . import amp, cpu                                      # torch.amp (autocast casts nothing; GradScaler), torch.cpu
from .amp import autocast                                  # torch.autocast
from .amp.autocast_mode import is_autocast_enabled         # torch.is_autocast_enabled
from .function_forms import (aminmax, argwhere, cummax, cummin, kthvalue, median, mode, nanmedian, nanquantile,
                             quantile, unique_consecutive)     # torch.median, torch.quantile, torch.cummax, ...
from .ops.reduce import std_mean, var_mean                 # torch.var_mean, torch.std_mean
from .ops.sorting import bucketize, searchsorted           # torch.searchsorted, torch.bucketize
# PyTorch's top-level spellings of nn.functional's activations and distances (torch.selu, torch.hardshrink, ...:
# those PyTorch has at the top level; not torch.elu, torch.softplus, ...): F's functions themselves
from .functional import celu, cosine_similarity, hardshrink, pairwise_distance, prelu, selu, threshold
# PyTorch's shape, indexing and product functions (ops/combining.py, contracting.py, scattering.py, creation.py) and
# distances (functional/distances.py: `t.dist` and `t.renorm` attached here, as hardshrink and prelu below)
from .ops.combining import (block_diag, broadcast_shapes, broadcast_tensors, cartesian_prod, column_stack, combinations,
                            diag_embed, diagonal, dsplit, dstack, fliplr, flipud, hsplit, hstack, kron, rot90, select,
                            tensor_split, vander, vsplit, vstack)
from .ops.combining import vstack as row_stack
from .ops import concat as concatenate
from .ops.contracting import addbmm, addmv, addr, baddbmm, mv, tensordot, trace, vdot
from .function_forms import index_add, index_copy, moveaxis, scatter_add, scatter_reduce
from .creation import logspace, tril_indices, triu_indices
from .creation import scalar_tensor                     # torch.scalar_tensor
from .function_forms import isin, msort, tile            # torch.isin, torch.msort, torch.tile
from .ops.combining import diagflat, narrow_copy                  # torch.diagflat, torch.narrow_copy
from .ops.scattering import diagonal_scatter, select_scatter, slice_scatter   # torch.select_scatter, ...
from .function_forms import index_put, masked_scatter, nanmean, put, take     # torch.take, torch.index_put, ...
from .ops.more_elementwise import frexp, gcd, lcm, ldexp, nextafter          # torch.frexp, torch.gcd, ...
from .ops.covariance import corrcoef, cov                           # torch.cov, torch.corrcoef
from .ops.integration import cumulative_trapezoid, trapezoid        # torch.trapezoid, ...
from .functional.distances import cdist, dist, pdist, renorm
from . import testing                                      # torch.testing.assert_close, make_tensor
from .function_forms import unflatten                      # torch.unflatten(input, dim, sizes)
Tensor.dist, Tensor.renorm = dist, renorm
# ... and the two PyTorch also has as Tensor methods, `t.hardshrink(lambd=0.5)` and `t.prelu(weight)`, attached as
# ops/methods.py attaches its own (here, not there: functional is built on ops, so ops cannot import it)
Tensor.hardshrink, Tensor.prelu = hardshrink, prelu

# PyTorch's `torch.autograd.grad`, `Function`, `gradcheck`, `functional` and anomaly mode: `mg.autograd` is the
# core module (autograd.py), which a course reads for the chain rule alone; they live in transforms.py,
# function.py, gradcheck.py, autograd_functional.py and anomaly.py and are named there.
autograd.grad = transforms.grad
autograd.backward = transforms.backward
autograd.Function = function.Function
autograd.gradcheck = gradcheck
autograd.gradgradcheck = sys.modules[__name__ + ".gradcheck"].gradgradcheck
autograd.detect_anomaly, autograd.set_detect_anomaly = detect_anomaly, anomaly.set_detect_anomaly
autograd.is_anomaly_enabled, autograd.set_anomaly_enabled = is_anomaly_enabled, set_anomaly_enabled
autograd.is_anomaly_check_nan_enabled = is_anomaly_check_nan_enabled
autograd.functional = autograd_functional
autograd.Variable = creation.Variable     # PyTorch's deprecated legacy wrapper
from . import forward_ad, func            # torch.autograd.forward_ad (dual tensors) and torch.func (func.py)
vmap = func.vmap                          # torch.vmap is torch.func.vmap
autograd.forward_ad = forward_ad          # `import torch.autograd.forward_ad as fwAD` ports too: autograd is a
sys.modules[autograd.__name__ + ".forward_ad"] = forward_ad     # module, so Python looks the name up here
sys.modules[autograd.__name__ + ".functional"] = autograd_functional     # (`import torch.autograd.functional`)
sys.modules[autograd.__name__ + ".gradcheck"] = sys.modules[__name__ + ".gradcheck"]   # (`from torch.autograd.gradcheck import`)

__all__ = ["GradcheckError", "Tensor", "bptt", "concat", "detect_anomaly", "functional",
           "get_default_dtype", "gradcheck", "jacobian", "jvp", "load", "manual_seed", "nn", "no_grad", "ones", "optim",
           "randn", "save", "set_default_dtype", "stack", "tensor", "vjp", "viz", "draw", "where", "zeros"]
__all__ += ["arange", "cat", "full", "multinomial", "ones_like", "rand", "zeros_like"]   # (not the dtype names,
# nor abs, sum, max, min, pow, round: `from microgradseq import *` must not replace the builtins)
__all__ += ["get_num_threads", "set_num_threads", "backends", "cuda", "device", "Size"]
__version__ = "0.1.0"

pi, e, inf, nan = math.pi, math.e, math.inf, math.nan       # torch.pi, torch.inf, ...
finfo, iinfo = np.finfo, np.iinfo                            # torch.finfo(torch.float32).eps, .min, .max

threads.limit_at_import()   # one BLAS thread unless the environment says otherwise (threads.py says why)
