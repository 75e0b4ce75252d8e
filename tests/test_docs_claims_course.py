"""Claims in the prose and tables of the course pages (docs/autodiff.md, engine.md, bptt.md, tbptt.md,
forward_mode.md, vanishing_gradients.md, drawing.md, instructors.md, performance.md) and README.md that
no other test pinned: defaults, error types and what their messages name, numbers in the tables, files
and names the pages send a reader to. (The pages' code blocks run in tests/test_docs.py; this file checks
what the text around them says.) Expected values are closed forms, the doc text itself or numpy written
here; none is taken from the library's own output."""

import ast
import inspect
import re
import sys
import weakref
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import autograd, func, viz
from microgradseq.autograd import topological_order
from microgradseq.tensor import Rules, result

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def ops_of(tensor):
    """The op names of the graph behind `tensor`."""
    return [node.op for node in topological_order(tensor._node)]


# ---- autodiff.md ------------------------------------------------------------------------------------------

def test_factors_below_one_underflow_the_gradient_to_zero_long_before_step_3000():
    """autodiff.md §3: "With factors below 1 (x_t = tanh(0.5·x_{t-1} + 1), say) it would shrink
    geometrically and underflow to zero long before step 3,000." At 1,000 steps the hand product of the
    local derivatives 0.5 (1 - x_t^2) is already 0 in float64, and so is the engine's gradient."""
    x0 = mg.tensor(0.3, requires_grad=True, dtype=np.float64)
    x, values = x0, []
    for _ in range(1000):
        values.append(x.item())
        x = (0.5 * x + 1.0).tanh()
    x.backward()
    nexts = np.tanh(0.5 * np.array(values) + 1.0)
    hand = np.prod(0.5 * (1 - nexts ** 2))
    assert hand == 0.0 and x0.grad == 0.0
    assert np.all(0.5 * (1 - nexts ** 2) < 0.5)                     # every factor below 1


def test_gradcheck_error_names_the_input_the_worst_index_and_both_numbers():
    """autodiff.md §7: gradcheck "raises mg.GradcheckError with the input, the worst index and both
    numbers". The rule g * x for x^2 is off by x at each element: the worst index is argmax |x|, where
    autodiff gives x and finite differences 2 x (by hand)."""
    wrong = Rules(vjp=(lambda g, x: g * x,), jvp=(lambda v, x: v * x,))
    values = np.array([0.5, -3.0, 1.25, 2.0])
    x = mg.tensor(values, requires_grad=True)
    with pytest.raises(mg.GradcheckError) as caught:
        mg.gradcheck(lambda x: result("square", x.data * x.data, (x,), wrong, (x.data,)).sum(), [x])
    message = str(caught.value)
    worst = int(np.argmax(np.abs(values)))
    assert "input 0" in message and f"index ({worst},)" in message
    numbers = [float(n) for n in re.findall(r"gives? (-?\d+\.\d+(?:e-?\d+)?)", message)]
    assert numbers[0] == pytest.approx(values[worst], abs=1e-12)
    assert numbers[1] == pytest.approx(2 * values[worst], abs=1e-6)


# ---- engine.md --------------------------------------------------------------------------------------------

def test_autograd_py_is_about_220_lines_over_a_quarter_of_them_docstrings():
    """engine.md: autograd.py is "about 220 lines, over a quarter of them docstrings"."""
    path = ROOT / "microgradseq" / "autograd.py"
    source = path.read_text()
    lines = source.splitlines()
    docstring_lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                docstring_lines.update(range(first.lineno, first.end_lineno + 1))
    assert 200 <= len(lines) <= 245, len(lines)
    assert len(docstring_lines) > len(lines) / 4, (len(docstring_lines), len(lines))


def test_recording_state_lives_in_the_context_variables_the_page_names():
    """engine.md §5: recording state "lives in context variables (autograd.grad_enabled, current_step,
    current_scope, anomaly_checks; Python's contextvars)"."""
    for name in ("grad_enabled", "current_step", "current_scope", "anomaly_checks"):
        assert isinstance(getattr(autograd, name), ContextVar), name


def test_a_plain_backward_frees_each_node_it_walked():
    """engine.md §2: "then free the node: drop what it saved, its rules and its edges, so memory comes
    back while the walk goes on"; with retain_graph=True the node keeps them."""
    w = mg.tensor([0.5, -1.0], requires_grad=True, dtype=np.float64)
    h = (w * 2.0).tanh()
    node = h._node
    h.sum().backward(retain_graph=True)
    assert node.saved is not None and node.rules is not None and len(node.inputs) == 1
    h.sum().backward()
    assert node.saved is None and node.rules is None and node.inputs == ()


# ---- tbptt.md ---------------------------------------------------------------------------------------------

def depth_of_loss(k1, k2, n, t):
    """The number of cells the loss at step t alone passes through under TBPTT(k1, k2): h_s = h_(s-1) + w
    with the loss h_t, so dL/dw counts the cells between the update's cut and t."""
    w = mg.tensor(0.0, requires_grad=True, dtype=np.float64)
    got = {}

    def step(_, h):
        h = w * 1.0 if h is None else h + w
        return h, h

    def on_update(u, loss):
        got[u] = None if w.grad is None else float(w.grad)
        w.grad = None

    targets = [0.0 if s == t else None for s in range(1, n + 1)]
    mg.bptt.tbptt(step, None, [None] * n, targets, lambda h, _: h, k1, k2, on_update=on_update)
    u = next(u for u in mg.bptt.update_steps(n, k1) if u >= t)
    return 0 if got[u] is None else round(got[u])


@pytest.mark.parametrize("k1, k2, deepest, shallowest", [
    (8, 8, 8, 1),                  # TBPTT(n, n): n / 1
    (4, 1, 1, 0),                  # TBPTT(k1, 1), k1 > 1: 1 / 0
    (2, 5, 5, 4),                  # TBPTT(k1, k2), k1 < k2: k2 / k2 - k1 + 1
    (4, 4, 4, 1),                  # TBPTT(k, k): k / 1
])
def test_the_deepest_and_shallowest_loss_of_a_full_window_as_the_table_says(k1, k2, deepest, shallowest):
    """tbptt.md, the five configurations: "deepest / shallowest loss" of a full window (n = 8). The
    update at u = 8 injects steps 8 - k1 + 1 .. 8; the last is the deepest, the first the shallowest."""
    n, u = 8, 8
    assert depth_of_loss(k1, k2, n, u) == deepest
    assert depth_of_loss(k1, k2, n, u - k1 + 1) == shallowest


def test_tbptt_1_n_sends_the_loss_at_step_t_through_t_cells():
    """tbptt.md, the five configurations: TBPTT(1, n) "t / t" (every cut at 0)."""
    assert [depth_of_loss(1, 6, 6, t) for t in range(1, 7)] == [1, 2, 3, 4, 5, 6]


def test_mean_reduction_divides_by_the_steps_of_the_update_that_have_a_target():
    """tbptt.md rule 6: with reduction="mean", L_u "is divided by their number (the steps in (u', u]
    that have a target)". TBPTT(3, 3) over h_t = t (inputs 1, 1, 1, ...): update 3 has targets at steps
    1 and 3 only, (1 + 3) / 2; update 6 at 5 only, 5 / 1."""
    w = mg.tensor(1.0, requires_grad=True, dtype=np.float64)
    losses = {}

    def step(x, h):
        h = w * x if h is None else h + w * x
        return h, h

    targets = [0.0, None, 0.0, None, 0.0, None]
    mg.bptt.tbptt(step, None, [1.0] * 6, targets, lambda h, _: h, 3, 3, reduction="mean",
                  on_update=lambda u, loss: losses.update({u: loss}))
    assert losses == {3: pytest.approx(2.0, abs=1e-15), 6: pytest.approx(5.0, abs=1e-15)}


# ---- forward_mode.md --------------------------------------------------------------------------------------

def test_jacfwd_does_not_enforce_randomness_error_and_draws_one_mask_for_every_column():
    """forward_mode.md §2: jacfwd runs f "once with n directions ... so a dropout mask is drawn once and
    every column of the Jacobian belongs to the same function (PyTorch's randomness="same"; its default
    "error", refusing random ops, is not enforced here)". f = dropout(x, 0.5): J = diag(f(x) / x)."""
    assert inspect.signature(func.jacfwd).parameters["randomness"].default == "error"
    x = mg.tensor(np.arange(1.0, 9.0))
    mg.manual_seed(0)
    jacobian, output = func.jacfwd(lambda x: (mg.functional.dropout(x, 0.5),) * 2, has_aux=True)(x)
    jacobian, output = np.asarray(jacobian), np.asarray(output)
    np.testing.assert_array_equal(jacobian, np.diag(output / np.arange(1.0, 9.0)))
    assert set(np.diag(jacobian)) <= {0.0, 2.0}


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_runs_f_once_in_either_mode(mode):
    """forward_mode.md §2: `mode="fwd"` pushes n directions in one pass; "`mode="rev"` records f once
    and runs m backward passes". Both give diag(2 x) for f = x * x."""
    calls = []

    def f(x):
        calls.append(1)
        return x * x

    x = mg.tensor([1.0, -2.0, 3.0], dtype=np.float64)
    np.testing.assert_array_equal(mg.jacobian(f, x, mode=mode), np.diag([2.0, -4.0, 6.0]))
    assert len(calls) == 1


def test_uoro_takes_rtrl_s_arguments_and_an_rng():
    """forward_mode.md §7: "`mg.bptt.uoro` takes `rtrl`'s arguments and an `rng=`" (rng after reduction, the
    last positional one; the keyword-only on_step after it, in both)."""
    rtrl = list(inspect.signature(mg.bptt.rtrl).parameters)
    uoro = list(inspect.signature(mg.bptt.uoro).parameters)
    assert uoro == rtrl[:rtrl.index("reduction") + 1] + ["rng"] + rtrl[rtrl.index("reduction") + 1:]
    assert [name for name in uoro if name != "rng"] == rtrl


@pytest.mark.parametrize("hidden, size", [(8, 106), (16, 338), (32, 1186), (64, 4418), (128, 17026)])
def test_the_rtrl_table_s_parameter_counts_are_the_benchmark_model_s(hidden, size):
    """forward_mode.md §6, the |θ| column: a tanh RNN cell (1 input, H hidden) and a readout to 2 logits,
    H + H^2 + 2 H (the cell) + 2 H + 2 (the readout) = H^2 + 5 H + 2, and benchmarks/rtrl.py's model."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import rtrl as benchmark
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    *_, params = benchmark.task(hidden, steps=1)
    assert sum(p.data.size for p in params) == size == hidden ** 2 + 5 * hidden + 2


def test_p_t_at_h_64_is_about_9_mb():
    """forward_mode.md §6: "P_t is 4 × 64 × 4,418 numbers at H = 64, 9 MB" (float64)."""
    assert round(4 * 64 * 4418 * 8 / 1e6) == 9


def test_rtrl_leaves_a_parameter_no_step_reads_at_none():
    """forward_mode.md §5: "A parameter no step reads stays at None, so AdamW does not decay it.\""""
    rng = np.random.default_rng(0)
    cell = mg.nn.RNNCell(2, 3, rng=rng, dtype=np.float64)
    unused = mg.tensor(np.ones(3), requires_grad=True)
    mg.bptt.rtrl(lambda x, h: (cell(x, h),) * 2, None, rng.standard_normal((3, 1, 2)),
                 rng.standard_normal((3, 1, 3)), lambda h, y: ((h - y) ** 2).sum(),
                 list(cell.parameters()) + [unused], k1=3)
    assert unused.grad is None and cell.weight_hh.grad is not None


# ---- vanishing_gradients.md -------------------------------------------------------------------------------

def test_a_loop_of_cells_outside_viz_step_records_no_steps_and_is_drawn_without_them():
    """vanishing_gradients.md: a loop of cells "must run each step inside `with mg.viz.step(t):`, or the
    graph is drawn without steps"; inside it, step t is a cluster."""
    cell = mg.nn.RNNCell(2, 3, rng=np.random.default_rng(0))
    xs = np.random.default_rng(1).standard_normal((3, 1, 2)).astype(np.float32)
    h = None
    for x in xs:
        h = cell(x, h)
    assert {node.step for node in topological_order(h.sum()._node)} == {None}
    assert "cluster_step" not in viz.draw(h.sum()).source
    h = None
    for t, x in enumerate(xs, 1):
        with mg.viz.step(t):
            h = cell(x, h)
    assert "cluster_step_3" in viz.draw(h.sum()).source


# ---- drawing.md -------------------------------------------------------------------------------------------

def test_draw_has_the_documented_signature_and_defaults():
    """drawing.md: `mg.viz.draw(root, params=None, view="cells", max_steps=12, show_values=True,
    grad_range=None)`, also as mg.draw."""
    parameters = inspect.signature(viz.draw).parameters
    assert list(parameters) == ["root", "params", "view", "max_steps", "show_values", "grad_range"]
    assert [parameters[name].default for name in list(parameters)[1:]] == [None, "cells", 12, True, None]
    assert mg.draw is viz.draw


def test_render_refuses_a_suffix_it_cannot_tell_the_format_from():
    """drawing.md: render writes ".svg or .png (the suffix decides; .pdf needs a system Graphviz)": any
    other suffix is a ValueError naming render and the formats."""
    w = mg.tensor([1.0], requires_grad=True)
    graph = viz.draw((w * 2.0).sum())
    with pytest.raises(ValueError, match=r"render: cannot tell the format from 'x\.jpg'.*\.svg, \.png, \.pdf"):
        viz.render(graph, "x.jpg")


def test_draw_update_names_itself_in_its_errors():
    """drawing.md, Errors: they "name the function called (`draw` or `draw_update`)"."""
    with pytest.raises(ValueError, match="^draw_update: expected a tensor with history"):
        viz.draw_update([])
    with pytest.raises(TypeError, match="^draw_update: expected a tensor with history"):
        viz.draw_update(None)


# ---- instructors.md ---------------------------------------------------------------------------------------

def reading_order_files():
    """The files the reading-order table of instructors.md names, as paths in the repository: a name
    with a folder under microgradseq/ as it is, a folder's list `microgradseq/optim/` (`sgd.py`, ...) in
    that folder, and a bare name beside the row's first file (row 13's `style.py`, in viz/)."""
    table = [line for line in (DOCS / "instructors.md").read_text().splitlines() if re.match(r"\| \d+b? \|", line)]
    files = []
    for line in table:
        for folder, inside in re.findall(r"`(microgradseq/\w+/)` \(([^)]*)\)", line):
            files += [folder + name for name in re.findall(r"`(\w+\.py)`", inside)]
            line = line.replace(inside, "")
        named = re.findall(r"`([\w/]+\.py)`", line)
        paths = [name if name.startswith("microgradseq/") else "microgradseq/" + name for name in named]
        home = Path(paths[0]).parent if paths else Path("microgradseq")
        for name, path in zip(named, paths):
            files.append(path if "/" in name or (ROOT / path).is_file() else str(home / name))
    return table, files


def test_every_file_of_the_reading_order_exists():
    """instructors.md, "Reading the code, in order": 14 rows (and 6b), every file it names is there."""
    table, files = reading_order_files()
    assert len(table) == 15 and len(files) >= 40
    missing = [name for name in files if not (ROOT / name).is_file()]
    assert not missing


def test_the_names_the_reading_order_points_at_exist():
    """instructors.md rows 9 and 10: `rnn_step`, `lstm_step`, `gru_step` and the `*_recurrence` functions
    in nn/cells.py; `time_steps(T)` and `at_step(t)` in metadata.py; session 3: "the line
    `c_next = (f * c + i * g)` is the whole argument", in `lstm_recurrence`."""
    from microgradseq import metadata
    from microgradseq.nn import cells
    for name in ("rnn_step", "lstm_step", "gru_step", "rnn_recurrence", "lstm_recurrence", "gru_recurrence"):
        assert callable(getattr(cells, name)), name
    assert callable(metadata.time_steps) and callable(metadata.at_step)
    assert "c_next = (f * c + i * g)" in inspect.getsource(cells.lstm_recurrence)


def test_the_tests_the_exercises_send_readers_to_exist():
    """instructors.md exercises 2, 5, 10, 11, 12 name test files (and exercise 2 one test) to read."""
    tests = ROOT / "tests"
    assert "def test_scalar_case_dx3_dw_is_3_w2_x0(" in (tests / "test_bptt.py").read_text()
    for name in ("test_nn_bptt.py", "test_fused.py", "test_tensor_hooks.py", "test_classic_numpy_references.py",
                 "test_classic_numpy_references_2.py", "test_docs.py", "test_layout.py"):
        assert (tests / name).is_file(), name


def test_a_node_takes_no_weak_references():
    """instructors.md exercise 9: "a node takes no weak references, so a `weakref.WeakSet` cannot hold
    them"."""
    node = (mg.tensor([1.0], requires_grad=True) * 2.0)._node
    with pytest.raises(TypeError):
        weakref.ref(node)
    with pytest.raises(TypeError):
        weakref.WeakSet([node])


def test_softplus_is_a_composite_of_exp_and_log1p():
    """instructors.md exercise 1: "the library's `F.softplus` is a composite of `exp` and `log1p`"."""
    x = mg.tensor([-1.0, 0.5], requires_grad=True, dtype=np.float64)
    ops = ops_of(mg.functional.softplus(x))
    assert "exp" in ops and "log1p" in ops and "softplus" not in ops


def code_lines(folder):
    """(lines of code, all lines) of the .py files under `folder`: code leaves out blank lines,
    comment lines and docstrings."""
    code = total = 0
    for path in sorted(folder.rglob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        docstrings = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                        and isinstance(first.value.value, str):
                    docstrings.update(range(first.lineno, first.end_lineno + 1))
        total += len(lines)
        code += sum(1 for i, line in enumerate(lines, 1)
                    if line.strip() and not line.strip().startswith("#") and i not in docstrings)
    return code, total


def test_the_library_is_about_as_many_lines_as_the_instructors_page_says():
    """instructors.md: "about 13,100 lines of code (21,100 with blank lines, docstrings and comments)".
    The numbers are read from the page, so updating them there keeps this test; "about" is within 5%."""
    page = (DOCS / "instructors.md").read_text()
    stated = re.search(r"about ([\d,]+) lines of code\s+\(([\d,]+) with blank lines", page)
    code_stated, total_stated = (int(n.replace(",", "")) for n in stated.groups())
    code, total = code_lines(ROOT / "microgradseq")
    assert abs(code - code_stated) <= 0.05 * code_stated, (code, code_stated)
    assert abs(total - total_stated) <= 0.05 * total_stated, (total, total_stated)


def test_the_tbptt_runner_is_about_60_lines_with_its_docstring():
    """instructors.md row 12: "`tbptt`: about 60 lines with its docstring, ..., and `Updater.update_at` ... about
    40"."""
    assert 54 <= len(inspect.getsource(mg.bptt.tbptt).splitlines()) <= 66
    assert 36 <= len(inspect.getsource(mg.bptt.runner.Updater.update_at).splitlines()) <= 44


# ---- performance.md ---------------------------------------------------------------------------------------

def reproduce_commands():
    """The scripts of performance.md's "How to reproduce" block, with their arguments."""
    page = (DOCS / "performance.md").read_text()
    block = page.split("## How to reproduce", 1)[1].split("`benchmarks/run.py` prints", 1)[0]
    return re.findall(r"python (benchmarks/\w+\.py)([^#\n]*)", block)


def test_every_benchmark_command_the_page_shows_exists():
    """performance.md, "How to reproduce": nine commands, each a script in benchmarks/."""
    commands = reproduce_commands()
    assert len(commands) == 9
    for script, _ in commands:
        assert (ROOT / script).is_file(), script


def test_the_options_the_page_passes_run_py_are_its_own():
    """performance.md: `run.py --quick`, `--tables 2 --repeats 9`, `--system-allocator`; fused_check.py's
    --dtype (table 2 in float32) and instructions.py's positional rnn lstm gru take the arguments shown."""
    sources = {script: (ROOT / script).read_text() for script, _ in reproduce_commands()}
    for option in ("--quick", "--tables", "--repeats", "--system-allocator"):
        assert f'"{option}"' in sources["benchmarks/run.py"], option
    assert '"--dtype"' in sources["benchmarks/fused_check.py"]
    assert "rnn" in sources["benchmarks/instructions.py"] and "gru" in sources["benchmarks/instructions.py"]


# ---- README.md --------------------------------------------------------------------------------------------

def test_the_microgradseq_command_has_a_demo_and_a_draw_for_rnn_lstm_and_gru():
    """README: `microgradseq demo` (an LSTM by default, instructors.md row 14), and "`microgradseq draw`
    draws an unrolled RNN, LSTM or GRU"; the demo writes to ./microgradseq-demo/."""
    from microgradseq.__main__ import parser
    demo = parser().parse_args(["demo"])
    assert demo.cell == "lstm" and demo.out == "microgradseq-demo"
    for cell in ("rnn", "lstm", "gru"):
        assert parser().parse_args(["draw", "--cell", cell]).cell == cell
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'microgradseq = "microgradseq.__main__:main"' in pyproject
    assert re.search(r"^demo = \[", pyproject, re.M) and re.search(r"^dev = \[", pyproject, re.M)
