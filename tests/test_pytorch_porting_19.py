"""Porting, round 19: scripts that look inside training, and sequence convnets. Each script is written as its
author wrote it, with only its imports changed and its data made up and small (`# differs:` marks each other
change and why):

1. locuslab/TCN TCN/tcn.py (at 8845f88f31def1e7ffccb8811ea966e9f58d9695) and its adding problem
   (TCN/adding_problem/model.py, utils.py at ba0a5437, add_test.py at 06449b99): dilated causal Conv1d's with
   Chomp1d, weight_norm, residual 1x1 convolutions; trained on the adding problem.
2. `plot_grad_flow`, RoshanRane's answer on discuss.pytorch.org ("Check gradient flow in network",
   https://discuss.pytorch.org/t/check-gradient-flow-in-network/15063/7), copied into many repositories: the mean
   and max |gradient| of each weight after backward, drawn for the TCN.
3. fastai/course22p2 nbs/10_activations.ipynb (at 0c752694) and its miniai/activations.py (at 0a3c31e8), with
   miniai/learner.py's to_cpu (at 459c87f3): forward hooks with functools.partial, the Hook and Hooks classes
   (remove, a context manager), per-layer means, stds and histograms of activations, get_hist and get_min. Its
   Learner is a stand-in. Its Conv2d's were Conv1d's over sequences when this round was written (the library had
   no Conv2d then); it has since (0983a60), and they are nn.Conv2d's over made-up 28 x 28 images, as written.
4. `register_grad_storing_hook` (found by the code index, without its repository): a tensor hook on every
   parameter of a model with an LSTM or GRU `rnn`, storing the gradient norm of each gate's rows, and a forward
   pre-hook opening a new record per forward.
5. vmikulik/LSTM-text-gen model.py, data_handling.py, training.py (at 7f1418072078a076f8832e6431a6a2c73a41dc50):
   LSTMCell's wrapped so that a tensor hook clamps dL/dh_t (`x.register_hook(lambda grad: grad.clamp(min, max))`),
   `output[t] = x` into `batch.new_zeros(...)`, truncated BPTT with the state detached, NLLLoss(ignore_index=-1)
   on (T, V, B).
6. pytorch/tutorials intermediate_source/optimizer_step_in_backward_tutorial.py (at 2a488705): one Adam per
   parameter, stepped and zeroed by `register_post_accumulate_grad_hook`; and the docstring examples of
   `Tensor.register_hook` and `register_post_accumulate_grad_hook` (torch/_tensor.py).
7. Text CNNs: bentrevett/pytorch-sentiment-analysis "legacy/4 - Convolutional Sentiment Analysis.ipynb" (at
   8ec35d80), CNN1d with `F.max_pool1d(conv, conv.shape[2]).squeeze(2)` and the notebook's train / evaluate /
   binary_accuracy; and a CS224n 2018-19 assignment 5 solution (schlicht/stanford-nlp a5_public at be2f2944), the
   character CNN (Conv1d, `nn.MaxPool1d(kernel_size=m_word - k + 1)`) and Highway word embeddings.

What broke, and what was fixed (the fixes in microgradseq/tensor_hooks.py, the new microgradseq/functional/pooling.py,
microgradseq/nn/pooling.py and microgradseq/nn/utils/weight_norm.py; each pinned by a test here or in
tests/test_pooling.py):

  G1  Hooks ran with recording on: the register_post_accumulate_grad_hook docstring's `p.add_(p.grad, alpha=-lr)`
      raised "a leaf tensor that requires grad cannot be changed in place", and what a hook computed from a
      tensor that requires grad was recorded. PyTorch runs hooks under no_grad; so do they now.
  G2  No 1-d pooling: F.max_pool1d (script 7's CNN1d), nn.MaxPool1d (the char CNN), and the adaptive pools that
      Conv1d classifiers end with. Now F.max_pool1d, F.avg_pool1d, F.adaptive_max_pool1d, F.adaptive_avg_pool1d and
      their modules, with PyTorch's output lengths and its first-of-ties gradient.
  G3  No weight_norm (script 1). Now nn.utils.weight_norm (microgradseq/nn/utils/weight_norm.py), PyTorch's
      forward-pre-hook version, with remove_weight_norm. Without it the TCN trains far slower: in PyTorch
      weight_norm also makes init_weights' N(0, 0.01) on conv1 and conv2 a no-op.
  G4  Names these scripts use that the library lacked: `torch.use_deterministic_algorithms`, `Tensor.histc`,
      `torch.linalg.norm` and `torch.transpose`'s keywords `dim0=`/`dim1=`; now there, and the scripts use them.

Left as they are (the lines say `differs:`): a gradient is a numpy array, so plot_grad_flow's `p.grad.abs()` is
`np.abs(p.grad)` (docs/pytorch.md). No script needed module backward hooks.

Expected values come from numpy written here (convolutions, pooling, LSTM and GRU forward passes, BPTT with dL/dh
clamped, Adam), central differences of it, numpy's histogram, and PyTorch 2.13's printed values and reprs
written down as literals (each says so); never from the library itself or from PyTorch at test time.
"""

import argparse
import copy
import math
import random
import time
import types
from collections.abc import Mapping
from functools import partial

import numpy as np
import pytest
from test_op_gradients import central_differences

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
from microgradseq.autograd import Variable
from microgradseq.nn.utils import remove_weight_norm, weight_norm
from porting_references import quietly


def np_conv1d(x, w, b=None, stride=1, padding=0, dilation=1):
    """The reference convolution, by loops: y[n, o, t] = b[o] + sum_c,k w[o, c, k] x_pad[n, c, s t + d k]."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    padded = np.pad(x, [(0, 0), (0, 0), (padding, padding)])
    out_channels, in_channels, kernel = w.shape
    length = (padded.shape[2] - dilation * (kernel - 1) - 1) // stride + 1
    y = np.zeros((x.shape[0], out_channels, length))
    for t in range(length):
        for k in range(kernel):
            y[:, :, t] += padded[:, :, stride * t + dilation * k] @ w[:, :, k].T
    return y if b is None else y + np.asarray(b)[None, :, None]


def np_conv2d(x, w, b, stride=1, padding=0):
    """PyTorch's Conv2d (a cross-correlation), by loops over the kernel: y[n, o, i, j] = b[o] +
    sum_c,u,v w[o, c, u, v] x_pad[n, c, s i + u, s j + v], x zero-padded by `padding` on each side of both axes."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    padded = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    _, _, kh, kw = w.shape
    rows, cols = (padded.shape[2] - kh) // stride + 1, (padded.shape[3] - kw) // stride + 1
    y = np.zeros((x.shape[0], w.shape[0], rows, cols)) + np.asarray(b)[None, :, None, None]
    for u in range(kh):
        for v in range(kw):
            window = padded[:, :, u:u + stride * (rows - 1) + 1:stride, v:v + stride * (cols - 1) + 1:stride]
            y += np.einsum("ncij,oc->noij", window, w[:, :, u, v])
    return y


def relu(a):
    return np.maximum(a, 0)


def arrays(module):
    """A module's parameters as float64 numpy arrays, by name."""
    return {name: np.array(p.data, dtype=np.float64) for name, p in module.named_parameters()}


def gradient_by_central_differences(loss_of, params, eps=1e-6):
    """d loss / d params[name] for every parameter (loss_of maps the dict to a float), by
    test_op_gradients' central differences, one parameter at a time."""
    return {name: central_differences(lambda v, name=name: loss_of({**params, name: v}), value, eps)
            for name, value in params.items()}


# ---- 1. locuslab/TCN: the temporal convolutional network and its adding problem ------------------------

# TCN/tcn.py (at 8845f88f31def1e7ffccb8811ea966e9f58d9695). As in PyTorch, weight_norm's pre-hook computes
# conv1's and conv2's weights from weight_g and weight_v at every forward, so init_weights' normal_ on them lasts
# only until the first forward: those two keep the default init (only downsample's N(0, 0.01) stays).

class Chomp1d(nn.Module):
    def __init__(self, chomp_size):
        super(Chomp1d, self).__init__()
        self.chomp_size = chomp_size

    def forward(self, x):
        return x[:, :, :-self.chomp_size].contiguous()


class TemporalBlock(nn.Module):
    def __init__(self, n_inputs, n_outputs, kernel_size, stride, dilation, padding, dropout=0.2):
        super(TemporalBlock, self).__init__()
        self.conv1 = weight_norm(nn.Conv1d(n_inputs, n_outputs, kernel_size,
                                           stride=stride, padding=padding, dilation=dilation))
        self.chomp1 = Chomp1d(padding)
        self.relu1 = nn.ReLU()
        self.dropout1 = nn.Dropout(dropout)

        self.conv2 = weight_norm(nn.Conv1d(n_outputs, n_outputs, kernel_size,
                                           stride=stride, padding=padding, dilation=dilation))
        self.chomp2 = Chomp1d(padding)
        self.relu2 = nn.ReLU()
        self.dropout2 = nn.Dropout(dropout)

        self.net = nn.Sequential(self.conv1, self.chomp1, self.relu1, self.dropout1,
                                 self.conv2, self.chomp2, self.relu2, self.dropout2)
        self.downsample = nn.Conv1d(n_inputs, n_outputs, 1) if n_inputs != n_outputs else None
        self.relu = nn.ReLU()
        self.init_weights()

    def init_weights(self):
        nn.init.normal_(self.conv1.weight, 0, 0.01)         # differs: self.conv1.weight.data.normal_(0, 0.01)
        nn.init.normal_(self.conv2.weight, 0, 0.01)         # (.data is a read-only numpy array here)
        if self.downsample is not None:
            nn.init.normal_(self.downsample.weight, 0, 0.01)

    def forward(self, x):
        out = self.net(x)
        res = x if self.downsample is None else self.downsample(x)
        return self.relu(out + res)


class TemporalConvNet(nn.Module):
    def __init__(self, num_inputs, num_channels, kernel_size=2, dropout=0.2):
        super(TemporalConvNet, self).__init__()
        layers = []
        num_levels = len(num_channels)
        for i in range(num_levels):
            dilation_size = 2 ** i
            in_channels = num_inputs if i == 0 else num_channels[i-1]
            out_channels = num_channels[i]
            layers += [TemporalBlock(in_channels, out_channels, kernel_size, stride=1, dilation=dilation_size,
                                     padding=(kernel_size-1) * dilation_size, dropout=dropout)]

        self.network = nn.Sequential(*layers)

    def forward(self, x):
        return self.network(x)


# TCN/adding_problem/model.py (at ba0a543785f74673eb64141dcf4abf714e3908d8)
class TCN(nn.Module):
    def __init__(self, input_size, output_size, num_channels, kernel_size, dropout):
        super(TCN, self).__init__()
        self.tcn = TemporalConvNet(input_size, num_channels, kernel_size=kernel_size, dropout=dropout)
        self.linear = nn.Linear(num_channels[-1], output_size)
        self.init_weights()

    def init_weights(self):
        nn.init.normal_(self.linear.weight, 0, 0.01)         # differs: self.linear.weight.data.normal_(0, 0.01)

    def forward(self, x):
        y1 = self.tcn(x)
        return self.linear(y1[:, :, -1])


# TCN/adding_problem/utils.py (at ba0a543785f74673eb64141dcf4abf714e3908d8)
def data_generator(N, seq_length):
    """
    Args:
        seq_length: Length of the adding problem data
        N: # of data in the set
    """
    X_num = torch.rand([N, 1, seq_length])
    X_mask = torch.zeros([N, 1, seq_length])
    Y = torch.zeros([N, 1])
    for i in range(N):
        positions = np.random.choice(seq_length, size=2, replace=False)
        X_mask[i, 0, positions[0]] = 1
        X_mask[i, 0, positions[1]] = 1
        Y[i,0] = X_num[i, 0, positions[0]] + X_num[i, 0, positions[1]]
    X = torch.cat((X_num, X_mask), dim=1)
    return Variable(X), Variable(Y)


def adding_problem(argv):
    """TCN/adding_problem/add_test.py (at 06449b99ce866d9253e732e0e671856816dbe79a), its module level in a
    function (differs: `global lr` is `nonlocal lr` there); the arguments are parsed from `argv` (differs:
    `parse_args()` reads sys.argv) and the data sets are smaller (differs: 50000 and 1000)."""
    parser = argparse.ArgumentParser(description='Sequence Modeling - The Adding Problem')
    parser.add_argument('--batch_size', type=int, default=32, metavar='N',
                        help='batch size (default: 32)')
    parser.add_argument('--cuda', action='store_false',
                        help='use CUDA (default: True)')
    parser.add_argument('--dropout', type=float, default=0.0,
                        help='dropout applied to layers (default: 0.0)')
    parser.add_argument('--clip', type=float, default=-1,
                        help='gradient clip, -1 means no clip (default: -1)')
    parser.add_argument('--epochs', type=int, default=10,
                        help='upper epoch limit (default: 10)')
    parser.add_argument('--ksize', type=int, default=7,
                        help='kernel size (default: 7)')
    parser.add_argument('--levels', type=int, default=8,
                        help='# of levels (default: 8)')
    parser.add_argument('--seq_len', type=int, default=400,
                        help='sequence length (default: 400)')
    parser.add_argument('--log-interval', type=int, default=100, metavar='N',
                        help='report interval (default: 100')
    parser.add_argument('--lr', type=float, default=4e-3,
                        help='initial learning rate (default: 4e-3)')
    parser.add_argument('--optim', type=str, default='Adam',
                        help='optimizer to use (default: Adam)')
    parser.add_argument('--nhid', type=int, default=30,
                        help='number of hidden units per layer (default: 30)')
    parser.add_argument('--seed', type=int, default=1111,
                        help='random seed (default: 1111)')
    parser.add_argument('--n_train', type=int, default=256)          # differs: 50000 and 1000 below
    parser.add_argument('--n_test', type=int, default=64)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    if torch.cuda.is_available():
        if not args.cuda:
            print("WARNING: You have a CUDA device, so you should probably run with --cuda")

    input_channels = 2
    n_classes = 1
    batch_size = args.batch_size
    seq_length = args.seq_len
    epochs = args.epochs

    print(args)
    print("Producing data...")
    np.random.seed(args.seed)                       # differs: (the positions come from numpy's global generator)
    X_train, Y_train = data_generator(args.n_train, seq_length)
    X_test, Y_test = data_generator(args.n_test, seq_length)

    # Note: We use a very simple setting here (assuming all levels have the same # of channels.
    channel_sizes = [args.nhid]*args.levels
    kernel_size = args.ksize
    dropout = args.dropout
    model = TCN(input_channels, n_classes, channel_sizes, kernel_size=kernel_size, dropout=dropout)

    lr = args.lr
    optimizer = getattr(optim, args.optim)(model.parameters(), lr=lr)
    test_losses = []

    def train(epoch):
        nonlocal lr                                 # differs: global lr
        model.train()
        batch_idx = 1
        total_loss = 0
        for i in range(0, X_train.size(0), batch_size):
            if i + batch_size > X_train.size(0):
                x, y = X_train[i:], Y_train[i:]
            else:
                x, y = X_train[i:(i+batch_size)], Y_train[i:(i+batch_size)]
            optimizer.zero_grad()
            output = model(x)
            loss = F.mse_loss(output, y)
            loss.backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            batch_idx += 1
            total_loss += loss.item()

            if batch_idx % args.log_interval == 0:
                cur_loss = total_loss / args.log_interval
                processed = min(i+batch_size, X_train.size(0))
                print('Train Epoch: {:2d} [{:6d}/{:6d} ({:.0f}%)]\tLearning rate: {:.4f}\tLoss: {:.6f}'.format(
                    epoch, processed, X_train.size(0), 100.*processed/X_train.size(0), lr, cur_loss))
                total_loss = 0

    def evaluate():
        model.eval()
        with torch.no_grad():
            output = model(X_test)
            test_loss = F.mse_loss(output, Y_test)
            print('\nTest set: Average loss: {:.6f}\n'.format(test_loss.item()))
            return test_loss.item()

    test_losses.append(evaluate())                  # differs: the loss before training, to compare with
    for ep in range(1, epochs+1):
        train(ep)
        tloss = evaluate()
        test_losses.append(tloss)
    return types.SimpleNamespace(**locals())


def normed(g, v):
    """weight_norm's weight, g v / ||v||, the norm over every axis but the first."""
    return g * v / np.sqrt((v ** 2).sum(axis=(1, 2), keepdims=True))


def np_block(p, x, pad, dilation, name=""):
    """A TemporalBlock in numpy (dropout off) from its parameters by name: relu(chomp(conv2(relu(chomp(conv1(x))))))
    plus x or a 1x1 convolution of it, through a relu; the causal padding (K - 1) d on each side, the right
    part chomped; conv1's and conv2's weights g v / ||v||."""
    w1 = normed(p[name + "conv1.weight_g"], p[name + "conv1.weight_v"])
    w2 = normed(p[name + "conv2.weight_g"], p[name + "conv2.weight_v"])
    out = relu(np_conv1d(x, w1, p[name + "conv1.bias"], 1, pad, dilation)[:, :, :-pad])
    out = relu(np_conv1d(out, w2, p[name + "conv2.bias"], 1, pad, dilation)[:, :, :-pad])
    res = x if name + "downsample.weight" not in p else np_conv1d(x, p[name + "downsample.weight"],
                                                                  p[name + "downsample.bias"])
    return relu(out + res)


def np_tcn(params, x, levels, kernel_size):
    """The adding problem's TCN in numpy: each level's block (dilation 2^i), then the last step's linear map."""
    h = x
    for i in range(levels):
        h = np_block(params, h, (kernel_size - 1) * 2 ** i, 2 ** i, f"tcn.network.{i}.")
    return h[:, :, -1] @ params["linear.weight"].T + params["linear.bias"]


def test_tcn_temporal_block_is_a_causal_dilated_convolution_with_a_residual_as_a_numpy_loop_computes():
    torch.manual_seed(0)
    block = TemporalBlock(3, 5, kernel_size=3, stride=1, dilation=2, padding=4, dropout=0.2).double()
    block.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 11))
    out = block(torch.tensor(x))
    assert out.shape == (2, 5, 11)                                  # the chomp gives the length back
    np.testing.assert_allclose(out.data, np_block(arrays(block), x, 4, 2), rtol=1e-12, atol=1e-14)
    later = x.copy()
    later[:, :, 7:] += 10.0                                         # change the inputs after t = 6 ...
    np.testing.assert_array_equal(block(torch.tensor(later)).data[:, :, :7], out.data[:, :, :7])    # ... causal
    same = TemporalBlock(4, 4, kernel_size=2, stride=1, dilation=1, padding=1).double().eval()
    assert same.downsample is None
    x4 = np.random.default_rng(1).standard_normal((1, 4, 6))
    np.testing.assert_allclose(same(torch.tensor(x4)).data, np_block(arrays(same), x4, 1, 1), rtol=1e-12, atol=1e-14)


def test_tcn_weight_norm_keeps_the_default_init_of_conv1_and_conv2_and_init_weights_only_reaches_downsample():
    """As in PyTorch: weight_g, weight_v in place of weight (g the norm of each output channel's slice);
    init_weights' normal_(0, 0.01) on conv1.weight is undone by the first forward, on downsample it stays."""
    torch.manual_seed(0)
    block = TemporalBlock(8, 16, kernel_size=7, stride=1, dilation=1, padding=6)
    assert [name for name, _ in block.named_parameters()] == [
        "conv1.bias", "conv1.weight_g", "conv1.weight_v", "conv2.bias", "conv2.weight_g", "conv2.weight_v",
        "downsample.weight", "downsample.bias"]
    assert block.conv1.weight_g.shape == (16, 1, 1) and block.conv1.weight_v.shape == (16, 8, 7)
    assert 0.008 < block.conv1.weight.data.std() < 0.012            # init_weights wrote N(0, 0.01) ...
    block(torch.randn(2, 8, 10))
    bound = 1 / math.sqrt(8 * 7)                                    # ... the forward computed g v / ||v|| again:
    w = block.conv1.weight.data                                     # kaiming_uniform(a=sqrt 5), within +-1/sqrt(fan_in)
    assert np.abs(w).max() <= bound and w.std() > 0.5 * bound / math.sqrt(3)
    np.testing.assert_allclose(w, normed(block.conv1.weight_g.data, block.conv1.weight_v.data), rtol=1e-6)
    assert 0.008 < block.downsample.weight.data.std() < 0.012


def test_tcn_gradients_match_central_differences_of_the_numpy_network(float64_default):
    torch.manual_seed(3)
    model = TCN(2, 1, [3, 3], kernel_size=2, dropout=0.0)
    for p in model.parameters():                    # (weights of order 1, so every unit is sometimes active)
        nn.init.normal_(p, 0, 0.5)
    x = np.random.default_rng(2).standard_normal((2, 2, 6))
    y = np.random.default_rng(3).standard_normal((2, 1))
    loss = F.mse_loss(model(torch.tensor(x)), torch.tensor(y))
    loss.backward()
    params = arrays(model)
    expected = gradient_by_central_differences(lambda q: np.mean((np_tcn(q, x, 2, 2) - y) ** 2), params)
    np.testing.assert_allclose(loss.item(), np.mean((np_tcn(params, x, 2, 2) - y) ** 2), rtol=1e-12)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, expected[name], rtol=1e-6, atol=1e-9, err_msg=name)


def test_tcn_adding_problem_learns_the_sum_far_below_the_variance_of_the_target():
    """Eight epochs of add_test.py on sequences of 10: the test loss falls from the untrained model's to a
    quarter of Var(Y) = 1/6 (the sum of two uniforms), the best a constant prediction can do. (Without
    weight_norm, and so with init_weights' N(0, 0.01) on every convolution, it was still above half of 1/6
    after as many epochs.)"""
    run, printed = quietly(adding_problem, ["--seq_len", "10", "--levels", "3", "--nhid", "16", "--ksize", "3",
                                            "--epochs", "8", "--lr", "0.008", "--n_train", "1024",
                                            "--log-interval", "16"])
    assert run.X_train.shape == (1024, 2, 10) and run.Y_train.shape == (1024, 1)
    mask = run.X_train.data[:, 1]
    assert (mask.sum(axis=1) == 2).all()                                        # two marked positions each
    np.testing.assert_allclose(run.Y_train.data[:, 0], (run.X_train.data[:, 0] * mask).sum(axis=1), rtol=1e-6)
    assert len(run.test_losses) == 9 and run.test_losses[-1] < 0.25 / 6 < 1 / 6 < run.test_losses[0]
    assert "Train Epoch:  1 [   480/  1024 (47%)]" in printed and "Test set: Average loss" in printed


# ---- 2. plot_grad_flow: the mean and max |gradient| of each weight, after backward ------------------------

class Recorder:
    """A stand-in for matplotlib's pyplot and Line2D (differs: no plotting here): every call is kept."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs))

    def __call__(self, *args, **kwargs):
        self.calls.append(("Line2D", args, kwargs))


plt, Line2D = Recorder(), Recorder()


# RoshanRane's answer on discuss.pytorch.org, "Check gradient flow in network"
# (https://discuss.pytorch.org/t/check-gradient-flow-in-network/15063/7), as copied into many repositories
# (the code index holds it in at least eight; this is their common text).
def plot_grad_flow(named_parameters):
    '''Plots the gradients flowing through different layers in the net during training.
    Can be used for checking for possible gradient vanishing / exploding problems.

    Usage: Plug this function in Trainer class after loss.backwards() as
    "plot_grad_flow(self.model.named_parameters())" to visualize the gradient flow'''
    ave_grads = []
    max_grads= []
    layers = []
    for n, p in named_parameters:
        if(p.requires_grad) and ("bias" not in n):
            layers.append(n)
            ave_grads.append(np.abs(p.grad).mean())     # differs: p.grad.abs().mean(): a gradient is a numpy
            max_grads.append(np.abs(p.grad).max())      # array here (docs/pytorch.md), without .abs()
    plt.bar(np.arange(len(max_grads)), max_grads, alpha=0.1, lw=1, color="c")
    plt.bar(np.arange(len(max_grads)), ave_grads, alpha=0.1, lw=1, color="b")
    plt.hlines(0, 0, len(ave_grads)+1, lw=2, color="k" )
    plt.xticks(range(0,len(ave_grads), 1), layers, rotation="vertical")
    plt.xlim(left=0, right=len(ave_grads))
    plt.ylim(bottom = -0.001, top=0.02) # zoom in on the lower gradient regions
    plt.xlabel("Layers")
    plt.ylabel("average gradient")
    plt.title("Gradient flow")
    plt.grid(True)
    plt.legend([Line2D([0], [0], color="c", lw=4),
                Line2D([0], [0], color="b", lw=4),
                Line2D([0], [0], color="k", lw=4)], ['max-gradient', 'mean-gradient', 'zero-gradient'])


def test_plot_grad_flow_of_a_tcn_plots_each_weights_mean_and_max_gradient_magnitude(float64_default):
    """After backward on the adding problem's TCN, the bars are mean |dL/dw| and max |dL/dw| of each
    non-bias parameter (weight_norm's g and v, the 1x1 downsample, the readout), in named_parameters'
    order, against central differences of the numpy network."""
    torch.manual_seed(5)
    model = TCN(2, 1, [3, 3], kernel_size=2, dropout=0.0)
    for p in model.parameters():
        nn.init.normal_(p, 0, 0.5)
    x, y = np.random.default_rng(4).standard_normal((3, 2, 5)), np.random.default_rng(5).standard_normal((3, 1))
    F.mse_loss(model(torch.tensor(x)), torch.tensor(y)).backward()
    plt.calls.clear(), Line2D.calls.clear()
    plot_grad_flow(model.named_parameters())
    expected = gradient_by_central_differences(lambda q: np.mean((np_tcn(q, x, 2, 2) - y) ** 2), arrays(model))
    names = [name for name in expected if "bias" not in name]
    assert plt.calls[3] == ("xticks", (range(0, len(names)), names), {"rotation": "vertical"})
    assert names == ["tcn.network.0.conv1.weight_g", "tcn.network.0.conv1.weight_v", "tcn.network.0.conv2.weight_g",
                     "tcn.network.0.conv2.weight_v", "tcn.network.0.downsample.weight", "tcn.network.1.conv1.weight_g",
                     "tcn.network.1.conv1.weight_v", "tcn.network.1.conv2.weight_g", "tcn.network.1.conv2.weight_v",
                     "linear.weight"]
    (_, (_, max_bars), _), (_, (_, mean_bars), _) = plt.calls[:2]
    np.testing.assert_allclose(max_bars, [np.abs(expected[n]).max() for n in names], rtol=1e-6)
    np.testing.assert_allclose(mean_bars, [np.abs(expected[n]).mean() for n in names], rtol=1e-6)
    assert [call[2]["color"] for call in Line2D.calls] == ["c", "b", "k"] and plt.calls[-1][0] == "legend"


# ---- 3. fastai course part 2, lesson 10: activation statistics with forward hooks ------------------------

# fastai/course22p2 miniai/learner.py (at 459c87f3beca9767e0980397ac26cf923fe9a0c8)
def to_cpu(x):
    if isinstance(x, Mapping): return {k:to_cpu(v) for k,v in x.items()}
    if isinstance(x, list): return [to_cpu(o) for o in x]
    if isinstance(x, tuple): return tuple(to_cpu(list(x)))
    res = x.detach().cpu()
    return res.float() if res.dtype==torch.float16 else res


# fastai/course22p2 nbs/10_activations.ipynb (at 0c752694443c7c4063a1874a683b1a6eda239f66) and the miniai/activations.py
# exported from it (at 0a3c31e834d42045632cc1ba942bbf995864e59b). The notebook's convolutions are 2-d, over 28x28
# Fashion-MNIST images; here too, over made-up 28x28 images (they were 1-d, over sequences of 28, when the library had
# no Conv2d).
def set_seed(seed):
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


def conv(ni, nf, ks=3, act=True):
    res = nn.Conv2d(ni, nf, stride=2, kernel_size=ks, padding=ks//2)
    if act: res = nn.Sequential(res, nn.ReLU())
    return res


def cnn_layers():
    return [
        conv(1 ,8, ks=5),        #14x14
        conv(8 ,16),             #7x7
        conv(16,32),             #4x4
        conv(32,64),             #2x2
        conv(64,10, act=False),  #1x1
        nn.Flatten()]


class Learner:
    """A stand-in for miniai's Learner with TrainCB (differs: its callbacks need fastcore, torcheval and
    fastprogress): each epoch trains on dls.train (predict, loss, backward, step, zero_grad) and then runs
    dls.valid under no_grad with the model in eval mode, as Learner.fit does. It keeps a copy of the
    parameters each batch saw, so the tests can recompute the activations in numpy."""

    def __init__(self, model, dls, loss_func, lr, cbs=None):
        self.model, self.dls, self.loss_func, self.lr = model, dls, loss_func, lr
        self.seen = []          # (parameters, inputs) of every batch

    def one_epoch(self, training):
        self.model.train(training)
        for xb, yb in (self.dls.train if training else self.dls.valid):
            self.seen.append(({n: np.array(p.data, dtype=np.float64) for n, p in self.model.named_parameters()},
                              xb.numpy()))
            preds = self.model(xb)
            loss = self.loss_func(preds, yb)
            if training:
                loss.backward()
                self.opt.step()
                self.opt.zero_grad()

    def fit(self, n_epochs=1):
        self.opt = optim.SGD(self.model.parameters(), self.lr)
        for _ in range(n_epochs):
            self.one_epoch(True)
            torch.no_grad()(self.one_epoch)(False)


def fashion_like_dls(bs=16, n_train=48, n_valid=16, seed=0):
    """Made-up data in the notebook's place: 1 x 28 x 28 images in [0, 1], 10 classes."""
    rng = np.random.default_rng(seed)
    xs, ys = rng.random((n_train + n_valid, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, n_train + n_valid)
    batches = [(torch.tensor(xs[i:i + bs]), torch.tensor(ys[i:i + bs])) for i in range(0, n_train + n_valid, bs)]
    return types.SimpleNamespace(train=batches[:n_train // bs], valid=batches[n_train // bs:])


dls = fashion_like_dls()


def fit(model, epochs=1, xtra_cbs=None):
    learn = Learner(model, dls, loss_func=F.cross_entropy, lr=0.6, cbs=None)     # differs: cbs=cbs+fc.L(xtra_cbs)
    learn.fit(epochs)
    return learn


def np_layer_outputs(params, x):
    """Each of the six layers' output in numpy, from the parameters by name (a conv layer i is `i.0.` in a
    Sequential with its ReLU, `i.` alone for the last)."""
    outputs, h = [], np.asarray(x, dtype=np.float64)
    for i, (ks, act) in enumerate([(5, True), (3, True), (3, True), (3, True), (3, False)]):
        name = f"{i}.0." if act else f"{i}."
        h = np_conv2d(h, params[name + "weight"], params[name + "bias"], stride=2, padding=ks // 2)
        h = relu(h) if act else h
        outputs.append(h)
    outputs.append(h.reshape(len(h), -1))
    return outputs


def test_fastai_forward_hooks_with_partial_record_each_layers_mean_and_std_for_every_batch():
    set_seed(1)
    model = nn.Sequential(*cnn_layers())
    act_means = [[] for _ in model]
    act_stds  = [[] for _ in model]

    def append_stats(i, mod, inp, outp):
        act_means[i].append(to_cpu(outp).mean())
        act_stds [i].append(to_cpu(outp).std())

    for i,m in enumerate(model): m.register_forward_hook(partial(append_stats, i))
    learn = fit(model)
    assert [len(o) for o in act_means] == [4] * 6 == [len(o) for o in act_stds]   # 3 training batches, 1 valid
    for batch, (params, xb) in enumerate(learn.seen):
        for i, out in enumerate(np_layer_outputs(params, xb)):
            np.testing.assert_allclose(act_means[i][batch].item(), out.mean(), rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(act_stds[i][batch].item(), out.std(ddof=1), rtol=1e-4, atol=1e-6)
    assert act_means[5][0].shape == () and act_means[5][0].requires_grad is False


# miniai/activations.py: Hook and Hooks
class Hook():
    def __init__(self, m, f): self.hook = m.register_forward_hook(partial(f, self))
    def remove(self): self.hook.remove()
    def __del__(self): self.remove()


class Hooks(list):
    def __init__(self, ms, f): super().__init__([Hook(m, f) for m in ms])
    def __enter__(self, *args): return self
    def __exit__ (self, *args): self.remove()
    def __del__(self): self.remove()
    def __delitem__(self, i):
        self[i].remove()
        super().__delitem__(i)
    def remove(self):
        for h in self: h.remove()


def append_stats(hook, mod, inp, outp):
    if not hasattr(hook,'stats'): hook.stats = ([],[])
    acts = to_cpu(outp)
    hook.stats[0].append(acts.mean())
    hook.stats[1].append(acts.std())


def test_fastai_hook_class_keeps_stats_on_the_hook_and_remove_takes_it_off():
    set_seed(1)
    model = nn.Sequential(*cnn_layers())
    hooks = [Hook(l, append_stats) for l in model[:5].children()]
    learn = fit(model)
    for i, h in enumerate(hooks):
        expected = [np_layer_outputs(params, xb)[i] for params, xb in learn.seen]
        np.testing.assert_allclose([m.item() for m in h.stats[0]], [o.mean() for o in expected], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose([s.item() for s in h.stats[1]], [o.std(ddof=1) for o in expected], rtol=1e-4)
    for h in hooks:
        h.remove()
    model(dls.train[0][0])
    assert [len(h.stats[0]) for h in hooks] == [4] * 5                 # removed: nothing more recorded
    del hooks[0]                                                    # (__del__ removes again: nothing happens)


# the notebook's last append_stats (miniai/activations.py), with a histogram of |activations|, and its plots' data
def append_stats(hook, mod, inp, outp):  # noqa: F811 (the notebook redefines it)
    if not hasattr(hook,'stats'): hook.stats = ([],[],[])
    acts = to_cpu(outp)
    hook.stats[0].append(acts.mean())
    hook.stats[1].append(acts.std())
    hook.stats[2].append(acts.abs().histc(40,0,10))


def get_hist(h): return torch.stack(h.stats[2]).t().float().log1p()


def get_min(h):
    h1 = torch.stack(h.stats[2]).t().float()
    return h1[0]/h1.sum(0)


def test_fastai_hooks_context_manager_histograms_and_the_dead_chart_fraction():
    """`with Hooks(model, append_stats)` hooks all six layers and takes the hooks off at the end; get_hist is
    log(1 + counts) of |activations| in 40 bins over [0, 10], batch by batch, and get_min the fraction in the
    first bin (near zero: the "dead" ReLU units), both against numpy's histogram."""
    set_seed(1)
    model = nn.Sequential(*cnn_layers())
    with Hooks(model, append_stats) as hooks:
        learn = fit(model)
        assert len(hooks) == 6 and all(len(h.stats[2]) == 4 for h in hooks)
    model(dls.train[0][0])
    assert all(len(h.stats[2]) == 4 for h in hooks) and not model[0]._forward_hooks
    for i, h in enumerate(hooks):
        counts = np.stack([np.histogram(np.abs(np_layer_outputs(params, xb)[i]), 40, range=(0, 10))[0]
                           for params, xb in learn.seen], axis=1)       # (40 bins, 4 batches)
        np.testing.assert_array_equal(get_hist(h).data, np.log1p(counts).astype(np.float32))
        np.testing.assert_allclose(get_min(h).data, counts[0] / counts.sum(0), rtol=1e-6)
    # the first bin, [0, 0.25), holds the first ReLU's zeros (over a third of its outputs) and its smallest outputs
    zeros = np.mean(np_layer_outputs(*learn.seen[0])[0] == 0)
    assert 0.25 < zeros < 0.5 and zeros < get_min(hooks[0]).data[0] < 0.9


# ---- 4. gradient norms per gate of an LSTM, from tensor hooks on its weights and a forward pre-hook --------

# Found by the code index (a file without its repository), `register_grad_storing_hook`:
def register_grad_storing_hook(module: nn.Module):
	name2norm_list = dict()
	rnn_name = module.rnn.__class__.__name__
	for name,p in module.named_parameters():
		norm_storage = _StoreWeightNorm(name, rnn_name, name2norm_list)
		p.register_hook(norm_storage)
	def initialize_records(module, args):
		for name in name2norm_list.keys():
			if name2norm_list[name][-1]:
				name2norm_list[name].append([])
	module.register_forward_pre_hook(initialize_records)
	return name2norm_list

class _StoreWeightNorm(object):
	def __init__(self, name, rnn_name, name2norm_list):
		self.name = name
		self.name2norm_list = name2norm_list
		if 'rnn' in name and rnn_name!='RNN':
			if rnn_name=='LSTM':
				self.suffices = ['|input_gate','|forget_gate','|cell_gate','|output_gate']
			elif rnn_name=='GRU':
				self.suffices = ['|reset_gate','|update_gate','|new_gate']
		else:
			self.suffices = ['']
		for suffix in self.suffices:
			self.name2norm_list[name+suffix] = [[]]

	def __call__(self, grad: torch.Tensor):
		for suffix,g in zip(self.suffices, grad.chunk(chunks=len(self.suffices), dim=0)):
			norm = torch.linalg.norm(g.flatten(), ord=2.0, dim=0)
			self.name2norm_list[self.name+suffix][-1].append(norm.item())

	def _store_grad_norm(self, grad: torch.Tensor, name: str):
		norm = torch.linalg.norm(grad.flatten(), ord=2.0, dim=0)
		self.name2norm_list[name][-1].append(norm.item())


class Tagger(nn.Module):
    """A model with the `rnn` attribute the function reads (differs: the script's own model is not in the file)."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn
        self.out = nn.Linear(rnn.hidden_size, 2)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.out(output)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def np_tagger(p, x, cell="LSTM"):
    """The Tagger in numpy, from its parameters by name: an LSTM (gates i, f, g, o) or GRU (r, z, n) over x
    (T, B, D) from zero states, then the linear readout at every step."""
    h = np.zeros((x.shape[1], p["rnn.weight_hh_l0"].shape[1]))
    c, outputs = np.zeros_like(h), []
    for x_t in x:
        gi = x_t @ p["rnn.weight_ih_l0"].T + p["rnn.bias_ih_l0"]
        gh = h @ p["rnn.weight_hh_l0"].T + p["rnn.bias_hh_l0"]
        if cell == "LSTM":
            i, f, g, o = np.split(gi + gh, 4, axis=1)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        else:
            (ir, iz, i_n), (hr, hz, h_n) = np.split(gi, 3, axis=1), np.split(gh, 3, axis=1)
            r, z = sigmoid(ir + hr), sigmoid(iz + hz)
            h = (1 - z) * np.tanh(i_n + r * h_n) + z * h
        outputs.append(h @ p["out.weight"].T + p["out.bias"])
    return np.stack(outputs)


@pytest.mark.parametrize("layer", ["LSTM", "GRU"])
def test_gradient_norms_per_gate_are_recorded_once_per_backward_in_a_new_list_per_forward(layer, float64_default):
    torch.manual_seed(0)
    model = Tagger(getattr(nn, layer)(3, 4))
    name2norm_list = register_grad_storing_hook(model)
    gates = 4 if layer == "LSTM" else 3
    assert len(name2norm_list) == 4 * gates + 2 and name2norm_list["out.weight"] == [[]]
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((5, 2, 3)), rng.integers(0, 2, (5, 2))
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    expected = []
    for step in range(3):
        params = arrays(model)

        def loss_of(q):
            logits = np_tagger(q, x, layer).reshape(-1, 2)
            log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            return -log_probs[np.arange(10), y.reshape(-1)].mean()
        expected.append(gradient_by_central_differences(loss_of, params))
        optimizer.zero_grad()
        F.cross_entropy(model(torch.tensor(x)).reshape(-1, 2), torch.tensor(y.reshape(-1))).backward()
        optimizer.step()
    suffices = (['|input_gate', '|forget_gate', '|cell_gate', '|output_gate'] if layer == "LSTM"
                else ['|reset_gate', '|update_gate', '|new_gate'])
    for name, grads in ((n, [e[n] for e in expected]) for n in params):
        for k, suffix in enumerate(suffices if name.startswith("rnn") else ['']):
            records = name2norm_list[name + suffix]
            assert [len(r) for r in records] == [1, 1, 1], (name, suffix)   # a list per forward, a norm per backward
            wanted = [np.linalg.norm(np.split(g, len(suffices) if suffix else 1, axis=0)[k]) for g in grads]
            np.testing.assert_allclose([r[0] for r in records], wanted, rtol=1e-6, err_msg=name + suffix)


# ---- 5. vmikulik/LSTM-text-gen: an LSTM whose hidden states' gradients are clipped by tensor hooks ----------

# model.py (at 7f1418072078a076f8832e6431a6a2c73a41dc50)
"""
This module implements an LSTM with gradient clipping and dropout.

Vladimir Mikulik, 2019
"""


def clip_grad_on_backprop(x, min, max):
    # instructs autograd to clamp the value of the gradient
    # to the specified range in the midst of backprop.
    # this is needed to stabilise backpropagation-through-time.
    if x.requires_grad:
        x.register_hook(lambda grad: grad.clamp(min, max))
    return x


class LSTMCell(nn.Module):
    """
    A wrapper for torch.nn.LSTMCell with dropout and gradient clipping.
    """
    def __init__(self, n_input, n_hidden, dropout, grad_clipping=None):
        """
        Args:
            n_input (int): input width.
            n_hidden (int): hidden width.
            dropout (float in [0,1]): dropout probability after cell.
            grad_clipping (int or None): if not None, the gradient
                through this module during backprop will be clipped
                to values in [-grad_clipping, grad_clipping].
                This aids convergence in backpropagation through time.
        """
        super(LSTMCell, self).__init__()
        self.grad_clipping = grad_clipping
        self.cell = nn.LSTMCell(n_input, n_hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, batch, state):
        hidden, cell = self.cell(batch, state)
        if self.grad_clipping is not None:
            hidden = clip_grad_on_backprop(hidden,
                                           -self.grad_clipping,
                                           self.grad_clipping)
        hidden = self.dropout(hidden)
        state = (hidden, cell)
        return hidden, state


class LSTM(nn.Module):
    """
    An LSTM net with a logsoftmax head.
    Supports dropout and gradient clipping during backprop.
    (the rest of the docstrings, on shapes, as in the file)
    """
    def __init__(self,
                 n_input,
                 n_hidden,
                 n_output,
                 n_layers,
                 dropout=0.5,
                 grad_clipping=10):
        super(LSTM, self).__init__()
        self.n_hidden = n_hidden
        self.n_output = n_output
        self.n_layers = n_layers

        self.cells = []
        for i in range(n_layers):
            cell = LSTMCell(n_hidden if i > 0 else n_input,
                            n_hidden,
                            dropout,
                            grad_clipping)
            self.cells.append(cell)
            setattr(self, 'cell_{}'.format(i), cell)

        self.linear = nn.Linear(n_hidden, n_output)
        self.softmax = nn.LogSoftmax(2)

    def forward_pre_softmax(self, batch, state):
        seq_len = batch.size(0)
        batch_size = batch.size(1)

        output = batch.new_zeros(seq_len, batch_size, self.n_hidden)

        # run input through LSTM layers
        for t in range(seq_len):
            x = batch[t]
            for l in range(self.n_layers):
                x, state[l] = self.cells[l](x, state[l])
            output[t] = x

        # resize from LSTM layer width to output width
        output = self.linear(output)
        return output, state

    def forward(self, batch, state):
        output, state = self.forward_pre_softmax(batch, state)
        output = self.softmax(output)
        return output, state

    def sample(self, batch, state, temperature=1):
        output, state = self.forward_pre_softmax(batch, state)
        output = self.softmax(output / temperature)
        return output, state

    def init_state(self, batch):
        batch_size = batch.size(1)

        state = []
        for l in range(self.n_layers):
            hidden = batch.new_zeros(batch_size, self.n_hidden)
            cells = batch.new_zeros(batch_size, self.n_hidden)
            state.append((hidden, cells))
        return state


# data_handling.py (at 7f1418072078a076f8832e6431a6a2c73a41dc50)
class DataLoader():
    """
    A loader for .txt input files.
    """

    def __init__(self, filename, all_letters, seq_length,
                 device, verbose=False):
        full_text = open(filename).read()
        full_text = full_text.replace("\n\n", "$")  # end-of-paragraph symbol
        # filter out illegal letters from the text
        full_text = ''.join([c for c in full_text if c in all_letters])
        # chop up the text into smaller sequences, truncating at the end
        # to ensure equal-sized batch lengths
        self.seqs = [full_text[i-seq_length:i]
                     for i in range(seq_length, len(full_text), seq_length)]
        self.n_seqs = len(self.seqs)
        if verbose and self.n_seqs < 50:
            print("Warning: small dataset (less than 50 sequences).")
        self.all_letters = all_letters + "$"
        self.n_letters = len(self.all_letters)

        # precompute a list of training pairs for efficient retrieval
        # during training
        if verbose:
            print("precomputing data tensors...")
        self.data = []
        for i, seq in enumerate(self.seqs, 1):
            tensor = self.seq2tensor(seq, truncate=True).to(device)
            target = self.seq2target(seq).to(device)
            self.data.append((tensor, target))
            if verbose and i % (self.n_seqs // 5) == 0:
                print("{:.2f}%".format(i/len(self.seqs)*100))

        if verbose:
            print("100%: done")

    def seq2tensor(self, seq, truncate=False):
        if truncate:
            # in training, we don't have the pair
            # to the last letter, so we discard it
            seq = seq[:-1]
        tensor = torch.zeros(len(seq), self.n_letters)
        for i, letter in enumerate(seq):
            tensor[i][self.all_letters.index(letter)] = 1
        return tensor

    def seq2target(self, seq):
        # we don't have the pair to the first letter, so we discard it
        target = seq[1:]
        indices = [self.all_letters.index(letter) for letter in target]
        return torch.LongTensor(indices)

    def fast_minibatch(self, size):
        idxs = np.random.randint(0, self.n_seqs, size)
        pairs = [self.data[i] for i in idxs]

        # this acts as 'unzip': https://stackoverflow.com/questions/12974474
        seqs, targets = zip(*pairs)

        return torch.stack(seqs, 1), torch.stack(targets, 1)


# training.py (at 7f1418072078a076f8832e6431a6a2c73a41dc50); `from torch.optim import Adam` is optim.Adam here
def train(model, data, training_params, output_params):

    print_every = output_params.get('print every', 200)
    plot_every = output_params.get('plot every', 50)
    num_iterations = training_params.get('number of iterations', 2000)
    batch_size = training_params.get('batch size', 128)
    subseq_length = training_params.get('subsequence length', 100)
    optimiser = optim.Adam(model.parameters(),
                           lr=training_params.get('learning rate', 0.0005))
    criterion = torch.nn.NLLLoss(ignore_index=-1)

    # helper functions
    def time_since(since):
        """
        returns a nicely-formatted string showing time elapsed.
        """
        now = time.time()
        s = now - since
        m = int(s // 60)
        s -= m * 60
        return "{:>3d}m {:>2.0f}s".format(m, s)

    def detach(state):
        """
        truncates backpropagation to the start of this subsequence
        """
        return [[s.detach() for s in layer] for layer in state]

    # training step
    def train_on_batch(input_tensor, target_tensor):
        total_loss = 0
        state = model.init_state(input_tensor)

        # slice input into shorter subsequences
        # that will have manageable gradients
        for i in range(0,
                       max(input_tensor.size(0) - subseq_length, 1),
                       subseq_length):

            subsequence_input = input_tensor[i:i+subseq_length]
            subsequence_target = target_tensor[i:i+subseq_length]

            # forward pass
            state = detach(state)
            output, state = model(subsequence_input, state)
            output = output.transpose(1, 2)
            loss = criterion(output, subsequence_target)

            # backward pass
            model.zero_grad()
            loss.backward()
            optimiser.step()

            total_loss += loss.item()

        # make sure reported loss is invariant to seq_length and batch_size
        normalizing_const = input_tensor.size(0) * input_tensor.size(1)
        return total_loss / normalizing_const

    # main loop
    plotted_losses = []
    plotted_iterations = []
    iter_loss = 0
    model.train()
    start = time.time()
    for i in range(1, num_iterations+1):

        # take training step
        input_tensor, target_tensor = data.fast_minibatch(batch_size)
        loss = train_on_batch(input_tensor, target_tensor)

        # log metrics
        iter_loss += loss
        if i % print_every == 0:
            print("{} ({} {:.2f}%) loss: {:.7f}".format(
                time_since(start),
                i,
                i/num_iterations*100,
                iter_loss / plot_every))
        if i % plot_every == 0:
            plotted_losses.append(iter_loss / plot_every)
            plotted_iterations.append(i)
            iter_loss = 0

    return plotted_iterations, plotted_losses


def np_clipped_lstm_grads(p, x, targets, n_layers, clip):
    """The LSTM net's NLL loss (mean over the (T, B) targets) and its gradients in numpy, by hand-written BPTT
    from zero states, dropout off: the gradient arriving at each cell's hidden output h_t (from the layer
    above or the readout, plus from step t + 1) is clamped to [-clip, clip] before it goes further, as the
    hooks clamp it."""
    T, B = targets.shape
    H = p["cell_0.cell.weight_hh"].shape[1]
    h, c = [np.zeros((B, H)) for _ in range(n_layers)], [np.zeros((B, H)) for _ in range(n_layers)]
    caches, tops = [], []
    for t in range(T):
        inp = x[t]
        for l in range(n_layers):
            q = f"cell_{l}.cell."
            z = inp @ p[q + "weight_ih"].T + p[q + "bias_ih"] + h[l] @ p[q + "weight_hh"].T + p[q + "bias_hh"]
            i, f, g, o = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H]), np.tanh(z[:, 2 * H:3 * H]), sigmoid(z[:, 3 * H:])
            c_new = f * c[l] + i * g
            h_new = o * np.tanh(c_new)
            caches.append((t, l, inp, h[l], c[l], i, f, g, o, c_new))
            h[l], c[l], inp = h_new, c_new, h_new
        tops.append(inp)
    logits = np.stack(tops) @ p["linear.weight"].T + p["linear.bias"]          # (T, B, V)
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    kept = targets != -1
    loss = -log_probs[kept, targets[kept]].sum() / kept.sum()
    d_logits = np.exp(log_probs)
    d_logits[kept, targets[kept]] -= 1
    d_logits *= kept[..., None] / kept.sum()
    grads = {name: np.zeros_like(value) for name, value in p.items()}
    grads["linear.weight"] = np.einsum("tbv,tbh->vh", d_logits, np.stack(tops))
    grads["linear.bias"] = d_logits.sum(axis=(0, 1))
    dh_next, dc_next = [np.zeros((B, H)) for _ in range(n_layers)], [np.zeros((B, H)) for _ in range(n_layers)]
    d_from_above = None
    for t, l, inp, h_prev, c_prev, i, f, g, o, c_new in reversed(caches):
        q = f"cell_{l}.cell."
        above = d_logits[t] @ p["linear.weight"] if l == n_layers - 1 else d_from_above
        dh = np.clip(above + dh_next[l], -clip, clip)
        dc = dc_next[l] + dh * o * (1 - np.tanh(c_new) ** 2)
        dz = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g ** 2),
                             dh * np.tanh(c_new) * o * (1 - o)], axis=1)
        grads[q + "weight_ih"] += dz.T @ inp
        grads[q + "weight_hh"] += dz.T @ h_prev
        grads[q + "bias_ih"] += dz.sum(axis=0)
        grads[q + "bias_hh"] += dz.sum(axis=0)
        dh_next[l], dc_next[l] = dz @ p[q + "weight_hh"], dc * f
        d_from_above = dz @ p[q + "weight_ih"]
    return loss, grads


@pytest.mark.parametrize("clip", [1e-3, 0.02, None])
def test_lstm_with_hidden_gradients_clamped_by_hooks_matches_numpy_bptt_that_clamps_dL_dh(clip, float64_default):
    """Two layers, five steps: each cell's hidden output has a hook clamping its whole gradient (from the
    readout or the layer above, plus from the next step) before it reaches the cell's weights and the step
    before; the loss is NLLLoss(ignore_index=-1) on (T, V, B) log-probabilities, as training.py arranges
    them. With clip None nothing is clamped, and numpy's BPTT is checked by central differences too."""
    torch.manual_seed(0)
    model = LSTM(4, 5, 4, 2, dropout=0.0, grad_clipping=clip)
    assert [name for name, _ in model.named_parameters()][:4] == [
        "cell_0.cell.weight_ih", "cell_0.cell.weight_hh", "cell_0.cell.bias_ih", "cell_0.cell.bias_hh"]
    rng = np.random.default_rng(0)
    x = np.eye(4)[rng.integers(0, 4, (5, 3))]                       # one-hot input (T, B, V)
    targets = rng.integers(0, 4, (5, 3))
    targets[4, 1] = -1                                              # ignored
    batch = torch.tensor(x)
    output, state = model(batch, model.init_state(batch))
    loss = torch.nn.NLLLoss(ignore_index=-1)(output.transpose(1, 2), torch.tensor(targets))
    loss.backward()
    params = arrays(model)
    expected_loss, expected = np_clipped_lstm_grads(params, x, targets, 2, np.inf if clip is None else clip)
    np.testing.assert_allclose(loss.item(), expected_loss, rtol=1e-12)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, expected[name], rtol=1e-9, atol=1e-12, err_msg=name)
    if clip is None:
        by_differences = gradient_by_central_differences(
            lambda q: np_clipped_lstm_grads(q, x, targets, 2, np.inf)[0], params)
        for name in params:
            np.testing.assert_allclose(expected[name], by_differences[name], rtol=1e-6, atol=1e-9, err_msg=name)
    else:
        unclipped = np_clipped_lstm_grads(params, x, targets, 2, np.inf)[1]
        assert not np.allclose(expected["cell_0.cell.weight_ih"], unclipped["cell_0.cell.weight_ih"])
    assert len(state) == 2 and state[1][0].shape == (3, 5)


def test_lstm_sample_is_log_softmax_of_the_logits_over_the_temperature(float64_default):
    torch.manual_seed(1)
    model = LSTM(3, 4, 3, 1, dropout=0.0, grad_clipping=None)
    batch = torch.tensor(np.eye(3)[[[0, 1], [2, 2]]])
    logits, _ = model.forward_pre_softmax(batch, model.init_state(batch))
    sampled, _ = model.sample(batch, model.init_state(batch), temperature=0.5)
    scaled = logits.data / 0.5
    np.testing.assert_allclose(sampled.data, scaled - np.log(np.exp(scaled).sum(axis=2, keepdims=True)), rtol=1e-12)


def test_lstm_text_generator_trains_on_a_repeating_text_with_truncated_bptt(tmp_path):
    """training.py's loop on sequences of 25 steps: two subsequences of 10 (its `range(0, max(25 - 10, 1), 10)`;
    the last 5 steps are not trained on, as in the script), the state detached between them, Adam, and the
    hooks clipping at 10. On a text that repeats "abcd " the mean loss per character falls from about
    log(6) (six letters with "$") to a small fraction of it (each letter fixes the next)."""
    path = tmp_path / "text.txt"
    path.write_text("abcd " * 200)
    np.random.seed(0)
    torch.manual_seed(0)
    data = DataLoader(str(path), "abcd ", 26, torch.device("cpu"))
    assert data.n_letters == 6 and data.n_seqs == 38
    batch, target = data.fast_minibatch(4)
    assert batch.shape == (25, 4, 6) and target.shape == (25, 4) and target.dtype == np.int64
    np.testing.assert_array_equal(batch.data.argmax(axis=2)[1:], target.data[:-1])   # the next letter is the target
    model = LSTM(6, 16, 6, 1, dropout=0.0)
    (iterations, losses), printed = quietly(train, model, data, {'number of iterations': 60, 'batch size': 8,
                                                                 'subsequence length': 10, 'learning rate': 0.02},
                                            {'print every': 20, 'plot every': 20})
    assert iterations == [20, 40, 60]
    per_character = [loss * 25 * 8 / 2 for loss in losses]     # (the script divides the two means' sum by T B)
    assert per_character[0] < 1.2 * math.log(6) and per_character[-1] < 0.05 * math.log(6)
    assert printed.count("loss:") == 3


# ---- 6. PyTorch's "How to save memory by fusing the optimizer step into the backward pass", and the hooks'
# docstring examples ---------------------------------------------------------------------------------------

def adam_by_hand(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Adam's update (torch.optim.Adam's defaults), step after step, in numpy."""
    m, v = np.zeros_like(p), np.zeros_like(p)
    for step, g in enumerate(grads, 1):
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        p = p - lr * (m / (1 - betas[0] ** step)) / (np.sqrt(v / (1 - betas[1] ** step)) + eps)
    return p


def optimizer_step_in_backward_tutorial():
    """pytorch/tutorials intermediate_source/optimizer_step_in_backward_tutorial.py (at
    2a488705e00cc04c12e905e3d68d351c1834661e), its code cells: the ViT is a stand-in (differs:
    `models.vit_l_16(weights='DEFAULT').cuda()`, torchvision's), a linear map of a 1-d "image" of 3 channels
    whose sum is the loss; the CUDA memory snapshots are left out (differs: no CUDA here)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * IMAGE_SIZE, 4))      # differs: the ViT's stand-in
    optimizer = torch.optim.Adam(model.parameters())
    seen, before = [], {n: p.data.copy() for n, p in model.named_parameters()}      # (kept for the tests)

    def train(model, optimizer):
        # create our fake image input: tensor shape is batch_size, channels, height, width
        fake_image = torch.rand(1, 3, IMAGE_SIZE)              # differs: (1, 3, IMAGE_SIZE, IMAGE_SIZE).cuda()
        seen.append(fake_image.numpy())

        # call our forward and backward
        loss = model.forward(fake_image)
        loss.sum().backward()

        # optimizer update
        optimizer.step()
        optimizer.zero_grad()

    # train 3 steps
    for _ in range(3):
        train(model, optimizer)
    after_three_steps = {n: p.data.copy() for n, p in model.named_parameters()}

    # Instead of having just *one* optimizer, we will have a ``dict`` of optimizers
    # for every parameter so we could reference them in our hook.
    optimizer_dict = {p: torch.optim.Adam([p], foreach=False) for p in model.parameters()}

    # Define our hook, which will call the optimizer ``step()`` and ``zero_grad()``
    def optimizer_hook(parameter) -> None:
        optimizer_dict[parameter].step()
        optimizer_dict[parameter].zero_grad()

    # Register the hook onto every parameter
    for p in model.parameters():
        p.register_post_accumulate_grad_hook(optimizer_hook)

    # Now remember our previous ``train()`` function? Since the optimizer has been
    # fused into the backward, we can remove the optimizer step and zero_grad calls.
    def train(model):  # noqa: F811
        # create our fake image input: tensor shape is batch_size, channels, height, width
        fake_image = torch.rand(1, 3, IMAGE_SIZE)              # differs: as above
        seen.append(fake_image.numpy())

        # call our forward and backward
        loss = model.forward(fake_image)
        loss.sum().backward()

        # optimizer update --> no longer needed!
        # optimizer.step()
        # optimizer.zero_grad()

    # delete optimizer memory from before to get a clean slate for the next
    # memory snapshot
    del optimizer

    # train 3 steps. note that we no longer pass the optimizer into train()
    for _ in range(3):
        train(model)
    return model, seen, before, after_three_steps, optimizer_dict


IMAGE_SIZE = 8      # differs: 224


def test_optimizer_step_fused_into_backward_is_adam_per_parameter_in_each_backward_pass():
    """Loss = sum of the 4 outputs, so dL/dW = 1 x^T and dL/db = 1 for each fake image x: three steps of
    the usual loop, then three of the per-parameter Adams stepping inside backward (fresh Adams: their
    step counts start again at 1), against Adam written in numpy; after each fused backward .grad is None."""
    model, seen, before, after_three, optimizer_dict = optimizer_step_in_backward_tutorial()
    weight, bias = model[1].weight, model[1].bias
    assert len(optimizer_dict) == 2 and weight.grad is None and bias.grad is None
    flat = [x.reshape(-1).astype(np.float64) for x in seen]
    w0, b0 = before["1.weight"].astype(np.float64), before["1.bias"].astype(np.float64)
    w3 = adam_by_hand(w0, [np.ones((4, 1)) * x[None, :] for x in flat[:3]])
    b3 = adam_by_hand(b0, [np.ones(4)] * 3)
    np.testing.assert_allclose(after_three["1.weight"], w3, rtol=0, atol=2e-6)
    np.testing.assert_allclose(after_three["1.bias"], b3, rtol=0, atol=2e-6)
    np.testing.assert_allclose(weight.data, adam_by_hand(w3, [np.ones((4, 1)) * x[None, :] for x in flat[3:]]),
                               rtol=0, atol=4e-6)
    np.testing.assert_allclose(bias.data, adam_by_hand(b3, [np.ones(4)] * 3), rtol=0, atol=4e-6)
    assert [state["step"] for state in optimizer_dict[weight].state.values()] == [3]


def test_the_register_hook_and_post_accumulate_grad_hook_docstring_examples():
    """torch/_tensor.py's docstrings (PyTorch 2.13): a hook doubling the gradient, and a post-accumulate hook
    that steps SGD in place, `p.add_(p.grad, alpha=-lr)`, which needs the hooks to run under no_grad, as
    PyTorch runs them (it raised "a leaf tensor that requires grad cannot be changed in place" before: G1)."""
    v = torch.tensor([0., 0., 0.], requires_grad=True)
    h = v.register_hook(lambda grad: grad * 2)  # double the gradient
    v.backward(torch.tensor([1., 2., 3.]))
    assert v.grad.tolist() == [2., 4., 6.]
    h.remove()  # removes the hook

    v = torch.tensor([0., 0., 0.], requires_grad=True)
    lr = 0.01
    # simulate a simple SGD update
    h = v.register_post_accumulate_grad_hook(lambda p: p.add_(p.grad, alpha=-lr))
    v.backward(torch.tensor([1., 2., 3.]))
    assert repr(v) == "tensor([-0.0100, -0.0200, -0.0300], requires_grad=True)"
    assert v.is_leaf and v.requires_grad
    h.remove()  # removes the hook
    v.backward(torch.tensor([1., 1., 1.]))
    np.testing.assert_allclose(v.data, [-0.01, -0.02, -0.03], rtol=1e-6)          # removed: no step this time


def test_hooks_run_with_recording_off_so_what_they_compute_has_no_history():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0], requires_grad=True)
    modes, products = [], []

    def watch(grad):
        modes.append(torch.is_grad_enabled())
        products.append(grad * w)                   # w requires grad: recorded, were the hook not under no_grad

    y = x * 2
    y.register_hook(watch)
    x.register_hook(watch)
    w.register_post_accumulate_grad_hook(lambda p: modes.append(torch.is_grad_enabled()))
    (y * w).sum().backward()
    assert modes == [False, False, False] and torch.is_grad_enabled()
    assert all(not p.requires_grad and p.grad_fn is None for p in products)
    np.testing.assert_array_equal(products[0].data, [1.0, 4.0])     # dL/dy = w, times w
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])              # dL/dx = 2 w
    np.testing.assert_array_equal(w.grad, [6.0, 8.0])              # dL/dw = 2 x


# ---- 7. text CNNs: max pooling over time ----------------------------------------------------------------

# bentrevett/pytorch-sentiment-analysis, "legacy/4 - Convolutional Sentiment Analysis.ipynb" (at
# 8ec35d806d6e435fa761c494ee2a4241b9a3664a): the 1-d model, and the notebook's accuracy, train and evaluate.
# F.max_pool1d was missing (G2).
class CNN1d(nn.Module):
    def __init__(self, vocab_size, embedding_dim, n_filters, filter_sizes, output_dim,
                 dropout, pad_idx):

        super().__init__()

        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx = pad_idx)

        self.convs = nn.ModuleList([
                                    nn.Conv1d(in_channels = embedding_dim,
                                              out_channels = n_filters,
                                              kernel_size = fs)
                                    for fs in filter_sizes
                                    ])

        self.fc = nn.Linear(len(filter_sizes) * n_filters, output_dim)

        self.dropout = nn.Dropout(dropout)

    def forward(self, text):

        #text = [batch size, sent len]

        embedded = self.embedding(text)

        #embedded = [batch size, sent len, emb dim]

        embedded = embedded.permute(0, 2, 1)

        #embedded = [batch size, emb dim, sent len]

        conved = [F.relu(conv(embedded)) for conv in self.convs]

        #conved_n = [batch size, n_filters, sent len - filter_sizes[n] + 1]

        pooled = [F.max_pool1d(conv, conv.shape[2]).squeeze(2) for conv in conved]

        #pooled_n = [batch size, n_filters]

        cat = self.dropout(torch.cat(pooled, dim = 1))

        #cat = [batch size, n_filters * len(filter_sizes)]

        return self.fc(cat)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def binary_accuracy(preds, y):
    """
    Returns accuracy per batch, i.e. if you get 8/10 right, this returns 0.8, NOT 8
    """

    #round predictions to the closest integer
    rounded_preds = torch.round(torch.sigmoid(preds))
    correct = (rounded_preds == y).float() #convert into float for division
    acc = correct.sum() / len(correct)
    return acc


def train_sentiment(model, iterator, optimizer, criterion):     # differs: the notebook's `train`

    epoch_loss = 0
    epoch_acc = 0

    model.train()

    for batch in iterator:

        optimizer.zero_grad()

        predictions = model(batch.text).squeeze(1)

        loss = criterion(predictions, batch.label)

        acc = binary_accuracy(predictions, batch.label)

        loss.backward()

        optimizer.step()

        epoch_loss += loss.item()
        epoch_acc += acc.item()

    return epoch_loss / len(iterator), epoch_acc / len(iterator)


def evaluate(model, iterator, criterion):

    epoch_loss = 0
    epoch_acc = 0

    model.eval()

    with torch.no_grad():

        for batch in iterator:

            predictions = model(batch.text).squeeze(1)

            loss = criterion(predictions, batch.label)

            acc = binary_accuracy(predictions, batch.label)

            epoch_loss += loss.item()
            epoch_acc += acc.item()

    return epoch_loss / len(iterator), epoch_acc / len(iterator)


def np_cnn1d(p, tokens, filter_sizes):
    """CNN1d in numpy (dropout off): embedding rows, each convolution and ReLU, the max over time, the readout."""
    embedded = p["embedding.weight"][tokens].transpose(0, 2, 1)
    pooled = [relu(np_conv1d(embedded, p[f"convs.{i}.weight"], p[f"convs.{i}.bias"])).max(axis=2)
              for i in range(len(filter_sizes))]
    return np.concatenate(pooled, axis=1) @ p["fc.weight"].T + p["fc.bias"]


def test_cnn1d_max_pools_over_time_as_numpy_does_and_its_gradients_match_central_differences(float64_default):
    torch.manual_seed(0)
    model = CNN1d(12, 5, 3, [2, 3, 4], 1, 0.5, pad_idx=1)
    model.eval()
    tokens = np.random.default_rng(0).integers(0, 12, (4, 7))
    tokens[0, 5:] = 1                                               # padding at the end of a sentence
    predictions = model(torch.tensor(tokens)).squeeze(1)
    params = arrays(model)
    np.testing.assert_allclose(predictions.data, np_cnn1d(params, tokens, [2, 3, 4])[:, 0], rtol=1e-12)
    labels = np.array([1.0, 0.0, 1.0, 1.0])

    def bce(q):
        z = np_cnn1d(q, tokens, [2, 3, 4])[:, 0]
        return np.mean(np.maximum(z, 0) - z * labels + np.log1p(np.exp(-np.abs(z))))
    nn.BCEWithLogitsLoss()(predictions, torch.tensor(labels)).backward()
    expected = gradient_by_central_differences(bce, params)
    expected["embedding.weight"][1] = 0                             # the padding row gets no gradient
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, expected[name], rtol=1e-6, atol=1e-9, err_msg=name)
    assert count_parameters(model) == 12 * 5 + 3 * 5 * (2 + 3 + 4) + 9 + 9 + 1


def sentiment_batches(n_batches, seed, batch_size=16, length=9):
    """Made-up reviews in the torchtext iterator's place: a review is positive when it holds token 5."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(n_batches):
        text = rng.integers(2, 20, (batch_size, length))
        text[text == 5] = 6
        positive = rng.random(batch_size) < 0.5
        text[positive, rng.integers(0, length, positive.sum())] = 5
        batches.append(types.SimpleNamespace(text=torch.tensor(text), label=torch.tensor(positive.astype(np.float32))))
    return batches


def test_cnn1d_sentiment_notebook_trains_to_tell_which_reviews_hold_the_word():
    torch.manual_seed(1234)
    INPUT_DIM = 20                                  # differs: len(TEXT.vocab), and smaller sizes below
    EMBEDDING_DIM = 16
    N_FILTERS = 8
    FILTER_SIZES = [3,4,5]
    OUTPUT_DIM = 1
    DROPOUT = 0.5
    PAD_IDX = 1                                     # differs: TEXT.vocab.stoi[TEXT.pad_token]
    model = CNN1d(INPUT_DIM, EMBEDDING_DIM, N_FILTERS, FILTER_SIZES, OUTPUT_DIM, DROPOUT, PAD_IDX)
    pretrained_embeddings = torch.randn(INPUT_DIM, EMBEDDING_DIM)      # differs: TEXT.vocab.vectors
    with torch.no_grad():
        model.embedding.weight.copy_(pretrained_embeddings)            # differs: .weight.data.copy_(...)
    UNK_IDX = 0                                     # differs: TEXT.vocab.stoi[TEXT.unk_token]
    with torch.no_grad():                           # differs: .weight.data[UNK_IDX] = ... (read-only .data)
        model.embedding.weight[UNK_IDX] = torch.zeros(EMBEDDING_DIM)
        model.embedding.weight[PAD_IDX] = torch.zeros(EMBEDDING_DIM)
    assert (model.embedding.weight.data[[0, 1]] == 0).all()

    optimizer = optim.Adam(model.parameters())
    criterion = nn.BCEWithLogitsLoss()
    train_iterator, valid_iterator = sentiment_batches(20, seed=0), sentiment_batches(4, seed=1)
    before = evaluate(model, valid_iterator, criterion)
    for epoch in range(15):                         # differs: N_EPOCHS = 5 on IMDb's 17,500 reviews
        train_loss, train_acc = train_sentiment(model, train_iterator, optimizer, criterion)
    valid_loss, valid_acc = evaluate(model, valid_iterator, criterion)
    assert valid_acc > 0.95 and valid_loss < before[0] / 3 and train_acc > 0.8      # (train: dropout on)
    np.testing.assert_array_equal(model.embedding.weight.data[1], 0)   # the padding row was never trained


# A CS224n (2018-19) assignment 5 solution, schlicht/stanford-nlp a5_public/{cnn,highway,model_embeddings}.py (at
# be2f29448e8ff66b1e720bfccf817a043b195a14): the character-level CNN word embedding. nn.MaxPool1d was missing (G2).
class CNN(nn.Module):

    def __init__(self,
             embed_size: int = 50,
             m_word: int = 21,
             k: int = 5,
             f: int = None):
        super(CNN, self).__init__()

        self.conv = nn.Conv1d(in_channels=embed_size, out_channels=f, kernel_size=k)
        self.maxpool = nn.MaxPool1d(kernel_size=m_word - k + 1)

    def forward(self, x_reshaped: torch.tensor) -> torch.tensor:
        x_conv = self.conv(x_reshaped)
        x_conv_out = self.maxpool(F.relu(x_conv))

        return torch.squeeze(x_conv_out, -1)


class Highway(nn.Module):
    def __init__(self, embed_size):
        super(Highway, self).__init__()
        self.W_proj = nn.Linear(embed_size, embed_size, bias = True)
        self.W_gate = nn.Linear(embed_size, embed_size, bias = True)


    def forward(self, x_conv_out: torch.Tensor) -> torch.Tensor:
        x_proj = F.relu(self.W_proj(x_conv_out))
        x_gate = torch.sigmoid(self.W_gate(x_conv_out))
        x_highway = torch.mul(x_proj, x_gate) + torch.mul(x_conv_out, 1 - x_gate)
        return x_highway


class ModelEmbeddings(nn.Module):
    """
    Class that converts input words to their CNN-based embeddings.
    """
    def __init__(self, embed_size, vocab):
        super(ModelEmbeddings, self).__init__()
        pad_token_idx = vocab.char2id['<pad>']
        self.embed_size = embed_size
        char_embed_size = 50
        self.char_embedding = nn.Embedding(len(vocab.char2id),
                                           char_embed_size,
                                           pad_token_idx)
        self.conv = CNN(f=self.embed_size)
        self.highway = Highway(embed_size=self.embed_size)
        self.dropout = nn.Dropout(p=0.3)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x_word_emb_list = []
        # divide input into sentence_length batchs
        for x_padded in input:
            x_emb = self.char_embedding(x_padded)
            x_reshaped = torch.transpose(x_emb, dim0=-1, dim1=-2)
            x_conv_out = self.conv(x_reshaped)
            x_highway = self.highway(x_conv_out)
            x_word_emb = self.dropout(x_highway)
            x_word_emb_list.append(x_word_emb)

        x_word_emb = torch.stack(x_word_emb_list)
        return x_word_emb


def np_char_embeddings(p, words):
    """ModelEmbeddings in numpy (dropout off): characters' embeddings, the convolution (k = 5) and ReLU, the
    max over the 17 positions, the highway."""
    x = p["char_embedding.weight"][words]                           # (S, B, 21, 50)
    S, B = words.shape[:2]
    conv_out = relu(np_conv1d(x.reshape(S * B, 21, 50).transpose(0, 2, 1), p["conv.conv.weight"], p["conv.conv.bias"]))
    h = conv_out.max(axis=2)
    proj = relu(h @ p["highway.W_proj.weight"].T + p["highway.W_proj.bias"])
    gate = sigmoid(h @ p["highway.W_gate.weight"].T + p["highway.W_gate.bias"])
    return (proj * gate + h * (1 - gate)).reshape(S, B, -1)


def test_cs224n_character_cnn_embeddings_max_pool_the_whole_word_and_match_numpy_and_central_differences(
        float64_default):
    vocab = types.SimpleNamespace(char2id={c: i for i, c in enumerate(["<pad>", "{", "}", "<unk>", *"abcdefgh"])})
    torch.manual_seed(0)
    embeddings = ModelEmbeddings(6, vocab)
    embeddings.eval()
    assert str(embeddings.conv.maxpool) == ("MaxPool1d(kernel_size=17, stride=17, padding=0, dilation=1, "
                                            "ceil_mode=False)")
    words = np.zeros((3, 2, 21), dtype=np.int64)                    # (sentence length, batch, max word length)
    rng = np.random.default_rng(0)
    for s in range(3):
        for b in range(2):
            n = rng.integers(1, 9)
            words[s, b, :n + 2] = [1, *rng.integers(4, 12, n), 2]   # {word}, then padding
    out = embeddings(torch.tensor(words))
    assert out.shape == (3, 2, 6)
    params = arrays(embeddings)
    np.testing.assert_allclose(out.data, np_char_embeddings(params, words), rtol=1e-12, atol=1e-14)
    weights = np.random.default_rng(1).standard_normal((3, 2, 6))
    (out * torch.tensor(weights)).sum().backward()
    expected = gradient_by_central_differences(lambda q: (np_char_embeddings(q, words) * weights).sum(), params)
    expected["char_embedding.weight"][0] = 0                        # the padding character gets no gradient
    for name, p in embeddings.named_parameters():
        np.testing.assert_allclose(p.grad, expected[name], rtol=1e-6, atol=1e-8, err_msg=name)


# ---- new here: nn.utils' weight_norm (G3) ------------------------------------------------------------------


@pytest.mark.parametrize("dim, g_shape", [(0, (4, 1, 1)), (None, ()), (1, (1, 3, 1)), (-2, (1, 3, 1)), (2, (1, 1, 2))])
def test_weight_norm_splits_the_weight_into_a_length_and_a_direction_and_keeps_the_function(dim, g_shape):
    """State-dict keys and shapes as PyTorch 2.13's (written down by hand: bias first, then weight_g and
    weight_v); g the norm of v over every axis but dim (all of them for None), so g v / ||v|| is the weight
    the module had and the output is unchanged."""
    torch.manual_seed(0)
    conv = nn.Conv1d(3, 4, 2).double()
    before = conv.weight.data.copy()
    x = torch.tensor(np.random.default_rng(0).standard_normal((2, 3, 6)))
    y_before = conv(x).data
    assert weight_norm(conv, dim=dim) is conv
    assert {k: tuple(v.shape) for k, v in conv.state_dict().items()} == {
        "bias": (4,), "weight_g": g_shape, "weight_v": (4, 3, 2)}
    axes = tuple(a for a in range(3) if dim is None or a != dim % 3)
    np.testing.assert_allclose(conv.weight_g.data, np.sqrt((before ** 2).sum(axis=axes, keepdims=dim is not None)),
                               rtol=1e-14)
    np.testing.assert_allclose(conv.weight.data, before, rtol=1e-14)
    np.testing.assert_allclose(conv(x).data, y_before, rtol=1e-13)
    assert "weight" not in dict(conv.named_parameters()) and not conv.weight.is_leaf


@pytest.mark.parametrize("dim", [0, None])
def test_weight_norm_gradients_reach_g_and_v_as_central_differences_of_g_v_over_its_norm_say(dim, float64_default):
    torch.manual_seed(1)
    layer = weight_norm(nn.Linear(3, 2), dim=dim)
    x = np.random.default_rng(0).standard_normal((5, 3))
    out = layer(torch.tensor(x))
    weights = np.random.default_rng(1).standard_normal(out.shape)
    (out * torch.tensor(weights)).sum().backward()

    def loss_of(q):
        v = q["weight_v"]
        norm = np.sqrt((v ** 2).sum(axis=1, keepdims=True)) if dim == 0 else np.sqrt((v ** 2).sum())
        return ((x @ (q["weight_g"] * v / norm).T + q["bias"]) * weights).sum()
    expected = gradient_by_central_differences(loss_of, arrays(layer))
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, expected[name], rtol=1e-6, atol=1e-9, err_msg=name)
    np.testing.assert_allclose((layer.weight_v.grad * layer.weight_v.data).sum(), 0, atol=1e-12)   # v's gradient is
    # orthogonal to v (scaling v leaves the weight alone): the direction learns, g the length


def test_weight_norm_recomputes_the_weight_before_every_forward_and_remove_weight_norm_keeps_its_values():
    torch.manual_seed(2)
    layer = weight_norm(nn.Linear(3, 2))
    optimizer = optim.SGD(layer.parameters(), lr=0.5)
    layer(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    stale = layer.weight.data.copy()
    layer(torch.randn(1, 3))                                        # the pre-hook computes it from the new g, v
    fresh = normed(layer.weight_g.data[:, :, None], layer.weight_v.data[:, :, None])[:, :, 0]
    np.testing.assert_allclose(layer.weight.data, fresh, rtol=1e-6)
    assert not np.allclose(stale, fresh)
    assert remove_weight_norm(layer) is layer
    assert [name for name, _ in layer.named_parameters()] == ["bias", "weight"]     # weight last, as PyTorch's
    assert isinstance(layer.weight, nn.Parameter) and layer.weight.is_leaf and not layer._forward_pre_hooks
    np.testing.assert_allclose(layer.weight.data, fresh, rtol=1e-6)
    twin = weight_norm(nn.Linear(3, 2))
    twin.load_state_dict({"bias": np.zeros(2, np.float32), "weight_g": np.full((2, 1), 2.0, np.float32),
                          "weight_v": np.array([[3.0, 4.0, 0.0], [0.0, 0.0, -1.0]], np.float32)})
    np.testing.assert_allclose(twin(torch.tensor([[1.0, 1.0, 1.0]])).data, [[2.8, -2.0]], rtol=1e-6)


def test_weight_norm_errors_are_pytorchs():
    layer = weight_norm(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="weight_norm: cannot register two weight_norm hooks on the same parameter"):
        weight_norm(layer)
    with pytest.raises(ValueError, match=r"weight_norm: Linear has no parameter 'nope' \(its parameters"):
        weight_norm(nn.Linear(2, 2), name="nope")
    with pytest.raises(ValueError, match=r"weight_norm: dim must be None or an axis of the weight of shape \(2, 2\), "
                                         r"got 5"):
        weight_norm(nn.Linear(2, 2), dim=5)
    with pytest.raises(ValueError, match="remove_weight_norm: weight_norm of 'weight' not found in Linear"):
        remove_weight_norm(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="deepcopy"):             # as PyTorch's (its weight has a history)
        copy.deepcopy(layer)
    assert weight_norm(nn.Linear(2, 3), name="bias").bias_g.shape == (3,)   # a 1-d parameter: g = |v| entrywise
