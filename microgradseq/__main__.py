"""`python -m microgradseq demo`: a character-level RNN learns the built-in text.

The model is written with tensor ops only, so the loss is backpropagated
through the unrolled steps by the generic backward pass. The state is
detached every `--k` steps (truncated BPTT with k1 = k2 = k).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np

import microgradseq as mg
from microgradseq.functional import cross_entropy, softmax


def load_text() -> str:
    """The text that ships with the package (original, public domain)."""
    return resources.files("microgradseq").joinpath("data/tiny.txt").read_text()


class CharRNN:
    """h_t = tanh(W_ih x_t + W_hh h_(t-1) + b);  logits_t = W_out h_t + b_out."""

    def __init__(self, vocab: int, hidden: int, rng: np.random.Generator) -> None:
        bound = 1 / math.sqrt(hidden)

        def param(*shape):
            return mg.tensor(rng.uniform(-bound, bound, shape), requires_grad=True, dtype=np.float32)

        self.weight_ih, self.weight_hh, self.bias = param(hidden, vocab), param(hidden, hidden), param(hidden)
        self.weight_out, self.bias_out = param(vocab, hidden), param(vocab)
        self.hidden = hidden

    def parameters(self) -> list:
        return [self.weight_ih, self.weight_hh, self.bias, self.weight_out, self.bias_out]

    def step(self, x: np.ndarray, h: mg.Tensor) -> tuple[mg.Tensor, mg.Tensor]:
        h = (x @ self.weight_ih.T + h @ self.weight_hh.T + self.bias).tanh()
        return h @ self.weight_out.T + self.bias_out, h


def demo(args: argparse.Namespace) -> int:
    text = load_text()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    codes = np.array([index[c] for c in text])
    eye = np.eye(len(chars), dtype=np.float32)
    rng = np.random.default_rng(args.seed)
    model = CharRNN(len(chars), args.hidden, rng)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    print(f"training a character RNN (hidden {args.hidden}) on {len(text)} characters, "
          f"{len(chars)} distinct; truncating every {args.k} steps")
    h = mg.zeros(1, args.hidden)
    losses, position, started = [], 0, time.perf_counter()
    for update in range(1, args.updates + 1):
        if position + args.k + 1 >= len(codes):
            position, h = 0, mg.zeros(1, args.hidden)
        loss = 0
        for t in range(args.k):
            logits, h = model.step(eye[codes[position + t]][None, :], h)
            loss = loss + cross_entropy(logits, codes[position + t + 1:position + t + 2])
        loss = loss / args.k
        loss.backward()
        for p in model.parameters():
            p.data = p.data - args.lr * np.clip(p.grad, -5, 5)
            p.grad = None
        h = h.detach()
        position += args.k
        losses.append(loss.item())
        if update % max(1, args.updates // 10) == 0:
            print(f"update {update:5d}  loss {np.mean(losses[-20:]):.3f}")

    sample, h, c = [], mg.zeros(1, args.hidden), codes[0]
    with mg.no_grad():
        for _ in range(120):
            logits, h = model.step(eye[c][None, :], h)
            p = softmax(logits).numpy()[0].astype(np.float64)
            c = int(rng.choice(len(chars), p=p / p.sum()))
            sample.append(chars[c])
    (out_dir / "losses.txt").write_text("\n".join(f"{v:.5f}" for v in losses) + "\n")
    print(f"loss went from {np.mean(losses[:20]):.3f} to {np.mean(losses[-20:]):.3f} "
          f"in {time.perf_counter() - started:.1f} s")
    print("sample:", "".join(sample).replace("\n", " / "))
    print(f"files written to {out_dir.resolve()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="microgradseq", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("demo", help="train a character RNN on the built-in text")
    run.add_argument("--hidden", type=int, default=64, help="hidden size (default 64)")
    run.add_argument("--k", type=int, default=20, help="steps between truncations (default 20)")
    run.add_argument("--updates", type=int, default=1500, help="parameter updates (default 1500)")
    run.add_argument("--lr", type=float, default=0.2, help="SGD learning rate (default 0.2)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument("--out", default="microgradseq-demo", help="output folder (default ./microgradseq-demo)")
    args = parser.parse_args(argv)
    return demo(args)


if __name__ == "__main__":
    sys.exit(main())
