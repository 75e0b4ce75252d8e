"""Two 50-minute lectures prepared from the repository alone, one test per slide; every expected number is
derived by hand here (closed forms, hand-written numpy, central differences in float64), never read back
from the library.

Lecture A, "Reverse mode: how the chain rule becomes code": `autograd.record`, `Node`, `topological_order`,
`run_backward` (the loop on one slide), `sum_to`; the rules of `mul` (with broadcasting) and `matmul`; a
2-step RNN worked by hand, every partial derivative written out, against the engine.

Lecture B, "Forward mode, BPTT, truncation, RTRL" (docs/forward_mode.md, docs/bptt.md, docs/tbptt.md): a JVP
by dual numbers; TBPTT(k1, k2) for (1, 1), (2, 2), (2, 3), (3, 2) on a 6-step scalar RNN (which losses'
gradients flow through which steps, each update's gradient) against `mg.bptt.tbptt`; RTRL's influence matrix
P_t for a 2-unit RNN by hand against `mg.bptt.rtrl`; the claims and printed outputs of the pages.

Sources read (not ported from memory):
- PyTorch's rules for mm and mul.Tensor, reverse (`self: grad.mm(mat2.t())`, `mat2: self.t().mm(grad)` as
  mm_mat1/mm_mat2_backward) and forward (`result: self_t.mm(mat2_p) + self_p.mm(mat2_t)`,
  `other_t * self_p + self_t * other_p`): pytorch/pytorch, tools/autograd/derivatives.yaml at
  d327a787782618826890c323f8d7e51f3d28ec13.
- How PyTorch undoes broadcasting in a gradient, `at::sum_to` (sum the leading dims and every dim whose target
  size is 1 and whose size is not): pytorch/pytorch, aten/src/ATen/ExpandUtils.h at
  84296aaf11a45e2c7ca80c3b481cd3b4fb81e8f2.
- `unpack_dual` outside a dual level returns the tensor and a None tangent: pytorch/pytorch,
  torch/autograd/forward_ad.py at d0eaa6b7ceeb4c2dfce084b9f010b224481e33d0.
"""

import contextlib
import inspect
import io
import math
import re
from pathlib import Path

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import autograd
from microgradseq.autograd import CUT, LEAF, OP, Node, record, run_backward, sum_to, topological_order

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EPS = 1e-6
F64 = np.float64


def blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), re.S)


def run_block(block: str, name: str) -> tuple[str, dict]:
    """Run a page's block in a fresh namespace, as test_docs.py does; its stdout and its namespace."""
    namespace = {"__name__": "__docs__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, name, "exec"), namespace)
    return out.getvalue(), namespace


@contextlib.contextmanager
def installed(gradients_class):
    """Swap the hook that adds gradients into nodes (exercise 2(d) of instructors.md), then put it back."""
    engine = autograd.hooks.gradients
    autograd.hooks.gradients = gradients_class
    try:
        yield
    finally:
        autograd.hooks.gradients = engine


# ==== Lecture A, slide 1: record and Node ====================================================================

def test_record_links_the_operands_nodes_and_records_nothing_when_nothing_needs_a_gradient():
    """autograd.record's docstring: the node of an op's output linked to its operands' nodes (None for a
    constant); None when recording is off or no operand needs a gradient (a cut state needs none)."""
    leaf = Node("leaf", LEAF, (), None, None, (2,), np.dtype(F64))
    cut = Node("cut", CUT, (), None, None, (2,), np.dtype(F64))
    rules = (lambda g, kept: g * kept, lambda g, kept: g * kept)
    node = record("mul", (leaf, None), rules, ("b", "a"), (2,), np.dtype(F64))
    assert node.op == "mul" and node.kind is OP and node.inputs == (leaf, None)
    assert node.rules is rules and node.saved == ("b", "a") and node.grad is None
    assert node.seq > leaf.seq                                  # numbered after what it takes
    assert record("mul", (None, None), rules, (None, None), (2,), np.dtype(F64)) is None
    assert record("mul", (cut, None), rules, (None, None), (2,), np.dtype(F64)) is None
    with autograd.no_grad():
        assert record("mul", (leaf, None), rules, (None, None), (2,), np.dtype(F64)) is None


def test_node_describe_reads_as_its_docstring_and_every_slot_is_explained():
    """Node.describe's docstring: `'tanh' (label 'h', t = 3, in rnn.cell, shape (2, 4))`; and the Node
    docstring (with the module's) names every slot a slide of the class shows."""
    with autograd.setting(autograd.current_step, 3), autograd.setting(autograd.current_scope, "rnn.cell"):
        node = Node("tanh", OP, (), (), (), (2, 4), np.dtype(F64))
    node.label = "h"
    assert node.describe() == "'tanh' (label 'h', t = 3, in rnn.cell, shape (2, 4))"
    explained = (Node.__doc__ or "") + (autograd.__doc__ or "")
    for slot in Node.__slots__:
        assert f"`{slot}`" in explained, slot


# ==== Lecture A, slide 2: topological_order ==================================================================

def test_topological_order_lists_each_node_once_after_its_inputs():
    """f = (a * a) + a: the leaf a feeds three edges but is listed once; each node after its inputs."""
    a = mg.tensor(3.0, requires_grad=True, dtype=F64)
    square = a * a
    f = square + a
    order = topological_order(f._node)
    assert [n.op for n in order] == ["leaf", "mul", "add"]
    assert square._node.inputs == (a._node, a._node)          # an ordered tuple: two edges
    assert all(order.index(p) < order.index(n) for n in order for p in n.inputs if p is not None)
    f.backward()
    assert a.grad == 2 * 3.0 + 1                                # three edges: a, a and a


# ==== Lecture A, slide 3: run_backward, the loop on one slide ================================================

def test_the_backward_loop_fits_on_a_slide():
    """run_backward: at most 27 lines with its docstring, the `while` loop at most 11, and no line wider than
    92 columns, comments included (the lecturer's trial found 112 with the trailing comments; they were
    shortened or moved to a line of their own)."""
    source = inspect.getsource(run_backward).splitlines()
    assert len(source) <= 27, len(source)
    start = next(i for i, line in enumerate(source) if line.strip() == "while order:")
    assert len(source[start:]) <= 11, source[start:]
    assert max(len(line) for line in source) <= 92, max(source, key=len)


# ==== Lecture A, slide 4: sum_to ============================================================================

def test_sum_to_is_the_docstring_s_sum_over_broadcast_axes():
    """sum_to: x of shape (3, 1) broadcast to (2, 3, 4): dL/dx[i, 0] = sum over a, k of dL/dy[a, i, k]
    (PyTorch's at::sum_to sums the same axes)."""
    g = np.random.default_rng(0).standard_normal((2, 3, 4))
    hand = np.array([[sum(g[a, i, k] for a in range(2) for k in range(4))] for i in range(3)])
    assert sum_to(g, (3, 1)).shape == (3, 1)
    assert np.allclose(sum_to(g, (3, 1)), hand, rtol=0, atol=1e-12)
    by_last_axis = np.array([sum(g[a, i, k] for a in range(2) for i in range(3)) for k in range(4)])
    assert np.allclose(sum_to(g, (4,)), by_last_axis, rtol=0, atol=1e-12)      # two leading axes added
    assert sum_to(g, (2, 3, 4)) is g                            # nothing broadcast: the same array


# ==== Lecture A, slide 5: mul with broadcasting, matmul =====================================================

def test_mul_with_broadcasting_reverse_and_forward_by_hand():
    """mul: d/da = b, d/db = a; a (3, 1) * b (2, 3, 4). The rule gives g * b at the output's shape, and
    sum_to brings it back: dL/da[i, 0] = sum_(j, k) g[j, i, k] b[j, i, k]. Forward mode (derivatives.yaml's
    other_t * self_p + self_t * other_p): dy = v_a * b + a * v_b, broadcast."""
    rng = np.random.default_rng(1)
    A, B, G = rng.standard_normal((3, 1)), rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    a, b = mg.tensor(A, requires_grad=True), mg.tensor(B, requires_grad=True)
    y = a * b
    assert y._node.saved[0] is b._data and y._node.saved[1] is a._data      # each factor keeps the other
    y.backward(grad=G)
    hand_a = np.array([[sum(G[j, i, k] * B[j, i, k] for j in range(2) for k in range(4))] for i in range(3)])
    assert a.grad.shape == (3, 1) and np.allclose(a.grad, hand_a, rtol=0, atol=1e-12)
    assert np.allclose(b.grad, G * A, rtol=0, atol=1e-12)
    Va, Vb = rng.standard_normal((3, 1)), rng.standard_normal((2, 3, 4))
    _, dy = mg.jvp(lambda p, q: p * q, [mg.tensor(A), mg.tensor(B)], [Va, Vb])
    assert np.allclose(dy, Va * B + A * Vb, rtol=0, atol=1e-12)


def central_jacobian_product(f, arrays, index, cotangent):
    """d <cotangent, f(arrays)> / d arrays[index] by central differences."""
    x = arrays[index]
    out = np.zeros_like(x)
    for position in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[position] = EPS
        plus = [a + step if i == index else a for i, a in enumerate(arrays)]
        minus = [a - step if i == index else a for i, a in enumerate(arrays)]
        out[position] = (np.vdot(cotangent, f(*plus)) - np.vdot(cotangent, f(*minus))) / (2 * EPS)
    return out


@pytest.mark.parametrize("shape_a, shape_b", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)),
                                              ((2, 3, 4), (1, 4, 5)), ((4,), (4, 5)), ((3, 4), (4,)),
                                              ((4,), (2, 4, 5)), ((4,), (4,))])
def test_matmul_vjps_are_g_bT_and_aT_g_and_jvps_v_b_and_a_v(shape_a, shape_b):
    """matmul's docstring: dL/da = g b^T, dL/db = a^T g, with numpy's matmul rules: a vector operand is a row
    (left) or a column (right), and a weight shared by a batch gets the sum over the batch. Reverse mode
    against central differences; forward mode against v B + A v (derivatives.yaml's mm `result`)."""
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    G = rng.standard_normal(np.matmul(A, B).shape)
    a, b = mg.tensor(A, requires_grad=True), mg.tensor(B, requires_grad=True)
    (a @ b).backward(grad=G)
    assert np.allclose(a.grad, central_jacobian_product(np.matmul, [A, B], 0, G), rtol=0, atol=1e-8)
    assert np.allclose(b.grad, central_jacobian_product(np.matmul, [A, B], 1, G), rtol=0, atol=1e-8)
    if A.ndim == 2 and B.ndim == 2:                              # the slide's closed forms
        assert np.allclose(a.grad, G @ B.T, rtol=0, atol=1e-12) and np.allclose(b.grad, A.T @ G, rtol=0, atol=1e-12)
    Va, Vb = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    _, dy = mg.jvp(lambda p, q: p @ q, [mg.tensor(A), mg.tensor(B)], [Va, Vb])
    assert np.allclose(dy, Va @ B + A @ Vb, rtol=0, atol=1e-12)


def test_rules_are_module_constants_and_a_node_saves_arrays_not_tensors():
    """engine.md §1: "A primitive op's rules are module constants shared by every node of the op"; "The node
    saves only the arrays its rules need (y here), never the output tensor itself"."""
    w = mg.tensor([0.5, -1.0], requires_grad=True, dtype=F64)
    h1, h2 = (w * 2.0).tanh(), (w * 3.0).tanh()
    assert h1._node.rules is h2._node.rules
    assert h1._node.saved == (h1._data,) and h1._node.saved[0] is h1._data
    assert not any(isinstance(kept, mg.Tensor) for kept in h1._node.saved)
    assert np.allclose(h1._node.saved[0], np.tanh([1.0, -2.0]), rtol=0, atol=1e-15)


# ==== Lecture A, slide 6: a 2-step RNN by hand ==============================================================

W, U, B_, V = 0.5, -0.8, 0.1, 1.5                   # input weight, recurrent weight, bias, readout
X1, X2, Y1, Y2, H0 = 1.0, -2.0, 0.2, -0.4, 0.3


def rnn_forward(w, u, b, v):
    """a_t = w x_t + u h_(t-1) + b, h_t = tanh a_t, o_t = v h_t, l_t = (o_t - y_t)^2, L = l_1 + l_2."""
    a1 = w * X1 + u * H0 + b
    h1 = math.tanh(a1)
    o1 = v * h1
    a2 = w * X2 + u * h1 + b
    h2 = math.tanh(a2)
    o2 = v * h2
    return dict(a1=a1, h1=h1, o1=o1, a2=a2, h2=h2, o2=o2, L=(o1 - Y1) ** 2 + (o2 - Y2) ** 2)


def rnn_partials():
    """Every partial derivative of L, written out from the top of the graph down."""
    f = rnn_forward(W, U, B_, V)
    d = {"L": 1.0, "l1": 1.0, "l2": 1.0}
    d["o2"] = 2 * (f["o2"] - Y2)                    # dl2/do2
    d["h2"] = d["o2"] * V                           # do2/dh2 = v
    d["a2"] = d["h2"] * (1 - f["h2"] ** 2)          # dh2/da2 = 1 - h2^2
    d["o1"] = 2 * (f["o1"] - Y1)
    d["h1"] = d["o1"] * V + d["a2"] * U             # two paths: through o1, and through a2 (da2/dh1 = u)
    d["a1"] = d["h1"] * (1 - f["h1"] ** 2)
    d["w"] = d["a2"] * X2 + d["a1"] * X1            # a shared weight: one term per step
    d["u"] = d["a2"] * f["h1"] + d["a1"] * H0
    d["b"] = d["a2"] + d["a1"]
    d["v"] = d["o2"] * f["h2"] + d["o1"] * f["h1"]
    return f, d


def build_rnn():
    w, u, b, v = (mg.tensor(value, requires_grad=True, dtype=F64) for value in (W, U, B_, V))
    t = {}
    t["a1"] = w * X1 + u * H0 + b
    t["h1"] = t["a1"].tanh()
    t["o1"] = v * t["h1"]
    t["l1"] = (t["o1"] - Y1) ** 2
    t["a2"] = w * X2 + u * t["h1"] + b
    t["h2"] = t["a2"].tanh()
    t["o2"] = v * t["h2"]
    t["l2"] = (t["o2"] - Y2) ** 2
    t["L"] = t["l1"] + t["l2"]
    return dict(w=w, u=u, b=b, v=v), t


def test_two_step_rnn_every_partial_by_hand_against_backward_and_central_differences():
    f, d = rnn_partials()
    leaves, t = build_rnn()
    assert [n.op for n in topological_order(t["L"]._node)] == (
        ["leaf"] * 4 + ["mul", "mul", "add", "add", "tanh", "mul", "sub", "pow"] * 2 + ["add"])
    t["L"].backward()
    assert abs(t["L"].item() - f["L"]) < 1e-14
    for name in ("l1", "l2", "o1", "o2", "h1", "h2", "a1", "a2"):    # every intermediate keeps its .grad
        assert abs(t[name].grad - d[name]) < 1e-14, name
    for name, leaf in leaves.items():
        assert abs(leaf.grad - d[name]) < 1e-14, name
    params = dict(w=W, u=U, b=B_, v=V)
    for name in params:
        plus, minus = dict(params), dict(params)
        plus[name] += EPS
        minus[name] -= EPS
        central = (rnn_forward(**plus)["L"] - rnn_forward(**minus)["L"]) / (2 * EPS)
        assert abs(central - d[name]) < 1e-8, name


def test_two_step_rnn_walk_visits_the_nodes_last_made_first_with_the_plain_gradients():
    """The slide's loop with the core's plain `Gradients` installed: each add is (source op -> input op), in
    reverse creation order, and the leaves get the hand numbers."""
    adds = []

    class Logged(autograd.Gradients):
        def add(self, node, grad, source):
            adds.append((None if source is None else source.op, node.op))
            super().add(node, grad, source)

    _, d = rnn_partials()
    leaves, t = build_rnn()
    with installed(Logged):
        t["L"].backward()
    # nodes by creation: w u b v | w*X1 u*H0 add add(a1) tanh(h1) v*h1 sub pow(l1) | w*X2 u*h1 add add(a2)
    # tanh(h2) v*h2 sub pow(l2) | add(L). Popped last first; a constant operand (X1, H0, the exponent) is None.
    step_2 = [("pow", "sub"), ("sub", "mul"), ("mul", "leaf"), ("mul", "tanh"),    # l2 -> o2 -> v, h2
              ("tanh", "add"), ("add", "add"), ("add", "leaf"),                      # h2 -> a2 -> (w X2 + u h1), b
              ("add", "mul"), ("add", "mul"),                                        # -> w X2, u h1
              ("mul", "leaf"), ("mul", "tanh"),                                      # u h1 -> u, h1 (h1's 1st share)
              ("mul", "leaf")]                                                       # w X2 -> w
    step_1 = [("pow", "sub"), ("sub", "mul"), ("mul", "leaf"), ("mul", "tanh"),    # l1 -> o1 -> v, h1 (2nd share)
              ("tanh", "add"), ("add", "add"), ("add", "leaf"),                      # h1, complete -> a1 -> ..., b
              ("add", "mul"), ("add", "mul"), ("mul", "leaf"), ("mul", "leaf")]     # u H0 -> u; w X1 -> w
    assert adds == [(None, "add"), ("add", "pow"), ("add", "pow")] + step_2 + step_1
    for name, leaf in leaves.items():
        assert abs(leaf.grad - d[name]) < 1e-14, name


def test_two_step_rnn_as_an_rnn_cell_gives_the_same_partials():
    """The same two steps as mg.nn.RNNCell(1, 1): weight_ih = w, weight_hh = u, bias_ih + bias_hh = b."""
    _, d = rnn_partials()
    cell = mg.nn.RNNCell(1, 1, dtype=F64)
    cell.load_state_dict({"weight_ih": np.array([[W]]), "weight_hh": np.array([[U]]),
                          "bias_ih": np.array([B_ / 2]), "bias_hh": np.array([B_ / 2])})
    v = mg.tensor(V, requires_grad=True, dtype=F64)
    h1 = cell(mg.tensor([[X1]], dtype=F64), mg.tensor([[H0]], dtype=F64))
    h2 = cell(mg.tensor([[X2]], dtype=F64), h1)
    loss = ((v * h1 - Y1) ** 2 + (v * h2 - Y2) ** 2).sum()
    loss.backward()
    assert abs(cell.weight_ih.grad.item() - d["w"]) < 1e-14
    assert abs(cell.weight_hh.grad.item() - d["u"]) < 1e-14
    assert abs(cell.bias_ih.grad.item() - d["b"]) < 1e-14 and abs(cell.bias_hh.grad.item() - d["b"]) < 1e-14
    assert abs(v.grad - d["v"]) < 1e-14


def test_a_freed_graph_is_refused_before_any_gradient_moves():
    """engine.md §2: "a freed node is refused before the walk starts (the Gradients check)": a second
    backward through a freed node raises RuntimeError, and the leaf it would have reached keeps its .grad."""
    w = mg.tensor(2.0, requires_grad=True, dtype=F64)
    y = w * 3.0
    (y.tanh() + w).backward()
    before = float(w.grad)
    with pytest.raises(RuntimeError, match="already been freed"):
        (y * 1.0 + w).backward()            # reaches w directly too: nothing may be added before the refusal
    assert float(w.grad) == before


# ==== Lecture B, slide 1: dual numbers and JVPs ============================================================

def test_the_dual_number_block_gives_f_prime_by_the_closed_form():
    """forward_mode.md §1, block 1: x = 0.5 + 1 eps through f(x) = x tanh x + 3 x^2 carries
    f'(0.5) = tanh(0.5) + 0.5 (1 - tanh^2 0.5) + 3, as its comment says."""
    _, namespace = run_block(blocks("forward_mode.md")[0], "forward_mode.md block 1")
    f = namespace["f"]
    th = math.tanh(0.5)
    assert abs(f.value - (0.5 * th + 0.75)) < 1e-15
    assert abs(f.tangent - (th + 0.5 * (1 - th * th) + 3.0)) < 1e-15
    Dual = namespace["Dual"]
    product = Dual(2.0, 1.0) * Dual(3.0, -1.0)     # (2 + e)(3 - e) = 6 + (3 - 2) e: the product rule
    assert (product.value, product.tangent) == (6.0, 1.0)


def test_jvp_of_the_two_step_rnn_is_the_hand_gradient_dotted_with_the_direction():
    """J v for L(w, u, b, v) along v = (1, -2, 0.5, 3): forward mode's one pass gives dL . v (m = 1)."""
    _, d = rnn_partials()
    direction = [1.0, -2.0, 0.5, 3.0]

    def loss(w, u, b, v):
        h1 = (w * X1 + u * H0 + b).tanh()
        h2 = (w * X2 + u * h1 + b).tanh()
        return (v * h1 - Y1) ** 2 + (v * h2 - Y2) ** 2

    primals = [mg.tensor(value, dtype=F64) for value in (W, U, B_, V)]
    _, dL = mg.jvp(loss, primals, [np.array(s) for s in direction])
    hand = sum(s * d[name] for s, name in zip(direction, ("w", "u", "b", "v")))
    assert abs(float(dL) - hand) < 1e-14


# ==== Lecture B, slide 2: TBPTT(k1, k2) on a 6-step scalar RNN =============================================

XS = [0.7, -1.2, 0.4, 1.5, -0.3, 0.9]
YS = [0.1, -0.2, 0.3, 0.0, -0.5, 0.25]
THETA = dict(w=0.5, u=-0.8, b=0.1, v=1.5)

# Which cells each loss's gradient passes through: update u (the first at or after t) holds h_c constant,
# c = max(0, u - k2), so loss t goes through cells c + 1 .. t (tbptt.md rule 3); none when t <= c.
REACH = {
    (1, 1): {1: [1], 2: [2], 3: [3], 4: [4], 5: [5], 6: [6]},                 # updates 1..6, cuts 0..5
    (2, 2): {1: [1], 2: [1, 2], 3: [3], 4: [3, 4], 5: [5], 6: [5, 6]},         # updates 2, 4, 6; cuts 0, 2, 4
    (2, 3): {1: [1], 2: [1, 2], 3: [2, 3], 4: [2, 3, 4], 5: [4, 5], 6: [4, 5, 6]},   # cuts 0, 1, 3
    (3, 2): {1: [], 2: [2], 3: [2, 3], 4: [], 5: [5], 6: [5, 6]},             # updates 3, 6; cuts 1, 4
}
# The steps each update's backward pass walks (all losses present): the union over its losses.
WALKS = {(1, 1): {1: [1], 2: [2], 3: [3], 4: [4], 5: [5], 6: [6]},
         (2, 2): {2: [1, 2], 4: [3, 4], 6: [5, 6]},
         (2, 3): {2: [1, 2], 4: [2, 3, 4], 6: [4, 5, 6]},
         (3, 2): {3: [2, 3], 6: [5, 6]}}


def run_scalar_tbptt(k1, k2, only=None):
    """The runner on h_t = tanh(w x_t + u h_(t-1) + b), o_t = v h_t, l_t = (o_t - y_t)^2; per update: the
    steps whose state a hook saw, and the four gradients (None where the pass did not reach)."""
    params = {name: mg.tensor(value, requires_grad=True, dtype=F64) for name, value in THETA.items()}
    count, seen, per_update = [0], [], {}

    def step(x, h):
        count[0] += 1
        a = params["w"] * x + params["b"] if h is None else params["w"] * x + params["u"] * h + params["b"]
        h = a.tanh()
        h.register_hook(lambda g, t=count[0]: seen.append(t))
        return params["v"] * h, h

    def on_update(u, loss):
        per_update[u] = (sorted(seen), {name: None if p.grad is None else float(p.grad) for name, p in params.items()})
        seen.clear()
        for p in params.values():
            p.grad = None

    targets = [y if only in (None, t) else None for t, y in enumerate(YS, 1)]
    mg.bptt.tbptt(step, None, [mg.tensor(x, dtype=F64) for x in XS], targets, lambda o, y: (o - y) ** 2,
                  k1, k2, on_update=on_update)
    return per_update


def hand_tbptt(k1, k2, theta=THETA):
    """Each update's gradient by the definition, in plain Python: losses (u', u], cut c = max(0, u - k2)."""
    w, u, b, v = theta["w"], theta["u"], theta["b"], theta["v"]
    n, hs = len(XS), [0.0]
    for x in XS:
        hs.append(math.tanh(w * x + u * hs[-1] + b))
    updates = [t for t in range(1, n + 1) if t % k1 == 0 or t == n]
    out, previous = {}, 0
    for up in updates:
        c = max(0, up - k2)
        g = dict(w=0.0, u=0.0, b=0.0, v=0.0)
        reached_u = False
        for t in range(previous + 1, up + 1):
            e = 2 * (v * hs[t] - YS[t - 1])          # dl_t/do_t
            g["v"] += e * hs[t]
            dh = e * v                               # dl_t/dh_t
            for s in range(t, c, -1):                # cells t, t-1, ..., c+1
                da = dh * (1 - hs[s] ** 2)
                g["w"] += da * XS[s - 1]
                g["b"] += da
                if s > 1:                            # h_0 is no tensor: u * h_0 is never recorded
                    g["u"] += da * hs[s - 1]
                    reached_u = True
                dh = da * u
        if not reached_u:
            g["u"] = None
        out[up] = (g, c, previous)
        previous = up
    return out, hs


def truncated_objective(theta, up, c, previous, hs_recorded):
    """L_u with h_c held at its recorded value, as a function of theta: for the central differences."""
    total = 0.0
    h = {c: hs_recorded[c]}
    for s in range(c + 1, up + 1):
        h[s] = math.tanh(theta["w"] * XS[s - 1] + theta["u"] * h[s - 1] + theta["b"])
    for t in range(previous + 1, up + 1):
        state = h[t] if t > c else hs_recorded[t]     # at or behind the cut: the recorded value, a constant
        total += (theta["v"] * state - YS[t - 1]) ** 2
    return total


@pytest.mark.parametrize("k1, k2", list(REACH))
def test_which_steps_each_loss_s_gradient_flows_through(k1, k2):
    """A hook on each state, one loss at a time: the cells loss t reaches are the hand table's."""
    for t, cells in REACH[(k1, k2)].items():
        walked = [steps for steps, _ in run_scalar_tbptt(k1, k2, only=t).values() if steps]
        assert walked == ([cells] if cells else []), (t, walked)


@pytest.mark.parametrize("k1, k2", list(REACH))
def test_each_update_s_gradient_and_walk_against_the_hand_definition(k1, k2):
    got = run_scalar_tbptt(k1, k2)
    hand, hs = hand_tbptt(k1, k2)
    assert list(got) == list(hand) == mg.bptt.update_steps(6, k1)
    assert {u: steps for u, (steps, _) in got.items()} == WALKS[(k1, k2)]
    for up, (grads, c, previous) in hand.items():
        for name, value in grads.items():
            if value is None:
                assert got[up][1][name] is None, (up, name)
                continue
            assert abs(got[up][1][name] - value) < 1e-13, (up, name)
            plus, minus = dict(THETA), dict(THETA)
            plus[name] += EPS
            minus[name] -= EPS
            central = (truncated_objective(plus, up, c, previous, hs)
                       - truncated_objective(minus, up, c, previous, hs)) / (2 * EPS)
            assert abs(central - value) < 1e-8, (up, name)


def test_cell_steps_walked_match_the_table_s_counts_for_these_configurations():
    """tbptt.md's table, backward cell-steps over n = 6: TBPTT(k, k) walks n (6 for (1, 1) and (2, 2));
    k1 < k2 "about n k2 / k1" (9 for (2, 3); exactly 2 + 3 + 3 = 8, the first window being short)."""
    walked = {k: sum(len(steps) for steps in WALKS[k].values()) for k in WALKS}
    assert walked == {(1, 1): 6, (2, 2): 6, (2, 3): 8, (3, 2): 4}
    for k in WALKS:
        assert sum(len(steps) for steps, _ in run_scalar_tbptt(*k).values()) == walked[k]


def test_tbptt_page_prints_the_updates_and_cuts_it_shows():
    """tbptt.md: the second block "prints" the five configurations' updates and cuts; the cuts by hand are
    max(0, u - k2) for u = k1, 2 k1, ..., n."""
    page = (DOCS / "tbptt.md").read_text()
    shown = page.split("which prints\n\n", 1)[1].split("\n\n", 1)[0]
    printed, _ = run_block(blocks("tbptt.md")[1], "tbptt.md block 2")
    assert [line.strip() for line in printed.splitlines()] == [line.strip() for line in shown.splitlines()]
    n = 10
    for line, (k1, k2) in zip(shown.splitlines(), [(n, n), (1, n), (4, 1), (3, 5), (4, 4)]):
        updates = [t for t in range(1, n + 1) if t % k1 == 0 or t == n]
        assert f"updates {updates}  cuts {[max(0, u - k2) for u in updates]}" in line


def test_the_tbptt_figure_s_numbers_are_the_page_s_model_by_hand():
    """tbptt.md's figure (images/tbptt_cut.svg): the update at u = 6 of TBPTT(2, 4) for the page's block
    (mg.manual_seed(2), RNNCell(2, 3), l_t = ||h_t||^2). By hand: h_t in numpy from the cell's weights and
    the inputs; dL/dh_6 = 2 h_6, dL/dh_5 = 2 h_5 + W_hh^T D_6 dL/dh_6, dL/dh_s = W_hh^T D_(s+1) dL/dh_(s+1)
    for s = 4, 3; the figure prints h_t and ||dL/dh_t|| for t = 3..6 and the parameters' gradient norms."""
    mg.manual_seed(2)
    cell = mg.nn.RNNCell(2, 3)
    inputs = [mg.randn(1, 2) for _ in range(8)]
    Wih, Whh = cell.weight_ih.data.astype(F64), cell.weight_hh.data.astype(F64)
    b = (cell.bias_ih.data + cell.bias_hh.data).astype(F64)
    hs = [np.zeros(3)]
    for x in inputs:
        hs.append(np.tanh(Wih @ x.data[0].astype(F64) + Whh @ hs[-1] + b))
    dh = {6: 2 * hs[6]}
    dh[5] = 2 * hs[5] + Whh.T @ ((1 - hs[6] ** 2) * dh[6])
    for s in (4, 3):
        dh[s] = Whh.T @ ((1 - hs[s + 1] ** 2) * dh[s + 1])
    deltas = {s: (1 - hs[s] ** 2) * dh[s] for s in range(3, 7)}
    grads = {"weight_ih": sum(np.outer(deltas[s], inputs[s - 1].data[0]) for s in deltas),
             "weight_hh": sum(np.outer(deltas[s], hs[s - 1]) for s in deltas),
             "bias_ih": sum(deltas.values())}
    svg = (DOCS / "images" / "tbptt_cut.svg").read_text()
    text = [re.sub(r"<[^>]*>", "", m).replace("&#45;", "-").replace("&#160;", " ")
            for m in re.findall(r"<text[^>]*>.*?</text>", svg)]
    cells = [line for line in text if line.startswith("h (1, 3) = [")]
    assert len(cells) == 4
    for t, line in zip(range(3, 7), cells):
        values = [float(s) for s in line.split("[")[1].split("]")[0].split(",")]
        norm = float(line.split("|dL/dh| = ")[1])
        assert np.allclose(values, hs[t], rtol=2e-3, atol=1e-4), t
        assert abs(norm - np.linalg.norm(dh[t])) <= 5e-3 * np.linalg.norm(dh[t]), t
    for name, grad in grads.items():
        shown = float(text[text.index(name) + 2].split("= ")[1])
        assert abs(shown - np.linalg.norm(grad)) <= 5e-3 * np.linalg.norm(grad), name


# ==== Lecture B, slide 3: RTRL's influence matrix for a 2-unit RNN ========================================

W_IH = np.array([[0.5], [-0.3]])
W_HH = np.array([[0.1, 0.2], [-0.4, 0.3]])
B_IH, B_HH = np.array([0.0, 0.1]), np.array([0.05, -0.05])
XS_2 = [np.array([1.0]), np.array([-0.5]), np.array([2.0])]


def hand_influence():
    """P_t = D_t (W_hh P_(t-1) + M_t), P_0 = 0, for theta = (W_ih, W_hh, b_ih, b_hh) flattened in that order
    (2 + 4 + 2 + 2 = 10 columns). M_t, the direct part: row i has x_t in W_ih[i, :]'s column, h_(t-1) in
    W_hh[i, :]'s columns and 1 in b_ih[i]'s and b_hh[i]'s."""
    P, h, Ps, hs = np.zeros((2, 10)), np.zeros(2), [], []
    for x in XS_2:
        h_new = np.tanh(W_IH @ x + W_HH @ h + B_IH + B_HH)
        M = np.zeros((2, 10))
        for i in range(2):
            M[i, i] = x[0]                           # W_ih[i, 0]
            M[i, 2 + 2 * i:2 + 2 * i + 2] = h        # W_hh[i, 0], W_hh[i, 1]
            M[i, 6 + i] = 1.0                        # b_ih[i]
            M[i, 8 + i] = 1.0                        # b_hh[i]
        P = (1 - h_new ** 2)[:, None] * (W_HH @ P + M)
        h = h_new
        Ps.append(P)
        hs.append(h)
    return Ps, hs


def states_of(theta_flat):
    W_ih, W_hh = theta_flat[:2].reshape(2, 1), theta_flat[2:6].reshape(2, 2)
    b_ih, b_hh = theta_flat[6:8], theta_flat[8:10]
    h, out = np.zeros(2), []
    for x in XS_2:
        h = np.tanh(W_ih @ x + W_hh @ h + b_ih + b_hh)
        out.append(h)
    return out


def test_rtrl_influence_matrix_by_hand_for_a_2_unit_rnn():
    """Row i of P_t is the gradient of the loss l_t = h_t[i] (a loss that reads one unit): so rtrl with
    k1 = 1 and l_t = <h_t, e_i> hands back, at update t, exactly row i of the hand P_t. P_1's W_hh block is
    zero (h_0 = 0) and its bias blocks are D_1; every P_t also against central differences of h_t."""
    Ps, hs = hand_influence()
    theta = np.concatenate([W_IH.ravel(), W_HH.ravel(), B_IH, B_HH])
    for t in range(3):
        columns = []
        for j in range(10):
            step = np.zeros(10)
            step[j] = EPS
            columns.append((states_of(theta + step)[t] - states_of(theta - step)[t]) / (2 * EPS))
        assert np.allclose(np.array(columns).T, Ps[t], rtol=0, atol=1e-9), t
    D1 = 1 - hs[0] ** 2
    assert np.all(Ps[0][:, 2:6] == 0) and np.allclose(Ps[0][:, 6:8], np.diag(D1)) and np.allclose(
        Ps[0][:, :2], np.diag(D1 * XS_2[0][0]))
    for i in range(2):
        params = [mg.tensor(a, requires_grad=True, dtype=F64) for a in (W_IH, W_HH, B_IH, B_HH)]
        rows = []

        def step(x, h):
            h = (params[0] @ x + (0.0 if h is None else params[1] @ h) + params[2] + params[3]).tanh()
            return h, h

        def on_update(u, loss):     # at t = 1 no step has read W_hh yet: its .grad stays None, as tbptt's
            assert (params[1].grad is None) == (u == 1)
            rows.append(np.concatenate([np.zeros(p.shape).ravel() if p.grad is None else p.grad.ravel()
                                        for p in params]))
            for p in params:
                p.grad = None

        e = np.eye(2)[i]
        result = mg.bptt.rtrl(step, None, [mg.tensor(x, dtype=F64) for x in XS_2], [mg.tensor(e)] * 3,
                              lambda h, target: (h * target).sum(), params, k1=1, on_update=on_update)
        assert result.updates == [1, 2, 3]
        for t in range(3):
            assert np.allclose(rows[t], Ps[t][i], rtol=0, atol=1e-14), (i, t)


# ==== The pages' claims ======================================================================================

def printed_lines_match_comments(page):
    """For each block of `page`: every `print(...)  # comment` line prints what its comment says (the text up
    to a ':' that starts an explanation)."""
    for number, block in enumerate(blocks(page), 1):
        comments = [line.split("#", 1)[1].strip() for line in block.splitlines()
                    if line.lstrip().startswith("print(") and "#" in line]
        if not comments:
            continue
        printed, _ = run_block(block, f"{page} block {number}")
        lines = printed.splitlines()
        assert len(lines) == len(comments), (page, number)
        for line, comment in zip(lines, comments):
            assert comment == line or comment.startswith(line + ":"), (page, number, line, comment)


@pytest.mark.parametrize("page", ["engine.md", "tbptt.md"])
def test_each_printed_line_is_what_its_comment_says(page):
    printed_lines_match_comments(page)


def test_forward_mode_blocks_print_the_small_differences_their_comments_claim():
    """forward_mode.md §3 block: `~1e-15`; §4 block: `~1e-16 each` (three updates, at 3, 6 and 8)."""
    printed, _ = run_block(blocks("forward_mode.md")[4], "forward_mode.md block 5")
    assert float(printed) < 1e-13
    printed, _ = run_block(blocks("forward_mode.md")[5], "forward_mode.md block 6")
    assert len(printed.split()) == 3 and all(float(s) < 1e-14 for s in printed.split())


def test_line_counts_the_engine_page_gives():
    """engine.md: autograd.py "about 240 lines", tensor.py "of its 640 lines" (within 5%), read from the page."""
    page = (DOCS / "engine.md").read_text()
    core = int(re.search(r"`no_grad` \(about (\d+)\s+lines", page).group(1))
    tensor = int(re.search(r"of its (\d+) lines the pass needs", page).group(1))
    for stated, path in ((core, "autograd.py"), (tensor, "tensor.py")):
        lines = len((ROOT / "microgradseq" / path).read_text().splitlines())
        assert abs(lines - stated) <= 0.05 * stated, (path, lines, stated)


def test_line_counts_of_the_reading_order_the_instructors_page_gives():
    """instructors.md: "files 1–6 are about N lines (M without gradients.py) ... and files 7–10 about K",
    the files of rows 1–6 and 7–10 of its table, counted with every line (within 5%)."""
    page = (DOCS / "instructors.md").read_text()
    found = re.search(r"files 1–6 are about ([\d,]+) lines \(([\d,]+)\s+without `gradients.py`, a second "
                      r"reading\) and files 7–10 about ([\d,]+)", page)
    first, without, second = (int(s.replace(",", "")) for s in found.groups())
    package = ROOT / "microgradseq"
    count = lambda names: sum(len((package / name).read_text().splitlines()) for name in names)
    rows_1_6 = ["autograd.py", "tensor.py", "ops/elementwise.py", "ops/reduce.py", "ops/shape.py", "ops/assign.py",
                "ops/linalg.py", "ops/einsum.py", "gradcheck.py", "anomaly.py", "tensor_hooks.py"]
    rows_7_10 = ["functional/activations.py", "functional/classification.py", "ops/softmax.py", "ops/losses.py",
                 "functional/ctc.py", "parameter.py", "nn/module.py", "nn/linear.py", "nn/cells.py", "nn/layers.py",
                 "metadata.py", "nn/utils/rnn.py", "nn/packed_steps.py"]
    for stated, names in ((first, rows_1_6 + ["gradients.py"]), (without, rows_1_6), (second, rows_7_10)):
        assert abs(count(names) - stated) <= 0.05 * stated, (count(names), stated)


def test_forward_mode_and_bptt_pages_say_which_delta_they_mean():
    """forward_mode.md §3's δ_t is dL/dh_t and bptt.md's is dE/da_t; a lecture that puts the two recursions
    side by side (instructors.md, session 5) needs the page to say so. Numerically: bptt.md's δ_t is
    D_t times forward_mode.md's (checked on the 2-step RNN: dL/da_t = (1 - h_t^2) dL/dh_t)."""
    page = (DOCS / "forward_mode.md").read_text()
    section = page.split("**BPTT (reverse mode through time).**", 1)[1].split("δ_n =", 1)[0]
    assert "bptt.md" in section and "dE/da_t" in section
    f, d = rnn_partials()
    for t in ("1", "2"):
        assert abs(d["a" + t] - (1 - f["h" + t] ** 2) * d["h" + t]) < 1e-15


def svg_texts(name):
    svg = (DOCS / "images" / name).read_text()
    return [re.sub(r"<[^>]*>", "", m).replace("&#45;", "-").replace("&#160;", " ")
            for m in re.findall(r"<text[^>]*>.*?</text>", svg)]


def test_the_bptt_figure_s_numbers_are_its_model_by_hand():
    """bptt.md's figure (images/rnn_unrolled.svg, made by docs/images/make_figures.py from the model and data of
    the page's check: RNNCell(3, 4) and Linear(4, 3) from default_rng(0), T = 6 steps of a batch of B = 2, a
    cross-entropy E_t per step, summed over the batch). By hand in numpy, in rows: h_t, E_t,
    dE/dh_t = e_t W_hy + δ_(t+1) W_hh with δ_t = (1 - h_t^2) dE/dh_t (bptt.md's recursion), and the parameters'
    gradient norms; the figure prints each step's E_t and ||dL/dh_t|| and each parameter's |grad|."""
    T, B = 6, 2
    rng = np.random.default_rng(0)
    cell = mg.nn.RNNCell(3, 4, rng=rng, dtype=F64)
    head = mg.nn.Linear(4, 3, rng=rng, dtype=F64)
    xs, ks = rng.standard_normal((T, B, 3)), rng.integers(0, 3, size=(T, B))
    W_ih, W_hh = cell.weight_ih.data, cell.weight_hh.data
    b, W_hy, b_y = cell.bias_ih.data + cell.bias_hh.data, head.weight.data, head.bias.data
    hs, es, losses = [np.zeros((B, 4))], [], []
    for x, k in zip(xs, ks):
        hs.append(np.tanh(x @ W_ih.T + hs[-1] @ W_hh.T + b))
        y = hs[-1] @ W_hy.T + b_y
        p = np.exp(y - y.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        losses.append(-np.log(p[np.arange(B), k]).sum())
        es.append(p - np.eye(3)[k])
    dh, delta_next = {}, np.zeros((B, 4))
    grads = {name: 0.0 for name in ("cell.weight_ih", "cell.weight_hh", "cell.bias_ih", "head.weight", "head.bias")}
    for t in range(T, 0, -1):
        dh[t] = es[t - 1] @ W_hy + delta_next @ W_hh
        delta_next = (1 - hs[t] ** 2) * dh[t]
        grads["cell.weight_ih"] = grads["cell.weight_ih"] + delta_next.T @ xs[t - 1]
        grads["cell.weight_hh"] = grads["cell.weight_hh"] + delta_next.T @ hs[t - 1]
        grads["cell.bias_ih"] = grads["cell.bias_ih"] + delta_next.sum(axis=0)
        grads["head.weight"] = grads["head.weight"] + es[t - 1].T @ hs[t]
        grads["head.bias"] = grads["head.bias"] + es[t - 1].sum(axis=0)
    text = svg_texts("rnn_unrolled.svg")
    assert len([line for line in text if line.startswith("h (2, 4)")]) == T
    shown_losses = sorted(float(line.split("= ")[1]) for line in text if line.startswith("E_t = "))
    assert np.allclose(shown_losses, sorted(losses), rtol=1e-3, atol=0)
    for t in range(1, T + 1):
        norm = float(text[text.index(f"t = {t}") + 1].split("= ")[1])
        assert abs(norm - np.linalg.norm(dh[t])) <= 5e-3 * np.linalg.norm(dh[t]), t
    for name, grad in grads.items():
        shown = float(text[text.index(name) + 2].split("= ")[1])
        assert abs(shown - np.linalg.norm(grad)) <= 5e-3 * np.linalg.norm(grad), name


@pytest.mark.parametrize("k1, k2, reaching", [(1, 1, [1]), (2, 3, [2]), (2, 2, [2]), (3, 2, [])])
def test_a_leaf_initial_state_gets_gradient_exactly_while_a_cut_is_at_0(k1, k2, reaching):
    """tbptt.md: "h_0 receives gradient exactly while a cut is at 0" -- the updates u <= k2. Its gradient
    there is dL_u/dh_0 = u * dL_u/da_1 by hand (hand_tbptt's walk carried one step further)."""
    params = {name: mg.tensor(value, requires_grad=True, dtype=F64) for name, value in THETA.items()}
    h0 = mg.tensor(0.0, requires_grad=True, dtype=F64)
    got = {}

    def step(x, h):
        h = (params["w"] * x + params["u"] * h + params["b"]).tanh()
        return params["v"] * h, h

    def on_update(u, loss):
        got[u] = None if h0.grad is None else float(h0.grad)
        h0.grad = None

    mg.bptt.tbptt(step, h0, [mg.tensor(x, dtype=F64) for x in XS], YS, lambda o, y: (o - y) ** 2, k1, k2,
                  on_update=on_update)
    assert [u for u, g in got.items() if g is not None] == reaching
    hs = [0.0]
    for x in XS:
        hs.append(math.tanh(THETA["w"] * x + THETA["u"] * hs[-1] + THETA["b"]))
    for up in reaching:                              # cut at 0: every loss of (u', u] = (0, u] reaches h_0
        total = 0.0
        for t in range(1, up + 1):
            dh = 2 * (THETA["v"] * hs[t] - YS[t - 1]) * THETA["v"]
            for s in range(t, 0, -1):
                dh = dh * (1 - hs[s] ** 2) * THETA["u"]
            total += dh
        assert abs(got[up] - total) < 1e-14, up
