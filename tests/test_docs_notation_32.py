"""Notation and consistency across the course pages (a lecturer's trial read autodiff.md, engine.md,
forward_mode.md, bptt.md and tbptt.md in sequence and found clashing symbols).

What is checked:
- one convention for a VJP: a gradient is a row and a VJP is g J (engine.md, forward_mode.md, api.md, the
  code's `g @ J`); autodiff.md §4 says once that a derivation in columns writes the same numbers as Jᵀ g;
- bptt.md names the cell's weights as PyTorch does (W_ih, W_hh; b = b_ih + b_hh) and the readout W_hy, b_y, so
  `c` is no longer its output bias; tbptt.md writes the cut c_u throughout, as api.md and the runner do;
- tbptt.md's row for TBPTT(k1, k2) with k1 > k2 > 1, derived from the page's rules 1-3 (updates every k1, the
  losses of (u', u] injected, the state at c_u = max(0, u - k2) held constant, so a loss at t passes through
  max(0, t - c_u) cells): deepest / shallowest k2 / 0 for a full window, k2 ⌈n / k1⌉ backward cell-steps, a
  tape of k1 steps; checked against mg.bptt.tbptt with a hook on every state, a closed-form linear recurrence,
  and a count of the states still recorded;
- bptt.md's figure (docs/images/rnn_unrolled.svg) is drawn from the model and data of the page's check: the
  script's data equal the block's, and every number the figure prints is the block's own numpy result.

Expected values are hand-written numpy or closed forms (the page's own numpy block included), never read back
from the library. Sources read: PyTorch's names and row form of the Elman RNN, h_t = tanh(x_t W_ihᵀ + b_ih +
h_(t-1) W_hhᵀ + b_hh), weight_ih_l[k] (hidden_size, input_size): pytorch/pytorch, torch/nn/modules/rnn.py at
e6f551aa3e44ae79694352a686f9cf503768ead6 (class RNN's docstring).
"""

import contextlib
import importlib.util
import io
import math
import re
from pathlib import Path

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.autograd import OP

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
F64 = np.float64


def page(name: str) -> str:
    return (DOCS / name).read_text()


def prose(text: str) -> str:
    """A page without its fenced code and inline code."""
    return re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", text, flags=re.S))


def blocks(name: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page(name), re.S)


def run_block(block: str, name: str) -> tuple[str, dict]:
    namespace = {"__name__": "__docs__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, name, "exec"), namespace)
    return out.getvalue(), namespace


# ==== one VJP convention ====================================================================================

COLUMN_FORMS = ("Jᵀ g", "Jᵀ · dL/dy", "uᵀJ", "uᵀ J", "J^T g", "uᵀ(J v)")


def test_a_vjp_is_g_j_everywhere_and_autodiff_section_4_relates_it_to_the_column_form_once():
    autodiff = page("autodiff.md")
    section_4 = autodiff.split("## 4.", 1)[1].split("## 5.", 1)[0]
    assert "g J" in section_4 and "`g ↦ g J`" in section_4 and "row vector" in section_4
    assert section_4.count("Jᵀ g") == 1                     # the one sentence that relates the two forms
    assert "g @ J" in section_4
    rest = {"autodiff.md": autodiff.replace(section_4, ""), "engine.md": page("engine.md"),
            "forward_mode.md §1-2": page("forward_mode.md").split("## 3.", 1)[0], "api.md": page("api.md"),
            "instructors.md": page("instructors.md")}
    for name, text in rest.items():
        for form in COLUMN_FORMS:
            assert form not in text, (name, form)
    assert "g J" in rest["engine.md"] and "u J" in rest["forward_mode.md §1-2"] and "u J_i" in rest["api.md"]


def test_the_vjp_the_autodiff_page_checks_is_g_at_j_and_equals_the_column_form():
    """autodiff.md §4's block: y = tanh(W x), J = diag(1 - y²) W; the page asserts x.grad = g @ J. By hand,
    g @ J (g a 1-d row) and J.T @ g are the same numbers, and both are the engine's gradient."""
    block = next(b for b in blocks("autodiff.md") if "y.backward(grad=g)" in b)
    assert "g @ J" in block and "J.T @ g" not in block.replace("# g J; in columns, J.T @ g", "")
    _, ns = run_block(block, "autodiff.md §4 block")
    J = np.diag(1 - np.tanh(ns["W_val"] @ ns["x_val"]) ** 2) @ ns["W_val"]
    assert np.allclose(ns["g"] @ J, J.T @ ns["g"], rtol=0, atol=1e-15)
    assert np.allclose(ns["xv"].grad, J.T @ ns["g"], rtol=0, atol=1e-12)


# ==== bptt.md's and tbptt.md's symbols ======================================================================

def test_bptt_page_uses_pytorch_s_weight_names_and_no_output_bias_c():
    text = prose(page("bptt.md"))
    model = text.split("## The model", 1)[1].split("## The derivation", 1)[0]
    assert "a_t = W_ih x_t + W_hh h_{t-1} + b" in model and "y_t = W_hy h_t + b_y" in model
    for symbol, tensor in (("W_ih", "cell.weight_ih"), ("W_hh", "cell.weight_hh"), ("W_hy", "head.weight"),
                           ("b_y", "head.bias")):
        assert re.search(rf"\| {symbol} \| `{re.escape(tensor)}`", page("bptt.md")), symbol
    assert not re.search(r"(?<![\w_^])[UVc](?![\w_(])", text.split("## The check", 1)[0]), "a textbook U, V or c"
    derivation = text.split("## The derivation", 1)[1].split("## The check", 1)[0]
    assert "W_hyᵀ e_t + W_hhᵀ δ_{t+1}" in derivation and "dE/dW_hh" in derivation


def test_bptt_numpy_block_uses_the_same_names_and_still_checks_backward():
    block = blocks("bptt.md")[1]
    assert "W_ih, W_hh = cell.weight_ih.data, cell.weight_hh.data" in block
    assert "W_hy, b_y = head.weight.data, head.bias.data" in block
    assert not re.search(r"\b(U|V|c|dU|dV|dc)\b", block)
    _, ns = run_block(block, "bptt.md block 2")
    assert ns["cell"].weight_hh.grad.shape == ns["dW_hh"].shape == (4, 4)


def test_tbptt_page_writes_the_cut_as_c_u_throughout():
    text = prose(page("tbptt.md"))
    assert "c_u = max(0, u - k2)" in text and "max(0, t - c_u)" in text
    assert not re.search(r"\bc = ", text) and not re.search(r"t - c\b", text)
    assert text.count("c_u") >= 4
    assert "c_u = max(0, u - k2)" in page("api.md")          # the contract's spelling


# ==== tbptt.md's row for k1 > k2 > 1 ========================================================================

def table_row(label: str) -> list[str]:
    for line in page("tbptt.md").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == label:
            return cells[1:]
    raise AssertionError(f"no row {label!r}")


def test_the_row_says_what_the_rules_give():
    """Rules 1-3 for k1 > k2 > 1: an update every k1 steps injecting the k1 losses of (u - k1, u]; the cut
    c_u = u - k2 lies inside that window, so the loss at u passes through k2 cells and the one at u - k1 + 1
    through max(0, k2 - k1 + 1) = 0; each update walks the cells c_u + 1 .. u, k2 of them."""
    assert table_row("TBPTT(k1, k2), k1 > k2 > 1") == ["every k1", "k1", "k2 / 0", "k2 ⌈n / k1⌉", "k1 steps"]
    assert "## Six configurations" in page("tbptt.md")


XS = [0.7, -1.2, 0.4, 1.5, -0.3, 0.9, 0.2, -0.6, 1.1, -0.9, 0.5, 0.3, -1.4]
YS = [0.1, -0.2, 0.3, 0.0, -0.5, 0.25, 0.4, -0.1, 0.2, 0.05, -0.3, 0.15, 0.35]
W, U, B, V = 0.5, -0.8, 0.1, 1.5
CASES = [(k1, k2, n) for k1, k2 in [(3, 2), (5, 2), (4, 3), (5, 4)] for n in (10, 12, 13)]


def hand_states(n):
    hs = [0.0]
    for x in XS[:n]:
        hs.append(math.tanh(W * x + U * hs[-1] + B))
    return hs


def run_hooked(k1, k2, n, only=None):
    """mg.bptt.tbptt on h_t = tanh(w x_t + u h_(t-1) + b), o_t = v h_t, l_t = (o_t - y_t)^2: per update the steps
    whose state's hook ran, and L_u; and, before each step, how many earlier states are still recorded."""
    params = [mg.tensor(value, requires_grad=True, dtype=F64) for value in (W, U, B, V)]
    seen, per_update, states, recorded = [], {}, [], []

    def step(x, h):
        recorded.append(sum(1 for s in states if s.grad_fn is not None and s.grad_fn.kind is OP))
        a = params[0] * x + params[2] if h is None else params[0] * x + params[1] * h + params[2]
        h = a.tanh()
        h.register_hook(lambda g, t=len(states) + 1: seen.append(t))
        states.append(h)
        return params[3] * h, h

    def on_update(u, loss):
        per_update[u] = (sorted(seen), loss)
        seen.clear()

    targets = [y if only in (None, t) else None for t, y in enumerate(YS[:n], 1)]
    mg.bptt.tbptt(step, None, [mg.tensor(x, dtype=F64) for x in XS[:n]], targets, lambda o, y: (o - y) ** 2,
                  k1, k2, on_update=on_update)
    return per_update, recorded


def linear_depth(k1, k2, n, t):
    """The cells the loss at t passes through, from gradients alone: h_s = h_(s-1) + w with the loss h_t, so
    d h_t / d w counts the cells between the update's cut and t (0 when the loss is at or behind the cut)."""
    w = mg.tensor(0.0, requires_grad=True, dtype=F64)
    got = {}

    def step(_, h):
        h = w * 1.0 if h is None else h + w
        return h, h

    def on_update(u, loss):
        got[u] = None if w.grad is None else float(w.grad)
        w.grad = None

    mg.bptt.tbptt(step, None, [None] * n, [0.0 if s == t else None for s in range(1, n + 1)], lambda h, _: h,
                  k1, k2, on_update=on_update)
    u = next(u for u in mg.bptt.update_steps(n, k1) if u >= t)
    return 0 if got[u] is None else round(got[u])


@pytest.mark.parametrize("k1, k2, n", CASES)
def test_depth_of_every_loss_against_the_rules_with_hooks_and_gradients(k1, k2, n):
    updates = [t for t in range(1, n + 1) if t % k1 == 0 or t == n]
    previous = 0
    for u in updates:
        cut = max(0, u - k2)
        for t in range(previous + 1, u + 1):
            depth = max(0, t - cut)                              # rule 3
            walked = [steps for steps, _ in run_hooked(k1, k2, n, only=t)[0].values() if steps]
            assert walked == ([list(range(cut + 1, t + 1))] if depth else []), (u, t, walked)
            assert linear_depth(k1, k2, n, t) == depth, (u, t)
        if u % k1 == 0:                                          # a full window: the row's k2 / 0
            assert max(0, u - cut) == k2 and max(0, u - k1 + 1 - cut) == 0
        previous = u


@pytest.mark.parametrize("k1, k2, n", CASES)
def test_updates_injected_losses_cell_steps_and_tape_against_the_row(k1, k2, n):
    per_update, recorded = run_hooked(k1, k2, n)
    hs = hand_states(n)
    updates = [t for t in range(k1, n + 1, k1)] + ([n] if n % k1 else [])
    assert list(per_update) == updates                            # "every k1" (and the tail at n)
    previous = 0
    for u, (walked, loss) in per_update.items():
        injected = range(previous + 1, u + 1)                    # k1 of them in a full window
        assert len(injected) == (k1 if u % k1 == 0 else n % k1)
        assert abs(loss - sum((V * hs[t] - YS[t - 1]) ** 2 for t in injected)) < 1e-13
        assert walked == list(range(u - k2 + 1, u + 1))          # the cells c_u + 1 .. u
        previous = u
    assert sum(len(walked) for walked, _ in per_update.values()) == k2 * math.ceil(n / k1)
    assert max(recorded) + 1 == k1                                # "tape holds k1 steps"


def test_the_page_prints_the_new_configuration_s_updates_and_cuts_by_hand():
    shown = page("tbptt.md").split("which prints\n\n", 1)[1].split("\n\n", 1)[0]
    line = next(line for line in shown.splitlines() if line.strip().startswith("k1 > k2 > 1"))
    updates = [t for t in range(1, 11) if t % 3 == 0 or t == 10]
    assert line.split("k1 > k2 > 1", 1)[1].strip() == f"updates {updates}  cuts {[max(0, u - 2) for u in updates]}"
    printed, _ = run_block(blocks("tbptt.md")[1], "tbptt.md block 2")
    assert printed.splitlines()[-1].strip() == line.strip()


# ==== bptt.md's figure and its check ========================================================================

def figures_script():
    spec = importlib.util.spec_from_file_location("make_figures", DOCS / "images" / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def svg_texts(path: Path) -> list[str]:
    svg = path.read_text()
    return [re.sub(r"<[^>]*>", "", m).replace("&#45;", "-").replace("&#160;", " ")
            for m in re.findall(r"<text[^>]*>.*?</text>", svg)]


def test_the_figure_script_draws_the_block_s_model_and_data():
    _, ns = run_block(blocks("bptt.md")[1], "bptt.md block 2")
    cell, head, xs, targets = figures_script().bptt_check_model()
    assert np.array_equal(xs, ns["xs"]) and np.array_equal(targets, ns["targets"])
    for ours, theirs in zip(list(cell.parameters()) + list(head.parameters()),
                            list(ns["cell"].parameters()) + list(ns["head"].parameters())):
        assert np.array_equal(ours.data, theirs.data)


def test_every_number_the_figure_prints_is_the_block_s_numpy_result():
    """The block's numpy: hs (h_0..h_T, rows), ps, E, dW_ih, dW_hh, db, dW_hy, db_y. From them by hand: each step's
    E_t = -Σ_b log p_t[b, k_t[b]], and dE/dh_t = e_t W_hy + δ_(t+1) W_hh (rows), δ_t = (1 - h_t²) dE/dh_t."""
    _, ns = run_block(blocks("bptt.md")[1], "bptt.md block 2")
    T, B = ns["T"], ns["B"]
    hs, ps, targets = ns["hs"], ns["ps"], ns["targets"]
    step_losses = [-np.log(ps[t][np.arange(B), targets[t]]).sum() for t in range(T)]
    assert abs(sum(step_losses) - ns["E"]) < 1e-12
    dh, delta_next = {}, np.zeros_like(hs[0])
    for t in range(T, 0, -1):
        e = ps[t - 1] - np.eye(ns["C"])[targets[t - 1]]
        dh[t] = e @ ns["W_hy"] + delta_next @ ns["W_hh"]
        delta_next = (1 - hs[t] ** 2) * dh[t]
    text = svg_texts(DOCS / "images" / "rnn_unrolled.svg")
    assert [line for line in text if re.fullmatch(r"t = \d+", line)] == [f"t = {t}" for t in range(1, T + 1)]
    shown = sorted(float(line.split("= ")[1]) for line in text if line.startswith("E_t = "))
    assert len(shown) == T and np.allclose(shown, sorted(step_losses), rtol=1e-3, atol=0)
    for t in range(1, T + 1):
        norm = float(text[text.index(f"t = {t}") + 1].split("= ")[1])
        assert abs(norm - np.linalg.norm(dh[t])) <= 5e-3 * np.linalg.norm(dh[t]), t
    grads = {"cell.weight_ih": ns["dW_ih"], "cell.weight_hh": ns["dW_hh"], "cell.bias_ih": ns["db"],
             "cell.bias_hh": ns["db"], "head.weight": ns["dW_hy"], "head.bias": ns["db_y"]}
    for name, grad in grads.items():
        shape, norm = text[text.index(name) + 1], float(text[text.index(name) + 2].split("= ")[1])
        assert shape == str(grad.shape) and abs(norm - np.linalg.norm(grad)) <= 5e-3 * np.linalg.norm(grad), name


def test_the_committed_figure_is_what_the_script_draws_now(tmp_path):
    path = figures_script().rnn_unrolled(tmp_path)
    assert Path(path).read_bytes() == (DOCS / "images" / "rnn_unrolled.svg").read_bytes()


def test_the_page_says_the_figure_is_the_check_s_model():
    text = page("bptt.md")
    figure = text.split("](images/rnn_unrolled.svg)", 1)[1].split("## The derivation", 1)[0]
    assert "the model and data of the check" in figure and "six steps" in figure and "four steps" not in figure
