"""Regenerate the figures of the course pages: a scalar graph and the unrolled RNN of docs/bptt.md.

    python docs/images/make_figures.py            # writes docs/images/*.svg

Both drawings come from `mg.draw` and `mg.viz.render`, so they show exactly
what the library records. No system Graphviz is needed (graphviz-pure renders).
"""

from pathlib import Path

import numpy as np

import microgradseq as mg
from microgradseq import viz
from microgradseq.functional import cross_entropy

HERE = Path(__file__).resolve().parent


def scalar_graph(out: Path) -> Path:
    """docs/autodiff.md's worked example: L = tanh(a * b + c), values and grads in every box."""
    a = mg.tensor(2.0, requires_grad=True, dtype=np.float64)
    b = mg.tensor(-3.0, requires_grad=True, dtype=np.float64)
    c = mg.tensor(6.0 + np.arcsinh(1.0), requires_grad=True, dtype=np.float64)
    e = (a * b).named("e")
    d = (e + c).named("d")
    loss = d.tanh().named("L")
    loss.backward(retain_graph=True)        # keep the graph so it is drawn with its grads
    graph = mg.draw(loss, params={"a": a, "b": b, "c": c}, show_values=True)
    return viz.render(graph, out / "scalar_graph.svg")


def bptt_check_model():
    """docs/bptt.md's check, as its block builds it: the same sizes, seed and draws, in the same order."""
    T, B, I, H, C = 6, 2, 3, 4, 3
    rng = np.random.default_rng(0)
    cell = mg.nn.RNNCell(I, H, rng=rng, dtype=np.float64)
    head = mg.nn.Linear(H, C, rng=rng, dtype=np.float64)
    xs = rng.standard_normal((T, B, I))
    targets = rng.integers(0, C, size=(T, B))
    return cell, head, xs, targets


def rnn_unrolled(out: Path) -> Path:
    """docs/bptt.md's RNN unrolled over the 6 steps of its check (a batch of 2), a cross-entropy per step,
    cells view: the numbers drawn are the check's."""
    cell, head, xs, targets = bptt_check_model()
    params = {**{f"cell.{k}": v for k, v in cell.named_parameters()},
              **{f"head.{k}": v for k, v in head.named_parameters()}}
    h, loss = None, None
    for t in range(1, len(xs) + 1):
        with viz.step(t):                   # stamp this step's nodes with t = 1..T
            h = cell(xs[t - 1], h)
            term = cross_entropy(head(h), targets[t - 1], reduction="sum").named("E_t")
            loss = term if loss is None else loss + term
    loss.backward(retain_graph=True)
    return viz.render(viz.draw(loss, params, view="cells"), out / "rnn_unrolled.svg")


def main() -> None:
    for path in (scalar_graph(HERE), rnn_unrolled(HERE)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
