"""One training step of an LSTM language model: microgradseq's op-level graph vs hand-written numpy.

Vocab 65 (one-hot inputs), H = 128, B = 32, T = 100, linear readout,
cross-entropy summed over time, full BPTT, SGD. Both versions run in the same
process on the same data and weights; the script checks they produce the same
gradients, then prints median times (with min-max) and the ratio.

    python benchmarks/lstm_language_model.py [--hidden 128 --batch 32 --steps 100 --repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import microgradseq as mg
from microgradseq.functional import cross_entropy

VOCAB = 65


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def numpy_step(params: dict, inputs: np.ndarray, targets: np.ndarray, lr: float) -> dict:
    """Forward, hand-derived backward and SGD for the LSTM + readout; returns the gradients."""
    w_ih, w_hh, b = params["weight_ih"], params["weight_hh"], params["bias_ih"] + params["bias_hh"]
    w_out, b_out = params["weight_out"], params["bias_out"]
    steps, batch, _ = inputs.shape
    hidden = w_hh.shape[1]
    h = np.zeros((steps + 1, batch, hidden), dtype=w_hh.dtype)
    c = np.zeros_like(h)
    gates = np.empty((steps, batch, 4 * hidden), dtype=w_hh.dtype)
    x_proj = inputs.reshape(steps * batch, -1) @ w_ih.T
    x_proj = x_proj.reshape(steps, batch, -1)
    for t in range(steps):
        pre = x_proj[t] + h[t] @ w_hh.T + b
        i, f, g, o = np.split(pre, 4, axis=1)
        i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
        gates[t] = np.concatenate([i, f, g, o], axis=1)
        c[t + 1] = f * c[t] + i * g
        h[t + 1] = o * np.tanh(c[t + 1])
    logits = h[1:].reshape(steps * batch, hidden) @ w_out.T + b_out
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    d_logits = probs
    d_logits[np.arange(steps * batch), targets.reshape(-1)] -= 1
    grads = {"weight_out": d_logits.T @ h[1:].reshape(steps * batch, hidden),
             "bias_out": d_logits.sum(axis=0)}
    d_h_all = (d_logits @ w_out).reshape(steps, batch, hidden)
    d_pre = np.empty_like(gates)
    d_h_next, d_c_next = np.zeros((batch, hidden), w_hh.dtype), np.zeros((batch, hidden), w_hh.dtype)
    for t in range(steps - 1, -1, -1):
        i, f, g, o = np.split(gates[t], 4, axis=1)
        tanh_c = np.tanh(c[t + 1])
        d_h = d_h_all[t] + d_h_next
        d_c = d_c_next + d_h * o * (1 - tanh_c * tanh_c)
        d_pre[t] = np.concatenate([d_c * g * i * (1 - i), d_c * c[t] * f * (1 - f),
                                   d_c * i * (1 - g * g), d_h * tanh_c * o * (1 - o)], axis=1)
        d_h_next = d_pre[t] @ w_hh
        d_c_next = d_c * f
    flat = d_pre.reshape(steps * batch, -1)
    grads["weight_ih"] = flat.T @ inputs.reshape(steps * batch, -1)
    grads["weight_hh"] = flat.T @ h[:-1].reshape(steps * batch, hidden)
    grads["bias_ih"] = grads["bias_hh"] = flat.sum(axis=0)
    for name, grad in grads.items():
        params[name] = params[name] - lr * grad
    return grads


class LanguageModel(mg.nn.Module):
    def __init__(self, hidden: int, dtype) -> None:
        super().__init__()
        self.lstm = mg.nn.LSTM(VOCAB, hidden, dtype=dtype)
        self.readout = mg.nn.Linear(hidden, VOCAB, dtype=dtype)

    def forward(self, inputs: np.ndarray, targets: np.ndarray) -> mg.Tensor:
        output, _ = self.lstm(inputs)
        logits = self.readout(output.reshape(-1, output.shape[-1]))
        return cross_entropy(logits, targets.reshape(-1), reduction="sum")


def engine_step(model: LanguageModel, inputs: np.ndarray, targets: np.ndarray, lr: float) -> None:
    model.zero_grad()
    model(inputs, targets).backward()
    for p in model.parameters():
        p._replace_data(p._data - lr * p.grad)


def median_range(fn, repeats: int) -> tuple[float, float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(0)
    codes = rng.integers(0, VOCAB, (args.steps + 1, args.batch))
    inputs = np.eye(VOCAB, dtype=dtype)[codes[:-1]]
    targets = codes[1:]
    mg.manual_seed(0)
    model = LanguageModel(args.hidden, dtype)
    names = {"lstm.weight_ih_l0": "weight_ih", "lstm.weight_hh_l0": "weight_hh",
             "lstm.bias_ih_l0": "bias_ih", "lstm.bias_hh_l0": "bias_hh",
             "readout.weight": "weight_out", "readout.bias": "bias_out"}
    params = {names[k]: v for k, v in model.state_dict().items()}

    model(inputs, targets).backward()
    reference = numpy_step(dict(params), inputs, targets, lr=0.0)
    tolerance = 1e-3 if dtype == np.float32 else 1e-8
    for name, p in model.named_parameters():
        scale = np.abs(reference[names[name]]).max()
        assert np.abs(p.grad - reference[names[name]]).max() <= tolerance * scale, name

    lr = 1e-4
    numpy_time = median_range(lambda: numpy_step(params, inputs, targets, lr), args.repeats)
    engine_time = median_range(lambda: engine_step(model, inputs, targets, lr), args.repeats)
    print(f"LSTM language model, vocab {VOCAB}, H={args.hidden}, B={args.batch}, T={args.steps}, {dtype}")
    print(f"{'implementation':<28}{'median ms':>10}{'min':>9}{'max':>9}")
    for label, (med, lo, hi) in (("hand-written numpy", numpy_time), ("microgradseq (op-level)", engine_time)):
        print(f"{label:<28}{med * 1e3:>10.1f}{lo * 1e3:>9.1f}{hi * 1e3:>9.1f}")
    print(f"ratio microgradseq / numpy: {engine_time[0] / numpy_time[0]:.2f}x")


if __name__ == "__main__":
    main()
