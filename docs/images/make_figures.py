"""Regenerate the figures of the course pages: a scalar graph and a 4-step unrolled RNN.

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


def rnn_unrolled(out: Path) -> Path:
    """docs/bptt.md's RNN unrolled over 4 steps, a cross-entropy loss per step, cells view."""
    rng = np.random.default_rng(0)
    cell = mg.nn.RNNCell(3, 4, rng=rng, dtype=np.float64)
    head = mg.nn.Linear(4, 3, rng=rng, dtype=np.float64)
    params = {**{f"cell.{k}": v for k, v in cell.named_parameters()},
              **{f"head.{k}": v for k, v in head.named_parameters()}}
    inputs = rng.standard_normal((4, 1, 3))
    targets = rng.integers(0, 3, size=(4, 1))
    h, loss = None, None
    for t in range(1, 5):
        with viz.step(t):                   # stamp this step's nodes with t = 1..4
            h = cell(inputs[t - 1], h)
            term = cross_entropy(head(h), targets[t - 1], reduction="sum").named("E_t")
            loss = term if loss is None else loss + term
    loss.backward(retain_graph=True)
    return viz.render(viz.draw(loss, params, view="cells"), out / "rnn_unrolled.svg")


def main() -> None:
    for path in (scalar_graph(HERE), rnn_unrolled(HERE)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
