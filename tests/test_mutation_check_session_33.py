"""Mutation check of session 33's library changes: tests that kill the hand-made mutants the suite let through.

142 mutants of the session's changes (git diff 52ab26d HEAD -- microgradseq), each applied alone and run against
the test files of its area (those naming the changed functions most, 5 to 17 files each): 104 killed there, 1 by
another file of the suite, 25 by the tests here, 9 equivalent, 1 left, and 2 whose code a fix replaced.

- cross_entropy's fast path (21): 10 killed; killed here: ndim != 2 -> < 2, no logits dtype check, bool targets,
  no integer targets check, size_average / reduce dropped from the guard; by test_review_round_17_losses.py: the
  empty-targets check dropped. Equivalent (the full path gives the same one-node loss): class 0 sent to the full
  path, a tensor target always sent there, isinstance for `type is` (a Parameter's logits), label_smoothing == 0
  for `is _NO_SMOOTHING` (differs only for False, which the full path refuses and PyTorch's parser takes).
- add/sub/addcmul/addcdiv parsing and the scalar readers, arange (26): 22 killed; killed here: addcdiv reading
  two positionals as its tensors when only tensor2 is given by keyword. Equivalent: np.bool_ not refused (it is not a
  numbers.Number). Two survivors (the value converted for any result, not only an integer one) revealed a bug,
  fixed in ops/arithmetic.py (`_value_for`): PyTorch converts the value to the result's dtype with a checked
  conversion, so float32 with value=1e39 or a real result with value=1j is refused (inf and a complex result
  here). The fix's own mutants (only integer results converted; float16 converting to float16; addcdiv not
  converting; the product's dtype for the result's) are killed here. Two gaps found on the way are strict xfails
  (the product computed in the tensors' own dtype, float16 included).
- with_inplace and its 19 users (28): 27 killed; killed here: the input given by keyword not written into.
- tensor(a tensor) (5): 4 killed; killed here: a Parameter given as data not warned about.
- Transform.sign (5): all killed. mg.cuda's legacy types (4): 3 killed; equivalent: no __instancecheck__ (no
  tensor is an instance of those classes anyway). nn.Parameter() (3) and TypedConstructor's check (4): all killed.
- Module.train (10): 5 killed; killed here: the children of self or of a plain module walked in reverse, the
  override's walk started without its holders, Module.train ignoring the path it runs on. One survivor (the
  override's own id added to the path handed to it) revealed a bug, fixed in nn/module.py: an override that walks
  its children itself went round a cycle without end; the fix undone is killed here.
- run_update and blocks.py (23): 18 killed; killed here: the graph kept at the last update, or when the next
  cut is h_u; one loss stacked and summed. Equivalent: next_cut unclamped (a negative cut severs nothing, as 0);
  `loss + total` for `total + loss` (float addition commutes: the same values and gradients).
- rtrl.py's influence blocks (9): 3 killed; killed here: the fallback without the state or with integer state,
  rtrl's zero blocks made as zeros of result_type(h, p), the dtypes of the last state tensor's blocks only.
  Equivalent: uoro's zero block in h's dtype (its s~ is never None once a step has run). Left: the dtype always
  the fallback's (parameters and floating state) rather than the carried blocks'; they differ when P_t has
  another dtype than that, e.g. a float32 state made from float64 parameters, where rtrl shows float32 blocks and
  uoro float64 ones (PyTorch's jacobian would give the parameter's float64): a design question, reported.

PyTorch sources read: torch/nn/modules/module.py (pytorch/pytorch d4cc86dc3cf9b2b5f59d1b24af4c5e430f96ab7b,
Module.train), aten/src/ATen/native/cpu/PointwiseOpsKernel.cpp (615b5192e659a01c44e1154cfd6d481eb64ff97f),
c10/core/Scalar.h (aa6104e2a21e72f83ce217ea93e8e69884e22b04), c10/util/overflows.h
(9de0cafe3cc2d2d70d2c8f24e3af1b5546408eac), c10/util/TypeCast.h (5c6695eeeec82353acf609f111efccf5281171c4,
checked_convert), aten/src/ATen/native/LossNLL.cpp (87dd4af9e9b6ec5a5b90938587029c677a35746d), torch/nn/
_reduction.py (aafc584b7b8e99391098f55d6a504df177cbcd9a); the parser, tensor_new.cpp and F.relu's inplace as
tests/test_parity_fixes_33.py cites them. Expected values are numpy or closed forms, never the library's output.
"""

import warnings

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.autograd import FREED

F = mg.nn.functional
nn = mg.nn


def np_log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def caught(fn):
    """(result, the messages of the warnings fn gave)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = fn()
    return result, [str(w.message) for w in record]


Z = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]])
Y = np.array([2, 0])
ROWS = -np_log_softmax(Z)[np.arange(2), Y]          # -log softmax(z)[y] per row, by hand


# ---- cross_entropy: what the loop's fast path must leave to the full path ---------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda: F.cross_entropy(mg.tensor(np.zeros((2, 3, 4))), np.array([0, 2])), ValueError,
     r"class targets of shape \(2,\) do not match logits of shape \(2, 3, 4\) \(expected \(2, 4\)"),
    (lambda: F.cross_entropy(mg.tensor(np.array([[1, 2, 3], [0, 1, 0]])), np.array([0, 2])), TypeError,
     "expected floating-point scores, got dtype int64"),
    (lambda: F.cross_entropy(mg.tensor(Z), np.array([True, False])), ValueError,
     r"probability targets of shape \(2,\) do not match .*\(.long\(\)\), these are bool"),
    (lambda: F.cross_entropy(mg.tensor(Z), np.array([2.0, 0.0])), ValueError,
     r"class indices must be integers \(.long\(\)\), these are float64"),
], ids=["3-d logits, targets (N,)", "integer logits", "bool targets", "float targets (N,)"])
def test_what_the_full_path_refuses_the_loops_call_refuses_too(call, error, message):
    """PyTorch refuses each (aten/src/ATen/native/LossNLL.cpp, 87dd4af9e9b6ec5a5b90938587029c677a35746d):
    nll_loss_nd wants (N, d) targets for (N, C, d) logits ("Expected target size [2, 4], got [2]"), the kernels
    dispatch on floating types only, and class targets are read as int64 (`target.accessor<int64_t, 1>`). Kills the
    fast path taking ndim >= 2 logits (ndim < 2 for != 2), integer logits (no dtype check), bool targets ("iub")
    or float targets (no kind check): each then computes a loss where the full path raises."""
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("options, expected, shape, legacy", [
    ({"size_average": False}, ROWS.sum(), (), "sum"),
    ({"reduce": False}, ROWS, (2,), "none"),
    ({"size_average": True, "reduce": False}, ROWS, (2,), "none"),
], ids=["size_average=False", "reduce=False", "both"])
def test_the_legacy_reduction_arguments_are_not_overridden_by_the_mean(options, expected, shape, legacy):
    """PyTorch's legacy size_average / reduce (torch/nn/_reduction.py, legacy_get_string): size_average=False sums,
    reduce=False keeps one loss per row, with the deprecation warning naming the reduction. Kills the fast path
    dropping `size_average is None` or `reduce is None` (it then averages)."""
    loss, messages = caught(lambda: F.cross_entropy(mg.tensor(Z), Y, **options))
    assert loss.shape == shape
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12)
    assert any(f"reduction='{legacy}'" in m for m in messages)


# ---- the number-first overloads with the last tensor by keyword ------------------------------------------

T, U, V = np.array([1.0, -2.0]), np.array([3.0, 5.0]), np.array([2.0, 4.0])


@pytest.mark.parametrize("name, combine", [("addcmul", np.multiply), ("addcdiv", np.divide)])
@pytest.mark.parametrize("in_place", [False, True])
def test_the_deprecated_form_with_only_tensor2_by_keyword(name, combine, in_place):
    """PyTorch's parser (python_arg_parser.cpp, FunctionSignature::parse) fills the positional parameters in
    order and reads the first one past the positional arguments from the keywords: `t.addcdiv(0.5, u,
    tensor2=v)` is the deprecated `addcdiv(Scalar value, Tensor tensor1, Tensor tensor2)`, t + 0.5 u / v, with its
    warning. Kills addcdiv reading two positional arguments as tensor1 and tensor2 whenever tensor1 is not given
    by keyword (tensor2= then dropped: t + 0.5 / u)."""
    t = mg.tensor(T)
    method = getattr(t, name + "_" if in_place else name)
    result, messages = caught(lambda: method(0.5, mg.tensor(U), tensor2=mg.tensor(V)))
    np.testing.assert_allclose(result.numpy(), T + 0.5 * combine(U, V), rtol=1e-15)
    assert any(f"This overload of {name}{'_' if in_place else ''} is deprecated" in m for m in messages)
    assert (result is t) is in_place


# ---- with_inplace: the input given by keyword ------------------------------------------------------------

@pytest.mark.parametrize("name, closed_form", [
    ("relu", lambda x: np.maximum(x, 0)),
    ("hardtanh", lambda x: np.clip(x, -1, 1)),
    ("elu", lambda x: np.where(x > 0, x, np.expm1(x))),
])
def test_an_array_given_as_input_by_keyword_with_inplace_is_written_into(name, closed_form):
    """F.relu(input=g, inplace=True) is torch.relu_(g) in PyTorch (torch/nn/functional.py): the array named by
    keyword gets the result, as one given by position does. Kills `with_inplace` reading the input only from the
    positional arguments (the keyword's array then kept its values)."""
    g = np.array([-2.0, -0.5, 0.25, 3.0])
    expected = closed_form(g.copy())
    result = getattr(F, name)(input=g, inplace=True)
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-15)
    np.testing.assert_allclose(g, expected, rtol=1e-15)


# ---- tensor(a tensor) ----------------------------------------------------------------------------------------

def test_tensor_of_a_parameter_warns_as_of_any_tensor():
    """A Parameter is a tensor: PyTorch's tensor_ctor warns for any tensor given as data ("To copy construct from a
    tensor, ..."), and the copy is a plain tensor without grad. Kills the check `type(data) is Tensor`."""
    p = nn.Parameter(mg.tensor(np.array([1.0, 2.0])))
    t, messages = caught(lambda: mg.tensor(p))
    assert any(m.startswith("To copy construct from a tensor") and "torch.tensor(sourceTensor)" in m
               for m in messages)
    assert type(t) is mg.Tensor and not t.requires_grad
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])


# ---- Module.train: the order of the overrides, and a cycle of them ----------------------------------------

class Recorded(nn.Module):
    """A module whose own train(mode) records its name, then switches itself and its children as PyTorch's."""

    def __init__(self, name, calls):
        super().__init__()
        self.name, self.calls = name, calls

    def train(self, mode=True):
        self.calls.append(self.name)
        return super().train(mode)


def test_the_overrides_run_in_pytorchs_order_depth_first_a_module_before_its_children():
    """PyTorch's train: `self.training = mode; for module in self.children(): module.train(mode)`
    (torch/nn/modules/module.py, pytorch/pytorch d4cc86dc3cf9b2b5f59d1b24af4c5e430f96ab7b): depth first, children in
    their order. root -> (a, plain -> (b, c), d), a..d overriding: a, b, c, d. Kills walking root's children or a
    plain module's children in reverse (d first, or c before b)."""
    calls = []
    root, plain = nn.Module(), nn.Module()
    root.a = Recorded("a", calls)
    root.plain = plain
    plain.b, plain.c = Recorded("b", calls), Recorded("c", calls)
    root.d = Recorded("d", calls)
    root.eval()
    assert calls == ["a", "b", "c", "d"]
    assert not any(m.training for m in root.modules())


def test_two_overriding_modules_that_hold_each_other_each_switch_once():
    """r holds c and c holds r, both overriding train with super().train(mode). Module.train's docstring: a module
    that holds one of its holders is not entered again along that path (PyTorch's recursion fails there). r.eval()
    runs r's train and c's once each. Kills the override's walk started without its holders (the path reset to
    empty before calling it, or Module.train ignoring the path it runs on): r is entered again, without end."""
    calls = []
    r, c = Recorded("r", calls), Recorded("c", calls)
    r.c = c
    c.r = r
    assert r.eval() is r
    assert calls == ["r", "c"] and not r.training and not c.training
    calls.clear()
    r.train()
    assert calls == ["r", "c"] and r.training and c.training


def test_an_override_that_walks_its_children_itself_is_not_entered_again_through_a_cycle():
    """Bug found by a surviving mutant (the override's own id added to the path it runs on, which the suite could
    not tell apart): root -> m -> d -> m, m overriding train as many PyTorch models do, `self.training = mode;
    for module in self.children(): module.train(mode)` (not through super()). Module.train's docstring says a
    module that holds one of its holders is not entered again along that path; but the path handed to m's train
    did not hold m, so d's walk entered m again, and m's loop d again: RecursionError. Fixed in nn/module.py: the
    path handed to an override holds the overriding module too. (Called on m itself, outside a walk, the two
    loops recurse as PyTorch's do: nothing but Python's calls runs there.)"""
    calls = []

    class Manual(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            self.training = mode
            for module in self.children():
                module.train(mode)
            return self

    root, m, d = nn.Module(), Manual(), nn.Module()
    root.m, m.d, d.m = m, d, m
    assert root.eval() is root
    assert calls == [False] and not root.training and not m.training and not d.training
    root.train()
    assert calls == [False, True] and root.training and m.training and d.training


# ---- addcmul's and addcdiv's value in the result's dtype -------------------------------------------------

@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("in_place", [False, True])
def test_a_value_the_result_cannot_hold_is_refused_as_pytorchs_checked_conversion(name, in_place):
    """Bug found by two surviving mutants (the value's conversion done for any result, not only an integer one,
    which the suite could not tell apart): PyTorch's kernels take the value as `value.to<scalar_t>()`
    (aten/src/ATen/native/cpu/PointwiseOpsKernel.cpp, pytorch/pytorch 615b5192e659a01c44e1154cfd6d481eb64ff97f), a
    checked conversion (c10/core/Scalar.h, aa6104e2a21e72f83ce217ea93e8e69884e22b04: checked_convert) that refuses
    a double beyond float's range and a complex number with an imaginary part for a real result (c10/util/
    overflows.h, 9de0cafe3cc2d2d70d2c8f24e3af1b5546408eac): "value cannot be converted to type float without
    overflow". Here float32 gave inf and value=1j a complex result. Fixed in ops/arithmetic.py (`_value_for`). A
    float64 result holds 1e39; an in-place call leaves the tensor as it was."""
    t = mg.tensor(T.astype(np.float32))
    u, v = mg.tensor(U.astype(np.float32)), mg.tensor(V.astype(np.float32))
    method = getattr(t, name + "_" if in_place else name)
    with pytest.raises(ValueError, match=rf"{name}: the value 1e\+39 cannot be converted to dtype float32 without "
                                         "overflow"):
        method(u, v, value=1e39)
    with pytest.raises(TypeError, match=rf"{name}: the complex value 1j cannot be written into a tensor of dtype "
                                        "float32"):
        method(u, v, value=1j)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), T.astype(np.float32))
    combine = np.multiply if name == "addcmul" else np.divide
    wide = getattr(mg.tensor(T), name)(mg.tensor(U), mg.tensor(V), value=1e39)
    np.testing.assert_allclose(wide.numpy(), T + 1e39 * combine(U, V), rtol=1e-15)
    real = getattr(mg.tensor(T), name)(mg.tensor(U), mg.tensor(V), value=2 + 0j)
    assert real.dtype == np.float64
    np.testing.assert_allclose(real.numpy(), T + 2 * combine(U, V), rtol=1e-15)


def float16_operands(name):
    """0, 1e-3 and 1e-2 (addcmul) or 1e2 (addcdiv) in float16: 1e5 * (1e-3 * 1e-2) = 1e5 * (1e-3 / 1e2) = 1."""
    other = 1e-2 if name == "addcmul" else 1e2
    return [mg.tensor(np.full(2, x, np.float16)) for x in (0.0, 1e-3, other)]


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_a_float16_result_takes_a_value_beyond_float16s_range_as_pytorchs_reduced_precision_kernel(name):
    """PyTorch's kernel for float16 (and bfloat16) takes `value.to<float>()`: value=1e5, past float16's 65504, is
    taken, not refused. Kills `_value_for` converting the value to float16 itself (a ValueError)."""
    zero, small, other = float16_operands(name)
    assert getattr(zero, name)(small, other, value=1e5).dtype == np.float16


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_a_float16_addcmul_computes_in_float_as_pytorchs(name):
    """PyTorch: 0 + 1e5 * (1e-3 * 1e-2) in float, then float16: 1. Here 1e5 becomes float16's inf first."""
    zero, small, other = float16_operands(name)
    result = getattr(zero, name)(small, other, value=1e5)
    np.testing.assert_allclose(result.numpy().astype(np.float64), [1.0, 1.0], rtol=2e-2)


# ---- run_update: which graph an update keeps, and L_u of one loss ----------------------------------------------

def blocks_of(step):
    """`step_block` for tbptt_blocks from a one-step `step`: the block's steps one after another."""
    def step_block(block, state):
        outputs = []
        for x in block:
            output, state = step(x, state)
            outputs.append(output)
        return outputs, state
    return step_block


def run(runner, step, n, k1, k2, **options):
    """h_t = w h_(t-1) + x_t with x_t = t, output h_t, loss (h_t - 0)^2 at every step."""
    inputs = [mg.tensor(np.array(float(t))) for t in range(1, n + 1)]
    loss_fn = options.pop("loss_fn", lambda output, target: (output - target) ** 2)
    h0 = mg.tensor(np.array(0.0))
    if runner == "tbptt":
        return mg.bptt.tbptt(step, h0, inputs, [0.0] * n, loss_fn, k1, k2, **options)
    return mg.bptt.tbptt_blocks(blocks_of(step), h0, inputs, [0.0] * n, loss_fn, k1, k2, **options)


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
@pytest.mark.parametrize("k1, k2", [(2, 2), (3, 3), (2, 4), (1, 3), (3, 1)])
def test_an_update_keeps_its_graph_only_for_the_steps_the_next_update_walks_again(runner, k1, k2):
    """run_update keeps the graph (retain_graph) only while the next update, whose cut is
    c = max(0, min(u + k1, n) - k2), walks again steps of this one (u < n and c < u): then the state h_u, on the
    path of the update's losses, still has its recorded node when on_update runs; else the backward pass has freed
    it, as PyTorch's backward frees a graph without retain_graph. Kills keeping the graph at the last update (u = n
    too) and when the next cut is h_u itself (c <= u)."""
    n = 7
    w = mg.tensor(np.array(0.5), requires_grad=True)
    states, kinds = {}, {}

    def step(x, h):
        h = h * w + x
        states[int(x.item())] = h
        return h, h

    run(runner, step, n, k1, k2, on_update=lambda u, loss: kinds.update({u: states[u]._node.kind}))
    assert sorted(kinds) == mg.bptt.update_steps(n, k1)
    for u, kind in kinds.items():
        kept = u < n and max(0, min(u + k1, n) - k2) < u
        assert (kind is not FREED) == kept, (u, kind)


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks"])
def test_an_update_of_one_loss_hands_on_backward_that_loss_itself(runner):
    """sum_by_stacking's and sum_by_adding's docstrings: one loss is L_u itself (no stack and sum of one). With
    k1 = 1 and reduction="sum" every update has one loss, and on_backward gets the very tensor loss_fn returned,
    whose value is (h_u)^2, h_u = sum_(s <= u) 0.5^(u - s) s. Kills sum_by_stacking stacking one loss too."""
    w = mg.tensor(np.array(0.5), requires_grad=True)
    made, handed = {}, {}

    def step(x, h):
        h = h * w + x
        return h, h

    def loss_fn(output, target):
        made[len(made) + 1] = loss = (output - target) ** 2
        return loss

    run(runner, step, 4, 1, 2, loss_fn=loss_fn, on_backward=lambda u, loss: handed.update({u: loss}))
    assert sorted(handed) == [1, 2, 3, 4]
    for u, loss in handed.items():
        assert loss is made[u]
        assert loss.item() == sum(0.5 ** (u - s) * s for s in range(1, u + 1)) ** 2


# ---- rtrl / uoro: one dtype for the blocks on_step is shown ---------------------------------------------------

def readout_run(counter):
    """rtrl with a state `counter` (shape (2,)) that no parameter reaches, k_t = k_(t-1) + 1, and a float32
    parameter w read by the output only, w * x_t. Returns the blocks on_step saw."""
    w = mg.tensor(np.array([0.5, -0.25], np.float32), requires_grad=True)
    seen = []

    def step(x, k):
        return (w * x).sum(), k + 1

    mg.bptt.rtrl(step, mg.tensor(counter), [mg.tensor(np.array([1.0, 2.0], np.float32))] * 3, [0.0] * 3,
                 lambda out, target: (out - target) ** 2, {"w": w}, on_step=lambda t, P: seen.append(P["w"]))
    return seen


@pytest.mark.parametrize("counter, dtype", [(np.zeros(2, np.int64), np.float32), (np.zeros(2), np.float64)],
                         ids=["int64 counter", "float64 counter"])
def test_a_run_that_carries_no_block_shows_zeros_of_the_parameters_and_floating_state_dtype(counter, dtype):
    """rtrl's docstring (influence_blocks): with no block carried (P of a state no parameter reaches is zero), every
    block is zeros of the result type of the parameters and the floating-point state tensors. A float32 w and an
    int64 counter: float32 (the counter is not floating point); a float64 counter: float64. Zeros of shape
    k.shape + w.shape = (2, 2), read-only. Kills the fallback leaving out the state (float32 for a float64
    counter) or taking integer state in (float64), and rtrl's block of a zero P made as zeros of
    result_type(h, p), which is then carried (float64). (uoro carries a block for every state tensor after its
    first step, s~ having the noise nu in it: no fallback there.)"""
    seen = readout_run(counter)
    assert len(seen) == 3
    for block in seen:
        assert block.dtype == dtype and block.shape == (2, 2) and not block.any() and not block.flags.writeable


HIDDEN = 2


def mixed_state_run(runner):
    """State (c, h): c_t = tanh(U c_(t-1)) in float64 from the float64 U only, h_t = tanh(W x_t + h_(t-1)) in
    float32 from the float32 W only (c first, so the last state tensor carries float32 blocks)."""
    rng = np.random.default_rng(7)
    W = mg.tensor(rng.normal(size=(HIDDEN, 1)).astype(np.float32), requires_grad=True)
    U = mg.tensor(rng.normal(size=(HIDDEN, HIDDEN)) * 0.5, requires_grad=True)
    xs = [rng.normal(size=1).astype(np.float32) for _ in range(3)]
    c0, h0 = np.linspace(0.5, 1.0, HIDDEN), np.zeros(HIDDEN, np.float32)

    def step(x, state):
        c, h = state
        c, h = (U @ c).tanh(), (W @ x + h).tanh()
        return c.sum() + h.sum(), (c, h)

    shown = []
    options = {"rng": 0} if runner is mg.bptt.uoro else {}
    runner(step, (mg.tensor(c0), mg.tensor(h0)), [mg.tensor(x) for x in xs], [0.5] * 3,
           lambda o, y: (o - y) ** 2, {"W": W, "U": U}, on_step=lambda t, P: shown.append(P), **options)
    return shown, np.asarray(U.data, np.float64), c0


@pytest.mark.parametrize("runner", [mg.bptt.rtrl, mg.bptt.uoro])
def test_the_blocks_take_the_result_type_of_every_state_tensors_blocks_not_the_last_ones(runner):
    """influence_blocks: every block has the result type of all the blocks the run carries, float64 here (c's
    dc/dU is float64, h's dh/dW float32, upcast exactly). Kills taking the dtypes of the last state tensor's blocks
    only (float32: c's float64 blocks cut to float32). rtrl's dc_t/dU is the recursion
    dc_t[i]/dU[a, b] = (1 - c_t[i]^2) (delta_ia c_(t-1)[b] + sum_j U[i, j] dc_(t-1)[j]/dU[a, b]), in float64."""
    shown, U, c = mixed_state_run(runner)
    assert len(shown) == 3
    Pc = np.zeros((HIDDEN, HIDDEN, HIDDEN))
    for P in shown:
        c_blocks, h_blocks = P
        for block in (*c_blocks.values(), *h_blocks.values()):
            assert block.dtype == np.float64
        c_new = np.tanh(U @ c)
        Pc = (1 - c_new ** 2)[:, None, None] * (np.eye(HIDDEN)[:, :, None] * c[None, None, :]
                                                + np.einsum("ij,jab->iab", U, Pc))
        c = c_new
        if runner is mg.bptt.rtrl:
            np.testing.assert_allclose(c_blocks["U"], Pc, rtol=1e-12, atol=1e-15)


def test_the_value_takes_the_dtype_of_the_whole_result_not_of_the_product():
    """PyTorch's kernel converts the value to iter.common_dtype(), the type of self, tensor1 and tensor2 together:
    float64 self with int64 tensors takes 2.5 as 2.5 (1 + 2.5 * 3 * 2 = 16), and float64 self with float32 tensors
    takes 1e39 without a word. Kills converting the value to the product's dtype (2.5 cut to 2; 1e39 refused)."""
    t = mg.tensor(np.array([1.0, 1.0]))
    ints = mg.tensor(np.array([3, 3])), mg.tensor(np.array([2, 2]))
    np.testing.assert_array_equal(t.addcmul(*ints, value=2.5).numpy(), [16.0, 16.0])
    floats = mg.tensor(np.array([3.0, 3.0], np.float32)), mg.tensor(np.array([2.0, 2.0], np.float32))
    for name in ("addcmul", "addcdiv"):
        assert getattr(t, name)(*floats, value=1e39).dtype == np.float64


def test_addcmul_computes_in_the_common_dtype_of_the_three_tensors():
    """PyTorch: 1 + 1e39 * 3 * 2 = 6e39 and 1 + 1e39 * 3 / 2 = 1.5e39, in float64."""
    t = mg.tensor(np.array([1.0, 1.0]))
    floats = mg.tensor(np.array([3.0, 3.0], np.float32)), mg.tensor(np.array([2.0, 2.0], np.float32))
    np.testing.assert_allclose(t.addcmul(*floats, value=1e39).numpy(), [6e39, 6e39], rtol=1e-15)
    np.testing.assert_allclose(t.addcdiv(*floats, value=1e39).numpy(), [1.5e39, 1.5e39], rtol=1e-15)
