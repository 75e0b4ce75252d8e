"""The adding problem (Hochreiter and Schmidhuber 1997): an LSTM against a vanilla RNN as sequences grow.

Each step carries a pair (value v_t ~ uniform(0, 1), marker m_t); exactly two
markers are 1, one in each half of the sequence, and the target at the end is
y = sum_t m_t v_t, the sum of the two marked values. Predicting the constant
E[y] = 1 costs Var(y) = 2 * 1/12 = 0.167 (the trivial baseline); beating it
means carrying a value over about half the sequence, which the tanh RNN's
vanishing gradient stops sooner than the LSTM's cell state.

    python examples/adding_problem.py [--quick] [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import microgradseq as mg
from microgradseq.functional import mse_loss

BASELINE_MSE = 2.0 / 12.0      # Var(v_a + v_b) for two independent uniform(0, 1) values
CELLS = ("LSTM", "RNN")


def adding_batch(rng: np.random.Generator, length: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (length, batch, 2) of (value, marker) pairs and targets (batch, 1)."""
    values = rng.uniform(size=(length, batch))
    streams = np.arange(batch)
    first = rng.integers(0, length // 2, size=batch)
    second = rng.integers(length // 2, length, size=batch)
    markers = np.zeros((length, batch))
    markers[first, streams] = 1.0
    markers[second, streams] = 1.0
    targets = values[first, streams] + values[second, streams]
    return np.stack([values, markers], axis=-1), targets[:, None]


class Adder(mg.nn.Module):
    """A one-layer LSTM or tanh RNN and a linear readout of its last hidden state, in float64."""

    def __init__(self, cell: str, hidden_size: int) -> None:
        super().__init__()
        layer = mg.nn.LSTM if cell == "LSTM" else mg.nn.RNN
        self.recurrent = layer(2, hidden_size, dtype=np.float64)
        self.readout = mg.nn.Linear(hidden_size, 1, dtype=np.float64)

    def forward(self, inputs: np.ndarray) -> mg.Tensor:
        """Predictions (batch, 1) for inputs (length, batch, 2)."""
        output, _ = self.recurrent(inputs)
        return self.readout(output[-1])


def train(cell: str, length: int, config: argparse.Namespace) -> dict:
    """Train one model by full BPTT on fresh batches; its MSE on a fresh test batch."""
    mg.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = Adder(cell, config.hidden)
    optimizer = mg.optim.Adam(model.parameters(), lr=config.lr)
    losses = []
    started = time.perf_counter()
    for _ in range(config.iterations):
        inputs, targets = adding_batch(rng, length, config.batch)
        loss = mse_loss(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        mg.optim.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - started
    inputs, targets = adding_batch(np.random.default_rng(config.seed + 1), length, 512)
    with mg.no_grad():
        test_mse = mse_loss(model(inputs), targets).item()
    return {"cell": cell, "length": length, "test_mse": test_mse, "losses": losses, "seconds": seconds}


def plot(runs: list[dict], lengths: list[int], path: Path) -> None:
    """Left: test MSE against sequence length per cell; right: the training curves."""
    import matplotlib.pyplot as plt

    fig, (summary, curves) = plt.subplots(1, 2, figsize=(11, 4))
    for cell, marker in zip(CELLS, "os"):
        mine = [run for run in runs if run["cell"] == cell]
        summary.semilogy([run["length"] for run in mine], [run["test_mse"] for run in mine],
                         marker=marker, label=cell)
    summary.axhline(BASELINE_MSE, color="grey", linestyle=":", label="predict 1.0 (MSE 1/6)")
    summary.set(xlabel="sequence length", ylabel="test MSE", xticks=lengths,
                title="adding problem after training")
    summary.legend()
    width = 20
    for run in runs:
        smooth = np.convolve(run["losses"], np.ones(width) / width, mode="valid")
        curves.semilogy(np.arange(width, len(run["losses"]) + 1), smooth,
                        color=f"C{lengths.index(run['length'])}",
                        linestyle="-" if run["cell"] == "LSTM" else "--",
                        label=f"{run['cell']}, length {run['length']}")
    curves.axhline(BASELINE_MSE, color="grey", linestyle=":")
    curves.set(xlabel="Adam step", ylabel="training MSE (moving average)", title="training")
    curves.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    """Train an LSTM and an RNN at each length; print the table of test MSEs and plot it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds), as CI does")
    parser.add_argument("--out", default="./microgradseq-examples/adding_problem", help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0, help="random seed (the same seed, the same run)")
    config = parser.parse_args(argv)
    config.hidden, config.batch, config.lr = 16, 32, 0.01
    if config.quick:
        lengths, config.iterations = [10], 500
    else:
        lengths, config.iterations = [10, 20, 30, 40], 1000

    import matplotlib
    matplotlib.use("Agg")
    runs = [train(cell, length, config) for length in lengths for cell in CELLS]

    print(f"adding problem: test MSE after {config.iterations} Adam steps (batch {config.batch}, "
          f"hidden {config.hidden}); predicting 1.0 gives {BASELINE_MSE:.3f}")
    print(f"{'length':>7} " + " ".join(f"{cell:>9}" for cell in CELLS) + f" {'baseline':>9}")
    for length in lengths:
        row = {run["cell"]: run["test_mse"] for run in runs if run["length"] == length}
        print(f"{length:>7} " + " ".join(f"{row[cell]:9.4f}" for cell in CELLS) + f" {BASELINE_MSE:9.4f}")
    print("training time: " + ", ".join(f"{run['cell']} {run['length']}: {run['seconds']:.1f}s" for run in runs))

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    figure = out / "adding_problem.png"
    plot(runs, lengths, figure)
    print(f"wrote {figure}")
    table = {(run["cell"], run["length"]): run["test_mse"] for run in runs}
    return {"baseline_mse": BASELINE_MSE, "lengths": lengths, "test_mse": table,
            "seconds": {(run["cell"], run["length"]): run["seconds"] for run in runs},
            "figures": [str(figure)]}


if __name__ == "__main__":
    main()
