"""Character-level language models: an RNN, an LSTM and a GRU learn the built-in text with TBPTT.

Each model reads one character per step and predicts the next (see
`microgradseq/charlm.py`); the loss is the cross-entropy in nats per character.
Guessing uniformly over V characters costs ln V; the models fall well below it
as they learn spelling and then words. After training each one samples text at
several temperatures: logits / T before the softmax, so T < 1 sharpens the
distribution (safer, more repetitive text) and T > 1 flattens it.

    python examples/char_lm.py [--quick] [--cells rnn lstm gru] [--k1 20 --k2 40] [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from microgradseq import charlm


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds), as CI does")
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru"], choices=sorted(charlm.CELLS))
    parser.add_argument("--k1", type=int, default=20, help="steps between updates")
    parser.add_argument("--k2", type=int, default=40, help="steps each update backpropagates")
    parser.add_argument("--hidden", type=int, default=None, help="hidden size (default 128, quick 32)")
    parser.add_argument("--steps", type=int, default=None, help="time steps per model (default 6000, quick 600)")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.5, 1.0, 1.5])
    parser.add_argument("--out", default="microgradseq-examples/char_lm",
                        help="folder for the figure (the samples are printed)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (the same seed, the same run)")
    args = parser.parse_args(argv)
    steps = args.steps or (600 if args.quick else 6000)
    hidden = args.hidden or (32 if args.quick else 128)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = charlm.load_text()
    vocab = charlm.Vocabulary(text)
    codes = vocab.encode(text)
    uniform = float(np.log(len(vocab)))
    print(f"{len(text):,} characters, {len(vocab)} distinct: uniform guessing costs ln {len(vocab)} = "
          f"{uniform:.3f} nats per character")

    results = {"uniform_loss": uniform, "cells": {}}
    fig, ax = plt.subplots(figsize=(7, 4))
    for cell in args.cells:
        model = charlm.CharLM(len(vocab), hidden, cell, rng=np.random.default_rng(args.seed))
        started = time.perf_counter()
        log = charlm.train(model, codes, steps=steps, k1=args.k1, k2=args.k2)
        seconds = time.perf_counter() - started
        # the training loss at the start, and at the end as the median of the last tenth of the updates (a
        # mean of the last few would let one short update at the start of a new pass over the text dominate)
        first, last = float(np.mean(log.losses[:5])), float(np.median(log.losses[-max(5, len(log.losses) // 10):]))
        samples = {t: charlm.sample(model, vocab, "The ", 120, t, np.random.default_rng(args.seed))
                   for t in args.temperatures}
        results["cells"][cell] = {"first_loss": first, "final_loss": last, "seconds": seconds, "samples": samples}
        print(f"\n{cell.upper()}: training loss {first:.3f} -> {last:.3f} in {seconds:.1f} s")
        for temperature, sample in samples.items():
            print(f"  T = {temperature}: {sample!r}")
        ax.plot(log.steps, log.losses, lw=0.8, label=cell.upper())
    ax.axhline(uniform, color="gray", ls="--", label=f"uniform guess, ln {len(vocab)}")
    ax.set_xlabel("time step")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_title(f"character-level models, TBPTT({args.k1}, {args.k2})")
    ax.legend()
    fig.tight_layout()
    figure = out / "char_lm_losses.png"
    fig.savefig(figure, dpi=120)
    plt.close(fig)
    results["figures"] = [str(figure)]
    print(f"\nfigure written to {figure.resolve()}")
    return results


if __name__ == "__main__":
    main()
