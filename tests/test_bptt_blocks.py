"""tbptt_blocks (a model stepping a block of steps at once) runs exactly the TBPTT(k1, k2) that tbptt runs."""

import gc
import tracemalloc

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import bptt, charlm


def model_and_data(cell: str, fused: bool = False, steps: int = 23):
    model = charlm.CharLM(7, 5, cell, embedding_dim=3, rng=np.random.default_rng(0), dtype=np.float64)
    model.cell.fused = fused
    codes = np.random.default_rng(1).integers(0, 7, (steps + 1, 2))
    return model, codes[:-1], codes[1:]


def train(model, inputs, targets, k1, k2, blocks, block_loss=False, reduction="mean"):
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    if blocks:
        blocks_summed = []

        def block_losses(logits, codes):
            blocks_summed.append(len(codes))
            return charlm.next_char_losses(logits, codes)

        result = bptt.tbptt_blocks(model.step_block, None, inputs, targets, charlm.next_char_loss, k1, k2,
                                   optimizer=optimizer, reduction=reduction,
                                   block_loss_fn=block_losses if block_loss else None)
        assert sum(blocks_summed) == (len(inputs) if block_loss else 0)     # every step's loss in a block sum
    else:
        result = bptt.tbptt(model.step, None, inputs, targets, charlm.next_char_loss, k1, k2,
                            optimizer=optimizer, reduction=reduction)
    return result, model.state_dict()


@pytest.mark.parametrize("k1, k2", [(4, 8), (5, 5), (3, 7), (6, 4), (1, 3), (23, 23), (5, 100)])
@pytest.mark.parametrize("cell, fused", [("lstm", False), ("lstm", True), ("rnn", False), ("gru", True)])
@pytest.mark.parametrize("block_loss", [False, True], ids=["step-losses", "block-losses"])
def test_updates_losses_and_weights_equal_tbptt(k1, k2, cell, fused, block_loss):
    """With `block_loss_fn` too: a block's losses as one cross-entropy node sum to the same L_u."""
    expected, expected_weights = train(*model_and_data(cell, fused), k1, k2, blocks=False)
    result, weights = train(*model_and_data(cell, fused), k1, k2, blocks=True, block_loss=block_loss)
    assert result.updates == expected.updates
    np.testing.assert_allclose(result.losses, expected.losses, rtol=1e-12)
    for name, value in expected_weights.items():
        np.testing.assert_allclose(weights[name], value, rtol=1e-10, atol=1e-13, err_msg=name)
    for got, want in zip(bptt.truncate(result.state) if cell == "lstm" else [result.state],
                         bptt.truncate(expected.state) if cell == "lstm" else [expected.state]):
        np.testing.assert_allclose(got.data, want.data, rtol=1e-10)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_block_losses_and_step_losses_mix_where_some_targets_are_missing(reduction):
    """Steps without a target have no loss: a block holding one takes its losses step by step, the
    others as one node, and a mean still divides by the number of losses (here 20 of 23)."""
    model, inputs, targets = model_and_data("lstm")
    targets = list(targets)
    for t in (2, 9, 10):
        targets[t] = None
    expected, expected_weights = train(*model_and_data("lstm")[:2], targets, 5, 8, blocks=False,
                                       reduction=reduction)
    calls = []

    def block_losses(logits, block_targets):
        calls.append(len(block_targets))
        return charlm.next_char_losses(logits, block_targets)

    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    result = bptt.tbptt_blocks(model.step_block, None, inputs, targets, charlm.next_char_loss, 5, 8,
                               optimizer=optimizer, reduction=reduction, block_loss_fn=block_losses)
    np.testing.assert_allclose(result.losses, expected.losses, rtol=1e-12)
    for name, value in expected_weights.items():
        np.testing.assert_allclose(model.state_dict()[name], value, rtol=1e-10, atol=1e-13, err_msg=name)
    # blocks end at 2, 5, 7, 10, 12, 15, 20, 23: (2, 5], (7, 10] and (10, 12] hold a missing target
    assert calls == [2, 2, 3, 5, 3]


def test_next_char_losses_is_the_sum_of_the_steps_losses():
    rng = np.random.default_rng(4)
    logits = mg.tensor(rng.normal(size=(3, 2, 7)), requires_grad=True)
    targets = rng.integers(0, 7, (3, 2))
    block = charlm.next_char_losses(logits, targets)
    block.backward()
    want = sum(-np.log(np.exp(row[k]) / np.exp(row).sum()) for step, codes in zip(logits.data, targets)
               for row, k in zip(step, codes)) / 2
    np.testing.assert_allclose(block.item(), want, rtol=1e-12)
    softmax = np.exp(logits.data) / np.exp(logits.data).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(logits.grad, (softmax - np.eye(7)[targets]) / 2, rtol=1e-12)


def test_next_char_losses_takes_targets_as_an_array_a_tensor_or_rows():
    rng = np.random.default_rng(6)
    logits = mg.tensor(rng.normal(size=(3, 2, 7)))
    codes = rng.integers(0, 7, (3, 2))
    want = charlm.next_char_losses(logits, codes).item()
    rows = np.empty(3, dtype=object)
    rows[:] = list(codes)
    for targets in (mg.tensor(codes), list(codes), rows):
        np.testing.assert_allclose(charlm.next_char_losses(logits, targets).item(), want, rtol=1e-12)
    with pytest.raises(ValueError, match=r"next_char_losses: expected logits of shape \(steps, batch, vocab\), "
                                         r"got shape \(6, 7\)"):
        charlm.next_char_losses(logits.reshape(6, 7), codes.reshape(6))
    for targets, got in ((codes.reshape(6), r"shape \(6,\) and dtype int64"),
                         (codes.astype(float), r"shape \(3, 2\) and dtype float64"),
                         ([codes[0], codes[1], codes[2][:1]], "rows of different lengths")):
        with pytest.raises(ValueError, match=r"next_char_losses: expected integer targets of shape \(3, 2\) "
                                             rf"\(steps, batch\), got {got}"):
            charlm.next_char_losses(logits, targets)


def test_a_block_loss_that_is_not_one_number_is_named():
    model, inputs, targets = model_and_data("lstm", steps=4)
    per_step = lambda logits, codes: mg.functional.cross_entropy(     # noqa: E731
        logits.reshape(-1, 7), np.asarray(codes).reshape(-1), reduction="none")
    with pytest.raises(ValueError, match=r"tbptt_blocks: block_loss_fn must return a one-element Tensor, "
                                         r"got shape \(4,\) at steps 1 to 2"):
        bptt.tbptt_blocks(model.step_block, None, inputs, targets, charlm.next_char_loss, 2, 2,
                          block_loss_fn=per_step)
    with pytest.raises(TypeError, match="tbptt_blocks: block_loss_fn must return a one-element Tensor, got float"):
        bptt.tbptt_blocks(model.step_block, None, inputs, targets, charlm.next_char_loss, 2, 2,
                          block_loss_fn=lambda logits, codes: 0.0)
    with pytest.raises(TypeError, match="tbptt_blocks: loss_fn must return a one-element Tensor, got float at step 1"):
        bptt.tbptt_blocks(model.step_block, None, inputs, targets, lambda logits, code: 0.0, 2, 2)
    with pytest.raises(ValueError, match="return the sum of the steps' losses, even with reduction='mean'"):
        bptt.tbptt_blocks(model.step_block, None, inputs, targets, charlm.next_char_loss, 2, 2, reduction="mean",
                          block_loss_fn=per_step)


def test_block_losses_need_targets_that_take_slices_and_say_so_before_any_update():
    """A dict of targets serves `tbptt` (a key a step) but not `targets[a:b]`: refused before any work."""
    model, inputs, targets = model_and_data("lstm", steps=4)
    updates = []
    with pytest.raises(TypeError, match=r"tbptt_blocks: block_loss_fn reads targets\[a:b\], so targets must take "
                                        r"slices \(a list, tuple or array\), got dict"):
        bptt.tbptt_blocks(model.step_block, None, inputs, dict(enumerate(targets)), charlm.next_char_loss, 2, 2,
                          on_update=lambda u, loss: updates.append(u), block_loss_fn=charlm.next_char_losses)
    assert updates == []


def test_a_step_block_that_returns_no_pair_is_named():
    model, inputs, targets = model_and_data("lstm", steps=4)
    with pytest.raises(TypeError, match="tbptt_blocks: step_block must return a pair \\(output, new_state\\), "
                                        "got a Tensor at steps 1 to 2"):
        bptt.tbptt_blocks(lambda xs, state: model.step_block(xs, state)[0], None, inputs, targets,
                          charlm.next_char_loss, 2, 2)


def test_blocks_end_at_updates_and_cuts():
    assert bptt.blocks.block_ends(100, 20, 40) == [20, 40, 60, 80, 100]
    assert bptt.blocks.block_ends(10, 4, 6) == [2, 4, 8, 10]
    assert bptt.blocks.block_ends(7, 4, 2) == [1, 2, 4, 5, 7]


def test_step_block_gives_the_values_of_step_by_step():
    model, inputs, _ = model_and_data("lstm", steps=6)
    logits, state = model.step_block(inputs, None)
    state_by_step = None
    for t in range(6):
        step_logits, state_by_step = model.step(inputs[t], state_by_step)
        np.testing.assert_allclose(logits.data[t], step_logits.data, rtol=1e-12)
    np.testing.assert_allclose(state[0].data, state_by_step[0].data, rtol=1e-12)       # h
    np.testing.assert_allclose(state[1].data, state_by_step[1].data, rtol=1e-12)       # c


def test_bad_arguments_raise_before_any_work():
    model, inputs, targets = model_and_data("lstm", steps=4)
    with pytest.raises(ValueError, match="k1"):
        bptt.tbptt_blocks(model.step_block, None, inputs, targets, charlm.next_char_loss, 0, 2)
    with pytest.raises(ValueError, match="differ in length"):
        bptt.tbptt_blocks(model.step_block, None, inputs, targets[:2], charlm.next_char_loss, 2, 2)
    with pytest.raises(TypeError, match="tbptt_blocks: block_loss_fn must be callable or None, got str"):
        bptt.tbptt_blocks(model.step_block, None, inputs, targets, charlm.next_char_loss, 2, 2,
                          block_loss_fn="cross_entropy")


@pytest.mark.parametrize("block_loss", [False, True], ids=["step-losses", "block-losses"])
@pytest.mark.parametrize("outputs, error, message", [
    (lambda logits: logits[:1], ValueError, r"expected 2 outputs for steps 1 to 2, got 1"),
    (lambda logits: mg.concat([logits, logits]), ValueError, r"expected 2 outputs for steps 1 to 2, got 4"),
    (lambda logits: list(logits)[:1], ValueError, r"expected 2 outputs for steps 1 to 2, got 1"),
    (lambda logits: None, TypeError, r"expected a sequence of 2 outputs for steps 1 to 2, got a NoneType"),
    (lambda logits: logits.sum(), TypeError, r"expected a sequence of 2 outputs for steps 1 to 2, got a Tensor"),
], ids=["too few", "too many", "a short list", "None", "a 0-d tensor"])
def test_a_step_block_that_returns_other_than_one_output_per_step_is_named_before_any_update(
        outputs, error, message, block_loss):
    """`outputs[j]` is step a + 1 + j's output: too few would lose losses (or fail deep inside), too
    many would be read wrong. Checked as the block returns, before any loss or update."""
    model, inputs, targets = model_and_data("lstm", steps=4)
    before = model.state_dict()
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    updates = []

    def step_block(codes, state):
        logits, state = model.step_block(codes, state)
        return outputs(logits), state

    with pytest.raises(error, match=r"tbptt_blocks: step_block must return one output per step: " + message):
        bptt.tbptt_blocks(step_block, None, inputs, targets, charlm.next_char_loss, 2, 2, optimizer=optimizer,
                          on_update=lambda u, loss: updates.append(u),
                          block_loss_fn=charlm.next_char_losses if block_loss else None)
    assert updates == [] and all(p.grad is None for p in model.parameters())
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


@pytest.mark.parametrize("n", range(1, 30))
def test_the_block_ends_come_one_at_a_time_and_are_the_definitions(n):
    """Every update, every cut inside the sequence, every step behind its coming update's cut."""
    for k1 in range(1, 33):
        for k2 in range(1, 33):
            updates = [t for t in range(1, n + 1) if t % k1 == 0 or t == n]
            coming = {t: min(u for u in updates if u >= t) for t in range(1, n + 1)}
            ends = set(updates) | {u - k2 for u in updates if u - k2 > 0}
            ends |= {t for t in range(1, n + 1) if t <= coming[t] - k2}
            lazy = bptt.blocks.iter_block_ends(n, k1, k2)
            assert iter(lazy) is lazy
            assert list(lazy) == bptt.blocks.block_ends(n, k1, k2) == sorted(ends), (n, k1, k2)


def test_tbptt_blocks_memory_does_not_grow_with_the_sequence_length():
    """The runner reads the block ends as it goes (a list of them all would be of the order of n:
    with k1 = 100 > k2 = 3, 98 ends every 100 steps)."""
    def peak(n, k1=100, k2=3, hidden=8, batch=2):
        rng = np.random.default_rng(0)
        w = mg.tensor(rng.normal(size=(hidden, hidden)) / np.sqrt(hidden), requires_grad=True)

        def step_block(xs, h):
            outputs = []
            for x in xs:
                h = (mg.ops.linear(h, w) + x).tanh()
                outputs.append(h)
            return outputs, h

        xs = rng.normal(size=(n, batch, hidden))
        ys = [np.zeros((batch, hidden)) if t % k1 == 0 else None for t in range(1, n + 1)]
        h0 = mg.zeros(batch, hidden, dtype=np.float64)
        gc.collect()
        tracemalloc.start()
        try:
            bptt.tbptt_blocks(step_block, h0, xs, ys, lambda o, y: ((o - y) ** 2).sum(), k1, k2)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    short, long = peak(1_000), peak(10_000)
    assert abs(long - short) < 0.10 * short, (short, long)


def test_inputs_that_take_no_slices_are_refused_before_any_work():
    """step_block reads inputs[a:b]: a dict of inputs is named as such, not numpy's 'unhashable type'."""
    model, inputs, targets = model_and_data("lstm", steps=4)
    with pytest.raises(TypeError, match="tbptt_blocks: step_block reads inputs\\[a:b\\], so inputs must take "
                                        "slices .* got dict"):
        bptt.tbptt_blocks(model.step_block, None, dict(enumerate(inputs)), targets, charlm.next_char_loss, 2, 2)


@pytest.mark.parametrize("blocks", [False, True], ids=["tbptt", "tbptt_blocks"])
@pytest.mark.parametrize("k1, k2", [(2, 4), (1, 3), (3, 5)])
def test_a_state_behind_the_cut_never_shows_an_earlier_updates_gradient(blocks, k1, k2):
    """h_t = tanh(w h_(t-1) + x_t) with overlapping windows: update u walks the states after
    c_u = u - k2, and the earlier update that did reach the states at or before c_u left its
    gradient on them; inside on_update(u) each state the step function handed the runner (every
    step's for tbptt, each block's last for tbptt_blocks) reads None there, in both runners alike."""
    w = mg.tensor(0.7, requires_grad=True)
    xs = list(np.linspace(-1.0, 1.0, 10))
    handed = {}                 # step -> the state handed to the runner after it
    steps_run = []

    def cell(x, h):
        steps_run.append(x)
        return (w * (0.0 if h is None else h) + x).tanh()

    def step(x, h):
        h = cell(x, h)
        handed[len(steps_run)] = h
        return h, h

    def step_block(block, h):
        outputs = []
        for x in block:
            h = cell(x, h)
            outputs.append(h)
        handed[len(steps_run)] = h
        return outputs, h

    reached = []

    def on_update(u, loss):
        behind = [t for t in handed if t <= u - k2]
        assert all(handed[t].grad is None for t in behind), (u, [t for t in behind if handed[t].grad is not None])
        reached.append(sum(handed[t].grad is not None for t in handed if u - k2 < t <= u))

    loss_fn = lambda h, target: (h - target) ** 2      # noqa: E731
    if blocks:
        bptt.tbptt_blocks(step_block, None, xs, [0.5] * 10, loss_fn, k1, k2, on_update=on_update)
    else:
        bptt.tbptt(step, None, xs, [0.5] * 10, loss_fn, k1, k2, on_update=on_update)
    assert all(count > 0 for count in reached)      # each update did put gradients on its window's states


@pytest.mark.parametrize("blocks", [False, True], ids=["tbptt", "tbptt_blocks"])
def test_an_anomaly_names_the_step_of_the_sequence_in_both_runners(blocks):
    """A NaN target at step 10 of 12, TBPTT(4, 4): the loss's first op (output - target) names t = 10, in a block of
    steps 9 .. 12 too (blocks run inside viz.step(9), and each step's loss inside its own step);
    a NaN input at step 10 names the layer's hoisted projection of the block, which runs at t = 9."""
    rnn = mg.nn.RNN(2, 3, dtype=np.float64)
    xs = np.random.default_rng(0).standard_normal((12, 1, 2))
    targets = [np.zeros((1, 3))] * 12
    targets[9] = np.full((1, 3), np.nan)
    loss_fn = lambda output, target: ((output - target) ** 2).sum()     # noqa: E731

    def step(x, h):
        output, h = rnn(mg.tensor(np.asarray(x)[None]), h)
        return output[0], h

    def step_block(block, h):
        return rnn(mg.tensor(np.asarray(block)), h)

    runner = bptt.tbptt_blocks if blocks else bptt.tbptt
    with pytest.raises(FloatingPointError, match=r"^sub: forward output holds NaN \(t = 10\)"):
        with mg.detect_anomaly():
            runner(step_block if blocks else step, None, xs, targets, loss_fn, 4, 4)
    if blocks:
        xs[9, 0, 0] = np.nan
        with pytest.raises(FloatingPointError, match=r"^linear: forward output holds NaN \(t = 9, in RNN\)"):
            with mg.detect_anomaly():
                runner(step_block, None, xs, [np.zeros((1, 3))] * 12, loss_fn, 4, 4)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_char_models_op_level_block_stamps_each_step_of_its_block(cell):
    """Run inside viz.step(5) as tbptt_blocks runs a block of steps 5 .. 7: the output of step 5 + j
    is made at t = 5 + j (before, every node of the block read t = 5)."""
    model, inputs, _ = model_and_data(cell)
    with mg.viz.step(5):
        logits, _ = model.step_block(inputs[:3], None)
    hidden = logits._node.inputs[0]             # readout(hs): linear(stack of the steps' h)
    assert hidden.op == "stack"
    assert [parent.step for parent in hidden.inputs] == [5, 6, 7]
