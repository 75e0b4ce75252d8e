"""Real-time recurrent learning (RTRL) and its rank-one estimate (UORO): online training, forward in time.

BPTT is reverse mode through time: it keeps the tape of every step and walks
it back. RTRL (Williams & Zipser, 1989) is forward mode through time: beside
the state h_t = f(h_(t-1), x_t; theta) it carries the state's sensitivity to
every parameter,

    P_t = dh_t/dtheta = df/dh P_(t-1) + df/dtheta,        P_0 = dh_0/dtheta,

so a loss's gradient is known as soon as the loss is:

    dl_t/dtheta = dl_t/dh_t P_t + dl_t/dtheta (its direct part, the readout's).

P_0 is zero for a fixed initial state. A learned one is a parameter too: where
h_0 is a parameter (or a part of a tuple state, an LSTM's (h0, c0)), its block
of P_0 is the identity, and an h_0 computed from parameters before the run
(h0 = tanh(W0)) has its Jacobian there, found by reverse mode over its
recorded history.

Nothing about the past is kept but P_t, and the gradient summed between
updates equals TBPTT(k1, n)'s. One forward-mode pass per step computes it
(`forward.py`): the k axis of the tangents holds |theta| directions, one per
parameter entry. A parameter's tangent is its rows of the identity (along
direction d only entry d moves), the state's tangent is P_(t-1); after the
step, the new state carries P_t and the loss carries dl_t/dtheta.

Beside P_t the run keeps which parameters each state tensor depends on at all
(`reach.py`: the blocks of P_t that are not zero by construction). A parameter
that no loss since the previous update depends on gets no gradient at that
update (its `.grad` stays None), as under tbptt, whose backward pass never
reaches it.

UORO (Tallec & Ollivier, 2018) keeps P_t only as a rank-one product
s~ theta~^T that equals it on average: memory |state| + |theta| instead of
|state| x |theta|, at the price of noise in every gradient.

`on_step(t, influence)`, if given, is shown P_t (or UORO's s~ theta~^T) after
each step, per parameter in the Jacobian layout of `mg.jacobian`: for a state
tensor h, dh_t/dp of shape h.shape + p.shape (`influence`).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..autograd import LEAF, creation_order, grad_enabled, setting
from ..checks import is_int, positive_int
from ..forward import Seed
from ..metadata import at_step
from ..parameter import Parameter
from ..random import default_generator
from ..tensor import Tensor, owned
from ..transforms import jacobian_blocks, reverse_gradients
from .reach import Reach
from .runner import TBPTTResult, check_run, checked_loss, checked_step, finish_update, is_update
from .truncate import map_state, state_tensors


def rtrl(step: Callable[[Any, Any], tuple[Any, Any]], state: Any, inputs: Sequence, targets: Sequence,
         loss_fn: Callable[[Any, Any], Tensor], params: Mapping[str, Tensor] | Iterable[Tensor], k1: int = 1,
         optimizer: Any = None, on_update: Callable[[int, float], None] | None = None,
         reduction: str = "sum", *, on_step: Callable[[int, Any], None] | None = None) -> TBPTTResult:
    """Train online by RTRL: the exact gradient of TBPTT(k1, n), with no tape of the past.

    `step`, `state`, `inputs`, `targets`, `loss_fn`, `k1`, `optimizer`, `on_update` and
    `reduction` mean what they mean for `tbptt`. `params` (a mapping name -> tensor, an
    iterable of tensors that require grad, or `model.named_parameters()`; a frozen module
    Parameter is skipped, as the optimizers skip it) are the parameters theta whose
    sensitivities are carried; at each update the summed gradient is added into the `.grad`
    of those the update's losses depend on. The initial state may be one of them (a learned
    h0), or computed from them (h0 = tanh(W0)). A tensor the step reads that was computed from
    a parameter outside it (W_eff = W * mask, made once) is refused with a ValueError at the
    first step that reads it: forward mode cannot see that path. Memory: |state| x |theta| per
    sequence in the batch, whatever n; time per step of the order of that times H.

    `on_step(t, influence)`, if given, is called after step t (t = 1..n), before the update at t
    if there is one, with the influence matrix P_t = dh_t/dtheta: for each tensor h of the state
    step t returned, a dict name -> dh_t/dp, an array of shape h.shape + p.shape (the Jacobian
    layout of `mg.jacobian` and PyTorch's: output shape, then input shape), zeros where p does not
    reach h. A state that is one tensor gives the dict itself; a tuple state (an LSTM's (h, c)) a
    tuple of dicts, in the state's order (nested tuples and lists keep their structure, None stays
    None). The names are `params`' keys, `named_parameters()`' names, or "params[i]" (its position
    in the list) for a plain list; a tensor listed twice appears once, under its first name, and a
    frozen Parameter not at all. The arrays are read-only copies (`setflags(write=False)`): keep
    them, later steps do not change them. Without `on_step` nothing is copied. All the blocks of
    a step have one dtype, the result type of those P_t carries: in a run mixing float32 and
    float64, a float32 block is upcast (exactly) and the zeros take that dtype too.
    """
    k1 = positive_int(k1, "k1", "rtrl")
    n = check_run("rtrl", step, state, inputs, targets, loss_fn, optimizer, on_update, reduction,
                  on_step=on_step)
    params, names = parameters("rtrl", params)
    return _online(Sensitivities(step, state, loss_fn, params, names), inputs, targets, params, n, k1,
                   optimizer, on_update, reduction, on_step)


def uoro(step: Callable[[Any, Any], tuple[Any, Any]], state: Any, inputs: Sequence, targets: Sequence,
         loss_fn: Callable[[Any, Any], Tensor], params: Mapping[str, Tensor] | Iterable[Tensor], k1: int = 1,
         optimizer: Any = None, on_update: Callable[[int, float], None] | None = None,
         reduction: str = "sum", rng: np.random.Generator | int | None = None, *,
         on_step: Callable[[int, Any], None] | None = None) -> TBPTTResult:
    """Train online by UORO (Tallec & Ollivier, 2018): `rtrl`'s call, with an unbiased rank-one
    estimate of its gradient (memory of the order of |theta| + |state|). `rng`: a numpy Generator or
    a seed for the random signs (default: the library's generator, `mg.manual_seed`). After each step
    the signs nu of each state tensor h are drawn as `rng.choice([-1.0, 1.0], size=h.shape)`, so a
    Generator subclass whose `choice` hands out chosen signs can enumerate every pattern of them.

    `on_step(t, influence)` is `rtrl`'s, in the same form, holding UORO's estimate of P_t: the
    rank-one product s~ theta~^T the run carries, block (h, p) = s~_h (outer) theta~_p. It is an
    unbiased estimate: its average over runs with different `rng` seeds approaches `rtrl`'s P_t,
    but one draw is noisy. A block that is zero in P_t is zero here only where theta~ is (a
    parameter no step has read); a state tensor no parameter reaches gets noise of mean zero."""
    k1 = positive_int(k1, "k1", "uoro")
    n = check_run("uoro", step, state, inputs, targets, loss_fn, optimizer, on_update, reduction,
                  on_step=on_step)
    params, names = parameters("uoro", params)
    if rng is None:
        rng = default_generator()
    elif is_int(rng) and rng >= 0:
        rng = np.random.default_rng(rng)
    elif not isinstance(rng, np.random.Generator):
        got = repr(rng) if is_int(rng) else type(rng).__name__
        raise TypeError(f"uoro: rng must be a numpy.random.Generator, a seed (an integer >= 0) or None, got {got}")
    return _online(RankOne(step, state, loss_fn, params, names, rng), inputs, targets, params, n, k1,
                   optimizer, on_update, reduction, on_step)


def parameters(where: str, params: Any) -> tuple[list[Tensor], list[str]]:
    """`params` (a mapping name -> tensor, an iterable of tensors, or of (name, tensor) pairs as
    `model.named_parameters()` gives them) as a list, each tensor once
    (tied weights may be listed under two names), and their names; ValueError/TypeError naming
    `where` otherwise.

    A frozen Parameter (`requires_grad_(False)`, still listed by `module.parameters()`) is skipped,
    as the optimizers skip it: a constant here, with no `.grad`. Any other tensor that does not
    require grad is refused: it was named to be trained, and would silently not be."""
    if isinstance(params, Tensor):
        raise TypeError(f"{where}: params must be a mapping name -> tensor or an iterable of tensors, got a "
                        f"single Tensor of shape {params.shape}; wrap it in a list")
    if isinstance(params, Mapping):
        named = list(params.items())
    elif isinstance(params, Iterable) and not isinstance(params, (str, bytes)):
        items = list(params)
        pairs = [isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) for item in items]
        if items and all(pairs):        # model.named_parameters(), as the optimizers take it
            named = items
        elif any(pairs):
            raise ValueError(f"{where}: params[{pairs.index(False)}] has no name: give every tensor with its "
                             "name, as model.named_parameters() does, or none")
        else:
            named = [(f"params[{i}]", p) for i, p in enumerate(items)]
    else:
        raise TypeError(f"{where}: params must be a mapping name -> tensor or an iterable of tensors, "
                        f"got {type(params).__name__}")
    if not named:
        raise ValueError(f"{where}: params is empty; pass the tensors whose gradient to compute")
    unique, names, seen = [], [], set()
    for name, p in named:
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: {name} must be a Tensor, got {type(p).__name__}")
        if isinstance(p, Parameter) and not p.requires_grad:
            continue                        # frozen: as the optimizers, skip it
        if p._node is None:
            raise ValueError(f"{where}: {name} (shape {p.shape}) must be a tensor that requires grad (a "
                             "parameter, a leaf), got one that does not; make it with requires_grad=True")
        if p._node.kind is not LEAF:
            raise ValueError(f"{where}: {name} (shape {p.shape}) must be a tensor that requires grad (a "
                             f"parameter, a leaf), got the result of the op {p._node.op!r}; list the leaves "
                             "it was computed from")
        if id(p) not in seen:
            seen.add(id(p))
            unique.append(p)
            names.append(name)
    return unique, names


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


def recorded_jacobian(tensor: Tensor, params: list[Tensor]) -> np.ndarray:
    """d tensor/d theta for a tensor computed before the run (h0 = tanh(W0)), shaped like a
    sensitivity, (|theta|, *tensor.shape): by reverse mode over its recorded history, one backward
    pass per entry (`mg.jacobian`'s "rev" mode, on a graph the caller recorded). The graph is kept
    and every leaf's `.grad` left as it was."""
    blocks = jacobian_blocks(tensor, params)        # d tensor / d p, of shape tensor.shape + p.shape
    rows = np.concatenate([block.reshape(tensor._data.size, -1) for block in blocks], axis=1)
    return rows.T.reshape((-1,) + tensor.shape)


def _constant(tensor: Tensor) -> Tensor:
    """The state's value without history or tangent: what the run carries to the next step."""
    return owned(tensor._data)


def _fed(tensor: Tensor) -> Tensor:
    """What a step is fed for one state tensor: a clone, a node of the run's own. The clone of the
    caller's initial state keeps its history (the way back to the parameters it was made from);
    that of a carried state (a constant) starts at a fresh leaf. Either way the step's tape shows
    which of its results depend on it, and the step may change it in place, as under tbptt.
    (A state that cannot carry a gradient, an integer counter, is fed as it is.)"""
    if tensor._node is None:
        if tensor.dtype.kind not in "fc":
            return owned(tensor._data)          # (a tensor of its own: the step may count in place)
        tensor = owned(tensor._data, requires_grad=True)
    return tensor.clone()


def step_data(inputs: Sequence, targets: Sequence, t: int) -> tuple[Any, Any]:
    """(x_t, target_t), read once the step's nodes are being numbered: an input (or target) that is
    a tensor with history (an embedding looked up before the run) makes a node when indexed, and
    made before the step it would be a new node of the caller's graph at every step, each of
    them remembered by `Reach` (memory growing with n); made in the step, it is the step's own,
    and the caller's graph behind it is looked up once a run."""
    return inputs[t - 1], targets[t - 1]


def _tangent(run: Seed, tensor: Tensor, k: int) -> np.ndarray:
    """The tensor's tangent in `run` (k directions), zeros when it has none."""
    tangent = run.tangent(tensor)
    return np.zeros((k,) + tensor.shape, tensor.dtype) if tangent is None else tangent


def influence_blocks(state: Any, params: list[Tensor], names: list[str],
                     block: Callable[[int, Tensor, Tensor, int], np.ndarray | None]) -> Any:
    """The influence `on_step` is shown: for each tensor h (number i) of `state`, a dict name ->
    `block(i, h, p, offset)`, dh/dp of shape h.shape + p.shape (p's entries at `offset` in theta),
    zeros where it gives None (no parameter reaches h), made read-only; the dicts in the state's
    structure (one tensor: the dict). Every block has one dtype: the result type of the blocks the
    run carries (a block of another dtype is upcast, exactly), or, when it carries none, of the
    parameters and the floating-point state tensors."""
    tensors = list(state_tensors(state))
    carried = []
    for i, h in enumerate(tensors):
        arrays, offset = [], 0
        for p in params:
            arrays.append(block(i, h, p, offset))
            offset += p._data.size
        carried.append(arrays)
    dtypes = [array.dtype for arrays in carried for array in arrays if array is not None]
    dtype = np.result_type(*dtypes) if dtypes else np.result_type(
        *[p.dtype for p in params], *[h.dtype for h in tensors if h.dtype.kind in "fc"])
    dicts = []
    for h, arrays in zip(tensors, carried):
        blocks = {}
        for name, p, array in zip(names, params, arrays):
            if array is None:
                array = np.zeros(h.shape + p.shape, dtype)
            elif array.dtype != dtype:
                array = array.astype(dtype)
            array.setflags(write=False)
            blocks[name] = array
        dicts.append(blocks)
    each = iter(dicts)
    return map_state(lambda h: next(each), state)


class Sensitivities:
    """RTRL's carried state: the state's value, its reach, and P_t = dh_t/dtheta, one array
    (k, *h.shape) per state tensor (None: zero, a state tensor no parameter reaches).

    P_0 = dh_0/dtheta, per tensor of the initial state h_0:

        0                               when no parameter reaches it (a constant, a fixed h0);
        its rows of the identity        when it is a parameter (the tangent every parameter gets);
        its Jacobian, by reverse mode   when it was computed from parameters (h0 = tanh(W0)).
    """

    def __init__(self, step: Callable, state: Any, loss_fn: Callable, params: list[Tensor],
                 names: list[str]) -> None:
        self.step, self.loss_fn, self.params, self.names = step, loss_fn, params, names
        self.seeds = identity_directions(params)
        self.k = sum(p._data.size for p in params)
        self.reach = Reach(params, names, "rtrl")
        self.state = state                              # step 1 is fed the caller's initial state
        self.reaches = self.reach.of_initial(state)
        self.sensitivities = [self._initial(h, reach) for h, reach in zip(state_tensors(state), self.reaches)]

    def _initial(self, h: Tensor, reach: frozenset[int]) -> np.ndarray | None:
        """P_0 for one tensor of the initial state (see the class)."""
        if not reach:
            return None
        for p, seed in zip(self.params, self.seeds):
            if h is p:
                return seed
        return recorded_jacobian(h, self.params)

    def advance(self, inputs: Sequence, targets: Sequence, t: int) -> tuple[float, np.ndarray, frozenset[int]] | None:
        """One step (step t), forward mode with the |theta| directions: P_t = df/dh P_(t-1) + df/dtheta for the
        new state, and (l_t, dl_t/dtheta, the parameters l_t depends on) when the step has a target."""
        with setting(grad_enabled, True):               # the step's tape tells its results' reach
            fed = map_state(_fed, self.state)
            previous = list(state_tensors(fed))
            fed_nodes = [h._node for h in previous]     # (before the step: h += ... gives h a new node)
            seeded = [(h, P) for h, P in zip(previous, self.sensitivities) if P is not None]
            made_after = next(creation_order)           # the step's nodes are numbered after this
            with Seed(self.params + [h for h, _ in seeded], self.seeds + [P for _, P in seeded]) as run:
                x, target = step_data(inputs, targets, t)
                output, state = checked_step(self.step(x, fed), t, "rtrl")
                loss = None if target is None else checked_loss(self.loss_fn(output, target), t, "rtrl")
                new = list(state_tensors(state))
                # (read in the run: a seeded tensor handed on as it is, the fed state or a parameter
                # such as a learned h0 returned at a reset, has its tangent only while the run lasts)
                self.sensitivities = [run.tangent(h) for h in new]
                loss_gradient = None if loss is None else _tangent(run, loss, self.k).reshape(self.k)
        sources = self.reach.sources(fed_nodes, self.reaches)
        self.reaches = [self.reach.of(h, sources, made_after, t) for h in new]
        self.state = map_state(_constant, state)
        if loss is None:
            return None
        return loss.item(), loss_gradient, self.reach.of(loss, sources, made_after, t)

    def influence(self) -> Any:
        """P_t for `on_step`: each tensor's (k, *h.shape) block of p's rows, moved to the Jacobian
        layout h.shape + p.shape, copied (a copy: the run never changes it); None where P is zero."""
        def block(i: int, h: Tensor, p: Tensor, offset: int) -> np.ndarray | None:
            P = self.sensitivities[i]
            if P is None:
                return None
            rows = P[offset:offset + p._data.size].reshape(p.shape + h.shape)
            return np.moveaxis(rows, tuple(range(p.ndim)), tuple(range(h.ndim, h.ndim + p.ndim))).copy()
        return influence_blocks(self.state, self.params, self.names, block)


class RankOne:
    """UORO's carried state: the state's value, its reach, and P_t ~ s~ theta~^T, s~ one array per
    state tensor (None: zero), theta~ one vector of |theta| numbers.

    Each step, with random signs nu (E[nu nu^T] = I, drawn afresh) and scalars rho0, rho1 > 0,

        s~ <- rho0 (df/dh s~) + rho1 nu,     theta~ <- theta~ / rho0 + (nu^T df/dtheta) / rho1.

    Multiplied out, s~ theta~^T gets df/dh (s~ theta~^T) + nu nu^T df/dtheta and two cross terms
    odd in nu (rho0 does not depend on nu, and rho1 is the same for nu and -nu), which average to
    zero: if E[s~ theta~^T] = P_(t-1) before the step, it is df/dh P_(t-1) + df/dtheta = P_t after.
    df/dh s~ is one forward-mode direction, nu^T df/dtheta one reverse-mode pass over this step's
    tape. rho0 and rho1 balance the two factors' norms, which keeps the variance down (the paper's
    choice).

    The induction needs E[s~_0 theta~_0^T] = P_0 to start. With a learned initial state P_0 is not
    zero (the identity in h0's block), and a rank-one product could meet it only on average,
    adding noise before the first step. Instead step 1 is fed the caller's initial state itself,
    its history included: its reverse passes differentiate through h_0 = h_0(theta) exactly, so
    its "df/dtheta" is df/dh P_0 + df/dtheta = P_1. Read this way step 1 depends on theta alone
    (h_0 is a part of it), the sensitivity before it is 0, and s~_0 theta~_0^T = 0 starts the
    induction exactly. The first loss's gradient is then exact, and the noise starts with step 1's
    signs.
    """

    EPS = 1e-7

    def __init__(self, step: Callable, state: Any, loss_fn: Callable, params: list[Tensor], names: list[str],
                 rng: np.random.Generator) -> None:
        self.step, self.loss_fn, self.params, self.names, self.rng = step, loss_fn, params, names, rng
        self.reach = Reach(params, names, "uoro")
        self.state = state                              # step 1 is fed the caller's initial state
        self.reaches = self.reach.of_initial(state)
        self.state_direction = [None] * len(self.reaches)      # s~_0 = 0
        size = sum(p._data.size for p in params)
        self.param_direction = np.zeros(size, np.result_type(*[p.dtype for p in params]) if params else float)

    def advance(self, inputs: Sequence, targets: Sequence, t: int) -> tuple[float, np.ndarray, frozenset[int]] | None:
        """One step (step t): the estimate (dl_t/dh_(t-1) s~) theta~ + dl_t/dtheta (direct) and the parameters
        l_t depends on, when the step has a target, then s~ and theta~ moved on to step t."""
        with setting(grad_enabled, True):               # the step's tape: reverse passes, reach
            fed = map_state(_fed, self.state)
            previous = list(state_tensors(fed))
            fed_nodes = [h._node for h in previous]     # (before the step: h += ... gives h a new node)
            seeded = [(h, s[None]) for h, s in zip(previous, self.state_direction) if s is not None]
            made_after = next(creation_order)           # the step's nodes are numbered after this
            with Seed([h for h, _ in seeded], [s for _, s in seeded]) as run:
                x, target = step_data(inputs, targets, t)
                output, state = checked_step(self.step(x, fed), t, "uoro")
                loss = None if target is None else checked_loss(self.loss_fn(output, target), t, "uoro")
                new = list(state_tensors(state))                   # (tangents read in the run: see Sensitivities)
                along = [_tangent(run, h, 1)[0] for h in new]                      # df/dh s~
                through_state = None if loss is None else _tangent(run, loss, 1).item()    # dl_t/dh_(t-1) s~
        sources = self.reach.sources(fed_nodes, self.reaches)
        self.reaches = [self.reach.of(h, sources, made_after, t) for h in new]
        nu = [self.rng.choice(np.array([-1.0, 1.0], h.dtype), size=h.shape) for h in new]
        estimate = None
        if loss is not None:
            estimate = through_state * self.param_direction + _param_gradient(self.params, [(loss, 1.0)])
        nu_theta = _param_gradient(self.params, list(zip(new, nu)))                # nu^T df/dtheta
        rho0 = math.sqrt((_norm([self.param_direction]) + self.EPS) / (_norm(along) + self.EPS))
        rho1 = math.sqrt((_norm([nu_theta]) + self.EPS) / (_norm(nu) + self.EPS))
        self.state_direction = [rho0 * a + rho1 * v for a, v in zip(along, nu)]
        self.param_direction = self.param_direction / rho0 + nu_theta / rho1
        self.state = map_state(_constant, state)
        if loss is None:
            return None
        return loss.item(), estimate, self.reach.of(loss, sources, made_after, t)

    def influence(self) -> Any:
        """The estimate s~ theta~^T of P_t for `on_step`: block (h, p) = s~_h (outer) theta~_p (None
        where s~_h is zero)."""
        def block(i: int, h: Tensor, p: Tensor, offset: int) -> np.ndarray | None:
            s = self.state_direction[i]
            if s is None:
                return None
            return np.multiply.outer(s, self.param_direction[offset:offset + p._data.size].reshape(p.shape))
        return influence_blocks(self.state, self.params, self.names, block)


def _norm(arrays: list[np.ndarray]) -> float:
    return math.sqrt(sum(float(np.vdot(a, a)) for a in arrays))


def _param_gradient(params: list[Tensor], outputs: list[tuple[Tensor, Any]]) -> np.ndarray:
    """d(sum_i <c_i, y_i>)/dtheta, flattened, for pairs (y_i, c_i) of this step's outputs and
    cotangents, by reverse mode over the step's tape (kept for the step's next pass); the leaves'
    `.grad` are left as they were (the runner adds gradients in at updates)."""
    if not params:
        return np.zeros(0)
    return np.concatenate([g.ravel() for g in reverse_gradients(outputs, params, retain_graph=True)])


def _online(learner: Sensitivities | RankOne, inputs: Sequence, targets: Sequence, params: list[Tensor],
            n: int, k1: int, optimizer: Any, on_update: Callable | None, reduction: str,
            on_step: Callable | None) -> TBPTTResult:
    """The update schedule `tbptt` keeps (u = k1, 2 k1, ..., n), with each loss's gradient known
    when the loss is: at an update, the gradients since the previous one are summed (or averaged)
    into the `.grad` of the parameters those losses depend on, then `on_update(u, L_u)`,
    `optimizer.step()`, `optimizer.zero_grad()`. Between updates the run keeps running sums (the
    losses', their count, the gradient's), never a list: memory does not grow with k1. After each
    step, before its update, `on_step(t, influence)` (the influence made only when it is given)."""
    result = TBPTTResult(state=None)
    total, count, gradient, reached = 0.0, 0, None, frozenset()     # since the previous update
    for t in range(1, n + 1):
        with at_step(t):
            loss = learner.advance(inputs, targets, t)
        if on_step is not None:
            on_step(t, learner.influence())
        if loss is not None:
            value, loss_gradient, reaches = loss
            total, count, reached = total + value, count + 1, reached | reaches
            gradient = loss_gradient if gradient is None else gradient + loss_gradient
        if not is_update(t, n, k1):
            continue
        loss_value = 0.0
        if count:
            divisor = 1 if reduction == "sum" else count
            loss_value = total / divisor
            _add_into_grads(params, gradient / divisor, reached)
        total, count, gradient, reached = 0.0, 0, None, frozenset()
        finish_update(result, t, loss_value, on_update, optimizer)
    result.state = learner.state
    return result


def _add_into_grads(params: list[Tensor], flat: np.ndarray, reached: frozenset[int]) -> None:
    """Split a flat gradient (the parameters' entries in order) and add each part into its `.grad`,
    for the parameters the update's losses reached (the others' `.grad` stays as it was)."""
    offset = 0
    for i, p in enumerate(params):
        if i in reached:
            part = flat[offset:offset + p._data.size].reshape(p.shape)
            p.grad = part if p.grad is None else p.grad + part
        offset += p._data.size
