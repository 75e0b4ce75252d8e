"""F.ctc_loss and nn.CTCLoss, as PyTorch's: the connectionist temporal classification loss.

The references are independent of the library:

- brute force for tiny cases: every path of T symbols over C classes, collapsed (repeats merged, then
  blanks dropped), the probabilities of those that spell the target summed (`np_brute_force`);
- Graves's alpha recursion written out in numpy, one sequence at a time, in plain loops
  (`np_ctc`), for larger batches;
- central differences of that numpy recursion in float64 for the gradients.
"""

import itertools

import numpy as np
import pytest
from test_op_gradients import assert_gradients_match, np_log_softmax

import microgradseq as mg
import microgradseq.nn.functional as F
from microgradseq import nn


# ---- references --------------------------------------------------------------------------------

def np_brute_force(log_probs: np.ndarray, target, blank: int = 0) -> float:
    """-log of the summed probability of every path over (T, C) log-probabilities that collapses to
    `target`: inf when none does."""
    frames, classes = log_probs.shape
    total = 0.0
    for path in itertools.product(range(classes), repeat=frames):
        merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        if [c for c in merged if c != blank] == list(target):
            total += np.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
    return -np.log(total) if total > 0 else np.inf


def np_ctc(log_probs: np.ndarray, target, blank: int = 0) -> float:
    """-log p(target) for one sequence of (T, C) log-probabilities by Graves's recursion over the
    extended target (b, l_1, b, ..., l_S, b), one state at a time."""
    extended = [blank]
    for label in target:
        extended += [label, blank]
    alpha = np.full(len(extended), -np.inf)
    alpha[0] = log_probs[0, blank]
    if target:
        alpha[1] = log_probs[0, extended[1]]
    for t in range(1, log_probs.shape[0]):
        previous = alpha.copy()
        for s, label in enumerate(extended):
            total = previous[s]
            if s >= 1:
                total = np.logaddexp(total, previous[s - 1])
            if s >= 2 and label != extended[s - 2]:
                total = np.logaddexp(total, previous[s - 2])
            alpha[s] = total + log_probs[t, label]
    return -(np.logaddexp(alpha[-1], alpha[-2]) if target else alpha[-1])


def np_ctc_batch(log_probs: np.ndarray, targets, input_lengths, blank: int = 0) -> np.ndarray:
    """np_ctc of each sequence of (T, N, C) log-probabilities on its own frames (a 0-frame input spells
    only the empty target)."""
    return np.array([np_ctc(log_probs[:length, n], target, blank) if length else (0.0 if not target else np.inf)
                     for n, (target, length) in enumerate(zip(targets, input_lengths))])


def random_log_probs(shape, seed: int = 0, scale: float = 1.5) -> np.ndarray:
    return np_log_softmax(np.random.default_rng(seed).normal(scale=scale, size=shape), axis=-1)


def padded(targets, fill: int = 7) -> np.ndarray:
    """The targets as PyTorch's padded (N, S) form, the padding a value no class has (never read)."""
    out = np.full((len(targets), max(map(len, targets))), fill, np.int64)
    for n, target in enumerate(targets):
        out[n, :len(target)] = target
    return out


# ---- values ------------------------------------------------------------------------------------

TINY = [  # (T, C, target, blank)
    (3, 3, [1, 2], 0),
    (4, 3, [1, 1], 0),            # "aa": needs a blank between, so 3 frames at least
    (3, 2, [1, 1], 0),
    (5, 3, [2, 1, 2], 0),
    (4, 3, [], 0),                # the empty target: every frame blank
    (4, 3, [0, 1], 2),            # blank not 0
    (2, 3, [1, 1], 0),            # impossible: inf
    (1, 2, [1], 0),
]


@pytest.mark.parametrize("frames, classes, target, blank", TINY)
def test_tiny_cases_equal_the_sum_over_every_alignment_path(frames, classes, target, blank):
    log_probs = random_log_probs((frames, classes), seed=frames * 10 + classes)
    expected = np_brute_force(log_probs, target, blank)
    unbatched = F.ctc_loss(mg.tensor(log_probs), mg.tensor(np.array(target, np.int64)), frames, len(target),
                           blank=blank, reduction="none")
    batched = F.ctc_loss(mg.tensor(log_probs[:, None]), np.array([target], np.int64).reshape(1, -1), [frames],
                         [len(target)], blank=blank, reduction="none")
    assert unbatched.shape == () and batched.shape == (1,)
    np.testing.assert_allclose([unbatched.item(), batched.item()], [expected] * 2, rtol=1e-12)


TARGETS = [[1, 2, 2], [3], [1, 1], [], [2, 3, 1, 3]]
INPUT_LENGTHS = [9, 5, 2, 4, 7]         # the third is too short for "aa" (3 frames): inf


def test_a_batch_of_different_lengths_matches_the_recursion_per_sequence_padded_or_concatenated():
    """Sequences of other input and target lengths in one batch (T = 9): each loss is its own sequence's,
    read off at its own last frame; padded and concatenated targets give the same losses."""
    log_probs = random_log_probs((9, 5, 4), seed=1)
    expected = np_ctc_batch(log_probs, TARGETS, INPUT_LENGTHS)
    lengths = [len(t) for t in TARGETS]
    from_padded = F.ctc_loss(mg.tensor(log_probs), padded(TARGETS), INPUT_LENGTHS, lengths, reduction="none")
    concatenated = np.concatenate([np.array(t, np.int64) for t in TARGETS])
    from_concatenated = F.ctc_loss(mg.tensor(log_probs), mg.tensor(concatenated), mg.tensor(INPUT_LENGTHS),
                                   tuple(lengths), reduction="none")
    assert np.isinf(expected[2])
    np.testing.assert_allclose(from_padded.data, expected, rtol=1e-12)
    np.testing.assert_allclose(from_concatenated.data, expected, rtol=1e-12)


def test_a_blank_other_than_0_is_where_no_label_is_read():
    blank = 3
    targets = [[0, 2, 2], [1], [], [2, 0, 1]]
    log_probs = random_log_probs((7, 4, 4), seed=2)
    expected = np_ctc_batch(log_probs, targets, [7, 6, 3, 7], blank)
    out = F.ctc_loss(mg.tensor(log_probs), padded(targets), [7, 6, 3, 7], [3, 1, 0, 3], blank=blank,
                     reduction="none")
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


def test_repeated_labels_need_a_blank_between_them():
    """"aa" in 2 frames is impossible (inf) and in 3 has one path, a-blank-a; "ab" in 2 has one, a-b."""
    log_probs = random_log_probs((3, 1, 3), seed=3)
    two_frames = F.ctc_loss(mg.tensor(log_probs), [[1, 1]], [2], [2], reduction="none")
    three = F.ctc_loss(mg.tensor(log_probs), [[1, 1]], [3], [2], reduction="none")
    different = F.ctc_loss(mg.tensor(log_probs), [[1, 2]], [2], [2], reduction="none")
    assert two_frames.item() == np.inf
    np.testing.assert_allclose(three.item(), -(log_probs[0, 0, 1] + log_probs[1, 0, 0] + log_probs[2, 0, 1]))
    np.testing.assert_allclose(different.item(), -(log_probs[0, 0, 1] + log_probs[1, 0, 2]))


def test_an_input_of_no_frames_spells_only_the_empty_target():
    log_probs = random_log_probs((3, 2, 3), seed=4)
    out = F.ctc_loss(mg.tensor(log_probs), [[1], [1]], [0, 0], [0, 1], reduction="none")
    assert out.tolist() == [0.0, np.inf]


def test_a_nan_in_a_sequence_s_frames_makes_its_loss_nan_as_pytorchs():
    log_probs = random_log_probs((4, 2, 3), seed=15)
    log_probs[1, :, 1] = np.nan           # (class 2, which no target reads, could be NaN unseen)
    out = F.ctc_loss(mg.tensor(log_probs), [[1], [1]], [4, 1], [1, 1], reduction="none")
    assert np.isnan(out.data[0]) and out.data[1] == -log_probs[0, 1, 1]


def test_frames_past_a_sequence_s_length_reach_neither_its_loss_nor_its_gradient():
    """NaN in every frame past each sequence's input length (all of them for a sequence of none, as padding
    after a masked log_softmax can hold): the losses and gradients of clean padding, and 0 gradient there,
    as PyTorch's kernel, which zeroes the gradient past each input length."""
    clean = random_log_probs((4, 3, 3), seed=16)
    lengths = [4, 2, 0]
    padded_with_nan = clean.copy()
    for n, length in enumerate(lengths):
        padded_with_nan[length:, n] = np.nan
    grads = []
    for log_probs in (clean, padded_with_nan):
        x = mg.tensor(log_probs, requires_grad=True)
        out = F.ctc_loss(x, [[1, 2], [2, 0], [0, 0]], lengths, [2, 1, 0], reduction="none")
        out.sum().backward()
        np.testing.assert_allclose(out.data, np_ctc_batch(clean, [[1, 2], [2], []], lengths), rtol=1e-12)
        grads.append(x.grad)
    np.testing.assert_array_equal(grads[1], grads[0])
    assert not grads[1][2:, 1].any() and not grads[1][:, 2].any()


def test_zero_infinity_leaves_a_nan_loss_nan_as_pytorchs():
    """PyTorch's zero_infinity replaces only +inf: a NaN loss stays NaN."""
    log_probs = random_log_probs((3, 2, 3), seed=17)
    log_probs[1, 0, 1] = np.nan
    out = F.ctc_loss(mg.tensor(log_probs), [[1, 0], [1, 1]], [3, 2], [1, 2], reduction="none", zero_infinity=True)
    assert np.isnan(out.data[0]) and out.data[1] == 0.0


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_every_reduction_and_zero_infinity(reduction, zero_infinity):
    """"mean" divides each loss by its target length clamped to >= 1, then averages; zero_infinity
    turns the inf of an impossible target into 0 (without it the sum and mean are inf)."""
    log_probs = random_log_probs((9, 5, 4), seed=5)
    losses = np_ctc_batch(log_probs, TARGETS, INPUT_LENGTHS)
    if zero_infinity:
        losses = np.where(np.isinf(losses), 0.0, losses)
    lengths = np.array([len(t) for t in TARGETS])
    expected = {"none": losses, "sum": losses.sum(), "mean": (losses / np.maximum(lengths, 1)).mean()}[reduction]
    out = F.ctc_loss(mg.tensor(log_probs), padded(TARGETS), INPUT_LENGTHS, lengths, reduction=reduction,
                     zero_infinity=zero_infinity)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


def test_float32_log_probs_give_a_float32_loss_close_to_float64():
    log_probs = random_log_probs((9, 5, 4), seed=6)
    lengths = [len(t) for t in TARGETS]
    x = mg.tensor(log_probs.astype(np.float32), requires_grad=True)
    out = F.ctc_loss(x, padded(TARGETS), INPUT_LENGTHS, lengths, reduction="none", zero_infinity=True)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32 and np.isfinite(x.grad).all()
    expected = np_ctc_batch(log_probs.astype(np.float32).astype(np.float64), TARGETS, INPUT_LENGTHS)
    np.testing.assert_allclose(out.data, np.where(np.isinf(expected), 0.0, expected), rtol=1e-5)


def test_lengths_as_tuples_lists_ints_and_integer_tensors_agree():
    log_probs = random_log_probs((4, 2, 3), seed=7)
    expected = np_ctc_batch(log_probs, [[1, 2], [2]], [4, 3])
    for inputs, targets in [((4, 3), (2, 1)), ([4, 3], [2, 1]), (mg.tensor([4, 3]), mg.tensor([2, 1])),
                            (np.array([4, 3], np.int32), np.array([2, 1], np.uint8))]:
        out = F.ctc_loss(mg.tensor(log_probs), mg.tensor([[1, 2], [2, 0]]), inputs, targets, reduction="none")
        np.testing.assert_allclose(out.data, expected, rtol=1e-12)


def test_the_unbatched_form_is_the_batch_of_one():
    log_probs = random_log_probs((6, 4), seed=8)
    target = mg.tensor([3, 1, 3])
    for reduction, expected in [("none", np_ctc(log_probs, [3, 1, 3])), ("sum", np_ctc(log_probs, [3, 1, 3])),
                                ("mean", np_ctc(log_probs, [3, 1, 3]) / 3)]:
        out = F.ctc_loss(mg.tensor(log_probs), target, mg.tensor(6), mg.tensor(3), reduction=reduction)
        assert out.shape == ()
        np.testing.assert_allclose(out.item(), expected, rtol=1e-12)


# ---- gradients ---------------------------------------------------------------------------------

GRADIENT_TARGETS = [[1, 2, 2], [3], [], [2, 3, 1]]
GRADIENT_LENGTHS = [6, 4, 3, 5]


def np_losses(log_probs):
    return np_ctc_batch(log_probs, GRADIENT_TARGETS, GRADIENT_LENGTHS)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_gradient_with_respect_to_log_probs_matches_central_differences(reduction):
    """The true derivative of the loss in each log-probability: 0 past a sequence's own frames and for
    classes its target never reads. (PyTorch's own kernel gives it plus e^log_probs, the same once a
    log_softmax's backward follows: issue 52241.)"""
    lengths = np.array([len(t) for t in GRADIENT_TARGETS])
    reduce = {"none": lambda v: v, "sum": np.sum, "mean": lambda v: np.mean(v / np.maximum(lengths, 1))}[reduction]
    assert_gradients_match(
        lambda t: F.ctc_loss(t, padded(GRADIENT_TARGETS), GRADIENT_LENGTHS, lengths, reduction=reduction),
        lambda a: reduce(np_losses(a)), random_log_probs((6, 4, 5), seed=9))


def test_gradient_through_a_log_softmax_of_logits_matches_central_differences():
    """What training sees: logits -> log_softmax -> ctc_loss, here also unbatched and with blank 4."""
    logits = np.random.default_rng(10).normal(size=(5, 3, 5))
    lengths = [len(t) for t in GRADIENT_TARGETS[:3]]
    assert_gradients_match(
        lambda z: F.ctc_loss(F.log_softmax(z, dim=2), padded(GRADIENT_TARGETS[:3]), [5, 4, 3], lengths),
        lambda a: np.mean(np_ctc_batch(np_log_softmax(a, 2), GRADIENT_TARGETS[:3], [5, 4, 3]) /
                          np.maximum(lengths, 1)), logits)
    assert_gradients_match(
        lambda z: F.ctc_loss(F.log_softmax(z, dim=1), [0, 2, 0], 5, 3, blank=4, reduction="sum"),
        lambda a: np_ctc(np_log_softmax(a, 1), [0, 2, 0], blank=4), logits[:, 0])


def test_zero_infinity_gives_the_impossible_sequence_no_gradient_and_leaves_the_others():
    log_probs = random_log_probs((3, 2, 3), seed=11)
    grads = []
    for zero_infinity in (False, True):
        x = mg.tensor(log_probs, requires_grad=True)
        F.ctc_loss(x, [[1, 1], [2, 0]], [2, 3], [2, 1], reduction="sum", zero_infinity=zero_infinity).backward()
        grads.append(x.grad)
    for grad in grads:
        assert np.isfinite(grad).all() and not grad[:, 0].any()
    np.testing.assert_array_equal(grads[0], grads[1])
    one = mg.tensor(log_probs[:, 1:], requires_grad=True)
    F.ctc_loss(one, [[2]], [3], [1], reduction="sum").backward()
    np.testing.assert_allclose(grads[1][:, 1:], one.grad, rtol=1e-12)


# ---- errors ------------------------------------------------------------------------------------

BAD_CALLS = [  # (targets, input_lengths, target_lengths, keywords, error, message)
    ([[1, 2], [1, 0]], [4, 5], [2, 1], {}, ValueError, r"input_lengths must be at most T = 4, got 5"),
    ([[1, 2], [1, 0]], [4, -1], [2, 1], {}, ValueError, r"input_lengths must be >= 0, got -1"),
    ([[1, 2], [1, 0]], [4, 4], [3, 1], {}, ValueError, r"padded targets must have shape \(2, S\) with S >= the "
                                                       r"longest target length 3, got \(2, 2\)"),
    ([1, 2, 1], [4, 4], [2, 2], {}, ValueError, r"concatenated targets must hold sum\(target_lengths\) = 4 labels, "
                                                r"got 3"),
    ([[1, 0], [1, 0]], [4, 4], [2, 1], {}, ValueError, r"targets must not hold the blank \(0\)"),
    ([[1, 2], [1, 0]], [4, 4], [2, 1], {"blank": 2}, ValueError, r"targets must not hold the blank \(2\)"),
    ([[1, 3], [1, 0]], [4, 4], [2, 1], {}, ValueError, r"target labels must lie in \[0, 3\), got values from 1 to 3"),
    ([[1.0, float("nan")]] * 2, [4, 4], [2, 1], {}, ValueError, r"float targets must be finite to be cast to "
                                                                r"integers, got float64 holding nan"),
    ([[True, False]] * 2, [4, 4], [2, 1], {}, ValueError, r"expected integer targets, got dtype bool"),
    ([[1, 2], [1, 0]], [4], [2, 1], {}, ValueError, r"expected input_lengths of shape \(2,\), one per sequence, "
                                                    r"got 1"),
    ([[1, 2], [1, 0]], [4.0, 4.0], [2, 1], {}, ValueError, r"expected input_lengths as integers"),
    ([[1, 2], [1, 0]], [4, 4], [2, 1], {"blank": 3}, ValueError, r"blank must be an integer in \[0, 3\), got 3"),
    ([[1, 2], [1, 0]], [4, 4], [2, 1], {"reduction": "average"}, ValueError, r"reduction must be one of"),
    ([[1, 2], [1, 0]], [4, 4], [2, 1], {"zero_infinity": 1}, ValueError, r"zero_infinity must be True or False"),
]


@pytest.mark.parametrize("targets, input_lengths, target_lengths, keywords, error, message", BAD_CALLS)
def test_bad_arguments_raise_naming_ctc_loss_and_change_nothing(targets, input_lengths, target_lengths, keywords,
                                                               error, message):
    log_probs = random_log_probs((4, 2, 3), seed=12)
    x = mg.tensor(log_probs, requires_grad=True)
    with pytest.raises(error, match="^ctc_loss: " + message):
        F.ctc_loss(x, targets, input_lengths, target_lengths, **keywords)
    assert x.grad is None and np.array_equal(x.data, log_probs)


@pytest.mark.parametrize("shape", [(4,), (4, 2, 3, 1), ()])
def test_log_probs_of_another_shape_raise_naming_ctc_loss(shape):
    with pytest.raises(ValueError, match=r"^ctc_loss: expected log_probs of shape \(T, N, C\) or \(T, C\), got shape"):
        F.ctc_loss(mg.zeros(shape), [1], [1], [1])
    with pytest.raises(TypeError, match="^ctc_loss: expected floating-point log_probs, got dtype int64"):
        F.ctc_loss(mg.tensor([[0, 0]]), [1], [1], [1])


# ---- the module --------------------------------------------------------------------------------

def test_the_module_passes_its_options_on_and_prints_as_pytorchs():
    log_probs = random_log_probs((4, 2, 3), seed=13)
    criterion = nn.CTCLoss(blank=2, reduction="sum", zero_infinity=True)
    assert repr(nn.CTCLoss()) == "CTCLoss()" and (criterion.blank, criterion.reduction) == (2, "sum")
    out = criterion(mg.tensor(log_probs), [[1, 1], [0, 1]], [2, 4], [2, 2])
    np.testing.assert_allclose(out.item(), np_ctc(log_probs[:, 1], [0, 1], blank=2), rtol=1e-12)   # (inf -> 0)
    with pytest.raises(ValueError, match="^CTCLoss: reduction must be one of"):
        nn.CTCLoss(reduction="batchmean")
    with pytest.raises(ValueError, match="^CTCLoss: blank must be an integer >= 0, got -1"):
        nn.CTCLoss(blank=-1)
    with pytest.raises(ValueError, match="^CTCLoss: zero_infinity must be True or False"):
        nn.CTCLoss(zero_infinity="yes")


def test_the_docstring_examples_of_pytorchs_ctcloss_run_with_their_shapes():
    """torch.nn.CTCLoss's three examples (padded, unpadded, unbatched), torch changed to mg, one seed."""
    mg.manual_seed(0)
    T, C, N, S, S_min = 50, 20, 16, 30, 10
    input = mg.randn(T, N, C).log_softmax(2).detach().requires_grad_()
    target = mg.randint(low=1, high=C, size=(N, S), dtype=mg.long)
    input_lengths = mg.full(size=(N,), fill_value=T, dtype=mg.long)
    target_lengths = mg.randint(low=S_min, high=S, size=(N,), dtype=mg.long)
    loss = nn.CTCLoss()(input, target, input_lengths, target_lengths)
    loss.backward()
    assert loss.shape == () and np.isfinite(loss.item()) and input.grad.shape == (T, N, C)

    target_lengths = mg.randint(low=1, high=T, size=(N,), dtype=mg.long)
    target = mg.randint(low=1, high=C, size=(int(target_lengths.sum()),), dtype=mg.long)
    loss = nn.CTCLoss(reduction="none")(input, target, input_lengths, target_lengths)
    assert loss.shape == (N,) and (loss.data > 0).all()

    input = mg.randn(T, C).log_softmax(1).detach().requires_grad_()
    target_lengths = mg.randint(low=1, high=T, size=(), dtype=mg.long)
    target = mg.randint(low=1, high=C, size=(int(target_lengths),), dtype=mg.long)
    loss = nn.CTCLoss()(input, target, mg.tensor(T, dtype=mg.long), target_lengths)
    loss.backward()
    assert loss.shape == () and input.grad.shape == (T, C)


# ---- training ----------------------------------------------------------------------------------

def digit_frames(rng, count: int, frames: int = 9, digits: int = 3):
    """Noisy one-hot frames (T, N, 1 + digits) spelling strings of 1-3 digits in 1..digits, each digit
    held for 1-2 frames, a blank frame (class 0) or none before it (always one between equal digits),
    blanks after; and the strings."""
    inputs = np.zeros((frames, count, 1 + digits))
    strings = []
    for n in range(count):
        string = [int(d) for d in rng.integers(1, 1 + digits, size=rng.integers(1, 4))]
        path = []
        for i, digit in enumerate(string):
            blanks = 1 if i and digit == string[i - 1] else int(rng.integers(0, 2))
            path += [0] * blanks + [digit] * int(rng.integers(1, 3))
        inputs[np.arange(frames), n, path + [0] * (frames - len(path))] = 1.0
        strings.append(string)
    return inputs + 0.3 * rng.normal(size=inputs.shape), strings


def test_an_lstm_learns_to_read_digit_strings_with_ctc():
    """A small nn.LSTM + Linear + log_softmax trained with CTCLoss on noisy frames: the loss falls to under a
    tenth of where it started, and a greedy reading (the likeliest class per frame, collapsed) spells most
    new strings right."""
    mg.manual_seed(0)
    rng = np.random.default_rng(14)
    lstm, head = nn.LSTM(4, 12), nn.Linear(12, 4)
    optimizer = mg.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.05)
    criterion = nn.CTCLoss()
    losses = []
    for _ in range(150):
        frames, strings = digit_frames(rng, 16)
        hidden, _ = lstm(mg.tensor(frames, dtype=mg.float32))
        log_probs = F.log_softmax(head(hidden), dim=2)
        loss = criterion(log_probs, mg.tensor(np.concatenate(strings)), [9] * 16, [len(s) for s in strings])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.1 * np.mean(losses[:3])
    frames, strings = digit_frames(rng, 32)
    best = head(lstm(mg.tensor(frames, dtype=mg.float32))[0]).data.argmax(axis=2)       # greedy: (T, N)
    read = [[c for t, c in enumerate(path) if c and (t == 0 or c != path[t - 1])] for path in best.T.tolist()]
    assert np.mean([r == s for r, s in zip(read, strings)]) > 0.75


def test_float_targets_are_cast_to_int64_as_pytorchs_ctc_loss_casts_them():
    """PyTorch's ctc_loss takes targets.to(kLong): the float labels of torch.Tensor(...) padded by pad_sequence
    (AssemblyAI's speech recognition tutorial) give the integer targets' loss and gradient."""
    log_probs = random_log_probs((6, 2, 5), seed=3)
    losses, grads = [], []
    for targets in ([[1, 2, 4], [3, 3, 0]], mg.Tensor([[1, 2, 4], [3, 3, 0]]), np.array([[1.0, 2.9, 4.2], [3, 3, 0]])):
        x = mg.tensor(log_probs, requires_grad=True)
        loss = F.ctc_loss(x, targets, [6, 5], [3, 2])
        loss.backward()
        losses.append(loss.item())
        grads.append(x.grad.copy())
    assert losses[0] == losses[1] == losses[2] and (grads[0] == grads[1]).all() and (grads[0] == grads[2]).all()
