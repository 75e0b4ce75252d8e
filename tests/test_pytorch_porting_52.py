"""Porting, round 52: THE MISTAKES PEOPLE MAKE with recurrent networks, from public threads (issues, a Q&A copy, the
FAQ) where someone's RNN/LSTM/GRU code failed or gave wrong numbers and an answer explained the fix. For each: the
poster's code as posted (imports changed to `import microgradseq as torch`; sizes smaller and data made up;
`# differs:` marks every other change), what the library does against what PyTorch does, then the answer's fix,
checked against numpy or central differences in float64. Round 27 ported hand-written TBPTT walks; not repeated.

1. MorvanZhou/PyTorch-Tutorial issue #57 (https://github.com/MorvanZhou/PyTorch-Tutorial/issues/57): 403_RNN_regressor
   with `h_state = h_state.data` commented out; "Trying to backward through the graph a second time", "solved" by
   `loss.backward(retain_graph=True)`. tutorial-contents/403_RNN_regressor.py at
   4e5122c3734dcdc9ace164c2a87fbd412ca1d431 (`RNN`, the loop; the plotting dropped).
2. vikrant7/mobile-vod-bottleneck-lstm issue #25 (https://github.com/vikrant7/mobile-vod-bottleneck-lstm/issues/25):
   "modified by an inplace operation"; hebangwen's answer: the state is detached per video, not per frame, so move
   `net.detach_hidden()` into the frame loop. train_mvod_lstm5.py at 30b793e728515f0b33a3ef446cb19f78c5f5c2de,
   `train` (tabs as spaces); the MobileNet-SSD net and MultiboxLoss are stand-ins of the interface `train` uses.
3. Eurus-Holmes/MNMT issues #6 ("RuntimeError: Can't detach views in-place. Use detach() instead"; the answer:
   "Just follow it") and #7 (then "Trying to backward through the graph a second time"; the answer: retain_graph=True).
   onmt/Models.py at e8e1f7f897841fea2e8cc3254515dc036cc735e8: `DecoderState` (its `detach` as stored, `h.detach()`
   with the result dropped) and `RNNDecoderState`; onmt/TrainerMultimodal.py (same commit) was read for the
   truncated loop (`dec_state.detach()` after each chunk), which the tests write out around a stand-in decoder.
4. pytorch/pytorch issue #45437 ("passing hidden state to an LSTM removes the first dimension and causes an error":
   one tensor given as an LSTM's state); the fix as soumith answers pytorch/tutorials issue #416: the pair (h0, c0).
5. pytorch/pytorch issue #19675 (batch_first "does not produce outputs with the batch as the first dimension" for
   h_n; zou3519: "This isn't a bug"; SsnL: no notion of seq for hidden states).
6. closeheat/pytorch-lstm-text-generation-tutorial issue #3 (batch_first left False: "doesn't cause a runtime error,
   the network is confusing the sequence length for the batch size"). model.py at
   dc2fafa1e2211e0985ae40445c22c0068d1157cd, dataset.py at 6edb05b65141106de71fc49dbc8fc6df1fd4c013, train.py at
   137885335df4910eff9f82d037c1b0aae6e6edfb (the loop; `predict` not ported); the jokes csv is a made-up sentence.
7. pytorch/pytorch issue #8026 ("lengths array has to be sorted in decreasing order"; SsnL: sort before packing). The
   poster's files are attachments the index does not hold: the call is the traceback's. Today's message: aten/src/
   ATen/native/PackedSequence.cpp (stored at 1a6a140506ab0cb8bad39d5d3d44272f086e01bc).
8. "How to compute Cross Entropy Loss for sequences", a StackOverflow question stored as whosebug.com's copy
   (https://whosebug.com/question/6539086/How-to-compute-Cross-Entropy-Loss-for-sequences): (batch, seq, classes)
   logits; the answer: `input.permute(0, 2, 1)`. PyTorch's check: aten/src/ATen/native/LossNLL.cpp (stored at
   87dd4af9e9b6ec5a5b90938587029c677a35746d), "Expected target size ..." by TORCH_CHECK (RuntimeError).
9. PyTorch's FAQ (http://pytorch.org/docs/master/notes/faq.html), "Don't accumulate history across your training
   loop": `total_loss += loss[0]`; the fix, a Python number. The 0-d index error: aten/src/ATen/TensorIndexing.h
   (stored at 6cd18d9363cee02da9b18e37734eec9133b49082), IndexError "invalid index of a 0-dim tensor. Use
   tensor.item() ...". The FAQ's `model` and `criterion` are not shown: a GRU and a mean square stand in.
10. pytorch/pytorch issue #165621 (nn.RNN's docstring loop "doesn't work with backward", its script) and pull request
   #142303 (the older docstring loop: `output.append(h_t[-1])` keeps views that later steps overwrite, so "the output
   contains repeated instances of the last state"); the fix of #173888 builds lists and stacks them.

PyTorch's `detach_`: torch/csrc/autograd/VariableTypeManual.cpp at 00a1abb4ef74f047662e57678240bbe3dfe46ef0 ("Can't
detach views in-place. Use detach() instead", for any view). Every source was read in the index; none is from memory.
PyTorch is not installed: what it does is said from those sources and the threads.

What broke (three gaps, fixed with this round):
  G1. The freed-graph RuntimeError (PyTorch's "Trying to backward through the graph a second time") offered only
      `retain_graph=True`, the workaround threads 1, 2 and 3 take and the one that keeps every earlier batch's graph
      and walks it again at each backward (and, with an optimizer step in between, stops PyTorch with "modified by
      an inplace operation"). It now says first what the cause usually is in a recurrent loop, a state carried over
      from the last batch, and the cut: `h = h.detach()` (an LSTM's pair both). microgradseq/gradients.py
      (`GradientPass.freed_error`; the core's own message is unchanged).
  G2. `t.detach_()` on a part of another tensor (`t = u[i]`, PyTorch's view) was accepted; PyTorch refuses every view
      ("Can't detach views in-place"). Now RuntimeError for a floating-point part (an integer view is no autograd
      view in PyTorch), saying to write `t = t.detach()`. microgradseq/tensor.py.
  G3. `loss[0]` of a 0-d loss raised numpy's "too many indices for array"; PyTorch's IndexError says to use
      `tensor.item()`. Now IndexError "invalid index of a 0-d tensor ... use t.item()". microgradseq/ops/shape.py.

Fixed later (session 34):
  X1. `detach_()` on a tensor PyTorch makes a view by `unsqueeze`, `squeeze`, `view`, `reshape`, `transpose` or
      `permute` (MNMT's `input_feed = final_output.unsqueeze(0)`, issue #6) was accepted: those results were
      tensors of their own. They are parts of their tensor now, as PyTorch's views, and the detach is refused.

Met and left as documented (docs/pytorch.md):
  - Shape mistakes are ValueError here, RuntimeError in PyTorch (an LSTM given a tensor for its state or a state of
    the wrong batch, (N, T, C) logits); a freed graph, unsorted packing and a part's detach_ are RuntimeError in both.
  - A retained graph walked again after an optimizer step goes back through the weights each step ran with (threads 1
    and 2 train here; PyTorch since 1.5 stops with "modified by an inplace operation"); the tests check that gradient
    against numpy that runs each window with its own weights.
  - Item assignment gives the tensor a new array and graphs keep the old one: nn.RNN's docstring loop with two layers
    backpropagates here (PyTorch stops: "modified by an inplace operation"), with the gradient of what it computed;
    and a part reads the values it was taken with, so the older loop's `output.append(h_t[-1])` keeps each step's
    state where PyTorch's output is the last state T times (the other way round from "the same wrong numbers";
    docs/pytorch.md now names both).
  - `h_state.data` is the read-only numpy array, which the layers take as a state without history (round 22).

The same wrong numbers as PyTorch, where PyTorch gives them silently: a missing batch_first (the batch axis stepped
as time, thread 6), cross-entropy of (N, T, C) logits when T equals C (thread 8), h_n's (num_layers, batch, hidden)
layout under batch_first (thread 5), the FAQ's accumulated history, and MNMT's dropped `detach()` (then the freed
graph in both). Expected values come from numpy written here in float64 (RNN, GRU and LSTM cells, the stand-ins'
losses, cross-entropy) and central differences of them, never from the library's own outputs.
"""

import logging

import numpy as np
import pytest
from porting_references import (arr, central, np_gru_cell, np_log_softmax, np_lstm_cell, np_sigmoid, params_of,
                                some_indices)

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq.autograd import Variable
from microgradseq.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    yield
    torch.set_default_dtype(torch.float32)


# ---- numpy references (float64), written here ------------------------------------------------------------


def np_rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's RNNCell (tanh): h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    return np.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)


def np_lstm_stack(xs, p, num_layers, h0=None, c0=None, suffix=""):
    """A (num_layers)-layer LSTM over xs (T, B, I), time on axis 0, no dropout: (outputs, h_n, c_n)."""
    T, B = xs.shape[:2]
    H = p[f"weight_hh_l0{suffix}"].shape[1]
    hs = [np.zeros((B, H)) if h0 is None else h0[k] for k in range(num_layers)]
    cs = [np.zeros((B, H)) if c0 is None else c0[k] for k in range(num_layers)]
    outs = []
    for t in range(T):
        inp = xs[t]
        for k in range(num_layers):
            hs[k], cs[k] = np_lstm_cell(inp, hs[k], cs[k], p[f"weight_ih_l{k}{suffix}"], p[f"weight_hh_l{k}{suffix}"],
                                        p[f"bias_ih_l{k}{suffix}"], p[f"bias_hh_l{k}{suffix}"])
            inp = hs[k]
        outs.append(inp)
    return np.stack(outs), np.stack(hs), np.stack(cs)


def np_cross_entropy(logits, target):
    """Mean over the rows of -log softmax(logits)[target], classes on the last axis."""
    logp = np_log_softmax(logits.reshape(-1, logits.shape[-1]))
    return -logp[np.arange(logp.shape[0]), target.reshape(-1)].mean()


def with_step(p, name, index, step):
    q = dict(p)
    q[name] = p[name].copy()
    q[name][index] += step
    return q


def check_grads(module_grads, f, p, count=4, seed=0, rtol=2e-3, atol=2e-5):
    """module_grads[name][i] against central differences of the numpy scalar f(params) at a few entries i."""
    for k, name in enumerate(sorted(p)):
        indices = some_indices(p[name].shape, count, seed + k)
        numeric = central(lambda v: f({**p, name: v}), p[name], indices)
        got = np.array([module_grads[name][i] for i in indices], dtype=np.float64)
        np.testing.assert_allclose(got, numeric, rtol=rtol, atol=atol, err_msg=name)


# ---- 1. MorvanZhou/PyTorch-Tutorial issue #57: `h_state = h_state.data` commented out ------------------------

TIME_STEP = 10      # rnn time step
INPUT_SIZE = 1      # rnn input size
LR = 0.02           # learning rate


class RNN(nn.Module):
    def __init__(self):
        super(RNN, self).__init__()

        self.rnn = nn.RNN(
            input_size=INPUT_SIZE,
            hidden_size=32,     # rnn hidden unit
            num_layers=1,       # number of rnn layer
            batch_first=True,   # input & output will has batch size as 1s dimension.
                                # e.g. (batch, time_step, input_size)  (differs: the comment wrapped, 120 columns)
        )
        self.out = nn.Linear(32, 1)

    def forward(self, x, h_state):
        # x (batch, time_step, input_size)
        # h_state (n_layers, batch, hidden_size)
        # r_out (batch, time_step, hidden_size)
        r_out, h_state = self.rnn(x, h_state)

        outs = []    # save all predictions
        for time_step in range(r_out.size(1)):    # calculate output for each time step
            outs.append(self.out(r_out[:, time_step, :]))
        return torch.stack(outs, dim=1), h_state


def sine_window(step):
    start, end = step * np.pi, (step+1)*np.pi   # time range
    # use sin predicts cos
    steps = np.linspace(start, end, TIME_STEP, dtype=np.float32, endpoint=False)  # float32 for converting
    # torch FloatTensor  (differs: the comment wrapped)
    x_np = np.sin(steps)
    y_np = np.cos(steps)

    x = torch.from_numpy(x_np[np.newaxis, :, np.newaxis])    # shape (batch, time_step, input_size)
    y = torch.from_numpy(y_np[np.newaxis, :, np.newaxis])
    return x, y


def np_regressor_loss(p, step, h0):
    """The window's MSE (numpy, float64) and its last state: the RNN over the window, the readout at each step."""
    x, y = (arr(t)[0] for t in sine_window(step))          # (T, 1)
    h, preds = h0, []
    for t in range(TIME_STEP):
        h = np_rnn_cell(x[t:t + 1], h, p["rnn.weight_ih_l0"], p["rnn.weight_hh_l0"], p["rnn.bias_ih_l0"],
                        p["rnn.bias_hh_l0"])
        preds.append(h @ p["out.weight"].T + p["out.bias"])
    return np.mean((np.concatenate(preds) - y) ** 2), h


def test_morvan_without_the_repack_line_the_second_backward_names_the_carried_state():
    """The issue's script: 403_RNN_regressor.py with `h_state = h_state.data` commented out. PyTorch stops at
    the second `loss.backward()` ("Trying to backward through the graph a second time"), and so does the
    library (RuntimeError, before any gradient changes), naming the cause the thread is about and the cut."""
    rnn = RNN()
    optimizer = torch.optim.Adam(rnn.parameters(), lr=LR)   # optimize all cnn parameters
    loss_func = nn.MSELoss()
    h_state = None      # for initial hidden state
    with pytest.raises(RuntimeError) as caught:
        for step in range(3):
            x, y = sine_window(step)
            prediction, h_state = rnn(x, h_state)   # rnn output
            # !! next step is important !!
            # h_state = h_state.data        # differs: the line the issue commented out
            loss = loss_func(prediction, y)         # calculate loss
            optimizer.zero_grad()                   # clear gradients for this training step
            loss.backward()                         # backpropagation, compute gradients
            optimizer.step()                        # apply gradients
    assert step == 1
    message = str(caught.value)
    assert "already been freed" in message and "state carried over from the last batch" in message
    assert "h = h.detach()" in message and "retain_graph=True" in message
    assert all(p.grad is None for p in rnn.parameters())       # zero_grad's None: the pass changed nothing


def test_morvan_retain_graph_walks_every_earlier_window_with_the_weights_it_ran_with():
    """The workaround the issue found, `loss.backward(retain_graph=True)`. With Adam stepping in between, PyTorch
    since 1.5 stops at the second backward ("one of the variables needed for gradient computation has been
    modified by an inplace operation": Adam's in-place update of weights the first window saved); here it runs
    (docs/pytorch.md, a retained graph walked again after an optimizer step) and the second update's gradient is
    that of window 1's loss through window 0 too, window 0 with the weights it ran with (numpy, float64)."""
    rnn = RNN()
    optimizer = torch.optim.Adam(rnn.parameters(), lr=LR)
    loss_func = nn.MSELoss()
    h_state = None
    weights, grads = [], []
    for step in range(2):
        x, y = sine_window(step)
        weights.append(params_of(rnn))
        prediction, h_state = rnn(x, h_state)
        loss = loss_func(prediction, y)
        optimizer.zero_grad()
        loss.backward(retain_graph=True)            # differs: the workaround
        grads.append({name: p.grad.copy() for name, p in rnn.named_parameters()})
        optimizer.step()
    h0 = np.zeros((1, 32))

    def both_windows(p, delta):
        """Window 1's loss, window 0 run with its own weights: the same nudge to each parameter in both."""
        _, h1 = np_regressor_loss({k: weights[0][k] + delta[k] for k in p}, 0, h0)
        return np_regressor_loss({k: weights[1][k] + delta[k] for k in p}, 1, h1)[0]

    zero = {k: np.zeros_like(v) for k, v in weights[1].items()}
    for k, name in enumerate(sorted(zero)):
        indices = some_indices(zero[name].shape, 3, k)
        numeric = central(lambda v: both_windows(zero, {**zero, name: v}), zero[name], indices)
        np.testing.assert_allclose([grads[1][name][i] for i in indices], numeric, rtol=2e-3, atol=2e-5)
    # not the gradient of window 1 alone (what the repack line gives)
    _, h1 = np_regressor_loss(weights[0], 0, h0)
    alone = central(lambda v: np_regressor_loss({**weights[1], "rnn.weight_hh_l0": v}, 1, h1.copy())[0],
                    weights[1]["rnn.weight_hh_l0"], [(0, 0), (3, 5)])
    assert not np.allclose([grads[1]["rnn.weight_hh_l0"][i] for i in [(0, 0), (3, 5)]], alone, rtol=1e-2)


def test_morvan_the_repack_line_gives_each_window_its_own_gradient():
    """The tutorial's own line, `h_state = h_state.data` (here the read-only numpy array, which the layer takes as
    a state without history: docs/pytorch.md), is the cut: each update is the gradient of its window's loss from
    the carried state's value (central differences), and `.detach()` gives the same updates."""
    results = []
    for repack in ("data", "detach"):
        torch.manual_seed(1)
        rnn = RNN()
        optimizer = torch.optim.Adam(rnn.parameters(), lr=LR)
        loss_func = nn.MSELoss()
        h_state = None
        seen = []
        for step in range(3):
            x, y = sine_window(step)
            before = params_of(rnn)
            h_in = np.zeros((1, 32)) if h_state is None else np.array(h_state, dtype=np.float64)[0]
            prediction, h_state = rnn(x, h_state)   # rnn output
            # !! next step is important !!
            h_state = h_state.data if repack == "data" else h_state.detach()    # differs: .detach() in the 2nd run
            loss = loss_func(prediction, y)         # calculate loss
            optimizer.zero_grad()                   # clear gradients for this training step
            loss.backward()                         # backpropagation, compute gradients
            seen.append(({name: p.grad.copy() for name, p in rnn.named_parameters()}, before, h_in))
            optimizer.step()                        # apply gradients
        grads, before, h_in = seen[2]
        check_grads(grads, lambda p: np_regressor_loss(p, 2, h_in)[0], before, count=3)
        results.append(params_of(rnn))
    for name in results[0]:
        np.testing.assert_array_equal(results[0][name], results[1][name])


# ---- 2. vikrant7/mobile-vod-bottleneck-lstm issue #25: retain_graph per frame, detach per video -------------

def train(loader, net, criterion, optimizer, device, debug_steps=100, epoch=-1, sequence_length=10):
    """ Train model
    Arguments:
        net : object of MobileVOD class
        loader : validation data loader object
        criterion : Loss function to use
        device : device on which computation is done
        optimizer : optimizer to optimize model
        debug_steps : number of steps after which model needs to debug
        sequence_length : unroll length of model
        epoch : current epoch number
    """
    net.train(True)
    running_loss = 0.0
    running_regression_loss = 0.0
    running_classification_loss = 0.0
    for i, data in enumerate(loader):
        images, boxes, labels = data
        for image, box, label in zip(images, boxes, labels):
            image = image.to(device)
            box = box.to(device)
            label = label.to(device)

            optimizer.zero_grad()
            confidence, locations = net(image)
            regression_loss, classification_loss = criterion(confidence, locations, label, box)  # TODO CHANGE BOXES
            loss = regression_loss + classification_loss
            loss.backward(retain_graph=True)
            optimizer.step()

            running_loss += loss.item()
            running_regression_loss += regression_loss.item()
            running_classification_loss += classification_loss.item()
        net.detach_hidden()
        if i and i % debug_steps == 0:
            avg_loss = running_loss / (debug_steps*sequence_length)
            avg_reg_loss = running_regression_loss / (debug_steps*sequence_length)
            avg_clf_loss = running_classification_loss / (debug_steps*sequence_length)
            logging.info(
                f"Epoch: {epoch}, Step: {i}, " +
                f"Average Loss: {avg_loss:.4f}, " +
                f"Average Regression Loss {avg_reg_loss:.4f}, " +
                f"Average Classification Loss: {avg_clf_loss:.4f}"
            )
            running_loss = 0.0
            running_regression_loss = 0.0
            running_classification_loss = 0.0
    net.detach_hidden()


def train_fixed(loader, net, criterion, optimizer, device, debug_steps=100, epoch=-1, sequence_length=10):
    """The thread's answer (hebangwen): `net.detach_hidden()` inside the frame loop, at the indent of the
    running sums; then no backward reaches an earlier frame, and retain_graph is not needed."""
    net.train(True)
    for i, data in enumerate(loader):
        images, boxes, labels = data
        for image, box, label in zip(images, boxes, labels):
            image = image.to(device)
            box = box.to(device)
            label = label.to(device)

            optimizer.zero_grad()
            confidence, locations = net(image)
            regression_loss, classification_loss = criterion(confidence, locations, label, box)
            loss = regression_loss + classification_loss
            loss.backward()                     # differs: no retain_graph=True
            optimizer.step()
            net.detach_hidden()                 # differs: moved into the inner loop, as the answer says
    net.detach_hidden()


class StandInVOD(nn.Module):
    """differs: the MobileNet-SSD with bottleneck LSTMs (network/mvod_lstm5.py) is not ported: an LSTMCell whose
    state the net keeps between frames, a class head and a box head, and `detach_hidden`, the interface
    `train` uses."""

    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(4, 5)
        self.conf = nn.Linear(5, 3)
        self.loc = nn.Linear(5, 2)
        self.hidden = None

    def forward(self, image):
        self.hidden = self.cell(image, self.hidden)
        return self.conf(self.hidden[0]), self.loc(self.hidden[0])

    def detach_hidden(self):
        if self.hidden is not None:
            self.hidden = (self.hidden[0].detach(), self.hidden[1].detach())


def stand_in_criterion(confidence, locations, label, box):
    """differs: MultiboxLoss's (regression, classification) pair, as an MSE and a cross-entropy."""
    return F.mse_loss(locations, box), F.cross_entropy(confidence, label)


class RecordingRMSprop(torch.optim.RMSprop):
    """The script's optimizer, keeping each step's gradients and the weights they were taken at (the test's)."""

    def __init__(self, net, **kwargs):
        super().__init__(net.parameters(), **kwargs)
        self.net, self.seen = net, []

    def step(self, closure=None):
        self.seen.append(({n: p.grad.copy() for n, p in self.net.named_parameters()}, params_of(self.net)))
        return super().step(closure)


def np_frame_loss(p, image, box, label, h, c):
    h, c = np_lstm_cell(image, h, c, p["cell.weight_ih"], p["cell.weight_hh"], p["cell.bias_ih"], p["cell.bias_hh"])
    conf = h @ p["conf.weight"].T + p["conf.bias"]
    loc = h @ p["loc.weight"].T + p["loc.bias"]
    return np.mean((loc - box) ** 2) + np_cross_entropy(conf, label), h, c


def video(frames=3, batch=2):
    rng = np.random.default_rng(3)
    images = torch.tensor(rng.standard_normal((frames, batch, 4)).astype(np.float32))
    boxes = torch.tensor(rng.standard_normal((frames, batch, 2)).astype(np.float32))
    labels = torch.tensor(rng.integers(0, 3, (frames, batch)))
    return [(images, boxes, labels)], (arr(images), arr(boxes), np.array(labels.tolist()))


def test_vod_train_as_written_runs_here_and_each_frame_walks_back_to_the_first():
    """`train` as posted: `loss.backward(retain_graph=True)` and `optimizer.step()` at every frame, the state
    detached once per video. PyTorch (since 1.5) stops at frame 2 with "modified by an inplace operation"
    (RMSprop's in-place update of weights frame 1's graph saved), the issue's error; here the video trains
    (docs/pytorch.md: a retained graph walked again after a step goes back through the weights its steps ran
    with), and frame 3's gradient is that of frame 3's loss through frames 2 and 1, each with its own weights."""
    net = StandInVOD()
    optimizer = RecordingRMSprop(net, lr=0.003, momentum=0.9, weight_decay=5e-4)
    loader, (images, boxes, labels) = video()
    train(loader, net, stand_in_criterion, optimizer, device=torch.device("cpu"), debug_steps=100, epoch=0,
          sequence_length=3)
    assert len(optimizer.seen) == 3 and net.hidden[0].grad_fn is None

    def through_all(delta):
        h = c = np.zeros((2, 5))
        for t in range(3):
            p = {k: optimizer.seen[t][1][k] + delta[k] for k in delta}
            loss, h, c = np_frame_loss(p, images[t], boxes[t], labels[t], h, c)
        return loss

    zero = {k: np.zeros_like(v) for k, v in optimizer.seen[2][1].items()}
    for k, name in enumerate(sorted(zero)):
        indices = some_indices(zero[name].shape, 3, k)
        numeric = central(lambda v: through_all({**zero, name: v}), zero[name], indices)
        np.testing.assert_allclose([optimizer.seen[2][0][name][i] for i in indices], numeric, rtol=2e-3, atol=2e-5)


def test_vod_the_answer_detaches_every_frame_and_each_gradient_is_one_frame():
    """The answer's fix: each update is the gradient of its frame's loss from the carried state's value."""
    net = StandInVOD()
    optimizer = RecordingRMSprop(net, lr=0.003, momentum=0.9, weight_decay=5e-4)
    loader, (images, boxes, labels) = video()
    train_fixed(loader, net, stand_in_criterion, optimizer, device=torch.device("cpu"))
    h = c = np.zeros((2, 5))
    for t in range(3):
        grads, weights = optimizer.seen[t]
        h_in, c_in = h, c
        check_grads(grads, lambda p: np_frame_loss(p, images[t], boxes[t], labels[t], h_in, c_in)[0], weights,
                    count=2, seed=10 * t)
        _, h, c = np_frame_loss(weights, images[t], boxes[t], labels[t], h, c)


# ---- 3. Eurus-Holmes/MNMT issues #6 and #7: detach_ on a view, a detach() whose result is dropped -----------


class DecoderState(object):
    """Interface for grouping together the current state of a recurrent
    decoder. In the simplest case just represents the hidden state of
    the model.  But can also be used for implementing various forms of
    input_feeding and non-recurrent models.

    Modules need to implement this to utilize beam search decoding.
    """
    def detach(self):
        for h in self._all:
            if h is not None:
                h.detach()

    # differs: beam_update (beam search only) is not ported


class RNNDecoderState(DecoderState):
    def __init__(self, context, hidden_size, rnnstate):
        """
        Args:
            context (FloatTensor): output from the encoder of size
                                   len x batch x rnn_size.
            hidden_size (int): the size of hidden layer of the decoder.
            rnnstate (Variable): final hidden state from the encoder.
                transformed to shape: layers x batch x (directions*dim).
            input_feed (FloatTensor): output from last layer of the decoder.
            coverage (FloatTensor): coverage output from the decoder.
        """
        if not isinstance(rnnstate, tuple):
            self.hidden = (rnnstate,)
        else:
            self.hidden = rnnstate
        self.coverage = None

        # Init the input feed.
        batch_size = context.size(1)
        h_size = (batch_size, hidden_size)
        self.input_feed = Variable(context.new(*h_size).zero_(),    # differs: context.data.new (`.data` is numpy)
                                   requires_grad=False).unsqueeze(0)

    @property
    def _all(self):
        return self.hidden + (self.input_feed,)

    def update_state(self, rnnstate, input_feed, coverage):
        if not isinstance(rnnstate, tuple):
            self.hidden = (rnnstate,)
        else:
            self.hidden = rnnstate
        self.input_feed = input_feed
        self.coverage = coverage

    # differs: repeat_beam_size_times (beam search only) is not ported


class InputFeedStandIn(nn.Module):
    """differs: InputFeedRNNDecoder's loop (the input fed with the last output, `emb.split(1)`, the state's
    `update_state(hidden, final_output.unsqueeze(0), None)`) with one LSTMCell, no attention and no
    embeddings (the target steps come as vectors), and a linear readout for the loss."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTMCell(3 + 4, 4)
        self.out = nn.Linear(4, 2)

    def forward(self, emb, state):
        output = state.input_feed.squeeze(0)
        hidden = (state.hidden[0][0], state.hidden[1][0])
        outputs = []
        for i, emb_t in enumerate(emb.split(1)):
            emb_t = emb_t.squeeze(0)
            emb_t = torch.cat([emb_t, output], 1)
            hidden = self.rnn(emb_t, hidden)
            output = hidden[0]
            outputs += [output]
        final_output = outputs[-1]
        state.update_state((hidden[0].unsqueeze(0), hidden[1].unsqueeze(0)), final_output.unsqueeze(0), None)
        return self.out(torch.stack(outputs)), state


def np_input_feed_loss(p, emb, tgt, h, c, feed):
    outs = []
    for t in range(emb.shape[0]):
        h, c = np_lstm_cell(np.concatenate([emb[t], feed], 1), h, c, p["rnn.weight_ih"], p["rnn.weight_hh"],
                            p["rnn.bias_ih"], p["rnn.bias_hh"])
        feed = h
        outs.append(h @ p["out.weight"].T + p["out.bias"])
    return np.mean((np.stack(outs) - tgt) ** 2), h, c, feed


def truncated_chunks(trunc_size=2, length=4, batch=2):
    rng = np.random.default_rng(5)
    emb = rng.standard_normal((length, batch, 3)).astype(np.float32)
    tgt = rng.standard_normal((length, batch, 2)).astype(np.float32)
    return [(emb[j:j + trunc_size], tgt[j:j + trunc_size]) for j in range(0, length, trunc_size)]


def fresh_state(batch=2):
    context = torch.zeros(5, batch, 4)
    enc = (torch.zeros(1, batch, 4), torch.zeros(1, batch, 4))
    return RNNDecoderState(context, 4, enc)


def test_mnmt_detach_in_place_of_the_unsqueezed_input_feed_is_refused_as_in_pytorch():
    """Issue #6: OpenNMT's `DecoderState.detach` cut the state in place, `h.detach_()`, and PyTorch refuses it for
    the input feed, a view (`final_output.unsqueeze(0)`): RuntimeError "Can't detach views in-place. Use
    detach() instead" (torch/csrc/autograd/VariableTypeManual.cpp, `detach_`)."""
    decoder, state = InputFeedStandIn(), fresh_state()
    emb, _ = truncated_chunks()[0]
    decoder(torch.tensor(emb), state)
    with pytest.raises(RuntimeError, match="detach"):
        for h in state._all:                # the detach before the change: h.detach_()
            if h is not None:
                h.detach_()


def test_mnmt_detach_in_place_of_a_part_is_refused_naming_the_fix():
    """The part of that refusal the library can see: a basic index is a part of its tensor, a PyTorch view
    (StdRNNDecoder's `final_output = outputs[-1]` of its outputs tensor); `detach_()` on it raises
    RuntimeError as PyTorch's does, saying to write `t = t.detach()`, and leaves it as it was."""
    outputs = torch.randn(3, 2, 4, requires_grad=True) * 2
    final_output = outputs[-1]
    with pytest.raises(RuntimeError, match=r"detach_: .*part of another.*t = t\.detach\(\)"):
        final_output.detach_()
    assert final_output.requires_grad and final_output.grad_fn is not None
    detached = final_output.detach()
    assert not detached.requires_grad
    np.testing.assert_array_equal(arr(detached), arr(outputs)[-1])
    whole = torch.randn(2, 3).long()            # an integer part: PyTorch's is no view for autograd, kept
    assert whole[0].detach_() is not None


def test_mnmt_the_dropped_detach_keeps_the_history_and_the_next_chunk_stops():
    """Issue #6's change, `h.detach()` with the result dropped, detaches nothing (in PyTorch too): the next
    truncated chunk's backward reaches the freed graph of the one before, the RuntimeError of issue #7
    (whose answer was `retain_graph=True`); the message says where the cut goes."""
    decoder, state = InputFeedStandIn(), fresh_state()
    with pytest.raises(RuntimeError) as caught:
        for j, (emb, tgt) in enumerate(truncated_chunks()):
            decoder.zero_grad()
            out, state = decoder(torch.tensor(emb), state)
            F.mse_loss(out, torch.tensor(tgt)).backward()
            state.detach()                  # as stored: each h.detach() made and dropped
            assert state.input_feed.requires_grad and state.hidden[0].grad_fn is not None
    assert j == 1 and "h.detach()" in str(caught.value)


def test_mnmt_rebinding_the_detached_state_gives_each_chunk_its_own_gradient():
    """The fix the error asks for: keep what `detach()` returns (`self.hidden = tuple(h.detach() ...)`,
    `self.input_feed = self.input_feed.detach()`, OpenNMT-py's later `DecoderState.detach`): chunk 2's gradient
    is that of its loss from chunk 1's final state and input feed as constants (central differences)."""
    decoder, state = InputFeedStandIn(), fresh_state()
    h = c = feed = np.zeros((2, 4))
    for j, (emb, tgt) in enumerate(truncated_chunks()):
        decoder.zero_grad()
        out, state = decoder(torch.tensor(emb), state)
        F.mse_loss(out, torch.tensor(tgt)).backward()
        state.hidden = tuple(s.detach() for s in state.hidden)      # differs: the fix
        state.input_feed = state.input_feed.detach()
        p = params_of(decoder)
        h_in, c_in, feed_in = h, c, feed
        check_grads({n: q.grad for n, q in decoder.named_parameters()},
                    lambda q: np_input_feed_loss(q, emb, tgt, h_in, c_in, feed_in)[0], p, count=2, seed=j)
        _, h, c, feed = np_input_feed_loss(p, emb, tgt, h, c, feed)
        np.testing.assert_allclose(arr(state.input_feed)[0], feed, rtol=1e-5, atol=1e-6)


# ---- 4. pytorch/pytorch issue #45437: an LSTM given one tensor as its state ----------------------------------

def test_lstm_given_a_tensor_for_its_state_is_refused_naming_the_pair():
    """As posted: `lstm(torch.zeros(2, 10, 1), hidden)` with `hidden = torch.zeros(1, 2, 10)`. PyTorch indexes the
    tensor as if it were the pair, so its check sees hidden[0], of shape (2, 10): the issue's "removes the first
    dimension and causes an error" (a RuntimeError in the issue's 1.6, whose screenshot is not stored). Here
    ValueError (docs/pytorch.md: shape mistakes are ValueError), naming LSTM and the pair it wants; a pair of
    2-D states is refused naming the shape (PyTorch: "For batched 3-D input, hx and cx should also be 3-D")."""
    lstm = nn.LSTM(hidden_size=10, input_size=1, batch_first=True)

    hidden = torch.zeros(1, 2, 10)
    assert hidden.shape == (1, 2, 10)
    with pytest.raises(ValueError, match=r"LSTM: expected the state as a pair \(h0, c0\), got Tensor"):
        lstm(torch.zeros(2, 10, 1), hidden)
    with pytest.raises(ValueError, match=r"LSTM: expected h0 of shape \(1, 2, 10\), got \(2, 10\)"):
        lstm(torch.zeros(2, 10, 1), (torch.zeros(2, 10), torch.zeros(2, 10)))


def test_lstm_given_the_pair_runs_from_it():
    """The fix (soumith's answer in pytorch/tutorials#416, the LSTM docs' Inputs): the pair (h_0, c_0), each
    (num_layers, batch, hidden) whatever batch_first; the output is numpy's LSTM from that state."""
    lstm = nn.LSTM(hidden_size=10, input_size=1, batch_first=True)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 10, 1)).astype(np.float32)
    h0, c0 = (rng.standard_normal((1, 2, 10)).astype(np.float32) for _ in range(2))
    out, (h_n, c_n) = lstm(torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)))
    want, want_h, want_c = np_lstm_stack(x.transpose(1, 0, 2).astype(np.float64), params_of(lstm), 1, h0, c0)
    np.testing.assert_allclose(arr(out), want.transpose(1, 0, 2), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(h_n), want_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(c_n), want_c, rtol=1e-5, atol=1e-6)


# ---- 5. pytorch/pytorch issue #19675: batch_first does not apply to h_n --------------------------------------

def test_batch_first_leaves_the_final_state_num_layers_first_as_in_pytorch():
    """As posted (sizes smaller): `lstm(input)` with batch_first=True gives h_n of shape (1, batch, hidden), not
    (batch, 1, hidden), in PyTorch as here ("This isn't a bug", zou3519; "there is no notion of seq for hidden
    states", SsnL). The answer's reading: h_n[-1] is the last layer's state, each row output[:, -1] of its
    sequence (numpy); h_n.permute(1, 0, 2) is batch-first if wanted."""
    input = torch.rand([6, 4, 5])  # batch size is 6, sequence size is 4, features are 5
    lstm = nn.LSTM(5, 7, batch_first=True)
    out, (finalHiddenState, _) = lstm(input)
    assert finalHiddenState.shape == (1, 6, 7) and out.shape == (6, 4, 7)
    want, want_h, _ = np_lstm_stack(arr(input).transpose(1, 0, 2), params_of(lstm), 1)
    np.testing.assert_allclose(arr(finalHiddenState)[-1], want[-1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(out)[:, -1], want_h[0], rtol=1e-5, atol=1e-6)
    assert finalHiddenState.permute(1, 0, 2).shape == (6, 1, 7)


def test_bidirectional_final_states_are_directions_in_the_layer_axis():
    """The layout the thread's answer points to for two directions: h_n (2, batch, hidden), [0] the forward
    direction's last step (output[:, -1, :H]) and [1] the backward direction's, which ends at t = 0
    (output[:, 0, H:]); numpy runs the backward direction over the reversed sequence."""
    lstm = nn.LSTM(5, 3, batch_first=True, bidirectional=True)
    x = torch.rand([2, 4, 5])
    out, (h_n, _) = lstm(x)
    p = params_of(lstm)
    xs = arr(x).transpose(1, 0, 2)
    fwd, fwd_h, _ = np_lstm_stack(xs, p, 1)
    bwd, bwd_h, _ = np_lstm_stack(xs[::-1], p, 1, suffix="_reverse")
    np.testing.assert_allclose(arr(h_n), np.concatenate([fwd_h, bwd_h]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(out), np.concatenate([fwd, bwd[::-1]], axis=2).transpose(1, 0, 2),
                               rtol=1e-5, atol=1e-6)


# ---- 6. closeheat/pytorch-lstm-text-generation-tutorial issue #3: batch_first left False ----------------------

class Dataset(torch.utils.data.Dataset):
    def __init__(
        self,
        args,
    ):
        self.args = args
        self.words = self.load_words()
        self.uniq_words = self.get_uniq_words()

        self.index_to_word = {index: word for index, word in enumerate(self.uniq_words)}
        self.word_to_index = {word: index for index, word in enumerate(self.uniq_words)}

        self.words_indexes = [self.word_to_index[w] for w in self.words]

    def load_words(self):
        # differs: pd.read_csv('dataset.csv')['Joke'] (pandas and the Reddit jokes are not here): made-up text
        text = "why did the chicken cross the road to get to the other side of the joke the end"
        return text.split(' ')

    def get_uniq_words(self):
        from collections import Counter
        word_counts = Counter(self.words)
        return sorted(word_counts, key=word_counts.get, reverse=True)

    def __len__(self):
        return len(self.words_indexes) - self.args.sequence_length

    def __getitem__(self, index):
        return (
            torch.tensor(self.words_indexes[index:index+self.args.sequence_length]),
            torch.tensor(self.words_indexes[index+1:index+self.args.sequence_length+1]),
        )


class Model(nn.Module):
    def __init__(self, dataset, batch_first=False):        # differs: batch_first=, for the fix
        super(Model, self).__init__()
        self.lstm_size = 8              # differs: 128, smaller
        self.embedding_dim = 8          # differs: 128
        self.num_layers = 3

        n_vocab = len(dataset.uniq_words)
        self.embedding = nn.Embedding(
            num_embeddings=n_vocab,
            embedding_dim=self.embedding_dim,
        )
        self.lstm = nn.LSTM(
            input_size=self.lstm_size,
            hidden_size=self.lstm_size,
            num_layers=self.num_layers,
            dropout=0.2,
            batch_first=batch_first,
        )
        self.fc = nn.Linear(self.lstm_size, n_vocab)

    def forward(self, x, prev_state):
        embed = self.embedding(x)
        output, state = self.lstm(embed, prev_state)
        logits = self.fc(output)

        return logits, state

    def init_state(self, sequence_length):
        return (torch.zeros(self.num_layers, sequence_length, self.lstm_size),
                torch.zeros(self.num_layers, sequence_length, self.lstm_size))


class Args:
    max_epochs = 1
    batch_size = 5
    sequence_length = 4


def test_closeheat_without_batch_first_the_batch_is_read_as_time_with_no_error():
    """As written: (batch, seq) word indices embedded to (batch, seq, E) into an LSTM left at batch_first=False,
    the state made by `init_state(sequence_length)`. No error in PyTorch nor here (the issue: "this doesn't
    cause a runtime error, the network is confusing the sequence length for the batch size"); the numbers are
    PyTorch's: numpy's LSTM stepping over the batch axis, the 4 positions as its batch, the state carried from
    one DataLoader batch to the next; a short last batch is just a shorter "sequence"."""
    args = Args()
    dataset = Dataset(args)
    model = Model(dataset)
    model.eval()                        # differs: train() in the script; eval() turns the dropout off for numpy
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size)
    state_h, state_c = model.init_state(args.sequence_length)
    p = params_of(model)
    h = c = np.zeros((3, args.sequence_length, 8))
    sizes = []
    for batch, (x, y) in enumerate(dataloader):
        y_pred, (state_h, state_c) = model(x, (state_h, state_c))
        state_h = state_h.detach()
        state_c = state_c.detach()
        emb = p["embedding.weight"][np.array(x.tolist())]       # (batch, seq, E)
        out, h, c = np_lstm_stack(emb, {k[5:]: v for k, v in p.items() if k.startswith("lstm.")}, 3, h, c)
        np.testing.assert_allclose(arr(y_pred), out @ p["fc.weight"].T + p["fc.bias"], rtol=1e-4, atol=1e-5)
        sizes.append(x.shape[0])
    assert sizes == [5, 5, 4]
    np.testing.assert_allclose(arr(state_h), h, rtol=1e-4, atol=1e-5)


def test_closeheat_the_fix_needs_the_batch_size_state_and_full_batches():
    """The issue's fix, batch_first=True with the state sized by the batch: then the short last batch meets a state
    of the full batch size, ValueError here (PyTorch: RuntimeError "Expected hidden[0] size (3, 4, 8), got
    [3, 5, 8]"); with `drop_last=True` (or a fresh state per batch) the model runs over the sequence axis, and its
    loss, `criterion(y_pred.transpose(1, 2), y)` as the script writes it, is numpy's cross-entropy."""
    args = Args()
    dataset = Dataset(args)
    model = Model(dataset, batch_first=True)
    model.eval()
    state = model.init_state(args.batch_size)
    batches = list(torch.utils.data.DataLoader(dataset, batch_size=args.batch_size))
    with pytest.raises(ValueError, match=r"LSTM: expected h0 of shape \(3, 4, 8\), got \(3, 5, 8\)"):
        for x, y in batches:
            _, state = model(x, state)
            state = tuple(s.detach() for s in state)
    p = params_of(model)
    lstm_p = {k[5:]: v for k, v in p.items() if k.startswith("lstm.")}
    criterion = nn.CrossEntropyLoss()
    state_h, state_c = model.init_state(args.batch_size)
    h = c = np.zeros((3, args.batch_size, 8))
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, drop_last=True)
    for x, y in loader:
        y_pred, (state_h, state_c) = model(x, (state_h, state_c))
        loss = criterion(y_pred.transpose(1, 2), y)
        state_h, state_c = state_h.detach(), state_c.detach()
        emb = p["embedding.weight"][np.array(x.tolist())].transpose(1, 0, 2)      # (seq, batch, E)
        out, h, c = np_lstm_stack(emb, lstm_p, 3, h, c)
        logits = (out @ p["fc.weight"].T + p["fc.bias"]).transpose(1, 0, 2)      # (batch, seq, V)
        np.testing.assert_allclose(loss.item(), np_cross_entropy(logits, np.array(y.tolist())), rtol=1e-5)


# ---- 7. pytorch/pytorch issue #8026: pack_padded_sequence of unsorted lengths ---------------------------------

def np_gru_sequences(xs, lengths, p):
    """Each sequence of the padded batch xs (B, T, I) alone, over its own length: (outputs zero-padded, h_n)."""
    B, T, _ = xs.shape
    H = p["weight_hh_l0"].shape[1]
    outs, last = np.zeros((B, T, H)), np.zeros((B, H))
    for b in range(B):
        h = np.zeros((1, H))
        for t in range(lengths[b]):
            h = np_gru_cell(xs[b, t:t + 1], h, p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"])
            outs[b, t] = h[0]
        last[b] = h[0]
    return outs, last


def padded_batch():
    rng = np.random.default_rng(8)
    lengths = [2, 5, 3]
    xs = rng.standard_normal((3, 5, 4)).astype(np.float32)
    for b, n in enumerate(lengths):
        xs[b, n:] = 0.0
    return torch.tensor(xs), lengths


def test_packing_unsorted_lengths_is_refused_naming_enforce_sorted():
    """The traceback posted: `pack_padded_sequence(input, lengths, batch_first)` with lengths not longest first.
    PyTorch raised ValueError "lengths array has to be sorted in decreasing order" then; since 1.1 RuntimeError
    "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass
    `enforce_sorted=False` ...". Here RuntimeError too (docs/pytorch.md), naming the function and the switch."""
    x, lengths = padded_batch()
    with pytest.raises(RuntimeError, match=r"pack_padded_sequence: expected lengths sorted longest first "
                                           r"\(enforce_sorted=True\), got \[2, 5, 3\]; pass enforce_sorted=False"):
        pack_padded_sequence(x, lengths, True)


def test_packing_sorted_then_unsorted_and_enforce_sorted_false_agree_with_each_sequence_alone():
    """SsnL's answer, "sort your array before feeding into pack_padded_sequence" (and put the rows back after),
    and today's `enforce_sorted=False` (the docs: "For unsorted sequences, use enforce_sorted = False") give
    each sequence's GRU over its own length, in the batch's order (numpy, one sequence at a time)."""
    x, lengths = padded_batch()
    gru = nn.GRU(4, 3, batch_first=True)
    want_out, want_h = np_gru_sequences(arr(x), lengths, params_of(gru))

    lens, perm = torch.tensor(lengths).sort(0, descending=True)
    packed = pack_padded_sequence(x[perm], lens.tolist(), batch_first=True)
    out, h = gru(packed)
    out, out_lengths = pad_packed_sequence(out, batch_first=True)
    _, unperm = perm.sort(0)
    np.testing.assert_allclose(arr(out[unperm]), want_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(h[:, unperm])[0], want_h, rtol=1e-5, atol=1e-6)
    assert out_lengths.tolist() == [5, 3, 2]

    out, h = gru(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    out, out_lengths = pad_packed_sequence(out, batch_first=True)
    np.testing.assert_allclose(arr(out), want_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(h)[0], want_h, rtol=1e-5, atol=1e-6)
    assert out_lengths.tolist() == lengths


# ---- 8. "How to compute Cross Entropy Loss for sequences" (StackOverflow, stored as whosebug.com's copy) -------

def test_cross_entropy_of_batch_time_class_logits_is_refused_naming_the_class_axis():
    """The question's shapes: the network returns (batch_size, sequence_length, numb_classes), the targets are
    (batch_size, sequence_length). PyTorch reads axis 1 as the classes and raises RuntimeError "Expected target
    size [2, 4], got [2, 5]" (aten/src/ATen/native/LossNLL.cpp, `cross_entropy_loss`'s nd case); here ValueError,
    saying that the classes are on axis 1 and what to do."""
    logits = torch.randn(2, 5, 4, requires_grad=True)
    target = torch.tensor([[0, 1, 2, 3, 0], [1, 1, 1, 1, 1]])
    with pytest.raises(ValueError, match=r"cross_entropy: .*targets of shape \(2, 5\).*logits of shape \(2, 5, 4\)"
                                         r".*expected \(2, 4\).*classes are on axis 1"):
        nn.CrossEntropyLoss()(logits, target)


def test_cross_entropy_when_time_equals_classes_gives_pytorchs_wrong_number_and_permute_fixes_it():
    """With as many steps as classes the shapes pass in PyTorch and here, and both compute the loss of axis 1 read
    as the classes (numpy: softmax over the time axis), a silent mistake. The answer's fix, `input.permute(0, 2, 1)`
    (or `transpose(1, 2)`), gives the per-step cross-entropy over the classes (numpy), and its gradient."""
    rng = np.random.default_rng(2)
    z = rng.standard_normal((2, 4, 4))
    target = np.array([[0, 1, 2, 3], [1, 1, 3, 0]])
    torch.set_default_dtype(torch.float64)
    logits = torch.tensor(z, requires_grad=True)
    wrong = nn.CrossEntropyLoss()(logits, torch.tensor(target))
    np.testing.assert_allclose(wrong.item(), np_cross_entropy(z.transpose(0, 2, 1), target), rtol=1e-12)
    assert abs(wrong.item() - np_cross_entropy(z, target)) > 1e-3
    right = nn.CrossEntropyLoss()(logits.permute(0, 2, 1), torch.tensor(target))
    np.testing.assert_allclose(right.item(), np_cross_entropy(z, target), rtol=1e-12)
    np.testing.assert_allclose(nn.CrossEntropyLoss()(logits.transpose(1, 2), torch.tensor(target)).item(),
                               right.item(), rtol=1e-12)
    right.backward()
    indices = some_indices(z.shape, 5, 0)
    np.testing.assert_allclose([logits.grad[i] for i in indices],
                               central(lambda v: np_cross_entropy(v, target), z, indices), rtol=1e-6, atol=1e-9)


# ---- 9. PyTorch's FAQ, "Don't accumulate history across your training loop" --------------------------------

class FAQModel(nn.Module):
    """differs: the FAQ's `model` is not shown; a GRU and a readout stand in."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(2, 3)
        self.out = nn.Linear(3, 1)

    def forward(self, input):
        output, _ = self.gru(input)
        return self.out(output)


def criterion(output):
    """differs: the FAQ's `criterion(output)` is not shown: the mean square of the outputs."""
    return output.pow(2).mean()


def np_faq_loss(p, x):
    h, outs = np.zeros((x.shape[1], 3)), []
    for t in range(x.shape[0]):
        h = np_gru_cell(x[t], h, p["gru.weight_ih_l0"], p["gru.weight_hh_l0"], p["gru.bias_ih_l0"], p["gru.bias_hh_l0"])
        outs.append(h @ p["out.weight"].T + p["out.bias"])
    return np.mean(np.stack(outs) ** 2)


def test_faq_loss_index_zero_is_refused_saying_item():
    """The FAQ's loop as written, `total_loss += loss[0]`: a 0-d loss has no index 0 since PyTorch 0.5 (IndexError
    "invalid index of a 0-dim tensor. Use tensor.item() to convert a 0-dim tensor to a number",
    aten/src/ATen/TensorIndexing.h); here IndexError too, now with the same advice."""
    model, input = FAQModel(), torch.randn(4, 2, 2)
    total_loss = 0
    with pytest.raises(IndexError, match=r"getitem: invalid index of a 0-d tensor.*t\.item\(\)"):
        for i in range(3):                      # differs: range(10000)
            output = model(input)
            loss = criterion(output)
            total_loss += loss[0]


def test_faq_summing_the_losses_keeps_every_iterations_graph():
    """`total_loss += loss` (the mistake the FAQ describes: "total_loss is accumulating history across your
    training loop"): in PyTorch and here total_loss is a tensor with a history holding every iteration's graph;
    a backward from it walks them all (the gradient is the sum of the three iterations', numpy)."""
    torch.set_default_dtype(torch.float64)
    model, input = FAQModel(), torch.randn(4, 2, 2)
    total_loss = 0
    for i in range(3):
        output = model(input)
        loss = criterion(output)
        total_loss += loss
    assert isinstance(total_loss, torch.Tensor) and total_loss.requires_grad and total_loss.grad_fn is not None
    total_loss.backward()
    check_grads({n: q.grad for n, q in model.named_parameters()}, lambda p: 3 * np_faq_loss(p, arr(input)),
                params_of(model), count=2, rtol=1e-6, atol=1e-9)


def test_faq_the_fix_adds_python_numbers():
    """The FAQ's fix: `total_loss += float(loss)` (or `loss.item()`): a Python float, no graph kept."""
    torch.set_default_dtype(torch.float64)
    model = FAQModel()
    inputs = [torch.randn(4, 2, 2) for _ in range(3)]
    total_loss = 0
    for input in inputs:
        output = model(input)
        loss = criterion(output)
        total_loss += float(loss)
    assert type(total_loss) is float
    np.testing.assert_allclose(total_loss, sum(np_faq_loss(params_of(model), arr(x)) for x in inputs), rtol=1e-12)


# ---- 10. pytorch/pytorch issue #165621 and pull request #142303: nn.RNN's docstring loop ---------------------

def docstring_forward(rnn, params):
    # Efficient implementation equivalent to the following with bidirectional=False
    def forward(x, hx=None, batch_first=False):
        if batch_first:
            x = x.transpose(0, 1)
        seq_len, batch_size, _ = x.size()
        if hx is None:
            hx = torch.zeros(rnn.num_layers, batch_size, rnn.hidden_size)
        h_t_minus_1 = hx.clone()
        h_t = hx.clone()
        output = []
        for t in range(seq_len):
            for layer in range(rnn.num_layers):
                input_t = x[t] if layer == 0 else h_t[layer - 1]
                h_t[layer] = torch.tanh(
                    input_t @ params[f"weight_ih_l{layer}"].T
                    + h_t_minus_1[layer] @ params[f"weight_hh_l{layer}"].T
                    + params[f"bias_hh_l{layer}"]
                    + params[f"bias_ih_l{layer}"]
                )
            output.append(h_t[-1].clone())
            h_t_minus_1 = h_t.clone()
        output = torch.stack(output)
        if batch_first:
            output = output.transpose(0, 1)
        return output, h_t
    return forward


def np_stacked_rnn(p, x, h0):
    hs, outs = list(h0), []
    for t in range(x.shape[0]):
        inp = x[t]
        for k in range(len(hs)):
            hs[k] = np_rnn_cell(inp, hs[k], p[f"weight_ih_l{k}"], p[f"weight_hh_l{k}"], p[f"bias_ih_l{k}"],
                                p[f"bias_hh_l{k}"])
            inp = hs[k]
        outs.append(inp)
    return np.stack(outs), np.stack(hs)


def test_rnn_docstring_loop_backward_runs_here_with_the_gradient_of_what_it_computed():
    """Issue #165621's script (sizes smaller): the docstring's loop with two layers, then a loss of
    `output` against `torch.ones_like(output)` and backward. PyTorch stops at the backward ("one of the variables
    needed for gradient computation has been modified by an inplace operation": `h_t[1] = ...` writes into h_t
    after layer 1's matmul saved the view h_t[0]); here item assignment gives h_t a new array and the graph keeps
    the old one (docs/pytorch.md), so it runs: the outputs are nn.RNN's and numpy's, and the gradients are those
    of the computed loss (central differences), the same as through nn.RNN itself."""
    torch.set_default_dtype(torch.float64)
    rnn = nn.RNN(3, 4, 2)                       # differs: nn.RNN(10, 20, 2)
    params = dict(rnn.named_parameters())
    forward = docstring_forward(rnn, params)
    input = torch.randn(5, 3, 3)
    h0 = torch.randn(2, 3, 4)
    output, hn = forward(input, h0)
    target = torch.ones_like(output)
    loss = nn.MSELoss()(output, target)         # differs: the loss line is not stored; an MSE
    loss.backward()
    grads = {n: p.grad.copy() for n, p in rnn.named_parameters()}
    ref_out, ref_h = rnn(input, h0)
    np.testing.assert_allclose(arr(output), arr(ref_out), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(arr(hn), arr(ref_h), rtol=1e-12, atol=1e-12)
    want_out, want_h = np_stacked_rnn(params_of(rnn), arr(input), arr(h0))
    np.testing.assert_allclose(arr(output), want_out, rtol=1e-10)
    check_grads(grads, lambda p: np.mean((np_stacked_rnn(p, arr(input), arr(h0))[0] - 1.0) ** 2),
                params_of(rnn), count=3, rtol=1e-6, atol=1e-9)
    rnn.zero_grad()
    nn.MSELoss()(rnn(input, h0)[0], target).backward()
    for name, p in rnn.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad, rtol=1e-10, atol=1e-12)


def test_rnn_docstring_older_loop_keeps_each_steps_output_here_where_pytorchs_repeats_the_last():
    """Pull request #142303's script (the docstring before the clones): `output.append(h_t[-1])` appends a view of
    h_t, which later steps overwrite, so PyTorch's output is the last state T times over (the PR: "the output
    contains repeated instances of the last state"). Here a part reads the values it was taken with
    (docs/pytorch.md, item assignment), so the output is each step's state, nn.RNN's (numpy): a documented
    difference, the other way round from the brief's "same wrong numbers". Both write the final state into the
    caller's h_0 (h_t is h_0), as PyTorch's does."""
    batch_first = False
    num_layers = 1
    hidden_size = 5
    input_size = 2

    rnn = torch.nn.RNN(
        input_size=input_size,
        hidden_size=hidden_size,
        num_layers=num_layers
    )

    weight_ih = [rnn.weight_ih_l0.data]
    bias_ih = [rnn.bias_ih_l0.data]
    weight_hh = [rnn.weight_hh_l0.data]
    bias_hh = [rnn.bias_hh_l0.data]

    def forward(x, h_0=None):
        if batch_first:
            x = x.transpose(0, 1)
        seq_len, batch_size, _ = x.size()
        if h_0 is None:
            h_0 = torch.zeros(num_layers, batch_size, hidden_size)
        h_t_minus_1 = h_0
        h_t = h_0
        output = []
        for t in range(seq_len):
            for layer in range(num_layers):
                h_t[layer] = torch.tanh(
                    x[t] @ weight_ih[layer].T
                    + bias_ih[layer]
                    + h_t_minus_1[layer] @ weight_hh[layer].T
                    + bias_hh[layer]
                )
            output.append(h_t[-1])
            h_t_minus_1 = h_t
        output = torch.stack(output)
        if batch_first:
            output = output.transpose(0, 1)
        return output, h_t

    x = torch.randn(4, 3, input_size)
    h_0 = torch.zeros(num_layers, 3, hidden_size)
    output, h_n = forward(x, h_0)               # differs: the PR's comparison lines are not stored
    want_out, want_h = np_stacked_rnn(params_of(rnn), arr(x), np.zeros((1, 3, hidden_size)))
    np.testing.assert_allclose(arr(output), want_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(output), arr(rnn(x)[0]), rtol=1e-5, atol=1e-6)
    assert not np.allclose(arr(output)[0], arr(output)[-1])        # PyTorch's would be equal
    np.testing.assert_allclose(arr(h_0), want_h, rtol=1e-5, atol=1e-6)
    assert h_n is h_0
