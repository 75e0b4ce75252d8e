"""Tests written from a mutation check of what a newcomer runs first: the demo's character model
(charlm.py), the command line (__main__.py: `demo` and `draw`), hook handles (utils/hooks.py), the
BLAS thread limit (threads.py), histograms (histogram.py) and the step/scope stamps (metadata.py).
Each pins a behaviour that a hand-made wrong implementation changed without any other test
noticing. Expected values come from closed forms, numpy written by hand, the library's own docs
(docs/api.md, docs/performance.md, README.md, docstrings) or PyTorch's documented behaviour, never
from the library's own output. The demo itself is never trained here: `charlm.train` is replaced by
a stand-in that returns a made-up log, so the command line's work around it runs in a second."""

import gc
import weakref

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.__main__ as cli
from microgradseq import autograd, charlm, threads
from microgradseq.metadata import at_step, in_scope, step_offset, time_steps

F64 = np.float64


# ---- charlm: vocabulary, model, split, evaluate, train's defaults, sample, record_window ----------

def test_vocabulary_codes_are_the_characters_in_sorted_order():
    """The docstring: 'sorted, so codes are reproducible' -- code i is the i-th character in order."""
    vocab = charlm.Vocabulary("cab a\nb")
    assert vocab.chars == ["\n", " ", "a", "b", "c"]
    codes = vocab.encode("abc\n")
    np.testing.assert_array_equal(codes, [2, 3, 4, 0])
    assert codes.dtype == np.int64          # PyTorch's class indices (Embedding, cross_entropy) are int64


def test_vocabulary_decodes_codes_of_any_shape_in_reading_order():
    """decode reads a (k, B) array of codes row by row (np.ravel order), as step_block's blocks are."""
    vocab = charlm.Vocabulary("abc")
    assert vocab.decode(np.array([[0, 1], [2, 0]])) == "abca"


def test_charlm_defaults_are_an_lstm_with_32_wide_embeddings():
    """docs/api.md: CharLM(vocab_size, hidden_size, cell="lstm", embedding_dim=32, ...)."""
    model = charlm.CharLM(11, 6, rng=np.random.default_rng(0))
    assert isinstance(model.cell, mg.nn.LSTMCell)
    assert model.embedding.weight.shape == (11, 32)
    assert model.cell.weight_ih.shape == (4 * 6, 32)      # PyTorch's LSTMCell: (4 * hidden, input)


def test_an_lstm_models_hidden_output_is_h_not_c():
    """For an LSTM the readout sees h_t, the first of (h, c), as PyTorch's LSTMCell returns them."""
    model = charlm.CharLM(5, 3, "lstm", embedding_dim=2, rng=np.random.default_rng(0), dtype=F64)
    h, c = mg.tensor(np.ones((1, 3))), mg.tensor(np.zeros((1, 3)))
    assert model.hidden((h, c)) is h


def test_step_block_on_a_relu_rnn_cell_is_the_relu_recurrence_by_hand():
    """A CharLM whose cell is an RNNCell(nonlinearity="relu"): the op-level block path applies relu,
    h_t = relu(W_ih e_t + b_ih + W_hh h_(t-1) + b_hh), as PyTorch's RNNCell defines it (numpy)."""
    rng = np.random.default_rng(4)
    model = charlm.CharLM(6, 4, "rnn", embedding_dim=3, rng=rng, dtype=F64)
    model.cell = mg.nn.RNNCell(3, 4, nonlinearity="relu", rng=rng, dtype=F64)
    codes = np.array([[1, 2], [3, 0], [5, 4]])
    w = {name: p.numpy() for name, p in model.named_parameters()}
    h = np.zeros((2, 4))
    expected = []
    for row in codes:
        e = w["embedding.weight"][row]
        h = np.maximum(0, e @ w["cell.weight_ih"].T + w["cell.bias_ih"] + h @ w["cell.weight_hh"].T
                       + w["cell.bias_hh"])
        expected.append(h @ w["readout.weight"].T + w["readout.bias"])
    with mg.no_grad():
        logits, state = model.step_block(codes, None)
    np.testing.assert_allclose(logits.numpy(), np.stack(expected), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(state.numpy(), h, rtol=1e-12, atol=1e-14)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_step_block_on_an_op_level_gru_keeps_b_hn_inside_the_reset_gate():
    """PyTorch's GRUCell, gates (r, z, n): n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) -- b_hn is
    multiplied by r, so it cannot join b_ih as the LSTM's and RNN's b_hh do (numpy by hand)."""
    model = charlm.CharLM(6, 3, "gru", embedding_dim=2, rng=np.random.default_rng(6), dtype=F64)
    w = {name: p.numpy() for name, p in model.named_parameters()}
    w["cell.bias_hh"] = w["cell.bias_hh"] + 0.5          # biases large enough to matter
    model.cell.bias_hh.data = w["cell.bias_hh"]
    codes = np.array([[1, 2], [3, 0], [5, 4], [2, 2]])
    h = np.zeros((2, 3))
    for row in codes:
        gi = w["embedding.weight"][row] @ w["cell.weight_ih"].T + w["cell.bias_ih"]
        gh = h @ w["cell.weight_hh"].T + w["cell.bias_hh"]
        r, z = sigmoid(gi[:, :3] + gh[:, :3]), sigmoid(gi[:, 3:6] + gh[:, 3:6])
        n = np.tanh(gi[:, 6:] + r * gh[:, 6:])
        h = (1 - z) * n + z * h
    with mg.no_grad():
        logits, state = model.step_block(codes, None)
    np.testing.assert_allclose(state.numpy(), h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(logits.numpy()[-1], h @ w["readout.weight"].T + w["readout.bias"], rtol=1e-12)


def test_a_fused_char_model_under_jvp_runs_its_op_level_steps():
    """A fused node has no forward-mode rule (nn/fused/recording.py): under mg.jvp a fused cell's
    step_block runs the op-level steps, so its tangent along h_0 is the central difference's."""
    rng = np.random.default_rng(8)
    model = charlm.CharLM(6, 3, "gru", embedding_dim=2, rng=rng, dtype=F64)
    model.cell.fused = True
    codes = np.array([[1, 2], [3, 0], [5, 4]])
    h0, v = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    _, tangent = mg.jvp(lambda h: model.step_block(codes, h)[0], [mg.tensor(h0)], [v])
    with mg.no_grad():
        plus, minus = (model.step_block(codes, mg.tensor(h0 + s * 1e-6 * v))[0].numpy() for s in (1, -1))
    np.testing.assert_allclose(tangent, (plus - minus) / 2e-6, rtol=1e-6, atol=1e-9)


def test_split_rounds_the_held_out_share_to_the_nearest_character():
    """157 x 0.1 = 15.7 characters: 16 held out (round, not floor), the tail of the codes."""
    codes = np.arange(157)
    train, valid = charlm.split(codes, 0.1)
    np.testing.assert_array_equal(valid, np.arange(141, 157))
    np.testing.assert_array_equal(train, np.arange(141))


def test_split_holds_out_at_least_two_characters():
    """evaluate needs 2 characters (one prediction): 10 x 0.05 = 0.5 still holds out 2."""
    train, valid = charlm.split(np.arange(10), 0.05)
    np.testing.assert_array_equal(valid, [8, 9])
    assert len(train) == 8


def test_split_leaves_at_least_two_characters_to_train_on():
    """10 x 0.85 = 8.5 rounds to 8, leaving 2: allowed; 10 x 0.9 leaves 1: a ValueError."""
    train, valid = charlm.split(np.arange(10), 0.85)
    assert (len(train), len(valid)) == (2, 8)
    with pytest.raises(ValueError, match="split: 10 characters are too few"):
        charlm.split(np.arange(10), 0.9)


def test_evaluate_needs_two_characters():
    model = charlm.CharLM(4, 3, "rnn", embedding_dim=2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="evaluate: need at least 2 characters, got 1"):
        charlm.evaluate(model, np.array([1]))


def test_evaluate_records_nothing():
    """docs/api.md: evaluate runs under no_grad -- every block is computed with grad mode off."""
    model = charlm.CharLM(4, 3, "rnn", embedding_dim=2, rng=np.random.default_rng(0))
    seen = []
    original = model.step_block

    def watching(codes, state):
        seen.append(mg.is_grad_enabled())
        return original(codes, state)

    model.step_block = watching
    charlm.evaluate(model, np.array([0, 1, 2, 3, 0, 1]))
    assert seen == [False]


class Captured(Exception):
    """Stops train() once the captured call has been seen."""


def test_train_defaults_are_the_documented_ones(monkeypatch):
    """docs/api.md: train(..., batch_size=32, lr=3e-3, max_norm=5.0, ...): Adam at lr 3e-3 over 32
    streams, gradients clipped to 5."""
    seen = {}
    original_batchify, original_adam = charlm.bptt.batchify, charlm.optim.Adam

    def batchify(codes, batch_size):
        seen["batch_size"] = batch_size
        return original_batchify(codes, batch_size)

    def adam(params, lr):
        seen["lr"] = lr
        return original_adam(params, lr=lr)

    def clip(params, max_norm):
        seen["max_norm"] = max_norm
        raise Captured

    monkeypatch.setattr(charlm.bptt, "batchify", batchify)
    monkeypatch.setattr(charlm.optim, "Adam", adam)
    monkeypatch.setattr(charlm.optim, "clip_grad_norm_", clip)
    model = charlm.CharLM(5, 3, "rnn", embedding_dim=2, rng=np.random.default_rng(0))
    codes = np.random.default_rng(1).integers(0, 5, 200)
    with pytest.raises(Captured):
        charlm.train(model, codes, steps=4, k1=2, k2=2)
    assert seen == {"batch_size": 32, "lr": 3e-3, "max_norm": 5.0}


def test_train_measures_the_validation_loss_ten_times_by_default():
    """docs/api.md: evaluations=10 -- with k1 = 1 and 100 steps, after steps 10, 20, ..., 100,
    and once before training."""
    model = charlm.CharLM(5, 3, "rnn", embedding_dim=2, rng=np.random.default_rng(0))
    codes = np.random.default_rng(1).integers(0, 5, 300)
    log = charlm.train(model, codes[:250], steps=100, k1=1, k2=1, batch_size=2, valid_codes=codes[250:270])
    assert log.valid_steps == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]


def test_train_logs_the_gradient_norm_before_clipping():
    """TrainingLog: 'the gradient norm before clipping' -- with max_norm = 1e-9 the logged norms
    are the raw ones, far above the clip."""
    model = charlm.CharLM(5, 3, "rnn", embedding_dim=2, rng=np.random.default_rng(0), dtype=F64)
    codes = np.random.default_rng(1).integers(0, 5, 60)
    log = charlm.train(model, codes, steps=6, k1=2, k2=2, batch_size=2, max_norm=1e-9)
    assert len(log.grad_norms) == 3 and min(log.grad_norms) > 1e-6


def test_sample_refuses_an_empty_prompt():
    vocab = charlm.Vocabulary("abc")
    model = charlm.CharLM(len(vocab), 3, "gru", embedding_dim=2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="sample: the prompt must hold at least one character"):
        charlm.sample(model, vocab, "", 5)


def test_sample_refuses_a_nan_temperature():
    """NaN is not a positive temperature: sample's own ValueError, naming the temperature (as the
    command line's learning_rate check, `not 0 < value`, rejects NaN)."""
    vocab = charlm.Vocabulary("abc")
    model = charlm.CharLM(len(vocab), 3, "gru", embedding_dim=2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="sample: temperature must be positive"):
        charlm.sample(model, vocab, "ab", 3, temperature=float("nan"))


@pytest.mark.parametrize("length", [-3, 2.0, True])
def test_sample_refuses_a_length_that_is_not_a_count(length):
    """A negative or non-integer length is refused by name (a negative one returned the prompt alone)."""
    vocab = charlm.Vocabulary("abc")
    model = charlm.CharLM(len(vocab), 3, "gru", embedding_dim=2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"sample: length must be a non-negative integer, got"):
        charlm.sample(model, vocab, "ab", length)
    assert charlm.sample(model, vocab, "ab", 0) == "ab"


@pytest.mark.parametrize("code", [-1, 3])
def test_vocabulary_refuses_a_code_outside_the_vocabulary(code):
    """Code -1 does not wrap to the last character; a code past the end names itself."""
    with pytest.raises(ValueError, match=rf"Vocabulary.decode: codes must lie in 0 .. 2, got {code}"):
        charlm.Vocabulary("abc").decode([0, code])


def test_sample_draws_from_the_generator_it_is_given():
    """Two generators seeded alike give the same continuation (the draws come from `rng`)."""
    vocab = charlm.Vocabulary("abcdefgh")
    model = charlm.CharLM(len(vocab), 3, "gru", embedding_dim=2, rng=np.random.default_rng(0))
    first = charlm.sample(model, vocab, "ab", 40, temperature=3.0, rng=np.random.default_rng(7))
    second = charlm.sample(model, vocab, "ab", 40, temperature=3.0, rng=np.random.default_rng(7))
    assert first == second and len(first) == 42


def test_record_window_needs_more_characters_than_the_update():
    """TBPTT(2, 3) draws update u = 2 * (3 // 2 + 1) = 4, which reads targets up to codes[4]:
    4 characters are too few (ValueError), 5 are enough."""
    model = charlm.CharLM(5, 3, "rnn", embedding_dim=2, rng=np.random.default_rng(0), dtype=F64)
    with pytest.raises(ValueError, match="record_window: need more than 4 characters, got 4"):
        charlm.record_window(model, np.array([0, 1, 2, 3]), 2, 3)
    window = charlm.record_window(model, np.array([0, 1, 2, 3, 4]), 2, 3)
    assert (window.update, window.cut) == (4, 1)


def test_record_window_keeps_the_graph_for_drawing():
    """record_window backpropagates 'keeping the graph': the loss can be backpropagated again."""
    model = charlm.CharLM(5, 3, "rnn", embedding_dim=2, rng=np.random.default_rng(0), dtype=F64)
    window = charlm.record_window(model, np.array([0, 1, 2, 3, 4, 0, 1]), 2, 3)
    first = {name: p.grad.copy() for name, p in model.named_parameters()}
    window.loss.backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * first[name], rtol=1e-12, err_msg=name)


# ---- the command line: argument ranges and their boundaries -------------------------------------

def checked(*argv):
    """Parse argv and make main's checks (usage errors exit 2), without running the command."""
    args = cli.parser().parse_args(list(argv))
    args.check(args, args.usage)
    return args


def training_characters(valid=0.1):
    """The demo's training characters, by hand: the text less round(len * valid) (at least 2) held out."""
    total = len(charlm.load_text())
    return total - max(2, round(total * valid))


def test_demo_defaults_are_the_documented_workload():
    """docs/performance.md, the demo's workload: LSTM 128, 32 streams, TBPTT(20, 40), Adam lr 3e-3;
    docs/api.md: the last tenth held out; README: the files go to ./microgradseq-demo/."""
    args = checked("demo")
    assert (args.cell, args.hidden, args.batch, args.k1, args.k2, args.lr) == ("lstm", 128, 32, 20, 40, 3e-3)
    assert (args.valid, args.seed, args.out) == (0.1, 0, "microgradseq-demo")


def test_draw_defaults_to_an_rnn():
    """`microgradseq draw` with no options draws an RNN to microgradseq-rnn.svg."""
    args = checked("draw")
    assert (args.cell, args.view, args.out) == ("rnn", "cells", "microgradseq-rnn.svg")


@pytest.mark.parametrize("argv, field, value", [
    (["--k1", "1"], "k1", 1),
    (["--seed", "0"], "seed", 0),
    (["--hidden", "2048"], "hidden", 2048),
    (["--hidden", "1"], "hidden", 1),
    (["--lr", "1"], "lr", 1.0),
])
def test_demo_accepts_the_ends_of_its_ranges(argv, field, value):
    """The help's ranges are closed: k1 >= 1, seed >= 0, hidden 1 to 2048, lr in (0, 1]."""
    assert getattr(checked("demo", *argv), field) == value


def test_demo_refuses_a_fractional_integer(capsys):
    with pytest.raises(SystemExit) as stopped:
        checked("demo", "--k1", "2.5")
    assert stopped.value.code == 2 and "--k1: must be an integer >= 1, got '2.5'" in capsys.readouterr().err


def test_demo_accepts_half_the_training_text_as_streams(capsys):
    """--batch from 1 to n // 2 (at least 2 characters a stream): n // 2 is allowed, n // 2 + 1 not."""
    n = training_characters()
    assert checked("demo", "--batch", str(n // 2)).batch == n // 2
    with pytest.raises(SystemExit):
        checked("demo", "--batch", str(n // 2 + 1))
    assert f"from 1 to {n // 2:,}" in capsys.readouterr().err


def test_demo_checks_the_drawn_window_against_the_training_text(capsys):
    """The drawn update u = k1 * (k2 // k1 + 1) needs more than u training characters: u = n - 1
    fits, u = n does not; and k1 = n - 10, k2 = 20 draws u = n - 10 (k2 // k1 = 0), which fits
    though k1 + k2 > n."""
    n = training_characters()
    assert checked("demo", "--k1", "1", "--k2", str(n - 2)).k2 == n - 2
    assert checked("demo", "--k1", str(n - 10), "--k2", "20").k1 == n - 10
    with pytest.raises(SystemExit) as stopped:
        checked("demo", "--k1", "1", "--k2", str(n - 1))
    assert stopped.value.code == 2 and f"u = {n:,}" in capsys.readouterr().err


def test_the_command_line_needs_a_command(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main([])
    assert stopped.value.code == 2 and "required" in capsys.readouterr().err


def test_draw_refuses_a_folder_as_its_output_file(tmp_path, capsys):
    folder = tmp_path / "picture.svg"
    folder.mkdir()
    with pytest.raises(SystemExit) as stopped:
        checked("draw", "--out", str(folder))
    assert stopped.value.code == 2 and "is a folder" in capsys.readouterr().err


# ---- the command line: what demo and draw do around training ------------------------------------

def test_a_demo_module_that_fails_to_import_counts_as_missing(monkeypatch):
    """matplotlib and tqdm both checked; an ImportError of any kind (a broken install too) counts."""
    real = cli.importlib.import_module

    def importing(name):
        if name == "tqdm":
            raise ImportError("tqdm is broken")
        return real(name)

    monkeypatch.setattr(cli.importlib, "import_module", importing)
    assert cli.missing_demo_modules() == ["tqdm"]


def test_demo_without_its_extra_exits_2_before_any_work(tmp_path, capsys, monkeypatch):
    """In-process twin of test_demo.py's subprocess check: a missing tqdm is exit 2 and one line
    saying what to install, with no output folder made."""
    monkeypatch.setattr(cli, "missing_demo_modules", lambda: ["tqdm"])
    monkeypatch.setattr(charlm, "train", lambda *a, **k: pytest.fail("demo trained"))
    assert cli.main(["demo", "--out", str(tmp_path / "out")]) == 2
    assert "pip install matplotlib tqdm" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_draw_without_a_renderer_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(mg.viz, "ensure_renderer", lambda: None)
    monkeypatch.setattr(mg, "draw", lambda *a, **k: pytest.fail("draw built the graph"))
    assert cli.main(["draw", "--out", str(tmp_path / "x.svg")]) == 2
    assert "pip install graphviz-pure" in capsys.readouterr().err
    assert not (tmp_path / "x.svg").exists()


@pytest.mark.parametrize("cell, rows", [("lstm", 16), ("gru", 12)])
def test_draw_draws_the_cell_it_is_asked_for(tmp_path, monkeypatch, cell, rows):
    """--cell picks the cell: 3 inputs and 4 hidden units, weight_ih (gates * 4, 3) as PyTorch's."""
    seen = {}

    def drawing(loss, params, **options):
        seen.update(params)
        return "graph"

    monkeypatch.setattr(mg, "draw", drawing)
    monkeypatch.setattr(mg.viz, "render", lambda graph, path: path)
    assert cli.main(["draw", "--cell", cell, "--steps", "2", "--out", str(tmp_path / "x.svg")]) == 0
    assert seen["cell.weight_ih"].shape == (rows, 3)


LOSSES = [3.0 - 0.05 * i for i in range(20)]


def made_up_log(losses=LOSSES, valid_losses=(3.4, 2.9, 2.5)):
    return charlm.TrainingLog(steps=[10 * (i + 1) for i in range(len(losses))], losses=list(losses),
                              grad_norms=[1.0] * len(losses), valid_steps=[0, 100, 200],
                              valid_losses=list(valid_losses))


@pytest.fixture
def fake_demo(monkeypatch):
    """`demo` with train() replaced by one returning `log`, and rendering and plotting skipped;
    records what train, sample and record_window were called with."""
    calls = {"sample": []}
    original_sample, original_window = charlm.sample, charlm.record_window

    def run(argv, log):
        def train(model, codes, **kwargs):
            calls["train"] = (model, codes, kwargs)
            return log

        def sample(model, vocab, prompt, length, temperature=1.0, rng=None):
            calls["sample"].append((prompt, length, temperature))
            return original_sample(model, vocab, prompt, length, temperature, rng)

        def record_window(model, codes, k1, k2):
            calls["window"] = (k1, k2)
            return original_window(model, codes, k1, k2)

        monkeypatch.setattr(charlm, "train", train)
        monkeypatch.setattr(charlm, "sample", sample)
        monkeypatch.setattr(charlm, "record_window", record_window)
        monkeypatch.setattr(mg.viz, "render", lambda graph, path: path)
        monkeypatch.setattr(cli, "plot_losses", lambda log, path: path)
        monkeypatch.setattr(cli, "plot_grad_norms", lambda window, log, k1, k2, path: path)
        return cli.main(["demo", *argv])

    return run, calls


SMALL = ["--hidden", "4", "--k1", "2", "--k2", "3", "--steps", "200"]


def test_demo_passes_its_options_to_training(fake_demo, tmp_path):
    """--cell, --hidden, --batch, --lr, --steps, --k1, --k2 reach the model and train(); the
    held-out tail of the text (--valid) is what it validates on."""
    run, calls = fake_demo
    out = tmp_path / "a" / "b"                       # a folder inside a folder not yet made
    argv = [*SMALL, "--cell", "gru", "--batch", "8", "--lr", "0.01", "--valid", "0.2", "--out", str(out)]
    assert run(argv, made_up_log()) == 0
    model, codes, kwargs = calls["train"]
    assert model.cell_type == "gru" and model.cell.hidden_size == 4
    assert {k: kwargs[k] for k in ("steps", "k1", "k2", "batch_size", "lr")} == \
        {"steps": 200, "k1": 2, "k2": 3, "batch_size": 8, "lr": 0.01}
    text = charlm.load_text()
    held = round(len(text) * 0.2)
    vocab = charlm.Vocabulary(text)
    np.testing.assert_array_equal(kwargs["valid_codes"], vocab.encode(text[-held:]))
    assert len(codes) == len(text) - held
    assert (out / "model.npz").exists()
    assert set(np.load(out / "model.npz").files) >= {"cell.weight_ih"}
    assert np.load(out / "model.npz")["cell.weight_ih"].shape == (3 * 4, 32)      # a GRU's three gates


def test_demo_prints_the_first_and_last_ten_updates_mean_and_writes_the_losses(fake_demo, tmp_path, capsys):
    """'training loss a -> b (mean of the first and of the last 10 updates)', and losses.txt holds
    every update's loss (5 decimals)."""
    run, _ = fake_demo
    assert run([*SMALL, "--out", str(tmp_path)], made_up_log()) == 0
    first, final = np.mean(LOSSES[:10]), np.mean(LOSSES[-10:])
    printed = capsys.readouterr().out
    assert f"training loss {first:.3f} -> {final:.3f}" in printed
    assert "validation loss 3.400 -> 2.500" in printed
    np.testing.assert_allclose(np.loadtxt(tmp_path / "losses.txt"), LOSSES, rtol=0, atol=1e-5)


def test_demo_samples_twice_and_draws_its_own_window(fake_demo, tmp_path, capsys):
    """Two samples of 160 characters after 'The ', at temperatures 0.5 and 1.0 (printed as such);
    the drawn window is TBPTT(--k1, --k2)'s."""
    run, calls = fake_demo
    assert run([*SMALL, "--out", str(tmp_path)], made_up_log()) == 0
    assert calls["sample"] == [("The ", 160, 0.5), ("The ", 160, 1.0)]
    assert calls["window"] == (2, 3)
    printed = capsys.readouterr().out
    assert "sample at temperature 0.5:\nThe " in printed and "sample at temperature 1.0:\nThe " in printed


@pytest.mark.parametrize("losses, valid", [(LOSSES[:-1] + [float("nan")], (3.4, 2.9, 2.5)),
                                           (LOSSES, (3.4, float("inf"), 2.5))],
                         ids=["training", "validation"])
def test_a_diverged_demo_says_so_and_exits_1(fake_demo, tmp_path, capsys, losses, valid):
    """A non-finite training or validation loss: 'training diverged', exit 1, nothing sampled."""
    run, calls = fake_demo
    assert run([*SMALL, "--out", str(tmp_path)], made_up_log(losses, valid)) == 1
    err = capsys.readouterr().err
    which, reached = ("training", "nan") if not np.all(np.isfinite(losses)) else ("validation", "inf")
    assert f"training diverged (the {which} loss reached {reached})" in err     # the loss that diverged
    assert calls["sample"] == [] and not (tmp_path / "model.npz").exists()


# ---- hook handles ------------------------------------------------------------------------------

def test_a_handle_used_as_a_context_manager_is_itself_and_takes_the_hook_off():
    """PyTorch's RemovableHandle: `with handle as h:` gives the handle, and leaving removes the hook."""
    layer = mg.nn.Linear(2, 2)
    calls = []
    handle = layer.register_forward_hook(lambda module, args, output: calls.append(1))
    with handle as entered:
        assert entered is handle
        layer(mg.ones(1, 2))
    layer(mg.ones(1, 2))
    assert calls == [1]


def test_removing_one_hook_leaves_a_later_ones_handle_unique():
    """Hooks A, B; A removed; C added: B and C both run (C does not take B's place), in order."""
    layer = mg.nn.Linear(2, 2)
    calls = []
    a = layer.register_forward_hook(lambda m, args, out: calls.append("A"))
    layer.register_forward_hook(lambda m, args, out: calls.append("B"))
    a.remove()
    c = layer.register_forward_hook(lambda m, args, out: calls.append("C"))
    layer(mg.ones(1, 2))
    assert calls == ["B", "C"]
    c.remove()
    c.remove()                              # a second call does nothing
    layer(mg.ones(1, 2))
    assert calls == ["B", "C", "B"]


def test_a_handle_does_not_keep_its_module_s_hooks_alive():
    """The handle refers to its registry weakly: once the module is gone its hooks are freed."""
    class Hook:
        def __call__(self, module, args, output):
            return None

    layer, hook = mg.nn.Linear(2, 2), Hook()
    handle = layer.register_forward_hook(hook)
    watch = weakref.ref(hook)
    del layer, hook
    gc.collect()
    assert watch() is None
    handle.remove()                          # still safe


# ---- BLAS threads ------------------------------------------------------------------------------

def test_get_num_threads_is_one_without_a_blas(monkeypatch):
    """threads.get_num_threads: '1 when no BLAS library was found'."""
    monkeypatch.setattr(threads, "threadpool_info", lambda: [])
    assert mg.get_num_threads() == 1


@pytest.mark.parametrize("name", ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                  "BLIS_NUM_THREADS"])
def test_any_of_the_four_variables_leaves_the_thread_count_alone(monkeypatch, name):
    """docs/api.md: one thread 'unless OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS or
    BLIS_NUM_THREADS is set'; an empty value sets no number."""
    calls = []
    monkeypatch.setattr(threads, "set_num_threads", calls.append)
    for variable in threads.THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv(name, "")
    threads.limit_at_import()
    assert calls == [1]
    monkeypatch.setenv(name, "3")
    threads.limit_at_import()
    assert calls == [1]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_set_num_threads_refuses_what_is_not_a_positive_integer(bad):
    with pytest.raises(ValueError, match="set_num_threads: threads must be a positive integer"):
        mg.set_num_threads(bad)


# ---- histograms (torch.histogram, torch.histc) ---------------------------------------------------

def test_histogram_defaults_to_100_bins():
    """torch.histogram(input, bins=100) and torch.histc(input, bins=100)."""
    x = np.linspace(0.0, 1.0, 7)
    assert mg.histogram(x).hist.shape == (100,) and mg.histogram(x).bin_edges.shape == (101,)
    assert mg.histc(x).shape == (100,)


@pytest.mark.parametrize("bins", [0, -2, True])
def test_histogram_refuses_a_bad_number_of_bins(bins):
    """bins < 1 is a ValueError (docs/api.md); a bool is not a number of bins (PyTorch's int
    arguments refuse bools)."""
    with pytest.raises((ValueError, TypeError), match="histogram"):
        mg.histogram(np.array([0.0, 1.0]), bins)


def test_histogram_of_one_value_widens_to_half_a_unit_each_side():
    """docs/api.md (and numpy.histogram): one value v alone gives the range (v - 0.5, v + 0.5)."""
    result = mg.histogram(np.array([2.0, 2.0, 2.0]), 2)
    np.testing.assert_array_equal(result.bin_edges.numpy(), [1.5, 2.0, 2.5])
    np.testing.assert_array_equal(result.hist.numpy(), [0.0, 3.0])


def test_histogram_range_of_one_value_is_widened_too():
    """range=(1, 1): as numpy.histogram, the edges span (0.5, 1.5)."""
    x = np.array([0.7, 1.0, 1.4, 3.0])
    result = mg.histogram(x, 2, range=(1, 1))
    want_hist, want_edges = np.histogram(x, 2, range=(1, 1))
    np.testing.assert_array_equal(result.bin_edges.numpy(), want_edges)
    np.testing.assert_array_equal(result.hist.numpy(), want_hist)


def test_histogram_refuses_non_finite_entries_without_a_range():
    with pytest.raises(ValueError, match="not finite"):
        mg.histogram(np.array([0.0, np.inf]), 4)


def test_histogram_edges_go_without_a_range_and_must_increase():
    x = np.array([0.0, 1.0])
    with pytest.raises(TypeError, match="range"):
        mg.histogram(x, np.array([0.0, 0.5, 1.0]), range=(0, 1))
    with pytest.raises(ValueError, match="increasing"):
        mg.histogram(x, np.array([1.0, 0.5, 0.0]))
    with pytest.raises(ValueError, match="at least two"):
        mg.histogram(x, np.array([0.5]))


def test_histogram_weight_must_have_the_input_s_shape():
    """docs/api.md: a ValueError for a weight of another shape (the same size is not enough)."""
    with pytest.raises(ValueError, match="weight must have the input's shape"):
        mg.histogram(np.zeros((2, 3)), 4, weight=np.ones((3, 2)))


def test_histogram_counts_edges_weights_and_densities_as_numpy():
    """Entries on the first edge, an inner edge and the last edge; weights; uneven edges with
    density=True: numpy.histogram's counts (bins [e_i, e_(i+1)), the last closed)."""
    x = np.array([0.0, 0.5, 0.5, 1.0, 2.0, 3.0, -1.0, 4.0])
    w = np.array([1.0, 2.0, 0.5, 3.0, 1.5, 2.5, 9.0, 9.0])
    edges = np.array([0.0, 0.5, 2.0, 3.0])
    for kwargs in ({}, {"weights": w}, {"density": True}, {"weights": w, "density": True}):
        want, _ = np.histogram(x, edges, **kwargs)
        mine = {"weight": kwargs["weights"]} if "weights" in kwargs else {}
        got = mg.histogram(x, edges, density=kwargs.get("density", False), **mine).hist.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=str(kwargs))


def test_histogram_results_are_in_the_input_s_dtype():
    """torch.histogram: hist and bin_edges have the input's dtype."""
    result = mg.histogram(np.array([0.1, 0.2, 0.9], dtype=np.float32), 3)
    assert result.hist.dtype == np.float32 and result.bin_edges.dtype == np.float32


def test_histc_leaves_nan_out_of_the_entries_range():
    """docs/api.md: histc over the entries' range when min = max = 0, NaN not counted."""
    counts = mg.histc(np.array([1.0, np.nan, 2.0, 1.2]), bins=2)
    np.testing.assert_array_equal(counts.numpy(), [2.0, 1.0])


def test_histc_refuses_min_above_max():
    with pytest.raises(ValueError, match="histc: max must be larger than min"):
        mg.histc(np.array([1.0, 2.0]), bins=2, min=3, max=1)


@pytest.mark.parametrize("bins", [0, -2, 2.5, True])
def test_histc_names_itself_for_a_bad_number_of_bins(bins):
    with pytest.raises(ValueError, match="histc: bins must be a positive integer"):
        mg.histc(np.array([1.0, 2.0]), bins=bins)


def test_tensor_histc_takes_min_then_max():
    """t.histc(bins, min, max) as torch.Tensor.histc: 4 bins over [0, 2]."""
    t = mg.tensor(np.array([0.1, 0.6, 1.1, 1.9, 2.5]))
    np.testing.assert_array_equal(t.histc(4, 0, 2).numpy(), [1.0, 1.0, 1.0, 1.0])


# ---- step and scope stamps --------------------------------------------------------------------

def test_step_zero_is_the_work_before_the_first_step():
    """at_step: 'numbered from 1; 0 for the work before the first step, h_0's'."""
    with at_step(0):
        y = mg.tensor([1.0], requires_grad=True) * 2
    assert y.step == 0
    with pytest.raises(ValueError, match="step"):
        at_step(-1)


def test_time_steps_inside_a_step_number_from_it_and_put_it_back():
    """Inside at_step(5): step_offset() is 4, a loop's steps are stamped 5, 6, 7, and step 5 is
    back when the loop ends; reverse=True runs t = 3, 2, 1."""
    stamps = []
    with at_step(5):
        assert step_offset() == 4
        for t in time_steps(3):
            stamps.append((t, (mg.tensor([1.0], requires_grad=True) * 2).step))
        assert autograd.current_step.get() == 5
    assert stamps == [(1, 5), (2, 6), (3, 7)]
    assert list(time_steps(3, reverse=True)) == [3, 2, 1]


def test_nested_scopes_read_outer_dot_inner_and_unwind_in_order():
    """in_scope: nodes carry the module path 'outer.name'; one scope object entered twice (nested)
    gives each level back as it was."""
    inner = in_scope("cell")
    with in_scope("rnn"):
        with inner:
            y = mg.tensor([1.0], requires_grad=True) * 2
            with inner:
                assert autograd.current_scope.get() == "rnn.cell.cell"
            assert autograd.current_scope.get() == "rnn.cell"
        assert autograd.current_scope.get() == "rnn"
    assert y._node.scope == "rnn.cell"
