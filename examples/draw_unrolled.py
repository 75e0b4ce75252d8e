"""Draw unrolled graphs: a 4-step RNN (cells view), a 4-step LSTM (ops view), a TBPTT update with its cut.

    python examples/draw_unrolled.py --out ./microgradseq-drawings
"""

import argparse
from pathlib import Path

import microgradseq as mg
from microgradseq import viz


def rnn_cells(out: Path) -> Path:
    """A 4-step RNNCell with a loss per step; gradients colour the steps."""
    mg.manual_seed(0)
    cell, head = mg.nn.RNNCell(3, 4), mg.nn.Linear(4, 2)
    params = {**{f"cell.{k}": v for k, v in cell.named_parameters()},
              **{f"head.{k}": v for k, v in head.named_parameters()}}
    h, loss = None, None
    for t in range(1, 5):
        with viz.step(t):
            h = cell(mg.randn(1, 3), h)
            term = (head(h) ** 2).sum().named("loss")
            loss = term if loss is None else loss + term
    loss.backward(retain_graph=True)        # keep the graph so it can be drawn with its grads
    return viz.render(viz.draw(loss, params), out / "rnn_cells.svg")


def lstm_ops(out: Path) -> Path:
    """A 4-step LSTM layer, every op drawn; each weight appears once."""
    mg.manual_seed(1)
    lstm = mg.nn.LSTM(2, 3)
    output, _ = lstm(mg.randn(4, 1, 2))
    loss = (output[-1] ** 2).sum()
    loss.backward(retain_graph=True)
    return viz.render(viz.draw(loss, dict(lstm.named_parameters()), view="ops"), out / "lstm_ops.svg")


def tbptt_window(out: Path) -> Path:
    """The update at u = 6 of TBPTT(2, 4), as the runner backpropagated it: the state of step
    c = u - k2 = 2 cut, the losses of steps (u - k1, u] = 5, 6 injected, their gradient going
    back through steps 3..6. `on_backward` hands over each update's loss with its graph kept."""
    mg.manual_seed(2)
    cell = mg.nn.RNNCell(2, 3)
    params = dict(cell.named_parameters())

    def step(x, h):
        h = cell(x, h)
        return h, h

    def on_backward(u, loss):
        if u == 6:
            viz.render(viz.draw_update(loss, params), out / "tbptt_cut.svg")

    inputs = [mg.randn(1, 2) for _ in range(8)]
    mg.bptt.tbptt(step, None, inputs, [mg.zeros(1, 3)] * 8, lambda h, target: ((h - target) ** 2).sum(),
                  k1=2, k2=4, on_backward=on_backward,
                  on_update=lambda u, loss: cell.zero_grad())   # (each update's own weight gradients drawn)
    return out / "tbptt_cut.svg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="microgradseq-drawings", help="folder for the SVG files")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    for path in (rnn_cells(out), lstm_ops(out), tbptt_window(out)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
