"""Review of session 33's changes (52ab26d..353116d): the TBPTT runners' shared update, cross_entropy's fast
path, the argument parsing of add/sub/addcmul/addcdiv, and Module.train's walk with overrides.

1. The shared update is now `bptt.runner.Updater` (the run's arguments, fixed for the run, and the previous
   update), whose `update_at(t, window, stale, pending, count, callers_step)` takes what the runner's loop
   keeps; `run_update` took 16 positional parameters. Checked here on its own, against a hand-computed L_u
   and gradient; the runners are checked against a numpy TBPTT in tests/test_bptt_tidy_33.py.
2. cross_entropy's fast path (logits (N, C), N class indices, "sum"/"mean", no options) against the full
   path, forced by making `_plain_class_targets` decline every call: values, dtypes, gradients, forward-mode
   tangents, errors and warnings on a grid of inputs, and the values against numpy's
   -log softmax(x)[t] computed in float64.
3. PyTorch's parser (pytorch/pytorch, torch/csrc/utils/python_arg_parser.cpp at
   001665b78cd27b6faccff82c648c5ecacf784a32, FunctionSignature::parse) fills the parameters in order, from
   the positional arguments and then from the keywords; a parameter left without a value is
   `missing_args` ("missing ... required positional argument"), a keyword naming a parameter already given
   by position is "got multiple values". The deprecated overloads (tools/autograd/deprecated.yaml at
   1c6cd0f0d7dc664df23b03027f62ed7898020561: `addcmul(Tensor self, Scalar value, Tensor tensor1, Tensor
   tensor2)`) take their tensors by keyword too. Before this review `t.addcmul(tensor1=u)` said "multiple
   values for argument 'tensor1'" and `t.addcmul(tensor2=v)` "missing ... 'tensor2'" (the argument given).
4. PyTorch's `Module.train` (torch/nn/modules/module.py at d4cc86dc3cf9b2b5f59d1b24af4c5e430f96ab7b) is
   `self.training = mode; for module in self.children(): module.train(mode)`: an attribute look-up, so a
   `train` set on the instance (`bn.train = lambda _: None`, the frozen-BatchNorm idiom of several public
   scripts) runs too. Before this review the walk called only a class's override.
"""

from __future__ import annotations

import inspect
import itertools
import threading
import warnings
from collections import deque
from pathlib import Path

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import nn
from microgradseq.bptt.runner import TBPTTResult, Updater, sum_by_adding
from microgradseq.functional import classification

F = mg.nn.functional


# ---- 1. the TBPTT update, on its own ----------------------------------------------------------------------------

class RecordingOptimizer:
    def __init__(self, calls):
        self.calls = calls

    def step(self):
        self.calls.append("step")

    def zero_grad(self):
        self.calls.append("zero_grad")


def test_the_update_takes_the_loops_bookkeeping_and_not_the_runs_arguments():
    """update_at's parameters are what the runner's loop keeps; the run's own arguments are the Updater's."""
    assert list(inspect.signature(Updater.update_at).parameters) == [
        "self", "t", "window", "stale", "pending", "count", "callers_step"]
    assert not hasattr(mg.bptt.runner, "run_update")


def test_an_update_averages_its_losses_backpropagates_once_and_reports_in_order():
    """Losses 1 w and 2 w of a leaf w = 3, reduction "mean" over count 2: L_u = 1.5 w = 4.5, dL/dw = 1.5; then
    on_update(u, L_u), optimizer.step(), optimizer.zero_grad(), in that order."""
    calls = []
    w = mg.tensor(3.0, requires_grad=True)
    updater = Updater(6, 2, 3, RecordingOptimizer(calls), lambda u, loss: calls.append((u, loss, float(w.grad))),
                      "mean", None, add=sum_by_adding)
    pending = [w * 1.0, w * 2.0]
    cut_once_read = updater.update_at(2, deque(), [], pending, 2, -1)
    assert calls == [(2, 4.5, 1.5), "step", "zero_grad"]
    assert updater.result.updates == [2] and updater.result.losses == [4.5] and updater.previous == 2
    assert cut_once_read is None                    # next update 4, its cut 1: not h_2


def test_an_update_empties_the_runners_own_lists_and_moves_the_steps_the_next_update_skips():
    """TBPTT(2, 3) at t = 2 of 6: the next update (4) cuts at c = 1, so h_1 leaves the window for `stale`;
    `pending` and `stale` are emptied in place (the runner's own lists, not new ones)."""
    h1, h2 = (mg.tensor([float(i)], requires_grad=True) * 1.0 for i in (1, 2))
    old = mg.tensor([0.0], requires_grad=True) * 1.0
    window = deque([(1, h1), (2, h2)])
    stale, pending = [old], [(h2 * 2.0).sum()]
    updater = Updater(6, 2, 3, None, None, "sum", None, add=sum_by_adding)
    assert updater.update_at(2, window, stale, pending, 1, -1) is None
    assert pending == [] and [t for t, _ in window] == [2] and len(stale) == 1 and stale[0] is h1


def test_an_update_whose_next_cut_is_its_own_step_returns_the_next_update():
    """TBPTT(2, 2) at t = 2 of 6: the next update, 4, cuts at h_2 itself; the runner cuts it once step 3 has
    read it, so update_at returns 4 and leaves h_2 in the window."""
    h2 = mg.tensor([2.0], requires_grad=True) * 1.0
    window = deque([(2, h2)])
    updater = Updater(6, 2, 2, None, None, "sum", None, add=sum_by_adding)
    assert updater.update_at(2, window, [], [(h2 * 1.0).sum()], 1, -1) == 4
    assert [t for t, _ in window] == [2]


def test_an_update_of_constant_losses_reports_their_sum_without_a_backward_pass():
    """Losses without history: L_u is their sum (3.0), nothing is walked, and the states in the window keep no
    earlier gradient (their .grad is cleared)."""
    h = mg.tensor([1.0], requires_grad=True) * 2.0
    h.retain_grad()
    h.sum().backward()                              # an earlier update's gradient on h: [1.]
    assert h.grad is not None
    updater = Updater(4, 2, 2, None, None, "sum", None, add=sum_by_adding)
    updater.update_at(2, deque([(2, h)]), [], [mg.tensor(1.0), mg.tensor(2.0)], 2, -1)
    assert updater.result.losses == [3.0] and isinstance(updater.result, TBPTTResult)
    assert h.grad is None


# ---- 2. cross_entropy: the fast path against the full one --------------------------------------------------------

def numpy_cross_entropy(logits, classes, reduction):
    x = np.asarray(logits, dtype=np.float64)
    shifted = x - x.max(axis=1, keepdims=True)
    losses = np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(x)), np.asarray(classes, dtype=np.int64)]
    return losses.sum() if reduction == "sum" else losses.mean()


def outcome(make, full, monkeypatch):
    """What F.cross_entropy gives for make()'s (logits, target, keywords): value bytes, dtype, shape, the
    logits' gradient and a forward-mode tangent; or the error; with the warnings either way."""
    with monkeypatch.context() as patch:
        if full:
            patch.setattr(classification, "_plain_class_targets", lambda logits, target: None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            logits, target, keywords = make()
            try:
                out = F.cross_entropy(logits, target, **keywords)
            except Exception as error:                  # (compared between the two paths)
                return ("error", type(error), str(error)), [str(w.message) for w in caught]
            grad = tangent = None
            if isinstance(logits, mg.Tensor) and logits.requires_grad:
                out.sum().backward()
                grad = np.array(logits.grad).tobytes()
            if isinstance(logits, mg.Tensor) and logits.dtype.kind == "f" and logits.size:
                v = np.random.default_rng(5).normal(size=logits.shape).astype(logits.dtype)
                _, jv = mg.jvp(lambda z: F.cross_entropy(z, target, **keywords), (mg.tensor(np.array(logits.data)),),
                               (v,))
                tangent = np.array(jv.data).tobytes()
            return ("value", out.dtype, out.shape, np.array(out.data).tobytes(), grad, tangent), \
                [str(w.message) for w in caught]


GRID = list(itertools.product([np.float16, np.float32, np.float64], [np.int8, np.int64, np.uint8, np.uint64],
                              ["array", "tensor", "list"], ["sum", "mean"], [1, 4]))


@pytest.mark.parametrize("dtype, class_dtype, form, reduction, rows", GRID)
def test_the_fast_path_gives_what_the_full_path_gives(dtype, class_dtype, form, reduction, rows, monkeypatch):
    rng = np.random.default_rng(rows)
    x = rng.normal(size=(rows, 5)).astype(dtype)
    classes = rng.integers(0, 5, size=rows).astype(class_dtype)
    target = {"array": classes, "tensor": mg.tensor(classes), "list": classes.tolist()}[form]

    def make():
        return mg.tensor(x, requires_grad=True), target, {"reduction": reduction}
    fast, full = outcome(make, False, monkeypatch), outcome(make, True, monkeypatch)
    assert fast == full
    assert fast[0][0] == "value" and fast[0][1] == dtype and fast[1] == []
    value = np.frombuffer(fast[0][3], dtype=dtype)[0]
    tolerance = {np.float16: 2e-3, np.float32: 1e-6, np.float64: 1e-12}[dtype]
    assert abs(value - numpy_cross_entropy(x, classes, reduction)) <= tolerance * max(1.0, abs(float(value))) * 4
    if form != "list":          # (the fast path takes arrays and tensors: the comparison above is of two paths)
        assert classification._plain_class_targets(mg.tensor(x), target) is not None


SPECIAL = {
    "a target out of range": lambda: (mg.tensor(np.ones((2, 3))), np.array([0, 3]), {}),
    "a negative target": lambda: (mg.tensor(np.ones((2, 3))), np.array([0, -1]), {}),
    "an ignored target": lambda: (mg.tensor(np.ones((2, 3)), requires_grad=True), np.array([0, -100]), {}),
    "ignore_index -1": lambda: (mg.tensor(np.ones((2, 3)), requires_grad=True), np.array([0, -1]),
                                {"ignore_index": -1}),
    "ignore_index 0": lambda: (mg.tensor(np.ones((2, 3)), requires_grad=True), np.array([0, 1]), {"ignore_index": 0}),
    "ignore_index np.int64": lambda: (mg.tensor(np.ones((2, 3))), np.array([0, 1]), {"ignore_index": np.int64(-100)}),
    "ignore_index a bool": lambda: (mg.tensor(np.ones((2, 3))), np.array([0, 1]), {"ignore_index": True}),
    "ignore_index a float": lambda: (mg.tensor(np.ones((2, 3))), np.array([0, 1]), {"ignore_index": -100.0}),
    "an empty batch, mean": lambda: (mg.tensor(np.ones((0, 3)), requires_grad=True), np.zeros(0, np.int64), {}),
    "an empty batch, sum": lambda: (mg.tensor(np.ones((0, 3))), np.zeros(0, np.int64), {"reduction": "sum"}),
    "0-d logits": lambda: (mg.tensor(1.0), np.array(0), {}),
    "1-d logits": lambda: (mg.tensor([1.0, 2.0], requires_grad=True), np.array(1), {}),
    "1-d logits, a tensor target": lambda: (mg.tensor([1.0, 2.0]), mg.tensor(1), {}),
    "3-d logits": lambda: (mg.tensor(np.ones((2, 3, 4)), requires_grad=True), np.zeros((2, 4), int), {}),
    "integer logits": lambda: (mg.tensor([[1, 2]]), np.array([0]), {}),
    "complex logits": lambda: (mg.tensor(np.ones((1, 2), complex)), np.array([0]), {}),
    "bool targets": lambda: (mg.tensor(np.ones((2, 3))), np.array([True, False]), {}),
    "probability targets": lambda: (mg.tensor(np.ones((2, 3))), np.full((2, 3), 1 / 3), {}),
    "targets (2, 1)": lambda: (mg.tensor(np.ones((2, 3))), np.zeros((2, 1), int), {}),
    "targets (3,) for 2 rows": lambda: (mg.tensor(np.ones((2, 3))), np.zeros(3, int), {}),
    "a 0-d target for (1, 3)": lambda: (mg.tensor(np.ones((1, 3))), mg.tensor(1), {}),
    "numpy logits": lambda: (np.ones((2, 3)), np.array([0, 1]), {}),
    "a Parameter as logits": lambda: (nn.Parameter(np.ones((2, 3))), np.array([0, 1]), {}),
    "NaN and inf logits": lambda: (mg.tensor([[np.nan, 1.0], [np.inf, 1.0]]), np.array([0, 1]), {}),
    "reduction none": lambda: (mg.tensor(np.ones((2, 3)), requires_grad=True), np.array([0, 1]), {"reduction": "none"}),
    "a bad reduction": lambda: (mg.tensor(np.ones((2, 3))), np.array([0, 1]), {"reduction": "avg"}),
    "the reduction in weight's place": lambda: (mg.tensor(np.ones((2, 3))), np.array([0, 1]), {"weight": "sum"}),
    "label_smoothing 0 (an int)": lambda: (mg.tensor(np.ones((2, 3))), np.array([0, 1]), {"label_smoothing": 0}),
    "label_smoothing True": lambda: (mg.tensor(np.ones((2, 3))), np.array([0, 1]), {"label_smoothing": True}),
    "size_average=False": lambda: (mg.tensor(np.ones((2, 3))), np.array([0, 1]), {"size_average": False}),
    "transposed logits": lambda: (mg.tensor(np.arange(6.0).reshape(3, 2)).t(), np.array([0, 2]), {}),
    "big-endian targets": lambda: (mg.tensor(np.ones((2, 3))), np.array([0, 2], dtype=">i8"), {}),
    "int8 targets, 300 classes": lambda: (mg.tensor(np.ones((1, 300))), np.array([100], np.int8), {}),
    "uint64 target past int64": lambda: (mg.tensor(np.ones((1, 3))), np.array([2 ** 63 + 1], np.uint64), {}),
}


@pytest.mark.parametrize("name", sorted(SPECIAL))
def test_the_two_paths_agree_on_unusual_calls_errors_and_warnings_included(name, monkeypatch):
    assert outcome(SPECIAL[name], False, monkeypatch) == outcome(SPECIAL[name], True, monkeypatch)


def test_an_empty_batch_averages_to_nan_and_sums_to_zero_as_pytorchs():
    """The mean of no loss is NaN (0/0), the sum 0 (the fast path declines an empty batch)."""
    assert np.isnan(F.cross_entropy(mg.tensor(np.ones((0, 3))), np.zeros(0, np.int64)).item())
    assert F.cross_entropy(mg.tensor(np.ones((0, 3))), np.zeros(0, np.int64), reduction="sum").item() == 0.0


# ---- 3. add, sub, addcmul, addcdiv: PyTorch's reading of each call -----------------------------------------------

T, U, V = np.array([1.0, 2.0], np.float32), np.array([3.0, 4.0], np.float32), np.array([5.0, 6.0], np.float32)

READINGS = [                                  # (the call, its value by hand, whether it is the deprecated form)
    (lambda t, u, v: t.add(u), T + U, False),
    (lambda t, u, v: t.add(other=u), T + U, False),
    (lambda t, u, v: t.add(u, alpha=2), T + 2 * U, False),
    (lambda t, u, v: t.add(alpha=2, other=u), T + 2 * U, False),
    (lambda t, u, v: t.add(0.5, u), T + 0.5 * U, True),
    (lambda t, u, v: t.add(0.5, other=u), T + 0.5 * U, True),
    (lambda t, u, v: t.add(mg.tensor(0.5), other=u), T + 0.5 * U, True),
    (lambda t, u, v: t.sub(0.5, u), T - 0.5 * U, True),
    (lambda t, u, v: t.sub(other=u, alpha=3), T - 3 * U, False),
    (lambda t, u, v: mg.add(t, 0.5, u), T + 0.5 * U, True),
    (lambda t, u, v: mg.add(input=t, other=u, alpha=2), T + 2 * U, False),
    (lambda t, u, v: t.clone().add_(0.5, other=u), T + 0.5 * U, True),
    (lambda t, u, v: t.clone().sub_(other=u), T - U, False),
    (lambda t, u, v: t.addcmul(u, v), T + U * V, False),
    (lambda t, u, v: t.addcmul(u, tensor2=v, value=2), T + 2 * U * V, False),
    (lambda t, u, v: t.addcmul(tensor2=v, tensor1=u), T + U * V, False),
    (lambda t, u, v: t.addcmul(0.5, u, v), T + 0.5 * U * V, True),
    (lambda t, u, v: t.addcmul(0.5, u, tensor2=v), T + 0.5 * U * V, True),
    (lambda t, u, v: t.addcmul(0.5, tensor1=u, tensor2=v), T + 0.5 * U * V, True),
    (lambda t, u, v: mg.addcmul(t, 0.5, u, v), T + 0.5 * U * V, True),
    (lambda t, u, v: t.clone().addcmul_(0.5, u, tensor2=v), T + 0.5 * U * V, True),
    (lambda t, u, v: t.addcdiv(u, tensor2=v, value=-2), T - 2 * U / V, False),
    (lambda t, u, v: t.clone().addcdiv_(-2, tensor1=u, tensor2=v), T - 2 * U / V, True),
]


@pytest.mark.parametrize("index", range(len(READINGS)))
def test_each_form_reads_its_arguments_as_pytorchs_parser(index):
    call, expected, deprecated = READINGS[index]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call(mg.tensor(T), mg.tensor(U), mg.tensor(V))
    np.testing.assert_allclose(result.data, expected, rtol=1e-6)
    assert [w.category for w in caught] == ([UserWarning] if deprecated else [])
    if deprecated:
        assert "is deprecated" in str(caught[0].message) and caught[0].filename == __file__


MISUSES = [                                  # (the call, the error's words)
    (lambda t, u, v: t.addcmul(tensor1=u), r"addcmul\(\) missing 1 required positional argument: 'tensor2'"),
    (lambda t, u, v: t.addcmul(tensor2=v), r"addcmul\(\) missing 1 required positional argument: 'tensor1'"),
    (lambda t, u, v: t.addcmul(), r"addcmul\(\) missing 2 required positional arguments: 'tensor1' and 'tensor2'"),
    (lambda t, u, v: t.clone().addcdiv_(tensor2=v), r"addcdiv_\(\) missing 1 required positional argument: 'tensor1'"),
    (lambda t, u, v: t.clone().addcmul_(tensor1=u, value=2),
     r"addcmul_\(\) missing 1 required positional argument: 'tensor2'"),
    (lambda t, u, v: t.addcmul(u, tensor1=v), r"addcmul\(\) got multiple values for argument 'tensor1'"),
    (lambda t, u, v: t.add(0.5, u, other=v), r"add\(\) got multiple values for argument 'other'"),
    (lambda t, u, v: t.add(), r"add\(\) missing 1 required positional argument: 'other'"),
    (lambda t, u, v: mg.sub(t), r"sub\(\) missing 1 required positional argument: 'other'"),
    (lambda t, u, v: t.add(u, other=v), r"add: expected add\(Tensor other, \*, Number alpha = 1\)"),
    (lambda t, u, v: t.add(0.5, u, alpha=2), r"add: expected .* without alpha="),
    (lambda t, u, v: t.addcmul(u, v, 2), r"addcmul: expected addcmul\(Tensor tensor1, Tensor tensor2"),
]


@pytest.mark.parametrize("index", range(len(MISUSES)))
def test_a_misused_form_is_a_type_error_naming_the_function_and_the_argument(index):
    call, words = MISUSES[index]
    with pytest.raises(TypeError, match=words):
        call(mg.tensor(T), mg.tensor(U), mg.tensor(V))


# ---- 4. Module.train: overrides, shared modules, threads ---------------------------------------------------------

def test_a_train_set_on_the_instance_runs_when_its_parent_switches_as_pytorchs():
    """The frozen-BatchNorm idiom: `bn.eval(); bn.train = lambda _: None`; PyTorch's `model.train()` calls
    `bn.train(True)`, which does nothing, so the norm stays in eval (and its running statistics stay)."""
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    norm = net[1]
    norm.eval()
    norm.train = lambda _: None
    assert net.train() is net and net.training and net[0].training
    assert not norm.training
    net(mg.tensor(np.array([[1.0, 2.0], [3.0, 5.0]], np.float32)))
    assert int(norm.num_batches_tracked) == 0
    np.testing.assert_array_equal(norm.running_mean.data, [0.0, 0.0])


def test_a_shared_module_is_switched_once_per_holder_as_pytorchs_recursion_does():
    """PyTorch calls train on each parent's children, so a module held by two parents runs its train twice."""
    calls = []

    class Counted(nn.Linear):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    shared = Counted(2, 2)
    net = nn.Sequential(shared, nn.Sequential(shared), shared)      # (children() gives `shared` once per parent)
    net.eval()
    assert calls == [False, False] and not shared.training


def test_an_override_without_super_leaves_its_modules_as_they_were():
    """An override that sets only its own flag: PyTorch's walk does not reach the modules below it."""
    class OwnFlagOnly(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Dropout(0.5)

        def train(self, mode=True):
            self.training = mode
            return self

    held = OwnFlagOnly()
    net = nn.Sequential(held)
    net.eval()
    assert not net.training and not held.training and held.inner.training


def test_an_override_holding_its_parent_switches_each_module_once():
    """A module that holds a module holding it: not entered again along the path (PyTorch's recursion fails)."""
    calls = []

    class Counted(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    root = nn.Sequential(nn.Linear(1, 1))
    child = Counted()
    root.add_module("child", child)
    child.add_module("parent", root)
    root.eval()
    assert calls == [False] and not root.training and not child.training and not root[0].training


def test_the_path_of_one_threads_walk_does_not_hide_modules_from_anothers():
    """The holders of the module whose override runs are per thread: another thread's walk, made while an
    override runs here, enters the modules on this thread's path."""
    root = nn.Sequential(nn.Dropout(0.5))
    started, seen = [], []

    class StartsAnotherWalk(nn.Module):
        def train(self, mode=True):
            if not started:                         # (once: the other thread's walk reaches this override too)
                started.append(True)
                outer = nn.Sequential(root)
                worker = threading.Thread(target=lambda: seen.append(outer.eval() is outer and not root.training))
                worker.start()
                worker.join()
            return super().train(mode)

    root.add_module("probe", StartsAnotherWalk())
    root.train()
    assert seen == [True]


def test_the_api_page_says_what_inplace_does_with_a_numpy_array():
    """docs/api.md: the activations' `inplace=True` writes the result into a numpy array given as the input;
    `F.rrelu`'s too. By hand: relu([-1, 2]) = [0, 2], rrelu's eval slope (1/8 + 1/3) / 2 = 11/48."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    assert "writes the result into a numpy array given as the input" in page
    assert "changes nothing, `rrelu_`" not in page
    grad = np.array([-1.0, 2.0])
    F.relu(grad, inplace=True)
    np.testing.assert_array_equal(grad, [0.0, 2.0])
    grad = np.array([-1.0, 2.0])
    F.rrelu(grad, inplace=True)
    np.testing.assert_allclose(grad, [-11 / 48, 2.0], rtol=1e-15)
