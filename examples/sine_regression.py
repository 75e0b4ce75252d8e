"""Sine regression: a two-layer LSTM reads a noisy sine wave and predicts it several steps ahead.

Each sequence is x_t = sin(w t + phi) + noise, with its own frequency w and
phase phi; the target at step t is the clean value H steps later,
y_t = sin(w (t + H) + phi). The model (mg.nn.LSTM with num_layers=2 and a
Linear readout) is trained with mse_loss and Adam by full BPTT over each batch.
Two baselines show what the network adds: predicting 0 costs E[y^2] = 1/2, and
repeating the last input costs E[(x_t - y_t)^2] = 1 - E[cos(w H)] + sigma^2.

    python examples/sine_regression.py [--quick] [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import microgradseq as mg
from microgradseq.functional import mse_loss

FREQUENCIES = (0.15, 0.3)      # w in radians per step, drawn uniformly
NOISE = 0.1                    # sigma of the input noise
HORIZON = 5                    # H: how many steps ahead the target lies
WARMUP = 10                    # steps the model gets to find the phase before it is scored


def sine_batch(rng: np.random.Generator, steps: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Noisy inputs (steps, batch, 1) and clean targets HORIZON steps ahead, same shape."""
    frequency = rng.uniform(*FREQUENCIES, size=(1, batch, 1))
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(1, batch, 1))
    t = np.arange(steps).reshape(-1, 1, 1)
    inputs = np.sin(frequency * t + phase) + NOISE * rng.normal(size=(steps, batch, 1))
    targets = np.sin(frequency * (t + HORIZON) + phase)
    return inputs, targets


def last_value_mse() -> float:
    """E[(x_t - y_t)^2] for w ~ uniform(FREQUENCIES) and a uniform phase: 1 - E[cos(w H)] + sigma^2."""
    low, high = FREQUENCIES
    mean_cos = (np.sin(high * HORIZON) - np.sin(low * HORIZON)) / ((high - low) * HORIZON)
    return float(1.0 - mean_cos + NOISE ** 2)


class Forecaster(mg.nn.Module):
    """A stacked LSTM and a linear readout from its top layer, in float64."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.lstm = mg.nn.LSTM(1, hidden_size, num_layers=2, dtype=np.float64)
        self.readout = mg.nn.Linear(hidden_size, 1, dtype=np.float64)

    def forward(self, inputs: np.ndarray) -> mg.Tensor:
        """Predictions (steps, batch, 1) for inputs (steps, batch, 1)."""
        top, _ = self.lstm(inputs)
        return self.readout(top)


def plot(inputs: np.ndarray, targets: np.ndarray, predictions: np.ndarray, losses: list,
         baselines: dict, path: Path) -> None:
    """Left: one test sequence, prediction against truth; right: the training loss."""
    import matplotlib.pyplot as plt

    fig, (sequence, curve) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    steps = np.arange(len(inputs))
    sequence.plot(steps, inputs[:, 0, 0], ".", color="grey", markersize=4, label="noisy input x_t")
    sequence.plot(steps, targets[:, 0, 0], color="black", label=f"truth y_t = sin(w (t + {HORIZON}) + phi)")
    sequence.plot(steps, predictions[:, 0, 0], "--", color="tab:red", label="prediction")
    sequence.axvspan(0, WARMUP - 0.5, color="grey", alpha=0.15, label="warm-up (not scored)")
    sequence.set(xlabel="step t", title=f"predicting {HORIZON} steps ahead")
    sequence.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=4)
    curve.semilogy(losses, label="training MSE")
    for name, value in baselines.items():
        curve.axhline(value, linestyle=":", color="grey" if name == "predict 0" else "black", label=name)
    curve.set(xlabel="Adam step", ylabel="MSE", title="training loss")
    curve.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    """Train the forecaster on fresh batches, compare it with the two baselines, plot a test sequence."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds), as CI does")
    parser.add_argument("--out", default="./microgradseq-examples/sine_regression", help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0, help="random seed (the same seed, the same run)")
    config = parser.parse_args(argv)
    if config.quick:
        iterations, hidden, steps, batch, lr = 80, 16, 30, 16, 0.02
    else:
        iterations, hidden, steps, batch, lr = 400, 32, 60, 32, 0.01

    import matplotlib
    matplotlib.use("Agg")
    mg.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = Forecaster(hidden)
    optimizer = mg.optim.Adam(model.parameters(), lr=lr)
    losses = []
    started = time.perf_counter()
    for _ in range(iterations):
        inputs, targets = sine_batch(rng, steps, batch)
        loss = mse_loss(model(inputs)[WARMUP:], targets[WARMUP:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - started

    inputs, targets = sine_batch(np.random.default_rng(config.seed + 1), steps, 256)
    with mg.no_grad():
        predictions = model(inputs).data
    scored = slice(WARMUP, None)
    test_mse = float(np.mean((predictions[scored] - targets[scored]) ** 2))
    zero_mse = float(np.mean(targets[scored] ** 2))
    last_mse = float(np.mean((inputs[scored] - targets[scored]) ** 2))
    print(f"noisy sine, w in {FREQUENCIES}, sigma {NOISE}, predicting {HORIZON} steps ahead; "
          f"LSTM(1, {hidden}, num_layers=2) + Linear, {iterations} Adam steps in {seconds:.1f}s")
    print(f"{'predictor':>20} {'test MSE':>9} {'closed form':>12}")
    print(f"{'LSTM':>20} {test_mse:9.4f}")
    print(f"{'predict 0':>20} {zero_mse:9.4f} {0.5:12.4f}")
    print(f"{'repeat last input':>20} {last_mse:9.4f} {last_value_mse():12.4f}")

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    figure = out / "sine_regression.png"
    plot(inputs, targets, predictions, losses, {"predict 0": zero_mse, "repeat last input": last_mse}, figure)
    print(f"wrote {figure}")
    return {"horizon": HORIZON, "noise": NOISE, "train_losses": losses, "test_mse": test_mse,
            "zero_mse": zero_mse, "last_value_mse": last_mse, "last_value_mse_closed_form": last_value_mse(),
            "seconds": seconds, "figures": [str(figure)]}


if __name__ == "__main__":
    main()
