"""Real-time recurrent learning (RTRL) and its rank-one estimate (UORO): online training, forward in time.

BPTT is reverse mode through time: it keeps the tape of every step and walks
it back. RTRL (Williams & Zipser, 1989) is forward mode through time: beside
the state h_t = f(h_(t-1), x_t; theta) it carries the state's sensitivity to
every parameter,

    P_t = dh_t/dtheta = df/dh P_(t-1) + df/dtheta,        P_0 = 0,

so a loss's gradient is known as soon as the loss is:

    dl_t/dtheta = dl_t/dh_t P_t + dl_t/dtheta (its direct part, the readout's).

Nothing about the past is kept but P_t, and the gradient summed between
updates equals TBPTT(k1, n)'s. One forward-mode pass per step computes it
(`forward.py`): the k axis of the tangents holds |theta| directions, one per
parameter entry. A parameter's tangent is its rows of the identity (along
direction d only entry d moves), the state's tangent is P_(t-1); after the
step, the new state carries P_t and the loss carries dl_t/dtheta.

UORO (Tallec & Ollivier, 2018) keeps P_t only as a rank-one product
s~ theta~^T that equals it on average: memory |state| + |theta| instead of
|state| x |theta|, at the price of noise in every gradient.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..autograd import LEAF, no_grad
from ..checks import is_int, positive_int
from ..forward import Seed
from ..metadata import at_step
from ..random import default_generator
from ..tensor import Tensor, owned
from ..transforms import reverse_gradients
from .runner import TBPTTResult, check_run, checked_loss, checked_step, finish_update, is_update
from .truncate import map_state, state_tensors


def rtrl(step: Callable[[Any, Any], tuple[Any, Any]], state: Any, inputs: Sequence, targets: Sequence,
         loss_fn: Callable[[Any, Any], Tensor], params: Mapping[str, Tensor] | Iterable[Tensor], k1: int = 1,
         optimizer: Any = None, on_update: Callable[[int, float], None] | None = None,
         reduction: str = "sum") -> TBPTTResult:
    """Train online by RTRL: the exact gradient of TBPTT(k1, n), with no tape of the past.

    `step`, `state`, `inputs`, `targets`, `loss_fn`, `k1`, `optimizer`, `on_update` and
    `reduction` mean what they mean for `tbptt`. `params` (a mapping name -> tensor, or an
    iterable of tensors that require grad) are the parameters theta whose sensitivities are
    carried; at each update the summed gradient is added into their `.grad`. Memory:
    |state| x |theta| per sequence in the batch; time per step of the order of that times H.
    """
    k1 = positive_int(k1, "k1", "rtrl")
    n = check_run("rtrl", step, state, inputs, targets, loss_fn, optimizer, on_update, reduction)
    params = parameters("rtrl", params)
    return _online(Sensitivities(step, state, loss_fn, params), inputs, targets, params, n, k1, optimizer,
                   on_update, reduction)


def uoro(step: Callable[[Any, Any], tuple[Any, Any]], state: Any, inputs: Sequence, targets: Sequence,
         loss_fn: Callable[[Any, Any], Tensor], params: Mapping[str, Tensor] | Iterable[Tensor], k1: int = 1,
         optimizer: Any = None, on_update: Callable[[int, float], None] | None = None,
         reduction: str = "sum", rng: np.random.Generator | int | None = None) -> TBPTTResult:
    """Train online by UORO (Tallec & Ollivier, 2018): `rtrl`'s call, with an unbiased rank-one
    estimate of its gradient (memory of the order of |theta| + |state|). `rng`: a numpy Generator or
    a seed for the random signs (default: the library's generator, `mg.manual_seed`)."""
    k1 = positive_int(k1, "k1", "uoro")
    n = check_run("uoro", step, state, inputs, targets, loss_fn, optimizer, on_update, reduction)
    params = parameters("uoro", params)
    if rng is None:
        rng = default_generator()
    elif is_int(rng):
        rng = np.random.default_rng(rng)
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(f"uoro: rng must be a numpy.random.Generator, a seed (an integer) or None, got "
                        f"{type(rng).__name__}")
    return _online(RankOne(step, state, loss_fn, params, rng), inputs, targets, params, n, k1, optimizer,
                   on_update, reduction)


def parameters(where: str, params: Any) -> list[Tensor]:
    """`params` (a mapping name -> tensor, or an iterable of tensors) as a list, each tensor once
    (tied weights may be listed under two names); ValueError/TypeError naming `where` otherwise."""
    if isinstance(params, Tensor):
        raise TypeError(f"{where}: params must be a mapping name -> tensor or an iterable of tensors, got a "
                        f"single Tensor of shape {params.shape}; wrap it in a list")
    if isinstance(params, Mapping):
        named = list(params.items())
    elif isinstance(params, Iterable) and not isinstance(params, (str, bytes)):
        named = [(f"params[{i}]", p) for i, p in enumerate(params)]
    else:
        raise TypeError(f"{where}: params must be a mapping name -> tensor or an iterable of tensors, "
                        f"got {type(params).__name__}")
    if not named:
        raise ValueError(f"{where}: params is empty; pass the tensors whose gradient to compute")
    unique, seen = [], set()
    for name, p in named:
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: {name} must be a Tensor, got {type(p).__name__}")
        if p._node is None or p._node.kind is not LEAF:
            raise ValueError(f"{where}: {name} (shape {p.shape}) must be a tensor that requires grad "
                             "(a parameter, a leaf)")
        if id(p) not in seen:
            seen.add(id(p))
            unique.append(p)
    return unique


def identity_directions(params: list[Tensor]) -> list[np.ndarray]:
    """Each parameter's tangent when the k = |theta| directions are the parameters' entries, one
    each: its rows of the k x k identity, shaped (k, *p.shape). Stored as sliding windows over one
    vector of zeros holding a single 1 (k + size - 1 numbers each, not k x size)."""
    k = sum(p._data.size for p in params)
    seeds, offset = [], 0
    for p in params:
        size = p._data.size
        line = np.zeros(k + size - 1, dtype=p.dtype)
        line[k - 1 - offset] = 1
        rows = sliding_window_view(line, size)[::-1]     # row d is line[k-1-d:][:size]: its 1 at d - offset
        seeds.append(rows.reshape((k,) + p.shape))
        offset += size
    return seeds


def _constant(tensor: Tensor) -> Tensor:
    """The state's value without history or tangent: the next step starts from it."""
    return owned(tensor._data)


def _tangent(run: Seed, tensor: Tensor, k: int) -> np.ndarray:
    """The tensor's tangent in `run` (k directions), zeros when it has none."""
    tangent = run.tangent(tensor)
    return np.zeros((k,) + tensor.shape, tensor.dtype) if tangent is None else tangent


class Sensitivities:
    """RTRL's carried state: the state's value and P_t = dh_t/dtheta, one array (k, *h.shape) per
    state tensor (none yet: P_0 = 0, the initial state is a constant)."""

    def __init__(self, step: Callable, state: Any, loss_fn: Callable, params: list[Tensor]) -> None:
        self.step, self.loss_fn, self.params = step, loss_fn, params
        self.state = map_state(_constant, state)
        self.seeds = identity_directions(params)
        self.k = sum(p._data.size for p in params)
        self.sensitivities = []

    def advance(self, x: Any, target: Any, t: int) -> tuple[float | None, np.ndarray | None]:
        """One step (step t), forward mode with the |theta| directions: P_t = df/dh P_(t-1) + df/dtheta for the
        new state, and (l_t, dl_t/dtheta) when the step has a target."""
        previous = list(state_tensors(self.state))[:len(self.sensitivities)]
        with no_grad(), Seed(self.params + previous, self.seeds + self.sensitivities) as run:
            output, state = checked_step(self.step(x, self.state), t, "rtrl")
            loss = None if target is None else checked_loss(self.loss_fn(output, target), t, "rtrl")
        self.sensitivities = [_tangent(run, h, self.k) for h in state_tensors(state)]
        self.state = map_state(_constant, state)
        if loss is None:
            return None, None
        return loss.item(), _tangent(run, loss, self.k).reshape(self.k)


class RankOne:
    """UORO's carried state: the state's value and P_t ~ s~ theta~^T, s~ one array per state tensor
    (none yet: P_0 = 0), theta~ one vector of |theta| numbers.

    Each step, with random signs nu (E[nu nu^T] = I) and any scalars rho0, rho1 > 0,

        s~ <- rho0 (df/dh s~) + rho1 nu,     theta~ <- theta~ / rho0 + (nu^T df/dtheta) / rho1,

    and E[s~ theta~^T] = df/dh P_(t-1) + df/dtheta = P_t: unbiased. df/dh s~ is one forward-mode
    direction, nu^T df/dtheta one reverse-mode pass over this step's tape. rho0 and rho1 balance the
    two factors' norms, which keeps the variance down (the paper's choice).
    """

    EPS = 1e-7

    def __init__(self, step: Callable, state: Any, loss_fn: Callable, params: list[Tensor],
                 rng: np.random.Generator) -> None:
        self.step, self.loss_fn, self.params, self.rng = step, loss_fn, params, rng
        self.state = map_state(_constant, state)
        self.state_direction = []
        size, dtype = sum(p._data.size for p in params), np.result_type(*[p.dtype for p in params])
        self.param_direction = np.zeros(size, dtype)

    def advance(self, x: Any, target: Any, t: int) -> tuple[float | None, np.ndarray | None]:
        """One step (step t): the estimate (dl_t/dh_(t-1) s~) theta~ + dl_t/dtheta (direct) when the step has a
        target, then s~ and theta~ moved on to step t."""
        previous = list(state_tensors(self.state))[:len(self.state_direction)]
        with Seed(previous, [s[None] for s in self.state_direction]) as run:     # and the step's tape
            output, state = checked_step(self.step(x, self.state), t, "uoro")
            loss = None if target is None else checked_loss(self.loss_fn(output, target), t, "uoro")
        new = list(state_tensors(state))
        along = [_tangent(run, h, 1)[0] for h in new]                              # df/dh s~
        nu = [self.rng.choice(np.array([-1.0, 1.0], h.dtype), size=h.shape) for h in new]
        estimate = None
        if loss is not None:
            through_state = _tangent(run, loss, 1).item()                          # dl_t/dh_(t-1) s~
            estimate = through_state * self.param_direction + _param_gradient(self.params, [(loss, 1.0)])
        nu_theta = _param_gradient(self.params, list(zip(new, nu)))                # nu^T df/dtheta
        rho0 = math.sqrt((_norm([self.param_direction]) + self.EPS) / (_norm(along) + self.EPS))
        rho1 = math.sqrt((_norm([nu_theta]) + self.EPS) / (_norm(nu) + self.EPS))
        self.state_direction = [rho0 * a + rho1 * v for a, v in zip(along, nu)]
        self.param_direction = self.param_direction / rho0 + nu_theta / rho1
        self.state = map_state(_constant, state)
        return (None, None) if loss is None else (loss.item(), estimate)


def _norm(arrays: list[np.ndarray]) -> float:
    return math.sqrt(sum(float(np.vdot(a, a)) for a in arrays))


def _param_gradient(params: list[Tensor], outputs: list[tuple[Tensor, Any]]) -> np.ndarray:
    """d(sum_i <c_i, y_i>)/dtheta, flattened, for pairs (y_i, c_i) of this step's outputs and
    cotangents, by reverse mode over the step's tape (kept for the step's next pass); the leaves'
    `.grad` are left as they were (the runner adds gradients in at updates)."""
    return np.concatenate([g.ravel() for g in reverse_gradients(outputs, params, retain_graph=True)])


def _online(learner: Sensitivities | RankOne, inputs: Sequence, targets: Sequence, params: list[Tensor],
            n: int, k1: int, optimizer: Any, on_update: Callable | None, reduction: str) -> TBPTTResult:
    """The update schedule `tbptt` keeps (u = k1, 2 k1, ..., n), with each loss's gradient known
    when the loss is: at an update, the gradients since the previous one are summed (or averaged)
    into the parameters' `.grad`, then `on_update(u, L_u)`, `optimizer.step()`, `optimizer.zero_grad()`."""
    result = TBPTTResult(state=None)
    losses, gradient = [], None
    for t in range(1, n + 1):
        with at_step(t):
            loss, loss_gradient = learner.advance(inputs[t - 1], targets[t - 1], t)
        if loss is not None:
            losses.append(loss)
            gradient = loss_gradient if gradient is None else gradient + loss_gradient
        if not is_update(t, n, k1):
            continue
        loss_value = 0.0
        if losses:
            count = 1 if reduction == "sum" else len(losses)
            loss_value = sum(losses) / count
            _add_into_grads(params, gradient / count)
        losses, gradient = [], None
        finish_update(result, t, loss_value, on_update, optimizer)
    result.state = learner.state
    return result


def _add_into_grads(params: list[Tensor], flat: np.ndarray) -> None:
    """Split a flat gradient (the parameters' entries in order) and add each part into its `.grad`."""
    offset = 0
    for p in params:
        part = flat[offset:offset + p._data.size].reshape(p.shape)
        p.grad = part if p.grad is None else p.grad + part
        offset += p._data.size
