"""A character-level language model on the built-in text, trained with TBPTT(k1, k2).

The model reads one character per step and predicts the next:

    e_t      = E[x_t]                          (Embedding: a row per character)
    state_t  = cell(e_t, state_(t-1))          (RNNCell, LSTMCell or GRUCell)
    logits_t = h_t W_out^T + b_out             (Linear readout; h_t is the cell's output)
    l_t      = cross_entropy(logits_t, x_(t+1)), averaged over the batch

The text is cut into `batch_size` parallel streams (`mg.bptt.batchify`) and
the TBPTT runner trains on them, carrying the state from each update's window
to the next within a pass over the text. Each pass starts again from a zero
state, since the end of a stream is not followed by its own beginning; the
first updates of a pass, before the state has warmed up, cost a little more,
which shows as a small spike in the training curve once a pass (about
len(text) / batch_size steps). `split` holds out the end of the text, and `evaluate` measures
the loss there, so the figure quoted is on characters the model never trained
on. Used by `python -m microgradseq demo` and `examples/char_lm.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Callable

import numpy as np

from . import bptt, optim
from .autograd import no_grad
from .metadata import at_step, time_steps
from .checks import is_int, positive_int
from .functional import cross_entropy, softmax
from .nn import GRUCell, LSTMCell, RNNCell
from .nn.cells import gru_recurrence, lstm_recurrence, rnn_recurrence
from .nn.fused import gru_sequence, lstm_sequence, rnn_sequence
from .nn.fused.recording import forward_mode
from .nn.linear import Embedding, Linear
from .nn.module import Module
from .ops import linear, stack
from .tensor import Tensor, owned

CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


def load_text() -> str:
    """The text that ships with the package (about 24 KB, original, public domain)."""
    return resources.files("microgradseq").joinpath("data/tiny.txt").read_text(encoding="utf-8")


class Vocabulary:
    """The characters of a text, each with an integer code (sorted, so codes are reproducible)."""

    def __init__(self, text: str) -> None:
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """The codes of `text`'s characters; ValueError naming any character not in the vocabulary."""
        unknown = sorted(set(text) - self.index.keys())
        if unknown:
            raise ValueError(f"Vocabulary: characters not in the vocabulary: {''.join(unknown)!r}")
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, codes: Any) -> str:
        """The characters of a sequence of codes; ValueError naming a code outside 0 .. len - 1."""
        codes = [int(c) for c in np.ravel(codes)]
        bad = [c for c in codes if not 0 <= c < len(self.chars)]
        if bad:
            raise ValueError(f"Vocabulary.decode: codes must lie in 0 .. {len(self.chars) - 1}, got {bad[0]}")
        return "".join(self.chars[c] for c in codes)


class CharLM(Module):
    """Embedding -> recurrent cell -> Linear readout, one character per step."""

    def __init__(self, vocab_size: int, hidden_size: int, cell: str = "lstm", embedding_dim: int = 32,
                 rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"CharLM: cell must be one of {sorted(CELLS)}, got {cell!r}")
        self.cell_type = cell
        self.embedding = Embedding(vocab_size, embedding_dim, rng=rng, dtype=dtype)
        self.cell = CELLS[cell](embedding_dim, hidden_size, rng=rng, dtype=dtype)
        self.readout = Linear(hidden_size, vocab_size, rng=rng, dtype=dtype)

    def hidden(self, state: Any) -> Tensor:
        """h_t: the whole state for RNN and GRU, the first of (h, c) for LSTM."""
        return state[0] if self.cell_type == "lstm" else state

    def step(self, codes: Any, state: Any) -> tuple[Tensor, Any]:
        """One step: (logits for the next character, new state). `step(x_t, state)` as tbptt wants."""
        state = self.cell(self.embedding(codes), state)
        return self.readout(self.hidden(state)), state

    def step_block(self, codes: Any, state: Any) -> tuple[Tensor, Any]:
        """Steps of a block at once, (k, B) codes: (logits (k, B, V), new state), as
        `bptt.tbptt_blocks` wants. The same values as k calls of `step`, with the embedding lookup,
        the input projection and the readout of all k steps one op each; with a `fused=True` cell
        the recurrence is one fused sequence node."""
        x = self.embedding(np.asarray(codes))
        steps, batch = x.shape[0], x.shape[1]
        cell = self.cell
        if state is None:
            zeros = owned(np.zeros((batch, cell.hidden_size), dtype=cell.weight_hh.dtype))
            state = (zeros, zeros) if self.cell_type == "lstm" else zeros
        weight_ih, weight_hh, bias_ih, bias_hh = cell._weights()
        if cell.fused and not forward_mode():
            if self.cell_type == "lstm":
                hs, state, _ = lstm_sequence(x, *state, weight_ih, weight_hh, bias_ih, bias_hh)
            elif self.cell_type == "gru":
                hs, state, _ = gru_sequence(x, state, weight_ih, weight_hh, bias_ih, bias_hh)
            else:
                hs, state, _ = rnn_sequence(x, state, weight_ih, weight_hh, bias_ih, bias_hh, cell.nonlinearity)
            if steps == 1:      # a lone step (behind a cut, k1 > k2): its output read from its state, as `step`
                hs = self.hidden(state).reshape(1, batch, cell.hidden_size)      # does, so the cut stops it
        else:
            recurrence = {"rnn": rnn_recurrence, "lstm": lstm_recurrence, "gru": gru_recurrence}[self.cell_type]
            extra = (cell.nonlinearity,) if self.cell_type == "rnn" else ()
            if self.cell_type == "gru" or bias_ih is None:
                projected = linear(x, weight_ih, bias_ih)
            else:                               # b_hh joins b_ih once for the block, as in a layer
                projected, bias_hh = linear(x, weight_ih, bias_ih + bias_hh), None
            outputs = []
            for t in time_steps(steps):         # (each step's nodes stamped with its step, for drawings)
                state = recurrence(projected[t - 1], state, weight_hh, bias_hh, *extra)
                outputs.append(self.hidden(state))
            hs = stack(outputs)
        return self.readout(hs), state


def split(codes: np.ndarray, valid_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(train, valid): the text's codes with the last `valid_fraction` of them held out for validation."""
    if not 0 < valid_fraction < 1:
        raise ValueError(f"split: valid_fraction must lie strictly between 0 and 1, got {valid_fraction!r}")
    held_out = max(2, round(len(codes) * valid_fraction))
    if len(codes) - held_out < 2:
        raise ValueError(f"split: {len(codes)} characters are too few to hold out {valid_fraction:.0%}")
    return codes[:-held_out], codes[-held_out:]


def evaluate(model: CharLM, codes: np.ndarray) -> float:
    """The mean loss (nats per character) of predicting each next character of `codes`.

    The text is read as one stream from a zero state, under `no_grad` and without
    truncation: every prediction sees everything before it, and nothing is recorded.
    It goes `EVALUATION_BLOCK` characters a call (`step_block`, the state carried on).
    """
    if len(codes) < 2:
        raise ValueError(f"evaluate: need at least 2 characters, got {len(codes)}")
    codes = np.asarray(codes).reshape(-1, 1)        # one stream
    total, state = 0.0, None
    with no_grad():
        for start in range(0, len(codes) - 1, EVALUATION_BLOCK):
            stop = min(start + EVALUATION_BLOCK, len(codes) - 1)
            logits, state = model.step_block(codes[start:stop], state)
            total += next_char_losses(logits, codes[start + 1:stop + 1]).item()
    return total / (len(codes) - 1)


EVALUATION_BLOCK = 256      # characters per step_block call in `evaluate`: few calls, small arrays


def next_char_loss(logits: Tensor, target: Any) -> Tensor:
    """Cross-entropy of the next character, averaged over the batch's streams."""
    return cross_entropy(logits, target)


def next_char_losses(logits: Tensor, targets: Any) -> Tensor:
    """The sum of `next_char_loss` over a block's steps, logits (k, B, V) and targets (k, B) (an
    array, a tensor, or k rows of codes), as one cross-entropy node:
    sum_t mean_b CE_tb = (sum over all t, b of CE_tb) / B."""
    if logits.ndim != 3:
        raise ValueError(f"next_char_losses: expected logits of shape (steps, batch, vocab), "
                         f"got shape {logits.shape}")
    try:
        codes = targets.data if isinstance(targets, Tensor) else np.stack([np.asarray(row) for row in targets])
    except ValueError:
        codes = None            # rows of different lengths
    if codes is None or codes.shape != logits.shape[:2] or codes.dtype.kind not in "iu":
        got = "rows of different lengths" if codes is None else f"shape {codes.shape} and dtype {codes.dtype}"
        raise ValueError(f"next_char_losses: expected integer targets of shape {logits.shape[:2]} "
                         f"(steps, batch), got {got}")
    vocab = logits.shape[-1]
    return cross_entropy(logits.reshape(-1, vocab), codes.reshape(-1), reduction="sum") / logits.shape[1]


@dataclass
class TrainingLog:
    """What training measured at each update: when (time steps trained so far), the loss
    (nats per character) and the gradient norm before clipping; and, when a validation text
    is given, its loss (`evaluate`) after `valid_steps` time steps of training."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    valid_steps: list[int] = field(default_factory=list)
    valid_losses: list[float] = field(default_factory=list)


def train(model: CharLM, codes: np.ndarray, *, steps: int, k1: int, k2: int, batch_size: int = 32,
          lr: float = 3e-3, max_norm: float = 5.0,
          on_update: Callable[[int, float], None] | None = None,
          valid_codes: np.ndarray | None = None, evaluations: int = 10) -> TrainingLog:
    """Train for `steps` time steps (each reading `batch_size` characters) with TBPTT(k1, k2) and Adam.

    `on_update(step, loss)` is called after each update with the number of time
    steps trained so far and the update's loss. With `valid_codes`, the loss on
    them (`evaluate`) is measured before training and `evaluations` times during
    it, evenly spaced, each right after an update (on multiples of k1 within the
    first pass over the text), the last after the final update.

    The text's streams are walked in passes, one runner call each, the state
    starting from zeros at each pass. Measuring the validation loss does not
    change training: it happens inside the runner's call, right after the
    optimizer's step at the checkpoint's update, so with or without
    `valid_codes` the updates, their windows and the weights are the same.
    The runner hands the model a block of steps at a time (`bptt.tbptt_blocks`
    with `CharLM.step_block`): the same TBPTT(k1, k2), with the embedding, input
    projection, readout and loss of the k1 new steps one op each. At every
    update the gradient is clipped to `max_norm` (`clip_grad_norm_`) before
    Adam steps.
    """
    steps = positive_int(steps, "steps", "train")   # k1, k2 and batch_size are checked where they are used
    inputs, targets = bptt.next_step_pairs(bptt.batchify(codes, batch_size))
    params = list(model.parameters())
    optimizer = optim.Adam(params, lr=lr)
    log = TrainingLog()

    # One runner call a pass over the text (the state resets between passes), whatever `valid_codes`:
    # evaluating happens inside the call, after the optimizer's step at a checkpoint, so it never
    # splits an update's window and training is the same with or without it.
    pass_length = len(inputs)                  # steps in a pass over the text (the last may be shorter)
    checkpoints = set()                        # the updates after which the validation loss is measured
    if valid_codes is not None:
        evaluations = positive_int(evaluations, "evaluations", "train")
        k1 = positive_int(k1, "k1", "train")

        def update_at_or_after(t: int) -> int:
            """The step of the first update at or after step t (the runner's updates, counted from the
            start of t's pass)."""
            start = (t - 1) // pass_length * pass_length
            return start + next(u for u in bptt.update_steps(min(pass_length, steps - start), k1) if start + u >= t)

        # evenly spaced, on multiples of k1 (updates within the first pass; later, the next update)
        checkpoints = {update_at_or_after(min(steps, k1 * max(1, round(steps * k / (evaluations * k1)))))
                       for k in range(1, evaluations)} | {steps}
        log.valid_steps.append(0)
        log.valid_losses.append(evaluate(model, valid_codes))

    done, last = 0, 0                          # time steps before the current pass; the last update's step

    def clip_and_log(u: int, loss: float) -> None:
        nonlocal last
        last = done + u                        # u counts within the pass
        log.steps.append(last)
        log.losses.append(loss)
        log.grad_norms.append(optim.clip_grad_norm_(params, max_norm).item())
        if on_update is not None:
            on_update(last, loss)

    class StepThenEvaluate:
        """Adam, measuring the validation loss right after the step of a checkpoint's update
        (`evaluate` runs under no_grad: it records nothing and leaves every gradient as it was)."""

        def step(self) -> None:
            optimizer.step()
            if last in checkpoints:
                log.valid_steps.append(last)
                log.valid_losses.append(evaluate(model, valid_codes))

        def zero_grad(self) -> None:
            optimizer.zero_grad()

    for done in range(0, steps, pass_length):  # each pass starts from zeros
        length = min(pass_length, steps - done)
        bptt.tbptt_blocks(model.step_block, None, inputs[:length], targets[:length], next_char_loss, k1, k2,
                          optimizer=StepThenEvaluate(), on_update=clip_and_log, reduction="mean",
                          block_loss_fn=next_char_losses)
    return log


def sample(model: CharLM, vocab: Vocabulary, prompt: str, length: int, temperature: float = 1.0,
           rng: np.random.Generator | None = None) -> str:
    """Continue `prompt` by `length` characters drawn from softmax(logits / temperature)."""
    if not temperature > 0:                 # (NaN is not positive either)
        raise ValueError(f"sample: temperature must be positive, got {temperature}")
    if not is_int(length) or length < 0:
        raise ValueError(f"sample: length must be a non-negative integer, got {length!r}")
    if not prompt:
        raise ValueError("sample: the prompt must hold at least one character")
    rng = rng or np.random.default_rng()
    out, state = [], None
    with no_grad():
        for code in vocab.encode(prompt):
            logits, state = model.step(np.array([code]), state)
        for _ in range(length):
            p = softmax(logits / temperature).numpy()[0].astype(np.float64)
            code = int(rng.choice(len(p), p=p / p.sum()))
            out.append(code)
            logits, state = model.step(np.array([code]), state)
    return prompt + vocab.decode(out)


@dataclass
class Window:
    """One TBPTT update rebuilt for a picture: the injected loss and every step's h_t."""

    loss: Tensor
    hidden: dict[int, Tensor]
    cut: int
    update: int


def record_window(model: CharLM, codes: np.ndarray, k1: int, k2: int) -> Window:
    """Rebuild the first update of TBPTT(k1, k2) whose cut is inside the sequence,
    u = the smallest multiple of k1 above k2, on one stream: steps 1..u, the state
    held constant at c = u - k2 (and behind it), the losses of (u - k1, u]
    injected, backprop keeping the graph, so it can be drawn and every h_t's
    gradient dL_u/dh_t read."""
    update = k1 * (k2 // k1 + 1)
    cut = update - k2
    if len(codes) <= update:
        raise ValueError(f"record_window: need more than {update} characters, got {len(codes)}")
    state, hidden, loss = None, {}, None
    for t in range(1, update + 1):
        with at_step(t):
            logits, state = model.step(codes[t - 1:t], state)
            if t <= cut:                       # at or behind the cut the state is a constant
                state = bptt.truncate(state, k2=k2)
            if t > update - k1:
                if t <= cut:                   # depth 0: only the readout of the constant state
                    logits = model.readout(model.hidden(state))
                term = next_char_loss(logits, codes[t:t + 1])
                loss = term if loss is None else loss + term
        hidden[t] = model.hidden(state)
    loss.backward(retain_graph=True)
    return Window(loss=loss, hidden=hidden, cut=cut, update=update)
