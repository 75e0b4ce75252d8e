"""Attention as a shortcut through time: reversing a sequence with and without it.

An encoder GRU reads L random digits; a decoder GRUCell writes them back in
reverse order, fed the right previous digit at each step (teacher forcing).
Two decoders, the same sizes otherwise:

- without attention, everything the decoder knows about the input passes
  through the encoder's final state, and output j needs input L - 1 - j;
- with (Luong's dot-product) attention, each decoder step scores every encoder
  state against its own, a_s = softmax_s(h_dec . h_enc_s), and reads the
  weighted sum sum_s a_s h_enc_s beside its state.

Backprop is the same generic backward in both: attention only adds edges. But
those edges are short. The last output must copy the first input, L steps
back through the encoder and L steps through the decoder without attention;
with it, one attention weight away. The example measures this directly: the
norm of the last output's loss gradient with respect to each input position's
embedding, ||dL_last / dx_s||, before training, for both models (no
gradient checking needed: it is `backward()` on a single loss). The figure
shows the training curves, that gradient against s, and the trained
attention weights. They lie one position off a reversal's anti-diagonal
(the dotted line, s = L - 1 - t): from the second output on, output t
looks mostly at input L - t, where the digit it was just fed sits; the
encoder's state there read the digit to copy one step before. A digit that
appears twice splits the weight.

    python examples/seq2seq_attention.py [--quick] [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F

DIGITS = 10                 # tokens 0..9; the decoder's first input is START
START = DIGITS


def batch(rng: np.random.Generator, size: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(source, target), both (length, size) int64: random digits and the same digits reversed."""
    source = rng.integers(0, DIGITS, size=(length, size))
    return source, source[::-1].copy()


class Seq2Seq(nn.Module):
    """Embedding -> GRU encoder; a GRUCell decoder with or without dot-product attention -> Linear."""

    def __init__(self, attention: bool, hidden: int = 32, embedding: int = 16) -> None:
        super().__init__()
        self.attention = attention
        self.embed_source = nn.Embedding(DIGITS, embedding, dtype=torch.float64)
        self.encoder = nn.GRU(embedding, hidden, dtype=torch.float64)
        self.embed_target = nn.Embedding(DIGITS + 1, embedding, dtype=torch.float64)
        self.decoder = nn.GRUCell(embedding, hidden, dtype=torch.float64)
        self.readout = nn.Linear(hidden * (2 if attention else 1), DIGITS, dtype=torch.float64)

    def forward(self, source: np.ndarray, target: np.ndarray) -> tuple[torch.Tensor, list]:
        """Logits (length, batch, DIGITS) of each target digit given the digits before it, and the
        attention weights of each decoder step ((length, batch) each; empty without attention)."""
        return self.decode(self.embed_source(torch.tensor(source)), target)

    def decode(self, embedded: torch.Tensor, target: np.ndarray) -> tuple[torch.Tensor, list]:
        encoded, h_n = self.encoder(embedded)                  # (L, B, H) and (1, B, H)
        h = h_n[0]
        previous = np.concatenate([np.full((1, target.shape[1]), START), target[:-1]])   # teacher forcing
        logits, weights = [], []
        for t in range(len(target)):
            h = self.decoder(self.embed_target(torch.tensor(previous[t])), h)
            if self.attention:
                scores = (encoded * h.unsqueeze(0)).sum(-1)     # (L, B): h_dec . h_enc_s
                a = torch.softmax(scores, dim=0)
                context = (a.unsqueeze(-1) * encoded).sum(0)    # (B, H)
                logits.append(self.readout(torch.cat([h, context], dim=1)))
                weights.append(a)
            else:
                logits.append(self.readout(h))
        return torch.stack(logits), weights


def loss_of(logits: torch.Tensor, target: np.ndarray) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, DIGITS), torch.tensor(target.reshape(-1)))


def gradient_reach(model: Seq2Seq, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """||dL_last / dx_s|| for each input position s: the last output's loss (which must copy the
    first input) differentiated with respect to the encoder's input embeddings, averaged over the batch."""
    embedded = model.embed_source(torch.tensor(source)).detach().requires_grad_()
    logits, _ = model.decode(embedded, target)
    F.cross_entropy(logits[-1], torch.tensor(target[-1])).backward()
    return np.linalg.norm(embedded.grad, axis=2).mean(axis=1)


def train(attention: bool, config: argparse.Namespace) -> dict:
    """Adam on fresh batches; token accuracy on 512 fresh test sequences."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = Seq2Seq(attention)
    reach = gradient_reach(model, *batch(np.random.default_rng(config.seed + 2), 64, config.length))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses, started = [], time.perf_counter()
    for _ in range(config.iterations):
        source, target = batch(rng, 32, config.length)
        logits, _ = model(source, target)
        loss = loss_of(logits, target)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - started
    source, target = batch(np.random.default_rng(config.seed + 1), 512, config.length)
    with torch.no_grad():
        logits, weights = model(source, target)
    predicted = logits.numpy().argmax(axis=2)
    return {"model": "attention" if attention else "no attention", "losses": losses, "seconds": seconds,
            "accuracy": float((predicted == target).mean()),
            "accuracy_by_step": (predicted == target).mean(axis=1), "reach": reach,
            "weights": np.stack([w.numpy()[:, 0] for w in weights]) if weights else None}


def plot(runs: list[dict], path: Path) -> None:
    """Training curves; the last output's gradient against input position; the attention weights."""
    import matplotlib.pyplot as plt

    fig, (curves, reach, heat) = plt.subplots(1, 3, figsize=(14, 4))
    width = 20
    for run in runs:
        smooth = np.convolve(run["losses"], np.ones(width) / width, mode="valid")
        curves.plot(np.arange(width, len(run["losses"]) + 1), smooth,
                    label=f"{run['model']} (test accuracy {run['accuracy']:.2f})")
        reach.semilogy(np.arange(len(run["reach"])), run["reach"], marker="o", label=run["model"])
    curves.axhline(np.log(DIGITS), color="grey", linestyle=":", label="chance (log 10)")
    curves.set(xlabel="Adam step", ylabel="cross-entropy (moving average)", title="reversing digits")
    curves.legend(fontsize=8)
    reach.set(xlabel="input position s (the last output copies s = 0)", ylabel="||dL_last / dx_s||",
              title="where the last output's gradient reaches (untrained)")
    reach.legend(fontsize=8)
    weights = next(run["weights"] for run in runs if run["weights"] is not None)
    heat.imshow(weights, cmap="Blues", aspect="auto")
    steps = np.arange(len(weights))
    heat.plot(weights.shape[1] - 1 - steps, steps, "r:", lw=1, label="the input it copies, s = L - 1 - t")
    heat.set(xlabel="input position s", ylabel="output step t", title="attention weights (trained, one sequence)")
    heat.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    """Train both models; print their test accuracies; plot curves, gradient reach and attention."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds), as CI does")
    parser.add_argument("--out", default="./microgradseq-examples/seq2seq_attention",
                        help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0, help="random seed (the same seed, the same run)")
    config = parser.parse_args(argv)
    config.length, config.iterations = (8, 150) if config.quick else (12, 600)

    import matplotlib
    matplotlib.use("Agg")

    runs = [train(attention, config) for attention in (False, True)]
    print(f"reversing {config.length} digits, {config.iterations} Adam steps of 32; chance is 0.10")
    for run in runs:
        by_step = " ".join(f"{a:.2f}" for a in run["accuracy_by_step"])
        print(f"  {run['model']:<13} test accuracy {run['accuracy']:.3f}   ({run['seconds']:.1f} s)"
              f"   by output step: {by_step}")
        print(f"  {'':<13} ||dL_last/dx_s|| untrained, s = 0 and s = {config.length - 1}: "
              f"{run['reach'][0]:.1e} and {run['reach'][-1]:.1e}")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    figure = out / "seq2seq_attention.png"
    plot(runs, figure)
    print(f"wrote {figure}")
    return {"runs": runs, "figures": [figure], "length": config.length}


if __name__ == "__main__":
    main()
