"""Review round 23: every walk of a graph or of a deep structure is iterative, and training through
time holds no more memory at step 20,000 than at step 2,000.

Already tested elsewhere, and not repeated here: a plain `backward()` through 100,000 ops
(test_tensor_api), full BPTT and TBPTT(20, 40) over 100,000 steps (test_bptt,
test_review_round_20_bptt), a 10,000-step RNN drawing (test_viz), tbptt's traced memory and the
other runners' live node counts (test_review_round_20_bptt), tbptt_blocks' peak (test_bptt_blocks).

Here: the other public paths through a graph 100,000 ops deep (`backward(inputs=...)`,
`autograd.grad`, a second pass after `retain_graph`, anomaly mode, tensor hooks, reverse- and
forward-mode transforms, gradcheck, a custom Function), dropping a deep graph, copies and reprs,
drawings, deep states and trees (two defects, fixed: `bptt.truncate` and the func transforms
recursed into nested tuples and lists), and the memory of the online runners and of a user's
loop that detaches its state. Every test runs at Python's default recursion limit (1,000).
Expected values come from numpy loops written out by hand.
"""

import copy
import gc
import sys
import tracemalloc
import weakref
from collections import namedtuple

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.bptt.truncate import state_tensors
from test_bptt import stepping_blocks

F64 = np.float64
DEPTH = 100_000                 # ops: a chain step is three (mul, add, tanh)
STEPS = DEPTH // 3
W = np.array([[0.9, -0.5, 1.1], [0.3, 0.7, -0.8]])
X = np.array([[0.2, 0.1, -0.3], [0.5, -0.4, 0.05]])


@pytest.fixture(autouse=True)
def default_recursion_limit():
    """Python's default limit, whatever the test runner set: a walk that recursed would fail here."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000)
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def leaf(values):
    return mg.tensor(np.array(values, dtype=F64), requires_grad=True)


def chain(w, x, steps=STEPS, each=None):
    """h_t = tanh(h_(t-1) * w + x), h_0 = 0: 3 ops a step. `each(h)` sees every state."""
    h = mg.tensor(np.zeros(np.shape(x)), dtype=F64)
    for _ in range(steps):
        h = (h * w + x).tanh()
        if each is not None:
            each(h)
    return h


def numpy_states(w, x, steps=STEPS):
    hs = [np.zeros(np.shape(x))]
    for _ in range(steps):
        hs.append(np.tanh(hs[-1] * w + x))
    return hs


def numpy_reverse(w, hs, seed):
    """dL/dw, dL/dx and dL/dh_t for every t, given dL/dh_T = seed: the reverse loop by hand."""
    grad_h, grad_w, grad_x = seed, np.zeros_like(seed), np.zeros_like(seed)
    grads_h = [None] * len(hs)
    for t in range(len(hs) - 1, 0, -1):
        grads_h[t] = grad_h
        grad_pre = grad_h * (1 - hs[t] ** 2)
        grad_w, grad_x, grad_h = grad_w + grad_pre * hs[t - 1], grad_x + grad_pre, grad_pre * w
    return grad_w, grad_x, grads_h


def numpy_tangent(w, hs):
    """d h_T / d x (elementwise: the Jacobian's diagonal) by forward mode by hand:
    d_t = (1 - h_t^2)(w d_(t-1) + 1), d_0 = 0."""
    d = np.zeros_like(hs[0])
    for t in range(1, len(hs)):
        d = (1 - hs[t] ** 2) * (w * d + 1)
    return d


# ---- reverse passes other than a plain backward() --------------------------------------------

def test_backward_with_inputs_walks_100_000_ops_and_fills_only_the_inputs():
    w, x = leaf(W), leaf(X)
    chain(w, x).sum().backward(inputs=[w])
    grad_w, _, _ = numpy_reverse(W, numpy_states(W, X), np.ones((2, 3)))
    np.testing.assert_allclose(w.grad, grad_w, rtol=1e-10, atol=1e-12)
    assert x.grad is None


def test_autograd_grad_of_two_outputs_of_a_100_000_op_chain_is_the_sum_of_their_gradients():
    """grad([sum(h), sum(2 h)], [w, x]) = 3 x the gradient of sum(h); with retain_graph the graph
    takes a second call, which gives the same; no .grad changes."""
    w, x = leaf(W), leaf(X)
    h = chain(w, x)
    first = mg.autograd.grad([h.sum(), (h * 2).sum()], [w, x], retain_graph=True)
    second = mg.autograd.grad(h.sum(), [w, x])
    grad_w, grad_x, _ = numpy_reverse(W, numpy_states(W, X), np.ones((2, 3)))
    np.testing.assert_allclose(first[0].data, 3 * grad_w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(first[1].data, 3 * grad_x, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(second[0].data, grad_w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(second[1].data, grad_x, rtol=1e-10, atol=1e-12)
    assert w.grad is None and x.grad is None


def test_a_second_backward_through_a_retained_100_000_op_graph_doubles_the_leaf_gradient():
    w, x = leaf(W), leaf(X)
    loss = chain(w, x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    grad_w, _, _ = numpy_reverse(W, numpy_states(W, X), np.ones((2, 3)))
    np.testing.assert_allclose(w.grad, 2 * grad_w, rtol=1e-10, atol=1e-12)
    with pytest.raises(RuntimeError, match="already been freed"):
        loss.backward()


def test_backward_inside_detect_anomaly_walks_100_000_ops():
    w, x = leaf(W), leaf(X)
    with mg.detect_anomaly():
        chain(w, x).sum().backward()
    _, grad_x, _ = numpy_reverse(W, numpy_states(W, X), np.ones((2, 3)))
    np.testing.assert_allclose(x.grad, grad_x, rtol=1e-10, atol=1e-12)


def test_hooks_and_retain_grad_on_states_all_along_a_100_000_op_chain_see_dl_dh_t():
    """Every 10th state of 33,333 hooked (and the first two and last two): each hook runs once,
    with dL/dh_t, and .grad of each such state is it (a gradient that shrinks through time, as
    the numpy loop's). (Every 10th, not every state: 33,333 hooks take 4 s, and a hook is a hook.)"""
    w, x = leaf(W), leaf(X)
    watched = {1, 2, STEPS - 1, STEPS} | set(range(10, STEPS, 10))
    states, seen, t = {}, {}, [0]

    def hooked(h):
        t[0] += 1
        if t[0] in watched:
            h.retain_grad()
            h.register_hook(lambda g, step=t[0]: seen.__setitem__(step, np.array(g.data)))
            states[t[0]] = h

    chain(w, x, each=hooked).sum().backward()
    _, _, grads_h = numpy_reverse(W, numpy_states(W, X), np.ones((2, 3)))
    assert seen.keys() == watched
    for step in (1, 2, 10, 20, STEPS // 2 // 10 * 10, STEPS - 1, STEPS):
        np.testing.assert_allclose(seen[step], grads_h[step], rtol=1e-9, atol=1e-300)
        np.testing.assert_allclose(states[step].grad, grads_h[step], rtol=1e-9, atol=1e-300)


def test_a_custom_function_applied_15_000_times_backpropagates():
    """y = 0.999 x as an autograd.Function, 15,000 deep (a Function is slower per op than a
    built-in, so 15,000 rather than 100,000 keeps the test quick): dy/dx = 0.999^15000."""
    class Shrink(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 0.999

        @staticmethod
        def backward(ctx, g):
            return g * 0.999

    x = leaf(np.ones((2, 3)))
    y = x
    for _ in range(15_000):
        y = Shrink.apply(y)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.full((2, 3), 0.999 ** 15_000), rtol=1e-9)


# ---- transforms through a deep function --------------------------------------------------------

def deep_function(x):
    """f(x) = h_T of the chain with input x and the constant weights W[0, :2]: elementwise in x."""
    return chain(W[0, :2], x)


def expected_diagonal():
    x = X[0, :2]
    return numpy_tangent(W[0, :2], numpy_states(W[0, :2], x))


def test_jacobian_by_reverse_mode_of_a_100_000_op_function_is_the_forward_tangent_by_hand():
    x = mg.tensor(X[0, :2], dtype=F64)
    jacobian = mg.jacobian(deep_function, x, mode="rev")
    np.testing.assert_allclose(jacobian, np.diag(expected_diagonal()), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("transform", ["mg.vjp", "func.vjp", "func.jacrev"])
def test_reverse_transforms_of_a_100_000_op_function(transform):
    x = mg.tensor(X[0, :2], dtype=F64)
    if transform == "mg.vjp":
        got = mg.vjp(deep_function, x, np.ones(2))[1][0]
    elif transform == "func.vjp":
        _, vjp_fn = mg.func.vjp(deep_function, x)
        got = vjp_fn(mg.ones(2, dtype=F64))[0].data
    else:
        got = np.diag(mg.func.jacrev(deep_function)(x).data)
    np.testing.assert_allclose(got, expected_diagonal(), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("transform", ["mg.jvp", "func.jvp", "jacobian fwd"])
def test_forward_mode_through_100_000_ops(transform):
    x = mg.tensor(X[0, :2], dtype=F64)
    if transform == "mg.jvp":
        got = mg.jvp(deep_function, x, np.ones(2))[1]
    elif transform == "func.jvp":
        got = mg.func.jvp(deep_function, (x,), (mg.ones(2, dtype=F64),))[1].data
    else:
        got = np.diag(mg.jacobian(deep_function, x, mode="fwd"))
    np.testing.assert_allclose(got, expected_diagonal(), rtol=1e-9, atol=1e-15)


def test_gradcheck_passes_on_a_10_002_op_function():
    """gradcheck runs the function 2 n + 1 times (central differences) and a backward pass per
    output: 10,002 ops deep keeps it quick."""
    x = leaf(X)
    assert mg.gradcheck(lambda x: chain(W, x, steps=3_334), (x,))


# ---- dropping a deep graph -----------------------------------------------------------------------

@pytest.mark.parametrize("how", ["never backpropagated", "retain_graph", "hooked", "hooked, retain_graph"])
def test_dropping_the_last_reference_to_a_100_000_op_graph_frees_it_at_once(how):
    """The graph is freed by reference counting alone (no cycle to wait for the collector; the
    deallocation of 100,000 nested nodes does not overflow the C stack): the arrays its tanh
    nodes kept (each state's own array) die with the root. Hooks on the first and the last state
    make no cycle either (fixed: a hooked node's rules held the node, node -> rules -> node, so
    the whole graph behind a hooked tensor waited for the collector)."""
    def each(h):
        if not kept and how.startswith("hooked"):
            h.register_hook(lambda g: g * 2)
        if len(kept) < 50:
            kept.append(weakref.ref(h._data))

    gc.collect()
    gc.disable()
    try:
        w, x = leaf(W), leaf(X)
        kept = []
        h = chain(w, x, each=each)
        if how.startswith("hooked"):
            h.register_hook(lambda g: g * 2)
        if how.endswith("retain_graph"):
            h.sum().backward(retain_graph=True)
        assert all(ref() is not None for ref in kept)       # the graph holds them
        del h
        assert all(ref() is None for ref in kept)
    finally:
        gc.enable()


# ---- copies, printing -----------------------------------------------------------------------------

def test_copies_of_a_100_000_op_result_and_of_a_module_after_a_long_forward():
    """copy.copy shares the node; copy.deepcopy refuses a result with a graph behind it (it does
    not walk it); a module deep-copied after a 10,000-step forward copies its parameters only."""
    w, x = leaf(W), leaf(X)
    h = chain(w, x)
    shallow = copy.copy(h)
    assert shallow._node is h._node
    with pytest.raises(RuntimeError, match="with a graph behind it"):
        copy.deepcopy(h)
    np.testing.assert_array_equal(copy.deepcopy(h.detach()).data, h.data)
    rnn = mg.nn.RNN(2, 3)
    out, _ = rnn(mg.randn(10_000, 1, 2))
    twin = copy.deepcopy(rnn)
    for (name, p), (_, q) in zip(rnn.named_parameters(), twin.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
        assert p is not q


def test_repr_of_a_100_000_op_result_names_its_op_and_shows_the_numpy_values():
    h = chain(leaf(W), leaf(X))
    text = repr(h)
    assert "op=tanh" in text and "dtype=float64" in text
    assert f"{numpy_states(W, X)[-1][0, 0]:.4f}" in text


# ---- drawings -----------------------------------------------------------------------------------

@pytest.mark.parametrize("view", ["cells", "ops"])
def test_a_100_000_op_stepped_chain_draws_in_both_views(view):
    """33,334 stepped states (each inside viz.step(t)): both views draw the first and last steps
    and say how many were left out (max_steps = 12). Drawing every step is another matter:
    10,000 ops with max_steps=None take about a second, so that is a benchmark's business."""
    w, x = leaf(W), leaf(X)
    h = mg.tensor(np.zeros((2, 3)), dtype=F64)
    for t in range(1, STEPS + 1):
        with mg.viz.step(t):
            h = (h * w + x).tanh()
    source = mg.draw(h.sum(), {"w": w, "x": x}, view=view).source
    assert f"{STEPS - 12} steps left out" in source
    assert f"t = {STEPS}" in source and "t = 1" in source


# ---- deep states and trees (fixed: both recursed) ------------------------------------------------

def test_truncate_maps_a_state_nested_100_000_tuples_deep():
    """bptt.truncate (map_state) recursed into nested tuples: 1,000 deep raised RecursionError.
    Now each tensor gets a cut node with its value, in order, and the nesting is kept."""
    a, b = leaf([1.0, 2.0]) * 2, leaf([3.0]) * 3
    state = (a, b)
    for _ in range(DEPTH):
        state = (state,)
    cut = mg.bptt.truncate(state)
    for _ in range(DEPTH):
        assert type(cut) is tuple and len(cut) == 1
        cut = cut[0]
    np.testing.assert_array_equal(cut[0].data, [2.0, 4.0])
    np.testing.assert_array_equal(cut[1].data, [9.0])
    assert cut[0]._node.kind == "cut" and not cut[0].requires_grad
    assert cut[0]._node.seq < cut[1]._node.seq      # mapped in order


def test_truncate_keeps_namedtuples_lists_none_and_order():
    Pair = namedtuple("Pair", "h c")
    state = [Pair(leaf([1.0]) * 1, (leaf([2.0]) * 1, None, [])), (), leaf([3.0]) * 1]
    cut = mg.bptt.truncate(state)
    assert type(cut) is list and type(cut[0]) is Pair and cut[0].c[1] is None and cut[0].c[2] == [] and cut[1] == ()
    assert [t.item() for t in state_tensors(cut)] == [1.0, 2.0, 3.0]
    with pytest.raises(TypeError, match="a state is a Tensor or a tuple of Tensors, got str"):
        mg.bptt.truncate((leaf([1.0]), "h"))


def nest(x, depth):
    for _ in range(depth):
        x = [x]
    return x


def innermost(tree):
    while isinstance(tree, (list, tuple)):
        tree = tree[0]
    return tree


def test_func_grad_of_a_function_of_a_list_nested_100_000_deep():
    """func's trees (_leaves, _rebuild, _structure) recursed: 1,000 deep raised RecursionError.
    grad of sum(x^2) is 2 x, nested as the argument."""
    x = mg.tensor([1.0, 2.0, 3.0], dtype=F64)
    grads = mg.func.grad(lambda tree: (innermost(tree) ** 2).sum())(nest(x, DEPTH))
    assert innermost(grads) is not None and len(grads) == 1
    np.testing.assert_array_equal(innermost(grads).data, [2.0, 4.0, 6.0])


def test_func_vjp_jvp_and_jacrev_take_trees_nested_10_000_deep():
    """f(tree) = 3 x nested as the input: J = 3 I. A cotangent nested one level deeper is refused
    with the error that names both nestings (each cut short)."""
    depth = 10_000
    x = mg.tensor([1.0, 2.0, 3.0], dtype=F64)

    def f(tree):
        return nest(innermost(tree) * 3.0, depth)

    _, vjp_fn = mg.func.vjp(f, nest(x, depth))
    np.testing.assert_array_equal(innermost(vjp_fn(nest(mg.ones(3, dtype=F64), depth))).data, [3.0] * 3)
    with pytest.raises(ValueError, match=r"vjp_fn takes cotangents nested as f's output \(\[\[\[.*\.\.\."):
        vjp_fn(nest(mg.ones(3, dtype=F64), depth + 1))
    _, tangent = mg.func.jvp(f, (nest(x, depth),), (nest(mg.ones(3, dtype=F64), depth),))
    np.testing.assert_array_equal(innermost(tangent).data, [3.0] * 3)
    np.testing.assert_array_equal(innermost(mg.func.jacrev(f)(nest(x, depth))).data, 3 * np.eye(3))


def test_func_tree_errors_still_name_the_nesting():
    x, v = mg.tensor([1.0], dtype=F64), mg.tensor([1.0], dtype=F64)
    with pytest.raises(ValueError, match=r"tangents must be nested as primals \(\(\[\*, \*\],\)\), got \(\*,\)"):
        mg.func.jvp(lambda pair: pair[0] * pair[1], ([x, x],), ((v),))


# ---- memory through time ----------------------------------------------------------------------------

def tiny_step(w):
    def step(x, h):
        h = (w * h + x).tanh()
        return h, h
    return step


@pytest.mark.parametrize("runner, n", [("rtrl", 3_000), ("uoro", 1_200)])
def test_online_runners_traced_memory_does_not_grow_beyond_their_result_lists(runner, n):
    """rtrl and uoro (k1 = 5) on a one-number RNN: the traced memory at the update near the end
    exceeds that at the update near the start by no more than the result's lists take for the
    updates in between (an int, a float and two list slots: under 100 bytes an update), plus
    16 KiB. A tape or a list of P_t kept per step would add hundreds of bytes a step.
    (Review: n = 2,000 and 20,000 held too, 296 KB both current, growth = the 3,600 updates'
    list entries; too slow under tracemalloc for a test, uoro 30 s.)"""
    w = mg.tensor(0.5, dtype=F64, requires_grad=True)
    xs, ys = np.full(n, 0.1), [0.0] * n
    first, last = 100, n - 100
    traced = {}

    def on_update(u, loss):
        w.grad = None
        if u in (first, last):
            gc.collect()
            traced[u] = tracemalloc.get_traced_memory()[0]

    gc.collect()
    tracemalloc.start()
    try:
        result = getattr(mg.bptt, runner)(tiny_step(w), mg.tensor(0.0, dtype=F64), xs, ys, lambda o, _: o, [w], 5,
                                          on_update=on_update)
    finally:
        tracemalloc.stop()
    between = sum(1 for u in result.updates if first < u <= last)
    assert between == (last - first) // 5
    assert traced[last] - traced[first] <= 100 * between + 16 * 1024, (traced, between)
    assert all(np.isfinite(result.losses))


@pytest.mark.parametrize("cut", ["detach", "truncate"])
@pytest.mark.parametrize("backward", [True, False], ids=["with backward", "no backward"])
def test_a_loop_that_detaches_its_state_every_10_steps_keeps_no_old_graph(cut, backward):
    """h_t = tanh(w h_(t-1) + 0.1), the state detached (or truncated) every 10 steps, 20,000
    steps, with or without a backward pass per window: the arrays the old windows' tanh nodes
    kept are gone (reference counting alone, the collector off) but the current window's, and
    the state follows the numpy loop."""
    gc.collect()
    gc.disable()
    try:
        w = mg.tensor(0.5, dtype=F64, requires_grad=True)
        h, kept, expected = mg.tensor(0.0, dtype=F64), [], 0.0
        for t in range(1, 20_001):
            h = (w * h + 0.1).tanh()
            expected = np.tanh(0.5 * expected + 0.1)
            kept.append(weakref.ref(h._data))
            if t % 10 == 0:
                if backward:
                    h.backward()
                    w.grad = None
                h = h.detach() if cut == "detach" else mg.bptt.truncate(h)
        h = (w * h + 0.1).tanh()
        alive = [t for t, ref in enumerate(kept, 1) if ref() is not None]
        assert alive == [20_000], alive[:5]     # (only the detached state's array: it is the last tanh's)
        assert h.item() == pytest.approx(np.tanh(0.5 * expected + 0.1), rel=1e-12)
    finally:
        gc.enable()


# ---- modules ---------------------------------------------------------------------------------------

def test_a_sequential_of_10_000_linear_layers_backpropagates():
    """Layer k: y = x A + b with A = 0.999 I, b = 0: y = 0.999^n x, so for L = sum(y),
    dL/dW_1 = 0.999^(n-1) (each row of the ones) times x, and dL/db_n = 1 per sample."""
    n = 10_000
    layers = []
    for _ in range(n):
        layer = mg.nn.Linear(3, 3).double()
        layer.weight.data = np.eye(3) * 0.999
        layer.bias.data = np.zeros(3)
        layers.append(layer)
    x = mg.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], dtype=F64)
    y = mg.nn.Sequential(*layers)(x)
    np.testing.assert_allclose(y.data, 0.999 ** n * x.data, rtol=1e-9)
    y.sum().backward()
    np.testing.assert_allclose(layers[0].weight.grad, 0.999 ** (n - 1) * np.ones((3, 1)) * x.data.sum(0), rtol=1e-9)
    np.testing.assert_allclose(layers[-1].bias.grad, [2.0, 2.0, 2.0], rtol=1e-12)


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks", "rtrl"])
def test_the_runners_carry_a_state_nested_3_000_tuples_deep(runner):
    """A step that takes and returns its state nested 3,000 tuples deep (the runners copy and cut
    states with map_state, which recursed). h_t = tanh(w h_(t-1) + 0.1), l_t = h_t, n = 20, k1 = 5:
    tbptt(5, 5) sums over each window the derivative of h_t through the window only, rtrl through
    the whole past (TBPTT(5, n)); both written out in numpy by forward mode,
    dh_t/dw = (1 - h_t^2)(h_(t-1) + w dh_(t-1)/dw)."""
    depth, n, k, w_value = 3_000, 20, 5, 0.5
    w = mg.tensor(w_value, dtype=F64, requires_grad=True)

    def nested(h):
        for _ in range(depth):
            h = (h,)
        return h

    def step(x, state):
        h = (w * innermost(state) + x).tanh()
        return h, nested(h)

    args = (nested(mg.tensor(0.0, dtype=F64)), np.full(n, 0.1), [0.0] * n, lambda output, _: output)
    if runner == "tbptt":
        result = mg.bptt.tbptt(step, *args, k, k)
    elif runner == "tbptt_blocks":
        result = mg.bptt.tbptt_blocks(stepping_blocks(step), *args, k, k)
    else:
        result = mg.bptt.rtrl(step, *args, [w], k)
    expected, h, dh = 0.0, 0.0, 0.0
    for t in range(1, n + 1):
        if runner != "rtrl" and (t - 1) % k == 0:
            dh = 0.0                                # the window starts at a cut
        h_next = np.tanh(w_value * h + 0.1)
        dh = (1 - h_next ** 2) * (h + w_value * dh)
        h, expected = h_next, expected + dh
    assert result.updates == [5, 10, 15, 20]
    assert w.grad == pytest.approx(expected, rel=1e-12)
    assert innermost(result.state).item() == pytest.approx(h, rel=1e-12)
