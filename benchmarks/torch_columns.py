"""PyTorch columns for tables 1 and 2, used only when PyTorch happens to be installed.

Never a dependency: `load()` returns None without it, and the tables then leave
these columns out. The workloads are the same: same weights, data and dtype;
a PyTorch cell looped over the steps, and the fused sequence layer.
"""

from __future__ import annotations

import numpy as np

from char_models import VOCAB


def load():
    """The torch module, or None. PyTorch then runs on one thread, as numpy's BLAS does in these
    benchmarks (`OPENBLAS_NUM_THREADS=1`; its own intra-op threads would fight over the 2 cores)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


class TorchColumns:
    header = ["PyTorch cell loop ms", "ratio", "PyTorch fused layer ms", "ratio"]

    def __init__(self, torch) -> None:
        self.torch = torch

    def trainers(self, kind: str, params: dict, inputs: np.ndarray, targets: np.ndarray, lr: float) -> dict:
        torch = self.torch
        nn, functional = torch.nn, torch.nn.functional
        dtype = torch.float64 if inputs.dtype == np.float64 else torch.float32
        hidden = params["weight_hh"].shape[1]
        name = kind.upper()
        x = torch.from_numpy(inputs)
        y = torch.from_numpy(np.ascontiguousarray(targets.reshape(-1)))

        def build(module, suffix: str):
            module = module.to(dtype)
            readout = nn.Linear(hidden, VOCAB).to(dtype)
            with torch.no_grad():
                for part in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(module, part + suffix).copy_(torch.from_numpy(params[part]))
                readout.weight.copy_(torch.from_numpy(params["weight_out"]))
                readout.bias.copy_(torch.from_numpy(params["bias_out"]))
            optimizer = torch.optim.SGD(list(module.parameters()) + list(readout.parameters()), lr=lr)
            return module, readout, optimizer

        cell, cell_readout, cell_optimizer = build(getattr(nn, name + "Cell")(VOCAB, hidden), "")
        layer, layer_readout, layer_optimizer = build(getattr(nn, name)(VOCAB, hidden), "_l0")

        def train(outputs, readout, optimizer):
            logits = readout(outputs.reshape(-1, hidden))
            loss = functional.cross_entropy(logits, y, reduction="sum")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        def cell_loop():
            state, outputs = None, []
            for t in range(len(x)):
                state = cell(x[t], state)
                outputs.append(state[0] if kind == "lstm" else state)
            train(torch.stack(outputs), cell_readout, cell_optimizer)

        def fused_layer():
            train(layer(x)[0], layer_readout, layer_optimizer)

        return {"torch cell loop": cell_loop, "torch fused layer": fused_layer}

    def cells(self, times: dict, numpy_time) -> list[str]:
        loop, fused = times["torch cell loop"], times["torch fused layer"]
        return [loop.ms(), f"{loop.median / numpy_time.median:.2f}x",
                fused.ms(), f"{fused.median / numpy_time.median:.2f}x"]
