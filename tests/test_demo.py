"""The main job: the character model behind `python -m microgradseq demo`, and the command line itself."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import charlm
from microgradseq.__main__ import loss_figure, main

F64 = np.float64
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def text_codes():
    text = charlm.load_text()
    vocab = charlm.Vocabulary(text)
    return vocab, vocab.encode(text)


def test_the_built_in_text_is_tens_of_kilobytes_of_plain_characters(text_codes):
    vocab, codes = text_codes
    assert 10_000 < len(codes) < 100_000
    assert 20 <= len(vocab) <= 100
    assert all(c.isprintable() or c == "\n" for c in vocab.chars)


def test_vocabulary_round_trips_and_rejects_unknown_characters(text_codes):
    vocab, codes = text_codes
    assert vocab.decode(codes[:200]) == charlm.load_text()[:200]
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.encode("\x00")


def test_a_near_zero_temperature_samples_the_greedy_continuation(text_codes):
    vocab, _ = text_codes
    model = charlm.CharLM(len(vocab), 8, "gru", rng=np.random.default_rng(0), dtype=F64)
    state, code, greedy = None, None, []
    with mg.no_grad():
        for c in vocab.encode("The"):
            logits, state = model.step(np.array([c]), state)
        for _ in range(10):
            code = int(np.argmax(logits.data[0]))
            greedy.append(code)
            logits, state = model.step(np.array([code]), state)
    assert charlm.sample(model, vocab, "The", 10, temperature=1e-4) == "The" + vocab.decode(greedy)
    with pytest.raises(ValueError, match="temperature"):
        charlm.sample(model, vocab, "The", 3, temperature=0.0)


@pytest.mark.parametrize("k1, k2", [(3, 5), (4, 2)])
def test_the_drawn_window_is_the_runner_s_update(text_codes, k1, k2):
    """record_window rebuilds update u (the first multiple of k1 above k2) of TBPTT(k1, k2) on one
    stream: the runner's loss and gradients at that update."""
    vocab, codes = text_codes
    model = charlm.CharLM(len(vocab), 6, "lstm", embedding_dim=5, rng=np.random.default_rng(1), dtype=F64)
    u = k1 * (k2 // k1 + 1)
    seen = {}

    def on_update(step, loss):
        seen[step] = (loss, {name: p.grad.copy() for name, p in model.named_parameters()})
        model.zero_grad()

    inputs, targets = codes[:u, None], codes[1:u + 1, None]
    mg.bptt.tbptt(model.step, None, inputs, targets, charlm.next_char_loss, k1, k2, on_update=on_update)
    window = charlm.record_window(model, codes, k1, k2)
    loss, grads = seen[u]
    assert window.loss.item() == pytest.approx(loss, rel=1e-12)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, grads[name], rtol=0, atol=1e-12, err_msg=name)
    # the gradient reaches every state after the cut and none before it
    assert window.cut == u - k2
    for t, h in window.hidden.items():
        if t > window.cut:
            assert h.grad is not None and np.linalg.norm(h.grad) > 0, t


def test_train_rejects_bad_arguments(text_codes):
    vocab, codes = text_codes
    model = charlm.CharLM(len(vocab), 4, "rnn")
    with pytest.raises(ValueError, match="steps"):
        charlm.train(model, codes, steps=0, k1=2, k2=2)
    with pytest.raises(ValueError, match="cell"):
        charlm.CharLM(len(vocab), 4, "transformer")


def test_training_carries_on_across_passes_over_the_text(text_codes):
    """More steps than one pass holds: training wraps around and the step count is exact."""
    vocab, codes = text_codes
    model = charlm.CharLM(len(vocab), 8, "rnn", rng=np.random.default_rng(0))
    one_pass = len(codes) // 256 - 1
    log = charlm.train(model, codes, steps=one_pass + 30, k1=25, k2=25, batch_size=256)
    assert log.steps[-1] == one_pass + 30
    assert all(b > a for a, b in zip(log.steps, log.steps[1:]))
    assert len(log.losses) == len(log.grad_norms) == len(log.steps)


def test_split_holds_out_the_end_of_the_text(text_codes):
    _, codes = text_codes
    train, valid = charlm.split(codes, 0.1)
    assert len(valid) == round(len(codes) * 0.1)
    np.testing.assert_array_equal(np.concatenate([train, valid]), codes)    # the tail, nothing lost or shared
    assert len(train) + len(valid) == len(codes)
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="split"):
            charlm.split(codes, bad)


def test_evaluate_is_the_untruncated_next_character_loss_by_hand(text_codes):
    """A tanh-RNN model's mean loss over a text, computed in numpy from its weights, one stream from h_0 = 0."""
    vocab, codes = text_codes
    model = charlm.CharLM(len(vocab), 5, "rnn", embedding_dim=4, rng=np.random.default_rng(3), dtype=F64)
    text = codes[:60]
    w = {name: p.numpy() for name, p in model.named_parameters()}
    h, losses = np.zeros(5), []
    for x, target in zip(text[:-1], text[1:]):
        e = w["embedding.weight"][x]
        h = np.tanh(w["cell.weight_ih"] @ e + w["cell.bias_ih"] + w["cell.weight_hh"] @ h + w["cell.bias_hh"])
        logits = w["readout.weight"] @ h + w["readout.bias"]
        losses.append(np.log(np.exp(logits - logits.max()).sum()) + logits.max() - logits[target])
    assert charlm.evaluate(model, text) == pytest.approx(np.mean(losses), rel=1e-12)
    assert all(p.grad is None for p in model.parameters())  # nothing recorded, nothing backpropagated


@pytest.mark.parametrize("fused", [False, True], ids=["op-level", "fused"])
def test_evaluate_in_blocks_is_evaluate_step_by_step(text_codes, monkeypatch, fused):
    """evaluate reads EVALUATION_BLOCK characters a call, carrying the state: 29 predictions in blocks
    of 7 (the last block a lone step) give the loss of 29 calls of `step`."""
    vocab, codes = text_codes
    model = charlm.CharLM(len(vocab), 6, "lstm", embedding_dim=4, rng=np.random.default_rng(5), dtype=F64)
    model.cell.fused = fused
    text = codes[:30]
    monkeypatch.setattr(charlm, "EVALUATION_BLOCK", 7)
    state, losses = None, []
    with mg.no_grad():
        for t in range(len(text) - 1):
            logits, state = model.step(text[t:t + 1], state)
            losses.append(mg.functional.cross_entropy(logits, text[t + 1:t + 2]).item())
    assert charlm.evaluate(model, text) == pytest.approx(np.mean(losses), rel=1e-12)


def test_training_measures_the_validation_loss_evenly_on_multiples_of_k1(text_codes):
    vocab, codes = text_codes
    train, valid = charlm.split(codes, 0.05)
    model = charlm.CharLM(len(vocab), 16, "gru", rng=np.random.default_rng(0))
    log = charlm.train(model, train, steps=400, k1=10, k2=20, batch_size=32, lr=1e-2,
                       valid_codes=valid[:300], evaluations=4)
    assert log.valid_steps == [0, 100, 200, 300, 400]
    assert log.valid_losses[0] == pytest.approx(np.log(len(vocab)), abs=0.3)   # untrained: near uniform
    assert log.valid_losses[-1] < log.valid_losses[0] - 0.5                    # it learns what it never saw
    assert log.valid_losses[-1] == pytest.approx(charlm.evaluate(model, valid[:300]), rel=1e-12)


def small_float64_model(vocab):
    return charlm.CharLM(len(vocab), 8, "lstm", embedding_dim=4, rng=np.random.default_rng(0), dtype=F64)


def test_validating_does_not_change_training_when_k1_is_below_k2(text_codes):
    """TBPTT(20, 40): the update after a validation checkpoint still reaches back k2 steps, so training
    with valid_codes gives the weights and losses of training without it (it gave others, up to 3e-5
    apart, when each checkpoint started a runner call from a cut state). The validation loss is
    measured right after the checkpoint's update: that of a run stopped there."""
    vocab, codes = text_codes
    train, valid = codes[:3000], codes[-200:]
    runs = []
    for valid_codes in (None, valid):
        model = small_float64_model(vocab)
        log = charlm.train(model, train, steps=200, k1=20, k2=40, batch_size=8, valid_codes=valid_codes,
                           evaluations=4)
        runs.append((model, log))
    (plain, plain_log), (validated, log) = runs
    assert log.steps == plain_log.steps == list(range(20, 201, 20))
    assert log.losses == plain_log.losses and log.grad_norms == plain_log.grad_norms
    for name, p in validated.named_parameters():
        np.testing.assert_array_equal(p.data, dict(plain.named_parameters())[name].data, err_msg=name)
    assert log.valid_steps == [0, 40, 100, 160, 200]         # where they were before, evenly on multiples of k1
    assert plain_log.valid_steps == plain_log.valid_losses == []
    for at, loss in zip(log.valid_steps, log.valid_losses):
        stopped = small_float64_model(vocab)
        if at:
            charlm.train(stopped, train, steps=at, k1=20, k2=40, batch_size=8)
        assert loss == charlm.evaluate(stopped, valid), at
    assert all(p.grad is None for p in validated.parameters())   # evaluating left no gradient behind


def test_validation_checkpoints_fall_on_updates_in_every_pass(text_codes):
    """Passes of 99 steps with k1 = 20: a pass's updates count from its start (20, ..., 80, 99, then
    119, ...), and each checkpoint is the first update at or after its even spacing, so training is
    still the same with or without validation."""
    vocab, codes = text_codes
    train, valid = codes[:400], codes[-100:]           # 4 streams of 100 characters: 99 steps a pass
    runs = []
    for valid_codes in (None, valid):
        model = small_float64_model(vocab)
        log = charlm.train(model, train, steps=250, k1=20, k2=30, batch_size=4, valid_codes=valid_codes,
                           evaluations=5)
        runs.append((model, log))
    (plain, plain_log), (validated, log) = runs
    assert log.steps == plain_log.steps and log.losses == plain_log.losses
    assert [s for s in log.steps if s <= 120] == [20, 40, 60, 80, 99, 119]
    for name, p in validated.named_parameters():
        np.testing.assert_array_equal(p.data, dict(plain.named_parameters())[name].data, err_msg=name)
    assert log.valid_steps == [0, 40, 119, 179, 218, 250]
    assert set(log.valid_steps[1:]) <= set(log.steps)


def test_the_loss_figure_draws_validation_beside_training():
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = charlm.TrainingLog(steps=[10, 20, 30, 40], losses=[3.0, 2.5, 2.0, 1.8], grad_norms=[1.0] * 4,
                             valid_steps=[0, 20, 40], valid_losses=[3.4, 2.6, 2.1])
    fig = loss_figure(log)
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    plt.close(fig)
    valid = lines["validation (held-out text)"]
    np.testing.assert_array_equal(valid.get_xdata(), [0, 20, 40])
    np.testing.assert_array_equal(valid.get_ydata(), [3.4, 2.6, 2.1])
    np.testing.assert_array_equal(lines["training, each update"].get_ydata(), log.losses)


def test_demo_learns_and_writes_its_files(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--steps", "600", "--hidden", "32", "--k1", "10", "--k2", "20", "--valid", "0.02",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    losses = np.loadtxt(out / "losses.txt")
    uniform = np.log(len(charlm.Vocabulary(charlm.load_text())))
    assert losses[:5].mean() > uniform - 0.3                 # starts near uniform guessing
    assert losses[-5:].mean() < uniform - 0.6                # and learns
    steps, valid = np.loadtxt(out / "valid_losses.txt", unpack=True)
    assert steps[0] == 0 and steps[-1] == 600
    assert valid[-1] < uniform - 0.6                         # on text it never trained on
    assert f"validation loss {valid[0]:.3f} -> {valid[-1]:.3f}" in printed
    svg = (out / "tbptt_window.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg and "cut" in svg
    for name in ("loss.png", "grad_norms.png"):
        assert (out / name).read_bytes().startswith(PNG_SIGNATURE)
    assert set(mg.load(out / "model.npz")) == {name for name, _ in
                                               charlm.CharLM(30, 32).named_parameters()}
    assert str(out.resolve()) in printed and "sample at temperature" in printed
    snippet = textwrap.dedent(printed.split("to sample from the saved model in Python:\n", 1)[1])
    exec(snippet, {})                                       # the printed lines run as printed
    sampled = capsys.readouterr().out
    assert sampled.startswith("The ") and sampled.endswith("\n") and len(sampled) - 1 == len("The ") + 200


def test_demo_help_lists_its_options():
    done = subprocess.run([sys.executable, "-m", "microgradseq", "demo", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for option in ("--cell", "--k1", "--k2", "--hidden", "--steps", "--valid", "--seed", "--out"):
        assert option in done.stdout


def test_demo_rejects_a_non_positive_k1(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["demo", "--k1", "0"])
    assert stopped.value.code == 2 and "k1" in capsys.readouterr().err


TRAINING_CHARACTERS = len(charlm.split(charlm.Vocabulary(charlm.load_text()).encode(charlm.load_text()), 0.1)[0])


@pytest.mark.parametrize("argv, says", [
    (["--steps", "0"], ["--steps", "an integer >= 1"]),
    (["--k1", "-3"], ["--k1", "an integer >= 1"]),
    (["--k2", "0"], ["--k2", "an integer >= 1"]),
    (["--k2", "100000"], ["--k1/--k2", "k1 + k2 below"]),
    (["--k1", "30000"], ["--k1/--k2", "k1 + k2 below"]),
    (["--hidden", "0"], ["--hidden", "from 1 to 2048"]),
    (["--hidden", "100000"], ["--hidden", "from 1 to 2048"]),
    (["--batch", "0"], ["--batch", "an integer >= 1"]),
    (["--batch", "100000"], ["--batch", f"from 1 to {TRAINING_CHARACTERS // 2:,}"]),
    (["--batch", "100", "--valid", "0.999"], ["--batch", "from 1 to 12", "--valid 0.999"]),
    (["--valid", "0.99999"], ["--valid", "fewer than 2 to train on"]),
    (["--lr", "-1"], ["--lr", "greater than 0 and at most 1"]),
    (["--lr", "0"], ["--lr", "greater than 0 and at most 1"]),
    (["--lr", "nan"], ["--lr", "greater than 0 and at most 1"]),
    (["--lr", "inf"], ["--lr", "greater than 0 and at most 1"]),
    (["--lr", "2"], ["--lr", "greater than 0 and at most 1"]),
    (["--valid", "0"], ["--valid", "strictly between 0 and 1"]),
    (["--valid", "1"], ["--valid", "strictly between 0 and 1"]),
    (["--valid", "nan"], ["--valid", "strictly between 0 and 1"]),
    (["--seed", "-1"], ["--seed", ">= 0"]),
])
def test_demo_rejects_out_of_range_numbers_before_any_work(argv, says, capsys, tmp_path, monkeypatch):
    """A usage error (exit 2) naming the option and its range, before the banner or the progress bar
    (and without making the output folder); these gave tracebacks after the work had started."""
    monkeypatch.setattr(charlm, "train", lambda *a, **k: pytest.fail("demo trained"))
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stopped:
        main(["demo", *argv, "--out", str(out)])
    captured = capsys.readouterr()
    assert stopped.value.code == 2
    assert captured.out == "" and "Traceback" not in captured.err and "step/s" not in captured.err
    assert "microgradseq demo: error: argument" in captured.err
    for text in says:
        assert text in captured.err
    assert not out.exists()


def test_demo_rejects_a_file_as_its_output_folder(capsys, tmp_path):
    path = tmp_path / "taken.txt"
    path.write_text("mine")
    with pytest.raises(SystemExit) as stopped:
        main(["demo", "--out", str(path)])
    assert stopped.value.code == 2 and "--out" in capsys.readouterr().err and path.read_text() == "mine"


def test_demo_help_states_the_ranges():
    help_text = " ".join(parser_help("demo").split())
    for text in ("in (0, 1]", "1 to 2048", "in (0, 1)", "half the training text"):
        assert text in help_text


def parser_help(command):
    from microgradseq.__main__ import parser
    return parser()._subparsers._group_actions[0].choices[command].format_help()


@pytest.mark.parametrize("name, says", [
    ("x.txt", ".svg, .png, .pdf"),
    ("picture", ".svg, .png, .pdf"),
    ("missing/x.svg", "does not exist"),
])
def test_draw_checks_its_output_file_before_building_the_graph(name, says, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(mg, "draw", lambda *a, **k: pytest.fail("draw built the graph"))
    with pytest.raises(SystemExit) as stopped:
        main(["draw", "--out", str(tmp_path / name)])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and "microgradseq draw: error: argument --out" in err and says in err
    assert "Traceback" not in err and not (tmp_path / name).exists()


def test_draw_asks_for_the_system_dot_for_a_pdf(capsys, tmp_path, monkeypatch):
    """graphviz-pure writes .svg and .png only: with it as the renderer, .pdf is a usage error."""
    monkeypatch.setattr(mg.viz, "find_renderer", lambda: "/somewhere/graphviz-pure")
    monkeypatch.setattr(mg, "draw", lambda *a, **k: pytest.fail("draw built the graph"))
    with pytest.raises(SystemExit) as stopped:
        main(["draw", "--out", str(tmp_path / "rnn.pdf")])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and "--out" in err and "system Graphviz" in err


def test_draw_rejects_a_negative_seed(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["draw", "--seed", "-1"])
    assert stopped.value.code == 2 and "--seed" in capsys.readouterr().err


BLOCKER = textwrap.dedent("""
    import sys

    class HideDemoExtra:
        \"\"\"Pretend the demo extra is not installed: its modules cannot be found.\"\"\"
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tqdm", "matplotlib"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, HideDemoExtra())
""")


@pytest.mark.parametrize("command", ["module", "console script"])
def test_demo_without_the_extra_says_what_to_install_and_exits_2(tmp_path, command):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    script = Path(sys.executable).parent / "microgradseq"
    if command == "console script" and not script.exists():
        pytest.skip("the console script is not installed next to this Python")
    argv = [sys.executable, "-m", "microgradseq"] if command == "module" else [str(script)]
    done = subprocess.run([*argv, "demo", "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install matplotlib tqdm' in lines[0]
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()
    hidden = subprocess.run([sys.executable, "-c", "import tqdm"], capture_output=True, env=env, cwd=tmp_path)
    assert hidden.returncode != 0                            # the blocker really hides the extra


@pytest.mark.parametrize("view", ["cells", "ops"])
def test_draw_command_writes_an_unrolled_rnn(tmp_path, view):
    path = tmp_path / f"rnn_{view}.svg"
    assert main(["draw", "--steps", "3", "--view", view, "--out", str(path)]) == 0
    svg = path.read_text()
    assert "</svg>" in svg
    for t in (1, 2, 3):
        assert f"t = {t}" in svg
