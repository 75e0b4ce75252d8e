"""Table 4, the demo's workload: a character LSTM trained with TBPTT(20, 40), Adam and clipping.

    python benchmarks/demo_workload.py              # float32 and float64
    python benchmarks/demo_workload.py --quick

What `python -m microgradseq demo` runs (`microgradseq.charlm`): embedding 32,
LSTM hidden 128, 32 streams of the built-in text, TBPTT(k1=20, k2=40) with
`reduction="mean"`, gradients clipped to norm 5, Adam (lr 3e-3). One timed
call trains `STEPS` time steps from a zero state.

Against `NumpyTBPTT`, the same training written by hand in numpy for speed:
every k1 steps it backpropagates the last k2 steps, injecting the newest k1
losses. Over each window of k1 new steps the embedding lookup, the input
projection, the readout and its softmax are one product each, the gate
derivatives of a block are computed for all its steps at once (and kept: a
block is walked by k2 / k1 updates), and every weight gradient is one stacked
product over the window. As in the library (docs/api.md, "Truncated BPTT", rule 5), the gradient
of a step goes through the weights that step used. Adam and clipping are
PyTorch's formulas. Before timing, its losses and weights are checked against
the library's (float64).

PyTorch (only when it is installed): the same model stepped by an LSTM cell,
the state detached at the start of each block of k1 steps, and the graph of
the last k2 steps kept with `retain_graph=True` and walked block by block.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections import deque

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import microgradseq as mg  # noqa: E402
from microgradseq import bptt, charlm  # noqa: E402

EMBEDDING, HIDDEN, BATCH, K1, K2, LR, MAX_NORM = 32, 128, 32, 20, 40, 3e-3, 5.0
STEPS = 200
NAMES = ("embedding.weight", "cell.weight_ih", "cell.weight_hh", "cell.bias_ih", "cell.bias_hh",
         "readout.weight", "readout.bias")


def text_batches() -> tuple[np.ndarray, np.ndarray, int]:
    """(inputs, targets, vocabulary size): the demo's text as BATCH streams."""
    text = charlm.load_text()
    vocab = charlm.Vocabulary(text)
    inputs, targets = bptt.next_step_pairs(bptt.batchify(vocab.encode(text), BATCH))
    return inputs, targets, len(vocab)


def make_model(vocab: int, dtype, fused: bool = False) -> charlm.CharLM:
    model = charlm.CharLM(vocab, HIDDEN, "lstm", embedding_dim=EMBEDDING, rng=np.random.default_rng(0), dtype=dtype)
    model.cell.fused = fused
    return model


# ---- the library ----------------------------------------------------------------------

def library_trainer(model: charlm.CharLM, inputs: np.ndarray, targets: np.ndarray, blocks: bool = False,
                    max_norm: float = MAX_NORM):
    """A function training on the sequence from a zero state with `mg.bptt.tbptt` (or `tbptt_blocks`),
    clipping the gradients to `max_norm` before each Adam step; it returns the update losses."""
    params = list(model.parameters())
    optimizer = mg.optim.Adam(params, lr=LR)

    def clip(u: int, loss: float) -> None:
        mg.optim.clip_grad_norm_(params, max_norm)

    def train() -> list[float]:
        if blocks:
            result = bptt.tbptt_blocks(model.step_block, None, inputs, targets, charlm.next_char_loss, K1, K2,
                                       optimizer=optimizer, on_update=clip, reduction="mean",
                                       block_loss_fn=charlm.next_char_losses)
        else:
            result = bptt.tbptt(model.step, None, inputs, targets, charlm.next_char_loss, K1, K2,
                                optimizer=optimizer, on_update=clip, reduction="mean")
        return result.losses

    return train


# ---- by hand ----------------------------------------------------------------------------

class Block:
    """Steps (start, start + len] of one forward window, with what their backward pass reads."""

    def __init__(self, start: int, codes: np.ndarray, x: np.ndarray, gates: np.ndarray, hs: np.ndarray,
                 cs: np.ndarray, tanh_c: np.ndarray, h0: np.ndarray, c0: np.ndarray, weights: dict) -> None:
        self.start, self.codes, self.x, self.gates = start, codes, x, gates
        self.hs, self.cs, self.tanh_c, self.h0, self.c0, self.weights = hs, cs, tanh_c, h0, c0, weights
        self.factors = None

    def backward_factors(self) -> tuple[np.ndarray, np.ndarray]:
        """(per-gate factors (len, B, 4, H), o (1 - tanh(c)^2)), for every step of the block at once:
        da = [dc, dc, dc, dh] * factors, dc = dc_next + dh * (o (1 - tanh(c)^2))."""
        if self.factors is None:
            hidden = self.hs.shape[-1]
            i, f, g, o = (self.gates[..., k * hidden:(k + 1) * hidden] for k in range(4))
            c_prev = np.concatenate([self.c0[None], self.cs[:-1]])
            factors = np.stack([g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g),
                                self.tanh_c * o * (1 - o)], axis=2)
            self.factors = factors, o * (1 - self.tanh_c * self.tanh_c)
        return self.factors


class NumpyTBPTT:
    """The demo's training, by hand: TBPTT(k1, k2) (k1 <= k2) of an embedding -> LSTM -> readout model."""

    def __init__(self, params: dict, k1: int = K1, k2: int = K2, max_norm: float = MAX_NORM) -> None:
        assert k1 <= k2
        self.params = {name: np.array(value) for name, value in params.items()}
        self.k1, self.k2, self.max_norm = k1, k2, max_norm
        self.adam_steps = 0
        self.exp_avg = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.exp_avg_sq = {name: np.zeros_like(p) for name, p in self.params.items()}
        dtype = self.params["cell.weight_hh"].dtype
        hidden = self.params["cell.weight_hh"].shape[1]
        self.scale = np.repeat(np.array([0.5, 0.5, 1.0, 0.5], dtype), hidden)     # σ(a) = 0.5 tanh(a / 2) + 0.5
        self.offset = np.repeat(np.array([0.5, 0.5, 0.0, 0.5], dtype), hidden)

    def run(self, inputs: np.ndarray, targets: np.ndarray) -> list[float]:
        """TBPTT over the sequence from a zero state; returns each update's loss."""
        p = self.params
        n, batch = inputs.shape
        hidden = p["cell.weight_hh"].shape[1]
        h = c = np.zeros((batch, hidden), p["cell.weight_hh"].dtype)
        window, losses = deque(), []
        for start in range(0, n, self.k1):
            stop = min(n, start + self.k1)
            block = self.forward(start, inputs[start:stop], h, c)
            h, c = block.hs[-1], block.cs[-1]
            window.append(block)
            while window[0].start + len(window[0].codes) <= stop - self.k2:
                window.popleft()                # wholly behind the cut
            losses.append(self.update(window, targets[start:stop], stop))
        return losses

    def forward(self, start: int, codes: np.ndarray, h: np.ndarray, c: np.ndarray) -> Block:
        p = self.params
        steps, batch = codes.shape
        hidden = h.shape[-1]
        w_ih, w_hh = p["cell.weight_ih"] * self.scale[:, None], p["cell.weight_hh"].T * self.scale
        x = p["embedding.weight"][codes]
        gates = (x.reshape(steps * batch, -1) @ w_ih.T).reshape(steps, batch, 4 * hidden)
        gates += (p["cell.bias_ih"] + p["cell.bias_hh"]) * self.scale
        hs, cs = np.empty((steps, batch, hidden), h.dtype), np.empty((steps, batch, hidden), h.dtype)
        tanh_c = np.empty_like(hs)
        h0, c0 = h, c
        for t in range(steps):
            a = gates[t]
            a += h @ w_hh
            np.tanh(a, out=a)
            a *= self.scale
            a += self.offset
            i, f, g, o = a[:, :hidden], a[:, hidden:2 * hidden], a[:, 2 * hidden:3 * hidden], a[:, 3 * hidden:]
            c = np.multiply(f, c, out=cs[t])
            c += i * g
            h = np.multiply(o, np.tanh(c, out=tanh_c[t]), out=hs[t])
        weights = {name: p[name] for name in ("cell.weight_ih", "cell.weight_hh")}
        return Block(start, codes, x, gates, hs, cs, tanh_c, h0, c0, weights)

    def update(self, window: deque, targets: np.ndarray, stop: int) -> float:
        """The update at `stop`: the readout's loss over the newest block, backward to the cut, clip, Adam."""
        p, newest = self.params, window[-1]
        steps, batch, hidden = newest.hs.shape
        count = steps * batch
        logits = newest.hs.reshape(count, hidden) @ p["readout.weight"].T + p["readout.bias"]
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        picked = np.arange(count), targets.reshape(count)
        loss = float(-np.log(probs[picked]).sum() / count)
        probs[picked] -= 1
        probs /= count                                  # dL/dlogits (reduction "mean": over steps and streams)
        grads = {"readout.weight": probs.T @ newest.hs.reshape(count, hidden), "readout.bias": probs.sum(axis=0)}
        injected = (probs @ p["readout.weight"]).reshape(steps, batch, hidden)

        cut = max(0, stop - self.k2)
        dh_next, dc_next = 0, 0
        da_parts, x_parts, h_parts, dx_parts = [], [], [], []
        for block in reversed(window):
            first = max(0, cut - block.start)           # steps of the block after the cut
            factors, factor_dc = block.backward_factors()
            da = np.empty((len(block.codes) - first, batch, 4 * hidden), factors.dtype)
            by_gate = da.reshape(len(da), batch, 4, hidden)
            forget = block.gates[..., hidden:2 * hidden]
            w_hh = block.weights["cell.weight_hh"]
            for t in range(len(block.codes) - 1, first - 1, -1):
                dh = dh_next + injected[t] if block is newest else dh_next
                dc = dc_next + dh * factor_dc[t]
                d = by_gate[t - first]
                np.multiply(factors[t, :, :3], dc[:, None], out=d[:, :3])
                np.multiply(factors[t, :, 3], dh, out=d[:, 3])
                dh_next, dc_next = da[t - first] @ w_hh, dc * forget[t]
            h_prev = np.concatenate([block.h0[None], block.hs[:-1]])[first:]
            da_parts.append(da.reshape(-1, 4 * hidden))
            x_parts.append(block.x[first:].reshape(-1, block.x.shape[-1]))
            h_parts.append(h_prev.reshape(-1, hidden))
            dx_parts.append((da_parts[-1] @ block.weights["cell.weight_ih"], block.codes[first:].reshape(-1)))
            if first > 0:
                break
        da = np.concatenate(da_parts) if len(da_parts) > 1 else da_parts[0]
        grads["cell.weight_ih"] = da.T @ (np.concatenate(x_parts) if len(x_parts) > 1 else x_parts[0])
        grads["cell.weight_hh"] = da.T @ (np.concatenate(h_parts) if len(h_parts) > 1 else h_parts[0])
        grads["cell.bias_ih"] = da.sum(axis=0)
        grads["cell.bias_hh"] = grads["cell.bias_ih"]
        d_embedding = np.zeros_like(p["embedding.weight"])
        for dx, codes in dx_parts:
            np.add.at(d_embedding, codes, dx)
        grads["embedding.weight"] = d_embedding
        self.clip_and_step(grads)
        return loss

    def clip_and_step(self, grads: dict) -> None:
        """clip_grad_norm_(max_norm) and Adam, as PyTorch computes them."""
        total = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values()))
        coef = self.max_norm / (total + 1e-6)
        self.adam_steps += 1
        beta1, beta2, t = 0.9, 0.999, self.adam_steps
        step_size, root = LR / (1 - beta1 ** t), math.sqrt(1 - beta2 ** t)
        for name, g in grads.items():
            if coef < 1:
                g = g * coef
            m = self.exp_avg[name] = beta1 * self.exp_avg[name] + (1 - beta1) * g
            v = self.exp_avg_sq[name] = beta2 * self.exp_avg_sq[name] + (1 - beta2) * g * g
            self.params[name] = self.params[name] - step_size * m / (np.sqrt(v) / root + 1e-8)


# ---- PyTorch, when installed ----------------------------------------------------------------

def torch_trainer(torch, params: dict, inputs: np.ndarray, targets: np.ndarray):
    """The same training in PyTorch: an LSTM cell stepped in Python, the graph of the last k2 steps kept
    with `retain_graph=True` and walked block by block (k1 steps a block)."""
    if K2 % K1:
        raise ValueError("torch_trainer chains whole blocks: k2 must be a multiple of k1")
    dtype = torch.float64 if params["cell.weight_hh"].dtype == np.float64 else torch.float32
    functional = torch.nn.functional
    parameters = [torch.tensor(params[name], dtype=dtype, requires_grad=True) for name in NAMES]
    optimizer = torch.optim.Adam(parameters, lr=LR)
    x, y = torch.from_numpy(np.ascontiguousarray(inputs)), torch.from_numpy(np.ascontiguousarray(targets))

    def train() -> list[float]:
        # Each block of k1 steps starts from a detached copy of the state (a leaf), so that its graph
        # can be walked again by the next update; an update backpropagates the block's losses, then
        # carries dL/d(state) from each kept block's start to the block before (retain_graph
        # chaining), k2 steps in all. A block uses clones of the weights: the optimizer changes the
        # parameters in place, and an older block's graph keeps the weights it used (as the
        # library's graphs and the hand-written version do).
        losses, blocks = [], deque()
        state = (torch.zeros(len(x[0]), HIDDEN, dtype=dtype),) * 2
        for first in range(0, len(x), K1):
            embedding, weight_ih, weight_hh, bias_ih, bias_hh, weight_out, bias_out = [p.clone() for p in parameters]
            start = state = tuple(part.detach().requires_grad_() for part in state)
            pending = []
            for t in range(first, min(len(x), first + K1)):
                state = torch.lstm_cell(functional.embedding(x[t], embedding), state,
                                        weight_ih, weight_hh, bias_ih, bias_hh)     # nn.LSTMCell's own op
                pending.append(functional.cross_entropy(functional.linear(state[0], weight_out, bias_out), y[t]))
            blocks.append((start, state))
            while len(blocks) > K2 // K1:
                blocks.popleft()
            optimizer.zero_grad()
            for block_start, _ in blocks:
                for part in block_start:
                    part.grad = None
            total = torch.stack(pending).sum() / len(pending)
            total.backward(retain_graph=True)
            kept = list(blocks)
            for later, earlier in zip(reversed(kept[1:]), reversed(kept[:-1])):
                torch.autograd.backward(earlier[1], [part.grad for part in later[0]], retain_graph=True)
            torch.nn.utils.clip_grad_norm_(parameters, MAX_NORM)
            optimizer.step()
            losses.append(total.item())
        return losses

    return train


# ---- the table ------------------------------------------------------------------------------

def check(inputs: np.ndarray, targets: np.ndarray, vocab: int, steps: int = 100) -> float:
    """Worst relative difference between the library's and the hand-written losses and weights
    after `steps` steps of training, float64, for each of the library's paths; raises above 1e-8.

    Twice: with the demo's max norm (5: the demo's gradients stay below it, so nothing is clipped)
    and with 0.1, which every update's gradient exceeds, so that the clipping is compared too."""
    inputs, targets = inputs[:steps], targets[:steps]
    start = make_model(vocab, np.float64).state_dict()
    worst = 0.0
    for max_norm in (MAX_NORM, 0.1):
        written = NumpyTBPTT(start, max_norm=max_norm)
        expected = written.run(inputs, targets)
        for model, blocks in library_paths(vocab, np.float64):
            model.load_state_dict(start)
            losses = library_trainer(model, inputs, targets, blocks, max_norm)()
            worst = max(worst, max(abs(a - b) / abs(b) for a, b in zip(losses, expected)))
            for name, value in model.state_dict().items():
                reference = written.params[name]
                worst = max(worst, float(np.abs(value - reference).max() / np.abs(reference).max()))
    if worst > 1e-8:
        raise AssertionError(f"demo workload: library and hand-written numpy differ (relative {worst:.1e})")
    return worst


def library_paths(vocab: int, dtype) -> list:
    """(model, whether the runner steps blocks) for each column: the default path, then the fast ones."""
    return [(make_model(vocab, dtype), False), (make_model(vocab, dtype, fused=True), False),
            (make_model(vocab, dtype), True), (make_model(vocab, dtype, fused=True), True)]


def run(dtypes, repeats: int, min_seconds: float = 1.0, steps: int = STEPS) -> str:
    from timing import interleaved, ratio, table

    import torch_columns
    torch = torch_columns.load()
    inputs, targets, vocab = text_batches()
    inputs, targets = inputs[:steps], targets[:steps]
    header = ["dtype", "hand-written numpy ms", "microgradseq ms", "ratio", "goal", "fused cell ms", "ratio",
              "blocks ms", "ratio", "fused blocks ms", "ratio", "goal"]
    if torch is not None:
        header += ["PyTorch ms", "ratio"]
    rows, notes = [], []
    for dtype in dtypes:
        model = make_model(vocab, dtype)
        written = NumpyTBPTT(model.state_dict())
        fns = {"numpy": lambda: written.run(inputs, targets),
               "default": library_trainer(model, inputs, targets),
               "fused": library_trainer(make_model(vocab, dtype, fused=True), inputs, targets),
               "blocks": library_trainer(make_model(vocab, dtype), inputs, targets, blocks=True),
               "fused blocks": library_trainer(make_model(vocab, dtype, fused=True), inputs, targets, blocks=True)}
        if torch is not None:
            fns["torch"] = torch_trainer(torch, model.state_dict(), inputs, targets)
            expected = NumpyTBPTT(model.state_dict()).run(inputs, targets)
            losses = fns["torch"]()             # its first call, from the same weights: then timed on
            worst = max(abs(a - b) / abs(b) for a, b in zip(losses, expected))
            if worst > (1e-8 if dtype == np.float64 else 1e-4):
                raise AssertionError(f"demo workload: PyTorch's losses differ from the hand-written ones ({worst:.1e})")
            notes.append(f"PyTorch's losses agree with the hand-written ones ({np.dtype(dtype).name}, "
                         f"worst relative difference {worst:.1e})")
        times = interleaved(fns, repeats, min_seconds=min_seconds)
        row = [np.dtype(dtype).name, times["numpy"].ms(), times["default"].ms(),
               ratio(times["default"], times["numpy"]), "≤ 1.2x", times["fused"].ms(),
               ratio(times["fused"], times["numpy"]), times["blocks"].ms(), ratio(times["blocks"], times["numpy"]),
               times["fused blocks"].ms(), ratio(times["fused blocks"], times["numpy"]), "≤ 1.05x"]
        if torch is not None:
            row += [times["torch"].ms(), ratio(times["torch"], times["numpy"])]
        rows.append(row)
    text = table(header, rows)
    return "\n".join(notes) + "\n\n" + text if notes else text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 steps, one repeat (overrides --repeats)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed repeats per column, at least (fast columns get about a second of them)")
    args = parser.parse_args()
    import timing
    print(f"Allocator: {timing.keep_freed_memory()}")
    inputs, targets, vocab = text_batches()
    print(f"library and hand-written agree (float64, worst relative difference {check(inputs, targets, vocab):.1e})\n")
    steps = 60 if args.quick else STEPS
    print(f"## 4. The demo's workload: {steps} steps, vocab {vocab}, embedding {EMBEDDING}, LSTM {HIDDEN}, "
          f"{BATCH} streams, TBPTT({K1}, {K2}), Adam, clip {MAX_NORM}\n")
    print(run((np.float32, np.float64), 1 if args.quick else args.repeats, 0.0 if args.quick else 1.0, steps))


if __name__ == "__main__":
    main()
