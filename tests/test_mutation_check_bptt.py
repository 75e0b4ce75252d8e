"""Tests written from a mutation check of the truncated-BPTT package (microgradseq/bptt/: runner.py,
truncate.py, blocks.py, ownership.py, reach.py, rtrl.py): each pins a behaviour that a hand-made
wrong implementation changed without any other test noticing. Expected values come from closed
forms, from the definitions in docs/tbptt.md and docs/bptt.md written out in numpy, or from the
library's documented errors, never from the library's own output."""

import gc
import weakref
from collections.abc import Mapping

import numpy as np
import pytest

import microgradseq as mg


def scalar_problem(n=6):
    """A one-weight linear RNN h_t = w h_(t-1) + x_t with loss l_t = h_t: every gradient is a polynomial
    in w, written out by hand in the tests below."""
    w = mg.tensor(np.array(0.5), requires_grad=True)
    xs = [mg.tensor(np.array(float(t))) for t in range(1, n + 1)]

    def step(x, h):
        h = h * w + x
        return h, h
    return w, step, xs


def total(output, target):
    return output.sum()


# ---- argument checks -------------------------------------------------------------------------------

@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks", "rtrl", "uoro"])
def test_an_optimizer_without_zero_grad_is_refused_before_any_step(runner):
    """check_run: an optimizer needs step() and zero_grad() (the runner calls both after every update);
    one with step() alone is a TypeError naming the runner, before any step runs."""
    w, step, xs = scalar_problem(3)
    calls = []

    class StepOnly:
        def step(self):
            calls.append("step")

    def counting_step(x, h):
        calls.append("model")
        return step(x, h)

    def step_block(xs_, h):
        calls.append("model")
        outs = []
        for x in xs_:
            out, h = step(x, h)
            outs.append(out)
        return outs, h

    h0 = mg.tensor(np.array(0.0))
    targets = [0.0] * 3
    with pytest.raises(TypeError, match=rf"{runner}: optimizer must have step\(\) and zero_grad\(\)"):
        if runner == "tbptt":
            mg.bptt.tbptt(counting_step, h0, xs, targets, total, 1, 1, optimizer=StepOnly())
        elif runner == "tbptt_blocks":
            mg.bptt.tbptt_blocks(step_block, h0, xs, targets, total, 1, 1, optimizer=StepOnly())
        else:
            getattr(mg.bptt, runner)(counting_step, h0, xs, targets, total, [w], optimizer=StepOnly())
    assert calls == []


def scalar_states(n, w=0.5, h0=0.0):
    """h_0 .. h_n of scalar_problem in numpy."""
    h = [h0]
    for t in range(1, n + 1):
        h.append(w * h[-1] + t)
    return h


def scalar_update_gradients(n, k1, k2, w=0.5, h0=0.0, has_target=None):
    """TBPTT(k1, k2) by its definition (docs/tbptt.md) for scalar_problem, no optimizer, by hand:
    updates u = k1, 2 k1, ... and n; L_u = sum of l_t = h_t for t in (u', u] with a target;
    h_c held constant, c = max(0, u - k2), so dl_t/dw = sum_{s = c+1}^{t} w^(t-s) h_(s-1)
    (0 for t <= c). Returns [(u, c, L_u, dL_u/dw)]."""
    has_target = has_target or (lambda t: True)
    h = scalar_states(n, w, h0)
    updates = [u for u in range(1, n + 1) if u % k1 == 0 or u == n]
    out, previous = [], 0
    for u in updates:
        c = max(0, u - k2)
        ts = [t for t in range(previous + 1, u + 1) if has_target(t)]
        loss = sum(h[t] for t in ts)
        grad = sum(w ** (t - s) * h[s - 1] for t in ts for s in range(c + 1, t + 1))
        out.append((u, c, loss, grad))
        previous = u
    return out


# ---- on_backward: the update and cut recorded on L_u's node ----------------------------------------

@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
@pytest.mark.parametrize("k1, k2", [(2, 3), (3, 1), (2, 2)])
def test_on_backward_sees_the_update_and_its_cut_on_the_loss_node(k1, k2, runner):
    """tbptt's docstring (and tbptt_blocks', which calls it the same way): on_backward(u, loss) gets
    L_u, whose node records u and the cut c_u = max(0, u - k2) (handed_to_caller) when on_backward runs.
    Catches the record written after on_backward is called, the two swapped, or the cut not clamped at 0."""
    n = 7
    w, step, xs = scalar_problem(n)
    seen = []

    def on_backward(u, loss):
        seen.append((u, dict(loss._node.cut_info or {}), float(loss.item()), float(w.grad)))

    run = getattr(mg.bptt, runner)
    run(step if runner == "tbptt" else scalar_block(step), mg.tensor(np.array(0.0)), xs, [0.0] * n, total,
        k1, k2, on_backward=on_backward, on_update=lambda u, loss: setattr(w, "grad", None))
    expected = scalar_update_gradients(n, k1, k2)
    assert [u for u, *_ in seen] == [u for u, *_ in expected]
    for (u, info, loss, grad), (_, c, want_loss, want_grad) in zip(seen, expected):
        assert info == {"update": u, "cut": c}
        np.testing.assert_allclose(loss, want_loss, rtol=1e-12)
        np.testing.assert_allclose(grad, want_grad, rtol=1e-12)


# ---- truncate and sever ----------------------------------------------------------------------------

def test_truncate_keeps_the_value_drops_history_and_records_its_keywords_and_the_source():
    """truncate's docstring: same values, no history, a cut node carrying the keyword arguments
    (k2=...) and where it was cut (the source's label, op and step). Gradients stop there."""
    x = mg.tensor(np.array([1.0, -2.0]), requires_grad=True)
    with mg.viz.step(3):
        h = (x * 2.0).named("h")
    cut = mg.bptt.truncate(h, k2=4)
    np.testing.assert_array_equal(cut.data, [2.0, -4.0])
    assert cut._node.kind == "cut" and cut._node.inputs == ()
    assert cut._node.cut_info == {"k2": 4, "label": "h", "op": h._node.op, "step": 3}
    assert cut._node.label == "h"
    (cut * x).sum().backward()                      # d(cut . x)/dx = cut; through the cut it would be 4 x
    np.testing.assert_allclose(x.grad, [2.0, -4.0])


def test_truncate_of_a_tuple_state_cuts_every_tensor_in_order():
    """An LSTM's (h, c) stays a pair, each tensor cut, in order."""
    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    h, c = mg.bptt.truncate((x * 1.0, x * 3.0, None)[:2])
    np.testing.assert_array_equal(h.data, [1.0, 2.0])
    np.testing.assert_array_equal(c.data, [3.0, 6.0])
    assert h._node.kind == c._node.kind == "cut"


def test_sever_turns_the_recorded_node_into_a_cut_in_place_and_leaves_leaves_alone():
    """sever: gradients arriving at the state stop there (its inputs dropped), its info recorded;
    a parameter (a leaf) handed in as part of a state is not cut: it stays trainable."""
    w = mg.tensor(np.array(2.0), requires_grad=True)
    x = mg.tensor(np.array(3.0), requires_grad=True)
    h = x * w
    y = h * w
    mg.bptt.sever((h, w, None), update=5, k2=2)
    assert h._node.kind == "cut" and h._node.inputs == ()
    assert h._node.cut_info == {"update": 5, "k2": 2}
    assert w._node.kind == "leaf"
    y.backward()
    assert x.grad is None                           # nothing went behind the cut
    np.testing.assert_allclose(w.grad, 6.0)         # d(h w)/dw with h held at 6: only the direct path


def test_sever_skips_a_constant_in_a_state():
    """A constant (no node) in a state is skipped, not an error."""
    x = mg.tensor(np.array(1.0), requires_grad=True)
    mg.bptt.sever((mg.tensor(np.array(0.0)), x * 2.0))


def test_truncate_refuses_what_is_not_a_state():
    with pytest.raises(TypeError, match="truncate: a state is a Tensor or a tuple of Tensors, got str"):
        mg.bptt.truncate((mg.tensor(np.array(1.0)), "h"))
    with pytest.raises(TypeError, match="truncate: a state is a Tensor or a tuple of Tensors, got dict"):
        mg.bptt.sever([{"h": 1}])


def test_state_tensors_lists_a_nested_state_in_order():
    """state_tensors' docstring: every tensor of a (nested) tuple/list state, in order (None skipped)."""
    from microgradseq.bptt.truncate import state_tensors
    a, b, c, d = (mg.tensor(np.array(float(i))) for i in range(4))
    assert [t is s for t, s in zip(state_tensors(((a, None, [b, c]), d)), (a, b, c, d))] == [True] * 4
    assert len(list(state_tensors(((a, None, [b, c]), d)))) == 4


@pytest.mark.parametrize("k1, k2", [(2, 3), (3, 1)])
def test_a_state_holding_a_constant_counter_runs_and_trains_as_without_it(k1, k2):
    """A state (h, count) whose count is a constant tensor (no node): the runner cuts h and skips the
    constant; the gradients are the hand-written TBPTT(k1, k2) ones of scalar_problem."""
    n = 7
    w, step, xs = scalar_problem(n)
    grads = []

    def counting_step(x, state):
        h, count = state
        out, h = step(x, h)
        return out, (h, mg.tensor(count.data + 1))

    def on_update(u, loss):
        grads.append((u, loss, float(w.grad)))
        w.grad = None

    result = mg.bptt.tbptt(counting_step, (mg.tensor(np.array(0.0)), mg.tensor(np.array(0))), xs, [0.0] * n,
                           total, k1, k2, on_update=on_update)
    expected = scalar_update_gradients(n, k1, k2)
    assert [u for u, *_ in grads] == [u for u, *_ in expected]
    for (_, loss, grad), (_, _, want_loss, want_grad) in zip(grads, expected):
        np.testing.assert_allclose([loss, grad], [want_loss, want_grad], rtol=1e-12)
    assert int(result.state[1].item()) == n
    np.testing.assert_allclose(result.state[0].item(), scalar_states(n)[-1], rtol=1e-12)


# ---- rtrl / uoro ----------------------------------------------------------------------------------

def test_uoro_gives_a_gradient_through_a_tensor_computed_from_a_parameter_before_the_run():
    """Reach's docstring: UORO's reverse passes follow a tensor the step reads that was computed from a
    parameter outside it (v = 2 W, made once), so W is reached. One step, h_1 = a h_0 + v x_1, l_1 = h_1:
    UORO's first update is exact (RankOne's docstring), dl/da = h_0 = 1.5, dl/dW = 2 x_1 = 6."""
    a = mg.tensor(np.array(0.7), requires_grad=True)
    W = mg.tensor(np.array(0.4), requires_grad=True)
    v = W * 2.0

    def step(x, h):
        h = h * a + v * x
        return h, h

    mg.bptt.uoro(step, mg.tensor(np.array(1.5)), [mg.tensor(np.array(3.0))], [0.0], total, [a, W], rng=0)
    assert W.grad is not None
    np.testing.assert_allclose([a.grad, W.grad], [1.5, 6.0], rtol=1e-12)


@pytest.mark.parametrize("runner", ["rtrl", "uoro"])
def test_online_runners_default_to_an_update_every_step_and_summed_losses(runner):
    """rtrl/uoro's signature: k1=1 and reduction="sum" by default, as tbptt's rules define them: updates
    at every step, L_u = l_u. For scalar_problem h_t = 0.5 h_(t-1) + t from h_0 = 0: h = 1, 2.5, 4.25."""
    w, step, xs = scalar_problem(3)
    result = getattr(mg.bptt, runner)(step, mg.tensor(np.array(0.0)), xs, [0.0] * 3, total, [w])
    assert result.updates == [1, 2, 3]
    np.testing.assert_allclose(result.losses, [1.0, 2.5, 4.25], rtol=1e-12)


def test_uoro_sums_the_losses_of_an_update_by_default():
    """reduction="sum" by default: L_2 = h_1 + h_2 = 1 + 2.5 (the loss values are exact under UORO)."""
    w, step, xs = scalar_problem(2)
    result = mg.bptt.uoro(step, mg.tensor(np.array(0.0)), xs, [0.0] * 2, total, [w], k1=2, rng=0)
    assert result.updates == [2]
    np.testing.assert_allclose(result.losses, [3.5], rtol=1e-12)


def test_uoro_without_rng_draws_its_signs_from_the_library_generator():
    """uoro's docstring: rng=None uses the library's generator (mg.manual_seed): the same seed gives
    the same (noisy) estimate twice."""
    def estimate():
        rng = np.random.default_rng(3)
        cell = mg.nn.RNNCell(2, 3, rng=rng, dtype=np.float64)
        params = list(cell.parameters())

        def step(x, h):
            h = cell(x, h)
            return h, h
        xs = [mg.tensor(x) for x in rng.normal(size=(4, 1, 2))]
        mg.bptt.uoro(step, mg.zeros(1, 3, dtype=np.float64), xs, [0.0] * 4, total, params, k1=4)
        return np.concatenate([p.grad.ravel() for p in params])

    saved = mg.get_rng_state()
    try:
        mg.manual_seed(123)
        first = estimate()
        mg.manual_seed(123)
        np.testing.assert_array_equal(estimate(), first)
    finally:
        mg.set_rng_state(saved)


@pytest.mark.parametrize("rng, got", [(-1, "-1"), ("seed", "str"), (1.5, "float")])
def test_uoro_refuses_a_negative_seed_or_a_non_generator(rng, got):
    w, step, xs = scalar_problem(2)
    with pytest.raises(TypeError, match=rf"uoro: rng must be a numpy.random.Generator, a seed \(an integer >= 0\) "
                                         rf"or None, got {got}"):
        mg.bptt.uoro(step, mg.tensor(np.array(0.0)), xs, [0.0] * 2, total, [w], rng=rng)


@pytest.mark.parametrize("runner", ["rtrl", "uoro"])
def test_a_params_entry_that_is_no_leaf_is_named_by_its_position(runner):
    """parameters(): a listed tensor must be a leaf; the error names it params[i], i its index in the list."""
    w, step, xs = scalar_problem(2)
    with pytest.raises(ValueError, match=rf"{runner}: params\[1\] \(shape \(\)\) must be a tensor that requires "
                                         r"grad \(a parameter, a leaf\), got the result of the op"):
        getattr(mg.bptt, runner)(step, mg.tensor(np.array(0.0)), xs, [0.0] * 2, total, [w, w * 2.0])


# ---- tbptt_blocks ---------------------------------------------------------------------------------

def scalar_block(step):
    def step_block(xs, h):
        outputs = []
        for x in xs:
            out, h = step(x, h)
            outputs.append(out)
        return outputs, h
    return step_block


def test_tbptt_blocks_numbers_a_block_and_each_of_its_losses_by_the_sequences_steps():
    """tbptt_blocks' docstring: a block of steps a + 1 .. b runs inside mg.viz.step(a + 1), and each step's
    loss is made in its own step, as tbptt makes it. TBPTT(2, 3) over 6 steps: blocks end at every update
    (2, 4, 6) and every cut c_u = u - 3 (1, 3): blocks [1], [2], [3], [4], [5, 6]."""
    w, step, xs = scalar_problem(6)
    block_steps, loss_steps = [], []

    def step_block(chunk, h):
        block_steps.append((len(chunk), (h * w).step))
        return scalar_block(step)(chunk, h)

    def loss_fn(output, target):
        loss = output.sum()
        loss_steps.append(loss.step)
        return loss

    mg.bptt.tbptt_blocks(step_block, mg.tensor(np.array(0.0)), xs, [0.0] * 6, loss_fn, 2, 3)
    assert block_steps == [(1, 1), (1, 2), (1, 3), (1, 4), (2, 5)]
    assert loss_steps == [1, 2, 3, 4, 5, 6]


def test_tbptt_blocks_names_step_block_when_it_returns_no_pair():
    w, step, xs = scalar_problem(2)
    with pytest.raises(TypeError, match=r"tbptt_blocks: step_block must return a pair \(output, new_state\), "
                                        r"got a float at steps 1 to 2"):
        mg.bptt.tbptt_blocks(lambda chunk, h: 1.0, mg.tensor(np.array(0.0)), xs, [0.0] * 2, total, 2, 2)


def steps_on_tape(node):
    """The step numbers of the op nodes reachable from `node` (the tape behind it)."""
    seen, stack, steps = {id(node)}, [node], set()
    while stack:
        current = stack.pop()
        if current.kind == "op":
            steps.add(current.step)
        for parent in current.inputs:
            if parent is not None and id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return steps


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
def test_with_k1_equal_to_k2_the_tape_never_holds_more_than_k_steps_after_an_update_without_losses(runner):
    """tbptt's docstring: the tape never holds more than max(k1, k2) steps. TBPTT(2, 2), no targets at
    steps 1, 2 (the update at 2 walks nothing, so no backward pass frees its steps): h_2 is the cut of
    the update at 4, cut once step 3 has read it, so the tape behind step 4's loss holds steps 3, 4
    only (at step 3's loss, tbptt may still hold step 2: h_2 is cut right after step 3)."""
    n = 6
    w, step, xs = scalar_problem(n)
    targets = [None, None, 0.0, 0.0, None, 0.0]
    tapes = {}
    counter = iter([3, 4, 6])

    def loss_fn(output, target):
        tapes[next(counter)] = steps_on_tape(output._node)
        return output.sum()

    if runner == "tbptt":
        mg.bptt.tbptt(step, mg.tensor(np.array(0.0)), xs, targets, loss_fn, 2, 2)
        assert tapes[4] == {3, 4} and tapes[6] == {5, 6}
    else:                                       # (a block's nodes are all stamped with its first step)
        mg.bptt.tbptt_blocks(scalar_block(step), mg.tensor(np.array(0.0)), xs, targets, loss_fn, 2, 2)
        assert tapes[3] == tapes[4] == {3} and tapes[6] == {5}


def test_tbptt_blocks_refuses_a_dict_of_inputs_it_cannot_slice():
    """tbptt_blocks reads inputs[a:b]: a dict (steps by key, which tbptt takes) is a TypeError saying so,
    before any step; slicing a dict raises KeyError on Python >= 3.12 (slices hash), TypeError before,
    and a Mapping that follows its contract (KeyError for a missing key) raises KeyError."""
    w, step, xs = scalar_problem(2)

    class Steps(Mapping):
        def __init__(self, items):
            self.items_ = list(items)

        def __getitem__(self, key):
            if not isinstance(key, int) or not 0 <= key < len(self.items_):
                raise KeyError(key)
            return self.items_[key]

        def __len__(self):
            return len(self.items_)

        def __iter__(self):
            return iter(range(len(self.items_)))

    for inputs in (dict(enumerate(xs)), Steps(xs)):
        with pytest.raises(TypeError, match=r"tbptt_blocks: step_block reads inputs\[a:b\], so inputs must take "
                                            rf"slices \(a list, tuple or array\), got {type(inputs).__name__}"):
            mg.bptt.tbptt_blocks(scalar_block(step), mg.tensor(np.array(0.0)), inputs, [0.0] * 2, total, 1, 1)
    with pytest.raises(TypeError, match=r"tbptt_blocks: block_loss_fn reads targets\[a:b\], so targets must "
                                        r"take slices \(a list, tuple or array\), got dict"):
        mg.bptt.tbptt_blocks(scalar_block(step), mg.tensor(np.array(0.0)), xs, {0: 0.0, 1: 0.0}, total, 1, 1,
                             block_loss_fn=lambda outputs, targets: outputs[0].sum())


# ---- inputs and targets by step -------------------------------------------------------------------

def test_a_dict_of_inputs_missing_its_last_step_is_refused_before_any_step():
    """check_run: a dict given as inputs must hold every step's index 0 .. n-1 (n its length); keys
    {0, 1, 3} lack 2, the last step's, which is named before any step runs."""
    w, step, xs = scalar_problem(3)
    calls = []

    def counting_step(x, h):
        calls.append(x)
        return step(x, h)

    with pytest.raises(ValueError, match=r"tbptt: inputs is a dict without the keys \[2\]"):
        mg.bptt.tbptt(counting_step, mg.tensor(np.array(0.0)), {0: xs[0], 1: xs[1], 3: xs[2]}, [0.0] * 3,
                      total, 1, 1)
    assert calls == []


def test_a_set_of_inputs_is_refused_as_not_indexable_by_step():
    """_length: inputs must be indexable by step with a length; a set has a length but no order."""
    w, step, xs = scalar_problem(2)
    with pytest.raises(TypeError, match=r"tbptt: inputs must be indexable by step with a length \(a list, tuple "
                                        r"or array\), got set"):
        mg.bptt.tbptt(step, mg.tensor(np.array(0.0)), {1.0, 2.0}, [0.0] * 2, total, 1, 1)


@pytest.mark.parametrize("runner", ["tbptt", "rtrl"])
def test_a_step_returning_three_things_is_refused_at_that_step(runner):
    """checked_step: step must return a pair (output, new_state); a triple is a TypeError naming its
    length and the step, not silently read as a pair."""
    w, step, xs = scalar_problem(2)

    def triple(x, h):
        out, h = step(x, h)
        return out, h, "extra"

    args = (triple, mg.tensor(np.array(0.0)), xs, [0.0] * 2, total)
    with pytest.raises(TypeError, match=rf"{runner}: step must return a pair \(output, new_state\), got a tuple "
                                        r"of 3 at step 1"):
        if runner == "tbptt":
            mg.bptt.tbptt(*args, 1, 1)
        else:
            mg.bptt.rtrl(*args, [w])


@pytest.mark.parametrize("k1, k2", [(2, 4), (1, 3), (3, 2), (2, 2)])
def test_the_runner_keeps_no_more_than_max_k1_k2_states_alive_at_any_update(k1, k2):
    """tbptt's docstring: the tape never holds more than max(k1, k2) steps. The states the steps returned
    (the caller keeps only weak references) are freed once behind a cut: at each on_update at most
    max(k1, k2) of them are alive, the newest ones, at the last update as at the others."""
    n = 12
    w = mg.tensor(np.array(0.5), requires_grad=True)
    xs = [mg.tensor(np.array(float(t))) for t in range(1, n + 1)]
    refs = {}

    def step(x, h):
        h = h * w + x
        refs[int(x.item())] = weakref.ref(h)
        return h, h

    alive = {}

    def on_update(u, loss):
        gc.collect()
        alive[u] = sorted(s for s, ref in refs.items() if ref() is not None)

    mg.bptt.tbptt(step, mg.tensor(np.array(0.0)), xs, [0.0] * n, total, k1, k2, on_update=on_update)
    assert sorted(alive) == [u for u in range(1, n + 1) if u % k1 == 0 or u == n]
    for u, steps in alive.items():
        assert u in steps and len(steps) <= max(k1, k2), (u, steps)


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
def test_with_k1_below_k2_the_tape_behind_a_loss_holds_at_most_k2_steps(runner):
    """tbptt's docstring: the tape never holds more than max(k1, k2) steps. TBPTT(2, 4) over 8 steps: the
    next update's cut is freed right after an update (h_2 after the update at 4, h_4 after 6), so the
    tape behind the loss of step t holds only steps after t - 4 (for tbptt_blocks a block's nodes carry
    its first step: blocks [1, 2], [3, 4], [5, 6], [7, 8])."""
    n = 8
    w, step, xs = scalar_problem(n)
    tapes = {}
    counter = iter(range(1, n + 1))

    def loss_fn(output, target):
        tapes[next(counter)] = steps_on_tape(output._node)
        return output.sum()

    if runner == "tbptt":
        mg.bptt.tbptt(step, mg.tensor(np.array(0.0)), xs, [0.0] * n, loss_fn, 2, 4)
    else:
        mg.bptt.tbptt_blocks(scalar_block(step), mg.tensor(np.array(0.0)), xs, [0.0] * n, loss_fn, 2, 4)
    for t, steps in tapes.items():
        assert steps and min(steps) > t - 4, (t, steps)
