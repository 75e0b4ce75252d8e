"""Porting, round 27: truncated BPTT as PyTorch users write it by hand, a walk of `.backward(curr_grad)` calls
from one detached state leaf to the one before it. Each script is written as its author wrote it, with only the
imports changed (`# differs:` marks each other change and why: the module bodies are functions, the sizes and
data are made up, trailing spaces are stripped and three over-long lines wrapped):

1. albanD's `TBPTT` class and demo from the discuss.pytorch.org thread "Implementing Truncated Backpropagation
   Through Time" (t/15500, post 4). The index's pages hold the thread's page 2 and post 22 (the LSTM variant with
   two `backward` calls, the scalar example below, albanD's note that he edited the post to use `j` for one loop),
   not post 4 itself, so the class is not taken from the thread: it is JimXiongGM/TBPTT demo_15500.py (at
   049982ec3bb38de00dab41fd452166423becca03, the only stored version; its README names the thread and records the
   error below), class, `MyMod` (a `Linear(2 L, 2 L)` over `cat([inp, state])`, `narrow` into output and new
   state, `register_hook` prints) and the demo's lines (20 steps, batch 200, L = 50, `MSELoss`, SGD lr 1e-3,
   k1 = 5, k2 = 7). That copy calls the module-level `optimizer` in `train` (the index also holds a copy with
   `self.optimizer`, in a repository its tools do not name); it is ported as it is.
2. The thread's scalar example (page 2): x_t = w x_(t-1), x_0 = 0.9, w = 0.2, one Jacobian dx_t/dw per step for
   a Levenberg-Marquardt optimizer; the poster expects 0.9, 0.36, 0.108 and reports 0.2880 at step 3. The index
   keeps the poster's code only up to `state = states[-1].detach()`, so it is not ported: the numbers are, through
   the class above with k1 = 1, k2 = 3 (over three steps every k2 >= 3 gives the reported 0.2880; the poster's
   own values are in the part not stored).
3. YunYunY/OnlineRNN (all at 061942b4c718ce73a373bb37f7cc2f8a5017fdf0): onlinernn/models/networks.py's
   `SimpleRNN` and `TBPTTRNN` (albanD's walk over `nn.RNN` steps, `state.requires_grad=True`, a readout of each
   for_trunc-th step against the sequence's label, `optimizer.zero_grad()` before the backward), rnn_tbptt.py's
   `TBPTT` (`init_net`, `set_input`, `train`, `test` and `train_subsequence`, the "detach the state every
   subseq_size steps" loop: `self.states = self.states.detach()` per chunk) and rnn_vanilla.py's `set_output`,
   `init_states` and `get_accuracy`. Its TrainOptions defaults (a find_string hit: for_trunc 30 > back_trunc 20)
   are the k1 > k2 regime; the tests run 3 > 2, 3 < 5 and 3 = 3, 4 = 4. BaseModel's `generate_subbatches` and
   main_mnist.py's loop are not among the files read: a few lines stand in for them, and for VanillaRNN's
   constructor. Sequential MNIST is made-up sequences whose label is the sign of their first feature's sum.

Every source was found in the index: none was written from memory. PyTorch is not installed here: the scripts
were not run with it; what PyTorch does is said from its source (pytorch/pytorch
torch/csrc/autograd/python_variable.cpp at e49a848dd68d0f2c5c1a679cdb28694ed74efed6, `THPVariable_set_requires_grad`;
`VariableHooks::requires_grad_`), from the thread (the 0.2880) and from JimXiongGM's README.

What the scripts compute, against docs/tbptt.md's TBPTT(k1, k2):

  - albanD's walk updates after every k1-th step with the loss of that step's output only (TBPTT(k1, k2) injects
    all k1 losses since the last update), sent back through k2 cells: its own and k2 - 1 before it, the cut of the
    definition at u - k2. There is no update for a ragged tail. So with k1 >= k2 it is `mg.bptt.tbptt(k1, k2)`
    with a target at every k1-th step and `None` elsewhere: tested for (5, 5), (5, 3) and (4, 1) with MyMod, and
    (3, 2) with TBPTTRNN, against numpy and against the runner with the script's module as its step.
  - With k1 < k2 (the demo's 5 < 7, `retain_graph=True`) it is not: each step's state is a leaf, and a leaf's
    `.grad` adds up over every pass that reaches it (autograd's rule, PyTorch's too) while `optimizer.zero_grad()`
    clears only the parameters'. The states that two successive walks both reach keep the earlier update's
    gradient, so the later walk's `curr_grad` there holds it and sends it back once more through the cells behind
    them. Every update after the first is TBPTT(k1, k2)'s (with one target per update) plus that stale part:
    tested against numpy both ways (the runner equals numpy with fresh leaves, the scripts equal numpy with leaves
    that add up), and the first update is the same in both. The thread's scalar example is the same effect in
    closed form: at step 3 `curr_grad` is 0.2 + 0.2 * 0.2 = 0.24 where 0.2 is due, and dx_3/dw reads
    0.036 + 0.2 * 0.18 + 0.24 * 0.9 = 0.288, as the thread reports from PyTorch; the runner's TBPTT(1, 3) reads
    0.108 = 3 w^2 x_0.
  - TBPTTRNN is the same walk over `nn.RNN` cells (CE of a readout, the sequence's label at every for_trunc-th
    step); `train_subsequence` with `single_output` (a loss at each chunk's end) is TBPTT(k, k) with a target at
    every k-th step, and gives TBPTTRNN's updates with for_trunc = back_trunc = k, numpy's and the runner's. (With
    `single_output=False`, `get_accuracy` views B * subseq_size predictions as the (B, seq_len) labels: that fails
    in PyTorch too unless subseq_size = seq_len; not run.)

What broke (a gap, fixed):

  G1. `state.requires_grad = True` on a tensor with history that already requires grad is accepted and does
      nothing; PyTorch's setter refuses every non-leaf ("you can only change requires_grad flags of leaf
      variables"), whatever the value. In a hand-written TBPTT loop whose `.detach()` was forgotten (OnlineRNN's
      StepRNN keeps `state = states[-1][1]` with the detaching lines commented out under it) PyTorch stops at the
      second step; here the state was not cut, the walk ran over the whole history and the gradients were silently
      other ones. Now refused as in PyTorch. `requires_grad_(True)` on such a tensor passes in PyTorch (only False
      is refused), as here.

Met and left as documented:

  - With k1 < k2 and an optimizer stepping between the updates (both scripts' configurations with overlap),
    PyTorch stops at the second update: SGD's in-place `p.add_` changed weights the retained graph saved, and the
    walk into the cells recorded before the first step raises "one of the variables needed for gradient
    computation has been modified by an inplace operation" (JimXiongGM's README records it). Here optimizers give
    parameters new arrays, and each walk goes back through the weights its cells ran with (docs/api.md's TBPTT
    rule 5, docs/tbptt.md's rule 5): the runs go on, and the tests check those gradients against numpy that uses
    each step's recorded weights (and that the current weights would give others). docs/pytorch.md does not list
    this difference.
  - Hooks registered on the tensor a `backward(curr_grad)` starts from run (MyMod's prints trace each walk),
    `labels == None` on a tensor is False, and `copy.deepcopy(p.data)` (init_net) copies the numpy array, as
    docs/pytorch.md says `.data` is.

Expected values come from numpy written here in float64 (MyMod's walk, the Elman RNN's and its readout's, SGD),
from closed forms (the scalar example) and from the made-up data (guessing's log 2); never from the library
itself. Comparisons with `mg.bptt.tbptt` are between two library results that both also equal numpy.
"""

import contextlib
import copy
import io
import time
import types

import numpy as np
import pytest

import microgradseq as torch
import microgradseq.nn as nn


# ---- 1. albanD's TBPTT class and demo (discuss.pytorch.org/t/15500/4), as JimXiongGM/TBPTT demo_15500.py keeps it

class TBPTT:
    def __init__(self, one_step_module, loss_module, k1, k2, optimizer):
        self.one_step_module = one_step_module
        self.loss_module = loss_module
        self.k1 = k1
        self.k2 = k2
        self.retain_graph = k1 < k2
        # You can also remove all the optimizer code here, and the
        # train function will just accumulate all the gradients in
        # one_step_module parameters
        self.optimizer = optimizer

    def train(self, input_sequence, init_state):
        states = [(None, init_state)]
        for j, (inp, target) in enumerate(input_sequence):

            state = states[-1][1].detach()
            state.requires_grad = True
            output, new_state = self.one_step_module(inp, state)
            states.append((state, new_state))

            while len(states) > self.k2:
                # Delete stuff that is too old
                del states[0]

            if (j + 1) % self.k1 == 0:
                loss = self.loss_module(output, target)

                optimizer.zero_grad()
                # backprop last module (keep graph only if they ever overlap)
                start = time.time()
                loss.backward(retain_graph=self.retain_graph)
                for i in range(self.k2 - 1):
                    # if we get all the way back to the "init_state", stop
                    if states[-i - 2][0] is None:
                        break
                    curr_grad = states[-i - 1][0].grad
                    states[-i - 2][1].backward(
                        curr_grad, retain_graph=self.retain_graph
                    )
                print("bw: {}".format(time.time() - start))

                # wrong here.
                optimizer.step()


seq_len = 20
layer_size = 50

idx = 0


class MyMod(nn.Module):
    def __init__(self):
        super(MyMod, self).__init__()
        self.lin = nn.Linear(2 * layer_size, 2 * layer_size)

    def forward(self, inp, state):
        global idx
        full_out = self.lin(torch.cat([inp, state], 1))
        # out, new_state = full_out.chunk(2, dim=1)
        out = full_out.narrow(1, 0, layer_size)
        new_state = full_out.narrow(1, layer_size, layer_size)

        def get_pr(idx_val):
            def pr(*args):
                print("doing backward {}".format(idx_val))

            return pr

        new_state.register_hook(get_pr(idx))
        out.register_hook(get_pr(idx))
        print("doing fw {}".format(idx))
        idx += 1
        return out, new_state


# differs: the script binds `optimizer` at module level below the classes; demo_15500 does (TBPTT.train reads it)
optimizer = None


def demo_15500(k1=5, k2=7, lr=1e-3, epochs=1, optimizer_class=torch.optim.SGD, loss_module_class=nn.MSELoss):
    """The script's last lines, as a function (`# differs:` on each change)."""
    global idx, optimizer  # differs: the script's module-level names, which MyMod.forward and TBPTT.train read
    idx = 0  # differs: the counter starts again in each run (the module's starts once)
    one_step_module = MyMod()
    # differs: the initial weights kept for the test
    initial = {name: np.array(p.data, dtype=np.float64) for name, p in one_step_module.named_parameters()}
    loss_module = loss_module_class()  # differs: nn.MSELoss() there; a recording one in some tests
    input_sequence = [(torch.rand(200, layer_size), torch.rand(200, layer_size))] * seq_len

    optimizer = optimizer_class(one_step_module.parameters(), lr=lr)  # differs: torch.optim.SGD(..., lr=1e-3) there

    runner = TBPTT(one_step_module, loss_module, k1, k2, optimizer)  # differs: 5, 7 there (the defaults)

    for _ in range(epochs):  # differs: one pass there (the default)
        runner.train(input_sequence, torch.zeros(200, layer_size))
    print("done")
    # differs: what the tests read
    return types.SimpleNamespace(module=one_step_module, initial=initial, loss_module=loss_module,
                                 pairs=[(np.array(x.data, np.float64), np.array(y.data, np.float64))
                                        for x, y in input_sequence], optimizer=optimizer)


# ---- the tests' instruments: they record, and change nothing the script computes --------------------------------

class RecordingSGD(torch.optim.SGD):
    """SGD that keeps each step's gradients (float64 copies, in `parameters()` order) before stepping."""

    def __init__(self, params, lr):
        params = list(params)
        super().__init__(params, lr=lr)
        self.watched, self.grads = params, []

    def step(self, closure=None):
        self.grads.append([np.array(p.grad, dtype=np.float64) for p in self.watched])
        return super().step(closure)


class RecordingMSELoss(nn.MSELoss):
    def __init__(self):
        super().__init__()
        self.values = []

    def __call__(self, *args):
        loss = super().__call__(*args)
        self.values.append(loss.item())
        return loss


@contextlib.contextmanager
def default_dtype(dtype):
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def quietly(function, *args, **kwargs):
    """Run function with its prints kept: (result, printed lines)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = function(*args, **kwargs)
    return result, out.getvalue().splitlines()


# ---- numpy, float64: what the demo computes ----------------------------------------------------------------------

def np_demo_15500(weight, bias, pairs, k1, k2, lr, stale=True, recorded=True):
    """albanD's train loop over MyMod (full = [inp, state] W^T + b; out, new_state = its halves; MSE of the k1-th
    steps' outputs) and SGD, in numpy. Returns [(dW, db) of each update], [loss of each update].

    stale=True is autograd's: each step's state is a leaf whose .grad adds up over every backward pass that reaches
    it, so when windows overlap (k1 < k2) `curr_grad` read at a later update still holds the earlier update's part.
    stale=False starts every leaf from zero at each update (TBPTT(k1, k2) as docs/tbptt.md defines it, with a
    target only at every k1-th step). recorded=True backpropagates a step through the weights it ran with
    (docs/api.md rule 5); recorded=False through the current ones (what no library computes: a contrast)."""
    L = layer_size
    W, b = weight.copy(), bias.copy()
    h = np.zeros((pairs[0][0].shape[0], L))
    xcat, used, leaf = [], [], {}
    grads, losses = [], []
    for j, (x, y) in enumerate(pairs):
        xc = np.concatenate([x, h], 1)
        full = xc @ W.T + b
        xcat.append(xc)
        used.append(W)
        out, h = full[:, :L], full[:, L:]
        if (j + 1) % k1:
            continue
        if not stale:
            leaf = {}
        gW, gb = np.zeros_like(W), np.zeros_like(b)
        d = 2 * (out - y) / out.size
        losses.append(((out - y) ** 2).mean())
        gW[:L] += d.T @ xc
        gb[:L] += d.sum(0)
        leaf[j] = leaf.get(j, 0) + d @ W[:L, L:]
        for i in range(k2 - 1):
            m = j - i - 1
            if m < 0:                                   # the (None, init_state) entry
                break
            current = leaf[m + 1]
            gW[L:] += current.T @ xcat[m]
            gb[L:] += current.sum(0)
            leaf[m] = leaf.get(m, 0) + current @ (used[m] if recorded else W)[L:, L:]
        grads.append((gW, gb))
        W, b = W - lr * gW, b - lr * gb
    return grads, losses


def runner_grads(module, pairs, k1, k2, lr):
    """mg.bptt.tbptt(k1, k2) over the same steps with MyMod as the step, a target only at every k1-th step, SGD:
    each update's (dW, db), read in on_update (after the backward pass, before the optimizer's step)."""
    params = list(module.parameters())
    grads = []
    inputs = [torch.tensor(x) for x, _ in pairs]
    targets = [torch.tensor(y) if t % k1 == 0 else None for t, (_, y) in enumerate(pairs, 1)]
    quietly(torch.bptt.tbptt, module, torch.zeros(inputs[0].shape[0], layer_size), inputs, targets, nn.MSELoss(),
            k1, k2, optimizer=torch.optim.SGD(params, lr=lr),
            on_update=lambda u, loss: grads.append(tuple(np.array(p.grad, np.float64) for p in params)))
    return grads


def assert_grads_equal(actual, expected, rtol=1e-10, atol=1e-13):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        for x, y in zip(a, e):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


def walk_of(j, k2):
    """The steps whose hooks print "doing backward" at the update after step j: j's output, then the states of
    j - 1, ..., j - k2 + 1 (no further back than step 0)."""
    return [j] + [j - 1 - i for i in range(k2 - 1) if j - 1 - i >= 0]


def test_demo_15500_runs_as_written_and_prints_each_walk():
    torch.manual_seed(0)
    run, lines = quietly(demo_15500)
    assert lines[-1] == "done"
    assert [line for line in lines if line.startswith("doing fw")] == [f"doing fw {i}" for i in range(seq_len)]
    assert sum(line.startswith("bw: ") for line in lines) == seq_len // 5
    backward = [int(line.split()[-1]) for line in lines if line.startswith("doing backward")]
    assert backward == [s for j in range(4, seq_len, 5) for s in walk_of(j, 7)]
    assert backward[:5] == [4, 3, 2, 1, 0] and backward[5:12] == [9, 8, 7, 6, 5, 4, 3]
    assert all(np.isfinite(p.data).all() for p in run.module.parameters())


def test_demo_15500_gradients_are_numpys_with_the_leaf_gradients_adding_up_in_float64():
    """k1 = 5 < k2 = 7, SGD between the updates, as the demo runs: every update's gradient is numpy's with the
    state leaves' .grad adding up over the overlapping walks and each step backpropagated through the weights it
    ran with. (PyTorch stops at the second update: SGD's in-place step changed weights the retained graph saved.)"""
    with default_dtype(np.float64):
        torch.manual_seed(1)
        run, _ = quietly(demo_15500, optimizer_class=RecordingSGD)
    W, b = run.initial["lin.weight"], run.initial["lin.bias"]
    expected, _ = np_demo_15500(W, b, run.pairs, 5, 7, 1e-3)
    assert_grads_equal(run.optimizer.grads, expected)
    fresh, _ = np_demo_15500(W, b, run.pairs, 5, 7, 1e-3, stale=False)
    current, _ = np_demo_15500(W, b, run.pairs, 5, 7, 1e-3, recorded=False)
    assert_grads_equal(run.optimizer.grads[:1], fresh[:1])            # the first update has nothing stale
    for update in range(1, 4):                                          # later ones do, and it shows
        assert not np.allclose(expected[update][0], fresh[update][0], rtol=1e-6, atol=0)
        assert not np.allclose(expected[update][0], current[update][0], rtol=1e-9, atol=0)
    final_W = W - 1e-3 * sum(g for g, _ in expected)
    np.testing.assert_allclose(run.module.lin.weight.data, final_W, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("k1, k2", [(5, 5), (5, 3), (4, 1)])
def test_demo_15500_without_overlap_is_the_runners_tbptt_with_a_target_every_k1_steps(k1, k2):
    """k1 >= k2: no walk reaches a state an earlier walk reached, so nothing is stale, and the demo is
    TBPTT(k1, k2) of docs/tbptt.md with a target at every k1-th step only (the loss at u goes back through k2
    cells: the cut sits at u - k2)."""
    with default_dtype(np.float64):
        torch.manual_seed(2)
        run, _ = quietly(demo_15500, k1=k1, k2=k2, lr=0.05, optimizer_class=RecordingSGD)
        W, b = run.initial["lin.weight"], run.initial["lin.bias"]
        expected, _ = np_demo_15500(W, b, run.pairs, k1, k2, 0.05)
        fresh, _ = np_demo_15500(W, b, run.pairs, k1, k2, 0.05, stale=False)
        assert_grads_equal(expected, fresh, rtol=0, atol=0)
        assert_grads_equal(run.optimizer.grads, expected)
        module = MyMod()
        module.load_state_dict({"lin.weight": torch.tensor(W), "lin.bias": torch.tensor(b)})
        assert_grads_equal(runner_grads(module, run.pairs, k1, k2, 0.05), expected)


def test_demo_15500_with_overlap_is_the_runners_tbptt_plus_the_stale_leaf_gradients():
    """k1 = 5 < k2 = 7: mg.bptt.tbptt's updates are numpy's with fresh leaves (stale=False); the demo's add the
    gradient its earlier walk left on the states both walks reach (steps u - 7 + 1 .. u - 5), sent back once more
    through the cells behind them. The first update is the same in both."""
    with default_dtype(np.float64):
        torch.manual_seed(3)
        run, _ = quietly(demo_15500, optimizer_class=RecordingSGD)
        W, b = run.initial["lin.weight"], run.initial["lin.bias"]
        fresh, _ = np_demo_15500(W, b, run.pairs, 5, 7, 1e-3, stale=False)
        module = MyMod()
        module.load_state_dict({"lin.weight": torch.tensor(W), "lin.bias": torch.tensor(b)})
        runner = runner_grads(module, run.pairs, 5, 7, 1e-3)
    assert_grads_equal(runner, fresh)
    assert_grads_equal(run.optimizer.grads[:1], runner[:1])
    stale, _ = np_demo_15500(W, b, run.pairs, 5, 7, 1e-3)
    assert_grads_equal(run.optimizer.grads, stale)


def test_demo_15500_training_lowers_the_loss():
    torch.manual_seed(4)
    run, _ = quietly(demo_15500, lr=0.05, epochs=25, loss_module_class=RecordingMSELoss)
    losses = np.array(run.loss_module.values).reshape(25, 4)
    assert np.isfinite(losses).all()
    assert losses[-1].mean() < 0.5 * losses[0].mean()
    assert losses[-1].mean() < 1 / 12 + 0.02          # about a uniform target's variance: the mean is learnt


# ---- the thread's scalar example (page 2): x_t = w x_(t-1), x_0 = 0.9, w = 0.2, one Jacobian dx_t/dw a step ------

class Scale(nn.Module):
    """The thread's one_step_module: no input, new state = w * state, output = the new state."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w, dtype=torch.float64))

    def forward(self, inp, state):
        new_state = self.w * state
        return new_state, new_state


class Jacobians:
    """The poster's optimizer stand-in: zero_grad forgets w.grad, step keeps it (dx_t/dw) and changes nothing."""

    def __init__(self, module):
        self.module, self.rows = module, []

    def zero_grad(self):
        self.module.w.grad = None

    def step(self):
        self.rows.append(float(self.module.w.grad))


def test_the_threads_scalar_example_reads_0_288_at_step_3_as_pytorch_does():
    """k1 = 1, k2 = 3, loss = x_t. The true Jacobians are 0.9, 2 w x0 = 0.36 and 3 w^2 x0 = 0.108; at step 3 the
    class reads 0.288, the number the thread reports from PyTorch: x_2's leaf kept 0.2 from step 2's walk, so
    curr_grad there is 0.2 + 0.2 * 0.2 = 0.24 and 0.036 + 0.2 * 0.18 + 0.24 * 0.9 = 0.288."""
    global optimizer
    module = Scale(0.2)
    optimizer = jacobians = Jacobians(module)
    runner = TBPTT(module, lambda output, target: output, 1, 3, optimizer)
    quietly(runner.train, [(None, None)] * 3, torch.tensor(0.9, dtype=torch.float64))
    np.testing.assert_allclose(jacobians.rows, [0.9, 0.36, 0.036 + 0.2 * 0.18 + (0.2 + 0.2 * 0.2) * 0.9], rtol=1e-14)
    np.testing.assert_allclose(jacobians.rows[2], 0.288, rtol=1e-14)


def test_the_threads_scalar_example_through_the_runner_gives_the_true_jacobians():
    """mg.bptt.tbptt(k1=1, k2=3) without an optimizer, w.grad read and cleared at each update: 0.9, 0.36, 0.108."""
    module = Scale(0.2)
    rows = []

    def on_update(u, loss):
        rows.append(float(module.w.grad))
        module.w.grad = None

    torch.bptt.tbptt(module, torch.tensor(0.9, dtype=torch.float64), [None] * 3, [0.0] * 3,
                     lambda output, target: output, 1, 3, on_update=on_update)
    np.testing.assert_allclose(rows, [0.9, 2 * 0.2 * 0.9, 3 * 0.2 ** 2 * 0.9], rtol=1e-14)


# ---- 2. YunYunY/OnlineRNN: TBPTTRNN (albanD's walk over nn.RNN) and the chunked "detach every k steps" loop --------
# differs: networks.py's imports of math, numpy, copy, Variable, F and lr_scheduler serve the classes and functions
# not ported here (ERNNCell, IRNN_model, get_scheduler); its `import torch`, `torch.nn` are this file's

# -------------------------------------------------------
# Basic RNN structure
# -------------------------------------------------------

class SimpleRNN(nn.Module):
    def __init__(self, opt):
        super(SimpleRNN, self).__init__()
        self.opt = opt
        self.hidden_size = opt.hidden_size
        self.input_size = opt.feature_shape
        self.output_size = opt.n_class
        self.seq_len = opt.seq_len
        if self.opt.LSTM:
            self.basic_rnn = nn.LSTM(self.input_size, self.hidden_size)
        else:
            self.basic_rnn = nn.RNN(self.input_size, self.hidden_size)

        self.bn = nn.BatchNorm1d(self.hidden_size)

        if opt.predic_task in ['Binary', 'Logits']:
            self.FC = nn.Linear(self.hidden_size, 1)
        else:
            self.FC = nn.Linear(self.hidden_size, self.output_size)


    def last_layer(self):
        if self.opt.predic_task == 'Binary':
            # To make model structure identity with paper iRNN
            #     output: (seq_len, batch, hidden_size)
            #     state: (num_layers, batch, hidden_size)

            # BN layer
            # self.hidden_final = self.hidden_final.permute(1, 2, 0)
            # self.hidden_final = self.bn(self.hidden_final)
            # self.hidden_final = self.hidden_final.permute(2, 0, 1)

            out = torch.sigmoid(self.FC(self.hidden_final))
            return out.view(-1), self.hidden_final

        elif self.opt.predic_task == 'Logits':
            out = self.FC(self.out[-1])
            # out = torch.tanh(self.FC(self.out[-1]))
            return out.view(-1), self.hidden_final
        else:
            if self.opt.single_output:
                out = self.out[-1]
                out = self.FC(out)
                # out batch_size X n_output
                return out.view(-1, self.output_size), self.hidden_final
            else:
                out = self.out.permute(1, 0, 2)
                out = self.FC(out)

                return out.reshape(-1, self.output_size), self.hidden_final


    def forward(self, X, hidden):
        # transforms X to dimensions: n_steps X batch_size X n_inputs
        X = X.permute(1, 0, 2)
        hidden = hidden.permute(1, 0, 2)

        # self.basic input:
        #     x: (seq_len, batch, input_size)
        #     state: (num_layers, batch, hidden_size)
        # self.basic output
        #     output: (seq_len, batch, hidden_size)
        #     state: (num_layers, batch, hidden_size)
        # self.out, self.hidden_final = self.lstm(X)
        if self.opt.LSTM:
            self.out, (self.hidden_final, _) = self.basic_rnn(X)
        else:
            self.out, self.hidden_final = self.basic_rnn(X, hidden)

        return self.last_layer()


# -------------------------------------------------------
# TBPTTRNN
# -------------------------------------------------------

class TBPTTRNN(SimpleRNN):
    def __init__(self, opt):
        super(TBPTTRNN, self).__init__(opt)
        self.T1 = opt.for_trunc
        self.T2 = opt.back_trunc
        self.retain_graph = self.T1 < self.T2

    def forward(self, X, hidden, optimizer=None, total_batches=None, criterion=None, labels=None):
        """
        Args:
            X: Input Sequential data
            hidden: Initialized hidden layer
        """
        losses = 0
        nloss = 0
        batch_size = X.shape[0]
        seq_len = X.shape[1]
        # transforms X to dimensions: x: (seq_len, batch, input_size)
        X = X.permute(1, 0, 2)
        hidden = hidden.permute(1, 0, 2)
        states = [(None, hidden)] # save previous and current hidden pairs

        if labels == None: # model test
            for i in range(seq_len):
                inp = X[i].clone().view(1, batch_size, self.input_size)
                state = states[-1][1].detach()
                state.requires_grad=True
                output, new_state = self.basic_rnn(inp, state)
                states.append((state, new_state))
                while len(states) > 2:
                        # Delete stuff that is too old
                        del states[0]
            self.out, self.hidden_final = output, new_state
            # output = output[-1]
            # output = self.FC(output)
            return self.last_layer()
            # return output.view(-1, self.output_size), states

        # differs: the next two lines and `initial` below are commented out: unused there too (pyflakes)
        # last_iter = (total_batches-1)%self.opt.iterT == (self.opt.iterT-1) # if this is the last step of inner loop
        # first_iter = (total_batches-1)%self.opt.iterT == 0 # if this is the first iter of inner loop

        # every T1 steps backpropagate taking T2 back steps
        for j in range(seq_len):
            inp = X[j].clone().view(1, batch_size, self.input_size)
            state = states[-1][1].detach()
            state.requires_grad=True

            output, new_state = self.basic_rnn(inp, state)
            states.append((state, new_state))
            # output = output[-1]
            # output = self.FC(output)
            self.out, self.hidden_final = output, new_state

            output, _ =  self.last_layer()

            '''
            # check the gradient calculation step
            def get_pr(idx_val):
                    def pr(*args):
                        print("doing backward {}".format(idx_val))
                    return pr
            new_state.register_hook(get_pr(j))
            output.register_hook(get_pr(j))
            print("doing fw {}".format(j))
            '''

            while len(states) > self.T2:
                    # Delete stuff that is too old
                    del states[0]
            if (j+1)% self.T1 == 0: # start backward after T1 forward steps
                # FGSM flag, first batch in inner loop and first
                # initial = first_iter and j+1 == self.T1
                optimizer.zero_grad()
                # output.view(-1, self.output_size)
                loss = criterion(output, labels)
                losses += loss.item()
                nloss += 1
                # backprop last module (keep graph only if they ever overlap)
                loss.backward(retain_graph=self.retain_graph)
                for i in range(self.T2-1):
                    # if we get all the way back to the "init_state", stop
                    if states[-i-2][0] is None:
                        break
                    curr_grad = states[-i-1][0].grad
                    states[-i-2][1].backward(curr_grad, retain_graph=self.retain_graph)

                if 'FGSM' in self.opt.optimizer:
                    if self.opt.iterB > 0:
                        optimizer.step(total_batches, sign_option=True)
                    else:
                        optimizer.step(total_batches)
                else:
                    optimizer.step()

        # out batch_size X n_output
        return output, losses/nloss


class VanillaRNN:
    """A stand-in for onlinernn's VanillaRNN(BaseModel) as far as TBPTT uses it: the options it copies, the
    CrossEntropy criterion (its loss_method for 'Softmax'), and rnn_vanilla.py's own set_output, init_states and
    get_accuracy (as written there). BaseModel's generate_subbatches is not among the files read: here it is the
    i-th chunk of `size` steps, with the sequence's labels (single_output)."""

    def __init__(self, opt):
        self.opt, self.device, self.istrain = opt, opt.device, opt.istrain
        self.seq_len, self.input_size, self.hidden_size = opt.seq_len, opt.feature_shape, opt.hidden_size
        self.num_layers, self.T, self.total_batches = 1, opt.iterT, 0
        self.criterion = nn.CrossEntropyLoss()

    def generate_subbatches(self, i, size):
        return self.inputs[:, i * size:(i + 1) * size], self.labels

    def set_output(self):
        # initialize values at the beginning of each epoch
        self.losses = []
        self.reg1 = 0
        self.reg2 = 0
        self.train_acc = []

    def init_states(self):


        if self.opt.predic_task in ['Logits']:
            self.states = torch.FloatTensor(self.batch_size, self.num_layers, self.hidden_size).uniform_(
                -self.init_state_C, self.init_state_C).to(self.device)  # differs: wrapped at 120 columns
        else:
            self.states = torch.zeros((self.batch_size, self.num_layers, self.hidden_size)).to(self.device)

    def get_accuracy(self, logit, target, batch_size):
        """
        Obtain accuracy
        """
        # y_pred_tag = torch.round(torch.sigmoid(logit))
        # corrects = (y_pred_tag.data == target.data).sum().float()
        # accuracy = 100.0 * corrects/batch_size
        if self.opt.predic_task == 'Binary':
            pred = logit >= 0.5
            truth = target >= 0.5
            accuracy = 100.* pred.eq(truth).sum()/batch_size


        elif self.opt.predic_task in['Logits', 'CM' ]:
            try:
                accuracy = self.loss.detach()
            except:
                accuracy = self.loss
                return accuracy
        else:
            corrects = (torch.max(logit, 1)[1].view(target.size()).data == target.data).sum()
            accuracy = 100.0 * corrects/batch_size

        return accuracy.item()


# -------------------------------------------------------
# Truncated BPTT
# -------------------------------------------------------
class TBPTT_OnlineRNN(VanillaRNN):  # differs: TBPTT there (onlinernn/models/rnn_tbptt.py): albanD's class has the name
    def __init__(self, opt):
        super(TBPTT_OnlineRNN, self).__init__(opt)  # differs: the class's name, as above

    def init_net(self):
        """
        Initialize model
        """
        if self.opt.subsequene:
            self.rnn_model = SimpleRNN(self.opt).to(self.device)
        else:
            self.rnn_model = TBPTTRNN(self.opt).to(self.device)
        # explicitly state the intent
        if self.istrain:
            self.rnn_model.train()
        else:
            self.rnn_model.eval()

        if (self.device.type == "cuda") and (self.opt.ngpu > 1):

            self.rnn_model = nn.DataParallel(self.rnn_model, list(range(self.opt.ngpu)))
        # get the initial W and U
        self.old_weights_ih = copy.deepcopy(self.rnn_model.basic_rnn.weight_ih_l0.data)
        self.old_weights_hh = copy.deepcopy(self.rnn_model.basic_rnn.weight_hh_l0.data)

    def set_input(self):
        self.inputs, self.labels = self.data

        self.inputs = self.inputs.view(-1, self.seq_len, self.input_size).to(self.device)
        self.batch_size = self.labels.shape[0]  # update batch
        if self.opt.single_output:
            self.labels = self.labels.view(-1).to(self.device)
        else:
            self.labels = self.labels.to(self.device)
        if self.opt.predic_task in ['Binary', 'Logits']:
            self.labels = self.labels.float()

    def train_subsequence(self):
        """
        Reference: https://patrykchrabaszcz.github.io/when-truncated-bptt-fails/
        """
        losses = []
        nchunks = self.seq_len // self.opt.subseq_size

        for i in range(nchunks):

            sub_inputs, sub_labels = self.generate_subbatches(i, size=self.opt.subseq_size)
            if not self.opt.single_output:
                sub_labels = sub_labels.reshape(-1)
            self.optimizer.zero_grad()
            self.states = self.states.detach()
            outputs, self.states = self.rnn_model(sub_inputs, self.states)

            self.states = self.states.view(-1, self.num_layers, self.hidden_size)

            loss = self.criterion(outputs, sub_labels)
            loss.backward()
            losses.append(loss.detach().item())
            if 'FGSM' in self.opt.optimizer:

                tbptt_first_iter = self.first_iter and i==0 # first iterT and first chunk in tbptt
                tbptt_last_iter = self.last_iter and i==nchunks-1 # last iterT and last chunk in tbptt
                # tbptt_first_iter = True
                # tbptt_last_iter = True
                self.optimizer.step(self.total_batches, tbptt_first_iter, tbptt_last_iter)
            else:
                self.optimizer.step()
        # self.loss = sum(losses)/len(losses)
        self.loss = loss.detach().item()

        self.outputs = outputs

    def train(self):
        """Calculate losses, gradients, and update network weights; called in every training iteration"""

        self.first_iter = (self.total_batches-1)%self.T == 0 # if this is the first iter of inner loop
        self.last_iter = (self.total_batches-1)%self.T == (self.T-1) # if this is the last step of inner loop
        self.init_states()
        if self.opt.subsequene:
            self.train_subsequence()
        else:
            self.outputs, self.loss = self.rnn_model(self.inputs, self.states, self.optimizer,
                                                     self.total_batches, self.criterion, self.labels)  # differs: wrap

        if self.last_iter:
            # After last iterT, track Delta w, loss and acc
            # self.track_grad_flow(self.rnn_model.named_parameters())
            self.losses.append(self.loss)
            self.train_acc.append(self.get_accuracy(self.outputs, self.labels, self.batch_size))

    # ----------------------------------------------
    def test(self):
        with torch.no_grad():
            self.init_states()
            outputs, _ = self.rnn_model(self.inputs, self.states)
            outputs = outputs.to(self.device).detach()
            self.test_acc.append(self.get_accuracy(outputs, self.labels, self.batch_size))


def made_up_sequences(count, seq_len=12, features=2, seed=0):
    """Sequences of normal draws; the label says whether the first feature's sum over the sequence is positive
    (each step adds evidence: a loss at every T1-th step against the sequence's label, as TBPTTRNN has it)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, seq_len, features))
    return x, (x[:, :, 0].sum(1) > 0).astype(np.int64)


def online_rnn_options(**changes):
    """What opt holds for these runs (onlinernn's TrainOptions has many more; these are the ones read)."""
    opt = types.SimpleNamespace(hidden_size=8, feature_shape=2, n_class=2, seq_len=12, LSTM=False,
                                predic_task="Softmax", single_output=True, for_trunc=3, back_trunc=2, iterT=1,
                                iterB=0, optimizer="SGD", subsequene=False, subseq_size=4, device=torch.device("cpu"),
                                istrain=True, ngpu=0)
    for key, value in changes.items():
        setattr(opt, key, value)
    return opt


def train_online_rnn(opt, batches, lr=0.1, epochs=1, seed=0, optimizer_class=torch.optim.SGD):
    """main_mnist.py's loop as far as it drives TBPTT (not among the files read): init_net, an optimizer, then per
    batch data, set_input, total_batches, train; losses kept per epoch by set_output."""
    torch.manual_seed(seed)
    model = TBPTT_OnlineRNN(opt)
    model.init_net()
    model.optimizer = optimizer_class(model.rnn_model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        model.set_output()
        for x, y in batches:
            model.data = (torch.tensor(x), torch.tensor(y))
            model.set_input()
            model.total_batches += 1
            model.train()
        history.append((np.mean(model.losses), np.mean(model.train_acc)))
    return model, history


# ---- numpy, float64: TBPTTRNN's walk and the chunked loop over an Elman RNN with a linear readout ----------------

def np_softmax_ce(logits, labels):
    z = logits - logits.max(1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    n = len(labels)
    d = p.copy()
    d[np.arange(n), labels] -= 1
    return -np.log(p[np.arange(n), labels]).mean(), d / n


NAMES = ["basic_rnn.weight_ih_l0", "basic_rnn.weight_hh_l0", "basic_rnn.bias_ih_l0", "basic_rnn.bias_hh_l0",
         "FC.weight", "FC.bias"]


def np_tbpttrnn(params, x, labels, T1, T2, lr, stale=True):
    """TBPTTRNN.forward's training loop in numpy: at every T1-th step, CE of the readout of that step's state
    against the sequence's label, backpropagated through that step's cell, then `curr_grad` walked back through up
    to T2 - 1 earlier cells; state leaves' gradients add up across walks (stale=True, autograd's) or start from zero
    each update (stale=False). Each cell goes back through the weights it ran with. SGD after each update.
    Returns [gradients of each update, in NAMES order], [losses], final params."""
    P = {k: v.copy() for k, v in params.items()}
    h = np.zeros((x.shape[0], P["basic_rnn.weight_hh_l0"].shape[0]))
    cells, leaf, grads, losses = [], {}, [], []

    def cell_back(m, dh, G):
        x_m, h_prev, h_new, W_hh = cells[m]
        da = dh * (1 - h_new ** 2)
        G["basic_rnn.weight_ih_l0"] += da.T @ x_m
        G["basic_rnn.weight_hh_l0"] += da.T @ h_prev
        G["basic_rnn.bias_ih_l0"] += da.sum(0)
        G["basic_rnn.bias_hh_l0"] += da.sum(0)
        return da @ W_hh

    for j in range(x.shape[1]):
        h_new = np.tanh(x[:, j] @ P["basic_rnn.weight_ih_l0"].T + P["basic_rnn.bias_ih_l0"]
                        + h @ P["basic_rnn.weight_hh_l0"].T + P["basic_rnn.bias_hh_l0"])
        cells.append((x[:, j], h, h_new, P["basic_rnn.weight_hh_l0"]))
        h = h_new
        if (j + 1) % T1:
            continue
        if not stale:
            leaf = {}
        G = {k: np.zeros_like(v) for k, v in P.items()}
        loss, d = np_softmax_ce(h_new @ P["FC.weight"].T + P["FC.bias"], labels)
        losses.append(loss)
        G["FC.weight"] += d.T @ h_new
        G["FC.bias"] += d.sum(0)
        leaf[j] = leaf.get(j, 0) + cell_back(j, d @ P["FC.weight"], G)
        for i in range(T2 - 1):
            m = j - i - 1
            if m < 0:
                break
            leaf[m] = leaf.get(m, 0) + cell_back(m, leaf[m + 1], G)
        grads.append([G[k] for k in NAMES])
        P = {k: v - lr * G[k] for k, v in P.items()}
    return grads, losses, P


def start_params(seed, opt):
    torch.manual_seed(seed)
    return {k: np.array(v.data, np.float64) for k, v in TBPTTRNN(opt).named_parameters()}


def recorded_grads(opt, x, y, lr, seed):
    """One batch through train_online_rnn with a recording SGD: each update's gradients in NAMES order (the
    unused BatchNorm1d's parameters, which get none, left out)."""
    model, _ = train_online_rnn(opt, [(x, y)], lr=lr, seed=seed, optimizer_class=RecordingSGD)
    names = [name for name, _ in model.rnn_model.named_parameters()]
    assert all(np.isnan(step[names.index(n)]).all() for step in model.optimizer.grads for n in ("bn.weight", "bn.bias"))
    return model, [[step[names.index(n)] for n in NAMES] for step in model.optimizer.grads]


def test_tbpttrnn_runs_as_written_and_learns_the_sign_of_the_sum():
    x, y = made_up_sequences(256, seed=5)
    batches = [(x[i:i + 32].astype(np.float32), y[i:i + 32]) for i in range(0, 256, 32)]
    model, history = train_online_rnn(online_rnn_options(), batches, lr=0.2, epochs=10, seed=5)
    assert history[-1][0] < 0.8 * history[0][0]
    assert history[-1][0] < 0.55                   # below guessing's log 2 = 0.69 averaged over the early steps too
    assert history[-1][1] > 80                      # get_accuracy at the last step (the whole sum seen)
    assert isinstance(model.old_weights_hh, np.ndarray)
    logits, hidden = model.rnn_model(torch.tensor(x.astype(np.float32)), torch.zeros((256, 1, 8)))
    assert logits.shape == (256, 2) and hidden.shape == (1, 256, 8)   # the test path: labels == None
    assert (np.argmax(logits.detach().numpy(), 1) == y).mean() > 0.75      # the final weights, every sequence


def test_tbpttrnn_gradients_are_numpys_with_the_leaf_gradients_adding_up_in_float64():
    """T1 = 3 < T2 = 5 (retain_graph): every update is numpy's with stale leaf gradients; from the second update
    on that is not TBPTT(3, 5), whose updates are numpy's with fresh leaves and are mg.bptt.tbptt's."""
    x, y = made_up_sequences(16, seed=6)
    opt = online_rnn_options(back_trunc=5)
    with default_dtype(np.float64):
        start = start_params(7, opt)
        model, grads = recorded_grads(opt, x, y, 0.3, 7)
        expected, _, final = np_tbpttrnn(start, x, y, 3, 5, 0.3)
        assert_grads_equal(grads, expected)
        for name, p in model.rnn_model.named_parameters():
            np.testing.assert_allclose(p.data, final[name], rtol=1e-10, atol=1e-13)
        fresh, _, _ = np_tbpttrnn(start, x, y, 3, 5, 0.3, stale=False)
        assert_grads_equal(grads[:1], fresh[:1])
        assert not np.allclose(grads[2][1], fresh[2][1], rtol=1e-6, atol=0)
        assert_grads_equal(runner_rnn_grads(start, opt, x, y, 3, 5, 0.3), fresh)


def test_tbpttrnn_with_the_repositorys_t1_above_t2_is_the_runners_tbptt_in_float64():
    """for_trunc > back_trunc, as TrainOptions' defaults (30 > 20), here 3 > 2: no overlap, nothing stale, no
    retained graph: TBPTT(3, 2) with the label as the target at every third step, numpy's and mg.bptt.tbptt's."""
    x, y = made_up_sequences(16, seed=11)
    opt = online_rnn_options()
    with default_dtype(np.float64):
        start = start_params(12, opt)
        _, grads = recorded_grads(opt, x, y, 0.3, 12)
        expected, _, _ = np_tbpttrnn(start, x, y, 3, 2, 0.3)
        fresh, _, _ = np_tbpttrnn(start, x, y, 3, 2, 0.3, stale=False)
        assert_grads_equal(expected, fresh, rtol=0, atol=0)
        assert_grads_equal(grads, expected)
        assert_grads_equal(runner_rnn_grads(start, opt, x, y, 3, 2, 0.3), expected)


def runner_rnn_grads(start, opt, x, y, k1, k2, lr):
    """mg.bptt.tbptt(k1, k2) with TBPTTRNN's cell and readout as the step, the label as the target at every k1-th
    step (None elsewhere), SGD: each update's gradients in NAMES order."""
    model = TBPTTRNN(opt)
    model.load_state_dict({k: torch.tensor(v) for k, v in start.items()}, strict=False)  # bn has buffers too
    params = dict(model.named_parameters())
    grads = []

    def step(inp, state):
        output, new_state = model.basic_rnn(inp, state)
        return model.FC(output[-1]), new_state

    inputs = [torch.tensor(x[:, j][None]) for j in range(x.shape[1])]
    targets = [torch.tensor(y) if t % k1 == 0 else None for t in range(1, x.shape[1] + 1)]
    torch.bptt.tbptt(step, torch.zeros((1, x.shape[0], opt.hidden_size)), inputs, targets, nn.CrossEntropyLoss(),
                     k1, k2, optimizer=torch.optim.SGD(model.parameters(), lr=lr),
                     on_update=lambda u, loss: grads.append([np.array(params[k].grad, np.float64) for k in NAMES]))
    return grads


@pytest.mark.parametrize("k", [3, 4])
def test_chunked_loop_is_tbpttrnn_with_t1_equal_t2_and_the_runners_tbptt_k_k(k):
    """train_subsequence (detach the state, run a chunk of k steps, CE of the chunk's last output, step) and
    TBPTTRNN with T1 = T2 = k are the same updates; with the loss at each chunk's end only, both are TBPTT(k, k)
    with a target every k steps: numpy's, and mg.bptt.tbptt's."""
    x, y = made_up_sequences(16, seed=8)
    with default_dtype(np.float64):
        start = start_params(9, online_rnn_options())
        walk_opt = online_rnn_options(for_trunc=k, back_trunc=k)
        _, walked = recorded_grads(walk_opt, x, y, 0.3, 9)
        chunk_opt = online_rnn_options(subsequene=True, subseq_size=k)
        model, chunked = recorded_grads(chunk_opt, x, y, 0.3, 9)
        expected, losses, _ = np_tbpttrnn(start, x, y, k, k, 0.3)
        assert_grads_equal(walked, expected)
        assert_grads_equal(chunked, expected)
        np.testing.assert_allclose(model.loss, losses[-1], rtol=1e-12)
        assert_grads_equal(runner_rnn_grads(start, walk_opt, x, y, k, k, 0.3), expected)


def test_chunked_loop_learns():
    x, y = made_up_sequences(256, seed=10)
    batches = [(x[i:i + 32].astype(np.float32), y[i:i + 32]) for i in range(0, 256, 32)]
    _, history = train_online_rnn(online_rnn_options(subsequene=True), batches, lr=0.5, epochs=6, seed=10)
    assert history[-1][0] < 0.6 * history[0][0]
    assert history[-1][1] > 85


# ---- G1: `state.requires_grad = True` on a state that was not detached ------------------------------------------

class ForgotTheDetach(TBPTT):
    """albanD's train loop with the `.detach()` left out of `state = states[-1][1].detach()` (StepRNN in
    OnlineRNN's networks.py keeps `state = states[-1][1]` with the detaching lines commented out below it)."""

    def train(self, input_sequence, init_state):
        states = [(None, init_state)]
        for j, (inp, target) in enumerate(input_sequence):
            state = states[-1][1]
            state.requires_grad = True
            output, new_state = self.one_step_module(inp, state)
            states.append((state, new_state))


def test_setting_requires_grad_on_a_state_with_history_raises_as_in_pytorch():
    module = Scale(0.2)
    runner = ForgotTheDetach(module, lambda output, target: output, 1, 3, None)
    with pytest.raises(RuntimeError, match="leaf"):
        runner.train([(None, None)] * 3, torch.tensor(0.9, dtype=torch.float64))   # the second step's state


def test_requires_grad_method_on_a_result_that_requires_grad_is_a_no_op_as_in_pytorch():
    """PyTorch's `requires_grad_(True)` on a non-leaf passes (only False is refused), as here; the attribute setter
    with False is refused in both (and with True: the gap G1 above, fixed)."""
    w = nn.Parameter(torch.tensor(0.2, dtype=torch.float64))
    h = w * torch.tensor(0.9, dtype=torch.float64)
    assert h.requires_grad_() is h and h.requires_grad and not h.is_leaf
    with pytest.raises(RuntimeError, match="leaf"):
        h.requires_grad = False
    with pytest.raises(RuntimeError, match="leaf"):
        h.requires_grad_(False)
    leaf = h.detach()
    leaf.requires_grad = True                       # the TBPTT idiom: a detached state becomes a leaf
    assert leaf.is_leaf and leaf.requires_grad
