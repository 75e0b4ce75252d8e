"""microgradseq's command line: `demo` trains a character LSTM with TBPTT; `draw` draws an unrolled RNN, LSTM or GRU.

    python -m microgradseq demo             # about 20-30 s on 2 cores; writes ./microgradseq-demo/
    python -m microgradseq draw --out rnn.svg

The demo trains `microgradseq.charlm.CharLM` with TBPTT(k1, k2) (`mg.bptt.tbptt_blocks`) on
the text that ships with the package, its last tenth held out: it shows a
progress bar, reports the loss on the held-out text (the figure that says
what the model learned), samples text, and writes the drawing of one TBPTT
window, the training and validation loss curves and the per-step gradient
norms. matplotlib and tqdm (the `demo` extra) are imported here only, never by
the library.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import numpy as np

import microgradseq as mg
from microgradseq import charlm


def fraction(text: str) -> float:
    """argparse type: a number strictly between 0 and 1, or a usage error."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a number strictly between 0 and 1, got {text!r}")
    return value


def bounded_int(low: int, high: int | None = None):
    """argparse type: an integer in [low, high] (no upper bound when high is None), or a usage error."""
    span = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {span}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {span}, got {text}")
        return value

    return parse


positive_int = bounded_int(1)


MAX_LR = 1.0        # Adam moves each weight by about lr a step: above 1 training only diverges
MAX_HIDDEN = 2048   # an LSTM of 2048 has 17 million recurrent weights; much larger ones exhaust memory


def learning_rate(text: str) -> float:
    """argparse type: a learning rate, a finite number in (0, MAX_LR], or a usage error."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number greater than 0 and at most {MAX_LR:g}, "
                                         f"got {text!r}") from None
    if not 0 < value <= MAX_LR:          # also rejects nan
        raise argparse.ArgumentTypeError(f"must be a number greater than 0 and at most {MAX_LR:g}, got {text}")
    return value


def check_demo(args: argparse.Namespace, usage: argparse.ArgumentParser) -> None:
    """The checks of `demo`'s options that depend on each other and on the built-in text
    (its length after --valid holds out the end), made before any work: `usage.error` (exit 2)."""
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        usage.error(f"argument --out: {args.out!r} exists and is not a folder")
    total = len(charlm.load_text())
    try:
        n = len(charlm.split(np.arange(total), args.valid)[0])      # training characters
    except ValueError:
        usage.error(f"argument --valid: holding out {args.valid:g} of the text's {total:,} characters "
                    f"leaves fewer than 2 to train on")
    if args.batch > n // 2:
        usage.error(f"argument --batch: must be from 1 to {n // 2:,} (the {n:,} training characters left by "
                    f"--valid {args.valid:g}, at least 2 a stream; hold out less to train more), got {args.batch}")
    drawn = args.k1 * (args.k2 // args.k1 + 1)              # the update charlm.record_window draws
    if drawn >= n:
        usage.error(f"argument --k1/--k2: the drawn TBPTT(k1={args.k1}, k2={args.k2}) window ends at its "
                    f"update u = {drawn:,} (the first multiple of k1 above k2), which needs more than u of "
                    f"the {n:,} training characters; k1 + k2 below {n:,} always fits")


def check_draw(args: argparse.Namespace, usage: argparse.ArgumentParser) -> None:
    """`draw --out`'s format (by suffix, as `mg.viz.render`) and folder, checked before any work."""
    from microgradseq.viz.render import FORMATS, cannot_write

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        usage.error(f"argument --out: the suffix picks the format, one of {', '.join(FORMATS)}; "
                    f"got {args.out!r}")
    problem = cannot_write(suffix, mg.viz.find_renderer())
    if problem:
        usage.error(f"argument --out: {problem}, got {args.out!r}")
    if not out.absolute().parent.is_dir():
        usage.error(f"argument --out: the folder {str(out.absolute().parent)!r} does not exist")
    if out.is_dir():
        usage.error(f"argument --out: {args.out!r} is a folder")


DEMO_MODULES = ("matplotlib", "tqdm")


def missing_demo_modules() -> list[str]:
    """The demo extra's modules that cannot be imported."""
    missing = []
    for name in DEMO_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def has_renderer() -> bool:
    """Whether a Graphviz renderer exists (`mg.viz.render` needs one); if not, say what to install."""
    if mg.viz.ensure_renderer() is None:
        print('microgradseq needs a Graphviz renderer to draw: pip install graphviz-pure, or install '
              'Graphviz (its `dot` on PATH)', file=sys.stderr)
        return False
    return True


def loss_figure(log: charlm.TrainingLog):
    """Training loss at each update (and its running mean) beside the validation loss,
    against time steps trained."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    steps = np.array(log.steps)
    ax.plot(steps, log.losses, lw=0.6, alpha=0.3, label="training, each update")
    width = max(1, len(log.losses) // 50)
    smooth = np.convolve(log.losses, np.ones(width) / width, mode="valid")
    ax.plot(steps[width - 1:], smooth, lw=2, label=f"training, mean of {width} updates")
    if log.valid_losses:
        ax.plot(log.valid_steps, log.valid_losses, "o-", lw=2, color="black",
                label="validation (held-out text)")
    ax.set_xlabel("time step (characters read per stream)")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_title("training and validation loss")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_losses(log: charlm.TrainingLog, path: Path) -> Path:
    """`loss_figure`, written to `path`."""
    import matplotlib.pyplot as plt

    fig = loss_figure(log)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_grad_norms(window: charlm.Window, log: charlm.TrainingLog, k1: int, k2: int, path: Path) -> Path:
    """Left: ||dL_u/dh_t|| against t inside one update's window. Right: the parameter
    gradient norm (before clipping) at each update of training."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    steps = [t for t, h in window.hidden.items() if t > window.cut and h.grad is not None]
    norms = [float(np.linalg.norm(window.hidden[t].grad)) for t in steps]
    left.semilogy(steps, norms, "o-")
    left.axvline(window.cut, color="gray", ls="--", label=f"cut c = u - k2 = {window.cut}")
    left.axvspan(window.update - k1 + 0.5, window.update + 0.5, color="orange", alpha=0.15,
                 label=f"steps whose losses are injected (k1 = {k1})")
    left.set_xlabel("time step t")
    left.set_ylabel("||dL_u / dh_t||")
    left.set_title(f"one TBPTT({k1}, {k2}) update, u = {window.update}")
    left.legend(fontsize=8)
    right.semilogy(log.steps, log.grad_norms, lw=0.8)
    right.set_xlabel("time step")
    right.set_ylabel("||dL_u / dθ|| before clipping")
    right.set_title("parameter gradient norm at each update")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def demo(args: argparse.Namespace) -> int:
    missing = missing_demo_modules()
    if missing:
        print(f"microgradseq demo needs {' and '.join(missing)}: "
              f'pip install matplotlib tqdm (or, in a clone, pip install ".[demo]")', file=sys.stderr)
        return 2
    if not has_renderer():
        return 2
    from tqdm import tqdm
    import matplotlib

    matplotlib.use("Agg")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = charlm.load_text()
    vocab = charlm.Vocabulary(text)
    codes, valid = charlm.split(vocab.encode(text), args.valid)
    model = charlm.CharLM(len(vocab), args.hidden, args.cell, rng=np.random.default_rng(args.seed))
    print(f"A character-level {args.cell.upper()} (hidden {args.hidden}) learns {len(codes):,} characters of "
          f"built-in text ({len(vocab)} distinct), {args.batch} streams at once, with TBPTT(k1={args.k1}, "
          f"k2={args.k2}): every {args.k1} steps one backward pass through the last {args.k2}. The last "
          f"{len(valid):,} characters are held out to validate on.")

    started = time.perf_counter()
    with tqdm(total=args.steps, unit="step", desc="training", dynamic_ncols=True) as bar:
        def progress(step: int, loss: float) -> None:
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            bar.update(step - bar.n)

        log = charlm.train(model, codes, steps=args.steps, k1=args.k1, k2=args.k2, batch_size=args.batch,
                           lr=args.lr, on_update=progress, valid_codes=valid)
    seconds = time.perf_counter() - started
    diverged = [(which, loss) for which, losses in (("training", log.losses), ("validation", log.valid_losses))
                for loss in losses if not np.isfinite(loss)]
    if diverged:
        which, reached = diverged[0]
        print(f"training diverged (the {which} loss reached {reached}); try a smaller --lr than {args.lr:g}",
              file=sys.stderr)
        return 1
    window = max(1, min(10, len(log.losses) // 2))     # (a short run: halves, so the two means differ)
    first, final = np.mean(log.losses[:window]), np.mean(log.losses[-window:])
    print(f"validation loss {log.valid_losses[0]:.3f} -> {log.valid_losses[-1]:.3f} nats per character "
          f"on the held-out text (uniform guessing: {np.log(len(vocab)):.3f}); training loss "
          f"{first:.3f} -> {final:.3f} (mean of the first and of the last {window} updates); {seconds:.1f} s")

    rng = np.random.default_rng(args.seed)
    for temperature in (0.5, 1.0):
        sample = charlm.sample(model, vocab, "The ", 160, temperature, rng)
        print(f"\nsample at temperature {temperature}:\n{sample}")

    window = charlm.record_window(model, codes, args.k1, args.k2)
    graph = mg.draw(window.loss, dict(model.named_parameters()))
    files = [mg.viz.render(graph, out / "tbptt_window.svg"),
             plot_losses(log, out / "loss.png"),
             plot_grad_norms(window, log, args.k1, args.k2, out / "grad_norms.png")]
    (out / "losses.txt").write_text("".join(f"{v:.5f}\n" for v in log.losses))
    (out / "valid_losses.txt").write_text("".join(f"{s} {v:.5f}\n" for s, v in
                                                  zip(log.valid_steps, log.valid_losses)))
    mg.save(model, out / "model.npz")
    files += [out / "losses.txt", out / "valid_losses.txt", out / "model.npz"]
    print(f"\nfiles written to {out.resolve()}:")
    for path in files:
        print(f"  {path.name}")
    print(f"\nto sample from the saved model in Python:\n{reload_snippet(out / 'model.npz', args)}")
    return 0


def reload_snippet(path: Path, args: argparse.Namespace) -> str:
    """Python lines that load the demo's saved weights into a model of the same shape and sample from it."""
    return (f"  import microgradseq as mg\n  from microgradseq import charlm\n"
            f"  vocab = charlm.Vocabulary(charlm.load_text())\n"
            f"  model = charlm.CharLM(len(vocab), {args.hidden}, {args.cell!r})\n"
            f"  model.load_state_dict(mg.load({str(path.resolve())!r}))\n"
            f"  print(charlm.sample(model, vocab, 'The ', 200))")


def draw(args: argparse.Namespace) -> int:
    """A small RNN unrolled for --steps steps, a loss at every step, after one backward pass."""
    if not has_renderer():
        return 2
    mg.manual_seed(args.seed)
    cell = charlm.CELLS[args.cell](3, 4)
    readout = mg.nn.Linear(4, 2)
    state, loss = None, None
    for t in range(1, args.steps + 1):
        with mg.viz.step(t):
            state = cell(mg.randn(1, 3), state)
            h = state[0] if args.cell == "lstm" else state
            term = (readout(h) ** 2).sum().named("loss")
            loss = term if loss is None else loss + term
    loss.backward(retain_graph=True)
    params = {**{f"cell.{k}": v for k, v in cell.named_parameters()},
              **{f"readout.{k}": v for k, v in readout.named_parameters()}}
    graph = mg.draw(loss, params, view=args.view, max_steps=None if args.all else 12)
    path = mg.viz.render(graph, args.out)
    print(f"drew a {args.steps}-step {args.cell.upper()} ({args.view} view) to {Path(path).resolve()}")
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="microgradseq", description=__doc__.splitlines()[0])
    commands = main_parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("demo", help="train a character-level LSTM with TBPTT on the built-in text",
                              description="Train a character-level LSTM on the built-in text with truncated BPTT, "
                              "TBPTT(k1, k2), and Adam; print the losses and two samples, and write to --out the loss "
                              "plot, the gradient norms of one update, its drawing, the losses and the model.",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    run.add_argument("--cell", default="lstm", choices=sorted(charlm.CELLS), help="recurrent cell")
    run.add_argument("--k1", type=positive_int, default=20,
                     help="steps between updates (TBPTT k1), >= 1; k1 + k2 below the training text's length")
    run.add_argument("--k2", type=positive_int, default=40, help="steps each update backpropagates (TBPTT k2), >= 1")
    run.add_argument("--hidden", type=bounded_int(1, MAX_HIDDEN), default=128, help=f"hidden size, 1 to {MAX_HIDDEN}")
    run.add_argument("--steps", type=positive_int, default=12_000, help="time steps to train, >= 1")
    run.add_argument("--batch", type=positive_int, default=32,
                     help="parallel streams of text, from 1 to half the training text's length")
    run.add_argument("--lr", type=learning_rate, default=3e-3, help=f"Adam learning rate, in (0, {MAX_LR:g}]")
    run.add_argument("--valid", type=fraction, default=0.1,
                     help="share of the text held out for validation, in (0, 1)")
    run.add_argument("--seed", type=bounded_int(0), default=0, help="random seed, >= 0")
    run.add_argument("--out", default="microgradseq-demo", help="output folder")
    run.set_defaults(run=demo, check=check_demo, usage=run)

    picture = commands.add_parser(
        "draw", help="draw the unrolled graph of a small RNN to a file",
        description="Draw the graph of a small recurrent cell (3 inputs, 4 hidden units, --cell) unrolled "
                    "over --steps steps, with a loss at every step (a 2-unit linear readout, squared and "
                    "summed), after one backward pass: each step a box labelled t = <t> that prints "
                    "||dL/dh_t||, each parameter drawn once. The cells view draws per step the input, the "
                    "state and the output; the ops view every op. Rendered by graphviz-pure when no "
                    "system Graphviz is installed.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    picture.add_argument("--cell", default="rnn", choices=sorted(charlm.CELLS), help="recurrent cell")
    picture.add_argument("--steps", type=positive_int, default=4, help="time steps to unroll, >= 1")
    picture.add_argument("--view", default="cells", choices=["cells", "ops"], help="one box per step, or every op")
    picture.add_argument("--all", action="store_true", help="draw every step, not at most 12")
    picture.add_argument("--seed", type=bounded_int(0), default=0, help="random seed, >= 0")
    picture.add_argument("--out", default="microgradseq-rnn.svg",
                         help="output file: .svg or .png (.pdf with the system Graphviz `dot`)")
    picture.set_defaults(run=draw, check=check_draw, usage=picture)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.check(args, args.usage)          # usage errors (exit 2) before any work
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
