"""microgradseq: a tiny numpy autodiff engine for learning backpropagation through time.

    import microgradseq as mg
    w = mg.tensor([0.5, -1.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()          # w.grad == 2 * w
"""

from . import bptt, functional, metadata, nn, optim, viz
from .anomaly import detect_anomaly
from .autograd import no_grad
from .creation import ones, randn, zeros
from .gradcheck import GradcheckError, gradcheck
from .ops import concat, stack, where
from .random import manual_seed
from .serialization import load, save
from .tensor import Tensor, get_default_dtype, set_default_dtype, tensor
from .threads import get_num_threads, limit_at_import, set_num_threads
from .transforms import jacobian, jvp, vjp
from .viz import draw

__all__ = ["GradcheckError", "Tensor", "bptt", "concat", "detect_anomaly", "functional",
           "get_default_dtype", "gradcheck", "jacobian", "jvp", "load", "manual_seed", "nn", "no_grad", "ones", "optim",
           "randn", "save", "set_default_dtype", "stack", "tensor", "vjp", "viz", "draw", "where", "zeros"]
__all__ += ["get_num_threads", "set_num_threads"]
__version__ = "0.1.0"

limit_at_import()       # one BLAS thread unless the environment says otherwise (threads.py says why)
