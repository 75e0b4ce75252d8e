"""Long memory: truncated BPTT learns a dependency D steps back only when its window reaches that far.

The task is a delayed copy. Random bits b_t enter an RNN one per step and the
target at step t is b_(t-D). The loss at t can teach the network to keep
b_(t-D) only if its gradient goes back D + 1 cells, to step t - D. TBPTT(k1, k2)
sends a loss back through k2 - k1 + 1 to k2 cells, so every loss reaches when
k2 >= D + k1 and none does when k2 <= D: then no gradient links a target to the
bit it copies, and at D = 10 the network stays at chance, accuracy 1/2 and
cross-entropy ln 2 = 0.693. (That is no law: the state held constant at the cut
can already carry the bit, and at a delay as short as D = 3 a window k2 = 2
learns the copy.) A longer window is not always faster to learn: with seed 0,
k2 = 14 and 16 solve the task in 4,000 steps while k2 = 20 is still learning.

    python examples/long_memory.py [--quick] [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

import microgradseq as mg
from microgradseq.functional import cross_entropy

CHANCE_LOSS = math.log(2.0)


def delayed_copy(rng: np.random.Generator, steps: int, streams: int,
                 delay: int) -> tuple[np.ndarray, list]:
    """Inputs (steps, streams, 1) holding +-1 for each bit, and per-step targets b_(t-D).

    The first `delay` steps have no bit to recall, so their target is None (no loss).
    """
    bits = rng.integers(0, 2, size=(steps, streams))
    inputs = (2.0 * bits - 1.0)[..., None]
    targets = [None if t < delay else bits[t - delay] for t in range(steps)]
    return inputs, targets


class Recaller(mg.nn.Module):
    """A tanh RNN cell and a linear readout to two logits (bit 0 or bit 1), in float64."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.cell = mg.nn.RNNCell(1, hidden_size, dtype=np.float64)
        self.readout = mg.nn.Linear(hidden_size, 2, dtype=np.float64)

    def step(self, x: mg.Tensor, hidden: mg.Tensor | None) -> tuple[mg.Tensor, mg.Tensor]:
        """One time step in the form `mg.bptt.tbptt` expects: (logits, new hidden)."""
        hidden = self.cell(x, hidden)
        return self.readout(hidden), hidden


def evaluate(model: Recaller, inputs: np.ndarray, targets: list) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) over every step that has a target, with no tape."""
    hidden, losses, correct, counted = None, [], 0, 0
    with mg.no_grad():
        for x, target in zip(inputs, targets):
            logits, hidden = model.step(x, hidden)
            if target is None:
                continue
            losses.append(cross_entropy(logits, target).item())
            correct += int((logits.data.argmax(axis=-1) == target).sum())
            counted += target.size
    return float(np.mean(losses)), correct / counted


def train(k1: int, k2: int, config: argparse.Namespace, model_class: type = Recaller) -> dict:
    """Train a fresh model with TBPTT(min(k1, k2), k2) on one long stream; measure it on a fresh one.

    Every setting starts from the same weights and reads the same stream, so only
    the truncation differs. `model_class(config.hidden)` makes the model, made after
    the seed is set: a `Recaller`, or a subclass of yours (an LSTM whose `step`
    carries (h, c) and reads out h).
    """
    k1 = min(k1, k2)
    mg.manual_seed(config.seed)
    model = model_class(config.hidden)
    optimizer = mg.optim.Adam(model.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed)
    inputs, targets = delayed_copy(rng, config.steps, config.streams, config.delay)
    started = time.perf_counter()
    run = mg.bptt.tbptt(model.step, None, inputs, targets, cross_entropy, k1=k1, k2=k2,
                        optimizer=optimizer, reduction="mean")
    seconds = time.perf_counter() - started
    test_inputs, test_targets = delayed_copy(np.random.default_rng(config.seed + 1), 300, 64,
                                             config.delay)
    test_loss, accuracy = evaluate(model, test_inputs, test_targets)
    last_fifth = run.losses[-max(1, len(run.losses) // 5):]
    return {"k1": k1, "k2": k2, "train_loss": float(np.mean(last_fifth)), "test_loss": test_loss,
            "accuracy": accuracy, "updates": run.updates, "losses": run.losses, "seconds": seconds}


def plot(runs: list[dict], short: dict, long: dict, delay: int, k1: int, path: Path) -> None:
    """Left: training loss of the two settings; right: test accuracy against k2."""
    import matplotlib.pyplot as plt

    fig, (curves, sweep) = plt.subplots(1, 2, figsize=(11, 4))
    for run in (short, long):
        width = 10
        first = int(np.searchsorted(run["updates"], delay, side="right"))   # updates up to t = D: no target, loss 0
        smooth = np.convolve(run["losses"][first:], np.ones(width) / width, mode="valid")
        curves.plot(run["updates"][first + width - 1:], smooth,
                    label=f"TBPTT({run['k1']}, {run['k2']})")
    curves.axhline(CHANCE_LOSS, color="grey", linestyle=":", label="chance, ln 2")
    curves.set(xlabel="step t", ylabel="cross-entropy per step (moving average)",
               title=f"delayed copy, D = {delay}")
    curves.legend()
    sweep.plot([r["k2"] for r in runs], [r["accuracy"] for r in runs], "o-")
    sweep.axvline(delay, color="grey", linestyle="--", label="k2 = D")
    sweep.axvline(delay + k1, color="black", linestyle="--", label="k2 = D + k1: every loss reaches t - D")
    sweep.axhline(0.5, color="grey", linestyle=":", label="chance")
    sweep.set(xlabel="k2 (truncation length)", ylabel="test accuracy", ylim=(0.4, 1.05),
              title="recall of the bit D steps back")
    sweep.legend(loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    """Train with a window shorter and one longer than the delay; print and plot both."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds), as CI does")
    parser.add_argument("--out", default="./microgradseq-examples/long_memory", help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0, help="random seed (the same seed, the same run)")
    config = parser.parse_args(argv)
    if config.quick:
        config.delay, config.steps, config.streams, config.hidden, config.lr = 6, 800, 32, 16, 0.02
        short_k2, long_k2, sweep = 3, 12, []
    else:
        config.delay, config.steps, config.streams, config.hidden, config.lr = 10, 4000, 32, 24, 0.01
        short_k2, long_k2, sweep = 5, 16, [8, 10, 12, 14, 20]
    k1 = 4

    import matplotlib
    matplotlib.use("Agg")
    runs = [train(k1, k2, config) for k2 in sorted({short_k2, long_k2, *sweep})]
    by_k2 = {run["k2"]: run for run in runs}
    short, long = by_k2[short_k2], by_k2[long_k2]

    print(f"delayed copy of a random bit, D = {config.delay}; {config.steps} steps x "
          f"{config.streams} streams; chance: loss {CHANCE_LOSS:.3f}, accuracy 0.5")
    print(f"{'setting':>16} {'train loss':>11} {'test loss':>10} {'accuracy':>9} {'time':>7}")
    for run in runs:
        setting = f"TBPTT({run['k1']}, {run['k2']})"
        print(f"{setting:>16} {run['train_loss']:11.4f} {run['test_loss']:10.4f} "
              f"{run['accuracy']:9.3f} {run['seconds']:6.1f}s")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    figure = out / "long_memory.png"
    plot(runs, short, long, config.delay, k1, figure)
    print(f"wrote {figure}")
    measured = ("k1", "k2", "train_loss", "test_loss", "accuracy", "seconds")
    return {
        "delay": config.delay,
        "chance_loss": CHANCE_LOSS,
        "short": {key: short[key] for key in measured},
        "long": {key: long[key] for key in measured},
        "sweep": [{key: run[key] for key in measured} for run in runs],
        "figures": [str(figure)],
    }


if __name__ == "__main__":
    main()
