"""Online learning on an endless stream: TBPTT(1, k2), RTRL and UORO on a delayed copy.

A stream of random bits b_t enters an RNN one per step, and at every step the
network must output b_(t-D), the bit D steps back (the task and model of
`long_memory.py`, imported from it). Learning is online: one
update after every step (k1 = 1), as a model that lives on a stream must learn.

- TBPTT(1, k2) backpropagates each loss through its last k2 cells. With
  k2 <= D no gradient reaches the cell where b_(t-D) came in, so nothing teaches
  the network to keep it: it stays near chance (cross-entropy ln 2 = 0.693,
  accuracy 1/2). What little it gets (accuracy 0.5-0.6 over seeds) is what the
  untrained dynamics happen to keep of b_(t-D), which the readout learns to
  read, as in an echo-state network; the gradient taught the cell nothing.
- RTRL carries dh_t/dtheta forward, so each loss gets its exact gradient
  through all of history (TBPTT(1, n)'s), with no tape: it learns the copy.
  Its price is time: each step carries |theta| directions through the step,
  of the order of |state| x |state| x |theta| multiplications (rtrl's docstring).
- UORO carries a rank-one unbiased estimate of the same thing at about the cost
  of a forward and a backward pass per step; the noise slows learning.

    python examples/online_learning.py [--quick] [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

import microgradseq as mg
from microgradseq.functional import cross_entropy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from long_memory import Recaller, delayed_copy, evaluate  # noqa: E402  (the task and model, shared)

CHANCE_LOSS = math.log(2.0)


def train(method: str, config: argparse.Namespace) -> dict:
    """Train a fresh model online (an Adam update after every step) on one long stream with
    `method` ("tbptt", "rtrl" or "uoro"); measure it on a fresh stream. Every method starts from
    the same weights and reads the same stream."""
    mg.manual_seed(config.seed)
    model = Recaller(config.hidden)
    optimizer = mg.optim.Adam(model.parameters(), lr=config.lr)
    inputs, targets = delayed_copy(np.random.default_rng(config.seed), config.steps, config.streams,
                                   config.delay)
    stamps = [time.perf_counter()]
    common = dict(optimizer=optimizer, reduction="mean", on_update=lambda u, loss: stamps.append(time.perf_counter()))
    if method == "tbptt":
        run = mg.bptt.tbptt(model.step, None, inputs, targets, cross_entropy, k1=1, k2=config.k2, **common)
    elif method == "rtrl":
        run = mg.bptt.rtrl(model.step, None, inputs, targets, cross_entropy, dict(model.named_parameters()),
                           k1=1, **common)
    else:
        run = mg.bptt.uoro(model.step, None, inputs, targets, cross_entropy, dict(model.named_parameters()),
                           k1=1, rng=config.seed, **common)
    per_step = np.diff(stamps)
    test_inputs, test_targets = delayed_copy(np.random.default_rng(config.seed + 1), 200, 64, config.delay)
    test_loss, accuracy = evaluate(model, test_inputs, test_targets)
    name = f"TBPTT(1, {config.k2})" if method == "tbptt" else method.upper()
    losses = run.losses[config.delay:]          # the first D steps have no target
    return {"method": method, "name": name, "losses": losses,
            "final_loss": float(np.mean(losses[-len(losses) // 5:])), "test_loss": test_loss,
            "accuracy": accuracy, "ms_per_step": 1000 * float(np.median(per_step)), "per_step": per_step}


def plot(runs: list[dict], config: argparse.Namespace, path: Path) -> None:
    """Left: online loss (moving average) of the three learners; right: time per step."""
    import matplotlib.pyplot as plt

    fig, (curves, times) = plt.subplots(1, 2, figsize=(11, 4))
    width = 25
    for run in runs:
        smooth = np.convolve(run["losses"], np.ones(width) / width, mode="valid")
        curves.plot(np.arange(len(smooth)) + width + config.delay, smooth, label=run["name"])
    curves.axhline(CHANCE_LOSS, color="grey", linestyle=":", label="chance, ln 2")
    curves.set(xlabel="step t (one update per step)", ylabel="cross-entropy (moving average)",
               title=f"online delayed copy, D = {config.delay}, H = {config.hidden}")
    curves.legend()
    names = [run["name"] for run in runs]
    times.bar(names, [run["ms_per_step"] for run in runs], color=["C0", "C1", "C2"][:len(runs)])
    times.set(ylabel="median time per step (ms)", title="cost of a step (forward + gradient + update)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    """Train the three learners on the same stream; print a table and plot the losses and times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (well under 20 s), as CI does")
    parser.add_argument("--out", default="./microgradseq-examples/online_learning", help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0, help="random seed (the same seed, the same run)")
    config = parser.parse_args(argv)
    if config.quick:
        config.delay, config.k2, config.steps, config.streams, config.hidden, config.lr = 4, 2, 600, 32, 8, 0.03
    else:
        config.delay, config.k2, config.steps, config.streams, config.hidden, config.lr = 6, 3, 3000, 32, 12, 0.02

    import matplotlib
    matplotlib.use("Agg")
    runs = [train(method, config) for method in ("tbptt", "rtrl", "uoro")]

    print(f"online delayed copy of a random bit, D = {config.delay}; {config.steps} steps x {config.streams} "
          f"streams, an update every step; chance: loss {CHANCE_LOSS:.3f}, accuracy 0.5")
    print(f"{'learner':>12} {'final loss':>11} {'test loss':>10} {'accuracy':>9} {'ms/step':>8}")
    for run in runs:
        print(f"{run['name']:>12} {run['final_loss']:11.4f} {run['test_loss']:10.4f} {run['accuracy']:9.3f} "
              f"{run['ms_per_step']:8.2f}")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    figure = out / "online_learning.png"
    plot(runs, config, figure)
    print(f"wrote {figure}")
    measured = ("name", "final_loss", "test_loss", "accuracy", "ms_per_step")
    return {"delay": config.delay, "k2": config.k2, "chance_loss": CHANCE_LOSS,
            **{run["method"]: {key: run[key] for key in measured} for run in runs}, "figures": [str(figure)]}


if __name__ == "__main__":
    main()
