"""Vanishing and exploding gradients: how ||dL_T/dh_t|| changes as t moves away from the loss.

One loss L_T = v . h_T at the last step, on the same input for four recurrent
nets. Backpropagation multiplies by one Jacobian per step,

    dL/dh_(t-1) = J_t^T dL/dh_t,   J_t = diag(act'(a_t)) W_hh   (tanh or relu RNN),

so ||dL/dh_t|| shrinks or grows roughly geometrically in T - t. With
||W_hh|| = 0.5 and |tanh'| <= 1 it is at most 0.5^(T-t) ||dL/dh_T||. Large
recurrent weights explode instead, a relu RNN started at W_hh = I passes the
gradient of every active unit on unchanged, and an LSTM carries it along its
cell state, scaled by the forget gate (biased towards 1 here, as is common).

Clipping (`mg.optim.clip_grad_norm_`) rescales the whole parameter gradient to
at most max_norm: it tames an explosion, but it scales every step's share by
the same factor, so it cannot bring back a gradient that has vanished.

    python examples/vanishing_gradients.py [--quick] [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import microgradseq as mg

MODELS = ("tanh, small W_hh", "tanh, large W_hh", "relu, W_hh = I", "LSTM")


def make_cell(name: str, input_size: int, hidden: int, rng: np.random.Generator) -> mg.nn.Module:
    """One of the four cells in float64, its recurrent weights set as the model name says."""
    if name == "LSTM":
        cell = mg.nn.LSTMCell(input_size, hidden, rng=rng, dtype=np.float64)
        bias = cell.bias_ih.data.copy()
        bias[hidden:2 * hidden] = 2.0        # forget-gate rows (order i, f, g, o): f near sigmoid(2) = 0.88
        cell.bias_ih.data = bias
        return cell
    nonlinearity = "relu" if name.startswith("relu") else "tanh"
    cell = mg.nn.RNNCell(input_size, hidden, nonlinearity=nonlinearity, rng=rng, dtype=np.float64)
    if name == "tanh, small W_hh":
        orthogonal, _ = np.linalg.qr(rng.normal(size=(hidden, hidden)))
        cell.weight_hh.data = 0.5 * orthogonal          # every singular value is 0.5
    elif name == "tanh, large W_hh":
        cell.weight_hh.data = rng.normal(scale=2.0 / np.sqrt(hidden), size=(hidden, hidden))
    else:
        cell.weight_hh.data = np.eye(hidden)            # the IRNN start (Le, Jaitly and Hinton 2015)
    return cell


def state_gradients(cell: mg.nn.Module, inputs: np.ndarray, readout: np.ndarray) -> tuple[list, float]:
    """(||dL/dh_t|| for t = 1..T, L) with L = readout . h_T.

    To read dL/dh_t for every t, each step's hidden state gets a zero tensor
    added, h_t + z_t, where z_t is a leaf that requires grad: then
    z_t.grad = dL/d(h_t + z_t) = dL/dh_t, the gradient that flows into step t + 1.
    (microgradseq also keeps `.grad` on every tensor a backward pass reaches, but
    the probe works in any framework, PyTorch included.)
    """
    is_lstm = isinstance(cell, mg.nn.LSTMCell)
    state, probes = None, []
    for x in inputs:
        hidden, memory = cell(x, state) if is_lstm else (cell(x, state), None)
        probe = mg.tensor(np.zeros(hidden.shape), requires_grad=True, dtype=np.float64)
        probes.append(probe)
        hidden = hidden + probe
        state = (hidden, memory) if is_lstm else hidden
    loss = (hidden * readout).sum()
    loss.backward()
    return [float(np.linalg.norm(probe.grad)) for probe in probes], loss.item()


def clip_parameter_gradient(cell: mg.nn.Module, max_norm: float) -> tuple[float, float]:
    """(norm before, norm after) of the cell's parameter gradient under clip_grad_norm_."""
    before = mg.optim.clip_grad_norm_(cell.parameters(), max_norm).item()      # (a 0-d Tensor)
    after = float(np.sqrt(sum(np.sum(p.grad ** 2) for p in cell.parameters())))
    return before, after


def plot(norms: dict, clipped_scale: dict, max_norm: float, before: dict, after: dict,
         path: Path) -> None:
    """Left: ||dL/dh_t|| against t, log scale; right: the parameter gradient norm before and after clipping."""
    import matplotlib.pyplot as plt

    fig, (curves, bars) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    last_step = len(norms["tanh, small W_hh"])
    steps = np.arange(1, last_step + 1)
    for name, values in norms.items():
        line, = curves.semilogy(steps, values, label=name)
        if clipped_scale[name] < 1.0:
            curves.semilogy(steps, clipped_scale[name] * np.asarray(values), linestyle="--",
                            color=line.get_color(), label=f"{name}, share after clipping")
    at_loss = norms["tanh, small W_hh"][-1]
    curves.semilogy(steps, at_loss * 0.5 ** (last_step - steps), color="grey", linestyle=":",
                    label="bound 0.5^(T - t) for tanh, ||W_hh|| = 0.5")
    curves.set(xlabel="step t", ylabel="||dL_T / dh_t||",
               title=f"gradient reaching step t from the loss at T = {last_step}")
    curves.legend(fontsize=8)
    positions = np.arange(len(before))
    bars.bar(positions - 0.2, list(before.values()), width=0.4, label="before clipping")
    bars.bar(positions + 0.2, list(after.values()), width=0.4, label="after clipping")
    bars.axhline(max_norm, color="grey", linestyle=":", label=f"max_norm = {max_norm}")
    bars.set_yscale("log")
    bars.set_xticks(positions, [name.replace(", ", "\n") for name in before], fontsize=8)
    bars.set(ylabel="||dL/d parameters||", title="clip_grad_norm_")
    bars.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    """Measure ||dL_T/dh_t|| for the four nets, clip their parameter gradients, print and plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds), as CI does")
    parser.add_argument("--out", default="./microgradseq-examples/vanishing_gradients",
                        help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0, help="random seed (the same seed, the same run)")
    config = parser.parse_args(argv)
    steps, hidden, input_size, max_norm = (30, 32, 4, 10.0) if config.quick else (100, 64, 4, 10.0)

    import matplotlib
    matplotlib.use("Agg")
    rng = np.random.default_rng(config.seed)
    inputs = rng.normal(size=(steps, 1, input_size))
    readout = rng.normal(size=(1, hidden)) / np.sqrt(hidden)
    norms, losses, before, after, clipped_scale = {}, {}, {}, {}, {}
    for name in MODELS:
        cell = make_cell(name, input_size, hidden, rng)
        norms[name], losses[name] = state_gradients(cell, inputs, readout)
        before[name], after[name] = clip_parameter_gradient(cell, max_norm)
        # the share after clipping, 1 where clipping did not act (after / before can round to 1 - 1e-16 there)
        clipped_scale[name] = after[name] / before[name] if before[name] + 1e-6 > max_norm else 1.0
    decay = {name: values[0] / values[-1] for name, values in norms.items()}

    print(f"||dL_T/dh_t|| for one loss at T = {steps}, hidden size {hidden}")
    shown = sorted({steps, 3 * steps // 4, steps // 2, steps // 4, 1}, reverse=True)
    print(f"{'model':>18} " + " ".join(f"{'t = ' + str(t):>9}" for t in shown)
          + f" {'t=1 / t=T':>10}")
    for name, values in norms.items():
        print(f"{name:>18} " + " ".join(f"{values[t - 1]:9.2e}" for t in shown)
              + f" {decay[name]:10.2e}")
    print(f"bound for tanh with ||W_hh|| = 0.5: t=1 / t=T <= 0.5^{steps - 1} = {0.5 ** (steps - 1):.2e}")
    print(f"\nparameter gradient norm, clip_grad_norm_(max_norm={max_norm}):")
    for name in MODELS:
        print(f"{name:>18}  before {before[name]:10.3e}  after {after[name]:10.3e}")

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    figure = out / "vanishing_gradients.png"
    plot(norms, clipped_scale, max_norm, before, after, figure)
    print(f"wrote {figure}")
    return {"steps": steps, "hidden": hidden, "max_norm": max_norm, "norms": norms, "decay": decay,
            "loss": losses, "grad_norm_before": before, "grad_norm_after": after,
            "figures": [str(figure)]}


if __name__ == "__main__":
    main()
