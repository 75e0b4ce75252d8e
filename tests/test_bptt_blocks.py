"""tbptt_blocks (a model stepping a block of steps at once) runs exactly the TBPTT(k1, k2) that tbptt runs."""

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import bptt, charlm


def model_and_data(cell: str, fused: bool = False, steps: int = 23):
    model = charlm.CharLM(7, 5, cell, embedding_dim=3, rng=np.random.default_rng(0), dtype=np.float64)
    model.cell.fused = fused
    codes = np.random.default_rng(1).integers(0, 7, (steps + 1, 2))
    return model, codes[:-1], codes[1:]


def train(model, inputs, targets, k1, k2, blocks):
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    run = bptt.tbptt_blocks if blocks else bptt.tbptt
    step = model.step_block if blocks else model.step
    result = run(step, None, inputs, targets, charlm.next_char_loss, k1, k2, optimizer=optimizer, reduction="mean")
    return result, model.state_dict()


@pytest.mark.parametrize("k1, k2", [(4, 8), (5, 5), (3, 7), (6, 4), (1, 3), (23, 23), (5, 100)])
@pytest.mark.parametrize("cell, fused", [("lstm", False), ("lstm", True), ("rnn", False), ("gru", True)])
def test_updates_losses_and_weights_equal_tbptt(k1, k2, cell, fused):
    expected, expected_weights = train(*model_and_data(cell, fused), k1, k2, blocks=False)
    result, weights = train(*model_and_data(cell, fused), k1, k2, blocks=True)
    assert result.updates == expected.updates
    np.testing.assert_allclose(result.losses, expected.losses, rtol=1e-12)
    for name, value in expected_weights.items():
        np.testing.assert_allclose(weights[name], value, rtol=1e-10, atol=1e-13, err_msg=name)
    for got, want in zip(bptt.truncate(result.state) if cell == "lstm" else [result.state],
                         bptt.truncate(expected.state) if cell == "lstm" else [expected.state]):
        np.testing.assert_allclose(got.data, want.data, rtol=1e-10)


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
    np.testing.assert_allclose(state[1].data, state_by_step[1].data, rtol=1e-12)


def test_bad_arguments_raise_before_any_work():
    model, inputs, targets = model_and_data("lstm", steps=4)
    with pytest.raises(ValueError, match="k1"):
        bptt.tbptt_blocks(model.step_block, None, inputs, targets, charlm.next_char_loss, 0, 2)
    with pytest.raises(ValueError, match="differ in length"):
        bptt.tbptt_blocks(model.step_block, None, inputs, targets[:2], charlm.next_char_loss, 2, 2)
